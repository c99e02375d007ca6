//! Secrets: the access token, the registration PIN and the verification code.
//!
//! Each is a newtype whose `Debug` prints `[redacted]`, that has no `Display`
//! and no `Serialize`, so it cannot reach a log line, an error message or a
//! persisted [`PortingSession`](crate::PortingSession) by accident. Reading the
//! value takes an explicit call to `secret()`.

use std::fmt;

use crate::validation::ValidationError;

const REDACTED: &str = "[redacted]";

/// A Graph API access token for the destination WABA.
///
/// It needs `whatsapp_business_management` (and `whatsapp_business_messaging`
/// for `register`). The client sends it only in the `Authorization: Bearer`
/// header, never in a URL.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    /// Wraps a token. Surrounding whitespace is trimmed; emptiness is checked
    /// when the client is built ([`ConfigError::MissingAccessToken`](crate::ConfigError::MissingAccessToken)).
    pub fn new(token: impl Into<String>) -> Self {
        let token = token.into();
        let trimmed = token.trim();
        if trimmed.len() == token.len() {
            Self(token)
        } else {
            Self(trimmed.to_owned())
        }
    }

    /// The token itself. Handle with care: never log it.
    pub fn secret(&self) -> &str {
        &self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for AccessToken {
    fn from(token: String) -> Self {
        Self::new(token)
    }
}

impl From<&str> for AccessToken {
    fn from(token: &str) -> Self {
        Self::new(token)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AccessToken").field(&REDACTED).finish()
    }
}

/// Six ASCII digits, the only shape Meta accepts for PINs and codes.
fn six_digits(digits: &str) -> bool {
    digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The 6-digit PIN given to `register`.
///
/// With two-step verification off, this PIN becomes the number's new
/// two-step verification PIN.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    /// Validates a 6-digit PIN. The error never echoes the input.
    ///
    /// # Errors
    /// [`ValidationError::InvalidPin`] unless the input is exactly six
    /// digits.
    pub fn new(pin: impl AsRef<str>) -> Result<Self, ValidationError> {
        let pin = pin.as_ref().trim();
        if six_digits(pin) {
            Ok(Self(pin.to_owned()))
        } else {
            Err(ValidationError::InvalidPin)
        }
    }

    /// The PIN itself. Handle with care: never log it.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// A new random PIN from the operating system's random source, never
    /// one of the easily guessed (all one digit, or six digits in a row up
    /// or down).
    ///
    /// The PIN a register sends becomes the number's two-step verification
    /// PIN (when two-step verification is off), so keep it: every register
    /// of a session must send the same PIN (one whose answer was lost may
    /// have set it), and changing it later
    /// ([`PortingClient::set_two_step_pin`](crate::PortingClient::set_two_step_pin))
    /// starts from it. Store it as a secret beside the session (sessions
    /// never hold it), encrypted at rest.
    ///
    /// # Errors
    /// The operating system's random source failed.
    pub fn generate() -> Result<Self, std::io::Error> {
        loop {
            let mut bytes = [0u8; 4];
            getrandom::fill(&mut bytes).map_err(std::io::Error::other)?;
            let value = u32::from_le_bytes(bytes);
            // Rejection sampling: only draws below a multiple of 10^6 keep
            // every PIN equally likely.
            if value >= 4_294_000_000 {
                continue;
            }
            let pin = format!("{:06}", value % 1_000_000);
            if !guessable(&pin) {
                return Ok(Self(pin));
            }
        }
    }
}

/// All one digit, or six consecutive digits up or down.
fn guessable(pin: &str) -> bool {
    let digits = pin.as_bytes();
    let steps: Vec<i16> = digits
        .windows(2)
        .filter_map(|w| Some(i16::from(*w.get(1)?) - i16::from(*w.first()?)))
        .collect();
    steps.iter().all(|d| *d == 0) || steps.iter().all(|d| *d == 1) || steps.iter().all(|d| *d == -1)
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pin").field(&REDACTED).finish()
    }
}

/// Your Meta app's secret (App Dashboard → App settings → Basic → App
/// secret): the `client_secret` of the Embedded Signup code exchange, and
/// (feature `webhooks`) the key Meta signs every webhook delivery with.
///
/// Surrounding whitespace is trimmed. An empty secret signs nothing: a
/// webhook receiver built with one refuses every delivery.
#[derive(Clone, PartialEq, Eq)]
pub struct AppSecret(String);

