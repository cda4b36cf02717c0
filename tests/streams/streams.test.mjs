// Conformance: the Streamer (contract §6), checklist items §8.130–145, plus this World's
// own design points (README "Streams"): one D1 round trip per write, segments over
// 128 KiB in R2 (one Class A PUT), writes after close refused by name, dense order under
// concurrent writers, bad input refused with nothing stored.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWorld } from '../../js/node.js';
import { countingD1, newCounts } from '../support/counting.mjs';
import { useHarness } from '../support/harness.mjs';
import { expectReject, sleep } from '../support/storage.mjs';
import {
  allPages,
  assertSameBytes,
  countingBucket,
  dec,
  newRunId,
  newStreamName,
  pattern,
  readAll,
  readN,
  utf8,
  within,
} from '../support/streams.mjs';

const KiB = 1024;
const INLINE_LIMIT = 128 * KiB;

const h = useHarness();

/** A World on the harness bindings whose R2 operations are counted. */
async function r2CountingWorld() {
  const cb = countingBucket(h.env.STREAM_BUCKET);
  const w = await createWorld({ ...h.env, DB: h.db, STREAM_BUCKET: cb.bucket });
  return { w, cb };
}

/** A World whose D1 round trips are counted on their own (not shared with h.world). */
async function d1CountingWorld() {
  const counter = newCounts().d1;
  const w = await createWorld({ ...h.env, DB: countingD1(h.env.DB, counter) });
  return { w, counter };
}

/** The raw segment rows of a stream, in commit order (white-box: where the bytes live). */
async function segmentRows(name) {
  const { results } = await h.env.DB.prepare(
    'SELECT first_index, chunk_count, eof, object_key, data IS NULL AS no_inline, length(data) AS inline_bytes FROM stream_segments WHERE stream_name = ? ORDER BY seq',
  )
    .bind(name)
    .all();
  return results;
}

async function expectStreamError(call, { status, code }) {
  return expectReject(call, 'WorkflowWorldError', { props: { status, code } });
}

const texts = (chunks) => chunks.map((c) => dec.decode(c));

// ---------------------------------------------------------------------------
// §6.1 writes

test('§8.130 a string chunk and a Uint8Array chunk, then close: the reader yields [0x61], [1,2] and closes', async () => {
  const n = newStreamName();
  const r = newRunId();
  await h.world.writeToStream(n, r, 'a');
  const written = new Uint8Array([1, 2]);
  await h.world.writeToStream(n, r, written);
  written[0] = 99; // the World keeps its own copy of what was written
  await h.world.closeStream(n, r);

  const chunks = await readAll(await h.world.readFromStream(n));
  assert.equal(chunks.length, 2);
  assertSameBytes(chunks[0], [0x61], 'chunk 0');
  assertSameBytes(chunks[1], [1, 2], 'chunk 1');

  // Each emitted value is a fresh Uint8Array: mutating one reader's chunk does not reach another reader.
  chunks[1][1] = 77;
  const again = await readAll(await h.world.readFromStream(n));
  assertSameBytes(again[1], [1, 2], 'chunk 1, second reader');
  assert.notEqual(again[0].buffer, chunks[0].buffer);
});

test('§8.131 writeToStreamMulti assigns indices 0–2 in array order in one D1 round trip; [] is a no-op', async () => {
  const n = newStreamName();
  const r = newRunId();
  h.roundTrips.reset();
  await h.world.writeToStreamMulti(n, r, []);
  assert.equal(h.roundTrips.count, 0, '[] does no I/O');
  assert.deepEqual(await h.world.getStreamInfo(n, r), { tailIndex: -1, done: false }, '[] writes nothing');

  h.roundTrips.reset();
  await h.world.writeToStreamMulti(n, r, ['c0', new Uint8Array([0xc1]), 'c2']);
  assert.equal(h.roundTrips.count, 1, 'a multi-chunk write is one D1 round trip');
  const page = await h.world.getStreamChunks(n, r);
  assert.deepEqual(
    page.data.map((c) => c.index),
    [0, 1, 2],
  );
  assertSameBytes(page.data[0].data, utf8('c0'));
  assertSameBytes(page.data[1].data, [0xc1]);
  assertSameBytes(page.data[2].data, utf8('c2'));

  await h.world.writeToStreamMulti(n, r, []);
  await h.world.writeToStream(n, r, 'c3');
  assert.deepEqual(
    await h.world.getStreamInfo(n, r),
    { tailIndex: 3, done: false },
    '[] between writes takes no index',
  );
  h.roundTrips.reset();
  await h.world.writeToStream(n, r, 'c4');
  assert.equal(h.roundTrips.count, 1, 'a single-chunk write is one D1 round trip');
  h.roundTrips.reset();
  await h.world.closeStream(n, r);
  assert.equal(h.roundTrips.count, 1, 'closeStream is one D1 round trip');
  const read = await readAll(await h.world.readFromStream(n));
  assert.deepEqual(
    read.map((c) => Array.from(c)),
    [utf8('c0'), [0xc1], utf8('c2'), utf8('c3'), utf8('c4')].map((c) => Array.from(c)),
  );
});

// ---------------------------------------------------------------------------
// §6.2 readFromStream

test('§8.132 readFromStream on a stream with no chunks resolves at once; a later write is delivered and a later close ends it', async () => {
  const n = newStreamName();
  const r = newRunId();
  const t0 = performance.now();
  const stream = await within(h.world.readFromStream(n), 2000, 'readFromStream of an unknown stream');
  assert.ok(performance.now() - t0 < 2000);
  assert.ok(stream instanceof ReadableStream);
  const reader = stream.getReader();
  const pending = reader.read();
  await sleep(300); // the reader is tailing an empty stream: it must not close for lack of data
  let settled = false;
  pending.then(() => (settled = true));
  await sleep(0);
  assert.equal(settled, false, 'an empty stream does not close the reader');

  await h.world.writeToStream(n, r, 'later');
  const first = await within(pending, 5000, 'the write after open');
  assert.equal(first.done, false);
  assert.equal(dec.decode(first.value), 'later');

  await h.world.closeStream(n, r);
  const end = await within(reader.read(), 5000, 'close after open');
  assert.equal(end.done, true);
});

