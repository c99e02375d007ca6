//! The fleet driving sessions of the Embedded Signup and solution migration
//! routes.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use crate::common;

use std::sync::Arc;

use common::*;
use serde_json::json;
use waba_porting::{
    AppId, AppSecret, BusinessId, Fleet, InMemoryStore, InMemoryTokens, PhoneNumber, PortingClient,
    PortingSession, RetryPolicy, SolutionId, StateName, WabaId,
};
use wiremock::{MockServer, ResponseTemplate};

const APP_ID: &str = "1234567890123";
const APP_SECRET: &str = "app-secret-0f1e2d3c4b5a";
const CUSTOMER_TOKEN: &str = "EAAG-customer-business-token-77";
const SOLUTION: &str = "4455667788";
const INTENT: &str = "778899001122";
const DESTINATION: &str = "555000111222";

/// A solution migration whose intent is pending is due at once (no
/// `not_before`). The fleet has an arm for it ("A read: the customer may
/// have accepted since") and the client spaces the reads, yet the fleet
/// stops at `settled()` — the next action's actor is the customer — and
/// never reads the intent: a session the customer accepted stays
/// "waiting on the customer" until someone outside the fleet reads it.
#[tokio::test]
async fn a_fleet_reads_a_pending_migration_intent_the_customer_may_have_accepted() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        &format!("/{VERSION}/{INTENT}"),
        ResponseTemplate::new(200).set_body_json(json!({
            "id": INTENT, "status": "ACCEPTED", "solution": {"id": SOLUTION},
            "destination_waba": {"id": DESTINATION}})),
        10,
    )
    .await;
    answer(
        &server,
        "POST",
        &format!("/{VERSION}/{DESTINATION}/subscribed_apps"),
        success(),
        10,
    )
    .await;
    let tokens = Arc::new(InMemoryTokens::new());
    tokens.insert(BusinessId::new(BUSINESS).unwrap(), CUSTOMER_TOKEN);
    let builder = PortingClient::builder()
        .access_token(TOKEN)
        .app_credentials(AppId::new(APP_ID).unwrap(), AppSecret::new(APP_SECRET))
        .token_provider(tokens)
        .base_url(server.uri())
        .retry_policy(RetryPolicy::none());
    let fleet = Fleet::builder(builder, InMemoryStore::new())
        .build()
        .unwrap();

    let session = PortingSession::solution_migration(
        PhoneNumber::parse(PHONE).unwrap(),
        WabaId::new(WABA).unwrap(),
        BusinessId::new(BUSINESS).unwrap(),
        SolutionId::new(SOLUTION).unwrap(),
    );
    let mut json = serde_json::to_value(&session).unwrap();
    json["state"] = json!({"state": "awaiting_intent_acceptance", "intent_id": INTENT});
    let pending: PortingSession = serde_json::from_value(json).unwrap();
    assert!(pending.due_at().is_none(), "due now");

    let report = fleet.run(vec![pending]).await;
    let reads = requests(&server)
        .await
        .iter()
        .filter(|r| r.url.path() == format!("/{VERSION}/{INTENT}"))
        .count();
    assert!(
        reads >= 1,
        "the fleet never read the due intent; it reports {:?}",
        report
            .sessions
            .iter()
            .map(|s| (s.state, s.outcome.label()))
            .collect::<Vec<_>>()
    );
    assert_ne!(
        report.sessions[0].state,
        StateName::AwaitingIntentAcceptance
    );
}

