//! A clock the test controls.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::retry_policy::Sleep;
use crate::time::{Clock, Timestamp};

/// A shared clock the test controls. Clones see the same time: hand one to
/// the client ([`PortingClientBuilder::clock`](crate::PortingClientBuilder::clock))
/// and keep one to move time forward without sleeping.
///
/// Two kinds, fixed when made:
/// - [`SimClock::new`]: stands still until told — [`advance`](Self::advance),
///   [`set`](Self::set), or a client sleeping on it (its [`Sleep`] advances
///   it at once). The default of every [`Scenario`](super::Scenario).
/// - [`SimClock::wall`]: follows the system clock ([`Timestamp::now`]),
///   shifted by whatever [`advance`](Self::advance) and [`set`](Self::set)
///   did: for a world served to other processes
///   ([`Scenario::wall_clock`](super::Scenario::wall_clock)), whose clients
///   read the system clock and wait on real timers. Sleeping on it still
///   advances it at once.
#[derive(Clone, Debug)]
pub struct SimClock(Arc<Reading>);

#[derive(Debug)]
enum Reading {
    /// The time, in Unix milliseconds.
    Manual(AtomicU64),
    /// Milliseconds added to the system clock (negative: behind it).
    Wall(AtomicI64),
}

impl SimClock {
    /// A clock reading `start`, standing still until told.
    pub fn new(start: Timestamp) -> Self {
        Self(Arc::new(Reading::Manual(AtomicU64::new(
            start.as_unix_millis(),
        ))))
    }

    /// A clock that follows the system clock: it reads [`Timestamp::now`]
    /// until [`advance`](Self::advance) or [`set`](Self::set) shift it, and
    /// then keeps running from there at the system clock's pace.
    ///
    /// ```
    /// use std::time::Duration;
    /// use waba_porting::simulator::SimClock;
    /// use waba_porting::{Clock, Timestamp};
    ///
    /// let clock = SimClock::wall();
    /// let before = Timestamp::now();
    /// clock.advance(Duration::from_secs(3600));
    /// assert!(clock.now() >= before.saturating_add(Duration::from_secs(3600)));
    /// assert!(clock.follows_wall_clock());
    /// ```
    pub fn wall() -> Self {
        Self(Arc::new(Reading::Wall(AtomicI64::new(0))))
    }

    /// Whether this clock follows the system clock ([`SimClock::wall`]).
    pub fn follows_wall_clock(&self) -> bool {
        matches!(*self.0, Reading::Wall(_))
    }

    /// Moves time forward by `by`.
    pub fn advance(&self, by: Duration) {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        // fetch_update cannot fail with a closure that always returns Some.
        match &*self.0 {
            Reading::Manual(now) => {
                let _ = now.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |now| {
                    Some(now.saturating_add(millis))
                });
            }
            Reading::Wall(offset) => {
                let millis = i64::try_from(millis).unwrap_or(i64::MAX);
                let _ = offset.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |offset| {
                    Some(offset.saturating_add(millis))
                });
            }
        }
    }

    /// Sets the time (it may go backwards: tests decide). A wall clock goes
    /// on running from `to`.
    pub fn set(&self, to: Timestamp) {
        match &*self.0 {
            Reading::Manual(now) => now.store(to.as_unix_millis(), Ordering::SeqCst),
            Reading::Wall(offset) => {
                let wall = i128::from(Timestamp::now().as_unix_millis());
                let shift = i128::from(to.as_unix_millis()) - wall;
                let shift =
                    i64::try_from(shift).unwrap_or(if shift < 0 { i64::MIN } else { i64::MAX });
                offset.store(shift, Ordering::SeqCst);
            }
        }
    }
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        match &*self.0 {
            Reading::Manual(now) => Timestamp::from_unix_millis(now.load(Ordering::SeqCst)),
            Reading::Wall(offset) => {
                let wall = Timestamp::now().as_unix_millis();
                let offset = offset.load(Ordering::SeqCst);
                Timestamp::from_unix_millis(if offset >= 0 {
                    wall.saturating_add(offset.unsigned_abs())
                } else {
                    wall.saturating_sub(offset.unsigned_abs())
                })
            }
        }
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
        assert!(!clock.follows_wall_clock());
    }

    #[test]
    fn a_wall_clock_follows_the_system_clock_shifted_by_advance_and_set() {
        let clock = SimClock::wall();
        let other = clock.clone();
        let before = Timestamp::now();
        let read = clock.now();
        assert!(before <= read && read <= Timestamp::now());
        other.advance(Duration::from_secs(3600));
        let hour = Duration::from_secs(3600);
        assert!(clock.now() >= before.saturating_add(hour));
        assert!(clock.now() <= Timestamp::now().saturating_add(hour));
        // Back to the past, and on from there.
        clock.set(Timestamp::from_unix_millis(1_000));
        let read = other.now().as_unix_millis();
        assert!((1_000..1_000 + 60_000).contains(&read), "{read}");
        // Far out of range either way: saturates, never wraps.
        clock.set(Timestamp::from_unix_millis(u64::MAX));
        clock.advance(Duration::MAX);
        assert!(clock.now().as_unix_millis() > u64::MAX / 2);
        clock.set(Timestamp::from_unix_millis(0));
        assert!(clock.now().as_unix_millis() < 60_000);
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
