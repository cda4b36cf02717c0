// Conformance: run lifecycle (§3.4.1–3.4.3), version gate and legacy runs (§3.3, §3.1
// step 5), event shape and resolveData (§2.7, §2.10). Checklist items §8.1–30, §8.87–97.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useHarness } from '../support/harness.mjs';
import * as fixtures from '../support/storage.mjs';

const h = useHarness();

/** Asserts the run does not exist at all: no entity and no events (checked in raw D1 too). */
async function assertRunAbsent(runId, { viaApi = true } = {}) {
  const rows = await h.env.DB.prepare(
    'SELECT (SELECT count(*) FROM runs WHERE run_id = ?1) AS runs, (SELECT count(*) FROM events WHERE run_id = ?1) AS events',
  )
    .bind(runId)
    .first();
  assert.deepEqual({ runs: rows.runs, events: rows.events }, { runs: 0, events: 0 }, `rows were stored for ${runId}`);
  if (!viaApi) return;
  await fixtures.expectReject(h.world.runs.get(runId), 'WorkflowRunNotFoundError', { props: { runId } });
  const page = await h.world.events.list({ runId });
  assert.deepEqual(page.data, [], `events were stored for ${runId}`);
}

// ---------------------------------------------------------------------------
// §3.4.1 run_created

test('§8.1 run_created with a null (or empty) runId generates wrun_<ULID>, pending, specVersion 3, with a run_created event', async () => {
  for (const requested of [null, '']) {
    const input = fixtures.payload('gen');
    const res = await h.world.events.create(requested, fixtures.runCreatedEvent({ input }));
    assert.ok(res.run, 'result.run missing');
    assert.match(res.run.runId, fixtures.RUN_ID_RE);
    assert.equal(res.run.status, 'pending');
    assert.equal(res.run.specVersion, 3);
    assert.equal(res.run.deploymentId, fixtures.DEPLOYMENT_ID);
    assert.equal(res.run.workflowName, fixtures.WORKFLOW_NAME);
    fixtures.assertBytes(res.run.input, input, 'run.input');
    fixtures.assertDate(res.run.createdAt, undefined, 'run.createdAt');
    fixtures.assertDate(res.run.updatedAt, undefined, 'run.updatedAt');
    assert.equal(res.run.startedAt, undefined);
    assert.equal(res.run.completedAt, undefined);
    assert.equal(res.run.output, undefined);
    assert.equal(res.run.error, undefined);
    assert.ok(res.event, 'result.event missing');
    assert.equal(res.event.eventType, 'run_created');
    assert.equal(res.event.runId, res.run.runId);
    const stored = await h.world.runs.get(res.run.runId);
    assert.equal(stored.status, 'pending');
    assert.deepEqual(fixtures.typesOf(await fixtures.listAllEvents(h.world, res.run.runId)), ['run_created']);
  }
});

test('§8.2 run_created with a client runId returns a run with exactly that runId', async () => {
  const runId = fixtures.newRunId();
  const res = await h.world.events.create(runId, fixtures.runCreatedEvent());
  assert.equal(res.run.runId, runId);
  assert.equal(res.event.runId, runId);
  assert.equal((await h.world.runs.get(runId)).runId, runId);
});

test('§8.3 run_created with a runId whose ULID time is 25 h old throws WorkflowWorldError (timestamp in the past) and stores nothing', async () => {
  const runId = fixtures.newRunId(Date.now() - 25 * 3600_000);
  const err = await fixtures.expectReject(
    h.world.events.create(runId, fixtures.runCreatedEvent()),
    'WorkflowWorldError',
    {
      message: /^Invalid runId timestamp: embedded timestamp is (\d+)s in the past \(threshold: 86400s\)$/,
    },
  );
  const drift = Number(/is (\d+)s/.exec(err.message)[1]);
  assert.ok(drift >= 89_995 && drift <= 90_010, `drift ${drift}s is not ~90000s`);
  await assertRunAbsent(runId);
});

test('§8.4 run_created with a runId 6 min in the future throws WorkflowWorldError and stores nothing', async () => {
  const runId = fixtures.newRunId(Date.now() + 6 * 60_000);
  await fixtures.expectReject(h.world.events.create(runId, fixtures.runCreatedEvent()), 'WorkflowWorldError', {
    message: /^Invalid runId timestamp: embedded timestamp is \d+s in the future \(threshold: 300s\)$/,
  });
  await assertRunAbsent(runId);
});

test('§8.5 run_created with runId "wrun_notaulid" throws WorkflowWorldError (not a valid ULID)', async () => {
  const runId = 'wrun_notaulid';
  await fixtures.expectReject(h.world.events.create(runId, fixtures.runCreatedEvent()), 'WorkflowWorldError', {
    message: 'Invalid runId: "wrun_notaulid" is not a valid ULID',
  });
  await assertRunAbsent(runId, { viaApi: false }); // reads of a malformed id are not specified
});

test('§8.6 a second run_created for an existing run throws EntityConflictError and leaves exactly one run_created', async () => {
  const { runId } = await fixtures.createRun(h.world, { input: fixtures.payload('first') });
  const err = await fixtures.expectReject(
    h.world.events.create(
      runId,
      fixtures.runCreatedEvent({ input: fixtures.payload('second'), workflowName: 'other' }),
    ),
    'EntityConflictError',
    { message: `Workflow run "${runId}" already exists` },
  );
  assert.equal(err.status, undefined, 'EntityConflictError.status stays undefined (§1.5)');
  const events = await fixtures.listAllEvents(h.world, runId);
  assert.deepEqual(fixtures.typesOf(events), ['run_created']);
  const run = await h.world.runs.get(runId);
  fixtures.assertBytes(run.input, fixtures.payload('first'), 'the first run_created wins');
  assert.equal(run.workflowName, fixtures.WORKFLOW_NAME);
});

