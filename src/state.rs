//! The porting state machine: pure data and pure functions, no I/O.
//!
//! ```text
//! Draft → Initiated → CodeRequested → CodeVerified → Registered (done)
//!   ↘ AwaitingOnBehalfApproval ↺  (customer approves, retry the step)
//!   ↘ AwaitingTwoStepDisable  ↺  (previous BSP disables 2SV, retry the step)
//!   ↘ Rejected                    (add directly; business mismatch)
//! ```
//!
//! [`PortingState::next_state`] maps a state and a [`StepOutcome`] to the
//! next state, or to an [`IllegalTransition`] when the step is not allowed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ApiErrorKind;
use crate::ids::PhoneNumberId;
use crate::operation::Operation;
use crate::params::{CodeMethod, Language};
use crate::time::Timestamp;

/// Where a port stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PortingState {
    /// Nothing sent yet; next: start the migration.
    Draft,
    /// The destination WABA accepted the number; next: request a code.
    Initiated {
        /// The number's id in the destination WABA.
        phone_number_id: PhoneNumberId,
    },
    /// A code was requested; next: verify it (or request another).
    CodeRequested {
        /// The number's id in the destination WABA.
        phone_number_id: PhoneNumberId,
        /// How the code is delivered.
        method: CodeMethod,
        /// The language of the message.
        language: Language,
        /// When it was requested.
        at: Timestamp,
    },
    /// Ownership is verified; next: register.
    CodeVerified {
        /// The number's id in the destination WABA.
        phone_number_id: PhoneNumberId,
    },
    /// Done: the number is registered in the destination WABA.
    Registered {
        /// The number's id in the destination WABA.
        phone_number_id: PhoneNumberId,
    },
    /// The customer must approve the "message on behalf" request; then the
    /// step that was refused can be retried.
    AwaitingOnBehalfApproval {
        /// The state the port resumes from.
        resume: Box<PortingState>,
    },
    /// Two-step verification must be disabled by the previous BSP; then the
    /// step that was refused can be retried.
    AwaitingTwoStepDisable {
        /// The state the port resumes from.
        resume: Box<PortingState>,
    },
    /// The port cannot continue as submitted.
    Rejected {
        /// Why.
        reason: RejectionReason,
    },
}

/// Why a port was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectionReason {
    /// The number can be added directly and must not be ported.
    EligibleForDirectAdd,
    /// The Business Manager id does not own the number's current WABA:
    /// open a new session with the corrected id.
    BusinessMismatch,
}

/// The name of a [`PortingState`], without its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[allow(missing_docs)] // the names say it; see PortingState
pub enum StateName {
    Draft,
    Initiated,
    CodeRequested,
    CodeVerified,
    Registered,
    AwaitingOnBehalfApproval,
    AwaitingTwoStepDisable,
    Rejected,
}

impl StateName {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Initiated => "initiated",
            Self::CodeRequested => "code_requested",
            Self::CodeVerified => "code_verified",
            Self::Registered => "registered",
            Self::AwaitingOnBehalfApproval => "awaiting_on_behalf_approval",
            Self::AwaitingTwoStepDisable => "awaiting_two_step_disable",
            Self::Rejected => "rejected",
        }
    }
}

impl fmt::Display for StateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a step produced: the input of the state machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StepOutcome {
    /// `start` returned the number's id.
    MigrationStarted {
        /// The id returned.
        phone_number_id: PhoneNumberId,
    },
    /// `start` said the number is already in the destination (2388012) and
    /// the look-up found its id.
    ExistingNumberAdopted {
        /// The id found.
        phone_number_id: PhoneNumberId,
    },
    /// `request_code` succeeded.
    CodeRequested {
        /// How the code is delivered.
        method: CodeMethod,
        /// The language of the message.
        language: Language,
    },
    /// `verify_code` succeeded.
    CodeVerified,
    /// `register` succeeded.
    Registered,
    /// The step failed with a classified API error.
    Failed {
        /// The step that failed.
        operation: Operation,
        /// The case.
        kind: ApiErrorKind,
    },
}

impl StepOutcome {
    /// The step this outcome answers.
    pub fn operation(&self) -> Operation {
        match self {
            Self::MigrationStarted { .. } | Self::ExistingNumberAdopted { .. } => {
                Operation::StartMigration
            }
            Self::CodeRequested { .. } => Operation::RequestCode,
            Self::CodeVerified => Operation::VerifyCode,
            Self::Registered => Operation::Register,
            Self::Failed { operation, .. } => *operation,
        }
    }
}

