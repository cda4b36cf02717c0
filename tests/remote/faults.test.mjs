// The World over HTTP under transport faults, end to end: the real runtime (workflow 4.8.9)
// on the example app's Node host, whose World is the remote World of the example Worker
// (examples/basic/app.mjs). A tenth of the calls the queue-driven routes make fail in one
// of three ways: the Worker is unreachable (no request sent), a proxy answers 503 (not
// sent either), or the Worker served the call and its reply is lost. Reads are retried by
// the remote World; a write surfaces as status 503, which core retries through the queue.
// Every example scenario must still end with its right result, with no event doubled or
// lost and the store's invariants holding.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import seedrandom from 'seedrandom';
import { decode } from '../../js/remote-wire.js';
import { assertClean, runAll } from '../support/e2e-faults.mjs';
import { report } from '../support/invariants.mjs';
import { startRemoteApp } from '../support/remote-app.mjs';

const RATE = 0.1;
const KINDS = ['unreachable', 'proxy 503', 'reply lost'];
// Core flushes a step's stream in the background and only logs a failed flush (RELIABILITY.md),
// so stream writes are spared, as in tests/reliability/e2e-faults.test.mjs.
const SPARED = new Set(['streamWrite', 'streamClose']);
const random = seedrandom('remote-faults');
const injected = Object.fromEntries(KINDS.map((k) => [k, 0]));
const calls = { total: 0, byRoutes: 0 };

/** Whether the World call being made comes from the queue-driven routes (flow.js, step.js). */
const fromRoute = () => /\/\.well-known\/workflow\/v1\/(flow|step)\.js/.test(new Error().stack ?? '');

/** `fetch` for the remote World that fails a share of the routes' calls. */
function faultyFetch(url, init) {
  calls.total++;
  const route = fromRoute();
  if (!route || SPARED.has(decode(init.body).call)) return fetch(url, init);
  calls.byRoutes++;
  if (random() >= RATE) return fetch(url, init);
  const kind = KINDS[Math.floor(random() * KINDS.length)];
  injected[kind]++;
  if (kind === 'unreachable') return Promise.reject(new TypeError('fetch failed: connect ECONNREFUSED'));
  if (kind === 'proxy 503') return Promise.resolve(new Response('upstream unavailable', { status: 503 }));
  return fetch(url, init).then(async (response) => {
    await response.arrayBuffer();
    throw new TypeError('fetch failed: socket hang up');
  });
}

let fx;
before(async () => {
  fx = await startRemoteApp({ remoteFetch: faultyFetch });
});
after(async () => {
  await fx?.app.close();
});

test('transport faults between the Node host and the Worker: every run ends with its right result, nothing doubled or lost', async () => {
  const { runIds, scenarios, ms } = await runAll(fx, 'remote faults', { timeoutMs: 120_000, attemptsMayGrow: true });
  const figures = await assertClean(fx, 'remote faults', runIds);
  for (const kind of KINDS)
    assert.ok(injected[kind] > 0, `no '${kind}' fault was injected: ${JSON.stringify(injected)}`);
  report('remote-faults', { scenarios, ms, calls, injected, ...figures });
});
