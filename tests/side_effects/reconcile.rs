//! Steps whose outcome is unknown (an answer lost, a 5xx, a transient error)
//! are settled by reading the number, never by sending them again blindly:
//! the marker a step leaves, the state the read moves the session to, what
//! the history records, the 133005 ruling after our own unknown register,
//! steps that are illegal with a marker set, and no dead end after 133006.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use std::sync::Arc;
use std::time::Duration;

use crate::common::hooked::*;
use crate::common::wire::pin;
use crate::common::*;
use serde_json::{json, Value};
use waba_porting::simulator::{Fault, Scenario};
use waba_porting::transport::HttpResponse;
use waba_porting::{
    Actor, ApiErrorKind, CodeMethod, Error, Language, NextAction, Operation, Pin, PortingSession,
    PortingState, RetryPolicy, StateName, StepOutcome, TransportErrorKind,
};

/// register answered HTTP 500 carrying 133006 ("verify first"): the session
/// moves to `Initiated` (a new code is needed) but keeps the `register`
/// in-flight marker, because any 5xx counts as "Meta may have acted". The
/// result is a session the crate itself calls impossible: the checkpoint it
/// just saved no longer loads, and in memory every step (even the
/// `request_code` the remediation asks for) fails with `IllegalTransition`
/// while reconciling a `register` that `Initiated` does not allow.
#[tokio::test]
async fn state_changing_5xx_leaves_a_marker_that_makes_the_session_unloadable_and_stuck() {
    let sim = Scenario::happy_path().build();
    let wire = Hooked::new(&sim, |op, _| match op {
        Operation::Register => Action::Replace(error_answer(
            500,
            json!({"message": "(#133006) Phone number re-verification needed", "code": 133006,
                   "fbtrace_id": "AHostile1"}),
        )),
        _ => Action::Pass,
    });
    let store = Arc::new(JsonCheckpoint::default());
    let client = client_over_saving(&sim, wire.clone(), store.clone());
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;

    let err = client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::NumberNotVerified));
    assert_eq!(session.state().name(), StateName::Initiated);

    // The session the client saved must load again, and the step the
    // remediation asks for (a new code) must work.
    let loads = serde_json::from_str::<PortingSession>(&store.json()).map(|_| ());
    let state = client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await;
    assert!(
        loads.is_ok() && matches!(state, Ok(StateName::CodeRequested)),
        "saved session loads: {loads:?}; request_code after 133006: {state:?}"
    );
}

/// The same root cause with a rejection: verify_code answered HTTP 503 with
/// 2388093 (code APIs unavailable: add the number directly) rejects the port
/// but keeps the `verify_code` marker. `next_action` then says "reconcile
/// verify_code" (actor Us) on a rejected session forever — `reconcile` does
/// nothing without a phone number id — and the saved session does not load.
#[tokio::test]
async fn state_changing_5xx_rejection_keeps_asking_to_reconcile_a_rejected_session() {
    let sim = Scenario::happy_path().build();
    let wire = Hooked::new(&sim, |op, _| match op {
        Operation::VerifyCode => Action::Replace(error_answer(
            503,
            json!({"message": "(#2388093) Code APIs unavailable", "code": 2388093}),
        )),
        _ => Action::Pass,
    });
    let store = Arc::new(JsonCheckpoint::default());
    let client = client_over_saving(&sim, wire, store.clone());
    let mut session = sim.session();
    to_code_requested(&client, &mut session).await;
    let code = sim.latest_code(session.phone_number()).unwrap();
    let err = client.verify_code(&mut session, &code).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::EligibleForDirectAdd));
    assert_eq!(session.state().name(), StateName::Rejected);

    let reconciled = client.reconcile(&mut session).await;
    let next = session.next_action().action;
    let loads = serde_json::from_str::<PortingSession>(&store.json()).map(|_| ());
    assert!(
        next == NextAction::AddAsNewNumber && loads.is_ok(),
        "a rejected session must not ask to reconcile a step (reconcile: {reconciled:?}, \
         next: {next:?}) and its checkpoint must load ({loads:?})"
    );
}

