// Conformance: steps (§3.4.4–3.4.8) and waits (§3.4.12–3.4.13, §3.6).
// Checklist items §8.31–58 and §8.79–86.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useHarness } from '../support/harness.mjs';
import * as fixtures from '../support/storage.mjs';

const h = useHarness();

const stepEvents = async (runId, stepId) =>
  (await fixtures.listAllEvents(h.world, runId)).filter((e) => e.correlationId === stepId);

/** Snapshot of the step fields a rejected call must not change. */
async function stepSnapshot(runId, stepId) {
  const s = await h.world.steps.get(runId, stepId);
  return {
    status: s.status,
    attempt: s.attempt,
    startedAt: s.startedAt?.getTime(),
    completedAt: s.completedAt?.getTime(),
    retryAfter: s.retryAfter?.getTime(),
    updatedAt: s.updatedAt.getTime(),
    error: s.error,
    output: s.output ? Array.from(s.output) : undefined,
  };
}

// ---------------------------------------------------------------------------
// §3.4.4 step_created

test('§8.31 step_created gives a pending step {attempt 0, startedAt undefined, input} and returns it', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const stepId = fixtures.newStepId();
  const input = fixtures.payload('step-31');
  const res = await h.world.events.create(runId, {
    eventType: 'step_created',
    correlationId: stepId,
    eventData: { stepName: fixtures.STEP_NAME, input },
  });
  assert.equal(res.event.eventType, 'step_created');
  assert.equal(res.event.correlationId, stepId);
  assert.ok(res.step, 'result.step missing');
  for (const step of [res.step, await h.world.steps.get(runId, stepId)]) {
    assert.equal(step.runId, runId);
    assert.equal(step.stepId, stepId);
    assert.equal(step.stepName, fixtures.STEP_NAME);
    assert.equal(step.status, 'pending');
    assert.equal(step.attempt, 0);
    assert.equal(step.startedAt, undefined);
    assert.equal(step.completedAt, undefined);
    assert.equal(step.retryAfter, undefined);
    assert.equal(step.output, undefined);
    assert.equal(step.error, undefined);
    assert.equal(step.specVersion, 3);
    fixtures.assertBytes(step.input, input, 'step.input');
    fixtures.assertDate(step.createdAt, undefined, 'createdAt');
    fixtures.assertDate(step.updatedAt, undefined, 'updatedAt');
  }
});

test('§8.32 a second step_created for the same step throws EntityConflictError and the log keeps one step_created', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createStep(h.world, runId, { input: fixtures.payload('first') });
  await fixtures.assertNothingAppended(h.world, runId, () =>
    fixtures.expectReject(
      h.world.events.create(runId, {
        eventType: 'step_created',
        correlationId: stepId,
        eventData: { stepName: 'step//other', input: fixtures.payload('second') },
      }),
      'EntityConflictError',
    ),
  );
  assert.deepEqual(fixtures.typesOf(await stepEvents(runId, stepId)), ['step_created']);
  const step = await h.world.steps.get(runId, stepId);
  fixtures.assertBytes(step.input, fixtures.payload('first'), 'entity unchanged');
  assert.equal(step.stepName, fixtures.STEP_NAME);
});

test('§8.33 two concurrent identical step_created: exactly one succeeds, one step_created in the log', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  for (let trial = 0; trial < 10; trial++) {
    const stepId = fixtures.newStepId();
    const data = {
      eventType: 'step_created',
      correlationId: stepId,
      eventData: { stepName: fixtures.STEP_NAME, input: fixtures.payload(`t${trial}`) },
    };
    const results = await Promise.allSettled([h.world.events.create(runId, data), h.world.events.create(runId, data)]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    assert.equal(ok.length, 1, `trial ${trial}: exactly one winner`);
    const lost = results.find((r) => r.status === 'rejected');
    assert.equal(lost.reason?.name, 'EntityConflictError', `trial ${trial}: ${lost.reason?.message}`);
    const evs = await stepEvents(runId, stepId);
    assert.deepEqual(fixtures.typesOf(evs), ['step_created']);
    assert.equal(evs[0].eventId, ok[0].value.event.eventId);
  }
});

