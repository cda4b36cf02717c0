// Conformance: hooks (§3.4.9–3.4.11, §3.6, §2.5). Checklist items §8.59–78.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useHarness } from '../support/harness.mjs';
import * as fixtures from '../support/storage.mjs';

const h = useHarness();

const hookEvents = async (runId, hookId) =>
  (await fixtures.listAllEvents(h.world, runId)).filter((e) => e.correlationId === hookId);

async function assertHookGone(hookId, token) {
  await fixtures.expectReject(h.world.hooks.get(hookId), 'HookNotFoundError', { props: { token: hookId } });
  await fixtures.expectReject(h.world.hooks.getByToken(token), 'HookNotFoundError', { props: { token } });
}

// ---------------------------------------------------------------------------
// §3.4.9 hook_created

test('§8.59 hook_created {token, metadata, isWebhook:false} returns the hook, and getByToken returns it with metadata', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const hookId = fixtures.newHookId();
  const token = fixtures.newToken('t1');
  const metadata = fixtures.payload('meta-59');
  const res = await h.world.events.create(runId, {
    eventType: 'hook_created',
    correlationId: hookId,
    eventData: { token, metadata, isWebhook: false },
  });
  assert.equal(res.event.eventType, 'hook_created');
  assert.equal(res.event.correlationId, hookId);
  assert.ok(res.hook, 'result.hook missing');
  const byToken = await h.world.hooks.getByToken(token);
  const byId = await h.world.hooks.get(hookId);
  for (const hook of [res.hook, byToken, byId]) {
    assert.equal(hook.runId, runId);
    assert.equal(hook.hookId, hookId);
    assert.equal(hook.token, token);
    assert.equal(hook.isWebhook, false);
    assert.equal(hook.specVersion, 3);
    assert.equal(typeof hook.ownerId, 'string');
    assert.equal(typeof hook.projectId, 'string');
    assert.equal(typeof hook.environment, 'string');
    fixtures.assertDate(hook.createdAt, undefined, 'createdAt');
  }
  fixtures.assertBytes(byToken.metadata, metadata, 'getByToken metadata');
  fixtures.assertBytes(byId.metadata, metadata, 'get metadata');
  fixtures.assertBytes(res.hook.metadata, metadata, 'result.hook metadata');
  fixtures.assertDate(byToken.createdAt, res.hook.createdAt, 'createdAt stable');
});

test('§8.60 a duplicate hook_created (same run, hookId, token) throws EntityConflictError and leaves the entity unchanged', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { hookId, token } = await fixtures.createHook(h.world, runId, {
    metadata: fixtures.payload('original'),
    isWebhook: false,
  });
  const before = await h.world.hooks.get(hookId);
  await fixtures.assertNothingAppended(h.world, runId, () =>
    fixtures.expectReject(
      h.world.events.create(runId, {
        eventType: 'hook_created',
        correlationId: hookId,
        eventData: { token, metadata: fixtures.payload('different'), isWebhook: true },
      }),
      'EntityConflictError',
      { message: `Hook "${hookId}" already created` },
    ),
  );
  assert.deepEqual(fixtures.typesOf(await hookEvents(runId, hookId)), ['hook_created']);
  const after = await h.world.hooks.get(hookId);
  fixtures.assertSameData(after, before, 'hook entity unchanged');
  fixtures.assertBytes(after.metadata, fixtures.payload('original'), 'metadata unchanged');
});

test('§8.61 hook_created in R2 with a token held by R1 does not throw and returns a hook_conflict event', async () => {
  const r1 = await fixtures.createRunningRun(h.world);
  const r2 = await fixtures.createRunningRun(h.world);
  const token = fixtures.newToken('shared');
  await fixtures.createHook(h.world, r1.runId, { token });
  const hookId2 = fixtures.newHookId();
  const res = await h.world.events.create(r2.runId, {
    eventType: 'hook_created',
    correlationId: hookId2,
    eventData: { token, metadata: fixtures.payload('m2'), isWebhook: false },
  });
  assert.equal(res.event.eventType, 'hook_conflict');
  assert.equal(res.event.correlationId, hookId2);
  assert.equal(res.event.runId, r2.runId);
  fixtures.assertSameData(res.event.eventData, { token, conflictingRunId: r1.runId });
  assert.equal(res.hook, undefined);
  assert.equal(res.event.specVersion, 3);
});

