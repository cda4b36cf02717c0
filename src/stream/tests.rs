//! Streams natively: SQLite for D1, an in-memory R2 that counts Class A writes.

use super::*;
use crate::testing::{FixedClock, Sqlite3};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

#[derive(Default)]
struct R2 {
    objects: RefCell<HashMap<String, Vec<u8>>>,
    puts: Cell<usize>,
}

impl Blobs for R2 {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), String> {
        self.puts.set(self.puts.get() + 1);
        self.objects.borrow_mut().insert(key.into(), bytes);
        Ok(())
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(self.objects.borrow().get(key).cloned())
    }
    async fn delete(&self, key: &str) -> Result<(), String> {
        self.objects.borrow_mut().remove(key);
        Ok(())
    }
}

struct F {
    db: Sqlite3,
    r2: R2,
    clock: FixedClock,
}

impl F {
    fn new() -> F {
        F {
            db: Sqlite3::new(),
            r2: R2::default(),
            clock: FixedClock(Cell::new(0)),
        }
    }
    fn io(&self) -> Io<'_, Sqlite3, R2, FixedClock> {
        Io {
            db: &self.db,
            blobs: &self.r2,
            clock: &self.clock,
        }
    }
    fn write(&self, name: &str, chunks: &[&[u8]]) -> Result<(), WorldError> {
        let chunks: Vec<Vec<u8>> = chunks.iter().map(|c| c.to_vec()).collect();
        futures_executor::block_on(write(&self.io(), name, "wrun_1", &chunks))
    }
    fn close(&self, name: &str) {
        futures_executor::block_on(close(&self.io(), name, "wrun_1")).unwrap()
    }
    fn read(&self, name: &str, from: i64, limit: i64) -> Read {
        futures_executor::block_on(read(&self.io(), name, from, limit)).unwrap()
    }
}

#[test]
fn chunks_keep_their_boundaries_order_and_bytes() {
    let f = F::new();
    f.write("s", &[b"a"]).unwrap();
    f.write("s", &[&[0, 1, 0], b"", b"xyz"]).unwrap();
    f.write("s", &[b"last"]).unwrap();
    let r = f.read("s", 0, 100);
    let got: Vec<(i64, &[u8])> = r.chunks.iter().map(|(i, c)| (*i, c.as_slice())).collect();
    assert_eq!(
        got,
        vec![
            (0, &b"a"[..]),
            (1, &[0, 1, 0][..]),
            (2, &b""[..]),
            (3, &b"xyz"[..]),
            (4, &b"last"[..])
        ]
    );
    assert_eq!(
        r.info,
        Info {
            count: 5,
            done: false
        }
    );
    // a read from the middle of a segment starts there
    let mid: Vec<i64> = f.read("s", 2, 2).chunks.iter().map(|(i, _)| *i).collect();
    assert_eq!(mid, vec![2, 3]);
    assert_eq!(f.r2.puts.get(), 0, "small segments stay in D1");
}

#[test]
fn close_ends_the_stream_and_later_writes_are_refused() {
    let f = F::new();
    f.write("s", &[b"1", b"2"]).unwrap();
    f.close("s");
    f.close("s");
    let e = f.write("s", &[b"3"]).unwrap_err();
    assert_eq!(e.code, Some("STREAM_CLOSED"));
    let r = f.read("s", 0, 100);
    assert_eq!(
        (r.chunks.len(), r.info),
        (
            2,
            Info {
                count: 2,
                done: true
            }
        )
    );
    assert_eq!(
        futures_executor::block_on(info(&f.db, "unknown")).unwrap(),
        Info {
            count: 0,
            done: false
        }
    );
}

#[test]
fn large_segments_go_to_r2_once_and_read_back() {
    let f = F::new();
    let big = vec![7u8; INLINE_SEGMENT_LIMIT];
    f.write("s", &[&big, &[0, 0]]).unwrap();
    assert_eq!(f.r2.puts.get(), 1);
    let r = f.read("s", 1, 10);
    assert_eq!(r.chunks, vec![(1, vec![0, 0])]);
    // a page in the middle of a large segment reads only its chunks' bytes
    f.write("t", &[&big, b"a", b"bc", &big]).unwrap();
    assert_eq!(
        f.read("t", 1, 2).chunks,
        vec![(1, b"a".to_vec()), (2, b"bc".to_vec())]
    );
    // a reader that has caught up gets nothing and no segment
    assert!(f.read("t", 4, 100).chunks.is_empty());
    assert_eq!(f.read("s", 0, 1).chunks[0].1.len(), INLINE_SEGMENT_LIMIT);
}

