//! The simulator: every preset to its end, human actions, limits, expiry,
//! faults — all on the simulated clock.

use std::time::Duration;

use serde_json::Value;
use waba_porting::simulator::reference::PHONE_NUMBER_FIELDS;
use waba_porting::simulator::{Fault, Scenario, Simulator};
use waba_porting::transport::{HttpRequest, Method};
use waba_porting::{
    Actor, ApiErrorKind, CodeMethod, CodeVerificationStatus, Error, Language, NameStatus,
    NextAction, NumberStatus, Operation, PhoneNumberId, PhoneNumberRecord, Pin, PortingClient,
    PortingSession, PortingState, RejectionReason, RetryPolicy, StateName, Transport,
    TransportErrorKind, VerificationCode, WaitReason,
};

fn pin() -> Pin {
    Pin::new("482913").unwrap()
}

/// A simulator and a client that sends each step once (no retry policy):
/// these tests look at the simulator's single answers.
fn setup(scenario: Scenario) -> (Simulator, PortingClient, PortingSession) {
    let sim = scenario.build();
    let client = sim
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let session = sim.session();
    (sim, client, session)
}

async fn request_and_verify(sim: &Simulator, client: &PortingClient, session: &mut PortingSession) {
    client
        .request_code(session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let code = sim
        .latest_code(session.phone_number())
        .expect("a code was delivered");
    client.verify_code(session, &code).await.unwrap();
}

#[tokio::test]
async fn preset_happy_path_registers() {
    let (sim, client, mut session) = setup(Scenario::happy_path());
    client.start_migration(&mut session).await.unwrap();
    request_and_verify(&sim, &client, &mut session).await;
    let state = client.register(&mut session, &pin(), None).await.unwrap();
    assert_eq!(state, StateName::Registered);
    let ops: Vec<_> = sim
        .served()
        .iter()
        .map(|r| (r.operation, r.status))
        .collect();
    assert_eq!(
        ops,
        vec![
            (Some(Operation::StartMigration), Some(200)),
            (Some(Operation::RequestCode), Some(200)),
            (Some(Operation::VerifyCode), Some(200)),
            (Some(Operation::Register), Some(200)),
        ]
    );
    // The PIN is now the number's two-step PIN: a later register with
    // another PIN would be refused.
}

#[tokio::test]
async fn preset_on_behalf_not_accepted_waits_for_the_customer() {
    let (sim, client, mut session) = setup(Scenario::on_behalf_not_accepted());
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::OnBehalfNotAccepted));
    assert_eq!(session.state().name(), StateName::AwaitingOnBehalfApproval);
    // Retrying before the customer acts does not help.
    assert!(client.start_migration(&mut session).await.is_err());
    assert_eq!(session.next_action().actor, Actor::Customer);

    assert!(sim.approve_on_behalf(session.waba_id()));
    client.start_migration(&mut session).await.unwrap();
    request_and_verify(&sim, &client, &mut session).await;
    client.register(&mut session, &pin(), None).await.unwrap();
    assert_eq!(session.state().name(), StateName::Registered);
}

#[tokio::test]
async fn preset_two_step_enabled_waits_for_the_previous_bsp() {
    let (sim, client, mut session) = setup(Scenario::two_step_enabled());
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::TwoStepEnabled));
    assert_eq!(session.next_action().actor, Actor::PreviousProvider);
    assert!(sim.disable_two_step(session.phone_number()));
    client.start_migration(&mut session).await.unwrap();
    request_and_verify(&sim, &client, &mut session).await;
    client.register(&mut session, &pin(), None).await.unwrap();
    assert_eq!(session.state().name(), StateName::Registered);
}

#[tokio::test]
async fn two_step_turned_on_before_register_is_133005_then_disabled() {
    let (sim, client, mut session) = setup(Scenario::happy_path());
    client.start_migration(&mut session).await.unwrap();
    request_and_verify(&sim, &client, &mut session).await;
    sim.set_two_step_pin(session.phone_number(), Some("111111"));
    let err = client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert_eq!(err.api().map(|e| e.code()), Some(Some(133005)));
    assert_eq!(err.api_kind(), Some(ApiErrorKind::TwoStepEnabled));
    assert_eq!(
        session.next_action().action,
        NextAction::DisableTwoStepVerification {
            then: Operation::Register
        }
    );
    sim.disable_two_step(session.phone_number());
    client.register(&mut session, &pin(), None).await.unwrap();
    assert_eq!(session.state().name(), StateName::Registered);
}

