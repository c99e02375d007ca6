//! The error bodies Meta's OpenAPI description of the business messaging API
//! gives as examples (v23.0, trimmed copy in `tests/fixtures/openapi/`),
//! each from the wire to what the crate makes of it, through the public API:
//! the kind, who acts, and what the client does when the answer means the
//! number may already be ours (it reads the number and continues from where
//! it stands).
//!
//! The wiremock tests answer with the bodies read from the description
//! itself; the simulator tests inject the same bodies
//! ([`Fault::Described`]), which the first test proves equal to the
//! description's.

use crate::common;

use common::{client, error_response, number_path, session, start_path, success, NUMBER_ID};
use serde_json::{json, Value};
use waba_porting::simulator::reference::{self, DescribedError};
use waba_porting::simulator::{Fault, Scenario, Simulator};
use waba_porting::transport::{HttpRequest, HttpResponse, Transport};
use waba_porting::{
    Actor, ApiErrorKind, CodeMethod, Error, Language, Operation, PhoneNumberId, Pin, PortingClient,
    PortingSession, Recovery, RetryAdvice, RetryPolicy, StateName, StepOutcome, TransportError,
    VerificationCode,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SPEC: &str = include_str!("../fixtures/openapi/business-messaging-api_v23.0.trimmed.json");

const NUMBER: &str = "/{Version}/{Phone-Number-ID}";
const NUMBERS: &str = "/{Version}/{WABA-ID}/phone_numbers";
const REGISTER: &str = "/{Version}/{Phone-Number-ID}/register";
const VERIFY_CODE: &str = "/{Version}/{Phone-Number-ID}/verify_code";

/// The example error body the description gives for `verb route` with
/// `status`: the one named `name` among several, or the only one.
fn example(verb: &str, route: &str, status: u16, name: Option<&str>) -> Value {
    let spec: Value = serde_json::from_str(SPEC).expect("the fixture is JSON");
    let operation = spec["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .find(|o| o["method"] == verb && o["path"] == route)
        .unwrap_or_else(|| panic!("{verb} {route} is not in the fixture"))
        .clone();
    let content = &operation["responses"][status.to_string()]["content"]["application/json"];
    let body = match name {
        Some(name) => &content["examples"][name]["value"],
        None => &content["example"],
    };
    assert!(
        body["error"].is_object(),
        "{verb} {route} {status} {name:?} has no example error body"
    );
    body.clone()
}

/// What answers `verb route` with `status` in the description, and which
/// example body.
struct Described {
    error: DescribedError,
    verb: &'static str,
    route: &'static str,
    status: u16,
    name: Option<&'static str>,
}

fn described() -> Vec<Described> {
    use DescribedError::*;
    let at = |error, verb, route, status, name| Described {
        error,
        verb,
        route,
        status,
        name,
    };
    vec![
        at(
            PhoneNumberNotFound,
            "GET",
            NUMBER,
            404,
            Some("phone_not_found"),
        ),
        at(
            PhoneNumberDeleted,
            "GET",
            NUMBER,
            404,
            Some("deleted_phone"),
        ),
        at(
            NumbersWabaNotFound,
            "GET",
            NUMBER,
            404,
            Some("waba_not_found"),
        ),
        at(WabaNotFound, "POST", NUMBERS, 404, None),
        at(
            AccessTokenMissing,
            "GET",
            NUMBER,
            401,
            Some("missing_token"),
        ),
        at(AppNotLinked, "GET", NUMBER, 403, Some("not_linked_to_waba")),
        at(PhoneNumberLimitExceeded, "POST", NUMBERS, 403, None),
        at(VerificationFailed, "POST", VERIFY_CODE, 422, None),
        at(AlreadyRegisteredOrInvalidState, "POST", REGISTER, 422, None),
        at(AlreadyRegisteredWithWhatsApp, "POST", NUMBERS, 409, None),
    ]
}

/// The simulator's bodies are the description's, status included: the
/// simulator tests below see exactly what the wiremock tests see.
#[test]
fn the_simulators_described_bodies_are_the_descriptions_examples() {
    let all = described();
    assert_eq!(all.len(), DescribedError::ALL.len(), "one row per example");
    for row in all {
        let answer = reference::described(row.error, reference::DESCRIPTION_FBTRACE_ID);
        let body: Value = serde_json::from_str(&answer.body).unwrap();
        let expected = example(row.verb, row.route, row.status, row.name);
        assert_eq!(body, expected, "{:?}", row.error);
        assert_eq!(answer.status, row.status, "{:?}", row.error);
        assert_eq!(
            DescribedError::from_name(row.error.as_str()),
            Some(row.error)
        );
    }
    // The 803 on register and verify_code is the read's first example.
    for route in [REGISTER, VERIFY_CODE] {
        assert_eq!(
            example("POST", route, 404, None),
            example("GET", NUMBER, 404, Some("phone_not_found"))
        );
    }
}

// --- The wire bodies, through a mock server ----------------------------------

fn number_id() -> PhoneNumberId {
    PhoneNumberId::new(NUMBER_ID).unwrap()
}

async fn read_answering(status: u16, body: Value) -> Error {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/{}/{NUMBER_ID}", common::VERSION)))
        .respond_with(error_response(status, body))
        .mount(&server)
        .await;
    client(&server)
        .read_phone_number(&number_id())
        .await
        .expect_err("an error answer")
}

#[tokio::test]
async fn a_number_read_not_found_says_which_object_is_missing() {
    for (name, kind) in [
        ("phone_not_found", ApiErrorKind::PhoneNumberNotFound),
        ("deleted_phone", ApiErrorKind::NumberDeleted),
        ("waba_not_found", ApiErrorKind::WabaNotFound),
    ] {
        let error = read_answering(404, example("GET", NUMBER, 404, Some(name))).await;
        assert_eq!(error.api_kind(), Some(kind), "{name}");
        let api = error.api().unwrap();
        assert_eq!(api.code(), Some(803));
        assert_eq!(api.status(), 404);
        assert_eq!(api.fbtrace_id(), Some("AXsgnV2Cm3ZMGF3dF_cfYIn"));
        assert_eq!(error.retry_advice(), RetryAdvice::DoNotRetry, "{name}");
        assert_eq!(error.who_must_act(), Actor::Us, "{name}");
    }
    let gone = read_answering(404, example("GET", NUMBER, 404, Some("deleted_phone"))).await;
    assert_eq!(gone.recovery(), Recovery::NotPossible);
    let missing = read_answering(404, example("GET", NUMBER, 404, Some("phone_not_found"))).await;
    assert_eq!(missing.recovery(), Recovery::WithCorrectedInput);
}

#[tokio::test]
async fn a_request_without_a_token_is_told_from_a_bad_token() {
    let missing = read_answering(401, example("GET", NUMBER, 401, Some("missing_token"))).await;
    assert_eq!(missing.api_kind(), Some(ApiErrorKind::AccessTokenMissing));
    assert_eq!(missing.recovery(), Recovery::WithCorrectedInput);
    assert!(!missing.is_retryable());
    assert!(missing.remediation().contains("Authorization"));
    for name in ["invalid_token", "expired_token"] {
        let bad = read_answering(401, example("GET", NUMBER, 401, Some(name))).await;
        assert_eq!(
            bad.api_kind(),
            Some(ApiErrorKind::InvalidAccessToken),
            "{name}"
        );
    }
}

#[tokio::test]
async fn subcode_1349175_is_read_by_its_message() {
    let not_linked =
        read_answering(403, example("GET", NUMBER, 403, Some("not_linked_to_waba"))).await;
    assert_eq!(not_linked.api_kind(), Some(ApiErrorKind::AppNotLinked));
    assert_eq!(
        not_linked.api().unwrap().graph().error_subcode,
        Some(1349175)
    );
    assert_eq!(not_linked.recovery(), Recovery::AfterAction);
    for name in ["insufficient_permissions", "missing_permissions"] {
        let error = read_answering(403, example("GET", NUMBER, 403, Some(name))).await;
        assert_eq!(
            error.api_kind(),
            Some(ApiErrorKind::PermissionDenied),
            "{name}"
        );
    }

    // The same subcode at number creation: the destination is full.
    let server = MockServer::start().await;
    common::answer(
        &server,
        "POST",
        &start_path(),
        error_response(403, example("POST", NUMBERS, 403, None)),
        1,
    )
    .await;
    let mut session = session();
    let error = client(&server)
        .start_migration(&mut session)
        .await
        .unwrap_err();
    assert_eq!(
        error.api_kind(),
        Some(ApiErrorKind::PhoneNumberLimitReached)
    );
    assert_eq!(error.who_must_act(), Actor::Us);
    assert_eq!(error.recovery(), Recovery::AfterAction);
    assert_eq!(session.state().name(), StateName::Draft);
    let failure = session.last_failure().expect("recorded");
    assert_eq!(failure.kind, ApiErrorKind::PhoneNumberLimitReached);
    assert_eq!(failure.error_subcode, Some(1349175));
    // The customer-facing text is Meta's, not the bare message.
    assert_eq!(
        failure.message.as_deref(),
        Some("You have reached the maximum number of phone numbers for this account")
    );
}

#[tokio::test]
async fn a_destination_waba_not_found_at_start() {
    let server = MockServer::start().await;
    common::answer(
        &server,
        "POST",
        &start_path(),
        error_response(404, example("POST", NUMBERS, 404, None)),
        1,
    )
    .await;
    let mut session = session();
    let error = client(&server)
        .start_migration(&mut session)
        .await
        .unwrap_err();
    assert_eq!(error.api_kind(), Some(ApiErrorKind::WabaNotFound));
    assert_eq!(error.recovery(), Recovery::WithCorrectedInput);
    assert_eq!(session.state().name(), StateName::Draft);
}

/// A session at `CodeVerified` on a mock server, its steps answered.
async fn at_code_verified(server: &MockServer) -> PortingSession {
    common::answer(
        server,
        "POST",
        &start_path(),
        ResponseTemplate::new(200).set_body_json(json!({"id": NUMBER_ID})),
        1,
    )
    .await;
    for edge in ["request_code", "verify_code"] {
        common::answer(server, "POST", &number_path(edge), success(), 1).await;
    }
    let client = client(server);
    let mut session = session();
    common::to_code_requested(&client, &mut session).await;
    client
        .verify_code(&mut session, &VerificationCode::new("123456").unwrap())
        .await
        .unwrap();
    assert_eq!(session.state().name(), StateName::CodeVerified);
    session
}

#[tokio::test]
async fn the_verification_failed_example_is_a_refused_code() {
    let server = MockServer::start().await;
    common::answer(
        &server,
        "POST",
        &start_path(),
        ResponseTemplate::new(200).set_body_json(json!({"id": NUMBER_ID})),
        1,
    )
    .await;
    common::answer(&server, "POST", &number_path("request_code"), success(), 1).await;
    common::answer(
        &server,
        "POST",
        &number_path("verify_code"),
        error_response(422, example("POST", VERIFY_CODE, 422, None)),
        1,
    )
    .await;
    let client = client(&server);
    let mut session = session();
    common::to_code_requested(&client, &mut session).await;
    let error = client
        .verify_code(&mut session, &VerificationCode::new("123456").unwrap())
        .await
        .unwrap_err();
    // A code just requested: the customer gives it again.
    assert_eq!(
        error.api_kind(),
        Some(ApiErrorKind::VerificationCodeRejected)
    );
    assert_eq!(error.who_must_act(), Actor::Customer);
    assert_eq!(session.state().name(), StateName::CodeRequested);
    assert_eq!(
        session.last_failure().unwrap().message.as_deref(),
        Some("The verification code you entered is invalid or has expired")
    );
}

/// The number read that follows a refused register.
fn read_of_number(status: &str, platform_type: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": NUMBER_ID,
        "display_phone_number": "+1 415-555-0123",
        "status": status,
        "code_verification_status": "VERIFIED",
        "platform_type": platform_type,
    }))
}

