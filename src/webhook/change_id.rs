//! A change's dedupe fingerprint: SHA-256 of its WABA id, time, field and
//! the canonical form of its value, so that the same change delivered twice
//! (a retry, or another delivery batching it again) is recognised.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A change's stable fingerprint ([`Change::id`](super::Change::id)).
///
/// The SHA-256 of the entry's `id` and `time`, the change's `field` and its
/// `value` in a canonical form (object members sorted by name, whatever
/// order they were sent in, numbers as sent), so two deliveries carrying the
/// same change give the same id, and a change differing in anything gives
/// another. Shown, parsed and serialized as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChangeId([u8; 32]);

impl ChangeId {
    /// The fingerprint of a change.
    pub(crate) fn of(waba_id: &str, time: Option<u64>, field: &str, value: &Value) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"waba-porting webhook change v1\0");
        text(&mut hasher, waba_id);
        match time {
            Some(time) => {
                hasher.update(b"t");
                hasher.update(time.to_be_bytes());
            }
            None => hasher.update(b"-"),
        }
        text(&mut hasher, field);
        canonical(&mut hasher, value);
        Self(hasher.finalize().into())
    }

    /// The 32 bytes of the fingerprint.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// A length-prefixed string: no two sequences of strings hash alike.
fn text(hasher: &mut Sha256, text: &str) {
    hasher.update((text.len() as u64).to_be_bytes());
    hasher.update(text.as_bytes());
}

/// The value in a canonical, unambiguous encoding: a tag per JSON type,
/// lengths before contents, object members sorted by name. Depth is
/// bounded by serde_json's parser (128 levels).
fn canonical(hasher: &mut Sha256, value: &Value) {
    match value {
        Value::Null => hasher.update(b"n"),
        Value::Bool(true) => hasher.update(b"T"),
        Value::Bool(false) => hasher.update(b"F"),
        Value::Number(number) => {
            hasher.update(b"d");
            text(hasher, &number.to_string());
        }
        Value::String(string) => {
            hasher.update(b"s");
            text(hasher, string);
        }
        Value::Array(items) => {
            hasher.update(b"[");
            hasher.update((items.len() as u64).to_be_bytes());
            for item in items {
                canonical(hasher, item);
            }
        }
        Value::Object(members) => {
            hasher.update(b"{");
            hasher.update((members.len() as u64).to_be_bytes());
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
            for (name, member) in sorted {
                text(hasher, name);
                canonical(hasher, member);
            }
        }
    }
}

impl fmt::Display for ChangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut hex = [0u8; 64];
        // 32 bytes always fit 64 digits.
        let digits = base16ct::lower::encode_str(&self.0, &mut hex).unwrap_or_default();
        f.write_str(digits)
    }
}

impl fmt::Debug for ChangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChangeId({self})")
    }
}

/// Text that is not 64 hex digits, read as a [`ChangeId`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a change id is 64 hex digits")]
pub struct InvalidChangeId;

impl FromStr for ChangeId {
    type Err = InvalidChangeId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.as_bytes();
        if digits.len() != 64 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(InvalidChangeId);
        }
        let mut bytes = [0u8; 32];
        match base16ct::mixed::decode(digits, &mut bytes) {
            Ok(decoded) if decoded.len() == 32 => Ok(Self(bytes)),
            _ => Err(InvalidChangeId),
        }
    }
}

impl TryFrom<String> for ChangeId {
    type Error = InvalidChangeId;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<ChangeId> for String {
    fn from(id: ChangeId) -> Self {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn member_order_does_not_matter_anything_else_does() {
        let a: Value =
            serde_json::from_str(r#"{"event":"FLAGGED","x":{"b":1,"a":[1,2]}}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"x":{"a":[1,2],"b":1},"event":"FLAGGED"}"#).unwrap();
        let id = ChangeId::of("1", Some(5), "f", &a);
        assert_eq!(id, ChangeId::of("1", Some(5), "f", &b));
        for other in [
            ChangeId::of("2", Some(5), "f", &a),
            ChangeId::of("1", Some(6), "f", &a),
            ChangeId::of("1", None, "f", &a),
            ChangeId::of("1", Some(5), "g", &a),
            ChangeId::of(
                "1",
                Some(5),
                "f",
                &json!({"event":"FLAGGED","x":{"b":1,"a":[2,1]}}),
            ),
            ChangeId::of(
                "1",
                Some(5),
                "f",
                &json!({"event":"FLAGGED","x":{"b":"1","a":[1,2]}}),
            ),
            // Length prefixes: moving text between id and field changes the id.
            ChangeId::of("1f", Some(5), "", &a),
        ] {
            assert_ne!(id, other);
        }
    }

    #[test]
    fn round_trips_as_hex() {
        let id = ChangeId::of("1", Some(5), "f", &json!(null));
        let text = id.to_string();
        assert_eq!(text.len(), 64);
        assert_eq!(text.parse::<ChangeId>(), Ok(id));
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<ChangeId>(&json).unwrap(), id);
        assert!("zz".repeat(32).parse::<ChangeId>().is_err());
        assert!("é".repeat(32).parse::<ChangeId>().is_err());
        assert!("+1".repeat(32).parse::<ChangeId>().is_err());
        assert!(serde_json::from_str::<ChangeId>("\"00\"").is_err());
    }
}
