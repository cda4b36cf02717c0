//! Test doubles shared by the native unit tests: the SQL on real SQLite with the schema
//! of `migrations/`, an in-memory queue and R2, and a clock and entropy the test sets.

use crate::model::{Millis, Value};
use crate::ports::{Blobs, Clock, Database, Entropy, Io, QueueKind, Sender};
use crate::sql::{QueryResult, Row, SqlValue, Statement};
use rusqlite::types::{Value as Sqlite, ValueRef};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// An `events.create` request: its type, correlation id and `eventData` entries.
pub fn event(event_type: &str, corr: Option<&str>, data: Vec<(Value, Value)>) -> Value {
    use crate::model::value::{entry, text};
    let mut m = vec![
        text("eventType", event_type),
        entry("eventData", Value::Map(data)),
    ];
    if let Some(c) = corr {
        m.push(text("correlationId", c));
    }
    Value::Map(m)
}

/// `run_created` of workflow `w` in deployment `d`, without input.
pub fn run_created() -> Value {
    run_created_with(vec![])
}

/// `run_created` of workflow `w` in deployment `d`, with `more` in its eventData.
pub fn run_created_with(more: Vec<(Value, Value)>) -> Value {
    use crate::model::value::text;
    let mut data = vec![text("deploymentId", "d"), text("workflowName", "w")];
    data.extend(more);
    event("run_created", None, data)
}

/// `step_created` of step `s` under correlation id `step_id`.
pub fn step_created(step_id: &str) -> Value {
    use crate::model::value::text;
    event("step_created", Some(step_id), vec![text("stepName", "s")])
}

/// Every migration of `migrations/`, in order: the schema the Worker's D1 gets.
pub fn migrations() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

pub struct Sqlite3 {
    pub conn: rusqlite::Connection,
    pub round_trips: Cell<usize>,
    /// Run before the next batch: another writer that gets in first.
    pub before_next: RefCell<Option<Vec<Statement>>>,
}

impl Sqlite3 {
    pub fn new() -> Sqlite3 {
        Sqlite3::migrated_to(usize::MAX)
    }

    /// A database with only the first `count` migrations applied: data written before a
    /// migration, for the tests that apply the rest (`migrate_rest`) and read it back.
    pub fn migrated_to(count: usize) -> Sqlite3 {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for migration in migrations().iter().take(count) {
            conn.execute_batch(migration).unwrap();
        }
        Sqlite3 {
            conn,
            round_trips: Cell::new(0),
            before_next: RefCell::new(None),
        }
    }

    /// Applies every migration after the first `count`.
    pub fn migrate_rest(&self, count: usize) {
        for migration in migrations().iter().skip(count) {
            self.conn.execute_batch(migration).unwrap();
        }
    }

    pub fn run(&self, statements: &[Statement]) -> Result<Vec<QueryResult>, String> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for s in statements {
            let mut stmt = tx.prepare(&s.sql).map_err(|e| format!("{e}: {}", s.sql))?;
            let params: Vec<Sqlite> = s
                .params
                .iter()
                .map(|p| match p {
                    SqlValue::Null => Sqlite::Null,
                    SqlValue::Integer(i) => Sqlite::Integer(*i),
                    SqlValue::Real(f) => Sqlite::Real(*f),
                    SqlValue::Text(t) => Sqlite::Text(t.clone()),
                    SqlValue::Blob(b) => Sqlite::Blob(b.clone()),
                })
                .collect();
            let names: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
            let mut rows = Vec::new();
            let mut q = stmt
                .query(rusqlite::params_from_iter(params))
                .map_err(|e| e.to_string())?;
            while let Some(r) = q.next().map_err(|e| e.to_string())? {
                let mut row = Vec::new();
                for (i, name) in names.iter().enumerate() {
                    let v = match r.get_ref(i).unwrap() {
                        ValueRef::Null => SqlValue::Null,
                        ValueRef::Integer(i) => SqlValue::Integer(i),
                        ValueRef::Real(f) => SqlValue::Real(f),
                        ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into()),
                        ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
                    };
                    // D1 returns objects: a later column of the same name wins.
                    row.retain(|(n, _): &(String, SqlValue)| n != name);
                    row.push((name.clone(), v));
                }
                rows.push(Row(row));
            }
            drop(q);
            out.push(QueryResult {
                rows,
                changes: tx.changes() as i64,
            });
        }
        tx.commit().map_err(|e| e.to_string())?;
        Ok(out)
    }
}

impl Database for Sqlite3 {
    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<QueryResult>, String> {
        if let Some(first) = self.before_next.borrow_mut().take() {
            self.run(&first)?;
        }
        self.round_trips.set(self.round_trips.get() + 1);
        self.run(&statements)
    }
}

/// The test's clock: starts at [`T0`], moves only when the test says.
pub struct TestClock(pub Cell<Millis>);

/// The time every native test starts at.
pub const T0: Millis = 1_764_000_000_000;

