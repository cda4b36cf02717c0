-- Fewer rows written per run (D1 bills every row an insert or update writes, indexes
-- included): `runs`, `steps` and `queue_deliveries` become WITHOUT ROWID tables keyed by
-- their primary key, so an insert no longer writes a rowid row plus a primary-key index row.
-- `steps_by_run_created` goes: steps.list reads the run's range of the primary key
-- (run_id, step_id) and sorts that run's steps by (created_at, step_id) itself.
-- Every column, its order, and every row are kept; the other indexes are re-created.

CREATE TABLE runs_keyed (
  run_id                TEXT NOT NULL PRIMARY KEY,
  status                TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  deployment_id         TEXT NOT NULL,
  workflow_name         TEXT NOT NULL,
  spec_version          INTEGER,
  execution_context     BLOB,
  input                 BLOB,
  output                BLOB,
  error                 BLOB,
  expired_at            INTEGER,
  started_at            INTEGER,
  completed_at          INTEGER,
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL,
  attributes            BLOB,
  purge_on_finish       INTEGER NOT NULL DEFAULT 0,
  error_code            TEXT,
  encryption_public_key TEXT
) WITHOUT ROWID;
INSERT INTO runs_keyed SELECT
  run_id, status, deployment_id, workflow_name, spec_version, execution_context, input, output,
  error, expired_at, started_at, completed_at, created_at, updated_at, attributes,
  purge_on_finish, error_code, encryption_public_key
FROM runs;
DROP TABLE runs;
ALTER TABLE runs_keyed RENAME TO runs;
CREATE INDEX runs_by_created ON runs (created_at, run_id);
CREATE INDEX runs_by_status ON runs (status, created_at, run_id);
CREATE INDEX runs_by_workflow ON runs (workflow_name, created_at, run_id);

CREATE TABLE steps_keyed (
  run_id       TEXT NOT NULL,
  step_id      TEXT NOT NULL,
  step_name    TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  input        BLOB,
  output       BLOB,
  error        BLOB,
  attempt      INTEGER NOT NULL DEFAULT 0,
  started_at   INTEGER,
  completed_at INTEGER,
  retry_after  INTEGER,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  spec_version INTEGER,
  PRIMARY KEY (run_id, step_id)
) WITHOUT ROWID;
INSERT INTO steps_keyed SELECT
  run_id, step_id, step_name, status, input, output, error, attempt, started_at, completed_at,
  retry_after, created_at, updated_at, spec_version
FROM steps;
DROP TABLE steps;
ALTER TABLE steps_keyed RENAME TO steps;
-- steps.get(undefined, stepId) looks a step up without its run.
CREATE INDEX steps_by_step_id ON steps (step_id);

CREATE TABLE queue_deliveries_keyed (
  send_id        TEXT NOT NULL PRIMARY KEY,
  message_id     TEXT NOT NULL,
  state          TEXT NOT NULL CHECK (state IN ('running', 'done')),
  lease_until    INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  holder_attempt INTEGER,
  run_id         TEXT,
  handled        INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO queue_deliveries_keyed SELECT
  send_id, message_id, state, lease_until, updated_at, holder_attempt, run_id, handled
FROM queue_deliveries;
DROP TABLE queue_deliveries;
ALTER TABLE queue_deliveries_keyed RENAME TO queue_deliveries;
-- The pruning of done records (src/queue/sql.rs) reads them by age.
CREATE INDEX queue_deliveries_by_updated ON queue_deliveries (updated_at);
