//! How the client retries a step: which failures, how often, how long it
//! waits, and how it sleeps.
//!
//! The policy only decides *when*; *whether* comes from the one retry
//! decision ([`Error::retry_advice`](crate::Error::retry_advice)): a failure
//! that needs somebody to act is never retried, and a step whose outcome is
//! unknown is reconciled (the number is read) before anything is re-sent.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::time::Timestamp;

/// How many times, and how patiently, the client retries a step.
///
/// Backoff is exponential with full jitter: before retry `n` the client
/// waits a random time in `[0, min(max_backoff, initial_backoff × 2ⁿ⁻¹)]`,
/// unless the answer said how long to wait (`Retry-After`, a wait Meta
/// documents, the session's `not_before`), which is then honoured exactly.
/// No wait may end past the overall deadline: when it would, the client
/// returns the error instead (the session keeps `not_before`).
///
/// ```
/// use std::time::Duration;
/// use waba_porting::RetryPolicy;
///
/// let patient = RetryPolicy::default()
///     .with_max_attempts(6)
///     .with_backoff(Duration::from_secs(1), Duration::from_secs(60))
///     .with_deadline(Duration::from_secs(10 * 60));
/// assert_eq!(patient.max_attempts(), 6);
/// assert_eq!(RetryPolicy::none().max_attempts(), 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    deadline: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, backoff from 500 ms capped at 30 s, 2 minutes overall.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            deadline: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// One attempt, no retry: every failure is returned at once (the attempt
    /// may still read the number first to reconcile a step in flight).
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// At most `attempts` attempts per step call (at least 1). An attempt
    /// sends the step's request once, preceded by a read of the number when a
    /// step's outcome must be reconciled first; an attempt refused locally
    /// (a wait not yet over) sends nothing.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The first backoff bound and the cap of every backoff.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// The longest a step call may spend waiting between attempts, in all.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// At most this many attempts per step call (see
    /// [`with_max_attempts`](Self::with_max_attempts)).
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The first backoff bound.
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The cap of every backoff.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The overall deadline of one step call.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The upper bound of the backoff before retry `retry` (1-based).
    pub fn backoff_bound(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(Duration::MAX)
            .min(self.max_backoff)
    }

    /// The backoff before retry `retry`: full jitter over its bound.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let bound = self.backoff_bound(retry);
        let nanos = u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX);
        match nanos.checked_add(1) {
            Some(span) => Duration::from_nanos(random_u64() % span),
            None => Duration::from_nanos(random_u64()),
        }
    }
}

/// When the waits of one call (a step's attempt with its reconciling read,
/// a refresh, a look-up) must end: a budget of waiting time, spent by the
/// client's clock moving forward or by the time slept, whichever is more —
/// so a clock stepped back does not stretch it, and a timer that returns at
/// once (a test's) does not renew it for each request of the call.
#[derive(Debug)]
pub(crate) struct Deadline {
    budget: Duration,
    /// The last clock reading, in milliseconds.
    last: AtomicU64,
    /// How far the clock moved forward since the call began, in ms.
    elapsed: AtomicU64,
    /// How long the call slept, in ms.
    slept: AtomicU64,
}

impl Deadline {
    /// A budget of `budget` from `now`.
    pub(crate) fn new(budget: Duration, now: Timestamp) -> Self {
        Self {
            budget,
            last: AtomicU64::new(now.as_unix_millis()),
            elapsed: AtomicU64::new(0),
            slept: AtomicU64::new(0),
        }
    }

    /// How long is left at `now`.
    pub(crate) fn left(&self, now: Timestamp) -> Duration {
        let now = now.as_unix_millis();
        let last = self.last.fetch_max(now, Ordering::Relaxed);
        let forward = now.saturating_sub(last);
        let elapsed = self.elapsed.fetch_add(forward, Ordering::Relaxed) + forward;
        let spent = elapsed.max(self.slept.load(Ordering::Relaxed));
        self.budget.saturating_sub(Duration::from_millis(spent))
    }

    /// Counts `wait`, slept by the call.
    pub(crate) fn slept(&self, wait: Duration) {
        let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        self.slept.fetch_add(millis, Ordering::Relaxed);
    }
}

