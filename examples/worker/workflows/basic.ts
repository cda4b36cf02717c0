// The example workflows, run inside the Worker (examples/worker/src/worker.js): one per behaviour a World
// must support. The 4.x Node-host example (examples/basic) runs the same file, copied in by
// scripts/build-node-example.mjs.
import { createHook, createWebhook, FatalError, getStepMetadata, getWritable, sleep } from 'workflow';
import { start } from 'workflow/api';

async function add(a: number, b: number) {
  'use step';
  return a + b;
}

/** Sequential steps. */
export async function sequential(a: number, b: number) {
  'use workflow';
  const sum = await add(a, b);
  const doubled = await add(sum, sum);
  return { sum, doubled };
}

/** Parallel steps (Promise.all). */
export async function parallel(n: number) {
  'use workflow';
  return Promise.all([1, 2, 3].map((i) => add(i, n)));
}

async function now() {
  'use step';
  return Date.now();
}

/** A short sleep, measured by steps on either side. */
export async function shortSleep(ms: number) {
  'use workflow';
  const before = await now();
  await sleep(ms);
  const after = await now();
  return { sleptAtLeast: after - before >= ms };
}

/** A week-long sleep: the demo wakes it early with `run.wakeUp()`. */
export async function longSleep() {
  'use workflow';
  await sleep('7d');
  return 'woke up';
}

/** A hook with a known token, resumed with `resumeHook(token, payload)`. */
export async function hooked(token: string) {
  'use workflow';
  const hook = createHook<{ message: string }>({ token });
  const payload = await hook;
  return payload.message;
}

/** A webhook, resumed by an HTTP request to /.well-known/workflow/v1/webhook/:token. */
export async function webhooked() {
  'use workflow';
  const webhook = createWebhook();
  const request = await webhook;
  return { method: request.method, body: await request.text() };
}

async function emit(count: number) {
  'use step';
  const writer = getWritable<string>().getWriter();
  for (let i = 0; i < count; i++) await writer.write(`chunk-${i}`);
  await writer.close();
  return count;
}

/** A step writing to the run's stream, read live by the client with `run.getReadable()`. */
export async function streaming(count: number) {
  'use workflow';
  const written = await emit(count);
  return { written };
}

async function flaky() {
  'use step';
  const { attempt } = getStepMetadata();
  if (attempt < 2) throw new Error(`transient failure on attempt ${attempt}`);
  return attempt;
}

/** A step that fails once, then succeeds on its retry. */
export async function retried() {
  'use workflow';
  return { succeededOnAttempt: await flaky() };
}

async function refuse() {
  'use step';
  throw new FatalError('this input can never work');
}

/** A FatalError: no retries, the run fails. */
export async function fatal() {
  'use workflow';
  await refuse();
  return 'unreachable';
}

async function bytes() {
  'use step';
  return new Uint8Array([0, 1, 0, 255, 0]);
}

/** A step returning bytes that include 0x00. */
export async function binary() {
  'use workflow';
  const b = await bytes();
  return Array.from(b);
}

export async function child(x: number) {
  'use workflow';
  return add(x, 1);
}

async function startChild(x: number) {
  'use step';
  const run = await start(child, [x]);
  return run.runId;
}
// start() is not idempotent: when the World commits a child's run_created but its reply is
// lost, start() throws and the retry starts another child. Under storage faults
// (tests/reliability/e2e-faults.test.mjs injects them into 20% of D1 batches) the default 3
// retries can all go that way, so this step gets more.
startChild.maxRetries = 10;

/** A child workflow started from a step. */
export async function parent(x: number) {
  'use workflow';
  const childRunId = await startChild(x);
  return { childRunId };
}

async function pause(ms: number) {
  'use step';
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ms;
}

/** A step that takes its time: tests/e2e-worker/reliability.test.mjs kills the Worker while it runs. */
export async function slowStep(ms: number) {
  'use workflow';
  const paused = await pause(ms);
  return { paused, next: await add(paused, 1) };
}

async function shout(text: string) {
  'use step';
  return text.toUpperCase();
}

/** Input, step data and output that must never be stored readable when a key is set. */
export async function sealed(secret: string) {
  'use workflow';
  return { secret, shouted: await shout(secret) };
}
