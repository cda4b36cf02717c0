//! The optional run members over SQLite with the schema of `migrations/`
//! (world-contract-v5 §9).

use super::*;
use crate::model::value::{entry, text};
use crate::model::{Line, Value};
use crate::ports::Clock;
use crate::store::create_event;
use crate::testing::{event as ev, run_created, Fixture, TestClock};
use std::cell::{Cell, RefCell};

fn run_id(n: u8) -> String {
    format!("wrun_01KAV9FT0000000000000000{n:02}")
}

/// Creates run `n` (spec 7) and moves it to `status` with the events that do so.
fn run(f: &Fixture, n: u8, status: &str) -> String {
    let id = run_id(n);
    let create = |data: Value| {
        futures_executor::block_on(create_event(
            &f.io(),
            Line::V5,
            Some(&id),
            &data,
            &CreateParams::default(),
        ))
        .unwrap()
    };
    create(run_created());
    if status == "pending" {
        return id;
    }
    create(ev("run_started", None, vec![]));
    match status {
        "completed" => create(ev(
            "run_completed",
            None,
            vec![entry("output", Value::Bytes(vec![1]))],
        )),
        "failed" => create(ev(
            "run_failed",
            None,
            vec![entry("error", Value::Map(vec![text("message", "no")]))],
        )),
        "cancelled" => create(ev("run_cancelled", None, vec![])),
        _ => return id,
    };
    id
}

fn trips<T>(f: &Fixture, call: impl FnOnce() -> T) -> (T, usize) {
    f.db.round_trips.set(0);
    let out = call();
    (out, f.db.round_trips.get())
}

#[test]
fn get_many_answers_in_the_order_asked_with_none_for_missing_in_one_round_trip() {
    let f = Fixture::new();
    let a = run(&f, 1, "running");
    let b = run(&f, 2, "completed");
    let ids = vec![b.clone(), run_id(9), a.clone(), b.clone()];
    let (runs, n) = trips(&f, || {
        futures_executor::block_on(get_many(&f.db, &ids, ResolveData::None)).unwrap()
    });
    assert_eq!(n, 1);
    let got: Vec<Option<(&str, RunStatus)>> = runs
        .iter()
        .map(|r| r.as_ref().map(|r| (r.run_id.as_str(), r.status)))
        .collect();
    assert_eq!(
        got,
        [
            Some((b.as_str(), RunStatus::Completed)),
            None,
            Some((a.as_str(), RunStatus::Running)),
            Some((b.as_str(), RunStatus::Completed)),
        ]
    );
    let b_alone = futures_executor::block_on(get_run(&f.db, &b, ResolveData::None)).unwrap();
    assert_eq!(
        runs[0].as_ref(),
        Some(&b_alone),
        "as runs.get answers, resolveData none"
    );
    let (none, n) = trips(&f, || {
        futures_executor::block_on(get_many(&f.db, &[], ResolveData::All)).unwrap()
    });
    assert_eq!((none.len(), n), (0, 0));
    // more ids than one statement binds still take one round trip
    let many: Vec<String> = (0..200).map(|i| format!("wrun_x{i}")).collect();
    let (runs, n) = trips(&f, || {
        futures_executor::block_on(get_many(&f.db, &many, ResolveData::All)).unwrap()
    });
    assert_eq!((runs.len(), n), (200, 1));
    let too_many: Vec<String> = (0..1001).map(|i| format!("wrun_x{i}")).collect();
    let e = futures_executor::block_on(get_many(&f.db, &too_many, ResolveData::All)).unwrap_err();
    assert_eq!(e.status, Some(400));
    assert!(e.message.contains("at most 1000"), "{}", e.message);
}

/// Runs a future that the SQLite fixture completes on its first poll (inside a timer that
/// already runs under `block_on`, which cannot nest).
fn at_once<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("the fixture's future was not ready"),
    }
}

