//! Phone numbers: parsing and validation with libphonenumber's metadata (the
//! `rlibphonenumber` crate), and the country-code split Meta expects.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use rlibphonenumber::{
    get_national_significant_number_owned, CreateUtilError, NumberLengthType, ParseError,
    PhoneNumberType, PhoneNumberUtil,
};
use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;

/// E.164 allows at most 15 digits including the country code.
const MAX_DIGITS: usize = 15;
/// The most digits a written number may have: E.164's 15 and a national
/// trunk prefix of up to two digits (`+44 (0)20 …`, Hungary's `06`), which
/// libphonenumber drops.
const MAX_WRITTEN_DIGITS: usize = MAX_DIGITS + 2;
/// The fewest: a country code and a national number have at least three.
const MIN_WRITTEN_DIGITS: usize = 3;

/// libphonenumber, built once on first use from the metadata compiled into
/// the binary; each country's patterns are compiled when a number of that
/// country is first read. Not `rlibphonenumber::PHONE_NUMBER_UTIL`, which
/// panics if the metadata cannot be loaded: here that is a typed error.
static UTIL: LazyLock<Result<PhoneNumberUtil, CreateUtilError>> =
    LazyLock::new(PhoneNumberUtil::new);

/// libphonenumber, or the error that says its metadata did not load.
fn util() -> Result<&'static PhoneNumberUtil, ValidationError> {
    UTIL.as_ref()
        .map_err(|_| ValidationError::PhoneMetadataUnavailable)
}

/// A phone number in international form, split into country calling code and
/// national number as the migration endpoint wants them (`cc`, `phone_number`).
///
/// Parsing reads the digits as an international number: `+14155550123`,
/// `+1 (415) 555-0123`, `+1.415.555.0123`, and digits only, as Meta writes a
/// `wa_id` (`14155550123`: without a `+`, the digits must still start with
/// the country code). A national trunk prefix written after the country code
/// is dropped where the country has one (`+44 (0)20 7946 0958` is
/// `+442079460958`); leading zeros that belong to the number stay (Italy's
/// `+39 06 …`).
///
/// The number must be valid for its country by libphonenumber's metadata.
/// Everything else is a [`ValidationError`] that says why: a character other
/// than digits, a leading `+`, spaces, dashes, dots and parentheses (letters
/// and extensions included), input longer than [`PhoneNumber::MAX_INPUT_LEN`],
/// an unknown country code, a length or a number range the country does not
/// have, or digits without `+` that read both as an international and as a
/// North American number.
///
/// Serialized as its E.164 string (`"+14155550123"`). Deserializing checks the
/// saved form (`+`, a known country code, at most 15 digits) without
/// re-validating the number against today's ranges, so saved sessions keep
/// loading across metadata updates; `parse` is the strict door.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Stored", into = "String")]
pub struct PhoneNumber {
    /// `+` followed by all digits.
    e164: String,
    /// Length of the country code inside `e164` (after the `+`).
    cc_len: usize,
}

impl PhoneNumber {
    /// The longest input [`parse`](Self::parse) reads, in bytes; longer input
    /// is refused before it is looked at.
    pub const MAX_INPUT_LEN: usize = 64;

