//! Where sessions live between steps and across restarts, shared by many
//! writers: the [`SessionStore`] contract (revisions, leases), its error,
//! and the shipped stores, one module each.

mod directory;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod rate;
#[cfg(feature = "sqlite")]
mod sqlite;
mod table;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use crate::checkpoint::Checkpoint;
use crate::session::PortingSession;
use crate::time::Timestamp;

pub use directory::DirectoryStore;
pub use memory::InMemoryStore;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{PostgresStore, PostgresStoreBuilder};
pub(crate) use rate::RateBoard;
pub use rate::{RateShare, RATE_SYNC_INTERVAL, WORKER_TTL};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::SqliteStore;

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

impl SessionKey {
    /// A key as a store holds it (its text column, its file name): the
    /// stores of this crate read their keys back with it.
    #[allow(dead_code)] // for the SQL stores
    pub(crate) fn from_stored(key: impl Into<String>) -> Self {
        Self(key.into())
    }
}

/// What went wrong in a store, by what the caller should do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store, its connection or its data failed (I/O, a database
    /// error, a row that does not parse): retry later, or look at the
    /// store.
    Backend,
    /// Another writer saved the session since this writer loaded it: the
    /// stored revision is not the one this save follows. Nothing was
    /// written; load the session again (the other writer's save is the
    /// truth) — never force the save.
    Conflict {
        /// The revision the store holds (`None`: no session is stored).
        stored: Option<u64>,
    },
    /// The writer does not hold the session: its lease lapsed and another
    /// worker claimed the session, or it was released, or (for a save
    /// without a lease) another worker holds a live lease on it. Nothing
    /// was written; leave the session to its holder.
    Fenced {
        /// Who holds the session now, when someone does.
        holder: Option<Holder>,
    },
    /// The store is already in use by another process and cannot be
    /// shared (a [`DirectoryStore`] directory): nothing was opened.
    InUse {
        /// Who holds it, as the holder recorded itself (process id, time).
        holder: String,
    },
}

/// A store could not load, save, claim or list sessions; its
/// [`kind`](Self::kind) says whether another writer won
/// ([`Conflict`](StoreErrorKind::Conflict),
/// [`Fenced`](StoreErrorKind::Fenced)) or the store failed.
#[derive(Debug, thiserror::Error)]
#[error("session store: {what}")]
pub struct StoreError {
    kind: StoreErrorKind,
    what: String,
    #[source]
    source: Option<BoxError>,
}

impl StoreError {
    /// An error saying `what` failed, caused by `source` — for your own
    /// [`SessionStore`] implementations ([`StoreErrorKind::Backend`]).
    pub fn new(what: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self {
            kind: StoreErrorKind::Backend,
            what: what.into(),
            source: Some(source.into()),
        }
    }

    /// The save of `key` follows a revision the store no longer holds
    /// (`stored`: the one it holds, `None` if nothing is stored).
    pub fn conflict(key: &SessionKey, stored: Option<u64>) -> Self {
        let what = match stored {
            Some(revision) => format!(
                "session {key} was saved by another writer (the store holds revision \
                 {revision}); load it again"
            ),
            None => format!("session {key} is not stored; it was never saved or was removed"),
        };
        Self {
            kind: StoreErrorKind::Conflict { stored },
            what,
            source: None,
        }
    }

    /// A writer that does not hold `key`'s lease tried to write it or
    /// renew the lease (`holder`: who holds it now, if anyone).
    pub fn fenced(key: &SessionKey, holder: Option<Holder>) -> Self {
        let what = match &holder {
            Some(holder) => format!(
                "session {key} is held by worker {} until {} ms; this writer's lease is \
                 gone, so nothing was written",
                holder.worker(),
                holder.until().as_unix_millis()
            ),
            None => format!("session {key}: this writer's lease is gone, so nothing was written"),
        };
        Self {
            kind: StoreErrorKind::Fenced { holder },
            what,
            source: None,
        }
    }