/// A step that is not allowed in the session's current state. Nothing was
/// sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot {operation} while the session is {state}; allowed now: {}", allowed_list(.allowed))]
pub struct IllegalTransition {
    operation: Operation,
    state: StateName,
    allowed: Vec<Operation>,
}

fn allowed_list(allowed: &[Operation]) -> String {
    if allowed.is_empty() {
        return "nothing".to_owned();
    }
    allowed
        .iter()
        .map(|op| op.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl IllegalTransition {
    /// The step that was refused.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The state that refused it.
    pub fn state(&self) -> StateName {
        self.state
    }

    /// The steps the state allows.
    pub fn allowed(&self) -> &[Operation] {
        &self.allowed
    }

    /// What to do instead.
    pub fn remediation(&self) -> &'static str {
        match self.state {
            StateName::Registered => "The port is finished; nothing more to do.",
            StateName::Rejected => {
                "The port was rejected; see the session's next action (correct the Business \
                 Manager id, or add the number directly)."
            }
            _ => "Call the step the session allows now (see PortingSession::next_action).",
        }
    }
}

const STEPS: [Operation; 4] = [
    Operation::StartMigration,
    Operation::RequestCode,
    Operation::VerifyCode,
    Operation::Register,
];

impl PortingState {
    /// The state's name.
    pub fn name(&self) -> StateName {
        match self {
            Self::Draft => StateName::Draft,
            Self::Initiated { .. } => StateName::Initiated,
            Self::CodeRequested { .. } => StateName::CodeRequested,
            Self::CodeVerified { .. } => StateName::CodeVerified,
            Self::Registered { .. } => StateName::Registered,
            Self::AwaitingOnBehalfApproval { .. } => StateName::AwaitingOnBehalfApproval,
            Self::AwaitingTwoStepDisable { .. } => StateName::AwaitingTwoStepDisable,
            Self::Rejected { .. } => StateName::Rejected,
        }
    }

    /// The number's id in the destination WABA, once known.
    pub fn phone_number_id(&self) -> Option<&PhoneNumberId> {
        match self {
            Self::Draft | Self::Rejected { .. } => None,
            Self::Initiated { phone_number_id }
            | Self::CodeRequested {
                phone_number_id, ..
            }
            | Self::CodeVerified { phone_number_id }
            | Self::Registered { phone_number_id } => Some(phone_number_id),
            Self::AwaitingOnBehalfApproval { resume } | Self::AwaitingTwoStepDisable { resume } => {
                resume.phone_number_id()
            }
        }
    }

    /// Whether no step can move this state any more.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Registered { .. } | Self::Rejected { .. })
    }

    /// The state a waiting state resumes from; itself otherwise.
    pub fn resume_point(&self) -> &PortingState {
        match self {
            Self::AwaitingOnBehalfApproval { resume } | Self::AwaitingTwoStepDisable { resume } => {
                resume.resume_point()
            }
            other => other,
        }
    }

    /// Whether `operation` is a legal step now.
    pub fn allows(&self, operation: Operation) -> bool {
        use Operation::*;
        matches!(
            (self.resume_point(), operation),
            (Self::Draft, StartMigration)
                | (Self::Initiated { .. }, RequestCode)
                | (Self::CodeRequested { .. }, RequestCode | VerifyCode)
                | (Self::CodeVerified { .. }, Register)
        )
    }

    /// The legal steps now, in flow order.
    pub fn allowed_steps(&self) -> Vec<Operation> {
        STEPS.into_iter().filter(|op| self.allows(*op)).collect()
    }

    /// Checks that `operation` is legal now.
    pub fn check(&self, operation: Operation) -> Result<(), IllegalTransition> {
        if self.allows(operation) {
            Ok(())
        } else {
            Err(IllegalTransition {
                operation,
                state: self.name(),
                allowed: self.allowed_steps(),
            })
        }
    }

    /// The state after `outcome` happened at `at`. Pure: the same input gives
    /// the same output. A failure that changes nothing (a timeout, a rate
    /// limit…) returns the current state.
    pub fn next_state(
        &self,
        outcome: &StepOutcome,
        at: Timestamp,
    ) -> Result<Self, IllegalTransition> {
        self.check(outcome.operation())?;
        let base = self.resume_point();
        let id = || base.phone_number_id().cloned();
        let next = match outcome {
            StepOutcome::MigrationStarted { phone_number_id }
            | StepOutcome::ExistingNumberAdopted { phone_number_id } => Self::Initiated {
                phone_number_id: phone_number_id.clone(),
            },
            StepOutcome::CodeRequested { method, language } => match id() {
                Some(phone_number_id) => Self::CodeRequested {
                    phone_number_id,
                    method: *method,
                    language: language.clone(),
                    at,
                },
                None => return Err(self.refuse(outcome.operation())),
            },
            StepOutcome::CodeVerified => match id() {
                Some(phone_number_id) => Self::CodeVerified { phone_number_id },
                None => return Err(self.refuse(outcome.operation())),
            },
            StepOutcome::Registered => match id() {
                Some(phone_number_id) => Self::Registered { phone_number_id },
                None => return Err(self.refuse(outcome.operation())),
            },
            StepOutcome::Failed { kind, .. } => match kind {
                ApiErrorKind::OnBehalfNotAccepted => Self::AwaitingOnBehalfApproval {
                    resume: Box::new(base.clone()),
                },
                ApiErrorKind::TwoStepEnabled => Self::AwaitingTwoStepDisable {
                    resume: Box::new(base.clone()),
                },
                ApiErrorKind::EligibleForDirectAdd => Self::Rejected {
                    reason: RejectionReason::EligibleForDirectAdd,
                },
                ApiErrorKind::BusinessMismatch => Self::Rejected {
                    reason: RejectionReason::BusinessMismatch,
                },
                _ => self.clone(),
            },
        };
        Ok(next)
    }

    pub(crate) fn refuse(&self, operation: Operation) -> IllegalTransition {
        IllegalTransition {
            operation,
            state: self.name(),
            allowed: self.allowed_steps(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Operation::*;

    fn id() -> PhoneNumberId {
        PhoneNumberId::new("106540352242922").unwrap()
    }
    const T: Timestamp = Timestamp::from_unix_millis(1_000);

    fn initiated() -> PortingState {
        PortingState::Initiated {
            phone_number_id: id(),
        }
    }
    fn code_requested() -> PortingState {
        PortingState::CodeRequested {
            phone_number_id: id(),
            method: CodeMethod::Sms,
            language: Language::default(),
            at: T,
        }
    }
    fn verified() -> PortingState {
        PortingState::CodeVerified {
            phone_number_id: id(),
        }
    }
    fn registered() -> PortingState {
        PortingState::Registered {
            phone_number_id: id(),
        }
    }
    fn failed(operation: Operation, kind: ApiErrorKind) -> StepOutcome {
        StepOutcome::Failed { operation, kind }
    }
    fn sms() -> StepOutcome {
        StepOutcome::CodeRequested {
            method: CodeMethod::Sms,
            language: Language::default(),
        }
    }

    #[test]
    fn happy_path_transitions() {
        let s = PortingState::Draft;
        let s = s
            .next_state(
                &StepOutcome::MigrationStarted {
                    phone_number_id: id(),
                },
                T,
            )
            .unwrap();
        assert_eq!(s, initiated());
        let s = s.next_state(&sms(), T).unwrap();
        assert_eq!(s, code_requested());
        let s = s.next_state(&StepOutcome::CodeVerified, T).unwrap();
        assert_eq!(s, verified());
        let s = s.next_state(&StepOutcome::Registered, T).unwrap();
        assert_eq!(s, registered());
        assert!(s.is_terminal());
    }

    #[test]
    fn adopting_an_existing_number_initiates() {
        let s = PortingState::Draft
            .next_state(
                &StepOutcome::ExistingNumberAdopted {
                    phone_number_id: id(),
                },
                T,
            )
            .unwrap();
        assert_eq!(s, initiated());
    }

    #[test]
    fn a_code_can_be_requested_again() {
        let later = Timestamp::from_unix_millis(9_000);
        let voice = StepOutcome::CodeRequested {
            method: CodeMethod::Voice,
            language: Language::new("de").unwrap(),
        };
        let s = code_requested().next_state(&voice, later).unwrap();
        assert_eq!(
            s,
            PortingState::CodeRequested {
                phone_number_id: id(),
                method: CodeMethod::Voice,
                language: Language::new("de").unwrap(),
                at: later
            }
        );
    }

    #[test]
    fn legal_steps_per_state() {
        let rejected = PortingState::Rejected {
            reason: RejectionReason::BusinessMismatch,
        };
        let table: Vec<(PortingState, Vec<Operation>)> = vec![
            (PortingState::Draft, vec![StartMigration]),
            (initiated(), vec![RequestCode]),
            (code_requested(), vec![RequestCode, VerifyCode]),
            (verified(), vec![Register]),
            (registered(), vec![]),
            (rejected, vec![]),
            (
                PortingState::AwaitingOnBehalfApproval {
                    resume: Box::new(PortingState::Draft),
                },
                vec![StartMigration],
            ),
            (
                PortingState::AwaitingTwoStepDisable {
                    resume: Box::new(verified()),
                },
                vec![Register],
            ),
        ];
        for (state, allowed) in table {
            assert_eq!(state.allowed_steps(), allowed, "{state:?}");
            for op in STEPS.into_iter().chain([ListPhoneNumbers]) {
                assert_eq!(
                    state.check(op).is_ok(),
                    allowed.contains(&op),
                    "{op} in {state:?}"
                );
            }
        }
    }

    #[test]
    fn illegal_steps_are_typed_errors() {
        let err = initiated()
            .next_state(&StepOutcome::CodeVerified, T)
            .unwrap_err();
        assert_eq!(err.operation(), VerifyCode);
        assert_eq!(err.state(), StateName::Initiated);
        assert_eq!(err.allowed(), &[RequestCode]);
        assert_eq!(
            err.to_string(),
            "cannot verify_code while the session is initiated; allowed now: request_code"
        );
        let err = registered()
            .next_state(&StepOutcome::Registered, T)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot register while the session is registered; allowed now: nothing"
        );
        assert!(PortingState::Draft
            .next_state(&StepOutcome::Registered, T)
            .is_err());
        assert!(PortingState::Draft.next_state(&sms(), T).is_err());
        assert!(verified()
            .next_state(
                &StepOutcome::MigrationStarted {
                    phone_number_id: id()
                },
                T
            )
            .is_err());
    }

    #[test]
    fn human_blocked_states_resume_the_refused_step() {
        let waiting = PortingState::Draft
            .next_state(
                &failed(StartMigration, ApiErrorKind::OnBehalfNotAccepted),
                T,
            )
            .unwrap();
        assert_eq!(waiting.name(), StateName::AwaitingOnBehalfApproval);
        assert_eq!(waiting.resume_point(), &PortingState::Draft);
        // Still not approved: stays waiting, not nested.
        let again = waiting
            .next_state(
                &failed(StartMigration, ApiErrorKind::OnBehalfNotAccepted),
                T,
            )
            .unwrap();
        assert_eq!(again, waiting);
        // Approved: the retried start succeeds.
        let s = waiting
            .next_state(
                &StepOutcome::MigrationStarted {
                    phone_number_id: id(),
                },
                T,
            )
            .unwrap();
        assert_eq!(s, initiated());

        let two_step = verified()
            .next_state(&failed(Register, ApiErrorKind::TwoStepEnabled), T)
            .unwrap();
        assert_eq!(two_step.name(), StateName::AwaitingTwoStepDisable);
        assert_eq!(two_step.phone_number_id(), Some(&id()));
        assert!(!two_step.allows(VerifyCode));
        assert_eq!(
            two_step.next_state(&StepOutcome::Registered, T).unwrap(),
            registered()
        );
    }

    #[test]
    fn rejections_are_terminal() {
        for (kind, reason) in [
            (
                ApiErrorKind::EligibleForDirectAdd,
                RejectionReason::EligibleForDirectAdd,
            ),
            (
                ApiErrorKind::BusinessMismatch,
                RejectionReason::BusinessMismatch,
            ),
        ] {
            let s = PortingState::Draft
                .next_state(&failed(StartMigration, kind), T)
                .unwrap();
            assert_eq!(s, PortingState::Rejected { reason });
            assert!(s.is_terminal() && s.allowed_steps().is_empty());
        }
    }

    #[test]
    fn other_failures_leave_the_state_alone() {
        for kind in [
            ApiErrorKind::MigrationFailed,
            ApiErrorKind::RateLimited,
            ApiErrorKind::VerificationCodeRejected,
        ] {
            assert_eq!(
                code_requested()
                    .next_state(&failed(VerifyCode, kind), T)
                    .unwrap(),
                code_requested()
            );
        }
        // A failure outcome for a step that is not allowed is still illegal.
        assert!(PortingState::Draft
            .next_state(&failed(Register, ApiErrorKind::Temporary), T)
            .is_err());
    }

    #[test]
    fn states_serialize_with_a_tag() {
        let s = PortingState::AwaitingTwoStepDisable {
            resume: Box::new(verified()),
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"state":"awaiting_two_step_disable","resume":{"state":"code_verified","phone_number_id":"106540352242922"}}"#
        );
        assert_eq!(serde_json::from_str::<PortingState>(&json).unwrap(), s);
    }
}
