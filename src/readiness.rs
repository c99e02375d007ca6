//! What a port needs before anybody is asked to act, checked up front.

use std::fmt;

use crate::kind::ApiErrorKind;
use crate::meaning::StatusMeaning;
use crate::number::{NameStatus, NumberStatus, PhoneNumberRecord};
use crate::session::NextAction;
use crate::state::NumberGone;
use crate::waba::{
    deciding_request, AccountReviewStatus, BusinessVerificationStatus, OnBehalfRequestStatus,
    WabaRecord,
};

/// One thing the readiness check looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReadinessCheck {
    /// At least one app subscribed to the destination WABA's webhooks.
    WebhookSubscription,
    /// Meta's review of the destination WABA (`account_review_status`).
    WabaReview,
    /// The business's verification (`business_verification_status`).
    BusinessVerification,
    /// A payment method on the destination WABA (`primary_funding_id`).
    PaymentMethod,
    /// The destination WABA was made for the business that owns the number
    /// (`on_behalf_of_business_info.id`).
    BusinessOwnership,
    /// The customer accepted the "message on behalf" request: the WABA's
    /// requests in progress (`GET /{waba-id}/in_progress_onbehalf_request`,
    /// the documented source), and `on_behalf_of_business_info.status` when
    /// Graph sends it (see [`OnBehalfRequestStatus`]).
    OnBehalfApproval,
    /// The number's display name (`name_status`), when the number can be
    /// read.
    DisplayName,
    /// No display-name change pending (`new_name_status` not
    /// `PENDING_REVIEW`), when the number can be read: Meta requires none
    /// pending for a port.
    DisplayNameChange,
    /// The number's `status` (see [`NumberStatus`]), when the number can be
    /// read: a number object gone (`BANNED`, `DELETED`…) blocks, one Meta
    /// limits for now (`FLAGGED`, `RATE_LIMITED`…) is a warning.
    PhoneNumberStatus,
}

impl ReadinessCheck {
    /// Every check, in the order the report lists them.
    pub const ALL: [Self; 9] = [
        Self::WebhookSubscription,
        Self::WabaReview,
        Self::BusinessVerification,
        Self::PaymentMethod,
        Self::BusinessOwnership,
        Self::OnBehalfApproval,
        Self::DisplayName,
        Self::DisplayNameChange,
        Self::PhoneNumberStatus,
    ];

    /// `snake_case` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WebhookSubscription => "webhook_subscription",
            Self::WabaReview => "waba_review",
            Self::BusinessVerification => "business_verification",
            Self::PaymentMethod => "payment_method",
            Self::BusinessOwnership => "business_ownership",
            Self::OnBehalfApproval => "on_behalf_approval",
            Self::DisplayName => "display_name",
            Self::DisplayNameChange => "display_name_change",
            Self::PhoneNumberStatus => "phone_number_status",
        }
    }
}

/// How much a finding stands in the way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// The port would fail: fix it first.
    Blocker,
    /// Worth a look; the port may still go through.
    Warning,
}

/// One finding of the readiness check.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadinessFinding {
    /// What was checked.
    pub check: ReadinessCheck,
    /// Blocker or warning.
    pub severity: Severity,
    /// The error the port would otherwise meet, when one is known.
    pub kind: Option<ApiErrorKind>,
    /// What was seen (`account_review_status is PENDING`).
    pub detail: String,
    /// What to do.
    pub remediation: &'static str,
}

/// A check the readiness check could not make, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotChecked {
    /// The check.
    pub check: ReadinessCheck,
    /// Why: Graph refused the field it reads (with Graph's message), the
    /// answer left the field out (not granted to the token), a read failed,
    /// or the session has no number to read yet.
    pub reason: String,
    /// The check is made once the port started (the session has no number
    /// to read yet): it does not count against
    /// [`is_ready`](ReadinessReport::is_ready). Any other check left
    /// unchecked does: what was not seen may block the port.
    pub once_started: bool,
}

