// Shared fixtures for the spec-7 (workflow 5.x) Storage conformance suite
// (tests/conformance-v5/: items V6–V81, V98–V102 and V111–V113 of the 5.x checklist, mapped in
// docs/conformance-v5.md).
//
// One suite, two Worlds under test, chosen by the V5_WORLD environment variable:
//
//   V5_WORLD unset / 'cloudflare'  this repo's World: createWorld({ ...h.env, DB: h.db }, { specVersion: 7 })
//                                  from js/node.js on local workerd (tests/support/harness.mjs),
//                                  or with TEST_WORLD=remote the World over HTTP (js/remote.js)
//   V5_WORLD=local                 the reference, @workflow/world-local 5.0.0-beta.46
//                                  (npm alias @workflow/world-local-v5) in a fresh temp dir
//
//   const v = useWorldV5();            // at a test file's top level
//   test('…', async () => { await v.world.events.create(…); v.kind; v.h?.env.DB; });
//   test('…', localDivergence('V39 (§11.1): world-local stores an orphan event'), async () => { … });
//
// Tests isolate themselves with fresh ids (runs, steps, hooks, waits, tokens, streams), never by
// resetting storage. Generic assertions (bytes, Dates, named rejections) come from the 4.x
// fixtures in ./storage.mjs; everything shaped by spec 7 (slot ids, byte errors, attributes,
// lazy starts, resume ids) is here.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { decodeTime, monotonicFactory, ulid } from 'ulid';
import { useHarness } from './harness.mjs';
import {
  runCreatedEvent as anyLineRunCreatedEvent,
  expectReject,
  hookCreatedData,
  idsOf,
  payload,
  safeJson,
  sleep,
} from './storage.mjs';

export {
  assertBytes,
  assertDate,
  assertNothingAppended,
  assertSameData,
  bytesOf,
  countEvents,
  definedKeys,
  expectReject,
  idsOf,
  listAllEvents,
  normalize,
  payload,
  safeJson,
  sleep,
  typesOf,
} from './storage.mjs';
export { decodeTime, ulid };

// ---------------------------------------------------------------------------
// Which World

const KINDS = ['cloudflare', 'local'];

/** 'cloudflare' (default) or 'local', from V5_WORLD. */
export const WORLD_KIND = (() => {
  const raw = process.env.V5_WORLD;
  const kind = raw === undefined || raw === '' ? 'cloudflare' : raw;
  if (!KINDS.includes(kind))
    throw new Error(`V5_WORLD must be one of ${KINDS.join(', ')} (got ${JSON.stringify(raw)})`);
  return kind;
})();

/**
 * The World under test of a test file, started before its tests and released after them.
 * Returns a view whose `world`, `kind` and (cloudflare only) `h` are readable once the file's
 * `before` hooks have run; `h` is the harness of tests/support/harness.mjs (`h.env.DB` is the raw
 * D1 binding for white-box checks, `h.db` the round-trip-counting wrapper the World uses).
 *
 * @param {{ vars?: Record<string, string> }} [options] wrangler [vars] overrides (cloudflare only)
 */
export function useWorldV5({ vars } = {}) {
  const state = { kind: WORLD_KIND, world: undefined, h: undefined };
  if (WORLD_KIND === 'cloudflare') {
    useHarness({
      specVersion: 7,
      ...(vars ? { vars } : {}),
      setup: (h) => {
        state.h = h;
        state.world = h.world;
      },
    });
  } else {
    let dataDir;
    before(async () => {
      dataDir = await mkdtemp(path.join(os.tmpdir(), 'conformance-v5-local-'));
      const { createWorld: createLocalWorld } = await import('@workflow/world-local-v5');
      const world = createLocalWorld({ dataDir, recoverActiveRuns: false });
      await world.start?.(); // initialises the data dir; recovery is off
      state.world = world;
    });
    after(async () => {
      try {
        await state.world?.close?.();
      } finally {
        if (dataDir) await rm(dataDir, { recursive: true, force: true });
      }
    });
  }
  return {
    get kind() {
      return state.kind;
    },
    get world() {
      if (!state.world) throw new Error('useWorldV5: world read before the before hooks ran');
      return state.world;
    },
    get h() {
      if (state.kind === 'cloudflare' && !state.h) throw new Error('useWorldV5: h read before the before hooks ran');
      return state.h;
    },
  };
}

