//! `FleetBuilder::recheck_after` under attack: what the wait on a refused
//! step must not hold back, and what must not lift it.
#![cfg(feature = "simulator")]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::wire::{json_answer, pin, verified_session, Wire};
use waba_porting::simulator::{Fault, Scenario, Simulator};
use waba_porting::{
    Fleet, InMemoryStore, NextAction, Operation, PortingSession, SessionKey, SessionStore,
    StoreCheckpoint, Timestamp,
};

/// Saves `session` as a queued session (revision 1), as a service's intake
/// would.
async fn queue(store: &dyn SessionStore, session: &PortingSession) {
    let mut s = session.clone();
    s.next_revision();
    store.save(&s, None, Timestamp::now()).await.unwrap();
}

fn fleet(sim: &Simulator, wire: Wire, store: Arc<dyn SessionStore>) -> Fleet {
    let client = sim.client_builder().transport(wire);
    Fleet::builder(client, store)
        .inputs(sim.customers(pin()))
        .build()
        .unwrap()
}

/// The operator's own client on the same store (no lease), as the README
/// says to use "to move on sooner".
fn direct(sim: &Simulator, store: &Arc<dyn SessionStore>) -> waba_porting::PortingClient {
    sim.client_builder()
        .transport(Wire::pass(sim))
        .checkpoint(StoreCheckpoint(Arc::clone(store)))
        .build()
        .unwrap()
}

/// Register refused until we act (133000: a previous deregistration
/// failed; recovery `AfterAction`). We fix it and, as the README advises
/// ("call the client's step yourself to move on sooner"), send the
/// register ourselves; its answer is lost after Meta registered the
/// number. The session now has a register in flight: what it needs is a
/// reconcile — one read, nothing sent twice. The fleet settles it at once,
/// not after `recheck_after` (a registered number would be reported as not
/// registered meanwhile).
#[tokio::test(flavor = "current_thread")]
async fn a_step_in_flight_after_a_refusal_is_reconciled_at_once_not_held_until_the_recheck() {
    let sim = Scenario::happy_path().build();
    sim.log_requests(false);
    let session = verified_session(&sim).await;
    let phone = session.phone_number().clone();
    let key = SessionKey::of(&session);
    let store: Arc<dyn SessionStore> = Arc::new(InMemoryStore::new());
    queue(store.as_ref(), &session).await;
    // Meta refuses the first register only.
    let wire = Wire::new(&sim, |operation, n| {
        (operation == Operation::Register && n == 1).then(|| {
            json_answer(
                400,
                r#"{"error":{"message":"(#133000) Previous deregistration failed","type":"OAuthException","code":133000,"fbtrace_id":"AbC"}}"#,
            )
        })
    });
    let fleet = fleet(&sim, wire.clone(), Arc::clone(&store));
    let _ = fleet.resume().await.unwrap();
    assert_eq!(wire.sent(Operation::Register), 1, "refused once");

    // We act, and send the register ourselves; its answer is lost (Meta
    // registered the number) and our read to settle it fails.
    sim.advance(Duration::from_secs(60));
    sim.inject_at(Operation::Register, Fault::AnswerLost, 1);
    let mut stored = store.load(&key).await.unwrap().unwrap();
    let ours = sim
        .client_builder()
        .transport(Wire::new(&sim, |operation, _| {
            (operation == Operation::ReadPhoneNumber).then(|| {
                json_answer(
                    500,
                    r#"{"error":{"message":"(#1) An unknown error occurred","type":"OAuthException","code":1,"fbtrace_id":"AbD"}}"#,
                )
            })
        }))
        .checkpoint(StoreCheckpoint(Arc::clone(&store)))
        .build()
        .unwrap();
    let sent = ours.register(&mut stored, &pin(), None).await;
    assert!(sent.is_err(), "{sent:?}");
    assert_eq!(sim.calls(&phone).unwrap().register, 1, "Meta registered it");
    let stored = store.load(&key).await.unwrap().unwrap();
    assert!(
        matches!(
            stored.next_action().action,
            NextAction::Reconcile {
                step: Operation::Register
            }
        ),
        "setup: the lost register must leave a reconcile to do: {:?}",
        stored.next_action()
    );

    // A minute later (well within recheck_after) the fleet's next pass.
    sim.advance(Duration::from_secs(60));
    let reads_before = sim.calls(&phone).unwrap();
    let report = fleet.resume().await.unwrap();
    let outcome = &report.sessions[0].outcome;
    let after = store.load(&key).await.unwrap().unwrap();
    assert!(
        after.in_flight().is_none() && report.progress.registered == 1,
        "the fleet did not reconcile the register in flight (a read) but held it for \
         recheck_after: {outcome:?}; Meta calls before/after {reads_before:?} / {:?}",
        sim.calls(&phone).unwrap()
    );
}

