//! One regression test per numbered defect of issue 6 ("Steps are not alike:
//! per-step retry safety, reconcile after unknown outcomes, no dead ends").
//! Each test is named `regression_<n>_<subject>` after the defect it pins.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::json;
use waba_porting::simulator::{Fault, Scenario, SimClock, Simulator};
use waba_porting::{
    Actor, ApiErrorKind, CodeMethod, Error, Language, NextAction, Operation, Pin, PortingClient,
    PortingSession, PortingState, RetryPolicy, StateName, StepOutcome, Timestamp,
    TransportErrorKind, UndecodableReason, HISTORY_LIMIT,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

// ---- helpers -----------------------------------------------------------------

fn pin() -> Pin {
    Pin::new("482913").unwrap()
}

/// A simulator client that sends each step once: these tests call the step
/// again themselves, as a caller would after an error.
fn sim_client(sim: &Simulator) -> PortingClient {
    sim.client_builder()
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// The simulator's served requests as (operation, status).
fn served(sim: &Simulator) -> Vec<(Option<Operation>, Option<u16>)> {
    sim.served()
        .iter()
        .map(|r| (r.operation, r.status))
        .collect()
}

fn count(sim: &Simulator, operation: Operation) -> usize {
    sim.served()
        .iter()
        .filter(|r| r.operation == Some(operation))
        .count()
}

async fn request_code(client: &PortingClient, session: &mut PortingSession) -> StateName {
    client
        .request_code(session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap()
}

async fn request_and_verify(sim: &Simulator, client: &PortingClient, session: &mut PortingSession) {
    request_code(client, session).await;
    let code = sim.latest_code(session.phone_number()).expect("delivered");
    client.verify_code(session, &code).await.unwrap();
}

/// Every `Failed` outcome in the session's history, as (operation, kind).
fn failures(session: &PortingSession) -> Vec<(Operation, ApiErrorKind)> {
    session
        .history()
        .iter()
        .filter_map(|t| match &t.outcome {
            StepOutcome::Failed {
                operation, kind, ..
            } => Some((*operation, *kind)),
            _ => None,
        })
        .collect()
}

/// 2030-01-01T00:00:00Z: far from any wall clock a test runs under, so a
/// wait computed from the wall clock cannot pass for one from this clock.
const T2030: u64 = 1_893_456_000_000;

/// A wiremock client on a clock the test controls.
fn clocked_client(server: &MockServer, clock: &SimClock) -> PortingClient {
    PortingClient::builder()
        .access_token(TOKEN)
        .base_url(server.uri())
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
        .clock(clock.clone())
        .build()
        .unwrap()
}

fn already_in_list() -> ResponseTemplate {
    error_response(
        400,
        graph_error(
            2388012,
            None,
            "This phone number already exists in your list of phone numbers",
        ),
    )
}

fn rate_limited(retry_after: &str) -> ResponseTemplate {
    error_response(429, graph_error(80007, None, "Rate limit hit"))
        .insert_header("Retry-After", retry_after)
}

fn session_json(state: serde_json::Value, extra: serde_json::Value) -> String {
    let mut value = json!({
        "format_version": 1,
        "phone_number": "+14155550123",
        "waba_id": WABA,
        "business_id": BUSINESS,
        "state": state,
        "history": [],
    });
    if let (Some(map), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            map.insert(k.clone(), v.clone());
        }
    }
    value.to_string()
}

// ---- 1 -----------------------------------------------------------------------

/// 133006 at register used to leave the session in `CodeVerified`, which only
/// allowed `register`: a dead end. Now the session goes back to where a new
/// code can be requested, and the port finishes.
#[tokio::test]
async fn regression_1_no_dead_end_after_133006_at_register() {
    let sim = Scenario::happy_path().build();
    let client = sim_client(&sim);
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    request_code(&client, &mut session).await;
    // The session believes the code was verified; Meta does not (the code
    // was never sent to verify_code, as after an expiry during a long wait).
    session.apply(StepOutcome::CodeVerified, sim.now()).unwrap();
    assert_eq!(session.state().name(), StateName::CodeVerified);
    assert!(
        session.check(Operation::RequestCode).is_ok(),
        "CodeVerified allows request_code"
    );
    assert_eq!(
        session.state().allowed_steps(),
        vec![Operation::RequestCode, Operation::Register]
    );

    let err = client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::NumberNotVerified));
    assert_eq!(err.api().map(|e| e.code()), Some(Some(133006)));
    assert!(session.check(Operation::RequestCode).is_ok());
    assert_eq!(session.next_action().action, NextAction::RequestCode);
    assert_eq!(session.next_action().actor, Actor::Us);
    assert!(
        session.in_flight().is_none(),
        "a refused register is settled"
    );

    // The remediation's path works: new code, verify, register.
    request_and_verify(&sim, &client, &mut session).await;
    let state = client.register(&mut session, &pin(), None).await.unwrap();
    assert_eq!(state, StateName::Registered);
    assert_eq!(
        served(&sim),
        vec![
            (Some(Operation::StartMigration), Some(200)),
            (Some(Operation::RequestCode), Some(200)),
            (Some(Operation::Register), Some(400)),
            (Some(Operation::RequestCode), Some(200)),
            (Some(Operation::VerifyCode), Some(200)),
            (Some(Operation::Register), Some(200)),
        ]
    );
}

