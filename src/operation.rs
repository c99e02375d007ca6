//! The Graph API operations the client performs.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::method::Method;

/// One request of the porting flow. The first four are the steps of a
/// [`PortingSession`](crate::PortingSession); `ListPhoneNumbers` is the
/// look-up that resolves "already in your list", and `ReadPhoneNumber` the
/// read that reconciles a session after a step whose outcome is unknown.
/// `SubscribeApp` and `SetTwoStepPin` are the fixes around the port the
/// client makes itself. `ReadLocalStorage` and `SetLocalStorage` set local
/// storage before `register` from Graph API v21.0 on (see
/// [`PortingClient::register`](crate::PortingClient::register)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Operation {
    /// `POST /{waba-id}/phone_numbers` with `migrate_phone_number=true`.
    StartMigration,
    /// `POST /{phone-number-id}/request_code`.
    RequestCode,
    /// `POST /{phone-number-id}/verify_code`.
    VerifyCode,
    /// `POST /{phone-number-id}/register`.
    Register,
    /// `GET /{waba-id}/phone_numbers`.
    ListPhoneNumbers,
    /// `GET /{phone-number-id}` (the number's status).
    ReadPhoneNumber,
    /// `POST /{waba-id}/subscribed_apps`: subscribes our app to the WABA's
    /// webhooks (without it a port fails with "Cannot migrate phone number").
    SubscribeApp,
    /// `POST /{phone-number-id}` with `{"pin": …}`: sets or changes the
    /// number's two-step verification PIN.
    SetTwoStepPin,
    /// `GET /{waba-id}/subscribed_apps` (readiness check).
    ListSubscribedApps,
    /// `GET /{waba-id}?fields=…` (readiness check).
    ReadWaba,
    /// `GET /{waba-id}/in_progress_onbehalf_request` (readiness check): the
    /// WABA's "message on behalf" requests still in progress.
    ListOnBehalfRequests,
    /// `GET /{phone-number-id}/settings`: the number's settings, read for
    /// its `storage_configuration` (local storage) before `register`.
    ReadLocalStorage,
    /// `POST /{phone-number-id}/settings` with `{"storage_configuration":
    /// {"enabled": true, "region": …}}`: turns local storage on in a region,
    /// before `register` (Graph API v21.0 and newer, where `register`'s
    /// `data_localization_region` is deprecated).
    SetLocalStorage,
    /// Embedded Signup: `GET /oauth/access_token?client_id=…&client_secret=…&code=…`
    /// exchanges the popup's authorization code for the customer's business
    /// token. The code is single-use: a repeat after an unknown outcome
    /// meets "code has been used".
    ExchangeSignupCode,
    /// Embedded Signup: `GET /debug_token?input_token=…` (with the app's
    /// token): what the customer's business token grants the app (its
    /// `granular_scopes` and their `target_ids`).
    ReadTokenScopes,
    /// Solution migration: `POST /{waba-id}/set_solution_migration_intent`
    /// with the destination `solution_id`: asks the customer to move the
    /// WABA to that solution.
    SetMigrationIntent,
    /// Solution migration: `GET /{intent-id}`: the intent's status.
    ReadMigrationIntent,
    /// Solution migration: `GET /{solution-id}/access_token?business_id=…`
    /// (with the BSP's system-user token): the customer's business token
    /// for the destination, when the token provider holds none.
    FetchSolutionToken,
}

impl Operation {
    /// Every operation, in flow order.
    #[cfg(any(feature = "simulator", feature = "test-util"))]
    pub(crate) const ALL: [Self; 18] = [
        Self::StartMigration,
        Self::RequestCode,
        Self::VerifyCode,
        Self::Register,
        Self::ListPhoneNumbers,
        Self::ReadPhoneNumber,
        Self::SubscribeApp,
        Self::SetTwoStepPin,
        Self::ListSubscribedApps,
        // Same route as ReadPhoneNumber: the simulator tells them apart by
        // the object read.
        Self::ReadWaba,
        Self::ListOnBehalfRequests,
        Self::ReadLocalStorage,
        Self::SetLocalStorage,
        Self::ExchangeSignupCode,
        // Object reads, as ReadPhoneNumber: told apart by the object.
        Self::ReadTokenScopes,
        Self::SetMigrationIntent,
        Self::ReadMigrationIntent,
        // `/{solution-id}/access_token`: told apart from the code exchange
        // by the object.
        Self::FetchSolutionToken,
    ];

