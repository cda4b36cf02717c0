//! The 5.x line's store natively (world-contract-v5 §3–§4): slot allocation, bump and
//! report, the log answers, lazy starts, attributes, resume dedup and the purge, over real
//! SQLite with the schema of `migrations/`.

use super::*;
use crate::model::value::{date, entry, text};
use crate::model::{ErrorName, EventType, Payload, StepStatus};
use crate::ports::Clock;
use crate::testing::{event as ev, run_created, run_created_with, Fixture};

const RUN: &str = "wrun_01KAV9FT000000000000000000";

fn wait(corr: &str) -> Value {
    ev("wait_created", Some(corr), vec![entry("resumeAt", date(9))])
}

fn counted(count: i64) -> CreateParams {
    CreateParams {
        event_count: Some(count),
        ..CreateParams::default()
    }
}

trait V5 {
    fn create_with(&self, data: Value, params: &CreateParams) -> Result<EventResult, WorldError>;
    /// An event of `RUN`, with default params.
    fn create(&self, data: Value) -> Result<EventResult, WorldError> {
        self.create_with(data, &CreateParams::default())
    }
    /// An event of another run than `RUN`, with default params.
    fn create_in(&self, run: &str, data: Value) -> Result<EventResult, WorldError>;
    /// Creates another run than `RUN`.
    fn another_run(&self, run: &str);
    fn trips(&self, data: Value, params: &CreateParams)
        -> (Result<EventResult, WorldError>, usize);
    fn slots(&self) -> Vec<(String, EventType)>;
    fn started(&self);
}

impl V5 for Fixture {
    fn create_with(&self, data: Value, params: &CreateParams) -> Result<EventResult, WorldError> {
        futures_executor::block_on(create_event(&self.io(), Line::V5, Some(RUN), &data, params))
    }

    fn create_in(&self, run: &str, data: Value) -> Result<EventResult, WorldError> {
        let params = CreateParams::default();
        futures_executor::block_on(create_event(
            &self.io(),
            Line::V5,
            Some(run),
            &data,
            &params,
        ))
    }

    fn another_run(&self, run: &str) {
        self.create_in(run, run_created()).unwrap();
    }

    fn trips(
        &self,
        data: Value,
        params: &CreateParams,
    ) -> (Result<EventResult, WorldError>, usize) {
        self.db.round_trips.set(0);
        let r = self.create_with(data, params);
        (r, self.db.round_trips.get())
    }

    fn slots(&self) -> Vec<(String, EventType)> {
        let p = ReadParams {
            run_id: Some(RUN.into()),
            ..ReadParams::parse(None, 1000, SortOrder::Asc).unwrap()
        };
        futures_executor::block_on(list_events(&self.db, &p))
            .unwrap()
            .data
            .into_iter()
            .map(|e| (e.event_id, e.event_type))
            .collect()
    }

    fn started(&self) {
        let created = run_created_with(vec![entry("input", Value::Bytes(vec![1]))]);
        self.create(created).unwrap();
        let skip = CreateParams {
            skip_preload: true,
            ..CreateParams::default()
        };
        self.create_with(ev("run_started", None, vec![]), &skip)
            .unwrap();
    }
}

fn slot(n: i64) -> String {
    ids::slot_event_id(n)
}

#[test]
fn slot_runs_get_dense_slot_ids_in_one_round_trip_each() {
    let f = Fixture::new();
    f.started();
    let (r, n) = f.trips(wait("wait_1"), &counted(2));
    let r = r.unwrap();
    assert_eq!(n, 1);
    assert_eq!(r.event.unwrap().event_id, slot(3));
    assert!(r.log.is_none(), "no report when the expected slot was free");
    assert_eq!(
        f.slots(),
        [
            (slot(1), EventType::RunCreated),
            (slot(2), EventType::RunStarted),
            (slot(3), EventType::WaitCreated)
        ]
    );
    assert_eq!(slot(3), "evnt_00000000000000000000000003");
}

