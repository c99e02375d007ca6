//! What a status Meta reports means for a port.

use std::fmt;

/// What one value of a Graph status field means for a port: the crate acts
/// on it (see each status type's table: [`NumberStatus`](crate::NumberStatus),
/// [`AccountReviewStatus`](crate::AccountReviewStatus),
/// [`BusinessVerificationStatus`](crate::BusinessVerificationStatus),
/// [`NameStatus`](crate::NameStatus),
/// [`OnBehalfRequestStatus`](crate::OnBehalfRequestStatus)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusMeaning {
    /// The port's end: the number is registered and can send.
    Done,
    /// Nothing stands in the way: the port goes on with its next step.
    Proceed,
    /// Meta holds it for now (a review, a limit, a restriction that lapses):
    /// nobody can act for the port; look again later. Not done, not
    /// registered, not gone.
    Wait,
    /// Someone must act (approve, fix, appeal, submit) before the port can
    /// go on: a readiness blocker.
    Blocker,
    /// The number object will never carry this port: the session ends
    /// ([`PortingState::Rejected`](crate::PortingState::Rejected)) instead
    /// of trying again.
    Gone,
    /// A value this crate does not know, kept as sent: never read as done,
    /// registered, approved or gone.
    Unknown,
}

impl StatusMeaning {
    /// The snake_case name (`proceed`, `wait`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Proceed => "proceed",
            Self::Wait => "wait",
            Self::Blocker => "blocker",
            Self::Gone => "gone",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for StatusMeaning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
