//! The event state machine of contract §3: given what the store read and one request,
//! decide the writes (a [`Plan`]) or refuse with the contract's error. Pure: no I/O, no
//! clock and no randomness except what arrives in [`Ctx`].
//!
//! Every plan carries the [`Guard`]s that characterise the state it was decided on. The
//! store turns them into conditions inside the same D1 batch as the writes, so a plan
//! commits only if the state it assumed still holds (a compare-and-swap); otherwise the
//! store decides again on the snapshot that the same batch read. On the hot path the
//! first decision is made on the state the event usually meets ([`Snapshot::expected`]),
//! so it costs one D1 round trip (docs/design.md decision 1).

pub mod request;

use crate::model::value::{entry, text};
use crate::model::ErrorName;
use crate::model::{
    ids, is_legacy_spec_version, wait_id, Event, EventType, Hook, Millis, Payload, Run, RunStatus,
    Step, StepStatus, StructuredError, Timestamp, Value, Wait, WaitStatus, WorldError,
    HOOK_ENVIRONMENT, HOOK_OWNER_ID, HOOK_PROJECT_ID, SPEC_VERSION_CURRENT,
};
pub use request::{EventRequest, Kind, ResilientStart};

/// What a decision may use besides the state: the time and fresh event ids.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub now: Millis,
    /// Ids for the events a plan appends (at most two: resilient start).
    pub event_ids: [String; 2],
}

/// How a run's spec version sorts it (contract §1.1, §3.1 step 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Era {
    Legacy,
    Current,
    TooNew,
}

