//! The body of every message this World puts on a Cloudflare Queue. Queue names are
//! arbitrary strings (`/`, `.`, `@`), so the logical name travels inside the message and
//! only two physical queues exist (contract §5.1, docs/design.md decision 2).

use crate::model::params::describe;
use crate::model::value::{self, entry, text, Value};
use crate::model::{Line, Millis, WorldError};
use crate::ports::QueueKind;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

/// Format version of the envelope; a consumer refuses versions it does not know.
pub const ENVELOPE_VERSION: i64 = 1;

/// `^__(?:[a-z][a-z0-9]*_)?wkf_(workflow|step)_` followed by a non-empty name (§5.1).
pub fn queue_kind(queue_name: &str) -> Result<QueueKind, WorldError> {
    let invalid = || {
        WorldError::invalid(
            "INVALID_QUEUE_NAME",
            format!(
                "Invalid queue name {}: expected `__wkf_workflow_<name>` or `__wkf_step_<name>` (optionally `__<namespace>_wkf_…`)",
                describe(&Value::Text(queue_name.to_owned()))
            ),
        )
    };
    let rest = queue_name.strip_prefix("__").ok_or_else(invalid)?;
    let rest = match rest.find("wkf_") {
        Some(0) => rest,
        Some(i) => {
            let namespace = &rest[..i];
            let ok = namespace.ends_with('_')
                && namespace[..namespace.len() - 1]
                    .bytes()
                    .enumerate()
                    .all(|(j, b)| b.is_ascii_lowercase() || (j > 0 && b.is_ascii_digit()))
                && namespace.len() > 1;
            if !ok {
                return Err(invalid());
            }
            &rest[i..]
        }
        None => return Err(invalid()),
    };
    let (kind, name) = if let Some(name) = rest.strip_prefix("wkf_workflow_") {
        (QueueKind::Workflow, name)
    } else if let Some(name) = rest.strip_prefix("wkf_step_") {
        (QueueKind::Step, name)
    } else {
        return Err(invalid());
    };
    if name.is_empty() {
        return Err(invalid());
    }
    Ok(kind)
}

/// Where the payload is: inline, or in R2 when the message would pass the Queues limit.
///
/// Inline, the payload's CBOR travels as base64 text: a `Uint8Array` in a message body
/// does not survive the `json` content type Queues default to (compatibility date
/// 2026-11-01: it arrives as `{"0": …, "1": …}`), and wrangler's Node-side Queue proxy
/// mangles typed arrays even with `contentType: 'bytes'` (both measured); text survives.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// The payload as CBOR (bytes stay bytes, dates stay dates).
    Inline(Vec<u8>),
    /// The R2 key of the CBOR payload.
    Stored(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    pub queue_name: String,
    /// `msg_<ULID>`: the logical message, the same across reschedules.
    pub message_id: String,
    /// One physical send; duplicate deliveries of it are recognised by it.
    pub send_id: String,
    /// The attempt the handler sees on this send's first delivery; Cloudflare retries of
    /// the send add to it (contract §5.4).
    pub attempt: i64,
    pub idempotency_key: Option<String>,
    pub headers: Vec<(String, String)>,
    pub deployment_id: Option<String>,
    /// Deliver no earlier than this; set when a delay is longer than a queue can hold.
    pub due_at: Option<Millis>,
    /// The line that serves it: the sender's, until a delivery finds the run it targets
    /// and takes that run's line (`delivery::line_for`); its rules count the attempts.
    pub line: Line,
    /// The run the payload targets (`runId`), read in the delivery's first batch to
    /// route the message to the line of that run (world-contract-v5 §10).
    pub run_id: Option<String>,
    pub body: Body,
}

fn bad(what: String) -> WorldError {
    WorldError::invalid(
        "INVALID_MESSAGE",
        format!("Not a world-cloudflare queue message: {what}"),
    )
}