// ---- 2 -----------------------------------------------------------------------

/// A register that succeeded on the server but whose answer was lost, retried
/// with another PIN, used to meet 133005, be classified `TwoStepEnabled` and
/// blame the previous provider. Now the retry reads the number first.
#[tokio::test]
async fn regression_2_lost_register_retried_with_another_pin_reconciles_and_blames_nobody() {
    let sim = Scenario::happy_path().build();
    let client = sim_client(&sim);
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    request_and_verify(&sim, &client, &mut session).await;

    sim.inject_at(Operation::Register, Fault::AnswerLost, 1);
    let err = client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transport(e) if e.kind() == TransportErrorKind::Other),
        "{err:?}"
    );
    assert_eq!(
        session.in_flight().map(|f| f.operation),
        Some(Operation::Register)
    );
    assert_ne!(err.who_must_act(), Actor::PreviousProvider);

    // Retried with a different PIN: reconciled, not re-sent.
    let other_pin = Pin::new("135790").unwrap();
    let state = client
        .register(&mut session, &other_pin, None)
        .await
        .unwrap();
    assert_eq!(state, StateName::Registered);
    assert_eq!(session.state().name(), StateName::Registered);
    assert!(session.in_flight().is_none());
    let tail: Vec<_> = served(&sim).into_iter().skip(3).collect();
    assert_eq!(
        tail,
        vec![
            (Some(Operation::Register), None),
            (Some(Operation::ReadPhoneNumber), Some(200)),
        ],
        "one register, then a read; no second register"
    );
    assert_eq!(count(&sim, Operation::Register), 1);
    assert!(
        failures(&session).is_empty(),
        "no TwoStepEnabled (or any failure) recorded: {:?}",
        failures(&session)
    );
    assert!(matches!(
        session.history().last().map(|t| &t.outcome),
        Some(StepOutcome::Reconciled {
            operation: Operation::Register,
            ..
        })
    ));
    assert_eq!(session.next_action().action, NextAction::Done);
    assert_eq!(session.next_action().actor, Actor::Nobody);
    assert_eq!(session.counters().register_requests, 1);
    assert_eq!(session.counters().reconciles, 1);
}

