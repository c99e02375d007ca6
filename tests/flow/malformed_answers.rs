//! Answers that are not what the reference promises, and no answer at all.

use crate::common;

use std::time::Duration;

use common::hooked::{client_over, Action, Hooked};
use common::*;
use serde_json::json;
use waba_porting::simulator::Scenario;
use waba_porting::transport::{Headers, HttpResponse};
use waba_porting::{
    ApiErrorKind, Error, Operation, StateName, Timestamp, TransportErrorKind, UndecodableReason,
    VerificationCode,
};
use wiremock::{MockServer, ResponseTemplate};

fn undecodable(err: &Error) -> (u16, UndecodableReason, &str) {
    match err {
        Error::UnexpectedResponse(e) => (e.status(), e.reason(), e.body_snippet()),
        other => panic!("expected an undecodable answer, got {other:?}"),
    }
}

#[tokio::test]
async fn html_502_from_a_proxy() {
    let server = MockServer::start().await;
    let page = format!(
        "<html><head><title>502 Bad Gateway</title></head><body>{}</body></html>",
        "x".repeat(4000)
    );
    answer(
        &server,
        "POST",
        &start_path(),
        ResponseTemplate::new(502).set_body_raw(page, "text/html"),
        1,
    )
    .await;
    let mut session = session();
    let err = client(&server)
        .start_migration(&mut session)
        .await
        .unwrap_err();
    let (status, reason, snippet) = undecodable(&err);
    assert_eq!((status, reason), (502, UndecodableReason::NotJson));
    assert!(snippet.starts_with("<html><head><title>502 Bad Gateway"));
    assert!(
        snippet.len() <= 512 + 3,
        "bounded snippet, got {}",
        snippet.len()
    );
    assert!(err.is_retryable());
    assert!(!err.to_string().contains('\n'));
    assert_eq!(session.state().name(), StateName::Draft);
}

#[tokio::test]
async fn empty_body() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        &start_path(),
        ResponseTemplate::new(500),
        1,
    )
    .await;
    let err = client(&server)
        .start_migration(&mut session())
        .await
        .unwrap_err();
    assert_eq!(undecodable(&err), (500, UndecodableReason::EmptyBody, ""));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn empty_body_with_200_is_not_success() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        &start_path(),
        ResponseTemplate::new(200),
        1,
    )
    .await;
    let err = client(&server)
        .start_migration(&mut session())
        .await
        .unwrap_err();
    assert_eq!(undecodable(&err).1, UndecodableReason::EmptyBody);
    // A 2xx that cannot be read may mean Meta acted: start is safe to repeat
    // (a repeat meets 2388012, resolved by look-up).
    assert_eq!(err.retry_advice(), waba_porting::RetryAdvice::Repeat);
}

#[tokio::test]
async fn truncated_json() {
    let server = MockServer::start().await;
    let body = r#"{"error":{"message":"(#2388103) There was an error migr"#;
    answer(
        &server,
        "POST",
        &start_path(),
        ResponseTemplate::new(400).set_body_raw(body, "application/json"),
        1,
    )
    .await;
    let err = client(&server)
        .start_migration(&mut session())
        .await
        .unwrap_err();
    let (status, reason, snippet) = undecodable(&err);
    assert_eq!(
        (status, reason, snippet),
        (400, UndecodableReason::NotJson, body)
    );
}

#[tokio::test]
async fn json_of_another_shape() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        &start_path(),
        ResponseTemplate::new(200).set_body_json(json!({"ok": 1})),
        1,
    )
    .await;
    let err = client(&server)
        .start_migration(&mut session())
        .await
        .unwrap_err();
    assert_eq!(undecodable(&err).1, UndecodableReason::UnexpectedShape);
}

