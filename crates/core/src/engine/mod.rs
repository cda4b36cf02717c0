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
//!
//! A run is served by the rules of the spec version it was created with: 4.x runs by
//! contract §3, spec ≥ 4 runs by the 5.x rules (world-contract-v5
//! §4), which differ in the places marked "5.x".

pub mod attributes;
pub mod request;

use crate::model::value::{entry, text};
use crate::model::ErrorName;
use crate::model::{
    ids, is_legacy_spec_version, wait_id, Attributes, ErrorValue, Event, EventType, Hook, Line,
    Millis, Payload, Run, RunStatus, Step, StepStatus, Timestamp, Value, Wait, WaitStatus,
    WorldError, HOOK_ENVIRONMENT, HOOK_OWNER_ID, HOOK_PROJECT_ID, SPEC_VERSION_FIRST_STAMPED_V5,
    SPEC_VERSION_FIRST_V5, SPEC_VERSION_V4, SPEC_VERSION_V5,
};
pub use request::{EventRequest, Kind, LazyStart, NewRun, Resume};

/// What a decision may use besides the state: the time and fresh event ids.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub now: Millis,
    /// Ids for the events a plan appends to a 4.x run (at most two: resilient start);
    /// a spec ≥ 4 run's events get their slot ids when they commit.
    pub event_ids: [String; 2],
}

/// How a run's spec version sorts it (contract §1.1, §3.1 step 5; world-contract-v5 §10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Era {
    /// Absent or ≤ 1 (contract §3.3).
    Legacy,
    /// 2 and 3: the 4.x line's rules, ULID event ids.
    V4,
    /// 4 to 7: the 5.x line's rules, slot-numbered logs.
    V5,
    /// Above 7: no line of this World serves it.
    Future,
}

impl Era {
    pub fn of(spec_version: Option<i64>) -> Era {
        match spec_version {
            _ if is_legacy_spec_version(spec_version) => Era::Legacy,
            Some(v) if v > SPEC_VERSION_V5 => Era::Future,
            Some(v) if v >= SPEC_VERSION_FIRST_V5 => Era::V5,
            _ => Era::V4,
        }
    }

    /// The rules a run of this era is served by when the event does not load the run:
    /// a legacy run's step events follow the 4.x rules.
    pub fn rules(self) -> Era {
        match self {
            Era::Legacy => Era::V4,
            era => era,
        }
    }

