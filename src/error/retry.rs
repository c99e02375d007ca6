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
        | Error::Token(_)
        | Error::IllegalTransition(_)
        | Error::WaitRequired(_) => Delivery::NotSent,
        // A checkpoint fails before sending (nothing sent) or after the
        // answer was recorded (nothing unknown): either way nothing to
        // reconcile.
        Error::Checkpoint(_) => Delivery::NotSent,
        Error::Transport(e) if e.may_have_been_sent() => Delivery::Unknown,
        Error::Transport(_) => Delivery::NotSent,
        // A classified refusal (a rate limit, a missing approval, a PIN
        // error, 133006…) says what Meta did — nothing — whatever the HTTP
        // status or `is_transient` (Graph marks its throttling transient). A
        // temporary or unknown error does not: it may come after Meta acted
        // (even in a 2xx).
        Error::Api(e) => match e.kind() {
            ApiErrorKind::Temporary | ApiErrorKind::Unknown => Delivery::Unknown,
            _ => Delivery::Refused,
        },
        Error::UnexpectedResponse(e) => match e.status() {
            200..=299 | 500..=599 => Delivery::Unknown,
            _ => Delivery::Refused,
        },
        // Read from the number's settings: Meta's state is known.
        Error::LocalStorage(_) => Delivery::Refused,
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
        // The provider's store failed: it may answer later. A token
        // missing or unusable needs somebody to provide one.
        Error::Token(e) => e.is_retryable(),
        Error::Api(e) => match e.kind() {
            ApiErrorKind::Unknown => {
                e.status() >= 500 || e.status() == 429 || e.graph().is_transient == Some(true)
            }
            kind => kind.recovery() == Recovery::RetryLater,
        },
        Error::UnexpectedResponse(e) => matches!(e.status(), 200..=299 | 408 | 429 | 500..=599),
        // The number's storage is not what was asked: somebody decides.
        Error::LocalStorage(_) => false,
    }
}

pub(crate) fn advise(error: &Error) -> RetryAdvice {
    if !can_succeed_later(error) {
        return RetryAdvice::DoNotRetry;
    }
    // Too many PIN guesses: the same PIN again only spends another of the
    // 10 register calls per 72 hours. It needs the right PIN.
    if error.operation() == Some(Operation::Register)
        && error.api_kind() == Some(ApiErrorKind::TooManyPinGuesses)
    {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, GraphError, UndecodableReason, UnexpectedResponse};
    use crate::transport::{TransportError, TransportErrorKind};

    fn api(code: i64, operation: Operation, status: u16) -> Error {
        let graph =
            GraphError::from_body(format!(r#"{{"error":{{"code":{code}}}}}"#).as_bytes()).unwrap();
        ApiError::new(graph, operation, status, None).into()
    }

    fn transport(kind: TransportErrorKind, operation: Operation) -> Error {
        TransportError::from_kind(kind)
            .for_operation(operation)
            .into()
    }

    fn unexpected(status: u16, operation: Operation) -> Error {
        UnexpectedResponse::new(operation, status, UndecodableReason::NotJson, b"", None).into()
    }

    use Operation::*;
    use RetryAdvice::*;

    #[test]
    fn an_unknown_outcome_is_reconciled_for_side_effects_and_repeated_otherwise() {
        for op in [RequestCode, VerifyCode, Register] {
            for error in [
                transport(TransportErrorKind::Timeout, op),
                transport(TransportErrorKind::Other, op),
                unexpected(502, op),
                unexpected(200, op),
                api(131000, op, 500),
                api(131000, op, 400),
                api(424242, op, 503),
            ] {
                assert_eq!(advise(&error), ReconcileFirst, "{op}: {error}");
                assert!(error.is_retryable());
                assert!(
                    !error.remediation().contains("safe to repeat")
                        && !error.remediation().contains("costs nothing"),
                    "{op}: {}",
                    error.remediation()
                );
            }
            assert_eq!(
                advise(&transport(TransportErrorKind::Connect, op)),
                Repeat,
                "not sent"
            );
        }
        for op in [StartMigration, ReadPhoneNumber, ListPhoneNumbers] {
            assert_eq!(advise(&transport(TransportErrorKind::Timeout, op)), Repeat);
            assert_eq!(advise(&unexpected(503, op)), Repeat);
        }
    }

    #[test]
    fn refusals_are_repeated_or_not_by_their_case_whatever_the_status() {
        assert_eq!(advise(&api(130429, Register, 429)), Repeat);
        assert_eq!(advise(&api(130429, Register, 500)), Repeat);
        assert_eq!(advise(&unexpected(429, Register)), Repeat);
        assert_eq!(advise(&unexpected(408, VerifyCode)), Repeat);
        assert_eq!(advise(&api(190, Register, 401)), DoNotRetry);
        assert_eq!(advise(&api(133006, Register, 500)), DoNotRetry);
        assert_eq!(advise(&unexpected(404, Register)), DoNotRetry);
        // An unknown code: only a server error, 429 or is_transient says a
        // retry may help.
        assert_eq!(advise(&api(424242, StartMigration, 400)), DoNotRetry);
        assert_eq!(advise(&api(424242, StartMigration, 429)), Repeat);
        let transient =
            GraphError::from_body(br#"{"error":{"code":424242,"is_transient":true}}"#).unwrap();
        let error: Error = ApiError::new(transient, Register, 400, None).into();
        assert_eq!(advise(&error), ReconcileFirst);
    }

    #[test]
    fn too_many_pin_guesses_at_register_needs_the_right_pin_not_a_retry() {
        let error = api(133008, Register, 400);
        assert_eq!(advise(&error), DoNotRetry);
        assert_eq!(error.retry_after(), None);
        let elsewhere = api(133008, VerifyCode, 400);
        assert_eq!(advise(&elsewhere), Repeat);
    }

    /// A token error (from the provider, or none for the call) is the
    /// crate's error like any other: nothing was sent, and we act.
    #[test]
    fn a_token_error_sent_nothing_and_we_act() {
        use crate::actor::{Actor, Recovery};
        use crate::credentials::{CredentialKey, TokenError};
        use crate::ids::{BusinessId, WabaId};
        let key = CredentialKey::new(
            BusinessId::new("1001").unwrap(),
            WabaId::new("2001").unwrap(),
        );
        let missing = Error::from(TokenError::missing(&key));
        assert_eq!(missing.retry_advice(), RetryAdvice::DoNotRetry);
        assert_eq!(missing.recovery(), Recovery::AfterAction);
        assert_eq!(missing.who_must_act(), Actor::Us);
        assert_eq!(missing.operation(), None);
        assert_eq!(missing.retry_after(), None);
        assert!(missing.remediation().contains("nothing was sent"));
        assert_eq!(delivery(&missing), Delivery::NotSent);
        let down = Error::from(TokenError::backend("the vault", std::io::Error::other("x")));
        assert_eq!(down.retry_advice(), RetryAdvice::Repeat);
        assert_eq!(down.recovery(), Recovery::RetryLater);
        assert!(std::error::Error::source(&down).is_some());
    }
}
