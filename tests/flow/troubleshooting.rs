//! Every troubleshooting case, from the wire body at the step where it
//! happens to the error variant and the session's state.

use crate::common;

use common::*;
use serde_json::json;
use waba_porting::{
    Actor, ApiErrorKind, Error, NextAction, Operation, Pin, PortingSession, PortingState, Recovery,
    RejectionReason, StateName, VerificationCode,
};
use wiremock::{MockServer, ResponseTemplate};

async fn to_code_verified(server: &MockServer, session: &mut PortingSession) {
    let client = client(server);
    to_code_requested(&client, session).await;
    client
        .verify_code(session, &VerificationCode::new("123-830").unwrap())
        .await
        .unwrap();
}

fn api_kind(result: Result<StateName, Error>) -> ApiErrorKind {
    match result {
        Err(Error::Api(e)) => {
            assert_eq!(
                e.graph().fbtrace_id.as_deref(),
                Some("AZ8or2-trace"),
                "raw fields kept"
            );
            e.kind()
        }
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn seed_on_behalf_not_accepted_at_start_then_customer_approves() {
    let server = MockServer::start().await;
    let body = graph_error(
        2388103,
        None,
        "Your WhatsApp account's \"Messaging For\" request must be approved",
    );
    answer(&server, "POST", &start_path(), error_response(400, body), 1).await;
    mount_happy_path(&server).await;
    let client = client(&server);
    let mut session = session();

    let result = client.start_migration(&mut session).await;
    let err = result.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::OnBehalfNotAccepted));
    assert!(!err.is_retryable());
    assert_eq!(err.recovery(), Recovery::AfterAction);
    assert_eq!(err.who_must_act(), Actor::Customer);
    assert!(err
        .remediation()
        .contains("Business Settings > Requests > Received"));
    assert_eq!(session.state().name(), StateName::AwaitingOnBehalfApproval);
    assert_eq!(
        session.next_action().action,
        NextAction::ApproveOnBehalfRequest {
            then: Operation::StartMigration
        }
    );

    // The customer approves; the retried start goes through.
    let state = client.start_migration(&mut session).await.unwrap();
    assert_eq!(state, StateName::Initiated);
}

#[tokio::test]
async fn seed_two_step_enabled_at_start_from_meta_text() {
    let server = MockServer::start().await;
    let body = graph_error(
        2388103,
        None,
        "Two-step authentication must be disabled for this phone number.",
    );
    answer(&server, "POST", &start_path(), error_response(400, body), 1).await;
    let client = client(&server);
    let mut session = session();
    let kind = api_kind(client.start_migration(&mut session).await);
    assert_eq!(kind, ApiErrorKind::TwoStepEnabled);
    assert_eq!(session.state().name(), StateName::AwaitingTwoStepDisable);
    assert_eq!(session.next_action().actor, Actor::PreviousProvider);
}

#[tokio::test]
async fn seed_two_step_enabled_at_register_from_133005_then_disabled() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        &number_path("register"),
        error_response(
            400,
            graph_error(133005, None, "Two step verification PIN Mismatch"),
        ),
        1,
    )
    .await;
    mount_happy_path(&server).await;
    let client = client(&server);
    let mut session = session();
    to_code_verified(&server, &mut session).await;

    let pin = Pin::new("482913").unwrap();
    let kind = api_kind(client.register(&mut session, &pin, None).await);
    assert_eq!(kind, ApiErrorKind::TwoStepEnabled);
    assert_eq!(kind.who_must_act(), Actor::PreviousProvider);
    assert_eq!(session.state().name(), StateName::AwaitingTwoStepDisable);
    assert_eq!(
        session.next_action().action,
        NextAction::DisableTwoStepVerification {
            then: Operation::Register
        }
    );

    // The previous BSP disables 2SV; register again.
    let state = client.register(&mut session, &pin, None).await.unwrap();
    assert_eq!(state, StateName::Registered);
}

#[tokio::test]
async fn seed_eligible_for_direct_add_at_start() {
    let server = MockServer::start().await;
    let body = graph_error(
        2388103,
        None,
        "Please add this phone number in your WhatsApp account",
    );
    answer(&server, "POST", &start_path(), error_response(400, body), 1).await;
    let client = client(&server);
    let mut session = session();
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::EligibleForDirectAdd));
    assert_eq!(err.recovery(), Recovery::NotPossible);
    assert!(!err.is_retryable());
    assert_eq!(
        session.state(),
        &PortingState::Rejected {
            reason: RejectionReason::EligibleForDirectAdd
        }
    );
    assert_eq!(session.next_action().action, NextAction::AddAsNewNumber);
    // Nothing more can be sent.
    assert!(matches!(
        client.start_migration(&mut session).await,
        Err(Error::IllegalTransition(_))
    ));
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn seed_eligible_for_direct_add_at_request_code_from_2388091() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        &number_path("request_code"),
        error_response(
            400,
            graph_error(100, Some(2388091), "Code APIs are unavailable"),
        ),
        1,
    )
    .await;
    mount_happy_path(&server).await;
    let client = client(&server);
    let mut session = session();
    client.start_migration(&mut session).await.unwrap();
    let (method, language) = sms();
    let kind = api_kind(client.request_code(&mut session, method, &language).await);
    assert_eq!(kind, ApiErrorKind::EligibleForDirectAdd);
    assert_eq!(session.state().name(), StateName::Rejected);
}

