//! D1: runs engine plans as single atomic batches, and serves the reads (contract §4).

pub mod rows;
pub mod sql;

use crate::engine::{self, Ctx, Decision, EventRequest, Kind, Plan, Reply, Snapshot};
use crate::model::params::{ReadParams, ResolveData, SortOrder};
use crate::model::{
    ids, Cursor, Event, Hook, Millis, Run, RunStatus, Step, Value, Wait, WorldError,
};
use crate::ports::{batch as run_batch, db_error, query, Database, Io};
use crate::sql::{first_row, QueryResult, Sql, SqlValue};
use serde::Serialize;
use sql::{Keys, PlanBatch, ReplyReads};
use tsify::Tsify;

/// A conflicting write can change the state between a decision and its commit; each
/// round decides again on what the failed round read. Beyond this many rounds the
/// request gives up with a retryable error.
const MAX_ROUNDS: usize = 4;

/// What `events.create` resolves to (contract §2.8).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct EventResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook: Option<Hook>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<Wait>,
    /// `run_started`'s preloaded log: `events`, `cursor` and `hasMore`, all or none.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogPage>,
}

/// A part of a run's log returned with a write.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct LogPage {
    pub events: Vec<Event>,
    pub cursor: Cursor,
    pub has_more: bool,
}

fn read_reply(
    results: &[QueryResult],
    reads: &ReplyReads,
    resolve: ResolveData,
) -> Result<EventResult, WorldError> {
    let entity = |index: Option<usize>| index.and_then(|i| first_row(results, i));
    let mut out = EventResult {
        run: entity(reads.run).map(rows::run).transpose()?,
        step: entity(reads.step).map(rows::step).transpose()?,
        hook: entity(reads.hook).map(rows::hook).transpose()?,
        wait: entity(reads.wait).map(rows::wait).transpose()?,
        ..EventResult::default()
    };
    if let Some(i) = reads.log {
        let rows = results.get(i).map_or(&[][..], |r| &r.rows[..]);
        let mut events = rows
            .iter()
            .map(rows::event)
            .collect::<Result<Vec<_>, _>>()?;
        let has_more = events.len() as i64 > sql::PRELOAD_LIMIT;
        events.truncate(sql::PRELOAD_LIMIT as usize);
        out.log = Some(LogPage {
            cursor: Cursor(events.last().map(|(_, seq)| seq_cursor(*seq))),
            has_more,
            events: events
                .into_iter()
                .map(|(e, _)| resolve_event(e, resolve))
                .collect(),
        });
    }
    Ok(out)
}

fn resolve_event(e: Event, resolve: ResolveData) -> Event {
    match resolve {
        ResolveData::All => e,
        ResolveData::None => e.without_refs(),
    }
}

fn token_of(req: &EventRequest) -> Option<&str> {
    match &req.kind {
        Kind::HookCreated { token, .. } => Some(token),
        _ => None,
    }
}

/// `events.create(runId, data, {resolveData})` (contract §3).
pub async fn create_event<D: Database, B, S>(
    io: &Io<'_, D, B, S>,
    run_id: Option<&str>,
    data: &Value,
    resolve: ResolveData,
) -> Result<EventResult, WorldError> {
    let db = io.db;
    let req = EventRequest::parse(data)?;
    let now = io.clock.now();
    let run_id = engine::resolve_run_id(run_id, &req, now, io.entropy.random())?;
    let ctx = Ctx {
        now,
        event_ids: [
            ids::new_id(ids::EVENT_PREFIX, now, io.entropy.random()),
            ids::new_id(ids::EVENT_PREFIX, now, io.entropy.random()),
        ],
    };
    let keys = Keys {
        run_id: &run_id,
        correlation_id: req.correlation(),
        token: token_of(&req),
    };

    // Round one decides on the state the event usually meets; if that guess is wrong,
    // the same batch has read the real state for the next round.
    let mut decision = engine::decide(&req, &run_id, &Snapshot::expected(&req), &ctx);
    let mut last: Option<(Vec<QueryResult>, ReplyReads)> = None;
    if !matches!(decision, Ok(Decision::Commit(_))) {
        let results = run_batch(db, vec![sql::snapshot(&keys)]).await?;
        decision = engine::decide(&req, &run_id, &read_snapshot(&results)?, &ctx);
    }
    for _ in 0..MAX_ROUNDS {
        match decision? {
            Decision::Commit(plan) => {
                let batch = sql::plan_batch(&plan, &keys);
                let results = run_batch(db, batch.statements.clone()).await?;
                if committed(&results, &batch) {
                    return reply_for(&plan, &results, &batch.reads, resolve);
                }
                decision = engine::decide(&req, &run_id, &read_snapshot(&results)?, &ctx);
                last = Some((results, batch.reads));
            }
            Decision::Unchanged(reply) => return unchanged(db, &keys, &reply, last, resolve).await,
        }
    }
    Err(WorldError::unavailable(format!(
        "{} on run \"{run_id}\" lost {MAX_ROUNDS} races with concurrent writes; retry it",
        req.event_type.as_str()
    )))
}

