//! D1: runs engine plans as single atomic batches, and serves the reads (contract §4).

pub mod batch;
mod purge;
pub mod retention;
pub mod rows;
pub mod runs;
pub mod sql;

use crate::engine::{self, Ctx, Decision, Era, EventRequest, Kind, Plan, Reply, Resume, Snapshot};
use crate::model::params::{CreateParams, Page as PageParams, ReadParams, ResolveData, SortOrder};
use crate::model::{
    ids, Cursor, Event, Hook, Line, Millis, Run, RunStatus, Step, Value, Wait, WorldError,
};
use crate::ports::{batch as run_batch, db_error, query, Blobs, Database, Io};
use crate::sql::{first_row, QueryResult, Row, Sql, SqlValue};
use serde::Serialize;
use sql::{Keys, PlanBatch, ReplyReads, SlotReads};

/// A conflicting write can change the state between a decision and its commit; each
/// round decides again on what the failed round read. Beyond this many rounds the
/// request gives up with a retryable error.
const MAX_ROUNDS: usize = 4;

/// What `events.create` resolves to (contract §2.8).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
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
    /// 5.x lazy `step_started`: the step was created by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "js", tsify(type = "true"))]
    pub step_created: Option<bool>,
    /// `run_started`'s preloaded log, or a slot run's delta or report: `events`, `cursor`
    /// and `hasMore`, all or none.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub log: Option<LogPage>,
}

/// A part of a run's log returned with a write.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
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
        let (events, has_more) = page_events(results, i)?;
        out.log = Some(LogPage {
            cursor: Cursor(events.last().map(|(_, seq)| seq_cursor(*seq))),
            has_more,
            events: resolved(events, resolve),
        });
    }
    Ok(out)
}

/// The events of the `index`-th result, at most [`sql::PRELOAD_LIMIT`], and whether there
/// were more.
fn page_events(
    results: &[QueryResult],
    index: usize,
) -> Result<(Vec<(Event, i64)>, bool), WorldError> {
    let rows = results.get(index).map_or(&[][..], |r| &r.rows[..]);
    let mut events = rows
        .iter()
        .map(rows::event)
        .collect::<Result<Vec<_>, _>>()?;
    let has_more = events.len() as i64 > sql::PRELOAD_LIMIT;
    events.truncate(sql::PRELOAD_LIMIT as usize);
    Ok((events, has_more))
}

/// Events read from a log (a list, a preload, a report, `events.get`).
fn resolved(events: Vec<(Event, i64)>, resolve: ResolveData) -> Vec<Event> {
    events
        .into_iter()
        .map(|(e, _)| as_read(e, resolve))
        .collect()
}

/// An event as a log read returns it.
fn as_read(e: Event, resolve: ResolveData) -> Event {
    match resolve {
        ResolveData::All => e.with_ref_keys(),
        ResolveData::None => e.without_refs(),
    }
}

fn resolve_event(e: Event, resolve: ResolveData) -> Event {
    match resolve {
        ResolveData::All => e,
        ResolveData::None => e.without_refs(),
    }
}

/// Whether the request claims its `(runId, correlationId)`: a workflow writer's `attr_set`.
fn claims_of(req: &EventRequest) -> bool {
    matches!(
        req.kind,
        Kind::AttrSet {
            claims_correlation: true,
            ..
        }
    )
}

fn token_of(req: &EventRequest) -> Option<&str> {
    match &req.kind {
        Kind::HookCreated { token, .. } => Some(token),
        _ => None,
    }
}

/// What a slot run's write returns of its log besides the event (world-contract-v5
/// §3.4–3.6): the delta after `sinceCursor`, or the events in the slots a stale
/// `eventCount` skipped, or `run_started`'s preload.
#[derive(Clone, Copy, Debug, PartialEq)]
enum LogAnswer {
    None,
    Delta(i64),
    Report(i64),
    Preload,
}

impl LogAnswer {
    fn of(params: &CreateParams, since: Option<i64>, reply: &Reply) -> LogAnswer {
        match (since, params.event_count) {
            (Some(slot), _) => LogAnswer::Delta(slot),
            (None, Some(count)) => LogAnswer::Report(count),
            (None, None) if reply.log && !params.skip_preload => LogAnswer::Preload,
            (None, None) => LogAnswer::None,
        }
    }

    fn span_from(self) -> Option<i64> {
        match self {
            LogAnswer::None => None,
            LogAnswer::Delta(slot) | LogAnswer::Report(slot) => Some(slot),
            LogAnswer::Preload => Some(0),
        }
    }
}