impl Era {
    pub fn of(spec_version: Option<i64>) -> Era {
        if is_legacy_spec_version(spec_version) {
            Era::Legacy
        } else if spec_version.is_some_and(|v| v > SPEC_VERSION_CURRENT) {
            Era::TooNew
        } else {
            Era::Current
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RunFacts {
    pub status: RunStatus,
    pub spec_version: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StepFacts {
    pub status: StepStatus,
    pub retry_after: Option<Millis>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct HookFacts {
    pub run_id: String,
    pub hook_id: String,
    pub token: String,
}

/// The part of the stored state one request can depend on, read in the same batch as
/// the guarded writes.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Snapshot {
    pub run: Option<RunFacts>,
    /// The step `(runId, correlationId)`.
    pub step: Option<StepFacts>,
    /// The live hook whose id is the correlation id.
    pub hook: Option<HookFacts>,
    /// The live hook holding the requested token (`hook_created`).
    pub token_holder: Option<HookFacts>,
    /// The wait `runId-correlationId`.
    pub wait: Option<WaitStatus>,
    /// A `hook_created` or `hook_conflict` for `(runId, correlationId)` is in the log:
    /// the hook's one create outcome.
    pub hook_create_logged: bool,
}

impl Snapshot {
    /// The state an event of this type meets on the hot path: a running current run, a
    /// free token, a pending step for `step_started`, and so on.
    pub fn expected(req: &EventRequest) -> Snapshot {
        let running = Some(RunFacts {
            status: RunStatus::Running,
            spec_version: Some(SPEC_VERSION_CURRENT),
        });
        let step = |status| {
            Some(StepFacts {
                status,
                retry_after: None,
            })
        };
        let mut s = Snapshot {
            run: running,
            ..Snapshot::default()
        };
        match req.event_type {
            EventType::RunCreated => s.run = None,
            EventType::RunStarted => {
                s.run = Some(RunFacts {
                    status: RunStatus::Pending,
                    spec_version: Some(SPEC_VERSION_CURRENT),
                })
            }
            EventType::StepStarted => s.step = step(StepStatus::Pending),
            EventType::StepCompleted | EventType::StepFailed | EventType::StepRetrying => {
                s.step = step(StepStatus::Running)
            }
            EventType::HookReceived | EventType::HookDisposed => {
                s.hook = Some(HookFacts {
                    run_id: String::new(),
                    hook_id: req.correlation().to_owned(),
                    token: String::new(),
                })
            }
            EventType::WaitCompleted => s.wait = Some(WaitStatus::Waiting),
            EventType::RunCompleted
            | EventType::RunFailed
            | EventType::RunCancelled
            | EventType::StepCreated
            | EventType::HookCreated
            | EventType::HookConflict
            | EventType::WaitCreated => {}
        }
        s
    }
}

/// A condition on the stored state, relative to the request's run, correlation id and
/// token. The store renders each as SQL; [`Guard::holds`] is the same predicate in Rust.
#[derive(Clone, Debug, PartialEq)]
pub enum Guard {
    RunMissing,
    Run {
        statuses: &'static [RunStatus],
        era: Era,
    },
    StepMissing,
    /// The step exists with one of `statuses` and, if `due_at` is set, its `retryAfter`
    /// is unset or not after `due_at`.
    Step {
        statuses: &'static [StepStatus],
        due_at: Option<Millis>,
    },
    HookMissing,
    HookPresent,
    TokenFree,
    TokenHeldBy {
        run_id: String,
        hook_id: String,
    },
    HookCreateNotLogged,
    WaitMissing,
    Wait(WaitStatus),
}

pub const NON_TERMINAL_RUN: &[RunStatus] = &[RunStatus::Pending, RunStatus::Running];
pub const ANY_RUN: &[RunStatus] = RunStatus::ALL;
pub const NON_TERMINAL_STEP: &[StepStatus] = &[StepStatus::Pending, StepStatus::Running];
pub const RUNNING_STEP: &[StepStatus] = &[StepStatus::Running];

fn exactly(status: RunStatus) -> &'static [RunStatus] {
    match status {
        RunStatus::Pending => &[RunStatus::Pending],
        RunStatus::Running => &[RunStatus::Running],
        RunStatus::Completed => &[RunStatus::Completed],
        RunStatus::Failed => &[RunStatus::Failed],
        RunStatus::Cancelled => &[RunStatus::Cancelled],
    }
}

impl Guard {
    pub fn holds(&self, s: &Snapshot) -> bool {
        match self {
            Guard::RunMissing => s.run.is_none(),
            Guard::Run { statuses, era } => s
                .run
                .as_ref()
                .is_some_and(|r| statuses.contains(&r.status) && Era::of(r.spec_version) == *era),
            Guard::StepMissing => s.step.is_none(),
            Guard::Step { statuses, due_at } => s.step.as_ref().is_some_and(|st| {
                statuses.contains(&st.status)
                    && due_at.is_none_or(|now| st.retry_after.is_none_or(|at| at <= now))
            }),
            Guard::HookMissing => s.hook.is_none(),
            Guard::HookPresent => s.hook.is_some(),
            Guard::TokenFree => s.token_holder.is_none(),
            Guard::TokenHeldBy { run_id, hook_id } => s
                .token_holder
                .as_ref()
                .is_some_and(|h| &h.run_id == run_id && &h.hook_id == hook_id),
            Guard::HookCreateNotLogged => !s.hook_create_logged,
            Guard::WaitMissing => s.wait.is_none(),
            Guard::Wait(status) => s.wait == Some(*status),
        }
    }
}

/// An entity write. Writes that change a row relative to what it holds (`attempt + 1`,
/// "`startedAt` unless set") say so, so that one plan is right for every state its
/// guards admit.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    InsertRun(Run),
    /// `pending → running`; `startedAt` is set only if unset (contract §3.4.2).
    StartRun {
        now: Millis,
    },
    FinishRun {
        status: RunStatus,
        output: Option<Payload>,
        error: Option<StructuredError>,
        now: Millis,
    },
    /// Terminal cleanup (contract §3.6): the run's hooks and waits go, with no events.
    DeleteRunHooks,
    DeleteRunWaits,
    InsertStep(Step),
    /// `attempt + 1`, `startedAt` unless set, `retryAfter` cleared (contract §3.4.5).
    StartStep {
        now: Millis,
    },
    FinishStep {
        status: StepStatus,
        output: Option<Payload>,
        error: Option<StructuredError>,
        now: Millis,
    },
    RetryStep {
        error: StructuredError,
        retry_after: Option<Millis>,
        now: Millis,
    },
    InsertHook(Hook),
    /// Deletes the hook whose id is the correlation id, freeing its token.
    DeleteHook,
    InsertWait(Wait),
    CompleteWait {
        now: Millis,
    },
}

/// What `events.create` returns besides the event (contract §2.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Reply {
    pub run: bool,
    pub step: bool,
    pub hook: bool,
    pub wait: bool,
    /// `run_started`'s preloaded log (`events`, `cursor`, `hasMore`).
    pub log: bool,
}

#[must_use]
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub guards: Vec<Guard>,
    /// Appended in order; the last is the one returned. The first is the commit marker:
    /// it is inserted only if every guard holds, and everything else only if it was.
    pub events: Vec<Event>,
    pub writes: Vec<Write>,
    pub reply: Reply,
}

