//! A porting session: the inputs, the current state and the history of one
//! number's move. Plain data: persist it between steps and resume it days
//! later in another process.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::actor::Actor;
use crate::ids::{BusinessId, WabaId};
use crate::operation::Operation;
use crate::phone::PhoneNumber;
use crate::state::{IllegalTransition, PortingState, RejectionReason, StateName, StepOutcome};
use crate::time::Timestamp;

/// The version of the serialized session format this crate writes and reads.
pub const SESSION_FORMAT_VERSION: u32 = 1;

/// One number's port, from [`Draft`](PortingState::Draft) to
/// [`Registered`](PortingState::Registered).
///
/// Serializes with serde (JSON recommended) into a versioned format that
/// holds no secret: no token, PIN or verification code. Deserializing a
/// format version this crate does not know is an error, not a guess.
///
/// ```
/// use waba_porting::{BusinessId, PhoneNumber, PortingSession, WabaId};
///
/// let session = PortingSession::new(
///     PhoneNumber::parse("+1 (415) 555-0123")?,
///     WabaId::new("102290129340398")?,
///     BusinessId::new("106540352242922")?,
/// );
/// let json = serde_json::to_string(&session)?;
/// let resumed: PortingSession = serde_json::from_str(&json)?;
/// assert_eq!(resumed, session);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortingSession {
    format_version: FormatVersion,
    phone_number: PhoneNumber,
    waba_id: WabaId,
    business_id: BusinessId,
    state: PortingState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    not_before: Option<Timestamp>,
    #[serde(default)]
    history: Vec<Transition>,
}

/// One entry of a session's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Transition {
    /// When the outcome was recorded.
    pub at: Timestamp,
    /// The state before.
    pub from: StateName,
    /// The state after (the same as `from` for a failure that changed
    /// nothing).
    pub to: StateName,
    /// What happened.
    pub outcome: StepOutcome,
}

/// What should happen next, and who must make it happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NextStep {
    /// The action.
    pub action: NextAction,
    /// Who must act. [`Actor::WaitUntil`] when the last error asked to wait.
    pub actor: Actor,
}

/// The next action of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NextAction {
    /// Call [`start_migration`](crate::PortingClient::start_migration).
    StartMigration,
    /// Call [`request_code`](crate::PortingClient::request_code).
    RequestCode,
    /// Get the code the customer received and call
    /// [`verify_code`](crate::PortingClient::verify_code) (or request a new one).
    VerifyCode,
    /// Call [`register`](crate::PortingClient::register).
    Register,
    /// The customer approves the "message on behalf" request; then retry `then`.
    ApproveOnBehalfRequest {
        /// The step to retry after approval.
        then: Operation,
    },
    /// The previous BSP disables two-step verification; then retry `then`.
    DisableTwoStepVerification {
        /// The step to retry afterwards.
        then: Operation,
    },
    /// Open a new session with the Business Manager id that owns the number.
    ResubmitWithCorrectBusinessId,
    /// Do not port: add the number to the destination WABA as a new number.
    AddAsNewNumber,
    /// Nothing: the number is registered.
    Done,
}

impl NextAction {
    /// The step to call next: the action's own step, or for a waiting action
    /// the step to retry once the person acted. `None` when no step can help
    /// (done, rejected).
    pub fn step(self) -> Option<Operation> {
        match self {
            Self::StartMigration => Some(Operation::StartMigration),
            Self::RequestCode => Some(Operation::RequestCode),
            Self::VerifyCode => Some(Operation::VerifyCode),
            Self::Register => Some(Operation::Register),
            Self::ApproveOnBehalfRequest { then } | Self::DisableTwoStepVerification { then } => {
                Some(then)
            }
            Self::ResubmitWithCorrectBusinessId | Self::AddAsNewNumber | Self::Done => None,
        }
    }
}

impl PortingSession {
    /// A new session in [`Draft`](PortingState::Draft).
    ///
    /// `business_id` is the customer's Business Manager id: Meta does not take
    /// it in the migration request, but it is the business that must approve
    /// the "message on behalf" request and own the number's current WABA, so
    /// it is kept for the operator and the remediation of those cases.
    pub fn new(phone_number: PhoneNumber, waba_id: WabaId, business_id: BusinessId) -> Self {
        Self {
            format_version: FormatVersion,
            phone_number,
            waba_id,
            business_id,
            state: PortingState::Draft,
            not_before: None,
            history: Vec::new(),
        }
    }

    /// The number being ported.
    pub fn phone_number(&self) -> &PhoneNumber {
        &self.phone_number
    }

    /// The destination WABA.
    pub fn waba_id(&self) -> &WabaId {
        &self.waba_id
    }

    /// The customer's Business Manager id.
    pub fn business_id(&self) -> &BusinessId {
        &self.business_id
    }

    /// Where the port stands.
    pub fn state(&self) -> &PortingState {
        &self.state
    }

    /// Everything recorded so far, oldest first.
    pub fn history(&self) -> &[Transition] {
        &self.history
    }