test('§8.7 run_created specVersion 2 is persisted; an omitted specVersion becomes 3 on both run and event', async () => {
  const v2 = await fixtures.createRun(h.world, { specVersion: 2 });
  assert.equal(v2.run.specVersion, 2);
  assert.equal(v2.res.event.specVersion, 2);
  assert.equal((await h.world.runs.get(v2.runId)).specVersion, 2);
  const v3 = await fixtures.createRun(h.world);
  assert.equal(v3.run.specVersion, 3);
  assert.equal(v3.res.event.specVersion, 3);
  assert.equal((await h.world.runs.get(v3.runId)).specVersion, 3);
  const [ev] = await fixtures.listAllEvents(h.world, v3.runId);
  assert.equal(ev.specVersion, 3);
});

test('§8.8 run_created input bytes containing 0x00 read back from runs.get as a byte-identical Uint8Array', async () => {
  const input = new Uint8Array(256);
  for (let i = 0; i < 256; i++) input[i] = i; // every byte value, starting with 0x00
  const { runId } = await fixtures.createRun(h.world, { input });
  fixtures.assertBytes((await h.world.runs.get(runId)).input, input, 'runs.get input');
  const [ev] = await fixtures.listAllEvents(h.world, runId);
  fixtures.assertBytes(ev.eventData.input, input, 'run_created.eventData.input');
});

test('§8.9 run_created executionContext {a:{b:[1,"x"]}} round-trips deep-equal through runs.get', async () => {
  const executionContext = { a: { b: [1, 'x'] } };
  const { runId } = await fixtures.createRun(h.world, { executionContext });
  assert.deepStrictEqual((await h.world.runs.get(runId)).executionContext, executionContext);
  const [ev] = await fixtures.listAllEvents(h.world, runId);
  assert.deepStrictEqual(ev.eventData.executionContext, executionContext);
});

// ---------------------------------------------------------------------------
// §3.4.2 run_started

test('§8.10 run_started on a pending run: running + startedAt, event without eventData, preloaded [run_created, run_started], hasMore !== true', async () => {
  const input = fixtures.payload('start-me');
  const { runId } = await fixtures.createRun(h.world, { input });
  const before = Date.now();
  const res = await h.world.events.create(runId, { eventType: 'run_started' });
  assert.equal(res.run.status, 'running');
  fixtures.assertDate(res.run.startedAt, undefined, 'run.startedAt');
  assert.ok(Math.abs(res.run.startedAt.getTime() - before) < 60_000, 'startedAt is "now"');
  assert.equal(res.event.eventType, 'run_started');
  assert.equal(res.event.runId, runId);
  assert.equal(res.event.eventData, undefined, 'run_started carries no eventData');
  assert.ok(Array.isArray(res.events), 'result.events must be the preloaded log');
  assert.deepEqual(fixtures.typesOf(res.events), ['run_created', 'run_started']);
  assert.equal(res.events[1].eventId, res.event.eventId);
  fixtures.assertBytes(res.events[0].eventData.input, input, 'preloaded run_created input (resolveData all)');
  assert.notEqual(res.hasMore, true);
  const stored = await h.world.runs.get(runId);
  assert.equal(stored.status, 'running');
  fixtures.assertDate(stored.startedAt, res.run.startedAt, 'runs.get startedAt');
});

test('§8.11 run_started on a running run returns the run with unchanged startedAt, no event, and appends nothing', async () => {
  const { runId, run } = await fixtures.createRunningRun(h.world);
  const count = (await fixtures.listAllEvents(h.world, runId)).length;
  await fixtures.sleep(5);
  const res = await h.world.events.create(runId, { eventType: 'run_started' });
  assert.ok(res.run, 'result.run is required');
  assert.equal(res.run.status, 'running');
  fixtures.assertDate(res.run.startedAt, run.startedAt, 'startedAt unchanged');
  assert.equal(res.event, undefined, 'no event on an idempotent run_started');
  assert.equal(res.events, undefined, 'no preloaded events on an idempotent run_started');
  assert.equal((await fixtures.listAllEvents(h.world, runId)).length, count);
  fixtures.assertDate((await h.world.runs.get(runId)).startedAt, run.startedAt, 'stored startedAt unchanged');
});

test('§8.12 run_started on a completed, failed or cancelled run throws RunExpiredError and stores no event', async () => {
  for (const status of fixtures.TERMINAL_RUN_STATUSES) {
    const { runId } = await fixtures.createRunningRun(h.world);
    await fixtures.terminateRun(h.world, runId, status);
    await fixtures.assertNothingAppended(h.world, runId, () =>
      fixtures.expectReject(h.world.events.create(runId, { eventType: 'run_started' }), 'RunExpiredError', {
        message: `Workflow run "${runId}" is already in terminal state "${status}"`,
      }),
    );
    assert.equal((await h.world.runs.get(runId)).status, status);
  }
});

test('§8.13 resilient run_started on a missing run creates it (running, specVersion 3) with log [run_created(eventData), run_started]', async () => {
  const runId = fixtures.newRunId();
  const input = fixtures.payload('resilient');
  const executionContext = { traceCarrier: { tp: '00-abc' }, workflowCoreVersion: '4.8.9' };
  const eventData = {
    deploymentId: fixtures.DEPLOYMENT_ID,
    workflowName: fixtures.WORKFLOW_NAME,
    input,
    executionContext,
  };
  const res = await h.world.events.create(runId, { eventType: 'run_started', specVersion: 3, eventData });
  assert.equal(res.run.runId, runId);
  assert.equal(res.run.status, 'running');
  assert.equal(res.run.specVersion, 3);
  fixtures.assertDate(res.run.startedAt, undefined, 'startedAt');
  fixtures.assertBytes(res.run.input, input, 'run.input');
  assert.deepStrictEqual(res.run.executionContext, executionContext);
  assert.equal(res.event.eventType, 'run_started');
  assert.equal(res.event.eventData, undefined);
  const run = await h.world.runs.get(runId);
  assert.equal(run.status, 'running');
  assert.equal(run.specVersion, 3);
  assert.equal(run.deploymentId, fixtures.DEPLOYMENT_ID);
  assert.equal(run.workflowName, fixtures.WORKFLOW_NAME);
  const log = await fixtures.listAllEvents(h.world, runId);
  assert.deepEqual(fixtures.typesOf(log), ['run_created', 'run_started']);
  fixtures.assertSameData(log[0].eventData, eventData, 'synthetic run_created eventData');
  assert.equal(log[0].specVersion, 3);
  assert.equal(log[1].eventData, undefined);
  assert.equal(log[1].eventId, res.event.eventId);
});

