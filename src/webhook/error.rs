//! What a receiver refuses, and what it should answer Meta for each.

use std::borrow::Cow;
use std::fmt;

/// Why a delivery or a handshake was refused, by what the receiver should
/// answer ([`WebhookError::http_status`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookErrorKind {
    /// The delivery has no `X-Hub-Signature-256` header (a legacy
    /// `X-Hub-Signature`, SHA-1, does not count). Answer 401.
    MissingSignature,
    /// The header is not `sha256=` and 64 hex digits, or it was sent more
    /// than once. Answer 401.
    MalformedSignature,
    /// The signature is not the HMAC-SHA256 of the body under the app
    /// secret: another secret signed it, the body was changed or cut short,
    /// or it was signed for another body. Answer 403.
    BadSignature,
    /// The body is longer than the receiver accepts; it was refused before
    /// it was hashed or read. Answer 413.
    TooLarge {
        /// The body's length in bytes.
        len: usize,
        /// The most bytes the receiver accepts.
        max: usize,
    },
    /// A delivery with this signature was accepted before: Meta retries a
    /// delivery it believes failed, and the first copy was already handled.
    /// Answer 200, so that Meta stops retrying it.
    Replayed,
    /// A delivery with this signature was accepted and is still being
    /// handled (not yet [committed](crate::WebhookReceiver::commit) or
    /// forgotten): answer 503, so that Meta retries it later rather than
    /// take this copy as handled.
    InProgress,
    /// The body is signed but is not a webhook delivery: not JSON, or not
    /// the `{"object": …, "entry": [{"id": …, "changes": [{"field": …,
    /// "value": …}]}]}` envelope. Answer 400.
    Malformed,
    /// The subscription handshake was refused. Answer 403 (400 for a
    /// missing or unusable `hub.challenge`).
    HandshakeRefused(HandshakeRefusal),
    /// The receiver's app secret (for a delivery) or verify token (for a
    /// handshake) is empty: it can accept nothing. Answer 500 and fix the
    /// configuration.
    NotConfigured,
}

/// Why a subscription handshake was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeRefusal {
    /// `hub.mode` is missing, repeated or not `subscribe`.
    NotSubscribe,
    /// `hub.verify_token` is missing, repeated or not the receiver's token.
    WrongToken,
    /// `hub.challenge` is missing, repeated, empty, longer than 256 bytes or
    /// has a character other than ASCII letters, digits, `-`, `_`, `.` and
    /// `~` (Meta sends an integer): nothing safe to echo.
    BadChallenge,
}

impl fmt::Display for HandshakeRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotSubscribe => "hub.mode is not subscribe",
            Self::WrongToken => "hub.verify_token does not match the verify token",
            Self::BadChallenge => "hub.challenge is missing or not a plain token",
        })
    }
}

/// A refused webhook delivery or handshake.
///
/// Its message says what was wrong with the request, never what the body
/// held, the signature sent, or a secret. Answer Meta
/// [`http_status`](Self::http_status).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct WebhookError {
    kind: WebhookErrorKind,
    message: Cow<'static, str>,
}

impl WebhookError {
    pub(crate) fn new(kind: WebhookErrorKind) -> Self {
        let message = match &kind {
            WebhookErrorKind::MissingSignature => {
                Cow::Borrowed("webhook delivery refused: no X-Hub-Signature-256 header")
            }
            WebhookErrorKind::MalformedSignature => Cow::Borrowed(
                "webhook delivery refused: the X-Hub-Signature-256 header is not one \
                 `sha256=` followed by 64 hex digits",
            ),
            WebhookErrorKind::BadSignature => Cow::Borrowed(
                "webhook delivery refused: the signature does not match the body (another \
                 app secret, or a body changed or cut short)",
            ),
            WebhookErrorKind::TooLarge { len, max } => Cow::Owned(format!(
                "webhook delivery refused: the body is {len} bytes, more than the {max} accepted"
            )),
            WebhookErrorKind::Replayed => Cow::Borrowed(
                "webhook delivery already accepted: a retry of a delivery handled before",
            ),
            WebhookErrorKind::InProgress => Cow::Borrowed(
                "webhook delivery already accepted and still being handled: retry later",
            ),
            WebhookErrorKind::Malformed => {
                Cow::Borrowed("webhook delivery is signed but is not a webhook envelope")
            }
            WebhookErrorKind::HandshakeRefused(reason) => {
                Cow::Owned(format!("webhook verification refused: {reason}"))
            }
            WebhookErrorKind::NotConfigured => Cow::Borrowed(
                "webhook receiver is not configured: its app secret or verify token is empty",
            ),
        };
        Self { kind, message }
    }

