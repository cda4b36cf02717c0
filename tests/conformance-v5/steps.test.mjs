// Conformance (spec 7): steps: lazy start, terminal runs, ownership, byte errors (§4.6–4.8), and
// run-scoped step reads (§2.2). Checklist items V53–V64 of the 5.x checklist (docs/conformance-v5.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fixtures from '../support/world-v5.mjs';

const v = fixtures.useWorldV5();

test('V53 a lazy step_started creates a running step (attempt 1, input), returns stepCreated, and logs step_created then step_started without input', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const input = fixtures.payload('lazy');
  const stepId = fixtures.newStepId();
  const res = await v.world.events.create(runId, {
    eventType: 'step_started',
    correlationId: stepId,
    eventData: { stepName: fixtures.STEP_NAME, input, workflowName: fixtures.WORKFLOW_NAME, ownerMessageId: 'm1' },
  });
  assert.equal(res.stepCreated, true);
  assert.equal(res.step.stepId, stepId);
  assert.equal(res.step.status, 'running');
  assert.equal(res.step.attempt, 1);
  fixtures.assertBytes(res.step.input, input, 'result step.input');
  fixtures.assertDate(res.step.startedAt, undefined, 'step.startedAt');
  const step = await v.world.steps.get(runId, stepId);
  assert.equal(step.status, 'running');
  assert.equal(step.attempt, 1);
  assert.equal(step.stepName, fixtures.STEP_NAME);
  fixtures.assertBytes(step.input, input, 'steps.get input');
  const [created, started] = (await fixtures.listAllEvents(v.world, runId)).slice(2);
  assert.equal(created.eventType, 'step_created');
  assert.equal(created.correlationId, stepId);
  fixtures.assertSameData(created.eventData, { stepName: fixtures.STEP_NAME, input });
  assert.equal(started.eventType, 'step_started');
  assert.equal(started.eventId, res.event.eventId);
  assert.equal(started.eventData.stepName, fixtures.STEP_NAME);
  assert.equal(started.eventData.ownerMessageId, 'm1');
  assert.equal(started.eventData.workflowName, fixtures.WORKFLOW_NAME);
  // No input (absent ≡ undefined, §0.3): it rides the synthetic step_created only.
  assert.equal(started.eventData.input, undefined, 'the stored step_started has no input');
  assert.equal(res.event.eventData.input, undefined, 'the returned step_started has no input');
});

test('V54 a lazy step_started for an existing step (pending or running) throws EntityConflictError and appends nothing', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const pending = await fixtures.createStep(v.world, runId);
  const running = await fixtures.createRunningStep(v.world, runId);
  const lazy = await fixtures.lazyStartStep(v.world, runId);
  for (const stepId of [pending.stepId, running.stepId, lazy.stepId]) {
    await fixtures.assertNothingAppended(v.world, runId, () =>
      fixtures.expectReject(
        fixtures.lazyStartStep(v.world, runId, { stepId, ownerMessageId: 'm-loser' }),
        'EntityConflictError',
      ),
    );
  }
  assert.equal((await v.world.steps.get(runId, pending.stepId)).status, 'pending');
  assert.equal((await v.world.steps.get(runId, running.stepId)).attempt, 1);
  assert.equal((await v.world.steps.get(runId, lazy.stepId)).attempt, 1);
});

