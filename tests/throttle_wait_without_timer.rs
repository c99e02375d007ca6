//! A client whose timer cannot wait here ([`Sleep::can_sleep`] false: the
//! default `RuntimeSleep` off tokio, or on a runtime without its time
//! driver) ends a throttle wait as `Error::WaitRequired` carrying the time
//! the request may start. Coming back at that time must let the request
//! through: a refusal that still takes a budget slot pushes the next slot
//! one interval further each time, so a caller that does what the error
//! says is refused forever.
#![cfg(feature = "simulator")]

use std::time::Duration;

use waba_porting::simulator::Scenario;
use waba_porting::{async_trait, Error, Sleep, Throttle, WabaId, WaitReason};

/// A timer that cannot wait where it is called (as `RuntimeSleep` off tokio).
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
async fn a_call_made_again_at_the_time_a_throttle_refusal_named_is_let_through() {
    let sim = Scenario::happy_path().build();
    let clock = sim.clock();
    let client = sim
        .client_builder()
        .sleep(CannotWait)
        .throttle(Throttle::new().calls_per_second(1))
        .build()
        .unwrap();
    let waba = WabaId::new("102290129340398").unwrap();
    // The first request of the second starts at once.
    client.subscribe_app(&waba).await.unwrap();
    // The next one must wait a second; the timer cannot, so it is refused
    // with the time it may start.
    let mut refusals = Vec::new();
    for _ in 0..5 {
        match client.subscribe_app(&waba).await {
            Ok(()) => break,
            Err(Error::WaitRequired(wait)) => {
                assert_eq!(wait.reason(), WaitReason::Throttle);
                refusals.push(wait.wait());
                // Do what the error says: call again at `until`.
                clock.set(wait.until());
            }
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(
        refusals.len(),
        1,
        "the call was refused {} times in a row, each time coming back at the time the \
         refusal named (waits {refusals:?}): every refused wait kept its budget slot",
        refusals.len()
    );
}

/// The same with the default timer, `RuntimeSleep`, on a tokio runtime
/// built without its time driver (it cannot wait there).
#[test]
fn the_default_timer_on_a_runtime_without_timers_refuses_a_caller_at_the_named_time_again() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sim = Scenario::happy_path().build();
        let clock = sim.clock();
        let client = sim
            .client_builder()
            .sleep(waba_porting::RuntimeSleep)
            .throttle(Throttle::new().calls_per_second(2))
            .build()
            .unwrap();
        let waba = WabaId::new("102290129340398").unwrap();
        client.subscribe_app(&waba).await.unwrap();
        let mut refusals = Vec::new();
        for _ in 0..5 {
            match client.subscribe_app(&waba).await {
                Ok(()) => break,
                Err(Error::WaitRequired(wait)) => {
                    refusals.push(wait.wait());
                    clock.set(wait.until());
                }
                Err(other) => panic!("unexpected error: {other:?}"),
            }
        }
        assert_eq!(
            refusals.len(),
            1,
            "refused {} times in a row at the named times (waits {refusals:?})",
            refusals.len()
        );
    });
}
