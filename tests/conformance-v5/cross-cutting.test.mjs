// Conformance (spec 7): cross-cutting rules: error identity (§0.3), the all-or-none report
// fields (§2.6), ignored and telemetry params (§2.6), and refusal of malformed creates (§11.1).
// Checklist items V111–V113 of the 5.x checklist (docs/conformance-v5.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as errors from '@workflow/errors-v5';
import * as fixtures from '../support/world-v5.mjs';

const v = fixtures.useWorldV5();

/** @workflow/errors 5.0.0-beta.22 classes: `X.is(e)` checks `e.name` only (§0.3). */
const ERROR_CLASSES = {
  EntityConflictError: errors.EntityConflictError,
  HookNotFoundError: errors.HookNotFoundError,
  RunExpiredError: errors.RunExpiredError,
  TooEarlyError: errors.TooEarlyError,
  WorkflowRunNotFoundError: errors.WorkflowRunNotFoundError,
  WorkflowWorldError: errors.WorkflowWorldError,
};

test('V111 every error the World throws is an Error whose name equals its class name, including AttributeValidationError', async () => {
  const w = v.world;
  const { runId } = await fixtures.createRunningRun(w);
  const done = await fixtures.createRunningRun(w);
  await fixtures.terminateRun(w, done.runId, 'completed');
  const { stepId } = await fixtures.createRunningStep(w, runId);
  await fixtures.retryStep(w, runId, stepId, { retryAfter: new Date(Date.now() + 60_000) });
  const cases = [
    ['EntityConflictError', () => w.events.create(runId, fixtures.runCreatedEvent())],
    ['EntityConflictError', () => fixtures.createStep(w, runId, { stepId })],
    ['RunExpiredError', () => fixtures.startRun(w, done.runId)],
    ['WorkflowRunNotFoundError', () => w.runs.get(fixtures.newRunId())],
    ['WorkflowRunNotFoundError', () => w.events.create(fixtures.newRunId(), { eventType: 'run_started' })],
    ['HookNotFoundError', () => w.hooks.getByToken(fixtures.newToken('missing'))],
    ['HookNotFoundError', () => w.hooks.get(fixtures.newHookId())],
    ['HookNotFoundError', () => fixtures.receiveHook(w, runId, fixtures.newHookId(), 'no-token')],
    ['TooEarlyError', () => fixtures.startStep(w, runId, stepId)],
    ['WorkflowWorldError', () => fixtures.startStep(w, runId, fixtures.newStepId())],
    ['WorkflowWorldError', () => fixtures.completeWait(w, runId, fixtures.newWaitId())],
    ['AttributeValidationError', () => fixtures.createRun(w, { attributes: { $nope: '1' } })],
    ['AttributeValidationError', () => fixtures.setAttributes(w, runId, [{ key: '$nope', value: 'x' }])],
  ];
  for (const [name, call] of cases) {
    const err = await fixtures.expectReject(call, name);
    assert.ok(err instanceof Error, `${name} is an Error`);
    assert.equal(typeof err.message, 'string');
    assert.ok(err.message.length > 0, `${name} has a message`);
    const cls = ERROR_CLASSES[name];
    if (cls) assert.ok(cls.is(err), `${name}.is(err) holds`);
    if (name === 'TooEarlyError') assert.ok(Number.isInteger(err.retryAfter), 'TooEarlyError.retryAfter is seconds');
  }
});