/// 133005 after our own register whose outcome was unknown is a PIN mismatch
/// on our side, not the previous provider's two-step verification.
#[tokio::test]
async fn regression_2_133005_after_our_unknown_register_is_pin_incorrect() {
    let sim = Scenario::happy_path().build();
    let client = sim_client(&sim);
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    request_and_verify(&sim, &client, &mut session).await;

    // A proxy 502: Meta did not act, but the client cannot know that.
    sim.inject_at(Operation::Register, Fault::BadGateway, 1);
    let err = client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedResponse(e) if e.status() == 502),
        "{err:?}"
    );
    assert_eq!(
        session.in_flight().map(|f| f.operation),
        Some(Operation::Register),
        "the outcome is unknown: the marker is kept"
    );

    sim.set_two_step_pin(session.phone_number(), Some("111111"));
    let err = client
        .register(&mut session, &Pin::new("222222").unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::PinIncorrect));
    assert_eq!(err.api().and_then(|e| e.code()), Some(133005));
    assert_eq!(err.who_must_act(), Actor::Us);
    assert_ne!(session.state().name(), StateName::AwaitingTwoStepDisable);
    assert_eq!(session.state().name(), StateName::CodeVerified);
    assert_eq!(
        failures(&session),
        vec![(Operation::Register, ApiErrorKind::PinIncorrect)]
    );
    let tail: Vec<_> = served(&sim).into_iter().skip(3).collect();
    assert_eq!(
        tail,
        vec![
            (Some(Operation::Register), Some(502)),
            (Some(Operation::ReadPhoneNumber), Some(200)),
            (Some(Operation::Register), Some(400)),
        ],
        "the read showed the number not connected, so register was sent"
    );
}

// ---- 3 -----------------------------------------------------------------------

/// A verify_code that timed out but was accepted used to be re-sent and meet
/// `VerificationCodeRejected` (the code was used up). Now it is reconciled.
#[tokio::test]
async fn regression_3_verify_after_timeout_reconciles_to_code_verified() {
    let sim = Scenario::happy_path().build();
    let client = sim_client(&sim);
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    request_code(&client, &mut session).await;
    let code = sim.latest_code(session.phone_number()).unwrap();

    sim.inject_at(
        Operation::VerifyCode,
        Fault::Latency(Duration::from_secs(6)),
        1,
    );
    let err = client.verify_code(&mut session, &code).await.unwrap_err();
    assert!(
        matches!(&err, Error::Transport(e) if e.kind() == TransportErrorKind::Timeout),
        "{err:?}"
    );
    assert_eq!(session.state().name(), StateName::CodeRequested);
    assert_eq!(
        session.in_flight().map(|f| f.operation),
        Some(Operation::VerifyCode)
    );

    let state = client.verify_code(&mut session, &code).await.unwrap();
    assert_eq!(state, StateName::CodeVerified);
    assert_eq!(
        count(&sim, Operation::VerifyCode),
        1,
        "exactly one verify_code"
    );
    assert_eq!(count(&sim, Operation::ReadPhoneNumber), 1);
    assert!(
        !failures(&session)
            .iter()
            .any(|(_, kind)| *kind == ApiErrorKind::VerificationCodeRejected),
        "{:?}",
        failures(&session)
    );
    // And the port finishes.
    client.register(&mut session, &pin(), None).await.unwrap();
    assert_eq!(session.state().name(), StateName::Registered);
}

// ---- 4 -----------------------------------------------------------------------

