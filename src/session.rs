//! A porting session: the inputs, the current state and the history of one
//! number's move. Plain data: persist it between steps and resume it days
//! later in another process.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::actor::Actor;
use crate::ids::{BusinessId, SolutionId, WabaId};
use crate::kind::ApiErrorKind;
use crate::operation::Operation;
use crate::params::{CodeMethod, Language};
use crate::phone::PhoneNumber;
use crate::route::Route;
use crate::session_events::{EventLog, EventNote, MaybeEventLog};
use crate::state::{
    IllegalTransition, InvalidSession, Observed, PortingState, RejectionReason, StateName,
    StepOutcome,
};
use crate::time::Timestamp;

/// The version of the serialized session format this crate writes and reads.
pub const SESSION_FORMAT_VERSION: u32 = 1;

/// How many history entries a session keeps (the newest); older ones are
/// dropped and counted in [`Counters::history_dropped`].
pub const HISTORY_LIMIT: usize = 32;

/// How long a verification code lives: ten minutes.
///
/// Source: Meta's OpenAPI description of the business messaging API,
/// repository facebook/openapi at commit
/// `ecba623b4aba6ae770185b074ed77ed5acef22f7`, file
/// `business-messaging-api_v23.0.yaml`, line 17229, in the description of
/// `POST /{Version}/{Phone-Number-ID}/verify_code`: "Verification codes are
/// time-limited (typically 10 minutes) and single-use." "Typically" is all
/// Meta commits to: no exact lifetime is documented, so this is the
/// typical one, not a guarantee.
///
/// How the crate uses it:
///
/// - a code refused as wrong or "invalid or has expired" after it lived
///   this long is classified as expired
///   ([`ApiErrorKind::VerificationCodeExpired`](crate::ApiErrorKind::VerificationCodeExpired)),
///   whatever Meta's message says: a new code is needed
///   ([`NextAction::RequestNewCode`]), not the customer's retyping;
/// - a fleet asks for a new code when none arrived within this time of an
///   unconfirmed request
///   ([`FleetBuilder::code_wait`](crate::FleetBuilder::code_wait));
/// - the simulator's codes live as long by default
///   (`simulator::DEFAULT_CODE_TTL`).
pub const CODE_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// Meta's window for the register/deregister limit (10 calls per number).
pub const REGISTER_WINDOW: Duration = Duration::from_secs(72 * 3600);

/// How many `register` calls a session makes within [`REGISTER_WINDOW`]: one
/// fewer than Meta's 10, so the 11th call — which blocks the number for 72
/// hours — cannot be reached even with one deregister (or one call made
/// outside this session).
pub const REGISTER_BUDGET: usize = 9;

/// How long a fleet waits between two reads of a pending migration intent
/// (the session's `not_before` after a read that found it pending; an
/// explicit [`PortingClient::refresh_migration_intent`](crate::PortingClient::refresh_migration_intent)
/// reads at once).
pub const MIGRATION_INTENT_RECHECK: Duration = Duration::from_secs(5 * 60);

/// One number's port, from [`Draft`](PortingState::Draft) to
/// [`Registered`](PortingState::Registered).
///
/// Serializes with serde (JSON recommended) into a versioned format that
/// holds no secret: no token, PIN or verification code. Deserializing a
/// format version this crate does not know is an error, not a guess, and so
/// is a session the state machine could not have produced
/// ([`InvalidSession`]). Fields a newer version adds are ignored, and an
/// error case it knows and this one does not loads as
/// [`ApiErrorKind::Unknown`](crate::ApiErrorKind::Unknown).
///
/// Besides the state, a session keeps what makes a days-long, crash-prone
/// port safe: the step in flight ([`in_flight`](Self::in_flight), written
/// before a request is sent and cleared when its outcome is known), the times
/// of its `register` calls (the 72-hour budget), when a retry makes sense
/// ([`not_before`](Self::not_before)), counters and the recent history.
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
#[serde(try_from = "RawSession")]
pub struct PortingSession {
    format_version: FormatVersion,
    #[serde(skip_serializing_if = "is_zero_u64")]
    revision: u64,
    phone_number: PhoneNumber,
    waba_id: WabaId,
    business_id: BusinessId,
    #[serde(default, skip_serializing_if = "Route::is_programmatic")]
    route: Route,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    destination_waba_id: Option<WabaId>,
    state: PortingState,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_before: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "is_false")]
    own_wait: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    in_flight: Option<InFlight>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    register_calls: Vec<Timestamp>,
    #[serde(skip_serializing_if = "is_false")]
    code_unconfirmed: bool,
    #[serde(skip_serializing_if = "is_false")]
    register_unconfirmed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_read: Option<Observed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    // Boxed: most sessions never fail, and the session stays small inline.
    last_failure: Option<Box<LastFailure>>,
    #[serde(skip_serializing_if = "Counters::is_zero")]
    counters: Counters,
    history: Vec<Transition>,
    #[serde(default, skip_serializing_if = "EventLog::is_empty")]
    events: EventLog,
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

fn is_zero_u64(value: &u64) -> bool {
    *value == 0
}

/// The serialized form of [`PortingSession`], checked before use.
#[derive(Deserialize)]
struct RawSession {
    format_version: FormatVersion,
    #[serde(default)]
    revision: u64,
    phone_number: PhoneNumber,
    waba_id: WabaId,
    business_id: BusinessId,
    #[serde(default)]
    route: Route,
    #[serde(default)]
    destination_waba_id: Option<WabaId>,
    state: PortingState,
    #[serde(default)]
    not_before: Option<Timestamp>,
    #[serde(default)]
    own_wait: bool,
    #[serde(default)]
    in_flight: Option<InFlight>,
    #[serde(default)]
    register_calls: Vec<Timestamp>,
    #[serde(default)]
    code_unconfirmed: bool,
    #[serde(default)]
    register_unconfirmed: bool,
    #[serde(default)]
    last_read: Option<Observed>,
    #[serde(default)]
    last_failure: Option<MaybeFailure>,
    #[serde(default)]
    counters: Counters,
    #[serde(default)]
    history: Vec<MaybeTransition>,
    #[serde(default)]
    events: Option<MaybeEventLog>,
}

/// A last failure this version can read, or one a newer version wrote (an
/// operation this version does not know): dropped on load, so the session
/// still loads.
#[derive(Deserialize)]
#[serde(untagged)]
enum MaybeFailure {
    Known(LastFailure),
    Unknown(serde::de::IgnoredAny),
}

/// A history entry this version can read, or one a newer version wrote
/// (an outcome, operation or state this version does not know): dropped on
/// load and counted in [`Counters::history_dropped`], so the session still
/// loads.
#[derive(Deserialize)]
#[serde(untagged)]
enum MaybeTransition {
    Known(Transition),
    Unknown(serde::de::IgnoredAny),
}

/// Whether a saved session's destination WABA fits its route and state:
/// only a solution migration has one, from the customer's acceptance on
/// (and the state that names it names the same).
fn destination_fits(route: &Route, state: &PortingState, destination: Option<&WabaId>) -> bool {
    if !matches!(route, Route::SolutionMigration { .. }) {
        return destination.is_none();
    }
    let base = state.resume_point();
    if let Some(named) = base.destination_waba_id() {
        return destination == Some(named);
    }
    match base {
        PortingState::IntentDraft | PortingState::AwaitingIntentAcceptance { .. } => {
            destination.is_none()
        }
        // Declined before acceptance, or rejected after it.
        PortingState::Rejected { .. } => true,
        // Past the move into the destination.
        _ => destination.is_some(),
    }
}

impl TryFrom<RawSession> for PortingSession {
    type Error = InvalidSession;

