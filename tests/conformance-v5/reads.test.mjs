// Conformance (spec 7): listing and cursors on long logs (§3.8), run-scoped correlation reads
// (§5), status arrays on runs.list (§2.2) and resolveData 'none' ref fields (§2.5). Checklist
// items V75–V81 of the 5.x checklist (docs/conformance-v5.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fixtures from '../support/world-v5.mjs';

const v = fixtures.useWorldV5();

/** A running run with exactly `n` events: run_created, run_started, hook_created, then hook_received × (n − 3). */
async function runWithEvents(n) {
  const { runId } = await fixtures.createRunningRun(v.world);
  const { hookId, token } = await fixtures.createHook(v.world, runId);
  if (v.kind === 'cloudflare') {
    // The same events.create calls, made by this World inside workerd (the fixture Worker's
    // /bulk-hook-received): through the harness proxy each would take ~100 ms.
    const res = await v.h.server.fetch('/bulk-hook-received', {
      method: 'POST',
      body: JSON.stringify({ runId, hookId, count: n - 3 }),
    });
    assert.equal(res.status, 200, await res.text());
  } else {
    const body = fixtures.payload('bulk');
    for (let i = 3; i < n; i++) await fixtures.receiveHook(v.world, runId, hookId, token, { body });
  }
  return { runId, hookId, token };
}

test('V75 events.list without limit on a 1,500-event run returns all 1,500 with hasMore false', async () => {
  const { runId } = await runWithEvents(1500);
  const page = await v.world.events.list({ runId });
  assert.equal(page.data.length, 1500);
  assert.equal(page.hasMore, false);
  fixtures.assertDense(page.data);
  assert.equal(typeof page.cursor, 'string', 'a non-empty page carries a cursor');
});

test('V76 events.list with limit 1000 pages a 2,500-event run as 1000/1000/500 with distinct cursors; the last cursor lists []', async () => {
  const { runId } = await runWithEvents(2500);
  const pages = [];
  let cursor;
  // Read as the QuickJS engine does: while a page is non-empty and its cursor non-null.
  for (let i = 0; i < 10; i++) {
    const pagination = { limit: 1000 };
    if (cursor) pagination.cursor = cursor;
    const page = await v.world.events.list({ runId, pagination });
    pages.push(page);
    if (page.data.length === 0 || page.cursor === null) break;
    cursor = page.cursor;
  }
  const nonEmpty = pages.filter((p) => p.data.length > 0);
  assert.deepEqual(
    nonEmpty.map((p) => p.data.length),
    [1000, 1000, 500],
  );
  assert.deepEqual(
    nonEmpty.map((p) => p.hasMore),
    [true, true, false],
  );
  const cursors = nonEmpty.map((p) => p.cursor);
  for (const c of cursors) assert.ok(typeof c === 'string' && c.length > 0, 'a non-empty page has a non-null cursor');
  assert.equal(new Set(cursors).size, 3, 'cursors advance');
  fixtures.assertDense(nonEmpty.flatMap((p) => p.data));
  const after = await v.world.events.list({ runId, pagination: { limit: 1000, cursor: cursors[2] } });
  assert.deepEqual(after.data, []);
  assert.equal(after.hasMore, false);
});

test('V77 listing from the last cursor after K new events returns exactly those K', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  await fixtures.createWait(v.world, runId);
  const first = await v.world.events.list({ runId });
  assert.equal(first.data.length, 3);
  const cursor = first.cursor;
  assert.equal(typeof cursor, 'string');
  const added = [];
  added.push((await fixtures.createWait(v.world, runId)).res.event.eventId);
  const lazy = await fixtures.lazyStartStep(v.world, runId);
  added.push(fixtures.slotId(5), lazy.res.event.eventId);
  const next = await v.world.events.list({ runId, pagination: { cursor } });
  assert.deepEqual(fixtures.idsOf(next.data), added);
  assert.deepEqual(added, [fixtures.slotId(4), fixtures.slotId(5), fixtures.slotId(6)]);
  assert.equal(next.hasMore, false);
  const none = await v.world.events.list({ runId, pagination: { cursor: next.cursor } });
  assert.deepEqual(none.data, []);
});

