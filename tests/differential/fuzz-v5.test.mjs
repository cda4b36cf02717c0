// The differential fuzzer, spec 7: seeded sequences of World calls (tests/differential/
// model-v5.mjs) replayed on this World (real D1 in local workerd, through the test
// harness) and on @workflow/world-local 5.0.0-beta.46 (in this process, a fresh data dir),
// each outcome projected onto what the contract fixes and compared. fast-check generates
// the sequences and shrinks a failing one; the failure prints it as a test to paste.
//
//   npm test runs FUZZ_RUNS (300) sequences from FUZZ_SEED (20261206);
//   FUZZ_SEED=7 FUZZ_RUNS=5000 node --test tests/differential/fuzz-v5.test.mjs
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { useHarness } from '../support/harness.mjs';
import { explainedV5, idsFor, replayV5, sequenceV5 } from './model-v5.mjs';

const SEED = Number(process.env.FUZZ_SEED ?? 20261206);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

const h = useHarness({ specVersion: 7 });
let reference;
let dataDir;
before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'fuzz-v5-local-'));
  const { createWorld } = await import('@workflow/world-local-v5');
  reference = createWorld({ dataDir, recoverActiveRuns: false });
  await reference.start?.();
});
after(async () => {
  await reference?.close?.();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

let replays = 0;
/** The difference each failing sequence showed (a race may not show it twice). */
const differences = new Map();
/** This World's outcomes by kind (ok, error, skipped, race), printed at the end. */
const tally = {};
/** Known differences met (reason → count), printed at the end. */
const explained = new Map();
/** The first operation whose outcomes differ, or undefined. */
async function firstDifference(ops) {
  const tag = `S${(replays++).toString(36).toUpperCase()}`;
  const now = Date.now();
  const ids = idsFor(tag);
  const [ours, theirs] = await Promise.all([replayV5(h.world, ops, ids, now), replayV5(reference, ops, ids, now)]);
  // A replay that only met errors proves nothing: the universe must have been reached.
  if (
    ops.some((op) => op.op === 'run_created') &&
    !ours.some((o) => o.ok || o.outcomes?.some((x) => x.startsWith(`{"ok"`)))
  )
    return { index: -1, ours: { op: 'none answered' }, theirs: {} };
  for (const [i, mine] of ours.entries()) {
    const kind = mine.skipped ? 'skipped' : mine.outcomes ? 'race' : mine.ok ? 'ok' : 'error';
    tally[kind] = (tally[kind] ?? 0) + 1;
    if (JSON.stringify(mine) === JSON.stringify(theirs[i])) continue;
    const known = explainedV5(mine, theirs[i], ops[i]);
    if (known) {
      explained.set(known.reason, (explained.get(known.reason) ?? 0) + 1);
      if (known.halts) return undefined;
      continue;
    }
    return { index: i, ours: mine, theirs: theirs[i] };
  }
  return undefined;
}

/** A failing sequence as a test to paste into this file. */
function asTest(ops, difference) {
  return [
    `test('fuzz regression (seed ${SEED}): ${difference.ours.op} at #${difference.index}', async () => {`,
    `  const ops = ${JSON.stringify(ops)};`,
    '  assert.equal(await firstDifference(ops), undefined);',
    '});',
    `// this World:  ${JSON.stringify(difference.ours)}`,
    `// world-local: ${JSON.stringify(difference.theirs)}`,
  ].join('\n');
}

test(`differential fuzz (spec 7): ${RUNS} sequences from seed ${SEED} answer as world-local 5.0.0-beta.46 does`, {
  timeout: 30 * 60_000,
}, async () => {
  const started = Date.now();
  let operations = 0;
  const result = await fc.check(
    fc.asyncProperty(sequenceV5, async (ops) => {
      operations += ops.length;
      const difference = await firstDifference(ops);
      if (difference) differences.set(JSON.stringify(ops), difference);
      return difference === undefined;
    }),
    { seed: SEED, numRuns: RUNS },
  );
  if (result.failed) {
    const [ops] = result.counterexample;
    const difference = differences.get(JSON.stringify(ops));
    assert.fail(
      `a difference after ${result.numRuns} sequences (shrunk ${result.numShrinks} times):\n${asTest(ops, difference ?? { index: -1, ours: {}, theirs: {} })}`,
    );
  }
  const lines = [
    `fuzz v5: ${RUNS} sequences, ${operations} operations, seed ${SEED}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    `outcomes on this World: ${JSON.stringify(tally)}`,
    ...[...explained].map(([reason, n]) => `explained ×${n}: ${reason}`),
  ];
  console.log(lines.map((l) => `# ${l}`).join('\n'));
});
