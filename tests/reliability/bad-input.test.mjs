// Reliability, bad input (extends tests/conformance/bad-input.test.mjs and the malformed-body test of
// tests/queue/reliability.test.mjs): malformed queue bodies through the real consumer,
// invalid events and fields of every kind, ids with SQL metacharacters, quotes, NUL and
// emoji, oversized payloads in every field, and bad pagination on every list. Every one
// must get a named, explanatory error; nothing is stored half; the consumer keeps running;
// no message is redelivered forever.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createWorld } from '../../js/node.js';
import { recordingQueue } from '../support/faults.mjs';
import { useHarness } from '../support/harness.mjs';
import { assertInvariants, report, storeFingerprint } from '../support/invariants.mjs';
import { ensureDeliveriesTable, newTag, patternBytes, sleep, waitForDeliveries } from '../support/queue-node.mjs';
import * as fixtures from '../support/storage.mjs';
import { readAll } from '../support/streams.mjs';

let db;
let world;
const figures = {};
const h = useHarness({
  setup: async (h) => {
    db = h.env.DB;
    world = h.world;
    await ensureDeliveriesTable(db);
  },
  teardown: () => report('bad-input', figures),
});

/** Asserts a named refusal: WorkflowWorldError with a status < 500 and a code; returns it. */
async function refused(call, { status = 400, code, says = [] } = {}, ctx = '') {
  let err;
  try {
    await call();
  } catch (e) {
    err = e;
  }
  assert.ok(err, `${ctx}: accepted`);
  assert.equal(err.name, 'WorkflowWorldError', `${ctx}: ${err.name}: ${err.message}`);
  assert.equal(err.status, status, `${ctx}: ${err.message}`);
  if (code) assert.equal(err.code, code, `${ctx}: ${err.message}`);
  else assert.ok(err.code, `${ctx}: no code (${err.message})`);
  for (const pattern of says) assert.match(err.message, pattern, ctx);
  return err;
}

const b64 = (bytes) => Buffer.from(bytes).toString('base64');