test("§8.62 after a hook_conflict: it is in R2's log, R2 has no hook entity, getByToken still returns R1's hook", async () => {
  const r1 = await fixtures.createRunningRun(h.world);
  const r2 = await fixtures.createRunningRun(h.world);
  const token = fixtures.newToken('shared62');
  const { hookId: hookId1 } = await fixtures.createHook(h.world, r1.runId, { token });
  const hookId2 = fixtures.newHookId();
  const res = await h.world.events.create(r2.runId, {
    eventType: 'hook_created',
    correlationId: hookId2,
    eventData: { token, isWebhook: false },
  });
  const log = await fixtures.listAllEvents(h.world, r2.runId);
  assert.deepEqual(fixtures.typesOf(log), ['run_created', 'run_started', 'hook_conflict']);
  assert.equal(log[2].eventId, res.event.eventId);
  fixtures.assertSameData(log[2].eventData, { token, conflictingRunId: r1.runId });
  assert.equal(log[2].correlationId, hookId2);
  assert.deepEqual((await h.world.hooks.list({ runId: r2.runId })).data, []);
  await fixtures.expectReject(h.world.hooks.get(hookId2), 'HookNotFoundError');
  const holder = await h.world.hooks.getByToken(token);
  assert.equal(holder.runId, r1.runId);
  assert.equal(holder.hookId, hookId1);
  assert.deepEqual(fixtures.typesOf(await hookEvents(r1.runId, hookId1)), ['hook_created']);
});

test('§8.63 a second hookId in the same run with a held token yields hook_conflict with conflictingRunId = that run', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const token = fixtures.newToken('same-run');
  const { hookId: hookA } = await fixtures.createHook(h.world, runId, { token });
  const hookB = fixtures.newHookId();
  const res = await h.world.events.create(runId, {
    eventType: 'hook_created',
    correlationId: hookB,
    eventData: { token, isWebhook: false },
  });
  assert.equal(res.event.eventType, 'hook_conflict');
  assert.equal(res.event.correlationId, hookB);
  fixtures.assertSameData(res.event.eventData, { token, conflictingRunId: runId });
  assert.equal(res.hook, undefined);
  await fixtures.expectReject(h.world.hooks.get(hookB), 'HookNotFoundError');
  assert.equal((await h.world.hooks.getByToken(token)).hookId, hookA);
  assert.deepEqual(
    (await h.world.hooks.list({ runId })).data.map((x) => x.hookId),
    [hookA],
  );
});

test('§8.64 two concurrent hook_created with one token in different runs: exactly one hook entity, the other a hook_conflict', async () => {
  for (let trial = 0; trial < 10; trial++) {
    const r1 = await fixtures.createRunningRun(h.world);
    const r2 = await fixtures.createRunningRun(h.world);
    const token = fixtures.newToken('race64');
    const h1 = fixtures.newHookId();
    const h2 = fixtures.newHookId();
    const results = await Promise.allSettled([
      h.world.events.create(r1.runId, {
        eventType: 'hook_created',
        correlationId: h1,
        eventData: { token, isWebhook: false },
      }),
      h.world.events.create(r2.runId, {
        eventType: 'hook_created',
        correlationId: h2,
        eventData: { token, isWebhook: false },
      }),
    ]);
    for (const r of results) assert.equal(r.status, 'fulfilled', `trial ${trial}: no throw: ${r.reason?.message}`);
    const kinds = results.map((r) => r.value.event.eventType);
    assert.deepEqual([...kinds].sort(), ['hook_conflict', 'hook_created'], `trial ${trial}`);
    const winner = kinds[0] === 'hook_created' ? 0 : 1;
    const [winRun, loseRun] = winner === 0 ? [r1.runId, r2.runId] : [r2.runId, r1.runId];
    const [winHook, loseHook] = winner === 0 ? [h1, h2] : [h2, h1];
    assert.equal(results[winner].value.hook.hookId, winHook);
    assert.equal(results[1 - winner].value.hook, undefined);
    assert.equal(results[1 - winner].value.event.eventData.conflictingRunId, winRun);
    const holder = await h.world.hooks.getByToken(token);
    assert.equal(holder.hookId, winHook);
    assert.equal((await h.world.hooks.list({ runId: winRun })).data.length, 1);
    assert.equal((await h.world.hooks.list({ runId: loseRun })).data.length, 0);
    await fixtures.expectReject(h.world.hooks.get(loseHook), 'HookNotFoundError');
  }
});

