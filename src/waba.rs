//! The destination WABA as the readiness check reads it.

use std::fmt;

use serde_json::Value;

use crate::meaning::StatusMeaning;
use crate::number::graph_enum;

/// The fields the readiness check reads
/// (`GET /{waba-id}?fields=…`, reference §5). `primary_funding_id` and
/// `on_behalf_of_business_info` are real Graph fields Meta's OpenAPI
/// description leaves out: a Graph that refuses one (error 100 "nonexisting
/// field") leaves only its own check unchecked.
pub(crate) const FIELDS: &[&str] = &[
    "id",
    "account_review_status",
    "business_verification_status",
    "primary_funding_id",
    "on_behalf_of_business_info",
];

graph_enum! {
    /// A WABA's `account_review_status`: Meta's review of the account, and
    /// what each value means for a port into it ([`meaning`](Self::meaning)).
    ///
    /// Meta's OpenAPI description (v23.0) names `APPROVED`, `PENDING`,
    /// `REJECTED`, `RESTRICTED` and `LIMIT_REACHED`; its webhook adds
    /// `DEFERRED`. Any other value is kept as sent ([`Other`](Self::Other)).
    ///
    /// | `account_review_status` | Meaning | Readiness |
    /// |---|---|---|
    /// | `APPROVED` | [`Proceed`](StatusMeaning::Proceed) | Nothing. |
    /// | `PENDING` | [`Wait`](StatusMeaning::Wait) | Blocker: Meta is reviewing the WABA; wait for its decision. |
    /// | `DEFERRED` | [`Wait`](StatusMeaning::Wait) | Blocker: Meta put the review off; wait for its decision. |
    /// | `REJECTED` | [`Blocker`](StatusMeaning::Blocker) | Blocker: fix what the review rejected and ask for another. |
    /// | `RESTRICTED` | [`Blocker`](StatusMeaning::Blocker) | Blocker: the WABA is restricted (a policy matter); resolve it in Business Support Home. |
    /// | `LIMIT_REACHED` | [`Blocker`](StatusMeaning::Blocker) | Blocker: the business reached a limit Meta sets; free or raise it. |
    /// | anything else | [`Unknown`](StatusMeaning::Unknown) | Blocker: never read as approved. |
    ///
    /// Every value but `APPROVED` is a blocker because Meta migrates numbers
    /// only into an approved WABA (the port would fail with
    /// [`ApiErrorKind::DestinationNotApproved`](crate::ApiErrorKind::DestinationNotApproved)).
    AccountReviewStatus {
        /// Approved: numbers can be migrated into it.
        Approved = "APPROVED",
        /// Under review.
        Pending = "PENDING",
        /// Rejected.
        Rejected = "REJECTED",
        /// Restricted (a policy matter).
        Restricted = "RESTRICTED",
        /// The business reached a limit Meta sets.
        LimitReached = "LIMIT_REACHED",
        /// The review was put off (Meta's webhook value).
        Deferred = "DEFERRED",
    }
}

impl AccountReviewStatus {
    /// What the value means for a port into the WABA (the table above).
    pub fn meaning(&self) -> StatusMeaning {
        match self {
            Self::Approved => StatusMeaning::Proceed,
            Self::Pending | Self::Deferred => StatusMeaning::Wait,
            Self::Rejected | Self::Restricted | Self::LimitReached => StatusMeaning::Blocker,
            Self::Other(_) => StatusMeaning::Unknown,
        }
    }
}

graph_enum! {
    /// A business's `business_verification_status`, and what each value
    /// means for a port ([`meaning`](Self::meaning)).
    ///
    /// Meta's OpenAPI description writes `VERIFIED`, `UNVERIFIED`, `PENDING`
    /// and `REJECTED`; real answers use lower case and more values
    /// (`verified`, `not_verified`, `pending_need_more_info`…). Both cases
    /// read the same ([`as_str`](Self::as_str) gives the lower-case form);
    /// any other value is kept as sent ([`Other`](Self::Other)).
    ///
    /// | `business_verification_status` | Meaning | Readiness |
    /// |---|---|---|
    /// | `verified` | [`Proceed`](StatusMeaning::Proceed) | Nothing. |
    /// | `pending` | [`Wait`](StatusMeaning::Wait) | Blocker: Meta is verifying the business; wait for its decision. |
    /// | `pending_need_more_info` | [`Blocker`](StatusMeaning::Blocker) | Blocker: Meta asks the business for more information. |
    /// | `pending_submission` | [`Blocker`](StatusMeaning::Blocker) | Blocker: the business has to submit its verification. |
    /// | `unverified`, `not_verified` | [`Blocker`](StatusMeaning::Blocker) | Blocker: the business must be verified. |
    /// | `rejected`, `failed`, `revoked`, `expired`, `ineligible` | [`Blocker`](StatusMeaning::Blocker) | Blocker: the business must be verified (again). |
    /// | anything else | [`Unknown`](StatusMeaning::Unknown) | Blocker: never read as verified. |
    BusinessVerificationStatus {
        /// Verification expired.
        Expired = "expired",
        /// Verification failed.
        Failed = "failed",
        /// Not eligible for verification.
        Ineligible = "ineligible",
        /// Never verified.
        NotVerified = "not_verified",
        /// Not verified (Meta's description: `UNVERIFIED`).
        Unverified = "unverified",
        /// In progress.
        Pending = "pending",
        /// Meta needs more information.
        PendingNeedMoreInfo = "pending_need_more_info",
        /// Waiting to be submitted.
        PendingSubmission = "pending_submission",
        /// Rejected.
        Rejected = "rejected",
        /// Revoked.
        Revoked = "revoked",
        /// Verified.
        Verified = "verified",
    }
}