test('§8.133 readFromStream(n, 2) on 5 chunks yields chunks 2–4', async () => {
  const n = newStreamName();
  const r = newRunId();
  for (let i = 0; i < 5; i++) await h.world.writeToStream(n, r, `c${i}`);
  // Open stream: exactly chunks 2–4 arrive, nothing more.
  const reader = (await h.world.readFromStream(n, 2)).getReader();
  assert.deepEqual(texts(await readN(reader, 3)), ['c2', 'c3', 'c4']);
  await reader.cancel();
  // Closed stream: chunks 2–4, then the end.
  await h.world.closeStream(n, r);
  assert.deepEqual(texts(await readAll(await h.world.readFromStream(n, 2))), ['c2', 'c3', 'c4']);

  // A start beyond the data of an open stream waits for that index, skipping what comes before it.
  const m = newStreamName();
  await h.world.writeToStreamMulti(m, r, ['m0', 'm1']);
  const ahead = readAll(await h.world.readFromStream(m, 5), { timeoutMs: 10_000 });
  await sleep(100);
  await h.world.writeToStreamMulti(m, r, ['m2', 'm3', 'm4']);
  await h.world.writeToStream(m, r, 'm5');
  await h.world.writeToStream(m, r, 'm6');
  await h.world.closeStream(m, r);
  assert.deepEqual(texts(await ahead), ['m5', 'm6']);
});

test('§8.134 readFromStream(n, -3) on 10 closed chunks yields 7, 8, 9; a negative start is resolved once, at open', async () => {
  const n = newStreamName();
  const r = newRunId();
  await h.world.writeToStreamMulti(
    n,
    r,
    Array.from({ length: 10 }, (_, i) => `c${i}`),
  );

  // Open stream: -3 resolves to 7 once; chunks written afterwards follow 9, the start does not move.
  const reader = (await h.world.readFromStream(n, -3)).getReader();
  assert.deepEqual(texts(await readN(reader, 1)), ['c7']);
  await h.world.writeToStreamMulti(n, r, ['c10', 'c11', 'c12', 'c13']);
  assert.deepEqual(texts(await readN(reader, 6)), ['c8', 'c9', 'c10', 'c11', 'c12', 'c13']);
  await reader.cancel();

  const m = newStreamName();
  await h.world.writeToStreamMulti(
    m,
    r,
    Array.from({ length: 10 }, (_, i) => `c${i}`),
  );
  await h.world.closeStream(m, r);
  assert.deepEqual(texts(await readAll(await h.world.readFromStream(m, -3))), ['c7', 'c8', 'c9']);
});

test('§8.135 readFromStream(n, -20) on 5 chunks yields all 5', async () => {
  const n = newStreamName();
  const r = newRunId();
  for (let i = 0; i < 5; i++) await h.world.writeToStream(n, r, `c${i}`);
  const reader = (await h.world.readFromStream(n, -20)).getReader();
  assert.deepEqual(texts(await readN(reader, 5)), ['c0', 'c1', 'c2', 'c3', 'c4']);
  await reader.cancel();
  await h.world.closeStream(n, r);
  assert.deepEqual(texts(await readAll(await h.world.readFromStream(n, -20))), ['c0', 'c1', 'c2', 'c3', 'c4']);
});

test('§8.136 readFromStream(n, 5) and (REC) readFromStream(n, 9) on 5 closed chunks close with no data', async () => {
  const n = newStreamName();
  const r = newRunId();
  await h.world.writeToStreamMulti(n, r, ['c0', 'c1', 'c2', 'c3', 'c4']);
  await h.world.closeStream(n, r);
  assert.deepEqual(await readAll(await h.world.readFromStream(n, 5), { timeoutMs: 5000, label: 'start 5' }), []);
  assert.deepEqual(await readAll(await h.world.readFromStream(n, 9), { timeoutMs: 5000, label: 'start 9' }), []);
  // A closed stream with no data at all closes too, from any start.
  const e = newStreamName();
  await h.world.closeStream(e, r);
  assert.deepEqual(await readAll(await h.world.readFromStream(e), { timeoutMs: 5000, label: 'empty closed' }), []);
  assert.deepEqual(
    await readAll(await h.world.readFromStream(e, -3), { timeoutMs: 5000, label: 'empty closed, -3' }),
    [],
  );
});

test('§8.137 chunks written while a reader tails arrive in order, without duplicates, across the backlog/live boundary', async () => {
  const n = newStreamName();
  const r = newRunId();
  const total = 60;
  // 25 chunks of backlog, in segments of several sizes (page of 100 is crossed later).
  let i = 0;
  await h.world.writeToStreamMulti(
    n,
    r,
    Array.from({ length: 10 }, () => `c${i++}`),
  );
  while (i < 25) await h.world.writeToStream(n, r, `c${i++}`);

  const reading = readAll(await h.world.readFromStream(n), { timeoutMs: 30_000 });
  // Live writes with pauses of 0–300 ms, so the reader is caught both mid-poll and idle.
  const pauses = [0, 0, 5, 40, 0, 300, 0, 10, 120, 0];
  while (i < total) {
    if (i % 3 === 0) {
      await h.world.writeToStreamMulti(n, r, [`c${i}`, `c${i + 1}`]);
      i += 2;
    } else {
      await h.world.writeToStream(n, r, `c${i++}`);
    }
    await sleep(pauses[i % pauses.length]);
  }
  await h.world.closeStream(n, r);
  const got = texts(await reading);
  assert.deepEqual(
    got,
    Array.from({ length: total }, (_, k) => `c${k}`),
  );
});

