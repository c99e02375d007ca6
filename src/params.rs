//! Step parameters: how the code is delivered, in which language, and where
//! data is localized.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;

/// How Meta delivers the verification code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum CodeMethod {
    /// A text message (the code reads like `123-830`).
    Sms,
    /// A voice call that reads the code out.
    Voice,
}

impl CodeMethod {
    /// The value of the `code_method` parameter (`SMS` / `VOICE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "SMS",
            Self::Voice => "VOICE",
        }
    }
}

impl fmt::Display for CodeMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CodeMethod {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "SMS" => Ok(Self::Sms),
            "VOICE" => Ok(Self::Voice),
            _ => Err(ValidationError::InvalidCodeMethod),
        }
    }
}

/// The language of the verification message, a WhatsApp locale such as
/// `en_US`, `pt_BR` or `de` (lowercase language, optional `_` and uppercase
/// region).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Language(String);

impl Language {
    /// Validates a locale code.
    ///
    /// # Errors
    /// [`ValidationError::InvalidLanguage`] for anything not shaped like
    /// `en` or `en_US`.
    pub fn new(code: impl AsRef<str>) -> Result<Self, ValidationError> {
        let code = code.as_ref().trim();
        let (lang, region) = match code.split_once('_') {
            Some((lang, region)) => (lang, Some(region)),
            None => (code, None),
        };
        let lang_ok = (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase());
        let region_ok =
            region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()));
        if lang_ok && region_ok {
            Ok(Self(code.to_owned()))
        } else {
            Err(ValidationError::InvalidLanguage)
        }
    }

    /// The locale code (`en_US`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Language {
    /// `en_US`.
    fn default() -> Self {
        Self("en_US".to_owned())
    }
}

impl FromStr for Language {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for Language {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Language> for String {
    fn from(value: Language) -> Self {
        value.0
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The regions Meta supports for Cloud API local storage, the values
/// `register` takes as `data_localization_region` (ISO 3166-1 alpha-2):
/// APAC AU, ID, IN, JP, SG, KR; Europe DE, CH, GB; LATAM BR; MEA BH, ZA, AE;
/// NORAM CA. Source: Meta, "Register a business phone number" and "Local
/// storage" (reference META-REG in `porting-api.md` §1 and §5).
pub const SUPPORTED_REGIONS: [&str; 14] = [
    "AU", "ID", "IN", "JP", "SG", "KR", "DE", "CH", "GB", "BR", "BH", "ZA", "AE", "CA",
];

/// The `data_localization_region` of `register`: one of the
/// [`SUPPORTED_REGIONS`] where Meta stores message data at rest (`DE`,
/// `IN`, …). Parses from config with `FromStr` (`"de".parse()`), prints as
/// the code.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DataLocalizationRegion(String);

impl DataLocalizationRegion {
    /// Validates a region: a 2-letter code (lowercase is upper-cased) that
    /// Meta supports for local storage.
    ///
    /// # Errors
    /// [`ValidationError::InvalidRegion`] for anything but two ASCII letters,
    /// [`ValidationError::UnsupportedRegion`] for a country Meta offers no
    /// local storage in.
    pub fn new(code: impl AsRef<str>) -> Result<Self, ValidationError> {
        let code = code.as_ref().trim();
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(ValidationError::InvalidRegion);
        }
        let code = code.to_ascii_uppercase();
        if SUPPORTED_REGIONS.contains(&code.as_str()) {
            Ok(Self(code))
        } else {
            Err(ValidationError::UnsupportedRegion { region: code })
        }
    }

    /// The 2-letter code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for DataLocalizationRegion {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for DataLocalizationRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for DataLocalizationRegion {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<DataLocalizationRegion> for String {
    fn from(value: DataLocalizationRegion) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_method_wire_values() {
        assert_eq!(CodeMethod::Sms.as_str(), "SMS");
        assert_eq!(CodeMethod::Voice.as_str(), "VOICE");
        assert_eq!("voice".parse::<CodeMethod>(), Ok(CodeMethod::Voice));
        assert_eq!(
            "fax".parse::<CodeMethod>(),
            Err(ValidationError::InvalidCodeMethod)
        );
    }

    #[test]
    fn language_shapes() {
        for ok in ["en_US", "pt_BR", "de", "fil"] {
            assert_eq!(Language::new(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "EN_us", "en-US", "english", "en_USA", "en_"] {
            assert_eq!(
                Language::new(bad),
                Err(ValidationError::InvalidLanguage),
                "{bad}"
            );
        }
        assert_eq!(Language::default().as_str(), "en_US");
    }

    #[test]
    fn region_shapes() {
        assert_eq!(DataLocalizationRegion::new("de").unwrap().as_str(), "DE");
        for bad in ["", "D", "DEU", "1A", "ÄB"] {
            assert_eq!(
                DataLocalizationRegion::new(bad),
                Err(ValidationError::InvalidRegion)
            );
        }
    }

    #[test]
    fn only_the_regions_meta_supports_are_accepted_and_parse_from_config() {
        for code in SUPPORTED_REGIONS {
            let region: DataLocalizationRegion = code.to_ascii_lowercase().parse().unwrap();
            assert_eq!(region.to_string(), code);
        }
        for unsupported in ["US", "FR", "us", "CN", "EU"] {
            assert_eq!(
                DataLocalizationRegion::new(unsupported),
                Err(ValidationError::UnsupportedRegion {
                    region: unsupported.to_ascii_uppercase()
                }),
                "{unsupported}"
            );
        }
        let err = DataLocalizationRegion::new("us").unwrap_err().to_string();
        assert!(err.contains("US") && err.contains("DE"), "{err}");
    }
}
