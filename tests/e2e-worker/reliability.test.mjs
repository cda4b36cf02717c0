// Reliability end to end inside a Worker: the example Worker (examples/worker, its workflows
// executed in workerd by workflow 5.0.0-beta.55 on QuickJS) under what Queues and machines
// do to it.
//
// - Duplicate delivery: every queue message handled twice, one copy after the other and both
//   at once (tests/workers/example-twice.js wraps the example's own queue()). Every example
//   scenario still ends with its right result and an event log in which nothing that must
//   happen once happened twice (tests/support/example-worker.mjs logProblems).
// - A malformed message on the queue: logged by the consumer, acknowledged on its first
//   delivery, never dead-lettered, and the consumer goes on running workflows.
// - Crashes: `wrangler dev --persist-to <dir>` of the example is killed with SIGKILL (no
//   shutdown code runs) mid-sleep and mid-step, started again on the same D1 / R2 state, and
//   its cron trigger (world.start(), through local workerd's /cdn-cgi/local/scheduled)
//   re-enqueues the runs whose messages died with the process: local Queues live in
//   workerd's memory, so every in-flight message is lost, the worst case (Cloudflare Queues
//   keep accepted messages).
//   A delivery an executor (WorkflowExecutor) had taken lives on in its Durable Object: its
//   alarm runs again after the restart, as the next attempt, with no cron.
//   Each run completes with its right result and no step result lost or recorded twice. The
//   step a killed Worker was running runs again once its owner's lease is over: 900 s in the
//   example (a consumer invocation's wall-time limit), 3 s here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { workerClient } from '../../examples/worker/app.mjs';
import { runScenario, scenarios } from '../../examples/worker/scenarios.mjs';
import {
  buildExampleWorker,
  EXAMPLE,
  eventually,
  logOf,
  logProblems,
  sleep,
  startsByStep,
} from '../support/example-worker.mjs';
import { gatewayEnv } from '../support/gateway.mjs';
import { ROOT } from '../support/harness.mjs';
import { freePort, kill, launch, processEnv } from '../support/processes.mjs';

before(() => buildExampleWorker());

/**
 * The example Worker behind tests/workers/example-twice.js, in wrangler's test harness, with a
 * WORKFLOW_ENCRYPTION_KEY: its runs are encrypted by core inside the Worker.
 */
async function startTwice() {
  const { createTestHarness } = await import('wrangler');
  const gatewayToken = randomUUID();
  const vars = { WORKFLOW_ENCRYPTION_KEY: 'e2e-worker reliability secret', BINDINGS_GATEWAY_TOKEN: gatewayToken };
  const harness = createTestHarness({
    root: ROOT,
    workers: [{ configPath: './tests/workers/example-twice.wrangler.toml', vars }],
  });
  await harness.listen();
  const worker = harness.getWorker('world-cloudflare-example-twice');
  await worker.applyD1Migrations('DB');
  // The reader's D1 through the Worker's gateway: one request per call (tests/support/gateway.mjs).
  const env = gatewayEnv(
    await worker.getEnv(),
    (route, init) => worker.fetch(`http://gateway${route}`, init),
    gatewayToken,
  );
  const { createWorld } = await import('../../js/node.js');
  const app = workerClient((pathname, init) => harness.fetch(pathname, init), createWorld(env, { specVersion: 7 }));
  const twice = async (mode) =>
    (await harness.fetch('/__twice', mode ? { method: 'POST', body: JSON.stringify({ mode }) } : undefined)).json();
  return { harness, env, app, twice };
}

