// Race trials run inside workerd (the fixture Worker's POST /race, tests/workers/worker.js)
// so that hundreds of them fit in a CI budget: from Node every D1 call crosses the
// harness proxy (~40 ms per events.create), inside the Worker it is a direct binding
// call. Each trial sets up its state, then fires two conflicting events.create calls at
// once (alternating which is issued first) and records what each got. The Node test
// (tests/reliability/races.test.mjs) checks every trial against D1 afterwards.
//
// Runtime-neutral: no Node imports, so wrangler can bundle it into the Worker.

import { ulid } from 'ulid';

const WORKFLOW_NAME = 'workflow//./src/reliability//race';
const STEP_NAME = 'step//./src/reliability//raceStep';
const bytes = (text) => new TextEncoder().encode(text);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** What one contender got: `{ok, eventType, eventId, attempt}` or `{ok: false, name, message}`. */
function outcome(settled) {
  if (settled.status === 'fulfilled') {
    const v = settled.value;
    return { ok: true, eventType: v?.event?.eventType, eventId: v?.event?.eventId, attempt: v?.step?.attempt };
  }
  return {
    ok: false,
    name: settled.reason?.name ?? 'Error',
    message: String(settled.reason?.message ?? settled.reason),
  };
}

/** Fires both at once; alternates the issue order; returns [outcome of a, outcome of b]. */
async function race(trial, a, b) {
  if (trial % 2 === 0) return (await Promise.allSettled([a(), b()])).map(outcome);
  const [rb, ra] = await Promise.allSettled([b(), a()]);
  return [outcome(ra), outcome(rb)];
}

async function runningRun(world) {
  const runId = `wrun_${ulid()}`;
  await world.events.create(runId, {
    eventType: 'run_created',
    eventData: { deploymentId: 'dpl_race', workflowName: WORKFLOW_NAME, input: bytes('in') },
  });
  await world.events.create(runId, { eventType: 'run_started' });
  return runId;
}

async function runningStep(world, runId) {
  const stepId = `step_${ulid()}`;
  await world.events.create(runId, {
    eventType: 'step_created',
    correlationId: stepId,
    eventData: { stepName: STEP_NAME, input: bytes('i') },
  });
  await world.events.create(runId, {
    eventType: 'step_started',
    correlationId: stepId,
    eventData: { stepName: STEP_NAME },
  });
  return stepId;
}

const complete = (world, runId, stepId, tag) =>
  world.events.create(runId, {
    eventType: 'step_completed',
    correlationId: stepId,
    eventData: { stepName: STEP_NAME, result: bytes(tag) },
  });

/** One trial per kind; each returns the record the Node side verifies. */
const KINDS = {
  async 'run_completed vs run_cancelled'(world, trial) {
    const runId = await runningRun(world);
    const hookId = `hook_${ulid()}`;
    const token = `rc-${ulid()}`;
    await world.events.create(runId, {
      eventType: 'hook_created',
      correlationId: hookId,
      eventData: { token, isWebhook: false },
    });
    const [a, b] = await race(
      trial,
      () => world.events.create(runId, { eventType: 'run_completed', eventData: { output: bytes(`out${trial}`) } }),
      () => world.events.create(runId, { eventType: 'run_cancelled' }),
    );
    return { runId, hookId, token, a, b };
  },

  async 'two step_completed'(world, trial, shared) {
    const runId = (shared.runId ??= await runningRun(world));
    const stepId = await runningStep(world, runId);
    const [a, b] = await race(
      trial,
      () => complete(world, runId, stepId, `A${trial}`),
      () => complete(world, runId, stepId, `B${trial}`),
    );
    return { runId, stepId, a, b };
  },

  async 'two hook_created, one token, two runs'(world, trial) {
    const [r1, r2] = await Promise.all([runningRun(world), runningRun(world)]);
    const [h1, h2] = [`hook_${ulid()}`, `hook_${ulid()}`];
    const token = `race-${ulid()}`;
    const create = (runId, hookId) => () =>
      world.events.create(runId, {
        eventType: 'hook_created',
        correlationId: hookId,
        eventData: { token, isWebhook: false, metadata: bytes(hookId) },
      });
    const [a, b] = await race(trial, create(r1, h1), create(r2, h2));
    // Whatever the outcome, end the holder: its token must be freed with it.
    const holder = a.eventType === 'hook_created' ? r1 : b.eventType === 'hook_created' ? r2 : undefined;
    let heldAfterEnd;
    if (holder) {
      await world.events.create(holder, { eventType: 'run_completed', eventData: { output: bytes('done') } });
      heldAfterEnd = await world.hooks.getByToken(token).then(
        (hook) => hook.hookId,
        (err) => (err?.name === 'HookNotFoundError' ? null : `${err?.name}: ${err?.message}`),
      );
    }
    return { r1, r2, h1, h2, token, a, b, holder, heldAfterEnd };
  },

  async 'run_started vs run_created'(world, trial, _shared, { lagMs = 0 } = {}) {
    const runId = `wrun_${ulid()}`;
    const input = bytes(`in${trial}`);
    // A third of the trials hold run_started back, a third run_created, so that both
    // commit orders occur.
    const lagStarted = trial % 3 === 1 ? lagMs : 0;
    const lagCreated = trial % 3 === 2 ? lagMs : 0;
    const [a, b] = await race(
      trial,
      () =>
        sleep(lagStarted).then(() =>
          world.events.create(runId, {
            eventType: 'run_started',
            eventData: { deploymentId: 'dpl_race', workflowName: WORKFLOW_NAME, input },
          }),
        ),
      () =>
        sleep(lagCreated).then(() =>
          world.events.create(runId, {
            eventType: 'run_created',
            eventData: { deploymentId: 'dpl_race', workflowName: WORKFLOW_NAME, input },
          }),
        ),
    );
    return { runId, a, b };
  },

  async 'step_completed vs run_cancelled'(world, trial) {
    const runId = await runningRun(world);
    const stepId = await runningStep(world, runId);
    const [a, b] = await race(
      trial,
      () => complete(world, runId, stepId, 'late'),
      () => world.events.create(runId, { eventType: 'run_cancelled' }),
    );
    return { runId, stepId, a, b };
  },

  async 'two step_started'(world, trial, shared) {
    const runId = (shared.runId ??= await runningRun(world));
    const stepId = `step_${ulid()}`;
    await world.events.create(runId, {
      eventType: 'step_created',
      correlationId: stepId,
      eventData: { stepName: STEP_NAME, input: bytes('i') },
    });
    const start = () =>
      world.events.create(runId, {
        eventType: 'step_started',
        correlationId: stepId,
        eventData: { stepName: STEP_NAME },
      });
    const [a, b] = await race(trial, start, start);
    return { runId, stepId, a, b };
  },
};

