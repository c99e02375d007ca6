//! `NextStep::not_before`: "Not before this time: the last answer asked to
//! wait … A step called earlier is refused with Error::WaitRequired and
//! sends nothing", and its `Display` tells the customer "(not before …)".
//! After a code request whose answer was lost, the fleet waits `code_wait`
//! before requesting another code — that is when *the fleet* acts, not a
//! time before which the customer may not send the code: the outcome must
//! not tell the customer to hold a code that `verify_code` accepts now.
#![cfg(feature = "simulator")]

mod common;

use common::wire::pin;
use waba_porting::simulator::{Fault, Scenario};
use waba_porting::{
    Actor, Fleet, InMemoryStore, InputMap, NextAction, Operation, SessionKey, SessionOutcome,
    SessionStore,
};

#[tokio::test(flavor = "current_thread")]
async fn a_customer_whose_code_may_have_left_is_not_told_to_wait_before_sending_it() {
    let sim = Scenario::happy_path().build();
    let session = sim.session();
    let key = SessionKey::of(&session);
    // Meta texts the code; the answer to the request is lost.
    sim.inject_at(Operation::RequestCode, Fault::AnswerLost, 1);
    let store = std::sync::Arc::new(InMemoryStore::new());
    let fleet = Fleet::builder(sim.client_builder(), std::sync::Arc::clone(&store))
        .inputs(InputMap::new().with_default_pin(pin()))
        .build()
        .unwrap();
    let mut report = fleet.run(vec![session.clone()]).await;
    let outcome = report.sessions.pop().unwrap().outcome;
    let SessionOutcome::Waiting { next, .. } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(next.action, NextAction::VerifyCode);
    assert_eq!(next.actor, Actor::Customer);

    // The customer got the code and sends it now.
    let now = sim.now();
    let code = sim.latest_code(session.phone_number()).unwrap();
    let mut stored = store.load(&key).await.unwrap().unwrap();
    let verified = fleet.client().verify_code(&mut stored, &code).await;
    assert!(verified.is_ok(), "{verified:?}");
    assert!(
        next.is_due(now),
        "verify_code was accepted at {now}, yet the fleet's outcome said the customer's step \
         is not due before {:?} (told to the customer as \"{next}\")",
        next.not_before.map(|t| t.to_string())
    );
}
