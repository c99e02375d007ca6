//! The shared throttle: a request never sent holds no budget slot, and
//! every throttle wait of one call (a step, its reconciling read, a refresh,
//! a look-up, an idempotent call's attempts) ends within one deadline; one
//! number's wait pauses nobody else, and no pause is longer than 72 hours.
#![cfg(feature = "simulator")]

use crate::common;
use crate::common::hooked::{raw_answer, raw_answer_with_retry_after, Rewrite};
use crate::common::wire::world;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use waba_porting::simulator::Simulator;
use waba_porting::transport::{HttpRequest, HttpResponse};
use waba_porting::{ApiErrorKind, RetryPolicy, Throttle};

#[cfg(feature = "simulator")]
mod throttle_cancelled_waits {
    // A wait cut short by a `CancelToken` sends nothing. Its throttle slot
    // must not stay taken: the throttle is shared (between a fleet's sessions,
    // between fleets: "share one throttle between fleets to share its
    // budget"), and requests that were never sent must not hold the others
    // back.

    use std::time::Duration;

    use futures_util::FutureExt;
    use waba_porting::simulator::Scenario;
    use waba_porting::{async_trait, CancelToken, Error, Sleep, Throttle, WabaId, WaitReason};

    /// A timer whose waits never end on their own (only a cancel ends them).
    #[derive(Debug)]
    struct Forever;

    #[async_trait]
    impl Sleep for Forever {
        async fn sleep(&self, _: Duration) {
            std::future::pending::<()>().await
        }
    }

    /// A timer that cannot wait: the refusal tells how long the wait would be.
    #[derive(Debug)]
    struct CannotWait;

    #[async_trait]
    impl Sleep for CannotWait {
        async fn sleep(&self, _: Duration) {}

        fn can_sleep(&self) -> bool {
            false
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn cancelled_throttle_waits_leave_their_slots_to_the_others() {
        let sim = Scenario::happy_path().build();
        let throttle = Throttle::new().calls_per_second(1);
        let token = CancelToken::new();
        let cancelled_client = sim
            .client_builder()
            .sleep(Forever)
            .throttle(throttle.clone())
            .cancel_token(token.clone())
            .build()
            .unwrap();
        let other = sim
            .client_builder()
            .sleep(CannotWait)
            .throttle(throttle.clone())
            .build()
            .unwrap();
        let waba = WabaId::new("102290129340398").unwrap();

        // 20 calls line up in the throttle (one a second), then are cancelled.
        let calls: Vec<_> = (0..20)
            .map(|_| cancelled_client.subscribe_app(&waba).boxed())
            .collect();
        let mut all = Box::pin(futures_util::future::join_all(calls));
        assert!(
            (&mut all).now_or_never().is_none(),
            "the calls wait in the throttle"
        );
        token.cancel();
        let results = all.await;
        let sent_nothing = results
            .iter()
            .filter(
                |r| matches!(r, Err(Error::WaitRequired(w)) if w.reason() == WaitReason::Cancelled),
            )
            .count();
        // The first call of the second went through; the rest were cancelled.
        assert_eq!(sent_nothing, 19, "{results:?}");

        // One second later, another client of the throttle calls: its turn is
        // now (the one call sent took the slot of the first second).
        sim.advance(Duration::from_secs(1));
        let result = other.subscribe_app(&waba).await;
        let held_for = match &result {
            Err(Error::WaitRequired(w)) => w.wait(),
            _ => Duration::ZERO,
        };
        assert!(
            held_for <= Duration::from_secs(1),
            "19 cancelled calls sent nothing, yet the other client is held {held_for:?} by their \
             slots ({result:?})"
        );
    }
}

#[cfg(feature = "simulator")]
mod throttle_refused_waits {
    // A throttle wait the client refuses (past the step's deadline, or
    // cancelled) sends nothing, so it must not keep a slot of the budget: a
    // request after the pause ended starts on the budget's spacing, not behind
    // every request that was refused during the pause.

    use std::time::Duration;

    use waba_porting::simulator::{Fault, Scenario};
    use waba_porting::{Error, Operation, RetryPolicy, Throttle, WaitReason};

