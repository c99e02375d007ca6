//! A throttle wait the client refuses (past the step's deadline, or
//! cancelled) sends nothing, so it must not keep a slot of the budget: a
//! request after the pause ended starts on the budget's spacing, not behind
//! every request that was refused during the pause.
#![cfg(feature = "simulator")]

use std::time::Duration;

use waba_porting::simulator::{Fault, Scenario};
use waba_porting::{Error, Operation, RetryPolicy, Throttle, WaitReason};

#[tokio::test(flavor = "current_thread")]
async fn requests_refused_during_a_pause_hold_no_budget_slots_after_it() {
    let sim = Scenario::happy_path().build();
    let throttle = Throttle::new().calls_per_second(1);
    let client = sim
        .client_builder()
        .throttle(throttle.clone())
        .retry_policy(RetryPolicy::none().with_deadline(Duration::from_secs(5)))
        .build()
        .unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    let id = session.state().phone_number_id().unwrap().clone();

    // One rate-limit answer pauses every request (60 s, longer than the
    // step deadline of 5 s: the client refuses to wait it).
    sim.inject_at(
        Operation::ReadPhoneNumber,
        Fault::RateLimit {
            code: 80007,
            retry_after: None,
        },
        1,
    );
    assert!(client.read_phone_number(&id).await.is_err());
    let until = throttle.paused_until().expect("paused");
    let served = sim.served_count();

    // 30 reads during the pause: each refused, nothing sent.
    for _ in 0..30 {
        match client.read_phone_number(&id).await {
            Err(Error::WaitRequired(w)) => assert_eq!(w.reason(), WaitReason::Throttle),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        sim.served_count(),
        served,
        "nothing was sent during the pause"
    );

    // The pause is over (and a second more): the budget allows one request
    // per second and none was sent for a minute.
    sim.advance(until.saturating_since(sim.now()) + Duration::from_secs(1));
    let after = client.read_phone_number(&id).await;
    assert!(
        after.is_ok(),
        "a read after the pause ended was refused: {after:?} (now {}, pause ended {until}); \
         the 30 refused reads, never sent, still hold the budget's slots",
        sim.now()
    );
}
