//! An answer read: its JSON value, or the error it carries. Next to the
//! errors it builds; the client decodes every answer through it, and
//! [`Error::from_response`](super::Error::from_response) is the same for an
//! answer received by your own I/O.

use serde_json::Value;

use super::retry_after::parse_retry_after;
use super::{ApiError, Error, GraphError, UndecodableReason, UnexpectedResponse};
use crate::operation::Operation;
use crate::time::{Clock, Timestamp};
use crate::transport::HttpResponse;

/// Turns a response into its JSON value, or into the error it carries.
/// `now` (the client's clock) resolves an HTTP-date `Retry-After`.
pub(crate) fn decode(
    operation: Operation,
    response: &HttpResponse,
    clock: &dyn Clock,
) -> Result<Value, Error> {
    let retry_after = header_wait(response, clock);
    let undecodable = |reason| {
        Error::from(UnexpectedResponse::new(
            operation,
            response.status,
            reason,
            &response.body,
            retry_after,
        ))
    };
    if (300..400).contains(&response.status) {
        return Err(undecodable(UndecodableReason::Redirect));
    }
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Err(undecodable(UndecodableReason::EmptyBody));
    }
    // An error status almost always carries a Graph error: read it in one
    // pass; anything else falls through to the general path.
    if response.status >= 400 {
        if let Some(graph) = super::graph_fast::from_body(&response.body) {
            return Err(ApiError::new(graph, operation, response.status, retry_after).into());
        }
    }
    let value: Value = serde_json::from_slice(&response.body)
        .map_err(|_| undecodable(UndecodableReason::NotJson))?;
    if let Some(graph) = GraphError::from_value(&value) {
        return Err(ApiError::new(graph, operation, response.status, retry_after).into());
    }
    if (200..300).contains(&response.status) {
        Ok(value)
    } else {
        Err(undecodable(UndecodableReason::UnexpectedShape))
    }
}

/// The `Retry-After` header's wait, when sent and readable.
/// The clock is read only when the header is there (an HTTP date is
/// relative to now).
pub(crate) fn header_wait(
    response: &HttpResponse,
    clock: &dyn Clock,
) -> Option<std::time::Duration> {
    response
        .headers
        .get("retry-after")
        .and_then(|v| parse_retry_after(v, clock.now().into()))
}

/// A clock stopped at one time (for callers that pass the time).
#[derive(Debug)]
pub(crate) struct At(pub(crate) Timestamp);

impl Clock for At {
    fn now(&self) -> Timestamp {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Headers;

    const T0: Timestamp = Timestamp::from_unix_millis(1_700_000_000_000);

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(status, Headers::new(), body)
    }

    #[test]
    fn undecodable_bodies() {
        let op = Operation::VerifyCode;
        let reason = |status, body| match decode(op, &response(status, body), &At(T0)) {
            Err(Error::UnexpectedResponse(e)) => e.reason(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            reason(502, "<html>Bad Gateway</html>"),
            UndecodableReason::NotJson
        );
        assert_eq!(reason(500, ""), UndecodableReason::EmptyBody);
        assert_eq!(reason(200, " \n"), UndecodableReason::EmptyBody);
        assert_eq!(
            reason(400, r#"{"error":{"code":1"#),
            UndecodableReason::NotJson
        );
        assert_eq!(
            reason(404, r#"{"data":[]}"#),
            UndecodableReason::UnexpectedShape
        );
    }
}