#[tokio::test]
async fn preset_eligible_for_direct_add_is_rejected() {
    let (_sim, client, mut session) = setup(Scenario::eligible_for_direct_add());
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::EligibleForDirectAdd));
    assert_eq!(
        session.state(),
        &PortingState::Rejected {
            reason: RejectionReason::EligibleForDirectAdd
        }
    );
}

#[tokio::test]
async fn preset_already_in_destination_continues_with_the_existing_id() {
    let (sim, client, mut session) = setup(Scenario::already_in_destination());
    let state = client.start_migration(&mut session).await.unwrap();
    assert_eq!(state, StateName::Initiated);
    let listed = client.list_phone_numbers(session.waba_id()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(session.state().phone_number_id(), Some(&listed[0].id));
    request_and_verify(&sim, &client, &mut session).await;
    client.register(&mut session, &pin(), None).await.unwrap();
    let ops: Vec<_> = sim
        .served()
        .iter()
        .map(|r| (r.operation, r.status))
        .take(2)
        .collect();
    assert_eq!(
        ops,
        vec![
            (Some(Operation::StartMigration), Some(400)),
            (Some(Operation::ListPhoneNumbers), Some(200))
        ]
    );
}

#[tokio::test]
async fn preset_business_mismatch_is_rejected_until_resubmitted_with_the_right_business() {
    let (sim, client, mut session) = setup(Scenario::business_mismatch());
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::BusinessMismatch));
    assert_eq!(
        session.next_action().action,
        NextAction::ResubmitWithCorrectBusinessId
    );
    // Resubmitted for the business that owns the number: a new session.
    assert!(sim.align_business(session.waba_id(), session.phone_number()));
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    assert_eq!(session.state().name(), StateName::Initiated);
}

#[tokio::test]
async fn preset_transient_failure_succeeds_on_retry() {
    let (sim, client, mut session) = setup(Scenario::transient_failure());
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::MigrationFailed));
    assert!(err.is_retryable());
    sim.advance(Duration::from_secs(60));
    client.start_migration(&mut session).await.unwrap();
    request_and_verify(&sim, &client, &mut session).await;
    client.register(&mut session, &pin(), None).await.unwrap();
    assert_eq!(session.state().name(), StateName::Registered);
}

#[tokio::test]
async fn other_migration_blockers_clear_after_the_human_fix() {
    type Fix = fn(&Simulator, &PortingSession) -> bool;
    let cases: Vec<(Scenario, ApiErrorKind, Fix)> = vec![
        (
            Scenario::happy_path().webhook_subscribed(false),
            ApiErrorKind::DestinationWebhookMissing,
            |s, p| s.subscribe_webhooks(p.waba_id()),
        ),
        (
            Scenario::happy_path().payment_method(false),
            ApiErrorKind::DestinationPaymentMissing,
            |s, p| s.add_payment_method(p.waba_id()),
        ),
        (
            Scenario::happy_path().destination_approved(false),
            ApiErrorKind::DestinationNotApproved,
            |s, p| s.approve_waba(p.waba_id()),
        ),
        (
            Scenario::happy_path().display_name_approved(false),
            ApiErrorKind::DisplayNameNotApproved,
            |s, p| s.approve_display_name(p.phone_number()),
        ),
        (
            Scenario::happy_path().source_ready(false),
            ApiErrorKind::SourceAccountNotReady,
            |s, p| s.fix_source_account(p.phone_number()),
        ),
    ];
    for (scenario, kind, fix) in cases {
        let (sim, client, mut session) = setup(scenario);
        let err = client.start_migration(&mut session).await.unwrap_err();
        assert_eq!(err.api_kind(), Some(kind));
        assert_eq!(
            session.state().name(),
            StateName::Draft,
            "{kind:?} leaves the state alone"
        );
        assert!(fix(&sim, &session));
        client.start_migration(&mut session).await.unwrap();
    }
}