test('§8.14 a late run_created after a resilient start throws EntityConflictError and no second run_created exists', async () => {
  const runId = fixtures.newRunId();
  const input = fixtures.payload('resilient-2');
  await h.world.events.create(runId, {
    eventType: 'run_started',
    eventData: { deploymentId: fixtures.DEPLOYMENT_ID, workflowName: fixtures.WORKFLOW_NAME, input },
  });
  await fixtures.expectReject(
    h.world.events.create(runId, fixtures.runCreatedEvent({ input })),
    'EntityConflictError',
    {
      message: `Workflow run "${runId}" already exists`,
    },
  );
  assert.deepEqual(fixtures.typesOf(await fixtures.listAllEvents(h.world, runId)), ['run_created', 'run_started']);
  assert.equal((await h.world.runs.get(runId)).status, 'running');
});

test('§8.15 run_started with resilient eventData on an existing pending run ignores that eventData', async () => {
  const original = fixtures.payload('original');
  const { runId } = await fixtures.createRun(h.world, { input: original, executionContext: { k: 1 } });
  const res = await h.world.events.create(runId, {
    eventType: 'run_started',
    eventData: {
      deploymentId: 'dpl_other',
      workflowName: 'workflow//other//x',
      input: fixtures.payload('replacement'),
      executionContext: { k: 2 },
    },
  });
  assert.equal(res.event.eventData, undefined);
  const run = await h.world.runs.get(runId);
  assert.equal(run.status, 'running');
  fixtures.assertBytes(run.input, original, 'input unchanged');
  assert.equal(run.deploymentId, fixtures.DEPLOYMENT_ID);
  assert.equal(run.workflowName, fixtures.WORKFLOW_NAME);
  assert.deepStrictEqual(run.executionContext, { k: 1 });
  const log = await fixtures.listAllEvents(h.world, runId);
  assert.deepEqual(fixtures.typesOf(log), ['run_created', 'run_started']);
  assert.equal(log[1].eventData, undefined, 'stored run_started has no eventData');
});

test('§8.16 run_started on a missing run without resilient data throws WorkflowRunNotFoundError and stores nothing', async () => {
  const runId = fixtures.newRunId();
  await fixtures.expectReject(h.world.events.create(runId, { eventType: 'run_started' }), 'WorkflowRunNotFoundError', {
    props: { runId },
  });
  // Partial resilient data (input missing) is not resilient either.
  await fixtures.expectReject(
    h.world.events.create(runId, {
      eventType: 'run_started',
      eventData: { deploymentId: fixtures.DEPLOYMENT_ID, workflowName: fixtures.WORKFLOW_NAME },
    }),
    'WorkflowRunNotFoundError',
    { props: { runId } },
  );
  await assertRunAbsent(runId);
});

test('§8.17 listing from the cursor returned by run_started yields only the events appended after it', async () => {
  const { runId } = await fixtures.createRun(h.world);
  const res = await h.world.events.create(runId, { eventType: 'run_started' });
  assert.equal(typeof res.cursor, 'string', 'run_started must return a cursor');
  const empty = await h.world.events.list({ runId, pagination: { cursor: res.cursor } });
  assert.deepEqual(empty.data, [], 'nothing was appended after run_started yet');
  assert.equal(empty.hasMore, false);
  const a = await fixtures.createStep(h.world, runId);
  const b = await fixtures.createStep(h.world, runId);
  const started = await fixtures.startStep(h.world, runId, b.stepId);
  const expected = [a.res.event.eventId, b.res.event.eventId, started.res.event.eventId];
  const page = await h.world.events.list({ runId, pagination: { cursor: res.cursor } });
  assert.deepEqual(
    page.data.map((e) => e.eventId),
    expected,
  );
  assert.deepEqual(fixtures.typesOf(page.data), ['step_created', 'step_created', 'step_started']);
  assert.equal(page.hasMore, false);
});

test('§8.18 run_started with resolveData "none" strips ref fields from the preloaded events', async () => {
  const input = fixtures.payload('strip-me');
  const { runId } = await fixtures.createRun(h.world, { input, executionContext: { keep: true } });
  const res = await h.world.events.create(runId, { eventType: 'run_started' }, { resolveData: 'none' });
  assert.deepEqual(fixtures.typesOf(res.events), ['run_created', 'run_started']);
  const created = res.events[0];
  assert.ok(created.eventData, 'run_created keeps its non-ref eventData');
  assert.equal(created.eventData.input, undefined, 'run_created.eventData.input stripped');
  assert.equal(created.eventData.deploymentId, fixtures.DEPLOYMENT_ID);
  assert.equal(created.eventData.workflowName, fixtures.WORKFLOW_NAME);
  assert.deepStrictEqual(created.eventData.executionContext, { keep: true });
  // Entities in an EventResult are returned unfiltered (§2.8).
  fixtures.assertBytes(res.run.input, input, 'result.run.input');
});

// ---------------------------------------------------------------------------
// §3.4.3 run_completed / run_failed / run_cancelled

