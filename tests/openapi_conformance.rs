//! The crate against Meta's own OpenAPI description of the business
//! messaging API (a trimmed copy in `tests/fixtures/openapi/`, with its
//! source and commit): every field the client requests is documented or
//! survives a refusal, every documented status value is known (and only
//! the connected ones read as registered), and every example error body of
//! the operations the crate calls is handled as documented.

mod common;

use std::collections::BTreeSet;

use common::{client, NUMBER_ID, VERSION, WABA};
use serde_json::{json, Value};
use waba_porting::{
    AccountReviewStatus, BusinessVerificationStatus, CodeVerificationStatus, NumberStatus,
    OnBehalfRequestStatus, PhoneNumberId, StatusMeaning,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SPEC: &str = include_str!("fixtures/openapi/business-messaging-api_v23.0.trimmed.json");

fn spec() -> Value {
    serde_json::from_str(SPEC).expect("the fixture is JSON")
}

/// A component by its `#/components/...` pointer.
fn component<'s>(spec: &'s Value, pointer: &str) -> &'s Value {
    spec["components"]
        .get(pointer)
        .unwrap_or_else(|| panic!("{pointer} is not in the fixture"))
}

/// The values of a string enum component.
fn enum_values(spec: &Value, pointer: &str) -> Vec<String> {
    component(spec, pointer)["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{pointer} is no enum"))
        .iter()
        .map(|v| v.as_str().expect("string enum").to_owned())
        .collect()
}

/// The operation at `route` (`/{Version}/…`) with `verb`.
fn operation<'s>(spec: &'s Value, verb: &str, route: &str) -> &'s Value {
    spec["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .find(|o| o["method"] == verb && o["path"] == route)
        .unwrap_or_else(|| panic!("{verb} {route} is not in the fixture"))
}

/// The properties a schema (or the component it points to) documents,
/// through `allOf`/`oneOf`/`anyOf` and `$ref`s.
fn properties(spec: &Value, schema: &Value, into: &mut BTreeSet<String>, depth: u8) {
    if depth > 6 {
        return;
    }
    if let Some(pointer) = schema.get("$ref").and_then(Value::as_str) {
        if let Some(target) = spec["components"].get(pointer) {
            properties(spec, target, into, depth + 1);
        }
        return;
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        into.extend(props.keys().cloned());
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for part in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            properties(spec, part, into, depth + 1);
        }
    }
}

/// What the description documents as readable on a node: the properties of
/// its `GET` 200 schema, and the fields its `fields` parameter lists.
fn documented_fields(spec: &Value, route: &str, extra_schemas: &[&str]) -> BTreeSet<String> {
    let get = operation(spec, "GET", route);
    let mut fields = BTreeSet::new();
    for content in get["responses"]["200"]["content"]
        .as_object()
        .into_iter()
        .flat_map(|c| c.values())
    {
        properties(spec, &content["schema"], &mut fields, 0);
    }
    for pointer in extra_schemas {
        properties(spec, component(spec, pointer), &mut fields, 0);
    }
    let described = get["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "fields")
        .and_then(|p| p["description"].as_str())
        .unwrap_or("");
    fields.extend(
        described
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.contains('_') || *w == "id" || *w == "status" || *w == "name")
            .map(str::to_owned),
    );
    fields
}

/// The `fields` query of the one request the server got.
async fn requested_fields(server: &MockServer) -> Vec<String> {
    let requests = server.received_requests().await.expect("recording");
    let request = requests.last().expect("a request was sent");
    let fields = request
        .url
        .query_pairs()
        .find(|(k, _)| k == "fields")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    fields.split(',').map(str::to_owned).collect()
}

