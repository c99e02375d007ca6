//! The Embedded Signup and solution migration routes on the wire: method,
//! path, query and body of every new call, each against the source it
//! cites, and what each answer does to the session.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use crate::common;

use std::collections::HashMap;
use std::sync::Arc;

use common::routes::{
    es_session, exchange_path, mps_session, route_client, signup, APP_ID, APP_SECRET, CODE,
    CUSTOMER_TOKEN, DESTINATION, INTENT, NEW_NUMBER_ID, SOLUTION,
};
use common::*;
use serde_json::json;
use waba_porting::{
    ApiErrorKind, AppId, AppSecret, BusinessId, CredentialKey, Error, InMemoryTokens, NextAction,
    PhoneNumberId, PortingClient, PortingState, RetryPolicy, SignupCode, SignupResult, StateName,
    TokenProvider, WabaId,
};
use wiremock::matchers::{body_json as with_body, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn tokens() -> Arc<InMemoryTokens> {
    Arc::new(InMemoryTokens::new())
}

fn query(request: &Request) -> HashMap<String, String> {
    request.url.query_pairs().into_owned().collect()
}

async fn mount_exchange(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(exchange_path()))
        .respond_with(response)
        .mount(server)
        .await;
}

fn scopes(waba: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"data": {
        "app_id": APP_ID, "type": "SYSTEM_USER", "application": "BSP", "is_valid": true,
        "scopes": ["whatsapp_business_management", "whatsapp_business_messaging"],
        "granular_scopes": [
            {"scope": "whatsapp_business_management", "target_ids": [waba]},
            {"scope": "whatsapp_business_messaging", "target_ids": [waba]}
        ]
    }}))
}

fn number_read(id: &str, verification: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": id, "display_phone_number": "+1 415-555-0123", "verified_name": "Acme",
        "status": "PENDING", "code_verification_status": verification,
        "name_status": "APPROVED", "platform_type": "NOT_APPLICABLE"
    }))
}

/// Mounts the sharing check, the subscription and the number read.
async fn mount_authorization(server: &MockServer, verification: &str) {
    answer(
        server,
        "GET",
        &format!("/{VERSION}/debug_token"),
        scopes(WABA),
        1,
    )
    .await;
    answer(
        server,
        "POST",
        &format!("/{VERSION}/{WABA}/subscribed_apps"),
        success(),
        1,
    )
    .await;
    answer(
        server,
        "GET",
        &format!("/{VERSION}/{NUMBER_ID}"),
        number_read(NUMBER_ID, verification),
        1,
    )
    .await;
}