#[must_use]
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Commit(Plan),
    /// Nothing to write: reply with the current state (a repeated `run_started`).
    Unchanged(Reply),
}

struct Decider<'a> {
    req: &'a EventRequest,
    run_id: &'a str,
    ctx: &'a Ctx,
    guards: Vec<Guard>,
}

impl Decider<'_> {
    fn event(
        &self,
        index: usize,
        event_type: EventType,
        event_data: Option<Payload>,
        spec_version: i64,
    ) -> Event {
        Event {
            event_id: self.ctx.event_ids[index].clone(),
            run_id: self.run_id.to_owned(),
            event_type,
            correlation_id: self.req.correlation_id.clone(),
            event_data,
            spec_version,
            created_at: Timestamp(self.ctx.now),
        }
    }

    /// The requested event, as it is appended.
    fn requested(&self) -> Event {
        self.event(
            0,
            self.req.event_type,
            self.req.event_data.clone(),
            self.req.spec_version,
        )
    }

    fn commit(
        self,
        events: Vec<Event>,
        writes: Vec<Write>,
        reply: Reply,
    ) -> Result<Decision, WorldError> {
        Ok(Decision::Commit(Plan {
            guards: self.guards,
            events,
            writes,
            reply,
        }))
    }

    fn commit_requested(self, writes: Vec<Write>, reply: Reply) -> Result<Decision, WorldError> {
        let event = self.requested();
        self.commit(vec![event], writes, reply)
    }
}

fn conflict(message: String) -> WorldError {
    WorldError::new(ErrorName::EntityConflict, message)
}

fn expired(message: String) -> WorldError {
    WorldError::new(ErrorName::RunExpired, message)
}

/// Whether the run is read before deciding (contract §3.1 step 3).
fn loads_run(event_type: EventType) -> bool {
    !matches!(
        event_type,
        EventType::RunCreated | EventType::StepCompleted | EventType::StepRetrying
    )
}

