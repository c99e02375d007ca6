//! The one retry decision: what retrying a failed call needs, from the error
//! and the operation it answered.
//!
//! Two questions, answered once here and nowhere else:
//! 1. Can the same call succeed later without anybody acting first? (A rate
//!    limit, a timeout, a 5xx: yes. A refused approval, a bad token: no.)
//! 2. Could Meta have acted on the request although the caller saw a failure
//!    (a timeout after sending, a lost answer, a 5xx, a 2xx the client could
//!    not read)? For a step with a side effect — `request_code`,
//!    `verify_code`, `register` — such a retry must first read the number's
//!    status (reconcile) and re-send only if the step did not happen.

use serde::{Deserialize, Serialize};

use super::Error;
use crate::actor::Recovery;
use crate::kind::ApiErrorKind;
use crate::operation::Operation;

/// What retrying a failed call needs ([`Error::retry_advice`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetryAdvice {
    /// Send the same request again (after [`Error::retry_after`] when known,
    /// otherwise with backoff): it was not sent, Meta refused it without
    /// acting, or repeating it costs nothing.
    Repeat,
    /// Meta may have acted although no usable answer came back, and the step
    /// has a side effect. Read the number first and re-send only if the step
    /// did not happen. [`PortingClient`](crate::PortingClient) does this by
    /// itself on its next call for the session (the session's in-flight
    /// marker); never re-send the raw request.
    ReconcileFirst,
    /// Retrying cannot help until someone acts or the input changes: see
    /// [`Error::recovery`] and [`Error::who_must_act`].
    DoNotRetry,
}

/// Whether a failed request reached the server, as far as the client knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Nothing was sent (validation, local refusal, no connection).
    NotSent,
    /// The server answered and did not act (a 4xx, a Graph error below 500).
    Refused,
    /// The server may have acted (timeout, lost answer, 5xx, unreadable 2xx).
    Unknown,
}

pub(crate) fn delivery(error: &Error) -> Delivery {
    match error {
        Error::Validation(_)
        | Error::Config(_)
        | Error::IllegalTransition(_)
        | Error::WaitRequired(_) => Delivery::NotSent,
        // A checkpoint fails before sending (nothing sent) or after the
        // answer was recorded (nothing unknown): either way nothing to
        // reconcile.
        Error::Checkpoint(_) => Delivery::NotSent,
        Error::Transport(e) if e.may_have_been_sent() => Delivery::Unknown,
        Error::Transport(_) => Delivery::NotSent,
        Error::Api(e) if e.status() >= 500 => Delivery::Unknown,
        Error::Api(_) => Delivery::Refused,
        Error::UnexpectedResponse(e) => match e.status() {
            200..=299 | 500..=599 => Delivery::Unknown,
            _ => Delivery::Refused,
        },
    }
}

/// Whether the same call can succeed later without anybody acting first.
fn can_succeed_later(error: &Error) -> bool {
    match error {
        Error::Validation(_)
        | Error::Config(_)
        | Error::IllegalTransition(_)
        | Error::Checkpoint(_) => false,
        Error::WaitRequired(_) | Error::Transport(_) => true,
        Error::Api(e) => match e.kind() {
            ApiErrorKind::Unknown => {
                e.status() >= 500 || e.status() == 429 || e.graph().is_transient == Some(true)
            }
            kind => kind.recovery() == Recovery::RetryLater,
        },
        Error::UnexpectedResponse(e) => matches!(e.status(), 200..=299 | 408 | 429 | 500..=599),
    }
}

pub(crate) fn advise(error: &Error) -> RetryAdvice {
    if !can_succeed_later(error) {
        return RetryAdvice::DoNotRetry;
    }
    let side_effect = error.operation().is_some_and(Operation::has_side_effect);
    if side_effect && delivery(error) == Delivery::Unknown {
        RetryAdvice::ReconcileFirst
    } else {
        RetryAdvice::Repeat
    }
}

/// What to do after an unknown outcome of `operation`.
pub(crate) fn reconcile_remediation(operation: Option<Operation>) -> &'static str {
    match operation {
        Some(Operation::RequestCode) => {
            "No usable answer to request_code: Meta may have sent the code. Do not request \
             another blindly (it texts or calls the customer again, and Meta limits code \
             requests). The client's next call for this session reads the number first and, \
             unless it is verified already, records the code as possibly sent: ask the customer \
             whether it arrived, and request another only if it did not."
        }
        Some(Operation::VerifyCode) => {
            "No usable answer to verify_code: Meta may have accepted the code. Call verify_code \
             again through the client with the same code: it reads the number first \
             (code_verification_status VERIFIED means done) and sends the code only if it was \
             not accepted."
        }
        _ => {
            "No usable answer to register: the number may be registered already. Do not send \
             register again with another PIN (that meets 133005) and do not re-send it blindly \
             (each call spends 1 of 10 per 72 hours). Call register again through the client \
             with the same PIN: it reads the number first (status CONNECTED means done) and \
             sends only if the number is not connected."
        }
    }
}