fn read_snapshot(results: &[QueryResult]) -> Result<Snapshot, WorldError> {
    rows::snapshot(
        first_row(results, 0)
            .ok_or_else(|| db_error("the snapshot read returned no row".into()))?,
    )
}

fn committed(results: &[QueryResult], batch: &PlanBatch) -> bool {
    results.get(batch.marker).is_some_and(|r| r.changes == 1)
}

fn reply_for(
    plan: &Plan,
    results: &[QueryResult],
    reads: &ReplyReads,
    resolve: ResolveData,
) -> Result<EventResult, WorldError> {
    let mut out = read_reply(results, reads, resolve)?;
    out.event = plan
        .events
        .last()
        .cloned()
        .map(|e| resolve_event(e, resolve));
    Ok(out)
}

/// A decision to write nothing: reply with the current state, reusing the reads of the
/// round that found it when they cover the reply.
async fn unchanged<D: Database>(
    db: &D,
    keys: &Keys<'_>,
    reply: &Reply,
    last: Option<(Vec<QueryResult>, ReplyReads)>,
    resolve: ResolveData,
) -> Result<EventResult, WorldError> {
    let covered = |reads: &ReplyReads| {
        (!reply.run || reads.run.is_some())
            && (!reply.step || reads.step.is_some())
            && (!reply.hook || reads.hook.is_some())
            && (!reply.wait || reads.wait.is_some())
    };
    let (results, mut reads) = match last {
        Some((results, reads)) if covered(&reads) => (results, reads),
        _ => {
            let mut statements = Vec::new();
            let reads = sql::reply_reads(&mut statements, reply, keys);
            (run_batch(db, statements).await?, reads)
        }
    };
    reads.log = None;
    read_reply(&results, &reads, resolve)
}

// ---- reads (contract §4) ----

/// A page of a list (`PaginatedResponse`, contract §2.9).
#[derive(Clone, Debug, PartialEq, Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub data: Vec<T>,
    pub cursor: Cursor,
    pub has_more: bool,
}

fn invalid_cursor(cursor: &str) -> WorldError {
    WorldError::invalid(
        "INVALID_CURSOR",
        format!("Invalid cursor '{cursor}': pass a cursor returned by the same list, or none to start from the beginning"),
    )
}

/// Event lists page by log position.
fn seq_cursor(seq: i64) -> String {
    format!("s{seq}")
}

fn parse_seq_cursor(cursor: &str) -> Result<i64, WorldError> {
    cursor
        .strip_prefix('s')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| invalid_cursor(cursor))
}

/// Entity lists page by `(createdAt, id)`.
fn keyset_cursor(created_at: Millis, id: &str) -> String {
    format!("k{created_at}:{id}")
}

fn parse_keyset_cursor(cursor: &str) -> Result<(Millis, String), WorldError> {
    let rest = cursor
        .strip_prefix('k')
        .ok_or_else(|| invalid_cursor(cursor))?;
    let (at, id) = rest.split_once(':').ok_or_else(|| invalid_cursor(cursor))?;
    Ok((
        at.parse().map_err(|_| invalid_cursor(cursor))?,
        id.to_owned(),
    ))
}

fn order(o: SortOrder) -> (&'static str, &'static str) {
    match o {
        SortOrder::Asc => ("ASC", ">"),
        SortOrder::Desc => ("DESC", "<"),
    }
}