    #[tokio::test(flavor = "current_thread")]
    async fn requests_refused_during_a_pause_hold_no_budget_slots_after_it() {
        let sim = Scenario::happy_path().build();
        let throttle = Throttle::new().calls_per_second(1);
        let client = sim
            .client_builder()
            .throttle(throttle.clone())
            .retry_policy(RetryPolicy::none().with_deadline(Duration::from_secs(5)))
            .build()
            .unwrap();
        let mut session = sim.session();
        client.start_migration(&mut session).await.unwrap();
        let id = session.state().phone_number_id().unwrap().clone();

        // One rate-limit answer pauses every request (60 s, longer than the
        // step deadline of 5 s: the client refuses to wait it).
        sim.inject_at(
            Operation::ReadPhoneNumber,
            Fault::RateLimit {
                code: 80007,
                retry_after: None,
            },
            1,
        );
        assert!(client.read_phone_number(&id).await.is_err());
        let until = throttle.paused_until().expect("paused");
        let served = sim.served_count();

        // 30 reads during the pause: each refused, nothing sent.
        for _ in 0..30 {
            match client.read_phone_number(&id).await {
                Err(Error::WaitRequired(w)) => assert_eq!(w.reason(), WaitReason::Throttle),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            sim.served_count(),
            served,
            "nothing was sent during the pause"
        );

        // The pause is over (and a second more): the budget allows one request
        // per second and none was sent for a minute.
        sim.advance(until.saturating_since(sim.now()) + Duration::from_secs(1));
        let after = client.read_phone_number(&id).await;
        assert!(
            after.is_ok(),
            "a read after the pause ended was refused: {after:?} (now {}, pause ended {until}); \
             the 30 refused reads, never sent, still hold the budget's slots",
            sim.now()
        );
    }
}

#[cfg(feature = "simulator")]
mod throttle_step_deadline {
    // "Every throttle wait respects the step's retry deadline": a step call
    // that first reads the number (to settle a step whose answer was lost) and
    // then sends the step waits in the throttle twice — both waits together
    // must stay within the deadline, as one step's waits.

    use super::common;

    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use common::wire::{json_answer, operation_of, pin};
    use waba_porting::simulator::{Scenario, Simulator};
    use waba_porting::transport::{HttpRequest, HttpResponse};
    use waba_porting::{
        async_trait, Error, Operation, PortingClient, RetryPolicy, Throttle, Transport,
        TransportError, WabaId,
    };

    use common::wire::AlwaysLimited;

    /// The simulator; the first register dies at a proxy (Meta never saw it);
    /// when `armed`, the next number read first lets `other` (a client sharing
    /// the throttle, another session of the fleet) meet a rate limit.
    #[derive(Debug, Clone)]
    struct Armed {
        sim: Simulator,
        other: Arc<std::sync::Mutex<Option<PortingClient>>>,
        armed: Arc<AtomicBool>,
        registers: Arc<AtomicUsize>,
    }

