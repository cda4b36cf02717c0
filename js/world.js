// The World object over the wasm core. Runtime-neutral: js/worker.js and js/node.js
// instantiate the wasm, then re-export from here. No rules live in this file: every
// method hands the D1 binding and its arguments to a Rust export.
import * as core from '../pkg/world_cloudflare.js';
import { BINDINGS } from './env.js';
import { createQueue } from './queue.js';
import { createStreamer } from './streamer.js';

/**
 * Creates the World for a Worker's `env`. Synchronous and side-effect free: the runtime
 * may build a World before bindings exist (contract §1.2), so `env.DB` is read on each
 * call, and a missing binding is reported by the call that needs it.
 *
 * @param {import('./index.js').CloudflareEnv} [env]
 * @returns {import('./index.js').CloudflareWorld}
 */
export function createWorld(env = {}) {
  const db = () => env[BINDINGS.db];
  return {
    specVersion: 3,
    // workflow 4.8.9 awaits each chunk's write, and each write first waits for this timer,
    // so chunks are never batched by it and the default 10 ms is pure latency: 0 took live
    // latency p50 from 44-56 to 19-21 ms and writes from 40-53 to 110-117 chunks/s (BENCHMARKS.md).
    streamFlushIntervalMs: 0,
    ...createQueue(env),
    ...createStreamer(env),
    runs: {
      get: (runId, params) => core.getRun(db(), runId, params),
      list: (params) => core.listRuns(db(), params),
    },
    steps: {
      get: (runId, stepId, params) => core.getStep(db(), runId, stepId, params),
      list: (params) => core.listSteps(db(), params),
    },
    events: {
      create: (runId, data, params) => core.createEvent(db(), runId, data, params),
      get: (runId, eventId, params) => core.getEvent(db(), runId, eventId, params),
      list: (params) => core.listEvents(db(), params),
      listByCorrelationId: (params) => core.listEvents(db(), params),
    },
    hooks: {
      get: (hookId, params) => core.getHook(db(), hookId, params),
      getByToken: (token, params) => core.getHookByToken(db(), token, params),
      list: (params) => core.listHooks(db(), params),
    },
  };
}
