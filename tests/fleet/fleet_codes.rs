//! The fleet and the customer's code: a code is kept until Meta judged it,
//! an expired code leads to a new one without anybody being asked, and a
//! code request that may never have left is made again after a while.
#![cfg(feature = "simulator")]

use crate::common;

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

#[cfg(feature = "simulator")]
mod code_request_bound_after_wrong_codes {
    // `FleetBuilder::max_code_requests`: "How many code requests may be
    // outstanding — sent with no verify attempt after them — for the fleet to
    // request another code by itself … Past it the session waits (on us), so
    // nobody is texted again and again by a wire that keeps losing answers."
    //
    // The count is taken over the whole session (requests minus verifies), so
    // verifies the customer made earlier — several wrong codes typed for one
    // SMS — are credit that lets later lost requests run far past the bound.

    use super::common;

    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use common::wire::{operation_of, pin};
    use waba_porting::simulator::{Scenario, Simulator};
    use waba_porting::transport::{HttpRequest, HttpResponse};
    use waba_porting::{
        async_trait, Fleet, InMemoryStore, InputMap, Operation, SessionKey, SessionStore,
        Transport, TransportError, TransportErrorKind, VerificationCode,
    };

    /// The simulator, except that while `lose` is set every code request times
    /// out before it reaches Meta.
    #[derive(Debug, Clone)]
    struct Flaky {
        sim: Simulator,
        lose: Arc<AtomicBool>,
        code_requests: Arc<AtomicUsize>,
    }

    #[async_trait]
    impl Transport for Flaky {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            if operation_of(&request) == Operation::RequestCode {
                self.code_requests.fetch_add(1, Ordering::SeqCst);
                if self.lose.load(Ordering::SeqCst) {
                    return Err(TransportError::from_kind(TransportErrorKind::Timeout));
                }
            }
            self.sim.send(request).await
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn wrong_codes_typed_earlier_do_not_raise_the_bound_on_lost_code_requests() {
        let max = 3;
        let sim = Scenario::happy_path().build();
        let session = sim.session();
        let key = SessionKey::of(&session);
        let flaky = Flaky {
            sim: sim.clone(),
            lose: Arc::default(),
            code_requests: Arc::default(),
        };
        let inputs = Arc::new(InputMap::new().with_default_pin(pin()));
        let store = Arc::new(InMemoryStore::new());
        let fleet = Fleet::builder(
            sim.client_builder().transport(flaky.clone()),
            Arc::clone(&store),
        )
        .inputs(Arc::clone(&inputs))
        .max_code_requests(max)
        .build()
        .unwrap();

        // Run 1: started, code requested (and delivered).
        let _ = fleet.run(vec![session.clone()]).await;
        let real = sim.latest_code(session.phone_number()).unwrap();
        // The customer mistypes it four times, one run each.
        let mut typed = 0;
        for wrong in ["111111", "222222", "333333", "444444", "555555"] {
            let wrong = VerificationCode::new(wrong).unwrap();
            if wrong == real || typed == 4 {
                continue;
            }
            inputs.insert_code(key.clone(), wrong);
            let _ = fleet.run(vec![session.clone()]).await;
            typed += 1;
        }
        // Then sends the right one, too late: it expired.
        sim.advance(Duration::from_secs(15 * 60));
        inputs.insert_code(key.clone(), real);
        // From now on every code request's answer is lost.
        flaky.lose.store(true, Ordering::SeqCst);
        let before = flaky.code_requests.load(Ordering::SeqCst);
        let mut outcomes = Vec::new();
        for _ in 0..4 {
            let report = fleet.run(vec![session.clone()]).await;
            outcomes.push(report.sessions[0].outcome.label());
            sim.advance(Duration::from_secs(11 * 60));
        }
        let after_expired = flaky.code_requests.load(Ordering::SeqCst) - before;
        let stored = store.load(&key).await.unwrap().unwrap();
        assert!(
            after_expired <= max as usize,
            "after the customer's last verify the fleet sent {after_expired} code requests that \
             all got no answer (max_code_requests {max}); the session counts {} requests and {} \
             verifies; outcomes {outcomes:?}",
            stored.counters().code_requests,
            stored.counters().verify_requests,
        );
    }
}

#[cfg(feature = "simulator")]
mod code_request_bound_waiting_actor {
    // `FleetBuilder::max_code_requests`: "Past it the session waits (on us),
    // so nobody is texted again and again by a wire that keeps losing
    // answers." When every code request was lost before it reached Meta, no
    // code was ever sent: the session past the bound must not be reported as
    // waiting for the customer's code — the customer has nothing to send, and
    // nobody on our side would ever be told to act.

