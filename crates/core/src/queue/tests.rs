//! The queue flows natively: SQLite for D1, in-memory fakes for the queue and R2.

use super::*;
use crate::ports::{Clock, QueueKind};
use crate::sql::Sql;
use crate::testing::{Fixture, LostReply, T0};

/// The flows over the fixture, as the tests call them.
trait Flows {
    fn send(&self, queue: &str, payload: Value, opts: SendOptions) -> String;
    fn begin(&self, body: &Value, cf_attempts: i64) -> Begin;
    fn finish(&self, body: &Value, outcome: Outcome);
    fn advance(&self, ms: Millis);
    fn refused_for_good(&self, body: &Value) -> WorldError;
}

impl Flows for Fixture {
    fn send(&self, queue: &str, payload: Value, opts: SendOptions) -> String {
        futures_executor::block_on(send(&self.io(), Line::V4, queue, &payload, &opts)).unwrap()
    }
    fn begin(&self, body: &Value, cf_attempts: i64) -> Begin {
        futures_executor::block_on(begin(&self.io(), Ok(body.clone()), cf_attempts)).unwrap()
    }
    fn finish(&self, body: &Value, outcome: Outcome) {
        let e = Envelope::parse(body).unwrap();
        futures_executor::block_on(finish(&self.io(), &e, outcome)).unwrap()
    }
    fn advance(&self, ms: Millis) {
        self.clock.advance(ms);
    }
    /// Asserts the message is refused, and that a duplicate copy or a redelivery of it ends
    /// at once with nothing re-sent; the refusal.
    fn refused_for_good(&self, body: &Value) -> WorldError {
        let Begin::Invalid(e) = self.begin(body, 1) else {
            panic!("expected the message to be refused")
        };
        assert!(matches!(
            self.begin(body, 2),
            Begin::Settled("duplicate of a finished delivery")
        ));
        assert!(self.queue.take().is_empty());
        e
    }
}

fn payload() -> Value {
    Value::Map(vec![
        text("runId", "wrun_1"),
        entry("input", Value::Bytes(vec![0, 1, 0])),
    ])
}

fn keyed(key: &str) -> SendOptions {
    SendOptions {
        idempotency_key: Some(key.into()),
        ..SendOptions::default()
    }
}

#[test]
fn a_message_is_delivered_once_with_its_payload_and_attempt() {
    let f = Fixture::new();
    let id = f.send("__wkf_workflow_w", payload(), SendOptions::default());
    assert!(id.starts_with("msg_"));
    let [(kind, body, 0)] = &f.queue.take()[..] else {
        panic!()
    };
    assert_eq!(*kind, QueueKind::Workflow);
    let Begin::Deliver {
        payload: p,
        attempt: 1,
        envelope,
    } = f.begin(body, 1)
    else {
        panic!()
    };
    assert_eq!((p, envelope.message_id), (payload(), id));
    f.finish(body, Outcome::Done);
    assert!(matches!(
        f.begin(body, 1),
        Begin::Settled("duplicate of a finished delivery")
    ));
}

#[test]
fn an_idempotency_key_allows_one_message_while_queued_and_after_done() {
    let f = Fixture::new();
    let first = f.send("__wkf_step_s", payload(), keyed("step_1"));
    assert_eq!(f.send("__wkf_step_s", payload(), keyed("step_1")), first);
    let sent = f.queue.take();
    assert_eq!(sent.len(), 1);
    f.begin(&sent[0].1, 1);
    f.finish(&sent[0].1, Outcome::Done);
    assert_eq!(f.send("__wkf_step_s", payload(), keyed("step_1")), first);
    assert!(f.queue.take().is_empty());
    // after the done record ages out, the key may be used again
    f.advance(DONE_CLAIM_TTL_MS + 1);
    assert_ne!(f.send("__wkf_step_s", payload(), keyed("step_1")), first);
    assert_eq!(f.queue.take().len(), 1);
}

#[test]
fn a_duplicate_delivery_while_the_first_runs_is_parked_until_the_lease_ends() {
    let f = Fixture::new();
    f.send("__wkf_workflow_w", payload(), SendOptions::default());
    let body = f.queue.take().remove(0).1;
    assert!(matches!(f.begin(&body, 1), Begin::Deliver { .. }));
    assert!(matches!(
        f.begin(&body, 1),
        Begin::Settled("duplicate of a running delivery")
    ));
    let [(_, parked, delay)] = &f.queue.take()[..] else {
        panic!()
    };
    assert_eq!((parked, *delay), (&body, LEASE_MS / 1000));
    // if the first copy dies, its lease runs out and the parked copy takes over
    f.advance(LEASE_MS);
    assert!(matches!(f.begin(&body, 1), Begin::Deliver { .. }));
}

