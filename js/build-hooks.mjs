// Module hooks for `world-cloudflare build` (registered by js/cli.mjs before it loads
// @workflow/builders): the builders' `@swc/core` is answered by js/swc-with-source-maps.mjs,
// which asks swc for an inline source map of each transformed file. The builders turn them
// off, so without this the steps bundle maps to swc's output rather than to the app's
// sources, whose lines swc does not keep.

const BUILDERS = '/@workflow/builders/';
const WRAPPER = new URL('./swc-with-source-maps.mjs', import.meta.url);

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (specifier !== '@swc/core' || !context.parentURL?.includes(BUILDERS)) return resolved;
  const url = new URL(WRAPPER);
  url.searchParams.set('swc', resolved.url);
  return { url: url.href, format: 'module', shortCircuit: true };
}
