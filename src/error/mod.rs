//! The crate's error type and its classification.
//!
//! [`Error`] is ordered by how far the request got: invalid input or
//! configuration, no access token to send it with, an illegal or too-early step, a failed checkpoint
//! (nothing sent) → transport (no answer) → API error (Meta answered with a
//! classified error) → undecodable answer.
//!
//! Whether and how to retry is decided in one place ([`retry`]), from the
//! error and the operation it answered.

mod answer;
mod api;
mod checkpoint;
mod classify;
mod graph;
pub(crate) mod graph_fast;
mod local_storage;
mod response;
pub(crate) mod retry;
pub(crate) mod retry_after;
mod wait;

use std::time::Duration;

pub(crate) use answer::{decode, header_wait, At};
pub use api::ApiError;
pub use checkpoint::CheckpointError;
pub use graph::GraphError;
pub use local_storage::LocalStorageError;
pub use response::{UndecodableReason, UnexpectedResponse};
pub use retry::RetryAdvice;
pub use wait::{WaitReason, WaitRequired};

pub use crate::kind::ApiErrorKind;
pub use crate::validation::ValidationError;

use crate::actor::{Actor, Recovery};
use crate::credentials::TokenError;
use crate::operation::Operation;
use crate::state::IllegalTransition;
use crate::transport::TransportError;

