// Reliability, storage faults injected into the bindings the World uses
// (tests/support/faults.mjs), against real D1 and R2 in local workerd:
//
// - a D1 batch refused before it runs, on every round trip of every event type: a named,
//   retryable error (503 STORAGE_UNAVAILABLE) and nothing stored, then the retry commits once;
// - a D1 batch that commits and then loses its reply (the caller cannot tell): the event is
//   stored once, and the caller's retry is refused by name or is harmless by contract;
// - the queue consumer with a failing D1 or R2: the message is retried, never half-handled,
//   never looped; an unreadable payload is dropped once;
// - R2 failing while a stream is written or read: the writer gets the error, no
//   acknowledged chunk is lost, nothing is left behind.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { createWorld, handleQueueMessage } from '../../js/node.js';
import { faultyD1, faultyR2, recordingQueue } from '../support/faults.mjs';
import { useHarness } from '../support/harness.mjs';
import { assertInvariants, report, storeFingerprint } from '../support/invariants.mjs';
import { patternBytes } from '../support/queue-node.mjs';
import * as fixtures from '../support/storage.mjs';
import { newStreamName, readAll } from '../support/streams.mjs';

let db;
/** The D1 binding with faults, and a World over it (everything else real). */
let d1;
let world;
const figures = { d1Before: {}, d1After: {}, consumer: {}, streams: {} };
const h = useHarness({
  setup: (h) => {
    db = h.env.DB;
    d1 = faultyD1(db);
    world = createWorld({ ...h.env, DB: d1.binding });
  },
  teardown: () => report('storage-faults', figures),
});

/** Expects the named, retryable storage error. */
async function expectUnavailable(call, ctx) {
  try {
    await call();
  } catch (err) {
    assert.equal(err.name, 'WorkflowWorldError', `${ctx}: ${err.name}: ${err.message}`);
    assert.equal(err.status, 503, `${ctx}: ${err.message}`);
    assert.equal(err.code, 'STORAGE_UNAVAILABLE', ctx);
    assert.match(err.message, /injected fault/, ctx);
    return err;
  }
  assert.fail(`${ctx}: the call succeeded despite the fault`);
}

const countOf = async (runId, eventType, correlationId) =>
  (
    await db
      .prepare('SELECT count(*) AS n FROM events WHERE run_id = ? AND event_type = ? AND correlation_id IS ?')
      .bind(runId, eventType, correlationId ?? null)
      .first()
  ).n;

/**
 * Every event type, each with a fresh state to apply it to. `prepare()` returns the run,
 * the call, and which event it should append (`type`, `correlationId`).
 */
