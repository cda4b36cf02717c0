// The wasm core alone, in Node (no workerd): `node scripts/bench-wasm.mjs` prints one line
// `@@BENCH@@<json>` with
//   - the release .wasm size, raw and gzip -9;
//   - instantiate time: `new WebAssembly.Module(bytes)` + `initSync({ module })`, each of
//     BENCH_WASM_INSTANCES (7) times on a fresh copy of the wasm-bindgen glue, median;
//   - CPU time inside the core per `events.create`, excluding I/O: the exported
//     `createEvent` (what js/world.js calls) runs the events of 3-step runs against an
//     in-memory D1 on node:sqlite (the adapter of tests/wasm_store.rs) whose batch() does
//     its SQLite work synchronously, timed, and returns an already-resolved promise. The
//     core's time of one call = wall time of the awaited call − the time spent inside
//     batch(). Nothing else runs in the process, so that is CPU time (decoding the JS
//     arguments, the engine's decision, SQL rendering, decoding rows, building the JS
//     result, and the wasm-bindgen glue). Checked against process.cpuUsage().
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync, constants } from 'node:zlib';
import { ROOT } from './env.mjs';

const RUNS = Number(process.env.BENCH_WASM_RUNS ?? 300);
const INSTANCES = Number(process.env.BENCH_WASM_INSTANCES ?? 7);
const WASM = path.join(ROOT, 'pkg', 'world_cloudflare_bg.wasm');
const GLUE = pathToFileURL(path.join(ROOT, 'pkg', 'world_cloudflare.js')).href;
const SCHEMA = readdirSync(path.join(ROOT, 'migrations'))
  .filter((f) => f.endsWith('.sql'))
  .sort()
  .map((f) => readFileSync(path.join(ROOT, 'migrations', f), 'utf8'))
  .join('\n');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};

// ---- size
const bytes = readFileSync(WASM);
const size = { raw: bytes.length, gzip: gzipSync(bytes, { level: constants.Z_BEST_COMPRESSION }).length };

// ---- instantiate: each import with a new query string is a fresh module instance of the glue.
const instantiate = [];
let core;
for (let i = 0; i < INSTANCES; i++) {
  const glue = await import(`${GLUE}?instance=${i}`);
  const t0 = performance.now();
  const module = new WebAssembly.Module(readFileSync(WASM));
  const t1 = performance.now();
  glue.initSync({ module });
  const t2 = performance.now();
  instantiate.push({ compile: t1 - t0, init: t2 - t1, total: t2 - t0 });
  core = glue;
}

// ---- an in-memory D1 (tests/wasm_store.rs's adapter) that times its own work
const { DatabaseSync } = await import('node:sqlite');
function sqliteD1() {
  const db = new DatabaseSync(':memory:');
  db.exec(SCHEMA);
  const cache = new Map();
  const prepared = (sql) => {
    let s = cache.get(sql);
    if (!s) cache.set(sql, (s = db.prepare(sql)));
    return s;
  };
  const statement = (sql, params = []) => ({ sql, params, bind: (...p) => statement(sql, p) });
  const column = (v) => (v instanceof Uint8Array ? Array.from(v) : typeof v === 'bigint' ? Number(v) : v);
  const d1 = {
    ms: 0,
    prepare: (sql) => statement(sql),
    batch(statements) {
      const t0 = performance.now();
      db.exec('BEGIN');
      try {
        const out = statements.map(({ sql, params }) => {
          const s = prepared(sql);
          if (s.columns().length > 0) {
            const rows = s.all(...params).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, column(v)])));
            return { results: rows, meta: { changes: 0 }, success: true };
          }
          const info = s.run(...params);
          return { results: [], meta: { changes: Number(info.changes) }, success: true };
        });
        db.exec('COMMIT');
        return Promise.resolve(out);
      } catch (e) {
        db.exec('ROLLBACK');
        return Promise.reject(new Error(`D1_ERROR: ${e.message}`));
      } finally {
        d1.ms += performance.now() - t0;
      }
    },
  };
  return d1;
}

const ULID = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
function ulid() {
  let t = Date.now();
  let s = '';
  for (let i = 0; i < 10; i++) {
    s = ULID[t % 32] + s;
    t = Math.floor(t / 32);
  }
  for (let i = 0; i < 16; i++) s += ULID[Math.floor(Math.random() * 32)];
  return s;
}
/** Serialized values as the runtime sends them: small byte strings (devalue framing). */
const payload = (n) => new Uint8Array(n).map((_, i) => (i * 7 + 3) & 0xff);

/** The events.create calls of one 3-step run, in order. */
function threeStepRun() {
  const runId = `wrun_${ulid()}`;
  const calls = [
    [
      'run_created',
      runId,
      {
        eventType: 'run_created',
        specVersion: 3,
        eventData: { deploymentId: 'bench', workflowName: 'workflow//./workflows/bench//bench3', input: payload(24), executionContext: {} },
      },
    ],
    ['run_started', runId, { eventType: 'run_started', specVersion: 3 }],
  ];
  for (let i = 0; i < 3; i++) {
    const stepId = `step_${ulid()}`;
    const stepName = 'step//./workflows/bench//inc';
    calls.push(
      ['step_created', runId, { eventType: 'step_created', specVersion: 3, correlationId: stepId, eventData: { stepName, input: payload(32) } }],
      ['step_started', runId, { eventType: 'step_started', specVersion: 3, correlationId: stepId }],
      ['step_completed', runId, { eventType: 'step_completed', specVersion: 3, correlationId: stepId, eventData: { stepName, result: payload(16) } }],
      // the flow's next delivery
      ['run_started (running)', runId, { eventType: 'run_started', specVersion: 3 }],
    );
  }
  calls.push(['run_completed', runId, { eventType: 'run_completed', specVersion: 3, eventData: { output: payload(16) } }]);
  return calls;
}

const db = sqliteD1();
const byType = {};
const all = [];
let coreMsTotal = 0;
const cpu0 = process.cpuUsage();
let d1MsTotal = 0;
for (let r = 0; r < RUNS + 20; r++) {
  const measured = r >= 20; // the first 20 runs warm the JIT and SQLite caches
  for (const [label, runId, data] of threeStepRun()) {
    const d1Before = db.ms;
    const t0 = performance.now();
    await core.createEvent(db, runId, data, undefined);
    const ms = performance.now() - t0 - (db.ms - d1Before);
    if (!measured) continue;
    (byType[label] ??= []).push(ms);
    all.push(ms);
    coreMsTotal += ms;
    d1MsTotal += db.ms - d1Before;
  }
}
const cpu = process.cpuUsage(cpu0);

const out = {
  size,
  instantiate: {
    n: INSTANCES,
    compileMs: median(instantiate.map((x) => x.compile)),
    initMs: median(instantiate.map((x) => x.init)),
    totalMs: median(instantiate.map((x) => x.total)),
  },
  eventsCreate: {
    calls: all.length,
    medianUs: median(all) * 1000,
    p99Us: quantile(all, 0.99) * 1000,
    meanUs: (coreMsTotal / all.length) * 1000,
    sqliteMeanUs: (d1MsTotal / all.length) * 1000,
    processCpuPerCallUs: ((cpu.user + cpu.system) / all.length),
    byType: Object.fromEntries(Object.entries(byType).map(([k, v]) => [k, { n: v.length, medianUs: median(v) * 1000 }])),
  },
};
process.stdout.write(`@@BENCH@@${JSON.stringify(out)}\n`);
