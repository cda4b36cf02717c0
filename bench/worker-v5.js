// `npm run bench` only: the example Worker of the 5.x line (examples/worker, bundled by
// `world-cloudflare build --entry` into examples/worker/.workflow/worker.mjs; its workflows
// execute here, on QuickJS) with its bindings wrapped in counters (tests/support/counting.mjs):
// everything a run costs happens in this isolate, the flows and steps as well as the queue
// bookkeeping. GET /__bench/counts returns the totals since the last POST /__bench/reset,
// with `worker.invocations`: the queue consumer's invocations (one Workers request each).
//
// The example reads its bindings from `env` of cloudflare:workers when a run first needs
// them, so replacing them on that object here, once the example's module has loaded, counts
// every call without changing a line of the example.
import { env } from 'cloudflare:workers';
import example from '../examples/worker/.workflow/worker.mjs';
import { countingEnv, newCounts, resetCounts } from '../tests/support/counting.mjs';

const counts = newCounts();
const worker = { invocations: 0 };
Object.assign(env, countingEnv(env, counts));

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === '/__bench/counts') return Response.json({ ...counts, worker: { ...worker } });
    if (pathname === '/__bench/reset' && request.method === 'POST') {
      worker.invocations = 0;
      return Response.json(resetCounts(counts));
    }
    return example.fetch(request, env, ctx);
  },
  async queue(batch, env, ctx) {
    worker.invocations++;
    return example.queue(batch, env, ctx);
  },
};
