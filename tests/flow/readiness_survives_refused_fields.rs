//! The readiness check survives Graph: a field it refuses (error 100
//! "nonexisting field" — `primary_funding_id` and
//! `on_behalf_of_business_info` are real Graph fields Meta's OpenAPI
//! description leaves out) leaves only its own check unchecked, with why,
//! and every other check is still made: the WABA is read again without the
//! refused field, or, when Graph's message does not say which field, one
//! field at a time.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use crate::common;

use common::*;
use serde_json::{json, Value};
use waba_porting::simulator::reference::{self as answers, Answer};
use waba_porting::simulator::Scenario;
use waba_porting::{ApiErrorKind, Operation, ReadinessCheck, ReadinessReport, StateName};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ALL_FIELDS: &str =
    "id,account_review_status,business_verification_status,primary_funding_id,on_behalf_of_business_info";

fn template(answer: Answer) -> ResponseTemplate {
    ResponseTemplate::new(answer.status).set_body_raw(answer.body.into_bytes(), answer.content_type)
}

/// Graph's refusal of `field` on a WABA.
fn refusal(field: &str) -> ResponseTemplate {
    template(answers::nonexisting_field(
        field,
        "WhatsAppBusinessAccount",
        "AZ8or2-trace",
    ))
}

/// A WABA in order, with only `fields` (and `id`).
fn waba_with(fields: &[&str]) -> Value {
    let all = json!({
        "id": WABA,
        "account_review_status": "APPROVED",
        "business_verification_status": "verified",
        "primary_funding_id": "1972385232742141",
        "on_behalf_of_business_info": {"id": BUSINESS, "name": "Customer business"}
    });
    let mut out = serde_json::Map::new();
    for (key, value) in all.as_object().unwrap() {
        if key == "id" || fields.contains(&key.as_str()) {
            out.insert(key.clone(), value.clone());
        }
    }
    Value::Object(out)
}

