// The Worker of the end-to-end suite (tests/e2e-worker/): its workflows (../workflows) run
// here on workflow 5.x's QuickJS, each queue message in an executor of its own.
//
//   POST /runs/:workflow   {args?: unknown[]} → {runId}
//   GET  /runs/:id         → {runId, workflowName, status, result | error}
//   GET  /runs/:id/stream  the run's stream, live, one JSON line per chunk ({bytes} for bytes)
//   POST /hooks/:token     resumes the hook with the JSON body
//   GET  /hooks/:token     → {runId} of the run that holds the token, or 404
import { handleDeadLetter, handleQueueMessage } from '@workflow/world-cloudflare';
import { createWorkflowRuntime } from '@workflow/world-cloudflare/runtime';
import * as api from 'workflow/api';
import * as runtime from 'workflow/runtime';
import * as workflows from '../.workflow/workflows.mjs';

export { WorkflowExecutor } from '@workflow/world-cloudflare/runtime';

const workflow = createWorkflowRuntime({ runtime, api, workflows });

const json = (body, status = 200) => Response.json(body, { status });

const line = (chunk) =>
  `${JSON.stringify(chunk instanceof Uint8Array ? { bytes: new TextDecoder().decode(chunk) } : chunk)}\n`;

async function route(request) {
  const url = new URL(request.url);
  const [first, id, action] = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (first === 'runs' && request.method === 'POST' && id && !action) {
    const { args = [] } = await request.json().catch(() => ({}));
    return json({ runId: await workflow.start(id, args) }, 201);
  }
  if (first === 'runs' && request.method === 'GET' && id && !action) return json(await workflow.status(id));
  if (first === 'runs' && request.method === 'GET' && action === 'stream') {
    const lines = workflow
      .readable(id)
      .pipeThrough(new TransformStream({ transform: (chunk, out) => out.enqueue(line(chunk)) }))
      .pipeThrough(new TextEncoderStream());
    return new Response(lines, { headers: { 'content-type': 'application/x-ndjson' } });
  }
  if (first === 'hooks' && request.method === 'POST' && id) {
    const hook = await api.resumeHook(id, await request.json());
    return json({ runId: hook.runId });
  }
  if (first === 'hooks' && request.method === 'GET' && id) {
    try {
      return json({ runId: (await api.getHookByToken(id)).runId });
    } catch (error) {
      if (error?.name === 'HookNotFoundError') return json({ error: 'no hook' }, 404);
      throw error;
    }
  }
  return json({ error: 'Not found' }, 404);
}

export default {
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

  async queue(batch, env) {
    for (const message of batch.messages) {
      try {
        if (batch.queue === 'workflow-dlq') await handleDeadLetter(env, message);
        else await handleQueueMessage(env, message);
        message.ack();
      } catch {
        message.retry();
      }
    }
  },
};
