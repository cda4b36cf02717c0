//! Retention against real SQLite with the schema of `migrations/`.

use super::*;
use crate::model::params::{CreateParams, ReadParams, ResolveData, SortOrder};
use crate::model::value::{entry, text};
use crate::model::{Line, RunStatus, Value};
use crate::store::{create_event, get_run, list_events};
use crate::stream::{self, INLINE_SEGMENT_LIMIT};
use crate::testing::{event as ev, run_created, step_created, Fixture, T0};

const DAY: Millis = 86_400_000;

/// A run id made at `at`: `wrun_` and a ULID of that time.
fn id_at(at: Millis, n: usize) -> String {
    format!("wrun_{}", ulid::Ulid::from_parts(at as u64, n as u128))
}

/// A run id made at the fixture's start.
fn id(n: usize) -> String {
    id_at(T0, n)
}

fn create(f: &Fixture, run_id: &str, data: Value) {
    futures_executor::block_on(create_event(
        &f.io(),
        Line::V4,
        Some(run_id),
        &data,
        &CreateParams::default(),
    ))
    .unwrap();
}

/// A run with one step and a stream holding an inline and an R2 segment, ended with
/// `end` (`None`: left running).
fn run_with_data(f: &Fixture, run_id: &str, end: Option<&str>) {
    create(f, run_id, run_created());
    create(f, run_id, ev("run_started", None, vec![]));
    create(f, run_id, step_created("step_1"));
    create(f, run_id, ev("step_started", Some("step_1"), vec![]));
    create(f, run_id, ev("step_completed", Some("step_1"), vec![]));
    let name = format!("strm_{run_id}");
    futures_executor::block_on(stream::write(&f.io(), &name, run_id, &[b"small".to_vec()]))
        .unwrap();
    futures_executor::block_on(stream::write(
        &f.io(),
        &name,
        run_id,
        &[vec![1u8; INLINE_SEGMENT_LIMIT + 1]],
    ))
    .unwrap();
    if let Some(end) = end {
        let data = if end == "run_failed" {
            vec![entry("error", Value::Map(vec![text("message", "boom")]))]
        } else {
            vec![]
        };
        create(f, run_id, ev(end, None, data));
    }
}

/// Rows naming `run_id`, table by table (streams through `stream_runs`' names).
fn rows_of(f: &Fixture, run_id: &str) -> Vec<(&'static str, i64)> {
    let name = format!("strm_{run_id}");
    let mut out = Vec::new();
    for table in [
        "runs",
        "events",
        "slots",
        "steps",
        "hooks",
        "waits",
        "queue_deliveries",
        "stream_runs",
    ] {
        let n: i64 =
            f.db.conn
                .query_row(
                    &format!("SELECT count(*) FROM {table} WHERE run_id = ?1"),
                    [run_id],
                    |r| r.get(0),
                )
                .unwrap();
        out.push((table, n));
    }
    let segments: i64 =
        f.db.conn
            .query_row(
                "SELECT count(*) FROM stream_segments WHERE stream_name = ?1",
                [&name],
                |r| r.get(0),
            )
            .unwrap();
    out.push(("stream_segments", segments));
    out
}

fn remove(f: &Fixture, age: Millis) -> Removed {
    futures_executor::block_on(remove_ended(&f.io(), age)).unwrap()
}

#[test]
fn the_setting_is_days_or_unset_and_anything_else_is_named() {
    assert_eq!(parse_setting(None).unwrap(), None);
    assert_eq!(parse_setting(Some(" ")).unwrap(), None);
    assert_eq!(parse_setting(Some("30")).unwrap(), Some(30 * DAY));
    assert_eq!(parse_setting(Some("0.5")).unwrap(), Some(DAY / 2));
    assert_eq!(parse_setting(Some("0")).unwrap(), Some(0));
    for bad in ["-1", "thirty", "NaN", "inf", "1d"] {
        let e = parse_setting(Some(bad)).unwrap_err();
        assert_eq!(e.code, Some("INVALID_RETENTION"), "{bad}");
        assert!(
            e.message.contains("WORKFLOW_RETENTION_DAYS"),
            "{}",
            e.message
        );
        assert!(e.message.contains(bad), "{}", e.message);
    }
}

