// Conformance (spec 7): run_created with attributes and keys (§4.2), spec stamping (§4.1), the
// terminal events, terminal cleanup, hook retention and the `$retention: '0'` purge (§4.4, §4.9).
// Checklist items V32–V45 of the 5.x checklist (docs/conformance-v5.md) (V46 is not proven; see
// docs/conformance-v5.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fixtures from '../support/world-v5.mjs';

const v = fixtures.useWorldV5();

const hookRetentionDeclared = () => v.world.capabilities?.hookRetention?.active === true;

// ---------------------------------------------------------------------------
// §4.2 run_created

test('V32 run_created persists attributes and encryptionPublicKey; without attributes run.attributes is {}', async () => {
  const attributes = { team: 'payments', 'order:id': '42' };
  const { runId, res } = await fixtures.createRun(v.world, {
    attributes,
    encryptionPublicKey: fixtures.ENCRYPTION_PUBLIC_KEY,
  });
  assert.deepStrictEqual(res.run.attributes, attributes);
  assert.equal(res.run.encryptionPublicKey, fixtures.ENCRYPTION_PUBLIC_KEY);
  const run = await v.world.runs.get(runId);
  assert.deepStrictEqual(run.attributes, attributes);
  assert.equal(run.encryptionPublicKey, fixtures.ENCRYPTION_PUBLIC_KEY);
  const [created] = await fixtures.listAllEvents(v.world, runId);
  assert.deepStrictEqual(created.eventData.attributes, attributes);
  assert.equal(created.eventData.encryptionPublicKey, fixtures.ENCRYPTION_PUBLIC_KEY);

  const bare = await fixtures.createRun(v.world);
  assert.deepStrictEqual((await v.world.runs.get(bare.runId)).attributes, {});
  assert.equal((await v.world.runs.get(bare.runId)).encryptionPublicKey, undefined);
});

test('V33 a $-prefixed attribute key without allowReservedAttributes throws AttributeValidationError and stores nothing; with it, it succeeds', async () => {
  const runId = fixtures.newRunId();
  await fixtures.expectReject(
    v.world.events.create(runId, fixtures.runCreatedEvent({ attributes: { $retention: '0' } })),
    'AttributeValidationError',
  );
  await fixtures.assertRunAbsent(v.world, runId);
  const attributes = { $retention: 'default', $rootRunId: runId };
  const res = await v.world.events.create(
    runId,
    fixtures.runCreatedEvent({ attributes, allowReservedAttributes: true }),
  );
  assert.deepStrictEqual(res.run.attributes, attributes);
  assert.deepStrictEqual((await v.world.runs.get(runId)).attributes, attributes);
});

test('V34 run_created attributes with 65 keys, a 257-char key or a 257-byte value are rejected (64 / 256 / 256 pass)', async () => {
  const keys = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
  const bad = [keys(65), { ['k'.repeat(257)]: 'v' }, { k: 'v'.repeat(257) }, { k: 'é'.repeat(129) }, { '': 'v' }];
  for (const attributes of bad) {
    const runId = fixtures.newRunId();
    await fixtures.expectReject(
      v.world.events.create(runId, fixtures.runCreatedEvent({ attributes })),
      'AttributeValidationError',
    );
    await fixtures.assertRunAbsent(v.world, runId);
  }
  for (const attributes of [keys(64), { ['k'.repeat(256)]: 'v' }, { k: 'v'.repeat(256) }, { k: 'é'.repeat(128) }]) {
    const { run } = await fixtures.createRun(v.world, { attributes });
    assert.deepStrictEqual(run.attributes, attributes);
  }
});

test('V35 an event created without specVersion is stored with specVersion 7, and run.specVersion equals its run_created', async () => {
  const w = v.world;
  const { runId, res } = await fixtures.createRunningRun(w);
  assert.equal(res.run.specVersion, 7);
  await fixtures.createStep(w, runId);
  await fixtures.createWait(w, runId);
  await fixtures.createHook(w, runId);
  const events = await fixtures.listAllEvents(w, runId);
  for (const e of events) assert.equal(e.specVersion, 7, `${e.eventType}.specVersion`);
  assert.equal((await w.runs.get(runId)).specVersion, events[0].specVersion);
  // Runs stamped 6 are stored and served identically (§1.3): slot ids, specVersion kept.
  const six = await fixtures.createRun(w, { specVersion: 6 });
  assert.equal(six.run.specVersion, 6);
  assert.equal(six.res.event.specVersion, 6);
  assert.match(six.res.event.eventId, fixtures.SLOT_ID_RE);
  assert.equal((await w.runs.get(six.runId)).specVersion, 6);
});

