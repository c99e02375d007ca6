//! Stopping a fleet, or every wait of a client, at once.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

/// Stops a running [`Fleet`](crate::Fleet) cleanly: no new step starts,
/// every wait ends at once (a throttle pause, a wait between retries: the
/// step is then not sent), a request already sent gets its answer recorded
/// and saved, and the run returns with the rest marked
/// [`SessionOutcome::Cancelled`](crate::SessionOutcome::Cancelled). Clones
/// share one flag.
///
/// Give one to a client
/// ([`PortingClientBuilder::cancel_token`](crate::PortingClientBuilder::cancel_token))
/// to end its waits the same way: a step cut short in the throttle returns
/// [`Error::WaitRequired`](crate::Error::WaitRequired) with
/// [`WaitReason::Cancelled`](crate::WaitReason::Cancelled), nothing sent;
/// one cut short between two attempts returns its last attempt's failure
/// (which says whether that request was sent, refused, or is to be
/// reconciled).
///
/// Dropping the run's future also stops it, mid-step: the store then holds
/// each session as the client last saved it (a step in flight is marked and
/// reconciled when the session is resumed), so nothing is lost either way.
#[derive(Clone, Default)]
pub struct CancelToken(Arc<Shared>);

#[derive(Default)]
struct Shared {
    cancelled: AtomicBool,
    next_id: AtomicU64,
    /// The tasks waiting for the cancel, by waiter id.
    waiters: Mutex<HashMap<u64, Waker>>,
}

impl fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl CancelToken {
    /// A token not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every run and client holding a clone to stop: waits end now,
    /// no new step starts.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        let waiters = std::mem::take(&mut *self.waiters());
        for waker in waiters.into_values() {
            waker.wake();
        }
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// A future that completes once the token is cancelled (at once if it
    /// is already). Dropping it unregisters it.
    pub fn cancelled(&self) -> Cancelled {
        Cancelled {
            token: self.clone(),
            id: self.0.next_id.fetch_add(1, Ordering::Relaxed),
        }
    }

    fn waiters(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Waker>> {
        // A map of wakers: a panic elsewhere cannot leave it inconsistent.
        self.0
            .waiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Completes when its [`CancelToken`] is cancelled; see
/// [`CancelToken::cancelled`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Cancelled {
    token: CancelToken,
    id: u64,
}

impl Future for Cancelled {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.token.is_cancelled() {
            return Poll::Ready(());
        }
        let mut waiters = self.token.waiters();
        // Checked again under the lock: a cancel between the two checks
        // has taken the map already, and would not see this waker.
        if self.token.is_cancelled() {
            return Poll::Ready(());
        }
        waiters.insert(self.id, cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for Cancelled {
    fn drop(&mut self) {
        self.token.waiters().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    #[tokio::test(flavor = "current_thread")]
    async fn cancelled_wakes_every_waiter_and_dropped_waiters_leave_nothing() {
        let token = CancelToken::new();
        let mut waiters: Vec<_> = (0..100).map(|_| token.cancelled().boxed()).collect();
        for w in &mut waiters {
            assert!(w.as_mut().now_or_never().is_none());
        }
        assert_eq!(token.waiters().len(), 100);
        waiters.truncate(10);
        assert_eq!(token.waiters().len(), 10);
        let cancel = token.clone();
        tokio::spawn(async move { cancel.cancel() });
        futures_util::future::join_all(waiters).await;
        assert!(token.is_cancelled());
        assert!(token.cancelled().now_or_never().is_some());
        assert!(token.waiters().is_empty());
    }
}
