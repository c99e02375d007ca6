//! Reconcile: a step whose answer was lost (the session's in-flight
//! marker) is settled by reading the number and moving the session to
//! where Meta is, never by sending the step again blindly. Before a step
//! (`settle_before`), by `reconcile` and `refresh` (`reconcile_within`).
//! The read must decide the step in flight; one that cannot leaves the
//! marker, and a register read that cannot tell "connecting" from "not
//! registered" is read again for a while rather than spending one of
//! Meta's 10 register calls on a guess.
//!
//! Two steps of the other routes cannot be read back: a code exchange is
//! settled by asking the token provider, and a migration intent is set
//! again (`super::super::routes`).

use std::time::Duration;

use crate::checkpoint::CheckpointStage;
use crate::client::steps::Step;
use crate::client::{wire, PortingClient};
use crate::error::{Error, WaitReason, WaitRequired};
use crate::ids::PhoneNumberId;
use crate::number::PhoneNumberRecord;
use crate::operation::Operation;
use crate::retry_policy::Deadline;
use crate::session::{InFlight, PortingSession};
use crate::state::{Observed, PortingState, StateName, StepOutcome};
use crate::telemetry;

/// What settling a step in flight did before a step is sent.
pub(super) enum BeforeStep {
    /// No step was in flight: nothing was read.
    Clear,
    /// The number was read and the session moved; the step is still to
    /// be sent.
    Read,
    /// The read made the step moot: the session's state.
    Done(StateName),
}

impl PortingClient {
    /// Settles a step in flight ([`reconcile`](Self::reconcile)), its waits
    /// ending by `deadline`.
    /// `may_send`: whether a step that cannot be read back may be sent
    /// again (never from `refresh`, which only reads).
    pub(in crate::client) async fn reconcile_within(
        &self,
        session: &mut PortingSession,
        deadline: &Deadline,
        may_send: bool,
    ) -> Result<StateName, Error> {
        match session.in_flight().map(|flight| flight.operation) {
            Some(Operation::ExchangeSignupCode) => return self.reconcile_exchange(session).await,
            // Meta offers no way to look an intent up: the request is made
            // again (a pending intent is answered with itself).
            Some(Operation::SetMigrationIntent) if may_send => {
                return self.set_intent(session).await
            }
            Some(Operation::SetMigrationIntent) => return Ok(session.state().name()),
            _ => {}
        }
        if let Some(flight) = session.in_flight().cloned() {
            self.reconcile_flight(session, &flight, deadline).await?;
        }
        Ok(session.state().name())
    }

    /// Before `step` is sent: settles a step in flight by reading the
    /// number, so that nothing is sent twice blindly. Refuses at once,
    /// reading nothing, when no answer of the read could make `step`
    /// legal. After the read the step may be moot: the step in flight was
    /// this very request and it happened (a lost code request counts: it
    /// is never re-sent blindly), Meta is past this step's purpose (the
    /// code verified, the number registered), or the number object is
    /// gone. A step that was never legal stays illegal.
    pub(super) async fn settle_before(
        &self,
        session: &mut PortingSession,
        step: &Step<'_>,
        deadline: &Deadline,
    ) -> Result<BeforeStep, Error> {
        let operation = step.operation();
        let Some(flight) = session.in_flight().cloned() else {
            return Ok(BeforeStep::Clear);
        };
        let legal_before = session.check(operation).is_ok();
        // Read the number only if what it can show could make this step
        // legal; otherwise refuse now, sending nothing.
        if !legal_before && !could_allow(session.state(), &flight, operation) {
            return Err(session.state().refuse(operation).into());
        }
        let observed = self.reconcile_flight(session, &flight, deadline).await?;
        let legal = legal_before || session.check(operation).is_ok();
        let done = if step.same_request_as(&flight) {
            step.done_in(session.state())
        } else {
            legal && step.passed(observed)
        };
        // The read showed the number object gone: the port ended, and no
        // step will ever go through on it.
        if done || session.state().name() == StateName::Rejected {
            return Ok(BeforeStep::Done(session.state().name()));
        }
        Ok(BeforeStep::Read)
    }

    /// Reads the number and moves the session to where Meta is; clears the
    /// marker. On a failed read the marker stays (the outcome is still
    /// unknown) and the failure is recorded like any other.
    async fn reconcile_flight(
        &self,
        session: &mut PortingSession,
        flight: &InFlight,
        deadline: &Deadline,
    ) -> Result<Observed, Error> {
        let Some(id) = session.state().phone_number_id().cloned() else {
            return Ok(Observed::default());
        };
        session.begin(Operation::ReadPhoneNumber, self.now(), None);
        let record = match self.read_number_for(&id, flight, deadline).await {
            Ok(record) => record,
            Err(error) => return Err(self.record_read_failure(session, error).await),
        };
        let observed = observed_for(&record, flight);
        let outcome = match (&flight.method, &flight.language) {
            (Some(method), Some(language))
                if flight.operation == Operation::RequestCode
                    && !observed.is_registered()
                    && !observed.code_verified
                    && observed.gone.is_none() =>
            {
                // The state is dated when the request was sent (a code Meta
                // sent then is as old); the history records it now.
                StepOutcome::CodeRequested {
                    method: *method,
                    language: language.clone(),
                    unconfirmed: true,
                    sent_at: Some(flight.since),
                }
            }
            _ => StepOutcome::Reconciled {
                operation: flight.operation,
                observed,
            },
        };
        if flight.operation == Operation::Register {
            session.mark_register_unconfirmed();
        }
        let code_possibly_sent = matches!(outcome, StepOutcome::CodeRequested { .. });
        let state = session.apply(outcome, self.now())?.name();
        if code_possibly_sent {
            // The read is fresh: if it shows the latest code Meta knows
            // expired, whatever was sent, the customer's code will be
            // refused.
            session.note_read(observed);
        }
        self.save(session, flight.operation, CheckpointStage::AfterOutcome)
            .await?;
        telemetry::reconciled(flight.operation, observed, state);
        Ok(observed)
    }

