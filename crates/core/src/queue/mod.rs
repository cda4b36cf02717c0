//! The Queue half of the World on Cloudflare Queues (contract §5): sending with durable
//! idempotency, the consumer's delivery protocol (duplicates absorbed, suspensions
//! re-sent instead of retried, long delays chained), dead letters and recovery.
//!
//! The decisions are pure (`delivery.rs`, `envelope.rs`) and the SQL is in `sql.rs`; the
//! flows here do the I/O through the ports, so they run natively in the unit tests and
//! against the real bindings in workerd.

pub mod delivery;
pub mod envelope;
pub mod signature;
pub mod sql;

use crate::model::params::{describe, CreateParams, ReadParams, ResolveData, SortOrder};
use crate::model::value::{self, entry, text, Value};
use crate::model::{ids, Line, Millis, WorldError};
use crate::ports::{batch, unavailable, Blobs, Database, Io, Sender};
use crate::sql::Statement;
use crate::store;
use delivery::Admission;
pub use envelope::{Body, Envelope};

pub const MESSAGE_PREFIX: &str = "msg_";
/// A payload whose CBOR is larger than this goes to R2: a Queues message holds 128 KB, the
/// payload travels as base64 (4/3 of its size: 96,000 characters at most) and the
/// envelope needs the rest.
pub const INLINE_PAYLOAD_LIMIT: usize = 72_000;
/// What the envelope's text fields (queue name, idempotency key, deployment id,
/// headers) may take: a Queues message holds 128 KB and an inline payload up to 96,000.
pub const MAX_ENVELOPE_FIELDS_BYTES: usize = 24 * 1024;
/// How long a consumer owns a delivery before another copy may take it over: the
/// longest a queue consumer invocation may run (15 min wall time).
pub const LEASE_MS: Millis = 15 * 60 * 1000;
/// A queued idempotency claim outlives its message's due time by this much before a new
/// message may take the key over (the sender or the consumer crashed).
pub const CLAIM_GRACE_MS: Millis = 15 * 60 * 1000;
/// A done claim keeps repeated `queue()` calls with its key from delivering again for
/// this long (contract §5.2 allows either policy after completion; this skips).
pub const DONE_CLAIM_TTL_MS: Millis = 24 * 60 * 60 * 1000;
/// Records of finished deliveries are kept this long to recognise late duplicates.
pub const DELIVERY_RECORD_TTL_MS: Millis = 7 * 24 * 60 * 60 * 1000;

/// `queue()`'s `opts` as JS sends them; [`SendOptions::parse`] checks them.
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[cfg_attr(feature = "js", serde(rename_all = "camelCase", default))]
#[cfg_attr(feature = "js", tsify(hashmap_as_object))]
pub struct QueueOptionsInput {
    pub idempotency_key: String,
    pub delay_seconds: f64,
    pub headers: std::collections::BTreeMap<String, String>,
    pub deployment_id: String,
}

/// `queue()`'s `opts` (contract §5.2).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SendOptions {
    pub idempotency_key: Option<String>,
    pub delay_seconds: i64,
    pub headers: Vec<(String, String)>,
    pub deployment_id: Option<String>,
}

impl SendOptions {
    pub fn parse(v: Option<&Value>) -> Result<SendOptions, WorldError> {
        let invalid = |m: String| WorldError::invalid("INVALID_QUEUE_OPTIONS", m);
        let Some(v @ Value::Map(_)) = v else {
            return match v {
                None | Some(Value::Null) => Ok(SendOptions::default()),
                Some(other) => Err(invalid(format!(
                    "Invalid queue options: expected an object, got {}",
                    describe(other)
                ))),
            };
        };
        let text_opt = |k: &str| match value::get(v, k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Text(t)) => Ok(Some(t.clone())),
            Some(other) => Err(invalid(format!(
                "Invalid queue option `{k}`: expected a string, got {}",
                describe(other)
            ))),
        };
        let delay_seconds = match value::get(v, "delaySeconds") {
            None | Some(Value::Null) => 0,
            Some(Value::Float(f)) if f.is_finite() && *f >= 0.0 => f.ceil() as i64,
            Some(d) => value::integer(d).filter(|n| *n >= 0).ok_or_else(|| {
                invalid(format!(
                    "Invalid queue option `delaySeconds`: expected a number ≥ 0, got {}",
                    describe(d)
                ))
            })?,
        };
        let headers = match value::get(v, "headers") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Map(entries)) => entries
                .iter()
                .filter_map(|(k, val)| match (k, val) {
                    (Value::Text(k), Value::Text(val)) => Some(Ok((k.clone(), val.clone()))),
                    (_, Value::Null) => None,
                    _ => Some(Err(invalid(
                        "Invalid queue option `headers`: values must be strings".into(),
                    ))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(invalid(format!(
                    "Invalid queue option `headers`: expected an object, got {}",
                    describe(other)
                )))
            }
        };
        Ok(SendOptions {
            idempotency_key: text_opt("idempotencyKey")?,
            delay_seconds,
            headers,
            deployment_id: text_opt("deploymentId")?,
        })
    }
}

