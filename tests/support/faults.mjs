// Fault injection into the bindings the World uses (the reliability suite): wrappers
// around a D1 database, an R2 bucket and a Queue producer that fail, lose replies or
// duplicate on command. Runtime-neutral (no Node imports): the fault-injecting consumer
// Worker (tests/workers/reliability-worker.js) uses them inside workerd too.
//
//   const d1 = faultyD1(env.DB);             // d1.binding goes where env.DB went
//   d1.plan.next.push('before');            // the next batch fails without running
//   d1.plan.next.push(null, 'after');       // the one after next commits, then fails
//   d1.plan.rate = 0.2; d1.plan.mode = 'mixed';   // random faults, seeded (d1.plan.seed)
//
// 'before': the batch is not sent (D1 unreachable, a statement refused): nothing is stored.
// 'after':  the batch commits, then the call fails (the reply is lost): the caller cannot
//           tell this from 'before', which is what a durable backend must survive.

/** A small seeded PRNG (mulberry32), so random fault runs can be replayed. */
export function prng(seed = 1) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Error D1 bindings throw; the message says it was injected. */
export class InjectedFault extends Error {
  constructor(what) {
    super(`D1_ERROR: injected fault: ${what}`);
    this.name = 'Error';
  }
}

function forward(target, prop) {
  const value = Reflect.get(target, prop, target);
  return typeof value === 'function' ? value.bind(target) : value;
}

/** Statement wrapper -> [real statement, its SQL]. */
const STATEMENTS = new WeakMap();

/** A prepared statement that remembers its SQL (so `only` can choose batches by it). */
function trackedStatement(realStmt, sql) {
  const proxy = new Proxy(realStmt, {
    get(target, prop) {
      if (prop === 'bind') return (...args) => trackedStatement(target.bind(...args), sql);
      return forward(target, prop);
    },
  });
  STATEMENTS.set(proxy, [realStmt, sql]);
  return proxy;
}

/** The SQL of each statement of a batch given to a faultyD1 binding. */
export const sqlOf = (statements) => Array.from(statements, (s) => STATEMENTS.get(s)?.[1] ?? '');

/**
 * Wraps a D1 binding. `plan`: `next` (a list consumed one entry per batch: 'before',
 * 'after' or null), then `rate` (probability of a random fault per batch, 0 = off) with
 * `mode` ('before', 'after' or 'mixed'), `seed`, and an optional `only(sqls)` filter (the
 * SQL of the batch's statements) choosing which batches may fail. `stats` counts batches
 * and injected faults.
 */
export function faultyD1(real, plan = {}) {
  const p = Object.assign({ next: [], rate: 0, mode: 'before', seed: 1, only: undefined }, plan);
  let random = prng(p.seed);
  let seed = p.seed;
  const stats = { batches: 0, before: 0, after: 0 };
  const decide = (statements) => {
    if (p.seed !== seed) {
      seed = p.seed;
      random = prng(seed);
    }
    if (p.next.length) return p.next.shift();
    if (!p.rate || (p.only && !p.only(sqlOf(statements)))) return null;
    if (random() >= p.rate) return null;
    if (p.mode === 'mixed') return random() < 0.5 ? 'before' : 'after';
    return p.mode;
  };
  const binding = new Proxy(real, {
    get(target, prop) {
      if (prop === 'prepare') return (sql) => trackedStatement(target.prepare(sql), sql);
      if (prop === 'batch') {
        return async (statements, ...rest) => {
          stats.batches++;
          const list = Array.from(statements);
          const fault = decide(list);
          if (fault === 'before') {
            stats.before++;
            throw new InjectedFault('batch refused before it ran');
          }
          const results = await target.batch(
            list.map((s) => STATEMENTS.get(s)?.[0] ?? s),
            ...rest,
          );
          if (fault === 'after') {
            stats.after++;
            throw new InjectedFault('batch committed, then its reply was lost');
          }
          return results;
        };
      }
      return forward(target, prop);
    },
  });
  return { binding, plan: p, stats };
}

/**
 * Wraps an R2 bucket. `plan.put`, `plan.get`, `plan.delete`: lists consumed one entry per
 * call of that method (true = fail it), or a function `(key) => boolean`.
 */
export function faultyR2(real, plan = {}) {
  const p = Object.assign({ put: [], get: [], delete: [] }, plan);
  const stats = { put: 0, get: 0, delete: 0, failed: 0 };
  const fails = (method, key) => {
    const rule = p[method];
    if (typeof rule === 'function') return rule(key);
    return Array.isArray(rule) && rule.length ? Boolean(rule.shift()) : false;
  };
  const binding = new Proxy(real, {
    get(target, prop) {
      if (prop === 'put' || prop === 'get' || prop === 'delete') {
        return async (key, ...rest) => {
          stats[prop]++;
          if (fails(prop, key)) {
            stats.failed++;
            throw new Error(`R2 ${prop}(${key}): injected fault: service unavailable`);
          }
          return target[prop](key, ...rest);
        };
      }
      return forward(target, prop);
    },
  });
  return { binding, plan: p, stats };
}

/**
 * A Queue producer that sends every message `options.copies` times in all. With
 * `options.freshSendId`, the extra copies get a new envelope `sendId`, so the World's
 * duplicate absorption (queue_deliveries) cannot recognise them: the runtime and the event
 * store must absorb them instead. `sent` keeps every body, for redelivery later; `options`
 * may be changed at any time.
 */
export function duplicatingQueue(real, { copies = 2, freshSendId = false, jitterSeconds = 0 } = {}) {
  const sent = [];
  const stats = { sends: 0, copies: 0, delayed: 0 };
  // jitterSeconds: each copy is held back 0..jitterSeconds s more, at random, so messages
  // arrive out of the order they were sent in.
  const options = { copies, freshSendId, jitterSeconds };
  const random = prng(99);
  const withJitter = (sendOptions) => {
    const extra = options.jitterSeconds ? Math.floor(random() * (options.jitterSeconds + 1)) : 0;
    if (!extra) return sendOptions;
    stats.delayed++;
    return { ...sendOptions, delaySeconds: (sendOptions?.delaySeconds ?? 0) + extra };
  };
  let n = 0;
  const variant = (body, i) =>
    options.freshSendId && i > 0 && body && typeof body === 'object' && typeof body.sendId === 'string'
      ? { ...body, sendId: `${body.sendId}C${i}${(n++).toString(36)}` }
      : body;
  const binding = {
    sent,
    stats,
    options,
    async send(body, sendOptions) {
      sent.push({ body, options: sendOptions });
      stats.sends++;
      for (let i = 0; i < Math.max(1, options.copies); i++) {
        if (i > 0) stats.copies++;
        await real.send(variant(body, i), withJitter(sendOptions));
      }
    },
    async sendBatch(messages, sendOptions) {
      for (const { body, ...rest } of messages) await binding.send(body, { ...sendOptions, ...rest });
    },
  };
  return binding;
}

/** A Queue producer that only records what it is given (nothing is delivered). */
export function recordingQueue() {
  const sent = [];
  return {
    sent,
    async send(body, options) {
      sent.push({ body, options });
    },
    async sendBatch(messages, options) {
      for (const m of messages) sent.push({ body: m.body, options: { ...options, ...m } });
    },
  };
}