#[test]
fn a_taken_slot_bumps_the_write_and_reports_what_it_skipped() {
    let f = Fixture::new();
    f.started();
    f.create_with(wait("wait_1"), &counted(2)).unwrap();
    f.create_with(wait("wait_2"), &counted(3)).unwrap();
    // a writer that still holds slot 2 lands on 5 and learns of slots 3 and 4
    let (r, n) = f.trips(wait("wait_3"), &counted(2));
    let r = r.unwrap();
    assert_eq!(n, 1, "bump and report is the same round trip");
    assert_eq!(r.event.unwrap().event_id, slot(5));
    let report = r.log.unwrap();
    let reported: Vec<_> = report.events.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(reported, [slot(3), slot(4)]);
    assert_eq!((report.cursor.0, report.has_more), (None, false));
}

#[test]
fn since_cursor_answers_the_delta_including_the_write() {
    let f = Fixture::new();
    f.started();
    f.create_with(wait("wait_1"), &counted(2)).unwrap();
    let params = CreateParams {
        since_cursor: Some("s:2".into()),
        event_count: Some(3),
        ..CreateParams::default()
    };
    let r = f.create_with(wait("wait_2"), &params).unwrap();
    let delta = r.log.unwrap();
    let ids: Vec<_> = delta.events.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(ids, [slot(3), slot(4)]);
    assert_eq!(delta.cursor.0.as_deref(), Some("s:4"));
    // the cursor pages events.list from the same place
    let p = ReadParams {
        run_id: Some(RUN.into()),
        page: crate::model::params::Page {
            cursor: Some("s:2".into()),
            ..ReadParams::parse(None, 10, SortOrder::Asc).unwrap().page
        },
        ..ReadParams::parse(None, 10, SortOrder::Asc).unwrap()
    };
    let listed = futures_executor::block_on(list_events(&f.db, &p)).unwrap();
    assert_eq!(listed.data.len(), 2);
}

#[test]
fn a_repeated_run_started_returns_the_log_unless_preload_is_skipped() {
    let f = Fixture::new();
    f.started();
    f.create_with(wait("wait_1"), &counted(2)).unwrap();
    let (r, n) = f.trips(ev("run_started", None, vec![]), &CreateParams::default());
    let r = r.unwrap();
    assert_eq!(n, 1);
    assert!(r.event.is_none());
    assert!(r.run.unwrap().started_at.is_some());
    let log = r.log.unwrap();
    assert_eq!(log.events.len(), 3);
    assert_eq!(
        (log.cursor.0.as_deref(), log.has_more),
        (Some("s:3"), false)
    );
    let skip = CreateParams {
        skip_preload: true,
        ..CreateParams::default()
    };
    let r = f
        .create_with(ev("run_started", None, vec![]), &skip)
        .unwrap();
    assert!(r.log.is_none());
}

#[test]
fn resilient_run_started_puts_the_synthetic_run_created_first() {
    let f = Fixture::new();
    let data = vec![
        text("deploymentId", "d"),
        text("workflowName", "w"),
        entry("input", Value::Bytes(vec![0, 7])),
    ];
    let r = f.create(ev("run_started", None, data)).unwrap();
    assert_eq!(r.run.unwrap().status, RunStatus::Running);
    assert_eq!(
        f.slots(),
        [
            (slot(1), EventType::RunCreated),
            (slot(2), EventType::RunStarted)
        ]
    );
    let bare = Fixture::new();
    let e = bare.create(ev("run_started", None, vec![])).unwrap_err();
    assert_eq!(e.name, ErrorName::WorkflowRunNotFound);
}

#[test]
fn a_lazy_step_started_creates_its_step_once() {
    let f = Fixture::new();
    f.started();
    let lazy = || {
        ev(
            "step_started",
            Some("step_1"),
            vec![text("stepName", "s"), entry("input", Value::Bytes(vec![4]))],
        )
    };
    let (r, n) = f.trips(lazy(), &CreateParams::default());
    let r = r.unwrap();
    assert_eq!(n, 1);
    assert_eq!(r.step_created, Some(true));
    let step = r.step.unwrap();
    assert_eq!((step.status, step.attempt), (StepStatus::Running, 1));
    assert_eq!(step.input, Some(Payload(Value::Bytes(vec![4]))));
    assert_eq!(
        f.slots()[2..],
        [
            (slot(3), EventType::StepCreated),
            (slot(4), EventType::StepStarted)
        ]
    );
    let again = f.create(lazy()).unwrap_err();
    assert_eq!(again.name, ErrorName::EntityConflict);
    assert_eq!(f.slots().len(), 4, "the loser appends nothing");
}

