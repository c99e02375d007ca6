//! `platform_type` in a read of the number: `CLOUD_API`/`ON_PREMISE` while
//! `PENDING` was added to settle a `register` of ours whose answer was lost
//! (the number is connecting). A read that says the code was never
//! verified cannot mean *our* register went through: no session that never
//! verified its code, and never sent `register`, may become `Registered`.
#![cfg(feature = "simulator")]

mod common;

use common::wire::{json_answer, Wire};
use waba_porting::simulator::Scenario;
use waba_porting::{CodeMethod, Language, NextAction, Operation, StateName};

fn read(id: &str, platform: &str) -> waba_porting::transport::HttpResponse {
    json_answer(
        200,
        &format!(
            r#"{{"id":"{id}","status":"PENDING","code_verification_status":"NOT_VERIFIED","platform_type":"{platform}"}}"#
        ),
    )
}

async fn refresh_with(platform: &'static str) -> (StateName, NextAction, u32) {
    let sim = Scenario::happy_path().build();
    let mut session = sim.session();
    let plain = sim.client().unwrap();
    plain.start_migration(&mut session).await.unwrap();
    plain
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let id = session
        .state()
        .phone_number_id()
        .unwrap()
        .as_str()
        .to_owned();
    // The number is still on its previous provider's platform (On-Premises
    // API, or Cloud API through another BSP): the port has not happened.
    let wire = Wire::new(&sim, move |op, _| {
        (op == Operation::ReadPhoneNumber).then(|| read(&id, platform))
    });
    let client = sim.client_builder().transport(wire).build().unwrap();
    client.refresh(&mut session).await.unwrap();
    (
        session.state().name(),
        session.next_action().action,
        session.counters().register_requests,
    )
}

#[tokio::test(flavor = "current_thread")]
async fn a_read_showing_on_premise_and_not_verified_does_not_register_the_session() {
    let (state, next, registers) = refresh_with("ON_PREMISE").await;
    assert_eq!(
        state,
        StateName::CodeRequested,
        "no code verified, {registers} register calls sent, yet the session is {state:?} and \
         its next action {next:?}: the customer's code is never asked for again"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_read_showing_cloud_api_and_not_verified_does_not_register_the_session() {
    let (state, next, registers) = refresh_with("CLOUD_API").await;
    assert_eq!(
        state,
        StateName::CodeRequested,
        "no code verified, {registers} register calls sent, yet the session is {state:?} and \
         its next action {next:?}"
    );
}