/// A timer that moves the test's clock instead of waiting, and can act after each sleep.
struct StepTimer<'a> {
    clock: &'a TestClock,
    sleeps: RefCell<Vec<Millis>>,
    after: Box<dyn Fn(usize) + 'a>,
}

impl Timer for StepTimer<'_> {
    fn sleep(&self, ms: Millis) -> impl Future<Output = ()> {
        self.clock.advance(ms);
        self.sleeps.borrow_mut().push(ms);
        (self.after)(self.sleeps.borrow().len());
        std::future::ready(())
    }
}

#[test]
fn wait_for_terminal_polls_from_100_ms_to_1_s_and_returns_the_ended_run() {
    let f = Fixture::new();
    let id = run(&f, 1, "running");
    let timer = StepTimer {
        clock: &f.clock,
        sleeps: RefCell::new(Vec::new()),
        after: Box::new(|sleeps| {
            if sleeps == 7 {
                at_once(create_event(
                    &f.io(),
                    Line::V5,
                    Some(&run_id(1)),
                    &ev("run_completed", None, vec![entry("output", Value::Null)]),
                    &CreateParams::default(),
                ))
                .unwrap();
            }
        }),
    };
    let never = || false;
    let run = futures_executor::block_on(wait_for_terminal(
        &f.db,
        &timer,
        &f.clock,
        &id,
        ResolveData::None,
        50_000,
        never,
    ))
    .unwrap();
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(
        *timer.sleeps.borrow(),
        [100, 200, 400, 800, 1000, 1000, 1000]
    );
}

#[test]
fn wait_for_terminal_returns_the_latest_state_at_its_timeout_or_when_aborted() {
    let f = Fixture::new();
    let id = run(&f, 1, "running");
    let timer = StepTimer {
        clock: &f.clock,
        sleeps: RefCell::new(Vec::new()),
        after: Box::new(|_| {}),
    };
    let start = f.clock.now();
    let run = futures_executor::block_on(wait_for_terminal(
        &f.db,
        &timer,
        &f.clock,
        &id,
        ResolveData::None,
        2_500,
        || false,
    ))
    .unwrap();
    assert_eq!(run.status, RunStatus::Running);
    assert_eq!(f.clock.now() - start, 2_500, "never past the timeout");
    assert_eq!(*timer.sleeps.borrow(), [100, 200, 400, 800, 1000]);
    // a timeout of 0 is one read; an aborted wait returns at once
    let polls = Cell::new(0);
    let (_, n) = trips(&f, || {
        futures_executor::block_on(wait_for_terminal(
            &f.db,
            &timer,
            &f.clock,
            &id,
            ResolveData::None,
            0,
            || false,
        ))
    });
    assert_eq!(n, 1);
    futures_executor::block_on(wait_for_terminal(
        &f.db,
        &timer,
        &f.clock,
        &id,
        ResolveData::None,
        60_000,
        || {
            polls.set(polls.get() + 1);
            true
        },
    ))
    .unwrap();
    assert_eq!(polls.get(), 1);
    let missing = futures_executor::block_on(wait_for_terminal(
        &f.db,
        &timer,
        &f.clock,
        &run_id(9),
        ResolveData::None,
        1_000,
        || false,
    ))
    .unwrap_err();
    assert_eq!(missing.name, ErrorName::WorkflowRunNotFound);
}

