//! Fields Graph refuses: a `fields` list naming one Graph does not serve on
//! a node ("(#100) Tried accessing nonexisting field (platform_type) on
//! node type (WhatsAppBusinessPhoneNumber)") fails the whole read. Some
//! fields the crate reads are real but missing from Meta's OpenAPI
//! description; a read that meets such a refusal asks again without the
//! refused field, and the record simply lacks it.

use crate::error::Error;

/// The field `error` says Graph refused as nonexisting on the node, when it
/// is Graph's error 100 saying so and names one of `fields` (never `id`).
pub(crate) fn refused_field<'f>(error: &Error, fields: &[&'f str]) -> Option<&'f str> {
    let graph = error.api()?.graph();
    if graph.code != Some(100) {
        return None;
    }
    let message = graph.message.as_deref()?;
    let lower = message.to_ascii_lowercase();
    let at = lower.find("nonexisting field")?;
    let rest = &message[at + "nonexisting field".len()..];
    let open = rest.find('(')?;
    let close = rest[open..].find(')')? + open;
    let named = rest[open + 1..close].trim();
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
    use crate::operation::Operation;
    use crate::transport::HttpResponse;

    fn error(body: &str) -> Error {
        let response = HttpResponse::new(400, Default::default(), body);
        crate::client::wire::decode(
            Operation::ReadPhoneNumber,
            &response,
            &crate::time::SystemClock,
        )
        .expect_err("an error answer")
    }

    #[test]
    fn graphs_nonexisting_field_error_names_the_field_it_refused() {
        let fields = ["id", "status", "platform_type"];
        let refused = error(
            r#"{"error":{"message":"(#100) Tried accessing nonexisting field (platform_type) on node type (WhatsAppBusinessPhoneNumber)","type":"OAuthException","code":100,"fbtrace_id":"A"}}"#,
        );
        assert_eq!(refused_field(&refused, &fields), Some("platform_type"));
        // Never the id, a field not asked for, another code, or another text.
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
        let open = error(
            r#"{"error":{"message":"(#100) Tried accessing nonexisting field (status","code":100}}"#,
        );
        assert_eq!(refused_field(&open, &fields), None);
        assert_eq!(joined(&fields), "id,status,platform_type");
    }
}