fn page_of<T>(mut items: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> Page<T> {
    let has_more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    // Non-null for the last item of any non-empty page, even without more (§4).
    let cursor = Cursor(items.last().map(cursor_of));
    Page {
        data: items,
        cursor,
        has_more,
    }
}

/// Columns of an entity read; `resolveData: 'none'` leaves the payloads in the database.
fn columns(resolve: ResolveData, payloads: &[&str]) -> String {
    match resolve {
        ResolveData::All => "*".into(),
        ResolveData::None => {
            let nulls: Vec<String> = payloads.iter().map(|c| format!("NULL AS {c}")).collect();
            format!("*, {}", nulls.join(", "))
        }
    }
}

const RUN_PAYLOADS: &[&str] = &["input", "output"];
const STEP_PAYLOADS: &[&str] = &["input", "output"];
const HOOK_PAYLOADS: &[&str] = &["metadata"];

/// Later columns of the same name win when a row is read, so `*, NULL AS input`
/// hides the payload.
pub async fn get_run<D: Database>(
    db: &D,
    run_id: &str,
    resolve: ResolveData,
) -> Result<Run, WorldError> {
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM runs WHERE run_id = ",
        columns(resolve, RUN_PAYLOADS)
    ));
    let rows = query(db, sql.bind_text(run_id).finish()).await?;
    rows.first()
        .map(rows::run)
        .transpose()?
        .ok_or_else(|| WorldError::run_not_found(run_id))
}

pub async fn list_runs<D: Database>(db: &D, p: &ReadParams) -> Result<Page<Run>, WorldError> {
    let (dir, cmp) = order(p.page.sort_order);
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM runs WHERE 1",
        columns(p.resolve_data, RUN_PAYLOADS)
    ));
    if let Some(name) = &p.workflow_name {
        sql.push(" AND workflow_name = ").bind_text(name);
    }
    if let Some(status) = &p.status {
        let status = RunStatus::parse(status).ok_or_else(|| {
            WorldError::invalid(
                "INVALID_PARAMS",
                format!("Invalid `status` '{status}'; allowed: pending, running, completed, failed, cancelled"),
            )
        })?;
        sql.push(" AND status = ").bind_text(status.as_str());
    }
    if let Some(cursor) = &p.page.cursor {
        let (at, id) = parse_keyset_cursor(cursor)?;
        sql.push(&format!(" AND (created_at, run_id) {cmp} ("))
            .bind(SqlValue::Integer(at))
            .push(", ")
            .bind_text(&id)
            .push(")");
    }
    sql.push(&format!(" ORDER BY created_at {dir}, run_id {dir} LIMIT "))
        .bind(SqlValue::Integer(p.page.limit + 1));
    let runs = query(db, sql.finish())
        .await?
        .iter()
        .map(rows::run)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_of(runs, p.page.limit, |r| {
        keyset_cursor(r.created_at.0, &r.run_id)
    }))
}

pub async fn get_step<D: Database>(
    db: &D,
    run_id: Option<&str>,
    step_id: &str,
    resolve: ResolveData,
) -> Result<Step, WorldError> {
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM steps WHERE step_id = ",
        columns(resolve, STEP_PAYLOADS)
    ));
    sql.bind_text(step_id);
    if let Some(run_id) = run_id {
        sql.push(" AND run_id = ").bind_text(run_id);
    }
    sql.push(" LIMIT 1");
    let rows = query(db, sql.finish()).await?;
    rows.first()
        .map(rows::step)
        .transpose()?
        .ok_or_else(|| match run_id {
            Some(run_id) => {
                WorldError::not_found(format!("Step \"{step_id}\" not found in run \"{run_id}\""))
            }
            None => WorldError::not_found(format!("Step \"{step_id}\" not found")),
        })
}

pub async fn list_steps<D: Database>(db: &D, p: &ReadParams) -> Result<Page<Step>, WorldError> {
    let run_id = p.run_id.as_deref().ok_or_else(|| {
        WorldError::invalid(
            "INVALID_PARAMS",
            "steps.list needs `runId` (the run whose steps to list)",
        )
    })?;
    let (dir, cmp) = order(p.page.sort_order);
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM steps WHERE run_id = ",
        columns(p.resolve_data, STEP_PAYLOADS)
    ));
    sql.bind_text(run_id);
    if let Some(cursor) = &p.page.cursor {
        let (at, id) = parse_keyset_cursor(cursor)?;
        sql.push(&format!(" AND (created_at, step_id) {cmp} ("))
            .bind(SqlValue::Integer(at))
            .push(", ")
            .bind_text(&id)
            .push(")");
    }
    sql.push(&format!(" ORDER BY created_at {dir}, step_id {dir} LIMIT "))
        .bind(SqlValue::Integer(p.page.limit + 1));
    let steps = query(db, sql.finish())
        .await?
        .iter()
        .map(rows::step)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_of(steps, p.page.limit, |s| {
        keyset_cursor(s.created_at.0, &s.step_id)
    }))
}

