// Imported first by js/runtime.js, so it runs before any module of `workflow` 5.x is
// evaluated. Three things core needs inside workerd (docs/design.md, "Where workflow 5.x runs"), all at
// module scope and with no I/O:
//  1. core's compiled QuickJS assets, seeded from the modules wrangler compiled at deploy
//     time (workerd refuses WebAssembly.compile at run time);
//  2. crypto.getRandomValues answering during module evaluation, where workerd refuses it:
//     core draws one telemetry id at module scope (`COMPUTE_INSTANCE_ID`);
//  3. core's waitUntil lookup (@vercel/functions' request context) bridged to
//     `waitUntil` of cloudflare:workers, so background flushes outlive the handler, or,
//     inside awaitingBackgroundWork(), to a list its caller waits for.

import { waitUntil } from 'cloudflare:workers';
import { AsyncLocalStorage } from 'node:async_hooks';
import encoding from 'quickjs-wasi/encoding.so';
import headers from 'quickjs-wasi/headers.so';
import quickjs from 'quickjs-wasi/quickjs.wasm';
import structuredClone from 'quickjs-wasi/structured-clone.so';
import url from 'quickjs-wasi/url.so';

// Core's order, names and initFn: snapshots record the extension names.
const ASSETS = Symbol.for('@workflow/core//quickjsCompiledAssets/v1');
const assets = (globalThis[ASSETS] ??= {});
assets.promise = Promise.resolve({
  wasm: quickjs,
  extensions: [
    { name: 'encoding', wasm: encoding },
    { name: 'headers', wasm: headers },
    { name: 'url', wasm: url },
    { name: 'structured-clone', wasm: structuredClone, initFn: 'qjs_ext_structured_clone_init' },
  ],
});

// Until the app's entry module has been evaluated (endStartup(), called by
// createWorkflowRuntime), a refused getRandomValues is answered with Math.random: only the
// telemetry id above is drawn then; afterwards every call is the platform's.
let starting = true;
const platformRandom = crypto.getRandomValues.bind(crypto);
crypto.getRandomValues = (array) => {
  try {
    return platformRandom(array);
  } catch (error) {
    if (!starting) throw error;
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
    return array;
  }
};
export const endStartup = () => {
  starting = false;
};

const backgroundWork = new AsyncLocalStorage();
const platformContext = { waitUntil };
globalThis[Symbol.for('@vercel/request-context')] = { get: () => backgroundWork.getStore() ?? platformContext };

/**
 * Runs `task`, then waits for the background work it handed to core's waitUntil, for
 * callers whose platform waitUntil keeps nothing alive (a Durable Object's alarm). The
 * background work's own failures are core's to report; they do not fail the task.
 */
export async function awaitingBackgroundWork(task) {
  const pending = [];
  const context = { waitUntil: (promise) => void pending.push(Promise.resolve(promise).catch(() => {})) };
  const result = await backgroundWork.run(context, task);
  while (pending.length) await Promise.all(pending.splice(0));
  return result;
}
