// Whole-database invariants of the event store, checked with SQL straight against D1
// (the reliability suite runs them after every fault it injects). Each query returns the
// rows that break one rule; an empty result everywhere means the event log and the
// entities agree and nothing is orphaned or duplicated.
//
//   const problems = await checkInvariants(env.DB);   // [] when all hold
//   const totals = await storeTotals(env.DB);          // counts for the report
import assert from 'node:assert/strict';

const TERMINAL = "('completed', 'failed', 'cancelled')";

/** [name, SQL returning the offending rows]. */
export const INVARIANTS = [
  [
    'every run has exactly one run_created event',
    `SELECT r.run_id, (SELECT count(*) FROM events e WHERE e.run_id = r.run_id AND e.event_type = 'run_created') AS n
       FROM runs r WHERE n != 1`,
  ],
  [
    'no event belongs to a run that does not exist',
    `SELECT DISTINCT e.run_id, e.event_type FROM events e
       WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = e.run_id)`,
  ],
  // run_cancelled on a cancelled run succeeds and appends again (contract §3.4.3, §8.24);
  // every other terminal event is unique, and two kinds never meet.
  [
    'a terminal run has exactly one terminal event, of its status (run_cancelled may repeat); a live run has none',
    `SELECT r.run_id, r.status, group_concat(e.event_type) AS terminal_events FROM runs r
       LEFT JOIN events e ON e.run_id = r.run_id AND e.event_type IN ('run_completed', 'run_failed', 'run_cancelled')
       GROUP BY r.run_id
       HAVING (r.status IN ${TERMINAL} AND (count(DISTINCT e.event_type) != 1 OR max(e.event_type) != 'run_' || r.status
                                           OR (r.status != 'cancelled' AND count(e.seq) != 1)))
           OR (r.status NOT IN ${TERMINAL} AND count(e.seq) != 0)`,
  ],
  [
    // In-flight steps may still finish after their run ended (contract §3.4.5–3.4.6); nothing
    // else may be appended: no new entity, no hook delivery, no wake-up, no second start.
    "nothing but a running step's events is appended after a run's terminal event",
    `SELECT e.run_id, e.event_type, e.seq FROM events e
       JOIN events t ON t.run_id = e.run_id AND t.event_type IN ('run_completed', 'run_failed', 'run_cancelled')
       WHERE e.seq > t.seq AND e.event_type IN ('run_created', 'run_started', 'step_created', 'hook_created',
                                                'hook_received', 'wait_created', 'wait_completed')`,
  ],
  [
    'every step has one step_created, at most one terminal event, and a status that matches it',
    `SELECT s.run_id, s.step_id, s.status,
            sum(e.event_type = 'step_created') AS created,
            sum(e.event_type = 'step_completed') AS completed,
            sum(e.event_type = 'step_failed') AS failed
       FROM steps s LEFT JOIN events e ON e.run_id = s.run_id AND e.correlation_id = s.step_id
       GROUP BY s.run_id, s.step_id
       HAVING created != 1 OR completed + failed > 1
           OR (s.status = 'completed') != (completed = 1)
           OR (s.status = 'failed') != (failed = 1)`,
  ],
  [
    'every step event has its step row',
    `SELECT e.run_id, e.correlation_id, e.event_type FROM events e
       WHERE e.event_type LIKE 'step\\_%' ESCAPE '\\'
         AND NOT EXISTS (SELECT 1 FROM steps s WHERE s.run_id = e.run_id AND s.step_id = e.correlation_id)`,
  ],
  [
    'a live hook row belongs to a live run, was created by an event and was not disposed',
    `SELECT h.hook_id, h.run_id, r.status FROM hooks h LEFT JOIN runs r ON r.run_id = h.run_id
       WHERE r.run_id IS NULL OR r.status IN ${TERMINAL}
          OR NOT EXISTS (SELECT 1 FROM events e WHERE e.run_id = h.run_id AND e.correlation_id = h.hook_id AND e.event_type = 'hook_created')
          OR EXISTS (SELECT 1 FROM events e WHERE e.run_id = h.run_id AND e.correlation_id = h.hook_id AND e.event_type = 'hook_disposed')`,
  ],
  [
    'a hook created in a live run and never disposed still has its row',
    `SELECT e.run_id, e.correlation_id FROM events e JOIN runs r ON r.run_id = e.run_id
       WHERE e.event_type = 'hook_created' AND r.status NOT IN ${TERMINAL}
         AND NOT EXISTS (SELECT 1 FROM hooks h WHERE h.hook_id = e.correlation_id)
         AND NOT EXISTS (SELECT 1 FROM events d WHERE d.run_id = e.run_id AND d.correlation_id = e.correlation_id AND d.event_type = 'hook_disposed')`,
  ],
  [
    'a hook has at most one hook_created and one hook_disposed event',
    `SELECT run_id, correlation_id, event_type, count(*) AS n FROM events
       WHERE event_type IN ('hook_created', 'hook_disposed') GROUP BY run_id, correlation_id, event_type HAVING n > 1`,
  ],
  [
    'every wait has one wait_created, at most one wait_completed, and a matching status',
    `SELECT w.wait_id, w.status,
            sum(e.event_type = 'wait_created') AS created, sum(e.event_type = 'wait_completed') AS completed
       FROM waits w LEFT JOIN events e ON e.run_id = w.run_id AND w.run_id || '-' || e.correlation_id = w.wait_id
       GROUP BY w.wait_id
       HAVING created != 1 OR completed > 1 OR (w.status = 'completed') != (completed = 1)`,
  ],
  // A terminal run's waits are deleted with it (contract §3.6), so only live runs count.
  [
    'every wait event of a live run has its wait row',
    `SELECT e.run_id, e.correlation_id, e.event_type FROM events e JOIN runs r ON r.run_id = e.run_id
       WHERE e.event_type IN ('wait_created', 'wait_completed') AND r.status NOT IN ${TERMINAL}
         AND NOT EXISTS (SELECT 1 FROM waits w WHERE w.wait_id = e.run_id || '-' || e.correlation_id AND w.run_id = e.run_id)`,
  ],
  ['event ids are unique', 'SELECT event_id, count(*) AS n FROM events GROUP BY event_id HAVING n > 1'],
  [
    'a stream has at most one EOF segment and dense chunk indices',
    `SELECT s.stream_name, s.seq, s.first_index FROM stream_segments s
       WHERE s.first_index != COALESCE((SELECT p.first_index + p.chunk_count FROM stream_segments p
                                         WHERE p.stream_name = s.stream_name AND p.seq < s.seq ORDER BY p.seq DESC LIMIT 1), 0)
          OR (s.eof = 1 AND EXISTS (SELECT 1 FROM stream_segments o WHERE o.stream_name = s.stream_name AND o.eof = 1 AND o.seq < s.seq))`,
  ],
];

