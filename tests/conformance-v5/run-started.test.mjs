// Conformance (spec 7): run_started, its preload and skipPreload, and the resilient start
// (§3.6, §4.3). Checklist items V24–V31 of the 5.x checklist (docs/conformance-v5.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fixtures from '../support/world-v5.mjs';

const v = fixtures.useWorldV5();

const resilientData = (extra = {}) => ({
  deploymentId: 'dpl_resilient',
  workflowName: fixtures.WORKFLOW_NAME,
  input: fixtures.payload('resilient-input'),
  executionContext: { traceCarrier: { traceparent: '00-abc-def-01' }, workflowCoreVersion: '5.0.0-beta.55' },
  ...extra,
});

/**
 * world-local caps a log at `maxEvents` (25,000) and says so; this World caps nothing, so it
 * sends no `maxEvents` and core applies no limit (a deliberate difference, docs/conformance-v5.md).
 */
function assertMaxEvents(res) {
  if (v.kind === 'local') {
    assert.equal(typeof res.maxEvents, 'number');
    assert.ok(res.maxEvents > 0);
  } else {
    assert.equal(res.maxEvents, undefined, 'no cap, so no maxEvents');
  }
}

test('V24 run_started on a pending run: event without eventData, running + startedAt, and the preload [run_created, run_started]', async () => {
  const input = fixtures.payload('start-me');
  const { runId } = await fixtures.createRun(v.world, { input });
  const res = await v.world.events.create(runId, { eventType: 'run_started' });
  assert.equal(res.event.eventType, 'run_started');
  assert.equal(res.event.eventId, fixtures.slotId(2));
  assert.equal(res.event.eventData, undefined, 'a stored run_started has no eventData');
  assert.equal(res.run.status, 'running');
  fixtures.assertDate(res.run.startedAt, undefined, 'run.startedAt');
  // SHOULD: the preloaded log, and maxEvents where the World caps a log.
  assertMaxEvents(res);
  assert.deepEqual(fixtures.typesOf(res.events), ['run_created', 'run_started']);
  assert.deepEqual(fixtures.idsOf(res.events), [fixtures.slotId(1), fixtures.slotId(2)]);
  fixtures.assertBytes(res.events[0].eventData.input, input, 'preloaded run_created input (refs resolved)');
  assert.equal(typeof res.cursor, 'string', 'the preload cursor is non-null');
  assert.equal(res.hasMore, false);
  assert.deepEqual((await v.world.events.list({ runId, pagination: { cursor: res.cursor } })).data, []);
  assert.equal((await v.world.runs.get(runId)).status, 'running');
});

test(
  'V24 (§11.1) the run_started preload honours resolveData none',
  fixtures.localDivergence('V24/§11.1: world-local ignores resolveData on the run_started preload'),
  async () => {
    const { runId } = await fixtures.createRun(v.world, { input: fixtures.payload('secret') });
    const res = await v.world.events.create(runId, { eventType: 'run_started' }, { resolveData: 'none' });
    assert.deepEqual(fixtures.typesOf(res.events), ['run_created', 'run_started']);
    assert.equal(res.events[0].eventData.input, undefined, 'run_created input stripped from the preload');
    assert.equal(res.events[0].eventData.workflowName, fixtures.WORKFLOW_NAME);
  },
);

test('V25 run_started with skipPreload starts a pending run and returns no events/cursor/hasMore', async () => {
  const { runId } = await fixtures.createRun(v.world);
  const res = await v.world.events.create(runId, { eventType: 'run_started' }, { skipPreload: true });
  assert.equal(res.event.eventType, 'run_started');
  assert.equal(res.run.status, 'running');
  fixtures.assertDate(res.run.startedAt, undefined, 'run.startedAt');
  fixtures.assertNoReport(res);
  assert.deepEqual(fixtures.typesOf(await fixtures.listAllEvents(v.world, runId)), ['run_created', 'run_started']);
});

test('V26 run_started on a running run appends nothing and returns the run with an unchanged startedAt (full log, or none under skipPreload)', async () => {
  const { runId, run } = await fixtures.createRunningRun(v.world);
  await fixtures.createWait(v.world, runId);
  const log = await fixtures.listAllEvents(v.world, runId);
  await fixtures.sleep(5);
  const res = await fixtures.assertNothingAppended(v.world, runId, () =>
    v.world.events.create(runId, { eventType: 'run_started' }),
  );
  assert.equal(res.event, undefined, 'no event for a running run');
  assert.equal(res.run.status, 'running');
  fixtures.assertDate(res.run.startedAt, run.startedAt, 'startedAt unchanged');
  // SHOULD: {run, events, cursor, hasMore, maxEvents} with the full log.
  fixtures.assertSameData(res.events, log);
  assert.equal(typeof res.cursor, 'string');
  assert.equal(res.hasMore, false);
  assertMaxEvents(res);
  const skipped = await fixtures.assertNothingAppended(v.world, runId, () =>
    v.world.events.create(runId, { eventType: 'run_started' }, { skipPreload: true }),
  );
  assert.equal(skipped.event, undefined);
  fixtures.assertDate(skipped.run.startedAt, run.startedAt, 'startedAt unchanged (skipPreload)');
  fixtures.assertNoReport(skipped, 'skipPreload on a running run');
  assertMaxEvents(skipped);
});