// ---------------------------------------------------------------------------
// §4.4 terminal events

test('V106 a run stamped 8 (above what this World serves) is created on slot 1; a later write that loads it throws RunNotSupportedError', async () => {
  const runId = fixtures.newRunId();
  const res = await v.world.events.create(runId, fixtures.runCreatedEvent({ specVersion: 8 }));
  assert.equal(res.event.eventId, 'evnt_00000000000000000000000001', 'slot identity, as for every new 5.x run');
  assert.equal(res.run.specVersion, 8);
  const err = await fixtures.assertNothingAppended(v.world, runId, () =>
    fixtures.expectReject(
      v.world.events.create(runId, { eventType: 'run_started', specVersion: 8 }),
      'RunNotSupportedError',
    ),
  );
  assert.equal(err.runSpecVersion, 8);
});

test('V36 run_failed {error: bytes with 0x00, errorCode} stores run.error byte-identical and run.errorCode, with no derivation', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const error = fixtures.errorBytes('boom');
  const res = await v.world.events.create(runId, {
    eventType: 'run_failed',
    eventData: { error, errorCode: 'USER_ERROR' },
  });
  assert.equal(res.run.status, 'failed');
  fixtures.assertBytes(res.run.error, error, 'result run.error');
  const run = await v.world.runs.get(runId);
  assert.equal(run.status, 'failed');
  fixtures.assertBytes(run.error, error, 'runs.get error');
  assert.equal(run.errorCode, 'USER_ERROR');
  fixtures.assertDate(run.completedAt, undefined, 'completedAt');
  const failed = (await fixtures.listAllEvents(v.world, runId)).at(-1);
  assert.equal(failed.eventType, 'run_failed');
  fixtures.assertBytes(failed.eventData.error, error, 'run_failed.eventData.error');
  assert.equal(failed.eventData.errorCode, 'USER_ERROR');
});

test('V37 run_cancelled {cancelReason} keeps the reason on the event, also under resolveData none', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const reason = 'cancelled by operator: x'.padEnd(512, '.');
  const res = await v.world.events.create(runId, { eventType: 'run_cancelled', eventData: { cancelReason: reason } });
  assert.equal(res.run.status, 'cancelled');
  assert.equal(res.event.eventData.cancelReason, reason);
  for (const resolveData of ['all', 'none']) {
    const cancelled = (await fixtures.listAllEvents(v.world, runId, { resolveData })).at(-1);
    assert.equal(cancelled.eventType, 'run_cancelled');
    assert.equal(cancelled.eventData?.cancelReason, reason, `cancelReason (${resolveData})`);
  }
});

test('V38 run_failed on a missing run throws WorkflowRunNotFoundError and stores nothing', async () => {
  const runId = fixtures.newRunId();
  await fixtures.expectReject(
    v.world.events.create(runId, {
      eventType: 'run_failed',
      eventData: { error: fixtures.errorBytes(), errorCode: 'X' },
    }),
    'WorkflowRunNotFoundError',
  );
  await fixtures.assertRunAbsent(v.world, runId);
});

test(
  'V39 run_completed or run_cancelled on a missing run throws WorkflowRunNotFoundError and stores nothing',
  fixtures.localDivergence(
    'V39/§11.1: world-local stores an orphan run_completed / run_cancelled at slot 1 for a missing run',
  ),
  async () => {
    for (const data of [
      { eventType: 'run_completed', eventData: { output: fixtures.payload('o') } },
      { eventType: 'run_cancelled' },
      { eventType: 'run_cancelled', eventData: { cancelReason: 'x' } },
    ]) {
      const runId = fixtures.newRunId();
      await fixtures.expectReject(v.world.events.create(runId, data), 'WorkflowRunNotFoundError');
      await fixtures.assertRunAbsent(v.world, runId);
    }
  },
);