/// A number read answering `body`.
async fn read_number_answering(body: Value) -> waba_porting::PhoneNumberRecord {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{NUMBER_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    client(&server)
        .read_phone_number(&PhoneNumberId::new(NUMBER_ID).unwrap())
        .await
        .expect("a read answered 200")
}

/// Every number `status` the description names (the number's own enum and
/// the WABA-to-number one) is a value the crate knows; only `CONNECTED`
/// reads as connected (registered and sending).
#[tokio::test]
async fn every_documented_number_status_is_known_and_only_connected_reads_as_connected() {
    let spec = spec();
    let mut values = enum_values(&spec, "#/components/schemas/WhatsAppPhoneNumberStatus");
    values.extend(enum_values(
        &spec,
        "#/components/schemas/WhatsAppBusinessAccountToNumberStatus",
    ));
    assert!(values.iter().any(|v| v == "RATE_LIMITED"), "{values:?}");
    for value in values {
        let record = read_number_answering(json!({"id": NUMBER_ID, "status": value})).await;
        let status = record.status.clone().expect("status read");
        assert!(
            !matches!(status, NumberStatus::Other(_)),
            "documented status {value} is unknown to the crate"
        );
        assert_eq!(
            record.is_connected(),
            value == "CONNECTED",
            "{value}: {status:?}"
        );
    }
    // A value nobody documented is kept as sent, and never connected.
    let record = read_number_answering(json!({"id": NUMBER_ID, "status": "SOMETHING_NEW"})).await;
    assert_eq!(
        record.status,
        Some(NumberStatus::Other("SOMETHING_NEW".to_owned()))
    );
    assert!(!record.is_connected() && !record.is_code_verified());
}

/// Every WABA status the description names (its review and its business's
/// verification, in each schema that lists them) is a value the crate
/// knows; only `APPROVED` and `VERIFIED` let a port proceed.
#[test]
fn every_documented_waba_status_is_known_and_only_approved_or_verified_proceeds() {
    let spec = spec();
    for pointer in [
        "#/components/schemas/AccountReviewStatus",
        "#/components/schemas/WhatsAppBusinessAccountReviewStatus",
    ] {
        for value in enum_values(&spec, pointer) {
            let status = AccountReviewStatus::from_graph(&value);
            assert!(
                !matches!(status, AccountReviewStatus::Other(_)),
                "documented account_review_status {value} is unknown to the crate"
            );
            assert_eq!(
                status.meaning() == StatusMeaning::Proceed,
                value == "APPROVED",
                "{value}"
            );
        }
    }
    for pointer in [
        "#/components/schemas/BusinessVerificationStatus",
        "#/components/schemas/BusinessVerificationStatus_1",
        "#/components/schemas/WhatsAppBusinessAccountVerificationStatus",
    ] {
        for value in enum_values(&spec, pointer) {
            let status = BusinessVerificationStatus::from_graph(&value);
            assert!(
                !matches!(status, BusinessVerificationStatus::Other(_)),
                "documented business_verification_status {value} is unknown to the crate"
            );
            assert_eq!(
                status.meaning() == StatusMeaning::Proceed,
                value == "VERIFIED",
                "{value}"
            );
        }
    }
}

/// Every status of a "message on behalf" request the description names
/// (`GET /{WABA-ID}/in_progress_onbehalf_request`) is known; only `APPROVE`
/// lets a port proceed.
#[test]
fn every_documented_on_behalf_request_status_is_known_and_only_approve_proceeds() {
    let spec = spec();
    let get = operation(
        &spec,
        "GET",
        "/{Version}/{WABA-ID}/in_progress_onbehalf_request",
    );
    assert!(get["responses"]["200"].is_object());
    let values = enum_values(&spec, "#/components/schemas/BusinessRequestStatus");
    assert!(values.iter().any(|v| v == "IN_PROGRESS"), "{values:?}");
    for value in values {
        let status = OnBehalfRequestStatus::from_graph(&value);
        assert!(
            !matches!(status, OnBehalfRequestStatus::Other(_)),
            "documented request status {value} is unknown to the crate"
        );
        assert_eq!(
            status.meaning() == StatusMeaning::Proceed,
            value == "APPROVE",
            "{value}"
        );
    }
}

/// Every `code_verification_status` the description names is known; only
/// `VERIFIED` reads as verified.
#[tokio::test]
async fn every_documented_code_verification_status_is_known() {
    let spec = spec();
    let values = enum_values(&spec, "#/components/schemas/WhatsAppCodeVerificationStatus");
    assert!(!values.is_empty());
    for value in values {
        let record =
            read_number_answering(json!({"id": NUMBER_ID, "code_verification_status": value}))
                .await;
        let status = record.code_verification_status.clone().expect("read");
        assert!(
            !matches!(status, CodeVerificationStatus::Other(_)),
            "documented code_verification_status {value} is unknown to the crate"
        );
        assert_eq!(record.is_code_verified(), value == "VERIFIED", "{value}");
    }
}

/// The fields the client asks for when it reads a number, and when it lists
/// a WABA's numbers, are documented on those nodes — or are real fields
/// the description leaves out, which the crate reads without needing them.
#[tokio::test]
async fn the_number_fields_the_client_requests_are_documented_or_optional() {
    let spec = spec();
    // Real Graph fields of a phone number the description leaves out.
    let undocumented_but_real = ["platform_type"];
    let number = documented_fields(
        &spec,
        "/{Version}/{Phone-Number-ID}",
        &["#/components/schemas/WhatsAppBusinessAccountPhoneNumber"],
    );
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{NUMBER_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": NUMBER_ID})))
        .mount(&server)
        .await;
    let record = client(&server)
        .read_phone_number(&PhoneNumberId::new(NUMBER_ID).unwrap())
        .await
        .expect("a record with only its id reads");
    assert_eq!(record.status, None);
    for field in requested_fields(&server).await {
        assert!(
            number.contains(&field) || undocumented_but_real.contains(&field.as_str()),
            "the client requests {field:?}, which the description does not document for a \
             phone number ({number:?})"
        );
    }
    // The list: the same record type.
    let list = documented_fields(
        &spec,
        "/{Version}/{WABA-ID}/phone_numbers",
        &["#/components/schemas/WhatsAppBusinessAccountPhoneNumber"],
    );
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}/phone_numbers")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&server)
        .await;
    let listed = client(&server)
        .list_phone_numbers(&waba_porting::WabaId::new(WABA).unwrap())
        .await
        .expect("an empty list reads");
    assert!(listed.is_empty());
    for field in requested_fields(&server).await {
        assert!(
            list.contains(&field) || undocumented_but_real.contains(&field.as_str()),
            "the client lists {field:?}, which the description does not document ({list:?})"
        );
    }
}
