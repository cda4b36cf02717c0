//! The store against real SQLite (rusqlite), with the schema of `migrations/`: the SQL
//! the engine's plans become, run natively. Races are injected between round trips.

use super::*;
use crate::model::value::{entry, text};
use crate::model::Line;
use crate::model::{EventType, Payload, StepStatus};
use crate::ports::{Clock, Entropy};
use crate::sql::Statement;
use crate::testing::{event as ev, run_created, step_created, Fixture};

const RUN: &str = "wrun_01KAV9FT000000000000000000";

/// The store's calls over the fixture, as the tests make them.
trait Store {
    fn create(&self, run_id: &str, data: Value) -> Result<EventResult, WorldError>;
    fn trips(&self, run_id: &str, data: Value) -> (Result<EventResult, WorldError>, usize);
    fn log(&self, run_id: &str) -> Vec<EventType>;
    fn started_run(&self);
    fn competing(&self, run_id: &str, data: Value) -> Vec<Statement>;
}

impl Store for Fixture {
    fn create(&self, run_id: &str, data: Value) -> Result<EventResult, WorldError> {
        futures_executor::block_on(create_event(
            &self.io(),
            Line::V4,
            Some(run_id),
            &data,
            &CreateParams::default(),
        ))
    }

    /// Round trips of one `events.create`.
    fn trips(&self, run_id: &str, data: Value) -> (Result<EventResult, WorldError>, usize) {
        self.db.round_trips.set(0);
        let r = self.create(run_id, data);
        (r, self.db.round_trips.get())
    }

    fn log(&self, run_id: &str) -> Vec<EventType> {
        let p = ReadParams::parse(None, 1000, SortOrder::Asc).unwrap();
        let p = ReadParams {
            run_id: Some(run_id.into()),
            ..p
        };
        futures_executor::block_on(list_events(&self.db, &p))
            .unwrap()
            .data
            .iter()
            .map(|e| e.event_type)
            .collect()
    }

    fn started_run(&self) {
        self.create(RUN, run_created()).unwrap();
        self.create(RUN, ev("run_started", None, vec![])).unwrap();
    }

    fn competing(&self, run_id: &str, data: Value) -> Vec<Statement> {
        competing(self, Line::V4, run_id, data)
    }
}

/// The statements another writer's `events.create` on `line` would commit, decided on the
/// current state (so the injected writer is correct, not hand-written SQL).
pub(super) fn competing(f: &Fixture, line: Line, run_id: &str, data: Value) -> Vec<Statement> {
    let now = f.clock.now();
    let req = EventRequest::parse(&data, line, now, None).unwrap();
    let keys = Keys {
        run_id,
        correlation_id: req.correlation(),
        token: token_of(&req),
        resume_id: None,
        resume_digest: None,
        claims_correlation: crate::store::claims_of(&req),
        now,
    };
    let snap = read_snapshot(&f.db.run(&[sql::snapshot(&keys)]).unwrap()).unwrap();
    let rival_id = || ids::new_id(ids::EVENT_PREFIX, now, f.entropy.random() + (1 << 70));
    let ctx = Ctx {
        now,
        event_ids: [rival_id(), rival_id()],
    };
    match engine::decide(&req, run_id, &snap, &ctx).unwrap() {
        Decision::Commit(plan) => sql::plan_batch(&plan, &keys, 1, None).statements,
        Decision::Unchanged(_) => panic!("the rival would write nothing"),
    }
}

