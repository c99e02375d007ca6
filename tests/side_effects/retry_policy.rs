//! The client's `RetryPolicy` against simulated faults, with a fake `Sleep`
//! that records every wait (and advances the simulated clock, or not): nothing
//! really sleeps.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use crate::common;

use std::collections::HashSet;
use std::time::Duration;

use common::hooked::{
    count, plain_client, policy_client_over, served, to_code_verified, unavailable, Action,
    FakeSleep, Hooked,
};
use common::wire::pin;
use common::*;
use waba_porting::simulator::{Fault, Scenario, SimClock, Simulator};
use waba_porting::{
    ApiErrorKind, CodeMethod, Error, Language, Operation, Pin, PortingClient, PortingSession,
    RetryAdvice, RetryPolicy, StateName, StepOutcome, Timestamp, WaitReason,
};
use wiremock::MockServer;

// ---- helpers -----------------------------------------------------------------

const TIMEOUT: Duration = Duration::from_secs(5);
/// Past the client's timeout: Meta acts, the caller sees a timeout.
const SLOW: Duration = Duration::from_secs(6);

/// A simulator client with `policy` and a fake sleep on the simulator's clock.
fn policy_client(sim: &Simulator, policy: RetryPolicy) -> (PortingClient, FakeSleep) {
    let sleep = FakeSleep::advancing(sim.clock());
    let client = sim
        .client_builder()
        .timeout(TIMEOUT)
        .retry_policy(policy)
        .sleep(sleep.clone())
        .build()
        .unwrap();
    (client, sleep)
}

fn served_since(sim: &Simulator, from: usize) -> Vec<(Option<Operation>, Option<u16>)> {
    served(sim).into_iter().skip(from).collect()
}

fn assert_within_backoff(policy: &RetryPolicy, waits: &[Duration]) {
    for (i, wait) in waits.iter().enumerate() {
        let retry = u32::try_from(i + 1).unwrap();
        assert!(
            *wait <= policy.backoff_bound(retry),
            "wait {i} = {wait:?} above the bound {:?}",
            policy.backoff_bound(retry)
        );
    }
}

// ---- timeouts, 5xx, 429 ------------------------------------------------------