    use super::common;

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use common::wire::{operation_of, pin};
    use waba_porting::simulator::{Scenario, Simulator};
    use waba_porting::transport::{HttpRequest, HttpResponse};
    use waba_porting::{
        async_trait, Actor, Fleet, InMemoryStore, InputMap, Operation, SessionOutcome, Transport,
        TransportError, TransportErrorKind,
    };

    /// The simulator, except that every code request times out before it
    /// reaches Meta.
    #[derive(Debug, Clone)]
    struct LosesCodeRequests {
        sim: Simulator,
        code_requests: Arc<AtomicUsize>,
    }

    #[async_trait]
    impl Transport for LosesCodeRequests {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            if operation_of(&request) == Operation::RequestCode {
                self.code_requests.fetch_add(1, Ordering::SeqCst);
                return Err(TransportError::from_kind(TransportErrorKind::Timeout));
            }
            self.sim.send(request).await
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_session_past_max_code_requests_waits_on_us_not_on_a_customer_who_got_no_code() {
        let sim = Scenario::happy_path().build();
        let session = sim.session();
        let wire = LosesCodeRequests {
            sim: sim.clone(),
            code_requests: Arc::default(),
        };
        let fleet = Fleet::builder(
            sim.client_builder().transport(wire.clone()),
            InMemoryStore::new(),
        )
        .inputs(InputMap::new().with_default_pin(pin()))
        .max_code_requests(3)
        .build()
        .unwrap();
        let mut last = None;
        for _ in 0..6 {
            let mut report = fleet.run(vec![session.clone()]).await;
            last = report.sessions.pop().map(|result| result.outcome);
            sim.advance(Duration::from_secs(11 * 60));
        }
        assert!(
            sim.inbox(session.phone_number()).is_empty(),
            "no code ever left"
        );
        let requests = wire.code_requests.load(Ordering::SeqCst);
        let Some(SessionOutcome::Waiting { next, .. }) = last else {
            panic!("{last:?}");
        };
        assert_eq!(
            next.actor,
            Actor::Us,
            "after {requests} lost code requests the fleet stopped requesting, and reports the \
             session as waiting on {:?} for a code that never left: {next:?} — told to the \
             customer as \"{next}\"",
            next.actor
        );
    }
}

#[cfg(feature = "simulator")]
mod expired_code_at_other_steps {
    // `VerificationCodeExpired` is Meta's verdict on a code at `verify_code`;
    // the fleet answers it by requesting a new code, "which needs nobody". An
    // answer of 136025 "…has expired" at another step (undocumented there)
    // must not make the fleet send that step again and again within one run.

    use super::common;

    use common::wire::{json_answer, pin, Wire};
    use waba_porting::simulator::Scenario;
    use waba_porting::{Fleet, InMemoryStore, InputMap, Operation};

