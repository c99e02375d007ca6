//! Opening a SQLite file for the store: the connection's settings, and the
//! schema, created (or later migrated) by the store itself.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::store::StoreError;

/// The schema this version writes. Recorded in `waba_porting_schema`; a
/// later version migrates from it in [`prepare`].
pub(super) const SCHEMA_VERSION: i64 = 1;

/// How long a call waits for another connection's write to end before it
/// fails as [`Backend`](crate::StoreErrorKind::Backend).
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Version 1: one row per session. The columns besides `session` (the
/// JSON, the truth) are what claims select on and what a service can
/// query: times are Unix milliseconds, `due_at` 0 means "now".
const CREATE_V1: &str = "
CREATE TABLE porting_sessions (
    key         TEXT PRIMARY KEY NOT NULL,
    waba_id     TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    state       TEXT NOT NULL,
    due_at      INTEGER NOT NULL,
    finished    INTEGER NOT NULL,
    lease_owner TEXT,
    lease_token INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER,
    claimed_at  INTEGER,
    session     TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX porting_sessions_due ON porting_sessions (finished, due_at);
CREATE TABLE porting_workers (
    worker       TEXT PRIMARY KEY NOT NULL,
    seen_at      INTEGER NOT NULL,
    paused_until INTEGER
);
INSERT INTO waba_porting_schema (version) VALUES (1);
";

/// Opens `path` (created if missing) and readies it: WAL, full sync,
/// busy timeout, the schema.
pub(super) fn open(path: &Path) -> Result<Connection, StoreError> {
    let what = |doing: &str| format!("SQLite store {}: cannot {doing}", path.display());
    let mut conn = Connection::open(path).map_err(|e| StoreError::new(what("open it"), e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| StoreError::new(what("set its busy timeout"), e))?;
    // WAL: readers never wait for the writer, and writers of several
    // processes queue on one lock (with the busy timeout).
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
        .map_err(|e| StoreError::new(what("switch it to WAL"), e))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::new(
            what("use it"),
            format!("journal mode {mode}: WAL is needed (a local file system)"),
        ));
    }
    // FULL: every commit is synced to the WAL before it returns, so a save
    // survives a power loss. NORMAL would keep the file consistent but may
    // lose the last commits: a checkpoint saved before a request is sent
    // could vanish, and the request be sent twice.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| StoreError::new(what("set synchronous=FULL"), e))?;
    prepare(&mut conn).map_err(|e| StoreError::new(what("create or read its schema"), e))?;
    Ok(conn)
}

/// Creates the schema in an empty file, or checks (later: migrates) the
/// one there, in one write transaction so that processes opening the file
/// at once do it once.
fn prepare(conn: &mut Connection) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS waba_porting_schema (version INTEGER NOT NULL)")?;
    let version: Option<i64> = tx
        .query_row("SELECT max(version) FROM waba_porting_schema", [], |row| {
            row.get(0)
        })
        .optional()?
        .flatten();
    match version {
        None => tx.execute_batch(CREATE_V1)?,
        Some(SCHEMA_VERSION) => {}
        // Migrations from older versions go here, one step at a time.
        Some(other) => {
            return Err(format!(
                "the file has schema version {other}; this version of waba-porting reads \
                 {SCHEMA_VERSION} (a newer version wrote it: upgrade)"
            )
            .into())
        }
    }
    // The last token is read per claim (tokens grow file-wide): kept quick
    // by an index, made for files of every version 1.
    tx.execute_batch(
        "CREATE INDEX IF NOT EXISTS porting_sessions_token ON porting_sessions (lease_token)",
    )?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "waba-porting-sqlite-schema-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("sessions.sqlite3")
    }

    #[test]
    fn a_new_file_gets_wal_full_sync_and_schema_version_1_once() {
        let file = temp_file("new");
        let conn = open(&file).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!((mode.as_str(), sync), ("wal", 2), "WAL, synchronous=FULL");
        drop(conn);
        // Opened again (a second process): the schema is there, once.
        let conn = open(&file).unwrap();
        let versions: i64 = conn
            .query_row("SELECT count(*) FROM waba_porting_schema", [], |r| r.get(0))
            .unwrap();
        assert_eq!(versions, 1);
        let index: String = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE name = 'porting_sessions_due'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(index.contains("(finished, due_at)"), "{index}");
    }

    #[test]
    fn a_file_of_a_newer_schema_is_refused() {
        let file = temp_file("newer");
        let conn = open(&file).unwrap();
        conn.execute("UPDATE waba_porting_schema SET version = 2", [])
            .unwrap();
        drop(conn);
        let err = open(&file).unwrap_err();
        let chain = format!("{err} {:?}", std::error::Error::source(&err));
        assert!(chain.contains("schema version 2"), "{chain}");
    }
}
