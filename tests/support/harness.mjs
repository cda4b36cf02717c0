// Local Cloudflare test harness: wrangler's createTestHarness on the repo's
// wrangler.toml (fixture Worker + D1/Queues/R2 in local workerd) plus the dead-letter
// consumer Worker (tests/workers/wrangler.dlq.toml), with D1 migrations applied and a
// D1 wrapper that counts real round trips. The Node side's D1 and queues go through the
// fixture Worker's bindings gateway (tests/support/gateway.mjs: one HTTP request per
// D1 call or send, the real D1 of workerd answering); R2 goes through wrangler's proxy.
//
//   const h = useHarness();                  // started before the file's tests, closed after
//   const h = useHarness({ vars: { WORKFLOW_QUEUE_MAX_DELAY_SECONDS: '1' } });
//   test('…', async () => { h.roundTrips.reset(); await h.world.runs.get(id); h.roundTrips.count; });
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { addCounts, countingD1, newCounts, reportedCounts } from './counting.mjs';
import { gatewayEnv } from './gateway.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// Keep Miniflare quiet and offline, and make sure anything spawned from here finds the
// Node 22 / wrangler / wasm-opt of node_modules (docs/toolchain.md "Offline Miniflare",
// "Node 22 from npm").
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
process.env.WRANGLER_SEND_METRICS = 'false';
{
  const bin = path.join(ROOT, 'node_modules', '.bin');
  const parts = (process.env.PATH ?? '').split(path.delimiter);
  if (parts[0] !== bin) process.env.PATH = [bin, ...parts.filter((p) => p !== bin)].join(path.delimiter);
}

/**
 * `TEST_WORLD=remote`: `h.world` is the World over HTTP (js/remote.js) of the fixture
 * Worker's `serveWorld`, so a suite proves the same assertions through it (npm test runs
 * the conformance suite both ways).
 */
export const REMOTE = process.env.TEST_WORLD === 'remote';
/** Where the fixture Worker serves the World over HTTP (tests/workers/worker.js). */
export const REMOTE_PATH = '/workflow-world';

/**
 * `fetch` for the World over HTTP that adds what each call did on the fixture Worker's
 * bindings to `counts`, less the request's own served-once claim (one D1 round trip,
 * crates/core/src/remote.rs), so the counts are the World call's as they are in-process.
 */
export function remoteFetch(send, counts) {
  return async (url, init) => {
    const response = await send(url, init);
    const served = reportedCounts(response);
    if (served) {
      const claim = served.rowsByTable.remote_requests;
      if (claim !== undefined) {
        served.d1.trips -= 1;
        served.d1.rowsWritten -= claim;
        delete served.rowsByTable.remote_requests;
      }
      addCounts(counts, served);
    }
    return response;
  };
}

/** Name of the dead-letter consumer Worker (tests/workers/wrangler.dlq.toml). */
export const DLQ_WORKER = 'world-cloudflare-dlq';

/**
 * Start local workerd with the repo's wrangler.toml and the DLQ consumer Worker, apply
 * migrations/ to DB, and return the bindings of the main (fixture) Worker.
 *
 * @param {{ world?: boolean, specVersion?: 3 | 7, vars?: Record<string, string>, remote?: boolean }} [options]
 *   world: false returns no Node-side World (the fixture Workers still bundle the wasm
 *   package, so the build must exist). specVersion: the line of that World (3, 4.x).
 *   remote: that World is the World over HTTP (default: TEST_WORLD=remote).
 *   vars: overrides of wrangler.toml [vars] for both Workers of this harness (and so
 *   for `env` and the Node-side World too).
 */
export async function startHarness({ world: withWorld = true, specVersion = 3, vars, remote = REMOTE } = {}) {
  let createWorld;
  let createRemoteWorld;
  if (withWorld) {
    try {
      ({ createWorld } = await import('../../js/node.js'));
      ({ createWorld: createRemoteWorld } = await import('../../js/remote.js'));
    } catch (err) {
      throw new Error(
        `startHarness: cannot load js/node.js (${err?.message ?? err}). ` +
          'Build the wasm package first (`npm run build`), or call startHarness({ world: false }).',
        { cause: err },
      );
    }
  }

  const { createTestHarness } = await import('wrangler');
  // Both Workers run in one local runtime: they share the local queues (workflow-dlq is
  // fed by the main Worker's consumers) and the D1 database (same database_id).
  const gatewayToken = randomUUID();
  const allVars = { WORKFLOW_REMOTE_SECRET: randomUUID(), ...vars, BINDINGS_GATEWAY_TOKEN: gatewayToken };
  const server = createTestHarness({
    root: ROOT,
    workers: [
      { configPath: './wrangler.toml', vars: allVars },
      { configPath: './tests/workers/wrangler.dlq.toml', vars: allVars },
    ],
  });
  let env;
  let worker;
  try {
    await server.listen();
    worker = server.getWorker();
    await worker.applyD1Migrations('DB');
    const proxied = await worker.getEnv();
    env = gatewayEnv(proxied, (route, init) => worker.fetch(`http://gateway${route}`, init), gatewayToken);
  } catch (err) {
    await server.close().catch(() => {});
    throw err;
  }

  const counts = newCounts();
  const roundTrips = {
    get count() {
      return counts.d1.trips;
    },
    reset() {
      counts.d1.trips = 0;
    },
  };
  const db = countingD1(env.DB, counts.d1);
  const remoteSecret = allVars.WORKFLOW_REMOTE_SECRET;
  const world = !withWorld
    ? undefined
    : remote
      ? createRemoteWorld({
          url: `http://fixture${REMOTE_PATH}`,
          secret: remoteSecret,
          specVersion,
          deliverySecret: allVars.WORKFLOW_SECRET,
          fetch: remoteFetch((url, init) => worker.fetch(url, init), counts),
        })
      : createWorld({ ...env, DB: db }, { specVersion });

  let closed = false;
  return {
    server,
    env,
    db,
    roundTrips,
    /** Everything the wrapper counted (tests/support/counting.mjs), e.g. `d1.rowsWritten`. */
    counts,
    world,
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
    },
  };
}

/**
 * The harness of a test file: started before its tests and closed after them. Returns a
 * view of the started harness (`h.world`, `h.env`, `h.db`, `h.roundTrips`, `h.server`),
 * readable once the file's `before` hooks have run. `setup(h)` runs once it has started,
 * `teardown(h)` before it closes.
 *
 * @param {Parameters<typeof startHarness>[0] & { setup?: (h: object) => unknown, teardown?: (h: object) => unknown }} [options]
 */
export function useHarness({ setup, teardown, ...options } = {}) {
  let started;
  before(async () => {
    started = await startHarness(options);
    await setup?.(started);
  });
  after(async () => {
    try {
      if (started) await teardown?.(started);
    } finally {
      await started?.close();
    }
  });
  return new Proxy(
    {},
    {
      get(_, key) {
        if (!started) throw new Error(`useHarness: h.${String(key)} read before the harness started`);
        return started[key];
      },
    },
  );
}