    /// The era whose rules this line applies to the runs it creates.
    pub fn of_line(line: Line) -> Era {
        match line {
            Line::V4 => Era::V4,
            Line::V5 => Era::V5,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RunFacts {
    pub status: RunStatus,
    pub spec_version: Option<i64>,
    /// 5.x: the run's attributes (their count bounds an `attr_set`), and whether its
    /// `$retention` purges its user data when it ends.
    pub attributes: Attributes,
    pub purge_on_finish: bool,
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
    /// 5.x: an `attr_set` for `(runId, correlationId)` is in the log.
    pub attr_set_logged: bool,
    /// 5.x: the `hook_received` committed for `(runId, params.resumeId)`.
    pub resume: Option<ResumeFacts>,
    /// 5.x `hook_created`: the slot of the `hook_conflict` logged for `(runId,
    /// correlationId)`, the answer to a retry of that create.
    pub hook_conflict_slot: Option<i64>,
}

/// A committed resume (world-contract-v5 §4.10).
#[derive(Clone, Debug, PartialEq)]
pub struct ResumeFacts {
    pub slot: i64,
    pub hook_id: String,
    pub digest: Option<String>,
}

impl Snapshot {
    /// The state an event of this type meets on the hot path: a running current run, a
    /// free token, a pending step for `step_started`, and so on.
    pub fn expected(req: &EventRequest) -> Snapshot {
        let spec_version = Some(req.line.spec_version());
        let run = |status| {
            Some(RunFacts {
                status,
                spec_version,
                attributes: Attributes::default(),
                purge_on_finish: false,
            })
        };
        let running = run(RunStatus::Running);
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
            EventType::RunStarted => s.run = run(RunStatus::Pending),
            // A 5.x lazy start creates its step.
            EventType::StepStarted if matches!(req.kind, Kind::StepStarted { lazy: Some(_) }) => {}
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
            | EventType::WaitCreated
            | EventType::AttrSet => {}
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
    /// 5.x: the run's attributes are exactly these.
    Attributes(Attributes),
    /// 5.x: whether the run's `$retention` purges its user data when it ends.
    PurgeOnFinish(bool),
    AttrSetNotLogged,
    ResumeNotCommitted,
    /// For the events that do not load the run (`step_completed`, `step_retrying`): the
    /// run, if it exists, is served by this era's rules (a legacy run by the 4.x ones).
    RunRules(Era),
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
            Guard::Attributes(a) => s.run.as_ref().is_some_and(|r| &r.attributes == a),
            Guard::PurgeOnFinish(p) => s.run.as_ref().is_some_and(|r| r.purge_on_finish == *p),
            Guard::AttrSetNotLogged => !s.attr_set_logged,
            Guard::ResumeNotCommitted => s.resume.is_none(),
            Guard::RunRules(era) => s
                .run
                .as_ref()
                .is_none_or(|r| Era::of(r.spec_version).rules() == *era),
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
    /// 5.x: `error_code`, and `purge` (the run's `$retention` is `'0'`: `input`, `output`
    /// and `error` are dropped and `expiredAt` set with the status, world-contract-v5 §4.4).
    FinishRun {
        status: RunStatus,
        output: Option<Payload>,
        error: Option<ErrorValue>,
        error_code: Option<String>,
        purge: bool,
        now: Millis,
    },
    /// 5.x `attr_set`: the run's attributes become these.
    SetAttributes(Attributes),
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
        error: Option<ErrorValue>,
        now: Millis,
    },
    RetryStep {
        error: ErrorValue,
        retry_after: Option<Millis>,
        now: Millis,
    },
    InsertHook(Hook),
    /// Deletes the hook whose id is the correlation id, freeing its token.
    DeleteHook,
    /// 5.x: deletes a hook of an ended run that still holds the requested token although
    /// its `tokenRetentionUntil` has passed, so a new hook can take the token.
    ReleaseExpiredToken,
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
    /// 5.x lazy `step_started`: `stepCreated: true`.
    pub step_created: bool,
    /// 5.x: the event already committed at this slot is the answer (a repeated resume).
    pub committed: Option<i64>,
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
    /// The run's events are numbered by slot (a spec ≥ 4 run): `events` get their ids when
    /// they commit.
    pub slots: bool,
    /// 5.x: once committed, the run's user data elsewhere is deleted (`$retention: '0'`).
    pub purge: bool,
}

#[must_use]
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Commit(Plan),
    /// Nothing to write: reply with the current state (a repeated `run_started`, a
    /// repeated resume).
    Unchanged(Reply),
}

struct Decider<'a> {
    req: &'a EventRequest,
    run_id: &'a str,
    ctx: &'a Ctx,
    guards: Vec<Guard>,
    /// The rules: `V4` or `V5`.
    era: Era,
}

impl Decider<'_> {
    fn v5(&self) -> bool {
        self.era == Era::V5
    }

    fn event(
        &self,
        index: usize,
        event_type: EventType,
        event_data: Option<Payload>,
        spec_version: i64,
    ) -> Event {
        Event {
            // A slot run's events are numbered when they commit.
            event_id: if self.v5() {
                String::new()
            } else {
                self.ctx.event_ids[index].clone()
            },
            run_id: self.run_id.to_owned(),
            event_type,
            correlation_id: self.req.correlation_id.clone(),
            event_data,
            spec_version,
            created_at: Timestamp(self.ctx.now),
            resume_id: None,
        }
    }

