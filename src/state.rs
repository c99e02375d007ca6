//! The porting state machine: pure data and pure functions, no I/O.
//!
//! ```text
//! Draft → Initiated → CodeRequested → CodeVerified → Registered (done)
//!   ↘ AwaitingOnBehalfApproval ↺  (customer approves, retry the step)
//!   ↘ AwaitingTwoStepDisable  ↺  (previous BSP disables 2SV, retry the step)
//!   ↘ Rejected                    (add directly; business mismatch; a read
//!                                  shows the number banned, deleted, moved)
//! ```
//!
//! [`PortingState::next_state`] maps a state and a [`StepOutcome`] to the
//! next state, or to an [`IllegalTransition`] when the step is not allowed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{MigrationIntentId, PhoneNumberId, WabaId};
use crate::kind::ApiErrorKind;
use crate::operation::Operation;
use crate::params::{CodeMethod, Language};
use crate::time::Timestamp;

/// Where a port stands.
///
/// Deserializing checks that the state is one the machine can reach (a
/// waiting state resumes a step its resume state allows, and never another
/// waiting or a final state): an impossible state is an
/// [`InvalidSession`] error, not a session that misbehaves later.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case", try_from = "RawState")]
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
    /// step that was refused (`step`) can be retried.
    AwaitingOnBehalfApproval {
        /// The state the port resumes from (never a waiting or final state).
        resume: Box<PortingState>,
        /// The step that was refused, to retry once the customer approved.
        step: Operation,
    },
    /// Two-step verification must be disabled by the previous BSP; then the
    /// step that was refused (`step`) can be retried.
    AwaitingTwoStepDisable {
        /// The state the port resumes from (never a waiting or final state).
        resume: Box<PortingState>,
        /// The step that was refused, to retry once two-step verification is
        /// off.
        step: Operation,
    },
    /// The port cannot continue as submitted.
    Rejected {
        /// Why.
        reason: RejectionReason,
    },
    /// Embedded Signup: the customer has not finished the BSP's Embedded
    /// Signup popup yet (or must finish it again: its authorization code
    /// was refused, or it did not share the WABA). Next: hand the popup's
    /// result to
    /// [`PortingClient::exchange_signup_code`](crate::PortingClient::exchange_signup_code).
    AwaitingSignup,
    /// Embedded Signup: the popup finished with the number's id; next:
    /// exchange its authorization code for the customer's business token.
    SignupFinished {
        /// The number's id in the destination WABA (from the popup's
        /// session info).
        phone_number_id: PhoneNumberId,
    },
    /// Embedded Signup: the customer's business token is held; next: check
    /// what was shared with the app and subscribe the app to the WABA.
    Authorized {
        /// The number's id in the destination WABA.
        phone_number_id: PhoneNumberId,
    },
    /// Solution migration: nothing sent yet; next: set the migration
    /// intent.
    IntentDraft,
    /// Solution migration: the intent is set; the customer accepts it in
    /// Business settings (Requests, Received). Read it to follow.
    AwaitingIntentAcceptance {
        /// The intent.
        intent_id: MigrationIntentId,
    },
    /// Solution migration: the customer accepted, and Meta created the
    /// destination WABA; next: subscribe the app to it.
    IntentAccepted {
        /// The intent.
        intent_id: MigrationIntentId,
        /// The WABA Meta created for the customer under the destination
        /// solution (the intent's `destination_waba`).
        destination_waba_id: WabaId,
    },
    /// Solution migration: the app is subscribed to the destination WABA;
    /// next: move the number into it (`migrate_phone_number`), which gives
    /// it a new id there, then register it (no verification code).
    DestinationReady {
        /// The destination WABA.
        destination_waba_id: WabaId,
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
    /// A read showed the number `BANNED` by WhatsApp: no port goes through
    /// until the ban is lifted (the number's owner asks for a review).
    NumberBanned,
    /// A read showed the number object `DELETED` from the destination WABA:
    /// a port of the number starts over with a new session.
    NumberDeleted,
    /// A read showed the number `MIGRATED` to another WABA: this session's
    /// object no longer carries it.
    NumberMigrated,
    /// A read showed the number `UNLINKED` from the destination WABA: this
    /// session's object no longer carries it.
    NumberUnlinked,
    /// Solution migration: the customer declined the migration intent (or
    /// it was cancelled or expired before they accepted it).
    IntentDeclined,
}

impl RejectionReason {
    /// The snake_case name, as serde writes it (`"business_mismatch"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EligibleForDirectAdd => "eligible_for_direct_add",
            Self::BusinessMismatch => "business_mismatch",
            Self::NumberBanned => "number_banned",
            Self::NumberDeleted => "number_deleted",
            Self::NumberMigrated => "number_migrated",
            Self::NumberUnlinked => "number_unlinked",
            Self::IntentDeclined => "intent_declined",
        }
    }
}

/// Why a read says the number object will never carry the port: its
/// `status` ([`NumberStatus`](crate::NumberStatus)) is one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NumberGone {
    /// `BANNED`: WhatsApp banned the number.
    Banned,
    /// `DELETED`: the number object was deleted.
    Deleted,
    /// `MIGRATED`: the number moved to another WABA.
    Migrated,
    /// `UNLINKED`: the number was unlinked from the WABA.
    Unlinked,
}

impl NumberGone {
    /// The rejection a session meets when a read shows this.
    pub fn rejection(self) -> RejectionReason {
        match self {
            Self::Banned => RejectionReason::NumberBanned,
            Self::Deleted => RejectionReason::NumberDeleted,
            Self::Migrated => RejectionReason::NumberMigrated,
            Self::Unlinked => RejectionReason::NumberUnlinked,
        }
    }
}

