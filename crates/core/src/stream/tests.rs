//! Streams natively: SQLite for D1, an in-memory R2 that counts Class A writes.

use super::*;
use crate::sql::Sql;
use crate::testing::{Fixture, LostReply};

/// The Streamer's calls over the fixture, as the tests make them.
trait Streams {
    fn write(&self, name: &str, chunks: &[&[u8]]) -> Result<(), WorldError>;
    fn close(&self, name: &str);
    fn read(&self, name: &str, from: i64, limit: i64) -> Read;
}

impl Streams for Fixture {
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
    let f = Fixture::new();
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
    assert_eq!(f.blobs.puts.get(), 0, "small segments stay in D1");
}

#[test]
fn close_ends_the_stream_and_later_writes_are_accepted_and_invisible() {
    let f = Fixture::new();
    f.write("s", &[b"1", b"2"]).unwrap();
    f.close("s");
    f.close("s");
    // a retried step writing again must not fail (contract §6.1), and stores nothing
    f.write("s", &[b"3"]).unwrap();
    f.write("s", &[&vec![7u8; INLINE_SEGMENT_LIMIT + 1]])
        .unwrap();
    assert!(
        f.blobs.objects.borrow().is_empty(),
        "the refused segment's object is deleted"
    );
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
    let f = Fixture::new();
    let big = vec![7u8; INLINE_SEGMENT_LIMIT];
    f.write("s", &[&big, &[0, 0]]).unwrap();
    assert_eq!(f.blobs.puts.get(), 1);
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
    let f = Fixture::new();
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
    let f = Fixture::new();
    f.write("s", &[b"acked"]).unwrap();
    *f.db.before_next.borrow_mut() = Some(vec![Sql::new("SELECT * FROM no_such_table").finish()]);
    let big = vec![9u8; INLINE_SEGMENT_LIMIT + 1];
    let e = f.write("s", &[&big]).unwrap_err();
    assert_eq!(e.status, Some(503), "{e:?}");
    assert_eq!(f.blobs.puts.get(), 1);
    assert!(
        f.blobs.objects.borrow().is_empty(),
        "the orphan R2 object was kept"
    );
    // the acknowledged chunk is intact and the stream goes on right after it
    f.write("s", &[b"next"]).unwrap();
    let r = f.read("s", 0, 100);
    let got: Vec<(i64, &[u8])> = r.chunks.iter().map(|(i, c)| (*i, c.as_slice())).collect();
    assert_eq!(got, vec![(0, &b"acked"[..]), (1, &b"next"[..])]);
}

#[test]
fn a_large_segment_whose_commit_reply_is_lost_keeps_its_object() {
    let f = Fixture::new();
    let db = LostReply::new(&f.db);
    let io = f.io_with(&db);
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
    let f = Fixture::new();
    let name = "n".repeat(MAX_STREAM_NAME_BYTES + 1);
    let e = f.write(&name, &[b"a"]).unwrap_err();
    assert_eq!((e.status, e.code), (Some(400), Some("INVALID_STREAM")));
    let e = futures_executor::block_on(close(&f.io(), &name, "wrun_1")).unwrap_err();
    assert_eq!(e.code, Some("INVALID_STREAM"));
    f.write(&"n".repeat(MAX_STREAM_NAME_BYTES), &[b"a"])
        .unwrap();
}

fn tail_of(f: &Fixture, name: &str, from: i64) -> TailPage {
    futures_executor::block_on(tail(&f.io(), name, from)).unwrap()
}

fn bytes(page: &TailPage) -> Vec<&[u8]> {
    page.chunks.iter().map(|c| c.0.as_slice()).collect()
}

#[test]
fn a_negative_start_counts_back_from_the_end_once() {
    let f = Fixture::new();
    for i in 0..10u8 {
        f.write("s", &[&[i]]).unwrap();
    }
    let page = tail_of(&f, "s", -3);
    assert_eq!(bytes(&page), [&[7u8][..], &[8], &[9]]);
    assert_eq!((page.next, page.done), (10, false));
    // more back than there is starts at the beginning
    assert_eq!(tail_of(&f, "s", -50).chunks.len(), 10);
    // from where it stands, a reader that has caught up gets nothing, and is not done
    let caught_up = tail_of(&f, "s", page.next);
    assert_eq!(
        (caught_up.chunks.len(), caught_up.next, caught_up.done),
        (0, 10, false)
    );
    f.close("s");
    assert!(tail_of(&f, "s", page.next).done);
}

#[test]
fn empty_chunks_take_an_index_but_are_never_emitted() {
    let f = Fixture::new();
    f.write("s", &[b"a", b"", b""]).unwrap();
    let first = tail_of(&f, "s", 0);
    assert_eq!((bytes(&first), first.next), (vec![&b"a"[..]], 3));
    // a read that finds only empty chunks reads on to the next non-empty one
    f.write("s", &[b""]).unwrap();
    f.write("s", &[b"z"]).unwrap();
    let next = tail_of(&f, "s", first.next);
    assert_eq!((bytes(&next), next.next), (vec![&b"z"[..]], 5));
    // and when only empty chunks remain, the page is empty at the end of them
    f.write("s", &[b"", b""]).unwrap();
    let empty = tail_of(&f, "s", next.next);
    assert_eq!((empty.chunks.len(), empty.next, empty.done), (0, 7, false));
    f.close("s");
    let end = tail_of(&f, "s", 0);
    assert_eq!((bytes(&end), end.done), (vec![&b"a"[..], &b"z"[..]], true));
}