pub async fn get_event<D: Database>(
    db: &D,
    run_id: &str,
    event_id: &str,
    resolve: ResolveData,
) -> Result<Event, WorldError> {
    let mut sql = Sql::new("SELECT * FROM events WHERE event_id = ");
    sql.bind_text(event_id)
        .push(" AND run_id = ")
        .bind_text(run_id);
    let rows = query(db, sql.finish()).await?;
    let (event, _) = rows.first().map(rows::event).transpose()?.ok_or_else(|| {
        WorldError::not_found(format!(
            "Event \"{event_id}\" not found in run \"{run_id}\""
        ))
    })?;
    Ok(resolve_event(event, resolve))
}

/// `events.list` (by run) and `events.listByCorrelationId` (across runs unless a run is given).
pub async fn list_events<D: Database>(db: &D, p: &ReadParams) -> Result<Page<Event>, WorldError> {
    let (dir, cmp) = order(p.page.sort_order);
    let mut sql = Sql::new("SELECT * FROM events WHERE 1");
    match (&p.run_id, &p.correlation_id) {
        (None, None) => {
            return Err(WorldError::invalid(
                "INVALID_PARAMS",
                "events.list needs `runId`; events.listByCorrelationId needs `correlationId`",
            ))
        }
        (run_id, correlation_id) => {
            if let Some(c) = correlation_id {
                sql.push(" AND correlation_id = ").bind_text(c);
            }
            if let Some(r) = run_id {
                sql.push(" AND run_id = ").bind_text(r);
            }
        }
    }
    if let Some(cursor) = &p.page.cursor {
        sql.push(&format!(" AND seq {cmp} "))
            .bind(SqlValue::Integer(parse_seq_cursor(cursor)?));
    }
    sql.push(&format!(" ORDER BY seq {dir} LIMIT "))
        .bind(SqlValue::Integer(p.page.limit + 1));
    let events = query(db, sql.finish())
        .await?
        .iter()
        .map(rows::event)
        .collect::<Result<Vec<_>, _>>()?;
    let page = page_of(events, p.page.limit, |(_, seq)| seq_cursor(*seq));
    Ok(Page {
        data: page
            .data
            .into_iter()
            .map(|(e, _)| resolve_event(e, p.resolve_data))
            .collect(),
        cursor: page.cursor,
        has_more: page.has_more,
    })
}

pub async fn get_hook<D: Database>(
    db: &D,
    hook_id: &str,
    resolve: ResolveData,
) -> Result<Hook, WorldError> {
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM hooks WHERE hook_id = ",
        columns(resolve, HOOK_PAYLOADS)
    ));
    let rows = query(db, sql.bind_text(hook_id).finish()).await?;
    rows.first()
        .map(rows::hook)
        .transpose()?
        .ok_or_else(|| WorldError::hook_not_found(hook_id))
}

pub async fn get_hook_by_token<D: Database>(
    db: &D,
    token: &str,
    resolve: ResolveData,
) -> Result<Hook, WorldError> {
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM hooks WHERE token = ",
        columns(resolve, HOOK_PAYLOADS)
    ));
    let rows = query(db, sql.bind_text(token).finish()).await?;
    rows.first()
        .map(rows::hook)
        .transpose()?
        .ok_or_else(|| WorldError::hook_not_found(token))
}

pub async fn list_hooks<D: Database>(db: &D, p: &ReadParams) -> Result<Page<Hook>, WorldError> {
    let (dir, cmp) = order(p.page.sort_order);
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM hooks WHERE 1",
        columns(p.resolve_data, HOOK_PAYLOADS)
    ));
    if let Some(run_id) = &p.run_id {
        sql.push(" AND run_id = ").bind_text(run_id);
    }
    if let Some(cursor) = &p.page.cursor {
        let (at, id) = parse_keyset_cursor(cursor)?;
        sql.push(&format!(" AND (created_at, hook_id) {cmp} ("))
            .bind(SqlValue::Integer(at))
            .push(", ")
            .bind_text(&id)
            .push(")");
    }
    sql.push(&format!(" ORDER BY created_at {dir}, hook_id {dir} LIMIT "))
        .bind(SqlValue::Integer(p.page.limit + 1));
    let hooks = query(db, sql.finish())
        .await?
        .iter()
        .map(rows::hook)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_of(hooks, p.page.limit, |h| {
        keyset_cursor(h.created_at.0, &h.hook_id)
    }))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
