//! The classified Graph API error cases and what each one means for the user.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Recovery};

/// What a Graph API error means for a port, classified from its code, subcode
/// and text (see the crate docs for the full table).
///
/// The first six variants are the troubleshooting cases every BSP documents
/// for customers; the rest are the other migration, registration, auth,
/// throttling and temporary errors Meta documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ApiErrorKind {
    // --- The six troubleshooting cases -------------------------------------
    /// "Message on behalf request not yet accepted": the customer has not
    /// approved the destination WABA's "Messaging For" request
    /// (2388103 "…"Messaging For" request must be approved").
    OnBehalfNotAccepted,
    /// "Two-factor authentication not yet disabled": two-step verification is
    /// still on with the previous BSP ("Two-step authentication must be
    /// disabled…", or 133005 "PIN incorrect" at `register`).
    TwoStepEnabled,
    /// "Eligible to be added directly, and does not need to be ported"
    /// (2388103 "Please add this phone number…", 2388091, 2388093).
    EligibleForDirectAdd,
    /// "Already been moved to your destination WhatsApp Account" (2388012).
    /// The client resolves this itself at `start` by looking the number up.
    AlreadyInDestination,
    /// "Source and destination … need to represent the same business"
    /// (2388103 "…belongs to a different Business Manager account").
    BusinessMismatch,
    /// "Something went wrong when trying to migrate your phone number"
    /// (2388103 "There was an error migrating…", or any 2388103 text this
    /// crate does not recognise).
    MigrationFailed,

    // --- Other migration errors --------------------------------------------
    /// 2388103 "Cannot migrate phone number.": no app is subscribed to the
    /// destination WABA's webhooks.
    DestinationWebhookMissing,
    /// 2388103 "Registered name should be present and approved.": the display
    /// name is not approved or a name change is pending.
    DisplayNameNotApproved,
    /// 2388103 "…is not set up correctly.": the source WABA is not approved or
    /// its own "message on behalf" request is not approved.
    SourceAccountNotReady,
    /// 2388103 "…does not have a payment account.": the destination WABA has
    /// no payment method (credit line).
    DestinationPaymentMissing,
    /// 2388103 "Your WhatsApp account must be approved": the destination WABA
    /// is not approved.
    DestinationNotApproved,
    /// 2494100 "Account is in maintenance mode.".
    MaintenanceMode,

    // --- Registration and PIN -----------------------------------------------
    /// 133005 outside `register`: the two-step verification PIN is wrong.
    PinIncorrect,
    /// 133006: the number must be verified (code) before registering.
    NumberNotVerified,
    /// 133008: too many PIN guesses; wait the time Meta gives in `details`.
    TooManyPinGuesses,
    /// 133009: PIN entered too quickly after the previous attempt.
    PinTooQuick,
    /// 133015: the number was deleted recently; wait 5 minutes.
    RecentlyDeleted,
    /// 133016: 10 register/deregister calls in 72 hours; the number is
    /// blocked for 72 hours.
    RegisterLimitReached,
    /// 133000: a previous deregistration failed.
    PreviousDeregistrationFailed,
    /// 133010: the number is not registered.
    NumberNotRegistered,
    /// 33: the phone number has been deleted.
    NumberDeleted,
    /// 100, 131008, 131009: a parameter is missing or invalid.
    InvalidParameter,
    /// 136025, or Meta's 100 "The verification code is invalid or has
    /// expired" ("Verification Failed"): the verification code was refused
    /// as wrong (a code that expired is
    /// [`VerificationCodeExpired`](Self::VerificationCodeExpired)). The
    /// customer gives the code again, exactly.
    VerificationCodeRejected,

    // --- Auth, throttling, temporary ----------------------------------------
    /// 190: the access token is invalid or expired.
    InvalidAccessToken,
    /// 0, 3, 10, 200–299: the token lacks a permission for this object.
    PermissionDenied,
    /// 368: the account is restricted for a policy violation.
    AccountRestricted,
    /// 4, 17, 32, 341, 613, 80007, 130429: a rate limit was hit (613 is also
    /// "too many verification code requests").
    RateLimited,
    /// 1, 2, 131000, 131016, 133004: a temporary error on Meta's side.
    Temporary,

    /// A code this crate does not know. The raw fields are kept. A saved
    /// session naming a case this version does not know (written by a newer
    /// version) loads it as `Unknown`.
    Unknown,

    /// The verification code expired (codes are "time-limited (typically 10
    /// minutes) and single-use" by Meta's OpenAPI description; see
    /// [`CODE_LIFETIME`](crate::CODE_LIFETIME) for the source): 136025
    /// "…has expired", or
    /// Meta's 100 "The verification code is invalid or has expired"
    /// ("Verification Failed") for a code older than its lifetime. Nobody
    /// needs to be asked: request a new code
    /// ([`NextAction::RequestNewCode`](crate::NextAction::RequestNewCode)).
    VerificationCodeExpired,

    // --- Errors Meta's OpenAPI description defines --------------------------
    /// 803 "Phone number not found" (HTTP 404): the phone number id does not
    /// exist, or the token cannot see it.
    PhoneNumberNotFound,
    /// 803 "WhatsApp Business Account not found" (HTTP 404, at
    /// `start_migration`), or "The WhatsApp Business Account associated
    /// with this phone number could not be found" (at a number's steps):
    /// the WABA does not exist, or the token cannot see it. (803 "This
    /// phone number has been deleted…" is
    /// [`NumberDeleted`](Self::NumberDeleted).)
    WabaNotFound,
    /// 104 "An access token is required to request this resource" (HTTP
    /// 401): the request reached Meta without a token. The client always
    /// sends one, so something on the way removed it.
    AccessTokenMissing,
    /// 200 with subcode 1349175 "Phone number limit exceeded for this
    /// WhatsApp Business Account" (title "Limit Exceeded", HTTP 403, at
    /// `start_migration`): the destination WABA holds as many numbers as
    /// Meta lets it.
    PhoneNumberLimitReached,
    /// 200 with subcode 1349175 "Your app is not linked to the WhatsApp
    /// Business Account that owns this phone number" (HTTP 403): the same
    /// subcode as [`PhoneNumberLimitReached`](Self::PhoneNumberLimitReached),
    /// told apart by its message.
    AppNotLinked,
    /// 100 "Phone number is already registered with WhatsApp Business"
    /// (HTTP 409, at `start_migration`) or "Phone number is already
    /// registered or in invalid state for registration" (HTTP 422, at
    /// `register`). The client reads the number itself and continues from
    /// where it stands in the destination (at `start_migration` as for
    /// 2388012; at `register`, `Registered` when the number is connected):
    /// this error is what is left when the number is not there.
    AlreadyRegistered,
    /// Embedded Signup: the popup's authorization code cannot be exchanged
    /// for a business token (OAuth error 100: the code expired, was used
    /// already, or belongs to another app). The customer finishes the
    /// popup again for a new code.
    SignupCodeRefused,
    /// Embedded Signup: the business token does not grant the app the
    /// session's WABA (or its number): the customer did not share it in
    /// the popup. The customer finishes the popup again, sharing them.
    AssetsNotShared,
}