async fn register_refused_as_already_registered(
    read: Option<ResponseTemplate>,
) -> (MockServer, PortingSession, Result<StateName, Error>) {
    let server = MockServer::start().await;
    let mut session = at_code_verified(&server).await;
    common::answer(
        &server,
        "POST",
        &number_path("register"),
        error_response(422, example("POST", REGISTER, 422, None)),
        1,
    )
    .await;
    if let Some(read) = read {
        Mock::given(method("GET"))
            .and(path(format!("/{}/{NUMBER_ID}", common::VERSION)))
            .respond_with(read)
            .mount(&server)
            .await;
    }
    let result = client(&server)
        .register(&mut session, &Pin::new("482913").unwrap(), None)
        .await;
    (server, session, result)
}

#[tokio::test]
async fn already_registered_at_register_and_connected_in_the_destination_is_registered() {
    let (server, session, result) =
        register_refused_as_already_registered(Some(read_of_number("CONNECTED", "CLOUD_API")))
            .await;
    assert_eq!(result.unwrap(), StateName::Registered);
    assert_eq!(session.state().name(), StateName::Registered);
    assert!(session.in_flight().is_none());
    // Recorded as a read that settled the register, as for a lost answer.
    let last = session.history().last().unwrap();
    assert!(
        matches!(
            last.outcome,
            StepOutcome::Reconciled {
                operation: Operation::Register,
                observed,
            } if observed.registered
        ),
        "{:?}",
        last.outcome
    );
    // One register, then the read; no second register.
    let sent: Vec<String> = common::requests(&server)
        .await
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    let tail: Vec<&str> = sent
        .iter()
        .rev()
        .take(2)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        [
            format!("POST {}", number_path("register")).as_str(),
            format!("GET /{}/{NUMBER_ID}", common::VERSION).as_str()
        ]
    );
}

