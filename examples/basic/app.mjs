// The example app on one machine: Cloudflare's side (D1, both queues and their
// consumers, R2) in local workerd, and the workflow routes that `wf build` produced
// hosted on Node, with @workflow/world-cloudflare as the World of both: the Node host's
// is the World over HTTP (@workflow/world-cloudflare/remote) of the example Worker.
//
//   const app = await startApp();   // needs `npm run build` and `wf build` (scripts/demo.mjs)
//   const run = await app.start('sequential', [2, 3]);
//
// The tests and the bench also host the same routes on another World (`world`), such as
// the reference world-local, to compare it with this one.

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROUTES = path.join(HERE, '.well-known', 'workflow', 'v1');
/** Where the example Worker serves the World over HTTP (worker.js). */
export const WORLD_PATH = '/workflow-world';

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
      // the World must be set first (docs/design.md "Where workflow 4.x runs").
      const require = createRequire(path.join(HERE, 'index.js'));
      routes = {
        flow: require(path.join(ROUTES, 'flow.js')),
        step: require(path.join(ROUTES, 'step.js')),
        webhook: await import(path.join(ROUTES, 'webhook.js')),
      };
    },
  };
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
 * Starts the app: this World over local workerd (`wranglerConfig`, relative to this folder,
 * is the Cloudflare side; `vars` are added to its [vars]), or, with `world({ base })`, the
 * routes on another World whose queue delivers to `base`. On this World the Node host
 * uses the World over HTTP of the example Worker (`WORLD_PATH`, js/remote.js), calling
 * it with `remoteFetch` if given; or, with `wrapEnv(env, worker)`, a World over the
 * Worker's bindings through wrangler's proxy, wrapped first (tests that inject faults
 * into the host's own bindings). A World is set once per process (`setWorld`), so start
 * one app per process. `onRoute(phase, req)` is called when a request reaches the routes'
 * host ('request') and when it is answered.
 */
export async function startApp({
  world: otherWorld,
  wranglerConfig = './wrangler.toml',
  wrapEnv,
  remoteFetch,
  vars,
  onRoute,
} = {}) {
  const remoteSecret = randomUUID();
  const host = routesHost(onRoute);
  const port = await host.listen();
  const base = `http://127.0.0.1:${port}`;
  let world;
  let harness;
  let remote;
  if (otherWorld) {
    world = await otherWorld({ base });
  } else {
    const { createTestHarness } = await import('wrangler');
    harness = createTestHarness({
      root: HERE,
      workers: [
        { configPath: wranglerConfig, vars: { WORKFLOW_APP_URL: base, WORKFLOW_REMOTE_SECRET: remoteSecret, ...vars } },
        { configPath: './dlq.wrangler.toml' },
      ],
    });
    const { url } = await harness.listen();
    const worker = harness.getWorker('world-cloudflare-example');
    await worker.applyD1Migrations('DB');
    if (wrapEnv) {
      const { createWorld } = await import('../../js/node.js');
      world = createWorld(await wrapEnv(await worker.getEnv(), worker));
    } else {
      const { createWorld } = await import('../../js/remote.js');
      remote = { url: new URL(WORLD_PATH, url).href, secret: remoteSecret };
      world = createWorld({ ...remote, fetch: remoteFetch });
    }
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
    /** The local Cloudflare emulation (wrangler test harness), on this World. */
    harness,
    /** Where the Node host's World over HTTP calls the Worker, and its secret (unless `wrapEnv`). */
    remote,
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
