// End to end inside the Worker, every area of upstream's suite (vercel/workflow
// packages/core/e2e, which is how upstream lists a community World): the suite's app
// (tests/e2e-worker/app, workflow 5.0.0-beta.55 on QuickJS) in local workerd, driven over
// HTTP. Steps and combinators, sleeps, retries and errors, hooks and webhooks, streams,
// fetch (against a stub server on this machine), metadata, attributes and cancellation.
// Concurrency (races with sleeps, aborts, children, recursion, forwarded streams) is
// tests/e2e-worker/concurrency.test.mjs; encryption inside the Worker is
// tests/e2e-worker/reliability.test.mjs (V104, V105). Skipped, because a Worker is not the
// framework they need: upstream's Next.js pages and API-route cases.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startWorkerApp } from '../../examples/worker/app.mjs';
import { buildWorkerApp, E2E_APP, eventually, logOf } from '../support/example-worker.mjs';

let app;
let stub;
before(async () => {
  app = await startWorkerApp({ root: buildWorkerApp(E2E_APP), name: 'world-cloudflare-e2e-app' });
  // What the workflows fetch: a JSON answer, and one that never comes in time.
  stub = http.createServer((request, response) => {
    if (request.url === '/todo') {
      response.setHeader('content-type', 'application/json');
      return response.end(JSON.stringify({ id: 1, title: 'from the stub' }));
    }
    if (request.url === '/slow') {
      const late = setTimeout(() => response.end('late'), 30_000);
      return request.on('close', () => clearTimeout(late));
    }
    response.statusCode = 404;
    response.end();
  });
  await new Promise((resolve) => stub.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  stub?.close();
  await app?.close();
});

const stubUrl = (path) => `http://127.0.0.1:${stub.address().port}${path}`;

async function call(method, pathname, body) {
  const response = await app.fetch(pathname, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: response.status, text: await response.text() };
}

async function start(workflow, args = [], extra = {}) {
  const { status, text } = await call('POST', `/runs/${workflow}`, { args, ...extra });
  assert.equal(status, 201, text);
  return JSON.parse(text).runId;
}

/** Waits for the run to end: `{status, result}` or `{status, error: {name, message, errorCode, cause}}`. */
async function outcome(runId, timeoutMs = 60_000) {
  await app.settle(runId, { timeoutMs });
  return JSON.parse((await call('GET', `/runs/${runId}/outcome`)).text);
}

const run = async (workflow, args, extra) => outcome(await start(workflow, args, extra));

/** The run's stream as JSON lines (`{bytes}` for byte chunks). */
async function streamOf(runId, query = '') {
  const { status, text } = await call('GET', `/runs/${runId}/stream${query}`);
  assert.equal(status, 200, text);
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

const hookFor = (token) => call('GET', `/hooks/${encodeURIComponent(token)}`);
const resume = (token, payload) => call('POST', `/hooks/${encodeURIComponent(token)}`, payload);
const waitForHook = (token) => eventually(`the hook ${token}`, async () => (await hookFor(token)).status === 200);
const newToken = (what) => `${what}-${crypto.randomUUID()}`;

/** The 1-based line of the app's `file` that holds `text`. */
function sourceLine(file, text) {
  const lines = readFileSync(path.join(E2E_APP, file), 'utf8').split('\n');
  const index = lines.findIndex((line) => line.includes(text));
  assert.ok(index >= 0, `${file} has no line with ${text}`);
  return index + 1;
}

describe('steps', () => {
  test('three sequential steps', async () => {
    assert.deepEqual(await run('addTen', [123]), { status: 'completed', result: 133 });
  });

  test('Promise.all, Promise.race and Promise.any over steps, the failing one ignored by any', async () => {
    assert.deepEqual(await run('combinators'), {
      status: 'completed',
      result: { all: 'ABC', race: 'FAST', any: 'SECOND' },
    });
  });
});

test('sleeps: by duration, until a date, and five at once take about one sleep', async () => {
  const { status, result } = await run('sleeps', [1_000]);
  assert.equal(status, 'completed');
  assert.ok(result.slept >= 1_000, `slept ${result.slept} ms`);
  assert.ok(result.untilDate >= 900, `until a date ${result.untilDate} ms`);
  assert.ok(result.parallel >= 1_000 && result.parallel < 5_000, `five parallel 1 s sleeps took ${result.parallel} ms`);
});

describe('retries and errors', () => {
  test('a plain error retries until the third attempt; a RetryableError waits its delay; maxRetries 0 fails at once', async () => {
    const { status, result } = await run('retries', [2_000]);
    assert.equal(status, 'completed');
    assert.equal(result.third, 3);
    assert.equal(result.later.attempt, 2);
    assert.ok(result.later.waited >= 1_900, `the retry waited ${result.later.waited} ms of its 2 s`);
    assert.match(result.once, /failed after 0 retries: never works/);
  });

  test('an uncaught FatalError fails the run with USER_ERROR after one attempt', async () => {
    const runId = await start('fatalStep');
    const { status, error } = await outcome(runId);
    assert.equal(status, 'failed');
    assert.equal(error.name, 'WorkflowRunFailedError');
    assert.equal(error.errorCode, 'USER_ERROR');
    assert.deepEqual([error.cause.name, error.cause.message], ['FatalError', 'fatal step error']);
    const steps = await app.world.steps.list({ runId, resolveData: 'all' });
    assert.deepEqual(
      steps.data.map((s) => [s.status, s.attempt]),
      [['failed', 1]],
    );
    // The stored stack points at the throw in the workflow's source, not into the bundle
    // (js/runtime/stack-trace.js). A 5.x step error is stored serialized, as bytes.
    const stored = new TextDecoder().decode(new Uint8Array(Object.values(steps.data[0].error)));
    const line = sourceLine('workflows/areas.ts', 'throw new FatalError(message);');
    assert.match(stored, new RegExp(`at fatal \\(workflows/areas\\.ts:${line}:\\d+\\)`), stored);
  });

  test('a FatalError caught by the workflow; an error thrown by the workflow fails its run', async () => {
    assert.deepEqual(await run('caughtFatal'), {
      status: 'completed',
      result: { caught: true, isFatal: true, message: 'caught' },
    });
    const { status, error } = await run('workflowThrows', ['boom']);
    assert.equal(status, 'failed');
    assert.equal(error.errorCode, 'USER_ERROR');
    assert.deepEqual([error.cause.name, error.cause.message], ['Error', 'boom']);
  });

  test('a step return value that cannot be serialized is a SerializationError the workflow can catch', async () => {
    const { status, result } = await run('unserializable');
    assert.equal(status, 'completed');
    assert.equal(result.name, 'SerializationError');
    assert.match(result.message, /Failed to serialize step return value/);
  });
});

describe('hooks and webhooks', () => {
  test('a hook with its token and metadata, resumed until a payload says done', async () => {
    const token = newToken('loop');
    const runId = await start('hookLoop', [token]);
    await waitForHook(token);
    const hook = JSON.parse((await hookFor(token)).text);
    assert.deepEqual(hook, { runId, metadata: { purpose: 'loop' } });
    // Not a webhook: its token is not served over HTTP.
    assert.equal((await call('POST', `/.well-known/workflow/v1/webhook/${token}`, {})).status, 404);
    for (const message of ['one', 'two']) assert.equal((await resume(token, { message })).status, 200);
    await resume(token, { message: 'three', done: true });
    assert.deepEqual(await outcome(runId), { status: 'completed', result: ['one', 'two', 'three'] });
    assert.equal((await hookFor(token)).status, 404, 'disposed with its run');
  });

  test('webhooks answer with the default 202, a static response, or the one a step writes', async () => {
    const runId = await start('webhooks');
    const hooks = await eventually('three webhooks', async () => {
      const page = await app.world.hooks.list({ runId, pagination: { sortOrder: 'asc' } });
      return page.data.length === 3 && page.data;
    });
    const post = async (hook, body) => {
      const response = await app.fetch(`/.well-known/workflow/v1/webhook/${encodeURIComponent(hook.token)}`, {
        method: 'POST',
        body,
      });
      return [response.status, await response.text()];
    };
    assert.deepEqual(await post(hooks[0], 'first'), [202, '']);
    assert.deepEqual(await post(hooks[1], 'second'), [402, 'fixed answer']);
    assert.deepEqual(await post(hooks[2], 'third'), [200, 'answered third']);
    assert.deepEqual(await outcome(runId), {
      status: 'completed',
      result: [
        { method: 'POST', body: 'first' },
        { method: 'POST', body: 'second' },
        { method: 'POST', body: 'third' },
      ],
    });
  });

  test('a second run on a held token fails with HookConflictError naming the owner; the owner goes on', async () => {
    const token = newToken('owner');
    const owner = await start('hookOwner', [token]);
    await waitForHook(token);
    const { status, error } = await run('hookOwner', [token]);
    assert.equal(status, 'failed');
    assert.equal(error.name, 'WorkflowRunFailedError');
    assert.equal(error.cause.name, 'HookConflictError');
    assert.match(error.cause.message, /already in use by another workflow/);
    assert.equal(error.cause.conflictingRunId, owner);
    await resume(token, { value: 'for the owner' });
    assert.deepEqual(await outcome(owner), { status: 'completed', result: 'for the owner' });
  });

  test('a hook with a minimum retention keeps its token past its run: readable, not resumable, held', async () => {
    const token = newToken('retained');
    const owner = await start('retainedHook', [token, 60_000]);
    assert.deepEqual(await outcome(owner), { status: 'completed', result: { role: 'owner' } });
    assert.equal(JSON.parse((await hookFor(token)).text).runId, owner, 'the ended run still holds it');
    const resumed = await resume(token, { late: true });
    assert.notEqual(resumed.status, 200);
    assert.match(resumed.text, /HookNotFoundError/);
    assert.deepEqual(await run('retainedHook', [token, 60_000]), {
      status: 'completed',
      result: { role: 'duplicate', ownerRunId: owner, ownerStatus: 'completed' },
    });
  });

  test('a hook disposed while its run sleeps frees its token for another run at once', async () => {
    const token = newToken('dispose');
    const first = await start('disposeEarly', [token]);
    await waitForHook(token);
    await resume(token, { n: 1 });
    await eventually('the token free', async () => (await hookFor(token)).status === 404);
    const second = await start('disposeEarly', [token]);
    await eventually('the second run holds it', async () => JSON.parse((await hookFor(token)).text).runId === second);
    await resume(token, { n: 2 });
    assert.deepEqual(await outcome(first), { status: 'completed', result: { n: 1, disposed: true } });
    assert.deepEqual(await outcome(second), { status: 'completed', result: { n: 2, disposed: true } });
  });
});

describe('streams', () => {
  test('the default and a named stream: bytes and objects in order, from a start index, and their tail', async () => {
    const runId = await start('twoStreams');
    assert.deepEqual(await outcome(runId), { status: 'completed', result: 'done' });
    assert.deepEqual(await streamOf(runId), [{ bytes: 'bytes on main' }, { on: 'main' }]);
    assert.deepEqual(await streamOf(runId, '?namespace=named'), [{ bytes: 'bytes on named' }, { on: 'named' }]);
    assert.deepEqual(await streamOf(runId, '?startIndex=1'), [{ on: 'main' }]);
    assert.deepEqual(await streamOf(runId, '?startIndex=-1'), [{ on: 'main' }]);
    assert.deepEqual(JSON.parse((await call('GET', `/runs/${runId}/tail`)).text), { tailIndex: 1 });
    assert.deepEqual(JSON.parse((await call('GET', `/runs/${runId}/tail?namespace=none`)).text), { tailIndex: -1 });
  });

  test('a step takes a named stream itself and writes UTF-8 text of every script, byte-exact', async () => {
    const texts = ['Hello, world!', 'Café — naïve résumé', '你好，世界！🌍✨', 'مرحبا بالعالم'];
    const runId = await start('utf8Stream', [texts]);
    assert.deepEqual(await outcome(runId), { status: 'completed', result: 4 });
    assert.deepEqual(
      await streamOf(runId, '?namespace=utf8'),
      texts.map((bytes) => ({ bytes })),
    );
  });

  test('a ReadableStream a step returns is the run return value, read to its end', async () => {
    const runId = await start('returnsStream', [6]);
    await app.settle(runId);
    assert.equal((await call('GET', `/runs/${runId}/returned`)).text, '0\n1\n2\n3\n4\n5\n');
  });
});

describe('fetch', () => {
  test("the workflow's fetch (a standard-library step) reaches a server", async () => {
    assert.deepEqual(await run('fetches', [stubUrl('/todo')]), {
      status: 'completed',
      result: { status: 200, body: { id: 1, title: 'from the stub' } },
    });
  });

  test('an in-flight fetch in a step is aborted by the workflow after a sleep, as an AbortError', async () => {
    const { status, result } = await run('abortFetch', [stubUrl('/slow'), 1_500]);
    assert.equal(status, 'completed');
    assert.equal(result.first, 'timeout');
    assert.equal(result.fetch.aborted, true, JSON.stringify(result.fetch));
    assert.ok(result.fetch.ms < 10_000, `aborted after ${result.fetch.ms} ms, not after the 30 s answer`);
  });
});

test('metadata: the workflow and its step see the same run; the step sees its own id, name and attempt', async () => {
  const runId = await start('metadata');
  const { status, result } = await outcome(runId);
  assert.equal(status, 'completed');
  assert.equal(result.workflow.runId, runId);
  assert.match(result.workflow.name, /\/\/metadata$/);
  assert.equal(typeof result.workflow.url, 'string');
  assert.equal(typeof result.workflow.encryption, 'boolean');
  assert.deepEqual(result.inStep.workflow, {
    runId,
    name: result.workflow.name,
    url: result.workflow.url,
  });
  assert.match(result.inStep.step.stepName, /\/\/stepMetadata$/);
  assert.match(result.inStep.step.stepId, /^step_/);
  assert.equal(result.inStep.step.attempt, 1);
  assert.ok(result.inStep.step.startedAt >= result.workflow.startedAt);
});

describe('attributes', () => {
  test('attributes from start(), the workflow (one removed again) and a step, with their writers', async () => {
    const runId = await start('attributes', [9], { attributes: { sourceAtStart: 'api' } });
    assert.deepEqual(await outcome(runId), { status: 'completed', result: 36 });
    assert.deepEqual((await app.world.runs.get(runId, { resolveData: 'none' })).attributes, {
      sourceAtStart: 'api',
      phase: 'step-done',
      source: 'step-body',
      input: '9',
    });
    const writers = (await logOf(app.world, runId))
      .filter((e) => e.eventType === 'attr_set')
      .map((e) => e.eventData.writer.type);
    assert.deepEqual(writers, ['workflow', 'workflow', 'step', 'step']);
  });

  test('refused attributes are FatalErrors the workflow can catch, named for what was wrong', async () => {
    const runId = await start('badAttributes');
    const { status, result } = await outcome(runId);
    assert.equal(status, 'completed');
    assert.equal(result.length, 4);
    for (const refusal of result) assert.match(refusal, /^FatalError: /);
    assert.match(result[0], /reserved prefix/);
    assert.match(result[1], /must not be empty/);
    assert.match(result[2], /key length 257 exceeds limit 256/);
    assert.match(result[3], /byte length 257 exceeds limit 256/);
    assert.deepEqual((await app.world.runs.get(runId, { resolveData: 'none' })).attributes, { phase: 'validated' });
  });
});

test('cancellation: a sleeping run cancelled ends cancelled, and its returnValue throws WorkflowRunCancelledError', async () => {
  const runId = await start('sleepsLong');
  await eventually('the sleep', async () =>
    (await logOf(app.world, runId)).some((e) => e.eventType === 'wait_created'),
  );
  assert.equal((await call('POST', `/runs/${runId}/cancel`)).status, 200);
  const { status, error } = await outcome(runId);
  assert.equal(status, 'cancelled');
  assert.equal(error.name, 'WorkflowRunCancelledError');
  assert.equal((await logOf(app.world, runId)).at(-1).eventType, 'run_cancelled');
});