#[tokio::test]
async fn already_registered_at_register_but_not_in_the_destination_is_a_typed_error() {
    for read in [
        // Pending, on no platform: not registered here.
        Some(read_of_number("PENDING", "NOT_APPLICABLE")),
        // On a platform but not connected: with no register of ours in
        // doubt, that is the previous provider's, not ours.
        Some(read_of_number("PENDING", "CLOUD_API")),
        // A read without status proves nothing.
        Some(ResponseTemplate::new(200).set_body_json(json!({"id": NUMBER_ID}))),
        // A failed read proves nothing either.
        Some(error_response(
            500,
            json!({"error": {"code": 2, "message": "Service temporarily unavailable"}}),
        )),
    ] {
        let (_server, session, result) = register_refused_as_already_registered(read).await;
        let error = result.unwrap_err();
        assert_eq!(error.api_kind(), Some(ApiErrorKind::AlreadyRegistered));
        assert_eq!(error.operation(), Some(Operation::Register));
        assert_eq!(error.api().unwrap().status(), 422);
        assert_eq!(error.retry_advice(), RetryAdvice::DoNotRetry);
        assert_eq!(error.recovery(), Recovery::AfterAction);
        assert_eq!(session.state().name(), StateName::CodeVerified);
        assert!(
            session.in_flight().is_none(),
            "Meta answered: nothing in doubt"
        );
        assert_eq!(
            session.last_failure().unwrap().kind,
            ApiErrorKind::AlreadyRegistered
        );
    }
}

