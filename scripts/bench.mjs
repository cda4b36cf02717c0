// npm run bench: the same workloads through this World and the two reference Worlds, one
// after another, BENCH_ROUNDS times, then a table of medians and ratios (BENCHMARKS.md
// explains every number and how it is measured; this script rewrites its results section).
//
//   npm run bench                           # bash scripts/setup.sh && node scripts/bench.mjs
//   BENCH_ROUNDS=5 BENCH_RUNS=50 npm run bench
//
// Knobs: BENCH_ROUNDS (3), BENCH_RUNS (10 runs of the 3-step workflow per mode),
// BENCH_CONCURRENCY (10), BENCH_STEPS (50), BENCH_CHUNKS (1000),
// BENCH_WORLDS (cloudflare,cloudflare-gateway,local,postgres), BENCH_SKIP_BUILD=1,
// BENCH_WRITE=0 (do not touch BENCHMARKS.md), BENCH_WORKERD_LOCK=<file> (run each
// workerd-backed child under `flock <file>`, so that only one workerd job runs at a time
// on a shared machine).
//
// Worlds: cloudflare = this World in the e2e topology (examples/basic/app.mjs: local
// workerd, the Node host's bindings through wrangler's binding proxy); cloudflare-gateway
// = the same with the Node host's D1 and queue calls sent as one HTTP request each to the
// consumer Worker (examples/basic/gateway.mjs); local = @workflow/world-local 4.4.1;
// postgres = @workflow/world-postgres 4.3.7 on a scratch PostgreSQL server.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { BIN, ROOT, childEnv, run } from './env.mjs';
import { startPostgres } from './bench-postgres.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WORLDS = (process.env.BENCH_WORLDS ?? 'cloudflare,cloudflare-gateway,local,postgres').split(',').map((w) => w.trim()).filter(Boolean);
const LOCK = process.env.BENCH_WORKERD_LOCK;
const CHILD_TIMEOUT_MS = 15 * 60_000;
const EXAMPLE = path.join(ROOT, 'examples', 'basic');
const started = Date.now();

const log = (line) => process.stdout.write(`${line}\n`);

function step(title, cmd, args, cwd = ROOT) {
  log(`• ${title}`);
  const code = run(cmd, args, { cwd });
  if (code !== 0) {
    console.error(`bench: ${title} failed (exit ${code})`);
    process.exit(code || 1);
  }
}

/** Runs a child script; resolves to its `@@BENCH@@` JSON (or { error }). */
function child(script, args, env = {}, { lock } = {}) {
  return new Promise((resolve) => {
    const argv = [path.join(ROOT, 'scripts', script), ...args];
    const [cmd, cmdArgs] = lock ? ['flock', [lock, process.execPath, ...argv]] : [process.execPath, argv];
    const p = spawn(cmd, cmdArgs, { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('@@BENCH@@'));
      let result;
      try {
        result = line ? JSON.parse(line.slice('@@BENCH@@'.length)) : undefined;
      } catch {}
      if (!result || code !== 0) {
        const tail = `${out}\n${err}`.split('\n').filter((l) => !l.includes('[wrangler:info]')).join('\n').slice(-3000);
        resolve({ ...(result ?? {}), error: result?.error ?? `exit ${code ?? signal}: ${tail}` });
      } else resolve(result);
    });
  });
}

