// Node-side helpers for the Queue suite (tests/queue-*.test.mjs): reading the probe's
// test_deliveries rows (tests/support/queue-probe.mjs), bounded polling, barriers, a
// spying Queue binding, and the Node HTTP app the consumer POSTs to (WORKFLOW_APP_URL).
import http from 'node:http';
import { monotonicFactory } from 'ulid';
import { ensureDeliveriesTable } from './queue-probe.mjs';

export { ensureDeliveriesTable };

const nextUlid = monotonicFactory();
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const newTag = (prefix = 't') => `${prefix}_${nextUlid()}`;
export const MESSAGE_ID_RE = /^msg_[0-9A-HJKMNP-TV-Z]{26}$/;

/**
 * Polls `fn` until it returns a truthy value (returned) or `timeout` ms pass (throws,
 * naming `what` and the last value seen).
 */
export async function waitFor(fn, { timeout = 10_000, interval = 40, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    }
    await sleep(interval);
  }
}

/** The probe's rows for `tag` (optionally one `source`), oldest first, payload parsed. */
export async function deliveries(db, tag, { source } = {}) {
  const sql =
    'SELECT seq, tag, source, attempt, queue_name, message_id, payload, at FROM test_deliveries WHERE tag IS ?' +
    (source ? ' AND source = ?' : '') +
    ' ORDER BY seq';
  const stmt = source ? db.prepare(sql).bind(tag, source) : db.prepare(sql).bind(tag);
  const { results } = await stmt.all();
  return results.map((r) => ({
    seq: r.seq,
    tag: r.tag,
    source: r.source,
    attempt: r.attempt,
    queueName: r.queue_name,
    messageId: r.message_id,
    payload: r.payload === null ? null : JSON.parse(r.payload),
    at: r.at,
  }));
}

/** Waits until `tag` has at least `n` rows; returns them all. */
export async function waitForDeliveries(db, tag, n, { timeout = 10_000, source } = {}) {
  let rows = [];
  await waitFor(
    async () => {
      rows = await deliveries(db, tag, { source });
      return rows.length >= n;
    },
    { timeout, what: `${n} deliveries of ${tag}${source ? ` (${source})` : ''}` },
  ).catch((e) => {
    e.message += `; got ${rows.length}: ${JSON.stringify(rows.map((r) => [r.attempt, r.queueName, r.at]))}`;
    throw e;
  });
  return rows;
}

/** Rows of one source whose seq is above `afterSeq` (for "nothing else was delivered"). */
export async function rowsAfter(db, afterSeq, { source } = {}) {
  const { results } = await db
    .prepare('SELECT seq, tag, source, attempt, queue_name, payload FROM test_deliveries WHERE seq > ? ORDER BY seq')
    .bind(afterSeq)
    .all();
  return results.filter((r) => !source || r.source === source);
}

export async function maxSeq(db) {
  const row = await db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM test_deliveries').first();
  return row.s;
}

/**
 * A barrier: sends a `record` probe message on `queueName` through `world`, waits for it
 * to be handled, then waits `extraMs` more. Used before asserting that something was NOT
 * delivered (local queues run one batch of one message at a time per queue, so messages
 * sent earlier without delay have been handled by then).
 */
export async function settle(world, db, queueName = '__wkf_workflow_barrier', { extraMs = 400, source } = {}) {
  const tag = newTag('barrier');
  await world.queue(queueName, { tag });
  await waitForDeliveries(db, tag, 1, { source });
  await sleep(extraMs);
}

/**
 * A Queue binding that forwards to `real` and remembers every body it was given, so a
 * test can re-send the exact message the World produced (duplicate delivery) or measure
 * it. `copies` extra identical sends are made right after each send.
 */
export function spyQueue(real, { copies = 0 } = {}) {
  const sent = [];
  const binding = {
    sent,
    async send(body, options) {
      sent.push({ body, options });
      const r = await real.send(body, options);
      for (let i = 0; i < copies; i++) await real.send(body, options);
      return r;
    },
    async sendBatch(messages, options) {
      for (const m of messages) sent.push({ body: m.body, options: { ...options, ...m } });
      const r = await real.sendBatch(messages, options);
      for (let i = 0; i < copies; i++) await real.sendBatch(messages, options);
      return r;
    },
  };
  return binding;
}

