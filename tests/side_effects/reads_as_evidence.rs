//! A read of the number (the reconcile's, `refresh`'s, the one before a
//! retry) moves a session only as far as its evidence goes: a read without
//! the status fields proves nothing, a read showing the code verified or
//! expired is acted on, and every session a read leaves still loads.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use std::time::Duration;

use crate::common::hooked::*;
use crate::common::wire::pin;
use crate::common::*;
use serde_json::json;
use waba_porting::simulator::{Fault, Scenario, DEFAULT_CODE_TTL};
use waba_porting::{
    ApiErrorKind, Error, NextAction, Observed, Operation, Pin, PortingClient, PortingSession,
    RetryPolicy, StateName, StepOutcome, Timestamp,
};
use wiremock::{MockServer, ResponseTemplate};

/// The register answer was lost after Meta registered the number. The
/// reconciling read answers without `status`: absence of evidence is read as
/// "not connected" and register is sent a second time (another of the 10
/// calls per 72 h; with another PIN it would meet 133005). The outcome is
/// still unknown: the client must not re-send.
#[tokio::test]
async fn reconcile_read_without_status_is_taken_as_not_registered_and_register_is_resent() {
    let sim = Scenario::happy_path().build();
    let wire = Hooked::new(&sim, |op, _| match op {
        Operation::ReadPhoneNumber => Action::Rewrite(strip_status_fields),
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire.clone());
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;

    sim.inject_at(Operation::Register, Fault::AnswerLost, 1);
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    let _ = client.register(&mut session, &pin(), None).await;
    assert_eq!(
        wire.sent(Operation::Register),
        1,
        "register re-sent although the read did not say the number is not connected"
    );
}

/// The same with verify_code: the answer was lost after Meta accepted the
/// code; the read has no `code_verification_status`; the code is sent again
/// and meets `VerificationCodeRejected` (it was used up) while Meta says
/// VERIFIED — issue 6's defect 3, back through the reconcile.
#[tokio::test]
async fn reconcile_read_without_code_verification_status_resends_a_used_code() {
    let sim = Scenario::happy_path().build();
    let wire = Hooked::new(&sim, |op, _| match op {
        Operation::ReadPhoneNumber => Action::Rewrite(strip_status_fields),
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire.clone());
    let mut session = sim.session();
    to_code_requested(&client, &mut session).await;
    let code = sim.latest_code(session.phone_number()).unwrap();

    sim.inject_at(Operation::VerifyCode, Fault::AnswerLost, 1);
    client.verify_code(&mut session, &code).await.unwrap_err();
    let again = client.verify_code(&mut session, &code).await;
    assert_ne!(
        again.as_ref().err().and_then(Error::api_kind),
        Some(ApiErrorKind::VerificationCodeRejected),
        "a used code was re-sent and rejected"
    );
    assert_eq!(wire.sent(Operation::VerifyCode), 1, "verify_code re-sent");
}

fn at(ms: u64) -> Timestamp {
    Timestamp::from_unix_millis(ms)
}

fn read(registered: bool, verified: bool, expired: bool) -> StepOutcome {
    StepOutcome::NumberRead {
        observed: Observed::new(registered, verified).with_code_expired(expired),
    }
}

/// A session at `CodeRequested`, driven by hand (no I/O).
fn code_requested() -> PortingSession {
    let mut s = session();
    s.apply(
        StepOutcome::MigrationStarted {
            phone_number_id: waba_porting::PhoneNumberId::new(NUMBER_ID).unwrap(),
        },
        at(1),
    )
    .unwrap();
    s.apply(
        StepOutcome::CodeRequested {
            method: waba_porting::CodeMethod::Sms,
            language: waba_porting::Language::default(),
            unconfirmed: false,
            sent_at: None,
        },
        at(2),
    )
    .unwrap();
    s
}

/// DEFECT 1. A read makes a session the crate itself refuses to load.
///
/// `verify_code` refused with the two-step text (classified on text,
/// whatever the step) leaves `AwaitingTwoStepDisable { resume:
/// CodeRequested, step: VerifyCode }`. A `refresh` that then reads
/// `code_verification_status: VERIFIED` moves the resume state to
/// `CodeVerified` but keeps the wait with `step: VerifyCode` — a state
/// `CodeVerified` does not allow, which `PortingState::validate` rejects
/// (`InvalidSession::ImpossibleStep`). The checkpoint saves it, and the next
/// process cannot load the session at all. (The same state machine ends the
/// wait when the read settles the verify itself, `Reconciled { VerifyCode }`.)
///
/// Expected: every session `apply` produces round-trips through serde.
#[test]
fn a_read_past_the_refused_verify_makes_an_unloadable_session() {
    let mut s = code_requested();
    s.apply(
        StepOutcome::failed(Operation::VerifyCode, ApiErrorKind::TwoStepEnabled),
        at(3),
    )
    .unwrap();
    assert_eq!(s.state().name(), StateName::AwaitingTwoStepDisable);
    // Round-trips before the read.
    let json = serde_json::to_string(&s).unwrap();
    serde_json::from_str::<PortingSession>(&json).unwrap();

    s.apply(read(false, true, false), at(4)).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    let back = serde_json::from_str::<PortingSession>(&json);
    assert!(
        back.is_ok(),
        "the session refresh produced does not load: {:?}\n{json}",
        back.err()
    );
}

/// DEFECT 1, through the client: the same with `OnBehalfNotAccepted`
/// answered to `verify_code` and a `refresh` whose read shows the number
/// verified; the client's checkpoint stores JSON that no longer loads.
#[tokio::test]
async fn refresh_saves_a_session_that_does_not_load() {
    let server = MockServer::start().await;
    mount_happy_path(&server).await;
    let client = client(&server);
    let mut session = session();
    to_code_requested(&client, &mut session).await;
    server.reset().await;
    let title = "Messaging For account must be approved";
    answer(
        &server,
        "POST",
        &number_path("verify_code"),
        error_response(400, graph_error(2388103, None, title)),
        1,
    )
    .await;
    let code = waba_porting::VerificationCode::new("123456").unwrap();
    let err = client.verify_code(&mut session, &code).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::OnBehalfNotAccepted));
    assert_eq!(session.state().name(), StateName::AwaitingOnBehalfApproval);

    let record = json!({
        "id": NUMBER_ID, "status": "PENDING", "code_verification_status": "VERIFIED"
    });
    answer(
        &server,
        "GET",
        &format!("/{VERSION}/{NUMBER_ID}"),
        ResponseTemplate::new(200).set_body_json(record),
        1,
    )
    .await;
    client.refresh(&mut session).await.unwrap();
    let json = serde_json::to_string(&session).unwrap();
    let back = serde_json::from_str::<PortingSession>(&json);
    assert!(
        back.is_ok(),
        "refresh left a session that does not load: {:?}\n{json}",
        back.err()
    );
}

