#!/usr/bin/env node
// The package's command line:
//
//   world-cloudflare init [dir] [--remote] [--name <worker>]
//   world-cloudflare build [--dir workflows]... [--out .workflow] [--entry <Worker module>]
//
// `init` writes a Worker app that runs its workflows on Cloudflare (js/init.mjs).
// `build` turns an app's "use workflow" / "use step" files into modules wrangler bundles
// into the Worker (`wf build` has no Worker target; docs/design.md, "Where workflow 5.x
// runs"). It runs @workflow/builders 5.x from the app's own node_modules, so the build and
// the runtime are the app's installed `workflow`.
//
// `build` writes <out>/steps.mjs and <out>/flow.mjs (left unbundled: wrangler bundles them
// with the Worker), and <out>/workflows.mjs: the flow route (`POST`), the workflow ids by
// export name, and a deployment id derived from the built flow's content. With --entry, it
// also bundles the Worker from that entry into <out>/worker.mjs (the `main` for wrangler),
// swapping by resolved path what wrangler's exact-specifier aliases cannot: core's embedded
// QuickJS binaries (js/runtime/quickjs-assets-seeded.js) and its default Worlds
// (js/runtime/no-default-world.js), with its source map, and copies the .wasm and .so
// modules it imports into <out>/modules/: wrangler uploads that bundle as it is
// (`no_bundle`, docs/design.md "One bundle, uploaded as built").
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire, register } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { init } from './init.mjs';

const USAGE = [
  'usage: world-cloudflare init [dir] [--remote] [--name <worker name>]',
  '       world-cloudflare build [--dir <workflows dir>]... [--out <output dir>] [--entry <Worker entry>]',
].join('\n');
const HERE = path.dirname(new URL(import.meta.url).pathname);

/** The command and its options; throws, naming what was wrong, with the usage. */
function parseArgs(argv) {
  const [command, ...rest] = argv;
  const flags = { build: ['--dir', '--out', '--entry'], init: ['--name'] }[command];
  const switches = { build: [], init: ['--remote'] }[command];
  if (!flags) throw new Error(`${command ? `unknown command "${command}"` : 'no command'}\n${USAGE}`);
  /** @type {Record<string, any>} */
  const options = command === 'build' ? { dirs: [], out: '.workflow', entry: undefined } : { remote: false };
  const positional = [];
  for (let i = 0; i < rest.length; i++) {
    const value = rest[i + 1];
    if (flags.includes(rest[i])) {
      if (!value || value.startsWith('--')) throw new Error(`${rest[i]} needs a value\n${USAGE}`);
      i++;
      if (rest[i - 1] === '--dir') options.dirs.push(value);
      else options[rest[i - 1].slice(2)] = value;
    } else if (switches.includes(rest[i])) options[rest[i].slice(2)] = true;
    else if (command === 'init' && !rest[i].startsWith('--') && positional.length === 0) positional.push(rest[i]);
    else throw new Error(`unknown ${rest[i].startsWith('--') ? 'option' : 'argument'} "${rest[i]}"\n${USAGE}`);
  }
  if (command === 'build' && options.dirs.length === 0) options.dirs.push('workflows');
  if (command === 'init') options.dir = positional[0] ?? '.';
  return { command, options };
}

let hooked = false;

/** @returns {Promise<any>} the app's `@workflow/builders`, resolved from `appDir`. */
async function loadBuilders(appDir) {
  if (!hooked) register('./build-hooks.mjs', import.meta.url);
  hooked = true;
  const require = createRequire(path.join(appDir, 'package.json'));
  let entry;
  try {
    entry = require.resolve('@workflow/builders');
  } catch {
    throw new Error(
      `@workflow/builders is not installed in ${appDir}: add "@workflow/builders" at the version of "workflow"`,
    );
  }
  return import(pathToFileURL(entry).href);
}

/** A module URL for the banner that seeds createRequire/__filename: a bundled Worker module has none. */
const fileUrl = (file) => `file:///worker/${path.basename(file)}`;

/**
 * Copies a WebAssembly module the Worker imports into `<out>/modules/` and answers its
 * import path from the bundle: wrangler uploads it beside the bundle as a compiled module.
 */
async function moduleCopier(outDir) {
  // Only this build's modules: wrangler uploads every file there.
  await rm(path.join(outDir, 'modules'), { recursive: true, force: true });
  const taken = new Map();
  return async (file) => {
    let name = path.basename(file);
    if (taken.has(name) && taken.get(name) !== file) {
      name = `${createHash('sha256').update(file).digest('hex').slice(0, 8)}-${name}`;
    }
    taken.set(name, file);
    await mkdir(path.join(outDir, 'modules'), { recursive: true });
    await copyFile(file, path.join(outDir, 'modules', name));
    return `./modules/${name}`;
  };
}