/// The readiness check's findings: empty when nothing stands in the way.
///
/// Every [`ReadinessCheck`] is either in [`checked`](Self::checked) or in
/// [`not_checked`](Self::not_checked), with why. A field Graph refuses
/// (error 100 "nonexisting field": `primary_funding_id` and
/// `on_behalf_of_business_info` are real fields Meta's OpenAPI description
/// leaves out) leaves only the checks that read it unchecked; the rest is
/// read without it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadinessReport {
    /// Blockers first, then warnings.
    pub findings: Vec<ReadinessFinding>,
    /// The checks that could be made.
    pub checked: Vec<ReadinessCheck>,
    /// The checks that could not be made, each with why (a field refused
    /// by Graph or not granted to the token, a read that failed, a number
    /// not yet readable).
    pub not_checked: Vec<NotChecked>,
}

/// A field Graph refused, with its message: the checks that needed it are
/// left out ([`ReadinessReport::not_checked`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refused {
    /// The field, as the client asked for it.
    pub(crate) field: &'static str,
    /// Graph's message (`(#100) Tried accessing nonexisting field …`).
    pub(crate) message: String,
}

/// What the readiness check read: the pure input of
/// [`ReadinessReport::assess`].
#[derive(Debug)]
pub(crate) struct Readings<'a> {
    /// How many apps `GET /{waba-id}/subscribed_apps` lists.
    pub(crate) subscribed_apps: usize,
    /// The WABA's fields, as read.
    pub(crate) waba: &'a WabaRecord,
    /// The WABA fields Graph refused.
    pub(crate) waba_refused: &'a [Refused],
    /// The statuses of the WABA's "message on behalf" requests in
    /// progress, or why they could not be read.
    pub(crate) on_behalf_requests: Result<Vec<OnBehalfRequestStatus>, String>,
    /// The number, once the session has one to read.
    pub(crate) number: Option<NumberReading<'a>>,
    /// The business the session names (the one that owns the number).
    pub(crate) business_id: &'a str,
}

/// The number as the readiness check read it.
#[derive(Debug)]
pub(crate) struct NumberReading<'a> {
    /// Its fields, as read.
    pub(crate) record: &'a PhoneNumberRecord,
    /// The fields Graph refused.
    pub(crate) refused: &'a [Refused],
}

/// Why a field read from an answer is not there: refused (Graph's message)
/// or left out.
fn missing(refused: &[Refused], field: &str, node: &str) -> String {
    match refused.iter().find(|r| r.field == field) {
        Some(r) => format!("Graph refused `{field}` on the {node}: {}", r.message),
        None => format!(
            "the {node} read carried no `{field}` (a field not granted to the token is left out)"
        ),
    }
}

impl ReadinessReport {
    /// Whether nothing blocks the port: no blocker, and every check that
    /// can be made now was made (a check left unchecked because Graph
    /// refused its field, the token was not granted it or a read answered
    /// nothing may hide a blocker; the number's checks wait for the port to
    /// start).
    pub fn is_ready(&self) -> bool {
        self.blockers().next().is_none() && self.not_checked.iter().all(|n| n.once_started)
    }

