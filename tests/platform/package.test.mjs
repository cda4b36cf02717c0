// The published package, as a newcomer meets it. `npm pack` at the root (its prepack builds
// the wasm) and `npm publish --dry-run`; then, in an empty folder outside this repo,
// `world-cloudflare init --remote`, `npm install` of the tarball (every other dependency as
// npm resolves it), `npm run dev` (the schema applied, wrangler dev in local workerd), the
// sample workflow run to its end over HTTP, the 5.x workflow CLI on the World over HTTP, a
// new workflow picked up by wrangler's watch, its failed step's stack at its .ts line in the
// CLI and in the 5.x web UI (headless Chromium; screenshot in .wrangler/artifacts/), and
// `wrangler deploy --dry-run`. Nothing in the app is edited by hand.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ARTIFACTS, launchBrowser, textWhen, UI_TIMEOUT_MS } from '../support/browser.mjs';
import { ROOT } from '../support/harness.mjs';
import { freePort, kill, launch, processEnv } from '../support/processes.mjs';

const VERSION = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let stage;
let tarball;
let packed;

/** Runs a command; resolves to `{code, stdout, stderr}` (never rejects). */
function sh(cmd, args, { cwd, env = processEnv, timeout = 600_000 } = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout, maxBuffer: 64 << 20 }, (error, stdout, stderr) =>
      resolve({ code: error ? (error.code ?? error.signal) : 0, stdout, stderr }),
    );
  });
}

/** Like `sh`, failing the test with the command's output when it does not succeed. */
async function ok(cmd, args, options) {
  const result = await sh(cmd, args, options);
  assert.equal(result.code, 0, `${cmd} ${args.join(' ')} exited ${result.code}:\n${result.stderr}\n${result.stdout}`);
  return result;
}

before(async () => {
  stage = mkdtempSync(path.join(tmpdir(), 'wcf-newcomer-'));
  const { stdout } = await ok('npm', ['pack', '--json', '--pack-destination', stage], { cwd: ROOT });
  [packed] = JSON.parse(stdout.slice(stdout.indexOf('[')));
  tarball = path.join(stage, packed.filename);
});
after(() => rmSync(stage, { recursive: true, force: true }));

test('npm pack at the root ships the shim, the built wasm, the migrations, the init template and the docs', () => {
  const files = (dir) =>
    readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(ROOT, path.join(entry.parentPath, entry.name)));
  assert.deepEqual(
    packed.files.map((f) => f.path).sort(),
    [
      ...files('js'),
      ...files('migrations'),
      ...files('pkg-template/init'),
      'CHANGELOG.md',
      'LICENSE',
      'README.md',
      'package.json',
      'pkg/world_cloudflare.d.ts',
      'pkg/world_cloudflare.js',
      'pkg/world_cloudflare_bg.wasm',
      'pkg/world_cloudflare_bg.wasm.d.ts',
    ].sort(),
  );
  assert.equal(packed.version, VERSION);
  console.log(
    `[package] ${packed.filename}: ${packed.size.toLocaleString('en-US')} bytes packed, ${packed.unpackedSize.toLocaleString('en-US')} unpacked, ${packed.entryCount} files`,
  );
  // The Node entry loads from the unpacked files, by the package's name.
  const consumer = path.join(stage, 'consumer');
  const installed = path.join(consumer, 'node_modules', '@workflow', 'world-cloudflare');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', installed, '--strip-components=1']);
  writeFileSync(path.join(consumer, 'package.json'), '{"type":"module"}');
  const probe = `const m = await import('@workflow/world-cloudflare'); const w = m.createWorld({});
    console.log(typeof w.events.create, w.specVersion);`;
  const printed = execFileSync(process.execPath, ['--input-type=module', '-e', probe], {
    cwd: consumer,
    encoding: 'utf8',
  });
  assert.equal(printed.trim(), 'function 3');
});

