// Local Cloudflare test harness: wrangler's createTestHarness on the repo's
// wrangler.toml (fixture Worker + D1/Queues/R2 in local workerd) plus the dead-letter
// consumer Worker (tests/fixtures/wrangler.dlq.toml), with D1 migrations applied and a
// D1 wrapper that counts real round trips.
//
//   const h = await startHarness();          // or startHarness({ world: false })
//   const h = await startHarness({ vars: { WORKFLOW_QUEUE_MAX_DELAY_SECONDS: '1' } });
//   h.roundTrips.reset(); await h.world.runs.get(id); h.roundTrips.count;
//   await h.close();
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// The binding-wrapping Proxy is shared with the bench's counters.
import { delegate, unwrap } from '../examples/basic/counting.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Keep Miniflare quiet and offline (TOOLING.md P10), and make sure anything
// spawned from here finds the Node 22 / wrangler / wasm-opt of node_modules (P6).
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false';
process.env.WRANGLER_SEND_METRICS = 'false';
{
  const bin = path.join(ROOT, 'node_modules', '.bin');
  const parts = (process.env.PATH ?? '').split(path.delimiter);
  if (parts[0] !== bin) process.env.PATH = [bin, ...parts.filter((p) => p !== bin)].join(path.delimiter);
}

/**
 * Wrap a D1Database (or a D1 session) so that every real round trip bumps
 * `counter.count`: batch, exec, dump, and a statement's run/all/first/raw.
 * prepare() and bind() are not round trips and are not counted.
 */
export function countingD1(real, counter) {
  const stmt = (realStmt) =>
    delegate(realStmt, {
      bind: (...args) => stmt(realStmt.bind(...args)),
      run: (...args) => (counter.count++, realStmt.run(...args)),
      all: (...args) => (counter.count++, realStmt.all(...args)),
      first: (...args) => (counter.count++, realStmt.first(...args)),
      raw: (...args) => (counter.count++, realStmt.raw(...args)),
    });
  const own = {
    prepare: (sql) => stmt(real.prepare(sql)),
    batch: (statements, ...rest) => (counter.count++, real.batch(Array.from(statements, unwrap), ...rest)),
    exec: (...args) => (counter.count++, real.exec(...args)),
    dump: (...args) => (counter.count++, real.dump(...args)),
  };
  if (typeof real.withSession === 'function') {
    own.withSession = (...args) => countingD1(real.withSession(...args), counter);
  }
  return delegate(real, own);
}

/** Name of the dead-letter consumer Worker (tests/fixtures/wrangler.dlq.toml). */
export const DLQ_WORKER = 'world-cloudflare-dlq';

/**
 * Start local workerd with the repo's wrangler.toml and the DLQ consumer Worker, apply
 * migrations/ to DB, and return the bindings of the main (fixture) Worker.
 *
 * @param {{ world?: boolean, vars?: Record<string, string> }} [options]
 *   world: false returns no Node-side World (the fixture Workers still bundle the wasm
 *   package, so the build must exist).
 *   vars: overrides of wrangler.toml [vars] for both Workers of this harness (and so
 *   for `env` and the Node-side World too).
 */
export async function startHarness({ world: withWorld = true, vars } = {}) {
  let createWorld;
  if (withWorld) {
    try {
      ({ createWorld } = await import('../js/node.js'));
    } catch (err) {
      throw new Error(
        `startHarness: cannot load js/node.js (${err?.message ?? err}). ` +
          'Build the wasm package first (`npm run build`), or call startHarness({ world: false }).',
        { cause: err },
      );
    }
    if (typeof createWorld !== 'function') {
      throw new Error('startHarness: js/node.js does not export a createWorld function');
    }
  }

  const { createTestHarness } = await import('wrangler');
  // Both Workers run in one local runtime: they share the local queues (workflow-dlq is
  // fed by the main Worker's consumers) and the D1 database (same database_id).
  const server = createTestHarness({
    root: ROOT,
    workers: [
      { configPath: './wrangler.toml', ...(vars ? { vars } : {}) },
      { configPath: './tests/fixtures/wrangler.dlq.toml', ...(vars ? { vars } : {}) },
    ],
  });
  let env;
  try {
    await server.listen();
    const worker = server.getWorker();
    await worker.applyD1Migrations('DB');
    env = await worker.getEnv();
  } catch (err) {
    await server.close().catch(() => {});
    throw err;
  }

  const counter = { count: 0 };
  const roundTrips = {
    get count() {
      return counter.count;
    },
    reset() {
      counter.count = 0;
    },
  };
  const db = countingD1(env.DB, counter);

  let world;
  if (withWorld) {
    try {
      world = await createWorld({ ...env, DB: db });
    } catch (err) {
      await server.close().catch(() => {});
      throw err;
    }
  }

  let closed = false;
  return {
    server,
    env,
    db,
    roundTrips,
    world,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await world?.close?.();
      } finally {
        await server.close();
      }
    },
  };
}
