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
    /// `unix-ms:<millis>`; format with a date library of your choice for humans.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unix-ms:{}", self.0)
    }
}

/// Where the client reads the time it stamps transitions with.
///
/// The default is [`SystemClock`]; tests and simulators pass their own so that
/// "wait 72 hours" needs no sleeping.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;
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
