// Conformance (spec 7): the Streamer under world.streams with runId first (§2.4, 4x §6) and the
// health-check stream under a fake run id (§7). Checklist items V98–V100 and V102 of
// the 5.x checklist (docs/conformance-v5.md) (V101 is proven inside the example Worker: tests/e2e-worker/examples.test.mjs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fixtures from '../support/world-v5.mjs';

const v = fixtures.useWorldV5();

const chunkOf = (i) => fixtures.utf8(`chunk-${String(i).padStart(3, '0')}`);

async function writeChunks(runId, name, n) {
  for (let i = 0; i < n; i++) await v.world.streams.write(runId, name, chunkOf(i));
}

test('V98 streams.write(r, n, "a"), write(r, n, bytes), close(r, n), then get(r, n) yields the two chunks and closes', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const name = fixtures.newStreamName();
  const bytes = new Uint8Array([0, 1, 2, 0xff, 0]);
  await v.world.streams.write(runId, name, 'a');
  await v.world.streams.write(runId, name, bytes);
  await v.world.streams.close(runId, name);
  const chunks = await fixtures.readStream(await v.world.streams.get(runId, name));
  assert.equal(chunks.length, 2);
  fixtures.assertBytes(chunks[0], fixtures.utf8('a'), 'chunk 0 is the UTF-8 of "a"');
  fixtures.assertBytes(chunks[1], bytes, 'chunk 1 is byte-identical');
  assert.deepEqual(await v.world.streams.getInfo(runId, name), { tailIndex: 1, done: true });
});

test(
  'V98 (§11.1) streams.get from past the end of a closed stream closes with no data',
  fixtures.localDivergence(
    'V98/§11.1 (4x §6.2 MUST): world-local never closes a read that starts past the end of a closed stream',
  ),
  async () => {
    const { runId } = await fixtures.createRunningRun(v.world);
    const name = fixtures.newStreamName();
    await writeChunks(runId, name, 5);
    await v.world.streams.close(runId, name);
    assert.deepEqual(await fixtures.readStream(await v.world.streams.get(runId, name, 5), { timeoutMs: 3_000 }), []);
    assert.deepEqual(await fixtures.readStream(await v.world.streams.get(runId, name, 9), { timeoutMs: 3_000 }), []);
  },
);

test('V99 get(r, n, -3) on 10 closed chunks yields 7, 8, 9; getInfo is {tailIndex 9, done}; getChunks pages by 2; list(r) lists n', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const name = fixtures.newStreamName();
  await writeChunks(runId, name, 10);
  await v.world.streams.close(runId, name);
  const tail = await fixtures.readStream(await v.world.streams.get(runId, name, -3));
  assert.deepEqual(
    tail.map((c) => new TextDecoder().decode(c)),
    ['chunk-007', 'chunk-008', 'chunk-009'],
  );
  assert.deepEqual(await v.world.streams.getInfo(runId, name), { tailIndex: 9, done: true });
  const { chunks, pages } = await fixtures.getAllChunks(v.world, runId, name, 2);
  assert.deepEqual(
    pages.map((p) => p.data.map((c) => c.index)),
    [
      [0, 1],
      [2, 3],
      [4, 5],
      [6, 7],
      [8, 9],
    ],
  );
  for (const p of pages.slice(0, -1)) {
    assert.equal(p.hasMore, true);
    assert.equal(typeof p.cursor, 'string');
    assert.equal(p.done, false, 'a page with more after it is not done, though the stream is closed');
  }
  assert.equal(pages.at(-1).hasMore, false);
  assert.equal(pages.at(-1).cursor, null);
  assert.equal(pages.at(-1).done, true);
  chunks.forEach((c, i) => fixtures.assertBytes(c.data, chunkOf(i), `chunk ${i}`));
  assert.deepEqual(await v.world.streams.list(runId), [name]);
});

test('V100 the health-check stream under the fake run id wrun_hc_<id> can be written, closed and read with no such run', async () => {
  const correlationId = fixtures.ulid();
  const runId = `wrun_hc_${correlationId}`;
  const name = `__health_check__${correlationId}`;
  const body = JSON.stringify({ healthy: true, correlationId, specVersion: 7, timestamp: Date.now() });
  await v.world.streams.write(runId, name, body);
  await v.world.streams.close(runId, name);
  const chunks = await fixtures.readStream(await v.world.streams.get(runId, name));
  assert.equal(chunks.length, 1);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(chunks[0])), JSON.parse(body));
  await assert.rejects(v.world.runs.get(runId), 'no run was created for the fake run id');
});

test('V102 without writeMulti and createWriteSession, 100 writes through a WritableStream produce 100 chunks in order', async () => {
  const { runId } = await fixtures.createRunningRun(v.world);
  const name = fixtures.newStreamName();
  // Core's fallback when a World has neither streams.writeMulti nor streams.createWriteSession:
  // each chunk of the step's getWritable() becomes one awaited streams.write, in order, then one
  // streams.close (§2.4). Only those two members are used here, whatever else the World offers.
  const writable = new WritableStream({
    write: (chunk) => v.world.streams.write(runId, name, chunk),
    close: () => v.world.streams.close(runId, name),
  });
  const writer = writable.getWriter();
  for (let i = 0; i < 100; i++) writer.write(chunkOf(i)); // not awaited: the stream queues them
  await writer.close();
  const read = await fixtures.readStream(await v.world.streams.get(runId, name));
  assert.equal(read.length, 100);
  read.forEach((c, i) => fixtures.assertBytes(c, chunkOf(i), `chunk ${i}`));
  const { chunks } = await fixtures.getAllChunks(v.world, runId, name, 1000);
  assert.deepEqual(
    chunks.map((c) => c.index),
    Array.from({ length: 100 }, (_, i) => i),
  );
  assert.deepEqual(await v.world.streams.getInfo(runId, name), { tailIndex: 99, done: true });
});