test('§8.19 run_completed on a running run: completed, output byte-equal, completedAt set, startedAt unchanged', async () => {
  const { runId, run: started } = await fixtures.createRunningRun(h.world);
  const output = fixtures.payload('the-output');
  const res = await h.world.events.create(runId, { eventType: 'run_completed', eventData: { output } });
  assert.equal(res.event.eventType, 'run_completed');
  for (const run of [res.run, await h.world.runs.get(runId)]) {
    assert.equal(run.status, 'completed');
    fixtures.assertBytes(run.output, output, 'run.output');
    fixtures.assertDate(run.completedAt, undefined, 'completedAt');
    fixtures.assertDate(run.startedAt, started.startedAt, 'startedAt unchanged');
    assert.equal(run.error, undefined);
    assert.equal(run.specVersion, 3);
    fixtures.assertBytes(run.input, fixtures.payload('run-input'), 'input kept');
  }
});

test('§8.20 run_completed on a pending (never started) run succeeds', async () => {
  const { runId } = await fixtures.createRun(h.world);
  const res = await h.world.events.create(runId, {
    eventType: 'run_completed',
    eventData: { output: fixtures.payload('o') },
  });
  assert.equal(res.run.status, 'completed');
  fixtures.assertDate(res.run.completedAt, undefined, 'completedAt');
  assert.equal(res.run.startedAt, undefined);
  assert.equal((await h.world.runs.get(runId)).status, 'completed');
  assert.deepEqual(fixtures.typesOf(await fixtures.listAllEvents(h.world, runId)), ['run_created', 'run_completed']);
});

test('§8.21 run_failed {error:{message,stack}, errorCode} yields run.error {message, stack, code}', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const res = await h.world.events.create(runId, {
    eventType: 'run_failed',
    eventData: { error: { message: 'm', stack: 's' }, errorCode: 'USER_ERROR' },
  });
  const expected = { message: 'm', stack: 's', code: 'USER_ERROR' };
  for (const run of [res.run, await h.world.runs.get(runId)]) {
    assert.equal(run.status, 'failed');
    assert.deepStrictEqual(run.error, expected);
    fixtures.assertDate(run.completedAt, undefined, 'completedAt');
    assert.equal(run.output, undefined);
  }
});

test('§8.22 run_failed with error "boom" gives message "boom"; with error {} gives "Unknown error"', async () => {
  const a = await fixtures.createRunningRun(h.world);
  const ra = await h.world.events.create(a.runId, { eventType: 'run_failed', eventData: { error: 'boom' } });
  assert.equal(ra.run.error.message, 'boom');
  assert.equal(ra.run.error.stack, undefined);
  assert.equal(ra.run.error.code, undefined);
  assert.equal((await h.world.runs.get(a.runId)).error.message, 'boom');
  const b = await fixtures.createRunningRun(h.world);
  const rb = await h.world.events.create(b.runId, { eventType: 'run_failed', eventData: { error: {} } });
  assert.equal(rb.run.error.message, 'Unknown error');
  assert.equal((await h.world.runs.get(b.runId)).error.message, 'Unknown error');
});

test('§8.23 run_cancelled on a running run: cancelled with completedAt set', async () => {
  const { runId, run: started } = await fixtures.createRunningRun(h.world);
  const res = await h.world.events.create(runId, { eventType: 'run_cancelled' });
  assert.equal(res.event.eventType, 'run_cancelled');
  for (const run of [res.run, await h.world.runs.get(runId)]) {
    assert.equal(run.status, 'cancelled');
    fixtures.assertDate(run.completedAt, undefined, 'completedAt');
    fixtures.assertDate(run.startedAt, started.startedAt, 'startedAt kept');
    assert.equal(run.output, undefined);
    assert.equal(run.error, undefined);
  }
});

test('§8.24 run_cancelled on a cancelled run succeeds, returns the cancelled run and appends a second run_cancelled', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const first = await h.world.events.create(runId, { eventType: 'run_cancelled' });
  const second = await h.world.events.create(runId, { eventType: 'run_cancelled' });
  assert.equal(second.run.status, 'cancelled');
  assert.equal(second.event.eventType, 'run_cancelled');
  assert.notEqual(second.event.eventId, first.event.eventId);
  fixtures.assertDate(second.run.completedAt, first.run.completedAt, 'completedAt of the current run');
  assert.deepEqual(fixtures.typesOf(await fixtures.listAllEvents(h.world, runId)), [
    'run_created',
    'run_started',
    'run_cancelled',
    'run_cancelled',
  ]);
});

test('§8.25 run_cancelled on a completed run throws EntityConflictError and appends nothing', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  await fixtures.terminateRun(h.world, runId, 'completed');
  await fixtures.assertNothingAppended(h.world, runId, () =>
    fixtures.expectReject(h.world.events.create(runId, { eventType: 'run_cancelled' }), 'EntityConflictError', {
      message: 'Cannot transition run from terminal state "completed"',
    }),
  );
  assert.equal((await h.world.runs.get(runId)).status, 'completed');
});

test('§8.26 run_completed or run_failed on a completed run throws EntityConflictError', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const output = fixtures.payload('kept');
  await h.world.events.create(runId, { eventType: 'run_completed', eventData: { output } });
  await fixtures.assertNothingAppended(h.world, runId, async () => {
    await fixtures.expectReject(
      h.world.events.create(runId, { eventType: 'run_completed', eventData: { output: fixtures.payload('new') } }),
      'EntityConflictError',
      { message: 'Cannot transition run from terminal state "completed"' },
    );
    await fixtures.expectReject(
      h.world.events.create(runId, { eventType: 'run_failed', eventData: { error: 'late' } }),
      'EntityConflictError',
      { message: 'Cannot transition run from terminal state "completed"' },
    );
  });
  const run = await h.world.runs.get(runId);
  assert.equal(run.status, 'completed');
  fixtures.assertBytes(run.output, output, 'output unchanged');
  assert.equal(run.error, undefined);
});

