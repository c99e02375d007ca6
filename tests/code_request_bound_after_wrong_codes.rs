//! `FleetBuilder::max_code_requests`: "How many code requests may be
//! outstanding — sent with no verify attempt after them — for the fleet to
//! request another code by itself … Past it the session waits (on us), so
//! nobody is texted again and again by a wire that keeps losing answers."
//!
//! The count is taken over the whole session (requests minus verifies), so
//! verifies the customer made earlier — several wrong codes typed for one
//! SMS — are credit that lets later lost requests run far past the bound.
#![cfg(feature = "simulator")]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::wire::{operation_of, pin};
use waba_porting::simulator::{Scenario, Simulator};
use waba_porting::transport::{HttpRequest, HttpResponse};
use waba_porting::{
    async_trait, Fleet, InMemoryStore, InputMap, Operation, SessionKey, SessionStore, Transport,
    TransportError, TransportErrorKind, VerificationCode,
};

/// The simulator, except that while `lose` is set every code request times
/// out before it reaches Meta.
#[derive(Debug, Clone)]
struct Flaky {
    sim: Simulator,
    lose: Arc<AtomicBool>,
    code_requests: Arc<AtomicUsize>,
}

#[async_trait]
impl Transport for Flaky {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if operation_of(&request) == Operation::RequestCode {
            self.code_requests.fetch_add(1, Ordering::SeqCst);
            if self.lose.load(Ordering::SeqCst) {
                return Err(TransportError::from_kind(TransportErrorKind::Timeout));
            }
        }
        self.sim.send(request).await
    }
}

#[tokio::test(flavor = "current_thread")]
async fn wrong_codes_typed_earlier_do_not_raise_the_bound_on_lost_code_requests() {
    let max = 3;
    let sim = Scenario::happy_path().build();
    let session = sim.session();
    let key = SessionKey::of(&session);
    let flaky = Flaky {
        sim: sim.clone(),
        lose: Arc::default(),
        code_requests: Arc::default(),
    };
    let inputs = Arc::new(InputMap::new().with_default_pin(pin()));
    let store = Arc::new(InMemoryStore::new());
    let fleet = Fleet::builder(
        sim.client_builder().transport(flaky.clone()),
        Arc::clone(&store),
    )
    .inputs(Arc::clone(&inputs))
    .max_code_requests(max)
    .build()
    .unwrap();

    // Run 1: started, code requested (and delivered).
    let _ = fleet.run(vec![session.clone()]).await;
    let real = sim.latest_code(session.phone_number()).unwrap();
    // The customer mistypes it four times, one run each.
    let mut typed = 0;
    for wrong in ["111111", "222222", "333333", "444444", "555555"] {
        let wrong = VerificationCode::new(wrong).unwrap();
        if wrong == real || typed == 4 {
            continue;
        }
        inputs.insert_code(key.clone(), wrong);
        let _ = fleet.run(vec![session.clone()]).await;
        typed += 1;
    }
    // Then sends the right one, too late: it expired.
    sim.advance(Duration::from_secs(15 * 60));
    inputs.insert_code(key.clone(), real);
    // From now on every code request's answer is lost.
    flaky.lose.store(true, Ordering::SeqCst);
    let before = flaky.code_requests.load(Ordering::SeqCst);
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        let report = fleet.run(vec![session.clone()]).await;
        outcomes.push(report.sessions[0].outcome.label());
        sim.advance(Duration::from_secs(11 * 60));
    }
    let after_expired = flaky.code_requests.load(Ordering::SeqCst) - before;
    let stored = store.load(&key).await.unwrap().unwrap();
    assert!(
        after_expired <= max as usize,
        "after the customer's last verify the fleet sent {after_expired} code requests that \
         all got no answer (max_code_requests {max}); the session counts {} requests and {} \
         verifies; outcomes {outcomes:?}",
        stored.counters().code_requests,
        stored.counters().verify_requests,
    );
}
