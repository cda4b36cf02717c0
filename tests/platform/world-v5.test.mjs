// The spec-7 World as core 5.0.0-beta.55 meets it (world-contract-v5 §1, §9; checklist V1–V5,
// V96): its spec gate accepts `createWorld(env, { specVersion: 7 })` and refuses the 4.x
// World; construction and createQueueHandler do no I/O, draw no randomness and start no
// timers; capabilities declare only what is enforced. No workerd: nothing here may touch a
// binding.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWorld } from '../../js/node.js';

/** An env whose every binding throws when used, and which records what was read. */
function trippedEnv() {
  const reads = [];
  const binding = (name) =>
    new Proxy(
      {},
      {
        get(_, key) {
          throw new Error(`${name}.${String(key)} was used during construction`);
        },
      },
    );
  const env = { DB: binding('DB'), WORKFLOW_QUEUE: binding('WORKFLOW_QUEUE'), STREAM_BUCKET: binding('STREAM_BUCKET') };
  return {
    reads,
    env: new Proxy(env, {
      get(target, key) {
        reads.push(String(key));
        return target[key];
      },
    }),
  };
}

/** Runs `fn` with getRandomValues, setTimeout and setInterval counted. */
function counting(fn) {
  const counts = { random: 0, timers: 0 };
  const { getRandomValues } = crypto;
  const { setTimeout: st, setInterval: si } = globalThis;
  crypto.getRandomValues = (a) => {
    counts.random++;
    return getRandomValues.call(crypto, a);
  };
  globalThis.setTimeout = (...args) => {
    counts.timers++;
    return st(...args);
  };
  globalThis.setInterval = (...args) => {
    counts.timers++;
    return si(...args);
  };
  try {
    return { result: fn(), counts };
  } finally {
    crypto.getRandomValues = getRandomValues;
    globalThis.setTimeout = st;
    globalThis.setInterval = si;
  }
}

test('V4 construction and createQueueHandler read no binding, draw no randomness and start no timers', () => {
  const { env, reads } = trippedEnv();
  const { result: world, counts } = counting(() => {
    const w = createWorld(env, { specVersion: 7 });
    w.createQueueHandler('__wkf_workflow_', async () => {});
    return w;
  });
  assert.equal(world.specVersion, 7);
  assert.deepEqual(counts, { random: 0, timers: 0 });
  assert.deepEqual(reads, [], 'env is read by calls, not by construction');
});

test('V5 V96 capabilities declare only what the World enforces, and there is no invoke', () => {
  const world = createWorld({}, { specVersion: 7 });
  assert.deepEqual(world.capabilities, { hookRetention: { active: true }, hookResumeDedup: true });
  assert.equal(world.invoke, undefined);
  // The optional members it implements (conformance-v5/optional.test.mjs), and not the rest.
  assert.equal(typeof world.events.createBatch, 'function');
  assert.equal(typeof world.queueBatch, 'function');
  for (const optional of ['getMany', 'waitForTerminalStatus', 'cancelMany'])
    assert.equal(typeof world.runs[optional], 'function', optional);
  assert.equal(world.runs.experimentalSetAttributes, undefined);
  // The 4.x World is unchanged: spec 3, the name-first Streamer, no capabilities.
  const old = createWorld({});
  assert.equal(old.specVersion, 3);
  assert.equal(old.capabilities, undefined);
  assert.equal(typeof old.writeToStream, 'function');
  assert.equal(old.streams, undefined);
  assert.equal(world.writeToStream, undefined);
  assert.deepEqual(Object.keys(world.streams).sort(), [
    'close',
    'get',
    'getChunks',
    'getInfo',
    'list',
    'write',
    'writeMulti',
  ]);
});

test('createWorld refuses a spec version it does not serve, by name, saying what is allowed', () => {
  for (const specVersion of [5, 6, 8, '7', 7.5]) {
    assert.throws(
      () => createWorld({}, { specVersion }),
      (e) => e.name === 'WorkflowWorldError' && e.status === 400 && /allowed|must be 3 or 7/.test(e.message),
      String(specVersion),
    );
  }
  assert.equal(createWorld({}, { specVersion: 3 }).specVersion, 3);
  assert.equal(createWorld({}, {}).specVersion, 3);
});

test('V1 V2 core 5.0.0-beta.55 accepts the spec-7 World through setWorld, and its gate refuses the 4.x World', async () => {
  const { setWorld, getWorld } = await import('workflow-v5/runtime');
  const world = createWorld({}, { specVersion: 7 });
  setWorld(world);
  assert.equal(await getWorld(), world);
  setWorld(createWorld({}));
  for (let i = 0; i < 2; i++) await assert.rejects(getWorld(), /spec version 6 through 7/);
});

test('V103 getEncryptionKeyForRun gives one 32-byte key per run through every overload, and none without the secret', async () => {
  const secret = { WORKFLOW_ENCRYPTION_KEY: 'platform-test-secret' };
  for (const world of [createWorld(secret, { specVersion: 7 }), createWorld(secret)]) {
    const byId = await world.getEncryptionKeyForRun('wrun_01KB0000000000000000000001');
    assert.ok(byId instanceof Uint8Array && byId.length === 32);
    assert.deepEqual(await world.getEncryptionKeyForRun({ runId: 'wrun_01KB0000000000000000000001' }), byId);
    assert.deepEqual(
      await world.getEncryptionKeyForRun('wrun_01KB0000000000000000000001', { deploymentId: 'other' }),
      byId,
    );
    const other = await world.getEncryptionKeyForRun('wrun_01KB0000000000000000000002');
    assert.notDeepEqual(other, byId);
    // the key is derived (HKDF-SHA-256), not the secret itself
    assert.notDeepEqual(Buffer.from(byId).toString('utf8'), secret.WORKFLOW_ENCRYPTION_KEY);
  }
  // Both lines derive the same key for a run: one secret, one run id.
  assert.deepEqual(
    await createWorld(secret).getEncryptionKeyForRun('wrun_01KB0000000000000000000001'),
    await createWorld(secret, { specVersion: 7 }).getEncryptionKeyForRun('wrun_01KB0000000000000000000001'),
  );
  assert.equal(
    await createWorld({}, { specVersion: 7 }).getEncryptionKeyForRun('wrun_01KB0000000000000000000001'),
    undefined,
  );
  await assert.rejects(createWorld(secret).getEncryptionKeyForRun({}), /run \(with `runId`\) or a run id/);
});
