//! The Streamer (contract §6): chunks in segments, indexed in D1, bodies inline in D1 when
//! small and in R2 when large.
//!
//! Cost model (see README "Streams"): a write is one D1 round trip that inserts one
//! segment row, whatever the number of chunks in it; R2 is touched (one Class A PUT) only
//! for a segment larger than [`INLINE_SEGMENT_LIMIT`]. Each segment row records its chunks'
//! lengths, so readers see the chunk boundaries exactly as written.

use crate::blobs::Blobs;
use crate::model::params::MAX_PAGE_SIZE;
use crate::model::value::{self, Value};
use crate::model::{ids, ErrorName, Millis, WorldError};
use crate::store::sql::{Sql, SqlValue, Statement};
use crate::store::{self, Clock, Database, QueryResult};

/// Segments whose bytes fit in this stay in their D1 row; larger ones go to R2. A D1 row
/// holds 2 MB; 128 KiB keeps rows small and puts the large, cheap-to-store bodies in R2.
pub const INLINE_SEGMENT_LIMIT: usize = 128 * 1024;
/// `getStreamChunks` page size when none is asked for (contract §6.3).
pub const DEFAULT_PAGE: i64 = 100;

pub struct Io<'a, D, B, C> {
    pub db: &'a D,
    pub blobs: &'a B,
    pub clock: &'a C,
}

fn unavailable(what: &str, e: String) -> WorldError {
    WorldError::unavailable(format!("{what} failed: {e}"))
}

/// The longest stream name written: names are stored in every segment row and in
/// `stream_runs`, and D1 refuses rows over 2 MB; the runtime's names are ~60 bytes.
pub const MAX_STREAM_NAME_BYTES: usize = 64 * 1024;

fn check_name(name: &str) -> Result<(), WorldError> {
    if name.is_empty() {
        return Err(WorldError::invalid(
            "INVALID_STREAM",
            "A stream name must be a non-empty string",
        ));
    }
    if name.len() > MAX_STREAM_NAME_BYTES {
        return Err(WorldError::invalid(
            "INVALID_STREAM",
            format!(
                "A stream name is {} bytes; the limit is {MAX_STREAM_NAME_BYTES} bytes",
                name.len()
            ),
        ));
    }
    Ok(())
}

/// `closeStream`, then a write: refused by name, so the writer learns its data is lost.
fn closed(name: &str) -> WorldError {
    WorldError {
        status: Some(409),
        code: Some("STREAM_CLOSED"),
        ..WorldError::new(
            ErrorName::WorkflowWorld,
            format!("Stream \"{name}\" is closed: nothing can be written to it"),
        )
    }
}

/// The index the next chunk of the stream gets: the newest segment's end.
const NEXT_INDEX: &str =
    "COALESCE((SELECT first_index + chunk_count FROM stream_segments WHERE stream_name = ? ORDER BY seq DESC LIMIT 1), 0)";
const OPEN: &str = "NOT EXISTS (SELECT 1 FROM stream_segments WHERE stream_name = ? AND eof = 1)";

/// Records `run_id → name`; `only_if_written` ties it to the statement before it in the
/// batch, so a refused write records nothing (`changes()` is per statement in a batch).
fn record_run(name: &str, run_id: &str, now: Millis, only_if_written: bool) -> Statement {
    let mut sql =
        Sql::new("INSERT OR IGNORE INTO stream_runs (run_id, stream_name, created_at) SELECT ");
    sql.bind_text(run_id)
        .push(", ")
        .bind_text(name)
        .push(", ")
        .bind(SqlValue::Integer(now));
    if only_if_written {
        sql.push(" WHERE changes() = 1");
    }
    sql.finish()
}