test('V55 two concurrent lazy step_started for one step: exactly one succeeds; one step_created and one step_started are logged', async () => {
  for (let trial = 0; trial < 6; trial++) {
    const { runId } = await fixtures.createRunningRun(v.world);
    const stepId = fixtures.newStepId();
    const outcomes = await Promise.allSettled([
      fixtures.lazyStartStep(v.world, runId, { stepId, ownerMessageId: 'm-a', input: fixtures.payload('a') }),
      fixtures.lazyStartStep(v.world, runId, { stepId, ownerMessageId: 'm-b', input: fixtures.payload('b') }),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    assert.equal(won.length, 1, `trial ${trial}: exactly one winner`);
    const lost = outcomes.find((o) => o.status === 'rejected');
    assert.equal(lost.reason?.name, 'EntityConflictError', `trial ${trial}: ${lost.reason}`);
    assert.equal(won[0].value.res.stepCreated, true);
    const events = (await fixtures.listAllEvents(v.world, runId)).slice(2);
    assert.deepEqual(fixtures.typesOf(events), ['step_created', 'step_started'], `trial ${trial}`);
    const step = await v.world.steps.get(runId, stepId);
    assert.equal(step.attempt, 1);
    assert.equal(events[1].eventData.ownerMessageId, won[0].value.res.event.eventData.ownerMessageId);
  }
});

test('V56 a lazy step_started on a terminal run throws EntityConflictError', async () => {
  for (const status of fixtures.TERMINAL_RUN_STATUSES) {
    const { runId } = await fixtures.createRunningRun(v.world);
    await fixtures.terminateRun(v.world, runId, status);
    const stepId = fixtures.newStepId();
    await fixtures.assertNothingAppended(v.world, runId, () =>
      fixtures.expectReject(fixtures.lazyStartStep(v.world, runId, { stepId }), 'EntityConflictError'),
    );
    await assert.rejects(v.world.steps.get(runId, stepId), 'no step was created');
  }
});

test('V57 on a terminal run a bare step_started of a running step throws RunExpiredError', async () => {
  for (const status of fixtures.TERMINAL_RUN_STATUSES) {
    const { runId } = await fixtures.createRunningRun(v.world);
    const { stepId } = await fixtures.createRunningStep(v.world, runId);
    await fixtures.terminateRun(v.world, runId, status);
    await fixtures.assertNothingAppended(v.world, runId, () =>
      fixtures.expectReject(fixtures.startStep(v.world, runId, stepId), 'RunExpiredError'),
    );
    const step = await v.world.steps.get(runId, stepId);
    assert.equal(step.status, 'running');
    assert.equal(step.attempt, 1, 'the refused start did not count an attempt');
  }
});

test('V58 a bare step_started for a missing step throws WorkflowWorldError (status undefined or 404) matching /step/i and /not found/i', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const err = await fixtures.assertNothingAppended(v.world, runId, () =>
    fixtures.expectReject(fixtures.startStep(v.world, runId, fixtures.newStepId()), 'WorkflowWorldError'),
  );
  assert.ok(err.status === undefined || err.status === 404, `status ${err.status}`);
  assert.match(err.message, /step/i);
  assert.match(err.message, /not found/i);
});

test('V59 a bare step_started never returns stepCreated', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const { stepId } = await fixtures.createStep(v.world, runId);
  const first = await fixtures.startStep(v.world, runId, stepId, { ownerMessageId: 'm1' });
  assert.equal(first.res.stepCreated, undefined);
  const restart = await fixtures.startStep(v.world, runId, stepId);
  assert.equal(restart.res.stepCreated, undefined);
  assert.equal(restart.step.attempt, 2);
  const lazy = await fixtures.lazyStartStep(v.world, runId);
  const lazyRestart = await fixtures.startStep(v.world, runId, lazy.stepId);
  assert.equal(lazyRestart.res.stepCreated, undefined);
});

test('V60 events.list returns step_started.eventData.ownerMessageId as written, with createdAt at commit (within a second)', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const t0 = Date.now();
  const lazy = await fixtures.lazyStartStep(v.world, runId, { ownerMessageId: 'msg_01OWNER' });
  const t1 = Date.now();
  const restart = await fixtures.startStep(v.world, runId, lazy.stepId, { ownerMessageId: 'msg_02OWNER' });
  const t2 = Date.now();
  const queued = await fixtures.startStep(v.world, runId, lazy.stepId); // a queued-step start: no owner
  const events = await fixtures.listAllEvents(v.world, runId);
  const byId = (id) => events.find((e) => e.eventId === id);
  const check = (event, owner, from, to) => {
    assert.equal(event.eventType, 'step_started');
    assert.equal(event.eventData.ownerMessageId, owner);
    assert.ok(event.createdAt instanceof Date);
    assert.ok(
      event.createdAt.getTime() >= from - 1_000 && event.createdAt.getTime() <= to + 1_000,
      `createdAt ${event.createdAt.toISOString()} not within a second of [${new Date(from).toISOString()}, ${new Date(to).toISOString()}]`,
    );
  };
  check(byId(lazy.res.event.eventId), 'msg_01OWNER', t0, t1);
  check(byId(restart.res.event.eventId), 'msg_02OWNER', t1, t2);
  assert.equal(byId(queued.res.event.eventId).eventData.ownerMessageId, undefined);
});

test('V61 step_failed {error: bytes} and step_retrying {error: bytes, retryAfter} store step.error byte-identical, no stack', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const { stepId } = await fixtures.createRunningStep(v.world, runId);
  const retryError = fixtures.errorBytes('retry');
  const retryAfter = new Date(Date.now() + 1);
  const retried = await fixtures.retryStep(v.world, runId, stepId, { error: retryError, retryAfter });
  fixtures.assertBytes(retried.step.error, retryError, 'result step.error after retry');
  let step = await v.world.steps.get(runId, stepId);
  assert.equal(step.status, 'pending');
  fixtures.assertBytes(step.error, retryError, 'steps.get error after retry');
  fixtures.assertDate(step.retryAfter, retryAfter, 'retryAfter');
  await new Promise((r) => setTimeout(r, 5));
  await fixtures.startStep(v.world, runId, stepId);
  const failError = fixtures.errorBytes('final');
  const failed = await fixtures.failStep(v.world, runId, stepId, { error: failError });
  fixtures.assertBytes(failed.step.error, failError, 'result step.error after fail');
  step = await v.world.steps.get(runId, stepId);
  assert.equal(step.status, 'failed');
  fixtures.assertBytes(step.error, failError, 'steps.get error after fail');
  assert.equal(step.stack, undefined);
  const events = await fixtures.listAllEvents(v.world, runId);
  const retrying = events.find((e) => e.eventType === 'step_retrying');
  fixtures.assertBytes(retrying.eventData.error, retryError, 'step_retrying.eventData.error');
  fixtures.assertDate(retrying.eventData.retryAfter, retryAfter, 'step_retrying.eventData.retryAfter');
  fixtures.assertBytes(events.at(-1).eventData.error, failError, 'step_failed.eventData.error');
});

