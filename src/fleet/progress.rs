//! What a fleet reports: per-session events and outcomes, and running counts.

use std::collections::BTreeMap;
use std::fmt;

use crate::actor::Actor;
use crate::error::Error;
use crate::operation::Operation;
use crate::session::NextStep;
use crate::state::{RejectionReason, StateName};
use crate::store::{Holder, SessionKey, StoreError};

/// Where one session of a fleet run ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionOutcome {
    /// The number is registered in the destination WABA.
    Registered,
    /// The port cannot go on (see the reason's remediation).
    Rejected {
        /// Why.
        reason: RejectionReason,
    },
    /// The session waits for someone ([`NextStep::actor`]: the customer's
    /// approval or code, the previous provider, our PIN) or for a time
    /// ([`NextStep::not_before`]); run the fleet again once that happened.
    Waiting {
        /// What is awaited.
        next: NextStep,
        /// The answer that made it wait, when a step was refused.
        error: Option<Error>,
    },
    /// A step failed and no person can fix it by acting: see the error's
    /// [`remediation`](Error::remediation) and
    /// [`is_retryable`](Error::is_retryable) (a later run retries it).
    Failed {
        /// The step's error.
        error: Error,
    },
    /// The fleet could not load the session from the store, or save it
    /// there before its first step (a save that fails inside a step is a
    /// [`Failed`](Self::Failed) with
    /// [`Error::Checkpoint`](crate::Error::Checkpoint)).
    StoreFailed {
        /// The store's error.
        error: StoreError,
    },
    /// The run was cancelled before the session finished; it is saved and
    /// resumes on the next run.
    Cancelled,
    /// The same session ([`SessionKey`]) came again while the run was
    /// advancing it: this copy was skipped (two copies at once would send
    /// every step twice).
    Duplicate,
    /// Another worker holds the session (another replica, another run of
    /// this fleet), or took it over when this run's lease was lost: this
    /// run did not advance it (or stopped before its next request), and
    /// left it to the holder.
    HeldElsewhere {
        /// Who holds it and until when, when the store said.
        holder: Option<Holder>,
    },
}

impl SessionOutcome {
    /// The progress column this outcome counts in.
    pub fn column(&self) -> ProgressColumn {
        match self {
            Self::Registered => ProgressColumn::Registered,
            Self::Rejected { .. } => ProgressColumn::Rejected,
            Self::Waiting { next, .. } => match next.actor {
                Actor::Customer => ProgressColumn::WaitingOnCustomer,
                Actor::PreviousProvider => ProgressColumn::WaitingOnPreviousProvider,
                _ => ProgressColumn::WaitingOnUs,
            },
            Self::Failed { .. } | Self::StoreFailed { .. } => ProgressColumn::Failed,
            Self::Cancelled => ProgressColumn::Cancelled,
            Self::Duplicate => ProgressColumn::Skipped,
            Self::HeldElsewhere { .. } => ProgressColumn::HeldElsewhere,
        }
    }

    /// A short label for summaries: the column, and for a failure or a
    /// refused step the error's kind (`failed: transport timeout`).
    pub fn label(&self) -> String {
        let column = self.column().as_str();
        let error = match self {
            Self::Rejected { reason } => {
                let reason = match reason {
                    RejectionReason::EligibleForDirectAdd => "eligible for direct add",
                    RejectionReason::BusinessMismatch => "business mismatch",
                    RejectionReason::NumberBanned => "number banned",
                    RejectionReason::NumberDeleted => "number deleted",
                    RejectionReason::NumberMigrated => "number migrated",
                    RejectionReason::NumberUnlinked => "number unlinked",
                    RejectionReason::IntentDeclined => "migration declined",
                };
                return format!("{column}: {reason}");
            }
            Self::Waiting { error, .. } => error.as_ref(),
            Self::Failed { error } => Some(error),
            Self::StoreFailed { .. } => return format!("{column}: store"),
            _ => None,
        };
        match error {
            Some(error) => format!("{column}: {}", error_kind(error)),
            None => column.to_owned(),
        }
    }
}

