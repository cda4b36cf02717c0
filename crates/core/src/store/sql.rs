//! SQL text and parameters: a [`Plan`] as one D1 batch, and the reads. Pure, so the
//! same statements run natively against SQLite in the unit tests.

use crate::engine::{Era, Guard, Plan, Reply, Write};
use crate::model::value::to_cbor;
use crate::model::{
    wait_id, Attributes, ErrorValue, Event, Hook, Payload, Run, RunStatus, Step, StepStatus, Value,
    Wait,
};
pub use crate::sql::{Sql, SqlValue, Statement};

fn opt_value(v: &Option<Payload>) -> SqlValue {
    SqlValue::payload(v.as_deref())
}

/// The `error` column: a 4.x run's StructuredError as a CBOR map, a 5.x run's serialized
/// error as the CBOR of the value sent.
pub fn error_value(e: &Option<ErrorValue>) -> SqlValue {
    use crate::model::value::{entry, text};
    match e {
        None => SqlValue::Null,
        Some(ErrorValue::Serialized(p)) => SqlValue::payload(Some(&p.0)),
        Some(ErrorValue::Structured(e)) => {
            let mut m = vec![text("message", e.message.clone())];
            if let Some(s) = &e.stack {
                m.push(text("stack", s.clone()));
            }
            if let Some(c) = &e.code {
                m.push(entry("code", Value::Text(c.clone())));
            }
            SqlValue::Blob(to_cbor(&Value::Map(m)))
        }
    }
}

/// The `attributes` column.
pub fn attributes_value(a: &Attributes) -> SqlValue {
    SqlValue::Blob(to_cbor(&a.to_value()))
}

fn status_list<T: Copy>(statuses: &[T], as_str: fn(T) -> &'static str) -> String {
    // Literals from our own enums, never from input.
    statuses
        .iter()
        .map(|s| format!("'{}'", as_str(*s)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn era_sql(era: Era) -> &'static str {
    match era {
        Era::Legacy => "(spec_version IS NULL OR spec_version <= 1)",
        Era::V4 => "(spec_version >= 2 AND spec_version <= 3)",
        Era::V5 => "(spec_version >= 4 AND spec_version <= 7)",
        Era::Future => "(spec_version > 7)",
    }
}

/// The identifiers a request's guards and writes are relative to.
pub struct Keys<'a> {
    pub run_id: &'a str,
    pub correlation_id: &'a str,
    pub token: Option<&'a str>,
    /// 5.x `hook_received`: the resume it commits.
    pub resume_id: Option<&'a str>,
    pub resume_digest: Option<&'a str>,
    /// 5.x `attr_set` of a workflow writer with a correlation id: the event claims
    /// `(runId, correlationId)` (world-contract-v5 §4.5).
    pub claims_correlation: bool,
    /// The request's time (for writes that do not carry their own).
    pub now: i64,
}

impl Keys<'_> {
    fn wait_id(&self) -> String {
        wait_id(self.run_id, self.correlation_id)
    }
}

