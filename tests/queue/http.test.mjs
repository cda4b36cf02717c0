// Queue conformance, HTTP transport (contract §5.3–§5.5; checklist §8.114–118, 121, 125,
// 129, and the queue half of §8.150). `__wkf_step_*` messages have no in-isolate handler in
// the fixture Worker, so its consumer POSTs them to WORKFLOW_APP_URL: the Node app started
// here on 127.0.0.1:8799, which mounts createWorld(env).createQueueHandler('__wkf_step_',
// probe) from js/node.js at /.well-known/workflow/v1/step.
//
// This harness sets WORKFLOW_SECRET, so every delivery the consumer POSTs is signed and the
// Node app's handler (same env) checks it; the signature tests replay those requests.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createWorld } from '../../js/node.js';
import { useHarness } from '../support/harness.mjs';
import * as queueFixtures from '../support/queue-node.mjs';
import { createProbe, fnv1a } from '../support/queue-probe.mjs';
import { createRunningRun, newRunId, newStepId } from '../support/storage.mjs';

const SECRET = 'test-secret-\u00e9-1';
const SIGNATURE = 'x-wcf-signature';
const STEP = '__wkf_step_';

let db;
let app;
/** The Node app's step handler (createQueueHandler with WORKFLOW_SECRET set). */
let stepRoute;
const h = useHarness({
  vars: { WORKFLOW_SECRET: SECRET },
  setup: async (h) => {
    db = h.env.DB;
    await queueFixtures.ensureDeliveriesTable(db);
    assert.equal(h.env.WORKFLOW_SECRET, SECRET);
    assert.equal(h.env.WORKFLOW_APP_URL, 'http://127.0.0.1:8799');
    const world = createWorld(h.env);
    stepRoute = world.createQueueHandler(STEP, createProbe(db, 'http'));
    const flowRoute = world.createQueueHandler('__wkf_workflow_', createProbe(db, 'http-flow'));
    app = await queueFixtures.startApp({ [queueFixtures.STEP_PATH]: stepRoute, [queueFixtures.FLOW_PATH]: flowRoute });
  },
  teardown: () => app?.close(),
});

/** A StepInvokePayload (contract §5.1) plus the probe's control fields. */
function stepPayload(extra = {}) {
  return {
    workflowName: 'workflow//./src/http//wf',
    workflowRunId: newRunId(),
    workflowStartedAt: Date.now(),
    stepId: newStepId(),
    ...extra,
  };
}

const decode = (bytes) => new TextDecoder().decode(bytes);

async function waitForRequest(messageId, n = 1) {
  return queueFixtures.waitFor(() => (app.byMessageId(messageId).length >= n ? app.byMessageId(messageId) : null), {
    what: `${n} HTTP request(s) for ${messageId}`,
  });
}

