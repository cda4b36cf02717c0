// Queue conformance of the spec-7 World (world-contract-v5 §6, §7, §10; checklist V82–V97,
// V107): world.queue() of `createWorld(env, { specVersion: 7 })`, delivered by real local
// Queues to the fixture Worker's consumer (tests/workers/worker.js), which registers the
// probe of tests/support/queue-probe.mjs once per line: rows with source `isolate-v5` were
// handled by the 5.x World's handler, `isolate` by the 4.x one's. Every send the World makes
// is recorded (tests/support/queue-node.mjs `recordedDelays`), so the last test proves no
// send asked Cloudflare for more than its 12 h (43,200 s) delay limit.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createWorld } from '../../js/node.js';
import { useHarness } from '../support/harness.mjs';
import * as queueFixtures from '../support/queue-node.mjs';
import { fnv1a } from '../support/queue-probe.mjs';
import { createRun, createRunningRun, newRunId, newStepId, uniqueName } from '../support/world-v5.mjs';

const WF = '__wkf_workflow_';
const V5 = 'isolate-v5';
/** The Queues limit on `delaySeconds` (Cloudflare's Queues limits page: 12 hours). */
const QUEUES_MAX_DELAY_SECONDS = 43_200;

let db;
let world;
let workflowSpy;
const h = useHarness({
  setup: async (h) => {
    db = h.env.DB; // uncounted: the probe rows are test bookkeeping
    await queueFixtures.ensureDeliveriesTable(db);
    workflowSpy = queueFixtures.spyQueue(h.env.WORKFLOW_QUEUE);
    world = createWorld({ ...h.env, WORKFLOW_QUEUE: workflowSpy }, { specVersion: 7 });
  },
});

const v5Deliveries = (tag, n, options) => queueFixtures.waitForDeliveries(db, tag, n, { source: V5, ...options });