fn push_guard(sql: &mut Sql, guard: &Guard, k: &Keys) {
    match guard {
        Guard::RunMissing => {
            sql.push("NOT EXISTS (SELECT 1 FROM runs WHERE run_id = ")
                .bind_text(k.run_id)
                .push(")");
        }
        Guard::Run { statuses, era } => {
            sql.push("EXISTS (SELECT 1 FROM runs WHERE run_id = ")
                .bind_text(k.run_id);
            sql.push(&format!(
                " AND status IN ({}) AND {})",
                status_list(statuses, RunStatus::as_str),
                era_sql(*era)
            ));
        }
        Guard::StepMissing => {
            sql.push("NOT EXISTS (SELECT 1 FROM steps WHERE run_id = ")
                .bind_text(k.run_id);
            sql.push(" AND step_id = ")
                .bind_text(k.correlation_id)
                .push(")");
        }
        Guard::Step { statuses, due_at } => {
            sql.push("EXISTS (SELECT 1 FROM steps WHERE run_id = ")
                .bind_text(k.run_id);
            sql.push(" AND step_id = ").bind_text(k.correlation_id);
            sql.push(&format!(
                " AND status IN ({})",
                status_list(statuses, StepStatus::as_str)
            ));
            if let Some(now) = due_at {
                sql.push(" AND (retry_after IS NULL OR retry_after <= ")
                    .bind(SqlValue::Integer(*now))
                    .push(")");
            }
            sql.push(")");
        }
        Guard::HookMissing => {
            sql.push("NOT EXISTS (SELECT 1 FROM hooks WHERE hook_id = ")
                .bind_text(k.correlation_id)
                .push(")");
        }
        Guard::HookPresent => {
            sql.push("EXISTS (SELECT 1 FROM hooks WHERE hook_id = ")
                .bind_text(k.correlation_id)
                .push(")");
        }
        Guard::TokenFree => {
            sql.push("NOT EXISTS (SELECT 1 FROM hooks WHERE token = ")
                .bind_text(k.token.unwrap_or_default());
            push_hook_live(sql, k.now);
            sql.push(")");
        }
        Guard::TokenHeldBy { run_id, hook_id } => {
            sql.push("EXISTS (SELECT 1 FROM hooks WHERE token = ")
                .bind_text(k.token.unwrap_or_default());
            sql.push(" AND run_id = ")
                .bind_text(run_id)
                .push(" AND hook_id = ")
                .bind_text(hook_id)
                .push(")");
        }
        Guard::HookCreateNotLogged => {
            push_logged(sql, k, "IN ('hook_created', 'hook_conflict')");
            sql.push(" = 0");
        }
        Guard::WaitMissing => {
            sql.push("NOT EXISTS (SELECT 1 FROM waits WHERE wait_id = ")
                .bind_text(&k.wait_id())
                .push(")");
        }
        Guard::Wait(status) => {
            sql.push("EXISTS (SELECT 1 FROM waits WHERE wait_id = ")
                .bind_text(&k.wait_id());
            sql.push(&format!(" AND status = '{}')", status.as_str()));
        }
        Guard::Attributes(a) => {
            sql.push("EXISTS (SELECT 1 FROM runs WHERE run_id = ")
                .bind_text(k.run_id)
                .push(" AND attributes IS ")
                .bind(attributes_value(a))
                .push(")");
        }
        Guard::PurgeOnFinish(p) => {
            sql.push("EXISTS (SELECT 1 FROM runs WHERE run_id = ")
                .bind_text(k.run_id)
                .push(" AND purge_on_finish = ")
                .bind_int(i64::from(*p))
                .push(")");
        }
        Guard::AttrSetNotLogged => {
            push_attr_claimed(sql, k);
            sql.push(" = 0");
        }
        Guard::RunRules(era) => {
            // A legacy run's version may be NULL: counted as 0, so it is a 4.x-rules run.
            let rules = match era {
                Era::Legacy | Era::V4 => "COALESCE(spec_version, 0) <= 3",
                Era::V5 => "COALESCE(spec_version, 0) BETWEEN 4 AND 7",
                Era::Future => "COALESCE(spec_version, 0) > 7",
            };
            sql.push("NOT EXISTS (SELECT 1 FROM runs WHERE run_id = ")
                .bind_text(k.run_id)
                .push(&format!(" AND NOT ({rules}))"));
        }
        Guard::ResumeNotCommitted => {
            sql.push("NOT EXISTS (SELECT 1 FROM slots WHERE run_id = ")
                .bind_text(k.run_id)
                .push(" AND resume_id = ")
                .bind_text(k.resume_id.unwrap_or_default())
                .push(")");
        }
    }
}

/// Whether the run's log (either table: a run has only one) holds an event for the
/// request's correlation id whose type matches `types`: 1 or 0.
fn push_logged(sql: &mut Sql, k: &Keys, types: &str) {
    sql.push("(EXISTS (SELECT 1 FROM events WHERE run_id = ")
        .bind_text(k.run_id);
    sql.push(" AND correlation_id = ")
        .bind_text(k.correlation_id);
    sql.push(&format!(
        " AND event_type {types}) OR EXISTS (SELECT 1 FROM slots WHERE run_id = "
    ))
    .bind_text(k.run_id);
    sql.push(" AND correlation_id = ")
        .bind_text(k.correlation_id);
    sql.push(&format!(" AND event_type {types}))"));
}

