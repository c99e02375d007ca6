//! The Graph API's answers, as the reference documents them: one function per
//! answer, shared by the simulator and by tests that mount the same bodies in
//! an HTTP mock (so both see byte-identical errors).

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::number::CodeVerificationStatus;
use crate::phone::PhoneNumber;
use crate::transport::{Headers, HttpResponse};

/// One HTTP answer: status, optional `Retry-After`, body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` of the body.
    pub content_type: &'static str,
    /// The `Retry-After` header, in seconds.
    pub retry_after: Option<u64>,
    /// The body.
    pub body: String,
}

impl Answer {
    fn json_text(status: u16, body: String) -> Self {
        Self {
            status,
            content_type: "application/json",
            retry_after: None,
            body,
        }
    }

    /// `{"<key>": <this body>}`.
    fn wrap_in(mut self, key: &str) -> Self {
        self.body = format!("{{\"{key}\":{}}}", self.body);
        self
    }

    fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            retry_after: None,
            body: body.to_string(),
        }
    }

    pub(crate) fn json_ok(body: &Value) -> Self {
        Self::json(200, body)
    }

    /// The same answer with a `Retry-After` header.
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait.as_secs());
        self
    }

    /// As the crate's transport response.
    pub fn into_response(self) -> HttpResponse {
        let mut headers = Headers::new();
        headers.push("content-type", self.content_type);
        if let Some(seconds) = self.retry_after {
            headers.push("retry-after", seconds.to_string());
        }
        HttpResponse::new(self.status, headers, self.body.into_bytes())
    }
}

impl From<Value> for Answer {
    /// A 200 answer with this JSON body.
    fn from(body: Value) -> Self {
        Self::json(200, &body)
    }
}

/// `{"success": true}`.
pub fn success() -> Answer {
    Answer::json_text(200, r#"{"success":true}"#.to_owned())
}

/// `{"id": "<phone_number_id>"}`, the answer to a started migration.
pub fn phone_number_created(phone_number_id: &str) -> Answer {
    Answer::json(200, &Value::String(phone_number_id.to_owned())).wrap_in("id")
}

/// The fields of a phone number the simulator models, as reference §5's
/// read asks for them. A read or a list without `fields` answers all of them.
pub const PHONE_NUMBER_FIELDS: &[&str] = &[
    "id",
    "display_phone_number",
    "verified_name",
    "status",
    "code_verification_status",
    "name_status",
    "platform_type",
];

/// The fields Graph serves on a phone number, as far as the simulator
/// knows: those Meta's OpenAPI description documents (v23.0,
/// `WhatsAppBusinessAccountPhoneNumber` and the number read's `fields`)
/// and the real ones it leaves out that the simulator models
/// (`name_status` on the list, `new_name_status`, `platform_type`). A read
/// or list naming any other field is refused as Graph refuses it
/// ([`nonexisting_field`]); the documented ones the simulator does not
/// model (`quality_rating`…) are left out of the answer.
pub const GRAPH_PHONE_NUMBER_FIELDS: &[&str] = &[
    "id",
    "display_phone_number",
    "verified_name",
    "status",
    "code_verification_status",
    "name_status",
    "new_name_status",
    "platform_type",
    "quality_rating",
    "account_mode",
    "country_code",
    "country_dial_code",
    "host_platform",
    "is_official_business_account",
    "messaging_limit_tier",
    "unified_cert_status",
    "username",
];

/// The first field of `fields` (a `fields` parameter as sent) that Graph
/// does not serve on a phone number, if any.
pub(crate) fn unknown_phone_number_field(fields: Option<&str>) -> Option<&str> {
    fields
        .into_iter()
        .flat_map(|f| f.split(','))
        .map(str::trim)
        // A nested selection (`a{b}`) names its field before the brace.
        .map(|f| f.split('{').next().unwrap_or(f))
        .find(|f| !f.is_empty() && !GRAPH_PHONE_NUMBER_FIELDS.contains(f))
}

/// The display name every simulated number carries.
const VERIFIED_NAME: &str = "Simulated Business";

/// What the world knows about one phone number object in a destination WABA:
/// the facts [`phone_number_record`] derives Graph's fields from.
///
/// Start from [`PhoneNumberFacts::new`] and set the public fields:
///
/// ```
/// use waba_porting::simulator::reference::{self, PhoneNumberFacts};
/// use waba_porting::{CodeVerificationStatus, PhoneNumber};
///
/// let mut facts = PhoneNumberFacts::new("110200345501442", &PhoneNumber::parse("+14155550123")?);
/// facts.code_verification = CodeVerificationStatus::Verified;
/// facts.registered = true;
/// let record = reference::phone_number_record(&facts, Some("status,platform_type"));
/// assert_eq!(
///     record,
///     serde_json::json!({"id": "110200345501442", "status": "CONNECTED", "platform_type": "CLOUD_API"})
/// );
/// # Ok::<(), waba_porting::ValidationError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PhoneNumberFacts {
    /// The phone number id.
    pub id: String,
    /// The number as the simulator displays it (`+1 4155550123`).
    pub display_phone_number: String,
    /// The display name.
    pub verified_name: String,
    /// Registered: `status` is `CONNECTED` and `platform_type` `CLOUD_API`;
    /// otherwise `PENDING` and `NOT_APPLICABLE`.
    pub registered: bool,
    /// A register went through but Meta is still connecting the number
    /// ([`Scenario::connect_delay`](super::Scenario::connect_delay)):
    /// `status` is still `PENDING`, `platform_type` already `CLOUD_API`.
    pub connecting: bool,
    /// The `code_verification_status`, as sent: `VERIFIED` once a code was
    /// accepted, `EXPIRED` when the last code sent lapsed unverified,
    /// `NOT_VERIFIED` otherwise.
    pub code_verification: CodeVerificationStatus,
    /// The display name is approved: `name_status` is `APPROVED`; otherwise
    /// `PENDING_REVIEW`.
    pub name_approved: bool,
    /// The `status` answered instead of the one `registered` and
    /// `connecting` give (`BANNED`, `DELETED`, `FLAGGED`…), when set.
    pub status: Option<String>,
    /// A display-name change is pending review: `new_name_status` is
    /// `PENDING_REVIEW`; otherwise `NONE`. Answered only when `fields`
    /// names it (Meta's OpenAPI description leaves the field out).
    pub name_change_pending: bool,
}

