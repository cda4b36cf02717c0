// The Workers whose workflows run inside workerd (workflow 5.x on QuickJS) for the
// end-to-end tests of tests/e2e-worker/: the example (examples/worker) and the suite's own
// app (tests/e2e-worker/app), their builds, and the rules every event log must keep
// whatever was delivered twice or lost with a crash. (Their HTTP client is workerClient of
// examples/worker/app.mjs.)
//
//   buildExampleWorker();                              // examples/worker/.workflow
//   const root = buildWorkerApp(E2E_APP);              // examples/worker/.apps/app, built
//   const runId = await app.start('sequential', [2, 3]);
//   const log = await app.world.events.list({ runId, pagination: { limit: 1000 } });
//   logProblems(log.data, 'completed');                // [] when every rule holds
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './harness.mjs';

export const EXAMPLE = path.join(ROOT, 'examples', 'worker');
/** The end-to-end suite's Worker: its workflows and routes (tests/e2e-worker/app). */
export const E2E_APP = path.join(ROOT, 'tests', 'e2e-worker', 'app');
const TERMINAL_EVENTS = new Set(['run_completed', 'run_failed', 'run_cancelled']);
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `world-cloudflare build --entry` (js/cli.mjs) of `<dir>/src/worker.js`: its .workflow/
 * (the Worker bundle and the built workflows). About 3 s, so every test file that starts
 * a Worker builds it, and runs alone. Returns the directory to start it from (its
 * wrangler.toml's).
 *
 * An app other than the example installs nothing of its own: it is built and run from a
 * copy inside the example (examples/worker/.apps/<name>), where `workflow` 5.x resolves
 * from the example's node_modules, with its migrations_dir pointed at this repo's.
 */
export function buildWorkerApp(dir) {
  let root = dir;
  if (dir !== EXAMPLE) {
    root = path.join(EXAMPLE, '.apps', path.basename(dir));
    rmSync(path.join(root, 'src'), { recursive: true, force: true });
    rmSync(path.join(root, 'workflows'), { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    for (const part of ['src', 'workflows']) cpSync(path.join(dir, part), path.join(root, part), { recursive: true });
    const config = readFileSync(path.join(dir, 'wrangler.toml'), 'utf8').replace(
      /^migrations_dir = .*$/m,
      `migrations_dir = ${JSON.stringify(path.join(ROOT, 'migrations'))}`,
    );
    writeFileSync(path.join(root, 'wrangler.toml'), config);
  }
  const built = spawnSync(
    process.execPath,
    [path.join(ROOT, 'js', 'cli.mjs'), 'build', '--entry', path.join(root, 'src', 'worker.js')],
    { cwd: root, encoding: 'utf8' },
  );
  if (built.status !== 0) {
    throw new Error(`world-cloudflare build in ${root} failed (${built.status}): ${built.stderr || built.stdout}`);
  }
  return root;
}

export const buildExampleWorker = () => buildWorkerApp(EXAMPLE);

/** Polls `probe` until it returns something truthy; throws after `timeoutMs`. */
export async function eventually(what, probe, { timeoutMs = 30_000, everyMs = 100 } = {}) {
  const until = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe().catch((error) => ({ error: String(error) }));
    if (last && !last.error) return last;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)?.slice(0, 500)}`);
    await sleep(everyMs);
  }
}

/** A run's whole event log, in slot order. */
export async function logOf(world, runId) {
  return (await world.events.list({ runId, pagination: { limit: 1000 } })).data;
}

/** The id of the event in slot `n` (1-based) of a spec-7 run. */
export const slotId = (n) => `evnt_${String(n).padStart(26, '0')}`;

/**
 * Events an entity (the run, one step, one wait, one hook) may hold at most once, however
 * often its messages were delivered. hook_received is among them because every scenario
 * resumes its hook once (the World keeps one per resume id).
 */
const AT_MOST_ONCE = [
  'run_created',
  'run_started',
  'step_created',
  'wait_created',
  'wait_completed',
  'hook_created',
  'hook_received',
  'hook_disposed',
];

/**
 * What is wrong with the log of a run that ended with `status`: slot ids not dense from 1,
 * an event above held twice, not exactly one terminal event (of the run's status), a step
 * that did not end exactly once (one step_completed or step_failed: no result lost or
 * recorded twice), a wait not completed. An empty list when every rule holds.
 */
export function logProblems(events, status) {
  const problems = [];
  events.forEach((event, i) => {
    if (event.eventId !== slotId(i + 1)) problems.push(`slot ${i + 1} has id ${event.eventId}`);
  });
  if (events[0]?.eventType !== 'run_created') problems.push(`the log starts with ${events[0]?.eventType}`);
  const terminal = events.filter((e) => TERMINAL_EVENTS.has(e.eventType)).map((e) => e.eventType);
  if (terminal.length !== 1 || terminal[0] !== `run_${status}`) {
    problems.push(`terminal events [${terminal}] for a run ${status}`);
  }
  const counts = new Map();
  for (const { eventType, correlationId } of events) {
    const key = `${eventType} ${correlationId ?? '(run)'}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const [key, n] of counts) {
    if (n > 1 && AT_MOST_ONCE.includes(key.split(' ')[0])) problems.push(`${key} recorded ${n} times`);
  }
  const of = (type, id) => counts.get(`${type} ${id}`) ?? 0;
  const ids = (prefix) => new Set(events.filter((e) => e.eventType.startsWith(prefix)).map((e) => e.correlationId));
  for (const step of ids('step_')) {
    const ended = of('step_completed', step) + of('step_failed', step);
    if (ended !== 1) problems.push(`step ${step} ended ${ended} times`);
  }
  if (status === 'completed') {
    for (const wait of ids('wait_')) {
      if (of('wait_completed', wait) !== 1) problems.push(`wait ${wait} completed ${of('wait_completed', wait)} times`);
    }
  }
  return problems;
}

/** Event types of a log, by step: how many times each step started (attempts, re-executions). */
export function startsByStep(events) {
  const starts = {};
  for (const e of events)
    if (e.eventType === 'step_started') starts[e.correlationId] = (starts[e.correlationId] ?? 0) + 1;
  return starts;
}