impl fmt::Display for RejectionReason {
    /// The snake_case name ([`as_str`](Self::as_str)).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
    AwaitingSignup,
    SignupFinished,
    Authorized,
    IntentDraft,
    AwaitingIntentAcceptance,
    IntentAccepted,
    DestinationReady,
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
            Self::AwaitingSignup => "awaiting_signup",
            Self::SignupFinished => "signup_finished",
            Self::Authorized => "authorized",
            Self::IntentDraft => "intent_draft",
            Self::AwaitingIntentAcceptance => "awaiting_intent_acceptance",
            Self::IntentAccepted => "intent_accepted",
            Self::DestinationReady => "destination_ready",
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
    /// `start` said the number is already in the destination (2388012, or
    /// 100 "already registered with WhatsApp Business") and the look-up
    /// found it: the port continues from where the listed number stands
    /// (registered, verified, or just added).
    ExistingNumberAdopted {
        /// The id found.
        phone_number_id: PhoneNumberId,
        /// What the list said of the number.
        #[serde(default)]
        observed: Observed,
    },
    /// `request_code` succeeded (or, `unconfirmed`, its answer was lost and
    /// the code may have been sent).
    CodeRequested {
        /// How the code is delivered.
        method: CodeMethod,
        /// The language of the message.
        language: Language,
        /// The request's answer was lost: a code may or may not be on its
        /// way. The client does not re-send by itself (that would text the
        /// customer again); ask the customer, and request another if none
        /// arrived.
        #[serde(default, skip_serializing_if = "is_false")]
        unconfirmed: bool,
        /// When the request was sent, if earlier than when this outcome was
        /// recorded (a lost answer settled later): the state's `at`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sent_at: Option<Timestamp>,
    },
    /// `verify_code` succeeded.
    CodeVerified,
    /// `register` succeeded.
    Registered,
    /// A step's outcome was unknown (timeout, lost answer, crash), or
    /// `register` was refused as "already registered"; reading the number
    /// showed where the server stands.
    Reconciled {
        /// The step whose outcome was unknown.
        operation: Operation,
        /// What the read showed.
        observed: Observed,
    },
    /// The step failed with a classified API error.
    Failed {
        /// The step that failed.
        operation: Operation,
        /// The case. A case this version does not know (a session saved by
        /// a newer version) loads as [`ApiErrorKind::Unknown`]; `code` keeps
        /// the raw Graph code.
        kind: ApiErrorKind,
        /// The Graph `code`, to quote to support.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i64>,
        /// The Graph `error_subcode`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_subcode: Option<i64>,
        /// The `fbtrace_id` support asks for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fbtrace_id: Option<String>,
    },
    /// A read of the number ([`PortingClient::refresh`](crate::PortingClient::refresh))
    /// showed where it stands: the session moves forward to it (never
    /// backwards) and keeps what it showed for
    /// [`PortingSession::next_action`](crate::PortingSession::next_action)
    /// (an expired code, a registered number not `CONNECTED` yet).
    NumberRead {
        /// What the read showed.
        observed: Observed,
    },
    /// Embedded Signup: the customer finished the popup, which named the
    /// number's id (its authorization code is exchanged next).
    SignupFinished {
        /// The number's id, from the popup's session info.
        phone_number_id: PhoneNumberId,
    },
    /// Embedded Signup: the authorization code was exchanged for the
    /// customer's business token (kept by the
    /// [`TokenProvider`](crate::TokenProvider), never in the session).
    SignupCodeExchanged,
    /// The app is subscribed to the WABA the number moves into.
    AppSubscribed {
        /// Embedded Signup: the number's `code_verification_status` read
        /// `VERIFIED` (the popup verified it), so no code is needed before
        /// `register`. Ignored for a solution migration (which never
        /// re-verifies).
        #[serde(default, skip_serializing_if = "is_false")]
        verified: bool,
    },
    /// Solution migration: the intent was set.
    MigrationIntentSet {
        /// The intent's id.
        intent_id: MigrationIntentId,
    },
    /// Solution migration: a read of the intent showed its status.
    MigrationIntentRead {
        /// What the read showed.
        status: IntentProgress,
    },
}

/// Where a solution migration intent stands for the port, from its
/// `status` (`INITIATED`, `ACCEPTED`, `COMPLETED`, `REJECTED`: Meta's
/// *Migration Intent Details API*).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum IntentProgress {
    /// Not decided yet: the customer has not accepted it.
    Pending,
    /// Accepted (or already completed): the destination finishes the port
    /// in the WABA Meta created.
    Accepted {
        /// The intent's `destination_waba.id`.
        destination_waba_id: WabaId,
    },
    /// Declined, cancelled or expired: this intent will never carry the
    /// port.
    Declined,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// What a read of the number showed: the facts that tell how far a port got
/// on Meta's side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Observed {
    /// `status: CONNECTED`: the number is registered and can send.
    pub registered: bool,
    /// `code_verification_status: VERIFIED`: the code was accepted.
    pub code_verified: bool,
    /// `code_verification_status: EXPIRED`: the last code (or verification)
    /// lapsed; a new code must be requested and verified.
    #[serde(default, skip_serializing_if = "is_false")]
    pub code_expired: bool,
    /// Registered but not `CONNECTED` yet: `platform_type` says the number
    /// is on a platform (`CLOUD_API`, `ON_PREMISE`) while `status` is still
    /// `PENDING`. A register went through; Meta is connecting the number.
    #[serde(default, skip_serializing_if = "is_false")]
    pub connecting: bool,
    /// The number object will never carry the port: its `status` is
    /// `BANNED`, `DELETED`, `MIGRATED` or `UNLINKED`. A session that has
    /// not registered yet moves to
    /// [`Rejected`](PortingState::Rejected) with the matching
    /// [`RejectionReason`]; a registered one stays registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gone: Option<NumberGone>,
}

impl Observed {
    /// From the two facts that move a port (the code not expired).
    pub fn new(registered: bool, code_verified: bool) -> Self {
        Self {
            registered,
            code_verified,
            code_expired: false,
            connecting: false,
            gone: None,
        }
    }

    /// The same facts, with the number object gone (see
    /// [`gone`](Self::gone)) or not.
    #[must_use]
    pub fn with_gone(mut self, gone: Option<NumberGone>) -> Self {
        self.gone = gone;
        self
    }