    /// A signed body that is not a webhook envelope, with what is wrong
    /// with it (a position and a category, or a structural fact; never
    /// the body's content).
    pub(crate) fn malformed(detail: impl fmt::Display) -> Self {
        Self {
            kind: WebhookErrorKind::Malformed,
            message: Cow::Owned(format!(
                "webhook delivery is signed but is not a webhook envelope: {detail}"
            )),
        }
    }

    pub(crate) fn refused(reason: HandshakeRefusal) -> Self {
        Self::new(WebhookErrorKind::HandshakeRefused(reason))
    }

    /// Why the request was refused.
    pub fn kind(&self) -> &WebhookErrorKind {
        &self.kind
    }

    /// The HTTP status to answer Meta with:
    ///
    /// | kind | status |
    /// |---|---|
    /// | [`MissingSignature`](WebhookErrorKind::MissingSignature), [`MalformedSignature`](WebhookErrorKind::MalformedSignature) | 401 |
    /// | [`BadSignature`](WebhookErrorKind::BadSignature) | 403 |
    /// | [`TooLarge`](WebhookErrorKind::TooLarge) | 413 |
    /// | [`Replayed`](WebhookErrorKind::Replayed) | 200: the first copy was handled; a non-2xx would only make Meta retry it again |
    /// | [`InProgress`](WebhookErrorKind::InProgress) | 503: Meta retries later |
    /// | [`Malformed`](WebhookErrorKind::Malformed) | 400 |
    /// | [`HandshakeRefused`](WebhookErrorKind::HandshakeRefused) | 403 (400 for [`BadChallenge`](HandshakeRefusal::BadChallenge)) |
    /// | [`NotConfigured`](WebhookErrorKind::NotConfigured) | 500 |
    pub fn http_status(&self) -> u16 {
        match &self.kind {
            WebhookErrorKind::MissingSignature | WebhookErrorKind::MalformedSignature => 401,
            WebhookErrorKind::BadSignature => 403,
            WebhookErrorKind::TooLarge { .. } => 413,
            WebhookErrorKind::Replayed => 200,
            WebhookErrorKind::InProgress => 503,
            WebhookErrorKind::Malformed => 400,
            WebhookErrorKind::HandshakeRefused(HandshakeRefusal::BadChallenge) => 400,
            WebhookErrorKind::HandshakeRefused(_) => 403,
            WebhookErrorKind::NotConfigured => 500,
        }
    }

    /// Whether the request was refused because it could not be shown to
    /// come from Meta (a missing, malformed or mismatching signature, or a
    /// refused handshake): log it as a possible forgery, never process it.
    pub fn is_unauthenticated(&self) -> bool {
        matches!(
            self.kind,
            WebhookErrorKind::MissingSignature
                | WebhookErrorKind::MalformedSignature
                | WebhookErrorKind::BadSignature
                | WebhookErrorKind::HandshakeRefused(_)
        )
    }

    /// Whether this is a retry of a delivery accepted before
    /// ([`Replayed`](WebhookErrorKind::Replayed)): answer 200 and do
    /// nothing else.
    pub fn is_replay(&self) -> bool {
        self.kind == WebhookErrorKind::Replayed
    }
}

impl From<WebhookErrorKind> for WebhookError {
    fn from(kind: WebhookErrorKind) -> Self {
        Self::new(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_status() {
        let status = |kind| WebhookError::new(kind).http_status();
        assert_eq!(status(WebhookErrorKind::MissingSignature), 401);
        assert_eq!(status(WebhookErrorKind::MalformedSignature), 401);
        assert_eq!(status(WebhookErrorKind::BadSignature), 403);
        assert_eq!(status(WebhookErrorKind::TooLarge { len: 2, max: 1 }), 413);
        assert_eq!(status(WebhookErrorKind::Replayed), 200);
        assert_eq!(status(WebhookErrorKind::Malformed), 400);
        assert_eq!(
            status(WebhookErrorKind::HandshakeRefused(
                HandshakeRefusal::WrongToken
            )),
            403
        );
        assert_eq!(
            status(WebhookErrorKind::HandshakeRefused(
                HandshakeRefusal::BadChallenge
            )),
            400
        );
        assert_eq!(status(WebhookErrorKind::NotConfigured), 500);
        assert!(WebhookError::new(WebhookErrorKind::Replayed).is_replay());
        assert!(WebhookError::new(WebhookErrorKind::BadSignature).is_unauthenticated());
        assert!(!WebhookError::malformed("x").is_unauthenticated());
    }
}
