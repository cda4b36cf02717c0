// The differential script of tests/conformance-v5/differential.test.mjs: one scripted
// sequence of spec-7 World calls, run against this World (in the test process) and against
// @workflow/world-local 5.0.0-beta.46 (in a child process, `node differential-v5.mjs`).
// Each call's outcome is projected onto what the contract fixes, so ids minted by the World,
// times and other incidental fields do not count: slot ids do (they are positions), run,
// step, hook and wait ids are the script's own. Runtime-neutral apart from the child mode.

const bytes = (text) => new TextEncoder().encode(text);

/**
 * What a result shows of the contract: types, slot ids, statuses, flags, error names. Not
 * `maxEvents`: world-local puts its 25,000-event cap on every result, and this World caps no
 * log, so it reports none (docs/conformance-v5.md "Differences from world-local").
 */
function project(result) {
  const out = {};
  if (result.event) {
    out.event = [result.event.eventType, result.event.eventId, result.event.correlationId ?? null];
    if (result.event.resumeId) out.resumeId = result.event.resumeId;
  }
  if (result.run) {
    out.run = [result.run.status, result.run.specVersion];
    if (result.run.attributes && Object.keys(result.run.attributes).length) out.attributes = result.run.attributes;
    if (result.run.errorCode) out.errorCode = result.run.errorCode;
  }
  if (result.step) out.step = [result.step.status, result.step.attempt];
  if (result.hook) out.hook = [result.hook.hookId, result.hook.token];
  if (result.wait) out.wait = result.wait.status;
  if (result.stepCreated) out.stepCreated = true;
  if ('events' in result) out.events = result.events.map((e) => [e.eventType, e.eventId]);
  if ('hasMore' in result) out.hasMore = result.hasMore;
  if ('data' in result) out.data = result.data.map((e) => [e.eventType, e.eventId, e.correlationId ?? null]);
  return out;
}

async function call(transcript, label, fn) {
  try {
    const result = await fn();
    transcript.push({ label, ok: project(result) });
    return result;
  } catch (e) {
    transcript.push({ label, error: e?.name ?? String(e) });
    return undefined;
  }
}

/**
 * Runs the script against `world`; returns the transcript. `runId` is the script's run,
 * `missingRunId` one that is never created.
 */
