// Conformance (spec 7): hook_created (isSystem, tokenRetentionUntil, conflicts), hook_received
// (terminal runs, disposal, resumeId and its dedup) and hook_disposed (§4.9–4.11). Checklist items
// V65–V74 of the 5.x checklist (docs/conformance-v5.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fixtures from '../support/world-v5.mjs';

const v = fixtures.useWorldV5();

const DAY_MS = 24 * 3600_000;
const hookRetentionDeclared = () => v.world.capabilities?.hookRetention?.active === true;

/** Whether the hook entity is still readable (retained) rather than gone. */
async function hookReadable(hookId) {
  try {
    await v.world.hooks.get(hookId);
    return true;
  } catch (err) {
    assert.equal(err.name, 'HookNotFoundError', `hooks.get threw ${err.name}: ${err.message}`);
    return false;
  }
}

test('V65 hook_created {isWebhook: false, isSystem: true, tokenRetentionUntil: D} returns and persists isSystem and D (ms)', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const tokenRetentionUntil = new Date(Date.now() + 3_600_000 + 123);
  const { hookId, token, res } = await fixtures.createHook(v.world, runId, {
    isWebhook: false,
    isSystem: true,
    tokenRetentionUntil,
  });
  assert.equal(res.event.eventType, 'hook_created');
  for (const [label, hook] of [
    ['result', res.hook],
    ['hooks.get', await v.world.hooks.get(hookId)],
    ['hooks.getByToken', await v.world.hooks.getByToken(token)],
    ['hooks.list', (await v.world.hooks.list({ runId })).data.find((hk) => hk.hookId === hookId)],
  ]) {
    assert.ok(hook, `${label}: hook missing`);
    assert.equal(hook.hookId, hookId, label);
    assert.equal(hook.token, token, label);
    assert.equal(hook.isSystem, true, `${label}.isSystem`);
    assert.equal(hook.isWebhook, false, `${label}.isWebhook`);
    fixtures.assertDate(hook.tokenRetentionUntil, tokenRetentionUntil, `${label}.tokenRetentionUntil`);
  }
  const created = (await fixtures.listAllEvents(v.world, runId)).at(-1);
  assert.equal(created.eventData.isSystem, true);
  fixtures.assertDate(
    created.eventData.tokenRetentionUntil,
    tokenRetentionUntil,
    'hook_created.eventData.tokenRetentionUntil',
  );
});

test('V66 a token held by a live hook of another run yields hook_conflict {token, conflictingRunId} and no hook entity', async () => {
  const holder = await fixtures.createRunningRun(v.world);
  const { token, hookId: heldBy } = await fixtures.createHook(v.world, holder.runId);
  const { runId } = await fixtures.createRunningRun(v.world);
  const { hookId, res } = await fixtures.createHook(v.world, runId, { token });
  assert.equal(res.event.eventType, 'hook_conflict');
  assert.equal(res.event.correlationId, hookId);
  fixtures.assertSameData(res.event.eventData, { token, conflictingRunId: holder.runId });
  assert.equal(res.hook, undefined);
  assert.ok(fixtures.slotOf(res.event.eventId) > 0, 'the hook_conflict takes a slot');
  await fixtures.expectReject(v.world.hooks.get(hookId), 'HookNotFoundError');
  assert.equal((await v.world.hooks.getByToken(token)).hookId, heldBy);
  assert.deepEqual((await v.world.hooks.list({ runId })).data, []);
  assert.equal((await fixtures.listAllEvents(v.world, runId)).at(-1).eventType, 'hook_conflict');
});

test('V67 a tokenRetentionUntil beyond the World limit throws WorkflowWorldError status 400 and stores nothing', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const hookId = fixtures.newHookId();
  const token = fixtures.newToken();
  const err = await fixtures.assertNothingAppended(v.world, runId, () =>
    fixtures.expectReject(
      fixtures.createHook(v.world, runId, { hookId, token, tokenRetentionUntil: new Date(Date.now() + 3650 * DAY_MS) }),
      'WorkflowWorldError',
    ),
  );
  assert.equal(err.status, 400);
  await fixtures.expectReject(v.world.hooks.get(hookId), 'HookNotFoundError');
  await fixtures.expectReject(v.world.hooks.getByToken(token), 'HookNotFoundError');
});

test('V68 hook_received after the hook_disposed committed throws HookNotFoundError', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const { hookId, token } = await fixtures.createHook(v.world, runId);
  await fixtures.disposeHook(v.world, runId, hookId, token);
  await fixtures.assertNothingAppended(v.world, runId, () =>
    fixtures.expectReject(fixtures.receiveHook(v.world, runId, hookId, token), 'HookNotFoundError'),
  );
});

