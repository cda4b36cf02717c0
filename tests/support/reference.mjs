// Runs every scenario on @workflow/world-local 4.4.1 (the reference World) and prints
// each run's event types as JSON: the logs tests/e2e/e2e.test.mjs compares this World's with.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startApp } from '../../examples/basic/app.mjs';
import { runScenario, scenarios } from '../../examples/basic/scenarios.mjs';
import { localWorld } from './worlds.mjs';

const dataDir = mkdtempSync(path.join(tmpdir(), 'wcf-world-local-'));
const app = await startApp({ world: ({ base }) => localWorld(dataDir, base) });
const logs = {};
try {
  for (const scenario of scenarios) {
    const result = await runScenario(app, scenario);
    logs[scenario.name] = { events: result.events, problems: result.problems };
  }
} finally {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
}
process.stdout.write(`\n@@REFERENCE@@${JSON.stringify(logs)}\n`);
process.exit(0);