impl PhoneNumberFacts {
    /// A number just added to a destination by a migration start: not
    /// registered, not verified, its display name approved (a migration
    /// requires it), named "Simulated Business".
    pub fn new(id: impl Into<String>, phone: &PhoneNumber) -> Self {
        Self {
            id: id.into(),
            display_phone_number: format!("+{} {}", phone.country_code(), phone.national_number()),
            verified_name: VERIFIED_NAME.to_owned(),
            registered: false,
            connecting: false,
            code_verification: CodeVerificationStatus::NotVerified,
            name_approved: true,
            status: None,
            name_change_pending: false,
        }
    }
}

/// One phone number object as Graph describes it: the body of
/// `GET /{phone-number-id}` ([`phone_number`]) and each entry of
/// `GET /{waba-id}/phone_numbers`, so the read and the list always agree.
///
/// `fields` is the request's `fields` parameter as sent (comma-separated,
/// e.g. `"status,code_verification_status"`). As Graph does, only the
/// fields named are answered, and `id` always is. Without `fields` (or with
/// an empty one) every field of [`PHONE_NUMBER_FIELDS`] is answered — Graph's
/// own default is narrower (`id`, `display_phone_number`, `verified_name`,
/// `quality_rating`); `new_name_status` is answered only when named. Names
/// the simulator does not model (`quality_rating`, nested `a{b}`
/// selections…) are left out rather than refused (a scenario can have
/// them refused: [`Scenario::refusing_field`](super::Scenario::refusing_field)).
pub fn phone_number_record(facts: &PhoneNumberFacts, fields: Option<&str>) -> Value {
    let (status, platform_type) = if facts.registered {
        ("CONNECTED", "CLOUD_API")
    } else if facts.connecting {
        ("PENDING", "CLOUD_API")
    } else {
        ("PENDING", "NOT_APPLICABLE")
    };
    let name_status = if facts.name_approved {
        "APPROVED"
    } else {
        "PENDING_REVIEW"
    };
    let status = facts.status.as_deref().unwrap_or(status);
    let all = [
        ("id", facts.id.as_str()),
        ("display_phone_number", facts.display_phone_number.as_str()),
        ("verified_name", facts.verified_name.as_str()),
        ("status", status),
        ("code_verification_status", facts.code_verification.as_str()),
        ("name_status", name_status),
        ("platform_type", platform_type),
    ];
    let wanted: Vec<&str> = fields
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect();
    let mut record: Map<String, Value> = all
        .into_iter()
        .filter(|(name, _)| *name == "id" || wanted.is_empty() || wanted.contains(name))
        .map(|(name, value)| (name.to_owned(), Value::from(value)))
        .collect();
    if wanted.contains(&"new_name_status") {
        let change = if facts.name_change_pending {
            "PENDING_REVIEW"
        } else {
            "NONE"
        };
        record.insert("new_name_status".into(), change.into());
    }
    Value::Object(record)
}