describe('delivery on the step queue over HTTP', () => {
  test('§8.114 a step message is POSTed to WORKFLOW_APP_URL/.well-known/workflow/v1/step with x-vqs-* headers; the handler gets payload, attempt 1, queueName, messageId', async () => {
    const tag = queueFixtures.newTag('step');
    const payload = stepPayload({ tag });
    const queueName = `${STEP}step//./src/http//add`;
    const { messageId } = await h.world.queue(queueName, payload);
    assert.match(messageId, queueFixtures.MESSAGE_ID_RE);
    const [row, ...more] = await queueFixtures.waitForDeliveries(db, tag, 1, { source: 'http' });
    assert.equal(more.length, 0);
    assert.equal(row.attempt, 1);
    assert.equal(row.queueName, queueName);
    assert.equal(row.messageId, messageId);
    assert.deepEqual(row.payload, payload);

    const [req] = await waitForRequest(messageId);
    assert.equal(req.method, 'POST');
    assert.equal(req.path, queueFixtures.STEP_PATH);
    assert.equal(req.headers['x-vqs-queue-name'], queueName);
    assert.equal(req.headers['x-vqs-message-id'], messageId);
    assert.equal(req.headers['x-vqs-message-attempt'], '1');
    assert.match(req.headers['content-type'] ?? '', /^application\/json/);
    assert.ok(req.headers[SIGNATURE], 'signed (WORKFLOW_SECRET is set)');
    assert.equal(req.status, 200);
    assert.deepEqual(JSON.parse(req.responseBody), { ok: true });
  });

  test('§8.116 step queue names with / . @ // are delivered intact', async () => {
    const names = [`${STEP}step//./src/a//b`, `${STEP}step//@scope/pkg@1.2.3//x.y`, `${STEP}a/b.c@d//e`];
    const tags = names.map(() => queueFixtures.newTag('stepname'));
    for (let i = 0; i < names.length; i++) await h.world.queue(names[i], stepPayload({ tag: tags[i] }));
    for (let i = 0; i < names.length; i++) {
      const [row] = await queueFixtures.waitForDeliveries(db, tags[i], 1, { source: 'http' });
      assert.equal(row.queueName, names[i]);
    }
  });

  test('§8.115 bytes with 0x00 and a Date survive the HTTP transport (Uint8Array envelope)', async () => {
    const tag = queueFixtures.newTag('step-bytes');
    const requestedAt = new Date('2026-01-02T03:04:05.678Z');
    const bytes = new Uint8Array([0, 255, 0, 0, 1]);
    const { messageId } = await h.world.queue(
      `${STEP}bytes`,
      stepPayload({ tag, requestedAt, bytes, nested: { b: [bytes] } }),
    );
    const [row] = await queueFixtures.waitForDeliveries(db, tag, 1, { source: 'http' });
    assert.deepEqual(row.payload.bytes, { $type: 'Uint8Array', bytes: [0, 255, 0, 0, 1] });
    assert.deepEqual(row.payload.nested, { b: [{ $type: 'Uint8Array', bytes: [0, 255, 0, 0, 1] }] });
    const at = typeof row.payload.requestedAt === 'string' ? row.payload.requestedAt : row.payload.requestedAt?.iso;
    assert.equal(at, requestedAt.toISOString(), JSON.stringify(row.payload.requestedAt));
    // On the wire: the world-local JSON form of contract §5.3.
    const [req] = await waitForRequest(messageId);
    const wire = JSON.parse(decode(req.body));
    assert.deepEqual(wire.bytes, { __type: 'Uint8Array', data: Buffer.from(bytes).toString('base64') });
  });

  test('§8.125 headers {traceparent, tracestate} surface on the delivered request', async () => {
    const tag = queueFixtures.newTag('trace');
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const tracestate = 'congo=t61rcWkgMzE';
    const { messageId } = await h.world.queue(`${STEP}trace`, stepPayload({ tag }), {
      headers: { traceparent, tracestate },
      idempotencyKey: newStepId(),
    });
    await queueFixtures.waitForDeliveries(db, tag, 1, { source: 'http' });
    const [req] = await waitForRequest(messageId);
    assert.equal(req.headers.traceparent, traceparent);
    assert.equal(req.headers.tracestate, tracestate);
  });

  test('§8.123 step messages with one idempotencyKey (the stepId, as core sends them) → one HTTP invocation', async () => {
    const tag = queueFixtures.newTag('step-idem');
    const stepId = newStepId();
    const payload = stepPayload({ tag, stepId });
    const [a, b] = await Promise.all([
      h.world.queue(`${STEP}idem`, payload, { idempotencyKey: stepId }),
      h.world.queue(`${STEP}idem`, payload, { idempotencyKey: stepId }),
    ]);
    const c = await h.world.queue(`${STEP}idem`, payload, { idempotencyKey: stepId });
    for (const r of [a, b, c]) assert.match(r.messageId, /^msg_/);
    await queueFixtures.waitForDeliveries(db, tag, 1, { source: 'http' });
    await queueFixtures.settle(h.world, db, `${STEP}barrier`, { source: 'http' });
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 1);
  });

  test('reserved delivery headers win over caller headers', async () => {
    const tag = queueFixtures.newTag('reserved');
    const queueName = `${STEP}reserved`;
    const { messageId } = await h.world.queue(queueName, stepPayload({ tag }), {
      headers: { 'x-vqs-queue-name': `${STEP}spoofed`, 'x-vqs-message-attempt': '7', 'x-vqs-message-id': 'msg_spoof' },
    });
    const [row] = await queueFixtures.waitForDeliveries(db, tag, 1, { source: 'http' });
    assert.equal(row.queueName, queueName);
    assert.equal(row.attempt, 1);
    assert.equal(row.messageId, messageId);
  });

  test('§8.129 a health-check message {__healthCheck:true, correlationId} to __wkf_step_health_check reaches the step handler', async () => {
    const correlationId = queueFixtures.newTag('hc');
    const { messageId } = await h.world.queue(
      `${STEP}health_check`,
      { __healthCheck: true, correlationId },
      { specVersion: 1, deploymentId: 'cloudflare' },
    );
    const [row] = await queueFixtures.waitForDeliveries(db, correlationId, 1, { source: 'http' });
    assert.equal(row.queueName, `${STEP}health_check`);
    assert.equal(row.messageId, messageId);
    assert.deepEqual(row.payload, { __healthCheck: true, correlationId });
  });

  test('a ~300 KB step payload goes through R2 and reaches the HTTP handler intact', async () => {
    const tag = queueFixtures.newTag('step-big');
    const big = queueFixtures.patternBytes(300_000);
    await h.world.queue(`${STEP}big`, stepPayload({ tag, big }));
    const [row] = await queueFixtures.waitForDeliveries(db, tag, 1, { source: 'http', timeout: 15_000 });
    assert.deepEqual(row.payload.big, { $type: 'Uint8Array', length: big.length, fnv: fnv1a(big) });
  });
});

