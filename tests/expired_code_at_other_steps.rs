//! `VerificationCodeExpired` is Meta's verdict on a code at `verify_code`;
//! the fleet answers it by requesting a new code, "which needs nobody". An
//! answer of 136025 "…has expired" at another step (undocumented there)
//! must not make the fleet send that step again and again within one run.
#![cfg(feature = "simulator")]

mod common;

use common::wire::{json_answer, pin, Wire};
use waba_porting::simulator::Scenario;
use waba_porting::{Fleet, InMemoryStore, InputMap, Operation};

#[tokio::test(flavor = "current_thread")]
async fn an_expired_answer_to_request_code_does_not_loop_the_fleet() {
    let sim = Scenario::happy_path().build();
    let session = sim.session();
    let wire = Wire::new(&sim, |op, _| {
        (op == Operation::RequestCode).then(|| {
            json_answer(
                400,
                r#"{"error":{"message":"Verification code has expired","code":136025,"fbtrace_id":"AbCdEf"}}"#,
            )
        })
    });
    let fleet = Fleet::builder(
        sim.client_builder().transport(wire.clone()),
        InMemoryStore::new(),
    )
    .inputs(InputMap::new().with_default_pin(pin()))
    .build()
    .unwrap();
    let report = fleet.run(vec![session.clone()]).await;
    let sent = wire.sent(Operation::RequestCode);
    assert!(
        sent <= 2,
        "one run sent request_code {sent} times, each answered 136025 \"has expired\"; outcome \
         {:?}",
        report.sessions[0].outcome
    );
}