    /// The blockers.
    pub fn blockers(&self) -> impl Iterator<Item = &ReadinessFinding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Blocker)
    }

    /// The warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &ReadinessFinding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
    }

    /// Why `check` was not made, if it was not.
    pub fn why_not_checked(&self, check: ReadinessCheck) -> Option<&str> {
        self.not_checked
            .iter()
            .find(|n| n.check == check)
            .map(|n| n.reason.as_str())
    }

    fn add(
        &mut self,
        check: ReadinessCheck,
        severity: Severity,
        kind: Option<ApiErrorKind>,
        detail: String,
        remediation: &'static str,
    ) {
        self.findings.push(ReadinessFinding {
            check,
            severity,
            kind,
            detail,
            remediation,
        });
    }

    fn skip(&mut self, check: ReadinessCheck, reason: String) {
        self.not_checked.push(NotChecked {
            check,
            reason,
            once_started: false,
        });
    }

    fn skip_until_started(&mut self, check: ReadinessCheck, reason: &str) {
        self.not_checked.push(NotChecked {
            check,
            reason: reason.to_owned(),
            once_started: true,
        });
    }

    /// Builds the report from what was read (pure: tested without I/O).
    pub(crate) fn assess(readings: &Readings<'_>) -> Self {
        use ReadinessCheck::*;
        let mut report = Self::default();
        let waba = readings.waba;
        let refused = readings.waba_refused;
        let node = "WABA";

        report.checked.push(WebhookSubscription);
        if readings.subscribed_apps == 0 {
            report.add(
                WebhookSubscription,
                Severity::Blocker,
                Some(ApiErrorKind::DestinationWebhookMissing),
                "no app is subscribed to the destination WABA's webhooks".into(),
                "Call PortingClient::subscribe_app(waba_id) (POST /{waba-id}/subscribed_apps): \
                 without it the port fails with \"Cannot migrate phone number.\" and a ported \
                 number receives nothing.",
            );
        }

        match &waba.account_review_status {
            Some(status) => {
                report.checked.push(WabaReview);
                if let Some(remediation) = review_remediation(status) {
                    report.add(
                        WabaReview,
                        Severity::Blocker,
                        Some(ApiErrorKind::DestinationNotApproved),
                        format!("account_review_status is {status} ({})", status.meaning()),
                        remediation,
                    );
                }
            }
            None => report.skip(WabaReview, missing(refused, "account_review_status", node)),
        }

        match &waba.business_verification_status {
            Some(status) => {
                report.checked.push(BusinessVerification);
                if let Some(remediation) = verification_remediation(status) {
                    report.add(
                        BusinessVerification,
                        Severity::Blocker,
                        None,
                        format!(
                            "business_verification_status is {status} ({})",
                            status.meaning()
                        ),
                        remediation,
                    );
                }
            }
            None => report.skip(
                BusinessVerification,
                missing(refused, "business_verification_status", node),
            ),
        }

        // An absent primary_funding_id means no payment method only when
        // the answer carried readiness fields at all (an ungranted field is
        // just absent) and Graph did not refuse it.
        let readable = waba.account_review_status.is_some()
            || waba.business_verification_status.is_some()
            || waba.primary_funding_id.is_some()
            || waba.on_behalf_of_business_id.is_some();
        let funding_refused = refused.iter().any(|r| r.field == "primary_funding_id");
        if funding_refused || !readable {
            report.skip(PaymentMethod, missing(refused, "primary_funding_id", node));
        } else {
            report.checked.push(PaymentMethod);
            if waba.primary_funding_id.is_none() {
                report.add(
                    PaymentMethod,
                    Severity::Warning,
                    None,
                    "no primary_funding_id on the destination WABA".into(),
                    "Meta's migration guide requires a payment method on the destination WABA: \
                     attach one (the field may also be hidden from this token).",
                );
            }
        }

        match &waba.on_behalf_of_business_id {
            Some(owner) => {
                report.checked.push(BusinessOwnership);
                if owner != readings.business_id {
                    report.add(
                        BusinessOwnership,
                        Severity::Blocker,
                        Some(ApiErrorKind::BusinessMismatch),
                        format!(
                            "the destination WABA was made for business {owner}, the session \
                             names {}",
                            readings.business_id
                        ),
                        "The destination WABA must be created for (or shared with) the business \
                         that owns the number: a new session with another business id sends the \
                         same request and fails the same way. Create the WABA on behalf of the \
                         number's business, or confirm which business owns the number.",
                    );
                }
            }
            None => report.skip(
                BusinessOwnership,
                missing(refused, "on_behalf_of_business_info", node),
            ),
        }

        report.assess_on_behalf(readings);

        match &readings.number {
            None => {
                let reason = "the session has no phone number id yet: the number is read once \
                              the port started";
                report.skip_until_started(DisplayName, reason);
                report.skip_until_started(DisplayNameChange, reason);
                report.skip_until_started(PhoneNumberStatus, reason);
            }
            Some(number) => report.assess_number(number),
        }

        report.findings.sort_by_key(|f| f.severity);
        report
    }

    /// The "message on behalf" check: `on_behalf_of_business_info.status`
    /// when Graph sends it, else the requests in progress.
    fn assess_on_behalf(&mut self, readings: &Readings<'_>) {
        let check = ReadinessCheck::OnBehalfApproval;
        let field = readings.waba.on_behalf_of_status.as_deref();
        let (status, source) = match (field, &readings.on_behalf_requests) {
            (Some(status), _) => (
                OnBehalfRequestStatus::from_graph(status),
                "on_behalf_of_business_info.status",
            ),
            (None, Ok(requests)) => {
                self.checked.push(check);
                // Nothing in progress: nothing waits for the customer.
                let Some(status) = deciding_request(requests) else {
                    return;
                };
                self.on_behalf_finding(status, "in_progress_onbehalf_request");
                return;
            }
            (None, Err(why)) => {
                let field = match readings
                    .waba_refused
                    .iter()
                    .find(|r| r.field == "on_behalf_of_business_info")
                {
                    Some(r) => format!("Graph refused `on_behalf_of_business_info`: {}", r.message),
                    None => "`on_behalf_of_business_info` carried no status".to_owned(),
                };
                self.skip(check, format!("{field}, and {why}"));
                return;
            }
        };
        self.checked.push(check);
        self.on_behalf_finding(&status, source);
    }

    fn on_behalf_finding(&mut self, status: &OnBehalfRequestStatus, source: &str) {
        if let Some(remediation) = on_behalf_remediation(status) {
            self.add(
                ReadinessCheck::OnBehalfApproval,
                Severity::Blocker,
                Some(ApiErrorKind::OnBehalfNotAccepted),
                format!(
                    "the \"message on behalf\" request is {status} ({}, {source})",
                    status.meaning()
                ),
                remediation,
            );
        }
    }

    /// The checks that read the number.
    fn assess_number(&mut self, number: &NumberReading<'_>) {
        use ReadinessCheck::*;
        let record = number.record;
        let node = "number";
        match &record.name_status {
            Some(status) => {
                self.checked.push(DisplayName);
                if let Some(remediation) = name_remediation(status) {
                    self.add(
                        DisplayName,
                        Severity::Blocker,
                        Some(ApiErrorKind::DisplayNameNotApproved),
                        format!("name_status is {status} ({})", status.meaning()),
                        remediation,
                    );
                }
            }
            None => self.skip(DisplayName, missing(number.refused, "name_status", node)),
        }
        match &record.new_name_status {
            Some(status) => {
                self.checked.push(DisplayNameChange);
                if let Some((severity, remediation)) = name_change_remediation(status) {
                    self.add(
                        DisplayNameChange,
                        severity,
                        None,
                        format!(
                            "new_name_status is {status}: a display-name change is {}",
                            if severity == Severity::Blocker {
                                "pending"
                            } else {
                                "in a state this crate does not know"
                            }
                        ),
                        remediation,
                    );
                }
            }
            None => self.skip(
                DisplayNameChange,
                missing(number.refused, "new_name_status", node),
            ),
        }
        match &record.status {
            Some(status) => {
                self.checked.push(PhoneNumberStatus);
                if let Some((severity, remediation)) = number_status_remediation(status) {
                    self.add(
                        PhoneNumberStatus,
                        severity,
                        None,
                        format!("status is {status} ({})", status.meaning()),
                        remediation,
                    );
                }
            }
            None => self.skip(PhoneNumberStatus, missing(number.refused, "status", node)),
        }
    }
}