test('§8.137 (live tail) a reader opened before the first write sees every chunk in order and ends on close', async () => {
  const n = newStreamName();
  const r = newRunId();
  const reading = readAll(await h.world.readFromStream(n), { timeoutMs: 30_000 });
  await sleep(350); // let the reader back off to its idle poll interval first
  const expected = [];
  for (let k = 0; k < 150; k++) {
    expected.push(`live-${k}`);
    await h.world.writeToStream(n, r, `live-${k}`);
    if (k % 50 === 49) await sleep(300);
  }
  await h.world.closeStream(n, r);
  assert.deepEqual(texts(await reading), expected);
});

test('§8.138 cancel() stops a tailing reader (no more D1 polling) and later writes do not error', async () => {
  const { w, counter } = await d1CountingWorld();
  const n = newStreamName();
  const r = newRunId();

  // A reader that has data and is tailing.
  const reader = (await w.readFromStream(n)).getReader();
  await h.world.writeToStream(n, r, 'x');
  assert.deepEqual(texts(await readN(reader, 1)), ['x']);
  const pending = reader.read();
  await sleep(50);
  await reader.cancel();
  const end = await within(pending, 2000, 'a read pending at cancel()');
  assert.equal(end.done, true, 'a read pending at cancel() resolves done');
  assert.equal((await reader.read()).done, true);

  await sleep(400); // longer than the largest poll interval (250 ms) plus one query
  counter.trips = 0;
  await sleep(800);
  assert.equal(counter.trips, 0, 'a cancelled reader does not poll D1 any more');

  // A reader cancelled while idle on an empty stream stops too.
  const idle = newStreamName();
  const idleReader = (await w.readFromStream(idle)).getReader();
  const idlePending = idleReader.read();
  await sleep(600);
  await idleReader.cancel();
  assert.equal((await within(idlePending, 2000, 'idle read at cancel()')).done, true);
  await sleep(400);
  counter.trips = 0;
  await sleep(800);
  assert.equal(counter.trips, 0, 'a cancelled idle reader does not poll D1 any more');

  // Writers are unaffected.
  await h.world.writeToStream(n, r, 'y');
  await h.world.writeToStreamMulti(n, r, ['z1', 'z2']);
  await h.world.writeToStream(idle, r, 'first');
  await h.world.closeStream(n, r);
  await h.world.closeStream(idle, r);
  assert.deepEqual(texts(await readAll(await h.world.readFromStream(n))), ['x', 'y', 'z1', 'z2']);
  assert.deepEqual(texts(await readAll(await h.world.readFromStream(idle))), ['first']);
});

// ---------------------------------------------------------------------------
// §6.1 empty chunks, writes after close

test('§8.139 a 0-byte chunk takes an index (tailIndex counts it) but readFromStream never emits it', async () => {
  const n = newStreamName();
  const r = newRunId();
  await h.world.writeToStream(n, r, 'a');
  await h.world.writeToStream(n, r, '');
  await h.world.writeToStream(n, r, new Uint8Array(0));
  await h.world.writeToStreamMulti(n, r, ['', 'b', new Uint8Array(0)]);
  await h.world.writeToStream(n, r, 'c');
  assert.deepEqual(await h.world.getStreamInfo(n, r), { tailIndex: 6, done: false });

  // A reader that is tailing skips empty chunks written live too.
  const reader = (await h.world.readFromStream(n)).getReader();
  assert.deepEqual(texts(await readN(reader, 3)), ['a', 'b', 'c']);
  await h.world.writeToStreamMulti(n, r, ['', '']);
  await h.world.writeToStream(n, r, 'd');
  assert.deepEqual(texts(await readN(reader, 1)), ['d']);
  await h.world.closeStream(n, r);
  assert.equal((await within(reader.read(), 5000, 'close')).done, true);

  assert.deepEqual(await h.world.getStreamInfo(n, r), { tailIndex: 9, done: true });
  // Indices stay absolute around the empty chunks (whether empties are listed is up to the World).
  const listed = (await h.world.getStreamChunks(n, r, { limit: 100 })).data.filter((c) => c.data.length > 0);
  assert.deepEqual(
    listed.map((c) => [c.index, dec.decode(c.data)]),
    [
      [0, 'a'],
      [4, 'b'],
      [6, 'c'],
      [9, 'd'],
    ],
  );
  // Start indices count the empty chunks: starting at 4 begins with 'b'.
  assert.deepEqual(texts(await readAll(await h.world.readFromStream(n, 4))), ['b', 'c', 'd']);
  // -1 resolves to index 9 ('d'); -4 to index 6 ('c').
  assert.deepEqual(texts(await readAll(await h.world.readFromStream(n, -4))), ['c', 'd']);
});

test('§8.140 after closeStream a write is accepted and stores nothing: nothing after the EOF is visible', async () => {
  const n = newStreamName();
  const r = newRunId();
  await h.world.writeToStream(n, r, 'kept');
  await h.world.closeStream(n, r);

  // A retried step that writes again must not fail (contract §6.1, as both references do).
  await h.world.writeToStream(n, r, 'late');
  await h.world.writeToStreamMulti(n, r, ['late1', 'late2']);
  await h.world.writeToStream(n, newRunId(), new Uint8Array([1]));
  // Closing again is a no-op.
  await h.world.closeStream(n, r);

  assert.deepEqual(await h.world.getStreamInfo(n, r), { tailIndex: 0, done: true });
  const page = await h.world.getStreamChunks(n, r);
  assert.deepEqual(
    page.data.map((c) => [c.index, dec.decode(c.data)]),
    [[0, 'kept']],
  );
  assert.equal(page.hasMore, false);
  assert.equal(page.cursor, null);
  assert.equal(page.done, true);
  assert.deepEqual(texts(await readAll(await h.world.readFromStream(n))), ['kept']);
  assert.deepEqual(texts(await readAll(await h.world.readFromStream(n, -5))), ['kept']);
  assert.deepEqual(await readAll(await h.world.readFromStream(n, 1), { timeoutMs: 5000 }), []);
  // Exactly one EOF row and one data row: nothing was stored by the refused writes or the second close.
  const rows = await segmentRows(n);
  assert.deepEqual(
    rows.map((s) => [s.first_index, s.chunk_count, s.eof]),
    [
      [0, 1, 0],
      [1, 0, 1],
    ],
  );
});

