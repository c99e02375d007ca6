//! What the fleet needs from people: the code the customer received, the PIN.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use crate::params::DataLocalizationRegion;
use crate::secret::{Pin, VerificationCode};
use crate::session::PortingSession;
use crate::store::SessionKey;

/// Where a [`Fleet`](crate::Fleet) gets what only people can give: the
/// verification code the customer received, and the PIN to register with.
///
/// The fleet asks when a session reaches that step; `None` means "not yet"
/// and the session stops there, waiting (run the fleet again later). Give a
/// session the **same PIN every time**: a register whose answer was lost may
/// have set it.
///
/// Keep a code until Meta judged it: the fleet tells you with
/// [`code_judged`](Self::code_judged) once Meta accepted or refused it. A
/// verify that was not decided (a rate limit, a lost answer, a cancelled
/// run) is not a verdict, and the fleet asks for the code again on a later
/// run: hand out the same one. After a refusal, hand out a new code (or
/// `None`), not the refused one.
///
/// [`InputMap`] is a ready implementation over two maps; implement the trait
/// to read codes and PINs from your own service.
#[async_trait]
pub trait FleetInputs: Send + Sync + fmt::Debug {
    /// The code the customer received for `session`'s number, if known.
    async fn verification_code(&self, session: &PortingSession) -> Option<VerificationCode>;

    /// The PIN to register `session`'s number with, if known.
    async fn pin(&self, session: &PortingSession) -> Option<Pin>;

    /// Meta judged `code`, given for `session`: `accepted`, or refused
    /// (wrong or expired). Forget it now; until then, hand it out again
    /// when asked. The default does nothing.
    async fn code_judged(&self, session: &PortingSession, code: &VerificationCode, accepted: bool) {
        let _ = (session, code, accepted);
    }

    /// The region to keep `session`'s number's message data in (local
    /// storage; none by default), passed to
    /// [`PortingClient::register`](crate::PortingClient::register): set
    /// through the number's settings before register from Graph API v21.0
    /// on, in register's body before.
    async fn data_localization_region(
        &self,
        session: &PortingSession,
    ) -> Option<DataLocalizationRegion> {
        let _ = session;
        None
    }
}

#[async_trait]
impl<T: FleetInputs + ?Sized> FleetInputs for Arc<T> {
    async fn verification_code(&self, session: &PortingSession) -> Option<VerificationCode> {
        (**self).verification_code(session).await
    }

    async fn pin(&self, session: &PortingSession) -> Option<Pin> {
        (**self).pin(session).await
    }

    async fn code_judged(&self, session: &PortingSession, code: &VerificationCode, accepted: bool) {
        (**self).code_judged(session, code, accepted).await
    }

    async fn data_localization_region(
        &self,
        session: &PortingSession,
    ) -> Option<DataLocalizationRegion> {
        (**self).data_localization_region(session).await
    }
}

/// Codes and PINs by [`SessionKey`], fillable while the fleet runs (share it
/// behind an `Arc`): a webhook handler inserts the code a customer typed in,
/// the next run uses it. A code stays until Meta judged it (accepted or
/// refused): a verify cut short by a rate limit or a lost answer uses it
/// again on the next run.
///
/// `Debug` shows only how many codes and PINs are held.
#[derive(Default)]
pub struct InputMap {
    codes: Mutex<HashMap<SessionKey, VerificationCode>>,
    pins: Mutex<HashMap<SessionKey, Pin>>,
    default_pin: Option<Pin>,
}

impl fmt::Debug for InputMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputMap")
            .field("codes", &lock(&self.codes).len())
            .field("pins", &lock(&self.pins).len())
            .field("default_pin", &self.default_pin.is_some())
            .finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain maps: a panic elsewhere cannot leave them half-updated.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl InputMap {
    /// No codes, no PINs: a fleet runs every session up to the code request.
    pub fn new() -> Self {
        Self::default()
    }

    /// The PIN for every session that has none of its own.
    pub fn with_default_pin(mut self, pin: Pin) -> Self {
        self.default_pin = Some(pin);
        self
    }

    /// The code the customer of `key` received (replaces an unused one).
    pub fn insert_code(&self, key: SessionKey, code: VerificationCode) {
        lock(&self.codes).insert(key, code);
    }

    /// The PIN to register `key`'s number with.
    pub fn insert_pin(&self, key: SessionKey, pin: Pin) {
        lock(&self.pins).insert(key, pin);
    }
}

#[async_trait]
impl FleetInputs for InputMap {
    async fn verification_code(&self, session: &PortingSession) -> Option<VerificationCode> {
        lock(&self.codes).get(&SessionKey::of(session)).cloned()
    }

    async fn pin(&self, session: &PortingSession) -> Option<Pin> {
        lock(&self.pins)
            .get(&SessionKey::of(session))
            .cloned()
            .or_else(|| self.default_pin.clone())
    }

    async fn code_judged(&self, session: &PortingSession, code: &VerificationCode, _: bool) {
        let mut codes = lock(&self.codes);
        let key = SessionKey::of(session);
        // A newer code the customer sent meanwhile stays.
        if codes.get(&key) == Some(code) {
            codes.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{BusinessId, WabaId};
    use crate::phone::PhoneNumber;

    fn session() -> PortingSession {
        PortingSession::new(
            PhoneNumber::parse("+14155550123").unwrap(),
            WabaId::new("102290129340398").unwrap(),
            BusinessId::new("106540352242922").unwrap(),
        )
    }

    #[tokio::test]
    async fn a_code_stays_until_judged_and_pins_fall_back_to_the_default() {
        let map = InputMap::new().with_default_pin(Pin::new("111111").unwrap());
        let s = session();
        assert!(map.verification_code(&s).await.is_none());
        let code = VerificationCode::new("123456").unwrap();
        map.insert_code(SessionKey::of(&s), code.clone());
        assert!(map.verification_code(&s).await.is_some());
        assert!(map.verification_code(&s).await.is_some(), "not judged yet");
        // A verdict on an older code leaves a newer one.
        map.code_judged(&s, &VerificationCode::new("654321").unwrap(), false)
            .await;
        assert_eq!(map.verification_code(&s).await, Some(code.clone()));
        map.code_judged(&s, &code, false).await;
        assert!(map.verification_code(&s).await.is_none());
        assert!(map.pin(&s).await.is_some());
        assert_eq!(
            format!("{map:?}"),
            "InputMap { codes: 0, pins: 0, default_pin: true }"
        );
        map.insert_pin(SessionKey::of(&s), Pin::new("222222").unwrap());
        let shown = format!("{:?}", map.pin(&s).await);
        assert!(
            !shown.contains("222222") && !shown.contains("111111"),
            "{shown}"
        );
    }
}