describe('delivery to the 5.x handler', () => {
  test('V82 queue("__wkf_workflow_w") reaches the 5.x handler with queueName, messageId and attempt 1', async () => {
    const tag = queueFixtures.newTag('v82');
    const { messageId } = await world.queue(`${WF}w`, { runId: newRunId(), tag });
    assert.match(messageId, queueFixtures.MESSAGE_ID_RE);
    const [row, ...more] = await v5Deliveries(tag, 1);
    assert.equal(more.length, 0);
    assert.deepEqual([row.queueName, row.messageId, row.attempt], [`${WF}w`, messageId, 1]);
  });

  test('§9 queueBatch sends its messages in one sendBatch, answers each in order, and a held key answers its message', async () => {
    const tag = queueFixtures.newTag('batch');
    const key = `${tag}-key`;
    const held = await world.queue(`${WF}w`, { runId: newRunId(), tag, n: 0 }, { idempotencyKey: key });
    const batchesBefore = workflowSpy.sent.length;
    const results = await world.queueBatch(`${WF}w`, [
      { message: { runId: newRunId(), tag, n: 1 } },
      { message: { runId: newRunId(), tag, n: 2 }, opts: { idempotencyKey: key } },
      { message: { runId: newRunId(), tag, n: 3 }, opts: { idempotencyKey: `${tag}-other`, delaySeconds: 1 } },
      { message: { runId: newRunId(), tag, n: 4 }, opts: { deploymentId: 'd'.repeat(30_000) } },
    ]);
    assert.equal(results.length, 4);
    assert.match(results[0].messageId, queueFixtures.MESSAGE_ID_RE);
    assert.equal(results[1].messageId, held.messageId, 'the key is held by the earlier message');
    assert.match(results[2].messageId, queueFixtures.MESSAGE_ID_RE);
    assert.equal(results[3].messageId, null);
    assert.equal(results[3].retryable, false);
    assert.match(results[3].error, /QUEUE_MESSAGE_TOO_LARGE|the limit is/);
    assert.equal(workflowSpy.sent.length - batchesBefore, 2, 'two messages sent');
    const rows = await v5Deliveries(tag, 3, { timeout: 20_000 });
    const byId = new Map(rows.map((r) => [r.messageId, r]));
    for (const id of [held.messageId, results[0].messageId, results[2].messageId]) assert.ok(byId.has(id), id);
    await queueFixtures.sleep(1_500);
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 3, 'each delivered once');
  });

  test('V107 a message reaches the line of the run it targets, whichever line sent it', async () => {
    const old = newRunId();
    await h.world.events.create(old, {
      eventType: 'run_created',
      eventData: { deploymentId: 'd', workflowName: 'w', input: new Uint8Array([1]) },
    });
    const { runId: current } = await createRun(world);
    const cases = [
      // [sender, payload, the handler that must run it]
      [world, { runId: old }, 'isolate'],
      [h.world, { runId: current }, V5],
      // a run start() has not created yet: the version it stamps
      [h.world, { runId: newRunId(), runInput: { specVersion: 7 } }, V5],
      // no run at all (health checks): back to the sender's line
      [h.world, {}, 'isolate'],
      [world, {}, V5],
    ];
    for (const [sender, payload, source] of cases) {
      const tag = queueFixtures.newTag('v107');
      await sender.queue(`${WF}shared`, { ...payload, tag });
      const [row] = await queueFixtures.waitForDeliveries(db, tag, 1);
      assert.equal(row.source, source, JSON.stringify(payload));
    }
  });

  test('V83 V84 a queued-step payload arrives deep-equal: Uint8Array inputs byte-exact, requestedAt a Date', async () => {
    const tag = queueFixtures.newTag('v83');
    const requestedAt = new Date('2026-12-01T10:00:00.123Z');
    const input = new Uint8Array([0, 255, 0, 7]);
    const runId = newRunId();
    const stepId = newStepId();
    const payload = {
      tag,
      runId,
      stepId,
      stepName: 'step//./src/a//b',
      traceCarrier: { traceparent: '00-a-b-01' },
      requestedAt,
      runContext: { attempt: 1 },
      stepInput: { input },
      runInput: { input, deploymentId: 'd', workflowName: 'w' },
    };
    await world.queue(`${WF}w`, payload, { idempotencyKey: `${stepId}:0a1b2c3d` });
    const [row] = await v5Deliveries(tag, 1);
    assert.deepEqual(row.payload, {
      tag,
      runId,
      stepId,
      stepName: 'step//./src/a//b',
      traceCarrier: { traceparent: '00-a-b-01' },
      requestedAt: { $type: 'Date', iso: requestedAt.toISOString() },
      runContext: { attempt: 1 },
      stepInput: { input: { $type: 'Uint8Array', bytes: [0, 255, 0, 7] } },
      runInput: { input: { $type: 'Uint8Array', bytes: [0, 255, 0, 7] }, deploymentId: 'd', workflowName: 'w' },
    });
  });

  test('V88 a handler result other than {timeoutSeconds} acknowledges: delivered once', async () => {
    const tag = queueFixtures.newTag('v88');
    await world.queue(`${WF}w`, { tag, mode: 'value', value: { ok: true, timeoutSeconds: 'soon' } });
    await v5Deliveries(tag, 1);
    await queueFixtures.settle(world, db, `${WF}barrier`, { source: V5 });
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 1);
  });

  test('V90 V92 one idempotency key in flight → one message and one invocation, for every key shape core makes', async () => {
    const keys = [
      `${newStepId()}:0a1b2c3d`,
      `${newStepId()}:backstop:1764590000000`,
      `${newStepId()}:retry:1`,
      `wait_${queueFixtures.newTag('w')}:hop-3:a2`,
      `hook_conflict_hook_${queueFixtures.newTag('h')}`,
      `hook-${queueFixtures.newTag('resume')}`,
    ];
    for (const key of keys) {
      const tag = queueFixtures.newTag('v90');
      const [a, b] = await Promise.all([
        world.queue(`${WF}w`, { tag, mode: 'hold', ms: 300 }, { idempotencyKey: key }),
        world.queue(`${WF}w`, { tag, mode: 'hold', ms: 300 }, { idempotencyKey: key }),
      ]);
      assert.equal(a.messageId, b.messageId, key);
      await v5Deliveries(tag, 1);
    }
    await queueFixtures.settle(world, db, `${WF}barrier`, { source: V5 });
  });

  test('V91 a completed key is remembered: queue() with it again sends nothing', async () => {
    const tag = queueFixtures.newTag('v91');
    const key = `${newStepId()}:deadbeef`;
    const first = await world.queue(`${WF}w`, { tag }, { idempotencyKey: key });
    await v5Deliveries(tag, 1);
    await queueFixtures.sleep(300); // the delivery's bookkeeping commits after the handler returns
    const again = await world.queue(`${WF}w`, { tag }, { idempotencyKey: key });
    assert.equal(again.messageId, first.messageId);
    await queueFixtures.settle(world, db, `${WF}barrier`, { source: V5 });
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 1);
  });

  test('V93 a 200 KB payload (over the 128 KB message limit) spills to R2 and arrives byte-exact', async () => {
    const tag = queueFixtures.newTag('v93');
    const big = queueFixtures.patternBytes(200 * 1024);
    await world.queue(`${WF}w`, { tag, runInput: { input: big } });
    const [row] = await v5Deliveries(tag, 1, { timeout: 20_000 });
    assert.deepEqual(row.payload.runInput.input, { $type: 'Uint8Array', length: big.length, fnv: fnv1a(big) });
  });

  test('V94 a health-check payload with runId is an ordinary delivery to the health_check queue', async () => {
    const correlationId = queueFixtures.newTag('hc');
    const runId = newRunId();
    await world.queue(
      `${WF}health_check`,
      { __healthCheck: true, correlationId, runId },
      { specVersion: 1, deploymentId: 'd' },
    );
    const [row] = await v5Deliveries(correlationId, 1);
    assert.equal(row.queueName, `${WF}health_check`);
    assert.deepEqual(row.payload, { __healthCheck: true, correlationId, runId });
  });

  test('V96 the 5.x World has no invoke and declares only what it enforces', () => {
    assert.equal(world.invoke, undefined);
    assert.deepEqual(world.capabilities, { hookRetention: { active: true }, hookResumeDedup: true });
  });
});

