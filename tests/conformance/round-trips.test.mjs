// D1 round trips per events.create on the happy path (docs/design.md decision 1: one
// round trip per write). Hot-path events must take exactly 1; none may take more than 2.
// A round trip is one D1 batch / exec / statement execution, as counted by
// tests/support/harness.mjs (prepare and bind are free).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useHarness } from '../support/harness.mjs';
import * as fixtures from '../support/storage.mjs';

const HOT_PATH = new Set([
  'run_started (pending run)',
  'step_created',
  'step_started',
  'step_completed',
  'step_retrying',
  'wait_created',
  'wait_completed',
  'hook_created',
]);
const MAX_ROUND_TRIPS = 2;

let world;
const measured = new Map();
const h = useHarness({
  setup: async (h) => {
    world = h.world;
    await world.runs.list({ pagination: { limit: 1 } }); // warm-up: any lazy initialisation happens here
  },
});

/**
 * Runs `setup()` (not counted), then counts the round trips of `act(ctx)`, checks that
 * it produced `expectedEventType`, and records the count under `label`.
 */
async function measure(label, expectedEventType, setup, act) {
  const ctx = await setup();
  h.roundTrips.reset();
  const res = await act(ctx);
  const count = h.roundTrips.count;
  measured.set(label, count);
  assert.equal(res?.event?.eventType, expectedEventType, `${label}: wrong outcome`);
  const limit = HOT_PATH.has(label) ? 1 : MAX_ROUND_TRIPS;
  const op = HOT_PATH.has(label) ? 'exactly' : 'at most';
  assert.ok(
    HOT_PATH.has(label) ? count === 1 : count <= MAX_ROUND_TRIPS,
    `${label}: ${count} round trips, want ${op} ${limit}`,
  );
  return res;
}

test('round trips: run_created', () =>
  measure(
    'run_created',
    'run_created',
    async () => ({ runId: fixtures.newRunId() }),
    ({ runId }) => world.events.create(runId, fixtures.runCreatedEvent()),
  ));

test('round trips: run_started on a pending run (hot path: 1)', async () => {
  const res = await measure(
    'run_started (pending run)',
    'run_started',
    () => fixtures.createRun(world),
    ({ runId }) => world.events.create(runId, { eventType: 'run_started' }),
  );
  assert.equal(res.run.status, 'running');
  assert.deepEqual(
    res.events.map((e) => e.eventType),
    ['run_created', 'run_started'],
  );
});

for (const [type, eventData] of [
  ['run_completed', { output: fixtures.payload('o') }],
  ['run_failed', { error: { message: 'x' }, errorCode: 'USER_ERROR' }],
  ['run_cancelled', undefined],
]) {
  test(`round trips: ${type}`, () =>
    measure(
      type,
      type,
      () => fixtures.createRunningRun(world),
      ({ runId }) => world.events.create(runId, eventData ? { eventType: type, eventData } : { eventType: type }),
    ));
}

test('round trips: step_created (hot path: 1)', () =>
  measure(
    'step_created',
    'step_created',
    () => fixtures.createRunningRun(world),
    ({ runId }) => world.events.create(runId, fixtures.stepCreatedEvent()),
  ));

test('round trips: step_started (hot path: 1)', () =>
  measure(
    'step_started',
    'step_started',
    async () => {
      const { runId } = await fixtures.createRunningRun(world);
      const { stepId } = await fixtures.createStep(world, runId);
      return { runId, stepId };
    },
    ({ runId, stepId }) =>
      world.events.create(runId, {
        eventType: 'step_started',
        correlationId: stepId,
        eventData: { stepName: fixtures.STEP_NAME },
      }),
  ));

async function runningStep() {
  const { runId } = await fixtures.createRunningRun(world);
  const { stepId } = await fixtures.createRunningStep(world, runId);
  return { runId, stepId };
}

test('round trips: step_completed (hot path: 1)', () =>
  measure('step_completed', 'step_completed', runningStep, ({ runId, stepId }) =>
    world.events.create(runId, {
      eventType: 'step_completed',
      correlationId: stepId,
      eventData: { stepName: fixtures.STEP_NAME, result: fixtures.payload('r') },
    }),
  ));

