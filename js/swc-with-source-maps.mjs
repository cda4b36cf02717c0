// `@swc/core` as @workflow/builders sees it during `world-cloudflare build` (js/build-hooks.mjs):
// the real module, whose URL is this module's `swc` query parameter, except that
// `transform` also writes an inline source map, which esbuild carries into the bundle. The
// map names the file by its base name: esbuild reads a source relative to the file's folder.

const realSwc = new URL(import.meta.url).searchParams.get('swc');
if (!realSwc)
  throw new Error(
    'js/swc-with-source-maps.mjs is loaded by js/build-hooks.mjs, which names the real @swc/core in ?swc=',
  );
const swc = await import(realSwc);
const real = swc.default ?? swc;

const baseName = (file) => String(file).split(/[\\/]/).pop();

export const parseSync = real.parseSync;
export const transform = (source, options) =>
  real.transform(source, { ...options, sourceMaps: 'inline', sourceFileName: baseName(options?.filename) });
export default { ...real, transform };