/// DEFECT 3. The read that settles a lost `request_code` shows the code
/// EXPIRED, yet the session says "ask the customer for the code"
/// (`VerifyCode`, actor Customer), `code_expired()` is false and
/// `last_read()` is `None` — although `last_read` is documented as "what
/// the last read of the number showed (refresh, or the read that settled a
/// step in flight)". The latest code Meta knows is expired: whatever the
/// customer has will be refused. `reconcile` is what the docs say to call
/// on a reloaded session "before asking anybody to act".
///
/// Expected: after that read, `next_action` is `RequestNewCode`.
#[tokio::test]
async fn reconciling_a_lost_code_request_ignores_that_the_code_expired() {
    let sim = Scenario::happy_path().build();
    let client = sim
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    let (method, language) = sms();
    sim.inject_at(Operation::RequestCode, Fault::AnswerLost, 1);
    client
        .request_code(&mut session, method, &language)
        .await
        .unwrap_err();
    assert!(session.in_flight().is_some());
    // The process comes back after the code's lifetime.
    sim.advance(DEFAULT_CODE_TTL + Duration::from_secs(1));
    client.reconcile(&mut session).await.unwrap();
    let record = client
        .read_phone_number(session.state().phone_number_id().unwrap())
        .await
        .unwrap();
    assert_eq!(
        record.code_verification_status,
        Some(waba_porting::CodeVerificationStatus::Expired),
        "the number reads EXPIRED"
    );
    assert_eq!(
        session.next_action().action,
        NextAction::RequestNewCode,
        "last_read: {:?}, code_expired: {}",
        session.last_read(),
        session.code_expired()
    );
}

