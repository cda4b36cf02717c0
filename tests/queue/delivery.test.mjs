// Queue conformance, delivery (contract §5.1–§5.2, §5.6; checklist §8.114–116, 122–124,
// 127–128): world.queue() from Node and from inside workerd, consumed by the fixture
// Worker's queue() (the README's seed loop over handleQueueMessage) and handled by the
// in-isolate probe registered for `__wkf_workflow_` (tests/support/queue-probe.mjs), which
// records each invocation in D1 (test_deliveries). Idempotency keys, duplicate deliveries
// of one message, delaySeconds, large payloads through R2, getDeploymentId and start().

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createWorld, handleQueueBatch } from '../../js/node.js';
import { useHarness } from '../support/harness.mjs';
import * as queueFixtures from '../support/queue-node.mjs';
import { createProbe, encodeTestValue, fnv1a } from '../support/queue-probe.mjs';
import { createRun, createRunningRun, newRunId, terminateRun, uniqueName } from '../support/storage.mjs';

let db;
const h = useHarness({
  setup: async (h) => {
    db = h.env.DB; // uncounted: the probe rows are test bookkeeping
    await queueFixtures.ensureDeliveriesTable(db);
  },
});

const WF = '__wkf_workflow_';

/** POST /queue on the fixture Worker: world.queue() inside workerd. */
async function queueFromWorker(queueName, payload, opts) {
  const res = await h.server.fetch('/queue', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ queueName, payload: encodeTestValue(payload), opts }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}