/** The `localDivergence` reason of checks that read this World's D1 tables directly. */
export const WHITE_BOX = 'white-box D1 check';

/**
 * `test()` options for a point where world-local 5.0.0-beta.46 is known not to be the model
 * (contract §11.1, or verified and explicit in the document): `{ skip: reason }` against
 * world-local, `{}` against this repo's World, which must pass it. `reason` names the § item.
 *
 * V5_RUN_DIVERGENCES=1 runs them against world-local anyway (white-box checks excepted), to
 * see each one fail there: that is how the divergences listed in docs/conformance-v5.md were
 * confirmed.
 */
export function localDivergence(reason) {
  if (WORLD_KIND !== 'local') return {};
  if (process.env.V5_RUN_DIVERGENCES === '1' && reason !== WHITE_BOX) return {};
  return { skip: reason };
}

// ---------------------------------------------------------------------------
// Constants and ids

export const SPEC = 7;
export const WORKFLOW_NAME = 'workflow//./src/workflows/conformance//testFlow';
export const STEP_NAME = 'step//./src/workflows/conformance//testStep';
export const DEPLOYMENT_ID = 'dpl_conformance_v5';
export const TERMINAL_RUN_STATUSES = ['completed', 'failed', 'cancelled'];

/** A spec ≥ 6 event id: `evnt_` + ten zeros + sixteen decimal digits. */
export const SLOT_ID_RE = /^evnt_0{10}\d{16}$/;
export const RUN_ID_RE = /^wrun_[0-9A-HJKMNP-TV-Z]{26}$/;

/** The event id of slot `n` (1-based): `evnt_` + n zero-padded to 26 digits. */
export const slotId = (n) => `evnt_${String(n).padStart(26, '0')}`;

/** The slot of a slot event id, or null when it is not one. */
export function slotOf(eventId) {
  return typeof eventId === 'string' && SLOT_ID_RE.test(eventId) ? Number(eventId.slice(5)) : null;
}

const nextUlid = monotonicFactory();

/** `wrun_<ULID>`; with `timeMs` the ULID embeds that time. */
export const newRunId = (timeMs) => `wrun_${timeMs === undefined ? nextUlid() : ulid(timeMs)}`;
export const newStepId = () => `step_${nextUlid()}`;
export const newHookId = () => `hook_${nextUlid()}`;
export const newWaitId = () => `wait_${nextUlid()}`;
export const newAttrId = () => `attr_${nextUlid()}`;
export const newToken = (prefix = 'tok') => `${prefix}-${nextUlid()}`;
export const newStreamName = () => `strm_${nextUlid()}`;
export const uniqueName = (prefix = 'workflow//./src/workflows/conformance-v5//wf') => `${prefix}_${nextUlid()}`;

// ---------------------------------------------------------------------------
// Bytes

/** A spec ≥ 6 serialized error (run_failed / step_failed / step_retrying `error`): bytes with 0x00. */
export function errorBytes(tag = 'err') {
  return payload(`error:${tag}`);
}

export const utf8 = (s) => new TextEncoder().encode(s);

// ---------------------------------------------------------------------------
// Result-shape helpers

export const REPORT_KEYS = ['events', 'cursor', 'hasMore'];

/** Which of `events` / `cursor` / `hasMore` a result carries (absent ≡ undefined, §0.3). */
export function reportKeysOf(result) {
  return REPORT_KEYS.filter((k) => result?.[k] !== undefined);
}

/** §2.6: `events`, `cursor` and `hasMore` are all present or all absent. */
export function assertReportTriple(result, label = 'result') {
  const present = reportKeysOf(result);
  assert.ok(
    present.length === 0 || present.length === 3,
    `${label} carries only ${present.join(', ')} of events/cursor/hasMore: ${safeJson(result)}`,
  );
  return present.length === 3;
}

/** Asserts the result carries none of `events` / `cursor` / `hasMore`. */
export function assertNoReport(result, label = 'result') {
  assert.deepEqual(reportKeysOf(result), [], `${label} must not carry events/cursor/hasMore: ${safeJson(result)}`);
}

// ---------------------------------------------------------------------------
// Requests

/** A run_created request (tests/support/storage.mjs), in this line's deployment by default. */
export const runCreatedEvent = (opts = {}) =>
  anyLineRunCreatedEvent({ ...opts, deploymentId: opts.deploymentId ?? DEPLOYMENT_ID });

