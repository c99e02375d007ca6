//! An error answer from the Graph API, classified.

use std::fmt;
use std::time::Duration;

use super::classify::classify;
use super::graph::GraphError;
use super::retry_after::{wait_in_text, MAX_WAIT};
use crate::actor::Actor;
use crate::kind::ApiErrorKind;
use crate::operation::Operation;

/// The Graph API answered a request with an error envelope.
///
/// Keeps every raw field ([`graph()`](Self::graph)), the HTTP status, the
/// operation it answered and the classified [`kind()`](Self::kind).
/// `Display` and `Debug` mask PIN-, code- and token-shaped text in Meta's
/// texts; an answer to the client's own request also has what that request
/// carried (the PIN, the verification code) masked in the raw fields.
// `Debug` is derived: the only texts are the `GraphError`'s, whose own
// `Debug` masks them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    kind: ApiErrorKind,
    operation: Operation,
    status: u16,
    retry_after: Option<Duration>,
    graph: Box<GraphError>,
}

impl ApiError {
    /// Classifies `graph`, the envelope that answered `operation` with HTTP
    /// `status`; `header_wait` is the response's `Retry-After`, if any.
    pub(crate) fn new(
        graph: GraphError,
        operation: Operation,
        status: u16,
        header_wait: Option<Duration>,
    ) -> Self {
        let kind = classify(&graph, operation);
        let text_wait = || match kind {
            ApiErrorKind::TooManyPinGuesses => graph.texts().find_map(wait_in_text),
            _ => None,
        };
        // What the answer says (header, then text), never shorter than the
        // wait Meta documents for the case: a 133016 with `Retry-After: 30`
        // still blocks the number for 72 hours.
        let said = header_wait.or_else(text_wait);
        let retry_after = match (said, kind.documented_wait()) {
            (Some(said), Some(documented)) => Some(said.max(documented)),
            (said, documented) => said.or(documented),
        }
        .map(|wait| wait.min(MAX_WAIT));
        Self {
            kind,
            operation,
            status,
            retry_after,
            graph: Box::new(graph),
        }
    }

    /// The same answer read as another case, when the session knows more
    /// than the body (133005 after our own register whose outcome was
    /// unknown is a PIN mismatch, not two-step verification).
    pub(crate) fn reclassified(mut self, kind: ApiErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// Masks what the request carried (`secrets`) in every text of the
    /// answer ([`GraphError::redact_sent`]).
    pub(crate) fn redact_sent(&mut self, secrets: &[&str]) {
        self.graph.redact_sent(secrets);
    }

    /// The classified case.
    pub fn kind(&self) -> ApiErrorKind {
        self.kind
    }

    /// The operation this error answered.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The HTTP status of the response.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The raw Graph error fields.
    pub fn graph(&self) -> &GraphError {
        &self.graph
    }

    /// `code`, or `error_subcode` when `code` is missing.
    pub fn code(&self) -> Option<i64> {
        self.graph.code.or(self.graph.error_subcode)
    }

    /// `fbtrace_id`, for support requests; `None` when the server sent
    /// something not shaped like a trace id (it is then not shown, logged
    /// or saved: a server may echo what it was sent; the raw value stays in
    /// [`graph`](Self::graph)).
    pub fn fbtrace_id(&self) -> Option<&str> {
        self.graph
            .fbtrace_id
            .as_deref()
            .filter(|trace| crate::secret::trace_id_shaped(trace))
    }

    /// How long to wait before retrying: the `Retry-After` header when sent,
    /// else a wait Meta wrote in the error — never less than the wait Meta
    /// documents for the case (5 minutes for 133015, 72 hours for 133016, …)
    /// and never more than 72 hours.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Who must act before the step can succeed.
    pub fn who_must_act(&self) -> Actor {
        self.kind.who_must_act()
    }

    /// What to do, in plain words.
    pub fn remediation(&self) -> &'static str {
        self.kind.remediation()
    }
}

impl fmt::Display for ApiError {
    /// One line: the case, the code (and subcode), the status, Meta's message
    /// and the trace id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {} (Graph error", self.kind, self.operation)?;
        match (self.graph.code, self.graph.error_subcode) {
            (Some(code), Some(sub)) => write!(f, " {code}/{sub}")?,
            (Some(code), None) | (None, Some(code)) => write!(f, " {code}")?,
            (None, None) => write!(f, " without code")?,
        }
        write!(f, ", HTTP {})", self.status)?;
        let message = self
            .graph
            .message
            .as_deref()
            .or(self.graph.error_user_msg.as_deref());
        if let Some(message) = message {
            f.write_str(": ")?;
            // A server may echo what it was sent: PIN-, code- and
            // token-shaped text is masked.
            write_one_line(f, &crate::secret::scrub(message))?;
        }
        if let Some(trace) = self.fbtrace_id() {
            f.write_str(" [fbtrace_id ")?;
            write_one_line(f, trace)?;
            f.write_str("]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// Writes `text` with every run of whitespace (newlines included) as one space.
pub(crate) fn write_one_line(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    for (i, word) in text.split_whitespace().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        f.write_str(word)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(body: &str, operation: Operation, status: u16, header: Option<u64>) -> ApiError {
        let graph = GraphError::from_body(body.as_bytes()).unwrap();
        ApiError::new(graph, operation, status, header.map(Duration::from_secs))
    }

    #[test]
    fn display_is_one_line_with_code_message_and_trace() {
        let e = api(
            r#"{"error":{"message":"(#2388103) There was an error\nmigrating this phone number","code":100,"error_subcode":2388103,"fbtrace_id":"Az8or2"}}"#,
            Operation::StartMigration,
            400,
            None,
        );
        assert_eq!(
            e.to_string(),
            "Something went wrong when trying to migrate the phone number at start_migration \
             (Graph error 100/2388103, HTTP 400): (#2388103) There was an error migrating this \
             phone number [fbtrace_id Az8or2]"
        );
    }

    #[test]
    fn retry_after_prefers_header_then_text_then_documented() {
        let body = r#"{"error":{"code":133016}}"#;
        assert_eq!(
            api(body, Operation::Register, 400, Some(7)).retry_after(),
            Some(Duration::from_secs(72 * 3600)),
            "never shorter than the documented 72-hour block"
        );
        assert_eq!(
            api(
                r#"{"error":{"code":130429}}"#,
                Operation::Register,
                429,
                Some(7)
            )
            .retry_after(),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            api(body, Operation::Register, 400, None).retry_after(),
            Some(Duration::from_secs(72 * 3600))
        );
        let guesses = r#"{"error":{"code":133008,"error_data":{"details":"Too many attempts. Please wait 12 minutes."}}}"#;
        assert_eq!(
            api(guesses, Operation::Register, 400, None).retry_after(),
            Some(Duration::from_secs(720))
        );
        assert_eq!(
            api(r#"{"error":{"code":4}}"#, Operation::Register, 400, None).retry_after(),
            None
        );
    }
}
