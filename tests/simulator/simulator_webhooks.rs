//! The simulator's signed `account_update` `PARTNER_ADDED` deliveries: one
//! per finished Embedded Signup popup and accepted migration intent, with
//! the knobs for duplicated, reordered and badly signed deliveries.

use serde_json::Value;
use waba_porting::simulator::{
    DeliveryOptions, Scenario, SignupOptions, SIMULATOR_APP_SECRET, SIMULATOR_PARTNER_BUSINESS,
};
use waba_porting::{MigrationIntentId, WebhookReceiver};

fn value(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap()
}

#[test]
fn a_finished_popup_and_an_accepted_intent_are_signed_partner_added_deliveries() {
    let sim = Scenario::solution_migration().build();
    let phone = sim.scenario().phone_number().clone();
    let signup = sim.finish_signup(&phone).unwrap();
    // A popup that did not share the WABA adds no partner.
    sim.finish_signup_with(&phone, &SignupOptions::new().shares_waba(false))
        .unwrap();
    assert!(sim
        .accept_migration_intent(&MigrationIntentId::new("1").unwrap())
        .is_none());

    let deliveries = sim.partner_added_deliveries(DeliveryOptions::new());
    assert_eq!(deliveries.len(), 1);
    let receiver = WebhookReceiver::new(SIMULATOR_APP_SECRET, "verify-token");
    let first = &deliveries[0];
    receiver
        .receive(Some(first.signature.as_bytes()), &first.body)
        .unwrap();
    let body = value(&first.body);
    assert_eq!(body["object"], "whatsapp_business_account");
    let entry = &body["entry"][0];
    assert_eq!(entry["id"], SIMULATOR_PARTNER_BUSINESS);
    let change = &entry["changes"][0];
    assert_eq!(change["field"], "account_update");
    assert_eq!(change["value"]["event"], "PARTNER_ADDED");
    let info = &change["value"]["waba_info"];
    assert_eq!(info["waba_id"], signup.waba_id.as_str());
    assert_eq!(
        info["owner_business_id"],
        sim.scenario().business_id().as_str()
    );
    assert!(info.get("solution_id").is_none());
}

#[tokio::test]
async fn an_accepted_intent_names_the_new_waba_and_the_solution() {
    use waba_porting::transport::{HttpRequest, Method, Transport};
    let sim = Scenario::solution_migration().build();
    let url = format!(
        "https://graph.facebook.com/v23.0/{}/set_solution_migration_intent",
        sim.scenario().waba_id()
    )
    .parse()
    .unwrap();
    let mut request = HttpRequest::new(Method::Post, url);
    request.headers.push(
        "Authorization",
        format!("Bearer {}", waba_porting::simulator::SIMULATOR_TOKEN),
    );
    request.body = br#"{"solution_id":"7788990011"}"#.to_vec();
    let answer = sim.send(request).await.unwrap();
    let id = value(&answer.body)["id"].as_str().unwrap().to_owned();
    let destination = sim
        .accept_migration_intent(&MigrationIntentId::new(id).unwrap())
        .unwrap();
    sim.finish_signup(sim.scenario().phone_number()).unwrap();

    let in_order = sim.partner_added_deliveries(DeliveryOptions::new());
    assert_eq!(in_order.len(), 2);
    let info = &value(&in_order[0].body)["entry"][0]["changes"][0]["value"]["waba_info"];
    assert_eq!(info["waba_id"], destination.as_str());
    assert_eq!(info["solution_id"], "7788990011");
    assert_eq!(
        info["solution_partner_business_ids"][0],
        SIMULATOR_PARTNER_BUSINESS
    );

    // Reordered: newest first. Duplicated: each twice, the second a replay.
    let reordered = sim.partner_added_deliveries(DeliveryOptions::new().reordered());
    assert_eq!(reordered[0], in_order[1]);
    assert_eq!(reordered[1], in_order[0]);
    let twice = sim.partner_added_deliveries(DeliveryOptions::new().duplicated());
    assert_eq!(twice.len(), 4);
    assert_eq!(twice[0], twice[1]);
    let receiver = WebhookReceiver::new(SIMULATOR_APP_SECRET, "verify-token");
    assert!(receiver
        .receive(Some(twice[0].signature.as_bytes()), &twice[0].body)
        .is_ok());
    assert!(receiver
        .receive(Some(twice[1].signature.as_bytes()), &twice[1].body)
        .is_err());
    // Badly signed: refused.
    let forged = sim.partner_added_deliveries(DeliveryOptions::new().badly_signed());
    let fresh = WebhookReceiver::new(SIMULATOR_APP_SECRET, "verify-token");
    assert!(fresh
        .receive(Some(forged[0].signature.as_bytes()), &forged[0].body)
        .is_err());
    assert_eq!(forged[0].body, in_order[0].body);
}
