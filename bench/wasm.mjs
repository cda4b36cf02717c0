// The wasm core alone, in Node (no workerd): `node bench/wasm.mjs` prints one line
// `@@BENCH@@<json>` with
//   - the release .wasm size, raw and gzip -9;
//   - instantiate time: `new WebAssembly.Module(bytes)` + `initSync({ module })`, each of
//     BENCH_WASM_INSTANCES (7) times on a fresh copy of the wasm-bindgen glue, median;
//   - CPU time inside the core per `events.create`, excluding I/O: the exported
//     `World.createEvent` (what js/world.js calls) runs the events of 3-step runs against an
//     in-memory D1 on node:sqlite (tests/support/sqlite-d1.mjs) whose batch() does
//     its SQLite work synchronously, timed, and returns an already-resolved promise. The
//     core's time of one call = wall time of the awaited call − the time spent inside
//     batch(). Nothing else runs in the process, so that is CPU time (decoding the JS
//     arguments, the engine's decision, SQL rendering, decoding rows, building the JS
//     result, and the wasm-bindgen glue). Checked against process.cpuUsage().
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { constants, gzipSync } from 'node:zlib';
import { ulid } from 'ulid';
import { ROOT } from '../scripts/env.mjs';
import { sqliteD1 } from '../tests/support/sqlite-d1.mjs';
import { median, quantile } from './report.mjs';

const RUNS = Number(process.env.BENCH_WASM_RUNS ?? 300);
const INSTANCES = Number(process.env.BENCH_WASM_INSTANCES ?? 7);
const WASM = path.join(ROOT, 'pkg', 'world_cloudflare_bg.wasm');
const GLUE = pathToFileURL(path.join(ROOT, 'pkg', 'world_cloudflare.js')).href;

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
        eventData: {
          deploymentId: 'bench',
          workflowName: 'workflow//./workflows/bench//bench3',
          input: payload(24),
          executionContext: {},
        },
      },
    ],
    ['run_started', runId, { eventType: 'run_started', specVersion: 3 }],
  ];
  for (let i = 0; i < 3; i++) {
    const stepId = `step_${ulid()}`;
    const stepName = 'step//./workflows/bench//inc';
    calls.push(
      [
        'step_created',
        runId,
        {
          eventType: 'step_created',
          specVersion: 3,
          correlationId: stepId,
          eventData: { stepName, input: payload(32) },
        },
      ],
      ['step_started', runId, { eventType: 'step_started', specVersion: 3, correlationId: stepId }],
      [
        'step_completed',
        runId,
        {
          eventType: 'step_completed',
          specVersion: 3,
          correlationId: stepId,
          eventData: { stepName, result: payload(16) },
        },
      ],
      // the flow's next delivery
      ['run_started (running)', runId, { eventType: 'run_started', specVersion: 3 }],
    );
  }
  calls.push([
    'run_completed',
    runId,
    { eventType: 'run_completed', specVersion: 3, eventData: { output: payload(16) } },
  ]);
  return calls;
}

const db = sqliteD1();
const world = new core.World({ DB: db });
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
    await world.createEvent(runId, data, undefined);
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
    processCpuPerCallUs: (cpu.user + cpu.system) / all.length,
    byType: Object.fromEntries(
      Object.entries(byType).map(([k, v]) => [k, { n: v.length, medianUs: median(v) * 1000 }]),
    ),
  },
};
process.stdout.write(`@@BENCH@@${JSON.stringify(out)}\n`);
