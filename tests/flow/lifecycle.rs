//! The calls around the port the client makes itself: `subscribe_app` and
//! `set_two_step_pin` — their wire format against an HTTP mock, and the
//! flow on the simulator.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use crate::common;

use std::time::Duration;

use common::*;
use serde_json::json;
use waba_porting::simulator::{Scenario, Simulator};
use waba_porting::{
    Actor, ApiErrorKind, NextAction, Operation, PhoneNumberId, Pin, PortingClient, PortingSession,
    RetryPolicy, StateName, WabaId,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Ports `session` on `sim` up to a verified code (start, SMS code, the
/// code the simulated customer received).
async fn verify_on(sim: &Simulator, client: &PortingClient, session: &mut PortingSession) {
    client.start_migration(session).await.unwrap();
    let (code_method, language) = sms();
    client
        .request_code(session, code_method, &language)
        .await
        .unwrap();
    let code = sim.latest_code(session.phone_number()).unwrap();
    client.verify_code(session, &code).await.unwrap();
}

#[tokio::test]
async fn subscribe_app_posts_to_the_wabas_subscribed_apps_without_a_body() {
    let server = MockServer::start().await;
    let edge = format!("/{VERSION}/{WABA}/subscribed_apps");
    answer(&server, "POST", &edge, success(), 1).await;
    client(&server)
        .subscribe_app(&WabaId::new(WABA).unwrap())
        .await
        .unwrap();
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 1);
    let request = &sent[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), edge);
    assert_eq!(request.url.query(), None);
    assert!(request.body.is_empty(), "{:?}", request.body);
    assert_eq!(
        header(request, "authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[tokio::test]
async fn set_two_step_pin_posts_the_pin_to_the_number_itself() {
    let server = MockServer::start().await;
    let number = format!("/{VERSION}/{NUMBER_ID}");
    answer(&server, "POST", &number, success(), 1).await;
    client(&server)
        .set_two_step_pin(
            &PhoneNumberId::new(NUMBER_ID).unwrap(),
            &Pin::new("482913").unwrap(),
        )
        .await
        .unwrap();
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 1);
    let request = &sent[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), number);
    assert_eq!(request.url.query(), None);
    assert_eq!(body_json(request), json!({"pin": "482913"}));
    assert_eq!(header(request, "content-type"), Some("application/json"));
}

#[tokio::test]
async fn a_refused_call_is_a_typed_error_and_the_pin_never_shows() {
    let server = MockServer::start().await;
    let number = format!("/{VERSION}/{NUMBER_ID}");
    Mock::given(method("POST"))
        .and(path(number.as_str()))
        .respond_with(ResponseTemplate::new(400).set_body_json(graph_error(
            100,
            None,
            "Invalid parameter",
        )))
        .mount(&server)
        .await;
    let error = client(&server)
        .set_two_step_pin(
            &PhoneNumberId::new(NUMBER_ID).unwrap(),
            &Pin::new("482913").unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(error.operation(), Some(Operation::SetTwoStepPin));
    assert!(error.api().is_some(), "{error:?}");
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("482913"), "{shown}");
}

#[tokio::test]
async fn subscribe_app_is_retried_after_a_temporary_failure() {
    let server = MockServer::start().await;
    let edge = format!("/{VERSION}/{WABA}/subscribed_apps");
    Mock::given(method("POST"))
        .and(path(edge.as_str()))
        .respond_with(ResponseTemplate::new(503).set_body_json(graph_error(
            2,
            None,
            "Service temporarily unavailable",
        )))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    answer(&server, "POST", &edge, success(), 1).await;
    let client = waba_porting::PortingClient::builder()
        .access_token(TOKEN)
        .base_url(server.uri())
        .retry_policy(
            RetryPolicy::default().with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    client
        .subscribe_app(&WabaId::new(WABA).unwrap())
        .await
        .unwrap();
    assert_eq!(requests(&server).await.len(), 2);
}

/// The webhook case end to end: the start is refused, the SDK's own fix
/// makes the retry go through.
#[tokio::test]
async fn subscribing_the_app_fixes_the_webhook_case() {
    let sim = Scenario::happy_path().webhook_subscribed(false).build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(
        err.api_kind(),
        Some(ApiErrorKind::DestinationWebhookMissing)
    );
    assert!(err.remediation().contains("subscribe_app"));
    client.subscribe_app(session.waba_id()).await.unwrap();
    client.start_migration(&mut session).await.unwrap();
    assert_eq!(session.state().name(), StateName::Initiated);
}

/// After the port, the PIN can be changed: the world holds the new one.
#[tokio::test]
async fn set_two_step_pin_changes_the_numbers_pin() {
    let sim = Scenario::happy_path().build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    verify_on(&sim, &client, &mut session).await;
    let first = Pin::new("482913").unwrap();
    client.register(&mut session, &first, None).await.unwrap();
    // With two-step verification off, register made its PIN the number's.
    assert!(sim.two_step_pin_is(session.phone_number(), &first));
    let id = session.state().phone_number_id().unwrap().clone();

    let second = Pin::new("246810").unwrap();
    client.set_two_step_pin(&id, &second).await.unwrap();
    assert!(sim.two_step_pin_is(session.phone_number(), &second));
    assert!(!sim.two_step_pin_is(session.phone_number(), &first));
    // The call is not a step of the session: it is left as it was.
    assert_eq!(session.state().name(), StateName::Registered);

    // An unknown number object is a typed error.
    let error = client
        .set_two_step_pin(&PhoneNumberId::new("999999999999999").unwrap(), &second)
        .await
        .unwrap_err();
    assert_eq!(error.operation(), Some(Operation::SetTwoStepPin));
    assert!(error.api().is_some(), "{error:?}");
}

/// `check_readiness`'s three reads, on the wire.
#[tokio::test]
async fn the_readiness_check_reads_subscribed_apps_the_waba_fields_and_its_requests() {
    use waba_porting::simulator::reference::{self as answers, WabaFacts};
    let server = MockServer::start().await;
    let apps = format!("/{VERSION}/{WABA}/subscribed_apps");
    let waba = format!("/{VERSION}/{WABA}");
    let to_template = |answer: answers::Answer| {
        ResponseTemplate::new(answer.status)
            .set_body_raw(answer.body.into_bytes(), answer.content_type)
    };
    Mock::given(method("GET"))
        .and(path(apps.as_str()))
        .respond_with(to_template(answers::subscribed_apps(false)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(waba.as_str()))
        .respond_with(to_template(answers::waba_record(
            &WabaFacts::new(WABA, "999999999999999"),
            None,
        )))
        .mount(&server)
        .await;
    let requests_in_progress = format!("/{VERSION}/{WABA}/in_progress_onbehalf_request");
    Mock::given(method("GET"))
        .and(path(requests_in_progress.as_str()))
        .respond_with(to_template(answers::on_behalf_requests(
            None,
            WABA,
            "999999999999999",
        )))
        .mount(&server)
        .await;
    let report = client(&server).check_readiness(&session()).await.unwrap();

    let sent = requests(&server).await;
    assert_eq!(
        sent.len(),
        3,
        "a session without a number id reads no number"
    );
    assert_eq!(sent[0].method.as_str(), "GET");
    assert_eq!(sent[0].url.path(), apps);
    assert_eq!(sent[0].url.query(), None);
    assert!(sent[0].body.is_empty());
    assert_eq!(sent[1].method.as_str(), "GET");
    assert_eq!(sent[1].url.path(), waba);
    let fields: Vec<(String, String)> = sent[1].url.query_pairs().into_owned().collect();
    assert_eq!(
        fields,
        vec![(
            "fields".to_owned(),
            "id,account_review_status,business_verification_status,primary_funding_id,on_behalf_of_business_info".to_owned()
        )]
    );
    assert!(sent[1].body.is_empty());
    assert_eq!(sent[2].method.as_str(), "GET");
    assert_eq!(sent[2].url.path(), requests_in_progress);
    assert_eq!(sent[2].url.query(), None);
    assert!(sent[2].body.is_empty());

    assert!(!report.is_ready());
    let kinds: Vec<_> = report.blockers().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        vec![
            Some(ApiErrorKind::DestinationWebhookMissing),
            Some(ApiErrorKind::BusinessMismatch)
        ]
    );
}

#[tokio::test]
async fn the_happy_path_is_ready_and_a_neglected_waba_is_not() {
    let sim = Scenario::happy_path().build();
    let report = sim
        .client()
        .unwrap()
        .check_readiness(&sim.session())
        .await
        .unwrap();
    assert!(report.is_ready(), "{report}");
    assert!(report.findings.is_empty(), "{report}");

    let sim = Scenario::happy_path()
        .webhook_subscribed(false)
        .destination_approved(false)
        .payment_method(false)
        .build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    let report = client.check_readiness(&session).await.unwrap();
    assert!(!report.is_ready());
    let blockers: Vec<_> = report.blockers().map(|f| f.check).collect();
    assert_eq!(
        blockers,
        vec![
            waba_porting::ReadinessCheck::WebhookSubscription,
            waba_porting::ReadinessCheck::WabaReview
        ]
    );
    let warnings: Vec<_> = report.warnings().map(|f| f.check).collect();
    assert_eq!(warnings, vec![waba_porting::ReadinessCheck::PaymentMethod]);
    // The check sent nothing that changes anything: the port is untouched.
    assert_eq!(session.state().name(), StateName::Draft);
    // The SDK's own fix clears the webhook blocker.
    client.subscribe_app(session.waba_id()).await.unwrap();
    sim.approve_waba(session.waba_id());
    sim.add_payment_method(session.waba_id());
    let report = client.check_readiness(&session).await.unwrap();
    assert!(report.is_ready(), "{report}");
    client.start_migration(&mut session).await.unwrap();
}

/// The business id now means something: a session naming a business the
/// destination WABA was not made for is predicted to fail, before anything
/// is sent, with a remediation that says what must change.
#[tokio::test]
async fn a_business_mismatch_is_predicted_before_anything_is_sent() {
    let sim = Scenario::business_mismatch().build();
    let client = sim.client().unwrap();
    let session = sim.session();
    let report = client.check_readiness(&session).await.unwrap();
    let finding = report
        .blockers()
        .find(|f| f.check == waba_porting::ReadinessCheck::BusinessOwnership)
        .expect("predicted");
    assert_eq!(finding.kind, Some(ApiErrorKind::BusinessMismatch));
    assert!(
        finding.remediation.contains("created for"),
        "{}",
        finding.remediation
    );
    // Only reads were sent.
    assert!(sim
        .served()
        .iter()
        .all(|r| r.method == waba_porting::transport::Method::Get));
}

/// `refresh` on the wire: one GET of the number with the fields that decide
/// where a port stands, no body.
#[tokio::test]
async fn refresh_reads_the_number_with_its_status_fields() {
    let server = MockServer::start().await;
    mount_happy_path(&server).await;
    let client = client(&server);
    let mut session = session();
    to_code_requested(&client, &mut session).await;
    server.reset().await;
    let number = format!("/{VERSION}/{NUMBER_ID}");
    let record = json!({
        "id": NUMBER_ID, "status": "PENDING", "code_verification_status": "EXPIRED",
        "display_phone_number": "+1 415-555-0123", "name_status": "APPROVED"
    });
    answer(
        &server,
        "GET",
        &number,
        ResponseTemplate::new(200).set_body_json(record),
        1,
    )
    .await;
    let read = client.refresh(&mut session).await.unwrap().unwrap();
    assert_eq!(read.id.as_str(), NUMBER_ID);
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 1);
    let request = &sent[0];
    assert_eq!(request.method.as_str(), "GET");
    assert_eq!(request.url.path(), number);
    let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
    assert_eq!(
        query,
        [(
            "fields".to_owned(),
            "id,display_phone_number,verified_name,status,code_verification_status,name_status,platform_type".to_owned()
        )]
    );
    assert!(request.body.is_empty());
    // What it showed is the session's next action.
    assert_eq!(session.next_action().action, NextAction::RequestNewCode);
    assert_eq!(session.next_action().actor, Actor::Us);
    assert!(session.code_expired());
}

/// A draft has no number to read: nothing is sent.
#[tokio::test]
async fn refresh_of_a_draft_sends_nothing() {
    let server = MockServer::start().await;
    let mut session = session();
    assert!(client(&server)
        .refresh(&mut session)
        .await
        .unwrap()
        .is_none());
    assert!(requests(&server).await.is_empty());
    assert_eq!(session.state().name(), StateName::Draft);
}

/// The customer waited too long: the read says EXPIRED, the session says
/// "request a new code", and the port goes on from there.
#[tokio::test]
async fn an_expired_code_makes_the_next_action_a_new_code_request() {
    let sim = Scenario::happy_path().build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    let (code_method, language) = sms();
    client
        .request_code(&mut session, code_method, &language)
        .await
        .unwrap();
    let stale = sim.latest_code(session.phone_number()).unwrap();
    assert_eq!(session.next_action().action, NextAction::VerifyCode);

    sim.advance(waba_porting::simulator::DEFAULT_CODE_TTL + Duration::from_secs(1));
    let read = client.refresh(&mut session).await.unwrap().unwrap();
    assert_eq!(
        read.code_verification_status,
        Some(waba_porting::CodeVerificationStatus::Expired)
    );
    let next = session.next_action();
    assert_eq!(next.action, NextAction::RequestNewCode);
    assert_eq!(next.actor, Actor::Us);
    assert_eq!(next.action.step(), Some(Operation::RequestCode));
    // The old code is refused as expired, and the session still says so.
    let error = client.verify_code(&mut session, &stale).await.unwrap_err();
    assert_eq!(
        error.api_kind(),
        Some(ApiErrorKind::VerificationCodeExpired)
    );
    assert_eq!(error.who_must_act(), Actor::Us);
    assert_eq!(session.next_action().action, NextAction::RequestNewCode);

    // A new code clears it; polling the same answer adds no history.
    client
        .request_code(&mut session, code_method, &language)
        .await
        .unwrap();
    assert!(!session.code_expired());
    assert_eq!(session.next_action().action, NextAction::VerifyCode);
    let before = session.history().len();
    client.refresh(&mut session).await.unwrap();
    client.refresh(&mut session).await.unwrap();
    assert_eq!(
        session.history().len(),
        before + 1,
        "{:?}",
        session.history()
    );
    let code = sim.latest_code(session.phone_number()).unwrap();
    client.verify_code(&mut session, &code).await.unwrap();
    client
        .register(&mut session, &Pin::new("482913").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(session.next_action().action, NextAction::Done);
}

/// After register Meta may take a while to connect the number: a read in
/// that window says "wait for CONNECTED", a later one "done".
#[tokio::test]
async fn a_registered_number_not_connected_yet_is_awaited() {
    let delay = Duration::from_secs(120);
    let sim = Scenario::happy_path().connect_delay(delay).build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    verify_on(&sim, &client, &mut session).await;
    client
        .register(&mut session, &Pin::new("482913").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(session.state().name(), StateName::Registered);
    // Without a read, register's success is all the session knows.
    assert_eq!(session.next_action().action, NextAction::Done);

    let read = client.refresh(&mut session).await.unwrap().unwrap();
    assert_eq!(read.status, Some(waba_porting::NumberStatus::Pending));
    let next = session.next_action();
    assert_eq!(next.action, NextAction::AwaitConnected);
    assert_eq!(next.actor, Actor::Nobody);
    assert_eq!(next.action.step(), None);
    assert_eq!(session.state().name(), StateName::Registered);

    sim.advance(delay);
    client.refresh(&mut session).await.unwrap();
    assert_eq!(session.next_action().action, NextAction::Done);
    // The saved session keeps it across a restart.
    let json = serde_json::to_string(&session).unwrap();
    let back: waba_porting::PortingSession = serde_json::from_str(&json).unwrap();
    assert_eq!(back, session);
}