// ---------------------------------------------------------------------------------------
if (process.env.BENCH_SKIP_BUILD !== '1') {
  step('building the wasm package', process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')]);
  step('building the example workflows (wf build)', path.join(BIN, 'wf'), ['build'], EXAMPLE);
}

// bench.wrangler.toml must stay wrangler.toml with another consumer (bench-worker.js).
{
  const strip = (f) =>
    readFileSync(path.join(EXAMPLE, f), 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('#') && !l.startsWith('main = '))
      .join('\n')
      .trim();
  if (strip('wrangler.toml') !== strip('bench.wrangler.toml')) {
    log('  ⚠ examples/basic/bench.wrangler.toml differs from wrangler.toml beyond `main`: update it');
  }
}

log('• the wasm core alone (size, instantiate, CPU per events.create)');
const wasm = await child('bench-wasm.mjs', []);
if (wasm.error) log(`  ✗ ${wasm.error}`);

let pg;
const skipped = {};
if (WORLDS.includes('postgres')) {
  log('• starting a scratch PostgreSQL server');
  pg = await startPostgres(log);
  if (pg.skipped) {
    skipped.postgres = pg.skipped;
    log(`  ✗ world-postgres is skipped: ${pg.skipped}`);
  } else {
    try {
      const { setupPostgres } = await import(path.join(EXAMPLE, 'app.mjs'));
      setupPostgres(pg.url);
      log(`  ${pg.version} on ${pg.url.replace(/^postgres:\/\/[^@]*@/, '')}, schema created`);
    } catch (error) {
      skipped.postgres = `schema setup failed: ${error.message}`;
      log(`  ✗ world-postgres is skipped: ${skipped.postgres}`);
    }
  }
}

const results = Object.fromEntries(WORLDS.map((w) => [w, []]));
let childMs = 0;
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const world of WORLDS) {
      if (skipped[world]) continue;
      const t0 = Date.now();
      const r = await child('bench-world.mjs', [world], pg?.url ? { BENCH_POSTGRES_URL: pg.url } : {}, {
        lock: world.startsWith('cloudflare') ? LOCK : undefined,
      });
      const s = ((Date.now() - t0) / 1000).toFixed(0);
      childMs += r.elapsedMs ?? Date.now() - t0;
      if (r.error) log(`  ✗ round ${round}/${ROUNDS} ${world} (${s} s): ${r.error}`);
      else {
        log(`  ✓ round ${round}/${ROUNDS} ${world} (${s} s)${r.sequential ? `: 3-step run p50 ${r.sequential.p50.toFixed(0)} ms` : ''}`);
        results[world].push(r);
      }
    }
  }
} finally {
  if (pg?.stop) {
    pg.stop();
    log('• PostgreSQL stopped');
  }
}

// ---------------------------------------------------------------------------------------
// Aggregation: the median over rounds of each per-round number.
const median = (xs) => {
  const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return undefined;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const get = (obj, pathStr) => pathStr.split('.').reduce((o, k) => o?.[k], obj);
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
  cloudflare: 'this World',
  'cloudflare-gateway': 'this World + gateway',
  local: 'world-local',
  postgres: 'world-postgres',
};
const present = WORLDS.filter((w) => results[w]?.length);
const ours = present.filter((w) => w.startsWith('cloudflare'));
const refs = present.filter((w) => !w.startsWith('cloudflare'));
const ratioCols = ours.flatMap((o) => refs.map((r) => [o, r]));
const ratioName = (o, r) => `${o === 'cloudflare' ? 'this' : 'this+gw'} / ${r === 'local' ? 'local' : 'pg'}`;

