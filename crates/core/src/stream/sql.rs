//! The Streamer's statements (`migrations/0003_streams.sql`). Pure.

use crate::model::value::{self, Value};
use crate::model::{Millis, WorldError};
use crate::sql::{first_row, QueryResult, Sql, SqlValue, Statement};

/// The index the next chunk of the stream gets: the newest segment's end.
fn push_next_index(sql: &mut Sql, name: &str) {
    sql.push(
        "COALESCE((SELECT first_index + chunk_count FROM stream_segments WHERE stream_name = ",
    )
    .bind_text(name)
    .push(" ORDER BY seq DESC LIMIT 1), 0)");
}

fn push_open(sql: &mut Sql, name: &str) {
    sql.push("NOT EXISTS (SELECT 1 FROM stream_segments WHERE stream_name = ")
        .bind_text(name)
        .push(" AND eof = 1)");
}

/// Records `run_id → name`; `only_if_written` ties it to the statement before it in the
/// batch, so a refused write records nothing (`changes()` is per statement in a batch).
pub fn record_run(name: &str, run_id: &str, now: Millis, only_if_written: bool) -> Statement {
    let mut sql =
        Sql::new("INSERT OR IGNORE INTO stream_runs (run_id, stream_name, created_at) SELECT ");
    sql.bind_text(run_id)
        .push(", ")
        .bind_text(name)
        .push(", ")
        .bind_int(now);
    if only_if_written {
        sql.push(" WHERE changes() = 1");
    }
    sql.finish()
}

/// Where a segment's bytes are.
pub enum SegmentBody {
    Inline(Vec<u8>),
    Object(String),
}

/// Appends a segment of chunks with these `lengths`, numbered after the newest segment,
/// unless the stream is closed.
pub fn append_segment(name: &str, lengths: &[usize], body: &SegmentBody, now: Millis) -> Statement {
    let lengths = Value::Array(
        lengths
            .iter()
            .map(|n| Value::Integer((*n as u64).into()))
            .collect(),
    );
    let (data, object_key) = match body {
        SegmentBody::Inline(bytes) => (SqlValue::Blob(bytes.clone()), SqlValue::Null),
        SegmentBody::Object(key) => (SqlValue::Null, SqlValue::Text(key.clone())),
    };
    let mut insert = Sql::new(
        "INSERT INTO stream_segments (stream_name, first_index, chunk_count, lengths, data, object_key, eof, created_at) SELECT ",
    );
    insert.bind_text(name).push(", ");
    push_next_index(&mut insert, name);
    insert
        .push(", ")
        .bind_int(match &lengths {
            Value::Array(items) => items.len() as i64,
            _ => 0,
        })
        .push(", ")
        .bind(SqlValue::Blob(value::to_cbor(&lengths)));
    insert
        .push(", ")
        .bind(data)
        .push(", ")
        .bind(object_key)
        .push(", 0, ")
        .bind_int(now);
    insert.push(" WHERE ");
    push_open(&mut insert, name);
    insert.finish()
}

/// Counts the segments that point at an R2 object.
pub fn object_users(key: &str) -> Statement {
    let mut check = Sql::new("SELECT count(*) AS n FROM stream_segments WHERE object_key = ");
    check.bind_text(key).finish()
}

pub fn object_keys(name: &str) -> Statement {
    let mut sql = Sql::new("SELECT object_key FROM stream_segments WHERE stream_name = ");
    sql.bind_text(name)
        .push(" AND object_key IS NOT NULL")
        .finish()
}

pub fn delete_segments(name: &str) -> Statement {
    let mut sql = Sql::new("DELETE FROM stream_segments WHERE stream_name = ");
    sql.bind_text(name).finish()
}

pub fn count(results: &[QueryResult]) -> Option<i64> {
    first_row(results, 0)?.int("n").ok()
}

/// The EOF marker, unless the stream is closed already.
pub fn append_eof(name: &str, now: Millis) -> Statement {
    let mut insert = Sql::new(
        "INSERT INTO stream_segments (stream_name, first_index, chunk_count, eof, created_at) SELECT ",
    );
    insert.bind_text(name).push(", ");
    push_next_index(&mut insert, name);
    insert.push(", 0, 1, ").bind_int(now).push(" WHERE ");
    push_open(&mut insert, name);
    insert.finish()
}

/// The stream's state: where its EOF is, if anywhere, and where its next chunk would go.
pub fn info(name: &str) -> Statement {
    let mut sql = Sql::new("SELECT (SELECT first_index FROM stream_segments WHERE stream_name = ");
    sql.bind_text(name)
        .push(" AND eof = 1 ORDER BY seq LIMIT 1) AS eof_at, ");
    push_next_index(&mut sql, name);
    sql.push(" AS next_index");
    sql.finish()
}

/// The EOF index (if closed) and the next index, from the row of [`info`].
pub fn info_row(results: &[QueryResult]) -> Result<(Option<i64>, i64), WorldError> {
    let row = first_row(results, 0)
        .ok_or_else(|| crate::ports::unavailable("stream info", "no row".into()))?;
    Ok((row.opt_int("eof_at")?, row.int("next_index")?))
}

/// The segments that hold chunks `[from, end)`: the one holding `from` starts at or
/// before it, every later one up to `end` too.
pub fn segments(name: &str, from: i64, end: i64) -> Statement {
    let mut segments = Sql::new("SELECT first_index, chunk_count, lengths, data, object_key FROM stream_segments WHERE stream_name = ");
    segments
        .bind_text(name)
        .push(" AND eof = 0 AND first_index < ")
        .bind_int(end);
    segments.push(" AND first_index >= COALESCE((SELECT MAX(first_index) FROM stream_segments WHERE stream_name = ");
    segments
        .bind_text(name)
        .push(" AND eof = 0 AND chunk_count > 0 AND first_index <= ")
        .bind_int(from);
    // A reader that has caught up must not fetch the segment that ends where it stands.
    segments
        .push("), 0) AND first_index + chunk_count > ")
        .bind_int(from)
        .push(" ORDER BY first_index");
    segments.finish()
}

pub fn streams_of_run(run_id: &str) -> Statement {
    let mut sql = Sql::new("SELECT stream_name FROM stream_runs WHERE run_id = ");
    sql.bind_text(run_id)
        .push(" ORDER BY created_at, stream_name")
        .finish()
}
