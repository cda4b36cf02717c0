// Measurements of the Streamer (README "Streams"), against real D1 and R2 in local workerd:
//   (a) what 1,000 small chunks written one by one cost: R2 Class A/B operations and D1
//       round trips (write, then a full read);
//   (b) how long a chunk takes to reach a live reader that polls D1 (10 → 250 ms backoff).
// Prints a table; asserts only the cost bound and a loose latency sanity bound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWorld } from '../../js/node.js';
import { countingD1, newCounts } from '../support/counting.mjs';
import { useHarness } from '../support/harness.mjs';
import { sleep } from '../support/storage.mjs';
import { countingBucket, dec, newRunId, newStreamName, readAll, stats } from '../support/streams.mjs';

const CHUNKS = 1000;
const LIVE_CHUNKS = 200;

let bucket;
let counter;
let world;
const rows = [];
const h = useHarness({
  world: false,
  setup: (h) => {
    bucket = countingBucket(h.env.STREAM_BUCKET);
    counter = newCounts().d1;
    world = createWorld({ ...h.env, DB: countingD1(h.env.DB, counter), STREAM_BUCKET: bucket.bucket });
  },
  teardown: () => {
    if (!rows.length) return;
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(`\nStreamer measurements (local workerd, real D1 + R2)\n${'-'.repeat(width + 16)}`);
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  },
});

test('measure: 1,000 chunks by a tight loop of awaited writeToStream use ≤ 20 R2 Class A operations (≤ 1 per 50 chunks)', async () => {
  const n = newStreamName('measure');
  const r = newRunId();
  bucket.reset();
  counter.trips = 0;
  const t0 = performance.now();
  for (let k = 0; k < CHUNKS; k++) await world.writeToStream(n, r, `chunk ${k} ${'x'.repeat(40)}`);
  await world.closeStream(n, r);
  const writeMs = performance.now() - t0;
  const writeTrips = counter.trips;
  const writeA = bucket.ops.A;
  const writeB = bucket.ops.B;

  // Baseline: what one trivial D1 round trip from this process costs on this machine.
  const t2 = performance.now();
  for (let k = 0; k < 50; k++) await h.env.DB.batch([h.env.DB.prepare('SELECT 1')]);
  const baselineMs = (performance.now() - t2) / 50;
  // ... and one trivial 1-row write (a row of a fake run, replaced in place).
  const t3 = performance.now();
  for (let k = 0; k < 50; k++) {
    await h.env.DB.batch([
      h.env.DB.prepare('INSERT OR REPLACE INTO stream_runs (run_id, stream_name, created_at) VALUES (?, ?, ?)').bind(
        'wrun_measure_baseline',
        'baseline',
        k,
      ),
    ]);
  }
  const baselineWriteMs = (performance.now() - t3) / 50;

  counter.trips = 0;
  bucket.reset();
  const t1 = performance.now();
  const read = await readAll(await world.readFromStream(n), { timeoutMs: 30_000 });
  const readMs = performance.now() - t1;
  assert.equal(read.length, CHUNKS);
  assert.equal(dec.decode(read[CHUNKS - 1]).split(' ')[1], String(CHUNKS - 1));

  rows.push(
    ['chunks written (writeToStream, awaited loop)', String(CHUNKS)],
    ['R2 Class A ops (write + close)', String(writeA)],
    ['R2 Class B ops (write + close)', String(writeB)],
    ['D1 round trips (write + close)', `${writeTrips} (${(writeTrips / CHUNKS).toFixed(3)} per chunk)`],
    ['write time', `${writeMs.toFixed(0)} ms (${(writeMs / CHUNKS).toFixed(2)} ms per chunk)`],
    ['baseline: one trivial D1 batch (SELECT 1)', `${baselineMs.toFixed(2)} ms`],
    ['baseline: one 1-row D1 write batch', `${baselineWriteMs.toFixed(2)} ms`],
    ['D1 round trips (read all back)', String(counter.trips)],
    ['R2 ops (read all back)', `A ${bucket.ops.A}, B ${bucket.ops.B}`],
    ['read time', `${readMs.toFixed(0)} ms`],
  );
  assert.ok(writeA <= CHUNKS / 50, `R2 Class A ops ${writeA}, want ≤ ${CHUNKS / 50}`);
  assert.ok(writeTrips <= CHUNKS + 1, `D1 round trips ${writeTrips}, want ≤ 1 per write`);
});