    /// The requested event, as it is appended.
    fn requested(&self) -> Event {
        let mut e = self.event(
            0,
            self.req.event_type,
            self.req.event_data.clone(),
            self.req.spec_version,
        );
        e.resume_id = self.req.resume.as_ref().map(|r| r.id.clone());
        e
    }

    fn commit(
        self,
        events: Vec<Event>,
        writes: Vec<Write>,
        reply: Reply,
    ) -> Result<Decision, WorldError> {
        let purge = writes
            .iter()
            .any(|w| matches!(w, Write::FinishRun { purge: true, .. }));
        Ok(Decision::Commit(Plan {
            guards: self.guards,
            events,
            writes,
            reply,
            slots: self.era == Era::V5,
            purge,
        }))
    }

    fn commit_requested(self, writes: Vec<Write>, reply: Reply) -> Result<Decision, WorldError> {
        let event = self.requested();
        self.commit(vec![event], writes, reply)
    }

    /// The run guard of a decision about an existing run: its status (as `statuses`) and
    /// the era whose rules decided.
    fn run_guard(&mut self, statuses: &'static [RunStatus]) {
        self.guards.push(Guard::Run {
            statuses,
            era: self.era,
        });
    }
}

fn conflict(message: String) -> WorldError {
    WorldError::new(ErrorName::EntityConflict, message)
}

fn expired(message: String) -> WorldError {
    WorldError::new(ErrorName::RunExpired, message)
}

fn not_supported(run_spec: Option<i64>, world_spec: i64) -> WorldError {
    WorldError {
        run_spec_version: run_spec,
        world_spec_version: Some(world_spec),
        ..WorldError::new(
            ErrorName::RunNotSupported,
            format!(
                "Run requires spec version {}, but world supports version {world_spec}. Please upgrade 'workflow' package.",
                run_spec.unwrap_or_default()
            ),
        )
    }
}

/// Whether the run is read before deciding (contract §3.1 step 3).
fn loads_run(event_type: EventType) -> bool {
    !matches!(
        event_type,
        EventType::RunCreated | EventType::StepCompleted | EventType::StepRetrying
    )
}

/// 5.x: the events that create an entity of the run, or end it, need the run to exist
/// (world-contract-v5 §4.1: slot 1 of a slot log belongs to `run_created`).
fn needs_run_v5(req: &EventRequest) -> bool {
    matches!(
        req.event_type,
        EventType::RunCompleted
            | EventType::RunFailed
            | EventType::RunCancelled
            | EventType::StepCreated
            | EventType::HookCreated
            | EventType::WaitCreated
            | EventType::AttrSet
    ) || matches!(req.kind, Kind::StepStarted { lazy: Some(_) })
}

/// The 5.x line writes onto a 4.x run only what may reach any run from outside it
/// (world-contract-v5 §10), with the 4.x rules.
/// A 5.x write onto a 4.x run that only the 4.x runtime makes.
fn other_line(req: &EventRequest, r: &RunFacts) -> WorldError {
    WorldError::new(
        ErrorName::Plain,
        format!(
            "Event type '{}' is not supported for runs of spec version {} on the workflow 5.x line; allowed: hook_received, run_cancelled, wait_completed",
            req.event_type.as_str(),
            r.spec_version.unwrap_or_default()
        ),
    )
}

fn out_of_band(event_type: EventType) -> bool {
    matches!(
        event_type,
        EventType::HookReceived | EventType::RunCancelled | EventType::WaitCompleted
    )
}

