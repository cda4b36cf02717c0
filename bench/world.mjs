// One World's part of `npm run bench` (bench/main.mjs starts it, once per World and
// round, each in its own process because a World is set once per process):
//
//   node bench/world.mjs cloudflare-remote|cloudflare|cloudflare-worker|local|local-v5|postgres
//
// Starts the example app (examples/basic/app.mjs) on that World, runs the workloads of
// examples/worker/workflows/bench.ts and prints one line `@@BENCH@@<json>` with the results.
// cloudflare-remote is the example's own topology: the Node host's World is the World over
// HTTP (js/remote.js) of the Worker's serveWorld (bench/worker.js); cloudflare is the same
// Worker with the Node host's World on wrangler's binding proxy (`startApp({ wrapEnv })`).
// cloudflare-worker is the 5.x line's topology instead: the example Worker
// (examples/worker, its workflows executed inside workerd, the same workloads in
// examples/worker/workflows/bench.ts) behind bench/worker-v5.js, driven over HTTP; local-v5 is
// world-local 5 running the same built workflows on the same runtime in this process.
// Knobs (env): BENCH_RUNS (runs of the 3-step workflow per mode, default 10),
// BENCH_CONCURRENCY (10), BENCH_STEPS (50), BENCH_CHUNKS (1000), BENCH_POSTGRES_URL,
// BENCH_ONLY (a,b,c: the workloads to run), BENCH_PROFILE=1 (cloudflare*: also a timeline
// of one 3-step run, in `timeline`), BENCH_FLUSH_MS (experiment: the World's
// streamFlushIntervalMs).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { workerClient } from '../examples/worker/app.mjs';
import { createWorld } from '../js/node.js';
import { createWorld as createRemoteWorld } from '../js/remote.js';
import { ROOT } from '../scripts/env.mjs';
import { addCounts, countingEnv, newCounts, reportedCounts, resetCounts } from '../tests/support/counting.mjs';
import { localWorld, postgresWorld } from '../tests/support/worlds.mjs';
import { quantile, summary } from './report.mjs';

const which = process.argv[2];
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const STEPS = Number(process.env.BENCH_STEPS ?? 50);
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 1000);
const POLL_MS = 10;
const PROFILE = process.env.BENCH_PROFILE === '1';
/** Workloads to run (a, b, c); all by default. */
const ONLY = new Set((process.env.BENCH_ONLY ?? 'a,b,c').split(','));
/** Experiment: the World's `streamFlushIntervalMs` (the runtime's default is 10 ms). */
const FLUSH_MS = process.env.BENCH_FLUSH_MS || undefined;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

// ---------------------------------------------------------------------------------------
// The app on the chosen World. On Cloudflare what the Node host's World does is counted
// (tests/support/counting.mjs: around its proxied bindings, or in the Worker for each call
// over HTTP) and so is the consumer Worker in workerd (bench/worker.js).
const nodeCounts = newCounts();
/** Workers requests the Node host's World makes (one per call over HTTP). */
const nodeRequests = { invocations: 0, worldCalls: 0 };
/** Timeline of the profile: [ms since the run's start, what]. */
let timeline;
let timelineT0 = 0;
const mark = (what) => timeline?.push([Date.now() - timelineT0, what]);

let dataDir;

/**
 * The remote World's fetch: each call is one Workers request, and what it did on the
 * Worker's bindings (its served-once claim included) is added to the Node host's counts.
 */
async function countedFetch(url, init) {
  const started = Date.now();
  const response = await fetch(url, init);
  nodeRequests.invocations++;
  nodeRequests.worldCalls++;
  const served = reportedCounts(response);
  if (served) addCounts(nodeCounts, served);
  if (timeline) {
    const at = started - timelineT0;
    timeline.push([at, `HTTP ${response.status} ${Date.now() - started} ms, D1 ${served?.d1.trips ?? '?'} trips`]);
  }
  return response;
}