/// The text fields of a message must leave room for its payload in one Queues message.
fn check_fields(queue_name: &str, opts: &SendOptions) -> Result<(), WorldError> {
    let fields = queue_name.len()
        + opts.idempotency_key.as_ref().map_or(0, String::len)
        + opts.deployment_id.as_ref().map_or(0, String::len)
        + opts
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>();
    if fields > MAX_ENVELOPE_FIELDS_BYTES {
        // Refused by name here, not by the queue as a retryable send failure.
        return Err(WorldError {
            status: Some(crate::model::error::STATUS_PAYLOAD_TOO_LARGE),
            ..WorldError::invalid(
                "QUEUE_MESSAGE_TOO_LARGE",
                format!(
                    "The queue name, idempotency key, deployment id and headers come to {fields} bytes; \
                     the limit is {MAX_ENVELOPE_FIELDS_BYTES} bytes (a Queues message holds 128 KB, \
                     of which the inline payload may take 96,000)"
                ),
            )
        });
    }
    Ok(())
}

/// The idempotency claim of a keyed send: its statements, and when it expires.
fn claim_statements(opts: &SendOptions, message_id: &str, now: Millis) -> Option<Vec<Statement>> {
    let key = opts.idempotency_key.as_ref()?;
    let expires_at = now + opts.delay_seconds.max(0) * 1000 + CLAIM_GRACE_MS;
    Some(sql::claim(key, message_id, now, expires_at))
}

/// The envelope of a new message, its payload inline or (large) put in R2 first.
async fn envelope_of<D: Database, B: Blobs, S>(
    io: &Io<'_, D, B, S>,
    line: Line,
    queue_name: &str,
    payload: &Value,
    opts: &SendOptions,
    message_id: &str,
    due_at: Option<Millis>,
) -> Result<Envelope, WorldError> {
    let cbor = value::to_cbor(payload);
    let body = if cbor.len() > INLINE_PAYLOAD_LIMIT {
        let key = format!("queue/{message_id}");
        io.blobs
            .put(&key, cbor)
            .await
            .map_err(|e| unavailable("R2 put of a large queue payload", e))?;
        Body::Stored(key)
    } else {
        Body::Inline(cbor)
    };
    Ok(Envelope {
        queue_name: queue_name.to_owned(),
        send_id: ids::new_id("", io.clock.now(), io.entropy.random()),
        message_id: message_id.to_owned(),
        attempt: 1,
        idempotency_key: opts.idempotency_key.clone(),
        headers: opts.headers.clone(),
        deployment_id: opts.deployment_id.clone(),
        due_at,
        line,
        run_id: delivery::payload_run_id(payload),
        body,
    })
}

/// Undoes what a send that failed had prepared: its claim and its R2 object.
async fn abandon<D: Database, B: Blobs, S>(
    io: &Io<'_, D, B, S>,
    opts: &SendOptions,
    envelope: &Envelope,
) {
    release(io, opts, &envelope.message_id).await;
    if let Body::Stored(key) = &envelope.body {
        let _ = io.blobs.delete(key).await;
    }
}

