//! Written the way a downstream crate tests its own porting logic: a small
//! "service" (`advance`, below) that moves a stored session as far as it
//! can and returns what its API would answer, tested with the scripted
//! `MockTransport` (exact requests, failures on demand) and with the
//! simulator (the whole flow, every scenario). Only public API is used.
#![cfg(all(feature = "test-util", feature = "simulator"))]

use std::time::Duration;

use crate::common::scripted::{session, NUMBER_ID, TOKEN, WABA_ID};
use async_trait::async_trait;
use serde_json::{json, Value};
use waba_porting::simulator::{Scenario, SCENARIO_NAMES};
use waba_porting::test_util::{operation_of, responses, Matcher, MockTransport};
use waba_porting::transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};
use waba_porting::{
    Actor, ApiErrorKind, CodeMethod, Error, Language, NextAction, Operation, Pin, PortingClient,
    PortingSession, RetryPolicy, StateName, VerificationCode,
};

// ---- the downstream crate's code --------------------------------------------

/// What our service keeps per customer besides the session.
struct Customer {
    code: Option<VerificationCode>,
    pin: Pin,
}

/// Moves `session` as far as it goes without a person, and returns the JSON
/// our API answers: the state, the next step (as the crate serializes it),
/// the sentence for the customer, and the last failure if any.
async fn advance(
    client: &PortingClient,
    session: &mut PortingSession,
    customer: &mut Customer,
) -> Value {
    for _ in 0..8 {
        let next = session.next_action();
        let result = match next.action {
            NextAction::StartMigration => client.start_migration(session).await,
            NextAction::RequestCode | NextAction::RequestNewCode => {
                client
                    .request_code(session, CodeMethod::Sms, &Language::default())
                    .await
            }
            NextAction::VerifyCode => match customer.code.take() {
                Some(code) => client.verify_code(session, &code).await,
                None => break,
            },
            NextAction::Register => client.register(session, &customer.pin, None).await,
            NextAction::Reconcile { .. } => client.reconcile(session).await,
            _ => break,
        };
        if let Err(error) = result {
            // An unknown outcome: the next pass reads the number.
            if matches!(session.next_action().action, NextAction::Reconcile { .. }) {
                continue;
            }
            if !matches!(error, Error::Api(_)) {
                break;
            }
            if error.who_must_act() != Actor::Us || !error.is_retryable() {
                break;
            }
        }
    }
    let next = session.next_action();
    json!({
        "state": session.state().name(),
        "next": next,
        "tell_customer": next.to_string(),
        "last_failure": session.last_failure().map(|f| json!({
            "kind": f.kind.as_str(),
            "code": f.code,
            "message": f.message,
            "fbtrace_id": f.fbtrace_id,
            "what_to_do": f.remediation(),
        })),
    })
}