/// ` AND` the `hooks` row is live at `now`: not a hook retained past its run's end whose
/// `tokenRetentionUntil` has passed (world-contract-v5 §4.9). Every other row is live:
/// disposal and a run's end delete the rest.
pub fn push_hook_live(sql: &mut Sql, now: crate::model::Millis) {
    sql.push(" AND NOT (hooks.token_retention_until IS NOT NULL AND hooks.token_retention_until <= ")
        .bind_int(now)
        .push(" AND EXISTS (SELECT 1 FROM runs WHERE runs.run_id = hooks.run_id AND runs.status IN ('completed', 'failed', 'cancelled')))");
}

/// Whether an `attr_set` of `(runId, correlationId)` claimed it (a workflow writer's).
fn push_attr_claimed(sql: &mut Sql, k: &Keys) {
    sql.push("EXISTS (SELECT 1 FROM slots WHERE run_id = ")
        .bind_text(k.run_id)
        .push(" AND correlation_id = ")
        .bind_text(k.correlation_id)
        .push(" AND event_type = 'attr_set' AND claims_correlation = 1)");
}

fn push_guards(sql: &mut Sql, guards: &[Guard], k: &Keys) {
    if guards.is_empty() {
        sql.push("1");
    }
    for (i, g) in guards.iter().enumerate() {
        if i > 0 {
            sql.push(" AND ");
        }
        push_guard(sql, g, k);
    }
}

/// When a statement applies: the marker applies while the plan's guards hold; the
/// rest only if the marker was written (or, in the one plan without events, a legacy
/// cancel, while its guards hold: they do not depend on what that plan writes).
enum Condition<'a> {
    Marker(&'a str),
    /// A slot log's marker: the row this batch wrote, `back` slots below the run's last
    /// (its later events of this plan, already inserted, sit above it). The statements of
    /// a batch run one after another, so the last slot is known to each.
    SlotMarker {
        batch_id: i64,
        back: usize,
    },
    Guards(&'a [Guard]),
}

fn push_condition(sql: &mut Sql, c: &Condition, k: &Keys) {
    match c {
        Condition::Marker(event_id) => {
            sql.push("EXISTS (SELECT 1 FROM events WHERE event_id = ")
                .bind_text(event_id)
                .push(")");
        }
        Condition::SlotMarker { batch_id, back } => {
            sql.push("EXISTS (SELECT 1 FROM slots WHERE run_id = ")
                .bind_text(k.run_id)
                .push(" AND batch_id = ")
                .bind_int(*batch_id);
            sql.push(" AND slot = (SELECT MAX(slot) FROM slots WHERE run_id = ")
                .bind_text(k.run_id)
                .push(&format!(") - {back})"));
        }
        Condition::Guards(guards) => push_guards(sql, guards, k),
    }
}

/// A slot run's event: its slot is the run's next, taken in the statement that appends
/// it (world-contract-v5 §3.3).
fn insert_slot_event(
    e: &Event,
    batch_id: i64,
    when: &Condition,
    k: &Keys,
    digest: Option<&str>,
) -> Statement {
    let mut sql = Sql::new(
        "INSERT INTO slots (run_id, slot, event_type, correlation_id, event_data, spec_version, created_at, resume_id, resume_digest, batch_id, claims_correlation) ",
    );
    sql.push_bound(
        "SELECT ?, COALESCE((SELECT MAX(slot) FROM slots WHERE run_id = ?), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE ",
        vec![
            SqlValue::Text(e.run_id.clone()),
            SqlValue::Text(e.run_id.clone()),
            SqlValue::Text(e.event_type.as_str().into()),
            SqlValue::opt_text(e.correlation_id.as_deref()),
            opt_value(&e.event_data),
            SqlValue::Integer(e.spec_version),
            SqlValue::time(e.created_at),
            SqlValue::opt_text(e.resume_id.as_deref()),
            SqlValue::opt_text(digest),
            SqlValue::Integer(batch_id),
            SqlValue::Integer(i64::from(
                k.claims_correlation && e.event_type == crate::model::EventType::AttrSet,
            )),
        ],
    );
    push_condition(&mut sql, when, k);
    sql.finish()
}

fn insert_event(e: &Event, when: &Condition, k: &Keys) -> Statement {
    insert_select(
        "events",
        vec![
            ("event_id", SqlValue::Text(e.event_id.clone())),
            ("run_id", SqlValue::Text(e.run_id.clone())),
            ("event_type", SqlValue::Text(e.event_type.as_str().into())),
            (
                "correlation_id",
                SqlValue::opt_text(e.correlation_id.as_deref()),
            ),
            ("event_data", opt_value(&e.event_data)),
            ("spec_version", SqlValue::Integer(e.spec_version)),
            ("created_at", SqlValue::time(e.created_at)),
        ],
        when,
        k,
    )
}

fn insert_select(table: &str, row: Vec<(&str, SqlValue)>, when: &Condition, k: &Keys) -> Statement {
    let (columns, values): (Vec<&str>, Vec<SqlValue>) = row.into_iter().unzip();
    let mut sql = Sql::new(&format!(
        "INSERT INTO {table} ({}) SELECT ",
        columns.join(", ")
    ));
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(v);
    }
    sql.push(" WHERE ");
    push_condition(&mut sql, when, k);
    sql.finish()
}

