// The Node host of the crash tests (tests/reliability/crash.test.mjs), a process of its
// own so the test can kill it (SIGKILL to its process group) and start it again:
//
//   node tests/workers/crash-host.mjs <persist dir> <port>
//
// It reaches D1, both queues and R2 persisted by `wrangler dev --persist-to <persist dir>`
// (the consumer Worker, another process) through wrangler's getPlatformProxy on the same
// directory (docs/design.md "Where workflow 4.x runs"), builds the World over them, serves the workflow routes of
// examples/basic (`wf build`) on 127.0.0.1:<port>, and calls world.start() once it listens:
// the recovery a restarted host does. Test endpoints, under /__test/:
//
//   POST start {name, args}       start a workflow by export name -> {runId}
//   GET  runs?ids=a,b             [{runId, status, value?, error?, events}]
//   POST recover                  world.start() again (what a cron trigger does)
//   POST crash-after {eventType}  SIGKILL this process group right after the next
//                                 events.create of that type commits (one shot)
//   GET  check?ids=a,b            duplicate events and store invariants of those runs
//
// It prints READY when it serves.

import { readFileSync, writeSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BASIC = path.resolve(HERE, '../../examples/basic');
const ROUTES = path.join(BASIC, '.well-known', 'workflow', 'v1');
const [persist, portText] = process.argv.slice(2);
const port = Number(portText);
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
process.env.WRANGLER_SEND_METRICS ??= 'false';

const { getPlatformProxy } = await import('wrangler');
const proxy = await getPlatformProxy({
  configPath: path.join(HERE, 'crash.wrangler.toml'),
  persist: { path: path.join(persist, 'v3') },
});
const env = { ...proxy.env, WORKFLOW_APP_URL: `http://127.0.0.1:${port}` };
const { createWorld } = await import('../../js/node.js');
const world = createWorld(env);

// The crash trigger: a process killed between a commit and what follows it.
let crashAfter;
const create = world.events.create;
world.events.create = async (...args) => {
  const result = await create(...args);
  if (crashAfter && args[1]?.eventType === crashAfter) {
    writeSync(1, `CRASHING after ${crashAfter} of ${args[0]}\n`);
    process.kill(-process.pid, 'SIGKILL');
    process.kill(process.pid, 'SIGKILL');
  }
  return result;
};

const { setWorld } = await import('workflow/runtime');
setWorld(world);
const require = createRequire(path.join(BASIC, 'index.js'));
const routes = {
  flow: require(path.join(ROUTES, 'flow.js')).POST,
  step: require(path.join(ROUTES, 'step.js')).POST,
  webhook: await import(path.join(ROUTES, 'webhook.js')),
};
const api = await import('workflow/api');
const manifest = JSON.parse(readFileSync(path.join(ROUTES, 'manifest.json'), 'utf8'));
const ids = {};
for (const workflows of Object.values(manifest.workflows)) {
  for (const [name, { workflowId }] of Object.entries(workflows)) ids[name] = workflowId;
}
const { logFigures } = await import('../support/e2e-faults.mjs');

async function describeRun(runId) {
  const run = await world.runs.get(runId);
  const events = (await world.events.list({ runId, pagination: { limit: 1000 } })).data.map((e) => e.eventType);
  const out = { runId, status: run.status, events };
  if (run.status === 'completed') out.value = await api.getRun(runId).returnValue;
  if (run.status === 'failed') out.error = run.error?.message;
  return out;
}

async function test(url, body) {
  const ids_ = (url.searchParams.get('ids') ?? '').split(',').filter(Boolean);
  switch (url.pathname) {
    case '/__test/start': {
      const { name, args } = JSON.parse(body);
      const run = await api.start({ workflowId: ids[name] }, args ?? []);
      return { runId: run.runId };
    }
    case '/__test/runs':
      return Promise.all(ids_.map(describeRun));
    case '/__test/recover':
      await world.start();
      return { ok: true };
    case '/__test/crash-after':
      crashAfter = JSON.parse(body).eventType;
      return { ok: true };
    case '/__test/check': {
      const f = await logFigures(proxy.env.DB, ids_);
      return { ...f, duplicateRows: f.duplicateRows };
    }
    default:
      return undefined;
  }
}

const server = http.createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url, `http://127.0.0.1:${port}`);
    if (url.pathname.startsWith('/__test/')) {
      const out = await test(url, body.toString());
      res.writeHead(out === undefined ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out ?? { error: 'no such test endpoint' }));
      return;
    }
    const route =
      url.pathname === '/.well-known/workflow/v1/flow'
        ? routes.flow
        : url.pathname === '/.well-known/workflow/v1/step'
          ? routes.step
          : url.pathname.startsWith('/.well-known/workflow/v1/webhook/')
            ? routes.webhook[req.method]
            : undefined;
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    const request = new Request(url, {
      method: req.method,
      headers: req.headers,
      body: body.length ? body : undefined,
    });
    const response = await route(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(String(error?.stack ?? error));
  }
});
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
await world.start();
console.log('READY');
