//! What the BSP's page receives when the customer finishes the Embedded
//! Signup popup: the authorization code (from the Facebook Login callback)
//! and the session info (the popup's `message` event).
//!
//! Sources: Meta, *Embedded Signup — Implementation* ("Response callback":
//! the code; "Session logging message event listener": the event) and
//! *Embedded Signup — Errors* (the `CANCEL` event),
//! <https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/implementation>.

use std::fmt;

use serde::Deserialize;

use crate::ids::{BusinessId, PhoneNumberId, WabaId};
use crate::number::id_text;
use crate::validation::ValidationError;

const REDACTED: &str = "[redacted]";

/// The longest authorization code accepted (Meta's codes are a few hundred
/// characters).
const MAX_CODE_LEN: usize = 4096;

/// The Embedded Signup authorization code: exchanged once, within 30
/// seconds, for the customer's business token
/// (`GET /oauth/access_token?client_id=…&client_secret=…&code=…`).
///
/// A secret: `Debug` prints `[redacted]`, there is no `Display` and no
/// `Serialize`, and it is never saved in a session.
#[derive(Clone, PartialEq, Eq)]
pub struct SignupCode(String);

impl SignupCode {
    /// Validates a code (surrounding whitespace is trimmed). The error never
    /// echoes the input.
    ///
    /// # Errors
    /// [`ValidationError::InvalidSignupCode`] when the code is empty, longer
    /// than 4096 characters, or holds anything but printable ASCII.
    pub fn new(code: impl AsRef<str>) -> Result<Self, ValidationError> {
        let code = code.as_ref().trim();
        let printable = code.bytes().all(|b| b.is_ascii_graphic());
        if code.is_empty() || code.len() > MAX_CODE_LEN || !printable {
            return Err(ValidationError::InvalidSignupCode);
        }
        Ok(Self(code.to_owned()))
    }

    /// The code as sent to Meta. Never log it.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SignupCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SignupCode").field(&REDACTED).finish()
    }
}

/// The customer finished the Embedded Signup popup: its authorization code
/// and the assets the session info named.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignupResult {
    /// The authorization code.
    pub code: SignupCode,
    /// The WABA the customer shared (`data.waba_id`).
    pub waba_id: WabaId,
    /// The number's id in that WABA (`data.phone_number_id`).
    pub phone_number_id: PhoneNumberId,
    /// The customer's business portfolio (`data.business_id`), when sent.
    pub business_id: Option<BusinessId>,
}

impl SignupResult {
    /// A result from its parts.
    pub fn new(code: SignupCode, waba_id: WabaId, phone_number_id: PhoneNumberId) -> Self {
        Self {
            code,
            waba_id,
            phone_number_id,
            business_id: None,
        }
    }

    /// With the customer's business portfolio id.
    #[must_use]
    pub fn with_business_id(mut self, business_id: BusinessId) -> Self {
        self.business_id = Some(business_id);
        self
    }

    /// The result of a popup from its code and the session info event the
    /// page received (`event.data`, the JSON string, as sent).
    ///
    /// # Errors
    /// A [`SignupEventError`] when the event is not a finish with a number
    /// (the customer cancelled, hit an error, or finished without a number)
    /// or cannot be read.
    pub fn from_event(code: SignupCode, event: &[u8]) -> Result<Self, SignupEventError> {
        match SignupEvent::parse(event)? {
            // A coexistence onboarding (the number stays on the WhatsApp
            // Business app) or an API-access grant moves no number.
            SignupEvent::Finished { event, .. } if !moves_a_number(&event) => {
                Err(SignupEventError::NotAFinish { event })
            }
            SignupEvent::Finished {
                waba_id,
                phone_number_id: Some(phone_number_id),
                business_id,
                ..
            } => Ok(Self {
                code,
                waba_id,
                phone_number_id,
                business_id,
            }),
            SignupEvent::Finished { event, .. } => Err(SignupEventError::NoPhoneNumber { event }),
            SignupEvent::Cancelled {
                current_step,
                error_message,
                ..
            } => Err(SignupEventError::Cancelled {
                current_step,
                error_message,
            }),
            SignupEvent::Other { event } => Err(SignupEventError::NotAFinish { event }),
        }
    }
}