const remote = which === 'cloudflare-remote';
const cloudflare = which === 'cloudflare' || remote;
const workerTopology = which === 'cloudflare-worker';
const options = {};
if (workerTopology) {
  // Nothing runs in Node: the app is a client of the Worker's routes.
} else if (cloudflare) {
  // bench/wrangler.toml: the example's Cloudflare side with the counting Worker.
  options.wranglerConfig = '../../bench/wrangler.toml';
  if (remote) options.remoteFetch = countedFetch;
  else
    options.wrapEnv = (env) =>
      countingEnv(env, nodeCounts, {
        onTrip: (ms, what, started) => timeline?.push([started - timelineT0, `D1 ${what} ${ms} ms`]),
        onSend: (body) => mark(`queue send ${body?.queueName ?? ''}`),
      });
} else if (which === 'local') {
  dataDir = mkdtempSync(path.join(tmpdir(), 'wcf-bench-local-'));
  options.world = ({ base }) => localWorld(dataDir, base);
} else if (which === 'postgres') {
  if (!process.env.BENCH_POSTGRES_URL) throw new Error('bench/world.mjs postgres needs BENCH_POSTGRES_URL');
  options.world = ({ base }) => postgresWorld(process.env.BENCH_POSTGRES_URL, base);
} else if (which !== 'local-v5') {
  console.error('usage: node bench/world.mjs cloudflare-remote|cloudflare|cloudflare-worker|local|local-v5|postgres');
  process.exit(2);
}

// Deliveries reaching the routes' host, and their answers, go on the profile's timeline.
options.onRoute = (phase, req) =>
  mark(`${phase} ${req.url.replace('/.well-known/workflow/v1/', '')} ${req.headers['x-vqs-queue-name'] ?? ''}`);
/**
 * The 5.x Worker topology, shaped like startApp()'s app for the workloads below: `start()`
 * and `getReadable()` over the example Worker's routes (examples/worker/src/worker.js),
 * `returnValue` from its `GET /runs/:id`.
 */
async function startWorkerTopology() {
  const { createTestHarness } = await import('wrangler');
  const harness = createTestHarness({ root: ROOT, workers: [{ configPath: './bench/worker-v5.wrangler.toml' }] });
  await harness.listen();
  const worker = harness.getWorker('world-cloudflare-bench-worker');
  await worker.applyD1Migrations('DB');
  const client = workerClient((pathname, init) => harness.fetch(pathname, init));
  const returnValue = async (runId) => {
    const run = await client.status(runId);
    if (run.status !== 'completed') throw new Error(`run ${runId} is ${run.status}: ${run.error ?? ''}`);
    return run.result;
  };
  return {
    harness,
    worker,
    start: async (name, args) => {
      const runId = await client.start(name, args);
      return { runId, getReadable: () => client.readable(runId) };
    },
    api: { getRun: (runId) => ({ returnValue: returnValue(runId) }) },
    close: () => harness.close(),
  };
}

/**
 * world-local 5 with the same 5.x workflows and runtime as the Worker, on Node
 * (tests/support/local-v5-host.mjs), shaped like startApp()'s app for the workloads below.
 */
async function startLocalV5() {
  const { hostOnWorldLocal5 } = await import('../tests/support/local-v5-host.mjs');
  const host = await hostOnWorldLocal5();
  return {
    world: host.world,
    api: host.api,
    start: async (name, args) => {
      const { runId } = await host.start(name, args);
      return { runId, getReadable: () => host.api.getRun(runId).getReadable() };
    },
    close: () => host.close(),
  };
}

// The 4.x app is loaded only for the 4.x Worlds: one process holds one runtime line.
const app = workerTopology
  ? await startWorkerTopology()
  : which === 'local-v5'
    ? await startLocalV5()
    : await (await import('../examples/basic/app.mjs')).startApp(options);
if (FLUSH_MS !== undefined) app.world.streamFlushIntervalMs = Number(FLUSH_MS);

// In the profile, every call the runtime makes on the World goes on the timeline too.
if (PROFILE && cloudflare) {
  const wrap = (obj, prefix) => {
    for (const [name, fn] of Object.entries(obj)) {
      if (typeof fn !== 'function') continue;
      obj[name] = (...args) => {
        const what = `${prefix}${name}${name === 'create' ? `(${args[1]?.eventType})` : ''}`;
        mark(`→ ${what}`);
        const result = fn(...args);
        if (result && typeof result.then === 'function')
          result.then(
            () => mark(`← ${what}`),
            () => mark(`← ${what} threw`),
          );
        return result;
      };
    }
  };
  for (const part of ['runs', 'steps', 'events', 'hooks']) wrap(app.world[part], `${part}.`);
  wrap(app.world, 'world.');
}

