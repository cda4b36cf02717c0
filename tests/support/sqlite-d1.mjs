// Just enough of a D1 binding over node:sqlite, for what runs the wasm core in plain Node
// (tests/wasm_store.rs, the bench's CPU measurement): prepare().bind(...), batch() as one
// transaction, results as { results, meta: { changes } }, and BLOB columns as an Array of
// numbers, as D1 returns them. The schema is every migration of migrations/, in order.
// `d1.ms` is the time spent inside batch().
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';

/** migrations/ of this repo; a copy of this module (wasm-bindgen's snippets) is told where it is. */
const MIGRATIONS = fileURLToPath(new URL('../../migrations/', import.meta.url));

/** The SQL of every migration in `dir`, in order. */
export function migrations(dir = MIGRATIONS) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
}

/** @param {string} [migrationsDir] */
export function sqliteD1(migrationsDir) {
  const db = new DatabaseSync(':memory:');
  db.exec(migrations(migrationsDir));
  const cache = new Map();
  const prepared = (sql) => {
    let s = cache.get(sql);
    if (!s) cache.set(sql, (s = db.prepare(sql)));
    return s;
  };
  const statement = (sql, params = []) => ({ sql, params, bind: (...p) => statement(sql, p) });
  const column = (v) => (v instanceof Uint8Array ? Array.from(v) : typeof v === 'bigint' ? Number(v) : v);
  const d1 = {
    ms: 0,
    prepare: (sql) => statement(sql),
    batch(statements) {
      const t0 = performance.now();
      db.exec('BEGIN');
      try {
        const out = statements.map(({ sql, params }) => {
          const s = prepared(sql);
          if (s.columns().length > 0) {
            const rows = s
              .all(...params)
              .map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, column(v)])));
            return { results: rows, meta: { changes: 0 }, success: true };
          }
          const info = s.run(...params);
          return { results: [], meta: { changes: Number(info.changes) }, success: true };
        });
        db.exec('COMMIT');
        return Promise.resolve(out);
      } catch (e) {
        db.exec('ROLLBACK');
        return Promise.reject(new Error(`D1_ERROR: ${e.message}`));
      } finally {
        d1.ms += performance.now() - t0;
      }
    },
  };
  return d1;
}
