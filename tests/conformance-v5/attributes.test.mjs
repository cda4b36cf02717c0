// Conformance (spec 7): attr_set (§4.5). Checklist items V47–V52 of the 5.x checklist (docs/conformance-v5.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fixtures from '../support/world-v5.mjs';

const v = fixtures.useWorldV5();

/** An attribute refusal: AttributeValidationError, or a schema-level WorkflowWorldError 400. */
const isAttributeRefusal = (err) =>
  err?.name === 'AttributeValidationError' || (err?.name === 'WorkflowWorldError' && err?.status === 400);

test('V47 a workflow-writer attr_set with a correlationId sets the attribute and returns {event, run}', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const correlationId = fixtures.newAttrId();
  const eventData = { changes: [{ key: 'a', value: '1' }], writer: { type: 'workflow' } };
  const res = await v.world.events.create(runId, { eventType: 'attr_set', correlationId, eventData });
  assert.equal(res.event.eventType, 'attr_set');
  assert.equal(res.event.correlationId, correlationId);
  fixtures.assertSameData(res.event.eventData, eventData);
  assert.equal(res.run.runId, runId);
  assert.equal(res.run.attributes.a, '1');
  assert.deepStrictEqual((await v.world.runs.get(runId)).attributes, { a: '1' });
  const last = (await fixtures.listAllEvents(v.world, runId)).at(-1);
  assert.equal(last.eventId, res.event.eventId);
  fixtures.assertSameData(last.eventData, eventData);
});

test('V48 an attr_set repeating a committed correlationId throws EntityConflictError and appends nothing', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const correlationId = fixtures.newAttrId();
  await fixtures.setAttributes(v.world, runId, [{ key: 'a', value: '1' }], { correlationId });
  await fixtures.assertNothingAppended(v.world, runId, () =>
    fixtures.expectReject(
      fixtures.setAttributes(v.world, runId, [{ key: 'a', value: '2' }], { correlationId }),
      'EntityConflictError',
    ),
  );
  assert.deepStrictEqual((await v.world.runs.get(runId)).attributes, { a: '1' });
});

test('V49 two step-writer attr_sets (no correlationId) both apply', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const stepId = fixtures.newStepId();
  const writer = { type: 'step', stepId, attempt: 1 };
  const results = await Promise.all([
    fixtures.setAttributes(v.world, runId, [{ key: 'x', value: '1' }], { correlationId: null, writer }),
    fixtures.setAttributes(v.world, runId, [{ key: 'y', value: '2' }], { correlationId: null, writer }),
  ]);
  for (const res of results) {
    assert.equal(res.event.eventType, 'attr_set');
    assert.equal(res.event.correlationId, undefined);
  }
  // The same change again (a step retry) is not deduplicated either.
  await fixtures.setAttributes(v.world, runId, [{ key: 'x', value: '1' }], { correlationId: null, writer });
  assert.deepStrictEqual((await v.world.runs.get(runId)).attributes, { x: '1', y: '2' });
  assert.deepEqual(fixtures.typesOf(await fixtures.listAllEvents(v.world, runId)).slice(2), [
    'attr_set',
    'attr_set',
    'attr_set',
  ]);
});

test('V50 value null removes a key, a string upserts, unlisted keys are unchanged', async () => {
  const { runId } = await fixtures.createRunningRun(v.world, { attributes: { a: '1', b: '2', c: '3' } });
  const res = await fixtures.setAttributes(v.world, runId, [
    { key: 'a', value: null },
    { key: 'b', value: '20' },
    { key: 'd', value: '4' },
    { key: 'missing', value: null },
  ]);
  assert.deepStrictEqual(res.run.attributes, { b: '20', c: '3', d: '4' });
  assert.deepStrictEqual((await v.world.runs.get(runId)).attributes, { b: '20', c: '3', d: '4' });
});

test('V51 attr_set on a terminal run throws EntityConflictError; on a missing run WorkflowRunNotFoundError; nothing stored', async () => {
  for (const status of fixtures.TERMINAL_RUN_STATUSES) {
    const { runId } = await fixtures.createRunningRun(v.world);
    await fixtures.terminateRun(v.world, runId, status);
    await fixtures.assertNothingAppended(v.world, runId, () =>
      fixtures.expectReject(fixtures.setAttributes(v.world, runId, [{ key: 'a', value: '1' }]), 'EntityConflictError'),
    );
    assert.deepStrictEqual((await v.world.runs.get(runId)).attributes, {});
  }
  const missing = fixtures.newRunId();
  await fixtures.expectReject(
    fixtures.setAttributes(v.world, missing, [{ key: 'a', value: '1' }]),
    'WorkflowRunNotFoundError',
  );
  await fixtures.assertRunAbsent(v.world, missing);
});

test('V49 a workflow-writer attr_set without a correlationId applies each time: only a given id is claimed (§4.5)', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  for (const value of ['1', '2']) {
    const res = await fixtures.setAttributes(v.world, runId, [{ key: 'a', value }], { correlationId: null });
    assert.equal(res.event.eventType, 'attr_set');
    assert.equal(res.event.correlationId, undefined);
    assert.equal(res.run.attributes.a, value);
  }
  assert.deepEqual(fixtures.typesOf(await fixtures.listAllEvents(v.world, runId)).slice(2), ['attr_set', 'attr_set']);
});

test('V48 a step writer does not claim the correlationId it carries: a workflow writer claims it after, once', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const correlationId = fixtures.newAttrId();
  const writer = { type: 'step', stepId: fixtures.newStepId(), attempt: 1 };
  await fixtures.setAttributes(v.world, runId, [{ key: 'a', value: '1' }], { correlationId, writer });
  const claimed = await fixtures.setAttributes(v.world, runId, [{ key: 'a', value: '2' }], { correlationId });
  assert.equal(claimed.run.attributes.a, '2');
  await fixtures.assertNothingAppended(v.world, runId, () =>
    fixtures.expectReject(
      fixtures.setAttributes(v.world, runId, [{ key: 'a', value: '3' }], { correlationId }),
      'EntityConflictError',
    ),
  );
});

test('V52 a workflow-writer attr_set that fails validation leaves its correlationId unclaimed; the valid retry succeeds', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const correlationId = fixtures.newAttrId();
  // A reserved key is refused by the contextual check (§4.5): AttributeValidationError.
  await fixtures.assertNothingAppended(v.world, runId, () =>
    fixtures.expectReject(
      fixtures.setAttributes(v.world, runId, [{ key: '$reserved', value: 'x' }], { correlationId }),
      'AttributeValidationError',
    ),
  );
  // These also fail W5's AttributeChangesSchema, so a World that validates the schema first may
  // name them WorkflowWorldError 400 instead (§4.5 "also runs at schema level"); either is refused.
  for (const changes of [
    [{ key: 'k'.repeat(257), value: 'x' }],
    [
      { key: 'dup', value: '1' },
      { key: 'dup', value: '2' },
    ],
  ]) {
    await fixtures.assertNothingAppended(v.world, runId, () =>
      assert.rejects(fixtures.setAttributes(v.world, runId, changes, { correlationId }), isAttributeRefusal),
    );
  }
  const res = await fixtures.setAttributes(v.world, runId, [{ key: 'ok', value: 'yes' }], { correlationId });
  assert.equal(res.event.correlationId, correlationId);
  assert.deepStrictEqual((await v.world.runs.get(runId)).attributes, { ok: 'yes' });
});
