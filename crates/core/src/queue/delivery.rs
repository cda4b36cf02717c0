//! The rules of one delivery, pure: given the envelope, what its delivery record said and
//! the time, whether the handler runs, and what is sent next.

use super::envelope::{self, Envelope, MAX_QUEUE_DELAY_SECONDS};
use super::signature;
use super::sql::LeaseRecord;
use crate::model::value::{self, Value};
use crate::model::{Line, Millis};
use sha2::{Digest, Sha256};

/// What a delivery does before any handler runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// A copy of a send whose delivery finished: acknowledge it.
    Finished,
    /// Another copy holds the lease: look again when it runs out (a copy sent with this
    /// delay), in case that copy dies.
    Park { delay: i64 },
    /// Not due yet: forward the next hop of a delay longer than one send can hold.
    Hop { delay: i64 },
    /// Run the handler.
    Run,
}

pub fn admit(e: &Envelope, lease: &LeaseRecord, now: Millis, max_delay_seconds: i64) -> Admission {
    let max = max_delay_seconds.clamp(1, MAX_QUEUE_DELAY_SECONDS);
    if !lease.taken {
        if lease.done {
            return Admission::Finished;
        }
        let lease_until = lease.lease_until.unwrap_or(now);
        return Admission::Park {
            delay: ((lease_until - now + 999) / 1000).clamp(1, max),
        };
    }
    match envelope::remaining_hop(now, e.due_at, max_delay_seconds) {
        Some(delay) => Admission::Hop { delay },
        None => Admission::Run,
    }
}

/// The line whose handler runs a delivery (world-contract-v5 §10): the line of the run
/// it targets, as stored (`run` is `Some(spec_version)` when the run exists); for a run not
/// created yet, the spec version its `start()` stamps (`runInput.specVersion`); otherwise
/// (health checks) the line that sent it.
pub fn line_for(sender: Line, run: Option<Option<i64>>, payload: &Value) -> Line {
    match run {
        Some(spec_version) => Line::of_run(spec_version),
        None => match value::get(payload, "runInput")
            .and_then(|r| value::get(r, "specVersion"))
            .and_then(value::integer)
        {
            Some(spec_version) => Line::of_run(Some(spec_version)),
            None => sender,
        },
    }
}

/// The run a payload targets: `runId` (flow messages), or `workflowRunId` (4.x step messages).
pub fn payload_run_id(payload: &Value) -> Option<String> {
    match (
        value::get(payload, "runId"),
        value::get(payload, "workflowRunId"),
    ) {
        (Some(Value::Text(id)), _) | (None, Some(Value::Text(id))) => Some(id.clone()),
        _ => None,
    }
}

/// A send id derived from another: the reschedule or hop of a send gets the same id
/// however many duplicate deliveries of that send produce it, so the copies are recognised.
pub fn derived_send_id(from: &str, purpose: &str) -> String {
    let digest = Sha256::digest(format!("{from}:{purpose}").as_bytes());
    hex::encode(&digest[..16])
}

/// The next hop of a long delay: the same message, re-sent by every copy under one id.
pub fn hop(e: &Envelope) -> Envelope {
    Envelope {
        send_id: derived_send_id(&e.send_id, "hop"),
        ..e.clone()
    }
}

/// A handler's `{timeoutSeconds}`: the same message again after that long, as a fresh send
/// whose attempt count starts over (reschedules are not failures, contract §5.4). Returns
/// the envelope, the delay to send it with, and the whole delay in seconds.
pub fn reschedule(
    e: &Envelope,
    seconds: f64,
    now: Millis,
    max_delay_seconds: i64,
) -> (Envelope, i64, i64) {
    let seconds = if seconds.is_finite() {
        seconds.max(0.0).ceil() as i64
    } else {
        0
    };
    let (delay, due_at) = envelope::plan_delay(now, seconds, max_delay_seconds);
    let next = Envelope {
        send_id: derived_send_id(&e.send_id, "reschedule"),
        attempt: match e.line {
            // 4.x: a suspension is not a failure, the count starts over (contract §5.4).
            Line::V4 => 1,
            // 5.x: sleeps no longer reschedule, and a redelivered message must read
            // attempt ≥ 2 (world-contract-v5 §6.4).
            Line::V5 => e.attempt + 1,
        },
        due_at,
        ..e.clone()
    };
    (next, delay, seconds)
}

/// The path of the app's route for the message (`/.well-known/workflow/v1/{flow,step}`),
/// relative to the app's base URL.
pub fn route_path(e: &Envelope) -> String {
    format!(".well-known/workflow/v1/{}", e.kind().route())
}

/// The delivery headers that only the World sets; the caller's headers never replace them.
pub const RESERVED_HEADERS: [&str; 5] = [
    "content-type",
    "x-vqs-queue-name",
    "x-vqs-message-id",
    "x-vqs-message-attempt",
    signature::HEADER,
];

