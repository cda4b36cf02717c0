// Conformance (spec 7): slot ids and density (§3.1–3.3), bump and report (§3.4) and the inline
// delta (§3.5). Checklist items V6–V23 of the 5.x checklist (docs/conformance-v5.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventIdToSlot } from '@workflow/world-v5';
import {
  assertDense,
  assertNoReport,
  assertNothingAppended,
  assertReportTriple,
  assertSameData,
  completeStep,
  completeWait,
  createHook,
  createRun,
  createRunningRun,
  createStep,
  createWait,
  disposeHook,
  expectReject,
  idsOf,
  lazyStartStep,
  listAllEvents,
  localDivergence,
  newRunId,
  newWaitId,
  payload,
  RUN_ID_RE,
  receiveHook,
  runCreatedEvent,
  SLOT_ID_RE,
  STEP_NAME,
  setAttributes,
  sleep,
  slotId,
  slotOf,
  startStep,
  terminateRun,
  typesOf,
  useWorldV5,
  WHITE_BOX,
  WORKFLOW_NAME,
} from '../support/world-v5.mjs';

const v = useWorldV5();

// ADAPT: table and column names of the slot log. V10 is a schema test against the D1 table in
// which the implementation stores one row per (run, slot). Written against a guess,
// `slots(run_id, slot)` (which migrations/0005_slots.sql, in progress, also uses); change these
// three names if the landed schema differs.
const SLOT_LOG = { table: 'slots', runId: 'run_id', slot: 'slot' };

/**
 * V10 white-box check: the store itself (not the JS layer) refuses a second row with the same
 * (runId, slot). Proves (1) a non-partial UNIQUE index or PRIMARY KEY on exactly (run_id, slot)
 * exists, and (2) copying an existing row back in fails with a constraint error and leaves one row.
 */
async function assertSlotLogRejectsDuplicateSlot(DB, runId, slot) {
  const { table, runId: runCol, slot: slotCol } = SLOT_LOG;
  const wanted = [runCol, slotCol].sort().join(',');
  const { results: indexes } = await DB.prepare(`PRAGMA index_list("${table}")`).all();
  let found = false;
  for (const ix of indexes) {
    if (!ix.unique || ix.partial) continue;
    const { results: cols } = await DB.prepare(`PRAGMA index_info("${ix.name}")`).all();
    const names = cols.map((c) => c.name);
    found ||= names.sort().join(',') === wanted;
  }
  assert.ok(found, `${table} has no UNIQUE index / PRIMARY KEY on exactly (${runCol}, ${slotCol})`);
  const count = () =>
    DB.prepare(`SELECT count(*) AS n FROM "${table}" WHERE "${runCol}" = ?1 AND "${slotCol}" = ?2`)
      .bind(runId, slot)
      .first('n');
  assert.equal(await count(), 1, `expected one ${table} row for (${runId}, ${slot})`);
  await assert.rejects(
    DB.prepare(`INSERT INTO "${table}" SELECT * FROM "${table}" WHERE "${runCol}" = ?1 AND "${slotCol}" = ?2`)
      .bind(runId, slot)
      .run(),
    /UNIQUE constraint failed|PRIMARY KEY/i,
  );
  assert.equal(await count(), 1, `a second ${table} row for (${runId}, ${slot}) was stored`);
}

/** Builds a running run whose log is exactly slots 1..n (run_created, run_started, then waits). */
async function runWithSlots(n) {
  const { runId } = await createRunningRun(v.world);
  for (let s = 3; s <= n; s++) await createWait(v.world, runId);
  const events = await listAllEvents(v.world, runId);
  assert.equal(events.length, n);
  return { runId, events };
}

// ---------------------------------------------------------------------------
// §3.1–3.3 slot ids and density