impl Envelope {
    /// About how many bytes the message takes on the queue (an inline payload travels as
    /// base64), to fill a `sendBatch` without passing its size limit.
    pub fn approximate_size(&self) -> usize {
        let body = match &self.body {
            Body::Inline(bytes) => bytes.len().div_ceil(3) * 4,
            Body::Stored(key) => key.len(),
        };
        let headers: usize = self
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.len() + 8)
            .sum();
        body + headers
            + self.queue_name.len()
            + self.idempotency_key.as_ref().map_or(0, String::len)
            + self.deployment_id.as_ref().map_or(0, String::len)
            + 256
    }

    pub fn to_value(&self) -> Value {
        let mut m = vec![
            entry("wcf", Value::Integer(ENVELOPE_VERSION.into())),
            text("queueName", self.queue_name.clone()),
            text("messageId", self.message_id.clone()),
            text("sendId", self.send_id.clone()),
            entry("attempt", Value::Integer(self.attempt.into())),
        ];
        if let Some(k) = &self.idempotency_key {
            m.push(text("idempotencyKey", k.clone()));
        }
        if !self.headers.is_empty() {
            let headers = self
                .headers
                .iter()
                .map(|(k, v)| text(k, v.clone()))
                .collect();
            m.push(entry("headers", Value::Map(headers)));
        }
        if let Some(d) = &self.deployment_id {
            m.push(text("deploymentId", d.clone()));
        }
        if let Some(at) = self.due_at {
            m.push(entry("dueAt", Value::Integer(at.into())));
        }
        // Absent means 4.x, so messages sent before lines existed still parse.
        if self.line == Line::V5 {
            m.push(entry(
                "spec",
                Value::Integer(self.line.spec_version().into()),
            ));
        }
        if let Some(run_id) = &self.run_id {
            m.push(text("runId", run_id.clone()));
        }
        m.push(match &self.body {
            Body::Inline(bytes) => text("payload", BASE64.encode(bytes)),
            Body::Stored(key) => text("payloadKey", key.clone()),
        });
        Value::Map(m)
    }

    /// Reads a message body; anything else is refused with what was wrong.
    pub fn parse(v: &Value) -> Result<Envelope, WorldError> {
        if !matches!(v, Value::Map(_)) {
            return Err(bad(format!("the body is {}, not an object", describe(v))));
        }
        match value::get(v, "wcf").and_then(value::integer) {
            Some(ENVELOPE_VERSION) => {}
            Some(other) => {
                return Err(bad(format!(
                "envelope version {other} is not supported (this World reads {ENVELOPE_VERSION})"
            )))
            }
            None => return Err(bad("`wcf` (the envelope version) is missing".into())),
        }
        let text_field = |k: &str| -> Result<String, WorldError> {
            match value::get(v, k) {
                Some(Value::Text(t)) if !t.is_empty() => Ok(t.clone()),
                Some(other) => Err(bad(format!(
                    "`{k}` must be a non-empty string, got {}",
                    describe(other)
                ))),
                None => Err(bad(format!("`{k}` is missing"))),
            }
        };
        let optional_text = |k: &str| -> Result<Option<String>, WorldError> {
            match value::get(v, k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Text(t)) => Ok(Some(t.clone())),
                Some(other) => Err(bad(format!(
                    "`{k}` must be a string, got {}",
                    describe(other)
                ))),
            }
        };
        let queue_name = text_field("queueName")?;
        queue_kind(&queue_name).map_err(|e| bad(e.message))?;
        let message_id = text_field("messageId")?;
        if !message_id.starts_with("msg_") {
            return Err(bad(format!(
                "`messageId` {} does not start with `msg_`",
                describe(&Value::Text(message_id))
            )));
        }
        let attempt = match value::get(v, "attempt").and_then(value::integer) {
            Some(n) if n >= 1 => n,
            _ => return Err(bad("`attempt` must be an integer ≥ 1".into())),
        };
        let headers = match value::get(v, "headers") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Map(entries)) => entries
                .iter()
                .map(|(k, val)| match (k, val) {
                    (Value::Text(k), Value::Text(val)) => Ok((k.clone(), val.clone())),
                    _ => Err(bad("`headers` must map strings to strings".into())),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(bad(format!(
                    "`headers` must be an object, got {}",
                    describe(other)
                )))
            }
        };
        let due_at = match value::get(v, "dueAt") {
            None | Some(Value::Null) => None,
            Some(d) => Some(
                value::integer(d)
                    .ok_or_else(|| bad("`dueAt` must be epoch milliseconds".into()))?,
            ),
        };
        let line = match value::get(v, "spec") {
            None | Some(Value::Null) => Line::V4,
            Some(spec) => match value::integer(spec) {
                Some(n) if n == Line::V5.spec_version() => Line::V5,
                _ => {
                    return Err(bad(format!(
                        "`spec` {} is not a line this World serves (7, or absent for 4.x)",
                        describe(spec)
                    )))
                }
            },
        };
        let body =
            match (value::get(v, "payload"), value::get(v, "payloadKey")) {
                (Some(Value::Text(b64)), None) => Body::Inline(
                    BASE64
                        .decode(b64)
                        .map_err(|e| bad(format!("`payload` is not base64: {e}")))?,
                ),
                (None, Some(Value::Text(key))) if !key.is_empty() => Body::Stored(key.clone()),
                _ => return Err(bad(
                    "exactly one of `payload` (base64 text) or `payloadKey` (string) is required"
                        .into(),
                )),
            };
        Ok(Envelope {
            queue_name,
            message_id,
            send_id: text_field("sendId")?,
            attempt,
            idempotency_key: optional_text("idempotencyKey")?,
            headers,
            deployment_id: optional_text("deploymentId")?,
            due_at,
            line,
            run_id: optional_text("runId")?,
            body,
        })
    }

    pub fn kind(&self) -> QueueKind {
        // Parsed envelopes always carry a valid name.
        queue_kind(&self.queue_name).unwrap_or(QueueKind::Workflow)
    }
}

/// The most Cloudflare Queues delays a message: `delaySeconds` on send and retry is at
/// most 12 hours (Cloudflare's Queues limits). Local emulation accepts more, so only this
/// constant keeps production sends valid.
pub const MAX_QUEUE_DELAY_SECONDS: i64 = 43_200;