#[tokio::test]
async fn seed_already_in_destination_continues_with_the_looked_up_id() {
    let server = MockServer::start().await;
    let body = graph_error(
        2388012,
        None,
        "This phone number already exists in your list of phone numbers",
    );
    answer(&server, "POST", &start_path(), error_response(400, body), 1).await;
    // Two pages; the number is on the second.
    let list_path = start_path();
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(list_path.clone()))
        .and(wiremock::matchers::query_param("after", "CURSOR1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"id": NUMBER_ID, "display_phone_number": "+1 415-555-0123",
                      "verified_name": "Acme", "code_verification_status": "NOT_VERIFIED",
                      "status": "PENDING"}],
            "paging": {"cursors": {"before": "CURSOR1", "after": "CURSOR2"}}
        })))
        .expect(1)
        .mount(&server)
        .await;
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .and(wiremock::matchers::path(list_path))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"id": "999", "display_phone_number": "+44 20 7946 0000"}],
            "paging": {"cursors": {"before": "CURSOR0", "after": "CURSOR1"},
                       "next": "https://graph.facebook.com/v25.0/next"}
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let mut session = session();

    let state = client.start_migration(&mut session).await.unwrap();
    assert_eq!(
        session.state().phone_number_id().map(|i| i.as_str()),
        Some(NUMBER_ID)
    );
    assert_eq!(state, StateName::Initiated);
    let last = session.history().last().unwrap();
    assert!(matches!(
        &last.outcome,
        waba_porting::StepOutcome::ExistingNumberAdopted { .. }
    ));

    let sent = requests(&server).await;
    assert_eq!(sent.len(), 3);
    let first_list = &sent[1];
    assert_eq!(first_list.method.as_str(), "GET");
    assert_eq!(
        header(first_list, "authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let query: Vec<(String, String)> = first_list.url.query_pairs().into_owned().collect();
    assert!(query.contains(&(
        "fields".into(),
        "id,display_phone_number,verified_name,status,code_verification_status,name_status,platform_type"
            .into()
    )));
    assert!(!query.iter().any(|(k, _)| k == "access_token"));
}

#[tokio::test]
async fn seed_already_in_destination_but_missing_from_the_list_is_reported() {
    let server = MockServer::start().await;
    let body = graph_error(
        100,
        Some(2388012),
        "This phone number already exists in your list of phone numbers",
    );
    answer(&server, "POST", &start_path(), error_response(400, body), 1).await;
    answer(
        &server,
        "GET",
        &start_path(),
        ResponseTemplate::new(200).set_body_json(json!({"data": []})),
        1,
    )
    .await;
    let client = client(&server);
    let mut session = session();
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::AlreadyInDestination));
    assert_eq!(err.recovery(), Recovery::Continue);
    assert_eq!(session.state().name(), StateName::Draft);
}

#[tokio::test]
async fn seed_business_mismatch_at_start() {
    let server = MockServer::start().await;
    let body = graph_error(
        2388103,
        None,
        "This phone number belongs to a different Business Manager account",
    );
    answer(&server, "POST", &start_path(), error_response(400, body), 1).await;
    let client = client(&server);
    let mut session = session();
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::BusinessMismatch));
    assert_eq!(err.recovery(), Recovery::WithCorrectedInput);
    assert_eq!(
        session.state(),
        &PortingState::Rejected {
            reason: RejectionReason::BusinessMismatch
        }
    );
    assert_eq!(
        session.next_action().action,
        NextAction::ResubmitWithCorrectBusinessId
    );
}

#[tokio::test]
async fn seed_migration_failed_at_start_is_retryable_and_retry_succeeds() {
    let server = MockServer::start().await;
    let body = graph_error(
        2388103,
        None,
        "There was an error migrating this phone number",
    );
    answer(&server, "POST", &start_path(), error_response(500, body), 1).await;
    mount_happy_path(&server).await;
    let client = client(&server);
    let mut session = session();
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::MigrationFailed));
    assert!(err.is_retryable());
    assert!(err.to_string().contains("2388103") && err.to_string().contains("AZ8or2-trace"));
    assert!(err.remediation().contains("fbtrace_id"));
    assert_eq!(session.state().name(), StateName::Draft, "state unchanged");
    assert_eq!(session.history().len(), 1, "the failure is recorded");

    let state = client.start_migration(&mut session).await.unwrap();
    assert_eq!(state, StateName::Initiated);
}
