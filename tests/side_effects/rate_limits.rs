//! Rate limits and waits: a refused request is sent again once the limit
//! lifts, a step's waits end at its deadline or at a cancel, the throttle
//! paces on a clock that never steps back, and every wait says how long.
#![cfg(feature = "simulator")]

use crate::common;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::wire::{json_answer, pin, with_retry_after, world, Wire, YieldOnce};
use waba_porting::simulator::{Scenario, SimClock};
use waba_porting::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use waba_porting::{
    async_trait, ApiErrorKind, CancelToken, CodeMethod, Error, Fleet, InMemoryStore, Language,
    Operation, PortingClient, RetryPolicy, Sleep, Throttle, Timestamp, WabaId,
};

/// Graph's "(#613) Calls to this api have exceeded the rate limit" (and
/// #32, the page-level limit) are throttling codes of the Graph API's error
/// table, sent with HTTP 400. The crate classifies them `Unknown`:
/// - the shared throttle does not pause (the fleet keeps hammering);
/// - `retry_advice` is DoNotRetry and the remediation says "contact
///   support" (`who_must_act` = Support) for what is a wait;
/// - worst: `Unknown` counts as "Meta may have acted", so the refused
///   `request_code` keeps its in-flight marker, and the next `request_code`
///   reconciles it into "a code was possibly sent" and returns Ok without
///   sending anything: the customer waits for a code that never comes.
#[tokio::test(flavor = "current_thread")]
async fn graph_rate_limit_613_is_unknown_and_the_refused_code_request_is_never_resent() {
    let sim = Scenario::happy_path().build();
    let mut session = sim.session();
    let throttle = Throttle::new();
    let limited = r#"{"error":{"message":"(#613) Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613,"fbtrace_id":"AbCdEfGh123"}}"#;
    let wire = Wire::new(&sim, move |op, n| {
        (op == Operation::RequestCode && n == 1).then(|| json_answer(400, limited))
    });
    let client = sim
        .client_builder()
        .transport(wire.clone())
        .throttle(throttle.clone())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    client.start_migration(&mut session).await.unwrap();
    let err = client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap_err();
    let (kind, actor, paused) = (err.api_kind(), err.who_must_act(), throttle.paused_until());
    // An hour later the operator asks again for a code.
    sim.advance(Duration::from_secs(3600));
    let again = client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await;
    let delivered = sim.inbox(session.phone_number()).len();
    assert!(
        kind == Some(ApiErrorKind::RateLimited) && paused.is_some() && delivered == 1,
        "613 classified {kind:?} (who acts: {actor:?}, throttle paused: {paused:?}); the second \
         request_code returned {again:?} after handing {} request_code(s) to the wire, and {} \
         code(s) reached the customer; session says unconfirmed={} next={:?}",
        wire.sent(Operation::RequestCode),
        delivered,
        session.code_request_unconfirmed(),
        session.next_action().action
    );
}

/// `Error::WaitRequired` carries the exact time the step may be sent, yet
/// `Error::retry_after()` — "How long to wait before retrying, when known"
/// — says `None`, so code that schedules retries from `retry_after()` (the
/// README's pattern) falls back to its own guess.
#[tokio::test(flavor = "current_thread")]
async fn wait_required_knows_its_wait_but_retry_after_is_none() {
    let sim = Scenario::happy_path().build();
    let client = sim
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    session.set_not_before(Some(sim.now().saturating_add(Duration::from_secs(600))));
    let err = client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap_err();
    let until = match &err {
        Error::WaitRequired(w) => Some(w.until()),
        _ => None,
    };
    assert!(until.is_some(), "{err:?}");
    assert_eq!(
        err.retry_after(),
        Some(Duration::from_secs(600)),
        "WaitRequired until {until:?} (in 600 s), but retry_after() = {:?}",
        err.retry_after()
    );
}

// ======================================================= 5. throttle & cancel

/// A Sleep on simulated time that records each wait and, the first time it
/// is asked to wait an hour or more, plays the operator pressing Ctrl-C
/// (`CancelToken::cancel`) as the wait begins.
#[derive(Clone)]
struct CancellingSleep {
    clock: SimClock,
    cancel: CancelToken,
    waits: Arc<Mutex<Vec<Duration>>>,
    cancelled_at_sent: Arc<AtomicUsize>,
    wire_sent: Arc<dyn Fn() -> usize + Send + Sync>,
}

impl fmt::Debug for CancellingSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CancellingSleep")
    }
}