    /// The earliest time a retry makes sense, when the last error said so
    /// (`Retry-After`, or a wait Meta documents). Cleared by the next success.
    pub fn not_before(&self) -> Option<Timestamp> {
        self.not_before
    }

    /// Whether the port is finished (registered or rejected).
    pub fn is_finished(&self) -> bool {
        self.state.is_terminal()
    }

    /// What should happen next, and who must act.
    pub fn next_action(&self) -> NextStep {
        let resume_step = || {
            self.state
                .allowed_steps()
                .last()
                .copied()
                .unwrap_or(Operation::StartMigration)
        };
        let (action, actor) = match &self.state {
            PortingState::Draft => (NextAction::StartMigration, Actor::Us),
            PortingState::Initiated { .. } => (NextAction::RequestCode, Actor::Us),
            PortingState::CodeRequested { .. } => (NextAction::VerifyCode, Actor::Customer),
            PortingState::CodeVerified { .. } => (NextAction::Register, Actor::Us),
            PortingState::Registered { .. } => (NextAction::Done, Actor::Nobody),
            PortingState::AwaitingOnBehalfApproval { .. } => (
                NextAction::ApproveOnBehalfRequest {
                    then: resume_step(),
                },
                Actor::Customer,
            ),
            PortingState::AwaitingTwoStepDisable { .. } => (
                NextAction::DisableTwoStepVerification {
                    then: resume_step(),
                },
                Actor::PreviousProvider,
            ),
            PortingState::Rejected {
                reason: RejectionReason::BusinessMismatch,
            } => (NextAction::ResubmitWithCorrectBusinessId, Actor::Customer),
            PortingState::Rejected { .. } => (NextAction::AddAsNewNumber, Actor::Us),
        };
        let actor = match (actor, self.not_before) {
            (Actor::Us, Some(until)) => Actor::WaitUntil(until),
            (actor, _) => actor,
        };
        NextStep { action, actor }
    }

    /// Checks that `operation` is legal now (nothing is changed).
    pub fn check(&self, operation: Operation) -> Result<(), IllegalTransition> {
        self.state.check(operation)
    }

    /// Applies a step's outcome (see [`PortingState::next_state`]) and records
    /// it in the history. The client calls this; call it yourself only when
    /// you drive the state machine with your own I/O.
    pub fn apply(
        &mut self,
        outcome: StepOutcome,
        at: Timestamp,
    ) -> Result<&PortingState, IllegalTransition> {
        let next = self.state.next_state(&outcome, at)?;
        if !matches!(outcome, StepOutcome::Failed { .. }) {
            self.not_before = None;
        }
        self.history.push(Transition {
            at,
            from: self.state.name(),
            to: next.name(),
            outcome,
        });
        self.state = next;
        Ok(&self.state)
    }

    /// Records that no retry makes sense before `until`.
    pub fn set_not_before(&mut self, until: Option<Timestamp>) {
        self.not_before = until;
    }
}

/// Serializes as the number [`SESSION_FORMAT_VERSION`]; refuses any other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FormatVersion;

impl Serialize for FormatVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(SESSION_FORMAT_VERSION)
    }
}

