//! Who has to do something next, and how a failed step can recover.

use serde::{Deserialize, Serialize};

/// Who must act before the port can move on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Actor {
    /// Us: the destination BSP, i.e. the service (or operator) using this
    /// crate — call the next step, fix our configuration or input, or retry.
    Us,
    /// The customer who owns the number, in their Meta Business Manager
    /// (approve the "message on behalf" request, get a display name approved…).
    Customer,
    /// The BSP that currently hosts the number (or the number's owner in its
    /// dashboard): disable two-step verification, fix the source WABA.
    PreviousProvider,
    /// Support: retrying did not help; escalate with the `fbtrace_id`.
    Support,
    /// Nobody: the port is finished (or ended and cannot continue).
    Nobody,
}

/// How a failed step can be recovered: what a retry needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Recovery {
    /// Retry later without anybody acting first (after `retry_after()` when
    /// known, otherwise with backoff; see `Error::retry_advice()` for whether
    /// the request may be re-sent as is). Only this case is `is_retryable()`.
    RetryLater,
    /// A person must act first (see `who_must_act()`), then retry the step.
    AfterAction,
    /// The input or configuration is wrong: correct it, then retry.
    WithCorrectedInput,
    /// Not a failure of the port: continue with what already exists.
    Continue,
    /// Porting cannot succeed for this number; use another process.
    NotPossible,
}
