//! Object reads that survive a field Graph refuses.
//!
//! Graph answers a `fields` list naming a field it does not have on that
//! node with error 100 — `(#100) Tried accessing nonexisting field
//! (primary_funding_id) on node type (WhatsAppBusinessAccount)` — and
//! nothing else: one undocumented field would cost every other one. The
//! read here asks again without the field the message names; when the
//! message does not say which, it reads the fields one at a time. Each
//! refused field is kept with Graph's message, so that only what depended
//! on it goes unchecked.

use serde_json::{Map, Value};

use super::{wire, PortingClient};
use crate::error::{decode, Error};
use crate::operation::Operation;
use crate::readiness::Refused;
use crate::retry_policy::Deadline;
use crate::transport::HttpResponse;

/// What a read that survives refusals got.
#[derive(Debug)]
pub(crate) struct FieldsRead {
    /// The object read: every field Graph answered.
    pub(crate) value: Value,
    /// The last answer read (for a shape error about it).
    pub(crate) response: HttpResponse,
    /// The fields Graph refused, in the order it refused them.
    pub(crate) refused: Vec<Refused>,
}

impl PortingClient {
    /// `GET /{target}?fields=…` with `fields` (`id` first), asking again
    /// without each field Graph refuses (error 100 "nonexisting field"):
    /// at most one request per field. When Graph's message does not name
    /// a field asked for, the fields are read one at a time (`id,<field>`),
    /// so that only the refused ones are missing. Any other error is
    /// returned as it is.
    pub(super) async fn read_fields(
        &self,
        operation: Operation,
        target: &str,
        fields: &[&'static str],
        deadline: &Deadline,
    ) -> Result<FieldsRead, Error> {
        let mut asked: Vec<&'static str> = fields.to_vec();
        let mut refused = Vec::new();
        // Each refusal takes one field out: the loop ends.
        for _ in 0..=fields.len() {
            let query = asked.join(",");
            match self.read_once(operation, target, &query, deadline).await {
                Ok((value, response)) => {
                    return Ok(FieldsRead {
                        value,
                        response,
                        refused,
                    })
                }
                Err(error) => {
                    let Some(message) = refusal_message(&error) else {
                        return Err(error);
                    };
                    let named = named_field(&message)
                        .and_then(|name| asked.iter().copied().find(|f| *f == name))
                        .filter(|field| *field != "id");
                    match named {
                        Some(field) => {
                            asked.retain(|f| *f != field);
                            refused.push(Refused { field, message });
                        }
                        None => break,
                    }
                }
            }
        }
        self.read_one_by_one(operation, target, &asked, refused, deadline)
            .await
    }

    /// Reads `fields` one at a time (`id,<field>`), merging the answers;
    /// a field refused alone is refused. `refused`: those refused before.
    async fn read_one_by_one(
        &self,
        operation: Operation,
        target: &str,
        fields: &[&'static str],
        mut refused: Vec<Refused>,
        deadline: &Deadline,
    ) -> Result<FieldsRead, Error> {
        let mut merged = Map::new();
        let mut last = None;
        for field in fields.iter().copied().filter(|f| *f != "id") {
            let query = format!("id,{field}");
            match self.read_once(operation, target, &query, deadline).await {
                Ok((Value::Object(map), response)) => {
                    merged.extend(map);
                    last = Some(response);
                }
                Ok((_, response)) => return Err(wire::shape_error(operation, &response)),
                Err(error) => match refusal_message(&error) {
                    Some(message) => refused.push(Refused { field, message }),
                    None => return Err(error),
                },
            }
        }
        Ok(FieldsRead {
            value: Value::Object(merged),
            response: last.unwrap_or_else(|| HttpResponse::new(200, Default::default(), "")),
            refused,
        })
    }

    /// One `GET /{target}?fields=<query>`, decoded.
    async fn read_once(
        &self,
        operation: Operation,
        target: &str,
        fields: &str,
        deadline: &Deadline,
    ) -> Result<(Value, HttpResponse), Error> {
        let query = [("fields", fields)];
        let response = self.send(operation, target, &query, None, deadline).await?;
        let value = decode(operation, &response, self.inner.clock.as_ref())?;
        Ok((value, response))
    }
}

/// Graph's message when `error` refuses a field (code 100, "nonexisting
/// field", "invalid field" or "unknown field"), masked of anything shaped
/// like a secret; `None` for any other error.
pub(crate) fn refusal_message(error: &Error) -> Option<String> {
    let api = error.api()?;
    if api.code() != Some(100) {
        return None;
    }
    let graph = api.graph();
    [&graph.message, &graph.error_user_msg]
        .into_iter()
        .flatten()
        .find(|message| {
            let lower = message.to_ascii_lowercase();
            ["nonexisting field", "invalid field", "unknown field"]
                .iter()
                .any(|needle| lower.contains(needle))
        })
        .map(|message| crate::secret::scrub(message))
}

/// The field a refusal names: `… nonexisting field (primary_funding_id) …`.
pub(crate) fn named_field(message: &str) -> Option<&str> {
    const NEEDLE: &str = "nonexisting field (";
    let start = message.to_ascii_lowercase().find(NEEDLE)? + NEEDLE.len();
    let rest = message.get(start..)?;
    let name = rest.get(..rest.find(')')?)?.trim();
    (!name.is_empty()).then_some(name)
}

/// The field of `fields` (never `id`) that `error` says Graph refused as
/// nonexisting on the node; `None` for any other error (and when Graph's
/// message names no field asked for).
pub(crate) fn refused_field<'f>(error: &Error, fields: &[&'f str]) -> Option<&'f str> {
    let message = refusal_message(error)?;
    let named = named_field(&message)?;
    fields
        .iter()
        .copied()
        .find(|field| *field != "id" && field.eq_ignore_ascii_case(named))
}

