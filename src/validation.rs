//! Input validation errors: what the domain types (ids, phone numbers,
//! secrets, parameters) refuse. A leaf module: the domain types and the state
//! machine depend on it, and it depends on nothing in the crate.

/// An input that failed validation. Messages never echo secrets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The phone number is empty.
    #[error("phone number is empty")]
    EmptyPhoneNumber,
    /// The phone number has a character other than digits, a leading `+`,
    /// spaces, dashes and parentheses.
    #[error("phone number may only contain digits, a leading '+', spaces, dashes and parentheses")]
    InvalidPhoneCharacter,
    /// Too few or too many digits for an international number.
    #[error("phone number has {digits} digits; an international number has a country code and at most 15 digits")]
    PhoneNumberLength {
        /// How many digits the input had.
        digits: usize,
    },
    /// The digits do not start with a country calling code.
    #[error("phone number does not start with a known country calling code (write it in international form, e.g. +14155550123)")]
    UnknownCountryCode,
    /// An id is empty.
    #[error("{kind} is empty")]
    EmptyId {
        /// Which id (`WABA id`, …).
        kind: &'static str,
    },
    /// An id is not all digits.
    #[error("{kind} must be all digits")]
    MalformedId {
        /// Which id (`WABA id`, …).
        kind: &'static str,
    },
    /// The PIN is not 6 digits.
    #[error("PIN must be exactly 6 digits")]
    InvalidPin,
    /// The verification code is not 6 digits (optionally `123-456`).
    #[error("verification code must be 6 digits, optionally written as 123-456")]
    InvalidVerificationCode,
    /// The code method is not SMS or VOICE.
    #[error("code method must be SMS or VOICE")]
    InvalidCodeMethod,
    /// The language is not a locale like `en_US`.
    #[error("language must be a locale such as en_US or de")]
    InvalidLanguage,
    /// The data localization region is not a 2-letter country code.
    #[error("data localization region must be a 2-letter country code")]
    InvalidRegion,
}
