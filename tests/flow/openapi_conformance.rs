//! The crate against Meta's own OpenAPI description of the business
//! messaging API (a trimmed copy in `tests/fixtures/openapi/`, with its
//! source and commit): every field the client requests is documented or
//! survives a refusal, every documented status value is known (and only
//! the connected ones read as registered), and every example error body of
//! the operations the crate calls is handled as documented.

#![cfg(feature = "simulator")]

use crate::common;

use std::collections::BTreeSet;

use common::{client, NUMBER_ID, VERSION, WABA};
use serde_json::{json, Value};
use waba_porting::{
    AccountReviewStatus, BusinessVerificationStatus, CodeVerificationStatus, NumberStatus,
    OnBehalfRequestStatus, PhoneNumberId, StatusMeaning,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SPEC: &str = include_str!("../fixtures/openapi/business-messaging-api_v23.0.trimmed.json");

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
    // Real Graph fields of a phone number the description leaves out (a
    // refusal of each is survived: below).
    let undocumented_but_real = ["platform_type", "name_status"];
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

/// Graph answers a field it does not serve on a node with error 100
/// ("Tried accessing nonexisting field"). A number read, and a list page,
/// that meet such a refusal for a field the description leaves out ask
/// again without it: the record lacks the field, nothing fails.
#[tokio::test]
async fn a_number_read_and_a_list_survive_a_refused_undocumented_field() {
    use wiremock::matchers::query_param;
    let refusal = |field: &str| {
        ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": format!("(#100) Tried accessing nonexisting field ({field}) on node type (WhatsAppBusinessPhoneNumber)"),
            "type": "OAuthException", "code": 100, "fbtrace_id": "AbC"}}))
    };
    let server = MockServer::start().await;
    // Refused while platform_type is asked for; answered without it.
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{NUMBER_ID}")))
        .and(query_param(
            "fields",
            "id,display_phone_number,verified_name,status,code_verification_status,name_status,platform_type",
        ))
        .respond_with(refusal("platform_type"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{NUMBER_ID}")))
        .and(query_param(
            "fields",
            "id,display_phone_number,verified_name,status,code_verification_status,name_status",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": NUMBER_ID, "status": "CONNECTED", "code_verification_status": "VERIFIED"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let record = client(&server)
        .read_phone_number(&PhoneNumberId::new(NUMBER_ID).unwrap())
        .await
        .expect("the read survives the refusal");
    assert!(record.is_connected() && record.platform_type.is_none());
    server.verify().await;

    // The list: name_status refused on the first page, the pages go on
    // without it.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}/phone_numbers")))
        .and(query_param(
            "fields",
            "id,display_phone_number,verified_name,status,code_verification_status,name_status,platform_type",
        ))
        .respond_with(refusal("name_status"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}/phone_numbers")))
        .and(query_param(
            "fields",
            "id,display_phone_number,verified_name,status,code_verification_status,platform_type",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": NUMBER_ID, "display_phone_number": "+1 415-555-0123", "status": "CONNECTED"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let listed = client(&server)
        .list_phone_numbers(&waba_porting::WabaId::new(WABA).unwrap())
        .await
        .expect("the list survives the refusal");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].name_status.is_none());
    server.verify().await;

    // Any other error 100 is no refusal of a field: it fails the read.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{NUMBER_ID}")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "Invalid phone number ID format. Must be numeric.",
            "type": "OAuthException", "code": 100, "fbtrace_id": "AbC"}})))
        .expect(1)
        .mount(&server)
        .await;
    let error = client(&server)
        .read_phone_number(&PhoneNumberId::new(NUMBER_ID).unwrap())
        .await
        .expect_err("not a refused field");
    assert_eq!(
        error.api_kind(),
        Some(waba_porting::ApiErrorKind::InvalidParameter)
    );
}

/// One example error body of the description: where it is, and the body.
struct Example {
    verb: String,
    route: String,
    status: u16,
    name: String,
    body: Value,
}

/// Every example error body of the operations in the fixture.
fn error_examples(spec: &Value) -> Vec<Example> {
    fn deref(spec: &Value, value: &Value) -> Value {
        let mut v = value;
        while let Some(pointer) = v.get("$ref").and_then(Value::as_str) {
            v = component(spec, pointer);
        }
        v.clone()
    }
    let mut out = Vec::new();
    for op in spec["operations"].as_array().expect("operations") {
        for (status, response) in op["responses"].as_object().into_iter().flatten() {
            let Ok(code) = status.parse::<u16>() else {
                continue;
            };
            if code < 400 {
                continue;
            }
            let response = deref(spec, response);
            for content in response["content"].as_object().into_iter().flatten() {
                let content = content.1;
                let mut bodies = Vec::new();
                if let Some(body) = content.get("example") {
                    bodies.push(("example".to_owned(), body.clone()));
                }
                for (name, example) in content["examples"].as_object().into_iter().flatten() {
                    bodies.push((name.clone(), deref(spec, example)["value"].clone()));
                }
                for (name, body) in bodies {
                    out.push(Example {
                        verb: op["method"].as_str().unwrap_or_default().to_owned(),
                        route: op["path"].as_str().unwrap_or_default().to_owned(),
                        status: code,
                        name,
                        body,
                    });
                }
            }
        }
    }
    out
}

