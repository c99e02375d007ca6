//! The fleet and the customer's code: a code is kept until Meta judged it,
//! an expired code leads to a new one without anybody being asked, and a
//! code request that may never have left is made again after a while.
#![cfg(feature = "simulator")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::wire::pin;
use waba_porting::simulator::{Fault, Scenario};
use waba_porting::{
    Fleet, InMemoryStore, InputMap, NextAction, Operation, SessionKey, SessionOutcome, SessionStore,
};

// ======================================================= 4. fleet inputs

/// `InputMap` hands a code out once, *before* the outcome is known. When
/// the verify is not decided — a rate limit whose wait exceeds the retry
/// deadline, a connection that never came up — the code is gone: the next
/// run reports the session waiting for the *customer* to send the code they
/// already sent (the code is still valid at Meta).
#[tokio::test(flavor = "current_thread")]
async fn input_map_loses_the_customers_code_when_verify_is_rate_limited() {
    let sim = Scenario::happy_path()
        .code_ttl(Duration::from_secs(6 * 3600))
        .build();
    let session = sim.session();
    let inputs = Arc::new(InputMap::new().with_default_pin(pin()));
    let fleet = Fleet::builder(sim.client_builder(), InMemoryStore::new())
        .inputs(Arc::clone(&inputs))
        .build()
        .unwrap();
    // Run 1: started, code requested; waits for the customer.
    let _ = fleet.run(vec![session.clone()]).await;
    // The customer sends the code (a webhook fills the map).
    let code = sim.latest_code(session.phone_number()).unwrap();
    inputs.insert_code(SessionKey::of(&session), code);
    // Run 2: the verify meets a 10-minute rate limit.
    sim.inject_at(
        Operation::VerifyCode,
        Fault::RateLimit {
            code: 80007,
            retry_after: Some(Duration::from_secs(600)),
        },
        1,
    );
    let second = fleet.run(vec![session.clone()]).await;
    // Run 3, after the wait.
    sim.advance(Duration::from_secs(11 * 60));
    let third = fleet.run(vec![session.clone()]).await;
    let outcome = |r: &waba_porting::FleetReport| format!("{:?}", r.sessions[0].outcome);
    assert!(
        matches!(third.sessions[0].outcome, SessionOutcome::Registered),
        "run 2: {}\nrun 3: {} — the code the customer gave (still valid) was consumed by the \
         rate-limited attempt",
        outcome(&second),
        outcome(&third)
    );
}

// ======================================================= 10. fleet stuck on an expired code

/// A customer sends their code after it expired (10 minutes). Meta answers
/// "Verification code has expired"; nothing but a new `request_code` — which
/// needs no person — can move the port. The fleet never requests one: it
/// only does after a *read* showed `EXPIRED`, and a fleet never reads. The
/// session stays "waiting on the customer to send the code" run after run,
/// and the customer has no code to send.
#[tokio::test(flavor = "current_thread")]
async fn a_fleet_session_whose_code_expired_waits_on_the_customer_forever() {
    let sim = Scenario::happy_path().build();
    let session = sim.session();
    let key = SessionKey::of(&session);
    let inputs = Arc::new(InputMap::new().with_default_pin(pin()));
    let store = Arc::new(InMemoryStore::new());
    let fleet = Fleet::builder(sim.client_builder(), Arc::clone(&store))
        .inputs(Arc::clone(&inputs))
        .build()
        .unwrap();
    let _ = fleet.run(vec![session.clone()]).await; // code requested
    sim.advance(Duration::from_secs(15 * 60)); // the customer is slow
    inputs.insert_code(
        key.clone(),
        sim.latest_code(session.phone_number()).unwrap(),
    );
    let mut outcomes = Vec::new();
    for _ in 0..3 {
        let report = fleet.run(vec![session.clone()]).await;
        outcomes.push(report.sessions[0].outcome.label());
        sim.advance(Duration::from_secs(3600));
    }
    let stored = store.load(&key).await.unwrap().unwrap();
    let delivered = sim.inbox(session.phone_number()).len();
    assert!(
        delivered >= 2 || stored.next_action().action == NextAction::RequestNewCode,
        "codes delivered: {delivered}; runs after the expired code: {outcomes:?}; stored \
         session: {:?} next {:?} (last failure: {:?})",
        stored.state().name(),
        stored.next_action(),
        stored.last_failure().map(|f| (f.kind, f.message.clone()))
    );
}

