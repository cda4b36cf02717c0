//! The optional run members of the 5.x World (world-contract-v5 §9): `runs.getMany`,
//! `runs.waitForTerminalStatus` and `runs.cancelMany`.

use super::{columns, create_event, get_run, rows, RUN_PAYLOADS};
use crate::model::params::describe;
use crate::model::params::{CreateParams, ResolveData};
use crate::model::value::{self, entry, text};
use crate::model::{ErrorName, Line, Millis, Run, RunStatus, Value, WorldError};
use crate::ports::{batch, Blobs, Clock, Database, Io};
use crate::sql::{Sql, Statement};
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;

/// D1 binds at most 100 values per statement: ids are read this many at a time, all in
/// one batch.
const IDS_PER_STATEMENT: usize = 90;
/// The most ids one `runs.getMany` takes.
pub const GET_MANY_MAX_IDS: usize = 1000;
/// The most ids one `runs.cancelMany` takes (`BULK_CANCEL_MAX_RUN_IDS`).
pub const CANCEL_MANY_MAX_IDS: usize = 500;
/// The longest `cancelReason` (as for `run_cancelled`, world-contract-v5 §2.5).
const MAX_CANCEL_REASON: usize = 512;

fn refused(message: String) -> WorldError {
    WorldError::invalid("INVALID_ARGUMENT", message)
}

/// `runs.getMany`'s `ids` and `runs.cancelMany`'s `runIds`: an array of strings.
pub fn parse_ids(v: Option<&Value>, what: &str) -> Result<Vec<String>, WorldError> {
    let Some(Value::Array(items)) = v else {
        return Err(refused(format!(
            "{what} must be an array of run ids, got {}",
            v.map_or("undefined".into(), describe)
        )));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Text(id) => Ok(id.clone()),
            other => Err(refused(format!(
                "{what}[{i}] must be a run id (a string), got {}",
                describe(other)
            ))),
        })
        .collect()
}

/// `runs.waitForTerminalStatus`'s `timeoutMs`: a number of milliseconds ≥ 0; absent is 0.
pub fn parse_timeout(params: Option<&Value>) -> Result<Millis, WorldError> {
    match params.and_then(|p| value::get(p, "timeoutMs")) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => match value::number(v) {
            Some(ms) if ms.is_finite() && ms >= 0.0 => Ok(ms.ceil() as Millis),
            _ => Err(refused(format!(
                "runs.waitForTerminalStatus: `timeoutMs` must be a number of milliseconds ≥ 0, got {}",
                describe(v)
            ))),
        },
    }
}

/// `runs.cancelMany`'s request `{runIds, cancelReason?}`.
pub fn parse_cancel_request(
    request: Option<&Value>,
) -> Result<(Vec<String>, Option<String>), WorldError> {
    let ids = parse_ids(request.and_then(|r| value::get(r, "runIds")), "`runIds`")?;
    let reason = match request.and_then(|r| value::get(r, "cancelReason")) {
        None | Some(Value::Null) => None,
        Some(Value::Text(reason)) => Some(reason.clone()),
        Some(other) => {
            return Err(refused(format!(
                "`cancelReason` must be a string, got {}",
                describe(other)
            )))
        }
    };
    Ok((ids, reason))
}

/// `SELECT <columns> FROM runs WHERE run_id IN (…)`, `IDS_PER_STATEMENT` ids a statement.
fn select_runs(ids: &[&str], columns: &str) -> Vec<Statement> {
    ids.chunks(IDS_PER_STATEMENT)
        .map(|chunk| {
            let mut sql = Sql::new(&format!("SELECT {columns} FROM runs WHERE run_id IN ("));
            for (i, id) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind_text(id);
            }
            sql.push(")").finish()
        })
        .collect()
}

/// Each id once, in first-seen order.
fn unique(ids: &[String]) -> Vec<&str> {
    let mut seen = std::collections::HashSet::new();
    ids.iter()
        .map(String::as_str)
        .filter(|id| seen.insert(*id))
        .collect()
}