// Completion is polled on a World that is not counted (the polling is the bench's, not the
// run's): on Cloudflare a second World, and the statuses of all runs in flight as one D1
// query of bench/worker.js per tick (an HTTP request: the binding proxy's prepare()/bind()
// would block the event loop the Node host runs on); elsewhere the app's World.
let poller = app.world;
/** Cloudflare: the runs' statuses, the database's size in bytes, its count of ended runs. */
let pollDb;
/** Cloudflare: the Worker's bindings through wrangler's proxy (retention's cost below). */
let pollEnv;
let consumer;
/** One-statement D1 reads of `db`, for the bench only. */
const d1Reads = (db) => ({
  statuses: async (ids) =>
    (
      await db.batch([
        db.prepare(`SELECT run_id, status FROM runs WHERE run_id IN (${ids.map(() => '?').join(', ')})`).bind(...ids),
      ])
    )[0].results,
  size: async () => Number((await db.batch([db.prepare('SELECT 1')]))[0].meta.size_after),
  ended: async () =>
    (
      await db.batch([
        db.prepare("SELECT count(*) AS n FROM runs WHERE status IN ('completed', 'failed', 'cancelled')"),
      ])
    )[0].results[0].n,
});
if (workerTopology) {
  pollEnv = await app.worker.getEnv();
  poller = createWorld(pollEnv, { specVersion: 7 });
  pollDb = d1Reads(pollEnv.DB);
  consumer = {
    reset: async () => (await app.harness.fetch('/__bench/reset', { method: 'POST' })).json(),
    counts: async () => (await app.harness.fetch('/__bench/counts')).json(),
  };
} else if (cloudflare) {
  const worker = app.harness.getWorker('world-cloudflare-example');
  const bench = async (route, init) => (await worker.fetch(`http://bench/__bench/${route}`, init)).json();
  pollEnv = await worker.getEnv();
  poller = remote ? createRemoteWorld(app.remote) : createWorld(pollEnv);
  pollDb = {
    ...d1Reads(pollEnv.DB),
    statuses: (ids) => bench('statuses', { method: 'POST', body: JSON.stringify(ids) }),
    size: async () => (await bench('size')).bytes,
  };
  consumer = {
    reset: () => bench('reset', { method: 'POST' }),
    counts: () => bench('counts'),
  };
}

/**
 * Completion detection. One poll loop for all runs in flight: a tick every POLL_MS (ticks do
 * not overlap). Local and Postgres: `runs.get(runId)` per run in flight per tick. Cloudflare:
 * the same question as ONE D1 query per tick for all runs in flight (one HTTP request),
 * because one HTTP request per run every 10 ms (1,000/s with 10 runs in flight) would load
 * the 2-core machine's workerd more than the runs themselves. The poller's reads are not
 * counted.
 */
const waiting = new Map(); // runId -> { resolve, reject, until }
let ticking = false;
async function pollOnce(ids) {
  if (pollDb) return new Map((await pollDb.statuses(ids)).map((r) => [r.run_id, r.status]));
  const runs = await Promise.all(ids.map((id) => poller.runs.get(id, { resolveData: 'none' }).catch(() => undefined)));
  return new Map(runs.filter(Boolean).map((r) => [r.runId, r.status]));
}
async function tick() {
  if (ticking) return;
  ticking = true;
  try {
    while (waiting.size) {
      const ids = [...waiting.keys()];
      const statuses = await pollOnce(ids).catch(() => new Map());
      for (const id of ids) {
        const w = waiting.get(id);
        const status = statuses.get(id);
        if (status && TERMINAL.has(status)) {
          waiting.delete(id);
          w.resolve(status);
        } else if (Date.now() > w.until) {
          waiting.delete(id);
          w.reject(new Error(`run ${id} not finished after ${w.deadlineMs} ms (status ${status})`));
        }
      }
      if (waiting.size) await sleep(POLL_MS);
    }
  } finally {
    ticking = false;
  }
}
/** Resolves with the run's terminal status once the poll loop sees it. */
function finished(runId, deadlineMs = 120_000) {
  return new Promise((resolve, reject) => {
    waiting.set(runId, { resolve, reject, until: Date.now() + deadlineMs, deadlineMs });
    tick();
  });
}