describe('attempts, reschedules and delays', () => {
  test('V85 V86 a throwing handler is redelivered with the same messageId and attempt 2, 3', async () => {
    const tag = queueFixtures.newTag('v85');
    const { messageId } = await world.queue(`${WF}w`, { tag, mode: 'script', script: ['fail', 'fail', 'ok'] });
    const rows = await v5Deliveries(tag, 3, { timeout: 20_000 });
    assert.deepEqual(
      rows.map((r) => [r.attempt, r.messageId]),
      [
        [1, messageId],
        [2, messageId],
        [3, messageId],
      ],
    );
  });

  test('V86 a 5.x reschedule counts as an attempt, so 49 deliveries of one message read attempts 1…49', async () => {
    const tag = queueFixtures.newTag('v86');
    const script = Array(48).fill('sleep:0');
    const { messageId } = await world.queue(`${WF}w`, { tag, mode: 'script', script });
    const rows = await v5Deliveries(tag, 49, { timeout: 60_000 });
    assert.deepEqual(
      rows.map((r) => r.attempt),
      Array.from({ length: 49 }, (_, i) => i + 1),
    );
    assert.ok(rows.every((r) => r.messageId === messageId));
    // The 4.x line keeps its rule: a reschedule starts the count over (contract §5.4).
    const old = queueFixtures.newTag('v86-4x');
    await h.world.queue(`${WF}w`, { tag: old, mode: 'script', script: ['sleep:0', 'sleep:0'] });
    const oldRows = await queueFixtures.waitForDeliveries(db, old, 3, { source: 'isolate' });
    assert.deepEqual(
      oldRows.map((r) => r.attempt),
      [1, 1, 1],
    );
  });

  test('V87 {timeoutSeconds: 2} redelivers the same message no earlier than 2 s later', async () => {
    const tag = queueFixtures.newTag('v87');
    await world.queue(`${WF}w`, { tag, mode: 'sleep', seconds: 2 });
    const [first, second] = await v5Deliveries(tag, 2, { timeout: 20_000 });
    assert.ok(second.at - first.at >= 1900, `redelivered after ${second.at - first.at} ms`);
    assert.equal(second.messageId, first.messageId);
  });

  test('V89 delaySeconds 3 is honoured; 50,000 s is asked of the queue as a 43,200 s hop, not delivered early', async () => {
    const short = queueFixtures.newTag('v89-3s');
    const long = queueFixtures.newTag('v89-50000s');
    const t0 = Date.now();
    const sentBefore = workflowSpy.sent.length;
    await world.queue(`${WF}w`, { tag: long }, { delaySeconds: 50_000 });
    await world.queue(`${WF}w`, { tag: short }, { delaySeconds: 3 });
    const [row] = await v5Deliveries(short, 1, { timeout: 20_000 });
    assert.ok(row.at - t0 >= 2900, `delivered after ${row.at - t0} ms`);
    assert.deepEqual(
      workflowSpy.sent.slice(sentBefore).map((s) => s.options?.delaySeconds),
      [QUEUES_MAX_DELAY_SECONDS, 3],
    );
    assert.equal((await queueFixtures.deliveries(db, long)).length, 0);
  });

  test('a 30 h sleep ({timeoutSeconds: 108000}) is re-sent as a 43,200 s hop', async () => {
    const tag = queueFixtures.newTag('sleep30h');
    await world.queue(`${WF}w`, { tag, mode: 'sleep', seconds: 30 * 3600 });
    await v5Deliveries(tag, 1);
    await queueFixtures.waitFor(
      async () => (await queueFixtures.recordedDelays(db)).includes(QUEUES_MAX_DELAY_SECONDS),
      {
        what: 'the consumer re-sending the sleep as a 12 h hop',
      },
    );
  });
});