/// `runs.getMany(ids)`: the runs in the order of `ids`, `None` for an id with no run; one
/// round trip for up to 1,000 ids (none for none).
pub async fn get_many<D: Database>(
    db: &D,
    ids: &[String],
    resolve: ResolveData,
) -> Result<Vec<Option<Run>>, WorldError> {
    if ids.len() > GET_MANY_MAX_IDS {
        return Err(refused(format!(
            "runs.getMany: {} ids; allowed: at most {GET_MANY_MAX_IDS}",
            ids.len()
        )));
    }
    let wanted = unique(ids);
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = HashMap::new();
    for result in batch(db, select_runs(&wanted, &columns(resolve, RUN_PAYLOADS))).await? {
        for row in &result.rows {
            let run = rows::run(row)?;
            found.insert(run.run_id.clone(), run);
        }
    }
    Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
}

/// Waiting, as the store needs it: the Worker's timers, or a test's.
pub trait Timer {
    fn sleep(&self, ms: Millis) -> impl Future<Output = ()>;
}

/// The pause before the poll after `polls` polls of `waitForTerminalStatus`: 100 ms,
/// doubling to 1 s. A run that ends soon is seen within about 100 ms; a long wait reads
/// D1 about once a second (D1 serves one query at a time per database, so waiters must
/// not crowd it).
pub fn poll_delay(polls: u32) -> Millis {
    (100 << polls.min(4)).min(1000)
}

/// `runs.waitForTerminalStatus(id, {timeoutMs})`: the run once it is terminal, or its latest
/// state when `timeout_ms` has passed or `aborted()` says so; `WorkflowRunNotFoundError`
/// as `runs.get` throws it. A `timeout_ms` of 0 is one read.
pub async fn wait_for_terminal<D: Database, T: Timer>(
    db: &D,
    timer: &T,
    clock: &dyn Clock,
    run_id: &str,
    resolve: ResolveData,
    timeout_ms: Millis,
    aborted: impl Fn() -> bool,
) -> Result<Run, WorldError> {
    let deadline = clock.now() + timeout_ms.max(0);
    let mut polls = 0;
    loop {
        let run = get_run(db, run_id, resolve).await?;
        let left = deadline - clock.now();
        if run.status.is_terminal() || left <= 0 || aborted() {
            return Ok(run);
        }
        timer.sleep(poll_delay(polls).min(left)).await;
        polls += 1;
    }
}

/// One run's outcome in `runs.cancelMany` (`BulkCancelWorkflowRunResult`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CancelOutcome {
    #[serde(rename_all = "camelCase")]
    Cancelled { run_id: String },
    #[serde(rename_all = "camelCase")]
    AlreadyCancelled { run_id: String },
    #[serde(rename_all = "camelCase")]
    NotCancellable { run_id: String, status: String },
    #[serde(rename_all = "camelCase")]
    NotFound { run_id: String },
    #[serde(rename_all = "camelCase")]
    Failed {
        run_id: String,
        code: String,
        retryable: bool,
    },
}

/// `runs.cancelMany`'s counts of each outcome.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct CancelSummary {
    pub requested: usize,
    pub cancelled: usize,
    pub already_cancelled: usize,
    pub not_cancellable: usize,
    pub not_found: usize,
    pub failed: usize,
}

/// What `runs.cancelMany` resolves to (`BulkCancelWorkflowRunsResult`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct CancelMany {
    pub summary: CancelSummary,
    pub results: Vec<CancelOutcome>,
}