    /// Parses and validates a phone number (see the type's documentation).
    ///
    /// # Errors
    /// A [`ValidationError`] when the input is too long, is not in
    /// international form (`+` and the country code), or is not a valid
    /// number for its country by libphonenumber's metadata
    /// ([`ValidationError::PhoneMetadataUnavailable`] if that metadata did not
    /// load).
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let written = Written::read(input)?;
        if !written.plus && written.formatted {
            // "322 661 8142" is how a Colombian mobile is written at home,
            // and also reads as a Brussels number: formatted numbers must
            // say their country.
            return Err(ValidationError::PlusRequired);
        }
        let util = util()?;
        let number = written.international(util)?;
        let parsed = Self::from_parsed(&number, written.digits())?;
        if !util.is_valid_number(&number) {
            return Err(invalid_for_country(util, &number));
        }
        if !written.is_exactly(&parsed) {
            // libphonenumber read other digits than were written (it applied
            // a local dialling rule): that would be somebody else's number.
            return Err(invalid_for_country(util, &number));
        }
        if let Some(north_american) = written.north_american_reading(util) {
            if parsed.country_code() != "1" {
                return Err(ValidationError::AmbiguousPhoneNumber {
                    international: parsed.e164,
                    north_american: north_american.e164,
                });
            }
        }
        Ok(parsed)
    }

    /// The E.164 form of a number libphonenumber read (not yet validated).
    fn from_parsed(
        number: &rlibphonenumber::PhoneNumber,
        written_digits: usize,
    ) -> Result<Self, ValidationError> {
        let country_code = number.country_code.to_string();
        let national = get_national_significant_number_owned(number);
        let e164 = format!("+{country_code}{national}");
        if e164.len() - 1 > MAX_DIGITS {
            return Err(ValidationError::PhoneNumberLength {
                digits: written_digits,
            });
        }
        Ok(Self {
            cc_len: country_code.len(),
            e164,
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

    /// A number from digits the caller built from a valid pattern (the
    /// simulator's numbered fleets; tests check samples).
    #[cfg(feature = "simulator")]
    pub(crate) fn from_digits(country_code: &'static str, national: &str) -> Self {
        Self {
            e164: format!("+{country_code}{national}"),
            cc_len: country_code.len(),
        }
    }

    /// The country calling code, digits only (`"1"`, `"49"`, `"353"`).
    pub fn country_code(&self) -> &str {
        self.e164.get(1..=self.cc_len).unwrap_or_default()
    }

    /// The national (significant) number, digits only, without the country
    /// code and without a trunk prefix, but with leading zeros that belong to
    /// the number (`"0669821234"` for Italy's `+39 06 6982 1234`).
    pub fn national_number(&self) -> &str {
        self.e164.get(1 + self.cc_len..).unwrap_or_default()
    }

    /// The E.164 form, `+` and digits (`"+14155550123"`).
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// Whether `display` (as Graph shows it, e.g. `"+1 415-555-0123"`)
    /// denotes this number: both are read as phone numbers and compared,
    /// so a trunk `(0)` or other punctuation makes no difference, and a
    /// display that is no phone number matches nothing.
    ///
    /// Graph may also list a number in the form it had before its country
    /// added digits to it, and that form matches too (either way round:
    /// this number in the earlier form, the display in today's); see
    /// [`is_earlier_form`]. No other display does.
    pub(crate) fn matches_display(&self, display: &str) -> bool {
        // The display is read as written (punctuation and a "(0)" trunk
        // prefix dropped) and compared number to number; libphonenumber is
        // consulted only for a display that has exactly the digits of an
        // earlier form, so a long list of many countries stays cheap.
        Written::read(display).is_ok_and(|written| {
            written.is_exactly(self)
                || is_earlier_form(&written.canonical, &self.e164)
                || is_earlier_form(&self.e164, &written.canonical)
        })
    }

    /// A number this crate saved itself (a session's E.164 string): `+`, a
    /// country code libphonenumber knows, and at most 15 digits in all. Not
    /// re-validated against today's number ranges, so a session saved by an
    /// earlier version (or before a metadata update) still loads.
    fn from_stored(stored: &str) -> Result<Self, ValidationError> {
        let digits = stored
            .strip_prefix('+')
            .ok_or(ValidationError::InvalidPhoneCharacter)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::InvalidPhoneCharacter);
        }
        if !(MIN_WRITTEN_DIGITS..=MAX_DIGITS).contains(&digits.len()) {
            return Err(ValidationError::PhoneNumberLength {
                digits: digits.len(),
            });
        }
        let util = util()?;
        let cc_len = (1..=3)
            .find(|&len| {
                digits
                    .get(..len)
                    .and_then(|cc| cc.parse::<i32>().ok())
                    .is_some_and(|cc| util.get_region_for_country_code(cc).is_some())
            })
            .ok_or(ValidationError::UnknownCountryCode)?;
        Ok(Self {
            e164: stored.to_owned(),
            cc_len,
        })
    }
}

/// Whether `old` (E.164) is the form `new` (E.164) had before its country
/// added digits to its numbers, the form Graph may still list it in:
///
/// - **Brazil (+55)**: mobile numbers got a ninth digit, a `9` put in front
///   of the 8-digit number after the 2-digit area code, from 2012 to 2016
///   (Anatel, Resolution 553). `+55 11 98765-4321` was `+55 11 8765-4321`.
///   Only when libphonenumber's metadata reads `new` as a valid mobile and
///   `old` as no valid number today: an 8-digit number that is still a
///   number of its own is not an earlier form. The radio (trunking) range
///   `7xxx-xxxx`, which kept 8 digits, is such a number: `+55 11 7765-4321`
///   is never taken for `+55 11 97765-4321`.
/// - **Côte d'Ivoire (+225)**: on 31 January 2021 numbers went from 8 to
///   10 digits (ARTCI; ITU-T E.129 notification): mobile numbers got the
///   prefix of the operator that holds their series, `01` (Moov), `05`
///   (MTN) or `07` (Orange). `+225 07 08 12 34 56` was `+225 08 12 34 56`.
///   Only for a series the plan assigned to that prefix
///   ([`ivorian_mobile_prefix`]), and only when the metadata reads `new` as
///   a valid mobile and `old` as no valid number today. Fixed lines
///   (prefixes `21`, `25`, `27`) are not matched in their 8-digit form.
///
/// Anything else — another country, another length, digits that differ
/// anywhere else — is not an earlier form.
pub(crate) fn is_earlier_form(old: &str, new: &str) -> bool {
    let digits_match = if let (Some(old_national), Some(new_national)) =
        (old.strip_prefix("+55"), new.strip_prefix("+55"))
    {
        // DD 9 XXXXXXXX and DD XXXXXXXX.
        new_national.len() == 11
            && old_national.len() == 10
            && new_national.get(2..3) == Some("9")
            && new_national.get(..2) == old_national.get(..2)
            && new_national.get(3..) == old_national.get(2..)
    } else if let (Some(old_national), Some(new_national)) =
        (old.strip_prefix("+225"), new.strip_prefix("+225"))
    {
        // PP XXXXXXXX and XXXXXXXX, PP the prefix of the series XX.
        new_national.len() == 10
            && old_national.len() == 8
            && new_national.get(2..) == Some(old_national)
            && new_national.get(..2).is_some()
            && new_national.get(..2) == ivorian_mobile_prefix(old_national)
    } else {
        false
    };
    // The metadata is read only for a pair whose digits fit.
    digits_match && is_valid_mobile_today(new) && !is_valid_today(old)
}

