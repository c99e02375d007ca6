//! Where a session stands: [`reconcile`](PortingClient::reconcile) settles
//! a step in flight, [`refresh`](PortingClient::refresh) reads the number
//! and records what it shows. Both are only reads (but for the two steps
//! that cannot be read back, see `reconcile`), through the engine's
//! `reconcile_within` and `record_success`.

use std::ops::ControlFlow;

use super::{wire, PortingClient};
use crate::error::Error;
use crate::ids::PhoneNumberId;
use crate::number::PhoneNumberRecord;
use crate::operation::Operation;
use crate::retry_policy::Deadline;
use crate::session::PortingSession;
use crate::state::{StateName, StepOutcome};
use crate::telemetry::Trace;

impl PortingClient {
    /// Settles a step whose outcome is unknown ([`PortingSession::in_flight`]):
    /// reads the number and moves the session to where Meta is. Does nothing
    /// (and sends nothing) when no step is in flight. Every step method does
    /// this by itself first; call it to know where a reloaded session stands
    /// before asking anybody to act.
    ///
    /// Two steps of the other routes cannot be read back: an Embedded
    /// Signup code exchange is settled by asking the token provider (a
    /// token held: done; else the customer finishes the popup again), and
    /// a migration intent whose answer was lost is set again (Meta offers
    /// no look-up; a pending intent is answered with itself).
    ///
    /// # Errors
    /// The read's errors; the marker stays set, so a later call tries again.
    pub async fn reconcile(&self, session: &mut PortingSession) -> Result<StateName, Error> {
        let client = self.for_session(session);
        loop {
            let result = client
                .reconcile_within(session, &client.deadline(), true)
                .await;
            if let ControlFlow::Break(result) = client.after_call(result).await {
                return result;
            }
        }
    }

    /// Reads the number (`GET /{phone-number-id}`, as
    /// [`read_phone_number`](Self::read_phone_number)) and records what it
    /// shows in the session ([`StepOutcome::NumberRead`]), so that
    /// [`PortingSession::next_action`] says what the number needs now:
    ///
    /// - a code that expired (`code_verification_status: EXPIRED`):
    ///   [`NextAction::RequestNewCode`](crate::NextAction::RequestNewCode);
    /// - a registered number not `CONNECTED` yet (it cannot send until it
    ///   is): [`NextAction::AwaitConnected`](crate::NextAction::AwaitConnected);
    /// - a number that moved on without this session (verified, connected):
    ///   the session moves forward with it; a wait for a person ends when
    ///   the number got past what the refused step was for;
    /// - a verification that lapsed (`CodeVerified`, read `EXPIRED`): the
    ///   session goes back to `Initiated`, so no `register` is spent on a
    ///   certain 133006;
    /// - a number object gone (`status` `BANNED`, `DELETED`, `MIGRATED`,
    ///   `UNLINKED`) before the port registered: the session is
    ///   [`Rejected`](crate::PortingState::Rejected) with the matching
    ///   [`RejectionReason`](crate::RejectionReason) instead of trying
    ///   steps that can never go through (see
    ///   [`NumberStatus`](crate::NumberStatus) for what each value means).
    ///
    /// A read without `status` decides nothing: it is an
    /// [`Error::UnexpectedResponse`] and the session is left as it was.
    ///
    /// A step in flight is settled first ([`reconcile`](Self::reconcile)).
    /// Only reads are sent, so it is safe to call at any time, for example
    /// on a timer while a session waits. Returns the record read, or `None`
    /// (and sends nothing) when the session has no number id yet (`Draft`)
    /// or was rejected.
    ///
    /// # Errors
    /// The read's errors ([`Error::Api`], [`Error::Transport`],
    /// [`Error::UnexpectedResponse`] for an answer about another number); a
    /// failed save of the session ([`Error::Checkpoint`]). The session keeps
    /// what it knew.
    pub async fn refresh(
        &self,
        session: &mut PortingSession,
    ) -> Result<Option<PhoneNumberRecord>, Error> {
        let client = self.for_session(session);
        loop {
            let result = client.refresh_call(session).await;
            if let ControlFlow::Break(result) = client.after_call(result).await {
                return result;
            }
        }
    }

    /// [`refresh`](Self::refresh) through the client of the call.
    async fn refresh_call(
        &self,
        session: &mut PortingSession,
    ) -> Result<Option<PhoneNumberRecord>, Error> {
        // One deadline for the whole call: the settling read and this one.
        let deadline = self.deadline();
        let deadline = &deadline;
        self.reconcile_within(session, deadline, false).await?;
        let Some(id) = session.state().phone_number_id().cloned() else {
            return Ok(None);
        };
        let trace = Trace::step(Operation::ReadPhoneNumber, session);
        let result = trace.run(self.refresh_read(session, &id, deadline)).await;
        trace.finish(1, Some(session.state().name()), &result);
        result.map(Some)
    }

    /// [`refresh`](Self::refresh)'s read and record.
    async fn refresh_read(
        &self,
        session: &mut PortingSession,
        id: &PhoneNumberId,
        deadline: &Deadline,
    ) -> Result<PhoneNumberRecord, Error> {
        let record = self.read_number(id, deadline).await?;
        // Absence of evidence is not evidence: a read without `status`
        // cannot say whether the number is connected.
        if record.status.is_none() {
            return Err(wire::undecided_read("the number read lacks its status"));
        }
        let outcome = StepOutcome::NumberRead {
            observed: record.observed(),
        };
        self.record_success(session, Operation::ReadPhoneNumber, outcome)
            .await?;
        Ok(record)
    }
}