#[tokio::test]
async fn register_budget_refuses_the_10th_call_and_the_simulator_blocks_the_11th() {
    let (sim, client, mut session) = setup(Scenario::happy_path());
    client.start_migration(&mut session).await.unwrap();
    request_and_verify(&sim, &client, &mut session).await;
    sim.set_two_step_pin(session.phone_number(), Some("111111"));
    // Another process holding the same verified session (its budget is its
    // own): what reaches Meta's own limit.
    let mut elsewhere = session.clone();
    let wrong = Pin::new("222222").unwrap();
    for _ in 0..9 {
        let err = client
            .register(&mut session, &wrong, None)
            .await
            .unwrap_err();
        assert_eq!(err.api_kind(), Some(ApiErrorKind::TwoStepEnabled));
        sim.advance(Duration::from_secs(60));
    }
    // The 10th within 72 hours is refused by the session: nothing is sent.
    let served = sim.served().len();
    let err = client
        .register(&mut session, &Pin::new("111111").unwrap(), None)
        .await
        .unwrap_err();
    let Error::WaitRequired(wait) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(wait.reason(), WaitReason::RegisterBudget);
    assert_eq!(sim.served().len(), served, "no request");
    assert!(wait.until() > sim.now());

    // Meta's own limit, reached by the other holder: its 2nd call is the
    // 11th within 72 hours and blocks the number for 72 hours.
    let err = client
        .register(&mut elsewhere, &wrong, None)
        .await
        .unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::TwoStepEnabled));
    let err = client
        .register(&mut elsewhere, &Pin::new("111111").unwrap(), None)
        .await
        .unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::RegisterLimitReached));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(72 * 3600)));
    let until = elsewhere.not_before().expect("the wait is on the session");
    assert_eq!(
        until,
        sim.now().saturating_add(Duration::from_secs(72 * 3600))
    );
    // The wait is reported beside who must act (still the previous BSP).
    let next = elsewhere.next_action();
    assert_eq!(next.actor, Actor::PreviousProvider);
    assert_eq!(next.not_before, Some(until));
    // Called before then, nothing is sent.
    let served = sim.served().len();
    let err = client
        .register(&mut elsewhere, &Pin::new("111111").unwrap(), None)
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::WaitRequired(w) if w.reason() == WaitReason::NotBefore));
    assert_eq!(sim.served().len(), served);

    // After the block, with the right PIN, it registers.
    sim.advance(Duration::from_secs(72 * 3600));
    client
        .register(&mut elsewhere, &Pin::new("111111").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(elsewhere.state().name(), StateName::Registered);
    assert_eq!(elsewhere.not_before(), None);
}

#[tokio::test]
async fn codes_expire_and_wrong_codes_are_rejected() {
    let (sim, client, mut session) =
        setup(Scenario::happy_path().code_ttl(Duration::from_secs(300)));
    client.start_migration(&mut session).await.unwrap();
    client
        .request_code(
            &mut session,
            CodeMethod::Voice,
            &Language::new("de_DE").unwrap(),
        )
        .await
        .unwrap();
    let delivered = sim.inbox(session.phone_number());
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].method, CodeMethod::Voice);
    assert_eq!(
        delivered[0].expires_at,
        delivered[0]
            .sent_at
            .saturating_add(Duration::from_secs(300))
    );

    // A wrong code.
    let right = delivered[0].code.clone();
    let wrong_digits = if right.secret() == "000000" {
        "000001"
    } else {
        "000000"
    };
    let err = client
        .verify_code(&mut session, &VerificationCode::new(wrong_digits).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::VerificationCodeRejected));
    assert_eq!(session.state().name(), StateName::CodeRequested);

    // The right code, too late.
    sim.advance(Duration::from_secs(301));
    let err = client.verify_code(&mut session, &right).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::VerificationCodeExpired));
    assert!(err.to_string().contains("expired"));

    // A new code, in time.
    request_and_verify(&sim, &client, &mut session).await;
    assert_eq!(session.state().name(), StateName::CodeVerified);
    assert_eq!(sim.inbox(session.phone_number()).len(), 2);
}

#[tokio::test]
async fn injected_rate_limit_carries_retry_after() {
    let (sim, client, mut session) = setup(Scenario::happy_path());
    sim.inject(
        Fault::RateLimit {
            code: 80007,
            retry_after: Some(Duration::from_secs(30)),
        },
        2,
    );
    for _ in 0..2 {
        let err = client.start_migration(&mut session).await.unwrap_err();
        assert_eq!(err.api_kind(), Some(ApiErrorKind::RateLimited));
        assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
        assert_eq!(
            session.not_before(),
            Some(sim.now().saturating_add(Duration::from_secs(30)))
        );
        // Before the wait is over the step is refused locally.
        let early = client.start_migration(&mut session).await.unwrap_err();
        assert!(matches!(early, Error::WaitRequired(_)), "{early:?}");
        sim.advance(Duration::from_secs(30));
    }
    client.start_migration(&mut session).await.unwrap();
}

