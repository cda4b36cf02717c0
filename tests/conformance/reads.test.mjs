// Conformance: reads and pagination (§4) and cross-cutting rules (§1.2, §1.5, §2.1, §3.5).
// Checklist items §8.98–113 and §8.146–150.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as errors from '@workflow/errors';
import { createWorld } from '../../js/node.js';
import { useHarness } from '../support/harness.mjs';
import * as fixtures from '../support/storage.mjs';

const h = useHarness();

// ---------------------------------------------------------------------------
// §4.1 runs

test('§8.98 runs.get of an unknown run throws WorkflowRunNotFoundError with runId set', async () => {
  const runId = fixtures.newRunId();
  const err = await fixtures.expectReject(h.world.runs.get(runId), 'WorkflowRunNotFoundError', { props: { runId } });
  assert.ok(errors.WorkflowRunNotFoundError.is(err));
  await fixtures.expectReject(h.world.runs.get(runId, { resolveData: 'none' }), 'WorkflowRunNotFoundError', {
    props: { runId },
  });
});

test('§8.99 runs.list pages 25 runs as 20 + 5, newest first, with non-null cursors on both pages', async () => {
  const workflowName = fixtures.uniqueName();
  const created = [];
  for (let i = 0; i < 25; i++) {
    created.push((await fixtures.createRun(h.world, { workflowName })).runId);
    await fixtures.sleep(2); // distinct createdAt per run
  }
  const newestFirst = [...created].reverse();
  const page1 = await h.world.runs.list({ workflowName });
  assert.equal(page1.data.length, 20, 'default limit is 20');
  assert.equal(page1.hasMore, true);
  assert.equal(typeof page1.cursor, 'string');
  const page2 = await h.world.runs.list({ workflowName, pagination: { cursor: page1.cursor } });
  assert.equal(page2.data.length, 5);
  assert.equal(page2.hasMore, false);
  assert.equal(typeof page2.cursor, 'string', 'the last non-empty page still has a cursor');
  assert.deepEqual(
    [...page1.data, ...page2.data].map((r) => r.runId),
    newestFirst,
  );
  for (let i = 1; i < 25; i++) {
    const [a, b] = [[...page1.data, ...page2.data][i - 1], [...page1.data, ...page2.data][i]];
    assert.ok(a.createdAt.getTime() >= b.createdAt.getTime(), 'createdAt non-increasing');
  }
  // Unfiltered: the same default page size and order over every run in the store.
  const all = await h.world.runs.list();
  assert.equal(all.data.length, 20);
  assert.equal(all.hasMore, true);
  for (let i = 1; i < all.data.length; i++) {
    assert.ok(all.data[i - 1].createdAt.getTime() >= all.data[i].createdAt.getTime(), 'unfiltered: newest first');
  }
});

test('§8.99 (REC, §7.2 #4) runs.list honours sortOrder "asc" across pages', async () => {
  const workflowName = fixtures.uniqueName();
  const created = [];
  for (let i = 0; i < 9; i++) {
    created.push((await fixtures.createRun(h.world, { workflowName })).runId);
    await fixtures.sleep(2);
  }
  const asc = await fixtures.collectPages(
    (pagination) => h.world.runs.list({ workflowName, pagination: { ...pagination, sortOrder: 'asc' } }),
    4,
  );
  assert.deepEqual(
    asc.map((r) => r.runId),
    created,
  );
  const desc = await fixtures.collectPages(
    (pagination) => h.world.runs.list({ workflowName, pagination: { ...pagination, sortOrder: 'desc' } }),
    4,
  );
  assert.deepEqual(
    desc.map((r) => r.runId),
    [...created].reverse(),
  );
});

test('§8.100 runs.list filters exactly by status and by workflowName', async () => {
  const w = fixtures.uniqueName('wf%_');
  const pending = await fixtures.createRun(h.world, { workflowName: w });
  const running1 = await fixtures.createRunningRun(h.world, { workflowName: w });
  const running2 = await fixtures.createRunningRun(h.world, { workflowName: w });
  const done = await fixtures.createRunningRun(h.world, { workflowName: w });
  await fixtures.terminateRun(h.world, done.runId, 'completed');
  const prefixed = await fixtures.createRunningRun(h.world, { workflowName: `${w}x` }); // not an exact match
  const other = await fixtures.createRunningRun(h.world, { workflowName: w.replace('%_', 'ab') }); // would match LIKE
  const ids = (page) => page.data.map((r) => r.runId).sort();

  assert.deepEqual(
    ids(await h.world.runs.list({ workflowName: w })),
    [pending.runId, running1.runId, running2.runId, done.runId].sort(),
  );
  assert.deepEqual(
    ids(await h.world.runs.list({ workflowName: w, status: 'running' })),
    [running1.runId, running2.runId].sort(),
  );
  assert.deepEqual(ids(await h.world.runs.list({ workflowName: w, status: 'pending' })), [pending.runId]);
  assert.deepEqual(ids(await h.world.runs.list({ workflowName: w, status: 'completed' })), [done.runId]);
  assert.deepEqual(ids(await h.world.runs.list({ workflowName: w, status: 'failed' })), []);

  const running = await fixtures.collectPages(
    (pagination) => h.world.runs.list({ status: 'running', pagination }),
    1000,
  );
  assert.ok(running.length >= 4);
  assert.ok(
    running.every((r) => r.status === 'running'),
    'status filter is exact',
  );
  const runningIds = new Set(running.map((r) => r.runId));
  for (const r of [running1, running2, prefixed, other]) assert.ok(runningIds.has(r.runId));
  assert.ok(!runningIds.has(pending.runId) && !runningIds.has(done.runId));
});