#[test]
fn hot_path_events_take_one_round_trip() {
    let w = Fixture::new();
    let (_, n) = w.trips(RUN, run_created());
    assert_eq!(n, 1);
    let (r, n) = w.trips(RUN, ev("run_started", None, vec![]));
    let r = r.unwrap();
    assert_eq!(
        (
            n,
            r.log.as_ref().map(|l| l.events.len()),
            r.log.map(|l| l.has_more)
        ),
        (1, Some(2), Some(false))
    );
    for (t, data) in [
        ("step_created", vec![text("stepName", "s")]),
        ("step_started", vec![]),
        ("step_retrying", vec![text("error", "e")]),
        ("step_started", vec![]),
        (
            "step_completed",
            vec![entry("result", Value::Bytes(vec![0, 0]))],
        ),
    ] {
        let (r, n) = w.trips(RUN, ev(t, Some("step_1"), data));
        r.unwrap();
        assert_eq!(n, 1, "{t}");
    }
    for (t, corr, data) in [
        (
            "hook_created",
            "hook_1",
            vec![text("token", "tok"), entry("isWebhook", Value::Bool(true))],
        ),
        (
            "hook_received",
            "hook_1",
            vec![entry("payload", Value::Bytes(vec![1]))],
        ),
        (
            "wait_created",
            "wait_1",
            vec![entry("resumeAt", crate::model::value::date(5))],
        ),
        ("wait_completed", "wait_1", vec![]),
        ("hook_disposed", "hook_1", vec![]),
    ] {
        let (r, n) = w.trips(RUN, ev(t, Some(corr), data));
        r.unwrap();
        assert_eq!(n, 1, "{t}");
    }
    let (r, n) = w.trips(RUN, ev("run_completed", None, vec![]));
    assert_eq!(
        (n, r.unwrap().run.unwrap().status),
        (1, RunStatus::Completed)
    );
}

#[test]
fn an_unexpected_state_costs_a_second_round_trip_at_most() {
    let w = Fixture::new();
    w.started_run();
    // a repeated run_started reads the run in the round that found it running
    let (r, n) = w.trips(RUN, ev("run_started", None, vec![]));
    let r = r.unwrap();
    assert_eq!((n, r.event.is_none(), r.run.is_some()), (1, true, true));
    // cancelling a cancelled run appends a second run_cancelled in round two
    w.create(RUN, ev("run_cancelled", None, vec![])).unwrap();
    let (r, n) = w.trips(RUN, ev("run_cancelled", None, vec![]));
    assert_eq!(
        (n, r.unwrap().event.unwrap().event_type),
        (2, EventType::RunCancelled)
    );
    // refusals are known from the first round's snapshot
    let (r, n) = w.trips(RUN, step_created("step_x"));
    assert_eq!(
        (n, r.unwrap_err().name),
        (1, crate::model::ErrorName::EntityConflict)
    );
    assert_eq!(
        w.log(RUN),
        [
            EventType::RunCreated,
            EventType::RunStarted,
            EventType::RunCancelled,
            EventType::RunCancelled
        ]
    );
}

#[test]
fn resilient_start_creates_logs_and_starts_in_one_commit() {
    let w = Fixture::new();
    let data = vec![
        text("deploymentId", "d"),
        text("workflowName", "w"),
        entry("input", Value::Bytes(vec![0, 7])),
    ];
    let (r, n) = w.trips(RUN, ev("run_started", None, data));
    let r = r.unwrap();
    assert_eq!(n, 2);
    assert_eq!(r.run.as_ref().unwrap().status, RunStatus::Running);
    assert_eq!(
        r.run.unwrap().input,
        Some(Payload(Value::Bytes(vec![0, 7])))
    );
    assert_eq!(w.log(RUN), [EventType::RunCreated, EventType::RunStarted]);
    let late = w.create(RUN, run_created());
    assert_eq!(
        late.unwrap_err().name,
        crate::model::ErrorName::EntityConflict
    );
}

#[test]
fn a_rival_commit_between_decision_and_write_is_seen_and_refused() {
    let w = Fixture::new();
    w.started_run();
    w.create(RUN, step_created("step_1")).unwrap();
    w.create(RUN, ev("step_started", Some("step_1"), vec![]))
        .unwrap();
    let done = ev(
        "step_completed",
        Some("step_1"),
        vec![entry("result", Value::Bytes(vec![1]))],
    );
    *w.db.before_next.borrow_mut() = Some(w.competing(RUN, done.clone()));
    let (r, n) = w.trips(RUN, done);
    assert_eq!(
        (n, r.unwrap_err().name),
        (1, crate::model::ErrorName::EntityConflict)
    );
    let log = w.log(RUN);
    assert_eq!(
        log.iter()
            .filter(|t| **t == EventType::StepCompleted)
            .count(),
        1
    );

    // a token claimed by another run in between turns hook_created into hook_conflict
    let other = "wrun_01KAV9FT000000000000000001";
    w.create(other, run_created()).unwrap();
    let shared = |hook_id: &str| {
        ev(
            "hook_created",
            Some(hook_id),
            vec![
                text("token", "shared"),
                entry("isWebhook", Value::Bool(false)),
            ],
        )
    };
    *w.db.before_next.borrow_mut() = Some(w.competing(other, shared("hook_r")));
    let (r, n) = w.trips(RUN, shared("hook_m"));
    let r = r.unwrap();
    assert_eq!(n, 2);
    assert_eq!(r.event.unwrap().event_type, EventType::HookConflict);
    assert!(r.hook.is_none());
}

