//! At `start_migration`, Meta's 409 "Phone number is already registered
//! with WhatsApp Business" makes the client look the number up in the
//! destination WABA. A listing there that is gone (status MIGRATED: an old
//! object the number left earlier) is not the number Meta is talking
//! about: it is never adopted, Meta's answer (AlreadyRegistered, the
//! number is registered elsewhere) stands, and the new session stays as
//! it was rather than being rejected with "start over" (which a new
//! session would repeat identically).
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use crate::common;

use common::*;
use serde_json::json;
use waba_porting::{ApiErrorKind, StateName};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn start_does_not_adopt_a_stale_migrated_listing_on_already_registered() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(start_path()))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({"error": {
            "message": "Phone number is already registered with WhatsApp Business",
            "type": "GraphMethodException", "code": 100, "fbtrace_id": "AXsgnV2Cm3ZMGF3dF_cfYIn"
        }})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(start_path()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{
            "id": "120000000000001",
            "display_phone_number": "+1 415-555-0123",
            "verified_name": "Old object",
            "status": "MIGRATED",
            "code_verification_status": "VERIFIED"
        }]})))
        .mount(&server)
        .await;

    let client = client(&server);
    let mut session = session();
    let result = client.start_migration(&mut session).await;
    assert_ne!(
        session.state().name(),
        StateName::Rejected,
        "a fresh session was rejected on a stale listing: {:?} / {:?}",
        session.state(),
        result
    );
    let err = result.expect_err("Meta's refusal stands");
    assert_eq!(err.api_kind(), Some(ApiErrorKind::AlreadyRegistered));
}
