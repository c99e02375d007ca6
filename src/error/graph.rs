//! The raw Graph API error envelope, read defensively.

use std::fmt;

use serde_json::{Map, Value};

use crate::secret::{redact_sent, scrub, trace_id_shaped};

/// Longest text kept from any one field of a server error.
const MAX_FIELD_CHARS: usize = 1024;

/// The fields of a Graph API error envelope, as the server sent them (each
/// may be missing) — except what the client's own request carried (the PIN,
/// the verification code), masked as `[redacted]` in every text.
///
/// `Debug` also masks anything shaped like a PIN, a code or a token in the
/// texts, and shows `fbtrace_id` only when it looks like a trace id (the
/// fields themselves are not masked by shape).
///
/// ```json
/// {"error": {"message": "(#131000) Something went wrong", "type": "OAuthException",
///   "code": 131000, "error_subcode": 2494055, "error_user_title": "…",
///   "error_user_msg": "…", "error_data": {"details": "…"}, "fbtrace_id": "Az8or2…"}}
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GraphError {
    /// `code`.
    pub code: Option<i64>,
    /// `error_subcode` (deprecated by Meta, still sent).
    pub error_subcode: Option<i64>,
    /// `type` (e.g. `OAuthException`).
    pub error_type: Option<String>,
    /// `message`, usually `(#code) title`.
    pub message: Option<String>,
    /// `error_user_title`.
    pub error_user_title: Option<String>,
    /// `error_user_msg`.
    pub error_user_msg: Option<String>,
    /// `error_data.details`.
    pub details: Option<String>,
    /// `fbtrace_id`: quote it to Meta support.
    pub fbtrace_id: Option<String>,
    /// `is_transient`: Meta's own hint that retrying may work.
    pub is_transient: Option<bool>,
}

impl GraphError {
    /// Reads the envelope from a response body. `None` when the body is not
    /// JSON or has no `error` object; wrong field types are skipped, not fatal.
    #[cfg(test)]
    pub(crate) fn from_body(body: &[u8]) -> Option<Self> {
        let value: Value = serde_json::from_slice(body).ok()?;
        Self::from_value(&value)
    }

    /// Reads the envelope from parsed JSON (see `from_body`).
    pub(crate) fn from_value(value: &Value) -> Option<Self> {
        let error = value.get("error")?.as_object()?;
        let details = error.get("error_data").and_then(details_of);
        Some(Self {
            code: number(error, "code"),
            error_subcode: number(error, "error_subcode"),
            error_type: text(error, "type"),
            message: text(error, "message"),
            error_user_title: text(error, "error_user_title"),
            error_user_msg: text(error, "error_user_msg"),
            details,
            fbtrace_id: text(error, "fbtrace_id"),
            is_transient: error.get("is_transient").and_then(Value::as_bool),
        })
    }

    /// Masks what the request carried (`secrets`) in every text, the trace
    /// id included (which is then no longer shaped like one).
    pub(crate) fn redact_sent(&mut self, secrets: &[&str]) {
        for text in [
            &mut self.error_type,
            &mut self.message,
            &mut self.error_user_title,
            &mut self.error_user_msg,
            &mut self.details,
            &mut self.fbtrace_id,
        ]
        .into_iter()
        .flatten()
        {
            redact_sent(text, secrets);
        }
    }

    /// Every human-readable text of the error, for text classification.
    pub(crate) fn texts(&self) -> impl Iterator<Item = &str> {
        [
            &self.message,
            &self.error_user_title,
            &self.error_user_msg,
            &self.details,
        ]
        .into_iter()
        .filter_map(|t| t.as_deref())
    }
}

impl fmt::Debug for GraphError {
    /// The fields, with PIN-, code- and token-shaped text masked and a trace
    /// id not shaped like one not shown: a server may echo what it was sent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scrubbed = |text: &Option<String>| text.as_deref().map(scrub);
        let trace = self.fbtrace_id.as_deref().map(|trace| {
            if trace_id_shaped(trace) {
                trace
            } else {
                "[redacted]"
            }
        });
        f.debug_struct("GraphError")
            .field("code", &self.code)
            .field("error_subcode", &self.error_subcode)
            .field("error_type", &scrubbed(&self.error_type))
            .field("message", &scrubbed(&self.message))
            .field("error_user_title", &scrubbed(&self.error_user_title))
            .field("error_user_msg", &scrubbed(&self.error_user_msg))
            .field("details", &scrubbed(&self.details))
            .field("fbtrace_id", &trace)
            .field("is_transient", &self.is_transient)
            .finish()
    }
}

/// `error_data.details`: from the object, or from the JSON string Graph
/// sometimes sends instead (kept whole when it is not JSON).
pub(crate) fn details_of(data: &Value) -> Option<String> {
    match data {
        Value::Object(map) => text(map, "details"),
        Value::String(raw) => match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(map)) => text(&map, "details"),
            _ => Some(bounded(raw)),
        },
        _ => None,
    }
}

fn number(map: &Map<String, Value>, key: &str) -> Option<i64> {
    match map.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) => Some(bounded(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn bounded(s: &str) -> String {
    // At most as many chars as bytes: short texts are kept whole at once.
    if s.len() <= MAX_FIELD_CHARS {
        return s.to_owned();
    }
    match s.char_indices().nth(MAX_FIELD_CHARS) {
        Some((cut, _)) => format!("{}…", s.get(..cut).unwrap_or_default()),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_field() {
        let body = br#"{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException",
            "code":130429,"error_subcode":2494055,"error_user_title":"T","error_user_msg":"U",
            "error_data":{"messaging_product":"whatsapp","details":"D"},"fbtrace_id":"Az8or2"}}"#;
        let e = GraphError::from_body(body).unwrap();
        assert_eq!(e.code, Some(130429));
        assert_eq!(e.error_subcode, Some(2494055));
        assert_eq!(e.error_type.as_deref(), Some("OAuthException"));
        assert_eq!(e.message.as_deref(), Some("(#130429) Rate limit hit"));
        assert_eq!(e.error_user_title.as_deref(), Some("T"));
        assert_eq!(e.error_user_msg.as_deref(), Some("U"));
        assert_eq!(e.details.as_deref(), Some("D"));
        assert_eq!(e.fbtrace_id.as_deref(), Some("Az8or2"));
    }

    #[test]
    fn tolerates_odd_types_and_missing_fields() {
        let e = GraphError::from_body(
            br#"{"error":{"code":"100","error_subcode":null,
            "message":42,"error_data":"{\"details\":\"inner\"}"}}"#,
        )
        .unwrap();
        assert_eq!(e.code, Some(100));
        assert_eq!(e.error_subcode, None);
        assert_eq!(e.message.as_deref(), Some("42"));
        assert_eq!(e.details.as_deref(), Some("inner"));
        assert_eq!(
            GraphError::from_body(br#"{"error":{}}"#),
            Some(GraphError::default())
        );
    }

    #[test]
    fn rejects_non_envelopes() {
        for body in [
            &b""[..],
            b"<html>502</html>",
            b"{\"error\":",
            b"{\"id\":\"1\"}",
            b"{\"error\":\"x\"}",
        ] {
            assert_eq!(GraphError::from_body(body), None);
        }
    }

    #[test]
    fn bounds_huge_fields() {
        let long = "x".repeat(10_000);
        let body = format!(r#"{{"error":{{"message":"{long}"}}}}"#);
        let e = GraphError::from_body(body.as_bytes()).unwrap();
        assert_eq!(e.message.unwrap().chars().count(), MAX_FIELD_CHARS + 1);
    }
}