/** Runs every invariant; returns `[{ name, rows }]` for the ones that fail. */
export async function checkInvariants(db) {
  const results = await db.batch(INVARIANTS.map(([, sql]) => db.prepare(sql)));
  const problems = [];
  results.forEach((r, i) => {
    if (r.results.length) problems.push({ name: INVARIANTS[i][0], rows: r.results.slice(0, 10) });
  });
  return problems;
}

/** Asserts that every invariant holds, with the offending rows in the message. */
export async function assertInvariants(db, context = '') {
  const problems = await checkInvariants(db);
  assert.deepEqual(
    problems,
    [],
    `${context ? `${context}: ` : ''}store invariants broken: ${JSON.stringify(problems, null, 1)}`,
  );
}

/** Row counts of the store, by table, and events by type (for the report). */
export async function storeTotals(db) {
  const tables = ['runs', 'steps', 'hooks', 'waits', 'events', 'stream_segments', 'queue_claims', 'queue_deliveries'];
  const res = await db.batch([
    ...tables.map((t) => db.prepare(`SELECT count(*) AS n FROM ${t}`)),
    db.prepare('SELECT status, count(*) AS n FROM runs GROUP BY status'),
  ]);
  const totals = Object.fromEntries(tables.map((t, i) => [t, res[i].results[0].n]));
  totals.runsByStatus = Object.fromEntries(res.at(-1).results.map((r) => [r.status, r.n]));
  return totals;
}

/**
 * A fingerprint of everything the store holds (row counts and the newest rowids), to
 * prove that a refused or failed call stored nothing.
 */
export async function storeFingerprint(db) {
  const tables = [
    'runs',
    'steps',
    'hooks',
    'waits',
    'events',
    'stream_segments',
    'stream_runs',
    'queue_claims',
    'queue_deliveries',
  ];
  const res = await db.batch(tables.map((t) => db.prepare(`SELECT count(*) AS n FROM ${t}`)));
  return Object.fromEntries(tables.map((t, i) => [t, res[i].results[0].n]));
}

/** Prints one machine-readable line of figures for RELIABILITY.md. */
export function report(label, figures) {
  console.log(`[reliability] ${label} ${JSON.stringify(figures)}`);
}
