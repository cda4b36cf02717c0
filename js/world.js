// The World object over the wasm core. Runtime-neutral: js/worker.js and js/node.js
// instantiate the wasm, then re-export from here. No rules live in this file: every
// method hands its arguments to a method of the Rust `World` (src/wasm/world.rs).
import * as wasm from '../pkg/world_cloudflare.js';
import { createQueue } from './queue.js';
import { createStreamer } from './streamer.js';

/**
 * Creates the World for a Worker's `env`. Synchronous and side-effect free: the runtime
 * may build a World before bindings exist (contract §1.2), so the bindings are read on
 * each call, and a missing one is reported by the call that needs it.
 *
 * @param {import('./index.js').CloudflareEnv} [env]
 * @returns {import('./index.js').CloudflareWorld}
 */
export function createWorld(env = {}) {
  const core = new wasm.World(env);
  // The Rust types cannot carry zod's per-status refinements of the contract's entity
  // types (a completed run has `completedAt`, …); the engine guarantees them at run time
  // and tests/types/world.check.ts checks each generated type against the contract's.
  return /** @type {import('./index.js').CloudflareWorld} */ (
    /** @type {unknown} */ ({
      specVersion: 3,
      // workflow 4.8.9 awaits each chunk's write, and each write first waits for this timer,
      // so chunks are never batched by it and the default 10 ms is pure latency: 0 took live
      // latency p50 from 44-56 to 19-21 ms and writes from 40-53 to 110-117 chunks/s (BENCHMARKS.md).
      streamFlushIntervalMs: 0,
      ...createQueue(core),
      ...createStreamer(core),
      runs: {
        get: (runId, params) => core.getRun(runId, params),
        list: (params) => core.listRuns(params),
      },
      steps: {
        get: (runId, stepId, params) => core.getStep(runId, stepId, params),
        list: (params) => core.listSteps(params),
      },
      events: {
        create: (runId, data, params) => core.createEvent(runId, data, params),
        get: (runId, eventId, params) => core.getEvent(runId, eventId, params),
        list: (params) => core.listEvents(params),
        listByCorrelationId: (params) => core.listEvents(params),
      },
      hooks: {
        get: (hookId, params) => core.getHook(hookId, params),
        getByToken: (token, params) => core.getHookByToken(token, params),
        list: (params) => core.listHooks(params),
      },
    })
  );
}