/// The facts of one case, kept together so that every method reads one row.
struct Row {
    title: &'static str,
    recovery: Recovery,
    actor: Actor,
    wait: Option<Duration>,
    remediation: &'static str,
}

const MINUTE: Duration = Duration::from_secs(60);

impl ApiErrorKind {
    fn row(self) -> Row {
        use ApiErrorKind::*;
        use Recovery::*;
        let row = |title, recovery, actor, remediation| Row {
            title,
            recovery,
            actor,
            wait: None,
            remediation,
        };
        match self {
            OnBehalfNotAccepted => row(
                "Message on behalf request not yet accepted",
                AfterAction,
                Actor::Customer,
                "The customer must approve the message-on-behalf request from the destination WABA: \
                 in Business Manager open Business Settings > Requests > Received and click Approve \
                 (an email notification links there too). If the request is not listed, check that \
                 the Business Manager the customer uses has the same id as the one in the session. \
                 Then retry the step.",
            ),
            TwoStepEnabled => row(
                "Two-factor authentication not yet disabled",
                AfterAction,
                Actor::PreviousProvider,
                "Two-step verification is still on for this number. The BSP currently in charge of \
                 the number (or the customer, in that BSP's dashboard) must disable it; there is no \
                 API to disable it from the destination. Confirm it is off, then retry the step.",
            ),
            EligibleForDirectAdd => row(
                "Number is eligible to be added directly and does not need to be ported",
                NotPossible,
                Actor::Us,
                "Do not port this number: add it to the destination WABA as a new phone number \
                 (the regular sign-up / add-number flow) instead.",
            ),
            AlreadyInDestination => row(
                "Number has already been moved to the destination WhatsApp account",
                Continue,
                Actor::Us,
                "The number is already in the destination WABA: look up its phone number id \
                 (GET /{waba-id}/phone_numbers) and continue from there instead of starting over.",
            ),
            BusinessMismatch => row(
                "Source and destination WhatsApp accounts must represent the same business",
                WithCorrectedInput,
                Actor::Customer,
                "The destination WABA was not made for the business that owns the number's \
                 current WABA. A new session with another business id alone changes nothing (the \
                 request does not carry it): the destination WABA must be created on behalf of, \
                 or shared with, the business that owns the number. Confirm that business in \
                 Business Manager or with the previous BSP, port into a WABA made for it, and \
                 run PortingClient::check_readiness first: it compares the two.",
            ),
            MigrationFailed => row(
                "Something went wrong when trying to migrate the phone number",
                RetryLater,
                Actor::Us,
                "An unexpected error occurred on Meta's side. Retry after some time; if it keeps \
                 failing, contact support with the phone number, the WABA ids and the fbtrace_id.",
            ),
            DestinationWebhookMissing => row(
                "Destination WABA has no app subscribed to its webhooks",
                AfterAction,
                Actor::Us,
                "Subscribe at least one app to the destination WABA's webhooks \
                 (PortingClient::subscribe_app, POST /{waba-id}/subscribed_apps), then retry.",
            ),
            DisplayNameNotApproved => row(
                "Display name is not approved",
                AfterAction,
                Actor::Customer,
                "The number needs an approved display name and no pending name change. Wait for \
                 the review (or fix the name in WhatsApp Manager), then retry.",
            ),
            SourceAccountNotReady => row(
                "Source WhatsApp account is not set up correctly",
                AfterAction,
                Actor::PreviousProvider,
                "The WABA the number is in now must be approved and its own message-on-behalf \
                 request accepted. The previous BSP or the customer must fix it, then retry.",
            ),
            DestinationPaymentMissing => row(
                "Destination WABA has no payment method",
                AfterAction,
                Actor::Us,
                "Attach a payment method (credit line) to the destination WABA, then retry.",
            ),
            DestinationNotApproved => row(
                "Destination WABA is not approved",
                AfterAction,
                Actor::Us,
                "The destination WABA must be approved (and its business verified) before numbers \
                 can move into it. Finish the review, then retry.",
            ),
            MaintenanceMode => Row {
                wait: Some(5 * MINUTE),
                ..row(
                    "Account is in maintenance mode",
                    RetryLater,
                    Actor::Us,
                    "The account is in maintenance mode. Retry in a few minutes.",
                )
            },
            PinIncorrect => row(
                "Two-step verification PIN is incorrect",
                WithCorrectedInput,
                Actor::Us,
                "The PIN does not match the number's two-step verification PIN. Use the right PIN, \
                 or have two-step verification disabled and set a new one. After a register of \
                 this session whose outcome was unknown, that register may have set the PIN: \
                 register with the PIN it used.",
            ),
            NumberNotVerified => row(
                "Phone number must be verified before registering",
                WithCorrectedInput,
                Actor::Us,
                "Request a verification code and verify it before calling register.",
            ),
            TooManyPinGuesses => row(
                "Too many PIN attempts",
                RetryLater,
                Actor::Us,
                "Too many wrong PINs. Wait the time Meta gives in the error details, then retry \
                 with the correct PIN.",
            ),
            PinTooQuick => row(
                "PIN entered too quickly",
                RetryLater,
                Actor::Us,
                "Attempts came too fast. Wait a little, then retry.",
            ),
            RecentlyDeleted => Row {
                wait: Some(5 * MINUTE),
                ..row(
                    "Phone number was deleted recently",
                    RetryLater,
                    Actor::Us,
                    "The number was deleted recently. Wait 5 minutes, then retry.",
                )
            },
            RegisterLimitReached => Row {
                wait: Some(72 * 60 * MINUTE),
                ..row(
                    "Register/deregister limit reached",
                    RetryLater,
                    Actor::Us,
                    "The number was registered or deregistered 10 times within 72 hours and is \
                     blocked for 72 hours. Do not retry before then: each attempt may extend it.",
                )
            },
            PreviousDeregistrationFailed => row(
                "A previous deregistration failed",
                AfterAction,
                Actor::Us,
                "A previous deregistration of this number failed. Deregister it again, then \
                 register.",
            ),
            NumberNotRegistered => row(
                "Phone number is not registered",
                AfterAction,
                Actor::Us,
                "The number is not registered. Register it first.",
            ),
            NumberDeleted => row(
                "Phone number has been deleted",
                NotPossible,
                Actor::Us,
                "The phone number object was deleted. Start a new port for the number.",
            ),
            InvalidParameter => row(
                "Invalid or missing parameter",
                WithCorrectedInput,
                Actor::Us,
                "A request parameter is missing or invalid; the error details say which. Fix the \
                 input and retry.",
            ),
            VerificationCodeRejected => row(
                "Verification code rejected",
                WithCorrectedInput,
                Actor::Customer,
                "The code was refused as wrong. The customer reads the latest SMS or call again \
                 and gives the code exactly; if none arrived, or it is older than ten minutes, \
                 call request_code for a new one.",
            ),
            InvalidAccessToken => row(
                "Access token is invalid or expired",
                WithCorrectedInput,
                Actor::Us,
                "Get a new access token for the destination WABA (a system user token with \
                 whatsapp_business_management and whatsapp_business_messaging) and retry.",
            ),
            PermissionDenied => row(
                "Permission denied",
                WithCorrectedInput,
                Actor::Us,
                "The token lacks a permission on this object. Grant whatsapp_business_management \
                 (and whatsapp_business_messaging for register) on the destination WABA, then \
                 retry.",
            ),
            AccountRestricted => row(
                "Account restricted",
                AfterAction,
                Actor::Support,
                "The account is restricted for a policy violation. Resolve it in Business Support \
                 Home before retrying.",
            ),
            RateLimited => row(
                "Rate limit hit",
                RetryLater,
                Actor::Us,
                "Too many requests. Wait (honour Retry-After when given), then retry with backoff.",
            ),
            Temporary => row(
                "Temporary error",
                RetryLater,
                Actor::Us,
                "A temporary error on Meta's side. Retry with backoff.",
            ),
            VerificationCodeExpired => row(
                "Verification code expired",
                AfterAction,
                Actor::Us,
                "The code expired before it was verified (codes live about ten minutes). Call \
                 request_code for a new one (Meta limits how often: wait if it says to) and verify \
                 the new code; the customer only reads the new SMS or call.",
            ),
            PhoneNumberNotFound => row(
                "Phone number not found",
                WithCorrectedInput,
                Actor::Us,
                "Meta does not know this phone number id, or the access token cannot see it. \
                 Check that the token belongs to the destination WABA's business (a system user \
                 with access to that WABA) and that the number is still listed in the destination \
                 WABA (PortingClient::list_phone_numbers, GET /{waba-id}/phone_numbers). If it \
                 was removed from the WABA, start a new port for the number.",
            ),
            WabaNotFound => row(
                "WhatsApp Business Account not found",
                WithCorrectedInput,
                Actor::Us,
                "Meta does not know the WABA, or the access token cannot see it. Check the \
                 session's WABA id and that the token's business owns the WABA or has it shared \
                 with it. A WABA that was deleted cannot take the number: port into another WABA \
                 with a new session.",
            ),
            AccessTokenMissing => row(
                "Access token missing from the request",
                WithCorrectedInput,
                Actor::Us,
                "The request reached Meta without an access token. The client always sends the \
                 one it was built with in the Authorization header, so something on the way \
                 removed it: check the transport (a custom Transport, a proxy that strips \
                 Authorization) and the base URL, then retry.",
            ),
            PhoneNumberLimitReached => row(
                "Destination WABA has reached its phone number limit",
                AfterAction,
                Actor::Us,
                "The destination WABA holds as many phone numbers as Meta allows it. Delete the \
                 numbers it no longer needs (WhatsApp Manager) or ask Meta to raise the limit, \
                 then start the migration again.",
            ),
            AppNotLinked => row(
                "App is not linked to the WhatsApp Business Account of this number",
                AfterAction,
                Actor::Us,
                "Our app has no access to the WABA that owns this number. Have the WABA linked \
                 to the app (the business completes Embedded Signup, or assigns the WABA to our \
                 system user in Business Manager) and use a token of that app, then retry.",
            ),
            AlreadyRegistered => row(
                "Phone number is already registered",
                AfterAction,
                Actor::Us,
                "Meta says the number is already registered (at register: or in a state that \
                 cannot be registered). PortingClient reads the number itself and continues \
                 when it is in the destination WABA (registered, at register); this error means \
                 it is not: it is still registered somewhere else. Read where it stands \
                 (PortingClient::refresh), find with the customer where it is registered \
                 (another WABA or provider, the WhatsApp Business app) and have it released \
                 there, then retry the step.",
            ),
            SignupCodeRefused => row(
                "Embedded Signup authorization code refused",
                AfterAction,
                Actor::Customer,
                "The popup's authorization code can no longer be exchanged (codes are single-use \
                 and short-lived; or the app id and secret are not the popup's app). The customer \
                 finishes the Embedded Signup popup again; exchange the new code at once.",
            ),
            AssetsNotShared => row(
                "WABA not shared with the app in Embedded Signup",
                AfterAction,
                Actor::Customer,
                "The customer's business token does not grant our app the session's WhatsApp \
                 Business Account (whatsapp_business_management). The customer finishes the \
                 Embedded Signup popup again and shares that WABA and number.",
            ),
            Unknown => row(
                "Unrecognised Graph API error",
                AfterAction,
                Actor::Support,
                "An error this crate does not classify. Read the message and details; if unclear, \
                 contact support with the fbtrace_id.",
            ),
        }
    }