    #[async_trait]
    impl Transport for Armed {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            let operation = operation_of(&request);
            if operation == Operation::Register
                && self.registers.fetch_add(1, Ordering::SeqCst) == 0
            {
                return Ok(json_answer(502, "<html>Bad Gateway</html>"));
            }
            if operation == Operation::ReadPhoneNumber && self.armed.swap(false, Ordering::SeqCst) {
                let other = self.other.lock().unwrap().clone().unwrap();
                let waba = WabaId::new("102290129340398").unwrap();
                let _ = other.subscribe_app(&waba).await;
            }
            self.sim.send(request).await
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_reconciling_read_and_the_step_share_one_throttle_deadline() {
        let sim = Scenario::happy_path().build();
        let mut session = common::wire::verified_session(&sim).await;

        let throttle = Throttle::new();
        let deadline = Duration::from_secs(120);
        let armed = Armed {
            sim: sim.clone(),
            other: Arc::default(),
            armed: Arc::default(),
            registers: Arc::default(),
        };
        let other = PortingClient::builder()
            .access_token("EAAG-other")
            .transport(AlwaysLimited)
            .clock(sim.clock())
            .sleep(sim.clock())
            .throttle(throttle.clone())
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        *armed.other.lock().unwrap() = Some(other.clone());
        let client = sim
            .client_builder()
            .transport(armed.clone())
            .throttle(throttle.clone())
            .retry_policy(RetryPolicy::none().with_deadline(deadline))
            .build()
            .unwrap();

        // The first register's answer is lost: in flight.
        assert!(client.register(&mut session, &pin(), None).await.is_err());
        assert!(session.in_flight().is_some());
        // Another session meets a rate limit: every request waits 100 s.
        let waba = WabaId::new("102290129340398").unwrap();
        let _ = other.subscribe_app(&waba).await;
        // And another one while this step's reconciling read is on the wire.
        armed.armed.store(true, Ordering::SeqCst);

        let started = sim.now();
        let result = client.register(&mut session, &pin(), None).await;
        let spent = sim.now().saturating_since(started);
        let refused = matches!(&result, Err(Error::WaitRequired(_)));
        assert!(
            spent <= deadline || refused,
            "one register call with a {deadline:?} deadline waited {spent:?} in the throttle \
             (result {result:?})"
        );
    }
}

#[cfg(feature = "simulator")]
mod throttle_wait_without_timer {
    // A client whose timer cannot wait here ([`Sleep::can_sleep`] false: the
    // default `RuntimeSleep` off tokio, or on a runtime without its time
    // driver) ends a throttle wait as `Error::WaitRequired` carrying the time
    // the request may start. Coming back at that time must let the request
    // through: a refusal that still takes a budget slot pushes the next slot
    // one interval further each time, so a caller that does what the error
    // says is refused forever.

    use std::time::Duration;

    use waba_porting::simulator::Scenario;
    use waba_porting::{async_trait, Error, Sleep, Throttle, WabaId, WaitReason};

    /// A timer that cannot wait where it is called (as `RuntimeSleep` off tokio).
    #[derive(Debug)]
    struct CannotWait;

    #[async_trait]
    impl Sleep for CannotWait {
        async fn sleep(&self, _: Duration) {}

        fn can_sleep(&self) -> bool {
            false
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_call_made_again_at_the_time_a_throttle_refusal_named_is_let_through() {
        let sim = Scenario::happy_path().build();
        let clock = sim.clock();
        let client = sim
            .client_builder()
            .sleep(CannotWait)
            .throttle(Throttle::new().calls_per_second(1))
            .build()
            .unwrap();
        let waba = WabaId::new("102290129340398").unwrap();
        // The first request of the second starts at once.
        client.subscribe_app(&waba).await.unwrap();
        // The next one must wait a second; the timer cannot, so it is refused
        // with the time it may start.
        let mut refusals = Vec::new();
        for _ in 0..5 {
            match client.subscribe_app(&waba).await {
                Ok(()) => break,
                Err(Error::WaitRequired(wait)) => {
                    assert_eq!(wait.reason(), WaitReason::Throttle);
                    refusals.push(wait.wait());
                    // Do what the error says: call again at `until`.
                    clock.set(wait.until());
                }
                Err(other) => panic!("unexpected error: {other:?}"),
            }
        }
        assert_eq!(
            refusals.len(),
            1,
            "the call was refused {} times in a row, each time coming back at the time the \
             refusal named (waits {refusals:?}): every refused wait kept its budget slot",
            refusals.len()
        );
    }

    /// The same with the default timer, `RuntimeSleep`, on a tokio runtime
    /// built without its time driver (it cannot wait there).
    #[test]
    fn the_default_timer_on_a_runtime_without_timers_refuses_a_caller_at_the_named_time_again() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            let sim = Scenario::happy_path().build();
            let clock = sim.clock();
            let client = sim
                .client_builder()
                .sleep(waba_porting::RuntimeSleep)
                .throttle(Throttle::new().calls_per_second(2))
                .build()
                .unwrap();
            let waba = WabaId::new("102290129340398").unwrap();
            client.subscribe_app(&waba).await.unwrap();
            let mut refusals = Vec::new();
            for _ in 0..5 {
                match client.subscribe_app(&waba).await {
                    Ok(()) => break,
                    Err(Error::WaitRequired(wait)) => {
                        refusals.push(wait.wait());
                        clock.set(wait.until());
                    }
                    Err(other) => panic!("unexpected error: {other:?}"),
                }
            }
            assert_eq!(
                refusals.len(),
                1,
                "refused {} times in a row at the named times (waits {refusals:?})",
                refusals.len()
            );
        });
    }
}

#[cfg(feature = "simulator")]
mod throttle_waits_of_one_call_share_its_deadline {
    // "Every wait — between retries and in the throttle — ends within the
    // step's deadline" (README); the throttle "waits … within the step's
    // RetryPolicy deadline" (`Throttle`'s doc); the deadline is "the longest
    // a step call may spend waiting between attempts, in all". A call that
    // sends several requests — attempts of `subscribe_app`, `refresh`'s
    // reconciling read and its own read, `start_migration`'s look-up of a
    // number already in the destination — must not give each request a whole
    // deadline of throttle waiting.

