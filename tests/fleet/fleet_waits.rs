//! Many sessions waiting at once: a throttle pause holds 10,000 sessions on
//! the default timer with a constant number of threads, and a cancel ends
//! the run at once. (The default timer is tokio's: `reqwest` feature.)
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::wire::{json_answer, pin, with_retry_after, world, Wire};
use waba_porting::{
    CancelToken, Clock, Fleet, InMemoryStore, Operation, RetryPolicy, RuntimeSleep, SessionOutcome,
    Throttle, Timestamp,
};

/// The client's clock on tokio's (paused) time: simulated seconds pass
/// only when every task waits.
#[derive(Debug)]
struct TokioClock {
    base: Timestamp,
    start: tokio::time::Instant,
}

impl Clock for TokioClock {
    fn now(&self) -> Timestamp {
        self.base.saturating_add(self.start.elapsed())
    }
}

fn threads() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Threads:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Counts the process's threads: run alone in a child process, away from
/// the other tests of this binary.
#[test]
fn ten_thousand_sessions_wait_in_a_pause_on_few_threads_and_a_cancel_ends_the_run_at_once() {
    if !common::is_alone() {
        return common::run_alone(
            module_path!(),
            "ten_thousand_sessions_wait_in_a_pause_on_few_threads_and_a_cancel_ends_the_run_at_once",
        );
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(ten_thousand_sessions_waiting());
}

async fn ten_thousand_sessions_waiting() {
    const SESSIONS: usize = 10_000;
    let (sim, sessions) = world(SESSIONS as u32);
    let limited = with_retry_after(
        json_answer(
            429,
            r#"{"error":{"message":"(#4) Application request limit reached","code":4}}"#,
        ),
        3600,
    );
    let wire = Wire::new(&sim, move |op, n| {
        (op == Operation::SubscribeApp && n == 1).then(|| limited.clone())
    });
    let cancel = CancelToken::new();
    let throttle = Throttle::new();
    let client = sim
        .client_builder()
        .transport(wire.clone())
        .clock(TokioClock {
            base: sim.now(),
            start: tokio::time::Instant::now(),
        })
        .sleep(RuntimeSleep)
        .retry_policy(RetryPolicy::default().with_deadline(Duration::from_secs(2 * 3600)));
    let fleet = Arc::new(
        Fleet::builder(client, InMemoryStore::new())
            .inputs(sim.customers(pin()))
            .throttle(throttle.clone())
            .cancel_token(cancel.clone())
            .concurrency(SESSIONS)
            .build()
            .unwrap(),
    );
    // One answer to another client sharing the throttle pauses every
    // request for an hour.
    let other = sim
        .client_builder()
        .transport(wire.clone())
        .throttle(throttle)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    other
        .subscribe_app(sessions[0].waba_id())
        .await
        .unwrap_err();
    assert!(fleet.throttle().paused_until().is_some());

    let before = threads();
    let run = tokio::spawn({
        let fleet = Arc::clone(&fleet);
        async move { fleet.run(sessions).await }
    });
    // Ten simulated minutes pass only once every session waits.
    tokio::time::sleep(Duration::from_secs(600)).await;
    let waiting = threads();
    let cancelled_at = tokio::time::Instant::now();
    cancel.cancel();
    let report = run.await.unwrap();
    let took = cancelled_at.elapsed();
    println!(
        "fleet_waits: {SESSIONS} sessions waiting; threads {before} before, {waiting} while \
         waiting; the run returned {took:?} (simulated) after the cancel"
    );

    assert!(
        waiting < 64 && waiting <= before + 2,
        "threads: {before} before the run, {waiting} with {SESSIONS} sessions waiting"
    );
    assert!(
        took < Duration::from_secs(1),
        "the run returned {took:?} after the cancel"
    );
    assert_eq!(report.sessions.len(), SESSIONS);
    assert!(
        report
            .sessions
            .iter()
            .all(|s| matches!(s.outcome, SessionOutcome::Cancelled)),
        "{:?}",
        report.progress
    );
    assert_eq!(wire.sent(Operation::StartMigration), 0);
}
