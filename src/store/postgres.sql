-- The sessions, one row per SessionKey. Times are Unix milliseconds.
CREATE TABLE IF NOT EXISTS "waba_porting_sessions" (
    key         TEXT COLLATE "C" PRIMARY KEY, -- <waba id>-<E.164 digits>
    waba_id     TEXT    NOT NULL,
    revision    BIGINT  NOT NULL,             -- saves of the session (>= 1)
    state       TEXT    NOT NULL,             -- its state's name
    due_at      BIGINT  NOT NULL,             -- next due (0: now)
    finished    BOOLEAN NOT NULL,             -- registered or rejected
    lease_owner TEXT,                         -- the worker holding it
    lease_token BIGINT  NOT NULL DEFAULT 0,   -- the last fencing token drawn (0: none)
    lease_until BIGINT,                       -- when that lease lapses
    claimed_at  BIGINT,                       -- when it was last leased
    session     JSONB   NOT NULL,             -- the PortingSession
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- Fencing tokens, drawn for every lease: they grow table-wide, so a pass
-- over the table skips the sessions leased since it began.
CREATE SEQUENCE IF NOT EXISTS "waba_porting_sessions_tokens";
-- A table older than its sequence (or restored): tokens go on above its rows'.
SELECT setval('"waba_porting_sessions_tokens"', m)
  FROM (SELECT MAX(lease_token) AS m FROM "waba_porting_sessions") AS rows
 WHERE m >= (SELECT last_value FROM "waba_porting_sessions_tokens");
-- Claims: the due, unfinished sessions, earliest first.
CREATE INDEX IF NOT EXISTS "waba_porting_sessions_due"
    ON "waba_porting_sessions" (due_at, key) WHERE NOT finished;
-- The shared rate budget: who stepped when, and the rate-limit pause each saw.
CREATE TABLE IF NOT EXISTS "waba_porting_sessions_workers" (
    worker       TEXT PRIMARY KEY,
    seen_at      BIGINT NOT NULL,
    paused_until BIGINT
);