/// Decides `events.create(run_id, req)` on the snapshot `s` (contract §3.1–§3.4;
/// world-contract-v5 §4 for spec ≥ 4 runs): the gates in the contract's order (the run, a
/// repeated resume, a lazy start, the step, the hook), then the event's own writes.
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
        era: Era::of_line(req.line),
    };
    if req.event_type == EventType::RunCreated {
        // A run stamped above what this World serves is still created with slot identity,
        // as the 5.x reference does (world-contract-v5 §10), and refused by every later
        // write that loads it (RunNotSupportedError).
        d.era = match (Era::of(Some(req.spec_version)), req.line) {
            (Era::V5, _) | (Era::Future, Line::V5) => Era::V5,
            _ => Era::V4,
        };
        return run_created(d, s);
    }
    let run = match run_gate(&mut d, s)? {
        RunGate::Pass(run) => run,
        RunGate::Legacy(r) => return legacy(d, r),
        RunGate::CancelledAgain => {
            d.run_guard(&[RunStatus::Cancelled]);
            return d.commit_requested(
                vec![],
                Reply {
                    run: true,
                    ..Reply::default()
                },
            );
        }
    };
    if let Some(repeat) = resume_gate(&mut d, s)? {
        return Ok(repeat);
    }
    // 5.x lazy start: the step is created by this event (world-contract-v5 §4.7).
    if let Kind::StepStarted { lazy: Some(lazy) } = &req.kind {
        if d.v5() {
            return lazy_start(d, s, lazy);
        }
    }
    step_gate(&mut d, s, run)?;
    hook_gate(&mut d, s, run)?;
    writes(d, s, run)
}

/// What the run gate lets through.
enum RunGate<'s> {
    /// On to the next gates, with the run when the event loads it.
    Pass(Option<&'s RunFacts>),
    /// A run of the legacy era, decided by its own rules.
    Legacy(&'s RunFacts),
    /// `run_cancelled` on a cancelled run: a repeat, answered with the run.
    CancelledAgain,
}

/// Steps 3–6: load the run, gate on its version, then on terminal states; and the run guard,
/// the facts about the run that the rest of the decision uses.
fn run_gate<'s>(d: &mut Decider, s: &'s Snapshot) -> Result<RunGate<'s>, WorldError> {
    let req = d.req;
    let run_id = d.run_id;
    let run = if loads_run(req.event_type) {
        s.run.as_ref()
    } else {
        // An event that does not load the run still never writes a run in the other
        // scheme: a 4.x World must refuse the runs core 5 stamps, 6 and 7 (world-contract-v5
        // §10). Specs 4 and 5 are stamped by no core; there the 4.x contract (§8.91) wants no
        // version error, so the run's own slot rules serve the step event.
        if let Some(r) = &s.run {
            match (Era::of(r.spec_version).rules(), req.line) {
                (Era::V5, Line::V4) if r.spec_version < Some(SPEC_VERSION_FIRST_STAMPED_V5) => {
                    d.era = Era::V5
                }
                (Era::V5 | Era::Future, Line::V4) => {
                    return Err(not_supported(r.spec_version, SPEC_VERSION_V4))
                }
                (Era::Future, Line::V5) => {
                    return Err(not_supported(r.spec_version, SPEC_VERSION_V5))
                }
                (Era::V4, Line::V5) => return Err(other_line(req, r)),
                _ => {}
            }
        }
        d.guards.push(Guard::RunRules(d.era));
        None
    };
    if let Some(r) = run {
        match (Era::of(r.spec_version), req.line) {
            (Era::Legacy, _) => return Ok(RunGate::Legacy(r)),
            (Era::V5 | Era::Future, Line::V4) => {
                return Err(not_supported(r.spec_version, SPEC_VERSION_V4))
            }
            (Era::Future, Line::V5) => return Err(not_supported(r.spec_version, SPEC_VERSION_V5)),
            (Era::V4, Line::V5) if !out_of_band(req.event_type) => return Err(other_line(req, r)),
            (era, _) => d.era = era,
        }
        if r.status.is_terminal() {
            let status = r.status.as_str();
            let lazy = matches!(req.kind, Kind::StepStarted { lazy: Some(_) });
            match req.event_type {
                EventType::RunCancelled if r.status == RunStatus::Cancelled => {
                    return Ok(RunGate::CancelledAgain)
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
                EventType::StepStarted if lazy => {
                    return Err(conflict(format!(
                        "Cannot create new entities on run in terminal state \"{status}\""
                    )))
                }
                EventType::AttrSet => {
                    return Err(conflict(format!(
                        "Cannot set attributes on run in terminal state \"{status}\""
                    )))
                }
                _ => {}
            }
        }
    } else if loads_run(req.event_type) && d.v5() && needs_run_v5(req) {
        return Err(WorldError::run_not_found(run_id));
    }
    // The run guard: the facts about the run that the rest of the decision used.
    if loads_run(req.event_type) {
        match run {
            None => d.guards.push(Guard::RunMissing),
            Some(r) if r.status.is_terminal() || req.event_type == EventType::RunStarted => {
                d.run_guard(exactly(r.status))
            }
            Some(_) => d.run_guard(NON_TERMINAL_RUN),
        }
    }
    Ok(RunGate::Pass(run))
}

