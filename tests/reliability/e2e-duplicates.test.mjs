// Reliability end to end, duplicate and out-of-order delivery, with the real runtime
// (workflow 4.8.9) on the example app (tests/support/e2e-faults.mjs): every example
// scenario, all at once, while
//
//   1. every message the runtime sends is sent twice (the same body: a duplicate Cloudflare
//      delivery, absorbed by the World's delivery records);
//   2. every message is sent twice with a fresh sendId (a duplicate the World cannot
//      recognise: the runtime and the event store must absorb it), then the same with each
//      copy held back 0–2 s at random, so messages arrive out of order;
//   3. the consumer Worker runs handleQueueMessage twice per message, both at once;
//   4. every message of the finished runs is delivered again after the runs ended.
//
// Each phase asserts every run completes with the right result, no event that must be
// unique is duplicated, nothing is lost, and the store's invariants hold.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertClean, runAll, settleRuns, sleep, startFaultApp } from '../support/e2e-faults.mjs';
import { report } from '../support/invariants.mjs';

let fx;
const figures = {};
const allRuns = new Set();
before(async () => {
  fx = await startFaultApp();
});
after(async () => {
  report('e2e-duplicates', figures);
  await fx?.app.close();
});

async function phase(label, setup, teardown) {
  await setup();
  try {
    const { runIds, scenarios, ms } = await runAll(fx, label);
    await settleRuns(fx.db, runIds);
    figures[label] = { scenarios, ms, ...(await assertClean(fx, label, runIds)) };
    for (const id of runIds) allRuns.add(id);
    return figures[label];
  } finally {
    await teardown();
  }
}

test('every message sent twice (same body): every run completes with the right result; no event duplicated', async () => {
  const f = await phase(
    'every message sent twice',
    async () => fx.duplicate(2),
    async () => fx.duplicate(1),
  );
  figures['every message sent twice'].messagesDuplicated = fx.queues.reduce((n, q) => n + q.stats.copies, 0);
  assert.equal(f.duplicates, 0);
});

test('every message sent twice with a fresh sendId (not recognisable as a copy): every run completes right; no step result or other unique event recorded twice', async () => {
  const before = fx.queues.reduce((n, q) => n + q.stats.copies, 0);
  const f = await phase(
    'every message sent twice, fresh sendId',
    async () => fx.duplicate(2, true),
    async () => fx.duplicate(1),
  );
  figures['every message sent twice, fresh sendId'].messagesDuplicated =
    fx.queues.reduce((n, q) => n + q.stats.copies, 0) - before;
  assert.equal(f.duplicates, 0);
});

test('every message sent twice with a fresh sendId, each copy held back 0–2 s at random (out of order): every run completes right; nothing duplicated', async () => {
  const before = fx.queues.reduce((n, q) => n + q.stats.delayed, 0);
  const f = await phase(
    'every message sent twice, fresh sendId, out of order',
    async () => fx.duplicate(2, true, 2),
    async () => fx.duplicate(1),
  );
  figures['every message sent twice, fresh sendId, out of order'].copiesHeldBack =
    fx.queues.reduce((n, q) => n + q.stats.delayed, 0) - before;
  assert.equal(f.duplicates, 0);
});

/** A phase in which the consumer Worker handles every message twice (`mode`); its counters. */
async function handledTwice(title, mode) {
  let counters;
  const f = await phase(
    title,
    () => fx.consumerFaults({ handleTwice: mode }),
    async () => {
      counters = (await fx.consumerCounters()).counters;
      delete counters.byQueue;
      await fx.consumerFaults({});
    },
  );
  figures[title].consumer = counters;
  return { f, counters };
}

test('the consumer Worker handles every message twice, both at once: every run completes right; no event duplicated', async () => {
  const { f, counters } = await handledTwice('consumer handles every message twice at once', 'concurrent');
  assert.ok(counters.secondDeliveries > 0);
  assert.equal(f.duplicates, 0);
});

test('the consumer Worker handles every message twice in a row: every run completes right; no event duplicated', async () => {
  const { f } = await handledTwice('consumer handles every message twice in a row', 'sequential');
  assert.equal(f.duplicates, 0);
});

test('every message of the finished runs redelivered after they ended (same body, and a fresh sendId): nothing is appended, no run changes, no message loops', async () => {
  const runIds = [...allRuns];
  const ids = JSON.stringify(runIds);
  const snapshot = async () =>
    (
      await fx.db
        .prepare(
          'SELECT r.run_id, r.status, (SELECT count(*) FROM events e WHERE e.run_id = r.run_id) AS events FROM runs r WHERE r.run_id IN (SELECT value FROM json_each(?)) ORDER BY r.run_id',
        )
        .bind(ids)
        .all()
    ).results;
  const before = await snapshot();
  const bodies = fx.queues.flatMap((q, i) => q.sent.map((s) => ({ queue: i, ...s })));
  assert.ok(bodies.length > 50, `${bodies.length} messages captured`);
  await fx.consumerFaults({});
  const raw = [fx.raw.WORKFLOW_QUEUE, fx.raw.STEP_QUEUE];
  const t0 = Date.now();
  let n = 0;
  for (const { queue, body, options } of bodies) {
    await raw[queue].send(body, options);
    await raw[queue].send({ ...body, sendId: `${body.sendId}late${n++}` }, options);
  }
  const expected = bodies.length * 2;
  const deadline = Date.now() + 40_000;
  // The 7-day sleeps of the longSleep runs (woken early, so over) still hop until their due
  // time: one message per WORKFLOW_QUEUE_MAX_DELAY_SECONDS each, by design (in production
  // one per 24 h). They are counted apart.
  const notHops = (c) =>
    c.messages - Object.entries(c.byQueue).reduce((n, [k, v]) => n + (k.endsWith('(hop)') ? v : 0), 0);
  let counters;
  for (;;) {
    counters = (await fx.consumerCounters()).counters;
    if (notHops(counters) >= expected) break;
    if (Date.now() > deadline) assert.fail(`only ${counters.messages} of ${expected} late deliveries were consumed`);
    await sleep(200);
  }
  // A late step message re-enqueues its run's flow once (the runtime's "step already
  // finished" path), which then finds the run over: the traffic must die out, not loop.
  let last = -1;
  let stable = 0;
  while (stable < 8) {
    const now = notHops((await fx.consumerCounters()).counters);
    stable = now === last ? stable + 1 : 0;
    last = now;
    if (Date.now() > deadline + 20_000) assert.fail(`late deliveries never died out: ${now} for ${expected}`);
    await sleep(250);
  }
  const after = await snapshot();
  assert.deepEqual(after, before, 'a late delivery changed a finished run');
  const later = (await fx.consumerCounters()).counters;
  figures['redelivered after the runs ended'] = {
    runs: runIds.length,
    lateDeliveries: expected,
    consumed: notHops(later),
    hopsOfWokenSleeps: later.messages - notHops(later),
    eventsAppended: 0,
    runsChanged: 0,
    retried: later.retried,
  };
  assert.ok(notHops(later) <= expected * 2, `late deliveries multiplied: ${notHops(later)} for ${expected}`);
  // At most one hop chain per woken 7-day sleep (one longSleep per phase): copies of a
  // hop must not fork chains of their own (regression).
  const chains = Object.keys(figures).length - 1;
  const hopRate = later.messages - notHops(later);
  assert.ok(hopRate <= chains * Math.ceil((Date.now() - t0) / 2000) + 8, `hop chains multiplied: ${hopRate} hops`);
});