function table(headers, rows) {
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map((_, i) => (i ? '---:' : '---')).join('|')}|`];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

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

// This World only: counts from the e2e topology (the gateway changes none of them).
const PRICE = { d1RowWritten: 1.0 / 1e6, queueOp: 0.4 / 1e6, opsPerMessage: 3, r2A: 4.5 / 1e6, r2B: 0.36 / 1e6 };
const countWorld = ours.includes('cloudflare') ? 'cloudflare' : ours[0];
function perUnit(kind, unitsKey, group, key) {
  const v = med(countWorld, `${kind}.counts.total.${group}.${key}`);
  const n = med(countWorld, `${kind}.${unitsKey}`);
  return v === undefined || !n ? undefined : v / n;
}
const per = {
  trips: perUnit('perRun', 'runs', 'd1', 'trips'),
  tripsNode: (() => {
    const v = med(countWorld, 'perRun.counts.node.d1.trips');
    const n = med(countWorld, 'perRun.runs');
    return v === undefined || !n ? undefined : v / n;
  })(),
  rowsWritten: perUnit('perRun', 'runs', 'd1', 'rowsWritten'),
  rowsRead: perUnit('perRun', 'runs', 'd1', 'rowsRead'),
  messages: perUnit('perRun', 'runs', 'queue', 'messages'),
  streamA: perUnit('perStream', 'chunks', 'r2', 'A'),
  streamB: perUnit('perStream', 'chunks', 'r2', 'B'),
  streamRows: perUnit('perStream', 'chunks', 'd1', 'rowsWritten'),
  streamTrips: perUnit('perStream', 'chunks', 'd1', 'trips'),
};
const runCost =
  per.rowsWritten === undefined
    ? undefined
    : {
        d1: per.rowsWritten * PRICE.d1RowWritten * 1e6,
        queues: per.messages * PRICE.opsPerMessage * PRICE.queueOp * 1e6,
        r2: 0,
      };
if (runCost) runCost.total = runCost.d1 + runCost.queues + runCost.r2;
const streamCost =
  per.streamRows === undefined
    ? undefined
    : {
        d1: per.streamRows * 1000 * PRICE.d1RowWritten * 1e6,
        r2: (per.streamA * PRICE.r2A + per.streamB * PRICE.r2B) * 1000 * 1e6,
      };
const $ = (v) => (v === undefined ? '–' : `$${v.toFixed(2)}`);
const ev = wasm.eventsCreate;
const inst = wasm.instantiate;
const onlyRows = [
  ['D1 round trips per completed 3-step run (Node host + queue consumer)', per.trips === undefined ? '–' : `${fmt(per.trips, 1)} (${fmt(per.tripsNode, 1)} + ${fmt(per.trips - per.tripsNode, 1)})`],
  ['D1 rows written per 3-step run', fmt(per.rowsWritten, 1)],
  ['D1 rows read per 3-step run (not priced: $0.001/M)', fmt(per.rowsRead, 1)],
  ['queue messages sent per 3-step run', fmt(per.messages, 1)],
  ['R2 Class A / Class B operations per 1,000 stream chunks', per.streamA === undefined ? '–' : `${fmt(per.streamA * 1000, 0)} / ${fmt(per.streamB * 1000, 0)}`],
  ['D1 round trips / rows written per 1,000 stream chunks (writer + live reader)', per.streamRows === undefined ? '–' : `${fmt(per.streamTrips * 1000)} / ${fmt(per.streamRows * 1000)}`],
  [
    'cost per million 3-step runs (D1 rows written + Queues, list prices)',
    runCost ? `${$(runCost.total)} (D1 ${$(runCost.d1)} + Queues ${$(runCost.queues)} + R2 ${$(runCost.r2)})` : '–',
  ],
  ['cost per million 1,000-chunk streams (D1 rows written + R2)', streamCost ? `${$(streamCost.d1 + streamCost.r2)} (D1 ${$(streamCost.d1)} + R2 ${$(streamCost.r2)})` : '–'],
  ['CPU inside the wasm core per events.create, median (p99)', ev ? `${fmt(ev.medianUs, 0)} µs (${fmt(ev.p99Us, 0)} µs), n = ${ev.calls}` : '–'],
  ['wasm instantiate (new WebAssembly.Module + initSync), median', inst ? `${inst.totalMs.toFixed(2)} ms (compile ${inst.compileMs.toFixed(2)} + init ${inst.initMs.toFixed(2)}), n = ${inst.n}` : '–'],
  ['release .wasm size, raw / gzip -9', wasm.size ? `${wasm.size.raw.toLocaleString('en-US')} B / ${wasm.size.gzip.toLocaleString('en-US')} B` : '–'],
];
const onlyTable = table(['this World only (local workerd, e2e topology)', 'value'], onlyRows);

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
  ];
});
const profileTable = table(
  ['3-step run, sequential', 'p50 (ms)', 'Node-host D1 trips', 'their await time (ms)', 'blocking prepare()/bind() (ms)', 'consumer D1 trips'],
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
  (w) => `**${NAMES[w]}:** ${ROUNDS - (results[w]?.length ?? 0)} of ${ROUNDS} rounds failed (see the command's output).`,
);

const report = [
  `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC in ${((Date.now() - started) / 60_000).toFixed(1)} min (the World processes ran ${(childMs / 60_000).toFixed(1)} min; the rest is building, PostgreSQL and${LOCK ? ' waiting for the workerd lock' : ' process start-up'}) on: ${machine}.`,
  '',
  `Command: \`npm run bench\` (${knobs}); each number is the median over ${ROUNDS} rounds; ratios are (this World) / (reference), ↑ higher is better, ↓ lower is better.`,
  ...(skippedNotes.length || failures.length ? ['', ...skippedNotes, ...failures] : []),
  '',
  comparison,
  '',
  onlyTable,
  '',
  profileTable,
].join('\n');

log(`\n${report}\n`);

const FILE = path.join(ROOT, 'BENCHMARKS.md');
const BEGIN = '<!-- bench:results:begin -->';
const END = '<!-- bench:results:end -->';
if (process.env.BENCH_WRITE !== '0' && existsSync(FILE)) {
  const text = readFileSync(FILE, 'utf8');
  const a = text.indexOf(BEGIN);
  const b = text.indexOf(END);
  if (a >= 0 && b > a) {
    writeFileSync(FILE, `${text.slice(0, a + BEGIN.length)}\n${report}\n${text.slice(b)}`);
    log(`BENCHMARKS.md: results section rewritten`);
  }
}
const anyFailed = failures.length > 0 || Boolean(wasm.error);
process.exit(anyFailed ? 1 : 0);