/// The answer to `GET /{phone-number-id}` (reference §5): the number's
/// [`phone_number_record`], HTTP 200.
pub fn phone_number(facts: &PhoneNumberFacts, fields: Option<&str>) -> Answer {
    Answer::json(200, &phone_number_record(facts, fields))
}

/// The answer to `GET /{waba-id}/subscribed_apps` (reference §5): one
/// app when `subscribed`, else an empty `data`.
pub fn subscribed_apps(subscribed: bool) -> Answer {
    let data = if subscribed {
        json!([{ "whatsapp_business_api_data": {
            "id": "670843887433847",
            "link": "https://www.example.com/waba-porting-simulator",
            "name": "waba-porting simulator"
        }}])
    } else {
        json!([])
    };
    Answer::json(200, &json!({ "data": data }))
}

/// The answer to `GET /{phone-number-id}/settings`, shaped as Meta's OpenAPI
/// description documents it (`PhoneNumberSettingsResponse`: `calling` and
/// `storage_configuration` required, `payload_encryption` optional):
/// calling and payload encryption off, and `storage_configuration`
/// `{"status": "default"}`, or with `local_storage`
/// `{"status": "in_country_storage_enabled", "data_localization_region": …}`.
///
/// ```
/// use waba_porting::simulator::reference;
///
/// let answer = reference::phone_number_settings(Some("DE"));
/// let body: serde_json::Value = serde_json::from_str(&answer.body)?;
/// assert_eq!(
///     body["storage_configuration"],
///     serde_json::json!({"status": "in_country_storage_enabled", "data_localization_region": "DE"})
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn phone_number_settings(local_storage: Option<&str>) -> Answer {
    let storage = match local_storage {
        Some(region) => json!({
            "status": "in_country_storage_enabled",
            "data_localization_region": region,
        }),
        None => json!({ "status": "default" }),
    };
    Answer::json(
        200,
        &json!({
            "calling": {
                "status": "disabled",
                "call_icon_visibility": "hidden",
                "ip_addresses": { "default": [] },
                "callback_permission_status": "disabled",
            },
            "payload_encryption": { "status": "disabled" },
            "storage_configuration": storage,
        }),
    )
}

/// The facts the simulator keeps about a WABA, for
/// [`waba_record`]'s answer.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WabaFacts {
    /// The WABA's id.
    pub id: String,
    /// Meta approved the account.
    pub approved: bool,
    /// The business is verified.
    pub business_verified: bool,
    /// A payment method is attached.
    pub payment_method: bool,
    /// The business the WABA was made for.
    pub on_behalf_of_business: String,
    /// The customer accepted the "message on behalf" request.
    pub on_behalf_approved: bool,
    /// `on_behalf_of_business_info` carries the undocumented `status`
    /// (`APPROVED` or `PENDING`); otherwise only `id`, `name` and `type`.
    pub on_behalf_info_status: bool,
    /// The `account_review_status` answered instead of the one `approved`
    /// gives (`RESTRICTED`, `DEFERRED`…), when set.
    pub account_review_status: Option<String>,
    /// The `business_verification_status` answered instead of the one
    /// `business_verified` gives (`VERIFIED`, `pending`…), when set.
    pub business_verification_status: Option<String>,
}

impl WabaFacts {
    /// A WABA in order (approved, verified business, payment method) made
    /// for `on_behalf_of_business`; change the public fields as needed.
    pub fn new(id: impl Into<String>, on_behalf_of_business: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            approved: true,
            business_verified: true,
            payment_method: true,
            on_behalf_of_business: on_behalf_of_business.into(),
            on_behalf_approved: true,
            on_behalf_info_status: true,
            account_review_status: None,
            business_verification_status: None,
        }
    }
}

/// The fields a WABA read answers.
pub const WABA_FIELDS: &[&str] = &[
    "id",
    "account_review_status",
    "business_verification_status",
    "primary_funding_id",
    "on_behalf_of_business_info",
];

