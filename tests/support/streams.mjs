// Shared fixtures for the Streamer tests (contract §6, checklist §8.130–145):
// stream/run names, byte helpers, a ReadableStream collector that fails instead of
// hanging, and an R2 binding wrapper that counts Class A / Class B operations.

import assert from 'node:assert/strict';
import { countingBucket as countR2 } from './counting.mjs';
import { newRunId, uniqueName } from './storage.mjs';

export { newRunId };

export const enc = new TextEncoder();
export const dec = new TextDecoder();

/** A fresh stream name (stream names are global, §6). */
export const newStreamName = (tag = 's') => uniqueName(`strm_${tag}`);

/** Bytes of a string chunk as the World stores it (UTF-8). */
export const utf8 = (s) => enc.encode(s);

/** `n` bytes derived from `seed`, including 0x00 and 0xFF, so boundaries and offsets show. */
export function pattern(n, seed) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff;
  out[0] = 0x00;
  if (n > 1) out[n - 1] = 0xff;
  return out;
}

export const hex = (bytes) => Buffer.from(bytes).toString('hex');

/** Asserts that `actual` is a Uint8Array with exactly the bytes of `expected` (fast for large ones). */
export function assertSameBytes(actual, expected, message = 'bytes') {
  assert.ok(
    actual instanceof Uint8Array,
    `${message}: expected a Uint8Array, got ${Object.prototype.toString.call(actual)}`,
  );
  assert.equal(actual.length, expected.length, `${message}: length ${actual.length}, want ${expected.length}`);
  assert.ok(Buffer.from(actual).equals(Buffer.from(expected)), `${message}: bytes differ`);
}

/** Resolves with `promise`, or rejects with an assertion error after `ms`. */
export function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new assert.AssertionError({ message: `${what}: nothing after ${ms} ms` })), ms);
    }),
  ]);
}

/**
 * Reads `readable` to its end. Fails (and cancels the reader) if it has not closed
 * within `timeoutMs`, so a reader that hangs is a failing test, not a stuck suite.
 */
export async function readAll(readable, { timeoutMs = 15_000, label = 'reader' } = {}) {
  const reader = readable.getReader();
  const out = [];
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const left = Math.max(1, deadline - Date.now());
      const r = await within(
        reader.read(),
        left,
        `${label} did not close within ${timeoutMs} ms (after ${out.length} chunks)`,
      );
      if (r.done) return out;
      out.push(r.value);
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  }
}

/** Reads exactly `n` values from `reader` (fails if it closes early or stalls). */
export async function readN(reader, n, { timeoutMs = 15_000, label = 'reader' } = {}) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const r = await within(reader.read(), timeoutMs, `${label} stalled after ${out.length} of ${n} chunks`);
    assert.equal(r.done, false, `${label} closed after ${out.length} of ${n} chunks`);
    out.push(r.value);
  }
  return out;
}

/** Every page of `getStreamChunks` with `limit`, following cursors. */
export async function allPages(world, name, runId, limit) {
  const pages = [];
  let cursor;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = await world.getStreamChunks(name, runId, { limit, ...(cursor ? { cursor } : {}) });
    pages.push(page);
    if (!page.hasMore) return pages;
    assert.equal(typeof page.cursor, 'string', 'a page with hasMore has a cursor');
    cursor = page.cursor;
  }
  throw new Error('getStreamChunks never ended');
}

/** An R2 bucket whose operations are counted by class and logged (`ops.calls`). */
export function countingBucket(real) {
  const ops = { A: 0, B: 0, calls: [] };
  return {
    bucket: countR2(real, ops),
    ops,
    reset() {
      ops.A = 0;
      ops.B = 0;
      ops.calls.length = 0;
    },
  };
}

/** Summary statistics of a list of numbers (ms). */
export function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))];
  return {
    n: sorted.length,
    median: at(0.5),
    p90: at(0.9),
    max: sorted[sorted.length - 1],
    min: sorted[0],
  };
}
