//! A lost `register` whose reconciling read cannot tell (no
//! `platform_type`) is read again for up to 15 minutes, then settled. The
//! 15 minutes must pass on the reads, not only on a wall clock that may be
//! stepped back (NTP at boot, a restored VM): otherwise one step back keeps
//! the session reading every 30 s for as long as the step was.
#![cfg(feature = "simulator")]

mod common;

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
