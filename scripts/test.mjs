// npm test: every test layer in order, stopping at the first failure.
//   lint       npm run lint                          (rustfmt, clippy, JS crates only in src/wasm, Biome)
//   rust       cargo test -p world-cloudflare-core   (the core's native tests)
//   build      npm run build                         (scripts/build.mjs: wasm-pack + wasm-opt)
//   wasm       wasm-pack test --node                 (tests/*.rs under Node 22)
//   typecheck  npm run typecheck                     (tsc: tests/tsconfig.json, tests/tsconfig.node.json)
//   int        node --test --test-concurrency=1 tests/*/*.test.mjs (local workerd via wrangler)
//   remote     tests/conformance*/ again with TEST_WORLD=remote (through js/remote.js)
// TEST_ONLY=rust|wasm|int (comma-separated list allowed) runs a subset; "int"
// includes the build and typecheck steps, since the integration tests load pkg/.
// TEST_STEP_TIMEOUT (seconds, default 1800) bounds each step.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { childEnv, NODE, ROOT, run } from './env.mjs';

/** Every `tests/<group>/*.test.mjs`, by group and name. */
const testFiles = () =>
  readdirSync(path.join(ROOT, 'tests'), { recursive: true })
    .filter((f) => f.endsWith('.test.mjs'))
    .sort()
    .map((f) => path.join('tests', f));

const STEPS = [
  {
    name: 'lint',
    group: 'rust',
    title: 'rustfmt, clippy -D warnings, no JS crate in the core, Biome',
    cmd: () => ['npm', ['run', 'lint']],
  },
  {
    name: 'rust',
    group: 'rust',
    title: "the core's native tests",
    cmd: () => ['cargo', ['test', '-p', 'world-cloudflare-core', '--lib']],
  },
  { name: 'build', group: 'int', title: 'wasm build', cmd: () => ['npm', ['run', 'build']] },
  {
    name: 'example',
    group: 'int',
    title: 'example workflows (wf build, for the end-to-end tests)',
    cmd: () => [NODE, [path.join(ROOT, 'scripts', 'build-node-example.mjs')]],
  },
  { name: 'wasm', group: 'wasm', title: 'wasm tests under Node', cmd: () => ['wasm-pack', ['test', '--node']] },
  // Before the integration tests: it needs only pkg/'s declarations, and fails in seconds.
  {
    name: 'typecheck',
    group: 'int',
    title: 'type check (the shim: Worker side, Node side; the declarations)',
    cmd: () => ['npm', ['run', '--silent', 'typecheck']],
  },
  {
    name: 'int',
    group: 'int',
    title: 'integration tests (local workerd)',
    cmd: () => {
      const files = testFiles();
      return files.length ? [NODE, ['--test', '--test-concurrency=1', ...files]] : null;
    },
  },
  {
    name: 'remote',
    group: 'int',
    title: 'the conformance suites again, through the World over HTTP (TEST_WORLD=remote)',
    cmd: () => {
      const files = testFiles().filter((f) => /^tests\/conformance(-v5)?\//.test(f.split(path.sep).join('/')));
      return [NODE, ['--test', '--test-concurrency=1', ...files], { env: childEnv({ TEST_WORLD: 'remote' }) }];
    },
  },
];

const only = (process.env.TEST_ONLY ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const unknown = only.filter((g) => !['rust', 'wasm', 'int'].includes(g));
if (unknown.length) {
  console.error(`TEST_ONLY: unknown value(s) ${unknown.join(', ')}; use rust, wasm or int`);
  process.exit(2);
}
const timeoutMs = Number(process.env.TEST_STEP_TIMEOUT ?? 1800) * 1000;

const fmt = (ms) => `${(ms / 1000).toFixed(1)} s`;
const summary = [];
const t0 = Date.now();
for (const step of STEPS) {
  if (only.length && !only.includes(step.group)) continue;
  const header = `==> [${step.name}] ${step.title}`;
  console.log(`\n${header}\n${'='.repeat(header.length)}`);
  const c = step.cmd();
  if (!c) {
    console.log(`(skipped: nothing to run)`);
    summary.push(`${step.name}: skipped`);
    continue;
  }
  const started = Date.now();
  const code = run(c[0], c[1], { timeout: timeoutMs, ...(c[2] ?? {}) });
  const took = fmt(Date.now() - started);
  summary.push(`${step.name}: ${code === 0 ? 'ok' : `FAILED (exit ${code})`} in ${took}`);
  console.log(`<== [${step.name}] ${code === 0 ? 'ok' : `FAILED with exit code ${code}`} in ${took}`);
  if (code !== 0) {
    console.log(`\nSummary:\n  ${summary.join('\n  ')}`);
    process.exit(code);
  }
}
console.log(`\nSummary (${fmt(Date.now() - t0)}):\n  ${summary.join('\n  ')}`);
