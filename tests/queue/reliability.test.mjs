// Queue conformance, reliability (contract §5.4; checklist §8.119–122, 126): reschedules
// on {timeoutSeconds} (attempt not incremented), retries on a throwing handler (attempt
// 2, 3, …) up to max_retries = 3 and then the dead-letter consumer (handleDeadLetter in
// tests/workers/dlq-worker.js) failing the run, long sleeps chained in hops, a run that
// sleeps 30 times in a row, and malformed message bodies.
//
// This harness sets WORKFLOW_QUEUE_MAX_DELAY_SECONDS = 1 (the platform's 24 h cap scaled
// down to 1 s), so every delay above 1 s here is delivered through a chain of hops.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createWorld } from '../../js/node.js';
import { useHarness } from '../support/harness.mjs';
import * as queueFixtures from '../support/queue-node.mjs';
import { fnv1a } from '../support/queue-probe.mjs';
import { createRunningRun, newRunId, ulid } from '../support/storage.mjs';

const MAX_DELAY = 1;

let db;
const h = useHarness({
  vars: { WORKFLOW_QUEUE_MAX_DELAY_SECONDS: String(MAX_DELAY) },
  setup: async (h) => {
    db = h.env.DB;
    await queueFixtures.ensureDeliveriesTable(db);
  },
});

const WF = '__wkf_workflow_';

/** Waits until the run has `status`, returns it. */
async function waitForRunStatus(runId, status, timeout = 15_000) {
  let run;
  await queueFixtures
    .waitFor(
      async () => {
        run = await h.world.runs.get(runId);
        return run.status === status;
      },
      { timeout, what: `run ${runId} ${status}` },
    )
    .catch((e) => {
      e.message += `; run: ${JSON.stringify({ status: run?.status, error: run?.error })}`;
      throw e;
    });
  return run;
}

const dlqRows = async () =>
  (
    await db
      .prepare("SELECT seq, tag, message_id, payload FROM test_deliveries WHERE source = 'dlq' ORDER BY seq")
      .all()
  ).results;

describe('reschedules on {timeoutSeconds}', () => {
  test('§8.119 {timeoutSeconds: 2} → the same payload is redelivered no earlier than ~2 s later; (REC) attempt stays 1', async () => {
    const tag = queueFixtures.newTag('sleep2');
    const payload = { tag, runId: newRunId(), mode: 'sleep', seconds: 2, times: 1, bytes: new Uint8Array([0, 9, 0]) };
    const { messageId } = await h.world.queue(`${WF}sleep/a.b@1`, payload);
    const rows = await queueFixtures.waitForDeliveries(db, tag, 2, { timeout: 15_000 });
    const [first, second] = rows;
    assert.ok(second.at - first.at >= 1900, `redelivered after ${second.at - first.at} ms`);
    assert.ok(second.at - first.at < 8000, `redelivered only after ${second.at - first.at} ms`);
    for (const row of rows) {
      assert.equal(row.attempt, 1, 'a reschedule does not count as an attempt');
      assert.equal(row.messageId, messageId);
      assert.equal(row.queueName, `${WF}sleep/a.b@1`);
    }
    assert.deepEqual(second.payload, first.payload);
    assert.deepEqual(second.payload.bytes, { $type: 'Uint8Array', bytes: [0, 9, 0] });
    await queueFixtures.settle(h.world, db);
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 2, 'void after the reschedule ends it');
  });

  test('§8.120 {timeoutSeconds: 0} → redelivered promptly', async () => {
    const tag = queueFixtures.newTag('sleep0');
    await h.world.queue(`${WF}sleep0`, { tag, mode: 'sleep', seconds: 0, times: 1 });
    const [first, second] = await queueFixtures.waitForDeliveries(db, tag, 2, { timeout: 5_000 });
    assert.ok(second.at - first.at < 1500, `redelivered after ${second.at - first.at} ms`);
    assert.equal(second.attempt, 1);
    assert.equal(second.messageId, first.messageId);
  });

  test('a run that sleeps 30 times in a row (max_retries = 3) completes: 31 invocations, all attempt 1', async () => {
    const tag = queueFixtures.newTag('sleep30');
    const { messageId } = await h.world.queue(`${WF}sleepy`, { tag, mode: 'sleep', seconds: 0, times: 30 });
    const rows = await queueFixtures.waitForDeliveries(db, tag, 31, { timeout: 30_000 });
    assert.deepEqual(
      rows.map((r) => r.attempt),
      Array(31).fill(1),
    );
    assert.ok(rows.every((r) => r.messageId === messageId));
    await queueFixtures.settle(h.world, db);
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 31);
  });

  test('§8.126 a timeout longer than the maximum queue delay is honoured by chaining (3 s with a 1 s cap; a 30 h sleep is not delivered early)', async () => {
    const short = queueFixtures.newTag('chain3');
    const long = queueFixtures.newTag('chain30h');
    const t0 = Date.now();
    await h.world.queue(`${WF}chain`, { tag: long, mode: 'sleep', seconds: 30 * 3600, times: 1 });
    await h.world.queue(`${WF}chain`, { tag: short, mode: 'sleep', seconds: 3, times: 1 });
    const [first, second] = await queueFixtures.waitForDeliveries(db, short, 2, { timeout: 15_000 });
    assert.ok(second.at - first.at >= 2900, `3 s sleep redelivered after ${second.at - first.at} ms`);
    assert.equal(second.attempt, 1);
    assert.equal(second.messageId, first.messageId);
    const longRows = await queueFixtures.deliveries(db, long);
    assert.equal(longRows.length, 1, `the 30 h sleep was redelivered after ${Date.now() - t0} ms`);
    assert.equal(longRows[0].attempt, 1);
  });

  test('§8.124 (REC) delaySeconds above the maximum queue delay is honoured by chaining too (3 s with a 1 s cap)', async () => {
    const tag = queueFixtures.newTag('delay3');
    const t0 = Date.now();
    await h.world.queue(`${WF}delay`, { tag }, { delaySeconds: 3 });
    const [row] = await queueFixtures.waitForDeliveries(db, tag, 1, { timeout: 15_000 });
    assert.ok(row.at - t0 >= 2900, `delivered after ${row.at - t0} ms`);
    assert.equal(row.attempt, 1);
  });
});