#[test]
fn a_step_started_that_lost_to_its_completion_is_not_logged_after_it() {
    let w = Fixture::new();
    w.started_run();
    w.create(RUN, step_created("step_1")).unwrap();
    let done = ev("step_completed", Some("step_1"), vec![]);
    *w.db.before_next.borrow_mut() = Some(w.competing(RUN, done));
    let started = w.create(RUN, ev("step_started", Some("step_1"), vec![]));
    assert_eq!(
        started.unwrap_err().name,
        crate::model::ErrorName::EntityConflict
    );
    let step =
        futures_executor::block_on(get_step(&w.db, Some(RUN), "step_1", ResolveData::All)).unwrap();
    assert_eq!((step.status, step.attempt), (StepStatus::Completed, 0));
}

#[test]
fn terminal_runs_drop_their_hooks_and_waits() {
    let w = Fixture::new();
    w.started_run();
    w.create(
        RUN,
        ev("hook_created", Some("hook_1"), vec![text("token", "t1")]),
    )
    .unwrap();
    w.create(
        RUN,
        ev(
            "wait_created",
            Some("wait_1"),
            vec![entry("resumeAt", crate::model::value::date(9))],
        ),
    )
    .unwrap();
    w.create(RUN, ev("run_failed", None, vec![text("error", "boom")]))
        .unwrap();
    let hook = futures_executor::block_on(get_hook_by_token(
        &w.db,
        "t1",
        ResolveData::All,
        w.clock.now(),
    ));
    assert_eq!(
        hook.unwrap_err().name,
        crate::model::ErrorName::HookNotFound
    );
    let wait = w
        .create(RUN, ev("wait_completed", Some("wait_1"), vec![]))
        .unwrap_err();
    assert_eq!(
        (wait.name, wait.status),
        (crate::model::ErrorName::WorkflowWorld, Some(404))
    );
}

#[test]
fn lists_page_with_stable_cursors() {
    let w = Fixture::new();
    w.started_run();
    for i in 0..5 {
        w.create(
            RUN,
            ev(
                "step_created",
                Some(&format!("step_{i}")),
                vec![text("stepName", "s")],
            ),
        )
        .unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let p = ReadParams::parse(None, 2, SortOrder::Asc).unwrap();
        let mut p = ReadParams {
            run_id: Some(RUN.into()),
            ..p
        };
        p.page.cursor = cursor.clone();
        let page = futures_executor::block_on(list_events(&w.db, &p)).unwrap();
        assert!(page.cursor.is_some());
        seen.extend(page.data.iter().map(|e| e.event_id.clone()));
        if !page.has_more {
            break;
        }
        assert_ne!(page.cursor.0, cursor);
        cursor = page.cursor.0;
    }
    assert_eq!(seen.len(), 7);
    let bad = ReadParams {
        run_id: Some(RUN.into()),
        ..ReadParams::parse(None, 2, SortOrder::Asc).unwrap()
    };
    let mut bad = bad;
    bad.page.cursor = Some("garbage".into());
    let e = futures_executor::block_on(list_events(&w.db, &bad)).unwrap_err();
    assert_eq!(e.status, Some(400));
    let empty = Value::Map(vec![entry(
        "pagination",
        Value::Map(vec![text("cursor", "")]),
    )]);
    let from_start = ReadParams {
        run_id: Some(RUN.into()),
        ..ReadParams::parse(Some(&empty), 2, SortOrder::Asc).unwrap()
    };
    assert_eq!(from_start.page.cursor, None, "an empty cursor is none");
    let page = futures_executor::block_on(list_events(&w.db, &from_start)).unwrap();
    assert_eq!(page.data[0].event_id, seen[0]);
}