test('V78 a garbage cursor never returns another run’s events', async () => {
  const mine = await fixtures.createRunningRun(v.world);
  const other = await fixtures.createRunningRun(v.world);
  await fixtures.createWait(v.world, other.runId);
  const otherCursor = (await v.world.events.list({ runId: other.runId })).cursor;
  for (const cursor of ['garbage', '!!!', otherCursor, 's:-1', `${otherCursor}x`]) {
    let page;
    try {
      page = await v.world.events.list({ runId: mine.runId, pagination: { cursor } });
    } catch (err) {
      assert.equal(err.name, 'WorkflowWorldError', `cursor ${cursor}: ${err.name} ${err.message}`);
      continue;
    }
    for (const e of page.data) assert.equal(e.runId, mine.runId, `cursor ${cursor} returned ${e.runId}'s events`);
  }
});

test(
  'V78 a garbage cursor throws WorkflowWorldError with status 400',
  fixtures.localDivergence(
    'V78 (§3.8 SHOULD): world-local 5.0.0-beta.46 ignores an unparseable cursor and lists from the start (not in §11.1)',
  ),
  async () => {
    const { runId } = await fixtures.createRunningRun(v.world);
    for (const cursor of ['garbage', '!!!']) {
      await fixtures.expectReject(v.world.events.list({ runId, pagination: { cursor } }), 'WorkflowWorldError', {
        props: { status: 400 },
      });
    }
  },
);

test('V79 listByCorrelationId({runId: A, correlationId}) returns only run A’s events when run B has the same correlation id', async () => {
  const stepId = fixtures.newStepId();
  const a = await fixtures.createRunningRun(v.world);
  const b = await fixtures.createRunningRun(v.world);
  await fixtures.createStep(v.world, a.runId, { stepId });
  await fixtures.createStep(v.world, b.runId, { stepId });
  await fixtures.startStep(v.world, b.runId, stepId);
  await fixtures.startStep(v.world, a.runId, stepId);
  await fixtures.retryStep(v.world, b.runId, stepId);
  const page = await v.world.events.listByCorrelationId({ runId: a.runId, correlationId: stepId });
  assert.deepEqual(
    page.data.map((e) => [e.runId, e.eventType]),
    [
      [a.runId, 'step_created'],
      [a.runId, 'step_started'],
    ],
  );
  const pageB = await v.world.events.listByCorrelationId({ runId: b.runId, correlationId: stepId });
  assert.deepEqual(
    pageB.data.map((e) => [e.runId, e.eventType]),
    [
      [b.runId, 'step_created'],
      [b.runId, 'step_started'],
      [b.runId, 'step_retrying'],
    ],
  );
  const none = await v.world.events.listByCorrelationId({ runId: fixtures.newRunId(), correlationId: stepId });
  assert.deepEqual(none.data, []);
});

test(
  'V79 (§11.1) listByCorrelationId without a limit returns every event of the correlation id',
  fixtures.localDivergence('V79/§11.1 (§3.8): world-local listByCorrelationId without a limit returns only 20 events'),
  async () => {
    const { runId, hookId } = await runWithEvents(28); // hook_created + 25 hook_received
    const page = await v.world.events.listByCorrelationId({ runId, correlationId: hookId });
    assert.equal(page.data.length, 26);
    assert.equal(page.hasMore, false);
  },
);