// ---------------------------------------------------------------------------
// §6.4 getStreamInfo, §6.3 getStreamChunks

test('§8.141 getStreamInfo: unknown {-1,false}; after 3 writes {2,false}; after close {2,true}', async () => {
  const n = newStreamName();
  const r = newRunId();
  assert.deepEqual(await h.world.getStreamInfo(n, r), { tailIndex: -1, done: false });
  await h.world.writeToStream(n, r, 'a');
  await h.world.writeToStream(n, r, 'b');
  await h.world.writeToStream(n, r, 'c');
  assert.deepEqual(await h.world.getStreamInfo(n, r), { tailIndex: 2, done: false });
  await h.world.closeStream(n, r);
  assert.deepEqual(await h.world.getStreamInfo(n, r), { tailIndex: 2, done: true });
  // The runId argument is ignored (stream names are global).
  assert.deepEqual(await h.world.getStreamInfo(n, 'wrun_other'), { tailIndex: 2, done: true });
  // A stream that is only closed: no data, done.
  const e = newStreamName();
  await h.world.closeStream(e, r);
  assert.deepEqual(await h.world.getStreamInfo(e, r), { tailIndex: -1, done: true });
});

test('§8.142 getStreamChunks limit 2 over 5 chunks: [0,1] and [2,3] with hasMore and a cursor, then [4] with cursor null', async () => {
  const n = newStreamName();
  const r = newRunId();
  for (let i = 0; i < 5; i++) await h.world.writeToStream(n, r, `c${i}`);
  const p1 = await h.world.getStreamChunks(n, r, { limit: 2 });
  assert.deepEqual(
    p1.data.map((c) => c.index),
    [0, 1],
  );
  assert.equal(p1.hasMore, true);
  assert.equal(typeof p1.cursor, 'string');
  const p2 = await h.world.getStreamChunks(n, r, { limit: 2, cursor: p1.cursor });
  assert.deepEqual(
    p2.data.map((c) => c.index),
    [2, 3],
  );
  assert.equal(p2.hasMore, true);
  assert.equal(typeof p2.cursor, 'string');
  assert.notEqual(p2.cursor, p1.cursor);
  const p3 = await h.world.getStreamChunks(n, r, { limit: 2, cursor: p2.cursor });
  assert.deepEqual(
    p3.data.map((c) => c.index),
    [4],
  );
  assert.equal(p3.hasMore, false);
  assert.equal(p3.cursor, null);
  for (const [page, want] of [
    [p1, ['c0', 'c1']],
    [p2, ['c2', 'c3']],
    [p3, ['c4']],
  ]) {
    assert.deepEqual(
      page.data.map((c) => dec.decode(c.data)),
      want,
    );
    for (const c of page.data) assert.ok(c.data instanceof Uint8Array);
    assert.equal(page.done, false);
  }
});

test('§8.143 (REC) getStreamChunks reports done:true on every page of a closed stream and done:false on an open one', async () => {
  const n = newStreamName();
  const r = newRunId();
  await h.world.writeToStreamMulti(
    n,
    r,
    Array.from({ length: 7 }, (_, i) => `c${i}`),
  );
  const open = await allPages(h.world, n, r, 3);
  assert.equal(open.length, 3);
  assert.deepEqual(
    open.map((p) => p.done),
    [false, false, false],
  );
  assert.deepEqual(
    open.map((p) => p.hasMore),
    [true, true, false],
  );

  await h.world.closeStream(n, r);
  const closed = await allPages(h.world, n, r, 3);
  assert.deepEqual(
    closed.map((p) => p.done),
    [true, true, true],
  );
  assert.deepEqual(
    closed.flatMap((p) => p.data.map((c) => c.index)),
    [0, 1, 2, 3, 4, 5, 6],
  );
  // Caught up on an open stream: done:false + hasMore:false (more may come).
  const m = newStreamName();
  const empty = await h.world.getStreamChunks(m, r);
  assert.deepEqual(empty, { data: [], cursor: null, hasMore: false, done: false });
});