test(
  '§4.1 step_created, hook_created, wait_created and a lazy step_started on a missing run throw WorkflowRunNotFoundError and store nothing',
  fixtures.localDivergence('§4.1/§11.1: world-local creates steps, hooks and waits for a missing run'),
  async () => {
    const requests = [
      {
        eventType: 'step_created',
        correlationId: fixtures.newStepId(),
        eventData: { stepName: 's', input: fixtures.payload() },
      },
      {
        eventType: 'step_started',
        correlationId: fixtures.newStepId(),
        eventData: { stepName: 's', input: fixtures.payload() },
      },
      {
        eventType: 'hook_created',
        correlationId: fixtures.newHookId(),
        eventData: { token: fixtures.newToken(), isWebhook: false },
      },
      {
        eventType: 'wait_created',
        correlationId: fixtures.newWaitId(),
        eventData: { resumeAt: new Date(Date.now() + 60_000) },
      },
    ];
    for (const data of requests) {
      const runId = fixtures.newRunId();
      await fixtures.expectReject(v.world.events.create(runId, data), 'WorkflowRunNotFoundError');
      await fixtures.assertRunAbsent(v.world, runId);
    }
    const token = requests[2].eventData.token;
    await fixtures.expectReject(v.world.hooks.getByToken(token), 'HookNotFoundError');
  },
);

test('V40 after run_completed, hooks without retention and all waits are gone, and no hook_disposed was appended', async () => {
  const w = v.world;
  const { runId } = await fixtures.createRunningRun(w);
  const hooks = [await fixtures.createHook(w, runId), await fixtures.createHook(w, runId, { isWebhook: true })];
  const waits = [await fixtures.createWait(w, runId), await fixtures.createWait(w, runId)];
  await fixtures.terminateRun(w, runId, 'completed');
  for (const { hookId, token } of hooks) {
    await fixtures.expectReject(w.hooks.get(hookId), 'HookNotFoundError');
    await fixtures.expectReject(w.hooks.getByToken(token), 'HookNotFoundError');
  }
  assert.deepEqual((await w.hooks.list({ runId })).data, []);
  for (const { correlationId } of waits) {
    await fixtures.assertNothingAppended(w, runId, () =>
      fixtures.expectReject(fixtures.completeWait(w, runId, correlationId), 'WorkflowWorldError'),
    );
  }
  const types = fixtures.typesOf(await fixtures.listAllEvents(w, runId));
  assert.ok(!types.includes('hook_disposed'), 'terminal cleanup writes no hook_disposed');
  // The released tokens are free for another run.
  const other = await fixtures.createRunningRun(w);
  const reused = await fixtures.createHook(w, other.runId, { token: hooks[0].token });
  assert.equal(reused.res.event.eventType, 'hook_created');
});

test('V41 a hook retained by a future tokenRetentionUntil survives termination: readable and still conflicting (MUST-if-hookRetention)', async () => {
  const w = v.world;
  const { runId } = await fixtures.createRunningRun(w);
  const tokenRetentionUntil = new Date(Date.now() + 3_600_000);
  const { hookId, token } = await fixtures.createHook(w, runId, { tokenRetentionUntil });
  await fixtures.terminateRun(w, runId, 'completed');
  const other = await fixtures.createRunningRun(w);
  let retained;
  try {
    await w.hooks.get(hookId);
    retained = true;
  } catch (err) {
    assert.equal(err.name, 'HookNotFoundError');
    retained = false;
  }
  if (hookRetentionDeclared()) assert.equal(retained, true, 'hookRetention is declared, so the hook is retained');
  if (retained) {
    const byId = await w.hooks.get(hookId);
    assert.equal(byId.token, token);
    fixtures.assertDate(byId.tokenRetentionUntil, tokenRetentionUntil, 'tokenRetentionUntil');
    assert.equal((await w.hooks.getByToken(token)).hookId, hookId);
    assert.deepEqual(
      (await w.hooks.list({ runId })).data.map((hk) => hk.hookId),
      [hookId],
    );
    const conflict = await fixtures.createHook(w, other.runId, { token });
    assert.equal(conflict.res.event.eventType, 'hook_conflict');
    assert.equal(conflict.res.event.eventData.conflictingRunId, runId);
  } else {
    // Without hook retention the hook goes with its run, as every other hook does (V40).
    await fixtures.expectReject(w.hooks.getByToken(token), 'HookNotFoundError');
    assert.deepEqual((await w.hooks.list({ runId })).data, []);
    const reused = await fixtures.createHook(w, other.runId, { token });
    assert.equal(reused.res.event.eventType, 'hook_created');
  }
});