    /// The same facts, with the number registered but not connected yet
    /// ([`connecting`](Self::connecting)) or not.
    #[must_use]
    pub fn with_connecting(mut self, connecting: bool) -> Self {
        self.connecting = connecting;
        self
    }

    /// Whether a register went through: the number is `CONNECTED`, or
    /// [`connecting`](Self::connecting).
    pub fn is_registered(&self) -> bool {
        self.registered || self.connecting
    }

    /// The same facts, with `code_verification_status: EXPIRED` or not.
    #[must_use]
    pub fn with_code_expired(mut self, expired: bool) -> Self {
        self.code_expired = expired;
        self
    }
}

impl StepOutcome {
    /// A failure of `operation` classified as `kind`, without Graph details.
    pub fn failed(operation: Operation, kind: ApiErrorKind) -> Self {
        Self::Failed {
            operation,
            kind,
            code: None,
            error_subcode: None,
            fbtrace_id: None,
        }
    }

    /// The step this outcome answers.
    pub fn operation(&self) -> Operation {
        match self {
            Self::MigrationStarted { .. } | Self::ExistingNumberAdopted { .. } => {
                Operation::StartMigration
            }
            Self::CodeRequested { .. } => Operation::RequestCode,
            Self::CodeVerified => Operation::VerifyCode,
            Self::Registered => Operation::Register,
            Self::Reconciled { operation, .. } | Self::Failed { operation, .. } => *operation,
            Self::NumberRead { .. } => Operation::ReadPhoneNumber,
            Self::SignupFinished { .. } | Self::SignupCodeExchanged => {
                Operation::ExchangeSignupCode
            }
            Self::AppSubscribed { .. } => Operation::SubscribeApp,
            Self::MigrationIntentSet { .. } => Operation::SetMigrationIntent,
            Self::MigrationIntentRead { .. } => Operation::ReadMigrationIntent,
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

const STEPS: [Operation; 8] = [
    Operation::SetMigrationIntent,
    Operation::ReadMigrationIntent,
    Operation::ExchangeSignupCode,
    Operation::SubscribeApp,
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
            Self::AwaitingSignup => StateName::AwaitingSignup,
            Self::SignupFinished { .. } => StateName::SignupFinished,
            Self::Authorized { .. } => StateName::Authorized,
            Self::IntentDraft => StateName::IntentDraft,
            Self::AwaitingIntentAcceptance { .. } => StateName::AwaitingIntentAcceptance,
            Self::IntentAccepted { .. } => StateName::IntentAccepted,
            Self::DestinationReady { .. } => StateName::DestinationReady,
        }
    }

    /// The number's id in the destination WABA, once known.
    pub fn phone_number_id(&self) -> Option<&PhoneNumberId> {
        match self {
            Self::Draft
            | Self::Rejected { .. }
            | Self::AwaitingSignup
            | Self::IntentDraft
            | Self::AwaitingIntentAcceptance { .. }
            | Self::IntentAccepted { .. }
            | Self::DestinationReady { .. } => None,
            Self::SignupFinished { phone_number_id } | Self::Authorized { phone_number_id } => {
                Some(phone_number_id)
            }
            Self::Initiated { phone_number_id }
            | Self::CodeRequested {
                phone_number_id, ..
            }
            | Self::CodeVerified { phone_number_id }
            | Self::Registered { phone_number_id } => Some(phone_number_id),
            Self::AwaitingOnBehalfApproval { resume, .. }
            | Self::AwaitingTwoStepDisable { resume, .. } => resume.phone_number_id(),
        }
    }

    /// Whether no step can move this state any more.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Registered { .. } | Self::Rejected { .. })
    }

    /// Whether this state waits for a person (customer or previous BSP).
    pub fn is_waiting(&self) -> bool {
        matches!(
            self,
            Self::AwaitingOnBehalfApproval { .. }
                | Self::AwaitingTwoStepDisable { .. }
                | Self::AwaitingSignup
                | Self::AwaitingIntentAcceptance { .. }
        )
    }

    /// The migration intent of a solution migration, once set.
    pub fn migration_intent_id(&self) -> Option<&MigrationIntentId> {
        match self {
            Self::AwaitingIntentAcceptance { intent_id }
            | Self::IntentAccepted { intent_id, .. } => Some(intent_id),
            _ => None,
        }
    }

    /// The WABA Meta created for a solution migration, while the state
    /// needs it (until the number is moved into it).
    pub fn destination_waba_id(&self) -> Option<&WabaId> {
        match self.resume_point() {
            Self::IntentAccepted {
                destination_waba_id,
                ..
            }
            | Self::DestinationReady {
                destination_waba_id,
            } => Some(destination_waba_id),
            _ => None,
        }
    }

    /// The state a waiting state resumes from; itself otherwise.
    pub fn resume_point(&self) -> &PortingState {
        match self {
            Self::AwaitingOnBehalfApproval { resume, .. }
            | Self::AwaitingTwoStepDisable { resume, .. } => resume.resume_point(),
            other => other,
        }
    }

    /// The step a waiting state retries once the person acted; `None` for
    /// other states.
    pub fn refused_step(&self) -> Option<Operation> {
        match self {
            Self::AwaitingOnBehalfApproval { step, .. }
            | Self::AwaitingTwoStepDisable { step, .. } => Some(*step),
            _ => None,
        }
    }