test('measure: live-reader latency of chunks written while a reader tails', async () => {
  const n = newStreamName('latency');
  const r = newRunId();
  const arrivals = [];
  const stream = await world.readFromStream(n);
  const reading = (async () => {
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      const now = performance.now();
      const { k, sentAt, gapBefore } = JSON.parse(dec.decode(value));
      arrivals.push({ k, latency: now - sentAt, gapBefore });
    }
  })();
  await sleep(400); // the reader is idle at its 250 ms poll interval when the first chunk comes

  // Mostly back-to-back writes, with a pause before every 20th chunk (the reader backs off).
  counter.trips = 0;
  const t0 = performance.now();
  for (let k = 0; k < LIVE_CHUNKS; k++) {
    const gapBefore = k % 20 === 0 ? 300 : k % 3 === 0 ? 20 : 0;
    if (gapBefore) await sleep(gapBefore);
    await world.writeToStream(n, r, JSON.stringify({ k, sentAt: performance.now(), gapBefore }));
  }
  await world.closeStream(n, r);
  await Promise.race([reading, sleep(20_000).then(() => assert.fail('the live reader did not close'))]);
  const elapsed = performance.now() - t0;

  assert.deepEqual(
    arrivals.map((a) => a.k),
    Array.from({ length: LIVE_CHUNKS }, (_, k) => k),
    'every chunk once, in order',
  );
  const all = stats(arrivals.map((a) => a.latency));
  const afterIdle = stats(arrivals.filter((a) => a.gapBefore >= 300).map((a) => a.latency));
  const busy = stats(arrivals.filter((a) => a.gapBefore === 0).map((a) => a.latency));
  const fmt = (s) => `median ${s.median.toFixed(1)}  p90 ${s.p90.toFixed(1)}  max ${s.max.toFixed(1)} ms (n=${s.n})`;
  rows.push(
    ['live latency, all chunks', fmt(all)],
    ['live latency, back-to-back writes', fmt(busy)],
    ['live latency, first chunk after a 300 ms pause', fmt(afterIdle)],
    ['D1 round trips during the live test (writer + reader)', `${counter.trips} over ${elapsed.toFixed(0)} ms`],
  );
  assert.ok(all.median < 2000, `median live latency ${all.median} ms`);
});

/** Size of what a D1 batch returned: bytes of BLOB/text values (BLOBs may arrive as arrays). */
function resultBytes(results) {
  let n = 0;
  for (const r of results ?? []) {
    for (const row of r?.results ?? []) {
      for (const v of Object.values(row)) {
        if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) n += v.byteLength;
        else if (Array.isArray(v)) n += v.length;
        else if (typeof v === 'string') n += v.length;
        else n += 8;
      }
    }
  }
  return n;
}

test('measure: what an idle live reader reads from D1 per poll', async () => {
  const meter = { trips: 0, bytes: 0 };
  const metered = new Proxy(h.env.DB, {
    get(target, prop) {
      if (prop === 'batch') {
        return async (statements, ...rest) => {
          const res = await target.batch(statements, ...rest);
          meter.trips++;
          meter.bytes += resultBytes(res);
          return res;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const reading = await createWorld({ ...h.env, DB: metered });
  const r = newRunId();
  const perPoll = {};
  for (const [label, last] of [
    ['newest segment 10 B', 'x'.repeat(10)],
    ['newest segment 100 KiB (inline)', 'x'.repeat(100 * 1024)],
  ]) {
    const n = newStreamName('idle');
    await world.writeToStream(n, r, last);
    const reader = (await reading.readFromStream(n, 1)).getReader(); // caught up: nothing to emit
    const pending = reader.read();
    await sleep(600); // past the backoff ramp
    meter.trips = 0;
    meter.bytes = 0;
    await sleep(2000);
    const { trips, bytes } = meter;
    await reader.cancel();
    await pending;
    perPoll[label] = { trips, bytesPerPoll: trips ? bytes / trips : 0 };
    rows.push([
      `idle reader, ${label}`,
      `${trips} polls in 2 s, ${(trips ? bytes / trips / 1024 : 0).toFixed(1)} KiB returned per poll`,
    ]);
  }
  assert.ok(perPoll['newest segment 10 B'].trips > 0, 'an idle reader keeps polling');
});