/// `events.create(runId, data, params)` (contract §3; world-contract-v5 §3–§4) as `line`
/// writes it.
pub async fn create_event<D: Database, B: Blobs, S>(
    io: &Io<'_, D, B, S>,
    line: Line,
    run_id: Option<&str>,
    data: &Value,
    params: &CreateParams,
) -> Result<EventResult, WorldError> {
    let db = io.db;
    let now = io.clock.now();
    let resume = params.resume_id.clone().map(|id| Resume {
        id,
        digest: params.resume_digest.clone(),
    });
    let req = EventRequest::parse(data, line, now, resume)?;
    let since = params
        .since_cursor
        .as_deref()
        .filter(|_| line == Line::V5)
        .map(parse_slot_cursor)
        .transpose()?;
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
        resume_id: req.resume.as_ref().map(|r| r.id.as_str()),
        resume_digest: req.resume.as_ref().and_then(|r| r.digest.as_deref()),
        claims_correlation: claims_of(&req),
        now,
    };
    // Marks the slot rows this request's batches write (their commit marker). 53 bits: it
    // crosses to D1 as a JS number, which holds integers exactly only up to 2^53.
    let batch_id = (io.entropy.random() as u64 & ((1 << 53) - 1)) as i64;

    // Round one decides on the state the event usually meets; if that guess is wrong,
    // the same batch has read the real state for the next round.
    let mut decision = engine::decide(&req, &run_id, &Snapshot::expected(&req), &ctx);
    if !matches!(decision, Ok(Decision::Commit(_))) {
        let results = run_batch(db, vec![sql::snapshot(&keys)]).await?;
        decision = engine::decide(&req, &run_id, &read_snapshot(&results)?, &ctx);
    }
    // The reads of the last failed round: they saw the state the next decision is made
    // on, so a decision to write nothing can often answer from them.
    let mut last: Option<(Vec<QueryResult>, ReplyReads)> = None;
    for _ in 0..MAX_ROUNDS {
        match decision? {
            Decision::Commit(plan) => {
                let answer = LogAnswer::of(params, since, &plan.reply);
                let span_from = if plan.slots { answer.span_from() } else { None };
                let batch = sql::plan_batch(&plan, &keys, batch_id, span_from);
                let results = run_batch(db, batch.statements.clone()).await?;
                if committed(&results, &batch) {
                    let out =
                        reply_for(&plan, &results, &batch.reads, params.resolve_data, answer)?;
                    if plan.purge {
                        purge::run_data(io, &run_id).await?;
                    }
                    return Ok(out);
                }
                decision = engine::decide(&req, &run_id, &read_snapshot(&results)?, &ctx);
                last = Some((results, batch.reads));
            }
            Decision::Unchanged(reply) => {
                let slots = line == Line::V5;
                let answer = LogAnswer::of(params, since, &reply);
                return unchanged(db, &keys, &reply, slots, answer, params.resolve_data, last)
                    .await;
            }
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
    answer: LogAnswer,
) -> Result<EventResult, WorldError> {
    let mut out = read_reply(results, reads, resolve)?;
    if plan.reply.step_created {
        out.step_created = Some(true);
    }
    if !plan.slots {
        out.event = plan
            .events
            .last()
            .cloned()
            .map(|e| resolve_event(e, resolve));
        return Ok(out);
    }
    // A slot run's events get their ids as they commit: read them back.
    let ours = match reads.ours {
        Some(i) => page_events(results, i)?.0,
        None => Vec::new(),
    };
    let first_slot = ours.first().map(|(_, slot)| *slot);
    out.event = ours.last().cloned().map(|(e, _)| resolve_event(e, resolve));
    out.log = slot_log(results, reads.span, answer, first_slot, resolve)?;
    Ok(out)
}

/// The log part of a slot run's answer.
fn slot_log(
    results: &[QueryResult],
    span: Option<usize>,
    answer: LogAnswer,
    first_committed: Option<i64>,
    resolve: ResolveData,
) -> Result<Option<LogPage>, WorldError> {
    let Some(i) = span else {
        return Ok(None);
    };
    let (events, truncated) = page_events(results, i)?;
    Ok(match answer {
        LogAnswer::None => None,
        LogAnswer::Delta(from) => {
            let last = events.last().map_or(from, |(_, slot)| *slot);
            Some(LogPage {
                cursor: Cursor(Some(slot_cursor(last))),
                has_more: truncated,
                events: resolved(events, resolve),
            })
        }
        LogAnswer::Preload => Some(LogPage {
            cursor: Cursor(events.last().map(|(_, slot)| slot_cursor(*slot))),
            has_more: truncated,
            events: resolved(events, resolve),
        }),
        // Bump and report: the writer expected slot `count + 1`; the events it missed are
        // reported when the commit landed later (§3.4).
        LogAnswer::Report(count) => match first_committed {
            Some(first) if first > count + 1 => {
                let skipped: Vec<_> = events
                    .into_iter()
                    .filter(|(_, slot)| *slot < first)
                    .collect();
                let reached = skipped.last().is_some_and(|(_, slot)| *slot == first - 1);
                Some(LogPage {
                    cursor: Cursor(None),
                    has_more: !reached,
                    events: resolved(skipped, resolve),
                })
            }
            _ => None,
        },
    })
}

/// A decision to write nothing: reply with the current state (a running run's
/// `run_started`, a repeated resume).
async fn unchanged<D: Database>(
    db: &D,
    keys: &Keys<'_>,
    reply: &Reply,
    slots: bool,
    answer: LogAnswer,
    resolve: ResolveData,
    last: Option<(Vec<QueryResult>, ReplyReads)>,
) -> Result<EventResult, WorldError> {
    let mut reply = *reply;
    if !slots {
        reply.log = false;
    }
    let covered = |reads: &ReplyReads| {
        (!reply.run || reads.run.is_some())
            && (!reply.step || reads.step.is_some())
            && (!reply.hook || reads.hook.is_some())
            && (!reply.wait || reads.wait.is_some())
            && (!slots || answer.span_from().is_none() || reads.span.is_some())
            && reply.committed.is_none()
    };
    let (results, reads, committed) = match last {
        Some((results, reads)) if covered(&reads) => (results, reads, None),
        _ => {
            let mut statements = Vec::new();
            let slot_reads = SlotReads {
                ours: 0,
                span_from: answer.span_from(),
            };
            let reads =
                sql::reply_reads(&mut statements, &reply, keys, slots.then_some(&slot_reads));
            let committed = reply.committed.map(|slot| {
                statements.push(sql::slot_event(keys.run_id, slot));
                statements.len() - 1
            });
            (run_batch(db, statements).await?, reads, committed)
        }
    };
    let mut out = read_reply(
        &results,
        &ReplyReads {
            log: None,
            ..reads.clone()
        },
        resolve,
    )?;
    if slots {
        out.log = slot_log(&results, reads.span, answer, None, resolve)?;
    }
    if let Some(i) = committed {
        out.event = page_events(&results, i)?
            .0
            .pop()
            .map(|(e, _)| resolve_event(e, resolve));
    }
    Ok(out)
}

// ---- reads (contract §4) ----

/// A page of a list (`PaginatedResponse`, contract §2.9).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
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

/// Event lists page by log position: `s<seq>` in a 4.x run's log (the `events` table),
/// `s:<slot>` in a slot log.
fn seq_cursor(seq: i64) -> String {
    format!("s{seq}")
}

fn slot_cursor(slot: i64) -> String {
    format!("s:{slot}")
}

/// Which log a cursor points into, and where.
#[derive(Clone, Copy, Debug, PartialEq)]
enum LogCursor {
    Seq(i64),
    Slot(i64),
}

fn parse_log_cursor(cursor: &str) -> Result<LogCursor, WorldError> {
    let number = |n: &str| n.parse::<i64>().ok().filter(|n| *n >= 0);
    if let Some(slot) = cursor.strip_prefix("s:") {
        return number(slot)
            .map(LogCursor::Slot)
            .ok_or_else(|| invalid_cursor(cursor));
    }
    cursor
        .strip_prefix('s')
        .and_then(number)
        .map(LogCursor::Seq)
        .ok_or_else(|| invalid_cursor(cursor))
}

fn parse_slot_cursor(cursor: &str) -> Result<i64, WorldError> {
    match parse_log_cursor(cursor)? {
        LogCursor::Slot(slot) => Ok(slot),
        LogCursor::Seq(_) => Err(invalid_cursor(cursor)),
    }
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

/// The rest of an entity list (runs, steps, hooks) after its filters: one keyset page by
/// `(created_at, <id_column>)` in the page's order, read and cut to `limit` with the
/// cursor of its last row.
async fn keyset_page<D: Database, T>(
    db: &D,
    mut sql: Sql,
    id_column: &str,
    page: &PageParams,
    row: impl Fn(&Row) -> Result<T, WorldError>,
    key: impl Fn(&T) -> (Millis, &str),
) -> Result<Page<T>, WorldError> {
    let (dir, cmp) = order(page.sort_order);
    if let Some(cursor) = &page.cursor {
        let (at, id) = parse_keyset_cursor(cursor)?;
        sql.push(&format!(" AND (created_at, {id_column}) {cmp} ("))
            .bind(SqlValue::Integer(at))
            .push(", ")
            .bind_text(&id)
            .push(")");
    }
    sql.push(&format!(
        " ORDER BY created_at {dir}, {id_column} {dir} LIMIT "
    ))
    .bind(SqlValue::Integer(page.limit + 1));
    let items = query(db, sql.finish())
        .await?
        .iter()
        .map(row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page_of(items, page.limit, |item| {
        let (at, id) = key(item);
        keyset_cursor(at, id)
    }))
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
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM runs WHERE 1",
        columns(p.resolve_data, RUN_PAYLOADS)
    ));
    if let Some(name) = &p.workflow_name {
        sql.push(" AND workflow_name = ").bind_text(name);
    }
    if let Some(statuses) = &p.status {
        let mut list = Vec::new();
        for status in statuses {
            list.push(RunStatus::parse(status).ok_or_else(|| {
                WorldError::invalid(
                    "INVALID_PARAMS",
                    format!("Invalid `status` '{status}'; allowed: pending, running, completed, failed, cancelled"),
                )
            })?);
        }
        if list.is_empty() {
            return Ok(page_of(Vec::new(), p.page.limit, |r: &Run| {
                r.run_id.clone()
            }));
        }
        let names: Vec<String> = list.iter().map(|s| format!("'{}'", s.as_str())).collect();
        sql.push(&format!(" AND status IN ({})", names.join(", ")));
    }
    keyset_page(db, sql, "run_id", &p.page, rows::run, |r| {
        (r.created_at.0, &r.run_id)
    })
    .await
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
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM steps WHERE run_id = ",
        columns(p.resolve_data, STEP_PAYLOADS)
    ));
    sql.bind_text(run_id);
    keyset_page(db, sql, "step_id", &p.page, rows::step, |s| {
        (s.created_at.0, &s.step_id)
    })
    .await
}

