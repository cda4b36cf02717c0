-- The Streamer (contract §6). A stream is a list of segments in commit order (`seq`);
-- a segment holds one or more consecutive chunks (`first_index`, `chunk_count`, their
-- byte `lengths`), inline in `data` when small, else in R2 under `object_key`. An EOF
-- segment (eof = 1) holds no chunk; nothing after the first one is visible.
CREATE TABLE stream_segments (
  seq         INTEGER PRIMARY KEY,
  stream_name TEXT NOT NULL,
  first_index INTEGER NOT NULL,
  chunk_count INTEGER NOT NULL,
  lengths     BLOB,
  data        BLOB,
  object_key  TEXT,
  eof         INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL
);
-- Appends read the newest segment of the stream to number the next chunk.
CREATE INDEX stream_segments_by_seq ON stream_segments (stream_name, seq);
-- Reads find the segments that cover an index range.
CREATE INDEX stream_segments_by_index ON stream_segments (stream_name, first_index);
CREATE INDEX stream_eofs ON stream_segments (stream_name, seq) WHERE eof = 1;

-- listStreamsByRunId: every stream written or closed under a run.
CREATE TABLE stream_runs (
  run_id      TEXT NOT NULL,
  stream_name TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (run_id, stream_name)
) WITHOUT ROWID;
