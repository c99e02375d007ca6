//! The leases a fleet's runs hold, and the checkpoint that saves under
//! them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::checkpoint::Checkpoint;
use crate::session::PortingSession;
use crate::store::{Lease, SessionKey, SessionStore};
use crate::time::Clock;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The lease of each session a fleet's runs advance, by key.
#[derive(Debug, Default)]
pub(crate) struct LeaseBook {
    leases: Mutex<HashMap<SessionKey, Lease>>,
}

impl LeaseBook {
    fn leases(&self) -> MutexGuard<'_, HashMap<SessionKey, Lease>> {
        self.leases.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `lease` (a new one, or a renewal) for its key.
    pub(crate) fn hold(&self, lease: Lease) {
        self.leases().insert(lease.key().clone(), lease);
    }

    /// The lease held on `key`.
    pub(crate) fn get(&self, key: &SessionKey) -> Option<Lease> {
        self.leases().get(key).cloned()
    }

    /// Forgets `key`'s lease drawn as `token`, returning it (to release);
    /// a newer lease on the key (another run's) stays.
    pub(crate) fn drop_lease(&self, key: &SessionKey, token: u64) -> Option<Lease> {
        let mut leases = self.leases();
        match leases.get(key) {
            Some(lease) if lease.token() == token => leases.remove(key),
            _ => None,
        }
    }
}

/// The fleet client's checkpoint: saves a session to the store under the
/// lease the fleet holds on it, so a worker that lost its lease writes
/// nothing (and sends nothing: the save comes before every side effect).
#[derive(Debug)]
pub(crate) struct LeasedCheckpoint {
    store: Arc<dyn SessionStore>,
    leases: Arc<LeaseBook>,
    clock: Arc<dyn Clock>,
}

impl LeasedCheckpoint {
    pub(crate) fn new(
        store: Arc<dyn SessionStore>,
        leases: Arc<LeaseBook>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            leases,
            clock,
        }
    }
}

#[async_trait]
impl Checkpoint for LeasedCheckpoint {
    async fn save(&self, session: &PortingSession) -> Result<(), BoxError> {
        let lease = self.leases.get(&SessionKey::of(session));
        self.store
            .save(session, lease.as_ref(), self.clock.now())
            .await
            .map_err(Into::into)
    }
}
