// Workflows of `npm run bench` (bench/main.mjs, BENCHMARKS.md): the same code runs on every
// World compared there (examples/basic copies it in: scripts/build-node-example.mjs). The
// steps do no work of their own, so what is measured is the World and the runtime around it.
// (On Cloudflare's edge performance.now() advances only across I/O; in local workerd it is real.)
import { getWritable } from 'workflow';

async function inc(x: number) {
  'use step';
  return x + 1;
}

/** Workload (a): a workflow of 3 sequential steps. */
export async function bench3(x: number) {
  'use workflow';
  let v = await inc(x);
  v = await inc(v);
  v = await inc(v);
  return v;
}

/** Workload (b): a workflow of `n` (50) sequential steps. */
export async function benchSteps(n: number) {
  'use workflow';
  let v = 0;
  for (let i = 0; i < n; i++) v = await inc(v);
  return v;
}

/** Wall-clock time in ms with sub-ms resolution, comparable across one process. */
const nowMs = () => performance.timeOrigin + performance.now();

async function emitTimed(count: number) {
  'use step';
  const writer = getWritable<string>().getWriter();
  const started = nowMs();
  for (let k = 0; k < count; k++) await writer.write(JSON.stringify({ k, t: nowMs() }));
  const written = nowMs();
  await writer.close();
  const closed = nowMs();
  return { count, started, written, closed };
}

/** Workload (c): one step writing `count` (1,000) small chunks, each stamped with its send time. */
export async function benchStream(count: number) {
  'use workflow';
  return emitTimed(count);
}