impl AppSecret {
    /// Wraps an app secret.
    pub fn new(secret: impl Into<String>) -> Self {
        let secret = secret.into();
        let trimmed = secret.trim();
        if trimmed.len() == secret.len() {
            Self(secret)
        } else {
            Self(trimmed.to_owned())
        }
    }

    /// The secret itself. Handle with care: never log it.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for AppSecret {
    fn from(secret: String) -> Self {
        Self::new(secret)
    }
}

impl From<&str> for AppSecret {
    fn from(secret: &str) -> Self {
        Self::new(secret)
    }
}

impl fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AppSecret").field(&REDACTED).finish()
    }
}

/// The verification code received by SMS or voice call.
///
/// Accepts the form shown in the SMS (`123-830`) and the bare digits
/// (`123830`); the hyphen and spaces are removed before sending.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode(String);

impl VerificationCode {
    /// Validates a code. The error never echoes the input.
    ///
    /// # Errors
    /// [`ValidationError::InvalidVerificationCode`] unless the input is six
    /// digits (a hyphen or spaces between them are allowed).
    pub fn new(code: impl AsRef<str>) -> Result<Self, ValidationError> {
        let digits: String = code
            .as_ref()
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .collect();
        if six_digits(&digits) {
            Ok(Self(digits))
        } else {
            Err(ValidationError::InvalidVerificationCode)
        }
    }

    /// The code as sent to Meta (6 digits, no hyphen). Never log it.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("VerificationCode").field(&REDACTED).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_every_secret() {
        let token = AccessToken::new("EAAG-very-secret");
        let pin = Pin::new("654321").unwrap();
        let code = VerificationCode::new("123-830").unwrap();
        for shown in [
            format!("{token:?}"),
            format!("{pin:?}"),
            format!("{code:?}"),
            format!("{token:#?}{pin:#?}{code:#?}"),
        ] {
            assert!(shown.contains("[redacted]"), "{shown}");
            for secret in ["EAAG", "654321", "123830", "123-830"] {
                assert!(!shown.contains(secret), "{shown} leaks {secret}");
            }
        }
    }

    #[test]
    fn verification_code_accepts_hyphenated_and_bare() {
        assert_eq!(VerificationCode::new("123-830").unwrap().secret(), "123830");
        assert_eq!(VerificationCode::new("123830").unwrap().secret(), "123830");
        assert_eq!(
            VerificationCode::new(" 123 830 ").unwrap().secret(),
            "123830"
        );
    }

    #[test]
    fn verification_code_rejects_other_shapes() {
        for bad in ["", "12345", "1234567", "12a830", "123_830", "１２３８３０"] {
            assert_eq!(
                VerificationCode::new(bad),
                Err(ValidationError::InvalidVerificationCode),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn pin_is_six_digits() {
        assert_eq!(Pin::new("000000").unwrap().secret(), "000000");
        for bad in ["", "12345", "1234567", "12-456", "abcdef"] {
            assert_eq!(Pin::new(bad), Err(ValidationError::InvalidPin), "{bad:?}");
        }
    }

    #[test]
    fn token_is_trimmed() {
        assert_eq!(AccessToken::new("  abc \n").secret(), "abc");
        assert!(AccessToken::new("   ").is_empty());
    }

    #[test]
    fn validation_errors_do_not_echo_secrets() {
        let err = Pin::new("98765x").unwrap_err();
        assert!(!err.to_string().contains("98765"));
        let err = VerificationCode::new("55512").unwrap_err();
        assert!(!err.to_string().contains("55512"));
    }

    #[test]
    fn generated_pins_are_valid_varied_and_not_guessable() {
        let pins: Vec<Pin> = (0..200).map(|_| Pin::generate().unwrap()).collect();
        for pin in &pins {
            assert!(Pin::new(pin.secret()).is_ok());
            assert!(!guessable(pin.secret()));
        }
        let distinct: std::collections::HashSet<&str> = pins.iter().map(Pin::secret).collect();
        assert!(distinct.len() > 190, "{} distinct of 200", distinct.len());
        assert!(guessable("111111") && guessable("123456") && guessable("654321"));
        assert!(!guessable("123457") && !guessable("482913"));
    }
}

/// `text` (a server's message) with anything shaped like a secret this
/// crate sends masked: a run of exactly six digits, optionally split
/// `123-456` (a PIN, a verification code), also right after a short word
/// (`PIN482913`), and a long word mixing letters and digits (an access
/// token). Ids (15+ digits), words, Graph codes (`(#133005)`) and the
/// groups of a phone number (`+44 7700 900123`, `07700 900123`) stay.
///
/// A group counts as a phone number's only when it follows a `+`-led
/// number, or a number of at least three digits, across nothing but
/// spaces, dots and parentheses: `attempt 2: 482913` is masked.
///
/// This is the fallback for text whose secrets the crate does not know;
/// an answer to a request the client sent also has what that request
/// carried masked exactly ([`redact_sent`]).
pub(crate) fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    // The characters between the last word and the current one.
    let mut gap = Gap::default();
    // The run of digit groups (a phone number's?) the last word ended.
    let mut number: Option<Number> = None;
    for c in text.chars().chain(std::iter::once('\0')) {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            let joined = number.filter(|_| gap.joins_groups());
            let graph_code = gap.last == Some('#');
            let phone_group = joined.is_some_and(|n| n.plus || n.digits >= 3);
            if looks_secret(&word) && !graph_code && !phone_group {
                out.push_str(REDACTED);
            } else if let Some(prefix) = prefixed_code(&word) {
                out.push_str(prefix);
                out.push_str(REDACTED);
            } else {
                out.push_str(&word);
            }
            // A Graph code is no phone number: `(#133005) 482913` is masked.
            let group = digit_group(&word).filter(|_| !graph_code);
            number = group.map(|digits| match joined {
                Some(n) => Number {
                    digits: n.digits.saturating_add(digits),
                    plus: n.plus,
                },
                None => Number {
                    digits,
                    plus: gap.last == Some('+'),
                },
            });
            word.clear();
            gap = Gap::default();
        }
        if c != '\0' {
            out.push(c);
            gap.push(c);
        }
    }
    out
}

