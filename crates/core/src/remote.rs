//! The World over HTTP (`serveWorld` in a Worker, `@workflow/world-cloudflare/remote` in
//! Node): who may call it. Every request is signed with `WORKFLOW_REMOTE_SECRET`, and a
//! request is served only once: its `(time, nonce)` is claimed in D1
//! (`migrations/0007_remote_requests.sql`) before the call runs.
//!
//! Header `x-wcf-world-signature: t=<unix seconds>,n=<nonce>,v1=<hex HMAC-SHA-256>` over
//! `world-v1\n<t>\n<nonce>\n<HTTP method>\n<path>\n<body>`. The nonce makes two identical
//! calls in one second two requests; the window bounds how long a claim must be kept.

use crate::model::{Millis, WorldError};
use crate::ports::{batch, Database};
use crate::signed_header::{Covered, Scheme};
use crate::sql::{Sql, Statement};

pub const HEADER: &str = "x-wcf-world-signature";
/// A signature older or newer than this is refused, and a claim is kept this long.
pub const WINDOW_SECONDS: i64 = 300;

const SCHEME: Scheme = Scheme {
    version: "world-v1",
    window_seconds: WINDOW_SECONDS,
    nonce: true,
    missing: "missing x-wcf-world-signature header",
    malformed: "malformed x-wcf-world-signature header",
};

/// The header of one request at unix second `t` with a fresh `nonce` (128 random bits).
pub fn sign(secret: &str, t: i64, nonce: u128, method: &str, path: &str, body: &[u8]) -> String {
    let nonce = format!("{nonce:032x}");
    SCHEME.sign(
        secret,
        &Covered {
            t,
            nonce: Some(&nonce),
            fields: &[method, path],
            body,
        },
    )
}

/// A request whose signature holds: what [`claim`] must record.
#[derive(Debug, PartialEq)]
pub struct Signed {
    pub t: i64,
    pub nonce: String,
}

/// Why a request is refused (the 401 body), checked without any I/O.
pub fn verify(
    secret: &str,
    header: Option<&str>,
    method: &str,
    path: &str,
    body: &[u8],
    now_seconds: i64,
) -> Result<Signed, &'static str> {
    let verified = SCHEME.verify(secret, header, &[method, path], body, now_seconds)?;
    Ok(Signed {
        t: verified.t,
        nonce: verified.nonce.unwrap_or_default().to_owned(),
    })
}

/// Records the request as served, and forgets claims older than the window (a refused
/// replay of one of those is stale anyway): one round trip.
fn claim_statements(signed: &Signed, now: Millis) -> Vec<Statement> {
    let mut insert = Sql::new("INSERT INTO remote_requests (t, nonce) VALUES (");
    insert
        .bind_int(signed.t)
        .push(", ")
        .bind_text(&signed.nonce)
        .push(") ON CONFLICT DO NOTHING");
    let mut prune = Sql::new("DELETE FROM remote_requests WHERE t < ");
    prune.bind_int(now / 1000 - WINDOW_SECONDS);
    vec![insert.finish(), prune.finish()]
}

/// `Ok(true)` when this is the first time the request is served; `Ok(false)` for a replay.
pub async fn claim<D: Database>(db: &D, signed: &Signed, now: Millis) -> Result<bool, WorldError> {
    let results = batch(db, claim_statements(signed, now)).await?;
    Ok(results.first().is_some_and(|r| r.changes == 1))
}

#[cfg(all(test, not(feature = "js")))]
mod tests;
