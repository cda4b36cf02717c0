// The queue test handler ("probe"), shared by the fixture Worker (in-isolate handler for
// `__wkf_workflow_`, tests/workers/worker.js) and the Node HTTP app of
// tests/queue/http.test.mjs (handler for `__wkf_step_`). Runtime-neutral: no Node imports,
// so wrangler can bundle it into the Worker.
//
// Every invocation is recorded as one row of the D1 table `test_deliveries` (created on
// demand; not part of migrations/). What the handler does is driven by the payload:
//
//   { tag, mode?: 'record' | 'sleep' | 'fail' | 'hold' | 'script', times?, seconds?, ms?, script? }
//
//   record (default)  return void
//   sleep             return { timeoutSeconds: seconds } for the first `times` invocations
//                     of this tag (default 1), then void
//   fail              throw for the first `times` invocations of this tag (default 1)
//   value             return `value` (any other return value acknowledges)
//   hold              wait `ms` milliseconds, then return void (keeps a delivery in flight)
//   script            invocation n follows `script[n-1]` ('ok' once the script is over):
//                     'ok' → void, 'fail' → throw, 'sleep:<s>' → { timeoutSeconds: s }
//
// The row's tag is payload.tag, else payload.correlationId (health checks), else
// payload.runId (recovery messages from start()), else NULL.

export const DELIVERIES_TABLE = 'test_deliveries';

const DDL =
  'CREATE TABLE IF NOT EXISTS test_deliveries (' +
  'seq INTEGER PRIMARY KEY AUTOINCREMENT, tag TEXT, source TEXT NOT NULL, attempt INTEGER, ' +
  'queue_name TEXT, message_id TEXT, payload TEXT, at INTEGER NOT NULL)';

/** Creates test_deliveries if it does not exist (one statement: D1 exec() splits lines). */
export async function ensureDeliveriesTable(db) {
  await db.prepare(DDL).run();
}

const FNV_OFFSET = 0x811c9dc5;
/** FNV-1a (32 bit) of bytes, as 8 hex digits: a cheap fingerprint for large payloads. */
export function fnv1a(bytes) {
  let h = FNV_OFFSET;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * A JSON-able description of a decoded payload that keeps what the tests assert on:
 * `Uint8Array` → `{$type:'Uint8Array', bytes}` (or `{length, fnv}` when longer than 64),
 * `Date` → `{$type:'Date', iso}`, other binary types named, long strings fingerprinted.
 */
export function summarize(value) {
  return mapTree(value, (leaf) => {
    if (leaf instanceof Uint8Array) {
      if (leaf.length <= 64) return { $type: 'Uint8Array', bytes: Array.from(leaf) };
      return { $type: 'Uint8Array', length: leaf.length, fnv: fnv1a(leaf) };
    }
    if (leaf instanceof Date) return { $type: 'Date', iso: Number.isNaN(leaf.getTime()) ? null : leaf.toISOString() };
    if (leaf instanceof ArrayBuffer) return { $type: 'ArrayBuffer', length: leaf.byteLength };
    if (ArrayBuffer.isView(leaf))
      return { $type: leaf.constructor?.name ?? 'ArrayBufferView', length: leaf.byteLength };
    if (typeof leaf === 'string' && leaf.length > 256) {
      return { $type: 'string', length: leaf.length, fnv: fnv1a(new TextEncoder().encode(leaf)) };
    }
    if (typeof leaf === 'bigint') return { $type: 'bigint', value: String(leaf) };
    if (leaf === undefined) return { $type: 'undefined' };
    return WALK;
  });
}

/** What a `mapTree` callback answers to have a value walked into (or kept, when not a tree). */
export const WALK = Symbol('walk');

/**
 * `value` rebuilt top down: each node is replaced by `replace(node)`, or, where that answers
 * WALK, an array or plain object is rebuilt from its mapped members and anything else kept.
 */
export function mapTree(value, replace) {
  const replaced = replace(value);
  if (replaced !== WALK) return replaced;
  if (Array.isArray(value)) return value.map((v) => mapTree(v, replace));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapTree(v, replace)]));
  }
  return value;
}

/** The test tag a payload is recorded under (see the header comment). */
export function tagOf(payload) {
  if (!payload || typeof payload !== 'object') return null;
  for (const key of ['tag', 'correlationId', 'runId']) {
    if (typeof payload[key] === 'string') return payload[key];
  }
  return null;
}

/**
 * Records one invocation and returns how many invocations this tag has had so far
 * (this one included). The insert and the count are one D1 batch.
 */
async function record(db, source, payload, meta) {
  const tag = tagOf(payload);
  const [, counted] = await db.batch([
    db
      .prepare(
        'INSERT INTO test_deliveries (tag, source, attempt, queue_name, message_id, payload, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .bind(
        tag,
        source,
        meta?.attempt ?? null,
        meta?.queueName ?? null,
        meta?.messageId ?? null,
        JSON.stringify(summarize(payload)),
        Date.now(),
      ),
    db.prepare('SELECT COUNT(*) AS n FROM test_deliveries WHERE tag IS ? AND source = ?').bind(tag, source),
  ]);
  return counted.results[0].n;
}

/**
 * The probe handler `(payload, meta) => void | {timeoutSeconds}` over a D1 binding.
 * `source` ('isolate', 'http', …) is stored with each row.
 */
export function createProbe(db, source) {
  let ready;
  return async function probe(payload, meta) {
    ready ??= ensureDeliveriesTable(db).catch((e) => {
      ready = undefined;
      throw e;
    });
    await ready;
    const n = await record(db, source, payload, meta);
    const p = payload && typeof payload === 'object' ? payload : {};
    const times = typeof p.times === 'number' ? p.times : 1;
    switch (p.mode) {
      case 'script': {
        const step = (Array.isArray(p.script) && p.script[n - 1]) || 'ok';
        if (step === 'fail') throw new Error(`probe ${tagOf(p)}: failing invocation ${n} on purpose`);
        if (step.startsWith('sleep:')) return { timeoutSeconds: Number(step.slice(6)) };
        return undefined;
      }
      case 'sleep':
        if (n <= times) return { timeoutSeconds: typeof p.seconds === 'number' ? p.seconds : 0 };
        return undefined;
      case 'fail':
        if (n <= times) throw new Error(`probe ${tagOf(p)}: failing invocation ${n} on purpose`);
        return undefined;
      case 'value':
        return p.value;
      case 'hold':
        await new Promise((resolve) => setTimeout(resolve, typeof p.ms === 'number' ? p.ms : 1000));
        return undefined;
      default:
        return undefined;
    }
  };
}

// ---------------------------------------------------------------------------
// Test values over JSON (for the fixture's /queue route): `{$bytes:[…]}` is a Uint8Array,
// `{$date:'<iso>'}` a Date.

export function encodeTestValue(value) {
  return mapTree(value, (node) => {
    if (node instanceof Uint8Array) return { $bytes: Array.from(node) };
    if (node instanceof Date) return { $date: node.toISOString() };
    return WALK;
  });
}

export function decodeTestValue(value) {
  return mapTree(value, (node) => {
    const keys = node && typeof node === 'object' ? Object.keys(node) : [];
    if (keys.length === 1 && keys[0] === '$bytes') return new Uint8Array(node.$bytes);
    if (keys.length === 1 && keys[0] === '$date') return new Date(node.$date);
    return WALK;
  });
}