/// 5.x: a repeated resume converges on the committed one, before the hook is looked at
/// (a redelivered resume must find its event even after the hook was disposed).
fn resume_gate(d: &mut Decider, s: &Snapshot) -> Result<Option<Decision>, WorldError> {
    let req = d.req;
    let run_id = d.run_id;
    let corr = req.correlation();
    if let (Some(resume), EventType::HookReceived) = (&req.resume, req.event_type) {
        if d.v5() {
            if let Some(committed) = &s.resume {
                let same_digest = match (&committed.digest, &resume.digest) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                };
                if committed.hook_id != corr || !same_digest {
                    return Err(conflict(format!(
                        "Resume \"{}\" of run \"{run_id}\" was already committed for another hook or payload",
                        resume.id
                    )));
                }
                return Ok(Some(Decision::Unchanged(Reply {
                    committed: Some(committed.slot),
                    ..Reply::default()
                })));
            }
            d.guards.push(Guard::ResumeNotCommitted);
        }
    }
    Ok(None)
}

/// Step 7: the step gate of a step event.
fn step_gate(d: &mut Decider, s: &Snapshot, run: Option<&RunFacts>) -> Result<(), WorldError> {
    let req = d.req;
    let now = d.ctx.now;
    let corr = req.correlation();
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
        let status = run.map(|r| r.status.as_str()).unwrap_or_default();
        // 5.x: nothing starts on a finished run, even a running step (§4.7).
        if run_terminal && d.v5() && req.event_type == EventType::StepStarted {
            return Err(expired(format!(
                "Cannot start step on run in terminal state \"{status}\""
            )));
        }
        if run_terminal && step.status != StepStatus::Running {
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
    Ok(())
}

/// Step 8: the hook gate of a hook event.
fn hook_gate(d: &mut Decider, s: &Snapshot, run: Option<&RunFacts>) -> Result<(), WorldError> {
    let req = d.req;
    let run_id = d.run_id;
    let corr = req.correlation();
    if matches!(
        req.event_type,
        EventType::HookReceived | EventType::HookDisposed
    ) {
        if s.hook.is_none() {
            return Err(WorldError::hook_not_found(corr));
        }
        if d.v5() && req.event_type == EventType::HookReceived {
            if let Some(r) = run.filter(|r| r.status.is_terminal()) {
                return Err(expired(format!(
                    "Workflow run \"{run_id}\" is already in a terminal state \"{}\"",
                    r.status.as_str()
                )));
            }
        }
        d.guards.push(Guard::HookPresent);
    }
    Ok(())
}

/// The event's own writes, once every gate passed.
fn writes(mut d: Decider, s: &Snapshot, run: Option<&RunFacts>) -> Result<Decision, WorldError> {
    let req = d.req;
    let now = d.ctx.now;
    let corr = req.correlation();
    let step_reply = Reply {
        step: true,
        ..Reply::default()
    };
    match &req.kind {
        Kind::RunCreated(_) => run_created(d, s),
        Kind::RunStarted { resilient, .. } => run_started(d, run, resilient.as_ref()),
        Kind::RunCompleted { output } => {
            terminate(d, run, RunStatus::Completed, output.clone(), None, None)
        }
        Kind::RunFailed { error, error_code } => terminate(
            d,
            run,
            RunStatus::Failed,
            None,
            Some(error.clone()),
            error_code.clone(),
        ),
        Kind::RunCancelled => terminate(d, run, RunStatus::Cancelled, None, None, None),
        Kind::StepCreated { step_name, input } => {
            if s.step.is_some() {
                return Err(conflict(format!("Step \"{corr}\" already exists")));
            }
            d.guards.push(Guard::StepMissing);
            let step = new_step(&d, step_name, input.clone(), StepStatus::Pending);
            d.commit_requested(vec![Write::InsertStep(step)], step_reply)
        }
        Kind::StepStarted { .. } => d.commit_requested(vec![Write::StartStep { now }], step_reply),
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
            is_system,
            token_retention_until,
        } => hook_created(
            d,
            s,
            NewHook {
                token,
                metadata: metadata.clone(),
                is_webhook: *is_webhook,
                is_system: *is_system,
                token_retention_until: *token_retention_until,
            },
        ),
        Kind::HookReceived => d.commit_requested(vec![], Reply::default()),
        Kind::HookDisposed => d.commit_requested(vec![Write::DeleteHook], Reply::default()),
        Kind::WaitCreated { resume_at } => wait_created(d, s, *resume_at),
        Kind::WaitCompleted => wait_completed(d, s),
        Kind::AttrSet {
            changes,
            allow_reserved,
            claims_correlation,
        } => attr_set(d, run, changes, *allow_reserved, *claims_correlation, s),
    }
}

