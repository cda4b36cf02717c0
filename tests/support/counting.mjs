// Counting wrappers for the Cloudflare bindings: the tests' round-trip and R2 counts, and
// `npm run bench` on both sides of the example app, in Node (the World of the routes'
// host) and in workerd (the bench's queue consumer, bench/worker.js). Plain ESM without
// imports, so wrangler bundles it as is.
//
//   const counts = newCounts();
//   const env2 = countingEnv(env, counts);   // DB, WORKFLOW_QUEUE, STEP_QUEUE, STREAM_BUCKET wrapped
//
// D1: a round trip is one batch/exec/dump or one statement run/all/first/raw (prepare and
// bind are local). Rows written are `meta.rows_written` of each result when D1 reports it,
// else `meta.changes`; rows read are `meta.rows_read`. Queues: one message per send, n per
// sendBatch. R2: Class A (put, delete, list, multipart) and Class B (get, head) operations.

export function newCounts() {
  return {
    // ms: time from batch()/run()… to its answer; localMs: time inside prepare() and bind(),
    // which are local on workerd and the gateway but blocking round trips on wrangler's proxy.
    d1: { trips: 0, rowsWritten: 0, rowsRead: 0, ms: 0, localCalls: 0, localMs: 0 },
    queue: { messages: 0, calls: 0 },
    r2: { A: 0, B: 0 },
    // D1 rows written by the table each statement writes (its first INSERT/UPDATE/DELETE
    // target; rows its triggers and indexes write count there too): where the bill goes.
    rowsByTable: {},
  };
}

export function resetCounts(counts) {
  const fresh = newCounts();
  for (const key of Object.keys(fresh)) {
    for (const k of Object.keys(counts[key] ?? {})) if (!(k in fresh[key])) delete counts[key][k];
    counts[key] = Object.assign(counts[key] ?? {}, fresh[key]);
  }
  return counts;
}

/** Adds `b` into `a` (same shape). */
export function addCounts(a, b) {
  for (const [group, values] of Object.entries(b)) {
    a[group] ??= {};
    for (const [k, v] of Object.entries(values)) a[group][k] = (a[group][k] ?? 0) + v;
  }
  return a;
}

/** Wrapper -> the real binding object it stands for (D1 batch() wants real statements). */
const REAL = new WeakMap();
export const unwrap = (x) => REAL.get(x) ?? x;