test('V6 every event of a spec-7 run has a slot id, and eventIdToSlot is its 1-based position in the log', async () => {
  const w = v.world;
  const { runId } = await createRunningRun(w);
  const returned = [];
  const keep = (res) => {
    returned.push(res.event.eventId);
    return res;
  };
  const { stepId, res: created } = await createStep(w, runId);
  keep(created);
  keep((await startStep(w, runId, stepId)).res);
  keep(await completeStep(w, runId, stepId));
  const { correlationId, res: waitCreated } = await createWait(w, runId);
  keep(waitCreated);
  keep(await completeWait(w, runId, correlationId));
  const { hookId, token, res: hookCreated } = await createHook(w, runId);
  keep(hookCreated);
  keep(await receiveHook(w, runId, hookId, token));
  keep(await disposeHook(w, runId, hookId, token));
  keep(await setAttributes(w, runId, [{ key: 'k', value: 'v' }]));
  keep((await lazyStartStep(w, runId)).res);
  keep(await terminateRun(w, runId, 'completed'));
  const events = await listAllEvents(w, runId);
  assert.equal(events.length, 14);
  events.forEach((e, i) => {
    assert.match(e.eventId, SLOT_ID_RE, `${e.eventType} id`);
    assert.equal(eventIdToSlot(e.eventId), i + 1, `${e.eventType} at position ${i + 1}`);
  });
  for (const id of returned) assert.ok(idsOf(events).includes(id), `create returned ${id}, not in the log`);
});

test('V7 run_created is slot 1 (client runId and World-generated runId)', async () => {
  const { res } = await createRun(v.world);
  assert.equal(res.event.eventId, slotId(1));
  const generated = await v.world.events.create(null, runCreatedEvent());
  assert.match(generated.run.runId, RUN_ID_RE);
  assert.equal(generated.event.eventId, slotId(1));
  assert.deepEqual(idsOf(await listAllEvents(v.world, generated.run.runId)), [slotId(1)]);
});

test('V8 rejected creates interleaved with successful ones leave the log exactly slots 1..N with no gap', async () => {
  const w = v.world;
  const { runId } = await createRunningRun(w);
  let n = 2;
  const expectSlot = (res) => {
    n += 1;
    assert.equal(res.event.eventId, slotId(n), `${res.event.eventType} should take slot ${n}`);
  };
  const { stepId, res: created } = await createStep(w, runId);
  expectSlot(created);
  await expectReject(createStep(w, runId, { stepId }), 'EntityConflictError');
  expectSlot((await createWait(w, runId)).res);
  await expectReject(lazyStartStep(w, runId, { stepId }), 'EntityConflictError');
  await expectReject(completeWait(w, runId, newWaitId()), 'WorkflowWorldError');
  expectSlot((await startStep(w, runId, stepId)).res);
  await expectReject(createStep(w, runId, { stepId }), 'EntityConflictError');
  await expectReject(completeWait(w, runId, newWaitId()), 'WorkflowWorldError');
  expectSlot(await completeStep(w, runId, stepId));
  await expectReject(lazyStartStep(w, runId, { stepId }), 'EntityConflictError');
  const lazy = await lazyStartStep(w, runId); // step_created + step_started
  n += 2;
  assert.equal(lazy.res.event.eventId, slotId(n), 'the lazy step_started takes the slot after its step_created');
  await expectReject(setAttributes(w, runId, [{ key: '$reserved', value: 'x' }]), 'AttributeValidationError');
  const events = await listAllEvents(w, runId);
  assert.equal(events.length, n);
  assertDense(events);
});

test('V9 ten concurrent wait_created sent with the same eventCount all succeed on ten distinct consecutive slots', async () => {
  const { runId } = await createRunningRun(v.world);
  const results = await Promise.all(
    Array.from({ length: 10 }, () => createWait(v.world, runId, { params: { eventCount: 2 } })),
  );
  const slots = results.map(({ res }) => slotOf(res.event.eventId)).sort((a, b) => a - b);
  assert.deepEqual(
    slots,
    Array.from({ length: 10 }, (_, i) => i + 3),
  );
  const events = await listAllEvents(v.world, runId);
  assertDense(events);
  assert.deepEqual(typesOf(events).slice(2), Array(10).fill('wait_created'));
  for (const { res } of results) {
    const committed = slotOf(res.event.eventId);
    if (!assertReportTriple(res) || res.hasMore) continue;
    // A complete report (hasMore false) names exactly the skipped slots 3..committed-1.
    assert.deepEqual(
      idsOf(res.events),
      Array.from({ length: committed - 3 }, (_, i) => slotId(i + 3)),
    );
  }
});