test('§8.101 runs.list accepts pagination.limit 1000', async () => {
  await fixtures.createRun(h.world);
  const page = await h.world.runs.list({ pagination: { limit: 1000 } });
  assert.ok(Array.isArray(page.data));
  assert.ok(page.data.length >= 1 && page.data.length <= 1000);
  assert.equal(typeof page.hasMore, 'boolean');
  const none = await h.world.runs.list({ pagination: { limit: 1000 }, resolveData: 'none' });
  assert.ok(none.data.every((r) => r.input === undefined && r.output === undefined));
});

// ---------------------------------------------------------------------------
// §4.3 events

/** A run with a known log of `n` events (n ≥ 3). Returns its runId and eventIds. */
async function runWithEvents(n) {
  const { runId } = await fixtures.createRunningRun(h.world);
  for (let i = 2; i < n; i++) await fixtures.createStep(h.world, runId);
  const ids = (await fixtures.listAllEvents(h.world, runId)).map((e) => e.eventId);
  assert.equal(ids.length, n);
  return { runId, ids };
}

test('§8.102 events.list returns append order (run_created first) ascending by default, and the reverse with sortOrder desc', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const appended = [];
  for (let i = 0; i < 4; i++) appended.push((await fixtures.createStep(h.world, runId)).res.event.eventId);
  const asc = await h.world.events.list({ runId });
  assert.deepEqual(fixtures.typesOf(asc.data), [
    'run_created',
    'run_started',
    'step_created',
    'step_created',
    'step_created',
    'step_created',
  ]);
  assert.deepEqual(
    asc.data.slice(2).map((e) => e.eventId),
    appended,
  );
  const explicitAsc = await h.world.events.list({ runId, pagination: { sortOrder: 'asc' } });
  assert.deepEqual(
    explicitAsc.data.map((e) => e.eventId),
    asc.data.map((e) => e.eventId),
  );
  const desc = await h.world.events.list({ runId, pagination: { sortOrder: 'desc' } });
  assert.deepEqual(
    desc.data.map((e) => e.eventId),
    asc.data.map((e) => e.eventId).reverse(),
  );
  const descPaged = await fixtures.collectPages(
    (pagination) => h.world.events.list({ runId, pagination: { ...pagination, sortOrder: 'desc' } }),
    4,
  );
  assert.deepEqual(
    descPaged.map((e) => e.eventId),
    asc.data.map((e) => e.eventId).reverse(),
  );
});

test('§8.103 paging events.list with limit 2 visits every event exactly once, with fresh cursors', async () => {
  const { runId, ids } = await runWithEvents(7);
  const seenIds = [];
  const cursors = new Set();
  let cursor;
  for (let i = 0; i < 20; i++) {
    const page = await h.world.events.list({ runId, pagination: cursor ? { limit: 2, cursor } : { limit: 2 } });
    assert.ok(page.data.length <= 2);
    seenIds.push(...page.data.map((e) => e.eventId));
    if (!page.hasMore) break;
    assert.equal(typeof page.cursor, 'string');
    assert.ok(!cursors.has(page.cursor), 'a hasMore page repeated an earlier cursor');
    cursors.add(page.cursor);
    cursor = page.cursor;
  }
  assert.deepEqual(seenIds, ids);
  assert.equal(cursors.size, 3); // pages of 2, 2, 2, 1
});

