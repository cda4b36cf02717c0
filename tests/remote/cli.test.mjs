// The real Workflow CLI (@workflow/cli 4.3.13, `workflow inspect` and `workflow cancel`) on
// this World over HTTP: a child process with WORKFLOW_TARGET_WORLD=@workflow/world-cloudflare/remote
// and the example Worker's URL and secret loads the package by its name (require() of our ESM),
// and what it prints is what D1 holds, read directly with SQL through the harness: the runs
// (ids, statuses, newest first, also in its table form), each run's events (ids, types and
// correlation ids in log order) and steps, the stream of a run and its chunks. `workflow
// cancel` on a run that sleeps for 7 days leaves it `cancelled` in D1, with run_cancelled
// last in its log. The runs are real ones of the example app (examples/basic, workflow 4.8.9).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT } from '../support/harness.mjs';
import { remoteWorldEnv, startRemoteApp } from '../support/remote-app.mjs';

/** The 4.x CLI (node_modules/.bin/wf is the 5.x one of the workflow-v5 alias). */
const CLI_DIR = path.join(ROOT, 'node_modules', '@workflow', 'cli');
const CLI = path.join(CLI_DIR, 'bin', 'run.js');
const CLI_VERSION = JSON.parse(readFileSync(path.join(CLI_DIR, 'package.json'), 'utf8')).version;

const STREAM_CHUNKS = ['chunk-0', 'chunk-1', 'chunk-2', 'chunk-3', 'chunk-4'];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let app;
let sql;
/** The runs of the example, by scenario: `{ runId, workflow, chunks? }`. */
const runs = {};

/** Runs `workflow …args` in a child process on this World; resolves to its exit code and output. */
function wf(args) {
  const env = {
    ...remoteWorldEnv(app),
    WORKFLOW_NO_UPDATE_CHECK: '1',
  };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: ROOT, env, timeout: 60_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => resolve({ code: error ? (error.code ?? error.signal) : 0, stdout, stderr }),
    );
  });
}

/** `workflow …args --json`, parsed; fails with the CLI's own output if it did not succeed. */
async function wfJson(args) {
  const { code, stdout, stderr } = await wf([...args, '--json']);
  assert.equal(code, 0, `workflow ${args.join(' ')} --json exited ${code}:\n${stderr}\n${stdout}`);
  return JSON.parse(stdout);
}

/** Prints `text` into the test log, each line with the `[remote-cli]` prefix. */
const log = (title, text) => console.log(`[remote-cli] ${title}:\n${text.trimEnd().replace(/^/gm, '[remote-cli] ')}`);