/// The prefix a Côte d'Ivoire mobile number of the 8-digit plan got on 31
/// January 2021, by its first two digits (the series): Moov's series
/// (`01`–`03`, `40`–`43`, `50`–`53`, `70`–`73`) `01`, MTN's (`04`–`06`,
/// `44`–`46`, `54`–`56`, `64`–`66`, `74`–`76`, `84`–`86`, `94`–`96`) `05`,
/// Orange's (`07`–`09`, `47`–`49`, `57`–`59`, `67`–`69`, `77`–`79`,
/// `87`–`89`, `97`, `98`) `07`; `None` for a series that was no mobile one.
/// Source: the ITU-T E.129 notification of the change of Côte d'Ivoire's
/// plan (as republished with the ARTCI's conversion table).
pub(crate) fn ivorian_mobile_prefix(old_national: &str) -> Option<&'static str> {
    let series = old_national.get(..2)?;
    let mut digits = series.bytes().map(|b| b.wrapping_sub(b'0'));
    let (tens, units) = (digits.next()?, digits.next()?);
    match (tens, units) {
        (0 | 4 | 5 | 7, 1..=3) | (4 | 5 | 7, 0) => Some("01"),
        (0 | 4 | 5 | 6 | 7 | 8 | 9, 4..=6) => Some("05"),
        (0 | 4 | 5 | 6 | 7 | 8, 7..=9) | (9, 7 | 8) => Some("07"),
        _ => None,
    }
}

/// Whether libphonenumber's metadata reads `e164` as a valid number today.
fn is_valid_today(e164: &str) -> bool {
    util().is_ok_and(|util| {
        util.parse(e164, None)
            .is_ok_and(|number| util.is_valid_number(&number))
    })
}

/// Whether libphonenumber's metadata reads `e164` as a valid mobile number
/// today.
fn is_valid_mobile_today(e164: &str) -> bool {
    util().is_ok_and(|util| {
        util.parse(e164, None).is_ok_and(|number| {
            util.is_valid_number(&number)
                && matches!(
                    util.get_number_type(&number),
                    PhoneNumberType::Mobile | PhoneNumberType::FixedLineOrMobile
                )
        })
    })
}

/// The digits of a written number, with a `+` in front, before libphonenumber
/// reads them.
struct Written {
    /// `+` and the digits, in the order written.
    canonical: String,
    /// Whether the input started with `+`.
    plus: bool,
    /// Whether the input had separators (spaces, dashes, dots, parentheses).
    formatted: bool,
    /// Where a single digit written in parentheses (a trunk prefix such as
    /// `(0)`) stands among the digits.
    trunk_at: Option<usize>,
}