test('§8.104 the last non-empty page has a cursor; listing from it after K appends returns exactly those K', async () => {
  const { runId, ids } = await runWithEvents(4);
  const page = await h.world.events.list({ runId, pagination: { limit: 10 } });
  assert.deepEqual(
    page.data.map((e) => e.eventId),
    ids,
  );
  assert.equal(page.hasMore, false);
  assert.equal(typeof page.cursor, 'string', 'non-null cursor on the last non-empty page');
  const appended = [];
  for (let i = 0; i < 3; i++) appended.push((await fixtures.createStep(h.world, runId)).res.event.eventId);
  const next = await h.world.events.list({ runId, pagination: { cursor: page.cursor } });
  assert.deepEqual(
    next.data.map((e) => e.eventId),
    appended,
  );
  assert.equal(next.hasMore, false);
  // The same holds when the last page was reached by paging.
  const tail = await h.world.events.list({ runId, pagination: { limit: 2, cursor: page.cursor } });
  assert.deepEqual(
    tail.data.map((e) => e.eventId),
    appended.slice(0, 2),
  );
  assert.equal(tail.hasMore, true);
});

test('§8.105 events.list for an unknown run returns {data:[], hasMore:false, cursor:null}', async () => {
  const page = await h.world.events.list({ runId: fixtures.newRunId() });
  assert.deepStrictEqual(
    { data: page.data, hasMore: page.hasMore, cursor: page.cursor },
    { data: [], hasMore: false, cursor: null },
  );
  const byCorr = await h.world.events.listByCorrelationId({ correlationId: fixtures.newStepId() });
  assert.deepStrictEqual(
    { data: byCorr.data, hasMore: byCorr.hasMore, cursor: byCorr.cursor },
    { data: [], hasMore: false, cursor: null },
  );
});

test("§8.106 an empty cursor starts from the beginning, as world-local reads it (workflow 4.x's CLI sends one)", async () => {
  const { runId, ids } = await runWithEvents(4);
  const steps = await h.world.steps.list({ runId, pagination: { cursor: '' } });
  assert.equal(steps.data.length, 2);
  const events = await h.world.events.list({ runId, pagination: { cursor: '' } });
  assert.deepEqual(
    events.data.map((e) => e.eventId),
    ids,
  );
  const runs = await h.world.runs.list({ pagination: { cursor: '', limit: 1 } });
  const first = await h.world.runs.list({ pagination: { limit: 1 } });
  assert.deepEqual(
    runs.data.map((r) => r.runId),
    first.data.map((r) => r.runId),
  );
});

test("§8.106 events.list with a garbage cursor throws WorkflowWorldError status 400 and never leaks another run's events", async () => {
  const a = await runWithEvents(5);
  const b = await runWithEvents(3);
  for (const cursor of ['garbage', '%%%not-a-cursor%%%', 'wevt_', '-1', '9999999999999999999999']) {
    let page;
    try {
      page = await h.world.events.list({ runId: b.runId, pagination: { cursor } });
    } catch (err) {
      assert.equal(err.name, 'WorkflowWorldError', `cursor ${cursor}: ${err.name} ${err.message}`);
      assert.equal(err.status, 400, `cursor ${cursor}: status`);
      continue;
    }
    assert.ok(
      page.data.every((e) => e.runId === b.runId),
      `cursor ${cursor} returned another run's events`,
    );
  }
  await fixtures.expectReject(
    h.world.events.list({ runId: b.runId, pagination: { cursor: 'garbage' } }),
    'WorkflowWorldError',
    {
      props: { status: 400 },
    },
  );
  // A valid cursor of run A, used on run B, must not return A's events either.
  const pageA = await h.world.events.list({ runId: a.runId, pagination: { limit: 1 } });
  try {
    const cross = await fixtures.collectPages((pagination) =>
      h.world.events.list({ runId: b.runId, pagination: { ...pagination, cursor: pagination.cursor ?? pageA.cursor } }),
    );
    assert.ok(
      cross.every((e) => e.runId === b.runId),
      'foreign cursor leaked events',
    );
    assert.ok(cross.every((e) => b.ids.includes(e.eventId)));
  } catch (err) {
    assert.equal(err.name, 'WorkflowWorldError', `${err.name}: ${err.message}`);
    assert.equal(err.status, 400);
  }
});