#[tokio::test]
async fn a_timeout_on_start_is_retried_and_the_repeat_adopts_the_number() {
    let sim = Scenario::happy_path().build();
    let policy = RetryPolicy::default();
    let (client, sleep) = policy_client(&sim, policy.clone());
    let mut session = sim.session();
    sim.inject_at(Operation::StartMigration, Fault::Latency(SLOW), 1);

    let state = client.start_migration(&mut session).await.unwrap();
    assert_eq!(state, StateName::Initiated);
    assert_eq!(
        served(&sim),
        vec![
            (Some(Operation::StartMigration), None),
            (Some(Operation::StartMigration), Some(400)), // 2388012
            (Some(Operation::ListPhoneNumbers), Some(200)),
        ]
    );
    let waits = sleep.waits();
    assert_eq!(waits.len(), 1);
    assert_within_backoff(&policy, &waits);
    assert_eq!(
        client
            .list_phone_numbers(session.waba_id())
            .await
            .unwrap()
            .len(),
        1,
        "no duplicate number object"
    );
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_within_bounds() {
    let sim = Scenario::happy_path().build();
    let policy = RetryPolicy::default()
        .with_max_attempts(4)
        .with_backoff(Duration::from_millis(100), Duration::from_secs(10));
    let (client, sleep) = policy_client(&sim, policy.clone());
    let mut session = sim.session();
    sim.inject_at(Operation::StartMigration, Fault::ServiceUnavailable, 1);
    sim.inject_at(Operation::StartMigration, Fault::SomethingWentWrong, 1);

    let state = client.start_migration(&mut session).await.unwrap();
    assert_eq!(state, StateName::Initiated);
    assert_eq!(
        served(&sim),
        vec![
            (Some(Operation::StartMigration), Some(503)),
            (Some(Operation::StartMigration), Some(500)),
            (Some(Operation::StartMigration), Some(200)),
        ]
    );
    let waits = sleep.waits();
    assert_eq!(waits.len(), 2);
    assert_within_backoff(&policy, &waits);
    assert_eq!(session.not_before(), None);
}

#[tokio::test]
async fn a_429_with_retry_after_waits_exactly_the_header() {
    let sim = Scenario::happy_path().build();
    let (client, sleep) = policy_client(&sim, RetryPolicy::default());
    let mut session = sim.session();
    sim.inject_at(
        Operation::StartMigration,
        Fault::RateLimit {
            code: 130429,
            retry_after: Some(Duration::from_secs(7)),
        },
        1,
    );
    let start = sim.now();

    client.start_migration(&mut session).await.unwrap();
    assert_eq!(sleep.waits(), vec![Duration::from_secs(7)]);
    assert_eq!(sim.now(), start.saturating_add(Duration::from_secs(7)));
    assert_eq!(
        served(&sim),
        vec![
            (Some(Operation::StartMigration), Some(429)),
            (Some(Operation::StartMigration), Some(200)),
        ]
    );
    assert_eq!(session.not_before(), None, "the success clears the wait");
}

#[tokio::test]
async fn a_429_with_retry_after_past_the_deadline_is_returned_without_sleeping() {
    let sim = Scenario::happy_path().build();
    let policy = RetryPolicy::default().with_deadline(Duration::from_secs(60));
    let (client, sleep) = policy_client(&sim, policy);
    let mut session = sim.session();
    sim.inject_at(
        Operation::StartMigration,
        Fault::RateLimit {
            code: 4,
            retry_after: Some(Duration::from_secs(61)),
        },
        1,
    );
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::RateLimited));
    assert!(sleep.waits().is_empty());
    assert_eq!(count(&sim, Operation::StartMigration), 1);
    assert_eq!(
        session.not_before(),
        Some(sim.now().saturating_add(Duration::from_secs(61))),
        "the session keeps the wait for later"
    );
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off_with_full_jitter() {
    let policy = RetryPolicy::default()
        .with_max_attempts(4)
        .with_backoff(Duration::from_secs(1), Duration::from_secs(4));
    // Three rate limits in a row: three growing bounds.
    let sim = Scenario::happy_path().build();
    let (client, sleep) = policy_client(&sim, policy.clone());
    let mut session = sim.session();
    sim.inject_at(
        Operation::StartMigration,
        Fault::RateLimit {
            code: 80007,
            retry_after: None,
        },
        3,
    );
    client.start_migration(&mut session).await.unwrap();
    let waits = sleep.waits();
    assert_eq!(waits.len(), 3);
    assert_within_backoff(&policy, &waits);
    assert_eq!(count(&sim, Operation::StartMigration), 4);

    // Jitter: the first wait varies from one run to the next.
    let mut firsts = Vec::new();
    for _ in 0..12 {
        let sim = Scenario::happy_path().build();
        let (client, sleep) = policy_client(&sim, policy.clone());
        let mut session = sim.session();
        sim.inject_at(
            Operation::StartMigration,
            Fault::RateLimit {
                code: 80007,
                retry_after: None,
            },
            1,
        );
        client.start_migration(&mut session).await.unwrap();
        let waits = sleep.waits();
        assert_eq!(waits.len(), 1);
        firsts.push(waits[0]);
    }
    assert_within_backoff(&policy, &firsts[..1]);
    assert!(firsts.iter().all(|w| *w <= policy.backoff_bound(1)));
    let distinct: HashSet<_> = firsts.iter().collect();
    assert!(distinct.len() > 1, "full jitter: {firsts:?}");
}

// ---- documented waits (wiremock: 133015 "recently deleted") -------------------

