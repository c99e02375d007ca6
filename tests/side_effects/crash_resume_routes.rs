//! The crash/resume matrix of the Embedded Signup and solution migration
//! routes: for every side-effecting step × {the process dies before
//! sending, after sending with the answer lost, after the answer but before
//! the session was saved}, restore the last saved session in a fresh
//! client, resume and finish. The simulator proves no side effect was
//! repeated: a popup's code is never sent twice, the customer is texted
//! once, one `register`, one migration request reaches the customer, one
//! number object in the new WABA.
#![cfg(feature = "simulator")]

use std::sync::{Arc, Mutex};

use crate::common::crash::{dead, die_at, step_of, CrashPoint, Store, POINTS};
use crate::common::wire::pin;
use waba_porting::simulator::{Scenario, Simulator};
use waba_porting::transport::{HttpRequest, HttpResponse};
use waba_porting::{
    CodeMethod, InMemoryTokens, Language, NextAction, Operation, PortingClient, PortingSession,
    SolutionId, StateName, Transport, TransportError,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    EmbeddedSignup,
    SolutionMigration,
}

const ES_STEPS: [Operation; 4] = [
    Operation::ExchangeSignupCode,
    Operation::RequestCode,
    Operation::VerifyCode,
    Operation::Register,
];
const MPS_STEPS: [Operation; 3] = [
    Operation::SetMigrationIntent,
    Operation::StartMigration,
    Operation::Register,
];

const SOLUTION: &str = "1987654321098";

/// Every popup code sent to the exchange, by any process.
#[derive(Debug, Default)]
struct Codes(Mutex<Vec<String>>);

impl Codes {
    fn note(&self, request: &HttpRequest) {
        if step_of(request) == Some(Operation::ExchangeSignupCode) {
            let code = request
                .url
                .query_pairs()
                .find(|(key, _)| key == "code")
                .map(|(_, value)| value.into_owned())
                .unwrap_or_default();
            self.0.lock().unwrap().push(code);
        }
    }
}

/// The simulator behind a process that dies at `point` of the first request
/// of `step` (or, with `step` None, a live process), noting exchanged codes.
#[derive(Debug)]
struct Crashing {
    sim: Simulator,
    store: Arc<Store>,
    step: Option<Operation>,
    point: CrashPoint,
    codes: Arc<Codes>,
}

#[waba_porting::async_trait]
impl Transport for Crashing {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if self.store.is_frozen() {
            return Err(dead());
        }
        if self.step.is_none() || step_of(&request) != self.step {
            self.codes.note(&request);
            return self.sim.send(request).await;
        }
        if self.point != CrashPoint::BeforeSend {
            self.codes.note(&request);
        }
        die_at(self.point, &self.store, &self.sim, request).await
    }
}

