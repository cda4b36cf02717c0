//! An `events.create` request, checked and typed (contract §2.7). Bad input is refused
//! here, before anything is read or written, with a message naming the field.

use crate::model::params::describe;
use crate::model::value::{self, Value};
use crate::model::{EventType, Millis, Payload, StructuredError, WorldError, SPEC_VERSION_CURRENT};

/// D1 refuses rows over 2 MB; the event row carries the whole `eventData`, and every
/// entity row a part of it, so bounding the encoded `eventData` bounds every row.
/// The margin leaves room for the row's other columns.
pub const MAX_EVENT_DATA_BYTES: usize = 2_000_000 - 16 * 1024;

/// What the rules need from `eventData`, by event type.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    RunCreated {
        deployment_id: String,
        workflow_name: String,
        input: Option<Payload>,
        execution_context: Option<Payload>,
    },
    RunStarted {
        resilient: Option<ResilientStart>,
    },
    RunCompleted {
        output: Option<Payload>,
    },
    RunFailed {
        error: StructuredError,
    },
    RunCancelled,
    StepCreated {
        step_name: String,
        input: Option<Payload>,
    },
    StepStarted,
    StepCompleted {
        result: Option<Payload>,
    },
    StepFailed {
        error: StructuredError,
    },
    StepRetrying {
        error: StructuredError,
        retry_after: Option<Millis>,
    },
    HookCreated {
        token: String,
        metadata: Option<Payload>,
        is_webhook: Option<bool>,
    },
    HookReceived,
    HookDisposed,
    WaitCreated {
        resume_at: Millis,
    },
    WaitCompleted,
}

/// An `events.create` request as JS sends it (contract §2.7); [`EventRequest::parse`]
/// checks it.
#[derive(tsify::Tsify)]
#[serde(rename_all = "camelCase")]
pub struct EventInput {
    pub event_type: EventType,
    #[tsify(optional)]
    pub correlation_id: String,
    #[tsify(optional)]
    pub spec_version: i64,
    #[tsify(optional)]
    pub event_data: Payload,
}

/// `events.create`'s third argument.
#[derive(tsify::Tsify)]
#[serde(rename_all = "camelCase", default)]
pub struct CreateEventParamsInput {
    pub resolve_data: crate::model::params::ResolveData,
}

/// `run_started` data that lets it create a run that `run_created` has not (yet)
/// created (contract §3.1 step 4).
#[derive(Clone, Debug, PartialEq)]
pub struct ResilientStart {
    pub deployment_id: String,
    pub workflow_name: String,
    pub input: Payload,
    pub execution_context: Option<Payload>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EventRequest {
    pub event_type: EventType,
    pub correlation_id: Option<String>,
    /// `data.specVersion ?? 3` (contract §3.1 step 2).
    pub spec_version: i64,
    /// `eventData` as it will be stored: as sent, with dates made dates.
    pub event_data: Option<Payload>,
    pub kind: Kind,
}

const ALLOWED_TYPES: &str = "run_created, run_started, run_completed, run_failed, run_cancelled, step_created, step_started, step_completed, step_failed, step_retrying, hook_created, hook_received, hook_disposed, wait_created, wait_completed";

fn invalid(message: String) -> WorldError {
    WorldError::invalid("INVALID_EVENT", message)
}

struct Fields<'a> {
    event_type: EventType,
    data: Option<&'a Value>,
}