/// What a display-name change in `status` means for the port (`None`:
/// none pending).
fn name_change_remediation(status: &NameStatus) -> Option<(Severity, &'static str)> {
    match status {
        NameStatus::PendingReview => Some((
            Severity::Blocker,
            "Meta requires no display-name change pending before a port: wait for Meta's review \
             of the new name to end (or have the customer withdraw the change in WhatsApp \
             Manager), then port.",
        )),
        NameStatus::Other(_) => Some((
            Severity::Warning,
            "Meta reports a display-name change status this crate does not know: Meta requires \
             no change pending before a port. Check the number in WhatsApp Manager.",
        )),
        // Approved, declined, expired or none: nothing is pending.
        _ => None,
    }
}

/// What to do about a "message on behalf" request that is not approved
/// (`None`: nothing).
fn on_behalf_remediation(status: &OnBehalfRequestStatus) -> Option<&'static str> {
    use OnBehalfRequestStatus::*;
    Some(match status {
        Approve | Approved => return None,
        InProgress | Pending => {
            "The customer approves the \"message on behalf\" (Messaging For) request in Meta \
             Business Manager (Business settings, Requests); then the port can start."
        }
        Decline => {
            "The customer declined the \"message on behalf\" request: send a new one (create \
             the WABA on behalf of the customer's business again) and have the customer approve \
             it in Meta Business Manager; then the port can start."
        }
        Expired | Canceled | Invalid => {
            "The \"message on behalf\" request lapsed (expired, canceled or invalid): send a new \
             one and have the customer approve it in Meta Business Manager; then the port can \
             start."
        }
        Other(_) => {
            "Meta reports a \"message on behalf\" request status this crate does not know: only \
             an approved request lets the port start. Check the request in Meta Business \
             Manager (Business settings, Requests)."
        }
    })
}

