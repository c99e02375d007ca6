//! A phone number as the Graph API describes it: the record the WABA's list
//! (`GET /{waba-id}/phone_numbers`) and the number read
//! (`GET /{phone-number-id}`) return.
//!
//! The status fields are enums that keep any value this crate does not know
//! (`Other`), so a new value from Meta is never fatal.

use std::fmt;

use serde_json::Value;

use crate::ids::PhoneNumberId;
use crate::meaning::StatusMeaning;
use crate::state::{NumberGone, Observed};

/// The fields the client asks for when it reads or lists numbers.
pub(crate) const FIELDS: &str =
    "id,display_phone_number,verified_name,status,code_verification_status,name_status,platform_type";

/// The fields of [`FIELDS`] a read may go without when Graph refuses them
/// as nonexisting (real fields Meta's OpenAPI description leaves out); the
/// others are what a read is for: refused, the read fails (a WABA id read
/// as a number is refused on them, and must not pass for a number).
pub(crate) const OPTIONAL_FIELDS: &[&str] = &["platform_type", "name_status"];

/// The fields the readiness check reads from the number. A field Graph
/// refuses leaves only its own check unchecked.
/// `new_name_status` is a real Graph field Meta's OpenAPI description
/// leaves out.
pub(crate) const READINESS_FIELDS: &[&str] = &["id", "status", "name_status", "new_name_status"];

/// One phone number of a WABA, as Graph describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PhoneNumberRecord {
    /// The phone number id.
    pub id: PhoneNumberId,
    /// The number as Meta displays it (`+1 415-555-0123`).
    pub display_phone_number: Option<String>,
    /// The approved display name.
    pub verified_name: Option<String>,
    /// Whether the number can send (`CONNECTED`) or where it stands.
    pub status: Option<NumberStatus>,
    /// Whether ownership was verified with a code.
    pub code_verification_status: Option<CodeVerificationStatus>,
    /// The review state of the display name.
    pub name_status: Option<NameStatus>,
    /// The review state of a display-name change (`new_name_status`, a real
    /// Graph field Meta's OpenAPI description leaves out; read by the
    /// readiness check only): `PENDING_REVIEW` is a change pending, which
    /// Meta requires there be none of for a port.
    pub new_name_status: Option<NameStatus>,
    /// `CLOUD_API`, `ON_PREMISE`, `NOT_APPLICABLE`… kept as sent.
    pub platform_type: Option<String>,
}

impl PhoneNumberRecord {
    /// Reads a record from a JSON object; `None` without a valid `id`.
    /// Missing or odd-typed fields are `None`; unknown values are kept.
    pub(crate) fn from_value(value: &Value) -> Option<Self> {
        let text = |key: &str| value.get(key).and_then(Value::as_str);
        let owned = |key: &str| text(key).map(str::to_owned);
        Some(Self {
            id: id_of(value)?,
            display_phone_number: owned("display_phone_number"),
            verified_name: owned("verified_name"),
            status: text("status").map(NumberStatus::from_graph),
            code_verification_status: text("code_verification_status")
                .map(CodeVerificationStatus::from_graph),
            name_status: text("name_status").map(NameStatus::from_graph),
            new_name_status: text("new_name_status").map(NameStatus::from_graph),
            platform_type: owned("platform_type"),
        })
    }

    /// Whether the number is registered and can send (`status: CONNECTED`;
    /// no other value, known or not, reads as registered).
    pub fn is_connected(&self) -> bool {
        self.status == Some(NumberStatus::Connected)
    }

    /// Whether `platform_type` says the number is registered on a platform
    /// (`CLOUD_API`, `ON_PREMISE`): a register went through, even while
    /// `status` is not `CONNECTED` yet.
    pub fn is_on_platform(&self) -> bool {
        self.platform_type.as_deref().is_some_and(|platform| {
            platform.eq_ignore_ascii_case("CLOUD_API")
                || platform.eq_ignore_ascii_case("ON_PREMISE")
        })
    }

    /// Whether `platform_type` says the number is on no platform
    /// (`NOT_APPLICABLE`): not registered.
    pub(crate) fn is_off_platform(&self) -> bool {
        self.platform_type
            .as_deref()
            .is_some_and(|platform| platform.eq_ignore_ascii_case("NOT_APPLICABLE"))
    }

