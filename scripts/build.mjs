// npm run build: wasm-pack (web target) + wasm-opt -Oz from npm binaryen, then sizes.
// wasm-opt is not run by wasm-pack (Cargo.toml sets wasm-opt = false: docs/toolchain.md "wasm-opt from npm").
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { constants, gzipSync } from 'node:zlib';
import { BIN, ROOT, run } from './env.mjs';

const WASM = path.join('pkg', 'world_cloudflare_bg.wasm');

function step(cmd, args) {
  const code = run(cmd, args);
  if (code !== 0) {
    console.error(`build: ${cmd} failed with exit code ${code}`);
    process.exit(code);
  }
}

step('wasm-pack', ['build', '--target', 'web', '--release', '--no-pack', '--no-gitignore', '--out-dir', 'pkg']);
step(path.join(BIN, 'wasm-opt'), ['-Oz', WASM, '-o', WASM]);

const bytes = readFileSync(path.join(ROOT, WASM));
const gz = gzipSync(bytes, { level: constants.Z_BEST_COMPRESSION });
console.log(
  `${WASM}: ${bytes.length.toLocaleString('en-US')} bytes raw, ${gz.length.toLocaleString('en-US')} bytes gzip -9`,
);