test('V69 hook_received on a terminal run whose hook is retained throws RunExpiredError and appends nothing', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const { hookId, token } = await fixtures.createHook(v.world, runId, {
    tokenRetentionUntil: new Date(Date.now() + 3_600_000),
  });
  await fixtures.terminateRun(v.world, runId, 'completed');
  const retained = await hookReadable(hookId);
  if (hookRetentionDeclared()) assert.equal(retained, true, 'hookRetention is declared, so the hook is retained');
  // A World without hook retention deleted the hook with its run: the receive is then a HookNotFoundError.
  await fixtures.assertNothingAppended(v.world, runId, () =>
    fixtures.expectReject(
      fixtures.receiveHook(v.world, runId, hookId, token),
      retained ? 'RunExpiredError' : 'HookNotFoundError',
    ),
  );
});

test('V69 a retained hook outlives its run: readable and holding its token until tokenRetentionUntil, then gone and its token free (hookRetention)', async () => {
  assert.equal(hookRetentionDeclared(), true, 'the 5.x World declares capabilities.hookRetention.active');
  const { runId } = await fixtures.createRunningRun(v.world);
  const retainedFor = 2_000;
  const { hookId, token } = await fixtures.createHook(v.world, runId, {
    tokenRetentionUntil: new Date(Date.now() + retainedFor),
  });
  await fixtures.terminateRun(v.world, runId, 'completed');
  assert.equal((await v.world.hooks.getByToken(token)).hookId, hookId, 'readable by token after its run ended');
  assert.deepEqual(
    (await v.world.hooks.list({ runId })).data.map((h) => h.hookId),
    [hookId],
  );
  const other = await fixtures.createRunningRun(v.world);
  const early = await fixtures.createHook(v.world, other.runId, { token });
  assert.equal(early.res.event.eventType, 'hook_conflict', 'the token is still held');
  assert.deepEqual(early.res.event.eventData, { token, conflictingRunId: runId });
  await new Promise((resolve) => setTimeout(resolve, retainedFor + 500));
  await fixtures.expectReject(v.world.hooks.get(hookId), 'HookNotFoundError');
  await fixtures.expectReject(v.world.hooks.getByToken(token), 'HookNotFoundError');
  assert.deepEqual((await v.world.hooks.list({ runId })).data, []);
  const late = await fixtures.createHook(v.world, other.runId, { token });
  assert.equal(late.res.event.eventType, 'hook_created', 'the token is free once the retention ended');
  assert.equal((await v.world.hooks.getByToken(token)).runId, other.runId);
});

test(
  'V66 a retried hook_created whose first attempt logged hook_conflict returns that conflict again and appends nothing',
  fixtures.localDivergence('§4.9: world-local logs a second hook_conflict for the same hook (docs/conformance-v5.md)'),
  async () => {
    const holder = await fixtures.createRunningRun(v.world);
    const { token } = await fixtures.createHook(v.world, holder.runId);
    const { runId } = await fixtures.createRunningRun(v.world);
    const hookId = fixtures.newHookId();
    const first = await fixtures.createHook(v.world, runId, { hookId, token });
    assert.equal(first.res.event.eventType, 'hook_conflict');
    const again = await fixtures.assertNothingAppended(v.world, runId, () =>
      fixtures.createHook(v.world, runId, { hookId, token }),
    );
    assert.equal(again.res.event.eventId, first.res.event.eventId, 'the same event');
    assert.equal(again.res.event.eventType, 'hook_conflict');
    fixtures.assertSameData(again.res.event.eventData, { token, conflictingRunId: holder.runId });
  },
);

test('V70 hook_received with params.resumeId stores a top-level resumeId, returned by events.list (also with resolveData none)', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const { hookId, token } = await fixtures.createHook(v.world, runId);
  const res = await fixtures.receiveHook(v.world, runId, hookId, token, { params: { resumeId: 'r1' } });
  assert.equal(res.event.resumeId, 'r1');
  const plain = await fixtures.receiveHook(v.world, runId, hookId, token);
  assert.equal(plain.event.resumeId, undefined, 'no resumeId without params.resumeId');
  for (const resolveData of ['all', 'none']) {
    const events = await fixtures.listAllEvents(v.world, runId, { resolveData });
    const received = events.find((e) => e.eventId === res.event.eventId);
    assert.equal(received.eventType, 'hook_received');
    assert.equal(received.resumeId, 'r1', `resumeId (${resolveData})`);
    assert.equal(received.eventData?.resumeId, undefined, 'resumeId is top-level, not in eventData');
    assert.equal(events.find((e) => e.eventId === plain.event.eventId).resumeId, undefined);
  }
});

