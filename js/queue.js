// The Queue half of the World on Cloudflare Queues (contract §5). The rules live in Rust
// (crates/core/src/queue): sending with durable idempotency, which delivery runs, reschedules and
// chained delays, dead letters, signatures, the HTTP request of a delivery. This file does
// what only JS can: keep the handlers registered in this isolate, call them, and speak HTTP.
import * as wasm from '../pkg/world_cloudflare.js';
import { decodeBody, encodeBody } from './wire.js';

/**
 * Handlers registered by createQueueHandler, by line (spec version) and prefix. Global to
 * the isolate, not to a World: the runtime may build one World for its routes and another
 * for its calls (contract §1.2), and the consumer must find the routes' handlers. A 4.x
 * and a 5.x runtime in one isolate register the same prefix; each message names its line.
 */
const HANDLERS_KEY = Symbol.for('@workflow/world-cloudflare//queue-handlers/v2');
const handlers = (globalThis[HANDLERS_KEY] ??= new Map());
/**
 * Flow routes registered by a Worker runtime (js/runtime.js), by line. Core registers its
 * flow handler (through createQueueHandler below) on its route's first request, so the
 * consumer makes that request once when a message comes before any did (handlerFor).
 */
const ROUTES_KEY = Symbol.for('@workflow/world-cloudflare//flow-routes');
const routes = (globalThis[ROUTES_KEY] ??= new Map());

/** Registers `route` (a `(Request) => Promise<Response>` flow route) for line `specVersion`. */
export function registerRoute(specVersion, route) {
  routes.set(specVersion, route);
}

const handlersOf = (specVersion) => {
  if (!handlers.has(specVersion)) handlers.set(specVersion, new Map());
  return handlers.get(specVersion);
};

const json = (body, status = 200) => Response.json(body, { status });

const isQueueName = (name) => {
  try {
    return name !== null && Boolean(wasm.queueRoute(name));
  } catch {
    return false;
  }
};

/**
 * `createQueueHandler(prefix, handler)`: the route handler for the app's
 * `/.well-known/workflow/v1/{flow,step}` (world-local's request format), and, as a side
 * effect, the handler this isolate's queue consumer calls directly.
 *
 * @param {wasm.World} core
 * @param {string} prefix
 * @param {(payload: unknown, meta: wasm.DeliveryMeta) => Promise<void | { timeoutSeconds?: number }>} handler
 */
export function createQueueHandler(core, prefix, handler) {
  handlersOf(core.specVersion).set(prefix, handler);
  return async (request) => {
    const queueName = request.headers.get('x-vqs-queue-name');
    const messageId = request.headers.get('x-vqs-message-id');
    const attemptHeader = request.headers.get('x-vqs-message-attempt');
    const attempt = Number(attemptHeader);
    if (!isQueueName(queueName) || !messageId || attemptHeader === null || !Number.isFinite(attempt)) {
      return json({ error: 'Missing required headers' }, 400);
    }
    const text = request.body ? await request.text() : '';
    if (!text) return json({ error: 'Missing request body' }, 400);
    const signature = request.headers.get('x-wcf-signature') ?? undefined;
    const refused = core.refuseDelivery(signature, queueName, messageId, attemptHeader, text);
    if (refused) return json({ error: `Unauthorized: ${refused}` }, 401);
    if (!queueName.startsWith(prefix)) return json({ error: 'Unhandled queue' }, 400);
    let payload;
    try {
      payload = decodeBody(text);
    } catch (e) {
      return json({ error: `Invalid request body: ${String(e)}` }, 400);
    }
    try {
      const result = await handler(payload, { attempt, queueName, messageId });
      if (typeof result?.timeoutSeconds === 'number') return json({ timeoutSeconds: result.timeoutSeconds });
      return json({ ok: true });
    } catch (error) {
      return json(String(error), 500);
    }
  };
}

/** The first request made to each line's flow route, by line (see handlerFor). */
const primings = new Map();

/**
 * The handler core registered in this isolate for a message of line `specVersion` on
 * `queueName`. When there is none yet but the line has a flow route, that route is asked
 * once, with a request the handler answers 400 without doing anything: core builds its
 * handler on a route's first request, and that registers it here.
 */
async function handlerFor(specVersion, queueName) {
  const route = routes.get(specVersion);
  if (!registeredHandler(specVersion, queueName) && route) {
    if (!primings.has(specVersion)) {
      const request = new Request('https://in-isolate.invalid/.well-known/workflow/v1/flow', { method: 'POST' });
      primings.set(
        specVersion,
        route(request).catch((error) => {
          primings.delete(specVersion);
          throw error;
        }),
      );
    }
    await primings.get(specVersion);
  }
  return registeredHandler(specVersion, queueName);
}

function registeredHandler(specVersion, queueName) {
  let best;
  for (const [prefix, handler] of handlersOf(specVersion)) {
    if (queueName.startsWith(prefix) && (!best || prefix.length > best.prefix.length)) best = { prefix, handler };
  }
  return best?.handler;
}

/**
 * Delivers over HTTP to the app's route; resolves to the handler's result.
 *
 * @param {wasm.Delivery} delivery
 */
