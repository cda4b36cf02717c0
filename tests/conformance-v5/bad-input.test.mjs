// Bad input on the 5.x surface: each is refused with a named error that says what was
// wrong and what is allowed, and nothing is stored. World-local validates none of these
// (world-contract-v5 §11.1), so this file proves this World only.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fixtures from '../support/world-v5.mjs';

const v = fixtures.useWorldV5();
const only = fixtures.localDivergence('§11.1: world-local does not validate the 5.x surface');

test(
  'an eventCount that is not a non-negative integer is a 400 naming the allowed values; nothing is appended',
  only,
  async () => {
    const { runId } = await fixtures.createRunningRun(v.world);
    for (const eventCount of [-1, 1.5, '3', true, Number.NaN]) {
      await fixtures.assertNothingAppended(v.world, runId, async () => {
        const e = await fixtures.expectReject(
          () =>
            v.world.events.create(
              runId,
              { eventType: 'wait_created', correlationId: fixtures.newWaitId(), eventData: { resumeAt: new Date() } },
              { eventCount },
            ),
          'WorkflowWorldError',
        );
        assert.equal(e.status, 400, String(eventCount));
        assert.match(e.message, /eventCount.*allowed: a non-negative integer/);
      });
    }
  },
);

test(
  'an attr_set with a reserved or malformed key is an AttributeValidationError or a named 400; nothing is appended',
  only,
  async () => {
    const { runId } = await fixtures.createRunningRun(v.world);
    const bad = [
      [{ key: '$retention', value: '0' }, 'AttributeValidationError'],
      [{ key: '', value: 'x' }, null],
      [{ key: 'k'.repeat(257), value: 'x' }, null],
      [{ key: 'k', value: 'v'.repeat(257) }, null],
      [{ key: 7, value: 'x' }, null],
    ];
    for (const [change, name] of bad) {
      await fixtures.assertNothingAppended(v.world, runId, async () => {
        let error;
        try {
          await v.world.events.create(runId, {
            eventType: 'attr_set',
            correlationId: `attr_${Math.random().toString(36).slice(2)}`,
            eventData: { changes: [change], writer: { type: 'workflow' } },
          });
        } catch (e) {
          error = e;
        }
        assert.ok(error instanceof Error, `${JSON.stringify(change)} was accepted`);
        if (name) assert.equal(error.name, name);
        else assert.ok(['AttributeValidationError', 'WorkflowWorldError'].includes(error.name), error.name);
        assert.ok(error.message.length > 20, error.message);
      });
    }
  },
);

test('an event id that is not a slot id, on a spec-7 run, is a 400 saying what a slot id is', only, async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const e = await fixtures.expectReject(
    () => v.world.events.get(runId, 'wevt_01KAV9FT000000000000000000'),
    'WorkflowWorldError',
  );
  assert.equal(e.status, 400);
  assert.match(e.message, /not a slot id.*evnt_ followed by 26 digits/);
  // a slot id past the end is simply not found
  const missing = await fixtures.expectReject(
    () => v.world.events.get(runId, fixtures.slotId(99)),
    'WorkflowWorldError',
  );
  assert.equal(missing.status, 404);
});

test(
  'stream calls with the run id and name swapped are refused by name; nothing is written under either',
  only,
  async () => {
    const { runId } = await fixtures.createRunningRun(v.world);
    const name = fixtures.newStreamName();
    const calls = [
      () => v.world.streams.write(name, runId, 'x'),
      () => v.world.streams.writeMulti(name, runId, ['x']),
      () => v.world.streams.close(name, runId),
      () => v.world.streams.get(name, runId),
      () => v.world.streams.getInfo(name, runId),
      () => v.world.streams.getChunks(name, runId),
    ];
    for (const call of calls) {
      const e = await fixtures.expectReject(call, 'WorkflowWorldError');
      assert.equal(e.status, 400);
      assert.match(e.message, /look swapped; pass the run id \(wrun_…\) first/);
    }
    assert.deepEqual(await v.world.streams.list(runId), []);
    assert.deepEqual(await v.world.streams.getInfo(runId, name), { tailIndex: -1, done: false });
    assert.equal((await fixtures.listAllEvents(v.world, runId)).length, 2);
  },
);
