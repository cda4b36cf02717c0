// Recovery with the real runtime: the Node host that serves the workflow routes goes down
// mid-run and comes back (deliveries fail meanwhile and are retried by Queues), and a run
// whose first message was lost is found and re-enqueued by world.start() (contract §5.6).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startApp, workflowIds } from '../../examples/basic/app.mjs';
import { eventTypes } from '../../examples/basic/scenarios.mjs';

let app;
before(async () => {
  app = await startApp();
});
after(async () => {
  await app?.close();
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, probe, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('a run completes when the host of its routes restarts while it sleeps', async () => {
  const run = await app.start('shortSleep', [1500]);
  await until('the sleep', async () => (await eventTypes(app.world, run.runId)).includes('wait_created'));
  await app.stopHost();
  // The wake-up delivery and its first retries find the host down.
  await sleep(2500);
  await app.restartHost();
  assert.deepEqual(await run.returnValue, { sleptAtLeast: true });
  assert.equal(await run.status, 'completed');
  const events = await eventTypes(app.world, run.runId);
  assert.equal(events.filter((t) => t === 'run_completed').length, 1);
});

test('world.start() re-enqueues a run whose first message was lost, and it completes', async () => {
  // What a crash between start()'s two parallel calls leaves: the run exists, no message.
  const runId = `wrun_${(await import('ulid')).ulid()}`;
  const { SPEC_VERSION_CURRENT } = await import('@workflow/world');
  const { dehydrateWorkflowArguments } = await import('@workflow/core/serialization').catch(() => ({}));
  assert.ok(dehydrateWorkflowArguments, 'the runtime exposes its argument serializer');
  const input = await dehydrateWorkflowArguments([20, 22], runId, undefined, []);
  await app.world.events.create(runId, {
    eventType: 'run_created',
    specVersion: SPEC_VERSION_CURRENT,
    eventData: { deploymentId: await app.world.getDeploymentId(), workflowName: workflowIds().sequential, input },
  });
  await sleep(500);
  assert.equal((await app.world.runs.get(runId)).status, 'pending', 'nothing runs it before recovery');
  await app.world.start();
  const run = app.api.getRun(runId);
  assert.deepEqual(await run.returnValue, { sum: 42, doubled: 84 });
});