describe('HTTP responses drive redelivery', () => {
  test('§8.121 HTTP 500 (handler throws) → redelivered with attempt 2', async () => {
    const tag = queueFixtures.newTag('step-fail');
    const { messageId } = await h.world.queue(`${STEP}flaky`, stepPayload({ tag, mode: 'fail', times: 1 }));
    const rows = await queueFixtures.waitForDeliveries(db, tag, 2, { source: 'http' });
    assert.deepEqual(
      rows.map((r) => r.attempt),
      [1, 2],
    );
    const reqs = await waitForRequest(messageId, 2);
    assert.equal(reqs[0].status, 500);
    assert.equal(reqs[0].headers['x-vqs-message-attempt'], '1');
    assert.equal(reqs[1].status, 200);
    assert.equal(reqs[1].headers['x-vqs-message-attempt'], '2');
    await queueFixtures.settle(h.world, db, `${STEP}barrier`, { source: 'http' });
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 2);
  });

  test('§8.119 200 {timeoutSeconds: 1} → redelivered after ~1 s with attempt still 1', async () => {
    const tag = queueFixtures.newTag('step-sleep');
    const { messageId } = await h.world.queue(
      `${STEP}sleepy`,
      stepPayload({ tag, mode: 'sleep', seconds: 1, times: 1 }),
    );
    const [first, second] = await queueFixtures.waitForDeliveries(db, tag, 2, { source: 'http' });
    assert.ok(second.at - first.at >= 900, `redelivered after ${second.at - first.at} ms`);
    assert.equal(second.attempt, 1);
    assert.equal(second.messageId, messageId);
    const reqs = await waitForRequest(messageId, 2);
    assert.deepEqual(JSON.parse(reqs[0].responseBody), { timeoutSeconds: 1 });
  });

  test('a step message whose handler always fails: 4 attempts, then the DLQ consumer fails the run named by payload.workflowRunId', async () => {
    const { runId } = await createRunningRun(h.world, { workflowName: 'step-always-fails' });
    const tag = queueFixtures.newTag('step-fail-forever');
    await h.world.queue(`${STEP}doomed`, stepPayload({ tag, workflowRunId: runId, mode: 'fail', times: 1000 }));
    let run;
    await queueFixtures.waitFor(
      async () => {
        run = await h.world.runs.get(runId);
        return run.status === 'failed';
      },
      { timeout: 15_000, what: 'the run to be failed by the DLQ consumer' },
    );
    assert.equal(run.error?.code, 'MAX_DELIVERIES_EXCEEDED', JSON.stringify(run.error));
    assert.deepEqual(
      (await queueFixtures.deliveries(db, tag)).map((r) => r.attempt),
      [1, 2, 3, 4],
    );
  });
});

