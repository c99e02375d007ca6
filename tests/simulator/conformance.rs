//! Conformance: every preset scenario played against the simulator and
//! against wiremock fixtures made of the same reference bodies must produce
//! the same steps, error variants and states.

use serde_json::json;
use waba_porting::simulator::reference::{self, texts, Answer};
use waba_porting::simulator::{Scenario, SCENARIO_NAMES};
use waba_porting::{
    ApiErrorKind, CodeMethod, Error, Language, NextAction, Operation, Pin, PortingClient,
    PortingSession, RetryPolicy, StateName, VerificationCode,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// What one step did, without ids or trace ids (which differ by design).
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Ok(Operation, StateName),
    Api(Operation, ApiErrorKind, StateName),
    Other(Operation, String),
}

/// Plays a session to its end: calls whatever step is next, lets `human`
/// act when a person must, retries retryable errors.
async fn drive(
    client: &PortingClient,
    session: &mut PortingSession,
    code: impl Fn(&PortingSession) -> VerificationCode,
    human: impl Fn(&PortingSession),
) -> Vec<Seen> {
    let pin = Pin::new("482913").unwrap();
    let mut seen = Vec::new();
    for _ in 0..12 {
        let action = session.next_action().action;
        let Some(operation) = action.step() else {
            break;
        };
        if matches!(
            action,
            NextAction::ApproveOnBehalfRequest { .. }
                | NextAction::DisableTwoStepVerification { .. }
        ) {
            human(session);
        }
        let result = match operation {
            Operation::StartMigration => client.start_migration(session).await.map(|_| ()),
            Operation::RequestCode => client
                .request_code(session, CodeMethod::Sms, &Language::default())
                .await
                .map(|_| ()),
            Operation::VerifyCode => {
                let code = code(session);
                client.verify_code(session, &code).await.map(|_| ())
            }
            _ => client.register(session, &pin, None).await.map(|_| ()),
        };
        let state = session.state().name();
        seen.push(match result {
            Ok(()) => Seen::Ok(operation, state),
            Err(Error::Api(e)) => Seen::Api(operation, e.kind(), state),
            Err(other) => Seen::Other(operation, other.to_string()),
        });
    }
    seen
}

async fn on_simulator(scenario: Scenario) -> (Vec<Seen>, StateName) {
    let sim = scenario.build();
    // One request per step on both sides, so the steps line up.
    let client = sim
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut session = sim.session();
    let seen = drive(
        &client,
        &mut session,
        |s| sim.latest_code(s.phone_number()).unwrap(),
        |s| {
            sim.approve_on_behalf(s.waba_id());
            sim.disable_two_step(s.phone_number());
        },
    )
    .await;
    (seen, session.state().name())
}

const NUMBER_ID: &str = "110200345501442";

/// The answers a scenario gets, route by route, in order.
fn fixtures(scenario: &Scenario) -> Vec<(&'static str, String, Answer)> {
    let waba = scenario.waba_id().as_str();
    let start = format!("/v25.0/{waba}/phone_numbers");
    let edge = |e: &str| format!("/v25.0/{NUMBER_ID}/{e}");
    let trace = "AbCdEf-fixture";
    let rest = vec![
        ("POST", edge("request_code"), reference::success()),
        ("POST", edge("verify_code"), reference::success()),
        ("POST", edge("register"), reference::success()),
    ];
    let created = (
        "POST",
        start.clone(),
        reference::phone_number_created(NUMBER_ID),
    );
    let refused = |text| {
        (
            "POST",
            start.clone(),
            reference::migration_error(text, trace),
        )
    };
    let mut answers = match scenario.name() {
        "happy_path" => vec![created],
        "on_behalf_not_accepted" => vec![refused(texts::ON_BEHALF_NOT_APPROVED), created],
        "two_step_enabled" => vec![refused(texts::TWO_STEP_ENABLED), created],
        "transient_failure" => vec![refused(texts::ERROR_MIGRATING), created],
        "eligible_for_direct_add" => return vec![refused(texts::ADD_DIRECTLY)],
        "business_mismatch" => return vec![refused(texts::DIFFERENT_BUSINESS)],
        "already_in_destination" => {
            let display = format!(
                "+{} {}",
                scenario.phone_number().country_code(),
                scenario.phone_number().national_number()
            );
            let list = Answer::from(
                json!({"data": [{"id": NUMBER_ID, "display_phone_number": display,
                    "status": "PENDING", "code_verification_status": "NOT_VERIFIED"}]}),
            );
            vec![
                ("POST", start.clone(), reference::already_in_list(trace)),
                ("GET", start.clone(), list),
            ]
        }
        other => panic!("no fixtures for scenario {other}"),
    };
    answers.extend(rest);
    answers
}

