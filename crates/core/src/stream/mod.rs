//! The Streamer (contract §6): chunks in segments, indexed in D1, bodies inline in D1 when
//! small and in R2 when large.
//!
//! Cost model (see README "Streams"): a write is one D1 round trip that inserts one
//! segment row, whatever the number of chunks in it; R2 is touched (one Class A PUT) only
//! for a segment larger than [`INLINE_SEGMENT_LIMIT`]. Each segment row records its chunks'
//! lengths, so readers see the chunk boundaries exactly as written.

pub mod sql;

use crate::model::params::{page_limit, MAX_PAGE_SIZE};
use crate::model::value::{self, Value};
use crate::model::{ids, Bytes, Cursor, Line, WorldError};
use crate::ports::{batch, query, unavailable, Blobs, Database, Io};
use serde::Serialize;
use sql::SegmentBody;

/// Segments whose bytes fit in this stay in their D1 row; larger ones go to R2. A D1 row
/// holds 2 MB; 128 KiB keeps rows small and puts the large, cheap-to-store bodies in R2.
pub const INLINE_SEGMENT_LIMIT: usize = 128 * 1024;
/// `getStreamChunks` page size when none is asked for (contract §6.3).
pub const DEFAULT_PAGE: i64 = 100;
/// Chunks a live reader asks for per read.
pub const TAIL_PAGE: i64 = 100;

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

/// 5.x `streams.*` take the run id first (world-contract-v5 §2.4), 4.x's the name. Any run
/// id is accepted (the health check's `wrun_hc_…` names no run), but a name that is a run id
/// beside a run id that is not is the old argument order: refused, before anything is stored
/// under the wrong name.
pub fn check_run_first(run_id: &str, name: &str) -> Result<(), WorldError> {
    if name.starts_with(ids::RUN_PREFIX) && !run_id.starts_with(ids::RUN_PREFIX) {
        return Err(WorldError::invalid(
            "INVALID_STREAM",
            format!(
                "streams.* take (runId, name, …): got runId {:?} and name {:?}, which look swapped; pass the run id (wrun_…) first",
                run_id, name
            ),
        ));
    }
    Ok(())
}

/// `writeToStream` / `writeToStreamMulti`: appends `chunks` in order, atomically, as one
/// segment. An empty list writes nothing (contract §6.1). A write after `closeStream` is
/// accepted and stores nothing (contract §6.1): a retried step that writes again must not
/// fail, and no reader may see chunks after the EOF.
pub async fn write<D: Database, B: Blobs, S>(
    io: &Io<'_, D, B, S>,
    name: &str,
    run_id: &str,
    chunks: &[Vec<u8>],
) -> Result<(), WorldError> {
    check_name(name)?;
    if chunks.is_empty() {
        return Ok(());
    }
    let now = io.clock.now();
    let lengths: Vec<usize> = chunks.iter().map(Vec::len).collect();
    let bytes: Vec<u8> = chunks.concat();
    let body = if bytes.len() > INLINE_SEGMENT_LIMIT {
        let key = format!("streams/{}", ids::new_id("", now, io.entropy.random()));
        io.blobs
            .put(&key, bytes)
            .await
            .map_err(|e| unavailable("R2 put of a stream segment", e))?;
        SegmentBody::Object(key)
    } else {
        SegmentBody::Inline(bytes)
    };
    let written = batch(
        io.db,
        vec![
            sql::append_segment(name, &lengths, &body, now),
            sql::record_run(name, run_id, now, true),
        ],
    )
    .await;
    let results = match written {
        Ok(results) => results,
        Err(e) => {
            // The object must not outlive a batch that stored nothing; but a failure
            // reported after a commit is possible too, so delete it only once D1 says no
            // row points at it.
            if let SegmentBody::Object(key) = &body {
                let unused = batch(io.db, vec![sql::object_users(key)])
                    .await
                    .ok()
                    .and_then(|r| sql::count(&r))
                    == Some(0);
                if unused {
                    let _ = io.blobs.delete(key).await;
                }
            }
            return Err(e);
        }
    };
    if results.first().map(|r| r.changes) != Some(1) {
        if let SegmentBody::Object(key) = body {
            let _ = io.blobs.delete(&key).await;
        }
    }
    Ok(())
}

/// `closeStream`: the EOF marker. Closing a closed stream changes nothing.
pub async fn close<D: Database, B, S>(
    io: &Io<'_, D, B, S>,
    name: &str,
    run_id: &str,
) -> Result<(), WorldError> {
    check_name(name)?;
    let now = io.clock.now();
    // Closing records the run even when the stream was already closed (contract §6.1).
    batch(
        io.db,
        vec![
            sql::append_eof(name, now),
            sql::record_run(name, run_id, now, false),
        ],
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

fn parse_info(results: &[crate::sql::QueryResult]) -> Result<Info, WorldError> {
    let (eof_at, next_index) = sql::info_row(results)?;
    Ok(Info {
        count: eof_at.unwrap_or(next_index),
        done: eof_at.is_some(),
    })
}

pub async fn info<D: Database>(db: &D, name: &str) -> Result<Info, WorldError> {
    parse_info(&batch(db, vec![sql::info(name)]).await?)
}

/// `getStreamInfo` (contract §6.4): the index of the last chunk (-1 when there is none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct StreamInfo {
    pub tail_index: i64,
    pub done: bool,
}

impl From<Info> for StreamInfo {
    fn from(info: Info) -> StreamInfo {
        StreamInfo {
            tail_index: info.count - 1,
            done: info.done,
        }
    }
}

/// A read: the chunks `[from, from + limit)` that exist (and precede the EOF), and the
/// stream's state in the same snapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct Read {
    pub chunks: Vec<(i64, Vec<u8>)>,
    pub info: Info,
}

