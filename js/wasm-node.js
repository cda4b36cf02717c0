// Instantiates the wasm core in Node: compiled from the file next to us.
import { readFileSync } from 'node:fs';
import { initSync } from '../pkg/world_cloudflare.js';

initSync({ module: new WebAssembly.Module(readFileSync(new URL('../pkg/world_cloudflare_bg.wasm', import.meta.url))) });
