// The executor: a Durable Object that runs one queue message's delivery in an alarm of its
// own, so that no delivery waits for another (docs/design.md, "Deliveries run side by
// side"). The queue consumer (handleQueueMessage, js/queue.js) hands each message to the
// object named by the message's id and acknowledges it once the object has stored it; the
// alarm runs the delivery (the flow with its inline steps), and retries or dead-letters it
// when it fails, by the rule the Rust core gives (crates/core/src/queue/delivery.rs `after_failure`).
// Alarms run at least once and survive a crash; the D1 lease and the recovery cron stay
// what they were (RELIABILITY.md).
import { DurableObject } from 'cloudflare:workers';
import * as wasm from '../pkg/world_cloudflare.js';
import { deliver, handleDeadLetter } from './queue.js';
import { awaitingBackgroundWork } from './runtime/prelude.js';

/** The storage key of the taken message. */
const TAKEN = 'message';

/** @typedef {{ id?: string, body: unknown, attempts: number, started?: boolean }} TakenMessage */

export class WorkflowExecutor extends DurableObject {
  /**
   * Stores a message taken from the queue and arms the alarm that delivers it. Resolves
   * once both are durable; `false` when this object already holds the message (a
   * redelivery of one Queues message).
   *
   * @param {{ id?: string, body: unknown, attempts: number }} message
   */
  async accept(message) {
    const storage = this.ctx.storage;
    if (await storage.get(TAKEN)) return false;
    await storage.put(TAKEN, message);
    await storage.setAlarm(Date.now());
    return true;
  }

  /**
   * Runs the delivery of `message`; rejects when it is to be tried again. The runtime's
   * background work (stream flushes) is part of it: a Durable Object's waitUntil keeps
   * nothing alive, so this waits for that work too.
   *
   * @param {{ id?: string, body: unknown, attempts: number }} message
   */
  run(message) {
    return awaitingBackgroundWork(() => deliver(this.env, message));
  }

  async alarm() {
    const storage = this.ctx.storage;
    /** @type {TakenMessage | undefined} */
    const taken = await storage.get(TAKEN);
    if (!taken) return;
    // A try that started and never ended died with its isolate (a crash, a deploy): this
    // is the next attempt, as a Queues redelivery would be, so it takes the delivery's D1
    // lease over at once instead of waiting for it to run out.
    const message = { id: taken.id, body: taken.body, attempts: taken.attempts + (taken.started ? 1 : 0) };
    await storage.put(TAKEN, { ...message, started: true });
    try {
      await this.run(message);
    } catch (error) {
      const consumer = new wasm.Consumer(this.env);
      let delayMs;
      try {
        delayMs = consumer.retryDelay(message.attempts);
      } finally {
        consumer.free();
      }
      if (delayMs !== undefined) {
        console.error(
          `[world-cloudflare] queue message ${message.id} failed on attempt ${message.attempts}, retried in ${delayMs} ms: ${String(error)}`,
        );
        await storage.put(TAKEN, { ...message, attempts: message.attempts + 1 });
        await storage.setAlarm(Date.now() + delayMs);
        return;
      }
      // Its retries are spent: what the dead-letter queue's consumer does. If this throws,
      // the platform retries the alarm.
      await handleDeadLetter(this.env, message);
    }
    await storage.deleteAll();
  }
}
