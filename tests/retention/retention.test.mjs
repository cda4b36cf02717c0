// Retention (crates/core/src/store/retention.rs): with WORKFLOW_RETENTION_DAYS set, world.start()
// removes runs that ended longer ago than that, whole: the run, its log (4.x events or
// 5.x slots), steps and streams, their R2 objects included. Live runs and recent ones
// are untouched; a bad setting is a named error that removes nothing. It prints the D1
// rows written per removed run (what the removal costs, at $1.00 per million rows).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWorld } from '../../js/node.js';
import { useHarness } from '../support/harness.mjs';
import * as fixtures from '../support/storage.mjs';
import { newRunId, newStepId, payload } from '../support/world-v5.mjs';

const DAY = 86_400_000;
const h = useHarness({ vars: { WORKFLOW_RETENTION_DAYS: '1' } });
const TABLES = ['runs', 'events', 'slots', 'steps', 'hooks', 'waits', 'queue_deliveries', 'stream_runs'];
/** Over the inline limit of a stream segment (crates/core/src/stream/mod.rs), so it is an R2 object. */
const LARGE = new Uint8Array(128 * 1024 + 1).fill(7);

/** Rows naming the run in every table, and its streams' segments. */
async function rowsOf(runId) {
  const counts = {};
  for (const table of TABLES) {
    counts[table] = await h.db.prepare(`SELECT count(*) AS n FROM ${table} WHERE run_id = ?`).bind(runId).first('n');
  }
  counts.stream_segments = await h.db
    .prepare('SELECT count(*) AS n FROM stream_segments WHERE stream_name = ?')
    .bind(`strm_${runId}`)
    .first('n');
  return counts;
}
const none = (counts) => Object.values(counts).every((n) => n === 0);
/** rowsOf without delivery records: start() re-enqueues a live run, which adds one. */
async function storedOf(runId) {
  const { queue_deliveries: _, ...stored } = await rowsOf(runId);
  return stored;
}
const objects = async () => (await h.env.STREAM_BUCKET.list({ prefix: 'streams/' })).objects.length;

/** Moves a run's times `days` back, as if it had been created and ended then. */
async function age(runId, days) {
  await h.db
    .prepare(
      'UPDATE runs SET created_at = created_at - ?1, completed_at = completed_at - ?1, updated_at = updated_at - ?1 WHERE run_id = ?2',
    )
    .bind(days * DAY, runId)
    .run();
}

/** A 4.x run with a completed step and a stream of a small and a large chunk. */
async function runV4({ end }) {
  const { runId } = await fixtures.createRunningRun(h.world);
  const { stepId } = await fixtures.createRunningStep(h.world, runId);
  await fixtures.completeStep(h.world, runId, stepId);
  await h.world.writeToStream(`strm_${runId}`, runId, 'small');
  await h.world.writeToStream(`strm_${runId}`, runId, LARGE);
  if (end) await fixtures.terminateRun(h.world, runId, end);
  return runId;
}

/** A spec-7 run: lazy step_started, step_completed, a stream with an R2 segment, its end. */
async function runV5(world, { end }) {
  const runId = newRunId();
  await world.events.create(runId, {
    eventType: 'run_created',
    eventData: { deploymentId: 'dpl_retention', workflowName: 'wf', input: payload('in') },
  });
  await world.events.create(runId, { eventType: 'run_started' });
  const stepId = newStepId();
  await world.events.create(runId, {
    eventType: 'step_started',
    correlationId: stepId,
    eventData: { stepName: 'step', input: payload('step-in') },
  });
  await world.events.create(runId, {
    eventType: 'step_completed',
    correlationId: stepId,
    eventData: { stepName: 'step', result: payload('step-out') },
  });
  await world.streams.write(runId, `strm_${runId}`, LARGE);
  if (end) await world.events.create(runId, { eventType: 'run_completed', eventData: { output: payload('out') } });
  return runId;
}

test('start() removes runs of both lines that ended over WORKFLOW_RETENTION_DAYS ago, whole, R2 objects included; live and recent runs are untouched', async () => {
  const v5 = createWorld(h.env, { specVersion: 7 });
  const oldV4 = await runV4({ end: 'completed' });
  const oldFailed = await runV4({ end: 'failed' });
  const oldV5 = await runV5(v5, { end: true });
  const oldLive = await runV4({ end: undefined });
  const recent = await runV5(v5, { end: true });
  for (const runId of [oldV4, oldFailed, oldV5, oldLive]) await age(runId, 3);
  const kept = { [oldLive]: await storedOf(oldLive), [recent]: await storedOf(recent) };
  const keptLogs = {
    [oldLive]: await fixtures.listAllEvents(h.world, oldLive),
    [recent]: (await v5.events.list({ runId: recent })).data,
  };
  const objectsBefore = await objects();

  const rowsBefore = h.counts.d1.rowsWritten;
  await h.world.start();
  const rowsWritten = h.counts.d1.rowsWritten - rowsBefore;

  for (const runId of [oldV4, oldFailed, oldV5]) {
    assert.ok(none(await rowsOf(runId)), `${runId}: no row left: ${JSON.stringify(await rowsOf(runId))}`);
    await fixtures.expectReject(h.world.runs.get(runId), 'WorkflowRunNotFoundError');
  }
  assert.equal(objectsBefore - (await objects()), 3, "the removed runs' R2 segments are deleted");
  for (const runId of [oldLive, recent]) {
    assert.deepEqual(await storedOf(runId), kept[runId], `${runId} is untouched`);
  }
  assert.deepEqual(await fixtures.listAllEvents(h.world, oldLive), keptLogs[oldLive]);
  assert.deepEqual((await v5.events.list({ runId: recent })).data, keptLogs[recent]);
  assert.equal((await h.world.runs.get(oldLive)).status, 'running');
  console.log(`retention: ${rowsWritten} D1 rows written to remove 3 runs (${(rowsWritten / 3).toFixed(1)} per run)`);

  const runsLeft = await h.db.prepare('SELECT count(*) AS n FROM runs').first('n');
  await v5.start();
  assert.equal(await h.db.prepare('SELECT count(*) AS n FROM runs').first('n'), runsLeft, 'nothing more is due');
});

test('a WORKFLOW_RETENTION_DAYS that is not a number of days makes start() fail with INVALID_RETENTION, naming it; nothing is removed', async () => {
  const runId = await runV4({ end: 'completed' });
  await age(runId, 3);
  const before = await rowsOf(runId);
  for (const bad of ['soon', '-2']) {
    const world = createWorld({ ...h.env, WORKFLOW_RETENTION_DAYS: bad });
    const error = await fixtures.expectReject(world.start(), 'WorkflowWorldError', {
      props: { code: 'INVALID_RETENTION' },
    });
    assert.match(error.message, /WORKFLOW_RETENTION_DAYS/);
    assert.ok(error.message.includes(bad), error.message);
  }
  assert.deepEqual(await rowsOf(runId), before);
});
