//! The simulator: every preset to its end, human actions, limits, expiry,
//! faults — all on the simulated clock.

use std::time::Duration;

use waba_porting::simulator::{Fault, Scenario, Simulator};
use waba_porting::{
    Actor, ApiErrorKind, CodeMethod, Error, Language, NextAction, Operation, Pin, PortingClient,
    PortingSession, PortingState, RejectionReason, RetryPolicy, StateName, TransportErrorKind,
    VerificationCode, WaitReason,
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
            &Language::new("de").unwrap(),
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
    assert_eq!(err.api_kind(), Some(ApiErrorKind::VerificationCodeRejected));
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
