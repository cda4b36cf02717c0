// `npm run bench` only: the example's queue consumer (examples/basic/worker.js, the
// README's Worker) with its bindings wrapped in counters (tests/support/counting.mjs), so
// the bench can add what the consumer does in workerd (delivery records in D1, re-sends,
// R2) to what the Node host does. GET /__bench/counts returns the totals since the last
// POST /__bench/reset. It also serves the bindings gateway (tests/support/gateway.mjs) to the
// Node host of the gateway column; what the gateway does is counted on the Node side.
import { handleQueueMessage } from '@workflow/world-cloudflare';
import { countingEnv, newCounts, resetCounts } from '../tests/support/counting.mjs';
import { serveBindings } from '../tests/support/gateway.mjs';

const counts = newCounts();

export default {
  async fetch(request, env) {
    const gateway = await serveBindings(env, request);
    if (gateway) return gateway;
    const { pathname } = new URL(request.url);
    if (pathname === '/__bench/counts') return Response.json(counts);
    if (pathname === '/__bench/reset' && request.method === 'POST') return Response.json(resetCounts(counts));
    return new Response('not found', { status: 404 });
  },
  async queue(batch, env) {
    const counted = countingEnv(env, counts);
    for (const message of batch.messages) {
      try {
        await handleQueueMessage(counted, message);
        message.ack();
      } catch {
        message.retry();
      }
    }
  },
};