/// `writeToStream` / `writeToStreamMulti`: appends `chunks` in order, atomically, as one
/// segment. An empty list writes nothing (contract §6.1).
pub async fn write<D: Database, B: Blobs, C: Clock>(
    io: &Io<'_, D, B, C>,
    name: &str,
    run_id: &str,
    chunks: &[Vec<u8>],
) -> Result<(), WorldError> {
    check_name(name)?;
    if chunks.is_empty() {
        return Ok(());
    }
    let now = io.clock.now();
    let lengths = Value::Array(
        chunks
            .iter()
            .map(|c| Value::Integer((c.len() as u64).into()))
            .collect(),
    );
    let bytes: Vec<u8> = chunks.concat();
    let (data, object_key) = if bytes.len() > INLINE_SEGMENT_LIMIT {
        let key = format!("streams/{}", ids::new_id("", now, io.clock.random()));
        io.blobs
            .put(&key, bytes)
            .await
            .map_err(|e| unavailable("R2 put of a stream segment", e))?;
        (SqlValue::Null, SqlValue::Text(key))
    } else {
        (SqlValue::Blob(bytes), SqlValue::Null)
    };
    let mut insert = Sql::new(
        "INSERT INTO stream_segments (stream_name, first_index, chunk_count, lengths, data, object_key, eof, created_at) SELECT ",
    );
    insert.bind_text(name).push(", ");
    push_next_index(&mut insert, name);
    insert
        .push(", ")
        .bind(SqlValue::Integer(chunks.len() as i64))
        .push(", ")
        .bind(SqlValue::Blob(value::to_cbor(&lengths)));
    insert
        .push(", ")
        .bind(data)
        .push(", ")
        .bind(object_key.clone())
        .push(", 0, ")
        .bind(SqlValue::Integer(now));
    insert.push(" WHERE ");
    push_open(&mut insert, name);
    let written = store::run_batch(
        io.db,
        vec![insert.finish(), record_run(name, run_id, now, true)],
    )
    .await;
    let results = match written {
        Ok(results) => results,
        Err(e) => {
            // The object must not outlive a batch that stored nothing; but a failure
            // reported after a commit is possible too, so delete it only once D1 says no
            // row points at it.
            if let SqlValue::Text(key) = &object_key {
                let mut check =
                    Sql::new("SELECT count(*) AS n FROM stream_segments WHERE object_key = ");
                check.bind_text(key);
                let unused = store::run_batch(io.db, vec![check.finish()])
                    .await
                    .ok()
                    .and_then(|r| r.first()?.rows.first()?.int("n").ok())
                    == Some(0);
                if unused {
                    let _ = io.blobs.delete(key).await;
                }
            }
            return Err(e);
        }
    };
    if results.first().map(|r| r.changes) != Some(1) {
        if let SqlValue::Text(key) = object_key {
            let _ = io.blobs.delete(&key).await;
        }
        return Err(closed(name));
    }
    Ok(())
}

fn push_next_index(sql: &mut Sql, name: &str) {
    let mut parts = NEXT_INDEX.split('?');
    sql.push(parts.next().unwrap_or_default())
        .bind_text(name)
        .push(parts.next().unwrap_or_default());
}

fn push_open(sql: &mut Sql, name: &str) {
    let mut parts = OPEN.split('?');
    sql.push(parts.next().unwrap_or_default())
        .bind_text(name)
        .push(parts.next().unwrap_or_default());
}

/// `closeStream`: the EOF marker. Closing a closed stream changes nothing.
pub async fn close<D: Database, B: Blobs, C: Clock>(
    io: &Io<'_, D, B, C>,
    name: &str,
    run_id: &str,
) -> Result<(), WorldError> {
    check_name(name)?;
    let now = io.clock.now();
    let mut insert = Sql::new(
        "INSERT INTO stream_segments (stream_name, first_index, chunk_count, eof, created_at) SELECT ",
    );
    insert.bind_text(name).push(", ");
    push_next_index(&mut insert, name);
    insert
        .push(", 0, 1, ")
        .bind(SqlValue::Integer(now))
        .push(" WHERE ");
    push_open(&mut insert, name);
    // Closing records the run even when the stream was already closed (contract §6.1).
    store::run_batch(
        io.db,
        vec![insert.finish(), record_run(name, run_id, now, false)],
    )
    .await?;
    Ok(())
}

/// What a stream holds now: its visible chunk count and whether it is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    pub count: i64,
    pub done: bool,
}

fn info_statement(name: &str) -> Statement {
    let mut sql = Sql::new("SELECT (SELECT first_index FROM stream_segments WHERE stream_name = ");
    sql.bind_text(name)
        .push(" AND eof = 1 ORDER BY seq LIMIT 1) AS eof_at, ");
    push_next_index(&mut sql, name);
    sql.push(" AS next_index");
    sql.finish()
}

fn parse_info(results: &[QueryResult]) -> Result<Info, WorldError> {
    let row = results
        .first()
        .and_then(|r| r.rows.first())
        .ok_or_else(|| unavailable("stream info", "no row".into()))?;
    let eof_at = row.opt_int("eof_at")?;
    Ok(Info {
        count: eof_at.unwrap_or(row.int("next_index")?),
        done: eof_at.is_some(),
    })
}