/// `queue(queueName, payload, opts)`: the message id, new or (same idempotency key
/// still claimed) the existing one.
pub async fn send<D: Database, B: Blobs, S: Sender>(
    io: &Io<'_, D, B, S>,
    line: Line,
    queue_name: &str,
    payload: &Value,
    opts: &SendOptions,
) -> Result<String, WorldError> {
    let kind = envelope::queue_kind(queue_name)?;
    check_fields(queue_name, opts)?;
    let now = io.clock.now();
    let message_id = ids::new_id(MESSAGE_PREFIX, now, io.entropy.random());
    let (delay, due_at) = envelope::plan_delay(now, opts.delay_seconds, io.max_delay_seconds);
    if let Some(claim) = claim_statements(opts, &message_id, now) {
        let results = match batch(io.db, claim).await {
            Ok(results) => results,
            Err(e) => {
                // The claim may have committed with its reply lost: free it, or the retry
                // would find the key held by this message, which is never sent.
                release(io, opts, &message_id).await;
                return Err(e);
            }
        };
        if let Some(holder) = sql::claim_holder(&results).filter(|h| h != &message_id) {
            return Ok(holder);
        }
    }
    let envelope = match envelope_of(io, line, queue_name, payload, opts, &message_id, due_at).await
    {
        Ok(envelope) => envelope,
        Err(e) => {
            release(io, opts, &message_id).await;
            return Err(e);
        }
    };
    if let Err(e) = io.sender.send(kind, &envelope.to_value(), delay).await {
        abandon(io, opts, &envelope).await;
        return Err(unavailable("Queue send", e));
    }
    Ok(message_id)
}

/// `queueBatch`'s messages as sent: `[{message, opts?}]`.
pub fn parse_batch(v: Option<&Value>) -> Result<Vec<(Value, SendOptions)>, WorldError> {
    let invalid = |m: String| WorldError::invalid("INVALID_QUEUE_BATCH", m);
    let Some(Value::Array(items)) = v else {
        return Err(invalid(format!(
            "queueBatch: `messages` must be an array of {{message, opts?}}, got {}",
            v.map_or("undefined".into(), describe)
        )));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            if !matches!(item, Value::Map(_)) {
                return Err(invalid(format!(
                    "queueBatch: `messages[{i}]` must be {{message, opts?}}, got {}",
                    describe(item)
                )));
            }
            let message = value::get(item, "message").cloned().unwrap_or(Value::Null);
            let opts = SendOptions::parse(value::get(item, "opts"))?;
            Ok((message, opts))
        })
        .collect()
}

/// The most messages one `queueBatch` sends in one Queues `sendBatch` (the Queues limit
/// is 100 messages and 256 KB; an inline payload may take 96 KB, so few large ones fit).
const SEND_BATCH_MESSAGES: usize = 100;
const SEND_BATCH_BYTES: usize = 200 * 1024;

/// `queueBatch(queueName, [{message, opts}])`: each message as `queue()` would send it,
/// in order, one result each, a failure of one never failing the others. Every claim in
/// one D1 round trip, the messages in as few Queues `sendBatch` calls as the limits allow.
pub async fn send_batch<D: Database, B: Blobs, S: Sender>(
    io: &Io<'_, D, B, S>,
    line: Line,
    queue_name: &str,
    messages: &[(Value, SendOptions)],
) -> Result<Vec<Result<String, WorldError>>, WorldError> {
    let kind = envelope::queue_kind(queue_name)?;
    let now = io.clock.now();
    let mut results: Vec<Result<String, WorldError>> = Vec::with_capacity(messages.len());
    let mut claims = Vec::new();
    let mut claimed_at = Vec::new();
    for (i, (_, opts)) in messages.iter().enumerate() {
        let message_id = ids::new_id(MESSAGE_PREFIX, now, io.entropy.random());
        if let Err(e) = check_fields(queue_name, opts) {
            results.push(Err(e));
            continue;
        }
        if let Some(statements) = claim_statements(opts, &message_id, now) {
            claimed_at.push((i, claims.len()));
            claims.extend(statements);
        }
        results.push(Ok(message_id));
    }
    // Keyed messages whose key another message holds are answered with that message.
    let mut duplicate = vec![false; messages.len()];
    if !claims.is_empty() {
        match batch(io.db, claims).await {
            Ok(claim_results) => {
                for (i, at) in &claimed_at {
                    let holder = crate::sql::first_row(&claim_results, at + 1)
                        .and_then(|row| row.opt_text("message_id").ok().flatten());
                    if let (Some(holder), Ok(ours)) = (holder, &results[*i]) {
                        if &holder != ours {
                            duplicate[*i] = true;
                            results[*i] = Ok(holder);
                        }
                    }
                }
            }
            Err(e) => {
                for (i, _) in &claimed_at {
                    if let Ok(ours) = &results[*i] {
                        release(io, &messages[*i].1, ours).await;
                    }
                    results[*i] = Err(e.clone());
                }
            }
        }
    }
    let mut pending: Vec<(usize, Envelope, i64)> = Vec::new();
    for (i, (payload, opts)) in messages.iter().enumerate() {
        let Ok(message_id) = &results[i] else {
            continue;
        };
        if duplicate[i] {
            continue;
        }
        let (delay, due_at) = envelope::plan_delay(now, opts.delay_seconds, io.max_delay_seconds);
        match envelope_of(io, line, queue_name, payload, opts, message_id, due_at).await {
            Ok(envelope) => pending.push((i, envelope, delay)),
            Err(e) => {
                release(io, opts, message_id).await;
                results[i] = Err(e);
            }
        }
    }
    let mut chunk: Vec<(usize, Envelope, i64)> = Vec::new();
    let mut bytes = 0;
    let mut pending = pending.into_iter().peekable();
    while let Some(item) = pending.next() {
        bytes += item.1.approximate_size();
        chunk.push(item);
        let full = chunk.len() >= SEND_BATCH_MESSAGES
            || pending
                .peek()
                .is_none_or(|next| bytes + next.1.approximate_size() > SEND_BATCH_BYTES);
        if !full {
            continue;
        }
        let sent: Vec<(Value, i64)> = chunk.iter().map(|(_, e, d)| (e.to_value(), *d)).collect();
        if let Err(e) = io.sender.send_batch(kind, &sent).await {
            let failure = unavailable("Queue sendBatch", e);
            for (i, envelope, _) in &chunk {
                abandon(io, &messages[*i].1, envelope).await;
                results[*i] = Err(failure.clone());
            }
        }
        chunk.clear();
        bytes = 0;
    }
    Ok(results)
}