test("§8.107 events.listByCorrelationId lists a step's events ascending across runs, or within one run", async () => {
  const r1 = await fixtures.createRunningRun(h.world);
  const r2 = await fixtures.createRunningRun(h.world);
  const stepId = fixtures.newStepId();
  const expected = [];
  const note = (runId, res) => expected.push([runId, res.event.eventType, res.event.eventId]);
  note(r1.runId, (await fixtures.createStep(h.world, r1.runId, { stepId })).res);
  note(r2.runId, (await fixtures.createStep(h.world, r2.runId, { stepId })).res);
  await fixtures.createStep(h.world, r1.runId); // another correlation id: excluded
  note(r1.runId, (await fixtures.startStep(h.world, r1.runId, stepId)).res);
  note(r2.runId, (await fixtures.startStep(h.world, r2.runId, stepId)).res);
  note(r1.runId, await fixtures.completeStep(h.world, r1.runId, stepId));
  const shape = (events) => events.map((e) => [e.runId, e.eventType, e.eventId]);

  const all = await h.world.events.listByCorrelationId({ correlationId: stepId });
  assert.deepEqual(shape(all.data), expected);
  assert.ok(all.data.every((e) => e.correlationId === stepId));
  assert.equal(all.hasMore, false);
  const paged = await fixtures.collectPages(
    (pagination) => h.world.events.listByCorrelationId({ correlationId: stepId, pagination }),
    2,
  );
  assert.deepEqual(shape(paged), expected);
  const desc = await h.world.events.listByCorrelationId({ correlationId: stepId, pagination: { sortOrder: 'desc' } });
  assert.deepEqual(shape(desc.data), [...expected].reverse());

  const scoped = await h.world.events.listByCorrelationId({ correlationId: stepId, runId: r2.runId });
  assert.deepEqual(
    shape(scoped.data),
    expected.filter(([runId]) => runId === r2.runId),
  );
  const none = await h.world.events.listByCorrelationId({
    correlationId: stepId,
    runId: r1.runId,
    resolveData: 'none',
  });
  assert.equal(none.data[0].eventData.input, undefined, 'resolveData none honoured');
  assert.equal(none.data[0].eventData.stepName, fixtures.STEP_NAME);
  fixtures.assertBytes(scoped.data[0].eventData.input, fixtures.payload('step-input'), 'resolveData all by default');
});

test('§8.108 events.get of an unknown eventId throws WorkflowWorldError 404; a known one is returned with resolveData honoured', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { res } = await fixtures.createStep(h.world, runId, { input: fixtures.payload('get-me') });
  await fixtures.expectReject(h.world.events.get(runId, `wevt_${fixtures.newRunId().slice(5)}`), 'WorkflowWorldError', {
    props: { status: 404 },
  });
  await fixtures.expectReject(h.world.events.get(runId, 'wevt_unknown'), 'WorkflowWorldError', {
    props: { status: 404 },
  });
  const full = await h.world.events.get(runId, res.event.eventId);
  assert.equal(full.eventId, res.event.eventId);
  assert.equal(full.eventType, 'step_created');
  assert.equal(full.runId, runId);
  assert.equal(full.correlationId, res.event.correlationId);
  fixtures.assertDate(full.createdAt, res.event.createdAt, 'createdAt');
  fixtures.assertBytes(full.eventData.input, fixtures.payload('get-me'), 'input (default all)');
  const stripped = await h.world.events.get(runId, res.event.eventId, { resolveData: 'none' });
  fixtures.assertSameData(stripped.eventData, { stepName: fixtures.STEP_NAME });
});

// ---------------------------------------------------------------------------
// §4.2 steps

test('§8.109 steps.get(undefined, stepId) finds the step without its runId; an unknown step throws WorkflowWorldError 404', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createStep(h.world, runId, { input: fixtures.payload('find-me') });
  const step = await h.world.steps.get(undefined, stepId);
  assert.equal(step.runId, runId);
  assert.equal(step.stepId, stepId);
  fixtures.assertBytes(step.input, fixtures.payload('find-me'), 'input');
  const none = await h.world.steps.get(undefined, stepId, { resolveData: 'none' });
  assert.equal(none.input, undefined);
  assert.equal(none.stepId, stepId);
  await fixtures.expectReject(h.world.steps.get(undefined, fixtures.newStepId()), 'WorkflowWorldError', {
    props: { status: 404 },
  });
  await fixtures.expectReject(h.world.steps.get(runId, fixtures.newStepId()), 'WorkflowWorldError', {
    props: { status: 404 },
  });
  const other = await fixtures.createRunningRun(h.world);
  await fixtures.expectReject(h.world.steps.get(other.runId, stepId), 'WorkflowWorldError', { props: { status: 404 } });
});

test("§8.110 steps.list({runId}) lists only that run's steps, newest first", async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const other = await fixtures.createRunningRun(h.world);
  const created = [];
  for (let i = 0; i < 3; i++) {
    created.push((await fixtures.createStep(h.world, runId)).stepId);
    await fixtures.createStep(h.world, other.runId);
    await fixtures.sleep(3);
  }
  const page = await h.world.steps.list({ runId });
  assert.deepEqual(
    page.data.map((s) => s.stepId),
    [...created].reverse(),
  );
  assert.ok(page.data.every((s) => s.runId === runId));
  assert.equal(page.hasMore, false);
  const paged = await fixtures.collectPages((pagination) => h.world.steps.list({ runId, pagination }), 2);
  assert.deepEqual(
    paged.map((s) => s.stepId),
    [...created].reverse(),
  );
});