const SCENARIOS = [
  {
    name: 'run_created',
    prepare: async () => {
      const runId = fixtures.newRunId();
      return { runId, type: 'run_created', call: () => world.events.create(runId, fixtures.runCreatedEvent()) };
    },
  },
  {
    name: 'run_started',
    prepare: async () => {
      const { runId } = await fixtures.createRun(h.world);
      return { runId, type: 'run_started', call: () => world.events.create(runId, { eventType: 'run_started' }) };
    },
  },
  {
    name: 'run_started (resilient: creates the run)',
    prepare: async () => {
      const runId = fixtures.newRunId();
      const eventData = {
        deploymentId: fixtures.DEPLOYMENT_ID,
        workflowName: fixtures.WORKFLOW_NAME,
        input: fixtures.payload('in'),
      };
      return {
        runId,
        type: 'run_started',
        call: () => world.events.create(runId, { eventType: 'run_started', eventData }),
      };
    },
  },
  {
    name: 'step_created',
    prepare: async () => {
      const { runId } = await fixtures.createRunningRun(h.world);
      const stepId = fixtures.newStepId();
      const data = fixtures.stepCreatedEvent(stepId);
      return { runId, type: 'step_created', correlationId: stepId, call: () => world.events.create(runId, data) };
    },
  },
  {
    name: 'step_started',
    prepare: async () => {
      const { runId } = await fixtures.createRunningRun(h.world);
      const { stepId } = await fixtures.createStep(h.world, runId);
      const data = { eventType: 'step_started', correlationId: stepId, eventData: { stepName: fixtures.STEP_NAME } };
      return { runId, type: 'step_started', correlationId: stepId, call: () => world.events.create(runId, data) };
    },
  },
  {
    name: 'step_retrying',
    prepare: async () => {
      const { runId } = await fixtures.createRunningRun(h.world);
      const { stepId } = await fixtures.createRunningStep(h.world, runId);
      const data = {
        eventType: 'step_retrying',
        correlationId: stepId,
        eventData: { stepName: fixtures.STEP_NAME, error: 'again' },
      };
      return { runId, type: 'step_retrying', correlationId: stepId, call: () => world.events.create(runId, data) };
    },
  },
  {
    name: 'step_completed',
    prepare: async () => {
      const { runId } = await fixtures.createRunningRun(h.world);
      const { stepId } = await fixtures.createRunningStep(h.world, runId);
      const data = {
        eventType: 'step_completed',
        correlationId: stepId,
        eventData: { stepName: fixtures.STEP_NAME, result: fixtures.payload('r') },
      };
      return { runId, type: 'step_completed', correlationId: stepId, call: () => world.events.create(runId, data) };
    },
  },
  {
    name: 'step_failed',
    prepare: async () => {
      const { runId } = await fixtures.createRunningRun(h.world);
      const { stepId } = await fixtures.createRunningStep(h.world, runId);
      const data = {
        eventType: 'step_failed',
        correlationId: stepId,
        eventData: { stepName: fixtures.STEP_NAME, error: 'no', stack: 'S' },
      };
      return { runId, type: 'step_failed', correlationId: stepId, call: () => world.events.create(runId, data) };
    },
  },
  {
    name: 'hook_created',
    prepare: async () => {
      const { runId } = await fixtures.createRunningRun(h.world);
      const hookId = fixtures.newHookId();
      const data = {
        eventType: 'hook_created',
        correlationId: hookId,
        eventData: { token: fixtures.newToken('f'), isWebhook: false },
      };
      return { runId, type: 'hook_created', correlationId: hookId, call: () => world.events.create(runId, data) };
    },
  },
  {
    name: 'hook_created (token held by another run: hook_conflict)',
    prepare: async () => {
      const { runId: holder } = await fixtures.createRunningRun(h.world);
      const { token } = await fixtures.createHook(h.world, holder);
      const { runId } = await fixtures.createRunningRun(h.world);
      const hookId = fixtures.newHookId();
      const data = { eventType: 'hook_created', correlationId: hookId, eventData: { token, isWebhook: false } };
      return { runId, type: 'hook_conflict', correlationId: hookId, call: () => world.events.create(runId, data) };
    },
  },
  {
    name: 'hook_received',
    prepare: async () => {
      const { runId } = await fixtures.createRunningRun(h.world);
      const { hookId, token } = await fixtures.createHook(h.world, runId);
      const data = {
        eventType: 'hook_received',
        correlationId: hookId,
        eventData: { token, payload: fixtures.payload('p') },
      };
      return { runId, type: 'hook_received', correlationId: hookId, call: () => world.events.create(runId, data) };
    },
  },
  {
    name: 'hook_disposed',
    prepare: async () => {
      const { runId } = await fixtures.createRunningRun(h.world);
      const { hookId, token } = await fixtures.createHook(h.world, runId);
      const data = { eventType: 'hook_disposed', correlationId: hookId, eventData: { token } };
      return { runId, type: 'hook_disposed', correlationId: hookId, call: () => world.events.create(runId, data) };
    },
  },
  {
    name: 'wait_created',
    prepare: async () => {
      const { runId } = await fixtures.createRunningRun(h.world);
      const correlationId = fixtures.newWaitCorrelationId();
      const data = { eventType: 'wait_created', correlationId, eventData: { resumeAt: new Date(Date.now() + 60_000) } };
      return { runId, type: 'wait_created', correlationId, call: () => world.events.create(runId, data) };
    },
  },
  {
    name: 'wait_completed',
    prepare: async () => {
      const { runId } = await fixtures.createRunningRun(h.world);
      const { correlationId, resumeAt } = await fixtures.createWait(h.world, runId, {
        resumeAt: new Date(Date.now() - 1000),
      });
      const data = { eventType: 'wait_completed', correlationId, eventData: { resumeAt } };
      return { runId, type: 'wait_completed', correlationId, call: () => world.events.create(runId, data) };
    },
  },
  {
    name: 'run_completed (with a live hook)',
    prepare: async () => {
      const { runId } = await fixtures.createRunningRun(h.world);
      await fixtures.createHook(h.world, runId);
      return {
        runId,
        type: 'run_completed',
        call: () =>
          world.events.create(runId, { eventType: 'run_completed', eventData: { output: fixtures.payload('o') } }),
      };
    },
  },
  {
    name: 'run_failed',
    prepare: async () => {
      const { runId } = await fixtures.createRunningRun(h.world);
      const data = { eventType: 'run_failed', eventData: { error: { message: 'x' }, errorCode: 'USER_ERROR' } };
      return { runId, type: 'run_failed', call: () => world.events.create(runId, data) };
    },
  },
  {
    name: 'run_cancelled (with a live hook)',
    prepare: async () => {
      const { runId } = await fixtures.createRunningRun(h.world);
      await fixtures.createHook(h.world, runId);
      return { runId, type: 'run_cancelled', call: () => world.events.create(runId, { eventType: 'run_cancelled' }) };
    },
  },
];