#[async_trait]
impl Sleep for CancellingSleep {
    async fn sleep(&self, duration: Duration) {
        self.waits.lock().unwrap().push(duration);
        if duration >= Duration::from_secs(3600) && !self.cancel.is_cancelled() {
            self.cancel.cancel();
            self.cancelled_at_sent
                .store((self.wire_sent)(), Ordering::SeqCst);
        }
        YieldOnce(false).await;
        self.clock.advance(duration);
    }
}

fn limited_80007_for_an_hour() -> HttpResponse {
    with_retry_after(
        json_answer(
            429,
            r#"{"error":{"message":"(#80007) Rate limit","code":80007,"fbtrace_id":"AbCdEf12345"}}"#,
        ),
        3600,
    )
}

/// `CancelToken` promises "no new step starts, and the run returns". A
/// session waiting in the shared throttle (a rate-limit pause, up to 72 h)
/// was not woken by `cancel()`: the run stayed parked for the whole pause
/// and then sent the steps anyway. Here the retry deadline is long enough
/// for the fleet to wait out the pause, and the operator cancels as the
/// hour-long wait begins: the run must return at once, sending nothing more.
#[tokio::test(flavor = "current_thread")]
async fn cancel_does_not_stop_a_fleet_parked_in_a_throttle_pause() {
    let (sim, sessions) = world(3);
    let limited = limited_80007_for_an_hour();
    let wire = Wire::new(&sim, move |op, n| {
        (op == Operation::RequestCode && n == 1).then(|| limited.clone())
    });
    let cancel = CancelToken::new();
    let counter = wire.clone();
    let sleep = CancellingSleep {
        clock: sim.clock(),
        cancel: cancel.clone(),
        waits: Arc::default(),
        cancelled_at_sent: Arc::new(AtomicUsize::new(usize::MAX)),
        wire_sent: Arc::new(move || counter.sent.lock().unwrap().len()),
    };
    let started = sim.now();
    let client = sim
        .client_builder()
        .transport(wire.clone())
        .sleep(sleep.clone())
        .retry_policy(RetryPolicy::default().with_deadline(Duration::from_secs(2 * 3600)));
    let fleet = Fleet::builder(client, InMemoryStore::new())
        .inputs(sim.customers(pin()))
        .cancel_token(cancel.clone())
        .concurrency(3)
        .build()
        .unwrap();
    let report = fleet.run(sessions.clone()).await;
    let at_cancel = sleep.cancelled_at_sent.load(Ordering::SeqCst);
    let total = wire.sent.lock().unwrap().len();
    let longest = sleep.waits.lock().unwrap().iter().max().copied();
    let elapsed = sim.now().saturating_since(started);
    let outcomes: Vec<_> = report.sessions.iter().map(|r| r.outcome.label()).collect();
    assert!(
        cancel.is_cancelled() && total == at_cancel && elapsed < Duration::from_secs(120),
        "cancelled with {at_cancel} requests sent; the run went on to send {} more and \
         returned {elapsed:?} (simulated) after it began; longest single wait {longest:?} \
         (policy deadline {:?}); outcomes {outcomes:?}",
        total.saturating_sub(at_cancel),
        fleet.client().retry_policy().deadline(),
    );
    assert!(
        report.progress.cancelled >= 1 && outcomes.iter().all(|o| !o.starts_with("failed")),
        "{outcomes:?}"
    );
}

/// The throttle's pause ignored the retry policy's deadline (2 minutes by
/// default): one step call waited an hour. A step's waits respect its
/// deadline; a pause past it ends the step as a wait with the time, nothing
/// sent, and the fleet reports the session waiting (on us) until then.
#[tokio::test(flavor = "current_thread")]
async fn a_throttle_pause_past_the_retry_deadline_ends_the_step_as_a_wait_with_its_time() {
    let (sim, sessions) = world(3);
    let limited = limited_80007_for_an_hour();
    let wire = Wire::new(&sim, move |op, n| {
        (op == Operation::RequestCode && n == 1).then(|| limited.clone())
    });
    let never = CancelToken::new();
    let sleep = CancellingSleep {
        clock: sim.clock(),
        cancel: never.clone(),
        waits: Arc::default(),
        cancelled_at_sent: Arc::new(AtomicUsize::new(usize::MAX)),
        wire_sent: Arc::new(|| 0),
    };
    let started = sim.now();
    let client = sim
        .client_builder()
        .transport(wire.clone())
        .sleep(sleep.clone());
    let fleet = Fleet::builder(client, InMemoryStore::new())
        .inputs(sim.customers(pin()))
        .concurrency(3)
        .build()
        .unwrap();
    let deadline = fleet.client().retry_policy().deadline();
    let report = fleet.run(sessions.clone()).await;
    let waits = sleep.waits.lock().unwrap().clone();
    let elapsed = sim.now().saturating_since(started);
    let pause_end = fleet
        .throttle()
        .paused_until()
        .expect("the 429 paused the throttle");
    assert!(
        waits.iter().all(|w| *w <= deadline) && elapsed < deadline,
        "waits {waits:?} (deadline {deadline:?}); {elapsed:?} elapsed"
    );
    assert!(pause_end >= started.saturating_add(Duration::from_secs(3600)));
    for result in &report.sessions {
        match &result.outcome {
            waba_porting::SessionOutcome::Waiting { next, .. } => {
                assert_eq!(next.actor, waba_porting::Actor::Us, "{:?}", result.outcome);
                assert!(
                    next.not_before.is_some_and(|t| t >= pause_end),
                    "{:?} (pause ends {pause_end})",
                    result.outcome
                );
            }
            other => panic!("{other:?}"),
        }
    }
    // Nothing was sent after the 429 but what the other sessions had sent
    // before it.
    assert_eq!(
        wire.sent(Operation::RequestCode),
        3,
        "{:?}",
        wire.sent.lock().unwrap()
    );
}