export async function runDifferentialScript(world, runId, missingRunId) {
  const t = [];
  const create = (label, data, params) => call(t, label, () => world.events.create(runId, data, params));
  await create('run_created', {
    eventType: 'run_created',
    eventData: {
      deploymentId: 'dpl_diff',
      workflowName: 'workflow//./src/diff//flow',
      input: bytes('in'),
      attributes: { team: 'a' },
    },
  });
  const started = await create('run_started (preload)', { eventType: 'run_started' });
  await create('run_started again (running: nothing appended)', { eventType: 'run_started' }, { skipPreload: true });
  await create('lazy step_started', {
    eventType: 'step_started',
    correlationId: 'step_01KDIFF0000000000000000001',
    eventData: { stepName: 'step//./src/diff//s', input: bytes('s1') },
  });
  await create('lazy step_started again', {
    eventType: 'step_started',
    correlationId: 'step_01KDIFF0000000000000000001',
    eventData: { stepName: 'step//./src/diff//s', input: bytes('s1') },
  });
  await create(
    'step_completed (sinceCursor)',
    {
      eventType: 'step_completed',
      correlationId: 'step_01KDIFF0000000000000000001',
      eventData: { result: bytes('r1') },
    },
    { sinceCursor: started?.cursor },
  );
  const waitCreated = (n) => ({
    eventType: 'wait_created',
    correlationId: `wait_01KDIFF000000000000000000${n}`,
    eventData: { resumeAt: new Date(1) },
  });
  await create('wait_created (eventCount 5)', waitCreated(1), { eventCount: 5 });
  await create('wait_created (stale eventCount 5: bump and report)', waitCreated(2), { eventCount: 5 });
  await create('wait_completed', { eventType: 'wait_completed', correlationId: 'wait_01KDIFF0000000000000000001' });
  await create('hook_created', {
    eventType: 'hook_created',
    correlationId: 'hook_01KDIFF0000000000000000001',
    eventData: { token: `diff-${runId}`, isWebhook: false },
  });
  const resume = { resumeId: 'resume-1', resumePayloadDigest: 'digest-1' };
  const received = {
    eventType: 'hook_received',
    correlationId: 'hook_01KDIFF0000000000000000001',
    eventData: { payload: bytes('p') },
  };
  await create('hook_received (resumeId)', received, resume);
  await create('hook_received (same resumeId: the committed event)', received, resume);
  await create('hook_received (same resumeId, other digest)', received, { ...resume, resumePayloadDigest: 'x' });
  const attr = (correlationId, key, value, writer) => ({
    eventType: 'attr_set',
    ...(correlationId ? { correlationId } : {}),
    eventData: { changes: [{ key, value }], writer },
  });
  await create('attr_set (workflow)', attr('attr_01KDIFF0000000000000000001', 'stage', 'one', { type: 'workflow' }));
  await create(
    'attr_set (workflow, same correlationId)',
    attr('attr_01KDIFF0000000000000000001', 'stage', 'two', { type: 'workflow' }),
  );
  await create(
    'attr_set (step writer, removes a key)',
    attr(undefined, 'team', null, { type: 'step', stepId: 'step_01KDIFF0000000000000000001', attempt: 1 }),
  );
  await create('attr_set (reserved key)', attr('attr_01KDIFF0000000000000000002', '$x', '1', { type: 'workflow' }));
  await call(t, 'step_created on a missing run', () =>
    world.events.create(missingRunId, {
      eventType: 'step_created',
      correlationId: 'step_01KDIFF0000000000000000002',
      eventData: { stepName: 's', input: bytes('x') },
    }),
  );
  await create('hook_disposed', { eventType: 'hook_disposed', correlationId: 'hook_01KDIFF0000000000000000001' });
  await create('run_completed', { eventType: 'run_completed', eventData: { output: bytes('out') } });
  await create('run_cancelled after the end', { eventType: 'run_cancelled' });
  await create('lazy step_started on the ended run', {
    eventType: 'step_started',
    correlationId: 'step_01KDIFF0000000000000000003',
    eventData: { stepName: 's', input: bytes('late') },
  });
  await call(t, 'events.list', () => world.events.list({ runId, pagination: { limit: 1000 } }));
  await call(t, 'events.list (resolveData none, desc)', () =>
    world.events.list({ runId, resolveData: 'none', pagination: { sortOrder: 'desc', limit: 3 } }),
  );
  await call(t, 'listByCorrelationId', () =>
    world.events.listByCorrelationId({ runId, correlationId: 'hook_01KDIFF0000000000000000001' }),
  );
  await call(t, 'runs.get', async () => ({ run: await world.runs.get(runId) }));
  await call(t, 'steps.get', async () => ({ step: await world.steps.get(runId, 'step_01KDIFF0000000000000000001') }));
  await call(t, 'events.get (slot 3)', async () => ({
    event: await world.events.get(runId, 'evnt_00000000000000000000000003'),
  }));
  await call(t, 'events.get (a slot past the end)', async () => ({
    event: await world.events.get(runId, 'evnt_00000000000000000000000099'),
  }));
  return t;
}

// Child mode: the script against world-local 5.0.0-beta.46 in a fresh data dir; prints
// `@@DIFF@@<transcript JSON>`.
if (
  typeof process !== 'undefined' &&
  process.argv[1] &&
  import.meta.url === new URL(`file://${process.argv[1]}`).href
) {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const { createWorld } = await import('@workflow/world-local-v5');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'differential-v5-'));
  const world = createWorld({ dataDir, recoverActiveRuns: false });
  await world.start?.();
  try {
    const transcript = await runDifferentialScript(world, process.argv[2], process.argv[3]);
    process.stdout.write(`@@DIFF@@${JSON.stringify(transcript)}\n`);
  } finally {
    await world.close?.();
    await rm(dataDir, { recursive: true, force: true });
  }
}