/** A Proxy that serves `own` methods first and forwards everything else to `real`. */
export function delegate(real, own) {
  const proxy = new Proxy(real, {
    get(target, prop) {
      if (Object.hasOwn(own, prop)) return own[prop];
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  REAL.set(proxy, real);
  return proxy;
}

/** The table a statement writes, or undefined for a read. */
const WRITES = /\b(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+["`]?(\w+)/i;
export const tableWritten = (sql) => WRITES.exec(sql ?? '')?.[1];

/** Statement wrapper -> its SQL. */
const SQL = new WeakMap();

function tally(d1, result, sqls = [], byTable) {
  const results = Array.isArray(result) ? result : [result];
  results.forEach((r, i) => {
    const meta = r?.meta;
    if (!meta) return;
    const rows = Number(meta.rows_written ?? meta.changes ?? 0) || 0;
    d1.rowsWritten += rows;
    d1.rowsRead += Number(meta.rows_read ?? 0) || 0;
    const table = tableWritten(sqls[i]);
    if (byTable && rows && table) byTable[table] = (byTable[table] ?? 0) + rows;
  });
  return result;
}

/**
 * Counts one round trip of `d1`, and its time. `onTrip(ms, what)` (optional) sees each
 * round trip as it ends (the bench's profile uses it).
 */
async function trip(d1, what, call, onTrip, sqls, byTable) {
  d1.trips++;
  const started = Date.now();
  const before = d1.rowsWritten;
  let ok = false;
  try {
    const result = tally(d1, await call(), sqls, byTable);
    ok = true;
    return result;
  } finally {
    const ms = Date.now() - started;
    d1.ms += ms;
    onTrip?.(ms, ok ? `${what}, ${d1.rowsWritten - before} rows written` : `${what} failed`, started);
  }
}

function local(d1, call) {
  const started = performance.now();
  try {
    return call();
  } finally {
    d1.localCalls++;
    d1.localMs += performance.now() - started;
  }
}

/**
 * Counts `real`'s round trips, rows and time into `d1`; with `byTable` (counts.rowsByTable),
 * rows written by table too.
 */
export function countingD1(real, d1, onTrip, byTable) {
  const stmt = (realStmt, sql) => {
    const one =
      (what) =>
      (...args) =>
        trip(d1, what, () => realStmt[what](...args), onTrip, [sql], byTable);
    const wrapper = delegate(realStmt, {
      bind: (...args) =>
        stmt(
          local(d1, () => realStmt.bind(...args)),
          sql,
        ),
      run: one('run'),
      all: one('all'),
      first: one('first'),
      raw: one('raw'),
    });
    SQL.set(wrapper, sql);
    return wrapper;
  };
  const own = {
    prepare: (sql) =>
      stmt(
        local(d1, () => real.prepare(sql)),
        sql,
      ),
    batch: (statements, ...rest) => {
      const wrappers = Array.from(statements);
      const list = wrappers.map(unwrap);
      const sqls = wrappers.map((s) => SQL.get(s));
      return trip(d1, `batch(${list.length})`, () => real.batch(list, ...rest), onTrip, sqls, byTable);
    },
    exec: (...args) => trip(d1, 'exec', () => real.exec(...args), onTrip),
    dump: (...args) => trip(d1, 'dump', () => real.dump(...args), onTrip),
  };
  if (typeof real.withSession === 'function')
    own.withSession = (...args) => countingD1(real.withSession(...args), d1, onTrip, byTable);
  return delegate(real, own);
}

export function countingQueue(real, queue, onSend) {
  return delegate(real, {
    send: (body, ...rest) => {
      queue.calls++;
      queue.messages++;
      onSend?.(body);
      return real.send(body, ...rest);
    },
    sendBatch: (messages, ...rest) => {
      const list = Array.from(messages);
      queue.calls++;
      queue.messages += list.length;
      for (const m of list) onSend?.(m?.body);
      return real.sendBatch(list, ...rest);
    },
  });
}

// R2 operation classes (Cloudflare R2 pricing): Class A mutate/list, Class B read.
const R2_CLASS_A = new Set([
  'put',
  'delete',
  'list',
  'createMultipartUpload',
  'resumeMultipartUpload',
  'uploadPart',
  'completeMultipartUpload',
  'abortMultipartUpload',
]);
const R2_CLASS_B = new Set(['get', 'head']);

/** Counts R2 operations by class into `r2`; with an `r2.calls` array, logs `[method, key]` too. */
export function countingBucket(real, r2) {
  return new Proxy(real, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      return (...args) => {
        if (R2_CLASS_A.has(prop)) r2.A++;
        else if (R2_CLASS_B.has(prop)) r2.B++;
        r2.calls?.push([String(prop), args[0]]);
        return value.apply(target, args);
      };
    },
  });
}

/** `env` with its D1, both queues and the bucket counted into `counts`. */
export function countingEnv(env, counts, { onTrip, onSend } = {}) {
  const out = { ...env };
  if (env.DB) out.DB = countingD1(env.DB, counts.d1, onTrip, counts.rowsByTable);
  for (const name of ['WORKFLOW_QUEUE', 'STEP_QUEUE']) {
    if (env[name]) out[name] = countingQueue(env[name], counts.queue, onSend);
  }
  if (env.STREAM_BUCKET) out.STREAM_BUCKET = countingBucket(env.STREAM_BUCKET, counts.r2);
  return out;
}

/** The response header in which a Worker reports what one request did on its bindings. */
export const COUNTS_HEADER = 'x-binding-counts';

/** `serve(countedEnv)`'s response, with what it did on `env`'s bindings in COUNTS_HEADER. */
export async function withBindingCounts(env, serve) {
  const counts = newCounts();
  const answer = await serve(countingEnv(env, counts));
  const response = new Response(answer.body, answer);
  response.headers.set(COUNTS_HEADER, JSON.stringify(counts));
  return response;
}

/** The counts a response reports in COUNTS_HEADER, if it does. */
export function reportedCounts(response) {
  const reported = response.headers.get(COUNTS_HEADER);
  return reported ? JSON.parse(reported) : undefined;
}