/// Adoption after 2388012 used to always land in `Initiated`, texting the
/// customer and spending register calls again. It now follows the listed
/// status.
#[tokio::test]
async fn regression_4_adoption_after_2388012_follows_the_listed_state() {
    // CONNECTED in the destination → Registered.
    let sim = Scenario::happy_path().build();
    let client = sim_client(&sim);
    let mut first = sim.session();
    client.start_migration(&mut first).await.unwrap();
    request_and_verify(&sim, &client, &mut first).await;
    client.register(&mut first, &pin(), None).await.unwrap();
    let before = sim.served().len();

    let mut second = sim.session();
    let state = client.start_migration(&mut second).await.unwrap();
    assert_eq!(state, StateName::Registered);
    assert_eq!(
        second.state().phone_number_id(),
        first.state().phone_number_id()
    );
    let tail: Vec<_> = served(&sim).into_iter().skip(before).collect();
    assert_eq!(
        tail,
        vec![
            (Some(Operation::StartMigration), Some(400)),
            (Some(Operation::ListPhoneNumbers), Some(200)),
        ]
    );
    assert!(matches!(
        second.history().last().map(|t| &t.outcome),
        Some(StepOutcome::ExistingNumberAdopted { observed, .. }) if observed.registered
    ));

    // VERIFIED (not registered) in the destination → CodeVerified.
    let sim = Scenario::happy_path().build();
    let client = sim_client(&sim);
    let mut first = sim.session();
    client.start_migration(&mut first).await.unwrap();
    request_and_verify(&sim, &client, &mut first).await;
    let before = sim.served().len();

    let mut second = sim.session();
    let state = client.start_migration(&mut second).await.unwrap();
    assert_eq!(state, StateName::CodeVerified);
    assert_eq!(
        second.state().phone_number_id(),
        first.state().phone_number_id()
    );
    let tail: Vec<_> = served(&sim).into_iter().skip(before).collect();
    assert_eq!(
        tail,
        vec![
            (Some(Operation::StartMigration), Some(400)),
            (Some(Operation::ListPhoneNumbers), Some(200)),
        ],
        "no request_code or register sent by the adopting session"
    );
    assert_eq!(second.next_action().action, NextAction::Register);
    // It finishes with one register and without a second code.
    client.register(&mut second, &pin(), None).await.unwrap();
    assert_eq!(second.state().name(), StateName::Registered);
    assert_eq!(count(&sim, Operation::RequestCode), 1);
    assert_eq!(count(&sim, Operation::Register), 1);
    assert_eq!(sim.inbox(second.phone_number()).len(), 1);
}

// ---- 5 -----------------------------------------------------------------------

/// `AwaitingTwoStepDisable` after a refused `request_code` used to say "then
/// VerifyCode". It now remembers the refused step.
#[tokio::test]
async fn regression_5_waiting_state_remembers_the_refused_step() {
    let server = MockServer::start().await;
    mount_happy_path(&server).await;
    // The second request_code (the first is the happy path's) is refused.
    answer(
        &server,
        "POST",
        &number_path("request_code"),
        error_response(
            400,
            graph_error(
                2388103,
                None,
                "Two-step authentication must be disabled for this phone number.",
            ),
        ),
        1,
    )
    .await;
    let client = client(&server);
    let mut session = session();
    to_code_requested(&client, &mut session).await;
    assert_eq!(session.state().name(), StateName::CodeRequested);

    let (method, language) = sms();
    let err = client
        .request_code(&mut session, method, &language)
        .await
        .unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::TwoStepEnabled));
    assert_eq!(session.state().name(), StateName::AwaitingTwoStepDisable);
    assert_eq!(session.state().refused_step(), Some(Operation::RequestCode));
    assert_eq!(
        session.state().resume_point().name(),
        StateName::CodeRequested
    );
    let next = session.next_action();
    assert_eq!(
        next.action,
        NextAction::DisableTwoStepVerification {
            then: Operation::RequestCode
        }
    );
    assert_ne!(
        next.action,
        NextAction::DisableTwoStepVerification {
            then: Operation::VerifyCode
        }
    );
    assert_eq!(next.actor, Actor::PreviousProvider);
    assert_eq!(next.action.step(), Some(Operation::RequestCode));

    // The refused step survives persistence.
    let json = serde_json::to_string(&session).unwrap();
    assert!(json.contains(r#""step":"request_code""#), "{json}");
    let back: PortingSession = serde_json::from_str(&json).unwrap();
    assert_eq!(back.state().refused_step(), Some(Operation::RequestCode));
}

// ---- 6 -----------------------------------------------------------------------

/// A rate-limited answer during the 2388012 look-up used to return early
/// without recording the wait, and the "listed but not found" path kept an
/// older wait.
#[tokio::test]
async fn regression_6_not_before_is_recorded_by_the_lookup_and_cleared_when_stale() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(start_path()))
        .respond_with(already_in_list())
        .mount(&server)
        .await;
    answer(&server, "GET", &start_path(), rate_limited("120"), 1).await;
    answer(
        &server,
        "GET",
        &start_path(),
        ResponseTemplate::new(200).set_body_json(json!({"data": []})),
        1,
    )
    .await;
    let clock = SimClock::new(Timestamp::from_unix_millis(T2030));
    let client = clocked_client(&server, &clock);
    let mut session = session();

    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::RateLimited));
    assert_eq!(err.operation(), Some(Operation::ListPhoneNumbers));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    let until = Timestamp::from_unix_millis(T2030 + 120_000);
    assert_eq!(session.not_before(), Some(until), "the wait is recorded");
    assert_eq!(session.next_action().not_before, Some(until));
    assert_eq!(session.state().name(), StateName::Draft);
    assert!(matches!(
        session.history().last().map(|t| &t.outcome),
        Some(StepOutcome::Failed {
            kind: ApiErrorKind::RateLimited,
            code: Some(80007),
            ..
        })
    ));
    // Too early: nothing is sent.
    let sent = requests(&server).await.len();
    assert_eq!(sent, 2);
    let early = client.start_migration(&mut session).await.unwrap_err();
    assert!(matches!(&early, Error::WaitRequired(w) if w.until() == until));
    assert_eq!(requests(&server).await.len(), sent);

    // Once the wait is over: 2388012 again, and the list does not have the
    // number. The answer carries no wait: the old one is cleared.
    clock.advance(Duration::from_secs(120));
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::AlreadyInDestination));
    assert_eq!(session.not_before(), None, "no stale wait left behind");
    assert_eq!(session.next_action().not_before, None);
    assert_eq!(requests(&server).await.len(), 4);
}

