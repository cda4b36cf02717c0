// The World over HTTP refuses every request it cannot trust, before it serves anything
// (crates/core/src/remote.rs, js/serve.js): unsigned, forged, signed with another secret, altered
// (body or path), stale or from the future, malformed, and replayed (the same signed
// request twice) all get 401, and D1 is left as it was (the store's fingerprint and the
// served-once claims unchanged). A Worker without WORKFLOW_REMOTE_SECRET serves nothing
// (403); a bad call gets a 400 that names what was wrong.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ulid } from 'ulid';
import { createWorld as createRemoteWorld } from '../../js/remote.js';
import { decode, encode } from '../../js/remote-wire.js';
import { REMOTE_PATH, startHarness, useHarness } from '../support/harness.mjs';
import { storeFingerprint } from '../support/invariants.mjs';

const SECRET = `remote-secret-${randomBytes(8).toString('hex')}`;
const h = useHarness({ vars: { WORKFLOW_REMOTE_SECRET: SECRET } });

/** The signature header as the documented format makes it (crates/core/src/remote.rs), at time `t`. */
function signature({
  secret = SECRET,
  t = Math.floor(Date.now() / 1000),
  nonce,
  method = 'POST',
  path = REMOTE_PATH,
  body,
}) {
  const n = nonce ?? randomBytes(16).toString('hex');
  const tag = createHmac('sha256', secret)
    .update(`world-v1\n${t}\n${n}\n${method}\n${path}\n`)
    .update(body)
    .digest('hex');
  return `t=${t},n=${n},v1=${tag}`;
}

const post = (body, header, path = REMOTE_PATH) =>
  h.server.getWorker().fetch(`http://fixture${path}`, {
    method: 'POST',
    headers: header === undefined ? {} : { 'x-wcf-world-signature': header },
    body,
  });

/** A call that would write: a new run. */
const createRunCall = () =>
  encode({
    specVersion: 3,
    call: 'createEvent',
    args: [
      `wrun_${ulid()}`,
      { eventType: 'run_created', eventData: { deploymentId: 'd', workflowName: 'forged', input: [] } },
      undefined,
    ],
  });

async function state() {
  const { results } = await h.env.DB.prepare('SELECT count(*) AS n FROM remote_requests').all();
  return { store: await storeFingerprint(h.env.DB), claims: results[0].n };
}

test('a signed call is served, and its answer keeps Dates and bytes', async () => {
  const remote = createRemoteWorld({
    url: `http://fixture${REMOTE_PATH}`,
    secret: SECRET,
    fetch: (u, i) => h.server.getWorker().fetch(u, i),
  });
  const runId = `wrun_${ulid()}`;
  const { run } = await remote.events.create(runId, {
    eventType: 'run_created',
    eventData: { deploymentId: 'd', workflowName: 'signed', input: new Uint8Array([1, 2, 3]) },
  });
  assert.ok(run.createdAt instanceof Date);
  assert.deepEqual(await remote.runs.get(runId).then((r) => Array.from(r.input)), [1, 2, 3]);
  assert.equal((await remote.runs.get(runId)).completedAt, undefined);
});

test('forged, altered, stale and replayed requests get 401 and change nothing in D1', async () => {
  const body = createRunCall();
  const replayed = signature({ body });
  const first = await post(body, replayed);
  assert.equal(first.status, 200, await first.text());
  const before = await state();

  const now = Math.floor(Date.now() / 1000);
  const cases = {
    unsigned: [body, undefined, 'missing x-wcf-world-signature header'],
    'forged tag': [
      body,
      `t=${now},n=${randomBytes(16).toString('hex')},v1=${randomBytes(32).toString('hex')}`,
      'signature does not match',
    ],
    'another secret': [body, signature({ secret: 'not-the-secret', body }), 'signature does not match'],
    'altered body': [createRunCall(), signature({ body }), 'signature does not match'],
    'altered path': [body, signature({ body, path: '/elsewhere' }), 'signature does not match'],
    // Beyond the 300 s window with a margin: the Worker reads its clock seconds after `now`.
    'stale (330 s old)': [body, signature({ body, t: now - 330 }), 'signature timestamp outside the replay window'],
    'from the future (330 s)': [
      body,
      signature({ body, t: now + 330 }),
      'signature timestamp outside the replay window',
    ],
    malformed: [body, 'v1=deadbeef', 'malformed x-wcf-world-signature header'],
    'replayed (same signature twice)': [body, replayed, 'request already served (replayed signature)'],
  };
  const table = [];
  for (const [label, [sent, header, reason]] of Object.entries(cases)) {
    const response = await post(sent, header);
    const text = await response.text();
    table.push({ request: label, status: response.status });
    assert.equal(response.status, 401, `${label}: ${text}`);
    assert.ok(text.includes(reason), `${label}: ${text}`);
    assert.deepEqual(await state(), before, `${label} changed D1`);
  }
  console.log(`[remote-security] ${JSON.stringify(table)}`);
});

