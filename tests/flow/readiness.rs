//! The readiness check reports what the port will meet: an "on behalf of"
//! request not approved (in the simulator and in Graph's own object), a
//! field not granted left out of `checked`, a permission error typed and
//! not retried, and a WABA record of another WABA refused.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use std::time::Duration;

use crate::common::*;
use serde_json::json;
use waba_porting::simulator::Scenario;
use waba_porting::{ApiErrorKind, Operation, ReadinessCheck, RetryPolicy};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// DEFECT 1. The preset `on_behalf_not_accepted` is reported ready, yet its
/// port fails at once with `OnBehalfNotAccepted`. The readiness check reads
/// `on_behalf_of_business_info` but ignores its `status`, and the simulator
/// always answers `"status": "APPROVED"` whatever the world holds.
#[tokio::test]
async fn readiness_says_ready_for_a_port_that_fails_on_the_obo_request() {
    let sim = Scenario::on_behalf_not_accepted().build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    let report = client.check_readiness(&session).await.unwrap();

    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::OnBehalfNotAccepted));
    assert!(
        !report.is_ready(),
        "the report said ready, the port failed with {:?}:\n{report}",
        err.api_kind()
    );
}

/// DEFECT 1 (client side alone): Graph says the OBO relationship is not
/// approved, in the very object the check reads; the report ignores it.
#[tokio::test]
async fn readiness_ignores_a_pending_on_behalf_of_status() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}/subscribed_apps")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"whatsapp_business_api_data": {"id": "1", "name": "app"}}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": WABA,
            "account_review_status": "APPROVED",
            "business_verification_status": "verified",
            "primary_funding_id": "1972385232742141",
            "on_behalf_of_business_info": {
                "name": "Customer business", "id": BUSINESS,
                "status": "PENDING", "type": "INTERNAL"
            }
        })))
        .mount(&server)
        .await;
    let report = client(&server).check_readiness(&session()).await.unwrap();
    assert!(
        !report.is_ready(),
        "on_behalf_of_business_info.status PENDING passed as ready:\n{report}"
    );
}

/// DEFECT 5. `ReadinessReport::checked` is documented as "the checks that
/// could be made (a field not granted to the token ... leaves its check
/// out)", but `PaymentMethod` is recorded as checked — with a warning —
/// when the answer carries no readiness field at all.
#[tokio::test]
async fn an_ungranted_field_still_counts_as_checked() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}/subscribed_apps")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"whatsapp_business_api_data": {"id": "1"}}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "id": WABA })))
        .mount(&server)
        .await;
    let report = client(&server).check_readiness(&session()).await.unwrap();
    assert_eq!(
        report.checked,
        vec![ReadinessCheck::WebhookSubscription],
        "{report}"
    );
}

/// PINNED (passes): a refusal that no retry can fix is not retried by the
/// idempotent loop, and a permission error on the readiness read is a typed
/// API error.
#[tokio::test]
async fn a_permission_error_is_neither_retried_nor_untyped() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{VERSION}/{WABA}/subscribed_apps")))
        .respond_with(ResponseTemplate::new(403).set_body_json(graph_error(
            200,
            None,
            "Permissions error",
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/{VERSION}/{WABA}/subscribed_apps")))
        .respond_with(ResponseTemplate::new(403).set_body_json(graph_error(
            200,
            None,
            "Permissions error",
        )))
        .mount(&server)
        .await;
    let client = waba_porting::PortingClient::builder()
        .access_token(TOKEN)
        .base_url(server.uri())
        .retry_policy(
            RetryPolicy::default().with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    let err = client
        .subscribe_app(&waba_porting::WabaId::new(WABA).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::PermissionDenied));
    assert_eq!(requests(&server).await.len(), 1, "not retried");
    let err = client.check_readiness(&session()).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::PermissionDenied));
    assert_eq!(err.operation(), Some(Operation::ListSubscribedApps));
}

/// DEFECT 6. The readiness check takes a WABA record of another WABA as the
/// destination's. It asks for `id` (`waba::FIELDS`) but never compares it
/// with the session's WABA, while the number read refuses "a record of
/// another number" as no answer. A wrong record (a cache or proxy mix-up, a
/// WABA id that Graph resolves elsewhere) yields a report — ready or not —
/// about the wrong account.
///
/// Expected: an `Error::UnexpectedResponse` (as for a number read), not a
/// report.
#[tokio::test]
async fn readiness_accepts_the_record_of_another_waba() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        &format!("/{VERSION}/{WABA}/subscribed_apps"),
        ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"whatsapp_business_api_data": {"id": "1", "name": "app"}}]
        })),
        1,
    )
    .await;
    answer(
        &server,
        "GET",
        &format!("/{VERSION}/{WABA}"),
        ResponseTemplate::new(200).set_body_json(json!({
            "id": "999999999999999",
            "account_review_status": "APPROVED",
            "business_verification_status": "verified",
            "primary_funding_id": "1972385232742141",
            "on_behalf_of_business_info": {
                "name": "Customer business", "id": BUSINESS,
                "status": "APPROVED", "type": "INTERNAL"
            }
        })),
        1,
    )
    .await;
    let result = client(&server).check_readiness(&session()).await;
    assert!(
        matches!(result, Err(waba_porting::Error::UnexpectedResponse(_))),
        "a record of WABA 999999999999999 was accepted for {WABA}: {result:?}"
    );
}
