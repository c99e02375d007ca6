//! The webhook's two secrets: the app secret that signs each delivery and
//! the verify token of the subscription handshake.
//!
//! Like the crate's other secrets ([`AccessToken`](crate::AccessToken)),
//! each is a newtype whose `Debug` prints `[redacted]`, that has no
//! `Display` and no `Serialize`; reading the value takes an explicit call
//! to `secret()`.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};

pub use crate::secret::AppSecret;
use sha2::Sha256;

const REDACTED: &str = "[redacted]";

/// HMAC-SHA256, the algorithm of `X-Hub-Signature-256`.
pub(crate) type HmacSha256 = Hmac<Sha256>;

impl AppSecret {
    /// The `X-Hub-Signature-256` header value Meta would send with `body`:
    /// `sha256=` and the HMAC-SHA256 of the raw body keyed with this
    /// secret, in lower-case hex. For tests, simulators and relays that
    /// sign a delivery themselves.
    pub fn signature_header(&self, body: &[u8]) -> String {
        let tag = self.mac(body).finalize().into_bytes();
        let mut hex = [0u8; 64];
        // 32 bytes always fit 64 digits: the error arm is unreachable.
        let digits = base16ct::lower::encode_str(&tag, &mut hex).unwrap_or_default();
        format!("sha256={digits}")
    }

    /// The HMAC of `body` under this secret, not yet finalized.
    pub(crate) fn mac(&self, body: &[u8]) -> HmacSha256 {
        // HMAC takes a key of any length: `new_from_slice` cannot fail.
        // Should it ever, the key is hashed instead, which only makes
        // every signature a mismatch (never a panic).
        let mut mac = HmacSha256::new_from_slice(self.secret().as_bytes())
            .unwrap_or_else(|_| HmacSha256::new(&Default::default()));
        mac.update(body);
        mac
    }
}

/// The verify token you typed in the App Dashboard's webhook settings:
/// Meta sends it back as `hub.verify_token` in the subscription handshake,
/// and only a request carrying it is answered.
///
/// Surrounding whitespace is trimmed. An empty token matches nothing: a
/// receiver built with one refuses every handshake
/// ([`WebhookErrorKind::NotConfigured`](super::WebhookErrorKind::NotConfigured)).
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyToken(String);

impl VerifyToken {
    /// Wraps a verify token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(trimmed(token.into()))
    }

    /// The token itself. Handle with care: never log it.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// Whether the token is empty (a receiver refuses every handshake).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `candidate` is this token, in time that does not depend on
    /// where they differ or on either length: both are keyed-hashed and the
    /// tags compared with `hmac`'s constant-time `verify_slice`. An empty
    /// token matches nothing.
    pub(crate) fn matches(&self, candidate: &[u8]) -> bool {
        if self.0.is_empty() {
            return false;
        }
        let tag = |bytes: &[u8]| {
            let mut mac = HmacSha256::new(&Default::default());
            mac.update(b"waba-porting webhook verify token\0");
            mac.update(bytes);
            mac
        };
        let expected = tag(self.0.as_bytes()).finalize().into_bytes();
        tag(candidate).verify_slice(&expected).is_ok()
    }
}

impl From<String> for VerifyToken {
    fn from(token: String) -> Self {
        Self::new(token)
    }
}

impl From<&str> for VerifyToken {
    fn from(token: &str) -> Self {
        Self::new(token)
    }
}

impl fmt::Debug for VerifyToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("VerifyToken").field(&REDACTED).finish()
    }
}

fn trimmed(value: String) -> String {
    let trimmed = value.trim();
    if trimmed.len() == value.len() {
        value
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_both_secrets() {
        let secret = AppSecret::new("0123456789abcdef-app-secret");
        let token = VerifyToken::new("meatyhamhock");
        for shown in [
            format!("{secret:?}"),
            format!("{token:?}"),
            format!("{secret:#?}{token:#?}"),
        ] {
            assert!(shown.contains("[redacted]"), "{shown}");
            for leaked in ["0123456789abcdef", "app-secret", "meatyhamhock"] {
                assert!(!shown.contains(leaked), "{shown} leaks {leaked}");
            }
        }
    }

    #[test]
    fn signs_as_meta_does() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let secret = AppSecret::new("Jefe");
        assert_eq!(
            secret.signature_header(b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn token_matches_only_itself() {
        let token = VerifyToken::new(" meatyhamhock\n");
        assert_eq!(token.secret(), "meatyhamhock");
        assert!(token.matches(b"meatyhamhock"));
        for wrong in [&b""[..], b"meatyhamhoc", b"meatyhamhockk", b"MEATYHAMHOCK"] {
            assert!(!token.matches(wrong));
        }
        assert!(!VerifyToken::new("  ").matches(b""));
    }
}