/// Everything that can go wrong with a porting call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input failed validation; nothing was sent.
    #[error("invalid input: {0}")]
    Validation(#[from] ValidationError),
    /// The client configuration is invalid; nothing was sent.
    #[error("invalid client configuration: {0}")]
    Config(#[from] ConfigError),
    /// No access token could be had for the call: the
    /// [`TokenProvider`](crate::TokenProvider) has none for the session's
    /// customer, failed, or gave one that cannot be sent (or, for a call
    /// not made for a session, the client has no static token). Nothing
    /// was sent. Also the provider's failure to refresh a token Graph
    /// rejected (190), which the session recorded.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The step is not legal in the session's current state; the step was
    /// not sent. (When another step was in flight, the client may first have
    /// read the number to reconcile it: the refusal is then about the
    /// reconciled state.)
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    /// The step is legal but too early (a wait the last answer asked for, or
    /// the register budget); the step was not sent (a reconciling read may
    /// have preceded the register budget's refusal, as for an illegal step).
    #[error(transparent)]
    WaitRequired(#[from] WaitRequired),
    /// The [`Checkpoint`](crate::Checkpoint) could not save the session.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The request did not get an answer (timeout, connection, I/O).
    #[error("transport error: {0}")]
    Transport(#[from] TransportError),
    /// Meta answered with an error, classified.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Meta (or a proxy) answered with something undecodable.
    #[error(transparent)]
    UnexpectedResponse(#[from] UnexpectedResponse),
    /// Local storage is not on in the region `register` was asked for, as
    /// the number's settings read it (Graph API v21.0 and newer): the
    /// register was not sent.
    #[error(transparent)]
    LocalStorage(#[from] LocalStorageError),
}

impl Error {
    /// How far the request got, as a stable snake_case label (`"api"`,
    /// `"transport"`…): for logs and metrics.
    #[cfg_attr(not(feature = "tracing"), allow(dead_code))]
    pub(crate) fn category(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation",
            Self::Config(_) => "config",
            Self::Token(_) => "token",
            Self::IllegalTransition(_) => "illegal_transition",
            Self::WaitRequired(_) => "wait_required",
            Self::Checkpoint(_) => "checkpoint",
            Self::Transport(_) => "transport",
            Self::Api(_) => "api",
            Self::UnexpectedResponse(_) => "unexpected_response",
            Self::LocalStorage(_) => "local_storage",
        }
    }

    /// Classifies an answer to `operation` you received yourself (when you
    /// drive [`PortingSession::apply`](crate::PortingSession::apply) with
    /// your own I/O): the typed error it carries — a Graph error body
    /// (whatever the status), a redirect, an empty, non-JSON or
    /// wrongly-shaped body — or `None` for a 2xx answer that carries no
    /// error. `now` resolves an HTTP-date `Retry-After`. This is exactly
    /// what the client does with every answer.
    ///
    /// ```
    /// use waba_porting::transport::{Headers, HttpResponse};
    /// use waba_porting::{ApiErrorKind, Error, Operation, Timestamp};
    ///
    /// let body = r#"{"error":{"code":133016,"message":"Account has been deregistered","fbtrace_id":"A1"}}"#;
    /// let answer = HttpResponse::new(400, Headers::new(), body);
    /// let error = Error::from_response(Operation::Register, &answer, Timestamp::now()).unwrap();
    /// assert_eq!(error.api_kind(), Some(ApiErrorKind::RegisterLimitReached));
    /// ```
    pub fn from_response(
        operation: Operation,
        response: &crate::transport::HttpResponse,
        now: crate::time::Timestamp,
    ) -> Option<Self> {
        decode(operation, response, &At(now)).err()
    }

    /// This error with what the request carried (`secrets`: the PIN, the
    /// verification code) masked in every text kept from the answer, so
    /// that nothing printed, logged or saved holds it. The client applies
    /// it where the answer to a request that carried a secret becomes an
    /// error, before the session records it.
    pub(crate) fn redacting_sent(mut self, secrets: &[&str]) -> Self {
        match &mut self {
            Self::Api(e) => e.redact_sent(secrets),
            Self::UnexpectedResponse(e) => e.redact_sent(secrets),
            _ => {}
        }
        self
    }

    /// The API error, when Meta answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The classified case, when Meta answered with an error.
    pub fn api_kind(&self) -> Option<ApiErrorKind> {
        self.api().map(ApiError::kind)
    }

    /// The operation the error is about, when it concerns one.
    pub fn operation(&self) -> Option<Operation> {
        match self {
            Self::Validation(_) | Self::Config(_) | Self::Token(_) => None,
            Self::IllegalTransition(e) => Some(e.operation()),
            Self::WaitRequired(e) => Some(e.operation()),
            Self::Checkpoint(e) => Some(e.operation()),
            Self::Transport(e) => e.operation(),
            Self::Api(e) => Some(e.operation()),
            Self::UnexpectedResponse(e) => Some(e.operation()),
            Self::LocalStorage(_) => Some(Operation::SetLocalStorage),
        }
    }

    /// What retrying needs, for this error and the operation it answered:
    /// re-send as is, reconcile first (a step with a side effect whose
    /// outcome is unknown), or not without somebody acting. This is the one
    /// retry decision of the crate; [`is_retryable`](Self::is_retryable),
    /// [`recovery`](Self::recovery), [`remediation`](Self::remediation) and
    /// the client's [`RetryPolicy`](crate::RetryPolicy) all follow it.
    ///
    /// | after an unknown outcome (timeout, lost answer, 5xx) of | advice |
    /// |---|---|
    /// | `start_migration`, reads | [`Repeat`](RetryAdvice::Repeat) (a repeat meets 2388012, resolved by look-up) |
    /// | `request_code`, `verify_code`, `register` | [`ReconcileFirst`](RetryAdvice::ReconcileFirst) |
    pub fn retry_advice(&self) -> RetryAdvice {
        retry::advise(self)
    }

    /// What a retry needs.
    pub fn recovery(&self) -> Recovery {
        if self.retry_advice() != RetryAdvice::DoNotRetry {
            return Recovery::RetryLater;
        }
        match self {
            Self::Validation(_) | Self::Config(_) | Self::IllegalTransition(_) => {
                Recovery::WithCorrectedInput
            }
            Self::Api(e) => e.kind().recovery(),
            _ => Recovery::AfterAction,
        }
    }

    /// Whether calling the same step again later, through the client, can
    /// succeed without anybody acting first (rate limits, temporary and 5xx
    /// errors, timeouts, a wait). For a step whose outcome is unknown this
    /// does not mean "safe to re-send the request": see
    /// [`retry_advice`](Self::retry_advice).
    pub fn is_retryable(&self) -> bool {
        self.retry_advice() != RetryAdvice::DoNotRetry
    }

    /// How long to wait before retrying, when known: the `Retry-After`
    /// header, the wait Meta documents for the case, or for
    /// [`Error::WaitRequired`] the wait it was refused for.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api(e) => e.retry_after(),
            Self::UnexpectedResponse(e) => e.retry_after(),
            Self::WaitRequired(e) => Some(e.wait()),
            _ => None,
        }
    }

    /// Who must act before the call can succeed.
    pub fn who_must_act(&self) -> Actor {
        match self {
            Self::Api(e) => e.who_must_act(),
            _ => Actor::Us,
        }
    }

    /// One plain sentence a support agent can read to the customer (see
    /// [`ApiErrorKind::customer_message`]); an error that is not Meta's
    /// answer says we are on it. [`remediation`](Self::remediation) is the
    /// developer's fix.
    pub fn customer_message(&self) -> &'static str {
        match self {
            Self::Api(e) => e.kind().customer_message(),
            Self::WaitRequired(_) => {
                "We are waiting a moment before the next step; we will continue automatically."
            }
            _ => "We hit a problem on our side and are fixing it; nothing is needed from you.",
        }
    }

    /// What to do, in plain words.
    pub fn remediation(&self) -> &'static str {
        if self.retry_advice() == RetryAdvice::ReconcileFirst {
            return retry::reconcile_remediation(self.operation());
        }
        match self {
            Self::Validation(_) => "Correct the input named in the error and call again.",
            Self::Config(_) => "Correct the client configuration named in the error.",
            Self::Token(e) => e.remediation(),
            Self::IllegalTransition(e) => e.remediation(),
            Self::WaitRequired(_) => {
                "Too early: nothing was sent. Call the step again at the time the error gives."
            }
            Self::Checkpoint(_) => {
                "The session could not be saved. Fix the storage; the error says whether the \
                 request was sent (then save the session yourself) or not."
            }
            Self::Transport(_) if self.is_retryable() => {
                "The request got no answer. Retry with backoff; repeating this call costs nothing."
            }
            Self::Transport(_) => {
                "The request could not be sent or its answer not read. Check the network and \
                 the transport configuration, then retry."
            }
            Self::Api(e) => e.remediation(),
            Self::UnexpectedResponse(_) if self.is_retryable() => {
                "A server or proxy failed. Retry with backoff; if it persists, check Meta's \
                 platform status."
            }
            Self::UnexpectedResponse(_) => {
                "The answer could not be read. Check the base URL and API version, and report \
                 the body snippet if they are right."
            }
            Self::LocalStorage(e) => e.remediation(),
        }
    }
}