impl BusinessVerificationStatus {
    /// What the value means for a port (the table above).
    pub fn meaning(&self) -> StatusMeaning {
        match self {
            Self::Verified => StatusMeaning::Proceed,
            Self::Pending => StatusMeaning::Wait,
            Self::PendingNeedMoreInfo
            | Self::PendingSubmission
            | Self::NotVerified
            | Self::Unverified
            | Self::Rejected
            | Self::Failed
            | Self::Revoked
            | Self::Expired
            | Self::Ineligible => StatusMeaning::Blocker,
            Self::Other(_) => StatusMeaning::Unknown,
        }
    }
}

/// A destination WABA's readiness fields, as read; every field may be
/// missing (not granted, not sent).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WabaRecord {
    /// `id`.
    pub id: Option<String>,
    /// `account_review_status`.
    pub account_review_status: Option<AccountReviewStatus>,
    /// `business_verification_status`.
    pub business_verification_status: Option<BusinessVerificationStatus>,
    /// `primary_funding_id`: the payment method, when one is attached.
    pub primary_funding_id: Option<String>,
    /// `on_behalf_of_business_info.id`: the business the WABA was made
    /// for (the one that must own the number being ported).
    pub on_behalf_of_business_id: Option<String>,
    /// `on_behalf_of_business_info.status`: `APPROVED` once the customer
    /// accepted the "message on behalf" request.
    pub on_behalf_of_status: Option<String>,
}

impl WabaRecord {
    /// Reads the answer leniently: wrong types are absent fields.
    pub(crate) fn from_value(value: &Value) -> Option<Self> {
        let map = value.as_object()?;
        let text = |key: &str| text_of(map.get(key));
        let info = map.get("on_behalf_of_business_info");
        let info_text = |key: &str| text_of(info?.get(key));
        let on_behalf_of_business_id = info_text("id");
        let on_behalf_of_status = info_text("status");
        Some(Self {
            id: text("id"),
            account_review_status: text("account_review_status")
                .map(|s| AccountReviewStatus::from_graph(&s)),
            business_verification_status: text("business_verification_status")
                .map(|s| BusinessVerificationStatus::from_graph(&s)),
            primary_funding_id: text("primary_funding_id"),
            on_behalf_of_business_id,
            on_behalf_of_status,
        })
    }
}

graph_enum! {
    /// The status of a "message on behalf" request: an entry of
    /// `GET /{waba-id}/in_progress_onbehalf_request` (Meta's OpenAPI
    /// description: `APPROVE`, `DECLINE`, `IN_PROGRESS`, `EXPIRED`,
    /// `PENDING`, `CANCELED`, `INVALID`), or the undocumented
    /// `on_behalf_of_business_info.status` of the WABA (`APPROVED`…), and
    /// what each value means for a port ([`meaning`](Self::meaning)): Meta
    /// migrates a number into a WABA made on behalf of the customer's
    /// business only once the customer approved the request.
    ///
    /// | Status | Meaning | Readiness |
    /// |---|---|---|
    /// | `APPROVE`, `APPROVED` | [`Proceed`](StatusMeaning::Proceed) | Nothing. |
    /// | `IN_PROGRESS`, `PENDING` | [`Blocker`](StatusMeaning::Blocker) | Blocker: the customer approves the request. |
    /// | `DECLINE` | [`Blocker`](StatusMeaning::Blocker) | Blocker: the customer declined; a new request must be sent and approved. |
    /// | `EXPIRED`, `CANCELED`, `INVALID` | [`Blocker`](StatusMeaning::Blocker) | Blocker: the request lapsed; a new one must be sent and approved. |
    /// | anything else | [`Unknown`](StatusMeaning::Unknown) | Blocker: never read as approved. |
    ///
    /// An empty list of requests in progress (and no status on the WABA)
    /// means nothing is waiting for approval: no finding.
    OnBehalfRequestStatus {
        /// Approved (the edge's spelling).
        Approve = "APPROVE",
        /// Approved (the spelling of `on_behalf_of_business_info.status`).
        Approved = "APPROVED",
        /// Declined by the customer.
        Decline = "DECLINE",
        /// Waiting for the customer.
        InProgress = "IN_PROGRESS",
        /// Waiting for the customer.
        Pending = "PENDING",
        /// Lapsed unanswered.
        Expired = "EXPIRED",
        /// Withdrawn.
        Canceled = "CANCELED",
        /// No longer valid.
        Invalid = "INVALID",
    }
}

