// How long a step awaiting a child run's returnValue takes to see the child end, inside
// the Worker (tests/e2e-worker/app, local workerd): with runs.waitForTerminalStatus (core
// long-polls it) and without it (WORKFLOW_RETURN_VALUE_LONG_POLL=0: core reads runs.get
// once a second, as on a World without the member). Measured from the child's completedAt
// to the completedAt of the parent's step that awaited it, both World timestamps.
//
//   node bench/child-latency.mjs [runs per mode, default 10]
import { startWorkerApp } from '../examples/worker/app.mjs';
import { buildWorkerApp, E2E_APP } from '../tests/support/example-worker.mjs';

const RUNS = Number(process.argv[2] ?? 10);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(vars) {
  const app = await startWorkerApp({ root: buildWorkerApp(E2E_APP), name: 'world-cloudflare-e2e-app', vars });
  try {
    const gaps = [];
    for (let i = 0; i < RUNS; i++) {
      const runId = await app.start('childFromStep', [i, 200]);
      const end = await app.settle(runId);
      if (end.status !== 'completed') throw new Error(`childFromStep ended ${end.status}: ${JSON.stringify(end)}`);
      const child = await app.world.runs.get(end.result.childRunId, { resolveData: 'none' });
      const steps = await app.world.steps.list({ runId, pagination: { limit: 10 }, resolveData: 'none' });
      const awaiting = steps.data.find((s) => s.stepName.endsWith('//resultOf'));
      gaps.push(awaiting.completedAt.getTime() - child.completedAt.getTime());
    }
    return gaps;
  } finally {
    await app.close();
  }
}

const polled = await measure({ WORKFLOW_RETURN_VALUE_LONG_POLL: '0' });
const waited = await measure({});
const row = (gaps) => ({
  'p50 (ms)': median(gaps),
  'min (ms)': Math.min(...gaps),
  'max (ms)': Math.max(...gaps),
});
console.log(`\nchild run's end → the parent step that awaited it sees it (${RUNS} runs each, local workerd)`);
console.table({
  'runs.get once a second (no waitForTerminalStatus)': row(polled),
  'runs.waitForTerminalStatus (long poll)': row(waited),
});
