//! Who has to do something next, and how a failed step can recover.

use std::fmt;

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

impl Actor {
    /// The snake_case name, as serde writes it (`"previous_provider"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Us => "us",
            Self::Customer => "customer",
            Self::PreviousProvider => "previous_provider",
            Self::Support => "support",
            Self::Nobody => "nobody",
        }
    }

    /// Who, in words a support agent can paste (`"the previous provider"`).
    pub fn describe(self) -> &'static str {
        match self {
            Self::Us => "we (the new provider)",
            Self::Customer => "the customer",
            Self::PreviousProvider => "the previous provider",
            Self::Support => "Meta support",
            Self::Nobody => "nobody",
        }
    }
}

impl fmt::Display for Actor {
    /// The snake_case name ([`as_str`](Self::as_str)).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Recovery {
    /// The snake_case name, as serde writes it (`"retry_later"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RetryLater => "retry_later",
            Self::AfterAction => "after_action",
            Self::WithCorrectedInput => "with_corrected_input",
            Self::Continue => "continue",
            Self::NotPossible => "not_possible",
        }
    }
}

impl fmt::Display for Recovery {
    /// The snake_case name ([`as_str`](Self::as_str)).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_str_is_the_serde_name() {
        for actor in [
            Actor::Us,
            Actor::Customer,
            Actor::PreviousProvider,
            Actor::Support,
            Actor::Nobody,
        ] {
            assert_eq!(serde_json::to_value(actor).unwrap(), actor.as_str());
            assert_eq!(actor.to_string(), actor.as_str());
        }
        for recovery in [
            Recovery::RetryLater,
            Recovery::AfterAction,
            Recovery::WithCorrectedInput,
            Recovery::Continue,
            Recovery::NotPossible,
        ] {
            assert_eq!(serde_json::to_value(recovery).unwrap(), recovery.as_str());
            assert_eq!(recovery.to_string(), recovery.as_str());
        }
    }
}
