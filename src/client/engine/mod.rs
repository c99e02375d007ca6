//! The step engine: runs a side-effecting step of a session so that a
//! crash, a lost answer or a busy Graph never repeats a side effect blindly
//! nor loses one. What a step sends and how its answer becomes a state are
//! the typed calls' (`super::steps`, `super::answers`); the engine decides
//! when and whether it is sent, and keeps the session safe around it.
//!
//! One attempt (`attempt`), top to bottom:
//!
//! 1. admission: not before the session's `not_before`; a step in flight
//!    settled first (`reconcile`: the number is read, never the step sent
//!    again blindly); the step legal; the register budget; local storage
//!    before a register (the typed `prepare`); the token; the shared
//!    throttle (`admission`);
//! 2. the in-flight marker and the checkpoint save before a request with a
//!    side effect leaves (`record`): a process that dies from here on
//!    finds the marker and reconciles;
//! 3. the one request (`super::request`), its answer turned into an
//!    outcome by the typed step (`super::answers`);
//! 4. the outcome recorded in the session and saved (`record`).
//!
//! Attempts repeat under the retry policy while a retry can help
//! (`retry`), each waiting what the answer asked for or a backoff.
//!
//! # Who calls what
//!
//! - [`run_step`](PortingClient::run_step): only the four step methods
//!   (`super::steps`). It acts for the session's customer
//!   (`for_session`) and makes the call again once after a refreshed
//!   token.
//! - `idempotent`: calls that leave the same state however often they are
//!   sent (`super::settings`, the subscription of `subscribe_app_for`).
//! - `reconcile_within`: `reconcile` and `refresh` (`super::refresh`).
//! - `admit` and `mark_and_save`: the side-effecting steps sent once,
//!   outside `run_step` (the Embedded Signup code exchange and the
//!   migration intent, `super::routes`), in that order before their
//!   request; `admit` also by `super::request` for a request not admitted
//!   yet.
//! - `record_success`, `record_failure`, `record_read_failure`, `save`:
//!   every typed call that moves a session.
//! - `save_session`: the fleet, for what it learned without a step (a
//!   wake acted on). The fleet reaches nothing else here: it goes through
//!   the client's public methods.
//!
//! Nothing outside `client` sees the engine: its methods are
//! `pub(in crate::client)` at most, its internals `pub(super)`.

mod admission;
mod attempt;
mod reconcile;
mod record;
mod retry;

use std::ops::ControlFlow;

use crate::client::steps::Step;
use crate::client::PortingClient;
use crate::error::Error;
use crate::operation::Operation;
use crate::session::PortingSession;
use crate::state::StateName;
use crate::telemetry::Trace;

impl PortingClient {
    /// Runs `step` for `session` under the retry policy (one span, its
    /// attempts counted): attempts until success, a failure the retry
    /// decision says not to retry, the attempt limit or the deadline.
    /// Waits honour the session's `not_before` (the answer's
    /// `Retry-After` or documented wait), else back off with full jitter.
    ///
    /// With a token provider, through the client acting for the session's
    /// customer, and once more after a refreshed token (190).
    pub(in crate::client) async fn run_step(
        &self,
        session: &mut PortingSession,
        step: Step<'_>,
    ) -> Result<StateName, Error> {
        let client = self.for_session(session);
        loop {
            let trace = Trace::step(step.operation(), session);
            let mut attempts = 1;
            let result = trace
                .run(client.step_attempts(session, &step, &mut attempts))
                .await;
            trace.finish(attempts, Some(session.state().name()), &result);
            if let ControlFlow::Break(result) = client.after_call(result).await {
                return result;
            }
        }
    }

    /// Sends a call that leaves the same state however often it is sent,
    /// expecting `{"success": true}`, under the retry policy: repeated after
    /// any failure a retry can help, after the answer's wait or a backoff,
    /// within the policy's attempts and deadline. `sent`: the secrets the
    /// body carries, masked in every answer before anything logs it.
    pub(in crate::client) async fn idempotent(
        &self,
        operation: Operation,
        target: &str,
        body: Option<Vec<u8>>,
        sent: &[&str],
    ) -> Result<(), Error> {
        let trace = Trace::call(operation, target);
        let mut attempts = 1;
        let result = trace
            .run(self.idempotent_attempts(operation, target, body, sent, &mut attempts))
            .await;
        trace.finish(attempts, None, &result);
        result
    }
}