test('V10 the store rejects a second row with the same (runId, slot)', localDivergence(WHITE_BOX), async () => {
  const { runId } = await createRunningRun(v.world);
  await assertSlotLogRejectsDuplicateSlot(v.h.env.DB, runId, 2);
});

test('V11 every event createdAt is a server timestamp (not 1970) and identical on repeated reads', async () => {
  const before = Date.now();
  const { runId } = await createRunningRun(v.world);
  await createWait(v.world, runId);
  await lazyStartStep(v.world, runId);
  const after = Date.now();
  const first = await listAllEvents(v.world, runId);
  const second = await listAllEvents(v.world, runId);
  assert.equal(first.length, 5);
  for (const [i, e] of first.entries()) {
    assert.ok(e.createdAt instanceof Date, `${e.eventType}.createdAt is a Date`);
    assert.ok(e.createdAt.getUTCFullYear() > 2020, `${e.eventType}.createdAt ${e.createdAt.toISOString()} is not 1970`);
    assert.ok(
      e.createdAt.getTime() >= before - 60_000 && e.createdAt.getTime() <= after + 60_000,
      `${e.eventType}.createdAt ${e.createdAt.toISOString()} is not server time of the create`,
    );
    assert.equal(second[i].createdAt.getTime(), e.createdAt.getTime(), 'createdAt differs between reads');
    const one = await v.world.events.get(runId, e.eventId);
    assert.equal(one.createdAt.getTime(), e.createdAt.getTime(), 'events.get createdAt differs from events.list');
  }
});

test('V12 within a run createdAt is non-decreasing in slot order', async () => {
  const { runId } = await createRunningRun(v.world);
  for (let i = 0; i < 6; i++) {
    await createWait(v.world, runId);
    const { stepId } = await lazyStartStep(v.world, runId);
    await completeStep(v.world, runId, stepId);
    if (i % 2 === 0) await sleep(3);
  }
  const events = await listAllEvents(v.world, runId);
  assert.equal(events.length, 2 + 6 * 4);
  for (let i = 1; i < events.length; i++) {
    assert.ok(
      events[i].createdAt.getTime() >= events[i - 1].createdAt.getTime(),
      `slot ${i + 1} (${events[i].eventType}) is older than slot ${i} (${events[i - 1].eventType})`,
    );
  }
});

test('V13 a resilient run_started writes run_created at slot s and run_started at slot s+1', async () => {
  const runId = newRunId();
  const res = await v.world.events.create(runId, {
    eventType: 'run_started',
    eventData: { deploymentId: 'dpl_resilient', workflowName: WORKFLOW_NAME, input: payload('resilient') },
  });
  assert.equal(res.event.eventType, 'run_started');
  assert.equal(res.event.eventId, slotId(2));
  const events = await listAllEvents(v.world, runId);
  assert.deepEqual(
    events.map((e) => [e.eventId, e.eventType]),
    [
      [slotId(1), 'run_created'],
      [slotId(2), 'run_started'],
    ],
  );
});

test('V14 a lazy step_started writes step_created at slot s and step_started at slot s+1', async () => {
  const { runId } = await createRunningRun(v.world);
  await createWait(v.world, runId); // slot 3
  const { stepId, res } = await lazyStartStep(v.world, runId);
  assert.equal(res.event.eventId, slotId(5));
  const events = await listAllEvents(v.world, runId);
  assert.deepEqual(
    events.slice(3).map((e) => [e.eventId, e.eventType, e.correlationId]),
    [
      [slotId(4), 'step_created', stepId],
      [slotId(5), 'step_started', stepId],
    ],
  );
});

