//! `FleetBuilder::max_code_requests`: "Past it the session waits (on us),
//! so nobody is texted again and again by a wire that keeps losing
//! answers." When every code request was lost before it reached Meta, no
//! code was ever sent: the session past the bound must not be reported as
//! waiting for the customer's code — the customer has nothing to send, and
//! nobody on our side would ever be told to act.
#![cfg(feature = "simulator")]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::wire::{operation_of, pin};
use waba_porting::simulator::{Scenario, Simulator};
use waba_porting::transport::{HttpRequest, HttpResponse};
use waba_porting::{
    async_trait, Actor, Fleet, InMemoryStore, InputMap, Operation, SessionOutcome, Transport,
    TransportError, TransportErrorKind,
};

/// The simulator, except that every code request times out before it
/// reaches Meta.
#[derive(Debug, Clone)]
struct LosesCodeRequests {
    sim: Simulator,
    code_requests: Arc<AtomicUsize>,
}

#[async_trait]
impl Transport for LosesCodeRequests {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if operation_of(&request) == Operation::RequestCode {
            self.code_requests.fetch_add(1, Ordering::SeqCst);
            return Err(TransportError::from_kind(TransportErrorKind::Timeout));
        }
        self.sim.send(request).await
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_session_past_max_code_requests_waits_on_us_not_on_a_customer_who_got_no_code() {
    let sim = Scenario::happy_path().build();
    let session = sim.session();
    let wire = LosesCodeRequests {
        sim: sim.clone(),
        code_requests: Arc::default(),
    };
    let fleet = Fleet::builder(
        sim.client_builder().transport(wire.clone()),
        InMemoryStore::new(),
    )
    .inputs(InputMap::new().with_default_pin(pin()))
    .max_code_requests(3)
    .build()
    .unwrap();
    let mut last = None;
    for _ in 0..6 {
        let mut report = fleet.run(vec![session.clone()]).await;
        last = report.sessions.pop().map(|result| result.outcome);
        sim.advance(Duration::from_secs(11 * 60));
    }
    assert!(
        sim.inbox(session.phone_number()).is_empty(),
        "no code ever left"
    );
    let requests = wire.code_requests.load(Ordering::SeqCst);
    let Some(SessionOutcome::Waiting { next, .. }) = last else {
        panic!("{last:?}");
    };
    assert_eq!(
        next.actor,
        Actor::Us,
        "after {requests} lost code requests the fleet stopped requesting, and reports the \
         session as waiting on {:?} for a code that never left: {next:?} — told to the \
         customer as \"{next}\"",
        next.actor
    );
}
