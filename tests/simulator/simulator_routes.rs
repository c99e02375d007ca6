//! The simulator plays the Embedded Signup and the Multi-Partner Solution
//! migration routes on the wire (`/work/wire18.md`): raw requests to its
//! endpoints, their answers, the counters, and the crate's client through
//! both routes.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use waba_porting::simulator::{
    Fault, MigrationIntentStatus, Scenario, SignupOptions, Simulator, SIGNUP_CODE_TTL,
    SIMULATOR_APP_ID, SIMULATOR_APP_SECRET, SIMULATOR_SOURCE_SOLUTION, SIMULATOR_TOKEN,
};
use waba_porting::transport::{HttpRequest, Method, Transport};
use waba_porting::{
    CredentialKey, InMemoryTokens, MigrationIntentId, Operation, Pin, PortingState, SolutionId,
    StateName, TokenProvider,
};

const ROOT: &str = "https://graph.facebook.com/v23.0";
const DESTINATION_SOLUTION: &str = "7788990011";

/// What one raw request got: the status and the JSON body, or `None` when
/// the answer never arrived.
async fn send(
    sim: &Simulator,
    method: Method,
    path_and_query: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Option<(u16, Value)> {
    let url = format!("{ROOT}/{path_and_query}").parse().unwrap();
    let mut request = HttpRequest::new(method, url);
    if let Some(token) = token {
        request
            .headers
            .push("Authorization", format!("Bearer {token}"));
    }
    if let Some(body) = body {
        request.headers.push("Content-Type", "application/json");
        request.body = body.to_string().into_bytes();
    }
    let response = sim.send(request).await.ok()?;
    Some((
        response.status,
        serde_json::from_slice(&response.body).unwrap(),
    ))
}

async fn call(
    sim: &Simulator,
    method: Method,
    path_and_query: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    send(sim, method, path_and_query, token, body)
        .await
        .expect("an answer")
}

fn exchange_path(code: &str) -> String {
    format!("oauth/access_token?client_id={SIMULATOR_APP_ID}&client_secret={SIMULATOR_APP_SECRET}&code={code}")
}

async fn exchange(sim: &Simulator, code: &str) -> (u16, Value) {
    call(sim, Method::Get, &exchange_path(code), None, None).await
}

fn error_of(body: &Value) -> (i64, Option<i64>, &str, &str) {
    let error = &body["error"];
    (
        error["code"].as_i64().unwrap(),
        error["error_subcode"].as_i64(),
        error["message"].as_str().unwrap(),
        error["type"].as_str().unwrap(),
    )
}

// ------------------------------------------------------- Embedded Signup

#[tokio::test]
async fn a_signup_code_is_exchanged_once_for_the_customers_business_token() {
    let sim = Scenario::embedded_signup().build();
    let phone = sim.scenario().phone_number().clone();
    let signup = sim.finish_signup(&phone).unwrap();
    assert_eq!(&signup.waba_id, sim.scenario().waba_id());
    assert_eq!(
        signup.business_id.as_ref(),
        Some(sim.scenario().business_id())
    );

    let (status, body) = exchange(&sim, signup.code.secret()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "bearer");
    let token = body["access_token"].as_str().unwrap();
    assert!(!token.is_empty() && token != SIMULATOR_TOKEN);

    // The code is single-use: 100/36009, whatever the token.
    let (status, body) = exchange(&sim, signup.code.secret()).await;
    assert_eq!(status, 400);
    assert_eq!(
        error_of(&body),
        (
            100,
            Some(36009),
            "This authorization code has been used.",
            "OAuthException"
        )
    );
    assert!(body["error"]["fbtrace_id"].is_string());

    let calls = sim.calls(&phone).unwrap();
    assert_eq!(calls.exchange_signup_code, 2);
    assert_eq!(sim.operation_calls(Operation::ExchangeSignupCode), 2);
}

#[tokio::test]
async fn a_signup_code_lives_thirty_seconds_of_the_simulated_clock() {
    let sim = Scenario::embedded_signup().build();
    let phone = sim.scenario().phone_number().clone();
    assert_eq!(SIGNUP_CODE_TTL, Duration::from_secs(30));

    // At 30 s it is still good.
    let fresh = sim.finish_signup(&phone).unwrap();
    sim.advance(SIGNUP_CODE_TTL);
    assert_eq!(exchange(&sim, fresh.code.secret()).await.0, 200);

    // Past 30 s it has expired (100, no subcode).
    let late = sim.finish_signup(&phone).unwrap();
    sim.advance(SIGNUP_CODE_TTL + Duration::from_secs(1));
    let (status, body) = exchange(&sim, late.code.secret()).await;
    assert_eq!(status, 400);
    assert_eq!(
        error_of(&body),
        (
            100,
            None,
            "This authorization code has expired.",
            "OAuthException"
        )
    );
}

#[tokio::test]
async fn the_code_exchange_checks_the_apps_credentials_and_the_code() {
    let sim = Scenario::embedded_signup().build();
    let phone = sim.scenario().phone_number().clone();
    let signup = sim.finish_signup(&phone).unwrap();
    let code = signup.code.secret();

    let wrong_secret =
        format!("oauth/access_token?client_id={SIMULATOR_APP_ID}&client_secret=nope&code={code}");
    let (status, body) = call(&sim, Method::Get, &wrong_secret, None, None).await;
    assert_eq!(status, 400);
    assert_eq!(
        error_of(&body),
        (1, None, "Error validating client secret.", "OAuthException")
    );
    let wrong_app = format!(
        "oauth/access_token?client_id=999&client_secret={SIMULATOR_APP_SECRET}&code={code}"
    );
    assert_eq!(
        error_of(&call(&sim, Method::Get, &wrong_app, None, None).await.1).0,
        101
    );
    let redirect = format!("{}&redirect_uri=", exchange_path(code));
    assert_eq!(
        error_of(&call(&sim, Method::Get, &redirect, None, None).await.1).1,
        Some(36008)
    );
    assert_eq!(error_of(&exchange(&sim, "AQDnever-issued").await.1).0, 100);
    // None of those used the code up; a token is not needed.
    assert_eq!(exchange(&sim, code).await.0, 200);
}

#[tokio::test]
async fn debug_token_lists_the_shared_waba_in_the_granular_scopes() {
    let sim = Scenario::embedded_signup().build();
    let phone = sim.scenario().phone_number().clone();
    let signup = sim.finish_signup(&phone).unwrap();
    let (_, body) = exchange(&sim, signup.code.secret()).await;
    let token = body["access_token"].as_str().unwrap().to_owned();

    let path = format!("debug_token?input_token={token}");
    let (status, body) = call(&sim, Method::Get, &path, Some(SIMULATOR_TOKEN), None).await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(data["is_valid"], true);
    assert_eq!(data["app_id"], SIMULATOR_APP_ID);
    assert_eq!(
        data["granular_scopes"],
        json!([
            {"scope": "whatsapp_business_management", "target_ids": [signup.waba_id.as_str()]},
            {"scope": "whatsapp_business_messaging", "target_ids": [signup.waba_id.as_str()]},
        ])
    );
    // The app token is taken too; no token, or another, is not.
    let app_token = format!("{SIMULATOR_APP_ID}|{SIMULATOR_APP_SECRET}");
    assert_eq!(
        call(&sim, Method::Get, &path, Some(&app_token), None)
            .await
            .0,
        200
    );
    assert_eq!(
        error_of(&call(&sim, Method::Get, &path, None, None).await.1).0,
        104
    );
    assert_eq!(
        error_of(&call(&sim, Method::Get, &path, Some("nope"), None).await.1).0,
        190
    );
    // A token nobody issued reads as invalid.
    let (_, body) = call(
        &sim,
        Method::Get,
        "debug_token?input_token=EAAGforged",
        Some(SIMULATOR_TOKEN),
        None,
    )
    .await;
    assert_eq!(body["data"]["is_valid"], false);
    // Every inspection of the customer's token counts for its number, the
    // refused ones too; the forged token's for none.
    assert_eq!(sim.calls(&phone).unwrap().read_token_scopes, 4);
    assert_eq!(sim.operation_calls(Operation::ReadTokenScopes), 5);
}

#[tokio::test]
async fn a_waba_the_customer_did_not_share_is_out_of_the_tokens_reach() {
    let sim = Scenario::embedded_signup().build();
    let phone = sim.scenario().phone_number().clone();
    let signup = sim
        .finish_signup_with(&phone, &SignupOptions::new().shares_waba(false))
        .unwrap();
    let (_, body) = exchange(&sim, signup.code.secret()).await;
    let token = body["access_token"].as_str().unwrap().to_owned();

    let path = format!("debug_token?input_token={token}");
    let (_, body) = call(&sim, Method::Get, &path, Some(SIMULATOR_TOKEN), None).await;
    assert_eq!(body["data"]["is_valid"], true);
    assert_eq!(body["data"]["granular_scopes"], json!([]));

    let subscribe = format!("{}/subscribed_apps", signup.waba_id);
    let (status, body) = call(&sim, Method::Post, &subscribe, Some(&token), None).await;
    assert_eq!(status, 400);
    assert_eq!(error_of(&body).0, 100);
    assert_eq!(error_of(&body).1, Some(33));
}

#[tokio::test]
async fn a_verified_signup_registers_with_the_customers_token_and_no_code() {
    let sim = Scenario::embedded_signup()
        .webhook_subscribed(false)
        .build();
    let phone = sim.scenario().phone_number().clone();
    let signup = sim.finish_signup(&phone).unwrap();
    let (_, body) = exchange(&sim, signup.code.secret()).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let number = signup.phone_number_id.as_str();

    let subscribe = format!("{}/subscribed_apps", signup.waba_id);
    let (status, body) = call(&sim, Method::Post, &subscribe, Some(&token), None).await;
    assert_eq!((status, &body), (200, &json!({"success": true})));
    let (_, apps) = call(&sim, Method::Get, &subscribe, Some(&token), None).await;
    assert_eq!(apps["data"].as_array().map(Vec::len), Some(1));

    let read = format!("{number}?fields=code_verification_status,status");
    let (_, record) = call(&sim, Method::Get, &read, Some(&token), None).await;
    assert_eq!(record["code_verification_status"], "VERIFIED");

    let register = format!("{number}/register");
    let pin = json!({"messaging_product": "whatsapp", "pin": "482913"});
    let (status, body) = call(&sim, Method::Post, &register, Some(&token), Some(pin)).await;
    assert_eq!(status, 200, "{body}");
    let (_, record) = call(&sim, Method::Get, &read, Some(SIMULATOR_TOKEN), None).await;
    assert_eq!(record["status"], "CONNECTED");

    // The customer's token reaches nothing else.
    let elsewhere = Scenario::happy_path().numbered(7);
    let other = sim.add_number(&elsewhere);
    let (status, body) = call(
        &sim,
        Method::Post,
        &format!("{}/subscribed_apps", other.waba_id()),
        Some(&token),
        None,
    )
    .await;
    assert_eq!((status, error_of(&body).1), (400, Some(33)));

    let calls = sim.calls(&phone).unwrap();
    assert_eq!(calls.request_code, 0);
    assert_eq!(calls.verify_code, 0);
    assert_eq!(calls.register, 1);
    assert_eq!(calls.subscribe_app, 1);
    assert_eq!(calls.exchange_signup_code, 1);
}

#[tokio::test]
async fn an_unverified_signup_needs_the_code_before_register() {
    let sim = Scenario::embedded_signup()
        .signup_verifies_number(false)
        .build();
    let phone = sim.scenario().phone_number().clone();
    let signup = sim.finish_signup(&phone).unwrap();
    let (_, body) = exchange(&sim, signup.code.secret()).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let number = signup.phone_number_id.as_str();

    let (_, record) = call(
        &sim,
        Method::Get,
        &format!("{number}?fields=code_verification_status"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(record["code_verification_status"], "NOT_VERIFIED");
    let register = format!("{number}/register");
    let pin = json!({"messaging_product": "whatsapp", "pin": "482913"});
    let (status, body) = call(
        &sim,
        Method::Post,
        &register,
        Some(&token),
        Some(pin.clone()),
    )
    .await;
    assert_eq!((status, error_of(&body).0), (400, 133006));

    let request = json!({"code_method": "SMS", "language": "en_US"});
    let path = format!("{number}/request_code");
    assert_eq!(
        call(&sim, Method::Post, &path, Some(&token), Some(request))
            .await
            .0,
        200
    );
    let code = sim.latest_code(&phone).unwrap();
    let verify = json!({"code": code.secret()});
    let path = format!("{number}/verify_code");
    assert_eq!(
        call(&sim, Method::Post, &path, Some(&token), Some(verify))
            .await
            .0,
        200
    );
    assert_eq!(
        call(&sim, Method::Post, &register, Some(&token), Some(pin))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn a_popup_can_create_a_new_waba_for_the_customer() {
    let sim = Scenario::embedded_signup()
        .signup_creates_waba(true)
        .build();
    let phone = sim.scenario().phone_number().clone();
    let signup = sim.finish_signup(&phone).unwrap();
    assert_ne!(&signup.waba_id, sim.scenario().waba_id());
    let (_, body) = exchange(&sim, signup.code.secret()).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (status, waba) = call(
        &sim,
        Method::Get,
        &format!("{}?fields=id", signup.waba_id),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 200, "{waba}");
    let (status, _) = call(
        &sim,
        Method::Get,
        &format!("{}/phone_numbers", signup.waba_id),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, 200);
    // Unknown numbers finish no popup.
    let stranger = waba_porting::PhoneNumber::parse("+14155550999").unwrap();
    assert!(sim.finish_signup(&stranger).is_none());
}

#[tokio::test]
async fn a_lost_exchange_answer_leaves_the_code_spent() {
    let sim = Scenario::embedded_signup().build();
    let phone = sim.scenario().phone_number().clone();
    let signup = sim.finish_signup(&phone).unwrap();
    sim.inject_at(Operation::ExchangeSignupCode, Fault::AnswerLost, 1);
    assert!(send(
        &sim,
        Method::Get,
        &exchange_path(signup.code.secret()),
        None,
        None
    )
    .await
    .is_none());
    let (status, body) = exchange(&sim, signup.code.secret()).await;
    assert_eq!((status, error_of(&body).1), (400, Some(36009)));
    // A refused-before-acting fault leaves it usable.
    let again = sim.finish_signup(&phone).unwrap();
    sim.inject_at(Operation::ExchangeSignupCode, Fault::ServiceUnavailable, 1);
    assert_eq!(exchange(&sim, again.code.secret()).await.0, 503);
    assert_eq!(exchange(&sim, again.code.secret()).await.0, 200);
    assert_eq!(sim.calls(&phone).unwrap().exchange_signup_code, 4);
}

#[tokio::test]
async fn the_client_ports_through_embedded_signup_on_the_simulator() {
    let sim = Scenario::embedded_signup().build();
    let tokens = Arc::new(InMemoryTokens::new());
    let client = sim
        .client_builder()
        .token_provider(Arc::clone(&tokens))
        .build()
        .unwrap();
    let mut session = sim.signup_session();
    let signup = sim.finish_signup(session.phone_number()).unwrap();

    let state = client
        .exchange_signup_code(&mut session, &signup)
        .await
        .unwrap();
    assert_eq!(state, StateName::Authorized);
    let held = tokens.token(&CredentialKey::of(&session)).await.unwrap();
    assert_ne!(held.secret(), SIMULATOR_TOKEN);

    let state = client.subscribe_app_for(&mut session).await.unwrap();
    assert_eq!(state, StateName::CodeVerified);
    let state = client
        .register(&mut session, &Pin::new("482913").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(state, StateName::Registered);

    let calls = sim.calls(session.phone_number()).unwrap();
    assert_eq!(calls.exchange_signup_code, 1);
    assert_eq!(calls.read_token_scopes, 1);
    assert_eq!(calls.subscribe_app, 1);
    assert_eq!(calls.request_code, 0);
    assert_eq!(calls.register, 1);
}

// --------------------------------------- Multi-Partner Solution migration

fn intent_body(solution: &str) -> Option<Value> {
    Some(json!({"solution_id": solution}))
}

async fn set_intent(sim: &Simulator, solution: &str) -> (u16, Value) {
    let path = format!("{}/set_solution_migration_intent", sim.scenario().waba_id());
    call(
        sim,
        Method::Post,
        &path,
        Some(SIMULATOR_TOKEN),
        intent_body(solution),
    )
    .await
}

async fn read_intent(sim: &Simulator, id: &str) -> Value {
    let path = format!("{id}?fields=id,status,destination_waba,solution");
    let (status, body) = call(sim, Method::Get, &path, Some(SIMULATOR_TOKEN), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn under_solution() -> Scenario {
    Scenario::happy_path()
        .registered_under_solution(SolutionId::new(SIMULATOR_SOURCE_SOLUTION).unwrap())
}

#[tokio::test]
async fn a_migration_intent_waits_for_the_customer_then_names_a_new_waba() {
    let sim = under_solution().build();
    let phone = sim.scenario().phone_number().clone();
    let (status, body) = set_intent(&sim, DESTINATION_SOLUTION).await;
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();

    // A second set while it is pending answers the same intent.
    let (_, again) = set_intent(&sim, DESTINATION_SOLUTION).await;
    assert_eq!(again["id"], id.as_str());
    assert_eq!(sim.migration_intents(sim.scenario().waba_id()).len(), 1);
    // Another solution meanwhile is refused.
    let (status, body) = set_intent(&sim, "1112223334").await;
    assert_eq!((status, error_of(&body).0), (400, 100));
    // So is a solution id that is not one.
    let (status, _) = set_intent(&sim, "abc").await;
    assert_eq!(status, 400);

    let body = read_intent(&sim, &id).await;
    assert_eq!(body["status"], "INITIATED");
    assert_eq!(body["solution"]["id"], DESTINATION_SOLUTION);
    assert!(body.get("destination_waba").is_none());

    let intent = MigrationIntentId::new(&id).unwrap();
    let destination = sim.accept_migration_intent(&intent).unwrap();
    assert_ne!(&destination, sim.scenario().waba_id());
    assert!(sim.accept_migration_intent(&intent).is_none());
    let body = read_intent(&sim, &id).await;
    assert_eq!(body["status"], "ACCEPTED");
    assert_eq!(body["destination_waba"]["id"], destination.as_str());
    let held = sim.migration_intent(&intent).unwrap();
    assert_eq!(held.status, MigrationIntentStatus::Accepted);
    assert_eq!(held.destination_waba.as_ref(), Some(&destination));

    let calls = sim.calls(&phone).unwrap();
    assert_eq!(calls.set_migration_intent, 4);
    assert_eq!(calls.read_migration_intent, 2);
    assert_eq!(sim.operation_calls(Operation::SetMigrationIntent), 4);
}

#[tokio::test]
async fn a_declined_intent_reads_rejected_and_a_new_one_can_follow() {
    let sim = under_solution().build();
    let (_, body) = set_intent(&sim, DESTINATION_SOLUTION).await;
    let id = body["id"].as_str().unwrap().to_owned();
    let intent = MigrationIntentId::new(&id).unwrap();
    assert!(sim.decline_migration_intent(&intent));
    assert!(!sim.decline_migration_intent(&intent));
    assert!(sim.accept_migration_intent(&intent).is_none());
    let body = read_intent(&sim, &id).await;
    assert_eq!(body["status"], "REJECTED");
    assert!(body.get("destination_waba").is_none());
    let (_, body) = set_intent(&sim, DESTINATION_SOLUTION).await;
    assert_ne!(body["id"], id.as_str());
}

#[tokio::test]
async fn the_customer_can_accept_by_themselves_after_a_delay() {
    let sim = Scenario::solution_migration().build();
    let (_, body) = set_intent(&sim, DESTINATION_SOLUTION).await;
    let id = body["id"].as_str().unwrap().to_owned();
    sim.advance(Duration::from_secs(3599));
    assert_eq!(read_intent(&sim, &id).await["status"], "INITIATED");
    sim.advance(Duration::from_secs(1));
    let body = read_intent(&sim, &id).await;
    assert_eq!(body["status"], "ACCEPTED");
    assert!(body["destination_waba"]["id"].is_string());
}

#[tokio::test]
async fn the_number_moves_to_a_new_id_verified_and_registers_without_a_code() {
    let sim = under_solution().build();
    let phone = sim.scenario().phone_number().clone();
    let (_, body) = set_intent(&sim, DESTINATION_SOLUTION).await;
    let intent = MigrationIntentId::new(body["id"].as_str().unwrap()).unwrap();
    let migrate = json!({"cc": "1", "phone_number": "4155550123", "migrate_phone_number": true});

    // The source WABA lists the number, registered.
    let (_, listed) = call(
        &sim,
        Method::Get,
        &format!("{}/phone_numbers", sim.scenario().waba_id()),
        Some(SIMULATOR_TOKEN),
        None,
    )
    .await;
    let old_id = listed["data"][0]["id"].as_str().unwrap().to_owned();

    let destination = sim.accept_migration_intent(&intent).unwrap();
    let move_path = format!("{destination}/phone_numbers");
    // No app subscribed to the new WABA yet.
    let (status, body) = call(
        &sim,
        Method::Post,
        &move_path,
        Some(SIMULATOR_TOKEN),
        Some(migrate.clone()),
    )
    .await;
    assert_eq!((status, error_of(&body).0), (400, 2388103));
    let subscribe = format!("{destination}/subscribed_apps");
    assert_eq!(
        call(&sim, Method::Post, &subscribe, Some(SIMULATOR_TOKEN), None)
            .await
            .0,
        200
    );

    let (status, body) = call(
        &sim,
        Method::Post,
        &move_path,
        Some(SIMULATOR_TOKEN),
        Some(migrate.clone()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let new_id = body["id"].as_str().unwrap().to_owned();
    assert_ne!(new_id, old_id);

    let read = format!("{new_id}?fields=code_verification_status,status");
    let (_, record) = call(&sim, Method::Get, &read, Some(SIMULATOR_TOKEN), None).await;
    assert_eq!(record["code_verification_status"], "VERIFIED");
    let pin = json!({"messaging_product": "whatsapp", "pin": "482913"});
    let (status, body) = call(
        &sim,
        Method::Post,
        &format!("{new_id}/register"),
        Some(SIMULATOR_TOKEN),
        Some(pin),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, record) = call(&sim, Method::Get, &read, Some(SIMULATOR_TOKEN), None).await;
    assert_eq!(record["status"], "CONNECTED");
    assert_eq!(
        sim.migration_intent(&intent).unwrap().status,
        MigrationIntentStatus::Completed
    );

    // A repeat answers as a repeated programmatic start: 2388012.
    let (status, body) = call(
        &sim,
        Method::Post,
        &move_path,
        Some(SIMULATOR_TOKEN),
        Some(migrate),
    )
    .await;
    assert_eq!((status, error_of(&body).0), (400, 2388012));

    let calls = sim.calls(&phone).unwrap();
    assert_eq!(calls.start_migration, 3);
    assert_eq!(calls.subscribe_app, 1);
    assert_eq!(calls.request_code, 0);
    assert_eq!(calls.verify_code, 0);
    assert_eq!(calls.register, 1);
}

#[tokio::test]
async fn before_acceptance_the_destination_does_not_exist() {
    let sim = under_solution().build();
    let (_, body) = set_intent(&sim, DESTINATION_SOLUTION).await;
    let id = body["id"].as_str().unwrap().to_owned();
    // No destination yet: a move into any WABA id but a real one is 100/33.
    let migrate = json!({"cc": "1", "phone_number": "4155550123", "migrate_phone_number": true});
    let (status, body) = call(
        &sim,
        Method::Post,
        "909090909090909/phone_numbers",
        Some(SIMULATOR_TOKEN),
        Some(migrate),
    )
    .await;
    assert_eq!((status, error_of(&body).1), (400, Some(33)));
    assert!(read_intent(&sim, &id)
        .await
        .get("destination_waba")
        .is_none());
}

#[tokio::test]
async fn two_step_verification_still_on_refuses_the_move() {
    let sim = under_solution().build();
    let phone = sim.scenario().phone_number().clone();
    let (_, body) = set_intent(&sim, DESTINATION_SOLUTION).await;
    let intent = MigrationIntentId::new(body["id"].as_str().unwrap()).unwrap();
    let destination = sim.accept_migration_intent(&intent).unwrap();
    assert!(sim.subscribe_webhooks(&destination));
    assert!(sim.set_two_step_pin(&phone, Some("111111")));
    let migrate = json!({"cc": "1", "phone_number": "4155550123", "migrate_phone_number": true});
    let (status, body) = call(
        &sim,
        Method::Post,
        &format!("{destination}/phone_numbers"),
        Some(SIMULATOR_TOKEN),
        Some(migrate),
    )
    .await;
    assert_eq!(status, 400);
    assert!(error_of(&body).2.contains("Two-step"), "{body}");
}

#[tokio::test]
async fn a_lost_intent_answer_is_answered_with_the_same_intent_on_repeat() {
    let sim = under_solution().build();
    sim.inject_at(Operation::SetMigrationIntent, Fault::AnswerLost, 1);
    let path = format!("{}/set_solution_migration_intent", sim.scenario().waba_id());
    assert!(send(
        &sim,
        Method::Post,
        &path,
        Some(SIMULATOR_TOKEN),
        intent_body(DESTINATION_SOLUTION)
    )
    .await
    .is_none());
    let (_, body) = set_intent(&sim, DESTINATION_SOLUTION).await;
    let intents = sim.migration_intents(sim.scenario().waba_id());
    assert_eq!(intents.len(), 1);
    assert_eq!(body["id"], intents[0].id.as_str());

    // Faults reach the intent read and the move too.
    sim.inject_at(Operation::ReadMigrationIntent, Fault::SomethingWentWrong, 1);
    let path = format!("{}?fields=status", intents[0].id);
    assert_eq!(
        call(&sim, Method::Get, &path, Some(SIMULATOR_TOKEN), None)
            .await
            .0,
        500
    );
    let destination = sim.accept_migration_intent(&intents[0].id).unwrap();
    sim.subscribe_webhooks(&destination);
    sim.inject_at(
        Operation::StartMigration,
        Fault::Latency(Duration::from_secs(120)),
        1,
    );
    let migrate = json!({"cc": "1", "phone_number": "4155550123", "migrate_phone_number": true});
    let url = format!("{ROOT}/{destination}/phone_numbers")
        .parse()
        .unwrap();
    let mut request = HttpRequest::new(Method::Post, url);
    request
        .headers
        .push("Authorization", format!("Bearer {SIMULATOR_TOKEN}"));
    request.body = migrate.to_string().into_bytes();
    request.timeout = Some(Duration::from_secs(30));
    assert!(sim.send(request).await.is_err());
    let (status, body) = call(
        &sim,
        Method::Post,
        &format!("{destination}/phone_numbers"),
        Some(SIMULATOR_TOKEN),
        Some(migrate),
    )
    .await;
    assert_eq!((status, error_of(&body).0), (400, 2388012));
}

#[tokio::test]
async fn the_client_ports_through_a_solution_migration_on_the_simulator() {
    let sim = Scenario::solution_migration().build();
    let client = sim.client().unwrap();
    let mut session = sim.solution_session(SolutionId::new(DESTINATION_SOLUTION).unwrap());

    client.set_migration_intent(&mut session).await.unwrap();
    assert_eq!(session.state().name(), StateName::AwaitingIntentAcceptance);
    client.refresh_migration_intent(&mut session).await.unwrap();
    assert_eq!(session.state().name(), StateName::AwaitingIntentAcceptance);
    sim.advance(Duration::from_secs(3600));
    let state = client.refresh_migration_intent(&mut session).await.unwrap();
    assert_eq!(state, StateName::IntentAccepted);
    let destination = session.destination_waba_id().cloned().unwrap();
    assert!(matches!(
        session.state(),
        PortingState::IntentAccepted { .. }
    ));

    client.subscribe_app_for(&mut session).await.unwrap();
    client.start_migration(&mut session).await.unwrap();
    if session.state().name() != StateName::CodeVerified {
        panic!("the moved number needs no code: {:?}", session.state());
    }
    let state = client
        .register(&mut session, &Pin::new("482913").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(state, StateName::Registered);

    let calls = sim.calls(session.phone_number()).unwrap();
    assert_eq!(calls.set_migration_intent, 1);
    assert_eq!(calls.read_migration_intent, 2);
    assert_eq!(calls.subscribe_app, 1);
    assert_eq!(calls.start_migration, 1);
    assert_eq!(calls.request_code, 0);
    assert_eq!(calls.register, 1);
    let intents = sim.migration_intents(session.waba_id());
    assert_eq!(intents[0].destination_waba.as_ref(), Some(&destination));
}
