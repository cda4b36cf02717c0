// The Worker of the end-to-end suite (tests/e2e-worker/): its workflows (../workflows) run
// here on workflow 5.x's QuickJS, each queue message in an executor of its own.
//
//   POST /runs/:workflow        {args?, attributes?} → {runId}
//   GET  /runs/:id              → {runId, workflowName, status, result | error}
//   GET  /runs/:id/outcome      → {status, result} or {status, error: {name, message, errorCode, cause}}
//   GET  /runs/:id/stream       ?namespace=&startIndex=: the stream, live, one JSON line per chunk ({bytes} for bytes)
//   GET  /runs/:id/tail         ?namespace=: {tailIndex}
//   GET  /runs/:id/returned     the ReadableStream the run returned, as text
//   POST /runs/:id/cancel       cancels the run
//   POST /hooks/:token          resumes the hook with the JSON body
//   GET  /hooks/:token          → {runId, metadata} of the hook holding the token, or 404
//   POST /.well-known/workflow/v1/webhook/:token   webhooks (answered by the runtime)
import { handleQueueBatch } from '@workflow/world-cloudflare';
import { createWorkflowRuntime } from '@workflow/world-cloudflare/runtime';
import * as api from 'workflow/api';
import * as runtime from 'workflow/runtime';
import * as workflows from '../.workflow/workflows.mjs';

export { WorkflowExecutor } from '@workflow/world-cloudflare/runtime';

const workflow = createWorkflowRuntime({ runtime, api, workflows });

const json = (body, status = 200) => Response.json(body, { status });

const line = (chunk) =>
  `${JSON.stringify(chunk instanceof Uint8Array ? { bytes: new TextDecoder().decode(chunk) } : chunk)}\n`;

/** An error as the suite checks it: its name, message, code and cause. */
const described = (error) =>
  error && {
    name: error.name,
    message: error.message,
    errorCode: error.errorCode,
    conflictingRunId: error.conflictingRunId,
    cause: described(error.cause),
  };

async function outcome(runId) {
  const run = api.getRun(runId);
  const status = await run.status;
  try {
    return { status, result: await run.returnValue };
  } catch (error) {
    return { status, error: described(error) };
  }
}

async function route(request) {
  const url = new URL(request.url);
  const [first, id, action] = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const options = {
    namespace: url.searchParams.get('namespace') ?? undefined,
    ...(url.searchParams.has('startIndex') ? { startIndex: Number(url.searchParams.get('startIndex')) } : {}),
  };
  if (first === 'runs' && request.method === 'POST' && id && !action) {
    const { args = [], attributes } = await request.json().catch(() => ({}));
    return json({ runId: await workflow.start(id, args, attributes ? { attributes } : undefined) }, 201);
  }
  if (first === 'runs' && request.method === 'GET' && id && !action) {
    const status = await workflow.status(id);
    return status ? json(status) : json({ error: `No run ${id}` }, 404);
  }
  if (first === 'runs' && request.method === 'GET' && action === 'outcome') return json(await outcome(id));
  if (first === 'runs' && request.method === 'GET' && action === 'stream') {
    const lines = api
      .getRun(id)
      .getReadable(options)
      .pipeThrough(new TransformStream({ transform: (chunk, out) => out.enqueue(line(chunk)) }))
      .pipeThrough(new TextEncoderStream());
    return new Response(lines, { headers: { 'content-type': 'application/x-ndjson' } });
  }
  if (first === 'runs' && request.method === 'GET' && action === 'tail') {
    return json({ tailIndex: await api.getRun(id).getReadable(options).getTailIndex() });
  }
  if (first === 'runs' && request.method === 'GET' && action === 'returned') {
    const returned = await api.getRun(id).returnValue;
    return new Response(returned.pipeThrough(new TextEncoderStream()));
  }
  if (first === 'runs' && request.method === 'POST' && action === 'cancel') {
    await api.getRun(id).cancel();
    return json({ ok: true });
  }
  if (first === 'hooks' && request.method === 'POST' && id) {
    const hook = await api.resumeHook(id, await request.json());
    return json({ runId: hook.runId });
  }
  if (first === 'hooks' && request.method === 'GET' && id) {
    try {
      const hook = await api.getHookByToken(id);
      return json({ runId: hook.runId, metadata: await hook.metadata });
    } catch (error) {
      if (error?.name === 'HookNotFoundError') return json({ error: 'no hook' }, 404);
      throw error;
    }
  }
  return (await workflow.webhook(request)) ?? json({ error: 'Not found' }, 404);
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

  queue: (batch, env) => handleQueueBatch(batch, env),
};