#[test]
fn a_failure_releases_the_delivery_for_the_retry_and_counts_attempts() {
    let f = Fixture::new();
    f.send("__wkf_workflow_w", payload(), SendOptions::default());
    let body = f.queue.take().remove(0).1;
    f.begin(&body, 1);
    f.finish(&body, Outcome::Failed);
    let Begin::Deliver { attempt, .. } = f.begin(&body, 2) else {
        panic!()
    };
    assert_eq!(attempt, 2);
}

#[test]
fn a_reschedule_is_a_fresh_send_that_does_not_count_as_an_attempt() {
    let f = Fixture::new();
    f.send("__wkf_workflow_w", payload(), keyed("k"));
    let body = f.queue.take().remove(0).1;
    f.begin(&body, 3);
    f.finish(&body, Outcome::Reschedule(2.5));
    let [(_, next, 3)] = &f.queue.take()[..] else {
        panic!("expected one send delayed 3 s")
    };
    let (a, b) = (
        Envelope::parse(&body).unwrap(),
        Envelope::parse(next).unwrap(),
    );
    assert_eq!((b.message_id, b.attempt), (a.message_id, 1));
    assert_ne!(b.send_id, a.send_id);
    let Begin::Deliver { attempt: 1, .. } = f.begin(next, 1) else {
        panic!()
    };
    // the claim stays with the message across the reschedule
    assert!(f.queue.take().is_empty());
    f.send("__wkf_workflow_w", payload(), keyed("k"));
    assert!(f.queue.take().is_empty());
}

/// A fixture whose queue holds a message 10 s at most, and a message sent there for 25 s.
fn delayed_past_what_a_queue_holds() -> Fixture {
    let mut f = Fixture::new();
    f.max_delay = 10;
    let later = SendOptions {
        delay_seconds: 25,
        ..SendOptions::default()
    };
    f.send("__wkf_workflow_w", payload(), later);
    f
}

