// The names of the Worker bindings and vars this package reads. The table lives in Rust
// (src/wasm/bindings.rs), which reads them; this is its copy for JS callers.
import { bindingNames } from '../pkg/world_cloudflare.js';

export const BINDINGS = Object.freeze(bindingNames());
