// Shared fixtures for the Storage conformance suite (contract §2–§4, checklist §8).
// Every helper takes the World under test explicitly, so a test file can run
// them against `h.world` (the round-trip-counting World of tests/support/harness.mjs).
// Tests isolate themselves by using fresh ids (runs, steps, hooks, waits, tokens)
// rather than by resetting the database.

import assert from 'node:assert/strict';
import { decodeTime, monotonicFactory, ulid } from 'ulid';

export { decodeTime, ulid };

export const SPEC_CURRENT = 3;
export const WORKFLOW_NAME = 'workflow//./src/workflows/conformance//testFlow';
export const STEP_NAME = 'step//./src/workflows/conformance//testStep';
export const DEPLOYMENT_ID = 'dpl_conformance';
export const TERMINAL_RUN_STATUSES = ['completed', 'failed', 'cancelled'];

// Crockford base32 ULID, uppercase as produced by the `ulid` package.
export const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;
export const RUN_ID_RE = /^wrun_[0-9A-HJKMNP-TV-Z]{26}$/;
export const EVENT_ID_RE = /^wevt_[0-9A-HJKMNP-TV-Z]{26}$/;

// Codes and message prefixes that core reads as a World contract violation (§1.5).
export const CONTRACT_ERROR_CODES = ['PARSE_ERROR', 'SCHEMA_VALIDATION', 'WORLD_CONTRACT_ERROR'];
export const CONTRACT_ERROR_PREFIXES = ['Failed to parse response body for ', 'Schema validation failed for '];

const nextUlid = monotonicFactory();

/** `wrun_<ULID>`; with `timeMs` the ULID embeds that time (for §2.2 window tests). */
export const newRunId = (timeMs) => `wrun_${timeMs === undefined ? nextUlid() : ulid(timeMs)}`;
export const newStepId = () => `step_${nextUlid()}`;
export const newHookId = () => `hook_${nextUlid()}`;
export const newWaitCorrelationId = () => `wait_${nextUlid()}`;
export const newToken = (prefix = 'tok') => `${prefix}-${nextUlid()}`;
export const uniqueName = (prefix = 'workflow//./src/workflows/conformance//wf') => `${prefix}_${nextUlid()}`;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opaque spec ≥ 2 payload: a 4-character format prefix, then bytes including NUL and 0xFF. */
export function payload(tag = 'x') {
  const body = new TextEncoder().encode(String(tag));
  return new Uint8Array([0x64, 0x65, 0x76, 0x6c, 0x00, ...body, 0x00, 0xff, 0x80, 0x00]);
}

export function bytesOf(...values) {
  return new Uint8Array(values);
}

// ---------------------------------------------------------------------------
// Assertions

/** Asserts `actual` is a real Uint8Array with exactly the bytes of `expected`. */
export function assertBytes(actual, expected, message = 'bytes') {
  assert.ok(actual instanceof Uint8Array, `${message}: expected a Uint8Array, got ${describe(actual)}`);
  assert.deepEqual(Array.from(actual), Array.from(expected), `${message}: bytes differ`);
}

/** Asserts `actual` is a real Date (optionally with the given epoch ms). */
export function assertDate(actual, expectedMs, message = 'date') {
  assert.ok(actual instanceof Date, `${message}: expected a Date, got ${describe(actual)}`);
  assert.ok(!Number.isNaN(actual.getTime()), `${message}: invalid Date`);
  if (expectedMs !== undefined) {
    const ms = expectedMs instanceof Date ? expectedMs.getTime() : expectedMs;
    assert.equal(actual.getTime(), ms, `${message}: wrong time`);
  }
}

function describe(v) {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  return `${typeof v} ${v?.constructor?.name ?? ''}`.trim();
}

/**
 * Awaits `promiseOrFn` and asserts it rejects with an Error whose `name` is `name`.
 * Options: `message` (exact string or RegExp), `props` (own properties that must
 * strictly equal the given values). Returns the error.
 */
