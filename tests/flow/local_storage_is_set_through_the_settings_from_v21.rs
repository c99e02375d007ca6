//! Local storage (where Meta keeps a number's message data at rest): from
//! Graph API v21.0 on, where Meta's OpenAPI description marks `register`'s
//! `data_localization_region` deprecated, `register` sets it through
//! `POST /{phone-number-id}/settings` (`storage_configuration`) first and
//! reads the settings to confirm; before v21.0 the region goes in the
//! register body. Every request is asserted on the wire: method, path,
//! query and body.
#![cfg(all(feature = "reqwest", feature = "simulator"))]

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use waba_porting::simulator::Scenario;
use waba_porting::{
    DataLocalizationRegion, Error, LocalStorageError, Operation, Pin, PortingClient, RetryPolicy,
    StateName, VerificationCode,
};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SPEC: &str = include_str!("../fixtures/openapi/business-messaging-api_v23.0.trimmed.json");

fn de() -> DataLocalizationRegion {
    DataLocalizationRegion::new("DE").unwrap()
}

fn pin() -> Pin {
    Pin::new("482913").unwrap()
}

/// The settings answer with `storage_configuration` as given (Meta's
/// "Basic settings response" example otherwise).
fn settings(storage: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "calling": {
            "status": "enabled",
            "call_icon_visibility": "visible",
            "ip_addresses": {"default": ["157.240.0.1", "157.240.0.2"]},
            "callback_permission_status": "enabled",
            "video": {"status": "enabled"}
        },
        "payload_encryption": {"status": "disabled"},
        "storage_configuration": storage,
    }))
}

fn storage_default() -> ResponseTemplate {
    settings(json!({"status": "default"}))
}

fn storage_on_in(region: &str) -> ResponseTemplate {
    settings(json!({"status": "in_country_storage_enabled", "data_localization_region": region}))
}

fn at(version: &str, edge: &str) -> String {
    format!("/{version}/{NUMBER_ID}/{edge}")
}

/// A client of `server` at `version`, sending each step once.
fn client_at(server: &MockServer, version: &str) -> PortingClient {
    PortingClient::builder()
        .access_token(TOKEN)
        .base_url(server.uri())
        .api_version(version)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Mounts the three steps before register at `version`, and register.
async fn mount_steps(server: &MockServer, version: &str) {
    answer(
        server,
        "POST",
        &format!("/{version}/{WABA}/phone_numbers"),
        ResponseTemplate::new(200).set_body_json(json!({"id": NUMBER_ID})),
        1,
    )
    .await;
    for edge in ["request_code", "verify_code", "register"] {
        answer(server, "POST", &at(version, edge), success(), 1).await;
    }
}

/// Brings a session to `CodeVerified` through `client`.
async fn verified(client: &PortingClient) -> waba_porting::PortingSession {
    let mut session = session();
    let (method, language) = sms();
    client.start_migration(&mut session).await.unwrap();
    client
        .request_code(&mut session, method, &language)
        .await
        .unwrap();
    client
        .verify_code(&mut session, &VerificationCode::new("123830").unwrap())
        .await
        .unwrap();
    assert_eq!(session.state().name(), StateName::CodeVerified);
    session
}

/// The requests sent after the first three steps: (method, path, query,
/// body).
async fn after_verify(server: &MockServer) -> Vec<(String, String, Option<String>, Value)> {
    let sent: Vec<Request> = requests(server).await;
    sent.iter()
        .skip(3)
        .map(|r| {
            let body = if r.body.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&r.body).unwrap()
            };
            (
                r.method.to_string(),
                r.url.path().to_owned(),
                r.url.query().map(str::to_owned),
                body,
            )
        })
        .collect()
}

fn post(path: String, body: Value) -> (String, String, Option<String>, Value) {
    ("POST".into(), path, None, body)
}

fn get(path: String) -> (String, String, Option<String>, Value) {
    ("GET".into(), path, None, Value::Null)
}