fn opt_flag(b: Option<bool>) -> SqlValue {
    SqlValue::opt_int(b.map(i64::from))
}

fn run_row(r: &Run) -> Vec<(&'static str, SqlValue)> {
    let purges = r
        .attributes
        .as_ref()
        .is_some_and(crate::engine::attributes::purges_on_finish);
    vec![
        ("run_id", SqlValue::Text(r.run_id.clone())),
        ("status", SqlValue::Text(r.status.as_str().into())),
        ("deployment_id", SqlValue::Text(r.deployment_id.clone())),
        ("workflow_name", SqlValue::Text(r.workflow_name.clone())),
        ("spec_version", SqlValue::opt_int(r.spec_version)),
        ("execution_context", opt_value(&r.execution_context)),
        ("input", opt_value(&r.input)),
        ("started_at", SqlValue::opt_time(r.started_at)),
        ("created_at", SqlValue::time(r.created_at)),
        ("updated_at", SqlValue::time(r.updated_at)),
        (
            "attributes",
            r.attributes
                .as_ref()
                .map_or(SqlValue::Null, attributes_value),
        ),
        ("purge_on_finish", SqlValue::Integer(i64::from(purges))),
        (
            "encryption_public_key",
            SqlValue::opt_text(r.encryption_public_key.as_deref()),
        ),
    ]
}

fn step_row(s: &Step) -> Vec<(&'static str, SqlValue)> {
    vec![
        ("run_id", SqlValue::Text(s.run_id.clone())),
        ("step_id", SqlValue::Text(s.step_id.clone())),
        ("step_name", SqlValue::Text(s.step_name.clone())),
        ("status", SqlValue::Text(s.status.as_str().into())),
        ("input", opt_value(&s.input)),
        ("attempt", SqlValue::Integer(s.attempt)),
        ("started_at", SqlValue::opt_time(s.started_at)),
        ("created_at", SqlValue::time(s.created_at)),
        ("updated_at", SqlValue::time(s.updated_at)),
        ("spec_version", SqlValue::opt_int(s.spec_version)),
    ]
}

fn hook_row(h: &Hook) -> Vec<(&'static str, SqlValue)> {
    vec![
        ("hook_id", SqlValue::Text(h.hook_id.clone())),
        ("run_id", SqlValue::Text(h.run_id.clone())),
        ("token", SqlValue::Text(h.token.clone())),
        ("metadata", opt_value(&h.metadata)),
        ("is_webhook", opt_flag(h.is_webhook)),
        ("owner_id", SqlValue::Text(h.owner_id.clone())),
        ("project_id", SqlValue::Text(h.project_id.clone())),
        ("environment", SqlValue::Text(h.environment.clone())),
        ("created_at", SqlValue::time(h.created_at)),
        ("spec_version", SqlValue::opt_int(h.spec_version)),
        ("is_system", opt_flag(h.is_system)),
        (
            "token_retention_until",
            SqlValue::opt_time(h.token_retention_until),
        ),
    ]
}

