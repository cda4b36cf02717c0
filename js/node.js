// Node entry (package.json "node" condition): the wasm is compiled from the file next to
// us before anything else of the package loads (./wasm-node.js comes first).
import './wasm-node.js';

export { BINDINGS } from './bindings.js';
export { handleDeadLetter, handleQueueBatch, handleQueueMessage } from './queue.js';
export { createWorld } from './world.js';