describe('malformed queue bodies through the real consumer', () => {
  test('36 malformed bodies: none reaches a handler, none is retried into the DLQ or re-sent, and the consumer keeps handling valid messages', async () => {
    const rec = recordingQueue();
    const capture = createWorld({ ...h.env, WORKFLOW_QUEUE: rec });
    await capture.queue('__wkf_workflow_badinput', { tag: 'template' });
    await capture.queue('__wkf_workflow_badinput', { tag: 'template-big', big: patternBytes(100_000) });
    const [{ body: envelope, options }, { body: bigEnvelope }] = rec.sent;
    assert.equal(typeof envelope.payload, 'string');
    assert.equal(typeof bigEnvelope.payloadKey, 'string');
    const variant = (changes, base = envelope) => ({
      ...base,
      sendId: fixtures.ulid(),
      messageId: `msg_${fixtures.ulid()}`,
      ...changes,
    });
    const without = (key) => {
      const v = variant({});
      delete v[key];
      return v;
    };
    const json = JSON.stringify(envelope);
    const cbor = Buffer.from(envelope.payload, 'base64');
    const badPayloadSends = [];
    const payloadVariant = (changes, base) => {
      const v = variant(changes, base);
      badPayloadSends.push(v.sendId);
      return v;
    };
    await h.env.STREAM_BUCKET.delete(bigEnvelope.payloadKey).catch(() => {});
    const bodies = {
      'not JSON text': 'this is not an envelope {',
      'truncated JSON text': json.slice(0, Math.floor(json.length / 2)),
      'the envelope as JSON text': json,
      'a number': 12345,
      'a boolean': true,
      null: null,
      'an array': [1, 2, 3],
      'an empty object': {},
      'an unrelated object': { unrelated: 'object' },
      'raw bytes': new Uint8Array([0, 1, 2, 0xff]),
      'a 120 KB string': 'x'.repeat(120_000),
      'wcf missing': without('wcf'),
      'wcf 2': variant({ wcf: 2 }),
      'wcf "1"': variant({ wcf: '1' }),
      'queueName missing': without('queueName'),
      'queueName 42': variant({ queueName: 42 }),
      'queueName empty': variant({ queueName: '' }),
      'unknown queue __wkf_nope_x': variant({ queueName: '__wkf_nope_x' }),
      'queueName without a name': variant({ queueName: '__wkf_workflow_' }),
      'queueName with a bad namespace': variant({ queueName: '__NS_wkf_workflow_x' }),
      'messageId 7': variant({ messageId: 7 }),
      'messageId not msg_': variant({ messageId: 'abc' }),
      'sendId missing': without('sendId'),
      'attempt 0': variant({ attempt: 0 }),
      'attempt -1': variant({ attempt: -1 }),
      'attempt "1"': variant({ attempt: '1' }),
      'headers a string': variant({ headers: 'x' }),
      'headers with a number value': variant({ headers: { a: 1 } }),
      'dueAt a string': variant({ dueAt: 'tomorrow' }),
      'payload and payloadKey missing': without('payload'),
      'payload not base64': variant({ payload: 'not base64!!' }),
      'payload 42': variant({ payload: 42 }),
      // Valid envelopes whose payload cannot be read: they take a delivery record, which
      // must end as done (read once, never parked or looped).
      'payload: truncated CBOR': payloadVariant({ payload: b64(cbor.subarray(0, cbor.length - 3)) }),
      'payload: not CBOR': payloadVariant({ payload: b64(Buffer.from([0xff, 0xfe, 0xfd])) }),
      'payload: empty': payloadVariant({ payload: '' }),
      'payloadKey: object missing from R2': payloadVariant({}, bigEnvelope),
    };
    const dlq = async () =>
      (await db.prepare("SELECT count(*) AS n FROM test_deliveries WHERE source = 'dlq'").first()).n;
    const handled = async () =>
      (
        await db
          .prepare("SELECT count(*) AS n FROM test_deliveries WHERE source = 'isolate' AND tag LIKE 'template%'")
          .first()
      ).n;
    const dlqBefore = await dlq();
    for (const body of Object.values(bodies)) await h.env.WORKFLOW_QUEUE.send(body, options);
    await h.env.STEP_QUEUE.send('garbage on the step queue', options);
    // The consumer keeps working: a valid message after all of them is handled.
    const tag = newTag('after-bad');
    await h.world.queue('__wkf_workflow_after', { tag });
    await waitForDeliveries(db, tag, 1, { timeout: 20_000 });
    await sleep(1500);
    assert.equal(await handled(), 0, 'a malformed body reached a handler');
    assert.equal(await dlq(), dlqBefore, 'a malformed body was retried into the dead-letter queue');
    const { results } = await db
      .prepare(
        `SELECT send_id, state FROM queue_deliveries WHERE send_id IN (${badPayloadSends.map(() => '?').join(',')})`,
      )
      .bind(...badPayloadSends)
      .all();
    assert.deepEqual(
      results.map((r) => r.state).sort(),
      badPayloadSends.map(() => 'done'),
      `every unreadable payload was read once and its delivery finished: ${JSON.stringify(results)}`,
    );
    figures.queueBodies = {
      bodies: Object.keys(bodies).length + 1,
      handled: 0,
      deadLettered: 0,
      unreadablePayloadsFinishedOnce: results.length,
    };
  });
});

