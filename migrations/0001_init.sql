-- The event-sourced store of @workflow/world-cloudflare.
-- `events` is the append-only log; `runs`, `steps`, `hooks` and `waits` are the
-- materialized entities that change only through events.create (contract §1.4).
-- Timestamps are integer epoch milliseconds. Payload columns hold CBOR (binary,
-- NUL-safe: contract §7.1 forbids storing payloads as text).

CREATE TABLE runs (
  run_id            TEXT PRIMARY KEY,
  status            TEXT NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  deployment_id     TEXT NOT NULL,
  workflow_name     TEXT NOT NULL,
  spec_version      INTEGER,
  execution_context BLOB,
  input             BLOB,
  output            BLOB,
  error             BLOB,
  expired_at        INTEGER,
  started_at        INTEGER,
  completed_at      INTEGER,
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
);
-- runs.list: newest first, optionally filtered by status or workflow name.
CREATE INDEX runs_by_created ON runs (created_at, run_id);
CREATE INDEX runs_by_status ON runs (status, created_at, run_id);
CREATE INDEX runs_by_workflow ON runs (workflow_name, created_at, run_id);

CREATE TABLE steps (
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
);
-- steps.get(undefined, stepId) looks a step up without its run.
CREATE INDEX steps_by_step_id ON steps (step_id);
CREATE INDEX steps_by_run_created ON steps (run_id, created_at, step_id);

-- Only live hooks have a row: disposal and run termination delete it, so a
-- plain UNIQUE index on the token is the "one live holder per token" rule.
CREATE TABLE hooks (
  hook_id      TEXT PRIMARY KEY,
  run_id       TEXT NOT NULL,
  token        TEXT NOT NULL,
  metadata     BLOB,
  is_webhook   INTEGER,
  owner_id     TEXT NOT NULL,
  project_id   TEXT NOT NULL,
  environment  TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  spec_version INTEGER
);
CREATE UNIQUE INDEX hooks_by_token ON hooks (token);
CREATE INDEX hooks_by_run ON hooks (run_id, created_at, hook_id);
CREATE INDEX hooks_by_created ON hooks (created_at, hook_id);

CREATE TABLE waits (
  wait_id      TEXT PRIMARY KEY,
  run_id       TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('waiting', 'completed')),
  resume_at    INTEGER,
  completed_at INTEGER,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  spec_version INTEGER
);
CREATE INDEX waits_by_run ON waits (run_id);

-- `seq` is the rowid: D1 runs one writer, and events are never deleted, so a
-- new row always gets max(seq) + 1 and log order is commit order (contract §3.5).
CREATE TABLE events (
  seq            INTEGER PRIMARY KEY,
  event_id       TEXT NOT NULL UNIQUE,
  run_id         TEXT NOT NULL,
  event_type     TEXT NOT NULL,
  correlation_id TEXT,
  event_data     BLOB,
  spec_version   INTEGER NOT NULL,
  created_at     INTEGER NOT NULL
);
CREATE INDEX events_by_run ON events (run_id, seq);
CREATE INDEX events_by_correlation ON events (correlation_id, seq);
-- Backstop for the entity-create guards: one create event per entity, ever.
CREATE UNIQUE INDEX events_one_create_per_entity ON events (run_id, correlation_id, event_type)
  WHERE event_type IN ('step_created', 'hook_created', 'wait_created');