    /// Whether `operation` is a legal step now. A waiting state allows what
    /// its resume state allows (the person may have acted already).
    ///
    /// After a code was verified, `request_code` stays legal: a register
    /// that meets 133006 (or a verification that expired while two-step
    /// verification was being disabled) needs a new code.
    pub fn allows(&self, operation: Operation) -> bool {
        use Operation::*;
        matches!(
            (self.resume_point(), operation),
            (Self::Draft, StartMigration)
                | (Self::Initiated { .. }, RequestCode)
                | (Self::CodeRequested { .. }, RequestCode | VerifyCode)
                | (Self::CodeVerified { .. }, Register | RequestCode)
                | (
                    Self::AwaitingSignup | Self::SignupFinished { .. },
                    ExchangeSignupCode
                )
                | (
                    Self::Authorized { .. } | Self::IntentAccepted { .. },
                    SubscribeApp
                )
                | (Self::DestinationReady { .. }, StartMigration)
                | (Self::IntentDraft, SetMigrationIntent)
                | (Self::AwaitingIntentAcceptance { .. }, ReadMigrationIntent)
        )
    }

    /// The legal steps now, in flow order.
    pub fn allowed_steps(&self) -> Vec<Operation> {
        STEPS.into_iter().filter(|op| self.allows(*op)).collect()
    }

    /// Checks that `operation` is legal now.
    ///
    /// # Errors
    /// An [`IllegalTransition`] naming the steps the state allows.
    pub fn check(&self, operation: Operation) -> Result<(), IllegalTransition> {
        if self.allows(operation) {
            Ok(())
        } else {
            Err(self.refuse(operation))
        }
    }

    /// The state after `outcome` happened at `at`. Pure: the same input gives
    /// the same output. A failure that changes nothing (a timeout, a rate
    /// limit…) returns the current state.
    ///
    /// # Errors
    /// An [`IllegalTransition`] when the outcome answers a step this state
    /// does not allow (or a read of a session without a number id).
    pub fn next_state(
        &self,
        outcome: &StepOutcome,
        at: Timestamp,
    ) -> Result<Self, IllegalTransition> {
        if let StepOutcome::NumberRead { observed } = outcome {
            return self.read(*observed);
        }
        let operation = outcome.operation();
        self.check(operation)?;
        let base = self.resume_point();
        let id = || {
            base.phone_number_id()
                .cloned()
                .ok_or_else(|| self.refuse(operation))
        };
        let next = match outcome {
            // A solution migration moves a verified number: no code, straight
            // to register.
            StepOutcome::MigrationStarted { phone_number_id } => match base {
                Self::DestinationReady { .. } => Self::CodeVerified {
                    phone_number_id: phone_number_id.clone(),
                },
                _ => Self::Initiated {
                    phone_number_id: phone_number_id.clone(),
                },
            },
            StepOutcome::ExistingNumberAdopted {
                phone_number_id,
                observed,
            } => match base {
                Self::DestinationReady { .. } => Self::CodeVerified {
                    phone_number_id: phone_number_id.clone(),
                },
                _ => Self::Initiated {
                    phone_number_id: phone_number_id.clone(),
                },
            }
            .advanced_to(*observed),
            StepOutcome::CodeRequested {
                method,
                language,
                sent_at,
                ..
            } => Self::CodeRequested {
                phone_number_id: id()?,
                method: *method,
                language: language.clone(),
                at: sent_at.unwrap_or(at),
            },
            StepOutcome::CodeVerified => Self::CodeVerified {
                phone_number_id: id()?,
            },
            StepOutcome::Registered => Self::Registered {
                phone_number_id: id()?,
            },
            StepOutcome::Reconciled { observed, .. } => return Ok(self.after_read(*observed)),
            StepOutcome::Failed { kind, .. } => return self.failed(operation, *kind, id),
            StepOutcome::NumberRead { observed } => return self.read(*observed),
            StepOutcome::SignupFinished { phone_number_id } => Self::SignupFinished {
                phone_number_id: phone_number_id.clone(),
            },
            StepOutcome::SignupCodeExchanged => match base {
                Self::SignupFinished { phone_number_id } => Self::Authorized {
                    phone_number_id: phone_number_id.clone(),
                },
                _ => return Err(self.refuse(operation)),
            },
            StepOutcome::AppSubscribed { verified } => match base {
                Self::Authorized { phone_number_id } if *verified => Self::CodeVerified {
                    phone_number_id: phone_number_id.clone(),
                },
                Self::Authorized { phone_number_id } => Self::Initiated {
                    phone_number_id: phone_number_id.clone(),
                },
                Self::IntentAccepted {
                    destination_waba_id,
                    ..
                } => Self::DestinationReady {
                    destination_waba_id: destination_waba_id.clone(),
                },
                _ => return Err(self.refuse(operation)),
            },
            StepOutcome::MigrationIntentSet { intent_id } => Self::AwaitingIntentAcceptance {
                intent_id: intent_id.clone(),
            },
            StepOutcome::MigrationIntentRead { status } => {
                let Self::AwaitingIntentAcceptance { intent_id } = base else {
                    return Err(self.refuse(operation));
                };
                match status {
                    IntentProgress::Pending => self.clone(),
                    IntentProgress::Accepted {
                        destination_waba_id,
                    } => Self::IntentAccepted {
                        intent_id: intent_id.clone(),
                        destination_waba_id: destination_waba_id.clone(),
                    },
                    IntentProgress::Declined => Self::Rejected {
                        reason: RejectionReason::IntentDeclined,
                    },
                }
            }
        };
        Ok(self.keep_waiting(next, operation))
    }

    /// The state after a read of the number showed `observed`: forward to
    /// it, never backwards; a waiting state keeps waiting unless the number
    /// is registered. Legal once the session has a number id and is not
    /// rejected (a registered session may be read: it may not be
    /// `CONNECTED` yet).
    fn read(&self, observed: Observed) -> Result<Self, IllegalTransition> {
        if self.phone_number_id().is_none() {
            return Err(self.refuse(Operation::ReadPhoneNumber));
        }
        Ok(self.after_read(observed))
    }

