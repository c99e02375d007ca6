//! The fleet driver end to end on a multi-number simulator: throttle,
//! progress, isolation of failures, kill-and-restart from the directory
//! store, cancellation.
#![cfg(feature = "simulator")]

use std::future::Future;
use std::pin::Pin as StdPin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use waba_porting::simulator::{Fault, Scenario, Simulator};
use waba_porting::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use waba_porting::{
    async_trait, Actor, ApiErrorKind, DirectoryStore, Fleet, FleetEvent, FleetProgress,
    InMemoryStore, Operation, Pin, PortingSession, ProgressColumn, RetryPolicy, SessionOutcome,
    SessionStore, StateName, Throttle,
};

/// Yields once after the simulator answered: every request is a point
/// where other sessions run (as with a real network), and where a dropped
/// run leaves a request applied but unanswered.
#[derive(Clone, Debug)]
struct Yielding(Simulator);

struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: StdPin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[async_trait]
impl Transport for Yielding {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let answer = self.0.send(request).await;
        YieldOnce(false).await;
        answer
    }
}

fn pin() -> Pin {
    Pin::new("482913").unwrap()
}

/// A world of `n` happy numbers (none the world's first one), each with
/// its own WABA.
fn world(n: u32) -> (Simulator, Vec<PortingSession>) {
    let sim = Scenario::happy_path().build();
    sim.log_requests(true);
    let sessions = (0..n)
        .map(|i| sim.add_number(&Scenario::happy_path().numbered(i)))
        .collect();
    (sim, sessions)
}

fn fleet(sim: &Simulator, store: impl SessionStore + 'static) -> waba_porting::FleetBuilder {
    let client = sim
        .client_builder()
        .transport(Yielding(sim.clone()))
        .retry_policy(RetryPolicy::default());
    Fleet::builder(client, store)
        .inputs(sim.customers(pin()))
        .concurrency(16)
}

fn sum(p: &FleetProgress) -> usize {
    ProgressColumn::ALL.iter().map(|c| p.count(*c)).sum()
}