/// How to send a message that must not be delivered before `now + delay_seconds`: the
/// delay to ask the queue for, and the due time to carry when that is not the whole
/// delay (the consumer then re-sends it until due: contract §5.4, long sleeps).
pub fn plan_delay(
    now: Millis,
    delay_seconds: i64,
    max_delay_seconds: i64,
) -> (i64, Option<Millis>) {
    let delay = delay_seconds.max(0);
    let max = max_delay_seconds.clamp(1, MAX_QUEUE_DELAY_SECONDS);
    if delay <= max {
        (delay, None)
    } else {
        (max, Some(now + delay * 1000))
    }
}

/// For a message carrying `due_at`: `None` if it is due, or the delay of the next hop.
pub fn remaining_hop(now: Millis, due_at: Option<Millis>, max_delay_seconds: i64) -> Option<i64> {
    let due = due_at?;
    if due <= now {
        return None;
    }
    let seconds = (due - now + 999) / 1000;
    Some(seconds.min(max_delay_seconds.clamp(1, MAX_QUEUE_DELAY_SECONDS)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope {
            queue_name: "__wkf_step_step//./src/a//b@1.0".into(),
            message_id: "msg_01KAV9FT000000000000000000".into(),
            send_id: "s1".into(),
            attempt: 1,
            idempotency_key: Some("step_1".into()),
            headers: vec![("traceparent".into(), "00-ab".into())],
            deployment_id: None,
            due_at: Some(5),
            line: Line::V4,
            run_id: Some("wrun_01KAV9FT000000000000000000".into()),
            body: Body::Inline(vec![0, 1, 0]),
        }
    }

    #[test]
    fn envelopes_round_trip_through_cbor() {
        let e = envelope();
        let bytes = value::to_cbor(&e.to_value());
        assert_eq!(
            Envelope::parse(&value::from_cbor(&bytes).unwrap()).unwrap(),
            e
        );
        let stored = Envelope {
            body: Body::Stored("queue/msg_x".into()),
            ..e
        };
        assert_eq!(Envelope::parse(&stored.to_value()).unwrap(), stored);
        let v5 = Envelope {
            line: Line::V5,
            run_id: None,
            ..stored
        };
        assert_eq!(Envelope::parse(&v5.to_value()).unwrap(), v5);
    }

    #[test]
    fn malformed_bodies_say_what_is_wrong() {
        let msg = |v: Value| Envelope::parse(&v).unwrap_err().message;
        assert!(msg(Value::Text("hello".into())).contains("not an object"));
        assert!(msg(Value::Map(vec![])).contains("`wcf`"));
        let mut v = envelope().to_value();
        if let Value::Map(m) = &mut v {
            m.retain(|(k, _)| k != &Value::Text("queueName".into()));
            m.push(text("queueName", "orders"));
        }
        assert!(msg(v).contains("Invalid queue name 'orders'"));
        let mut v = envelope().to_value();
        if let Value::Map(m) = &mut v {
            m.push(text("payloadKey", "k"));
        }
        assert!(msg(v).contains("exactly one of"));
        let mut v = envelope().to_value();
        if let Value::Map(m) = &mut v {
            m.retain(|(k, _)| k != &Value::Text("payload".into()));
            m.push(text("payload", "not base64!"));
        }
        assert!(msg(v).contains("not base64"));
    }

    #[test]
    fn queue_names_follow_the_contract_pattern() {
        assert_eq!(queue_kind("__wkf_workflow_w").unwrap(), QueueKind::Workflow);
        assert_eq!(
            queue_kind("__wkf_step_step//./src/a//b").unwrap(),
            QueueKind::Step
        );
        assert_eq!(
            queue_kind("__ns1_wkf_workflow_x").unwrap(),
            QueueKind::Workflow
        );
        for bad in [
            "__wkf_workflow_",
            "wkf_step_x",
            "__1ns_wkf_step_x",
            "__wkf_other_x",
            "__NS_wkf_step_x",
        ] {
            assert!(queue_kind(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn long_delays_are_chained_in_hops() {
        assert_eq!(plan_delay(0, 30, 43_200), (30, None));
        assert_eq!(
            plan_delay(0, 30 * 3600, 43_200),
            (43_200, Some(108_000_000))
        );
        assert_eq!(
            remaining_hop(86_400_000, Some(108_000_000), 43_200),
            Some(21_600)
        );
        assert_eq!(
            remaining_hop(43_200_000, Some(108_000_000), 43_200),
            Some(43_200)
        );
        assert_eq!(remaining_hop(108_000_000, Some(108_000_000), 43_200), None);
        assert_eq!(remaining_hop(0, None, 43_200), None);
        // a maximum above the platform's is clamped to it
        assert_eq!(plan_delay(0, 30 * 3600, 86_400).0, 43_200);
        // a 30 h delay with 1 s hops (the test knob) takes hops of at most 1 s
        assert_eq!(plan_delay(0, 5, 1), (1, Some(5_000)));
        assert_eq!(remaining_hop(1_000, Some(5_000), 1), Some(1));
        assert_eq!(plan_delay(0, -3, 43_200), (0, None));
    }
}
