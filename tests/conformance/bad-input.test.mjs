// Bad input against real D1 (issue 2): every malformed request gets a named error that
// says what was wrong and what is allowed, and nothing is stored.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useHarness } from '../support/harness.mjs';
import * as fixtures from '../support/storage.mjs';

const h = useHarness();

/** Asserts a 400/413 WorkflowWorldError with `code`, whose message matches every pattern. */
async function expectInvalid(call, { status = 400, code, says = [] }) {
  const err = await fixtures.expectReject(call, 'WorkflowWorldError', { props: { status, code } });
  for (const pattern of says) assert.match(err.message, pattern);
  return err;
}

test('an unknown event type is refused, naming it and the allowed types; the log is unchanged', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const before = await fixtures.countEvents(h.world, runId);
  await expectInvalid(() => h.world.events.create(runId, { eventType: 'run_exploded' }), {
    code: 'INVALID_EVENT',
    says: [/'run_exploded'/, /allowed: run_created, .*wait_completed/],
  });
  await expectInvalid(() => h.world.events.create(runId, { eventType: 'hook_conflict', correlationId: 'hook_x' }), {
    code: 'INVALID_EVENT',
    says: [/written only by the World/],
  });
  assert.equal(await fixtures.countEvents(h.world, runId), before);
});

test('missing and mistyped fields are named; no entity or event is written', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const before = await fixtures.countEvents(h.world, runId);
  const stepId = fixtures.newStepId();
  await expectInvalid(
    () => h.world.events.create(runId, { eventType: 'step_created', correlationId: stepId, eventData: {} }),
    {
      code: 'INVALID_EVENT',
      says: [/`eventData.stepName` is required/],
    },
  );
  await expectInvalid(
    () =>
      h.world.events.create(runId, { eventType: 'hook_created', correlationId: 'hook_1', eventData: { token: 42 } }),
    { code: 'INVALID_EVENT', says: [/`eventData.token` must be a string, got 42/] },
  );
  await expectInvalid(() => h.world.events.create(runId, { eventType: 'step_started', eventData: {} }), {
    code: 'INVALID_EVENT',
    says: [/`correlationId` is required/],
  });
  await expectInvalid(
    () =>
      h.world.events.create(runId, {
        eventType: 'wait_created',
        correlationId: 'wait_1',
        eventData: { resumeAt: 'soon' },
      }),
    { code: 'INVALID_EVENT', says: [/`eventData.resumeAt` must be a Date/] },
  );
  await expectInvalid(
    () =>
      h.world.events.create(runId, {
        eventType: 'step_created',
        correlationId: stepId,
        eventData: { stepName: 's', input: 10n },
      }),
    { code: 'INVALID_VALUE', says: [/eventData\.input/, /BigInt/] },
  );
  await fixtures.expectReject(() => h.world.steps.get(runId, stepId), 'WorkflowWorldError', { props: { status: 404 } });
  await fixtures.expectReject(() => h.world.hooks.get('hook_1'), 'HookNotFoundError');
  assert.equal(await fixtures.countEvents(h.world, runId), before);
});

test('a run id that is not a ULID is refused on every event type', async () => {
  for (const runId of ['wrun_abc', 'not-a-run', 'wrun_01ARZ3NDEKTSV4RRFFQ69G5FAI']) {
    await expectInvalid(() => h.world.events.create(runId, { eventType: 'step_started', correlationId: 's' }), {
      code: 'INVALID_RUN_ID',
      says: [/is not a valid ULID/],
    });
  }
  await expectInvalid(() => h.world.events.create(undefined, { eventType: 'run_started' }), {
    code: 'INVALID_RUN_ID',
    says: [/runId is required for run_started/],
  });
  const { results } = await h.env.DB.prepare(
    "SELECT count(*) AS n FROM events WHERE run_id IN ('wrun_abc', 'not-a-run')",
  ).all();
  assert.equal(results[0].n, 0);
});

test('a payload over the D1 row limit is refused with 413 and stores nothing; one just under it is stored', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createStep(h.world, runId);
  await fixtures.startStep(h.world, runId, stepId);
  const before = await fixtures.countEvents(h.world, runId);
  const tooBig = new Uint8Array(2_000_001).fill(7);
  await expectInvalid(
    () =>
      h.world.events.create(runId, {
        eventType: 'step_completed',
        correlationId: stepId,
        eventData: { result: tooBig },
      }),
    { status: 413, code: 'PAYLOAD_TOO_LARGE', says: [/the limit is \d+ bytes/, /2 MB/] },
  );
  assert.equal((await h.world.steps.get(runId, stepId)).status, 'running');
  assert.equal(await fixtures.countEvents(h.world, runId), before);

  const large = new Uint8Array(1_900_000);
  large[0] = 0;
  large[1_899_999] = 255;
  const done = await h.world.events.create(runId, {
    eventType: 'step_completed',
    correlationId: stepId,
    eventData: { result: large },
  });
  assert.equal(done.step.status, 'completed');
  fixtures.assertBytes((await h.world.steps.get(runId, stepId)).output, large, 'a 1.9 MB output');
});

test('ids and tokens with SQL metacharacters, quotes, NUL and emoji are stored verbatim', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const stepId = "step_'); DROP TABLE runs; --";
  await h.world.events.create(runId, {
    eventType: 'step_created',
    correlationId: stepId,
    eventData: { stepName: 'a"b\u0000c' },
  });
  const step = await h.world.steps.get(runId, stepId);
  assert.equal(step.stepName, 'a"b\u0000c');
  const token = "tok' OR '1'='1 🦀 \u0000 %_";
  await h.world.events.create(runId, {
    eventType: 'hook_created',
    correlationId: 'hook_meta',
    eventData: { token, isWebhook: false },
  });
  assert.equal((await h.world.hooks.getByToken(token)).hookId, 'hook_meta');
  await fixtures.expectReject(() => h.world.hooks.getByToken("tok' OR '1'='1"), 'HookNotFoundError');
  const { results } = await h.env.DB.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'runs'").all();
  assert.equal(results[0].n, 1);
});

test('pagination: a limit below 1 or not an integer, or an unknown sort order, is refused; above 1000 is clamped', async () => {
  const runId = fixtures.newRunId();
  for (const limit of [0, -5, 2.5, 'ten']) {
    await expectInvalid(() => h.world.events.list({ runId, pagination: { limit } }), {
      code: 'INVALID_PAGINATION',
      says: [/`pagination.limit`/, /allowed: an integer from 1 to 1000/],
    });
  }
  await expectInvalid(() => h.world.runs.list({ pagination: { sortOrder: 'sideways' } }), {
    code: 'INVALID_PAGINATION',
    says: [/'sideways'/, /'asc' or 'desc'/],
  });
  const page = await h.world.runs.list({ pagination: { limit: 1_000_000 } });
  assert.ok(page.data.length <= 1000);
  await expectInvalid(() => h.world.runs.list({ status: 'sleeping' }), {
    code: 'INVALID_PARAMS',
    says: [/'sleeping'/, /allowed: pending/],
  });
});