/**
 * Bundles the Worker from `entry` into `outfile`, with core's dead weight swapped out, and
 * its source map beside it. The part of that map that leads into the app's own sources is
 * set at the bundle's end (js/runtime/stack-trace.js reads it to point a stack at the `.ts`
 * line), after the last line of code, so no position of the bundle moves.
 */
async function bundleWorker(appDir, entry, outfile) {
  const esbuild = await import('esbuild');
  const { builtinModules } = await import('node:module');
  const builtins = new Set(builtinModules);
  const copyModule = await moduleCopier(path.dirname(outfile));
  const SKIP = Symbol('resolving');
  const swaps = {
    name: 'world-cloudflare',
    setup(b) {
      b.onResolve({ filter: /quickjs-assets\.generated\.js$/ }, (args) =>
        args.importer.includes(`${path.sep}@workflow${path.sep}core${path.sep}`)
          ? { path: path.join(HERE, 'runtime', 'quickjs-assets-seeded.js') }
          : undefined,
      );
      b.onResolve({ filter: /^@workflow\/world-(local|vercel)$/ }, () => ({
        path: path.join(HERE, 'runtime', 'no-default-world.js'),
      }));
      b.onResolve({ filter: /^(cloudflare|node):/ }, (args) => ({ path: args.path, external: true }));
      b.onResolve({ filter: /^[^./]/ }, (args) =>
        builtins.has(args.path.split('/')[0]) ? { path: args.path, external: true } : undefined,
      );
      b.onResolve({ filter: /\.(wasm|so)$/ }, async (args) => {
        if (args.pluginData === SKIP) return undefined;
        const found = await b.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, pluginData: SKIP });
        return found.errors.length ? undefined : { path: await copyModule(found.path), external: true };
      });
    },
  };
  const { outputFiles } = await esbuild.build({
    entryPoints: [path.resolve(appDir, entry)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    plugins: [swaps],
    sourcemap: 'linked',
    write: false,
    logLevel: 'warning',
  });
  const output = (file) => {
    const found = outputFiles.find((written) => written.path === file);
    if (!found) throw new Error(`esbuild wrote no ${file}`);
    return found.text;
  };
  const map = output(`${outfile}.map`);
  const code = output(outfile);
  const link = code.lastIndexOf('\n//# sourceMappingURL=');
  const bundle = `${code.slice(0, link)}\n${await appSourceMap(appDir, outfile, map)}${code.slice(link)}`;
  // Written under other names first: wrangler may start the next build before it has read these.
  const suffix = `.${process.pid}.tmp`;
  await writeFile(`${outfile}.map${suffix}`, map);
  await writeFile(`${outfile}${suffix}`, bundle);
  await rename(`${outfile}.map${suffix}`, `${outfile}.map`);
  await rename(`${outfile}${suffix}`, outfile);
  return Buffer.byteLength(bundle);
}

/**
 * A statement that sets the part of the bundle's source `map` that points into the app's own
 * sources (not node_modules, not this build's output) as the global APP_SOURCE_MAP.
 */
async function appSourceMap(appDir, outfile, map) {
  const { addMapping, GenMapping, toEncodedMap } = await import('@jridgewell/gen-mapping');
  const { eachMapping, TraceMap } = await import('@jridgewell/trace-mapping');
  const { APP_SOURCE_MAP } = await import('./runtime/stack-trace.js');
  const outDir = path.dirname(outfile);
  const full = new TraceMap(map, `${outfile}.map`);
  const app = new GenMapping({ file: path.basename(outfile) });
  const own = new Map();
  const isOwn = (file) => {
    if (!own.has(file)) {
      const source = path.relative(appDir, file);
      const outside = source.startsWith('..') || !path.relative(outDir, file).startsWith('..');
      own.set(file, !outside && !source.split(path.sep).includes('node_modules') && existsSync(file));
    }
    return own.get(file);
  };
  eachMapping(full, (m) => {
    if (!m.source || m.originalLine == null) return;
    const file = m.source.startsWith('file:') ? fileURLToPath(m.source) : m.source;
    if (!isOwn(file)) return;
    addMapping(app, {
      generated: { line: m.generatedLine, column: m.generatedColumn },
      source: path.relative(appDir, file).split(path.sep).join('/'),
      original: { line: m.originalLine, column: m.originalColumn },
    });
  });
  return `globalThis[Symbol.for(${JSON.stringify(APP_SOURCE_MAP)})] = ${JSON.stringify(toEncodedMap(app))};`;
}

