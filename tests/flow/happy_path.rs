//! The whole flow against wiremock, asserting every request on the wire.

use crate::common;

use common::*;
use serde_json::json;
use waba_porting::{NextAction, Pin, PortingState, StateName, VerificationCode};

#[tokio::test]
async fn happy_path_sends_exactly_the_four_reference_requests() {
    let server = wiremock::MockServer::start().await;
    mount_happy_path(&server).await;
    let client = client(&server);
    let mut session = session();
    let (method, language) = sms();

    let state = client.start_migration(&mut session).await.unwrap();
    assert_eq!(state, StateName::Initiated);
    client
        .request_code(&mut session, method, &language)
        .await
        .unwrap();
    assert_eq!(session.next_action().action, NextAction::VerifyCode);
    client
        .verify_code(&mut session, &VerificationCode::new("123-830").unwrap())
        .await
        .unwrap();
    let state = client
        .register(&mut session, &Pin::new("482913").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(state, StateName::Registered);
    assert!(
        matches!(session.state(), PortingState::Registered { phone_number_id } if phone_number_id.as_str() == NUMBER_ID)
    );
    assert_eq!(session.next_action().action, NextAction::Done);

    let sent = requests(&server).await;
    let expected = [
        (
            start_path(),
            json!({"cc": "1", "phone_number": "4155550123", "migrate_phone_number": true}),
        ),
        (
            number_path("request_code"),
            json!({"code_method": "SMS", "language": "en_US"}),
        ),
        (number_path("verify_code"), json!({"code": "123830"})),
        (
            number_path("register"),
            json!({"messaging_product": "whatsapp", "pin": "482913"}),
        ),
    ];
    assert_eq!(sent.len(), expected.len());
    for (request, (want_path, want_body)) in sent.iter().zip(expected) {
        assert_eq!(request.method.as_str(), "POST");
        assert_eq!(request.url.path(), want_path);
        assert_eq!(
            request.url.query(),
            None,
            "nothing travels in the query string"
        );
        assert_eq!(
            header(request, "authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(header(request, "content-type"), Some("application/json"));
        assert_eq!(header(request, "accept"), Some("application/json"));
        assert!(header(request, "user-agent").is_some_and(|ua| ua.starts_with("waba-porting/")));
        assert_eq!(body_json(request), want_body, "{want_path}");
    }

    let history: Vec<_> = session.history().iter().map(|t| (t.from, t.to)).collect();
    assert_eq!(
        history,
        vec![
            (StateName::Draft, StateName::Initiated),
            (StateName::Initiated, StateName::CodeRequested),
            (StateName::CodeRequested, StateName::CodeVerified),
            (StateName::CodeVerified, StateName::Registered),
        ]
    );
    assert!(session.history().windows(2).all(|w| w[0].at <= w[1].at));
}

#[tokio::test]
async fn register_without_region_omits_the_field() {
    let server = wiremock::MockServer::start().await;
    mount_happy_path(&server).await;
    let client = client(&server);
    let mut session = session();
    to_code_requested(&client, &mut session).await;
    client
        .verify_code(&mut session, &VerificationCode::new("123830").unwrap())
        .await
        .unwrap();
    client
        .register(&mut session, &Pin::new("000111").unwrap(), None)
        .await
        .unwrap();
    let sent = requests(&server).await;
    assert_eq!(
        body_json(&sent[3]),
        json!({"messaging_product": "whatsapp", "pin": "000111"})
    );
}

#[tokio::test]
async fn custom_api_version_and_base_path_are_used() {
    let server = wiremock::MockServer::start().await;
    common::answer(
        &server,
        "POST",
        &format!("/graph/v21.0/{WABA}/phone_numbers"),
        wiremock::ResponseTemplate::new(200).set_body_json(json!({"id": NUMBER_ID})),
        1,
    )
    .await;
    let client = waba_porting::PortingClient::builder()
        .access_token(TOKEN)
        .base_url(format!("{}/graph/", server.uri()))
        .api_version("v21.0")
        .build()
        .unwrap();
    let mut session = session();
    client.start_migration(&mut session).await.unwrap();
    assert_eq!(
        session.state().phone_number_id().map(|i| i.as_str()),
        Some(NUMBER_ID)
    );
}
