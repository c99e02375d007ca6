//! One rate budget for the workers sharing a store: the pause after a
//! rate-limit answer, and how many workers split the calls-per-second
//! budget.

use std::collections::HashMap;
use std::time::Duration;

use super::WorkerId;
use crate::time::Timestamp;

/// How long a worker counts as sharing the budget after it last said so
/// ([`SessionStore::share_rate`](super::SessionStore::share_rate)): a
/// fleet says so at least every [`RATE_SYNC_INTERVAL`] while it steps.
///
/// Ages are measured on the clock of the worker asking, so replicas whose
/// clocks are apart by up to half of this still count each other alike; a
/// worker that stops frees its share within it.
pub const WORKER_TTL: Duration = Duration::from_secs(120);

/// How often a stepping fleet shares its rate view with its store.
pub const RATE_SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// What the workers sharing a store know together of the app's rate limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateShare {
    /// Until when every worker pauses (the latest pause any worker saw a
    /// rate-limit answer for), if one is known.
    pub paused_until: Option<Timestamp>,
    /// How many workers share the calls-per-second budget now (at least
    /// 1): each takes an even part of it.
    pub workers: u32,
}

impl RateShare {
    /// `workers` share the budget, pausing until `paused_until` — for your
    /// own [`SessionStore`](super::SessionStore) implementations.
    pub fn new(paused_until: Option<Timestamp>, workers: u32) -> Self {
        Self {
            paused_until,
            workers: workers.max(1),
        }
    }
}

/// The in-process stores' rate board.
#[derive(Debug, Default)]
pub(crate) struct RateBoard {
    paused_until: Option<Timestamp>,
    seen: HashMap<WorkerId, Timestamp>,
}

impl RateBoard {
    pub(crate) fn share(
        &mut self,
        worker: &WorkerId,
        now: Timestamp,
        paused_until: Option<Timestamp>,
    ) -> RateShare {
        self.paused_until = self.paused_until.max(paused_until);
        self.seen.insert(worker.clone(), now);
        self.seen
            .retain(|_, seen| now.saturating_since(*seen) <= WORKER_TTL);
        let workers = u32::try_from(self.seen.len()).unwrap_or(u32::MAX);
        RateShare::new(self.paused_until.filter(|until| *until > now), workers)
    }
}