test('§8.110 (REC, §7.2 #4) steps.list honours sortOrder "asc"', async () => {
  const { runId } = await fixtures.createRunningRun(h.world);
  const created = [];
  for (let i = 0; i < 3; i++) {
    created.push((await fixtures.createStep(h.world, runId)).stepId);
    await fixtures.sleep(3);
  }
  const asc = await fixtures.collectPages(
    (pagination) => h.world.steps.list({ runId, pagination: { ...pagination, sortOrder: 'asc' } }),
    2,
  );
  assert.deepEqual(
    asc.map((s) => s.stepId),
    created,
  );
});

// ---------------------------------------------------------------------------
// §4.4 hooks

test('§8.111 hooks.get of an unknown hookId throws HookNotFoundError', async () => {
  const hookId = fixtures.newHookId();
  const err = await fixtures.expectReject(h.world.hooks.get(hookId), 'HookNotFoundError', { props: { token: hookId } });
  assert.ok(errors.HookNotFoundError.is(err));
});

test('§8.112 hooks.getByToken of an unknown token throws HookNotFoundError', async () => {
  const token = `nope-${fixtures.newToken()}`;
  await fixtures.expectReject(h.world.hooks.getByToken(token), 'HookNotFoundError', { props: { token } });
  await fixtures.expectReject(h.world.hooks.getByToken('nope'), 'HookNotFoundError');
});

test("§8.113 hooks.list({runId}) lists the run's live hooks oldest-first; hooks.list({}) lists all live hooks", async () => {
  const r1 = await fixtures.createRunningRun(h.world);
  const r2 = await fixtures.createRunningRun(h.world);
  const mine = [];
  for (let i = 0; i < 3; i++) {
    mine.push(await fixtures.createHook(h.world, r1.runId));
    await fixtures.sleep(3);
  }
  const theirs = await fixtures.createHook(h.world, r2.runId);
  const gone = await fixtures.createHook(h.world, r1.runId);
  await fixtures.disposeHook(h.world, r1.runId, gone.hookId, gone.token);
  const page = await h.world.hooks.list({ runId: r1.runId });
  assert.deepEqual(
    page.data.map((x) => x.hookId),
    mine.map((x) => x.hookId),
  );
  assert.ok(page.data.every((x) => x.runId === r1.runId));
  assert.equal(typeof page.data[0].isWebhook, 'boolean');
  fixtures.assertBytes(page.data[0].metadata, fixtures.payload('hook-meta'), 'metadata with default resolveData');
  const paged = await fixtures.collectPages((pagination) => h.world.hooks.list({ runId: r1.runId, pagination }), 2);
  assert.deepEqual(
    paged.map((x) => x.hookId),
    mine.map((x) => x.hookId),
  );
  const everything = await fixtures.collectPages((pagination) => h.world.hooks.list({ pagination }), 1000);
  const ids = new Set(everything.map((x) => x.hookId));
  for (const x of [...mine, theirs]) assert.ok(ids.has(x.hookId), `hooks.list({}) misses ${x.hookId}`);
  assert.ok(!ids.has(gone.hookId), 'disposed hooks are not listed');
  assert.equal(ids.size, everything.length, 'no duplicates across pages');
  for (let i = 1; i < everything.length; i++) {
    assert.ok(everything[i - 1].createdAt.getTime() <= everything[i].createdAt.getTime(), 'oldest first');
  }
});

// ---------------------------------------------------------------------------
// Cross-cutting