/** Injects `mode` at batch `k` of the next call; returns whether the fault was used. */
function injectAt(k, mode) {
  d1.plan.next = [...Array(k - 1).fill(null), mode];
  return () => {
    const used = d1.plan.next.length === 0;
    d1.plan.next = [];
    return used;
  };
}

describe('D1 batches that fail before they run', () => {
  test('every event type, failing on each of its round trips: a named 503 and nothing stored; the retry then commits exactly once', async () => {
    let trials = 0;
    for (const scenario of SCENARIOS) {
      const s = await scenario.prepare();
      const fingerprint = await storeFingerprint(db);
      let k = 1;
      for (; k <= 6; k++) {
        const used = injectAt(k, 'before');
        let error;
        try {
          await s.call();
        } catch (err) {
          error = err;
        }
        const faulted = used();
        if (!faulted) {
          assert.equal(error, undefined, `${scenario.name}: failed with no fault injected: ${error}`);
          break;
        }
        trials++;
        const ctx = `${scenario.name}, fault on round trip ${k}`;
        assert.ok(error, `${ctx}: the call succeeded despite the fault`);
        assert.equal(error.name, 'WorkflowWorldError', `${ctx}: ${error.name}: ${error.message}`);
        assert.deepEqual([error.status, error.code], [503, 'STORAGE_UNAVAILABLE'], `${ctx}: ${error.message}`);
        assert.match(error.message, /D1 batch failed: .*injected fault/, ctx);
        assert.deepEqual(await storeFingerprint(db), fingerprint, `${ctx}: something was stored`);
      }
      assert.ok(k > 1, `${scenario.name}: no round trip was faulted`);
      assert.equal(await countOf(s.runId, s.type, s.correlationId), 1, `${scenario.name}: stored once after the retry`);
      figures.d1Before[scenario.name] = { roundTrips: k - 1, faultsInjected: k - 1, stored: 1 };
    }
    figures.d1BeforeTrials = trials;
    await assertInvariants(db, 'after D1 faults before commit');
  });

  test('reads under a failing D1: a named 503, never a wrong answer', async () => {
    const { runId } = await fixtures.createRunningRun(h.world);
    const reads = {
      'runs.get': () => world.runs.get(runId),
      'runs.list': () => world.runs.list({}),
      'steps.list': () => world.steps.list({ runId }),
      'events.list': () => world.events.list({ runId }),
      'hooks.getByToken': () => world.hooks.getByToken('t'),
      getStreamInfo: () => world.getStreamInfo('s', runId),
    };
    for (const [name, read] of Object.entries(reads)) {
      d1.plan.next = ['before'];
      await expectUnavailable(read, name);
    }
    d1.plan.next = [];
    figures.d1ReadsFaulted = Object.keys(reads).length;
  });
});

