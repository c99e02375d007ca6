//! The wire format: request bodies and response decoding.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::graph_fast::object;
use crate::error::{Error, UndecodableReason, UnexpectedResponse};
use crate::ids::PhoneNumberId;
use crate::number::id_of;
use crate::operation::Operation;
use crate::params::{CodeMethod, DataLocalizationRegion, Language};
use crate::phone::PhoneNumber;
use crate::secret::{Pin, VerificationCode};
use crate::time::Clock;
use crate::transport::HttpResponse;

use crate::error::decode;

// Bodies are serialized straight from borrowed structs (fields in the
// order a JSON object map sorts them, as the reference shows them): no
// intermediate `Value`, one allocation per body.

/// A request body, serialized. Serializing these structs cannot fail (only
/// strings and booleans); an empty body would be refused by Graph as a
/// missing parameter, never sent as something else.
fn to_bytes(body: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_default()
}

#[derive(Serialize)]
struct StartBody<'a> {
    cc: &'a str,
    migrate_phone_number: bool,
    phone_number: &'a str,
}

pub(crate) fn start_body(phone: &PhoneNumber) -> Vec<u8> {
    to_bytes(&StartBody {
        cc: phone.country_code(),
        migrate_phone_number: true,
        phone_number: phone.national_number(),
    })
}

#[derive(Serialize)]
struct RequestCodeBody<'a> {
    code_method: &'a str,
    language: &'a str,
}

pub(crate) fn request_code_body(method: CodeMethod, language: &Language) -> Vec<u8> {
    to_bytes(&RequestCodeBody {
        code_method: method.as_str(),
        language: language.as_str(),
    })
}

#[derive(Serialize)]
struct VerifyCodeBody<'a> {
    code: &'a str,
}

pub(crate) fn verify_code_body(code: &VerificationCode) -> Vec<u8> {
    to_bytes(&VerifyCodeBody {
        code: code.secret(),
    })
}

#[derive(Serialize)]
struct RegisterBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data_localization_region: Option<&'a str>,
    messaging_product: &'a str,
    pin: &'a str,
}

pub(crate) fn register_body(pin: &Pin, region: Option<&DataLocalizationRegion>) -> Vec<u8> {
    to_bytes(&RegisterBody {
        data_localization_region: region.map(DataLocalizationRegion::as_str),
        messaging_product: "whatsapp",
        pin: pin.secret(),
    })
}

#[derive(Serialize)]
struct LocalStorageBody<'a> {
    storage_configuration: StorageConfiguration<'a>,
}

#[derive(Serialize)]
struct StorageConfiguration<'a> {
    enabled: bool,
    region: &'a str,
}

/// `POST /{phone-number-id}/settings` turning local storage on in `region`
/// (`StorageConfigurationSettingsRequest` of Meta's OpenAPI description:
/// `enabled`, required, and `region`).
pub(crate) fn local_storage_body(region: &DataLocalizationRegion) -> Vec<u8> {
    to_bytes(&LocalStorageBody {
        storage_configuration: StorageConfiguration {
            enabled: true,
            region: region.as_str(),
        },
    })
}

/// A number's `storage_configuration`, as `GET /{phone-number-id}/settings`
/// reads it (`StorageConfigurationSettingsResponse`: `status`, required,
/// `default` or `in_country_storage_enabled`, and
/// `data_localization_region` when in-country storage is on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StorageSettings {
    pub(crate) status: String,
    pub(crate) region: Option<String>,
}