fn wait_row(w: &Wait) -> Vec<(&'static str, SqlValue)> {
    vec![
        ("wait_id", SqlValue::Text(w.wait_id.clone())),
        ("run_id", SqlValue::Text(w.run_id.clone())),
        ("status", SqlValue::Text(w.status.as_str().into())),
        ("resume_at", SqlValue::opt_time(w.resume_at)),
        ("created_at", SqlValue::time(w.created_at)),
        ("updated_at", SqlValue::time(w.updated_at)),
        ("spec_version", SqlValue::opt_int(w.spec_version)),
    ]
}

/// The statement of one write of a plan, guarded by `when`.
fn write_statement(w: &Write, when: &Condition, k: &Keys) -> Statement {
    let update = |set: &str, params: Vec<SqlValue>, table: &str, key: Vec<&str>| {
        guarded_update(set, params, table, &key, when, k)
    };
    let run = vec![k.run_id];
    let step = vec![k.run_id, k.correlation_id];
    match w {
        Write::InsertRun(r) => insert_select("runs", run_row(r), when, k),
        Write::StartRun { now } => update(
            "status = 'running', started_at = COALESCE(started_at, ?), updated_at = ?",
            vec![SqlValue::Integer(*now), SqlValue::Integer(*now)],
            "runs",
            run,
        ),
        Write::FinishRun { status, output, error, error_code, purge: false, now } => update(
            "status = ?, output = ?, error = ?, error_code = ?, completed_at = ?, updated_at = ?",
            vec![
                SqlValue::Text(status.as_str().into()),
                opt_value(output),
                error_value(error),
                SqlValue::opt_text(error_code.as_deref()),
                SqlValue::Integer(*now),
                SqlValue::Integer(*now),
            ],
            "runs",
            run,
        ),
        // `$retention: '0'`: the run's input, output and error go with the status change.
        Write::FinishRun { status, error_code, purge: true, now, .. } => update(
            "status = ?, input = NULL, output = NULL, error = NULL, error_code = ?, expired_at = ?, completed_at = ?, updated_at = ?",
            vec![
                SqlValue::Text(status.as_str().into()),
                SqlValue::opt_text(error_code.as_deref()),
                SqlValue::Integer(*now),
                SqlValue::Integer(*now),
                SqlValue::Integer(*now),
            ],
            "runs",
            run,
        ),
        Write::SetAttributes(a) => update(
            "attributes = ?, purge_on_finish = ?, updated_at = ?",
            vec![
                attributes_value(a),
                SqlValue::Integer(i64::from(crate::engine::attributes::purges_on_finish(a))),
                SqlValue::Integer(k.now),
            ],
            "runs",
            run,
        ),
        Write::DeleteRunHooks | Write::DeleteRunWaits => {
            let table = if matches!(w, Write::DeleteRunHooks) { "hooks" } else { "waits" };
            let mut sql = Sql::new(&format!("DELETE FROM {table} WHERE run_id = "));
            sql.bind_text(k.run_id).push(" AND ");
            if matches!(w, Write::DeleteRunHooks) {
                // A hook retained past its run's end keeps its row and its token until
                // its `tokenRetentionUntil` (world-contract-v5 §4.9).
                sql.push("(token_retention_until IS NULL OR token_retention_until <= ")
                    .bind_int(k.now)
                    .push(") AND ");
            }
            push_condition(&mut sql, when, k);
            sql.finish()
        }
        Write::InsertStep(s) => insert_select("steps", step_row(s), when, k),
        Write::StartStep { now } => update(
            "status = 'running', attempt = attempt + 1, started_at = COALESCE(started_at, ?), retry_after = NULL, updated_at = ?",
            vec![SqlValue::Integer(*now), SqlValue::Integer(*now)],
            "steps",
            step,
        ),
        // A completed step keeps the error of its last retry (contract §2.4).
        Write::FinishStep { status: StepStatus::Completed, output, now, .. } => update(
            "status = 'completed', output = ?, completed_at = ?, updated_at = ?",
            vec![opt_value(output), SqlValue::Integer(*now), SqlValue::Integer(*now)],
            "steps",
            step,
        ),
        Write::FinishStep { status, error, now, .. } => update(
            "status = ?, error = ?, completed_at = ?, updated_at = ?",
            vec![
                SqlValue::Text(status.as_str().into()),
                error_value(error),
                SqlValue::Integer(*now),
                SqlValue::Integer(*now),
            ],
            "steps",
            step,
        ),
        Write::RetryStep { error, retry_after, now } => update(
            "status = 'pending', error = ?, retry_after = ?, updated_at = ?",
            vec![error_value(&Some(error.clone())), SqlValue::opt_int(*retry_after), SqlValue::Integer(*now)],
            "steps",
            step,
        ),
        Write::InsertHook(h) => insert_select("hooks", hook_row(h), when, k),
        Write::DeleteHook => {
            let mut sql = Sql::new("DELETE FROM hooks WHERE hook_id = ");
            sql.bind_text(k.correlation_id).push(" AND ");
            push_condition(&mut sql, when, k);
            sql.finish()
        }
        Write::ReleaseExpiredToken => {
            let mut sql = Sql::new("DELETE FROM hooks WHERE token = ");
            sql.bind_text(k.token.unwrap_or_default())
                .push(" AND NOT (1");
            push_hook_live(&mut sql, k.now);
            sql.push(") AND ");
            push_condition(&mut sql, when, k);
            sql.finish()
        }
        Write::InsertWait(w) => insert_select("waits", wait_row(w), when, k),
        Write::CompleteWait { now } => update(
            "status = 'completed', completed_at = ?, updated_at = ?",
            vec![SqlValue::Integer(*now), SqlValue::Integer(*now)],
            "waits",
            vec![&k.wait_id()],
        ),
    }
}