describe('delivery on the workflow queue (in-isolate handler)', () => {
  test('§8.114 queue() from Node resolves {messageId: msg_<ULID>}; the handler gets the payload, attempt 1, queueName, messageId', async () => {
    const tag = queueFixtures.newTag('basic');
    const runId = newRunId();
    const res = await h.world.queue(`${WF}w`, { runId, tag });
    assert.match(res.messageId, queueFixtures.MESSAGE_ID_RE);
    const [row, ...more] = await queueFixtures.waitForDeliveries(db, tag, 1);
    assert.equal(more.length, 0);
    assert.equal(row.source, 'isolate');
    assert.equal(row.attempt, 1);
    assert.equal(row.queueName, `${WF}w`);
    assert.equal(row.messageId, res.messageId);
    assert.deepEqual(row.payload, { runId, tag });
  });

  test('§8.114 queue() from inside workerd (fixture /queue) is delivered the same way', async () => {
    const tag = queueFixtures.newTag('from-worker');
    const runId = newRunId();
    const res = await queueFromWorker(`${WF}fromWorker`, { runId, tag });
    assert.match(res.messageId, queueFixtures.MESSAGE_ID_RE);
    const [row] = await queueFixtures.waitForDeliveries(db, tag, 1);
    assert.equal(row.attempt, 1);
    assert.equal(row.queueName, `${WF}fromWorker`);
    assert.equal(row.messageId, res.messageId);
    assert.deepEqual(row.payload, { runId, tag });
  });

  test('20 concurrent queue() calls (from Node and workerd) → each handled exactly once', async () => {
    const tags = Array.from({ length: 20 }, (_, i) => queueFixtures.newTag(`burst${i}`));
    const sent = await Promise.all(
      tags.map((tag, i) => (i % 2 ? h.world.queue(`${WF}burst`, { tag }) : queueFromWorker(`${WF}burst`, { tag }))),
    );
    assert.equal(new Set(sent.map((r) => r.messageId)).size, 20);
    for (let i = 0; i < tags.length; i++) {
      const [row] = await queueFixtures.waitForDeliveries(db, tags[i], 1);
      assert.equal(row.messageId, sent[i].messageId);
    }
    await queueFixtures.settle(h.world, db);
    for (const tag of tags) assert.equal((await queueFixtures.deliveries(db, tag)).length, 1, tag);
  });

  test('messageIds are distinct per queue() call', async () => {
    const ids = await Promise.all(
      [1, 2, 3].map((i) => h.world.queue(`${WF}ids`, { tag: queueFixtures.newTag(`ids${i}`) })),
    );
    assert.equal(new Set(ids.map((r) => r.messageId)).size, 3);
  });

  for (const producer of ['Node', 'workerd']) {
    test(`§8.115 Uint8Array with 0x00 and a Date arrive intact (produced from ${producer})`, async () => {
      const tag = queueFixtures.newTag(`bytes-${producer}`);
      const input = new Uint8Array([0, 0, 1, 0, 255, 0, 0x7f, 0x80, 0]);
      const requestedAt = new Date('2026-03-04T05:06:07.089Z');
      const payload = {
        tag,
        runId: newRunId(),
        requestedAt,
        traceCarrier: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
        runInput: {
          input,
          deploymentId: 'cloudflare',
          workflowName: 'workflow//./src/a//b',
          specVersion: 3,
          executionContext: { nested: [1, 'two', null, { bytes: new Uint8Array([0]) }] },
        },
        emptyBytes: new Uint8Array(0),
        serverErrorRetryCount: 0,
      };
      const send = producer === 'Node' ? h.world.queue(`${WF}bytes`, payload) : queueFromWorker(`${WF}bytes`, payload);
      const { messageId } = await send;
      const [row] = await queueFixtures.waitForDeliveries(db, tag, 1);
      assert.equal(row.messageId, messageId);
      const p = row.payload;
      assert.deepEqual(p.runInput.input, { $type: 'Uint8Array', bytes: Array.from(input) }, 'runInput.input');
      assert.deepEqual(p.emptyBytes, { $type: 'Uint8Array', bytes: [] }, 'empty Uint8Array');
      assert.deepEqual(p.runInput.executionContext, {
        nested: [1, 'two', null, { bytes: { $type: 'Uint8Array', bytes: [0] } }],
      });
      // A Date may travel as a Date or as an ISO string (contract §5.1).
      const at = typeof p.requestedAt === 'string' ? p.requestedAt : p.requestedAt?.iso;
      assert.ok(
        (p.requestedAt?.$type === 'Date' || typeof p.requestedAt === 'string') && at === requestedAt.toISOString(),
        `requestedAt arrived as ${JSON.stringify(p.requestedAt)}`,
      );
      assert.equal(p.runInput.specVersion, 3);
      assert.equal(p.serverErrorRetryCount, 0);
      assert.deepEqual(p.traceCarrier, payload.traceCarrier);
    });
  }

  test('§8.116 flow queue names with / . @ // ( ) [ ] - are delivered intact in meta.queueName', async () => {
    const names = [`${WF}workflow//./src/a//b`, `${WF}wf@1.2.3/x.y`, `${WF}a-b_c(d)[e]`];
    const tags = names.map(() => queueFixtures.newTag('name'));
    const ids = [];
    for (let i = 0; i < names.length; i++) ids.push((await h.world.queue(names[i], { tag: tags[i] })).messageId);
    for (let i = 0; i < names.length; i++) {
      const [row] = await queueFixtures.waitForDeliveries(db, tags[i], 1);
      assert.equal(row.queueName, names[i]);
      assert.equal(row.messageId, ids[i]);
    }
  });

  test('§8.122 a handler that returns void is not redelivered', async () => {
    const tag = queueFixtures.newTag('void');
    await h.world.queue(`${WF}void`, { tag, mode: 'record' });
    await queueFixtures.waitForDeliveries(db, tag, 1);
    await queueFixtures.settle(h.world, db);
    await queueFixtures.sleep(600);
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 1);
  });
});