/**
 * Starts one 3-step run and waits for it. Latency: from the start() call to the run's
 * `completedAt` (stamped by the World in this process, same clock); `seenMs`: to the
 * poll loop seeing it.
 */
async function oneRun(i) {
  const t0 = Date.now();
  const p0 = performance.now();
  const run = await app.start('bench3', [i]);
  const status = await finished(run.runId);
  const seenMs = performance.now() - p0;
  if (status !== 'completed') throw new Error(`bench3 run ${run.runId} ended ${status}`);
  return { runId: run.runId, t0, seenMs, expect: i + 3 };
}

/** Adds `ms` (start() to completedAt) to each result; checks return values. Not timed. */
async function verify(results) {
  for (const r of results) {
    const value = await app.api.getRun(r.runId).returnValue;
    if (value !== r.expect) throw new Error(`run ${r.runId} returned ${JSON.stringify(value)}, expected ${r.expect}`);
    const run = await poller.runs.get(r.runId, { resolveData: 'none' });
    r.ms = new Date(run.completedAt).getTime() - r.t0;
  }
}

/** Waits until the consumer's counters stop moving (its last finishDelivery lands after the run completes). */
async function quiesce() {
  if (!consumer) return;
  let last = '';
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    const now = JSON.stringify([await consumer.counts(), nodeCounts, nodeRequests]);
    if (now === last) return;
    last = now;
  }
}

/** The D1 database's size in bytes (`meta.size_after`, what D1 bills for storage). */
const dbSize = () => pollDb.size();

/**
 * Retention's cost (crates/core/src/store/retention.rs): start() on a World with WORKFLOW_RETENTION_DAYS
 * 0 removes every ended run; D1 rows written per removed run. Cloudflare only.
 */
async function removalCost() {
  await quiesce();
  const ended = () => pollDb.ended();
  const before = await ended();
  const counts = newCounts();
  const env = countingEnv({ ...pollEnv, WORKFLOW_RETENTION_DAYS: '0' }, counts);
  await createWorld(env, workerTopology ? { specVersion: 7 } : undefined).start();
  const runs = before - (await ended());
  return { runs, rowsWritten: counts.d1.rowsWritten, trips: counts.d1.trips };
}

/** `fn()`'s result and the bytes the D1 database grew by meanwhile (Cloudflare only). */
async function growthOf(fn) {
  if (!pollDb) return { result: await fn() };
  await quiesce();
  const before = await dbSize();
  const result = await fn();
  await quiesce();
  return { result, bytes: (await dbSize()) - before };
}

async function countsSince(fn) {
  if (!consumer) return { result: await fn() };
  await quiesce();
  resetCounts(nodeCounts);
  nodeRequests.invocations = 0;
  nodeRequests.worldCalls = 0;
  await consumer.reset();
  const result = await fn();
  await quiesce();
  const node = { ...structuredClone(nodeCounts), worker: { ...nodeRequests } };
  const worker = await consumer.counts();
  return { result, counts: { node, worker, total: addCounts(structuredClone(node), worker) } };
}