test('§8.27 run_completed on a failed run throws EntityConflictError', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  await fixtures.terminateRun(h.world, runId, 'failed');
  await fixtures.assertNothingAppended(h.world, runId, () =>
    fixtures.expectReject(
      h.world.events.create(runId, { eventType: 'run_completed', eventData: { output: fixtures.payload('x') } }),
      'EntityConflictError',
      { message: 'Cannot transition run from terminal state "failed"' },
    ),
  );
  const run = await h.world.runs.get(runId);
  assert.equal(run.status, 'failed');
  assert.equal(run.output, undefined);
});

test('§8.28 concurrent run_completed and run_failed: exactly one wins, the other gets EntityConflictError, one terminal event', async () => {
  for (let trial = 0; trial < 10; trial++) {
    const { runId } = await fixtures.createRunningRun(h.world);
    const [completed, failed] = await Promise.allSettled([
      h.world.events.create(runId, { eventType: 'run_completed', eventData: { output: fixtures.payload('c') } }),
      h.world.events.create(runId, { eventType: 'run_failed', eventData: { error: 'f' } }),
    ]);
    const winners = [completed, failed].filter((r) => r.status === 'fulfilled');
    assert.equal(winners.length, 1, `trial ${trial}: exactly one winner`);
    const loser = [completed, failed].find((r) => r.status === 'rejected');
    assert.equal(loser.reason?.name, 'EntityConflictError', `trial ${trial}: ${loser.reason?.message}`);
    const expectedStatus = completed.status === 'fulfilled' ? 'completed' : 'failed';
    assert.equal((await h.world.runs.get(runId)).status, expectedStatus);
    const terminal = (await fixtures.listAllEvents(h.world, runId)).filter((e) =>
      ['run_completed', 'run_failed', 'run_cancelled'].includes(e.eventType),
    );
    assert.equal(terminal.length, 1, `trial ${trial}: exactly one terminal event`);
    assert.equal(terminal[0].eventType, `run_${expectedStatus}`);
    assert.equal(terminal[0].eventId, winners[0].value.event.eventId);
  }
});

test('§8.29 run_completed, run_failed or run_cancelled on a missing run throws WorkflowRunNotFoundError and stores nothing', async () => {
  const runId = fixtures.newRunId();
  for (const data of [
    { eventType: 'run_completed', eventData: { output: fixtures.payload('o') } },
    { eventType: 'run_failed', eventData: { error: 'e' } },
    { eventType: 'run_cancelled' },
  ]) {
    await fixtures.expectReject(h.world.events.create(runId, data), 'WorkflowRunNotFoundError', { props: { runId } });
  }
  await assertRunAbsent(runId);
});

test('§8.30 run_completed leaves a running step of the run unchanged (not cancelled)', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId, step: before } = await fixtures.createRunningStep(h.world, runId);
  await fixtures.terminateRun(h.world, runId, 'completed');
  const step = await h.world.steps.get(runId, stepId);
  assert.equal(step.status, 'running');
  assert.equal(step.attempt, before.attempt);
  assert.equal(step.completedAt, undefined);
  fixtures.assertDate(step.updatedAt, before.updatedAt, 'step.updatedAt untouched');
});

// ---------------------------------------------------------------------------
// §3.3 legacy runs and §3.1 step 5 version gate

test('§8.87 run_cancelled on a legacy run (specVersion 1, or seeded with none) returns only the cancelled run, stores no event, deletes its hooks', async () => {
  const created = await fixtures.createRun(h.world, { specVersion: 1 });
  assert.equal(created.run.specVersion, 1);
  const seededId = await fixtures.seedRun(h.env.DB, { status: 'running', specVersion: null });
  for (const runId of [created.runId, seededId]) {
    const hookA = await fixtures.seedHook(h.env.DB, runId);
    const hookB = await fixtures.seedHook(h.env.DB, runId);
    assert.equal((await h.world.hooks.getByToken(hookA.token)).runId, runId, 'seeded hook is visible');
    const before = (await fixtures.listAllEvents(h.world, runId)).map((e) => e.eventId);
    const res = await h.world.events.create(runId, { eventType: 'run_cancelled' });
    assert.deepEqual(fixtures.definedKeys(res), ['run'], 'legacy run_cancelled returns {run} only');
    assert.equal(res.run.status, 'cancelled');
    fixtures.assertDate(res.run.completedAt, undefined, 'completedAt');
    const run = await h.world.runs.get(runId);
    assert.equal(run.status, 'cancelled');
    fixtures.assertDate(run.completedAt, undefined, 'stored completedAt');
    assert.deepEqual(
      (await fixtures.listAllEvents(h.world, runId)).map((e) => e.eventId),
      before,
      'no event stored',
    );
    for (const hook of [hookA, hookB]) {
      await fixtures.expectReject(h.world.hooks.getByToken(hook.token), 'HookNotFoundError');
      await fixtures.expectReject(h.world.hooks.get(hook.hookId), 'HookNotFoundError');
    }
    assert.deepEqual((await h.world.hooks.list({ runId })).data, []);
  }
});

test('§8.88 wait_completed and hook_received on a legacy run are stored with specVersion 3 and return {event} only', async () => {
  const { runId } = await fixtures.createRun(h.world, { specVersion: 1 });
  const waitCorrelation = fixtures.newWaitCorrelationId();
  const resumeAt = new Date(Date.now() + 1234);
  const waited = await h.world.events.create(runId, {
    eventType: 'wait_completed',
    correlationId: waitCorrelation,
    eventData: { resumeAt },
  });
  assert.deepEqual(fixtures.definedKeys(waited), ['event']);
  assert.equal(waited.event.eventType, 'wait_completed');
  assert.equal(waited.event.specVersion, 3);
  assert.equal(waited.event.correlationId, waitCorrelation);
  fixtures.assertDate(waited.event.eventData.resumeAt, resumeAt, 'resumeAt');

  const hookId = fixtures.newHookId(); // not in storage
  const body = fixtures.payload('legacy-payload');
  const received = await h.world.events.create(runId, {
    eventType: 'hook_received',
    correlationId: hookId,
    specVersion: 1,
    eventData: { token: 'legacy-token', payload: body },
  });
  assert.deepEqual(fixtures.definedKeys(received), ['event']);
  assert.equal(received.event.specVersion, 3, 'specVersion forced to 3');
  fixtures.assertBytes(received.event.eventData.payload, body, 'payload');

  const log = await fixtures.listAllEvents(h.world, runId);
  assert.deepEqual(fixtures.typesOf(log), ['run_created', 'wait_completed', 'hook_received']);
  assert.equal(log[1].specVersion, 3);
  assert.equal(log[2].specVersion, 3);
  assert.equal(log[2].correlationId, hookId);
  assert.equal((await h.world.runs.get(runId)).status, 'pending', 'no entity mutated');
});