describe('§8.123 idempotencyKey', () => {
  test('two concurrent queue() calls with one key → one invocation', async () => {
    const tag = queueFixtures.newTag('idem-concurrent');
    const key = queueFixtures.newTag('key');
    const results = await Promise.all([
      h.world.queue(`${WF}idem`, { tag }, { idempotencyKey: key }),
      h.world.queue(`${WF}idem`, { tag }, { idempotencyKey: key }),
    ]);
    for (const r of results) assert.match(r.messageId, /^msg_/);
    await queueFixtures.waitForDeliveries(db, tag, 1);
    await queueFixtures.settle(h.world, db);
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 1);
  });

  test('a second queue() while the first is still undelivered (delaySeconds) → one invocation, same messageId', async () => {
    const tag = queueFixtures.newTag('idem-pending');
    const key = queueFixtures.newTag('key');
    const first = await h.world.queue(`${WF}idem`, { tag }, { idempotencyKey: key, delaySeconds: 1 });
    const second = await h.world.queue(`${WF}idem`, { tag }, { idempotencyKey: key });
    assert.equal(second.messageId, first.messageId, 'the existing messageId is returned');
    const [row] = await queueFixtures.waitForDeliveries(db, tag, 1);
    assert.equal(row.messageId, first.messageId);
    await queueFixtures.settle(h.world, db);
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 1);
  });

  test('a second queue() while the first is in flight, and a third after it completed → one invocation', async () => {
    const tag = queueFixtures.newTag('idem-inflight');
    const key = queueFixtures.newTag('key');
    const payload = { tag, mode: 'hold', ms: 1500 };
    await h.world.queue(`${WF}idem`, payload, { idempotencyKey: key });
    await queueFixtures.waitForDeliveries(db, tag, 1); // the handler is now holding the delivery
    const second = await h.world.queue(`${WF}idem`, payload, { idempotencyKey: key });
    assert.match(second.messageId, /^msg_/);
    await queueFixtures.sleep(1700); // the held delivery has completed
    await queueFixtures.settle(h.world, db);
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 1, 'no second delivery while in flight');
    const third = await h.world.queue(`${WF}idem`, { tag }, { idempotencyKey: key });
    assert.match(third.messageId, /^msg_/);
    await queueFixtures.settle(h.world, db);
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 1, 'no second delivery after completion');
  });

  test('different keys are independent', async () => {
    const tag = queueFixtures.newTag('idem-distinct');
    await h.world.queue(`${WF}idem`, { tag }, { idempotencyKey: queueFixtures.newTag('k1') });
    await h.world.queue(`${WF}idem`, { tag }, { idempotencyKey: queueFixtures.newTag('k2') });
    await queueFixtures.waitForDeliveries(db, tag, 2);
  });
});

describe('duplicate deliveries of one message (at-least-once transport)', () => {
  test('the same message body sent again after it was handled → no second invocation', async () => {
    const spy = queueFixtures.spyQueue(h.env.WORKFLOW_QUEUE);
    const world = createWorld({ ...h.env, WORKFLOW_QUEUE: spy });
    const tag = queueFixtures.newTag('dup-after');
    const { messageId } = await world.queue(`${WF}dup`, { tag, runId: newRunId() });
    assert.equal(spy.sent.length, 1, 'one physical send');
    await queueFixtures.waitForDeliveries(db, tag, 1);
    const { body, options } = spy.sent[0];
    await h.env.WORKFLOW_QUEUE.send(body, options);
    await h.env.WORKFLOW_QUEUE.send(body, options);
    await queueFixtures.settle(h.world, db);
    const rows = await queueFixtures.deliveries(db, tag);
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.equal(rows[0].messageId, messageId);
  });

  test('copies delivered while the first is in flight → one invocation, and the run is not failed by the copies', async () => {
    const { runId } = await createRunningRun(h.world, { workflowName: 'dup-inflight' });
    const spy = queueFixtures.spyQueue(h.env.WORKFLOW_QUEUE, { copies: 2 });
    const world = createWorld({ ...h.env, WORKFLOW_QUEUE: spy });
    const tag = queueFixtures.newTag('dup-inflight');
    await world.queue(`${WF}dup`, { tag, runId, mode: 'hold', ms: 1500 });
    await queueFixtures.waitForDeliveries(db, tag, 1);
    await queueFixtures.sleep(2500);
    await queueFixtures.settle(h.world, db);
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 1);
    const run = await h.world.runs.get(runId);
    assert.equal(run.status, 'running', `run ${JSON.stringify(run.error)}`);
  });
});