test('V112 no result carries only some of events/cursor/hasMore', async () => {
  const w = v.world;
  const results = [];
  const keep = (label, res) => results.push([label, res]);
  const { runId, res: created } = await fixtures.createRun(w);
  keep('run_created', created);
  const cursor0 = (await w.events.list({ runId })).cursor;
  keep('run_started', (await fixtures.startRun(w, runId)).res);
  keep('run_started (running)', (await fixtures.startRun(w, runId)).res);
  keep('run_started (running, skipPreload)', (await fixtures.startRun(w, runId, { skipPreload: true })).res);
  for (const params of [
    undefined,
    { eventCount: 1 },
    { eventCount: 1000 },
    { sinceCursor: cursor0 },
    { eventCount: 1, sinceCursor: cursor0 },
    { eventCount: 1, resolveData: 'none' },
    { skipPreload: true },
    { preloadEvents: true },
  ]) {
    const tag = params === undefined ? 'no params' : fixtures.safeJson(params);
    keep(`wait_created ${tag}`, (await fixtures.createWait(w, runId, { params })).res);
    keep(`step_created ${tag}`, (await fixtures.createStep(w, runId, { params })).res);
    keep(`lazy step_started ${tag}`, (await fixtures.lazyStartStep(w, runId, { params })).res);
    const hook = await fixtures.createHook(w, runId, { params });
    keep(`hook_created ${tag}`, hook.res);
    keep(`hook_received ${tag}`, await fixtures.receiveHook(w, runId, hook.hookId, hook.token, { params }));
    keep(`attr_set ${tag}`, await fixtures.setAttributes(w, runId, [{ key: 'k', value: tag }], { params }));
  }
  const pending = await fixtures.createRun(w);
  keep('run_started (pending, skipPreload)', (await fixtures.startRun(w, pending.runId, { skipPreload: true })).res);
  keep('run_completed', await fixtures.terminateRun(w, pending.runId, 'completed', { eventCount: 1 }));
  keep('run_cancelled', await fixtures.terminateRun(w, runId, 'cancelled', { eventCount: 1, sinceCursor: cursor0 }));
  for (const [label, res] of results) fixtures.assertReportTriple(res, label);
});

const IGNORED_PARAMS = {
  stateUpdatedAt: new Date(0),
  computeInstanceId: 'cinst_SENTINEL_V113',
  replayDivergenceCount: 7,
  viaStepDispatch: true,
  requestId: 'req_SENTINEL_V113',
};

/** One run's worth of creates; `extra` params are added to every one of them. */
async function scenario(extra) {
  const w = v.world;
  const hookToken = fixtures.newToken('v113');
  const ids = { runId: fixtures.newRunId(), hookId: fixtures.newHookId(), token: hookToken };
  const p = (params) => ({ ...params, ...extra });
  const { runId, hookId, token } = ids;
  const out = [];
  out.push(await w.events.create(runId, fixtures.runCreatedEvent({ input: fixtures.payload('in') }), p()));
  out.push(await w.events.create(runId, { eventType: 'run_started' }, p()));
  const stepId = 'step_01V113STEPAAAAAAAAAAAAAAAA';
  out.push((await fixtures.createStep(w, runId, { stepId, params: p() })).res);
  out.push((await fixtures.startStep(w, runId, stepId, { params: p() })).res);
  out.push(await fixtures.completeStep(w, runId, stepId, { params: p() }));
  const lazyId = 'step_01V113LAZYAAAAAAAAAAAAAAAA';
  out.push((await fixtures.lazyStartStep(w, runId, { stepId: lazyId, params: p({ eventCount: 5 }) })).res);
  const waitId = 'wait_01V113WAITAAAAAAAAAAAAAAAA';
  out.push((await fixtures.createWait(w, runId, { correlationId: waitId, resumeAt: new Date(4e12), params: p() })).res);
  out.push((await fixtures.createHook(w, runId, { hookId, token, params: p({ eventCount: 1 }) })).res);
  out.push(await fixtures.receiveHook(w, runId, hookId, token, { params: p() }));
  out.push(
    await fixtures.setAttributes(w, runId, [{ key: 'a', value: '1' }], { correlationId: 'attr_01V113', params: p() }),
  );
  out.push(await fixtures.terminateRun(w, runId, 'completed', p()));
  return { ids, results: out, events: await fixtures.listAllEvents(w, runId) };
}