test('§6.3 getStreamChunks pages 1,234 chunks across segment and page boundaries with absolute indices; default limit 100, >1000 clamped', async () => {
  const n = newStreamName();
  const r = newRunId();
  const all = [];
  // Segments of 1, 7, 250, 3, ... so page edges fall inside segments.
  const sizes = [1, 7, 250, 3, 500, 1, 40, 432];
  for (const size of sizes) {
    const chunk = Array.from({ length: size }, (_, k) => `c${all.length + k}`);
    all.push(...chunk);
    if (size === 1) await h.world.writeToStream(n, r, chunk[0]);
    else await h.world.writeToStreamMulti(n, r, chunk);
  }
  assert.equal(all.length, 1234);

  const byDefault = await h.world.getStreamChunks(n, r);
  assert.equal(byDefault.data.length, 100, 'default limit is 100');
  assert.equal(byDefault.hasMore, true);

  for (const limit of [4, 33, 100]) {
    const pages = await allPages(h.world, n, r, limit);
    const indices = pages.flatMap((p) => p.data.map((c) => c.index));
    assert.deepEqual(
      indices,
      all.map((_, k) => k),
      `limit ${limit}: every index once, in order`,
    );
    assert.deepEqual(
      pages.flatMap((p) => p.data.map((c) => dec.decode(c.data))),
      all,
      `limit ${limit}: data`,
    );
    assert.equal(pages.length, Math.ceil(1234 / limit));
    for (const p of pages.slice(0, -1)) assert.equal(p.data.length, limit);
  }

  const big = await h.world.getStreamChunks(n, r, { limit: 5000 });
  assert.equal(big.data.length, 1000, 'limit > 1000 is clamped to 1000');
  assert.equal(big.hasMore, true);
  const rest = await h.world.getStreamChunks(n, r, { limit: 1000, cursor: big.cursor });
  assert.deepEqual(
    rest.data.map((c) => c.index),
    Array.from({ length: 234 }, (_, k) => 1000 + k),
  );
  assert.equal(rest.hasMore, false);

  // A garbage cursor restarts at index 0.
  for (const cursor of ['garbage', 'c-5', '%%%', 'eyJpIjo1fQ==']) {
    const p = await h.world.getStreamChunks(n, r, { limit: 3, cursor });
    assert.deepEqual(
      p.data.map((c) => c.index),
      [0, 1, 2],
      `cursor ${JSON.stringify(cursor)}`,
    );
  }
});

// ---------------------------------------------------------------------------
// §6.5 listStreamsByRunId, §6 global names

test('§8.144 listStreamsByRunId lists every name written or closed under r exactly once; an unknown run gives []', async () => {
  const r = newRunId();
  const written = newStreamName('w');
  const multi = newStreamName('m');
  const closedOnly = newStreamName('c');
  await h.world.writeToStream(written, r, 'a');
  await h.world.writeToStream(written, r, 'b');
  await h.world.writeToStreamMulti(multi, r, ['a', 'b']);
  await h.world.closeStream(written, r);
  await h.world.closeStream(closedOnly, r);
  await h.world.writeToStream(newStreamName('other'), newRunId(), 'not r');
  const names = await h.world.listStreamsByRunId(r);
  assert.deepEqual([...names].sort(), [written, multi, closedOnly].sort());
  assert.equal(new Set(names).size, names.length, 'no duplicates');
  assert.deepEqual(await h.world.listStreamsByRunId(newRunId()), []);
});

test('§8.145 stream names are global: one name written under r1 and r2 is one stream, listed for both runs', async () => {
  const n = newStreamName();
  const r1 = newRunId();
  const r2 = newRunId();
  await h.world.writeToStream(n, r1, 'from-r1');
  await h.world.writeToStream(n, r2, 'from-r2');
  await h.world.writeToStream(n, r1, 'from-r1-again');
  assert.deepEqual(await h.world.getStreamInfo(n, r1), { tailIndex: 2, done: false });
  await h.world.closeStream(n, r2);
  assert.deepEqual(texts(await readAll(await h.world.readFromStream(n))), ['from-r1', 'from-r2', 'from-r1-again']);
  assert.deepEqual(
    (await h.world.getStreamChunks(n, r2)).data.map((c) => [c.index, dec.decode(c.data)]),
    [
      [0, 'from-r1'],
      [1, 'from-r2'],
      [2, 'from-r1-again'],
    ],
  );
  assert.ok((await h.world.listStreamsByRunId(r1)).includes(n));
  assert.ok((await h.world.listStreamsByRunId(r2)).includes(n));
});

// ---------------------------------------------------------------------------
// Payloads

test('§7.1 binary and string chunks round-trip byte-exact, including 0x00 bytes, UTF-8 text and Buffer', async () => {
  const n = newStreamName();
  const r = newRunId();
  const chunks = [
    'a\u0000b',
    new Uint8Array([0x00]),
    new Uint8Array([0x00, 0x00, 0x00]),
    new Uint8Array([0x00, 0xff, 0x80, 0x7f, 0x00, 0x01]),
    'é€😀 \u0000 end',
    Buffer.from([0xde, 0xad, 0x00, 0xbe, 0xef]),
    new Uint8Array(new Uint8Array([9, 9, 1, 2, 3, 9]).buffer, 2, 3), // a view into a larger buffer
    pattern(4096, 3),
  ];
  const expected = chunks.map((c) => (typeof c === 'string' ? utf8(c) : Uint8Array.from(c)));
  await h.world.writeToStreamMulti(n, r, chunks.slice(0, 4));
  for (const c of chunks.slice(4)) await h.world.writeToStream(n, r, c);
  await h.world.closeStream(n, r);

  const read = await readAll(await h.world.readFromStream(n));
  assert.equal(read.length, expected.length);
  read.forEach((c, i) => assertSameBytes(c, expected[i], `readFromStream chunk ${i}`));
  const page = await h.world.getStreamChunks(n, r);
  assert.deepEqual(
    page.data.map((c) => c.index),
    expected.map((_, i) => i),
  );
  page.data.forEach((c, i) => assertSameBytes(c.data, expected[i], `getStreamChunks chunk ${i}`));
  assert.equal(dec.decode(read[4]), 'é€😀 \u0000 end');
});

// ---------------------------------------------------------------------------
// Concurrency

