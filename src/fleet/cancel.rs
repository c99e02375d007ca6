//! Stopping a fleet between steps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Stops a running [`Fleet`](crate::Fleet) cleanly: every session finishes
/// the step it is in (saved), no new step starts, and the run returns with
/// the rest marked [`SessionOutcome::Cancelled`](crate::SessionOutcome::Cancelled).
/// Clones share one flag.
///
/// Dropping the run's future also stops it, mid-step: the store then holds
/// each session as the client last saved it (a step in flight is marked and
/// reconciled when the session is resumed), so nothing is lost either way.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every run holding a clone to stop after its current steps.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
