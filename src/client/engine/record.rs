//! The session around a request: the in-flight marker and its save
//! before a request with a side effect leaves, and after the answer the
//! outcome applied and saved — a success, a failure (the one recording
//! path: what the answer says about the state, when to retry, whether the
//! request got through), or a reconciling read that failed. Every save
//! goes through the client's checkpoint as the session's next revision.

use crate::checkpoint::CheckpointStage;
use crate::client::PortingClient;
use crate::error::retry::{self, Delivery};
use crate::error::{ApiErrorKind, CheckpointError, Error};
use crate::operation::Operation;
use crate::params::{CodeMethod, Language};
use crate::session::PortingSession;
use crate::state::{PortingState, StateName, StepOutcome};
use crate::telemetry;
use crate::time::Timestamp;

impl PortingClient {
    /// Marks `operation` in flight in `session` (at `now`; `code`: a code
    /// request's method and language) and, when the request has a side
    /// effect, saves the session before it leaves: a process that dies from
    /// here on finds the marker and reconciles instead of repeating. A
    /// failed save puts `snapshot` (the session as the caller had it) back
    /// when given, and nothing may be sent.
    pub(in crate::client) async fn mark_and_save(
        &self,
        session: &mut PortingSession,
        operation: Operation,
        code: Option<(CodeMethod, &Language)>,
        now: Timestamp,
        snapshot: Option<PortingSession>,
    ) -> Result<(), Error> {
        session.begin(operation, now, code);
        if !operation.has_side_effect() {
            return Ok(());
        }
        if let Err(error) = self
            .save(session, operation, CheckpointStage::BeforeSend)
            .await
        {
            if let Some(snapshot) = snapshot {
                *session = snapshot;
            }
            return Err(error.into());
        }
        Ok(())
    }

    /// Applies a step's outcome to the session and saves it; returns the
    /// new state.
    pub(in crate::client) async fn record_success(
        &self,
        session: &mut PortingSession,
        operation: Operation,
        outcome: StepOutcome,
    ) -> Result<StateName, Error> {
        let now = self.now();
        let name = session.apply(outcome, now)?.name();
        self.save(session, operation, CheckpointStage::AfterOutcome)
            .await?;
        Ok(name)
    }

    /// The one recording path of every failed step: applies a classified
    /// API error to the session (human-blocked and rejected cases change the
    /// state), sets or clears when to retry, settles the step in flight when
    /// the answer says what happened, saves, and returns the error.
    pub(in crate::client) async fn record_failure(
        &self,
        session: &mut PortingSession,
        operation: Operation,
        error: Error,
    ) -> Error {
        let now = self.now();
        let error = code_refused_by_age(session, error, now);
        if let Some(api) = error.api() {
            let outcome = StepOutcome::Failed {
                operation,
                kind: api.kind(),
                code: api.graph().code,
                error_subcode: api.graph().error_subcode,
                fbtrace_id: api.fbtrace_id().map(str::to_owned),
            };
            if let Err(illegal) = session.apply(outcome, now) {
                return illegal.into();
            }
            let graph = api.graph();
            session.attach_failure_message(
                graph.error_user_msg.as_deref().or(graph.message.as_deref()),
            );
        }
        // The latest answer decides: a failure without a wait clears an
        // older one rather than leaving a stale "wait until" behind.
        session.set_not_before(error.retry_after().map(|wait| now.saturating_add(wait)));
        match retry::delivery(&error) {
            Delivery::Unknown if operation.has_side_effect() => {
                telemetry::outcome_unknown(operation, &error);
                if operation == Operation::Register {
                    session.mark_register_unconfirmed();
                }
            }
            Delivery::Unknown => {}
            Delivery::Refused => session.settle(true),
            Delivery::NotSent => session.settle(false),
        }
        // Whatever the delivery, a marker the new state cannot reconcile
        // (the answer moved the session: 133006 back to Initiated, a
        // rejection) is settled by that answer.
        if session
            .in_flight()
            .is_some_and(|f| !session.state().allows(f.operation))
        {
            session.settle(true);
        }
        self.save_failure(session, operation, error).await
    }

    /// A reconciling read failed: the step's outcome is still unknown, so
    /// the marker stays and nothing is added to the step's history; only the
    /// wait the answer asked for is recorded (never shortening the step's).
    pub(in crate::client) async fn record_read_failure(
        &self,
        session: &mut PortingSession,
        error: Error,
    ) -> Error {
        let now = self.now();
        // A wait the answer asked for; not one of ours (an undecided read,
        // a throttle or a cancel), which the step's retry waits out and a
        // later call meets again by itself: saved as a wall-clock time it
        // would hold the session for as long as a clock stepped back.
        let read_wait = match &error {
            Error::WaitRequired(_) => None,
            _ => error.retry_after().map(|wait| now.saturating_add(wait)),
        };
        // The step's own wait stands; the read's can only extend it.
        let later = match (session.not_before(), read_wait) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        session.set_not_before(later);
        self.save_failure(session, Operation::ReadPhoneNumber, error)
            .await
    }

    /// Saves a session that recorded a failure; returns the failure, or the
    /// save's error carrying it.
    async fn save_failure(
        &self,
        session: &mut PortingSession,
        operation: Operation,
        error: Error,
    ) -> Error {
        match self
            .save(session, operation, CheckpointStage::AfterOutcome)
            .await
        {
            Ok(()) => error,
            Err(saving) => saving.with_step_error(error).into(),
        }
    }

    /// Saves `session` through the checkpoint as its next revision (the
    /// revision is put back when the save fails).
    pub(in crate::client) async fn save(
        &self,
        session: &mut PortingSession,
        operation: Operation,
        stage: CheckpointStage,
    ) -> Result<(), CheckpointError> {
        match &self.inner.checkpoint {
            Some(checkpoint) => {
                // The next revision is saved from a copy and taken only
                // once saved: a save that fails, or whose future is dropped,
                // leaves the session on the revision the store holds.
                let mut next = session.clone();
                next.next_revision();
                if let Err(source) = checkpoint.save(&next).await {
                    return Err(CheckpointError::new(operation, stage, source));
                }
                session.set_revision(next.revision());
                telemetry::saved(session, operation, stage);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Saves `session` through the client's checkpoint as its next
    /// revision (what the fleet learned without a step: a wake acted on).
    pub(crate) async fn save_session(
        &self,
        session: &mut PortingSession,
    ) -> Result<(), CheckpointError> {
        self.save(
            session,
            Operation::ReadPhoneNumber,
            CheckpointStage::AfterOutcome,
        )
        .await
    }
}

/// A code refused as "invalid or has expired" (or wrong) after it lived
/// longer than codes do ([`CODE_LIFETIME`](crate::CODE_LIFETIME): "typically
/// 10 minutes", Meta's OpenAPI description, `verify_code`) expired,
/// whatever it was: a new code is needed, not the customer's retyping.
fn code_refused_by_age(session: &PortingSession, error: Error, now: Timestamp) -> Error {
    let Error::Api(api) = error else {
        return error;
    };
    let old = match session.state().resume_point() {
        PortingState::CodeRequested { at, .. } => {
            now.saturating_since(*at) >= crate::session::CODE_LIFETIME
        }
        _ => false,
    };
    if api.kind() == ApiErrorKind::VerificationCodeRejected && old {
        Error::Api(api.reclassified(ApiErrorKind::VerificationCodeExpired))
    } else {
        Error::Api(api)
    }
}
