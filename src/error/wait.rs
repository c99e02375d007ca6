//! A step refused locally because it is too early: nothing was sent.

use std::fmt;
use std::time::Duration;

use crate::operation::Operation;
use crate::time::Timestamp;

/// Why a step must wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitReason {
    /// The last answer asked to wait (`Retry-After`, or a wait Meta
    /// documents, such as 72 hours after 133016).
    NotBefore,
    /// The session has made
    /// [`REGISTER_BUDGET`](crate::REGISTER_BUDGET) `register` calls within
    /// 72 hours; one more could reach Meta's limit and block the number.
    RegisterBudget,
    /// The client's [`Throttle`](crate::Throttle) holds every request until
    /// `until` (a rate-limit pause, or the budget's next slot) and the wait
    /// could not be made: it would end past the step's
    /// [`RetryPolicy`](crate::RetryPolicy) deadline, or the client's
    /// [`Sleep`](crate::Sleep) cannot wait here.
    Throttle,
    /// The step's wait in the throttle was cut short by a
    /// [`CancelToken`](crate::CancelToken): the step was not sent.
    Cancelled,
    /// The reconciling read of a `register` whose answer was lost could not
    /// tell whether the number is registered (not `CONNECTED`, and no
    /// `platform_type` to say it registered): rather than spend one of the
    /// 10 register calls per 72 hours, the client reads again later.
    ReconcileUndecided,
}

/// A step was called before it may be sent. The step was not sent; call it again
/// at [`until`](Self::until) (a [`RetryPolicy`](crate::RetryPolicy) waits by
/// itself when the wait fits in its deadline).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitRequired {
    operation: Operation,
    until: Timestamp,
    reason: WaitReason,
    /// `until` less the time the refusal was made.
    wait: Duration,
}

impl WaitRequired {
    /// `operation` may not be sent before `until`; `now` is when this was
    /// decided.
    pub(crate) fn new(
        operation: Operation,
        until: Timestamp,
        reason: WaitReason,
        now: Timestamp,
    ) -> Self {
        Self {
            operation,
            until,
            reason,
            wait: until.saturating_since(now),
        }
    }

    /// How long the wait was when the step was refused (`until` less the
    /// time of the refusal): what [`Error::retry_after`](crate::Error::retry_after)
    /// says.
    pub fn wait(&self) -> Duration {
        self.wait
    }

    /// The step that was refused.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// When it may be sent.
    pub fn until(&self) -> Timestamp {
        self.until
    }

    /// Why it must wait.
    pub fn reason(&self) -> WaitReason {
        self.reason
    }
}

impl fmt::Display for WaitRequired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.reason {
            WaitReason::NotBefore => "the last answer asked to wait",
            WaitReason::RegisterBudget => {
                "the session's register budget for the 72-hour window is spent"
            }
            WaitReason::Throttle => "the throttle holds every request (a rate-limit pause)",
            WaitReason::Cancelled => "the wait was cancelled",
            WaitReason::ReconcileUndecided => {
                "the read could not tell whether the number is registered yet; read again"
            }
        };
        write!(
            f,
            "{} not sent: {why}; retry at {}",
            self.operation, self.until
        )
    }
}

impl std::error::Error for WaitRequired {}