describe('signatures (WORKFLOW_SECRET)', () => {
  /** A signed request the consumer really sent, to replay. */
  async function capturedRequest() {
    const tag = queueFixtures.newTag('sig');
    const { messageId } = await h.world.queue(`${STEP}sig`, stepPayload({ tag }));
    await queueFixtures.waitForDeliveries(db, tag, 1, { source: 'http' });
    const [req] = await waitForRequest(messageId);
    assert.ok(req.headers[SIGNATURE], 'the consumer signed its request');
    return { req, tag };
  }

  const replay = (req, { headers = {}, drop = [], body = req.body } = {}) => {
    const h2 = { ...req.headers, ...headers };
    for (const k of ['host', 'content-length', 'connection', 'transfer-encoding', ...drop]) delete h2[k];
    return new Request(`http://127.0.0.1:8799${req.path}`, { method: 'POST', headers: h2, body });
  };

  test('a correctly signed request (replayed exactly) → 200 and the handler runs', async () => {
    const { req, tag } = await capturedRequest();
    const res = await stepRoute(replay(req));
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 2);
  });

  test('unsigned → 401, wrong signature → 401, body altered after signing → 401, other secret → 401; the handler never runs', async () => {
    const { req, tag } = await capturedRequest();
    const sig = req.headers[SIGNATURE];
    const flipped = sig.slice(0, -1) + (sig.at(-1) === '0' ? '1' : '0');
    const text = decode(req.body);
    const altered = new TextEncoder().encode(text.replace(tag, tag.slice(0, -1) + (tag.at(-1) === 'A' ? 'B' : 'A')));
    assert.notEqual(decode(altered), text);
    const other = createWorld({ ...h.env, WORKFLOW_SECRET: 'another-secret' }).createQueueHandler(
      STEP,
      createProbe(db, 'http-other'),
    );
    const cases = [
      ['unsigned', stepRoute, replay(req, { drop: [SIGNATURE] })],
      ['empty signature', stepRoute, replay(req, { headers: { [SIGNATURE]: '' } })],
      ['wrong signature', stepRoute, replay(req, { headers: { [SIGNATURE]: flipped } })],
      ['garbage signature', stepRoute, replay(req, { headers: { [SIGNATURE]: 'not-a-signature' } })],
      ['body altered', stepRoute, replay(req, { body: altered })],
      ['attempt header altered', stepRoute, replay(req, { headers: { 'x-vqs-message-attempt': '9' } })],
      ['queue name altered', stepRoute, replay(req, { headers: { 'x-vqs-queue-name': `${STEP}other` } })],
      [
        'message id altered',
        stepRoute,
        replay(req, { headers: { 'x-vqs-message-id': 'msg_01ARZ3NDEKTSV4RRFFQ69G5FAV' } }),
      ],
      ['other secret', other, replay(req)],
    ];
    const statuses = {};
    for (const [name, route, request] of cases) statuses[name] = (await route(request)).status;
    // The signature covers the delivery headers (queue name, message id, attempt) and the body.
    assert.deepEqual(statuses, Object.fromEntries(cases.map(([name]) => [name, 401])));
    const rows = await queueFixtures.deliveries(db, tag);
    assert.equal(rows.filter((r) => r.source === 'http').length, 1, 'only the original delivery ran');
    assert.equal(rows.filter((r) => r.source === 'http-other').length, 0);
  });

  test('a signature older than the 5-minute replay window → 401 (clock moved forward 6 min); 4 min → 200', async () => {
    const { req, tag } = await capturedRequest();
    const realNow = Date.now;
    const at = async (offsetMs) => {
      Date.now = () => realNow() + offsetMs;
      try {
        return (await stepRoute(replay(req))).status;
      } finally {
        Date.now = realNow;
      }
    };
    assert.equal(await at(6 * 60_000), 401);
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 1);
    assert.equal(await at(4 * 60_000), 200);
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 2);
  });

  test('without WORKFLOW_SECRET, unsigned requests are accepted', async () => {
    const tag = queueFixtures.newTag('nosecret');
    const probe = createProbe(db, 'http-nosecret');
    const route = createWorld({ ...h.env, WORKFLOW_SECRET: undefined }).createQueueHandler(STEP, probe);
    const body = JSON.stringify(stepPayload({ tag }));
    const res = await route(queueFixtures.vqsRequest({ queueName: `${STEP}x`, body }));
    assert.equal(res.status, 200);
    await queueFixtures.waitForDeliveries(db, tag, 1, { source: 'http-nosecret' });
  });
});