test('§8.89 run_started or step_created on a legacy run throws a plain Error "not supported for legacy runs"', async () => {
  const { runId } = await fixtures.createRun(h.world, { specVersion: 1 });
  const seeded = await fixtures.seedRun(h.env.DB, { specVersion: null });
  for (const id of [runId, seeded]) {
    await fixtures.assertNothingAppended(h.world, id, async () => {
      const e1 = await fixtures.expectReject(h.world.events.create(id, { eventType: 'run_started' }), 'Error', {
        message: /^Event type 'run_started' not supported for legacy runs \(specVersion: (1|undefined)\)/,
      });
      assert.equal(e1.constructor, Error, 'a plain Error');
      await fixtures.expectReject(h.world.events.create(id, fixtures.stepCreatedEvent()), 'Error', {
        message: /^Event type 'step_created' not supported for legacy runs \(specVersion: (1|undefined)\)/,
      });
    });
    assert.equal((await h.world.runs.get(id)).status, 'pending');
  }
});

test('§8.90 run_started or step_created on a run with specVersion 4 throws RunNotSupportedError(4, 3)', async () => {
  const runId = await fixtures.seedRun(h.env.DB, { specVersion: 4 });
  await fixtures.assertNothingAppended(h.world, runId, async () => {
    await fixtures.expectReject(h.world.events.create(runId, { eventType: 'run_started' }), 'RunNotSupportedError', {
      props: { runSpecVersion: 4, worldSpecVersion: 3 },
    });
    await fixtures.expectReject(h.world.events.create(runId, fixtures.stepCreatedEvent()), 'RunNotSupportedError', {
      props: { runSpecVersion: 4, worldSpecVersion: 3 },
    });
  });
  assert.equal((await h.world.runs.get(runId)).status, 'pending');
});

test('§8.91 step_retrying and step_completed on a step of a specVersion-4 run raise no version error (run not loaded)', async () => {
  const runId = await fixtures.seedRun(h.env.DB, { status: 'running', specVersion: 4 });
  const stepId = await fixtures.seedStep(h.env.DB, runId, { status: 'running', attempt: 1 });
  const retried = await fixtures.retryStep(h.world, runId, stepId, { error: 'transient' });
  assert.equal(retried.step.status, 'pending');
  assert.equal(retried.event.eventType, 'step_retrying');
  const result = fixtures.payload('v4-result');
  const completed = await fixtures.completeStep(h.world, runId, stepId, result);
  assert.equal(completed.step.status, 'completed');
  fixtures.assertBytes(completed.step.output, result, 'output');
  assert.deepEqual(fixtures.typesOf(await fixtures.listAllEvents(h.world, runId)), ['step_retrying', 'step_completed']);
});

// ---------------------------------------------------------------------------
// §2.7 event shape, §2.10 resolveData

test('§8.92 every created event has runId, a unique wevt_<ULID> eventId, createdAt Date, specVersion, and correlationId/eventData verbatim', async () => {
  const { runId, res: created } = await fixtures.createRun(h.world, { executionContext: { ctx: ['a', 1] } });
  const requests = [];
  const results = [created];
  const push = async (data) => {
    requests.push(data);
    results.push(await h.world.events.create(runId, data));
  };
  await fixtures.startRun(h.world, runId).then((r) => results.push(r.res));
  const stepId = fixtures.newStepId();
  const hookId = fixtures.newHookId();
  const waitId = fixtures.newWaitCorrelationId();
  const token = fixtures.newToken();
  const resumeAt = new Date(Date.now() + 3_600_123);
  await push({
    eventType: 'step_created',
    correlationId: stepId,
    eventData: { stepName: fixtures.STEP_NAME, workflowName: fixtures.WORKFLOW_NAME, input: fixtures.payload('si') },
  });
  await push({ eventType: 'step_started', correlationId: stepId, eventData: { stepName: fixtures.STEP_NAME } });
  await push({
    eventType: 'step_retrying',
    correlationId: stepId,
    eventData: {
      stepName: fixtures.STEP_NAME,
      error: { message: 'e', stack: 'x' },
      stack: 'S',
      retryAfter: new Date(Date.now() - 1000),
    },
  });
  await push({
    eventType: 'step_started',
    correlationId: stepId,
    eventData: { stepName: fixtures.STEP_NAME, attempt: 2 },
  });
  await push({
    eventType: 'step_completed',
    correlationId: stepId,
    eventData: { stepName: fixtures.STEP_NAME, workflowName: fixtures.WORKFLOW_NAME, result: fixtures.payload('sr') },
  });
  await push({
    eventType: 'hook_created',
    correlationId: hookId,
    eventData: { token, metadata: fixtures.payload('m'), isWebhook: true },
  });
  await push({
    eventType: 'hook_received',
    correlationId: hookId,
    eventData: { token, payload: fixtures.payload('p') },
  });
  await push({ eventType: 'hook_disposed', correlationId: hookId, eventData: { token } });
  await push({ eventType: 'wait_created', correlationId: waitId, eventData: { resumeAt } });
  await push({ eventType: 'wait_completed', correlationId: waitId, eventData: { resumeAt } });
  await push({
    eventType: 'run_failed',
    eventData: { error: { message: 'bye', stack: 'st' }, errorCode: 'USER_ERROR' },
  });

  const log = await fixtures.listAllEvents(h.world, runId);
  assert.equal(log.length, results.length);
  const ids = new Set();
  for (const [i, ev] of log.entries()) {
    assert.equal(ev.runId, runId);
    assert.match(ev.eventId, fixtures.EVENT_ID_RE);
    assert.ok(!ids.has(ev.eventId), 'eventIds are unique');
    ids.add(ev.eventId);
    fixtures.assertDate(ev.createdAt, undefined, `${ev.eventType}.createdAt`);
    assert.ok(
      Math.abs(fixtures.decodeTime(ev.eventId.slice(ev.eventId.lastIndexOf('_') + 1)) - ev.createdAt.getTime()) < 5_000,
      'eventId ULID time ≈ createdAt',
    );
    assert.equal(ev.specVersion, 3);
    assert.equal(ev.eventId, results[i].event.eventId, 'log order is append order');
    fixtures.assertSameData(ev, results[i].event, `list and create agree on ${ev.eventType}`);
  }
  // Requests (offset by run_created, run_started) are stored verbatim.
  for (const [i, req] of requests.entries()) {
    const ev = log[i + 2];
    assert.equal(ev.eventType, req.eventType);
    assert.equal(ev.correlationId, req.correlationId);
    fixtures.assertSameData(ev.eventData, req.eventData, `${req.eventType} eventData verbatim`);
  }
  fixtures.assertSameData(log[3].eventData, { stepName: fixtures.STEP_NAME }, 'step_started {stepName} is kept');
  fixtures.assertSameData(
    log[0].eventData,
    fixtures.runCreatedEvent({ executionContext: { ctx: ['a', 1] } }).eventData,
    'run_created eventData',
  );
});

