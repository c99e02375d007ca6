//! [`check_readiness`](PortingClient::check_readiness): what the port
//! needs from the destination WABA and the number, read before anybody is
//! asked to act. Only reads; a check Graph will not answer is left out
//! with why, and the rest is still read. The report itself is assessed by
//! `crate::readiness` from what is read here.

use std::ops::ControlFlow;

use serde_json::Value;

use super::{wire, PortingClient};
use crate::error::{decode, Error};
use crate::ids::PhoneNumberId;
use crate::number::{self, PhoneNumberRecord};
use crate::operation::Operation;
use crate::readiness::{NumberReading, ReadinessReport, Readings};
use crate::retry_policy::Deadline;
use crate::session::PortingSession;
use crate::telemetry::Trace;
use crate::waba::WabaRecord;

impl PortingClient {
    /// Checks, before anybody is asked to act, what the port needs from
    /// the destination WABA and the session: an app subscribed to the
    /// WABA's webhooks (`GET /{waba-id}/subscribed_apps`), Meta's review of
    /// the WABA, the business's verification, a payment method, that the
    /// WABA was made for the business that owns the number
    /// (`GET /{waba-id}?fields=id,account_review_status,business_verification_status,primary_funding_id,on_behalf_of_business_info`),
    /// that the customer approved the "message on behalf" request
    /// (`GET /{waba-id}/in_progress_onbehalf_request`, and the WABA's
    /// `on_behalf_of_business_info.status` when Graph sends it), and — once
    /// the session has a phone number id — the number's display name, that
    /// no display-name change is pending, and its status
    /// (`GET /{phone-number-id}?fields=id,status,name_status,new_name_status`). Each
    /// blocker names the error the port would meet and what to do; nothing
    /// is changed.
    ///
    /// A check Graph will not answer is left out with why
    /// ([`ReadinessReport::not_checked`]), and the rest is still read: a
    /// field Graph refuses (error 100 "nonexisting field", as it may answer
    /// `primary_funding_id` or `on_behalf_of_business_info`, real fields
    /// Meta's OpenAPI description leaves out) is left out of a second
    /// request — or, when its message does not say which field, each field
    /// is read alone — and a refused or unreadable list of "message on
    /// behalf" requests leaves only that check out.
    ///
    /// # Errors
    /// A read that fails otherwise (a token without the permission to read
    /// the WABA is an [`Error::Api`]).
    pub async fn check_readiness(
        &self,
        session: &PortingSession,
    ) -> Result<ReadinessReport, Error> {
        let client = self.for_session(session);
        loop {
            let trace = Trace::call(Operation::ReadWaba, session.target_waba_id().as_str());
            let result = trace.run(client.readiness(session)).await;
            trace.finish(1, None, &result);
            if let ControlFlow::Break(result) = client.after_call(result).await {
                return result;
            }
        }
    }

    /// [`check_readiness`](Self::check_readiness)'s reads.
    async fn readiness(&self, session: &PortingSession) -> Result<ReadinessReport, Error> {
        let deadline = &self.deadline();
        // The WABA the number moves into (a solution migration's new one
        // once the customer accepted).
        let waba = session.target_waba_id().as_str();
        let operation = Operation::ListSubscribedApps;
        let response = self.send(operation, waba, &[], None, deadline).await?;
        let value = decode(operation, &response, self.inner.clock.as_ref())?;
        let apps = crate::waba::subscribed_apps(&value)
            .ok_or_else(|| wire::shape_error(operation, &response))?;

        let operation = Operation::ReadWaba;
        let read = self
            .read_fields(operation, waba, crate::waba::FIELDS, deadline)
            .await?;
        // A record of another WABA is no answer about this one.
        let record = WabaRecord::from_value(&read.value)
            .filter(|record| record.id.as_deref().is_none_or(|id| id == waba))
            .ok_or_else(|| wire::shape_error(operation, &read.response))?;

        let on_behalf_requests = self.on_behalf_requests(waba, deadline).await?;

        let number = match session.state().phone_number_id() {
            Some(id) => {
                let operation = Operation::ReadPhoneNumber;
                let fields = number::READINESS_FIELDS;
                let read = self
                    .read_fields(operation, id.as_str(), fields, deadline)
                    .await?;
                // Only the number asked about answers for it.
                let record = PhoneNumberRecord::from_value(&read.value)
                    .filter(|record| &record.id == id)
                    .or_else(|| empty_record(&read.value, id))
                    .ok_or_else(|| wire::shape_error(operation, &read.response))?;
                Some((record, read.refused))
            }
            None => None,
        };
        Ok(ReadinessReport::assess(&Readings {
            subscribed_apps: apps,
            waba: &record,
            waba_refused: &read.refused,
            on_behalf_requests,
            number: number
                .as_ref()
                .map(|(record, refused)| NumberReading { record, refused }),
            business_id: session.business_id().as_str(),
        }))
    }

    /// The statuses of the WABA's "message on behalf" requests in progress
    /// (`GET /{waba-id}/in_progress_onbehalf_request`), or why they could
    /// not be read: an answer Graph refused (a token without the
    /// permission, an edge it does not serve) or could not be read leaves
    /// only that check out. A failure to send, a wait or a cancel is the
    /// check's error.
    async fn on_behalf_requests(
        &self,
        waba: &str,
        deadline: &Deadline,
    ) -> Result<Result<Vec<crate::waba::OnBehalfRequestStatus>, String>, Error> {
        let operation = Operation::ListOnBehalfRequests;
        let edge = "GET /{waba-id}/in_progress_onbehalf_request";
        let read = async {
            let response = self.send(operation, waba, &[], None, deadline).await?;
            let value = decode(operation, &response, self.inner.clock.as_ref())?;
            crate::waba::on_behalf_requests(&value)
                .ok_or_else(|| wire::shape_error(operation, &response))
        };
        match read.await {
            Ok(requests) => Ok(Ok(requests)),
            Err(error @ (Error::Api(_) | Error::UnexpectedResponse(_))) => {
                Ok(Err(format!("{edge} failed: {error}")))
            }
            Err(error) => Err(error),
        }
    }
}

/// A number read that answered no `id` (every field refused but `id`…
/// or an answer of the merged one-at-a-time reads without one): the
/// number asked about, with nothing known of it. Another `id` is no
/// answer about it.
fn empty_record(value: &Value, id: &PhoneNumberId) -> Option<PhoneNumberRecord> {
    let map = value.as_object()?;
    if map.contains_key("id") {
        return None;
    }
    let mut with_id = map.clone();
    with_id.insert("id".into(), Value::String(id.as_str().to_owned()));
    PhoneNumberRecord::from_value(&Value::Object(with_id))
}
