// Differential test against the reference: the scripted calls of
// tests/support/differential-v5.mjs run against this World (spec 7, real D1 in local
// workerd) and against @workflow/world-local 5.0.0-beta.46 in a child process. Every
// outcome must be the same (event types, slot ids, statuses, flags, reports, error names),
// except the deliberate differences listed in DIFFERENCES, each with its reason
// (docs/conformance-v5.md "Differences from world-local"). A difference not listed fails.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { childJson } from '../support/child.mjs';
import { runDifferentialScript } from '../support/differential-v5.mjs';
import { localDivergence, newRunId, useWorldV5, WHITE_BOX } from '../support/world-v5.mjs';

/** label → why this World answers differently (world-contract-v5 §11.1 and §3.6). */
const DIFFERENCES = {
  'step_created on a missing run':
    'world-local creates the step (and stores an orphan event) on a run that does not exist; this World refuses with WorkflowRunNotFoundError (§4.1, §11.1)',
  'events.get (a slot past the end)':
    'world-local throws a plain Error for a missing event; this World a WorkflowWorldError with status 404 (§11.1)',
};

const reference = (runId, missingRunId) =>
  childJson('tests/support/differential-v5.mjs', [runId, missingRunId], '@@DIFF@@');

const v = useWorldV5();

test(
  'differential: the same calls on this World and on world-local 5.0.0-beta.46 agree, but for the listed differences',
  localDivergence(WHITE_BOX),
  async () => {
    const [runId, missingRunId] = [newRunId(), newRunId()];
    const [theirs, ours] = await Promise.all([
      reference(runId, missingRunId),
      runDifferentialScript(v.world, runId, missingRunId),
    ]);
    assert.deepEqual(
      ours.map((s) => s.label),
      theirs.map((s) => s.label),
    );
    const differing = [];
    for (const [i, mine] of ours.entries()) {
      const other = theirs[i];
      if (JSON.stringify(mine) === JSON.stringify(other)) continue;
      differing.push(mine.label);
      assert.ok(
        mine.label in DIFFERENCES,
        `unlisted difference at "${mine.label}":\n  this World:  ${JSON.stringify(mine)}\n  world-local: ${JSON.stringify(other)}`,
      );
    }
    assert.deepEqual(differing, Object.keys(DIFFERENCES), 'every listed difference still exists');
    // The agreement is not vacuous: the script reached the end with the run completed.
    const run = ours.find((s) => s.label === 'runs.get').ok.run;
    assert.deepEqual(run, ['completed', 7]);
  },
);
