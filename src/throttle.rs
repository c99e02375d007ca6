//! One rate-limit-aware throttle shared by every request of a fleet.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::error::retry_after::MAX_WAIT;
use crate::error::{ApiErrorKind, Error};
use crate::time::Timestamp;

/// How long the throttle pauses everything after a rate-limit answer that
/// says nothing about how long to wait.
pub const DEFAULT_RATE_LIMIT_PAUSE: Duration = Duration::from_secs(60);

/// Paces every request of the clients that share it.
///
/// Two rules, both shared by every clone (and so by every session of a
/// [`Fleet`](crate::Fleet)):
///
/// - **A budget**: at most [`calls_per_second`](Self::calls_per_second)
///   requests start per second, spaced evenly (no burst).
/// - **Rate-limit answers slow everyone**: when any request meets Graph's
///   rate limits (codes 4, 17, 32, 341, 613, 80007, 130429), HTTP 429, or another
///   error answer carrying a `Retry-After` header (a 503, say), no request
///   of any clone starts until the wait it asked for (the `Retry-After`,
///   else [`rate_limit_pause`](Self::rate_limit_pause); at most 72 hours)
///   is over. A case whose wait Meta documents for one number (a register
///   limit, a code asked for too soon) stays that session's own, with or
///   without `Retry-After`, and pauses nobody else.
///
/// Plug it into a client with
/// [`PortingClientBuilder::throttle`](crate::PortingClientBuilder::throttle);
/// the fleet does it for you. The client waits with its
/// [`Sleep`](crate::Sleep) (by default tokio's timer), within the step's
/// [`RetryPolicy`](crate::RetryPolicy) deadline: a pause that lasts longer
/// ends the step as [`Error::WaitRequired`] with the time, nothing sent
/// ([`WaitReason::Throttle`](crate::WaitReason::Throttle)), and a
/// [`CancelToken`](crate::CancelToken) ends any wait at once.
///
/// Requests are spaced on a time line that only moves forward with the
/// client's [`Clock`](crate::Clock): a wall clock stepped back (NTP at boot, a restored
/// snapshot) stalls nothing. Only what Meta dates (a `Retry-After` date,
/// a session's `not_before`) is wall time.
///
/// ```
/// use std::time::Duration;
/// use waba_porting::Throttle;
///
/// let throttle = Throttle::new()
///     .calls_per_second(50)
///     .rate_limit_pause(Duration::from_secs(120));
/// assert_eq!(throttle.paused_until(), None);
/// ```
#[derive(Clone)]
pub struct Throttle {
    shared: Arc<Shared>,
}

struct Shared {
    /// Names this budget to the store (see [`Throttle::budget_id`]).
    id: u64,
    /// Nanoseconds between two request starts (0: no budget).
    interval_nanos: u64,
    calls_per_second: Option<u32>,
    pause: Duration,
    state: Mutex<State>,
}

/// Times are kept on the throttle's own line (`Line`): nanoseconds that
/// only grow, so a wall clock stepped back never stalls the requests.
#[derive(Default)]
struct State {
    line: Line,
    /// The earliest start of the next request, on the line.
    next_slot: u64,
    /// No request starts before this, on the line.
    paused_until: Option<u64>,
    /// The same, as the clock read it when the pause began (for display).
    paused_until_at: Option<Timestamp>,
    pauses: u64,
    /// How many workers share the budget (see [`Throttle::set_share`]):
    /// the spacing is this many times the budget's.
    share: u32,
    /// Slots taken and then given back (a wait cancelled, or one the
    /// timer could not make), earliest first: the next request takes one
    /// before a new slot, so a request never sent holds nobody back.
    freed: BinaryHeap<Reverse<u64>>,
}

/// A monotonic time line made from the client's clock: each reading adds
/// how far the clock moved forward since the last one, and a step back
/// adds nothing (the next readings count on from the new value). The
/// clock may be simulated, so this is not `Instant`: it moves as the
/// client's clock moves, and never backwards.
#[derive(Default)]
struct Line {
    last_reading: Option<Timestamp>,
    nanos: u64,
}

