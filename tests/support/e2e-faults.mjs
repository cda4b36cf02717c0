// The end-to-end fault harness of tests/reliability-e2e-*.test.mjs: the example app
// (examples/basic/app.mjs: the real `workflow` 4.8.9 runtime on a Node host, D1, Queues, R2
// and the consumer Worker in local workerd) started with the fault-injecting consumer
// (tests/workers/reliability-worker.js) and with the Node host's bindings (D1 and queues
// through that Worker's gateway, tests/support/gateway.mjs) wrapped:
//
//   d1      faultyD1 over the Node host's D1; its faults hit only calls made by the
//           queue-driven routes (flow, step), never the test's own client calls (start(),
//           resumeHook(), a webhook POST…), which have no retry of their own;
//   queues  duplicatingQueue over both producers: every message the runtime sends can be
//           sent twice (same body, or a fresh sendId); every body is kept;
//   bucket  faultyR2 over R2.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startApp } from '../../examples/basic/app.mjs';
import { runScenario, scenarios } from '../../examples/basic/scenarios.mjs';
import { createWorld } from '../../js/node.js';
import { duplicatingQueue, faultyD1, faultyR2 } from './faults.mjs';
import { gatewayEnv } from './gateway.mjs';
import { checkInvariants } from './invariants.mjs';