fn wiremock_client(
    server: &MockServer,
    policy: RetryPolicy,
) -> (PortingClient, FakeSleep, SimClock) {
    let clock = SimClock::new(Timestamp::from_unix_millis(1_893_456_000_000));
    let sleep = FakeSleep::advancing(clock.clone());
    let client = PortingClient::builder()
        .access_token(TOKEN)
        .base_url(server.uri())
        .timeout(TIMEOUT)
        .retry_policy(policy)
        .clock(clock.clone())
        .sleep(sleep.clone())
        .build()
        .unwrap();
    (client, sleep, clock)
}

async fn mount_recently_deleted_register(server: &MockServer) {
    answer(
        server,
        "POST",
        &number_path("register"),
        error_response(
            400,
            graph_error(133015, None, "Phone number was recently deleted"),
        ),
        1,
    )
    .await;
    mount_happy_path(server).await;
}

async fn verified_over_wiremock(client: &PortingClient) -> PortingSession {
    let mut session = session();
    to_code_requested(client, &mut session).await;
    client
        .verify_code(
            &mut session,
            &waba_porting::VerificationCode::new("123-830").unwrap(),
        )
        .await
        .unwrap();
    session
}

fn paths(requests: &[wiremock::Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

#[tokio::test]
async fn a_documented_wait_is_slept_when_within_the_deadline() {
    let server = MockServer::start().await;
    mount_recently_deleted_register(&server).await;
    let policy = RetryPolicy::default().with_deadline(Duration::from_secs(10 * 60));
    let (client, sleep, _clock) = wiremock_client(&server, policy);
    let mut session = verified_over_wiremock(&client).await;

    let state = client.register(&mut session, &pin(), None).await.unwrap();
    assert_eq!(state, StateName::Registered);
    assert_eq!(sleep.waits(), vec![Duration::from_secs(5 * 60)]);
    let register = format!("POST {}", number_path("register"));
    let sent = paths(&requests(&server).await);
    assert_eq!(
        sent.iter().filter(|p| **p == register).count(),
        2,
        "{sent:?}"
    );
    assert!(
        !sent.iter().any(|p| p.starts_with("GET")),
        "a refused register needs no reconcile: {sent:?}"
    );
}

#[tokio::test]
async fn a_documented_wait_past_the_deadline_is_returned_without_sleeping() {
    let server = MockServer::start().await;
    mount_recently_deleted_register(&server).await;
    let policy = RetryPolicy::default().with_deadline(Duration::from_secs(60));
    let (client, sleep, clock) = wiremock_client(&server, policy);
    let mut session = verified_over_wiremock(&client).await;

    let err = client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::RecentlyDeleted));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(5 * 60)));
    assert!(sleep.waits().is_empty(), "{:?}", sleep.waits());
    let now = waba_porting::Clock::now(&clock);
    assert_eq!(
        session.not_before(),
        Some(now.saturating_add(Duration::from_secs(5 * 60)))
    );
    let register = format!("POST {}", number_path("register"));
    let sent = paths(&requests(&server).await);
    assert_eq!(sent.iter().filter(|p| **p == register).count(), 1);
}

// ---- limits -------------------------------------------------------------------

#[tokio::test]
async fn the_attempt_limit_is_respected() {
    let sim = Scenario::happy_path().build();
    let policy = RetryPolicy::default().with_max_attempts(3);
    let (client, sleep) = policy_client(&sim, policy);
    let mut session = sim.session();
    sim.inject_at(Operation::StartMigration, Fault::ServiceUnavailable, 10);

    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::Temporary));
    assert_eq!(count(&sim, Operation::StartMigration), 3);
    assert_eq!(sleep.waits().len(), 2);
    assert_eq!(session.state().name(), StateName::Draft);
}

