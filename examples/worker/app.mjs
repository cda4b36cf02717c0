// Starts the example Worker in local workerd (wrangler's test harness: local D1, Queues and
// R2) and drives it over HTTP, as a client of the deployed Worker would. Nothing of the
// workflows runs in Node: `world` here is only a reader of the same D1, for the logs.
//
//   const app = await startWorkerApp();   // needs the wasm (`npm run build` at the root) and
//                                         // the Worker (`npm run build` here)
//   const client = workerClient((pathname, init) => fetch(`${url}${pathname}`, init));
//   const runId = await app.start('sequential', [2, 3]);
//   await app.settle(runId);              // {runId, status, result | error}
//   await app.close();
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NAME = 'world-cloudflare-example-worker';
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `root` and `name`: another app built like this one (its wrangler.toml in `root`, its
 * Worker's `name`), such as the end-to-end suite's (tests/e2e-worker/app).
 */
export async function startWorkerApp({ vars, root = HERE, name = NAME } = {}) {
  const { createTestHarness } = await import('wrangler');
  const harness = createTestHarness({
    root,
    workers: [{ configPath: './wrangler.toml', ...(vars ? { vars } : {}) }],
  });
  await harness.listen();
  const worker = harness.getWorker(name);
  await worker.applyD1Migrations('DB');
  const { createWorld } = await import('../../js/node.js');
  const world = createWorld(await worker.getEnv(), { specVersion: 7 });
  return {
    harness,
    worker,
    ...workerClient((pathname, init) => harness.fetch(pathname, init), world),
    close: () => harness.close(),
  };
}

/**
 * A client of the Worker's routes (src/worker.js), wherever it runs: `fetchPath(pathname,
 * init)` reaches it (the test harness, a `wrangler dev` URL, a deployment); `world`, if given,
 * is a reader of the same D1, handed through for the logs.
 */
export function workerClient(fetchPath, world) {
  async function call(method, pathname, body) {
    const response = await fetchPath(pathname, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${pathname} answered ${response.status}: ${text.slice(0, 500)}`);
    return text ? JSON.parse(text) : undefined;
  }
  /** `GET /runs/:id/stream`, live: each chunk as it arrives, decoded. */
  async function* readable(runId) {
    const response = await fetchPath(`/runs/${runId}/stream`);
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const bytes of response.body) {
      buffered += decoder.decode(bytes, { stream: true });
      const lines = buffered.split('\n');
      buffered = lines.pop();
      for (const line of lines) if (line) yield JSON.parse(line);
    }
  }
  return {
    world,
    fetch: fetchPath,
    start: async (name, args = []) => (await call('POST', `/runs/${encodeURIComponent(name)}`, { args })).runId,
    status: (runId) => call('GET', `/runs/${runId}`),
    /** Polls the run until it ends (or `timeoutMs`); its last status. */
    async settle(runId, { timeoutMs = 60_000 } = {}) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const status = await call('GET', `/runs/${runId}`);
        if (TERMINAL.has(status.status) || Date.now() > until) return status;
        await sleep(100);
      }
    },
    wake: (runId) => call('POST', `/runs/${runId}/wake`),
    resumeHook: (token, payload) => call('POST', `/hooks/${encodeURIComponent(token)}`, payload),
    readable,
    /** Reads the run's stream to its end: the chunks, decoded. */
    async stream(runId) {
      const chunks = [];
      for await (const chunk of readable(runId)) chunks.push(chunk);
      return chunks;
    },
  };
}