/// The answer to `GET /{waba-id}?fields=…` (reference §5): `id` and the
/// fields named (all without `fields`); `primary_funding_id` only when a
/// payment method is attached. A field a WABA does not have (a phone
/// number's, say) is refused as Graph refuses it ([`nonexisting_field`]).
pub fn waba_record(facts: &WabaFacts, fields: Option<&str>) -> Answer {
    if let Some(unknown) = fields
        .into_iter()
        .flat_map(|f| f.split(','))
        .map(str::trim)
        .find(|f| !f.is_empty() && !WABA_FIELDS.contains(f))
    {
        return nonexisting_field(unknown, "WhatsAppBusinessAccount", "SIMWABA");
    }
    let mut all = Map::new();
    all.insert("id".into(), facts.id.clone().into());
    let review = if facts.approved {
        "APPROVED"
    } else {
        "PENDING"
    };
    let review = facts.account_review_status.as_deref().unwrap_or(review);
    all.insert("account_review_status".into(), review.into());
    let verification = if facts.business_verified {
        "verified"
    } else {
        "not_verified"
    };
    let verification = facts
        .business_verification_status
        .as_deref()
        .unwrap_or(verification);
    all.insert("business_verification_status".into(), verification.into());
    if facts.payment_method {
        all.insert("primary_funding_id".into(), "1972385232742141".into());
    }
    let mut info = json!({
        "name": "Customer business",
        "id": facts.on_behalf_of_business,
        "type": "INTERNAL"
    });
    if let (true, Some(map)) = (facts.on_behalf_info_status, info.as_object_mut()) {
        let status = if facts.on_behalf_approved {
            "APPROVED"
        } else {
            "PENDING"
        };
        map.insert("status".into(), status.into());
    }
    all.insert("on_behalf_of_business_info".into(), info);
    let wanted: Option<Vec<&str>> = fields.map(|f| f.split(',').map(str::trim).collect());
    all.retain(|key, _| key == "id" || wanted.as_ref().is_none_or(|w| w.contains(&key.as_str())));
    Answer::json(200, &Value::Object(all))
}

/// The answer to `GET /{waba-id}/in_progress_onbehalf_request` (Meta's
/// OpenAPI description): one request with `status` (and the WABA as its
/// `business_owned_object`, the customer's business as its
/// `receiving_business`), or an empty `data` for `None`.
pub fn on_behalf_requests(status: Option<&str>, waba: &str, business: &str) -> Answer {
    let data = match status {
        Some(status) => json!([{
            "id": "1234567890123456",
            "status": status,
            "business_owned_object": waba,
            "receiving_business": { "id": business, "name": "Customer business" },
            "requesting_business": { "id": "2345678901234567", "name": "waba-porting simulator" }
        }]),
        None => json!([]),
    };
    Answer::json(200, &json!({ "data": data }))
}

/// Graph's error 100 for a field the node does not have: `(#100) Tried
/// accessing nonexisting field (<field>) on node type (<node>)`, HTTP 400,
/// as Graph sends it (no user title).
pub fn nonexisting_field(field: &str, node: &str, fbtrace_id: &str) -> Answer {
    Answer::json(
        400,
        &json!({ "error": {
            "message": format!(
                "(#100) Tried accessing nonexisting field ({field}) on node type ({node})"
            ),
            "type": "OAuthException",
            "code": 100,
            "fbtrace_id": fbtrace_id,
        }}),
    )
}

/// A Graph error envelope with every field of reference §2.
pub fn graph_error(
    status: u16,
    code: i64,
    subcode: Option<i64>,
    title: &str,
    fbtrace_id: &str,
) -> Answer {
    let mut error = json!({
        "message": format!("(#{code}) {title}"),
        "type": "OAuthException",
        "code": code,
        "error_user_title": title,
        "error_user_msg": title,
        "error_data": { "messaging_product": "whatsapp", "details": title },
        "fbtrace_id": fbtrace_id,
    });
    if let (Some(subcode), Some(map)) = (subcode, error.as_object_mut()) {
        map.insert("error_subcode".into(), subcode.into());
    }
    Answer::json(status, &json!({ "error": error }))
}

