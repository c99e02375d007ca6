//! Where sessions live between steps and across restarts: the
//! [`SessionStore`] trait, an in-memory store and a directory store (one
//! JSON file per session, written atomically).

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use crate::checkpoint::Checkpoint;
use crate::session::PortingSession;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What identifies a port in a store: the destination WABA and the number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionKey(String);

impl SessionKey {
    /// The key of `session`: `<waba id>-<E.164 digits>`, safe as a file name.
    pub fn of(session: &PortingSession) -> Self {
        let digits = session.phone_number().e164().trim_start_matches('+');
        Self(format!("{}-{digits}", session.waba_id().as_str()))
    }

    /// The key as text (digits and one dash).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// How logs (the `tracing` feature's `session` field) name this
    /// session: `<waba id>-<hash of the number>`. The number itself is
    /// never logged; from a support ticket's number, make the key
    /// ([`SessionKey::of`] a session for it) and search the logs for this.
    pub fn log_id(&self) -> String {
        match self.0.split_once('-') {
            Some((waba, digits)) => format!("{waba}-{}", number_hash(digits)),
            None => number_hash(&self.0),
        }
    }
}

/// A stable, short pseudonym of a number's E.164 digits (FNV-1a, 64 bits,
/// hex) to tell sessions apart in logs without the number. Pseudonymous,
/// not anonymous: phone numbers are few enough to hash them all.
pub(crate) fn number_hash(digits: &str) -> String {
    let digits = digits.trim_start_matches('+');
    let hash = digits
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("{hash:016x}")
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A store could not load, save or list sessions.
#[derive(Debug, thiserror::Error)]
#[error("session store: {what}")]
pub struct StoreError {
    what: String,
    #[source]
    source: Option<BoxError>,
}

impl StoreError {
    /// An error saying `what` failed, caused by `source` — for your own
    /// [`SessionStore`] implementations.
    pub fn new(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self {
            what: what.into(),
            source: Some(source.into()),
        }
    }
}

/// A durable home for porting sessions, keyed by [`SessionKey`].
///
/// The client saves through it before each side-effecting request and after
/// each outcome (every store is a [`Checkpoint`] by
/// [`StoreCheckpoint`]); a restarted process lists the unfinished sessions
/// and resumes each (a session left with a step in flight reconciles first).
///
/// Implement it over your own database with one row per key holding the
/// session's JSON (`serde_json::to_vec(session)`): `save` is an upsert that
/// must be durable when it returns (a committed transaction); `load` reads
/// the row; `list_unfinished` selects rows whose session is not finished
/// (keep `session.is_finished()` in a column to filter in the query).
#[async_trait]
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// The session saved under `key`, if any.
    async fn load(&self, key: &SessionKey) -> Result<Option<PortingSession>, StoreError>;

    /// Saves `session` under [`SessionKey::of`] it, replacing the previous
    /// save; durable when it returns.
    async fn save(&self, session: &PortingSession) -> Result<(), StoreError>;

    /// Every saved session that is not finished (registered or rejected),
    /// in key order.
    async fn list_unfinished(&self) -> Result<Vec<PortingSession>, StoreError>;
}

#[async_trait]
impl<T: SessionStore + ?Sized> SessionStore for std::sync::Arc<T> {
    async fn load(&self, key: &SessionKey) -> Result<Option<PortingSession>, StoreError> {
        (**self).load(key).await
    }

    async fn save(&self, session: &PortingSession) -> Result<(), StoreError> {
        (**self).save(session).await
    }

    async fn list_unfinished(&self) -> Result<Vec<PortingSession>, StoreError> {
        (**self).list_unfinished().await
    }
}

/// Makes any [`SessionStore`] the client's [`Checkpoint`]:
/// `PortingClient::builder().checkpoint(StoreCheckpoint(store))`.
#[derive(Clone, Debug)]
pub struct StoreCheckpoint<S>(pub S);

#[async_trait]
impl<S: SessionStore> Checkpoint for StoreCheckpoint<S> {
    async fn save(&self, session: &PortingSession) -> Result<(), BoxError> {
        self.0.save(session).await.map_err(Into::into)
    }
}

/// Sessions in memory (tests, short-lived tools); share it behind an `Arc`.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    /// Each session's JSON, exactly as long as it is (no spare capacity: a
    /// hundred thousand sessions are ~75 MB, not ~100).
    sessions: Mutex<BTreeMap<SessionKey, Box<str>>>,
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, BTreeMap<SessionKey, Box<str>>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl SessionStore for InMemoryStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<PortingSession>, StoreError> {
        let saved = self.sessions().get(key).cloned();
        saved.map(|json| parse(&json, key.as_str())).transpose()
    }

    async fn save(&self, session: &PortingSession) -> Result<(), StoreError> {
        let json = serde_json::to_string(session)
            .map_err(|e| StoreError::new("a session could not be serialized", e))?;
        self.sessions()
            .insert(SessionKey::of(session), json.into_boxed_str());
        Ok(())
    }

    async fn list_unfinished(&self) -> Result<Vec<PortingSession>, StoreError> {
        let saved: Vec<(SessionKey, Box<str>)> = self
            .sessions()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut out = Vec::new();
        for (key, json) in saved {
            let session = parse(&json, key.as_str())?;
            if !session.is_finished() {
                out.push(session);
            }
        }
        Ok(out)
    }
}

/// One JSON file per session in a directory (`<key>.json`), each written
/// atomically: a temporary file in the same directory, `fsync`, rename over
/// the old file, `fsync` of the directory. A crash leaves the old or the new
/// session, never half of one.
///
/// Files are small (under 1 KiB for a finished port) and written with
/// blocking I/O on the calling task.
#[derive(Debug)]
pub struct DirectoryStore {
    dir: PathBuf,
    temp_counter: AtomicU64,
}

impl DirectoryStore {
    /// A store in `dir`, created if missing.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| StoreError::new(format!("cannot create {}", dir.display()), e))?;
        Ok(Self {
            dir,
            temp_counter: AtomicU64::new(0),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, key: &SessionKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.as_str()))
    }

    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let temp = self.dir.join(format!(
            ".tmp-{}-{n}-{}",
            std::process::id(),
            file_name(path)
        ));
        let written = (|| {
            let mut file = std::fs::File::create(&temp)?;
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
        if let Ok(dir) = std::fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn parse(json: &str, origin: &str) -> Result<PortingSession, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::new(format!("the session in {origin} cannot be read"), e))
}

#[async_trait]
impl SessionStore for DirectoryStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<PortingSession>, StoreError> {
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

    async fn save(&self, session: &PortingSession) -> Result<(), StoreError> {
        let json = serde_json::to_vec(session)
            .map_err(|e| StoreError::new("a session could not be serialized", e))?;
        let path = self.path_of(&SessionKey::of(session));
        self.write_atomically(&path, &json)
            .map_err(|e| StoreError::new(format!("cannot write {}", path.display()), e))
    }

    async fn list_unfinished(&self) -> Result<Vec<PortingSession>, StoreError> {
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| StoreError::new(format!("cannot list {}", self.dir.display()), e))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| {
                path.extension().is_some_and(|ext| ext == "json")
                    && !file_name(path).starts_with('.')
            })
            .collect();
        paths.sort();
        let mut out = Vec::new();
        for path in paths {
            let json = std::fs::read_to_string(&path)
                .map_err(|e| StoreError::new(format!("cannot read {}", path.display()), e))?;
            let session = parse(&json, &path.display().to_string())?;
            if !session.is_finished() {
                out.push(session);
            }
        }
        Ok(out)
    }
}