/// `events.get`: a slot id is looked up in the run's slot log, any other id in the 4.x log;
/// a spec ≥ 4 run has only slot ids, so another id there is a caller's mistake (400).
pub async fn get_event<D: Database>(
    db: &D,
    run_id: &str,
    event_id: &str,
    resolve: ResolveData,
) -> Result<Event, WorldError> {
    let statement = match ids::event_id_slot(event_id) {
        Some(slot) => sql::slot_event(run_id, slot),
        None => Sql::new("SELECT e.*, r.spec_version AS run_spec_version FROM runs r LEFT JOIN events e ON e.run_id = r.run_id AND e.event_id = ")
            .bind_text(event_id)
            .push(" WHERE r.run_id = ")
            .bind_text(run_id)
            .finish(),
    };
    let rows = query(db, statement).await?;
    let not_found = || {
        WorldError::not_found(format!(
            "Event \"{event_id}\" not found in run \"{run_id}\""
        ))
    };
    let Some(row) = rows.first() else {
        return Err(not_found());
    };
    if ids::event_id_slot(event_id).is_none() {
        if Era::of(row.opt_int("run_spec_version")?) == Era::V5 {
            return Err(WorldError::invalid(
                "INVALID_EVENT_ID",
                format!("Event id \"{event_id}\" is not a slot id; run \"{run_id}\" (spec 4 or later) has only slot ids: evnt_ followed by 26 digits"),
            ));
        }
        if row.opt_text("event_id")?.is_none() {
            return Err(not_found());
        }
    }
    let (event, _) = rows::event(row)?;
    Ok(as_read(event, resolve))
}