test('§8.93 a stored run_started never has eventData: in create, list or get', async () => {
  const { runId } = await fixtures.createRun(h.world);
  const res = await h.world.events.create(runId, {
    eventType: 'run_started',
    eventData: {
      deploymentId: fixtures.DEPLOYMENT_ID,
      workflowName: fixtures.WORKFLOW_NAME,
      input: fixtures.payload('x'),
    },
  });
  assert.equal(res.event.eventData, undefined);
  assert.equal(res.events.at(-1).eventData, undefined);
  const resilientId = fixtures.newRunId();
  const r2 = await h.world.events.create(resilientId, {
    eventType: 'run_started',
    eventData: {
      deploymentId: fixtures.DEPLOYMENT_ID,
      workflowName: fixtures.WORKFLOW_NAME,
      input: fixtures.payload('y'),
    },
  });
  assert.equal(r2.event.eventData, undefined);
  for (const id of [runId, resilientId]) {
    for (const resolveData of ['all', 'none']) {
      const started = (await fixtures.listAllEvents(h.world, id, { resolveData })).filter(
        (e) => e.eventType === 'run_started',
      );
      assert.equal(started.length, 1);
      assert.ok(!('eventData' in started[0]) || started[0].eventData === undefined, 'list: no eventData');
      const got = await h.world.events.get(id, started[0].eventId);
      assert.equal(got.eventType, 'run_started');
      assert.equal(got.eventData, undefined, 'get: no eventData');
    }
  }
});

test('§8.94 events.list resolveData "none" strips exactly the ref fields', async () => {
  const { runId } = await fixtures.createRunningRun(h.world, { executionContext: { e: 1 } });
  const stepId = fixtures.newStepId();
  await h.world.events.create(runId, fixtures.stepCreatedEvent(stepId));
  await h.world.events.create(runId, {
    eventType: 'step_completed',
    correlationId: stepId,
    eventData: { stepName: fixtures.STEP_NAME, workflowName: fixtures.WORKFLOW_NAME, result: fixtures.payload('r') },
  });
  const stepId2 = fixtures.newStepId();
  await h.world.events.create(runId, {
    eventType: 'step_created',
    correlationId: stepId2,
    eventData: { stepName: fixtures.STEP_NAME, input: fixtures.payload('i2') },
  });
  // The create result's event is stripped too (§3.1 step 11); its entity is not (§2.8).
  const created2 = await h.world.events.create(
    runId,
    {
      eventType: 'step_completed',
      correlationId: stepId2,
      eventData: { stepName: fixtures.STEP_NAME, result: fixtures.payload('r2') },
    },
    { resolveData: 'none' },
  );
  fixtures.assertSameData(created2.event.eventData, { stepName: fixtures.STEP_NAME }, 'create result event stripped');
  fixtures.assertBytes(created2.step.output, fixtures.payload('r2'), 'create result entity unfiltered');
  const token = fixtures.newToken();
  const hookId = fixtures.newHookId();
  await h.world.events.create(runId, {
    eventType: 'hook_created',
    correlationId: hookId,
    eventData: { token, metadata: fixtures.payload('m'), isWebhook: true },
  });
  await fixtures.receiveHook(h.world, runId, hookId, token, fixtures.payload('p'));
  const resumeAt = new Date(Date.now() + 99_999);
  const waitId = fixtures.newWaitCorrelationId();
  await h.world.events.create(runId, { eventType: 'wait_created', correlationId: waitId, eventData: { resumeAt } });
  await h.world.events.create(runId, { eventType: 'run_completed', eventData: { output: fixtures.payload('o') } });

  const log = await fixtures.listAllEvents(h.world, runId, { resolveData: 'none' });
  const byType = (t) => log.filter((e) => e.eventType === t);
  fixtures.assertSameData(byType('run_created')[0].eventData, {
    deploymentId: fixtures.DEPLOYMENT_ID,
    workflowName: fixtures.WORKFLOW_NAME,
    executionContext: { e: 1 },
  });
  fixtures.assertSameData(byType('step_created')[0].eventData, { stepName: fixtures.STEP_NAME });
  fixtures.assertSameData(byType('step_completed')[0].eventData, {
    stepName: fixtures.STEP_NAME,
    workflowName: fixtures.WORKFLOW_NAME,
  });
  fixtures.assertSameData(byType('step_completed')[1].eventData, { stepName: fixtures.STEP_NAME });
  fixtures.assertSameData(byType('hook_created')[0].eventData, { token, isWebhook: true });
  fixtures.assertSameData(byType('hook_received')[0].eventData, { token });
  assert.equal(byType('wait_created')[0].eventData.resumeAt.getTime(), resumeAt.getTime());
  assert.deepEqual(fixtures.definedKeys(byType('wait_created')[0].eventData), ['resumeAt'], 'wait_created unchanged');
  assert.ok(byType('wait_created')[0].eventData.resumeAt instanceof Date);
  const completed = byType('run_completed')[0];
  assert.ok(!('eventData' in completed) || completed.eventData === undefined, 'run_completed has no eventData');
  assert.equal(completed.eventType, 'run_completed');

  const { runId: failedRun } = await fixtures.createRunningRun(h.world);
  await h.world.events.create(failedRun, {
    eventType: 'run_failed',
    eventData: { error: { message: 'x', stack: 'y' }, errorCode: 'USER_ERROR' },
  });
  const failed = (await fixtures.listAllEvents(h.world, failedRun, { resolveData: 'none' })).find(
    (e) => e.eventType === 'run_failed',
  );
  fixtures.assertSameData(failed.eventData, { errorCode: 'USER_ERROR' }, 'run_failed keeps errorCode only');
  // And with 'all' nothing is stripped.
  const full = (await fixtures.listAllEvents(h.world, runId)).find((e) => e.eventType === 'run_completed');
  fixtures.assertBytes(full.eventData.output, fixtures.payload('o'), 'resolveData all keeps output');
});

