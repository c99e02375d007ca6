//! The suite catches stores that break the contract: each store here is
//! an `InMemoryStore` with one rule broken, and fails the check about it.

use crate::common::stores::{Twist, Twisted};
use std::time::Duration;

use async_trait::async_trait;
use waba_porting::test_util::store_conformance::{check_store, Check};
use waba_porting::{
    Claimed, InMemoryStore, Lease, PortingSession, SessionStore, StoreError, StoreErrorKind,
    Timestamp, WorkerId,
};

#[derive(Clone, Copy, Debug)]
enum Breach {
    /// `claim` takes every due session, whatever the limit.
    IgnoresLimit,
    /// `claim` hands out its sessions latest due first.
    ReversedOrder,
    /// `save` drops the writer's lease (as if unleased).
    DropsLease,
    /// `save` forces a refused revision over the stored one.
    ForcesConflicts,
    /// `release` keeps the lease.
    KeepsReleased,
    /// `claim` ignores the pass floor (a pass may get a session twice).
    IgnoresPass,
}

#[derive(Debug)]
struct Broken {
    inner: InMemoryStore,
    breach: Breach,
}

#[async_trait]
impl Twist for Broken {
    fn inner(&self) -> &InMemoryStore {
        &self.inner
    }

    async fn save(
        &self,
        session: &PortingSession,
        lease: Option<&Lease>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        match self.breach {
            Breach::DropsLease => self.inner.save(session, None, now).await,
            Breach::ForcesConflicts => match self.inner.save(session, lease, now).await {
                Err(e) => match e.kind() {
                    StoreErrorKind::Conflict {
                        stored: Some(stored),
                    } => {
                        let mut forced = session.clone();
                        while forced.revision() <= *stored {
                            forced.next_revision();
                        }
                        self.inner.save(&forced, lease, now).await
                    }
                    _ => Err(e),
                },
                ok => ok,
            },
            _ => self.inner.save(session, lease, now).await,
        }
    }

    async fn claim(
        &self,
        worker: &WorkerId,
        limit: usize,
        now: Timestamp,
        lease_for: Duration,
        pass: Option<u64>,
    ) -> Result<Vec<Claimed>, StoreError> {
        let limit = match self.breach {
            Breach::IgnoresLimit if limit > 0 => usize::MAX,
            _ => limit,
        };
        let pass = match self.breach {
            Breach::IgnoresPass => None,
            _ => pass,
        };
        let mut claimed = self
            .inner
            .claim(worker, limit, now, lease_for, pass)
            .await?;
        if let Breach::ReversedOrder = self.breach {
            claimed.reverse();
        }
        Ok(claimed)
    }

    async fn release(&self, lease: &Lease) -> Result<(), StoreError> {
        match self.breach {
            Breach::KeepsReleased => Ok(()),
            _ => self.inner.release(lease).await,
        }
    }
}

#[tokio::test]
async fn each_broken_rule_fails_the_check_about_it() {
    for (breach, check) in [
        (Breach::IgnoresLimit, Check::ClaimSelection),
        (Breach::ReversedOrder, Check::ClaimSelection),
        (Breach::DropsLease, Check::StaleWrites),
        (Breach::ForcesConflicts, Check::RevisionConflicts),
        (Breach::KeepsReleased, Check::ClaimSelection),
        (Breach::IgnoresPass, Check::ClaimSelection),
    ] {
        let store = Twisted(Broken {
            inner: InMemoryStore::new(),
            breach,
        });
        let failure = check_store(&store, &store)
            .await
            .expect_err("a broken store fails");
        assert_eq!(failure.check(), check, "{breach:?}: {failure}");
        assert!(!failure.case().is_empty() && !failure.detail().is_empty());
        println!("{breach:?}: {failure}");
    }
}
