// Replaces @workflow/core's dist/runtime/quickjs-assets.generated.js in a Worker bundle
// (`world-cloudflare build --entry`): 3.2 MB of base64 QuickJS binaries that core compiles
// only when its assets singleton was not seeded. js/runtime/prelude.js always seeds it with
// the modules wrangler compiled, so these are never read; if they were, the run fails with
// this message instead of core compiling empty bytes.
export const quickjsWasm = new Uint8Array(0);
export const quickjsExtensions = {
  map() {
    throw new Error(
      "QuickJS assets were not seeded: import '@workflow/world-cloudflare/runtime' before any module of workflow",
    );
  },
};