impl<'de> Deserialize<'de> for FormatVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let version = u32::deserialize(deserializer)?;
        if version == SESSION_FORMAT_VERSION {
            Ok(Self)
        } else {
            Err(serde::de::Error::custom(format_args!(
                "unsupported session format version {version}; this version of waba-porting reads version {SESSION_FORMAT_VERSION}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiErrorKind;
    use crate::ids::PhoneNumberId;
    use crate::params::{CodeMethod, Language};

    fn session() -> PortingSession {
        PortingSession::new(
            PhoneNumber::parse("+14155550123").unwrap(),
            WabaId::new("102290129340398").unwrap(),
            BusinessId::new("106540352242922").unwrap(),
        )
    }
    fn id() -> PhoneNumberId {
        PhoneNumberId::new("110200345501442").unwrap()
    }
    fn t(ms: u64) -> Timestamp {
        Timestamp::from_unix_millis(ms)
    }

    #[test]
    fn golden_json_format_v1() {
        let mut s = session();
        s.apply(
            StepOutcome::MigrationStarted {
                phone_number_id: id(),
            },
            t(1),
        )
        .unwrap();
        s.apply(
            StepOutcome::CodeRequested {
                method: CodeMethod::Sms,
                language: Language::default(),
            },
            t(2),
        )
        .unwrap();
        let json = serde_json::to_string(&s).unwrap();
        let want = concat!(
            r#"{"format_version":1,"phone_number":"+14155550123","waba_id":"102290129340398","#,
            r#""business_id":"106540352242922","state":{"state":"code_requested","#,
            r#""phone_number_id":"110200345501442","method":"SMS","language":"en_US","at":2},"#,
            r#""history":[{"at":1,"from":"draft","to":"initiated","outcome":{"outcome":"migration_started","#,
            r#""phone_number_id":"110200345501442"}},{"at":2,"from":"initiated","to":"code_requested","#,
            r#""outcome":{"outcome":"code_requested","method":"SMS","language":"en_US"}}]}"#
        );
        assert_eq!(json, want);
        let back: PortingSession = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    #[test]
    fn unknown_format_versions_are_refused() {
        let json = serde_json::to_string(&session())
            .unwrap()
            .replace("\"format_version\":1", "\"format_version\":2");
        let err = serde_json::from_str::<PortingSession>(&json).unwrap_err();
        assert!(
            err.to_string()
                .contains("unsupported session format version 2"),
            "{err}"
        );
        let invalid = serde_json::to_string(&session())
            .unwrap()
            .replace("+14155550123", "+1 CALL");
        assert!(serde_json::from_str::<PortingSession>(&invalid).is_err());
    }

    #[test]
    fn next_action_and_actor_follow_the_state() {
        let mut s = session();
        assert_eq!(
            s.next_action(),
            NextStep {
                action: NextAction::StartMigration,
                actor: Actor::Us
            }
        );
        s.apply(
            StepOutcome::Failed {
                operation: Operation::StartMigration,
                kind: ApiErrorKind::OnBehalfNotAccepted,
            },
            t(5),
        )
        .unwrap();
        assert_eq!(
            s.next_action(),
            NextStep {
                action: NextAction::ApproveOnBehalfRequest {
                    then: Operation::StartMigration
                },
                actor: Actor::Customer
            }
        );
        s.apply(
            StepOutcome::MigrationStarted {
                phone_number_id: id(),
            },
            t(6),
        )
        .unwrap();
        s.set_not_before(Some(t(100)));
        assert_eq!(s.next_action().actor, Actor::WaitUntil(t(100)));
        s.apply(
            StepOutcome::CodeRequested {
                method: CodeMethod::Voice,
                language: Language::default(),
            },
            t(7),
        )
        .unwrap();
        assert_eq!(s.not_before(), None, "a success clears the wait");
        assert_eq!(
            s.next_action(),
            NextStep {
                action: NextAction::VerifyCode,
                actor: Actor::Customer
            }
        );
        s.apply(StepOutcome::CodeVerified, t(8)).unwrap();
        s.apply(
            StepOutcome::Failed {
                operation: Operation::Register,
                kind: ApiErrorKind::TwoStepEnabled,
            },
            t(9),
        )
        .unwrap();
        assert_eq!(
            s.next_action(),
            NextStep {
                action: NextAction::DisableTwoStepVerification {
                    then: Operation::Register
                },
                actor: Actor::PreviousProvider
            }
        );
        s.apply(StepOutcome::Registered, t(10)).unwrap();
        assert_eq!(
            s.next_action(),
            NextStep {
                action: NextAction::Done,
                actor: Actor::Nobody
            }
        );
        assert!(s.is_finished());
        let steps: Vec<_> = s
            .history()
            .iter()
            .map(|h| (h.at.as_unix_millis(), h.from, h.to))
            .collect();
        assert_eq!(
            steps,
            vec![
                (5, StateName::Draft, StateName::AwaitingOnBehalfApproval),
                (6, StateName::AwaitingOnBehalfApproval, StateName::Initiated),
                (7, StateName::Initiated, StateName::CodeRequested),
                (8, StateName::CodeRequested, StateName::CodeVerified),
                (
                    9,
                    StateName::CodeVerified,
                    StateName::AwaitingTwoStepDisable
                ),
                (10, StateName::AwaitingTwoStepDisable, StateName::Registered),
            ]
        );
    }

    #[test]
    fn next_action_names_the_step_to_call() {
        assert_eq!(NextAction::VerifyCode.step(), Some(Operation::VerifyCode));
        assert_eq!(
            NextAction::DisableTwoStepVerification {
                then: Operation::Register
            }
            .step(),
            Some(Operation::Register)
        );
        assert_eq!(NextAction::AddAsNewNumber.step(), None);
        assert_eq!(NextAction::Done.step(), None);
    }

    #[test]
    fn rejected_sessions_say_what_to_do() {
        let mut s = session();
        s.apply(
            StepOutcome::Failed {
                operation: Operation::StartMigration,
                kind: ApiErrorKind::BusinessMismatch,
            },
            t(1),
        )
        .unwrap();
        assert_eq!(
            s.next_action().action,
            NextAction::ResubmitWithCorrectBusinessId
        );
        let mut s = session();
        s.apply(
            StepOutcome::Failed {
                operation: Operation::StartMigration,
                kind: ApiErrorKind::EligibleForDirectAdd,
            },
            t(1),
        )
        .unwrap();
        assert_eq!(
            s.next_action(),
            NextStep {
                action: NextAction::AddAsNewNumber,
                actor: Actor::Us
            }
        );
    }

    #[test]
    fn illegal_apply_changes_nothing() {
        let mut s = session();
        let before = s.clone();
        assert!(s.apply(StepOutcome::Registered, t(1)).is_err());
        assert_eq!(s, before);
    }
}
