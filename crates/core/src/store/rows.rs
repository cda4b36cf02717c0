//! D1 rows ⇄ entities. Column names are the entity field names, so nothing is renamed.

use crate::engine::{HookFacts, ResumeFacts, RunFacts, Snapshot, StepFacts};
use crate::model::ids::slot_event_id;
use crate::model::value::{self, Value};
use crate::model::{
    Attributes, ErrorValue, Event, EventType, Hook, Line, Run, RunStatus, Step, StepStatus,
    StructuredError, Wait, WaitStatus, WorldError,
};
pub use crate::sql::Row;

/// The `error` column: a 4.x StructuredError's CBOR map (contract §2.11), or a spec ≥ 4
/// run's serialized error as sent.
fn error(r: &Row, column: &str, line: Line) -> Result<Option<ErrorValue>, WorldError> {
    let Some(v) = r.value(column)? else {
        return Ok(None);
    };
    if line == Line::V5 {
        return Ok(Some(ErrorValue::Serialized(crate::model::Payload(v))));
    }
    let text = |k: &str| match value::get(&v, k) {
        Some(Value::Text(t)) => Some(t.clone()),
        _ => None,
    };
    Ok(Some(ErrorValue::Structured(StructuredError {
        message: text("message").unwrap_or_default(),
        stack: text("stack"),
        code: text("code"),
    })))
}

fn attributes(r: &Row, column: &str) -> Result<Attributes, WorldError> {
    Ok(r.value(column)?
        .map(|v| Attributes::from_value(&v))
        .unwrap_or_default())
}

pub fn run(r: &Row) -> Result<Run, WorldError> {
    let status = r.parsed("status", RunStatus::parse)?;
    let spec_version = r.opt_int("spec_version")?;
    let line = Line::of_run(spec_version);
    let v5 = line == Line::V5;
    Ok(Run {
        run_id: r.text("run_id")?,
        status,
        deployment_id: r.text("deployment_id")?,
        workflow_name: r.text("workflow_name")?,
        spec_version,
        execution_context: r.payload("execution_context")?,
        input: r.payload("input")?,
        output: (status == RunStatus::Completed)
            .then(|| r.payload("output"))
            .transpose()?,
        error: error(r, "error", line)?,
        error_code: if v5 { r.opt_text("error_code")? } else { None },
        // 5.x runs always have attributes (`{}` when none were set).
        attributes: if v5 {
            Some(attributes(r, "attributes")?)
        } else {
            None
        },
        encryption_public_key: r.opt_text("encryption_public_key")?,
        expired_at: r.opt_time("expired_at")?,
        started_at: r.opt_time("started_at")?,
        completed_at: r.opt_time("completed_at")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

pub fn step(r: &Row) -> Result<Step, WorldError> {
    let spec_version = r.opt_int("spec_version")?;
    Ok(Step {
        run_id: r.text("run_id")?,
        step_id: r.text("step_id")?,
        step_name: r.text("step_name")?,
        status: r.parsed("status", StepStatus::parse)?,
        input: r.payload("input")?,
        output: r.payload("output")?,
        error: error(r, "error", Line::of_run(spec_version))?,
        attempt: r.int("attempt")?,
        started_at: r.opt_time("started_at")?,
        completed_at: r.opt_time("completed_at")?,
        retry_after: r.opt_time("retry_after")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
        spec_version,
    })
}

pub fn hook(r: &Row) -> Result<Hook, WorldError> {
    Ok(Hook {
        hook_id: r.text("hook_id")?,
        run_id: r.text("run_id")?,
        token: r.text("token")?,
        metadata: r.payload("metadata")?,
        is_webhook: r.opt_int("is_webhook")?.map(|i| i != 0),
        owner_id: r.text("owner_id")?,
        project_id: r.text("project_id")?,
        environment: r.text("environment")?,
        created_at: r.time("created_at")?,
        spec_version: r.opt_int("spec_version")?,
        is_system: r.opt_int("is_system")?.map(|i| i != 0),
        token_retention_until: r.opt_time("token_retention_until")?,
    })
}

pub fn wait(r: &Row) -> Result<Wait, WorldError> {
    Ok(Wait {
        wait_id: r.text("wait_id")?,
        run_id: r.text("run_id")?,
        status: r.parsed("status", WaitStatus::parse)?,
        resume_at: r.opt_time("resume_at")?,
        completed_at: r.opt_time("completed_at")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
        spec_version: r.opt_int("spec_version")?,
    })
}

/// An event and its position in its log: `seq` of the `events` table (4.x runs) or the
/// slot of the `slots` table (spec ≥ 4 runs), whose id it is.
pub fn event(r: &Row) -> Result<(Event, i64), WorldError> {
    let slot = r.opt_int("slot")?;
    let (event_id, position) = match slot {
        Some(slot) => (slot_event_id(slot), slot),
        None => (r.text("event_id")?, r.int("seq")?),
    };
    Ok((
        Event {
            event_id,
            run_id: r.text("run_id")?,
            event_type: r.parsed("event_type", EventType::parse)?,
            correlation_id: r.opt_text("correlation_id")?,
            event_data: r.payload("event_data")?,
            spec_version: r.int("spec_version")?,
            created_at: r.time("created_at")?,
            resume_id: r.opt_text("resume_id")?,
        },
        position,
    ))
}

/// The row of `sql::snapshot`.
pub fn snapshot(r: &Row) -> Result<Snapshot, WorldError> {
    let run = match r.opt_text("run_status")? {
        Some(_) => Some(RunFacts {
            status: r.parsed("run_status", RunStatus::parse)?,
            spec_version: r.opt_int("run_spec_version")?,
            attributes: attributes(r, "run_attributes")?,
            purge_on_finish: r.opt_int("run_purge_on_finish")?.unwrap_or(0) != 0,
        }),
        None => None,
    };
    let step = match r.opt_text("step_status")? {
        Some(_) => Some(StepFacts {
            status: r.parsed("step_status", StepStatus::parse)?,
            retry_after: r.opt_int("step_retry_after")?,
        }),
        None => None,
    };
    let hook_by =
        |run_col: &str, other_col: &str, is_token: bool| -> Result<Option<HookFacts>, WorldError> {
            Ok(match (r.opt_text(run_col)?, r.opt_text(other_col)?) {
                (Some(run_id), Some(other)) => Some(if is_token {
                    HookFacts {
                        run_id,
                        hook_id: other,
                        token: String::new(),
                    }
                } else {
                    HookFacts {
                        run_id,
                        hook_id: String::new(),
                        token: other,
                    }
                }),
                _ => None,
            })
        };
    Ok(Snapshot {
        run,
        step,
        hook: hook_by("hook_run_id", "hook_token", false)?,
        token_holder: hook_by("holder_run_id", "holder_hook_id", true)?,
        wait: match r.opt_text("wait_status")? {
            Some(_) => Some(r.parsed("wait_status", WaitStatus::parse)?),
            None => None,
        },
        hook_create_logged: r.int("hook_create_logged")? != 0,
        attr_set_logged: r.opt_int("attr_set_logged")?.unwrap_or(0) != 0,
        resume: match r.opt_int("resume_slot")? {
            Some(slot) => Some(ResumeFacts {
                slot,
                hook_id: r.opt_text("resume_hook_id")?.unwrap_or_default(),
                digest: r.opt_text("resume_digest")?,
            }),
            None => None,
        },
        hook_conflict_slot: r.opt_int("hook_conflict_slot")?,
    })
}
