//! A step refused locally because it is too early: nothing was sent.

use std::fmt;

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
}

/// A step was called before it may be sent. The step was not sent; call it again
/// at [`until`](Self::until) (a [`RetryPolicy`](crate::RetryPolicy) waits by
/// itself when the wait fits in its deadline).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitRequired {
    pub(crate) operation: Operation,
    pub(crate) until: Timestamp,
    pub(crate) reason: WaitReason,
}

impl WaitRequired {
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
        };
        write!(
            f,
            "{} not sent: {why}; retry at {}",
            self.operation, self.until
        )
    }
}

impl std::error::Error for WaitRequired {}