/// `events.list` (by run) and `events.listByCorrelationId` (across runs unless a run is
/// given). A run's events are in one log: `events` for a 4.x run, `slots` for a spec ≥ 4
/// run. A first page reads both in one batch (one of them is empty); a cursor says which.
pub async fn list_events<D: Database>(db: &D, p: &ReadParams) -> Result<Page<Event>, WorldError> {
    if p.run_id.is_none() && p.correlation_id.is_none() {
        return Err(WorldError::invalid(
            "INVALID_PARAMS",
            "events.list needs `runId`; events.listByCorrelationId needs `correlationId`",
        ));
    }
    let cursor = p.page.cursor.as_deref().map(parse_log_cursor).transpose()?;
    let mut statements = Vec::new();
    if !matches!(cursor, Some(LogCursor::Slot(_))) {
        statements.push(log_page("events", "seq", p, cursor));
    }
    if !matches!(cursor, Some(LogCursor::Seq(_))) {
        statements.push(log_page("slots", "slot", p, cursor));
    }
    let results = run_batch(db, statements).await?;
    let mut merged = Vec::new();
    for result in &results {
        for row in &result.rows {
            let (event, position) = rows::event(row)?;
            let cursor = match row.opt_int("slot")? {
                Some(_) => slot_cursor(position),
                None => seq_cursor(position),
            };
            merged.push((event, cursor));
        }
    }
    let page = page_of(merged, p.page.limit, |(_, cursor)| cursor.clone());
    Ok(Page {
        data: page
            .data
            .into_iter()
            .map(|(e, _)| as_read(e, p.resolve_data))
            .collect(),
        cursor: page.cursor,
        has_more: page.has_more,
    })
}