/// A rate-limited verify_code: the wait is reported beside who acts (still
/// the customer's code).
#[tokio::test]
async fn regression_6_rate_limited_verify_still_needs_the_customer_with_a_wait() {
    let sim = Scenario::happy_path().build();
    let client = sim_client(&sim);
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    request_code(&client, &mut session).await;
    let code = sim.latest_code(session.phone_number()).unwrap();
    sim.inject_at(
        Operation::VerifyCode,
        Fault::RateLimit {
            code: 130429,
            retry_after: Some(Duration::from_secs(60)),
        },
        1,
    );
    let err = client.verify_code(&mut session, &code).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::RateLimited));
    let until = sim.now().saturating_add(Duration::from_secs(60));
    let next = session.next_action();
    assert_eq!(next.action, NextAction::VerifyCode);
    assert_eq!(next.actor, Actor::Customer);
    assert_eq!(next.not_before, Some(until));
    assert_eq!(session.not_before(), Some(until));
    // After the wait the same code goes through.
    sim.advance(Duration::from_secs(60));
    client.verify_code(&mut session, &code).await.unwrap();
    assert_eq!(session.state().name(), StateName::CodeVerified);
    assert_eq!(session.next_action().not_before, None);
}

// ---- 7 -----------------------------------------------------------------------

/// A list repeating its cursor used to return thousands of records as `Ok`.
#[tokio::test]
async fn regression_7_paging_stops_on_a_repeated_cursor_and_at_the_page_limit() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        &start_path(),
        ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"id": "999", "display_phone_number": "+44 20 7946 0000"}],
            "paging": {"cursors": {"before": "SAME", "after": "SAME"},
                       "next": "https://graph.facebook.com/v25.0/next"}
        })),
        1_000,
    )
    .await;
    let client = client(&server);
    let waba = session().waba_id().clone();
    let err = client.list_phone_numbers(&waba).await.unwrap_err();
    match &err {
        Error::UnexpectedResponse(e) => {
            assert_eq!(e.reason(), UndecodableReason::RepeatedCursor);
            assert_eq!(e.operation(), Operation::ListPhoneNumbers);
        }
        other => panic!("expected RepeatedCursor, got {other:?}"),
    }
    let sent = requests(&server).await.len();
    assert_eq!(sent, 2, "stops at the first repeat");

    // Fresh cursors forever: the page limit.
    let server = MockServer::start().await;
    let pages = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pages);
    Mock::given(method("GET"))
        .and(path(start_path()))
        .respond_with(move |_: &Request| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(json!({
                "data": [{"id": "999", "display_phone_number": "+44 20 7946 0000"}],
                "paging": {"cursors": {"after": format!("CURSOR{n}")},
                           "next": "https://graph.facebook.com/v25.0/next"}
            }))
        })
        .mount(&server)
        .await;
    let client = client_with_timeout(&server, Duration::from_secs(5));
    let err = client.list_phone_numbers(&waba).await.unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedResponse(e) if e.reason() == UndecodableReason::TooManyPages),
        "{err:?}"
    );
    let sent = requests(&server).await.len();
    assert!((2..=50).contains(&sent), "{sent} requests");
    assert_eq!(pages.load(Ordering::SeqCst), sent);
}