test('V80 runs.list({status: [pending, running]}) returns both statuses; status [] returns no runs', async () => {
  const workflowName = fixtures.uniqueName();
  const pending = await fixtures.createRun(v.world, { workflowName });
  const running = await fixtures.createRunningRun(v.world, { workflowName });
  const completed = await fixtures.createRunningRun(v.world, { workflowName });
  await fixtures.terminateRun(v.world, completed.runId, 'completed');
  const cancelled = await fixtures.createRunningRun(v.world, { workflowName });
  await fixtures.terminateRun(v.world, cancelled.runId, 'cancelled');
  const active = await v.world.runs.list({ workflowName, status: ['pending', 'running'] });
  assert.deepEqual(active.data.map((r) => r.runId).sort(), [pending.runId, running.runId].sort());
  assert.deepEqual(active.data.map((r) => r.status).sort(), ['pending', 'running']);
  const terminal = await v.world.runs.list({ workflowName, status: ['completed', 'cancelled', 'failed'] });
  assert.deepEqual(terminal.data.map((r) => r.runId).sort(), [completed.runId, cancelled.runId].sort());
  const single = await v.world.runs.list({ workflowName, status: 'running' });
  assert.deepEqual(
    single.data.map((r) => r.runId),
    [running.runId],
  );
  const empty = await v.world.runs.list({ workflowName, status: [] });
  assert.deepEqual(empty.data, []);
  assert.equal(empty.hasMore, false);
  assert.deepEqual((await v.world.runs.list({ status: [] })).data, [], 'status [] matches nothing, unfiltered too');
});

test('V81 resolveData none strips run_failed/step_failed error and step_started/run_started input, keeping errorCode, cancelReason, stepName, ownerMessageId', async () => {
  const w = v.world;
  const failedRun = await fixtures.createRunningRun(w);
  const step = await fixtures.createRunningStep(w, failedRun.runId);
  await fixtures.failStep(w, failedRun.runId, step.stepId, { error: fixtures.errorBytes('step') });
  const lazy = await fixtures.lazyStartStep(w, failedRun.runId, { ownerMessageId: 'msg_owner_81' });
  await w.events.create(failedRun.runId, {
    eventType: 'run_failed',
    eventData: { error: fixtures.errorBytes('run'), errorCode: 'RUNTIME_ERROR' },
  });
  const resilient = fixtures.newRunId();
  await w.events.create(resilient, {
    eventType: 'run_started',
    eventData: { deploymentId: 'dpl_r', workflowName: fixtures.WORKFLOW_NAME, input: fixtures.payload('resilient') },
  });
  await w.events.create(resilient, { eventType: 'run_cancelled', eventData: { cancelReason: 'no longer needed' } });

  const events = await fixtures.listAllEvents(w, failedRun.runId, { resolveData: 'none' });
  const find = (type, pred = () => true) => events.find((e) => e.eventType === type && pred(e));
  const runFailed = find('run_failed');
  assert.equal(runFailed.eventData.error, undefined, 'run_failed.error stripped');
  assert.equal(runFailed.eventData.errorCode, 'RUNTIME_ERROR');
  const stepFailed = find('step_failed');
  assert.equal(stepFailed.eventData.error, undefined, 'step_failed.error stripped');
  assert.equal(stepFailed.eventData.stepName, fixtures.STEP_NAME);
  const lazyStarted = find('step_started', (e) => e.correlationId === lazy.stepId);
  assert.equal(lazyStarted.eventData.input, undefined, 'step_started input stripped');
  assert.equal(lazyStarted.eventData.stepName, fixtures.STEP_NAME);
  assert.equal(lazyStarted.eventData.ownerMessageId, 'msg_owner_81');
  const lazyCreated = find('step_created', (e) => e.correlationId === lazy.stepId);
  assert.equal(lazyCreated.eventData.input, undefined, 'step_created input stripped');
  assert.equal(lazyCreated.eventData.stepName, fixtures.STEP_NAME);
  const all = await fixtures.listAllEvents(w, failedRun.runId);
  assert.ok(all.find((e) => e.eventType === 'run_failed').eventData.error instanceof Uint8Array, 'kept under all');

  const resilientEvents = await fixtures.listAllEvents(w, resilient, { resolveData: 'none' });
  assert.equal(resilientEvents[0].eventData.input, undefined, 'run_created input stripped');
  assert.equal(resilientEvents[1].eventType, 'run_started');
  assert.equal(resilientEvents[1].eventData?.input, undefined, 'run_started carries no input');
  assert.equal(resilientEvents[2].eventData.cancelReason, 'no longer needed');
});