// Regression: a repeated hook_created for a hook whose token was taken (a retry after a
// lost reply, or two concurrent replays of one run) logged a second hook_conflict for the
// same hook. One create outcome per hook: the repeat is refused like a repeated create.
#[test]
fn a_hook_conflict_is_logged_once_per_hook() {
    let w = Fixture::new();
    w.started_run();
    let holder = "wrun_01KAV9FT000000000000000001";
    w.create(holder, run_created()).unwrap();
    let create = |_run: &str, hook: &str| {
        ev(
            "hook_created",
            Some(hook),
            vec![
                text("token", "shared"),
                entry("isWebhook", Value::Bool(false)),
            ],
        )
    };
    w.create(holder, create(holder, "hook_h")).unwrap();
    let first = w.create(RUN, create(RUN, "hook_m")).unwrap();
    assert_eq!(first.event.unwrap().event_type, EventType::HookConflict);
    let again = w.create(RUN, create(RUN, "hook_m")).unwrap_err();
    assert_eq!(again.name, crate::model::ErrorName::EntityConflict);
    // a rival that logs the conflict between this call's decision and its commit
    *w.db.before_next.borrow_mut() = Some(w.competing(RUN, create(RUN, "hook_n")));
    let (r, n) = w.trips(RUN, create(RUN, "hook_n"));
    assert_eq!(r.unwrap_err().name, crate::model::ErrorName::EntityConflict);
    assert!(n <= 2);
    let conflicts = w
        .log(RUN)
        .into_iter()
        .filter(|t| *t == EventType::HookConflict)
        .count();
    assert_eq!(
        conflicts, 2,
        "one hook_conflict for hook_m and one for hook_n"
    );
}

#[test]
fn runs_steps_and_deliveries_written_before_the_without_rowid_migration_survive_it() {
    // migrations/0006_without_rowid.sql rebuilds three tables; the first five migrations
    // are the schema a database already deployed has.
    let before = 5;
    let w = Fixture::over(crate::testing::Sqlite3::migrated_to(before));
    w.started_run();
    w.create(RUN, step_created("step_1")).unwrap();
    w.create(RUN, ev("step_started", Some("step_1"), vec![]))
        .unwrap();
    w.create(RUN, ev("step_completed", Some("step_1"), vec![]))
        .unwrap();
    w.db.conn
        .execute(
            "INSERT INTO queue_deliveries (send_id, message_id, state, lease_until, updated_at, run_id, handled) VALUES ('send_1', 'msg_1', 'done', 0, 5, ?1, 1)",
            [RUN],
        )
        .unwrap();

    w.db.migrate_rest(before);

    for table in ["runs", "steps", "queue_deliveries"] {
        let rowid = w.db.conn.prepare(&format!("SELECT rowid FROM {table}"));
        assert!(rowid.is_err(), "{table} is a WITHOUT ROWID table");
    }
    let run = futures_executor::block_on(get_run(&w.db, RUN, ResolveData::All)).unwrap();
    assert_eq!(run.status, RunStatus::Running);
    let step =
        futures_executor::block_on(get_step(&w.db, None, "step_1", ResolveData::All)).unwrap();
    assert_eq!((step.status, step.attempt), (StepStatus::Completed, 1));
    let p = ReadParams {
        run_id: Some(RUN.into()),
        ..ReadParams::parse(None, 10, SortOrder::Asc).unwrap()
    };
    let steps = futures_executor::block_on(list_steps(&w.db, &p)).unwrap();
    assert_eq!(steps.data.len(), 1);
    let delivery: (String, i64, String) =
        w.db.conn
            .query_row(
                "SELECT state, handled, run_id FROM queue_deliveries WHERE send_id = 'send_1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
    assert_eq!(delivery, ("done".into(), 1, RUN.into()));

    // And the run goes on on the new tables.
    w.create(RUN, ev("run_completed", None, vec![])).unwrap();
    let run = futures_executor::block_on(get_run(&w.db, RUN, ResolveData::All)).unwrap();
    assert_eq!(run.status, RunStatus::Completed);
    assert_eq!(
        w.log(RUN),
        vec![
            EventType::RunCreated,
            EventType::RunStarted,
            EventType::StepCreated,
            EventType::StepStarted,
            EventType::StepCompleted,
            EventType::RunCompleted
        ]
    );
}
