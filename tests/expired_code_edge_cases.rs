//! After Meta refused a code as expired, the fleet requests a new code by
//! itself. That new request may get no answer (a timeout, a reset); the
//! fleet must not answer each lost request with another one at once, run
//! after run: `max_code_requests` bounds code requests whose answer was
//! lost, and the expired-code exception is one new code, not a loop.
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
    TransportError, TransportErrorKind,
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
async fn lost_code_requests_after_an_expired_code_stay_within_max_code_requests() {
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
    .max_code_requests(3)
    .build()
    .unwrap();

    // Run 1: started, code requested (and delivered).
    let _ = fleet.run(vec![session.clone()]).await;
    assert_eq!(flaky.code_requests.load(Ordering::SeqCst), 1);
    // The customer sends it too late: it expired.
    sim.advance(Duration::from_secs(15 * 60));
    inputs.insert_code(
        key.clone(),
        sim.latest_code(session.phone_number()).unwrap(),
    );
    // From now on every code request's answer is lost.
    flaky.lose.store(true, Ordering::SeqCst);

    let mut per_run = Vec::new();
    for _ in 0..3 {
        let before = flaky.code_requests.load(Ordering::SeqCst);
        let report = fleet.run(vec![session.clone()]).await;
        per_run.push((
            flaky.code_requests.load(Ordering::SeqCst) - before,
            report.sessions[0].outcome.label(),
        ));
        sim.advance(Duration::from_secs(60));
    }
    let stored = store.load(&key).await.unwrap().unwrap();
    let total = flaky.code_requests.load(Ordering::SeqCst);
    // The first request, one new code for the expired one, and at most
    // max_code_requests in all for requests whose answer was lost.
    assert!(
        total <= 1 + 1 + 3,
        "{total} code requests sent (counted by the session: {}); per run after the expired \
         code: {per_run:?}",
        stored.counters().code_requests
    );
}