/// How much a number's `status` stands in the way, and what to do
/// (`None`: nothing).
fn number_status_remediation(status: &NumberStatus) -> Option<(Severity, &'static str)> {
    match status.meaning() {
        StatusMeaning::Done | StatusMeaning::Proceed => None,
        StatusMeaning::Gone => Some((
            Severity::Blocker,
            match status.gone() {
                Some(NumberGone::Banned) => NextAction::AppealBan.remediation(),
                _ => NextAction::StartOver.remediation(),
            },
        )),
        StatusMeaning::Wait => Some((
            Severity::Warning,
            "Meta limits the number for now (quality flagged, restricted or rate limited): the \
             port can go on, but the number cannot send freely until Meta lifts it.",
        )),
        _ => Some((
            Severity::Warning,
            "Meta reports a number status this crate does not know: it is not read as \
             registered. Check the number in WhatsApp Manager.",
        )),
    }
}

/// What to do about a WABA review that is not `APPROVED` (`None`: nothing).
fn review_remediation(status: &AccountReviewStatus) -> Option<&'static str> {
    Some(match status {
        AccountReviewStatus::Approved => return None,
        AccountReviewStatus::Pending | AccountReviewStatus::Deferred => {
            "Meta is reviewing the destination WABA (or put its review off): nothing to do but \
             wait for its decision and check again; Meta migrates numbers only into an approved \
             WABA."
        }
        AccountReviewStatus::Rejected => {
            "Meta's review rejected the destination WABA: fix what the review named and ask for \
             another review in WhatsApp Manager, or port into another, approved WABA."
        }
        AccountReviewStatus::Restricted => {
            "The destination WABA is restricted (a policy matter): see Business Support Home for \
             why and appeal there; no number can be migrated into it meanwhile, or port into \
             another, approved WABA."
        }
        AccountReviewStatus::LimitReached => {
            "The business reached a limit Meta sets (LIMIT_REACHED): remove what it no longer \
             needs or ask Meta to raise the limit, then port."
        }
        AccountReviewStatus::Other(_) => {
            "Meta reports a review status this crate does not know: only APPROVED lets a \
             migration in. Check the destination WABA in WhatsApp Manager."
        }
    })
}

/// What to do about a business that is not verified (`None`: nothing).
fn verification_remediation(status: &BusinessVerificationStatus) -> Option<&'static str> {
    use BusinessVerificationStatus::*;
    Some(match status {
        Verified => return None,
        Pending => {
            "Meta is verifying the business: nothing to do but wait for its decision and check \
             again; Meta's migration guide requires a verified business."
        }
        PendingNeedMoreInfo => {
            "Meta asked the business for more information to verify it: provide it in Meta \
             Business Manager (Security Centre); Meta's migration guide requires a verified \
             business."
        }
        PendingSubmission => {
            "The business's verification is not submitted yet: submit it in Meta Business \
             Manager (Security Centre); Meta's migration guide requires a verified business."
        }
        NotVerified | Unverified | Rejected | Failed | Revoked | Expired | Ineligible => {
            "Meta's migration guide requires a verified business: complete business \
             verification in Meta Business Manager (Security Centre) first."
        }
        Other(_) => {
            "Meta reports a verification status this crate does not know: only a verified \
             business can port. Check the business in Meta Business Manager (Security Centre)."
        }
    })
}