/// Meta registered the number but the answer is HTTP 200 carrying a Graph
/// error 131000 "Something went wrong" (`is_transient: true`). Any Graph
/// error below 500 counts as "Meta refused and did not act", so the retry
/// policy re-sends register blindly instead of reading the number first.
#[tokio::test]
async fn transient_graph_error_in_a_2xx_is_treated_as_refused_and_register_is_resent() {
    let sim = Scenario::happy_path().build();
    let wire = Hooked::new(&sim, |op, n| match (op, n) {
        (Operation::Register, 1) => Action::ApplyThen(error_answer(
            200,
            json!({"message": "(#131000) Something went wrong", "code": 131000,
                   "is_transient": true, "fbtrace_id": "AHostile3"}),
        )),
        _ => Action::Pass,
    });
    let client = sim
        .client_builder()
        .transport(wire.clone())
        .build()
        .unwrap();
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;

    let state = client.register(&mut session, &pin(), None).await;
    assert!(matches!(state, Ok(StateName::Registered)), "{state:?}");
    assert_eq!(
        wire.sent(Operation::Register),
        1,
        "register re-sent without reading the number first"
    );
}

/// verify_code's answer was lost after Meta accepted the code. The caller,
/// seeing an error, asks for a new code. The client reads the number first
/// (VERIFIED: the session moves to `CodeVerified`) — and then texts the
/// customer anyway, because `CodeVerified` allows `request_code`. The read
/// just showed that no code is needed; reference §6 says never to re-send
/// request_code without reason.
#[tokio::test]
async fn request_code_is_sent_although_the_reconcile_just_showed_the_code_verified() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    to_code_requested(&client, &mut session).await;
    let code = sim.latest_code(session.phone_number()).unwrap();
    sim.inject_at(Operation::VerifyCode, Fault::AnswerLost, 1);
    client.verify_code(&mut session, &code).await.unwrap_err();

    let state = client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await;
    assert_eq!(
        count(&sim, Operation::RequestCode),
        1,
        "the customer was texted again after the read showed VERIFIED"
    );
    assert!(matches!(state, Ok(StateName::CodeVerified)), "{state:?}");
}

/// A saved session whose `request_code` marker has no method/language (the
/// fields are optional in the format) loads, and the next request_code is
/// sent blindly: the reconcile cannot record "code possibly sent" without
/// them, so it concludes nothing happened. Such a marker is impossible from
/// this crate and must be refused on load (or reconciled as possibly sent).
#[tokio::test]
async fn in_flight_request_code_without_method_loads_and_texts_the_customer_again() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    sim.inject_at(Operation::RequestCode, Fault::AnswerLost, 1);
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap_err();
    let mut value: Value = serde_json::to_value(&session).unwrap();
    let flight = value["in_flight"].as_object_mut().expect("marker saved");
    assert!(flight.remove("method").is_some() && flight.remove("language").is_some());

    let Ok(mut loaded) = serde_json::from_value::<PortingSession>(value) else {
        return; // refused on load: fine
    };
    let _ = client
        .request_code(&mut loaded, CodeMethod::Sms, &Language::default())
        .await;
    assert_eq!(
        count(&sim, Operation::RequestCode),
        1,
        "the customer was texted a second time"
    );
}