#[tokio::test]
async fn from_v21_the_region_is_set_through_the_settings_before_register() {
    for version in ["v21.0", "v23.0", "v25.0"] {
        let server = MockServer::start().await;
        mount_steps(&server, version).await;
        answer(
            &server,
            "GET",
            &at(version, "settings"),
            storage_default(),
            1,
        )
        .await;
        Mock::given(method("POST"))
            .and(path(at(version, "settings")))
            .and(body_json(
                json!({"storage_configuration": {"enabled": true, "region": "DE"}}),
            ))
            .respond_with(success())
            .expect(1)
            .mount(&server)
            .await;
        answer(
            &server,
            "GET",
            &at(version, "settings"),
            storage_on_in("DE"),
            1,
        )
        .await;
        let client = client_at(&server, version);
        let mut session = verified(&client).await;

        let state = client
            .register(&mut session, &pin(), Some(&de()))
            .await
            .unwrap();
        assert_eq!(state, StateName::Registered, "{version}");
        assert_eq!(
            after_verify(&server).await,
            vec![
                get(at(version, "settings")),
                post(
                    at(version, "settings"),
                    json!({"storage_configuration": {"enabled": true, "region": "DE"}})
                ),
                get(at(version, "settings")),
                post(
                    at(version, "register"),
                    json!({"messaging_product": "whatsapp", "pin": "482913"})
                ),
            ],
            "{version}"
        );
        let sent = requests(&server).await;
        for request in sent.iter().skip(3) {
            assert_eq!(
                header(request, "authorization"),
                Some(format!("Bearer {TOKEN}").as_str())
            );
        }
        assert_eq!(header(&sent[4], "content-type"), Some("application/json"));
        assert_eq!(session.counters().register_requests, 1);
        server.verify().await;
    }
}

#[tokio::test]
async fn before_v21_the_region_goes_in_the_register_body() {
    for version in ["v19.0", "v20.0"] {
        let server = MockServer::start().await;
        mount_steps(&server, version).await;
        let client = client_at(&server, version);
        let mut session = verified(&client).await;
        client
            .register(&mut session, &pin(), Some(&de()))
            .await
            .unwrap();
        assert_eq!(
            after_verify(&server).await,
            vec![post(
                at(version, "register"),
                json!({"messaging_product": "whatsapp", "pin": "482913", "data_localization_region": "DE"})
            )],
            "{version}: no settings call"
        );
    }
}

#[tokio::test]
async fn without_a_region_no_settings_are_read() {
    let server = MockServer::start().await;
    mount_steps(&server, VERSION).await;
    let client = client(&server);
    let mut session = verified(&client).await;
    client.register(&mut session, &pin(), None).await.unwrap();
    assert_eq!(
        after_verify(&server).await,
        vec![post(
            number_path("register"),
            json!({"messaging_product": "whatsapp", "pin": "482913"})
        )]
    );
}

/// Already on in the region (Meta's example writes regions in lowercase):
/// nothing is changed, register goes at once.
#[tokio::test]
async fn local_storage_already_on_in_the_region_is_not_set_again() {
    let server = MockServer::start().await;
    mount_steps(&server, VERSION).await;
    answer(
        &server,
        "GET",
        &number_path("settings"),
        storage_on_in("de"),
        1,
    )
    .await;
    let client = client(&server);
    let mut session = verified(&client).await;
    client
        .register(&mut session, &pin(), Some(&de()))
        .await
        .unwrap();
    assert_eq!(
        after_verify(&server).await,
        vec![
            get(number_path("settings")),
            post(
                number_path("register"),
                json!({"messaging_product": "whatsapp", "pin": "482913"})
            ),
        ]
    );
}