impl Default for TestClock {
    fn default() -> TestClock {
        TestClock(Cell::new(T0))
    }
}

impl TestClock {
    pub fn advance(&self, ms: Millis) {
        self.0.set(self.0.get() + ms);
    }
}

impl Clock for TestClock {
    fn now(&self) -> Millis {
        self.0.get()
    }
}

/// Counts up from 1: ids are distinct and repeatable.
#[derive(Default)]
pub struct Counter(pub Cell<u128>);

impl Entropy for Counter {
    fn random(&self) -> u128 {
        self.0.set(self.0.get() + 1);
        self.0.get()
    }
}

/// An in-memory queue; while `fail` is set, every send fails.
#[derive(Default)]
pub struct MemoryQueue {
    pub sent: RefCell<Vec<(QueueKind, Value, i64)>>,
    pub fail: Cell<bool>,
    /// `send_batch` calls, each all or none.
    pub batches: Cell<usize>,
}

impl Sender for MemoryQueue {
    async fn send(&self, kind: QueueKind, body: &Value, delay_seconds: i64) -> Result<(), String> {
        if self.fail.get() {
            return Err("injected: the queue refused the send".into());
        }
        self.sent
            .borrow_mut()
            .push((kind, body.clone(), delay_seconds));
        Ok(())
    }

    async fn send_batch(&self, kind: QueueKind, messages: &[(Value, i64)]) -> Result<(), String> {
        if self.fail.get() {
            return Err("injected: the queue refused the batch".into());
        }
        self.batches.set(self.batches.get() + 1);
        let mut sent = self.sent.borrow_mut();
        sent.extend(
            messages
                .iter()
                .map(|(body, delay)| (kind, body.clone(), *delay)),
        );
        Ok(())
    }
}

impl MemoryQueue {
    pub fn take(&self) -> Vec<(QueueKind, Value, i64)> {
        std::mem::take(&mut *self.sent.borrow_mut())
    }
}

/// An in-memory R2 that counts its Class A writes; while `outage` is set, every get and
/// delete fails.
#[derive(Default)]
pub struct MemoryBlobs {
    pub objects: RefCell<HashMap<String, Vec<u8>>>,
    pub puts: Cell<usize>,
    pub outage: Cell<bool>,
}

impl Blobs for MemoryBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), String> {
        self.puts.set(self.puts.get() + 1);
        self.objects.borrow_mut().insert(key.into(), bytes);
        Ok(())
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        if self.outage.get() {
            return Err("injected R2 outage".into());
        }
        Ok(self.objects.borrow().get(key).cloned())
    }
    async fn delete(&self, key: &str) -> Result<(), String> {
        if self.outage.get() {
            return Err("injected R2 outage".into());
        }
        self.objects.borrow_mut().remove(key);
        Ok(())
    }
}

/// The longest delay of one send in the native tests, unless a test lowers it.
pub const MAX_DELAY_SECONDS: i64 = 43_200;

/// Everything a flow needs, in memory, over database `D` (SQLite unless a test wraps it).
pub struct Fixture<D = Sqlite3> {
    pub db: D,
    pub queue: MemoryQueue,
    pub blobs: MemoryBlobs,
    pub clock: TestClock,
    pub entropy: Counter,
    pub max_delay: i64,
}

impl Fixture<Sqlite3> {
    pub fn new() -> Fixture<Sqlite3> {
        Fixture::over(Sqlite3::new())
    }
}

impl<D: Database> Fixture<D> {
    pub fn over(db: D) -> Fixture<D> {
        Fixture {
            db,
            queue: MemoryQueue::default(),
            blobs: MemoryBlobs::default(),
            clock: TestClock::default(),
            entropy: Counter::default(),
            max_delay: MAX_DELAY_SECONDS,
        }
    }

    pub fn io(&self) -> Io<'_, D, MemoryBlobs, MemoryQueue> {
        self.io_with(&self.db)
    }

    /// The same I/O over another database (one that wraps this fixture's, say).
    pub fn io_with<'a, E: Database>(&'a self, db: &'a E) -> Io<'a, E, MemoryBlobs, MemoryQueue> {
        Io {
            db,
            blobs: &self.blobs,
            sender: &self.queue,
            clock: &self.clock,
            entropy: &self.entropy,
            max_delay_seconds: self.max_delay,
        }
    }
}

/// A database whose next batch commits, then reports a failure (a lost reply).
pub struct LostReply<'a, D>(pub &'a D, pub Cell<bool>);

impl<'a, D> LostReply<'a, D> {
    pub fn new(db: &'a D) -> LostReply<'a, D> {
        LostReply(db, Cell::new(true))
    }
}

impl<D: Database> Database for LostReply<'_, D> {
    async fn batch(&self, statements: Vec<Statement>) -> Result<Vec<QueryResult>, String> {
        let results = self.0.batch(statements).await?;
        if self.1.replace(false) {
            return Err("injected: the reply was lost after the commit".into());
        }
        Ok(results)
    }
}