export async function expectReject(promiseOrFn, name, { message, props } = {}) {
  let err;
  let settled = false;
  try {
    const p = typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn;
    const value = await p;
    settled = true;
    assert.fail(`expected rejection with ${name}, but it resolved with ${safeJson(value)}`);
  } catch (e) {
    if (settled) throw e;
    err = e;
  }
  assert.ok(err instanceof Error, `expected an Error instance, got ${describe(err)}: ${safeJson(err)}`);
  assert.equal(err.name, name, `expected error name ${name}, got ${err.name}: ${err.message}`);
  if (typeof message === 'string') assert.equal(err.message, message);
  else if (message instanceof RegExp) assert.match(err.message, message);
  for (const [k, v] of Object.entries(props ?? {})) {
    assert.equal(err[k], v, `error.${k}`);
  }
  return err;
}

export function safeJson(v) {
  try {
    return JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? `<bytes ${x.length}>` : x))?.slice(0, 500);
  } catch {
    return String(v);
  }
}

/** Keys of `obj` whose value is not undefined, sorted. */
export function definedKeys(obj) {
  return Object.keys(obj ?? {})
    .filter((k) => obj[k] !== undefined)
    .sort();
}

/**
 * Structural normal form for deep comparison: Uint8Array → {$bytes:[...]},
 * Date → {$date: ms}, undefined-valued keys dropped (absent ≡ undefined, §0.3).
 */
export function normalize(v) {
  if (v instanceof Uint8Array) return { $bytes: Array.from(v) };
  if (v instanceof Date) return { $date: v.getTime() };
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v).sort()) if (v[k] !== undefined) out[k] = normalize(v[k]);
    return out;
  }
  return v;
}

export function assertSameData(actual, expected, message) {
  assert.deepStrictEqual(normalize(actual), normalize(expected), message);
}

// ---------------------------------------------------------------------------
// Requests

/** A run_created request; the 5.x fields (`attributes`, …) are sent only when given. */
export function runCreatedEvent({
  workflowName = WORKFLOW_NAME,
  deploymentId = DEPLOYMENT_ID,
  input = payload('run-input'),
  specVersion,
  ...optional
} = {}) {
  const eventData = { deploymentId, workflowName, input };
  for (const key of ['executionContext', 'attributes', 'allowReservedAttributes', 'encryptionPublicKey']) {
    if (optional[key] !== undefined) eventData[key] = optional[key];
  }
  const data = { eventType: 'run_created', eventData };
  if (specVersion !== undefined) data.specVersion = specVersion;
  return data;
}

// ---------------------------------------------------------------------------
// Builders (each returns what the test needs next)

export async function createRun(world, opts = {}) {
  const runId = opts.runId ?? newRunId();
  const res = await world.events.create(runId, runCreatedEvent(opts));
  return { runId, res, run: res.run };
}

export async function startRun(world, runId) {
  const res = await world.events.create(runId, { eventType: 'run_started' });
  return { runId, res, run: res.run };
}

export async function createRunningRun(world, opts = {}) {
  const { runId } = await createRun(world, opts);
  return startRun(world, runId);
}

/** Moves a run to a terminal status through the matching run_* event. */
export async function terminateRun(world, runId, status = 'completed') {
  if (status === 'completed') {
    return world.events.create(runId, { eventType: 'run_completed', eventData: { output: payload('run-output') } });
  }
  if (status === 'failed') {
    return world.events.create(runId, {
      eventType: 'run_failed',
      eventData: { error: { message: 'run failed on purpose' }, errorCode: 'USER_ERROR' },
    });
  }
  if (status === 'cancelled') return world.events.create(runId, { eventType: 'run_cancelled' });
  throw new Error(`unknown terminal status ${status}`);
}

/** A step_created request (the step's input is `payload('i')` unless given). */
export function stepCreatedEvent(stepId = newStepId(), input = payload('i')) {
  return { eventType: 'step_created', correlationId: stepId, eventData: { stepName: STEP_NAME, input } };
}

