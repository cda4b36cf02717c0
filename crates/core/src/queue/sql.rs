//! The queue's statements (`migrations/0002_queue.sql`): idempotency claims and delivery
//! records. Pure; the flows in `queue/mod.rs` run them.

use super::{Envelope, CLAIM_GRACE_MS, DELIVERY_RECORD_TTL_MS, DONE_CLAIM_TTL_MS, LEASE_MS};
use crate::model::Millis;
use crate::sql::{first_row, QueryResult, Sql, SqlValue, Statement};

/// Claims `key` for `message_id` unless a live claim holds it; the second statement
/// reads who holds it now (this message, or the earlier one whose id `queue()` returns).
pub fn claim(key: &str, message_id: &str, now: Millis, expires_at: Millis) -> Vec<Statement> {
    let mut claim = Sql::new(
        "INSERT INTO queue_claims (idempotency_key, message_id, state, expires_at, updated_at) VALUES (",
    );
    claim
        .bind_text(key)
        .push(", ")
        .bind_text(message_id)
        .push(", 'queued', ")
        .bind_int(expires_at);
    claim.push(", ").bind_int(now).push(
        ") ON CONFLICT (idempotency_key) DO UPDATE SET message_id = excluded.message_id, state = 'queued', \
         expires_at = excluded.expires_at, updated_at = excluded.updated_at WHERE queue_claims.expires_at <= ",
    );
    claim.bind_int(now);
    let mut holder = Sql::new("SELECT message_id FROM queue_claims WHERE idempotency_key = ");
    vec![claim.finish(), holder.bind_text(key).finish()]
}

/// The message holding the key, from the results of [`claim`].
pub fn claim_holder(results: &[QueryResult]) -> Option<String> {
    first_row(results, 1)?.opt_text("message_id").ok()?
}

pub fn release_claim(key: &str, message_id: &str) -> Statement {
    let mut sql = Sql::new("DELETE FROM queue_claims WHERE idempotency_key = ");
    sql.bind_text(key)
        .push(" AND message_id = ")
        .bind_text(message_id)
        .finish()
}

/// Keeps the envelope's queued claim alive at least until `until`.
pub fn extend_claim(e: &Envelope, until: Millis, now: Millis) -> Option<Statement> {
    let key = e.idempotency_key.as_deref()?;
    let mut sql = Sql::new("UPDATE queue_claims SET expires_at = MAX(expires_at, ");
    sql.bind_int(until).push("), updated_at = ").bind_int(now);
    sql.push(" WHERE idempotency_key = ")
        .bind_text(key)
        .push(" AND message_id = ")
        .bind_text(&e.message_id);
    Some(sql.finish())
}

/// The claim of a handled message: it keeps repeated `queue()` calls with its key from
/// sending again for [`DONE_CLAIM_TTL_MS`].
pub fn finish_claim(e: &Envelope, now: Millis) -> Option<Statement> {
    let key = e.idempotency_key.as_deref()?;
    let mut done = Sql::new("UPDATE queue_claims SET state = 'done', expires_at = ");
    done.bind_int(now + DONE_CLAIM_TTL_MS)
        .push(", updated_at = ")
        .bind_int(now);
    done.push(" WHERE idempotency_key = ")
        .bind_text(key)
        .push(" AND message_id = ")
        .bind_text(&e.message_id);
    Some(done.finish())
}

