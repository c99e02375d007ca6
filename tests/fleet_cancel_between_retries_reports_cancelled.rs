//! A fleet run stopped by its `CancelToken` while a session waits between
//! two attempts of a step: "`CancelToken::cancel()` ends every wait at once
//! (a throttle pause, a wait between retries: that step is not sent) …
//! and stops the rest (all saved)" (README), and the session's outcome is
//! `SessionOutcome::Cancelled` — "The run was cancelled before the session
//! finished; it is saved and resumes on the next run" — counted in the
//! progress's `cancelled` column. A cancelled run is not a failure: nothing
//! failed that a later run would not simply retry.
#![cfg(feature = "simulator")]

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