test('V15 no noop event is ever written, even under slot contention and rejected writes', async () => {
  const w = v.world;
  const { runId } = await createRunningRun(w);
  const { stepId } = await createStep(w, runId);
  await Promise.allSettled([
    ...Array.from({ length: 6 }, () => createWait(w, runId, { params: { eventCount: 1 } })),
    createStep(w, runId, { stepId }), // 409
    lazyStartStep(w, runId, { stepId }), // 409
    completeWait(w, runId, newWaitId()), // not found
    ...Array.from({ length: 3 }, () => lazyStartStep(w, runId, { params: { eventCount: 2 } })),
    setAttributes(w, runId, [{ key: 'a', value: '1' }], { params: { eventCount: 0 } }),
  ]);
  await terminateRun(w, runId, 'cancelled');
  for (const resolveData of ['all', 'none']) {
    const events = await listAllEvents(w, runId, { resolveData });
    assert.ok(!typesOf(events).includes('noop'), `a noop is in the log (${resolveData})`);
    assertDense(events);
  }
});

test(
  'V15 (§11.1) a client-sent noop is refused with a 400 and nothing is stored',
  localDivergence('V15/§11.1: world-local stores a client-sent World-only `noop` event'),
  async () => {
    const { runId } = await createRunningRun(v.world);
    await assertNothingAppended(v.world, runId, () =>
      expectReject(v.world.events.create(runId, { eventType: 'noop' }), 'WorkflowWorldError', {
        props: { status: 400 },
      }),
    );
  },
);

// ---------------------------------------------------------------------------
// §3.4 bump and report

test('V16 a create with eventCount equal to the last slot commits at the next slot and carries no report', async () => {
  const { runId } = await runWithSlots(5);
  const { res } = await createWait(v.world, runId, { params: { eventCount: 5 } });
  assert.equal(res.event.eventId, slotId(6));
  assertNoReport(res);
});

test('V17 a create with a stale eventCount commits at the next free slot and reports the skipped events', async () => {
  const w = v.world;
  const { runId } = await createRunningRun(w); // slots 1, 2
  await createWait(w, runId); // 3
  await createStep(w, runId, { input: payload('skipped-step-input') }); // 4
  await createHook(w, runId, { metadata: payload('skipped-hook-meta') }); // 5
  const log = await listAllEvents(w, runId);
  const { res } = await createWait(w, runId, { params: { eventCount: 3 } });
  assert.equal(res.event.eventId, slotId(6));
  assert.deepEqual(idsOf(res.events), [slotId(4), slotId(5)]);
  assertSameData(res.events, log.slice(3, 5), 'reported events carry full eventData (resolveData all)');
  assert.equal(res.cursor, null);
  assert.equal(res.hasMore, false);
});

test(
  'V17 (§11.1) a create with eventCount 0 reports every event from slot 1',
  localDivergence('V17/§11.1: world-local makes no bump-and-report for eventCount 0'),
  async () => {
    const { runId } = await createRunningRun(v.world);
    const log = await listAllEvents(v.world, runId);
    const { res } = await createWait(v.world, runId, { params: { eventCount: 0 } });
    assert.equal(res.event.eventId, slotId(3));
    assertSameData(res.events, log);
    assert.equal(res.cursor, null);
    assert.equal(res.hasMore, false);
  },
);

test('V18 a create whose eventCount is stale never throws because of its slot (no 409, no 412)', async () => {
  const w = v.world;
  const { runId } = await createRunningRun(w);
  const stale = { eventCount: 1 };
  const { stepId } = await createStep(w, runId, { params: stale });
  await startStep(w, runId, stepId, { params: stale });
  await completeStep(w, runId, stepId, { params: stale });
  const { correlationId } = await createWait(w, runId, { params: stale });
  await completeWait(w, runId, correlationId, { params: stale });
  const { hookId, token } = await createHook(w, runId, { params: stale });
  await receiveHook(w, runId, hookId, token, { params: stale });
  await disposeHook(w, runId, hookId, token, stale);
  await setAttributes(w, runId, [{ key: 'a', value: '1' }], { params: stale });
  await lazyStartStep(w, runId, { params: stale });
  const res = await terminateRun(w, runId, 'completed', stale);
  assert.equal(res.run.status, 'completed');
  const events = await listAllEvents(w, runId);
  assert.equal(events.length, 14);
  assertDense(events);
});