    #[tokio::test(flavor = "current_thread")]
    async fn an_expired_answer_to_request_code_does_not_loop_the_fleet() {
        let sim = Scenario::happy_path().build();
        let session = sim.session();
        let wire = Wire::new(&sim, |op, _| {
            (op == Operation::RequestCode).then(|| {
                json_answer(
                    400,
                    r#"{"error":{"message":"Verification code has expired","code":136025,"fbtrace_id":"AbCdEf"}}"#,
                )
            })
        });
        let fleet = Fleet::builder(
            sim.client_builder().transport(wire.clone()),
            InMemoryStore::new(),
        )
        .inputs(InputMap::new().with_default_pin(pin()))
        .build()
        .unwrap();
        let report = fleet.run(vec![session.clone()]).await;
        let sent = wire.sent(Operation::RequestCode);
        assert!(
            sent <= 2,
            "one run sent request_code {sent} times, each answered 136025 \"has expired\"; outcome \
             {:?}",
            report.sessions[0].outcome
        );
    }
}

#[cfg(feature = "simulator")]
mod expired_code_edge_cases {
    // After Meta refused a code as expired, the fleet requests a new code by
    // itself. That new request may get no answer (a timeout, a reset); the
    // fleet must not answer each lost request with another one at once, run
    // after run: `max_code_requests` bounds code requests whose answer was
    // lost, and the expired-code exception is one new code, not a loop.

    use super::common;

    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use common::wire::{operation_of, pin};
    use waba_porting::simulator::{Scenario, Simulator};
    use waba_porting::transport::{HttpRequest, HttpResponse};
    use waba_porting::{
        async_trait, Fleet, InMemoryStore, InputMap, Operation, SessionKey, SessionStore,
        Transport, TransportError, TransportErrorKind,
    };

    /// The simulator, except that while `lose` is set every code request times
    /// out before it reaches Meta.
    #[derive(Debug, Clone)]
    struct Flaky {
        sim: Simulator,
        lose: Arc<AtomicBool>,
        code_requests: Arc<AtomicUsize>,
    }

    #[async_trait]
    impl Transport for Flaky {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            if operation_of(&request) == Operation::RequestCode {
                self.code_requests.fetch_add(1, Ordering::SeqCst);
                if self.lose.load(Ordering::SeqCst) {
                    return Err(TransportError::from_kind(TransportErrorKind::Timeout));
                }
            }
            self.sim.send(request).await
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn lost_code_requests_after_an_expired_code_stay_within_max_code_requests() {
        let sim = Scenario::happy_path().build();
        let session = sim.session();
        let key = SessionKey::of(&session);
        let flaky = Flaky {
            sim: sim.clone(),
            lose: Arc::default(),
            code_requests: Arc::default(),
        };
        let inputs = Arc::new(InputMap::new().with_default_pin(pin()));
        let store = Arc::new(InMemoryStore::new());
        let fleet = Fleet::builder(
            sim.client_builder().transport(flaky.clone()),
            Arc::clone(&store),
        )
        .inputs(Arc::clone(&inputs))
        .max_code_requests(3)
        .build()
        .unwrap();

        // Run 1: started, code requested (and delivered).
        let _ = fleet.run(vec![session.clone()]).await;
        assert_eq!(flaky.code_requests.load(Ordering::SeqCst), 1);
        // The customer sends it too late: it expired.
        sim.advance(Duration::from_secs(15 * 60));
        inputs.insert_code(
            key.clone(),
            sim.latest_code(session.phone_number()).unwrap(),
        );
        // From now on every code request's answer is lost.
        flaky.lose.store(true, Ordering::SeqCst);

        let mut per_run = Vec::new();
        for _ in 0..3 {
            let before = flaky.code_requests.load(Ordering::SeqCst);
            let report = fleet.run(vec![session.clone()]).await;
            per_run.push((
                flaky.code_requests.load(Ordering::SeqCst) - before,
                report.sessions[0].outcome.label(),
            ));
            sim.advance(Duration::from_secs(60));
        }
        let stored = store.load(&key).await.unwrap().unwrap();
        let total = flaky.code_requests.load(Ordering::SeqCst);
        // The first request, one new code for the expired one, and at most
        // max_code_requests in all for requests whose answer was lost.
        assert!(
            total <= 1 + 1 + 3,
            "{total} code requests sent (counted by the session: {}); per run after the expired \
             code: {per_run:?}",
            stored.counters().code_requests
        );
    }
}

#[cfg(feature = "simulator")]
mod fleet_code_verdicts {
    // The fleet tells its inputs when Meta judged a code (`code_judged`), so
    // that a refused code is never sent again. Meta's verdict is a verdict
    // even when saving the session afterwards failed: the refusal reached us.