    /// Where a read that showed `observed` leaves this state: the resume
    /// state moves to it; a wait ends only when the number got past what
    /// the refused step was for (a code verified for a refused code step,
    /// the number registered for a refused register) — the person acted,
    /// or it did not matter. Anything less proves nobody acted: the wait
    /// goes on around the moved state.
    fn after_read(&self, observed: Observed) -> Self {
        let base = self.resume_point();
        let moved = base.clone().advanced_to(observed);
        if &moved == base {
            return self.clone();
        }
        let passed = match self.refused_step() {
            Some(Operation::RequestCode | Operation::VerifyCode) => {
                observed.code_verified || observed.is_registered()
            }
            Some(_) => observed.is_registered(),
            None => true,
        };
        match self {
            _ if passed || moved.is_terminal() => moved,
            Self::AwaitingOnBehalfApproval { step, .. } => Self::AwaitingOnBehalfApproval {
                resume: Box::new(moved),
                step: *step,
            },
            Self::AwaitingTwoStepDisable { step, .. } => Self::AwaitingTwoStepDisable {
                resume: Box::new(moved),
                step: *step,
            },
            _ => moved,
        }
    }

    /// A waiting state stays waiting through other steps: requesting and
    /// verifying a new code during a two-step wait does not mean two-step
    /// verification was disabled. Only the refused step's own success (or a
    /// finished port) ends the wait.
    fn keep_waiting(&self, next: Self, operation: Operation) -> Self {
        if next.is_terminal() || next.is_waiting() {
            return next;
        }
        match self {
            Self::AwaitingOnBehalfApproval { step, .. } if *step != operation => {
                Self::AwaitingOnBehalfApproval {
                    resume: Box::new(next),
                    step: *step,
                }
            }
            Self::AwaitingTwoStepDisable { step, .. } if *step != operation => {
                Self::AwaitingTwoStepDisable {
                    resume: Box::new(next),
                    step: *step,
                }
            }
            _ => next,
        }
    }

    /// The state after `operation` failed with `kind`.
    fn failed(
        &self,
        operation: Operation,
        kind: ApiErrorKind,
        id: impl Fn() -> Result<PhoneNumberId, IllegalTransition>,
    ) -> Result<Self, IllegalTransition> {
        let base = self.resume_point();
        let next = match kind {
            // Whatever refused it, the popup's code is good for 30 seconds
            // at most: the session waits for a popup's result again (the
            // handler that holds the code may send it again at once).
            _ if operation == Operation::ExchangeSignupCode => Self::AwaitingSignup,
            ApiErrorKind::OnBehalfNotAccepted => Self::AwaitingOnBehalfApproval {
                resume: Box::new(base.clone()),
                step: operation,
            },
            ApiErrorKind::TwoStepEnabled => Self::AwaitingTwoStepDisable {
                resume: Box::new(base.clone()),
                step: operation,
            },
            ApiErrorKind::EligibleForDirectAdd => Self::Rejected {
                reason: RejectionReason::EligibleForDirectAdd,
            },
            ApiErrorKind::BusinessMismatch => Self::Rejected {
                reason: RejectionReason::BusinessMismatch,
            },
            // The popup's code cannot be exchanged (used, expired), or the
            // popup did not share the WABA and number: the customer finishes
            // the popup again.
            ApiErrorKind::SignupCodeRefused | ApiErrorKind::AssetsNotShared
                if matches!(
                    operation,
                    Operation::ExchangeSignupCode | Operation::SubscribeApp
                ) =>
            {
                Self::AwaitingSignup
            }
            // Meta says the number is not verified: whatever the session
            // believed, the next step is a new code.
            ApiErrorKind::NumberNotVerified if operation == Operation::Register => {
                Self::Initiated {
                    phone_number_id: id()?,
                }
            }
            _ => self.clone(),
        };
        Ok(next)
    }

    /// The step a waiting state leads to next: the refused step when its
    /// resume state allows it, else the step that moves the resume state
    /// toward it (a new code to verify before a refused register).
    pub fn step_toward_refused(&self) -> Option<Operation> {
        let step = self.refused_step()?;
        let resume = self.resume_point();
        if resume.allows(step) {
            return Some(step);
        }
        resume.allowed_steps().last().copied().or(Some(step))
    }

    /// This (non-waiting) state moved to what the server showed: registered
    /// wins, then a number object gone (rejected, unless already
    /// registered), then verified; backwards only when Meta says a
    /// verification expired (`CodeVerified` back to `Initiated`: a new code
    /// is needed).
    fn advanced_to(self, observed: Observed) -> Self {
        let Some(phone_number_id) = self.phone_number_id().cloned() else {
            return self;
        };
        if observed.is_registered() {
            return Self::Registered { phone_number_id };
        }
        // The object will never carry the port: trying again would go on
        // forever.
        if let Some(gone) = observed
            .gone
            .filter(|_| !matches!(self, Self::Registered { .. }))
        {
            return Self::Rejected {
                reason: gone.rejection(),
            };
        }
        match self {
            Self::Initiated { .. } | Self::CodeRequested { .. } if observed.code_verified => {
                Self::CodeVerified { phone_number_id }
            }
            // Meta says the verification lapsed: as after 133006, the next
            // step is a new code (a register now would spend one of its 10
            // calls on a certain refusal).
            Self::CodeVerified { .. } if observed.code_expired && !observed.code_verified => {
                Self::Initiated { phone_number_id }
            }
            other => other,
        }
    }

    pub(crate) fn refuse(&self, operation: Operation) -> IllegalTransition {
        IllegalTransition {
            operation,
            state: self.name(),
            allowed: self.allowed_steps(),
        }
    }
}