test('V42 after its tokenRetentionUntil passes, another run can take a retained token (MUST-if-hookRetention; holds either way)', async () => {
  const w = v.world;
  const { runId } = await fixtures.createRunningRun(w);
  const tokenRetentionUntil = new Date(Date.now() + 1_000);
  const { token } = await fixtures.createHook(w, runId, { tokenRetentionUntil });
  await fixtures.terminateRun(w, runId, 'completed');
  await fixtures.sleep(Math.max(0, tokenRetentionUntil.getTime() - Date.now()) + 150);
  const other = await fixtures.createRunningRun(w);
  const { res, hookId } = await fixtures.createHook(w, other.runId, { token });
  assert.equal(res.event.eventType, 'hook_created');
  assert.equal(res.hook.hookId, hookId);
  assert.equal((await w.hooks.getByToken(token)).runId, other.runId);
});

test('V43 racing hook_received and run_completed: the receive commits below run_completed or fails (RunExpired/HookNotFound) and is absent', async () => {
  const w = v.world;
  const outcomes = { committedFirst: 0, rejected: 0 };
  for (let trial = 0; trial < 12; trial++) {
    const { runId } = await fixtures.createRunningRun(w);
    const { hookId, token } = await fixtures.createHook(w, runId);
    const receive = () => fixtures.receiveHook(w, runId, hookId, token, { body: fixtures.payload(`race-${trial}`) });
    const complete = () => fixtures.terminateRun(w, runId, 'completed');
    const [received, completed] =
      trial % 2
        ? (await Promise.allSettled([complete(), receive()])).reverse()
        : await Promise.allSettled([receive(), complete()]);
    assert.equal(completed.status, 'fulfilled', `trial ${trial}: run_completed failed: ${completed.reason}`);
    const events = await fixtures.listAllEvents(w, runId);
    fixtures.assertDense(events);
    const terminalAt = events.findIndex((e) => e.eventType === 'run_completed');
    const receivedAt = events.findIndex((e) => e.eventType === 'hook_received');
    if (received.status === 'fulfilled') {
      outcomes.committedFirst++;
      assert.ok(receivedAt >= 0 && receivedAt < terminalAt, `trial ${trial}: hook_received after run_completed`);
      assert.equal(events[receivedAt].eventId, received.value.event.eventId);
    } else {
      outcomes.rejected++;
      assert.ok(
        ['RunExpiredError', 'HookNotFoundError'].includes(received.reason?.name),
        `trial ${trial}: unexpected ${received.reason?.name}: ${received.reason?.message}`,
      );
      assert.equal(receivedAt, -1, `trial ${trial}: a rejected hook_received is in the log`);
    }
    assert.equal(terminalAt, events.length - 1, `trial ${trial}: nothing after run_completed`);
  }
  assert.equal(outcomes.committedFirst + outcomes.rejected, 12);
});

// ---------------------------------------------------------------------------
// §4.4 `$retention: '0'`

/** A running run with attributes, a completed and a failed step, a hook and a stream. */
async function runWithUserData(attributes) {
  const w = v.world;
  const workflowName = fixtures.uniqueName();
  const { runId } = await fixtures.createRunningRun(w, {
    workflowName,
    input: fixtures.payload('run-in'),
    ...(attributes ? { attributes, allowReservedAttributes: true } : {}),
  });
  const done = await fixtures.createStep(w, runId, { input: fixtures.payload('step-in') });
  await fixtures.startStep(w, runId, done.stepId);
  await fixtures.completeStep(w, runId, done.stepId, { result: fixtures.payload('step-out') });
  const failed = await fixtures.createStep(w, runId, { input: fixtures.payload('step2-in') });
  await fixtures.startStep(w, runId, failed.stepId);
  await fixtures.failStep(w, runId, failed.stepId, { error: fixtures.errorBytes('step2') });
  const hook = await fixtures.createHook(w, runId, { metadata: fixtures.payload('meta') });
  await fixtures.receiveHook(w, runId, hook.hookId, hook.token, { body: fixtures.payload('hook-body') });
  const stream = fixtures.newStreamName();
  await w.streams.write(runId, stream, fixtures.payload('chunk-0'));
  await w.streams.write(runId, stream, 'chunk-1');
  const completed = await w.events.create(runId, {
    eventType: 'run_completed',
    eventData: { output: fixtures.payload('run-out') },
  });
  return { runId, workflowName, steps: [done.stepId, failed.stepId], stream, completed };
}

const REF_FIELDS = {
  run_created: 'input',
  run_completed: 'output',
  step_created: 'input',
  step_completed: 'result',
  step_failed: 'error',
  hook_created: 'metadata',
  hook_received: 'payload',
};

