//! [`SqliteStore`]: sessions in one SQLite file that several processes
//! share (the `sqlite` feature).

mod ops;
mod schema;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::Connection;

use super::{Acquired, Claimed, Lease, RateShare, SessionKey, SessionStore, StoreError, WorkerId};
use crate::session::PortingSession;
use crate::time::Timestamp;
use ops::Written;

/// Sessions in one SQLite file, shared safely by the tasks of a process
/// and by several processes on one machine: every save is one conditional
/// write, every claim one write transaction, so SQLite's lock on the file
/// makes each atomic across processes. Follows the whole
/// [`SessionStore`] contract.
///
/// - **One file**, in WAL mode (readers never wait; writers queue, up to
///   a 10-second busy timeout, then fail as
///   [`Backend`](super::StoreErrorKind::Backend)) on a local file system.
/// - **Durable when a call returns**: `synchronous=FULL`, each commit
///   synced (a power loss never takes back a saved checkpoint).
/// - **Schema made by the store**: table `porting_sessions`, one row per
///   session, with columns a service can query beside the session's JSON
///   (`session`): `key`, `waba_id`, `revision`, `state` (the state's
///   name), `due_at` (Unix ms, 0 = now), `finished` (0/1), `lease_owner`,
///   `lease_token` (the fencing token of the last lease; tokens grow
///   file-wide), `lease_until`, `claimed_at`, `updated_at`; indexed on
///   `(finished, due_at)` and `lease_token`. Its version is kept in `waba_porting_schema`,
///   for later versions to migrate; a file written by a newer schema is
///   refused.
/// - **Blocking calls off the runtime**: each call runs on tokio's
///   blocking pool when a tokio runtime is running, inline otherwise. One
///   connection per store: the calls of one `SqliteStore` take turns; open
///   the file again for another connection.
///
/// ```no_run
/// use std::sync::Arc;
/// use waba_porting::SqliteStore;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Every replica on this machine opens the same file.
/// let store = Arc::new(SqliteStore::open("/var/lib/porting/sessions.sqlite3")?);
/// # let _ = store;
/// # Ok(())
/// # }
/// ```
///
/// ```
/// use std::time::Duration;
/// use waba_porting::{
///     BusinessId, PhoneNumber, PortingSession, SessionKey, SessionStore, SqliteStore, Timestamp,
///     WabaId, WorkerId,
/// };
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// # let dir = std::env::temp_dir().join(format!("waba-porting-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let store = SqliteStore::open(dir.join("sessions.sqlite3"))?;
/// let mut session = PortingSession::new(
///     PhoneNumber::parse("+1 415 555 0123")?,
///     WabaId::new("102290129340398")?,
///     BusinessId::new("106540352242922")?,
/// );
/// session.next_revision(); // revision 1: a new session
/// let now = Timestamp::now();
/// store.save(&session, None, now).await?;
///
/// // A worker claims the due sessions, leased for five minutes.
/// let worker = WorkerId::new("replica-1");
/// let claimed = store.claim(&worker, 10, now, Duration::from_secs(300), None).await?;
/// assert_eq!(claimed.len(), 1);
/// let (mut session, lease) = claimed.into_iter().next().unwrap().into_parts();
/// session.next_revision();
/// store.save(&session, Some(&lease), now).await?; // fenced by the lease
/// store.release(&lease).await?;
/// assert_eq!(store.load(&SessionKey::of(&session)).await?, Some(session));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SqliteStore {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens the store in the SQLite file at `path`, creating the file and
    /// its schema when missing. Blocks (briefly) while it opens.
    ///
    /// # Errors
    /// A [`Backend`](super::StoreErrorKind::Backend) error when the file
    /// cannot be opened or created, is not a SQLite database, cannot use
    /// WAL, or holds a schema of a newer version.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = schema::open(&path)?;
        Ok(Self {
            path,
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `op` on the connection: on tokio's blocking pool when a tokio
    /// runtime is running, inline otherwise.
    async fn run<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let job = move || {
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            op(&mut conn)
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime
                .spawn_blocking(job)
                .await
                .map_err(|e| StoreError::new("SQLite store: its blocking task failed", e))?,
            Err(_) => job(),
        }
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<PortingSession>, StoreError> {
        let key = key.clone();
        self.run(move |conn| ops::load(conn, &key)).await
    }

    async fn save(
        &self,
        session: &PortingSession,
        lease: Option<&Lease>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let written = Written::of(session)?;
        let lease = lease.cloned();
        let now = ops::millis(now);
        self.run(move |conn| ops::save(conn, &written, lease.as_ref(), now))
            .await
    }

    async fn claim(
        &self,
        worker: &WorkerId,
        limit: usize,
        now: Timestamp,
        lease_for: Duration,
        pass: Option<u64>,
    ) -> Result<Vec<Claimed>, StoreError> {
        let worker = worker.clone();
        self.run(move |conn| ops::claim(conn, &worker, limit, now, lease_for, pass))
            .await
    }

    async fn share_rate(
        &self,
        worker: &WorkerId,
        now: Timestamp,
        paused_until: Option<Timestamp>,
    ) -> Result<RateShare, StoreError> {
        let worker = worker.clone();
        self.run(move |conn| ops::share_rate(conn, &worker, now, paused_until))
            .await
    }

    async fn acquire(
        &self,
        session: &PortingSession,
        worker: &WorkerId,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Acquired, StoreError> {
        let written = Written::of(session)?;
        let (new, worker) = (session.clone(), worker.clone());
        self.run(move |conn| ops::acquire(conn, &written, new, &worker, now, lease_for))
            .await
    }

    async fn renew(
        &self,
        lease: &Lease,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Lease, StoreError> {
        let lease = lease.clone();
        self.run(move |conn| ops::renew(conn, &lease, now, lease_for))
            .await
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        let lease = lease.clone();
        self.run(move |conn| ops::release(conn, &lease)).await
    }

    async fn list_unfinished(&self) -> Result<Vec<PortingSession>, StoreError> {
        self.run(ops::list_unfinished).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{BusinessId, WabaId};
    use crate::phone::PhoneNumber;

    /// The columns beside the JSON say what a service queries for.
    #[tokio::test]
    async fn a_saved_session_fills_the_columns_a_service_queries() {
        let dir = std::env::temp_dir().join(format!(
            "waba-porting-sqlite-columns-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(dir.join("s.sqlite3")).unwrap();
        let mut session = PortingSession::new(
            PhoneNumber::parse("+1 415 555 0123").unwrap(),
            WabaId::new("102290129340398").unwrap(),
            BusinessId::new("106540352242922").unwrap(),
        );
        session.set_not_before(Some(Timestamp::from_unix_millis(5_000)));
        session.next_revision();
        store
            .save(&session, None, Timestamp::from_unix_millis(1_000))
            .await
            .unwrap();
        let worker = WorkerId::new("w");
        let leased = store
            .claim(
                &worker,
                1,
                Timestamp::from_unix_millis(6_000),
                Duration::from_secs(1),
                None,
            )
            .await
            .unwrap();
        assert_eq!(leased.len(), 1);
        let row = store
            .run(|conn| {
                conn.query_row(
                    "SELECT key, waba_id, revision, state, due_at, finished, lease_owner, \
                     lease_token, lease_until, claimed_at, updated_at FROM porting_sessions",
                    [],
                    |r| {
                        Ok(format!(
                            "{} {} {} {} {} {} {} {} {} {} {}",
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, i64>(5)?,
                            r.get::<_, String>(6)?,
                            r.get::<_, i64>(7)?,
                            r.get::<_, i64>(8)?,
                            r.get::<_, i64>(9)?,
                            r.get::<_, i64>(10)?,
                        ))
                    },
                )
                .map_err(|e| StoreError::new("query", e))
            })
            .await
            .unwrap();
        assert_eq!(
            row,
            "102290129340398-14155550123 102290129340398 1 draft 5000 0 w 1 7000 6000 1000"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