// ---- 8 -----------------------------------------------------------------------

/// An HTTP-date `Retry-After` used to be resolved with the wall clock, and a
/// huge one was not bounded.
#[tokio::test]
async fn regression_8_retry_after_dates_use_the_client_clock_and_waits_are_capped() {
    let server = MockServer::start().await;
    // 2030-01-01T00:01:30Z: 90 s after the client's clock.
    answer(
        &server,
        "POST",
        &start_path(),
        rate_limited("Tue, 01 Jan 2030 00:01:30 GMT"),
        1,
    )
    .await;
    answer(&server, "POST", &start_path(), rate_limited("999999999"), 1).await;
    let t = Timestamp::from_unix_millis(T2030);
    let clock = SimClock::new(t);
    let client = clocked_client(&server, &clock);
    let mut session = session();

    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(90)));
    assert_eq!(
        session.not_before(),
        Some(t.saturating_add(Duration::from_secs(90)))
    );

    clock.advance(Duration::from_secs(90));
    let now = clock_now(&clock);
    let err = client.start_migration(&mut session).await.unwrap_err();
    let cap = Duration::from_secs(72 * 3600);
    assert_eq!(err.retry_after(), Some(cap));
    assert_eq!(session.not_before(), Some(now.saturating_add(cap)));
    assert_eq!(requests(&server).await.len(), 2);
}

fn clock_now(clock: &SimClock) -> Timestamp {
    waba_porting::Clock::now(clock)
}

// ---- 9 -----------------------------------------------------------------------

/// Impossible saved states used to load and misbehave later.
#[test]
fn regression_9_impossible_saved_states_do_not_load() {
    let registered = json!({"state": "registered", "phone_number_id": NUMBER_ID});
    let initiated = json!({"state": "initiated", "phone_number_id": NUMBER_ID});
    let verified = json!({"state": "code_verified", "phone_number_id": NUMBER_ID});
    let code_requested = json!({"state": "code_requested", "phone_number_id": NUMBER_ID,
                                "method": "SMS", "language": "en_US", "at": 5});
    let cases = [
        (
            "waiting state resuming a final state",
            session_json(
                json!({"state": "awaiting_two_step_disable", "resume": registered,
                       "step": "register"}),
                json!({}),
            ),
            vec!["awaiting_two_step_disable", "cannot resume", "registered"],
        ),
        (
            "waiting state resuming a waiting state",
            session_json(
                json!({"state": "awaiting_on_behalf_approval",
                       "resume": {"state": "awaiting_two_step_disable", "resume": verified,
                                  "step": "register"},
                       "step": "register"}),
                json!({}),
            ),
            vec!["cannot resume", "awaiting_two_step_disable"],
        ),
        (
            "waiting state with a step its resume state forbids",
            session_json(
                json!({"state": "awaiting_two_step_disable", "resume": initiated,
                       "step": "verify_code"}),
                json!({}),
            ),
            vec!["initiated", "cannot retry verify_code"],
        ),
        (
            "start_migration in flight",
            session_json(
                json!({"state": "draft"}),
                json!({"in_flight": {"operation": "start_migration", "since": 1}}),
            ),
            vec!["start_migration cannot be in flight", "draft"],
        ),
        (
            "a step the state forbids in flight",
            session_json(
                initiated,
                json!({"in_flight": {"operation": "register", "since": 1}}),
            ),
            vec!["register cannot be in flight", "initiated"],
        ),
    ];
    for (what, json, words) in cases {
        let err = serde_json::from_str::<PortingSession>(&json)
            .expect_err(what)
            .to_string();
        for word in words {
            assert!(err.contains(word), "{what}: {err:?} lacks {word:?}");
        }
    }

    // A possible one loads: waiting on a refused request_code, with a
    // verify_code in flight.
    let json = session_json(
        json!({"state": "awaiting_two_step_disable", "resume": code_requested,
               "step": "request_code"}),
        json!({"in_flight": {"operation": "verify_code", "since": 6}}),
    );
    let session: PortingSession = serde_json::from_str(&json).unwrap();
    assert_eq!(session.state().name(), StateName::AwaitingTwoStepDisable);
    assert_eq!(session.state().refused_step(), Some(Operation::RequestCode));
    assert_eq!(
        session.in_flight().map(|f| f.operation),
        Some(Operation::VerifyCode)
    );
    // And the states alone validate too.
    let state = json!({"state": "awaiting_two_step_disable", "resume": registered,
                       "step": "register"});
    assert!(serde_json::from_value::<PortingState>(state).is_err());
}