/// Whether a finish event leaves a Cloud API number to register: `FINISH`,
/// `FINISH_ONLY_WABA` (no number: told apart later) and
/// `FINISH_OBO_MIGRATION`; not `FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING`
/// (coexistence) or `FINISH_GRANT_ONLY_API_ACCESS`.
fn moves_a_number(event: &str) -> bool {
    matches!(
        event,
        "FINISH" | "FINISH_ONLY_WABA" | "FINISH_OBO_MIGRATION"
    )
}

/// The popup's session info event (`type` `WA_EMBEDDED_SIGNUP`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignupEvent {
    /// `FINISH` (and its variants: `FINISH_ONLY_WABA`,
    /// `FINISH_OBO_MIGRATION`, …): the customer finished.
    Finished {
        /// The event as sent (`FINISH`, `FINISH_ONLY_WABA`, …).
        event: String,
        /// The shared WABA.
        waba_id: WabaId,
        /// The number's id; absent when the flow finished without one.
        phone_number_id: Option<PhoneNumberId>,
        /// The customer's business portfolio.
        business_id: Option<BusinessId>,
    },
    /// `CANCEL`: the customer closed the popup early, or hit an error.
    Cancelled {
        /// The screen they left on (`PHONE_NUMBER_VERIFICATION`, …).
        current_step: Option<String>,
        /// The error they met, when the cancel reports one.
        error_message: Option<String>,
        /// Its code.
        error_code: Option<String>,
    },
    /// Another event (`ERROR`, or one Meta adds later), kept as sent.
    Other {
        /// The event as sent.
        event: String,
    },
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "type")]
    kind: Option<String>,
    event: Option<String>,
    #[serde(default)]
    data: RawData,
}

#[derive(Default, Deserialize)]
struct RawData {
    waba_id: Option<serde_json::Value>,
    phone_number_id: Option<serde_json::Value>,
    business_id: Option<serde_json::Value>,
    current_step: Option<String>,
    error_message: Option<String>,
    error_code: Option<serde_json::Value>,
}

impl SignupEvent {
    /// Reads the event the page received (the JSON string of
    /// `event.data`).
    ///
    /// # Errors
    /// [`SignupEventError::Unreadable`] when it is not JSON, not a
    /// `WA_EMBEDDED_SIGNUP` event, or a finish without a valid `waba_id`
    /// (or with an invalid `phone_number_id` or `business_id`).
    pub fn parse(event: &[u8]) -> Result<Self, SignupEventError> {
        let raw: RawEvent = serde_json::from_slice(event)
            .map_err(|_| SignupEventError::Unreadable("not a JSON object"))?;
        if raw.kind.as_deref() != Some("WA_EMBEDDED_SIGNUP") {
            return Err(SignupEventError::Unreadable(
                "not a WA_EMBEDDED_SIGNUP event",
            ));
        }
        let event = raw.event.ok_or(SignupEventError::Unreadable("no event"))?;
        let data = raw.data;
        if event == "CANCEL" {
            return Ok(Self::Cancelled {
                current_step: data.current_step,
                error_message: data.error_message,
                error_code: data.error_code.as_ref().and_then(id_text),
            });
        }
        if !event.starts_with("FINISH") {
            return Ok(Self::Other { event });
        }
        let waba_id = data
            .waba_id
            .as_ref()
            .and_then(id_text)
            .and_then(|id| WabaId::new(id).ok())
            .ok_or(SignupEventError::Unreadable(
                "a finish without a valid waba_id",
            ))?;
        let phone_number_id = match data.phone_number_id.as_ref().and_then(id_text) {
            None => None,
            Some(id) if id.is_empty() => None,
            Some(id) => Some(PhoneNumberId::new(id).map_err(|_| {
                SignupEventError::Unreadable("a finish with an invalid phone_number_id")
            })?),
        };
        let business_id = match data.business_id.as_ref().and_then(id_text) {
            None => None,
            Some(id) => Some(BusinessId::new(id).map_err(|_| {
                SignupEventError::Unreadable("a finish with an invalid business_id")
            })?),
        };
        Ok(Self::Finished {
            event,
            waba_id,
            phone_number_id,
            business_id,
        })
    }
}

