//! What the World needs from outside the crate, as traits, and the one bundle every flow
//! takes. `src/wasm` implements them over the Worker's bindings; `src/testing.rs` over
//! SQLite and in-memory fakes for the native tests.

use crate::model::{Millis, Value, WorldError};
use crate::sql::{QueryResult, Statement};
use std::future::Future;

/// A database that runs a list of statements as one atomic transaction and one round
/// trip: D1's `batch()`, or SQLite in the native tests.
pub trait Database {
    fn batch(
        &self,
        statements: Vec<Statement>,
    ) -> impl Future<Output = Result<Vec<QueryResult>, String>>;
}

/// Blob storage (R2): payloads too large for a D1 row or a queue message, and stream
/// segments too large to keep inline.
pub trait Blobs {
    fn put(&self, key: &str, bytes: Vec<u8>) -> impl Future<Output = Result<(), String>>;
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, String>>;
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), String>>;

    /// `length` bytes from `offset`: stores that can read a range override this.
    fn get_range(
        &self,
        key: &str,
        offset: u64,
        length: u64,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, String>> {
        async move {
            Ok(self.get(key).await?.map(|b| {
                let start = (offset as usize).min(b.len());
                b[start..(start + length as usize).min(b.len())].to_vec()
            }))
        }
    }
}

/// Which physical queue a logical queue name goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueKind {
    Workflow,
    Step,
}

impl QueueKind {
    /// The route of the app that serves it (`/.well-known/workflow/v1/<route>`).
    pub fn route(self) -> &'static str {
        match self {
            QueueKind::Workflow => "flow",
            QueueKind::Step => "step",
        }
    }
}

/// The queue producers: one physical queue per [`QueueKind`].
pub trait Sender {
    fn send(
        &self,
        kind: QueueKind,
        body: &Value,
        delay_seconds: i64,
    ) -> impl Future<Output = Result<(), String>>;

    /// Several messages `(body, delay_seconds)` in one call, all or none; queues that can
    /// (Queues' `sendBatch`) override this.
    fn send_batch(
        &self,
        kind: QueueKind,
        messages: &[(Value, i64)],
    ) -> impl Future<Output = Result<(), String>> {
        async move {
            for (body, delay) in messages {
                self.send(kind, body, *delay).await?;
            }
            Ok(())
        }
    }
}

pub trait Clock {
    fn now(&self) -> Millis;
}

/// Random bits for new ids: apart from the clock, so tests can fix either.
pub trait Entropy {
    fn random(&self) -> u128;
}

/// Everything a flow reaches outside the crate.
pub struct Io<'a, D, B, S> {
    pub db: &'a D,
    pub blobs: &'a B,
    pub sender: &'a S,
    pub clock: &'a dyn Clock,
    pub entropy: &'a dyn Entropy,
    /// The longest delay one queue send asks for (the Queues limit; lower in tests).
    pub max_delay_seconds: i64,
}

/// A failed batch is the database's failure, never the caller's: core retries status ≥ 500.
pub fn db_error(message: String) -> WorldError {
    WorldError::unavailable(format!("D1 batch failed: {message}"))
}

/// One batch: one round trip, one transaction. Every D1 call of the crate goes here.
pub async fn batch<D: Database>(
    db: &D,
    statements: Vec<Statement>,
) -> Result<Vec<QueryResult>, WorldError> {
    db.batch(statements).await.map_err(db_error)
}

/// The rows of a single statement.
pub async fn query<D: Database>(
    db: &D,
    statement: Statement,
) -> Result<Vec<crate::sql::Row>, WorldError> {
    let mut results = batch(db, vec![statement]).await?;
    Ok(results.pop().map(|r| r.rows).unwrap_or_default())
}

/// A storage or queue service failed: retryable (status 503).
pub fn unavailable(what: &str, e: String) -> WorldError {
    WorldError::unavailable(format!("{what} failed: {e}"))
}