/**
 * What the caller's retry of the same call may meet after a lost reply: the event is
 * already there. By contract a second step_started counts an attempt (§3.4.5), a second
 * step_retrying on the now pending step is allowed and changes nothing that matters (§3.4.8:
 * "allowed if the step exists and is not terminal"), a second run_cancelled on the
 * cancelled run is an idempotent success that appends again (§3.4.3, §8.24), and a second
 * hook_received is a second delivery (§8.69, no dedup): those four append again. A
 * run_started retry succeeds without a second event; everything else is refused by name.
 */
const RETRY_APPENDS = new Set(['step_started', 'step_retrying', 'run_cancelled', 'hook_received']);

describe('D1 batches that commit and then lose their reply', () => {
  test('every event type: the call fails with a named 503 yet the event is stored exactly once; the retry is refused by name or harmless by contract', async () => {
    let trials = 0;
    for (const scenario of SCENARIOS) {
      for (let k = 1; k <= 6; k++) {
        const s = await scenario.prepare();
        const used = injectAt(k, 'after');
        let error;
        try {
          await s.call();
        } catch (err) {
          error = err;
        }
        if (!used()) {
          assert.equal(error, undefined, `${scenario.name}: failed with no fault injected: ${error}`);
          break;
        }
        trials++;
        const ctx = `${scenario.name}, reply of round trip ${k} lost`;
        assert.ok(error, `${ctx}: the call succeeded despite the fault`);
        assert.deepEqual(
          [error.name, error.status, error.code],
          ['WorkflowWorldError', 503, 'STORAGE_UNAVAILABLE'],
          `${ctx}: ${error.message}`,
        );
        const afterFault = await countOf(s.runId, s.type, s.correlationId);
        assert.ok(afterFault <= 1, `${ctx}: stored ${afterFault} times`);
        // The caller (core) retries a 503.
        let retry;
        try {
          const res = await s.call();
          retry = `ok ${res.event?.eventType ?? '(no event)'}`;
        } catch (err) {
          retry = err.name;
          assert.notEqual(err.status, 503, `${ctx}: the retry hit ${err.message}`);
        }
        const stored = await countOf(s.runId, s.type, s.correlationId);
        const expected = afterFault === 1 && RETRY_APPENDS.has(s.type) ? 2 : 1;
        assert.equal(stored, expected, `${ctx}: ${s.type} stored ${stored} times (retry: ${retry})`);
        (figures.d1After[scenario.name] ??= []).push({
          roundTrip: k,
          committedBeforeTheError: afterFault === 1,
          retry,
          stored,
        });
      }
    }
    figures.d1AfterTrials = trials;
    await assertInvariants(db, 'after lost D1 replies');
  });
});