test('V62 step_completed carrying latency telemetry (ttfs, stso, optimizations) is accepted', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const { stepId } = await fixtures.createRunningStep(v.world, runId);
  const result = fixtures.payload('out');
  const res = await fixtures.completeStep(v.world, runId, stepId, {
    result,
    extra: { ttfs: 12, stso: 3, stepCount: 1, eventCount: 4, rsfs: 1, optimizations: ['turbo'] },
  });
  assert.equal(res.step.status, 'completed');
  fixtures.assertBytes(res.step.output, result, 'step.output');
  assert.equal((await v.world.steps.get(runId, stepId)).status, 'completed');
  const completed = (await fixtures.listAllEvents(v.world, runId)).at(-1);
  assert.equal(completed.eventType, 'step_completed');
  fixtures.assertBytes(completed.eventData.result, result, 'step_completed.eventData.result');
});

test('V63 steps.get is scoped by runId: the same stepId in two runs names two different steps', async () => {
  const stepId = fixtures.newStepId();
  const a = await fixtures.createRunningRun(v.world);
  const b = await fixtures.createRunningRun(v.world);
  await fixtures.createStep(v.world, a.runId, { stepId, input: fixtures.payload('in-a') });
  await fixtures.createStep(v.world, b.runId, { stepId, input: fixtures.payload('in-b') });
  await fixtures.startStep(v.world, b.runId, stepId);
  const stepA = await v.world.steps.get(a.runId, stepId);
  const stepB = await v.world.steps.get(b.runId, stepId);
  assert.equal(stepA.runId, a.runId);
  assert.equal(stepB.runId, b.runId);
  assert.equal(stepA.status, 'pending');
  assert.equal(stepB.status, 'running');
  fixtures.assertBytes(stepA.input, fixtures.payload('in-a'), 'run A step input');
  fixtures.assertBytes(stepB.input, fixtures.payload('in-b'), 'run B step input');
  assert.deepEqual(
    (await v.world.steps.list({ runId: a.runId })).data.map((s) => [s.runId, s.stepId]),
    [[a.runId, stepId]],
  );
});

test(
  'V63 (§11.1) steps.get and events.get of a missing step or event throw WorkflowWorldError, not a plain Error',
  fixtures.localDivergence(
    'V63/§11.1 (§2.8, 4x §4.2–4.3): world-local throws a plain Error for a missing step or event',
  ),
  async () => {
    const { runId } = await fixtures.createRunningRun(v.world);
    const stepErr = await fixtures.expectReject(v.world.steps.get(runId, fixtures.newStepId()), 'WorkflowWorldError');
    assert.ok(stepErr.status === undefined || stepErr.status === 404, `steps.get status ${stepErr.status}`);
    const eventErr = await fixtures.expectReject(v.world.events.get(runId, fixtures.slotId(99)), 'WorkflowWorldError');
    assert.ok(eventErr.status === undefined || eventErr.status === 404, `events.get status ${eventErr.status}`);
  },
);

test('V64 TooEarlyError.retryAfter is whole seconds, rounded up', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const { stepId } = await fixtures.createRunningStep(v.world, runId);
  const retryAfter = new Date(Date.now() + 2_500);
  await fixtures.retryStep(v.world, runId, stepId, { retryAfter });
  const t0 = Date.now();
  const err = await fixtures.assertNothingAppended(v.world, runId, () =>
    fixtures.expectReject(fixtures.startStep(v.world, runId, stepId), 'TooEarlyError'),
  );
  const t1 = Date.now();
  assert.ok(Number.isInteger(err.retryAfter), `retryAfter ${err.retryAfter} is not whole seconds`);
  const lo = Math.ceil((retryAfter.getTime() - t1) / 1000);
  const hi = Math.ceil((retryAfter.getTime() - t0) / 1000);
  assert.ok(err.retryAfter >= lo && err.retryAfter <= hi, `retryAfter ${err.retryAfter} not in [${lo}, ${hi}]`);
  assert.equal((await v.world.steps.get(runId, stepId)).status, 'pending');
});
