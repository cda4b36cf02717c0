// A Worker that runs its workflows (workflows/*.ts) on Cloudflare alone: `workflow` executes
// them inside this isolate, @workflow/world-cloudflare keeps their state in D1, their
// messages on Queues and their streams in R2.
//
//   POST /runs/:workflow   {"args": [...]} → {runId}
//   GET  /runs/:runId      → {runId, workflowName, status, result | error}; 404 for no such run
//   POST /workflow-world   the World over HTTP, for the workflow CLI and web UI (signed with WORKFLOW_REMOTE_SECRET) // [remote]
//   POST /.well-known/workflow/v1/webhook/:token   webhooks
import { handleQueueBatch } from '@workflow/world-cloudflare'; // [local]
import { handleQueueBatch, serveWorld } from '@workflow/world-cloudflare'; // [remote]
// Before any module of `workflow`: it prepares core for workerd.
import { createWorkflowRuntime } from '@workflow/world-cloudflare/runtime';
import * as api from 'workflow/api';
import * as runtime from 'workflow/runtime';
// Written by `world-cloudflare build` (wrangler.toml [build]) from workflows/.
import * as workflows from '../.workflow/workflows.mjs';

// Runs each queue message in a Durable Object of its own (WORKFLOW_EXECUTOR in wrangler.toml),
// so a long step never holds up another run.
export { WorkflowExecutor } from '@workflow/world-cloudflare/runtime';

const workflow = createWorkflowRuntime({ runtime, api, workflows });

async function route(request, env) {
  const url = new URL(request.url);
  const [first, id, more] = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (first === 'workflow-world' && !id) return serveWorld(request, env); // [remote]
  if (first === 'runs' && id && !more && request.method === 'POST') {
    const { args = [] } = await request.json().catch(() => ({}));
    return Response.json({ runId: await workflow.start(id, args) }, { status: 201 });
  }
  if (first === 'runs' && id && !more && request.method === 'GET') {
    const status = await workflow.status(id);
    return status ? Response.json(status) : Response.json({ error: `No run ${id}` }, { status: 404 });
  }
  return (await workflow.webhook(request)) ?? Response.json({ error: 'Not found' }, { status: 404 });
}

export default {
  async fetch(request, env) {
    try {
      return await route(request, env);
    } catch (error) {
      return Response.json({ error: `${error.name}: ${error.message}` }, { status: error.status ?? 500 });
    }
  },
  // Both queues: a workflow-dlq message fails its run, every other one is delivered.
  queue: (batch, env) => handleQueueBatch(batch, env),
  // Recovery: re-enqueues the runs whose message was lost.
  scheduled: () => workflow.world.start(),
};
