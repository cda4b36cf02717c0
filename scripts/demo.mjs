// npm run demo: builds what it needs, starts the example Worker (examples/worker) in local
// Cloudflare emulation (workerd with D1, Queues, R2), runs every example workflow inside it
// (workflow 5.x on QuickJS: nothing of the workflows runs in Node), drives each over HTTP and
// prints a table. Exits non-zero if any workflow misbehaves.
//
// npm run demo:node (--node): the same workflows on workflow 4.8.9, whose routes run on a
// Node host beside local workerd (examples/basic).
import path from 'node:path';
import { NODE, ROOT, run } from './env.mjs';

const ON_NODE = process.argv.includes('--node');
const EXAMPLE = path.join(ROOT, 'examples', ON_NODE ? 'basic' : 'worker');

function step(title, cmd, args, cwd = ROOT) {
  process.stdout.write(`• ${title}\n`);
  const code = run(cmd, args, { cwd });
  if (code !== 0) {
    console.error(`demo: ${title} failed (exit ${code})`);
    process.exit(code || 1);
  }
}

step('building the wasm package', 'node', [path.join(ROOT, 'scripts', 'build.mjs')]);
if (ON_NODE)
  step('building the example workflows (wf build)', NODE, [path.join(ROOT, 'scripts', 'build-node-example.mjs')]);
else {
  const cli = path.join(ROOT, 'js', 'cli.mjs');
  step(
    'building the example Worker (world-cloudflare build)',
    NODE,
    [cli, 'build', '--entry', path.join(EXAMPLE, 'src', 'worker.js')],
    EXAMPLE,
  );
}

const { scenarios, runScenario } = await import(path.join(EXAMPLE, 'scenarios.mjs'));
const startApp = ON_NODE
  ? (await import(path.join(EXAMPLE, 'app.mjs'))).startApp
  : (await import(path.join(EXAMPLE, 'app.mjs'))).startWorkerApp;

const tty = process.stdout.isTTY;
const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
function progress(label, promise) {
  if (!tty) {
    process.stdout.write(`  … ${label}\n`);
    return promise;
  }
  let i = 0;
  const started = Date.now();
  const timer = setInterval(() => {
    const s = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(`\r  ${frames[i++ % frames.length]} ${label} (${s} s)`.padEnd(80));
  }, 80);
  return promise.finally(() => {
    clearInterval(timer);
    process.stdout.write(`${'\r'.padEnd(81)}\r`);
  });
}

process.stdout.write(
  ON_NODE
    ? '• starting local Cloudflare emulation and the workflow host (Node, on the World over HTTP)\n'
    : '• starting the example Worker in local Cloudflare emulation (workflows run inside workerd)\n',
);
const app = await startApp();
const results = [];
try {
  for (const [i, scenario] of scenarios.entries()) {
    const result = await progress(`[${i + 1}/${scenarios.length}] ${scenario.title}`, runScenario(app, scenario));
    results.push(result);
    const mark = result.problems.length ? '✗' : '✓';
    process.stdout.write(`  ${mark} ${scenario.name} (${(result.ms / 1000).toFixed(2)} s)\n`);
  }
} finally {
  await app.close();
}

const cell = (v, width) => String(v).slice(0, width).padEnd(width);
// The runtime prefixes a failed run's error with `Workflow run "<id>" failed: `.
const show = (o) =>
  o.error ? `error: ${o.error.replace(/^Workflow run "[^"]+" failed: /, '')}` : JSON.stringify(o.value);
const header = `${cell('workflow', 12)} ${cell('status', 10)} ${cell('result', 44)} ${cell('events', 6)} ${cell('wall', 8)}`;
console.log(`\n${header}\n${'-'.repeat(header.length)}`);
for (const { scenario, outcome, ms, events } of results) {
  console.log(
    `${cell(scenario.name, 12)} ${cell(outcome.status, 10)} ${cell(show(outcome), 44)} ${cell(events.length, 6)} ${cell(`${(ms / 1000).toFixed(2)} s`, 8)}`,
  );
}
const failed = results.filter((r) => r.problems.length);
for (const { scenario, problems } of failed) console.log(`\n✗ ${scenario.name}: ${problems.join('; ')}`);
console.log(`\n${results.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
