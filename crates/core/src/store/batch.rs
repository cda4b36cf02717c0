//! `events.createBatch` (world-contract-v5 §9): a fan-out's events appended to a slot run
//! in one D1 batch, each guarded as its own `events.create` would be, so the events that
//! meet their state commit at consecutive slots, in request order, and the others are
//! answered with the error their single create would have had.

use super::sql::{self, Keys};
use super::{committed, purge, read_snapshot, reply_for, token_of, EventResult, LogAnswer};
use crate::engine::{self, Ctx, Decision, EventRequest, Kind, Snapshot};
use crate::model::params::CreateParams;
use crate::model::value::{self, Value};
use crate::model::{ids, ErrorName, EventType, Line, WorldError};
use crate::ports::{batch as run_batch, Blobs, Database, Io};

/// What a batch may not carry: writes that need a barrier of their own (world-contract-v5
/// §9; `Storage.events.createBatch` of `@workflow/world` 5.0.0-beta.37).
const NOT_IN_A_BATCH: [EventType; 6] = [
    EventType::RunCreated,
    EventType::RunStarted,
    EventType::RunCancelled,
    EventType::HookCreated,
    EventType::HookDisposed,
    EventType::AttrSet,
];

/// The most events one batch takes (core folds at most 32).
pub const MAX_BATCH_EVENTS: usize = 100;

fn refused(message: String) -> WorldError {
    WorldError::invalid("INVALID_EVENT_BATCH", message)
}

/// The HTTP status a single create's error stands for, as a batch item reports it.
pub fn status_of(e: &WorldError) -> u16 {
    match e.name {
        ErrorName::EntityConflict => 409,
        ErrorName::RunExpired => 410,
        ErrorName::WorkflowRunNotFound | ErrorName::HookNotFound => 404,
        ErrorName::TooEarly => 425,
        _ => e.status.unwrap_or(500),
    }
}

/// The entity an event writes, for the one-event-per-entity rule.
fn entity(req: &EventRequest) -> (&'static str, &str) {
    match req.event_type {
        EventType::RunCompleted | EventType::RunFailed => ("run", ""),
        EventType::WaitCreated | EventType::WaitCompleted => ("wait", req.correlation()),
        EventType::HookReceived => ("hook", req.correlation()),
        _ => ("step", req.correlation()),
    }
}