    fn try_from(raw: RawSession) -> Result<Self, InvalidSession> {
        for state in [raw.state.name(), raw.state.resume_point().name()] {
            if !raw.route.reaches(state) {
                return Err(InvalidSession::WrongRoute {
                    state,
                    route: raw.route.as_str(),
                });
            }
        }
        if !destination_fits(&raw.route, &raw.state, raw.destination_waba_id.as_ref()) {
            return Err(InvalidSession::ImpossibleDestination {
                state: raw.state.name(),
                route: raw.route.as_str(),
            });
        }
        if let Some(flight) = &raw.in_flight {
            let code_params_missing = flight.operation == Operation::RequestCode
                && (flight.method.is_none() || flight.language.is_none());
            // An exchange is under way only once the popup named the number.
            let exchange_without_signup = flight.operation == Operation::ExchangeSignupCode
                && raw.state.name() != StateName::SignupFinished;
            if !flight.operation.has_side_effect()
                || !raw.state.allows(flight.operation)
                || code_params_missing
                || exchange_without_signup
            {
                return Err(InvalidSession::ImpossibleInFlight {
                    step: flight.operation,
                    state: raw.state.name(),
                });
            }
        }
        let mut counters = raw.counters;
        let mut history = Vec::with_capacity(raw.history.len());
        for entry in raw.history {
            match entry {
                MaybeTransition::Known(transition) => history.push(transition),
                MaybeTransition::Unknown(_) => {
                    counters.history_dropped = counters.history_dropped.saturating_add(1);
                }
            }
        }
        let mut register_calls = raw.register_calls;
        register_calls.sort_unstable();
        let mut session = Self {
            format_version: raw.format_version,
            revision: raw.revision,
            phone_number: raw.phone_number,
            waba_id: raw.waba_id,
            business_id: raw.business_id,
            route: raw.route,
            destination_waba_id: raw.destination_waba_id,
            state: raw.state,
            not_before: raw.not_before,
            own_wait: raw.own_wait && raw.not_before.is_some(),
            in_flight: raw.in_flight,
            register_calls,
            code_unconfirmed: raw.code_unconfirmed,
            register_unconfirmed: raw.register_unconfirmed,
            last_read: raw.last_read,
            last_failure: match raw.last_failure {
                Some(MaybeFailure::Known(failure)) => Some(Box::new(failure)),
                Some(MaybeFailure::Unknown(_)) | None => None,
            },
            counters,
            history,
            events: raw.events.map(MaybeEventLog::into_log).unwrap_or_default(),
        };
        session.trim_history();
        Ok(session)
    }
}

/// A step that was (or was about to be) sent and whose outcome is not known
/// yet: the write-ahead marker.
///
/// The client writes it before sending `request_code`, `verify_code` or
/// `register` (and saves the session through its
/// [`Checkpoint`](crate::Checkpoint), when one is set), and clears it when the
/// answer says what happened. A session that still has one — its process
/// crashed, or the answer was lost — is reconciled by the client's next
/// step: it reads the number and moves the session to where Meta really is
/// before sending anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InFlight {
    /// The step.
    pub operation: Operation,
    /// When it was started.
    pub since: Timestamp,
    /// For `request_code`: the method asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<CodeMethod>,
    /// For `request_code`: the language asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
}

/// The last failure Meta answered for a step of this session, kept in the
/// saved session so that a restarted service still knows what happened and
/// what to do ([`PortingSession::last_failure`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LastFailure {
    /// When it was recorded.
    pub at: Timestamp,
    /// The step that failed.
    pub operation: Operation,
    /// The case (a case this version does not know loads as
    /// [`ApiErrorKind::Unknown`](crate::ApiErrorKind::Unknown)).
    pub kind: crate::kind::ApiErrorKind,
    /// The Graph `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// The Graph `error_subcode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_subcode: Option<i64>,
    /// Meta's message (`error_user_msg`, else `message`), at most
    /// [`LastFailure::MESSAGE_LIMIT`] characters, with anything shaped like
    /// a PIN, a code or a token masked; absent when the failure was
    /// recorded without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The `fbtrace_id` support asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fbtrace_id: Option<String>,
}

impl LastFailure {
    /// The most characters of Meta's message kept.
    pub const MESSAGE_LIMIT: usize = 200;

    /// What to do ([`ApiErrorKind::remediation`](crate::ApiErrorKind::remediation)).
    pub fn remediation(&self) -> &'static str {
        self.kind.remediation()
    }

    /// Who must act ([`ApiErrorKind::who_must_act`](crate::ApiErrorKind::who_must_act)).
    pub fn who_must_act(&self) -> Actor {
        self.kind.who_must_act()
    }
}

/// Counts kept for the whole life of a session (the history keeps only the
/// last [`HISTORY_LIMIT`] entries).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Counters {
    /// `start_migration` requests sent.
    #[serde(rename = "start", skip_serializing_if = "is_zero")]
    pub start_requests: u32,
    /// `request_code` requests sent (each may text or call the customer). A
    /// request that could not connect is not counted; one whose answer was
    /// lost is.
    #[serde(rename = "request_code", skip_serializing_if = "is_zero")]
    pub code_requests: u32,
    /// `verify_code` requests sent.
    #[serde(rename = "verify_code", skip_serializing_if = "is_zero")]
    pub verify_requests: u32,
    /// `register` requests sent (each spends one of 10 per 72 hours).
    #[serde(rename = "register", skip_serializing_if = "is_zero")]
    pub register_requests: u32,
    /// Reads attempted to reconcile an unknown outcome.
    #[serde(rename = "reconcile", skip_serializing_if = "is_zero")]
    pub reconciles: u32,
    /// Failed steps recorded.
    #[serde(rename = "failed", skip_serializing_if = "is_zero")]
    pub failures: u32,
    /// History entries dropped to keep the history bounded.
    #[serde(rename = "dropped", skip_serializing_if = "is_zero")]
    pub history_dropped: u32,
    /// `request_code` requests sent since Meta last answered a
    /// `verify_code` (a customer's code, even a wrong or expired one,
    /// answers them): how many code requests are outstanding.
    #[serde(rename = "request_code_since_verify", skip_serializing_if = "is_zero")]
    pub code_requests_since_verify: u32,
    /// Requests of the route's own steps sent: the Embedded Signup code
    /// exchange, the app subscription and the migration intent (and its
    /// reads).
    #[serde(rename = "route", skip_serializing_if = "is_zero")]
    pub route_requests: u32,
}

impl Counters {
    fn is_zero(&self) -> bool {
        *self == Self::default()
    }
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

/// What should happen next, who must make it happen, and from when.
///
/// Serializes for a service's JSON (`{"action": {"action": "verify_code"},
/// "actor": "customer", "not_before": null, "remediation": "…"}`), and its
/// `Display` is one plain sentence a support agent can paste to the customer
/// (with the time to wait for, when there is one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NextStep {
    /// The action.
    pub action: NextAction,
    /// Who must act. A wait does not change who: a rate-limited
    /// `verify_code` still needs the customer's code.
    pub actor: Actor,
    /// Not before this time: the last answer asked to wait (`Retry-After`,
    /// or a wait Meta documents). A step called earlier is refused with
    /// [`Error::WaitRequired`](crate::Error::WaitRequired) and sends nothing.
    pub not_before: Option<Timestamp>,
    /// What to do, for the operator ([`NextAction::remediation`]).
    pub remediation: &'static str,
}

impl NextStep {
    fn new(action: NextAction, actor: Actor, not_before: Option<Timestamp>) -> Self {
        Self {
            action,
            actor,
            not_before,
            remediation: action.remediation(),
        }
    }

    /// Whether nothing time-based holds the action back at `now`: no
    /// `not_before`, or one that has passed. (Who must act is
    /// [`actor`](Self::actor); a finished port has no step to take.)
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.not_before.is_none_or(|until| until <= now)
    }
}

impl fmt::Display for NextStep {
    /// One plain sentence for the customer (see
    /// [`NextAction::customer_message`]), then the time to wait for, if any:
    /// `Please send us the code … (not before 2027-01-01T00:00:00.000Z)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = self.action.customer_message();
        match self.not_before {
            Some(until) => write!(f, "{} (not before {until}).", message.trim_end_matches('.')),
            None => f.write_str(message),
        }
    }
}

