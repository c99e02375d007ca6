//! [`DirectoryStore`]: one JSON file per session in a directory that one
//! process holds.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use super::table::{Meta, Table};
use super::{parse, Acquired, Claimed, Lease, SessionKey, SessionStore, StoreError, WorkerId};
use super::{RateBoard, RateShare};
use crate::session::PortingSession;
use crate::time::Timestamp;

/// The lock file a store holds in its directory.
const LOCK_FILE: &str = ".lock";

/// One JSON file per session in a directory (`<key>.json`), each written
/// atomically: a temporary file in the same directory, `fsync`, rename over
/// the old file, `fsync` of the directory. A crash leaves the old or the new
/// session, never half of one.
///
/// **One process at a time.** [`open`](Self::open) takes an exclusive lock
/// on `<dir>/.lock` (an advisory file lock the operating system drops when
/// the process ends, even when it is killed), so a second process — or a
/// second `open` in the same one — is refused with
/// [`StoreErrorKind::InUse`](super::StoreErrorKind::InUse) naming the
/// holder, never silently shared. Within the process, share one store
/// behind an `Arc`: revisions and leases (kept in memory: nobody else can
/// hold one) make every fleet and task sharing it follow the
/// [`SessionStore`] contract. For several processes, use `SqliteStore` or
/// `PostgresStore`.
///
/// Files are small (under 1 KiB for a finished port) and written with
/// blocking I/O on the calling task; `open` reads every file once.
#[derive(Debug)]
pub struct DirectoryStore {
    dir: PathBuf,
    temp_counter: AtomicU64,
    table: Mutex<Table<()>>,
    rate: Mutex<RateBoard>,
    /// Holds the directory's lock for the store's life.
    _lock: File,
}

impl DirectoryStore {
    /// A store in `dir`, created if missing, locked for this process.
    ///
    /// # Errors
    /// [`StoreErrorKind::InUse`](super::StoreErrorKind::InUse) when another
    /// store holds the directory; a backend error when it cannot be
    /// created, locked or read (a session file that does not parse).
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| StoreError::new(format!("cannot create {}", dir.display()), e))?;
        let lock = lock(&dir)?;
        let mut table = Table::default();
        for path in session_files(&dir)? {
            let session = read_session(&path)?;
            table.restore(SessionKey::of(&session), Meta::of(&session), ());
        }
        Ok(Self {
            dir,
            temp_counter: AtomicU64::new(0),
            table: Mutex::new(table),
            rate: Mutex::new(RateBoard::default()),
            _lock: lock,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn table(&self) -> MutexGuard<'_, Table<()>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn path_of(&self, key: &SessionKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.as_str()))
    }

    fn read(&self, key: &SessionKey) -> Result<Option<PortingSession>, StoreError> {
        let path = self.path_of(key);
        match std::fs::read_to_string(&path) {
            Ok(json) => parse(&json, &path.display().to_string()).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::new(
                format!("cannot read {}", path.display()),
                e,
            )),
        }
    }

    /// Writes `session`'s file (the caller holds the row's write mark).
    fn write(&self, session: &PortingSession) -> Result<(), StoreError> {
        let json = serde_json::to_vec(session)
            .map_err(|e| StoreError::new("a session could not be serialized", e))?;
        let path = self.path_of(&SessionKey::of(session));
        self.write_atomically(&path, &json)
            .map_err(|e| StoreError::new(format!("cannot write {}", path.display()), e))
    }

    /// Checks, writes and records a save.
    fn checked_write(
        &self,
        session: &PortingSession,
        lease: Option<&Lease>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let key = SessionKey::of(session);
        let meta = Meta::of(session);
        {
            let mut table = self.table();
            table.check_save(&key, meta.revision, lease, now)?;
            table.begin_write(&key, meta.revision, || ());
        }
        self.finish_write(&key, meta, session)
    }

    /// Writes `session`'s file under its row's write mark and records it,
    /// or forgets the row when it was new and the write failed.
    fn finish_write(
        &self,
        key: &SessionKey,
        meta: Meta,
        session: &PortingSession,
    ) -> Result<(), StoreError> {
        let written = self.write(session);
        self.table()
            .end_write(key, written.as_ref().ok().map(|()| (meta, ())));
        written
    }

    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let temp = self.dir.join(format!(
            ".tmp-{}-{n}-{}",
            std::process::id(),
            file_name(path)
        ));
        let written = (|| {
            let mut file = File::create(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&temp, path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written?;
        // The rename is durable once the directory is synced (where the
        // platform lets a directory be opened).
        if let Ok(dir) = File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

/// Takes `dir`'s lock, recording this process as its holder.
fn lock(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(LOCK_FILE);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| StoreError::new(format!("cannot open {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let holder = if holder.is_empty() {
                "a process that has not recorded itself yet".to_owned()
            } else {
                holder.to_owned()
            };
            return Err(StoreError::in_use(
                format_args!("the session directory {}", dir.display()),
                holder,
            ));
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(StoreError::new(
                format!("cannot lock {}", path.display()),
                e,
            ))
        }
    }
    let holder = format!(
        "process {} since {} ms (Unix time)",
        std::process::id(),
        Timestamp::now().as_unix_millis()
    );
    let recorded = (|| {
        file.set_len(0)?;
        file.rewind()?;
        file.write_all(holder.as_bytes())?;
        file.sync_all()
    })();
    recorded.map_err(|e| StoreError::new(format!("cannot write {}", path.display()), e))?;
    Ok(file)
}

/// The session files of `dir`, sorted.
fn session_files(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| StoreError::new(format!("cannot list {}", dir.display()), e))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "json") && !file_name(path).starts_with('.')
        })
        .collect();
    paths.sort();
    Ok(paths)
}