test('§3.5/§6.1 concurrent awaited writers on one stream: dense, duplicate-free indices; each writer keeps its issue order', async () => {
  const n = newStreamName();
  const r = newRunId();
  const writers = 6;
  const perWriter = 20;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let k = 0; k < perWriter; k++) {
        if (k % 5 === 4) await h.world.writeToStreamMulti(n, r, [`w${w}-${k}a`, `w${w}-${k}b`]);
        else await h.world.writeToStream(n, r, `w${w}-${k}`);
      }
    }),
  );
  await h.world.closeStream(n, r);
  const perWriterTotal = perWriter + perWriter / 5; // every 5th write is 2 chunks
  const total = writers * perWriterTotal;
  const page = await h.world.getStreamChunks(n, r, { limit: 1000 });
  assert.deepEqual(
    page.data.map((c) => c.index),
    Array.from({ length: total }, (_, k) => k),
    'dense indices',
  );
  const got = page.data.map((c) => dec.decode(c.data));
  assert.equal(new Set(got).size, total, 'no duplicates');
  for (let w = 0; w < writers; w++) {
    const mine = got.filter((s) => s.startsWith(`w${w}-`));
    const want = [];
    for (let k = 0; k < perWriter; k++) {
      if (k % 5 === 4) want.push(`w${w}-${k}a`, `w${w}-${k}b`);
      else want.push(`w${w}-${k}`);
    }
    assert.deepEqual(mine, want, `writer ${w} order`);
    // A multi write's chunks are adjacent (atomic segment).
    for (let k = 4; k < perWriter; k += 5) {
      const at = got.indexOf(`w${w}-${k}a`);
      assert.equal(got[at + 1], `w${w}-${k}b`, `writer ${w} multi write ${k} is contiguous`);
    }
  }
  assert.deepEqual(texts(await readAll(await h.world.readFromStream(n))), got, 'the reader sees the same order');
});

test('§3.5/§6.1 un-awaited parallel writes (Promise.all) on one stream and on separate streams: every chunk once, dense indices', async () => {
  const r = newRunId();
  const n = newStreamName();
  const count = 40;
  await Promise.all(Array.from({ length: count }, (_, k) => h.world.writeToStream(n, r, `p${k}`)));
  const page = await h.world.getStreamChunks(n, r, { limit: 1000 });
  assert.deepEqual(
    page.data.map((c) => c.index),
    Array.from({ length: count }, (_, k) => k),
  );
  assert.deepEqual(
    page.data.map((c) => dec.decode(c.data)).sort(),
    Array.from({ length: count }, (_, k) => `p${k}`).sort(),
  );

  // Separate streams, written in parallel, each by a sequential writer plus parallel bursts.
  const names = Array.from({ length: 8 }, (_, s) => newStreamName(`par${s}`));
  await Promise.all(
    names.map(async (name, s) => {
      for (let k = 0; k < 15; k++) await h.world.writeToStream(name, r, `${s}:${k}`);
    }),
  );
  await Promise.all(
    names.flatMap((name, s) => Array.from({ length: 5 }, (_, k) => h.world.writeToStream(name, r, `${s}:burst${k}`))),
  );
  await Promise.all(names.map((name) => h.world.closeStream(name, r)));
  for (const [s, name] of names.entries()) {
    const got = await h.world.getStreamChunks(name, r, { limit: 1000 });
    assert.deepEqual(
      got.data.map((c) => c.index),
      Array.from({ length: 20 }, (_, k) => k),
      `stream ${s} dense`,
    );
    const data = got.data.map((c) => dec.decode(c.data));
    assert.deepEqual(
      data.slice(0, 15),
      Array.from({ length: 15 }, (_, k) => `${s}:${k}`),
      `stream ${s} sequential part in order`,
    );
    assert.deepEqual(
      data.slice(15).sort(),
      Array.from({ length: 5 }, (_, k) => `${s}:burst${k}`),
      `stream ${s} burst, each once`,
    );
    assert.equal(got.done, true);
  }
  const listed = await h.world.listStreamsByRunId(r);
  assert.deepEqual([...listed].sort(), [n, ...names].sort());
});

test('§6.1 1,000 chunks written by a tight loop of awaited writeToStream read back complete and in order', async () => {
  const n = newStreamName();
  const r = newRunId();
  const { w, cb } = await r2CountingWorld();
  const expected = Array.from({ length: 1000 }, (_, k) => `chunk-${String(k).padStart(4, '0')}`);
  for (const c of expected) await w.writeToStream(n, r, c);
  await w.closeStream(n, r);
  assert.equal(cb.ops.A, 0, 'small chunks cost no R2 operation');
  assert.deepEqual(await w.getStreamInfo(n, r), { tailIndex: 999, done: true });
  assert.deepEqual(texts(await readAll(await w.readFromStream(n), { timeoutMs: 30_000 })), expected);
  const page = await w.getStreamChunks(n, r, { limit: 1000 });
  assert.deepEqual(
    page.data.map((c) => c.index),
    expected.map((_, k) => k),
  );
  assert.deepEqual(texts(page.data.map((c) => c.data)), expected);
  assert.equal(page.hasMore, false);
  assert.equal(cb.ops.B, 0, 'reading inline segments costs no R2 operation');
});

// ---------------------------------------------------------------------------
// Large segments in R2