describe('createQueueHandler as a plain HTTP handler (§5.3)', () => {
  /** Handler on a World without bindings (queue half of §8.150); calls kept in `calls`. */
  function bareHandler(prefix, impl = () => undefined) {
    const calls = [];
    const world = createWorld({});
    assert.equal(typeof world.createQueueHandler, 'function');
    const route = world.createQueueHandler(prefix, async (payload, meta) => {
      calls.push({ payload, meta });
      return impl(payload, meta);
    });
    assert.equal(typeof route, 'function');
    return { route, calls };
  }

  test('§8.150 createQueueHandler works on createWorld({}): 200 {ok:true}, payload decoded (Uint8Array envelope), meta from headers', async () => {
    const { route, calls } = bareHandler('__wkf_workflow_');
    const body = JSON.stringify({
      runId: 'wrun_x',
      input: { __type: 'Uint8Array', data: Buffer.from([0, 1, 0]).toString('base64') },
    });
    const res = await route(
      queueFixtures.vqsRequest({ queueName: '__wkf_workflow_w//a.b@c', messageId: 'msg_01ABC', attempt: 3, body }),
    );
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
    assert.equal(calls.length, 1);
    assert.equal(calls[0].payload.runId, 'wrun_x');
    assert.ok(calls[0].payload.input instanceof Uint8Array, 'Uint8Array revived');
    assert.deepEqual(Array.from(calls[0].payload.input), [0, 1, 0]);
    assert.equal(calls[0].meta.attempt, 3);
    assert.equal(calls[0].meta.queueName, '__wkf_workflow_w//a.b@c');
    assert.equal(calls[0].meta.messageId, 'msg_01ABC');
  });

  test('§5.3 handler results: {timeoutSeconds} → 200 {timeoutSeconds}; throw → 500', async () => {
    const sleepy = bareHandler(STEP, () => ({ timeoutSeconds: 5 }));
    const res = await sleepy.route(queueFixtures.vqsRequest({ queueName: `${STEP}s`, body: '{}' }));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { timeoutSeconds: 5 });
    const failing = bareHandler(STEP, () => {
      throw new Error('boom');
    });
    const res2 = await failing.route(queueFixtures.vqsRequest({ queueName: `${STEP}s`, body: '{}' }));
    assert.equal(res2.status, 500);
  });

  test('§8.117 a handler for __wkf_workflow_ given a __wkf_step_x message → 400, handler not invoked', async () => {
    const { route, calls } = bareHandler('__wkf_workflow_');
    const res = await route(queueFixtures.vqsRequest({ queueName: `${STEP}x`, body: '{}' }));
    assert.equal(res.status, 400);
    assert.equal(typeof (await res.json()).error, 'string');
    assert.equal(calls.length, 0);
  });

  test('§8.118 missing x-vqs-* headers, an invalid queue name, or no body → 400, handler not invoked', async () => {
    const { route, calls } = bareHandler('__wkf_workflow_');
    const good = { queueName: '__wkf_workflow_w', body: '{"runId":"wrun_1"}' };
    const cases = {
      'no x-vqs-queue-name': queueFixtures.vqsRequest({ ...good, omit: ['x-vqs-queue-name'] }),
      'no x-vqs-message-id': queueFixtures.vqsRequest({ ...good, omit: ['x-vqs-message-id'] }),
      'no x-vqs-message-attempt': queueFixtures.vqsRequest({ ...good, omit: ['x-vqs-message-attempt'] }),
      'no x-vqs-* at all': queueFixtures.vqsRequest({
        ...good,
        omit: ['x-vqs-queue-name', 'x-vqs-message-id', 'x-vqs-message-attempt'],
      }),
      'queue name without a wkf prefix': queueFixtures.vqsRequest({ ...good, queueName: 'workflow-runs' }),
      'queue name = bare prefix': queueFixtures.vqsRequest({ ...good, queueName: '__wkf_workflow_' }),
      'no body': queueFixtures.vqsRequest({ ...good, body: undefined }),
    };
    const statuses = {};
    for (const [name, req] of Object.entries(cases)) {
      const res = await route(req);
      statuses[name] = res.status;
      if (res.status === 400) assert.equal(typeof (await res.json()).error, 'string', name);
    }
    assert.deepEqual(statuses, Object.fromEntries(Object.keys(cases).map((k) => [k, 400])));
    assert.equal(calls.length, 0);
    // Sanity: the same handler accepts the well-formed request.
    assert.equal((await route(queueFixtures.vqsRequest(good))).status, 200);
    assert.equal(calls.length, 1);
  });

  test('no flow request reached the Node app: workflow messages were handled in-isolate', async () => {
    await queueFixtures.sleep(0);
    assert.equal(app.requests.filter((r) => r.path === queueFixtures.FLOW_PATH).length, 0);
  });
});