#[tokio::test]
async fn the_deadline_is_respected() {
    let sim = Scenario::happy_path().build();
    let deadline = Duration::from_secs(100);
    let policy = RetryPolicy::default()
        .with_max_attempts(10)
        .with_deadline(deadline);
    let (client, sleep) = policy_client(&sim, policy);
    let mut session = sim.session();
    sim.inject_at(
        Operation::StartMigration,
        Fault::RateLimit {
            code: 130429,
            retry_after: Some(Duration::from_secs(40)),
        },
        10,
    );
    let start = sim.now();

    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::RateLimited));
    let waits = sleep.waits();
    // 40 + 40 fit in 100 s; a third 40 would not.
    assert_eq!(waits, vec![Duration::from_secs(40); 2]);
    assert!(waits.iter().sum::<Duration>() <= deadline);
    assert!(sim.now().saturating_since(start) <= deadline);
    assert_eq!(count(&sim, Operation::StartMigration), 3);
}

#[tokio::test]
async fn retry_policy_none_sends_once() {
    let sim = Scenario::happy_path().build();
    let (client, sleep) = policy_client(&sim, RetryPolicy::none());
    let mut session = sim.session();
    sim.inject_at(Operation::StartMigration, Fault::ServiceUnavailable, 1);

    let err = client.start_migration(&mut session).await.unwrap_err();
    assert!(err.is_retryable(), "retryable, but the policy says once");
    assert_eq!(
        served(&sim),
        vec![(Some(Operation::StartMigration), Some(503))]
    );
    assert!(sleep.waits().is_empty());
}

#[tokio::test]
async fn do_not_retry_errors_are_never_retried() {
    let patient = RetryPolicy::default()
        .with_max_attempts(10)
        .with_deadline(Duration::from_secs(3600));

    let sim = Scenario::on_behalf_not_accepted().build();
    let (client, sleep) = policy_client(&sim, patient.clone());
    let mut session = sim.session();
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::OnBehalfNotAccepted));
    assert_eq!(err.retry_advice(), RetryAdvice::DoNotRetry);
    assert_eq!(count(&sim, Operation::StartMigration), 1);
    assert!(sleep.waits().is_empty());

    let sim = Scenario::happy_path().build();
    let sleep = FakeSleep::advancing(sim.clock());
    let client = sim
        .client_builder()
        .access_token("not-the-simulator-token")
        .retry_policy(patient)
        .sleep(sleep.clone())
        .build()
        .unwrap();
    let mut session = sim.session();
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::InvalidAccessToken));
    assert_eq!(err.retry_advice(), RetryAdvice::DoNotRetry);
    assert_eq!(
        served(&sim),
        vec![(Some(Operation::StartMigration), Some(401))]
    );
    assert!(sleep.waits().is_empty());
}

// ---- the safety property: side effects are reconciled, never re-sent blindly --

#[tokio::test]
async fn unknown_outcomes_of_side_effect_steps_are_reconciled_not_resent() {
    for fault in [Fault::AnswerLost, Fault::Latency(SLOW)] {
        let sim = Scenario::happy_path().build();
        let policy = RetryPolicy::default();
        let (client, sleep) = policy_client(&sim, policy.clone());
        let mut session = sim.session();
        client.start_migration(&mut session).await.unwrap();

        sim.inject_at(Operation::RequestCode, fault.clone(), 1);
        let state = client
            .request_code(&mut session, CodeMethod::Sms, &Language::default())
            .await
            .unwrap();
        assert_eq!(state, StateName::CodeRequested, "{fault:?}");
        assert!(matches!(
            session.history().last().map(|t| &t.outcome),
            Some(StepOutcome::CodeRequested {
                unconfirmed: true,
                sent_at: Some(_),
                ..
            })
        ));
        assert_eq!(sim.inbox(session.phone_number()).len(), 1, "texted once");

        let code = sim.latest_code(session.phone_number()).unwrap();
        sim.inject_at(Operation::VerifyCode, fault.clone(), 1);
        let state = client.verify_code(&mut session, &code).await.unwrap();
        assert_eq!(state, StateName::CodeVerified, "{fault:?}");

        sim.inject_at(Operation::Register, fault.clone(), 1);
        let state = client.register(&mut session, &pin(), None).await.unwrap();
        assert_eq!(state, StateName::Registered, "{fault:?}");

        assert_eq!(
            served_since(&sim, 1),
            vec![
                (Some(Operation::RequestCode), None),
                (Some(Operation::ReadPhoneNumber), Some(200)),
                (Some(Operation::VerifyCode), None),
                (Some(Operation::ReadPhoneNumber), Some(200)),
                (Some(Operation::Register), None),
                (Some(Operation::ReadPhoneNumber), Some(200)),
            ],
            "{fault:?}: one of each step, a read before any repeat"
        );
        let waits = sleep.waits();
        assert_eq!(waits.len(), 3, "{fault:?}");
        assert_within_backoff(&policy, &waits);
        let counters = session.counters();
        assert_eq!(
            (
                counters.code_requests,
                counters.verify_requests,
                counters.register_requests,
                counters.reconciles
            ),
            (1, 1, 1, 3),
            "{fault:?}"
        );
        assert!(session.in_flight().is_none());
    }
}

