// Conformance (spec 7): the optional members of world-contract-v5 §9 that this World
// implements: runs.getMany, runs.waitForTerminalStatus, runs.cancelMany. Their D1 round
// trips are counted in round-trips.test.mjs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fixtures from '../support/world-v5.mjs';

const v = fixtures.useWorldV5();
/** world-local 5.0.0-beta.46 has no runs.cancelMany: core cancels one by one there. */
const hasCancelMany = fixtures.WORLD_KIND === 'local' ? { skip: 'world-local has no runs.cancelMany' } : {};
/** Nor events.createBatch: core writes a fan-out event by event there. */
const hasCreateBatch = fixtures.WORLD_KIND === 'local' ? { skip: 'world-local has no events.createBatch' } : {};

const stepCreated = (stepId) => ({
  event: {
    eventType: 'step_created',
    correlationId: stepId,
    eventData: { stepName: fixtures.STEP_NAME, input: fixtures.payload('in') },
  },
});
const waitCreated = (waitId) => ({
  event: { eventType: 'wait_created', correlationId: waitId, eventData: { resumeAt: new Date(Date.now() + 60_000) } },
});

test('§9 runs.getMany answers in the order asked, null for a missing id, each as runs.get answers', async () => {
  const a = await fixtures.createRunningRun(v.world);
  const b = await fixtures.createRun(v.world);
  await fixtures.terminateRun(v.world, b.runId, 'completed');
  const missing = fixtures.newRunId();
  const runs = await v.world.runs.getMany([b.runId, missing, a.runId, b.runId], { resolveData: 'none' });
  assert.equal(runs.length, 4);
  assert.equal(runs[1], null);
  assert.deepEqual(runs[0], await v.world.runs.get(b.runId, { resolveData: 'none' }));
  assert.deepEqual(runs[2], await v.world.runs.get(a.runId, { resolveData: 'none' }));
  assert.deepEqual(runs[3], runs[0]);
  assert.deepEqual(await v.world.runs.getMany([]), []);
});

test('§9 runs.waitForTerminalStatus resolves as soon as the run ends, with the ended run', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const began = Date.now();
  setTimeout(() => fixtures.terminateRun(v.world, runId, 'completed'), 600);
  const run = await v.world.runs.waitForTerminalStatus(runId, { timeoutMs: 20_000, resolveData: 'none' });
  const waited = Date.now() - began;
  assert.equal(run.status, 'completed');
  assert.ok(waited >= 500 && waited < 3_000, `resolved ${waited} ms after the wait began (the run ended at 600)`);
});

test('§9 runs.waitForTerminalStatus returns the latest state at its timeout, at once for an ended run, and throws for a missing one', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  let began = Date.now();
  const running = await v.world.runs.waitForTerminalStatus(runId, { timeoutMs: 800 });
  const waited = Date.now() - began;
  assert.equal(running.status, 'running');
  assert.ok(waited >= 700 && waited < 3_000, `waited ${waited} ms for an 800 ms timeout`);
  await fixtures.terminateRun(v.world, runId, 'failed');
  began = Date.now();
  assert.equal((await v.world.runs.waitForTerminalStatus(runId, { timeoutMs: 20_000 })).status, 'failed');
  assert.ok(Date.now() - began < 1_000, 'an ended run is answered at once');
  const controller = new AbortController();
  controller.abort();
  const other = await fixtures.createRunningRun(v.world);
  began = Date.now();
  const aborted = await v.world.runs.waitForTerminalStatus(other.runId, {
    timeoutMs: 20_000,
    signal: controller.signal,
  });
  assert.equal(aborted.status, 'running');
  assert.ok(Date.now() - began < 1_000, 'an aborted wait returns at once');
  const later = new AbortController();
  setTimeout(() => later.abort(), 300);
  began = Date.now();
  const cut = await v.world.runs.waitForTerminalStatus(other.runId, { timeoutMs: 20_000, signal: later.signal });
  assert.equal(cut.status, 'running');
  assert.ok(Date.now() - began < 2_000, `a wait aborted after 300 ms ends soon after: ${Date.now() - began} ms`);
  await fixtures.expectReject(
    v.world.runs.waitForTerminalStatus(fixtures.newRunId(), { timeoutMs: 500 }),
    'WorkflowRunNotFoundError',
  );
});

test(
  '§9 runs.cancelMany cancels what can be, reports the rest in order, and counts each outcome',
  hasCancelMany,
  async () => {
    const running = await fixtures.createRunningRun(v.world);
    const pending = await fixtures.createRun(v.world);
    const cancelled = await fixtures.createRunningRun(v.world);
    await fixtures.terminateRun(v.world, cancelled.runId, 'cancelled');
    const completed = await fixtures.createRunningRun(v.world);
    await fixtures.terminateRun(v.world, completed.runId, 'completed');
    const missing = fixtures.newRunId();
    const runIds = [running.runId, cancelled.runId, missing, completed.runId, pending.runId];
    const res = await v.world.runs.cancelMany({ runIds, cancelReason: 'bulk' });
    assert.deepEqual(res.results, [
      { runId: running.runId, outcome: 'cancelled' },
      { runId: cancelled.runId, outcome: 'already_cancelled' },
      { runId: missing, outcome: 'not_found' },
      { runId: completed.runId, outcome: 'not_cancellable', status: 'completed' },
      { runId: pending.runId, outcome: 'cancelled' },
    ]);
    assert.deepEqual(res.summary, {
      requested: 5,
      cancelled: 2,
      alreadyCancelled: 1,
      notCancellable: 1,
      notFound: 1,
      failed: 0,
    });
    for (const { runId } of [running, pending]) {
      assert.equal((await v.world.runs.get(runId)).status, 'cancelled');
      const last = (await fixtures.listAllEvents(v.world, runId)).at(-1);
      assert.equal(last.eventType, 'run_cancelled');
      assert.equal(last.eventData?.cancelReason, 'bulk');
    }
    assert.equal(
      fixtures.typesOf(await fixtures.listAllEvents(v.world, cancelled.runId)).filter((t) => t === 'run_cancelled')
        .length,
      1,
    );
  },
);