describe('invalid events and fields', () => {
  test('42 invalid events.create requests: each a named 400 (or 413) naming the field, and the store is untouched', async () => {
    const { runId } = await fixtures.createRunningRun(world);
    const { stepId } = await fixtures.createRunningStep(world, runId);
    const hook = await fixtures.createHook(world, runId);
    const ev = (eventType, eventData, extra = {}) => ({
      eventType,
      ...(eventData === undefined ? {} : { eventData }),
      ...extra,
    });
    const cases = [
      ['data null', null, 'INVALID_EVENT', /expected an object/],
      ['data a string', 'run_started', 'INVALID_EVENT', /expected an object/],
      ['data an array', [1], 'INVALID_EVENT', /expected an object/],
      ['eventType missing', {}, 'INVALID_EVENT', /eventType/],
      ['eventType a number', { eventType: 7 }, 'INVALID_EVENT', /eventType/],
      ['eventType unknown', { eventType: 'run_exploded' }, 'INVALID_EVENT', /'run_exploded'/],
      ['eventType with SQL', { eventType: "run_started'; DROP TABLE events; --" }, 'INVALID_EVENT', /allowed/],
      [
        'hook_conflict from a client',
        ev('hook_conflict', { token: 't' }, { correlationId: 'hook_x' }),
        'INVALID_EVENT',
        /written only by the World/,
      ],
      ['eventData an array', ev('step_created', [1, 2], { correlationId: 'step_a' }), 'INVALID_EVENT', /eventData/],
      ['eventData a string', ev('step_created', 'x', { correlationId: 'step_a' }), 'INVALID_EVENT', /eventData/],
      ['correlationId missing', ev('step_started', {}), 'INVALID_EVENT', /correlationId/],
      ['correlationId a number', ev('step_started', {}, { correlationId: 5 }), 'INVALID_EVENT', /correlationId/],
      ['specVersion a string', ev('run_started', undefined, { specVersion: 'x' }), 'INVALID_EVENT', /specVersion/],
      ['specVersion 0', ev('run_started', undefined, { specVersion: 0 }), 'INVALID_EVENT', /specVersion/],
      ['specVersion 1.5', ev('run_started', undefined, { specVersion: 1.5 }), 'INVALID_EVENT', /specVersion/],
      [
        'step_created without stepName',
        ev('step_created', {}, { correlationId: fixtures.newStepId() }),
        'INVALID_EVENT',
        /stepName/,
      ],
      [
        'step_created stepName 42',
        ev('step_created', { stepName: 42 }, { correlationId: fixtures.newStepId() }),
        'INVALID_EVENT',
        /stepName/,
      ],
      [
        'step_created input BigInt',
        ev('step_created', { stepName: 's', input: 10n }, { correlationId: fixtures.newStepId() }),
        'INVALID_VALUE',
        /BigInt/,
      ],
      [
        'step_created input a function',
        ev('step_created', { stepName: 's', input: () => 1 }, { correlationId: fixtures.newStepId() }),
        'INVALID_VALUE',
        /function/,
      ],
      [
        'step_created input a Symbol',
        ev('step_created', { stepName: 's', input: Symbol('s') }, { correlationId: fixtures.newStepId() }),
        'INVALID_VALUE',
        /symbol/,
      ],
      [
        'step_created input cyclic',
        ev(
          'step_created',
          {
            stepName: 's',
            input: (() => {
              const c = {};
              c.c = c;
              return c;
            })(),
          },
          { correlationId: fixtures.newStepId() },
        ),
        'INVALID_VALUE',
        /deeper than/,
      ],
      [
        'step_created input 10,000 deep',
        ev(
          'step_created',
          { stepName: 's', input: Array.from({ length: 10_000 }).reduce((a) => ({ a }), {}) },
          { correlationId: fixtures.newStepId() },
        ),
        'INVALID_VALUE',
        /deeper than/,
      ],
      [
        'step_created input an invalid Date',
        ev('step_created', { stepName: 's', input: new Date(NaN) }, { correlationId: fixtures.newStepId() }),
        'INVALID_VALUE',
        /invalid Date/,
      ],
      [
        'step_retrying retryAfter "soon"',
        ev('step_retrying', { error: 'e', retryAfter: 'soon' }, { correlationId: stepId }),
        'INVALID_EVENT',
        /retryAfter/,
      ],
      [
        'step_retrying retryAfter an object',
        ev('step_retrying', { error: 'e', retryAfter: {} }, { correlationId: stepId }),
        'INVALID_EVENT',
        /retryAfter/,
      ],
      ['hook_created without token', ev('hook_created', {}, { correlationId: 'hook_n1' }), 'INVALID_EVENT', /token/],
      [
        'hook_created token 42',
        ev('hook_created', { token: 42 }, { correlationId: 'hook_n2' }),
        'INVALID_EVENT',
        /token.*42/,
      ],
      [
        'hook_created isWebhook "yes"',
        ev('hook_created', { token: 't-yes', isWebhook: 'yes' }, { correlationId: 'hook_n3' }),
        'INVALID_EVENT',
        /isWebhook/,
      ],
      [
        'wait_created without resumeAt',
        ev('wait_created', {}, { correlationId: 'wait_n1' }),
        'INVALID_EVENT',
        /resumeAt/,
      ],
      [
        'wait_created resumeAt "soon"',
        ev('wait_created', { resumeAt: 'soon' }, { correlationId: 'wait_n2' }),
        'INVALID_EVENT',
        /resumeAt/,
      ],
      [
        'wait_created resumeAt an invalid Date',
        ev('wait_created', { resumeAt: new Date(NaN) }, { correlationId: 'wait_n3' }),
        'INVALID_VALUE',
        /invalid Date/,
      ],
      ['run_created without deploymentId', ev('run_created', { workflowName: 'w' }), 'INVALID_EVENT', /deploymentId/],
      ['run_created without workflowName', ev('run_created', { deploymentId: 'd' }), 'INVALID_EVENT', /workflowName/],
      [
        'run_created workflowName null',
        ev('run_created', { deploymentId: 'd', workflowName: null }),
        'INVALID_EVENT',
        /workflowName/,
      ],
    ];
    const runIdCases = [
      ['runId not a ULID', 'wrun_abc'],
      ['runId with SQL', "wrun_'; DROP TABLE runs; --"],
      ['runId with NUL', 'wrun_01ARZ3NDEKTSV4RRFFQ69G5FA\u0000'],
      ['runId with emoji', 'wrun_🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀🦀'],
      ['runId a number', 42],
      ['runId empty', ''],
      ['runId I/L/O/U letters', 'wrun_01ARZ3NDEKTSV4RRFFQ69G5FAI'],
      ['runId 27 characters', `wrun_${fixtures.ulid()}0`],
    ];
    const fingerprint = await storeFingerprint(db);
    for (const [name, data, code, says] of cases) {
      const target = name.startsWith('run_created') ? fixtures.newRunId() : runId;
      await refused(() => world.events.create(target, data), { code, says: [says] }, name);
    }
    for (const [name, bad] of runIdCases) {
      const code = typeof bad === 'string' ? 'INVALID_RUN_ID' : 'INVALID_ARGUMENT';
      await refused(
        () => world.events.create(bad, ev('step_started', {}, { correlationId: 's' })),
        { code, says: [/runId|ULID/] },
        name,
      );
    }
    assert.deepEqual(await storeFingerprint(db), fingerprint, 'a refused request stored something');
    assert.equal((await world.hooks.getByToken(hook.token)).hookId, hook.hookId);
    figures.invalidEvents = {
      requests: cases.length + runIdCases.length,
      refusedByName: cases.length + runIdCases.length,
      stored: 0,
    };
  });
});