test('V19 the skipped-slot report honours resolveData none (ref fields stripped, the rest kept)', async () => {
  const w = v.world;
  const { runId } = await createRunningRun(w);
  const { stepId } = await createStep(w, runId, { input: payload('ref') }); // 3
  const { token } = await createHook(w, runId, { metadata: payload('meta') }); // 4
  const { res } = await createWait(w, runId, { params: { eventCount: 2, resolveData: 'none' } });
  assert.equal(res.event.eventId, slotId(5));
  assert.deepEqual(idsOf(res.events), [slotId(3), slotId(4)]);
  const [stepCreated, hookCreated] = res.events;
  assert.equal(stepCreated.correlationId, stepId);
  assertSameData(stepCreated.eventData, { stepName: STEP_NAME }, 'step_created input stripped');
  assert.equal(hookCreated.eventData.token, token);
  assert.equal(hookCreated.eventData.isWebhook, false);
  assert.ok(
    !('metadata' in hookCreated.eventData) || hookCreated.eventData.metadata === undefined,
    'metadata stripped',
  );
  assert.equal(res.cursor, null);
  assert.equal(res.hasMore, false);
});

test('V20 without eventCount and sinceCursor no result carries events/cursor/hasMore, except the run_started preload', async () => {
  const w = v.world;
  const results = {};
  const { runId, res: created } = await createRun(w);
  results.run_created = created;
  const started = await v.world.events.create(runId, { eventType: 'run_started' });
  assert.equal(assertReportTriple(started), true, 'the run_started preload carries all three');
  const { stepId, res: stepCreated } = await createStep(w, runId);
  results.step_created = stepCreated;
  results.step_started = (await startStep(w, runId, stepId)).res;
  results.step_retrying = await w.events.create(runId, {
    eventType: 'step_retrying',
    correlationId: stepId,
    eventData: { stepName: STEP_NAME, error: payload('e') },
  });
  results['step_started (restart)'] = (await startStep(w, runId, stepId)).res;
  results.step_completed = await completeStep(w, runId, stepId);
  const lazy = await lazyStartStep(w, runId);
  results['step_started (lazy)'] = lazy.res;
  results.step_failed = await w.events.create(runId, {
    eventType: 'step_failed',
    correlationId: lazy.stepId,
    eventData: { stepName: STEP_NAME, error: payload('f') },
  });
  const { correlationId, res: waitCreated } = await createWait(w, runId);
  results.wait_created = waitCreated;
  results.wait_completed = await completeWait(w, runId, correlationId);
  const { hookId, token, res: hookCreated } = await createHook(w, runId);
  results.hook_created = hookCreated;
  results.hook_received = await receiveHook(w, runId, hookId, token);
  const other = await createRunningRun(w);
  const conflict = await createHook(w, other.runId, { token });
  assert.equal(conflict.res.event.eventType, 'hook_conflict');
  results.hook_conflict = conflict.res;
  results.hook_disposed = await disposeHook(w, runId, hookId, token);
  results.attr_set = await setAttributes(w, runId, [{ key: 'a', value: '1' }]);
  results.run_cancelled = await terminateRun(w, runId, 'cancelled');
  results['run_cancelled (again)'] = await terminateRun(w, runId, 'cancelled');
  results.run_completed = await terminateRun(w, (await createRunningRun(w)).runId, 'completed');
  results.run_failed = await terminateRun(w, (await createRunningRun(w)).runId, 'failed');
  for (const [type, res] of Object.entries(results)) assertNoReport(res, type);
});

