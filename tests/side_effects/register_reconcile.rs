//! Reconciling a register whose answer was lost: a number registered but
//! not CONNECTED yet is not sent `register` again.
#![cfg(feature = "simulator")]

use crate::common;

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

#[cfg(feature = "simulator")]
mod platform_type_reads {
    // `platform_type` in a read of the number: `CLOUD_API`/`ON_PREMISE` while
    // `PENDING` was added to settle a `register` of ours whose answer was lost
    // (the number is connecting). A read that says the code was never
    // verified cannot mean *our* register went through: no session that never
    // verified its code, and never sent `register`, may become `Registered`.

    use super::common;

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
}

#[cfg(feature = "simulator")]
mod undecided_register_clock {
    // A lost `register` whose reconciling read cannot tell (no
    // `platform_type`) is read again for up to 15 minutes, then settled. The
    // 15 minutes must pass on the reads, not only on a wall clock that may be
    // stepped back (NTP at boot, a restored VM): otherwise one step back keeps
    // the session reading every 30 s for as long as the step was.

    use super::common;

    use std::time::Duration;

    use common::wire::{json_answer, pin, Wire};
    use waba_porting::simulator::Scenario;
    use waba_porting::Operation;

    #[tokio::test(flavor = "current_thread")]
    async fn an_undecided_register_is_settled_after_the_window_even_if_the_clock_stepped_back() {
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
            Operation::Register if n == 1 => Some(json_answer(502, "")),
            Operation::ReadPhoneNumber => Some(json_answer(
                200,
                &format!(r#"{{"id":"{id}","status":"PENDING"}}"#),
            )),
            _ => None,
        });
        let client = sim
            .client_builder()
            .transport(wire.clone())
            .build()
            .unwrap();
        let _ = client.register(&mut session, &pin(), None).await;
        assert!(session.in_flight().is_some());
        // The host's clock was a day ahead; NTP steps it back.
        let ahead = sim.now();
        sim.clock().set(waba_porting::Timestamp::from_unix_millis(
            ahead.as_unix_millis() - 24 * 3600 * 1000,
        ));
        // An hour of calls, every 30 s (far past the 15-minute window).
        for _ in 0..120 {
            let _ = client.register(&mut session, &pin(), None).await;
            if wire.sent(Operation::Register) > 1 {
                break;
            }
            sim.advance(Duration::from_secs(30));
        }
        assert_eq!(
            wire.sent(Operation::Register),
            2,
            "after an hour of calls ({} reads in all) the lost register is still not settled: in \
             flight since {:?}, not before {:?}, now {} — the undecided read's 30-second wait and \
             its 15-minute window are wall-clock times",
            wire.sent(Operation::ReadPhoneNumber),
            session.in_flight().map(|f| f.since.to_string()),
            session.not_before().map(|t| t.to_string()),
            sim.now()
        );
    }
}

#[cfg(feature = "simulator")]
mod undecided_register_clock_skew {
    // A lost `register` whose reconciling read cannot tell (not CONNECTED, no
    // `platform_type`) is read again for 15 minutes rather than spending one of
    // the 10 register calls per 72 hours on a guess. A clock a little behind
    // the marker — the session resumed by another host of the fleet whose
    // clock is two seconds behind, or NTP slewing a host back by a second —
    // must not end that window at once: the register was sent seconds ago.

    use super::common;

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
                &format!(
                    r#"{{"id":"{id}","status":"PENDING","code_verification_status":"VERIFIED"}}"#
                ),
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
}