    /// Every case, in declaration order.
    pub const ALL: [Self; 38] = [
        Self::OnBehalfNotAccepted,
        Self::TwoStepEnabled,
        Self::EligibleForDirectAdd,
        Self::AlreadyInDestination,
        Self::BusinessMismatch,
        Self::MigrationFailed,
        Self::DestinationWebhookMissing,
        Self::DisplayNameNotApproved,
        Self::SourceAccountNotReady,
        Self::DestinationPaymentMissing,
        Self::DestinationNotApproved,
        Self::MaintenanceMode,
        Self::PinIncorrect,
        Self::NumberNotVerified,
        Self::TooManyPinGuesses,
        Self::PinTooQuick,
        Self::RecentlyDeleted,
        Self::RegisterLimitReached,
        Self::PreviousDeregistrationFailed,
        Self::NumberNotRegistered,
        Self::NumberDeleted,
        Self::InvalidParameter,
        Self::VerificationCodeRejected,
        Self::InvalidAccessToken,
        Self::PermissionDenied,
        Self::AccountRestricted,
        Self::RateLimited,
        Self::Temporary,
        Self::Unknown,
        Self::VerificationCodeExpired,
        Self::PhoneNumberNotFound,
        Self::WabaNotFound,
        Self::AccessTokenMissing,
        Self::PhoneNumberLimitReached,
        Self::AppNotLinked,
        Self::AlreadyRegistered,
        Self::SignupCodeRefused,
        Self::AssetsNotShared,
    ];

