//! An `events.create` request, checked and typed (contract §2.7). Bad input is refused
//! here, before anything is read or written, with a message naming the field.

use super::attributes::{self, Change};
use crate::model::params::describe;
use crate::model::value::{self, Value};
use crate::model::{
    Attributes, ErrorName, ErrorValue, EventType, Line, Millis, Payload, StructuredError,
    WorldError,
};

/// D1 refuses rows over 2 MB; the event row carries the whole `eventData`, and every
/// entity row a part of it, so bounding the encoded `eventData` bounds every row.
/// The margin leaves room for the row's other columns.
pub const MAX_EVENT_DATA_BYTES: usize = 2_000_000 - 16 * 1024;

/// What the rules need from `eventData`, by event type.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    RunCreated(NewRun),
    RunStarted {
        resilient: Option<NewRun>,
        /// The `eventData` sent, which is never stored with the `run_started` (5.x copies
        /// it to the synthetic `run_created` of a resilient start).
        sent: Option<Payload>,
    },
    RunCompleted {
        output: Option<Payload>,
    },
    RunFailed {
        error: ErrorValue,
        /// 5.x: `errorCode` (4.x keeps it in the StructuredError).
        error_code: Option<String>,
    },
    RunCancelled,
    StepCreated {
        step_name: String,
        input: Option<Payload>,
    },
    StepStarted {
        /// 5.x lazy start: `stepName` and `input` create the step (world-contract-v5 §4.7).
        lazy: Option<LazyStart>,
    },
    StepCompleted {
        result: Option<Payload>,
    },
    StepFailed {
        error: ErrorValue,
    },
    StepRetrying {
        error: ErrorValue,
        retry_after: Option<Millis>,
    },
    HookCreated {
        token: String,
        metadata: Option<Payload>,
        is_webhook: Option<bool>,
        /// 5.x.
        is_system: Option<bool>,
        token_retention_until: Option<Millis>,
    },
    HookReceived,
    HookDisposed,
    WaitCreated {
        resume_at: Millis,
    },
    WaitCompleted,
    /// 5.x (world-contract-v5 §4.5).
    AttrSet {
        changes: Vec<Change>,
        allow_reserved: bool,
        /// A workflow-body write with a correlation id, deduplicated by it.
        claims_correlation: bool,
    },
}

/// The run a `run_created` creates, or a resilient `run_started` creates before it
/// starts it (contract §3.1 step 4, world-contract-v5 §4.3).
#[derive(Clone, Debug, PartialEq)]
pub struct NewRun {
    pub deployment_id: String,
    pub workflow_name: String,
    pub input: Option<Payload>,
    pub execution_context: Option<Payload>,
    /// 5.x: the attributes it starts with, checked; and the sealing key, if any.
    pub attributes: Attributes,
    pub encryption_public_key: Option<String>,
}

/// A `step_started` that creates its step.
#[derive(Clone, Debug, PartialEq)]
pub struct LazyStart {
    pub step_name: String,
    pub input: Payload,
}

/// `hook_received`'s `params.resumeId` and `resumePayloadDigest` (world-contract-v5 §4.10).
#[derive(Clone, Debug, PartialEq)]
pub struct Resume {
    pub id: String,
    pub digest: Option<String>,
}

/// An `events.create` request as JS sends it (contract §2.7); [`EventRequest::parse`]
/// checks it.
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[cfg_attr(feature = "js", serde(rename_all = "camelCase"))]
pub struct EventInput {
    pub event_type: EventType,
    #[cfg_attr(feature = "js", tsify(optional))]
    pub correlation_id: String,
    #[cfg_attr(feature = "js", tsify(optional))]
    pub spec_version: i64,
    #[cfg_attr(feature = "js", tsify(optional))]
    pub event_data: Payload,
}

