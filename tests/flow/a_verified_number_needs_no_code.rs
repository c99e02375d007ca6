//! A number whose ownership is verified already when it reaches the
//! destination (`code_verification_status: VERIFIED`; another provider's
//! verification can last days) needs no new code: a fleet reads the number
//! before texting the customer and goes straight to register.
#![cfg(feature = "simulator")]

use std::sync::Arc;

use waba_porting::simulator::{Fault, Scenario, Simulator};
use waba_porting::{
    Fleet, InMemoryStore, Operation, Pin, PortingSession, RetryPolicy, SessionStore, StateName,
};

fn pin() -> Pin {
    Pin::new("482913").unwrap()
}

async fn queued(sim: &Simulator, sessions: &[&PortingSession]) -> Arc<dyn SessionStore> {
    let store: Arc<dyn SessionStore> = Arc::new(InMemoryStore::new());
    for s in sessions {
        let mut s = (*s).clone();
        s.next_revision();
        store.save(&s, None, sim.now()).await.unwrap();
    }
    store
}

fn steps(sim: &Simulator, s: &PortingSession) -> (u32, u32, u32, u32) {
    let c = sim.calls(s.phone_number()).unwrap();
    (c.start_migration, c.request_code, c.verify_code, c.register)
}

#[tokio::test]
async fn a_fleet_ports_a_verified_number_without_texting_the_customer() {
    let sim = Scenario::happy_path().build();
    let verified = sim.add_number(&Scenario::happy_path().verified_already(true).numbered(1));
    let plain = sim.add_number(&Scenario::happy_path().numbered(2));
    let store = queued(&sim, &[&verified, &plain]).await;
    let fleet = Fleet::builder(sim.client_builder(), store)
        .inputs(sim.customers(pin()))
        .build()
        .unwrap();
    let report = fleet.resume().await.unwrap();
    assert_eq!(report.progress.registered, 2, "{report:?}");
    assert_eq!(steps(&sim, &verified), (1, 0, 0, 1));
    assert!(
        sim.inbox(verified.phone_number()).is_empty(),
        "no code sent"
    );
    assert_eq!(steps(&sim, &plain), (1, 1, 1, 1));
}

/// Driving the client yourself: `refresh` after the start shows the
/// verification, and the session is ready to register.
#[tokio::test]
async fn a_refresh_after_the_start_moves_a_verified_number_to_register() {
    let sim = Scenario::happy_path().verified_already(true).build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    let record = client.refresh(&mut session).await.unwrap().unwrap();
    assert!(record.is_code_verified());
    assert_eq!(session.state().name(), StateName::CodeVerified);
    client.register(&mut session, &pin(), None).await.unwrap();
    assert_eq!(session.state().name(), StateName::Registered);
    assert_eq!(sim.calls(session.phone_number()).unwrap().request_code, 0);
}

/// The read spares the customer a text; it never blocks the port: when it
/// fails, the code is requested as before.
#[tokio::test]
async fn a_read_that_fails_lets_the_code_request_go_ahead() {
    let sim = Scenario::happy_path().build();
    let session = sim.add_number(&Scenario::happy_path().numbered(3));
    let store = queued(&sim, &[&session]).await;
    sim.inject_at(Operation::ReadPhoneNumber, Fault::ServiceUnavailable, 1);
    let client = sim.client_builder().retry_policy(RetryPolicy::none());
    let fleet = Fleet::builder(client, store)
        .inputs(sim.customers(pin()))
        .build()
        .unwrap();
    let report = fleet.resume().await.unwrap();
    assert_eq!(report.progress.registered, 1, "{report:?}");
    assert_eq!(steps(&sim, &session), (1, 1, 1, 1));
    assert!(
        sim.calls(session.phone_number()).unwrap().read >= 1,
        "the read was tried"
    );
}
