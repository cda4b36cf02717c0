// npm run lint: the core crate (crates/core) stays free of JS. Without its `js` feature,
// wasm-bindgen, js-sys and web-sys are not in its dependency tree, so the compiler refuses
// any use of them there; with it, only crates/core/src/js.rs may name them.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './env.mjs';

const JS_CRATES = /\b(wasm_bindgen|js_sys|web_sys)\b/;
const problems = [];

const tree = spawnSync('cargo', ['tree', '-p', 'world-cloudflare-core', '-e', 'normal', '--prefix', 'none'], {
  cwd: ROOT,
  encoding: 'utf8',
});
if (tree.status !== 0) problems.push(`cargo tree failed: ${tree.stderr}`);
for (const line of tree.stdout.split('\n')) {
  if (/^(wasm-bindgen|js-sys|web-sys) /.test(line)) problems.push(`in the core's dependency tree: ${line}`);
}

const src = path.join(ROOT, 'crates', 'core', 'src');
for (const file of readdirSync(src, { recursive: true })) {
  if (!file.endsWith('.rs') || file === 'js.rs') continue;
  readFileSync(path.join(src, file), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (JS_CRATES.test(line) && !line.trimStart().startsWith('//'))
        problems.push(`crates/core/src/${file}:${i + 1} names a JS crate outside js.rs: ${line.trim()}`);
    });
}

if (problems.length) {
  console.error(`check-core: the core crate must stay free of JS\n${problems.join('\n')}`);
  process.exit(1);
}
console.log('check-core: no JS crate in the core (outside its js feature)');
