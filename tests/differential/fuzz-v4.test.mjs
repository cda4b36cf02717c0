// The differential fuzzer, spec 3: tests/differential/driver.mjs over this World (real D1
// in local workerd, through the test harness) and @workflow/world-local 4.4.1 (in
// this process, a fresh data dir).
//
//   FUZZ_SEED=7 FUZZ_RUNS=5000 node --test tests/differential/fuzz-v4.test.mjs

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RUNS, SEED, useDifferential } from './driver.mjs';

const fuzz = useDifferential(3, async (dataDir) => {
  const { createLocalWorld } = await import('@workflow/world-local');
  return createLocalWorld({ dataDir });
});

test(
  `differential fuzz (spec 3): ${RUNS} sequences from seed ${SEED} answer as world-local 4.4.1 does`,
  { timeout: 60 * 60_000 },
  () => fuzz.run(),
);

// Found by the fuzzer (seed 20261206): two run_cancelled at once both append, and which
// returns first is timing. Event labels follow the log's order, so the listing after the race
// compares on both Worlds whichever racer returned first. Timing-dependent, so a few rounds.
test('fuzz regression (seed 20261206): a listing after two racing cancellations compares', async () => {
  const ops = [
    { op: 'run_created', r: 0, attributes: false },
    { op: 'race', a: { op: 'run_end', r: 0, how: 'cancelled' }, b: { op: 'run_end', r: 0, how: 'cancelled' } },
    { op: 'list_events', r: 0, limit: 2, desc: false, next: false },
  ];
  for (let round = 0; round < 5; round += 1) assert.equal(await fuzz.firstDifference(ops), undefined);
});