/// Frees the key of a message that was never sent, so a retry of `queue()` can send.
async fn release<D: Database, B, S>(io: &Io<'_, D, B, S>, opts: &SendOptions, message_id: &str) {
    if let Some(key) = &opts.idempotency_key {
        // If this fails too the claim expires by itself (CLAIM_GRACE_MS).
        let _ = io.db.batch(vec![sql::release_claim(key, message_id)]).await;
    }
}

/// What a consumer does with a delivered message.
#[derive(Debug)]
pub enum Begin {
    /// Not one of ours, or malformed: report and acknowledge; retrying cannot help.
    Invalid(WorldError),
    /// Nothing to run now (a duplicate, or a hop of a long delay re-sent): acknowledge.
    Settled(&'static str),
    /// Run the handler with this payload; `attempt` counts error retries only.
    Deliver {
        envelope: Envelope,
        payload: Value,
        attempt: i64,
    },
}

/// The first half of `handleQueueMessage`: decide whether this delivery runs the handler.
pub async fn begin<D: Database, B: Blobs, S: Sender>(
    io: &Io<'_, D, B, S>,
    body: Result<Value, WorldError>,
    cf_attempts: i64,
) -> Result<Begin, WorldError> {
    let envelope = match body.and_then(|b| Envelope::parse(&b)) {
        Ok(e) => e,
        Err(e) => return Ok(Begin::Invalid(e)),
    };
    let now = io.clock.now();
    // A hop of a long delay takes the delivery record like any delivery: a duplicate copy
    // of a hop must be absorbed too, or each copy would forward a chain of its own.
    let results = batch(io.db, sql::take_lease(&envelope, cf_attempts, now)).await?;
    let lease = sql::lease_record(&results);
    match delivery::admit(&envelope, &lease, now, io.max_delay_seconds) {
        Admission::Finished => return Ok(Begin::Settled("duplicate of a finished delivery")),
        Admission::Park { delay } => {
            io.sender
                .send(envelope.kind(), &envelope.to_value(), delay)
                .await
                .map_err(|e| unavailable("Queue send", e))?;
            return Ok(Begin::Settled("duplicate of a running delivery"));
        }
        // The lease is ours from here: every way out other than Deliver must end it, or
        // each retry of this send would be parked behind it for the whole lease.
        Admission::Hop { delay } => {
            // Sent before this delivery is marked done, so a crash in between repeats the
            // send (absorbed by its derived id) instead of losing it.
            let hop = delivery::hop(&envelope);
            if let Err(e) = io
                .sender
                .send(envelope.kind(), &hop.to_value(), delay)
                .await
            {
                let _ = io.db.batch(vec![sql::release_lease(&envelope, now)]).await;
                return Err(unavailable("Queue send", e));
            }
            batch(io.db, vec![sql::mark_done(&envelope)]).await?;
            return Ok(Begin::Settled("re-sent until due"));
        }
        Admission::Run => {}
    }
    let read = match &envelope.body {
        Body::Inline(bytes) => Ok(bytes.clone()),
        Body::Stored(key) => match io.blobs.get(key).await {
            Ok(Some(bytes)) => Ok(bytes),
            Ok(None) => Err(WorldError::invalid(
                "MISSING_PAYLOAD",
                format!(
                    "The payload of {} ({key}) is not in R2",
                    envelope.message_id
                ),
            )),
            Err(e) => {
                // Transient: free the delivery so Cloudflare's retry runs at once.
                let _ = io.db.batch(vec![sql::release_lease(&envelope, now)]).await;
                return Err(unavailable("R2 get of a queue payload", e));
            }
        },
    };
    let mut envelope = envelope;
    match read.and_then(|cbor| {
        value::from_cbor(&cbor).map_err(|e| {
            WorldError::invalid(
                "INVALID_MESSAGE",
                format!(
                    "The payload of {} is not valid CBOR: {e}",
                    envelope.message_id
                ),
            )
        })
    }) {
        Ok(payload) => {
            envelope.line = delivery::line_for(envelope.line, lease.run, &payload);
            let attempt = delivery::attempt(&envelope, cf_attempts);
            Ok(Begin::Deliver {
                envelope,
                payload,
                attempt,
            })
        }
        Err(e) => {
            // Permanent: no retry can read it. Record the delivery as finished, so that
            // copies and retries are acknowledged at once instead of looping.
            batch(io.db, vec![sql::mark_done(&envelope)]).await?;
            Ok(Begin::Invalid(e))
        }
    }
}

/// How the handler ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Outcome {
    Done,
    /// `{timeoutSeconds}`: deliver the same payload again after this many seconds.
    Reschedule(f64),
    /// The handler failed: release the delivery so Cloudflare's retry can take it.
    Failed,
}