#[test]
fn runs_ended_before_the_age_go_whole_and_everything_else_stays() {
    let f = Fixture::new();
    let new_id = id_at(T0 + 2 * DAY, 4);
    run_with_data(&f, &id(1), Some("run_completed"));
    run_with_data(&f, &id(2), Some("run_failed"));
    run_with_data(&f, &id(3), None);
    f.clock.advance(2 * DAY);
    run_with_data(&f, &new_id, Some("run_completed"));
    assert_eq!(f.blobs.objects.borrow().len(), 4);
    let before: Vec<_> = [id(3), new_id.clone()]
        .iter()
        .map(|id| rows_of(&f, id))
        .collect();

    let removed = remove(&f, DAY);

    assert_eq!(
        removed,
        Removed {
            runs: 2,
            orphaned_objects: 0,
            more: false
        }
    );
    for gone in [id(1), id(2)] {
        assert!(
            rows_of(&f, &gone).iter().all(|(_, n)| *n == 0),
            "{gone}: {:?}",
            rows_of(&f, &gone)
        );
        let e = futures_executor::block_on(get_run(&f.db, &gone, ResolveData::All)).unwrap_err();
        assert_eq!(e.name, crate::model::ErrorName::WorkflowRunNotFound);
    }
    let after: Vec<_> = [id(3), new_id.clone()]
        .iter()
        .map(|id| rows_of(&f, id))
        .collect();
    assert_eq!(before, after, "a live run and a recent one are untouched");
    assert_eq!(
        f.blobs.objects.borrow().len(),
        2,
        "the removed streams' R2 objects are gone"
    );
    let running = futures_executor::block_on(get_run(&f.db, &id(3), ResolveData::All)).unwrap();
    assert_eq!(running.status, RunStatus::Running);
    let p = ReadParams {
        run_id: Some(new_id.clone()),
        ..ReadParams::parse(None, 100, SortOrder::Asc).unwrap()
    };
    assert_eq!(
        futures_executor::block_on(list_events(&f.db, &p))
            .unwrap()
            .data
            .len(),
        6
    );
    assert_eq!(remove(&f, DAY), Removed::default(), "nothing more is due");
}

#[test]
fn a_failed_batch_removes_nothing_and_the_next_start_removes_it_all() {
    let f = Fixture::new();
    run_with_data(&f, &id(5), Some("run_completed"));
    f.clock.advance(2 * DAY);
    let before = rows_of(&f, &id(5));
    // The removal batch (its first statement reads the R2 keys) fails on its last
    // statement: D1 rolls the whole batch back.
    f.db.conn
        .execute_batch(
            "CREATE TRIGGER refuse_run_delete BEFORE DELETE ON runs BEGIN SELECT RAISE(ABORT, 'injected'); END",
        )
        .unwrap();
    let e = futures_executor::block_on(remove_ended(&f.io(), DAY)).unwrap_err();
    assert!(e.message.contains("injected"), "{}", e.message);
    assert_eq!(rows_of(&f, &id(5)), before, "nothing half-deleted");
    assert_eq!(f.blobs.objects.borrow().len(), 1, "its R2 object is kept");

    f.db.conn
        .execute_batch("DROP TRIGGER refuse_run_delete")
        .unwrap();
    assert_eq!(remove(&f, DAY).runs, 1);
    assert!(rows_of(&f, &id(5)).iter().all(|(_, n)| *n == 0));
    assert!(f.blobs.objects.borrow().is_empty());
}

#[test]
fn an_r2_object_that_cannot_be_deleted_is_counted_and_the_run_is_still_removed() {
    let f = Fixture::new();
    run_with_data(&f, &id(5), Some("run_completed"));
    f.clock.advance(2 * DAY);
    f.blobs.outage.set(true);
    let removed = remove(&f, DAY);
    assert_eq!((removed.runs, removed.orphaned_objects), (1, 1));
    assert!(rows_of(&f, &id(5)).iter().all(|(_, n)| *n == 0));
}

#[test]
fn one_call_removes_a_bounded_number_and_the_next_goes_on() {
    let f = Fixture::new();
    let cap = RUNS_PER_BATCH * BATCHES_PER_CALL;
    for i in 0..cap + 60 {
        let run_id = id(100 + i);
        create(&f, &run_id, run_created());
        create(&f, &run_id, ev("run_started", None, vec![]));
        create(&f, &run_id, ev("run_completed", None, vec![]));
    }
    f.clock.advance(2 * DAY);
    f.db.round_trips.set(0);
    let first = remove(&f, DAY);
    assert_eq!((first.runs, first.more), (cap, true));
    assert_eq!(
        f.db.round_trips.get(),
        2 * BATCHES_PER_CALL,
        "one read and one removal batch per batch of runs"
    );
    let second = remove(&f, DAY);
    assert_eq!((second.runs, second.more), (60, false));
    let left: i64 =
        f.db.conn
            .query_row("SELECT count(*) FROM runs", [], |r| r.get(0))
            .unwrap();
    assert_eq!(left, 0);
}