describe('ids with SQL metacharacters, quotes, NUL and emoji', () => {
  const NASTY = [
    "'; DROP TABLE events; --",
    '" OR ""="',
    "%_' OR 1=1 --",
    'a\u0000b\u0000',
    '🦀 emoji 🚀 ☃',
    'back\\slash\\',
    '\t\n\r newline',
    'x'.repeat(10_000),
  ];

  test('8 hostile strings as step, hook, wait and stream ids, tokens, workflow and deployment names, errors: stored and read back verbatim, matched only exactly', async () => {
    let roundTrips = 0;
    for (const [i, s] of NASTY.entries()) {
      const workflowName = `wf ${s}`;
      const runId = fixtures.newRunId();
      await world.events.create(runId, fixtures.runCreatedEvent({ workflowName, deploymentId: `dpl ${s}` }));
      await world.events.create(runId, { eventType: 'run_started' });
      const run = await world.runs.get(runId);
      assert.equal(run.workflowName, workflowName);
      assert.equal(run.deploymentId, `dpl ${s}`);
      const listed = await world.runs.list({ workflowName });
      assert.deepEqual(
        listed.data.map((r) => r.runId),
        [runId],
        `runs.list by the workflow name #${i}`,
      );

      const stepId = `step_${s}`;
      await world.events.create(runId, {
        eventType: 'step_created',
        correlationId: stepId,
        eventData: { stepName: `name ${s}`, input: fixtures.payload(s) },
      });
      const step = await world.steps.get(runId, stepId);
      assert.equal(step.stepId, stepId);
      assert.equal(step.stepName, `name ${s}`);
      const byCorr = await world.events.listByCorrelationId({ correlationId: stepId });
      assert.deepEqual(
        byCorr.data.map((e) => e.correlationId),
        [stepId],
      );

      const token = `tok ${s} ${i}`;
      const hookId = `hook_${s}`;
      await world.events.create(runId, {
        eventType: 'hook_created',
        correlationId: hookId,
        eventData: { token, isWebhook: false },
      });
      assert.equal((await world.hooks.getByToken(token)).hookId, hookId);
      assert.equal((await world.hooks.get(hookId)).token, token);
      await assert.rejects(world.hooks.getByToken(token.slice(0, -1)), { name: 'HookNotFoundError' });
      await assert.rejects(world.hooks.getByToken(`${token.slice(0, 4)}%`), { name: 'HookNotFoundError' });

      const waitId = `wait_${s}`;
      await world.events.create(runId, {
        eventType: 'wait_created',
        correlationId: waitId,
        eventData: { resumeAt: new Date(Date.now() + 1000) },
      });
      const stream = `strm ${s}`;
      await world.writeToStream(stream, runId, `chunk ${s}`);
      await world.closeStream(stream, runId);
      const chunks = await readAll(await world.readFromStream(stream));
      assert.equal(new TextDecoder().decode(chunks[0]), `chunk ${s}`);
      assert.deepEqual(await world.listStreamsByRunId(runId), [stream]);

      await world.events.create(runId, {
        eventType: 'run_failed',
        eventData: { error: { message: `boom ${s}`, stack: s }, errorCode: 'USER_ERROR' },
      });
      assert.equal((await world.runs.get(runId)).error.message, `boom ${s}`);
      roundTrips++;
    }
    const { results } = await db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('runs', 'events', 'steps', 'hooks')")
      .all();
    assert.equal(results.length, 4, 'the tables are all still there');
    await assertInvariants(db, 'after hostile ids');
    figures.hostileIds = { strings: NASTY.length, fieldsPerString: 10, roundTripped: roundTrips * 10, mismatches: 0 };
  });
});

