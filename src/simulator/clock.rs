//! A clock the test controls.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::retry_policy::Sleep;
use crate::time::{Clock, Timestamp};

/// A shared, manually advanced clock. Clones see the same time: hand one to
/// the client ([`PortingClientBuilder::clock`](crate::PortingClientBuilder::clock))
/// and keep one to move time forward without sleeping.
#[derive(Clone, Debug)]
pub struct SimClock(Arc<AtomicU64>);

impl SimClock {
    /// A clock reading `start`.
    pub fn new(start: Timestamp) -> Self {
        Self(Arc::new(AtomicU64::new(start.as_unix_millis())))
    }

    /// Moves time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        // fetch_update cannot fail with a closure that always returns Some.
        let _ = self
            .0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                Some(now.saturating_add(millis))
            });
    }

    /// Sets the time (it may go backwards: tests decide).
    pub fn set(&self, to: Timestamp) {
        self.0.store(to.as_unix_millis(), Ordering::SeqCst);
    }
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.0.load(Ordering::SeqCst))
    }
}

/// Sleeping on simulated time advances it at once: a client retrying against
/// the simulator waits its backoff in no real time.
#[async_trait::async_trait]
impl Sleep for SimClock {
    async fn sleep(&self, duration: Duration) {
        self.advance(duration);
    }
}

/// SplitMix64: small, seedable, good enough for simulated codes and ids.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `len` decimal digits; the first is not zero when `nonzero_first`.
    pub(crate) fn digits(&mut self, len: usize, nonzero_first: bool) -> String {
        let mut out = String::with_capacity(len);
        for i in 0..len {
            let lead = i == 0 && nonzero_first;
            let digit = self.next_u64() % if lead { 9 } else { 10 } + u64::from(lead);
            out.push(char::from(b'0' + u8::try_from(digit).unwrap_or(0)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_time() {
        let clock = SimClock::new(Timestamp::from_unix_millis(10));
        let other = clock.clone();
        clock.advance(Duration::from_secs(1));
        assert_eq!(other.now().as_unix_millis(), 1_010);
        other.set(Timestamp::from_unix_millis(5));
        assert_eq!(clock.now().as_unix_millis(), 5);
    }

    #[test]
    fn rng_is_deterministic_and_digits_are_digits() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let id = a.digits(15, true);
        assert_eq!(id, b.digits(15, true));
        assert_eq!(id.len(), 15);
        assert!(id.bytes().all(|c| c.is_ascii_digit()) && !id.starts_with('0'));
        assert_ne!(a.digits(15, true), Rng::new(8).digits(15, true));
        assert!((0..200).any(|_| a.digits(6, false).starts_with('0')));
    }
}
