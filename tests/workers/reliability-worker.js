// The example's queue consumer (examples/basic/worker.js, the README's Worker) with faults
// injected on command, for the end-to-end reliability tests (tests/reliability-e2e-*.test.mjs,
// started through examples/basic/app.mjs with tests/workers/reliability.wrangler.toml).
//
// POST /__faults {handleTwice?: 'sequential' | 'concurrent', d1?: {rate, mode, seed}, secret?}
// sets what the next batches meet (isolate memory: local workerd runs one isolate):
//   handleTwice  every message goes through handleQueueBatch twice, one after the other
//                or both at once (a consumer that delivers each message twice), each copy
//                behind a stand-in whose ack()/retry() are recorded: the message is retried
//                if a copy asked for it;
//   d1           the consumer's D1 batches fail at random (tests/support/faults.mjs);
//   secret       WORKFLOW_SECRET for the deliveries this Worker signs.
// GET /__faults returns the counters since the last POST. It also serves the bindings
// gateway (tests/support/gateway.mjs) the Node host's World uses, on its own bindings
// without faults (the Node side injects its own).
import { handleQueueBatch } from '@workflow/world-cloudflare';
import { faultyD1 } from '../support/faults.mjs';
import { serveBindings } from '../support/gateway.mjs';
import { copyOf } from '../support/message-copy.mjs';

let config = {};
let counters = { messages: 0, secondDeliveries: 0, retried: 0, byQueue: {} };
let d1;

function envFor(env) {
  let out = env;
  if (d1) out = { ...out, DB: d1.binding };
  if (config.secret) out = { ...out, WORKFLOW_SECRET: config.secret };
  return out;
}

export default {
  async fetch(request, env) {
    const gateway = await serveBindings(env, request);
    if (gateway) return gateway;
    const { pathname } = new URL(request.url);
    if (pathname === '/__faults' && request.method === 'POST') {
      config = await request.json();
      counters = { messages: 0, secondDeliveries: 0, retried: 0, byQueue: {} };
      d1 = config.d1 ? faultyD1(env.DB, config.d1) : undefined;
      return Response.json({ ok: true, config });
    }
    if (pathname === '/__faults') return Response.json({ config, counters, d1: d1?.stats });
    return new Response('not found', { status: 404 });
  },

  async queue(batch, env) {
    const e = envFor(env);
    const copies = config.handleTwice ? 2 : 1;
    for (const message of batch.messages) {
      counters.messages++;
      const q = String(message.body?.queueName ?? '(not an envelope)').replace(/\/\/.*\/\//, '//…//');
      const kind = `${q}${message.body?.dueAt ? ' (hop)' : ''}`;
      counters.byQueue[kind] = (counters.byQueue[kind] ?? 0) + 1;
      counters.secondDeliveries += copies - 1;
      const made = Array.from({ length: copies }, (_, copy) => copyOf(message, copy));
      const handle = ({ stand }) => handleQueueBatch({ queue: batch.queue, messages: [stand] }, e);
      if (config.handleTwice === 'concurrent') await Promise.all(made.map(handle));
      else for (const copy of made) await handle(copy);
      if (made.some(({ seen }) => seen.outcome === 'retry')) {
        counters.retried++;
        message.retry();
      } else {
        message.ack();
      }
    }
  },
};
