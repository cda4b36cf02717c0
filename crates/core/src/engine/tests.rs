use super::*;
use crate::model::value::{date, entry, text};

const NOW: Millis = 1_764_000_000_000;
const RUN: &str = "wrun_01KAXK6T8R0000000000000000";
const CORR: &str = "c_1";
const TOKEN: &str = "t1";

fn ctx() -> Ctx {
    Ctx {
        now: NOW,
        event_ids: ["wevt_A".into(), "wevt_B".into()],
    }
}

fn request(event_type: &str, data: Vec<(Value, Value)>) -> EventRequest {
    request_on(Line::V4, event_type, data)
}

fn request_on(line: Line, event_type: &str, data: Vec<(Value, Value)>) -> EventRequest {
    let correlation = (!event_type.starts_with("run_")).then_some(CORR);
    parse_on(line, event_type, correlation, data, None)
}

fn parse_on(
    line: Line,
    event_type: &str,
    correlation: Option<&str>,
    data: Vec<(Value, Value)>,
    resume: Option<Resume>,
) -> EventRequest {
    let mut m = vec![
        text("eventType", event_type),
        entry("eventData", Value::Map(data)),
    ];
    if let Some(c) = correlation {
        m.push(text("correlationId", c));
    }
    EventRequest::parse(&Value::Map(m), line, NOW, resume).unwrap()
}

/// One request of every type of both lines (and `run_started` with and without
/// resilient data, `step_started` bare and lazy, both `attr_set` writers).
fn requests() -> Vec<EventRequest> {
    let mut all = requests_v4();
    all.extend(requests_v5());
    all
}

fn requests_v5() -> Vec<EventRequest> {
    let input = || entry("input", Value::Bytes(vec![0, 1]));
    let v5 = |t: &str, data| request_on(Line::V5, t, data);
    let changes = || {
        entry(
            "changes",
            Value::Array(vec![Value::Map(vec![text("key", "a"), text("value", "1")])]),
        )
    };
    vec![
        v5(
            "run_created",
            vec![
                text("deploymentId", "d"),
                text("workflowName", "w"),
                input(),
            ],
        ),
        v5("run_started", vec![]),
        v5(
            "run_started",
            vec![
                text("deploymentId", "d"),
                text("workflowName", "w"),
                input(),
            ],
        ),
        v5(
            "run_completed",
            vec![entry("output", Value::Bytes(vec![9]))],
        ),
        v5(
            "run_failed",
            vec![
                entry("error", Value::Bytes(vec![7])),
                text("errorCode", "USER_ERROR"),
            ],
        ),
        v5("run_cancelled", vec![text("cancelReason", "stop")]),
        v5("step_created", vec![text("stepName", "s"), input()]),
        v5("step_started", vec![]),
        v5("step_started", vec![text("stepName", "s"), input()]),
        v5(
            "step_completed",
            vec![entry("result", Value::Bytes(vec![0]))],
        ),
        v5("step_failed", vec![entry("error", Value::Bytes(vec![1]))]),
        v5(
            "step_retrying",
            vec![
                entry("error", Value::Bytes(vec![2])),
                entry("retryAfter", date(NOW + 5000)),
            ],
        ),
        v5(
            "hook_created",
            vec![text("token", TOKEN), entry("isSystem", Value::Bool(true))],
        ),
        parse_on(
            Line::V5,
            "hook_received",
            Some(CORR),
            vec![entry("payload", Value::Bytes(vec![1]))],
            Some(Resume {
                id: "r1".into(),
                digest: Some("d1".into()),
            }),
        ),
        v5("hook_disposed", vec![]),
        v5("wait_created", vec![entry("resumeAt", date(NOW + 1000))]),
        v5("wait_completed", vec![]),
        parse_on(
            Line::V5,
            "attr_set",
            Some(CORR),
            vec![
                changes(),
                entry("writer", Value::Map(vec![text("type", "workflow")])),
            ],
            None,
        ),
        parse_on(
            Line::V5,
            "attr_set",
            None,
            vec![
                changes(),
                entry(
                    "writer",
                    Value::Map(vec![
                        text("type", "step"),
                        text("stepId", "s1"),
                        entry("attempt", Value::Integer(1.into())),
                    ]),
                ),
            ],
            None,
        ),
    ]
}

