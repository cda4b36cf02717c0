//! Signed HTTP deliveries: when `WORKFLOW_SECRET` is set, the consumer signs each POST to
//! the app and `createQueueHandler` rejects requests without a valid, fresh signature.
//!
//! Header `x-wcf-signature: t=<unix seconds>,v1=<hex HMAC-SHA-256>` over
//! `v1\n<t>\n<queue name>\n<message id>\n<attempt>\n<body>`: the body and the delivery
//! headers are covered, and the timestamp bounds replays.

use crate::signed_header::{Covered, Scheme};

pub const HEADER: &str = "x-wcf-signature";

const SCHEME: Scheme = Scheme {
    version: "v1",
    window_seconds: 300,
    nonce: false,
    missing: "missing x-wcf-signature header",
    malformed: "malformed x-wcf-signature header",
};

pub fn sign(
    secret: &str,
    t: i64,
    queue_name: &str,
    message_id: &str,
    attempt: &str,
    body: &[u8],
) -> String {
    SCHEME.sign(
        secret,
        &Covered {
            t,
            nonce: None,
            fields: &[queue_name, message_id, attempt],
            body,
        },
    )
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
    SCHEME
        .verify(
            secret,
            header,
            &[queue_name, message_id, attempt],
            body,
            now,
        )
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_cover_body_headers_and_time() {
        const BODY: &[u8] = b"{\"a\":1}";
        let h = sign("s3cret", 1000, "__wkf_step_x", "msg_1", "1", BODY);
        let check = |secret, queue, attempt, body, now| {
            verify(secret, Some(&h), queue, "msg_1", attempt, body, now)
        };
        assert!(check("s3cret", "__wkf_step_x", "1", BODY, 1010).is_ok());
        assert_eq!(
            verify("s3cret", None, "__wkf_step_x", "msg_1", "1", b"{}", 1000),
            Err("missing x-wcf-signature header")
        );
        assert_eq!(
            check("s3cret", "__wkf_step_x", "1", b"{\"a\":2}", 1000),
            Err("signature does not match")
        );
        // Another secret, queue or attempt: each refused.
        assert!(check("other", "__wkf_step_x", "1", BODY, 1000).is_err());
        assert!(check("s3cret", "__wkf_step_y", "1", BODY, 1000).is_err());
        assert!(check("s3cret", "__wkf_step_x", "2", BODY, 1000).is_err());
        assert_eq!(
            check("s3cret", "__wkf_step_x", "1", BODY, 1000 + 301),
            Err("signature timestamp outside the replay window")
        );
        assert_eq!(
            verify("s3cret", Some("t=1,v1=zz"), "q", "m", "1", b"", 1),
            Err("malformed x-wcf-signature header")
        );
    }
}
