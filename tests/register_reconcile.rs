//! Reconciling a register whose answer was lost: a number registered but
//! not CONNECTED yet is not sent `register` again.
#![cfg(feature = "simulator")]

mod common;

use std::time::Duration;

use common::wire::{pin, Wire};
use waba_porting::simulator::{Fault, Scenario};
use waba_porting::{CodeMethod, Error, Language, NextAction, Operation, StateName, WaitReason};

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

fn pending_without_platform(id: &str) -> waba_porting::transport::HttpResponse {
    common::wire::json_answer(200, &format!(r#"{{"id":"{id}","status":"PENDING"}}"#))
}

/// A read that cannot tell (`PENDING`, no `platform_type`) is read again
/// after a short wait rather than answered with a second `register`.
#[tokio::test(flavor = "current_thread")]
async fn an_undecided_read_after_a_lost_register_is_read_again_not_answered_with_register() {
    let sim = Scenario::happy_path()
        .connect_delay(Duration::from_secs(10 * 60))
        .build();
    let mut session = common::wire::verified_session(&sim).await;
    let id = session
        .state()
        .phone_number_id()
        .unwrap()
        .as_str()
        .to_owned();
    // The first two reads hide platform_type; the third is the simulator's.
    let wire = Wire::new(&sim, move |op, n| {
        (op == Operation::ReadPhoneNumber && n <= 2).then(|| pending_without_platform(&id))
    });
    let client = sim
        .client_builder()
        .transport(wire.clone())
        .build()
        .unwrap();
    sim.inject_at(Operation::Register, Fault::AnswerLost, 1);
    let result = client.register(&mut session, &pin(), None).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(wire.sent(Operation::Register), 1);
    assert_eq!(wire.sent(Operation::ReadPhoneNumber), 3);
    assert_eq!(session.state().name(), StateName::Registered);
    assert_eq!(session.next_action().action, NextAction::AwaitConnected);
}

/// When a register truly did not go through and reads keep saying nothing
/// decisive, the client waits (returning the wait), and only after the
/// settle window sends `register` again.
#[tokio::test(flavor = "current_thread")]
async fn a_register_that_never_arrived_is_sent_again_only_after_the_settle_window() {
    let sim = Scenario::happy_path().build();
    let mut session = common::wire::verified_session(&sim).await;
    let id = session
        .state()
        .phone_number_id()
        .unwrap()
        .as_str()
        .to_owned();
    let wire = Wire::new(&sim, move |op, n| match op {
        // The first register dies at a proxy: Meta never saw it.
        Operation::Register if n == 1 => Some(common::wire::json_answer(502, "")),
        Operation::ReadPhoneNumber => Some(pending_without_platform(&id)),
        _ => None,
    });
    let client = sim
        .client_builder()
        .transport(wire.clone())
        .build()
        .unwrap();
    let first = client.register(&mut session, &pin(), None).await;
    match &first {
        Err(Error::WaitRequired(wait)) => {
            assert_eq!(wait.reason(), WaitReason::ReconcileUndecided, "{first:?}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(wire.sent(Operation::Register), 1);
    assert!(session.in_flight().is_some());
    // Past the settle window, the register is sent again and goes through.
    sim.advance(Duration::from_secs(16 * 60));
    let second = client.register(&mut session, &pin(), None).await;
    assert!(second.is_ok(), "{second:?}");
    assert_eq!(wire.sent(Operation::Register), 2);
    assert_eq!(sim.calls(session.phone_number()).unwrap().register, 1);
}
