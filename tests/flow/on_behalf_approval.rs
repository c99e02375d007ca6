//! The "message on behalf" check works whether or not Graph sends the
//! undocumented `on_behalf_of_business_info.status`: its documented source
//! is the WABA's requests in progress
//! (`GET /{waba-id}/in_progress_onbehalf_request`, statuses `APPROVE`,
//! `DECLINE`, `IN_PROGRESS`, `EXPIRED`, `PENDING`, `CANCELED`, `INVALID`).
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use crate::common;

use common::*;
use serde_json::json;
use waba_porting::simulator::Scenario;
use waba_porting::{
    ApiErrorKind, OnBehalfRequestStatus, Operation, ReadinessCheck, ReadinessReport, StatusMeaning,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn on_behalf_blocker(report: &ReadinessReport) -> Option<&waba_porting::ReadinessFinding> {
    report
        .blockers()
        .find(|f| f.check == ReadinessCheck::OnBehalfApproval)
}

/// With the status on the WABA (the simulator's default), it decides.
#[tokio::test]
async fn with_the_status_on_the_waba() {
    let sim = Scenario::on_behalf_not_accepted().build();
    let client = sim.client().unwrap();
    let report = client.check_readiness(&sim.session()).await.unwrap();
    let finding = on_behalf_blocker(&report).expect("blocked");
    assert_eq!(finding.kind, Some(ApiErrorKind::OnBehalfNotAccepted));
    assert!(
        finding.detail.contains("on_behalf_of_business_info.status"),
        "{}",
        finding.detail
    );
}

/// Without the status, the requests in progress tell: not approved is a
/// blocker the port then meets; once approved (nothing in progress), the
/// check passes and the port goes through.
#[tokio::test]
async fn without_the_status_the_requests_in_progress_decide() {
    let sim = Scenario::on_behalf_not_accepted()
        .on_behalf_info_status(false)
        .build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    let report = client.check_readiness(&session).await.unwrap();
    let finding = on_behalf_blocker(&report).expect("blocked");
    assert!(finding.detail.contains("IN_PROGRESS"), "{}", finding.detail);
    assert!(
        finding.detail.contains("in_progress_onbehalf_request"),
        "{}",
        finding.detail
    );
    let ops: Vec<_> = sim.served().iter().map(|r| r.operation).collect();
    assert!(
        ops.contains(&Some(Operation::ListOnBehalfRequests)),
        "{ops:?}"
    );
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::OnBehalfNotAccepted));

    sim.approve_on_behalf(session.waba_id());
    let report = client.check_readiness(&session).await.unwrap();
    assert!(report.is_ready(), "{report}");
    assert!(report.checked.contains(&ReadinessCheck::OnBehalfApproval));
    client.start_migration(&mut session).await.unwrap();
}

/// Each documented request status: only an approval lets the port start,
/// and the check says so before the port tries.
#[tokio::test]
async fn every_request_status_is_known_and_only_an_approval_passes() {
    for status in [
        "APPROVE",
        "DECLINE",
        "IN_PROGRESS",
        "EXPIRED",
        "PENDING",
        "CANCELED",
        "INVALID",
    ] {
        let parsed = OnBehalfRequestStatus::from_graph(status);
        assert!(
            !matches!(parsed, OnBehalfRequestStatus::Other(_)),
            "{status}"
        );
        let approved = status == "APPROVE";
        assert_eq!(parsed.meaning() == StatusMeaning::Proceed, approved);
        let sim = Scenario::happy_path()
            .on_behalf_info_status(false)
            .on_behalf_request(Some(status))
            .build();
        let client = sim.client().unwrap();
        let mut session = sim.session();
        let report = client.check_readiness(&session).await.unwrap();
        assert_eq!(report.is_ready(), approved, "{status}: {report}");
        let result = client.start_migration(&mut session).await;
        if approved {
            result.unwrap();
        } else {
            let finding = on_behalf_blocker(&report).unwrap();
            assert!(finding.detail.contains(status), "{}", finding.detail);
            assert_eq!(
                result.unwrap_err().api_kind(),
                Some(ApiErrorKind::OnBehalfNotAccepted),
                "{status}"
            );
        }
    }
    // A status nobody documented is kept, and never approves.
    let other = OnBehalfRequestStatus::from_graph("SOMETHING_NEW");
    assert_eq!(other, OnBehalfRequestStatus::Other("SOMETHING_NEW".into()));
    assert_eq!(other.meaning(), StatusMeaning::Unknown);
}