test('§8.34 step_created on a terminal run throws EntityConflictError and creates nothing', async () => {
  for (const status of fixtures.TERMINAL_RUN_STATUSES) {
    const { runId } = await fixtures.createRunningRun(h.world);
    await fixtures.terminateRun(h.world, runId, status);
    const stepId = fixtures.newStepId();
    await fixtures.assertNothingAppended(h.world, runId, () =>
      fixtures.expectReject(
        h.world.events.create(runId, {
          eventType: 'step_created',
          correlationId: stepId,
          eventData: { stepName: fixtures.STEP_NAME, input: fixtures.payload('x') },
        }),
        'EntityConflictError',
        { message: `Cannot create new entities on run in terminal state "${status}"` },
      ),
    );
    await fixtures.expectReject(h.world.steps.get(runId, stepId), 'WorkflowWorldError');
  }
});

test('§8.35 the same stepId in two different runs creates two independent steps', async () => {
  const r1 = await fixtures.createRunningRun(h.world);
  const r2 = await fixtures.createRunningRun(h.world);
  const stepId = fixtures.newStepId();
  await fixtures.createStep(h.world, r1.runId, { stepId, input: fixtures.payload('one') });
  await fixtures.createStep(h.world, r2.runId, { stepId, input: fixtures.payload('two') });
  await fixtures.startStep(h.world, r1.runId, stepId);
  await fixtures.completeStep(h.world, r1.runId, stepId, fixtures.payload('done-one'));
  const s1 = await h.world.steps.get(r1.runId, stepId);
  const s2 = await h.world.steps.get(r2.runId, stepId);
  assert.equal(s1.runId, r1.runId);
  assert.equal(s2.runId, r2.runId);
  assert.equal(s1.status, 'completed');
  assert.equal(s2.status, 'pending');
  assert.equal(s2.attempt, 0);
  fixtures.assertBytes(s1.input, fixtures.payload('one'), 'run 1 input');
  fixtures.assertBytes(s2.input, fixtures.payload('two'), 'run 2 input');
  fixtures.assertBytes(s1.output, fixtures.payload('done-one'), 'run 1 output');
  assert.equal(s2.output, undefined);
  const started2 = await fixtures.startStep(h.world, r2.runId, stepId);
  assert.equal(started2.step.attempt, 1, 'run 2 step is independent');
});

// ---------------------------------------------------------------------------
// §3.4.5 step_started

test('§8.36 step_started on a pending step: running, attempt 1, startedAt set, step returned, eventData kept', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createStep(h.world, runId);
  const res = await h.world.events.create(runId, {
    eventType: 'step_started',
    correlationId: stepId,
    eventData: { stepName: fixtures.STEP_NAME },
  });
  assert.ok(res.step, 'result.step is required by core');
  assert.equal(res.event.eventType, 'step_started');
  fixtures.assertSameData(res.event.eventData, { stepName: fixtures.STEP_NAME });
  for (const step of [res.step, await h.world.steps.get(runId, stepId)]) {
    assert.equal(step.status, 'running');
    assert.equal(step.attempt, 1);
    fixtures.assertDate(step.startedAt, undefined, 'startedAt');
    fixtures.assertBytes(step.input, fixtures.payload('step-input'), 'input returned (core reads it)');
  }
});

test('§8.37 step_started on a running step: attempt 2, startedAt unchanged', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId, step: first } = await fixtures.createRunningStep(h.world, runId);
  assert.equal(first.attempt, 1);
  await fixtures.sleep(5);
  const { step } = await fixtures.startStep(h.world, runId, stepId);
  assert.equal(step.status, 'running');
  assert.equal(step.attempt, 2);
  fixtures.assertDate(step.startedAt, first.startedAt, 'startedAt unchanged');
  assert.equal((await h.world.steps.get(runId, stepId)).attempt, 2);
  assert.deepEqual(fixtures.typesOf(await stepEvents(runId, stepId)), ['step_created', 'step_started', 'step_started']);
});

test('§8.38 step_started on a missing step throws WorkflowWorldError (not found) and appends nothing', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const stepId = fixtures.newStepId();
  await fixtures.assertNothingAppended(h.world, runId, () =>
    fixtures.expectReject(fixtures.startStep(h.world, runId, stepId), 'WorkflowWorldError', {
      message: `Step "${stepId}" not found`,
    }),
  );
});