    use super::common;

    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use common::wire::{json_answer, operation_of};
    use waba_porting::simulator::{Fault, Scenario, Simulator};
    use waba_porting::transport::{HttpRequest, HttpResponse};
    use waba_porting::{
        async_trait, Operation, PortingClient, RetryPolicy, Throttle, Transport, TransportError,
        WabaId,
    };

    const DEADLINE: Duration = Duration::from_secs(120);

    fn waba() -> WabaId {
        WabaId::new("102290129340398").unwrap()
    }

    use common::wire::AlwaysLimited;

    /// The simulator; the first request of `trigger` to go out makes another
    /// session sharing the throttle meet a rate limit (a 100 s pause), and,
    /// when `fail_first`, is itself answered with a temporary error.
    #[derive(Debug, Clone)]
    struct Armed {
        sim: Simulator,
        other: Arc<Mutex<Option<PortingClient>>>,
        trigger: Operation,
        fail_first: bool,
        fired: Arc<AtomicBool>,
        sent: Arc<AtomicUsize>,
    }

    #[async_trait]
    impl Transport for Armed {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            self.sent.fetch_add(1, Ordering::SeqCst);
            if operation_of(&request) == self.trigger && !self.fired.swap(true, Ordering::SeqCst) {
                let other = self.other.lock().unwrap().clone().unwrap();
                let _ = other.subscribe_app(&waba()).await;
                if self.fail_first {
                    return Ok(json_answer(
                        503,
                        r#"{"error":{"message":"Service temporarily unavailable","code":2}}"#,
                    ));
                }
            }
            self.sim.send(request).await
        }
    }