describe('inside the Worker, encrypted runs, every message delivered twice', () => {
  let worker;
  before(async () => {
    worker = await startTwice();
  });
  after(() => worker?.harness.close());

  for (const mode of ['sequential', 'concurrent']) {
    test(`${mode} copies of every message: every scenario ends right, nothing in its log doubled`, async () => {
      await worker.twice(mode);
      for (const scenario of scenarios) {
        const result = await runScenario(worker.app, scenario);
        assert.deepEqual(result.problems, [], `${mode} ${scenario.name}: ${result.problems.join('; ')}`);
        const log = await logOf(worker.app.world, result.outcome.runId);
        assert.deepEqual(logProblems(log, result.outcome.status), [], `${mode} ${scenario.name}: its log`);
      }
      const { counters } = await worker.twice();
      assert.ok(counters.messages >= scenarios.length, `messages seen: ${JSON.stringify(counters)}`);
      assert.equal(counters.copies, 2 * counters.messages, 'each message handled twice');
      assert.equal(counters.deadLettered, 0, 'no message dead-lettered');
      console.log(`# ${mode} duplicates: ${JSON.stringify(counters)}`);
    });
  }

  test('V104 V105 encryption inside the Worker: the run keeps its run_created public key; a health check with runId publishes it', async () => {
    await worker.twice('once');
    const result = await runScenario(
      worker.app,
      scenarios.find((s) => s.name === 'sequential'),
    );
    assert.deepEqual(result.problems, []);
    const { runId } = result.outcome;
    const run = await worker.app.world.runs.get(runId, { resolveData: 'none' });
    const [created] = (await worker.app.world.events.list({ runId, pagination: { limit: 1 }, resolveData: 'all' }))
      .data;
    assert.equal(typeof run.encryptionPublicKey, 'string', 'V104: the run has a public key');
    assert.equal(run.encryptionPublicKey.length, 44, 'V104: 32 bytes in base64');
    assert.equal(run.encryptionPublicKey, created.eventData.encryptionPublicKey, "V104: it is run_created's");
    const health = await (await worker.app.fetch(`/health?runId=${runId}`)).json();
    assert.equal(health.healthy, true, JSON.stringify(health));
    assert.equal(health.encryptionPublicKey, run.encryptionPublicKey, 'V105: the probe publishes the same key');
  });

  /** Runs `scenario` with the executor's faults set to `faults`; its run's final status and log. */
  async function withFaults(faults, scenario) {
    await worker.twice('once');
    await worker.harness.fetch('/__faults', { method: 'POST', body: JSON.stringify(faults) });
    try {
      const runId = await worker.app.start(scenario, scenario === 'sequential' ? [2, 3] : [1]);
      const status = await worker.app.settle(runId, { timeoutMs: 60_000 });
      return { status, log: await logOf(worker.app.world, runId) };
    } finally {
      await worker.harness.fetch('/__faults', { method: 'POST', body: '{}' });
    }
  }

  test('a delivery that keeps failing in its executor is retried, then dead-lettered: its run fails, not hangs', async () => {
    const began = Date.now();
    const { status, log } = await withFaults({ fail: '//sequential' }, 'sequential');
    assert.equal(status.status, 'failed', JSON.stringify(status));
    const failed = log.find((e) => e.eventType === 'run_failed');
    assert.equal(failed?.eventData?.errorCode, 'MAX_DELIVERIES_EXCEEDED', JSON.stringify(failed));
    // WORKFLOW_EXECUTOR_MAX_RETRIES = 2: tries at 0, +1 s and +3 s (crates/core/src/queue/delivery.rs).
    const ms = Date.now() - began;
    assert.ok(ms >= 3_000, `the retries waited their delays: ${ms} ms`);
    assert.ok(!log.some((e) => e.eventType.startsWith('step_')), 'no step ran');
    const { counters } = await worker.twice();
    assert.equal(counters.retried, 0, 'the queue message was acknowledged once the executor held it');
  });

  test('a message no executor takes is retried by Queues, then the dead-letter queue fails its run', async () => {
    const { status, log } = await withFaults({ refuse: '//parallel' }, 'parallel');
    assert.equal(status.status, 'failed', JSON.stringify(status));
    const failed = log.find((e) => e.eventType === 'run_failed');
    assert.equal(failed?.eventData?.errorCode, 'MAX_DELIVERIES_EXCEEDED', JSON.stringify(failed));
    const { counters } = await worker.twice();
    assert.ok(counters.retried >= 60, `Queues retried it max_retries times: ${JSON.stringify(counters)}`);
    assert.equal(counters.deadLettered, 1, 'then dead-lettered it');
  });

  test('a malformed message is logged and acknowledged on its first delivery; the consumer keeps running workflows', async () => {
    await worker.twice('once');
    worker.harness.clearLogs();
    const bodies = {
      'not an envelope': 'this is not an envelope {',
      'an empty object': {},
      'a number': 42,
      'an unknown queue': { wcf: 1, queueName: '__wkf_nope_x', messageId: 'msg_x', sendId: 'x', payload: '' },
      'raw bytes': new Uint8Array([0, 1, 2, 0xff]),
    };
    for (const body of Object.values(bodies)) await worker.env.WORKFLOW_QUEUE.send(body);
    const seen = await eventually('every malformed message delivered', async () => {
      const { deliveries } = await worker.twice();
      return deliveries.length >= Object.keys(bodies).length && deliveries;
    });
    for (const delivery of seen) {
      assert.equal(delivery.outcome, 'ack', `acknowledged: ${JSON.stringify(delivery)}`);
      assert.equal(delivery.attempts, 1, `on its first delivery: ${JSON.stringify(delivery)}`);
    }
    const after = await runScenario(
      worker.app,
      scenarios.find((s) => s.name === 'sequential'),
    );
    assert.deepEqual(after.problems, [], 'a workflow after the malformed messages');
    await sleep(500);
    const { counters } = await worker.twice();
    assert.equal(counters.retried, 0, 'nothing retried');
    assert.equal(counters.deadLettered, 0, 'nothing dead-lettered');
    const drops = worker.harness
      .getLogs()
      .map(({ message }) => message)
      .filter((message) => message.includes('[world-cloudflare] dropped queue message'));
    assert.equal(drops.length, Object.keys(bodies).length, `one log line per malformed message: ${drops.join('\n')}`);
  });
});

