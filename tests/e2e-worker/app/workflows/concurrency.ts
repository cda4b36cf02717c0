// Workflows whose deliveries must run side by side (tests/e2e-worker/concurrency.test.mjs):
// a sleep or an abort overtaking a long step of the same run, a hook token held while its
// owner's step runs, steps and workflows that wait for other runs. Each behaviour is one
// that upstream's end-to-end suite expects of a World; the code is this repository's.
import { createHook, getWritable, sleep } from 'workflow';
import { getRun, Run, start } from 'workflow/api';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A step that takes `ms` and answers `label`. */
async function pause(ms: number, label: string) {
  'use step';
  await delay(ms);
  return label;
}

/** One long step: the ten-at-once test starts ten of these. */
export async function longStep(ms: number) {
  'use workflow';
  return await pause(ms, 'done');
}

/** A sleep raced against a longer step of the same run: the sleep's wake-up wins. */
export async function sleepBeatsStep(stepMs: number, sleepMs: number) {
  'use workflow';
  return await Promise.race([pause(stepMs, 'step'), sleep(sleepMs).then(() => 'sleep')]);
}

/** Watches `signal` for up to `maxMs`: 'aborted' as soon as it is, else 'completed'. */
async function watch(signal: AbortSignal, maxMs: number) {
  'use step';
  const until = Date.now() + maxMs;
  while (Date.now() < until) {
    if (signal.aborted) return 'aborted';
    await delay(100);
  }
  return 'completed';
}

/** What a step sees of `signal`. */
async function seen(signal: AbortSignal) {
  'use step';
  return { aborted: signal.aborted, reason: signal.reason };
}

/** A timeout with an AbortController: the sleep aborts the running step, with `reason`. */
export async function abortOnTimeout(stepMs: number, sleepMs: number, reason: string) {
  'use workflow';
  const controller = new AbortController();
  const step = watch(controller.signal, stepMs);
  const first = await Promise.race([step, sleep(sleepMs).then(() => 'timeout')]);
  if (first !== 'timeout') return { status: 'not timed out', first };
  controller.abort(reason);
  return {
    status: 'timed out',
    step: await step,
    aborted: controller.signal.aborted,
    reason: controller.signal.reason,
    stepSaw: await seen(controller.signal),
  };
}

/** Three running steps aborted together by one timeout. */
export async function abortInParallel(stepMs: number, sleepMs: number, reason: string) {
  'use workflow';
  const controller = new AbortController();
  const steps = Promise.all([1, 2, 3].map(() => watch(controller.signal, stepMs)));
  const first = await Promise.race([steps, sleep(sleepMs).then(() => 'timeout')]);
  if (first !== 'timeout') return { status: 'not timed out', first };
  controller.abort(reason);
  return { status: 'timed out', steps: await steps, reason: controller.signal.reason };
}

/** A hook as a mutex: the run that holds `token` works `holdMs`, any other run backs off. */
export async function hookMutex(token: string, holdMs: number) {
  'use workflow';
  const hook = createHook({ token });
  try {
    const owner = await hook.getConflict();
    if (owner) return { role: 'duplicate', ownerRunId: owner.runId };
    await pause(holdMs, 'held');
    return { role: 'owner' };
  } finally {
    hook.dispose();
  }
}

/** The first run on `token` waits for its hook; a duplicate adopts the owner's result. */
export async function adoptOwnerResult(token: string, marker: string) {
  'use workflow';
  const hook = createHook<{ value: string }>({ token });
  try {
    const owner = await hook.getConflict();
    if (owner) return { role: 'duplicate', ownerRunId: owner.runId, adopted: await owner.returnValue };
    const { value } = await hook;
    return { role: 'owner', marker, value };
  } finally {
    hook.dispose();
  }
}

async function doubleOf(value: number) {
  'use step';
  return value * 2;
}

/** The child run of the cases below: it works `ms`, then doubles `value`. */
export async function doubled(value: number, ms: number) {
  'use workflow';
  await pause(ms, 'worked');
  return { value, doubled: await doubleOf(value) };
}

async function startDoubled(value: number, ms: number) {
  'use step';
  return (await start(doubled, [value, ms])).runId;
}

async function resultOf(runId: string) {
  'use step';
  return await getRun(runId).returnValue;
}

/** A step starts a child run; another step waits for its result. */
export async function childFromStep(value: number, childMs: number) {
  'use workflow';
  const childRunId = await startDoubled(value, childMs);
  return { childRunId, child: await resultOf(childRunId) };
}

async function startDoubledRun(value: number, ms: number) {
  'use step';
  return await start(doubled, [value, ms]);
}

async function runIdOf(run: Run<unknown>) {
  'use step';
  return run.runId;
}

async function awaitRun(run: Run<unknown>) {
  'use step';
  return await run.returnValue;
}

/** A `Run` returned by a step, checked in the workflow, and passed to two more steps. */
export async function runAcrossBoundaries(value: number, childMs: number) {
  'use workflow';
  const run = await startDoubledRun(value, childMs);
  return {
    runId: run.runId,
    isRun: run instanceof Run,
    runIdInStep: await runIdOf(run),
    child: await awaitRun(run),
  };
}

/** fib(n) by recursion through start(): each call starts two child runs and awaits them. */
export async function fibonacci(n: number): Promise<number> {
  'use workflow';
  if (n <= 1) return n;
  const [a, b] = await Promise.all([start(fibonacci, [n - 1]), start(fibonacci, [n - 2])]);
  const [x, y] = await Promise.all([a.returnValue, b.returnValue]);
  return x + y;
}

async function writeText(writable: WritableStream<Uint8Array>, text: string) {
  'use step';
  const writer = writable.getWriter();
  await writer.write(new TextEncoder().encode(text));
  writer.releaseLock();
}

/** The child that works `ms`, then writes into the stream its parent handed it. */
export async function writeToParent(writable: WritableStream<Uint8Array>, text: string, ms: number) {
  'use workflow';
  await pause(ms, 'worked');
  await writeText(writable, text);
  return 'written';
}

async function startWriterAndWait(writable: WritableStream<Uint8Array>, text: string, ms: number) {
  'use step';
  const run = await start(writeToParent, [writable, text, ms]);
  await run.returnValue;
  return run.runId;
}

async function closeStream(writable: WritableStream<Uint8Array>) {
  'use step';
  await writable.close();
}

/** The workflow's own stream, handed by a step to a child run that writes into it. */
export async function forwardFromWorkflow(text: string, childMs: number) {
  'use workflow';
  const writable = getWritable<Uint8Array>();
  const childRunId = await startWriterAndWait(writable, text, childMs);
  await closeStream(writable);
  return { childRunId };
}

async function forwardWithinStep(text: string, ms: number) {
  'use step';
  const writable = getWritable<Uint8Array>();
  const run = await start(writeToParent, [writable, text, ms]);
  await run.returnValue;
  await writable.close();
  return run.runId;
}

/** A step takes the run's stream and hands it to a child run that writes into it. */
export async function forwardFromStep(text: string, childMs: number) {
  'use workflow';
  return { childRunId: await forwardWithinStep(text, childMs) };
}