/// `UPDATE <table> SET <set> WHERE <key> AND <condition>`: `set` holds a `?` per value of
/// `params`, in order; `key` is the row's key values (run; run and step; wait).
fn guarded_update(
    set: &str,
    params: Vec<SqlValue>,
    table: &str,
    key: &[&str],
    when: &Condition,
    k: &Keys,
) -> Statement {
    let mut sql = Sql::new(&format!("UPDATE {table} SET "));
    // `set` holds `?` placeholders in order for `params`.
    let mut parts = set.split('?');
    if let Some(first) = parts.next() {
        sql.push(first);
    }
    for (p, rest) in params.into_iter().zip(parts) {
        sql.bind(p).push(rest);
    }
    sql.push(" WHERE ");
    match table {
        "runs" => {
            sql.push("run_id = ").bind_text(key[0]);
        }
        "steps" => {
            sql.push("run_id = ")
                .bind_text(key[0])
                .push(" AND step_id = ")
                .bind_text(key[1]);
        }
        _ => {
            sql.push("wait_id = ").bind_text(key[0]);
        }
    }
    sql.push(" AND ");
    push_condition(&mut sql, when, k);
    sql.finish()
}

/// The one statement that reads everything a request's decision can depend on
/// (the engine's `Snapshot`); one row.
pub fn snapshot(k: &Keys) -> Statement {
    let mut sql = Sql::new("SELECT (SELECT status FROM runs WHERE run_id = ");
    sql.bind_text(k.run_id)
        .push(") AS run_status, (SELECT spec_version FROM runs WHERE run_id = ");
    sql.bind_text(k.run_id)
        .push(") AS run_spec_version, (SELECT status FROM steps WHERE run_id = ");
    sql.bind_text(k.run_id)
        .push(" AND step_id = ")
        .bind_text(k.correlation_id);
    sql.push(") AS step_status, (SELECT retry_after FROM steps WHERE run_id = ")
        .bind_text(k.run_id);
    sql.push(" AND step_id = ").bind_text(k.correlation_id);
    sql.push(") AS step_retry_after, (SELECT run_id FROM hooks WHERE hook_id = ")
        .bind_text(k.correlation_id);
    sql.push(") AS hook_run_id, (SELECT token FROM hooks WHERE hook_id = ")
        .bind_text(k.correlation_id);
    sql.push(") AS hook_token, (SELECT run_id FROM hooks WHERE token = ")
        .bind_text(k.token.unwrap_or_default());
    push_hook_live(&mut sql, k.now);
    sql.push(") AS holder_run_id, (SELECT hook_id FROM hooks WHERE token = ")
        .bind_text(k.token.unwrap_or_default());
    push_hook_live(&mut sql, k.now);
    sql.push(") AS holder_hook_id, (SELECT status FROM waits WHERE wait_id = ")
        .bind_text(&k.wait_id());
    sql.push(") AS wait_status, ");
    push_logged(&mut sql, k, "IN ('hook_created', 'hook_conflict')");
    sql.push(" AS hook_create_logged, (SELECT attributes FROM runs WHERE run_id = ")
        .bind_text(k.run_id);
    sql.push(") AS run_attributes, (SELECT purge_on_finish FROM runs WHERE run_id = ")
        .bind_text(k.run_id);
    sql.push(") AS run_purge_on_finish, ");
    // Only a claiming attr_set reads it (and a 4.x request never meets the column).
    if k.claims_correlation {
        push_attr_claimed(&mut sql, k);
    } else {
        sql.push("0");
    }
    sql.push(" AS attr_set_logged");
    if k.token.is_some() {
        sql.push(", (SELECT slot FROM slots WHERE run_id = ")
            .bind_text(k.run_id)
            .push(" AND correlation_id = ")
            .bind_text(k.correlation_id)
            .push(" AND event_type = 'hook_conflict') AS hook_conflict_slot");
    }
    if let Some(resume_id) = k.resume_id {
        for (column, alias) in [
            ("slot", "resume_slot"),
            ("correlation_id", "resume_hook_id"),
            ("resume_digest", "resume_digest"),
        ] {
            sql.push(&format!(", (SELECT {column} FROM slots WHERE run_id = "))
                .bind_text(k.run_id)
                .push(" AND resume_id = ")
                .bind_text(resume_id)
                .push(&format!(") AS {alias}"));
        }
    }
    sql.finish()
}