/// After a register of ours whose outcome was unknown, a number on a
/// platform and still connecting is that register's: as when the lost
/// answer is reconciled, it counts as registered.
#[tokio::test]
async fn already_registered_after_a_register_in_doubt_counts_a_connecting_number() {
    let server = MockServer::start().await;
    let mut session = at_code_verified(&server).await;
    let register = number_path("register");
    let read = format!("/{}/{NUMBER_ID}", common::VERSION);
    // The first register's answer is a 500: its outcome is unknown.
    common::answer(
        &server,
        "POST",
        &register,
        error_response(
            500,
            json!({"error": {"code": 131000, "message": "Something went wrong"}}),
        ),
        1,
    )
    .await;
    // The reconciling read finds the number on no platform: not registered.
    common::answer(
        &server,
        "GET",
        &read,
        read_of_number("PENDING", "NOT_APPLICABLE"),
        1,
    )
    .await;
    // The register sent again is refused as already registered…
    common::answer(
        &server,
        "POST",
        &register,
        error_response(422, example("POST", REGISTER, 422, None)),
        1,
    )
    .await;
    // …and the number now reads on Cloud API, connecting.
    common::answer(
        &server,
        "GET",
        &read,
        read_of_number("PENDING", "CLOUD_API"),
        1,
    )
    .await;
    let client = client(&server);
    let pin = Pin::new("482913").unwrap();
    let first = client.register(&mut session, &pin, None).await.unwrap_err();
    assert_eq!(first.retry_advice(), RetryAdvice::ReconcileFirst);
    assert_eq!(
        client.register(&mut session, &pin, None).await.unwrap(),
        StateName::Registered
    );
    let last = session.history().last().unwrap();
    assert!(
        matches!(
            last.outcome,
            StepOutcome::Reconciled { observed, .. } if observed.connecting && !observed.registered
        ),
        "{:?}",
        last.outcome
    );
}