#[test]
fn attributes_validate_dedupe_workflow_writers_and_read_back() {
    let f = Fixture::new();
    f.started();
    let set = |corr: Option<&str>, key: &str, value: &str, writer: Value| {
        ev(
            "attr_set",
            corr,
            vec![
                entry(
                    "changes",
                    Value::Array(vec![Value::Map(vec![
                        text("key", key),
                        text("value", value),
                    ])]),
                ),
                entry("writer", writer),
            ],
        )
    };
    let workflow = || Value::Map(vec![text("type", "workflow")]);
    let step = || {
        Value::Map(vec![
            text("type", "step"),
            text("stepId", "step_1"),
            entry("attempt", Value::Integer(1.into())),
        ])
    };
    let r = f.create(set(Some("attr_1"), "a", "1", workflow())).unwrap();
    assert_eq!(
        r.run.unwrap().attributes.unwrap().0,
        [("a".to_owned(), "1".to_owned())]
    );
    let refused = |data: Value| f.create(data).unwrap_err().name;
    assert_eq!(
        refused(set(Some("attr_1"), "a", "2", workflow())),
        ErrorName::EntityConflict
    );
    f.create(set(None, "b", "1", step())).unwrap();
    f.create(set(None, "b", "2", step())).unwrap();
    // §4.5: a step writer's correlation id is not claimed: a workflow writer may claim it
    // after, once (found by tests/differential/fuzz-v5.test.mjs)
    f.create(set(Some("attr_9"), "s", "1", step())).unwrap();
    f.create(set(Some("attr_9"), "s", "2", workflow())).unwrap();
    assert_eq!(
        refused(set(Some("attr_9"), "s", "3", workflow())),
        ErrorName::EntityConflict
    );
    // §4.5: a workflow writer without a correlation id claims nothing, like a step's
    f.create(set(None, "w", "1", workflow())).unwrap();
    f.create(set(None, "w", "2", workflow())).unwrap();
    assert_eq!(
        refused(set(Some("attr_2"), "$retention", "0", workflow())),
        ErrorName::AttributeValidation
    );
    let run = futures_executor::block_on(get_run(&f.db, RUN, ResolveData::All)).unwrap();
    assert_eq!(
        run.attributes.unwrap().0,
        [
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
            ("s".to_owned(), "2".to_owned()),
            ("w".to_owned(), "2".to_owned())
        ]
    );
    // the failed validation left attr_2 unclaimed
    f.create(set(Some("attr_2"), "c", "1", workflow())).unwrap();
}

#[test]
fn a_resume_id_commits_one_hook_received() {
    let f = Fixture::new();
    f.started();
    f.create_with(
        ev("hook_created", Some("hook_1"), vec![text("token", "t1")]),
        &counted(2),
    )
    .unwrap();
    let resume = CreateParams {
        resume_id: Some("r1".into()),
        resume_digest: Some("d1".into()),
        ..CreateParams::default()
    };
    let received = || {
        ev(
            "hook_received",
            Some("hook_1"),
            vec![entry("payload", Value::Bytes(vec![1]))],
        )
    };
    let first = f.create_with(received(), &resume).unwrap().event.unwrap();
    let again = f.create_with(received(), &resume).unwrap().event.unwrap();
    assert_eq!(first.event_id, again.event_id);
    assert_eq!(again.resume_id.as_deref(), Some("r1"));
    assert_eq!(f.slots().len(), 4);
}

