//! The fleet driving sessions of the Embedded Signup and solution migration
//! routes.

mod common;

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