#[tokio::test]
async fn an_unknown_register_that_did_not_happen_is_read_then_sent_once_more() {
    let sim = Scenario::happy_path().build();
    let (client, sleep) = policy_client(&sim, RetryPolicy::default());
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;
    let from = sim.served().len();
    // A proxy 502: Meta did not act, but the client cannot know.
    sim.inject_at(Operation::Register, Fault::BadGateway, 1);

    let state = client.register(&mut session, &pin(), None).await.unwrap();
    assert_eq!(state, StateName::Registered);
    assert_eq!(
        served_since(&sim, from),
        vec![
            (Some(Operation::Register), Some(502)),
            (Some(Operation::ReadPhoneNumber), Some(200)),
            (Some(Operation::Register), Some(200)),
        ]
    );
    assert_eq!(sleep.waits().len(), 1);
    assert_eq!(session.counters().register_requests, 2);
    // Registered: the budget record has done its job and is dropped.
    assert_eq!(session.register_calls(sim.now()).count(), 0);
}

#[tokio::test]
async fn a_request_code_5xx_is_never_resent_blindly() {
    let sim = Scenario::happy_path().build();
    let (client, _sleep) = policy_client(&sim, RetryPolicy::default());
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    sim.inject_at(Operation::RequestCode, Fault::ServiceUnavailable, 1);

    let state = client
        .request_code(&mut session, CodeMethod::Voice, &Language::default())
        .await
        .unwrap();
    // The code may have been sent: recorded as such, not requested again.
    assert_eq!(state, StateName::CodeRequested);
    assert_eq!(
        served_since(&sim, 1),
        vec![
            (Some(Operation::RequestCode), Some(503)),
            (Some(Operation::ReadPhoneNumber), Some(200)),
        ]
    );
    assert_eq!(count(&sim, Operation::RequestCode), 1, "never two");
    // The caller, told no code arrived, asks again: that one is sent.
    client
        .request_code(&mut session, CodeMethod::Voice, &Language::default())
        .await
        .unwrap();
    assert_eq!(count(&sim, Operation::RequestCode), 2);
    assert_eq!(sim.inbox(session.phone_number()).len(), 1);
}

// ---- waits the session imposes ------------------------------------------------

#[tokio::test]
async fn not_before_is_waited_by_the_policy_within_the_deadline() {
    let sim = Scenario::happy_path().build();
    let (client, sleep) = policy_client(&sim, RetryPolicy::default());
    let mut session = sim.session();
    session.set_not_before(Some(sim.now().saturating_add(Duration::from_secs(30))));

    let state = client.start_migration(&mut session).await.unwrap();
    assert_eq!(state, StateName::Initiated);
    assert_eq!(sleep.waits(), vec![Duration::from_secs(30)]);
    assert_eq!(
        served(&sim),
        vec![(Some(Operation::StartMigration), Some(200))],
        "nothing sent before the wait"
    );
}