/// The events of `BatchEventRequest[]` (`[{event, occurredAt?, computeInstanceId?}]`):
/// each `event`. A slot's `createdAt` is the World's time, as for single creates.
pub fn parse_events(v: Option<&Value>) -> Result<Vec<Value>, WorldError> {
    let Some(Value::Array(items)) = v else {
        return Err(refused(format!(
            "events.createBatch: `events` must be an array of {{event}}, got {}",
            v.map_or("undefined".into(), crate::model::params::describe)
        )));
    };
    if items.len() > MAX_BATCH_EVENTS {
        return Err(refused(format!(
            "events.createBatch: {} events; allowed: at most {MAX_BATCH_EVENTS}",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            value::get(item, "event").cloned().ok_or_else(|| {
                refused(format!(
                    "events.createBatch: `events[{i}]` must be {{event, occurredAt?, computeInstanceId?}}"
                ))
            })
        })
        .collect()
}

/// One write of the batch: an event, or a born-running step (a `step_created` and the
/// `step_started` after it, written as the lazy start that creates and starts a step in
/// one guarded plan, world-contract-v5 §4.7, so the start never lands without its create).
/// `planned` when it went into the D1 batch: its plan and where its statements sit.
struct Segment {
    indices: Vec<usize>,
    req: EventRequest,
    planned: Option<(engine::Plan, sql::PlanBatch)>,
    ctx: Ctx,
}

/// The lazy `step_started` that stands for a `step_created` (its `stepName` and `input`)
/// and the payload-less `step_started` of the same step.
fn born_running(created: &Value, now: i64) -> Result<EventRequest, WorldError> {
    let data = value::get(created, "eventData");
    let mut event_data = Vec::new();
    for field in ["stepName", "input"] {
        if let Some(v) = data.and_then(|d| value::get(d, field)) {
            event_data.push(value::entry(field, v.clone()));
        }
    }
    let mut event = vec![
        value::text("eventType", "step_started"),
        value::entry("eventData", Value::Map(event_data)),
    ];
    if let Some(corr) = value::get(created, "correlationId") {
        event.push(value::entry("correlationId", corr.clone()));
    }
    EventRequest::parse(&Value::Map(event), Line::V5, now, None)
}

/// `events.createBatch(runId, events, params)`: one result per event, in order.
pub async fn create_batch<D: Database, B: Blobs, S>(
    io: &Io<'_, D, B, S>,
    run_id: &str,
    events: &[Value],
    params: &CreateParams,
) -> Result<Vec<Result<EventResult, WorldError>>, WorldError> {
    let now = io.clock.now();
    let mut results: Vec<Option<Result<EventResult, WorldError>>> = vec![None; events.len()];
    let writes = batch_writes(events, now, &mut results)?;

    let mut segments = Vec::new();
    let mut statements = Vec::new();
    for (indices, req) in writes {
        let ctx = Ctx {
            now,
            event_ids: [
                ids::new_id(ids::EVENT_PREFIX, now, io.entropy.random()),
                ids::new_id(ids::EVENT_PREFIX, now, io.entropy.random()),
            ],
        };
        // Decided on the state the event usually meets, as a single create's first round;
        // one that would write nothing there is answered by single creates below.
        let planned = match engine::decide(&req, run_id, &Snapshot::expected(&req), &ctx) {
            Ok(Decision::Commit(plan)) => {
                let keys = keys_of(run_id, &req, now);
                let batch_id = (io.entropy.random() as u64 & ((1 << 53) - 1)) as i64;
                let batch = sql::plan_batch(&plan, &keys, batch_id, None);
                statements.extend(batch.statements.iter().cloned());
                Some((plan, batch))
            }
            _ => None,
        };
        segments.push(Segment {
            indices,
            req,
            planned,
            ctx,
        });
    }
    // Every planned write in one round trip and one transaction: each commits if its
    // guards hold where it stands in the batch, at the next slots.
    let all = if statements.is_empty() {
        Vec::new()
    } else {
        run_batch(io.db, statements).await?
    };

    let mut offset = 0;
    for segment in &segments {
        let answered = match &segment.planned {
            Some((plan, batch)) => {
                let slice = &all[offset..offset + batch.statements.len()];
                offset += batch.statements.len();
                if committed(slice, batch) {
                    if plan.purge {
                        purge::run_data(io, run_id).await?;
                    }
                    Some(answers(plan, batch, slice, params, segment.indices.len()))
                } else {
                    let snapshot = read_snapshot(slice)?;
                    match engine::decide(&segment.req, run_id, &snapshot, &segment.ctx) {
                        Err(e) => Some(segment.indices.iter().map(|_| Err(e.clone())).collect()),
                        Ok(_) => None,
                    }
                }
            }
            None => None,
        };
        match answered {
            Some(outs) => {
                for (i, out) in segment.indices.iter().zip(outs) {
                    results[*i] = Some(out);
                }
            }
            // The guess was wrong and the write still applies: the single creates, now.
            None => {
                for i in &segment.indices {
                    let out =
                        super::create_event(io, Line::V5, Some(run_id), &events[*i], params).await;
                    results[*i] = Some(out);
                }
            }
        }
    }
    Ok(results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(WorldError::unavailable(
                    "an event of the batch went unanswered",
                ))
            })
        })
        .collect())
}

