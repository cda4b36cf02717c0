// A Worker that runs its workflows on Cloudflare alone: workflow 5.x executes them on
// QuickJS inside this isolate, @workflow/world-cloudflare keeps their state in D1, sends
// their messages on Queues and their streams to R2.
//
//   POST /runs/:workflow        {args?: unknown[]} → {runId}
//   GET  /runs/:id              → {runId, workflowName, status, result | error}
//   GET  /runs/:id/stream       the run's stream, live, one JSON value per line
//   POST /runs/:id/wake         wakes the run from its sleep
//   POST /hooks/:token          resumes the hook with the JSON body
//   GET  /health[?runId=]       core's healthCheck(): a probe through the queue and the flow route
//   POST /.well-known/workflow/v1/webhook/:token   webhooks (answered by the runtime)

import { handleQueueBatch } from '@workflow/world-cloudflare';
// First: prepares core for workerd before any module of `workflow` loads.
import { createWorkflowRuntime } from '@workflow/world-cloudflare/runtime';
import * as api from 'workflow/api';
import * as runtime from 'workflow/runtime';
import * as workflows from '../.workflow/workflows.mjs';

// The Durable Object that runs each queue message in an invocation of its own
// (WORKFLOW_EXECUTOR in wrangler.toml), so no delivery waits for another.
export { WorkflowExecutor } from '@workflow/world-cloudflare/runtime';

const workflow = createWorkflowRuntime({ runtime, api, workflows });

const json = (body, status = 200) => Response.json(body, { status });

async function route(request) {
  const url = new URL(request.url);
  const [first, id, action] = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (first === 'runs' && request.method === 'POST' && id && !action) {
    const { args = [] } = await request.json().catch(() => ({}));
    return json({ runId: await workflow.start(id, args) }, 201);
  }
  if (first === 'runs' && request.method === 'GET' && id && !action) {
    const status = await workflow.status(id);
    return status ? json(status) : json({ error: `No run ${id}` }, 404);
  }
  if (first === 'runs' && request.method === 'GET' && action === 'stream') {
    const lines = workflow
      .readable(id)
      .pipeThrough(new TransformStream({ transform: (chunk, out) => out.enqueue(`${JSON.stringify(chunk)}\n`) }))
      .pipeThrough(new TextEncoderStream());
    return new Response(lines, { headers: { 'content-type': 'application/x-ndjson' } });
  }
  if (first === 'runs' && request.method === 'POST' && action === 'wake') {
    await api.getRun(id).wakeUp();
    return json({ ok: true });
  }
  if (first === 'health' && request.method === 'GET' && !id) {
    const runId = url.searchParams.get('runId') ?? undefined;
    const health = await runtime.healthCheck(workflow.world, { timeout: 20_000, runId });
    return json(health, health.healthy ? 200 : 503);
  }
  if (first === 'hooks' && request.method === 'POST' && id) {
    const hook = await api.resumeHook(id, await request.json());
    return json({ runId: hook.runId });
  }
  return (await workflow.webhook(request)) ?? json({ error: 'Not found' }, 404);
}

export default {
  // A cron trigger re-enqueues every pending or running run (a crash between a commit and its
  // message is recovered here): world.start(), contract §5.6. With WORKFLOW_RETENTION_DAYS
  // set it also removes runs that ended longer ago than that.
  async scheduled() {
    await workflow.world.start();
  },

  async fetch(request) {
    try {
      return await route(request);
    } catch (error) {
      return json({ error: `${error?.name}: ${error?.message}` }, error?.status ?? 500);
    }
  },

  // Both queues: workflow-dlq's messages fail their runs, every other message is delivered.
  queue: (batch, env) => handleQueueBatch(batch, env),
};
