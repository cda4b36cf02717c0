#!/usr/bin/env node
// `world-cloudflare build`: turns an app's "use workflow" / "use step" files into modules
// wrangler bundles into the Worker (RUNTIME-WORKER.md §8: `wf build` has no Worker target).
// It runs @workflow/builders 5.x from the app's own node_modules, so the build and the
// runtime are the app's installed `workflow`.
//
//   world-cloudflare build [--dir workflows]... [--out .workflow]
//
// Writes <out>/steps.mjs and <out>/flow.mjs (left unbundled: wrangler bundles them with the
// Worker), and <out>/workflows.mjs: the flow route (`POST`), the workflow ids by export name,
// and a deployment id derived from the built flow's content.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const USAGE = 'usage: world-cloudflare build [--dir <workflows dir>]... [--out <output dir>]';

function parseArgs(argv) {
  const [command, ...rest] = argv;
  if (command !== 'build') throw new Error(`${command ? `unknown command "${command}"` : 'no command'}\n${USAGE}`);
  const options = { dirs: [], out: '.workflow' };
  for (let i = 0; i < rest.length; i++) {
    const value = rest[i + 1];
    if ((rest[i] === '--dir' || rest[i] === '--out') && (!value || value.startsWith('--'))) {
      throw new Error(`${rest[i]} needs a value\n${USAGE}`);
    }
    if (rest[i] === '--dir') options.dirs.push(rest[++i]);
    else if (rest[i] === '--out') options.out = rest[++i];
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

export async function build(appDir, { dirs, out }) {
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
  return { outDir, workflowIds, deploymentId };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href || process.argv[1]?.endsWith('world-cloudflare')) {
  try {
    const options = parseArgs(process.argv.slice(2));
    const { outDir, workflowIds, deploymentId } = await build(process.cwd(), options);
    console.log(
      `world-cloudflare build: ${Object.keys(workflowIds).length} workflows, ${deploymentId}, in ${path.relative(process.cwd(), outDir) || '.'}`,
    );
  } catch (error) {
    console.error(`world-cloudflare build: ${error.message}`);
    process.exit(1);
  }
}