/// Loses the answer of the first `lost` code requests (a timeout after the
/// request may have left; here it never reached Meta, as when a process
/// stops between saving the session and sending).
#[derive(Debug)]
struct LosesCodeRequests {
    sim: waba_porting::simulator::Simulator,
    lost: usize,
    seen: std::sync::atomic::AtomicUsize,
}

#[waba_porting::async_trait]
impl waba_porting::Transport for LosesCodeRequests {
    async fn send(
        &self,
        request: waba_porting::transport::HttpRequest,
    ) -> Result<waba_porting::transport::HttpResponse, waba_porting::TransportError> {
        use std::sync::atomic::Ordering;
        if common::wire::operation_of(&request) == Operation::RequestCode
            && self.seen.fetch_add(1, Ordering::SeqCst) < self.lost
        {
            return Err(waba_porting::TransportError::from_kind(
                waba_porting::TransportErrorKind::Timeout,
            ));
        }
        self.sim.send(request).await
    }
}

/// A code request whose answer never came leaves "code possibly sent", and
/// nothing ever asked again: the customer waited for a code that never
/// left. After `code_wait` with no code, the fleet requests one itself —
/// once, not on every run — and never more than `max_code_requests`.
#[tokio::test(flavor = "current_thread")]
async fn a_code_request_that_never_left_is_made_again_after_the_code_wait_and_bounded() {
    let sim = Scenario::happy_path().build();
    let session = sim.session();
    let key = SessionKey::of(&session);
    let store = Arc::new(InMemoryStore::new());
    let client = sim.client_builder().transport(LosesCodeRequests {
        sim: sim.clone(),
        lost: 1,
        seen: Default::default(),
    });
    let fleet = Fleet::builder(client, Arc::clone(&store))
        .inputs(InputMap::new().with_default_pin(pin()))
        .build()
        .unwrap();
    let _ = fleet.run(vec![session.clone()]).await;
    let stored = store.load(&key).await.unwrap().unwrap();
    assert!(stored.code_request_unconfirmed(), "{stored:?}");
    assert!(sim.inbox(session.phone_number()).is_empty());

    // Within the code's lifetime the customer may still have it: wait on
    // them (their step is due at any time).
    sim.advance(Duration::from_secs(5 * 60));
    let report = fleet.run(vec![session.clone()]).await;
    match &report.sessions[0].outcome {
        SessionOutcome::Waiting { next, .. } => {
            assert_eq!(next.action, NextAction::VerifyCode);
            assert_eq!(next.actor, waba_porting::Actor::Customer);
            assert!(next.is_due(sim.now()), "{next:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(sim.inbox(session.phone_number()).is_empty());

    // Past it, the next run asks again, and the code reaches the customer.
    sim.advance(Duration::from_secs(6 * 60));
    let _ = fleet.run(vec![session.clone()]).await;
    assert_eq!(sim.inbox(session.phone_number()).len(), 1);
    // That request was answered: from now on the customer has a code, and
    // later runs do not text them again.
    for _ in 0..3 {
        sim.advance(Duration::from_secs(3600));
        let _ = fleet.run(vec![session.clone()]).await;
    }
    assert_eq!(sim.inbox(session.phone_number()).len(), 1);
    assert_eq!(sim.calls(session.phone_number()).unwrap().request_code, 1);
}

#[tokio::test(flavor = "current_thread")]
async fn code_requests_that_keep_getting_lost_stop_at_the_bound() {
    let sim = Scenario::happy_path().build();
    let session = sim.session();
    let client = sim.client_builder().transport(LosesCodeRequests {
        sim: sim.clone(),
        lost: usize::MAX,
        seen: Default::default(),
    });
    let fleet = Fleet::builder(client, InMemoryStore::new())
        .max_code_requests(2)
        .build()
        .unwrap();
    for _ in 0..10 {
        let _ = fleet.run(vec![session.clone()]).await;
        sim.advance(Duration::from_secs(11 * 60));
    }
    let stored = fleet
        .store()
        .load(&SessionKey::of(&session))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.counters().code_requests, 2, "{stored:?}");
}