    use super::common;
    use common::stores::{Twist, Twisted};

    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use common::wire::pin;

    use waba_porting::simulator::Scenario;
    use waba_porting::{
        async_trait, Fleet, FleetInputs, InMemoryStore, InputMap, Lease, Operation, PortingSession,
        SessionKey, SessionStore, StoreError, Timestamp, VerificationCode,
    };

    /// An in-memory store whose saves fail, while `fail` is set, for a session
    /// that just recorded a failed verify (the save after the outcome).
    #[derive(Debug, Default)]
    struct FlakyStore {
        inner: InMemoryStore,
        fail: AtomicBool,
    }

    #[async_trait]
    impl Twist for FlakyStore {
        fn inner(&self) -> &InMemoryStore {
            &self.inner
        }

        async fn save(
            &self,
            session: &PortingSession,
            lease: Option<&Lease>,
            now: Timestamp,
        ) -> Result<(), StoreError> {
            let after_failed_verify = session.in_flight().is_none()
                && session
                    .last_failure()
                    .is_some_and(|f| f.operation == Operation::VerifyCode);
            if self.fail.load(Ordering::SeqCst) && after_failed_verify {
                return Err(StoreError::new("save", "disk full"));
            }
            self.inner.save(session, lease, now).await
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_refused_code_is_not_sent_again_when_the_save_after_the_refusal_failed() {
        let sim = Scenario::happy_path().build();
        let session = sim.session();
        let key = SessionKey::of(&session);
        let store = Arc::new(Twisted(FlakyStore::default()));
        let inputs = Arc::new(InputMap::new().with_default_pin(pin()));
        let fleet = Fleet::builder(sim.client_builder(), Arc::clone(&store))
            .inputs(Arc::clone(&inputs))
            .build()
            .unwrap();
        let _ = fleet.run(vec![session.clone()]).await; // code requested
                                                        // The customer mistypes the code.
        inputs.insert_code(key.clone(), VerificationCode::new("000000").unwrap());
        store.fail.store(true, Ordering::SeqCst);
        let second = fleet.run(vec![session.clone()]).await;
        assert_eq!(sim.calls(session.phone_number()).unwrap().verify_code, 1);
        // The store is back; the customer has not sent another code yet.
        store.fail.store(false, Ordering::SeqCst);
        let third = fleet.run(vec![session.clone()]).await;
        let verifies = sim.calls(session.phone_number()).unwrap().verify_code;
        assert_eq!(
            verifies,
            1,
            "the code Meta refused was sent again ({verifies} verify calls); run 2: {:?}; run 3: {:?}; \
             the map still holds it: {:?}",
            second.sessions[0].outcome,
            third.sessions[0].outcome,
            inputs.verification_code(&session).await.is_some()
        );
    }
}

#[cfg(feature = "simulator")]
mod fleet_waiting_for_code_not_before {
    // `NextStep::not_before`: "Not before this time: the last answer asked to
    // wait … A step called earlier is refused with Error::WaitRequired and
    // sends nothing", and its `Display` tells the customer "(not before …)".
    // After a code request whose answer was lost, the fleet waits `code_wait`
    // before requesting another code — that is when *the fleet* acts, not a
    // time before which the customer may not send the code: the outcome must
    // not tell the customer to hold a code that `verify_code` accepts now.

    use super::common;

    use common::wire::pin;
    use waba_porting::simulator::{Fault, Scenario};
    use waba_porting::{
        Actor, Fleet, InMemoryStore, InputMap, NextAction, Operation, SessionKey, SessionOutcome,
        SessionStore,
    };