/// Decides `events.create(run_id, req)` on the snapshot `s` (contract §3.1–§3.4).
pub fn decide(
    req: &EventRequest,
    run_id: &str,
    s: &Snapshot,
    ctx: &Ctx,
) -> Result<Decision, WorldError> {
    let mut d = Decider {
        req,
        run_id,
        ctx,
        guards: Vec::new(),
    };
    let now = ctx.now;
    let corr = req.correlation();

    if req.event_type == EventType::RunCreated {
        return run_created(d, s);
    }

    // Steps 3–6: load the run, gate on its version, then on terminal states.
    let run = if loads_run(req.event_type) {
        s.run.as_ref()
    } else {
        None
    };
    if let Some(r) = run {
        match Era::of(r.spec_version) {
            Era::TooNew => {
                return Err(WorldError {
                    run_spec_version: r.spec_version,
                    world_spec_version: Some(SPEC_VERSION_CURRENT),
                    ..WorldError::new(
                        ErrorName::RunNotSupported,
                        format!(
                            "Run requires spec version {}, but world supports version {SPEC_VERSION_CURRENT}. Please upgrade 'workflow' package.",
                            r.spec_version.unwrap_or_default()
                        ),
                    )
                })
            }
            Era::Legacy => return legacy(d, r),
            Era::Current => {}
        }
        if r.status.is_terminal() {
            let status = r.status.as_str();
            match req.event_type {
                EventType::RunCancelled if r.status == RunStatus::Cancelled => {
                    d.guards.push(Guard::Run {
                        statuses: &[RunStatus::Cancelled],
                        era: Era::Current,
                    });
                    return d.commit_requested(
                        vec![],
                        Reply {
                            run: true,
                            ..Reply::default()
                        },
                    );
                }
                EventType::RunStarted => {
                    return Err(expired(format!(
                        "Workflow run \"{run_id}\" is already in terminal state \"{status}\""
                    )))
                }
                EventType::RunCompleted | EventType::RunFailed | EventType::RunCancelled => {
                    return Err(conflict(format!(
                        "Cannot transition run from terminal state \"{status}\""
                    )))
                }
                EventType::StepCreated | EventType::HookCreated | EventType::WaitCreated => {
                    return Err(conflict(format!(
                        "Cannot create new entities on run in terminal state \"{status}\""
                    )))
                }
                _ => {}
            }
        }
    }
    // The run guard: the facts about the run that the rest of the decision used.
    if loads_run(req.event_type) {
        d.guards.push(match run {
            None => Guard::RunMissing,
            Some(r) if r.status.is_terminal() => Guard::Run {
                statuses: exactly(r.status),
                era: Era::Current,
            },
            Some(r) if req.event_type == EventType::RunStarted => Guard::Run {
                statuses: exactly(r.status),
                era: Era::Current,
            },
            Some(_) => Guard::Run {
                statuses: NON_TERMINAL_RUN,
                era: Era::Current,
            },
        });
    }

    // Step 7: the step gate.
    if matches!(
        req.event_type,
        EventType::StepStarted
            | EventType::StepCompleted
            | EventType::StepFailed
            | EventType::StepRetrying
    ) {
        let Some(step) = &s.step else {
            return Err(WorldError::not_found(format!("Step \"{corr}\" not found")));
        };
        if step.status.is_terminal() {
            return Err(conflict(format!(
                "Cannot modify step in terminal state \"{}\"",
                step.status.as_str()
            )));
        }
        let run_terminal = run.is_some_and(|r| r.status.is_terminal());
        if run_terminal && step.status != StepStatus::Running {
            let status = run.map(|r| r.status.as_str()).unwrap_or_default();
            return Err(expired(format!(
                "Cannot modify non-running step on run in terminal state \"{status}\""
            )));
        }
        let mut due_at = None;
        if req.event_type == EventType::StepStarted {
            if let Some(at) = step.retry_after.filter(|at| *at > now) {
                let seconds = (at - now + 999) / 1000;
                return Err(WorldError {
                    retry_after: Some(seconds),
                    ..WorldError::new(
                        ErrorName::TooEarly,
                        format!("Cannot start step \"{corr}\": retryAfter timestamp has not been reached yet"),
                    )
                });
            }
            due_at = Some(now);
        }
        let statuses = if run_terminal {
            RUNNING_STEP
        } else {
            NON_TERMINAL_STEP
        };
        d.guards.push(Guard::Step { statuses, due_at });
    }

    // Step 8: the hook gate.
    if matches!(
        req.event_type,
        EventType::HookReceived | EventType::HookDisposed
    ) {
        if s.hook.is_none() {
            return Err(WorldError::hook_not_found(corr));
        }
        d.guards.push(Guard::HookPresent);
    }

    let run_reply = Reply {
        run: true,
        ..Reply::default()
    };
    let step_reply = Reply {
        step: true,
        ..Reply::default()
    };
    match &req.kind {
        Kind::RunCreated { .. } => run_created(d, s),
        Kind::RunStarted { resilient } => match run {
            None => match resilient {
                Some(start) => resilient_start(d, start),
                None => Err(WorldError::run_not_found(run_id)),
            },
            Some(r) if r.status == RunStatus::Running => Ok(Decision::Unchanged(run_reply)),
            Some(_) => d.commit_requested(
                vec![Write::StartRun { now }],
                Reply {
                    run: true,
                    log: true,
                    ..Reply::default()
                },
            ),
        },
        Kind::RunCompleted { output } => {
            terminate(d, run, RunStatus::Completed, output.clone(), None)
        }
        Kind::RunFailed { error } => {
            terminate(d, run, RunStatus::Failed, None, Some(error.clone()))
        }
        Kind::RunCancelled => terminate(d, run, RunStatus::Cancelled, None, None),
        Kind::StepCreated { step_name, input } => {
            if s.step.is_some() {
                return Err(conflict(format!("Step \"{corr}\" already exists")));
            }
            d.guards.push(Guard::StepMissing);
            let step = Step {
                run_id: run_id.to_owned(),
                step_id: corr.to_owned(),
                step_name: step_name.clone(),
                status: StepStatus::Pending,
                input: input.clone(),
                output: None,
                error: None,
                attempt: 0,
                started_at: None,
                completed_at: None,
                retry_after: None,
                created_at: Timestamp(now),
                updated_at: Timestamp(now),
                spec_version: Some(req.spec_version),
            };
            d.commit_requested(vec![Write::InsertStep(step)], step_reply)
        }
        Kind::StepStarted => d.commit_requested(vec![Write::StartStep { now }], step_reply),
        Kind::StepCompleted { result } => d.commit_requested(
            vec![Write::FinishStep {
                status: StepStatus::Completed,
                output: result.clone(),
                error: None,
                now,
            }],
            step_reply,
        ),
        Kind::StepFailed { error } => d.commit_requested(
            vec![Write::FinishStep {
                status: StepStatus::Failed,
                output: None,
                error: Some(error.clone()),
                now,
            }],
            step_reply,
        ),
        Kind::StepRetrying { error, retry_after } => d.commit_requested(
            vec![Write::RetryStep {
                error: error.clone(),
                retry_after: *retry_after,
                now,
            }],
            step_reply,
        ),
        Kind::HookCreated {
            token,
            metadata,
            is_webhook,
        } => hook_created(d, s, token, metadata.clone(), *is_webhook),
        Kind::HookReceived => d.commit_requested(vec![], Reply::default()),
        Kind::HookDisposed => d.commit_requested(vec![Write::DeleteHook], Reply::default()),
        Kind::WaitCreated { resume_at } => {
            let wait_id = wait_id(run_id, corr);
            if s.wait.is_some() {
                return Err(conflict(format!("Wait \"{wait_id}\" already exists")));
            }
            d.guards.push(Guard::WaitMissing);
            let wait = Wait {
                wait_id,
                run_id: run_id.to_owned(),
                status: WaitStatus::Waiting,
                resume_at: Some(Timestamp(*resume_at)),
                completed_at: None,
                created_at: Timestamp(now),
                updated_at: Timestamp(now),
                spec_version: Some(req.spec_version),
            };
            d.commit_requested(
                vec![Write::InsertWait(wait)],
                Reply {
                    wait: true,
                    ..Reply::default()
                },
            )
        }
        Kind::WaitCompleted => {
            let wait_id = wait_id(run_id, corr);
            match s.wait {
                None => Err(WorldError::not_found(format!(
                    "Wait \"{wait_id}\" not found"
                ))),
                Some(WaitStatus::Completed) => {
                    Err(conflict(format!("Wait \"{wait_id}\" already completed")))
                }
                Some(WaitStatus::Waiting) => {
                    d.guards.push(Guard::Wait(WaitStatus::Waiting));
                    d.commit_requested(
                        vec![Write::CompleteWait { now }],
                        Reply {
                            wait: true,
                            ..Reply::default()
                        },
                    )
                }
            }
        }
    }
}

