//! Reconciling a register whose answer was lost: a number registered but
//! not CONNECTED yet is not sent `register` again.
#![cfg(feature = "simulator")]

mod common;

use std::time::Duration;

use common::wire::pin;
use waba_porting::simulator::{Fault, Scenario};
use waba_porting::{CodeMethod, Language, Operation};

// ======================================================= 6. register twice

/// The crate knows a registered number may read `PENDING` before
/// `CONNECTED` (`NextAction::AwaitConnected`, `Scenario::connect_delay`),
/// yet reconciling a register whose answer was lost takes "not CONNECTED"
/// as "not registered" and sends `register` again: one lost answer during
/// the connect delay spends a second of the 10 register calls per 72 h
/// (each further lost answer or timeout, another — up to the budget).
#[tokio::test(flavor = "current_thread")]
async fn a_lost_register_answer_during_the_connect_delay_sends_register_again() {
    let sim = Scenario::happy_path()
        .connect_delay(Duration::from_secs(10 * 60))
        .build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let code = sim.latest_code(session.phone_number()).unwrap();
    client.verify_code(&mut session, &code).await.unwrap();
    sim.inject_at(Operation::Register, Fault::AnswerLost, 1);
    let result = client.register(&mut session, &pin(), None).await;
    let calls = sim.calls(session.phone_number()).unwrap();
    assert_eq!(
        calls.register,
        1,
        "register returned {result:?}; Meta received {} register calls for a number the first \
         one registered (session counters: {:?})",
        calls.register,
        session.counters()
    );
}
