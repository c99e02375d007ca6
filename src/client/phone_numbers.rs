//! The destination WABA's phone number list (`GET /{waba-id}/phone_numbers`).

use serde_json::Value;

use crate::number::PhoneNumberRecord;

/// How many numbers to ask for per page.
pub(crate) const PAGE_SIZE: &str = "100";
/// A guard against a server that pages forever: past this many pages the
/// look-up fails with a typed error instead of returning a partial list.
pub(crate) const MAX_PAGES: usize = 50;

/// One page: the records that could be read and the cursor to the next page.
pub(crate) struct Page {
    pub(crate) records: Vec<PhoneNumberRecord>,
    pub(crate) after: Option<String>,
}

/// Reads a page, skipping entries without a valid id. `None` when the body
/// has no `data` array.
pub(crate) fn parse_page(value: &Value) -> Option<Page> {
    let data = value.get("data")?.as_array()?;
    let records = data
        .iter()
        .filter_map(PhoneNumberRecord::from_value)
        .collect();
    let paging = value.get("paging");
    // Graph sends `next` only when another page exists; the cursor alone is
    // present on the last page too.
    let has_next = paging.and_then(|p| p.get("next")).is_some();
    let after = paging
        .and_then(|p| p.get("cursors"))
        .and_then(|c| c.get("after"))
        .and_then(Value::as_str)
        .filter(|_| has_next)
        .map(str::to_owned);
    Some(Page { records, after })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records_and_cursor() {
        let value: Value = serde_json::from_str(
            r#"{"data":[{"id":"1","display_phone_number":"+1 415-555-0123","status":"CONNECTED"},
                {"display_phone_number":"no id"},{"id":"bad"}],
                "paging":{"cursors":{"before":"B","after":"A"},"next":"https://graph.facebook.com/..."}}"#,
        )
        .unwrap();
        let page = parse_page(&value).unwrap();
        assert_eq!(page.records.len(), 1);
        assert_eq!(
            page.records[0].display_phone_number.as_deref(),
            Some("+1 415-555-0123")
        );
        assert!(page.records[0].is_connected());
        assert_eq!(page.after.as_deref(), Some("A"));
    }

    #[test]
    fn last_page_has_no_next() {
        let value: Value =
            serde_json::from_str(r#"{"data":[],"paging":{"cursors":{"after":"A"}}}"#).unwrap();
        assert_eq!(parse_page(&value).unwrap().after, None);
        assert!(parse_page(&serde_json::json!({"items": []})).is_none());
    }
}
