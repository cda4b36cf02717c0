// The differential fuzzer, spec 7: tests/differential/driver.mjs over this World (real D1
// in local workerd, through the test harness) and @workflow/world-local 5.0.0-beta.46 (in
// this process, a fresh data dir).
//
//   FUZZ_SEED=7 FUZZ_RUNS=5000 node --test tests/differential/fuzz-v5.test.mjs
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RUNS, SEED, useDifferential } from './driver.mjs';

const fuzz = useDifferential(7, async (dataDir) => {
  const { createWorld } = await import('@workflow/world-local-v5');
  return createWorld({ dataDir, recoverActiveRuns: false });
});

test(
  `differential fuzz (spec 7): ${RUNS} sequences from seed ${SEED} answer as world-local 5.0.0-beta.46 does`,
  { timeout: 60 * 60_000 },
  () => fuzz.run(),
);

// Found by the fuzzer (seed 1 and 2, FUZZ_RUNS=5000): a step writer's attr_set with a
// correlation id claimed it, so a workflow writer's later claim was refused.
test('fuzz regression (seed 1): a workflow writer claims the correlation id a step writer carried', async () => {
  const ops = [
    { op: 'run_created', r: 0, attributes: false },
    { op: 'attr_set', r: 0, key: 'stage', value: null, writer: 'step', corr: 1 },
    {
      op: 'race',
      a: { op: 'attr_set', r: 0, key: 'stage', value: null, writer: 'workflow', corr: 1 },
      b: { op: 'attr_set', r: 0, key: 'stage', value: null, writer: 'workflow', corr: 1 },
    },
  ];
  assert.equal(await fuzz.firstDifference(ops), undefined);
});

// Found by the fuzzer (seed 2, FUZZ_RUNS=5000): a disposed hook's id created again. Both
// refuse it, but world-local appends the hook_created first, so every later slot of the run
// was one ahead of this World's; the model now leaves that create out (docs/conformance-v5.md).
test('fuzz regression (seed 2): a disposed hook created again leaves the log as it was', async () => {
  const ops = [
    { op: 'run_created', r: 0, attributes: false },
    { op: 'run_created', r: 2, attributes: false },
    { op: 'hook_created', r: 2, h: 2, t: 1, retain: false },
    { op: 'hook_disposed', r: 0, h: 2 },
    { op: 'hook_created', r: 2, h: 2, t: 1, retain: false },
    { op: 'race', a: { op: 'step_created', r: 2, s: 0 }, b: { op: 'step_created', r: 2, s: 0 } },
  ];
  assert.equal(await fuzz.firstDifference(ops), undefined);
});