/// What to do about a display name that is not approved (`None`: nothing).
fn name_remediation(status: &NameStatus) -> Option<&'static str> {
    Some(match status {
        NameStatus::Approved | NameStatus::AvailableWithoutReview => return None,
        NameStatus::PendingReview => {
            "Meta is reviewing the number's display name: wait for its decision, then the port \
             can go on."
        }
        NameStatus::Declined => {
            "Meta declined the number's display name: the customer submits a name that follows \
             Meta's display name guidelines in WhatsApp Manager, then the port can go on once it \
             is approved."
        }
        NameStatus::Expired => {
            "The display name's certificate expired: the customer renews the name in WhatsApp \
             Manager, then the port can go on once it is approved."
        }
        NameStatus::None => {
            "The number has no display name: the customer submits one in WhatsApp Manager, then \
             the port can go on once it is approved."
        }
        NameStatus::Other(_) => {
            "Meta reports a display name status this crate does not know: the port needs an \
             approved name. Check the number in WhatsApp Manager."
        }
    })
}

impl fmt::Display for ReadinessReport {
    /// The verdict with what was checked, then one line per finding
    /// (`blocker  webhook_subscription: …`) and its fix, then one line per
    /// check not made (`unchecked payment_method: …`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let checked: Vec<&str> = self.checked.iter().map(|c| c.as_str()).collect();
        let verdict = if !self.is_ready() {
            "not ready"
        } else if self.findings.is_empty() {
            "ready"
        } else {
            "ready, with warnings"
        };
        write!(f, "{verdict} (checked: {})", checked.join(", "))?;
        for finding in &self.findings {
            let severity = match finding.severity {
                Severity::Blocker => "blocker",
                Severity::Warning => "warning",
            };
            write!(
                f,
                "\n  {severity:<8} {}: {}",
                finding.check.as_str(),
                finding.detail
            )?;
            write!(f, "\n           fix: {}", finding.remediation)?;
        }
        for skipped in &self.not_checked {
            write!(
                f,
                "\n  unchecked {}: {}",
                skipped.check.as_str(),
                skipped.reason
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn waba(review: &str, verification: &str, funding: bool, owner: &str) -> WabaRecord {
        WabaRecord {
            id: Some("1".into()),
            account_review_status: Some(AccountReviewStatus::from_graph(review)),
            business_verification_status: Some(BusinessVerificationStatus::from_graph(
                verification,
            )),
            primary_funding_id: funding.then(|| "9".into()),
            on_behalf_of_business_id: Some(owner.into()),
            on_behalf_of_status: Some("APPROVED".into()),
        }
    }

    fn number(name_status: &str) -> PhoneNumberRecord {
        PhoneNumberRecord::from_value(&json!({
            "id": "110200345501442", "status": "PENDING", "name_status": name_status,
            "new_name_status": "NONE"
        }))
        .unwrap()
    }

    fn readings<'a>(
        apps: usize,
        waba: &'a WabaRecord,
        number: Option<&'a PhoneNumberRecord>,
    ) -> Readings<'a> {
        Readings {
            subscribed_apps: apps,
            waba,
            waba_refused: &[],
            on_behalf_requests: Ok(Vec::new()),
            number: number.map(|record| NumberReading {
                record,
                refused: &[],
            }),
            business_id: "77",
        }
    }

    #[test]
    fn everything_in_order_is_ready() {
        let w = waba("APPROVED", "verified", true, "77");
        let n = number("APPROVED");
        let report = ReadinessReport::assess(&readings(1, &w, Some(&n)));
        assert!(report.is_ready());
        assert!(report.findings.is_empty());
        assert_eq!(report.checked, ReadinessCheck::ALL);
        assert!(report.not_checked.is_empty());
        assert!(report.to_string().starts_with("ready (checked: "));
    }

