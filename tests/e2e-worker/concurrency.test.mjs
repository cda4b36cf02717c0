// Deliveries run side by side inside the Worker (docs/design.md, "Deliveries run side by
// side"): the suite's app (tests/e2e-worker/app, workflow 5.0.0-beta.55 on QuickJS) in
// local workerd, through wrangler's test harness, with the same local Queues as `wrangler
// dev`, which start a queue's next batch only when the consumer's invocation returns. Each
// queue message runs in an executor of its own (WorkflowExecutor, js/executor.js), so:
// a sleep's wake-up and an abort overtake the same run's long step, a hook token has one
// owner while that owner's step runs, and steps and workflows that wait for other runs
// (children, `Run` objects, recursion through start(), a duplicate adopting its owner's
// result, a stream handed to a child) finish instead of waiting for deliveries queued
// behind them. Each case finishes within twice its own sleep or step time (the time its
// workflow waits by design), measured here from start() to the observed end.
import assert from 'node:assert/strict';
import { after, before, test as nodeTest } from 'node:test';
import { startWorkerApp } from '../../examples/worker/app.mjs';
import { buildWorkerApp, E2E_APP, eventually, logOf, sleep } from '../support/example-worker.mjs';

/** A case that would otherwise wait forever on a deadlock fails after two minutes. */
const test = (name, fn) => nodeTest(name, { timeout: 120_000 }, fn);

let app;
before(async () => {
  app = await startWorkerApp({ root: buildWorkerApp(E2E_APP), name: 'world-cloudflare-e2e-app' });
});
after(async () => {
  await app?.close();
});

/** Starts `workflow` and waits for its end: its status and the wall time it took. */
async function run(workflow, args, { timeoutMs = 60_000 } = {}) {
  const began = Date.now();
  const runId = await app.start(workflow, args);
  const status = await app.settle(runId, { timeoutMs });
  return { ...status, ms: Date.now() - began };
}

/** Asserts a case ended within twice the time its workflow waits by design. */
function withinTwice(ms, ownMs, what) {
  assert.ok(ms < 2 * ownMs, `${what}: ${ms} ms, over twice its own ${ownMs} ms`);
}

const types = async (runId) => (await logOf(app.world, runId)).map((e) => e.eventType);

test('a 2 s sleep beats a 20 s step of the same run in Promise.race', async () => {
  const status = await run('sleepBeatsStep', [20_000, 2_000]);
  assert.equal(status.status, 'completed', JSON.stringify(status));
  assert.equal(status.result, 'sleep');
  withinTwice(status.ms, 2_000, 'sleep beats step');
});

test("an AbortController timeout cancels the running step and keeps the abort's reason", async () => {
  const status = await run('abortOnTimeout', [30_000, 3_000, 'took too long']);
  assert.equal(status.status, 'completed', JSON.stringify(status));
  assert.deepEqual(status.result, {
    status: 'timed out',
    step: 'aborted',
    aborted: true,
    reason: 'took too long',
    stepSaw: { aborted: true, reason: 'took too long' },
  });
  withinTwice(status.ms, 3_000, 'abort on timeout');
  const log = await types(status.runId);
  assert.ok(log.includes('hook_created') && log.includes('hook_received'), `the abort is a hook's: ${log}`);
});

test('one timeout aborts three running steps at once, with its reason', async () => {
  const status = await run('abortInParallel', [30_000, 3_000, 'parallel timeout']);
  assert.equal(status.status, 'completed', JSON.stringify(status));
  assert.deepEqual(status.result, {
    status: 'timed out',
    steps: ['aborted', 'aborted', 'aborted'],
    reason: 'parallel timeout',
  });
  withinTwice(status.ms, 3_000, 'parallel abort');
});

test("two runs racing for one hook token: exactly one owner while the owner's 15 s step runs", async () => {
  const token = `mutex-${crypto.randomUUID()}`;
  const began = Date.now();
  const ids = await Promise.all([1, 2].map(() => app.start('hookMutex', [token, 15_000])));
  const ends = await Promise.all(ids.map(async (runId) => ({ ...(await app.settle(runId)), ms: Date.now() - began })));
  const owners = ends.filter((s) => s.result?.role === 'owner');
  const duplicates = ends.filter((s) => s.result?.role === 'duplicate');
  assert.equal(owners.length, 1, `one owner: ${JSON.stringify(ends)}`);
  assert.equal(duplicates.length, 1, `one duplicate: ${JSON.stringify(ends)}`);
  const [owner] = owners;
  const [duplicate] = duplicates;
  assert.equal(duplicate.result.ownerRunId, owner.runId, 'the duplicate names the owner');
  assert.ok(duplicate.ms < 7_500, `the duplicate did not wait for the owner's step: ${duplicate.ms} ms`);
  withinTwice(owner.ms, 15_000, 'the owner');
  assert.ok(!(await types(owner.runId)).includes('hook_received'), 'nothing resumed the owner');
  // Disposed with its run, the token is free again.
  await eventually('the token released', async () => (await app.fetch(`/hooks/${token}`)).status === 404);
  const third = await run('hookMutex', [token, 100]);
  assert.deepEqual(third.result, { role: 'owner' });
});

