// The example Worker (examples/worker: workflow 5.x on QuickJS, inside workerd) for the
// end-to-end tests of tests/e2e-worker/: its build, and the rules every event log must keep
// whatever was delivered twice or lost with a crash. (Its HTTP client is workerClient of
// examples/worker/app.mjs.)
//
//   buildExampleWorker();                              // examples/worker/.workflow
//   const runId = await app.start('sequential', [2, 3]);
//   const log = await app.world.events.list({ runId, pagination: { limit: 1000 } });
//   logProblems(log.data, 'completed');                // [] when every rule holds
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './harness.mjs';

export const EXAMPLE = path.join(ROOT, 'examples', 'worker');
const TERMINAL_EVENTS = new Set(['run_completed', 'run_failed', 'run_cancelled']);
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `world-cloudflare build --entry` (js/cli.mjs) of examples/worker/src/worker.js: its
 * .workflow/ (the Worker bundle and the built workflows). About 3 s, so every test file
 * that starts the Worker builds it, and runs alone.
 */
export function buildExampleWorker() {
  const built = spawnSync(
    process.execPath,
    [path.join(ROOT, 'js', 'cli.mjs'), 'build', '--entry', path.join(EXAMPLE, 'src', 'worker.js')],
    {
      cwd: EXAMPLE,
      encoding: 'utf8',
    },
  );
  if (built.status !== 0) {
    throw new Error(`world-cloudflare build in ${EXAMPLE} failed (${built.status}): ${built.stderr || built.stdout}`);
  }
}

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