test(
  '§9 runs.cancelMany refuses an empty, oversized or repeating request by name and cancels nothing',
  hasCancelMany,
  async () => {
    const { runId } = await fixtures.createRunningRun(v.world);
    for (const [request, says] of [
      [{ runIds: [] }, 'allowed: 1 to 500'],
      [{ runIds: Array.from({ length: 501 }, () => fixtures.newRunId()) }, 'allowed: 1 to 500'],
      [{ runIds: [runId, runId] }, 'duplicates'],
      [{ runIds: [runId], cancelReason: 'x'.repeat(513) }, 'at most 512'],
      [{ runIds: 'not an array' }, 'must be an array'],
    ]) {
      const err = await fixtures.expectReject(v.world.runs.cancelMany(request), 'WorkflowWorldError');
      assert.equal(err.status, 400);
      assert.match(err.message, new RegExp(says));
    }
    assert.equal((await v.world.runs.get(runId)).status, 'running');
  },
);

test(
  '§9 events.createBatch lands a fan-out at consecutive slots in request order, each with its entity; a step_created + step_started pair is born running',
  hasCreateBatch,
  async () => {
    const { runId } = await fixtures.createRunningRun(v.world);
    const [a, b] = [fixtures.newStepId(), fixtures.newStepId()];
    const waitId = fixtures.newWaitId();
    const { results } = await v.world.events.createBatch(runId, [
      stepCreated(a),
      waitCreated(waitId),
      stepCreated(b),
      { event: { eventType: 'step_started', correlationId: b }, computeInstanceId: 'ci_1' },
    ]);
    assert.deepEqual(
      results.map((r) => [r.status, r.event.eventType, r.event.correlationId]),
      [
        [200, 'step_created', a],
        [200, 'wait_created', waitId],
        [200, 'step_created', b],
        [200, 'step_started', b],
      ],
    );
    const slots = results.map((r) => fixtures.slotOf(r.event.eventId));
    assert.deepEqual(slots, [3, 4, 5, 6], 'consecutive, after run_created and run_started');
    assert.equal(results[0].step.status, 'pending');
    assert.equal(results[1].wait.status, 'waiting');
    assert.equal(results[3].step.status, 'running');
    assert.equal((await v.world.steps.get(runId, b)).attempt, 1);
    const log = await fixtures.listAllEvents(v.world, runId);
    assert.deepEqual(
      log.slice(2).map((e) => e.eventId),
      results.map((r) => r.event.eventId),
    );
  },
);

test(
  '§9 events.createBatch answers each event as its own create would: a repeat is 409 per event and appends nothing; survivors still land',
  hasCreateBatch,
  async () => {
    const { runId } = await fixtures.createRunningRun(v.world);
    const [a, b] = [fixtures.newStepId(), fixtures.newStepId()];
    const batch = [stepCreated(a), stepCreated(b), { event: { eventType: 'step_started', correlationId: b } }];
    await v.world.events.createBatch(runId, batch);
    const before = (await fixtures.listAllEvents(v.world, runId)).map((e) => e.eventId);
    const again = await v.world.events.createBatch(runId, batch);
    assert.deepEqual(
      again.results.map((r) => r.status),
      [409, 409, 409],
    );
    for (const r of again.results) assert.equal(typeof r.message, 'string');
    assert.deepEqual(
      (await fixtures.listAllEvents(v.world, runId)).map((e) => e.eventId),
      before,
    );
    const fresh = fixtures.newStepId();
    const mixed = await v.world.events.createBatch(runId, [stepCreated(a), stepCreated(fresh)]);
    assert.deepEqual(
      mixed.results.map((r) => r.status),
      [409, 200],
    );
    assert.equal(fixtures.slotOf(mixed.results[1].event.eventId), before.length + 1);
  },
);

test(
  '§9 events.createBatch refuses by name, whole and storing nothing, a batch no single write could be',
  hasCreateBatch,
  async () => {
    const { runId } = await fixtures.createRunningRun(v.world);
    const before = (await fixtures.listAllEvents(v.world, runId)).length;
    const stepId = fixtures.newStepId();
    for (const [events, says] of [
      [[stepCreated(fixtures.newStepId()), { event: { eventType: 'run_cancelled' } }], 'run_cancelled'],
      [
        [
          stepCreated(stepId),
          {
            event: { eventType: 'step_completed', correlationId: stepId, eventData: { result: fixtures.payload('r') } },
          },
        ],
        'again',
      ],
      [[{ event: { eventType: 'hook_created', correlationId: 'hook_x', eventData: { token: 't' } } }], 'hook_created'],
      ['not an array', 'must be an array'],
    ]) {
      const err = await fixtures.expectReject(v.world.events.createBatch(runId, events), 'WorkflowWorldError');
      assert.equal(err.status, 400);
      assert.match(err.message, new RegExp(says));
    }
    assert.equal((await fixtures.listAllEvents(v.world, runId)).length, before);
  },
);
