// Reliability, races at scale: hundreds of trials of concurrent conflicting
// events.create calls. The trials run inside workerd (POST /race of the fixture Worker,
// tests/support/race-trials.mjs: the World over the real D1 binding, RELIABILITY_WAVE
// trials in flight at once, the two contenders of each trial issued together in
// alternating order); this file then checks every trial against D1: exactly one
// contender wins where the contract says so, the loser gets the named error (or, for a
// taken hook token, a hook_conflict event) and wrote nothing, and the entities agree with
// the log. Finally the whole store is checked for orphans and duplicates
// (tests/support/invariants.mjs).
//
// RELIABILITY_TRIALS (default 500) trials per race, RELIABILITY_WAVE (default 8) at once.
// tests/conformance/races.test.mjs runs the same races from Node, one at a time, with deeper reads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useHarness } from '../support/harness.mjs';
import { assertInvariants, report, storeTotals } from '../support/invariants.mjs';

const TRIALS = Number(process.env.RELIABILITY_TRIALS ?? 500);
const WAVE = Number(process.env.RELIABILITY_WAVE ?? 8);

let db;
const figures = {};
const h = useHarness({
  setup: (h) => {
    db = h.env.DB;
  },
  teardown: async () =>
    report('races', {
      trialsPerRace: TRIALS,
      wave: WAVE,
      races: figures,
      store: await storeTotals(db).catch((e) => String(e)),
    }),
});