/// The listing the look-up after a 409 at start reads.
fn listing(numbers: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "data": numbers }))
}

async fn start_answered_409(list: ResponseTemplate) -> (PortingSession, Result<StateName, Error>) {
    let server = MockServer::start().await;
    common::answer(
        &server,
        "POST",
        &start_path(),
        error_response(409, example("POST", NUMBERS, 409, None)),
        1,
    )
    .await;
    common::answer(&server, "GET", &start_path(), list, 1).await;
    let mut session = session();
    let result = client(&server).start_migration(&mut session).await;
    (session, result)
}

#[tokio::test]
async fn already_registered_at_start_and_listed_in_the_destination_continues_from_there() {
    let (session, result) = start_answered_409(listing(json!([{
        "id": NUMBER_ID,
        "display_phone_number": "+1 415-555-0123",
        "status": "CONNECTED",
        "code_verification_status": "VERIFIED",
    }])))
    .await;
    assert_eq!(result.unwrap(), StateName::Registered);
    assert_eq!(session.state().phone_number_id(), Some(&number_id()));

    let (session, result) = start_answered_409(listing(json!([{
        "id": NUMBER_ID,
        "display_phone_number": "+1 415-555-0123",
        "status": "PENDING",
        "code_verification_status": "NOT_VERIFIED",
    }])))
    .await;
    assert_eq!(result.unwrap(), StateName::Initiated);
    assert_eq!(session.state().phone_number_id(), Some(&number_id()));
}

#[tokio::test]
async fn already_registered_at_start_and_not_listed_is_a_typed_error() {
    let (session, result) = start_answered_409(listing(json!([{
        "id": "999999999999999",
        "display_phone_number": "+1 415-555-0199",
        "status": "CONNECTED",
        "code_verification_status": "VERIFIED",
    }])))
    .await;
    let error = result.unwrap_err();
    assert_eq!(error.api_kind(), Some(ApiErrorKind::AlreadyRegistered));
    assert_eq!(error.api().unwrap().status(), 409);
    assert_eq!(error.operation(), Some(Operation::StartMigration));
    assert_eq!(session.state().name(), StateName::Draft);
    assert!(session.in_flight().is_none());
}