fn run_started(
    d: Decider,
    run: Option<&RunFacts>,
    resilient: Option<&NewRun>,
) -> Result<Decision, WorldError> {
    match run {
        None => match resilient {
            Some(start) => resilient_start(d, start),
            None => Err(WorldError::run_not_found(d.run_id)),
        },
        Some(r) if r.status == RunStatus::Running => Ok(Decision::Unchanged(Reply {
            run: true,
            log: d.v5(),
            ..Reply::default()
        })),
        Some(_) => {
            let now = d.ctx.now;
            d.commit_requested(
                vec![Write::StartRun { now }],
                Reply {
                    run: true,
                    log: true,
                    ..Reply::default()
                },
            )
        }
    }
}

fn wait_created(mut d: Decider, s: &Snapshot, resume_at: Millis) -> Result<Decision, WorldError> {
    let (req, run_id, now) = (d.req, d.run_id, d.ctx.now);
    let corr = req.correlation();
    let wait_id = wait_id(run_id, corr);
    if s.wait.is_some() {
        return Err(conflict(format!("Wait \"{wait_id}\" already exists")));
    }
    d.guards.push(Guard::WaitMissing);
    let wait = Wait {
        wait_id,
        run_id: run_id.to_owned(),
        status: WaitStatus::Waiting,
        resume_at: Some(Timestamp(resume_at)),
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

fn wait_completed(mut d: Decider, s: &Snapshot) -> Result<Decision, WorldError> {
    let (run_id, now) = (d.run_id, d.ctx.now);
    let corr = d.req.correlation();
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

fn run_created(mut d: Decider, s: &Snapshot) -> Result<Decision, WorldError> {
    let Kind::RunCreated(new) = &d.req.kind else {
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
    let run = new_run(&d, new, RunStatus::Pending);
    d.commit_requested(
        vec![Write::InsertRun(run)],
        Reply {
            run: true,
            ..Reply::default()
        },
    )
}

fn new_run(d: &Decider, new: &NewRun, status: RunStatus) -> Run {
    let now = d.ctx.now;
    Run {
        run_id: d.run_id.to_owned(),
        status,
        deployment_id: new.deployment_id.clone(),
        workflow_name: new.workflow_name.clone(),
        spec_version: Some(d.req.spec_version),
        execution_context: new.execution_context.clone(),
        input: new.input.clone(),
        output: None,
        error: None,
        error_code: None,
        attributes: d.v5().then(|| new.attributes.clone()),
        encryption_public_key: new.encryption_public_key.clone(),
        expired_at: None,
        started_at: (status == RunStatus::Running).then_some(Timestamp(now)),
        completed_at: None,
        created_at: Timestamp(now),
        updated_at: Timestamp(now),
    }
}

fn new_step(d: &Decider, step_name: &str, input: Option<Payload>, status: StepStatus) -> Step {
    let now = Timestamp(d.ctx.now);
    let running = status == StepStatus::Running;
    Step {
        run_id: d.run_id.to_owned(),
        step_id: d.req.correlation().to_owned(),
        step_name: step_name.to_owned(),
        status,
        input,
        output: None,
        error: None,
        attempt: i64::from(running),
        started_at: running.then_some(now),
        completed_at: None,
        retry_after: None,
        created_at: now,
        updated_at: now,
        spec_version: Some(d.req.spec_version),
    }
}

/// `run_started` on a missing run with the run's data: create it, log a synthetic
/// `run_created` before the `run_started`, and start it, in one commit (§3.1 step 4;
/// world-contract-v5 §4.3).
fn resilient_start(d: Decider, start: &NewRun) -> Result<Decision, WorldError> {
    let created_data = if d.v5() {
        // 5.x copies what was sent, attributes and sealing key included.
        d.req.kind_data().cloned()
    } else {
        let mut data = vec![
            text("deploymentId", start.deployment_id.clone()),
            text("workflowName", start.workflow_name.clone()),
            entry("input", start.input.clone().map_or(Value::Null, |p| p.0)),
        ];
        if let Some(ctx) = &start.execution_context {
            data.push(entry("executionContext", ctx.0.clone()));
        }
        Some(Payload(Value::Map(data)))
    };
    let sv = d.req.spec_version;
    let created = d.event(0, EventType::RunCreated, created_data, sv);
    let started = d.event(1, EventType::RunStarted, None, sv);
    let run = new_run(&d, start, RunStatus::Running);
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

/// 5.x `step_started` with `stepName` and `input`: creates the step, logs a synthetic
/// `step_created` before the `step_started`, and starts it, in one commit; a second one is
/// an `EntityConflictError`, which is what keeps a step body from running twice.
fn lazy_start(mut d: Decider, s: &Snapshot, lazy: &LazyStart) -> Result<Decision, WorldError> {
    let corr = d.req.correlation().to_owned();
    if s.step.is_some() {
        return Err(conflict(format!("Step \"{corr}\" already created")));
    }
    d.guards.push(Guard::StepMissing);
    let created_data = Payload(Value::Map(vec![
        text("stepName", lazy.step_name.clone()),
        entry("input", lazy.input.0.clone()),
    ]));
    let sv = d.req.spec_version;
    let created = d.event(0, EventType::StepCreated, Some(created_data), sv);
    let started = d.requested();
    let step = new_step(
        &d,
        &lazy.step_name,
        Some(lazy.input.clone()),
        StepStatus::Running,
    );
    d.commit(
        vec![created, started],
        vec![Write::InsertStep(step)],
        Reply {
            step: true,
            step_created: true,
            ..Reply::default()
        },
    )
}

fn terminate(
    mut d: Decider,
    run: Option<&RunFacts>,
    status: RunStatus,
    output: Option<Payload>,
    error: Option<ErrorValue>,
    error_code: Option<String>,
) -> Result<Decision, WorldError> {
    let Some(r) = run else {
        return Err(WorldError::run_not_found(d.run_id));
    };
    let purge = d.v5() && r.purge_on_finish;
    if d.v5() {
        d.guards.push(Guard::PurgeOnFinish(purge));
    }
    let now = d.ctx.now;
    d.commit_requested(
        vec![
            Write::FinishRun {
                status,
                output,
                error,
                error_code,
                purge,
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

/// A hook as `hook_created` asks for it.
struct NewHook<'a> {
    token: &'a str,
    metadata: Option<Payload>,
    is_webhook: Option<bool>,
    is_system: Option<bool>,
    token_retention_until: Option<Millis>,
}

fn hook_created(mut d: Decider, s: &Snapshot, new: NewHook) -> Result<Decision, WorldError> {
    let corr = d.req.correlation().to_owned();
    let token = new.token;
    if let (true, Some(slot)) = (d.v5(), s.hook_conflict_slot) {
        // A retry of a create whose outcome was a conflict gets that conflict again
        // (world-contract-v5 §4.9), and the hook keeps one create outcome in its log.
        return Ok(Decision::Unchanged(Reply {
            committed: Some(slot),
            ..Reply::default()
        }));
    }
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
    let v5 = d.v5();
    let hook = Hook {
        hook_id: corr,
        run_id: d.run_id.to_owned(),
        token: token.to_owned(),
        metadata: new.metadata,
        // 5.x stores `false` for an absent flag, as world-local does (§4.9).
        is_webhook: if v5 {
            Some(new.is_webhook.unwrap_or(false))
        } else {
            new.is_webhook
        },
        owner_id: HOOK_OWNER_ID.to_owned(),
        project_id: HOOK_PROJECT_ID.to_owned(),
        environment: HOOK_ENVIRONMENT.to_owned(),
        created_at: Timestamp(d.ctx.now),
        spec_version: Some(d.req.spec_version),
        is_system: v5.then(|| new.is_system.unwrap_or(false)),
        token_retention_until: new.token_retention_until.map(Timestamp),
    };
    let mut writes = vec![Write::InsertHook(hook)];
    if v5 {
        // A retained hook whose retention ran out is no holder (the guard above read it
        // so); its row goes first, or the token's unique index would refuse the insert.
        writes.insert(0, Write::ReleaseExpiredToken);
    }
    d.commit_requested(
        writes,
        Reply {
            hook: true,
            ..Reply::default()
        },
    )
}

/// 5.x `attr_set` (world-contract-v5 §4.5): checked against the run's attributes as they
/// are now; a workflow writer's correlation id is claimed after the check.
fn attr_set(
    mut d: Decider,
    run: Option<&RunFacts>,
    changes: &[attributes::Change],
    allow_reserved: bool,
    claims_correlation: bool,
    s: &Snapshot,
) -> Result<Decision, WorldError> {
    let Some(r) = run else {
        return Err(WorldError::run_not_found(d.run_id));
    };
    attributes::validate(changes, &r.attributes, allow_reserved)?;
    if claims_correlation {
        if s.attr_set_logged {
            return Err(conflict(format!(
                "Attribute event \"{}\" already exists",
                d.req.correlation()
            )));
        }
        d.guards.push(Guard::AttrSetNotLogged);
    }
    d.guards.push(Guard::Attributes(r.attributes.clone()));
    let next = r.attributes.apply(changes);
    d.commit_requested(
        vec![Write::SetAttributes(next)],
        Reply {
            run: true,
            ..Reply::default()
        },
    )
}

/// Runs whose stored spec version is absent or ≤ 1 (contract §3.3).
fn legacy(mut d: Decider, r: &RunFacts) -> Result<Decision, WorldError> {
    d.era = Era::Legacy;
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
                    Write::FinishRun { status: RunStatus::Cancelled, output: None, error: None, error_code: None, purge: false, now },
                    Write::DeleteRunHooks,
                    Write::DeleteRunWaits,
                ],
                Reply { run: true, ..Reply::default() },
            )
        }
        EventType::WaitCompleted | EventType::HookReceived => {
            let event = d.event(0, d.req.event_type, d.req.event_data.clone(), SPEC_VERSION_V4);
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