/// The headers of an HTTP delivery (world-local's request format, contract §5.3): the
/// message's own headers, then the reserved ones, which win over any of the same name in
/// any case; signed over `body` when there is a secret.
pub fn http_headers(
    e: &Envelope,
    attempt: i64,
    body: &str,
    secret: Option<&str>,
    now_seconds: i64,
) -> Vec<(String, String)> {
    let attempt = attempt.to_string();
    let mut headers: Vec<(String, String)> = e
        .headers
        .iter()
        .filter(|(k, _)| !RESERVED_HEADERS.contains(&k.to_ascii_lowercase().as_str()))
        .cloned()
        .collect();
    headers.push(("content-type".into(), "application/json".into()));
    headers.push(("x-vqs-queue-name".into(), e.queue_name.clone()));
    headers.push(("x-vqs-message-id".into(), e.message_id.clone()));
    headers.push(("x-vqs-message-attempt".into(), attempt.clone()));
    if let Some(secret) = secret {
        let signed = signature::sign(
            secret,
            now_seconds,
            &e.queue_name,
            &e.message_id,
            &attempt,
            body.as_bytes(),
        );
        headers.push((signature::HEADER.into(), signed));
    }
    headers
}

/// The attempt a handler sees: the envelope's base plus Cloudflare's retries of this send.
pub fn attempt(e: &Envelope, cf_attempts: i64) -> i64 {
    e.attempt + cf_attempts.max(1) - 1
}

/// How often the executor retries a failed delivery before dead-lettering it, unless
/// `WORKFLOW_EXECUTOR_MAX_RETRIES` says otherwise: the `max_retries` the README gives the
/// queue consumer, above the 48 failed deliveries after which core fails a run itself.
pub const EXECUTOR_MAX_RETRIES: i64 = 60;
/// The longest wait between two tries of a failed delivery in the executor.
pub const EXECUTOR_MAX_RETRY_DELAY_MS: Millis = 60_000;

/// What the executor (js/executor.js) does after the `attempts`-th try of a delivery
/// failed: what Queues does with `message.retry()` and a dead-letter queue, which it
/// replaces once the message is acknowledged to the executor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again after this long: 1 s, doubling to at most a minute.
    Retry { delay_ms: Millis },
    /// Retries are spent: fail the run as the dead-letter consumer does.
    DeadLetter,
}