test('§8.95 runs.get resolveData "none": input and output undefined, error and executionContext preserved', async () => {
  const executionContext = { traceCarrier: { a: 'b' }, n: [1, 2] };
  const completed = await fixtures.createRunningRun(h.world, { executionContext });
  await fixtures.terminateRun(h.world, completed.runId, 'completed');
  const c = await h.world.runs.get(completed.runId, { resolveData: 'none' });
  assert.equal(c.status, 'completed');
  assert.equal(c.input, undefined);
  assert.equal(c.output, undefined);
  assert.deepStrictEqual(c.executionContext, executionContext);
  fixtures.assertDate(c.completedAt, undefined, 'completedAt kept');
  assert.equal(c.workflowName, fixtures.WORKFLOW_NAME);
  assert.equal(c.specVersion, 3);

  const failed = await fixtures.createRunningRun(h.world, { executionContext });
  await h.world.events.create(failed.runId, {
    eventType: 'run_failed',
    eventData: { error: { message: 'kept', stack: 'stk' }, errorCode: 'RUNTIME_ERROR' },
  });
  const f = await h.world.runs.get(failed.runId, { resolveData: 'none' });
  assert.equal(f.input, undefined);
  assert.equal(f.output, undefined);
  assert.deepStrictEqual(f.error, { message: 'kept', stack: 'stk', code: 'RUNTIME_ERROR' });
  assert.deepStrictEqual(f.executionContext, executionContext);
  // The default is 'all'.
  fixtures.assertBytes(
    (await h.world.runs.get(failed.runId)).input,
    fixtures.payload('run-input'),
    'default resolveData all',
  );
  fixtures.assertBytes(
    (await h.world.runs.get(failed.runId, { resolveData: 'all' })).input,
    fixtures.payload('run-input'),
    'resolveData all',
  );
});

test('§8.96 steps.list resolveData "none": input/output undefined, error kept', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createRunningStep(h.world, runId);
  await fixtures.retryStep(h.world, runId, stepId, { error: 'first try', stack: 'S1' });
  await h.world.events.create(runId, {
    eventType: 'step_started',
    correlationId: stepId,
    eventData: { stepName: fixtures.STEP_NAME },
  });
  await fixtures.completeStep(h.world, runId, stepId, fixtures.payload('out'));
  const page = await h.world.steps.list({ runId, resolveData: 'none' });
  assert.equal(page.data.length, 1);
  const [step] = page.data;
  assert.equal(step.stepId, stepId);
  assert.equal(step.status, 'completed');
  assert.equal(step.input, undefined);
  assert.equal(step.output, undefined);
  fixtures.assertSameData(step.error, { message: 'first try', stack: 'S1' });
  assert.equal(step.attempt, 2);
  const fullPage = await h.world.steps.list({ runId });
  fixtures.assertBytes(fullPage.data[0].output, fixtures.payload('out'), 'default resolveData all');
  fixtures.assertBytes(fullPage.data[0].input, fixtures.payload('step-input'), 'default resolveData all');
});

test('§8.97 reading the same event twice yields the same createdAt (ms)', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  await fixtures.createStep(h.world, runId);
  const first = await fixtures.listAllEvents(h.world, runId);
  await fixtures.sleep(20);
  const second = await fixtures.listAllEvents(h.world, runId);
  assert.deepEqual(
    second.map((e) => [e.eventId, e.createdAt.getTime()]),
    first.map((e) => [e.eventId, e.createdAt.getTime()]),
  );
  for (const ev of first) {
    const a = await h.world.events.get(runId, ev.eventId);
    const b = await h.world.events.get(runId, ev.eventId);
    fixtures.assertDate(a.createdAt, ev.createdAt, 'events.get createdAt = list createdAt');
    fixtures.assertDate(b.createdAt, ev.createdAt, 'events.get createdAt is stable');
  }
  const [createdEv] = first;
  const run = await h.world.runs.get(runId);
  assert.ok(createdEv.createdAt.getTime() <= run.updatedAt.getTime());
});
