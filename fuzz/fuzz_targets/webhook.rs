//! Any bytes as a webhook request: forged headers and bodies are refused,
//! any signed body is read or refused as malformed, and what is read keeps
//! its fingerprints and its replay refusal. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use waba_porting::webhook::{ChangeId, Delivery, WebhookErrorKind};
use waba_porting::{AppSecret, WebhookReceiver};

const SECRET: &str = "fuzz-app-secret";
const TOKEN: &str = "fuzz-verify-token";
const FIELDS: [&str; 6] = [
    "account_update",
    "account_review_update",
    "phone_number_name_update",
    "phone_number_quality_update",
    "messages",
    "account_alerts",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let receiver = WebhookReceiver::builder(SECRET, TOKEN)
        .max_body_bytes(64 * 1024)
        .build();
    match selector % 3 {
        // Unsigned: the first bytes are the header, the rest the body.
        0 => {
            let split = usize::from(selector / 3).min(rest.len());
            let (header, body) = rest.split_at(split);
            let result = receiver.receive(Some(header), body);
            assert!(result.is_err(), "a forged signature passed");
            let text = String::from_utf8_lossy(header);
            let headers = [("X-HUB-signature-256", body), (text.as_ref(), header)];
            assert!(receiver.receive_with_headers(headers, body).is_err());
            if let Ok(challenge) = receiver.handshake(&String::from_utf8_lossy(rest)) {
                assert!(!challenge.is_empty() && challenge.len() <= 256);
                assert!(challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b)));
            }
        }
        // Signed as Meta would: the whole body.
        1 => signed(&receiver, rest),
        // Signed: the bytes as one change's value in a valid envelope, so
        // that the typed readers see them.
        _ => {
            let field = FIELDS[usize::from(selector / 3) % FIELDS.len()];
            let mut body = format!(
                r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","time":1739321024,"changes":[{{"field":"{field}","value":"#
            )
            .into_bytes();
            body.extend_from_slice(rest);
            body.extend_from_slice(b"}]}]}");
            signed(&receiver, &body);
        }
    }
});

fn signed(receiver: &WebhookReceiver, body: &[u8]) {
    let header = AppSecret::new(SECRET).signature_header(body);
    match receiver.receive(Some(header.as_bytes()), body) {
        Ok(delivery) => {
            for change in delivery.changes() {
                let id = change.id();
                assert_eq!(id.to_string().parse::<ChangeId>(), Ok(id));
                let _ = (change.event(), change.time(), change.field());
                let _ = (change.phone_number(), change.phone_number_id());
            }
            let parsed = Delivery::parse(body).expect("accepted bodies parse alone");
            assert!(delivery.changes().eq(parsed.changes()));
            let again = receiver.receive(Some(header.as_bytes()), body);
            assert_eq!(again.unwrap_err().kind(), &WebhookErrorKind::InProgress);
            assert!(receiver.commit(&delivery));
            let again = receiver.receive(Some(header.as_bytes()), body);
            assert_eq!(again.unwrap_err().kind(), &WebhookErrorKind::Replayed);
            assert!(receiver.forget(&delivery));
        }
        Err(err) => assert!(
            matches!(
                err.kind(),
                WebhookErrorKind::Malformed | WebhookErrorKind::TooLarge { .. }
            ),
            "{err}"
        ),
    }
}
