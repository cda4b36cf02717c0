#!/usr/bin/env node
// `world-cloudflare build`: turns an app's "use workflow" / "use step" files into modules
// wrangler bundles into the Worker (`wf build` has no Worker target; docs/design.md, "Where
// workflow 5.x runs").
// It runs @workflow/builders 5.x from the app's own node_modules, so the build and the
// runtime are the app's installed `workflow`.
//
//   world-cloudflare build [--dir workflows]... [--out .workflow] [--entry <Worker module>]
//
// Writes <out>/steps.mjs and <out>/flow.mjs (left unbundled: wrangler bundles them with the
// Worker), and <out>/workflows.mjs: the flow route (`POST`), the workflow ids by export name,
// and a deployment id derived from the built flow's content. With --entry, it also bundles
// the Worker from that entry into <out>/worker.mjs (the `main` for wrangler), swapping by
// resolved path what wrangler's exact-specifier aliases cannot: core's embedded QuickJS
// binaries (js/runtime/quickjs-assets-seeded.js) and its default Worlds
// (js/runtime/no-default-world.js). Wrangler bundles that file again and compiles the
// .wasm and .so modules it imports.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const USAGE = 'usage: world-cloudflare build [--dir <workflows dir>]... [--out <output dir>] [--entry <Worker entry>]';
const HERE = path.dirname(new URL(import.meta.url).pathname);

function parseArgs(argv) {
  const [command, ...rest] = argv;
  if (command !== 'build') throw new Error(`${command ? `unknown command "${command}"` : 'no command'}\n${USAGE}`);
  const options = { dirs: [], out: '.workflow', entry: undefined };
  for (let i = 0; i < rest.length; i++) {
    const value = rest[i + 1];
    if (['--dir', '--out', '--entry'].includes(rest[i]) && (!value || value.startsWith('--'))) {
      throw new Error(`${rest[i]} needs a value\n${USAGE}`);
    }
    if (rest[i] === '--dir') options.dirs.push(rest[++i]);
    else if (rest[i] === '--out') options.out = rest[++i];
    else if (rest[i] === '--entry') options.entry = rest[++i];
    else throw new Error(`unknown option "${rest[i]}"\n${USAGE}`);
  }
  if (options.dirs.length === 0) options.dirs.push('workflows');
  return options;
}

async function loadBuilders(appDir) {
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

/** Bundles the Worker from `entry` into `outfile`, with core's dead weight swapped out. */
async function bundleWorker(appDir, entry, outfile) {
  const esbuild = await import('esbuild');
  const { builtinModules } = await import('node:module');
  const builtins = new Set(builtinModules);
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
      // Left to wrangler, which turns them into compiled WebAssembly modules: by absolute
      // path, so they resolve from the bundle wherever it is written.
      b.onResolve({ filter: /\.(wasm|so)$/ }, async (args) => {
        if (args.pluginData === SKIP) return undefined;
        const found = await b.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, pluginData: SKIP });
        return found.errors.length ? undefined : { path: found.path, external: true };
      });
    },
  };
  const result = await esbuild.build({
    entryPoints: [path.resolve(appDir, entry)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    plugins: [swaps],
    metafile: true,
    logLevel: 'warning',
  });
  return Object.values(result.metafile.outputs)[0].bytes;
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
  const { manifest } = await new WorkerBuilder({
    buildTarget: 'standalone',
    dirs,
    workingDir: appDir,
    stepsBundlePath: path.relative(appDir, stepsOutfile),
    workflowsBundlePath: path.relative(appDir, flowOutfile),
    webhookBundlePath: path.relative(appDir, path.join(outDir, 'webhook.mjs')),
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

if (import.meta.url === pathToFileURL(process.argv[1]).href || process.argv[1]?.endsWith('world-cloudflare')) {
  try {
    const options = parseArgs(process.argv.slice(2));
    const { outDir, workflowIds, deploymentId, workerBytes } = await build(process.cwd(), options);
    const where = path.relative(process.cwd(), outDir) || '.';
    const worker = workerBytes ? `, worker.mjs ${(workerBytes / 1024).toFixed(0)} KiB` : '';
    console.log(
      `world-cloudflare build: ${Object.keys(workflowIds).length} workflows, ${deploymentId}${worker}, in ${where}`,
    );
  } catch (error) {
    console.error(`world-cloudflare build: ${error.message}`);
    process.exit(1);
  }
}