/// Register refused until we act (133000, a previous deregistration
/// failed: recovery `AfterAction`, the session stays `CodeVerified`). The
/// fleet holds it for `recheck_after`, even when something reads the number
/// meanwhile (`PortingClient::refresh` on a timer records a `NumberRead`
/// that shows nothing changed): a read answers no step, and the refused
/// register is not sent again before its time (a register counts against
/// Meta's 10-per-72-hours limit).
#[tokio::test(flavor = "current_thread")]
async fn a_read_that_shows_nothing_changed_does_not_lift_the_wait_on_a_refused_step() {
    let sim = Scenario::happy_path().build();
    sim.log_requests(false);
    let session = verified_session(&sim).await;
    let key = SessionKey::of(&session);
    let store: Arc<dyn SessionStore> = Arc::new(InMemoryStore::new());
    queue(store.as_ref(), &session).await;
    let wire = Wire::new(&sim, |operation, _| {
        (operation == Operation::Register).then(|| {
            json_answer(
                400,
                r#"{"error":{"message":"(#133000) Previous deregistration failed","type":"OAuthException","code":133000,"fbtrace_id":"AbC"}}"#,
            )
        })
    });
    let fleet = fleet(&sim, wire.clone(), Arc::clone(&store));

    let _ = fleet.resume().await.unwrap();
    assert_eq!(wire.sent(Operation::Register), 1, "refused once");
    // The next pass holds it (recheck_after).
    sim.advance(Duration::from_secs(60));
    let report = fleet.resume().await.unwrap();
    assert_eq!(wire.sent(Operation::Register), 1, "held: {report:?}");

    // A dashboard refreshes the session: a read, nothing changed at Meta.
    let mut stored = store.load(&key).await.unwrap().unwrap();
    let read = direct(&sim, &store).refresh(&mut stored).await.unwrap();
    assert!(read.is_some());
    assert_eq!(
        store.load(&key).await.unwrap().unwrap().state().name(),
        session.state().name(),
        "the read changed nothing"
    );

    sim.advance(Duration::from_secs(60));
    let report = fleet.resume().await.unwrap();
    assert_eq!(
        wire.sent(Operation::Register),
        1,
        "two minutes after the refusal (recheck_after is 10) the fleet sent the refused \
         register again because a read came after it: {report:?}"
    );
}

/// Register refused because two-step verification is still on (133005 at
/// register: `TwoStepEnabled`, the previous provider must act). The
/// provider turns it off; we send the register ourselves and its answer
/// is lost. What is left is our reconcile: the fleet does it, and never
/// reports the session waiting on the previous provider, who has nothing
/// left to do.
#[tokio::test(flavor = "current_thread")]
async fn a_reconcile_left_after_a_refusal_is_not_reported_as_waiting_on_the_person_who_acted() {
    use waba_porting::{Actor, SessionOutcome};
    let sim = Scenario::happy_path().build();
    sim.log_requests(false);
    let session = verified_session(&sim).await;
    let key = SessionKey::of(&session);
    let store: Arc<dyn SessionStore> = Arc::new(InMemoryStore::new());
    queue(store.as_ref(), &session).await;
    let wire = Wire::new(&sim, |operation, n| {
        (operation == Operation::Register && n == 1).then(|| {
            json_answer(
                400,
                r#"{"error":{"message":"(#133005) PIN mismatch","type":"OAuthException","code":133005,"fbtrace_id":"AbE"}}"#,
            )
        })
    });
    let fleet = fleet(&sim, wire.clone(), Arc::clone(&store));
    let report = fleet.resume().await.unwrap();
    match &report.sessions[0].outcome {
        SessionOutcome::Waiting { next, .. } => assert_eq!(next.actor, Actor::PreviousProvider),
        other => panic!("{other:?}"),
    }

    // The provider acted; our register's answer is lost and our read fails.
    sim.advance(Duration::from_secs(60));
    sim.inject_at(Operation::Register, Fault::AnswerLost, 1);
    let ours = sim
        .client_builder()
        .transport(Wire::new(&sim, |operation, _| {
            (operation == Operation::ReadPhoneNumber).then(|| {
                json_answer(
                    500,
                    r#"{"error":{"message":"(#1) An unknown error occurred","type":"OAuthException","code":1,"fbtrace_id":"AbD"}}"#,
                )
            })
        }))
        .checkpoint(StoreCheckpoint(Arc::clone(&store)))
        .build()
        .unwrap();
    let mut stored = store.load(&key).await.unwrap().unwrap();
    assert!(ours.register(&mut stored, &pin(), None).await.is_err());
    let stored = store.load(&key).await.unwrap().unwrap();
    assert!(
        matches!(
            stored.next_action().action,
            NextAction::Reconcile {
                step: Operation::Register
            }
        ),
        "setup: {:?}",
        stored.next_action()
    );

    sim.advance(Duration::from_secs(60));
    let report = fleet.resume().await.unwrap();
    if let SessionOutcome::Waiting { next, .. } = &report.sessions[0].outcome {
        assert_ne!(
            next.actor,
            Actor::PreviousProvider,
            "a reconcile of ours reported as waiting on the previous provider: {next:?}"
        );
    }
    assert_eq!(report.progress.registered, 1, "{report:?}");
}