test('§8.39 step_started on a completed or failed step throws EntityConflictError, attempt unchanged', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  for (const status of ['completed', 'failed']) {
    const { stepId } = await fixtures.createRunningStep(h.world, runId);
    if (status === 'completed') await fixtures.completeStep(h.world, runId, stepId);
    else await fixtures.failStep(h.world, runId, stepId);
    const before = await stepSnapshot(runId, stepId);
    await fixtures.assertNothingAppended(h.world, runId, () =>
      fixtures.expectReject(fixtures.startStep(h.world, runId, stepId), 'EntityConflictError', {
        message: `Cannot modify step in terminal state "${status}"`,
      }),
    );
    assert.deepEqual(await stepSnapshot(runId, stepId), before);
    assert.equal(before.attempt, 1);
  }
});

test('§8.40 step_started on a pending step of a terminal run throws RunExpiredError', async () => {
  for (const status of fixtures.TERMINAL_RUN_STATUSES) {
    const { runId } = await fixtures.createRunningRun(h.world);
    const { stepId } = await fixtures.createStep(h.world, runId);
    await fixtures.terminateRun(h.world, runId, status);
    const before = await stepSnapshot(runId, stepId);
    await fixtures.assertNothingAppended(h.world, runId, () =>
      fixtures.expectReject(fixtures.startStep(h.world, runId, stepId), 'RunExpiredError', {
        message: `Cannot modify non-running step on run in terminal state "${status}"`,
      }),
    );
    assert.deepEqual(await stepSnapshot(runId, stepId), before);
  }
});

test('§8.41 step_started on a running step of a terminal run succeeds (attempt + 1)', async () => {
  for (const status of fixtures.TERMINAL_RUN_STATUSES) {
    const { runId } = await fixtures.createRunningRun(h.world);
    const { stepId } = await fixtures.createRunningStep(h.world, runId);
    await fixtures.terminateRun(h.world, runId, status);
    const { step, res } = await fixtures.startStep(h.world, runId, stepId);
    assert.equal(res.event.eventType, 'step_started');
    assert.equal(step.status, 'running');
    assert.equal(step.attempt, 2);
  }
});

test('§8.42 step_started before retryAfter throws TooEarlyError with retryAfter in seconds (ceil) and leaves the step unchanged', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createRunningStep(h.world, runId);
  const retryAt = new Date(Date.now() + 30_000);
  await fixtures.retryStep(h.world, runId, stepId, { error: 'later', retryAfter: retryAt });
  const before = await stepSnapshot(runId, stepId);
  const err = await fixtures.assertNothingAppended(h.world, runId, () =>
    fixtures.expectReject(fixtures.startStep(h.world, runId, stepId), 'TooEarlyError', {
      message: `Cannot start step "${stepId}": retryAfter timestamp has not been reached yet`,
    }),
  );
  assert.equal(typeof err.retryAfter, 'number');
  assert.ok([29, 30].includes(err.retryAfter), `retryAfter ${err.retryAfter} ∉ {29, 30}`);
  assert.deepEqual(await stepSnapshot(runId, stepId), before);
  assert.equal(before.status, 'pending');
  assert.equal(before.retryAfter, retryAt.getTime());
});

test('§8.43 step_started after retryAfter has passed succeeds and clears step.retryAfter', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createRunningStep(h.world, runId);
  const retryAt = new Date(Date.now() + 300);
  const retried = await fixtures.retryStep(h.world, runId, stepId, { error: 'soon', retryAfter: retryAt });
  fixtures.assertDate(retried.step.retryAfter, retryAt, 'retryAfter stored');
  await fixtures.sleep(Math.max(0, retryAt.getTime() - Date.now()) + 50);
  const { step } = await fixtures.startStep(h.world, runId, stepId);
  assert.equal(step.status, 'running');
  assert.equal(step.attempt, 2);
  assert.equal(step.retryAfter, undefined);
  assert.equal((await h.world.steps.get(runId, stepId)).retryAfter, undefined);
});