#[test]
fn runs_list_their_streams_once() {
    let f = F::new();
    f.write("a", &[b"x"]).unwrap();
    f.write("a", &[b"y"]).unwrap();
    f.close("b");
    let names = futures_executor::block_on(list_by_run(&f.db, "wrun_1")).unwrap();
    assert_eq!(names, vec!["a".to_owned(), "b".to_owned()]);
    assert!(futures_executor::block_on(list_by_run(&f.db, "wrun_2"))
        .unwrap()
        .is_empty());
}

#[test]
fn cursors_are_opaque_and_garbage_restarts() {
    assert_eq!(parse_chunk_cursor(Some(&chunk_cursor(42))), 42);
    assert_eq!(parse_chunk_cursor(Some("garbage")), 0);
    assert_eq!(parse_chunk_cursor(None), 0);
}

// Regression: a D1 failure after a large segment's R2 PUT left the object in R2 with no
// row pointing at it (storage nobody reads or deletes).
#[test]
fn a_failed_d1_write_of_a_large_segment_leaves_nothing_behind() {
    let f = F::new();
    f.write("s", &[b"acked"]).unwrap();
    *f.db.before_next.borrow_mut() = Some(vec![crate::store::sql::Sql::new(
        "SELECT * FROM no_such_table",
    )
    .finish()]);
    let big = vec![9u8; INLINE_SEGMENT_LIMIT + 1];
    let e = f.write("s", &[&big]).unwrap_err();
    assert_eq!(e.status, Some(503), "{e:?}");
    assert_eq!(f.r2.puts.get(), 1);
    assert!(
        f.r2.objects.borrow().is_empty(),
        "the orphan R2 object was kept"
    );
    // the acknowledged chunk is intact and the stream goes on right after it
    f.write("s", &[b"next"]).unwrap();
    let r = f.read("s", 0, 100);
    let got: Vec<(i64, &[u8])> = r.chunks.iter().map(|(i, c)| (*i, c.as_slice())).collect();
    assert_eq!(got, vec![(0, &b"acked"[..]), (1, &b"next"[..])]);
}

/// A database whose next batch commits, then reports a failure (a lost reply).
struct LostReply<'a>(&'a Sqlite3, Cell<bool>);

impl crate::store::Database for LostReply<'_> {
    async fn batch(
        &self,
        statements: Vec<crate::store::sql::Statement>,
    ) -> Result<Vec<crate::store::QueryResult>, String> {
        let results = self.0.batch(statements).await?;
        if self.1.replace(false) {
            return Err("injected: the reply was lost after the commit".into());
        }
        Ok(results)
    }
}

#[test]
fn a_large_segment_whose_commit_reply_is_lost_keeps_its_object() {
    let f = F::new();
    let db = LostReply(&f.db, Cell::new(true));
    let io = Io {
        db: &db,
        blobs: &f.r2,
        clock: &f.clock,
    };
    let big = vec![9u8; INLINE_SEGMENT_LIMIT + 1];
    let e = futures_executor::block_on(write(&io, "s", "wrun_1", std::slice::from_ref(&big)))
        .unwrap_err();
    assert_eq!(e.status, Some(503), "{e:?}");
    // the segment committed, so its object must still be there for readers
    let r = f.read("s", 0, 100);
    assert_eq!(r.chunks, vec![(0, big)]);
}

// Regression: a stream name too large for a D1 row reached D1 and came back as a
// retryable storage failure instead of a named refusal.
#[test]
fn an_oversized_stream_name_is_refused_by_name() {
    let f = F::new();
    let name = "n".repeat(MAX_STREAM_NAME_BYTES + 1);
    let e = f.write(&name, &[b"a"]).unwrap_err();
    assert_eq!((e.status, e.code), (Some(400), Some("INVALID_STREAM")));
    let e = futures_executor::block_on(close(&f.io(), &name, "wrun_1")).unwrap_err();
    assert_eq!(e.code, Some("INVALID_STREAM"));
    f.write(&"n".repeat(MAX_STREAM_NAME_BYTES), &[b"a"])
        .unwrap();
}