impl Fields<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.data
            .and_then(|d| value::get(d, key))
            .filter(|v| !matches!(v, Value::Null))
    }

    fn required_text(&self, key: &str) -> Result<String, WorldError> {
        match self.get(key) {
            Some(Value::Text(t)) if !t.is_empty() => Ok(t.clone()),
            Some(Value::Text(_)) => Err(invalid(format!(
                "Invalid {} event: `eventData.{key}` is empty; a non-empty string is required",
                self.event_type.as_str()
            ))),
            Some(other) => Err(invalid(format!(
                "Invalid {} event: `eventData.{key}` must be a string, got {}",
                self.event_type.as_str(),
                describe(other)
            ))),
            None => Err(invalid(format!(
                "Invalid {} event: `eventData.{key}` is required (a string)",
                self.event_type.as_str()
            ))),
        }
    }

    fn optional_bool(&self, key: &str) -> Result<Option<bool>, WorldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(invalid(format!(
                "Invalid {} event: `eventData.{key}` must be a boolean, got {}",
                self.event_type.as_str(),
                describe(other)
            ))),
        }
    }

    fn opaque(&self, key: &str) -> Option<Payload> {
        self.get(key).cloned().map(Payload)
    }

    /// `z.coerce.date()`: a Date, an ISO string or epoch milliseconds.
    fn date(&self, key: &str) -> Result<Option<Millis>, WorldError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        if let Some(ms) = value::as_date(v) {
            return Ok(Some(ms));
        }
        let coerced = match v {
            Value::Text(t) => parse_iso_date(t),
            Value::Integer(_) | Value::Float(_) => value::integer(v),
            _ => None,
        };
        coerced.map(Some).ok_or_else(|| {
            invalid(format!(
                "Invalid {} event: `eventData.{key}` must be a Date (or an ISO date string or epoch milliseconds), got {}",
                self.event_type.as_str(),
                describe(v)
            ))
        })
    }

    fn structured_error(&self, with_code: bool) -> StructuredError {
        let error = self.get("error");
        let message = match error {
            Some(Value::Text(t)) => t.clone(),
            Some(e) => match value::get(e, "message") {
                Some(Value::Text(t)) => t.clone(),
                _ => "Unknown error".to_owned(),
            },
            None => "Unknown error".to_owned(),
        };
        let text_of = |v: Option<&Value>| match v {
            Some(Value::Text(t)) => Some(t.clone()),
            _ => None,
        };
        // run_failed takes the stack from the error, step events from eventData (§2.11).
        let stack = if with_code {
            text_of(error.and_then(|e| value::get(e, "stack")))
        } else {
            text_of(self.get("stack"))
        };
        StructuredError {
            message,
            stack,
            code: if with_code {
                text_of(self.get("errorCode"))
            } else {
                None
            },
        }
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SS(.sss)?(Z|±HH:MM)`, the form `Date#toISOString` and JSON produce.
pub fn parse_iso_date(s: &str) -> Option<Millis> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d, h, mi, sec) = (
        num(0, 4)?,
        num(5, 2)?,
        num(8, 2)?,
        num(11, 2)?,
        num(14, 2)?,
        num(17, 2)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let frac = s.get(start..i)?;
        if frac.is_empty() {
            return None;
        }
        let padded = format!("{:0<3}", &frac[..frac.len().min(3)]);
        ms = padded.parse::<i64>().ok()?;
    }
    let offset_minutes = match s.get(i..)? {
        "Z" => 0,
        tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) && &tz[3..4] == ":" => {
            let sign = if tz.starts_with('-') { -1 } else { 1 };
            sign * (num(i + 1, 2)? * 60 + num(i + 4, 2)?)
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    Some(((days * 24 + h) * 60 + mi - offset_minutes) * 60_000 + sec * 1000 + ms)
}