test('§8.65 hook_created on a terminal run throws EntityConflictError and claims no token', async () => {
  for (const status of fixtures.TERMINAL_RUN_STATUSES) {
    const { runId } = await fixtures.createRunningRun(h.world);
    await fixtures.terminateRun(h.world, runId, status);
    const hookId = fixtures.newHookId();
    const token = fixtures.newToken('terminal');
    await fixtures.assertNothingAppended(h.world, runId, () =>
      fixtures.expectReject(
        h.world.events.create(runId, {
          eventType: 'hook_created',
          correlationId: hookId,
          eventData: { token, isWebhook: false },
        }),
        'EntityConflictError',
        { message: `Cannot create new entities on run in terminal state "${status}"` },
      ),
    );
    await assertHookGone(hookId, token);
  }
});

test('§8.66 a token with ":", "/", ".", "%" and non-ASCII characters works and getByToken finds it', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const token = `${fixtures.newToken('order')}:42/a.b%20%2F..\\ü日本🎉'"; DROP TABLE hooks;--`;
  const { hookId, res } = await fixtures.createHook(h.world, runId, { token });
  assert.equal(res.hook.token, token);
  const hook = await h.world.hooks.getByToken(token);
  assert.equal(hook.hookId, hookId);
  assert.equal(hook.token, token);
  await fixtures.expectReject(h.world.hooks.getByToken(token.slice(0, -1)), 'HookNotFoundError');
  await fixtures.expectReject(h.world.hooks.getByToken(token.toUpperCase()), 'HookNotFoundError');
});

// ---------------------------------------------------------------------------
// §3.4.10 hook_received

test('§8.67 hook_received appends the payload byte-equal, leaves the hook unchanged and returns no hook', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { hookId, token } = await fixtures.createHook(h.world, runId);
  const before = await h.world.hooks.get(hookId);
  const body = new Uint8Array([0x64, 0x65, 0x76, 0x6c, 0, 0, 1, 255, 0, 128]);
  const res = await fixtures.receiveHook(h.world, runId, hookId, token, body);
  assert.deepEqual(fixtures.definedKeys(res), ['event']);
  assert.equal(res.event.eventType, 'hook_received');
  assert.equal(res.event.correlationId, hookId);
  assert.equal(res.event.eventData.token, token);
  fixtures.assertBytes(res.event.eventData.payload, body, 'result payload');
  const stored = (await hookEvents(runId, hookId)).find((e) => e.eventType === 'hook_received');
  fixtures.assertBytes(stored.eventData.payload, body, 'stored payload');
  fixtures.assertSameData(await h.world.hooks.get(hookId), before, 'hook entity unchanged');
});

test('§8.68 hook_received for a missing hook throws HookNotFoundError and stores nothing', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const hookId = fixtures.newHookId();
  await fixtures.assertNothingAppended(h.world, runId, () =>
    fixtures.expectReject(fixtures.receiveHook(h.world, runId, hookId, fixtures.newToken()), 'HookNotFoundError', {
      props: { token: hookId },
    }),
  );
});

test('§8.69 a hook received twice has two hook_received events (no dedup)', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { hookId, token } = await fixtures.createHook(h.world, runId);
  const body = fixtures.payload('same');
  const a = await fixtures.receiveHook(h.world, runId, hookId, token, body);
  const b = await fixtures.receiveHook(h.world, runId, hookId, token, body);
  assert.notEqual(a.event.eventId, b.event.eventId);
  const evs = await hookEvents(runId, hookId);
  assert.deepEqual(fixtures.typesOf(evs), ['hook_created', 'hook_received', 'hook_received']);
  assert.deepEqual(
    evs.slice(1).map((e) => e.eventId),
    [a.event.eventId, b.event.eventId],
  );
});

// ---------------------------------------------------------------------------
// §3.4.11 hook_disposed

test('§8.70 hook_disposed removes the hook (get and getByToken → HookNotFoundError) and appends the event', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { hookId, token } = await fixtures.createHook(h.world, runId);
  const res = await fixtures.disposeHook(h.world, runId, hookId, token);
  assert.deepEqual(fixtures.definedKeys(res), ['event']);
  assert.equal(res.event.eventType, 'hook_disposed');
  assert.equal(res.event.correlationId, hookId);
  await assertHookGone(hookId, token);
  assert.deepEqual((await h.world.hooks.list({ runId })).data, []);
  assert.deepEqual(fixtures.typesOf(await hookEvents(runId, hookId)), ['hook_created', 'hook_disposed']);
});

