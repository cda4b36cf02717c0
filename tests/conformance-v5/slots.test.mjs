// Conformance (spec 7): slot ids and density (§3.1–3.3), bump and report (§3.4) and the inline
// delta (§3.5). Checklist items V6–V23 of the 5.x checklist (docs/conformance-v5.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventIdToSlot } from '@workflow/world-v5';
import * as fixtures from '../support/world-v5.mjs';

const v = fixtures.useWorldV5();

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
  const { runId } = await fixtures.createRunningRun(v.world);
  for (let s = 3; s <= n; s++) await fixtures.createWait(v.world, runId);
  const events = await fixtures.listAllEvents(v.world, runId);
  assert.equal(events.length, n);
  return { runId, events };
}

// ---------------------------------------------------------------------------
// §3.1–3.3 slot ids and density

test('V6 every event of a spec-7 run has a slot id, and eventIdToSlot is its 1-based position in the log', async () => {
  const w = v.world;
  const { runId } = await fixtures.createRunningRun(w);
  const returned = [];
  const keep = (res) => {
    returned.push(res.event.eventId);
    return res;
  };
  const { stepId, res: created } = await fixtures.createStep(w, runId);
  keep(created);
  keep((await fixtures.startStep(w, runId, stepId)).res);
  keep(await fixtures.completeStep(w, runId, stepId));
  const { correlationId, res: waitCreated } = await fixtures.createWait(w, runId);
  keep(waitCreated);
  keep(await fixtures.completeWait(w, runId, correlationId));
  const { hookId, token, res: hookCreated } = await fixtures.createHook(w, runId);
  keep(hookCreated);
  keep(await fixtures.receiveHook(w, runId, hookId, token));
  keep(await fixtures.disposeHook(w, runId, hookId, token));
  keep(await fixtures.setAttributes(w, runId, [{ key: 'k', value: 'v' }]));
  keep((await fixtures.lazyStartStep(w, runId)).res);
  keep(await fixtures.terminateRun(w, runId, 'completed'));
  const events = await fixtures.listAllEvents(w, runId);
  assert.equal(events.length, 14);
  events.forEach((e, i) => {
    assert.match(e.eventId, fixtures.SLOT_ID_RE, `${e.eventType} id`);
    assert.equal(eventIdToSlot(e.eventId), i + 1, `${e.eventType} at position ${i + 1}`);
  });
  for (const id of returned) assert.ok(fixtures.idsOf(events).includes(id), `create returned ${id}, not in the log`);
});

test('V7 run_created is slot 1 (client runId and World-generated runId)', async () => {
  const { res } = await fixtures.createRun(v.world);
  assert.equal(res.event.eventId, fixtures.slotId(1));
  const generated = await v.world.events.create(null, fixtures.runCreatedEvent());
  assert.match(generated.run.runId, fixtures.RUN_ID_RE);
  assert.equal(generated.event.eventId, fixtures.slotId(1));
  assert.deepEqual(fixtures.idsOf(await fixtures.listAllEvents(v.world, generated.run.runId)), [fixtures.slotId(1)]);
});

test('V8 rejected creates interleaved with successful ones leave the log exactly slots 1..N with no gap', async () => {
  const w = v.world;
  const { runId } = await fixtures.createRunningRun(w);
  let n = 2;
  const expectSlot = (res) => {
    n += 1;
    assert.equal(res.event.eventId, fixtures.slotId(n), `${res.event.eventType} should take slot ${n}`);
  };
  const { stepId, res: created } = await fixtures.createStep(w, runId);
  expectSlot(created);
  await fixtures.expectReject(fixtures.createStep(w, runId, { stepId }), 'EntityConflictError');
  expectSlot((await fixtures.createWait(w, runId)).res);
  await fixtures.expectReject(fixtures.lazyStartStep(w, runId, { stepId }), 'EntityConflictError');
  await fixtures.expectReject(fixtures.completeWait(w, runId, fixtures.newWaitId()), 'WorkflowWorldError');
  expectSlot((await fixtures.startStep(w, runId, stepId)).res);
  await fixtures.expectReject(fixtures.createStep(w, runId, { stepId }), 'EntityConflictError');
  await fixtures.expectReject(fixtures.completeWait(w, runId, fixtures.newWaitId()), 'WorkflowWorldError');
  expectSlot(await fixtures.completeStep(w, runId, stepId));
  await fixtures.expectReject(fixtures.lazyStartStep(w, runId, { stepId }), 'EntityConflictError');
  const lazy = await fixtures.lazyStartStep(w, runId); // step_created + step_started
  n += 2;
  assert.equal(
    lazy.res.event.eventId,
    fixtures.slotId(n),
    'the lazy step_started takes the slot after its step_created',
  );
  await fixtures.expectReject(
    fixtures.setAttributes(w, runId, [{ key: '$reserved', value: 'x' }]),
    'AttributeValidationError',
  );
  const events = await fixtures.listAllEvents(w, runId);
  assert.equal(events.length, n);
  fixtures.assertDense(events);
});

