// What wrangler's module rules give the Worker-side shim (js/runtime/prelude.js,
// js/wasm-worker.js): `.wasm` and `.so` files as compiled modules.
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
declare module '*.so' {
  const module: WebAssembly.Module;
  export default module;
}
// V8's stack hook, which workerd keeps (js/runtime/stack-trace.js).
interface ErrorConstructor {
  prepareStackTrace?: (error: Error, frames: unknown[]) => unknown;
}
// nodejs_compat's AsyncLocalStorage, as js/runtime/prelude.js uses it.
declare module 'node:async_hooks' {
  export class AsyncLocalStorage<T> {
    getStore(): T | undefined;
    run<R>(store: T, callback: () => R): R;
  }
}
