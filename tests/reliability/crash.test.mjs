// Reliability end to end, crashes, with the real runtime (workflow 4.8.9) in the B2
// topology of docs/design.md "Where workflow 4.x runs": the consumer Worker runs under `wrangler dev --persist-to
// <dir>` (D1, Queues, R2 state on disk) and the Node host of the workflow routes is a
// second process (tests/workers/crash-host.mjs) that reaches the same persisted bindings
// through getPlatformProxy. Each process runs in its own process group and is killed
// with SIGKILL to the group (no shutdown code runs), then started again on the same
// directory; a restarted host calls world.start() (recovery), and after a consumer
// restart the test calls it again, as a cron trigger would.
//
// Crashes: the host mid-step, the host between a step's completion and the next enqueue
// (it kills itself right after step_completed commits), the host mid-sleep, the consumer
// mid-sleep, the consumer mid-step, and both at once mid-sleep. Every run must complete
// with the right result, with no event that must be unique recorded twice.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from '../support/harness.mjs';
import { report } from '../support/invariants.mjs';
import { freePort, kill, launch, processEnv } from '../support/processes.mjs';

const CONFIG = 'tests/workers/crash.wrangler.toml';
/** Ports picked free at start (both processes keep theirs across restarts). */
let HOST_PORT;
let DEV_PORT;
// A copy: WRANGLER_REGISTRY_PATH is set per run below.
const env = { ...processEnv };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let dir;
let dev;
let host;
const figures = {};
const allRuns = [];

// wrangler's dev registry (how the host's getPlatformProxy finds the consumer of its
// queues) keeps a SIGKILLed `wrangler dev`'s entry, and a restarted one does not replace
// it: queue sends would go to the dead instance. The test keeps a registry of its own and
// clears the stale entry before a restart (a local-emulation detail: on Cloudflare the
// queue is the platform's, not a process's).
const registry = () => path.join(dir, 'registry');
const startDev = () => {
  rmSync(path.join(registry(), 'world-cloudflare-crash'), { force: true });
  return launch(
    'wrangler dev',
    'wrangler',
    [
      'dev',
      '-c',
      CONFIG,
      '--persist-to',
      dir,
      '--port',
      String(DEV_PORT),
      '--ip',
      '127.0.0.1',
      '--var',
      `WORKFLOW_APP_URL:http://127.0.0.1:${HOST_PORT}`,
      '--show-interactive-dev-session=false',
    ],
    /Ready on/,
    { env },
  );
};
const startHost = () =>
  launch('host', process.execPath, [path.join('tests', 'workers', 'crash-host.mjs'), dir, String(HOST_PORT)], /READY/, {
    env,
  });

async function call(endpoint, body) {
  const res = await fetch(
    `http://127.0.0.1:${HOST_PORT}/__test/${endpoint}`,
    body ? { method: 'POST', body: JSON.stringify(body) } : {},
  );
  const text = await res.text();
  assert.equal(res.status, 200, `${endpoint}: ${text}`);
  return JSON.parse(text);
}
const runInfo = async (runId) => (await call(`runs?ids=${runId}`))[0];

async function waitFor(what, probe, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe().catch((e) => ({ error: String(e) }));
    if (last && !last.error && last.ok !== false) return last;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
    await sleep(100);
  }
}

const until = (runId, predicate) => async () => {
  const r = await runInfo(runId);
  return predicate(r) ? r : { ok: false, ...r };
};
const count = (events, type) => events.filter((t) => t === type).length;

// Never leave a process group behind, whatever ends this one.
function killAllNow() {
  for (const p of [host, dev]) {
    try {
      if (p) process.kill(-p.child.pid, 'SIGKILL');
    } catch {}
  }
}
process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killAllNow();
    process.exit(130);
  });
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'wcf-crash-'));
  HOST_PORT = await freePort();
  DEV_PORT = await freePort();
  env.WRANGLER_REGISTRY_PATH = registry();
  const migrate = spawnSync(
    'wrangler',
    ['d1', 'migrations', 'apply', 'workflow', '--local', '--persist-to', dir, '-c', CONFIG],
    {
      cwd: ROOT,
      env,
      encoding: 'utf8',
    },
  );
  assert.equal(migrate.status, 0, migrate.stderr || migrate.stdout);
  dev = await startDev();
  host = await startHost();
});

after(async () => {
  report('crash', figures);
  await kill(host);
  await kill(dev);
  if (dir) rmSync(dir, { recursive: true, force: true });
  // wrangler dev leaves a bundle per start next to its config.
  rmSync(path.join(ROOT, 'tests', 'workers', '.wrangler', 'tmp'), { recursive: true, force: true });
});