test('V9 ten concurrent wait_created sent with the same eventCount all succeed on ten distinct consecutive slots', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const results = await Promise.all(
    Array.from({ length: 10 }, () => fixtures.createWait(v.world, runId, { params: { eventCount: 2 } })),
  );
  const slots = results.map(({ res }) => fixtures.slotOf(res.event.eventId)).sort((a, b) => a - b);
  assert.deepEqual(
    slots,
    Array.from({ length: 10 }, (_, i) => i + 3),
  );
  const events = await fixtures.listAllEvents(v.world, runId);
  fixtures.assertDense(events);
  assert.deepEqual(fixtures.typesOf(events).slice(2), Array(10).fill('wait_created'));
  for (const { res } of results) {
    const committed = fixtures.slotOf(res.event.eventId);
    if (!fixtures.assertReportTriple(res) || res.hasMore) continue;
    // A complete report (hasMore false) names exactly the skipped slots 3..committed-1.
    assert.deepEqual(
      fixtures.idsOf(res.events),
      Array.from({ length: committed - 3 }, (_, i) => fixtures.slotId(i + 3)),
    );
  }
});

test(
  'V10 the store rejects a second row with the same (runId, slot)',
  fixtures.localDivergence(fixtures.WHITE_BOX),
  async () => {
    const { runId } = await fixtures.createRunningRun(v.world);
    await assertSlotLogRejectsDuplicateSlot(v.h.env.DB, runId, 2);
  },
);

test('V11 every event createdAt is a server timestamp (not 1970) and identical on repeated reads', async () => {
  const before = Date.now();
  const { runId } = await fixtures.createRunningRun(v.world);
  await fixtures.createWait(v.world, runId);
  await fixtures.lazyStartStep(v.world, runId);
  const after = Date.now();
  const first = await fixtures.listAllEvents(v.world, runId);
  const second = await fixtures.listAllEvents(v.world, runId);
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
  const { runId } = await fixtures.createRunningRun(v.world);
  for (let i = 0; i < 6; i++) {
    await fixtures.createWait(v.world, runId);
    const { stepId } = await fixtures.lazyStartStep(v.world, runId);
    await fixtures.completeStep(v.world, runId, stepId);
    if (i % 2 === 0) await fixtures.sleep(3);
  }
  const events = await fixtures.listAllEvents(v.world, runId);
  assert.equal(events.length, 2 + 6 * 4);
  for (let i = 1; i < events.length; i++) {
    assert.ok(
      events[i].createdAt.getTime() >= events[i - 1].createdAt.getTime(),
      `slot ${i + 1} (${events[i].eventType}) is older than slot ${i} (${events[i - 1].eventType})`,
    );
  }
});

test('V13 a resilient run_started writes run_created at slot s and run_started at slot s+1', async () => {
  const runId = fixtures.newRunId();
  const res = await v.world.events.create(runId, {
    eventType: 'run_started',
    eventData: {
      deploymentId: 'dpl_resilient',
      workflowName: fixtures.WORKFLOW_NAME,
      input: fixtures.payload('resilient'),
    },
  });
  assert.equal(res.event.eventType, 'run_started');
  assert.equal(res.event.eventId, fixtures.slotId(2));
  const events = await fixtures.listAllEvents(v.world, runId);
  assert.deepEqual(
    events.map((e) => [e.eventId, e.eventType]),
    [
      [fixtures.slotId(1), 'run_created'],
      [fixtures.slotId(2), 'run_started'],
    ],
  );
});

