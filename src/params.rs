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

/// The language of the verification message: a locale of a language and
/// a region, `xx_XX` (`en_US`, `pt_BR`, `es_ES`), the form Meta's
/// `request_code` takes.
///
/// Meta's OpenAPI description of `POST /{phone-number-id}/request_code`
/// (facebook/openapi `ecba623`, `business-messaging-api_v23.0.yaml`,
/// `RequestCodeRequest.language`) gives the pattern `^[a-z]{2}_[A-Z]{2}$`
/// (exactly 5 characters), and its example refusal of another form is
/// 100 "Invalid parameter: language must be a valid locale identifier".
///
/// [`new`](Self::new) (and `FromStr`, `TryFrom<String>`) normalizes what
/// has one reading: surrounding whitespace, the case of either part, and
/// `-` for `_` (`en-us`, `EN_us` and `en-US` are all `en_US`). A bare
/// language (`en`, `de`) is refused with
/// [`ValidationError::LanguageWithoutRegion`], not mapped to a region:
/// Meta documents no default region for it, and `en` could as well be
/// `en_GB` as `en_US`. Three-letter languages (`fil`) have no form the
/// pattern allows and are refused too.
///
/// Deserializing (a saved session) also takes the shapes earlier versions
/// accepted (`de`, `fil`, `en_US`), so sessions saved then keep loading; a
/// value of such a shape is refused by
/// [`PortingClient::request_code`](crate::PortingClient::request_code)
/// before anything is sent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "StoredLanguage", into = "String")]
pub struct Language(String);

impl Language {
    /// Validates and normalizes a locale code (see the type's
    /// documentation).
    ///
    /// ```
    /// use waba_porting::{Language, ValidationError};
    ///
    /// assert_eq!(Language::new("pt-br")?.as_str(), "pt_BR");
    /// assert_eq!(
    ///     Language::new("en"),
    ///     Err(ValidationError::LanguageWithoutRegion { language: "en".into() })
    /// );
    /// # Ok::<(), ValidationError>(())
    /// ```
    ///
    /// # Errors
    /// [`ValidationError::LanguageWithoutRegion`] for a bare two-letter
    /// language (`en`), [`ValidationError::InvalidLanguage`] for anything
    /// else that is not two letters, `_` or `-`, and two letters.
    pub fn new(code: impl AsRef<str>) -> Result<Self, ValidationError> {
        let code = code.as_ref().trim();
        let letters = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic());
        match code.split_once(['_', '-']) {
            Some((lang, region)) if letters(lang) && letters(region) => Ok(Self(format!(
                "{}_{}",
                lang.to_ascii_lowercase(),
                region.to_ascii_uppercase()
            ))),
            None if letters(code) => Err(ValidationError::LanguageWithoutRegion {
                language: code.to_ascii_lowercase(),
            }),
            _ => Err(ValidationError::InvalidLanguage),
        }
    }

    /// The locale code (`en_US`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the code has the documented form `xx_XX`: always, except
    /// for a value loaded from a session saved by an earlier version
    /// (`de`).
    pub(crate) fn is_documented(&self) -> bool {
        Self::new(&self.0).is_ok_and(|normal| normal == *self)
    }

    /// The error [`new`](Self::new) gives for this code (for a value loaded
    /// in an earlier version's shape).
    pub(crate) fn refusal(&self) -> ValidationError {
        Self::new(&self.0)
            .err()
            .unwrap_or(ValidationError::InvalidLanguage)
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

/// A language as a session saved it: the documented form (normalized), or
/// a shape earlier versions accepted (2 or 3 lowercase letters, optionally
/// `_` and 2 uppercase letters), kept as saved.
#[derive(Deserialize)]
#[serde(transparent)]
struct StoredLanguage(String);

impl TryFrom<StoredLanguage> for Language {
    type Error = ValidationError;

    fn try_from(value: StoredLanguage) -> Result<Self, Self::Error> {
        let error = match Language::new(&value.0) {
            Ok(language) => return Ok(language),
            Err(error) => error,
        };
        let code = value.0.as_str();
        let (lang, region) = match code.split_once('_') {
            Some((lang, region)) => (lang, Some(region)),
            None => (code, None),
        };
        let lang_ok = (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase());
        let region_ok =
            region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()));
        if lang_ok && region_ok {
            Ok(Self(value.0))
        } else {
            Err(error)
        }
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

/// Where Meta stores the number's message data at rest (local storage):
/// one of the [`SUPPORTED_REGIONS`] (`DE`, `IN`, …), the values of
/// Meta's `WhatsAppDataLocalizationRegion`. Parses from config with
/// `FromStr` (`"de".parse()`), prints as the code.
///
/// [`PortingClient::register`](crate::PortingClient::register) sets it
/// through the number's settings (`storage_configuration`) from Graph API
/// v21.0 on, and as `register`'s `data_localization_region` (deprecated
/// from v21.0) before.
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
    fn languages_take_the_documented_form() {
        for (input, want) in [
            ("en_US", "en_US"),
            ("pt_BR", "pt_BR"),
            ("en-us", "en_US"),
            ("en-US", "en_US"),
            ("EN_us", "en_US"),
            (" es_es ", "es_ES"),
        ] {
            assert_eq!(Language::new(input).unwrap().as_str(), want, "{input}");
        }
        for bare in ["en", "DE", " pt "] {
            assert_eq!(
                Language::new(bare),
                Err(ValidationError::LanguageWithoutRegion {
                    language: bare.trim().to_ascii_lowercase()
                }),
                "{bare}"
            );
        }
        let message = Language::new("en").unwrap_err().to_string();
        assert!(
            message.contains("en_US") && message.contains("'en'"),
            "{message}"
        );
        for bad in [
            "",
            "fil",
            "english",
            "en_USA",
            "en_",
            "_US",
            "en__US",
            "en-Latn-US",
            "e1_US",
            "en US",
            "é_US",
            "en_US\"}",
        ] {
            assert_eq!(
                Language::new(bad),
                Err(ValidationError::InvalidLanguage),
                "{bad}"
            );
        }
        assert_eq!(Language::default().as_str(), "en_US");
        assert!(Language::default().is_documented());
    }

    #[test]
    fn languages_saved_by_earlier_versions_still_load() {
        for saved in ["de", "fil", "fil_PH"] {
            let language: Language = serde_json::from_str(&format!("\"{saved}\"")).unwrap();
            assert_eq!(language.as_str(), saved);
            assert!(!language.is_documented(), "{saved}");
            assert_eq!(
                serde_json::to_string(&language).unwrap(),
                format!("\"{saved}\"")
            );
        }
        assert_eq!(
            Language::new("de").unwrap_err(),
            serde_json::from_str::<Language>("\"de\"")
                .unwrap()
                .refusal()
        );
        let normalized: Language = serde_json::from_str("\"en-us\"").unwrap();
        assert_eq!(normalized.as_str(), "en_US");
        for bad in ["\"\"", "\"english\"", "\"en_USA\""] {
            assert!(serde_json::from_str::<Language>(bad).is_err(), "{bad}");
        }
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