/// After a lost register answer, the reconciling read is rate limited. The
/// history records `Failed { operation: register, code: 130429 }` and counts
/// a failure, although no register was sent on that call: the trail support
/// is asked to read (issue 6, defect 10) says register was throttled.
#[tokio::test]
async fn failed_reconciling_read_is_recorded_in_history_as_a_failed_step() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;
    sim.inject_at(Operation::Register, Fault::AnswerLost, 1);
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    let registers = count(&sim, Operation::Register);

    sim.inject_at(
        Operation::ReadPhoneNumber,
        Fault::RateLimit {
            code: 130429,
            retry_after: None,
        },
        1,
    );
    let err = client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert_eq!(err.operation(), Some(Operation::ReadPhoneNumber));
    assert_eq!(
        count(&sim, Operation::Register),
        registers,
        "nothing re-sent"
    );
    let last = session.history().last().map(|t| t.outcome.clone());
    assert!(
        !matches!(
            last,
            Some(waba_porting::StepOutcome::Failed {
                operation: Operation::Register,
                ..
            })
        ),
        "history blames register for the read's failure: {last:?}"
    );
}

/// Issue 6 defect 1's own scenario: 2SV blocked register for days and the
/// verification expired meanwhile. The last register got a 503 (marker
/// kept). request_code — legal here — reads the number first: it says
/// `code_verification_status: EXPIRED`, yet `Step::passed_in` looks at the
/// session's resume state (`CodeVerified`, which a read never demotes) and
/// returns `Ok` without sending: no code, and the next register meets 133006.
#[tokio::test]
async fn request_code_after_an_unknown_register_is_swallowed_although_the_read_shows_the_verification_expired(
) {
    let sim = Scenario::happy_path().build();
    let wire = Hooked::new(&sim, |op, n| match (op, n) {
        (Operation::Register, 2) => Action::Replace(unavailable()),
        (Operation::ReadPhoneNumber, _) => Action::Rewrite(expire_verification),
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire.clone());
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;
    sim.set_two_step_pin(session.phone_number(), Some("111111"));
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert_eq!(session.state().name(), StateName::AwaitingTwoStepDisable);
    sim.disable_two_step(session.phone_number());
    sim.advance(3 * 24 * HOUR);
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert_eq!(
        session.in_flight().map(|f| f.operation),
        Some(Operation::Register)
    );

    let state = client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await;
    assert_eq!(
        wire.sent(Operation::RequestCode),
        2,
        "the read showed the verification EXPIRED, but no code was requested ({state:?})"
    );
    // Nobody confirmed two-step verification off (the register's outcome
    // was unknown and not connected): the wait goes on, around the new code.
    assert!(
        matches!(state, Ok(StateName::AwaitingTwoStepDisable)),
        "{state:?}"
    );
    assert_eq!(
        session.state().resume_point().name(),
        StateName::CodeRequested
    );
}

/// The process died after sending request_code; it is resumed two days
/// later. The reconcile records `CodeRequested { at }` with the time of the
/// reconcile, not the time the request was sent (`InFlight::since`): the
/// session says a code was requested just now, when any code Meta sent is two
/// days old and long expired.
#[tokio::test]
async fn reconciled_code_request_is_dated_when_reconciled_not_when_sent() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    sim.inject_at(Operation::RequestCode, Fault::AnswerLost, 1);
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap_err();
    let sent_at = session.in_flight().unwrap().since;

    sim.advance(48 * HOUR);
    client.reconcile(&mut session).await.unwrap();
    let PortingState::CodeRequested { at, .. } = session.state() else {
        panic!("{:?}", session.state())
    };
    assert_eq!(*at, sent_at, "when the code was (maybe) requested");
}

/// A register answer was lost (a 503; marker kept). `start_migration` on the
/// `CodeVerified` session is illegal — without the marker it is refused with
/// `IllegalTransition` and sends nothing. With the marker it reads the
/// number, `Step::passed_in(Start)` is true for any state with an id, and it
/// returns `Ok(CodeVerified)`: a driver that calls the step it believes is
/// next is told it succeeded.
#[tokio::test]
async fn illegal_step_with_a_marker_set_reads_the_number_and_returns_ok() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;
    sim.inject_at(Operation::Register, Fault::ServiceUnavailable, 1);
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert!(session.in_flight().is_some());

    let state = client.start_migration(&mut session).await;
    assert!(
        matches!(state, Err(Error::IllegalTransition(_))),
        "start_migration on a code_verified session: {state:?}"
    );
}