test('V14 a lazy step_started writes step_created at slot s and step_started at slot s+1', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  await fixtures.createWait(v.world, runId); // slot 3
  const { stepId, res } = await fixtures.lazyStartStep(v.world, runId);
  assert.equal(res.event.eventId, fixtures.slotId(5));
  const events = await fixtures.listAllEvents(v.world, runId);
  assert.deepEqual(
    events.slice(3).map((e) => [e.eventId, e.eventType, e.correlationId]),
    [
      [fixtures.slotId(4), 'step_created', stepId],
      [fixtures.slotId(5), 'step_started', stepId],
    ],
  );
});

test('V15 no noop event is ever written, even under slot contention and rejected writes', async () => {
  const w = v.world;
  const { runId } = await fixtures.createRunningRun(w);
  const { stepId } = await fixtures.createStep(w, runId);
  await Promise.allSettled([
    ...Array.from({ length: 6 }, () => fixtures.createWait(w, runId, { params: { eventCount: 1 } })),
    fixtures.createStep(w, runId, { stepId }), // 409
    fixtures.lazyStartStep(w, runId, { stepId }), // 409
    fixtures.completeWait(w, runId, fixtures.newWaitId()), // not found
    ...Array.from({ length: 3 }, () => fixtures.lazyStartStep(w, runId, { params: { eventCount: 2 } })),
    fixtures.setAttributes(w, runId, [{ key: 'a', value: '1' }], { params: { eventCount: 0 } }),
  ]);
  await fixtures.terminateRun(w, runId, 'cancelled');
  for (const resolveData of ['all', 'none']) {
    const events = await fixtures.listAllEvents(w, runId, { resolveData });
    assert.ok(!fixtures.typesOf(events).includes('noop'), `a noop is in the log (${resolveData})`);
    fixtures.assertDense(events);
  }
});

test(
  'V15 (§11.1) a client-sent noop is refused with a 400 and nothing is stored',
  fixtures.localDivergence('V15/§11.1: world-local stores a client-sent World-only `noop` event'),
  async () => {
    const { runId } = await fixtures.createRunningRun(v.world);
    await fixtures.assertNothingAppended(v.world, runId, () =>
      fixtures.expectReject(v.world.events.create(runId, { eventType: 'noop' }), 'WorkflowWorldError', {
        props: { status: 400 },
      }),
    );
  },
);

// ---------------------------------------------------------------------------
// §3.4 bump and report

test('V16 a create with eventCount equal to the last slot commits at the next slot and carries no report', async () => {
  const { runId } = await runWithSlots(5);
  const { res } = await fixtures.createWait(v.world, runId, { params: { eventCount: 5 } });
  assert.equal(res.event.eventId, fixtures.slotId(6));
  fixtures.assertNoReport(res);
});

test('V17 a create with a stale eventCount commits at the next free slot and reports the skipped events', async () => {
  const w = v.world;
  const { runId } = await fixtures.createRunningRun(w); // slots 1, 2
  await fixtures.createWait(w, runId); // 3
  await fixtures.createStep(w, runId, { input: fixtures.payload('skipped-step-input') }); // 4
  await fixtures.createHook(w, runId, { metadata: fixtures.payload('skipped-hook-meta') }); // 5
  const log = await fixtures.listAllEvents(w, runId);
  const { res } = await fixtures.createWait(w, runId, { params: { eventCount: 3 } });
  assert.equal(res.event.eventId, fixtures.slotId(6));
  assert.deepEqual(fixtures.idsOf(res.events), [fixtures.slotId(4), fixtures.slotId(5)]);
  fixtures.assertSameData(res.events, log.slice(3, 5), 'reported events carry full eventData (resolveData all)');
  assert.equal(res.cursor, null);
  assert.equal(res.hasMore, false);
});

test(
  'V17 (§11.1) a create with eventCount 0 reports every event from slot 1',
  fixtures.localDivergence('V17/§11.1: world-local makes no bump-and-report for eventCount 0'),
  async () => {
    const { runId } = await fixtures.createRunningRun(v.world);
    const log = await fixtures.listAllEvents(v.world, runId);
    const { res } = await fixtures.createWait(v.world, runId, { params: { eventCount: 0 } });
    assert.equal(res.event.eventId, fixtures.slotId(3));
    fixtures.assertSameData(res.events, log);
    assert.equal(res.cursor, null);
    assert.equal(res.hasMore, false);
  },
);

