// The package's Worker entry (js/worker.js) inside workerd: wrangler bundles the .wasm as
// a compiled module and the World runs against the Worker's own D1 binding.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useHarness } from '../support/harness.mjs';

const h = useHarness({ world: false });

test('the Worker entry runs a whole run against D1 inside workerd', async () => {
  const res = await h.server.fetch('/selftest');
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.match(body.runId, /^wrun_[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal(body.startedAtIsDate, true);
  assert.equal(body.status, 'completed');
  assert.equal(body.inputIsBytes, true);
  assert.deepEqual(body.input, [0, 42, 0]);
  assert.deepEqual(body.output, [7]);
  assert.deepEqual(body.eventTypes, [
    'run_created',
    'run_started',
    'step_created',
    'step_started',
    'step_completed',
    'run_completed',
  ]);
  assert.equal(body.conflict, 'EntityConflictError');
});
