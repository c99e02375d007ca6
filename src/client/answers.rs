//! How each step's answer becomes a state: start's new id — or, when Meta
//! says the number is already there, the listed number adopted where it
//! stands; a success of the others; a register refused because the PIN
//! may already be set, or because the number may already be registered.
//! Called by the engine once a step's request is sent (`attempt`); what
//! is recorded goes through the engine's `record_success` and
//! `record_failure`.

use super::steps::Step;
use super::{wire, PortingClient};
use crate::error::{ApiError, ApiErrorKind, Error};
use crate::number::PhoneNumberRecord;
use crate::operation::Operation;
use crate::retry_policy::Deadline;
use crate::session::PortingSession;
use crate::state::{Observed, StateName, StepOutcome};
use crate::telemetry;
use crate::transport::HttpResponse;

impl PortingClient {
    /// How `step`'s answer (`response`, or why none came) becomes a state:
    /// start's answer is the new id or the listed number
    /// ([`finish_start`](Self::finish_start)); the others expect
    /// `{"success": true}`, their secret masked in whatever the answer
    /// keeps. A register refused with 133005 after one of ours whose
    /// outcome was unknown (`earlier_unknown`) is the PIN, said once; one
    /// refused as "already registered" may be registered already
    /// ([`finish_already_registered`](Self::finish_already_registered)).
    /// Recorded and saved either way. The reads an answer needs wait by
    /// `deadline`.
    pub(in crate::client) async fn answer(
        &self,
        session: &mut PortingSession,
        step: &Step<'_>,
        response: Result<HttpResponse, Error>,
        earlier_unknown: bool,
        deadline: &Deadline,
    ) -> Result<StateName, Error> {
        let operation = step.operation();
        let result = match step {
            Step::Start => {
                return self.finish_start(session, response, deadline).await;
            }
            _ => response
                .and_then(|r| wire::expect_success(operation, &r, self.inner.clock.as_ref()))
                .map_err(|error| error.redacting_sent(step.secret().as_slice())),
        };
        match result {
            Ok(()) => {
                self.record_success(session, operation, step.success())
                    .await
            }
            Err(Error::Api(e))
                if operation == Operation::Register
                    && earlier_unknown
                    && e.code() == Some(PIN_MISMATCH) =>
            {
                // Said once: if the same PIN meets 133005 again, the earlier
                // register did not set it, and two-step verification is on.
                session.clear_register_unconfirmed();
                let error = Error::Api(e.reclassified(ApiErrorKind::PinIncorrect));
                Err(self.record_failure(session, operation, error).await)
            }
            Err(Error::Api(e))
                if operation == Operation::Register
                    && e.kind() == ApiErrorKind::AlreadyRegistered =>
            {
                self.finish_already_registered(session, e, earlier_unknown, deadline)
                    .await
            }
            Err(error) => Err(self.record_failure(session, operation, error).await),
        }
    }

    /// `register` answered "already registered or in invalid state for
    /// registration": Meta did not register the number now, but it may be
    /// registered already — by an earlier register of ours whose answer
    /// was lost, or by another process. The number is read, as for a lost
    /// register answer: `CONNECTED` (or, after a register of ours whose
    /// outcome was unknown, a number on a platform and connecting) settles
    /// the step as registered ([`StepOutcome::Reconciled`]). A read that
    /// shows less, lacks `status`, or fails proves nothing: the refusal
    /// stands, recorded as any other.
    async fn finish_already_registered(
        &self,
        session: &mut PortingSession,
        refusal: ApiError,
        earlier_register_unknown: bool,
        deadline: &Deadline,
    ) -> Result<StateName, Error> {
        let operation = Operation::Register;
        let Some(id) = session.state().phone_number_id().cloned() else {
            return Err(self
                .record_failure(session, operation, refusal.into())
                .await);
        };
        session.begin(Operation::ReadPhoneNumber, self.now(), None);
        let registered = match self.read_number(&id, deadline).await {
            Ok(record) if record.status.is_some() => {
                let connecting =
                    earlier_register_unknown && !record.is_connected() && record.is_on_platform();
                Some(record.observed().with_connecting(connecting)).filter(Observed::is_registered)
            }
            Ok(_) | Err(_) => None,
        };
        let Some(observed) = registered else {
            return Err(self
                .record_failure(session, operation, refusal.into())
                .await);
        };
        let outcome = StepOutcome::Reconciled {
            operation,
            observed,
        };
        let state = self.record_success(session, operation, outcome).await?;
        telemetry::reconciled(operation, observed, state);
        Ok(state)
    }

    /// The answer to `start`: the new id, or on 2388012 (or 409 "already
    /// registered with WhatsApp Business") the listed number.
    async fn finish_start(
        &self,
        session: &mut PortingSession,
        response: Result<HttpResponse, Error>,
        deadline: &Deadline,
    ) -> Result<StateName, Error> {
        let operation = Operation::StartMigration;
        let answer =
            response.and_then(|r| wire::expect_id(operation, &r, self.inner.clock.as_ref()));
        let outcome = match answer {
            Ok(phone_number_id) => StepOutcome::MigrationStarted { phone_number_id },
            // 2388012, or Meta's OpenAPI description's 409 "already
            // registered with WhatsApp Business": the number may be ours.
            Err(Error::Api(e))
                if matches!(
                    e.kind(),
                    ApiErrorKind::AlreadyInDestination | ApiErrorKind::AlreadyRegistered
                ) =>
            {
                let found = self
                    .find_phone_number(session.target_waba_id(), session.phone_number(), deadline)
                    .await;
                let found = match found {
                    // A listing without the fields that say how far the
                    // number got is no evidence: read the number itself.
                    Ok(Some(record)) if !decides_adoption(&record) => {
                        // (read_phone_number only returns the number asked for.)
                        self.read_number(&record.id, deadline)
                            .await
                            .and_then(|read| {
                                if decides_adoption(&read) {
                                    Ok(Some(read))
                                } else {
                                    Err(wire::undecided_read(
                                        "the number read lacks status and code_verification_status",
                                    ))
                                }
                            })
                    }
                    other => other,
                };
                match found {
                    Ok(Some(record)) => StepOutcome::ExistingNumberAdopted {
                        observed: record.observed(),
                        phone_number_id: record.id,
                    },
                    // Meta says it is there, the list says it is not: report
                    // Meta's answer; the session stays where it was.
                    Ok(None) => {
                        return Err(self.record_failure(session, operation, e.into()).await)
                    }
                    Err(error) => return Err(self.record_failure(session, operation, error).await),
                }
            }
            Err(error) => return Err(self.record_failure(session, operation, error).await),
        };
        self.record_success(session, operation, outcome).await
    }
}

/// Whether a record says how far its number got: connected, gone, or a
/// status and a code verification status to read.
fn decides_adoption(record: &PhoneNumberRecord) -> bool {
    record.is_connected()
        || record.gone().is_some()
        || (record.status.is_some() && record.code_verification_status.is_some())
}

/// 133005 "PIN incorrect".
const PIN_MISMATCH: i64 = 133005;