test('V18 a create whose eventCount is stale never throws because of its slot (no 409, no 412)', async () => {
  const w = v.world;
  const { runId } = await fixtures.createRunningRun(w);
  const stale = { eventCount: 1 };
  const { stepId } = await fixtures.createStep(w, runId, { params: stale });
  await fixtures.startStep(w, runId, stepId, { params: stale });
  await fixtures.completeStep(w, runId, stepId, { params: stale });
  const { correlationId } = await fixtures.createWait(w, runId, { params: stale });
  await fixtures.completeWait(w, runId, correlationId, { params: stale });
  const { hookId, token } = await fixtures.createHook(w, runId, { params: stale });
  await fixtures.receiveHook(w, runId, hookId, token, { params: stale });
  await fixtures.disposeHook(w, runId, hookId, token, stale);
  await fixtures.setAttributes(w, runId, [{ key: 'a', value: '1' }], { params: stale });
  await fixtures.lazyStartStep(w, runId, { params: stale });
  const res = await fixtures.terminateRun(w, runId, 'completed', stale);
  assert.equal(res.run.status, 'completed');
  const events = await fixtures.listAllEvents(w, runId);
  assert.equal(events.length, 14);
  fixtures.assertDense(events);
});

test('V19 the skipped-slot report honours resolveData none (ref fields stripped, the rest kept)', async () => {
  const w = v.world;
  const { runId } = await fixtures.createRunningRun(w);
  const { stepId } = await fixtures.createStep(w, runId, { input: fixtures.payload('ref') }); // 3
  const { token } = await fixtures.createHook(w, runId, { metadata: fixtures.payload('meta') }); // 4
  const { res } = await fixtures.createWait(w, runId, { params: { eventCount: 2, resolveData: 'none' } });
  assert.equal(res.event.eventId, fixtures.slotId(5));
  assert.deepEqual(fixtures.idsOf(res.events), [fixtures.slotId(3), fixtures.slotId(4)]);
  const [stepCreated, hookCreated] = res.events;
  assert.equal(stepCreated.correlationId, stepId);
  fixtures.assertSameData(stepCreated.eventData, { stepName: fixtures.STEP_NAME }, 'step_created input stripped');
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
  const { runId, res: created } = await fixtures.createRun(w);
  results.run_created = created;
  const started = await v.world.events.create(runId, { eventType: 'run_started' });
  assert.equal(fixtures.assertReportTriple(started), true, 'the run_started preload carries all three');
  const { stepId, res: stepCreated } = await fixtures.createStep(w, runId);
  results.step_created = stepCreated;
  results.step_started = (await fixtures.startStep(w, runId, stepId)).res;
  results.step_retrying = await w.events.create(runId, {
    eventType: 'step_retrying',
    correlationId: stepId,
    eventData: { stepName: fixtures.STEP_NAME, error: fixtures.payload('e') },
  });
  results['step_started (restart)'] = (await fixtures.startStep(w, runId, stepId)).res;
  results.step_completed = await fixtures.completeStep(w, runId, stepId);
  const lazy = await fixtures.lazyStartStep(w, runId);
  results['step_started (lazy)'] = lazy.res;
  results.step_failed = await w.events.create(runId, {
    eventType: 'step_failed',
    correlationId: lazy.stepId,
    eventData: { stepName: fixtures.STEP_NAME, error: fixtures.payload('f') },
  });
  const { correlationId, res: waitCreated } = await fixtures.createWait(w, runId);
  results.wait_created = waitCreated;
  results.wait_completed = await fixtures.completeWait(w, runId, correlationId);
  const { hookId, token, res: hookCreated } = await fixtures.createHook(w, runId);
  results.hook_created = hookCreated;
  results.hook_received = await fixtures.receiveHook(w, runId, hookId, token);
  const other = await fixtures.createRunningRun(w);
  const conflict = await fixtures.createHook(w, other.runId, { token });
  assert.equal(conflict.res.event.eventType, 'hook_conflict');
  results.hook_conflict = conflict.res;
  results.hook_disposed = await fixtures.disposeHook(w, runId, hookId, token);
  results.attr_set = await fixtures.setAttributes(w, runId, [{ key: 'a', value: '1' }]);
  results.run_cancelled = await fixtures.terminateRun(w, runId, 'cancelled');
  results['run_cancelled (again)'] = await fixtures.terminateRun(w, runId, 'cancelled');
  results.run_completed = await fixtures.terminateRun(w, (await fixtures.createRunningRun(w)).runId, 'completed');
  results.run_failed = await fixtures.terminateRun(w, (await fixtures.createRunningRun(w)).runId, 'failed');
  for (const [type, res] of Object.entries(results)) fixtures.assertNoReport(res, type);
});

