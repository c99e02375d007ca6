//! The crash/resume matrix: for every step × {the process dies before
//! sending, after sending with the answer lost, after the answer but before
//! the session was saved}, restore the last saved session in a fresh client,
//! resume and finish. The simulator's served requests prove that no side
//! effect the reliability table forbids was repeated.
#![cfg(feature = "simulator")]

use std::sync::Arc;

use crate::common::crash::{dead, die_at, step_of, CrashPoint, Store, POINTS};
use crate::common::wire::pin;
use waba_porting::simulator::{Scenario, Simulator};
use waba_porting::transport::{HttpRequest, HttpResponse};
use waba_porting::{
    CodeMethod, Language, NextAction, Operation, PortingClient, PortingSession, StateName,
    Transport, TransportError,
};

const STEPS: [Operation; 4] = [
    Operation::StartMigration,
    Operation::RequestCode,
    Operation::VerifyCode,
    Operation::Register,
];

/// The simulator behind a process that dies at `point` of the first request
/// of `step`; after that, nothing leaves the dead process.
#[derive(Debug)]
struct Crashing {
    sim: Simulator,
    store: Arc<Store>,
    step: Operation,
    point: CrashPoint,
}

#[waba_porting::async_trait]
impl Transport for Crashing {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if self.store.is_frozen() {
            return Err(dead());
        }
        if step_of(&request) != Some(self.step) {
            return self.sim.send(request).await;
        }
        die_at(self.point, &self.store, &self.sim, request).await
    }
}

/// Follows `next_action` until the port is finished, `stop()` says the
/// process died, or a step fails. Codes come from the simulated inbox; a
/// code whose request may never have been sent (none in the inbox) is
/// requested again — the explicit decision the reliability table asks for.
async fn drive(
    sim: &Simulator,
    client: &PortingClient,
    session: &mut PortingSession,
    stop: impl Fn() -> bool,
) {
    for _ in 0..20 {
        if stop() || session.is_finished() {
            return;
        }
        let result = match session.next_action().action {
            NextAction::Reconcile { .. } => client.reconcile(session).await,
            NextAction::StartMigration => client.start_migration(session).await,
            NextAction::RequestCode => {
                client
                    .request_code(session, CodeMethod::Sms, &Language::default())
                    .await
            }
            NextAction::VerifyCode => match sim.latest_code(session.phone_number()) {
                Some(code) => client.verify_code(session, &code).await,
                None => {
                    client
                        .request_code(session, CodeMethod::Sms, &Language::default())
                        .await
                }
            },
            NextAction::Register => client.register(session, &pin(), None).await,
            other => panic!("unexpected next action {other:?}"),
        };
        if result.is_err() && !stop() {
            panic!("step failed: {result:?} in {:?}", session.state());
        }
    }
    panic!("the port did not finish: {:?}", session.state());
}

fn count(sim: &Simulator, operation: Operation) -> usize {
    sim.served()
        .iter()
        .filter(|r| r.operation == Some(operation))
        .count()
}

/// One crash point: run until the crash, restore, finish; return the served
/// counts per step.
async fn crash_and_resume(step: Operation, point: CrashPoint) -> [usize; 5] {
    let sim = Scenario::happy_path().build();
    let store = Arc::new(Store::default());
    let dying = sim
        .client_builder()
        .transport(Crashing {
            sim: sim.clone(),
            store: store.clone(),
            step,
            point,
        })
        .checkpoint(store.clone())
        .build()
        .unwrap();
    let mut session = sim.session();
    drive(&sim, &dying, &mut session, || store.is_frozen()).await;
    assert!(store.is_frozen(), "{step} {point:?}: the crash happened");
    drop(session); // the process is gone with its memory

    let restarted = Arc::new(Store::default());
    let client = sim
        .client_builder()
        .checkpoint(restarted.clone())
        .build()
        .unwrap();
    let mut session = store.last_saved().unwrap_or_else(|| sim.session());
    if point == CrashPoint::BeforeSend && step != Operation::StartMigration {
        assert_eq!(
            session.in_flight().map(|f| f.operation),
            Some(step),
            "the marker was saved before sending"
        );
    }
    if step == Operation::RequestCode {
        // After the reconcile, the session says the code may not have been
        // sent (it cannot know).
        client.reconcile(&mut session).await.unwrap();
        assert!(session.code_request_unconfirmed(), "{point:?}");
    }
    drive(&sim, &client, &mut session, || false).await;
    assert_eq!(
        session.state().name(),
        StateName::Registered,
        "{step} {point:?}"
    );
    assert!(session.in_flight().is_none());
    let reloaded = restarted.last_saved().expect("saved after every outcome");
    assert_eq!(reloaded.state(), session.state(), "the store has the end");
    assert_eq!(
        client
            .list_phone_numbers(session.waba_id())
            .await
            .unwrap()
            .len(),
        1,
        "one number object"
    );
    [
        count(&sim, Operation::StartMigration),
        count(&sim, Operation::RequestCode),
        count(&sim, Operation::VerifyCode),
        count(&sim, Operation::Register),
        count(&sim, Operation::ReadPhoneNumber),
    ]
}

#[tokio::test]
async fn every_step_survives_a_crash_at_every_point_without_repeating_a_side_effect() {
    let mut report = Vec::new();
    for step in STEPS {
        for point in POINTS {
            let [starts, codes, verifies, registers, reads] = crash_and_resume(step, point).await;
            let at = format!("{step} {point:?}");
            // start_migration may be repeated (2388012 resolves it).
            assert!((1..=2).contains(&starts), "{at}: {starts} starts");
            assert_eq!(codes, 1, "{at}: the customer is texted once");
            assert_eq!(verifies, 1, "{at}: one verify_code");
            assert_eq!(registers, 1, "{at}: one register of 10 per 72 h");
            // Exactly one read where a marker was saved, none otherwise.
            let marked = step != Operation::StartMigration;
            assert_eq!(reads, usize::from(marked), "{at}: {reads} reads");
            report.push(format!(
                "{at}: start {starts}, request_code {codes}, verify_code {verifies}, register {registers}, reads {reads}"
            ));
        }
    }
    assert_eq!(report.len(), 12, "4 steps × 3 crash points");
    println!("{}", report.join("\n"));
}

/// Without a checkpoint the marker still protects an in-process retry: a
/// register whose answer was lost is reconciled by the client's own retry.
#[tokio::test]
async fn in_process_retry_after_a_lost_register_answer_reconciles() {
    use waba_porting::simulator::Fault;
    let sim = Scenario::happy_path().build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let code = sim.latest_code(session.phone_number()).unwrap();
    client.verify_code(&mut session, &code).await.unwrap();
    sim.inject_at(Operation::Register, Fault::AnswerLost, 1);
    let state = client.register(&mut session, &pin(), None).await.unwrap();
    assert_eq!(state, StateName::Registered);
    assert_eq!(count(&sim, Operation::Register), 1);
    assert_eq!(count(&sim, Operation::ReadPhoneNumber), 1);
    assert!(matches!(
        session.history().last().map(|t| &t.outcome),
        Some(waba_porting::StepOutcome::Reconciled { .. })
    ));
}