    #[tokio::test(flavor = "current_thread")]
    async fn a_customer_whose_code_may_have_left_is_not_told_to_wait_before_sending_it() {
        let sim = Scenario::happy_path().build();
        let session = sim.session();
        let key = SessionKey::of(&session);
        // Meta texts the code; the answer to the request is lost.
        sim.inject_at(Operation::RequestCode, Fault::AnswerLost, 1);
        let store = std::sync::Arc::new(InMemoryStore::new());
        let fleet = Fleet::builder(sim.client_builder(), std::sync::Arc::clone(&store))
            .inputs(InputMap::new().with_default_pin(pin()))
            .build()
            .unwrap();
        let mut report = fleet.run(vec![session.clone()]).await;
        let outcome = report.sessions.pop().unwrap().outcome;
        let SessionOutcome::Waiting { next, .. } = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(next.action, NextAction::VerifyCode);
        assert_eq!(next.actor, Actor::Customer);

        // The customer got the code and sends it now.
        let now = sim.now();
        let code = sim.latest_code(session.phone_number()).unwrap();
        let mut stored = store.load(&key).await.unwrap().unwrap();
        let verified = fleet.client().verify_code(&mut stored, &code).await;
        assert!(verified.is_ok(), "{verified:?}");
        assert!(
            next.is_due(now),
            "verify_code was accepted at {now}, yet the fleet's outcome said the customer's step \
             is not due before {:?} (told to the customer as \"{next}\")",
            next.not_before.map(|t| t.to_string())
        );
    }
}

#[cfg(feature = "simulator")]
mod code_request_bound_after_unsent_verify {
    // `Counters::code_requests_since_verify`: "`request_code` requests sent
    // since the last `verify_code` request … how many code requests are
    // outstanding", the count `FleetBuilder::max_code_requests` bounds ("Past
    // it the session waits (on us), so nobody is texted again and again by a
    // wire that keeps losing answers").
    //
    // A `verify_code` that could not connect was never sent: Meta saw no code
    // from the customer, and the session itself takes it back from
    // `verify_requests`. It answers none of the outstanding code requests, so
    // it must not wipe their count: the bound would start over and the fleet
    // text the customer `max_code_requests` more times.

    use super::common;

    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use common::wire::{operation_of, pin};
    use waba_porting::simulator::{Scenario, Simulator};
    use waba_porting::transport::{HttpRequest, HttpResponse};
    use waba_porting::{
        async_trait, Fleet, FleetInputs, InMemoryStore, Operation, PortingSession, SessionKey,
        SessionStore, Transport, TransportError, TransportErrorKind, VerificationCode,
    };

    /// The simulator, except that while `lose` is set every code request times
    /// out (its answer is lost), and while `refuse_verify` is set no verify can
    /// connect (it is never sent).
    #[derive(Debug, Clone)]
    struct Flaky {
        sim: Simulator,
        lose: Arc<AtomicBool>,
        refuse_verify: Arc<AtomicBool>,
        code_requests: Arc<AtomicUsize>,
    }

    #[async_trait]
    impl Transport for Flaky {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            match operation_of(&request) {
                Operation::RequestCode => {
                    self.code_requests.fetch_add(1, Ordering::SeqCst);
                    if self.lose.load(Ordering::SeqCst) {
                        return Err(TransportError::from_kind(TransportErrorKind::Timeout));
                    }
                }
                Operation::VerifyCode if self.refuse_verify.load(Ordering::SeqCst) => {
                    return Err(TransportError::from_kind(TransportErrorKind::Connect));
                }
                _ => {}
            }
            self.sim.send(request).await
        }
    }

    /// The customer's code, handed out by the operator's service while it is
    /// on offer.
    #[derive(Debug, Default)]
    struct Offered(Mutex<Option<VerificationCode>>);

    #[async_trait]
    impl FleetInputs for Offered {
        async fn verification_code(&self, _: &PortingSession) -> Option<VerificationCode> {
            self.0.lock().unwrap().clone()
        }