/// The 2388103 migration texts of reference §3.
pub mod texts {
    /// Message on behalf request not yet accepted.
    pub const ON_BEHALF_NOT_APPROVED: &str =
        "Your WhatsApp account's \"Messaging For\" request must be approved";
    /// Two-factor authentication not yet disabled (Meta's older text).
    pub const TWO_STEP_ENABLED: &str =
        "Two-step authentication must be disabled for this phone number.";
    /// Eligible to be added directly.
    pub const ADD_DIRECTLY: &str = "Please add this phone number in your WhatsApp account";
    /// Already in the destination list (2388012).
    pub const ALREADY_IN_LIST: &str =
        "This phone number already exists in your list of phone numbers";
    /// Business mismatch.
    pub const DIFFERENT_BUSINESS: &str =
        "This phone number belongs to a different Business Manager account";
    /// Something went wrong.
    pub const ERROR_MIGRATING: &str = "There was an error migrating this phone number";
    /// No app subscribed to the destination's webhooks.
    pub const CANNOT_MIGRATE: &str = "Cannot migrate phone number.";
    /// Display name not approved.
    pub const NAME_NOT_APPROVED: &str = "Registered name should be present and approved.";
    /// Source WABA not set up.
    pub const SOURCE_NOT_SET_UP: &str =
        "The WhatsApp account that this phone number is registered with is not set up correctly.";
    /// No payment method on the destination.
    pub const NO_PAYMENT_ACCOUNT: &str = "Your WhatsApp account does not have a payment account.";
    /// Destination WABA not approved.
    pub const WABA_NOT_APPROVED: &str = "Your WhatsApp account must be approved";
}

/// A 2388103 migration error with one of [`texts`].
pub fn migration_error(text: &str, fbtrace_id: &str) -> Answer {
    graph_error(400, 2388103, None, text, fbtrace_id)
}

/// 2388012: the number is already in the destination's list.
pub fn already_in_list(fbtrace_id: &str) -> Answer {
    graph_error(400, 2388012, None, texts::ALREADY_IN_LIST, fbtrace_id)
}

/// 133005 at register: the PIN does not match the two-step PIN.
pub fn pin_mismatch(fbtrace_id: &str) -> Answer {
    graph_error(
        400,
        133005,
        None,
        "Two step verification PIN Mismatch",
        fbtrace_id,
    )
}

/// 133006: register before verifying.
pub fn not_verified(fbtrace_id: &str) -> Answer {
    graph_error(
        400,
        133006,
        None,
        "Phone number re-verification needed",
        fbtrace_id,
    )
}

/// 133016: the register/deregister limit.
pub fn register_limit(fbtrace_id: &str) -> Answer {
    graph_error(
        400,
        133016,
        None,
        "Account register deregister rate limit exceeded",
        fbtrace_id,
    )
}

/// 136025: a wrong or expired verification code (third-party code, see the
/// crate docs).
pub fn code_rejected(expired: bool, fbtrace_id: &str) -> Answer {
    let title = if expired {
        "Verification code has expired"
    } else {
        "Verification code is incorrect"
    };
    graph_error(400, 136025, None, title, fbtrace_id)
}

/// 190: the token is not accepted.
pub fn invalid_token(fbtrace_id: &str) -> Answer {
    graph_error(
        401,
        190,
        None,
        "Invalid OAuth access token - Cannot parse access token",
        fbtrace_id,
    )
}

/// 100: an invalid or missing parameter.
pub fn invalid_parameter(detail: &str, fbtrace_id: &str) -> Answer {
    graph_error(
        400,
        100,
        None,
        &format!("Invalid parameter: {detail}"),
        fbtrace_id,
    )
}

/// 100/33: the object does not exist.
pub fn unknown_object(id: &str, fbtrace_id: &str) -> Answer {
    graph_error(
        400,
        100,
        Some(33),
        &format!("Unsupported request. Object with ID '{id}' does not exist"),
        fbtrace_id,
    )
}

/// An error of Graph's OAuth endpoints (`/oauth/access_token`): `message`,
/// `type` `OAuthException`, `code`, the optional `error_subcode` and
/// `fbtrace_id`, no user title.
pub fn oauth_error(
    status: u16,
    code: i64,
    subcode: Option<i64>,
    message: &str,
    fbtrace_id: &str,
) -> Answer {
    let mut error = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": fbtrace_id,
    });
    if let (Some(subcode), Some(map)) = (subcode, error.as_object_mut()) {
        map.insert("error_subcode".into(), subcode.into());
    }
    Answer::json(status, &json!({ "error": error }))
}

