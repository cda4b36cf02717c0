// Reliability of the spec-7 World under races (world-contract-v5 §3.3, §4.5, §4.7, §4.4):
// hundreds of trials inside workerd (POST /race with specVersion 7 on the fixture Worker,
// tests/support/race-trials.mjs `KINDS_V5`), each checked here against the `slots` table:
// concurrent appends always leave a dense log with no duplicate slot; of two lazy
// step_started for one step exactly one creates it; concurrent attr_set writers; concurrent
// terminal events.
//
// RELIABILITY_V5_TRIALS (default 200) trials per race, RELIABILITY_WAVE (default 8) at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useHarness } from '../support/harness.mjs';
import { report } from '../support/invariants.mjs';

const TRIALS = Number(process.env.RELIABILITY_V5_TRIALS ?? 200);
const WAVE = Number(process.env.RELIABILITY_WAVE ?? 8);

let db;
const figures = {};
const h = useHarness({
  world: false,
  setup: (h) => {
    db = h.env.DB;
  },
  teardown: () => report('races-v5', { trialsPerRace: TRIALS, wave: WAVE, races: figures }),
});

async function trials(kind) {
  const res = await h.server.fetch('/race', {
    method: 'POST',
    body: JSON.stringify({ kind, trials: TRIALS, wave: WAVE, specVersion: 7 }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.records.length, TRIALS);
  assert.deepEqual(
    body.records.filter((r) => r.setupError),
    [],
    'every trial set up its state',
  );
  figures[kind] = { trials: TRIALS, ms: body.ms, outcomes: {} };
  return body.records;
}

const tally = (kind, key) => {
  const o = figures[kind].outcomes;
  o[key] = (o[key] ?? 0) + 1;
};
const label = (o) => (o.ok ? 'ok' : o.name);
const slotId = (n) => `evnt_${String(n).padStart(26, '0')}`;

/** Each run's slot log as `[slot, event_type, correlation_id]`, one query per 200 runs. */
async function slotLogs(runIds) {
  const logs = new Map(runIds.map((id) => [id, []]));
  for (let i = 0; i < runIds.length; i += 200) {
    const { results } = await db
      .prepare(
        'SELECT run_id, slot, event_type, correlation_id FROM slots WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, slot',
      )
      .bind(JSON.stringify(runIds.slice(i, i + 200)))
      .all();
    for (const r of results) logs.get(r.run_id).push([r.slot, r.event_type, r.correlation_id]);
  }
  return logs;
}

function assertDense(log, ctx) {
  assert.deepEqual(
    log.map(([slot]) => slot),
    Array.from({ length: log.length }, (_, i) => i + 1),
    `${ctx}: slots 1..${log.length}, no hole, no duplicate`,
  );
}

test(`V9 concurrent appends to one run (${TRIALS} trials × 6 wait_created, one stale eventCount): always a dense log, every write committed once`, async () => {
  const kind = 'v5 concurrent appends';
  const records = await trials(kind);
  const logs = await slotLogs(records.map((r) => r.runId));
  for (const r of records) {
    const ctx = `trial ${r.trial} ${r.runId}`;
    assert.ok(
      r.outcomes.every((o) => o.ok),
      `${ctx}: ${JSON.stringify(r.outcomes.filter((o) => !o.ok))}`,
    );
    const log = logs.get(r.runId);
    assertDense(log, ctx);
    assert.equal(log.length, 8, `${ctx}: run_created, run_started and the 6 waits`);
    const ids = r.outcomes.map((o) => o.eventId).sort();
    assert.deepEqual(ids, [3, 4, 5, 6, 7, 8].map(slotId), ctx);
    for (const o of r.outcomes) {
      const committed = Number(o.eventId.slice(5));
      // bump and report: the writer expected slot 3 and is told of everything it skipped
      if (committed > 3 && o.hasMore === false) {
        assert.deepEqual(
          o.reported,
          Array.from({ length: committed - 3 }, (_, i) => slotId(3 + i)),
          ctx,
        );
      }
      if (committed === 3) assert.equal(o.reported, undefined, ctx);
    }
    tally(kind, 'dense');
  }
});

test(`V54 two lazy step_started for one step (${TRIALS} trials): exactly one stepCreated, the loser an EntityConflictError, one step_created`, async () => {
  const kind = 'v5 two lazy step_started';
  const records = await trials(kind);
  const logs = await slotLogs([...new Set(records.map((r) => r.runId))]);
  for (const r of records) {
    const ctx = `trial ${r.trial} ${r.stepId}: ${JSON.stringify({ a: r.a, b: r.b })}`;
    tally(kind, `${label(r.a)}/${label(r.b)}`);
    const winners = [r.a, r.b].filter((o) => o.ok);
    assert.equal(winners.length, 1, ctx);
    assert.equal(winners[0].stepCreated, true, ctx);
    assert.equal([r.a, r.b].find((o) => !o.ok).name, 'EntityConflictError', ctx);
    const events = logs.get(r.runId).filter(([, , corr]) => corr === r.stepId);
    assert.deepEqual(
      events.map(([, type]) => type),
      ['step_created', 'step_started'],
      ctx,
    );
    assert.equal(events[1][0], events[0][0] + 1, `${ctx}: the synthetic step_created takes the slot just before`);
  }
  for (const [runId, log] of logs) assertDense(log, runId);
});

test(`V48 V49 concurrent attr_set writers (${TRIALS} trials): one workflow claim per correlation id, every step writer applies`, async () => {
  const kind = 'v5 attr_set writers';
  const records = await trials(kind);
  const logs = await slotLogs(records.map((r) => r.runId));
  for (const r of records) {
    const ctx = `trial ${r.trial} ${r.runId}: ${JSON.stringify({ a: r.a, b: r.b, c: r.c, d: r.d })}`;
    tally(kind, `${label(r.a)}/${label(r.b)}`);
    assert.equal([r.a, r.b].filter((o) => o.ok).length, 1, ctx);
    assert.equal([r.a, r.b].find((o) => !o.ok).name, 'EntityConflictError', ctx);
    assert.ok(r.c.ok && r.d.ok, ctx);
    const winner = r.a.ok ? 'A' : 'B';
    const log = logs.get(r.runId);
    assertDense(log, ctx);
    assert.equal(log.filter(([, type]) => type === 'attr_set').length, 3, ctx);
    // The last writer's answer holds every change committed before it.
    const last = [r.a, r.b, r.c, r.d]
      .filter((o) => o.ok)
      .sort((x, y) => Number(x.eventId.slice(5)) - Number(y.eventId.slice(5)))
      .at(-1);
    assert.deepEqual(last.attributes, { claimed: winner, left: 'L', right: 'R' }, ctx);
  }
});

test(`V43 run_completed vs run_cancelled on a slot run (${TRIALS} trials): exactly one wins, its event is the last slot`, async () => {
  const kind = 'v5 run_completed vs run_cancelled';
  const records = await trials(kind);
  const logs = await slotLogs(records.map((r) => r.runId));
  const statuses = new Map();
  const runIds = records.map((r) => r.runId);
  for (let i = 0; i < runIds.length; i += 200) {
    const { results } = await db
      .prepare('SELECT run_id, status FROM runs WHERE run_id IN (SELECT value FROM json_each(?))')
      .bind(JSON.stringify(runIds.slice(i, i + 200)))
      .all();
    for (const row of results) statuses.set(row.run_id, row.status);
  }
  for (const r of records) {
    const ctx = `trial ${r.trial} ${r.runId}: ${JSON.stringify({ a: r.a, b: r.b })}`;
    tally(kind, `${label(r.a)}/${label(r.b)}`);
    assert.equal([r.a, r.b].filter((o) => o.ok).length, 1, ctx);
    assert.equal([r.a, r.b].find((o) => !o.ok).name, 'EntityConflictError', ctx);
    const status = r.a.ok ? 'completed' : 'cancelled';
    assert.equal(statuses.get(r.runId), status, ctx);
    const log = logs.get(r.runId);
    assertDense(log, ctx);
    assert.deepEqual(
      log.map(([, type]) => type),
      ['run_created', 'run_started', `run_${status}`],
      ctx,
    );
  }
});