/// Embedded Signup, Meta's *Onboarding business customers as a Tech
/// Provider* step 1 ("Exchange the token code for a business token"):
/// `GET /oauth/access_token?client_id=…&client_secret=…&code=…`, no
/// `redirect_uri`; *Manage accounts* (`debug_token`); step 2 ("Subscribe to
/// webhooks on the customer's WABA"): `POST /{waba}/subscribed_apps` with
/// the business token.
#[tokio::test]
async fn embedded_signup_exchanges_checks_subscribes_and_reads_with_the_customers_token() {
    let server = MockServer::start().await;
    mount_exchange(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": CUSTOMER_TOKEN, "token_type": "bearer"})),
    )
    .await;
    mount_authorization(&server, "NOT_VERIFIED").await;
    let tokens = tokens();
    let client = route_client(&server, &tokens);
    let mut session = es_session();
    assert_eq!(session.next_action().action, NextAction::FinishSignup);

    let state = client
        .exchange_signup_code(&mut session, &signup(CODE))
        .await
        .unwrap();
    assert_eq!(state, StateName::Authorized);
    assert_eq!(session.next_action().action, NextAction::SubscribeApp);
    // The token went to the provider, under the session's key.
    let held = tokens.token(&CredentialKey::of(&session)).await.unwrap();
    assert_eq!(held.secret(), CUSTOMER_TOKEN);

    let state = client.subscribe_app_for(&mut session).await.unwrap();
    // The popup left the number unverified: a code first.
    assert_eq!(state, StateName::Initiated);
    assert_eq!(session.next_action().action, NextAction::RequestCode);

    let sent = requests(&server).await;
    assert_eq!(sent.len(), 4, "{sent:?}");
    // 1. The exchange: GET, the three parameters, nothing else, no token.
    let exchange = &sent[0];
    assert_eq!(exchange.method.as_str(), "GET");
    assert_eq!(exchange.url.path(), exchange_path());
    let q = query(exchange);
    assert_eq!(q.len(), 3, "{q:?}");
    assert_eq!(q["client_id"], APP_ID);
    assert_eq!(q["client_secret"], APP_SECRET);
    assert_eq!(q["code"], CODE);
    assert!(!q.contains_key("redirect_uri"));
    assert_eq!(header(exchange, "authorization"), None);
    assert!(exchange.body.is_empty());
    // 2. The sharing check: the BSP's token inspects the customer's.
    let check = &sent[1];
    assert_eq!(check.method.as_str(), "GET");
    assert_eq!(check.url.path(), format!("/{VERSION}/debug_token"));
    assert_eq!(query(check)["input_token"], CUSTOMER_TOKEN);
    assert_eq!(
        header(check, "authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    // 3. The subscription, with the customer's token, no body.
    let subscribe = &sent[2];
    assert_eq!(subscribe.method.as_str(), "POST");
    assert_eq!(
        subscribe.url.path(),
        format!("/{VERSION}/{WABA}/subscribed_apps")
    );
    assert_eq!(
        header(subscribe, "authorization"),
        Some(format!("Bearer {CUSTOMER_TOKEN}").as_str())
    );
    assert!(subscribe.body.is_empty());
    // 4. The number's verification status, with the customer's token.
    let read = &sent[3];
    assert_eq!(read.method.as_str(), "GET");
    assert_eq!(read.url.path(), format!("/{VERSION}/{NUMBER_ID}"));
    assert!(query(read)["fields"].contains("code_verification_status"));
    assert_eq!(
        header(read, "authorization"),
        Some(format!("Bearer {CUSTOMER_TOKEN}").as_str())
    );

    // Secrets never reach the session.
    let saved = serde_json::to_string(&session).unwrap();
    for secret in [CODE, CUSTOMER_TOKEN, APP_SECRET] {
        assert!(!saved.contains(secret), "the session holds {secret}");
    }
    // The exchange, the check and the subscription (the read is a read).
    assert_eq!(session.counters().route_requests, 3);
}

#[tokio::test]
async fn a_number_the_popup_verified_goes_straight_to_register() {
    let server = MockServer::start().await;
    mount_exchange(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"access_token": CUSTOMER_TOKEN})),
    )
    .await;
    mount_authorization(&server, "VERIFIED").await;
    let tokens = tokens();
    let client = route_client(&server, &tokens);
    let mut session = es_session();
    client
        .exchange_signup_code(&mut session, &signup(CODE))
        .await
        .unwrap();
    let state = client.subscribe_app_for(&mut session).await.unwrap();
    assert_eq!(state, StateName::CodeVerified);
    assert_eq!(session.next_action().action, NextAction::Register);
}

/// A used code (100/36009, "This authorization code has been used.") and an
/// expired one (100, "This authorization code has expired.") send the
/// customer back to the popup.
#[tokio::test]
async fn a_used_or_expired_code_sends_the_customer_back_to_the_popup() {
    for (subcode, message) in [
        (Some(36009), "This authorization code has been used."),
        (None, "This authorization code has expired."),
    ] {
        let server = MockServer::start().await;
        let mut error = json!({"error": {"message": message, "type": "OAuthException",
            "code": 100, "fbtrace_id": "AZ8or2-trace"}});
        if let Some(subcode) = subcode {
            error["error"]["error_subcode"] = json!(subcode);
        }
        mount_exchange(&server, error_response(400, error)).await;
        let tokens = tokens();
        let client = route_client(&server, &tokens);
        let mut session = es_session();
        let err = client
            .exchange_signup_code(&mut session, &signup(CODE))
            .await
            .unwrap_err();
        assert_eq!(
            err.api_kind(),
            Some(ApiErrorKind::SignupCodeRefused),
            "{err}"
        );
        assert!(!err.to_string().contains(CODE), "{err}");
        assert!(!format!("{err:?}").contains(APP_SECRET), "{err:?}");
        assert_eq!(session.state(), &PortingState::AwaitingSignup);
        assert_eq!(session.next_action().action, NextAction::FinishSignup);
        assert!(session.in_flight().is_none());
        assert!(tokens.is_empty());
    }
}

