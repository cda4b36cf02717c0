// The published package: `npm pack` with pkg-template/package.json must ship every file
// the entries load (docs/toolchain.md "Package files"), and both entries must load from the packed files.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('npm pack ships the entries, the wasm and the migrations, and the Node entry loads', () => {
  const stage = mkdtempSync(path.join(tmpdir(), 'wcf-pack-'));
  try {
    const source = path.join(stage, 'source');
    mkdirSync(source);
    cpSync(path.join(ROOT, 'pkg-template/package.json'), path.join(source, 'package.json'));
    for (const dir of ['js', 'pkg', 'migrations'])
      cpSync(path.join(ROOT, dir), path.join(source, dir), { recursive: true });
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', stage], { cwd: source, encoding: 'utf8' }),
    );
    assert.deepEqual(
      packed.files.map((f) => f.path).sort(),
      [
        ...readdirSync(path.join(ROOT, 'js'), { recursive: true, withFileTypes: true })
          .filter((entry) => entry.isFile())
          .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name))),
        ...readdirSync(path.join(ROOT, 'migrations')).map((f) => `migrations/${f}`),
        'package.json',
        'pkg/world_cloudflare.d.ts',
        'pkg/world_cloudflare.js',
        'pkg/world_cloudflare_bg.wasm',
        'pkg/world_cloudflare_bg.wasm.d.ts',
      ].sort(),
    );
    // Install the tarball's files under a consumer and import the package by name, which
    // resolves through the "node" export condition.
    const consumer = path.join(stage, 'consumer');
    const installed = path.join(consumer, 'node_modules', '@workflow', 'world-cloudflare');
    mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['xzf', path.join(stage, packed.filename), '-C', installed, '--strip-components=1']);
    writeFileSync(path.join(consumer, 'package.json'), '{"type":"module"}');
    const probe = `const m = await import('@workflow/world-cloudflare'); const w = m.createWorld({});
      console.log(typeof w.events.create, w.specVersion);`;
    const printed = execFileSync(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: consumer,
      encoding: 'utf8',
    });
    assert.equal(printed.trim(), 'function 3');
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
});
