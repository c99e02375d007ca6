//! Phone numbers: parsing, validation and the country-code split Meta expects.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;

/// ITU-T E.164 country calling codes in service. The set is prefix-free, so
/// at most one entry matches the start of a number.
const COUNTRY_CODES: &[&str] = &[
    "1", "7", "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45",
    "46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
    "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98", "211",
    "212", "213", "216", "218", "220", "221", "222", "223", "224", "225", "226", "227", "228",
    "229", "230", "231", "232", "233", "234", "235", "236", "237", "238", "239", "240", "241",
    "242", "243", "244", "245", "246", "247", "248", "249", "250", "251", "252", "253", "254",
    "255", "256", "257", "258", "260", "261", "262", "263", "264", "265", "266", "267", "268",
    "269", "290", "291", "297", "298", "299", "350", "351", "352", "353", "354", "355", "356",
    "357", "358", "359", "370", "371", "372", "373", "374", "375", "376", "377", "378", "379",
    "380", "381", "382", "383", "385", "386", "387", "389", "420", "421", "423", "500", "501",
    "502", "503", "504", "505", "506", "507", "508", "509", "590", "591", "592", "593", "594",
    "595", "596", "597", "598", "599", "670", "672", "673", "674", "675", "676", "677", "678",
    "679", "680", "681", "682", "683", "685", "686", "687", "688", "689", "690", "691", "692",
    "800", "808", "850", "852", "853", "855", "856", "870", "878", "880", "881", "882", "883",
    "886", "888", "960", "961", "962", "963", "964", "965", "966", "967", "968", "970", "971",
    "972", "973", "974", "975", "976", "977", "979", "992", "993", "994", "995", "996", "998",
];

/// E.164 allows at most 15 digits including the country code.
const MAX_DIGITS: usize = 15;
/// The shortest national number we accept (some small territories use 4).
const MIN_NATIONAL_DIGITS: usize = 4;

/// A phone number in international form, split into country calling code and
/// national number as the migration endpoint wants them (`cc`, `phone_number`).
///
/// Parsing accepts `+14155550123`, `14155550123` and the same with spaces,
/// dashes and parentheses (`+1 (415) 555-0123`). Without a `+`, the digits are
/// still read as international: they must start with the country code.
/// Anything else (letters, a second `+`, a national trunk `0` with no country
/// code that matches, too few or too many digits) is a [`ValidationError`].
///
/// Serialized as its E.164 string (`"+14155550123"`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber {
    /// `+` followed by all digits.
    e164: String,
    /// Length of the country code inside `e164` (after the `+`).
    cc_len: usize,
}

impl PhoneNumber {
    /// Parses and validates a phone number (see the type's documentation).
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ValidationError::EmptyPhoneNumber);
        }
        let mut digits = String::with_capacity(MAX_DIGITS);
        for (index, ch) in trimmed.char_indices() {
            match ch {
                '0'..='9' => digits.push(ch),
                '+' if index == 0 => {}
                ' ' | '-' | '(' | ')' => {}
                _ => return Err(ValidationError::InvalidPhoneCharacter),
            }
        }
        if digits.is_empty() {
            return Err(ValidationError::EmptyPhoneNumber);
        }
        if digits.len() > MAX_DIGITS {
            return Err(ValidationError::PhoneNumberLength {
                digits: digits.len(),
            });
        }
        let cc = COUNTRY_CODES
            .iter()
            .find(|cc| digits.starts_with(**cc))
            .ok_or(ValidationError::UnknownCountryCode)?;
        if digits.len() < cc.len() + MIN_NATIONAL_DIGITS {
            return Err(ValidationError::PhoneNumberLength {
                digits: digits.len(),
            });
        }
        Ok(Self {
            cc_len: cc.len(),
            e164: format!("+{digits}"),
        })
    }

    /// A number from literal parts known to be valid (tests check each use).
    #[cfg(feature = "simulator")]
    pub(crate) fn from_literal(country_code: &'static str, national: &'static str) -> Self {
        Self {
            e164: format!("+{country_code}{national}"),
            cc_len: country_code.len(),
        }
    }

    /// The country calling code, digits only (`"1"`, `"49"`, `"353"`).
    pub fn country_code(&self) -> &str {
        self.e164.get(1..=self.cc_len).unwrap_or_default()
    }

    /// The national number, digits only, without the country code.
    pub fn national_number(&self) -> &str {
        self.e164.get(1 + self.cc_len..).unwrap_or_default()
    }

    /// The E.164 form, `+` and digits (`"+14155550123"`).
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// Whether `display` (as Graph shows it, e.g. `"+1 415-555-0123"`)
    /// denotes this number.
    pub(crate) fn matches_display(&self, display: &str) -> bool {
        let digits = display.chars().filter(char::is_ascii_digit);
        digits.eq(self.e164.chars().skip(1))
    }
}

impl FromStr for PhoneNumber {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.e164
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PhoneNumber(+{} {})",
            self.country_code(),
            self.national_number()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(input: &str) -> (String, String) {
        let n = PhoneNumber::parse(input).unwrap();
        (n.country_code().to_owned(), n.national_number().to_owned())
    }

