// One round of `npm run bench` for Cloudflare Workflows (bench/main.mjs starts it as the
// world `workflows`): the bench's workloads (a) and (b) as Workflows (bench/cf-workflows/worker.js)
// in local workerd, driven over HTTP like this World's Worker topology; prints one line
// `@@BENCH@@<json>` shaped as bench/world.mjs prints. A run's latency is from create() to the
// poll that sees it complete (Workflows reports no completion time), so it includes up to
// one poll period (10 ms); its stream row is n/a. Knobs as bench/world.mjs: BENCH_RUNS,
// BENCH_CONCURRENCY, BENCH_STEPS, BENCH_ONLY.
import { createTestHarness } from 'wrangler';
import { ROOT } from '../scripts/env.mjs';
import { summary } from './report.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const STEPS = Number(process.env.BENCH_STEPS ?? 50);
const ONLY = new Set((process.env.BENCH_ONLY ?? 'a,b,c').split(','));
const POLL_MS = 10;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const began = Date.now();
const harness = createTestHarness({ root: ROOT, workers: [{ configPath: './bench/cf-workflows/wrangler.toml' }] });
await harness.listen();
const post = async (pathname, body) => {
  const response = await harness.fetch(pathname, { method: 'POST', body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${pathname}: ${response.status} ${await response.text()}`);
  return response.json();
};

/** Runs `name(args)` to its end; its output and the ms from create() to seeing it complete. */
async function runOnce(name, args, deadlineMs = 600_000) {
  const p0 = performance.now();
  const { id } = await post(`/start/${name}`, { args });
  for (const until = Date.now() + deadlineMs; Date.now() < until; await sleep(POLL_MS)) {
    const [s] = await post(`/statuses/${name}`, [id]);
    if (s.status === 'complete') return { id, output: s.output, ms: performance.now() - p0 };
    if (s.status === 'errored' || s.status === 'terminated')
      throw new Error(`${name} ${id} ${s.status}: ${s.error?.message}`);
  }
  throw new Error(`${name} ${id} not complete after ${deadlineMs} ms`);
}

async function bench3(i) {
  const r = await runOnce('bench3', [i]);
  if (r.output !== i + 3) throw new Error(`bench3 returned ${JSON.stringify(r.output)}, expected ${i + 3}`);
  return r;
}

const out = { world: 'workflows', runs: RUNS, concurrency: CONCURRENCY, steps: STEPS };
try {
  await bench3(0); // warm-up: module loading and JIT, not measured
  await bench3(1);
  if (ONLY.has('a')) {
    let t0 = performance.now();
    const sequential = [];
    for (let i = 0; i < RUNS; i++) sequential.push(await bench3(i));
    out.sequential = summary(sequential, performance.now() - t0);

    const concurrent = [];
    let next = 0;
    t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < RUNS) concurrent.push(await bench3(next++));
      }),
    );
    out.concurrent = summary(concurrent, performance.now() - t0);
  }
  if (ONLY.has('b')) {
    const r = await runOnce('benchSteps', [STEPS]);
    if (r.output !== STEPS) throw new Error(`benchSteps returned ${JSON.stringify(r.output)}`);
    out.steps50 = { wallMs: r.ms, perStepMs: r.ms / STEPS };
  }
} catch (error) {
  out.error = String(error?.stack ?? error);
} finally {
  await harness.close();
}
out.elapsedMs = Date.now() - began;
console.log(`@@BENCH@@${JSON.stringify(out)}`);
process.exit(out.error ? 1 : 0);