    /// The store at `what` is used by another process, `holder`.
    pub fn in_use(what: impl fmt::Display, holder: impl Into<String>) -> Self {
        let holder = holder.into();
        Self {
            what: format!("{what} is in use by another process ({holder})"),
            kind: StoreErrorKind::InUse { holder },
            source: None,
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &StoreErrorKind {
        &self.kind
    }

    /// Whether another writer or worker won: the save was refused
    /// ([`Conflict`](StoreErrorKind::Conflict) or
    /// [`Fenced`](StoreErrorKind::Fenced)), nothing was written, and the
    /// session should be left to (or reloaded from) the store.
    pub fn is_superseded(&self) -> bool {
        matches!(
            self.kind,
            StoreErrorKind::Conflict { .. } | StoreErrorKind::Fenced { .. }
        )
    }

    /// The holder of the session, for a [`Fenced`](StoreErrorKind::Fenced)
    /// error that knows it.
    pub fn holder(&self) -> Option<&Holder> {
        match &self.kind {
            StoreErrorKind::Fenced { holder } => holder.as_ref(),
            _ => None,
        }
    }
}

/// Who advances sessions: a fleet, a process, a replica. Leases are taken
/// in its name; a worker never advances a session another one holds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkerId(String);

impl WorkerId {
    /// A worker id of your choosing (a replica's host name and process id,
    /// a pod name): what logs and [`Holder`] show.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// A fresh worker id, unique for this process's life:
    /// `worker-<process id>-<random hex>`.
    pub fn random() -> Self {
        let random = getrandom::u64().unwrap_or_else(|_| {
            static NEXT: AtomicU64 = AtomicU64::new(1);
            NEXT.fetch_add(1, Ordering::Relaxed)
        });
        Self(format!("worker-{}-{random:016x}", std::process::id()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who holds a session's lease, and until when.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Holder {
    worker: WorkerId,
    until: Timestamp,
}

impl Holder {
    /// `worker` holds the session until `until`.
    pub fn new(worker: WorkerId, until: Timestamp) -> Self {
        Self { worker, until }
    }

    /// The worker.
    pub fn worker(&self) -> &WorkerId {
        &self.worker
    }

    /// When the lease lapses unless renewed.
    pub fn until(&self) -> Timestamp {
        self.until
    }
}

/// The right of one worker to advance one session until a time: taken by
/// [`SessionStore::claim`] or [`SessionStore::acquire`], kept by
/// [`SessionStore::renew`], given back by [`SessionStore::release`].
///
/// Each claim of a session draws a new `token` (a fencing token: it only
/// grows, store-wide — each token drawn is above every earlier one, for any
/// session). A save under a lease is written only while the
/// store still holds that very lease — same worker, same token — so a
/// worker whose lease lapsed and was taken over can never write again,
/// even if it wakes up later believing it still holds it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Lease {
    key: SessionKey,
    worker: WorkerId,
    token: u64,
    until: Timestamp,
}

impl Lease {
    /// A lease of `key` for `worker`, drawn as `token`, lapsing at `until`
    /// — for your own [`SessionStore`] implementations.
    pub fn new(key: SessionKey, worker: WorkerId, token: u64, until: Timestamp) -> Self {
        Self {
            key,
            worker,
            token,
            until,
        }
    }

    /// The session held.
    pub fn key(&self) -> &SessionKey {
        &self.key
    }

    /// The worker holding it.
    pub fn worker(&self) -> &WorkerId {
        &self.worker
    }

    /// The fencing token of this claim (above every token the store drew
    /// before it).
    pub fn token(&self) -> u64 {
        self.token
    }

    /// When it lapses unless renewed.
    pub fn until(&self) -> Timestamp {
        self.until
    }

    /// The same lease, lapsing at `until` (what a renewal returns).
    pub fn renewed_until(&self, until: Timestamp) -> Self {
        Self {
            until,
            ..self.clone()
        }
    }

    /// As a [`Holder`].
    pub fn holder(&self) -> Holder {
        Holder::new(self.worker.clone(), self.until)
    }
}

/// A session claimed for a worker, with its lease.
#[derive(Clone, Debug)]
pub struct Claimed {
    session: PortingSession,
    lease: Lease,
}

impl Claimed {
    /// `session`, held under `lease`.
    pub fn new(session: PortingSession, lease: Lease) -> Self {
        Self { session, lease }
    }

    /// The session as stored (its [`revision`](PortingSession::revision)
    /// is the stored one).
    pub fn session(&self) -> &PortingSession {
        &self.session
    }

    /// The lease.
    pub fn lease(&self) -> &Lease {
        &self.lease
    }

    /// The session and the lease.
    pub fn into_parts(self) -> (PortingSession, Lease) {
        (self.session, self.lease)
    }
}

/// What [`SessionStore::acquire`] got.
#[derive(Clone, Debug)]
#[non_exhaustive]
// The claimed session is the common case: boxing it would cost every
// acquire an allocation to save stack space on the rare `Held`.
#[allow(clippy::large_enum_variant)]
pub enum Acquired {
    /// The session is this worker's until the lease lapses.
    Claimed(Claimed),
    /// Another worker (or another run of this one) holds it.
    Held(Holder),
}

/// When a stored session is next due ([`PortingSession::due_at`]), as the
/// due column of the shipped stores holds it: the Unix epoch for "now".
pub(crate) fn due_at(session: &PortingSession) -> Timestamp {
    session.due_at().unwrap_or(Timestamp::from_unix_millis(0))
}

/// A durable home for porting sessions, keyed by [`SessionKey`], shared
/// safely by many writers: every save is conditional (fenced), and workers
/// lease the sessions they advance.
///
/// # The contract
///
/// - **Revisions.** Each stored session carries a
///   [`revision`](PortingSession::revision) that only grows. A writer
///   saves revision `n + 1` over the `n` it loaded
///   ([`PortingSession::next_revision`]; the client does this for every
///   checkpoint save); a new session is saved as revision 1 where nothing
///   is stored. Any other save is refused with
///   [`StoreErrorKind::Conflict`] and writes nothing: a stale writer (a
///   dropped run whose save lands late, a second replica) can never
///   overwrite a newer session. Because the client saves before every
///   side-effecting request, a refused save means the request is never
///   sent: the store is the fence.
/// - **Leases.** [`claim`](Self::claim) and [`acquire`](Self::acquire)
///   give a worker a [`Lease`] on a session until a time;
///   [`renew`](Self::renew) extends it, [`release`](Self::release) gives
///   it back. A session under a live lease is claimed by nobody else; a
///   lapsed one (a killed worker) can be taken over, with a new fencing
///   token. A save under a lease is refused with
///   [`StoreErrorKind::Fenced`] once the store no longer holds that lease;
///   a save without one is refused while another worker holds a live
///   lease.
/// - **Durability.** A save is durable when it returns; each operation is
///   atomic (a claim never hands one session to two workers).
///
/// Check an implementation with the conformance suite,
/// `waba_porting::test_util::store_conformance` (feature `test-util`),
/// which every store of this crate passes: revision conflicts, stale
/// writes, lease expiry and take-over, fencing of a lost lease, listing
/// and concurrent claims.
///
/// Times are the caller's ([`Clock`](crate::Clock)): workers sharing a
/// store need clocks that agree to well within a lease (NTP does).
///
/// Shipped: [`InMemoryStore`], [`DirectoryStore`] (one process), and with
/// features, `SqliteStore` (`sqlite`) and `PostgresStore` (`postgres`, for
/// replicas).
#[async_trait]
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// The session saved under `key`, if any, with its stored revision.
    async fn load(&self, key: &SessionKey) -> Result<Option<PortingSession>, StoreError>;

    /// Saves `session` under [`SessionKey::of`] it as revision
    /// `session.revision()`, over revision `session.revision() - 1` (or
    /// over nothing, for revision 1); durable when it returns.
    ///
    /// `lease` is the writer's lease on the session, if it holds one; `now`
    /// decides whether another worker's lease is live.
    ///
    /// # Errors
    /// [`StoreErrorKind::Conflict`] when the stored revision is not the one
    /// this save follows; [`StoreErrorKind::Fenced`] when `lease` is not
    /// the store's lease on the session, or `lease` is `None` and another
    /// worker holds a live one; [`StoreErrorKind::Backend`] when the store
    /// failed. Nothing is written on any error.
    async fn save(
        &self,
        session: &PortingSession,
        lease: Option<&Lease>,
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// Claims for `worker`, until `now + lease_for`, up to `limit` sessions
    /// that are unfinished, due ([`PortingSession::due_at`] ≤ `now`, or
    /// none) and under no live lease; when `pass` is given, only those
    /// whose last lease (claimed or acquired, by anyone) has a
    /// [token](Lease::token) below it. Earliest due first, then by key.
    /// Atomic: two workers claiming at once never get the same session.
    ///
    /// **Tokens grow store-wide**: every lease drawn (by `claim` or
    /// `acquire`) has a token above every token drawn before it, so a
    /// caller that passes the smallest token of its first claim as `pass`
    /// for its later claims never gets a session twice, whoever claimed it
    /// meanwhile — one pass over the store ends even while other workers
    /// claim and release the sessions it already saw (a clock standing
    /// still included). Sessions never leased have token 0.
    async fn claim(
        &self,
        worker: &WorkerId,
        limit: usize,
        now: Timestamp,
        lease_for: Duration,
        pass: Option<u64>,
    ) -> Result<Vec<Claimed>, StoreError>;

    /// Leases `session`'s key for `worker` until `now + lease_for`: the
    /// stored session (whatever `session` says), or `session` itself saved
    /// as revision 1 when nothing is stored (its revision must then be 1).
    /// [`Acquired::Held`] when a live lease of another claim holds it
    /// (finished sessions are leased like the others).
    async fn acquire(
        &self,
        session: &PortingSession,
        worker: &WorkerId,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Acquired, StoreError>;

    /// Extends `lease` to `now + lease_for`.
    ///
    /// # Errors
    /// [`StoreErrorKind::Fenced`] when the store no longer holds `lease`
    /// (it lapsed and was taken over, or was released).
    async fn renew(
        &self,
        lease: &Lease,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Lease, StoreError>;

    /// Gives `lease` back: the session can be claimed at once. Releasing a
    /// lease the store no longer holds does nothing.
    async fn release(&self, lease: &Lease) -> Result<(), StoreError>;

    /// Every saved session that is not finished (registered or rejected),
    /// in key order, leased or not (for reports; workers
    /// [`claim`](Self::claim)).
    async fn list_unfinished(&self) -> Result<Vec<PortingSession>, StoreError>;

    /// Shares one app's rate budget among the workers on this store:
    /// records that `worker` is stepping at `now` and, when given, a pause
    /// it saw a rate-limit answer for (`paused_until`, kept if later than
    /// the stored one); returns the latest pause still ahead and how many
    /// workers were seen within [`WORKER_TTL`]. A fleet calls it every
    /// [`RATE_SYNC_INTERVAL`] while it steps, pauses its throttle until
    /// the shared pause and takes `1 / workers` of the budget.
    ///
    /// The default shares nothing (each worker alone, its own pauses):
    /// override it where replicas share the store. The shipped stores do.
    async fn share_rate(
        &self,
        worker: &WorkerId,
        now: Timestamp,
        paused_until: Option<Timestamp>,
    ) -> Result<RateShare, StoreError> {
        let _ = worker;
        Ok(RateShare::new(paused_until.filter(|until| *until > now), 1))
    }
}

#[async_trait]
impl<T: SessionStore + ?Sized> SessionStore for std::sync::Arc<T> {
    async fn load(&self, key: &SessionKey) -> Result<Option<PortingSession>, StoreError> {
        (**self).load(key).await
    }

    async fn save(
        &self,
        session: &PortingSession,
        lease: Option<&Lease>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        (**self).save(session, lease, now).await
    }

    async fn claim(
        &self,
        worker: &WorkerId,
        limit: usize,
        now: Timestamp,
        lease_for: Duration,
        pass: Option<u64>,
    ) -> Result<Vec<Claimed>, StoreError> {
        (**self).claim(worker, limit, now, lease_for, pass).await
    }

    async fn acquire(
        &self,
        session: &PortingSession,
        worker: &WorkerId,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Acquired, StoreError> {
        (**self).acquire(session, worker, now, lease_for).await
    }

    async fn renew(
        &self,
        lease: &Lease,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Lease, StoreError> {
        (**self).renew(lease, now, lease_for).await
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        (**self).release(lease).await
    }

    async fn list_unfinished(&self) -> Result<Vec<PortingSession>, StoreError> {
        (**self).list_unfinished().await
    }

    async fn share_rate(
        &self,
        worker: &WorkerId,
        now: Timestamp,
        paused_until: Option<Timestamp>,
    ) -> Result<RateShare, StoreError> {
        (**self).share_rate(worker, now, paused_until).await
    }
}

/// Makes any [`SessionStore`] the client's [`Checkpoint`] for a program
/// that drives sessions itself, without leases:
/// `PortingClient::builder().checkpoint(StoreCheckpoint(store))`.
///
/// Its saves are fenced by revision (a session changed by another writer
/// since it was loaded is refused) and refused while a worker holds a live
/// lease on the session (read at the wall clock). A [`Fleet`](crate::Fleet)
/// uses its own, leased checkpoint.
#[derive(Clone, Debug)]
pub struct StoreCheckpoint<S>(pub S);

#[async_trait]
impl<S: SessionStore> Checkpoint for StoreCheckpoint<S> {
    async fn save(&self, session: &PortingSession) -> Result<(), BoxError> {
        self.0
            .save(session, None, Timestamp::now())
            .await
            .map_err(Into::into)
    }
}

/// Parses a stored session's JSON (`origin`: where it was read, for the
/// error).
pub(crate) fn parse(json: &str, origin: &str) -> Result<PortingSession, StoreError> {
    serde_json::from_str(json)
        .map_err(|e| StoreError::new(format!("the session in {origin} cannot be read"), e))
}

/// A session's JSON, as the stores keep it.
pub(crate) fn to_json(session: &PortingSession) -> Result<String, StoreError> {
    serde_json::to_string(session)
        .map_err(|e| StoreError::new("a session could not be serialized", e))
}