test('a step starts a child run and another step awaits its result', async () => {
  const status = await run('childFromStep', [42, 3_000]);
  assert.equal(status.status, 'completed', JSON.stringify(status));
  assert.match(status.result.childRunId, /^wrun_/);
  assert.deepEqual(status.result.child, { value: 42, doubled: 84 });
  assert.equal((await app.status(status.result.childRunId)).status, 'completed');
  withinTwice(status.ms, 3_000, 'child from a step');
});

test('a Run returned by a step is a Run in the workflow, and steps read and await it', async () => {
  const status = await run('runAcrossBoundaries', [21, 3_000]);
  assert.equal(status.status, 'completed', JSON.stringify(status));
  const { runId, isRun, runIdInStep, child } = status.result;
  assert.match(runId, /^wrun_/);
  assert.equal(isRun, true, 'instanceof Run inside the workflow');
  assert.equal(runIdInStep, runId);
  assert.deepEqual(child, { value: 21, doubled: 42 });
  withinTwice(status.ms, 3_000, 'Run across boundaries');
});

test('fibonacci(6) by recursion through start(): 25 runs, each awaiting its children', async () => {
  const status = await run('fibonacci', [6]);
  assert.equal(status.status, 'completed', JSON.stringify(status));
  assert.equal(status.result, 8);
  const runs = await app.world.runs.list({ pagination: { limit: 100 }, resolveData: 'none' });
  const fibs = runs.data.filter((r) => r.workflowName.endsWith('//fibonacci'));
  assert.equal(fibs.length, 25, 'fib(6) takes 25 runs');
  assert.ok(
    fibs.every((r) => r.status === 'completed'),
    'every one completed',
  );
  // Its own waiting: five levels of runs, each seeing its children end by core's
  // once-a-second returnValue poll.
  withinTwice(status.ms, 5 * 1_000, 'fibonacci(6)');
});

test("a duplicate run on a hook token adopts its owner's result", async () => {
  const token = `adopt-${crypto.randomUUID()}`;
  const began = Date.now();
  const owner = await app.start('adoptOwnerResult', [token, 'owner-marker']);
  await eventually('the owner holds the token', async () => (await app.fetch(`/hooks/${token}`)).ok);
  const duplicate = await app.start('adoptOwnerResult', [token, 'duplicate-marker']);
  await eventually('the duplicate saw the conflict', async () => (await types(duplicate)).includes('hook_conflict'));
  await sleep(1_000); // the duplicate's step is now waiting on the owner
  await app.resumeHook(token, { value: 'adopted-value' });
  const resumedAt = Date.now() - began;
  const [ownerEnd, duplicateEnd] = await Promise.all([owner, duplicate].map((runId) => app.settle(runId)));
  const ms = Date.now() - began;
  const result = { role: 'owner', marker: 'owner-marker', value: 'adopted-value' };
  assert.deepEqual(ownerEnd.result, result);
  assert.deepEqual(duplicateEnd.result, { role: 'duplicate', ownerRunId: owner, adopted: result });
  withinTwice(ms, resumedAt, 'adopting the owner result');
});

for (const workflow of ['forwardFromWorkflow', 'forwardFromStep']) {
  test(`${workflow}: the run's stream, handed to a child run, holds what the child wrote`, async () => {
    const text = `hello from the child ${Date.now()}\n`;
    const began = Date.now();
    const runId = await app.start(workflow, [text, 3_000]);
    const chunks = await app.stream(runId);
    const status = await app.settle(runId);
    const ms = Date.now() - began;
    assert.equal(status.status, 'completed', JSON.stringify(status));
    assert.match(status.result.childRunId, /^wrun_/);
    assert.deepEqual(chunks, [{ bytes: text }], 'one chunk, the bytes the child wrote, then the end');
    withinTwice(ms, 3_000, workflow);
  });
}

test('ten runs with a 20 s step each, started together, all finish in under 40 s', async () => {
  const began = Date.now();
  const ids = await Promise.all(Array.from({ length: 10 }, () => app.start('longStep', [20_000])));
  const ends = await Promise.all(ids.map((runId) => app.settle(runId, { timeoutMs: 120_000 })));
  const ms = Date.now() - began;
  assert.deepEqual(
    ends.map((s) => [s.status, s.result]),
    ids.map(() => ['completed', 'done']),
  );
  assert.ok(ms < 40_000, `ten 20 s steps took ${ms} ms; one delivery at a time needs 200 s`);
  console.log(`# ten 20 s runs at once: ${ms} ms`);
});
