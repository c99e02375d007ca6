//! A phone number as the Graph API describes it: the record the WABA's list
//! (`GET /{waba-id}/phone_numbers`) and the number read
//! (`GET /{phone-number-id}`) return.
//!
//! The status fields are enums that keep any value this crate does not know
//! (`Other`), so a new value from Meta is never fatal.

use std::fmt;

use serde_json::Value;

use crate::ids::PhoneNumberId;

/// The fields the client asks for when it reads or lists numbers.
pub(crate) const FIELDS: &str =
    "id,display_phone_number,verified_name,status,code_verification_status,name_status,platform_type";

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
            platform_type: owned("platform_type"),
        })
    }

    /// Whether the number is registered and can send (`status: CONNECTED`).
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
}

/// `{"id": "…"}` as a string or a number.
pub(crate) fn id_of(value: &Value) -> Option<PhoneNumberId> {
    id_value(value.get("id")?)
}

/// An `id` member's value as an id (a string, or a number).
pub(crate) fn id_value(id: &Value) -> Option<PhoneNumberId> {
    match id {
        Value::String(id) => PhoneNumberId::new(id).ok(),
        Value::Number(id) => PhoneNumberId::new(id.to_string()).ok(),
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
            /// Reads Meta's value (case-insensitive); unknown values are kept.
            pub(crate) fn from_graph(text: &str) -> Self {
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
    /// A number's `status`. `CONNECTED` means registered and able to send.
    NumberStatus {
        /// Registered; can send and receive.
        Connected = "CONNECTED",
        /// Added but not registered yet.
        Pending = "PENDING",
        /// Was connected, is not any more.
        Disconnected = "DISCONNECTED",
        /// Moved to another WABA.
        Migrated = "MIGRATED",
        /// Quality flagged.
        Flagged = "FLAGGED",
        /// Messaging restricted.
        Restricted = "RESTRICTED",
        /// Not verified.
        Unverified = "UNVERIFIED",
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
    /// A number's `name_status`: the review of its display name.
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