/// A client configuration that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No (or an empty) access token was given, and no
    /// [`TokenProvider`](crate::TokenProvider).
    #[error("an access token is required")]
    MissingAccessToken,
    /// A call that needs the app's id and secret (the Embedded Signup code
    /// exchange) on a client built without
    /// [`app_credentials`](crate::PortingClientBuilder::app_credentials).
    #[error("the Embedded Signup code exchange needs the app's id and secret (PortingClientBuilder::app_credentials)")]
    MissingAppCredentials,
    /// The access token has characters an HTTP header cannot carry
    /// (whitespace, control characters, non-ASCII): usually a copy-paste
    /// accident. The token itself is never shown.
    #[error("the access token may only contain visible ASCII characters")]
    InvalidAccessToken,
    /// The API version is not of the form `v25.0`.
    #[error("API version must look like v25.0")]
    InvalidApiVersion,
    /// The base URL cannot be used.
    #[error("base URL {reason}")]
    InvalidBaseUrl {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A timeout of zero.
    #[error("timeouts must be greater than zero")]
    ZeroTimeout,
    /// No transport was given and the `reqwest` feature is off.
    #[error("no transport: enable the `reqwest` feature or pass one with `transport()`")]
    MissingTransport,
    /// The default transport could not be created.
    #[error("the HTTP transport could not be created")]
    TransportInit(#[source] TransportError),
    /// A fleet's lease is not longer than one step can take (the retry
    /// policy's deadline plus two request timeouts): a lease could lapse
    /// mid-step and let another worker take the session over while this
    /// one still sends.
    #[error(
        "a lease of {lease:?} is too short: one step can take {step:?} (the retry policy's \
         deadline plus two request timeouts); lease longer, or shorten the deadline"
    )]
    LeaseTooShort {
        /// The lease asked for.
        lease: Duration,
        /// The longest a step can take.
        step: Duration,
    },
    /// The base URL is https (Graph's is) and the default transport was
    /// built without TLS: TLS is not a default feature. Enable `rustls` (or
    /// `native-tls`), or pass a transport of your own with `transport()`.
    #[error(
        "the base URL is https but the default transport has no TLS: enable the `rustls` \
         (or `native-tls`) feature of waba-porting, or pass a transport with `transport()`"
    )]
    TlsUnavailable,
}

/// A transport that could not be built is a configuration error, so `?`
/// works on `ReqwestTransportBuilder::build` (feature `reqwest`)
/// in a function that returns [`ConfigError`] (and, through it, [`Error`]).
impl From<TransportError> for ConfigError {
    fn from(error: TransportError) -> Self {
        Self::TransportInit(error)
    }
}
