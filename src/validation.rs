//! Input validation errors: what the domain types (ids, phone numbers,
//! secrets, parameters) refuse. A leaf module: the domain types and the state
//! machine depend on it, and it depends on nothing in the crate.

/// An input that failed validation. Messages never echo secrets.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The phone number is empty (or has no digit at all).
    #[error("phone number is empty")]
    EmptyPhoneNumber,
    /// The phone number input is longer than any written phone number; it is
    /// refused before it is read.
    #[error("phone number input is {len} bytes long; at most {max} are accepted")]
    PhoneInputTooLong {
        /// The input's length in bytes.
        len: usize,
        /// The most bytes accepted.
        max: usize,
    },
    /// The phone number has a character other than digits, a leading `+`,
    /// spaces, dashes, dots and parentheses.
    #[error(
        "phone number may only contain digits, a leading '+', spaces, dashes, dots and parentheses"
    )]
    InvalidPhoneCharacter,
    /// Too few or too many digits for any international number.
    #[error("phone number has {digits} digits; an international number is a country code and a national number, at most 15 digits in all")]
    PhoneNumberLength {
        /// How many digits the input had.
        digits: usize,
    },
    /// The digits do not start with a country calling code.
    #[error("phone number does not start with a known country calling code (write it in international form, e.g. +14155550123)")]
    UnknownCountryCode,
    /// A formatted number (spaces, dashes, parentheses) without a leading
    /// `+`: it may be a national number of any country.
    #[error("write the number in international form with a leading '+' and its country code (digits only, as in a WhatsApp id like 14155550123, are read as international)")]
    PlusRequired,
    /// libphonenumber finds no phone number in the digits.
    #[error("not a phone number")]
    NotAPhoneNumber,
    /// The national number has a length no number of its country has.
    #[error("phone number has {digits} digits after the country code +{country_code}, a length no number there has (without a leading '+', the first digits are read as the country code)")]
    PhoneNumberLengthForCountry {
        /// The country calling code the number starts with.
        country_code: u16,
        /// How many digits follow the country code.
        digits: usize,
    },
    /// libphonenumber knows no number range of the country that holds the
    /// number (it has a possible length, but is not a valid number there).
    #[error("phone number is not a valid number for country code +{country_code} (without a leading '+', the first digits are read as the country code)")]
    InvalidNumberForCountry {
        /// The country calling code the number starts with.
        country_code: u16,
    },
    /// Written without `+`, the digits are a valid international number and
    /// also a valid North American (+1) number without its country code:
    /// which one is meant cannot be told.
    #[error("phone number without '+' reads both as {international} and as the North American {north_american}; write it with '+' and its country code")]
    AmbiguousPhoneNumber {
        /// The international reading, E.164.
        international: String,
        /// The North American reading, E.164.
        north_american: String,
    },
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
    /// An Embedded Signup authorization code that is empty, too long, or
    /// not printable ASCII.
    #[error("invalid Embedded Signup code: expected the authorization code as the login callback gave it")]
    InvalidSignupCode,
    /// The Embedded Signup result names another WABA (or business) than
    /// the session's: it belongs to another session.
    #[error("the Embedded Signup result names another {0} than the session's")]
    SignupForAnotherSession(&'static str),
    /// The code method is not SMS or VOICE.
    #[error("code method must be SMS or VOICE")]
    InvalidCodeMethod,
    /// The language is not a locale of the form `xx_XX` (two letters, `_`
    /// or `-`, two letters), the form Meta's `request_code` takes.
    #[error("language must be a locale of a language and a region, xx_XX, such as en_US or pt_BR (Meta's request_code takes ^[a-z]{{2}}_[A-Z]{{2}}$)")]
    InvalidLanguage,
    /// The language is a bare language code (`en`) without the region
    /// Meta's `request_code` needs; no region is guessed for it.
    #[error("language '{language}' has no region: request_code takes a locale xx_XX, such as en_US, en_GB or pt_BR; write the one the customer reads")]
    LanguageWithoutRegion {
        /// The language given, lower-cased.
        language: String,
    },
    /// The data localization region is not a 2-letter country code.
    #[error("data localization region must be a 2-letter country code")]
    InvalidRegion,
    /// Meta offers no Cloud API local storage in this country.
    #[error("Meta offers no local storage in {region}; supported: AU, ID, IN, JP, SG, KR, DE, CH, GB, BR, BH, ZA, AE, CA")]
    UnsupportedRegion {
        /// The code given, upper-cased.
        region: String,
    },
    /// libphonenumber's metadata, compiled into the crate, could not be
    /// loaded, so no phone number can be read (a defect of the build, not of
    /// the input).
    #[error("phone numbers cannot be read: libphonenumber's metadata did not load")]
    PhoneMetadataUnavailable,
}
