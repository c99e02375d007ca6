//! "Every wait — between retries and in the throttle — ends within the
//! step's deadline (a longer throttle pause ends the step as
//! `WaitRequired`, reason `Throttle`, nothing sent)" (README); the throttle
//! "spaces requests on a time line that only moves forward with the
//! client's clock (a wall clock stepped back stalls nothing)" and "all the
//! throttle waits of one call … share the retry deadline" (CHANGELOG).
//!
//! A wall clock stepped back while a call is under way (NTP at boot, a
//! restored snapshot) must not stretch that call's deadline: a call that
//! may wait 30 s in all must not wait a 100 s rate-limit pause because the
//! clock now reads an hour earlier.
#![cfg(feature = "simulator")]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::wire::{json_answer, with_retry_after};
use waba_porting::simulator::{Scenario, SimClock, Simulator};
use waba_porting::transport::{HttpRequest, HttpResponse};
use waba_porting::{
    async_trait, PortingClient, RetryPolicy, Sleep, Throttle, Transport, TransportError, WabaId,
};

const DEADLINE: Duration = Duration::from_secs(30);

fn waba() -> WabaId {
    WabaId::new("102290129340398").unwrap()
}

/// Every request is rate limited for 100 s (another session of the fleet).
#[derive(Debug)]
struct AlwaysLimited;

#[async_trait]
impl Transport for AlwaysLimited {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        Ok(with_retry_after(
            json_answer(429, r#"{"error":{"message":"(#4) limit","code":4}}"#),
            100,
        ))
    }
}

/// The simulator; while the first request is out, the host's clock is
/// stepped back an hour and another session sharing the throttle meets a
/// rate limit (a 100 s pause for everyone).
#[derive(Debug, Clone)]
struct SteppedBack {
    sim: Simulator,
    other: PortingClient,
    fired: Arc<AtomicBool>,
}

#[async_trait]
impl Transport for SteppedBack {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if !self.fired.swap(true, Ordering::SeqCst) {
            let now = self.sim.now();
            let back = now.as_unix_millis() - 3_600_000;
            self.sim
                .clock()
                .set(waba_porting::Timestamp::from_unix_millis(back));
            let _ = self.other.subscribe_app(&waba()).await;
        }
        self.sim.send(request).await
    }
}

/// The simulator's timer, adding up what it was asked to wait.
#[derive(Debug, Clone)]
struct Recorded {
    clock: SimClock,
    slept: Arc<Mutex<Duration>>,
}

#[async_trait]
impl Sleep for Recorded {
    async fn sleep(&self, duration: Duration) {
        *self.slept.lock().unwrap() += duration;
        self.clock.sleep(duration).await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_clock_stepped_back_mid_call_does_not_stretch_its_throttle_deadline() {
    let sim = Scenario::happy_path().build();
    let session = sim.session();
    let throttle = Throttle::new();
    let other = PortingClient::builder()
        .access_token("EAAG-other")
        .transport(AlwaysLimited)
        .clock(sim.clock())
        .sleep(sim.clock())
        .throttle(throttle.clone())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let recorded = Recorded {
        clock: sim.clock(),
        slept: Arc::default(),
    };
    let client = sim
        .client_builder()
        .transport(SteppedBack {
            sim: sim.clone(),
            other,
            fired: Arc::default(),
        })
        .sleep(recorded.clone())
        .throttle(throttle.clone())
        .retry_policy(RetryPolicy::default().with_deadline(DEADLINE))
        .build()
        .unwrap();

    // Reads the WABA's subscribed apps, then the WABA: one call, one
    // deadline. The second read meets the 100 s pause.
    let result = client.check_readiness(&session).await;
    let slept = *recorded.slept.lock().unwrap();
    assert!(
        slept <= DEADLINE,
        "one check_readiness call with a {DEADLINE:?} deadline waited {slept:?} in the \
         throttle after the clock stepped back an hour (result: {})",
        match &result {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.to_string(),
        }
    );
}