    /// A client on `sim` sharing a throttle with another client that meets a
    /// rate limit when `trigger` goes out; the other client has already met
    /// one (every request waits 100 s from now).
    async fn setup(
        sim: &Simulator,
        trigger: Operation,
        fail_first: bool,
    ) -> (PortingClient, Armed) {
        let throttle = Throttle::new();
        let other = PortingClient::builder()
            .access_token("EAAG-other")
            .transport(AlwaysLimited)
            .clock(sim.clock())
            .sleep(sim.clock())
            .throttle(throttle.clone())
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        let armed = Armed {
            sim: sim.clone(),
            other: Arc::new(Mutex::new(Some(other.clone()))),
            trigger,
            fail_first,
            fired: Arc::default(),
            sent: Arc::default(),
        };
        let client = sim
            .client_builder()
            .transport(armed.clone())
            .throttle(throttle)
            .retry_policy(RetryPolicy::default().with_deadline(DEADLINE))
            .build()
            .unwrap();
        let _ = other.subscribe_app(&waba()).await;
        (client, armed)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn subscribe_app_waits_in_the_throttle_within_one_deadline_in_all() {
        let sim = Scenario::happy_path().build();
        let (client, armed) = setup(&sim, Operation::SubscribeApp, true).await;
        let started = sim.now();
        let result = client.subscribe_app(&waba()).await;
        let spent = sim.now().saturating_since(started);
        assert!(
            spent <= DEADLINE,
            "one subscribe_app call with a {DEADLINE:?} deadline waited {spent:?} (result \
             {result:?}, {} requests)",
            armed.sent.load(Ordering::SeqCst)
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn refresh_waits_in_the_throttle_within_one_deadline_in_all() {
        let sim = Scenario::happy_path().build();
        let mut session = common::wire::verified_session(&sim).await;
        // A register whose answer was lost: refresh reconciles it first.
        sim.inject_at(Operation::Register, Fault::AnswerLost, 1);
        let plain = sim
            .client_builder()
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        assert!(plain
            .register(&mut session, &common::wire::pin(), None)
            .await
            .is_err());
        assert!(session.in_flight().is_some());
        let (client, armed) = setup(&sim, Operation::ReadPhoneNumber, false).await;
        let started = sim.now();
        let result = client.refresh(&mut session).await;
        let spent = sim.now().saturating_since(started);
        assert!(
            spent <= DEADLINE,
            "one refresh call with a {DEADLINE:?} deadline waited {spent:?} in the throttle \
             (result ok: {}, {} requests)",
            result.is_ok(),
            armed.sent.load(Ordering::SeqCst)
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn start_migration_and_its_look_up_wait_in_the_throttle_within_one_deadline() {
        let sim = Scenario::already_in_destination().build();
        let mut session = sim.session();
        let (client, armed) = setup(&sim, Operation::StartMigration, false).await;
        let started = sim.now();
        let result = client.start_migration(&mut session).await;
        let spent = sim.now().saturating_since(started);
        assert!(
            spent <= DEADLINE,
            "one start_migration call with a {DEADLINE:?} deadline waited {spent:?} in the \
             throttle (result {:?}, {} requests)",
            result.map_err(|e| e.to_string()),
            armed.sent.load(Ordering::SeqCst)
        );
    }
}

#[cfg(feature = "simulator")]
mod throttle_deadline_with_clock_stepped_back {
    // "Every wait — between retries and in the throttle — ends within the
    // step's deadline (a longer throttle pause ends the step as
    // `WaitRequired`, reason `Throttle`, nothing sent)" (README); the throttle
    // "spaces requests on a time line that only moves forward with the
    // client's clock (a wall clock stepped back stalls nothing)" and "all the
    // throttle waits of one call … share the retry deadline" (CHANGELOG).
    //
    // A wall clock stepped back while a call is under way (NTP at boot, a
    // restored snapshot) must not stretch that call's deadline: a call that
    // may wait 30 s in all must not wait a 100 s rate-limit pause because the
    // clock now reads an hour earlier.

    use super::common;

    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use waba_porting::simulator::{Scenario, SimClock, Simulator};
    use waba_porting::transport::{HttpRequest, HttpResponse};
    use waba_porting::{
        async_trait, PortingClient, RetryPolicy, Sleep, Throttle, Transport, TransportError, WabaId,
    };

    const DEADLINE: Duration = Duration::from_secs(30);

    fn waba() -> WabaId {
        WabaId::new("102290129340398").unwrap()
    }

    use common::wire::AlwaysLimited;

    /// The simulator; while the first request is out, the host's clock is
    /// stepped back an hour and another session sharing the throttle meets a
    /// rate limit (a 100 s pause for everyone).
    #[derive(Debug, Clone)]
    struct SteppedBack {
        sim: Simulator,
        other: PortingClient,
        fired: Arc<AtomicBool>,
    }

    #[async_trait]
    impl Transport for SteppedBack {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            if !self.fired.swap(true, Ordering::SeqCst) {
                let now = self.sim.now();
                let back = now.as_unix_millis() - 3_600_000;
                self.sim
                    .clock()
                    .set(waba_porting::Timestamp::from_unix_millis(back));
                let _ = self.other.subscribe_app(&waba()).await;
            }
            self.sim.send(request).await
        }
    }

    /// The simulator's timer, adding up what it was asked to wait.
    #[derive(Debug, Clone)]
    struct Recorded {
        clock: SimClock,
        slept: Arc<Mutex<Duration>>,
    }

    #[async_trait]
    impl Sleep for Recorded {
        async fn sleep(&self, duration: Duration) {
            *self.slept.lock().unwrap() += duration;
            self.clock.sleep(duration).await;
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_clock_stepped_back_mid_call_does_not_stretch_its_throttle_deadline() {
        let sim = Scenario::happy_path().build();
        let session = sim.session();
        let throttle = Throttle::new();
        let other = PortingClient::builder()
            .access_token("EAAG-other")
            .transport(AlwaysLimited)
            .clock(sim.clock())
            .sleep(sim.clock())
            .throttle(throttle.clone())
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        let recorded = Recorded {
            clock: sim.clock(),
            slept: Arc::default(),
        };
        let client = sim
            .client_builder()
            .transport(SteppedBack {
                sim: sim.clone(),
                other,
                fired: Arc::default(),
            })
            .sleep(recorded.clone())
            .throttle(throttle.clone())
            .retry_policy(RetryPolicy::default().with_deadline(DEADLINE))
            .build()
            .unwrap();

        // Reads the WABA's subscribed apps, then the WABA: one call, one
        // deadline. The second read meets the 100 s pause.
        let result = client.check_readiness(&session).await;
        let slept = *recorded.slept.lock().unwrap();
        assert!(
            slept <= DEADLINE,
            "one check_readiness call with a {DEADLINE:?} deadline waited {slept:?} in the \
             throttle after the clock stepped back an hour (result: {})",
            match &result {
                Ok(_) => "ok".to_owned(),
                Err(e) => e.to_string(),
            }
        );
    }
}

#[cfg(feature = "simulator")]
mod throttle_waits_of_one_call_count_time_slept {
    // `Sleep`: "Inject your runtime's timer (or, in tests, one that records
    // the waits and returns at once)"; `Retries`' bookkeeping counts "the time
    // slept … against the deadline even on a clock that does not move with
    // the sleep"; README: "Every wait — between retries and in the throttle —
    // ends within the step's deadline"; CHANGELOG: "all the throttle waits of
    // one call … share the retry deadline".
    //
    // With a timer that returns at once (the clock does not move with it),
    // the throttle waits of one call must still add up to at most its
    // deadline: each request of the call must not get the whole deadline
    // again.

    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use waba_porting::simulator::Scenario;
    use waba_porting::{async_trait, RetryPolicy, Sleep, Throttle};

    const DEADLINE: Duration = Duration::from_millis(2_500);

    /// Records the waits and returns at once.
    #[derive(Debug, Clone, Default)]
    struct Recording(Arc<Mutex<Vec<Duration>>>);

    #[async_trait]
    impl Sleep for Recording {
        async fn sleep(&self, duration: Duration) {
            self.0.lock().unwrap().push(duration);
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_throttle_waits_of_one_call_add_up_to_at_most_its_deadline_with_an_instant_timer() {
        let sim = Scenario::happy_path().build();
        let mut session = sim.session();
        // The session has a number id: readiness also reads the number.
        sim.client()
            .unwrap()
            .start_migration(&mut session)
            .await
            .unwrap();
        let recording = Recording::default();
        let client = sim
            .client_builder()
            .sleep(recording.clone())
            .throttle(Throttle::new().calls_per_second(1))
            .retry_policy(RetryPolicy::default().with_deadline(DEADLINE))
            .build()
            .unwrap();

        // The WABA's subscribed apps, the WABA, the number: one call, one
        // deadline.
        let result = client.check_readiness(&session).await;
        let waits = recording.0.lock().unwrap().clone();
        let total: Duration = waits.iter().sum();
        assert!(
            total <= DEADLINE,
            "one check_readiness call with a {DEADLINE:?} deadline waited {total:?} in the \
             throttle ({waits:?}; result ok: {})",
            result.is_ok()
        );
    }
}

// ---- one number's wait pauses nobody else; no wait is longer than 72 hours

const HOURS_72: Duration = Duration::from_secs(72 * 3600);

fn rate_limit_body(code: i64) -> String {
    format!(
        r#"{{"error":{{"message":"(#{code}) Rate limit hit","type":"OAuthException","code":{code},"fbtrace_id":"A1"}}}}"#
    )
}

/// A client on the simulator whose start requests are answered by `start`
/// (once), sharing `throttle`.
fn client_answering_start_once(
    sim: &Simulator,
    throttle: &Throttle,
    start: HttpResponse,
) -> waba_porting::PortingClient {
    let once = Mutex::new(Some(start));
    sim.client_builder()
        .transport(Rewrite {
            sim: sim.clone(),
            rule: Arc::new(move |request: &HttpRequest| {
                if request.url.path().ends_with("/phone_numbers") {
                    once.lock().unwrap().take()
                } else {
                    None
                }
            }),
        })
        // A throttle wait is bounded by the step's deadline: long enough
        // here for a capped (72-hour) pause to be waited out.
        .retry_policy(RetryPolicy::none().with_deadline(HOURS_72 * 2))
        .throttle(throttle.clone())
        .build()
        .unwrap()
}

/// Every wait an answer imposes is capped at 72 hours (`MAX_WAIT`: "a
/// hostile or broken server cannot park a session for years") — and the
/// error itself reports the capped wait — but the throttle takes the raw
/// `Retry-After` and pauses every session of the fleet for centuries.
#[tokio::test(flavor = "current_thread")]
async fn a_huge_retry_after_does_not_pause_the_whole_fleet_for_centuries() {
    let (sim, sessions) = world(2);
    let throttle = Throttle::new();
    let client = client_answering_start_once(
        &sim,
        &throttle,
        raw_answer_with_retry_after(429, &rate_limit_body(4), "99999999999"),
    );
    let mut limited = sessions[0].clone();
    let error = client.start_migration(&mut limited).await.unwrap_err();
    assert_eq!(
        error.retry_after(),
        Some(HOURS_72),
        "the error's own wait is capped"
    );
    let now = sim.now();
    let paused = throttle.paused_until().expect("a rate limit pauses");
    // Another session's first request now waits as long as the pause.
    let mut other = sessions[1].clone();
    client.start_migration(&mut other).await.unwrap();
    let waited = sim.now().saturating_since(now);
    assert!(
        paused.saturating_since(now) <= HOURS_72 && waited <= HOURS_72,
        "one answer paused every request for {:?} (the other session waited {:?})",
        paused.saturating_since(now),
        waited
    );
}

/// The docs: "A wait Meta documents for one number's case (a register
/// limit, a code request too soon) stays that session's own and pauses
/// nobody else." But `observe` pauses everyone for any error carrying a
/// `Retry-After`, so a 133016 (one number's 72-hour register block) sent
/// with the header stops the whole fleet for 72 hours.
#[tokio::test(flavor = "current_thread")]
async fn one_numbers_register_limit_with_retry_after_does_not_pause_everyone() {
    let (sim, sessions) = world(2);
    let throttle = Throttle::new();
    let blocked = r#"{"error":{"message":"(#133016) Account register or deregister rate limit exceeded","type":"OAuthException","code":133016,"fbtrace_id":"A1"}}"#;
    let client = client_answering_start_once(
        &sim,
        &throttle,
        raw_answer_with_retry_after(400, blocked, "259200"),
    );
    let mut first = sessions[0].clone();
    let error = client.start_migration(&mut first).await.unwrap_err();
    assert_eq!(error.api_kind(), Some(ApiErrorKind::RegisterLimitReached));
    let now = sim.now();
    let mut other = sessions[1].clone();
    client.start_migration(&mut other).await.unwrap();
    assert_eq!(
        throttle.paused_until(),
        None,
        "one number's documented wait paused the throttle; the other session waited {:?}",
        sim.now().saturating_since(now)
    );
}

/// Pins: the same 133016 without the header pauses nobody.
#[tokio::test(flavor = "current_thread")]
async fn one_numbers_register_limit_without_header_pauses_nobody() {
    let (sim, sessions) = world(1);
    let throttle = Throttle::new();
    let blocked = r#"{"error":{"message":"(#133016) limit","code":133016}}"#;
    let client = client_answering_start_once(&sim, &throttle, raw_answer(400, blocked));
    let mut first = sessions[0].clone();
    let _ = client.start_migration(&mut first).await.unwrap_err();
    assert_eq!(throttle.paused_until(), None);
}
