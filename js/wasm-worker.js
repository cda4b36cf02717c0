// Instantiates the wasm core in a Worker: wrangler uploads the .wasm as a compiled module,
// so nothing is compiled at run time (workerd forbids it).

import { initSync } from '../pkg/world_cloudflare.js';
import wasmModule from '../pkg/world_cloudflare_bg.wasm';

initSync({ module: wasmModule });
