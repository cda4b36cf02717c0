// Stands in for @workflow/world-local and @workflow/world-vercel in a Worker bundle (swapped in
// by `world-cloudflare build --entry`, js/cli.mjs): core imports their createWorld statically, but a Worker
// sets its World with setWorld (js/runtime.js), and bundling them would drag node:fs and
// HTTP clients into the Worker.
export function createWorld() {
  throw new Error(
    'No default World in a Worker: @workflow/world-cloudflare/runtime sets the World with setWorld() when the entry module loads',
  );
}
export default createWorld;
