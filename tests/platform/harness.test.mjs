// The local harness itself, plus D1 behaviours the store layer relies on.
// Started with { world: false }: no World in Node (the fixture Worker still imports the
// package, so `npm run build` must have run).
//
// Measured facts (wrangler 4.164.0 / workerd 1.20261117.1, identical from Node
// through the harness proxy and inside the Worker itself):
// - BLOB columns come back as a plain JS Array of numbers (0..255), NOT an
//   ArrayBuffer or Uint8Array, through all(), first(), raw() and batch()
//   results alike (also via INSERT ... RETURNING).
// - Binding a Uint8Array containing 0x00 bytes stores a BLOB that round-trips
//   byte-exact (typeof = 'blob', hex matches). An ArrayBuffer binds as a BLOB
//   too, and so does a plain Array of numbers.
// - RAISE(ABORT, <non-literal expression>) inside a trigger is accepted (the
//   SQLite in workerd is >= 3.48). The computed text arrives in the JS error:
//   "D1_ERROR: <text>: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_TRIGGER)",
//   with err.cause.message = "<text>: SQLITE_CONSTRAINT (...)". A RAISE inside a
//   batch rolls back the batch's earlier statements. RAISE outside a trigger is
//   rejected ("may only be used within a trigger-program").
// - Inside a batch, changes() sees the row count of the previous DML
//   statement of the same batch, so `INSERT ... SELECT ... WHERE changes() = 1`
//   works as a guard on the preceding UPDATE.
// - sqlite_version() is not authorized in D1.

import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { useHarness } from '../support/harness.mjs';

const h = useHarness({ world: false });

describe('harness', () => {
  test('the fixture Worker answers /health', async () => {
    const res = await h.server.fetch('/health');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok');
  });

  test('bindings and vars are present', () => {
    assert.equal(h.env.DEPLOYMENT_ID, 'cloudflare');
    for (const name of ['DB', 'WORKFLOW_QUEUE', 'STEP_QUEUE', 'STREAM_BUCKET']) {
      assert.ok(h.env[name], `env.${name}`);
    }
    assert.equal(h.world, undefined);
  });

  test('migrations created the tables', async () => {
    const { results } = await h.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
    const names = results.map((r) => r.name);
    for (const table of ['runs', 'steps', 'hooks', 'waits', 'events', 'd1_migrations']) {
      assert.ok(names.includes(table), `table ${table} in ${names.join(', ')}`);
    }
  });

  test('the counter counts real round trips only', async () => {
    const { db, roundTrips } = h;
    roundTrips.reset();
    assert.equal(roundTrips.count, 0);

    const a = db.prepare('SELECT ? AS v');
    const b = a.bind(1);
    const c = db.prepare('SELECT count(*) AS n FROM runs');
    assert.equal(roundTrips.count, 0, 'prepare() and bind() are not round trips');

    const results = await db.batch([b, c]);
    assert.equal(roundTrips.count, 1, 'a batch of 2 statements is 1 round trip');
    assert.equal(results.length, 2);
    assert.equal(results[0].results[0].v, 1);
    assert.equal(results[1].results[0].n, 0);

    assert.equal(await c.first('n'), 0);
    assert.equal(roundTrips.count, 2, 'first() is 1 round trip');

    await b.all();
    await b.raw();
    await b.run();
    await db.exec('SELECT 1');
    assert.equal(roundTrips.count, 6);

    roundTrips.reset();
    assert.equal(roundTrips.count, 0);
  });
});

describe('D1 facts', () => {
  const bytes = new Uint8Array([0x00, 0x01, 0x00, 0xff, 0x7f, 0x00]);
  const asArray = Array.from(bytes);

  before(async () => {
    await h.db.exec('CREATE TABLE probe_blob (id INTEGER PRIMARY KEY, b BLOB)');
  });

  test('BLOBs: Uint8Array with NUL bytes round-trips; reads are Array<number>', async () => {
    const { db } = h;
    await db.prepare('INSERT INTO probe_blob (id, b) VALUES (?, ?)').bind(1, bytes).run();
    await db.prepare('INSERT INTO probe_blob (id, b) VALUES (?, ?)').bind(2, bytes.buffer).run();

    const { results } = await db.prepare('SELECT id, b, typeof(b) AS t, hex(b) AS h FROM probe_blob ORDER BY id').all();
    for (const row of results) {
      assert.equal(row.t, 'blob');
      assert.equal(row.h, '000100FF7F00');
      assert.ok(Array.isArray(row.b), 'all(): BLOB is a plain Array');
      assert.ok(!(row.b instanceof Uint8Array) && !(row.b instanceof ArrayBuffer));
      assert.deepEqual(row.b, asArray);
    }

    const [batched] = await db.batch([db.prepare('SELECT b FROM probe_blob WHERE id = 1')]);
    assert.ok(Array.isArray(batched.results[0].b), 'batch(): BLOB is a plain Array');
    assert.deepEqual(batched.results[0].b, asArray);

    const first = await db.prepare('SELECT b FROM probe_blob WHERE id = 1').first();
    assert.ok(Array.isArray(first.b), 'first(): BLOB is a plain Array');
    const raw = await db.prepare('SELECT b FROM probe_blob WHERE id = 1').raw();
    assert.ok(Array.isArray(raw[0][0]), 'raw(): BLOB is a plain Array');
    assert.deepEqual(Uint8Array.from(raw[0][0]), bytes);
  });

  test('RAISE(ABORT, <expression>) in a trigger is accepted and rolls the batch back', async () => {
    const { db } = h;
    await db.exec('CREATE TABLE probe_guard (id INTEGER PRIMARY KEY, v INTEGER)');
    await db.exec(
      "CREATE TRIGGER probe_guard_neg BEFORE INSERT ON probe_guard WHEN NEW.v < 0 BEGIN SELECT RAISE(ABORT, 'negative:' || NEW.id); END",
    );
    await assert.rejects(
      db.batch([
        db.prepare('INSERT INTO probe_guard VALUES (1, 1)'),
        db.prepare('INSERT INTO probe_guard VALUES (2, -1)'),
      ]),
      (err) => {
        assert.match(err.message, /negative:2/);
        assert.match(err.message, /SQLITE_CONSTRAINT_TRIGGER/);
        return true;
      },
    );
    assert.equal(await db.prepare('SELECT count(*) AS n FROM probe_guard').first('n'), 0);
  });

  test('changes() in a batch sees the previous statement of the batch', async () => {
    const { db } = h;
    await db.exec('CREATE TABLE probe_cas (id INTEGER PRIMARY KEY, v INTEGER)');
    await db.exec('CREATE TABLE probe_log (id INTEGER PRIMARY KEY AUTOINCREMENT, note TEXT, ch INTEGER)');
    await db.exec('INSERT INTO probe_cas VALUES (1, 0)');
    const results = await db.batch([
      db.prepare('UPDATE probe_cas SET v = v + 1 WHERE id = 1'), // 1 row
      db.prepare("INSERT INTO probe_log (note, ch) SELECT 'hit', changes() WHERE changes() = 1"),
      db.prepare('UPDATE probe_cas SET v = v + 1 WHERE id = 2'), // 0 rows
      db.prepare("INSERT INTO probe_log (note, ch) SELECT 'miss', changes() WHERE changes() = 1"),
    ]);
    assert.deepEqual(
      results.map((r) => r.meta.changes),
      [1, 1, 0, 0],
    );
    const { results: log } = await db.prepare('SELECT note, ch FROM probe_log ORDER BY id').all();
    assert.deepEqual(log, [{ note: 'hit', ch: 1 }]);
  });
});