        async fn pin(&self, _: &PortingSession) -> Option<waba_porting::Pin> {
            Some(pin())
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_verify_that_was_never_sent_does_not_reset_the_code_request_bound() {
        let max = 2;
        let sim = Scenario::happy_path().build();
        let session = sim.session();
        let key = SessionKey::of(&session);
        let flaky = Flaky {
            sim: sim.clone(),
            lose: Arc::new(AtomicBool::new(true)),
            refuse_verify: Arc::default(),
            code_requests: Arc::default(),
        };
        let inputs = Arc::new(Offered::default());
        let store = Arc::new(InMemoryStore::new());
        let fleet = Fleet::builder(
            sim.client_builder().transport(flaky.clone()),
            Arc::clone(&store),
        )
        .inputs(Arc::clone(&inputs))
        .max_code_requests(max)
        .build()
        .unwrap();

        // Every code request's answer is lost: the fleet asks again after
        // code_wait, up to the bound.
        for _ in 0..4 {
            let _ = fleet.run(vec![session.clone()]).await;
            sim.advance(Duration::from_secs(11 * 60));
        }
        let stored = store.load(&key).await.unwrap().unwrap();
        let before = *stored.counters();
        assert_eq!(before.code_requests_since_verify, max, "{before:?}");
        assert_eq!(flaky.code_requests.load(Ordering::SeqCst), max as usize);

        // The customer types something in, but no verify can connect: nothing
        // reaches Meta.
        *inputs.0.lock().unwrap() = Some(VerificationCode::new("123456").unwrap());
        flaky.refuse_verify.store(true, Ordering::SeqCst);
        let report = fleet.run(vec![session.clone()]).await;
        let stored = store.load(&key).await.unwrap().unwrap();
        let after = *stored.counters();
        assert_eq!(sim.calls(session.phone_number()).unwrap().verify_code, 0);
        assert_eq!(
            after.verify_requests, before.verify_requests,
            "the session knows no verify was sent"
        );
        // The operator withdraws the entry; code requests still get no answer.
        *inputs.0.lock().unwrap() = None;
        let sent_before = flaky.code_requests.load(Ordering::SeqCst);
        for _ in 0..4 {
            let _ = fleet.run(vec![session.clone()]).await;
            sim.advance(Duration::from_secs(11 * 60));
        }
        let more = flaky.code_requests.load(Ordering::SeqCst) - sent_before;
        assert!(
            after.code_requests_since_verify == before.code_requests_since_verify && more == 0,
            "no verify_code reached Meta (verify_requests {} -> {}), yet \
             code_requests_since_verify went {} -> {} and the fleet then sent {more} more code \
             requests past max_code_requests {max} (run outcome after the unsent verify: {})",
            before.verify_requests,
            after.verify_requests,
            before.code_requests_since_verify,
            after.code_requests_since_verify,
            report.sessions[0].outcome.label(),
        );
    }
}

/// DEFECT 2. The fleet driver never acts on `NextAction::RequestNewCode`.
///
/// The action's actor is `Us` and its step is `request_code`, but
/// `Fleet::advance` has no arm for it: it falls into "waiting for a person"
/// and ends the session `Waiting` with `actor: Us`. Every later run does
/// the same, so a session whose code expired (a read by `refresh`, or the
/// read that reconciles a crashed `verify_code`) is stuck in the fleet for
/// good, although the fleet has everything it needs (it requests codes and
/// gets them from its inputs).
///
/// Expected: the fleet requests a new code, verifies it and registers.
#[tokio::test(flavor = "current_thread")]
async fn the_fleet_is_stuck_on_request_new_code() {
    use common::sms;
    use waba_porting::simulator::DEFAULT_CODE_TTL;
    use waba_porting::{Pin, RetryPolicy};

    let sim = Scenario::happy_path().build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    let (method, language) = sms();
    client
        .request_code(&mut session, method, &language)
        .await
        .unwrap();
    sim.advance(DEFAULT_CODE_TTL + Duration::from_secs(1));
    client.refresh(&mut session).await.unwrap();
    assert_eq!(session.next_action().action, NextAction::RequestNewCode);

    let fleet = Fleet::builder(
        sim.client_builder().retry_policy(RetryPolicy::none()),
        InMemoryStore::new(),
    )
    .inputs(sim.customers(Pin::new("482913").unwrap()))
    .build()
    .unwrap();
    let report = fleet.run(vec![session]).await;
    let result = &report.sessions[0];
    assert!(
        matches!(result.outcome, SessionOutcome::Registered),
        "the fleet left a session it could move on its own: {:?} ({})",
        result.outcome,
        result.state
    );
}
