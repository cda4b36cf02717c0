// Worker entry (package.json "workerd"/"worker" conditions): wrangler uploads the .wasm
// as a compiled module, so nothing is compiled at run time (TOOLING.md §2c).
import wasmModule from '../pkg/world_cloudflare_bg.wasm';
import { initSync } from '../pkg/world_cloudflare.js';

initSync({ module: wasmModule });

export { createWorld } from './world.js';
export { BINDINGS } from './env.js';
export { handleQueueMessage, handleQueueBatch, handleDeadLetter } from './queue.js';
