// The example's queue consumer (examples/basic/worker.js, the README's Worker) with faults
// injected on command, for the end-to-end reliability tests (tests/reliability-e2e-*.test.mjs,
// started through examples/basic/app.mjs with tests/workers/reliability.wrangler.toml).
//
// POST /__faults {handleTwice?: 'sequential' | 'concurrent', d1?: {rate, mode, seed}, secret?}
// sets what the next batches meet (isolate memory: local workerd runs one isolate):
//   handleTwice  every message goes through handleQueueMessage twice, one after the other
//                or both at once (a consumer that delivers each message twice);
//   d1           the consumer's D1 batches fail at random (tests/support/faults.mjs);
//   secret       WORKFLOW_SECRET for the deliveries this Worker signs.
// GET /__faults returns the counters since the last POST. It also serves the bindings
// gateway (tests/support/gateway.mjs) the Node host's World uses, on its own bindings
// without faults (the Node side injects its own).
import { handleQueueMessage } from '@workflow/world-cloudflare';
import { faultyD1 } from '../support/faults.mjs';
import { serveBindings } from '../support/gateway.mjs';

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
    for (const message of batch.messages) {
      counters.messages++;
      const q = String(message.body?.queueName ?? '(not an envelope)').replace(/\/\/.*\/\//, '//…//');
      const kind = `${q}${message.body?.dueAt ? ' (hop)' : ''}`;
      counters.byQueue[kind] = (counters.byQueue[kind] ?? 0) + 1;
      try {
        if (config.handleTwice === 'concurrent') {
          counters.secondDeliveries++;
          const results = await Promise.allSettled([handleQueueMessage(e, message), handleQueueMessage(e, message)]);
          const failed = results.find((r) => r.status === 'rejected');
          if (failed) throw failed.reason;
        } else if (config.handleTwice === 'sequential') {
          await handleQueueMessage(e, message);
          counters.secondDeliveries++;
          await handleQueueMessage(e, message);
        } else {
          await handleQueueMessage(e, message);
        }
        message.ack();
      } catch {
        counters.retried++;
        message.retry();
      }
    }
  },
};
