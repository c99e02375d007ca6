//! A lost `register` whose reconciling read cannot tell (not CONNECTED, no
//! `platform_type`) is read again for 15 minutes rather than spending one of
//! the 10 register calls per 72 hours on a guess. A clock a little behind
//! the marker — the session resumed by another host of the fleet whose
//! clock is two seconds behind, or NTP slewing a host back by a second —
//! must not end that window at once: the register was sent seconds ago.
#![cfg(feature = "simulator")]

mod common;

use common::wire::{json_answer, pin, Wire};
use waba_porting::simulator::{Fault, Scenario};
use waba_porting::{Error, Operation, RetryPolicy, Timestamp, WaitReason};

#[tokio::test(flavor = "current_thread")]
async fn a_clock_two_seconds_behind_the_marker_does_not_resend_a_register_sent_seconds_ago() {
    let sim = Scenario::happy_path().build();
    let mut session = common::wire::verified_session(&sim).await;
    let id = session
        .state()
        .phone_number_id()
        .unwrap()
        .as_str()
        .to_owned();
    // Meta is still connecting the number: its reads say PENDING and carry
    // no platform_type.
    let wire = Wire::new(&sim, move |op, _| match op {
        Operation::ReadPhoneNumber => Some(json_answer(
            200,
            &format!(r#"{{"id":"{id}","status":"PENDING","code_verification_status":"VERIFIED"}}"#),
        )),
        _ => None,
    });
    let client = sim
        .client_builder()
        .transport(wire.clone())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    // Meta registers the number; the answer is lost on the way back.
    sim.inject_at(Operation::Register, Fault::AnswerLost, 1);
    assert!(client.register(&mut session, &pin(), None).await.is_err());
    let since = session.in_flight().unwrap().since;

    // Called again at once, the client waits rather than guess.
    let again = client.register(&mut session, &pin(), None).await;
    assert!(
        matches!(&again, Err(Error::WaitRequired(w)) if w.reason() == WaitReason::ReconcileUndecided),
        "{again:?}"
    );
    assert_eq!(wire.sent(Operation::Register), 1);

    // The same call two seconds of clock skew earlier.
    sim.clock()
        .set(Timestamp::from_unix_millis(since.as_unix_millis() - 2_000));
    let skewed = client.register(&mut session, &pin(), None).await;
    assert_eq!(
        wire.sent(Operation::Register),
        1,
        "with the clock 2 s behind the marker the undecided read was taken as 'not registered' \
         and register was sent again, seconds after the lost one (result {skewed:?}; register \
         requests counted by the session: {})",
        session.counters().register_requests
    );
}