test('§8.44 when step_completed/step_failed races step_started, step_started never appears after the terminal event', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  for (let trial = 0; trial < 12; trial++) {
    const { stepId } = await fixtures.createRunningStep(h.world, runId);
    const terminal =
      trial % 2 === 0 ? fixtures.completeStep(h.world, runId, stepId) : fixtures.failStep(h.world, runId, stepId);
    const [term, started] = await Promise.allSettled([terminal, fixtures.startStep(h.world, runId, stepId)]);
    assert.equal(term.status, 'fulfilled', `trial ${trial}: terminal event must win: ${term.reason?.message}`);
    if (started.status === 'rejected') {
      assert.equal(started.reason?.name, 'EntityConflictError', `trial ${trial}: ${started.reason?.message}`);
    }
    const types = fixtures.typesOf(await stepEvents(runId, stepId));
    const terminalIdx = types.findIndex((t) => t === 'step_completed' || t === 'step_failed');
    assert.ok(terminalIdx >= 0);
    assert.equal(types.lastIndexOf('step_started') < terminalIdx, true, `trial ${trial}: ${types.join(',')}`);
    assert.equal(types.length, started.status === 'fulfilled' ? 4 : 3, `trial ${trial}: ${types.join(',')}`);
    const step = await h.world.steps.get(runId, stepId);
    assert.equal(step.status, trial % 2 === 0 ? 'completed' : 'failed');
    assert.equal(step.attempt, started.status === 'fulfilled' ? 2 : 1);
  }
});

// ---------------------------------------------------------------------------
// §3.4.6 step_completed

test('§8.45 step_completed on a running step: completed, output byte-equal, completedAt set', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createRunningStep(h.world, runId);
  const result = fixtures.payload('result-45');
  const res = await fixtures.completeStep(h.world, runId, stepId, result);
  assert.equal(res.event.eventType, 'step_completed');
  for (const step of [res.step, await h.world.steps.get(runId, stepId)]) {
    assert.equal(step.status, 'completed');
    fixtures.assertBytes(step.output, result, 'output');
    fixtures.assertDate(step.completedAt, undefined, 'completedAt');
    assert.equal(step.attempt, 1);
  }
});

test('§8.46 step_completed on a pending (never started) step succeeds', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createStep(h.world, runId);
  const res = await fixtures.completeStep(h.world, runId, stepId, fixtures.payload('direct'));
  assert.equal(res.step.status, 'completed');
  assert.equal(res.step.attempt, 0);
  fixtures.assertBytes((await h.world.steps.get(runId, stepId)).output, fixtures.payload('direct'), 'output');
});

test('§8.47 step_completed on a completed step throws EntityConflictError and appends nothing', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createRunningStep(h.world, runId);
  await fixtures.completeStep(h.world, runId, stepId, fixtures.payload('first'));
  const before = await stepSnapshot(runId, stepId);
  await fixtures.assertNothingAppended(h.world, runId, () =>
    fixtures.expectReject(
      fixtures.completeStep(h.world, runId, stepId, fixtures.payload('second')),
      'EntityConflictError',
      {
        message: 'Cannot modify step in terminal state "completed"',
      },
    ),
  );
  assert.deepEqual(await stepSnapshot(runId, stepId), before);
  fixtures.assertBytes((await h.world.steps.get(runId, stepId)).output, fixtures.payload('first'), 'output unchanged');
});

test('§8.48 two concurrent step_completed on one step: exactly one succeeds', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  for (let trial = 0; trial < 10; trial++) {
    const { stepId } = await fixtures.createRunningStep(h.world, runId);
    const results = await Promise.allSettled([
      fixtures.completeStep(h.world, runId, stepId, fixtures.payload('A')),
      fixtures.completeStep(h.world, runId, stepId, fixtures.payload('B')),
    ]);
    const winners = results.map((r, i) => (r.status === 'fulfilled' ? i : -1)).filter((i) => i >= 0);
    assert.equal(winners.length, 1, `trial ${trial}: exactly one winner`);
    const loser = results[1 - winners[0]];
    assert.equal(loser.reason?.name, 'EntityConflictError', `trial ${trial}: ${loser.reason?.message}`);
    const evs = (await stepEvents(runId, stepId)).filter((e) => e.eventType === 'step_completed');
    assert.equal(evs.length, 1);
    fixtures.assertBytes(
      (await h.world.steps.get(runId, stepId)).output,
      fixtures.payload(winners[0] === 0 ? 'A' : 'B'),
      'winner output',
    );
  }
});

test('§8.49 step_completed on a running step of a terminal run succeeds', async () => {
  for (const status of fixtures.TERMINAL_RUN_STATUSES) {
    const { runId } = await fixtures.createRunningRun(h.world);
    const { stepId } = await fixtures.createRunningStep(h.world, runId);
    await fixtures.terminateRun(h.world, runId, status);
    const res = await fixtures.completeStep(h.world, runId, stepId, fixtures.payload('late'));
    assert.equal(res.step.status, 'completed');
    fixtures.assertBytes((await h.world.steps.get(runId, stepId)).output, fixtures.payload('late'), 'output');
  }
});

