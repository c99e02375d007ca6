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
/// `quality_rating`). Names the simulator does not model (`quality_rating`,
/// nested `a{b}` selections…) are left out rather than refused.
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
    let record: Map<String, Value> = all
        .into_iter()
        .filter(|(name, _)| *name == "id" || wanted.is_empty() || wanted.contains(name))
        .map(|(name, value)| (name.to_owned(), Value::from(value)))
        .collect();
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
/// number's, say) is a #100 invalid parameter, as Graph answers it.
pub fn waba_record(facts: &WabaFacts, fields: Option<&str>) -> Answer {
    if let Some(unknown) = fields
        .into_iter()
        .flat_map(|f| f.split(','))
        .map(str::trim)
        .find(|f| !f.is_empty() && !WABA_FIELDS.contains(f))
    {
        return invalid_parameter(
            &format!(
                "Tried accessing nonexisting field ({unknown}) on node type \
                 (WhatsAppBusinessAccount)"
            ),
            "SIMWABA",
        );
    }
    let mut all = Map::new();
    all.insert("id".into(), facts.id.clone().into());
    all.insert(
        "account_review_status".into(),
        if facts.approved {
            "APPROVED"
        } else {
            "PENDING"
        }
        .into(),
    );
    all.insert(
        "business_verification_status".into(),
        if facts.business_verified {
            "verified"
        } else {
            "not_verified"
        }
        .into(),
    );
    if facts.payment_method {
        all.insert("primary_funding_id".into(), "1972385232742141".into());
    }
    all.insert(
        "on_behalf_of_business_info".into(),
        json!({
            "name": "Customer business",
            "id": facts.on_behalf_of_business,
            "status": if facts.on_behalf_approved { "APPROVED" } else { "PENDING" },
            "type": "INTERNAL"
        }),
    );
    let wanted: Option<Vec<&str>> = fields.map(|f| f.split(',').map(str::trim).collect());
    all.retain(|key, _| key == "id" || wanted.as_ref().is_none_or(|w| w.contains(&key.as_str())));
    Answer::json(200, &Value::Object(all))
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