#[test]
fn cancel_many_reports_each_run_in_order_with_one_read_and_one_write_per_cancel() {
    let f = Fixture::new();
    let ids = vec![
        run(&f, 1, "running"),
        run(&f, 2, "cancelled"),
        run(&f, 3, "completed"),
        run_id(9),
        run(&f, 4, "pending"),
        run(&f, 5, "failed"),
    ];
    let (result, n) = trips(&f, || {
        futures_executor::block_on(cancel_many(&f.io(), &ids, Some("no longer needed"))).unwrap()
    });
    assert_eq!(n, 1 + 2, "one status read, one write per run cancelled");
    use CancelOutcome::*;
    let id = |i: usize| ids[i].clone();
    assert_eq!(
        result.results,
        [
            Cancelled { run_id: id(0) },
            AlreadyCancelled { run_id: id(1) },
            NotCancellable {
                run_id: id(2),
                status: "completed".into()
            },
            NotFound { run_id: id(3) },
            Cancelled { run_id: id(4) },
            NotCancellable {
                run_id: id(5),
                status: "failed".into()
            },
        ]
    );
    assert_eq!(
        result.summary,
        CancelSummary {
            requested: 6,
            cancelled: 2,
            already_cancelled: 1,
            not_cancellable: 2,
            not_found: 1,
            failed: 0
        }
    );
    let cancelled = futures_executor::block_on(get_run(&f.db, &ids[0], ResolveData::None)).unwrap();
    assert_eq!(cancelled.status, RunStatus::Cancelled);
}

#[test]
fn cancel_many_refuses_bad_requests_by_name_and_changes_nothing() {
    let f = Fixture::new();
    let a = run(&f, 1, "running");
    let refuse = |ids: Vec<String>, reason: Option<&str>| {
        let (e, n) = trips(&f, || {
            futures_executor::block_on(cancel_many(&f.io(), &ids, reason)).unwrap_err()
        });
        assert_eq!((e.status, n), (Some(400), 0), "{}", e.message);
        e.message
    };
    assert!(refuse(vec![], None).contains("allowed: 1 to 500"));
    assert!(refuse((0..501).map(|i| format!("wrun_{i}")).collect(), None).contains("501 runIds"));
    assert!(refuse(vec![a.clone(), a.clone()], None).contains("duplicates"));
    assert!(refuse(vec![a.clone()], Some(&"x".repeat(513))).contains("513 characters"));
    let run = futures_executor::block_on(get_run(&f.db, &a, ResolveData::None)).unwrap();
    assert_eq!(run.status, RunStatus::Running);
}

#[test]
fn requests_are_read_with_named_errors() {
    let ids = Value::Array(vec![
        Value::Text("wrun_1".into()),
        Value::Text("wrun_2".into()),
    ]);
    assert_eq!(parse_ids(Some(&ids), "ids").unwrap(), ["wrun_1", "wrun_2"]);
    let e = parse_ids(Some(&Value::Text("wrun_1".into())), "ids").unwrap_err();
    assert!(
        e.message
            .contains("ids must be an array of run ids, got 'wrun_1'"),
        "{}",
        e.message
    );
    let mixed = Value::Array(vec![Value::Text("wrun_1".into()), Value::Integer(3.into())]);
    let e = parse_ids(Some(&mixed), "ids").unwrap_err();
    assert!(
        e.message.contains("ids[1] must be a run id"),
        "{}",
        e.message
    );
    let timeout = |v: Value| parse_timeout(Some(&Value::Map(vec![entry("timeoutMs", v)])));
    assert_eq!(timeout(Value::Integer(50_000.into())).unwrap(), 50_000);
    assert_eq!(timeout(Value::Float(0.5)).unwrap(), 1);
    assert_eq!(parse_timeout(None).unwrap(), 0);
    let e = timeout(Value::Integer((-1).into())).unwrap_err();
    assert!(
        e.message
            .contains("`timeoutMs` must be a number of milliseconds ≥ 0, got -1"),
        "{}",
        e.message
    );
    assert_eq!(
        timeout(Value::Text("5".into())).unwrap_err().status,
        Some(400)
    );
    let request = Value::Map(vec![entry("runIds", ids), text("cancelReason", "why")]);
    let (ids, reason) = parse_cancel_request(Some(&request)).unwrap();
    assert_eq!((ids.len(), reason.as_deref()), (2, Some("why")));
    let e = parse_cancel_request(None).unwrap_err();
    assert!(
        e.message.contains("`runIds` must be an array"),
        "{}",
        e.message
    );
}