#[tokio::test]
async fn unknown_code_keeps_every_raw_field() {
    let server = MockServer::start().await;
    let body = json!({"error": {
        "message": "(#9999999) A brand new error", "type": "GraphMethodException", "code": 9999999,
        "error_subcode": 1234, "error_user_title": "New", "error_user_msg": "Something new happened",
        "error_data": {"details": "more"}, "fbtrace_id": "Trace-1"}});
    answer(&server, "POST", &start_path(), error_response(400, body), 1).await;
    let err = client(&server)
        .start_migration(&mut session())
        .await
        .unwrap_err();
    let api = err.api().expect("API error");
    assert_eq!(api.kind(), ApiErrorKind::Unknown);
    assert_eq!(api.status(), 400);
    let raw = api.graph();
    assert_eq!(raw.code, Some(9999999));
    assert_eq!(raw.error_subcode, Some(1234));
    assert_eq!(raw.error_type.as_deref(), Some("GraphMethodException"));
    assert_eq!(raw.message.as_deref(), Some("(#9999999) A brand new error"));
    assert_eq!(raw.error_user_title.as_deref(), Some("New"));
    assert_eq!(
        raw.error_user_msg.as_deref(),
        Some("Something new happened")
    );
    assert_eq!(raw.details.as_deref(), Some("more"));
    assert_eq!(raw.fbtrace_id.as_deref(), Some("Trace-1"));
    assert_eq!(
        err.to_string(),
        "Unrecognised Graph API error at start_migration (Graph error 9999999/1234, HTTP 400): \
         (#9999999) A brand new error [fbtrace_id Trace-1]"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn rate_limited_429_with_retry_after() {
    let server = MockServer::start().await;
    let body = graph_error(80007, None, "Rate limit issues");
    answer(
        &server,
        "POST",
        &start_path(),
        error_response(429, body).insert_header("Retry-After", "120"),
        1,
    )
    .await;
    let client = client(&server);
    let mut session = session();
    let before = Timestamp::now();
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::RateLimited));
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    let not_before = session
        .not_before()
        .expect("the wait is recorded on the session");
    assert!(not_before >= before.saturating_add(Duration::from_secs(120)));
    let next = session.next_action();
    assert_eq!(next.not_before, Some(not_before));
    assert_eq!(next.actor, waba_porting::Actor::Us);
}

#[tokio::test]
async fn rate_limited_429_without_an_envelope() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        &start_path(),
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "7")
            .set_body_raw("Too Many Requests", "text/plain"),
        1,
    )
    .await;
    let err = client(&server)
        .start_migration(&mut session())
        .await
        .unwrap_err();
    assert_eq!(undecodable(&err).0, 429);
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn timeout_is_a_retryable_transport_error() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        &start_path(),
        ResponseTemplate::new(200)
            .set_body_json(json!({"id": NUMBER_ID}))
            .set_delay(Duration::from_secs(3)),
        1,
    )
    .await;
    let client = client_with_timeout(&server, Duration::from_millis(200));
    let mut session = session();
    let err = client.start_migration(&mut session).await.unwrap_err();
    match &err {
        Error::Transport(e) => assert_eq!(e.kind(), TransportErrorKind::Timeout),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(err.is_retryable());
    assert!(
        std::error::Error::source(&err).is_some(),
        "source chain kept"
    );
    assert_eq!(session.state().name(), StateName::Draft);
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    // Bind then drop a listener: the port is closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = waba_porting::PortingClient::builder()
        .access_token(TOKEN)
        .base_url(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let err = client.start_migration(&mut session()).await.unwrap_err();
    match &err {
        Error::Transport(e) => assert_eq!(e.kind(), TransportErrorKind::Connect),
        other => panic!("expected a connect error, got {other:?}"),
    }
    assert!(err.is_retryable());
}

#[tokio::test]
async fn errors_never_show_secrets() {
    let server = MockServer::start().await;
    mount_happy_path(&server).await;
    // verify_code answers with an error that is shown in full.
    let client = client(&server);
    let mut session = session();
    to_code_requested(&client, &mut session).await;
    server.reset().await;
    answer(
        &server,
        "POST",
        &number_path("verify_code"),
        error_response(400, graph_error(136025, None, "Invalid code")),
        1,
    )
    .await;
    let err = client
        .verify_code(&mut session, &VerificationCode::new("987-654").unwrap())
        .await
        .unwrap_err();
    let shown = format!(
        "{err} {err:?} {client:?} {}",
        serde_json::to_string(&session).unwrap()
    );
    for secret in [TOKEN, "987654", "987-654"] {
        assert!(!shown.contains(secret), "leaked {secret}: {shown}");
    }
    assert_eq!(err.api_kind(), Some(ApiErrorKind::VerificationCodeRejected));
    assert_eq!(session.state().name(), StateName::CodeRequested);
}

/// Four remediation strings lost their `\` line continuations: what the user
/// reads is "…whether the                  request was sent…".
#[tokio::test]
async fn remediation_texts_have_a_run_of_spaces_mid_sentence() {
    let sim = Scenario::happy_path().build();
    let wire = Hooked::new(&sim, |op, _| match op {
        Operation::StartMigration => {
            Action::Replace(HttpResponse::new(404, Headers::new(), "<html>no</html>"))
        }
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire);
    let mut session = sim.session();
    let err = client.start_migration(&mut session).await.unwrap_err();
    let text = err.remediation();
    assert!(!text.contains("  "), "{text:?}");
}
