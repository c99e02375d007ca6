//! What a port needs before anybody is asked to act, checked up front.

use std::fmt;

use crate::kind::ApiErrorKind;
use crate::number::NameStatus;
use crate::waba::{AccountReviewStatus, BusinessVerificationStatus, WabaRecord};

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
    /// The customer accepted the "message on behalf" request
    /// (`on_behalf_of_business_info.status`).
    OnBehalfApproval,
    /// The number's display name (`name_status`), when the number can be
    /// read.
    DisplayName,
}

impl ReadinessCheck {
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

/// The readiness check's findings: empty when nothing stands in the way.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadinessReport {
    /// Blockers first, then warnings.
    pub findings: Vec<ReadinessFinding>,
    /// The checks that could be made (a field not granted to the token, or
    /// a number not yet readable, leaves its check out).
    pub checked: Vec<ReadinessCheck>,
}

impl ReadinessReport {
    /// Whether nothing blocks the port.
    pub fn is_ready(&self) -> bool {
        self.blockers().next().is_none()
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

    /// Builds the report from what was read (pure: tested without I/O).
    pub(crate) fn assess(
        subscribed_apps: Option<usize>,
        waba: Option<&WabaRecord>,
        business_id: &str,
        name_status: Option<&NameStatus>,
    ) -> Self {
        use ReadinessCheck::*;
        let mut report = Self::default();
        if let Some(apps) = subscribed_apps {
            report.checked.push(WebhookSubscription);
            if apps == 0 {
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
        }
        if let Some(waba) = waba {
            if let Some(status) = &waba.account_review_status {
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
            if let Some(status) = &waba.business_verification_status {
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
            // Only an answer that carried readiness fields says anything
            // about the payment method (an ungranted field is just absent).
            let readable = waba.account_review_status.is_some()
                || waba.business_verification_status.is_some()
                || waba.primary_funding_id.is_some()
                || waba.on_behalf_of_business_id.is_some();
            if readable {
                report.checked.push(PaymentMethod);
            }
            if readable && waba.primary_funding_id.is_none() {
                report.add(
                    PaymentMethod,
                    Severity::Warning,
                    None,
                    "no primary_funding_id on the destination WABA".into(),
                    "Meta's migration guide requires a payment method on the destination WABA: \
                     attach one (the field may also be hidden from this token).",
                );
            }
            if let Some(owner) = &waba.on_behalf_of_business_id {
                report.checked.push(BusinessOwnership);
                if owner != business_id {
                    report.add(
                        BusinessOwnership,
                        Severity::Blocker,
                        Some(ApiErrorKind::BusinessMismatch),
                        format!(
                            "the destination WABA was made for business {owner}, the session \
                             names {business_id}"
                        ),
                        "The destination WABA must be created for (or shared with) the business \
                         that owns the number: a new session with another business id sends the \
                         same request and fails the same way. Create the WABA on behalf of the \
                         number's business, or confirm which business owns the number.",
                    );
                }
            }
        }
        if let Some(status) = waba.and_then(|w| w.on_behalf_of_status.as_ref()) {
            report.checked.push(OnBehalfApproval);
            if !status.eq_ignore_ascii_case("APPROVED") {
                report.add(
                    OnBehalfApproval,
                    Severity::Blocker,
                    Some(ApiErrorKind::OnBehalfNotAccepted),
                    format!("the \"message on behalf\" request is {status}"),
                    "The customer approves the \"message on behalf\" (Messaging For) request in \
                     Meta Business Manager; then the port can start.",
                );
            }
        }
        if let Some(status) = name_status {
            report.checked.push(DisplayName);
            if let Some(remediation) = name_remediation(status) {
                report.add(
                    DisplayName,
                    Severity::Blocker,
                    Some(ApiErrorKind::DisplayNameNotApproved),
                    format!("name_status is {status} ({})", status.meaning()),
                    remediation,
                );
            }
        }
        report.findings.sort_by_key(|f| f.severity);
        report
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
    /// One line per finding (`blocker  webhook_subscription: …`), or
    /// `ready` with what was checked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let checked: Vec<&str> = self.checked.iter().map(|c| c.as_str()).collect();
        if self.findings.is_empty() {
            return write!(f, "ready (checked: {})", checked.join(", "));
        }
        let verdict = if self.is_ready() {
            "ready, with warnings"
        } else {
            "not ready"
        };
        writeln!(f, "{verdict} (checked: {})", checked.join(", "))?;
        for finding in &self.findings {
            let severity = match finding.severity {
                Severity::Blocker => "blocker",
                Severity::Warning => "warning",
            };
            writeln!(
                f,
                "  {severity:<8} {}: {}",
                finding.check.as_str(),
                finding.detail
            )?;
            writeln!(f, "           fix: {}", finding.remediation)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn everything_in_order_is_ready() {
        let w = waba("APPROVED", "verified", true, "77");
        let report = ReadinessReport::assess(Some(1), Some(&w), "77", Some(&NameStatus::Approved));
        assert!(report.is_ready());
        assert!(report.findings.is_empty());
        assert_eq!(report.checked.len(), 7);
        assert!(report.to_string().starts_with("ready (checked: "));
    }

    #[test]
    fn each_blocker_names_the_error_it_would_cause() {
        let w = waba("PENDING", "pending", false, "88");
        let report =
            ReadinessReport::assess(Some(0), Some(&w), "77", Some(&NameStatus::PendingReview));
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
    fn unread_fields_leave_their_checks_out() {
        let report = ReadinessReport::assess(None, None, "77", None);
        assert!(report.is_ready());
        assert!(report.checked.is_empty());
    }
}