/** A base64 X25519 public key shape (44 characters); the World never interprets it. */
export const ENCRYPTION_PUBLIC_KEY = Buffer.from(new Uint8Array(32).map((_, i) => i * 7 + 1)).toString('base64');

// ---------------------------------------------------------------------------
// Builders (each returns what the test needs next)

export async function createRun(world, opts = {}) {
  const runId = opts.runId ?? newRunId();
  const res = await world.events.create(runId, runCreatedEvent(opts), opts.params);
  return { runId, res, run: res.run };
}

export async function startRun(world, runId, params) {
  const res = await world.events.create(runId, { eventType: 'run_started' }, params);
  return { runId, res, run: res.run };
}

export async function createRunningRun(world, opts = {}) {
  const { runId } = await createRun(world, opts);
  return startRun(world, runId);
}

/** Moves a run to a terminal status through the matching run_* event (spec-7 shapes). */
export function terminateRun(world, runId, status = 'completed', params) {
  if (status === 'completed') {
    return world.events.create(
      runId,
      { eventType: 'run_completed', eventData: { output: payload('run-output') } },
      params,
    );
  }
  if (status === 'failed') {
    return world.events.create(
      runId,
      { eventType: 'run_failed', eventData: { error: errorBytes('run'), errorCode: 'USER_ERROR' } },
      params,
    );
  }
  if (status === 'cancelled') return world.events.create(runId, { eventType: 'run_cancelled' }, params);
  throw new Error(`unknown terminal status ${status}`);
}

export async function createStep(
  world,
  runId,
  { stepId = newStepId(), stepName = STEP_NAME, input = payload('step-input'), params } = {},
) {
  const res = await world.events.create(
    runId,
    { eventType: 'step_created', correlationId: stepId, eventData: { stepName, input } },
    params,
  );
  return { stepId, res, step: res.step };
}

/** A bare `step_started {stepName}` (no input): the queued-step / retry start. */
export async function startStep(world, runId, stepId, { stepName = STEP_NAME, ownerMessageId, params } = {}) {
  const eventData = { stepName };
  if (ownerMessageId !== undefined) eventData.ownerMessageId = ownerMessageId;
  const res = await world.events.create(runId, { eventType: 'step_started', correlationId: stepId, eventData }, params);
  return { stepId, res, step: res.step };
}

/** A lazy `step_started {stepName, input, workflowName, ownerMessageId}`: creates and starts the step (§4.7). */
export async function lazyStartStep(
  world,
  runId,
  {
    stepId = newStepId(),
    stepName = STEP_NAME,
    input = payload('lazy-input'),
    workflowName = WORKFLOW_NAME,
    ownerMessageId = 'msg_owner',
    params,
  } = {},
) {
  const eventData = { stepName, input, workflowName };
  if (ownerMessageId !== undefined) eventData.ownerMessageId = ownerMessageId;
  const res = await world.events.create(runId, { eventType: 'step_started', correlationId: stepId, eventData }, params);
  return { stepId, res, step: res.step };
}

export async function createRunningStep(world, runId, opts = {}) {
  const { stepId } = await createStep(world, runId, opts);
  return startStep(world, runId, stepId, { stepName: opts.stepName });
}

export function completeStep(world, runId, stepId, { result = payload('step-result'), extra, params } = {}) {
  return world.events.create(
    runId,
    { eventType: 'step_completed', correlationId: stepId, eventData: { stepName: STEP_NAME, result, ...extra } },
    params,
  );
}

export function failStep(world, runId, stepId, { error = errorBytes('step'), params } = {}) {
  return world.events.create(
    runId,
    { eventType: 'step_failed', correlationId: stepId, eventData: { stepName: STEP_NAME, error } },
    params,
  );
}

export function retryStep(world, runId, stepId, { error = errorBytes('retry'), retryAfter, params } = {}) {
  const eventData = { stepName: STEP_NAME, error };
  if (retryAfter !== undefined) eventData.retryAfter = retryAfter;
  return world.events.create(runId, { eventType: 'step_retrying', correlationId: stepId, eventData }, params);
}

