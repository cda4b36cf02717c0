// The report of `npm run bench`: medians over rounds, ratios against the reference
// Worlds, the cost model at Cloudflare's list prices, and where a run's time goes.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

/** Median of the finite numbers of `xs`, or undefined. */
export function median(xs) {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return undefined;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Quantile of a list (nearest rank on the sorted list). */
export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/**
 * A workload's figures from its runs (`ms`: start to completion, `seenMs`: start to the
 * poll that saw it) and its wall time.
 */
export function summary(results, wallMs) {
  const latencies = results.map((r) => r.ms);
  return {
    runs: latencies.length,
    wallMs,
    runsPerSec: (latencies.length / wallMs) * 1000,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    seenP50: quantile(
      results.map((r) => r.seenMs ?? r.ms),
      0.5,
    ),
  };
}

/**
 * Cloudflare's list prices, per unit: D1 rows written, Queues operations (3 per delivered
 * message), R2 Class A / B, Workers requests, Durable Objects (the executors: requests,
 * duration per GB-s at 128 MB, SQLite storage rows written, of which an executor writes
 * about four per message: the message, its alarm, the start of its try, the delete); and
 * Vercel Workflows' list price per step. Cloudflare Workflows has no per-step price: it is
 * billed as Workers Standard (requests, CPU time, storage).
 */
export const PRICE = {
  d1RowWritten: 1.0 / 1e6,
  queueOp: 0.4 / 1e6,
  opsPerMessage: 3,
  r2A: 4.5 / 1e6,
  r2B: 0.36 / 1e6,
  workerRequest: 0.3 / 1e6,
  doRequest: 0.15 / 1e6,
  doGbSecond: 12.5 / 1e6,
  doGb: 0.128,
  doRowWritten: 1.0 / 1e6,
  doRowsPerMessage: 4,
  vercelWorkflowsStep: 25 / 1e6,
  /** Workers Standard CPU time, which Cloudflare Workflows and this World's Worker both pay. */
  cpuMs: 0.02 / 1e6,
};

/**
 * CPU time is not measured in local workerd: the cost model assumes this many CPU ms per
 * step, for this World's Worker and for a Workflow alike (BENCH_CPU_MS_PER_STEP). The wasm
 * core's own share is measured (its row below); the runtime's replay on QuickJS is not.
 */
const CPU_MS_PER_STEP = Number(process.env.BENCH_CPU_MS_PER_STEP ?? 1);

const get = (obj, pathStr) => pathStr.split('.').reduce((o, k) => o?.[k], obj);

function table(headers, rows) {
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map((_, i) => (i ? '---:' : '---')).join('|')}|`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

/**
 * The results section of BENCHMARKS.md from every World's per-round results.
 *
 * @param {{ results: Record<string, object[]>, worlds: string[], skipped: Record<string, string>,
 *   wasm: object, rounds: number, started: number, childMs: number, lock?: string,
 *   pg?: { version?: string }, root: string }} run
 */
export function buildReport(run) {
  const { results, skipped, wasm, started, childMs, pg } = run;
  const { worlds: WORLDS, rounds: ROUNDS, lock: LOCK, root: ROOT } = run;
  const med = (world, p) => median((results[world] ?? []).map((r) => get(r, p)));

  const fmt = (v, digits = 0) =>
    v === undefined ? '–' : v >= 100 || digits === 0 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits);

  const METRICS = [
    ['(a) 3-step run, sequential: runs/s', 'sequential.runsPerSec', 1, 'higher'],
    ['(a) 3-step run, sequential: p50 latency (ms)', 'sequential.p50', 0, 'lower'],
    ['(a) 3-step run, sequential: p99 latency (ms)', 'sequential.p99', 0, 'lower'],
    ['(a) 3-step run, 10 concurrent: runs/s', 'concurrent.runsPerSec', 1, 'higher'],
    ['(a) 3-step run, 10 concurrent: p50 latency (ms)', 'concurrent.p50', 0, 'lower'],
    ['(a) 3-step run, 10 concurrent: p99 latency (ms)', 'concurrent.p99', 0, 'lower'],
    ['(b) 50-step run: wall time (ms)', 'steps50.wallMs', 0, 'lower'],
    ['(b) 50-step run: per step (ms)', 'steps50.perStepMs', 1, 'lower'],
    ['(c) 1,000-chunk stream: write throughput (chunks/s)', 'stream.writeChunksPerSec', 1, 'higher'],
    ['(c) 1,000-chunk stream: live-reader latency p50 (ms)', 'stream.latencyP50', 1, 'lower'],
    ['(c) 1,000-chunk stream: live-reader latency p99 (ms)', 'stream.latencyP99', 1, 'lower'],
  ];

  const NAMES = {
    'cloudflare-remote': 'this World (4.x, Node host, World over HTTP)',
    cloudflare: 'this World (4.x, Node host, binding proxy)',
    'cloudflare-worker': 'this World (5.x, in the Worker)',
    local: 'world-local 4 (4.x)',
    'local-v5': 'world-local 5 (5.x, same runtime as the Worker)',
    postgres: 'world-postgres 4 (4.x)',
    workflows: 'Cloudflare Workflows (no stream)',
  };
  const SHORT = {
    'cloudflare-remote': 'remote',
    cloudflare: 'proxy',
    'cloudflare-worker': 'worker',
    local: 'local 4',
    'local-v5': 'local 5',
    postgres: 'pg',
    workflows: 'CF Workflows',
  };
  const present = WORLDS.filter((w) => results[w]?.length);
  const ours = present.filter((w) => w.startsWith('cloudflare'));
  const refs = present.filter((w) => !w.startsWith('cloudflare'));
  // Each topology against its peers: the 4.x Node host against the 4.x references; the 5.x
  // Worker against world-local 5 (the same runtime), Cloudflare Workflows and world-postgres.
  const PEERS = { 'cloudflare-worker': ['local-v5', 'workflows', 'postgres'] };
  const ratioCols = ours.flatMap((o) =>
    refs.filter((r) => (PEERS[o] ?? ['local', 'postgres']).includes(r)).map((r) => [o, r]),
  );
  const ratioName = (o, r) => `${SHORT[o]} / ${SHORT[r]}`;

  const comparison = table(
    ['workload', ...present.map((w) => NAMES[w]), ...ratioCols.map(([o, r]) => ratioName(o, r))],
    METRICS.map(([label, p, digits, better]) => [
      `${label} ${better === 'higher' ? '↑' : '↓'}`,
      ...present.map((w) => fmt(med(w, p), digits)),
      ...ratioCols.map(([o, r]) => {
        const a = med(o, p);
        const b = med(r, p);
        return a !== undefined && b ? `${(a / b).toFixed(2)}×` : '–';
      }),
    ]),
  );

  // This World's costs, by topology: the 4.x Node host on the World over HTTP (each call is
  // a Workers request and claims its nonce in D1) or on the binding proxy (the World's own
  // counts), and the 5.x Worker. Workers requests are the Worker's counted invocations: the
  // queue consumer's, and the World over HTTP's calls.
  const costWorlds = ['cloudflare-remote', 'cloudflare', 'cloudflare-worker'].filter((w) => present.includes(w));
  function costsOf(world) {
    const perUnit = (kind, unitsKey, what) => {
      const v = med(world, `${kind}.counts.total.${what}`);
      const n = med(world, `${kind}.${unitsKey}`);
      return v === undefined || !n ? undefined : v / n;
    };
    const per = {
      trips: perUnit('perRun', 'runs', 'd1.trips'),
      rowsWritten: perUnit('perRun', 'runs', 'd1.rowsWritten'),
      rowsRead: perUnit('perRun', 'runs', 'd1.rowsRead'),
      messages: perUnit('perRun', 'runs', 'queue.messages'),
      requests: perUnit('perRun', 'runs', 'worker.invocations') ?? perUnit('perRun', 'runs', 'queue.messages'),
      worldCalls: perUnit('perRun', 'runs', 'worker.worldCalls'),
      streamRequests: perUnit('perStream', 'chunks', 'worker.invocations'),
      executorRequests: perUnit('perRun', 'runs', 'executor.requests'),
      executorAlarms: perUnit('perRun', 'runs', 'executor.alarms'),
      executorMs: perUnit('perRun', 'runs', 'executor.alarmMs'),
      streamA: perUnit('perStream', 'chunks', 'r2.A'),
      streamB: perUnit('perStream', 'chunks', 'r2.B'),
      streamRows: perUnit('perStream', 'chunks', 'd1.rowsWritten'),
      streamTrips: perUnit('perStream', 'chunks', 'd1.trips'),
      runBytes: med(world, 'perRun.bytes') / med(world, 'perRun.runs'),
      streamBytes: med(world, 'perStream.bytes'),
      rowsByTable: Object.fromEntries(
        [...new Set((results[world] ?? []).flatMap((r) => Object.keys(r.perRun?.counts?.total?.rowsByTable ?? {})))]
          .map((t) => [t, med(world, `perRun.counts.total.rowsByTable.${t}`) / med(world, 'perRun.runs')])
          .filter(([, v]) => v > 0)
          .sort((a, b) => b[1] - a[1]),
      ),
    };
    const run =
      per.rowsWritten === undefined
        ? undefined
        : {
            d1: per.rowsWritten * PRICE.d1RowWritten * 1e6,
            queues: per.messages * PRICE.opsPerMessage * PRICE.queueOp * 1e6,
            workers: per.requests * PRICE.workerRequest * 1e6,
            executors: per.executorRequests
              ? (per.executorRequests * PRICE.doRequest +
                  (per.executorMs / 1000) * PRICE.doGb * PRICE.doGbSecond +
                  per.executorAlarms * PRICE.doRowsPerMessage * PRICE.doRowWritten) *
                1e6
              : 0,
          };
    if (run) run.total = run.d1 + run.queues + run.workers + run.executors;
    const stream =
      per.streamRows === undefined
        ? undefined
        : {
            d1: per.streamRows * 1000 * PRICE.d1RowWritten * 1e6,
            r2: (per.streamA * PRICE.r2A + per.streamB * PRICE.r2B) * 1000 * 1e6,
            workers: (per.streamRequests ?? 0) * 1000 * PRICE.workerRequest * 1e6,
          };
    return { per, run, stream };
  }
  const costs = Object.fromEntries(costWorlds.map((w) => [w, costsOf(w)]));
  const $ = (v) => (v === undefined ? '–' : `$${v.toFixed(2)}`);
  const byWorld = (f) => costWorlds.map((w) => f(costs[w], w));
  const costRows = [
    ['D1 round trips per completed 3-step run', ...byWorld(({ per }) => fmt(per.trips, 1))],
    ['D1 rows written per 3-step run', ...byWorld(({ per }) => fmt(per.rowsWritten, 1))],
    [
      'of which, by table written',
      ...byWorld(
        ({ per }) =>
          Object.entries(per.rowsByTable)
            .map(([t, v]) => `${t} ${fmt(v, 1)}`)
            .join(', ') || '–',
      ),
    ],
    ['D1 rows read per 3-step run (not priced: $0.001/M)', ...byWorld(({ per }) => fmt(per.rowsRead, 1))],
    ['queue messages sent per 3-step run', ...byWorld(({ per }) => fmt(per.messages, 1))],
    [
      'Workers requests per 3-step run (queue consumer invocations + World over HTTP calls)',
      ...byWorld(({ per }) =>
        per.worldCalls
          ? `${fmt(per.requests, 1)} (${fmt(per.requests - per.worldCalls, 1)} + ${fmt(per.worldCalls, 1)})`
          : fmt(per.requests, 1),
      ),
    ],
    [
      'executor Durable Object requests / alarm wall time (ms) per 3-step run',
      ...byWorld(({ per }) =>
        per.executorRequests ? `${fmt(per.executorRequests, 1)} / ${fmt(per.executorMs, 1)}` : '–',
      ),
    ],
    [
      'cost per million 3-step runs (D1 rows + Queues + Workers requests + executors, list prices)',
      ...byWorld(({ run }) =>
        run
          ? `${$(run.total)} (D1 ${$(run.d1)} + Queues ${$(run.queues)} + Workers ${$(run.workers)}${run.executors ? ` + executors ${$(run.executors)}` : ''})`
          : '–',
      ),
    ],
    [
      `cost per million steps (Vercel Workflows: ${$(PRICE.vercelWorkflowsStep * 1e6)}; Cloudflare Workflows has no per-step price)`,
      ...byWorld(({ run }) => (run ? $(run.total / 3) : '–')),
    ],
    [
      'R2 Class A / Class B operations per 1,000 stream chunks',
      ...byWorld(({ per }) =>
        per.streamA === undefined ? '–' : `${fmt(per.streamA * 1000, 0)} / ${fmt(per.streamB * 1000, 0)}`,
      ),
    ],
    [
      'D1 round trips / rows written per 1,000 stream chunks (writer + live reader)',
      ...byWorld(({ per }) =>
        per.streamRows === undefined ? '–' : `${fmt(per.streamTrips * 1000)} / ${fmt(per.streamRows * 1000)}`,
      ),
    ],
    [
      'Workers requests per 1,000 stream chunks (writer + live reader)',
      ...byWorld(({ per }) => (per.streamRequests === undefined ? '–' : fmt(per.streamRequests * 1000))),
    ],
    [
      'cost per million 1,000-chunk streams (D1 rows written + R2 + Workers requests)',
      ...byWorld(({ stream }) =>
        stream
          ? `${$(stream.d1 + stream.r2 + stream.workers)} (D1 ${$(stream.d1)} + R2 ${$(stream.r2)} + Workers ${$(stream.workers)})`
          : '–',
      ),
    ],
  ];
  // Capacity: what the database grows by (D1's `meta.size_after`, its billed storage; pages
  // of 4 KiB, so a median over rounds of 10 runs each), and the runs a 10 GB database holds.
  const kb = (v) => (Number.isFinite(v) ? `${(v / 1024).toFixed(1)} KiB` : '–');
  costRows.push(
    ['D1 bytes per completed 3-step run (database growth)', ...byWorld(({ per }) => kb(per.runBytes))],
    [
      'completed 3-step runs one 10 GB D1 database holds',
      ...byWorld(({ per }) => (per.runBytes > 0 ? fmt(10e9 / per.runBytes) : '–')),
    ],
    ['D1 bytes per 1,000-chunk stream (its run included)', ...byWorld(({ per }) => kb(per.streamBytes))],
    [
      'retention: D1 rows written to remove one ended 3-step run (start(), WORKFLOW_RETENTION_DAYS)',
      ...byWorld((_, w) => {
        const rows = med(w, 'removal.rowsWritten');
        const runs = med(w, 'removal.runs');
        return runs
          ? `${fmt(rows / runs, 1)} ($${((rows / runs) * PRICE.d1RowWritten * 1e6).toFixed(2)} per million runs)`
          : '–';
      }),
    ],
  );
  const costTable = table(['this World, local workerd', ...costWorlds.map((w) => NAMES[w])], costRows);

  // Against the platforms' billing: a 3-step run at list prices. This World in the Worker
  // pays what it was counted doing plus CPU; a Cloudflare Workflow pays one request (its
  // instance) plus CPU, its storage aside (a run's state, kept for its retention); Vercel
  // Workflows charges per step.
  const worker = costs['cloudflare-worker']?.run;
  const cpu = 3 * CPU_MS_PER_STEP * PRICE.cpuMs * 1e6;
  const billing = [
    ['this World (5.x, in the Worker)', worker ? worker.total + cpu : undefined, 'counted above, + CPU'],
    ['Cloudflare Workflows', PRICE.workerRequest * 1e6 + cpu, '1 request + CPU; storage not counted'],
    ['Vercel Workflows', 3 * PRICE.vercelWorkflowsStep * 1e6, '3 steps at $25 per million'],
  ];
  const billingTable = table(
    [
      `a 3-step run, billed (CPU assumed ${CPU_MS_PER_STEP} ms per step at $0.02 per million CPU-ms)`,
      'per million runs',
      'per million steps',
      'made of',
    ],
    billing.map(([who, total, what]) => [who, $(total), total === undefined ? '–' : $(total / 3), what]),
  );
  const ev = wasm.eventsCreate;
  const inst = wasm.instantiate;
  const onlyRows = [
    [
      'CPU inside the wasm core per events.create, median (p99)',
      ev ? `${fmt(ev.medianUs, 0)} µs (${fmt(ev.p99Us, 0)} µs), n = ${ev.calls}` : '–',
    ],
    [
      'wasm instantiate (new WebAssembly.Module + initSync), median',
      inst
        ? `${inst.totalMs.toFixed(2)} ms (compile ${inst.compileMs.toFixed(2)} + init ${inst.initMs.toFixed(2)}), n = ${inst.n}`
        : '–',
    ],
    [
      'release .wasm size, raw / gzip -9',
      wasm.size ? `${wasm.size.raw.toLocaleString('en-US')} B / ${wasm.size.gzip.toLocaleString('en-US')} B` : '–',
    ],
  ];
  const onlyTable = table(['the wasm core', 'value'], onlyRows);

  // Where a 3-step run's time goes (this World): D1 time by side, and proxy-blocking time.
  const profileRows = ours.map((w) => {
    const n = med(w, 'perRun.runs');
    const node = (k) => med(w, `perRun.counts.node.d1.${k}`);
    return [
      NAMES[w],
      fmt(med(w, 'sequential.p50')),
      n ? fmt(node('trips') / n, 1) : '–',
      n ? fmt(node('ms') / n, 0) : '–',
      n ? fmt(node('localMs') / n, 0) : '–',
      n ? fmt(med(w, 'perRun.counts.worker.d1.trips') / n, 1) : '–',
      n ? fmt((med(w, 'perRun.counts.node.worker.worldCalls') ?? 0) / n, 1) : '–',
    ];
  });
  const profileTable = table(
    [
      '3-step run, sequential',
      'p50 (ms)',
      'Node-host D1 trips',
      'their await time (ms)',
      'blocking prepare()/bind() (ms)',
      'consumer D1 trips',
      'Node-host World over HTTP calls',
    ],
    profileRows,
  );

  const versions = (() => {
    const require = createRequire(path.join(ROOT, 'package.json'));
    const v = (name) => {
      try {
        return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
      } catch {
        return '?';
      }
    };
    let workerd = '?';
    try {
      workerd = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', 'workerd', 'package.json'), 'utf8')).version;
    } catch {}
    let workflow = '?';
    try {
      workflow = JSON.parse(readFileSync(path.join(ROOT, 'node_modules', 'workflow', 'package.json'), 'utf8')).version;
    } catch {}
    return { wrangler: v('wrangler'), workerd, workflow };
  })();
  const cpus = os.cpus();
  const machine = [
    `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${os.release()}`,
    `Node ${process.versions.node}, workflow ${versions.workflow}, wrangler ${versions.wrangler} (workerd ${versions.workerd})${pg?.version ? `, ${pg.version}` : ''}`,
  ].join('; ');
  const knobs = `BENCH_ROUNDS=${ROUNDS} BENCH_RUNS=${process.env.BENCH_RUNS ?? 10} BENCH_CONCURRENCY=${process.env.BENCH_CONCURRENCY ?? 10} BENCH_STEPS=${process.env.BENCH_STEPS ?? 50} BENCH_CHUNKS=${process.env.BENCH_CHUNKS ?? 1000}`;
  const skippedNotes = Object.entries(skipped).map(([w, why]) => `**${NAMES[w]} skipped:** ${why}`);
  const failures = WORLDS.filter((w) => !skipped[w] && (results[w]?.length ?? 0) < ROUNDS).map(
    (w) =>
      `**${NAMES[w]}:** ${ROUNDS - (results[w]?.length ?? 0)} of ${ROUNDS} rounds failed (see the command's output).`,
  );

  const report = [
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC in ${((Date.now() - started) / 60_000).toFixed(1)} min (the World processes ran ${(childMs / 60_000).toFixed(1)} min; the rest is building, PostgreSQL and${LOCK ? ' waiting for the workerd lock' : ' process start-up'}) on: ${machine}.`,
    '',
    `Command: \`npm run bench\` (${knobs}); each number is the median over ${ROUNDS} rounds; ratios are (this World) / (reference), ↑ higher is better, ↓ lower is better.`,
    ...(skippedNotes.length || failures.length ? ['', ...skippedNotes, ...failures] : []),
    '',
    comparison,
    '',
    costTable,
    '',
    billingTable,
    '',
    onlyTable,
    '',
    profileTable,
  ].join('\n');

  return report;
}