#[tokio::test]
async fn a_waba_the_customer_did_not_share_sends_the_customer_back_to_the_popup() {
    let server = MockServer::start().await;
    mount_exchange(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"access_token": CUSTOMER_TOKEN})),
    )
    .await;
    answer(
        &server,
        "GET",
        &format!("/{VERSION}/debug_token"),
        scopes("999999999"),
        1,
    )
    .await;
    let tokens = tokens();
    let client = route_client(&server, &tokens);
    let mut session = es_session();
    client
        .exchange_signup_code(&mut session, &signup(CODE))
        .await
        .unwrap();
    let err = client.subscribe_app_for(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::AssetsNotShared), "{err}");
    assert!(!err.to_string().contains(CUSTOMER_TOKEN));
    assert_eq!(session.state(), &PortingState::AwaitingSignup);
    // Nothing was subscribed.
    let sent = requests(&server).await;
    assert!(sent
        .iter()
        .all(|r| !r.url.path().ends_with("subscribed_apps")));
}

#[tokio::test]
async fn a_result_for_another_waba_is_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    let tokens = tokens();
    let client = route_client(&server, &tokens);
    let mut session = es_session();
    let other = SignupResult::new(
        SignupCode::new(CODE).unwrap(),
        WabaId::new("999999999").unwrap(),
        PhoneNumberId::new(NUMBER_ID).unwrap(),
    );
    let err = client
        .exchange_signup_code(&mut session, &other)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "{err:?}");
    assert!(requests(&server).await.is_empty());
    // And a programmatic session has no signup.
    let mut programmatic = common::session();
    let err = client
        .exchange_signup_code(&mut programmatic, &signup(CODE))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::IllegalTransition(_)), "{err:?}");
}

/// An exchange whose answer was lost: the code is never sent again; with no
/// token stored, the customer finishes the popup again, and a new code is
/// a new request.
#[tokio::test]
async fn a_lost_exchange_answer_never_sends_the_spent_code_again() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        &exchange_path(),
        ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"),
        1,
    )
    .await;
    let tokens = tokens();
    let client = route_client(&server, &tokens);
    let mut session = es_session();
    assert!(client
        .exchange_signup_code(&mut session, &signup(CODE))
        .await
        .is_err());
    let flight = session.in_flight().expect("the outcome is unknown");
    assert_eq!(
        flight.operation,
        waba_porting::Operation::ExchangeSignupCode
    );
    assert!(matches!(
        session.next_action().action,
        NextAction::Reconcile { .. }
    ));
    // Reconcile: no token held, so the customer finishes the popup again.
    let state = client.reconcile(&mut session).await.unwrap();
    assert_eq!(state, StateName::AwaitingSignup);
    assert!(session.in_flight().is_none());
    // The new popup's code is exchanged; the spent one never again.
    mount_exchange(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"access_token": CUSTOMER_TOKEN})),
    )
    .await;
    client
        .exchange_signup_code(&mut session, &signup("AQD-second-code"))
        .await
        .unwrap();
    let codes: Vec<String> = requests(&server)
        .await
        .iter()
        .filter(|r| r.url.path() == exchange_path())
        .map(|r| query(r)["code"].clone())
        .collect();
    assert_eq!(codes, [CODE, "AQD-second-code"]);
}