/// What separates two words.
#[derive(Clone, Copy)]
struct Gap {
    len: usize,
    /// Only what separates a phone number's groups: spaces, dots,
    /// parentheses.
    phone: bool,
    last: Option<char>,
}

impl Default for Gap {
    fn default() -> Self {
        Self {
            len: 0,
            phone: true,
            last: None,
        }
    }
}

impl Gap {
    fn push(&mut self, c: char) {
        self.len = self.len.saturating_add(1);
        self.phone &= matches!(c, ' ' | '.' | '(' | ')');
        self.last = Some(c);
    }

    /// Whether the word after this gap may continue the number before it
    /// (`7700 900123`, `(415) 555`), not start a new text (`2: 482913`).
    fn joins_groups(&self) -> bool {
        (1..=2).contains(&self.len) && self.phone
    }
}

/// A run of digit groups: how many digits, and whether a `+` led it.
#[derive(Clone, Copy)]
struct Number {
    digits: usize,
    plus: bool,
}

/// The digits of a word made of digits (and dashes) only.
fn digit_group(word: &str) -> Option<usize> {
    let digits = word.bytes().filter(u8::is_ascii_digit).count();
    let group = digits > 0 && word.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    group.then_some(digits)
}

/// For a short word glued to six digits (`PIN482913`, `code-123830`), the
/// word before them (kept; the digits are masked).
fn prefixed_code(word: &str) -> Option<&str> {
    let split = word.len().checked_sub(6)?;
    let (prefix, digits) = (word.get(..split)?, word.get(split..)?);
    let letters = prefix.trim_end_matches(['-', '_']);
    let short_word = (1..=5).contains(&letters.len())
        && letters.bytes().all(|b| b.is_ascii_alphabetic())
        && prefix.len() <= letters.len().saturating_add(1);
    (short_word && digits.bytes().all(|b| b.is_ascii_digit())).then_some(prefix)
}

fn looks_secret(word: &str) -> bool {
    let digits = word.bytes().filter(u8::is_ascii_digit).count();
    let letters = word.bytes().filter(u8::is_ascii_alphabetic).count();
    let code_like = letters == 0
        && digits == 6
        && word
            .trim_matches('-')
            .bytes()
            .filter(|b| *b == b'-')
            .count()
            <= 1;
    let token_like = word.len() >= 24 && digits > 0 && letters > 0;
    code_like || token_like
}

