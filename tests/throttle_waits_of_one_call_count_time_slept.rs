//! `Sleep`: "Inject your runtime's timer (or, in tests, one that records
//! the waits and returns at once)"; `Retries`' bookkeeping counts "the time
//! slept … against the deadline even on a clock that does not move with
//! the sleep"; README: "Every wait — between retries and in the throttle —
//! ends within the step's deadline"; CHANGELOG: "all the throttle waits of
//! one call … share the retry deadline".
//!
//! With a timer that returns at once (the clock does not move with it),
//! the throttle waits of one call must still add up to at most its
//! deadline: each request of the call must not get the whole deadline
//! again.
#![cfg(feature = "simulator")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use waba_porting::simulator::Scenario;
use waba_porting::{async_trait, RetryPolicy, Sleep, Throttle};

const DEADLINE: Duration = Duration::from_millis(2_500);

/// Records the waits and returns at once.
#[derive(Debug, Clone, Default)]
struct Recording(Arc<Mutex<Vec<Duration>>>);

#[async_trait]
impl Sleep for Recording {
    async fn sleep(&self, duration: Duration) {
        self.0.lock().unwrap().push(duration);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_throttle_waits_of_one_call_add_up_to_at_most_its_deadline_with_an_instant_timer() {
    let sim = Scenario::happy_path().build();
    let mut session = sim.session();
    // The session has a number id: readiness also reads the number.
    sim.client()
        .unwrap()
        .start_migration(&mut session)
        .await
        .unwrap();
    let recording = Recording::default();
    let client = sim
        .client_builder()
        .sleep(recording.clone())
        .throttle(Throttle::new().calls_per_second(1))
        .retry_policy(RetryPolicy::default().with_deadline(DEADLINE))
        .build()
        .unwrap();

    // The WABA's subscribed apps, the WABA, the number: one call, one
    // deadline.
    let result = client.check_readiness(&session).await;
    let waits = recording.0.lock().unwrap().clone();
    let total: Duration = waits.iter().sum();
    assert!(
        total <= DEADLINE,
        "one check_readiness call with a {DEADLINE:?} deadline waited {total:?} in the \
         throttle ({waits:?}; result ok: {})",
        result.is_ok()
    );
}
