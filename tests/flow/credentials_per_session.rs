//! One client, many customers: each session's requests carry the token a
//! `TokenProvider` gives for its business and WABA; a 190 answer is
//! refreshed once and the call made again once.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::json;
use waba_porting::simulator::{Scenario, Simulator, SIMULATOR_TOKEN};
use waba_porting::transport::{Headers, HttpRequest, HttpResponse, Transport, TransportError};
use waba_porting::{
    async_trait, AccessToken, ApiErrorKind, BusinessId, ConfigError, CredentialKey, Error, Fleet,
    InMemoryStore, InMemoryTokens, PhoneNumber, Pin, PortingClient, PortingSession, RetryPolicy,
    StateName, TokenError, TokenErrorKind, TokenProvider, VerificationCode, WabaId,
};
use wiremock::matchers::{header as with_header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A base URL the default transport serves without a TLS feature: these
/// tests look at tokens, not at TLS.
const LOOPBACK: &str = "http://127.0.0.1:9";

const BUSINESS_B: &str = "106540352242999";
const WABA_B: &str = "102290129340999";
const PHONE_B: &str = "+1 (415) 555-0199";
const NUMBER_ID_B: &str = "110200345501999";
const TOKEN_A: &str = "EAAG-business-a-token-1f2e3d4c5b6a";
const TOKEN_B: &str = "EAAG-business-b-token-9a8b7c6d5e4f";

fn session_b() -> PortingSession {
    PortingSession::new(
        PhoneNumber::parse(PHONE_B).unwrap(),
        WabaId::new(WABA_B).unwrap(),
        BusinessId::new(BUSINESS_B).unwrap(),
    )
}

fn key_a() -> CredentialKey {
    CredentialKey::of(&session())
}

/// A client with `provider` and no static token, each step sent once.
fn client_with(server: &MockServer, provider: impl TokenProvider + 'static) -> PortingClient {
    PortingClient::builder()
        .token_provider(provider)
        .base_url(server.uri())
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("a provider stands in for the static token")
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn invalid_token() -> ResponseTemplate {
    error_response(
        401,
        json!({"error": {
            "message": "Error validating access token: Session has expired.",
            "type": "OAuthException",
            "code": 190,
            "error_subcode": 463,
            "fbtrace_id": "AZ8or2-trace"
        }}),
    )
}

/// Answers `verb route` with `response` to requests carrying `token` only.
async fn answer_for(
    server: &MockServer,
    verb: &str,
    route: &str,
    token: &str,
    response: ResponseTemplate,
) {
    Mock::given(method(verb))
        .and(path(route))
        .and(with_header("authorization", bearer(token).as_str()))
        .respond_with(response)
        .mount(server)
        .await;
}

/// Mounts the happy path of the default session (`NUMBER_ID`) for `token`.
async fn mount_for(server: &MockServer, token: &str) {
    let id = json!({"id": NUMBER_ID});
    let ok = || ResponseTemplate::new(200).set_body_json(json!({"success": true}));
    answer_for(
        server,
        "POST",
        &start_path(),
        token,
        ResponseTemplate::new(200).set_body_json(id),
    )
    .await;
    for edge in ["request_code", "verify_code", "register"] {
        answer_for(server, "POST", &number_path(edge), token, ok()).await;
    }
}

#[test]
fn a_provider_stands_in_for_the_static_token_and_nothing_stands_in_for_both() {
    let missing = PortingClient::builder()
        .base_url("https://graph.example")
        .build()
        .unwrap_err();
    assert!(matches!(missing, ConfigError::MissingAccessToken));
    let client = PortingClient::builder()
        .base_url(LOOPBACK)
        .token_provider(InMemoryTokens::new())
        .build()
        .unwrap();
    assert!(client.token_provider().is_some());
    let fixed = PortingClient::builder()
        .base_url(LOOPBACK)
        .access_token(TOKEN)
        .build()
        .unwrap();
    assert!(fixed.token_provider().is_none());
}

#[tokio::test]
async fn two_businesses_through_one_client_each_send_their_own_token() {
    let server = MockServer::start().await;
    mount_happy_path(&server).await;
    let number_b = |edge: &str| format!("/{VERSION}/{NUMBER_ID_B}/{edge}");
    answer(
        &server,
        "POST",
        &format!("/{VERSION}/{WABA_B}/phone_numbers"),
        ResponseTemplate::new(200).set_body_json(json!({"id": NUMBER_ID_B})),
        1,
    )
    .await;
    for edge in ["request_code", "verify_code", "register"] {
        answer(&server, "POST", &number_b(edge), success(), 1).await;
    }
    answer(
        &server,
        "GET",
        &format!("/{VERSION}/{NUMBER_ID_B}"),
        ResponseTemplate::new(200).set_body_json(json!({
            "id": NUMBER_ID_B,
            "status": "CONNECTED",
            "code_verification_status": "VERIFIED",
        })),
        1,
    )
    .await;

    let tokens = Arc::new(InMemoryTokens::new());
    tokens.insert(BusinessId::new(BUSINESS).unwrap(), TOKEN_A);
    tokens.insert(BusinessId::new(BUSINESS_B).unwrap(), TOKEN_B);
    let client = client_with(&server, Arc::clone(&tokens));
    let (mut a, mut b) = (session(), session_b());
    let (method, language) = sms();
    let code = VerificationCode::new("123-830").unwrap();
    let pin = Pin::new("482913").unwrap();

    // Interleaved, as a service serving both would.
    client.start_migration(&mut a).await.unwrap();
    client.start_migration(&mut b).await.unwrap();
    client
        .request_code(&mut b, method, &language)
        .await
        .unwrap();
    client
        .request_code(&mut a, method, &language)
        .await
        .unwrap();
    client.verify_code(&mut a, &code).await.unwrap();
    client.verify_code(&mut b, &code).await.unwrap();
    client.register(&mut b, &pin, None).await.unwrap();
    client.register(&mut a, &pin, None).await.unwrap();
    assert!(client.refresh(&mut b).await.unwrap().is_some());
    assert_eq!(a.state().name(), StateName::Registered);
    assert_eq!(b.state().name(), StateName::Registered);

    let sent = requests(&server).await;
    assert_eq!(sent.len(), 9);
    for request in &sent {
        let path = request.url.path();
        let want = if path.contains(WABA_B) || path.contains(NUMBER_ID_B) {
            TOKEN_B
        } else {
            TOKEN_A
        };
        assert_eq!(
            header(request, "authorization"),
            Some(bearer(want).as_str()),
            "{} {path}",
            request.method
        );
    }
    // Nothing of a token in what the sessions keep.
    let saved = serde_json::to_string(&(a, b)).unwrap();
    assert!(!saved.contains("EAAG"), "{saved}");
}

/// Gives `current`; a refresh replaces it with the next of `next` (counted).
#[derive(Debug)]
struct Rotating {
    current: Mutex<String>,
    next: Mutex<Vec<&'static str>>,
    asked: AtomicUsize,
    refreshed: Mutex<Vec<String>>,
}

impl Rotating {
    fn new(first: &str, next: &[&'static str]) -> Arc<Self> {
        Arc::new(Self {
            current: Mutex::new(first.to_owned()),
            next: Mutex::new(next.iter().rev().copied().collect()),
            asked: AtomicUsize::new(0),
            refreshed: Mutex::new(Vec::new()),
        })
    }

    fn refreshes(&self) -> Vec<String> {
        self.refreshed.lock().unwrap().clone()
    }
}

#[async_trait]
impl TokenProvider for Rotating {
    async fn token(&self, _: &CredentialKey) -> Result<AccessToken, TokenError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Ok(AccessToken::new(self.current.lock().unwrap().clone()))
    }

    async fn refresh(
        &self,
        key: &CredentialKey,
        rejected: &AccessToken,
    ) -> Result<AccessToken, TokenError> {
        assert_eq!(*key, key_a());
        self.refreshed
            .lock()
            .unwrap()
            .push(rejected.secret().to_owned());
        let next = self.next.lock().unwrap().pop();
        let next = next.ok_or_else(|| {
            TokenError::backend("the key service is down", std::io::Error::other("timeout"))
        })?;
        *self.current.lock().unwrap() = next.to_owned();
        Ok(AccessToken::new(next))
    }
}

#[tokio::test]
async fn a_190_is_refreshed_once_and_the_step_sent_again_with_the_new_token() {
    let server = MockServer::start().await;
    mount_for(&server, "EAAG-new").await;
    answer_for(
        &server,
        "POST",
        &number_path("verify_code"),
        "EAAG-old",
        invalid_token(),
    )
    .await;
    answer_for(&server, "POST", &start_path(), "EAAG-old", invalid_token()).await;
    let provider = Rotating::new("EAAG-old", &["EAAG-new"]);
    // The default policy: a 190 is not retried by it, only refreshed.
    let client = PortingClient::builder()
        .token_provider(Arc::clone(&provider))
        .base_url(server.uri())
        .build()
        .unwrap();
    let mut session = session();

    let state = client.start_migration(&mut session).await.unwrap();
    assert_eq!(state, StateName::Initiated);
    assert_eq!(provider.refreshes(), vec!["EAAG-old".to_owned()]);
    // The refusal is in the history, as any refusal; no step in flight.
    assert!(session.in_flight().is_none());
    assert!(session.history().iter().any(|t| t.to == StateName::Draft));

    // The next calls start from the provider's current token.
    let (method, language) = sms();
    client
        .request_code(&mut session, method, &language)
        .await
        .unwrap();
    client
        .verify_code(&mut session, &VerificationCode::new("123830").unwrap())
        .await
        .unwrap();
    client
        .register(&mut session, &Pin::new("482913").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(session.state().name(), StateName::Registered);
    assert_eq!(provider.refreshes().len(), 1, "one 190, one refresh");

    let sent = requests(&server).await;
    let auth: Vec<_> = sent
        .iter()
        .map(|r| {
            (
                r.url.path().to_owned(),
                header(r, "authorization").map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        auth,
        vec![
            (start_path(), Some(bearer("EAAG-old"))),
            (start_path(), Some(bearer("EAAG-new"))),
            (number_path("request_code"), Some(bearer("EAAG-new"))),
            (number_path("verify_code"), Some(bearer("EAAG-new"))),
            (number_path("register"), Some(bearer("EAAG-new"))),
        ]
    );
}

#[tokio::test]
async fn a_190_on_a_side_effect_step_leaves_no_step_in_flight_and_is_sent_again() {
    let server = MockServer::start().await;
    mount_for(&server, "EAAG-new").await;
    answer_for(
        &server,
        "POST",
        &start_path(),
        "EAAG-old",
        ResponseTemplate::new(200).set_body_json(json!({"id": NUMBER_ID})),
    )
    .await;
    answer_for(
        &server,
        "POST",
        &number_path("request_code"),
        "EAAG-old",
        success(),
    )
    .await;
    answer_for(
        &server,
        "POST",
        &number_path("verify_code"),
        "EAAG-old",
        invalid_token(),
    )
    .await;
    let provider = Rotating::new("EAAG-old", &["EAAG-new"]);
    let client = client_with(&server, Arc::clone(&provider));
    let mut session = session();
    to_code_requested(&client, &mut session).await;
    let before = session.counters().verify_requests;

    let state = client
        .verify_code(&mut session, &VerificationCode::new("123830").unwrap())
        .await
        .unwrap();
    assert_eq!(state, StateName::CodeVerified);
    assert!(session.in_flight().is_none());
    assert_eq!(provider.refreshes(), vec!["EAAG-old".to_owned()]);
    // Two requests sent (the refused one and the accepted one).
    assert_eq!(session.counters().verify_requests, before + 2);
    let verify: Vec<_> = requests(&server)
        .await
        .into_iter()
        .filter(|r| r.url.path() == number_path("verify_code"))
        .map(|r| header(&r, "authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        verify,
        vec![Some(bearer("EAAG-old")), Some(bearer("EAAG-new"))]
    );
}

#[tokio::test]
async fn a_second_190_ends_the_call_with_it_and_nothing_more_is_sent() {
    let server = MockServer::start().await;
    answer_for(&server, "POST", &start_path(), "EAAG-old", invalid_token()).await;
    answer_for(
        &server,
        "POST",
        &start_path(),
        "EAAG-newer",
        invalid_token(),
    )
    .await;
    let provider = Rotating::new("EAAG-old", &["EAAG-newer", "EAAG-newest"]);
    let client = PortingClient::builder()
        .token_provider(Arc::clone(&provider))
        .base_url(server.uri())
        .retry_policy(RetryPolicy::default())
        .build()
        .unwrap();
    let mut session = session();

    let error = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(error.api_kind(), Some(ApiErrorKind::InvalidAccessToken));
    assert!(!error.is_retryable());
    assert_eq!(provider.refreshes(), vec!["EAAG-old".to_owned()]);
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2, "no third request");
    assert_eq!(
        header(&sent[1], "authorization"),
        Some(bearer("EAAG-newer").as_str())
    );
    assert_eq!(session.state().name(), StateName::Draft);
    assert!(session.in_flight().is_none());

    // The next call asks the provider again, and may refresh again once.
    let _ = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(provider.refreshes().len(), 2);
    assert_eq!(requests(&server).await.len(), 4);
}

#[tokio::test]
async fn a_provider_that_cannot_refresh_leaves_the_190_and_one_request() {
    let server = MockServer::start().await;
    answer_for(&server, "POST", &start_path(), TOKEN_A, invalid_token()).await;
    let tokens = InMemoryTokens::new();
    tokens.insert(BusinessId::new(BUSINESS).unwrap(), TOKEN_A);
    let client = client_with(&server, tokens);
    let mut session = session();
    let error = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(error.api_kind(), Some(ApiErrorKind::InvalidAccessToken));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn a_refresh_that_fails_ends_the_call_with_the_providers_error() {
    let server = MockServer::start().await;
    answer_for(
        &server,
        "POST",
        &start_path(),
        "EAAG-old-0a1b2c3d4e5f6a7b8c9d",
        invalid_token(),
    )
    .await;
    let provider = Rotating::new("EAAG-old-0a1b2c3d4e5f6a7b8c9d", &[]);
    let client = client_with(&server, Arc::clone(&provider));
    let mut session = session();
    let error = client.start_migration(&mut session).await.unwrap_err();
    let Error::Token(token) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(token.kind(), TokenErrorKind::Backend);
    let shown = format!("{error} | {error:?} | {}", error.remediation());
    assert!(
        shown.contains("190") && shown.contains("key service"),
        "{shown}"
    );
    assert!(!shown.contains("EAAG"), "{shown}");
    assert_eq!(requests(&server).await.len(), 1);
    // Meta's refusal is what the session recorded.
    assert_eq!(
        session.last_failure().map(|f| f.kind),
        Some(ApiErrorKind::InvalidAccessToken)
    );
}

#[tokio::test]
async fn no_token_for_the_customer_is_a_typed_error_and_nothing_is_sent() {
    let server = MockServer::start().await;
    mount_happy_path(&server).await;
    let tokens = Arc::new(InMemoryTokens::new());
    tokens.insert(BusinessId::new(BUSINESS_B).unwrap(), TOKEN_B);
    let client = client_with(&server, Arc::clone(&tokens));
    let mut session = session();
    let saved = serde_json::to_string(&session).unwrap();

    let error = client.start_migration(&mut session).await.unwrap_err();
    let Error::Token(token) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(token.kind(), TokenErrorKind::Missing);
    assert!(error.to_string().contains(BUSINESS), "{error}");
    assert!(!error.is_retryable());
    assert_eq!(error.operation(), None);
    assert!(error.remediation().contains("Embedded Signup"));
    assert_eq!(serde_json::to_string(&session).unwrap(), saved, "untouched");
    assert!(requests(&server).await.is_empty());
    // A call that sends nothing asks nothing.
    assert_eq!(
        client.reconcile(&mut session).await.unwrap(),
        StateName::Draft
    );
    assert_eq!(client.refresh(&mut session).await.unwrap(), None);

    // A side-effect step: no marker, no count, nothing sent.
    tokens.insert(BusinessId::new(BUSINESS).unwrap(), TOKEN_A);
    client.start_migration(&mut session).await.unwrap();
    tokens.remove(&BusinessId::new(BUSINESS).unwrap());
    let requests_before = requests(&server).await.len();
    let (method, language) = sms();
    let error = client
        .request_code(&mut session, method, &language)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Token(_)), "{error:?}");
    assert!(session.in_flight().is_none());
    assert_eq!(session.counters().code_requests, 0);
    assert_eq!(session.state().name(), StateName::Initiated);
    assert_eq!(requests(&server).await.len(), requests_before);
}

#[tokio::test]
async fn a_token_that_cannot_be_sent_is_refused_unseen() {
    let server = MockServer::start().await;
    mount_happy_path(&server).await;
    let tokens = InMemoryTokens::new();
    tokens.insert(
        BusinessId::new(BUSINESS).unwrap(),
        "EAAG-pasted with-a-space-0a1b2c3d4e5f6a",
    );
    let client = client_with(&server, tokens);
    let error = client.start_migration(&mut session()).await.unwrap_err();
    let Error::Token(token) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(token.kind(), TokenErrorKind::Invalid);
    assert!(!format!("{error} {error:?}").contains("with-a-space"));
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn calls_not_made_for_a_session_keep_the_static_token_or_act_for_a_customer() {
    let server = MockServer::start().await;
    let subscribed = format!("/{VERSION}/{WABA}/subscribed_apps");
    answer(&server, "POST", &subscribed, success(), 10).await;
    let tokens = Arc::new(InMemoryTokens::new());
    tokens.insert(BusinessId::new(BUSINESS).unwrap(), TOKEN_A);
    let waba = WabaId::new(WABA).unwrap();

    // A static token besides the provider: the calls not made for a
    // session carry it.
    let client = PortingClient::builder()
        .access_token(TOKEN)
        .token_provider(Arc::clone(&tokens))
        .base_url(server.uri())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    client.subscribe_app(&waba).await.unwrap();
    // For a customer, the provider's token.
    client
        .for_customer(&key_a())
        .subscribe_app(&waba)
        .await
        .unwrap();

    // No static token: a typed error, nothing sent; for_customer works.
    let only_provider = client_with(&server, Arc::clone(&tokens));
    let error = only_provider.subscribe_app(&waba).await.unwrap_err();
    assert!(
        matches!(&error, Error::Token(t) if t.kind() == TokenErrorKind::Missing),
        "{error:?}"
    );
    assert!(error.to_string().contains("for_customer"), "{error}");
    only_provider
        .for_customer(&key_a())
        .subscribe_app(&waba)
        .await
        .unwrap();

    let sent: Vec<_> = requests(&server)
        .await
        .iter()
        .map(|r| header(r, "authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        sent,
        vec![
            Some(bearer(TOKEN)),
            Some(bearer(TOKEN_A)),
            Some(bearer(TOKEN_A))
        ]
    );
}

#[tokio::test]
async fn without_a_provider_every_request_carries_the_static_token() {
    let server = MockServer::start().await;
    mount_happy_path(&server).await;
    let client = client(&server);
    // for_customer without a provider is the client itself.
    let client = client.for_customer(&key_a());
    let mut session = session();
    to_code_requested(&client, &mut session).await;
    client.subscribe_app(&WabaId::new(WABA).unwrap()).await.ok();
    for request in requests(&server).await {
        assert_eq!(
            header(&request, "authorization"),
            Some(bearer(TOKEN).as_str())
        );
    }
}

#[test]
fn the_client_debug_shows_the_provider_never_a_token() {
    let tokens = InMemoryTokens::new();
    tokens.insert(BusinessId::new(BUSINESS).unwrap(), TOKEN_A);
    let client = PortingClient::builder()
        .base_url(LOOPBACK)
        .access_token(TOKEN)
        .token_provider(tokens)
        .build()
        .unwrap();
    let shown = format!("{client:?} {:?}", client.for_customer(&key_a()));
    assert!(shown.contains("InMemoryTokens { tokens: 1 }"), "{shown}");
    assert!(
        shown.contains("106540352242922"),
        "the key is shown: {shown}"
    );
    assert!(!shown.contains("EAAG"), "{shown}");
    let error = Error::from(TokenError::missing(&key_a()));
    assert!(!format!("{error} {error:?}").contains("EAAG"));
}

#[test]
fn session_calls_are_send() {
    fn send<T: Send>(_: T) {}
    let client = PortingClient::builder()
        .base_url(LOOPBACK)
        .token_provider(InMemoryTokens::new())
        .build()
        .unwrap();
    let mut session = session();
    send(client.start_migration(&mut session));
    send(client.reconcile(&mut session));
    send(client.refresh(&mut session));
    send(client.check_readiness(&session));
}

/// Records each request's `Authorization` and object, then hands it to the
/// simulator with the simulator's own token.
#[derive(Debug, Clone)]
struct Swapping {
    sim: Simulator,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

#[async_trait]
impl Transport for Swapping {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let object = request
            .url
            .path_segments()
            .and_then(|mut s| s.nth(1))
            .unwrap_or_default()
            .to_owned();
        let mut headers = Headers::new();
        for (name, value) in request.headers.iter() {
            if name.eq_ignore_ascii_case("authorization") {
                self.seen
                    .lock()
                    .unwrap()
                    .push((object.clone(), value.to_owned()));
                headers.push(name, bearer(SIMULATOR_TOKEN));
            } else {
                headers.push(name, value);
            }
        }
        let mut forwarded = request;
        forwarded.headers = headers;
        self.sim.send(forwarded).await
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_fleet_sends_each_session_its_customers_token() {
    let sim = Scenario::happy_path().build();
    let sessions: Vec<PortingSession> = (0..6u32)
        .map(|i| sim.add_number(&Scenario::happy_path().numbered(i)))
        .collect();
    let tokens = Arc::new(InMemoryTokens::new());
    let token_of = |waba: &WabaId| format!("EAAG-token-of-waba-{}", waba.as_str());
    for session in &sessions {
        tokens.insert_for_waba(session.waba_id().clone(), token_of(session.waba_id()));
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let client = sim
        .client_builder()
        .transport(Swapping {
            sim: sim.clone(),
            seen: Arc::clone(&seen),
        })
        .token_provider(Arc::clone(&tokens));
    let store = Arc::new(InMemoryStore::new());
    let fleet = Fleet::builder(client, Arc::clone(&store))
        .inputs(sim.customers(Pin::new("482913").unwrap()))
        .concurrency(3)
        .build()
        .unwrap();
    let report = fleet.run(sessions.clone()).await;
    assert_eq!(report.progress.registered, 6, "{}", report.progress);

    // Each object's requests carried its WABA's token, never the static one.
    let mut owner = std::collections::HashMap::new();
    for session in &sessions {
        let key = waba_porting::SessionKey::of(session);
        let stored = waba_porting::SessionStore::load(&*store, &key)
            .await
            .unwrap()
            .unwrap();
        let want = bearer(&token_of(session.waba_id()));
        owner.insert(session.waba_id().as_str().to_owned(), want.clone());
        let id = stored
            .state()
            .phone_number_id()
            .unwrap()
            .as_str()
            .to_owned();
        owner.insert(id, want);
    }
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() >= 6 * 4, "{}", seen.len());
    for (object, authorization) in seen {
        assert_eq!(owner.get(&object), Some(&authorization), "{object}");
    }
}

#[tokio::test]
async fn reads_of_a_session_carry_its_token_and_refresh_on_190_too() {
    let server = MockServer::start().await;
    mount_for(&server, "EAAG-new").await;
    answer_for(
        &server,
        "POST",
        &start_path(),
        "EAAG-old",
        ResponseTemplate::new(200).set_body_json(json!({"id": NUMBER_ID})),
    )
    .await;
    let read = format!("/{VERSION}/{NUMBER_ID}");
    answer_for(&server, "GET", &read, "EAAG-old", invalid_token()).await;
    let record =
        json!({"id": NUMBER_ID, "status": "PENDING", "code_verification_status": "NOT_VERIFIED"});
    answer_for(
        &server,
        "GET",
        &read,
        "EAAG-new",
        ResponseTemplate::new(200).set_body_json(record),
    )
    .await;
    let provider = Rotating::new("EAAG-old", &["EAAG-new"]);
    let client = client_with(&server, Arc::clone(&provider));
    let mut session = session();
    client.start_migration(&mut session).await.unwrap();

    let read_back = client.refresh(&mut session).await.unwrap();
    assert!(read_back.is_some());
    assert_eq!(provider.refreshes(), vec!["EAAG-old".to_owned()]);
    let reads: Vec<_> = requests(&server)
        .await
        .into_iter()
        .filter(|r| r.url.path() == read)
        .map(|r| header(&r, "authorization").map(str::to_owned))
        .collect();
    assert_eq!(
        reads,
        vec![Some(bearer("EAAG-old")), Some(bearer("EAAG-new"))]
    );
    // Asked once per call: the start, the refresh (its retry keeps the
    // refreshed token).
    assert_eq!(provider.asked.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn check_readiness_reads_with_the_sessions_token() {
    let server = MockServer::start().await;
    let waba = |edge: &str| format!("/{VERSION}/{WABA}{edge}");
    let empty = || ResponseTemplate::new(200).set_body_json(json!({"data": []}));
    answer(&server, "GET", &waba("/subscribed_apps"), empty(), 5).await;
    answer(
        &server,
        "GET",
        &waba("/in_progress_onbehalf_request"),
        empty(),
        5,
    )
    .await;
    answer(
        &server,
        "GET",
        &waba(""),
        ResponseTemplate::new(200).set_body_json(json!({"id": WABA})),
        5,
    )
    .await;
    let tokens = InMemoryTokens::new();
    tokens.insert(BusinessId::new(BUSINESS).unwrap(), TOKEN_A);
    let client = client_with(&server, tokens);
    client.check_readiness(&session()).await.unwrap();
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 3);
    for request in sent {
        assert_eq!(
            header(&request, "authorization"),
            Some(bearer(TOKEN_A).as_str())
        );
    }
}
