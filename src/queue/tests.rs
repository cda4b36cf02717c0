//! The queue flows natively: SQLite for D1, in-memory fakes for the queue and R2.

use super::*;
use crate::testing::Sqlite3;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

#[derive(Default)]
struct FakeQueue {
    sent: RefCell<Vec<(QueueKind, Value, i64)>>,
}

impl Sender for FakeQueue {
    async fn send(&self, kind: QueueKind, body: &Value, delay_seconds: i64) -> Result<(), String> {
        self.sent
            .borrow_mut()
            .push((kind, body.clone(), delay_seconds));
        Ok(())
    }
}

impl FakeQueue {
    fn take(&self) -> Vec<(QueueKind, Value, i64)> {
        std::mem::take(&mut *self.sent.borrow_mut())
    }
}

#[derive(Default)]
struct FakeR2(RefCell<HashMap<String, Vec<u8>>>);

impl Blobs for FakeR2 {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), String> {
        self.0.borrow_mut().insert(key.into(), bytes);
        Ok(())
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(self.0.borrow().get(key).cloned())
    }
    async fn delete(&self, key: &str) -> Result<(), String> {
        self.0.borrow_mut().remove(key);
        Ok(())
    }
}

struct Clock2 {
    now: Cell<Millis>,
    n: Cell<u128>,
}

impl Clock for Clock2 {
    fn now(&self) -> Millis {
        self.now.get()
    }
    fn random(&self) -> u128 {
        self.n.set(self.n.get() + 1);
        self.n.get()
    }
}

struct Fixture {
    db: Sqlite3,
    queue: FakeQueue,
    r2: FakeR2,
    clock: Clock2,
    max_delay: i64,
}

const T0: Millis = 1_764_000_000_000;

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            db: Sqlite3::new(),
            queue: FakeQueue::default(),
            r2: FakeR2::default(),
            clock: Clock2 {
                now: Cell::new(T0),
                n: Cell::new(0),
            },
            max_delay: 86_400,
        }
    }
    fn io(&self) -> Io<'_, Sqlite3, FakeQueue, FakeR2, Clock2> {
        Io {
            db: &self.db,
            sender: &self.queue,
            blobs: &self.r2,
            clock: &self.clock,
            max_delay_seconds: self.max_delay,
        }
    }
    fn send(&self, queue: &str, payload: Value, opts: SendOptions) -> String {
        futures_executor::block_on(send(&self.io(), queue, &payload, &opts)).unwrap()
    }
    fn begin(&self, body: &Value, cf_attempts: i64) -> Begin {
        futures_executor::block_on(begin(&self.io(), Ok(body.clone()), cf_attempts)).unwrap()
    }
    fn finish(&self, body: &Value, outcome: Outcome) {
        let e = Envelope::parse(body).unwrap();
        futures_executor::block_on(finish(&self.io(), &e, outcome)).unwrap()
    }
    fn advance(&self, ms: Millis) {
        self.clock.now.set(self.clock.now.get() + ms);
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

#[test]
fn a_delay_longer_than_a_queue_holds_is_chained() {
    let mut f = Fixture::new();
    f.max_delay = 10;
    f.send(
        "__wkf_workflow_w",
        payload(),
        SendOptions {
            delay_seconds: 25,
            ..SendOptions::default()
        },
    );
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
    assert_eq!(f.r2.0.borrow().len(), 1);
    let Begin::Deliver { payload, .. } = f.begin(&body, 1) else {
        panic!()
    };
    assert_eq!(payload, big);
    f.finish(&body, Outcome::Done);
    assert!(f.r2.0.borrow().is_empty());
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