impl Line {
    fn now(&mut self, reading: Timestamp) -> u64 {
        if let Some(last) = self.last_reading {
            let forward = reading.saturating_since(last);
            let forward = u64::try_from(forward.as_nanos()).unwrap_or(u64::MAX);
            self.nanos = self.nanos.saturating_add(forward);
        }
        self.last_reading = Some(reading);
        self.nanos
    }
}

/// What the throttle asks of a request about to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hold {
    /// How long the request must wait (its slot is taken).
    pub(crate) wait: Duration,
    /// Whether a rate-limit pause holds it (else the budget's spacing).
    pub(crate) paused: bool,
    /// The slot taken, on the throttle's line.
    slot: u64,
}

impl fmt::Debug for Throttle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle")
            .field("calls_per_second", &self.shared.calls_per_second)
            .field("rate_limit_pause", &self.shared.pause)
            .field("paused_until", &self.paused_until())
            .finish()
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new()
    }
}

impl Throttle {
    /// A throttle without a budget that pauses on rate-limit answers for
    /// [`DEFAULT_RATE_LIMIT_PAUSE`] unless they say how long.
    pub fn new() -> Self {
        Self::build(None, DEFAULT_RATE_LIMIT_PAUSE)
    }

    fn build(calls_per_second: Option<u32>, pause: Duration) -> Self {
        let interval_nanos = calls_per_second
            .filter(|n| *n > 0)
            .map_or(0, |n| 1_000_000_000 / u64::from(n));
        Self {
            shared: Arc::new(Shared {
                id: getrandom::u64().unwrap_or_else(|_| {
                    static NEXT: std::sync::atomic::AtomicU64 =
                        std::sync::atomic::AtomicU64::new(1);
                    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                }),
                interval_nanos,
                calls_per_second: calls_per_second.filter(|n| *n > 0),
                pause,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// At most `calls` requests start per second (evenly spaced); `0` means
    /// no budget. Returns a new throttle (clones of the old one keep theirs).
    pub fn calls_per_second(self, calls: u32) -> Self {
        Self::build(Some(calls), self.shared.pause)
    }

    /// How long to pause everything after a rate-limit answer that names no
    /// wait. Returns a new throttle (clones of the old one keep theirs).
    pub fn rate_limit_pause(self, pause: Duration) -> Self {
        Self::build(self.shared.calls_per_second, pause)
    }

    /// The configured budget, if any.
    pub fn budget(&self) -> Option<u32> {
        self.shared.calls_per_second
    }

    /// Until when every request waits, if a rate-limit answer paused the
    /// throttle (the time may be past).
    pub fn paused_until(&self) -> Option<Timestamp> {
        self.state().paused_until_at
    }

    /// How many workers (replicas, processes) share the budget, each
    /// taking an even part of it (1 unless a [`Fleet`](crate::Fleet) on a
    /// shared store said otherwise).
    pub fn share(&self) -> u32 {
        self.state().share.max(1)
    }

    /// How the workers sharing a store count this budget: one per
    /// throttle (clones included), whatever the number of fleets using it,
    /// so fleets of one process sharing a throttle take one share.
    pub(crate) fn budget_id(&self) -> crate::store::WorkerId {
        crate::store::WorkerId::new(format!(
            "budget-{}-{:016x}",
            std::process::id(),
            self.shared.id
        ))
    }

    /// Lets this throttle use `1 / workers` of its budget: what each of
    /// `workers` replicas sharing one app's limit takes. A fleet sets it
    /// from its store ([`SessionStore::share_rate`](crate::SessionStore::share_rate)).
    pub fn set_share(&self, workers: u32) {
        self.state().share = workers.max(1);
    }

    /// Holds every request until `until` (a pause another worker saw a
    /// rate-limit answer for), unless a later pause already holds them;
    /// `now` is the clock's reading.
    pub fn pause_until(&self, now: Timestamp, until: Timestamp) {
        let wait = until.saturating_since(now).min(MAX_WAIT);
        if wait.is_zero() {
            return;
        }
        let mut state = self.state();
        let line = state.line.now(now);
        let until_line = line.saturating_add(u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX));
        if state
            .paused_until
            .is_none_or(|current| current < until_line)
        {
            state.paused_until = Some(until_line);
            state.paused_until_at = Some(now.saturating_add(wait));
        }
    }

    /// How many rate-limit answers paused (or extended the pause of) the
    /// throttle so far.
    pub fn pauses(&self) -> u64 {
        self.state().pauses
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is two numbers updated together: a panic elsewhere
        // cannot leave it inconsistent.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the next slot for a request at `now` (the clock's reading) if
    /// its wait is at most `limit`: `Ok(None)` when it may start at once,
    /// `Ok(Some(hold))` when it must wait first (the slot is taken before
    /// waiting, so concurrent callers line up rather than all waking at
    /// once), `Err(hold)` when the wait would pass `limit` — then no slot
    /// is taken, so a request that is not sent holds nobody back. The
    /// caller waits, then asks [`held`](Self::held) whether a pause began
    /// meanwhile.
    pub(crate) fn reserve(&self, now: Timestamp, limit: Duration) -> Result<Option<Hold>, Hold> {
        let mut state = self.state();
        let line = state.line.now(now);
        let paused = state.paused_until.filter(|until| *until > line);
        let earliest = line.max(paused.unwrap_or(0));
        // A slot given back that is still ahead comes first.
        while state
            .freed
            .peek()
            .is_some_and(|Reverse(slot)| *slot < earliest)
        {
            state.freed.pop();
        }
        let freed = state.freed.peek().map(|Reverse(slot)| *slot);
        let slot = freed.unwrap_or_else(|| state.next_slot.max(earliest));
        let wait_nanos = slot.saturating_sub(line);
        // Whole milliseconds, rounded up: clocks tick in milliseconds, and
        // a request must not start before its slot.
        let hold = Hold {
            wait: Duration::from_millis(wait_nanos.div_ceil(1_000_000)),
            paused: paused.is_some(),
            slot,
        };
        if hold.wait > limit {
            return Err(hold);
        }
        if freed.is_some() {
            state.freed.pop();
        } else if self.shared.interval_nanos > 0 || paused.is_some() {
            let interval = self
                .shared
                .interval_nanos
                .saturating_mul(u64::from(state.share.max(1)));
            state.next_slot = slot.saturating_add(interval);
        }
        Ok((wait_nanos > 0).then_some(hold))
    }

    /// Gives back the slot of a request that will not be sent (its wait was
    /// cancelled, or could not be made): the next request takes it.
    pub(crate) fn release(&self, hold: Hold) {
        if self.shared.interval_nanos > 0 {
            self.state().freed.push(Reverse(hold.slot));
        }
    }

    /// Whether a pause holds requests at `now` (one may have begun while a
    /// request waited for its slot).
    pub(crate) fn held(&self, now: Timestamp) -> bool {
        let mut state = self.state();
        let line = state.line.now(now);
        state.paused_until.is_some_and(|until| until > line)
    }

    /// Looks at an error answer (`status` ≥ 400, decoded into `error`): a
    /// rate-limit answer, an HTTP 429, or a `Retry-After` header pauses
    /// every clone.
    pub(crate) fn observe(
        &self,
        now: Timestamp,
        status: u16,
        header_wait: Option<Duration>,
        error: Option<&Error>,
    ) {
        let kind = error.and_then(Error::api_kind);
        let rate_limited = status == 429 || kind == Some(ApiErrorKind::RateLimited);
        // A case whose wait Meta documents for one number (a register
        // limit, a code asked for too soon) is that session's, even with a
        // Retry-After header.
        let own_wait = !rate_limited && kind.and_then(ApiErrorKind::documented_wait).is_some();
        let header_wait = header_wait.filter(|_| !own_wait);
        let wait = match (rate_limited, header_wait) {
            (_, Some(wait)) => wait,
            (true, None) => error
                .and_then(Error::retry_after)
                .unwrap_or(self.shared.pause),
            (false, None) => return,
        };
        // A broken header must not stop every session for centuries.
        let wait = wait.min(MAX_WAIT);
        let mut state = self.state();
        let line = state.line.now(now);
        let until = line.saturating_add(u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX));
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
            state.paused_until_at = Some(now.saturating_add(wait));
            state.pauses += 1;
        }
    }
}