impl Written {
    /// Checks the characters and the digit count; keeps the digits.
    fn read(input: &str) -> Result<Self, ValidationError> {
        if input.len() > PhoneNumber::MAX_INPUT_LEN {
            return Err(ValidationError::PhoneInputTooLong {
                len: input.len(),
                max: PhoneNumber::MAX_INPUT_LEN,
            });
        }
        let trimmed = input.trim();
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut canonical = String::with_capacity(1 + MAX_WRITTEN_DIGITS);
        canonical.push('+');
        let mut formatted = false;
        for ch in rest.chars() {
            match ch {
                '0'..='9' => canonical.push(ch),
                ' ' | '-' | '.' | '(' | ')' => formatted = true,
                _ => return Err(ValidationError::InvalidPhoneCharacter),
            }
        }
        // "(d)": one digit in parentheses, as in "+44 (0)20 …".
        let trunk_at = rest.find('(').and_then(|open| {
            let inner = rest.get(open + 1..)?;
            let mut chars = inner.chars();
            match (chars.next(), chars.next()) {
                (Some(d), Some(')')) if d.is_ascii_digit() => {
                    Some(rest.get(..open)?.bytes().filter(u8::is_ascii_digit).count())
                }
                _ => None,
            }
        });
        let written = Self {
            canonical,
            plus,
            formatted,
            trunk_at,
        };
        let digits = written.digits();
        if digits == 0 {
            return Err(ValidationError::EmptyPhoneNumber);
        }
        if !(MIN_WRITTEN_DIGITS..=MAX_WRITTEN_DIGITS).contains(&digits) {
            return Err(ValidationError::PhoneNumberLength { digits });
        }
        Ok(written)
    }

    /// How many digits were written.
    fn digits(&self) -> usize {
        self.canonical.len() - 1
    }

    /// Whether `number` is exactly the digits written, or those digits less
    /// a trunk prefix right after the country code (written in parentheses,
    /// or a 0). Anything else means the reading added, dropped or changed
    /// digits (local dialling rules applied to an international number).
    fn is_exactly(&self, number: &PhoneNumber) -> bool {
        if number.e164 == self.canonical {
            return true;
        }
        // One digit dropped right after the country code: a trunk prefix,
        // when written in parentheses ("+44 (0)20 …") or when it is a 0
        // ("+44 020 …"). Never digits added or changed.
        let at = number.cc_len;
        let dropped = self.canonical.get(at + 1..at + 2);
        let trunk = self.trunk_at == Some(at) || dropped == Some("0");
        if !trunk {
            return false;
        }
        let mut without = self.canonical.clone();
        if at + 1 < without.len() {
            without.remove(at + 1);
        }
        number.e164 == without
    }

    /// libphonenumber's reading of the digits as an international number.
    fn international(
        &self,
        util: &PhoneNumberUtil,
    ) -> Result<rlibphonenumber::PhoneNumber, ValidationError> {
        let number = util
            .parse(&self.canonical, None)
            .map_err(|error| match error {
                ParseError::InvalidCountryCode => ValidationError::UnknownCountryCode,
                ParseError::TooShortAfterIdd | ParseError::TooShortNsn | ParseError::TooLongNsn => {
                    ValidationError::PhoneNumberLength {
                        digits: self.digits(),
                    }
                }
                ParseError::NotANumber(_) => ValidationError::NotAPhoneNumber,
            })?;
        if number.extension.is_some() {
            return Err(ValidationError::NotAPhoneNumber);
        }
        Ok(number)
    }

    /// Ten digits written without `+` that are a valid North American
    /// number once `1` is put in front: the input may be a US or Canadian
    /// number written without its country code.
    fn north_american_reading(&self, util: &PhoneNumberUtil) -> Option<PhoneNumber> {
        let national = self.canonical.strip_prefix('+')?;
        if self.plus || national.len() != 10 {
            return None;
        }
        let number = util.parse(format!("+1{national}"), None).ok()?;
        let reading = PhoneNumber::from_parsed(&number, national.len() + 1).ok()?;
        (reading.country_code() == "1" && util.is_valid_number(&number)).then_some(reading)
    }
}

