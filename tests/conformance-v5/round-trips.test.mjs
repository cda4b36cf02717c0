// D1 round trips and rows written per events.create of a spec-7 run (docs/design.md
// decision 1: one round trip per write). The 5.x hot path (run_started, lazy step_started,
// step_completed, wait_created, hook_created) must take exactly 1 round trip; nothing may
// take more than 2, including a write that finds its slot taken (bump and report). Rows
// written are D1's `meta.rows_written`, which is what D1 bills. White-box: counted by the
// harness's D1 wrapper (tests/support/counting.mjs), so this file runs on the cloudflare kind only.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fixtures from '../support/world-v5.mjs';

const HOT_PATH = new Set([
  'run_started (pending run)',
  'step_started (lazy)',
  'step_completed',
  'wait_created',
  'hook_created',
]);
const MAX_ROUND_TRIPS = 2;

const v = fixtures.useWorldV5();
const measured = new Map();
const only = fixtures.localDivergence(fixtures.WHITE_BOX);

async function measure(label, expectedEventType, setup, act) {
  const ctx = await setup();
  const counts = v.h.counts.d1;
  const [trips, rows] = [counts.trips, counts.rowsWritten];
  const res = await act(ctx);
  const count = counts.trips - trips;
  measured.set(label, { count, rows: counts.rowsWritten - rows });
  assert.equal(res?.event?.eventType, expectedEventType, `${label}: wrong outcome`);
  const hot = HOT_PATH.has(label);
  assert.ok(
    hot ? count === 1 : count <= MAX_ROUND_TRIPS,
    `${label}: ${count} round trips, want ${hot ? 'exactly 1' : `at most ${MAX_ROUND_TRIPS}`}`,
  );
  return res;
}

const world = () => v.world;
const lazyStart = (runId, stepId = fixtures.newStepId()) =>
  world().events.create(runId, {
    eventType: 'step_started',
    correlationId: stepId,
    eventData: { stepName: fixtures.STEP_NAME, input: fixtures.payload('i') },
  });

test('round trips (spec 7): run_created', only, () =>
  measure(
    'run_created',
    'run_created',
    async () => ({ runId: fixtures.newRunId() }),
    ({ runId }) => world().events.create(runId, fixtures.runCreatedEvent()),
  ),
);

test('round trips (spec 7): run_started on a pending run, with its preload (hot path: 1)', only, async () => {
  const res = await measure(
    'run_started (pending run)',
    'run_started',
    () => fixtures.createRun(world()),
    ({ runId }) => world().events.create(runId, { eventType: 'run_started' }),
  );
  assert.deepEqual(
    res.events.map((e) => e.eventType),
    ['run_created', 'run_started'],
  );
});

test('round trips (spec 7): run_started with skipPreload', only, () =>
  measure(
    'run_started (skipPreload)',
    'run_started',
    () => fixtures.createRun(world()),
    ({ runId }) => world().events.create(runId, { eventType: 'run_started' }, { skipPreload: true }),
  ),
);

test('round trips (spec 7): a resilient run_started on a missing run', only, () =>
  measure(
    'run_started (resilient)',
    'run_started',
    async () => ({ runId: fixtures.newRunId() }),
    ({ runId }) =>
      world().events.create(runId, { eventType: 'run_started', eventData: fixtures.runCreatedEvent().eventData }),
  ),
);

test('round trips (spec 7): lazy step_started (hot path: 1)', only, async () => {
  const res = await measure(
    'step_started (lazy)',
    'step_started',
    () => fixtures.createRunningRun(world()),
    ({ runId }) => lazyStart(runId),
  );
  assert.equal(res.stepCreated, true);
});

