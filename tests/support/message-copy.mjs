// A queue message as one copy of it sees it, for test Workers that hand one message to the
// consumer twice (tests/workers/example-twice.js, tests/workers/reliability-worker.js).

/**
 * A stand-in for `message` whose ack() and retry() are recorded in `seen.outcome`, not
 * forwarded (a retry wins over an ack). Copy 0 keeps the message's id; a later copy gets
 * `<id>~copy<n>` when `ownIds` is set, as a second send of one message would.
 */
export function copyOf(message, copy = 0, { ownIds = false } = {}) {
  const seen = { outcome: undefined };
  const stand = new Proxy(message, {
    get(target, key) {
      if (key === 'ack') return () => void (seen.outcome ??= 'ack');
      if (key === 'retry') return () => void (seen.outcome = 'retry');
      if (key === 'id' && ownIds && copy > 0) return `${target.id}~copy${copy}`;
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { seen, stand };
}