describe('the queue consumer with failing storage', () => {
  const PREFIX = '__wkf_workflow_reliability_';
  const calls = [];
  let sends;
  let env;
  let r2;
  before(() => {
    sends = recordingQueue();
    r2 = faultyR2(h.env.STREAM_BUCKET);
    env = { ...h.env, DB: d1.binding, WORKFLOW_QUEUE: sends, STEP_QUEUE: sends, STREAM_BUCKET: r2.binding };
    createWorld(env).createQueueHandler(PREFIX, async (payload, meta) => {
      calls.push({ payload, meta });
    });
  });

  /** Sends one message through the World; returns its body as the queue would deliver it. */
  async function message(payload) {
    sends.sent.length = 0;
    await createWorld(env).queue(`${PREFIX}w`, payload);
    assert.equal(sends.sent.length, 1);
    const { body } = sends.sent.pop();
    return { id: `cf-${Math.random()}`, body, attempts: 1 };
  }
  const deliver = (msg, attempts) => handleQueueMessage(env, { ...msg, attempts });
  const callsFor = (tag) => calls.filter((c) => c.payload?.tag === tag);

  test('D1 fails on the delivery record (before the handler): the message is retried, the retry runs the handler once', async () => {
    const tag = `d1-begin-${Date.now()}`;
    const msg = await message({ tag });
    d1.plan.next = ['before'];
    await assert.rejects(deliver(msg, 1), (e) => e.status === 503 && /injected fault/.test(e.message));
    assert.equal(callsFor(tag).length, 0, 'the handler ran without a delivery record');
    await deliver(msg, 2);
    assert.deepEqual(
      callsFor(tag).map((c) => c.meta.attempt),
      [2],
    );
    await deliver(msg, 3); // a late duplicate
    assert.equal(callsFor(tag).length, 1);
    assert.equal(sends.sent.length, 0, 'nothing parked or re-sent');
    figures.consumer['D1 fails before the handler'] = { deliveries: 3, handlerRuns: 1 };
  });

  test('D1 loses the reply of the delivery record: the retry (a later attempt) takes the delivery over at once and runs the handler once (regression)', async () => {
    const tag = `d1-begin-after-${Date.now()}`;
    const msg = await message({ tag });
    d1.plan.next = ['after'];
    await assert.rejects(deliver(msg, 1), (e) => e.status === 503);
    assert.equal(callsFor(tag).length, 0);
    await deliver(msg, 2);
    assert.deepEqual(
      callsFor(tag).map((c) => c.meta.attempt),
      [2],
      'the retry ran the handler at once',
    );
    assert.equal(sends.sent.length, 0, 'nothing parked');
    // A copy with the same attempt as the holder still waits for it (it may be running).
    await deliver({ ...msg }, 2);
    assert.equal(callsFor(tag).length, 1);
    figures.consumer['D1 loses the reply of the delivery record'] = { deliveries: 3, handlerRuns: 1, parked: 0 };
  });

  test('a handler failure whose release batch fails: the error still reaches the queue (retry), nothing is marked done', async () => {
    const tag = `d1-finish-${Date.now()}`;
    let fail = true;
    createWorld(env).createQueueHandler(`${PREFIX}flaky_`, async (payload) => {
      calls.push({ payload, meta: {} });
      if (fail) throw new Error('handler failed');
    });
    sends.sent.length = 0;
    await createWorld(env).queue(`${PREFIX}flaky_x`, { tag });
    const msg = { id: 'm', body: sends.sent.pop().body };
    d1.plan.next = [null, 'before']; // begin ok, the release after the failure fails
    await assert.rejects(deliver(msg, 1));
    const row = await db
      .prepare('SELECT state FROM queue_deliveries WHERE message_id = ?')
      .bind(msg.body.messageId)
      .first();
    assert.equal(row.state, 'running', 'not marked done');
    fail = false;
    await deliver(msg, 2); // Cloudflare's retry takes over the unreleased delivery at once
    assert.equal(callsFor(tag).length, 2, 'the retry ran the handler');
    figures.consumer['the release after a handler failure fails'] = {
      deliveries: 2,
      handlerRuns: 2,
      retryRanAtOnce: true,
    };
  });

  test('R2 fails while reading a large payload: a named 503, the lease is released, and the retry runs at once (regression)', async () => {
    const tag = `r2-get-${Date.now()}`;
    const big = patternBytes(150_000);
    const msg = await message({ tag, big });
    assert.equal(typeof msg.body.payloadKey, 'string', 'the payload went to R2');
    r2.plan.get = [true];
    await assert.rejects(deliver(msg, 1), (e) => e.status === 503 && /R2 get of a queue payload/.test(e.message));
    assert.equal(callsFor(tag).length, 0);
    await deliver(msg, 2);
    const [call] = callsFor(tag);
    assert.equal(call?.meta.attempt, 2, 'the retry ran at once');
    assert.deepEqual(call.payload.big, big);
    assert.equal(sends.sent.length, 0, 'nothing parked');
    figures.consumer['R2 fails reading a large payload'] = { deliveries: 2, handlerRuns: 1, parked: 0 };
  });

  test('a payload missing from R2: dropped once with a named error, never redelivered (regression)', async () => {
    const tag = `r2-missing-${Date.now()}`;
    const msg = await message({ tag, big: patternBytes(150_000) });
    await h.env.STREAM_BUCKET.delete(msg.body.payloadKey);
    const errors = [];
    const original = console.error;
    console.error = (...args) => errors.push(args.join(' '));
    try {
      await deliver(msg, 1); // acknowledged
      await deliver(msg, 2); // a copy: acknowledged at once
    } finally {
      console.error = original;
    }
    assert.equal(callsFor(tag).length, 0);
    assert.equal(sends.sent.length, 0, 'nothing parked or re-sent: no loop');
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0], /MISSING_PAYLOAD|is not in R2/);
    figures.consumer['payload missing from R2'] = { deliveries: 2, handlerRuns: 0, resends: 0, loggedOnce: true };
  });

  test('random D1 faults (before and after commit) on 60 messages, each retried as Cloudflare would: every handler runs, none is lost, none is parked or loops', async () => {
    const tags = Array.from({ length: 60 }, (_, i) => `rand-${Date.now()}-${i}`);
    const msgs = [];
    for (const tag of tags) msgs.push({ tag, msg: await message({ tag }) });
    const s0 = { ...d1.stats };
    d1.plan.seed = 7;
    d1.plan.mode = 'mixed';
    d1.plan.rate = 0.3;
    let retries = 0;
    let parked = 0;
    try {
      for (const { msg } of msgs) {
        sends.sent.length = 0;
        for (let attempt = 1; attempt <= 10; attempt++) {
          try {
            await deliver(msg, attempt);
            break;
          } catch {
            retries++;
          }
        }
        parked += sends.sent.filter((s) => s.body?.messageId === msg.body.messageId).length;
      }
    } finally {
      d1.plan.rate = 0;
    }
    const runs = tags.map((t) => callsFor(t).length);
    const notRun = tags.filter((_, i) => runs[i] === 0);
    assert.deepEqual(notRun, [], 'messages whose handler never ran');
    assert.equal(parked, 0, 'a retry was parked behind a dead lease');
    figures.consumer['random D1 faults, 60 messages'] = {
      messages: 60,
      faults: d1.stats.before - s0.before + (d1.stats.after - s0.after),
      retries,
      ranOnce: runs.filter((n) => n === 1).length,
      ranMoreThanOnce: runs.filter((n) => n > 1).length,
      parked,
      lost: notRun.length,
    };
  });
});