/**
 * Every `delaySeconds` the World asked for: the sends the fixture Worker's consumer made
 * (D1 table `test_sends`, tests/workers/worker.js) and those of `spies` made from Node.
 */
export async function recordedDelays(db, spies = []) {
  await db
    .prepare(
      'CREATE TABLE IF NOT EXISTS test_sends (seq INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT, delay_seconds INTEGER, at INTEGER)',
    )
    .run();
  const { results } = await db.prepare('SELECT delay_seconds AS d FROM test_sends').all();
  const fromNode = spies.flatMap((spy) => spy.sent.map((s) => s.options?.delaySeconds ?? 0));
  return [...results.map((r) => r.d), ...fromNode];
}

/** Rough serialized size of a queue body (bytes of binary, length of strings, recursive). */
export function approxSize(value) {
  if (value == null) return 4;
  if (typeof value === 'string') return value.length;
  if (value instanceof ArrayBuffer) return value.byteLength;
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (Array.isArray(value)) return value.reduce((n, v) => n + approxSize(v) + 1, 2);
  if (typeof value === 'object') {
    let n = 2;
    for (const [k, v] of Object.entries(value)) n += k.length + 3 + approxSize(v);
    return n;
  }
  return String(value).length;
}

/** Bytes 0..n-1 with a fixed pattern that includes many 0x00 (and 0xFF). */
export function patternBytes(n) {
  const out = new Uint8Array(n);
  let x = 0x12345678;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = i % 7 === 0 ? 0 : i % 11 === 0 ? 0xff : x & 0xff;
  }
  return out;
}

// ---------------------------------------------------------------------------
// The Node app at WORKFLOW_APP_URL

export const APP_PORT = 8799;
export const FLOW_PATH = '/.well-known/workflow/v1/flow';
export const STEP_PATH = '/.well-known/workflow/v1/step';

/**
 * Starts the HTTP app the consumer POSTs to: `routes` maps a path to a
 * `(Request) => Promise<Response>` (a createQueueHandler result). Every request is kept
 * in `app.requests` as `{path, method, headers, body: Uint8Array, status, responseBody}`.
 */
export async function startApp(routes, { port = APP_PORT, host = '127.0.0.1' } = {}) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = new Uint8Array(Buffer.concat(chunks));
    const path = new URL(req.url, `http://${host}:${port}`).pathname;
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const entry = { path, method: req.method, headers, body, status: 0, responseBody: '' };
    requests.push(entry);
    try {
      const route = routes[path];
      const response = route
        ? await route(
            new Request(`http://${host}:${port}${req.url}`, {
              method: req.method,
              headers,
              body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
            }),
          )
        : new Response('no route', { status: 404 });
      entry.status = response.status;
      entry.responseBody = await response.text();
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(entry.responseBody);
    } catch (e) {
      entry.status = 599;
      entry.responseBody = String(e?.stack ?? e);
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(entry.responseBody);
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', (e) =>
      reject(
        new Error(`cannot listen on ${host}:${port} for WORKFLOW_APP_URL (${e.message}); is another test running?`),
      ),
    );
    server.listen(port, host, resolve);
  });
  return {
    requests,
    /** The requests that carried `x-vqs-message-id: id`. */
    byMessageId: (id) => requests.filter((r) => r.headers['x-vqs-message-id'] === id),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** A hand-built world-local request (contract §5.3) with the JSON body given as text. */
export function vqsRequest({ queueName, messageId = `msg_${nextUlid()}`, attempt = 1, body, headers = {}, omit = [] }) {
  const h = {
    'content-type': 'application/json',
    'x-vqs-queue-name': queueName,
    'x-vqs-message-id': messageId,
    'x-vqs-message-attempt': String(attempt),
    ...headers,
  };
  for (const k of omit) delete h[k];
  return new Request('http://127.0.0.1/.well-known/workflow/v1/x', {
    method: 'POST',
    headers: h,
    body: body === undefined ? undefined : body,
  });
}