export const CONFIG = '../../tests/workers/reliability.wrangler.toml';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends the World's calls made by the queue-driven routes (flow.js and step.js, the
 * runtime bundled by `wf build`) to `world` itself (over the faulty D1), and every other
 * call (the test's client calls: start(), resumeHook(), wakeUp(), reads; and the webhook
 * route, which answers the test's own POST) to `clean`, a World over the same bindings
 * without faults: clients have no retry of their own. Streams always go to `clean`: core
 * 4.8.9 flushes a step's stream in the background and only logs a failed flush, so the
 * stream would stay open forever (RELIABILITY.md; the World's own behaviour under those
 * faults is in reliability-storage-faults). The caller is told apart by its stack, at
 * the call: inside the wasm the D1 batches of concurrent calls share one executor, so the
 * batch itself cannot tell whose it is.
 */
function routeOnlyFaults(world, clean) {
  const fromRoute = () => /\/\.well-known\/workflow\/v1\/(flow|step)\.js/.test(new Error().stack ?? '');
  const split = (target, cleanTarget, name) => {
    const faulty = target[name].bind(target);
    const plain = cleanTarget[name].bind(cleanTarget);
    target[name] = (...args) => (fromRoute() ? faulty(...args) : plain(...args));
  };
  for (const [group, names] of Object.entries({
    runs: ['get', 'list'],
    steps: ['get', 'list'],
    events: ['create', 'get', 'list', 'listByCorrelationId'],
    hooks: ['get', 'getByToken', 'list'],
  })) {
    for (const name of names) split(world[group], clean[group], name);
  }
  split(world, clean, 'queue');
  for (const name of [
    'writeToStream',
    'writeToStreamMulti',
    'closeStream',
    'readFromStream',
    'listStreamsByRunId',
    'getStreamChunks',
    'getStreamInfo',
  ]) {
    world[name] = clean[name].bind(clean);
  }
}

/** Events a run may hold at most once per correlation id, whatever is delivered twice. */
export const UNIQUE_EVENTS = [
  'run_created',
  'run_started',
  'run_completed',
  'run_failed',
  'step_created',
  'step_completed',
  'step_failed',
  'hook_created',
  'hook_conflict',
  'hook_disposed',
  'wait_created',
  'wait_completed',
];

export async function startFaultApp() {
  const wrapped = {};
  const gatewayToken = randomUUID();
  const app = await startApp({
    wranglerConfig: CONFIG,
    vars: { BINDINGS_GATEWAY_TOKEN: gatewayToken },
    wrapEnv: (proxied, worker) => {
      // D1 and the queues through the consumer Worker's gateway, one request per call
      // (tests/support/gateway.mjs); R2 through wrangler's proxy.
      const env = gatewayEnv(proxied, (route, init) => worker.fetch(`http://gateway${route}`, init), gatewayToken);
      wrapped.raw = env;
      wrapped.d1 = faultyD1(env.DB);
      wrapped.workflowQueue = duplicatingQueue(env.WORKFLOW_QUEUE, { copies: 1 });
      wrapped.stepQueue = duplicatingQueue(env.STEP_QUEUE, { copies: 1 });
      wrapped.bucket = faultyR2(env.STREAM_BUCKET);
      wrapped.env = {
        ...env,
        DB: wrapped.d1.binding,
        WORKFLOW_QUEUE: wrapped.workflowQueue,
        STEP_QUEUE: wrapped.stepQueue,
        STREAM_BUCKET: wrapped.bucket.binding,
      };
      return wrapped.env;
    },
  });
  routeOnlyFaults(
    app.world,
    createWorld({ ...wrapped.env, DB: wrapped.raw.DB, STREAM_BUCKET: wrapped.raw.STREAM_BUCKET }),
  );
  const worker = app.harness.getWorker('world-cloudflare-example');
  const db = wrapped.raw.DB;
  return {
    app,
    db,
    raw: wrapped.raw,
    env: wrapped.env,
    d1: wrapped.d1,
    queues: [wrapped.workflowQueue, wrapped.stepQueue],
    bucket: wrapped.bucket,
    /** Sets the consumer Worker's faults (and resets its counters). */
    async consumerFaults(config = {}) {
      const res = await worker.fetch('http://consumer/__faults', { method: 'POST', body: JSON.stringify(config) });
      assert.equal(res.status, 200, await res.text());
    },
    async consumerCounters() {
      return (await worker.fetch('http://consumer/__faults')).json();
    },
    /**
     * Every Node-side producer: copies per send, whether copies get a fresh sendId, and how
     * many seconds each copy may be held back at random (out-of-order arrival).
     */
    duplicate(copies, freshSendId = false, jitterSeconds = 0) {
      for (const q of [wrapped.workflowQueue, wrapped.stepQueue]) {
        q.options.copies = copies;
        q.options.freshSendId = freshSendId;
        q.options.jitterSeconds = jitterSeconds;
      }
    },
  };
}

/**
 * Runs every example scenario at once; asserts each result is right; returns the ids of
 * every run created meanwhile (child runs included) and the wall time.
 */
export async function runAll(fx, label, { only, timeoutMs = 60_000, attemptsMayGrow = false } = {}) {
  const t0 = Date.now();
  const list = only ? scenarios.filter((s) => only.includes(s.name)) : scenarios;
  let timer;
  const pending = new Set(list.map((s) => s.name));
  const results = await Promise.race([
    Promise.all(list.map((s) => runScenario(fx.app, s).finally(() => pending.delete(s.name)))),
    new Promise((_, reject) => {
      timer = setTimeout(async () => {
        const { results: live } = await fx.db
          .prepare(
            "SELECT r.run_id, r.workflow_name, r.status, (SELECT group_concat(event_type, ' ') FROM (SELECT event_type FROM events e WHERE e.run_id = r.run_id ORDER BY seq)) AS events FROM runs r WHERE r.created_at >= ? AND r.status NOT IN ('completed', 'failed', 'cancelled')",
          )
          .bind(t0)
          .all()
          .catch((e) => ({ results: [String(e)] }));
        reject(
          new Error(
            `${label}: ${[...pending].join(', ')} did not finish within ${timeoutMs} ms; live runs: ${JSON.stringify(live)}`,
          ),
        );
      }, timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  // Under storage faults a step can be started more than once (a step_started whose reply
  // was lost is retried, and each step_started counts an attempt, contract §3.4.5), so the
  // flaky step of 'retry' may succeed on a later attempt than 2: any attempt ≥ 2 is right.
  const problems = results
    .map((r) => {
      if (
        attemptsMayGrow &&
        r.scenario.name === 'retry' &&
        r.outcome.status === 'completed' &&
        r.outcome.value?.succeededOnAttempt >= 2
      ) {
        return { ...r, problems: [] };
      }
      return r;
    })
    .filter((r) => r.problems.length)
    .map((r) => `${r.scenario.name}: ${r.problems.join('; ')}`);
  assert.deepEqual(problems, [], `${label}: wrong results`);
  const { results: rows } = await fx.db.prepare('SELECT run_id FROM runs WHERE created_at >= ?').bind(t0).all();
  const retry = results.find((r) => r.scenario.name === 'retry');
  return {
    runIds: rows.map((r) => r.run_id),
    scenarios: list.length,
    ms: Date.now() - t0,
    flakyStepSucceededOnAttempt: retry?.outcome.value?.succeededOnAttempt,
  };
}

/** Waits until every run is terminal; returns their statuses. */
export async function settleRuns(db, runIds, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { results } = await db
      .prepare('SELECT run_id, status FROM runs WHERE run_id IN (SELECT value FROM json_each(?))')
      .bind(JSON.stringify(runIds))
      .all();
    const live = results.filter((r) => !['completed', 'failed', 'cancelled'].includes(r.status));
    if (!live.length) return results;
    if (Date.now() > deadline) assert.fail(`runs stuck: ${JSON.stringify(live)}`);
    await sleep(200);
  }
}

/**
 * The event-log figures of a set of runs: duplicates of events that must be unique (must
 * be 0), step executions beyond one per attempt (the runtime's at-least-once steps), and
 * the store's invariants.
 */
export async function logFigures(db, runIds) {
  const ids = JSON.stringify(runIds);
  const [dups, starts, totals] = await db.batch([
    db
      .prepare(
        `SELECT run_id, event_type, correlation_id, count(*) AS n FROM events
          WHERE run_id IN (SELECT value FROM json_each(?)) AND event_type IN (${UNIQUE_EVENTS.map((t) => `'${t}'`).join(', ')})
          GROUP BY run_id, event_type, correlation_id HAVING n > 1`,
      )
      .bind(ids),
    db
      .prepare(
        `SELECT COALESCE(sum(started - 1 - retried), 0) AS extra FROM (
           SELECT sum(event_type = 'step_started') AS started, sum(event_type = 'step_retrying') AS retried
             FROM events WHERE run_id IN (SELECT value FROM json_each(?)) AND event_type IN ('step_started', 'step_retrying')
            GROUP BY run_id, correlation_id)`,
      )
      .bind(ids),
    db.prepare('SELECT count(*) AS n FROM events WHERE run_id IN (SELECT value FROM json_each(?))').bind(ids),
  ]);
  return {
    runs: runIds.length,
    events: totals.results[0].n,
    duplicates: dups.results.length,
    duplicateRows: dups.results,
    extraStepExecutions: starts.results[0].extra,
    invariantViolations: await checkInvariants(db),
  };
}

/** Asserts a phase lost nothing and duplicated nothing; returns the figures for the report. */
export async function assertClean(fx, label, runIds) {
  const statuses = await settleRuns(fx.db, runIds);
  const f = await logFigures(fx.db, runIds);
  assert.deepEqual(f.duplicateRows, [], `${label}: duplicated events`);
  assert.deepEqual(f.invariantViolations, [], `${label}: store invariants`);
  const byStatus = {};
  for (const r of statuses) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
  return {
    runs: f.runs,
    byStatus,
    events: f.events,
    eventsLost: 0,
    duplicates: f.duplicates,
    extraStepExecutions: f.extraStepExecutions,
  };
}

export { sleep };
