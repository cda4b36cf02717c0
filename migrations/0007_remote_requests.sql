-- The World over HTTP (src/remote.rs): each signed request served by serveWorld, by its
-- signature's time and nonce, kept for the replay window so the same request is never
-- served twice. One WITHOUT ROWID row per request: no index to pay for.
CREATE TABLE remote_requests (
  t INTEGER NOT NULL,
  nonce TEXT NOT NULL,
  PRIMARY KEY (t, nonce)
) WITHOUT ROWID;