/// Mounts `subscribed_apps` (one app) and the requests in progress
/// (`requests`: their statuses).
async fn mount_edges(server: &MockServer, requests: &[&str]) {
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}/subscribed_apps")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"whatsapp_business_api_data": {"id": "1", "name": "app"}}]
        })))
        .mount(server)
        .await;
    let data: Vec<Value> = requests
        .iter()
        .map(|status| json!({"id": "1", "status": status, "business_owned_object": WABA}))
        .collect();
    Mock::given(method("GET"))
        .and(path(format!(
            "/{VERSION}/{WABA}/in_progress_onbehalf_request"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": data })))
        .mount(server)
        .await;
}

/// Mounts the WABA read answering `fields` (the `fields` query, exactly)
/// with `response`, expecting it once.
async fn mount_waba(server: &MockServer, fields: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}")))
        .and(query_param("fields", fields))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

/// The `fields` of each WABA read sent, in order.
async fn waba_reads(server: &MockServer) -> Vec<String> {
    requests(server)
        .await
        .iter()
        .filter(|r| r.url.path() == format!("/{VERSION}/{WABA}"))
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "fields")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect()
}

fn checked(report: &ReadinessReport, check: ReadinessCheck) -> bool {
    report.checked.contains(&check)
}

#[tokio::test]
async fn a_refused_primary_funding_id_leaves_only_the_payment_check_out() {
    let server = MockServer::start().await;
    mount_edges(&server, &[]).await;
    mount_waba(&server, ALL_FIELDS, refusal("primary_funding_id")).await;
    let without =
        "id,account_review_status,business_verification_status,on_behalf_of_business_info";
    let body = waba_with(&[
        "account_review_status",
        "business_verification_status",
        "on_behalf_of_business_info",
    ]);
    mount_waba(
        &server,
        without,
        ResponseTemplate::new(200).set_body_json(body),
    )
    .await;

    let report = client(&server).check_readiness(&session()).await.unwrap();

    // The re-request left out the refused field, and only it.
    assert_eq!(waba_reads(&server).await, vec![ALL_FIELDS, without]);
    server.verify().await;
    // Nothing blocks, but a hidden check may: not ready.
    assert!(report.blockers().next().is_none(), "{report}");
    assert!(!report.is_ready(), "{report}");
    assert!(!checked(&report, ReadinessCheck::PaymentMethod));
    let why = report
        .why_not_checked(ReadinessCheck::PaymentMethod)
        .expect("with why");
    assert!(
        why.contains("nonexisting field (primary_funding_id)"),
        "{why}"
    );
    // The rest was read: no "no payment method" warning for a field Graph
    // would not show, and every other WABA check made.
    assert_eq!(report.warnings().count(), 0, "{report}");
    for check in [
        ReadinessCheck::WebhookSubscription,
        ReadinessCheck::WabaReview,
        ReadinessCheck::BusinessVerification,
        ReadinessCheck::BusinessOwnership,
        ReadinessCheck::OnBehalfApproval,
    ] {
        assert!(checked(&report, check), "{check:?}: {report}");
    }
    assert!(report.to_string().contains("unchecked payment_method"));
}

#[tokio::test]
async fn a_refused_on_behalf_of_business_info_leaves_only_the_ownership_check_out() {
    let server = MockServer::start().await;
    // The documented source still says the customer has not approved.
    mount_edges(&server, &["IN_PROGRESS"]).await;
    mount_waba(&server, ALL_FIELDS, refusal("on_behalf_of_business_info")).await;
    let without = "id,account_review_status,business_verification_status,primary_funding_id";
    let body = waba_with(&[
        "account_review_status",
        "business_verification_status",
        "primary_funding_id",
    ]);
    mount_waba(
        &server,
        without,
        ResponseTemplate::new(200).set_body_json(body),
    )
    .await;

    let report = client(&server).check_readiness(&session()).await.unwrap();

    assert_eq!(waba_reads(&server).await, vec![ALL_FIELDS, without]);
    server.verify().await;
    assert!(!checked(&report, ReadinessCheck::BusinessOwnership));
    let why = report
        .why_not_checked(ReadinessCheck::BusinessOwnership)
        .expect("with why");
    assert!(
        why.contains("nonexisting field (on_behalf_of_business_info)"),
        "{why}"
    );
    for check in [
        ReadinessCheck::WabaReview,
        ReadinessCheck::BusinessVerification,
        ReadinessCheck::PaymentMethod,
        ReadinessCheck::OnBehalfApproval,
    ] {
        assert!(checked(&report, check), "{check:?}: {report}");
    }
    // The "message on behalf" check read the requests in progress.
    let blockers: Vec<_> = report.blockers().collect();
    assert_eq!(blockers.len(), 1, "{report}");
    assert_eq!(blockers[0].check, ReadinessCheck::OnBehalfApproval);
    assert_eq!(blockers[0].kind, Some(ApiErrorKind::OnBehalfNotAccepted));
    assert!(
        blockers[0].detail.contains("in_progress_onbehalf_request"),
        "{}",
        blockers[0].detail
    );
}

#[tokio::test]
async fn both_undocumented_fields_refused_cost_one_request_each() {
    let server = MockServer::start().await;
    mount_edges(&server, &[]).await;
    mount_waba(&server, ALL_FIELDS, refusal("primary_funding_id")).await;
    let second = "id,account_review_status,business_verification_status,on_behalf_of_business_info";
    mount_waba(&server, second, refusal("on_behalf_of_business_info")).await;
    let third = "id,account_review_status,business_verification_status";
    let body = waba_with(&["account_review_status", "business_verification_status"]);
    mount_waba(
        &server,
        third,
        ResponseTemplate::new(200).set_body_json(body),
    )
    .await;

    let report = client(&server).check_readiness(&session()).await.unwrap();

    assert_eq!(waba_reads(&server).await, vec![ALL_FIELDS, second, third]);
    server.verify().await;
    // Nothing blocks, but a hidden check may: not ready.
    assert!(report.blockers().next().is_none(), "{report}");
    assert!(!report.is_ready(), "{report}");
    assert!(checked(&report, ReadinessCheck::WabaReview));
    assert!(checked(&report, ReadinessCheck::BusinessVerification));
    // Without the WABA's status field, the requests in progress decide.
    assert!(checked(&report, ReadinessCheck::OnBehalfApproval));
    assert!(report
        .why_not_checked(ReadinessCheck::PaymentMethod)
        .is_some());
    assert!(report
        .why_not_checked(ReadinessCheck::BusinessOwnership)
        .is_some());
}

/// A refusal whose message does not say which field: every field is read
/// alone, and only the one refused alone is left out.
#[tokio::test]
async fn a_refusal_that_names_no_field_falls_back_to_one_field_at_a_time() {
    let server = MockServer::start().await;
    mount_edges(&server, &[]).await;
    let vague = ResponseTemplate::new(400).set_body_json(json!({"error": {
        "message": "Invalid field requested. Available fields: id, account_review_status",
        "type": "OAuthException", "code": 100, "fbtrace_id": "AZ8or2-trace"
    }}));
    mount_waba(&server, ALL_FIELDS, vague.clone()).await;
    for field in [
        "account_review_status",
        "business_verification_status",
        "on_behalf_of_business_info",
    ] {
        let body = waba_with(&[field]);
        mount_waba(
            &server,
            &format!("id,{field}"),
            ResponseTemplate::new(200).set_body_json(body),
        )
        .await;
    }
    mount_waba(&server, "id,primary_funding_id", vague).await;

    let report = client(&server).check_readiness(&session()).await.unwrap();

    assert_eq!(
        waba_reads(&server).await,
        vec![
            ALL_FIELDS,
            "id,account_review_status",
            "id,business_verification_status",
            "id,primary_funding_id",
            "id,on_behalf_of_business_info",
        ]
    );
    server.verify().await;
    // Nothing blocks, but a hidden check may: not ready.
    assert!(report.blockers().next().is_none(), "{report}");
    assert!(!report.is_ready(), "{report}");
    let why = report
        .why_not_checked(ReadinessCheck::PaymentMethod)
        .unwrap();
    assert!(why.contains("Invalid field requested"), "{why}");
    for check in [
        ReadinessCheck::WabaReview,
        ReadinessCheck::BusinessVerification,
        ReadinessCheck::BusinessOwnership,
        ReadinessCheck::OnBehalfApproval,
    ] {
        assert!(checked(&report, check), "{check:?}: {report}");
    }
}

/// Another error 100 (an object that does not exist) is no refused field:
/// the check fails with it, as before.
#[tokio::test]
async fn another_error_100_is_still_the_checks_error() {
    let server = MockServer::start().await;
    mount_edges(&server, &[]).await;
    mount_waba(
        &server,
        ALL_FIELDS,
        template(answers::unknown_object(WABA, "AZ8or2-trace")),
    )
    .await;
    let err = client(&server)
        .check_readiness(&session())
        .await
        .unwrap_err();
    assert_eq!(err.operation(), Some(Operation::ReadWaba));
    assert_eq!(err.api_kind(), Some(ApiErrorKind::InvalidParameter));
    assert_eq!(waba_reads(&server).await.len(), 1, "not asked again");
}

/// The simulator refuses what a scenario says Graph refuses; the check
/// reads the rest, and the port meets what the check predicted.
#[tokio::test]
async fn the_simulator_refuses_a_field_and_the_check_reads_the_rest() {
    let sim = Scenario::happy_path()
        .refusing_field("primary_funding_id")
        .build();
    let client = sim.client().unwrap();
    let report = client.check_readiness(&sim.session()).await.unwrap();
    // Nothing blocks, but a hidden check may: not ready.
    assert!(report.blockers().next().is_none(), "{report}");
    assert!(!report.is_ready(), "{report}");
    assert!(report
        .why_not_checked(ReadinessCheck::PaymentMethod)
        .unwrap()
        .contains("(#100) Tried accessing nonexisting field (primary_funding_id) on node type (WhatsAppBusinessAccount)"));
    let reads: Vec<_> = sim
        .served()
        .iter()
        .filter(|r| r.operation == Some(Operation::ReadWaba))
        .map(|r| r.status)
        .collect();
    assert_eq!(reads, vec![Some(400), Some(200)]);

    // Both refused, and the customer has not approved: the requests in
    // progress still tell, and the port fails as predicted.
    let sim = Scenario::on_behalf_not_accepted()
        .refusing_field("primary_funding_id")
        .refusing_field("on_behalf_of_business_info")
        .build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    let report = client.check_readiness(&session).await.unwrap();
    let blockers: Vec<_> = report.blockers().map(|f| f.check).collect();
    assert_eq!(blockers, vec![ReadinessCheck::OnBehalfApproval], "{report}");
    assert!(report
        .why_not_checked(ReadinessCheck::BusinessOwnership)
        .is_some());
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::OnBehalfNotAccepted));
    sim.approve_on_behalf(session.waba_id());
    // Approved: no blocker left, though the refused checks stay out.
    let report = client.check_readiness(&session).await.unwrap();
    assert!(report.blockers().next().is_none(), "{report}");
    assert!(!report.is_ready(), "{report}");
    client.start_migration(&mut session).await.unwrap();
}

/// The number read survives a refusal too: a refused `name_status` leaves
/// only the display name unchecked; the number's status is still read.
#[tokio::test]
async fn a_refused_number_field_leaves_only_its_own_check_out() {
    let sim = Scenario::happy_path().refusing_field("name_status").build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    assert_eq!(session.state().name(), StateName::Initiated);
    let report = client.check_readiness(&session).await.unwrap();
    // Nothing blocks, but a hidden check may: not ready.
    assert!(report.blockers().next().is_none(), "{report}");
    assert!(!report.is_ready(), "{report}");
    assert!(report
        .why_not_checked(ReadinessCheck::DisplayName)
        .unwrap()
        .contains("nonexisting field (name_status)"));
    assert!(checked(&report, ReadinessCheck::PhoneNumberStatus));
    assert!(checked(&report, ReadinessCheck::PaymentMethod));
}