describe('oversized payloads', () => {
  test('every payload field over the D1 row limit, and ids and names too big to store: a named 413/400, nothing stored; a 5 MB queue payload goes through R2', async () => {
    const { runId } = await fixtures.createRunningRun(world);
    const { stepId } = await fixtures.createRunningStep(world, runId);
    const hook = await fixtures.createHook(world, runId);
    const tooBig = () => new Uint8Array(2_000_001).fill(7);
    const cases = [
      ['run_created input', fixtures.newRunId(), fixtures.runCreatedEvent({ input: tooBig() })],
      [
        'run_created executionContext',
        fixtures.newRunId(),
        fixtures.runCreatedEvent({ executionContext: { blob: tooBig() } }),
      ],
      [
        'step_created input',
        runId,
        {
          eventType: 'step_created',
          correlationId: fixtures.newStepId(),
          eventData: { stepName: fixtures.STEP_NAME, input: tooBig() },
        },
      ],
      [
        'step_completed result',
        runId,
        { eventType: 'step_completed', correlationId: stepId, eventData: { result: tooBig() } },
      ],
      [
        'step_failed error',
        runId,
        { eventType: 'step_failed', correlationId: stepId, eventData: { error: 'e'.repeat(2_000_001) } },
      ],
      [
        'hook_created metadata',
        runId,
        { eventType: 'hook_created', correlationId: 'hook_big', eventData: { token: 'big', metadata: tooBig() } },
      ],
      [
        'hook_created token',
        runId,
        { eventType: 'hook_created', correlationId: 'hook_big2', eventData: { token: 't'.repeat(2_000_001) } },
      ],
      [
        'hook_received payload',
        runId,
        { eventType: 'hook_received', correlationId: hook.hookId, eventData: { token: hook.token, payload: tooBig() } },
      ],
      ['run_completed output', runId, { eventType: 'run_completed', eventData: { output: tooBig() } }],
      [
        'run_failed error',
        runId,
        { eventType: 'run_failed', eventData: { error: { message: 'm'.repeat(2_000_001) } } },
      ],
      [
        'correlationId of 2 MB (regression)',
        runId,
        { eventType: 'step_created', correlationId: `step_${'x'.repeat(2_000_000)}`, eventData: { stepName: 's' } },
      ],
    ];
    const fingerprint = await storeFingerprint(db);
    for (const [name, target, data] of cases) {
      await refused(
        () => world.events.create(target, data),
        { status: 413, code: 'PAYLOAD_TOO_LARGE', says: [/the limit is \d+ bytes/] },
        name,
      );
    }
    await refused(
      () => world.writeToStream('n'.repeat(70_000), runId, 'a'),
      { code: 'INVALID_STREAM', says: [/the limit is 65536 bytes/] },
      'stream name of 70 KB (regression)',
    );
    await refused(
      () => world.queue(`__wkf_step_${'s'.repeat(30_000)}`, {}),
      { status: 413, code: 'QUEUE_MESSAGE_TOO_LARGE' },
      'queue name of 30 KB (regression)',
    );
    await refused(
      () => world.queue('__wkf_step_s', {}, { headers: { big: 'h'.repeat(30_000) } }),
      { status: 413, code: 'QUEUE_MESSAGE_TOO_LARGE' },
      'queue headers of 30 KB (regression)',
    );
    assert.deepEqual(await storeFingerprint(db), fingerprint, 'an oversized request stored something');
    // Large payloads that do fit are not refused: a 5 MB queue payload travels through R2.
    const rec = recordingQueue();
    const { messageId } = await createWorld({ ...h.env, WORKFLOW_QUEUE: rec }).queue('__wkf_workflow_big', {
      b: new Uint8Array(5_000_000),
    });
    assert.match(messageId, /^msg_/);
    assert.equal(typeof rec.sent[0].body.payloadKey, 'string');
    figures.oversized = { requests: cases.length + 3, refusedByName: cases.length + 3, stored: 0 };
  });
});