test('round trips: step_failed', () =>
  measure('step_failed', 'step_failed', runningStep, ({ runId, stepId }) =>
    world.events.create(runId, {
      eventType: 'step_failed',
      correlationId: stepId,
      eventData: { stepName: fixtures.STEP_NAME, error: 'e', stack: 's' },
    }),
  ));

test('round trips: step_retrying (hot path: 1)', () =>
  measure('step_retrying', 'step_retrying', runningStep, ({ runId, stepId }) =>
    world.events.create(runId, {
      eventType: 'step_retrying',
      correlationId: stepId,
      eventData: { stepName: fixtures.STEP_NAME, error: 'e', retryAfter: new Date(Date.now() + 1000) },
    }),
  ));

test('round trips: hook_created (hot path: 1)', async () => {
  const res = await measure(
    'hook_created',
    'hook_created',
    () => fixtures.createRunningRun(world),
    ({ runId }) =>
      world.events.create(runId, {
        eventType: 'hook_created',
        correlationId: fixtures.newHookId(),
        eventData: { token: fixtures.newToken(), metadata: fixtures.payload('m'), isWebhook: false },
      }),
  );
  assert.ok(res.hook);
});

async function liveHook() {
  const { runId } = await fixtures.createRunningRun(world);
  const { hookId, token } = await fixtures.createHook(world, runId);
  return { runId, hookId, token };
}

test('round trips: hook_received', () =>
  measure('hook_received', 'hook_received', liveHook, ({ runId, hookId, token }) =>
    world.events.create(runId, {
      eventType: 'hook_received',
      correlationId: hookId,
      eventData: { token, payload: fixtures.payload('p') },
    }),
  ));

test('round trips: hook_disposed', () =>
  measure('hook_disposed', 'hook_disposed', liveHook, ({ runId, hookId, token }) =>
    world.events.create(runId, { eventType: 'hook_disposed', correlationId: hookId, eventData: { token } }),
  ));

test('round trips: hook_conflict (a hook_created whose token is held by another run)', async () => {
  const res = await measure(
    'hook_conflict',
    'hook_conflict',
    async () => {
      const holder = await liveHook();
      const { runId } = await fixtures.createRunningRun(world);
      return { runId, token: holder.token, holderRunId: holder.runId };
    },
    ({ runId, token }) =>
      world.events.create(runId, {
        eventType: 'hook_created',
        correlationId: fixtures.newHookId(),
        eventData: { token, isWebhook: false },
      }),
  );
  assert.equal(res.hook, undefined);
});

test('round trips: wait_created (hot path: 1)', () =>
  measure(
    'wait_created',
    'wait_created',
    () => fixtures.createRunningRun(world),
    ({ runId }) =>
      world.events.create(runId, {
        eventType: 'wait_created',
        correlationId: fixtures.newWaitCorrelationId(),
        eventData: { resumeAt: new Date(Date.now() + 5000) },
      }),
  ));

test('round trips: wait_completed (hot path: 1)', () =>
  measure(
    'wait_completed',
    'wait_completed',
    async () => {
      const { runId } = await fixtures.createRunningRun(world);
      const { correlationId, resumeAt } = await fixtures.createWait(world, runId);
      return { runId, correlationId, resumeAt };
    },
    ({ runId, correlationId, resumeAt }) =>
      world.events.create(runId, { eventType: 'wait_completed', correlationId, eventData: { resumeAt } }),
  ));

test('round trips: summary table of all 16 event types', () => {
  const rows = [...measured.entries()].map(([event, trips]) => ({
    event,
    'round trips': trips,
    budget: HOT_PATH.has(event) ? '= 1 (hot path)' : `<= ${MAX_ROUND_TRIPS}`,
  }));
  console.log('\nD1 round trips per events.create (happy path)');
  console.table(rows);
  console.log(rows.map((r) => `${r.event.padEnd(28)} ${r['round trips']}`).join('\n'));
  assert.equal(measured.size, 16, `measured ${measured.size} of 16 event types: ${[...measured.keys()].join(', ')}`);
});
