// End to end with the real runtime (workflow 4.8.9): the example workflows of
// examples/basic, built by `wf build` (scripts/test.mjs runs it first), their routes on a
// Node host, and every Cloudflare part real in local workerd (D1, both queues and their
// consumer Worker calling handleQueueMessage, R2). Each scenario's outcome is asserted,
// and its event log must match the one the same scenario produces on
// @workflow/world-local 4.4.1, run in a child process (ids and times ignored).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startApp } from '../../examples/basic/app.mjs';
import { runScenario, scenarios } from '../../examples/basic/scenarios.mjs';
import { childJson } from '../support/child.mjs';

const TERMINAL = new Set(['run_completed', 'run_failed', 'run_cancelled']);

/** The reference logs, from a child process so the two Worlds never share a runtime. */
const referenceLogs = () => childJson('tests/support/reference.mjs', [], '@@REFERENCE@@');

let app;
let reference;
const ours = {};
before(async () => {
  reference = referenceLogs();
  app = await startApp();
});
after(async () => {
  await app?.close();
});

for (const scenario of scenarios) {
  test(`e2e ${scenario.name}: ${scenario.title}`, async () => {
    const result = await runScenario(app, scenario);
    ours[scenario.name] = result.events;
    assert.deepEqual(result.problems, [], `${scenario.name}: ${result.problems.join('; ')}`);
    assert.equal(result.events[0], 'run_created');
    assert.equal(result.events.filter((t) => TERMINAL.has(t)).length, 1, `one terminal event: ${result.events}`);
  });
}

test('e2e event logs match @workflow/world-local 4.4.1 for every scenario', async () => {
  const logs = await reference;
  for (const scenario of scenarios) {
    const theirs = logs[scenario.name];
    assert.deepEqual(theirs.problems, [], `reference ${scenario.name} misbehaved: ${theirs.problems}`);
    const expected = firstTerminalOnly(theirs.events);
    const actual = ours[scenario.name];
    assert.ok(actual, `${scenario.name} did not run here`);
    if (scenario.ordered === false) {
      assert.deepEqual([...actual].sort(), [...expected].sort(), `${scenario.name} (as a multiset)`);
    } else {
      assert.deepEqual(actual, expected, scenario.name);
    }
  }
});

/**
 * world-local has no conditional run transition, so two flow deliveries racing to the end
 * (Promise.all) can both append run_completed; contract §3.4.3 says exactly one must win,
 * as it does here. The comparison keeps the reference's first terminal event.
 */
function firstTerminalOnly(events) {
  const first = events.findIndex((t) => TERMINAL.has(t));
  return events.filter((t, i) => !TERMINAL.has(t) || i === first);
}