/** Result/event normal form with the run-specific ids and the wall-clock times replaced. */
function canonical(value, ids) {
  const text = JSON.stringify(fixtures.normalize(value), (k, x) => {
    if (
      x &&
      typeof x === 'object' &&
      '$date' in x &&
      ['createdAt', 'updatedAt', 'startedAt', 'completedAt'].includes(k)
    ) {
      return '<time>';
    }
    return x;
  });
  return JSON.parse(
    text.replaceAll(ids.runId, '<run>').replaceAll(ids.hookId, '<hook>').replaceAll(ids.token, '<token>'),
  );
}

test('V113 stateUpdatedAt, computeInstanceId, replayDivergenceCount, viaStepDispatch and requestId change nothing and are never stored', async () => {
  const plain = await scenario({});
  const withParams = await scenario(IGNORED_PARAMS);
  assert.deepStrictEqual(
    canonical(withParams.results, withParams.ids),
    canonical(plain.results, plain.ids),
    'results differ with the ignored params',
  );
  assert.deepStrictEqual(
    canonical(withParams.events, withParams.ids),
    canonical(plain.events, plain.ids),
    'stored events differ with the ignored params',
  );
  const stored = JSON.stringify(withParams.events);
  for (const key of Object.keys(IGNORED_PARAMS)) assert.ok(!stored.includes(`"${key}"`), `${key} is stored`);
  for (const sentinel of ['cinst_SENTINEL_V113', 'req_SENTINEL_V113']) assert.ok(!stored.includes(sentinel));
  const runs = [await v.world.runs.get(withParams.ids.runId)];
  const runText = JSON.stringify(runs);
  for (const key of Object.keys(IGNORED_PARAMS)) assert.ok(!runText.includes(`"${key}"`), `run carries ${key}`);
});

test(
  '§11.1 malformed creates are refused with a named 400 and store nothing',
  fixtures.localDivergence(
    '§11.1: world-local stores unknown event types, a cancelReason over 512, attr_set eventData over 8 KiB, step_created without input and wait_created without resumeAt, and throws a TypeError for hook_created without a token',
  ),
  async () => {
    const w = v.world;
    const { runId } = await fixtures.createRunningRun(w);
    const stepId = fixtures.newStepId();
    const hookId = fixtures.newHookId();
    const big = Array.from({ length: 40 }, (_, i) => ({ key: `key${i}`, value: 'v'.repeat(250) }));
    const invalid = [
      { eventType: 'run_exploded' },
      { eventType: 'run_cancelled', eventData: { cancelReason: 'x'.repeat(513) } },
      { eventType: 'step_created', correlationId: stepId, eventData: { stepName: fixtures.STEP_NAME } },
      { eventType: 'wait_created', correlationId: fixtures.newWaitId(), eventData: {} },
      { eventType: 'hook_created', correlationId: hookId, eventData: { isWebhook: false } },
    ];
    await fixtures.assertNothingAppended(w, runId, async () => {
      for (const data of invalid) {
        const err = await fixtures.expectReject(w.events.create(runId, data), 'WorkflowWorldError');
        assert.equal(err.status, 400, `${data.eventType}: status`);
      }
      // attr_set eventData over ATTRIBUTE_EVENT_DATA_MAX_BYTES (8 KiB): W5 names this failure
      // AttributeValidationError (validateAttributeEventDataSize); a WorkflowWorldError 400 is accepted too.
      await assert.rejects(
        fixtures.setAttributes(w, runId, big),
        (e) => e.name === 'AttributeValidationError' || (e.name === 'WorkflowWorldError' && e.status === 400),
      );
    });
    assert.equal((await w.runs.get(runId)).status, 'running', 'the oversized run_cancelled did not cancel');
    assert.deepStrictEqual((await w.runs.get(runId)).attributes, {});
    await assert.rejects(w.steps.get(runId, stepId));
    await fixtures.expectReject(w.hooks.get(hookId), 'HookNotFoundError');
  },
);