fn requests_v4() -> Vec<EventRequest> {
    let input = || entry("input", Value::Bytes(vec![0, 1]));
    vec![
        request(
            "run_created",
            vec![
                text("deploymentId", "d"),
                text("workflowName", "w"),
                input(),
            ],
        ),
        request("run_started", vec![]),
        request(
            "run_started",
            vec![
                text("deploymentId", "d"),
                text("workflowName", "w"),
                input(),
            ],
        ),
        request(
            "run_completed",
            vec![entry("output", Value::Bytes(vec![9]))],
        ),
        request("run_failed", vec![text("error", "boom")]),
        request("run_cancelled", vec![]),
        request("step_created", vec![text("stepName", "s"), input()]),
        request("step_started", vec![text("stepName", "s")]),
        request(
            "step_completed",
            vec![entry("result", Value::Bytes(vec![0]))],
        ),
        request("step_failed", vec![text("error", "bad")]),
        request(
            "step_retrying",
            vec![text("error", "e"), entry("retryAfter", date(NOW + 5000))],
        ),
        request(
            "hook_created",
            vec![text("token", TOKEN), entry("isWebhook", Value::Bool(false))],
        ),
        request(
            "hook_received",
            vec![entry("payload", Value::Bytes(vec![1]))],
        ),
        request("hook_disposed", vec![]),
        request("wait_created", vec![entry("resumeAt", date(NOW + 1000))]),
        request("wait_completed", vec![]),
    ]
}