/** What a 5.x contender got, with the 5.x fields the checks read. */
function outcomeV5(settled) {
  const o = outcome(settled);
  if (settled.status === 'fulfilled') {
    o.stepCreated = settled.value?.stepCreated;
    o.attributes = settled.value?.run?.attributes;
  }
  return o;
}

async function raceV5(trial, a, b) {
  if (trial % 2 === 0) return (await Promise.allSettled([a(), b()])).map(outcomeV5);
  const [rb, ra] = await Promise.allSettled([b(), a()]);
  return [outcomeV5(ra), outcomeV5(rb)];
}

const attrSet = (world, runId, correlationId, key, value, writer) =>
  world.events.create(runId, {
    eventType: 'attr_set',
    ...(correlationId ? { correlationId } : {}),
    eventData: { changes: [{ key, value }], writer },
  });

/** The 5.x races: run by the 5.x World (`/race` with `specVersion: 7`). */
const KINDS_V5 = {
  /** Concurrent appends to one run, all sent with the same stale eventCount. */
  async 'v5 concurrent appends'(world, _trial) {
    const runId = await runningRun(world);
    const settled = await Promise.allSettled(
      Array.from({ length: 6 }, () =>
        world.events.create(
          runId,
          { eventType: 'wait_created', correlationId: `wait_${ulid()}`, eventData: { resumeAt: new Date() } },
          { eventCount: 2 },
        ),
      ),
    );
    return {
      runId,
      outcomes: settled.map((r) => ({
        ...outcomeV5(r),
        reported: r.value?.events?.map((e) => e.eventId),
        hasMore: r.value?.hasMore,
      })),
    };
  },

  async 'v5 two lazy step_started'(world, trial, shared) {
    const runId = (shared.runId ??= await runningRun(world));
    const stepId = `step_${ulid()}`;
    const start = (tag) => () =>
      world.events.create(runId, {
        eventType: 'step_started',
        correlationId: stepId,
        eventData: { stepName: STEP_NAME, input: bytes(tag) },
      });
    const [a, b] = await raceV5(trial, start(`A${trial}`), start(`B${trial}`));
    return { runId, stepId, a, b };
  },

  /** Two workflow writers claiming one correlation id, and two step writers on other keys. */
  async 'v5 attr_set writers'(world, trial) {
    const runId = await runningRun(world);
    const attrId = `attr_${ulid()}`;
    const step = { type: 'step', stepId: `step_${ulid()}`, attempt: 1 };
    const [[a, b], [c, d]] = await Promise.all([
      raceV5(
        trial,
        () => attrSet(world, runId, attrId, 'claimed', 'A', { type: 'workflow' }),
        () => attrSet(world, runId, attrId, 'claimed', 'B', { type: 'workflow' }),
      ),
      raceV5(
        trial,
        () => attrSet(world, runId, undefined, 'left', 'L', step),
        () => attrSet(world, runId, undefined, 'right', 'R', step),
      ),
    ]);
    return { runId, attrId, a, b, c, d };
  },

  async 'v5 run_completed vs run_cancelled'(world, trial) {
    const runId = await runningRun(world);
    const [a, b] = await raceV5(
      trial,
      () => world.events.create(runId, { eventType: 'run_completed', eventData: { output: bytes(`out${trial}`) } }),
      () => world.events.create(runId, { eventType: 'run_cancelled' }),
    );
    return { runId, a, b };
  },
};
Object.assign(KINDS, KINDS_V5);

export const RACE_KINDS = Object.keys(KINDS);

/**
 * Runs `trials` trials of `kind`, `wave` of them concurrently. Trials of one wave share a
 * run where the race is inside a run (steps); each wave starts a fresh one.
 */
export async function runRaceTrials(world, { kind, trials = 100, wave = 8, lagMs = 0 }) {
  const one = KINDS[kind];
  if (!one) throw new Error(`unknown race kind ${JSON.stringify(kind)}; known: ${RACE_KINDS.join(', ')}`);
  const records = [];
  const started = Date.now();
  for (let first = 0; first < trials; first += wave) {
    const shared = {};
    const batch = [];
    for (let trial = first; trial < Math.min(trials, first + wave); trial++) {
      batch.push(
        one(world, trial, shared, { lagMs }).then(
          (r) => ({ trial, ...r }),
          (e) => ({ trial, setupError: `${e?.name}: ${e?.message}` }),
        ),
      );
    }
    records.push(...(await Promise.all(batch)));
  }
  return { kind, trials, wave, ms: Date.now() - started, records };
}
