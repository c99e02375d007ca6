//! Graph object ids: numeric strings wrapped in newtypes so that a WABA id can
//! never be passed where a phone number id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::validation::ValidationError;

/// Graph ids are decimal strings; today they are 15–17 digits long. The cap
/// only guards against pasting something that is clearly not an id.
const MAX_ID_DIGITS: usize = 32;

fn validate_id(kind: &'static str, raw: &str) -> Result<String, ValidationError> {
    let id = raw.trim();
    if id.is_empty() {
        return Err(ValidationError::EmptyId { kind });
    }
    if id.len() > MAX_ID_DIGITS || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValidationError::MalformedId { kind });
    }
    Ok(id.to_owned())
}

macro_rules! graph_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates a non-empty, all-digit id (surrounding whitespace is trimmed).
            ///
            /// # Errors
            /// A [`ValidationError`] naming the id's kind when it is empty,
            /// too long or not all digits.
            pub fn new(id: impl AsRef<str>) -> Result<Self, ValidationError> {
                validate_id($kind, id.as_ref()).map(Self)
            }

            /// An id the crate made itself from digits (tests check each use).
            #[cfg(feature = "simulator")]
            #[allow(dead_code)] // not every kind of id is made by the simulator
            pub(crate) fn trusted(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The id as a string of digits.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }
    };
}

graph_id!(
    /// The id of a WhatsApp Business Account: here, the destination WABA the
    /// number moves into.
    WabaId,
    "WABA id"
);
graph_id!(
    /// The id of the customer's Meta Business Manager (Business portfolio):
    /// the business that must approve the "message on behalf" request and that
    /// must own both the source and the destination WABA.
    BusinessId,
    "Business Manager id"
);
graph_id!(
    /// The Graph id of a phone number object, returned when the migration
    /// starts; every later step addresses it.
    PhoneNumberId,
    "phone number id"
);

graph_id!(
    /// The id of a Multi-Partner Solution: the destination solution a
    /// [`Route::SolutionMigration`](crate::Route::SolutionMigration) moves
    /// the WABA to.
    SolutionId,
    "solution id"
);
graph_id!(
    /// The id of a solution migration intent, returned by
    /// `POST /{waba-id}/set_solution_migration_intent`; read to follow the
    /// customer's acceptance.
    MigrationIntentId,
    "migration intent id"
);
graph_id!(
    /// A Meta app's id (the BSP's app): the `client_id` of the Embedded
    /// Signup code exchange.
    AppId,
    "app id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_digits_and_trims() {
        assert_eq!(
            WabaId::new(" 102290129340398 ").unwrap().as_str(),
            "102290129340398"
        );
        assert_eq!(
            "106540352242922".parse::<BusinessId>().unwrap().to_string(),
            "106540352242922"
        );
    }

    #[test]
    fn rejects_empty_and_non_numeric() {
        assert_eq!(
            WabaId::new(""),
            Err(ValidationError::EmptyId { kind: "WABA id" })
        );
        assert_eq!(
            BusinessId::new("act_123"),
            Err(ValidationError::MalformedId {
                kind: "Business Manager id"
            })
        );
        assert_eq!(
            PhoneNumberId::new("12 34"),
            Err(ValidationError::MalformedId {
                kind: "phone number id"
            })
        );
        assert!(PhoneNumberId::new("1".repeat(33)).is_err());
        assert!(WabaId::new("-1").is_err());
    }

    #[test]
    fn serde_validates() {
        let id: PhoneNumberId = serde_json::from_str("\"123\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"123\"");
        assert!(serde_json::from_str::<PhoneNumberId>("\"12a\"").is_err());
        assert!(serde_json::from_str::<PhoneNumberId>("\"\"").is_err());
    }
}
