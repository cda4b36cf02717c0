-- The 5.x line (workflow 5.x, spec 7): the slot-numbered logs of spec >= 4 runs, and the
-- entity fields 5.x adds. 4.x runs keep the `events` table and read as before.

-- A run's log: slot n holds the run's n-th event, whose id is `evnt_` + n zero-padded to
-- 26 digits. Keyed by (run_id, slot) WITHOUT ROWID, so an append writes one row.
-- `batch_id` names the D1 batch that wrote the row: the commit marker that the batch's
-- other statements check (src/store/sql.rs).
CREATE TABLE slots (
  run_id         TEXT NOT NULL,
  slot           INTEGER NOT NULL,
  event_type     TEXT NOT NULL,
  correlation_id TEXT,
  event_data     BLOB,
  spec_version   INTEGER NOT NULL,
  created_at     INTEGER NOT NULL,
  resume_id      TEXT,
  resume_digest  TEXT,
  batch_id       INTEGER NOT NULL,
  PRIMARY KEY (run_id, slot)
) WITHOUT ROWID;
-- One committed hook_received per (run, resumeId): capabilities.hookResumeDedup.
CREATE UNIQUE INDEX slots_by_resume ON slots (run_id, resume_id) WHERE resume_id IS NOT NULL;

-- Runs: attributes (CBOR map), whether their `$retention` purges the run's user data when
-- it ends, a failed run's error code, and the public key core seals payloads to.
ALTER TABLE runs ADD COLUMN attributes BLOB;
ALTER TABLE runs ADD COLUMN purge_on_finish INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN error_code TEXT;
ALTER TABLE runs ADD COLUMN encryption_public_key TEXT;
ALTER TABLE hooks ADD COLUMN is_system INTEGER;
ALTER TABLE hooks ADD COLUMN token_retention_until INTEGER;


-- Queue deliveries: the run each send targets, and how many times a handler ran for it (the
-- flow invocations of a run: what a Worker is billed per request, and what tests compare).
ALTER TABLE queue_deliveries ADD COLUMN run_id TEXT;
ALTER TABLE queue_deliveries ADD COLUMN handled INTEGER NOT NULL DEFAULT 0;
