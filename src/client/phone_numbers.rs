//! The phone number reads: one number (`GET /{phone-number-id}`), a WABA's
//! list (`GET /{waba-id}/phone_numbers`, every page), and one number found
//! in that list. A field Graph refuses as nonexisting is dropped and the
//! read asked again; an answer about another number is no answer.

use std::collections::HashSet;

use serde_json::Value;

use super::{fields, wire, PortingClient};
use crate::error::{decode, Error, UndecodableReason, UnexpectedResponse};
use crate::ids::{PhoneNumberId, WabaId};
use crate::number::{self, PhoneNumberRecord};
use crate::operation::Operation;
use crate::phone::PhoneNumber;
use crate::retry_policy::Deadline;
use crate::telemetry::Trace;
use crate::transport::HttpResponse;

impl PortingClient {
    /// Lists the phone numbers of a WABA (all pages).
    ///
    /// # Errors
    /// See [`Error`]; a list that repeats a cursor or goes on past the page
    /// limit is an [`Error::UnexpectedResponse`].
    pub async fn list_phone_numbers(
        &self,
        waba_id: &WabaId,
    ) -> Result<Vec<PhoneNumberRecord>, Error> {
        let trace = Trace::call(Operation::ListPhoneNumbers, waba_id.as_str());
        let mut all = Vec::new();
        let deadline = self.deadline();
        let scan = self.scan_phone_numbers(waba_id, &deadline, |page| {
            all.extend(page);
            false
        });
        let result = trace.run(scan).await;
        trace.finish(1, None, &result);
        result.map(|()| all)
    }