#[tokio::test]
async fn a_number_not_found_at_its_steps() {
    let server = MockServer::start().await;
    let mut session = at_code_verified(&server).await;
    common::answer(
        &server,
        "POST",
        &number_path("register"),
        error_response(404, example("POST", REGISTER, 404, None)),
        1,
    )
    .await;
    let error = client(&server)
        .register(&mut session, &Pin::new("482913").unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(error.api_kind(), Some(ApiErrorKind::PhoneNumberNotFound));
    assert_eq!(session.state().name(), StateName::CodeVerified);
}

// --- The same bodies from the simulator --------------------------------------

fn sim_client(sim: &Simulator) -> PortingClient {
    sim.client_builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Starts, requests and verifies a code: the session at `CodeVerified`.
async fn sim_at_code_verified(sim: &Simulator, client: &PortingClient) -> PortingSession {
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let code = sim.latest_code(session.phone_number()).unwrap();
    client.verify_code(&mut session, &code).await.unwrap();
    session
}

/// Each example, injected where the description gives it, reaches the
/// caller as its kind.
#[tokio::test]
async fn every_described_fault_reaches_the_caller_as_its_kind() {
    use DescribedError::*;
    let pin = Pin::new("482913").unwrap();
    for (error, operation, kind) in [
        (
            PhoneNumberNotFound,
            Operation::Register,
            ApiErrorKind::PhoneNumberNotFound,
        ),
        (
            PhoneNumberDeleted,
            Operation::Register,
            ApiErrorKind::NumberDeleted,
        ),
        (
            NumbersWabaNotFound,
            Operation::Register,
            ApiErrorKind::WabaNotFound,
        ),
        (
            WabaNotFound,
            Operation::StartMigration,
            ApiErrorKind::WabaNotFound,
        ),
        (
            AccessTokenMissing,
            Operation::Register,
            ApiErrorKind::AccessTokenMissing,
        ),
        (
            AppNotLinked,
            Operation::Register,
            ApiErrorKind::AppNotLinked,
        ),
        (
            PhoneNumberLimitExceeded,
            Operation::StartMigration,
            ApiErrorKind::PhoneNumberLimitReached,
        ),
        (
            VerificationFailed,
            Operation::VerifyCode,
            ApiErrorKind::VerificationCodeRejected,
        ),
        (
            AlreadyRegisteredOrInvalidState,
            Operation::Register,
            ApiErrorKind::AlreadyRegistered,
        ),
        (
            AlreadyRegisteredWithWhatsApp,
            Operation::StartMigration,
            ApiErrorKind::AlreadyRegistered,
        ),
    ] {
        let sim = Scenario::happy_path().build();
        let client = sim_client(&sim);
        sim.inject_at(operation, Fault::Described(error), 1);
        let mut session = sim.session();
        let result = match operation {
            Operation::StartMigration => client.start_migration(&mut session).await,
            Operation::VerifyCode => {
                client.start_migration(&mut session).await.unwrap();
                client
                    .request_code(&mut session, CodeMethod::Sms, &Language::default())
                    .await
                    .unwrap();
                let code = sim.latest_code(session.phone_number()).unwrap();
                client.verify_code(&mut session, &code).await
            }
            _ => {
                let mut at = sim_at_code_verified(&sim, &client).await;
                let result = client.register(&mut at, &pin, None).await;
                session = at;
                result
            }
        };
        let failure = result.expect_err("the injected answer");
        assert_eq!(failure.api_kind(), Some(kind), "{error:?}");
        assert_eq!(failure.api().unwrap().status(), error.status(), "{error:?}");
        // The fault is used up: the step goes through now.
        let state_before = session.state().name();
        let again = match operation {
            Operation::StartMigration => client.start_migration(&mut session).await,
            Operation::VerifyCode => {
                let code = sim.latest_code(session.phone_number()).unwrap();
                client.verify_code(&mut session, &code).await
            }
            _ => client.register(&mut session, &pin, None).await,
        };
        assert!(again.is_ok(), "{error:?} from {state_before}: {again:?}");
    }
}

/// "Invalid or has expired" says neither: a code older than its lifetime
/// expired, a younger one was refused as wrong.
#[tokio::test]
async fn the_verification_failed_example_for_an_old_code_asks_for_a_new_one() {
    let sim = Scenario::happy_path().build();
    let client = sim_client(&sim);
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let code = sim.latest_code(session.phone_number()).unwrap();
    sim.advance(waba_porting::CODE_LIFETIME + std::time::Duration::from_secs(60));
    sim.inject_at(
        Operation::VerifyCode,
        Fault::Described(DescribedError::VerificationFailed),
        1,
    );
    let error = client.verify_code(&mut session, &code).await.unwrap_err();
    assert_eq!(
        error.api_kind(),
        Some(ApiErrorKind::VerificationCodeExpired)
    );
    assert_eq!(error.who_must_act(), Actor::Us);
    assert_eq!(
        session.next_action().action,
        waba_porting::NextAction::RequestNewCode
    );
}

#[tokio::test]
async fn already_registered_by_another_process_settles_the_session_as_registered() {
    let sim = Scenario::happy_path().build();
    let client = sim_client(&sim);
    let mut ours = sim_at_code_verified(&sim, &client).await;
    // Another replica, from the same saved session, registers first.
    let mut theirs = ours.clone();
    let pin = Pin::new("482913").unwrap();
    client.register(&mut theirs, &pin, None).await.unwrap();
    // Meta refuses ours as already registered; the number reads CONNECTED.
    sim.inject_at(
        Operation::Register,
        Fault::Described(DescribedError::AlreadyRegisteredOrInvalidState),
        1,
    );
    let state = client.register(&mut ours, &pin, None).await.unwrap();
    assert_eq!(state, StateName::Registered);
    assert_eq!(ours.state(), theirs.state());
    let calls = sim.calls(ours.phone_number()).unwrap();
    assert_eq!(calls.register, 2, "theirs and ours, nothing re-sent");
}

#[tokio::test]
async fn already_registered_at_start_adopts_the_number_the_simulator_lists() {
    // The number is in the destination already; Meta answers the 409.
    let sim = Scenario::already_in_destination().build();
    let client = sim_client(&sim);
    sim.inject_at(
        Operation::StartMigration,
        Fault::Described(DescribedError::AlreadyRegisteredWithWhatsApp),
        1,
    );
    let mut session = sim.session();
    assert_eq!(
        client.start_migration(&mut session).await.unwrap(),
        StateName::Initiated
    );
    assert!(session.state().phone_number_id().is_some());
}

/// A transport in front of the simulator that drops the `Authorization`
/// header, as a misconfigured proxy would.
#[derive(Debug)]
struct StripsAuthorization(Simulator);

#[async_trait::async_trait]
impl Transport for StripsAuthorization {
    async fn send(&self, mut request: HttpRequest) -> Result<HttpResponse, TransportError> {
        request.headers = request
            .headers
            .iter()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("authorization"))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        self.0.send(request).await
    }
}

#[tokio::test]
async fn the_simulator_answers_a_request_without_a_token_as_described() {
    let sim = Scenario::happy_path().build();
    let client = sim
        .client_builder()
        .transport(StripsAuthorization(sim.clone()))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut session = sim.session();
    let error = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(error.api_kind(), Some(ApiErrorKind::AccessTokenMissing));
    let api = error.api().unwrap();
    assert_eq!(api.status(), 401);
    assert_eq!(api.code(), Some(104));
    assert_eq!(session.state().name(), StateName::Draft);
    // A wrong token is still 190.
    let wrong = sim
        .client_builder()
        .access_token("EAAG-not-the-simulators")
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let error = wrong.start_migration(&mut session).await.unwrap_err();
    assert_eq!(error.api_kind(), Some(ApiErrorKind::InvalidAccessToken));
}