    #[test]
    fn each_blocker_names_the_error_it_would_cause() {
        let w = waba("PENDING", "pending", false, "88");
        let n = number("PENDING_REVIEW");
        let report = ReadinessReport::assess(&readings(0, &w, Some(&n)));
        assert!(!report.is_ready());
        let kinds: Vec<_> = report.blockers().map(|f| f.kind).collect();
        assert_eq!(
            kinds,
            vec![
                Some(ApiErrorKind::DestinationWebhookMissing),
                Some(ApiErrorKind::DestinationNotApproved),
                None,
                Some(ApiErrorKind::BusinessMismatch),
                Some(ApiErrorKind::DisplayNameNotApproved),
            ]
        );
        // A missing payment method is a warning only.
        let warnings: Vec<_> = report.warnings().map(|f| f.check).collect();
        assert_eq!(warnings, vec![ReadinessCheck::PaymentMethod]);
        let shown = report.to_string();
        assert!(shown.starts_with("not ready"), "{shown}");
        assert!(shown.contains("subscribe_app"), "{shown}");
    }

    #[test]
    fn unread_fields_leave_their_checks_out_with_why() {
        let w = WabaRecord::from_value(&json!({"id": "1"})).unwrap();
        let refused = [Refused {
            field: "primary_funding_id",
            message: "(#100) Tried accessing nonexisting field (primary_funding_id)".into(),
        }];
        let report = ReadinessReport::assess(&Readings {
            waba_refused: &refused,
            on_behalf_requests: Err("the edge failed".into()),
            ..readings(1, &w, None)
        });
        // No blocker seen, but what was not seen may block: not ready.
        assert!(!report.is_ready());
        assert!(report.blockers().next().is_none());
        assert_eq!(report.checked, vec![ReadinessCheck::WebhookSubscription]);
        // Every other check is out, each with why.
        let out: Vec<_> = report.not_checked.iter().map(|n| n.check).collect();
        assert_eq!(out, ReadinessCheck::ALL[1..]);
        let why = report
            .why_not_checked(ReadinessCheck::PaymentMethod)
            .unwrap();
        assert!(why.contains("nonexisting field"), "{why}");
        let why = report.why_not_checked(ReadinessCheck::WabaReview).unwrap();
        assert!(why.contains("not granted"), "{why}");
        let why = report
            .why_not_checked(ReadinessCheck::OnBehalfApproval)
            .unwrap();
        assert!(why.contains("the edge failed"), "{why}");
        let shown = report.to_string();
        assert!(shown.contains("unchecked payment_method: "), "{shown}");
    }

    #[test]
    fn the_on_behalf_check_reads_the_field_status_else_the_requests() {
        let mut w = waba("APPROVED", "verified", true, "77");
        let blocker = |report: &ReadinessReport| {
            report
                .blockers()
                .find(|f| f.check == ReadinessCheck::OnBehalfApproval)
                .map(|f| f.detail.clone())
        };
        // The field decides when Graph sends it.
        w.on_behalf_of_status = Some("PENDING".into());
        let report = ReadinessReport::assess(&readings(1, &w, None));
        assert!(blocker(&report)
            .unwrap()
            .contains("on_behalf_of_business_info.status"));
        // Without it, the requests in progress do.
        w.on_behalf_of_status = None;
        let with = |requests: &[&str]| {
            let requests = requests
                .iter()
                .map(|s| OnBehalfRequestStatus::from_graph(s))
                .collect();
            ReadinessReport::assess(&Readings {
                on_behalf_requests: Ok(requests),
                ..readings(1, &w, None)
            })
        };
        assert_eq!(blocker(&with(&[])), None, "nothing in progress");
        assert_eq!(blocker(&with(&["APPROVE", "EXPIRED"])), None);
        let detail = blocker(&with(&["EXPIRED", "IN_PROGRESS"])).unwrap();
        assert!(detail.contains("IN_PROGRESS"), "{detail}");
        assert!(detail.contains("in_progress_onbehalf_request"), "{detail}");
        assert!(blocker(&with(&["DECLINE"])).unwrap().contains("DECLINE"));
        assert!(blocker(&with(&["SOMETHING_NEW"])).is_some());
        assert!(with(&[])
            .checked
            .contains(&ReadinessCheck::OnBehalfApproval));
    }
}
