// Encryption end to end (contract §1.6; world-contract-v5 §8): with WORKFLOW_ENCRYPTION_KEY
// in env, the real runtime (workflow 4.8.9 on the Node host, Cloudflare parts in local
// workerd) encrypts a run's payloads with the key getEncryptionKeyForRun derives, and
// nothing of the run's input, step data or output is readable anywhere in D1 or R2, while
// the runtime still reads its result back.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startApp } from '../../examples/basic/app.mjs';

const KEY = 'e2e-encryption-secret-0123456789';
const SECRET = `plaintext-marker-${Date.now().toString(36)}`;

let app;
let env;
before(async () => {
  app = await startApp({
    wrapEnv: (workerEnv) => {
      env = workerEnv;
      return { ...workerEnv, WORKFLOW_ENCRYPTION_KEY: KEY };
    },
  });
});
after(async () => {
  await app?.close();
});

const utf8 = new TextEncoder();

/** Whether `needle` occurs in a value of a D1 row (text, or a blob as bytes) or an R2 body. */
function contains(value, needle) {
  if (value === null || value === undefined) return false;
  if (typeof value === 'string') return value.includes(needle);
  const bytes =
    value instanceof ArrayBuffer
      ? new Uint8Array(value)
      : Array.isArray(value)
        ? Uint8Array.from(value)
        : ArrayBuffer.isView(value)
          ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
          : utf8.encode(String(value));
  return Buffer.from(bytes).includes(Buffer.from(utf8.encode(needle)));
}

/** Every place in D1 and R2 where `needle` is readable: `table.column` or `r2:<key>`. */
async function findEverywhere(needle) {
  const found = [];
  const { results: tables } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
  ).all();
  for (const { name } of tables) {
    const { results } = await env.DB.prepare(`SELECT * FROM "${name}"`).all();
    for (const row of results) {
      for (const [column, value] of Object.entries(row)) if (contains(value, needle)) found.push(`${name}.${column}`);
    }
  }
  let cursor;
  do {
    const page = await env.STREAM_BUCKET.list({ cursor });
    for (const object of page.objects) {
      const body = await env.STREAM_BUCKET.get(object.key);
      if (body && contains(await body.arrayBuffer(), needle)) found.push(`r2:${object.key}`);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return [...new Set(found)];
}

test('§1.6 with WORKFLOW_ENCRYPTION_KEY set, no plaintext of a run is stored in D1 or R2, and the runtime reads it back', async () => {
  const run = await app.start('sealed', [SECRET]);
  const value = await run.returnValue;
  assert.deepEqual(value, { secret: SECRET, shouted: SECRET.toUpperCase() }, 'the runtime decrypts its result');
  assert.equal(await run.status, 'completed');

  // The scan can see: plain fields and CBOR inside blobs are found where they are.
  const plain = await findEverywhere(run.runId);
  assert.ok(plain.includes('runs.run_id'), `run id found in ${plain}`);
  const cborKey = await findEverywhere('workflowName');
  assert.ok(
    cborKey.some((place) => place.endsWith('.event_data')),
    `a CBOR map key inside event blobs is found: ${cborKey}`,
  );

  assert.deepEqual(await findEverywhere(SECRET), [], 'the input and output are not readable');
  assert.deepEqual(await findEverywhere(SECRET.toUpperCase()), [], 'the step result is not readable');

  // The World hands out the same key for a run however it is asked (the run or its id).
  const byId = await app.world.getEncryptionKeyForRun(run.runId);
  const byRun = await app.world.getEncryptionKeyForRun(await app.world.runs.get(run.runId));
  assert.equal(byId.length, 32);
  assert.deepEqual(byRun, byId);
});