/// Masks in `text` every occurrence of what a request carried (`secrets`:
/// the PIN, the verification code), whatever its surroundings: the secret's
/// digits in order, with at most one space, dash or dot between two
/// (`123830`, `123-830`, `482 913`), also inside a longer run of digits. A
/// text cut short (ending in `…`) also loses a beginning of a secret that
/// runs into the cut.
pub(crate) fn redact_sent(text: &mut String, secrets: &[&str]) {
    for secret in secrets {
        let digits: Vec<u8> = secret.bytes().filter(u8::is_ascii_digit).collect();
        if let Some(redacted) = redact_digits(text, &digits) {
            *text = redacted;
        }
    }
}

/// `text` with every occurrence of `digits` masked, or `None` when there is
/// none.
fn redact_digits(text: &str, digits: &[u8]) -> Option<String> {
    if digits.is_empty() {
        return None;
    }
    let bytes = text.as_bytes();
    let cut = text.strip_suffix('…').map(str::len);
    let mut out = String::new();
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        match occurrence_at(bytes, at, digits, cut) {
            Some(end) => {
                // Both ends are next to ASCII digits or separators: char
                // boundaries.
                out.push_str(text.get(copied..at)?);
                out.push_str(REDACTED);
                copied = end;
                at = end;
            }
            None => at = at.saturating_add(1),
        }
    }
    if copied == 0 {
        return None;
    }
    out.push_str(text.get(copied..)?);
    Some(out)
}

/// Where the occurrence of `digits` that starts at `start` ends, if one
/// does: all of them, or (in a text cut at `cut`) a beginning of them that
/// runs into the cut.
fn occurrence_at(bytes: &[u8], start: usize, digits: &[u8], cut: Option<usize>) -> Option<usize> {
    let mut at = start;
    for (n, digit) in digits.iter().enumerate() {
        if n > 0 {
            let separator = matches!(bytes.get(at), Some(b' ' | b'-' | b'.'));
            if cut == Some(at) {
                return Some(at);
            }
            if separator {
                let next = at.saturating_add(1);
                if cut == Some(next) {
                    return Some(next);
                }
                if bytes.get(next) == Some(digit) {
                    at = next;
                }
            }
        }
        if bytes.get(at) != Some(digit) {
            return None;
        }
        at = at.saturating_add(1);
    }
    Some(at)
}

/// Whether a server's `fbtrace_id` looks like one (Meta's are 11 to about
/// 27 characters of base64): at most 32 characters from that alphabet, not
/// a PIN or code, not an access token (`EAA…`). Anything else is not
/// shown, logged or saved: a server may echo what it was sent.
pub(crate) fn trace_id_shaped(trace: &str) -> bool {
    let alphabet = trace
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'/' | b'='));
    let code_like = trace.len() <= 7 && trace.bytes().filter(u8::is_ascii_digit).count() == 6;
    (1..=32).contains(&trace.len()) && alphabet && !code_like && !trace.starts_with("EAA")
}

#[cfg(test)]
mod scrub_tests {
    use super::{scrub, trace_id_shaped};

    #[test]
    fn trace_ids_are_told_from_echoed_secrets() {
        for real in [
            "Az8or2",
            "FfcRrpbIw3K",
            "AHpV0Hnb1gHk-NmgVkVKxyP",
            "A4QC1vW5t9S1qJ1J0c7bNhU",
        ] {
            assert!(trace_id_shaped(real), "{real}");
        }
        for echoed in [
            "482913",
            "123-830",
            "EAAGm0PX4ZCpsBAKZC9xZBZB0ZD1234567890abc",
            "pin=482913;token=x",
            "",
            "a b",
        ] {
            assert!(!trace_id_shaped(echoed), "{echoed}");
        }
    }