/// Where each part of a plan's batch is, to read its results.
#[derive(Clone, Debug, Default)]
pub struct PlanBatch {
    pub statements: Vec<Statement>,
    /// The statement whose single changed row means the plan committed.
    pub marker: usize,
    pub reads: ReplyReads,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplyReads {
    pub run: Option<usize>,
    pub step: Option<usize>,
    pub hook: Option<usize>,
    pub wait: Option<usize>,
    /// A 4.x run's preloaded log.
    pub log: Option<usize>,
    /// A slot run: the plan's own events as committed (with their slots).
    pub ours: Option<usize>,
    /// A slot run: its log after a slot (the preload, a delta or a report).
    pub span: Option<usize>,
}

/// How many events `run_started` preloads (contract §3.4.2); more are paged by the runtime.
/// A slot run's delta or report of skipped slots is bounded the same way.
pub const PRELOAD_LIMIT: i64 = 1000;

/// What a slot run's reply reads of its log.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SlotReads {
    /// How many events the plan appends (read back last).
    pub ours: usize,
    /// Read the log after this slot too, up to [`PRELOAD_LIMIT`] + 1 events.
    pub span_from: Option<i64>,
}

fn slot_span(k: &Keys, from: i64) -> Statement {
    let mut sql = Sql::new("SELECT * FROM slots WHERE run_id = ");
    sql.bind_text(k.run_id)
        .push(" AND slot > ")
        .bind_int(from)
        .push(" ORDER BY slot ASC LIMIT ")
        .bind_int(PRELOAD_LIMIT + 1);
    sql.finish()
}

/// The run's last `n` events: after a commit, the plan's own.
fn slot_tail(k: &Keys, n: usize) -> Statement {
    let mut sql = Sql::new("SELECT * FROM slots WHERE run_id = ");
    sql.bind_text(k.run_id)
        .push(" AND slot > (SELECT MAX(slot) FROM slots WHERE run_id = ")
        .bind_text(k.run_id)
        .push(&format!(") - {n} ORDER BY slot ASC"));
    sql.finish()
}

