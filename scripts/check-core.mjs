// npm run lint: the core crate (crates/core) stays free of JS. Without its `js` feature,
// wasm-bindgen, js-sys and web-sys are not in its dependency tree, so the compiler refuses
// any use of them there; with it, only crates/core/src/js.rs may name them. And the modules
// of each crate import each other without a circle (docs/design.md draws them as layers).
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

/**
 * The circles among a crate's top-level modules: module → the modules its code names by
 * `prefix` (`crate::` in the core, `super::` in src/wasm). Tests may reach anywhere.
 */
function circles(dir, prefix) {
  const uses = new Map();
  for (const file of readdirSync(dir, { recursive: true })) {
    if (!file.endsWith('.rs') || /(^|\/)tests?(_\w+)?(\.rs|\/)/.test(file)) continue;
    const module = file.split(path.sep)[0].replace(/\.rs$/, '');
    const text = readFileSync(path.join(dir, file), 'utf8');
    const named = [...text.matchAll(new RegExp(`\\b${prefix}(\\w+)`, 'g'))].map((m) => m[1]);
    uses.set(module, new Set([...(uses.get(module) ?? []), ...named.filter((m) => m !== module)]));
  }
  const found = [];
  const state = new Map();
  const visit = (module, stack) => {
    state.set(module, 'open');
    for (const next of uses.get(module) ?? []) {
      if (!uses.has(next)) continue;
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), module, next].join(' → '));
      else if (!state.has(next)) visit(next, [...stack, module]);
    }
    state.set(module, 'done');
  };
  for (const module of uses.keys()) if (!state.has(module)) visit(module, []);
  return found;
}
for (const [dir, prefix] of [
  [src, 'crate::'],
  [path.join(ROOT, 'src', 'wasm'), 'super::'],
]) {
  for (const circle of circles(dir, prefix))
    problems.push(`an import circle in ${path.relative(ROOT, dir)}: ${circle}`);
}

if (problems.length) {
  console.error(
    `check-core: the core crate must stay free of JS, and no crate's modules in a circle\n${problems.join('\n')}`,
  );
  process.exit(1);
}
console.log('check-core: no JS crate in the core (outside its js feature); no import circle');