/// A code request whose answer was lost is not re-sent blindly — but a new
/// request with another method (voice after a lost SMS) is a deliberate one
/// and goes out.
#[tokio::test]
async fn a_voice_request_after_a_lost_sms_request_is_sent() {
    let sim = Scenario::happy_path().build();
    let client = sim
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    sim.inject_at(Operation::RequestCode, Fault::AnswerLost, 1);
    let sms = client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await;
    assert!(sms.is_err());
    // The same request again: reconciled, not re-sent.
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    assert!(session.code_request_unconfirmed());
    // Another method: sent.
    client
        .request_code(&mut session, CodeMethod::Voice, &Language::default())
        .await
        .unwrap();
    let codes = sim
        .served()
        .iter()
        .filter(|r| r.operation == Some(Operation::RequestCode))
        .count();
    assert_eq!(codes, 2);
    assert_eq!(
        sim.inbox(session.phone_number()).last().map(|d| d.method),
        Some(CodeMethod::Voice)
    );
    assert!(!session.code_request_unconfirmed());
}

/// Graph marks its throttling errors `is_transient: true` (the classic body of
/// code 4 "Application request limit reached"). Round 1 made *any* error with
/// `is_transient: true` an unknown delivery, even a classified refusal. So a
/// rate-limited `request_code` — which Meta refused, texting nobody — keeps
/// its in-flight marker; the retry policy's next attempt "reconciles" it as
/// `CodeRequested { unconfirmed }` and `request_code` returns
/// `Ok(CodeRequested)` without ever sending the request. The customer waits
/// for a code that was never sent, and the session tells the operator to ask
/// the customer for it.
#[tokio::test]
async fn rate_limit_marked_is_transient_at_request_code_returns_ok_without_texting_the_customer() {
    let sim = Scenario::happy_path().build();
    let mut session = sim.session();
    plain_client(&sim)
        .start_migration(&mut session)
        .await
        .unwrap();
    let wire = Hooked::new(&sim, |op, n| match (op, n) {
        (Operation::RequestCode, 1) => Action::Replace(error_answer(
            429,
            json!({"message": "(#4) Application request limit reached", "type": "OAuthException",
                   "is_transient": true, "code": 4, "fbtrace_id": "AHostile3a"}),
        )),
        _ => Action::Pass,
    });
    let (client, _sleep) = policy_client_over(&sim, wire.clone(), RetryPolicy::default());

    let state = client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await;
    assert!(
        count(&sim, Operation::RequestCode) == 1 && !session.code_request_unconfirmed(),
        "request_code returned {state:?} after a rate limit (Meta refused, nothing was texted), \
         but no code request ever reached Meta ({} served, {} handed to the wire) and the \
         session says a code may be on its way (unconfirmed: {})",
        count(&sim, Operation::RequestCode),
        wire.sent(Operation::RequestCode),
        session.code_request_unconfirmed()
    );
}

/// Rewrites a read as a number whose register has not shown up yet (Meta's
/// status lags the register it just applied).
fn lagging_status(response: HttpResponse) -> HttpResponse {
    let Ok(mut value) = serde_json::from_slice::<Value>(&response.body) else {
        return response;
    };
    if let Some(map) = value.as_object_mut() {
        map.insert("status".into(), "PENDING".into());
        // A lagging read says "not registered" in both fields (a
        // `platform_type` of CLOUD_API would say the register went through).
        if map.contains_key("platform_type") {
            map.insert("platform_type".into(), "NOT_APPLICABLE".into());
        }
    }
    HttpResponse::new(
        response.status,
        response.headers,
        value.to_string().into_bytes(),
    )
}