/// `runs.cancelMany({runIds, cancelReason})`: checks the request (1 to 500 distinct ids, a
/// reason of at most 512 characters), reads every run's status in one round trip, and
/// cancels each run that is not over with a `run_cancelled` of its own line (one round trip
/// each). Results keep the order of `runIds`.
pub async fn cancel_many<D: Database, B: Blobs, S>(
    io: &Io<'_, D, B, S>,
    run_ids: &[String],
    cancel_reason: Option<&str>,
) -> Result<CancelMany, WorldError> {
    if run_ids.is_empty() || run_ids.len() > CANCEL_MANY_MAX_IDS {
        return Err(refused(format!(
            "runs.cancelMany: {} runIds; allowed: 1 to {CANCEL_MANY_MAX_IDS}",
            run_ids.len()
        )));
    }
    if unique(run_ids).len() != run_ids.len() {
        return Err(refused(
            "runs.cancelMany: runIds must not contain duplicates".into(),
        ));
    }
    if let Some(reason) = cancel_reason {
        let length = reason.encode_utf16().count();
        if length > MAX_CANCEL_REASON {
            return Err(refused(format!(
                "runs.cancelMany: cancelReason is {length} characters; allowed: at most {MAX_CANCEL_REASON}"
            )));
        }
    }
    let ids: Vec<&str> = run_ids.iter().map(String::as_str).collect();
    let mut found: HashMap<String, (RunStatus, Option<i64>)> = HashMap::new();
    for result in batch(io.db, select_runs(&ids, "run_id, status, spec_version")).await? {
        for row in &result.rows {
            let status = row.parsed("status", RunStatus::parse)?;
            found.insert(row.text("run_id")?, (status, row.opt_int("spec_version")?));
        }
    }
    let mut event = vec![text("eventType", "run_cancelled")];
    if let Some(reason) = cancel_reason {
        event.push(entry(
            "eventData",
            Value::Map(vec![text("cancelReason", reason)]),
        ));
    }
    let event = Value::Map(event);
    let mut results = Vec::with_capacity(run_ids.len());
    for run_id in run_ids {
        let run_id = run_id.clone();
        let outcome = match found.get(&run_id) {
            None => CancelOutcome::NotFound { run_id },
            Some((RunStatus::Cancelled, _)) => CancelOutcome::AlreadyCancelled { run_id },
            Some((status, _)) if status.is_terminal() => CancelOutcome::NotCancellable {
                run_id,
                status: status.as_str().to_owned(),
            },
            Some((_, spec_version)) => {
                let line = Line::of_run(*spec_version);
                let params = CreateParams {
                    resolve_data: ResolveData::None,
                    ..CreateParams::default()
                };
                match create_event(io, line, Some(&run_id), &event, &params).await {
                    Ok(_) => CancelOutcome::Cancelled { run_id },
                    Err(e) => after_failed_cancel(io.db, run_id, e).await,
                }
            }
        };
        results.push(outcome);
    }
    let mut summary = CancelSummary {
        requested: results.len(),
        ..CancelSummary::default()
    };
    for outcome in &results {
        *match outcome {
            CancelOutcome::Cancelled { .. } => &mut summary.cancelled,
            CancelOutcome::AlreadyCancelled { .. } => &mut summary.already_cancelled,
            CancelOutcome::NotCancellable { .. } => &mut summary.not_cancellable,
            CancelOutcome::NotFound { .. } => &mut summary.not_found,
            CancelOutcome::Failed { .. } => &mut summary.failed,
        } += 1;
    }
    Ok(CancelMany { summary, results })
}

/// A cancel the run refused after the status read: it ended (or went) in between, or the
/// write failed.
async fn after_failed_cancel<D: Database>(db: &D, run_id: String, e: WorldError) -> CancelOutcome {
    match e.name {
        ErrorName::WorkflowRunNotFound => CancelOutcome::NotFound { run_id },
        ErrorName::EntityConflict => match get_run(db, &run_id, ResolveData::None).await {
            Ok(run) if run.status == RunStatus::Cancelled => {
                CancelOutcome::AlreadyCancelled { run_id }
            }
            Ok(run) => CancelOutcome::NotCancellable {
                run_id,
                status: run.status.as_str().to_owned(),
            },
            Err(read) => failed(run_id, &read),
        },
        _ => failed(run_id, &e),
    }
}

fn failed(run_id: String, e: &WorldError) -> CancelOutcome {
    CancelOutcome::Failed {
        run_id,
        code: e.code.unwrap_or(e.name.as_str()).to_owned(),
        retryable: e.status.is_none_or(|s| s >= 500),
    }
}

#[cfg(all(test, not(feature = "js")))]
mod tests;
