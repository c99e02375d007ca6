//! An answer that could not be decoded as what the operation expects.

use std::fmt;
use std::time::Duration;

use super::api::write_one_line;
use crate::operation::Operation;

/// Most bytes of an undecodable body kept for diagnosis.
pub(crate) const MAX_SNIPPET_BYTES: usize = 512;

/// Why a response could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UndecodableReason {
    /// The body was empty.
    EmptyBody,
    /// The body was not JSON (an HTML page from a proxy, truncated JSON…).
    NotJson,
    /// JSON, but neither the expected success shape nor a Graph error.
    UnexpectedShape,
    /// A paged list sent a cursor it had sent before: it would never end.
    RepeatedCursor,
    /// A redirect (3xx). The client follows none: the PIN and the token must
    /// not travel to wherever a redirect points, and a redirect is never a
    /// success.
    Redirect,
    /// A paged list went on past the client's page limit.
    TooManyPages,
}

impl fmt::Display for UndecodableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EmptyBody => "empty body",
            Self::NotJson => "body is not JSON",
            Self::UnexpectedShape => "unexpected JSON shape",
            Self::RepeatedCursor => "the list repeated a page cursor",
            Self::Redirect => "a redirect, which is not followed",
            Self::TooManyPages => "the list went on past the page limit",
        })
    }
}

/// The server answered, but not with something this crate can read: an HTML
/// error page from a proxy, an empty or truncated body, or JSON of another
/// shape. Keeps the status and a bounded snippet of the body.
///
/// `Display` and `Debug` mask PIN-, code- and token-shaped text in the
/// snippet; an answer to the client's own request also has what that request
/// carried (the PIN, the verification code) masked in the snippet itself.
#[derive(Clone, PartialEq, Eq)]
pub struct UnexpectedResponse {
    operation: Operation,
    status: u16,
    reason: UndecodableReason,
    snippet: String,
    retry_after: Option<Duration>,
}

impl UnexpectedResponse {
    pub(crate) fn new(
        operation: Operation,
        status: u16,
        reason: UndecodableReason,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> Self {
        Self {
            operation,
            status,
            reason,
            snippet: snippet(body),
            retry_after: retry_after.map(|wait| wait.min(super::retry_after::MAX_WAIT)),
        }
    }

    /// Drops the snippet: the answer of a token endpoint may hold a token.
    pub(crate) fn forget_body(&mut self) {
        self.snippet.clear();
    }

    /// Masks what the request carried (`secrets`) in the snippet.
    pub(crate) fn redact_sent(&mut self, secrets: &[&str]) {
        crate::secret::redact_sent(&mut self.snippet, secrets);
    }

    /// The operation this response answered.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Why it could not be decoded.
    pub fn reason(&self) -> UndecodableReason {
        self.reason
    }

    /// The start of the body (at most 512 bytes of it, lossily decoded as
    /// UTF-8), with what the client's request carried masked.
    pub fn body_snippet(&self) -> &str {
        &self.snippet
    }

    /// The `Retry-After` header, if one was sent.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl fmt::Display for UnexpectedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "undecodable answer to {} (HTTP {}, {})",
            self.operation, self.status, self.reason
        )?;
        if !self.snippet.is_empty() {
            f.write_str(": ")?;
            // A server or proxy may echo what it was sent.
            write_one_line(f, &crate::secret::scrub(&self.snippet))?;
        }
        Ok(())
    }
}

impl fmt::Debug for UnexpectedResponse {
    /// The fields, with PIN-, code- and token-shaped text of the snippet
    /// masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnexpectedResponse")
            .field("operation", &self.operation)
            .field("status", &self.status)
            .field("reason", &self.reason)
            .field("snippet", &crate::secret::scrub(&self.snippet))
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

impl std::error::Error for UnexpectedResponse {}

fn snippet(body: &[u8]) -> String {
    let cut = body.get(..MAX_SNIPPET_BYTES).unwrap_or(body);
    let mut text = String::from_utf8_lossy(cut).into_owned();
    if cut.len() < body.len() {
        // A multi-byte character split at the cut shows as U+FFFD; drop it.
        if text.ends_with('\u{FFFD}') {
            text.pop();
        }
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_is_bounded_and_valid_utf8() {
        let body = "é".repeat(1000);
        let s = snippet(body.as_bytes());
        assert!(s.len() <= MAX_SNIPPET_BYTES + '…'.len_utf8());
        assert!(s.ends_with('…'));
        assert_eq!(snippet(b"short"), "short");
        assert_eq!(snippet(&[0xff, 0xfe]), "\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn display_is_one_line() {
        let e = UnexpectedResponse::new(
            Operation::Register,
            502,
            UndecodableReason::NotJson,
            b"<html>\n<body>Bad Gateway</body>\n</html>",
            None,
        );
        assert_eq!(
            e.to_string(),
            "undecodable answer to register (HTTP 502, body is not JSON): <html> <body>Bad Gateway</body> </html>"
        );
    }
}
