// The example Worker (examples/worker/src/worker.js as `world-cloudflare build --entry` bundles
// it into examples/worker/.workflow/worker.mjs; its workflows run in this isolate)
// with a consumer that can deliver every queue message twice, and an executor that can be
// made to fail, for tests/e2e-worker/reliability.test.mjs (config:
// tests/workers/example-twice.wrangler.toml). The example's own queue() handles each copy,
// unchanged; this file only calls it twice.
//
// POST /__twice {mode}  'once' (the example as it is), 'sequential' (each message handled
//                       twice, one copy after the other) or 'concurrent' (both copies at
//                       once); resets the counters. Isolate memory: local workerd runs one.
// GET  /__twice         {mode, counters, deliveries}: what the consumer saw since the POST.
// POST /__faults {refuse?, fail?}  from now on, the executor refuses to take (`accept`
//                       throws) or fails to deliver (`run` throws) the messages of queues
//                       whose name contains that text; {} ends the faults.
//
// Each copy gets the message behind a stand-in whose ack()/retry() are recorded; the real
// message is retried if a copy asked for it, acknowledged otherwise. The second copy has
// an id of its own, as a second send of one message would: it is handed to an executor of
// its own, and the World's delivery lease must absorb it. Every other request, and the
// cron, go to the example as they are, except the bindings gateway
// (tests/support/gateway.mjs) through which the test's Node-side reader reads the logs.
import example, { WorkflowExecutor as ExampleExecutor } from '../../examples/worker/.workflow/worker.mjs';
import { serveBindings } from '../support/gateway.mjs';
import { copyOf } from '../support/message-copy.mjs';

let faults = {};
const faulty = (message, what) => Boolean(what && String(message.body?.queueName ?? '').includes(what));

/** The example's executor, failing where POST /__faults says. */
export class WorkflowExecutor extends ExampleExecutor {
  accept(message) {
    if (faulty(message, faults.refuse)) throw new Error(`fault injected: accept of ${message.body.queueName}`);
    return super.accept(message);
  }

  run(message) {
    if (faulty(message, faults.fail))
      return Promise.reject(new Error(`fault injected: run of ${message.body.queueName}`));
    return super.run(message);
  }
}

let mode = 'once';
let counters;
let deliveries;
const reset = () => {
  counters = { batches: 0, messages: 0, copies: 0, acked: 0, retried: 0, deadLettered: 0 };
  deliveries = [];
};
reset();

/** Keeps the latest deliveries (a woken 7-day sleep still hops every few seconds). */
function record(delivery) {
  deliveries.push(delivery);
  if (deliveries.length > 5000) deliveries.splice(0, deliveries.length - 5000);
}

/** A short description of a body, so a test can find the messages it sent. */
function describe(body) {
  try {
    return JSON.stringify(body)?.slice(0, 80) ?? String(body);
  } catch {
    return String(body);
  }
}

async function handle(queue, message, env, ctx) {
  const copies = mode === 'once' ? 1 : 2;
  const made = Array.from({ length: copies }, (_, copy) => copyOf(message, copy, { ownIds: true }));
  const run = ({ stand }) => example.queue({ queue, messages: [stand], ackAll() {}, retryAll() {} }, env, ctx);
  if (mode === 'concurrent') await Promise.all(made.map(run));
  else for (const copy of made) await run(copy);
  counters.copies += copies;
  const retry = made.some(({ seen }) => seen.outcome === 'retry');
  record({
    queue,
    id: message.id,
    attempts: message.attempts,
    body: describe(message.body),
    outcome: retry ? 'retry' : 'ack',
  });
  if (retry) {
    counters.retried++;
    message.retry();
  } else {
    counters.acked++;
    message.ack();
  }
}

export default {
  async fetch(request, env, ctx) {
    const gateway = await serveBindings(env, request);
    if (gateway) return gateway;
    const { pathname } = new URL(request.url);
    if (pathname === '/__twice' && request.method === 'POST') {
      ({ mode = 'once' } = await request.json());
      reset();
      return Response.json({ mode });
    }
    if (pathname === '/__twice') return Response.json({ mode, counters, deliveries });
    if (pathname === '/__faults' && request.method === 'POST') {
      faults = await request.json();
      return Response.json(faults);
    }
    return example.fetch(request, env, ctx);
  },

  scheduled: (controller, env, ctx) => example.scheduled(controller, env, ctx),

  async queue(batch, env, ctx) {
    counters.batches++;
    if (batch.queue === 'workflow-dlq') {
      counters.deadLettered += batch.messages.length;
      for (const message of batch.messages) {
        record({ queue: batch.queue, id: message.id, attempts: message.attempts, body: describe(message.body) });
      }
      return example.queue(batch, env, ctx);
    }
    for (const message of batch.messages) {
      counters.messages++;
      await handle(batch.queue, message, env, ctx);
    }
  },
};
