// The Worker runtime of `workflow` 5.x (@workflow/world-cloudflare/runtime): a Worker that
// imports this first runs its workflows inside workerd, on this World, with no Node host.
// Its first import (./runtime/prelude.js) prepares core for workerd before any module of
// `workflow` is evaluated; createWorkflowRuntime() then sets the spec-7 World and hands
// the flow route to the queue consumer (js/queue.js), so handleQueueMessage runs flows in
// the isolate. The app passes its own `workflow/runtime` and `workflow/api` modules, so the
// runtime is always the app's installed `workflow`, never one resolved from this package.

import { env } from 'cloudflare:workers';
import { registerRoute } from './queue.js';
import { endStartup } from './runtime/prelude.js';
import { runStatus } from './runtime/run-status.js';
import { installStackTrace } from './runtime/stack-trace.js';
import { createWorld } from './worker.js';

export { WorkflowExecutor } from './executor.js';

const WEBHOOK_PATH = /^\/\.well-known\/workflow\/v1\/webhook\/([^/]+)$/;

/**
 * @param {{
 *   runtime: { setWorld(world: unknown): void },
 *   api: { start: Function, getRun: Function, resumeWebhook: Function },
 *   workflows: { POST: (request: Request) => Promise<Response>, workflowIds: Record<string, string>, deploymentId: string },
 * }} app the app's `workflow/runtime` and `workflow/api` modules, and the module
 *   `world-cloudflare build` wrote (the flow route, the workflow ids, the deployment id)
 */
export function createWorkflowRuntime({ runtime, api, workflows }) {
  // The env of cloudflare:workers is the isolate's, readable at module scope; the built
  // deployment id wins over DEPLOYMENT_ID, so every build is its own deployment.
  const worldEnv = new Proxy(env, {
    get: (target, key) => (key === 'DEPLOYMENT_ID' ? workflows.deploymentId : target[key]),
  });
  const world = createWorld(worldEnv, { specVersion: 7 });
  runtime.setWorld(world);
  registerRoute(world.specVersion, workflows.POST);
  installStackTrace();
  endStartup();

  const workflowId = (name) => {
    const id = workflows.workflowIds[name];
    if (!id) {
      const known = Object.keys(workflows.workflowIds).join(', ');
      const error = new Error(`Unknown workflow "${name}"; this build has: ${known}`);
      throw Object.assign(error, { name: 'UnknownWorkflowError', status: 404 });
    }
    return id;
  };

  return {
    world,
    /** `start()` of a workflow by its export name, with `start()`'s options; resolves to the run id. */
    async start(name, args = [], options = undefined) {
      const run = await api.start({ workflowId: workflowId(name) }, args, options);
      return run.runId;
    },
    /** A run's status, and its result or error once it ended; `undefined` for no such run. */
    status: (runId) => runStatus(world, api, runId),
    /** The run's default stream, live, as the runtime decodes it. */
    readable(runId) {
      return api.getRun(runId).getReadable();
    },
    /** Answers `POST /.well-known/workflow/v1/webhook/:token`, or `undefined` for other paths. */
    async webhook(request) {
      const match = WEBHOOK_PATH.exec(new URL(request.url).pathname);
      if (!match) return undefined;
      try {
        return await api.resumeWebhook(decodeURIComponent(match[1]), request);
      } catch (error) {
        // An empty 404, as the runtime's own webhook route answers an unknown token.
        if (/** @type {{ name?: string }} */ (error)?.name === 'HookNotFoundError')
          return new Response(null, { status: 404 });
        throw error;
      }
    },
  };
}