async fn on_wiremock(scenario: Scenario) -> (Vec<Seen>, StateName) {
    let server = MockServer::start().await;
    for (verb, route, answer) in fixtures(&scenario) {
        let mut template = ResponseTemplate::new(answer.status)
            .set_body_raw(answer.body.clone().into_bytes(), answer.content_type);
        if let Some(seconds) = answer.retry_after {
            template = template.insert_header("retry-after", seconds.to_string().as_str());
        }
        Mock::given(method(verb))
            .and(path(route))
            .respond_with(template)
            .up_to_n_times(1)
            .mount(&server)
            .await;
    }
    let client = PortingClient::builder()
        .access_token("fixture-token")
        .base_url(server.uri())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut session = PortingSession::new(
        scenario.phone_number().clone(),
        scenario.waba_id().clone(),
        scenario.business_id().clone(),
    );
    let seen = drive(
        &client,
        &mut session,
        |_| VerificationCode::new("123-830").unwrap(),
        |_| {},
    )
    .await;
    (seen, session.state().name())
}

#[tokio::test]
async fn every_scenario_behaves_the_same_on_simulator_and_wiremock() {
    for name in SCENARIO_NAMES {
        let scenario = || Scenario::by_name(name).unwrap();
        let simulated = on_simulator(scenario()).await;
        let mocked = on_wiremock(scenario()).await;
        assert_eq!(simulated, mocked, "scenario {name}");
        let want_end = match *name {
            "eligible_for_direct_add" | "business_mismatch" => StateName::Rejected,
            _ => StateName::Registered,
        };
        assert_eq!(simulated.1, want_end, "scenario {name}: {:?}", simulated.0);
    }
}

#[tokio::test]
async fn conformance_traces_name_the_troubleshooting_variants() {
    use Operation::*;
    let (seen, _) = on_simulator(Scenario::on_behalf_not_accepted()).await;
    assert_eq!(
        seen.first(),
        Some(&Seen::Api(
            StartMigration,
            ApiErrorKind::OnBehalfNotAccepted,
            StateName::AwaitingOnBehalfApproval
        ))
    );
    let (seen, _) = on_simulator(Scenario::two_step_enabled()).await;
    assert_eq!(
        seen.first(),
        Some(&Seen::Api(
            StartMigration,
            ApiErrorKind::TwoStepEnabled,
            StateName::AwaitingTwoStepDisable
        ))
    );
    let (seen, _) = on_simulator(Scenario::eligible_for_direct_add()).await;
    assert_eq!(
        seen,
        vec![Seen::Api(
            StartMigration,
            ApiErrorKind::EligibleForDirectAdd,
            StateName::Rejected
        )]
    );
    let (seen, _) = on_simulator(Scenario::business_mismatch()).await;
    assert_eq!(
        seen,
        vec![Seen::Api(
            StartMigration,
            ApiErrorKind::BusinessMismatch,
            StateName::Rejected
        )]
    );
    let (seen, _) = on_simulator(Scenario::transient_failure()).await;
    assert_eq!(
        seen.first(),
        Some(&Seen::Api(
            StartMigration,
            ApiErrorKind::MigrationFailed,
            StateName::Draft
        ))
    );
    let (seen, _) = on_simulator(Scenario::already_in_destination()).await;
    assert_eq!(
        seen.first(),
        Some(&Seen::Ok(StartMigration, StateName::Initiated))
    );
    assert!(
        seen.iter().all(|s| !matches!(s, Seen::Other(..))),
        "{seen:?}"
    );
}
