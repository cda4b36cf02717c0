//! The entities of contract §2.3–§2.7, as the store keeps them.

use super::{Millis, Value};

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            pub fn parse(wire: &str) -> Option<Self> {
                match wire { $($wire => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

wire_enum!(RunStatus {
    Pending = "pending",
    Running = "running",
    Completed = "completed",
    Failed = "failed",
    Cancelled = "cancelled",
});

wire_enum!(StepStatus {
    Pending = "pending",
    Running = "running",
    Completed = "completed",
    Failed = "failed",
    Cancelled = "cancelled",
});

wire_enum!(WaitStatus {
    Waiting = "waiting",
    Completed = "completed",
});

wire_enum!(
    /// The 16 event types of contract §2.7. `HookConflict` is written only by the World.
    EventType {
        RunCreated = "run_created",
        RunStarted = "run_started",
        RunCompleted = "run_completed",
        RunFailed = "run_failed",
        RunCancelled = "run_cancelled",
        StepCreated = "step_created",
        StepStarted = "step_started",
        StepCompleted = "step_completed",
        StepFailed = "step_failed",
        StepRetrying = "step_retrying",
        HookCreated = "hook_created",
        HookReceived = "hook_received",
        HookDisposed = "hook_disposed",
        HookConflict = "hook_conflict",
        WaitCreated = "wait_created",
        WaitCompleted = "wait_completed",
    }
);

impl RunStatus {
    pub fn is_terminal(self) -> bool {
        match self {
            RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled => true,
            RunStatus::Pending | RunStatus::Running => false,
        }
    }
}

impl StepStatus {
    pub fn is_terminal(self) -> bool {
        match self {
            StepStatus::Completed | StepStatus::Failed | StepStatus::Cancelled => true,
            StepStatus::Pending | StepStatus::Running => false,
        }
    }
}

impl EventType {
    /// The `eventData` fields that `resolveData: 'none'` removes (`EVENT_DATA_REF_FIELDS`, §2.10).
    pub fn ref_fields(self) -> &'static [&'static str] {
        match self {
            EventType::RunCreated | EventType::StepCreated => &["input"],
            EventType::RunCompleted => &["output"],
            EventType::RunFailed | EventType::StepFailed | EventType::StepRetrying => &["error"],
            EventType::StepCompleted => &["result"],
            EventType::HookCreated => &["metadata"],
            EventType::HookReceived => &["payload"],
            EventType::RunStarted
            | EventType::RunCancelled
            | EventType::StepStarted
            | EventType::HookDisposed
            | EventType::HookConflict
            | EventType::WaitCreated
            | EventType::WaitCompleted => &[],
        }
    }
}

/// `{message, stack?, code?}` (contract §2.11).
#[derive(Clone, Debug, PartialEq)]
pub struct StructuredError {
    pub message: String,
    pub stack: Option<String>,
    pub code: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub run_id: String,
    pub status: RunStatus,
    pub deployment_id: String,
    pub workflow_name: String,
    pub spec_version: Option<i64>,
    pub execution_context: Option<Value>,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub error: Option<StructuredError>,
    pub expired_at: Option<Millis>,
    pub started_at: Option<Millis>,
    pub completed_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub run_id: String,
    pub step_id: String,
    pub step_name: String,
    pub status: StepStatus,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub error: Option<StructuredError>,
    pub attempt: i64,
    pub started_at: Option<Millis>,
    pub completed_at: Option<Millis>,
    pub retry_after: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub spec_version: Option<i64>,
}

/// `ownerId`, `projectId` and `environment` are required strings with no meaning on
/// Cloudflare (contract §2.5); these are the values this World stores.
pub const HOOK_OWNER_ID: &str = "cloudflare-owner";
pub const HOOK_PROJECT_ID: &str = "cloudflare-project";
pub const HOOK_ENVIRONMENT: &str = "cloudflare";

#[derive(Clone, Debug, PartialEq)]
pub struct Hook {
    pub hook_id: String,
    pub run_id: String,
    pub token: String,
    pub metadata: Option<Value>,
    pub is_webhook: Option<bool>,
    pub owner_id: String,
    pub project_id: String,
    pub environment: String,
    pub created_at: Millis,
    pub spec_version: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Wait {
    pub wait_id: String,
    pub run_id: String,
    pub status: WaitStatus,
    pub resume_at: Option<Millis>,
    pub completed_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub spec_version: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub event_id: String,
    pub run_id: String,
    pub event_type: EventType,
    pub correlation_id: Option<String>,
    pub event_data: Option<Value>,
    pub spec_version: i64,
    pub created_at: Millis,
}

impl Event {
    /// `stripEventDataRefs` (contract §2.10): the event as `resolveData: 'none'` returns it.
    pub fn without_refs(mut self) -> Event {
        let fields = self.event_type.ref_fields();
        if fields.is_empty() {
            return self;
        }
        self.event_data = match self.event_data.take() {
            Some(data @ Value::Map(_)) => match super::value::without(&data, fields) {
                Value::Map(entries) if entries.is_empty() => None,
                rest => Some(rest),
            },
            _ => None,
        };
        self
    }
}

/// The wait entity's id is composite (contract §2.2).
pub fn wait_id(run_id: &str, correlation_id: &str) -> String {
    format!("{run_id}-{correlation_id}")
}

/// Spec versions at or below 1 (or absent) are legacy (`isLegacySpecVersion`, §1.1).
pub fn is_legacy_spec_version(spec_version: Option<i64>) -> bool {
    spec_version.is_none_or(|v| v <= 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::value::{entry, text};

    fn event(event_type: EventType, data: Option<Value>) -> Event {
        Event {
            event_id: "wevt_x".into(),
            run_id: "wrun_x".into(),
            event_type,
            correlation_id: None,
            event_data: data,
            spec_version: 3,
            created_at: 0,
        }
    }

    #[test]
    fn strip_refs_removes_only_ref_fields_and_drops_empty_data() {
        let completed = event(
            EventType::StepCompleted,
            Some(Value::Map(vec![
                text("stepName", "s"),
                entry("result", Value::Bytes(vec![0])),
            ])),
        )
        .without_refs();
        assert_eq!(
            completed.event_data,
            Some(Value::Map(vec![text("stepName", "s")]))
        );

        let run_completed = event(
            EventType::RunCompleted,
            Some(Value::Map(vec![entry("output", Value::Bytes(vec![1]))])),
        )
        .without_refs();
        assert_eq!(run_completed.event_data, None);

        let wait = event(
            EventType::WaitCreated,
            Some(Value::Map(vec![text("x", "y")])),
        );
        assert_eq!(wait.clone().without_refs(), wait);

        let primitive =
            event(EventType::RunFailed, Some(Value::Text("boom".into()))).without_refs();
        assert_eq!(primitive.event_data, None);
    }

    #[test]
    fn wire_names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
        }
        assert_eq!(EventType::ALL.len(), 16);
    }
}