/** Provokes one error of each class the World throws. */
async function collectWorldErrors() {
  const caught = {};
  const grab = async (key, fn) => {
    try {
      await fn();
    } catch (err) {
      caught[key] = err;
      return;
    }
    assert.fail(`${key}: expected a rejection`);
  };
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createRunningStep(h.world, runId);
  await grab('EntityConflictError', () =>
    h.world.events.create(runId, {
      eventType: 'step_created',
      correlationId: stepId,
      eventData: { stepName: fixtures.STEP_NAME, input: fixtures.payload('d') },
    }),
  );
  await fixtures.retryStep(h.world, runId, stepId, { error: 'later', retryAfter: new Date(Date.now() + 10_000) });
  await grab('TooEarlyError', () => fixtures.startStep(h.world, runId, stepId));
  await grab('HookNotFoundError', () => h.world.hooks.getByToken(fixtures.newToken('missing')));
  await grab('WorkflowRunNotFoundError', () => h.world.runs.get(fixtures.newRunId()));
  await grab('WorkflowWorldError', () =>
    h.world.events.create(runId, {
      eventType: 'step_started',
      correlationId: fixtures.newStepId(),
      eventData: { stepName: fixtures.STEP_NAME },
    }),
  );
  const ended = await fixtures.createRunningRun(h.world);
  await fixtures.terminateRun(h.world, ended.runId, 'completed');
  await grab('RunExpiredError', () => h.world.events.create(ended.runId, { eventType: 'run_started' }));
  const v4 = await fixtures.seedRun(h.env.DB, { specVersion: 4 });
  await grab('RunNotSupportedError', () => h.world.events.create(v4, { eventType: 'run_started' }));
  await grab('WorkflowRunNotFoundError:create', () =>
    h.world.events.create(fixtures.newRunId(), {
      eventType: 'run_completed',
      eventData: { output: fixtures.payload('o') },
    }),
  );
  await grab('WorkflowWorldError:steps.get', () => h.world.steps.get(runId, fixtures.newStepId()));
  await grab('WorkflowWorldError:events.get', () => h.world.events.get(runId, 'wevt_missing'));
  await grab('WorkflowWorldError:cursor', () => h.world.events.list({ runId, pagination: { cursor: 'garbage' } }));
  await grab('WorkflowWorldError:runId', () =>
    h.world.events.create('wrun_notaulid', {
      eventType: 'run_created',
      eventData: { deploymentId: 'd', workflowName: 'w', input: fixtures.payload('i') },
    }),
  );
  await grab('HookNotFoundError:received', () => fixtures.receiveHook(h.world, runId, fixtures.newHookId(), 'x'));
  await grab('WorkflowWorldError:wait', () => fixtures.completeWait(h.world, runId, fixtures.newWaitCorrelationId()));
  return caught;
}

test('§8.146 every World error is an Error whose name is its class name, so X.is(e) holds; TooEarlyError.retryAfter is seconds', async () => {
  const caught = await collectWorldErrors();
  for (const [key, err] of Object.entries(caught)) {
    const cls = key.split(':')[0];
    assert.ok(err instanceof Error, `${key}: not an Error`);
    assert.equal(err.name, cls, `${key}: name ${err.name}`);
    // biome-ignore lint/performance/noDynamicNamespaceImportAccess: the class is looked up by the name under test
    assert.ok(errors[cls].is(err), `${key}: ${cls}.is(e) is false`);
    assert.equal(typeof err.message, 'string');
    assert.ok(err.message.length > 0, `${key}: empty message`);
  }
  const tooEarly = caught.TooEarlyError;
  assert.equal(typeof tooEarly.retryAfter, 'number');
  assert.ok(
    Number.isInteger(tooEarly.retryAfter) && tooEarly.retryAfter >= 9 && tooEarly.retryAfter <= 10,
    `retryAfter ${tooEarly.retryAfter}`,
  );
  assert.equal(caught.RunNotSupportedError.runSpecVersion, 4);
  assert.equal(caught.RunNotSupportedError.worldSpecVersion, 3);
  assert.equal(typeof caught.WorkflowRunNotFoundError.runId, 'string');
  // A subclass does not satisfy its parent's is() (§1.5).
  assert.ok(!errors.WorkflowWorldError.is(caught.EntityConflictError));
});

test('§8.147 no ordinary World error carries a contract-error code or message prefix', async () => {
  const caught = await collectWorldErrors();
  for (const [key, err] of Object.entries(caught)) {
    assert.ok(!fixtures.CONTRACT_ERROR_CODES.includes(err.code), `${key}: code ${err.code}`);
    for (const prefix of fixtures.CONTRACT_ERROR_PREFIXES)
      assert.ok(!err.message.startsWith(prefix), `${key}: message ${err.message}`);
    assert.notEqual(err.cause?.name, 'ZodError', `${key}: ZodError cause`);
    if (err.status !== undefined)
      assert.ok(err.status < 500, `${key}: status ${err.status} would be retried as a server error`);
  }
});