test('round trips (spec 7): step_created, then a bare step_started', only, async () => {
  await measure(
    'step_created',
    'step_created',
    () => fixtures.createRunningRun(world()),
    ({ runId }) =>
      world().events.create(runId, {
        eventType: 'step_created',
        correlationId: fixtures.newStepId(),
        eventData: { stepName: fixtures.STEP_NAME, input: fixtures.payload('i') },
      }),
  );
  await measure(
    'step_started (bare)',
    'step_started',
    async () => {
      const { runId } = await fixtures.createRunningRun(world());
      const { stepId } = await fixtures.createStep(world(), runId);
      return { runId, stepId };
    },
    ({ runId, stepId }) =>
      world().events.create(runId, {
        eventType: 'step_started',
        correlationId: stepId,
        eventData: { stepName: fixtures.STEP_NAME },
      }),
  );
});

async function runningStep() {
  const { runId } = await fixtures.createRunningRun(world());
  const { stepId } = await fixtures.createRunningStep(world(), runId);
  return { runId, stepId };
}

test('round trips (spec 7): step_completed (hot path: 1), and with sinceCursor', only, async () => {
  await measure('step_completed', 'step_completed', runningStep, ({ runId, stepId }) =>
    world().events.create(runId, {
      eventType: 'step_completed',
      correlationId: stepId,
      eventData: { result: fixtures.payload('r') },
    }),
  );
  const res = await measure('step_completed (sinceCursor)', 'step_completed', runningStep, ({ runId, stepId }) =>
    world().events.create(
      runId,
      { eventType: 'step_completed', correlationId: stepId, eventData: { result: fixtures.payload('r') } },
      { sinceCursor: 's:2' },
    ),
  );
  assert.ok(res.events.length >= 1);
});

test('round trips (spec 7): step_failed and step_retrying', only, async () => {
  await measure('step_failed', 'step_failed', runningStep, ({ runId, stepId }) =>
    world().events.create(runId, {
      eventType: 'step_failed',
      correlationId: stepId,
      eventData: { error: fixtures.payload('e') },
    }),
  );
  await measure('step_retrying', 'step_retrying', runningStep, ({ runId, stepId }) =>
    world().events.create(runId, {
      eventType: 'step_retrying',
      correlationId: stepId,
      eventData: { error: fixtures.payload('e'), retryAfter: new Date(Date.now() + 1000) },
    }),
  );
});

/** wait_created sent by a caller that saw two events of the run (eventCount 2). */
const createWaitAfterTwoEvents = ({ runId }) =>
  world().events.create(
    runId,
    {
      eventType: 'wait_created',
      correlationId: fixtures.newWaitId(),
      eventData: { resumeAt: new Date(Date.now() + 5000) },
    },
    { eventCount: 2 },
  );

test('round trips (spec 7): wait_created (hot path: 1), and with a taken slot (bump and report)', only, async () => {
  await measure('wait_created', 'wait_created', () => fixtures.createRunningRun(world()), createWaitAfterTwoEvents);
  const res = await measure(
    'wait_created (slot taken: bump and report)',
    'wait_created',
    async () => {
      const { runId } = await fixtures.createRunningRun(world());
      await fixtures.createWait(world(), runId);
      return { runId };
    },
    createWaitAfterTwoEvents,
  );
  assert.equal(fixtures.slotOf(res.event.eventId), 4);
  assert.deepEqual(
    res.events.map((e) => fixtures.slotOf(e.eventId)),
    [3],
  );
});

test('round trips (spec 7): wait_completed', only, () =>
  measure(
    'wait_completed',
    'wait_completed',
    async () => {
      const { runId } = await fixtures.createRunningRun(world());
      const { correlationId } = await fixtures.createWait(world(), runId);
      return { runId, correlationId };
    },
    ({ runId, correlationId }) => world().events.create(runId, { eventType: 'wait_completed', correlationId }),
  ),
);

