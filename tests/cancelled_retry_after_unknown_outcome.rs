//! A `CancelToken` cuts a client's wait between attempts short. When the
//! attempt before the wait was sent and its outcome is unknown (the answer
//! was lost: Meta may have registered the number), the error the step
//! returns must not say the step was not sent, nor advise a plain repeat:
//! `Error::retry_advice` is "the one retry decision of the crate", and a
//! side-effecting step whose outcome is unknown is `ReconcileFirst`.
#![cfg(feature = "simulator")]

mod common;

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