test('§8.71 disposing a disposed hook throws HookNotFoundError (EntityConflictError under concurrency); exactly one hook_disposed', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { hookId, token } = await fixtures.createHook(h.world, runId);
  await fixtures.disposeHook(h.world, runId, hookId, token);
  await fixtures.assertNothingAppended(h.world, runId, () =>
    fixtures.expectReject(fixtures.disposeHook(h.world, runId, hookId, token), 'HookNotFoundError'),
  );
  assert.deepEqual(fixtures.typesOf(await hookEvents(runId, hookId)), ['hook_created', 'hook_disposed']);
  // Concurrent disposals: one wins, the loser gets HookNotFoundError or EntityConflictError.
  for (let trial = 0; trial < 8; trial++) {
    const hk = await fixtures.createHook(h.world, runId);
    const results = await Promise.allSettled([
      fixtures.disposeHook(h.world, runId, hk.hookId, hk.token),
      fixtures.disposeHook(h.world, runId, hk.hookId, hk.token),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `trial ${trial}: one winner`);
    const loser = results.find((r) => r.status === 'rejected').reason;
    assert.ok(
      ['HookNotFoundError', 'EntityConflictError'].includes(loser?.name),
      `trial ${trial}: ${loser?.name} ${loser?.message}`,
    );
    if (loser.name === 'EntityConflictError') assert.equal(loser.message, `Hook "${hk.hookId}" already disposed`);
    assert.deepEqual(fixtures.typesOf(await hookEvents(runId, hk.hookId)), ['hook_created', 'hook_disposed']);
    await assertHookGone(hk.hookId, hk.token);
  }
});

test('§8.72 after R1 disposes a hook, R2 can create a hook with the same token', async () => {
  const r1 = await fixtures.createRunningRun(h.world);
  const r2 = await fixtures.createRunningRun(h.world);
  const token = fixtures.newToken('reuse');
  const first = await fixtures.createHook(h.world, r1.runId, { token });
  await fixtures.disposeHook(h.world, r1.runId, first.hookId, token);
  const second = await fixtures.createHook(h.world, r2.runId, { token });
  assert.equal(second.res.event.eventType, 'hook_created');
  assert.equal(second.hook.runId, r2.runId);
  const holder = await h.world.hooks.getByToken(token);
  assert.equal(holder.runId, r2.runId);
  assert.equal(holder.hookId, second.hookId);
});

test('§8.73 concurrent hook_received and hook_disposed: no hook_received after hook_disposed; a losing receive gets HookNotFoundError', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  for (let trial = 0; trial < 12; trial++) {
    const { hookId, token } = await fixtures.createHook(h.world, runId);
    // Alternate which request is issued first.
    let received;
    let disposed;
    if (trial % 2 === 0) {
      [received, disposed] = await Promise.allSettled([
        fixtures.receiveHook(h.world, runId, hookId, token),
        fixtures.disposeHook(h.world, runId, hookId, token),
      ]);
    } else {
      [disposed, received] = await Promise.allSettled([
        fixtures.disposeHook(h.world, runId, hookId, token),
        fixtures.receiveHook(h.world, runId, hookId, token),
      ]);
    }
    assert.equal(disposed.status, 'fulfilled', `trial ${trial}: disposal must succeed: ${disposed.reason?.message}`);
    if (received.status === 'rejected') {
      assert.equal(received.reason?.name, 'HookNotFoundError', `trial ${trial}: ${received.reason?.message}`);
    }
    const types = fixtures.typesOf(await hookEvents(runId, hookId));
    const expected =
      received.status === 'fulfilled'
        ? ['hook_created', 'hook_received', 'hook_disposed']
        : ['hook_created', 'hook_disposed'];
    assert.deepEqual(types, expected, `trial ${trial}`);
    await assertHookGone(hookId, token);
  }
});

// ---------------------------------------------------------------------------
// §3.6 terminal cleanup

test("§8.74 run_completed/run_failed/run_cancelled delete all the run's hooks without hook_disposed events", async () => {
  for (const status of fixtures.TERMINAL_RUN_STATUSES) {
    const { runId } = await fixtures.createRunningRun(h.world);
    const a = await fixtures.createHook(h.world, runId, { token: fixtures.newToken('t1') });
    const b = await fixtures.createHook(h.world, runId, { token: fixtures.newToken('t2') });
    assert.equal((await h.world.hooks.list({ runId })).data.length, 2);
    await fixtures.terminateRun(h.world, runId, status);
    await assertHookGone(a.hookId, a.token);
    await assertHookGone(b.hookId, b.token);
    assert.deepEqual((await h.world.hooks.list({ runId })).data, []);
    const types = fixtures.typesOf(await fixtures.listAllEvents(h.world, runId));
    assert.ok(!types.includes('hook_disposed'), `no hook_disposed events: ${types.join(',')}`);
    assert.deepEqual(types, ['run_created', 'run_started', 'hook_created', 'hook_created', `run_${status}`]);
  }
});

