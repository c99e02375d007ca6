//! Time as the state machine sees it: plain Unix milliseconds, read from a
//! [`Clock`] that tests and simulators can control.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A point in time, milliseconds since the Unix epoch (UTC).
///
/// Serialized as a plain integer so persisted sessions stay readable from any
/// language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// From milliseconds since the Unix epoch.
    pub const fn from_unix_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_unix_millis(self) -> u64 {
        self.0
    }

    /// The current wall-clock time (the epoch if the system clock is before it).
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    /// This time plus `duration`, saturating at the far future.
    pub fn saturating_add(self, duration: Duration) -> Self {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Self(self.0.saturating_add(millis))
    }

    /// How long from `earlier` to `self`; zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Self) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        let millis = time
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Self(millis)
    }
}

impl From<Timestamp> for SystemTime {
    fn from(time: Timestamp) -> Self {
        UNIX_EPOCH
            .checked_add(Duration::from_millis(time.0))
            .unwrap_or(UNIX_EPOCH)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with milliseconds: `2027-01-01T00:00:00.000Z`.
    ///
    /// RFC 3339 has four-digit years: a time after 9999 (only a saturated,
    /// "never" deadline gets there) prints as `9999-12-31T23:59:59.999Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let printable = self.0.min(LAST_RFC3339_MILLIS);
        let time = UNIX_EPOCH
            .checked_add(Duration::from_millis(printable))
            .unwrap_or(UNIX_EPOCH);
        write!(f, "{}", humantime::format_rfc3339_millis(time))
    }
}

/// `9999-12-31T23:59:59.999Z`, the last instant RFC 3339 can write (and
/// `humantime` prints: a later one would be a formatting error).
const LAST_RFC3339_MILLIS: u64 = 253_402_300_800_000 - 1;

/// Where the client reads the time it stamps transitions with.
///
/// The default is [`SystemClock`]; tests and simulators pass their own so that
/// "wait 72 hours" needs no sleeping.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// A shared clock is a clock: pass `Arc::clone(&clock)` to the builder and
/// keep one to read or move in your service.
impl<T: Clock + ?Sized> Clock for std::sync::Arc<T> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

/// The system wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_rfc3339_utc() {
        let at = |ms| Timestamp::from_unix_millis(ms).to_string();
        assert_eq!(at(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(1_798_761_600_000), "2027-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400_000 + 86_399_999), "2000-02-29T23:59:59.999Z");
        assert_eq!(at(1_709_210_096_007), "2024-02-29T12:34:56.007Z");
        assert_eq!(at(4_102_444_800_000), "2100-01-01T00:00:00.000Z");
        // Past RFC 3339's last year: the last instant it can write, never
        // a formatting error (which would panic in `to_string`).
        assert_eq!(at(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        assert_eq!(at(253_402_300_800_000), "9999-12-31T23:59:59.999Z");
        assert_eq!(at(u64::MAX), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn display_reads_back_as_the_same_instant_across_four_centuries() {
        // One Gregorian cycle (146,097 days), a day and a millisecond apart.
        for day in (0..146_097u64).step_by(7) {
            let millis = day * 86_400_000 + day % 86_400_000;
            let printed = Timestamp::from_unix_millis(millis).to_string();
            let read = humantime::parse_rfc3339(&printed).map(Timestamp::from);
            assert_eq!(read, Ok(Timestamp::from_unix_millis(millis)), "{printed}");
        }
    }

    #[test]
    fn arithmetic_saturates() {
        let t = Timestamp::from_unix_millis(1_000);
        assert_eq!(
            t.saturating_add(Duration::from_secs(1)).as_unix_millis(),
            2_000
        );
        assert_eq!(
            Timestamp::from_unix_millis(u64::MAX)
                .saturating_add(Duration::MAX)
                .as_unix_millis(),
            u64::MAX
        );
        assert_eq!(
            t.saturating_since(Timestamp::from_unix_millis(5_000)),
            Duration::ZERO
        );
        assert_eq!(
            Timestamp::from_unix_millis(5_000).saturating_since(t),
            Duration::from_secs(4)
        );
    }

    #[test]
    fn system_time_round_trip() {
        let t = Timestamp::from_unix_millis(1_764_000_000_123);
        assert_eq!(Timestamp::from(SystemTime::from(t)), t);
        assert!(SystemClock.now() > t);
    }
}