test('§8.148 every Date field is instanceof Date and every binary field is instanceof Uint8Array', async () => {
  const isDate = (v, where) => assert.ok(v instanceof Date && !Number.isNaN(v.getTime()), `${where}: ${v}`);
  const isBytes = (v, where) => assert.ok(v instanceof Uint8Array, `${where}: ${v?.constructor?.name}`);
  const workflowName = fixtures.uniqueName();
  const { runId, res: started } = await fixtures.createRunningRun(h.world, { workflowName });
  const { stepId } = await fixtures.createRunningStep(h.world, runId);
  const retried = await fixtures.retryStep(h.world, runId, stepId, {
    error: 'r',
    retryAfter: new Date(Date.now() - 1),
  });
  const restarted = await fixtures.startStep(h.world, runId, stepId);
  const done = await fixtures.completeStep(h.world, runId, stepId, fixtures.payload('res'));
  const failedStep = await fixtures.createRunningStep(h.world, runId);
  const failed = await fixtures.failStep(h.world, runId, failedStep.stepId);
  const hook = await fixtures.createHook(h.world, runId);
  const received = await fixtures.receiveHook(h.world, runId, hook.hookId, hook.token, fixtures.payload('body'));
  const wait = await fixtures.createWait(h.world, runId);
  const waited = await fixtures.completeWait(h.world, runId, wait.correlationId, wait.resumeAt);
  const completed = await h.world.events.create(runId, {
    eventType: 'run_completed',
    eventData: { output: fixtures.payload('out') },
  });

  const checkRun = (run, where) => {
    for (const k of ['createdAt', 'updatedAt', 'startedAt', 'completedAt']) isDate(run[k], `${where}.${k}`);
    isBytes(run.input, `${where}.input`);
    isBytes(run.output, `${where}.output`);
  };
  checkRun(completed.run, 'result.run');
  checkRun(await h.world.runs.get(runId), 'runs.get');
  const listed = (await h.world.runs.list({ workflowName })).data;
  assert.equal(listed.length, 1);
  checkRun(listed[0], 'runs.list');
  isDate(started.run.startedAt, 'run_started result.run.startedAt');

  const checkStep = (step, where) => {
    for (const k of ['createdAt', 'updatedAt', 'startedAt', 'completedAt']) isDate(step[k], `${where}.${k}`);
    isBytes(step.input, `${where}.input`);
    isBytes(step.output, `${where}.output`);
  };
  checkStep(done.step, 'result.step');
  checkStep(await h.world.steps.get(runId, stepId), 'steps.get');
  checkStep(
    (await h.world.steps.list({ runId })).data.find((s) => s.stepId === stepId),
    'steps.list',
  );
  isDate(retried.step.retryAfter, 'step.retryAfter');
  isDate(failed.step.completedAt, 'failed step completedAt');
  isDate(restarted.step.startedAt, 'restarted step startedAt');

  isDate(hook.hook.createdAt, 'result.hook.createdAt');
  isBytes(hook.hook.metadata, 'result.hook.metadata');
  for (const k of ['createdAt', 'updatedAt', 'resumeAt']) isDate(wait.wait[k], `wait_created wait.${k}`);
  for (const k of ['createdAt', 'updatedAt', 'resumeAt', 'completedAt'])
    isDate(waited.wait[k], `wait_completed wait.${k}`);
  isBytes(received.event.eventData.payload, 'hook_received payload');

  const log = await fixtures.listAllEvents(h.world, runId);
  const refs = {
    run_created: 'input',
    step_created: 'input',
    step_completed: 'result',
    hook_created: 'metadata',
    hook_received: 'payload',
    run_completed: 'output',
  };
  for (const ev of log) {
    isDate(ev.createdAt, `${ev.eventType}.createdAt`);
    if (refs[ev.eventType])
      isBytes(ev.eventData[refs[ev.eventType]], `${ev.eventType}.eventData.${refs[ev.eventType]}`);
    if (ev.eventType === 'wait_created' || ev.eventType === 'wait_completed')
      isDate(ev.eventData.resumeAt, `${ev.eventType}.resumeAt`);
    if (ev.eventType === 'step_retrying') isDate(ev.eventData.retryAfter, 'step_retrying.retryAfter');
    const got = await h.world.events.get(runId, ev.eventId);
    isDate(got.createdAt, `events.get ${ev.eventType}.createdAt`);
    if (refs[ev.eventType]) isBytes(got.eventData[refs[ev.eventType]], `events.get ${ev.eventType}`);
  }
  const byCorr = await h.world.events.listByCorrelationId({ correlationId: wait.correlationId });
  for (const ev of byCorr.data) isDate(ev.eventData.resumeAt, `listByCorrelationId ${ev.eventType}.resumeAt`);
  const retryEv = (await h.world.events.listByCorrelationId({ correlationId: stepId, runId })).data.find(
    (e) => e.eventType === 'step_retrying',
  );
  isDate(retryEv.eventData.retryAfter, 'listByCorrelationId step_retrying.retryAfter');
  const liveHook = await fixtures.createRunningRun(h.world).then((r) => fixtures.createHook(h.world, r.runId));
  isDate((await h.world.hooks.getByToken(liveHook.token)).createdAt, 'getByToken createdAt');
  isBytes((await h.world.hooks.getByToken(liveHook.token)).metadata, 'getByToken metadata');
  isBytes((await h.world.hooks.get(liveHook.hookId)).metadata, 'hooks.get metadata');
  isDate(started.events[0].createdAt, 'preloaded events createdAt');
  isBytes(started.events[0].eventData.input, 'preloaded run_created input');
});

