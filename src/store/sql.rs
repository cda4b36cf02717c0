//! SQL text and parameters: a [`Plan`] as one D1 batch, and the reads. Pure, so the
//! same statements run natively against SQLite in the unit tests.

use crate::engine::{Era, Guard, Plan, Reply, Write};
use crate::model::value::to_cbor;
use crate::model::{
    wait_id, Event, Hook, Payload, Run, RunStatus, Step, StepStatus, StructuredError, Value, Wait,
};
pub use crate::sql::{Sql, SqlValue, Statement};

fn opt_int(v: Option<i64>) -> SqlValue {
    SqlValue::opt_int(v)
}

fn opt_value(v: &Option<Payload>) -> SqlValue {
    SqlValue::payload(v.as_deref())
}

pub fn error_value(e: &Option<StructuredError>) -> SqlValue {
    use crate::model::value::{entry, text};
    e.as_ref().map_or(SqlValue::Null, |e| {
        let mut m = vec![text("message", e.message.clone())];
        if let Some(s) = &e.stack {
            m.push(text("stack", s.clone()));
        }
        if let Some(c) = &e.code {
            m.push(entry("code", Value::Text(c.clone())));
        }
        SqlValue::Blob(to_cbor(&Value::Map(m)))
    })
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
        Era::Current => "(spec_version >= 2 AND spec_version <= 3)",
        Era::TooNew => "(spec_version > 3)",
    }
}

/// The identifiers a request's guards and writes are relative to.
pub struct Keys<'a> {
    pub run_id: &'a str,
    pub correlation_id: &'a str,
    pub token: Option<&'a str>,
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
                .bind_text(k.token.unwrap_or_default())
                .push(")");
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
            sql.push("NOT EXISTS (SELECT 1 FROM events WHERE run_id = ")
                .bind_text(k.run_id);
            sql.push(" AND correlation_id = ")
                .bind_text(k.correlation_id);
            sql.push(" AND event_type IN ('hook_created', 'hook_conflict'))");
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
    }
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
    Guards(&'a [Guard]),
}

fn push_condition(sql: &mut Sql, c: &Condition, k: &Keys) {
    match c {
        Condition::Marker(event_id) => {
            sql.push("EXISTS (SELECT 1 FROM events WHERE event_id = ")
                .bind_text(event_id)
                .push(")");
        }
        Condition::Guards(guards) => push_guards(sql, guards, k),
    }
}

fn insert_event(e: &Event, when: &Condition, k: &Keys) -> Statement {
    let mut sql = Sql::new(
        "INSERT INTO events (event_id, run_id, event_type, correlation_id, event_data, spec_version, created_at) SELECT ",
    );
    sql.bind_text(&e.event_id)
        .push(", ")
        .bind_text(&e.run_id)
        .push(", ")
        .bind_text(e.event_type.as_str());
    sql.push(", ").bind(
        e.correlation_id
            .as_ref()
            .map_or(SqlValue::Null, |c| SqlValue::Text(c.clone())),
    );
    sql.push(", ")
        .bind(opt_value(&e.event_data))
        .push(", ")
        .bind(SqlValue::Integer(e.spec_version));
    sql.push(", ")
        .bind(SqlValue::time(e.created_at))
        .push(" WHERE ");
    push_condition(&mut sql, when, k);
    sql.finish()
}