/// DEFECT 4. A read that proves the refused step happened still leads to
/// it. `request_code` refused (two-step text) leaves
/// `AwaitingTwoStepDisable { resume: Initiated, step: RequestCode }`; a
/// `refresh` then reads the number `VERIFIED` — a code was requested *and*
/// verified. The wait is kept with `step: RequestCode`, and since
/// `CodeVerified` allows `request_code`, `next_action` says: once the
/// person acted, call `request_code` — texting the customer a code nobody
/// needs and throwing away the verification (a new code must be verified
/// again before register). The commit says reads "never clear a wait ... the
/// number did not pass"; this number passed it.
///
/// Expected: the step after the wait is `register`, not `request_code`.
#[test]
fn a_read_showing_the_number_verified_still_leads_to_a_new_code_request() {
    let mut s = session();
    s.apply(
        StepOutcome::MigrationStarted {
            phone_number_id: waba_porting::PhoneNumberId::new(NUMBER_ID).unwrap(),
        },
        at(1),
    )
    .unwrap();
    s.apply(
        StepOutcome::failed(Operation::RequestCode, ApiErrorKind::TwoStepEnabled),
        at(2),
    )
    .unwrap();
    s.apply(read(false, true, false), at(3)).unwrap();
    let next = s.next_action();
    assert_eq!(
        next.action.step(),
        Some(Operation::Register),
        "the number reads VERIFIED, yet the session says {:?} (state {:?})",
        next.action,
        s.state()
    );
}

/// DEFECT 5. No evidence is taken as evidence. A read of a registered
/// number that carries no `status` at all (the field left out: not
/// granted, a proxy that drops `fields`, an answer `{"id": …}`) turns
/// `Done` into `AwaitConnected` — "it cannot send messages until it is" —
/// on nothing. The client's own reconciling read refuses such an answer
/// ("absence of evidence is not evidence": `read_number_for` insists on
/// `status` for register), and `AwaitConnected` is documented as "the last
/// read showed it not CONNECTED yet".
///
/// Expected: a read without `status` does not claim the number is not
/// connected (the session stays `Done`, or refresh reports the answer
/// undecodable).
#[tokio::test]
async fn a_read_without_status_says_a_registered_number_is_not_connected() {
    let server = MockServer::start().await;
    mount_happy_path(&server).await;
    let client = client(&server);
    let mut session = session();
    to_code_requested(&client, &mut session).await;
    let code = waba_porting::VerificationCode::new("123456").unwrap();
    client.verify_code(&mut session, &code).await.unwrap();
    client
        .register(&mut session, &Pin::new("482913").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(session.next_action().action, NextAction::Done);

    answer(
        &server,
        "GET",
        &format!("/{VERSION}/{NUMBER_ID}"),
        ResponseTemplate::new(200).set_body_json(json!({"id": NUMBER_ID})),
        1,
    )
    .await;
    let outcome = client.refresh(&mut session).await;
    assert_ne!(
        session.next_action().action,
        NextAction::AwaitConnected,
        "a read with no status ({outcome:?}) made the session say the number is not connected"
    );
}

/// DEFECT 7. The client spends a `register` call that its own read just
/// showed cannot succeed. A `register` gets a 500 (outcome unknown); the
/// retry reads the number first: not `CONNECTED`, and
/// `code_verification_status: EXPIRED` — the session itself now says
/// `RequestNewCode`, documented as "a verification that lapsed no longer
/// lets register through (133006)". The retry sends `register` anyway: one
/// of Meta's 10 calls per 72 hours spent on a certain 133006.
///
/// Expected: after that read, no second `register` is sent; the session
/// asks for a new code.
#[tokio::test]
async fn a_register_retry_is_sent_after_the_read_showed_the_verification_expired() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        &start_path(),
        ResponseTemplate::new(200).set_body_json(json!({"id": NUMBER_ID})),
        1,
    )
    .await;
    for edge in ["request_code", "verify_code"] {
        answer(&server, "POST", &number_path(edge), success(), 1).await;
    }
    answer(
        &server,
        "POST",
        &number_path("register"),
        error_response(500, graph_error(131000, None, "Something went wrong")),
        1,
    )
    .await;
    answer(
        &server,
        "POST",
        &number_path("register"),
        error_response(400, graph_error(133006, None, "Phone number not verified")),
        1,
    )
    .await;
    answer(
        &server,
        "GET",
        &format!("/{VERSION}/{NUMBER_ID}"),
        ResponseTemplate::new(200).set_body_json(json!({
            "id": NUMBER_ID, "status": "PENDING", "code_verification_status": "EXPIRED"
        })),
        5,
    )
    .await;
    let client = PortingClient::builder()
        .access_token(TOKEN)
        .base_url(server.uri())
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let mut session = session();
    to_code_requested(&client, &mut session).await;
    let code = waba_porting::VerificationCode::new("123456").unwrap();
    client.verify_code(&mut session, &code).await.unwrap();
    let result = client
        .register(&mut session, &Pin::new("482913").unwrap(), None)
        .await;
    let registers = requests(&server)
        .await
        .iter()
        .filter(|r| r.url.path() == number_path("register"))
        .count();
    assert_eq!(
        registers,
        1,
        "register sent {registers} times although the read showed the verification EXPIRED \
         ({result:?}); next action {:?}",
        session.next_action().action
    );
}