/// 100/36009: the Embedded Signup authorization code was exchanged
/// already. Seen verbatim in public reports
/// (<https://github.com/akeeba/sociallogin/issues/102>); Meta's WhatsApp
/// pages document no exchange errors.
pub fn signup_code_used(fbtrace_id: &str) -> Answer {
    oauth_error(
        400,
        100,
        Some(36009),
        "This authorization code has been used.",
        fbtrace_id,
    )
}

/// 100: the authorization code is past its 30 seconds. No public source
/// shows a subcode, so none is sent
/// (<https://github.com/rizen/Facebook-Graph/issues/33>).
pub fn signup_code_expired(fbtrace_id: &str) -> Answer {
    oauth_error(
        400,
        100,
        None,
        "This authorization code has expired.",
        fbtrace_id,
    )
}

/// 100: a `code` the exchange never issued.
pub fn signup_code_invalid(fbtrace_id: &str) -> Answer {
    oauth_error(
        400,
        100,
        None,
        "Invalid verification code format.",
        fbtrace_id,
    )
}

/// 1: the `client_secret` is not the app's.
pub fn client_secret_invalid(fbtrace_id: &str) -> Answer {
    oauth_error(400, 1, None, "Error validating client secret.", fbtrace_id)
}

/// 101: the `client_id` is not an app Graph knows.
pub fn client_id_invalid(fbtrace_id: &str) -> Answer {
    oauth_error(
        400,
        101,
        None,
        "Error validating application. Invalid application ID.",
        fbtrace_id,
    )
}

/// 100: a migration intent the source WABA's state does not allow (one
/// for another solution is pending, or the WABA is under the solution
/// already). The text is Meta's OpenAPI description's example for
/// `set_solution_migration_intent` (v23.0, its 422 example; sent with
/// Graph's usual 400).
pub fn migration_intent_refused(fbtrace_id: &str) -> Answer {
    graph_error(
        400,
        100,
        None,
        "Migration intent cannot be set for solution in current state",
        fbtrace_id,
    )
}

/// 131000: something went wrong (temporary).
pub fn something_went_wrong(fbtrace_id: &str) -> Answer {
    graph_error(500, 131000, None, "Something went wrong", fbtrace_id)
}

/// 2: service temporarily unavailable.
pub fn service_unavailable(fbtrace_id: &str) -> Answer {
    graph_error(503, 2, None, "Service temporarily unavailable", fbtrace_id)
}

/// A rate limit (4, 80007, 130429…) with HTTP 429.
pub fn rate_limited(code: i64, fbtrace_id: &str) -> Answer {
    graph_error(429, code, None, "Rate limit hit", fbtrace_id)
}

/// The `fbtrace_id` of every example body in Meta's OpenAPI description.
pub const DESCRIPTION_FBTRACE_ID: &str = "AXsgnV2Cm3ZMGF3dF_cfYIn";

/// An error answer Meta's OpenAPI description of the business messaging
/// API (v23.0, `facebook/openapi` commit `ecba623`) gives as an example,
/// with its HTTP status: [`described`] answers its body as written there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DescribedError {
    /// 404, 803 "Phone number not found" (`GET /{phone-number-id}`, and
    /// the number's `register`, `verify_code`…).
    PhoneNumberNotFound,
    /// 404, 803 "This phone number has been deleted and is no longer
    /// accessible" (`GET /{phone-number-id}`).
    PhoneNumberDeleted,
    /// 404, 803 "The WhatsApp Business Account associated with this phone
    /// number could not be found" (`GET /{phone-number-id}`).
    NumbersWabaNotFound,
    /// 404, 803 "WhatsApp Business Account not found"
    /// (`POST /{waba-id}/phone_numbers`).
    WabaNotFound,
    /// 401, 104 "An access token is required to request this resource"
    /// (`GET /{phone-number-id}`).
    AccessTokenMissing,
    /// 403, 200/1349175 "Your app is not linked to the WhatsApp Business
    /// Account that owns this phone number" (`GET /{phone-number-id}`).
    AppNotLinked,
    /// 403, 200/1349175 "Phone number limit exceeded for this WhatsApp
    /// Business Account", "Limit Exceeded"
    /// (`POST /{waba-id}/phone_numbers`).
    PhoneNumberLimitExceeded,
    /// 422, 100 "The verification code is invalid or has expired",
    /// "Verification Failed" (`POST /{phone-number-id}/verify_code`).
    VerificationFailed,
    /// 422, 100 "Phone number is already registered or in invalid state for
    /// registration" (`POST /{phone-number-id}/register`).
    AlreadyRegisteredOrInvalidState,
    /// 409, 100 "Phone number is already registered with WhatsApp Business"
    /// (`POST /{waba-id}/phone_numbers`).
    AlreadyRegisteredWithWhatsApp,
}

