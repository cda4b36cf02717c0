//! Signed HTTP deliveries: when `WORKFLOW_SECRET` is set, the consumer signs each POST to
//! the app and `createQueueHandler` rejects requests without a valid, fresh signature.
//!
//! Header `x-wcf-signature: t=<unix seconds>,v1=<hex HMAC-SHA-256>` over
//! `v1\n<t>\n<queue name>\n<message id>\n<attempt>\n<body>`: the body and the delivery
//! headers are covered, and the timestamp bounds replays.

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const HEADER: &str = "x-wcf-signature";
/// A signature older or newer than this is refused (replay window).
pub const MAX_SKEW_SECONDS: i64 = 300;

fn mac(
    secret: &str,
    t: i64,
    queue_name: &str,
    message_id: &str,
    attempt: &str,
    body: &[u8],
) -> Hmac<Sha256> {
    #[allow(clippy::expect_used)]
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("v1\n{t}\n{queue_name}\n{message_id}\n{attempt}\n").as_bytes());
    mac.update(body);
    mac
}

pub fn sign(
    secret: &str,
    t: i64,
    queue_name: &str,
    message_id: &str,
    attempt: &str,
    body: &[u8],
) -> String {
    let tag = mac(secret, t, queue_name, message_id, attempt, body)
        .finalize()
        .into_bytes();
    format!("t={t},v1={}", hex::encode(tag))
}

/// `Ok` for a valid fresh signature; otherwise why not (for the 401 body).
pub fn verify(
    secret: &str,
    header: Option<&str>,
    queue_name: &str,
    message_id: &str,
    attempt: &str,
    body: &[u8],
    now: i64,
) -> Result<(), &'static str> {
    let header = header.ok_or("missing x-wcf-signature header")?;
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1 = hex::decode(value).ok(),
            _ => {}
        }
    }
    let (t, v1) = t.zip(v1).ok_or("malformed x-wcf-signature header")?;
    if (now - t).abs() > MAX_SKEW_SECONDS {
        return Err("signature timestamp outside the replay window");
    }
    mac(secret, t, queue_name, message_id, attempt, body)
        .verify_slice(&v1)
        .map_err(|_| "signature does not match")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_body_headers_and_time() {
        let h = sign("s3cret", 1000, "__wkf_step_x", "msg_1", "1", b"{\"a\":1}");
        assert!(verify(
            "s3cret",
            Some(&h),
            "__wkf_step_x",
            "msg_1",
            "1",
            b"{\"a\":1}",
            1010
        )
        .is_ok());
        assert_eq!(
            verify("s3cret", None, "__wkf_step_x", "msg_1", "1", b"{}", 1000),
            Err("missing x-wcf-signature header")
        );
        assert_eq!(
            verify(
                "s3cret",
                Some(&h),
                "__wkf_step_x",
                "msg_1",
                "1",
                b"{\"a\":2}",
                1000
            ),
            Err("signature does not match")
        );
        assert!(verify(
            "other",
            Some(&h),
            "__wkf_step_x",
            "msg_1",
            "1",
            b"{\"a\":1}",
            1000
        )
        .is_err());
        assert!(verify(
            "s3cret",
            Some(&h),
            "__wkf_step_y",
            "msg_1",
            "1",
            b"{\"a\":1}",
            1000
        )
        .is_err());
        assert!(verify(
            "s3cret",
            Some(&h),
            "__wkf_step_x",
            "msg_1",
            "2",
            b"{\"a\":1}",
            1000
        )
        .is_err());
        assert_eq!(
            verify(
                "s3cret",
                Some(&h),
                "__wkf_step_x",
                "msg_1",
                "1",
                b"{\"a\":1}",
                1000 + 301
            ),
            Err("signature timestamp outside the replay window")
        );
        assert_eq!(
            verify("s3cret", Some("t=1,v1=zz"), "q", "m", "1", b"", 1),
            Err("malformed x-wcf-signature header")
        );
    }
}
