//! `events.createBatch` over SQLite with the schema of `migrations/` (world-contract-v5 §9).

use super::*;
use crate::model::params::ResolveData;
use crate::model::value::{date, entry, text};
use crate::model::{ids::slot_event_id, StepStatus};
use crate::store::{create_event, list_events, ReadParams};
use crate::testing::{event as ev, run_created, Fixture};

const RUN: &str = "wrun_01KAV9FT000000000000000000";

fn started(f: &Fixture) {
    let create = |data: Value| {
        futures_executor::block_on(create_event(
            &f.io(),
            Line::V5,
            Some(RUN),
            &data,
            &CreateParams::default(),
        ))
        .unwrap()
    };
    create(run_created());
    create(ev("run_started", None, vec![]));
}

fn step(corr: &str) -> Value {
    ev(
        "step_created",
        Some(corr),
        vec![text("stepName", "s"), entry("input", Value::Bytes(vec![1]))],
    )
}

fn wait(corr: &str) -> Value {
    ev("wait_created", Some(corr), vec![entry("resumeAt", date(9))])
}

fn try_batch(
    f: &Fixture,
    events: &[Value],
) -> Result<Vec<Result<EventResult, WorldError>>, WorldError> {
    futures_executor::block_on(create_batch(&f.io(), RUN, events, &CreateParams::default()))
}

fn batch(f: &Fixture, events: Vec<Value>) -> (Vec<Result<EventResult, WorldError>>, usize) {
    f.db.round_trips.set(0);
    let out = try_batch(f, &events).unwrap();
    (out, f.db.round_trips.get())
}

fn log(f: &Fixture) -> Vec<(String, EventType, Option<String>)> {
    let p = ReadParams {
        run_id: Some(RUN.into()),
        ..ReadParams::parse(None, 1000, crate::model::params::SortOrder::Asc).unwrap()
    };
    futures_executor::block_on(list_events(&f.db, &p))
        .unwrap()
        .data
        .into_iter()
        .map(|e| (e.event_id, e.event_type, e.correlation_id))
        .collect()
}

#[test]
fn a_fan_out_lands_at_consecutive_slots_in_one_round_trip_with_each_entity() {
    let f = Fixture::new();
    started(&f);
    let events = vec![
        step("step_a"),
        wait("wait_1"),
        step("step_b"),
        ev("step_started", Some("step_b"), vec![]),
    ];
    let (results, trips) = batch(&f, events);
    assert_eq!(trips, 1);
    let ids: Vec<String> = results
        .iter()
        .map(|r| r.as_ref().unwrap().event.as_ref().unwrap().event_id.clone())
        .collect();
    assert_eq!(ids, (3..=6).map(slot_event_id).collect::<Vec<_>>());
    assert_eq!(
        results[0].as_ref().unwrap().step.as_ref().unwrap().status,
        StepStatus::Pending
    );
    assert!(results[1].as_ref().unwrap().wait.is_some());
    assert_eq!(
        results[3].as_ref().unwrap().step.as_ref().unwrap().status,
        StepStatus::Running,
        "born running"
    );
    assert_eq!(
        log(&f).into_iter().map(|(_, t, _)| t).collect::<Vec<_>>(),
        [
            EventType::RunCreated,
            EventType::RunStarted,
            EventType::StepCreated,
            EventType::WaitCreated,
            EventType::StepCreated,
            EventType::StepStarted
        ]
    );
}

#[test]
fn a_repeated_batch_is_answered_event_by_event_with_409_and_appends_nothing() {
    let f = Fixture::new();
    started(&f);
    let events = || {
        vec![
            step("step_a"),
            wait("wait_1"),
            step("step_b"),
            ev("step_started", Some("step_b"), vec![]),
        ]
    };
    batch(&f, events());
    let before = log(&f);
    let (again, trips) = batch(&f, events());
    assert!(trips <= 2, "{trips} round trips");
    for r in &again {
        let e = r.as_ref().unwrap_err();
        assert_eq!(status_of(e), 409, "{e:?}");
    }
    // the born-running pair is one write: its step_started never claims the step it did
    // not create
    assert_eq!(
        again[2].as_ref().unwrap_err().message,
        again[3].as_ref().unwrap_err().message
    );
    assert_eq!(log(&f), before);
}

#[test]
fn the_events_that_meet_their_state_commit_and_the_others_fail_alone() {
    let f = Fixture::new();
    started(&f);
    batch(&f, vec![step("step_old")]);
    let (results, _) = batch(
        &f,
        vec![
            step("step_new"),
            step("step_old"),
            ev("step_completed", Some("step_missing"), vec![]),
            wait("wait_1"),
        ],
    );
    assert!(results[0].is_ok());
    assert_eq!(status_of(results[1].as_ref().unwrap_err()), 409);
    assert!(results[2].is_err());
    assert!(results[3].is_ok());
    let slots: Vec<_> = log(&f)
        .into_iter()
        .map(|(id, t, c)| (id, t, c.unwrap_or_default()))
        .collect();
    assert_eq!(
        slots[3..],
        [
            (slot_event_id(4), EventType::StepCreated, "step_new".into()),
            (slot_event_id(5), EventType::WaitCreated, "wait_1".into()),
        ],
        "the survivors, consecutive and in request order"
    );
}

#[test]
fn a_batch_that_no_single_write_could_be_is_refused_whole_by_name() {
    let f = Fixture::new();
    started(&f);
    let before = log(&f);
    let refused = |events: Vec<Value>, says: &str| {
        let e = try_batch(&f, &events).unwrap_err();
        assert_eq!(e.status, Some(400));
        assert!(e.message.contains(says), "{}", e.message);
    };
    refused(
        vec![step("step_a"), ev("run_cancelled", None, vec![])],
        "`events[1]` is a run_cancelled",
    );
    refused(
        vec![step("step_a"), ev("step_completed", Some("step_a"), vec![])],
        "targets the step \"step_a\" again",
    );
    let lazy = ev(
        "step_started",
        Some("step_a"),
        vec![text("stepName", "s"), entry("input", Value::Bytes(vec![1]))],
    );
    refused(vec![step("step_a"), lazy], "without a payload");
    assert_eq!(log(&f), before);
    // a malformed event is its own failure, as its single create's would be
    let (results, _) = batch(&f, vec![ev("step_created", None, vec![]), wait("wait_9")]);
    assert_eq!(results[0].as_ref().unwrap_err().status, Some(400));
    assert!(results[1].is_ok());
    let read = futures_executor::block_on(crate::store::get_run(&f.db, RUN, ResolveData::None));
    assert!(read.is_ok());
}