/// One fleet, three routes side by side on the simulator: programmatic
/// sessions port as before; Embedded Signup sessions, whose code the BSP's
/// handler exchanged when the popup finished, are subscribed, verified and
/// registered; solution migrations set their intent and wait for the
/// customer, and once the customer accepted (an hour later) a resume moves
/// them into the new WABA and registers them — no code, one register each.
#[cfg(feature = "simulator")]
#[tokio::test(flavor = "current_thread")]
async fn a_fleet_ports_sessions_of_every_route_side_by_side() {
    use waba_porting::simulator::{Scenario, SIMULATOR_TOKEN};
    use waba_porting::{Operation, Pin};

    let sim = Scenario::happy_path().build();
    let tokens = Arc::new(InMemoryTokens::new());
    let solution = SolutionId::new("1987654321098").unwrap();
    let client = sim
        .client_builder()
        .token_provider(Arc::clone(&tokens))
        .retry_policy(RetryPolicy::default())
        .build()
        .unwrap();
    let mut sessions = Vec::new();
    for i in 0..30u32 {
        let session = match i % 3 {
            0 => {
                let session = sim.add_number(&Scenario::happy_path().numbered(i));
                tokens.insert(session.business_id().clone(), SIMULATOR_TOKEN);
                session
            }
            1 => {
                let scenario = Scenario::embedded_signup()
                    .signup_verifies_number(i % 2 == 0)
                    .numbered(i);
                let base = sim.add_number(&scenario);
                let mut session = PortingSession::embedded_signup(
                    base.phone_number().clone(),
                    base.waba_id().clone(),
                    base.business_id().clone(),
                );
                // The BSP's handler, when the popup finished: at once.
                let signup = sim.finish_signup(session.phone_number()).unwrap();
                client
                    .exchange_signup_code(&mut session, &signup)
                    .await
                    .unwrap();
                session
            }
            _ => {
                let base = sim.add_number(&Scenario::solution_migration().numbered(i));
                tokens.insert(base.business_id().clone(), SIMULATOR_TOKEN);
                PortingSession::solution_migration(
                    base.phone_number().clone(),
                    base.waba_id().clone(),
                    base.business_id().clone(),
                    solution.clone(),
                )
            }
        };
        sessions.push(session);
    }
    let builder = sim
        .client_builder()
        .token_provider(Arc::clone(&tokens))
        .retry_policy(RetryPolicy::default());
    let fleet = Fleet::builder(builder, InMemoryStore::new())
        .inputs(sim.customers(Pin::new("482913").unwrap()))
        .concurrency(8)
        .build()
        .unwrap();
    let report = fleet.run(sessions.clone()).await;
    let p = report.progress;
    assert_eq!(p.registered, 20, "programmatic and Embedded Signup: {p}");
    assert_eq!(
        p.waiting_on_customer, 10,
        "the intents await acceptance: {p}"
    );
    assert_eq!(p.failed + p.rejected + p.cancelled, 0, "{p}");

    // The customers accept within the hour; the next pass finishes.
    sim.advance(std::time::Duration::from_secs(3600));
    let report = fleet.resume().await.unwrap();
    let p = report.progress;
    assert_eq!(p.failed + p.rejected + p.cancelled, 0, "{p}");
    assert_eq!(p.registered, 10, "the solution migrations, resumed: {p}");
    for result in &report.sessions {
        assert!(
            matches!(result.outcome, waba_porting::SessionOutcome::Registered),
            "{:?}",
            result.outcome
        );
    }
    for session in &sessions {
        let calls = sim.calls(session.phone_number()).unwrap();
        assert_eq!(calls.register, 1, "{}: {calls:?}", session.phone_number());
        if i_is_solution(session) {
            assert_eq!(calls.request_code, 0, "no code: {calls:?}");
            assert_eq!(calls.verify_code, 0, "no code: {calls:?}");
        }
    }
    assert_eq!(sim.operation_calls(Operation::Register), 30);
    // Nothing is left to do.
    let again = fleet.resume().await.unwrap();
    assert_eq!(again.progress.total, 0, "{}", again.progress);
}

#[cfg(feature = "simulator")]
fn i_is_solution(session: &PortingSession) -> bool {
    matches!(
        session.route(),
        waba_porting::Route::SolutionMigration { .. }
    )
}