/// `events.create`'s third argument.
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[cfg_attr(feature = "js", serde(rename_all = "camelCase", default))]
pub struct CreateEventParamsInput {
    pub resolve_data: crate::model::params::ResolveData,
    /// 5.x (world-contract-v5 §3.4–§3.6, §4.10).
    pub event_count: i64,
    pub since_cursor: String,
    pub skip_preload: bool,
    pub resume_id: String,
    pub resume_payload_digest: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EventRequest {
    /// The line that writes it: its spec version is the default, and it decides which
    /// event types and fields exist.
    pub line: Line,
    pub event_type: EventType,
    pub correlation_id: Option<String>,
    /// `data.specVersion ?? 3` (4.x line, contract §3.1 step 2) or `?? 7` (5.x line).
    pub spec_version: i64,
    /// `eventData` as it will be stored: as sent, with dates made dates.
    pub event_data: Option<Payload>,
    pub kind: Kind,
    /// `hook_received` on the 5.x line, when the caller deduplicates resumes.
    pub resume: Option<Resume>,
}

const ALLOWED_TYPES: &str = "run_created, run_started, run_completed, run_failed, run_cancelled, step_created, step_started, step_completed, step_failed, step_retrying, hook_created, hook_received, hook_disposed, wait_created, wait_completed";
const ALLOWED_TYPES_V5: &str = "run_created, run_started, run_completed, run_failed, run_cancelled, step_created, step_started, step_completed, step_failed, step_retrying, hook_created, hook_received, hook_disposed, wait_created, wait_completed, attr_set";

/// The longest `run_cancelled.eventData.cancelReason` (world-contract-v5 §2.5).
pub const MAX_CANCEL_REASON: usize = 512;
/// The furthest a hook's `tokenRetentionUntil` may lie ahead (world-local's limit).
pub const MAX_TOKEN_RETENTION_MS: Millis = 30 * 24 * 60 * 60 * 1000;

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

    /// The error of a run or step event on `line`: 4.x derives a StructuredError, 5.x keeps
    /// the serialized bytes as sent (world-contract-v5 §4.4, §4.8).
    fn error(&self, line: Line, with_code: bool) -> Result<ErrorValue, WorldError> {
        match line {
            Line::V4 => Ok(ErrorValue::Structured(self.structured_error(with_code))),
            Line::V5 => match self.opaque("error") {
                Some(e) => Ok(ErrorValue::Serialized(e)),
                None => Err(invalid(format!(
                    "Invalid {} event: `eventData.error` is required (the serialized error)",
                    self.event_type.as_str()
                ))),
            },
        }
    }