#[test]
fn retention_zero_purges_the_runs_user_data_at_its_end() {
    let f = Fixture::new();
    let created = run_created_with(vec![
        entry("input", Value::Bytes(vec![1, 2, 3])),
        entry("attributes", Value::Map(vec![text("$retention", "0")])),
        entry("allowReservedAttributes", Value::Bool(true)),
    ]);
    f.create(created).unwrap();
    f.create(ev("run_started", None, vec![])).unwrap();
    f.create(ev(
        "step_created",
        Some("step_1"),
        vec![text("stepName", "s"), entry("input", Value::Bytes(vec![5]))],
    ))
    .unwrap();
    futures_executor::block_on(crate::stream::write(
        &f.io(),
        "out",
        RUN,
        &[b"secret".to_vec()],
    ))
    .unwrap();
    let done = f
        .create(ev(
            "run_completed",
            None,
            vec![entry("output", Value::Bytes(vec![9]))],
        ))
        .unwrap();
    let run = done.run.unwrap();
    assert_eq!(run.status, RunStatus::Completed);
    assert!(run.input.is_none() && run.expired_at.is_some());
    let run = futures_executor::block_on(get_run(&f.db, RUN, ResolveData::All)).unwrap();
    assert_eq!((run.input, run.output), (None, Some(None)));
    let step =
        futures_executor::block_on(get_step(&f.db, Some(RUN), "step_1", ResolveData::All)).unwrap();
    assert!(step.input.is_none());
    let p = ReadParams {
        run_id: Some(RUN.into()),
        ..ReadParams::parse(None, 100, SortOrder::Asc).unwrap()
    };
    let events = futures_executor::block_on(list_events(&f.db, &p))
        .unwrap()
        .data;
    assert_eq!(events.len(), 4, "events stay listable");
    // each event keeps the shape of its eventData: its ref fields present and undefined
    for e in &events {
        let Some(data) = &e.event_data else { continue };
        for k in e.event_type.ref_fields() {
            let field = crate::model::value::get(&data.0, k);
            assert!(
                field.is_some_and(crate::model::value::is_undefined),
                "{:?}.{k}: {field:?}",
                e.event_type
            );
        }
    }
    assert!(events
        .iter()
        .any(|e| e.event_type == EventType::RunCompleted
            && e.event_data
                .as_ref()
                .is_some_and(|d| crate::model::value::get(&d.0, "output").is_some())));
    let info = futures_executor::block_on(crate::stream::info(&f.db, "out")).unwrap();
    assert_eq!((info.count, info.done), (0, true));
}

#[test]
fn event_ids_say_which_log_they_belong_to() {
    let f = Fixture::new();
    f.started();
    let got =
        futures_executor::block_on(get_event(&f.db, RUN, &slot(2), ResolveData::All)).unwrap();
    assert_eq!(got.event_type, EventType::RunStarted);
    let e = futures_executor::block_on(get_event(
        &f.db,
        RUN,
        "wevt_01KAV9FT000000000000000000",
        ResolveData::All,
    ))
    .unwrap_err();
    assert_eq!(e.status, Some(400));
    assert!(e.message.contains("not a slot id"), "{}", e.message);
    let missing = futures_executor::block_on(get_event(&f.db, RUN, &slot(9), ResolveData::All));
    assert_eq!(missing.unwrap_err().status, Some(404));
}

#[test]
fn a_4x_run_and_a_slot_run_share_one_database() {
    let f = Fixture::new();
    f.started();
    let old = "wrun_01KAV9FT000000000000000001";
    let created = run_created();
    let r = futures_executor::block_on(create_event(
        &f.io(),
        Line::V4,
        Some(old),
        &created,
        &CreateParams::default(),
    ))
    .unwrap();
    assert!(r.event.unwrap().event_id.starts_with(ids::EVENT_PREFIX));
    // a 4.x World refuses the slot run by name, with both versions
    let e = futures_executor::block_on(create_event(
        &f.io(),
        Line::V4,
        Some(RUN),
        &wait("wait_9"),
        &CreateParams::default(),
    ))
    .unwrap_err();
    assert_eq!(
        (e.name, e.run_spec_version, e.world_spec_version),
        (ErrorName::RunNotSupported, Some(7), Some(3))
    );
    assert_eq!(f.slots().len(), 2);
}

/// world-contract-v5 §10: a run stamped above 7 is created with slot identity, as the 5.x
/// reference creates every new run, and every later write that loads it is refused.
#[test]
fn a_run_stamped_above_seven_gets_slot_one_and_later_writes_are_refused() {
    let f = Fixture::new();
    let Value::Map(mut created) = run_created_with(vec![entry("input", Value::Bytes(vec![1]))])
    else {
        unreachable!()
    };
    created.push(entry("specVersion", Value::Integer(8.into())));
    let r = f.create(Value::Map(created)).unwrap();
    assert_eq!(r.event.unwrap().event_id, slot(1));
    assert_eq!(r.run.unwrap().spec_version, Some(8));
    let e = f.create(wait("wait_1")).unwrap_err();
    assert_eq!(e.name, ErrorName::RunNotSupported);
    assert_eq!(f.slots(), [(slot(1), EventType::RunCreated)]);
}