    /// Reads the number to settle `flight`, insisting on an answer that
    /// can decide it: the number asked about, with the field that tells
    /// (for the code steps `code_verification_status`, or a connected
    /// number; for register, `status` and what `platform_type` says).
    /// Absence of evidence is not evidence: anything less is an
    /// undecodable answer and the marker stays.
    ///
    /// A register is settled by `CONNECTED`, or by a `platform_type` that
    /// says the number is on a platform (registered, still connecting) or
    /// on none (not registered). A read that shows neither (not connected,
    /// no `platform_type`) cannot tell "registered, connecting" from "not
    /// registered": for a while after the register was sent
    /// ([`REGISTER_SETTLE`]) that is a wait — read again in
    /// [`REGISTER_REREAD`] ([`WaitReason::ReconcileUndecided`]) — rather
    /// than one of the 10 register calls per 72 hours spent on a guess;
    /// after it, the number is taken as not registered.
    async fn read_number_for(
        &self,
        id: &PhoneNumberId,
        flight: &InFlight,
        deadline: &Deadline,
    ) -> Result<PhoneNumberRecord, Error> {
        // read_number already refuses a record of another number.
        let record = self.read_number(id, deadline).await?;
        // A number object gone (`BANNED`, `DELETED`…) decides every step:
        // none of them will ever go through on it.
        let decisive = match flight.operation {
            Operation::Register => record.status.is_some(),
            _ => {
                record.code_verification_status.is_some()
                    || record.is_connected()
                    || record.gone().is_some()
            }
        };
        if !decisive {
            return Err(wire::undecided_read(
                "the number read lacks the status that decides the step in flight",
            ));
        }
        let unsure = flight.operation == Operation::Register
            && !record.is_connected()
            && record.gone().is_none()
            && !record.is_on_platform()
            && !record.is_off_platform();
        let now = self.now();
        // Measured either way: a clock a little behind the marker (skew
        // between hosts, NTP nudging it) is still within the window; one
        // stepped back further than the window cannot measure it, and it
        // is not waited for again.
        let apart = if now >= flight.since {
            now.saturating_since(flight.since)
        } else {
            flight.since.saturating_since(now)
        };
        let within_window = apart < REGISTER_SETTLE;
        if unsure && within_window {
            let until = now.saturating_add(REGISTER_REREAD);
            let reason = WaitReason::ReconcileUndecided;
            return Err(WaitRequired::new(Operation::Register, until, reason, now).into());
        }
        Ok(record)
    }
}

/// Whether some answer of the reconciling read for `flight` would leave the
/// session in a state that allows `operation` (pure: tries each outcome).
fn could_allow(state: &PortingState, flight: &InFlight, operation: Operation) -> bool {
    let at = flight.since;
    let mut outcomes: Vec<StepOutcome> = [
        (false, false, false),
        (false, false, true),
        (false, true, false),
        (true, true, false),
    ]
    .into_iter()
    .map(
        |(registered, code_verified, expired)| StepOutcome::Reconciled {
            operation: flight.operation,
            observed: Observed::new(registered, code_verified).with_code_expired(expired),
        },
    )
    .collect();
    if let (Some(method), Some(language)) = (flight.method, flight.language.clone()) {
        outcomes.push(StepOutcome::CodeRequested {
            method,
            language,
            unconfirmed: true,
            sent_at: None,
        });
    }
    outcomes.iter().any(|outcome| {
        state
            .next_state(outcome, at)
            .is_ok_and(|next| next.allows(operation))
    })
}

/// What a read settling `flight` shows. A number on a platform
/// (`platform_type` `CLOUD_API`, `ON_PREMISE`) but not `CONNECTED` is
/// registered-and-connecting only as the answer to a `register` of ours:
/// any other read of it (a number still with its previous provider, say)
/// proves nothing about this port.
fn observed_for(record: &PhoneNumberRecord, flight: &InFlight) -> Observed {
    let connecting = flight.operation == Operation::Register
        && !record.is_connected()
        && record.gone().is_none()
        && record.is_on_platform();
    record.observed().with_connecting(connecting)
}

/// How long after a `register` whose answer was lost a read that cannot
/// tell whether it went through (not `CONNECTED`, no `platform_type`) is
/// taken as "still connecting" and read again, rather than as "not
/// registered".
const REGISTER_SETTLE: Duration = Duration::from_secs(15 * 60);

/// How long to wait before such a read is made again.
const REGISTER_REREAD: Duration = Duration::from_secs(30);