test('§8.50 step_completed on a missing step throws WorkflowWorldError (not found)', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const stepId = fixtures.newStepId();
  await fixtures.assertNothingAppended(h.world, runId, () =>
    fixtures.expectReject(fixtures.completeStep(h.world, runId, stepId), 'WorkflowWorldError', {
      message: `Step "${stepId}" not found`,
    }),
  );
  await fixtures.expectReject(h.world.steps.get(runId, stepId), 'WorkflowWorldError');
});

// ---------------------------------------------------------------------------
// §3.4.7 step_failed

test('§8.51 step_failed {error:"bad", stack:"S"} gives status failed and error {message:"bad", stack:"S"} without code', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createRunningStep(h.world, runId);
  const res = await fixtures.failStep(h.world, runId, stepId, 'bad', 'S');
  assert.equal(res.event.eventType, 'step_failed');
  for (const step of [res.step, await h.world.steps.get(runId, stepId)]) {
    assert.equal(step.status, 'failed');
    assert.equal(step.error.message, 'bad');
    assert.equal(step.error.stack, 'S');
    assert.equal(step.error.code, undefined);
    assert.deepEqual(
      Object.keys(step.error)
        .filter((k) => step.error[k] !== undefined)
        .sort(),
      ['message', 'stack'],
    );
    fixtures.assertDate(step.completedAt, undefined, 'completedAt');
    assert.equal(step.output, undefined);
  }
});

test('§8.52 step_failed takes error.stack from eventData.stack, not from error.stack', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createRunningStep(h.world, runId);
  const res = await fixtures.failStep(h.world, runId, stepId, { message: 'x', stack: 'ignored' }, 'S');
  assert.equal(res.step.error.message, 'x');
  assert.equal(res.step.error.stack, 'S');
  const stored = await h.world.steps.get(runId, stepId);
  assert.equal(stored.error.stack, 'S');
  assert.equal(stored.error.message, 'x');
});

test('§8.53 step_completed on a failed step throws EntityConflictError', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createRunningStep(h.world, runId);
  await fixtures.failStep(h.world, runId, stepId, 'bad', 'S');
  const before = await stepSnapshot(runId, stepId);
  await fixtures.assertNothingAppended(h.world, runId, () =>
    fixtures.expectReject(fixtures.completeStep(h.world, runId, stepId), 'EntityConflictError', {
      message: 'Cannot modify step in terminal state "failed"',
    }),
  );
  assert.deepEqual(await stepSnapshot(runId, stepId), before);
});

// ---------------------------------------------------------------------------
// §3.4.8 step_retrying

test('§8.54 step_retrying {error:"e", retryAfter:D}: pending, error.message "e", retryAfter = D (ms), attempt unchanged', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createRunningStep(h.world, runId);
  await fixtures.startStep(h.world, runId, stepId); // attempt 2
  const D = new Date(Date.now() + 45_678);
  const res = await fixtures.retryStep(h.world, runId, stepId, { error: 'e', stack: 'SS', retryAfter: D });
  assert.equal(res.event.eventType, 'step_retrying');
  fixtures.assertDate(res.event.eventData.retryAfter, D, 'eventData.retryAfter');
  for (const step of [res.step, await h.world.steps.get(runId, stepId)]) {
    assert.equal(step.status, 'pending');
    assert.equal(step.error.message, 'e');
    assert.equal(step.error.stack, 'SS');
    fixtures.assertDate(step.retryAfter, D, 'retryAfter');
    assert.equal(step.attempt, 2);
    assert.equal(step.completedAt, undefined);
  }
});

test('§8.55 step_retrying without retryAfter clears it, and step_started then succeeds immediately', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createRunningStep(h.world, runId);
  await fixtures.retryStep(h.world, runId, stepId, { error: 'first', retryAfter: new Date(Date.now() + 600_000) });
  const res = await fixtures.retryStep(h.world, runId, stepId, { error: 'second' });
  assert.equal(res.step.retryAfter, undefined);
  assert.equal(res.step.error.message, 'second');
  assert.equal((await h.world.steps.get(runId, stepId)).retryAfter, undefined);
  const { step } = await fixtures.startStep(h.world, runId, stepId);
  assert.equal(step.status, 'running');
  assert.equal(step.attempt, 2);
});