test('§7.1 a writeToStreamMulti of 3 × 60 KiB (180 KiB segment) is one R2 PUT and round-trips byte-exact with boundaries intact', async () => {
  const { w, cb } = await r2CountingWorld();
  const n = newStreamName();
  const r = newRunId();
  const parts = [pattern(60 * KiB, 1), pattern(60 * KiB, 2), pattern(60 * KiB, 3)];
  cb.reset();
  h.roundTrips.reset();
  await w.writeToStreamMulti(n, r, parts);
  assert.deepEqual(
    cb.ops.calls.map(([m]) => m),
    ['put'],
    'exactly one R2 operation: a PUT',
  );
  assert.equal(cb.ops.A, 1);
  assert.equal(h.roundTrips.count, 1, 'still one D1 round trip');
  const rows = await segmentRows(n);
  assert.equal(rows.length, 1);
  assert.equal(typeof rows[0].object_key, 'string', 'the segment lives in R2');
  assert.equal(rows[0].no_inline, 1, 'no inline bytes in D1');
  assert.equal(rows[0].chunk_count, 3);
  const object = await h.env.STREAM_BUCKET.get(rows[0].object_key);
  assert.ok(object, 'the R2 object exists');
  assert.equal((await object.arrayBuffer()).byteLength, 180 * KiB);

  await w.writeToStream(n, r, 'small-after');
  await w.closeStream(n, r);

  cb.reset();
  const read = await readAll(await w.readFromStream(n));
  assert.equal(read.length, 4);
  parts.forEach((p, i) => assertSameBytes(read[i], p, `chunk ${i}`));
  assert.equal(dec.decode(read[3]), 'small-after');
  assert.ok(cb.ops.B >= 1 && cb.ops.A === 0, `reading costs Class B only (A ${cb.ops.A}, B ${cb.ops.B})`);

  // Starting inside the R2 segment, and paging through it one chunk at a time.
  const fromOne = await readAll(await w.readFromStream(n, 1));
  assertSameBytes(fromOne[0], parts[1], 'start 1 → chunk 1');
  assertSameBytes(fromOne[1], parts[2], 'start 1 → chunk 2');
  const pages = await allPages(w, n, r, 1);
  assert.deepEqual(
    pages.map((p) => p.data.map((c) => c.index)),
    [[0], [1], [2], [3]],
  );
  parts.forEach((p, i) => assertSameBytes(pages[i].data[0].data, p, `page ${i}`));
  const two = await allPages(w, n, r, 2);
  assert.deepEqual(
    two.map((p) => p.data.map((c) => c.index)),
    [
      [0, 1],
      [2, 3],
    ],
  );
  assertSameBytes(two[1].data[0].data, parts[2], 'page 2 starts in the middle of the R2 segment');
});

test('§7.1 a single 300 KiB chunk is one R2 PUT and round-trips byte-exact; the 128 KiB boundary is inline, 128 KiB + 1 is R2', async () => {
  const { w, cb } = await r2CountingWorld();
  const n = newStreamName();
  const r = newRunId();
  const big = pattern(300 * KiB, 7);
  const atLimit = pattern(INLINE_LIMIT, 8);
  const overLimit = pattern(INLINE_LIMIT + 1, 9);
  const splitOver = [pattern(INLINE_LIMIT - 10, 10), pattern(11, 11)]; // two chunks, 128 KiB + 1 together

  /** The R2 operations `write` made. */
  const r2Calls = async (write) => {
    cb.reset();
    await write();
    return cb.ops.calls.map(([m]) => m);
  };
  assert.deepEqual(await r2Calls(() => w.writeToStream(n, r, big)), ['put']);
  assert.deepEqual(
    await r2Calls(() => w.writeToStream(n, r, atLimit)),
    [],
    'a segment of exactly 128 KiB stays inline',
  );
  assert.deepEqual(await r2Calls(() => w.writeToStream(n, r, overLimit)), ['put'], '128 KiB + 1 goes to R2');
  assert.deepEqual(
    await r2Calls(() => w.writeToStreamMulti(n, r, splitOver)),
    ['put'],
    'the segment size counts, not the chunk size',
  );
  await w.closeStream(n, r);

  const rows = (await segmentRows(n)).filter((s) => !s.eof);
  assert.deepEqual(
    rows.map((s) => [s.first_index, s.chunk_count, s.object_key === null ? 'inline' : 'r2']),
    [
      [0, 1, 'r2'],
      [1, 1, 'inline'],
      [2, 1, 'r2'],
      [3, 2, 'r2'],
    ],
  );
  assert.equal(rows[1].inline_bytes, INLINE_LIMIT);

  const expected = [big, atLimit, overLimit, ...splitOver];
  const read = await readAll(await w.readFromStream(n));
  assert.equal(read.length, expected.length);
  expected.forEach((e, i) => assertSameBytes(read[i], e, `chunk ${i}`));
  const pages = await allPages(w, n, r, 2);
  const listed = pages.flatMap((p) => p.data);
  assert.deepEqual(
    listed.map((c) => c.index),
    [0, 1, 2, 3, 4],
  );
  expected.forEach((e, i) => assertSameBytes(listed[i].data, e, `page chunk ${i}`));
});

// ---------------------------------------------------------------------------
// Bad input: named errors, nothing half-stored

test('§8.140 a write to a closed stream stores nothing: a large one leaves no R2 object; the late run is not recorded', async () => {
  const { w, cb } = await r2CountingWorld();
  const n = newStreamName();
  const r = newRunId();
  await w.writeToStream(n, r, 'only');
  await w.closeStream(n, r);
  const before = await segmentRows(n);

  const stranger = newRunId(); // a run that never wrote or closed n before the EOF
  cb.reset();
  await w.writeToStream(n, stranger, pattern(200 * KiB, 5));
  const puts = cb.ops.calls.filter(([m]) => m === 'put').map(([, k]) => k);
  const deletes = cb.ops.calls.filter(([m]) => m === 'delete').map(([, k]) => k);
  assert.deepEqual(deletes, puts, 'every object PUT for the unstored segment is deleted');
  for (const key of puts) assert.equal(await h.env.STREAM_BUCKET.head(key), null, `${key} is gone from R2`);
  await w.writeToStreamMulti(n, stranger, ['x', 'y']);

  assert.deepEqual(await segmentRows(n), before, 'no segment row was added');
  assert.deepEqual(await w.getStreamInfo(n, r), { tailIndex: 0, done: true });
  assert.deepEqual(texts(await readAll(await w.readFromStream(n))), ['only']);
  assert.deepEqual(await w.listStreamsByRunId(stranger), [], 'an unstored write records no run → stream association');
});