/// The bookkeeping of one call's retries under a policy: attempts made,
/// when the call started, and the time slept (which counts against the
/// deadline even on a clock that does not move with the sleep).
#[derive(Debug)]
pub(crate) struct Retries {
    started: Timestamp,
    waited: Duration,
    attempt: u32,
}

impl Retries {
    /// The first attempt, at `now`.
    pub(crate) fn start(now: Timestamp) -> Self {
        Self {
            started: now,
            waited: Duration::ZERO,
            attempt: 1,
        }
    }

    /// The attempt under way (1 for the first).
    pub(crate) fn attempt(&self) -> u32 {
        self.attempt
    }

    /// When this call's waits must end, as of `now`: what is left of the
    /// policy's deadline (the time slept counts even on a clock that did
    /// not move with it).
    pub(crate) fn deadline(&self, policy: &RetryPolicy, now: Timestamp) -> Deadline {
        let spent = now.saturating_since(self.started).max(self.waited);
        Deadline::new(policy.deadline().saturating_sub(spent), now)
    }

    /// After `error`, at `now`: the wait before the next attempt (`wait`
    /// makes it from the attempt number), or `None` when the policy says
    /// stop — a failure a retry cannot help, the attempt limit, or a wait
    /// that would pass the deadline. A wait returned is counted as slept.
    pub(crate) fn next(
        &mut self,
        policy: &RetryPolicy,
        now: Timestamp,
        error: &crate::error::Error,
        wait: impl FnOnce(u32) -> Duration,
    ) -> Option<Duration> {
        if self.attempt >= policy.max_attempts() || !error.is_retryable() {
            return None;
        }
        let wait = wait(self.attempt);
        let spent = now.saturating_since(self.started).max(self.waited);
        if spent.saturating_add(wait) > policy.deadline() {
            return None;
        }
        self.waited = self.waited.saturating_add(wait);
        self.attempt += 1;
        Some(wait)
    }
}

/// A random number for jitter, from the operating system's random source
/// (`getrandom`). Should the source fail (it does not on any supported
/// platform), the middle of the range: a wait is still bounded.
fn random_u64() -> u64 {
    getrandom::u64().unwrap_or(u64::MAX / 2)
}

/// How the client waits: between attempts, and in a [`Throttle`](crate::Throttle)'s
/// pause or budget. Inject your runtime's timer (or, in tests, one that
/// records the waits and returns at once).
///
/// A wait may be cut short: the client drops the future when its
/// [`CancelToken`](crate::CancelToken) is cancelled, so a timer must free
/// what it holds on drop (every runtime's timer does).
///
/// ```
/// use std::time::Duration;
/// use waba_porting::Sleep;
///
/// #[derive(Debug)]
/// struct TokioSleep;
///
/// #[waba_porting::async_trait]
/// impl Sleep for TokioSleep {
///     async fn sleep(&self, duration: Duration) {
///         tokio::time::sleep(duration).await
///     }
/// }
/// ```
#[async_trait]
pub trait Sleep: Send + Sync + fmt::Debug {
    /// Returns after `duration`.
    async fn sleep(&self, duration: Duration);

    /// Whether this timer can wait where it is called from now (default
    /// `true`). When it cannot, the client does not wait at all: the call
    /// returns the wait as an error ([`Error::WaitRequired`](crate::Error::WaitRequired)
    /// with the time, or the failure that asked for it), never a busy loop.
    fn can_sleep(&self) -> bool {
        true
    }
}

#[async_trait]
impl<T: Sleep + ?Sized> Sleep for Arc<T> {
    async fn sleep(&self, duration: Duration) {
        (**self).sleep(duration).await
    }

    fn can_sleep(&self) -> bool {
        (**self).can_sleep()
    }
}