/// Every combination of the states a request can meet (tokio's task_combinations style).
fn universe() -> Vec<Snapshot> {
    let mut runs = vec![None];
    let one_attribute = Attributes(vec![("a".into(), "0".into())]);
    for status in RunStatus::ALL {
        for spec_version in [None, Some(3), Some(8)] {
            runs.push(Some(run_facts(*status, spec_version)));
        }
        // Slot runs, with the facts only 5.x rules read.
        for attributes in [Attributes::default(), one_attribute.clone()] {
            for purge_on_finish in [false, true] {
                runs.push(Some(RunFacts {
                    attributes: attributes.clone(),
                    purge_on_finish,
                    ..run_facts(*status, Some(7))
                }));
            }
        }
    }
    let mut steps = vec![None];
    for status in StepStatus::ALL {
        steps.push(Some(StepFacts {
            status: *status,
            retry_after: None,
        }));
    }
    steps.push(Some(StepFacts {
        status: StepStatus::Pending,
        retry_after: Some(NOW + 30_000),
    }));
    steps.push(Some(StepFacts {
        status: StepStatus::Pending,
        retry_after: Some(NOW - 1),
    }));
    let hook = |run: &str, hook: &str, token: &str| {
        Some(HookFacts {
            run_id: run.into(),
            hook_id: hook.into(),
            token: token.into(),
        })
    };
    let hooks = vec![None, hook(RUN, CORR, TOKEN), hook("wrun_other", CORR, "t2")];
    let holders = vec![
        None,
        hook(RUN, CORR, TOKEN),
        hook(RUN, "c_2", TOKEN),
        hook("wrun_other", "c_3", TOKEN),
    ];
    let waits = [None, Some(WaitStatus::Waiting), Some(WaitStatus::Completed)];
    let mut all = Vec::new();
    for run in &runs {
        for step in &steps {
            for hook in &hooks {
                for token_holder in &holders {
                    for wait in waits {
                        for (hook_create_logged, hook_conflict_slot) in
                            [(false, None), (true, None), (true, Some(2))]
                        {
                            for attr_set_logged in [false, true] {
                                for resume in [None, Some(committed_resume())] {
                                    all.push(Snapshot {
                                        run: run.clone(),
                                        step: step.clone(),
                                        hook: hook.clone(),
                                        token_holder: token_holder.clone(),
                                        wait,
                                        hook_create_logged,
                                        attr_set_logged,
                                        resume,
                                        hook_conflict_slot,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    all
}

fn run_facts(status: RunStatus, spec_version: Option<i64>) -> RunFacts {
    RunFacts {
        status,
        spec_version,
        attributes: Attributes::default(),
        purge_on_finish: false,
    }
}

fn committed_resume() -> ResumeFacts {
    ResumeFacts {
        slot: 4,
        hook_id: CORR.into(),
        digest: Some("d1".into()),
    }
}

fn effect(p: &Plan) -> (Vec<Event>, Vec<Write>, Reply) {
    (p.events.clone(), p.writes.clone(), p.reply)
}

/// The property the store relies on: a plan's guards hold on the state it was decided
/// on, and on any state where they hold, deciding again gives the same effect. So a
/// plan committed under its guards is the decision for the state it committed on.
#[test]
fn guards_characterise_every_decision() {
    let universe = universe();
    let mut plans_checked = 0;
    for req in requests() {
        let decisions: Vec<_> = universe
            .iter()
            .map(|s| decide(&req, RUN, s, &ctx()))
            .collect();
        let mut seen: Vec<(Vec<Event>, Vec<Write>, Reply)> = Vec::new();
        for (origin, decision) in universe.iter().zip(&decisions) {
            let Ok(Decision::Commit(plan)) = decision else {
                continue;
            };
            assert!(
                plan.guards.iter().all(|g| g.holds(origin)),
                "{}: guards {:?} do not hold on the state they were decided on: {origin:?}",
                req.event_type.as_str(),
                plan.guards
            );
            if seen.contains(&effect(plan)) {
                continue;
            }
            seen.push(effect(plan));
            plans_checked += 1;
            for (other, again) in universe.iter().zip(&decisions) {
                if !plan.guards.iter().all(|g| g.holds(other)) {
                    continue;
                }
                match again {
                    Ok(Decision::Commit(p)) if effect(p) == effect(plan) => {}
                    different => panic!(
                        "{}: guards {:?} admit {other:?}\nwhere the decision is {different:?}\nnot the plan decided on {origin:?}",
                        req.event_type.as_str(),
                        plan.guards
                    ),
                }
            }
        }
    }
    assert!(plans_checked > 20, "only {plans_checked} distinct plans");
}

/// Every event type commits in one round trip on the state it usually meets.
#[test]
fn the_expected_state_commits() {
    for req in requests() {
        let s = Snapshot::expected(&req);
        let mut s = s;
        if req.event_type == EventType::HookReceived || req.event_type == EventType::HookDisposed {
            s.hook = Some(HookFacts {
                run_id: RUN.into(),
                hook_id: CORR.into(),
                token: TOKEN.into(),
            });
        }
        match decide(&req, RUN, &s, &ctx()) {
            Ok(Decision::Commit(_)) => {}
            other => panic!("{}: {other:?}", req.event_type.as_str()),
        }
    }
}

fn snapshot_with_run(status: RunStatus, spec_version: Option<i64>) -> Snapshot {
    Snapshot {
        run: Some(run_facts(status, spec_version)),
        ..Snapshot::default()
    }
}

/// The first of [`requests`] of type `t`.
fn by_type(t: &str) -> EventRequest {
    requests()
        .into_iter()
        .find(|r| r.event_type.as_str() == t)
        .unwrap()
}

fn rejection(req: &EventRequest, s: &Snapshot) -> WorldError {
    match decide(req, RUN, s, &ctx()) {
        Err(e) => e,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn terminal_runs_refuse_what_the_contract_refuses() {
    let done = snapshot_with_run(RunStatus::Completed, Some(3));
    assert_eq!(
        rejection(&by_type("run_started"), &done).name,
        ErrorName::RunExpired
    );
    assert_eq!(
        rejection(&by_type("run_completed"), &done).name,
        ErrorName::EntityConflict
    );
    assert_eq!(
        rejection(&by_type("run_cancelled"), &done).name,
        ErrorName::EntityConflict
    );
    let e = rejection(&by_type("step_created"), &done);
    assert_eq!(
        e.message,
        "Cannot create new entities on run in terminal state \"completed\""
    );
    let cancelled = snapshot_with_run(RunStatus::Cancelled, Some(3));
    let Ok(Decision::Commit(p)) = decide(&by_type("run_cancelled"), RUN, &cancelled, &ctx()) else {
        panic!()
    };
    assert_eq!(p.events.len(), 1);
    assert!(p.writes.is_empty());
}

#[test]
fn step_started_too_early_reports_whole_seconds() {
    let req = by_type("step_started");
    let mut s = snapshot_with_run(RunStatus::Running, Some(3));
    s.step = Some(StepFacts {
        status: StepStatus::Pending,
        retry_after: Some(NOW + 29_001),
    });
    let e = rejection(&req, &s);
    assert_eq!((e.name, e.retry_after), (ErrorName::TooEarly, Some(30)));
}

#[test]
fn spec_versions_gate_and_legacy_runs_take_their_own_path() {
    let too_new = snapshot_with_run(RunStatus::Running, Some(4));
    let e = rejection(&by_type("step_created"), &too_new);
    assert_eq!(
        (e.name, e.run_spec_version, e.world_spec_version),
        (ErrorName::RunNotSupported, Some(4), Some(3))
    );
    // step_completed does not load the run: on a spec-4 run (stamped by no core) it raises
    // no version error (§8.91) and follows the run's own slot rules, so the log never mixes
    // schemes; on the runs core 5 stamps a 4.x World refuses it (world-contract-v5 §10)
    let mut s = too_new.clone();
    s.step = Some(StepFacts {
        status: StepStatus::Running,
        retry_after: None,
    });
    let Ok(Decision::Commit(p)) = decide(&by_type("step_completed"), RUN, &s, &ctx()) else {
        panic!("step_completed on a spec-4 run")
    };
    assert!(p.slots, "a spec-4 run's event takes a slot");
    for stamped in [6, 7] {
        let mut s = s.clone();
        s.run = Some(run_facts(RunStatus::Running, Some(stamped)));
        let e = rejection(&by_type("step_completed"), &s);
        assert_eq!(
            (e.name, e.run_spec_version),
            (ErrorName::RunNotSupported, Some(stamped))
        );
    }
    // on a 4.x run it commits whatever the run's status (§8.91)
    let mut done = snapshot_with_run(RunStatus::Completed, Some(3));
    done.step = s.step.clone();
    assert!(matches!(
        decide(&by_type("step_completed"), RUN, &done, &ctx()),
        Ok(Decision::Commit(_))
    ));

    let legacy = snapshot_with_run(RunStatus::Completed, None);
    let Ok(Decision::Commit(p)) = decide(&by_type("run_cancelled"), RUN, &legacy, &ctx()) else {
        panic!()
    };
    assert!(p.events.is_empty());
    let Ok(Decision::Commit(p)) = decide(&by_type("hook_received"), RUN, &legacy, &ctx()) else {
        panic!()
    };
    assert_eq!(p.events[0].spec_version, 3);
    let e = rejection(
        &by_type("run_started"),
        &snapshot_with_run(RunStatus::Running, Some(1)),
    );
    assert_eq!(e.name, ErrorName::Plain);
    assert!(
        e.message
            .contains("not supported for legacy runs (specVersion: 1)"),
        "{}",
        e.message
    );
}

#[test]
fn resilient_start_logs_run_created_before_run_started() {
    let req = requests()
        .into_iter()
        .find(|r| {
            matches!(
                r.kind,
                Kind::RunStarted {
                    resilient: Some(_),
                    ..
                }
            )
        })
        .unwrap();
    let Ok(Decision::Commit(p)) = decide(&req, RUN, &Snapshot::default(), &ctx()) else {
        panic!()
    };
    let types: Vec<_> = p.events.iter().map(|e| e.event_type).collect();
    assert_eq!(types, [EventType::RunCreated, EventType::RunStarted]);
    assert_eq!(p.events[1].event_data, None);
    let Write::InsertRun(run) = &p.writes[0] else {
        panic!()
    };
    assert_eq!(
        (run.status, run.started_at),
        (RunStatus::Running, Some(Timestamp(NOW)))
    );
    // without the data, a missing run is an error and nothing is written (§8.16)
    let bare = requests()
        .into_iter()
        .find(|r| {
            matches!(
                r.kind,
                Kind::RunStarted {
                    resilient: None,
                    ..
                }
            )
        })
        .unwrap();
    assert_eq!(
        rejection(&bare, &Snapshot::default()).name,
        ErrorName::WorkflowRunNotFound
    );
}

#[test]
fn a_taken_token_is_a_conflict_event_not_an_error() {
    let req = by_type("hook_created");
    let mut s = snapshot_with_run(RunStatus::Running, Some(3));
    s.token_holder = Some(HookFacts {
        run_id: "wrun_other".into(),
        hook_id: "h9".into(),
        token: TOKEN.into(),
    });
    let Ok(Decision::Commit(p)) = decide(&req, RUN, &s, &ctx()) else {
        panic!()
    };
    assert_eq!(p.events[0].event_type, EventType::HookConflict);
    assert_eq!(
        p.events[0].event_data,
        Some(Payload(Value::Map(vec![
            text("token", TOKEN),
            text("conflictingRunId", "wrun_other")
        ])))
    );
    assert!(p.writes.is_empty() && !p.reply.hook);
}