fn run_created(mut d: Decider, s: &Snapshot) -> Result<Decision, WorldError> {
    let Kind::RunCreated {
        deployment_id,
        workflow_name,
        input,
        execution_context,
    } = &d.req.kind
    else {
        return Err(WorldError::invalid(
            "INVALID_EVENT",
            "run_created without its data",
        ));
    };
    if s.run.is_some() {
        return Err(conflict(format!(
            "Workflow run \"{}\" already exists",
            d.run_id
        )));
    }
    d.guards.push(Guard::RunMissing);
    let run = new_run(
        &d,
        deployment_id,
        workflow_name,
        input.clone(),
        execution_context.clone(),
        RunStatus::Pending,
    );
    d.commit_requested(
        vec![Write::InsertRun(run)],
        Reply {
            run: true,
            ..Reply::default()
        },
    )
}

fn new_run(
    d: &Decider,
    deployment_id: &str,
    workflow_name: &str,
    input: Option<Payload>,
    execution_context: Option<Payload>,
    status: RunStatus,
) -> Run {
    let now = d.ctx.now;
    Run {
        run_id: d.run_id.to_owned(),
        status,
        deployment_id: deployment_id.to_owned(),
        workflow_name: workflow_name.to_owned(),
        spec_version: Some(d.req.spec_version),
        execution_context,
        input,
        output: None,
        error: None,
        expired_at: None,
        started_at: (status == RunStatus::Running).then_some(Timestamp(now)),
        completed_at: None,
        created_at: Timestamp(now),
        updated_at: Timestamp(now),
    }
}