/// A saved session (or state) describes something the state machine cannot
/// reach. Returned when loading one; the message names what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidSession {
    /// A waiting state resumes another waiting state or a final one.
    #[error("a {state} state cannot resume a {resume} state")]
    ImpossibleResume {
        /// The waiting state.
        state: StateName,
        /// What it claims to resume.
        resume: StateName,
    },
    /// A waiting state would retry a step its resume state does not allow.
    #[error("a {state} state resuming {resume} cannot retry {step}")]
    ImpossibleStep {
        /// The waiting state.
        state: StateName,
        /// Its resume state.
        resume: StateName,
        /// The step it claims was refused.
        step: Operation,
    },
    /// A destination WABA the route and state cannot have: only a
    /// solution migration has one, once the customer accepted, and it is
    /// the one its state names.
    #[error("a {route} session in {state} cannot have that destination WABA")]
    ImpossibleDestination {
        /// The state.
        state: StateName,
        /// The session's route.
        route: &'static str,
    },
    /// A state of another route: a session of one route never reaches the
    /// states before the number is in the WABA of another.
    #[error("a session of the {route} route cannot be {state}")]
    WrongRoute {
        /// The state.
        state: StateName,
        /// The session's route.
        route: &'static str,
    },
    /// The step marked in flight is not one the state allows, has no side
    /// effect to reconcile, or (a code request) lacks its method and
    /// language.
    #[error("step {step} cannot be in flight while the session is {state}")]
    ImpossibleInFlight {
        /// The step.
        step: Operation,
        /// The state.
        state: StateName,
    },
}

/// The serialized form of [`PortingState`], checked before use.
#[derive(Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum RawState {
    Draft,
    Initiated {
        phone_number_id: PhoneNumberId,
    },
    CodeRequested {
        phone_number_id: PhoneNumberId,
        method: CodeMethod,
        language: Language,
        at: Timestamp,
    },
    CodeVerified {
        phone_number_id: PhoneNumberId,
    },
    Registered {
        phone_number_id: PhoneNumberId,
    },
    AwaitingOnBehalfApproval {
        resume: Box<PortingState>,
        step: Operation,
    },
    AwaitingTwoStepDisable {
        resume: Box<PortingState>,
        step: Operation,
    },
    Rejected {
        reason: RejectionReason,
    },
    AwaitingSignup,
    SignupFinished {
        phone_number_id: PhoneNumberId,
    },
    Authorized {
        phone_number_id: PhoneNumberId,
    },
    IntentDraft,
    AwaitingIntentAcceptance {
        intent_id: MigrationIntentId,
    },
    IntentAccepted {
        intent_id: MigrationIntentId,
        destination_waba_id: WabaId,
    },
    DestinationReady {
        destination_waba_id: WabaId,
    },
}

impl TryFrom<RawState> for PortingState {
    type Error = InvalidSession;

    fn try_from(raw: RawState) -> Result<Self, InvalidSession> {
        let state = match raw {
            RawState::Draft => Self::Draft,
            RawState::Initiated { phone_number_id } => Self::Initiated { phone_number_id },
            RawState::CodeRequested {
                phone_number_id,
                method,
                language,
                at,
            } => Self::CodeRequested {
                phone_number_id,
                method,
                language,
                at,
            },
            RawState::CodeVerified { phone_number_id } => Self::CodeVerified { phone_number_id },
            RawState::Registered { phone_number_id } => Self::Registered { phone_number_id },
            RawState::AwaitingOnBehalfApproval { resume, step } => {
                Self::AwaitingOnBehalfApproval { resume, step }
            }
            RawState::AwaitingTwoStepDisable { resume, step } => {
                Self::AwaitingTwoStepDisable { resume, step }
            }
            RawState::Rejected { reason } => Self::Rejected { reason },
            RawState::AwaitingSignup => Self::AwaitingSignup,
            RawState::SignupFinished { phone_number_id } => {
                Self::SignupFinished { phone_number_id }
            }
            RawState::Authorized { phone_number_id } => Self::Authorized { phone_number_id },
            RawState::IntentDraft => Self::IntentDraft,
            RawState::AwaitingIntentAcceptance { intent_id } => {
                Self::AwaitingIntentAcceptance { intent_id }
            }
            RawState::IntentAccepted {
                intent_id,
                destination_waba_id,
            } => Self::IntentAccepted {
                intent_id,
                destination_waba_id,
            },
            RawState::DestinationReady {
                destination_waba_id,
            } => Self::DestinationReady {
                destination_waba_id,
            },
        };
        state.validate()?;
        Ok(state)
    }
}

impl PortingState {
    /// Checks that the state is one the machine can reach.
    pub(crate) fn validate(&self) -> Result<(), InvalidSession> {
        let (Self::AwaitingOnBehalfApproval { resume, step }
        | Self::AwaitingTwoStepDisable { resume, step }) = self
        else {
            return Ok(());
        };
        if resume.is_waiting() || resume.is_terminal() {
            return Err(InvalidSession::ImpossibleResume {
                state: self.name(),
                resume: resume.name(),
            });
        }
        // The refused step is allowed by the resume state, or lies ahead of
        // it the ways the machine gets there: a register refused, then the
        // verification found expired (Initiated) and a new code requested
        // while waiting (CodeRequested).
        let ahead = *step == Operation::Register
            && matches!(
                **resume,
                Self::Initiated { .. } | Self::CodeRequested { .. }
            );
        if !resume.allows(*step) && !ahead {
            return Err(InvalidSession::ImpossibleStep {
                state: self.name(),
                resume: resume.name(),
                step: *step,
            });
        }
        Ok(())
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
        StepOutcome::failed(operation, kind)
    }
    fn sms() -> StepOutcome {
        StepOutcome::CodeRequested {
            method: CodeMethod::Sms,
            language: Language::default(),
            unconfirmed: false,
            sent_at: None,
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
                    observed: Observed::default(),
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
            language: Language::new("de_DE").unwrap(),
            unconfirmed: false,
            sent_at: None,
        };
        let s = code_requested().next_state(&voice, later).unwrap();
        assert_eq!(
            s,
            PortingState::CodeRequested {
                phone_number_id: id(),
                method: CodeMethod::Voice,
                language: Language::new("de_DE").unwrap(),
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
            (verified(), vec![RequestCode, Register]),
            (registered(), vec![]),
            (rejected, vec![]),
            (
                PortingState::AwaitingOnBehalfApproval {
                    resume: Box::new(PortingState::Draft),
                    step: StartMigration,
                },
                vec![StartMigration],
            ),
            (
                PortingState::AwaitingTwoStepDisable {
                    resume: Box::new(verified()),
                    step: Register,
                },
                vec![RequestCode, Register],
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
            step: Register,
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"state":"awaiting_two_step_disable","resume":{"state":"code_verified","phone_number_id":"106540352242922"},"step":"register"}"#
        );
        assert_eq!(serde_json::from_str::<PortingState>(&json).unwrap(), s);
    }

    #[test]
    fn a_two_step_wait_survives_a_new_code_and_ends_with_the_refused_step() {
        let waiting = verified()
            .next_state(&failed(Register, ApiErrorKind::TwoStepEnabled), T)
            .unwrap();
        let with_code = waiting.next_state(&sms(), T).unwrap();
        assert_eq!(with_code.name(), StateName::AwaitingTwoStepDisable);
        assert_eq!(with_code.resume_point(), &code_requested());
        assert_eq!(with_code.refused_step(), Some(Register));
        assert_eq!(with_code.step_toward_refused(), Some(VerifyCode));
        let json = serde_json::to_string(&with_code).unwrap();
        assert_eq!(
            serde_json::from_str::<PortingState>(&json).unwrap(),
            with_code,
            "a reachable waiting state loads"
        );
        let verified_again = with_code.next_state(&StepOutcome::CodeVerified, T).unwrap();
        assert_eq!(verified_again.name(), StateName::AwaitingTwoStepDisable);
        assert_eq!(verified_again.step_toward_refused(), Some(Register));
        assert_eq!(
            verified_again
                .next_state(&StepOutcome::Registered, T)
                .unwrap(),
            registered()
        );
    }

    #[test]
    fn rejection_reasons_print_their_serde_names() {
        for reason in [
            RejectionReason::EligibleForDirectAdd,
            RejectionReason::BusinessMismatch,
            RejectionReason::NumberBanned,
            RejectionReason::NumberDeleted,
            RejectionReason::NumberMigrated,
            RejectionReason::NumberUnlinked,
        ] {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.as_str());
            assert_eq!(reason.to_string(), reason.as_str());
        }
    }