test(
  'round trips (spec 7): hook_created (hot path: 1), hook_conflict, hook_received (and its repeat), hook_disposed',
  only,
  async () => {
    await measure(
      'hook_created',
      'hook_created',
      () => fixtures.createRunningRun(world()),
      ({ runId }) =>
        world().events.create(runId, {
          eventType: 'hook_created',
          correlationId: fixtures.newHookId(),
          eventData: { token: fixtures.newToken(), isWebhook: false },
        }),
    );
    await measure(
      'hook_conflict',
      'hook_conflict',
      async () => {
        const { runId: holder } = await fixtures.createRunningRun(world());
        const { token } = await fixtures.createHook(world(), holder);
        const { runId } = await fixtures.createRunningRun(world());
        return { runId, token };
      },
      ({ runId, token }) =>
        world().events.create(runId, {
          eventType: 'hook_created',
          correlationId: fixtures.newHookId(),
          eventData: { token },
        }),
    );
    const hooked = async () => {
      const { runId } = await fixtures.createRunningRun(world());
      const { hookId } = await fixtures.createHook(world(), runId);
      return { runId, hookId };
    };
    const receive = ({ runId, hookId }) =>
      world().events.create(
        runId,
        { eventType: 'hook_received', correlationId: hookId, eventData: { payload: fixtures.payload('p') } },
        { resumeId: `resume-${hookId}`, resumePayloadDigest: 'd' },
      );
    let ctx;
    await measure(
      'hook_received',
      'hook_received',
      async () => {
        ctx = await hooked();
        return ctx;
      },
      receive,
    );
    await measure('hook_received (repeated resumeId)', 'hook_received', async () => ctx, receive);
    await measure('hook_disposed', 'hook_disposed', hooked, ({ runId, hookId }) =>
      world().events.create(runId, { eventType: 'hook_disposed', correlationId: hookId }),
    );
  },
);

test('round trips (spec 7): attr_set', only, () =>
  measure(
    'attr_set',
    'attr_set',
    () => fixtures.createRunningRun(world()),
    ({ runId }) =>
      world().events.create(runId, {
        eventType: 'attr_set',
        correlationId: fixtures.newAttrId(),
        eventData: { changes: [{ key: 'k', value: 'v' }], writer: { type: 'workflow' } },
      }),
  ),
);

for (const [type, eventData] of [
  ['run_completed', { output: fixtures.payload('o') }],
  ['run_failed', { error: fixtures.payload('e'), errorCode: 'USER_ERROR' }],
  ['run_cancelled', { cancelReason: 'stop' }],
]) {
  test(`round trips (spec 7): ${type}`, only, () =>
    measure(
      type,
      type,
      () => fixtures.createRunningRun(world()),
      ({ runId }) => world().events.create(runId, { eventType: type, eventData }),
    ),
  );
}

test('round trips (spec 7): the table', only, () => {
  const rows = [...measured.entries()].map(([event, { count, rows }]) => ({
    event,
    'round trips': count,
    'rows written': rows,
    budget: HOT_PATH.has(event) ? '= 1 (hot path)' : `<= ${MAX_ROUND_TRIPS}`,
  }));
  console.log('\nD1 round trips and rows written per events.create on a spec-7 run');
  console.table(rows);
  assert.equal(measured.size, 23, `measured ${measured.size}: ${[...measured.keys()].join(', ')}`);
});

// The optional members of world-contract-v5 §9: D1 round trips per call.
const members = new Map();

async function measureCall(label, budget, setup, act) {
  const ctx = await setup();
  const counts = v.h.counts.d1;
  const [trips, rows] = [counts.trips, counts.rowsWritten];
  await act(ctx);
  const count = counts.trips - trips;
  members.set(label, { count, rows: counts.rowsWritten - rows, budget });
  assert.ok(count <= budget, `${label}: ${count} round trips, want at most ${budget}`);
  return count;
}

const runsOf = async (n, status) => {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const { runId } = await fixtures.createRunningRun(world());
    if (status) await world().events.create(runId, { eventType: 'run_cancelled' });
    ids.push(runId);
  }
  return ids;
};

test('round trips (spec 7): runs.getMany of 3 and of 200 ids', only, async () => {
  assert.equal(
    await measureCall(
      'runs.getMany (3 ids)',
      1,
      () => runsOf(3),
      (ids) => world().runs.getMany(ids),
    ),
    1,
  );
  const many = Array.from({ length: 200 }, () => fixtures.newRunId());
  assert.equal(
    await measureCall(
      'runs.getMany (200 ids)',
      1,
      () => many,
      (ids) => world().runs.getMany(ids),
    ),
    1,
  );
});

