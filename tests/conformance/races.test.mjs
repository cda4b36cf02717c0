// Concurrency (§3.5, §3.4.6, §3.4.9–3.4.11, §3.4.3): fire two conflicting writes at once,
// many times, and check that exactly one wins where the contract requires it, that losers
// append nothing, and that the event log and the entities agree.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useHarness } from '../support/harness.mjs';
import * as fixtures from '../support/storage.mjs';

const TRIALS = Number(process.env.RACE_TRIALS ?? 40); // ~50 s on 2 cores; raise for soak runs

const h = useHarness();

const eventsOf = async (runId, correlationId) =>
  (await fixtures.listAllEvents(h.world, runId)).filter(
    (e) => correlationId === undefined || e.correlationId === correlationId,
  );

/** Fires `a()` and `b()` together; alternates which one is issued first. */
function race(trial, a, b) {
  if (trial % 2 === 0) return Promise.allSettled([a(), b()]);
  return Promise.allSettled([b(), a()]).then(([rb, ra]) => [ra, rb]);
}

/** Counts outcomes per race so the log shows that both orders actually happened. */
function tally(label) {
  const counts = new Map();
  return {
    add(a, b) {
      const key = `${a.status === 'fulfilled' ? 'ok' : a.reason?.name}/${b.status === 'fulfilled' ? 'ok' : b.reason?.name}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
    print() {
      console.log(`${label}: ${[...counts].map(([k, n]) => `${k} ×${n}`).join(', ')}`);
    },
  };
}

const describeOutcome = (r) =>
  r.status === 'fulfilled' ? `ok ${r.value?.event?.eventType}` : `${r.reason?.name}: ${r.reason?.message}`;

test("§8.48 race: two step_completed for one step — exactly one wins, one step_completed event, output is the winner's", async () => {
  const outcomes = tally('two step_completed (A/B)');
  let runId;
  for (let trial = 0; trial < TRIALS; trial++) {
    if (trial % 10 === 0) ({ runId } = await fixtures.createRunningRun(h.world)); // keep each run's log short
    const { stepId } = await fixtures.createRunningStep(h.world, runId);
    const [a, b] = await race(
      trial,
      () => fixtures.completeStep(h.world, runId, stepId, fixtures.payload('A')),
      () => fixtures.completeStep(h.world, runId, stepId, fixtures.payload('B')),
    );
    const ctx = `trial ${trial}: ${describeOutcome(a)} | ${describeOutcome(b)}`;
    outcomes.add(a, b);
    assert.equal([a, b].filter((r) => r.status === 'fulfilled').length, 1, ctx);
    const loser = a.status === 'rejected' ? a : b;
    assert.equal(loser.reason?.name, 'EntityConflictError', ctx);
    const evs = await eventsOf(runId, stepId);
    assert.deepEqual(fixtures.typesOf(evs), ['step_created', 'step_started', 'step_completed'], ctx);
    const winner = a.status === 'fulfilled' ? a : b;
    assert.equal(evs[2].eventId, winner.value.event.eventId, ctx);
    const step = await h.world.steps.get(runId, stepId);
    assert.equal(step.status, 'completed', ctx);
    fixtures.assertBytes(step.output, fixtures.payload(a.status === 'fulfilled' ? 'A' : 'B'), ctx);
    fixtures.assertBytes(evs[2].eventData.result, step.output, `${ctx}: log and entity agree`);
  }
  outcomes.print();
});

test('§3.4.6 race: step_completed vs step_failed — exactly one terminal event, matching the step status', async () => {
  const outcomes = tally('step_completed vs step_failed (completed/failed)');
  let runId;
  for (let trial = 0; trial < TRIALS; trial++) {
    if (trial % 10 === 0) ({ runId } = await fixtures.createRunningRun(h.world)); // keep each run's log short
    const { stepId } = await fixtures.createRunningStep(h.world, runId);
    const [completed, failed] = await race(
      trial,
      () => fixtures.completeStep(h.world, runId, stepId, fixtures.payload('win')),
      () => fixtures.failStep(h.world, runId, stepId, 'lost', 'S'),
    );
    const ctx = `trial ${trial}: ${describeOutcome(completed)} | ${describeOutcome(failed)}`;
    outcomes.add(completed, failed);
    assert.equal([completed, failed].filter((r) => r.status === 'fulfilled').length, 1, ctx);
    assert.equal((completed.status === 'rejected' ? completed : failed).reason?.name, 'EntityConflictError', ctx);
    const terminal = (await eventsOf(runId, stepId)).filter(
      (e) => e.eventType === 'step_completed' || e.eventType === 'step_failed',
    );
    assert.equal(terminal.length, 1, ctx);
    const step = await h.world.steps.get(runId, stepId);
    const expected = completed.status === 'fulfilled' ? 'completed' : 'failed';
    assert.equal(step.status, expected, ctx);
    assert.equal(terminal[0].eventType, `step_${expected}`, ctx);
    if (expected === 'completed') {
      fixtures.assertBytes(step.output, fixtures.payload('win'), ctx);
    } else {
      assert.equal(step.output, undefined, ctx);
      assert.equal(step.error?.message, 'lost', ctx);
    }
  }
  outcomes.print();
});

test('§8.64 race: two hook_created with one token in different runs — one hook entity, the other a hook_conflict; the hook row lives iff its run holds it', async () => {
  const outcomes = tally('two hook_created (r1/r2)');
  for (let trial = 0; trial < TRIALS; trial++) {
    const r1 = await fixtures.createRunningRun(h.world);
    const r2 = await fixtures.createRunningRun(h.world);
    const token = fixtures.newToken('race');
    const [h1, h2] = [fixtures.newHookId(), fixtures.newHookId()];
    const create = (runId, hookId) => () =>
      h.world.events.create(runId, {
        eventType: 'hook_created',
        correlationId: hookId,
        eventData: { token, metadata: fixtures.payload(hookId), isWebhook: false },
      });
    const [a, b] = await race(trial, create(r1.runId, h1), create(r2.runId, h2));
    const ctx = `trial ${trial}: ${describeOutcome(a)} | ${describeOutcome(b)}`;
    assert.ok(a.status === 'fulfilled' && b.status === 'fulfilled', `${ctx}: hook_created must not throw`);
    const kinds = [a.value.event.eventType, b.value.event.eventType];
    assert.deepEqual([...kinds].sort(), ['hook_conflict', 'hook_created'], ctx);
    const aWon = kinds[0] === 'hook_created';
    const asOutcome = (won) => (won ? { status: 'fulfilled' } : { status: 'rejected', reason: { name: 'conflict' } });
    outcomes.add(asOutcome(aWon), asOutcome(!aWon));
    const [winRun, loseRun, winHook, loseHook, loseRes] = aWon
      ? [r1.runId, r2.runId, h1, h2, b.value]
      : [r2.runId, r1.runId, h2, h1, a.value];
    assert.equal(loseRes.hook, undefined, ctx);
    fixtures.assertSameData(loseRes.event.eventData, { token, conflictingRunId: winRun }, ctx);
    // Entities: exactly one hook holds the token, and it is the winner's.
    const holder = await h.world.hooks.getByToken(token);
    assert.equal(holder.hookId, winHook, ctx);
    assert.equal(holder.runId, winRun, ctx);
    fixtures.assertBytes(holder.metadata, fixtures.payload(winHook), ctx);
    assert.deepEqual(
      (await h.world.hooks.list({ runId: winRun })).data.map((x) => x.hookId),
      [winHook],
      ctx,
    );
    assert.deepEqual((await h.world.hooks.list({ runId: loseRun })).data, [], ctx);
    // Logs agree with the entities.
    assert.deepEqual(fixtures.typesOf(await eventsOf(winRun, winHook)), ['hook_created'], ctx);
    assert.deepEqual(fixtures.typesOf(await eventsOf(loseRun, loseHook)), ['hook_conflict'], ctx);
    // Once the winner's run ends, its row is gone and the token is free.
    await h.world.events.create(winRun, {
      eventType: 'run_completed',
      eventData: { output: fixtures.payload('done') },
    });
    try {
      await h.world.hooks.getByToken(token);
      assert.fail(`${ctx}: hook row survived its run`);
    } catch (err) {
      assert.equal(err.name, 'HookNotFoundError', `${ctx}: ${err.message}`);
    }
  }
  outcomes.print();
});

test('§3.4.3 race: run_completed vs run_cancelled — exactly one wins, one terminal event matching the run status, hooks deleted', async () => {
  const outcomes = tally('run_completed vs run_cancelled (completed/cancelled)');
  for (let trial = 0; trial < TRIALS; trial++) {
    const { runId } = await fixtures.createRunningRun(h.world);
    const hook = await fixtures.createHook(h.world, runId);
    const [completed, cancelled] = await race(
      trial,
      () =>
        h.world.events.create(runId, { eventType: 'run_completed', eventData: { output: fixtures.payload('out') } }),
      () => h.world.events.create(runId, { eventType: 'run_cancelled' }),
    );
    const ctx = `trial ${trial}: ${describeOutcome(completed)} | ${describeOutcome(cancelled)}`;
    outcomes.add(completed, cancelled);
    assert.equal([completed, cancelled].filter((r) => r.status === 'fulfilled').length, 1, ctx);
    assert.equal((completed.status === 'rejected' ? completed : cancelled).reason?.name, 'EntityConflictError', ctx);
    const expected = completed.status === 'fulfilled' ? 'completed' : 'cancelled';
    const run = await h.world.runs.get(runId);
    assert.equal(run.status, expected, ctx);
    if (expected === 'completed') fixtures.assertBytes(run.output, fixtures.payload('out'), ctx);
    else assert.equal(run.output, undefined, ctx);
    const terminal = (await eventsOf(runId)).filter((e) =>
      ['run_completed', 'run_failed', 'run_cancelled'].includes(e.eventType),
    );
    assert.deepEqual(fixtures.typesOf(terminal), [`run_${expected}`], ctx);
    assert.deepEqual((await h.world.hooks.list({ runId })).data, [], `${ctx}: hooks deleted`);
    await assert.rejects(
      h.world.hooks.getByToken(hook.token),
      { name: 'HookNotFoundError' },
      `${ctx}: hook survived termination`,
    );
  }
  outcomes.print();
});

test('§8.73 race: hook_received vs hook_disposed — never a hook_received after hook_disposed; a losing receive gets HookNotFoundError', async () => {
  const outcomes = tally('hook_received vs hook_disposed (received/disposed)');
  let runId;
  for (let trial = 0; trial < TRIALS; trial++) {
    if (trial % 10 === 0) ({ runId } = await fixtures.createRunningRun(h.world)); // keep each run's log short
    const { hookId, token } = await fixtures.createHook(h.world, runId);
    const [received, disposed] = await race(
      trial,
      () => fixtures.receiveHook(h.world, runId, hookId, token, fixtures.payload(`p${trial}`)),
      () => fixtures.disposeHook(h.world, runId, hookId, token),
    );
    const ctx = `trial ${trial}: ${describeOutcome(received)} | ${describeOutcome(disposed)}`;
    outcomes.add(received, disposed);
    assert.equal(disposed.status, 'fulfilled', ctx);
    if (received.status === 'rejected') assert.equal(received.reason?.name, 'HookNotFoundError', ctx);
    const evs = await eventsOf(runId, hookId);
    const expected =
      received.status === 'fulfilled'
        ? ['hook_created', 'hook_received', 'hook_disposed']
        : ['hook_created', 'hook_disposed'];
    assert.deepEqual(fixtures.typesOf(evs), expected, ctx);
    if (received.status === 'fulfilled') {
      assert.equal(evs[1].eventId, received.value.event.eventId, ctx);
      fixtures.assertBytes(evs[1].eventData.payload, fixtures.payload(`p${trial}`), ctx);
    }
    assert.equal(evs.at(-1).eventId, disposed.value.event.eventId, ctx);
    await assert.rejects(
      h.world.hooks.get(hookId),
      { name: 'HookNotFoundError' },
      `${ctx}: hook row survived disposal`,
    );
  }
  outcomes.print();
});

test('§8.44 race: step_started vs step_completed — never a step_started after step_completed; entity matches the log', async () => {
  const outcomes = tally('step_started vs step_completed (started/completed)');
  let runId;
  for (let trial = 0; trial < TRIALS; trial++) {
    if (trial % 10 === 0) ({ runId } = await fixtures.createRunningRun(h.world)); // keep each run's log short
    const { stepId } = await fixtures.createRunningStep(h.world, runId);
    const [started, completed] = await race(
      trial,
      () => fixtures.startStep(h.world, runId, stepId, fixtures.STEP_NAME).then((r) => r.res),
      () => fixtures.completeStep(h.world, runId, stepId, fixtures.payload('done')),
    );
    const ctx = `trial ${trial}: ${describeOutcome(started)} | ${describeOutcome(completed)}`;
    outcomes.add(started, completed);
    assert.equal(completed.status, 'fulfilled', ctx);
    if (started.status === 'rejected') assert.equal(started.reason?.name, 'EntityConflictError', ctx);
    const evs = await eventsOf(runId, stepId);
    const expected =
      started.status === 'fulfilled'
        ? ['step_created', 'step_started', 'step_started', 'step_completed']
        : ['step_created', 'step_started', 'step_completed'];
    assert.deepEqual(fixtures.typesOf(evs), expected, ctx);
    const step = await h.world.steps.get(runId, stepId);
    assert.equal(step.status, 'completed', ctx);
    assert.equal(step.attempt, started.status === 'fulfilled' ? 2 : 1, ctx);
    if (started.status === 'fulfilled') assert.equal(started.value.step.attempt, 2, ctx);
  }
  outcomes.print();
});

test('§8.14 §3.1 race: resilient run_started vs run_created for a new run — one run, exactly one run_created then one run_started', async () => {
  const outcomes = tally('resilient run_started vs run_created (started/created)');
  for (let trial = 0; trial < Math.ceil(TRIALS / 2); trial++) {
    const runId = fixtures.newRunId();
    const input = fixtures.payload(`in${trial}`);
    // Every third trial holds run_created back a little, so that both commit orders occur.
    const lag = trial % 3 === 2 ? 60 : 0;
    const [started, created] = await race(
      trial,
      () =>
        h.world.events.create(runId, {
          eventType: 'run_started',
          eventData: { deploymentId: fixtures.DEPLOYMENT_ID, workflowName: fixtures.WORKFLOW_NAME, input },
        }),
      () => fixtures.sleep(lag).then(() => h.world.events.create(runId, fixtures.runCreatedEvent({ input }))),
    );
    const ctx = `trial ${trial}: ${describeOutcome(started)} | ${describeOutcome(created)}`;
    outcomes.add(started, created);
    assert.equal(started.status, 'fulfilled', `${ctx}: a resilient start always succeeds`);
    if (created.status === 'rejected') assert.equal(created.reason?.name, 'EntityConflictError', ctx);
    assert.equal(started.value.run.status, 'running', ctx);
    const log = await eventsOf(runId);
    assert.deepEqual(fixtures.typesOf(log), ['run_created', 'run_started'], ctx);
    assert.equal(log[1].eventId, started.value.event.eventId, ctx);
    if (created.status === 'fulfilled') assert.equal(log[0].eventId, created.value.event.eventId, ctx);
    const run = await h.world.runs.get(runId);
    assert.equal(run.status, 'running', ctx);
    fixtures.assertBytes(run.input, input, ctx);
  }
  outcomes.print();
});