/// Why libphonenumber finds `number` invalid: a length no number of its
/// country has (libphonenumber's possible lengths for the country, local-only
/// lengths not counted), or a number range the country does not have.
fn invalid_for_country(
    util: &PhoneNumberUtil,
    number: &rlibphonenumber::PhoneNumber,
) -> ValidationError {
    let Ok(country_code) = u16::try_from(number.country_code) else {
        return ValidationError::UnknownCountryCode;
    };
    match util.is_possible_number_with_reason(number) {
        Ok(NumberLengthType::IsPossible)
        | Err(rlibphonenumber::ValidationError::InvalidCountryCode) => {
            ValidationError::InvalidNumberForCountry { country_code }
        }
        Ok(NumberLengthType::IsPossibleLocalOnly)
        | Err(
            rlibphonenumber::ValidationError::TooShort
            | rlibphonenumber::ValidationError::InvalidLength
            | rlibphonenumber::ValidationError::TooLong,
        ) => ValidationError::PhoneNumberLengthForCountry {
            country_code,
            digits: get_national_significant_number_owned(number).len(),
        },
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

/// The serialized form: checked as the crate saved it, not re-validated (see
/// `PhoneNumber::from_stored`).
#[derive(Deserialize)]
#[serde(transparent)]
struct Stored(String);

impl TryFrom<Stored> for PhoneNumber {
    type Error = ValidationError;

    fn try_from(value: Stored) -> Result<Self, Self::Error> {
        Self::from_stored(&value.0)
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
        let n = PhoneNumber::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
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
            "+1.415.555.0123",
            "+1 (415) 555-0123",
            "+ 1 415 555 0123",
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
    fn drops_trunk_prefixes_and_keeps_leading_zeros_of_the_number() {
        assert_eq!(
            split("+44 (0)20 7946 0958"),
            ("44".into(), "2079460958".into())
        );
        assert_eq!(
            split("+33 (0)1 23 45 67 89"),
            ("33".into(), "123456789".into())
        );
        assert_eq!(
            split("+39 06 6982 1234"),
            ("39".into(), "0669821234".into())
        );
        assert_eq!(
            split("+39 (0)6 6982 1234"),
            ("39".into(), "0669821234".into())
        );
    }

    #[test]
    fn rejects_everything_else() {
        use ValidationError::*;
        let cases: &[(&str, ValidationError)] = &[
            ("", EmptyPhoneNumber),
            ("   ", EmptyPhoneNumber),
            ("+", EmptyPhoneNumber),
            ("()--", EmptyPhoneNumber),
            ("+1 415 CALL NOW", InvalidPhoneCharacter),
            ("1+4155550123", InvalidPhoneCharacter),
            ("++14155550123", InvalidPhoneCharacter),
            ("+1 415 555 0123 ext 9", InvalidPhoneCharacter),
            ("+1 415 555 0123;ext=9", InvalidPhoneCharacter),
            ("tel:+14155550123", InvalidPhoneCharacter),
            ("+1/415/555/0123", InvalidPhoneCharacter),
            ("+1\t415 555 0123", InvalidPhoneCharacter),
            ("+1 415 555 0123\u{0}", InvalidPhoneCharacter),
            ("+\u{FF11}4155550123", InvalidPhoneCharacter),
            ("+1 ٤١٥ 555 0123", InvalidPhoneCharacter),
            ("+12", PhoneNumberLength { digits: 2 }),
            ("+123456789012345678", PhoneNumberLength { digits: 18 }),
            ("0301234567", UnknownCountryCode),
            ("+0044 20 7946 0958", UnknownCountryCode),
            ("+28 1234567", UnknownCountryCode),
            ("+999 123 456", UnknownCountryCode),
            ("+1234567890123456", PhoneNumberLength { digits: 16 }),
            (
                "+1 234",
                PhoneNumberLengthForCountry {
                    country_code: 1,
                    digits: 3,
                },
            ),
            (
                "+1 555-555-0123",
                InvalidNumberForCountry { country_code: 1 },
            ),
        ];
        for (input, want) in cases {
            assert_eq!(PhoneNumber::parse(input).as_ref(), Err(want), "{input:?}");
        }
    }

    #[test]
    fn oversized_input_is_refused_before_it_is_read() {
        let padded = format!("+14155550123{}", " ".repeat(PhoneNumber::MAX_INPUT_LEN));
        assert_eq!(
            PhoneNumber::parse(&padded),
            Err(ValidationError::PhoneInputTooLong {
                len: padded.len(),
                max: PhoneNumber::MAX_INPUT_LEN,
            })
        );
        let huge = "9".repeat(1 << 20);
        assert!(matches!(
            PhoneNumber::parse(&huge),
            Err(ValidationError::PhoneInputTooLong { .. })
        ));
    }

    #[test]
    fn digits_that_also_read_as_a_north_american_number_are_refused() {
        // +47 55 51 23 45 is a Norwegian number, and 475-551-2345 one in
        // Connecticut written without its country code.
        assert_eq!(
            PhoneNumber::parse("4755512345"),
            Err(ValidationError::AmbiguousPhoneNumber {
                international: "+4755512345".into(),
                north_american: "+14755512345".into(),
            })
        );
        // With the `+`, it is the Norwegian number.
        assert_eq!(split("+47 55 51 23 45"), ("47".into(), "55512345".into()));
    }

    #[test]
    fn serializes_as_e164_and_round_trips() {
        let n = PhoneNumber::parse("+1 (415) 555-0123").unwrap();
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, "\"+14155550123\"");
        assert_eq!(serde_json::from_str::<PhoneNumber>(&json).unwrap(), n);
        assert!(serde_json::from_str::<PhoneNumber>("\"+1 CALL\"").is_err());
        assert!(serde_json::from_str::<PhoneNumber>("\"+4402079460958\"").is_ok());
        // A saved number is checked for its form, not re-validated against
        // today's ranges (so old sessions load); parse stays strict.
        assert!(serde_json::from_str::<PhoneNumber>("\"+4155550123\"").is_ok());
        assert!(PhoneNumber::parse("+4155550123").is_err());
        assert!(serde_json::from_str::<PhoneNumber>("\"+9991234567\"").is_err());
        assert!(serde_json::from_str::<PhoneNumber>("\"14155550123\"").is_err());
        assert_eq!(n.to_string(), "+14155550123");
    }

    #[test]
    fn matches_graph_display_form() {
        let n = PhoneNumber::parse("+14155550123").unwrap();
        assert!(n.matches_display("+1 415-555-0123"));
        assert!(n.matches_display("14155550123"));
        assert!(!n.matches_display("+1 415-555-0124"));
        assert!(!n.matches_display("+1 415-555-01234"));
        assert!(!n.matches_display("+1 415 CALL NOW"));
        assert!(!n.matches_display(""));

        let uk = PhoneNumber::parse("+442079460958").unwrap();
        assert!(uk.matches_display("+44 20 7946 0958"));
        assert!(uk.matches_display("+44 (0)20 7946 0958"));
        assert!(!uk.matches_display("+44 20 7946 0959"));

        let it = PhoneNumber::parse("+39 06 6982 1234").unwrap();
        assert!(it.matches_display("+39 06 6982 1234"));
        assert!(!it.matches_display("+39 6 6982 1234"));
    }

    #[test]
    fn brazilian_mobiles_match_with_or_without_the_ninth_digit() {
        let n = PhoneNumber::parse("+55 11 98765-4321").unwrap();
        for display in [
            "+55 11 98765-4321",
            "+55 11 8765-4321",
            "+55 (11) 8765-4321",
            "551187654321",
        ] {
            assert!(n.matches_display(display), "{display}");
        }
        for other in [
            "+55 21 8765-4321",
            "+55 11 8765-4322",
            "+55 11 9876-5432",
            "+55 11 98765-432",
            "+55 11 88765-4321",
            "+351 1187654321",
        ] {
            assert!(!n.matches_display(other), "{other}");
        }
        // The radio range kept its 8 digits, and a fixed line is a number
        // of its own: neither is an earlier form.
        let radio_neighbour = PhoneNumber::parse("+55 11 97765-4321").unwrap();
        assert!(!radio_neighbour.matches_display("+55 11 7765-4321"));
        let fixed_neighbour = PhoneNumber::parse("+55 11 92765-4321").unwrap();
        assert!(!fixed_neighbour.matches_display("+55 11 2765-4321"));
        // A session saved with the earlier form meets today's display.
        let saved: PhoneNumber = serde_json::from_str("\"+551187654321\"").unwrap();
        assert!(saved.matches_display("+55 11 98765-4321"));
        assert!(!saved.matches_display("+55 11 98765-4320"));
    }

    #[test]
    fn ivorian_mobiles_match_in_their_8_digit_form_under_their_operator_prefix() {
        for (today, before) in [
            ("+225 07 07 12 34 56", "+225 07 12 34 56"),
            ("+225 07 47 12 34 56", "+225 47 12 34 56"),
            ("+225 07 98 12 34 56", "+225 98 12 34 56"),
            ("+225 05 05 23 45 67", "+225 05 23 45 67"),
            ("+225 05 47 12 34 56", "+225 47 12 34 56"),
            ("+225 01 43 12 34 56", "+225 43 12 34 56"),
            ("+225 01 01 12 34 56", "+225 01 12 34 56"),
        ] {
            let n = PhoneNumber::parse(today).unwrap_or_else(|e| panic!("{today}: {e}"));
            assert!(n.matches_display(today), "{today}");
            let series_prefix = ivorian_mobile_prefix(&before.replace([' ', '+'], "")[3..]);
            let expected = series_prefix == Some(&n.national_number()[..2]);
            assert_eq!(n.matches_display(before), expected, "{today} / {before}");
        }
        let orange = PhoneNumber::parse("+225 07 08 12 34 56").unwrap();
        assert!(orange.matches_display("+225 08 12 34 56"));
        assert!(orange.matches_display("22508123456"));
        // The same 8 digits under another operator's prefix: another number.
        let mtn = PhoneNumber::parse("+225 05 08 12 34 56").unwrap();
        assert!(!mtn.matches_display("+225 08 12 34 56"));
        assert!(!orange.matches_display("+225 08 12 34 57"));
        assert!(!orange.matches_display("+225 07 12 34 56"));
    }

    #[test]
    fn the_ivorian_series_table() {
        let table = |prefix: &str| -> Vec<String> {
            (0..100)
                .map(|n| format!("{n:02}"))
                .filter(|series| ivorian_mobile_prefix(&format!("{series}123456")) == Some(prefix))
                .collect()
        };
        let series = |list: &str| -> Vec<String> { list.split(' ').map(str::to_owned).collect() };
        assert_eq!(
            table("01"),
            series("01 02 03 40 41 42 43 50 51 52 53 70 71 72 73")
        );
        assert_eq!(
            table("05"),
            series("04 05 06 44 45 46 54 55 56 64 65 66 74 75 76 84 85 86 94 95 96")
        );
        assert_eq!(
            table("07"),
            series("07 08 09 47 48 49 57 58 59 67 68 69 77 78 79 87 88 89 97 98")
        );
        for none in ["00", "10", "20", "36", "60", "99", "", "7", "x1"] {
            assert_eq!(ivorian_mobile_prefix(none), None, "{none:?}");
        }
    }

    #[cfg(feature = "simulator")]
    #[test]
    fn literals_used_by_the_simulator_are_valid() {
        let literal = PhoneNumber::from_literal("1", "4155550123");
        assert_eq!(PhoneNumber::parse(literal.e164()), Ok(literal));
    }
}

/// Property-style checks (seeded, no extra dependency).
#[cfg(test)]
mod properties {
    use super::*;
    use rlibphonenumber::{PhoneNumberFormat, PhoneNumberType};

    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed;
        move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        }
    }

    /// libphonenumber's own example numbers of every country, written with
    /// random separators, with and without `+`: the result never depends on
    /// the formatting, and a parsed number parses to itself.
    #[test]
    fn formatting_never_changes_the_number() {
        let mut next = rng(42);
        let separators = [" ", "-", "(", ")", ".", ""];
        let mut accepted = 0;
        let mut examples = 0;
        let util = util().unwrap();
        for region in util.get_supported_regions() {
            for example in [PhoneNumberType::FixedLine, PhoneNumberType::Mobile]
                .into_iter()
                .filter_map(|kind| {
                    util.get_example_number_for_type_and_region(region, kind)
                        .ok()
                })
            {
                examples += 1;
                let plain = util.format(&example, PhoneNumberFormat::E164).into_owned();
                let Ok(want) = PhoneNumber::parse(&plain) else {
                    continue;
                };
                accepted += 1;
                assert_eq!(PhoneNumber::parse(want.e164()).as_ref(), Ok(&want));
                assert_eq!(
                    format!("+{}{}", want.country_code(), want.national_number()),
                    want.e164()
                );
                for _ in 0..2 {
                    let mut formatted = if next().is_multiple_of(2) { "+" } else { "" }.to_owned();
                    for ch in plain.chars().skip(1) {
                        formatted.push(ch);
                        let i = (next() % separators.len() as u64) as usize;
                        formatted.push_str(separators[i]);
                    }
                    match PhoneNumber::parse(&formatted) {
                        Ok(got) => assert_eq!(got, want, "{formatted:?}"),
                        // Without `+`, ten digits may also be a North
                        // American number: refused, never misread.
                        Err(ValidationError::AmbiguousPhoneNumber { international, .. }) => {
                            assert!(!formatted.starts_with('+'), "{formatted:?}");
                            assert_eq!(international, want.e164(), "{formatted:?}");
                        }
                        // Formatted without `+`: refused, never misread.
                        Err(ValidationError::PlusRequired) => {
                            assert!(!formatted.starts_with('+'), "{formatted:?}");
                        }
                        Err(e) => panic!("{formatted:?}: {e}"),
                    }
                }
            }
        }
        // Nearly all of libphonenumber's examples are valid numbers.
        assert!(accepted * 100 >= examples * 95, "{accepted} of {examples}");
    }

    #[test]
    fn arbitrary_text_never_panics() {
        let mut state: u64 = 7;
        let alphabet: Vec<char> = "+0123456789 -().x#é٣\u{FF11}\u{0}\u{7}\n\u{1F600}"
            .chars()
            .collect();
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 24) as usize;
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

    /// Everything libphonenumber is handed is `+` and 3 to 17 digits: this
    /// walks that space at random, with and without a real country code.
    /// (Slow: libphonenumber compiles each country's patterns on first use.)
    #[test]
    fn random_digits_never_panic() {
        let mut next = rng(2024);
        let codes: Vec<i32> = util().unwrap().get_supported_calling_codes().collect();
        for i in 0..2_000 {
            let mut text = if i % 3 == 0 {
                String::new()
            } else {
                "+".into()
            };
            if i % 2 == 0 {
                let code = codes[(next() % codes.len() as u64) as usize];
                text.push_str(&code.to_string());
            }
            for _ in 0..(next() % (MAX_WRITTEN_DIGITS as u64 + 2)) {
                text.push(char::from(b'0' + (next() % 10) as u8));
            }
            match PhoneNumber::parse(&text) {
                Ok(n) => {
                    assert!(n.e164().len() <= MAX_DIGITS + 1, "{text:?}");
                    assert!(n.matches_display(&text), "{text:?}");
                }
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
    }
}

/// Property: a display matches a number only when it is that number, or
/// the earlier form of a Brazilian or Ivorian mobile (the one its digits
/// allow); every other display — a digit changed, dropped or added, another
/// operator's prefix, another area, random digits — matches nothing.
#[cfg(test)]
mod other_numbers_never_match {
    use super::*;
    use proptest::prelude::*;

    /// The only display forms a number may match: its own digits (also with
    /// a trunk `0` written after the country code, as `+44 020 …`), and for
    /// a Brazilian mobile the digits without the ninth digit, for an
    /// Ivorian mobile the digits without the operator prefix.
    fn allowed(number: &PhoneNumber) -> Vec<String> {
        let e164 = number.e164();
        let mut forms = vec![
            e164.to_owned(),
            format!("+{}0{}", number.country_code(), number.national_number()),
        ];
        if number.country_code() == "55" && number.national_number().len() == 11 {
            forms.push(format!("{}{}", &e164[..5], &e164[6..]));
        }
        if number.country_code() == "225" && number.national_number().len() == 10 {
            forms.push(format!("{}{}", &e164[..4], &e164[6..]));
        }
        forms
    }

    /// Brazilian mobiles over many area codes, Ivorian mobiles of every
    /// operator, and a few numbers of other countries.
    fn number() -> impl Strategy<Value = PhoneNumber> {
        let digits = |n: usize| proptest::collection::vec(0u8..10, n);
        let brazil = (11u8..100, 6u8..10, digits(7)).prop_map(|(area, first, rest)| {
            let rest: String = rest.iter().map(|d| char::from(b'0' + d)).collect();
            format!("+55{area}9{first}{rest}")
        });
        let ivory_coast = (
            prop::sample::select(vec!["01", "05", "07"]),
            0u8..10,
            0u8..10,
            digits(6),
        )
            .prop_map(|(prefix, tens, units, rest)| {
                let rest: String = rest.iter().map(|d| char::from(b'0' + d)).collect();
                format!("+225{prefix}{tens}{units}{rest}")
            });
        let others = prop::sample::select(vec![
            "+14155550123",
            "+447911123456",
            "+5511987654321",
            "+351912345678",
            "+2250708123456",
        ])
        .prop_map(str::to_owned);
        prop_oneof![4 => brazil, 4 => ivory_coast, 1 => others]
            .prop_filter_map("a valid number", |e164| PhoneNumber::parse(&e164).ok())
    }

    /// A display near `number`: its earlier form or itself, one digit
    /// changed, dropped or added, another prefix or area, or random digits
    /// after its country code; written with or without `+` and separators.
    fn display(number: &PhoneNumber) -> impl Strategy<Value = String> {
        let allowed = allowed(number);
        let e164 = number.e164().to_owned();
        let cc = number.country_code().to_owned();
        let len = e164.len();
        let near = (
            0usize..8,
            1usize..len,
            0u8..10,
            any::<bool>(),
            any::<bool>(),
        );
        (
            prop::sample::select(allowed),
            near,
            proptest::collection::vec(0u8..10, 6..13),
        )
            .prop_map(move |(form, (how, at, digit, plus, spaced), random)| {
                let digit = char::from(b'0' + digit);
                let mut text = form.clone();
                let at = at.min(text.len() - 1).max(1);
                match how {
                    0 | 1 => {}
                    2 => text.replace_range(at..=at, &digit.to_string()),
                    3 => {
                        text.remove(at);
                    }
                    4 => text.insert(at, digit),
                    5 => {
                        text = format!(
                            "+{cc}{}",
                            random
                                .iter()
                                .map(|d| char::from(b'0' + d))
                                .collect::<String>()
                        )
                    }
                    6 if text.len() > 1 + cc.len() + 2 => {
                        // Another 2-digit prefix or area code.
                        let start = 1 + cc.len();
                        text.replace_range(start..start + 1, &digit.to_string());
                    }
                    _ => text = e164.clone(),
                }
                let mut written = if plus {
                    text.clone()
                } else {
                    text.trim_start_matches('+').to_owned()
                };
                if spaced && written.len() > 6 {
                    written.insert(4, ' ');
                    written.insert(8, '-');
                }
                written
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn a_display_matches_only_the_number_or_its_earlier_form(
            (number, display) in number().prop_flat_map(|n| (Just(n.clone()), display(&n)))
        ) {
            let digits: String = display.chars().filter(char::is_ascii_digit).collect();
            let allowed = allowed(&number);
            if number.matches_display(&display) {
                prop_assert!(
                    allowed.iter().any(|form| form[1..] == digits),
                    "{} matched {display:?}, which is neither it nor its earlier form",
                    number.e164()
                );
            }
            // The number itself always matches, whatever the writing.
            prop_assert!(number.matches_display(number.e164()));
        }
    }
}
