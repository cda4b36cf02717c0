// The Streamer of the World (contract §6). Storage, indexing and the reading rules are in
// Rust (src/stream); this file adds what only JS has: the ReadableStream that tails a
// stream, and its polling timer.

/** Tail polling: first wait after an empty read, and cap (ms); the wait doubles between. */
const POLL_MIN_MS = 10;
const POLL_MAX_MS = 250;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A live reader: everything from `startIndex`, then new chunks as they are written, until
 * the stream is closed. It polls D1 with a backoff that resets whenever data arrives.
 *
 * @param {import('../pkg/world_cloudflare.js').World} core
 * @param {string} name
 * @param {number} startIndex
 */
function tail(core, name, startIndex) {
  let next = startIndex;
  let wait = POLL_MIN_MS;
  let cancelled = false;
  return new ReadableStream({
    async pull(controller) {
      while (!cancelled) {
        const page = await core.streamTail(name, next);
        next = page.next;
        for (const chunk of page.chunks) controller.enqueue(chunk);
        if (page.done) {
          controller.close();
          return;
        }
        if (page.chunks.length > 0) {
          wait = POLL_MIN_MS;
          return;
        }
        await sleep(wait);
        wait = Math.min(POLL_MAX_MS, wait * 2);
      }
    },
    cancel() {
      cancelled = true;
    },
  });
}

/**
 * The Streamer members of the World.
 *
 * @param {import('../pkg/world_cloudflare.js').World} core
 */
export function createStreamer(core) {
  return {
    writeToStream: (name, runId, chunk) => core.streamWrite(name, runId, [chunk]),
    writeToStreamMulti: (name, runId, chunks) => core.streamWrite(name, runId, chunks),
    closeStream: (name, runId) => core.streamClose(name, runId),
    readFromStream: async (name, startIndex = 0) => tail(core, name, startIndex),
    listStreamsByRunId: (runId) => core.listStreams(runId),
    getStreamChunks: (name, _runId, options) => core.streamChunks(name, options),
    getStreamInfo: (name, _runId) => core.streamInfo(name),
  };
}
