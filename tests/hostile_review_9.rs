//! Hostile review of issue 9 (readiness check, subscribe_app,
//! set_two_step_pin). Every test here fails because of a defect, except the
//! pinned behaviour marked as such.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::json;
use waba_porting::simulator::{Fault, Scenario};
use waba_porting::{ApiErrorKind, Operation, PhoneNumberId, ReadinessCheck, RetryPolicy, Sleep};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Records every wait and never moves any clock (e.g. tokio's paused time
/// with the system clock, or a runtime timer beside a fixed test clock).
#[derive(Clone, Debug, Default)]
struct FrozenSleep {
    waits: Arc<Mutex<Vec<Duration>>>,
}

impl FrozenSleep {
    fn waits(&self) -> Vec<Duration> {
        self.waits.lock().unwrap().clone()
    }
}

#[waba_porting::async_trait]
impl Sleep for FrozenSleep {
    async fn sleep(&self, duration: Duration) {
        self.waits.lock().unwrap().push(duration);
    }
}

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

/// DEFECT 2. `Operation::ReadWaba` is unreachable in the simulator: the
/// route table maps every `GET /{id}` to `ReadPhoneNumber`, so the served
/// log misnames the WABA read, a fault planned for `ReadWaba` never fires,
/// and a fault planned for `ReadPhoneNumber` (a reconcile test's) is spent
/// by the readiness check instead.
#[tokio::test]
async fn the_simulator_cannot_tell_read_waba_from_read_phone_number() {
    let sim = Scenario::happy_path()
        .fault_at(Operation::ReadWaba, Fault::ServiceUnavailable, 1)
        .build();
    let client = sim.client().unwrap();
    let result = client.check_readiness(&sim.session()).await;
    let ops: Vec<_> = sim.served().iter().map(|r| r.operation).collect();
    assert_eq!(
        ops,
        vec![
            Some(Operation::ListSubscribedApps),
            Some(Operation::ReadWaba)
        ],
        "the served log"
    );
    let err =
        result.expect_err("the fault planned for ReadWaba should have answered the WABA read");
    assert_eq!(err.operation(), Some(Operation::ReadWaba));
}

/// DEFECT 3. `idempotent()` enforces the deadline on the clock alone; the
/// step runner (`run`) counts the waits it slept too (`spent.max(waited)`),
/// because `RetryPolicy::deadline` is "the longest a step call may spend
/// waiting between attempts, in all". With a sleep that does not move the
/// client's clock, subscribe_app waits far past the deadline while
/// start_migration under the very same answers stops at it.
#[tokio::test]
async fn subscribe_app_sleeps_past_the_deadline_when_the_clock_does_not_move() {
    let deadline = Duration::from_secs(30);
    let policy = RetryPolicy::default()
        .with_max_attempts(10)
        .with_deadline(deadline);
    let rate_limited = Fault::RateLimit {
        code: 80007,
        retry_after: Some(Duration::from_secs(10)),
    };

    // The step runner: three waits of 10 s fit the 30 s deadline, then stop.
    let sim = Scenario::happy_path()
        .fault_at(Operation::StartMigration, rate_limited.clone(), 100)
        .build();
    let sleep = FrozenSleep::default();
    let client = sim
        .client_builder()
        .retry_policy(policy.clone())
        .sleep(sleep.clone())
        .build()
        .unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap_err();
    let step_waits: Duration = sleep.waits().iter().sum();
    assert!(
        step_waits <= deadline,
        "start_migration waited {step_waits:?}"
    );

    // The idempotent call under the same policy and answers.
    let sim = Scenario::happy_path()
        .fault_at(Operation::SubscribeApp, rate_limited, 100)
        .build();
    let sleep = FrozenSleep::default();
    let client = sim
        .client_builder()
        .retry_policy(policy)
        .sleep(sleep.clone())
        .build()
        .unwrap();
    client
        .subscribe_app(sim.scenario().waba_id())
        .await
        .unwrap_err();
    let waits: Duration = sleep.waits().iter().sum();
    assert!(
        waits <= deadline,
        "subscribe_app waited {waits:?} in {} sleeps, past the {deadline:?} deadline",
        sleep.waits().len()
    );
}

/// DEFECT 4. Since the change the simulator answers `GET /{waba-id}` with
/// phone-number fields by `{"id": waba}` (it used to say unknown object;
/// Graph says (#100) nonexisting field on node type WhatsAppBusinessAccount).
/// A WABA id passed where a phone number id belongs now reads as a number
/// that is neither connected nor verified, instead of an error.
#[tokio::test]
async fn a_waba_id_reads_as_a_phone_number_in_the_simulator() {
    let sim = Scenario::happy_path().build();
    let client = sim.client().unwrap();
    let mixed_up = PhoneNumberId::new(sim.scenario().waba_id().as_str()).unwrap();
    let read = client.read_phone_number(&mixed_up).await;
    assert!(read.is_err(), "a WABA read as a phone number: {read:?}");
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