    #[test]
    fn accepts_the_documented_forms() {
        let want = ("1".to_owned(), "4155550123".to_owned());
        for input in [
            "+14155550123",
            "14155550123",
            "+1 415 555 0123",
            "+1-415-555-0123",
            "+1 (415) 555-0123",
            " 1 (415) 555-0123 ",
        ] {
            assert_eq!(split(input), want, "{input}");
        }
    }

    #[test]
    fn splits_one_two_and_three_digit_country_codes() {
        assert_eq!(split("+49 30 1234567"), ("49".into(), "301234567".into()));
        assert_eq!(split("+353 1 234 5678"), ("353".into(), "12345678".into()));
        assert_eq!(split("+7 912 345-67-89"), ("7".into(), "9123456789".into()));
        assert_eq!(
            split("+971 50 123 4567"),
            ("971".into(), "501234567".into())
        );
    }

    #[test]
    fn country_code_table_is_prefix_free_and_numeric() {
        for a in COUNTRY_CODES {
            assert!(a.bytes().all(|b| b.is_ascii_digit()) && (1..=3).contains(&a.len()));
            for b in COUNTRY_CODES {
                assert!(a == b || !b.starts_with(a), "{a} is a prefix of {b}");
            }
        }
    }

    #[test]
    fn rejects_everything_else() {
        use ValidationError::*;
        let cases: &[(&str, ValidationError)] = &[
            ("", EmptyPhoneNumber),
            ("   ", EmptyPhoneNumber),
            ("+1 415 CALL NOW", InvalidPhoneCharacter),
            ("1+4155550123", InvalidPhoneCharacter),
            ("++14155550123", InvalidPhoneCharacter),
            ("+1.415.555.0123", InvalidPhoneCharacter),
            ("+1 415 555 0123 ext 9", InvalidPhoneCharacter),
            ("+1234567890123456", PhoneNumberLength { digits: 16 }),
            ("+1 234", PhoneNumberLength { digits: 4 }),
            ("0301234567", UnknownCountryCode),
            ("+28 1234567", UnknownCountryCode),
            ("()--", EmptyPhoneNumber),
        ];
        for (input, want) in cases {
            assert_eq!(PhoneNumber::parse(input).as_ref(), Err(want), "{input:?}");
        }
    }

    #[test]
    fn serializes_as_e164_and_round_trips() {
        let n = PhoneNumber::parse("+1 (415) 555-0123").unwrap();
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, "\"+14155550123\"");
        assert_eq!(serde_json::from_str::<PhoneNumber>(&json).unwrap(), n);
        assert!(serde_json::from_str::<PhoneNumber>("\"+1 CALL\"").is_err());
        assert_eq!(n.to_string(), "+14155550123");
    }

    #[test]
    fn matches_graph_display_form() {
        let n = PhoneNumber::parse("+14155550123").unwrap();
        assert!(n.matches_display("+1 415-555-0123"));
        assert!(n.matches_display("14155550123"));
        assert!(!n.matches_display("+1 415-555-0124"));
        assert!(!n.matches_display("+1 415-555-01234"));
    }
}

/// Property-style checks over generated numbers (seeded, no extra dependency).
#[cfg(test)]
mod properties {
    use super::*;

    #[test]
    fn formatting_never_changes_the_split() {
        let mut state: u64 = 42;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        let separators = [" ", "-", "(", ")", ""];
        for _ in 0..5_000 {
            let cc = COUNTRY_CODES[(next() % COUNTRY_CODES.len() as u64) as usize];
            let national_len = 4 + (next() % (MAX_DIGITS - cc.len() - 3) as u64) as usize;
            let national: String = (0..national_len)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            let mut formatted = if next() % 2 == 0 {
                "+".to_owned()
            } else {
                String::new()
            };
            for ch in cc.chars().chain(national.chars()) {
                formatted.push(ch);
                formatted.push_str(separators[(next() % separators.len() as u64) as usize]);
            }
            let parsed =
                PhoneNumber::parse(&formatted).unwrap_or_else(|e| panic!("{formatted:?}: {e}"));
            assert_eq!(
                (parsed.country_code(), parsed.national_number()),
                (cc, national.as_str()),
                "{formatted:?}"
            );
            assert_eq!(PhoneNumber::parse(parsed.e164()).as_ref(), Ok(&parsed));
        }
    }

    #[test]
    fn arbitrary_text_never_panics() {
        let mut state: u64 = 7;
        let alphabet: Vec<char> = "+0123456789 -()x.#é\u{0}\u{1F600}".chars().collect();
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 20) as usize;
            let text: String = (0..len)
                .map(|i| alphabet[((state >> (i % 50)) % alphabet.len() as u64) as usize])
                .collect();
            if let Ok(n) = PhoneNumber::parse(&text) {
                assert!(n.e164().len() <= MAX_DIGITS + 1);
                assert_eq!(
                    format!("+{}{}", n.country_code(), n.national_number()),
                    n.e164()
                );
            }
        }
    }
}