describe('large payloads across reschedules and dead letters', () => {
  test('a ~200 KB payload (in R2) survives two reschedules intact', async () => {
    const tag = queueFixtures.newTag('big-sleep');
    const big = queueFixtures.patternBytes(200_000);
    await h.world.queue(`${WF}big-sleep`, { tag, big, mode: 'sleep', seconds: 0, times: 2 });
    const rows = await queueFixtures.waitForDeliveries(db, tag, 3);
    for (const row of rows) {
      assert.deepEqual(row.payload.big, { $type: 'Uint8Array', length: big.length, fnv: fnv1a(big) });
      assert.equal(row.attempt, 1);
    }
  });

  test('a dead-lettered message whose payload is in R2 still fails its run', async () => {
    const { runId } = await createRunningRun(h.world, { workflowName: 'big-and-failing' });
    const tag = queueFixtures.newTag('big-fail');
    await h.world.queue(`${WF}big-and-failing`, {
      runId,
      tag,
      big: queueFixtures.patternBytes(200_000),
      mode: 'fail',
      times: 1000,
    });
    const run = await waitForRunStatus(runId, 'failed');
    assert.equal(run.error?.code, 'MAX_DELIVERIES_EXCEEDED', JSON.stringify(run.error));
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 4);
  });
});

describe('retries on a throwing handler, then the dead-letter queue', () => {
  test('§8.121 (REC) a handler that throws twice is redelivered with attempt 2 and 3, then succeeds; the run is untouched', async () => {
    const { runId } = await createRunningRun(h.world, { workflowName: 'retry-then-ok' });
    const tag = queueFixtures.newTag('fail2');
    const { messageId } = await h.world.queue(`${WF}retry-then-ok`, { tag, runId, mode: 'fail', times: 2 });
    const rows = await queueFixtures.waitForDeliveries(db, tag, 3);
    assert.deepEqual(
      rows.map((r) => r.attempt),
      [1, 2, 3],
    );
    assert.ok(rows.every((r) => r.messageId === messageId));
    await queueFixtures.settle(h.world, db);
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 3);
    assert.equal((await h.world.runs.get(runId)).status, 'running');
  });

  test('§8.121 a flow message whose handler always throws: attempts 1–4 (max_retries 3), then the DLQ consumer fails the run with MAX_DELIVERIES_EXCEEDED', async () => {
    const { runId } = await createRunningRun(h.world, { workflowName: 'always-fails' });
    const tag = queueFixtures.newTag('fail-forever');
    await h.world.queue(`${WF}always-fails`, { runId, tag, mode: 'fail', times: 1000 });
    const run = await waitForRunStatus(runId, 'failed');
    assert.equal(run.error?.code, 'MAX_DELIVERIES_EXCEEDED', JSON.stringify(run.error));
    assert.equal(typeof run.error?.message, 'string');
    const rows = await queueFixtures.deliveries(db, tag);
    assert.deepEqual(
      rows.map((r) => r.attempt),
      [1, 2, 3, 4],
    );
    const { data: events } = await h.world.events.list({ runId });
    const failed = events.filter((e) => e.eventType === 'run_failed');
    assert.equal(failed.length, 1);
  });

  test('a reschedule gives the message a fresh retry budget: 3 failures, a sleep, 3 failures, then success completes (no DLQ)', async () => {
    const { runId } = await createRunningRun(h.world, { workflowName: 'fail-sleep-fail' });
    const tag = queueFixtures.newTag('fail-sleep-fail');
    const dlqBefore = (await dlqRows()).length;
    const script = ['fail', 'fail', 'fail', 'sleep:0', 'fail', 'fail', 'fail', 'ok'];
    await h.world.queue(`${WF}fail-sleep-fail`, { runId, tag, mode: 'script', script });
    const rows = await queueFixtures.waitForDeliveries(db, tag, 8);
    const attempts = rows.map((r) => r.attempt);
    assert.deepEqual(attempts.slice(0, 4), [1, 2, 3, 4], `attempts ${attempts}`);
    assert.ok(attempts[4] <= attempts[3], `the reschedule did not count as an attempt: ${attempts}`);
    for (const i of [5, 6, 7]) assert.equal(attempts[i], attempts[i - 1] + 1, `error redeliveries count: ${attempts}`);
    await queueFixtures.settle(h.world, db);
    assert.equal((await queueFixtures.deliveries(db, tag)).length, 8);
    assert.equal((await dlqRows()).length, dlqBefore, 'nothing dead-lettered');
    assert.equal((await h.world.runs.get(runId)).status, 'running');
  });

  test('a throwing handler on a run that already finished: the DLQ consumer leaves the terminal run as it is', async () => {
    const { runId } = await createRunningRun(h.world, { workflowName: 'fails-after-done' });
    await h.world.events.create(runId, { eventType: 'run_completed', eventData: { output: new Uint8Array([1]) } });
    const before = (await dlqRows()).length;
    const tag = queueFixtures.newTag('fail-done');
    await h.world.queue(`${WF}fails-after-done`, { runId, tag, mode: 'fail', times: 1000 });
    await queueFixtures.waitForDeliveries(db, tag, 4);
    await queueFixtures.waitFor(async () => (await dlqRows()).length > before, { what: 'the DLQ consumer' });
    await queueFixtures.sleep(300);
    const run = await h.world.runs.get(runId);
    assert.equal(run.status, 'completed');
    const last = (await dlqRows()).at(-1);
    assert.equal(last.tag, 'handled', `the DLQ consumer did not throw: ${last.tag}`);
  });
});

