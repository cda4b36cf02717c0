// 4.x and 5.x runs in one D1 database (world-contract-v5 §10; checklist V106, V108–V110):
// the 4.x World (`createWorld(env)`, spec 3) and the 5.x World (`createWorld(env,
// { specVersion: 7 })`) over the same bindings in local workerd. Each run keeps the id
// scheme and rules of the line that created it; tokens are one registry; a 4.x World refuses
// slot runs by name. (V107, routing of queue messages by their run, is in
// tests/queue-v5/queue.test.mjs; V110, every 4.x rule on spec-3 runs, is the whole 4.x suite
// in tests/conformance/, run against the same schema.)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWorld } from '../../js/node.js';
import { useHarness } from '../support/harness.mjs';
import * as fixtures from '../support/world-v5.mjs';

let v4;
let v5;
useHarness({
  world: false,
  setup: (h) => {
    v4 = createWorld({ ...h.env, DB: h.db });
    v5 = createWorld({ ...h.env, DB: h.db }, { specVersion: 7 });
  },
});

const ULID_EVENT_ID = /^wevt_[0-9A-HJKMNP-TV-Z]{26}$/;
const input = () => new Uint8Array([1, 0, 2]);

async function runOn(world) {
  const runId = fixtures.newRunId();
  await world.events.create(runId, {
    eventType: 'run_created',
    eventData: { deploymentId: 'd', workflowName: 'w', input: input() },
  });
  await world.events.create(runId, { eventType: 'run_started' });
  return runId;
}

test('V106 a spec-3 run keeps ULID event ids and a spec-7 run gets slot ids, side by side in one database', async () => {
  const old = await runOn(v4);
  const current = await runOn(v5);
  const oldLog = await v4.events.list({ runId: old });
  const newLog = await v5.events.list({ runId: current });
  assert.ok(
    oldLog.data.every((e) => ULID_EVENT_ID.test(e.eventId)),
    JSON.stringify(oldLog.data.map((e) => e.eventId)),
  );
  assert.deepEqual(
    newLog.data.map((e) => e.eventId),
    [fixtures.slotId(1), fixtures.slotId(2)],
  );
  assert.deepEqual([(await v5.runs.get(old)).specVersion, (await v4.runs.get(current)).specVersion], [3, 7]);
  // Either World reads either run, and each event by its own id.
  assert.equal((await v5.events.get(old, oldLog.data[1].eventId)).eventType, 'run_started');
  assert.equal((await v4.events.get(current, fixtures.slotId(2))).eventType, 'run_started');
  // Both lists page in their own cursor scheme without mixing the logs.
  const page = await v4.events.list({ runId: old, pagination: { limit: 1 } });
  const next = await v4.events.list({ runId: old, pagination: { limit: 1, cursor: page.cursor } });
  assert.equal(next.data[0].eventType, 'run_started');
  const slotPage = await v5.events.list({ runId: current, pagination: { limit: 1 } });
  const slotNext = await v5.events.list({ runId: current, pagination: { limit: 1, cursor: slotPage.cursor } });
  assert.match(slotNext.data[0].eventId, fixtures.SLOT_ID_RE);
});

test('V108 the 4.x World refuses every write onto a spec-7 run with RunNotSupportedError(7, 3) and stores nothing', async () => {
  const current = await runOn(v5);
  const stepId = fixtures.newStepId();
  await v5.events.create(current, {
    eventType: 'step_started',
    correlationId: stepId,
    eventData: { stepName: 's', input: input() },
  });
  const before = (await v5.events.list({ runId: current })).data.length;
  const writes = [
    { eventType: 'step_created', correlationId: fixtures.newStepId(), eventData: { stepName: 's', input: input() } },
    { eventType: 'step_completed', correlationId: stepId, eventData: { result: input() } },
    { eventType: 'step_retrying', correlationId: stepId, eventData: { error: { message: 'e' } } },
    { eventType: 'wait_created', correlationId: 'wait_1', eventData: { resumeAt: new Date() } },
    { eventType: 'run_completed', eventData: { output: input() } },
  ];
  for (const data of writes) {
    const e = await fixtures.expectReject(() => v4.events.create(current, data), 'RunNotSupportedError');
    assert.deepEqual([e.runSpecVersion, e.worldSpecVersion], [7, 3], data.eventType);
  }
  assert.equal((await v5.events.list({ runId: current })).data.length, before);
  assert.equal((await v5.runs.get(current)).status, 'running');
});

test('the 5.x World serves a spec-3 run only out of band (hook_received, run_cancelled, wait_completed), with 4.x ids', async () => {
  const old = await runOn(v4);
  const e = await fixtures.expectReject(
    () =>
      v5.events.create(old, {
        eventType: 'step_created',
        correlationId: fixtures.newStepId(),
        eventData: { stepName: 's', input: input() },
      }),
    'Error',
  );
  assert.match(e.message, /allowed: hook_received, run_cancelled, wait_completed/);
  const cancelled = await v5.events.create(old, { eventType: 'run_cancelled' });
  assert.match(cancelled.event.eventId, ULID_EVENT_ID);
  assert.equal(cancelled.run.status, 'cancelled');
});

test('V109 hook tokens are one registry across both lines', async () => {
  const old = await runOn(v4);
  const current = await runOn(v5);
  const token = fixtures.newToken();
  const held = await v4.events.create(old, {
    eventType: 'hook_created',
    correlationId: 'hook_a',
    eventData: { token, isWebhook: false },
  });
  assert.equal(held.hook.token, token);
  const taken = await v5.events.create(current, {
    eventType: 'hook_created',
    correlationId: 'hook_b',
    eventData: { token, isWebhook: false },
  });
  assert.equal(taken.event.eventType, 'hook_conflict');
  assert.equal(taken.event.eventData.conflictingRunId, old);
  assert.equal((await v5.hooks.getByToken(token)).runId, old);
  // and the other way round
  const token2 = fixtures.newToken();
  await v5.events.create(current, { eventType: 'hook_created', correlationId: 'hook_c', eventData: { token: token2 } });
  const conflict = await v4.events.create(old, {
    eventType: 'hook_created',
    correlationId: 'hook_d',
    eventData: { token: token2, isWebhook: false },
  });
  assert.equal(conflict.event.eventType, 'hook_conflict');
});