test('V71 a repeated hook_received with the same (runId, resumeId), hook and digest returns the committed event and appends nothing', async () => {
  assert.equal(v.world.capabilities?.hookResumeDedup, true, 'this suite expects hookResumeDedup to be declared');
  const { runId } = await fixtures.createRunningRun(v.world);
  const { hookId, token } = await fixtures.createHook(v.world, runId);
  const body = fixtures.payload('resume-body');
  const params = { resumeId: 'r1', resumePayloadDigest: 'sha256:aaaa' };
  const first = await fixtures.receiveHook(v.world, runId, hookId, token, { body, params });
  const again = await fixtures.assertNothingAppended(v.world, runId, () =>
    fixtures.receiveHook(v.world, runId, hookId, token, { body, params }),
  );
  assert.equal(again.event.eventId, first.event.eventId);
  assert.equal(again.event.resumeId, 'r1');
  fixtures.assertBytes(again.event.eventData.payload, body, 'the committed payload');
  // Without a digest on the repeat the same resume still converges.
  const noDigest = await fixtures.assertNothingAppended(v.world, runId, () =>
    fixtures.receiveHook(v.world, runId, hookId, token, { body, params: { resumeId: 'r1' } }),
  );
  assert.equal(noDigest.event.eventId, first.event.eventId);
  // Concurrent writers of one resume converge on one event.
  const r2 = { resumeId: 'r2', resumePayloadDigest: 'sha256:bbbb' };
  const both = await Promise.all([
    fixtures.receiveHook(v.world, runId, hookId, token, { body, params: r2 }),
    fixtures.receiveHook(v.world, runId, hookId, token, { body, params: r2 }),
  ]);
  assert.equal(both[0].event.eventId, both[1].event.eventId);
  const received = (await fixtures.listAllEvents(v.world, runId)).filter((e) => e.eventType === 'hook_received');
  assert.deepEqual(
    received.map((e) => e.resumeId),
    ['r1', 'r2'],
  );
});

test('V72 the same resumeId with another hookId, or with another digest, throws EntityConflictError', async () => {
  assert.equal(v.world.capabilities?.hookResumeDedup, true, 'this suite expects hookResumeDedup to be declared');
  const { runId } = await fixtures.createRunningRun(v.world);
  const a = await fixtures.createHook(v.world, runId);
  const b = await fixtures.createHook(v.world, runId);
  const params = { resumeId: 'r1', resumePayloadDigest: 'sha256:aaaa' };
  await fixtures.receiveHook(v.world, runId, a.hookId, a.token, { params });
  await fixtures.assertNothingAppended(v.world, runId, async () => {
    await fixtures.expectReject(
      fixtures.receiveHook(v.world, runId, b.hookId, b.token, { params }),
      'EntityConflictError',
    );
    await fixtures.expectReject(
      fixtures.receiveHook(v.world, runId, a.hookId, a.token, {
        params: { resumeId: 'r1', resumePayloadDigest: 'sha256:cccc' },
      }),
      'EntityConflictError',
    );
  });
  // The key is per run: another run may use the same resumeId.
  const other = await fixtures.createRunningRun(v.world);
  const c = await fixtures.createHook(v.world, other.runId);
  const res = await fixtures.receiveHook(v.world, other.runId, c.hookId, c.token, { params });
  assert.equal(res.event.resumeId, 'r1');
});

test('V73 after the hook is disposed, a repeat of a committed resume returns the committed event instead of HookNotFoundError', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const { hookId, token } = await fixtures.createHook(v.world, runId);
  const params = { resumeId: 'r1', resumePayloadDigest: 'sha256:aaaa' };
  const first = await fixtures.receiveHook(v.world, runId, hookId, token, { params });
  await fixtures.disposeHook(v.world, runId, hookId, token);
  const again = await fixtures.assertNothingAppended(v.world, runId, () =>
    fixtures.receiveHook(v.world, runId, hookId, token, { params }),
  );
  assert.equal(again.event.eventId, first.event.eventId);
  // A new resume on the disposed hook is still refused.
  await fixtures.expectReject(
    fixtures.receiveHook(v.world, runId, hookId, token, { params: { resumeId: 'r-new' } }),
    'HookNotFoundError',
  );
});

test('V74 hook_disposed on a hook with a future tokenRetentionUntil removes it and frees its token', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const { hookId, token } = await fixtures.createHook(v.world, runId, {
    tokenRetentionUntil: new Date(Date.now() + 3_600_000),
  });
  const res = await fixtures.disposeHook(v.world, runId, hookId, token);
  assert.equal(res.event.eventType, 'hook_disposed');
  await fixtures.expectReject(v.world.hooks.get(hookId), 'HookNotFoundError');
  await fixtures.expectReject(v.world.hooks.getByToken(token), 'HookNotFoundError');
  assert.deepEqual((await v.world.hooks.list({ runId })).data, []);
  const other = await fixtures.createRunningRun(v.world);
  const reused = await fixtures.createHook(v.world, other.runId, { token });
  assert.equal(reused.res.event.eventType, 'hook_created');
  assert.equal((await v.world.hooks.getByToken(token)).runId, other.runId);
  // It stays gone after its own run ends, and the new owner keeps the token.
  await fixtures.terminateRun(v.world, runId, 'completed');
  assert.equal((await v.world.hooks.getByToken(token)).runId, other.runId);
  assert.ok(!fixtures.typesOf(await fixtures.listAllEvents(v.world, other.runId)).includes('hook_conflict'));
});
