// The end-to-end suite's workflows for every area upstream's suite covers (tests/e2e-worker/
// suite.test.mjs): steps and their combinators, sleeps, retries and errors, hooks and
// webhooks, streams, fetch, metadata, attributes and cancellation. The behaviours are the
// ones upstream's suite expects of a World; the code is this repository's.
import {
  createHook,
  createWebhook,
  FatalError,
  fetch,
  getStepMetadata,
  getWorkflowMetadata,
  getWritable,
  RetryableError,
  setAttributes,
  sleep,
} from 'workflow';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- steps and combinators ----

async function add(a: number, b: number) {
  'use step';
  return a + b;
}

/** Three sequential steps: input + 2 + 3 + 5. */
export async function addTen(input: number) {
  'use workflow';
  const a = await add(input, 2);
  const b = await add(a, 3);
  return await add(b, 5);
}

async function upper(text: string, ms: number) {
  'use step';
  await delay(ms);
  return text.toUpperCase();
}

async function refuse(text: string) {
  'use step';
  throw new FatalError(`refused ${text}`);
}

/** Promise.all, Promise.race and Promise.any over steps. */
export async function combinators() {
  'use workflow';
  const all = (await Promise.all([upper('a', 300), upper('b', 10), upper('c', 150)])).join('');
  const race = await Promise.race([upper('slow', 3_000), upper('fast', 50), upper('slower', 4_000)]);
  const any = await Promise.any([refuse('x'), upper('second', 100), upper('third', 2_000)]);
  return { all, race, any };
}

// ---- sleeps ----

async function now() {
  'use step';
  return Date.now();
}

/** A sleep by duration, one until a date, and five in parallel, each measured by steps. */
export async function sleeps(ms: number) {
  'use workflow';
  const t0 = await now();
  await sleep(ms);
  const t1 = await now();
  await sleep(new Date(t1 + ms));
  const t2 = await now();
  await Promise.all([1, 2, 3, 4, 5].map(() => sleep('1s')));
  const t3 = await now();
  return { slept: t1 - t0, untilDate: t2 - t1, parallel: t3 - t2 };
}

// ---- retries and errors ----

async function succeedOnThird() {
  'use step';
  const { attempt } = getStepMetadata();
  if (attempt < 3) throw new Error(`failed on attempt ${attempt}`);
  return attempt;
}

async function retryAfter(ms: number) {
  'use step';
  const { attempt, stepStartedAt } = getStepMetadata();
  if (attempt === 1) throw new RetryableError('not yet', { retryAfter: ms });
  return { attempt, waited: Date.now() - stepStartedAt.getTime() };
}

async function never() {
  'use step';
  throw new Error('never works');
}
never.maxRetries = 0;

/** Plain errors retried until the third attempt, a RetryableError's delay, no retries. */
export async function retries(retryAfterMs: number) {
  'use workflow';
  const third = await succeedOnThird();
  const later = await retryAfter(retryAfterMs);
  let once: string;
  try {
    await never();
    once = 'returned';
  } catch (error) {
    once = String((error as Error).message);
  }
  return { third, later, once };
}

async function fatal(message: string) {
  'use step';
  throw new FatalError(message);
}

/** A FatalError no one catches: the run fails, its step once. */
export async function fatalStep() {
  'use workflow';
  await fatal('fatal step error');
  return 'unreachable';
}

/** A FatalError caught in the workflow. */
export async function caughtFatal() {
  'use workflow';
  try {
    await fatal('caught');
    return { caught: false };
  } catch (error) {
    return { caught: true, isFatal: FatalError.is(error), message: (error as Error).message };
  }
}

/** An error thrown by the workflow itself. */
export async function workflowThrows(message: string) {
  'use workflow';
  await add(1, 1);
  throw new Error(message);
}

class Opaque {
  constructor(public readonly secret: number) {}
}

async function returnsOpaque() {
  'use step';
  return new Opaque(7);
}

/** A step return value that cannot be serialized, caught by the workflow. */
export async function unserializable() {
  'use workflow';
  try {
    await returnsOpaque();
    return { caught: false };
  } catch (error) {
    return { caught: true, name: (error as Error).name, message: (error as Error).message };
  }
}

// ---- hooks and webhooks ----

/** A hook resumed until a payload says done: every payload, in order. */
export async function hookLoop(token: string) {
  'use workflow';
  const hook = createHook<{ message: string; done?: boolean }>({ token, metadata: { purpose: 'loop' } });
  const received: string[] = [];
  for await (const payload of hook) {
    received.push(payload.message);
    if (payload.done) break;
  }
  hook.dispose();
  return received;
}

async function answer(request: { respondWith(response: Response): Promise<void>; text(): Promise<string> }) {
  'use step';
  const body = await request.text();
  await request.respondWith(new Response(`answered ${body}`, { status: 200 }));
  return body;
}

/** Three webhooks: the default answer, a static one, and one a step writes. */
export async function webhooks() {
  'use workflow';
  const plain = createWebhook();
  const fixed = createWebhook({ respondWith: new Response('fixed answer', { status: 402 }) });
  const manual = createWebhook({ respondWith: 'manual' });
  const seen: { method: string; body: string }[] = [];
  const first = await plain;
  seen.push({ method: first.method, body: await first.text() });
  const second = await fixed;
  seen.push({ method: second.method, body: await second.text() });
  const third = await manual;
  seen.push({ method: third.method, body: await answer(third) });
  return seen;
}

/** The first run on `token` waits for it; a second run's hook conflicts and fails it. */
export async function hookOwner(token: string) {
  'use workflow';
  const hook = createHook<{ value: string }>({ token });
  const { value } = await hook;
  hook.dispose();
  return value;
}