/// Takes the send's delivery record (a lease), then reads it back; with the claim kept
/// alive past the lease. A running delivery is taken over when its lease ran out, or when
/// this is a later Cloudflare attempt of the same send than the holder's: Cloudflare only
/// redelivers after the earlier attempt ended, so that holder is gone.
pub fn take_lease(e: &Envelope, cf_attempts: i64, now: Millis) -> Vec<Statement> {
    let mut take = Sql::new(
        "INSERT INTO queue_deliveries (send_id, message_id, run_id, state, lease_until, updated_at, holder_attempt) VALUES (",
    );
    take.bind_text(&e.send_id)
        .push(", ")
        .bind_text(&e.message_id)
        .push(", ")
        .bind(e.run_id.clone().map_or(SqlValue::Null, SqlValue::Text))
        .push(", 'running', ");
    take.bind_int(now + LEASE_MS)
        .push(", ")
        .bind_int(now)
        .push(", ")
        .bind_int(cf_attempts.max(1));
    take.push(
        ") ON CONFLICT (send_id) DO UPDATE SET state = 'running', lease_until = excluded.lease_until, \
         updated_at = excluded.updated_at, holder_attempt = excluded.holder_attempt \
         WHERE queue_deliveries.state = 'running' AND (queue_deliveries.lease_until <= ",
    );
    take.bind_int(now)
        .push(" OR queue_deliveries.holder_attempt < excluded.holder_attempt)");
    // The target run's line is read with the lease: routing costs no round trip.
    let run_id = e.run_id.as_deref().unwrap_or("");
    let mut record = Sql::new("SELECT state, lease_until, (SELECT 1 FROM runs WHERE run_id = ");
    record
        .bind_text(run_id)
        .push(") AS run_exists, (SELECT spec_version FROM runs WHERE run_id = ")
        .bind_text(run_id)
        .push(") AS run_spec_version FROM queue_deliveries WHERE send_id = ")
        .bind_text(&e.send_id);
    let mut statements = vec![take.finish(), record.finish()];
    statements.extend(extend_claim(e, now + LEASE_MS + CLAIM_GRACE_MS, now));
    statements
}

/// What [`take_lease`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct LeaseRecord {
    /// This delivery holds the lease now.
    pub taken: bool,
    /// The record's state after the attempt (`running` or `done`).
    pub done: bool,
    pub lease_until: Option<Millis>,
    /// The target run's stored spec version, `Some` when the run exists.
    pub run: Option<Option<i64>>,
}

pub fn lease_record(results: &[QueryResult]) -> LeaseRecord {
    let row = first_row(results, 1);
    LeaseRecord {
        taken: results.first().map(|r| r.changes) == Some(1),
        done: row
            .and_then(|r| r.opt_text("state").ok().flatten())
            .as_deref()
            == Some("done"),
        lease_until: row.and_then(|r| r.int("lease_until").ok()),
        run: row
            .filter(|r| r.opt_int("run_exists").ok().flatten().is_some())
            .map(|r| r.opt_int("run_spec_version").ok().flatten()),
    }
}

/// Gives up a running delivery's lease, so the next delivery of the send takes it at once.
pub fn release_lease(e: &Envelope, now: Millis) -> Statement {
    release(e, now, "")
}

/// [`release_lease`] after a handler ran and failed: the invocation is counted.
pub fn release_after_run(e: &Envelope, now: Millis) -> Statement {
    release(e, now, "handled = handled + 1, ")
}

fn release(e: &Envelope, now: Millis, also: &str) -> Statement {
    let mut release = Sql::new(&format!(
        "UPDATE queue_deliveries SET {also}lease_until = 0, updated_at = "
    ));
    release
        .bind_int(now)
        .push(" WHERE send_id = ")
        .bind_text(&e.send_id);
    release.push(" AND state = 'running'").finish()
}

// Finishing leaves `updated_at` (indexed) as the lease's last take or release, at most one
// lease (15 min) before the finish: the done record still ages out after about
// DELIVERY_RECORD_TTL_MS, and the finish writes one D1 row instead of two.

/// The send's delivery is finished: later copies of it are acknowledged.
pub fn mark_done(e: &Envelope) -> Statement {
    let mut done = Sql::new("UPDATE queue_deliveries SET state = 'done' WHERE send_id = ");
    done.bind_text(&e.send_id);
    done.finish()
}

/// A delivery whose handler ran: done, and one more invocation counted for its send.
pub fn mark_handled(e: &Envelope) -> Statement {
    let mut done = Sql::new(
        "UPDATE queue_deliveries SET state = 'done', handled = handled + 1 WHERE send_id = ",
    );
    done.bind_text(&e.send_id);
    done.finish()
}

/// Claims past their time and delivery records too old to meet a duplicate.
pub fn expire_records(now: Millis) -> Vec<Statement> {
    let mut claims = Sql::new("DELETE FROM queue_claims WHERE expires_at < ");
    let mut deliveries =
        Sql::new("DELETE FROM queue_deliveries WHERE state = 'done' AND updated_at < ");
    vec![
        claims.bind(SqlValue::Integer(now)).finish(),
        deliveries
            .bind(SqlValue::Integer(now - DELIVERY_RECORD_TTL_MS))
            .finish(),
    ]
}