#[tokio::test]
async fn injected_transients_and_html_502_are_retryable() {
    let (sim, client, mut session) = setup(Scenario::happy_path());
    sim.inject(Fault::ServiceUnavailable, 1);
    sim.inject(Fault::SomethingWentWrong, 1);
    sim.inject(Fault::BadGateway, 1);
    let first = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(first.api_kind(), Some(ApiErrorKind::Temporary));
    let second = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(second.api_kind(), Some(ApiErrorKind::Temporary));
    let third = client.start_migration(&mut session).await.unwrap_err();
    assert!(matches!(&third, Error::UnexpectedResponse(e) if e.status() == 502));
    assert!(first.is_retryable() && second.is_retryable() && third.is_retryable());
    client.start_migration(&mut session).await.unwrap();
}

#[tokio::test]
async fn latency_past_the_timeout_times_out_after_the_side_effect() {
    let sim = Scenario::happy_path().build();
    let client = sim
        .client_builder()
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut session = sim.session();
    let before = sim.now();
    sim.inject_at(
        Operation::StartMigration,
        Fault::Latency(Duration::from_secs(6)),
        1,
    );
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert!(matches!(&err, Error::Transport(e) if e.kind() == TransportErrorKind::Timeout));
    assert!(err.is_retryable());
    assert_eq!(
        sim.now(),
        before.saturating_add(Duration::from_secs(6)),
        "no real sleeping"
    );
    assert_eq!(session.state().name(), StateName::Draft);
    // Meta did create the number: the retry hears 2388012 and adopts it.
    client.start_migration(&mut session).await.unwrap();
    assert_eq!(session.state().name(), StateName::Initiated);
    let listed = client.list_phone_numbers(session.waba_id()).await.unwrap();
    assert_eq!(listed.len(), 1, "no duplicate number object");

    // Latency under the timeout only moves the clock.
    sim.inject(Fault::Latency(Duration::from_secs(2)), 1);
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_wrong_token_is_an_auth_error() {
    let sim = Scenario::happy_path().build();
    let client = sim
        .client_builder()
        .access_token("someone-elses-token")
        .build()
        .unwrap();
    let err = client
        .start_migration(&mut sim.session())
        .await
        .unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::InvalidAccessToken));
    assert_eq!(err.api().map(|e| e.status()), Some(401));
}

#[tokio::test]
async fn codes_are_reproducible_per_seed() {
    async fn first_code(seed: u64) -> String {
        let (sim, client, mut session) = setup(Scenario::happy_path().seed(seed));
        client.start_migration(&mut session).await.unwrap();
        client
            .request_code(&mut session, CodeMethod::Sms, &Language::default())
            .await
            .unwrap();
        sim.latest_code(session.phone_number())
            .unwrap()
            .secret()
            .to_owned()
    }
    assert_eq!(first_code(42).await, first_code(42).await);
    assert_ne!(first_code(42).await, first_code(43).await);
}

/// The README's downstream example, run for real.
#[tokio::test]
async fn readme_downstream_example() -> Result<(), Box<dyn std::error::Error>> {
    let sim = Scenario::on_behalf_not_accepted()
        .fault(Fault::ServiceUnavailable, 1)
        .build();
    let client = sim.client()?;
    let mut session = sim.session();

    // The 503 is retried by the client's retry policy; the customer's
    // missing approval is not (a person must act).
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::OnBehalfNotAccepted));
    assert!(!err.is_retryable());

    sim.approve_on_behalf(session.waba_id());
    client.start_migration(&mut session).await?;
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await?;
    sim.advance(Duration::from_secs(120));
    let code = sim
        .latest_code(session.phone_number())
        .expect("code delivered");
    client.verify_code(&mut session, &code).await?;
    assert_eq!(
        client.register(&mut session, &pin(), None).await?,
        StateName::Registered
    );
    Ok(())
}

// ---- The number read (GET /{phone-number-id}) ----------------------------

