// Fixture Worker for the local harness (wrangler.toml `main`). It imports the package
// through its Worker entry (js/worker.js: the .wasm as a compiled module), so the tests
// can prove the World runs inside workerd, not only from Node.
//
// Queue half: this Worker is the consumer of workflow-runs and workflow-steps. Before each
// batch it registers the probe of tests/support/queue-probe.mjs as the
// in-isolate handler for `__wkf_workflow_` ONLY, so workflow messages are handled here
// directly, while `__wkf_step_*` messages take the HTTP path to WORKFLOW_APP_URL (the Node
// app of tests/queue/http.test.mjs). workflow-dlq is consumed by a second Worker,
// tests/workers/dlq-worker.js.
import { ulid } from 'ulid';
import { createWorld, handleQueueMessage } from '../../js/worker.js';
import { createProbe, decodeTestValue } from '../support/queue-probe.mjs';
import { runRaceTrials } from '../support/race-trials.mjs';

/** Drives one run through the storage API inside the Worker and reports what it saw. */
async function selftest(env) {
  const world = createWorld(env);
  const runId = `wrun_${ulid()}`;
  const created = await world.events.create(runId, {
    eventType: 'run_created',
    eventData: { deploymentId: 'selftest', workflowName: 'selftest', input: new Uint8Array([0, 42, 0]) },
  });
  const started = await world.events.create(runId, { eventType: 'run_started' });
  await world.events.create(runId, {
    eventType: 'step_created',
    correlationId: 'step_1',
    eventData: { stepName: 'add', input: new Uint8Array([1]) },
  });
  await world.events.create(runId, {
    eventType: 'step_started',
    correlationId: 'step_1',
    eventData: { stepName: 'add' },
  });
  await world.events.create(runId, {
    eventType: 'step_completed',
    correlationId: 'step_1',
    eventData: { stepName: 'add', result: new Uint8Array([0]) },
  });
  await world.events.create(runId, { eventType: 'run_completed', eventData: { output: new Uint8Array([7]) } });
  const run = await world.runs.get(runId);
  const events = await world.events.list({ runId });
  let conflict;
  try {
    await world.events.create(runId, { eventType: 'run_completed', eventData: {} });
  } catch (e) {
    conflict = e.name;
  }
  return {
    runId: created.run.runId,
    startedAtIsDate: started.run.startedAt instanceof Date,
    status: run.status,
    inputIsBytes: run.input instanceof Uint8Array,
    input: Array.from(run.input),
    output: Array.from(run.output),
    eventTypes: events.data.map((e) => e.eventType),
    conflict,
  };
}

/**
 * Registers the probe as this isolate's handler for `__wkf_workflow_`
 * (createQueueHandler registers as a side effect; the returned HTTP handler is unused).
 */
function registerTestHandlers(env) {
  createWorld(env).createQueueHandler('__wkf_workflow_', createProbe(env.DB, 'isolate'));
}

/**
 * POST /queue `{queueName, payload, opts?}` (payload in the encodeTestValue form of
 * queue-probe.mjs): world.queue() from inside workerd; answers `{messageId}` or `{error}`.
 */
async function queueFromWorker(request, env) {
  const { queueName, payload, opts } = await request.json();
  try {
    return Response.json(await createWorld(env).queue(queueName, decodeTestValue(payload), opts));
  } catch (e) {
    return Response.json({ error: `${e?.name}: ${e?.message}` }, { status: 500 });
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/health') return new Response('ok');
    if (url.pathname === '/queue' && request.method === 'POST') return queueFromWorker(request, env);
    if (url.pathname === '/race' && request.method === 'POST') {
      // Race trials inside workerd (tests/support/race-trials.mjs, tests/reliability/races.test.mjs).
      try {
        return Response.json(await runRaceTrials(createWorld(env), await request.json()));
      } catch (e) {
        return Response.json({ error: `${e?.name}: ${e?.message}` }, { status: 500 });
      }
    }
    if (url.pathname === '/selftest') {
      try {
        return Response.json(await selftest(env));
      } catch (e) {
        return Response.json({ error: `${e.name}: ${e.message}` }, { status: 500 });
      }
    }
    return new Response('not found', { status: 404 });
  },

  async queue(batch, env) {
    registerTestHandlers(env);
    // The seed example of the README, verbatim.
    for (const message of batch.messages) {
      try {
        await handleQueueMessage(env, message);
        message.ack();
      } catch {
        message.retry();
      }
    }
  },
};