async function post(delivery) {
  const body = encodeBody(delivery.payload());
  const { url, headers, app } = delivery.httpRequest(body);
  const init = { method: 'POST', headers, body };
  const response = app ? await app.fetch(url, init) : await fetch(url, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${text.slice(0, 500)}`);
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The name of the executors' binding (read lazily: the wasm may load after this module). */
let executorBinding;

/**
 * Delivers one Cloudflare Queues message to its handler. Resolves when the message may
 * be acknowledged; rejects when it should be retried (`message.retry()`).
 *
 * With a `WORKFLOW_EXECUTOR` binding, the message is handed to a Durable Object
 * (js/executor.js) that runs the delivery in an alarm of its own, and this resolves as
 * soon as that object has stored it: no delivery waits for another (docs/design.md,
 * "Deliveries run side by side"). Without one, the delivery runs here.
 */
export async function handleQueueMessage(env, message) {
  const taken = { id: message.id, body: message.body, attempts: message.attempts ?? 1 };
  const executors = env?.[(executorBinding ??= wasm.bindingNames().executor)];
  if (!executors) return deliver(env, taken);
  // One object per Queues message: a redelivery of the same message finds it taken.
  const id = taken.id ? executors.idFromName(String(taken.id)) : executors.newUniqueId();
  await executors.get(id).accept(taken);
}

/**
 * Runs the delivery of a message taken from the queue (`{id, body, attempts}`, `attempts`
 * counting this one): the handler registered in this isolate, or the app over HTTP.
 * Resolves when it is over; rejects when it is to be tried again.
 *
 * @param {object} env
 * @param {{ id?: string, body: unknown, attempts: number }} message
 */
export async function deliver(env, { id, body, attempts }) {
  const consumer = new wasm.Consumer(env);
  let delivery;
  try {
    delivery = await consumer.beginDelivery(body, attempts);
  } finally {
    consumer.free();
  }
  try {
    if (delivery.action === 'invalid') {
      // Retrying a body that is not ours cannot help: report it and let it be acknowledged.
      console.error(`[world-cloudflare] dropped queue message ${id}: ${delivery.reason}`);
      return;
    }
    if (delivery.action !== 'deliver') return;
    let result;
    try {
      const handler = await handlerFor(delivery.specVersion, delivery.queueName);
      result = handler ? await handler(delivery.payload(), delivery.meta()) : await post(delivery);
    } catch (error) {
      await delivery.fail();
      throw error;
    }
    const timeoutSeconds = result?.timeoutSeconds;
    await (typeof timeoutSeconds === 'number' ? delivery.reschedule(timeoutSeconds) : delivery.finish());
  } finally {
    delivery.free();
  }
}

/**
 * A Worker's whole `queue()` handler, for every queue it consumes: each message of the
 * dead-letter queue (`WORKFLOW_DEAD_LETTER_QUEUE`, default `workflow-dlq`) fails its run
 * (`handleDeadLetter`), every other is delivered (`handleQueueMessage`); each is
 * acknowledged, or retried when that failed.
 */
export async function handleQueueBatch(batch, env) {
  const consumer = new wasm.Consumer(env);
  let deadLetters;
  try {
    deadLetters = batch.queue === consumer.deadLetterQueue;
  } finally {
    consumer.free();
  }
  for (const message of batch.messages) {
    try {
      await (deadLetters ? handleDeadLetter(env, message) : handleQueueMessage(env, message));
      message.ack();
    } catch (error) {
      console.error(`[world-cloudflare] queue message ${message.id} will be retried: ${String(error)}`);
      message.retry();
    }
  }
}

/** For the dead-letter queue's consumer: fails the message's run so it never hangs. */
export async function handleDeadLetter(env, message) {
  const consumer = new wasm.Consumer(env);
  try {
    const runId = await consumer.deadLetter(message.body, message.attempts ?? 1);
    if (runId)
      console.error(`[world-cloudflare] run ${runId} failed: its queue message ${message.id} was dead-lettered`);
    return runId;
  } finally {
    consumer.free();
  }
}

/**
 * The Queue members of the World.
 *
 * @param {wasm.World} core
 */
export function createQueue(core) {
  return {
    getDeploymentId: async () => core.deploymentId(),
    queue: (queueName, payload, opts) => core.queue(queueName, payload, opts),
    createQueueHandler: (prefix, handler) => createQueueHandler(core, prefix, handler),
    /**
     * Re-enqueues every pending or running run (contract §5.6) and removes runs past
     * WORKFLOW_RETENTION_DAYS; run it from a cron trigger too.
     */
    start: async () => {
      const { failed, removedRuns, orphanedObjects, moreToRemove } = await core.recover();
      for (const { runId, error } of failed) {
        console.error(
          `[world-cloudflare] start(): run ${runId} was not re-enqueued: ${error?.name}: ${error?.message}`,
        );
      }
      if (removedRuns) {
        console.log(
          `[world-cloudflare] start(): removed ${removedRuns} run(s) past WORKFLOW_RETENTION_DAYS${moreToRemove ? '; more are due, the next start() goes on' : ''}`,
        );
      }
      if (orphanedObjects) {
        console.error(
          `[world-cloudflare] start(): ${orphanedObjects} R2 object(s) of removed streams could not be deleted`,
        );
      }
    },
  };
}