export async function build(appDir, { dirs, out, entry }) {
  const { BaseBuilder } = await loadBuilders(appDir);
  const outDir = path.resolve(appDir, out);
  const stepsOutfile = path.join(outDir, 'steps.mjs');
  const flowOutfile = path.join(outDir, 'flow.mjs');

  class WorkerBuilder extends BaseBuilder {
    async build() {
      const inputFiles = await this.getInputFiles();
      if (inputFiles.length === 0) throw new Error(`no workflow files under ${dirs.join(', ')} in ${appDir}`);
      await mkdir(outDir, { recursive: true });
      return this.createCombinedBundle({
        inputFiles,
        stepsOutfile,
        flowOutfile,
        format: 'esm',
        bundleFinalOutput: false,
        // The steps bundle keeps npm imports as imports, so the Worker bundle has one copy
        // of workflow's runtime (the app's), not a second inside the steps.
        externalizeNonSteps: true,
        bundleTransitiveLocalStepDependencies: true,
        tsconfigPath: await this.findTsConfigPath(),
      });
    }
  }
  // BaseBuilder is the app's, loaded at run time: untyped here.
  const { manifest } = await new /** @type {any} */ (WorkerBuilder)({
    buildTarget: 'standalone',
    dirs,
    workingDir: appDir,
    stepsBundlePath: path.relative(appDir, stepsOutfile),
    workflowsBundlePath: path.relative(appDir, flowOutfile),
    webhookBundlePath: path.relative(appDir, path.join(outDir, 'webhook.mjs')),
    // The steps point back at the app's sources, and through the Worker's bundle so do
    // the stacks of its failed steps (js/runtime/stack-trace.js).
    sourcemap: 'inline',
  }).build();

  for (const file of [stepsOutfile, flowOutfile]) {
    const source = await readFile(file, 'utf8');
    await writeFile(file, source.replaceAll('import.meta.url', JSON.stringify(fileUrl(file))));
  }
  const deploymentId = `dpl_${createHash('sha256')
    .update(await readFile(flowOutfile))
    .digest('hex')
    .slice(0, 24)}`;
  const workflowIds = {};
  for (const exports of Object.values(manifest.workflows ?? {})) {
    for (const [name, { workflowId }] of Object.entries(exports)) workflowIds[name] = workflowId;
  }
  await writeFile(
    path.join(outDir, 'workflows.mjs'),
    `// Written by \`world-cloudflare build\`; do not edit.\nexport { POST } from './flow.mjs';\nexport const workflowIds = ${JSON.stringify(workflowIds, null, 2)};\nexport const deploymentId = ${JSON.stringify(deploymentId)};\n`,
  );
  const workerBytes = entry ? await bundleWorker(appDir, entry, path.join(outDir, 'worker.mjs')) : undefined;
  return { outDir, workflowIds, deploymentId, workerBytes };
}

/** @param {Record<string, any>} options what parseArgs read: `{dir, remote, name?}` */
async function initCommand({ dir, remote, name }) {
  const app = await init(dir, { remote, name });
  const relative = path.relative(process.cwd(), app.dir);
  const where = relative.startsWith('..') ? app.dir : relative || '.';
  const cd = where === '.' ? '' : `cd ${where} && `;
  console.log(`world-cloudflare init: the Worker "${app.name}" in ${where}: ${app.files.join(', ')}`);
  console.log(`\nNext:\n  ${cd}npm install && npm run dev`);
  console.log(`  curl -X POST localhost:8787/runs/hello -d '{"args": ["Ada"]}'`);
  if (remote) console.log('  npm run workflow -- inspect runs      # the workflow CLI; `-- web` for the web UI');
}

async function buildCommand(options) {
  const { outDir, workflowIds, deploymentId, workerBytes } = await build(process.cwd(), options);
  const where = path.relative(process.cwd(), outDir) || '.';
  const worker = workerBytes ? `, worker.mjs ${(workerBytes / 1024).toFixed(0)} KiB` : '';
  console.log(
    `world-cloudflare build: ${Object.keys(workflowIds).length} workflows, ${deploymentId}${worker}, in ${where}`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1]).href || process.argv[1]?.endsWith('world-cloudflare')) {
  let command = 'world-cloudflare';
  try {
    const parsed = parseArgs(process.argv.slice(2));
    command = `world-cloudflare ${parsed.command}`;
    await (parsed.command === 'init' ? initCommand(parsed.options) : buildCommand(parsed.options));
  } catch (error) {
    console.error(`${command}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