impl OnBehalfRequestStatus {
    /// What the value means for a port (the table above).
    pub fn meaning(&self) -> StatusMeaning {
        match self {
            Self::Approve | Self::Approved => StatusMeaning::Proceed,
            Self::Decline
            | Self::InProgress
            | Self::Pending
            | Self::Expired
            | Self::Canceled
            | Self::Invalid => StatusMeaning::Blocker,
            Self::Other(_) => StatusMeaning::Unknown,
        }
    }

    /// Which of two statuses of requests on one WABA says most about the
    /// port: an approval, then a request waiting for the customer, then a
    /// refusal, then a lapsed one, then one this crate does not know.
    fn rank(&self) -> u8 {
        match self {
            Self::Approve | Self::Approved => 5,
            Self::InProgress | Self::Pending => 4,
            Self::Decline => 3,
            Self::Expired | Self::Canceled | Self::Invalid => 2,
            Self::Other(_) => 1,
        }
    }
}

/// The status that decides the "message on behalf" check among the
/// requests of one WABA ([`OnBehalfRequestStatus::rank`]); `None` for none.
pub(crate) fn deciding_request(
    requests: &[OnBehalfRequestStatus],
) -> Option<&OnBehalfRequestStatus> {
    requests.iter().max_by_key(|status| status.rank())
}

/// The statuses `GET /{waba-id}/in_progress_onbehalf_request` lists, or
/// `None` when it has no `data` array. An entry without a readable
/// `status` is kept as an unknown one (never read as approved).
pub(crate) fn on_behalf_requests(value: &Value) -> Option<Vec<OnBehalfRequestStatus>> {
    let data = value.get("data")?.as_array()?;
    Some(
        data.iter()
            .map(|entry| match text_of(entry.get("status")) {
                Some(status) => OnBehalfRequestStatus::from_graph(&status),
                None => OnBehalfRequestStatus::Other("(no status)".to_owned()),
            })
            .collect(),
    )
}

/// A non-empty string, or a number as text; anything else is absent.
fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// How many apps the `GET /{waba-id}/subscribed_apps` answer lists, or
/// `None` when it has no `data` array.
pub(crate) fn subscribed_apps(value: &Value) -> Option<usize> {
    value.get("data")?.as_array().map(Vec::len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_fields_leniently_and_keeps_unknown_values() {
        let record = WabaRecord::from_value(&json!({
            "id": "102290129340398",
            "account_review_status": "APPROVED",
            "business_verification_status": "pending_need_more_info",
            "primary_funding_id": 42,
            "on_behalf_of_business_info": {"id": "106540352242922", "name": "Acme", "status": "APPROVED", "type": "INTERNAL"}
        }))
        .unwrap();
        assert_eq!(
            record.account_review_status,
            Some(AccountReviewStatus::Approved)
        );
        assert_eq!(
            record.business_verification_status,
            Some(BusinessVerificationStatus::PendingNeedMoreInfo)
        );
        assert_eq!(record.primary_funding_id.as_deref(), Some("42"));
        assert_eq!(
            record.on_behalf_of_business_id.as_deref(),
            Some("106540352242922")
        );
        assert_eq!(record.on_behalf_of_status.as_deref(), Some("APPROVED"));

        let odd = WabaRecord::from_value(&json!({
            "account_review_status": "ESCALATED",
            "business_verification_status": 7,
            "primary_funding_id": "",
            "on_behalf_of_business_info": "x"
        }))
        .unwrap();
        assert_eq!(
            odd.account_review_status,
            Some(AccountReviewStatus::Other("ESCALATED".into()))
        );
        assert_eq!(
            odd.business_verification_status,
            Some(BusinessVerificationStatus::Other("7".into()))
        );
        assert_eq!(odd.primary_funding_id, None);
        assert_eq!(odd.on_behalf_of_business_id, None);
        assert_eq!(WabaRecord::from_value(&json!([1])), None);
    }

    #[test]
    fn counts_subscribed_apps() {
        assert_eq!(subscribed_apps(&json!({"data": []})), Some(0));
        assert_eq!(
            subscribed_apps(&json!({"data": [{"whatsapp_business_api_data": {"id": "1"}}]})),
            Some(1)
        );
        assert_eq!(subscribed_apps(&json!({"data": {}})), None);
    }
}