    /// The HTTP method and the last path segment (after the object id; empty
    /// when the object itself is addressed): the one place the client and the
    /// simulator read their routes from.
    pub(crate) fn route(self) -> (Method, &'static str) {
        match self {
            Self::StartMigration => (Method::Post, "phone_numbers"),
            Self::RequestCode => (Method::Post, "request_code"),
            Self::VerifyCode => (Method::Post, "verify_code"),
            Self::Register => (Method::Post, "register"),
            Self::ListPhoneNumbers => (Method::Get, "phone_numbers"),
            Self::ReadPhoneNumber => (Method::Get, ""),
            Self::SubscribeApp => (Method::Post, "subscribed_apps"),
            Self::SetTwoStepPin => (Method::Post, ""),
            Self::ListSubscribedApps => (Method::Get, "subscribed_apps"),
            Self::ReadWaba => (Method::Get, ""),
            Self::ListOnBehalfRequests => (Method::Get, "in_progress_onbehalf_request"),
            Self::ReadLocalStorage => (Method::Get, "settings"),
            Self::SetLocalStorage => (Method::Post, "settings"),
            // `/{version}/oauth/access_token`: the object is `oauth`.
            Self::ExchangeSignupCode => (Method::Get, "access_token"),
            // `/{version}/debug_token`: the object itself.
            Self::ReadTokenScopes => (Method::Get, ""),
            Self::SetMigrationIntent => (Method::Post, "set_solution_migration_intent"),
            Self::ReadMigrationIntent => (Method::Get, ""),
            Self::FetchSolutionToken => (Method::Get, "access_token"),
        }
    }

    /// The operation sent as `method` to `/{version}/{id}[/{edge}]`
    /// (`edge` empty for the object itself): the inverse of its route. An
    /// object read is [`ReadPhoneNumber`](Self::ReadPhoneNumber) (a WABA
    /// read has the same route; callers tell them apart).
    #[cfg(any(feature = "simulator", feature = "test-util"))]
    pub(crate) fn from_route(method: Method, edge: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|op| op.route() == (method, edge))
    }

    /// Whether a path segment is a Graph API version (`v25.0`).
    #[cfg(any(feature = "simulator", feature = "test-util"))]
    pub(crate) fn is_api_version(segment: &str) -> bool {
        segment
            .strip_prefix('v')
            .and_then(|v| v.split_once('.'))
            .is_some_and(|(major, minor)| {
                let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                digits(major) && digits(minor)
            })
    }

    /// The snake_case name (`start_migration`, `verify_code`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartMigration => "start_migration",
            Self::RequestCode => "request_code",
            Self::VerifyCode => "verify_code",
            Self::Register => "register",
            Self::ListPhoneNumbers => "list_phone_numbers",
            Self::ReadPhoneNumber => "read_phone_number",
            Self::SubscribeApp => "subscribe_app",
            Self::SetTwoStepPin => "set_two_step_pin",
            Self::ListSubscribedApps => "list_subscribed_apps",
            Self::ReadWaba => "read_waba",
            Self::ListOnBehalfRequests => "list_on_behalf_requests",
            Self::ReadLocalStorage => "read_local_storage",
            Self::SetLocalStorage => "set_local_storage",
            Self::ExchangeSignupCode => "exchange_signup_code",
            Self::ReadTokenScopes => "read_token_scopes",
            Self::SetMigrationIntent => "set_migration_intent",
            Self::ReadMigrationIntent => "read_migration_intent",
            Self::FetchSolutionToken => "fetch_solution_token",
        }
    }

    /// Whether sending this request twice can change something on Meta's
    /// side or for the customer: `request_code` texts or calls the customer,
    /// `verify_code` uses up the code, `register` spends one of 10 calls per
    /// 72 hours. `start_migration` is repeatable (a repeat meets 2388012,
    /// which the client resolves), reads have no effect, and
    /// `subscribe_app`, `set_two_step_pin` and `set_local_storage` leave the
    /// same state however often they are sent. `exchange_signup_code` uses
    /// up the popup's single-use code, and `set_migration_intent` sends the
    /// customer a request.
    pub fn has_side_effect(self) -> bool {
        matches!(
            self,
            Self::RequestCode
                | Self::VerifyCode
                | Self::Register
                | Self::ExchangeSignupCode
                | Self::SetMigrationIntent
        )
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