describe('inside the Worker, the workerd process killed and restarted on its persisted state', () => {
  const CONFIG = path.join(EXAMPLE, 'wrangler.toml');
  // A copy: WRANGLER_REGISTRY_PATH is set per run below.
  const env = { ...processEnv };
  let dir;
  let port;
  let dev;
  let proxy;
  let reader;
  let app;

  /** `wrangler dev` of the example in a process group of its own, on the persisted state. */
  function startDev() {
    const args = ['dev', '-c', CONFIG, '--persist-to', dir, '--port', String(port), '--ip', '127.0.0.1'];
    // A step's owner lease of 3 s, not the example's 900: the step a killed Worker was running
    // is re-run once the lease is over (examples/worker/wrangler.toml), within the test.
    const lease = ['--var', 'WORKFLOW_INLINE_OWNERSHIP_LEASE_SECONDS:3'];
    return launch('wrangler dev', 'wrangler', [...args, ...lease, '--show-interactive-dev-session=false'], /Ready on/, {
      cwd: EXAMPLE,
      env,
      timeoutMs: 90_000,
    });
  }

  const killNow = () => {
    try {
      if (dev) process.kill(-dev.child.pid, 'SIGKILL');
    } catch {}
  };

  /** What the cron trigger does: world.start() re-enqueues every pending or running run. */
  async function cron() {
    const response = await fetch(`http://127.0.0.1:${port}/cdn-cgi/local/scheduled?cron=*/10+*+*+*+*`);
    assert.equal(response.status, 200, await response.text());
  }

  /** Kills the Worker once `ready(log)` holds for the run, restarts it, runs the cron (unless `cron` is false). */
  async function crashWhen(runId, what, ready, { cron: runCron = true } = {}) {
    await eventually(what, async () => ready(await logOf(reader, runId)));
    await kill(dev);
    dev = await startDev();
    if (runCron) await cron();
  }

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wcf-worker-crash-'));
    port = await freePort();
    env.WRANGLER_REGISTRY_PATH = path.join(dir, 'registry');
    process.on('exit', killNow);
    const migrate = spawnSync(
      'wrangler',
      ['d1', 'migrations', 'apply', 'workflow', '--local', '--persist-to', dir, '-c', CONFIG],
      { cwd: EXAMPLE, env, encoding: 'utf8' },
    );
    assert.equal(migrate.status, 0, migrate.stderr || migrate.stdout);
    dev = await startDev();
    // A reader of the same persisted D1 for the logs; it sends nothing.
    const { getPlatformProxy } = await import('wrangler');
    proxy = await getPlatformProxy({ configPath: CONFIG, persist: { path: path.join(dir, 'v3') } });
    const { createWorld } = await import('../../js/node.js');
    reader = createWorld(proxy.env, { specVersion: 7 });
    app = workerClient((pathname, init) => fetch(`http://127.0.0.1:${port}${pathname}`, init), reader);
  });
  after(async () => {
    await kill(dev);
    await proxy?.dispose();
    process.off('exit', killNow);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('killed mid-sleep: after the restart and the cron the run wakes and completes, its log intact', async () => {
    const started = Date.now();
    const runId = await app.start('shortSleep', [4000]);
    await crashWhen(runId, 'the sleep', (log) => log.some((e) => e.eventType === 'wait_created'));
    // The wake-up died with local Queues. If the kill came after its idempotency key was
    // claimed, the replay the first cron runs re-sends it under that key and is absorbed, so
    // only a delivery after the sleep is due wakes the run: the next cron's (every 10 min in
    // production), which the test runs once the sleep is due.
    await sleep(Math.max(0, started + 4_500 - Date.now()));
    await cron();
    const status = await app.settle(runId, { timeoutMs: 60_000 });
    const seen = async () =>
      `${JSON.stringify(status)}\nlog: ${JSON.stringify((await logOf(reader, runId)).map((e) => e.eventType))}\nwrangler dev after the restart:\n${dev
        .log()
        .split('\n')
        .filter((line) => !line.includes('GET /runs/'))
        .join('\n')
        .slice(-6000)}`;
    assert.equal(status.status, 'completed', status.status === 'completed' ? '' : await seen());
    assert.deepEqual(status.result, { sleptAtLeast: true });
    assert.deepEqual(logProblems(await logOf(reader, runId), 'completed'), []);
  });

  test('killed mid-step: after the restart and the cron the step runs again and completes once, the run completes', async () => {
    const runId = await app.start('slowStep', [4000]);
    await crashWhen(runId, 'the slow step running', (log) => log.some((e) => e.eventType === 'step_started'));
    const status = await app.settle(runId, { timeoutMs: 60_000 });
    assert.equal(status.status, 'completed', JSON.stringify(status));
    assert.deepEqual(status.result, { paused: 4000, next: 4001 });
    const log = await logOf(reader, runId);
    assert.deepEqual(logProblems(log, 'completed'), []);
    const starts = Object.values(startsByStep(log));
    assert.ok(
      starts.some((n) => n >= 2),
      `the killed step started again: ${JSON.stringify(startsByStep(log))}`,
    );
  });

  test('killed mid-step, no cron: the executor runs its delivery again after the restart, the step once more, the run completes', async () => {
    const runId = await app.start('slowStep', [4000]);
    await crashWhen(runId, 'the slow step running', (log) => log.some((e) => e.eventType === 'step_started'), {
      cron: false,
    });
    const status = await app.settle(runId, { timeoutMs: 60_000 });
    assert.equal(status.status, 'completed', JSON.stringify(status));
    assert.deepEqual(status.result, { paused: 4000, next: 4001 });
    const log = await logOf(reader, runId);
    assert.deepEqual(logProblems(log, 'completed'), []);
    assert.ok(
      Object.values(startsByStep(log)).some((n) => n >= 2),
      `the killed step started again: ${JSON.stringify(startsByStep(log))}`,
    );
  });

  test('after the crashes, a new run on the restarted Worker completes', async () => {
    const result = await runScenario(
      app,
      scenarios.find((s) => s.name === 'sequential'),
    );
    assert.deepEqual(result.problems, []);
  });
});
