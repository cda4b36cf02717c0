// `npm run bench` only: the example Worker of the 5.x line (examples/worker, bundled by
// `world-cloudflare build --entry` into examples/worker/.workflow/worker.mjs; its workflows
// execute here, on QuickJS) with its bindings wrapped in counters (tests/support/counting.mjs):
// everything a run costs happens in this isolate, the flows and steps as well as the queue
// bookkeeping. GET /__bench/counts returns the totals since the last POST /__bench/reset,
// with `worker.invocations`: the queue consumer's invocations (one Workers request each),
// and `executor`: the Durable Object requests of the executors (`accept` calls and alarms)
// and the alarms' wall time in ms (Durable Objects bill duration by wall time).
//
// The example reads its bindings from `env` of cloudflare:workers when a run first needs
// them, so replacing them on that object here, once the example's module has loaded, counts
// every call without changing a line of the example.
import { env } from 'cloudflare:workers';
import example, { WorkflowExecutor as ExampleExecutor } from '../examples/worker/.workflow/worker.mjs';
import { countingEnv, newCounts, resetCounts } from '../tests/support/counting.mjs';

const counts = newCounts();
const worker = { invocations: 0 };
const executor = { requests: 0, alarms: 0, alarmMs: 0 };
Object.assign(env, countingEnv(env, counts));

/** The example's executor on the counted bindings, its requests and alarm time counted. */
export class WorkflowExecutor extends ExampleExecutor {
  constructor(ctx) {
    super(ctx, env);
  }

  accept(message) {
    executor.requests++;
    return super.accept(message);
  }

  async alarm() {
    executor.requests++;
    executor.alarms++;
    const began = performance.now();
    try {
      return await super.alarm();
    } finally {
      executor.alarmMs += performance.now() - began;
    }
  }
}

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === '/__bench/counts')
      return Response.json({ ...counts, worker: { ...worker }, executor: { ...executor } });
    if (pathname === '/__bench/reset' && request.method === 'POST') {
      worker.invocations = 0;
      Object.assign(executor, { requests: 0, alarms: 0, alarmMs: 0 });
      return Response.json(resetCounts(counts));
    }
    return example.fetch(request, env, ctx);
  },
  async queue(batch, env, ctx) {
    worker.invocations++;
    return example.queue(batch, env, ctx);
  },
};
