// Reliability end to end, storage faults and forged requests, with the real runtime
// (workflow 4.8.9) on the example app (tests/support/e2e-faults.mjs):
//
//   1. D1 faults on the Node host: 20% of the batches the runtime's routes make fail,
//      half before they run and half after they commit with the reply lost;
//   2. D1 faults in the consumer Worker: 20% of its batches (delivery records, claims)
//      fail the same two ways;
//   3. forged HTTP deliveries with WORKFLOW_SECRET set: unsigned, wrongly signed, or a
//      signed request replayed with an altered body get 401 and change nothing;
//   4. hook tokens: what an attacker needs to compute the runtime's webhook tokens.
//
// Phases 1–2 run every example scenario at once and assert every run completes with the
// right result, nothing is duplicated or lost, and the store's invariants hold.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { customRandom, urlAlphabet } from 'nanoid';
import seedrandom from 'seedrandom';
import { decodeTime, monotonicFactory } from 'ulid';
import { workflowIds } from '../../examples/basic/app.mjs';
import { assertClean, runAll, settleRuns, sleep, startFaultApp } from '../support/e2e-faults.mjs';
import { report } from '../support/invariants.mjs';

let fx;
const figures = {};
before(async () => {
  fx = await startFaultApp();
});
after(async () => {
  report('e2e-faults', figures);
  await fx?.app.close();
});

test("20% of the Node host's D1 batches fail (half before running, half after committing): every run completes with the right result; nothing lost or duplicated", async () => {
  const label = 'Node host D1 faults 20%';
  Object.assign(fx.d1.plan, { rate: 0.2, mode: 'mixed', seed: 42 });
  const start = { ...fx.d1.stats };
  let phase;
  try {
    phase = await runAll(fx, label, { attemptsMayGrow: true });
  } finally {
    fx.d1.plan.rate = 0;
  }
  await settleRuns(fx.db, phase.runIds);
  figures[label] = {
    scenarios: phase.scenarios,
    ms: phase.ms,
    flakyStepSucceededOnAttempt: phase.flakyStepSucceededOnAttempt,
    faults: {
      beforeCommit: fx.d1.stats.before - start.before,
      replyLost: fx.d1.stats.after - start.after,
      batches: fx.d1.stats.batches - start.batches,
    },
    ...(await assertClean(fx, label, phase.runIds)),
  };
  assert.ok(
    figures[label].faults.beforeCommit > 0 && figures[label].faults.replyLost > 0,
    JSON.stringify(figures[label].faults),
  );
});

test("20% of the consumer Worker's D1 batches fail (half before running, half after committing): every message is retried, every run completes right; nothing lost or duplicated", async () => {
  const label = 'consumer D1 faults 20%';
  await fx.consumerFaults({ d1: { rate: 0.2, mode: 'mixed', seed: 7 } });
  let phase;
  let consumer;
  try {
    phase = await runAll(fx, label, { attemptsMayGrow: true });
  } finally {
    consumer = await fx.consumerCounters();
    await fx.consumerFaults({});
  }
  await settleRuns(fx.db, phase.runIds);
  figures[label] = {
    scenarios: phase.scenarios,
    ms: phase.ms,
    flakyStepSucceededOnAttempt: phase.flakyStepSucceededOnAttempt,
    faults: { beforeCommit: consumer.d1.before, replyLost: consumer.d1.after, batches: consumer.d1.batches },
    messagesRetried: consumer.counters.retried,
    ...(await assertClean(fx, label, phase.runIds)),
  };
  assert.ok(consumer.d1.before + consumer.d1.after > 0);
});

