// The Streamer of the World (contract §6). Storage and indexing are in Rust
// (src/stream); this file adds what only JS has: the ReadableStream that tails a stream.
import * as core from '../pkg/world_cloudflare.js';
import { BINDINGS } from './env.js';

/** Chunks asked for per read while tailing. */
const READ_PAGE = 100;
/** Tail polling: first wait after an empty read, growth factor, and cap (ms). */
const POLL_MIN_MS = 10;
const POLL_MAX_MS = 250;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A live reader: everything from `startIndex`, then new chunks as they are written, until
 * the stream is closed. It polls D1 with a backoff that resets whenever data arrives.
 */
function tail(bindings, name, startIndex) {
  let next;
  let wait = POLL_MIN_MS;
  let cancelled = false;
  return new ReadableStream({
    async pull(controller) {
      if (next === undefined) {
        // A negative start counts back from the end as it is now, once (contract §6.2).
        next = startIndex >= 0 ? startIndex : Math.max(0, (await core.streamInfo(bindings, name)).tailIndex + 1 + startIndex);
      }
      while (!cancelled) {
        const read = await core.streamRead(bindings, name, next, READ_PAGE);
        let emitted = false;
        for (const { index, data } of read.chunks) {
          next = index + 1;
          // Empty chunks take an index but are never emitted (contract §6.1).
          if (data.length > 0) {
            controller.enqueue(data);
            emitted = true;
          }
        }
        if (read.done && next >= read.count) {
          controller.close();
          return;
        }
        if (emitted) {
          wait = POLL_MIN_MS;
          return;
        }
        if (read.chunks.length > 0) continue;
        await sleep(wait);
        wait = Math.min(POLL_MAX_MS, wait * 2);
      }
    },
    cancel() {
      cancelled = true;
    },
  });
}

/** The Streamer members of the World for `env`. */
export function createStreamer(env) {
  const bindings = () => ({ db: env[BINDINGS.db], bucket: env[BINDINGS.streamBucket] });
  return {
    writeToStream: (name, runId, chunk) => core.streamWrite(bindings(), name, runId, [chunk]),
    writeToStreamMulti: (name, runId, chunks) => core.streamWrite(bindings(), name, runId, chunks),
    closeStream: (name, runId) => core.streamClose(bindings(), name, runId),
    readFromStream: async (name, startIndex = 0) => tail(bindings(), name, startIndex),
    listStreamsByRunId: (runId) => core.listStreams(bindings(), runId),
    getStreamChunks: (name, _runId, options) => core.streamChunks(bindings(), name, options),
    getStreamInfo: (name, _runId) => core.streamInfo(bindings(), name),
  };
}