    fn optional_text(&self, key: &str) -> Result<Option<String>, WorldError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Text(t)) => Ok(Some(t.clone())),
            Some(other) => Err(invalid(format!(
                "Invalid {} event: `eventData.{key}` must be a string, got {}",
                self.event_type.as_str(),
                describe(other)
            ))),
        }
    }

    /// The run `run_created` (or a resilient `run_started`) creates; 5.x checks its
    /// attributes (`AttributeValidationError`).
    fn new_run(&self, line: Line) -> Result<NewRun, WorldError> {
        let attributes = match line {
            Line::V4 => Attributes::default(),
            Line::V5 => {
                let changes =
                    attributes::parse_map(self.get("attributes"), "eventData.attributes")?;
                let allow = self
                    .optional_bool("allowReservedAttributes")?
                    .unwrap_or(false);
                attributes::validate(&changes, &Attributes::default(), allow)?;
                Attributes::default().apply(&changes)
            }
        };
        Ok(NewRun {
            deployment_id: self.required_text("deploymentId")?,
            workflow_name: self.required_text("workflowName")?,
            input: self.opaque("input"),
            execution_context: self.opaque("executionContext"),
            attributes,
            encryption_public_key: match line {
                Line::V4 => None,
                Line::V5 => self.optional_text("encryptionPublicKey")?,
            },
        })
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
    /// Checks `data` (the second argument of `events.create`) as `line` writes it, at
    /// `now` (a 5.x hook's `tokenRetentionUntil` is bounded from it).
    pub fn parse(
        data: &Value,
        line: Line,
        now: Millis,
        resume: Option<Resume>,
    ) -> Result<EventRequest, WorldError> {
        let event_type = parse_event_type(data, line)?;
        let spec_version = match value::get(data, "specVersion") {
            None | Some(Value::Null) => line.spec_version(),
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
        // A workflow-body attr_set carries its correlation id; a step's carries none.
        let needs_correlation = !matches!(
            event_type,
            EventType::RunCreated
                | EventType::RunStarted
                | EventType::RunCompleted
                | EventType::RunFailed
                | EventType::RunCancelled
                | EventType::AttrSet
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
        let kind = f.kind(line, now, &mut event_data, correlation_id.is_some())?;
        check_size(event_type, event_data.as_ref(), correlation_id.as_deref())?;
        let v5 = line == Line::V5;
        Ok(EventRequest {
            line,
            event_type,
            correlation_id,
            spec_version,
            event_data,
            kind,
            resume: if event_type == EventType::HookReceived && v5 {
                resume
            } else {
                None
            },
        })
    }

    /// What a `run_started` sent as `eventData` (never stored with it).
    pub fn kind_data(&self) -> Option<&Payload> {
        match &self.kind {
            Kind::RunStarted { sent, .. } => sent.as_ref(),
            _ => None,
        }
    }

    pub fn correlation(&self) -> &str {
        self.correlation_id.as_deref().unwrap_or("")
    }
}

/// The `eventType` of `events.create`'s data, among those `line` writes.
fn parse_event_type(data: &Value, line: Line) -> Result<EventType, WorldError> {
    let allowed = match line {
        Line::V4 => ALLOWED_TYPES,
        Line::V5 => ALLOWED_TYPES_V5,
    };
    if !matches!(data, Value::Map(_)) {
        return Err(invalid(format!(
            "Invalid event: expected an object with `eventType`, got {}",
            describe(data)
        )));
    }
    match value::get(data, "eventType") {
        Some(Value::Text(t)) => match EventType::parse(t) {
            Some(EventType::AttrSet) if line == Line::V4 => None,
            known => known,
        }
        .ok_or_else(|| {
            invalid(format!(
                "Invalid event: unknown eventType {}; allowed: {allowed}",
                describe(&Value::Text(t.clone()))
            ))
        }),
        Some(other) => Err(invalid(format!(
            "Invalid event: `eventType` must be a string, got {}; allowed: {allowed}",
            describe(other)
        ))),
        None => Err(invalid(format!(
            "Invalid event: `eventType` is required; allowed: {allowed}"
        ))),
    }
}

impl Fields<'_> {
    /// What the event asks for, from its `eventData`; `event_data` (what is stored) loses
    /// what goes elsewhere and gets its dates as dates.
    fn kind(
        &self,
        line: Line,
        now: Millis,
        event_data: &mut Option<Payload>,
        has_correlation: bool,
    ) -> Result<Kind, WorldError> {
        let v5 = line == Line::V5;
        let event_type = self.event_type;
        Ok(match event_type {
            EventType::RunCreated => Kind::RunCreated(self.new_run(line)?),
            EventType::RunStarted => {
                let truthy = |k: &str| matches!(self.get(k), Some(Value::Text(t)) if !t.is_empty());
                let resilient = if truthy("deploymentId")
                    && truthy("workflowName")
                    && self.get("input").is_some()
                {
                    Some(self.new_run(line)?)
                } else {
                    None
                };
                Kind::RunStarted {
                    resilient,
                    sent: event_data.take(),
                }
            }
            EventType::RunCompleted => Kind::RunCompleted {
                output: self.opaque("output"),
            },
            EventType::RunFailed => Kind::RunFailed {
                error: self.error(line, true)?,
                error_code: if v5 { self.optional_text("errorCode")? } else { None },
            },
            EventType::RunCancelled => {
                if v5 {
                    self.cancel_reason()?;
                }
                Kind::RunCancelled
            }
            EventType::StepCreated => {
                if v5 && self.get("input").is_none() {
                    return Err(invalid(
                        "Invalid step_created event: `eventData.input` is required (the step's serialized arguments)".into(),
                    ));
                }
                Kind::StepCreated {
                    step_name: self.required_text("stepName")?,
                    input: self.opaque("input"),
                }
            }
            EventType::StepStarted => {
                let lazy = match (v5, self.get("stepName"), self.opaque("input")) {
                    (true, Some(Value::Text(name)), Some(input)) => Some(LazyStart {
                        step_name: name.clone(),
                        input,
                    }),
                    _ => None,
                };
                if lazy.is_some() {
                    // The input goes to the step and its synthetic step_created only.
                    if let Some(Payload(d)) = event_data.as_mut() {
                        *d = value::without(d, &["input"]);
                    }
                }
                Kind::StepStarted { lazy }
            }
            EventType::StepCompleted => Kind::StepCompleted {
                result: self.opaque("result"),
            },
            EventType::StepFailed => Kind::StepFailed {
                error: self.error(line, false)?,
            },
            EventType::StepRetrying => {
                let retry_after = self.date("retryAfter")?;
                if let (Some(ms), Some(d)) = (retry_after, event_data.as_mut()) {
                    set_date(d, "retryAfter", ms);
                }
                Kind::StepRetrying {
                    error: self.error(line, false)?,
                    retry_after,
                }
            }
            EventType::HookCreated => self.hook_created(v5, now, event_data)?,
            EventType::HookReceived => Kind::HookReceived,
            EventType::HookDisposed => Kind::HookDisposed,
            EventType::WaitCreated => {
                let resume_at = self.date("resumeAt")?.ok_or_else(|| {
                    invalid("Invalid wait_created event: `eventData.resumeAt` is required (a Date)".into())
                })?;
                if let Some(d) = event_data.as_mut() {
                    set_date(d, "resumeAt", resume_at);
                }
                Kind::WaitCreated { resume_at }
            }
            EventType::WaitCompleted => {
                if let (Some(ms), Some(d)) = (self.date("resumeAt")?, event_data.as_mut()) {
                    set_date(d, "resumeAt", ms);
                }
                Kind::WaitCompleted
            }
            EventType::AttrSet => self.attr_set(has_correlation)?,
            EventType::HookConflict => {
                return Err(invalid(
                    "Invalid event: `hook_conflict` events are written only by the World; send `hook_created`".into(),
                ))
            }
        })
    }

    fn hook_created(
        &self,
        v5: bool,
        now: Millis,
        event_data: &mut Option<Payload>,
    ) -> Result<Kind, WorldError> {
        let token_retention_until = if v5 {
            self.date("tokenRetentionUntil")?
        } else {
            None
        };
        if let Some(until) = token_retention_until {
            if until > now + MAX_TOKEN_RETENTION_MS {
                return Err(invalid(format!(
                    "Invalid hook_created event: `eventData.tokenRetentionUntil` is {} days ahead; the limit is {} days",
                    (until - now) / 86_400_000,
                    MAX_TOKEN_RETENTION_MS / 86_400_000
                )));
            }
            if let Some(d) = event_data.as_mut() {
                set_date(d, "tokenRetentionUntil", until);
            }
        }
        Ok(Kind::HookCreated {
            token: self.required_text("token")?,
            metadata: self.opaque("metadata"),
            is_webhook: self.optional_bool("isWebhook")?,
            is_system: if v5 {
                self.optional_bool("isSystem")?
            } else {
                None
            },
            token_retention_until,
        })
    }

    fn attr_set(&self, has_correlation: bool) -> Result<Kind, WorldError> {
        let size = self.data.map_or(2, attributes::json_size);
        if size > attributes::EVENT_DATA_MAX_BYTES {
            return Err(WorldError::new(
                ErrorName::AttributeValidation,
                format!(
                    "Attribute eventData exceeds limit {} UTF-8 JSON bytes (received {size} bytes); split the changes into smaller setAttributes() calls",
                    attributes::EVENT_DATA_MAX_BYTES
                ),
            ));
        }
        let by_workflow = match self.get("writer").and_then(|w| value::get(w, "type")) {
            Some(Value::Text(t)) if t == "workflow" => true,
            Some(Value::Text(t)) if t == "step" => false,
            _ => {
                return Err(invalid(
                    "Invalid attr_set event: `eventData.writer` must be {type: 'workflow'} or {type: 'step', stepId, attempt}".into(),
                ))
            }
        };
        Ok(Kind::AttrSet {
            changes: attributes::parse_changes(self.get("changes"))?,
            allow_reserved: self
                .optional_bool("allowReservedAttributes")?
                .unwrap_or(false),
            // §4.5: only a workflow writer's correlation id is claimed, when it has
            // one; a step's writes, and one without an id, are not deduplicated.
            claims_correlation: by_workflow && has_correlation,
        })
    }

    /// 5.x: a `cancelReason` within its limit.
    fn cancel_reason(&self) -> Result<(), WorldError> {
        if let Some(reason) = self.optional_text("cancelReason")? {
            let length = reason.encode_utf16().count();
            if length > MAX_CANCEL_REASON {
                return Err(invalid(format!(
                    "Invalid run_cancelled event: `eventData.cancelReason` is {length} characters; the limit is {MAX_CANCEL_REASON}"
                )));
            }
        }
        Ok(())
    }
}

/// The correlation id is stored in the same rows (the event, the step), so it counts
/// against the same budget: an oversized one must be refused here by name, not by D1 as a
/// retryable storage failure.
fn check_size(
    event_type: EventType,
    event_data: Option<&Payload>,
    correlation_id: Option<&str>,
) -> Result<(), WorldError> {
    let data_size = event_data.map_or(0, |d| value::to_cbor(d).len());
    let id_size = correlation_id.map_or(0, str::len);
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
    Ok(())
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
        EventRequest::parse(&Value::Map(m), Line::V4, 0, None)
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
        let Kind::RunFailed {
            error: ErrorValue::Structured(error),
            ..
        } = r.kind
        else {
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
        let Kind::StepFailed {
            error: ErrorValue::Structured(error),
        } = r.kind
        else {
            panic!()
        };
        assert_eq!(error.stack.as_deref(), Some("S"));
        let r = req("run_failed", None, vec![entry("error", Value::Map(vec![]))]).unwrap();
        let Kind::RunFailed {
            error: ErrorValue::Structured(error),
            ..
        } = r.kind
        else {
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
        let e = EventRequest::parse(
            &Value::Map(vec![
                text("eventType", "step_started"),
                text("correlationId", id),
            ]),
            Line::V4,
            0,
            None,
        )
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
        assert!(matches!(
            r.kind,
            Kind::RunStarted {
                resilient: Some(_),
                ..
            }
        ));
    }
}