test('npm publish --dry-run at the root passes', async () => {
  const { stdout, stderr } = await ok('npm', ['publish', '--dry-run'], { cwd: ROOT });
  assert.match(`${stdout}${stderr}`, new RegExp(`\\+ @workflow/world-cloudflare@${VERSION.replaceAll('.', '\\.')}`));
});

test('world-cloudflare init refuses to write over existing files, names them and writes nothing', async () => {
  const dir = path.join(stage, 'taken');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'wrangler.toml'), 'name = "mine"\n');
  const cli = path.join(ROOT, 'js', 'cli.mjs');
  const { code, stderr } = await sh(process.execPath, [cli, 'init', dir]);
  assert.equal(code, 1);
  assert.match(stderr, /world-cloudflare init: .*taken already has wrangler\.toml; init writes nothing/);
  assert.deepEqual(readdirSync(dir), ['wrangler.toml']);
  assert.equal(readFileSync(path.join(dir, 'wrangler.toml'), 'utf8'), 'name = "mine"\n');
});

test('a newcomer: init, npm install, npm run dev, a run to its end, the CLI, a failed step at its .ts line in the web UI, a dry-run deploy', async (t) => {
  const began = Date.now();
  const seconds = () => `${((Date.now() - began) / 1000).toFixed(1)} s`;
  const transcript = [];
  const step = (line) => {
    transcript.push(`[${seconds()}] ${line}`);
    console.log(`[newcomer] ${transcript.at(-1)}`);
  };
  const app = path.join(stage, 'demo');
  // `npx world-cloudflare init`, with the package from the tarball instead of the registry.
  const init = await ok('npx', ['--yes', '--package', tarball, 'world-cloudflare', 'init', 'demo', '--remote'], {
    cwd: stage,
  });
  step(`world-cloudflare init demo --remote\n${init.stdout.trim()}`);
  const manifest = JSON.parse(readFileSync(path.join(app, 'package.json'), 'utf8'));
  assert.equal(manifest.dependencies['@workflow/world-cloudflare'], VERSION);
  for (const [name, version] of Object.entries({ ...manifest.dependencies, ...manifest.devDependencies })) {
    assert.match(version, /^\d+\.\d+\.\d+(-[\w.]+)?$/, `${name} is pinned exactly: ${version}`);
  }

  await ok('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: app });
  step(`npm install ${path.basename(tarball)}`);

  const port = await freePort();
  const dev = await launch('npm run dev', 'npm', ['run', 'dev', '--', '--port', String(port)], /Ready on/, {
    cwd: app,
    timeoutMs: 180_000,
  });
  t.after(() => kill(dev));
  step(`npm run dev -- --port ${port}: ready`);
  assert.match(dev.log(), /Migrations to be applied/);
  const base = `http://127.0.0.1:${port}`;
  const call = async (method, pathname, body) => {
    const response = await fetch(`${base}${pathname}`, { method, body: body && JSON.stringify(body) });
    return { status: response.status, body: await response.json() };
  };
  const finished = async (runId) => {
    for (const until = Date.now() + 60_000; Date.now() < until; await sleep(200)) {
      const { body } = await call('GET', `/runs/${runId}`);
      if (body.status === 'completed' || body.status === 'failed') return body;
    }
    throw new Error(`run ${runId} did not end`);
  };

  const started = await call('POST', '/runs/hello', { args: ['Ada'] });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const hello = await finished(started.body.runId);
  assert.deepEqual(hello.result, { greeting: 'Hello, Ada!', shouted: 'HELLO, ADA!' });
  step(`POST /runs/hello → ${hello.runId} ${hello.status}: ${JSON.stringify(hello.result)}`);
  console.log(`[newcomer] from init to a completed run: ${seconds()}`);
  assert.deepEqual(await call('GET', '/runs/wrun_01NOSUCHRUN00000000000000'), {
    status: 404,
    body: { error: 'No run wrun_01NOSUCHRUN00000000000000' },
  });

  // The 5.x CLI, through the app's own script, on the World over HTTP.
  const cliEnv = { ...processEnv, WORKFLOW_CLOUDFLARE_URL: `${base}/workflow-world` };
  const workflowCli = async (...args) => {
    const { stdout } = await ok('npm', ['run', '-s', 'workflow', '--', ...args, '--json'], { cwd: app, env: cliEnv });
    return JSON.parse(stdout.slice(stdout.search(/[[{]/)));
  };
  const listed = await workflowCli('inspect', 'runs');
  const row = (listed.data ?? listed).find((run) => run.runId === hello.runId);
  assert.equal(row?.status, 'completed', JSON.stringify(listed).slice(0, 2000));
  step(`npm run workflow -- inspect runs --json: ${hello.runId} completed`);

  // A workflow added while `npm run dev` runs: wrangler's [build] watch rebuilds it.
  copyFileSync(path.join(ROOT, 'tests', 'platform', 'fixtures', 'checks.ts'), path.join(app, 'workflows', 'checks.ts'));
  let failing;
  for (const until = Date.now() + 90_000; !failing; await sleep(500)) {
    const attempt = await call('POST', '/runs/checks', { args: [5] }).catch(() => undefined);
    if (attempt?.status === 201) failing = attempt.body.runId;
    else if (Date.now() > until) throw new Error(`the new workflow never appeared: ${JSON.stringify(attempt)}`);
  }
  const failed = await finished(failing);
  assert.equal(failed.status, 'failed');
  step(`workflows/checks.ts written; POST /runs/checks → ${failing} failed: ${failed.error}`);
  const [stepRow] = await workflowCli('inspect', 'steps', '--runId', failing);
  assert.match(stepRow.error.stack, /^FatalError: n is too big: 5\n {4}at check \(workflows\/checks\.ts:8:\d+\)\n/);
  step(`npm run workflow -- inspect steps: ${stepRow.error.stack.split('\n').slice(0, 2).join(' | ')}`);

  // The 5.x web UI on the same World: the failed step's stack at its .ts line.
  const webPort = await freePort();
  const web = await launch(
    'workflow web',
    'npm',
    ['run', '-s', 'workflow', '--', 'web', '--noBrowser', '--webPort', String(webPort)],
    /Web UI available at/,
    { cwd: app, env: cliEnv, timeoutMs: 120_000 },
  );
  t.after(() => kill(web));
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.newPage();
  await page.setViewport({ width: 1500, height: 1000 });
  await page.goto(`http://127.0.0.1:${webPort}/run/${failing}`, {
    waitUntil: 'domcontentloaded',
    timeout: UI_TIMEOUT_MS,
  });
  await textWhen(page, 'the run with its step', (text) => text.includes('Failed') && /\ncheck\n/.test(text));
  const span = await page.evaluateHandle(() =>
    [...document.querySelectorAll('*')].find((el) => el.children.length === 0 && el.textContent.trim() === 'check'),
  );
  await span.asElement().click();
  const shown = await textWhen(page, "the step's error", (text) => text.includes('at check (workflows/checks.ts:8:'));
  assert.match(shown, /FatalError: n is too big: 5/);
  const screenshot = path.join(ARTIFACTS, 'web-ui-v5-failed-step.png');
  await page.screenshot({ path: screenshot });
  step(`workflow web: the step's stack shows "at check (workflows/checks.ts:8:…)"; screenshot ${screenshot}`);

  const out = path.join(stage, 'dry-run');
  const deploy = await ok('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', out], { cwd: app });
  const printed = `${deploy.stdout}${deploy.stderr}`;
  const upload = /Total Upload: ([\d.]+ KiB) \/ gzip: ([\d.]+ KiB)/.exec(printed);
  assert.ok(upload, printed);
  assert.match(printed, /env\.WORKFLOW_EXECUTOR \(WorkflowExecutor\)\s+Durable Object/);
  assert.ok(existsSync(path.join(out, 'worker.mjs')));
  step(`npx wrangler deploy --dry-run: upload ${upload[1]}, gzip ${upload[2]}`);
  console.log(`[newcomer] transcript:\n${transcript.join('\n')}`);
});
