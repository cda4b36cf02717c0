// The Streamer of the World (contract §6). Storage, indexing and the reading rules are in
// Rust (crates/core/src/stream); this file adds what only JS has: the ReadableStream that tails a
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
 * @param {string} [runId] the run id, on the workflow 5 line: checked against `name` for swapped arguments
 */
function tail(core, name, startIndex, runId) {
  let next = startIndex;
  let wait = POLL_MIN_MS;
  let cancelled = false;
  return new ReadableStream({
    async pull(controller) {
      while (!cancelled) {
        const page = await core.streamTail(name, next, runId);
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
 * The 4.x Streamer members of the World (name first).
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

/**
 * `world.streams` of the 5.x World (run id first, world-contract-v5 §2.4); the core
 * refuses arguments that look swapped.
 *
 * @param {import('../pkg/world_cloudflare.js').World} core
 */
export function createStreams(core) {
  return {
    write: (runId, name, chunk) => core.streamWrite(name, runId, [chunk]),
    writeMulti: (runId, name, chunks) => core.streamWrite(name, runId, chunks),
    close: (runId, name) => core.streamClose(name, runId),
    get: async (runId, name, startIndex = 0) => {
      // Checked here, so a bad call rejects now rather than on the first read.
      core.checkStream(name, runId);
      return tail(core, name, startIndex, runId);
    },
    list: (runId) => core.listStreams(runId),
    getChunks: (runId, name, options) => core.streamChunks(name, options, runId),
    getInfo: (runId, name) => core.streamInfo(name, runId),
  };
}