    /// Whether ownership was verified with a code
    /// (`code_verification_status: VERIFIED`).
    pub fn is_code_verified(&self) -> bool {
        self.code_verification_status == Some(CodeVerificationStatus::Verified)
    }

    /// Why the number object will never carry the port, when its `status`
    /// says so (`DELETED`, `BANNED`, `MIGRATED`, `UNLINKED`: see
    /// [`NumberStatus`]).
    pub fn gone(&self) -> Option<NumberGone> {
        self.status.as_ref().and_then(NumberStatus::gone)
    }

    /// What this read shows the state machine: connected, code verified,
    /// code expired, gone.
    pub(crate) fn observed(&self) -> Observed {
        Observed::new(self.is_connected(), self.is_code_verified())
            .with_code_expired(
                self.code_verification_status == Some(CodeVerificationStatus::Expired),
            )
            .with_gone(self.gone())
    }
}

/// `{"id": "…"}` as a string or a number.
pub(crate) fn id_of(value: &Value) -> Option<PhoneNumberId> {
    id_value(value.get("id")?)
}

/// An `id` member's value as an id (a string, or a number).
pub(crate) fn id_value(id: &Value) -> Option<PhoneNumberId> {
    PhoneNumberId::new(id_text(id)?).ok()
}

/// A Graph id as text, sent as a string or a number.
pub(crate) fn id_text(id: &Value) -> Option<String> {
    match id {
        Value::String(id) => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// Declares a Graph string enum that keeps unknown values.
macro_rules! graph_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this crate does not know, as sent.
            Other(String),
        }

        impl $name {
            /// Reads Meta's value (case-insensitive, as a webhook or a read
            /// sends it); an unknown value is kept as sent
            /// ([`Other`](Self::Other)), never an error.
            pub fn from_graph(text: &str) -> Self {
                $(if text.eq_ignore_ascii_case($text) {
                    return Self::$variant;
                })*
                Self::Other(text.to_owned())
            }

            /// The value as Meta writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Other(text) => text,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use graph_enum;

graph_enum! {
    /// A number's `status`, and what each value means for a port
    /// ([`meaning`](Self::meaning)).
    ///
    /// Meta's OpenAPI description (v23.0) names `PENDING`, `LINKED`,
    /// `UNLINKED`, `DELETED`, `MIGRATED`, `BANNED`, `RESTRICTED` for a phone
    /// number, and `CONNECTED`, `DISCONNECTED`, `PENDING`, `FLAGGED`,
    /// `RESTRICTED`, `RATE_LIMITED`, `MESSAGING_LIMIT_TIER_0`…`4` for its
    /// connection to a WABA; real answers also carry `UNVERIFIED`. Any other
    /// value is kept as sent ([`Other`](Self::Other)), never an error.
    ///
    /// | `status` | Meaning | What the crate does |
    /// |---|---|---|
    /// | `CONNECTED` | [`Done`](StatusMeaning::Done) | Registered ([`PhoneNumberRecord::is_connected`]): a read moves the session to `Registered`. |
    /// | `PENDING` | [`Proceed`](StatusMeaning::Proceed) | Not registered: the next step goes on. After a register of ours, with `platform_type` `CLOUD_API` or `ON_PREMISE`, registered and still connecting. |
    /// | `LINKED` | [`Proceed`](StatusMeaning::Proceed) | In the WABA, not connected: as `PENDING`. |
    /// | `UNVERIFIED` | [`Proceed`](StatusMeaning::Proceed) | Ownership not verified: as `PENDING` (a code is needed). |
    /// | `DISCONNECTED` | [`Proceed`](StatusMeaning::Proceed) | Not connected: as `PENDING` (a register connects it); a registered session waits for `CONNECTED` ([`NextAction::AwaitConnected`](crate::NextAction::AwaitConnected)). |
    /// | `FLAGGED` | [`Wait`](StatusMeaning::Wait) | Quality flagged by Meta (a ported number keeps its quality rating): not counted as registered; a registered session waits for `CONNECTED`. |
    /// | `RESTRICTED` | [`Wait`](StatusMeaning::Wait) | Messaging restricted by Meta for a while: as `FLAGGED`. |
    /// | `RATE_LIMITED` | [`Wait`](StatusMeaning::Wait) | Rate limited by Meta: as `FLAGGED`. |
    /// | `MESSAGING_LIMIT_TIER_0`…`4` | [`Wait`](StatusMeaning::Wait) | A connection status naming the messaging tier: as `FLAGGED` (only `CONNECTED` counts as registered). |
    /// | `DELETED` | [`Gone`](StatusMeaning::Gone) | The number object was deleted: the session is `Rejected` ([`RejectionReason::NumberDeleted`](crate::RejectionReason::NumberDeleted)). |
    /// | `BANNED` | [`Gone`](StatusMeaning::Gone) | WhatsApp banned the number: `Rejected` ([`RejectionReason::NumberBanned`](crate::RejectionReason::NumberBanned)). |
    /// | `MIGRATED` | [`Gone`](StatusMeaning::Gone) | The number moved to another WABA: `Rejected` ([`RejectionReason::NumberMigrated`](crate::RejectionReason::NumberMigrated)). |
    /// | `UNLINKED` | [`Gone`](StatusMeaning::Gone) | The number was unlinked from this WABA: `Rejected` ([`RejectionReason::NumberUnlinked`](crate::RejectionReason::NumberUnlinked)). |
    /// | anything else | [`Unknown`](StatusMeaning::Unknown) | Kept as sent; not registered, not gone: the next step goes on. |
    ///
    /// A session already `Registered` stays so whatever a later read shows:
    /// the port is done (a number banned later is not the port's failure).
    NumberStatus {
        /// Registered; can send and receive.
        Connected = "CONNECTED",
        /// Added but not registered yet (or registered and still connecting).
        Pending = "PENDING",
        /// Linked to the WABA, not connected (Meta's description).
        Linked = "LINKED",
        /// Unlinked from the WABA (Meta's description): gone for the port.
        Unlinked = "UNLINKED",
        /// The number object was deleted: gone for the port.
        Deleted = "DELETED",
        /// Moved to another WABA: gone for the port.
        Migrated = "MIGRATED",
        /// Banned by WhatsApp: gone for the port.
        Banned = "BANNED",
        /// Messaging restricted by Meta for a while.
        Restricted = "RESTRICTED",
        /// Rate limited by Meta.
        RateLimited = "RATE_LIMITED",
        /// Was connected, is not any more.
        Disconnected = "DISCONNECTED",
        /// Quality flagged.
        Flagged = "FLAGGED",
        /// Ownership not verified.
        Unverified = "UNVERIFIED",
        /// Messaging limit tier 0 (Meta's WABA-to-number status).
        MessagingLimitTier0 = "MESSAGING_LIMIT_TIER_0",
        /// Messaging limit tier 1 (Meta's WABA-to-number status).
        MessagingLimitTier1 = "MESSAGING_LIMIT_TIER_1",
        /// Messaging limit tier 2 (Meta's WABA-to-number status).
        MessagingLimitTier2 = "MESSAGING_LIMIT_TIER_2",
        /// Messaging limit tier 3 (Meta's WABA-to-number status).
        MessagingLimitTier3 = "MESSAGING_LIMIT_TIER_3",
        /// Messaging limit tier 4 (Meta's WABA-to-number status).
        MessagingLimitTier4 = "MESSAGING_LIMIT_TIER_4",
    }
}

impl NumberStatus {
    /// What the value means for a port (the table above).
    pub fn meaning(&self) -> StatusMeaning {
        match self {
            Self::Connected => StatusMeaning::Done,
            Self::Pending | Self::Linked | Self::Unverified | Self::Disconnected => {
                StatusMeaning::Proceed
            }
            Self::Flagged
            | Self::Restricted
            | Self::RateLimited
            | Self::MessagingLimitTier0
            | Self::MessagingLimitTier1
            | Self::MessagingLimitTier2
            | Self::MessagingLimitTier3
            | Self::MessagingLimitTier4 => StatusMeaning::Wait,
            Self::Deleted | Self::Banned | Self::Migrated | Self::Unlinked => StatusMeaning::Gone,
            Self::Other(_) => StatusMeaning::Unknown,
        }
    }

    /// Why the number object will never carry the port, when the value
    /// says so (`DELETED`, `BANNED`, `MIGRATED`, `UNLINKED`).
    pub fn gone(&self) -> Option<NumberGone> {
        match self {
            Self::Deleted => Some(NumberGone::Deleted),
            Self::Banned => Some(NumberGone::Banned),
            Self::Migrated => Some(NumberGone::Migrated),
            Self::Unlinked => Some(NumberGone::Unlinked),
            _ => None,
        }
    }
}

graph_enum! {
    /// A number's `code_verification_status`. Meta documents `VERIFIED` and
    /// `UNVERIFIED`; real answers also carry `NOT_VERIFIED` and `EXPIRED`.
    CodeVerificationStatus {
        /// Ownership was verified with a code.
        Verified = "VERIFIED",
        /// Not verified.
        Unverified = "UNVERIFIED",
        /// Not verified (the spelling some answers use).
        NotVerified = "NOT_VERIFIED",
        /// A verification expired; verify again.
        Expired = "EXPIRED",
    }
}

graph_enum! {
    /// A number's `name_status` (the review of its display name), and what
    /// each value means for a port ([`meaning`](Self::meaning)): Meta's
    /// migration needs an approved display name.
    ///
    /// | `name_status` | Meaning | Readiness |
    /// |---|---|---|
    /// | `APPROVED` | [`Proceed`](StatusMeaning::Proceed) | Nothing. |
    /// | `AVAILABLE_WITHOUT_REVIEW` | [`Proceed`](StatusMeaning::Proceed) | Nothing. |
    /// | `PENDING_REVIEW` | [`Wait`](StatusMeaning::Wait) | Blocker: Meta is reviewing the name. |
    /// | `DECLINED` | [`Blocker`](StatusMeaning::Blocker) | Blocker: a name must be submitted again. |
    /// | `EXPIRED` | [`Blocker`](StatusMeaning::Blocker) | Blocker: the name's certificate must be renewed. |
    /// | `NONE` | [`Blocker`](StatusMeaning::Blocker) | Blocker: the number has no display name. |
    /// | anything else | [`Unknown`](StatusMeaning::Unknown) | Blocker: never read as approved. |
    ///
    /// The same values in `new_name_status` describe a display-name change
    /// ([`PhoneNumberRecord::new_name_status`]): `PENDING_REVIEW` there is a
    /// change pending, which Meta requires there be none of.
    NameStatus {
        /// Approved.
        Approved = "APPROVED",
        /// Usable without review.
        AvailableWithoutReview = "AVAILABLE_WITHOUT_REVIEW",
        /// Declined.
        Declined = "DECLINED",
        /// Expired.
        Expired = "EXPIRED",
        /// In review.
        PendingReview = "PENDING_REVIEW",
        /// No name.
        None = "NONE",
    }
}

impl NameStatus {
    /// What the value means for a port (the table above).
    pub fn meaning(&self) -> StatusMeaning {
        match self {
            Self::Approved | Self::AvailableWithoutReview => StatusMeaning::Proceed,
            Self::PendingReview => StatusMeaning::Wait,
            Self::Declined | Self::Expired | Self::None => StatusMeaning::Blocker,
            Self::Other(_) => StatusMeaning::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_record_and_keeps_unknown_values() {
        let value: Value = serde_json::from_str(
            r#"{"id":"110200345501442","display_phone_number":"+1 415-555-0123",
                "status":"CONNECTED","code_verification_status":"EXPIRED",
                "name_status":"SOMETHING_NEW","platform_type":"CLOUD_API","verified_name":7}"#,
        )
        .unwrap();
        let record = PhoneNumberRecord::from_value(&value).unwrap();
        assert!(record.is_connected());
        assert!(!record.is_code_verified());
        assert_eq!(
            record.code_verification_status,
            Some(CodeVerificationStatus::Expired)
        );
        assert_eq!(
            record.name_status,
            Some(NameStatus::Other("SOMETHING_NEW".into()))
        );
        assert_eq!(record.name_status.unwrap().as_str(), "SOMETHING_NEW");
        assert_eq!(
            record.verified_name, None,
            "odd types are dropped, not fatal"
        );
        assert_eq!(record.platform_type.as_deref(), Some("CLOUD_API"));
    }

    #[test]
    fn values_are_case_insensitive_and_display_as_meta_writes_them() {
        assert_eq!(
            CodeVerificationStatus::from_graph("verified"),
            CodeVerificationStatus::Verified
        );
        assert_eq!(NumberStatus::Connected.to_string(), "CONNECTED");
        assert!(PhoneNumberRecord::from_value(&serde_json::json!({"id": "x"})).is_none());
        assert!(PhoneNumberRecord::from_value(&serde_json::json!({"id": 12})).is_some());
    }
}