impl EventRequest {
    /// Checks `data` (the second argument of `events.create`).
    pub fn parse(data: &Value) -> Result<EventRequest, WorldError> {
        if !matches!(data, Value::Map(_)) {
            return Err(invalid(format!(
                "Invalid event: expected an object with `eventType`, got {}",
                describe(data)
            )));
        }
        let event_type = match value::get(data, "eventType") {
            Some(Value::Text(t)) => match EventType::parse(t) {
                Some(t) => t,
                None => {
                    return Err(invalid(format!(
                        "Invalid event: unknown eventType {}; allowed: {ALLOWED_TYPES}",
                        describe(&Value::Text(t.clone()))
                    )))
                }
            },
            Some(other) => {
                return Err(invalid(format!(
                    "Invalid event: `eventType` must be a string, got {}; allowed: {ALLOWED_TYPES}",
                    describe(other)
                )))
            }
            None => {
                return Err(invalid(format!(
                    "Invalid event: `eventType` is required; allowed: {ALLOWED_TYPES}"
                )))
            }
        };
        let spec_version = match value::get(data, "specVersion") {
            None | Some(Value::Null) => SPEC_VERSION_CURRENT,
            Some(v) => value::integer(v).filter(|n| *n >= 1).ok_or_else(|| {
                invalid(format!(
                    "Invalid {} event: `specVersion` must be a positive integer, got {}",
                    event_type.as_str(),
                    describe(v)
                ))
            })?,
        };
        let correlation_id = match value::get(data, "correlationId") {
            None | Some(Value::Null) => None,
            Some(Value::Text(t)) if !t.is_empty() => Some(t.clone()),
            Some(other) => {
                return Err(invalid(format!(
                    "Invalid {} event: `correlationId` must be a non-empty string, got {}",
                    event_type.as_str(),
                    describe(other)
                )))
            }
        };
        let needs_correlation = !matches!(
            event_type,
            EventType::RunCreated
                | EventType::RunStarted
                | EventType::RunCompleted
                | EventType::RunFailed
                | EventType::RunCancelled
        );
        if needs_correlation && correlation_id.is_none() {
            return Err(invalid(format!(
                "Invalid {} event: `correlationId` is required (the step, hook or wait id)",
                event_type.as_str()
            )));
        }
        let raw_data = match value::get(data, "eventData") {
            None | Some(Value::Null) => None,
            Some(d @ Value::Map(_)) => Some(d),
            // run_started's data is dropped before storing; only a map can be resilient data.
            Some(_) if event_type == EventType::RunStarted => None,
            Some(other) => {
                return Err(invalid(format!(
                    "Invalid {} event: `eventData` must be an object, got {}",
                    event_type.as_str(),
                    describe(other)
                )))
            }
        };
        let f = Fields {
            event_type,
            data: raw_data,
        };
        let mut event_data = raw_data.cloned().map(Payload);
        let kind = match event_type {
            EventType::RunCreated => Kind::RunCreated {
                deployment_id: f.required_text("deploymentId")?,
                workflow_name: f.required_text("workflowName")?,
                input: f.opaque("input"),
                execution_context: f.opaque("executionContext"),
            },
            EventType::RunStarted => {
                let truthy = |k: &str| matches!(f.get(k), Some(Value::Text(t)) if !t.is_empty());
                let resilient = (truthy("deploymentId") && truthy("workflowName") && f.get("input").is_some())
                    .then(|| ResilientStart {
                        deployment_id: f.required_text("deploymentId").unwrap_or_default(),
                        workflow_name: f.required_text("workflowName").unwrap_or_default(),
                        input: f.opaque("input").unwrap_or(Payload(Value::Null)),
                        execution_context: f.opaque("executionContext"),
                    });
                event_data = None;
                Kind::RunStarted { resilient }
            }
            EventType::RunCompleted => Kind::RunCompleted { output: f.opaque("output") },
            EventType::RunFailed => Kind::RunFailed { error: f.structured_error(true) },
            EventType::RunCancelled => Kind::RunCancelled,
            EventType::StepCreated => Kind::StepCreated {
                step_name: f.required_text("stepName")?,
                input: f.opaque("input"),
            },
            EventType::StepStarted => Kind::StepStarted,
            EventType::StepCompleted => Kind::StepCompleted { result: f.opaque("result") },
            EventType::StepFailed => Kind::StepFailed { error: f.structured_error(false) },
            EventType::StepRetrying => {
                let retry_after = f.date("retryAfter")?;
                if let (Some(ms), Some(d)) = (retry_after, event_data.as_mut()) {
                    set_date(d, "retryAfter", ms);
                }
                Kind::StepRetrying { error: f.structured_error(false), retry_after }
            }
            EventType::HookCreated => Kind::HookCreated {
                token: f.required_text("token")?,
                metadata: f.opaque("metadata"),
                is_webhook: f.optional_bool("isWebhook")?,
            },
            EventType::HookReceived => Kind::HookReceived,
            EventType::HookDisposed => Kind::HookDisposed,
            EventType::WaitCreated => {
                let resume_at = f.date("resumeAt")?.ok_or_else(|| {
                    invalid("Invalid wait_created event: `eventData.resumeAt` is required (a Date)".into())
                })?;
                if let Some(d) = event_data.as_mut() {
                    set_date(d, "resumeAt", resume_at);
                }
                Kind::WaitCreated { resume_at }
            }
            EventType::WaitCompleted => {
                if let (Some(ms), Some(d)) = (f.date("resumeAt")?, event_data.as_mut()) {
                    set_date(d, "resumeAt", ms);
                }
                Kind::WaitCompleted
            }
            EventType::HookConflict => {
                return Err(invalid(
                    "Invalid event: `hook_conflict` events are written only by the World; send `hook_created`".into(),
                ))
            }
        };
        // The correlation id is stored in the same rows (the event, the step), so it
        // counts against the same budget: an oversized one must be refused here by name,
        // not by D1 as a retryable storage failure.
        let data_size = event_data.as_ref().map_or(0, |d| value::to_cbor(d).len());
        let id_size = correlation_id.as_ref().map_or(0, String::len);
        if data_size + id_size > MAX_EVENT_DATA_BYTES {
            let what = if id_size > 1024 {
                format!("`eventData` ({data_size} bytes encoded) and `correlationId` ({id_size} bytes) come to {} bytes", data_size + id_size)
            } else {
                format!("`eventData` is {data_size} bytes encoded")
            };
            return Err(WorldError {
                status: Some(crate::model::error::STATUS_PAYLOAD_TOO_LARGE),
                code: Some("PAYLOAD_TOO_LARGE"),
                ..WorldError::new(
                    crate::model::ErrorName::WorkflowWorld,
                    format!(
                        "Invalid {} event: {what}; the limit is {MAX_EVENT_DATA_BYTES} bytes (a D1 row holds at most 2 MB)",
                        event_type.as_str()
                    ),
                )
            });
        }
        Ok(EventRequest {
            event_type,
            correlation_id,
            spec_version,
            event_data,
            kind,
        })
    }