fn read_session(path: &Path) -> Result<PortingSession, StoreError> {
    let json = std::fs::read_to_string(path)
        .map_err(|e| StoreError::new(format!("cannot read {}", path.display()), e))?;
    parse(&json, &path.display().to_string())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[async_trait]
impl SessionStore for DirectoryStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<PortingSession>, StoreError> {
        self.read(key)
    }

    async fn save(
        &self,
        session: &PortingSession,
        lease: Option<&Lease>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.checked_write(session, lease, now)
    }

    async fn claim(
        &self,
        worker: &WorkerId,
        limit: usize,
        now: Timestamp,
        lease_for: Duration,
        pass: Option<u64>,
    ) -> Result<Vec<Claimed>, StoreError> {
        let leases = self.table().claim(worker, limit, now, lease_for, pass);
        let mut out = Vec::with_capacity(leases.len());
        let mut leases = leases.into_iter();
        while let Some(lease) = leases.next() {
            match self.read(lease.key()) {
                Ok(Some(session)) => out.push(Claimed::new(session, lease)),
                Ok(None) => self.table().release(&lease),
                Err(error) => {
                    let mut table = self.table();
                    table.release(&lease);
                    for lease in leases.by_ref() {
                        table.release(&lease);
                    }
                    for claimed in &out {
                        table.release(claimed.lease());
                    }
                    return Err(error);
                }
            }
        }
        Ok(out)
    }

    async fn acquire(
        &self,
        session: &PortingSession,
        worker: &WorkerId,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Acquired, StoreError> {
        let key = SessionKey::of(session);
        let meta = Meta::of(session);
        let acquired = {
            let mut table = self.table();
            match table.acquire(&key, worker, now, lease_for) {
                Some(found) => Ok(found),
                None => {
                    // Nothing stored: store this one as revision 1, leased
                    // from the start, so that a claim or an acquire while
                    // its file is written finds it held.
                    table.check_save(&key, meta.revision, None, now)?;
                    table.begin_write(&key, meta.revision, || ());
                    Err(table.lease_new(&key, worker, now, lease_for))
                }
            }
        };
        match acquired {
            Ok(Err(holder)) => Ok(Acquired::Held(holder)),
            Ok(Ok(lease)) => match self.read(&key) {
                Ok(Some(stored)) => Ok(Acquired::Claimed(Claimed::new(stored, lease))),
                Ok(None) => {
                    self.table().release(&lease);
                    Err(StoreError::conflict(&key, None))
                }
                Err(error) => {
                    self.table().release(&lease);
                    Err(error)
                }
            },
            Err(lease) => {
                self.finish_write(&key, meta, session)?;
                match lease {
                    Some(lease) => Ok(Acquired::Claimed(Claimed::new(session.clone(), lease))),
                    None => Err(StoreError::conflict(&key, None)),
                }
            }
        }
    }

    async fn renew(
        &self,
        lease: &Lease,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Lease, StoreError> {
        self.table().renew(lease, now, lease_for)
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.table().release(lease);
        Ok(())
    }

    async fn list_unfinished(&self) -> Result<Vec<PortingSession>, StoreError> {
        let keys: Vec<SessionKey> = self
            .table()
            .rows()
            .filter(|(_, row)| row.revision > 0 && !row.is_finished())
            .map(|(key, _)| key.clone())
            .collect();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(session) = self.read(&key)? {
                if !session.is_finished() {
                    out.push(session);
                }
            }
        }
        Ok(out)
    }

    async fn share_rate(
        &self,
        worker: &WorkerId,
        now: Timestamp,
        paused_until: Option<Timestamp>,
    ) -> Result<RateShare, StoreError> {
        let mut board = self.rate.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(board.share(worker, now, paused_until))
    }
}