test('§8.56 step_retrying on a completed step throws EntityConflictError', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createRunningStep(h.world, runId);
  await fixtures.completeStep(h.world, runId, stepId);
  const before = await stepSnapshot(runId, stepId);
  await fixtures.assertNothingAppended(h.world, runId, () =>
    fixtures.expectReject(fixtures.retryStep(h.world, runId, stepId, { error: 'late' }), 'EntityConflictError', {
      message: 'Cannot modify step in terminal state "completed"',
    }),
  );
  assert.deepEqual(await stepSnapshot(runId, stepId), before);
});

test('§8.57 a completed step keeps the error of an earlier retry', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createRunningStep(h.world, runId);
  await fixtures.retryStep(h.world, runId, stepId, { error: 'transient', stack: 'TS' });
  await fixtures.startStep(h.world, runId, stepId);
  const res = await fixtures.completeStep(h.world, runId, stepId, fixtures.payload('ok'));
  for (const step of [res.step, await h.world.steps.get(runId, stepId)]) {
    assert.equal(step.status, 'completed');
    fixtures.assertSameData(step.error, { message: 'transient', stack: 'TS' });
  }
});

test('§8.58 step.updatedAt advances on every mutation and createdAt never changes', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const snapshots = [];
  const record = (step) => snapshots.push({ createdAt: step.createdAt.getTime(), updatedAt: step.updatedAt.getTime() });
  const { stepId, step } = await fixtures.createStep(h.world, runId);
  record(step);
  const mutations = [
    () => fixtures.startStep(h.world, runId, stepId).then((r) => r.step),
    () => fixtures.retryStep(h.world, runId, stepId, { error: 'r' }).then((r) => r.step),
    () => fixtures.startStep(h.world, runId, stepId).then((r) => r.step),
    () => fixtures.completeStep(h.world, runId, stepId).then((r) => r.step),
  ];
  for (const mutate of mutations) {
    await fixtures.sleep(5);
    record(await mutate());
  }
  const stored = await h.world.steps.get(runId, stepId);
  assert.equal(stored.updatedAt.getTime(), snapshots.at(-1).updatedAt);
  for (let i = 1; i < snapshots.length; i++) {
    assert.equal(snapshots[i].createdAt, snapshots[0].createdAt, `createdAt changed at mutation ${i}`);
    assert.ok(snapshots[i].updatedAt > snapshots[i - 1].updatedAt, `updatedAt did not advance at mutation ${i}`);
  }
  assert.equal(stored.createdAt.getTime(), snapshots[0].createdAt);
});

// ---------------------------------------------------------------------------
// §3.4.12–3.4.13 waits

test('§8.79 wait_created returns wait {waitId "<runId>-<corr>", status waiting, resumeAt D}', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const correlationId = fixtures.newWaitCorrelationId();
  const D = new Date(Date.now() + 123_456);
  const res = await h.world.events.create(runId, {
    eventType: 'wait_created',
    correlationId,
    eventData: { resumeAt: D },
  });
  assert.equal(res.event.eventType, 'wait_created');
  assert.equal(res.event.correlationId, correlationId);
  fixtures.assertDate(res.event.eventData.resumeAt, D, 'event resumeAt');
  assert.ok(res.wait, 'result.wait missing');
  assert.equal(res.wait.waitId, `${runId}-${correlationId}`);
  assert.equal(res.wait.runId, runId);
  assert.equal(res.wait.status, 'waiting');
  fixtures.assertDate(res.wait.resumeAt, D, 'wait.resumeAt');
  assert.equal(res.wait.completedAt, undefined);
  fixtures.assertDate(res.wait.createdAt, undefined, 'wait.createdAt');
  fixtures.assertDate(res.wait.updatedAt, undefined, 'wait.updatedAt');
  assert.equal(res.wait.specVersion, 3);
});

test('§8.80 a second wait_created for the same wait throws EntityConflictError and the log keeps one wait_created', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { correlationId } = await fixtures.createWait(h.world, runId);
  await fixtures.assertNothingAppended(h.world, runId, () =>
    fixtures.expectReject(
      h.world.events.create(runId, { eventType: 'wait_created', correlationId, eventData: { resumeAt: new Date() } }),
      'EntityConflictError',
      { message: /^Wait ".+" already exists$/ },
    ),
  );
  const evs = (await fixtures.listAllEvents(h.world, runId)).filter((e) => e.correlationId === correlationId);
  assert.deepEqual(fixtures.typesOf(evs), ['wait_created']);
});