fn mock_client(mock: &MockTransport) -> PortingClient {
    PortingClient::builder()
        .access_token("downstream-test-token")
        .transport(mock.clone())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

// ---- tests with the scripted transport --------------------------------------

#[tokio::test]
async fn a_full_port_sends_exactly_the_four_steps() {
    let mock = MockTransport::new();
    mock.respond(
        Matcher::operation(Operation::StartMigration),
        responses::id(NUMBER_ID),
    )
    .respond(
        Matcher::operation(Operation::RequestCode),
        responses::success(),
    )
    .respond(
        Matcher::operation(Operation::VerifyCode).body_contains("123830"),
        responses::success(),
    )
    .respond(
        Matcher::operation(Operation::Register).path_ends_with(format!("/{NUMBER_ID}/register")),
        responses::success(),
    );
    let client = mock_client(&mock);
    let mut session = session();
    let mut customer = Customer {
        code: None,
        pin: Pin::new("482913").unwrap(),
    };

    // No code yet: the service stops and says who acts.
    let answer = advance(&client, &mut session, &mut customer).await;
    assert_eq!(answer["state"], "code_requested");
    assert_eq!(answer["next"]["action"]["action"], "verify_code");
    assert_eq!(answer["next"]["actor"], "customer");
    assert!(answer["tell_customer"]
        .as_str()
        .unwrap()
        .contains("6-digit code"));

    customer.code = Some(VerificationCode::new("123-830").unwrap());
    let answer = advance(&client, &mut session, &mut customer).await;
    assert_eq!(answer["state"], "registered");
    assert_eq!(answer["next"]["action"]["action"], "done");

    for op in [
        Operation::StartMigration,
        Operation::RequestCode,
        Operation::VerifyCode,
        Operation::Register,
    ] {
        mock.assert_called(&Matcher::operation(op), 1);
    }
    mock.assert_no_unmatched();
    // The service sent our token on every request.
    for request in mock.requests() {
        assert_eq!(
            request.headers.get("authorization"),
            Some("Bearer downstream-test-token")
        );
    }
}

#[tokio::test]
async fn a_refusal_survives_a_restart_with_what_to_do() {
    let mock = MockTransport::new();
    mock.respond(
        Matcher::operation(Operation::StartMigration),
        responses::graph_error(
            400,
            2388103,
            None,
            "\"Messaging For\" request must be approved before migrating",
        ),
    );
    let client = mock_client(&mock);
    let mut session = session();
    let mut customer = Customer {
        code: None,
        pin: Pin::new("482913").unwrap(),
    };
    advance(&client, &mut session, &mut customer).await;

    // The service restarts: the stored JSON is all it has.
    let stored = serde_json::to_string(&session).unwrap();
    let mut session: PortingSession = serde_json::from_str(&stored).unwrap();
    let failure = session.last_failure().expect("kept across the reload");
    assert_eq!(failure.kind, ApiErrorKind::OnBehalfNotAccepted);
    assert_eq!(failure.code, Some(2388103));
    assert_eq!(failure.fbtrace_id.as_deref(), Some("MockTrace000"));
    assert!(failure
        .message
        .as_deref()
        .unwrap()
        .contains("Messaging For"));
    assert_eq!(failure.who_must_act(), Actor::Customer);

    let answer = advance(&client, &mut session, &mut customer).await;
    assert_eq!(answer["state"], "awaiting_on_behalf_approval");
    assert_eq!(answer["next"]["actor"], "customer");
    assert_eq!(answer["last_failure"]["kind"], "on_behalf_not_accepted");
    assert!(answer["tell_customer"]
        .as_str()
        .unwrap()
        .contains("Business Manager"));
}

#[tokio::test]
async fn a_timeout_after_the_server_acted_is_reconciled_not_repeated() {
    let mock = MockTransport::new();
    mock.respond(
        Matcher::operation(Operation::StartMigration),
        responses::id(NUMBER_ID),
    )
    .respond(
        Matcher::operation(Operation::RequestCode),
        responses::success(),
    )
    .respond(
        Matcher::operation(Operation::VerifyCode),
        responses::success(),
    )
    // The register goes through, but its answer never arrives…
    .fail_times(
        Matcher::operation(Operation::Register),
        waba_porting::TransportErrorKind::Timeout,
        1,
    )
    // …and the read says it is connected.
    .respond(
        Matcher::operation(Operation::ReadPhoneNumber),
        responses::phone_number(NUMBER_ID, "CONNECTED", "VERIFIED"),
    );
    let client = mock_client(&mock);
    let mut session = session();
    let mut customer = Customer {
        code: Some(VerificationCode::new("123830").unwrap()),
        pin: Pin::new("482913").unwrap(),
    };
    let answer = advance(&client, &mut session, &mut customer).await;
    assert_eq!(answer["state"], "registered", "{answer}");
    // One register only: the client read the number instead of repeating.
    mock.assert_called(&Matcher::operation(Operation::Register), 1);
    mock.assert_called(&Matcher::operation(Operation::ReadPhoneNumber), 1);
    mock.assert_script_used();
}

// ---- tests with the simulator ------------------------------------------------

#[tokio::test]
async fn every_scenario_ends_where_the_service_expects() {
    for name in SCENARIO_NAMES {
        let sim = Scenario::by_name(name).unwrap().build();
        let client = sim.client_builder().build().unwrap();
        let mut session = sim.session();
        let mut customer = Customer {
            code: None,
            pin: Pin::new("482913").unwrap(),
        };
        let mut answer = advance(&client, &mut session, &mut customer).await;
        if session.next_action().action == NextAction::VerifyCode {
            customer.code = sim.latest_code(session.phone_number());
            answer = advance(&client, &mut session, &mut customer).await;
        }
        let expected = match *name {
            "happy_path" | "already_in_destination" | "transient_failure" => "registered",
            "on_behalf_not_accepted" => "awaiting_on_behalf_approval",
            "two_step_enabled" => "awaiting_two_step_disable",
            "eligible_for_direct_add" | "business_mismatch" => "rejected",
            other => panic!("a scenario this test does not know: {other}"),
        };
        assert_eq!(answer["state"], expected, "{name}: {answer}");
        // What the service returns is plain JSON with a sentence to paste.
        assert!(!answer["tell_customer"].as_str().unwrap().is_empty());
    }
}

/// A downstream transport that adds a header, checked against what the
/// simulator recorded.
#[derive(Debug)]
struct Tagged<T>(T);

#[async_trait]
impl<T: Transport> Transport for Tagged<T> {
    async fn send(&self, mut request: HttpRequest) -> Result<HttpResponse, TransportError> {
        request.headers.push("X-Tenant", "acme");
        self.0.send(request).await
    }
}

#[tokio::test]
async fn a_custom_transport_is_seen_by_the_simulator() {
    let sim = Scenario::happy_path().build();
    let client = sim
        .client_builder()
        .transport(Tagged(sim.clone()))
        .build()
        .unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    let served = sim.served();
    let start = served.last().unwrap();
    assert_eq!(start.method, Method::Post);
    assert_eq!(start.headers.get("x-tenant"), Some("acme"));
    // The token is not kept by the simulator's record.
    assert_eq!(start.headers.get("authorization"), Some("[redacted]"));
}

/// A stale wait does not linger: after its time, the next step is due.
#[tokio::test]
async fn a_wait_is_due_once_its_time_passed() {
    let mock = MockTransport::new();
    let mut headers = waba_porting::transport::Headers::new();
    headers.push("retry-after", "30");
    mock.respond(
        Matcher::operation(Operation::StartMigration),
        HttpResponse::new(
            429,
            headers,
            json!({"error": {"code": 80007, "message": "rate limited"}}).to_string(),
        ),
    );
    let clock = std::sync::Arc::new(waba_porting::SystemClock);
    let client = PortingClient::builder()
        .access_token("t")
        .transport(mock.clone())
        .clock(clock.clone())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut session = session();
    client.start_migration(&mut session).await.unwrap_err();
    let now = client.clock().now();
    assert!(!session.is_due(now));
    let later = now.saturating_add(Duration::from_secs(31));
    assert!(session.is_due(later));
    assert_eq!(session.next_action_at(later).not_before, None);
    assert!(session.next_action().not_before.is_some());
    assert_eq!(session.state().name(), StateName::Draft);
}

/// `PortingClientBuilder::base_url` promises "a path is kept, so a proxy
/// such as `https://proxy.example/graph` works", and the client then sends
/// `POST /graph/v25.0/{waba}/phone_numbers`. But `operation_of` (and so
/// `Matcher::operation`, the matcher every example and `tests/hardening/downstream.rs`
/// uses) only accepts paths of exactly `/{version}/{id}[/{edge}]`: behind a
/// base path no request is recognised, every `Matcher::operation` entry is
/// skipped and the step fails with "no scripted answer". A downstream
/// service configured for its proxy cannot use `MockTransport` as
/// documented. Expected: the operation is told from the end of the path
/// (the segments after the client's own API root), whatever prefix precedes
/// the version.
#[tokio::test]
async fn matcher_operation_recognises_requests_behind_a_proxy_base_path() {
    let mock = MockTransport::new();
    mock.respond(
        Matcher::operation(Operation::StartMigration),
        responses::id(NUMBER_ID),
    );
    let client = PortingClient::builder()
        .access_token(TOKEN)
        .base_url("https://proxy.example/graph")
        .transport(mock.clone())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut session = session();
    let result = client.start_migration(&mut session).await;

    let sent = mock.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].url.path(),
        format!("/graph/v25.0/{WABA_ID}/phone_numbers"),
        "the client keeps the proxy's path, as documented"
    );
    assert_eq!(
        operation_of(&sent[0]),
        Some(Operation::StartMigration),
        "operation_of misclassifies a request the client really sends"
    );
    assert!(
        result.is_ok(),
        "the scripted answer was not used: {:?}",
        result.err()
    );
    mock.assert_no_unmatched();
}