#[test]
fn a_delay_longer_than_a_queue_holds_is_chained() {
    let f = delayed_past_what_a_queue_holds();
    let mut body = f.queue.take().remove(0).1;
    let mut hops = 0;
    loop {
        f.advance(10_000);
        match f.begin(&body, 1) {
            Begin::Settled("re-sent until due") => {
                hops += 1;
                let [(_, next, delay)] = &f.queue.take()[..] else {
                    panic!()
                };
                assert!(*delay <= 10);
                body = next.clone();
            }
            Begin::Deliver { .. } => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(hops, 2);
    assert!(f.clock.now() >= T0 + 25_000);
}

// Regression: a hop of a long delay was re-sent before any delivery record was taken, so
// every duplicate copy of a hop (at-least-once delivery) forwarded a chain of its own, and
// the copies doubled at each duplicated hop for the rest of the delay.
#[test]
fn a_duplicated_hop_of_a_long_delay_does_not_fork_the_chain() {
    let f = delayed_past_what_a_queue_holds();
    let body = f.queue.take().remove(0).1;
    f.advance(10_000);
    assert!(matches!(
        f.begin(&body, 1),
        Begin::Settled("re-sent until due")
    ));
    assert_eq!(f.queue.take().len(), 1);
    assert!(matches!(
        f.begin(&body, 1),
        Begin::Settled("duplicate of a finished delivery")
    ));
    assert!(
        f.queue.take().is_empty(),
        "a duplicate hop forwarded a second chain"
    );
}

#[test]
fn large_payloads_travel_through_r2_and_are_removed_when_done() {
    let f = Fixture::new();
    let big = Value::Map(vec![entry(
        "input",
        Value::Bytes(vec![0; INLINE_PAYLOAD_LIMIT + 1]),
    )]);
    f.send("__wkf_workflow_w", big.clone(), SendOptions::default());
    let body = f.queue.take().remove(0).1;
    assert!(matches!(
        Envelope::parse(&body).unwrap().body,
        Body::Stored(_)
    ));
    assert_eq!(f.blobs.objects.borrow().len(), 1);
    let Begin::Deliver { payload, .. } = f.begin(&body, 1) else {
        panic!()
    };
    assert_eq!(payload, big);
    f.finish(&body, Outcome::Done);
    assert!(f.blobs.objects.borrow().is_empty());
}

fn big_payload() -> Value {
    Value::Map(vec![
        text("runId", "wrun_1"),
        entry("input", Value::Bytes(vec![7; INLINE_PAYLOAD_LIMIT + 1])),
    ])
}

// Regression: a payload that can never be read (its R2 object is gone, or its bytes are
// not CBOR) used to fail `begin` after the delivery's lease was taken, so every retry
// found the lease held and was parked for 15 min: redelivered every 15 min, forever.
#[test]
fn a_payload_missing_from_r2_is_refused_once_and_never_redelivered() {
    let f = Fixture::new();
    f.send("__wkf_workflow_w", big_payload(), SendOptions::default());
    let body = f.queue.take().remove(0).1;
    f.blobs.objects.borrow_mut().clear();
    let e = f.refused_for_good(&body);
    assert_eq!(e.code, Some("MISSING_PAYLOAD"));
    assert!(e.message.contains("is not in R2"), "{}", e.message);
}

#[test]
fn an_undecodable_payload_is_refused_once_and_never_redelivered() {
    let f = Fixture::new();
    f.send("__wkf_workflow_w", payload(), SendOptions::default());
    let mut envelope = Envelope::parse(&f.queue.take().remove(0).1).unwrap();
    envelope.body = Body::Inline(vec![0xa2, 0x61]); // a CBOR map cut short
    let body = envelope.to_value();
    let e = f.refused_for_good(&body);
    assert_eq!(e.code, Some("INVALID_MESSAGE"));
}

// Regression: an R2 outage while reading a payload left the lease held, so Cloudflare's
// retry was parked for the whole 15-min lease instead of running.
#[test]
fn an_r2_outage_while_reading_a_payload_releases_the_delivery_for_the_retry() {
    let f = Fixture::new();
    f.send("__wkf_workflow_w", big_payload(), SendOptions::default());
    let body = f.queue.take().remove(0).1;
    f.blobs.outage.set(true);
    let err = futures_executor::block_on(begin(&f.io(), Ok(body.clone()), 1)).unwrap_err();
    assert_eq!(err.status, Some(503), "{err:?}");
    assert!(
        err.message.contains("R2 get of a queue payload"),
        "{}",
        err.message
    );
    f.blobs.outage.set(false);
    let Begin::Deliver {
        attempt, payload, ..
    } = f.begin(&body, 2)
    else {
        panic!("the retry must run, not be parked behind a dead lease")
    };
    assert_eq!((attempt, payload), (2, big_payload()));
    assert!(f.queue.take().is_empty());
}

// Regression: a queue name, key or headers too large for a Queues message were sent
// anyway; the queue refused the send and queue() reported a retryable 503.
#[test]
fn a_message_whose_names_and_headers_cannot_fit_is_refused_by_name() {
    let f = Fixture::new();
    let name = format!("__wkf_step_{}", "s".repeat(MAX_ENVELOPE_FIELDS_BYTES));
    let e = futures_executor::block_on(send(
        &f.io(),
        Line::V4,
        &name,
        &payload(),
        &SendOptions::default(),
    ))
    .unwrap_err();
    assert_eq!(
        (e.status, e.code),
        (Some(413), Some("QUEUE_MESSAGE_TOO_LARGE"))
    );
    let opts = SendOptions {
        headers: vec![("x-big".into(), "h".repeat(MAX_ENVELOPE_FIELDS_BYTES))],
        ..keyed("k")
    };
    let e = futures_executor::block_on(send(&f.io(), Line::V4, "__wkf_step_s", &payload(), &opts))
        .unwrap_err();
    assert_eq!(e.code, Some("QUEUE_MESSAGE_TOO_LARGE"));
    assert!(f.queue.take().is_empty(), "nothing was sent");
    // the key was not claimed: a fitting message with it is sent
    f.send("__wkf_step_s", payload(), keyed("k"));
    assert_eq!(f.queue.take().len(), 1);
}

// Regression: start() stopped at the first run it could not re-enqueue, so one bad run
// kept every run after it from recovering.
#[test]
fn recovery_skips_and_reports_a_run_it_cannot_send() {
    let f = Fixture::new();
    let create = |run_id: &str, workflow_name: &str| {
        let event = Value::Map(vec![
            text("eventType", "run_created"),
            entry(
                "eventData",
                Value::Map(vec![
                    text("deploymentId", "d"),
                    text("workflowName", workflow_name),
                ]),
            ),
        ]);
        futures_executor::block_on(store::create_event(
            &f.io(),
            Line::V4,
            Some(run_id),
            &event,
            &CreateParams::default(),
        ))
        .unwrap();
    };
    let huge = "w".repeat(MAX_ENVELOPE_FIELDS_BYTES);
    create("wrun_01KAV9FT000000000000000001", &huge);
    create("wrun_01KAV9FT000000000000000002", "ok");
    let r = futures_executor::block_on(recover(&f.io(), None)).unwrap();
    assert_eq!(r.sent, 1);
    assert_eq!(r.failed.len(), 1);
    assert_eq!(r.failed[0].0, "wrun_01KAV9FT000000000000000001");
    assert_eq!(r.failed[0].1.code, Some("QUEUE_MESSAGE_TOO_LARGE"));
    let sent = f.queue.take();
    assert_eq!(sent.len(), 1);
}

// Regression: when the batch claiming an idempotency key committed but its reply was
// lost, queue() failed and the retry found the key held by a message that was never sent:
// it sent nothing, and the work waited for the claim to expire (15 min) and a start().
#[test]
fn a_claim_whose_reply_was_lost_does_not_block_the_retry() {
    let f = Fixture::new();
    let lossy = LostReply::new(&f.db);
    let io = f.io_with(&lossy);
    let e =
        futures_executor::block_on(send(&io, Line::V4, "__wkf_step_s", &payload(), &keyed("k")))
            .unwrap_err();
    assert_eq!(e.status, Some(503));
    assert!(f.queue.take().is_empty());
    let id = f.send("__wkf_step_s", payload(), keyed("k"));
    let sent = f.queue.take();
    assert_eq!(sent.len(), 1, "the retry must send the message");
    assert_eq!(Envelope::parse(&sent[0].1).unwrap().message_id, id);
}

// Regression: a reschedule whose send failed kept the delivery's lease, so Cloudflare's
// retry was parked behind it: a sleeping run woke up 15 min late.
#[test]
fn a_reschedule_whose_send_fails_releases_the_delivery_for_the_retry() {
    let f = Fixture::new();
    f.send("__wkf_workflow_w", payload(), SendOptions::default());
    let body = f.queue.take().remove(0).1;
    assert!(matches!(f.begin(&body, 1), Begin::Deliver { .. }));
    f.queue.fail.set(true);
    let e = Envelope::parse(&body).unwrap();
    let err =
        futures_executor::block_on(finish(&f.io(), &e, Outcome::Reschedule(5.0))).unwrap_err();
    assert_eq!(err.status, Some(503));
    f.queue.fail.set(false);
    let Begin::Deliver { attempt: 2, .. } = f.begin(&body, 2) else {
        panic!("the retry must run at once, not be parked behind the lease")
    };
}

// Regression: a handler that succeeded but whose delivery record could not be marked done
// made the message be retried; the retry was parked for the whole lease and then ran the
// handler a second time. The work is done: the message is acknowledged.
#[test]
fn a_done_delivery_whose_record_cannot_be_written_is_still_acknowledged() {
    let f = Fixture::new();
    f.send("__wkf_workflow_w", payload(), SendOptions::default());
    let body = f.queue.take().remove(0).1;
    assert!(matches!(f.begin(&body, 1), Begin::Deliver { .. }));
    *f.db.before_next.borrow_mut() = Some(vec![Sql::new("SELECT * FROM no_such_table").finish()]);
    let e = Envelope::parse(&body).unwrap();
    futures_executor::block_on(finish(&f.io(), &e, Outcome::Done)).unwrap();
    assert!(f.queue.take().is_empty());
}

// Regression: when the batch taking a delivery's lease committed but its reply was lost,
// the consumer failed the message, and Cloudflare's retry found the lease held by a
// holder that never ran the handler: it was parked for the whole 15-min lease.
#[test]
fn a_retry_after_a_lost_lease_reply_takes_the_delivery_over_at_once() {
    let f = Fixture::new();
    f.send("__wkf_workflow_w", payload(), SendOptions::default());
    let body = f.queue.take().remove(0).1;
    let lossy = LostReply::new(&f.db);
    let io = f.io_with(&lossy);
    let e = futures_executor::block_on(begin(&io, Ok(body.clone()), 1)).unwrap_err();
    assert_eq!(e.status, Some(503));
    let Begin::Deliver { attempt: 2, .. } = f.begin(&body, 2) else {
        panic!("the retry must run at once")
    };
    assert!(f.queue.take().is_empty(), "nothing parked");
    // a copy of the same attempt still waits: the holder may be running
    assert!(matches!(
        f.begin(&body, 2),
        Begin::Settled("duplicate of a running delivery")
    ));
    // and a failure whose release is lost is taken over by the next attempt too
    *f.db.before_next.borrow_mut() = Some(vec![Sql::new("SELECT * FROM no_such_table").finish()]);
    let e = Envelope::parse(&body).unwrap();
    assert!(futures_executor::block_on(finish(&f.io(), &e, Outcome::Failed)).is_err());
    let _ = f.queue.take();
    assert!(matches!(
        f.begin(&body, 3),
        Begin::Deliver { attempt: 3, .. }
    ));
}

#[test]
fn invalid_bodies_are_reported_not_delivered() {
    let f = Fixture::new();
    let Begin::Invalid(e) = f.begin(&Value::Text("junk".into()), 1) else {
        panic!()
    };
    assert!(e.message.contains("not an object"), "{}", e.message);
}

#[test]
fn options_are_checked() {
    let bad = SendOptions::parse(Some(&Value::Map(vec![entry(
        "delaySeconds",
        Value::Integer((-1).into()),
    )])));
    assert!(bad.unwrap_err().message.contains("delaySeconds"));
    let ok = SendOptions::parse(Some(&Value::Map(vec![entry(
        "delaySeconds",
        Value::Float(1.2),
    )])))
    .unwrap();
    assert_eq!(ok.delay_seconds, 2);
}

/// world-contract-v5 §9 `queueBatch`: each message as `queue()` sends it, in order, the
/// claims in one D1 round trip and the messages in one Queues `sendBatch`.
#[test]
fn a_batch_claims_in_one_round_trip_sends_in_one_call_and_answers_each_message() {
    let f = Fixture::new();
    let earlier = f.send("__wkf_workflow_w", payload(), keyed("k-held"));
    f.queue.take();
    let oversized = SendOptions {
        deployment_id: Some("d".repeat(MAX_ENVELOPE_FIELDS_BYTES + 1)),
        ..SendOptions::default()
    };
    let messages = vec![
        (payload(), keyed("k-new")),
        (payload(), keyed("k-held")),
        (payload(), oversized),
        (payload(), SendOptions::default()),
    ];
    f.db.round_trips.set(0);
    let results =
        futures_executor::block_on(send_batch(&f.io(), Line::V5, "__wkf_workflow_w", &messages))
            .unwrap();
    assert_eq!(f.db.round_trips.get(), 1, "every claim in one round trip");
    assert_eq!(f.queue.batches.get(), 1, "one sendBatch");
    assert_eq!(results.len(), 4);
    assert!(results[0].as_ref().unwrap().starts_with("msg_"));
    assert_eq!(
        results[1].as_ref().unwrap(),
        &earlier,
        "the key's holder answers"
    );
    assert_eq!(results[2].as_ref().unwrap_err().status, Some(413));
    assert!(results[3].as_ref().unwrap().starts_with("msg_"));
    let sent: Vec<String> = f
        .queue
        .take()
        .iter()
        .map(|(_, body, _)| Envelope::parse(body).unwrap().message_id)
        .collect();
    assert_eq!(
        sent,
        [results[0].clone().unwrap(), results[3].clone().unwrap()]
    );
}

#[test]
fn a_refused_batch_fails_each_message_retryably_and_frees_its_keys() {
    let f = Fixture::new();
    f.queue.fail.set(true);
    let messages = vec![
        (payload(), keyed("k1")),
        (payload(), SendOptions::default()),
    ];
    let results =
        futures_executor::block_on(send_batch(&f.io(), Line::V5, "__wkf_workflow_w", &messages))
            .unwrap();
    for r in &results {
        let e = r.as_ref().unwrap_err();
        assert!(e.status.is_some_and(|s| s >= 500), "{e:?}");
    }
    f.queue.fail.set(false);
    // the key is free again: a retry sends a new message
    let again =
        futures_executor::block_on(send_batch(&f.io(), Line::V5, "__wkf_workflow_w", &messages))
            .unwrap();
    assert!(again.iter().all(Result::is_ok));
    assert_eq!(f.queue.take().len(), 2);
    let bad = futures_executor::block_on(send_batch(&f.io(), Line::V5, "nope", &messages));
    assert_eq!(bad.unwrap_err().status, Some(400));
}

#[test]
fn batch_entries_are_read_with_named_errors() {
    let ok = Value::Array(vec![Value::Map(vec![
        entry("message", payload()),
        entry("opts", Value::Map(vec![text("idempotencyKey", "k")])),
    ])]);
    let parsed = parse_batch(Some(&ok)).unwrap();
    assert_eq!(parsed[0].1.idempotency_key.as_deref(), Some("k"));
    let e = parse_batch(Some(&Value::Text("x".into()))).unwrap_err();
    assert!(
        e.message.contains("`messages` must be an array"),
        "{}",
        e.message
    );
    let e = parse_batch(Some(&Value::Array(vec![Value::Integer(1.into())]))).unwrap_err();
    assert!(
        e.message.contains("`messages[0]` must be {message, opts?}"),
        "{}",
        e.message
    );
}