describe('malformed message bodies', () => {
  test('bodies that are not envelopes (garbage, wrong types, unknown queue name, bad version) invoke nothing, are not retried, and the consumer keeps working', async () => {
    // Capture one real envelope (and its send options) to derive well-formed-looking
    // variants; each gets a fresh send id so duplicate absorption cannot be what hides it.
    const spy = queueFixtures.spyQueue(h.env.WORKFLOW_QUEUE);
    const captureTag = queueFixtures.newTag('capture');
    const world = createWorld({ ...h.env, WORKFLOW_QUEUE: spy });
    await world.queue(`${WF}capture`, { tag: captureTag });
    await queueFixtures.waitForDeliveries(db, captureTag, 1);
    const { body: envelope, options } = spy.sent[0];
    assert.ok(envelope && typeof envelope === 'object', `envelope is an object: ${typeof envelope}`);

    const seq0 = await queueFixtures.maxSeq(db);
    const dlqBefore = (await dlqRows()).length;
    const variant = (changes) => ({ ...envelope, sendId: ulid(), ...changes });
    const bodies = [
      'this is not an envelope {',
      '{"queueName": 42, "payload": "x"}',
      12345,
      null,
      true,
      [1, 2, 3],
      { unrelated: 'object' },
      new Uint8Array([0, 1, 2, 0xff]),
      variant({ queueName: 'not_a_wkf_queue' }),
      variant({ queueName: '__wkf_workflow_' }),
      variant({ queueName: 42 }),
      variant({ wcf: 99 }),
      variant({ payload: 'not bytes' }),
      variant({ payload: new Uint8Array([0xff, 0xfe, 0xfd]) }),
      variant({ messageId: 7 }),
    ];
    for (const body of bodies) await h.env.WORKFLOW_QUEUE.send(body, options);
    await h.env.STEP_QUEUE.send('garbage on the step queue', options);

    const okTag = queueFixtures.newTag('after-garbage');
    await h.world.queue(`${WF}after`, { tag: okTag });
    await queueFixtures.waitForDeliveries(db, okTag, 1);
    await queueFixtures.sleep(800);

    const after = await queueFixtures.rowsAfter(db, seq0);
    const isolate = after.filter((r) => r.source === 'isolate' && r.tag !== okTag);
    assert.deepEqual(isolate, [], 'no handler invocation for a malformed body');
    assert.equal(
      (await queueFixtures.deliveries(db, captureTag)).length,
      1,
      'no variant of the captured envelope was handled',
    );
    assert.equal((await dlqRows()).length, dlqBefore, 'malformed bodies are dropped, not retried into the DLQ');
  });
});