/// Our register went through (it set our PIN) but its answer was lost; the
/// reconciling read still says PENDING. A register with another PIN then
/// meets 133005. Returns how that 133005 is classified, calling
/// `client.reconcile()` first (as the README's resume example and
/// `NextAction::Reconcile` say) or not.
async fn pin_mismatch_after_a_lost_register(
    explicit_reconcile: bool,
) -> (Option<ApiErrorKind>, StateName) {
    let sim = Scenario::happy_path().build();
    let mut session = sim.session();
    to_code_verified(&sim, &plain_client(&sim), &mut session).await;
    let wire = Hooked::new(&sim, |op, n| match (op, n) {
        (Operation::Register, 1) => Action::ApplyThenFail(TransportErrorKind::Other),
        (Operation::ReadPhoneNumber, 1) => Action::Rewrite(lagging_status),
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire);
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert_eq!(
        session.in_flight().map(|f| f.operation),
        Some(Operation::Register)
    );
    if explicit_reconcile {
        assert_eq!(
            client.reconcile(&mut session).await.unwrap(),
            StateName::CodeVerified
        );
    }
    let other = Pin::new("777777").unwrap();
    let err = client
        .register(&mut session, &other, None)
        .await
        .unwrap_err();
    assert_eq!(err.api().and_then(|e| e.code()), Some(133005));
    (err.api_kind(), session.state().name())
}

/// The ruling (issue 6 defect 2): 133005 at register after a register of
/// ours whose outcome was unknown is `PinIncorrect`, never `TwoStepEnabled`
/// (which blames the previous provider). The fix keys it on the transient
/// in-flight marker, which `reconcile()` clears: a driver that follows the
/// README (`client.reconcile(&mut session)` on resume, or
/// `NextAction::Reconcile`) gets `TwoStepEnabled` and a session waiting for
/// the previous provider to disable a PIN that is our own — the very defect
/// 2, back. Without the explicit reconcile the same facts give
/// `PinIncorrect`.
#[tokio::test]
async fn explicit_reconcile_before_register_loses_the_pin_incorrect_ruling() {
    let implicit = pin_mismatch_after_a_lost_register(false).await;
    let explicit = pin_mismatch_after_a_lost_register(true).await;
    assert_eq!(
        implicit.0,
        Some(ApiErrorKind::PinIncorrect),
        "control: the step's own reconcile"
    );
    assert_eq!(
        explicit, implicit,
        "the same facts after client.reconcile(): 133005 classified {:?}, session {:?}",
        explicit.0, explicit.1
    );
}

/// `IllegalTransition`: "nothing was sent". With a marker set, an illegal
/// step used to read the number first (and move and save the session), then
/// return `IllegalTransition`. Now a step no reconcile could make legal is
/// refused before any read.
#[tokio::test]
async fn illegal_transition_with_a_marker_set_sends_nothing() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let code = sim.latest_code(session.phone_number()).unwrap();
    client.verify_code(&mut session, &code).await.unwrap();
    sim.inject_at(
        Operation::Register,
        waba_porting::simulator::Fault::AnswerLost,
        1,
    );
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    let before = sim.served().len();

    let result = client.verify_code(&mut session, &code).await;
    assert!(
        matches!(result, Err(Error::IllegalTransition(_))),
        "{result:?}"
    );
    assert_eq!(
        sim.served().len(),
        before,
        "IllegalTransition is documented as \"nothing was sent\"; a read was sent and the \
         session moved to {:?}",
        session.state().name()
    );
}

