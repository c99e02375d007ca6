//! Attempts under the retry policy: a side-effecting step's (each one an
//! `attempt`) and a repeatable call's (`idempotent`). Between two attempts
//! the wait the answer asked for (a step's `not_before`, a `Retry-After`),
//! else a backoff with full jitter; a failure the retry decision says not
//! to retry, the attempt limit, the deadline or a cancel ends the call
//! with the last error.

use std::time::Duration;

use super::admission::Pause;
use crate::client::steps::Step;
use crate::client::{wire, PortingClient};
use crate::error::Error;
use crate::operation::Operation;
use crate::retry_policy::Retries;
use crate::session::PortingSession;
use crate::state::StateName;
use crate::telemetry;

impl PortingClient {
    /// [`run_step`](Self::run_step)'s loop: an [`attempt`](Self::attempt)
    /// until one ends the call; `attempts` counts the attempts made.
    pub(super) async fn step_attempts(
        &self,
        session: &mut PortingSession,
        step: &Step<'_>,
        attempts: &mut u32,
    ) -> Result<StateName, Error> {
        let policy = &self.inner.retry_policy;
        let mut retries = Retries::start(self.now());
        // Local storage confirmed on in this call: not read again by a
        // later attempt.
        let mut storage_confirmed = false;
        loop {
            *attempts = retries.attempt();
            let deadline = retries.deadline(policy, self.now());
            let attempt = self.attempt(session, step, &deadline, &mut storage_confirmed);
            let error = match attempt.await {
                Ok(state) => return Ok(state),
                Err(error) => error,
            };
            let now = self.now();
            let wait = |attempt| match &error {
                Error::WaitRequired(w) => w.until().saturating_since(now),
                // The settings calls before register are not recorded in
                // the session: their answer's own wait, else back off.
                _ if matches!(
                    error.operation(),
                    Some(Operation::ReadLocalStorage | Operation::SetLocalStorage)
                ) =>
                {
                    error
                        .retry_after()
                        .unwrap_or_else(|| policy.backoff(attempt))
                }
                // A wait still ahead is what the answer asked for; an
                // expired one says nothing about this failure: back off.
                _ => match session.not_before().filter(|until| *until > now) {
                    Some(until) => until.saturating_since(now),
                    None => policy.backoff(attempt),
                },
            };
            let Some(wait) = retries.next(policy, now, &error, wait) else {
                return Err(error);
            };
            telemetry::retrying(step.operation(), *attempts, wait, &error);
            self.retry_wait(wait, error).await?;
        }
    }

    /// [`idempotent`](Self::idempotent)'s loop; `attempts` counts the
    /// attempts made.
    pub(super) async fn idempotent_attempts(
        &self,
        operation: Operation,
        target: &str,
        body: Option<Vec<u8>>,
        sent: &[&str],
        attempts: &mut u32,
    ) -> Result<(), Error> {
        let policy = &self.inner.retry_policy;
        let mut retries = Retries::start(self.now());
        loop {
            *attempts = retries.attempt();
            let deadline = &retries.deadline(policy, self.now());
            let result = match self
                .send(operation, target, &[], body.clone(), deadline)
                .await
            {
                Ok(response) => {
                    wire::expect_success(operation, &response, self.inner.clock.as_ref())
                }
                Err(error) => Err(error),
            };
            let error = match result {
                Ok(()) => return Ok(()),
                Err(error) if sent.is_empty() => error,
                Err(error) => error.redacting_sent(sent),
            };
            let wait = |attempt| {
                error
                    .retry_after()
                    .unwrap_or_else(|| policy.backoff(attempt))
            };
            let now = self.now();
            let Some(wait) = retries.next(policy, now, &error, wait) else {
                return Err(error);
            };
            telemetry::retrying(operation, *attempts, wait, &error);
            self.retry_wait(wait, error).await?;
        }
    }

    /// Waits `wait` before the next attempt, after `error`. A cancel, or a
    /// [`Sleep`](crate::Sleep) that cannot wait here, ends the call with `error` itself:
    /// it says what happened to the request (not sent, refused, or an
    /// outcome the next call reconciles), and the session keeps when to
    /// retry.
    async fn retry_wait(&self, wait: Duration, error: Error) -> Result<(), Error> {
        match self.pause(wait).await {
            Pause::Slept => Ok(()),
            Pause::Cancelled | Pause::NoTimer => Err(error),
        }
    }
}