#[test]
fn chunk_pages_move_their_cursor_and_report_the_tail() {
    let f = Fixture::new();
    for i in 0..5u8 {
        f.write("s", &[&[i]]).unwrap();
    }
    let page = |options: Option<Value>| {
        futures_executor::block_on(chunks_page(&f.io(), Line::V4, "s", options.as_ref())).unwrap()
    };
    let limit = |n: i64| {
        Some(Value::Map(vec![(
            Value::Text("limit".into()),
            Value::Integer(n.into()),
        )]))
    };
    let first = page(limit(2));
    assert_eq!(
        first.data.iter().map(|c| c.index).collect::<Vec<_>>(),
        [0, 1]
    );
    assert_eq!(
        (first.cursor.0.as_deref(), first.has_more, first.done),
        (Some("c2"), true, false)
    );
    let with_cursor = Value::Map(vec![
        (Value::Text("limit".into()), Value::Integer(2.into())),
        (Value::Text("cursor".into()), Value::Text("c4".into())),
    ]);
    let last = page(Some(with_cursor));
    assert_eq!(last.data.iter().map(|c| c.index).collect::<Vec<_>>(), [4]);
    assert_eq!((last.cursor.0, last.has_more), (None, false));
    let e = futures_executor::block_on(chunks_page(&f.io(), Line::V4, "s", limit(0).as_ref()))
        .unwrap_err();
    assert!(e.message.contains("Invalid `limit`: 0"), "{}", e.message);
    let now = futures_executor::block_on(info(&f.db, "s")).unwrap();
    assert_eq!(
        StreamInfo::from(now),
        StreamInfo {
            tail_index: 4,
            done: false
        }
    );
    let none = futures_executor::block_on(info(&f.db, "nothing")).unwrap();
    assert_eq!(StreamInfo::from(none).tail_index, -1);
}

/// world-contract-v5 §2.4: on the 5.x line `done` says the stream is closed and this page
/// reached its end, so a page with more after it is not done (world-local 5 reads it so);
/// on the 4.x line every page of a closed stream is done (contract §8.143).
#[test]
fn a_closed_streams_pages_are_done_only_at_its_end_on_the_5x_line() {
    let f = Fixture::new();
    for i in 0..5u8 {
        f.write("s", &[&[i]]).unwrap();
    }
    f.close("s");
    let page = |limit: i64, cursor: Option<&str>| {
        let mut options = vec![(Value::Text("limit".into()), Value::Integer(limit.into()))];
        if let Some(c) = cursor {
            options.push((Value::Text("cursor".into()), Value::Text(c.into())));
        }
        let p = futures_executor::block_on(chunks_page(
            &f.io(),
            Line::V5,
            "s",
            Some(&Value::Map(options)),
        ))
        .unwrap();
        (p.data.len(), p.cursor.0, p.has_more, p.done)
    };
    let v4 = futures_executor::block_on(chunks_page(&f.io(), Line::V4, "s", None)).unwrap();
    assert!(v4.done, "4.x: a closed stream is done on every page");
    assert_eq!(page(2, None), (2, Some("c2".into()), true, false));
    assert_eq!(page(2, Some("c2")), (2, Some("c4".into()), true, false));
    assert_eq!(page(2, Some("c4")), (1, None, false, true));
    // a full page that ends exactly at the end is done, with no cursor
    assert_eq!(page(5, None), (5, None, false, true));
    assert_eq!(page(3, Some("c9")), (0, None, false, true));
}

#[test]
fn a_purge_leaves_a_closed_empty_stream_and_no_objects() {
    let f = Fixture::new();
    f.write("s", &[b"secret"]).unwrap();
    f.write("s", &[&vec![7u8; INLINE_SEGMENT_LIMIT + 1]])
        .unwrap();
    assert_eq!(f.blobs.objects.borrow().len(), 1);
    futures_executor::block_on(purge(&f.io(), "s")).unwrap();
    assert!(f.blobs.objects.borrow().is_empty());
    let r = f.read("s", 0, 100);
    assert_eq!(
        (r.chunks.len(), r.info),
        (
            0,
            Info {
                count: 0,
                done: true
            }
        )
    );
    f.write("s", &[b"late"]).unwrap();
    assert_eq!(f.read("s", 0, 100).chunks.len(), 0);
}

#[test]
fn swapped_5x_stream_arguments_are_named() {
    assert!(check_run_first("wrun_01", "out").is_ok());
    assert!(check_run_first("wrun_hc_01", "__health_check__01").is_ok());
    let e = check_run_first("out", "wrun_01").unwrap_err();
    assert_eq!(e.status, Some(400));
    assert!(e.message.contains("look swapped"), "{}", e.message);
}