impl DescribedError {
    /// Every example, in declaration order.
    pub const ALL: [Self; 10] = [
        Self::PhoneNumberNotFound,
        Self::PhoneNumberDeleted,
        Self::NumbersWabaNotFound,
        Self::WabaNotFound,
        Self::AccessTokenMissing,
        Self::AppNotLinked,
        Self::PhoneNumberLimitExceeded,
        Self::VerificationFailed,
        Self::AlreadyRegisteredOrInvalidState,
        Self::AlreadyRegisteredWithWhatsApp,
    ];

    /// A stable snake_case name (`"phone_number_not_found"`), as the
    /// simulator's control API takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PhoneNumberNotFound => "phone_number_not_found",
            Self::PhoneNumberDeleted => "phone_number_deleted",
            Self::NumbersWabaNotFound => "numbers_waba_not_found",
            Self::WabaNotFound => "waba_not_found",
            Self::AccessTokenMissing => "access_token_missing",
            Self::AppNotLinked => "app_not_linked",
            Self::PhoneNumberLimitExceeded => "phone_number_limit_exceeded",
            Self::VerificationFailed => "verification_failed",
            Self::AlreadyRegisteredOrInvalidState => "already_registered_or_invalid_state",
            Self::AlreadyRegisteredWithWhatsApp => "already_registered_with_whatsapp",
        }
    }

    /// The example named `name` ([`as_str`](Self::as_str)).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// The HTTP status the description gives it.
    pub fn status(self) -> u16 {
        match self {
            Self::PhoneNumberNotFound
            | Self::PhoneNumberDeleted
            | Self::NumbersWabaNotFound
            | Self::WabaNotFound => 404,
            Self::AccessTokenMissing => 401,
            Self::AppNotLinked | Self::PhoneNumberLimitExceeded => 403,
            Self::VerificationFailed | Self::AlreadyRegisteredOrInvalidState => 422,
            Self::AlreadyRegisteredWithWhatsApp => 409,
        }
    }

    /// `message`, `type`, `code`, `error_subcode`, and the
    /// `error_user_title` and `error_user_msg` when the example has them.
    #[allow(clippy::type_complexity)]
    fn fields(
        self,
    ) -> (
        &'static str,
        &'static str,
        i64,
        Option<i64>,
        Option<(&'static str, &'static str)>,
    ) {
        const GRAPH_METHOD: &str = "GraphMethodException";
        const OAUTH: &str = "OAuthException";
        match self {
            Self::PhoneNumberNotFound => ("Phone number not found", GRAPH_METHOD, 803, None, None),
            Self::PhoneNumberDeleted => (
                "This phone number has been deleted and is no longer accessible",
                GRAPH_METHOD,
                803,
                None,
                None,
            ),
            Self::NumbersWabaNotFound => (
                "The WhatsApp Business Account associated with this phone number could not be \
                 found",
                GRAPH_METHOD,
                803,
                None,
                None,
            ),
            Self::WabaNotFound => (
                "WhatsApp Business Account not found",
                GRAPH_METHOD,
                803,
                None,
                None,
            ),
            Self::AccessTokenMissing => (
                "An access token is required to request this resource",
                OAUTH,
                104,
                None,
                None,
            ),
            Self::AppNotLinked => (
                "Your app is not linked to the WhatsApp Business Account that owns this phone \
                 number",
                OAUTH,
                200,
                Some(1349175),
                None,
            ),
            Self::PhoneNumberLimitExceeded => (
                "Phone number limit exceeded for this WhatsApp Business Account",
                OAUTH,
                200,
                Some(1349175),
                Some((
                    "Limit Exceeded",
                    "You have reached the maximum number of phone numbers for this account",
                )),
            ),
            Self::VerificationFailed => (
                "The verification code is invalid or has expired",
                GRAPH_METHOD,
                100,
                None,
                Some((
                    "Verification Failed",
                    "The verification code you entered is invalid or has expired",
                )),
            ),
            Self::AlreadyRegisteredOrInvalidState => (
                "Phone number is already registered or in invalid state for registration",
                GRAPH_METHOD,
                100,
                None,
                None,
            ),
            Self::AlreadyRegisteredWithWhatsApp => (
                "Phone number is already registered with WhatsApp Business",
                GRAPH_METHOD,
                100,
                None,
                None,
            ),
        }
    }
}