/// The second half of `handleQueueMessage`.
pub async fn finish<D: Database, B: Blobs, S: Sender>(
    io: &Io<'_, D, B, S>,
    envelope: &Envelope,
    outcome: Outcome,
) -> Result<(), WorldError> {
    let now = io.clock.now();
    match outcome {
        Outcome::Done => {
            let mut statements = vec![sql::mark_handled(envelope)];
            statements.extend(sql::finish_claim(envelope, now));
            // The handler's work is done and durable. If this bookkeeping fails, the
            // message is still acknowledged: a retry could only wait for the lease and run
            // the handler again. The record keeps its lease, so a late copy waits it out.
            let _ = batch(io.db, statements).await;
            if let Body::Stored(key) = &envelope.body {
                // A leftover object costs storage, not correctness.
                let _ = io.blobs.delete(key).await;
            }
        }
        Outcome::Reschedule(seconds) => {
            // A suspension, not a failure: a fresh send with the delay, so no Cloudflare
            // retry is spent and the attempt count starts over (contract §5.4).
            let (next, delay, seconds) =
                delivery::reschedule(envelope, seconds, now, io.max_delay_seconds);
            // Sent before this delivery is marked done, so a crash in between repeats the
            // send (absorbed by its derived id) instead of losing it. If the send fails,
            // the delivery is released so Cloudflare's retry runs at once.
            if let Err(e) = io
                .sender
                .send(envelope.kind(), &next.to_value(), delay)
                .await
            {
                let _ = io.db.batch(vec![sql::release_lease(envelope, now)]).await;
                return Err(unavailable("Queue send", e));
            }
            let mut statements = vec![sql::mark_handled(envelope)];
            statements.extend(sql::extend_claim(
                envelope,
                now + seconds * 1000 + CLAIM_GRACE_MS,
                now,
            ));
            // The next send exists: as for Done, failed bookkeeping does not undo it.
            let _ = batch(io.db, statements).await;
        }
        Outcome::Failed => {
            batch(io.db, vec![sql::release_after_run(envelope, now)]).await?;
        }
    }
    Ok(())
}

