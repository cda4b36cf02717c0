// `npm run bench` only: the example's Worker (examples/basic/worker.js: the README's queue
// consumer and the World over HTTP at /workflow-world) with its bindings wrapped in
// counters (tests/support/counting.mjs), so the bench can add what the Worker does in
// workerd to what the Node host asks of it.
//
// - Queue consumer: counted into the totals that GET /__bench/counts returns (since the
//   last POST /__bench/reset), with `worker.invocations` (one Workers request each).
// - World over HTTP (serveWorld): each call's own counts, its served-once claim in D1
//   included (crates/core/src/remote.rs: one round trip, rows in `remote_requests`), go back in a
//   response header (counting.mjs `withBindingCounts`), which the Node host's fetch adds to its side
//   (bench/world.mjs `countedFetch`).
// - POST /__bench/statuses `[runId…]`: the bench's completion poller, one uncounted D1
//   query for every run in flight; GET /__bench/size: the database's size in bytes.
import { handleQueueBatch, serveWorld } from '@workflow/world-cloudflare';
import { countingEnv, newCounts, resetCounts, withBindingCounts } from '../tests/support/counting.mjs';

// bench/world.mjs names the same path.
const WORLD_PATH = '/workflow-world';

const counts = newCounts();
const worker = { invocations: 0 };

async function statuses(request, env) {
  const ids = await request.json();
  if (!ids.length) return Response.json([]);
  const { results } = await env.DB.prepare(
    `SELECT run_id, status FROM runs WHERE run_id IN (${ids.map(() => '?').join(', ')})`,
  )
    .bind(...ids)
    .all();
  return Response.json(results);
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === WORLD_PATH) return withBindingCounts(env, (counted) => serveWorld(request, counted));
    if (pathname === '/__bench/counts') return Response.json({ ...counts, worker: { ...worker } });
    if (pathname === '/__bench/reset' && request.method === 'POST') {
      worker.invocations = 0;
      return Response.json(resetCounts(counts));
    }
    if (pathname === '/__bench/statuses' && request.method === 'POST') return statuses(request, env);
    if (pathname === '/__bench/size') {
      const { meta } = await env.DB.prepare('SELECT 1').run();
      return Response.json({ bytes: Number(meta.size_after) });
    }
    return new Response('not found', { status: 404 });
  },
  async queue(batch, env) {
    worker.invocations++;
    await handleQueueBatch(batch, countingEnv(env, counts));
  },
};
