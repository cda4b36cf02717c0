// npm run bench: the same workloads through this World and the reference Worlds, one
// after another, BENCH_ROUNDS times, then a table of medians and ratios (BENCHMARKS.md
// explains every number and how it is measured; this script rewrites its results section).
//
//   npm run bench                           # bash scripts/setup.sh && node bench/main.mjs
//   BENCH_ROUNDS=5 BENCH_RUNS=50 npm run bench
//
// Knobs: BENCH_ROUNDS (3), BENCH_RUNS (10 runs of the 3-step workflow per mode),
// BENCH_CONCURRENCY (10), BENCH_STEPS (50), BENCH_CHUNKS (1000),
// BENCH_WORLDS (cloudflare-remote,cloudflare-worker,local,local-v5,postgres,workflows; also cloudflare),
// BENCH_SKIP_BUILD=1,
// BENCH_WRITE=0 (do not touch BENCHMARKS.md), BENCH_WORKERD_LOCK=<file> (run each
// workerd-backed child under `flock <file>`, so that only one workerd job runs at a time
// on a shared machine).
//
// Worlds: cloudflare-remote = this World in the example's topology (examples/basic/app.mjs:
// local workerd, the Node host's World is the World over HTTP of the Worker's serveWorld,
// js/remote.js); cloudflare (opt-in) = the same Worker with the Node host's World on
// wrangler's binding proxy (a development path); cloudflare-worker = the 5.x line with its workflows
// executed inside the example Worker (examples/worker, counted by bench/worker-v5.js), nothing
// in Node but the HTTP client; local = @workflow/world-local 4.4.1; local-v5 =
// @workflow/world-local 5.0.0-beta.46 with the Worker's workflows and runtime, on Node;
// postgres = @workflow/world-postgres 4.3.7 on a scratch PostgreSQL server; workflows = the
// workloads written as Cloudflare Workflows in the same local workerd (bench/cf-workflows.mjs).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { childEnv, NODE, ROOT, run } from '../scripts/env.mjs';
import { setupPostgres } from '../tests/support/worlds.mjs';
import { startPostgres } from './postgres.mjs';
import { buildReport } from './report.mjs';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WORLDS = (process.env.BENCH_WORLDS ?? 'cloudflare-remote,cloudflare-worker,local,local-v5,postgres,workflows')
  .split(',')
  .map((w) => w.trim())
  .filter(Boolean);
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
    const argv = [path.join(ROOT, 'bench', script), ...args];
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
        const tail = `${out}\n${err}`
          .split('\n')
          .filter((l) => !l.includes('[wrangler:info]'))
          .join('\n')
          .slice(-3000);
        resolve({ ...(result ?? {}), error: result?.error ?? `exit ${code ?? signal}: ${tail}` });
      } else resolve(result);
    });
  });
}

// ---------------------------------------------------------------------------------------
if (process.env.BENCH_SKIP_BUILD !== '1') {
  step('building the wasm package', process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')]);
  step('building the example workflows (wf build)', NODE, [path.join(ROOT, 'scripts', 'build-node-example.mjs')]);
  const worker = path.join(ROOT, 'examples', 'worker');
  step(
    'building the example Worker (world-cloudflare build)',
    NODE,
    [path.join(ROOT, 'js', 'cli.mjs'), 'build', '--entry', path.join(worker, 'src', 'worker.js')],
    worker,
  );
}

// bench/wrangler.toml must stay examples/basic/wrangler.toml with another consumer.
{
  const strip = (f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('#') && !l.startsWith('main = '))
      .join('\n')
      .trim();
  const paths = (text) => text.replaceAll('"../../', '"../');
  if (paths(strip(path.join(EXAMPLE, 'wrangler.toml'))) !== strip(path.join(ROOT, 'bench', 'wrangler.toml'))) {
    log('  ⚠ bench/wrangler.toml differs from examples/basic/wrangler.toml beyond `main`: update it');
  }
}

log('• the wasm core alone (size, instantiate, CPU per events.create)');
const wasm = await child('wasm.mjs', []);
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
      // Cloudflare Workflows runs its own Worker (bench/cf-workflows.mjs); every other World the app.
      const [script, args] = world === 'workflows' ? ['cf-workflows.mjs', []] : ['world.mjs', [world]];
      const r = await child(script, args, pg?.url ? { BENCH_POSTGRES_URL: pg.url } : {}, {
        lock: world.startsWith('cloudflare') || world === 'workflows' ? LOCK : undefined,
      });
      const s = ((Date.now() - t0) / 1000).toFixed(0);
      childMs += r.elapsedMs ?? Date.now() - t0;
      if (r.error) log(`  ✗ round ${round}/${ROUNDS} ${world} (${s} s): ${r.error}`);
      else {
        log(
          `  ✓ round ${round}/${ROUNDS} ${world} (${s} s)${r.sequential ? `: 3-step run p50 ${r.sequential.p50.toFixed(0)} ms` : ''}`,
        );
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

const report = buildReport({
  results,
  worlds: WORLDS,
  skipped,
  wasm,
  rounds: ROUNDS,
  started,
  childMs,
  lock: LOCK,
  pg,
  root: ROOT,
});
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
const failures = WORLDS.filter((w) => !skipped[w] && (results[w]?.length ?? 0) < ROUNDS);
const anyFailed = failures.length > 0 || Boolean(wasm.error);
process.exit(anyFailed ? 1 : 0);
