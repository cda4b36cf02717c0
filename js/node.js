// Node entry (package.json "node" condition): compile the wasm from the file next to us.
import { readFileSync } from 'node:fs';
import { initSync } from '../pkg/world_cloudflare.js';

initSync({ module: new WebAssembly.Module(readFileSync(new URL('../pkg/world_cloudflare_bg.wasm', import.meta.url))) });

export { createWorld } from './world.js';
export { BINDINGS } from './env.js';
export { handleQueueMessage, handleQueueBatch, handleDeadLetter } from './queue.js';