/// The next action of a session.
///
/// Serialized with its name in `action` (`{"action": "approve_on_behalf_request",
/// "then": "start_migration"}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
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
    /// A step's outcome is unknown (its answer was lost, or the process
    /// stopped): call [`reconcile`](crate::PortingClient::reconcile), or the
    /// step again — the client reads the number first and sends nothing that
    /// already happened. If that read can never succeed (the number object
    /// was deleted), see
    /// [`PortingSession::forget_in_flight`](crate::PortingSession::forget_in_flight).
    Reconcile {
        /// The step whose outcome is unknown.
        step: Operation,
    },
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
    /// A read showed the number `BANNED` by WhatsApp
    /// ([`RejectionReason::NumberBanned`]): its owner asks for a review of
    /// the ban (WhatsApp Manager, Business Support Home); no port goes
    /// through until it is lifted, then a new session ports it.
    AppealBan,
    /// A read showed the session's number object gone from the destination
    /// WABA (`DELETED`, `MIGRATED`, `UNLINKED`:
    /// [`RejectionReason::NumberDeleted`], [`RejectionReason::NumberMigrated`],
    /// [`RejectionReason::NumberUnlinked`]): find where the number is now,
    /// and port it again with a new session if it should still come here.
    StartOver,
    /// Nothing: the number is registered.
    Done,
    /// The last read of the number showed its code expired
    /// (`code_verification_status: EXPIRED`; codes live about ten minutes,
    /// [`CODE_LIFETIME`](crate::CODE_LIFETIME)), or Meta refused the code as
    /// expired: the customer's code will be refused, and a verification
    /// that lapsed no longer lets `register` through (133006). Call [`request_code`](crate::PortingClient::request_code)
    /// for a new code, then verify it. Meta may refuse a new request made
    /// too soon after the last one ([`Error::retry_after`](crate::Error::retry_after)
    /// says when to try again).
    RequestNewCode,
    /// The number is registered, but the last read showed it not
    /// `CONNECTED` yet: it cannot send messages until it is. Nobody has to
    /// act; read it again later with
    /// [`refresh`](crate::PortingClient::refresh). A status that stays away
    /// from `CONNECTED` (`FLAGGED`, `RESTRICTED`, `DISCONNECTED`) is a
    /// matter for Meta support, not the port.
    AwaitConnected,
    /// Embedded Signup: the customer finishes the BSP's Embedded Signup
    /// popup (again, when its code was refused or it did not share the
    /// WABA); then hand its result to
    /// [`PortingClient::exchange_signup_code`](crate::PortingClient::exchange_signup_code).
    FinishSignup,
    /// Embedded Signup: call
    /// [`PortingClient::exchange_signup_code`](crate::PortingClient::exchange_signup_code)
    /// with the popup's authorization code, at once (codes are short-lived).
    ExchangeSignupCode,
    /// Call [`PortingClient::subscribe_app_for`](crate::PortingClient::subscribe_app_for):
    /// checks what was shared (Embedded Signup) or finds the number
    /// (solution migration), and subscribes the app to the WABA.
    SubscribeApp,
    /// Solution migration: call
    /// [`PortingClient::set_migration_intent`](crate::PortingClient::set_migration_intent).
    SetMigrationIntent,
    /// Solution migration: the customer accepts the migration request in
    /// Meta Business Suite (Business settings, Requests, Received); follow
    /// it with
    /// [`PortingClient::refresh_migration_intent`](crate::PortingClient::refresh_migration_intent).
    AcceptMigrationIntent,
}

