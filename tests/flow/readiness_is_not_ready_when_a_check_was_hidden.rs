//! A readiness report is never "ready" while a check that could be made
//! now was left out: a field Graph refused, a field the token was not
//! granted, or a read that answered nothing may hide the very blocker
//! (the WABA's review, the number's status) that would stop the port. A
//! caller gating the port on `is_ready()` must not go ahead on what was
//! not seen. Only the number's checks before the port started (no number
//! id yet) do not count against it.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use crate::common;

use common::*;
use serde_json::json;
use waba_porting::simulator::reference as answers;
use waba_porting::{ReadinessCheck, StateName};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ALL_FIELDS: &str =
    "id,account_review_status,business_verification_status,primary_funding_id,on_behalf_of_business_info";

fn refusal(field: &str, node: &str) -> ResponseTemplate {
    let a = answers::nonexisting_field(field, node, "AZ8or2-trace");
    ResponseTemplate::new(a.status).set_body_raw(a.body.into_bytes(), a.content_type)
}

async fn mount_edges(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}/subscribed_apps")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"whatsapp_business_api_data": {"id": "1", "name": "app"}}]
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/{VERSION}/{WABA}/in_progress_onbehalf_request"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "data": [] })))
        .mount(server)
        .await;
}

/// Graph refuses `account_review_status` (the field that carries a
/// REJECTED / PENDING review of the destination WABA): the report says
/// ready although the review, a check that blocks ports, was never made.
#[tokio::test]
async fn readiness_is_not_ready_when_a_refused_field_hid_the_waba_review() {
    let server = MockServer::start().await;
    mount_edges(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}")))
        .and(query_param("fields", ALL_FIELDS))
        .respond_with(refusal("account_review_status", "WhatsAppBusinessAccount"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}")))
        .and(query_param(
            "fields",
            "id,business_verification_status,primary_funding_id,on_behalf_of_business_info",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": WABA,
            "business_verification_status": "verified",
            "primary_funding_id": "1972385232742141",
            "on_behalf_of_business_info": {"id": BUSINESS, "name": "Customer"}
        })))
        .mount(&server)
        .await;

    let report = client(&server).check_readiness(&session()).await.unwrap();
    assert!(report.why_not_checked(ReadinessCheck::WabaReview).is_some());
    assert!(
        !report.is_ready(),
        "the WABA review was never checked, yet the report says ready: {report}"
    );
}

/// The number's `status` refused (the field that shows BANNED / DELETED):
/// the report is "ready" with the gone-number check never made.
#[tokio::test]
async fn readiness_is_not_ready_when_a_refused_field_hid_the_number_status() {
    let server = MockServer::start().await;
    mount_edges(&server).await;
    Mock::given(method("POST"))
        .and(path(start_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": NUMBER_ID})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": WABA,
            "account_review_status": "APPROVED",
            "business_verification_status": "verified",
            "primary_funding_id": "1972385232742141",
            "on_behalf_of_business_info": {"id": BUSINESS, "name": "Customer"}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{NUMBER_ID}")))
        .and(query_param(
            "fields",
            "id,status,name_status,new_name_status",
        ))
        .respond_with(refusal("status", "WhatsAppBusinessPhoneNumber"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{NUMBER_ID}")))
        .and(query_param("fields", "id,name_status,new_name_status"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": NUMBER_ID, "name_status": "APPROVED"
        })))
        .mount(&server)
        .await;

    let client = client(&server);
    let mut session = session();
    client.start_migration(&mut session).await.unwrap();
    assert_eq!(session.state().name(), StateName::Initiated);
    let report = client.check_readiness(&session).await.unwrap();
    assert!(report
        .why_not_checked(ReadinessCheck::PhoneNumberStatus)
        .is_some());
    assert!(
        !report.is_ready(),
        "the number's status (BANNED/DELETED…) was never checked, yet ready: {report}"
    );
}

/// A number read answering an empty object (no id, no field) is taken as
/// "the number, nothing known" (`empty_record`): every number check is
/// skipped and the report is ready. Before, such an answer was a shape
/// error.
#[tokio::test]
async fn readiness_is_not_ready_when_the_number_read_answered_nothing() {
    let server = MockServer::start().await;
    mount_edges(&server).await;
    Mock::given(method("POST"))
        .and(path(start_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": NUMBER_ID})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": WABA,
            "account_review_status": "APPROVED",
            "business_verification_status": "verified",
            "primary_funding_id": "1972385232742141",
            "on_behalf_of_business_info": {"id": BUSINESS, "name": "Customer"}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{NUMBER_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;

    let client = client(&server);
    let mut session = session();
    client.start_migration(&mut session).await.unwrap();
    let result = client.check_readiness(&session).await;
    match result {
        Err(_) => {}
        Ok(report) => assert!(
            !report.is_ready(),
            "an empty number answer checked nothing, yet ready: {report}"
        ),
    }
}
