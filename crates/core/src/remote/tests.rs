//! Signatures and replay claims of the World over HTTP, on real SQLite.

use super::*;
use crate::testing::{Sqlite3, T0};

const SECRET: &str = "remote-s3cret";
const NOW: i64 = T0 / 1000;
const NONCE: u128 = 0x0123_4567_89ab_cdef_0123_4567_89ab_cdef;
const BODY: &[u8] = b"{\"call\":\"getRun\"}";

fn signed(body: &[u8]) -> String {
    sign(SECRET, NOW, NONCE, "POST", "/world", body)
}

/// One request as `verify` sees it.
#[derive(Clone, Copy)]
struct Seen<'a> {
    secret: &'a str,
    header: Option<&'a str>,
    method: &'a str,
    path: &'a str,
    body: &'a [u8],
    now: i64,
}

impl<'a> Seen<'a> {
    /// The request signed with `header`, seen at once.
    fn sent(header: &'a str) -> Seen<'a> {
        Seen {
            secret: SECRET,
            header: Some(header),
            method: "POST",
            path: "/world",
            body: BODY,
            now: NOW,
        }
    }

    fn verify(self) -> Result<Signed, &'static str> {
        verify(
            self.secret,
            self.header,
            self.method,
            self.path,
            self.body,
            self.now,
        )
    }
}

#[test]
fn a_signature_covers_time_nonce_method_path_and_body() {
    let h = signed(BODY);
    let sent = Seen::sent(&h);
    assert_eq!(
        Seen {
            now: NOW + 10,
            ..sent
        }
        .verify(),
        Ok(Signed {
            t: NOW,
            nonce: format!("{NONCE:032x}")
        })
    );
    // Another nonce under the same tag: the nonce is signed.
    let swapped = h.replace(&format!("{NONCE:032x}"), &format!("{:032x}", NONCE + 1));
    let mismatch = "signature does not match";
    let stale = "signature timestamp outside the replay window";
    let cases = [
        (
            "no header",
            Seen {
                header: None,
                ..sent
            },
            "missing x-wcf-world-signature header",
        ),
        (
            "body",
            Seen {
                body: b"{\"call\":\"listRuns\"}",
                ..sent
            },
            mismatch,
        ),
        (
            "secret",
            Seen {
                secret: "other",
                ..sent
            },
            mismatch,
        ),
        (
            "method",
            Seen {
                method: "PUT",
                ..sent
            },
            mismatch,
        ),
        (
            "path",
            Seen {
                path: "/other",
                ..sent
            },
            mismatch,
        ),
        (
            "nonce",
            Seen {
                header: Some(&swapped),
                ..sent
            },
            mismatch,
        ),
        (
            "late",
            Seen {
                now: NOW + WINDOW_SECONDS + 1,
                ..sent
            },
            stale,
        ),
        (
            "early",
            Seen {
                now: NOW - WINDOW_SECONDS - 1,
                ..sent
            },
            stale,
        ),
    ];
    for (case, seen, why) in cases {
        assert_eq!(seen.verify(), Err(why), "{case}");
    }
}

#[test]
fn a_malformed_header_is_refused_by_name() {
    let h = signed(BODY);
    let sent = Seen::sent(&h);
    let malformed = "malformed x-wcf-world-signature header";
    let cases = [
        (
            "no nonce",
            Seen {
                header: Some("t=1,v1=00"),
                ..sent
            },
            malformed,
        ),
        (
            "bad time",
            Seen {
                header: Some("t=x,n=00,v1=00"),
                ..sent
            },
            malformed,
        ),
        (
            "garbage",
            Seen {
                header: Some("garbage"),
                ..sent
            },
            malformed,
        ),
        (
            "short nonce",
            Seen {
                header: Some("t=1,n=short,v1=00"),
                ..sent
            },
            malformed,
        ),
    ];
    for (case, seen, why) in cases {
        assert_eq!(seen.verify(), Err(why), "{case}");
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