// ---------------------------------------------------------------------------
// §3.5 inline delta (MUST-if-sinceCursor: asserted whenever the World answers it)

/** Whether a result answered `sinceCursor` with an inline delta. */
const answered = (res) => fixtures.assertReportTriple(res) && Array.isArray(res.events);

test('V21 an answered sinceCursor delta equals events.list from that cursor right after the write', async () => {
  const w = v.world;
  const { runId } = await fixtures.createRunningRun(w);
  const page = await w.events.list({ runId, pagination: { sortOrder: 'asc' } });
  const C = page.cursor;
  assert.equal(typeof C, 'string', 'a non-empty page has a cursor');
  await fixtures.createWait(w, runId); // written by someone else after C
  const { res } = await fixtures.createWait(w, runId, { params: { sinceCursor: C } });
  if (!answered(res)) return; // the World does not implement the inline delta (MAY, §3.5)
  const fromC = await w.events.list({ runId, pagination: { cursor: C, sortOrder: 'asc' } });
  fixtures.assertSameData(res.events, fromC.data, 'delta = list from C');
  assert.deepEqual(fixtures.idsOf(res.events), [fixtures.slotId(3), fixtures.slotId(4)]);
  assert.equal(res.events.at(-1).eventId, res.event.eventId, 'the delta includes the written event');
  assert.equal(res.hasMore, fromC.hasMore);
  assert.equal(typeof res.cursor, 'string', 'the delta cursor sits after its last event');
  assert.deepEqual((await w.events.list({ runId, pagination: { cursor: res.cursor } })).data, []);
});

test('V22 a hook_created with sinceCursor that commits a hook_conflict returns the delta too', async () => {
  const w = v.world;
  const holder = await fixtures.createRunningRun(w);
  const { token } = await fixtures.createHook(w, holder.runId);
  const { runId } = await fixtures.createRunningRun(w);
  const C = (await w.events.list({ runId })).cursor;
  const plain = await fixtures.createHook(w, runId, { params: { sinceCursor: C } });
  assert.equal(plain.res.event.eventType, 'hook_created');
  const answersHookCreated = answered(plain.res);
  const C2 = plain.res.cursor ?? (await w.events.list({ runId })).cursor;
  const { res } = await fixtures.createHook(w, runId, { token, params: { sinceCursor: C2 } });
  assert.equal(res.event.eventType, 'hook_conflict');
  if (!answersHookCreated) {
    fixtures.assertNoReport(res, 'a World that does not answer sinceCursor on hook_created');
    return;
  }
  assert.ok(answered(res), 'answered on hook_created, so it must be answered on hook_conflict');
  const fromC2 = await w.events.list({ runId, pagination: { cursor: C2, sortOrder: 'asc' } });
  fixtures.assertSameData(res.events, fromC2.data);
  assert.equal(res.events.at(-1).eventType, 'hook_conflict');
});

test('V23 a create with both eventCount and sinceCursor returns the delta, not a separate report', async () => {
  const w = v.world;
  const { runId } = await fixtures.createRunningRun(w);
  const C = (await w.events.list({ runId })).cursor; // after slot 2
  await fixtures.createWait(w, runId); // 3
  await fixtures.createWait(w, runId); // 4
  const { res } = await fixtures.createWait(w, runId, { params: { eventCount: 3, sinceCursor: C } });
  assert.equal(res.event.eventId, fixtures.slotId(5));
  assert.equal(fixtures.assertReportTriple(res), true, 'eventCount 3 on a 4-slot log: a delta or a report is due');
  if (res.cursor === null) {
    // The World does not answer sinceCursor (MAY), so this is the plain report of slot 4.
    assert.deepEqual(fixtures.idsOf(res.events), [fixtures.slotId(4)]);
    const probe = await fixtures.createWait(w, runId, { params: { sinceCursor: C } });
    assert.ok(!answered(probe.res), 'a World that answers sinceCursor must let the delta win');
    return;
  }
  const fromC = await w.events.list({ runId, pagination: { cursor: C, sortOrder: 'asc' } });
  fixtures.assertSameData(res.events, fromC.data, 'the delta (slots 3..5), not the report (slot 4)');
  assert.deepEqual(fixtures.idsOf(res.events), [fixtures.slotId(3), fixtures.slotId(4), fixtures.slotId(5)]);
});