    /// The case's stable snake_case name, as serde writes it
    /// (`"on_behalf_not_accepted"`): for metrics labels and JSON. The
    /// `Display` form is the human [`title`](Self::title).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnBehalfNotAccepted => "on_behalf_not_accepted",
            Self::TwoStepEnabled => "two_step_enabled",
            Self::EligibleForDirectAdd => "eligible_for_direct_add",
            Self::AlreadyInDestination => "already_in_destination",
            Self::BusinessMismatch => "business_mismatch",
            Self::MigrationFailed => "migration_failed",
            Self::DestinationWebhookMissing => "destination_webhook_missing",
            Self::DisplayNameNotApproved => "display_name_not_approved",
            Self::SourceAccountNotReady => "source_account_not_ready",
            Self::DestinationPaymentMissing => "destination_payment_missing",
            Self::DestinationNotApproved => "destination_not_approved",
            Self::MaintenanceMode => "maintenance_mode",
            Self::PinIncorrect => "pin_incorrect",
            Self::NumberNotVerified => "number_not_verified",
            Self::TooManyPinGuesses => "too_many_pin_guesses",
            Self::PinTooQuick => "pin_too_quick",
            Self::RecentlyDeleted => "recently_deleted",
            Self::RegisterLimitReached => "register_limit_reached",
            Self::PreviousDeregistrationFailed => "previous_deregistration_failed",
            Self::NumberNotRegistered => "number_not_registered",
            Self::NumberDeleted => "number_deleted",
            Self::InvalidParameter => "invalid_parameter",
            Self::VerificationCodeRejected => "verification_code_rejected",
            Self::InvalidAccessToken => "invalid_access_token",
            Self::PermissionDenied => "permission_denied",
            Self::AccountRestricted => "account_restricted",
            Self::RateLimited => "rate_limited",
            Self::Temporary => "temporary",
            Self::Unknown => "unknown",
            Self::VerificationCodeExpired => "verification_code_expired",
            Self::PhoneNumberNotFound => "phone_number_not_found",
            Self::WabaNotFound => "waba_not_found",
            Self::AccessTokenMissing => "access_token_missing",
            Self::PhoneNumberLimitReached => "phone_number_limit_reached",
            Self::AppNotLinked => "app_not_linked",
            Self::AlreadyRegistered => "already_registered",
            Self::SignupCodeRefused => "signup_code_refused",
            Self::AssetsNotShared => "assets_not_shared",
        }
    }

    /// A short, stable, human title for the case.
    pub fn title(self) -> &'static str {
        self.row().title
    }

    /// What a retry needs.
    pub fn recovery(self) -> Recovery {
        self.row().recovery
    }

    /// Who must act before the step can succeed.
    pub fn who_must_act(self) -> Actor {
        self.row().actor
    }

    /// What to do, in plain words.
    pub fn remediation(self) -> &'static str {
        self.row().remediation
    }

    /// One plain sentence a support agent can read to the customer, with no
    /// API or Rust terms and no session needed (the developer's fix is
    /// [`remediation`](Self::remediation)).
    pub fn customer_message(self) -> &'static str {
        use ApiErrorKind::*;
        match self {
            OnBehalfNotAccepted => {
                "Please approve the \"message on behalf\" request from your new provider in Meta \
                 Business Manager (Business settings, Requests)."
            }
            TwoStepEnabled => {
                "Please ask your current WhatsApp provider to turn off two-step verification on \
                 your number."
            }
            EligibleForDirectAdd => {
                "Your number does not need to be moved: we will add it to your account directly."
            }
            AlreadyInDestination => {
                "Your number is already in your new account; we are picking up from there."
            }
            BusinessMismatch => {
                "Please confirm which Meta Business Manager account owns your number: it must be \
                 the one your new account was made for."
            }
            MigrationFailed | Temporary | MaintenanceMode => {
                "WhatsApp had a temporary problem moving your number; we will try again shortly, \
                 nothing is needed from you."
            }
            DestinationWebhookMissing
            | DestinationPaymentMissing
            | DestinationNotApproved
            | PhoneNumberLimitReached => {
                "We need to finish setting up your new account before your number can move; \
                 nothing is needed from you."
            }
            DisplayNameNotApproved => {
                "Your business display name needs WhatsApp's approval before the number can \
                 move; please check its status in WhatsApp Manager."
            }
            SourceAccountNotReady => {
                "Your current WhatsApp account is not fully set up; please ask your current \
                 provider to finish its approval."
            }
            PinIncorrect | TooManyPinGuesses | PinTooQuick => {
                "We are resolving a problem with your number's security PIN; nothing is needed \
                 from you right now."
            }
            NumberNotVerified | NumberNotRegistered | PreviousDeregistrationFailed => {
                "We are finishing the registration of your number; nothing is needed from you."
            }
            RecentlyDeleted | RegisterLimitReached | RateLimited => {
                "WhatsApp asked us to wait before the next step; we will continue automatically."
            }
            NumberDeleted => {
                "Your number was removed from WhatsApp's records; we will start the move again."
            }
            InvalidParameter | InvalidAccessToken | PermissionDenied | PhoneNumberNotFound
            | WabaNotFound | AccessTokenMissing | AppNotLinked => {
                "We hit a problem on our side and are fixing it; nothing is needed from you."
            }
            VerificationCodeRejected => {
                "The code did not match: please send us the 6-digit code from the latest SMS or \
                 call exactly as you received it."
            }
            VerificationCodeExpired => {
                "That code has expired; we are sending a new one to your number."
            }
            AlreadyRegistered => {
                "Your number is still registered with WhatsApp somewhere else; we are checking \
                 where it stands and will tell you if anything is needed from you."
            }
            SignupCodeRefused => {
                "Please go through the sign-up window once more: the last one could not be \
                 completed on our side."
            }
            AssetsNotShared => {
                "Please go through the sign-up window once more and share your WhatsApp Business \
                 account and number with us."
            }
            AccountRestricted => {
                "Your WhatsApp Business account is restricted by Meta; please check Business \
                 Support Home for what is needed."
            }
            Unknown => {
                "Something unexpected happened while moving your number; our team is looking \
                 into it."
            }
        }
    }

    /// The wait Meta documents for this case, if any.
    pub fn documented_wait(self) -> Option<Duration> {
        self.row().wait
    }

    /// Whether this is one of the six troubleshooting cases.
    pub fn is_troubleshooting_case(self) -> bool {
        use ApiErrorKind::*;
        matches!(
            self,
            OnBehalfNotAccepted
                | TwoStepEnabled
                | EligibleForDirectAdd
                | AlreadyInDestination
                | BusinessMismatch
                | MigrationFailed
        )
    }
}