test('§8.140 race: writes concurrent with closeStream all succeed; exactly those committed before the EOF are visible', async () => {
  const { w, cb } = await r2CountingWorld();
  const mix = [];
  for (let trial = 0; trial < 5; trial++) {
    const n = newStreamName(`race${trial}`);
    const r = newRunId();
    await w.writeToStream(n, r, 'first');
    cb.reset();
    const writes = Array.from({ length: 12 }, (_, k) =>
      k === 5
        ? w.writeToStream(n, r, pattern(140 * KiB, k)) // one large (R2) write in the race
        : w.writeToStream(n, r, `w${k}`),
    );
    const closing = w.closeStream(n, r);
    const outcomes = await Promise.allSettled(writes);
    await closing;
    for (const [k, o] of outcomes.entries()) assert.equal(o.status, 'fulfilled', `write ${k}: ${o.reason}`);
    const page = await w.getStreamChunks(n, r, { limit: 1000 });
    assert.equal(page.done, true);
    const seen = page.data.slice(1).map((c) => (c.data.length > 1000 ? 5 : Number(dec.decode(c.data).slice(1))));
    const landed = [...seen].sort((a, b) => a - b);
    assert.deepEqual([...new Set(landed)], landed, `trial ${trial}: no write is visible twice`);
    assert.ok(
      landed.every((k) => k >= 0 && k < writes.length),
      `trial ${trial}: only the race's writes are visible`,
    );
    mix.push(`${landed.length}/${writes.length}${landed.includes(5) ? ' (R2 write landed)' : ''}`);
    assert.deepEqual(
      page.data.map((c) => c.index),
      Array.from({ length: landed.length + 1 }, (_, i) => i),
    );
    // A large write that landed after the EOF leaves no R2 object behind.
    const puts = cb.ops.calls.filter(([m]) => m === 'put').map(([, k]) => k);
    const deletes = new Set(cb.ops.calls.filter(([m]) => m === 'delete').map(([, k]) => k));
    for (const key of puts) {
      const kept = (await h.env.STREAM_BUCKET.head(key)) !== null;
      assert.equal(kept, landed.includes(5), `R2 object ${key} kept iff its write is visible`);
      assert.equal(deletes.has(key), !landed.includes(5));
    }
  }
  console.log(`write/close race, writes visible per trial: ${mix.join(', ')}`);
});

test('bad input: a chunk that is not a string or Uint8Array is refused (400 INVALID_CHUNK) before any I/O; nothing is stored', async () => {
  const n = newStreamName();
  const r = newRunId();
  const bad = [42, null, undefined, {}, [1, 2], true, new ArrayBuffer(2), new Uint16Array([1]), { length: 1, 0: 1 }];
  for (const chunk of bad) {
    h.roundTrips.reset();
    const err = await expectStreamError(() => h.world.writeToStream(n, r, chunk), {
      status: 400,
      code: 'INVALID_CHUNK',
    });
    assert.match(err.message, /string or a Uint8Array/);
    assert.equal(h.roundTrips.count, 0, `no D1 round trip for ${Object.prototype.toString.call(chunk)}`);
  }
  // One bad chunk in a multi write refuses the whole write.
  h.roundTrips.reset();
  const err = await expectStreamError(() => h.world.writeToStreamMulti(n, r, ['ok', new Uint8Array([1]), 42, 'ok2']), {
    status: 400,
    code: 'INVALID_CHUNK',
  });
  assert.match(err.message, /#2/, 'the error names the bad chunk');
  assert.equal(h.roundTrips.count, 0);
  assert.deepEqual(await h.world.getStreamInfo(n, r), { tailIndex: -1, done: false });
  assert.deepEqual(await h.world.listStreamsByRunId(r), []);
  assert.deepEqual(await segmentRows(n), []);
  // The stream is still usable.
  await h.world.writeToStream(n, r, 'fine');
  assert.deepEqual(await h.world.getStreamInfo(n, r), { tailIndex: 0, done: false });
});

test('bad input: an empty stream name is refused (400 INVALID_STREAM) by write, multi write and close; nothing is stored', async () => {
  const r = newRunId();
  await expectStreamError(() => h.world.writeToStream('', r, 'a'), { status: 400, code: 'INVALID_STREAM' });
  await expectStreamError(() => h.world.writeToStreamMulti('', r, ['a']), { status: 400, code: 'INVALID_STREAM' });
  await expectStreamError(() => h.world.closeStream('', r), { status: 400, code: 'INVALID_STREAM' });
  assert.deepEqual(await h.world.listStreamsByRunId(r), []);
  assert.deepEqual(await segmentRows(''), []);
});

test('bad input: getStreamChunks with limit < 1 or not an integer is refused (400 INVALID_PAGINATION); 1000 is accepted', async () => {
  const n = newStreamName();
  const r = newRunId();
  await h.world.writeToStreamMulti(n, r, ['a', 'b', 'c']);
  for (const limit of [0, -1, -1000, 1.5, 0.5, Number.NaN]) {
    const err = await expectStreamError(() => h.world.getStreamChunks(n, r, { limit }), {
      status: 400,
      code: 'INVALID_PAGINATION',
    });
    assert.match(err.message, /limit/);
  }
  const ok = await h.world.getStreamChunks(n, r, { limit: 1000 });
  assert.deepEqual(
    ok.data.map((c) => c.index),
    [0, 1, 2],
  );
  const one = await h.world.getStreamChunks(n, r, { limit: 1 });
  assert.deepEqual(
    one.data.map((c) => c.index),
    [0],
  );
  assert.equal(one.hasMore, true);
  const noOptions = await h.world.getStreamChunks(n, r);
  assert.equal(noOptions.data.length, 3);
  assert.deepEqual(await h.world.getStreamInfo(n, r), { tailIndex: 2, done: false }, 'bad reads change nothing');
});