    pub fn correlation(&self) -> &str {
        self.correlation_id.as_deref().unwrap_or("")
    }
}

fn set_date(data: &mut Payload, key: &str, ms: Millis) {
    if let Value::Map(entries) = &mut data.0 {
        for (k, v) in entries.iter_mut() {
            if matches!(k, Value::Text(t) if t == key) {
                *v = value::date(ms);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::value::{entry, text};

    fn req(
        t: &str,
        corr: Option<&str>,
        data: Vec<(Value, Value)>,
    ) -> Result<EventRequest, WorldError> {
        let mut m = vec![text("eventType", t), entry("eventData", Value::Map(data))];
        if let Some(c) = corr {
            m.push(text("correlationId", c));
        }
        EventRequest::parse(&Value::Map(m))
    }

    #[test]
    fn unknown_type_names_the_allowed_ones() {
        let e = req("run_exploded", None, vec![]).unwrap_err();
        assert_eq!(e.status, Some(400));
        assert!(
            e.message.contains("'run_exploded'") && e.message.contains("wait_completed"),
            "{}",
            e.message
        );
        assert!(req("hook_conflict", Some("h"), vec![])
            .unwrap_err()
            .message
            .contains("written only by the World"));
    }

    #[test]
    fn missing_and_mistyped_fields_are_named() {
        let e = req(
            "step_created",
            Some("step_1"),
            vec![entry("stepName", Value::Integer(3.into()))],
        )
        .unwrap_err();
        assert!(
            e.message.contains("eventData.stepName") && e.message.contains("must be a string"),
            "{}",
            e.message
        );
        let e = req("step_started", None, vec![]).unwrap_err();
        assert!(e.message.contains("correlationId"));
        let e = req(
            "wait_created",
            Some("wait_1"),
            vec![text("resumeAt", "soon")],
        )
        .unwrap_err();
        assert!(e.message.contains("resumeAt"));
    }

    #[test]
    fn iso_dates_are_coerced() {
        assert_eq!(parse_iso_date("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(
            parse_iso_date("2025-11-25T23:36:22.123Z"),
            Some(1_764_113_782_123)
        );
        assert_eq!(
            parse_iso_date("2025-11-25T23:36:22+01:00"),
            Some(1_764_110_182_000)
        );
        assert_eq!(parse_iso_date("yesterday"), None);
        let r = req(
            "wait_created",
            Some("wait_1"),
            vec![text("resumeAt", "1970-01-01T00:00:01.500Z")],
        )
        .unwrap();
        assert_eq!(r.kind, Kind::WaitCreated { resume_at: 1500 });
        assert_eq!(
            value::as_date(value::get(r.event_data.as_ref().unwrap(), "resumeAt").unwrap()),
            Some(1500)
        );
    }

    #[test]
    fn structured_errors_follow_the_contract() {
        let r = req(
            "run_failed",
            None,
            vec![
                entry(
                    "error",
                    Value::Map(vec![text("message", "m"), text("stack", "s")]),
                ),
                text("errorCode", "USER_ERROR"),
            ],
        )
        .unwrap();
        let Kind::RunFailed { error } = r.kind else {
            panic!()
        };
        assert_eq!(
            error,
            StructuredError {
                message: "m".into(),
                stack: Some("s".into()),
                code: Some("USER_ERROR".into())
            }
        );
        let r = req(
            "step_failed",
            Some("step_1"),
            vec![
                entry(
                    "error",
                    Value::Map(vec![text("message", "x"), text("stack", "ignored")]),
                ),
                text("stack", "S"),
            ],
        )
        .unwrap();
        let Kind::StepFailed { error } = r.kind else {
            panic!()
        };
        assert_eq!(error.stack.as_deref(), Some("S"));
        let r = req("run_failed", None, vec![entry("error", Value::Map(vec![]))]).unwrap();
        let Kind::RunFailed { error } = r.kind else {
            panic!()
        };
        assert_eq!(error.message, "Unknown error");
    }

    #[test]
    fn oversized_payloads_are_refused() {
        let big = Value::Bytes(vec![7; MAX_EVENT_DATA_BYTES + 1]);
        let e = req("step_completed", Some("step_1"), vec![entry("result", big)]).unwrap_err();
        assert_eq!((e.status, e.code), (Some(413), Some("PAYLOAD_TOO_LARGE")));
    }

    // Regression: a correlation id is stored in the event and step rows next to
    // `eventData`, but only `eventData` was measured, so a multi-megabyte id reached D1
    // (which refuses rows over 2 MB) and came back as a retryable storage failure.
    #[test]
    fn an_oversized_correlation_id_is_refused_by_name() {
        let id = format!("step_{}", "x".repeat(MAX_EVENT_DATA_BYTES));
        let e = req("step_created", Some(&id), vec![text("stepName", "s")]).unwrap_err();
        assert_eq!((e.status, e.code), (Some(413), Some("PAYLOAD_TOO_LARGE")));
        assert!(e.message.contains("`correlationId`"), "{}", e.message);
        let e = EventRequest::parse(&Value::Map(vec![
            text("eventType", "step_started"),
            text("correlationId", id),
        ]))
        .unwrap_err();
        assert_eq!(e.code, Some("PAYLOAD_TOO_LARGE"));
        // an id beside a payload just under the limit is still within it
        let near = Value::Bytes(vec![7; MAX_EVENT_DATA_BYTES - 1024]);
        assert!(req(
            "step_completed",
            Some("step_1"),
            vec![entry("result", near)]
        )
        .is_ok());
    }

    #[test]
    fn run_started_data_is_never_stored() {
        let r = req(
            "run_started",
            None,
            vec![
                text("deploymentId", "d"),
                text("workflowName", "w"),
                entry("input", Value::Bytes(vec![0])),
            ],
        )
        .unwrap();
        assert_eq!(r.event_data, None);
        assert!(matches!(r.kind, Kind::RunStarted { resilient: Some(_) }));
    }
}
