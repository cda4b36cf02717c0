//! The entities of contract §2.3–§2.7, as the store keeps them.

use super::{Payload, Timestamp, Value};
use serde::Serialize;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        #[cfg_attr(feature = "js", derive(tsify::Tsify))]
        pub enum $name { $(#[serde(rename = $wire)] $variant),+ }

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
    /// The event types of contract §2.7, and `attr_set` of spec ≥ 4 runs (5.x,
    /// world-contract-v5 §2.5). `HookConflict` is written only by the World.
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
        AttrSet = "attr_set",
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
    /// The `eventData` fields that `resolveData: 'none'` removes (`EVENT_DATA_REF_FIELDS`, §2.10;
    /// 5.x adds `run_started` and `step_started` `input`, which this World never stores).
    pub fn ref_fields(self) -> &'static [&'static str] {
        match self {
            EventType::RunCreated
            | EventType::StepCreated
            | EventType::RunStarted
            | EventType::StepStarted => &["input"],
            EventType::RunCompleted => &["output"],
            EventType::RunFailed | EventType::StepFailed | EventType::StepRetrying => &["error"],
            EventType::StepCompleted => &["result"],
            EventType::HookCreated => &["metadata"],
            EventType::HookReceived => &["payload"],
            EventType::RunCancelled
            | EventType::HookDisposed
            | EventType::HookConflict
            | EventType::WaitCreated
            | EventType::WaitCompleted
            | EventType::AttrSet => &[],
        }
    }
}

/// `{message, stack?, code?}` (contract §2.11).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
pub struct StructuredError {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// A run's or step's error: 4.x runs keep the `StructuredError` derived from the event
/// (contract §2.11); spec ≥ 4 runs keep the serialized bytes exactly as sent
/// (world-contract-v5 §2.7).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[serde(untagged)]
pub enum ErrorValue {
    Structured(StructuredError),
    Serialized(Payload),
}

/// Run attributes (world-contract-v5 §4.5): string keys to string values, in the order
/// they were first set.
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[cfg_attr(feature = "js", tsify(type = "Record<string, string>"))]
pub struct Attributes(pub Vec<(String, String)>);

impl Serialize for Attributes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Attributes {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `applyAttributeChanges`: a value sets the key, `None` removes it.
    pub fn apply(&self, changes: &[(String, Option<String>)]) -> Attributes {
        let mut out = self.0.clone();
        for (key, value) in changes {
            match value {
                Some(v) => match out.iter_mut().find(|(k, _)| k == key) {
                    Some(entry) => entry.1 = v.clone(),
                    None => out.push((key.clone(), v.clone())),
                },
                None => out.retain(|(k, _)| k != key),
            }
        }
        Attributes(out)
    }

    pub fn to_value(&self) -> Value {
        Value::Map(
            self.0
                .iter()
                .map(|(k, v)| (Value::Text(k.clone()), Value::Text(v.clone())))
                .collect(),
        )
    }

    /// From a stored or sent map of strings; other entries are ignored.
    pub fn from_value(v: &Value) -> Attributes {
        match v {
            Value::Map(entries) => Attributes(
                entries
                    .iter()
                    .filter_map(|(k, v)| match (k, v) {
                        (Value::Text(k), Value::Text(v)) => Some((k.clone(), v.clone())),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => Attributes::default(),
        }
    }
}

// Absent optional fields are left out of the JS objects (contract §0.3), hence the
// `skip_serializing_if` on every `Option`.

/// `WorkflowRun` (contract §2.3).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub run_id: String,
    pub status: RunStatus,
    pub deployment_id: String,
    pub workflow_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec_version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "js", tsify(type = "Record<string, unknown>"))]
    pub execution_context: Option<Payload>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Payload>,
    /// `Some` exactly when the run completed, holding its output if it has one: the
    /// schema wants the key on a completed run even when its value is `undefined`, and
    /// on no other (contract §2.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "js", tsify(type = "unknown"))]
    pub output: Option<Option<Payload>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "js", tsify(type = "StructuredError | Uint8Array"))]
    pub error: Option<ErrorValue>,
    /// Spec ≥ 4 runs: `RUN_ERROR_CODES` of a failed run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Spec ≥ 4 runs (always present there, `{}` when none were set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    /// Spec ≥ 4 runs: the base64 X25519 public key core sealed payloads to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_public_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// `Step` (contract §2.4).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub run_id: String,
    pub step_id: String,
    pub step_name: String,
    pub status: StepStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Payload>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Payload>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "js", tsify(type = "StructuredError | Uint8Array"))]
    pub error: Option<ErrorValue>,
    pub attempt: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec_version: Option<i64>,
}