/// Reads the snake_case name ([`ApiErrorKind::as_str`]); a name this
/// version does not know (written by a newer one) is
/// [`Unknown`](ApiErrorKind::Unknown).
impl<'de> Deserialize<'de> for ApiErrorKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .unwrap_or(Self::Unknown))
    }
}

impl fmt::Display for ApiErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.title())
    }
}

#[cfg(test)]
mod customer_message_tests {
    use super::ApiErrorKind;

    #[test]
    fn every_case_round_trips_by_name_and_an_unknown_name_is_unknown() {
        for kind in ApiErrorKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<ApiErrorKind>(&json).unwrap(), kind);
        }
        let newer: ApiErrorKind = serde_json::from_str("\"a_case_from_the_future\"").unwrap();
        assert_eq!(newer, ApiErrorKind::Unknown);
        assert!(serde_json::from_str::<ApiErrorKind>("42").is_err());
    }

    #[test]
    fn every_case_has_a_plain_sentence_for_the_customer() {
        for kind in ApiErrorKind::ALL {
            let message = kind.customer_message();
            assert!(message.ends_with('.'), "{kind:?}: {message}");
            for jargon in [
                "::",
                "request_code",
                "PortingClient",
                "(#",
                "API",
                "WABA",
                "Graph",
            ] {
                assert!(!message.contains(jargon), "{kind:?}: {message}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_is_the_serde_name_and_all_is_complete() {
        let mut seen = std::collections::HashSet::new();
        for kind in ApiErrorKind::ALL {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.as_str())
            );
            assert!(seen.insert(kind.as_str()));
            assert_eq!(kind.to_string(), kind.title());
        }
        assert_eq!(seen.len(), ApiErrorKind::ALL.len());
    }

    #[test]
    fn kinds_round_trip_and_unknown_names_load_as_unknown() {
        let json = serde_json::to_string(&ApiErrorKind::TwoStepEnabled).unwrap();
        assert_eq!(json, r#""two_step_enabled""#);
        assert_eq!(
            serde_json::from_str::<ApiErrorKind>(&json).unwrap(),
            ApiErrorKind::TwoStepEnabled
        );
        assert_eq!(
            serde_json::from_str::<ApiErrorKind>(r#""a_case_from_the_future""#).unwrap(),
            ApiErrorKind::Unknown
        );
    }
}