test('§8.81 wait_created on a terminal run throws EntityConflictError', async () => {
  for (const status of fixtures.TERMINAL_RUN_STATUSES) {
    const { runId } = await fixtures.createRunningRun(h.world);
    await fixtures.terminateRun(h.world, runId, status);
    await fixtures.assertNothingAppended(h.world, runId, () =>
      fixtures.expectReject(
        h.world.events.create(runId, {
          eventType: 'wait_created',
          correlationId: fixtures.newWaitCorrelationId(),
          eventData: { resumeAt: new Date() },
        }),
        'EntityConflictError',
        { message: `Cannot create new entities on run in terminal state "${status}"` },
      ),
    );
  }
});

test('§8.82 events.list returns wait_created.eventData.resumeAt as a Date with the exact ms', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const D = new Date(Math.floor(Date.now() / 1000) * 1000 + 86_400_000 + 987); // non-zero ms
  const { correlationId } = await fixtures.createWait(h.world, runId, { resumeAt: D });
  for (const resolveData of ['all', 'none']) {
    const ev = (await fixtures.listAllEvents(h.world, runId, { resolveData })).find(
      (e) => e.correlationId === correlationId,
    );
    assert.equal(ev.eventType, 'wait_created');
    fixtures.assertDate(ev.eventData.resumeAt, D, `resumeAt (${resolveData})`);
    const got = await h.world.events.get(runId, ev.eventId);
    fixtures.assertDate(got.eventData.resumeAt, D, 'events.get resumeAt');
  }
});

test('§8.83 wait_completed on a waiting wait succeeds even when resumeAt is in the future', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const D = new Date(Date.now() + 3_600_000);
  const { correlationId } = await fixtures.createWait(h.world, runId, { resumeAt: D });
  const res = await fixtures.completeWait(h.world, runId, correlationId, D);
  assert.equal(res.event.eventType, 'wait_completed');
  fixtures.assertDate(res.event.eventData.resumeAt, D, 'event resumeAt');
  assert.equal(res.wait.waitId, `${runId}-${correlationId}`);
  assert.equal(res.wait.status, 'completed');
  fixtures.assertDate(res.wait.completedAt, undefined, 'completedAt');
  fixtures.assertDate(res.wait.resumeAt, D, 'wait.resumeAt');
});

test('§8.84 wait_completed on a completed wait throws EntityConflictError and appends nothing', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { correlationId, resumeAt } = await fixtures.createWait(h.world, runId);
  await fixtures.completeWait(h.world, runId, correlationId, resumeAt);
  await fixtures.assertNothingAppended(h.world, runId, () =>
    fixtures.expectReject(fixtures.completeWait(h.world, runId, correlationId, resumeAt), 'EntityConflictError', {
      message: /^Wait ".+" already completed$/,
    }),
  );
  const evs = (await fixtures.listAllEvents(h.world, runId)).filter((e) => e.correlationId === correlationId);
  assert.deepEqual(fixtures.typesOf(evs), ['wait_created', 'wait_completed']);
});

test('§8.85 wait_completed for a missing wait throws WorkflowWorldError (not found)', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  await fixtures.assertNothingAppended(h.world, runId, () =>
    fixtures.expectReject(
      fixtures.completeWait(h.world, runId, fixtures.newWaitCorrelationId(), new Date()),
      'WorkflowWorldError',
      {
        message: /^Wait ".+" not found$/,
      },
    ),
  );
});

test("§8.86 after run_completed, wait_completed for the run's waiting wait throws WorkflowWorldError (not found)", async () => {
  for (const status of fixtures.TERMINAL_RUN_STATUSES) {
    const { runId } = await fixtures.createRunningRun(h.world);
    const { correlationId, resumeAt } = await fixtures.createWait(h.world, runId);
    await fixtures.terminateRun(h.world, runId, status);
    await fixtures.assertNothingAppended(h.world, runId, () =>
      fixtures.expectReject(fixtures.completeWait(h.world, runId, correlationId, resumeAt), 'WorkflowWorldError', {
        message: /^Wait ".+" not found$/,
      }),
    );
  }
});