fn insert_select(
    table: &str,
    columns: &[&str],
    values: Vec<SqlValue>,
    when: &Condition,
    k: &Keys,
) -> Statement {
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

fn run_values(r: &Run) -> Vec<SqlValue> {
    vec![
        SqlValue::Text(r.run_id.clone()),
        SqlValue::Text(r.status.as_str().into()),
        SqlValue::Text(r.deployment_id.clone()),
        SqlValue::Text(r.workflow_name.clone()),
        opt_int(r.spec_version),
        opt_value(&r.execution_context),
        opt_value(&r.input),
        SqlValue::opt_time(r.started_at),
        SqlValue::time(r.created_at),
        SqlValue::time(r.updated_at),
    ]
}

const RUN_INSERT_COLUMNS: &[&str] = &[
    "run_id",
    "status",
    "deployment_id",
    "workflow_name",
    "spec_version",
    "execution_context",
    "input",
    "started_at",
    "created_at",
    "updated_at",
];

fn step_values(s: &Step) -> Vec<SqlValue> {
    vec![
        SqlValue::Text(s.run_id.clone()),
        SqlValue::Text(s.step_id.clone()),
        SqlValue::Text(s.step_name.clone()),
        SqlValue::Text(s.status.as_str().into()),
        opt_value(&s.input),
        SqlValue::Integer(s.attempt),
        SqlValue::time(s.created_at),
        SqlValue::time(s.updated_at),
        opt_int(s.spec_version),
    ]
}

const STEP_INSERT_COLUMNS: &[&str] = &[
    "run_id",
    "step_id",
    "step_name",
    "status",
    "input",
    "attempt",
    "created_at",
    "updated_at",
    "spec_version",
];

fn hook_values(h: &Hook) -> Vec<SqlValue> {
    vec![
        SqlValue::Text(h.hook_id.clone()),
        SqlValue::Text(h.run_id.clone()),
        SqlValue::Text(h.token.clone()),
        opt_value(&h.metadata),
        h.is_webhook
            .map_or(SqlValue::Null, |b| SqlValue::Integer(b.into())),
        SqlValue::Text(h.owner_id.clone()),
        SqlValue::Text(h.project_id.clone()),
        SqlValue::Text(h.environment.clone()),
        SqlValue::time(h.created_at),
        opt_int(h.spec_version),
    ]
}

const HOOK_INSERT_COLUMNS: &[&str] = &[
    "hook_id",
    "run_id",
    "token",
    "metadata",
    "is_webhook",
    "owner_id",
    "project_id",
    "environment",
    "created_at",
    "spec_version",
];

fn wait_values(w: &Wait) -> Vec<SqlValue> {
    vec![
        SqlValue::Text(w.wait_id.clone()),
        SqlValue::Text(w.run_id.clone()),
        SqlValue::Text(w.status.as_str().into()),
        SqlValue::opt_time(w.resume_at),
        SqlValue::time(w.created_at),
        SqlValue::time(w.updated_at),
        opt_int(w.spec_version),
    ]
}

const WAIT_INSERT_COLUMNS: &[&str] = &[
    "wait_id",
    "run_id",
    "status",
    "resume_at",
    "created_at",
    "updated_at",
    "spec_version",
];

fn write_statement(w: &Write, when: &Condition, k: &Keys) -> Statement {
    let update = |set: &str, params: Vec<SqlValue>, table_key: &str, key_params: Vec<&str>| {
        let mut sql = Sql::new(&format!("UPDATE {table_key} SET "));
        // `set` holds `?` placeholders in order for `params`.
        let mut parts = set.split('?');
        if let Some(first) = parts.next() {
            sql.push(first);
        }
        for (p, rest) in params.into_iter().zip(parts) {
            sql.bind(p).push(rest);
        }
        sql.push(" WHERE ");
        match table_key {
            "runs" => {
                sql.push("run_id = ").bind_text(key_params[0]);
            }
            "steps" => {
                sql.push("run_id = ")
                    .bind_text(key_params[0])
                    .push(" AND step_id = ")
                    .bind_text(key_params[1]);
            }
            _ => {
                sql.push("wait_id = ").bind_text(key_params[0]);
            }
        }
        sql.push(" AND ");
        push_condition(&mut sql, when, k);
        sql.finish()
    };
    let run = vec![k.run_id];
    let step = vec![k.run_id, k.correlation_id];
    match w {
        Write::InsertRun(r) => insert_select("runs", RUN_INSERT_COLUMNS, run_values(r), when, k),
        Write::StartRun { now } => update(
            "status = 'running', started_at = COALESCE(started_at, ?), updated_at = ?",
            vec![SqlValue::Integer(*now), SqlValue::Integer(*now)],
            "runs",
            run,
        ),
        Write::FinishRun { status, output, error, now } => update(
            "status = ?, output = ?, error = ?, completed_at = ?, updated_at = ?",
            vec![
                SqlValue::Text(status.as_str().into()),
                opt_value(output),
                error_value(error),
                SqlValue::Integer(*now),
                SqlValue::Integer(*now),
            ],
            "runs",
            run,
        ),
        Write::DeleteRunHooks | Write::DeleteRunWaits => {
            let table = if matches!(w, Write::DeleteRunHooks) { "hooks" } else { "waits" };
            let mut sql = Sql::new(&format!("DELETE FROM {table} WHERE run_id = "));
            sql.bind_text(k.run_id).push(" AND ");
            push_condition(&mut sql, when, k);
            sql.finish()
        }
        Write::InsertStep(s) => insert_select("steps", STEP_INSERT_COLUMNS, step_values(s), when, k),
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
            vec![error_value(&Some(error.clone())), opt_int(*retry_after), SqlValue::Integer(*now)],
            "steps",
            step,
        ),
        Write::InsertHook(h) => insert_select("hooks", HOOK_INSERT_COLUMNS, hook_values(h), when, k),
        Write::DeleteHook => {
            let mut sql = Sql::new("DELETE FROM hooks WHERE hook_id = ");
            sql.bind_text(k.correlation_id).push(" AND ");
            push_condition(&mut sql, when, k);
            sql.finish()
        }
        Write::InsertWait(w) => insert_select("waits", WAIT_INSERT_COLUMNS, wait_values(w), when, k),
        Write::CompleteWait { now } => update(
            "status = 'completed', completed_at = ?, updated_at = ?",
            vec![SqlValue::Integer(*now), SqlValue::Integer(*now)],
            "waits",
            vec![&k.wait_id()],
        ),
    }
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
    sql.push(") AS holder_run_id, (SELECT hook_id FROM hooks WHERE token = ")
        .bind_text(k.token.unwrap_or_default());
    sql.push(") AS holder_hook_id, (SELECT status FROM waits WHERE wait_id = ")
        .bind_text(&k.wait_id());
    sql.push(") AS wait_status, EXISTS (SELECT 1 FROM events WHERE run_id = ")
        .bind_text(k.run_id);
    sql.push(" AND correlation_id = ")
        .bind_text(k.correlation_id);
    sql.push(" AND event_type IN ('hook_created', 'hook_conflict')) AS hook_create_logged");
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
    pub log: Option<usize>,
}

/// How many events `run_started` preloads (contract §3.4.2); more are paged by the runtime.
pub const PRELOAD_LIMIT: i64 = 1000;

/// Appends the reads a reply needs to `statements`.
pub fn reply_reads(statements: &mut Vec<Statement>, reply: &Reply, k: &Keys) -> ReplyReads {
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
    if reply.log {
        let mut sql = Sql::new("SELECT * FROM events WHERE run_id = ");
        sql.bind_text(k.run_id)
            .push(" ORDER BY seq ASC LIMIT ")
            .bind(SqlValue::Integer(PRELOAD_LIMIT + 1));
        reads.log = add(sql.finish());
    }
    reads
}

/// The batch for `plan`: the snapshot read, the guarded marker, everything else
/// conditional on the marker, then the reads of the reply. One round trip.
pub fn plan_batch(plan: &Plan, k: &Keys) -> PlanBatch {
    let mut statements = vec![snapshot(k)];
    let marker = statements.len();
    let writes = plan.writes.iter();
    match plan.events.split_first() {
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
    let reads = reply_reads(&mut statements, &plan.reply, k);
    PlanBatch {
        statements,
        marker,
        reads,
    }
}