test('§8.149 concurrent step_started + step_completed + duplicate step_created + duplicate wait_completed: winners logged once, losers 409 with nothing appended', async () => {
  for (let trial = 0; trial < 8; trial++) {
    const { runId } = await fixtures.createRunningRun(h.world);
    const s1 = await fixtures.createRunningStep(h.world, runId);
    const s2 = await fixtures.createStep(h.world, runId);
    const w = await fixtures.createWait(h.world, runId);
    const before = (await fixtures.listAllEvents(h.world, runId)).map((e) => e.eventId);
    const labels = ['step_started', 'step_completed', 'step_created dup', 'wait_completed #1', 'wait_completed #2'];
    const results = await Promise.allSettled([
      fixtures.startStep(h.world, runId, s1.stepId).then((r) => r.res),
      fixtures.completeStep(h.world, runId, s1.stepId, fixtures.payload('c')),
      h.world.events.create(runId, {
        eventType: 'step_created',
        correlationId: s2.stepId,
        eventData: { stepName: fixtures.STEP_NAME, input: fixtures.payload('dup') },
      }),
      fixtures.completeWait(h.world, runId, w.correlationId, w.resumeAt),
      fixtures.completeWait(h.world, runId, w.correlationId, w.resumeAt),
    ]);
    const log = await fixtures.listAllEvents(h.world, runId);
    const logIds = log.map((e) => e.eventId);
    assert.deepEqual(logIds.slice(0, before.length), before, 'existing events unchanged');
    const fresh = logIds.slice(before.length);
    const winners = [];
    for (const [i, r] of results.entries()) {
      if (r.status === 'fulfilled') {
        assert.equal(
          logIds.filter((id) => id === r.value.event.eventId).length,
          1,
          `${labels[i]}: winner event logged exactly once`,
        );
        winners.push(r.value.event.eventId);
      } else {
        assert.equal(
          r.reason?.name,
          'EntityConflictError',
          `trial ${trial} ${labels[i]}: ${r.reason?.name} ${r.reason?.message}`,
        );
      }
    }
    assert.deepEqual([...fresh].sort(), [...winners].sort(), 'the log grew by exactly the winners');
    assert.equal(results[1].status, 'fulfilled', 'step_completed on a running step always wins');
    assert.equal(results[2].status, 'rejected', 'the duplicate step_created always loses');
    assert.equal([results[3], results[4]].filter((r) => r.status === 'fulfilled').length, 1, 'one wait_completed wins');
    const types = fixtures.typesOf(log.filter((e) => e.correlationId === s1.stepId));
    assert.ok(types.lastIndexOf('step_started') < types.indexOf('step_completed'), `step order: ${types}`);
    const step = await h.world.steps.get(runId, s1.stepId);
    assert.equal(step.status, 'completed');
    assert.equal(step.attempt, results[0].status === 'fulfilled' ? 2 : 1);
  }
});

// The createQueueHandler half of §8.150 belongs to the Queue (issue 3) and is proven in its tests.
test('§8.150 createWorld without bindings or env constructs synchronously; specVersion is usable immediately', () => {
  for (const make of [() => createWorld({}), () => createWorld()]) {
    let w;
    assert.doesNotThrow(() => {
      w = make();
    });
    assert.ok(w && typeof w === 'object');
    assert.equal(typeof w.then, 'undefined', 'construction is synchronous (not a Promise)');
    assert.equal(w.specVersion, 3);
  }
});

test('§8.150 a storage call on a World without bindings rejects with a clear error; bindings are read lazily', async () => {
  for (const make of [() => createWorld({}), () => createWorld()]) {
    const w = make();
    let p;
    assert.doesNotThrow(() => {
      p = w.runs.get(fixtures.newRunId());
    }, 'a storage call must not throw synchronously');
    assert.equal(typeof p?.then, 'function', 'a storage call returns a Promise');
    const err = await p.then(
      () => assert.fail('runs.get without a DB binding must reject'),
      (e) => e,
    );
    assert.ok(err instanceof Error, 'rejects with an Error');
    assert.notEqual(err.name, 'TypeError', `not a crash-style TypeError: ${err.message}`);
    assert.match(err.message, /\bDB\b|D1|binding/i, `message should name the missing binding: ${err.message}`);
    await assert.rejects(() => w.events.create(fixtures.newRunId(), { eventType: 'run_started' }));
    await assert.rejects(() => w.events.list({ runId: fixtures.newRunId() }));
  }
  // Bindings are read when used, not when constructed: an env filled in later works.
  const env = {};
  const lazy = createWorld(env);
  Object.assign(env, h.env);
  const { res } = await fixtures.createRun(lazy);
  assert.equal(res.run.status, 'pending');
  assert.equal((await h.world.runs.get(res.run.runId)).runId, res.run.runId);
});
