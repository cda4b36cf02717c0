// The Workflow web UI (@workflow/web 4.1.25) on this World over HTTP, in a real headless
// Chromium (Debian's package, installed by scripts/setup.sh, driven by puppeteer-core): its
// server runs in a child process with WORKFLOW_TARGET_WORLD=@workflow/world-cloudflare/remote
// and the example Worker's URL and secret, and what the browser shows is what D1 holds, read
// directly with SQL through the harness: the runs list has every run of the example app
// (examples/basic, workflow 4.8.9) with its workflow and status; a run's page has its id,
// workflow and status, one trace span per step in D1, and its events in the Events tab.
// Screenshots of both pages are kept in .wrangler/artifacts/.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ARTIFACTS, launchBrowser, textWhen, UI_TIMEOUT_MS } from '../support/browser.mjs';
import { ROOT } from '../support/harness.mjs';
import { freePort, kill, launch } from '../support/processes.mjs';
import { remoteWorldEnv, startRemoteApp } from '../support/remote-app.mjs';

const WEB_SERVER = path.join(ROOT, 'node_modules', '@workflow', 'web', 'server.js');

let app;
let sql;
let web;
let webUrl;
let browser;
/** The runs of the example, by workflow: `{ runId, status }` as D1 holds them. */
const runs = {};

const capitalized = (s) => s[0].toUpperCase() + s.slice(1);

before(async () => {
  ({ app, sql } = await startRemoteApp());
  for (const [workflow, args] of [
    ['sequential', [2, 3]],
    ['parallel', [10]],
    ['fatal', []],
  ]) {
    const run = await app.start(workflow, args);
    await run.returnValue.catch(() => {});
    const [row] = await sql('SELECT status FROM runs WHERE run_id = ?', run.runId);
    runs[workflow] = { runId: run.runId, status: row.status };
  }
  const port = await freePort();
  web = await launch('@workflow/web', process.execPath, [WEB_SERVER], /listening on port/, {
    env: { ...remoteWorldEnv(app), PORT: String(port) },
  });
  webUrl = `http://127.0.0.1:${port}`;
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await kill(web);
  await app?.close();
});

test('the example runs are in D1 with the statuses the workflows end in', () => {
  assert.deepEqual(Object.fromEntries(Object.entries(runs).map(([workflow, { status }]) => [workflow, status])), {
    sequential: 'completed',
    parallel: 'completed',
    fatal: 'failed',
  });
});

test('the runs list shows every run with its workflow and status', async () => {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  await page.goto(`${webUrl}/`, { waitUntil: 'domcontentloaded', timeout: UI_TIMEOUT_MS });
  const ids = Object.values(runs).map((r) => r.runId);
  const text = await textWhen(page, 'the runs', (t) => ids.every((id) => t.includes(id)));
  assert.match(text, /Connected to: remote/);

  const rows = await page.$$eval('tr', (trs) => trs.map((tr) => tr.textContent));
  const d1 = await sql('SELECT run_id, status, workflow_name FROM runs ORDER BY created_at DESC, run_id DESC');
  assert.equal(d1.length, 3, 'D1 holds the three runs');
  for (const { run_id, status, workflow_name } of d1) {
    const row = rows.filter((r) => r.includes(run_id));
    assert.equal(row.length, 1, `one row for ${run_id}`);
    // The text is lower case; CSS capitalizes it.
    assert.match(row[0], new RegExp(`${run_id}${status}\\b`, 'i'), `${run_id} shows ${status}: ${row[0]}`);
    assert.ok(row[0].includes(workflow_name.split('//').at(-1)), `${run_id} shows its workflow: ${row[0]}`);
  }
  // Newest first, as in D1.
  const order = d1.map((r) => rows.findIndex((row) => row.includes(r.run_id)));
  assert.deepEqual(
    order,
    [...order].sort((a, b) => a - b),
    'rows in D1 order (newest first)',
  );

  const screenshot = path.join(ARTIFACTS, 'web-ui-runs.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`[remote-web] runs list screenshot: ${screenshot}`);
  await page.close();
});

test('a run’s page, opened from the list, shows its id, status, steps and events', async () => {
  const { runId } = runs.sequential;
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  await page.goto(`${webUrl}/`, { waitUntil: 'domcontentloaded', timeout: UI_TIMEOUT_MS });
  await textWhen(page, runId, (t) => t.includes(runId));
  // Open it the way a user does: a click on its row in the list.
  const rows = await page.$$('tr');
  let clicked = false;
  for (const row of rows) {
    if ((await row.evaluate((tr) => tr.textContent)).includes(runId)) {
      await row.click();
      clicked = true;
      break;
    }
  }
  assert.ok(clicked, 'the run has a row');
  await page.waitForFunction((id) => location.pathname === `/run/${id}`, { timeout: UI_TIMEOUT_MS }, runId);

  const steps = await sql('SELECT step_name, status FROM steps WHERE run_id = ? ORDER BY created_at', runId);
  assert.equal(steps.length, 2, 'two steps in D1');
  const stepNames = steps.map((s) => s.step_name.split('//').at(-1));
  assert.deepEqual(stepNames, ['add', 'add']);
  /** The trace's span labels: one line per span, its name first. */
  const spans = (t) => t.split('\n').filter((line) => /^add\b/.test(line.trim()));
  const text = await textWhen(page, 'the run and its steps', (t) => t.includes('Completed') && spans(t).length >= 2);
  assert.ok(text.includes(runId), 'its id');
  assert.match(text, /\bsequential\b/, 'its workflow');
  assert.match(text, /Status\s+Completed/, 'its status');
  assert.equal(spans(text).length, steps.length, `one span per step: ${spans(text)}`);
  assert.ok(
    steps.every((s) => s.status === 'completed'),
    'the steps completed in D1',
  );

  const screenshot = path.join(ARTIFACTS, 'web-ui-run.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`[remote-web] run page screenshot: ${screenshot}`);

  // The Events tab lists the run's log, oldest first: every event of D1, by id and type, in log order.
  const events = await sql('SELECT event_id, event_type FROM events WHERE run_id = ? ORDER BY seq', runId);
  const tabs = await page.$$('button, [role="tab"]');
  let eventsTab;
  for (const tab of tabs) {
    if ((await tab.evaluate((b) => b.textContent.trim())) === 'Events') eventsTab = tab;
  }
  assert.ok(eventsTab, 'an Events tab');
  await eventsTab.click();
  const shown = await textWhen(page, 'the events', (t) => events.every((e) => t.includes(e.event_id)));
  assert.match(shown, new RegExp(`\\b${events.length} events loaded`));
  const lines = shown.split('\n').map((line) => line.trim());
  const positions = events.map((e) => lines.indexOf(e.event_id));
  assert.deepEqual(
    positions,
    [...positions].sort((a, b) => a - b),
    'events in log order',
  );
  // Each row reads: time, type (`Step Created` for step_created), name, correlation id, event id.
  assert.deepEqual(
    positions.map((i) => lines[i - 3]),
    events.map((e) => e.event_type.split('_').map(capitalized).join(' ')),
  );
  await page.close();
});