describe('pagination', () => {
  test('limits below 1, fractional, NaN, ±Infinity, strings or booleans are refused by name on every list; huge limits are clamped; garbage cursors are refused by name', async () => {
    const { runId } = await fixtures.createRunningRun(world);
    const { stepId } = await fixtures.createRunningStep(world, runId);
    const lists = {
      'runs.list': (pagination) => world.runs.list({ pagination }),
      'steps.list': (pagination) => world.steps.list({ runId, pagination }),
      'events.list': (pagination) => world.events.list({ runId, pagination }),
      'events.listByCorrelationId': (pagination) =>
        world.events.listByCorrelationId({ correlationId: stepId, pagination }),
      'hooks.list': (pagination) => world.hooks.list({ runId, pagination }),
    };
    const badLimits = [0, -1, -1e12, 1.5, NaN, Infinity, -Infinity, 2 ** 60, '10', true, {}];
    const badCursors = ['garbage', "' OR 1=1 --", 'k:', '\u0000', '🦀', 'x'.repeat(100_000)];
    // A cursor is a position (created-at, id); a well-formed one that was never issued is a
    // position too: it pages from there, like any cursor, and never errors or leaks.
    const forgedCursors = ['k-1:wrun_x', 'k99999999999999:wrun_zzzz', "k1:wrun_' OR 1=1 --"];
    let refusedCount = 0;
    for (const [name, list] of Object.entries(lists)) {
      for (const limit of badLimits) {
        await refused(
          () => list({ limit }),
          { code: 'INVALID_PAGINATION', says: [/pagination\.limit/, /allowed: an integer from 1 to 1000/] },
          `${name} limit ${String(limit)}`,
        );
        refusedCount++;
      }
      for (const limit of [1001, 1e6, 1e12]) {
        const page = await list({ limit });
        assert.ok(page.data.length <= 1000, `${name} limit ${limit}`);
      }
      for (const cursor of badCursors) {
        await refused(
          () => list({ cursor }),
          { code: 'INVALID_CURSOR', says: [/pass a cursor returned by the same list/] },
          `${name} cursor ${cursor.slice(0, 20)}`,
        );
        refusedCount++;
      }
      for (const cursor of forgedCursors) {
        let page;
        try {
          page = await list({ cursor });
        } catch (err) {
          assert.equal(err.code, 'INVALID_CURSOR', `${name} forged cursor ${cursor}: ${err.message}`);
          continue;
        }
        assert.ok(Array.isArray(page.data) && page.data.length <= 100, `${name} forged cursor ${cursor}`);
      }
      await refused(
        () => list({ sortOrder: 'sideways' }),
        { code: 'INVALID_PAGINATION', says: [/'asc' or 'desc'/] },
        `${name} sortOrder`,
      );
      refusedCount++;
    }
    // getStreamChunks: bad limits are refused; an unknown cursor restarts at index 0 (contract §6.3).
    const stream = `strm_pg_${fixtures.ulid()}`;
    await world.writeToStreamMulti(stream, runId, ['a', 'b', 'c']);
    for (const limit of badLimits.filter((l) => l !== true && typeof l !== 'object')) {
      await refused(
        () => world.getStreamChunks(stream, runId, { limit }),
        { code: 'INVALID_PAGINATION' },
        `getStreamChunks limit ${String(limit)}`,
      );
      refusedCount++;
    }
    for (const cursor of badCursors) {
      const page = await world.getStreamChunks(stream, runId, { cursor });
      assert.deepEqual(
        page.data.map((c) => c.index),
        [0, 1, 2],
        `getStreamChunks cursor ${cursor.slice(0, 20)} restarts at 0`,
      );
    }
    figures.pagination = {
      refusedByName: refusedCount,
      clampedChecks: Object.keys(lists).length * 3,
      streamCursorRestarts: badCursors.length,
    };
  });
});
