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
import { createWorld, handleQueueMessage, serveWorld } from '../../js/worker.js';
import { withBindingCounts } from '../support/counting.mjs';
import { serveBindings } from '../support/gateway.mjs';
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
 * Registers the probe as this isolate's handler for `__wkf_workflow_`, once per line: the
 * 4.x World's records as `isolate`, the 5.x World's as `isolate-v5`, so a test sees which
 * line's handler a message reached (createQueueHandler registers as a side effect; the
 * returned HTTP handler is unused).
 */
function registerTestHandlers(env) {
  createWorld(env).createQueueHandler('__wkf_workflow_', createProbe(env.DB, 'isolate'));
  createWorld(env, { specVersion: 7 }).createQueueHandler('__wkf_workflow_', createProbe(env.DB, 'isolate-v5'));
}

/**
 * The consumer's env with its Queue bindings recording every send's `delaySeconds` in the
 * D1 table `test_sends` (tests/support/queue-node.mjs `recordedDelays`), so tests can prove
 * no send asks for more than the platform's maximum.
 */
function recordingEnv(env) {
  const record = async (queue, delaySeconds) => {
    await env.DB.prepare(SENDS_DDL).run();
    await env.DB.prepare('INSERT INTO test_sends (queue, delay_seconds, at) VALUES (?, ?, ?)')
      .bind(queue, delaySeconds ?? 0, Date.now())
      .run();
  };
  const wrap = (binding, name) => ({
    async send(body, options) {
      await record(name, options?.delaySeconds);
      return binding.send(body, options);
    },
    async sendBatch(messages, options) {
      for (const m of messages) await record(name, m.delaySeconds ?? options?.delaySeconds);
      return binding.sendBatch(messages, options);
    },
  });
  return { ...env, WORKFLOW_QUEUE: wrap(env.WORKFLOW_QUEUE, 'workflow'), STEP_QUEUE: wrap(env.STEP_QUEUE, 'step') };
}

const SENDS_DDL =
  'CREATE TABLE IF NOT EXISTS test_sends (seq INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT, delay_seconds INTEGER, at INTEGER)';

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

// tests/support/harness.mjs names the same path.
const REMOTE_PATH = '/workflow-world';

export default {
  async fetch(request, env) {
    const gateway = await serveBindings(env, request);
    if (gateway) return gateway;
    const url = new URL(request.url);
    // The World over HTTP, as an app mounts it, reporting what each call did on the
    // bindings (tests/support/harness.mjs adds it to the harness's counts).
    if (url.pathname === REMOTE_PATH) return withBindingCounts(env, (counted) => serveWorld(request, counted));
    if (url.pathname === '/health') return new Response('ok');
    if (url.pathname === '/queue' && request.method === 'POST') return queueFromWorker(request, env);
    if (url.pathname === '/race' && request.method === 'POST') {
      // Race trials inside workerd (tests/support/race-trials.mjs, tests/reliability/races.test.mjs).
      try {
        const spec = await request.json();
        const world = spec.specVersion === 7 ? createWorld(env, { specVersion: 7 }) : createWorld(env);
        return Response.json(await runRaceTrials(world, spec));
      } catch (e) {
        return Response.json({ error: `${e?.name}: ${e?.message}` }, { status: 500 });
      }
    }
    if (url.pathname === '/bulk-hook-received' && request.method === 'POST') {
      // Grows a spec-7 run's log inside workerd (tests/conformance-v5/reads.test.mjs): from
      // Node each write crosses the harness proxy (~100 ms), here it is a direct binding call.
      const { runId, hookId, count } = await request.json();
      const world = createWorld(env, { specVersion: 7 });
      for (let i = 0; i < count; i += 25) {
        await Promise.all(
          Array.from({ length: Math.min(25, count - i) }, () =>
            world.events.create(runId, {
              eventType: 'hook_received',
              correlationId: hookId,
              eventData: { payload: new TextEncoder().encode('bulk') },
            }),
          ),
        );
      }
      return Response.json({ ok: true });
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
    const recorded = recordingEnv(env);
    // The seed example of the README, verbatim (with the recording env).
    for (const message of batch.messages) {
      try {
        await handleQueueMessage(recorded, message);
        message.ack();
      } catch {
        message.retry();
      }
    }
  },
};