async function waitFor(what, probe, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

before(async () => {
  ({ app, sql } = await startRemoteApp());
  for (const [scenario, workflow, args] of [
    ['sequential', 'sequential', [2, 3]],
    ['parallel', 'parallel', [10]],
  ]) {
    const run = await app.start(workflow, args);
    await run.returnValue;
    runs[scenario] = { runId: run.runId, workflow };
  }
  const streaming = await app.start('streaming', [5]);
  const chunks = [];
  for await (const chunk of streaming.getReadable()) chunks.push(chunk);
  await streaming.returnValue;
  runs.stream = { runId: streaming.runId, workflow: 'streaming', chunks };
  // A run that stays running: it sleeps for 7 days once its wait is created.
  const sleeping = await app.start('longSleep');
  runs.longSleep = { runId: sleeping.runId, workflow: 'longSleep' };
  await waitFor(
    'the 7-day wait',
    async () =>
      (await sql("SELECT 1 FROM events WHERE run_id = ? AND event_type = 'wait_created'", sleeping.runId)).length > 0,
  );
});
after(async () => {
  await app?.close();
});

test('the CLI is @workflow/cli 4.3.13', () => {
  assert.equal(CLI_VERSION, '4.3.13');
});

test('`workflow inspect runs` lists the runs D1 holds, newest first, with their statuses', async () => {
  const d1 = await sql('SELECT run_id, status FROM runs ORDER BY created_at DESC, run_id DESC LIMIT 100');
  assert.equal(d1.find((r) => r.run_id === runs.longSleep.runId)?.status, 'running');
  for (const name of ['sequential', 'parallel', 'stream']) {
    assert.equal(d1.find((r) => r.run_id === runs[name].runId)?.status, 'completed', name);
  }

  const listed = await wfJson(['inspect', 'runs', '--limit', '100']);
  log('workflow inspect runs --json', JSON.stringify(listed, null, 2));
  assert.deepEqual(
    listed.data.map((r) => [r.runId, r.status]),
    d1.map((r) => [r.run_id, r.status]),
  );
  assert.equal(listed.hasMore, false);

  // The table form: one row per run, the id's end, the workflow's short name and a status letter.
  const table = await wf(['inspect', 'runs', '--limit', '100']);
  assert.equal(table.code, 0, table.stderr);
  log('workflow inspect runs', table.stdout);
  const letter = { running: 'R', completed: 'C', failed: 'F', cancelled: 'X', pending: 'P' };
  for (const { runId, workflow } of Object.values(runs)) {
    const { status } = d1.find((r) => r.run_id === runId);
    const row = new RegExp(`^\\.\\.\\.${runId.slice(-4)}\\s+${workflow}\\s+${letter[status]}\\s`, 'm');
    assert.match(table.stdout, row, `${workflow} (${runId}, ${status}) in the table`);
  }
});

test('`workflow inspect run <id>` shows the run as D1 holds it', async () => {
  const { runId } = runs.sequential;
  const [row] = await sql('SELECT run_id, status, workflow_name, created_at FROM runs WHERE run_id = ?', runId);
  const shown = await wfJson(['inspect', 'run', runId]);
  assert.equal(shown.runId, row.run_id);
  assert.equal(shown.status, row.status);
  assert.equal(shown.workflowName, row.workflow_name);
  assert.equal(Date.parse(shown.createdAt), row.created_at);
  assert.deepEqual(shown.input, [2, 3]);
  assert.deepEqual(shown.output, { sum: 5, doubled: 10 });
});

test('`workflow inspect events --runId` prints each run’s log in D1 order', async () => {
  // The CLI processes run side by side: each spends seconds loading before its one call.
  const printed = await Promise.all(
    Object.values(runs).map(({ runId }) =>
      wfJson(['inspect', 'events', '--runId', runId, '--sort', 'asc', '--limit', '100']),
    ),
  );
  for (const [i, { runId, workflow }] of Object.values(runs).entries()) {
    const d1 = await sql(
      'SELECT event_id, event_type, correlation_id FROM events WHERE run_id = ? ORDER BY seq',
      runId,
    );
    const listed = printed[i];
    assert.deepEqual(
      listed.map((e) => [e.eventId, e.eventType, e.correlationId ?? null]),
      d1.map((e) => [e.event_id, e.event_type, e.correlation_id]),
      workflow,
    );
    assert.ok(
      listed.every((e) => e.runId === runId),
      `${workflow}: every event is of its run`,
    );
    assert.equal(listed[0].eventType, 'run_created', workflow);
  }
  const sequentialLog = await sql('SELECT event_type FROM events WHERE run_id = ? ORDER BY seq', runs.sequential.runId);
  assert.equal(sequentialLog.at(-1).event_type, 'run_completed');
});

test('`workflow inspect steps --runId` lists the steps D1 holds', async () => {
  const expectedCount = { sequential: 2, parallel: 3 };
  const printed = await Promise.all(
    Object.keys(expectedCount).map((name) =>
      wfJson(['inspect', 'steps', '--runId', runs[name].runId, '--sort', 'asc', '--limit', '100']),
    ),
  );
  for (const [i, [name, count]] of Object.entries(expectedCount).entries()) {
    const { runId } = runs[name];
    const d1 = await sql(
      'SELECT step_id, step_name, status, attempt FROM steps WHERE run_id = ? ORDER BY created_at, step_id',
      runId,
    );
    assert.equal(d1.length, count, `${name}: steps in D1`);
    const listed = printed[i];
    assert.deepEqual(
      listed.map((s) => [s.stepId, s.stepName, s.status, s.attempt]).sort(),
      d1.map((s) => [s.step_id, s.step_name, s.status, s.attempt]).sort(),
      name,
    );
    assert.ok(
      listed.every((s) => s.runId === runId && s.status === 'completed'),
      name,
    );
  }
});

test('`workflow inspect streams` lists the run’s stream, and `inspect stream` prints its chunks', async () => {
  const { runId, chunks } = runs.stream;
  assert.deepEqual(chunks, STREAM_CHUNKS, 'what the app read live');
  const d1 = await sql('SELECT stream_name FROM stream_runs WHERE run_id = ? ORDER BY stream_name', runId);
  assert.equal(d1.length, 1, 'one stream of the run in D1');
  const listed = await wfJson(['inspect', 'streams', '--runId', runId]);
  assert.deepEqual(
    listed.map((s) => [s.runId, s.streamId]),
    d1.map((s) => [runId, s.stream_name]),
  );

  const { code, stdout, stderr } = await wf(['inspect', 'stream', listed[0].streamId, '--runId', runId, '--json']);
  assert.equal(code, 0, stderr);
  const printed = stdout
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line));
  assert.deepEqual(printed, STREAM_CHUNKS);
});

test('`workflow cancel <id>` cancels the sleeping run: `cancelled` in D1, run_cancelled last in its log', async () => {
  const { runId } = runs.longSleep;
  const [before] = await sql('SELECT status FROM runs WHERE run_id = ?', runId);
  assert.equal(before.status, 'running');

  const cancelled = await wf(['cancel', runId]);
  assert.equal(cancelled.code, 0, `${cancelled.stderr}\n${cancelled.stdout}`);
  assert.match(`${cancelled.stdout}${cancelled.stderr}`, new RegExp(`Cancelled run ${runId}`));

  const [row] = await sql('SELECT status, completed_at FROM runs WHERE run_id = ?', runId);
  assert.equal(row.status, 'cancelled');
  assert.ok(row.completed_at > 0, 'completed_at is set');
  const log = await sql('SELECT event_type FROM events WHERE run_id = ? ORDER BY seq', runId);
  assert.deepEqual(
    log.map((e) => e.event_type),
    ['run_created', 'run_started', 'wait_created', 'run_cancelled'],
  );
  // The CLI sees it too.
  const shown = await wfJson(['inspect', 'run', runId]);
  assert.equal(shown.status, 'cancelled');
});