/// What the description's example means, by the rules this crate follows
/// (issue: "every example error body is handled as this issue says").
fn expected_kind(example: &Example) -> &'static str {
    let error = &example.body["error"];
    let code = error["code"].as_i64().unwrap_or_default();
    let subcode = error["error_subcode"].as_i64();
    let message = error["message"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let waba_op = !example.route.contains("Phone-Number-ID");
    match code {
        190 => "invalid_access_token",
        104 => "access_token_missing",
        200 if subcode == Some(1_349_175) && message.contains("limit") => {
            "phone_number_limit_reached"
        }
        200 if subcode == Some(1_349_175) => "app_not_linked",
        200 | 10 => "permission_denied",
        803 if message.contains("deleted") => "number_deleted",
        803 if message.contains("business account") || waba_op => "waba_not_found",
        803 => "phone_number_not_found",
        4 | 17 | 80007 | 613 => "rate_limited",
        2 => "temporary",
        100 if message.contains("already registered") => "already_registered",
        // "The verification code is invalid or has expired" ("Verification
        // Failed"), "Invalid verification code format": Meta did not take
        // the code as given; the customer gives it again, exactly.
        100 if example.route.ends_with("verify_code") && message.contains("verification code") => {
            "verification_code_rejected"
        }
        100 => "invalid_parameter",
        _ => "unknown",
    }
}

/// Drives the client to the example's operation against `server` (every
/// earlier step answered with success) and returns the step's error.
async fn error_at(example: &Example, server: &MockServer) -> Option<waba_porting::Error> {
    use waba_porting::{CodeMethod, Language, Pin, VerificationCode, WabaId};
    let ok = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    let number = format!("/{VERSION}/{NUMBER_ID}");
    let mount = |verb: &'static str, route: String, answer: ResponseTemplate| {
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(answer)
    };
    let route = example
        .route
        .replace("/{Version}", &format!("/{VERSION}"))
        .replace("{WABA-ID}", WABA)
        .replace("{Phone-Number-ID}", NUMBER_ID)
        .replace("{Pre-Verified-Phone-Number-ID}", NUMBER_ID);
    let answer = ResponseTemplate::new(example.status).set_body_json(example.body.clone());
    let verb: &'static str = if example.verb == "GET" { "GET" } else { "POST" };
    // The example first (wiremock answers with the first mock mounted that
    // matches), then success for every other step.
    mount(verb, route, answer).mount(server).await;
    mount("POST", common::start_path(), ok(json!({"id": NUMBER_ID})))
        .mount(server)
        .await;
    for edge in ["request_code", "verify_code", "register"] {
        mount(
            "POST",
            common::number_path(edge),
            ok(json!({"success": true})),
        )
        .mount(server)
        .await;
    }
    mount(
        "GET",
        format!("/{VERSION}/{WABA}/phone_numbers"),
        ok(json!({"data": []})),
    )
    .mount(server)
    .await;
    mount(
        "GET",
        format!("/{VERSION}/{WABA}/subscribed_apps"),
        ok(json!({"data": []})),
    )
    .mount(server)
    .await;
    mount(
        "GET",
        number.clone(),
        ok(json!({"id": NUMBER_ID, "status": "PENDING"})),
    )
    .mount(server)
    .await;
    // Local storage off: a register with a region sets it (API v21.0+).
    mount(
        "GET",
        common::number_path("settings"),
        ok(json!({"calling": {"status": "disabled"}, "storage_configuration": {"status": "default"}})),
    )
    .mount(server)
    .await;
    let client = client(server);
    let waba = WabaId::new(WABA).unwrap();
    let id = PhoneNumberId::new(NUMBER_ID).unwrap();
    let mut session = common::session();
    let (sms, language) = (CodeMethod::Sms, Language::default());
    let code = VerificationCode::new("123456").unwrap();
    let pin = Pin::new("482913").unwrap();
    let route = example.route.as_str();
    let result = match (verb, route) {
        ("GET", "/{Version}/{WABA-ID}") | ("GET", "/{Version}/{WABA-ID}/subscribed_apps") => {
            client.check_readiness(&session).await.map(drop)
        }
        ("POST", "/{Version}/{WABA-ID}/subscribed_apps") => client.subscribe_app(&waba).await,
        ("GET", "/{Version}/{WABA-ID}/phone_numbers") => {
            client.list_phone_numbers(&waba).await.map(drop)
        }
        ("POST", "/{Version}/{WABA-ID}/phone_numbers") => {
            client.start_migration(&mut session).await.map(drop)
        }
        ("GET", "/{Version}/{Phone-Number-ID}") => client.read_phone_number(&id).await.map(drop),
        ("POST", "/{Version}/{Phone-Number-ID}") => client.set_two_step_pin(&id, &pin).await,
        (_, r) if r.ends_with("request_code") => {
            client.start_migration(&mut session).await.ok()?;
            client
                .request_code(&mut session, sms, &language)
                .await
                .map(drop)
        }
        (_, r) if r.ends_with("verify_code") => {
            client.start_migration(&mut session).await.ok()?;
            client
                .request_code(&mut session, sms, &language)
                .await
                .ok()?;
            client.verify_code(&mut session, &code).await.map(drop)
        }
        (_, r) if r.ends_with("register") => {
            client.start_migration(&mut session).await.ok()?;
            client
                .request_code(&mut session, sms, &language)
                .await
                .ok()?;
            client.verify_code(&mut session, &code).await.ok()?;
            client.register(&mut session, &pin, None).await.map(drop)
        }
        // The settings, read and changed before a register with a region.
        (_, r) if r.ends_with("/settings") => {
            let region = waba_porting::DataLocalizationRegion::new("DE").unwrap();
            client.start_migration(&mut session).await.ok()?;
            client
                .request_code(&mut session, sms, &language)
                .await
                .ok()?;
            client.verify_code(&mut session, &code).await.ok()?;
            client
                .register(&mut session, &pin, Some(&region))
                .await
                .map(drop)
        }
        // Operations whose calls other items of the issue add are checked
        // with them.
        _ => return None,
    };
    result.err()
}