export async function createStep(
  world,
  runId,
  { stepId = newStepId(), stepName = STEP_NAME, input = payload('step-input') } = {},
) {
  const res = await world.events.create(runId, {
    eventType: 'step_created',
    correlationId: stepId,
    eventData: { stepName, input },
  });
  return { stepId, res, step: res.step };
}

export async function startStep(world, runId, stepId, stepName = STEP_NAME) {
  const res = await world.events.create(runId, {
    eventType: 'step_started',
    correlationId: stepId,
    eventData: { stepName },
  });
  return { stepId, res, step: res.step };
}

export async function createRunningStep(world, runId, opts = {}) {
  const { stepId } = await createStep(world, runId, opts);
  return startStep(world, runId, stepId, opts.stepName);
}

export function completeStep(world, runId, stepId, result = payload('step-result'), stepName = STEP_NAME) {
  return world.events.create(runId, {
    eventType: 'step_completed',
    correlationId: stepId,
    eventData: { stepName, result },
  });
}

export function failStep(world, runId, stepId, error = 'step failed', stack = 'StepStack', stepName = STEP_NAME) {
  return world.events.create(runId, {
    eventType: 'step_failed',
    correlationId: stepId,
    eventData: { stepName, error, stack },
  });
}

export function retryStep(world, runId, stepId, { error = 'retry me', stack, retryAfter, stepName = STEP_NAME } = {}) {
  const eventData = { stepName, error };
  if (stack !== undefined) eventData.stack = stack;
  if (retryAfter !== undefined) eventData.retryAfter = retryAfter;
  return world.events.create(runId, { eventType: 'step_retrying', correlationId: stepId, eventData });
}

/**
 * hook_created's eventData from createHook's options (both lines): `metadata` defaults to
 * `defaultMetadata`, `isWebhook` to false; each of `metadata`, `isWebhook`, `isSystem` and
 * `tokenRetentionUntil` passed as `undefined` is left out of the request.
 */
export function hookCreatedData(token, opts, defaultMetadata) {
  const eventData = { token };
  const metadata = 'metadata' in opts ? opts.metadata : defaultMetadata;
  const isWebhook = 'isWebhook' in opts ? opts.isWebhook : false;
  if (metadata !== undefined) eventData.metadata = metadata;
  if (isWebhook !== undefined) eventData.isWebhook = isWebhook;
  if (opts.isSystem !== undefined) eventData.isSystem = opts.isSystem;
  if (opts.tokenRetentionUntil !== undefined) eventData.tokenRetentionUntil = opts.tokenRetentionUntil;
  return eventData;
}

/** Options as hookCreatedData takes them, and `hookId`, `token`. */
export async function createHook(world, runId, opts = {}) {
  const hookId = opts.hookId ?? newHookId();
  const token = opts.token ?? newToken();
  const eventData = hookCreatedData(token, opts, payload('hook-meta'));
  const res = await world.events.create(runId, { eventType: 'hook_created', correlationId: hookId, eventData });
  return { hookId, token, res, hook: res.hook };
}

export function receiveHook(world, runId, hookId, token, body = payload('hook-payload')) {
  return world.events.create(runId, {
    eventType: 'hook_received',
    correlationId: hookId,
    eventData: { token, payload: body },
  });
}

export function disposeHook(world, runId, hookId, token) {
  const data = { eventType: 'hook_disposed', correlationId: hookId };
  if (token !== undefined) data.eventData = { token };
  return world.events.create(runId, data);
}

export async function createWait(
  world,
  runId,
  { correlationId = newWaitCorrelationId(), resumeAt = new Date(Date.now() + 60_000) } = {},
) {
  const res = await world.events.create(runId, { eventType: 'wait_created', correlationId, eventData: { resumeAt } });
  return { correlationId, resumeAt, res, wait: res.wait };
}

export function completeWait(world, runId, correlationId, resumeAt) {
  const data = { eventType: 'wait_completed', correlationId };
  if (resumeAt !== undefined) data.eventData = { resumeAt };
  return world.events.create(runId, data);
}

