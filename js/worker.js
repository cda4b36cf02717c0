// Worker entry (package.json "workerd"/"worker" conditions): the wasm is instantiated
// before anything else of the package loads (./wasm-worker.js comes first).
import './wasm-worker.js';

export { BINDINGS } from './bindings.js';
export { handleDeadLetter, handleQueueBatch, handleQueueMessage } from './queue.js';
export { serveWorld } from './serve.js';
export { createWorld } from './world.js';
