// `world-cloudflare init [dir] [--remote] [--name <worker>]`: writes a Worker app that runs
// its workflows on Cloudflare, from the files of pkg-template/init/ and a package.json whose
// pins are this package's own (its version, and the `workflow` and wrangler it is tested
// with: the devDependencies of package.json). It writes nothing if any file it would write
// exists already.
//
// A template line ending in a comment `[remote]` (`// [remote]`, `# [remote]`,
// `<!-- [remote] -->`) is kept, without that comment, only with --remote, one ending in
// `[local]` only without it; a line holding nothing but such a comment opens a block of
// lines kept the same way, and one holding `[/remote]` or `[/local]` closes it.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const TEMPLATE = path.join(ROOT, 'pkg-template', 'init');

/** Template files stored without their leading dot: npm never packs a `.gitignore`. */
const RENAMED = { gitignore: '.gitignore', 'dev.vars.example': '.dev.vars.example' };
/** Template files written only with --remote. */
const REMOTE_ONLY = new Set(['workflow-cli.env']);

const MARKER = /\s*(?:\/\/|#|<!--)\s*\[(\/?)(remote|local)\]\s*(?:-->)?\s*$/;

/** An error of `init` that names what was wrong and what to do instead. */
export class InitError extends Error {
  name = 'InitError';
}

/** The text of one template file for these options: remote lines kept or dropped, `{{name}}` filled. */
export function render(text, { name, remote }) {
  const kept = (which) => (which === 'remote') === remote;
  const out = [];
  let block;
  for (const line of text.split('\n')) {
    const marker = MARKER.exec(line);
    if (marker && line.slice(0, marker.index).trim() === '') {
      block = marker[1] === '/' ? undefined : marker[2];
      continue;
    }
    if (marker) {
      if (kept(marker[2])) out.push(line.slice(0, marker.index));
      continue;
    }
    if (block === undefined || kept(block)) out.push(line);
  }
  // A block left out leaves no run of blank lines behind.
  return out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .replaceAll('{{name}}', name);
}

/** A Worker name from a folder name: lowercase letters, digits and dashes, at most 63. */
export function workerName(folder) {
  const name = folder
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
  if (!name) throw new InitError(`cannot make a Worker name of "${folder}": pass --name <letters, digits, dashes>`);
  return name;
}

/** The versions an app is pinned to: this package's, and the `workflow` and wrangler it is tested with. */
export async function pins() {
  const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
  const dev = manifest.devDependencies ?? {};
  const workflow = /^npm:workflow@(.+)$/.exec(dev['workflow-v5'] ?? '')?.[1];
  if (!workflow || !dev.wrangler) throw new InitError('this package names no workflow 5.x or wrangler version to pin');
  // @workflow/builders is released with workflow, at the same version.
  return { self: manifest.version, workflow, builders: workflow, wrangler: dev.wrangler };
}

function packageJson(name, remote, versions) {
  const scripts = {
    // stdin from /dev/null: wrangler applies migrations without asking when it is not a terminal.
    dev: 'wrangler d1 migrations apply DB --local < /dev/null && wrangler dev',
    build: 'world-cloudflare build --entry ./src/worker.js',
    deploy: 'wrangler deploy',
    'db:migrate:remote': 'wrangler d1 migrations apply DB --remote',
  };
  if (remote) {
    scripts.workflow = 'node --env-file=.dev.vars --env-file=workflow-cli.env node_modules/workflow/bin/run.js';
  }
  return {
    name,
    private: true,
    type: 'module',
    scripts,
    dependencies: {
      '@workflow/builders': versions.builders,
      '@workflow/world-cloudflare': versions.self,
      workflow: versions.workflow,
    },
    devDependencies: { wrangler: versions.wrangler },
    // npm 11 runs no install script unless allowed: wrangler's workerd and esbuild need theirs;
    // swc's checks a binary it has, cbor-extract's builds an optional native speed-up.
    allowScripts: { workerd: true, esbuild: true, '@swc/core': false, 'cbor-extract': false },
  };
}

async function templateFiles(dir = TEMPLATE) {
  const files = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await templateFiles(full)));
    else files.push(path.relative(TEMPLATE, full));
  }
  return files;
}

/**
 * Writes the app into `dir`; resolves to the files written (relative to `dir`) and the
 * Worker's name. Throws an InitError, having written nothing, if any of them exists.
 */
export async function init(dir, { remote = false, name = undefined } = {}) {
  const target = path.resolve(dir);
  const worker = name ? workerName(name) : workerName(path.basename(target));
  if (name && worker !== name) throw new InitError(`--name "${name}" is not a Worker name; "${worker}" would be`);
  const files = new Map();
  for (const file of await templateFiles()) {
    if (REMOTE_ONLY.has(file) && !remote) continue;
    const text = render(await readFile(path.join(TEMPLATE, file), 'utf8'), { name: worker, remote });
    files.set(RENAMED[file] ?? file, text);
  }
  files.set('package.json', `${JSON.stringify(packageJson(worker, remote, await pins()), null, 2)}\n`);
  if (remote) {
    files.set('.dev.vars', `WORKFLOW_REMOTE_SECRET=${randomBytes(32).toString('base64url')}\n`);
  }
  const existing = [...files.keys()].filter((file) => existsSync(path.join(target, file)));
  if (existing.length > 0) {
    throw new InitError(
      `${target} already has ${existing.join(', ')}; init writes nothing over existing files: choose an empty folder`,
    );
  }
  for (const [file, text] of files) {
    await mkdir(path.dirname(path.join(target, file)), { recursive: true });
    await writeFile(path.join(target, file), text, { flag: 'wx' });
  }
  return { dir: target, name: worker, files: [...files.keys()].sort() };
}