/// The default [`Sleep`]: the timer of the tokio runtime the call runs on
/// (with the `reqwest` feature, whose transport needs tokio anyway).
///
/// One timer wheel for every wait: 10,000 waiting sessions use no thread
/// of their own, and a dropped wait frees its entry. Where no tokio runtime
/// runs the call (another runtime, or a build without the `reqwest`
/// feature) it cannot wait ([`can_sleep`](Sleep::can_sleep) is false), so
/// the client ends each wait as an error carrying its time instead of
/// blocking a thread or spinning: give the client your runtime's timer
/// ([`PortingClientBuilder::sleep`](crate::PortingClientBuilder::sleep)).
/// A runtime without its time driver (no `enable_time`) cannot wait either:
/// tokio panics when a timer is made there, and this timer catches that
/// panic (the panic hook still prints it) and says it cannot wait.
#[derive(Clone, Copy, Debug, Default)]
pub struct RuntimeSleep;

#[async_trait]
impl Sleep for RuntimeSleep {
    async fn sleep(&self, duration: Duration) {
        #[cfg(feature = "reqwest")]
        if !duration.is_zero() && self.can_sleep() {
            tokio::time::sleep(duration).await;
        }
        #[cfg(not(feature = "reqwest"))]
        let _ = duration;
    }

    fn can_sleep(&self) -> bool {
        #[cfg(feature = "reqwest")]
        {
            // Tokio says whether a runtime runs the call, not whether it has
            // a timer: a runtime built without `enable_time` panics when a
            // timer is made (tokio offers no other test), so make one here,
            // where its panic is caught and read as "cannot wait". (Under
            // `panic = "abort"` such a runtime aborts, as reqwest's own
            // timeouts would on it.)
            tokio::runtime::Handle::try_current().is_ok()
                && std::panic::catch_unwind(|| drop(tokio::time::sleep(Duration::ZERO))).is_ok()
        }
        #[cfg(not(feature = "reqwest"))]
        {
            false
        }
    }
}

/// The timer this crate used to default to, which parked one thread per
/// wait; now the same as [`RuntimeSleep`].
#[deprecated(
    since = "0.1.0",
    note = "it parked a thread per wait; use RuntimeSleep (the default) or your runtime's timer"
)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadSleep;

#[allow(deprecated)]
#[async_trait]
impl Sleep for ThreadSleep {
    async fn sleep(&self, duration: Duration) {
        RuntimeSleep.sleep(duration).await
    }

    fn can_sleep(&self) -> bool {
        RuntimeSleep.can_sleep()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_exponential_capped_and_jittered_within_bounds() {
        let policy =
            RetryPolicy::default().with_backoff(Duration::from_millis(100), Duration::from_secs(1));
        assert_eq!(policy.backoff_bound(1), Duration::from_millis(100));
        assert_eq!(policy.backoff_bound(2), Duration::from_millis(200));
        assert_eq!(policy.backoff_bound(4), Duration::from_millis(800));
        assert_eq!(policy.backoff_bound(5), Duration::from_secs(1));
        assert_eq!(policy.backoff_bound(500), Duration::from_secs(1));
        let waits: Vec<Duration> = (0..200).map(|_| policy.backoff(3)).collect();
        assert!(waits.iter().all(|w| *w <= Duration::from_millis(400)));
        let distinct: std::collections::HashSet<_> = waits.iter().collect();
        assert!(distinct.len() > 100, "full jitter spreads the waits");
    }

    #[test]
    fn none_means_one_attempt() {
        assert_eq!(RetryPolicy::none().max_attempts(), 1);
        assert_eq!(
            RetryPolicy::default().with_max_attempts(0).max_attempts(),
            1
        );
    }

    #[cfg(feature = "reqwest")]
    #[tokio::test(flavor = "current_thread")]
    async fn runtime_sleep_waits_on_the_tokio_timer() {
        assert!(RuntimeSleep.can_sleep());
        let start = std::time::Instant::now();
        RuntimeSleep.sleep(Duration::from_millis(20)).await;
        assert!(start.elapsed() >= Duration::from_millis(20));
        RuntimeSleep.sleep(Duration::ZERO).await;
    }

    #[test]
    fn runtime_sleep_outside_a_runtime_cannot_wait_and_returns_at_once() {
        assert!(!RuntimeSleep.can_sleep());
        let start = std::time::Instant::now();
        futures_util::FutureExt::now_or_never(RuntimeSleep.sleep(Duration::from_secs(3600)))
            .expect("returns at once");
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