impl StorageSettings {
    /// Reads the settings answer; `None` without a `storage_configuration`
    /// that has a `status`.
    pub(crate) fn from_value(value: &Value) -> Option<Self> {
        let storage = value.get("storage_configuration")?;
        Some(Self {
            status: storage.get("status")?.as_str()?.to_owned(),
            region: storage
                .get("data_localization_region")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// Whether in-country storage is on (in some region).
    pub(crate) fn is_enabled(&self) -> bool {
        self.status
            .eq_ignore_ascii_case("in_country_storage_enabled")
    }

    /// Whether in-country storage is on in `region` (Meta's example writes
    /// the region in lowercase: compared without case).
    pub(crate) fn is_enabled_in(&self, region: &DataLocalizationRegion) -> bool {
        self.is_enabled()
            && self
                .region
                .as_deref()
                .is_some_and(|r| r.trim().eq_ignore_ascii_case(region.as_str()))
    }
}

#[derive(Serialize)]
struct PinBody<'a> {
    pin: &'a str,
}

pub(crate) fn pin_body(pin: &Pin) -> Vec<u8> {
    to_bytes(&PinBody { pin: pin.secret() })
}

/// What a 2xx success answer holds, read in one pass without building a
/// `Value`. Anything else — an `error` member (of any type), a duplicate
/// key, no JSON — goes through [`decode`], which classifies it.
#[derive(Deserialize)]
struct SuccessProbe {
    success: Option<bool>,
    error: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct IdProbe {
    id: Option<Value>,
    error: Option<IgnoredAny>,
}

/// `{"success": true}`.
pub(crate) fn expect_success(
    operation: Operation,
    response: &HttpResponse,
    clock: &dyn Clock,
) -> Result<(), Error> {
    if (200..300).contains(&response.status) {
        if let Some(SuccessProbe {
            success: Some(true),
            error: None,
        }) = object(&response.body)
        {
            return Ok(());
        }
    }
    let value = decode(operation, response, clock)?;
    if value.get("success").and_then(Value::as_bool) == Some(true) {
        Ok(())
    } else {
        Err(shape_error(operation, response))
    }
}

/// `{"id": "<phone_number_id>"}` (a number is tolerated too).
pub(crate) fn expect_id(
    operation: Operation,
    response: &HttpResponse,
    clock: &dyn Clock,
) -> Result<PhoneNumberId, Error> {
    if (200..300).contains(&response.status) {
        if let Some(IdProbe {
            id: Some(id),
            error: None,
        }) = object(&response.body)
        {
            if let Some(id) = crate::number::id_value(&id) {
                return Ok(id);
            }
        }
    }
    let value = decode(operation, response, clock)?;
    id_of(&value).ok_or_else(|| shape_error(operation, response))
}

pub(crate) fn shape_error(operation: Operation, response: &HttpResponse) -> Error {
    UnexpectedResponse::new(
        operation,
        response.status,
        UndecodableReason::UnexpectedShape,
        &response.body,
        None,
    )
    .into()
}

/// A number read that cannot decide what it was read for: undecodable, so
/// the caller keeps the step in flight.
pub(crate) fn undecided_read(reason: &'static str) -> Error {
    UnexpectedResponse::new(
        Operation::ReadPhoneNumber,
        200,
        UndecodableReason::UnexpectedShape,
        reason.as_bytes(),
        None,
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiErrorKind, At};
    use crate::time::Timestamp;
    use crate::transport::Headers;

    const T0: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(status, Headers::new(), body)
    }

    #[test]
    fn bodies_match_the_reference() {
        let phone = PhoneNumber::parse("+1 415 555 0123").unwrap();
        assert_eq!(
            String::from_utf8(start_body(&phone)).unwrap(),
            r#"{"cc":"1","migrate_phone_number":true,"phone_number":"4155550123"}"#
        );
        assert_eq!(
            String::from_utf8(request_code_body(CodeMethod::Voice, &Language::default())).unwrap(),
            r#"{"code_method":"VOICE","language":"en_US"}"#
        );
        assert_eq!(
            String::from_utf8(verify_code_body(&VerificationCode::new("123-830").unwrap()))
                .unwrap(),
            r#"{"code":"123830"}"#
        );
        let pin = Pin::new("123456").unwrap();
        assert_eq!(
            String::from_utf8(register_body(&pin, None)).unwrap(),
            r#"{"messaging_product":"whatsapp","pin":"123456"}"#
        );
        let region = DataLocalizationRegion::new("de").unwrap();
        assert_eq!(
            String::from_utf8(register_body(&pin, Some(&region))).unwrap(),
            r#"{"data_localization_region":"DE","messaging_product":"whatsapp","pin":"123456"}"#
        );
        assert_eq!(
            String::from_utf8(local_storage_body(&region)).unwrap(),
            r#"{"storage_configuration":{"enabled":true,"region":"DE"}}"#
        );
    }

    #[test]
    fn storage_settings_read_as_documented() {
        let de = DataLocalizationRegion::new("DE").unwrap();
        let read = |body: &str| StorageSettings::from_value(&serde_json::from_str(body).unwrap());
        // Meta's two examples (the second with its lowercase region).
        let default = read(
            r#"{"calling":{"status":"enabled"},"storage_configuration":{"status":"default"}}"#,
        )
        .unwrap();
        assert!(!default.is_enabled() && !default.is_enabled_in(&de));
        let us = read(r#"{"storage_configuration":{"status":"in_country_storage_enabled","data_localization_region":"us"}}"#)
            .unwrap();
        assert!(us.is_enabled() && !us.is_enabled_in(&de));
        let de_on = read(r#"{"storage_configuration":{"status":"IN_COUNTRY_STORAGE_ENABLED","data_localization_region":"de"}}"#)
            .unwrap();
        assert!(de_on.is_enabled_in(&de));
        for shapeless in [
            r#"{"calling":{}}"#,
            r#"{"storage_configuration":{}}"#,
            r#"{"storage_configuration":{"status":1}}"#,
            r#"{"storage_configuration":"default"}"#,
        ] {
            assert_eq!(read(shapeless), None, "{shapeless}");
        }
    }

    #[test]
    fn decodes_success_shapes() {
        let op = Operation::StartMigration;
        assert_eq!(
            expect_id(op, &response(200, r#"{"id":"123"}"#), &At(T0))
                .unwrap()
                .as_str(),
            "123"
        );
        assert_eq!(
            expect_id(op, &response(200, r#"{"id":123}"#), &At(T0))
                .unwrap()
                .as_str(),
            "123"
        );
        assert!(matches!(
            expect_id(op, &response(200, r#"{"id":"x1"}"#), &At(T0)),
            Err(Error::UnexpectedResponse(_))
        ));
        assert!(expect_success(op, &response(200, r#"{"success":true}"#), &At(T0)).is_ok());
        let err = expect_success(op, &response(200, r#"{"success":false}"#), &At(T0)).unwrap_err();
        assert!(
            matches!(&err, Error::UnexpectedResponse(e) if e.reason() == UndecodableReason::UnexpectedShape)
        );
    }

    #[test]
    fn errors_in_a_200_are_still_errors() {
        let err = expect_success(
            Operation::Register,
            &response(200, r#"{"error":{"code":133016}}"#),
            &At(T0),
        )
        .unwrap_err();
        assert_eq!(err.api_kind(), Some(ApiErrorKind::RegisterLimitReached));
    }
}

/// Property-style checks over generated inputs (a seeded generator, no extra
/// dependency): decoding never panics and never mistakes garbage for success.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::error::At;
    use crate::time::Timestamp;
    use crate::transport::Headers;

    const T0: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[(self.next() % items.len() as u64) as usize]
        }
    }

    const PIECES: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"error\"",
        "\"code\"",
        "\"error_subcode\"",
        "\"message\"",
        "\"success\"",
        "\"id\"",
        "true",
        "false",
        "null",
        "2388103",
        "2388012",
        "133005",
        "-1",
        "1e400",
        "\"x\"",
        "\"\\u0000\"",
        "<html>",
        "é",
        "\u{1F600}",
        " ",
        "\"error_data\"",
        "\"details\"",
    ];

    #[test]
    fn decoding_arbitrary_bodies_never_panics_or_succeeds_on_errors() {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let len = rng.next() % 24;
            let body: String = (0..len).map(|_| rng.pick(PIECES)).collect();
            let status = [200, 400, 429, 500, 502][(rng.next() % 5) as usize];
            let response = HttpResponse::new(status, Headers::new(), body.clone());
            let decoded = decode(Operation::Register, &response, &At(T0));
            if status != 200 {
                assert!(decoded.is_err(), "HTTP {status} decoded as success: {body}");
            }
            let _ = expect_success(Operation::Register, &response, &At(T0));
            let _ = expect_id(Operation::StartMigration, &response, &At(T0));
        }
    }

    #[test]
    fn truncating_a_valid_error_at_any_byte_stays_typed() {
        let body = r#"{"error":{"message":"(#2388103) There was an error migrating this phone number","type":"OAuthException","code":2388103,"fbtrace_id":"Az8or2"}}"#;
        for cut in 0..body.len() {
            let response = HttpResponse::new(400, Headers::new(), &body.as_bytes()[..cut]);
            match decode(Operation::StartMigration, &response, &At(T0)) {
                Err(Error::UnexpectedResponse(e)) => assert!(e.body_snippet().len() <= cut + 3),
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
        let whole = HttpResponse::new(400, Headers::new(), body);
        assert!(matches!(
            decode(Operation::StartMigration, &whole, &At(T0)),
            Err(Error::Api(_))
        ));
    }
}