/// Starts the migration and returns the phone number id Meta gave.
async fn started(client: &PortingClient, session: &mut PortingSession) -> PhoneNumberId {
    client.start_migration(session).await.unwrap();
    session.state().phone_number_id().unwrap().clone()
}

/// The three statuses a reconciliation looks at.
fn statuses(
    record: &PhoneNumberRecord,
) -> (
    Option<NumberStatus>,
    Option<CodeVerificationStatus>,
    Option<&str>,
) {
    (
        record.status.clone(),
        record.code_verification_status.clone(),
        record.platform_type.as_deref(),
    )
}

/// A raw `GET` on the simulator, to see exactly which fields it answers.
async fn raw_get(sim: &Simulator, client: &PortingClient, path_and_query: &str) -> (u16, Value) {
    let url = format!("{}/{path_and_query}", client.api_root())
        .parse()
        .unwrap();
    let mut request = HttpRequest::new(Method::Get, url);
    request.headers.push(
        "Authorization",
        format!("Bearer {}", waba_porting::simulator::SIMULATOR_TOKEN),
    );
    let response = sim.send(request).await.unwrap();
    (
        response.status,
        serde_json::from_slice(&response.body).unwrap(),
    )
}

fn sorted_keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn read_reflects_each_step_of_a_port() {
    let (sim, client, mut session) = setup(Scenario::happy_path());
    let id = started(&client, &mut session).await;

    let record = client.read_phone_number(&id).await.unwrap();
    assert_eq!(record.id, id);
    assert_eq!(
        record.display_phone_number.as_deref(),
        Some("+1 4155550123")
    );
    assert_eq!(record.verified_name.as_deref(), Some("Simulated Business"));
    assert_eq!(record.name_status, Some(NameStatus::Approved));
    assert_eq!(
        statuses(&record),
        (
            Some(NumberStatus::Pending),
            Some(CodeVerificationStatus::NotVerified),
            Some("NOT_APPLICABLE")
        )
    );

    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let record = client.read_phone_number(&id).await.unwrap();
    assert_eq!(
        record.code_verification_status,
        Some(CodeVerificationStatus::NotVerified),
        "a code sent is not a code verified"
    );

    let code = sim.latest_code(session.phone_number()).unwrap();
    client.verify_code(&mut session, &code).await.unwrap();
    let record = client.read_phone_number(&id).await.unwrap();
    assert!(record.is_code_verified() && !record.is_connected());
    assert_eq!(
        statuses(&record),
        (
            Some(NumberStatus::Pending),
            Some(CodeVerificationStatus::Verified),
            Some("NOT_APPLICABLE")
        )
    );

    client.register(&mut session, &pin(), None).await.unwrap();
    let record = client.read_phone_number(&id).await.unwrap();
    assert!(record.is_connected() && record.is_code_verified());
    assert_eq!(
        statuses(&record),
        (
            Some(NumberStatus::Connected),
            Some(CodeVerificationStatus::Verified),
            Some("CLOUD_API")
        )
    );

    // Reads are served like any request and leave the session alone.
    assert_eq!(session.state().name(), StateName::Registered);
    let reads: Vec<_> = sim
        .served()
        .into_iter()
        .filter(|r| r.operation == Some(Operation::ReadPhoneNumber))
        .map(|r| (r.method, r.path, r.status))
        .collect();
    let path = format!("/v25.0/{}", id.as_str());
    assert_eq!(reads, vec![(Method::Get, path, Some(200)); 4]);
}

#[tokio::test]
async fn read_shows_expired_once_the_code_lapses_unverified() {
    let (sim, client, mut session) =
        setup(Scenario::happy_path().code_ttl(Duration::from_secs(300)));
    let id = started(&client, &mut session).await;
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let code_status = |record: PhoneNumberRecord| record.code_verification_status.unwrap();

    sim.advance(Duration::from_secs(300));
    assert_eq!(
        code_status(client.read_phone_number(&id).await.unwrap()),
        CodeVerificationStatus::NotVerified,
        "still valid at the last instant"
    );
    sim.advance(Duration::from_secs(1));
    assert_eq!(
        code_status(client.read_phone_number(&id).await.unwrap()),
        CodeVerificationStatus::Expired
    );
    // The simulator agrees with itself: the lapsed code is refused.
    let lapsed = sim.latest_code(session.phone_number()).unwrap();
    let err = client.verify_code(&mut session, &lapsed).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::VerificationCodeExpired));

    // A new code clears EXPIRED; verifying it makes it VERIFIED for good.
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    assert_eq!(
        code_status(client.read_phone_number(&id).await.unwrap()),
        CodeVerificationStatus::NotVerified
    );
    let fresh = sim.latest_code(session.phone_number()).unwrap();
    client.verify_code(&mut session, &fresh).await.unwrap();
    sim.advance(Duration::from_secs(3600));
    assert_eq!(
        code_status(client.read_phone_number(&id).await.unwrap()),
        CodeVerificationStatus::Verified,
        "a verified number does not expire with its code"
    );
}