    fn read(registered: bool, verified: bool, expired: bool) -> StepOutcome {
        StepOutcome::NumberRead {
            observed: Observed::new(registered, verified).with_code_expired(expired),
        }
    }

    #[test]
    fn a_read_moves_forward_and_back_only_for_an_expired_verification() {
        assert!(PortingState::Draft
            .next_state(&read(true, true, false), T)
            .is_err());
        let rejected = PortingState::Rejected {
            reason: RejectionReason::EligibleForDirectAdd,
        };
        assert!(rejected.next_state(&read(false, false, false), T).is_err());
        // Registered stays registered whatever the read says.
        assert_eq!(
            registered()
                .next_state(&read(false, false, true), T)
                .unwrap(),
            registered()
        );
        // Meta says the verification lapsed: a new code is needed.
        assert_eq!(
            verified().next_state(&read(false, false, true), T).unwrap(),
            initiated()
        );
        assert_eq!(
            verified()
                .next_state(&read(false, false, false), T)
                .unwrap(),
            verified()
        );
        assert_eq!(
            code_requested()
                .next_state(&read(false, false, true), T)
                .unwrap(),
            code_requested()
        );
        assert_eq!(
            code_requested()
                .next_state(&read(false, true, false), T)
                .unwrap(),
            verified()
        );
        assert_eq!(
            initiated().next_state(&read(true, true, false), T).unwrap(),
            registered()
        );
    }

    #[test]
    fn a_read_keeps_a_waiting_state_waiting_unless_registered() {
        let waiting = PortingState::AwaitingTwoStepDisable {
            resume: Box::new(code_requested()),
            step: Register,
        };
        assert_eq!(
            waiting.next_state(&read(false, true, false), T).unwrap(),
            PortingState::AwaitingTwoStepDisable {
                resume: Box::new(verified()),
                step: Register,
            }
        );
        assert_eq!(
            waiting.next_state(&read(false, false, true), T).unwrap(),
            waiting
        );
        assert_eq!(
            waiting.next_state(&read(true, true, false), T).unwrap(),
            registered()
        );
    }

    #[test]
    fn a_read_showing_the_number_gone_rejects_unless_registered() {
        let gone = |gone| StepOutcome::NumberRead {
            observed: Observed::new(false, true).with_gone(Some(gone)),
        };
        for state in [initiated(), code_requested(), verified()] {
            assert_eq!(
                state.next_state(&gone(NumberGone::Banned), T).unwrap(),
                PortingState::Rejected {
                    reason: RejectionReason::NumberBanned
                }
            );
        }
        let waiting = PortingState::AwaitingTwoStepDisable {
            resume: Box::new(verified()),
            step: Register,
        };
        assert_eq!(
            waiting.next_state(&gone(NumberGone::Deleted), T).unwrap(),
            PortingState::Rejected {
                reason: RejectionReason::NumberDeleted
            }
        );
        assert_eq!(
            registered()
                .next_state(&gone(NumberGone::Migrated), T)
                .unwrap(),
            registered()
        );
        let reconciled = StepOutcome::Reconciled {
            operation: Register,
            observed: Observed::new(false, true).with_gone(Some(NumberGone::Unlinked)),
        };
        assert_eq!(
            verified().next_state(&reconciled, T).unwrap(),
            PortingState::Rejected {
                reason: RejectionReason::NumberUnlinked
            }
        );
        // Its JSON form: absent unless gone.
        let json =
            serde_json::to_value(Observed::new(false, false).with_gone(Some(NumberGone::Banned)))
                .unwrap();
        assert_eq!(json["gone"], "banned");
        let back: Observed = serde_json::from_value(json).unwrap();
        assert_eq!(back.gone, Some(NumberGone::Banned));
    }

    #[test]
    fn observed_keeps_its_old_json_form_unless_expired() {
        let plain = serde_json::to_value(Observed::new(false, true)).unwrap();
        assert_eq!(
            plain,
            serde_json::json!({"registered": false, "code_verified": true})
        );
        let expired: Observed = serde_json::from_str(
            r#"{"registered":false,"code_verified":false,"code_expired":true}"#,
        )
        .unwrap();
        assert!(expired.code_expired);
    }