/// The session info event does not carry a finished signup with a number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignupEventError {
    /// Not a readable `WA_EMBEDDED_SIGNUP` event.
    #[error("the Embedded Signup event cannot be read: {0}")]
    Unreadable(&'static str),
    /// The customer cancelled the popup (or met an error in it): they open
    /// it again.
    #[error("the customer left the Embedded Signup popup{}{}",
        current_step.as_ref().map(|s| format!(" at {s}")).unwrap_or_default(),
        error_message.as_ref().map(|m| format!(" after an error: {m}")).unwrap_or_default())]
    Cancelled {
        /// The screen they left on.
        current_step: Option<String>,
        /// The error they met.
        error_message: Option<String>,
    },
    /// The flow finished without a phone number (`FINISH_ONLY_WABA`): there
    /// is no number to move.
    #[error("the Embedded Signup finished without a phone number ({event})")]
    NoPhoneNumber {
        /// The event as sent.
        event: String,
    },
    /// Another event (`ERROR`, …), or a finish that moves no Cloud API
    /// number (`FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING`,
    /// `FINISH_GRANT_ONLY_API_ACCESS`).
    #[error("the Embedded Signup event {event} is not a finish that moves a number")]
    NotAFinish {
        /// The event as sent.
        event: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> SignupCode {
        SignupCode::new("AQBx-code_123").unwrap()
    }

    #[test]
    fn a_finish_gives_the_assets_and_a_cancel_says_where() {
        let finish = br#"{"data":{"phone_number_id":"106540352242922","waba_id":"524126980791429","business_id":"2729063490586005","page_ids":["1"]},"type":"WA_EMBEDDED_SIGNUP","event":"FINISH"}"#;
        let result = SignupResult::from_event(code(), finish).unwrap();
        assert_eq!(result.waba_id.as_str(), "524126980791429");
        assert_eq!(result.phone_number_id.as_str(), "106540352242922");
        assert_eq!(result.business_id.unwrap().as_str(), "2729063490586005");

        let cancel = br#"{"data":{"current_step":"PHONE_NUMBER_VERIFICATION"},"type":"WA_EMBEDDED_SIGNUP","event":"CANCEL","version":3}"#;
        let err = SignupResult::from_event(code(), cancel).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the customer left the Embedded Signup popup at PHONE_NUMBER_VERIFICATION"
        );
        let only_waba = br#"{"data":{"waba_id":"524126980791429"},"type":"WA_EMBEDDED_SIGNUP","event":"FINISH_ONLY_WABA"}"#;
        assert!(matches!(
            SignupResult::from_event(code(), only_waba),
            Err(SignupEventError::NoPhoneNumber { .. })
        ));
        for other in [
            "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
            "FINISH_GRANT_ONLY_API_ACCESS",
        ] {
            let event = format!(
                r#"{{"data":{{"phone_number_id":"1065","waba_id":"5241"}},"type":"WA_EMBEDDED_SIGNUP","event":"{other}"}}"#
            );
            assert!(matches!(
                SignupResult::from_event(code(), event.as_bytes()),
                Err(SignupEventError::NotAFinish { .. })
            ));
        }
        for bad in [
            &b""[..],
            b"<html>",
            br#"{"type":"OTHER","event":"FINISH"}"#,
            br#"{"type":"WA_EMBEDDED_SIGNUP","event":"FINISH","data":{"waba_id":"x1"}}"#,
        ] {
            assert!(matches!(
                SignupResult::from_event(code(), bad),
                Err(SignupEventError::Unreadable(_))
            ));
        }
    }

    #[test]
    fn the_code_is_a_secret() {
        let shown = format!("{:?}", code());
        assert!(!shown.contains("AQBx"), "{shown}");
        assert!(SignupCode::new("  ").is_err());
        assert!(SignupCode::new("a b").is_err());
        assert!(SignupCode::new("x".repeat(4097)).is_err());
        assert_eq!(SignupCode::new(" abc \n").unwrap().secret(), "abc");
    }
}
