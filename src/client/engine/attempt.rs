//! One attempt of a side-effecting step, in the order that keeps a crash,
//! a lost answer or a refusal safe: wait for what the session asks, settle
//! a step in flight, check, prepare, take the throttle's slot, mark and
//! save, send once, and hand the answer to the typed step. Everything up
//! to the save sends nothing of the step (at most the reconciling read and
//! the settings calls before a register): a refusal there leaves the
//! session as it was.

use super::reconcile::BeforeStep;
use crate::client::request::Admission;
use crate::client::steps::Step;
use crate::client::PortingClient;
use crate::error::{Error, WaitReason, WaitRequired};
use crate::operation::Operation;
use crate::retry_policy::Deadline;
use crate::session::PortingSession;
use crate::state::StateName;

impl PortingClient {
    /// One attempt: reconcile a step in flight, check, set local storage
    /// (a register from API v21.0 on, unless `storage_confirmed`), wait for
    /// the throttle (its waits ending by `deadline`), mark, save, send once,
    /// record.
    pub(super) async fn attempt(
        &self,
        session: &mut PortingSession,
        step: &Step<'_>,
        deadline: &Deadline,
        storage_confirmed: &mut bool,
    ) -> Result<StateName, Error> {
        let operation = step.operation();
        // Too early: nothing is sent, not even the reconciling read.
        let now = self.now();
        if let Some(until) = session.not_before().filter(|until| *until > now) {
            return Err(WaitRequired::new(operation, until, WaitReason::NotBefore, now).into());
        }
        // Asked before the marker is settled (settling clears it).
        let earlier_unknown = step.earlier_unknown(session);
        let now = match self.settle_before(session, step, deadline).await? {
            BeforeStep::Clear => now,
            // The read took time.
            BeforeStep::Read => self.now(),
            BeforeStep::Done(state) => return Ok(state),
        };
        session.check(operation)?;
        if operation == Operation::Register {
            if let Some(until) = session.register_budget_frees_at(now) {
                let reason = WaitReason::RegisterBudget;
                return Err(WaitRequired::new(operation, until, reason, now).into());
            }
        }
        let target = step.target(session)?;
        // What the step needs first (local storage before the register
        // that would store data without it): nothing is marked or saved
        // (the calls are idempotent), and a failure leaves the session as
        // it was.
        let now = if self
            .prepare(session, step, deadline, storage_confirmed)
            .await?
        {
            // The settings calls took time.
            self.now()
        } else {
            now
        };
        let body = step.body(session.phone_number());
        // The token first: without one nothing is marked, saved or sent.
        self.authorization().await?;
        // Wait for the throttle before the step is marked in flight and
        // saved: a process that dies while waiting has sent nothing, and
        // its saved session must not say otherwise.
        let now = match &self.inner.throttle {
            Some(_) => {
                // The reconciling read's wait counted against the same
                // deadline.
                self.admit(operation, deadline).await?;
                self.now()
            }
            None => now,
        };
        let snapshot = self.inner.checkpoint.as_ref().map(|_| session.clone());
        self.mark_and_save(session, operation, step.code_params(), now, snapshot)
            .await?;
        let response = self
            .send_admitted(operation, &target, &[], Some(body), Admission::Done)
            .await;
        self.answer(session, step, response, earlier_unknown, deadline)
            .await
    }
}