    fn waba(id: &str) -> WabaId {
        WabaId::new(id).unwrap()
    }
    fn intent() -> MigrationIntentId {
        MigrationIntentId::new("778899").unwrap()
    }

    #[test]
    fn embedded_signup_path_verifies_only_when_the_popup_did_not() {
        let s = PortingState::AwaitingSignup;
        assert!(s.is_waiting());
        assert!(s.allows(ExchangeSignupCode));
        assert!(!s.allows(StartMigration));
        let s = s
            .next_state(
                &StepOutcome::SignupFinished {
                    phone_number_id: id(),
                },
                T,
            )
            .unwrap();
        assert_eq!(
            s,
            PortingState::SignupFinished {
                phone_number_id: id()
            }
        );
        assert_eq!(s.phone_number_id(), Some(&id()));
        let s = s.next_state(&StepOutcome::SignupCodeExchanged, T).unwrap();
        assert_eq!(
            s,
            PortingState::Authorized {
                phone_number_id: id()
            }
        );
        assert!(s.allows(SubscribeApp));
        // Left unverified by the popup: a code first.
        let unverified = s
            .next_state(&StepOutcome::AppSubscribed { verified: false }, T)
            .unwrap();
        assert_eq!(unverified, initiated());
        // Verified in the popup: straight to register.
        let verified_state = s
            .next_state(&StepOutcome::AppSubscribed { verified: true }, T)
            .unwrap();
        assert_eq!(verified_state, verified());
        // A refused code or unshared assets: the customer finishes the popup
        // again.
        for kind in [
            ApiErrorKind::SignupCodeRefused,
            ApiErrorKind::AssetsNotShared,
        ] {
            let again = PortingState::SignupFinished {
                phone_number_id: id(),
            }
            .next_state(&failed(ExchangeSignupCode, kind), T)
            .unwrap();
            assert_eq!(again, PortingState::AwaitingSignup, "{kind:?}");
        }
        let again = s
            .next_state(&failed(SubscribeApp, ApiErrorKind::AssetsNotShared), T)
            .unwrap();
        assert_eq!(again, PortingState::AwaitingSignup);
        // Any other refusal of the exchange: the code lives 30 s, so the
        // session waits for a popup's result again.
        let throttled = PortingState::SignupFinished {
            phone_number_id: id(),
        }
        .next_state(&failed(ExchangeSignupCode, ApiErrorKind::RateLimited), T)
        .unwrap();
        assert_eq!(throttled, PortingState::AwaitingSignup);
        // A code exchange answered before the popup finished is refused.
        assert!(PortingState::AwaitingSignup
            .next_state(&StepOutcome::SignupCodeExchanged, T)
            .is_err());
    }

    #[test]
    fn solution_migration_path_skips_the_code_and_moves_into_the_new_waba() {
        let s = PortingState::IntentDraft;
        assert!(s.allows(SetMigrationIntent));
        assert!(!s.allows(RequestCode));
        let s = s
            .next_state(
                &StepOutcome::MigrationIntentSet {
                    intent_id: intent(),
                },
                T,
            )
            .unwrap();
        assert!(s.is_waiting());
        assert_eq!(s.migration_intent_id(), Some(&intent()));
        // Still pending: nothing changes.
        let pending = StepOutcome::MigrationIntentRead {
            status: IntentProgress::Pending,
        };
        assert_eq!(s.next_state(&pending, T).unwrap(), s);
        let accepted = StepOutcome::MigrationIntentRead {
            status: IntentProgress::Accepted {
                destination_waba_id: waba("555000"),
            },
        };
        let s = s.next_state(&accepted, T).unwrap();
        assert_eq!(s.name(), StateName::IntentAccepted);
        assert_eq!(s.destination_waba_id(), Some(&waba("555000")));
        let s = s
            .next_state(&StepOutcome::AppSubscribed { verified: false }, T)
            .unwrap();
        assert_eq!(
            s,
            PortingState::DestinationReady {
                destination_waba_id: waba("555000")
            }
        );
        assert!(s.allows(StartMigration));
        // Moving the number gives it a new id, verified already.
        let moved = s
            .next_state(
                &StepOutcome::MigrationStarted {
                    phone_number_id: id(),
                },
                T,
            )
            .unwrap();
        assert_eq!(moved, verified());
        let adopted = s
            .next_state(
                &StepOutcome::ExistingNumberAdopted {
                    phone_number_id: id(),
                    observed: Observed::default(),
                },
                T,
            )
            .unwrap();
        assert_eq!(adopted, verified());
        // Declined: the intent never carries the port.
        let declined = PortingState::AwaitingIntentAcceptance {
            intent_id: intent(),
        }
        .next_state(
            &StepOutcome::MigrationIntentRead {
                status: IntentProgress::Declined,
            },
            T,
        )
        .unwrap();
        assert_eq!(
            declined,
            PortingState::Rejected {
                reason: RejectionReason::IntentDeclined
            }
        );
    }

    #[test]
    fn route_states_keep_their_json_form() {
        let states = [
            PortingState::AwaitingSignup,
            PortingState::SignupFinished {
                phone_number_id: id(),
            },
            PortingState::Authorized {
                phone_number_id: id(),
            },
            PortingState::IntentDraft,
            PortingState::AwaitingIntentAcceptance {
                intent_id: intent(),
            },
            PortingState::IntentAccepted {
                intent_id: intent(),
                destination_waba_id: waba("555000"),
            },
            PortingState::DestinationReady {
                destination_waba_id: waba("555000"),
            },
        ];
        for state in states {
            let json = serde_json::to_value(&state).unwrap();
            assert_eq!(json["state"], state.name().as_str(), "{json}");
            let back: PortingState = serde_json::from_value(json).unwrap();
            assert_eq!(back, state);
        }
    }
}