describe('delays and large payloads', () => {
  test('§8.124 (REC) queue() with delaySeconds: 3 is not delivered before 3 s', async () => {
    const tag = queueFixtures.newTag('delay');
    const t0 = Date.now();
    await h.world.queue(`${WF}delay`, { tag }, { delaySeconds: 3 });
    await queueFixtures.sleep(2500);
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 0, 'delivered before 2.5 s');
    const [row] = await queueFixtures.waitForDeliveries(db, tag, 1, { timeout: 10_000 });
    const seen = Date.now();
    assert.ok(row.at - t0 >= 2900, `delivered after ${row.at - t0} ms (handler clock)`);
    assert.ok(seen - t0 < 9000, `delivered only after ${seen - t0} ms`);
    assert.equal(row.attempt, 1);
  });

  test('a ~300 KB payload travels through R2 and arrives byte-identical', async () => {
    const spy = queueFixtures.spyQueue(h.env.WORKFLOW_QUEUE);
    const world = createWorld({ ...h.env, WORKFLOW_QUEUE: spy });
    const tag = queueFixtures.newTag('big');
    const big = queueFixtures.patternBytes(300_000);
    const text = 'ü€'.repeat(20_000); // 60 000 chars of multi-byte UTF-8
    const { messageId } = await world.queue(`${WF}big`, { tag, big, text, small: new Uint8Array([0, 1]) });
    assert.equal(spy.sent.length, 1);
    const size = queueFixtures.approxSize(spy.sent[0].body);
    // The message itself stays under the Queues limit (128 KB): the payload went to R2.
    // (The R2 object may already be gone: local delivery takes milliseconds.)
    assert.ok(size < 16 * 1024, `the queue message itself is ${size} bytes`);
    const [row] = await queueFixtures.waitForDeliveries(db, tag, 1);
    assert.equal(row.messageId, messageId);
    assert.deepEqual(row.payload.big, { $type: 'Uint8Array', length: big.length, fnv: fnv1a(big) });
    assert.deepEqual(row.payload.text, {
      $type: 'string',
      length: text.length,
      fnv: fnv1a(new TextEncoder().encode(text)),
    });
    assert.deepEqual(row.payload.small, { $type: 'Uint8Array', bytes: [0, 1] });
  });

  test('a ~300 KB payload produced inside workerd arrives intact', async () => {
    const tag = queueFixtures.newTag('big-worker');
    const big = queueFixtures.patternBytes(300_000);
    const { messageId } = await queueFromWorker(`${WF}big`, { tag, big });
    const [row] = await queueFixtures.waitForDeliveries(db, tag, 1);
    assert.equal(row.messageId, messageId);
    assert.deepEqual(row.payload.big, { $type: 'Uint8Array', length: big.length, fnv: fnv1a(big) });
  });
});

describe('deployment id and recovery (§5.6)', () => {
  test('§8.127 getDeploymentId() resolves to the same non-empty string on repeated calls', async () => {
    const a = await h.world.getDeploymentId();
    const b = await h.world.getDeploymentId();
    assert.equal(a, 'cloudflare'); // wrangler.toml DEPLOYMENT_ID
    assert.equal(b, a);
    assert.equal(await createWorld({}).getDeploymentId(), 'cloudflare');
    assert.equal(await createWorld({ DEPLOYMENT_ID: 'dpl_x' }).getDeploymentId(), 'dpl_x');
  });

  test('§8.128 start() re-enqueues one {runId} per pending/running run on <prefix><workflowName>, none for terminal runs', async () => {
    const workflowName = uniqueName('workflow//./src/recovery//wf');
    const pending = (await createRun(h.world, { workflowName })).runId;
    const running = (await createRunningRun(h.world, { workflowName })).runId;
    const terminal = [];
    for (const status of ['completed', 'failed', 'cancelled']) {
      const { runId } = await createRunningRun(h.world, { workflowName });
      await terminateRun(h.world, runId, status);
      terminal.push(runId);
    }
    await h.world.start();
    const queueName = `${WF}${workflowName}`;
    for (const runId of [pending, running]) {
      const [row] = await queueFixtures.waitForDeliveries(db, runId, 1);
      assert.equal(row.queueName, queueName);
      assert.deepEqual(row.payload, { runId });
      assert.equal(row.attempt, 1);
    }
    await queueFixtures.settle(h.world, db);
    for (const runId of [pending, running]) {
      assert.equal((await queueFixtures.deliveries(db, runId)).length, 1, `one message for ${runId}`);
    }
    for (const runId of terminal)
      assert.equal((await queueFixtures.deliveries(db, runId)).length, 0, `none for terminal ${runId}`);
    const { results } = await db
      .prepare('SELECT COUNT(*) AS n FROM test_deliveries WHERE queue_name = ?')
      .bind(queueName)
      .all();
    assert.equal(results[0].n, 2);
  });
});