/// A short name for an error's kind.
fn error_kind(error: &Error) -> String {
    match error {
        Error::Api(e) => e.kind().to_string(),
        Error::Transport(e) => format!("transport {:?}", e.kind()).to_lowercase(),
        Error::UnexpectedResponse(e) => format!("undecodable answer ({})", e.reason()),
        Error::WaitRequired(_) => "wait required".to_owned(),
        Error::Checkpoint(_) => "checkpoint".to_owned(),
        Error::IllegalTransition(_) => "illegal step".to_owned(),
        Error::Validation(_) => "invalid input".to_owned(),
        Error::Config(_) => "configuration".to_owned(),
        Error::Token(_) => "access token".to_owned(),
        Error::LocalStorage(_) => "local storage".to_owned(),
    }
}

/// The columns of [`FleetProgress`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProgressColumn {
    /// Not picked up yet.
    Queued,
    /// Being advanced now.
    Active,
    /// Waiting for the customer (approval, the code).
    WaitingOnCustomer,
    /// Waiting for the previous provider (two-step verification).
    WaitingOnPreviousProvider,
    /// Waiting for us: a PIN not supplied, or a time to retry at.
    WaitingOnUs,
    /// Registered.
    Registered,
    /// Rejected.
    Rejected,
    /// Failed (a step or the store).
    Failed,
    /// Cancelled.
    Cancelled,
    /// Skipped (a duplicate of a session in the run).
    Skipped,
    /// Held by another worker: left to it.
    HeldElsewhere,
}

impl ProgressColumn {
    /// Every column, in order.
    pub const ALL: [Self; 11] = [
        Self::Queued,
        Self::Active,
        Self::WaitingOnCustomer,
        Self::WaitingOnPreviousProvider,
        Self::WaitingOnUs,
        Self::Registered,
        Self::Rejected,
        Self::Failed,
        Self::Cancelled,
        Self::Skipped,
        Self::HeldElsewhere,
    ];

    /// `snake_case` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Active => "active",
            Self::WaitingOnCustomer => "waiting_on_customer",
            Self::WaitingOnPreviousProvider => "waiting_on_previous_provider",
            Self::WaitingOnUs => "waiting_on_us",
            Self::Registered => "registered",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Skipped => "skipped",
            Self::HeldElsewhere => "held_elsewhere",
        }
    }
}

impl fmt::Display for ProgressColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Running counts of a fleet run: every session is in exactly one column,
/// so the columns always add up to [`total`](Self::total).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FleetProgress {
    /// Sessions in the run.
    pub total: usize,
    /// Not picked up yet.
    pub queued: usize,
    /// Being advanced now.
    pub active: usize,
    /// Waiting for the customer.
    pub waiting_on_customer: usize,
    /// Waiting for the previous provider.
    pub waiting_on_previous_provider: usize,
    /// Waiting for us (a PIN, a time).
    pub waiting_on_us: usize,
    /// Registered.
    pub registered: usize,
    /// Rejected.
    pub rejected: usize,
    /// Failed.
    pub failed: usize,
    /// Cancelled.
    pub cancelled: usize,
    /// Skipped (duplicates).
    pub skipped: usize,
    /// Held by another worker.
    pub held_elsewhere: usize,
    /// Steps (requests' worth of work) done so far.
    pub steps: u64,
}

impl FleetProgress {
    pub(crate) fn new(total: usize) -> Self {
        Self {
            total,
            queued: total,
            ..Self::default()
        }
    }

    /// The count in `column`.
    pub fn count(&self, column: ProgressColumn) -> usize {
        match column {
            ProgressColumn::Queued => self.queued,
            ProgressColumn::Active => self.active,
            ProgressColumn::WaitingOnCustomer => self.waiting_on_customer,
            ProgressColumn::WaitingOnPreviousProvider => self.waiting_on_previous_provider,
            ProgressColumn::WaitingOnUs => self.waiting_on_us,
            ProgressColumn::Registered => self.registered,
            ProgressColumn::Rejected => self.rejected,
            ProgressColumn::Failed => self.failed,
            ProgressColumn::Cancelled => self.cancelled,
            ProgressColumn::Skipped => self.skipped,
            ProgressColumn::HeldElsewhere => self.held_elsewhere,
        }
    }