/// A message that exhausted its retries: fail its run so it never hangs silently, and
/// release what the message held. Returns the run it failed, if any.
pub async fn dead_letter<D: Database, B: Blobs, S: Sender>(
    io: &Io<'_, D, B, S>,
    body: Result<Value, WorldError>,
    cf_attempts: i64,
) -> Result<Option<String>, WorldError> {
    let envelope = match body.and_then(|b| Envelope::parse(&b)) {
        Ok(e) => e,
        Err(_) => return Ok(None),
    };
    let payload = match &envelope.body {
        Body::Inline(bytes) => value::from_cbor(bytes).ok(),
        Body::Stored(key) => match io.blobs.get(key).await {
            Ok(Some(bytes)) => value::from_cbor(&bytes).ok(),
            _ => None,
        },
    };
    let run_id = envelope
        .run_id
        .clone()
        .or_else(|| payload.as_ref().and_then(delivery::payload_run_id));
    let mut failed = None;
    if let Some(run_id) = run_id {
        let message = format!(
            "Queue message {} for {} was dead-lettered: its deliveries kept failing (attempt {})",
            envelope.message_id,
            envelope.queue_name,
            delivery::attempt(&envelope, cf_attempts)
        );
        let event = Value::Map(vec![
            text("eventType", "run_failed"),
            entry(
                "eventData",
                Value::Map(vec![
                    entry("error", Value::Map(vec![text("message", message)])),
                    text("errorCode", "MAX_DELIVERIES_EXCEEDED"),
                ]),
            ),
        ]);
        let params = CreateParams {
            resolve_data: ResolveData::None,
            ..CreateParams::default()
        };
        // The run's own line writes its end (a slot run refuses a 4.x write).
        let line = match store::get_run(io.db, &run_id, ResolveData::None).await {
            Ok(run) => Line::of_run(run.spec_version),
            Err(_) => envelope.line,
        };
        match store::create_event(io, line, Some(&run_id), &event, &params).await {
            Ok(_) => failed = Some(run_id),
            // Already over, gone, or never stored: nothing hangs.
            Err(e)
                if matches!(
                    e.name,
                    crate::model::ErrorName::EntityConflict
                        | crate::model::ErrorName::RunExpired
                        | crate::model::ErrorName::WorkflowRunNotFound
                        | crate::model::ErrorName::RunNotSupported
                        | crate::model::ErrorName::Plain
                ) || e.status == Some(400) => {}
            Err(e) => return Err(e),
        }
    }
    let mut statements = vec![sql::mark_done(&envelope)];
    if let Some(key) = &envelope.idempotency_key {
        statements.push(sql::release_claim(key, &envelope.message_id));
    }
    batch(io.db, statements).await?;
    if let Body::Stored(key) = &envelope.body {
        let _ = io.blobs.delete(key).await;
    }
    Ok(failed)
}

/// What `start()` re-enqueued, the runs it could not (each with why), and what retention
/// removed.
#[derive(Debug, Default)]
pub struct Recovery {
    pub sent: usize,
    pub failed: Vec<(String, WorldError)>,
    pub removed: store::retention::Removed,
}

/// `start()`: re-send `{runId}` for every pending or running run (`reenqueueActiveRuns`,
/// contract §5.6), drop queue records past their time, and, with a `retention` age (ms),
/// remove runs that ended longer ago than that (src/store/retention.rs). A run that
/// cannot be sent is reported and skipped, as the references do: one bad run must not
/// keep the others from recovering.
pub async fn recover<D: Database, B: Blobs, S: Sender>(
    io: &Io<'_, D, B, S>,
    retention: Option<Millis>,
) -> Result<Recovery, WorldError> {
    let now = io.clock.now();
    let mut recovery = Recovery::default();
    {
        let mut cursor = None;
        loop {
            let mut params = ReadParams::parse(None, 1000, SortOrder::Asc)?;
            params.resolve_data = ResolveData::None;
            params.status = Some(vec!["pending".to_owned(), "running".to_owned()]);
            params.page.cursor = cursor.take();
            let page = store::list_runs(io.db, &params).await?;
            for run in &page.data {
                let payload = Value::Map(vec![text("runId", run.run_id.clone())]);
                let queue_name = format!("__wkf_workflow_{}", run.workflow_name);
                let line = Line::of_run(run.spec_version);
                match send(io, line, &queue_name, &payload, &SendOptions::default()).await {
                    Ok(_) => recovery.sent += 1,
                    Err(e) => recovery.failed.push((run.run_id.clone(), e)),
                }
            }
            if !page.has_more {
                break;
            }
            cursor = page.cursor.0;
        }
    }
    batch(io.db, sql::expire_records(now)).await?;
    if let Some(age) = retention {
        recovery.removed = store::retention::remove_ended(io, age).await?;
    }
    Ok(recovery)
}

#[cfg(all(test, not(feature = "js")))]
mod tests;