pub fn after_failure(attempts: i64, max_retries: i64) -> AfterFailure {
    if attempts > max_retries {
        return AfterFailure::DeadLetter;
    }
    let doublings = (attempts.max(1) - 1).min(16) as u32;
    AfterFailure::Retry {
        delay_ms: (1000 << doublings).min(EXECUTOR_MAX_RETRY_DELAY_MS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::envelope::Body;

    const NOW: Millis = 1_764_000_000_000;

    fn envelope(due_at: Option<Millis>) -> Envelope {
        Envelope {
            queue_name: "__wkf_workflow_w".into(),
            message_id: "msg_1".into(),
            send_id: "s1".into(),
            attempt: 1,
            idempotency_key: None,
            headers: vec![],
            deployment_id: None,
            due_at,
            line: Line::V4,
            run_id: None,
            body: Body::Inline(vec![]),
        }
    }

    fn record(taken: bool, done: bool, lease_until: Option<Millis>) -> LeaseRecord {
        LeaseRecord {
            taken,
            done,
            lease_until,
            run: None,
        }
    }

    #[test]
    fn a_taken_lease_runs_the_handler_once_due() {
        let lease = record(true, false, Some(NOW + 900_000));
        assert_eq!(admit(&envelope(None), &lease, NOW, 43_200), Admission::Run);
        assert_eq!(
            admit(&envelope(Some(NOW)), &lease, NOW, 43_200),
            Admission::Run
        );
        assert_eq!(
            admit(&envelope(Some(NOW + 100_500)), &lease, NOW, 43_200),
            Admission::Hop { delay: 101 }
        );
        // hops never ask for more than one send can hold
        assert_eq!(
            admit(&envelope(Some(NOW + 10_000_000)), &lease, NOW, 60),
            Admission::Hop { delay: 60 }
        );
    }

    #[test]
    fn a_held_lease_parks_the_copy_until_it_ends_and_a_finished_one_acks() {
        let e = envelope(None);
        assert_eq!(
            admit(&e, &record(false, true, Some(NOW)), NOW, 43_200),
            Admission::Finished
        );
        assert_eq!(
            admit(&e, &record(false, false, Some(NOW + 2_001)), NOW, 43_200),
            Admission::Park { delay: 3 }
        );
        // at least 1 s, at most one send's delay
        assert_eq!(
            admit(&e, &record(false, false, Some(NOW - 5)), NOW, 43_200),
            Admission::Park { delay: 1 }
        );
        assert_eq!(
            admit(&e, &record(false, false, Some(NOW + 900_000)), NOW, 60),
            Admission::Park { delay: 60 }
        );
    }

    #[test]
    fn reschedules_start_the_attempts_over_and_chain_long_delays() {
        let e = Envelope {
            attempt: 3,
            ..envelope(None)
        };
        let (next, delay, seconds) = reschedule(&e, 1.2, NOW, 43_200);
        assert_eq!((next.attempt, delay, seconds, next.due_at), (1, 2, 2, None));
        assert_eq!(next.send_id, derived_send_id("s1", "reschedule"));
        assert_eq!(next.message_id, e.message_id);
        let (next, delay, _) = reschedule(&e, 100_000.0, NOW, 43_200);
        assert_eq!((delay, next.due_at), (43_200, Some(NOW + 100_000_000)));
        assert_eq!(reschedule(&e, f64::NAN, NOW, 43_200).1, 0);
        assert_eq!(reschedule(&e, -4.0, NOW, 43_200).1, 0);
    }

    #[test]
    fn the_executor_retries_with_a_doubling_delay_then_dead_letters_like_queues() {
        let retry = |delay_ms| AfterFailure::Retry { delay_ms };
        assert_eq!(after_failure(1, 60), retry(1000));
        assert_eq!(after_failure(2, 60), retry(2000));
        assert_eq!(after_failure(6, 60), retry(32_000));
        assert_eq!(after_failure(7, 60), retry(60_000));
        assert_eq!(after_failure(60, 60), retry(60_000));
        // max_retries counts retries: the first try and 60 retries, then the dead letter
        assert_eq!(after_failure(61, 60), AfterFailure::DeadLetter);
        assert_eq!(after_failure(1, 0), AfterFailure::DeadLetter);
        assert_eq!(after_failure(i64::MAX, i64::MAX), retry(60_000));
    }

    #[test]
    fn a_message_goes_to_the_line_of_its_run() {
        use crate::model::value::{entry, text};
        let start = Value::Map(vec![entry(
            "runInput",
            Value::Map(vec![entry("specVersion", Value::Integer(7.into()))]),
        )]);
        let plain = Value::Map(vec![text("runId", "wrun_1")]);
        // the stored run decides, whoever sent it
        assert_eq!(line_for(Line::V5, Some(Some(3)), &plain), Line::V4);
        assert_eq!(line_for(Line::V4, Some(Some(7)), &plain), Line::V5);
        assert_eq!(
            line_for(Line::V5, Some(None), &plain),
            Line::V4,
            "legacy runs are 4.x"
        );
        assert_eq!(
            line_for(Line::V4, Some(Some(5)), &plain),
            Line::V5,
            "spec 4 and 5 are slot runs"
        );
        // a run not created yet: the version start() stamps; else the sender's line
        assert_eq!(line_for(Line::V4, None, &start), Line::V5);
        assert_eq!(line_for(Line::V5, None, &plain), Line::V5);
        assert_eq!(line_for(Line::V4, None, &plain), Line::V4);
    }

    #[test]
    fn a_5x_reschedule_counts_as_an_attempt() {
        let e = Envelope {
            attempt: 3,
            line: Line::V5,
            ..envelope(None)
        };
        let (next, _, _) = reschedule(&e, 5.0, NOW, 43_200);
        assert_eq!(next.attempt, 4);
        let (again, _, _) = reschedule(&next, 5.0, NOW, 43_200);
        assert_eq!(again.attempt, 5);
    }

    #[test]
    fn reserved_headers_win_over_the_callers() {
        let e = Envelope {
            headers: vec![
                ("traceparent".into(), "00-ab".into()),
                ("X-VQS-Queue-Name".into(), "__wkf_workflow_forged".into()),
                ("Content-Type".into(), "text/plain".into()),
                ("x-wcf-signature".into(), "t=1,v1=00".into()),
            ],
            ..envelope(None)
        };
        let h = http_headers(&e, 3, "{}", None, 0);
        let get = |name: &str| -> Vec<&str> {
            h.iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect()
        };
        assert_eq!(get("x-vqs-queue-name"), ["__wkf_workflow_w"]);
        assert_eq!(get("content-type"), ["application/json"]);
        assert_eq!(get("x-vqs-message-attempt"), ["3"]);
        assert_eq!(get("traceparent"), ["00-ab"]);
        assert!(get("x-wcf-signature").is_empty(), "no secret, no signature");
        let signed = http_headers(&e, 3, "{}", Some("s"), 1000);
        let sig = signed
            .iter()
            .filter(|(k, _)| k == "x-wcf-signature")
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>();
        assert_eq!(sig.len(), 1);
        assert!(signature::verify(
            "s",
            Some(sig[0]),
            "__wkf_workflow_w",
            "msg_1",
            "3",
            b"{}",
            1000
        )
        .is_ok());
        assert_eq!(route_path(&e), ".well-known/workflow/v1/flow");
    }

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        assert_eq!(derived_send_id("a", "r"), derived_send_id("a", "r"));
        assert_ne!(derived_send_id("a", "r"), derived_send_id("a", "h"));
        assert_eq!(derived_send_id("a", "r").len(), 32);
        assert_eq!(hop(&envelope(None)).send_id, derived_send_id("s1", "hop"));
        assert_eq!(attempt(&envelope(None), 3), 3);
        assert_eq!(attempt(&envelope(None), 0), 1);
    }
}