test('the remote World rethrows a refusal as a named error', async () => {
  const before = await state();
  const remote = createRemoteWorld({
    url: `http://fixture${REMOTE_PATH}`,
    secret: 'not-the-secret',
    fetch: (u, i) => h.server.getWorker().fetch(u, i),
  });
  await assert.rejects(
    remote.events.create(`wrun_${ulid()}`, {
      eventType: 'run_created',
      eventData: { deploymentId: 'd', workflowName: 'w', input: [] },
    }),
    {
      name: 'WorkflowWorldError',
      status: 401,
      code: 'REMOTE_REFUSED',
      message: /signature does not match/,
    },
  );
  assert.deepEqual(await state(), before);
});

test('a bad call is a 400 that names what was wrong, and stores nothing', async () => {
  const before = await state();
  const badCalls = {
    'unknown call': [
      encode({ specVersion: 3, call: 'dropDatabase', args: [] }),
      /unknown call "dropDatabase"; allowed: createEvent, createEventBatch, getRun/,
    ],
    'args not an array': [
      encode({ specVersion: 3, call: 'getRun', args: 'wrun_x' }),
      /`args` of getRun must be an array/,
    ],
    'not devalue': ['{"call":"getRun"', /the body is not a devalue-encoded call/],
    'malformed argument': [encode({ specVersion: 3, call: 'getRun', args: [42] }), /`runId` must be a string/],
    'bad spec version': [encode({ specVersion: 9, call: 'getRun', args: ['wrun_x'] }), /specVersion/],
  };
  for (const [label, [body, message]] of Object.entries(badCalls)) {
    const response = await post(body, signature({ body }));
    const text = await response.text();
    assert.equal(response.status, 400, `${label}: ${text}`);
    const { error } = decode(text);
    assert.equal(error.name, 'WorkflowWorldError', label);
    assert.match(error.message, message, label);
  }
  const get = await h.server.getWorker().fetch(`http://fixture${REMOTE_PATH}`);
  assert.equal(get.status, 405);
  const after = await state();
  // Each signed bad call was admitted (claimed once) before it was found bad; nothing else changed.
  assert.deepEqual(after.store, before.store);
  assert.equal(after.claims, before.claims + Object.keys(badCalls).length);
});

test('a Worker without WORKFLOW_REMOTE_SECRET serves nothing (403), whatever the request', async () => {
  const open = await startHarness({ world: false, vars: { WORKFLOW_REMOTE_SECRET: '' } });
  try {
    const before = await storeFingerprint(open.env.DB);
    const body = createRunCall();
    for (const header of [undefined, signature({ body }), signature({ secret: '', body })]) {
      const response = await open.server.getWorker().fetch(`http://fixture${REMOTE_PATH}`, {
        method: 'POST',
        headers: header ? { 'x-wcf-world-signature': header } : {},
        body,
      });
      const text = await response.text();
      assert.equal(response.status, 403, text);
      assert.match(text, /serveWorld is disabled: set the secret `WORKFLOW_REMOTE_SECRET`/);
    }
    assert.deepEqual(await storeFingerprint(open.env.DB), before);
  } finally {
    await open.close();
  }
});