test('round trips (spec 7): runs.waitForTerminalStatus, ended and waited on for 1 s', only, async () => {
  assert.equal(
    await measureCall(
      'runs.waitForTerminalStatus (ended run)',
      1,
      () => runsOf(1, 'cancelled'),
      ([runId]) => world().runs.waitForTerminalStatus(runId, { timeoutMs: 10_000 }),
    ),
    1,
  );
  // Polls at 0, 100, 300, 700 and 1,000 ms (crates/core/src/store/runs.rs poll_delay).
  await measureCall(
    'runs.waitForTerminalStatus (running, timeoutMs 1000)',
    5,
    () => runsOf(1),
    ([runId]) => world().runs.waitForTerminalStatus(runId, { timeoutMs: 1_000 }),
  );
});

test('round trips (spec 7): runs.cancelMany of 3 live runs and of 3 ended ones', only, async () => {
  assert.equal(
    await measureCall(
      'runs.cancelMany (3 live runs)',
      4,
      () => runsOf(3),
      (runIds) => world().runs.cancelMany({ runIds }),
    ),
    4,
  );
  assert.equal(
    await measureCall(
      'runs.cancelMany (3 ended runs)',
      1,
      () => runsOf(3, 'cancelled'),
      (runIds) => world().runs.cancelMany({ runIds }),
    ),
    1,
  );
});

test('round trips (spec 7): queueBatch of 3 keyed messages and of 3 unkeyed ones', only, async () => {
  const messages = (keyed) =>
    Array.from({ length: 3 }, (_, i) => ({
      message: { runId: fixtures.newRunId(), i },
      ...(keyed ? { opts: { idempotencyKey: `rt-${fixtures.newRunId()}` } } : {}),
    }));
  assert.equal(
    await measureCall(
      'queueBatch (3 keyed messages)',
      1,
      () => messages(true),
      (m) => world().queueBatch('__wkf_workflow_rt', m),
    ),
    1,
  );
  assert.equal(
    await measureCall(
      'queueBatch (3 unkeyed messages)',
      0,
      () => messages(false),
      (m) => world().queueBatch('__wkf_workflow_rt', m),
    ),
    0,
  );
});

test('round trips (spec 7): events.createBatch of a 4-event fan-out, and its repeat', only, async () => {
  const fanOut = () => {
    const [a, b] = [fixtures.newStepId(), fixtures.newStepId()];
    const step = (stepId) => ({
      event: {
        eventType: 'step_created',
        correlationId: stepId,
        eventData: { stepName: fixtures.STEP_NAME, input: fixtures.payload('i') },
      },
    });
    return [
      step(a),
      {
        event: {
          eventType: 'wait_created',
          correlationId: fixtures.newWaitId(),
          eventData: { resumeAt: new Date(Date.now() + 60_000) },
        },
      },
      step(b),
      { event: { eventType: 'step_started', correlationId: b } },
    ];
  };
  let events;
  let runId;
  assert.equal(
    await measureCall(
      'events.createBatch (4 events: 2 steps, 1 wait, 1 started)',
      1,
      async () => {
        ({ runId } = await fixtures.createRunningRun(world()));
        events = fanOut();
        return events;
      },
      (e) => world().events.createBatch(runId, e),
    ),
    1,
  );
  await measureCall(
    'events.createBatch (the same 4 again: 409 each)',
    1,
    () => events,
    (e) => world().events.createBatch(runId, e),
  );
});

test("round trips (spec 7): the optional members' table", only, () => {
  console.log('\nD1 round trips and rows written per call of the optional members (world-contract-v5 §9)');
  console.table(
    [...members.entries()].map(([call, { count, rows, budget }]) => ({
      call,
      'round trips': count,
      'rows written': rows,
      budget: `<= ${budget}`,
    })),
  );
  assert.equal(members.size, 10, `measured ${members.size}: ${[...members.keys()].join(', ')}`);
});