#[tokio::test]
async fn a_wait_that_does_not_pass_sends_nothing() {
    let sim = Scenario::happy_path().build();
    let sleep = FakeSleep::frozen();
    let policy = RetryPolicy::default();
    let client = sim
        .client_builder()
        .retry_policy(policy.clone())
        .sleep(sleep.clone())
        .build()
        .unwrap();
    let mut session = sim.session();
    let until = sim.now().saturating_add(Duration::from_secs(30));
    session.set_not_before(Some(until));

    let err = client.start_migration(&mut session).await.unwrap_err();
    assert!(
        matches!(&err, Error::WaitRequired(w) if w.reason() == WaitReason::NotBefore && w.until() == until),
        "{err:?}"
    );
    assert!(sim.served().is_empty(), "{:?}", served(&sim));
    let waits = sleep.waits();
    assert_eq!(
        waits.len(),
        usize::try_from(policy.max_attempts() - 1).unwrap()
    );
    assert!(waits.iter().all(|w| *w == Duration::from_secs(30)));
}

#[tokio::test]
async fn the_register_budget_wait_is_honoured_within_the_deadline() {
    let sim = Scenario::happy_path().build();
    let setup = plain_client(&sim);
    let mut session = sim.session();
    to_code_verified(&sim, &setup, &mut session).await;
    sim.set_two_step_pin(session.phone_number(), Some("111111"));
    let wrong = Pin::new("222222").unwrap();
    for _ in 0..waba_porting::REGISTER_BUDGET {
        let err = setup
            .register(&mut session, &wrong, None)
            .await
            .unwrap_err();
        assert_eq!(err.api_kind(), Some(ApiErrorKind::TwoStepEnabled));
        sim.advance(Duration::from_secs(60));
    }
    let frees_at = session
        .register_budget_frees_at(sim.now())
        .expect("budget spent");
    let expected = frees_at.saturating_since(sim.now());
    let right = Pin::new("111111").unwrap();
    let registers = count(&sim, Operation::Register);

    // The default deadline (2 minutes) is far below the wait: returned at once.
    let (client, sleep) = policy_client(&sim, RetryPolicy::default());
    let err = client
        .register(&mut session, &right, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::WaitRequired(w) if w.reason() == WaitReason::RegisterBudget && w.until() == frees_at),
        "{err:?}"
    );
    assert!(sleep.waits().is_empty());
    assert_eq!(count(&sim, Operation::Register), registers, "nothing sent");

    // A deadline that fits the wait: the policy sleeps it, then registers.
    let patient = RetryPolicy::default().with_deadline(Duration::from_secs(73 * 3600));
    let (client, sleep) = policy_client(&sim, patient);
    let state = client.register(&mut session, &right, None).await.unwrap();
    assert_eq!(state, StateName::Registered);
    assert_eq!(sleep.waits(), vec![expected]);
    assert_eq!(count(&sim, Operation::Register), registers + 1);
}

/// `RetryPolicy::with_max_attempts` promised "at most this many requests
/// per step call" while an attempt can be two requests (the reconciling
/// read, then the step). The docs now say attempts; this pins what they
/// promise: at most `max_attempts` step requests, each preceded by at most
/// one read.
#[tokio::test]
async fn max_attempts_bounds_the_step_requests_and_each_attempt_adds_at_most_one_read() {
    let sim = Scenario::happy_path().build();
    let mut session = sim.session();
    to_code_verified(&sim, &plain_client(&sim), &mut session).await;
    let wire = Hooked::new(&sim, |op, _| match op {
        Operation::Register => Action::Replace(unavailable()),
        _ => Action::Pass,
    });
    let policy = RetryPolicy::default().with_max_attempts(2);
    let (client, _sleep) = policy_client_over(&sim, wire.clone(), policy.clone());
    let before = wire.total();
    let registers_before = session.counters().register_requests;
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    let sent = wire.total() - before;
    let registers = (session.counters().register_requests - registers_before) as usize;
    let attempts = policy.max_attempts() as usize;
    assert_eq!(registers, attempts, "one register per attempt");
    assert!(
        sent <= 2 * attempts,
        "{sent} requests for {attempts} attempts"
    );
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
    let sleep = FakeSleep::frozen();
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
    let sleep = FakeSleep::frozen();
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