/// On in another region: a typed error, nothing changed, no register sent,
/// the session as it was.
#[tokio::test]
async fn local_storage_on_in_another_region_is_a_typed_error_and_nothing_is_changed() {
    let server = MockServer::start().await;
    mount_steps(&server, VERSION).await;
    answer(
        &server,
        "GET",
        &number_path("settings"),
        storage_on_in("IN"),
        1,
    )
    .await;
    let client = client(&server);
    let mut session = verified(&client).await;
    let before = session.clone();
    let error = client
        .register(&mut session, &pin(), Some(&de()))
        .await
        .unwrap_err();
    match &error {
        Error::LocalStorage(LocalStorageError::OtherRegion { requested, current }) => {
            assert_eq!((requested.as_str(), current.as_str()), ("DE", "IN"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.operation(), Some(Operation::SetLocalStorage));
    assert!(!error.is_retryable());
    assert!(error.to_string().contains("IN") && error.remediation().contains("region"));
    assert_eq!(session, before, "the session is unchanged");
    assert_eq!(
        after_verify(&server).await,
        vec![get(number_path("settings"))]
    );
}

/// Meta refusing the change (its documented 403 "Not supported"): an API
/// error of `set_local_storage`; register is not sent.
#[tokio::test]
async fn meta_refusing_the_change_is_an_api_error_and_register_is_not_sent() {
    let server = MockServer::start().await;
    mount_steps(&server, VERSION).await;
    answer(
        &server,
        "GET",
        &number_path("settings"),
        storage_default(),
        1,
    )
    .await;
    answer(
        &server,
        "POST",
        &number_path("settings"),
        error_response(
            403,
            json!({"error": {"code": 10, "message": "Not supported", "type": "OAuthException"}}),
        ),
        1,
    )
    .await;
    let client = client(&server);
    let mut session = verified(&client).await;
    let before = session.clone();
    let error = client
        .register(&mut session, &pin(), Some(&de()))
        .await
        .unwrap_err();
    let api = error.api().unwrap_or_else(|| panic!("{error:?}"));
    assert_eq!(api.operation(), Operation::SetLocalStorage);
    assert_eq!(api.code(), Some(10));
    assert_eq!(session, before);
    let sent = after_verify(&server).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent
        .iter()
        .all(|(_, path, _, _)| !path.ends_with("/register")));
}

/// Meta accepted the change but the settings do not show it: a typed error,
/// register not sent.
#[tokio::test]
async fn a_change_the_settings_do_not_show_is_a_typed_error() {
    let server = MockServer::start().await;
    mount_steps(&server, VERSION).await;
    answer(
        &server,
        "GET",
        &number_path("settings"),
        storage_default(),
        2,
    )
    .await;
    answer(&server, "POST", &number_path("settings"), success(), 1).await;
    let client = client(&server);
    let mut session = verified(&client).await;
    let error = client
        .register(&mut session, &pin(), Some(&de()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::LocalStorage(LocalStorageError::NotApplied { status, region: None, .. })
                if status == "default"
        ),
        "{error:?}"
    );
    assert_eq!(session.state().name(), StateName::CodeVerified);
    assert_eq!(session.counters().register_requests, 0);
    assert_eq!(after_verify(&server).await.len(), 3);
}

/// The settings calls are retried like reads: a 503 and a timeout are
/// repeated under the retry policy (each attempt reads the settings again),
/// and register follows once.
#[tokio::test]
async fn settings_failures_are_retried_like_reads() {
    let server = MockServer::start().await;
    mount_steps(&server, VERSION).await;
    answer(
        &server,
        "GET",
        &number_path("settings"),
        error_response(
            503,
            json!({"error": {"code": 2, "message": "Service temporarily unavailable", "type": "OAuthException", "is_transient": true}}),
        ),
        1,
    )
    .await;
    answer(
        &server,
        "GET",
        &number_path("settings"),
        storage_default(),
        1,
    )
    .await;
    answer(
        &server,
        "POST",
        &number_path("settings"),
        success().set_delay(Duration::from_secs(3)),
        1,
    )
    .await;
    answer(
        &server,
        "GET",
        &number_path("settings"),
        storage_on_in("DE"),
        5,
    )
    .await;
    let client = PortingClient::builder()
        .access_token(TOKEN)
        .base_url(server.uri())
        .timeout(Duration::from_millis(500))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(4)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    let mut session = verified(&client).await;
    let state = client
        .register(&mut session, &pin(), Some(&de()))
        .await
        .unwrap();
    assert_eq!(state, StateName::Registered);
    let sent = after_verify(&server).await;
    let kinds: Vec<(&str, &str)> = sent
        .iter()
        .map(|(m, p, _, _)| (m.as_str(), p.rsplit('/').next().unwrap_or_default()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("GET", "settings"),  // 503: the attempt is repeated
            ("GET", "settings"),  // off
            ("POST", "settings"), // no answer in time: the attempt is repeated
            ("GET", "settings"),  // on in DE (the change went through)
            ("POST", "register"),
        ]
    );
    assert_eq!(session.counters().register_requests, 1);
}

/// A call that stopped after the change (here: the confirming read failed)
/// sent no register; the next call finds local storage on with one read and
/// registers, without changing it again.
#[tokio::test]
async fn a_call_cut_short_after_the_change_resumes_with_one_read() {
    let server = MockServer::start().await;
    mount_steps(&server, VERSION).await;
    answer(
        &server,
        "GET",
        &number_path("settings"),
        storage_default(),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path(number_path("settings")))
        .respond_with(success())
        .expect(1)
        .mount(&server)
        .await;
    answer(
        &server,
        "GET",
        &number_path("settings"),
        error_response(
            500,
            json!({"error": {"code": 1, "message": "An unknown error occurred", "type": "OAuthException"}}),
        ),
        1,
    )
    .await;
    answer(
        &server,
        "GET",
        &number_path("settings"),
        storage_on_in("DE"),
        1,
    )
    .await;
    let client = client(&server);
    let mut session = verified(&client).await;
    let error = client
        .register(&mut session, &pin(), Some(&de()))
        .await
        .unwrap_err();
    assert_eq!(error.operation(), Some(Operation::ReadLocalStorage));
    assert!(error.is_retryable());
    assert_eq!(session.in_flight(), None, "no register was marked");
    assert_eq!(session.counters().register_requests, 0);

    client
        .register(&mut session, &pin(), Some(&de()))
        .await
        .unwrap();
    assert_eq!(session.state().name(), StateName::Registered);
    let sent = after_verify(&server).await;
    assert_eq!(
        sent[3..].to_vec(),
        vec![
            get(number_path("settings")),
            post(
                number_path("register"),
                json!({"messaging_product": "whatsapp", "pin": "482913"})
            ),
        ]
    );
    server.verify().await;
}

/// The body the client sends is the one Meta's description documents
/// (`StorageConfigurationSettingsRequest`: `enabled` required, `region`),
/// and every settings example of the description reads as it says.
#[tokio::test]
async fn the_settings_call_matches_meta_s_description() {
    let spec: Value = serde_json::from_str(SPEC).unwrap();
    let schema = &spec["components"]["#/components/schemas/StorageConfigurationSettings"];
    let documented: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(schema["required"], json!(["enabled"]));
    let request = &spec["components"]["#/components/schemas/StorageConfigurationSettingsRequest"];
    assert_eq!(request["required"], json!(["storage_configuration"]));

    // Each GET example, answered to a register asking for DE.
    let get = spec["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["method"] == "GET" && o["path"] == "/{Version}/{Phone-Number-ID}/settings")
        .unwrap();
    let examples = get["responses"]["200"]["content"]["application/json"]["examples"]
        .as_object()
        .unwrap();
    assert_eq!(examples.len(), 2);
    for (name, example) in examples {
        let server = MockServer::start().await;
        mount_steps(&server, VERSION).await;
        let body = example["value"].clone();
        answer(
            &server,
            "GET",
            &number_path("settings"),
            ResponseTemplate::new(200).set_body_json(body.clone()),
            1,
        )
        .await;
        answer(&server, "POST", &number_path("settings"), success(), 1).await;
        answer(
            &server,
            "GET",
            &number_path("settings"),
            storage_on_in("DE"),
            1,
        )
        .await;
        let client = client(&server);
        let mut session = verified(&client).await;
        let result = client.register(&mut session, &pin(), Some(&de())).await;
        let sent = after_verify(&server).await;
        match body["storage_configuration"]["status"].as_str() {
            // "Basic settings response": off, so it is turned on.
            Some("default") => {
                assert!(result.is_ok(), "{name}: {result:?}");
                let (_, _, _, change) = &sent[1];
                let fields: Vec<&str> = change["storage_configuration"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(String::as_str)
                    .collect();
                assert!(fields.iter().all(|f| documented.contains(f)), "{fields:?}");
                assert_eq!(
                    change.as_object().unwrap().len(),
                    1,
                    "one feature per request"
                );
            }
            // "Settings with SIP and encryption": on in `us`, another region.
            _ => assert!(
                matches!(
                    &result,
                    Err(Error::LocalStorage(LocalStorageError::OtherRegion { current, .. })) if current == "us"
                ),
                "{name}: {result:?}"
            ),
        }
    }
}

/// The simulator answers the settings endpoint as documented and keeps what
/// was set; before v21.0 it takes the region from register's body.
#[tokio::test]
async fn the_simulator_keeps_local_storage_set_either_way() {
    for version in ["v25.0", "v20.0"] {
        let sim = Scenario::happy_path().build();
        let client = sim.client_builder().api_version(version).build().unwrap();
        let mut session = sim.session();
        client.start_migration(&mut session).await.unwrap();
        let (method, language) = sms();
        client
            .request_code(&mut session, method, &language)
            .await
            .unwrap();
        let code = sim.latest_code(session.phone_number()).unwrap();
        client.verify_code(&mut session, &code).await.unwrap();
        assert_eq!(sim.local_storage(session.phone_number()), None);
        client
            .register(&mut session, &pin(), Some(&de()))
            .await
            .unwrap();
        assert_eq!(session.state().name(), StateName::Registered);
        assert_eq!(
            sim.local_storage(session.phone_number()).as_deref(),
            Some("DE"),
            "{version}"
        );
        let settings: Vec<_> = sim
            .served()
            .into_iter()
            .filter(|r| r.path.ends_with("/settings"))
            .map(|r| (r.operation, r.status))
            .collect();
        if version == "v25.0" {
            assert_eq!(
                settings,
                vec![
                    (Some(Operation::ReadLocalStorage), Some(200)),
                    (Some(Operation::SetLocalStorage), Some(200)),
                    (Some(Operation::ReadLocalStorage), Some(200)),
                ]
            );
        } else {
            assert!(settings.is_empty(), "{settings:?}");
        }
    }
}

/// The simulator's settings endpoint, request by request: one feature per
/// request (Meta's texts), `enabled` required, a region Meta offers; and a
/// register that still carries the deprecated `data_localization_region`
/// at v25.0 is accepted (deprecated is not removed).
#[tokio::test]
async fn the_simulator_answers_the_settings_endpoint_as_documented() {
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
    let send = |verb: Method, edge: &'static str, body: Option<Value>| {
        let mut url = client.api_root().clone();
        url.path_segments_mut().unwrap().push(&id).push(edge);
        let mut request = HttpRequest::new(verb, url);
        request.headers.push(
            "Authorization",
            format!("Bearer {}", waba_porting::simulator::SIMULATOR_TOKEN),
        );
        if let Some(body) = body {
            request.headers.push("Content-Type", "application/json");
            request.body = serde_json::to_vec(&body).unwrap();
        }
        let sim = sim.clone();
        async move {
            let answer = sim.send(request).await.unwrap();
            let body: Value = serde_json::from_slice(&answer.body).unwrap();
            (answer.status, body)
        }
    };
    let refused = |(status, body): (u16, Value), text: &str| {
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], 100, "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(text),
            "{body}"
        );
    };

    let (status, body) = send(Method::Get, "settings", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["storage_configuration"], json!({"status": "default"}));
    assert!(
        body["calling"]["status"].is_string(),
        "calling is required: {body}"
    );

    refused(
        send(Method::Post, "settings", Some(json!({}))).await,
        "One feature setting must be specified",
    );
    refused(
        send(
            Method::Post,
            "settings",
            Some(json!({"storage_configuration": {"enabled": true, "region": "DE"}, "calling": {"status": "enabled"}})),
        )
        .await,
        "Only one feature setting",
    );
    refused(
        send(
            Method::Post,
            "settings",
            Some(json!({"storage_configuration": {"region": "DE"}})),
        )
        .await,
        "enabled",
    );
    refused(
        send(
            Method::Post,
            "settings",
            Some(json!({"storage_configuration": {"enabled": true, "region": "US"}})),
        )
        .await,
        "region",
    );
    assert_eq!(sim.local_storage(session.phone_number()), None);

    let on = send(
        Method::Post,
        "settings",
        Some(json!({"storage_configuration": {"enabled": true, "region": "de"}})),
    )
    .await;
    assert_eq!(on, (200, json!({"success": true})));
    let (_, body) = send(Method::Get, "settings", None).await;
    assert_eq!(
        body["storage_configuration"],
        json!({"status": "in_country_storage_enabled", "data_localization_region": "DE"})
    );
    let off = send(
        Method::Post,
        "settings",
        Some(json!({"storage_configuration": {"enabled": false}})),
    )
    .await;
    assert_eq!(off, (200, json!({"success": true})));
    assert_eq!(sim.local_storage(session.phone_number()), None);

    // register at v25.0 with the deprecated parameter: still taken.
    let (method, language) = sms();
    client
        .request_code(&mut session, method, &language)
        .await
        .unwrap();
    let code = sim.latest_code(session.phone_number()).unwrap();
    client.verify_code(&mut session, &code).await.unwrap();
    let (status, _) = send(
        Method::Post,
        "register",
        Some(json!({"messaging_product": "whatsapp", "pin": "482913", "data_localization_region": "AE"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        sim.local_storage(session.phone_number()).as_deref(),
        Some("AE")
    );
    refused(
        send(
            Method::Post,
            "register",
            Some(json!({"messaging_product": "whatsapp", "pin": "482913", "data_localization_region": "FR"})),
        )
        .await,
        "data_localization_region",
    );
}