test('V27 run_started on a terminal run throws RunExpiredError and stores nothing', async () => {
  for (const status of fixtures.TERMINAL_RUN_STATUSES) {
    const { runId } = await fixtures.createRunningRun(v.world);
    await fixtures.terminateRun(v.world, runId, status);
    await fixtures.assertNothingAppended(v.world, runId, () =>
      fixtures.expectReject(v.world.events.create(runId, { eventType: 'run_started' }), 'RunExpiredError'),
    );
    await fixtures.assertNothingAppended(v.world, runId, () =>
      fixtures.expectReject(
        v.world.events.create(runId, { eventType: 'run_started', eventData: resilientData() }),
        'RunExpiredError',
      ),
    );
    assert.equal((await v.world.runs.get(runId)).status, status);
  }
});

test('V28 run_started on a missing run without usable eventData throws WorkflowRunNotFoundError and stores nothing', async () => {
  const unusable = [
    undefined,
    {},
    resilientData({ deploymentId: undefined }),
    resilientData({ workflowName: '' }),
    resilientData({ input: undefined }),
  ];
  for (const eventData of unusable) {
    const runId = fixtures.newRunId();
    const data = { eventType: 'run_started' };
    if (eventData !== undefined) data.eventData = eventData;
    await fixtures.expectReject(v.world.events.create(runId, data), 'WorkflowRunNotFoundError');
    await fixtures.assertRunAbsent(v.world, runId);
  }
});

test('V29 a resilient run_started creates the run (fields, attributes) and logs [run_created (that eventData), run_started]', async () => {
  const runId = fixtures.newRunId();
  const eventData = resilientData({ attributes: { a: '1' } });
  const res = await v.world.events.create(runId, { eventType: 'run_started', eventData });
  assert.equal(res.run.status, 'running');
  fixtures.assertDate(res.run.startedAt, undefined, 'run.startedAt');
  const run = await v.world.runs.get(runId);
  assert.equal(run.status, 'running');
  assert.equal(run.deploymentId, 'dpl_resilient');
  assert.equal(run.workflowName, fixtures.WORKFLOW_NAME);
  fixtures.assertBytes(run.input, eventData.input, 'run.input');
  assert.deepStrictEqual(run.executionContext, eventData.executionContext);
  assert.deepStrictEqual(run.attributes, { a: '1' });
  assert.equal(run.specVersion, 7);
  const events = await fixtures.listAllEvents(v.world, runId);
  assert.deepEqual(fixtures.typesOf(events), ['run_created', 'run_started']);
  fixtures.assertDense(events);
  fixtures.assertSameData(events[0].eventData, eventData, 'the synthetic run_created carries that eventData');
  assert.equal(events[1].eventData, undefined, 'the stored run_started has no eventData');
});

test('V30 a resilient run_started carrying encryptionPublicKey stores it on the run and in the synthetic run_created', async () => {
  const runId = fixtures.newRunId();
  await v.world.events.create(runId, {
    eventType: 'run_started',
    eventData: resilientData({ encryptionPublicKey: fixtures.ENCRYPTION_PUBLIC_KEY }),
  });
  assert.equal((await v.world.runs.get(runId)).encryptionPublicKey, fixtures.ENCRYPTION_PUBLIC_KEY);
  const [created] = await fixtures.listAllEvents(v.world, runId);
  assert.equal(created.eventType, 'run_created');
  assert.equal(created.eventData.encryptionPublicKey, fixtures.ENCRYPTION_PUBLIC_KEY);
});

test('V31 concurrent run_created and resilient run_started leave exactly one run_created event and one run', async () => {
  for (let trial = 0; trial < 8; trial++) {
    const runId = fixtures.newRunId();
    const workflowName = fixtures.uniqueName();
    const created = () =>
      v.world.events.create(runId, fixtures.runCreatedEvent({ workflowName, input: fixtures.payload('created') }));
    const started = () =>
      v.world.events.create(runId, { eventType: 'run_started', eventData: resilientData({ workflowName }) });
    const outcomes = await Promise.allSettled(trial % 2 ? [started(), created()] : [created(), started()]);
    for (const o of outcomes) {
      if (o.status === 'rejected') assert.equal(o.reason?.name, 'EntityConflictError', `trial ${trial}: ${o.reason}`);
    }
    assert.ok(
      outcomes.some((o) => o.status === 'fulfilled' && o.value.event?.eventType === 'run_started'),
      `trial ${trial}: run_started must succeed`,
    );
    const events = await fixtures.listAllEvents(v.world, runId);
    assert.deepEqual(fixtures.typesOf(events).sort(), ['run_created', 'run_started'], `trial ${trial}`);
    fixtures.assertDense(events);
    const run = await v.world.runs.get(runId);
    assert.equal(run.status, 'running');
    const listed = await v.world.runs.list({ workflowName });
    assert.deepEqual(
      listed.data.map((r) => r.runId),
      [runId],
      `trial ${trial}: one run`,
    );
  }
});
