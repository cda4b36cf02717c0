//! Retention: runs that ended more than `WORKFLOW_RETENTION_DAYS` ago are removed whole
//! (the run, its log in either line, its steps, hooks, waits, delivery records and
//! streams), so a busy database stays under D1's size cap. `start()` does it after
//! recovery (the example's cron calls `start()`), in bounded batches.
//!
//! Each batch of runs goes in one D1 batch, which D1 runs as one transaction: a run is
//! either all there or all gone. Only the R2 objects of large stream segments are deleted
//! after that commit (their keys are read in the same batch); one that fails to delete is
//! left unreferenced and counted, never a half-deleted run.
//!
//! Log order survives removal: `events.seq` and `stream_segments.seq` are rowids, and a
//! rowid SQLite reuses once a removed run's rows were the newest is still above every
//! remaining row, so each remaining log keeps its commit order (migrations/0001_init.sql).

use crate::model::{Millis, WorldError};
use crate::ports::{batch, query, Blobs, Database, Io};
use crate::sql::{Sql, SqlValue, Statement};

/// Runs removed per D1 batch: each statement binds them all (D1 allows 100 parameters).
pub const RUNS_PER_BATCH: usize = 50;
/// Batches one `start()` runs at most, so a cron invocation stays short; a backlog is
/// worked off over the following calls.
pub const BATCHES_PER_CALL: usize = 10;

const DAY_MS: f64 = 86_400_000.0;

/// `WORKFLOW_RETENTION_DAYS`: unset or empty keeps every run; otherwise a number of days
/// (fractions allowed, 0 removes ended runs at the next `start()`), as the age in ms.
pub fn parse_setting(text: Option<&str>) -> Result<Option<Millis>, WorldError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    match text.parse::<f64>() {
        Ok(days) if days.is_finite() && days >= 0.0 => Ok(Some((days * DAY_MS) as Millis)),
        _ => Err(WorldError::invalid(
            "INVALID_RETENTION",
            format!(
                "WORKFLOW_RETENTION_DAYS is {text:?}; allowed: a number of days >= 0 (e.g. \"30\" or \"0.5\"), or unset to keep every run"
            ),
        )),
    }
}

/// What one `start()` removed.
#[derive(Debug, Default, PartialEq)]
pub struct Removed {
    pub runs: usize,
    /// R2 objects of removed streams whose delete failed (unreferenced from then on).
    pub orphaned_objects: usize,
    /// More ended runs are due than one call removes.
    pub more: bool,
}

/// ` run_id IN (?, ?, …)` over `ids`.
fn in_runs(sql: &mut Sql, ids: &[String]) {
    sql.push(" run_id IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind_text(id);
    }
    sql.push(")");
}

/// The runs' streams, as a subquery.
fn streams_of(ids: &[String]) -> Sql {
    let mut sql = Sql::new("SELECT stream_name FROM stream_runs WHERE");
    in_runs(&mut sql, ids);
    sql
}

/// The batch removing `ids` (ended runs): first the R2 keys of their streams' segments,
/// then every row that names them, the runs last.
fn removal(ids: &[String]) -> Vec<Statement> {
    let streams = streams_of(ids).finish();
    let with_streams = |head: &str| {
        let mut sql = Sql::new(head);
        sql.push_bound(&streams.sql, streams.params.clone())
            .push(")");
        sql.finish()
    };
    let mut statements = vec![
        with_streams("SELECT object_key FROM stream_segments WHERE object_key IS NOT NULL AND stream_name IN ("),
        with_streams("DELETE FROM stream_segments WHERE stream_name IN ("),
    ];
    for table in [
        "stream_runs",
        "slots",
        "events",
        "steps",
        "hooks",
        "waits",
        "queue_deliveries",
    ] {
        let mut sql = Sql::new(&format!("DELETE FROM {table} WHERE"));
        in_runs(&mut sql, ids);
        statements.push(sql.finish());
    }
    let mut runs = Sql::new("DELETE FROM runs WHERE");
    in_runs(&mut runs, ids);
    runs.push(" AND status IN ('completed', 'failed', 'cancelled')");
    statements.push(runs.finish());
    statements
}

/// Removes runs that ended before `now - age`, oldest first, at most
/// `RUNS_PER_BATCH * BATCHES_PER_CALL` of them.
pub async fn remove_ended<D: Database, B: Blobs, S>(
    io: &Io<'_, D, B, S>,
    age: Millis,
) -> Result<Removed, WorldError> {
    let cutoff = io.clock.now().saturating_sub(age);
    let mut removed = Removed::default();
    for _ in 0..BATCHES_PER_CALL {
        // runs_by_status keeps each status's runs oldest first, so the due ones come first.
        let mut due = Sql::new(
            "SELECT run_id FROM runs WHERE status IN ('completed', 'failed', 'cancelled') AND COALESCE(completed_at, updated_at) < ",
        );
        due.bind(SqlValue::Integer(cutoff))
            .push(" LIMIT ")
            .bind_int(RUNS_PER_BATCH as i64 + 1);
        let mut ids = query(io.db, due.finish())
            .await?
            .iter()
            .map(|r| r.text("run_id"))
            .collect::<Result<Vec<_>, _>>()?;
        let has_more = ids.len() > RUNS_PER_BATCH;
        ids.truncate(RUNS_PER_BATCH);
        if ids.is_empty() {
            removed.more = false;
            break;
        }
        let results = batch(io.db, removal(&ids)).await?;
        removed.runs += ids.len();
        for row in results.first().map_or(&[][..], |r| &r.rows[..]) {
            if io.blobs.delete(&row.text("object_key")?).await.is_err() {
                removed.orphaned_objects += 1;
            }
        }
        removed.more = has_more;
        if !has_more {
            break;
        }
    }
    Ok(removed)
}

#[cfg(all(test, not(feature = "js")))]
mod tests;