/// `fields` as a `fields` query value.
pub(crate) fn joined(fields: &[&str]) -> String {
    fields.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(body: &str) -> Error {
        let response = HttpResponse::new(400, Default::default(), body);
        decode(
            Operation::ReadPhoneNumber,
            &response,
            &crate::time::SystemClock,
        )
        .expect_err("an error answer")
    }

    #[test]
    fn a_refused_field_is_one_asked_for_and_never_the_id() {
        let fields = ["id", "status", "platform_type"];
        let refused = error(
            r#"{"error":{"message":"(#100) Tried accessing nonexisting field (platform_type) on node type (WhatsAppBusinessPhoneNumber)","type":"OAuthException","code":100,"fbtrace_id":"A"}}"#,
        );
        assert_eq!(refused_field(&refused, &fields), Some("platform_type"));
        let id = error(
            r#"{"error":{"message":"(#100) Tried accessing nonexisting field (id)","code":100}}"#,
        );
        assert_eq!(refused_field(&id, &fields), None);
        let other = error(
            r#"{"error":{"message":"(#100) Tried accessing nonexisting field (name_status)","code":100}}"#,
        );
        assert_eq!(refused_field(&other, &fields), None);
        let code = error(
            r#"{"error":{"message":"Tried accessing nonexisting field (status)","code":200}}"#,
        );
        assert_eq!(refused_field(&code, &fields), None);
        let text = error(r#"{"error":{"message":"Invalid parameter","code":100}}"#);
        assert_eq!(refused_field(&text, &fields), None);
        assert_eq!(joined(&fields), "id,status,platform_type");
    }

    #[test]
    fn names_the_refused_field_from_graphs_message() {
        assert_eq!(
            named_field(
                "(#100) Tried accessing nonexisting field (primary_funding_id) on node type \
                 (WhatsAppBusinessAccount)"
            ),
            Some("primary_funding_id")
        );
        assert_eq!(
            named_field("(#100) TRIED ACCESSING NONEXISTING FIELD ( status ) ON NODE"),
            Some("status")
        );
        assert_eq!(
            named_field("Invalid field requested. Available fields: name_status"),
            None
        );
        assert_eq!(named_field("nonexisting field ()"), None);
        assert_eq!(named_field("nonexisting field (unclosed"), None);
    }

    #[test]
    fn a_refusal_keeps_graphs_field_names() {
        let message = "(#100) Tried accessing nonexisting field (on_behalf_of_business_info) \
                       on node type (WhatsAppBusinessAccount)";
        let scrubbed = crate::secret::scrub(message);
        assert_eq!(named_field(&scrubbed), Some("on_behalf_of_business_info"));
    }
}
