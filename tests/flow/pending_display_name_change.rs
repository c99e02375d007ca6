//! A display-name change pending review is a readiness blocker: Meta
//! requires none pending for a port. The check reads the number's
//! `new_name_status` (a real Graph field Meta's OpenAPI description leaves
//! out); Graph refusing that field leaves only this check out.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use crate::common;

use common::*;
use serde_json::json;
use waba_porting::simulator::Scenario;
use waba_porting::{NameStatus, PhoneNumberId, ReadinessCheck, Severity};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_pending_name_change_blocks_until_meta_reviewed_it() {
    let sim = Scenario::happy_path().name_change_pending(true).build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();

    let report = client.check_readiness(&session).await.unwrap();
    assert!(!report.is_ready(), "{report}");
    let blockers: Vec<_> = report.blockers().collect();
    assert_eq!(blockers.len(), 1, "{report}");
    let finding = blockers[0];
    assert_eq!(finding.check, ReadinessCheck::DisplayNameChange);
    assert_eq!(finding.severity, Severity::Blocker);
    assert!(
        finding.detail.contains("PENDING_REVIEW"),
        "{}",
        finding.detail
    );
    assert!(finding
        .remediation
        .contains("no display-name change pending"));
    // The approved current name is not the problem.
    assert!(report.checked.contains(&ReadinessCheck::DisplayName));

    // The number read says so too.
    let id = session.state().phone_number_id().unwrap().clone();
    let sent = sim.served();
    let read = sent.last().unwrap();
    assert_eq!(read.path, format!("/v25.0/{}", id.as_str()));

    sim.set_name_change_pending(session.phone_number(), false);
    let report = client.check_readiness(&session).await.unwrap();
    assert!(report.is_ready(), "{report}");
    assert!(report.checked.contains(&ReadinessCheck::DisplayNameChange));
}

/// Before the port started there is no number to read: the check is left
/// out, with why.
#[tokio::test]
async fn before_the_start_the_check_is_left_out_with_why() {
    let sim = Scenario::happy_path().name_change_pending(true).build();
    let report = sim
        .client()
        .unwrap()
        .check_readiness(&sim.session())
        .await
        .unwrap();
    assert!(report.is_ready(), "{report}");
    let why = report
        .why_not_checked(ReadinessCheck::DisplayNameChange)
        .unwrap();
    assert!(why.contains("no phone number id"), "{why}");
}

/// Graph refusing `new_name_status` leaves only this check out: the name
/// and the status are still read.
#[tokio::test]
async fn a_refused_new_name_status_leaves_only_this_check_out() {
    let sim = Scenario::happy_path()
        .name_change_pending(true)
        .refusing_field("new_name_status")
        .build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    let report = client.check_readiness(&session).await.unwrap();
    // Nothing blocks, but a hidden check may: not ready.
    assert!(report.blockers().next().is_none(), "{report}");
    assert!(!report.is_ready(), "{report}");
    let why = report
        .why_not_checked(ReadinessCheck::DisplayNameChange)
        .unwrap();
    assert!(why.contains("nonexisting field (new_name_status)"), "{why}");
    assert!(report.checked.contains(&ReadinessCheck::DisplayName));
    assert!(report.checked.contains(&ReadinessCheck::PhoneNumberStatus));
}

/// On the wire: the readiness read of the number names the field; an
/// unknown value is kept and is a warning, never read as "nothing pending".
#[tokio::test]
async fn the_readiness_read_asks_for_new_name_status() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        &start_path(),
        ResponseTemplate::new(200).set_body_json(json!({"id": NUMBER_ID})),
        1,
    )
    .await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}/subscribed_apps")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"whatsapp_business_api_data": {"id": "1"}}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/{VERSION}/{WABA}/in_progress_onbehalf_request"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": WABA, "account_review_status": "APPROVED",
            "business_verification_status": "verified", "primary_funding_id": "1",
            "on_behalf_of_business_info": {"id": BUSINESS, "name": "Customer"}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{NUMBER_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": NUMBER_ID, "status": "PENDING", "name_status": "APPROVED",
            "new_name_status": "SOMETHING_NEW"
        })))
        .mount(&server)
        .await;
    let client = client(&server);
    let mut session = session();
    client.start_migration(&mut session).await.unwrap();
    let report = client.check_readiness(&session).await.unwrap();

    let sent = requests(&server).await;
    let read = sent
        .iter()
        .find(|r| r.url.path() == format!("/{VERSION}/{NUMBER_ID}"))
        .unwrap();
    let fields: Vec<_> = read.url.query_pairs().into_owned().collect();
    assert_eq!(
        fields,
        vec![(
            "fields".to_owned(),
            "id,status,name_status,new_name_status".to_owned()
        )]
    );
    assert!(report.is_ready(), "{report}");
    let warning = report
        .warnings()
        .find(|f| f.check == ReadinessCheck::DisplayNameChange)
        .expect("an unknown change status is a warning");
    assert!(
        warning.detail.contains("SOMETHING_NEW"),
        "{}",
        warning.detail
    );

    let record = client
        .read_phone_number(&PhoneNumberId::new(NUMBER_ID).unwrap())
        .await
        .unwrap();
    assert_eq!(
        record.new_name_status,
        Some(NameStatus::Other("SOMETHING_NEW".into()))
    );
}