    fn slot(&mut self, column: ProgressColumn) -> &mut usize {
        match column {
            ProgressColumn::Queued => &mut self.queued,
            ProgressColumn::Active => &mut self.active,
            ProgressColumn::WaitingOnCustomer => &mut self.waiting_on_customer,
            ProgressColumn::WaitingOnPreviousProvider => &mut self.waiting_on_previous_provider,
            ProgressColumn::WaitingOnUs => &mut self.waiting_on_us,
            ProgressColumn::Registered => &mut self.registered,
            ProgressColumn::Rejected => &mut self.rejected,
            ProgressColumn::Failed => &mut self.failed,
            ProgressColumn::Cancelled => &mut self.cancelled,
            ProgressColumn::Skipped => &mut self.skipped,
            ProgressColumn::HeldElsewhere => &mut self.held_elsewhere,
        }
    }

    /// Moves one session from `from` to `to`.
    pub(crate) fn shift(&mut self, from: ProgressColumn, to: ProgressColumn) {
        let from = self.slot(from);
        *from = from.saturating_sub(1);
        *self.slot(to) += 1;
    }

    /// Sessions the run is done with.
    pub fn done(&self) -> usize {
        self.total
            .saturating_sub(self.queued)
            .saturating_sub(self.active)
    }

    /// Sessions picked up so far (done or active).
    pub fn started(&self) -> usize {
        self.total.saturating_sub(self.queued)
    }
}

impl fmt::Display for FleetProgress {
    /// One line: `1000 sessions: 812 registered, 90 waiting on customer, …`
    /// (empty columns left out).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} sessions", self.total)?;
        let mut first = true;
        for column in ProgressColumn::ALL {
            let count = self.count(column);
            if count > 0 {
                f.write_str(if first { ": " } else { ", " })?;
                first = false;
                write!(f, "{count} {}", column.as_str().replace('_', " "))?;
            }
        }
        Ok(())
    }
}

/// Something that happened to one session of a fleet run.
#[derive(Debug)]
#[non_exhaustive]
pub enum FleetEvent<'a> {
    /// The session was picked up (loaded from the store, or saved there new).
    Started {
        /// Which session.
        key: &'a SessionKey,
        /// Where it stands.
        state: StateName,
    },
    /// A step was called.
    Stepped {
        /// Which session.
        key: &'a SessionKey,
        /// The step (`reconcile` reports the step it settled).
        step: Operation,
        /// Where the session stands after it.
        state: StateName,
        /// The step's error, if it failed.
        error: Option<&'a Error>,
    },
    /// The run is done with the session.
    Finished {
        /// Which session.
        key: &'a SessionKey,
        /// Where it stands.
        state: StateName,
        /// How it ended.
        outcome: &'a SessionOutcome,
    },
}

/// One session's result of a fleet run.
#[derive(Debug)]
#[non_exhaustive]
pub struct SessionResult {
    /// The session's key in the store.
    pub key: SessionKey,
    /// Where it stands (its full record is in the store).
    pub state: StateName,
    /// How the run ended for it.
    pub outcome: SessionOutcome,
}

/// What a fleet run did: final counts and every session's result, in the
/// order they finished.
#[derive(Debug)]
#[non_exhaustive]
pub struct FleetReport {
    /// The final counts.
    pub progress: FleetProgress,
    /// Each session's result.
    pub sessions: Vec<SessionResult>,
}

impl FleetReport {
    /// How many sessions ended with each [`SessionOutcome::label`], sorted
    /// by label: the summary table of a run.
    pub fn summary(&self) -> BTreeMap<String, usize> {
        let mut table = BTreeMap::new();
        for result in &self.sessions {
            *table.entry(result.outcome.label()).or_insert(0) += 1;
        }
        table
    }
}
