//! The suite's checks by name, and what a failed one reports.

use std::fmt;

use crate::store::SessionStore;

/// One check of the suite (see the functions of the same names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Check {
    /// [`round_trip`](super::round_trip).
    RoundTrip,
    /// [`revision_conflicts`](super::revision_conflicts).
    RevisionConflicts,
    /// [`stale_writes`](super::stale_writes).
    StaleWrites,
    /// [`claim_selection`](super::claim_selection).
    ClaimSelection,
    /// [`lease_lifecycle`](super::lease_lifecycle).
    LeaseLifecycle,
    /// [`fencing`](super::fencing).
    Fencing,
    /// [`acquire`](super::acquire()).
    Acquire,
    /// [`listing`](super::listing).
    Listing,
    /// [`concurrent_claims`](super::concurrent_claims).
    ConcurrentClaims,
    /// [`concurrent_saves`](super::concurrent_saves).
    ConcurrentSaves,
}

impl Check {
    /// Every check, in the order [`check_store`](super::check_store) runs
    /// them.
    pub const ALL: [Check; 10] = [
        Check::RoundTrip,
        Check::RevisionConflicts,
        Check::StaleWrites,
        Check::ClaimSelection,
        Check::LeaseLifecycle,
        Check::Fencing,
        Check::Acquire,
        Check::Listing,
        Check::ConcurrentClaims,
        Check::ConcurrentSaves,
    ];

    /// The check's name (its function's).
    pub fn name(self) -> &'static str {
        match self {
            Check::RoundTrip => "round_trip",
            Check::RevisionConflicts => "revision_conflicts",
            Check::StaleWrites => "stale_writes",
            Check::ClaimSelection => "claim_selection",
            Check::LeaseLifecycle => "lease_lifecycle",
            Check::Fencing => "fencing",
            Check::Acquire => "acquire",
            Check::Listing => "listing",
            Check::ConcurrentClaims => "concurrent_claims",
            Check::ConcurrentSaves => "concurrent_saves",
        }
    }

    /// Its place in [`ALL`](Self::ALL): what keeps its sessions and times
    /// apart from the other checks'.
    pub(super) fn index(self) -> u64 {
        match self {
            Check::RoundTrip => 0,
            Check::RevisionConflicts => 1,
            Check::StaleWrites => 2,
            Check::ClaimSelection => 3,
            Check::LeaseLifecycle => 4,
            Check::Fencing => 5,
            Check::Acquire => 6,
            Check::Listing => 7,
            Check::ConcurrentClaims => 8,
            Check::ConcurrentSaves => 9,
        }
    }

    /// Runs this check on `a` and `b`, two handles on the same storage.
    ///
    /// # Errors
    /// The case that failed.
    pub async fn run(
        self,
        a: &dyn SessionStore,
        b: &dyn SessionStore,
    ) -> Result<(), ConformanceFailure> {
        match self {
            Check::RoundTrip => super::round_trip(a, b).await,
            Check::RevisionConflicts => super::revision_conflicts(a, b).await,
            Check::StaleWrites => super::stale_writes(a, b).await,
            Check::ClaimSelection => super::claim_selection(a, b).await,
            Check::LeaseLifecycle => super::lease_lifecycle(a, b).await,
            Check::Fencing => super::fencing(a, b).await,
            Check::Acquire => super::acquire(a, b).await,
            Check::Listing => super::listing(a, b).await,
            Check::ConcurrentClaims => super::concurrent_claims(a, b).await,
            Check::ConcurrentSaves => super::concurrent_saves(a, b).await,
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A store broke the contract: which check, which case, and what it did.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("store conformance, {check}: {case}: {detail}")]
pub struct ConformanceFailure {
    check: Check,
    case: &'static str,
    detail: String,
}

impl ConformanceFailure {
    pub(super) fn new(check: Check, case: &'static str, detail: impl Into<String>) -> Self {
        Self {
            check,
            case,
            detail: detail.into(),
        }
    }

    /// The check that failed.
    pub fn check(&self) -> Check {
        self.check
    }

    /// The case of the check that failed: what the contract says.
    pub fn case(&self) -> &'static str {
        self.case
    }

    /// What the store did instead.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}