test("V44 $retention '0': run_completed purges input/output (expiredAt set), step data, event refs and stream chunks; entities stay listable", async () => {
  const w = v.world;
  const before = Date.now();
  const { runId, workflowName, steps, stream, completed } = await runWithUserData({ $retention: '0' });
  assert.equal(completed.run.status, 'completed');
  const run = await w.runs.get(runId);
  assert.equal(run.status, 'completed');
  assert.equal(run.input, undefined, 'run.input purged');
  assert.equal(run.output, undefined, 'run.output purged');
  fixtures.assertDate(run.expiredAt, undefined, 'run.expiredAt');
  assert.ok(run.expiredAt.getTime() >= before - 60_000 && run.expiredAt.getTime() <= Date.now() + 60_000);
  assert.ok(run.expiredAt.getTime() <= Date.now(), 'expiredAt <= now (core: returnValue throws RunExpiredError)');
  assert.deepEqual(
    (await w.runs.list({ workflowName })).data.map((r) => r.runId),
    [runId],
  );
  await fixtures.eventually(async () => {
    const listed = (await w.steps.list({ runId })).data;
    assert.deepEqual(listed.map((s) => s.stepId).sort(), [...steps].sort(), 'steps stay listable');
    for (const stepId of steps) {
      const step = await w.steps.get(runId, stepId);
      assert.equal(step.input, undefined, `${stepId} input purged`);
      assert.equal(step.output, undefined, `${stepId} output purged`);
      assert.equal(step.error, undefined, `${stepId} error purged`);
    }
  });
  await fixtures.eventually(async () => {
    const events = await fixtures.listAllEvents(w, runId);
    assert.equal(events.length, 11, 'events stay listable');
    fixtures.assertDense(events);
    for (const e of events) {
      const field = REF_FIELDS[e.eventType];
      if (!field || e.eventData === undefined) continue;
      assert.equal(e.eventData[field], undefined, `${e.eventType}.eventData.${field} purged`);
      // The eventData keeps its shape: the field is there, undefined (world-local's reads).
      assert.ok(field in e.eventData, `${e.eventType}.eventData keeps the key ${field}`);
    }
    const completedEvent = events.find((e) => e.eventType === 'run_completed');
    assert.deepEqual(
      Object.keys(completedEvent.eventData ?? {}),
      ['output'],
      'run_completed keeps {output: undefined}',
    );
    assert.equal(events.find((e) => e.eventType === 'step_failed').eventData.stepName !== undefined, true);
  });
  await fixtures.eventually(async () => {
    assert.deepEqual(
      await fixtures.readStream(await w.streams.get(runId, stream)),
      [],
      'stream reads as closed and empty',
    );
    const { chunks, pages } = await fixtures.getAllChunks(w, runId, stream);
    assert.deepEqual(chunks, []);
    assert.equal(pages.at(-1).done, true);
    assert.deepEqual(await w.streams.getInfo(runId, stream), { tailIndex: -1, done: true });
  });
});

test("V45 with $retention absent, 'default' or '7' nothing is purged", async () => {
  const w = v.world;
  for (const attributes of [undefined, { $retention: 'default' }, { $retention: '7' }]) {
    const label = JSON.stringify(attributes);
    const { runId, steps, stream } = await runWithUserData(attributes);
    const run = await w.runs.get(runId);
    fixtures.assertBytes(run.input, fixtures.payload('run-in'), `${label} run.input`);
    fixtures.assertBytes(run.output, fixtures.payload('run-out'), `${label} run.output`);
    assert.equal(run.expiredAt, undefined, `${label} expiredAt`);
    const [done, failed] = [await w.steps.get(runId, steps[0]), await w.steps.get(runId, steps[1])];
    fixtures.assertBytes(done.input, fixtures.payload('step-in'), `${label} step input`);
    fixtures.assertBytes(done.output, fixtures.payload('step-out'), `${label} step output`);
    fixtures.assertBytes(failed.error, fixtures.errorBytes('step2'), `${label} step error`);
    for (const e of await fixtures.listAllEvents(w, runId)) {
      const field = REF_FIELDS[e.eventType];
      if (field) assert.ok(e.eventData[field] instanceof Uint8Array, `${label} ${e.eventType}.${field} kept`);
    }
    const { chunks } = await fixtures.getAllChunks(w, runId, stream);
    assert.equal(chunks.length, 2, `${label} stream chunks kept`);
  }
});