describe('dead letters and recovery', () => {
  test('V95 a 5.x message that keeps failing dead-letters and fails its slot run with MAX_DELIVERIES_EXCEEDED', async () => {
    const { runId } = await createRunningRun(world);
    const tag = queueFixtures.newTag('v95');
    await world.queue(`${WF}w`, { tag, runId, mode: 'fail', times: 100 });
    await v5Deliveries(tag, 4, { timeout: 30_000 });
    let run;
    await queueFixtures.waitFor(
      async () => {
        run = await world.runs.get(runId);
        return run.status === 'failed';
      },
      { timeout: 30_000, what: `run ${runId} failed by the dead-letter consumer` },
    );
    assert.equal(run.errorCode, 'MAX_DELIVERIES_EXCEEDED');
    const log = await world.events.list({ runId });
    assert.equal(log.data.at(-1).eventType, 'run_failed');
    assert.match(log.data.at(-1).eventId, /^evnt_0{10}\d{16}$/);
  });

  test('V97 start() re-sends {runId} for every pending and running run to its line', async () => {
    const workflowName = uniqueName();
    const pending = await createRun(world, { workflowName });
    const running = await createRunningRun(world, { workflowName });
    await world.start();
    for (const { runId } of [pending, running]) {
      const [row] = await v5Deliveries(runId, 1);
      assert.equal(row.queueName, `${WF}${workflowName}`);
      assert.deepEqual(row.payload, { runId });
    }
  });
});

test('every send of this file asked Cloudflare Queues for at most 43,200 s', async () => {
  // Last in this file: every send above, from Node and from the consumer.
  const delays = await queueFixtures.recordedDelays(db, [workflowSpy]);
  assert.ok(delays.length > 50, `${delays.length} sends recorded`);
  const over = delays.filter((d) => d > QUEUES_MAX_DELAY_SECONDS);
  assert.deepEqual(over, [], 'no send asks Cloudflare Queues for more than 43,200 s');
});
