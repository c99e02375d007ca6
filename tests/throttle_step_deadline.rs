//! "Every throttle wait respects the step's retry deadline": a step call
//! that first reads the number (to settle a step whose answer was lost) and
//! then sends the step waits in the throttle twice — both waits together
//! must stay within the deadline, as one step's waits.
#![cfg(feature = "simulator")]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::wire::{json_answer, operation_of, pin, with_retry_after};
use waba_porting::simulator::{Scenario, Simulator};
use waba_porting::transport::{HttpRequest, HttpResponse};
use waba_porting::{
    async_trait, Error, Operation, PortingClient, RetryPolicy, Throttle, Transport, TransportError,
    WabaId,
};

/// Every request is rate limited for 100 s.
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

/// The simulator; the first register dies at a proxy (Meta never saw it);
/// when `armed`, the next number read first lets `other` (a client sharing
/// the throttle, another session of the fleet) meet a rate limit.
#[derive(Debug, Clone)]
struct Armed {
    sim: Simulator,
    other: Arc<std::sync::Mutex<Option<PortingClient>>>,
    armed: Arc<AtomicBool>,
    registers: Arc<AtomicUsize>,
}

#[async_trait]
impl Transport for Armed {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let operation = operation_of(&request);
        if operation == Operation::Register && self.registers.fetch_add(1, Ordering::SeqCst) == 0 {
            return Ok(json_answer(502, "<html>Bad Gateway</html>"));
        }
        if operation == Operation::ReadPhoneNumber && self.armed.swap(false, Ordering::SeqCst) {
            let other = self.other.lock().unwrap().clone().unwrap();
            let waba = WabaId::new("102290129340398").unwrap();
            let _ = other.subscribe_app(&waba).await;
        }
        self.sim.send(request).await
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_reconciling_read_and_the_step_share_one_throttle_deadline() {
    let sim = Scenario::happy_path().build();
    let mut session = common::wire::verified_session(&sim).await;

    let throttle = Throttle::new();
    let deadline = Duration::from_secs(120);
    let armed = Armed {
        sim: sim.clone(),
        other: Arc::default(),
        armed: Arc::default(),
        registers: Arc::default(),
    };
    let other = PortingClient::builder()
        .access_token("EAAG-other")
        .transport(AlwaysLimited)
        .clock(sim.clock())
        .sleep(sim.clock())
        .throttle(throttle.clone())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    *armed.other.lock().unwrap() = Some(other.clone());
    let client = sim
        .client_builder()
        .transport(armed.clone())
        .throttle(throttle.clone())
        .retry_policy(RetryPolicy::none().with_deadline(deadline))
        .build()
        .unwrap();

    // The first register's answer is lost: in flight.
    assert!(client.register(&mut session, &pin(), None).await.is_err());
    assert!(session.in_flight().is_some());
    // Another session meets a rate limit: every request waits 100 s.
    let waba = WabaId::new("102290129340398").unwrap();
    let _ = other.subscribe_app(&waba).await;
    // And another one while this step's reconciling read is on the wire.
    armed.armed.store(true, Ordering::SeqCst);

    let started = sim.now();
    let result = client.register(&mut session, &pin(), None).await;
    let spent = sim.now().saturating_since(started);
    let refused = matches!(&result, Err(Error::WaitRequired(_)));
    assert!(
        spent <= deadline || refused,
        "one register call with a {deadline:?} deadline waited {spent:?} in the throttle \
         (result {result:?})"
    );
}