test('WORKFLOW_SECRET set: signed deliveries run the workflows; unsigned, wrongly signed, or altered-body requests to the real flow and step routes get 401 and change nothing', async () => {
  const SECRET = `reliability-secret-${Date.now()}`;
  fx.env.WORKFLOW_SECRET = SECRET; // the Node host's routes check it on every request
  await fx.consumerFaults({ secret: SECRET }); // the consumer signs with it
  const core = await import('../../pkg/world_cloudflare.js');
  try {
    const { runIds } = await runAll(fx, 'signed deliveries', { only: ['sequential', 'hook'] });
    await settleRuns(fx.db, runIds);

    // A run waiting on its hook is the target.
    const token = `forge-${Date.now()}`;
    const run = await fx.app.start('hooked', [token]);
    const deadline = Date.now() + 20_000;
    while (!(await fx.app.world.hooks.getByToken(token).catch(() => null))) {
      if (Date.now() > deadline) assert.fail('the hook was never created');
      await sleep(50);
    }
    const count = async () =>
      (await fx.db.prepare('SELECT count(*) AS n FROM events WHERE run_id = ?').bind(run.runId).first()).n;
    const before = await count();
    const flowQueue = `__wkf_workflow_${workflowIds().hooked}`;
    const stepQueue = '__wkf_step_step//./workflows/basic//add';
    const body = JSON.stringify({ runId: run.runId, requestedAt: new Date().toISOString() });
    const stepBody = JSON.stringify({
      workflowName: workflowIds().hooked,
      workflowRunId: run.runId,
      workflowStartedAt: Date.now(),
      stepId: 'step_forged',
    });
    const post = (path, queueName, text, headers = {}) =>
      fetch(`${fx.app.base}/.well-known/workflow/v1/${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-vqs-queue-name': queueName,
          'x-vqs-message-id': 'msg_01KFORGED0000000000000000',
          'x-vqs-message-attempt': '1',
          ...headers,
        },
        body: text,
      });
    const sign = (queueName, text) => core.signDelivery(SECRET, queueName, 'msg_01KFORGED0000000000000000', '1', text);
    const signedOther = sign(flowQueue, JSON.stringify({ runId: run.runId, other: true }));
    const wrongSecret = core.signDelivery('not-the-secret', flowQueue, 'msg_01KFORGED0000000000000000', '1', body);
    const cases = {
      'flow, unsigned': () => post('flow', flowQueue, body),
      'flow, garbage signature': () => post('flow', flowQueue, body, { 'x-wcf-signature': 'garbage' }),
      'flow, signed with another secret': () => post('flow', flowQueue, body, { 'x-wcf-signature': wrongSecret }),
      'flow, a signed request replayed with an altered body': () =>
        post('flow', flowQueue, body, { 'x-wcf-signature': signedOther }),
      'flow, signed for another queue name': () =>
        post('flow', flowQueue, body, { 'x-wcf-signature': sign(`${flowQueue}x`, body) }),
      'flow, a signature 6 minutes old': () => {
        const realNow = Date.now;
        Date.now = () => realNow() - 6 * 60_000;
        let old;
        try {
          old = sign(flowQueue, body);
        } finally {
          Date.now = realNow;
        }
        return post('flow', flowQueue, body, { 'x-wcf-signature': old });
      },
      'step, unsigned': () => post('step', stepQueue, stepBody),
      'step, signed with another secret': () =>
        post('step', stepQueue, stepBody, {
          'x-wcf-signature': core.signDelivery('nope', stepQueue, 'msg_01KFORGED0000000000000000', '1', stepBody),
        }),
    };
    const statuses = {};
    for (const [name, send] of Object.entries(cases)) statuses[name] = (await send()).status;
    await sleep(500);
    assert.deepEqual(statuses, Object.fromEntries(Object.keys(cases).map((k) => [k, 401])));
    assert.equal(await count(), before, 'a forged request changed the run');
    assert.equal((await fx.app.world.runs.get(run.runId)).status, 'running');

    // A correctly signed delivery, replayed as is within the window, is accepted: the
    // runtime's replay is idempotent, so it appends nothing.
    const replay = await post('flow', flowQueue, body, { 'x-wcf-signature': sign(flowQueue, body) });
    assert.equal(replay.status, 200, await replay.text());
    await sleep(300);
    assert.equal(await count(), before, 'a signed replay appended events');

    await fx.app.api.resumeHook(token, { message: 'after the forgeries' });
    assert.equal(await run.returnValue, 'after the forgeries');
    figures['forged requests'] = {
      forged: Object.keys(cases).length,
      rejected401: Object.keys(cases).length,
      eventsAppended: 0,
      signedReplayAccepted: 1,
      signedReplayAppended: 0,
      signedRuns: runIds.length + 1,
    };
  } finally {
    delete fx.env.WORKFLOW_SECRET;
    await fx.consumerFaults({});
  }
});

test('hook tokens: distinct per run and not a function of the run id alone; computable from (runId, workflowName, startedAt) — measured', async () => {
  const N = 6;
  const runs = [];
  for (let i = 0; i < N; i++) runs.push(await fx.app.start('webhooked'));
  const hooks = [];
  for (const run of runs) {
    const deadline = Date.now() + 20_000;
    let hook;
    while (!(hook = (await fx.app.world.hooks.list({ runId: run.runId })).data[0])) {
      if (Date.now() > deadline) assert.fail('no webhook');
      await sleep(50);
    }
    const stored = await fx.app.world.runs.get(run.runId);
    hooks.push({
      runId: run.runId,
      workflowName: stored.workflowName,
      startedAt: +stored.startedAt,
      token: hook.token,
      hookId: hook.hookId,
    });
  }
  assert.equal(new Set(hooks.map((x) => x.token)).size, N, 'tokens are distinct per run');

  // core 4.8.9 (workflow.js, vm/index.js): Math.random in the workflow VM is
  // seedrandom(`${runId}:${workflowName}:${startedAt}`); createHook draws a ULID for the
  // hook id, then nanoid(21) over urlAlphabet for the token. Same draws, same token.
  const derive = (seed, startedAt) => {
    const rng = seedrandom(seed);
    const hookUlid = monotonicFactory(() => rng())(startedAt);
    const token = customRandom(urlAlphabet, 21, (size) => new Uint8Array(size).map(() => 256 * rng()))();
    return { hookId: `hook_${hookUlid}`, token };
  };
  let derived = 0;
  const windows = [];
  for (const x of hooks) {
    const full = derive(`${x.runId}:${x.workflowName}:${x.startedAt}`, x.startedAt);
    assert.deepEqual(
      full,
      { hookId: x.hookId, token: x.token },
      'the token follows from runId, workflowName and startedAt',
    );
    derived++;
    assert.notEqual(
      derive(`${x.runId}:${x.workflowName}:${x.startedAt + 1}`, x.startedAt + 1).token,
      x.token,
      'startedAt off by 1 ms',
    );
    assert.notEqual(derive(x.runId, x.startedAt).token, x.token, 'the run id alone');
    // How far startedAt is from the time in the run id's ULID: the search space of an
    // attacker who knows the run id and the workflow name but not startedAt.
    windows.push(x.startedAt - decodeTime(x.runId.slice(5)));
  }
  for (const x of hooks) {
    await fetch(`${fx.app.base}/.well-known/workflow/v1/webhook/${encodeURIComponent(x.token)}`, {
      method: 'POST',
      body: 'end',
    });
  }
  await settleRuns(
    fx.db,
    hooks.map((x) => x.runId),
  );
  figures['hook tokens'] = {
    runs: N,
    distinctTokens: N,
    derivedFromRunIdWorkflowNameStartedAt: derived,
    derivedFromRunIdAlone: 0,
    startedAtMinusRunIdTimeMs: { min: Math.min(...windows), max: Math.max(...windows) },
  };
});
