// The 5.x line's workflows on @workflow/world-local 5.0.0-beta.46 in this process: the
// example Worker's built workflows (examples/worker/.workflow, `world-cloudflare build`) on
// its runtime (examples/worker's workflow 5.0.0-beta.55, on QuickJS as in the Worker), with
// their flow route and webhooks served on node:http, where world-local's queue delivers.
// The reference the end-to-end suite compares the Worker with (tests/support/reference-v5.mjs),
// and the bench's world-local 5 (bench/world.mjs `local-v5`). Call it before anything else
// loads `workflow`: it sets the VM and codec the Worker uses.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const EXAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/worker');
const WEBHOOK = /^\/\.well-known\/workflow\/v1\/webhook\/([^/]+)$/;

/**
 * Starts the host. `invocations`: flow route requests by run id (world-local delivers each
 * message as one POST).
 */
export async function hostOnWorldLocal5() {
  process.env.WORKFLOW_VM = 'quickjs';
  process.env.WORKFLOW_COMPRESSION_CODEC = 'gzip';
  const requireFromExample = createRequire(path.join(EXAMPLE, 'package.json'));
  const load = (specifier) => import(pathToFileURL(requireFromExample.resolve(specifier)).href);
  const { createWorld } = await load('@workflow/world-local');
  const runtime = await load('workflow/runtime');
  const api = await load('workflow/api');
  const workflows = await import(pathToFileURL(path.join(EXAMPLE, '.workflow', 'workflows.mjs')).href);

  /** @type {Record<string, number>} */
  const invocations = {};
  async function serve(req, res) {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const url = `http://127.0.0.1${req.url}`;
    const request = new Request(url, { method: req.method, headers: req.headers, ...(body.length ? { body } : {}) });
    let response;
    const webhook = WEBHOOK.exec(new URL(url).pathname);
    if (webhook) {
      response = await api
        .resumeWebhook(decodeURIComponent(webhook[1]), request)
        .catch(() => new Response(null, { status: 404 }));
    } else {
      try {
        const runId = JSON.parse(body.toString('utf8'))?.runId;
        if (runId) invocations[runId] = (invocations[runId] ?? 0) + 1;
      } catch {}
      response = await workflows.POST(request);
    }
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  }
  const server = http.createServer((req, res) => {
    serve(req, res).catch((error) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}`;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'wcf-world-local-v5-'));
  const world = createWorld({ dataDir, baseUrl: base, recoverActiveRuns: false });
  runtime.setWorld(world);
  await world.start?.();
  return {
    world,
    api,
    workflows,
    base,
    invocations,
    /** `start()` of a workflow by its export name; the run. */
    start: (name, args = []) => api.start({ workflowId: workflows.workflowIds[name] }, args),
    async close() {
      server.close();
      await world.close?.();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