/// The body of `error` as Meta's OpenAPI description gives it (the same
/// fields, no more), with its HTTP status and `fbtrace_id` (the
/// description's is [`DESCRIPTION_FBTRACE_ID`]).
///
/// ```
/// use waba_porting::simulator::reference::{self, DescribedError};
///
/// let answer = reference::described(DescribedError::PhoneNumberNotFound, reference::DESCRIPTION_FBTRACE_ID);
/// assert_eq!(answer.status, 404);
/// let body: serde_json::Value = serde_json::from_str(&answer.body)?;
/// assert_eq!(
///     body,
///     serde_json::json!({"error": {
///         "message": "Phone number not found",
///         "type": "GraphMethodException",
///         "code": 803,
///         "fbtrace_id": "AXsgnV2Cm3ZMGF3dF_cfYIn"
///     }})
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn described(error: DescribedError, fbtrace_id: &str) -> Answer {
    let (message, kind, code, subcode, user) = error.fields();
    let mut fields = Map::new();
    fields.insert("message".into(), message.into());
    fields.insert("type".into(), kind.into());
    fields.insert("code".into(), code.into());
    if let Some(subcode) = subcode {
        fields.insert("error_subcode".into(), subcode.into());
    }
    fields.insert("fbtrace_id".into(), fbtrace_id.into());
    if let Some((title, text)) = user {
        fields.insert("error_user_title".into(), title.into());
        fields.insert("error_user_msg".into(), text.into());
    }
    Answer::json(error.status(), &json!({ "error": Value::Object(fields) }))
}

/// An HTML 502 page from a proxy.
pub fn bad_gateway() -> Answer {
    Answer {
        status: 502,
        content_type: "text/html",
        retry_after: None,
        body: "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
            .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> PhoneNumberFacts {
        PhoneNumberFacts::new(
            "110200345501442",
            &PhoneNumber::from_literal("1", "4155550123"),
        )
    }

    fn keys(record: &Value) -> Vec<&str> {
        let mut keys: Vec<&str> = record
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn a_new_number_is_pending_and_not_verified() {
        let record = phone_number_record(&facts(), None);
        assert_eq!(
            record,
            json!({
                "id": "110200345501442",
                "display_phone_number": "+1 4155550123",
                "verified_name": "Simulated Business",
                "status": "PENDING",
                "code_verification_status": "NOT_VERIFIED",
                "name_status": "APPROVED",
                "platform_type": "NOT_APPLICABLE",
            })
        );
    }

    #[test]
    fn facts_map_to_graph_values() {
        let mut facts = facts();
        facts.registered = true;
        facts.code_verification = CodeVerificationStatus::Verified;
        facts.name_approved = false;
        let record = phone_number_record(&facts, None);
        assert_eq!(record["status"], "CONNECTED");
        assert_eq!(record["platform_type"], "CLOUD_API");
        assert_eq!(record["code_verification_status"], "VERIFIED");
        assert_eq!(record["name_status"], "PENDING_REVIEW");
        facts.code_verification = CodeVerificationStatus::Expired;
        assert_eq!(
            phone_number_record(&facts, None)["code_verification_status"],
            "EXPIRED"
        );
    }

    #[test]
    fn fields_select_and_id_is_always_there() {
        let record = phone_number_record(&facts(), Some("status, name_status,quality_rating"));
        assert_eq!(keys(&record), ["id", "name_status", "status"]);
        assert_eq!(keys(&phone_number_record(&facts(), Some("id"))), ["id"]);
        let everything = phone_number_record(&facts(), Some(" , "));
        let mut all = PHONE_NUMBER_FIELDS.to_vec();
        all.sort_unstable();
        assert_eq!(keys(&everything), all, "an empty selection is no selection");
    }

    #[test]
    fn the_read_answer_is_a_200_with_the_record() {
        let answer = phone_number(&facts(), Some("status"));
        assert_eq!(answer.status, 200);
        let body: Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(body, json!({"id": "110200345501442", "status": "PENDING"}));
    }
}