const out = { world: which, runs: RUNS, concurrency: CONCURRENCY, steps: STEPS, chunks: CHUNKS, flushMs: FLUSH_MS };
try {
  // Warm-up: the first runs pay for module loading and JIT; not measured.
  await verify([await oneRun(0), await oneRun(1)]);

  // (a) sequential
  if (ONLY.has('a')) {
    const {
      result: { result, counts },
      bytes,
    } = await growthOf(() =>
      countsSince(async () => {
        const results = [];
        const t0 = performance.now();
        for (let i = 0; i < RUNS; i++) results.push(await oneRun(i));
        return { results, wallMs: performance.now() - t0 };
      }),
    );
    await verify(result.results);
    out.sequential = summary(result.results, result.wallMs);
    if (counts) out.perRun = { counts, runs: RUNS, bytes };
    // Every run so far is a completed 3-step run (the warm-up's and these).
    if (pollEnv) out.removal = await removalCost();
  }

  // (a) concurrent: CONCURRENCY runs in flight until RUNS have finished.
  if (ONLY.has('a')) {
    const results = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < RUNS) results.push(await oneRun(next++));
      }),
    );
    const wallMs = performance.now() - t0;
    await verify(results);
    out.concurrent = summary(results, wallMs);
  }

  // (b) one run of STEPS sequential steps
  if (ONLY.has('b')) {
    const t0 = performance.now();
    const run = await app.start('benchSteps', [STEPS]);
    const status = await finished(run.runId, 600_000);
    const wallMs = performance.now() - t0;
    if (status !== 'completed') throw new Error(`benchSteps ended ${status}`);
    const value = await app.api.getRun(run.runId).returnValue;
    if (value !== STEPS) throw new Error(`benchSteps returned ${value}`);
    out.steps50 = { wallMs, perStepMs: wallMs / STEPS };
  }

  // (c) a stream of CHUNKS chunks, written by one step, read live by the client
  if (ONLY.has('c')) {
    const {
      result: { result, counts },
      bytes,
    } = await growthOf(() =>
      countsSince(async () => {
        const run = await app.start('benchStream', [CHUNKS]);
        const arrivals = [];
        const t0 = performance.now();
        for await (const chunk of run.getReadable()) {
          const at = performance.timeOrigin + performance.now();
          const { k, t } = JSON.parse(chunk);
          arrivals.push({ k, latency: at - t, at });
        }
        const status = await finished(run.runId);
        if (status !== 'completed') throw new Error(`benchStream ended ${status}`);
        return { arrivals, runId: run.runId, readMs: performance.now() - t0 };
      }),
    );
    const { arrivals } = result;
    const value = await app.api.getRun(result.runId).returnValue;
    // Every chunk must arrive. This World must also deliver them in order (a failed round
    // otherwise); a reference that does not is measured anyway, its misplaced chunks counted
    // (world-local 5.0.0-beta.46 swaps two now and then).
    const misplaced = arrivals.filter((a, i) => a.k !== i).length;
    const sorted = arrivals.map((a) => a.k).sort((x, y) => x - y);
    if (arrivals.length !== CHUNKS || sorted.some((k, i) => k !== i) || (misplaced && which.startsWith('cloudflare'))) {
      const at = arrivals.findIndex((a, i) => a.k !== i);
      const around = arrivals.slice(Math.max(0, at - 2), at + 3).map((a) => a.k);
      throw new Error(`stream: read ${arrivals.length} chunks, expected ${CHUNKS} in order; at ${at}: ${around}`);
    }
    const latencies = arrivals.map((a) => a.latency);
    out.stream = {
      writeMs: value.written - value.started,
      writeChunksPerSec: (CHUNKS / (value.written - value.started)) * 1000,
      closeMs: value.closed - value.written,
      readerSpanMs: arrivals[arrivals.length - 1].at - value.started,
      latencyP50: quantile(latencies, 0.5),
      latencyP99: quantile(latencies, 0.99),
      misplaced,
    };
    if (counts) out.perStream = { counts, chunks: CHUNKS, bytes };
  }

  // Profile (cloudflare*): a timeline of one sequential 3-step run.
  if (PROFILE && cloudflare) {
    await quiesce();
    timeline = [];
    timelineT0 = Date.now();
    mark('start()');
    const run = await app.start('bench3', [0]);
    mark(`start() returned ${run.runId}`);
    await finished(run.runId);
    mark('completion seen by the poller');
    await quiesce();
    out.timeline = timeline;
    timeline = undefined;
  }
} catch (error) {
  out.error = String(error?.stack ?? error);
} finally {
  await app.close().catch((e) => console.error('close:', e));
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
out.elapsedMs = performance.now();
process.stdout.write(`\n@@BENCH@@${JSON.stringify(out)}\n`);
process.exit(out.error ? 1 : 0);
