// The example app on one machine: Cloudflare's side (D1, both queues and their
// consumers, R2) in local workerd, and the workflow routes that `wf build` produced
// hosted on Node, with @workflow/world-cloudflare as the World of both. The same routes
// also run on the reference Worlds (world-local, world-postgres) for the e2e test and
// the bench.
//
//   const app = await startApp();   // needs `npm run build` and `wf build` (scripts/demo.mjs)
//   const run = await app.start('sequential', [2, 3]);
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROUTES = path.join(HERE, '.well-known', 'workflow', 'v1');

process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
process.env.WRANGLER_SEND_METRICS ??= 'false';

/** Turns a Node request into a fetch Request and a fetch Response back. */
function nodeHandler(route) {
  return async (req, res) => {
    try {
      const url = `http://${req.headers.host}${req.url}`;
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const body = chunks.length && !['GET', 'HEAD'].includes(req.method) ? Buffer.concat(chunks) : undefined;
      const response = await route(new Request(url, { method: req.method, headers: req.headers, body }));
      res.writeHead(response.status, Object.fromEntries(response.headers));
      if (response.body) for await (const c of response.body) res.write(c);
      res.end();
    } catch (error) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error?.stack ?? error));
    }
  };
}

/** Serves the three routes of `wf build` once `load()` has run. */
function routesHost(onRoute) {
  let routes;
  const server = http.createServer((req, res) => {
    if (onRoute) {
      onRoute('request', req);
      res.on('finish', () => onRoute(`answered ${res.statusCode}`, req));
    }
    const { pathname } = new URL(req.url, 'http://host');
    const route = !routes
      ? undefined
      : pathname === '/.well-known/workflow/v1/flow'
        ? routes.flow.POST
        : pathname === '/.well-known/workflow/v1/step'
          ? routes.step.POST
          : pathname.startsWith('/.well-known/workflow/v1/webhook/')
            ? routes.webhook[req.method]
            : undefined;
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    nodeHandler(route)(req, res);
  });
  return {
    server,
    async listen(port = 0) {
      await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
      return server.address().port;
    },
    async stop() {
      await new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections?.();
      });
    },
    async load() {
      // The bundles build their route handlers from the World when they are loaded, so
      // the World must be set first (RUNTIME-E2E.md).
      const require = createRequire(path.join(HERE, 'index.js'));
      routes = {
        flow: require(path.join(ROUTES, 'flow.js')),
        step: require(path.join(ROUTES, 'step.js')),
        webhook: await import(path.join(ROUTES, 'webhook.js')),
      };
    },
  };
}

/**
 * Creates (or brings up to date) the schema of @workflow/world-postgres in the database at
 * `postgresUrl` with the package's own setup CLI (its SQL migrations and graphile-worker's).
 */
export function setupPostgres(postgresUrl) {
  const require = createRequire(import.meta.url);
  // dist/cli.js runs the setup when it is the main module (the package's `bootstrap` bin).
  const cli = require.resolve('@workflow/world-postgres/cli');
  const r = spawnSync(process.execPath, [cli], {
    env: { ...process.env, WORKFLOW_POSTGRES_URL: postgresUrl },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`world-postgres setup failed (exit ${r.status}): ${r.stderr || r.stdout}`);
}

/** The workflow ids `wf build` assigned, by export name. */
export function workflowIds() {
  const manifest = JSON.parse(readFileSync(path.join(ROUTES, 'manifest.json'), 'utf8'));
  const ids = {};
  for (const workflows of Object.values(manifest.workflows)) {
    for (const [name, { workflowId }] of Object.entries(workflows)) ids[name] = workflowId;
  }
  return ids;
}

/**
 * Starts the app. `world: 'cloudflare'` (default) runs everything on this World in local
 * workerd; `world: 'local'` runs the same routes on @workflow/world-local 4.4.1, the
 * reference the tests compare event logs with (in `dataDir`); `world: 'postgres'` runs them
 * on @workflow/world-postgres 4.3.7 against the PostgreSQL server at `postgresUrl`, whose
 * schema `setupPostgres(postgresUrl)` creates. A World is set once per process
 * (`setWorld`), so start one app per process.
 *
 * Options of the Cloudflare side (the bench uses them): `wranglerConfig`, the consumer
 * Worker's config (default './wrangler.toml'); `wrapEnv(env)`, applied to the bindings
 * before the Node host's World is built over them; `bindings: 'gateway'` (the consumer Worker
 * must serve gateway.mjs, as bench-worker.js does) gives the Node host's World D1 and the
 * queues through one HTTP request per batch or send instead of wrangler's binding proxy,
 * whose every prepare() and bind() is a blocking round trip. `onRoute(phase, req)`, any World: called
 * when a request reaches the routes' host ('request') and when it is answered.
 */
export async function startApp({
  world: which = 'cloudflare',
  dataDir,
  postgresUrl,
  wranglerConfig = './wrangler.toml',
  wrapEnv = (env) => env,
  bindings = 'proxy',
  onRoute,
} = {}) {
  const host = routesHost(onRoute);
  const port = await host.listen();
  const base = `http://127.0.0.1:${port}`;
  let world;
  let harness;
  if (which === 'cloudflare') {
    const { createTestHarness } = await import('wrangler');
    harness = createTestHarness({
      root: HERE,
      workers: [
        { configPath: wranglerConfig, vars: { WORKFLOW_APP_URL: base } },
        { configPath: './dlq.wrangler.toml' },
      ],
    });
    await harness.listen();
    const worker = harness.getWorker('world-cloudflare-example');
    await worker.applyD1Migrations('DB');
    let env = await worker.getEnv();
    if (bindings === 'gateway') {
      const { gatewayEnv } = await import('./gateway.mjs');
      env = gatewayEnv(env, (route, body) =>
        worker.fetch(`http://gateway${route}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } }),
      );
    }
    const { createWorld } = await import('../../js/node.js');
    world = createWorld(wrapEnv(env));
  } else if (which === 'local') {
    process.env.WORKFLOW_LOCAL_BASE_URL = base;
    const { createLocalWorld } = await import('@workflow/world-local');
    world = createLocalWorld({ dataDir, baseUrl: base });
  } else if (which === 'postgres') {
    if (!postgresUrl) throw new Error("startApp({ world: 'postgres' }) needs postgresUrl");
    // world-postgres delivers its queue jobs by HTTP to the routes at this base URL.
    process.env.WORKFLOW_LOCAL_BASE_URL = base;
    const { createWorld } = await import('@workflow/world-postgres');
    world = createWorld({ connectionString: postgresUrl });
  } else {
    throw new Error(`startApp: unknown world ${JSON.stringify(which)} (cloudflare, local or postgres)`);
  }
  const { setWorld } = await import('workflow/runtime');
  setWorld(world);
  await host.load();
  await world.start?.();
  const api = await import('workflow/api');
  const ids = workflowIds();
  return {
    world,
    base,
    api,
    /** The local Cloudflare emulation (wrangler test harness), when world is 'cloudflare'. */
    harness,
    /** Takes the routes' host down (deliveries fail and are retried) until `restartHost()`. */
    stopHost: () => host.stop(),
    restartHost: () => host.listen(port),
    /** `start()` by the workflow's export name. */
    start: (name, args = []) => api.start({ workflowId: ids[name] }, args),
    async close() {
      if (host.server.listening) await host.stop();
      await harness?.close();
      await world.close?.();
    },
  };
}