/// One event of a slot log.
pub fn slot_event(run_id: &str, slot: i64) -> Statement {
    let mut sql = Sql::new("SELECT * FROM slots WHERE run_id = ");
    sql.bind_text(run_id)
        .push(" AND slot = ")
        .bind_int(slot)
        .finish()
}

/// Appends the reads a reply needs to `statements`: for a slot run (`slots`), its log
/// reads instead of the 4.x preload.
pub fn reply_reads(
    statements: &mut Vec<Statement>,
    reply: &Reply,
    k: &Keys,
    slots: Option<&SlotReads>,
) -> ReplyReads {
    let mut reads = ReplyReads::default();
    let mut add = |s: Statement| {
        statements.push(s);
        Some(statements.len() - 1)
    };
    if reply.run {
        reads.run = add(Sql::new("SELECT * FROM runs WHERE run_id = ")
            .bind_text(k.run_id)
            .finish());
    }
    if reply.step {
        let mut sql = Sql::new("SELECT * FROM steps WHERE run_id = ");
        reads.step = add(sql
            .bind_text(k.run_id)
            .push(" AND step_id = ")
            .bind_text(k.correlation_id)
            .finish());
    }
    if reply.hook {
        reads.hook = add(Sql::new("SELECT * FROM hooks WHERE hook_id = ")
            .bind_text(k.correlation_id)
            .finish());
    }
    if reply.wait {
        reads.wait = add(Sql::new("SELECT * FROM waits WHERE wait_id = ")
            .bind_text(&k.wait_id())
            .finish());
    }
    match slots {
        Some(slots) => {
            if slots.ours > 0 {
                reads.ours = add(slot_tail(k, slots.ours));
            }
            if let Some(from) = slots.span_from {
                reads.span = add(slot_span(k, from));
            }
        }
        None if reply.log => {
            let mut sql = Sql::new("SELECT * FROM events WHERE run_id = ");
            sql.bind_text(k.run_id)
                .push(" ORDER BY seq ASC LIMIT ")
                .bind(SqlValue::Integer(PRELOAD_LIMIT + 1));
            reads.log = add(sql.finish());
        }
        None => {}
    }
    reads
}

/// The batch for `plan`: the snapshot read, the guarded marker, everything else
/// conditional on the marker, then the reads of the reply. One round trip. A slot run's
/// events are numbered inside the batch, and `batch_id` marks the rows it writes.
pub fn plan_batch(plan: &Plan, k: &Keys, batch_id: i64, span_from: Option<i64>) -> PlanBatch {
    let mut statements = vec![snapshot(k)];
    let marker = statements.len();
    let writes = plan.writes.iter();
    match plan.events.split_first() {
        Some((first, rest)) if plan.slots => {
            let digest = |e: &Event| e.resume_id.as_ref().and(k.resume_digest);
            statements.push(insert_slot_event(
                first,
                batch_id,
                &Condition::Guards(&plan.guards),
                k,
                digest(first),
            ));
            for w in writes {
                statements.push(write_statement(
                    w,
                    &Condition::SlotMarker { batch_id, back: 0 },
                    k,
                ));
            }
            for (back, e) in rest.iter().enumerate() {
                let when = Condition::SlotMarker { batch_id, back };
                statements.push(insert_slot_event(e, batch_id, &when, k, digest(e)));
            }
        }
        Some((first, rest)) => {
            statements.push(insert_event(first, &Condition::Guards(&plan.guards), k));
            let when = Condition::Marker(&first.event_id);
            for e in rest {
                statements.push(insert_event(e, &when, k));
            }
            for w in writes {
                statements.push(write_statement(w, &when, k));
            }
        }
        None => {
            let when = Condition::Guards(&plan.guards);
            for w in writes {
                statements.push(write_statement(w, &when, k));
            }
        }
    }
    let slot_reads = plan.slots.then_some(SlotReads {
        ours: plan.events.len(),
        span_from,
    });
    let reads = reply_reads(&mut statements, &plan.reply, k, slot_reads.as_ref());
    PlanBatch {
        statements,
        marker,
        reads,
    }
}