    /// Reads one number's status
    /// (`GET /{phone-number-id}?fields=id,display_phone_number,verified_name,status,code_verification_status,name_status,platform_type`).
    ///
    /// This is what the client reads to reconcile a session after a step
    /// whose outcome is unknown: `status: CONNECTED` means registered,
    /// `code_verification_status: VERIFIED` means the code was accepted.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn read_phone_number(
        &self,
        phone_number_id: &PhoneNumberId,
    ) -> Result<PhoneNumberRecord, Error> {
        let trace = Trace::call(Operation::ReadPhoneNumber, phone_number_id.as_str());
        let result = trace
            .run(self.read_number(phone_number_id, &self.deadline()))
            .await;
        trace.finish(1, None, &result);
        result
    }

    /// [`read_phone_number`](Self::read_phone_number)'s request and answer,
    /// its throttle wait ending by `deadline`.
    pub(in crate::client) async fn read_number(
        &self,
        phone_number_id: &PhoneNumberId,
        deadline: &Deadline,
    ) -> Result<PhoneNumberRecord, Error> {
        let operation = Operation::ReadPhoneNumber;
        let id = phone_number_id.as_str();
        // A field Graph refuses as nonexisting (some the crate reads are
        // missing from Meta's OpenAPI description) is dropped and the read
        // asked again: the record lacks it.
        let mut asked: Vec<&str> = number::FIELDS.split(',').collect();
        let (response, value) = loop {
            let fields = fields::joined(&asked);
            let query = [("fields", fields.as_str())];
            let response = self.send(operation, id, &query, None, deadline).await?;
            match decode(operation, &response, self.inner.clock.as_ref()) {
                Ok(value) => break (response, value),
                Err(error) => match fields::refused_field(&error, &asked)
                    .filter(|field| number::OPTIONAL_FIELDS.contains(field))
                {
                    Some(refused) => asked.retain(|field| *field != refused),
                    None => return Err(error),
                },
            }
        };
        // A record of another number is no answer to this read.
        PhoneNumberRecord::from_value(&value)
            .filter(|record| &record.id == phone_number_id)
            .ok_or_else(|| wire::shape_error(operation, &response))
    }

    /// Finds `phone` among the WABA's numbers. Every page is read: when the
    /// number is listed more than once (a stale object beside the live
    /// one), the most advanced listing wins — not gone (`DELETED`,
    /// `BANNED`, `MIGRATED`, `UNLINKED`), then connected, then verified.
    pub(in crate::client) async fn find_phone_number(
        &self,
        waba_id: &WabaId,
        phone: &PhoneNumber,
        deadline: &Deadline,
    ) -> Result<Option<PhoneNumberRecord>, Error> {
        let mut found: Option<PhoneNumberRecord> = None;
        let rank =
            |r: &PhoneNumberRecord| (r.gone().is_none(), r.is_connected(), r.is_code_verified());
        self.scan_phone_numbers(waba_id, deadline, |page| {
            for record in page {
                let matches = record
                    .display_phone_number
                    .as_deref()
                    .is_some_and(|d| phone.matches_display(d));
                // A gone listing (an old object: migrated away, deleted)
                // is no number to continue with.
                let live = record.gone().is_none();
                if matches && live && found.as_ref().is_none_or(|f| rank(&record) > rank(f)) {
                    found = Some(record);
                }
            }
            false
        })
        .await?;
        Ok(found)
    }

    /// Walks the pages until `visit` returns true or the pages end. A cursor
    /// seen before, or more than the page limit, is a typed error: a server
    /// that pages forever must not pass for a complete list.
    async fn scan_phone_numbers(
        &self,
        waba_id: &WabaId,
        deadline: &Deadline,
        mut visit: impl FnMut(Vec<PhoneNumberRecord>) -> bool,
    ) -> Result<(), Error> {
        let operation = Operation::ListPhoneNumbers;
        let mut after: Option<String> = None;
        let mut seen = HashSet::new();
        let mut last = None;
        // A field Graph refuses as nonexisting is dropped for this and the
        // next pages (see read_number); each refusal drops one, so the
        // page is asked at most once more per field.
        let mut asked: Vec<&str> = number::FIELDS.split(',').collect();
        let mut pages = 0;
        while pages < MAX_PAGES {
            let fields = fields::joined(&asked);
            let mut query = vec![("fields", fields.as_str()), ("limit", PAGE_SIZE)];
            if let Some(cursor) = after.as_deref() {
                query.push(("after", cursor));
            }
            let waba = waba_id.as_str();
            let response = self.send(operation, waba, &query, None, deadline).await?;
            let value = match decode(operation, &response, self.inner.clock.as_ref()) {
                Ok(value) => value,
                Err(error) => match fields::refused_field(&error, &asked)
                    .filter(|field| number::OPTIONAL_FIELDS.contains(field))
                {
                    Some(refused) => {
                        asked.retain(|field| *field != refused);
                        continue;
                    }
                    None => return Err(error),
                },
            };
            pages += 1;
            let page = parse_page(&value).ok_or_else(|| wire::shape_error(operation, &response))?;
            if visit(page.records) {
                return Ok(());
            }
            match page.after {
                Some(next) if !seen.insert(next.clone()) => {
                    return Err(paging_error(
                        operation,
                        &response,
                        UndecodableReason::RepeatedCursor,
                    ));
                }
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
            last = Some(response);
        }
        let response = last.unwrap_or_else(|| HttpResponse::new(200, Default::default(), ""));
        Err(paging_error(
            operation,
            &response,
            UndecodableReason::TooManyPages,
        ))
    }
}

fn paging_error(operation: Operation, response: &HttpResponse, reason: UndecodableReason) -> Error {
    UnexpectedResponse::new(operation, response.status, reason, &response.body, None).into()
}

/// How many numbers to ask for per page.
const PAGE_SIZE: &str = "100";
/// A guard against a server that pages forever: past this many pages the
/// look-up fails with a typed error instead of returning a partial list.
const MAX_PAGES: usize = 50;

/// One page: the records that could be read and the cursor to the next page.
struct Page {
    records: Vec<PhoneNumberRecord>,
    after: Option<String>,
}

/// Reads a page, skipping entries without a valid id. `None` when the body
/// has no `data` array.
fn parse_page(value: &Value) -> Option<Page> {
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
