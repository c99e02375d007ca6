//! Admission: when a request may leave. The shared throttle's slot is
//! taken (a hold waited out within the step's deadline) before a request
//! is marked, saved or sent, so that a process that dies while waiting
//! has sent nothing; and every wait of the client (`pause`) goes through
//! its `Sleep`, cut short by its cancel token.
//!
//! `admit` is called by a side-effecting step before its marker is saved
//! (`attempt`, the code exchange, the migration intent) and by
//! `super::super::request` for any other request; `pause` by the retry
//! loops and `admit` itself.

use std::time::Duration;

use crate::cancel::CancelToken;
use crate::client::PortingClient;
use crate::error::{Error, WaitReason, WaitRequired};
use crate::operation::Operation;
use crate::retry_policy::Deadline;
use crate::telemetry;

impl PortingClient {
    /// Waits until the throttle lets a request of `operation` start, for
    /// at most `max_wait` in all (a step's deadline): a longer hold, a
    /// cancel or a timer that cannot wait ends as [`Error::WaitRequired`]
    /// with the time, nothing sent.
    pub(in crate::client) async fn admit(
        &self,
        operation: Operation,
        deadline: &Deadline,
    ) -> Result<(), Error> {
        let Some(throttle) = &self.inner.throttle else {
            return Ok(());
        };
        loop {
            let now = self.now();
            let refused = |wait, reason| {
                let until = now.saturating_add(wait);
                Err(WaitRequired::new(operation, until, reason, now).into())
            };
            let hold = match throttle.reserve(now, deadline.left(now)) {
                Ok(None) => return Ok(()),
                Ok(Some(hold)) => hold,
                Err(hold) => return refused(hold.wait, WaitReason::Throttle),
            };
            telemetry::throttled(hold.wait, hold.paused);
            let reason = match self.pause(hold.wait).await {
                Pause::Slept => None,
                Pause::Cancelled => Some(WaitReason::Cancelled),
                Pause::NoTimer => Some(WaitReason::Throttle),
            };
            if let Some(reason) = reason {
                // Not sent: its slot is the next request's.
                throttle.release(hold);
                return refused(hold.wait, reason);
            }
            deadline.slept(hold.wait);
            // A pause that began while we waited holds us too.
            if !throttle.held(self.now()) {
                return Ok(());
            }
        }
    }

    /// Every wait of the client: with its [`Sleep`](crate::Sleep), cut short by its
    /// cancel token; never attempted when the timer cannot wait here.
    pub(super) async fn pause(&self, wait: Duration) -> Pause {
        let cancelled = self.inner.cancel.as_ref().map(CancelToken::cancelled);
        if self
            .inner
            .cancel
            .as_ref()
            .is_some_and(CancelToken::is_cancelled)
        {
            return Pause::Cancelled;
        }
        if wait.is_zero() {
            return Pause::Slept;
        }
        if !self.inner.sleep.can_sleep() {
            return Pause::NoTimer;
        }
        let sleep = self.inner.sleep.sleep(wait);
        match cancelled {
            None => {
                sleep.await;
                Pause::Slept
            }
            Some(cancelled) => {
                futures_util::pin_mut!(cancelled);
                match futures_util::future::select(sleep, cancelled).await {
                    futures_util::future::Either::Left(_) => Pause::Slept,
                    futures_util::future::Either::Right(_) => Pause::Cancelled,
                }
            }
        }
    }
}

/// How a wait of the client ended.
pub(super) enum Pause {
    /// The whole wait passed.
    Slept,
    /// The client's cancel token ended it.
    Cancelled,
    /// The client's [`Sleep`](crate::Sleep) cannot wait here: nothing was waited.
    NoTimer,
}
