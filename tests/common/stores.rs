//! Stores that are an `InMemoryStore` except where a test twists one call:
//! a save that fails, stalls or races another writer, a claim that ignores
//! the pass, a release another worker interleaves with. A twist implements
//! [`Twist`] (only the calls it changes) and is used as `Twisted(twist)`.
#![allow(dead_code)] // each test file uses a different subset

use std::ops::Deref;
use std::time::Duration;

use waba_porting::{
    async_trait, Acquired, Claimed, InMemoryStore, Lease, PortingSession, RateShare, SessionKey,
    SessionStore, StoreError, Timestamp, WorkerId,
};

/// The calls of a `SessionStore`, each going to [`Twist::inner`] unless the
/// twist overrides it. `share_rate` keeps the trait's own default (each
/// worker alone) unless the twist overrides it.
#[async_trait]
pub trait Twist: std::fmt::Debug + Send + Sync {
    /// The store every call goes to unless the twist changes it.
    fn inner(&self) -> &InMemoryStore;

    async fn load(&self, key: &SessionKey) -> Result<Option<PortingSession>, StoreError> {
        self.inner().load(key).await
    }

    async fn save(
        &self,
        session: &PortingSession,
        lease: Option<&Lease>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.inner().save(session, lease, now).await
    }

    async fn claim(
        &self,
        worker: &WorkerId,
        limit: usize,
        now: Timestamp,
        lease_for: Duration,
        pass: Option<u64>,
    ) -> Result<Vec<Claimed>, StoreError> {
        self.inner()
            .claim(worker, limit, now, lease_for, pass)
            .await
    }

    async fn acquire(
        &self,
        session: &PortingSession,
        worker: &WorkerId,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Acquired, StoreError> {
        self.inner().acquire(session, worker, now, lease_for).await
    }

    async fn renew(
        &self,
        lease: &Lease,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Lease, StoreError> {
        self.inner().renew(lease, now, lease_for).await
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.inner().release(lease).await
    }

    async fn list_unfinished(&self) -> Result<Vec<PortingSession>, StoreError> {
        self.inner().list_unfinished().await
    }

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

/// A [`Twist`] as a `SessionStore`; derefs to the twist (its fields and
/// knobs).
#[derive(Debug, Default)]
pub struct Twisted<T>(pub T);

impl<T> Deref for Twisted<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

#[async_trait]
impl<T: Twist> SessionStore for Twisted<T> {
    async fn load(&self, key: &SessionKey) -> Result<Option<PortingSession>, StoreError> {
        self.0.load(key).await
    }

    async fn save(
        &self,
        session: &PortingSession,
        lease: Option<&Lease>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.0.save(session, lease, now).await
    }

    async fn claim(
        &self,
        worker: &WorkerId,
        limit: usize,
        now: Timestamp,
        lease_for: Duration,
        pass: Option<u64>,
    ) -> Result<Vec<Claimed>, StoreError> {
        self.0.claim(worker, limit, now, lease_for, pass).await
    }

    async fn acquire(
        &self,
        session: &PortingSession,
        worker: &WorkerId,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Acquired, StoreError> {
        self.0.acquire(session, worker, now, lease_for).await
    }

    async fn renew(
        &self,
        lease: &Lease,
        now: Timestamp,
        lease_for: Duration,
    ) -> Result<Lease, StoreError> {
        self.0.renew(lease, now, lease_for).await
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        self.0.release(lease).await
    }

    async fn list_unfinished(&self) -> Result<Vec<PortingSession>, StoreError> {
        self.0.list_unfinished().await
    }

    async fn share_rate(
        &self,
        worker: &WorkerId,
        now: Timestamp,
        paused_until: Option<Timestamp>,
    ) -> Result<RateShare, StoreError> {
        self.0.share_rate(worker, now, paused_until).await
    }
}