/// The writes of a batch's events, each with the indices of the events it answers: a
/// `step_created` followed by its own `step_started` is one write (the step born running).
/// An event refused on its own gets its error in `results` and no write.
fn batch_writes(
    events: &[Value],
    now: crate::model::Millis,
    results: &mut [Option<Result<EventResult, WorldError>>],
) -> Result<Vec<(Vec<usize>, EventRequest)>, WorldError> {
    let mut requests = Vec::with_capacity(events.len());
    for (i, data) in events.iter().enumerate() {
        match EventRequest::parse(data, Line::V5, now, None) {
            Ok(req) => requests.push((i, req)),
            // As its single create would: refused by name, nothing stored.
            Err(e) => results[i] = Some(Err(e)),
        }
    }
    check_shape(&requests)?;

    let mut writes: Vec<(Vec<usize>, EventRequest)> = Vec::new();
    let mut requests = requests.into_iter().peekable();
    while let Some((i, req)) = requests.next() {
        let twin = requests
            .next_if(|(_, next)| {
                req.event_type == EventType::StepCreated
                    && next.event_type == EventType::StepStarted
                    && next.correlation() == req.correlation()
            })
            .map(|(j, _)| j);
        match twin {
            Some(j) => match born_running(&events[i], now) {
                Ok(lazy) => writes.push((vec![i, j], lazy)),
                Err(e) => {
                    results[i] = Some(Err(e.clone()));
                    results[j] = Some(Err(e));
                }
            },
            None => writes.push((vec![i], req)),
        }
    }
    Ok(writes)
}

/// The results of a committed write: its event's, or each of a born-running step's two.
fn answers(
    plan: &engine::Plan,
    batch: &sql::PlanBatch,
    slice: &[crate::sql::QueryResult],
    params: &CreateParams,
    events: usize,
) -> Vec<Result<EventResult, WorldError>> {
    let last = reply_for(
        plan,
        slice,
        &batch.reads,
        params.resolve_data,
        LogAnswer::None,
    );
    if events == 1 {
        return vec![last];
    }
    let Ok(mut started) = last else {
        return vec![last.clone(), last];
    };
    started.step_created = None;
    let created = batch
        .reads
        .ours
        .map(|i| super::page_events(slice, i))
        .transpose()
        .map(|ours| {
            let first = ours.and_then(|(events, _)| events.into_iter().next());
            EventResult {
                event: first.map(|(e, _)| super::resolve_event(e, params.resolve_data)),
                step: started.step.clone(),
                ..EventResult::default()
            }
        });
    vec![created, Ok(started)]
}

fn keys_of<'a>(run_id: &'a str, req: &'a EventRequest, now: i64) -> Keys<'a> {
    Keys {
        run_id,
        correlation_id: req.correlation(),
        token: token_of(req),
        resume_id: None,
        resume_digest: None,
        claims_correlation: super::claims_of(req),
        now,
    }
}

/// The batch as a whole: no event that needs a write of its own, one event per entity,
/// but for a `step_created` followed by the payload-less `step_started` of its step.
fn check_shape(requests: &[(usize, EventRequest)]) -> Result<(), WorldError> {
    let mut seen: Vec<((&str, &str), EventType)> = Vec::new();
    for (i, req) in requests {
        if NOT_IN_A_BATCH.contains(&req.event_type) {
            return Err(refused(format!(
                "events.createBatch: `events[{i}]` is a {}, which a batch cannot carry; allowed: step, wait, hook_received and run_completed/run_failed events",
                req.event_type.as_str()
            )));
        }
        let key = entity(req);
        if let Some(at) = seen.iter().position(|(k, _)| *k == key) {
            // The one pair: a step_created, then at once the payload-less step_started of
            // its step.
            let born_running = at + 1 == seen.len()
                && seen[at].1 == EventType::StepCreated
                && req.event_type == EventType::StepStarted
                && matches!(req.kind, Kind::StepStarted { lazy: None });
            if !born_running {
                return Err(refused(format!(
                    "events.createBatch: `events[{i}]` ({}) targets the {} \"{}\" again; one event per entity, but for step_created followed at once by a step_started without a payload",
                    req.event_type.as_str(),
                    key.0,
                    key.1
                )));
            }
        }
        seen.push((key, req.event_type));
    }
    Ok(())
}

#[cfg(all(test, not(feature = "js")))]
mod tests;