/// `events.list` as `line` serves it: a 5.x list without `limit` returns every remaining
/// event (world-contract-v5 §3.8), read in pages of the largest size; 4.x pages by default.
pub async fn list_events_of_line<D: Database>(
    db: &D,
    line: Line,
    p: &ReadParams,
) -> Result<Page<Event>, WorldError> {
    if line == Line::V4 || !p.page.unlimited {
        return list_events(db, p).await;
    }
    let mut p = p.clone();
    p.page.limit = crate::model::params::MAX_PAGE_SIZE;
    let mut all = list_events(db, &p).await?;
    while all.has_more {
        p.page.cursor = all.cursor.0.clone();
        let next = list_events(db, &p).await?;
        all.data.extend(next.data);
        all.cursor = next.cursor;
        all.has_more = next.has_more;
    }
    Ok(all)
}

/// One log's page of [`list_events`].
fn log_page(
    table: &str,
    position: &str,
    p: &ReadParams,
    cursor: Option<LogCursor>,
) -> crate::sql::Statement {
    let (dir, cmp) = order(p.page.sort_order);
    let mut sql = Sql::new(&format!("SELECT * FROM {table} WHERE 1"));
    if let Some(c) = &p.correlation_id {
        sql.push(" AND correlation_id = ").bind_text(c);
    }
    if let Some(r) = &p.run_id {
        sql.push(" AND run_id = ").bind_text(r);
    }
    if let Some(LogCursor::Seq(at) | LogCursor::Slot(at)) = cursor {
        sql.push(&format!(" AND {position} {cmp} ")).bind_int(at);
    }
    sql.push(&format!(" ORDER BY {position} {dir} LIMIT "))
        .bind_int(p.page.limit + 1);
    sql.finish()
}

/// Hook reads see the hooks live at `now` (a retained hook until its retention ends).
pub async fn get_hook<D: Database>(
    db: &D,
    hook_id: &str,
    resolve: ResolveData,
    now: Millis,
) -> Result<Hook, WorldError> {
    get_hook_where(db, "hook_id", hook_id, resolve, now).await
}

pub async fn get_hook_by_token<D: Database>(
    db: &D,
    token: &str,
    resolve: ResolveData,
    now: Millis,
) -> Result<Hook, WorldError> {
    get_hook_where(db, "token", token, resolve, now).await
}

/// The live hook whose unique `column` (`hook_id` or `token`) is `key`.
async fn get_hook_where<D: Database>(
    db: &D,
    column: &str,
    key: &str,
    resolve: ResolveData,
    now: Millis,
) -> Result<Hook, WorldError> {
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM hooks WHERE {column} = ",
        columns(resolve, HOOK_PAYLOADS)
    ));
    sql.bind_text(key);
    sql::push_hook_live(&mut sql, now);
    let rows = query(db, sql.finish()).await?;
    rows.first()
        .map(rows::hook)
        .transpose()?
        .ok_or_else(|| WorldError::hook_not_found(key))
}

pub async fn list_hooks<D: Database>(
    db: &D,
    p: &ReadParams,
    now: Millis,
) -> Result<Page<Hook>, WorldError> {
    let mut sql = Sql::new(&format!(
        "SELECT {} FROM hooks WHERE 1",
        columns(p.resolve_data, HOOK_PAYLOADS)
    ));
    sql::push_hook_live(&mut sql, now);
    if let Some(run_id) = &p.run_id {
        sql.push(" AND run_id = ").bind_text(run_id);
    }
    keyset_page(db, sql, "hook_id", &p.page, rows::hook, |h| {
        (h.created_at.0, &h.hook_id)
    })
    .await
}

#[cfg(all(test, not(feature = "js")))]
mod tests;
#[cfg(all(test, not(feature = "js")))]
mod tests_v5;
