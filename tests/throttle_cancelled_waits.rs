//! A wait cut short by a `CancelToken` sends nothing. Its throttle slot
//! must not stay taken: the throttle is shared (between a fleet's sessions,
//! between fleets: "share one throttle between fleets to share its
//! budget"), and requests that were never sent must not hold the others
//! back.
#![cfg(feature = "simulator")]

use std::time::Duration;

use futures_util::FutureExt;
use waba_porting::simulator::Scenario;
use waba_porting::{async_trait, CancelToken, Error, Sleep, Throttle, WabaId, WaitReason};

/// A timer whose waits never end on their own (only a cancel ends them).
#[derive(Debug)]
struct Forever;

#[async_trait]
impl Sleep for Forever {
    async fn sleep(&self, _: Duration) {
        std::future::pending::<()>().await
    }
}

/// A timer that cannot wait: the refusal tells how long the wait would be.
#[derive(Debug)]
struct CannotWait;

#[async_trait]
impl Sleep for CannotWait {
    async fn sleep(&self, _: Duration) {}

    fn can_sleep(&self) -> bool {
        false
    }
}

#[tokio::test(flavor = "current_thread")]
async fn cancelled_throttle_waits_leave_their_slots_to_the_others() {
    let sim = Scenario::happy_path().build();
    let throttle = Throttle::new().calls_per_second(1);
    let token = CancelToken::new();
    let cancelled_client = sim
        .client_builder()
        .sleep(Forever)
        .throttle(throttle.clone())
        .cancel_token(token.clone())
        .build()
        .unwrap();
    let other = sim
        .client_builder()
        .sleep(CannotWait)
        .throttle(throttle.clone())
        .build()
        .unwrap();
    let waba = WabaId::new("102290129340398").unwrap();

    // 20 calls line up in the throttle (one a second), then are cancelled.
    let calls: Vec<_> = (0..20)
        .map(|_| cancelled_client.subscribe_app(&waba).boxed())
        .collect();
    let mut all = Box::pin(futures_util::future::join_all(calls));
    assert!(
        (&mut all).now_or_never().is_none(),
        "the calls wait in the throttle"
    );
    token.cancel();
    let results = all.await;
    let sent_nothing = results
        .iter()
        .filter(|r| matches!(r, Err(Error::WaitRequired(w)) if w.reason() == WaitReason::Cancelled))
        .count();
    // The first call of the second went through; the rest were cancelled.
    assert_eq!(sent_nothing, 19, "{results:?}");

    // One second later, another client of the throttle calls: its turn is
    // now (the one call sent took the slot of the first second).
    sim.advance(Duration::from_secs(1));
    let result = other.subscribe_app(&waba).await;
    let held_for = match &result {
        Err(Error::WaitRequired(w)) => w.wait(),
        _ => Duration::ZERO,
    };
    assert!(
        held_for <= Duration::from_secs(1),
        "19 cancelled calls sent nothing, yet the other client is held {held_for:?} by their \
         slots ({result:?})"
    );
}