/// Meta's *Migrating WABAs among Multi-Partner Solutions via Meta Business
/// Suite*: `POST /{waba}/set_solution_migration_intent` with
/// `{"solution_id"}` answers `{"id"}`; `GET /{intent}` shows `status` and,
/// once accepted, `destination_waba`; the destination subscribes its app to
/// the new WABA, moves the number with `POST /{new-waba}/phone_numbers`
/// (`migrate_phone_number: true`, a new id) and registers it, with no code.
#[tokio::test]
async fn a_solution_migration_sets_the_intent_follows_it_and_moves_the_number_without_a_code() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/{VERSION}/{WABA}/set_solution_migration_intent"
        )))
        .and(with_body(json!({"solution_id": SOLUTION})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": INTENT})))
        .expect(1)
        .mount(&server)
        .await;
    let intent_path = format!("/{VERSION}/{INTENT}");
    Mock::given(method("GET"))
        .and(path(intent_path.clone()))
        .and(query_param("fields", "id,status,destination_waba,solution"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": INTENT, "status": "INITIATED", "solution": {"id": SOLUTION}})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(intent_path))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": INTENT, "status": "ACCEPTED", "solution": {"id": SOLUTION},
            "destination_waba": {"id": DESTINATION, "name": "Acme"}})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/{VERSION}/{DESTINATION}/subscribed_apps")))
        .respond_with(success())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/{VERSION}/{DESTINATION}/phone_numbers")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": NEW_NUMBER_ID})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/{VERSION}/{NEW_NUMBER_ID}/register")))
        .respond_with(success())
        .expect(1)
        .mount(&server)
        .await;
    let tokens = tokens();
    tokens.insert(BusinessId::new(BUSINESS).unwrap(), CUSTOMER_TOKEN);
    let client = route_client(&server, &tokens);
    let mut session = mps_session();
    assert_eq!(session.next_action().action, NextAction::SetMigrationIntent);

    client.set_migration_intent(&mut session).await.unwrap();
    assert_eq!(
        session.next_action().action,
        NextAction::AcceptMigrationIntent
    );
    // Pending: the session waits for the customer, and says when to look
    // again.
    client.refresh_migration_intent(&mut session).await.unwrap();
    assert_eq!(session.state().name(), StateName::AwaitingIntentAcceptance);
    assert!(session.next_action().not_before.is_some());
    // Accepted: into the WABA Meta created.
    client.refresh_migration_intent(&mut session).await.unwrap();
    assert_eq!(session.state().name(), StateName::IntentAccepted);
    assert_eq!(
        session.destination_waba_id(),
        Some(&WabaId::new(DESTINATION).unwrap())
    );
    client.subscribe_app_for(&mut session).await.unwrap();
    assert_eq!(session.next_action().action, NextAction::StartMigration);
    client.start_migration(&mut session).await.unwrap();
    assert_eq!(session.next_action().action, NextAction::Register);
    client
        .register(
            &mut session,
            &waba_porting::Pin::new("123456").unwrap(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(session.state().name(), StateName::Registered);
    assert_eq!(
        session.state().phone_number_id(),
        Some(&PhoneNumberId::new(NEW_NUMBER_ID).unwrap())
    );

    let sent = requests(&server).await;
    // No code was asked for or verified.
    assert!(
        sent.iter()
            .all(|r| !r.url.path().ends_with("request_code")
                && !r.url.path().ends_with("verify_code"))
    );
    let migrate = sent
        .iter()
        .find(|r| r.url.path() == format!("/{VERSION}/{DESTINATION}/phone_numbers"))
        .unwrap();
    let body = body_json(migrate);
    assert_eq!(body["migrate_phone_number"], json!(true));
    assert_eq!(body["cc"], json!("1"));
    assert_eq!(body["phone_number"], json!("4155550123"));
    // Every call carried the customer's token.
    for request in &sent {
        assert_eq!(
            header(request, "authorization"),
            Some(format!("Bearer {CUSTOMER_TOKEN}").as_str()),
            "{}",
            request.url
        );
    }
}

#[tokio::test]
async fn a_declined_intent_rejects_the_session() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        &format!("/{VERSION}/{WABA}/set_solution_migration_intent"),
        ResponseTemplate::new(200).set_body_json(json!({"id": INTENT})),
        1,
    )
    .await;
    answer(
        &server,
        "GET",
        &format!("/{VERSION}/{INTENT}"),
        ResponseTemplate::new(200).set_body_json(json!({"id": INTENT, "status": "REJECTED"})),
        1,
    )
    .await;
    let tokens = tokens();
    tokens.insert(BusinessId::new(BUSINESS).unwrap(), CUSTOMER_TOKEN);
    let client = route_client(&server, &tokens);
    let mut session = mps_session();
    client.set_migration_intent(&mut session).await.unwrap();
    client.refresh_migration_intent(&mut session).await.unwrap();
    assert_eq!(
        session.state(),
        &PortingState::Rejected {
            reason: waba_porting::RejectionReason::IntentDeclined
        }
    );
    assert_eq!(session.next_action().action, NextAction::StartOver);
}

