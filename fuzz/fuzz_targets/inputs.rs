//! Any text into every input the crate validates, and any JSON as a saved
//! session: a typed error or a value, never a panic; what parses round-trips.
#![no_main]

use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use waba_porting::{
    AccessToken, BusinessId, CodeMethod, DataLocalizationRegion, Language, PhoneNumber,
    PhoneNumberId, Pin, PortingClient, PortingSession, VerificationCode, WabaId,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    if let Ok(phone) = PhoneNumber::parse(text) {
        let again = PhoneNumber::parse(&phone.to_string()).expect("E.164 re-parses");
        assert_eq!(again, phone);
    }
    let _ = WabaId::new(text);
    let _ = BusinessId::new(text);
    let _ = PhoneNumberId::new(text);
    let _ = Pin::new(text);
    let _ = VerificationCode::new(text);
    if let Ok(language) = Language::new(text) {
        assert_eq!(Language::new(language.as_str()).ok(), Some(language));
    }
    let _ = DataLocalizationRegion::new(text);
    let _ = CodeMethod::from_str(text);
    let _ = PortingClient::builder()
        .access_token(AccessToken::new(text))
        .base_url(text)
        .api_version(text)
        .build();
    if let Ok(session) = serde_json::from_slice::<PortingSession>(data) {
        let json = serde_json::to_string(&session).expect("sessions serialize");
        let back: PortingSession = serde_json::from_str(&json).expect("saved sessions load");
        assert_eq!(back, session);
        let _ = session.next_action();
    }
});