/// Follows `next_action` until the port is finished or the process died,
/// playing the customer: the popup (again, when its code was spent), the
/// code from the inbox, the acceptance of the intent.
async fn drive(
    sim: &Simulator,
    client: &PortingClient,
    session: &mut PortingSession,
    stop: impl Fn() -> bool,
) {
    for _ in 0..30 {
        if stop() || session.is_finished() {
            return;
        }
        let result = match session.next_action().action {
            NextAction::Reconcile { .. } => client.reconcile(session).await,
            NextAction::FinishSignup => {
                let signup = sim.finish_signup(session.phone_number()).unwrap();
                client.exchange_signup_code(session, &signup).await
            }
            NextAction::SubscribeApp => client.subscribe_app_for(session).await,
            NextAction::SetMigrationIntent => client.set_migration_intent(session).await,
            NextAction::AcceptMigrationIntent => {
                if let Some(intent) = session.state().migration_intent_id() {
                    sim.accept_migration_intent(intent);
                }
                client.refresh_migration_intent(session).await
            }
            NextAction::StartMigration => client.start_migration(session).await,
            NextAction::RequestCode | NextAction::RequestNewCode => {
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
            other => panic!("unexpected next action {other:?} in {:?}", session.state()),
        };
        if let Err(err) = &result {
            if stop() {
                return;
            }
            // A spent code sends the customer back to the popup: the loop
            // plays it; anything else is a failure of the test.
            if session.state().name() != StateName::AwaitingSignup {
                panic!("step failed: {err} in {:?}", session.state());
            }
        }
    }
    panic!("the port did not finish: {:?}", session.state());
}

struct Report {
    codes: Vec<String>,
    request_codes: u32,
    verifies: u32,
    registers: u32,
    intents: usize,
    numbers_in_destination: usize,
}

async fn crash_and_resume(route: Route, step: Operation, point: CrashPoint) -> Report {
    let scenario = match route {
        Route::EmbeddedSignup => Scenario::embedded_signup().signup_verifies_number(false),
        Route::SolutionMigration => Scenario::solution_migration(),
    };
    let sim = scenario.build();
    // The token vault outlives the process, like the store.
    let tokens = Arc::new(InMemoryTokens::new());
    let codes = Arc::new(Codes::default());
    let store = Arc::new(Store::default());
    let builder = |store: &Arc<Store>, step: Option<Operation>| {
        let mut builder = sim
            .client_builder()
            .transport(Crashing {
                sim: sim.clone(),
                store: store.clone(),
                step,
                point,
                codes: codes.clone(),
            })
            .checkpoint(store.clone());
        if route == Route::EmbeddedSignup {
            builder = builder.token_provider(Arc::clone(&tokens));
        }
        builder.build().unwrap()
    };
    let fresh = || match route {
        Route::EmbeddedSignup => sim.signup_session(),
        Route::SolutionMigration => sim.solution_session(SolutionId::new(SOLUTION).unwrap()),
    };
    let dying = builder(&store, Some(step));
    let mut session = fresh();
    drive(&sim, &dying, &mut session, || store.is_frozen()).await;
    let at = format!("{route:?} {step} {point:?}");
    assert!(store.is_frozen(), "{at}: the crash happened");
    drop(session);

    let restarted = Arc::new(Store::default());
    let client = builder(&restarted, None);
    let mut session = store.last_saved().unwrap_or_else(fresh);
    if point == CrashPoint::BeforeSend && step.has_side_effect() {
        assert_eq!(
            session.in_flight().map(|f| f.operation),
            Some(step),
            "{at}: the marker was saved before sending"
        );
    }
    drive(&sim, &client, &mut session, || false).await;
    assert_eq!(session.state().name(), StateName::Registered, "{at}");
    assert!(session.in_flight().is_none(), "{at}");
    let saved = serde_json::to_string(&restarted.last_saved().expect("saved")).unwrap();
    assert!(
        !saved.contains("access_token"),
        "{at}: no token in the session"
    );
    let numbers_in_destination = match session.destination_waba_id() {
        Some(waba) => client.list_phone_numbers(waba).await.unwrap().len(),
        None => 0,
    };
    let codes = codes.0.lock().unwrap().clone();
    Report {
        codes,
        request_codes: sim.operation_calls(Operation::RequestCode),
        verifies: sim.operation_calls(Operation::VerifyCode),
        registers: sim.operation_calls(Operation::Register),
        intents: sim.migration_intents(session.waba_id()).len(),
        numbers_in_destination,
    }
}

#[tokio::test]
async fn every_embedded_signup_step_survives_a_crash_at_every_point_without_repeating_a_side_effect(
) {
    let mut lines = Vec::new();
    for step in ES_STEPS {
        for point in POINTS {
            let report = crash_and_resume(Route::EmbeddedSignup, step, point).await;
            let at = format!("{step} {point:?}");
            let mut unique = report.codes.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(
                unique.len(),
                report.codes.len(),
                "{at}: a popup code was sent twice: {:?}",
                report.codes
            );
            assert!(
                (1..=2).contains(&report.codes.len()),
                "{at}: {} popups",
                report.codes.len()
            );
            assert_eq!(report.request_codes, 1, "{at}: the customer is texted once");
            assert_eq!(report.verifies, 1, "{at}: one verify_code");
            assert_eq!(report.registers, 1, "{at}: one register of 10 per 72 h");
            lines.push(format!(
                "{at}: popups {}, request_code {}, verify_code {}, register {}",
                report.codes.len(),
                report.request_codes,
                report.verifies,
                report.registers
            ));
        }
    }
    assert_eq!(lines.len(), 12);
    println!("{}", lines.join("\n"));
}

#[tokio::test]
async fn every_solution_migration_step_survives_a_crash_at_every_point_without_repeating_a_side_effect(
) {
    let mut lines = Vec::new();
    for step in MPS_STEPS {
        for point in POINTS {
            let report = crash_and_resume(Route::SolutionMigration, step, point).await;
            let at = format!("{step} {point:?}");
            assert_eq!(report.intents, 1, "{at}: one request reaches the customer");
            assert_eq!(
                report.numbers_in_destination, 1,
                "{at}: one number object in the new WABA"
            );
            assert_eq!(report.request_codes, 0, "{at}: no code");
            assert_eq!(report.verifies, 0, "{at}: no code");
            assert_eq!(report.registers, 1, "{at}: one register of 10 per 72 h");
            assert!(report.codes.is_empty());
            lines.push(format!(
                "{at}: intents {}, numbers in the new WABA {}, register {}",
                report.intents, report.numbers_in_destination, report.registers
            ));
        }
    }
    assert_eq!(lines.len(), 9);
    println!("{}", lines.join("\n"));
}
