//! `request_code`'s `language` goes on the wire as Meta's OpenAPI
//! description documents it (`^[a-z]{2}_[A-Z]{2}$`): a locale written
//! another way is normalized, a bare language is refused at the call with
//! nothing sent, and the simulator refuses what Meta refuses.
#![cfg(all(feature = "reqwest", feature = "simulator"))]

use crate::common;

use common::*;
use serde_json::json;
use waba_porting::simulator::Scenario;
use waba_porting::transport::{HttpRequest, Method, Transport};
use waba_porting::{CodeMethod, Error, Language, StateName, ValidationError};
use wiremock::matchers::{body_json, method, path, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server that created the number and expects exactly one code request
/// with `body` (no query string).
async fn expecting_code_request(body: serde_json::Value, times: u64) -> MockServer {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        &start_path(),
        ResponseTemplate::new(200).set_body_json(json!({"id": NUMBER_ID})),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path(number_path("request_code")))
        .and(query_param_is_missing("language"))
        .and(query_param_is_missing("code_method"))
        .and(body_json(body))
        .respond_with(success())
        .expect(times)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_locale_written_another_way_is_sent_as_xx_xx() {
    for (written, sent) in [("pt-br", "pt_BR"), ("EN_us", "en_US"), (" es-ES ", "es_ES")] {
        let server =
            expecting_code_request(json!({"code_method": "VOICE", "language": sent}), 1).await;
        let client = client(&server);
        let mut session = session();
        client.start_migration(&mut session).await.unwrap();
        let language = Language::new(written).unwrap();
        assert_eq!(language.as_str(), sent);
        let state = client
            .request_code(&mut session, CodeMethod::Voice, &language)
            .await
            .unwrap();
        assert_eq!(state, StateName::CodeRequested);
        let sent_requests = requests(&server).await;
        let code_request = sent_requests.last().unwrap();
        assert_eq!(code_request.method.as_str(), "POST");
        assert_eq!(code_request.url.query(), None, "{written}");
        server.verify().await;
    }
}

#[tokio::test]
async fn the_default_language_is_en_us() {
    let server =
        expecting_code_request(json!({"code_method": "SMS", "language": "en_US"}), 1).await;
    let client = client(&server);
    let mut session = session();
    client.start_migration(&mut session).await.unwrap();
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    server.verify().await;
}

#[tokio::test]
async fn a_bare_language_is_refused_with_the_form_to_use() {
    let error = Language::new("en").unwrap_err();
    assert_eq!(
        error,
        ValidationError::LanguageWithoutRegion {
            language: "en".into()
        }
    );
    let message = error.to_string();
    assert!(
        message.contains("'en'") && message.contains("en_US") && message.contains("xx_XX"),
        "{message}"
    );
    assert!(matches!(
        "fil".parse::<Language>(),
        Err(ValidationError::InvalidLanguage)
    ));
}

/// A session saved by an earlier version may hold a bare language (`de`):
/// it still loads, and passing it to `request_code` is refused at the call,
/// nothing sent.
#[tokio::test]
async fn a_bare_language_from_an_earlier_version_is_refused_at_the_call() {
    let server = expecting_code_request(json!({"code_method": "SMS", "language": "de"}), 0).await;
    let client = client(&server);
    let mut session = session();
    client.start_migration(&mut session).await.unwrap();
    let saved: Language = serde_json::from_str("\"de\"").expect("earlier versions' shape loads");
    let error = client
        .request_code(&mut session, CodeMethod::Sms, &saved)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Validation(ValidationError::LanguageWithoutRegion { language }) if language == "de"),
        "{error:?}"
    );
    assert_eq!(session.state().name(), StateName::Initiated);
    assert_eq!(requests(&server).await.len(), 1, "only the start was sent");
    server.verify().await;
}

/// The simulator answers a language outside the documented pattern as
/// Meta's example does: 100 "Invalid parameter: language must be a valid
/// locale identifier".
#[tokio::test]
async fn the_simulator_refuses_a_language_meta_refuses() {
    let sim = Scenario::happy_path().build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    let id = session.state().phone_number_id().unwrap().clone();
    let mut url = client.api_root().clone();
    url.path_segments_mut()
        .unwrap()
        .push(id.as_str())
        .push("request_code");
    for (language, accepted) in [
        ("en", false),
        ("en-US", false),
        ("EN_US", false),
        ("en_US", true),
    ] {
        let mut request = HttpRequest::new(Method::Post, url.clone());
        request.headers.push(
            "Authorization",
            format!("Bearer {}", waba_porting::simulator::SIMULATOR_TOKEN),
        );
        request.headers.push("Content-Type", "application/json");
        request.body =
            serde_json::to_vec(&json!({"code_method": "SMS", "language": language})).unwrap();
        let answer = sim.send(request).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        if accepted {
            assert_eq!(
                (answer.status, body),
                (200, json!({"success": true})),
                "{language}"
            );
        } else {
            assert_eq!(answer.status, 400, "{language}");
            assert_eq!(body["error"]["code"], 100, "{language}");
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("language must be a valid locale identifier")),
                "{body}"
            );
        }
    }
}
