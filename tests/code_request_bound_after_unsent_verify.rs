//! `Counters::code_requests_since_verify`: "`request_code` requests sent
//! since the last `verify_code` request … how many code requests are
//! outstanding", the count `FleetBuilder::max_code_requests` bounds ("Past
//! it the session waits (on us), so nobody is texted again and again by a
//! wire that keeps losing answers").
//!
//! A `verify_code` that could not connect was never sent: Meta saw no code
//! from the customer, and the session itself takes it back from
//! `verify_requests`. It answers none of the outstanding code requests, so
//! it must not wipe their count: the bound would start over and the fleet
//! text the customer `max_code_requests` more times.
#![cfg(feature = "simulator")]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::wire::{operation_of, pin};
use waba_porting::simulator::{Scenario, Simulator};
use waba_porting::transport::{HttpRequest, HttpResponse};
use waba_porting::{
    async_trait, Fleet, FleetInputs, InMemoryStore, Operation, PortingSession, SessionKey,
    SessionStore, Transport, TransportError, TransportErrorKind, VerificationCode,
};

/// The simulator, except that while `lose` is set every code request times
/// out (its answer is lost), and while `refuse_verify` is set no verify can
/// connect (it is never sent).
#[derive(Debug, Clone)]
struct Flaky {
    sim: Simulator,
    lose: Arc<AtomicBool>,
    refuse_verify: Arc<AtomicBool>,
    code_requests: Arc<AtomicUsize>,
}

#[async_trait]
impl Transport for Flaky {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        match operation_of(&request) {
            Operation::RequestCode => {
                self.code_requests.fetch_add(1, Ordering::SeqCst);
                if self.lose.load(Ordering::SeqCst) {
                    return Err(TransportError::from_kind(TransportErrorKind::Timeout));
                }
            }
            Operation::VerifyCode if self.refuse_verify.load(Ordering::SeqCst) => {
                return Err(TransportError::from_kind(TransportErrorKind::Connect));
            }
            _ => {}
        }
        self.sim.send(request).await
    }
}

/// The customer's code, handed out by the operator's service while it is
/// on offer.
#[derive(Debug, Default)]
struct Offered(Mutex<Option<VerificationCode>>);

#[async_trait]
impl FleetInputs for Offered {
    async fn verification_code(&self, _: &PortingSession) -> Option<VerificationCode> {
        self.0.lock().unwrap().clone()
    }

    async fn pin(&self, _: &PortingSession) -> Option<waba_porting::Pin> {
        Some(pin())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_verify_that_was_never_sent_does_not_reset_the_code_request_bound() {
    let max = 2;
    let sim = Scenario::happy_path().build();
    let session = sim.session();
    let key = SessionKey::of(&session);
    let flaky = Flaky {
        sim: sim.clone(),
        lose: Arc::new(AtomicBool::new(true)),
        refuse_verify: Arc::default(),
        code_requests: Arc::default(),
    };
    let inputs = Arc::new(Offered::default());
    let store = Arc::new(InMemoryStore::new());
    let fleet = Fleet::builder(
        sim.client_builder().transport(flaky.clone()),
        Arc::clone(&store),
    )
    .inputs(Arc::clone(&inputs))
    .max_code_requests(max)
    .build()
    .unwrap();

    // Every code request's answer is lost: the fleet asks again after
    // code_wait, up to the bound.
    for _ in 0..4 {
        let _ = fleet.run(vec![session.clone()]).await;
        sim.advance(Duration::from_secs(11 * 60));
    }
    let stored = store.load(&key).await.unwrap().unwrap();
    let before = *stored.counters();
    assert_eq!(before.code_requests_since_verify, max, "{before:?}");
    assert_eq!(flaky.code_requests.load(Ordering::SeqCst), max as usize);

    // The customer types something in, but no verify can connect: nothing
    // reaches Meta.
    *inputs.0.lock().unwrap() = Some(VerificationCode::new("123456").unwrap());
    flaky.refuse_verify.store(true, Ordering::SeqCst);
    let report = fleet.run(vec![session.clone()]).await;
    let stored = store.load(&key).await.unwrap().unwrap();
    let after = *stored.counters();
    assert_eq!(sim.calls(session.phone_number()).unwrap().verify_code, 0);
    assert_eq!(
        after.verify_requests, before.verify_requests,
        "the session knows no verify was sent"
    );
    // The operator withdraws the entry; code requests still get no answer.
    *inputs.0.lock().unwrap() = None;
    let sent_before = flaky.code_requests.load(Ordering::SeqCst);
    for _ in 0..4 {
        let _ = fleet.run(vec![session.clone()]).await;
        sim.advance(Duration::from_secs(11 * 60));
    }
    let more = flaky.code_requests.load(Ordering::SeqCst) - sent_before;
    assert!(
        after.code_requests_since_verify == before.code_requests_since_verify && more == 0,
        "no verify_code reached Meta (verify_requests {} -> {}), yet \
         code_requests_since_verify went {} -> {} and the fleet then sent {more} more code \
         requests past max_code_requests {max} (run outcome after the unsent verify: {})",
        before.verify_requests,
        after.verify_requests,
        before.code_requests_since_verify,
        after.code_requests_since_verify,
        report.sessions[0].outcome.label(),
    );
}
