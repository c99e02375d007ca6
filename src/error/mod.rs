//! The crate's error type and its classification.
//!
//! [`Error`] is ordered by how far the request got: invalid input or
//! configuration (nothing sent) → transport (no answer) → API error (Meta
//! answered with a classified error) → undecodable answer → illegal
//! transition of the session (nothing sent).

mod api;
mod classify;
mod graph;
mod kind;
mod response;
pub(crate) mod retry_after;

use std::time::Duration;

pub use api::ApiError;
pub use graph::GraphError;
pub use kind::ApiErrorKind;
pub use response::{UndecodableReason, UnexpectedResponse};

use crate::actor::{Actor, Recovery};
use crate::state::IllegalTransition;
use crate::transport::{TransportError, TransportErrorKind};

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
    /// The request did not get an answer (timeout, connection, I/O).
    #[error("transport error: {0}")]
    Transport(#[from] TransportError),
    /// Meta answered with an error, classified.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Meta (or a proxy) answered with something undecodable.
    #[error(transparent)]
    UnexpectedResponse(#[from] UnexpectedResponse),
    /// The step is not legal in the session's current state; nothing was sent.
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
}

impl Error {
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

    /// What a retry needs.
    pub fn recovery(&self) -> Recovery {
        match self {
            Self::Validation(_) | Self::Config(_) | Self::IllegalTransition(_) => {
                Recovery::WithCorrectedInput
            }
            Self::Transport(e) => match e.kind() {
                TransportErrorKind::Timeout | TransportErrorKind::Connect => Recovery::RetryLater,
                _ => Recovery::AfterAction,
            },
            Self::Api(e) => e.recovery(),
            Self::UnexpectedResponse(e) if e.is_retryable() => Recovery::RetryLater,
            Self::UnexpectedResponse(_) => Recovery::AfterAction,
        }
    }

    /// Whether the same call, made again later, can succeed without anybody
    /// acting first (timeouts, connection failures, rate limits, temporary
    /// and 5xx errors, the generic "something went wrong").
    pub fn is_retryable(&self) -> bool {
        self.recovery() == Recovery::RetryLater
    }

    /// How long to wait before retrying, when known: the `Retry-After`
    /// header, or the wait Meta documents for the case.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api(e) => e.retry_after(),
            Self::UnexpectedResponse(e) => e.retry_after(),
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

    /// What to do, in plain words.
    pub fn remediation(&self) -> &'static str {
        match self {
            Self::Validation(_) => "Correct the input named in the error and call again.",
            Self::Config(_) => "Correct the client configuration named in the error.",
            Self::Transport(_) if self.is_retryable() => {
                "The request got no answer. Retry with backoff; the step is safe to repeat."
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
            Self::IllegalTransition(e) => e.remediation(),
        }
    }
}

/// An input that failed validation. Messages never echo secrets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The phone number is empty.
    #[error("phone number is empty")]
    EmptyPhoneNumber,
    /// The phone number has a character other than digits, a leading `+`,
    /// spaces, dashes and parentheses.
    #[error("phone number may only contain digits, a leading '+', spaces, dashes and parentheses")]
    InvalidPhoneCharacter,
    /// Too few or too many digits for an international number.
    #[error("phone number has {digits} digits; an international number has a country code and at most 15 digits")]
    PhoneNumberLength {
        /// How many digits the input had.
        digits: usize,
    },
    /// The digits do not start with a country calling code.
    #[error("phone number does not start with a known country calling code (write it in international form, e.g. +14155550123)")]
    UnknownCountryCode,
    /// An id is empty.
    #[error("{kind} is empty")]
    EmptyId {
        /// Which id (`WABA id`, …).
        kind: &'static str,
    },
    /// An id is not all digits.
    #[error("{kind} must be all digits")]
    MalformedId {
        /// Which id (`WABA id`, …).
        kind: &'static str,
    },
    /// The PIN is not 6 digits.
    #[error("PIN must be exactly 6 digits")]
    InvalidPin,
    /// The verification code is not 6 digits (optionally `123-456`).
    #[error("verification code must be 6 digits, optionally written as 123-456")]
    InvalidVerificationCode,
    /// The code method is not SMS or VOICE.
    #[error("code method must be SMS or VOICE")]
    InvalidCodeMethod,
    /// The language is not a locale like `en_US`.
    #[error("language must be a locale such as en_US or de")]
    InvalidLanguage,
    /// The data localization region is not a 2-letter country code.
    #[error("data localization region must be a 2-letter country code")]
    InvalidRegion,
}

/// A client configuration that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No (or an empty) access token was given.
    #[error("an access token is required")]
    MissingAccessToken,
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
}