/// `Transition::at`: "When the outcome was recorded"; `history()`: "oldest
/// first". Round 2 dated the reconciled code request at the time the request
/// was sent — in the state (right) and in the history entry too: a
/// request_code answered by a 503 after 30 s records `Failed` at t+30 s, then
/// the reconcile appends `CodeRequested` at t. The history support is asked
/// to read goes backwards in time, and the entry's `at` is not when it was
/// recorded.
#[tokio::test]
async fn reconciled_code_request_is_recorded_in_history_before_the_failure_it_follows() {
    let sim = Scenario::happy_path().build();
    let mut session = sim.session();
    plain_client(&sim)
        .start_migration(&mut session)
        .await
        .unwrap();
    let wire = Hooked::new(&sim, |op, n| match (op, n) {
        (Operation::RequestCode, 1) => {
            Action::ApplyLateThen(Duration::from_secs(30), unavailable())
        }
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire);
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap_err();
    sim.advance(HOUR);
    let recorded = sim.now();
    client.reconcile(&mut session).await.unwrap();
    assert!(session.code_request_unconfirmed());

    let times: Vec<u64> = session
        .history()
        .iter()
        .map(|t| t.at.as_unix_millis())
        .collect();
    let last = session.history().last().unwrap();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]) && last.at == recorded,
        "history times {times:?} (oldest first?); the reconcile was recorded at {} but its \
         entry says {}",
        recorded.as_unix_millis(),
        last.at.as_unix_millis()
    );
}

/// 133006 at register used to leave the session in `CodeVerified`, which only
/// allowed `register`: a dead end. Now the session goes back to where a new
/// code can be requested, and the port finishes.
#[tokio::test]
async fn no_dead_end_after_133006_at_register() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    request_code(&client, &mut session).await;
    // The session believes the code was verified; Meta does not (the code
    // was never sent to verify_code, as after an expiry during a long wait).
    session.apply(StepOutcome::CodeVerified, sim.now()).unwrap();
    assert_eq!(session.state().name(), StateName::CodeVerified);
    assert!(
        session.check(Operation::RequestCode).is_ok(),
        "CodeVerified allows request_code"
    );
    assert_eq!(
        session.state().allowed_steps(),
        vec![Operation::RequestCode, Operation::Register]
    );

    let err = client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::NumberNotVerified));
    assert_eq!(err.api().map(|e| e.code()), Some(Some(133006)));
    assert!(session.check(Operation::RequestCode).is_ok());
    assert_eq!(session.next_action().action, NextAction::RequestCode);
    assert_eq!(session.next_action().actor, Actor::Us);
    assert!(
        session.in_flight().is_none(),
        "a refused register is settled"
    );

    // The remediation's path works: new code, verify, register.
    request_and_verify(&sim, &client, &mut session).await;
    let state = client.register(&mut session, &pin(), None).await.unwrap();
    assert_eq!(state, StateName::Registered);
    assert_eq!(
        served(&sim),
        vec![
            (Some(Operation::StartMigration), Some(200)),
            (Some(Operation::RequestCode), Some(200)),
            (Some(Operation::Register), Some(400)),
            (Some(Operation::RequestCode), Some(200)),
            (Some(Operation::VerifyCode), Some(200)),
            (Some(Operation::Register), Some(200)),
        ]
    );
}

/// A register that succeeded on the server but whose answer was lost, retried
/// with another PIN, used to meet 133005, be classified `TwoStepEnabled` and
/// blame the previous provider. Now the retry reads the number first.
#[tokio::test]
async fn lost_register_retried_with_another_pin_reconciles_and_blames_nobody() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    request_and_verify(&sim, &client, &mut session).await;

    sim.inject_at(Operation::Register, Fault::AnswerLost, 1);
    let err = client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transport(e) if e.kind() == TransportErrorKind::Other),
        "{err:?}"
    );
    assert_eq!(
        session.in_flight().map(|f| f.operation),
        Some(Operation::Register)
    );
    assert_ne!(err.who_must_act(), Actor::PreviousProvider);

    // Retried with a different PIN: reconciled, not re-sent.
    let other_pin = Pin::new("135790").unwrap();
    let state = client
        .register(&mut session, &other_pin, None)
        .await
        .unwrap();
    assert_eq!(state, StateName::Registered);
    assert_eq!(session.state().name(), StateName::Registered);
    assert!(session.in_flight().is_none());
    let tail: Vec<_> = served(&sim).into_iter().skip(3).collect();
    assert_eq!(
        tail,
        vec![
            (Some(Operation::Register), None),
            (Some(Operation::ReadPhoneNumber), Some(200)),
        ],
        "one register, then a read; no second register"
    );
    assert_eq!(count(&sim, Operation::Register), 1);
    assert!(
        failures(&session).is_empty(),
        "no TwoStepEnabled (or any failure) recorded: {:?}",
        failures(&session)
    );
    assert!(matches!(
        session.history().last().map(|t| &t.outcome),
        Some(StepOutcome::Reconciled {
            operation: Operation::Register,
            ..
        })
    ));
    assert_eq!(session.next_action().action, NextAction::Done);
    assert_eq!(session.next_action().actor, Actor::Nobody);
    assert_eq!(session.counters().register_requests, 1);
    assert_eq!(session.counters().reconciles, 1);
}