describe('R2 faults while streaming', () => {
  let r2;
  let sw;
  before(() => {
    r2 = faultyR2(h.env.STREAM_BUCKET);
    sw = createWorld({ ...h.env, DB: d1.binding, STREAM_BUCKET: r2.binding });
  });
  const objects = async () => (await h.env.STREAM_BUCKET.list({ prefix: 'streams/' })).objects.length;

  test('30 streams with random R2 PUT failures: the writer gets a named 503 for each failed chunk, and every acknowledged chunk is read back, in order, nothing else', async () => {
    let failedWrites = 0;
    let acked = 0;
    let random = 11;
    const next = () => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let s = 0; s < 30; s++) {
      const name = newStreamName('r2fault');
      const runId = fixtures.newRunId();
      const expected = [];
      for (let i = 0; i < 8; i++) {
        const large = next() < 0.5;
        const chunk = large ? patternBytes(130 * 1024 + i) : new TextEncoder().encode(`small-${s}-${i}`);
        const failPut = large && next() < 0.5;
        r2.plan.put = [failPut];
        try {
          if (next() < 0.5) await sw.writeToStream(name, runId, chunk);
          else await sw.writeToStreamMulti(name, runId, [chunk]);
          assert.ok(!failPut, 'a write whose R2 PUT failed was acknowledged');
          expected.push(chunk);
          acked++;
        } catch (err) {
          assert.ok(failPut, `an unexpected failure: ${err.message}`);
          assert.deepEqual([err.name, err.status, err.code], ['WorkflowWorldError', 503, 'STORAGE_UNAVAILABLE']);
          assert.match(err.message, /R2 put of a stream segment failed/);
          failedWrites++;
        }
      }
      r2.plan.put = [];
      await sw.closeStream(name, runId);
      const got = await readAll(await sw.readFromStream(name), { label: name });
      assert.equal(got.length, expected.length, `${name}: ${got.length} chunks read, ${expected.length} acknowledged`);
      got.forEach((c, i) => assert.deepEqual(new Uint8Array(c), new Uint8Array(expected[i]), `${name} chunk ${i}`));
      const info = await sw.getStreamInfo(name, runId);
      assert.deepEqual(info, { tailIndex: expected.length - 1, done: true });
    }
    figures.streams['random R2 PUT failures'] = {
      streams: 30,
      writes: 240,
      failedWrites,
      acknowledged: acked,
      acknowledgedLost: 0,
    };
    await assertInvariants(db, 'after R2 faults');
  });

  test('D1 fails after a large segment went to R2: a named 503 and no orphan object; a lost reply keeps the committed object (regression)', async () => {
    const name = newStreamName('d1fault');
    const runId = fixtures.newRunId();
    const before = await objects();
    d1.plan.next = ['before'];
    await expectUnavailable(() => sw.writeToStream(name, runId, patternBytes(200_000)), 'large write, D1 refuses');
    assert.equal(await objects(), before, 'the R2 object of a segment D1 refused was kept');
    d1.plan.next = ['after'];
    const big = patternBytes(210_000);
    await expectUnavailable(() => sw.writeToStream(name, runId, big), 'large write, reply lost');
    assert.equal(await objects(), before + 1, 'the committed segment kept its object');
    await sw.closeStream(name, runId);
    const got = await readAll(await sw.readFromStream(name));
    assert.equal(got.length, 1);
    assert.deepEqual(new Uint8Array(got[0]), big);
    figures.streams['D1 fails on a large segment'] = { orphanObjects: 0, committedObjectsKept: 1 };
  });

  test('R2 fails while a reader fetches a segment: the reader errors (never skips data); a new reader then gets everything', async () => {
    const name = newStreamName('r2read');
    const runId = fixtures.newRunId();
    const chunks = [new TextEncoder().encode('a'), patternBytes(140_000), new TextEncoder().encode('z')];
    for (const c of chunks) await sw.writeToStream(name, runId, c);
    await sw.closeStream(name, runId);
    r2.plan.get = () => true;
    await assert.rejects(readAll(await sw.readFromStream(name), { timeoutMs: 5000 }), (e) =>
      /R2|injected/.test(e.message),
    );
    r2.plan.get = [];
    const got = await readAll(await sw.readFromStream(name));
    assert.equal(got.length, 3);
    got.forEach((c, i) => assert.deepEqual(new Uint8Array(c), new Uint8Array(chunks[i])));
    figures.streams['R2 fails during a read'] = { readerErrored: true, dataSkipped: 0 };
  });

  test('queue() of a large payload while R2 fails: a named 503 and the idempotency key is free for the retry', async () => {
    const sends = recordingQueue();
    const qw = createWorld({ ...h.env, STREAM_BUCKET: r2.binding, WORKFLOW_QUEUE: sends });
    const key = `idem-${Date.now()}`;
    r2.plan.put = [true];
    await assert.rejects(
      qw.queue('__wkf_workflow_big', { big: patternBytes(100_000) }, { idempotencyKey: key }),
      (e) => e.status === 503 && /R2 put of a large queue payload/.test(e.message),
    );
    assert.equal(sends.sent.length, 0);
    const { messageId } = await qw.queue('__wkf_workflow_big', { big: patternBytes(100_000) }, { idempotencyKey: key });
    assert.match(messageId, /^msg_/);
    assert.equal(sends.sent.length, 1, 'the retry sent the message');
    figures.streams['queue() large payload, R2 down'] = { firstCall: '503', retrySent: 1 };
  });
});
