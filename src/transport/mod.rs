//! How requests reach the Graph API.
//!
//! The client builds an [`HttpRequest`] and hands it to a [`Transport`]; the
//! transport returns an [`HttpResponse`] (any status) or a
//! [`TransportError`] when there is no answer. The types are the crate's own,
//! so no HTTP library leaks into the public API: the default
//! `ReqwestTransport` (feature `reqwest`) is one implementation, and tests or simulators plug in
//! their own.

#[cfg(feature = "reqwest")]
mod reqwest;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use url::Url;

pub use crate::method::Method;
use crate::operation::Operation;

#[cfg(feature = "reqwest")]
pub use self::reqwest::{ReqwestTransport, ReqwestTransportBuilder, DEFAULT_MAX_RESPONSE_BYTES};

/// Sends one HTTP request and returns its response.
///
/// Implementations must be cheap to share (`Send + Sync`); the client holds
/// one behind an `Arc` and may call it from many tasks at once. A response
/// with any status (including 4xx/5xx) is `Ok`; `Err` means no response.
///
/// Secrets travel in the request: the `Authorization` header always, and
/// for two calls the URL's query too — the Embedded Signup code exchange
/// (`client_secret`, `code`) and the sharing check (`input_token`). Never
/// log a request's headers or query, and keep the query out of a
/// [`TransportError`]'s message (the reqwest transport drops it).
#[async_trait]
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends `request` and waits for the whole response body.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for std::sync::Arc<T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        (**self).send(request).await
    }
}

/// Header names whose values `Debug` never prints.
const SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// An ordered list of header (name, value) pairs; names compare
/// case-insensitively. `Debug` redacts credentials.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a header.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// The first value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// All pairs, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// How many pairs there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<N: Into<String>, V: Into<String>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
        )
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, value)| {
                let sensitive = SENSITIVE_HEADERS
                    .iter()
                    .any(|s| name.eq_ignore_ascii_case(s));
                (
                    name.as_str(),
                    if sensitive {
                        "[redacted]"
                    } else {
                        value.as_str()
                    },
                )
            }))
            .finish()
    }
}

/// A request for a [`Transport`] to send.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The full URL.
    pub url: Url,
    /// The headers, `Authorization` included.
    pub headers: Headers,
    /// The body (JSON for `POST`, empty for `GET`).
    pub body: Vec<u8>,
    /// How long the whole exchange may take; the transport should enforce it.
    pub timeout: Option<Duration>,
}

impl HttpRequest {
    /// A request with no headers, body or timeout.
    pub fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            headers: Headers::new(),
            body: Vec::new(),
            timeout: None,
        }
    }
}

impl fmt::Debug for HttpRequest {
    /// Shows the headers redacted and only the body's length: bodies carry
    /// the PIN and the verification code.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A response as received.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The headers.
    pub headers: Headers,
    /// The whole body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with a status, headers and body.
    pub fn new(status: u16, headers: Headers, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers,
            body: body.into(),
        }
    }
}

/// What kind of transport failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The request or the response took longer than the timeout.
    Timeout,
    /// No connection could be made (DNS, TCP, TLS): the request was not
    /// sent.
    Connect,
    /// Anything else (the body could not be read, a protocol error…).
    Other,
    /// The response body was over the transport's size limit; the rest was
    /// not read.
    ResponseTooLarge,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Timeout => "request timed out",
            Self::Connect => "could not connect",
            Self::Other => "request failed",
            Self::ResponseTooLarge => "response body over the size limit",
        })
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The request got no response. The underlying error is kept as `source()`.
#[derive(Debug)]
pub struct TransportError {
    kind: TransportErrorKind,
    operation: Option<Operation>,
    source: Option<BoxError>,
}

impl TransportError {
    /// A failure of `kind`, caused by `source`.
    pub fn new(kind: TransportErrorKind, source: impl Into<BoxError>) -> Self {
        Self {
            kind,
            operation: None,
            source: Some(source.into()),
        }
    }

    /// A failure of `kind` with no underlying error.
    pub fn from_kind(kind: TransportErrorKind) -> Self {
        Self {
            kind,
            operation: None,
            source: None,
        }
    }

    /// What kind of failure.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// The operation whose request failed, once the client has seen the
    /// error (transports do not know it).
    pub fn operation(&self) -> Option<Operation> {
        self.operation
    }

    /// Whether the request may have reached the server: everything but a
    /// failure to connect. A timeout or a reset after sending leaves the
    /// outcome unknown.
    pub fn may_have_been_sent(&self) -> bool {
        self.kind != TransportErrorKind::Connect
    }

    pub(crate) fn for_operation(mut self, operation: Operation) -> Self {
        self.operation = Some(operation);
        self
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)?;
        if let Some(operation) = self.operation {
            write!(f, " ({operation})")?;
        }
        Ok(())
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_debug_redacts_credentials_and_body() {
        let mut request = HttpRequest::new(
            Method::Post,
            "https://graph.facebook.com/v25.0/1/register"
                .parse()
                .unwrap(),
        );
        request.headers.push("Authorization", "Bearer EAAG-secret");
        request.headers.push("content-type", "application/json");
        request.body = br#"{"pin":"123456"}"#.to_vec();
        let shown = format!("{request:?}");
        assert!(
            !shown.contains("EAAG-secret") && !shown.contains("123456"),
            "{shown}"
        );
        assert!(shown.contains("[redacted]") && shown.contains("application/json"));
    }

    #[test]
    fn headers_lookup_is_case_insensitive() {
        let headers: Headers = [("Retry-After", "30")].into_iter().collect();
        assert_eq!(headers.get("retry-after"), Some("30"));
        assert_eq!(headers.get("x"), None);
        assert_eq!(headers.len(), 1);
    }

    #[test]
    fn transport_error_keeps_source() {
        use std::error::Error as _;
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "deadline");
        let e = TransportError::new(TransportErrorKind::Timeout, io);
        assert_eq!(e.to_string(), "request timed out");
        assert_eq!(
            e.source().map(|s| s.to_string()).as_deref(),
            Some("deadline")
        );
    }
}