test('§8.75 after run termination, another run can create a hook with the freed token (no conflict)', async () => {
  for (const status of fixtures.TERMINAL_RUN_STATUSES) {
    const r = await fixtures.createRunningRun(h.world);
    const token = fixtures.newToken('freed');
    await fixtures.createHook(h.world, r.runId, { token });
    await fixtures.terminateRun(h.world, r.runId, status);
    const other = await fixtures.createRunningRun(h.world);
    const res = await fixtures.createHook(h.world, other.runId, { token });
    assert.equal(res.res.event.eventType, 'hook_created');
    assert.ok(res.hook);
    assert.equal((await h.world.hooks.getByToken(token)).runId, other.runId);
  }
});

test("§8.76 after run termination, hook_received for the run's hook throws HookNotFoundError", async () => {
  for (const status of fixtures.TERMINAL_RUN_STATUSES) {
    const { runId } = await fixtures.createRunningRun(h.world);
    const { hookId, token } = await fixtures.createHook(h.world, runId);
    await fixtures.terminateRun(h.world, runId, status);
    await fixtures.assertNothingAppended(h.world, runId, () =>
      fixtures.expectReject(fixtures.receiveHook(h.world, runId, hookId, token), 'HookNotFoundError'),
    );
  }
});

// ---------------------------------------------------------------------------
// §2.5 isWebhook, §2.10 resolveData on hooks

test('§8.77 a hook created with isWebhook omitted reads back as a boolean everywhere (never undefined)', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { hookId, token, res } = await fixtures.createHook(h.world, runId, { isWebhook: undefined });
  assert.ok(!('isWebhook' in res.event.eventData), 'request had no isWebhook (verbatim event)');
  const listed = (await h.world.hooks.list({ runId })).data.find((x) => x.hookId === hookId);
  const reads = {
    result: res.hook,
    get: await h.world.hooks.get(hookId),
    getNone: await h.world.hooks.get(hookId, { resolveData: 'none' }),
    getByToken: await h.world.hooks.getByToken(token),
    list: listed,
  };
  for (const [where, hook] of Object.entries(reads)) {
    assert.equal(typeof hook.isWebhook, 'boolean', `${where}: isWebhook is ${hook.isWebhook}`);
  }
  const values = new Set(Object.values(reads).map((x) => x.isWebhook));
  assert.equal(values.size, 1, 'every read agrees on isWebhook');
  // An explicit value is stored as given.
  const explicitTrue = await fixtures.createHook(h.world, runId, { isWebhook: true });
  assert.equal((await h.world.hooks.getByToken(explicitTrue.token)).isWebhook, true);
  const explicitFalse = await fixtures.createHook(h.world, runId, { isWebhook: false });
  assert.equal((await h.world.hooks.getByToken(explicitFalse.token)).isWebhook, false);
});

test('§8.78 hooks.get and getByToken with resolveData "none" omit metadata and keep everything else', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { hookId, token } = await fixtures.createHook(h.world, runId, {
    metadata: fixtures.payload('secret'),
    isWebhook: true,
  });
  const full = await h.world.hooks.get(hookId);
  fixtures.assertBytes(full.metadata, fixtures.payload('secret'), 'default resolveData all');
  for (const hook of [
    await h.world.hooks.get(hookId, { resolveData: 'none' }),
    await h.world.hooks.getByToken(token, { resolveData: 'none' }),
  ]) {
    assert.equal(hook.metadata, undefined);
    assert.equal(hook.runId, runId);
    assert.equal(hook.hookId, hookId);
    assert.equal(hook.token, token);
    assert.equal(hook.isWebhook, true);
    assert.equal(hook.specVersion, 3);
    assert.equal(hook.ownerId, full.ownerId);
    assert.equal(hook.projectId, full.projectId);
    assert.equal(hook.environment, full.environment);
    fixtures.assertDate(hook.createdAt, full.createdAt, 'createdAt');
  }
  const listed = await h.world.hooks.list({ runId, resolveData: 'none' });
  assert.equal(listed.data[0].metadata, undefined, 'hooks.list honours resolveData none');
  fixtures.assertBytes(
    (await h.world.hooks.getByToken(token, { resolveData: 'all' })).metadata,
    fixtures.payload('secret'),
    'all',
  );
});