impl NextAction {
    /// The snake_case name, as serde writes it in `action`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartMigration => "start_migration",
            Self::RequestCode => "request_code",
            Self::VerifyCode => "verify_code",
            Self::Register => "register",
            Self::RequestNewCode => "request_new_code",
            Self::AwaitConnected => "await_connected",
            Self::Reconcile { .. } => "reconcile",
            Self::ApproveOnBehalfRequest { .. } => "approve_on_behalf_request",
            Self::DisableTwoStepVerification { .. } => "disable_two_step_verification",
            Self::ResubmitWithCorrectBusinessId => "resubmit_with_correct_business_id",
            Self::AddAsNewNumber => "add_as_new_number",
            Self::AppealBan => "appeal_ban",
            Self::StartOver => "start_over",
            Self::Done => "done",
            Self::FinishSignup => "finish_signup",
            Self::ExchangeSignupCode => "exchange_signup_code",
            Self::SubscribeApp => "subscribe_app",
            Self::SetMigrationIntent => "set_migration_intent",
            Self::AcceptMigrationIntent => "accept_migration_intent",
        }
    }

    /// What to do, for the operator (names the call to make).
    pub fn remediation(self) -> &'static str {
        match self {
            Self::StartMigration => "Call start_migration.",
            Self::RequestCode => "Call request_code to have Meta send the customer a code.",
            Self::VerifyCode => {
                "Get the code the customer received and call verify_code (or request_code for \
                 a new one)."
            }
            Self::Register => "Call register with the PIN kept for this session.",
            Self::RequestNewCode => {
                "The code expired: call request_code for a new one, then verify_code with it."
            }
            Self::AwaitConnected => {
                "Registered but not CONNECTED yet: call refresh later; a status that stays away \
                 from CONNECTED is for Meta support."
            }
            Self::Reconcile { .. } => {
                "A step's outcome is unknown: call reconcile (or the step again; the number is \
                 read first)."
            }
            Self::ApproveOnBehalfRequest { .. } => {
                "The customer approves the \"message on behalf\" request in Meta Business \
                 Manager; then retry the step."
            }
            Self::DisableTwoStepVerification { .. } => {
                "The previous provider disables two-step verification on the number (there is no \
                 API for it); then retry the step."
            }
            Self::ResubmitWithCorrectBusinessId => {
                "The destination WABA must be made for (or shared with) the business that owns \
                 the number; then start a new session."
            }
            Self::AddAsNewNumber => {
                "Do not port: add the number to the destination WABA as a new number."
            }
            Self::AppealBan => {
                "WhatsApp banned the number: its owner requests a review of the ban (WhatsApp \
                 Manager, Business Support Home). No port goes through until the ban is lifted; \
                 then port it with a new session."
            }
            Self::StartOver => {
                "The number object is gone from the destination WABA (deleted, migrated or \
                 unlinked): find where the number is now (list_phone_numbers), and start a new \
                 session if it should still come here."
            }
            Self::Done => "Nothing: the number is registered.",
            Self::FinishSignup => {
                "The customer finishes the Embedded Signup popup (sharing the WABA and the \
                 number); then call exchange_signup_code with its result."
            }
            Self::ExchangeSignupCode => {
                "Call exchange_signup_code with the popup's authorization code now: codes are \
                 single-use and short-lived."
            }
            Self::SubscribeApp => "Call subscribe_app_for to subscribe the app to the WABA.",
            Self::SetMigrationIntent => "Call set_migration_intent.",
            Self::AcceptMigrationIntent => {
                "The customer accepts the migration request in Meta Business Suite (Business \
                 settings, Requests, Received); follow it with refresh_migration_intent."
            }
        }
    }

    /// One plain sentence for the customer, as a support agent would say it.
    pub fn customer_message(self) -> &'static str {
        match self {
            Self::StartMigration | Self::RequestCode | Self::Register | Self::Reconcile { .. } => {
                "We are moving your number to its new provider; nothing is needed from you right \
                 now."
            }
            Self::VerifyCode => {
                "Please send us the 6-digit code WhatsApp sent to your number by SMS or voice call."
            }
            Self::RequestNewCode => {
                "The last verification code expired; we will send a new one to your number."
            }
            Self::AwaitConnected => {
                "Your number is registered and WhatsApp is connecting it; nothing is needed from \
                 you."
            }
            Self::ApproveOnBehalfRequest { .. } => {
                "Please approve the \"message on behalf\" request from your new provider in Meta \
                 Business Manager (Business settings, Requests)."
            }
            Self::DisableTwoStepVerification { .. } => {
                "Please ask your current WhatsApp provider to turn off two-step verification on \
                 your number."
            }
            Self::ResubmitWithCorrectBusinessId => {
                "Please confirm which Meta Business Manager account owns your number: it must be \
                 the one the new account was made for."
            }
            Self::AddAsNewNumber => {
                "Your number does not need to be moved: we will add it to your account directly."
            }
            Self::AppealBan => {
                "WhatsApp has banned your number: please request a review of the ban in WhatsApp \
                 Manager; we can move the number once it is lifted."
            }
            Self::StartOver => {
                "Your number is no longer in the account we were moving it to; we are checking \
                 where it is and will start the move again if needed."
            }
            Self::Done => "Your number has moved and is ready to send messages.",
            Self::ExchangeSignupCode | Self::SubscribeApp | Self::SetMigrationIntent => {
                "We are moving your number to its new provider; nothing is needed from you right \
                 now."
            }
            Self::FinishSignup => {
                "Please complete the sign-up window we sent you, sharing your WhatsApp Business \
                 account and number with us."
            }
            Self::AcceptMigrationIntent => {
                "Please accept our migration request in Meta Business Suite (Business settings, \
                 Requests, Received)."
            }
        }
    }

    /// The step to call next: the action's own step, or for a waiting action
    /// the step to retry once the person acted. `None` when no step can help
    /// (done, rejected, or a registered number Meta is still connecting: only
    /// a read — [`refresh`](crate::PortingClient::refresh) — is useful then).
    pub fn step(self) -> Option<Operation> {
        match self {
            Self::StartMigration => Some(Operation::StartMigration),
            Self::RequestCode | Self::RequestNewCode => Some(Operation::RequestCode),
            Self::VerifyCode => Some(Operation::VerifyCode),
            Self::Register => Some(Operation::Register),
            Self::FinishSignup | Self::ExchangeSignupCode => Some(Operation::ExchangeSignupCode),
            Self::SubscribeApp => Some(Operation::SubscribeApp),
            Self::SetMigrationIntent => Some(Operation::SetMigrationIntent),
            Self::AcceptMigrationIntent => Some(Operation::ReadMigrationIntent),
            Self::Reconcile { step }
            | Self::ApproveOnBehalfRequest { then: step }
            | Self::DisableTwoStepVerification { then: step } => Some(step),
            Self::ResubmitWithCorrectBusinessId
            | Self::AddAsNewNumber
            | Self::AppealBan
            | Self::StartOver
            | Self::AwaitConnected
            | Self::Done => None,
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
        Self::on_route(Route::Programmatic, phone_number, waba_id, business_id)
    }

    /// A new session of the Embedded Signup route, in
    /// [`AwaitingSignup`](PortingState::AwaitingSignup): the customer
    /// finishes the BSP's Embedded Signup popup, and its result goes to
    /// [`PortingClient::exchange_signup_code`](crate::PortingClient::exchange_signup_code).
    ///
    /// `waba_id` is the customer's WABA the popup shares (the number moves
    /// into it), `business_id` the customer's business: both from the
    /// popup's session info (or known beforehand).
    pub fn embedded_signup(
        phone_number: PhoneNumber,
        waba_id: WabaId,
        business_id: BusinessId,
    ) -> Self {
        Self::on_route(Route::EmbeddedSignup, phone_number, waba_id, business_id)
    }

    /// A new session of the Multi-Partner Solution migration route, in
    /// [`IntentDraft`](PortingState::IntentDraft): the WABA `waba_id`
    /// (with the number) moves, whole, to the solution `solution_id`.
    pub fn solution_migration(
        phone_number: PhoneNumber,
        waba_id: WabaId,
        business_id: BusinessId,
        solution_id: SolutionId,
    ) -> Self {
        Self::on_route(
            Route::SolutionMigration { solution_id },
            phone_number,
            waba_id,
            business_id,
        )
    }

    /// A new session of `route`, in the route's first state.
    pub fn on_route(
        route: Route,
        phone_number: PhoneNumber,
        waba_id: WabaId,
        business_id: BusinessId,
    ) -> Self {
        Self {
            format_version: FormatVersion,
            revision: 0,
            phone_number,
            waba_id,
            business_id,
            state: route.first_state(),
            route,
            destination_waba_id: None,
            not_before: None,
            own_wait: false,
            in_flight: None,
            register_calls: Vec::new(),
            code_unconfirmed: false,
            register_unconfirmed: false,
            last_read: None,
            last_failure: None,
            counters: Counters::default(),
            history: Vec::new(),
            events: EventLog::default(),
        }
    }

    /// The route the session takes.
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// The number being ported.
    pub fn phone_number(&self) -> &PhoneNumber {
        &self.phone_number
    }

    /// The destination WABA the session was made for; for a solution
    /// migration, the *source* WABA the intent is set on (see
    /// [`target_waba_id`](Self::target_waba_id)).
    pub fn waba_id(&self) -> &WabaId {
        &self.waba_id
    }

    /// The WABA Meta created for a solution migration when the customer
    /// accepted the intent; `None` before, and for other routes.
    pub fn destination_waba_id(&self) -> Option<&WabaId> {
        self.destination_waba_id.as_ref()
    }

    /// The WABA the number moves into: the
    /// [`destination_waba_id`](Self::destination_waba_id) of a solution
    /// migration once known, [`waba_id`](Self::waba_id) otherwise.
    pub fn target_waba_id(&self) -> &WabaId {
        self.destination_waba_id.as_ref().unwrap_or(&self.waba_id)
    }

    /// The customer's Business Manager id.
    pub fn business_id(&self) -> &BusinessId {
        &self.business_id
    }

    /// Where the port stands.
    pub fn state(&self) -> &PortingState {
        &self.state
    }

    /// The last [`HISTORY_LIMIT`] recorded outcomes, oldest first.
    pub fn history(&self) -> &[Transition] {
        &self.history
    }

    /// Counts over the whole session.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The step whose outcome is not known yet, if any (see [`InFlight`]).
    pub fn in_flight(&self) -> Option<&InFlight> {
        self.in_flight.as_ref()
    }

    /// Whether the session is waiting for a code whose request got no usable
    /// answer (`StepOutcome::CodeRequested { unconfirmed: true }`): Meta may
    /// or may not have sent it. Ask the customer; if no code arrived, call
    /// `request_code` again.
    pub fn code_request_unconfirmed(&self) -> bool {
        self.code_unconfirmed && self.state.name() == StateName::CodeRequested
    }

    /// The earliest time a retry makes sense, when the last answer said so
    /// (`Retry-After`, or a wait Meta documents). Set or cleared by every
    /// recorded failure, cleared by every success.
    pub fn not_before(&self) -> Option<Timestamp> {
        self.not_before
    }

    /// The times of the `register` calls sent within [`REGISTER_WINDOW`]
    /// before `now`, oldest first.
    pub fn register_calls(&self, now: Timestamp) -> impl Iterator<Item = Timestamp> + '_ {
        self.register_calls
            .iter()
            .copied()
            .filter(move |at| now.saturating_since(*at) < REGISTER_WINDOW)
    }

    /// When a `register` call fits in the budget again, if it does not now
    /// (see [`REGISTER_BUDGET`]).
    pub fn register_budget_frees_at(&self, now: Timestamp) -> Option<Timestamp> {
        let mut recent: Vec<Timestamp> = self.register_calls(now).collect();
        recent.sort_unstable();
        let excess = recent.len().checked_sub(REGISTER_BUDGET)?;
        recent
            .get(excess)
            .map(|oldest| oldest.saturating_add(REGISTER_WINDOW))
    }

    /// When the recorded calls leave room for another `register` within any
    /// 72-hour window: `None` while fewer than [`REGISTER_BUDGET`] are
    /// recorded (the record only keeps calls of the last window).
    fn register_budget_frees(&self) -> Option<Timestamp> {
        let mut calls = self.register_calls.clone();
        calls.sort_unstable();
        let excess = calls.len().checked_sub(REGISTER_BUDGET)?;
        calls
            .get(excess)
            .map(|oldest| oldest.saturating_add(REGISTER_WINDOW))
    }

    /// The revision of this session in its [`SessionStore`](crate::SessionStore):
    /// how many times it was saved there (0: never). Stores only accept a
    /// save of revision `n + 1` over a stored `n`, so a writer that loaded
    /// an older session can never overwrite a newer one.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Moves the session to its next revision, right before saving it
    /// ([`SessionStore::save`](crate::SessionStore::save)); returns it. The
    /// client does this for every checkpoint save (and undoes it when the
    /// save fails); call it yourself only when you save a session directly.
    pub fn next_revision(&mut self) -> u64 {
        self.revision = self.revision.saturating_add(1);
        self.revision
    }

    /// Sets the revision back after a failed save.
    pub(crate) fn set_revision(&mut self, revision: u64) {
        self.revision = revision;
    }

    /// When a worker should next look at the session: its next action's
    /// [`not_before`](NextStep::not_before) — `None` means now. What a
    /// store keeps in a column to [`claim`](crate::SessionStore::claim) due
    /// sessions.
    pub fn due_at(&self) -> Option<Timestamp> {
        self.next_action().not_before
    }

    /// Whether the port is finished (registered or rejected).
    pub fn is_finished(&self) -> bool {
        self.state.is_terminal()
    }

    /// What should happen next, who must act, and from when.
    pub fn next_action(&self) -> NextStep {
        let (action, actor) = match (&self.in_flight, &self.state) {
            (Some(flight), _) => (
                NextAction::Reconcile {
                    step: flight.operation,
                },
                Actor::Us,
            ),
            (None, PortingState::Draft) => (NextAction::StartMigration, Actor::Us),
            (None, PortingState::AwaitingSignup) => (NextAction::FinishSignup, Actor::Customer),
            (None, PortingState::SignupFinished { .. }) => {
                (NextAction::ExchangeSignupCode, Actor::Us)
            }
            (None, PortingState::Authorized { .. } | PortingState::IntentAccepted { .. }) => {
                (NextAction::SubscribeApp, Actor::Us)
            }
            (None, PortingState::DestinationReady { .. }) => {
                (NextAction::StartMigration, Actor::Us)
            }
            (None, PortingState::IntentDraft) => (NextAction::SetMigrationIntent, Actor::Us),
            (None, PortingState::AwaitingIntentAcceptance { .. }) => {
                (NextAction::AcceptMigrationIntent, Actor::Customer)
            }
            (
                None,
                PortingState::Initiated { .. }
                | PortingState::CodeRequested { .. }
                | PortingState::CodeVerified { .. },
            ) if self.code_expired() => (NextAction::RequestNewCode, Actor::Us),
            (None, PortingState::Initiated { .. }) => (NextAction::RequestCode, Actor::Us),
            (None, PortingState::CodeRequested { .. }) => (NextAction::VerifyCode, Actor::Customer),
            (None, PortingState::CodeVerified { .. }) => (NextAction::Register, Actor::Us),
            (None, PortingState::Registered { .. })
                if self.last_read.is_some_and(|read| !read.registered) =>
            {
                (NextAction::AwaitConnected, Actor::Nobody)
            }
            (None, PortingState::Registered { .. }) => (NextAction::Done, Actor::Nobody),
            (None, waiting @ PortingState::AwaitingOnBehalfApproval { step, .. }) => (
                NextAction::ApproveOnBehalfRequest {
                    then: self.after_wait(waiting, *step),
                },
                Actor::Customer,
            ),
            (None, waiting @ PortingState::AwaitingTwoStepDisable { step, .. }) => (
                NextAction::DisableTwoStepVerification {
                    then: self.after_wait(waiting, *step),
                },
                Actor::PreviousProvider,
            ),
            (
                None,
                PortingState::Rejected {
                    reason: RejectionReason::BusinessMismatch,
                },
            ) => (NextAction::ResubmitWithCorrectBusinessId, Actor::Customer),
            (
                None,
                PortingState::Rejected {
                    reason: RejectionReason::NumberBanned,
                },
            ) => (NextAction::AppealBan, Actor::Customer),
            (
                None,
                PortingState::Rejected {
                    reason:
                        RejectionReason::NumberDeleted
                        | RejectionReason::NumberMigrated
                        | RejectionReason::NumberUnlinked
                        | RejectionReason::IntentDeclined,
                },
            ) => (NextAction::StartOver, Actor::Us),
            (None, PortingState::Rejected { .. }) => (NextAction::AddAsNewNumber, Actor::Us),
        };
        // A register the budget would refuse is not due before the budget
        // frees up.
        let budget = match action {
            NextAction::Reconcile { .. } => None,
            action if action.step() == Some(Operation::Register) => self.register_budget_frees(),
            _ => None,
        };
        let not_before = match (self.not_before, budget) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        NextStep::new(
            action,
            actor,
            not_before.filter(|_| !self.state.is_terminal()),
        )
    }

    /// [`next_action`](Self::next_action) as of `now`: a `not_before` that
    /// has passed is dropped, so a stale wait does not linger in what a
    /// service shows.
    pub fn next_action_at(&self, now: Timestamp) -> NextStep {
        let mut next = self.next_action();
        next.not_before = next.not_before.filter(|until| *until > now);
        next
    }

    /// Whether the next action may be taken at `now` as far as time goes
    /// (see [`NextStep::is_due`]): false while a wait Meta asked for, or the
    /// register budget, holds it back.
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.next_action().is_due(now)
    }

    /// The last failure Meta answered for a step (kind, Graph code, message,
    /// `fbtrace_id`, remediation), kept across a save and reload. It stays
    /// after later successes (its `at` and `operation` say when and what);
    /// [`next_action`](Self::next_action) says what to do now.
    pub fn last_failure(&self) -> Option<&LastFailure> {
        self.last_failure.as_deref()
    }

    /// Attaches Meta's message to the failure just recorded: anything shaped
    /// like a PIN, a code or a token masked (a server may echo what it was
    /// sent, and the session is saved), cut to
    /// [`LastFailure::MESSAGE_LIMIT`] characters.
    pub(crate) fn attach_failure_message(&mut self, message: Option<&str>) {
        if let (Some(failure), Some(message)) = (&mut self.last_failure, message) {
            let scrubbed = crate::secret::scrub(message);
            failure.message = Some(scrubbed.chars().take(LastFailure::MESSAGE_LIMIT).collect());
        }
    }

    /// What the last read of the number showed
    /// ([`PortingClient::refresh`](crate::PortingClient::refresh), or the
    /// read that settled a step in flight), until a step succeeds after it.
    pub fn last_read(&self) -> Option<Observed> {
        self.last_read
    }

    /// Keeps what a read showed when the outcome it settled does not carry
    /// it (a lost code request recorded as possibly sent).
    pub(crate) fn note_read(&mut self, observed: Observed) {
        self.last_read = Some(observed);
    }

    /// Whether the last read showed the code expired
    /// (`code_verification_status: EXPIRED`), or Meta refused the code as
    /// expired ([`ApiErrorKind::VerificationCodeExpired`](crate::ApiErrorKind::VerificationCodeExpired),
    /// which [`last_read`](Self::last_read) then shows too), and no code was
    /// requested since: a new code must be requested before the port can go
    /// on.
    pub fn code_expired(&self) -> bool {
        self.last_read
            .is_some_and(|read| read.code_expired && !read.code_verified && !read.is_registered())
            && matches!(
                self.state.resume_point(),
                PortingState::Initiated { .. }
                    | PortingState::CodeRequested { .. }
                    | PortingState::CodeVerified { .. }
            )
    }

    /// The step a waiting state leads to once the person acted: a new code
    /// when the last one expired, else toward the refused step.
    fn after_wait(&self, waiting: &PortingState, step: Operation) -> Operation {
        if self.code_expired() {
            return Operation::RequestCode;
        }
        waiting.step_toward_refused().unwrap_or(step)
    }

    /// Checks that `operation` is legal now (nothing is changed).
    ///
    /// # Errors
    /// An [`IllegalTransition`] naming the steps the state allows.
    pub fn check(&self, operation: Operation) -> Result<(), IllegalTransition> {
        self.state.check(operation)
    }

    /// Applies a step's outcome (see [`PortingState::next_state`]) and records
    /// it in the history. The client calls this; call it yourself only when
    /// you drive the state machine with your own I/O.
    ///
    /// A success clears [`not_before`](Self::not_before) and the step in
    /// flight; a failure leaves both to the caller
    /// ([`set_not_before`](Self::set_not_before)).
    ///
    /// # Errors
    /// An [`IllegalTransition`] when the outcome answers a step the state
    /// does not allow; the session is left unchanged.
    pub fn apply(
        &mut self,
        outcome: StepOutcome,
        at: Timestamp,
    ) -> Result<&PortingState, IllegalTransition> {
        let next = self.state.next_state(&outcome, at)?;
        // Meta answered (a step, or a read): a wake a webhook left is done.
        self.events.clear_wake();
        // Meta answered a code (or a read settled a verify): the customer
        // answered every code request so far. A verify never sent answers
        // none.
        if outcome.operation() == Operation::VerifyCode {
            self.counters.code_requests_since_verify = 0;
        }
        match &outcome {
            StepOutcome::Failed { .. } => {
                self.counters.failures = self.counters.failures.saturating_add(1);
            }
            // Settling an unknown outcome is not an answer from Meta: a wait
            // Meta asked for stands.
            StepOutcome::Reconciled { .. }
            | StepOutcome::CodeRequested {
                unconfirmed: true, ..
            } => {
                self.in_flight = None;
            }
            // A read is no answer to a step: the step in flight and any wait
            // stand (unless the number moved past the step: below).
            StepOutcome::NumberRead { .. } => {}
            _ => {
                self.not_before = None;
                self.own_wait = false;
                self.in_flight = None;
            }
        }
        // A marker the new state cannot reconcile (a rejection, a read that
        // moved the number past the step) is settled by what moved it: a
        // saved session never holds a step its state does not allow.
        if self
            .in_flight
            .as_ref()
            .is_some_and(|flight| !next.allows(flight.operation))
        {
            self.in_flight = None;
        }
        if let StepOutcome::CodeRequested { unconfirmed, .. } = &outcome {
            self.code_unconfirmed = *unconfirmed;
        }
        if let StepOutcome::Failed {
            operation,
            kind,
            code,
            error_subcode,
            fbtrace_id,
        } = &outcome
        {
            self.last_failure = Some(Box::new(LastFailure {
                at,
                operation: *operation,
                kind: *kind,
                code: *code,
                error_subcode: *error_subcode,
                message: None,
                fbtrace_id: fbtrace_id.clone(),
            }));
        }
        // What a read showed holds until a step moves the number on.
        match &outcome {
            StepOutcome::NumberRead { observed }
            | StepOutcome::Reconciled { observed, .. }
            | StepOutcome::ExistingNumberAdopted { observed, .. } => {
                self.last_read = Some(*observed);
            }
            // Meta refused the code as expired: what a read would show.
            StepOutcome::Failed {
                kind: ApiErrorKind::VerificationCodeExpired,
                ..
            } => {
                let read = self.last_read.unwrap_or_default();
                self.last_read = Some(Observed {
                    code_expired: true,
                    code_verified: false,
                    ..read
                });
            }
            StepOutcome::Failed { .. } => {}
            _ => self.last_read = None,
        }
        // A pending intent is read again after the crate's own spacing,
        // which a webhook saying the customer acted may lift.
        if let StepOutcome::MigrationIntentRead {
            status: crate::state::IntentProgress::Pending,
        } = &outcome
        {
            self.not_before = Some(at.saturating_add(MIGRATION_INTENT_RECHECK));
            self.own_wait = true;
        }
        if let Some(destination) = next.destination_waba_id() {
            self.destination_waba_id = Some(destination.clone());
        }
        // Polling a number (or an intent) that does not change adds nothing
        // to the history.
        if let StepOutcome::NumberRead { .. } | StepOutcome::MigrationIntentRead { .. } = &outcome {
            let unchanged = next == self.state
                && self
                    .history
                    .last()
                    .is_some_and(|last| last.outcome == outcome);
            if unchanged {
                self.state = next;
                return Ok(&self.state);
            }
        }
        if next.name() != StateName::CodeRequested {
            self.code_unconfirmed = false;
        }
        // A registered session sends no more register calls: its budget
        // record has done its job (and keeps the saved session small).
        if next.name() == StateName::Registered {
            self.register_calls.clear();
            self.register_unconfirmed = false;
        }
        self.history.push(Transition {
            at,
            from: self.state.name(),
            to: next.name(),
            outcome,
        });
        self.trim_history();
        self.state = next;
        Ok(&self.state)
    }

    /// Whether a `register` of this session had an unknown outcome (and may
    /// have set the two-step PIN) and none has succeeded since.
    pub(crate) fn register_unconfirmed(&self) -> bool {
        self.register_unconfirmed
    }

    pub(crate) fn mark_register_unconfirmed(&mut self) {
        self.register_unconfirmed = true;
    }

    pub(crate) fn clear_register_unconfirmed(&mut self) {
        self.register_unconfirmed = false;
    }

    /// Drops the in-flight marker without reconciling, and returns it.
    ///
    /// The client settles markers itself (by reading the number); use this
    /// only when that read cannot succeed any more and you know the step's
    /// outcome another way — for example the number object was deleted and
    /// the port starts over. The register budget keeps the call.
    pub fn forget_in_flight(&mut self) -> Option<InFlight> {
        self.in_flight.take()
    }

    /// The webhook events applied to this session that meant something
    /// for the port (feature `webhooks`: `PortingSession::apply_event`),
    /// the newest [`EVENT_NOTES_LIMIT`](crate::EVENT_NOTES_LIMIT), oldest
    /// first: what Meta said happened (a WABA shared or deleted, a ban, a
    /// review), for the operator.
    pub fn event_notes(&self) -> &[EventNote] {
        self.events.notes()
    }

    /// When a webhook event woke the session, if Meta has not been read
    /// since (any outcome recorded, a read included, clears it): a
    /// [`Fleet`](crate::Fleet) reads the session's number or migration
    /// intent on its next pass, and sends a step Meta refused until
    /// someone acts again without waiting for
    /// [`recheck_after`](crate::FleetBuilder::recheck_after).
    pub fn woken_at(&self) -> Option<Timestamp> {
        self.events.pending_wake().map(|wake| wake.at)
    }

    /// The pending wake is being acted on (Meta is read now).
    pub(crate) fn clear_wake(&mut self) {
        self.events.clear_wake();
    }

    /// The session's memory of webhook events.
    pub(crate) fn events(&self) -> &EventLog {
        &self.events
    }

    /// The session's memory of webhook events, to record one.
    #[cfg_attr(not(feature = "webhooks"), allow(dead_code))]
    pub(crate) fn events_mut(&mut self) -> &mut EventLog {
        &mut self.events
    }

    /// Records that no retry makes sense before `until`.
    pub fn set_not_before(&mut self, until: Option<Timestamp>) {
        self.not_before = until;
        self.own_wait = false;
    }

    /// Lifts `not_before` if it is the crate's own spacing.
    #[cfg_attr(not(feature = "webhooks"), allow(dead_code))]
    pub(crate) fn lift_own_wait(&mut self) {
        if self.own_wait {
            self.not_before = None;
            self.own_wait = false;
        }
    }

    /// Marks `operation` as about to be sent at `at` (the write-ahead marker,
    /// for steps with a side effect) and counts it; a `register` call also
    /// spends budget.
    pub(crate) fn begin(
        &mut self,
        operation: Operation,
        at: Timestamp,
        code: Option<(CodeMethod, &Language)>,
    ) {
        let counter = match operation {
            Operation::StartMigration => &mut self.counters.start_requests,
            Operation::RequestCode => &mut self.counters.code_requests,
            Operation::VerifyCode => &mut self.counters.verify_requests,
            Operation::Register => &mut self.counters.register_requests,
            Operation::ReadPhoneNumber => &mut self.counters.reconciles,
            Operation::ExchangeSignupCode
            | Operation::ReadTokenScopes
            | Operation::SubscribeApp
            | Operation::SetMigrationIntent
            | Operation::ReadMigrationIntent
            | Operation::FetchSolutionToken => &mut self.counters.route_requests,
            // Not steps of a session.
            Operation::ListPhoneNumbers
            | Operation::SetTwoStepPin
            | Operation::ListSubscribedApps
            | Operation::ReadWaba
            | Operation::ListOnBehalfRequests
            | Operation::ReadLocalStorage
            | Operation::SetLocalStorage => return,
        };
        *counter = counter.saturating_add(1);
        if operation == Operation::RequestCode {
            let since = &mut self.counters.code_requests_since_verify;
            *since = since.saturating_add(1);
        }
        if operation == Operation::Register {
            self.register_calls
                .retain(|t| at.saturating_since(*t) < REGISTER_WINDOW);
            // Kept oldest first even if the clock stepped back.
            let index = self.register_calls.partition_point(|t| *t <= at);
            self.register_calls.insert(index, at);
        }
        if operation.has_side_effect() {
            self.in_flight = Some(InFlight {
                operation,
                since: at,
                method: code.map(|(method, _)| method),
                language: code.map(|(_, language)| language.clone()),
            });
        }
    }

    /// The step in flight got an answer that says what happened (or was
    /// never sent): clear the marker. `sent: false` also gives back the
    /// register budget it took.
    pub(crate) fn settle(&mut self, sent: bool) {
        let Some(flight) = self.in_flight.take() else {
            return;
        };
        if sent {
            return;
        }
        if flight.operation == Operation::RequestCode {
            let since = &mut self.counters.code_requests_since_verify;
            *since = since.saturating_sub(1);
        }
        let counter = match flight.operation {
            Operation::RequestCode => &mut self.counters.code_requests,
            Operation::VerifyCode => &mut self.counters.verify_requests,
            Operation::Register => &mut self.counters.register_requests,
            _ => return,
        };
        *counter = counter.saturating_sub(1);
        if flight.operation == Operation::Register {
            if let Some(pos) = self.register_calls.iter().rposition(|t| *t == flight.since) {
                self.register_calls.remove(pos);
            }
        }
    }

    fn trim_history(&mut self) {
        let excess = self.history.len().saturating_sub(HISTORY_LIMIT);
        if excess > 0 {
            self.history.drain(..excess);
            let dropped = u32::try_from(excess).unwrap_or(u32::MAX);
            self.counters.history_dropped = self.counters.history_dropped.saturating_add(dropped);
        }
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
    use crate::ids::{MigrationIntentId, PhoneNumberId};
    use crate::kind::ApiErrorKind;
    use crate::params::{CodeMethod, Language};
    use crate::state::IntentProgress;

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
                unconfirmed: false,
                sent_at: None,
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
            NextStep::new(NextAction::StartMigration, Actor::Us, None)
        );
        s.apply(
            StepOutcome::failed(Operation::StartMigration, ApiErrorKind::OnBehalfNotAccepted),
            t(5),
        )
        .unwrap();
        assert_eq!(
            s.next_action(),
            NextStep::new(
                NextAction::ApproveOnBehalfRequest {
                    then: Operation::StartMigration
                },
                Actor::Customer,
                None
            )
        );
        s.apply(
            StepOutcome::MigrationStarted {
                phone_number_id: id(),
            },
            t(6),
        )
        .unwrap();
        s.set_not_before(Some(t(100)));
        let waiting = s.next_action();
        assert_eq!(waiting.actor, Actor::Us, "a wait does not change who acts");
        assert_eq!(waiting.not_before, Some(t(100)));
        s.apply(
            StepOutcome::CodeRequested {
                method: CodeMethod::Voice,
                language: Language::default(),
                unconfirmed: false,
                sent_at: None,
            },
            t(7),
        )
        .unwrap();
        assert_eq!(s.not_before(), None, "a success clears the wait");
        assert_eq!(
            s.next_action(),
            NextStep::new(NextAction::VerifyCode, Actor::Customer, None)
        );
        s.apply(StepOutcome::CodeVerified, t(8)).unwrap();
        s.apply(
            StepOutcome::failed(Operation::Register, ApiErrorKind::TwoStepEnabled),
            t(9),
        )
        .unwrap();
        assert_eq!(
            s.next_action(),
            NextStep::new(
                NextAction::DisableTwoStepVerification {
                    then: Operation::Register
                },
                Actor::PreviousProvider,
                None
            )
        );
        s.apply(StepOutcome::Registered, t(10)).unwrap();
        assert_eq!(
            s.next_action(),
            NextStep::new(NextAction::Done, Actor::Nobody, None)
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
            StepOutcome::failed(Operation::StartMigration, ApiErrorKind::BusinessMismatch),
            t(1),
        )
        .unwrap();
        assert_eq!(
            s.next_action().action,
            NextAction::ResubmitWithCorrectBusinessId
        );
        let mut s = session();
        s.apply(
            StepOutcome::failed(
                Operation::StartMigration,
                ApiErrorKind::EligibleForDirectAdd,
            ),
            t(1),
        )
        .unwrap();
        assert_eq!(
            s.next_action(),
            NextStep::new(NextAction::AddAsNewNumber, Actor::Us, None)
        );
    }

    #[test]
    fn illegal_apply_changes_nothing() {
        let mut s = session();
        let before = s.clone();
        assert!(s.apply(StepOutcome::Registered, t(1)).is_err());
        assert_eq!(s, before);
    }

    fn number_read(registered: bool, verified: bool, expired: bool) -> StepOutcome {
        StepOutcome::NumberRead {
            observed: crate::state::Observed::new(registered, verified).with_code_expired(expired),
        }
    }

    fn at_code_requested() -> PortingSession {
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
                unconfirmed: false,
                sent_at: None,
            },
            t(2),
        )
        .unwrap();
        s
    }

    #[test]
    fn a_read_leaves_the_step_in_flight_and_the_wait() {
        let mut s = at_code_requested();
        s.begin(Operation::VerifyCode, t(3), None);
        s.set_not_before(Some(t(9_000)));
        s.apply(number_read(false, false, true), t(4)).unwrap();
        assert_eq!(
            s.in_flight().map(|f| f.operation),
            Some(Operation::VerifyCode)
        );
        assert_eq!(s.not_before(), Some(t(9_000)));
        // In flight, the marker wins: settle it before anything else.
        assert!(matches!(
            s.next_action().action,
            NextAction::Reconcile { .. }
        ));
        // A read that shows the number past the step settles the marker.
        s.apply(number_read(false, true, false), t(5)).unwrap();
        assert_eq!(s.in_flight(), None);
        assert_eq!(s.next_action().action, NextAction::Register);
        let back: PortingSession =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn an_expired_code_is_forgotten_once_a_new_one_is_requested() {
        let mut s = at_code_requested();
        s.apply(number_read(false, false, true), t(3)).unwrap();
        assert!(s.code_expired());
        assert_eq!(s.next_action().action, NextAction::RequestNewCode);
        // A failure leaves it; a success after it clears it.
        s.apply(
            StepOutcome::failed(
                Operation::VerifyCode,
                ApiErrorKind::VerificationCodeRejected,
            ),
            t(4),
        )
        .unwrap();
        assert!(s.code_expired());
        s.apply(
            StepOutcome::CodeRequested {
                method: CodeMethod::Voice,
                language: Language::default(),
                unconfirmed: false,
                sent_at: None,
            },
            t(5),
        )
        .unwrap();
        assert!(!s.code_expired());
        assert_eq!(s.last_read(), None);
        assert_eq!(s.next_action().action, NextAction::VerifyCode);
    }

    #[test]
    fn an_expired_code_while_waiting_leads_to_a_new_code() {
        let mut s = at_code_requested();
        s.apply(StepOutcome::CodeVerified, t(3)).unwrap();
        s.apply(
            StepOutcome::failed(Operation::Register, ApiErrorKind::TwoStepEnabled),
            t(4),
        )
        .unwrap();
        assert_eq!(
            s.next_action().action,
            NextAction::DisableTwoStepVerification {
                then: Operation::Register
            }
        );
        s.apply(number_read(false, false, true), t(5)).unwrap();
        assert_eq!(s.state().name(), StateName::AwaitingTwoStepDisable);
        assert_eq!(
            s.next_action().action,
            NextAction::DisableTwoStepVerification {
                then: Operation::RequestCode
            }
        );
    }

    #[test]
    fn a_lapsed_verification_leads_to_a_new_code_not_a_register() {
        let mut s = at_code_requested();
        s.apply(StepOutcome::CodeVerified, t(3)).unwrap();
        s.apply(number_read(false, false, true), t(4)).unwrap();
        assert_eq!(s.state().name(), StateName::Initiated);
        assert_eq!(s.next_action().action, NextAction::RequestNewCode);
        assert!(s.check(Operation::Register).is_err());
    }

    #[test]
    fn a_registered_number_read_not_connected_is_awaited() {
        let mut s = at_code_requested();
        s.apply(StepOutcome::CodeVerified, t(3)).unwrap();
        s.apply(StepOutcome::Registered, t(4)).unwrap();
        assert_eq!(s.next_action().action, NextAction::Done);
        s.apply(number_read(false, true, false), t(5)).unwrap();
        assert_eq!(s.next_action().action, NextAction::AwaitConnected);
        assert_eq!(s.next_action().actor, Actor::Nobody);
        assert_eq!(s.next_action().not_before, None);
        s.apply(number_read(true, true, false), t(6)).unwrap();
        assert_eq!(s.next_action().action, NextAction::Done);
    }

    mod machine_properties {
        use super::*;
        use crate::state::Observed;
        use proptest::prelude::*;

        fn outcome() -> impl Strategy<Value = StepOutcome> {
            let ops = prop_oneof![
                Just(Operation::StartMigration),
                Just(Operation::RequestCode),
                Just(Operation::VerifyCode),
                Just(Operation::Register),
            ];
            let kinds = prop_oneof![
                Just(ApiErrorKind::OnBehalfNotAccepted),
                Just(ApiErrorKind::TwoStepEnabled),
                Just(ApiErrorKind::NumberNotVerified),
                Just(ApiErrorKind::Temporary),
                Just(ApiErrorKind::EligibleForDirectAdd),
            ];
            let observed = (any::<bool>(), any::<bool>(), any::<bool>())
                .prop_map(|(r, v, e)| Observed::new(r, v).with_code_expired(e));
            prop_oneof![
                Just(StepOutcome::MigrationStarted {
                    phone_number_id: id()
                }),
                (any::<bool>()).prop_map(|unconfirmed| StepOutcome::CodeRequested {
                    method: CodeMethod::Sms,
                    language: Language::default(),
                    unconfirmed,
                    sent_at: None,
                }),
                Just(StepOutcome::CodeVerified),
                Just(StepOutcome::Registered),
                (ops.clone(), observed.clone()).prop_map(|(operation, observed)| {
                    StepOutcome::Reconciled {
                        operation,
                        observed,
                    }
                }),
                observed
                    .clone()
                    .prop_map(|observed| StepOutcome::NumberRead { observed }),
                observed.prop_map(|observed| StepOutcome::ExistingNumberAdopted {
                    phone_number_id: id(),
                    observed,
                }),
                (ops, kinds).prop_map(|(op, kind)| StepOutcome::failed(op, kind)),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Whatever the machine accepts, in any order, the saved session
            /// loads back as it was (the checkpoint never holds JSON the
            /// next process cannot open), and next_action never panics.
            #[test]
            fn every_reachable_session_round_trips(
                outcomes in proptest::collection::vec((outcome(), any::<bool>()), 1..24)
            ) {
                let mut s = session();
                for (n, (outcome, mark)) in outcomes.into_iter().enumerate() {
                    let at = t(1_000 * (n as u64 + 1));
                    if mark {
                        // A step marked in flight, when legal, as the client does.
                        if let Some(op) = s.state().allowed_steps().into_iter()
                            .find(|op| op.has_side_effect())
                        {
                            let code = (CodeMethod::Sms, &Language::default());
                            s.begin(op, at, (op == Operation::RequestCode).then_some(code));
                        }
                    }
                    if s.apply(outcome, at).is_err() {
                        continue;
                    }
                    let _ = s.next_action();
                    let json = serde_json::to_string(&s).unwrap();
                    let back: Result<PortingSession, _> = serde_json::from_str(&json);
                    prop_assert!(back.is_ok(), "{:?}\n{}", back.err(), json);
                    prop_assert_eq!(back.unwrap(), s.clone());
                }
            }
        }
    }

    fn solution() -> SolutionId {
        SolutionId::new("4455667788").unwrap()
    }

    #[test]
    fn a_session_saved_before_routes_loads_as_programmatic_and_keeps_its_form() {
        let s = session();
        let json = serde_json::to_string(&s).unwrap();
        assert!(!json.contains("route"), "{json}");
        let back: PortingSession = serde_json::from_str(&json).unwrap();
        assert_eq!(back.route(), &Route::Programmatic);
        assert_eq!(back.next_action().action, NextAction::StartMigration);
    }

    #[test]
    fn each_route_starts_in_its_own_state_with_its_own_actor() {
        let phone = PhoneNumber::parse("+14155550123").unwrap();
        let waba = WabaId::new("102290129340398").unwrap();
        let business = BusinessId::new("106540352242922").unwrap();
        let es = PortingSession::embedded_signup(phone.clone(), waba.clone(), business.clone());
        assert_eq!(es.state(), &PortingState::AwaitingSignup);
        assert_eq!(es.next_action().action, NextAction::FinishSignup);
        assert_eq!(es.next_action().actor, Actor::Customer);
        let mps = PortingSession::solution_migration(phone, waba.clone(), business, solution());
        assert_eq!(mps.state(), &PortingState::IntentDraft);
        assert_eq!(mps.next_action().action, NextAction::SetMigrationIntent);
        assert_eq!(mps.target_waba_id(), &waba);
        // Round trip, route included.
        for s in [es, mps] {
            let json = serde_json::to_string(&s).unwrap();
            let back: PortingSession = serde_json::from_str(&json).unwrap();
            assert_eq!(back, s);
        }
    }

    #[test]
    fn a_state_of_another_route_is_refused_at_load() {
        let mut json = serde_json::to_value(session()).unwrap();
        json["state"] = serde_json::json!({"state": "intent_draft"});
        let err = serde_json::from_value::<PortingSession>(json.clone()).unwrap_err();
        assert!(err.to_string().contains("route"), "{err}");
        json["route"] = serde_json::json!({"kind": "embedded_signup"});
        assert!(serde_json::from_value::<PortingSession>(json.clone()).is_err());
        json["route"] =
            serde_json::json!({"kind": "solution_migration", "solution_id": "4455667788"});
        assert!(serde_json::from_value::<PortingSession>(json).is_ok());
    }

    #[test]
    fn a_solution_migration_remembers_the_waba_meta_created() {
        let mut s = PortingSession::solution_migration(
            PhoneNumber::parse("+14155550123").unwrap(),
            WabaId::new("102290129340398").unwrap(),
            BusinessId::new("106540352242922").unwrap(),
            solution(),
        );
        let intent = MigrationIntentId::new("778899").unwrap();
        s.apply(
            StepOutcome::MigrationIntentSet {
                intent_id: intent.clone(),
            },
            t(1),
        )
        .unwrap();
        assert_eq!(s.next_action().action, NextAction::AcceptMigrationIntent);
        assert_eq!(s.next_action().actor, Actor::Customer);
        // Polling a pending intent adds nothing to the history.
        for at in 2..5 {
            s.apply(
                StepOutcome::MigrationIntentRead {
                    status: IntentProgress::Pending,
                },
                t(at),
            )
            .unwrap();
        }
        assert_eq!(s.history().len(), 2, "{:?}", s.history());
        let destination = WabaId::new("555000").unwrap();
        s.apply(
            StepOutcome::MigrationIntentRead {
                status: IntentProgress::Accepted {
                    destination_waba_id: destination.clone(),
                },
            },
            t(5),
        )
        .unwrap();
        assert_eq!(s.next_action().action, NextAction::SubscribeApp);
        s.apply(StepOutcome::AppSubscribed { verified: false }, t(6))
            .unwrap();
        assert_eq!(s.next_action().action, NextAction::StartMigration);
        s.apply(
            StepOutcome::MigrationStarted {
                phone_number_id: id(),
            },
            t(7),
        )
        .unwrap();
        assert_eq!(s.next_action().action, NextAction::Register);
        // The state no longer names the destination; the session does.
        assert_eq!(s.state().destination_waba_id(), None);
        assert_eq!(s.destination_waba_id(), Some(&destination));
        assert_eq!(s.target_waba_id(), &destination);
        let back: PortingSession =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back.target_waba_id(), &destination);
    }
}