/// Every example error body the description gives for the operations the
/// crate calls reaches the caller as the kind this crate documents for it
/// — none as `Unknown`, none as a success.
#[tokio::test]
async fn every_example_error_body_of_the_description_is_classified() {
    let spec = spec();
    let examples = error_examples(&spec);
    assert!(examples.len() > 80, "{} examples", examples.len());
    let mut checked = 0;
    let mut wrong = Vec::new();
    for example in &examples {
        let server = MockServer::start().await;
        let want = expected_kind(example);
        let Some(error) = error_at(example, &server).await else {
            continue;
        };
        checked += 1;
        let got = error.api_kind().map_or("not an API error", |k| k.as_str());
        if got != want || got == "unknown" {
            wrong.push(format!(
                "{} {} {} {}: got {got}, want {want} ({error})",
                example.verb, example.route, example.status, example.name
            ));
        }
    }
    assert!(checked > 80, "{checked} examples driven");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The simulator answers as Graph does: a field Graph does not serve on a
/// node is refused with error 100 ("Tried accessing nonexisting field"),
/// on a number read, a list and a WABA read; documented fields it does not
/// model are left out, never refused.
#[cfg(feature = "simulator")]
#[tokio::test]
async fn the_simulator_refuses_a_field_graph_does_not_have() {
    use waba_porting::simulator::{Scenario, SIMULATOR_TOKEN};
    use waba_porting::transport::{HttpRequest, Method, Transport};
    let sim = Scenario::happy_path().build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    let id = session
        .state()
        .phone_number_id()
        .unwrap()
        .as_str()
        .to_owned();
    let waba = session.waba_id().as_str().to_owned();
    let get = |target: String, fields: &str| {
        let url = format!("https://graph.facebook.com/{VERSION}/{target}?fields={fields}");
        let mut request = HttpRequest::new(Method::Get, url.parse().unwrap());
        request
            .headers
            .push("Authorization", format!("Bearer {SIMULATOR_TOKEN}"));
        request
    };
    for (target, fields) in [
        (id.clone(), "id,status,favourite_colour"),
        (format!("{waba}/phone_numbers"), "id,favourite_colour"),
        (waba.clone(), "id,favourite_colour"),
    ] {
        let answer = sim.send(get(target.clone(), fields)).await.unwrap();
        assert_eq!(answer.status, 400, "{target}");
        let body: Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(body["error"]["code"], 100, "{target}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("nonexisting field (favourite_colour)"),
            "{target}: {message}"
        );
    }
    // Documented, not modelled: left out.
    let answer = sim.send(get(id, "id,status,quality_rating")).await.unwrap();
    assert_eq!(answer.status, 200);
}