#[tokio::test]
async fn read_reports_the_display_name_review() {
    // Already in the destination, with its name still in review.
    let (sim, client, mut session) =
        setup(Scenario::already_in_destination().display_name_approved(false));
    let id = started(&client, &mut session).await;
    let record = client.read_phone_number(&id).await.unwrap();
    assert_eq!(record.name_status, Some(NameStatus::PendingReview));
    assert!(sim.approve_display_name(session.phone_number()));
    let record = client.read_phone_number(&id).await.unwrap();
    assert_eq!(record.name_status, Some(NameStatus::Approved));
}

#[tokio::test]
async fn list_entries_and_the_read_agree() {
    let (sim, client, mut session) = setup(Scenario::happy_path());
    let id = started(&client, &mut session).await;
    request_and_verify(&sim, &client, &mut session).await;
    let listed = client.list_phone_numbers(session.waba_id()).await.unwrap();
    let read = client.read_phone_number(&id).await.unwrap();
    assert_eq!(listed, vec![read.clone()]);
    // Every field is there, the two the list lacked before included.
    assert_eq!(read.name_status, Some(NameStatus::Approved));
    assert_eq!(read.platform_type.as_deref(), Some("NOT_APPLICABLE"));
    assert!(read.is_code_verified());
}

#[tokio::test]
async fn read_answers_only_the_fields_asked_for_and_always_the_id() {
    let (sim, client, mut session) = setup(Scenario::happy_path());
    let id = started(&client, &mut session).await;
    let id = id.as_str();

    let (status, body) = raw_get(&sim, &client, &format!("{id}?fields=status,name_status")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        serde_json::json!({"id": id, "status": "PENDING", "name_status": "APPROVED"})
    );

    // `id` comes even when not asked for; unmodelled fields are left out.
    let (_, body) = raw_get(
        &sim,
        &client,
        &format!("{id}?fields=code_verification_status,quality_rating"),
    )
    .await;
    assert_eq!(sorted_keys(&body), ["code_verification_status", "id"]);

    // Without `fields`, every modelled field.
    let (_, body) = raw_get(&sim, &client, id).await;
    let mut all: Vec<String> = PHONE_NUMBER_FIELDS.iter().map(|f| f.to_string()).collect();
    all.sort();
    assert_eq!(sorted_keys(&body), all);

    // The list honours `fields` the same way, entry by entry.
    let waba = session.waba_id().as_str();
    let (_, body) = raw_get(
        &sim,
        &client,
        &format!("{waba}/phone_numbers?fields=status"),
    )
    .await;
    let entries = body["data"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0],
        serde_json::json!({"id": id, "status": "PENDING"})
    );
}

#[tokio::test]
async fn reading_an_unknown_id_is_a_typed_api_error() {
    let (sim, client, mut session) = setup(Scenario::happy_path());
    started(&client, &mut session).await;
    let unknown = PhoneNumberId::new("999999999999999").unwrap();
    let err = client.read_phone_number(&unknown).await.unwrap_err();
    let Error::Api(api) = &err else {
        panic!("expected an API error, got {err:?}");
    };
    assert_eq!(api.status(), 400);
    assert_eq!(api.code(), Some(100));
    assert_eq!(api.graph().error_subcode, Some(33));
    assert!(err.to_string().contains("999999999999999"), "{err}");
    assert!(!err.is_retryable());
    let last = sim.served().pop().unwrap();
    assert_eq!(
        (last.operation, last.status),
        (Some(Operation::ReadPhoneNumber), Some(400))
    );
}