/** Runs the trials of one race kind inside the Worker; returns their records. */
async function trials(kind, extra = {}) {
  const res = await h.server.fetch('/race', {
    method: 'POST',
    body: JSON.stringify({ kind, trials: TRIALS, wave: WAVE, ...extra }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.records.length, TRIALS);
  const broken = body.records.filter((r) => r.setupError);
  assert.deepEqual(broken, [], 'every trial set up its state');
  figures[kind] = { trials: TRIALS, ms: body.ms, outcomes: {}, eventsLost: 0, duplicates: 0 };
  return body.records;
}

const tally = (kind, key) => {
  const o = figures[kind].outcomes;
  o[key] = (o[key] ?? 0) + 1;
};
const label = (o) => (o.ok ? 'ok' : o.name);
const show = (r) => JSON.stringify({ a: r.a, b: r.b });

/**
 * Tallies trial `r` of a race that one racer must win, asserts exactly one did and the other
 * was refused with EntityConflictError; the winner, and the context for further assertions.
 */
function oneWinner(kind, r, id) {
  const ctx = `trial ${r.trial} ${id}: ${show(r)}`;
  tally(kind, `${label(r.a)}/${label(r.b)}`);
  assert.equal([r.a, r.b].filter((o) => o.ok).length, 1, ctx);
  const [winner, loser] = r.a.ok ? [r.a, r.b] : [r.b, r.a];
  assert.equal(loser.name, 'EntityConflictError', ctx);
  return { ctx, winner };
}

/** One D1 query over many ids: `sql` gets the ids as a JSON array in its single `?`. */
async function rowsFor(ids, sql) {
  const out = [];
  for (let i = 0; i < ids.length; i += 200) {
    const { results } = await db
      .prepare(sql)
      .bind(JSON.stringify(ids.slice(i, i + 200)))
      .all();
    out.push(...results);
  }
  return out;
}

const byKey = (rows, key) => new Map(rows.map((r) => [r[key], r]));
const IDS = 'SELECT value FROM json_each(?)';

test(`run_completed vs run_cancelled (${TRIALS} trials): exactly one wins, the run has one terminal event of its status, its hook row is gone`, async () => {
  const kind = 'run_completed vs run_cancelled';
  const records = await trials(kind);
  const rows = byKey(
    await rowsFor(
      records.map((r) => r.runId),
      `SELECT r.run_id, r.status, r.output IS NOT NULL AS has_output,
              (SELECT group_concat(e.event_type || ' ' || e.event_id) FROM events e WHERE e.run_id = r.run_id
                 AND e.event_type IN ('run_completed', 'run_failed', 'run_cancelled')) AS terminal,
              (SELECT e.event_type FROM events e WHERE e.run_id = r.run_id ORDER BY e.seq DESC LIMIT 1) AS last,
              (SELECT count(*) FROM hooks h WHERE h.run_id = r.run_id) AS hooks
         FROM runs r WHERE r.run_id IN (${IDS})`,
    ),
    'run_id',
  );
  for (const r of records) {
    const { ctx, winner } = oneWinner(kind, r, r.runId);
    const status = r.a.ok ? 'completed' : 'cancelled';
    const row = rows.get(r.runId);
    assert.equal(row.status, status, ctx);
    assert.equal(Boolean(row.has_output), status === 'completed', ctx);
    assert.equal(row.terminal, `run_${status} ${winner.eventId}`, ctx);
    assert.equal(row.last, `run_${status}`, ctx);
    assert.equal(row.hooks, 0, `${ctx}: the hook row outlived its run`);
  }
});

test(`two step_completed on one step (${TRIALS} trials): exactly one step_completed event, the step's output is the winner's`, async () => {
  const kind = 'two step_completed';
  const records = await trials(kind);
  const rows = new Map(
    (
      await rowsFor(
        records.map((r) => r.stepId),
        `SELECT s.step_id, s.status, hex(s.output) AS output,
                (SELECT group_concat(e.event_id) FROM events e WHERE e.run_id = s.run_id AND e.correlation_id = s.step_id
                   AND e.event_type = 'step_completed') AS completions
           FROM steps s WHERE s.step_id IN (${IDS})`,
      )
    ).map((r) => [r.step_id, r]),
  );
  // The output column is the CBOR of the winner's bytes, "A<trial>" or "B<trial>".
  const cborHex = (text) => {
    const b = Buffer.from(text);
    return Buffer.concat([Buffer.from([0x40 | b.length]), b])
      .toString('hex')
      .toUpperCase();
  };
  let checkedOutput = 0;
  for (const r of records) {
    const { ctx, winner } = oneWinner(kind, r, r.stepId);
    const row = rows.get(r.stepId);
    assert.equal(row.status, 'completed', ctx);
    assert.equal(row.completions, winner.eventId, `${ctx}: exactly the winner's step_completed`);
    assert.equal(row.output, cborHex(`${r.a.ok ? 'A' : 'B'}${r.trial}`), `${ctx}: the output is the winner's`);
    checkedOutput++;
  }
  assert.equal(checkedOutput, TRIALS);
});

test(`two hook_created with one token in two runs (${TRIALS} trials): one hook row, the other run logs hook_conflict; the token is freed when the holder ends`, async () => {
  const kind = 'two hook_created, one token, two runs';
  const records = await trials(kind);
  const tokens = byKey(
    await rowsFor(
      records.map((r) => r.token),
      `SELECT t.value AS token, (SELECT count(*) FROM hooks h WHERE h.token = t.value) AS rows_now FROM json_each(?) t`,
    ),
    'token',
  );
  const hookEvents = new Map();
  for (const e of await rowsFor(
    records.flatMap((r) => [r.r1, r.r2]),
    `SELECT run_id, event_type, event_id, correlation_id FROM events WHERE run_id IN (${IDS}) AND event_type LIKE 'hook%' ORDER BY seq`,
  )) {
    hookEvents.set(e.run_id, [...(hookEvents.get(e.run_id) ?? []), e]);
  }
  for (const r of records) {
    const ctx = `trial ${r.trial} ${r.token}: ${show(r)}`;
    assert.ok(r.a.ok && r.b.ok, `${ctx}: hook_created never throws on a taken token`);
    const kinds = [r.a.eventType, r.b.eventType];
    tally(kind, kinds.join('/'));
    assert.deepEqual([...kinds].sort(), ['hook_conflict', 'hook_created'], ctx);
    const aWon = kinds[0] === 'hook_created';
    const [winRun, loseRun, winHook, loseHook, winner, loser] = aWon
      ? [r.r1, r.r2, r.h1, r.h2, r.a, r.b]
      : [r.r2, r.r1, r.h2, r.h1, r.b, r.a];
    assert.equal(r.holder, winRun, ctx);
    assert.deepEqual(
      (hookEvents.get(winRun) ?? []).map((e) => [e.event_type, e.correlation_id, e.event_id]),
      [['hook_created', winHook, winner.eventId]],
      ctx,
    );
    assert.deepEqual(
      (hookEvents.get(loseRun) ?? []).map((e) => [e.event_type, e.correlation_id, e.event_id]),
      [['hook_conflict', loseHook, loser.eventId]],
      ctx,
    );
    assert.equal(r.heldAfterEnd, null, `${ctx}: getByToken after the holder ended`);
    assert.equal(tokens.get(r.token).rows_now, 0, `${ctx}: a hook row for the token survived`);
  }
});

test(`resilient run_started vs run_created for a new run (${TRIALS} trials): one run, exactly one run_created then one run_started`, async () => {
  const kind = 'run_started vs run_created';
  // A third of the trials hold one contender back a few ms, so both commit orders occur.
  const records = await trials(kind, { lagMs: 5 });
  const logs = new Map();
  for (const e of await rowsFor(
    records.map((r) => r.runId),
    `SELECT run_id, event_type, event_id FROM events WHERE run_id IN (${IDS}) ORDER BY seq`,
  )) {
    logs.set(e.run_id, [...(logs.get(e.run_id) ?? []), e]);
  }
  const status = byKey(
    await rowsFor(
      records.map((r) => r.runId),
      `SELECT run_id, status FROM runs WHERE run_id IN (${IDS})`,
    ),
    'run_id',
  );
  for (const r of records) {
    const ctx = `trial ${r.trial} ${r.runId}: ${show(r)}`;
    assert.ok(r.a.ok, `${ctx}: a resilient run_started always succeeds`);
    if (!r.b.ok) assert.equal(r.b.name, 'EntityConflictError', ctx);
    const log = logs.get(r.runId) ?? [];
    assert.deepEqual(
      log.map((e) => e.event_type),
      ['run_created', 'run_started'],
      ctx,
    );
    assert.equal(log[1].event_id, r.a.eventId, ctx);
    const createdFirst = r.b.ok && log[0].event_id === r.b.eventId;
    tally(
      kind,
      `${label(r.a)}/${label(r.b)} (${createdFirst ? 'run_created committed first' : 'run_started created the run'})`,
    );
    assert.equal(status.get(r.runId).status, 'running', ctx);
  }
});

test(`step_completed vs run_cancelled (${TRIALS} trials): both succeed in either commit order (an in-flight step may finish, §3.4.6); one run_cancelled, step and log agree`, async () => {
  const kind = 'step_completed vs run_cancelled';
  const records = await trials(kind);
  const logs = new Map();
  for (const e of await rowsFor(
    records.map((r) => r.runId),
    `SELECT run_id, event_type FROM events WHERE run_id IN (${IDS}) ORDER BY seq`,
  )) {
    logs.set(e.run_id, [...(logs.get(e.run_id) ?? []), e.event_type]);
  }
  const state = byKey(
    await rowsFor(
      records.map((r) => r.runId),
      `SELECT r.run_id, r.status, s.status AS step_status FROM runs r JOIN steps s ON s.run_id = r.run_id WHERE r.run_id IN (${IDS})`,
    ),
    'run_id',
  );
  for (const r of records) {
    const ctx = `trial ${r.trial} ${r.runId}: ${show(r)}`;
    assert.ok(r.b.ok, `${ctx}: cancelling a running run succeeds`);
    if (!r.a.ok) assert.ok(['RunExpiredError', 'EntityConflictError'].includes(r.a.name), ctx);
    const types = logs.get(r.runId);
    const s = state.get(r.runId);
    assert.equal(s.status, 'cancelled', ctx);
    assert.equal(types.filter((t) => t === 'run_cancelled').length, 1, `${ctx}: ${types}`);
    assert.equal(types.filter((t) => t === 'step_completed').length, r.a.ok ? 1 : 0, `${ctx}: ${types}`);
    assert.equal(s.step_status === 'completed', r.a.ok, `${ctx}: step ${s.step_status}`);
    const stepFirst =
      types.indexOf('step_completed') !== -1 && types.indexOf('step_completed') < types.indexOf('run_cancelled');
    tally(kind, `${label(r.a)}/${label(r.b)} (${stepFirst ? 'step committed first' : 'cancel committed first'})`);
  }
});

test(`two step_started on one pending step (${TRIALS} trials): both succeed, one with attempt 1 and one with attempt 2; two step_started events`, async () => {
  const kind = 'two step_started';
  const records = await trials(kind);
  const rows = new Map(
    (
      await rowsFor(
        records.map((r) => r.stepId),
        `SELECT s.step_id, s.status, s.attempt,
                (SELECT count(*) FROM events e WHERE e.run_id = s.run_id AND e.correlation_id = s.step_id AND e.event_type = 'step_started') AS starts
           FROM steps s WHERE s.step_id IN (${IDS})`,
      )
    ).map((r) => [r.step_id, r]),
  );
  for (const r of records) {
    const ctx = `trial ${r.trial} ${r.stepId}: ${show(r)}`;
    tally(kind, `${label(r.a)}/${label(r.b)}`);
    assert.ok(r.a.ok && r.b.ok, ctx);
    assert.deepEqual([r.a.attempt, r.b.attempt].sort(), [1, 2], ctx);
    assert.deepEqual({ ...rows.get(r.stepId) }, { step_id: r.stepId, status: 'running', attempt: 2, starts: 2 }, ctx);
  }
});

test('after every race: the whole store has no orphan rows, no duplicate terminal events, and entities agree with the log', async () => {
  await assertInvariants(db, 'after the races');
});
