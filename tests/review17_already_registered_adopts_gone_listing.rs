//! Hostile review 17: at `start_migration`, Meta's 409 "Phone number is
//! already registered with WhatsApp Business" (the number is registered
//! *somewhere*) makes the client look the number up in the destination
//! WABA. When the only listing there is a stale object the number left
//! (status MIGRATED: it moved away from this WABA earlier), that stale
//! object is adopted as "the number", and because it reads as gone the
//! brand-new session is Rejected(NumberMigrated) with NextAction::StartOver
//! — which a new session repeats identically. The stale object is not the
//! number Meta is talking about: Meta's answer (AlreadyRegistered, the
//! number is registered elsewhere) should stand and the session stay as
//! it was.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

mod common;

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
