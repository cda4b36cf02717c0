//! Test doubles shared by the native unit tests: the store's SQL on real SQLite.

use crate::model::Millis;
use crate::store::rows::Row;
use crate::store::sql::{SqlValue, Statement};
use crate::store::{Clock, Database, QueryResult};
use rusqlite::types::{Value as Sqlite, ValueRef};
use std::cell::{Cell, RefCell};

pub struct Sqlite3 {
    pub conn: rusqlite::Connection,
    pub round_trips: Cell<usize>,
    /// Run before the next batch: another writer that gets in first.
    pub before_next: RefCell<Option<Vec<Statement>>>,
}

impl Sqlite3 {
    pub fn new() -> Sqlite3 {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for migration in [
            include_str!("../migrations/0001_init.sql"),
            include_str!("../migrations/0002_queue.sql"),
            include_str!("../migrations/0003_streams.sql"),
            include_str!("../migrations/0004_delivery_attempt.sql"),
        ] {
            conn.execute_batch(migration).unwrap();
        }
        Sqlite3 {
            conn,
            round_trips: Cell::new(0),
            before_next: RefCell::new(None),
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

pub struct FixedClock(pub Cell<u128>);

impl Clock for FixedClock {
    fn now(&self) -> Millis {
        1_764_000_000_000
    }
    fn random(&self) -> u128 {
        self.0.set(self.0.get() + 1);
        self.0.get()
    }
}

// A run id whose ULID time is the fixed clock's now.
