// The World object over the wasm core. Runtime-neutral: js/worker.js and js/node.js
// instantiate the wasm, then re-export from here. No rules live in this file: every
// method hands its arguments to a method of the Rust `World` (src/wasm/world.rs), or of
// js/remote.js's stand-in that calls a Worker's.
import * as wasm from '../pkg/world_cloudflare.js';
import { createQueue } from './queue.js';
import { createStreamer, createStreams } from './streamer.js';

/**
 * Creates the World for a Worker's `env`. Synchronous and side-effect free: the runtime
 * may build a World before bindings exist (contract §1.2), so the bindings are read on
 * each call, and a missing one is reported by the call that needs it.
 *
 * `options.specVersion` picks the line: 3 (the default) is the World of `workflow` 4.x,
 * 7 the World of `workflow` 5.x. Both serve one D1 database; each run keeps the rules of
 * the line that created it.
 *
 * @overload
 * @param {import('./index.js').CloudflareEnv} [env]
 * @param {{ specVersion?: 3 }} [options]
 * @returns {import('./index.js').CloudflareWorld}
 */
/**
 * @overload
 * @param {import('./index.js').CloudflareEnv | undefined} env
 * @param {{ specVersion: 7 }} options
 * @returns {import('./index.js').CloudflareWorldV5}
 */
/**
 * @param {import('./index.js').CloudflareEnv} [env]
 * @param {import('./index.js').WorldOptions} [options]
 * @returns {import('./index.js').CloudflareWorld | import('./index.js').CloudflareWorldV5}
 */
export function createWorld(env = {}, options = undefined) {
  return worldOver(new wasm.World(env, options));
}

/** crates/core/src/calls.rs `CALLS`, read once the wasm is ready. */
let worldCalls;

/**
 * The World's members over `core`: the Rust `World`, or anything with its methods (the
 * World over HTTP, js/remote.js, forwards them to a Worker's `World`). The members that
 * answer as a call of it does come from `CALLS`; the queue and streams are adapters.
 *
 * @param {wasm.World} core
 */
export function worldOver(core) {
  const v5 = core.specVersion === 7;
  /** @type {Record<string, any>} */
  const storage = {};
  worldCalls ??= wasm.worldCalls();
  for (const { name, members, v5Only } of worldCalls) {
    if (v5Only && !v5) continue;
    for (const member of members) {
      const [group, method] = member.split('.');
      const call = (/** @type {unknown[]} */ ...args) => /** @type {any} */ (core)[name](...args);
      if (method) (storage[group] ??= {})[method] = call;
      else storage[group] = call;
    }
  }
  // The Rust types cannot carry zod's per-status refinements of the contract's entity
  // types (a completed run has `completedAt`, …); the engine guarantees them at run time
  // and tests/types/world.check.ts checks each generated type against the contract's.
  if (v5) {
    return /** @type {import('./index.js').CloudflareWorldV5} */ (
      /** @type {unknown} */ ({
        specVersion: 7,
        // Only what the World enforces: a hook with tokenRetentionUntil keeps its token and
        // stays readable past its run's end until then; one committed hook_received per
        // (runId, resumeId).
        capabilities: { hookRetention: { active: true }, hookResumeDedup: true },
        streamFlushIntervalMs: 0,
        ...createQueue(core),
        streams: createStreams(core),
        ...storage,
      })
    );
  }
  return /** @type {import('./index.js').CloudflareWorld} */ (
    /** @type {unknown} */ ({
      specVersion: 3,
      // workflow 4.8.9 awaits each chunk's write, and each write first waits for this timer,
      // so chunks are never batched by it and the default 10 ms is pure latency: 0 took live
      // latency p50 from 44-56 to 19-21 ms and writes from 40-53 to 110-117 chunks/s (BENCHMARKS.md).
      streamFlushIntervalMs: 0,
      ...createQueue(core),
      ...createStreamer(core),
      ...storage,
    })
  );
}