/// `ownerId`, `projectId` and `environment` are required strings with no meaning on
/// Cloudflare (contract §2.5); these are the values this World stores.
pub const HOOK_OWNER_ID: &str = "cloudflare-owner";
pub const HOOK_PROJECT_ID: &str = "cloudflare-project";
pub const HOOK_ENVIRONMENT: &str = "cloudflare";

/// `Hook` (contract §2.5).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Hook {
    pub hook_id: String,
    pub run_id: String,
    pub token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Payload>,
    /// Absent reads as `true` in both references (contract §2.5), so it is always sent.
    #[serde(serialize_with = "is_webhook")]
    #[cfg_attr(feature = "js", tsify(type = "boolean"))]
    pub is_webhook: Option<bool>,
    pub owner_id: String,
    pub project_id: String,
    pub environment: String,
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec_version: Option<i64>,
    /// Spec ≥ 4 hooks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_system: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_retention_until: Option<Timestamp>,
}

fn is_webhook<S: serde::Serializer>(v: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(v.unwrap_or(true))
}

/// `Wait` (contract §2.6).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Wait {
    pub wait_id: String,
    pub run_id: String,
    pub status: WaitStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec_version: Option<i64>,
}

/// `Event` (contract §2.7).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub run_id: String,
    pub event_id: String,
    pub event_type: EventType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_data: Option<Payload>,
    pub created_at: Timestamp,
    pub spec_version: i64,
    /// `hook_received` of spec ≥ 4 runs: the resume it was written for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_id: Option<String>,
}

impl Event {
    /// `stripEventDataRefs` (contract §2.10): the event as `resolveData: 'none'` returns it.
    pub fn without_refs(mut self) -> Event {
        let fields = self.event_type.ref_fields();
        if fields.is_empty() {
            return self;
        }
        self.event_data = match self.event_data.take() {
            Some(Payload(data @ Value::Map(_))) => match super::value::without(&data, fields) {
                Value::Map(entries) if entries.is_empty() => None,
                rest => Some(Payload(rest)),
            },
            _ => None,
        };
        self
    }
}

impl Event {
    /// The event as a `$retention: '0'` purge leaves it (world-contract-v5 §4.4): its ref
    /// fields gone, its `eventData` kept, even empty.
    pub fn purged(mut self) -> Event {
        let fields = self.event_type.ref_fields();
        if let Some(Payload(Value::Map(entries))) = &mut self.event_data {
            entries.retain(|(k, _)| !matches!(k, Value::Text(t) if fields.contains(&t.as_str())));
        }
        self
    }

    /// The event as a 5.x log read returns it: every ref field of its type is a key of its
    /// `eventData`, `undefined` when the event has none (a purged one, or one created
    /// without it), as the 5.x reference reads its log. Writes answer with the event as sent.
    pub fn with_ref_keys(mut self) -> Event {
        let fields = self.event_type.ref_fields();
        let slots = self.spec_version >= super::SPEC_VERSION_FIRST_V5;
        if let (true, Some(Payload(Value::Map(entries)))) = (slots, &mut self.event_data) {
            for field in fields {
                let present = entries
                    .iter()
                    .any(|(k, _)| matches!(k, Value::Text(t) if t == field));
                if !present {
                    entries.push((Value::Text((*field).to_owned()), super::value::undefined()));
                }
            }
        }
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
            event_data: data.map(Payload),
            spec_version: 3,
            created_at: Timestamp(0),
            resume_id: None,
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
            Some(Payload(Value::Map(vec![text("stepName", "s")])))
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
        assert_eq!(EventType::ALL.len(), 17);
    }
}