// ---- 10 ----------------------------------------------------------------------

/// A session saved by a newer version with an error kind this version does not
/// know used to fail to load.
#[test]
fn regression_10_unknown_error_kinds_from_the_future_load() {
    let json = session_json(
        json!({"state": "code_verified", "phone_number_id": NUMBER_ID}),
        json!({"history": [{
            "at": 7, "from": "code_verified", "to": "code_verified",
            "outcome": {"outcome": "failed", "operation": "register",
                        "kind": "some_kind_from_the_future", "code": 131999,
                        "error_subcode": 2999001, "fbtrace_id": "AbCdEf123"}
        }]}),
    );
    let session: PortingSession = match serde_json::from_str(&json) {
        Ok(session) => session,
        Err(e) => panic!("a future kind must load: {e}"),
    };
    let outcome = &session.history()[0].outcome;
    match outcome {
        StepOutcome::Failed {
            operation,
            kind,
            code,
            error_subcode,
            fbtrace_id,
        } => {
            assert_eq!(*operation, Operation::Register);
            assert_eq!(*kind, ApiErrorKind::Unknown);
            assert_eq!(*code, Some(131999));
            assert_eq!(*error_subcode, Some(2999001));
            assert_eq!(fbtrace_id.as_deref(), Some("AbCdEf123"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(session.state().name(), StateName::CodeVerified);
}

/// The history keeps the Graph fields support asks for, and stays bounded.
#[tokio::test]
async fn regression_10_history_keeps_graph_fields_and_is_bounded() {
    // A real failure, from the simulator: code and fbtrace_id kept.
    let sim = Scenario::on_behalf_not_accepted().build();
    let client = sim_client(&sim);
    let mut session = sim.session();
    let err = client.start_migration(&mut session).await.unwrap_err();
    let trace = err.api().and_then(|e| e.fbtrace_id()).unwrap().to_owned();
    match &session.history().last().unwrap().outcome {
        StepOutcome::Failed {
            kind,
            code,
            fbtrace_id,
            ..
        } => {
            assert_eq!(*kind, ApiErrorKind::OnBehalfNotAccepted);
            assert_eq!(*code, Some(2388103));
            assert_eq!(fbtrace_id.as_deref(), Some(trace.as_str()));
        }
        other => panic!("{other:?}"),
    }
    // A failure with a subcode (100/33: the saved id no longer exists).
    let json = session_json(
        json!({"state": "initiated", "phone_number_id": "999999999999999"}),
        json!({}),
    );
    let mut gone: PortingSession = serde_json::from_str(&json).unwrap();
    let err = client
        .request_code(&mut gone, CodeMethod::Sms, &Language::default())
        .await
        .unwrap_err();
    let trace = err.api().and_then(|e| e.fbtrace_id()).unwrap().to_owned();
    match &gone.history().last().unwrap().outcome {
        StepOutcome::Failed {
            operation,
            code,
            error_subcode,
            fbtrace_id,
            ..
        } => {
            assert_eq!(*operation, Operation::RequestCode);
            assert_eq!(*code, Some(100));
            assert_eq!(*error_subcode, Some(33));
            assert_eq!(fbtrace_id.as_deref(), Some(trace.as_str()));
        }
        other => panic!("{other:?}"),
    }
    // They survive persistence.
    let saved = serde_json::to_string(&gone).unwrap();
    assert!(saved.contains(r#""error_subcode":33"#), "{saved}");
    assert!(saved.contains(&trace), "{saved}");
    let back: PortingSession = serde_json::from_str(&saved).unwrap();
    assert_eq!(back, gone);

    // Bounded: the newest HISTORY_LIMIT entries, the rest counted.
    let mut busy = sim.session();
    let extra = 9;
    for i in 0..(HISTORY_LIMIT + extra) {
        busy.apply(
            StepOutcome::failed(Operation::StartMigration, ApiErrorKind::RateLimited),
            Timestamp::from_unix_millis(i as u64),
        )
        .unwrap();
    }
    assert_eq!(busy.history().len(), HISTORY_LIMIT);
    assert_eq!(busy.counters().history_dropped as usize, extra);
    assert_eq!(busy.counters().failures as usize, HISTORY_LIMIT + extra);
    assert_eq!(
        busy.history()[0].at,
        Timestamp::from_unix_millis(extra as u64),
        "the oldest are dropped"
    );
    let back: PortingSession =
        serde_json::from_str(&serde_json::to_string(&busy).unwrap()).unwrap();
    assert_eq!(back.counters().history_dropped as usize, extra);
    // A saved history longer than the limit is trimmed on load.
    let long: Vec<_> = (0..HISTORY_LIMIT + 3)
        .map(|i| {
            json!({"at": i, "from": "draft", "to": "draft",
                   "outcome": {"outcome": "failed", "operation": "start_migration",
                               "kind": "rate_limited"}})
        })
        .collect();
    let json = session_json(json!({"state": "draft"}), json!({"history": long}));
    let loaded: PortingSession = serde_json::from_str(&json).unwrap();
    assert_eq!(loaded.history().len(), HISTORY_LIMIT);
    assert_eq!(loaded.counters().history_dropped, 3);
}

// ---- 11 ----------------------------------------------------------------------

/// `error` and `state` imported each other. State, session and the error
/// kinds must not depend on the error module.
#[test]
fn regression_11_state_session_and_kind_do_not_use_the_error_module() {
    // The state machine and everything it is built from (directly or not)
    // stay below the error module.
    for file in [
        "src/state.rs",
        "src/session.rs",
        "src/kind.rs",
        "src/ids.rs",
        "src/params.rs",
        "src/phone.rs",
        "src/secret.rs",
        "src/time.rs",
        "src/actor.rs",
        "src/operation.rs",
        "src/validation.rs",
        "src/number.rs",
    ] {
        let full = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
        let source = std::fs::read_to_string(&full).unwrap();
        assert!(source.len() > 500, "{file} read");
        let offending: Vec<&str> = source
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .filter(|line| {
                line.contains("crate::error")
                    || line.contains("super::error")
                    || line.trim_start().starts_with("error::")
                    || line.contains("use crate::{") && line.contains("error")
            })
            .collect();
        assert!(
            offending.is_empty(),
            "{file} depends on error: {offending:?}"
        );
    }
    // The dependency goes the other way.
    let error = std::fs::read_to_string(format!("{}/src/error/mod.rs", env!("CARGO_MANIFEST_DIR")))
        .unwrap();
    assert!(error.contains("use crate::state::"));
}