describe('handleQueueBatch / handleQueueMessage called from Node (in-process handler)', () => {
  test('a valid message is handled and acked, a throwing one retried, a garbage body acked', async () => {
    // Handlers registered in this (Node) isolate are called directly by handleQueueMessage.
    const probe = createProbe(db, 'node');
    createWorld(h.env).createQueueHandler(WF, probe);
    const spy = queueFixtures.spyQueue(h.env.WORKFLOW_QUEUE);
    const world = createWorld({ ...h.env, WORKFLOW_QUEUE: spy });
    const okTag = queueFixtures.newTag('batch-ok');
    const failTag = queueFixtures.newTag('batch-fail');
    await world.queue(`${WF}batch`, { tag: okTag }, { delaySeconds: 3600 }); // the consumer won't see them yet
    await world.queue(`${WF}batch`, { tag: failTag, mode: 'fail', times: 1 }, { delaySeconds: 3600 });
    const outcomes = [];
    const fake = (id, body) => ({
      id,
      body,
      attempts: 1,
      timestamp: new Date(),
      ack: () => outcomes.push([id, 'ack']),
      retry: () => outcomes.push([id, 'retry']),
    });
    const batch = {
      queue: 'workflow-runs',
      messages: [fake('ok', spy.sent[0].body), fake('fail', spy.sent[1].body), fake('garbage', 'not an envelope')],
    };
    await handleQueueBatch(batch, h.env);
    assert.deepEqual(outcomes, [
      ['ok', 'ack'],
      ['fail', 'retry'],
      ['garbage', 'ack'],
    ]);
    const [row] = await queueFixtures.deliveries(db, okTag, { source: 'node' });
    assert.equal(row.attempt, 1);
    assert.equal(row.queueName, `${WF}batch`);
    assert.equal((await queueFixtures.deliveries(db, failTag, { source: 'node' })).length, 1);
  });
});

describe('handleQueueBatch on the dead-letter queue', () => {
  test('a batch of the queue WORKFLOW_DEAD_LETTER_QUEUE names fails its runs (MAX_DELIVERIES_EXCEEDED) instead of delivering them', async () => {
    const { runId } = await createRunningRun(h.world, { workflowName: 'dead-lettered' });
    const spy = queueFixtures.spyQueue(h.env.WORKFLOW_QUEUE);
    const tag = queueFixtures.newTag('dead-lettered');
    await createWorld({ ...h.env, WORKFLOW_QUEUE: spy }).queue(
      `${WF}dead-lettered`,
      { runId, tag },
      { delaySeconds: 3600 }, // the consumer won't see it
    );
    const outcomes = [];
    const message = {
      id: 'dead-1',
      body: spy.sent[0].body,
      attempts: 4,
      timestamp: new Date(),
      ack: () => outcomes.push('ack'),
      retry: () => outcomes.push('retry'),
    };
    const env = { ...h.env, WORKFLOW_DEAD_LETTER_QUEUE: 'my-dead-letters' };
    // Under the default name, workflow-dlq is a queue like any other for this env.
    await handleQueueBatch({ queue: 'my-dead-letters', messages: [message] }, env);
    assert.deepEqual(outcomes, ['ack']);
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 0, 'a dead letter is not delivered');
    const run = await h.world.runs.get(runId);
    assert.equal(run.status, 'failed');
    assert.equal(run.error.code, 'MAX_DELIVERIES_EXCEEDED');
  });
});