// ---------------------------------------------------------------------------
// Reads

/**
 * Every event of a run, ascending, following cursors while `hasMore`. Asserts the paging
 * contract as it goes (a `hasMore` page needs a fresh non-null cursor, docs/world-contract.md §4.3).
 */
export async function listAllEvents(world, runId, { resolveData, limit } = {}) {
  const all = [];
  const seen = new Set();
  let cursor;
  for (let page = 0; page < 10_000; page++) {
    const pagination = {};
    if (cursor !== undefined) pagination.cursor = cursor;
    if (limit !== undefined) pagination.limit = limit;
    const params = { runId, pagination };
    if (resolveData !== undefined) params.resolveData = resolveData;
    const res = await world.events.list(params);
    all.push(...res.data);
    if (!res.hasMore) return all;
    assert.ok(typeof res.cursor === 'string' && res.cursor.length > 0, 'hasMore page needs a cursor');
    assert.ok(!seen.has(res.cursor), 'events.list repeated a cursor');
    seen.add(res.cursor);
    cursor = res.cursor;
  }
  throw new Error('events.list did not terminate');
}

export const typesOf = (events) => events.map((e) => e.eventType);
export const idsOf = (events) => events.map((e) => e.eventId);

export async function countEvents(world, runId) {
  return (await listAllEvents(world, runId)).length;
}

/** Runs `fn` and asserts the run's log is unchanged afterwards (same eventIds). */
export async function assertNothingAppended(world, runId, fn) {
  const before = idsOf(await listAllEvents(world, runId));
  const out = await fn();
  const after = idsOf(await listAllEvents(world, runId));
  assert.deepEqual(after, before, `events were appended to ${runId} by a rejected call`);
  return out;
}

/** Collects every page of a paginated read (`call(pagination)` → PaginatedResponse). */
export async function collectPages(call, limit) {
  const out = [];
  let cursor;
  for (let i = 0; i < 10_000; i++) {
    const pagination = {};
    if (limit !== undefined) pagination.limit = limit;
    if (cursor !== undefined) pagination.cursor = cursor;
    const res = await call(pagination);
    out.push(...res.data);
    if (!res.hasMore) return out;
    assert.ok(res.cursor, 'hasMore page needs a cursor');
    cursor = res.cursor;
  }
  throw new Error('pagination did not terminate');
}

// ---------------------------------------------------------------------------
// Seeding (raw D1, for states the API cannot produce). Payload columns stay NULL.

export async function seedRun(
  DB,
  { runId = newRunId(), status = 'pending', specVersion = null, workflowName = WORKFLOW_NAME } = {},
) {
  const now = Date.now();
  await DB.prepare(
    `INSERT INTO runs (run_id, status, deployment_id, workflow_name, spec_version, created_at, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)`,
  )
    .bind(runId, status, DEPLOYMENT_ID, workflowName, specVersion, now)
    .run();
  return runId;
}

export async function seedStep(
  DB,
  runId,
  { stepId = newStepId(), status = 'running', attempt = 1, specVersion = 3 } = {},
) {
  const now = Date.now();
  await DB.prepare(
    `INSERT INTO steps (run_id, step_id, step_name, status, attempt, started_at, created_at, updated_at, spec_version)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6, ?7)`,
  )
    .bind(runId, stepId, STEP_NAME, status, attempt, now, specVersion)
    .run();
  return stepId;
}

export async function seedHook(DB, runId, { hookId = newHookId(), token = newToken('seeded'), specVersion = 1 } = {}) {
  await DB.prepare(
    `INSERT INTO hooks (hook_id, run_id, token, is_webhook, owner_id, project_id, environment, created_at, spec_version)
     VALUES (?1, ?2, ?3, 1, '', '', '', ?4, ?5)`,
  )
    .bind(hookId, runId, token, Date.now(), specVersion)
    .run();
  return { hookId, token };
}
