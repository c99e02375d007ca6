//! "Every wait — between retries and in the throttle — ends within the
//! step's deadline" (README); the throttle "waits … within the step's
//! RetryPolicy deadline" (`Throttle`'s doc); the deadline is "the longest
//! a step call may spend waiting between attempts, in all". A call that
//! sends several requests — attempts of `subscribe_app`, `refresh`'s
//! reconciling read and its own read, `start_migration`'s look-up of a
//! number already in the destination — must not give each request a whole
//! deadline of throttle waiting.
#![cfg(feature = "simulator")]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::wire::{json_answer, operation_of, with_retry_after};
use waba_porting::simulator::{Fault, Scenario, Simulator};
use waba_porting::transport::{HttpRequest, HttpResponse};
use waba_porting::{
    async_trait, Operation, PortingClient, RetryPolicy, Throttle, Transport, TransportError, WabaId,
};

const DEADLINE: Duration = Duration::from_secs(120);

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

/// The simulator; the first request of `trigger` to go out makes another
/// session sharing the throttle meet a rate limit (a 100 s pause), and,
/// when `fail_first`, is itself answered with a temporary error.
#[derive(Debug, Clone)]
struct Armed {
    sim: Simulator,
    other: Arc<Mutex<Option<PortingClient>>>,
    trigger: Operation,
    fail_first: bool,
    fired: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
}

#[async_trait]
impl Transport for Armed {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.sent.fetch_add(1, Ordering::SeqCst);
        if operation_of(&request) == self.trigger && !self.fired.swap(true, Ordering::SeqCst) {
            let other = self.other.lock().unwrap().clone().unwrap();
            let _ = other.subscribe_app(&waba()).await;
            if self.fail_first {
                return Ok(json_answer(
                    503,
                    r#"{"error":{"message":"Service temporarily unavailable","code":2}}"#,
                ));
            }
        }
        self.sim.send(request).await
    }
}

/// A client on `sim` sharing a throttle with another client that meets a
/// rate limit when `trigger` goes out; the other client has already met
/// one (every request waits 100 s from now).
async fn setup(sim: &Simulator, trigger: Operation, fail_first: bool) -> (PortingClient, Armed) {
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
    let armed = Armed {
        sim: sim.clone(),
        other: Arc::new(Mutex::new(Some(other.clone()))),
        trigger,
        fail_first,
        fired: Arc::default(),
        sent: Arc::default(),
    };
    let client = sim
        .client_builder()
        .transport(armed.clone())
        .throttle(throttle)
        .retry_policy(RetryPolicy::default().with_deadline(DEADLINE))
        .build()
        .unwrap();
    let _ = other.subscribe_app(&waba()).await;
    (client, armed)
}

#[tokio::test(flavor = "current_thread")]
async fn subscribe_app_waits_in_the_throttle_within_one_deadline_in_all() {
    let sim = Scenario::happy_path().build();
    let (client, armed) = setup(&sim, Operation::SubscribeApp, true).await;
    let started = sim.now();
    let result = client.subscribe_app(&waba()).await;
    let spent = sim.now().saturating_since(started);
    assert!(
        spent <= DEADLINE,
        "one subscribe_app call with a {DEADLINE:?} deadline waited {spent:?} (result \
         {result:?}, {} requests)",
        armed.sent.load(Ordering::SeqCst)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn refresh_waits_in_the_throttle_within_one_deadline_in_all() {
    let sim = Scenario::happy_path().build();
    let mut session = common::wire::verified_session(&sim).await;
    // A register whose answer was lost: refresh reconciles it first.
    sim.inject_at(Operation::Register, Fault::AnswerLost, 1);
    let plain = sim
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    assert!(plain
        .register(&mut session, &common::wire::pin(), None)
        .await
        .is_err());
    assert!(session.in_flight().is_some());
    let (client, armed) = setup(&sim, Operation::ReadPhoneNumber, false).await;
    let started = sim.now();
    let result = client.refresh(&mut session).await;
    let spent = sim.now().saturating_since(started);
    assert!(
        spent <= DEADLINE,
        "one refresh call with a {DEADLINE:?} deadline waited {spent:?} in the throttle \
         (result ok: {}, {} requests)",
        result.is_ok(),
        armed.sent.load(Ordering::SeqCst)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn start_migration_and_its_look_up_wait_in_the_throttle_within_one_deadline() {
    let sim = Scenario::already_in_destination().build();
    let mut session = sim.session();
    let (client, armed) = setup(&sim, Operation::StartMigration, false).await;
    let started = sim.now();
    let result = client.start_migration(&mut session).await;
    let spent = sim.now().saturating_since(started);
    assert!(
        spent <= DEADLINE,
        "one start_migration call with a {DEADLINE:?} deadline waited {spent:?} in the \
         throttle (result {:?}, {} requests)",
        result.map_err(|e| e.to_string()),
        armed.sent.load(Ordering::SeqCst)
    );
}
