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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0 % 1000;
        let seconds = self.0 / 1000;
        let (day_seconds, days) = (seconds % 86_400, seconds / 86_400);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
            day_seconds / 3600,
            day_seconds / 60 % 60,
            day_seconds % 60
        )
    }
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

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
        // The largest value prints without overflow.
        assert!(at(u64::MAX).ends_with('Z'));
    }

    #[test]
    fn display_agrees_with_day_arithmetic_for_every_day_of_four_centuries() {
        // Walk 146,097 days (one Gregorian cycle) checking continuity.
        let mut previous = civil_from_days(0);
        assert_eq!(previous, (1970, 1, 1));
        for days in 1..146_097u64 {
            let (y, m, d) = civil_from_days(days);
            let (py, pm, pd) = previous;
            let next_day = (y, m, d) == (py, pm, pd + 1);
            let next_month = (y, m, d) == (py, pm + 1, 1);
            let next_year = (y, m, d) == (py + 1, 1, 1) && (pm, pd) == (12, 31);
            assert!(
                next_day || next_month || next_year,
                "{previous:?} -> {:?}",
                (y, m, d)
            );
            assert!((28..=31).contains(&pd) || next_day, "{previous:?}");
            previous = (y, m, d);
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
