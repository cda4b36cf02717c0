//! Signatures and replay claims of the World over HTTP, on real SQLite.

use super::*;
use crate::testing::{Sqlite3, T0};

const SECRET: &str = "remote-s3cret";
const NOW: i64 = T0 / 1000;
const NONCE: u128 = 0x0123_4567_89ab_cdef_0123_4567_89ab_cdef;

fn signed(body: &[u8]) -> String {
    sign(SECRET, NOW, NONCE, "POST", "/world", body)
}

#[test]
fn a_signature_covers_time_nonce_method_path_and_body() {
    let h = signed(b"{\"call\":\"getRun\"}");
    let ok = verify(
        SECRET,
        Some(&h),
        "POST",
        "/world",
        b"{\"call\":\"getRun\"}",
        NOW + 10,
    );
    assert_eq!(
        ok,
        Ok(Signed {
            t: NOW,
            nonce: format!("{NONCE:032x}")
        })
    );
    let refused =
        |secret: &str, header: Option<&str>, method: &str, path: &str, body: &[u8], now| {
            verify(secret, header, method, path, body, now).unwrap_err()
        };
    let body = b"{\"call\":\"getRun\"}".as_slice();
    assert_eq!(
        refused(SECRET, None, "POST", "/world", body, NOW),
        "missing x-wcf-world-signature header"
    );
    assert_eq!(
        refused(
            SECRET,
            Some(&h),
            "POST",
            "/world",
            b"{\"call\":\"listRuns\"}",
            NOW
        ),
        "signature does not match"
    );
    assert_eq!(
        refused("other", Some(&h), "POST", "/world", body, NOW),
        "signature does not match"
    );
    assert_eq!(
        refused(SECRET, Some(&h), "PUT", "/world", body, NOW),
        "signature does not match"
    );
    assert_eq!(
        refused(SECRET, Some(&h), "POST", "/other", body, NOW),
        "signature does not match"
    );
    assert_eq!(
        refused(
            SECRET,
            Some(&h),
            "POST",
            "/world",
            body,
            NOW + WINDOW_SECONDS + 1
        ),
        "signature timestamp outside the replay window"
    );
    assert_eq!(
        refused(
            SECRET,
            Some(&h),
            "POST",
            "/world",
            body,
            NOW - WINDOW_SECONDS - 1
        ),
        "signature timestamp outside the replay window"
    );
    // Another nonce under the same tag: the nonce is signed.
    let swapped = h.replace(&format!("{NONCE:032x}"), &format!("{:032x}", NONCE + 1));
    assert_eq!(
        refused(SECRET, Some(&swapped), "POST", "/world", body, NOW),
        "signature does not match"
    );
    for malformed in [
        "t=1,v1=00",
        "t=x,n=00,v1=00",
        "garbage",
        "t=1,n=short,v1=00",
    ] {
        assert_eq!(
            refused(SECRET, Some(malformed), "POST", "/world", body, NOW),
            "malformed x-wcf-world-signature header",
            "{malformed}"
        );
    }
}

/// The admitted request signed at unix second `t` with `nonce`, as `verify` returns it.
fn admitted(t: i64, nonce: u128) -> Signed {
    let header = sign(SECRET, t, nonce, "POST", "/world", b"{}");
    verify(SECRET, Some(&header), "POST", "/world", b"{}", t).unwrap()
}

#[test]
fn a_request_is_served_once_and_claims_end_with_the_window() {
    let db = Sqlite3::new();
    let claim_at =
        |signed: &Signed, now: Millis| futures_executor::block_on(claim(&db, signed, now)).unwrap();
    let first = admitted(NOW, NONCE);
    assert!(claim_at(&first, T0), "the first time is served");
    assert!(
        !claim_at(&first, T0 + 1_000),
        "the same request again is a replay"
    );
    assert!(
        claim_at(&admitted(NOW, NONCE + 1), T0),
        "another nonce in the same second is another request"
    );
    let count = || {
        db.run(&[Statement {
            sql: "SELECT count(*) AS n FROM remote_requests".into(),
            params: vec![],
        }])
        .unwrap()[0]
            .rows[0]
            .int("n")
            .unwrap()
    };
    assert_eq!(count(), 2);
    // Past the window the claims are forgotten; verify() refuses those requests as stale.
    assert!(claim_at(&admitted(NOW + 400, NONCE), T0 + 400_000));
    assert_eq!(count(), 1, "claims older than the window are pruned");
}