/// The exchange's query carries the app secret and the code: a transport
/// failure's message (reqwest prints the URL) must not.
#[cfg(feature = "reqwest")]
#[tokio::test]
async fn a_transport_failure_of_the_exchange_does_not_print_its_secrets() {
    // Nothing listens on port 9 of loopback: the connection is refused.
    let tokens = tokens();
    let client = PortingClient::builder()
        .access_token(TOKEN)
        .app_credentials(AppId::new(APP_ID).unwrap(), AppSecret::new(APP_SECRET))
        .token_provider(Arc::clone(&tokens))
        .base_url("http://127.0.0.1:9")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut session = es_session();
    let err = client
        .exchange_signup_code(&mut session, &signup(CODE))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    let mut shown = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        shown.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    for secret in [APP_SECRET, CODE] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

/// Meta's *Migrating WABAs among Multi-Partner Solutions via Meta Business
/// Suite*, the Solution Partner's step 1: `GET /{solution-id}/access_token
/// ?business_id=…` with the system-user token gives the customer's business
/// token, answered `{"data":[{"access_token"}]}` (the guide) or
/// `{"access_token","expires_at"}` (the OpenAPI description). The client
/// asks for it when the provider holds none for the destination, stores
/// it, and subscribes with it.
#[tokio::test]
async fn an_accepted_solution_migration_fetches_the_destination_token_when_none_is_held() {
    for answer_body in [
        json!({"data": [{"access_token": "EAAG-destination-token-1"}]}),
        json!({"access_token": "EAAG-destination-token-1", "expires_at": 1735689600}),
    ] {
        let server = MockServer::start().await;
        answer(
            &server,
            "POST",
            &format!("/{VERSION}/{WABA}/set_solution_migration_intent"),
            ResponseTemplate::new(200).set_body_json(json!({"id": INTENT})),
            1,
        )
        .await;
        answer(
            &server,
            "GET",
            &format!("/{VERSION}/{INTENT}"),
            ResponseTemplate::new(200).set_body_json(json!({"id": INTENT,
                "status": "ACCEPTED", "destination_waba": {"id": DESTINATION}})),
            1,
        )
        .await;
        Mock::given(method("GET"))
            .and(path(format!("/{VERSION}/{SOLUTION}/access_token")))
            .and(query_param("business_id", BUSINESS))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer_body))
            .expect(1)
            .mount(&server)
            .await;
        answer(
            &server,
            "POST",
            &format!("/{VERSION}/{DESTINATION}/subscribed_apps"),
            success(),
            1,
        )
        .await;
        // The provider holds the source WABA's token only.
        let tokens = tokens();
        tokens.insert_for_waba(WabaId::new(WABA).unwrap(), CUSTOMER_TOKEN);
        let client = route_client(&server, &tokens);
        let mut session = mps_session();
        client.set_migration_intent(&mut session).await.unwrap();
        client.refresh_migration_intent(&mut session).await.unwrap();
        client.subscribe_app_for(&mut session).await.unwrap();
        assert_eq!(session.state().name(), StateName::DestinationReady);

        let sent = requests(&server).await;
        let fetch = sent
            .iter()
            .find(|r| r.url.path().ends_with("/access_token"))
            .unwrap();
        assert_eq!(fetch.method.as_str(), "GET");
        assert_eq!(query(fetch).len(), 1, "{}", fetch.url);
        assert_eq!(
            header(fetch, "authorization"),
            Some(format!("Bearer {TOKEN}").as_str()),
            "the system-user token asks"
        );
        let subscribe = sent.last().unwrap();
        assert_eq!(
            header(subscribe, "authorization"),
            Some("Bearer EAAG-destination-token-1"),
            "the destination's token subscribes"
        );
        let key = CredentialKey::of(&session);
        assert_eq!(key.waba_id().as_str(), DESTINATION);
        assert_eq!(
            tokens.token(&key).await.unwrap().secret(),
            "EAAG-destination-token-1"
        );
        let saved = serde_json::to_string(&session).unwrap();
        assert!(!saved.contains("EAAG-destination-token-1"));
    }
}