// ---------------------------------------------------------------------------
// §3.5 inline delta (MUST-if-sinceCursor: asserted whenever the World answers it)

/** Whether a result answered `sinceCursor` with an inline delta. */
const answered = (res) => assertReportTriple(res) && Array.isArray(res.events);

test('V21 an answered sinceCursor delta equals events.list from that cursor right after the write', async () => {
  const w = v.world;
  const { runId } = await createRunningRun(w);
  const page = await w.events.list({ runId, pagination: { sortOrder: 'asc' } });
  const C = page.cursor;
  assert.equal(typeof C, 'string', 'a non-empty page has a cursor');
  await createWait(w, runId); // written by someone else after C
  const { res } = await createWait(w, runId, { params: { sinceCursor: C } });
  if (!answered(res)) return; // the World does not implement the inline delta (MAY, §3.5)
  const fromC = await w.events.list({ runId, pagination: { cursor: C, sortOrder: 'asc' } });
  assertSameData(res.events, fromC.data, 'delta = list from C');
  assert.deepEqual(idsOf(res.events), [slotId(3), slotId(4)]);
  assert.equal(res.events.at(-1).eventId, res.event.eventId, 'the delta includes the written event');
  assert.equal(res.hasMore, fromC.hasMore);
  assert.equal(typeof res.cursor, 'string', 'the delta cursor sits after its last event');
  assert.deepEqual((await w.events.list({ runId, pagination: { cursor: res.cursor } })).data, []);
});

test('V22 a hook_created with sinceCursor that commits a hook_conflict returns the delta too', async () => {
  const w = v.world;
  const holder = await createRunningRun(w);
  const { token } = await createHook(w, holder.runId);
  const { runId } = await createRunningRun(w);
  const C = (await w.events.list({ runId })).cursor;
  const plain = await createHook(w, runId, { params: { sinceCursor: C } });
  assert.equal(plain.res.event.eventType, 'hook_created');
  const answersHookCreated = answered(plain.res);
  const C2 = plain.res.cursor ?? (await w.events.list({ runId })).cursor;
  const { res } = await createHook(w, runId, { token, params: { sinceCursor: C2 } });
  assert.equal(res.event.eventType, 'hook_conflict');
  if (!answersHookCreated) {
    assertNoReport(res, 'a World that does not answer sinceCursor on hook_created');
    return;
  }
  assert.ok(answered(res), 'answered on hook_created, so it must be answered on hook_conflict');
  const fromC2 = await w.events.list({ runId, pagination: { cursor: C2, sortOrder: 'asc' } });
  assertSameData(res.events, fromC2.data);
  assert.equal(res.events.at(-1).eventType, 'hook_conflict');
});

test('V23 a create with both eventCount and sinceCursor returns the delta, not a separate report', async () => {
  const w = v.world;
  const { runId } = await createRunningRun(w);
  const C = (await w.events.list({ runId })).cursor; // after slot 2
  await createWait(w, runId); // 3
  await createWait(w, runId); // 4
  const { res } = await createWait(w, runId, { params: { eventCount: 3, sinceCursor: C } });
  assert.equal(res.event.eventId, slotId(5));
  assert.equal(assertReportTriple(res), true, 'eventCount 3 on a 4-slot log: a delta or a report is due');
  if (res.cursor === null) {
    // The World does not answer sinceCursor (MAY), so this is the plain report of slot 4.
    assert.deepEqual(idsOf(res.events), [slotId(4)]);
    const probe = await createWait(w, runId, { params: { sinceCursor: C } });
    assert.ok(!answered(probe.res), 'a World that answers sinceCursor must let the delta win');
    return;
  }
  const fromC = await w.events.list({ runId, pagination: { cursor: C, sortOrder: 'asc' } });
  assertSameData(res.events, fromC.data, 'the delta (slots 3..5), not the report (slot 4)');
  assert.deepEqual(idsOf(res.events), [slotId(3), slotId(4), slotId(5)]);
});