/// 133005 after our own register whose outcome was unknown is a PIN mismatch
/// on our side, not the previous provider's two-step verification.
#[tokio::test]
async fn error_133005_after_our_unknown_register_is_pin_incorrect() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    request_and_verify(&sim, &client, &mut session).await;

    // A proxy 502: Meta did not act, but the client cannot know that.
    sim.inject_at(Operation::Register, Fault::BadGateway, 1);
    let err = client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedResponse(e) if e.status() == 502),
        "{err:?}"
    );
    assert_eq!(
        session.in_flight().map(|f| f.operation),
        Some(Operation::Register),
        "the outcome is unknown: the marker is kept"
    );

    sim.set_two_step_pin(session.phone_number(), Some("111111"));
    let err = client
        .register(&mut session, &Pin::new("222222").unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::PinIncorrect));
    assert_eq!(err.api().and_then(|e| e.code()), Some(133005));
    assert_eq!(err.who_must_act(), Actor::Us);
    assert_ne!(session.state().name(), StateName::AwaitingTwoStepDisable);
    assert_eq!(session.state().name(), StateName::CodeVerified);
    assert_eq!(
        failures(&session),
        vec![(Operation::Register, ApiErrorKind::PinIncorrect)]
    );
    let tail: Vec<_> = served(&sim).into_iter().skip(3).collect();
    assert_eq!(
        tail,
        vec![
            (Some(Operation::Register), Some(502)),
            (Some(Operation::ReadPhoneNumber), Some(200)),
            (Some(Operation::Register), Some(400)),
        ],
        "the read showed the number not connected, so register was sent"
    );
}

/// A verify_code that timed out but was accepted used to be re-sent and meet
/// `VerificationCodeRejected` (the code was used up). Now it is reconciled.
#[tokio::test]
async fn verify_after_timeout_reconciles_to_code_verified() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    request_code(&client, &mut session).await;
    let code = sim.latest_code(session.phone_number()).unwrap();

    sim.inject_at(
        Operation::VerifyCode,
        Fault::Latency(Duration::from_secs(6)),
        1,
    );
    let err = client.verify_code(&mut session, &code).await.unwrap_err();
    assert!(
        matches!(&err, Error::Transport(e) if e.kind() == TransportErrorKind::Timeout),
        "{err:?}"
    );
    assert_eq!(session.state().name(), StateName::CodeRequested);
    assert_eq!(
        session.in_flight().map(|f| f.operation),
        Some(Operation::VerifyCode)
    );

    let state = client.verify_code(&mut session, &code).await.unwrap();
    assert_eq!(state, StateName::CodeVerified);
    assert_eq!(
        count(&sim, Operation::VerifyCode),
        1,
        "exactly one verify_code"
    );
    assert_eq!(count(&sim, Operation::ReadPhoneNumber), 1);
    assert!(
        !failures(&session)
            .iter()
            .any(|(_, kind)| *kind == ApiErrorKind::VerificationCodeRejected),
        "{:?}",
        failures(&session)
    );
    // And the port finishes.
    client.register(&mut session, &pin(), None).await.unwrap();
    assert_eq!(session.state().name(), StateName::Registered);
}