/** Options as hookCreatedData (tests/support/storage.mjs) takes them, and `hookId`, `token`, `params`. */
export async function createHook(world, runId, opts = {}) {
  const hookId = opts.hookId ?? newHookId();
  const token = opts.token ?? newToken();
  const eventData = hookCreatedData(token, opts, payload('hook-meta'));
  const res = await world.events.create(
    runId,
    { eventType: 'hook_created', correlationId: hookId, eventData },
    opts.params,
  );
  return { hookId, token, res, hook: res.hook };
}

export function receiveHook(world, runId, hookId, token, { body = payload('hook-payload'), params } = {}) {
  return world.events.create(
    runId,
    { eventType: 'hook_received', correlationId: hookId, eventData: { token, payload: body } },
    params,
  );
}

export function disposeHook(world, runId, hookId, token, params) {
  const data = { eventType: 'hook_disposed', correlationId: hookId };
  if (token !== undefined) data.eventData = { token };
  return world.events.create(runId, data, params);
}

export async function createWait(
  world,
  runId,
  { correlationId = newWaitId(), resumeAt = new Date(Date.now() + 3_600_000), params } = {},
) {
  const res = await world.events.create(
    runId,
    { eventType: 'wait_created', correlationId, eventData: { resumeAt } },
    params,
  );
  return { correlationId, resumeAt, res, wait: res.wait };
}

export function completeWait(world, runId, correlationId, { resumeAt, params } = {}) {
  const data = { eventType: 'wait_completed', correlationId };
  if (resumeAt !== undefined) data.eventData = { resumeAt };
  return world.events.create(runId, data, params);
}

/**
 * `attr_set`. A workflow writer (the default) sends a `correlationId` (`attr_…`); pass
 * `writer: { type: 'step', stepId, attempt }` and `correlationId: null` for a step-body writer.
 */
export function setAttributes(
  world,
  runId,
  changes,
  { correlationId = newAttrId(), writer = { type: 'workflow' }, allowReservedAttributes, params } = {},
) {
  const eventData = { changes, writer };
  if (allowReservedAttributes !== undefined) eventData.allowReservedAttributes = allowReservedAttributes;
  const data = { eventType: 'attr_set', eventData };
  if (correlationId !== null && correlationId !== undefined) data.correlationId = correlationId;
  return world.events.create(runId, data, params);
}

// ---------------------------------------------------------------------------
// Reads

/** Asserts the events are exactly slots 1..N in order (dense, contiguous, §3.2). */
export function assertDense(events, label = 'log') {
  assert.deepEqual(
    idsOf(events),
    events.map((_, i) => slotId(i + 1)),
    `${label} is not slots 1..${events.length}`,
  );
}

/** Asserts the run does not exist: `runs.get` → WorkflowRunNotFoundError and an empty log. */
export async function assertRunAbsent(world, runId) {
  await expectReject(world.runs.get(runId), 'WorkflowRunNotFoundError');
  const page = await world.events.list({ runId });
  assert.deepEqual(page.data, [], `events were stored for ${runId}`);
}

/**
 * Polls `check` (which throws while the condition does not hold) until it passes or
 * `timeoutMs` elapses, then rethrows its last error. For effects the contract allows to land
 * after the call returns (§4.4: the zero-retention purge of steps, events and streams).
 */
export async function eventually(check, { timeoutMs = 5_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() >= deadline) throw err;
      await sleep(intervalMs);
    }
  }
}

// ---------------------------------------------------------------------------
// Streams

/**
 * Reads a stream to its end: resolves with the chunks once it closes, or rejects after
 * `timeoutMs` (never hangs the suite).
 */
export async function readStream(stream, { timeoutMs = 5_000 } = {}) {
  const reader = stream.getReader();
  const chunks = [];
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`stream did not close within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), timeout]);
      if (done) return chunks;
      chunks.push(value);
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
}

/** Every chunk of `streams.getChunks`, following cursors; returns the pages too. */
export async function getAllChunks(world, runId, name, limit) {
  const pages = [];
  let cursor;
  for (let i = 0; i < 10_000; i++) {
    const opts = {};
    if (limit !== undefined) opts.limit = limit;
    if (cursor) opts.cursor = cursor;
    const page = await world.streams.getChunks(runId, name, opts);
    pages.push(page);
    if (!page.hasMore) return { chunks: pages.flatMap((p) => p.data), pages };
    assert.ok(page.cursor, 'a hasMore chunk page needs a cursor');
    cursor = page.cursor;
  }
  throw new Error('getChunks did not terminate');
}
