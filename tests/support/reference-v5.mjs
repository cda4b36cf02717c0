// Runs every example scenario on @workflow/world-local 5.0.0-beta.46 (the reference World
// of the 5.x line) and prints each run's event types and flow invocations as JSON: what
// tests/e2e-worker/examples.test.mjs compares the example Worker with. The same built
// workflows (examples/worker/.workflow, `world-cloudflare build`) on the same runtime
// (examples/worker's workflow 5.0.0-beta.55, QuickJS), hosted here on node:http, where
// world-local's queue delivers them.
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runStatus } from '../../js/runtime/run-status.js';

process.env.WORKFLOW_VM = 'quickjs';
process.env.WORKFLOW_COMPRESSION_CODEC = 'gzip';

const EXAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/worker');
const requireFromExample = createRequire(path.join(EXAMPLE, 'package.json'));
const load = (specifier) => import(pathToFileURL(requireFromExample.resolve(specifier)).href);

const { createWorld } = await load('@workflow/world-local');
const runtime = await load('workflow/runtime');
const api = await load('workflow/api');
const workflows = await import(pathToFileURL(path.join(EXAMPLE, '.workflow', 'workflows.mjs')).href);
const { runScenario, scenarios } = await import(pathToFileURL(path.join(EXAMPLE, 'scenarios.mjs')).href);

/** Flow route requests by run id: world-local delivers each message as one POST. */
const invocations = {};
const TERMINAL_EVENTS = new Set(['run_completed', 'run_failed', 'run_cancelled']);
const WEBHOOK = /^\/\.well-known\/workflow\/v1\/webhook\/([^/]+)$/;

async function serve(req, res) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const url = `http://127.0.0.1${req.url}`;
  const request = new Request(url, {
    method: req.method,
    headers: req.headers,
    ...(body.length ? { body } : {}),
  });
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
const base = `http://127.0.0.1:${server.address().port}`;
const dataDir = mkdtempSync(path.join(tmpdir(), 'wcf-world-local-v5-'));
const world = createWorld({ dataDir, baseUrl: base, recoverActiveRuns: false });
runtime.setWorld(world);
await world.start?.();

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const status = (runId) => runStatus(world, api, runId);

/** The interface of examples/worker/app.mjs, on world-local. */
const app = {
  world,
  fetch: (pathname, init) => fetch(`${base}${pathname}`, init),
  start: async (name, args = []) => (await api.start({ workflowId: workflows.workflowIds[name] }, args)).runId,
  status,
  async settle(runId) {
    const until = Date.now() + 60_000;
    for (;;) {
      const s = await status(runId);
      if (TERMINAL.has(s.status) || Date.now() > until) return s;
      await sleep(100);
    }
  },
  wake: (runId) => api.getRun(runId).wakeUp(),
  resumeHook: (token, payload) => api.resumeHook(token, payload),
  async stream(runId) {
    const chunks = [];
    for await (const chunk of api.getRun(runId).getReadable()) chunks.push(chunk);
    return chunks;
  },
};

const logs = {};
try {
  for (const scenario of scenarios) {
    const result = await runScenario(app, scenario);
    // Settled deliveries may still be in flight when the run's status turns terminal, and
    // world-local writes the run's file before its terminal event's: read the log once it
    // holds that event (within 10 s).
    await sleep(300);
    let events = result.events;
    for (const until = Date.now() + 10_000; !events.some((t) => TERMINAL_EVENTS.has(t)) && Date.now() < until; ) {
      await sleep(100);
      events = (await world.events.list({ runId: result.outcome.runId, pagination: { limit: 1000 } })).data.map(
        (e) => e.eventType,
      );
    }
    logs[scenario.name] = {
      events,
      problems: result.problems,
      invocations: invocations[result.outcome.runId] ?? 0,
    };
  }
} finally {
  server.close();
  await world.close?.();
  rmSync(dataDir, { recursive: true, force: true });
}
process.stdout.write(`\n@@REFERENCE@@${JSON.stringify(logs)}\n`);
process.exit(0);