/// `run_started` on a missing run with the run's data: create it, log a synthetic
/// `run_created` before the `run_started`, and start it, in one commit (§3.1 step 4).
fn resilient_start(d: Decider, start: &ResilientStart) -> Result<Decision, WorldError> {
    let mut data = vec![
        text("deploymentId", start.deployment_id.clone()),
        text("workflowName", start.workflow_name.clone()),
        entry("input", start.input.0.clone()),
    ];
    if let Some(ctx) = &start.execution_context {
        data.push(entry("executionContext", ctx.0.clone()));
    }
    let sv = d.req.spec_version;
    let created = d.event(
        0,
        EventType::RunCreated,
        Some(Payload(Value::Map(data))),
        sv,
    );
    let started = d.event(1, EventType::RunStarted, None, sv);
    let run = new_run(
        &d,
        &start.deployment_id,
        &start.workflow_name,
        Some(start.input.clone()),
        start.execution_context.clone(),
        RunStatus::Running,
    );
    d.commit(
        vec![created, started],
        vec![Write::InsertRun(run)],
        Reply {
            run: true,
            log: true,
            ..Reply::default()
        },
    )
}

fn terminate(
    d: Decider,
    run: Option<&RunFacts>,
    status: RunStatus,
    output: Option<Payload>,
    error: Option<StructuredError>,
) -> Result<Decision, WorldError> {
    if run.is_none() {
        return Err(WorldError::run_not_found(d.run_id));
    }
    let now = d.ctx.now;
    d.commit_requested(
        vec![
            Write::FinishRun {
                status,
                output,
                error,
                now,
            },
            Write::DeleteRunHooks,
            Write::DeleteRunWaits,
        ],
        Reply {
            run: true,
            ..Reply::default()
        },
    )
}

