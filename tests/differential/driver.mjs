// The differential fuzzer's test, for either line (tests/differential/fuzz-v4.test.mjs,
// fuzz-v5.test.mjs): FUZZ_RUNS (300) sequences of tests/differential/model.mjs from
// FUZZ_SEED (20261206), each replayed on this World and on the line's world-local with the
// same ids, compared outcome by outcome. fast-check shrinks a failing sequence; the failure
// prints it as a test to paste (`assert.equal(await firstDifference(ops), undefined)`).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import fc from 'fast-check';
import { useHarness } from '../support/harness.mjs';
import { explained, idsFor, replay, sequence } from './model.mjs';

export const SEED = Number(process.env.FUZZ_SEED ?? 20261206);
export const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/**
 * The fuzzer of line `spec`, with its two Worlds set up around the test file: this World on
 * the test harness (real D1 in local workerd) and `openReference(dataDir)`, the line's
 * world-local over a fresh data dir. `{ firstDifference(ops), run() }`; `run()` is the test body.
 */
export function useDifferential(spec, openReference) {
  const h = useHarness({ specVersion: spec });
  let reference;
  let dataDir;
  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), `fuzz-spec${spec}-local-`));
    reference = await openReference(dataDir);
    await reference.start?.();
  });
  after(async () => {
    await reference?.close?.();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  return differential(
    spec,
    () => h.world,
    () => reference,
  );
}

/** The fuzzer over `ours()` and `reference()`, each a World read when the test runs. */
function differential(spec, ours, reference) {
  let replays = 0;
  /** The difference each failing sequence showed (a race may not show it twice). */
  const differences = new Map();
  /** This World's outcomes by kind, and the known differences met (reason → count). */
  const tally = {};
  const known = new Map();

  /** The first difference of `ops` that no contract line explains, or undefined. */
  async function firstDifference(ops) {
    const ids = idsFor(`S${(replays++).toString(36).toUpperCase()}`);
    const now = Date.now();
    const [mine, theirs] = await Promise.all([
      replay(ours(), ops, ids, spec, now),
      replay(reference(), ops, ids, spec, now),
    ]);
    // A replay that only met errors proves nothing: the universe must have been reached.
    const answered = (o) => o.ok || o.outcomes?.some((x) => x.startsWith('{"ok"'));
    if (!mine.some(answered)) return { index: -1, ours: { op: 'none answered' }, theirs: {} };
    for (const [i, outcome] of mine.entries()) {
      const kind = outcome.skipped ? 'skipped' : outcome.outcomes ? 'race' : outcome.ok ? 'ok' : 'error';
      tally[kind] = (tally[kind] ?? 0) + 1;
      if (JSON.stringify(outcome) === JSON.stringify(theirs[i])) continue;
      const why = explained(outcome, theirs[i], ops[i]);
      if (!why) return { index: i, ours: outcome, theirs: theirs[i] };
      known.set(why.reason, (known.get(why.reason) ?? 0) + 1);
      if (why.halts) return undefined;
    }
    return undefined;
  }

  /** A failing sequence as a test to paste into the line's file. */
  const asTest = (ops, difference) =>
    [
      `test('fuzz regression (seed ${SEED}): ${difference.ours.op} at #${difference.index}', async () => {`,
      `  const ops = ${JSON.stringify(ops)};`,
      '  assert.equal(await fuzz.firstDifference(ops), undefined);',
      '});',
      `// this World:  ${JSON.stringify(difference.ours)}`,
      `// world-local: ${JSON.stringify(difference.theirs)}`,
    ].join('\n');

  async function run() {
    const started = Date.now();
    let operations = 0;
    const result = await fc.check(
      fc.asyncProperty(sequence(spec), async (ops) => {
        operations += ops.length;
        const difference = await firstDifference(ops);
        if (difference) differences.set(JSON.stringify(ops), difference);
        return difference === undefined;
      }),
      { seed: SEED, numRuns: RUNS },
    );
    if (result.failed) {
      const [ops] = result.counterexample;
      const difference = differences.get(JSON.stringify(ops)) ?? { index: -1, ours: {}, theirs: {} };
      assert.fail(
        `a difference after ${result.numRuns} sequences (shrunk ${result.numShrinks} times):\n${asTest(ops, difference)}`,
      );
    }
    const lines = [
      `fuzz spec ${spec}: ${RUNS} sequences, ${operations} operations, seed ${SEED}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
      `outcomes on this World: ${JSON.stringify(tally)}`,
      ...[...known].map(([reason, n]) => `explained ×${n}: ${reason}`),
    ];
    console.log(lines.map((l) => `# ${l}`).join('\n'));
  }

  return { firstDifference, run };
}