#[tokio::test(flavor = "current_thread")]
async fn a_mixed_fleet_ends_each_session_where_its_case_says_and_counts_add_up() {
    let sim = Scenario::happy_path().build();
    let mix = [
        Scenario::happy_path(),
        Scenario::on_behalf_not_accepted(),
        Scenario::two_step_enabled(),
        Scenario::eligible_for_direct_add(),
        Scenario::business_mismatch(),
        Scenario::already_in_destination(),
        Scenario::transient_failure(),
    ];
    let sessions: Vec<_> = (0..70u32)
        .map(|i| sim.add_number(&mix[i as usize % mix.len()].clone().numbered(i)))
        .collect();
    let events = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&events);
    let fleet = fleet(&sim, InMemoryStore::new())
        .on_event(move |_event, progress| {
            assert_eq!(sum(progress), 70, "{progress:?}");
            seen.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let report = fleet.run(sessions).await;
    let p = report.progress;
    assert_eq!(sum(&p), 70);
    assert_eq!(p.total, 70);
    // happy, already listed and transient (retried) register: 3 of 7.
    assert_eq!(p.registered, 30, "{p}");
    assert_eq!(p.waiting_on_customer, 10, "{p}"); // on behalf not approved
    assert_eq!(p.waiting_on_previous_provider, 10, "{p}"); // two-step
    assert_eq!(p.rejected, 20, "{p}"); // direct add, business mismatch
    assert_eq!(p.failed + p.cancelled + p.queued + p.active, 0, "{p}");
    assert_eq!(report.sessions.len(), 70);
    assert!(events.load(Ordering::SeqCst) >= 70 * 2);
    let summary = report.summary();
    assert_eq!(summary.get("registered"), Some(&30), "{summary:?}");
    assert_eq!(summary.values().sum::<usize>(), 70);
    // Waiting and rejected sessions carry the answer's kind in their label.
    assert!(
        summary
            .keys()
            .any(|label| label.starts_with("waiting_on_previous_provider: ")),
        "{summary:?}"
    );
    // Every Waiting outcome names who acts.
    for result in &report.sessions {
        if let SessionOutcome::Waiting { next, .. } = &result.outcome {
            assert!(matches!(
                next.actor,
                Actor::Customer | Actor::PreviousProvider
            ));
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_throttle_answer_slows_every_task_not_just_the_one_that_met_it() {
    let (sim, sessions) = world(12);
    // Number 0's code request meets Graph's rate limit, with Retry-After: 60.
    let limited = sessions[0].phone_number().clone();
    let sim_limited = Scenario::happy_path().numbered(0).fault_at(
        Operation::RequestCode,
        Fault::RateLimit {
            code: 80007,
            retry_after: Some(Duration::from_secs(60)),
        },
        1,
    );
    sim.add_number(&sim_limited);
    let fleet = fleet(&sim, InMemoryStore::new())
        .throttle(Throttle::new())
        .build()
        .unwrap();
    let report = fleet.run(sessions).await;
    assert_eq!(report.progress.registered, 12, "{}", report.progress);
    assert_eq!(fleet.throttle().pauses(), 1);

    let served = sim.served();
    let hit = served
        .iter()
        .position(|r| r.status == Some(429))
        .expect("the rate-limited answer");
    let paused_at = served[hit].at;
    let resume_at = paused_at.saturating_add(Duration::from_secs(60));
    let after: Vec<_> = served[hit + 1..].iter().collect();
    // Other sessions still had requests to make when the answer came...
    assert!(after.len() > 12, "{} requests after the pause", after.len());
    // ...and once the answer reached the client, none went out before the
    // wait was over. The only earlier ones are those the other 11 sessions
    // had already sent while the answer was on its way (at most one each).
    let early = after.iter().take_while(|r| r.at < resume_at).count();
    assert!(early <= 11, "{early} requests before the pause ended");
    for request in &after[early..] {
        assert!(
            request.at >= resume_at,
            "{} {} at {:?}, before {:?}",
            request.method,
            request.path,
            request.at,
            resume_at
        );
    }
    // The limited number asked for its code twice (refused, then sent).
    assert_eq!(sim.calls(&limited).unwrap().request_code, 2);
}

#[tokio::test(flavor = "current_thread")]
async fn the_calls_per_second_budget_spaces_every_request() {
    let (sim, sessions) = world(10);
    let start = sim.now();
    let fleet = fleet(&sim, InMemoryStore::new())
        .throttle(Throttle::new().calls_per_second(20))
        .build()
        .unwrap();
    let report = fleet.run(sessions).await;
    assert_eq!(report.progress.registered, 10);
    let served = sim.served();
    // Five requests a port: the four steps and the read before the code
    // request (a number verified already needs no code).
    assert_eq!(served.len(), 50);
    // 50 requests at 20/s: the 50th cannot start before 49 intervals.
    let last = served.last().unwrap().at;
    assert!(
        last.saturating_since(start) >= Duration::from_millis(49 * 50),
        "{:?}",
        last.saturating_since(start)
    );
    // And no two requests start in the same 50 ms slot.
    let mut times: Vec<u64> = served.iter().map(|r| r.at.as_unix_millis()).collect();
    times.sort_unstable();
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= 50, "{pair:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_failing_session_stops_no_other() {
    let (sim, sessions) = world(20);
    // Number 3's start always meets a proxy's 502 page; number 7's code is
    // always refused as expired.
    sim.add_number(&Scenario::happy_path().numbered(3).fault_at(
        Operation::StartMigration,
        Fault::BadGateway,
        1000,
    ));
    sim.add_number(&Scenario::happy_path().numbered(7).fault_at(
        Operation::Register,
        Fault::SomethingWentWrong,
        1000,
    ));
    let fleet = fleet(&sim, InMemoryStore::new()).build().unwrap();
    let report = fleet.run(sessions).await;
    let p = report.progress;
    assert_eq!(p.registered, 18, "{p}");
    assert_eq!(p.failed, 2, "{p}");
    for result in &report.sessions {
        match &result.outcome {
            SessionOutcome::Registered => {}
            SessionOutcome::Failed { error } => {
                assert!(error.is_retryable(), "{error}");
                assert!(
                    result.key.as_str().ends_with("4152000003")
                        || result.key.as_str().ends_with("4152000007"),
                    "{}",
                    result.key.as_str()
                );
            }
            other => panic!("{other:?}"),
        }
    }
}

/// Polls `future` `polls` times with a no-op waker, then drops it: the
/// process dies there.
fn poll_then_kill<F: Future>(future: F, polls: usize) -> bool {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..polls {
        if future.as_mut().poll(&mut cx).is_ready() {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "current_thread")]
async fn a_fleet_killed_mid_run_restarts_from_the_directory_store_without_repeating_side_effects() {
    // Kill points spread over the run (each poll advances every active
    // session by about one request).
    for polls in [1, 2, 3, 5, 8, 13, 21] {
        let dir =
            std::env::temp_dir().join(format!("waba-fleet-kill-{}-{polls}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (sim, sessions) = world(24);
        // Some answers are lost after Meta acted: the restart must read the
        // number rather than send again.
        for i in [2u32, 9, 17] {
            sim.add_number(&Scenario::happy_path().numbered(i).fault_at(
                Operation::Register,
                Fault::AnswerLost,
                1,
            ));
        }
        for i in [4u32, 11] {
            sim.add_number(&Scenario::happy_path().numbered(i).fault_at(
                Operation::RequestCode,
                Fault::AnswerLost,
                1,
            ));
        }
        let keys: Vec<_> = sessions.iter().map(|s| s.phone_number().clone()).collect();

        // First process: dies after `polls` polls.
        {
            let store = DirectoryStore::open(&dir).unwrap();
            let fleet = fleet(&sim, store).concurrency(8).build().unwrap();
            let done = poll_then_kill(fleet.run(sessions.clone()), polls);
            assert!(
                !done,
                "the run must be killed before it ends ({polls} polls)"
            );
        }
        // Second process: resumes what the store holds, then runs the whole
        // list again (new sessions start; stored ones continue).
        let store = DirectoryStore::open(&dir).unwrap();
        let fleet = fleet(&sim, store).concurrency(8).build().unwrap();
        let resumed = fleet.resume().await.unwrap();
        assert_eq!(resumed.progress.failed, 0, "{}", resumed.progress);
        let report = fleet.run(sessions.clone()).await;
        assert_eq!(
            report.progress.registered, 24,
            "{polls}: {}",
            report.progress
        );

        for phone in &keys {
            let calls = sim.calls(phone).unwrap();
            assert!(calls.register <= 1, "{polls}: {phone:?} {calls:?}");
            assert_eq!(calls.register, 1, "{polls}: {phone:?} {calls:?}");
            assert_eq!(calls.request_code, 1, "{polls}: {phone:?} {calls:?}");
            assert_eq!(calls.verify_code, 1, "{polls}: {phone:?} {calls:?}");
        }
        // Nothing is left unfinished in the store.
        assert!(fleet.store().list_unfinished().await.unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn cancelling_leaves_every_session_saved_and_resumable() {
    let (sim, sessions) = world(30);
    let store = Arc::new(InMemoryStore::new());
    let finished = Arc::new(Mutex::new(0usize));
    let count = Arc::clone(&finished);
    let builder = fleet(&sim, Arc::clone(&store)).concurrency(4);
    let token = waba_porting::CancelToken::new();
    let cancel = token.clone();
    let fleet = builder
        .cancel_token(token)
        .on_event(move |event, _| {
            if let FleetEvent::Finished { .. } = event {
                let mut n = count.lock().unwrap();
                *n += 1;
                if *n == 5 {
                    cancel.cancel();
                }
            }
        })
        .build()
        .unwrap();
    let report = fleet.run(sessions.clone()).await;
    let p = report.progress;
    assert_eq!(sum(&p), 30);
    assert!(p.cancelled >= 20, "{p}");
    assert!(p.registered >= 5, "{p}");
    // Every session is in the store, the cancelled ones unfinished.
    for session in &sessions {
        assert!(store
            .load(&waba_porting::SessionKey::of(session))
            .await
            .unwrap()
            .is_some());
    }
    let unfinished = store.list_unfinished().await.unwrap();
    assert_eq!(unfinished.len(), p.cancelled);

    // A new fleet on the same store finishes them.
    let again = fleet_builder_on(&sim, Arc::clone(&store)).build().unwrap();
    let resumed = again.resume().await.unwrap();
    assert_eq!(resumed.progress.registered, p.cancelled);
    for session in &sessions {
        let calls = sim.calls(session.phone_number()).unwrap();
        assert_eq!(calls.register, 1, "{calls:?}");
        assert_eq!(calls.request_code, 1, "{calls:?}");
    }
}

fn fleet_builder_on(sim: &Simulator, store: Arc<InMemoryStore>) -> waba_porting::FleetBuilder {
    fleet(sim, store)
}

#[tokio::test(flavor = "current_thread")]
async fn without_codes_the_fleet_stops_every_session_at_the_customer() {
    let (sim, sessions) = world(5);
    let client = sim.client_builder();
    let fleet = Fleet::builder(client, InMemoryStore::new())
        .build()
        .unwrap();
    let report = fleet.run(sessions.clone()).await;
    assert_eq!(report.progress.waiting_on_customer, 5);
    for result in &report.sessions {
        assert_eq!(result.state, StateName::CodeRequested);
    }
    // Running again asks for no second code.
    let report = fleet.run(sessions.clone()).await;
    assert_eq!(report.progress.waiting_on_customer, 5);
    for session in &sessions {
        assert_eq!(sim.calls(session.phone_number()).unwrap().request_code, 1);
    }
}

#[test]
fn the_run_future_is_send() {
    fn send<T: Send>(_: &T) {}
    let (sim, sessions) = world(1);
    let fleet = fleet(&sim, InMemoryStore::new()).build().unwrap();
    let run = fleet.run(sessions);
    send(&run);
    let _ = ApiErrorKind::RateLimited;
}