fn hook_created(
    mut d: Decider,
    s: &Snapshot,
    token: &str,
    metadata: Option<Payload>,
    is_webhook: Option<bool>,
) -> Result<Decision, WorldError> {
    let corr = d.req.correlation().to_owned();
    if let Some(holder) = &s.token_holder {
        if holder.run_id == d.run_id && holder.hook_id == corr {
            return Err(conflict(format!("Hook \"{corr}\" already created")));
        }
        if s.hook_create_logged {
            // The hook's conflict (or creation) is logged already: a retry or a
            // concurrent replay must not log a second outcome for it.
            return Err(conflict(format!("Hook \"{corr}\" already created")));
        }
        // Another hook holds the token: log the conflict, claim nothing (§3.4.9).
        d.guards.extend([
            Guard::TokenHeldBy {
                run_id: holder.run_id.clone(),
                hook_id: holder.hook_id.clone(),
            },
            Guard::HookCreateNotLogged,
        ]);
        let data = Value::Map(vec![
            text("token", token),
            text("conflictingRunId", holder.run_id.clone()),
        ]);
        let event = d.event(
            0,
            EventType::HookConflict,
            Some(Payload(data)),
            d.req.spec_version,
        );
        return d.commit(vec![event], vec![], Reply::default());
    }
    if s.hook.is_some() || s.hook_create_logged {
        return Err(conflict(format!("Hook \"{corr}\" already created")));
    }
    d.guards.extend([
        Guard::TokenFree,
        Guard::HookMissing,
        Guard::HookCreateNotLogged,
    ]);
    let hook = Hook {
        hook_id: corr,
        run_id: d.run_id.to_owned(),
        token: token.to_owned(),
        metadata,
        is_webhook,
        owner_id: HOOK_OWNER_ID.to_owned(),
        project_id: HOOK_PROJECT_ID.to_owned(),
        environment: HOOK_ENVIRONMENT.to_owned(),
        created_at: Timestamp(d.ctx.now),
        spec_version: Some(d.req.spec_version),
    };
    d.commit_requested(
        vec![Write::InsertHook(hook)],
        Reply {
            hook: true,
            ..Reply::default()
        },
    )
}

/// Runs whose stored spec version is absent or ≤ 1 (contract §3.3).
fn legacy(mut d: Decider, r: &RunFacts) -> Result<Decision, WorldError> {
    d.guards.push(Guard::Run {
        statuses: ANY_RUN,
        era: Era::Legacy,
    });
    match d.req.event_type {
        EventType::RunCancelled => {
            let now = d.ctx.now;
            d.commit(
                vec![],
                vec![
                    Write::FinishRun { status: RunStatus::Cancelled, output: None, error: None, now },
                    Write::DeleteRunHooks,
                    Write::DeleteRunWaits,
                ],
                Reply { run: true, ..Reply::default() },
            )
        }
        EventType::WaitCompleted | EventType::HookReceived => {
            let event = d.event(0, d.req.event_type, d.req.event_data.clone(), SPEC_VERSION_CURRENT);
            d.commit(vec![event], vec![], Reply::default())
        }
        other => Err(WorldError::new(
            ErrorName::Plain,
            format!(
                "Event type '{}' not supported for legacy runs (specVersion: {}). Please upgrade the 'workflow' package to continue this run.",
                other.as_str(),
                r.spec_version.map_or("undefined".to_owned(), |v| v.to_string())
            ),
        )),
    }
}

/// Everything `events.create` needs before deciding: the run id (generated for a
/// `run_created` without one) checked against the contract's rules.
pub fn resolve_run_id(
    run_id: Option<&str>,
    req: &EventRequest,
    now: Millis,
    random: u128,
) -> Result<String, WorldError> {
    match (run_id.filter(|id| !id.is_empty()), req.event_type) {
        (None, EventType::RunCreated) => Ok(ids::new_id(ids::RUN_PREFIX, now, random)),
        (None, _) => Err(WorldError::invalid(
            "INVALID_RUN_ID",
            format!(
                "runId is required for {} events (only run_created may omit it)",
                req.event_type.as_str()
            ),
        )),
        (Some(id), EventType::RunCreated) => {
            ids::validate_client_run_id(id, now)?;
            Ok(id.to_owned())
        }
        (Some(id), _) => {
            ids::run_id_time(id)?;
            Ok(id.to_owned())
        }
    }
}

#[cfg(test)]
mod tests;