async fn mount_waba_without_status(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}/subscribed_apps")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"whatsapp_business_api_data": {"id": "1", "name": "app"}}]
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": WABA,
            "account_review_status": "APPROVED",
            "business_verification_status": "VERIFIED",
            "primary_funding_id": "1972385232742141",
            "on_behalf_of_business_info": {"id": BUSINESS, "name": "Customer business"}
        })))
        .mount(server)
        .await;
}

/// Meta's own example answer of the edge (two requests in progress) reads
/// as a blocker; the request is the documented one.
#[tokio::test]
async fn the_documented_example_answer_is_a_blocker() {
    let server = MockServer::start().await;
    mount_waba_without_status(&server).await;
    let edge = format!("/{VERSION}/{WABA}/in_progress_onbehalf_request");
    Mock::given(method("GET"))
        .and(path(edge.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                {"id": "1234567890123456", "status": "IN_PROGRESS",
                 "business_owned_object": "9876543210987654",
                 "receiving_business": {"id": "5678901234567890", "name": "Partner Business LLC"},
                 "requesting_business": {"id": "2345678901234567", "name": "My Business Inc"}},
                {"id": "2345678901234567", "status": "IN_PROGRESS",
                 "business_owned_object": "9876543210987654"}
            ],
            "paging": {"cursors": {"after": "CURSOR_AFTER_PLACEHOLDER",
                                   "before": "CURSOR_BEFORE_PLACEHOLDER"}}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let report = client(&server).check_readiness(&session()).await.unwrap();
    server.verify().await;
    let sent = requests(&server).await;
    let request = sent.iter().find(|r| r.url.path() == edge).unwrap();
    assert_eq!(request.method.as_str(), "GET");
    assert!(request.body.is_empty());
    let finding = on_behalf_blocker(&report).expect("blocked");
    assert_eq!(finding.kind, Some(ApiErrorKind::OnBehalfNotAccepted));
    // Everything else was in order.
    assert_eq!(report.blockers().count(), 1, "{report}");
}

/// The edge refused (a permission error) and no status on the WABA: only
/// this check is left out, with why; the rest of the report stands.
#[tokio::test]
async fn an_unreadable_edge_without_a_status_leaves_only_this_check_out() {
    let server = MockServer::start().await;
    mount_waba_without_status(&server).await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/{VERSION}/{WABA}/in_progress_onbehalf_request"
        )))
        .respond_with(ResponseTemplate::new(403).set_body_json(graph_error(
            200,
            Some(1349174),
            "Permission Denied",
        )))
        .mount(&server)
        .await;
    let report = client(&server).check_readiness(&session()).await.unwrap();
    // Nothing blocks, but a hidden check may: not ready.
    assert!(report.blockers().next().is_none(), "{report}");
    assert!(!report.is_ready(), "{report}");
    assert!(!report.checked.contains(&ReadinessCheck::OnBehalfApproval));
    let why = report
        .why_not_checked(ReadinessCheck::OnBehalfApproval)
        .unwrap();
    assert!(why.contains("in_progress_onbehalf_request"), "{why}");
    assert!(why.contains("carried no status"), "{why}");
    for check in [
        ReadinessCheck::WabaReview,
        ReadinessCheck::BusinessVerification,
        ReadinessCheck::PaymentMethod,
        ReadinessCheck::BusinessOwnership,
    ] {
        assert!(report.checked.contains(&check), "{check:?}");
    }
}