// ======================================================= 7. wall-clock steps

#[derive(Clone, Debug)]
struct SteppingClock(Arc<std::sync::atomic::AtomicU64>);

impl waba_porting::Clock for SteppingClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.0.load(Ordering::SeqCst))
    }
}

#[derive(Clone, Debug)]
struct RecordingSleep {
    clock: SteppingClock,
    waits: Arc<Mutex<Vec<Duration>>>,
}

#[async_trait]
impl Sleep for RecordingSleep {
    async fn sleep(&self, duration: Duration) {
        self.waits.lock().unwrap().push(duration);
        let ms = u64::try_from(duration.as_millis()).unwrap();
        self.clock.0.fetch_add(ms, Ordering::SeqCst);
    }
}

#[derive(Debug)]
struct AlwaysOk;

#[async_trait]
impl Transport for AlwaysOk {
    async fn send(&self, _request: HttpRequest) -> Result<HttpResponse, TransportError> {
        Ok(json_answer(200, r#"{"success":true}"#))
    }
}

/// The throttle paces on the client's `Clock`, by default the wall clock
/// (`SystemClock`), and keeps its next slot as an absolute time. When the
/// wall clock is stepped back (NTP stepping a VM's clock at boot, a
/// snapshot restore), every request waits out the step: with 10 calls per
/// second, a one-hour step back stalls the whole fleet for an hour.
#[tokio::test(flavor = "current_thread")]
async fn a_wall_clock_stepped_back_stalls_the_throttle_for_the_whole_step() {
    let clock = SteppingClock(Arc::new(std::sync::atomic::AtomicU64::new(
        1_800_000_000_000,
    )));
    let sleep = RecordingSleep {
        clock: clock.clone(),
        waits: Arc::default(),
    };
    let client = PortingClient::builder()
        .access_token("EAAG-test")
        .transport(AlwaysOk)
        .clock(clock.clone())
        .sleep(sleep.clone())
        .throttle(Throttle::new().calls_per_second(10))
        .build()
        .unwrap();
    let waba = WabaId::new("102290129340398").unwrap();
    for _ in 0..3 {
        client.subscribe_app(&waba).await.unwrap();
    }
    // The clock is stepped back by an hour.
    clock.0.fetch_sub(3_600_000, Ordering::SeqCst);
    sleep.waits.lock().unwrap().clear();
    client.subscribe_app(&waba).await.unwrap();
    let waits = sleep.waits.lock().unwrap().clone();
    assert!(
        waits.iter().all(|w| *w <= Duration::from_secs(1)),
        "after a one-hour step back of the wall clock, one request under a 10/s budget waited \
         {waits:?}"
    );
}

#[cfg(feature = "simulator")]
mod cancelled_retry_after_unknown_outcome {
    // A `CancelToken` cuts a client's wait between attempts short. When the
    // attempt before the wait was sent and its outcome is unknown (the answer
    // was lost: Meta may have registered the number), the error the step
    // returns must not say the step was not sent, nor advise a plain repeat:
    // `Error::retry_advice` is "the one retry decision of the crate", and a
    // side-effecting step whose outcome is unknown is `ReconcileFirst`.

    use super::common;

    use std::time::Duration;

    use futures_util::FutureExt;
    use waba_porting::simulator::{Fault, Scenario};
    use waba_porting::{
        async_trait, CancelToken, NextAction, Operation, RetryAdvice, RetryPolicy, Sleep,
    };

    /// A timer whose waits never end on their own (only a cancel ends them).
    #[derive(Debug)]
    struct Forever;

    #[async_trait]
    impl Sleep for Forever {
        async fn sleep(&self, _: Duration) {
            std::future::pending::<()>().await
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_cancelled_retry_wait_after_a_lost_register_answer_does_not_say_nothing_was_sent() {
        let sim = Scenario::happy_path().build();
        let mut session = common::wire::verified_session(&sim).await;
        let token = CancelToken::new();
        let client = sim
            .client_builder()
            .sleep(Forever)
            .cancel_token(token.clone())
            .retry_policy(
                RetryPolicy::default().with_backoff(Duration::from_secs(5), Duration::from_secs(5)),
            )
            .build()
            .unwrap();
        // Meta registers the number; the answer is lost.
        sim.inject_at(Operation::Register, Fault::AnswerLost, 1);
        let pin = common::wire::pin();
        let error = {
            let mut call = Box::pin(client.register(&mut session, &pin, None));
            assert!(
                (&mut call).now_or_never().is_none(),
                "waits before retrying"
            );
            token.cancel();
            call.await.unwrap_err()
        };
        assert_eq!(sim.calls(session.phone_number()).unwrap().register, 1);
        assert_eq!(
            session.next_action().action,
            NextAction::Reconcile {
                step: Operation::Register
            }
        );
        let advice = error.retry_advice();
        assert!(
            advice == RetryAdvice::ReconcileFirst && !error.to_string().contains("not sent"),
            "Meta received the register (its answer was lost), yet the step returned \"{error}\" \
             with advice {advice:?} and remediation \"{}\"",
            error.remediation()
        );
    }
}

#[cfg(feature = "simulator")]
mod fleet_cancel_between_retries_reports_cancelled {
    // A fleet run stopped by its `CancelToken` while a session waits between
    // two attempts of a step: "`CancelToken::cancel()` ends every wait at once
    // (a throttle pause, a wait between retries: that step is not sent) …
    // and stops the rest (all saved)" (README), and the session's outcome is
    // `SessionOutcome::Cancelled` — "The run was cancelled before the session
    // finished; it is saved and resumes on the next run" — counted in the
    // progress's `cancelled` column. A cancelled run is not a failure: nothing
    // failed that a later run would not simply retry.

    use std::sync::Arc;
    use std::time::Duration;

    use futures_util::FutureExt;
    use waba_porting::simulator::{Fault, Scenario};
    use waba_porting::{
        async_trait, Fleet, InMemoryStore, Operation, ProgressColumn, RetryPolicy, SessionOutcome,
        Sleep,
    };

    /// A timer whose waits never end on their own (only a cancel ends them).
    #[derive(Debug)]
    struct Forever;

    #[async_trait]
    impl Sleep for Forever {
        async fn sleep(&self, _: Duration) {
            std::future::pending::<()>().await
        }
    }

    async fn cancelled_while_waiting_to_retry(fault: Fault, at: Operation) -> String {
        let sim = Scenario::happy_path().build();
        let session = sim.session();
        let fleet = Fleet::builder(
            sim.client_builder().sleep(Forever).retry_policy(
                RetryPolicy::default().with_backoff(Duration::from_secs(5), Duration::from_secs(5)),
            ),
            Arc::new(InMemoryStore::new()),
        )
        .build()
        .unwrap();
        // The first code request meets a passing failure: the step waits to
        // retry it.
        sim.inject_at(at, fault.clone(), 1);
        let mut run = Box::pin(fleet.run(vec![session]));
        assert!(
            (&mut run).now_or_never().is_none(),
            "the session waits to retry its step"
        );
        fleet.cancel_token().cancel();
        let report = run.await;
        let outcome = &report.sessions[0].outcome;
        let column = outcome.column();
        if matches!(outcome, SessionOutcome::Cancelled) && column == ProgressColumn::Cancelled {
            String::new()
        } else {
            format!(
                "{at:?} with {fault:?}: the run was cancelled while the session waited to retry, \
                 yet its outcome is `{}` ({outcome:?}), counted as {column:?}",
                outcome.label()
            )
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_run_cancelled_while_a_session_waits_to_retry_reports_it_cancelled() {
        let mut wrong = Vec::new();
        for (fault, at) in [
            (Fault::ServiceUnavailable, Operation::RequestCode),
            (Fault::BadGateway, Operation::RequestCode),
            (Fault::AnswerLost, Operation::RequestCode),
        ] {
            let message = cancelled_while_waiting_to_retry(fault, at).await;
            if !message.is_empty() {
                wrong.push(message);
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