pub async fn info<D: Database>(db: &D, name: &str) -> Result<Info, WorldError> {
    parse_info(&store::run_batch(db, vec![info_statement(name)]).await?)
}

/// A read: the chunks `[from, from + limit)` that exist (and precede the EOF), and the
/// stream's state in the same snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct Read {
    pub chunks: Vec<(i64, Vec<u8>)>,
    pub info: Info,
}

pub async fn read<D: Database, B: Blobs, C>(
    io: &Io<'_, D, B, C>,
    name: &str,
    from: i64,
    limit: i64,
) -> Result<Read, WorldError> {
    let from = from.max(0);
    let end = from + limit.clamp(1, MAX_PAGE_SIZE);
    // The segment holding `from` starts at or before it; every later one up to `end` too.
    let mut segments = Sql::new("SELECT first_index, chunk_count, lengths, data, object_key FROM stream_segments WHERE stream_name = ");
    segments
        .bind_text(name)
        .push(" AND eof = 0 AND first_index < ")
        .bind(SqlValue::Integer(end));
    segments.push(" AND first_index >= COALESCE((SELECT MAX(first_index) FROM stream_segments WHERE stream_name = ");
    segments
        .bind_text(name)
        .push(" AND eof = 0 AND chunk_count > 0 AND first_index <= ")
        .bind(SqlValue::Integer(from));
    // A reader that has caught up must not fetch the segment that ends where it stands.
    segments
        .push("), 0) AND first_index + chunk_count > ")
        .bind(SqlValue::Integer(from))
        .push(" ORDER BY first_index");
    let results = store::run_batch(io.db, vec![info_statement(name), segments.finish()]).await?;
    let info = parse_info(&results)?;
    let visible_end = end.min(info.count);
    let mut chunks = Vec::new();
    for row in results.get(1).map_or(&[][..], |r| &r.rows[..]) {
        let first = row.int("first_index")?;
        let lengths = match row.value("lengths")? {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| value::integer(v).unwrap_or(0).max(0) as usize)
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        // The chunks of this segment in [from, visible_end), as positions k0..k1.
        let k0 = (from - first).clamp(0, lengths.len() as i64) as usize;
        let k1 = (visible_end - first).clamp(0, lengths.len() as i64) as usize;
        if k0 >= k1 {
            continue;
        }
        let start: usize = lengths[..k0].iter().sum();
        let stop: usize = lengths[..k1].iter().sum();
        let bytes = match (row.opt_text("object_key")?, row.get_blob("data")) {
            // Only the byte range of the wanted chunks (one Class B read).
            (Some(key), _) => io
                .blobs
                .get_range(&key, start as u64, (stop - start) as u64)
                .await
                .map_err(|e| unavailable("R2 get of a stream segment", e))?
                .ok_or_else(|| {
                    unavailable("R2 get of a stream segment", format!("{key} is missing"))
                })?,
            (None, data) => data
                .unwrap_or_default()
                .get(start..stop)
                .unwrap_or_default()
                .to_vec(),
        };
        let mut offset = 0;
        for (k, len) in lengths.iter().enumerate().take(k1).skip(k0) {
            let chunk = bytes.get(offset..offset + len).unwrap_or_default();
            chunks.push((first + k as i64, chunk.to_vec()));
            offset += len;
        }
    }
    Ok(Read { chunks, info })
}

/// `getStreamChunks` cursors: the next index, opaque to callers.
pub fn chunk_cursor(next: i64) -> String {
    format!("c{next}")
}

/// An unknown cursor restarts from the beginning (contract §6.3).
pub fn parse_chunk_cursor(cursor: Option<&str>) -> i64 {
    cursor
        .and_then(|c| c.strip_prefix('c'))
        .and_then(|n| n.parse().ok())
        .filter(|n: &i64| *n >= 0)
        .unwrap_or(0)
}

pub async fn list_by_run<D: Database>(db: &D, run_id: &str) -> Result<Vec<String>, WorldError> {
    let mut sql = Sql::new("SELECT stream_name FROM stream_runs WHERE run_id = ");
    sql.bind_text(run_id)
        .push(" ORDER BY created_at, stream_name");
    let results = store::run_batch(db, vec![sql.finish()]).await?;
    results
        .first()
        .map_or(&[][..], |r| &r.rows[..])
        .iter()
        .map(|r| r.text("stream_name"))
        .collect()
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