pub async fn read<D: Database, B: Blobs, S>(
    io: &Io<'_, D, B, S>,
    name: &str,
    from: i64,
    limit: i64,
) -> Result<Read, WorldError> {
    let from = from.max(0);
    let end = from + limit.clamp(1, MAX_PAGE_SIZE);
    let results = batch(io.db, vec![sql::info(name), sql::segments(name, from, end)]).await?;
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
        let bytes = match (row.opt_text("object_key")?, row.blob("data")) {
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

/// What a live reader gets from one read: the non-empty chunks from where it stands, the
/// index to read from next, and whether the stream is over for it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct TailPage {
    pub chunks: Vec<Bytes>,
    pub next: i64,
    pub done: bool,
}

/// `readFromStream`'s reads (contract §6.2). A negative `from` counts back from the end
/// as the stream is now; empty chunks take an index but are never emitted (§6.1), so a
/// read that finds only empty chunks reads on. An empty page that is not `done` means the
/// reader has caught up: it polls again later from `next`.
pub async fn tail<D: Database, B: Blobs, S>(
    io: &Io<'_, D, B, S>,
    name: &str,
    from: i64,
) -> Result<TailPage, WorldError> {
    let mut next = if from >= 0 {
        from
    } else {
        (info(io.db, name).await?.count + from).max(0)
    };
    loop {
        let read = read(io, name, next, TAIL_PAGE).await?;
        let found = !read.chunks.is_empty();
        let mut chunks = Vec::new();
        for (index, data) in read.chunks {
            next = index + 1;
            if !data.is_empty() {
                chunks.push(Bytes(data));
            }
        }
        let done = read.info.done && next >= read.info.count;
        if !chunks.is_empty() || done || !found {
            return Ok(TailPage { chunks, next, done });
        }
    }
}

/// A chunk and its index, as `getStreamChunks` returns it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
pub struct StreamChunk {
    pub index: i64,
    pub data: Bytes,
}

/// `getStreamChunks` (contract §6.3): a page of the chunks that exist now.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[serde(rename_all = "camelCase")]
pub struct StreamChunksPage {
    pub data: Vec<StreamChunk>,
    pub cursor: Cursor,
    pub has_more: bool,
    pub done: bool,
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

/// `getStreamChunks`' options as JS sends them; [`chunk_page_bounds`] checks them.
#[cfg_attr(feature = "js", derive(tsify::Tsify))]
#[cfg_attr(feature = "js", serde(default))]
pub struct ChunkPageInput {
    pub limit: i64,
    pub cursor: String,
}

/// `getStreamChunks`' options `{limit?, cursor?}`: where the page starts and its size.
pub fn chunk_page_bounds(options: Option<&Value>) -> Result<(i64, i64), WorldError> {
    let limit = page_limit(
        options.and_then(|o| value::get(o, "limit")),
        "limit",
        DEFAULT_PAGE,
    )?;
    let cursor = match options.and_then(|o| value::get(o, "cursor")) {
        Some(Value::Text(c)) => Some(c.as_str()),
        _ => None,
    };
    Ok((parse_chunk_cursor(cursor), limit))
}

pub async fn chunks_page<D: Database, B: Blobs, S>(
    io: &Io<'_, D, B, S>,
    line: Line,
    name: &str,
    options: Option<&Value>,
) -> Result<StreamChunksPage, WorldError> {
    let (from, limit) = chunk_page_bounds(options)?;
    let read = read(io, name, from, limit).await?;
    let next = from + limit;
    let has_more = next < read.info.count;
    Ok(StreamChunksPage {
        data: read
            .chunks
            .into_iter()
            .map(|(index, data)| StreamChunk {
                index,
                data: Bytes(data),
            })
            .collect(),
        cursor: Cursor(has_more.then(|| chunk_cursor(next))),
        has_more,
        // 4.x: the stream is closed (contract §8.143, on every page); 5.x: it is closed
        // and nothing follows this page (world-local 5's `getChunks`).
        done: match line {
            Line::V4 => read.info.done,
            Line::V5 => read.info.done && !has_more,
        },
    })
}

/// Drops a stream's contents and leaves it closed and empty (`$retention: '0'`,
/// `src/store/purge.rs`): its segment rows go in one batch, then the R2 objects they named.
pub async fn purge<D: Database, B: Blobs, S>(
    io: &Io<'_, D, B, S>,
    name: &str,
) -> Result<(), WorldError> {
    let results = batch(
        io.db,
        vec![
            sql::object_keys(name),
            sql::delete_segments(name),
            sql::append_eof(name, io.clock.now()),
        ],
    )
    .await?;
    for row in results.first().map_or(&[][..], |r| &r.rows[..]) {
        let key = row.text("object_key")?;
        io.blobs
            .delete(&key)
            .await
            .map_err(|e| unavailable("R2 delete of a stream segment", e))?;
    }
    Ok(())
}

pub async fn list_by_run<D: Database>(db: &D, run_id: &str) -> Result<Vec<String>, WorldError> {
    query(db, sql::streams_of_run(run_id))
        .await?
        .iter()
        .map(|r| r.text("stream_name"))
        .collect()
}

#[cfg(all(test, not(feature = "js")))]
mod tests;