/** A hook with a minimum retention: its token outlives the run. */
export async function retainedHook(token: string, retainMs: number) {
  'use workflow';
  const hook = createHook({ token, experimental_minRetention: retainMs });
  const owner = await hook.getConflict();
  if (owner) return { role: 'duplicate', ownerRunId: owner.runId, ownerStatus: await owner.status };
  return { role: 'owner' };
}

/** A hook disposed while its run goes on: its token is free at once. */
export async function disposeEarly(token: string) {
  'use workflow';
  const hook = createHook<{ n: number }>({ token });
  const { n } = await hook;
  hook.dispose();
  await sleep('3s');
  return { n, disposed: true };
}

// ---- streams ----

async function writeTo(writable: WritableStream<unknown>, chunk: unknown) {
  'use step';
  const writer = writable.getWriter();
  await writer.write(chunk);
  writer.releaseLock();
}

async function closeAll(...writables: WritableStream<unknown>[]) {
  'use step';
  for (const writable of writables) await writable.close();
}

/** The default stream and a named one, each with a byte chunk then an object chunk. */
export async function twoStreams() {
  'use workflow';
  const main = getWritable();
  const named = getWritable({ namespace: 'named' });
  await writeTo(main, new TextEncoder().encode('bytes on main'));
  await writeTo(named, new TextEncoder().encode('bytes on named'));
  await writeTo(main, { on: 'main' });
  await writeTo(named, { on: 'named' });
  await closeAll(main, named);
  return 'done';
}

async function writeFromStep(texts: string[]) {
  'use step';
  const writer = getWritable<Uint8Array>({ namespace: 'utf8' }).getWriter();
  for (const text of texts) await writer.write(new TextEncoder().encode(text));
  await writer.close();
}

/** A step takes a named stream itself and writes UTF-8 text of every script into it. */
export async function utf8Stream(texts: string[]) {
  'use workflow';
  await writeFromStep(texts);
  return texts.length;
}

async function countdown(n: number) {
  'use step';
  let i = 0;
  return new ReadableStream<string>({
    async pull(controller) {
      if (i === n) return controller.close();
      await delay(50);
      controller.enqueue(`${i++}\n`);
    },
  });
}

/** A step returns a ReadableStream, and the workflow returns it. */
export async function returnsStream(n: number) {
  'use workflow';
  return await countdown(n);
}

// ---- fetch ----

/** `fetch` from the workflow (a step of the standard library), against `url`. */
export async function fetches(url: string) {
  'use workflow';
  const response = await fetch(url);
  return { status: response.status, body: await response.json() };
}

async function fetchWith(url: string, signal: AbortSignal) {
  'use step';
  const began = Date.now();
  try {
    const response = await globalThis.fetch(url, { signal });
    return { aborted: false, status: response.status, ms: Date.now() - began };
  } catch (error) {
    return { aborted: (error as Error).name === 'AbortError', name: (error as Error).name, ms: Date.now() - began };
  }
}

/** An in-flight fetch in a step, aborted by the workflow after `sleepMs`. */
export async function abortFetch(url: string, sleepMs: number) {
  'use workflow';
  const controller = new AbortController();
  const fetching = fetchWith(url, controller.signal);
  const first = await Promise.race([fetching.then(() => 'fetch'), sleep(sleepMs).then(() => 'timeout')]);
  if (first === 'timeout') controller.abort();
  return { first, fetch: await fetching };
}

// ---- metadata ----

async function stepMetadata() {
  'use step';
  const step = getStepMetadata();
  const workflow = getWorkflowMetadata();
  return {
    step: {
      stepName: step.stepName,
      stepId: step.stepId,
      attempt: step.attempt,
      startedAt: step.stepStartedAt.getTime(),
    },
    workflow: { runId: workflow.workflowRunId, name: workflow.workflowName, url: workflow.url },
  };
}

/** What a workflow and a step see of their run and themselves. */
export async function metadata() {
  'use workflow';
  const workflow = getWorkflowMetadata();
  const inStep = await stepMetadata();
  return {
    workflow: {
      runId: workflow.workflowRunId,
      name: workflow.workflowName,
      url: workflow.url,
      startedAt: workflow.workflowStartedAt.getTime(),
      encryption: workflow.features.encryption,
    },
    inStep,
  };
}

// ---- attributes ----

async function setInStep(input: number) {
  'use step';
  await setAttributes({ phase: 'step-started', source: 'step-body', input: String(input) });
  await setAttributes({ phase: 'step-done' });
  return input * 4;
}

/** Attributes set by the workflow (one removed again) and by a step. */
export async function attributes(input: number) {
  'use workflow';
  await setAttributes({ phase: 'init', source: 'workflow-body' });
  await setAttributes({ phase: 'workflow-done', source: undefined });
  return await setInStep(input);
}

/** Attributes the World refuses: each refusal's name and message. */
export async function badAttributes() {
  'use workflow';
  const refusals: string[] = [];
  for (const attrs of [
    { $reserved: 'x' },
    { '': 'empty' },
    { ['k'.repeat(257)]: 'long key' },
    { v: 'x'.repeat(257) },
  ]) {
    try {
      await setAttributes(attrs);
      refusals.push('accepted');
    } catch (error) {
      refusals.push(`${(error as Error).name}: ${(error as Error).message}`);
    }
  }
  await setAttributes({ phase: 'validated' });
  return refusals;
}

// ---- cancellation ----

/** A long sleep: the test cancels the run during it. */
export async function sleepsLong() {
  'use workflow';
  await sleep('1h');
  return 'woke';
}