/** The end of a crash case: the run completed with `value`, nothing duplicated. */
async function finish(label, runId, value, extra = {}) {
  const r = await waitFor(
    `${label}: run completed`,
    until(runId, (x) => x.status === 'completed'),
    45_000,
  );
  assert.deepEqual(r.value, value, `${label}: result`);
  const check = await call(`check?ids=${runId}`);
  assert.deepEqual(check.duplicateRows, [], `${label}: duplicated events`);
  assert.deepEqual(check.invariantViolations, [], `${label}: store invariants`);
  allRuns.push(runId);
  figures[label] = {
    runs: 1,
    completed: 1,
    rightResult: 1,
    events: check.events,
    eventsLost: 0,
    duplicates: 0,
    extraStepExecutions: check.extraStepExecutions,
    ...extra,
  };
}

test('the Node host killed mid-step: after its restart (world.start()) the run completes with the right result', async () => {
  const { runId } = await call('start', { name: 'slowSteps', args: [3, 1500] });
  await waitFor(
    'step 2 running',
    until(runId, (r) => count(r.events, 'step_started') >= 2 && count(r.events, 'step_completed') === 1),
  );
  await kill(host);
  await sleep(1000);
  host = await startHost();
  await finish('host killed mid-step', runId, 6);
});

test('the Node host killed right after a step_completed commits, before the next enqueue: after its restart the run completes with the right result', async () => {
  await call('crash-after', { eventType: 'step_completed' });
  const { runId } = await call('start', { name: 'sequential', args: [2, 3] });
  // The host kills itself; wait for it to be gone.
  const dead = host;
  await new Promise((resolve) =>
    dead.child.exitCode !== null || dead.child.signalCode ? resolve() : dead.child.once('exit', resolve),
  );
  assert.match(
    dead.log(),
    new RegExp(`CRASHING after step_completed of ${runId}`),
    'the host died right after the step_completed commit',
  );
  host = await startHost();
  await finish('host killed between step_completed and the next enqueue', runId, { sum: 5, doubled: 10 });
});

test('the Node host killed mid-sleep: after its restart the run wakes and completes with the right result', async () => {
  const { runId } = await call('start', { name: 'shortSleep', args: [2500] });
  await waitFor(
    'the sleep',
    until(runId, (r) => r.events.includes('wait_created')),
  );
  await kill(host);
  await sleep(1000);
  host = await startHost();
  await finish('host killed mid-sleep', runId, { sleptAtLeast: true });
});

test('the consumer Worker killed mid-sleep: after its restart and world.start() the run wakes and completes with the right result', async () => {
  const { runId } = await call('start', { name: 'shortSleep', args: [3000] });
  await waitFor(
    'the sleep',
    until(runId, (r) => r.events.includes('wait_created')),
  );
  await kill(dev);
  await sleep(1000);
  dev = await startDev();
  await sleep(4000); // past the wake-up time: a queued delayed message would have arrived by now
  const woke = (await runInfo(runId)).status === 'completed';
  if (!woke) await call('recover', {});
  await finish('consumer killed mid-sleep', runId, { sleptAtLeast: true }, { neededRecovery: !woke });
});

test('the consumer Worker killed mid-step: after its restart and world.start() the run completes with the right result', async () => {
  const { runId } = await call('start', { name: 'slowSteps', args: [2, 2000] });
  await waitFor(
    'step 1 running',
    until(runId, (r) => count(r.events, 'step_started') >= 1),
  );
  await kill(dev);
  await sleep(2500); // the host finishes the step meanwhile; its next enqueue meets no consumer
  dev = await startDev();
  await sleep(3000);
  const done = (await runInfo(runId)).status === 'completed';
  if (!done) await call('recover', {});
  await finish('consumer killed mid-step', runId, 3, { neededRecovery: !done });
});

// Both at once is killed mid-sleep, not mid-step: the local emulator keeps its queues in
// the killed workerd's memory, so a step message in flight would be lost with it, and the
// step's idempotency claim (its stepId) keeps the replay from re-sending it until the
// claim expires (RELIABILITY.md, "Crashes"). Cloudflare Queues keep an accepted message
// and redeliver it after a consumer crash, which the consumer-mid-step case covers.
test('both processes killed at once mid-sleep (a machine lost): after both restart the run completes with the right result', async () => {
  const { runId } = await call('start', { name: 'shortSleep', args: [3000] });
  await waitFor(
    'the sleep',
    until(runId, (r) => r.events.includes('wait_created')),
  );
  await Promise.all([kill(host), kill(dev)]);
  await sleep(500);
  dev = await startDev();
  host = await startHost(); // its world.start() re-enqueues the run
  await finish('host and consumer killed at once mid-sleep', runId, { sleptAtLeast: true });
});

test('after every crash: the whole store is consistent', async () => {
  const check = await call(`check?ids=${allRuns.join(',')}`);
  assert.deepEqual(check.invariantViolations, []);
  assert.deepEqual(check.duplicateRows, []);
  figures.total = {
    runs: allRuns.length,
    completed: allRuns.length,
    events: check.events,
    eventsLost: 0,
    duplicates: 0,
    extraStepExecutions: check.extraStepExecutions,
  };
});