    #[test]
    fn secrets_are_masked_and_the_rest_stays() {
        assert_eq!(
            scrub("PIN 482913 is wrong; code 123-830 expired"),
            "PIN [redacted] is wrong; code [redacted] expired"
        );
        assert_eq!(
            scrub("token EAAGm0PX4ZCpsBAKZC9xZBZB0ZD1234567890abc rejected"),
            "token [redacted] rejected"
        );
        let plain = "(#2388103) Phone number 110200345501442 cannot be migrated: 72 hours";
        assert_eq!(scrub(plain), plain);
        // Meta's own six-digit codes and a phone number's groups stay.
        let pin_mismatch = "(#133005) Two step verification PIN Mismatch";
        assert_eq!(scrub(pin_mismatch), pin_mismatch);
        assert_eq!(
            scrub("number +44 7700 900123 is"),
            "number +44 7700 900123 is"
        );
        assert_eq!(scrub("pin=482913;"), "pin=[redacted];");
        assert_eq!(scrub(""), "");
        assert_eq!(scrub("éàü 1234567"), "éàü 1234567");
    }

    #[test]
    fn a_six_digit_run_after_a_counted_attempt_is_masked() {
        for (text, masked) in [
            (
                "(#133005) PIN mismatch on attempt 2: 482913",
                "(#133005) PIN mismatch on attempt 2: [redacted]",
            ),
            ("attempt 2 482913", "attempt 2 [redacted]"),
            ("attempt 2. 482913", "attempt 2. [redacted]"),
            (
                "(#133005) 482913 does not match",
                "(#133005) [redacted] does not match",
            ),
            ("pin=482913", "pin=[redacted]"),
            (r#"{"pin":"482913"}"#, r#"{"pin":"[redacted]"}"#),
            ("code 123-830", "code [redacted]"),
            ("PIN482913 rejected", "PIN[redacted] rejected"),
            ("code-123830", "code-[redacted]"),
            ("pin_482913;", "pin_[redacted];"),
        ] {
            assert_eq!(scrub(text), masked, "{text}");
        }
    }

    #[test]
    fn phone_numbers_ids_and_codes_are_not_taken_for_secrets() {
        for kept in [
            "number +44 7700 900123 is",
            "number (+44) 7700 900123 is",
            "call 07700 900123 now",
            "+1 (415) 555 012345",
            "(#133005) Two step verification PIN Mismatch",
            "(#2388103) Phone number 110200345501442 cannot be migrated",
            "fbtrace A4QC1vW5t9S1qJ1J0c7bNhU",
            "id abcdef1234567 and ab1482913",
            "v25.0 at 12:30",
        ] {
            assert_eq!(scrub(kept), kept);
        }
    }
}

#[cfg(test)]
mod redact_sent_tests {
    use super::redact_sent;

    fn redacted(text: &str, secrets: &[&str]) -> String {
        let mut text = text.to_owned();
        redact_sent(&mut text, secrets);
        text
    }

    #[test]
    fn every_form_of_what_was_sent_is_masked() {
        for (text, masked) in [
            ("PIN482913x", "PIN[redacted]x"),
            ("pin:482913;", "pin:[redacted];"),
            ("+44 7700 482913", "+44 7700 [redacted]"),
            ("4829130 and 482913", "[redacted]0 and [redacted]"),
            (
                "482 913 / 482-913 / 4-8-2.9 1-3",
                "[redacted] / [redacted] / [redacted]",
            ),
            ("482  913", "482  913"),
            ("48291 3x", "[redacted]x"),
            ("nothing here", "nothing here"),
            ("", ""),
        ] {
            assert_eq!(redacted(text, &["482913"]), masked, "{text}");
        }
        assert_eq!(
            redacted("code 123-830 or 123830, pin 654321", &["123830", "654321"]),
            "code [redacted] or [redacted], pin [redacted]"
        );
        assert_eq!(redacted("any 482913", &[]), "any 482913");
        assert_eq!(redacted("any 482913", &[""]), "any 482913");
    }

    #[test]
    fn a_secret_cut_short_at_the_end_of_a_bounded_text_is_masked() {
        assert_eq!(redacted("PIN 4829…", &["482913"]), "PIN [redacted]…");
        assert_eq!(redacted("PIN 482-…", &["482913"]), "PIN [redacted]…");
        assert_eq!(redacted("PIN é4…", &["482913"]), "PIN é[redacted]…");
        // Not cut short: a beginning of the PIN is just a number.
        assert_eq!(redacted("attempt 48", &["482913"]), "attempt 48");
        assert_eq!(redacted("PIN 4829…", &["123830"]), "PIN 4829…");
    }
}
