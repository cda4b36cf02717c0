-- The Queue half (contract §5). Cloudflare Queues deliver at least once and do not
-- deduplicate, so both kinds of duplicate are absorbed here.

-- queue(…, {idempotencyKey}): one message per key while it is queued, and for a while
-- after it is done (contract §5.2). A claim whose `expires_at` has passed may be taken
-- over by a new message (its sender crashed, or the done record aged out).
CREATE TABLE queue_claims (
  idempotency_key TEXT PRIMARY KEY,
  message_id      TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('queued', 'done')),
  expires_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX queue_claims_by_expiry ON queue_claims (expires_at);

-- One row per physical send of a message: the first delivery takes a lease and runs
-- the handler; a second delivery of the same send finds it done (ack) or leased (wait).
CREATE TABLE queue_deliveries (
  send_id     TEXT PRIMARY KEY,
  message_id  TEXT NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('running', 'done')),
  lease_until INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX queue_deliveries_by_updated ON queue_deliveries (updated_at);