#[tokio::test]
async fn faults_apply_to_the_read() {
    let (sim, client, mut session) = setup(Scenario::happy_path());
    let id = started(&client, &mut session).await;
    sim.inject_at(Operation::ReadPhoneNumber, Fault::ServiceUnavailable, 1);
    let err = client.read_phone_number(&id).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::Temporary));
    assert!(err.is_retryable());
    let record = client.read_phone_number(&id).await.unwrap();
    assert_eq!(record.id, id);
}

// ---- Fault::AnswerLost -----------------------------------------------------

fn is_lost_answer(err: &Error) -> bool {
    matches!(err, Error::Transport(e) if e.kind() == TransportErrorKind::Other)
}

#[tokio::test]
async fn register_answer_lost_but_the_read_shows_connected() {
    let (sim, client, mut session) = setup(Scenario::happy_path());
    let id = started(&client, &mut session).await;
    request_and_verify(&sim, &client, &mut session).await;
    let before = sim.now();
    sim.inject_at(Operation::Register, Fault::AnswerLost, 1);

    let err = client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert!(is_lost_answer(&err), "{err:?}");
    assert_eq!(sim.now(), before, "no time passes");
    // The client cannot know: the session stays where it was...
    assert_eq!(session.state().name(), StateName::CodeVerified);
    let last = sim.served().pop().unwrap();
    assert_eq!(
        (last.operation, last.status),
        (Some(Operation::Register), None)
    );
    // ...but Meta registered the number.
    let record = client.read_phone_number(&id).await.unwrap();
    assert!(record.is_connected());
    assert_eq!(record.platform_type.as_deref(), Some("CLOUD_API"));
    // The session knows the outcome is unknown: the next step reconciles.
    assert_eq!(
        session.in_flight().map(|f| f.operation),
        Some(Operation::Register)
    );
    assert_eq!(
        err.retry_advice(),
        waba_porting::RetryAdvice::ReconcileFirst
    );
}

#[tokio::test]
async fn verify_answer_lost_uses_up_the_code_and_the_read_shows_verified() {
    let (sim, client, mut session) = setup(Scenario::happy_path());
    let id = started(&client, &mut session).await;
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let code = sim.latest_code(session.phone_number()).unwrap();
    sim.inject(Fault::AnswerLost, 1);
    let err = client.verify_code(&mut session, &code).await.unwrap_err();
    assert!(is_lost_answer(&err), "{err:?}");
    assert_eq!(session.state().name(), StateName::CodeRequested);
    // The read tells what happened: the code was accepted (and used up: a
    // blind repeat would be rejected).
    let record = client.read_phone_number(&id).await.unwrap();
    assert_eq!(
        record.code_verification_status,
        Some(CodeVerificationStatus::Verified)
    );
    let statuses: Vec<_> = sim
        .served()
        .iter()
        .map(|r| (r.operation, r.status))
        .skip(2)
        .collect();
    assert_eq!(
        statuses,
        vec![
            (Some(Operation::VerifyCode), None),
            (Some(Operation::ReadPhoneNumber), Some(200)),
        ]
    );
}

#[tokio::test]
async fn request_code_and_start_answers_lost_still_act() {
    let (sim, client, mut session) = setup(Scenario::happy_path());
    // The start is applied: the retry hears 2388012 and adopts the number.
    sim.inject_at(Operation::StartMigration, Fault::AnswerLost, 1);
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert!(is_lost_answer(&err), "{err:?}");
    assert_eq!(session.state().name(), StateName::Draft);
    let id = started(&client, &mut session).await;
    assert_eq!(
        client
            .list_phone_numbers(session.waba_id())
            .await
            .unwrap()
            .len(),
        1,
        "no duplicate number object"
    );

    // The code is texted although the caller hears nothing.
    sim.inject_at(Operation::RequestCode, Fault::AnswerLost, 1);
    let err = client
        .request_code(&mut session, CodeMethod::Voice, &Language::default())
        .await
        .unwrap_err();
    assert!(is_lost_answer(&err), "{err:?}");
    assert_eq!(
        err.retry_advice(),
        waba_porting::RetryAdvice::ReconcileFirst,
        "a lost answer is not blindly repeatable"
    );
    let inbox = sim.inbox(session.phone_number());
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].method, CodeMethod::Voice);
    assert_eq!(
        client
            .read_phone_number(&id)
            .await
            .unwrap()
            .code_verification_status,
        Some(CodeVerificationStatus::NotVerified)
    );
}

#[cfg(feature = "reqwest")]
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

#[cfg(feature = "reqwest")]
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
