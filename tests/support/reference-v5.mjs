// Runs every example scenario on @workflow/world-local 5.0.0-beta.46 (the reference World
// of the 5.x line) and prints each run's event types and flow invocations as JSON: what
// tests/e2e-worker/examples.test.mjs compares the example Worker with. The same built
// workflows (examples/worker/.workflow, `world-cloudflare build`) on the same runtime
// (examples/worker's workflow 5.0.0-beta.55, QuickJS), hosted here on node:http, where
// world-local's queue delivers them.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runStatus } from '../../js/runtime/run-status.js';
import { EXAMPLE, hostOnWorldLocal5 } from './local-v5-host.mjs';

const host = await hostOnWorldLocal5();
const { world, api, base, invocations } = host;
const { runScenario, scenarios } = await import(pathToFileURL(path.join(EXAMPLE, 'scenarios.mjs')).href);
const TERMINAL_EVENTS = new Set(['run_completed', 'run_failed', 'run_cancelled']);

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const status = (runId) => runStatus(world, api, runId);

/** The interface of examples/worker/app.mjs, on world-local. */
const app = {
  world,
  fetch: (pathname, init) => fetch(`${base}${pathname}`, init),
  start: async (name, args = []) => (await host.start(name, args)).runId,
  status,
  async settle(runId) {
    const until = Date.now() + 60_000;
    for (;;) {
      const s = await status(runId);
      if (TERMINAL.has(s.status) || Date.now() > until) return s;
      await sleep(100);
    }
  },
  wake: (runId) => api.getRun(runId).wakeUp(),
  resumeHook: (token, payload) => api.resumeHook(token, payload),
  async stream(runId) {
    const chunks = [];
    for await (const chunk of api.getRun(runId).getReadable()) chunks.push(chunk);
    return chunks;
  },
};

const logs = {};
try {
  for (const scenario of scenarios) {
    const result = await runScenario(app, scenario);
    // Settled deliveries may still be in flight when the run's status turns terminal, and
    // world-local writes the run's file before its terminal event's: read the log once it
    // holds that event (within 10 s).
    await sleep(300);
    let events = result.events;
    for (const until = Date.now() + 10_000; !events.some((t) => TERMINAL_EVENTS.has(t)) && Date.now() < until; ) {
      await sleep(100);
      events = (await world.events.list({ runId: result.outcome.runId, pagination: { limit: 1000 } })).data.map(
        (e) => e.eventType,
      );
    }
    logs[scenario.name] = {
      events,
      problems: result.problems,
      invocations: invocations[result.outcome.runId] ?? 0,
    };
  }
} finally {
  await host.close();
}
process.stdout.write(`\n@@REFERENCE@@${JSON.stringify(logs)}\n`);
process.exit(0);