/// world-contract-v5 §4.9: a retried `hook_created` whose conflict is logged gets that same
/// conflict event back and appends nothing, also when a rival logged it in between.
#[test]
fn a_retried_create_gets_its_logged_conflict_again() {
    let f = Fixture::new();
    f.started();
    let holder = "wrun_01KAV9FT000000000000000001";
    f.another_run(holder);
    let hook = |id: &str| ev("hook_created", Some(id), vec![text("token", "shared")]);
    f.create_in(holder, hook("hook_h")).unwrap();
    let first = f.create_in(RUN, hook("hook_m")).unwrap().event.unwrap();
    assert_eq!(first.event_type, EventType::HookConflict);
    let (again, trips) = f.trips(hook("hook_m"), &CreateParams::default());
    let again = again.unwrap().event.unwrap();
    assert_eq!(
        (again.event_id, again.event_type, again.event_data),
        (first.event_id, first.event_type, first.event_data)
    );
    assert!(trips <= 2, "{trips} round trips");
    // a rival that logs the conflict between this call's decision and its commit
    *f.db.before_next.borrow_mut() =
        Some(super::tests::competing(&f, Line::V5, RUN, hook("hook_n")));
    let raced = f.create(hook("hook_n")).unwrap();
    assert_eq!(raced.event.unwrap().event_type, EventType::HookConflict);
    let conflicts: Vec<_> = f
        .slots()
        .into_iter()
        .filter(|(_, t)| *t == EventType::HookConflict)
        .collect();
    assert_eq!(
        conflicts.len(),
        2,
        "one hook_conflict for hook_m, one for hook_n"
    );
}

/// world-contract-v5 §4.9: a hook with a `tokenRetentionUntil` outlives its run's end: it
/// stays readable and keeps its token until then; afterwards it is gone and a new hook
/// takes the token. `hookRetention: {active: true}` is declared on this rule.
#[test]
fn a_retained_hook_keeps_its_token_after_its_run_ends_until_its_retention_ends() {
    let f = Fixture::new();
    f.started();
    let other = "wrun_01KAV9FT000000000000000001";
    f.another_run(other);
    let until = crate::testing::T0 + 60_000;
    let retained = ev(
        "hook_created",
        Some("hook_kept"),
        vec![
            text("token", "kept"),
            entry("tokenRetentionUntil", date(until)),
        ],
    );
    f.create(retained).unwrap();
    f.create(ev(
        "run_completed",
        None,
        vec![entry("output", Value::Bytes(vec![]))],
    ))
    .unwrap();
    let by_token = || {
        futures_executor::block_on(get_hook_by_token(
            &f.db,
            "kept",
            ResolveData::All,
            f.clock.now(),
        ))
    };
    assert_eq!(
        by_token().unwrap().hook_id,
        "hook_kept",
        "readable after its run ended"
    );
    let taker = |id: &str| ev("hook_created", Some(id), vec![text("token", "kept")]);
    let during = f
        .create_in(other, taker("hook_early"))
        .unwrap()
        .event
        .unwrap();
    assert_eq!(during.event_type, EventType::HookConflict);
    f.clock.advance(60_001);
    assert_eq!(by_token().unwrap_err().name, ErrorName::HookNotFound);
    let after = f.create_in(other, taker("hook_late")).unwrap();
    assert_eq!(after.event.unwrap().event_type, EventType::HookCreated);
    assert_eq!(after.hook.unwrap().run_id, other);
    assert_eq!(by_token().unwrap().hook_id, "hook_late");
    // a hook without retention goes with its run, as before
    let plain = ev(
        "hook_created",
        Some("hook_plain"),
        vec![text("token", "plain")],
    );
    f.create_in(other, plain).unwrap();
    f.create_in(other, ev("run_cancelled", None, vec![]))
        .unwrap();
    let gone = futures_executor::block_on(get_hook_by_token(
        &f.db,
        "plain",
        ResolveData::All,
        f.clock.now(),
    ));
    assert_eq!(gone.unwrap_err().name, ErrorName::HookNotFound);
}
