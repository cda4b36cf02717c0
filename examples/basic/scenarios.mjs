// The example's scenarios: each starts a workflow of workflows/basic.ts, drives it the
// way an app would (resume a hook, post a webhook, read a stream, wake a sleep) and says
// what a correct World must produce. Shared by the demo (scripts/demo.mjs) and the tests.
import { isDeepStrictEqual } from 'node:util';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function eventually(what, probe, { timeoutMs = 30_000, everyMs = 50 } = {}) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** The run's end: status, and its return value or error. */
async function settle(run) {
  try {
    const value = await run.returnValue;
    return { runId: run.runId, status: await run.status, value };
  } catch (error) {
    return { runId: run.runId, status: await run.status, error: String(error?.message ?? error) };
  }
}

export async function eventTypes(world, runId) {
  const page = await world.events.list({ runId, pagination: { limit: 1000 } });
  return page.data.map((e) => e.eventType);
}

/** An id unique to this process, for hook tokens. */
export const unique = () => `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

export const scenarios = [
  {
    name: 'sequential',
    title: 'two sequential steps',
    async drive(app) {
      return settle(await app.start('sequential', [2, 3]));
    },
    expect: { status: 'completed', value: { sum: 5, doubled: 10 } },
  },
  {
    name: 'parallel',
    title: 'three steps in Promise.all',
    ordered: false,
    async drive(app) {
      return settle(await app.start('parallel', [10]));
    },
    expect: { status: 'completed', value: [11, 12, 13] },
  },
  {
    name: 'shortSleep',
    title: 'sleep(1.5 s) between two steps',
    async drive(app) {
      return settle(await app.start('shortSleep', [1500]));
    },
    expect: { status: 'completed', value: { sleptAtLeast: true } },
  },
  {
    name: 'longSleep',
    title: "sleep('7d') woken early by run.wakeUp()",
    async drive(app) {
      const run = await app.start('longSleep');
      await eventually('the 7-day wait', async () => (await eventTypes(app.world, run.runId)).includes('wait_created'));
      await run.wakeUp();
      return settle(run);
    },
    expect: { status: 'completed', value: 'woke up' },
  },
  {
    name: 'hook',
    title: 'createHook resumed with resumeHook(token)',
    async drive(app) {
      const token = `order:${unique()}`;
      const run = await app.start('hooked', [token]);
      await eventually('the hook', () => app.world.hooks.getByToken(token));
      const statusWhileWaiting = await run.status;
      await app.api.resumeHook(token, { message: 'hello from resumeHook' });
      return { ...(await settle(run)), extra: { statusWhileWaiting } };
    },
    expect: { status: 'completed', value: 'hello from resumeHook', extra: { statusWhileWaiting: 'running' } },
  },
  {
    name: 'webhook',
    title: 'createWebhook resumed by an HTTP POST',
    async drive(app) {
      const run = await app.start('webhooked');
      const hook = await eventually(
        'the webhook',
        async () => (await app.world.hooks.list({ runId: run.runId })).data[0],
      );
      const response = await fetch(`${app.base}/.well-known/workflow/v1/webhook/${encodeURIComponent(hook.token)}`, {
        method: 'POST',
        body: 'ping',
      });
      return { ...(await settle(run)), extra: { httpStatus: response.status } };
    },
    expect: { status: 'completed', value: { method: 'POST', body: 'ping' }, extra: { httpStatus: 202 } },
  },
  {
    name: 'stream',
    title: 'getWritable() in a step, read live with run.getReadable()',
    async drive(app) {
      const run = await app.start('streaming', [5]);
      const chunks = [];
      for await (const chunk of run.getReadable()) chunks.push(chunk);
      return { ...(await settle(run)), extra: { chunks } };
    },
    expect: {
      status: 'completed',
      value: { written: 5 },
      extra: { chunks: ['chunk-0', 'chunk-1', 'chunk-2', 'chunk-3', 'chunk-4'] },
    },
  },
  {
    name: 'retry',
    title: 'a step that fails once, then succeeds',
    async drive(app) {
      return settle(await app.start('retried'));
    },
    expect: { status: 'completed', value: { succeededOnAttempt: 2 } },
  },
  {
    name: 'fatal',
    title: 'a FatalError fails the run',
    async drive(app) {
      return settle(await app.start('fatal'));
    },
    expect: { status: 'failed', errorIncludes: 'this input can never work' },
  },
  {
    name: 'bytes',
    title: 'a step returning bytes with 0x00',
    async drive(app) {
      return settle(await app.start('binary'));
    },
    expect: { status: 'completed', value: [0, 1, 0, 255, 0] },
  },
  {
    name: 'child',
    title: 'a child workflow started from a step',
    async drive(app) {
      const parent = await app.start('parent', [41]);
      const outcome = await settle(parent);
      const childRunId = outcome.value?.childRunId;
      // When start() lost its reply, the child's run is created by its first delivery
      // (resilient start), which may land after the parent ends.
      if (childRunId) await eventually('the child run', () => app.world.runs.get(childRunId)).catch(() => {});
      const child = childRunId ? app.api.getRun(childRunId) : undefined;
      const childOutcome = child ? await settle(child) : undefined;
      return {
        ...outcome,
        value: outcome.value && { child: childOutcome?.value },
        extra: { childStatus: childOutcome?.status },
      };
    },
    expect: { status: 'completed', value: { child: 42 }, extra: { childStatus: 'completed' } },
  },
];

/** What is wrong with an outcome, or an empty list. */
export function check(scenario, outcome) {
  const problems = [];
  const { expect } = scenario;
  if (outcome.status !== expect.status) {
    // 'error': the drive itself threw (a client call or a wait); say where.
    const why = outcome.status === 'error' ? ` (${String(outcome.error).split('\n').slice(0, 3).join(' | ')})` : '';
    problems.push(`status ${outcome.status}${why}, expected ${expect.status}`);
  }
  if ('value' in expect && !isDeepStrictEqual(outcome.value, expect.value)) {
    problems.push(`returned ${JSON.stringify(outcome.value)}, expected ${JSON.stringify(expect.value)}`);
  }
  if (expect.errorIncludes && !String(outcome.error).includes(expect.errorIncludes)) {
    problems.push(
      `error ${JSON.stringify(outcome.error)}, expected it to mention ${JSON.stringify(expect.errorIncludes)}`,
    );
  }
  for (const [key, value] of Object.entries(expect.extra ?? {})) {
    if (!isDeepStrictEqual(outcome.extra?.[key], value)) {
      problems.push(`${key} ${JSON.stringify(outcome.extra?.[key])}, expected ${JSON.stringify(value)}`);
    }
  }
  return problems;
}

/** Runs one scenario and gathers what the demo and the tests report. */
export async function runScenario(app, scenario) {
  const started = performance.now();
  let outcome;
  try {
    outcome = await scenario.drive(app);
  } catch (error) {
    outcome = { status: 'error', error: String(error?.stack ?? error) };
  }
  const ms = performance.now() - started;
  // A World may make the run's status visible a moment before its terminal event
  // (world-local writes them separately), so read the log once it has ended.
  const ended = (types) => types.some((t) => t === 'run_completed' || t === 'run_failed' || t === 'run_cancelled');
  const events = outcome.runId
    ? await eventually(
        'the terminal event',
        async () => {
          const types = await eventTypes(app.world, outcome.runId);
          return ended(types) && types;
        },
        { timeoutMs: 5_000 },
      ).catch(() => eventTypes(app.world, outcome.runId).catch(() => []))
    : [];
  return { scenario, outcome, ms, events, problems: check(scenario, outcome) };
}
