// End to end inside a Worker: the example Worker (examples/worker) in local workerd, its
// workflows executed there by workflow 5.0.0-beta.55 on QuickJS (nothing runs in Node but
// the HTTP client), every example scenario checked for its result and status, and its
// event log and flow invocations compared with the same built workflows on
// @workflow/world-local 5.0.0-beta.46, run in a child process (tests/support/reference-v5.mjs).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startWorkerApp } from '../../examples/worker/app.mjs';
import { runScenario, scenarios } from '../../examples/worker/scenarios.mjs';
import { childJson } from '../support/child.mjs';
import { buildExampleWorker, EXAMPLE } from '../support/example-worker.mjs';

const TERMINAL = new Set(['run_completed', 'run_failed', 'run_cancelled']);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const reference = () => childJson('tests/support/reference-v5.mjs', [], '@@REFERENCE@@');

let app;
let db;
const ours = {};
before(async () => {
  buildExampleWorker();
  app = await startWorkerApp();
  db = (await app.worker.getEnv()).DB;
});
after(async () => {
  await app?.close();
});

/** Flow invocations of a run: the deliveries whose handler ran (queue_deliveries.handled). */
async function invocations(runId) {
  const row = await db
    .prepare('SELECT COALESCE(SUM(handled), 0) AS n FROM queue_deliveries WHERE run_id = ?')
    .bind(runId)
    .first();
  return row.n;
}

for (const scenario of scenarios) {
  test(`worker e2e ${scenario.name}: ${scenario.title}`, async () => {
    const result = await runScenario(app, scenario);
    assert.deepEqual(result.problems, [], `${scenario.name}: ${result.problems.join('; ')}`);
    assert.equal(result.events[0], 'run_created');
    assert.equal(result.events.filter((t) => TERMINAL.has(t)).length, 1, `one terminal event: ${result.events}`);
    const log = await app.world.events.list({ runId: result.outcome.runId, pagination: { limit: 1000 } });
    assert.deepEqual(
      log.data.map((e) => e.eventId),
      log.data.map((_, i) => `evnt_${String(i + 1).padStart(26, '0')}`),
      'V114: a QuickJS run inside the Worker has its events on slots 1..n',
    );
    const run = await app.world.runs.get(result.outcome.runId, { resolveData: 'none' });
    assert.equal(run.specVersion, 7, "V3: core's start() stamps the World's spec version on the run");
    assert.ok(
      log.data.every((e) => e.specVersion === 7),
      'V3: every event of the run is stamped 7',
    );
    await sleep(300); // a delivery's bookkeeping commits just after its run's last event
    ours[scenario.name] = { events: result.events, invocations: await invocations(result.outcome.runId) };
  });
}

test('V101 worker e2e: healthCheck(world) inside the Worker answers healthy, spec 7, through the queue and the flow route', async () => {
  const response = await app.fetch('/health');
  const health = await response.json();
  assert.equal(response.status, 200, JSON.stringify(health));
  assert.equal(health.healthy, true, JSON.stringify(health));
  assert.equal(health.specVersion, 7, JSON.stringify(health));
});

test('worker e2e: event logs and flow invocations match @workflow/world-local 5.0.0-beta.46 for every scenario', async () => {
  const theirs = await reference();
  for (const scenario of scenarios) {
    const name = scenario.name;
    assert.deepEqual(theirs[name].problems, [], `world-local ${name}: ${theirs[name].problems}`);
    const same = scenario.ordered === false ? (log) => [...log].sort() : (log) => log;
    assert.deepEqual(same(ours[name].events), same(theirs[name].events), `${name}: event log`);
    assert.equal(ours[name].invocations, theirs[name].invocations, `${name}: flow invocations`);
  }
  console.table(
    Object.fromEntries(
      scenarios.map(({ name }) => [
        name,
        {
          events: ours[name].events.length,
          'flow invocations': ours[name].invocations,
          'world-local': theirs[name].invocations,
        },
      ]),
    ),
  );
});

test("worker e2e: the webhook route answers an unknown token with an empty 404, as the runtime's own route does", async () => {
  const response = await app.fetch('/.well-known/workflow/v1/webhook/no-such-token', { method: 'POST', body: 'x' });
  assert.equal(response.status, 404);
  assert.equal(await response.text(), '');
});

test('worker e2e: an unknown run is a 404 naming it, an unknown workflow a 404 naming the known ones', async () => {
  const run = await app.fetch('/runs/wrun_01KNOSUCHRUN0000000000000000');
  assert.equal(run.status, 404);
  assert.deepEqual(await run.json(), { error: 'No run wrun_01KNOSUCHRUN0000000000000000' });
  const start = await app.fetch('/runs/noSuchWorkflow', { method: 'POST', body: '{}' });
  assert.equal(start.status, 404);
  assert.match((await start.json()).error, /Unknown workflow "noSuchWorkflow"; this build has: .*sequential/);
});

test('wrangler deploy --dry-run of the example: it bundles, with its executors bound as a Durable Object', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'wcf-dry-run-'));
  try {
    const deploy = spawnSync('wrangler', ['deploy', '--dry-run', '--outdir', out], { cwd: EXAMPLE, encoding: 'utf8' });
    const printed = `${deploy.stdout}${deploy.stderr}`;
    assert.equal(deploy.status, 0, printed);
    assert.match(printed, /env\.WORKFLOW_EXECUTOR \(WorkflowExecutor\)\s+Durable Object/, printed);
    assert.match(printed, /env\.WORKFLOW_QUEUE \(workflow\)\s+Queue/);
    assert.match(printed, /env\.DB \(workflow\)\s+D1 Database/);
    console.log(`# ${/Total Upload: .*/.exec(printed)?.[0]}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
