//! Nothing the crate prints holds a PIN or verification code, even when a
//! server echoes it back: errors mask secret-shaped text when shown.

use waba_porting::transport::{Headers, HttpResponse};
use waba_porting::{Error, Operation, Timestamp};

fn json_answer(status: u16, body: &str) -> HttpResponse {
    let mut headers = Headers::new();
    headers.push("Content-Type", "application/json");
    HttpResponse::new(status, headers, body)
}

#[test]
fn an_echoed_pin_reaches_neither_error_debug_nor_an_unexpected_answers_display() {
    let now = Timestamp::now();
    let graph = json_answer(
        400,
        r#"{"error":{"message":"(#133005) PIN 482913 does not match","code":133005,"fbtrace_id":"AbC123xyz"}}"#,
    );
    let api = Error::from_response(Operation::Register, &graph, now).unwrap();
    let waf = HttpResponse::new(
        403,
        Headers::new(),
        r#"<html><body>Request blocked. Body: {"messaging_product":"whatsapp","pin":"482913"}</body></html>"#,
    );
    let blocked = Error::from_response(Operation::Register, &waf, now).unwrap();
    let counted = json_answer(
        400,
        r#"{"error":{"message":"(#133005) PIN mismatch on attempt 2: 482913","code":133005}}"#,
    );
    let counted = Error::from_response(Operation::Register, &counted, now).unwrap();
    let shown = [
        ("ApiError Display (attempt 2: PIN)", format!("{counted}")),
        ("ApiError Display", format!("{api}")),
        ("ApiError Debug", format!("{api:?}")),
        ("UnexpectedResponse Display", format!("{blocked}")),
        ("UnexpectedResponse Debug", format!("{blocked:?}")),
    ];
    let leaks: Vec<_> = shown
        .iter()
        .filter(|(_, t)| t.contains("482913"))
        .map(|(w, t)| format!("{w}: {t}"))
        .collect();
    assert!(
        leaks.is_empty(),
        "the PIN is printed by:\n{}",
        leaks.join("\n")
    );
}

#[test]
fn error_debug_keeps_codes_status_and_trace_id_and_masks_only_the_texts() {
    let now = Timestamp::now();
    let answer = json_answer(
        400,
        r#"{"error":{"message":"(#133005) PIN 482913 does not match","type":"OAuthException","code":133005,"error_subcode":2494055,"error_user_msg":"pin=482913","error_data":{"details":"code 123-830"},"fbtrace_id":"AbC123xyz"}}"#,
    );
    let error = Error::from_response(Operation::Register, &answer, now).unwrap();
    for shown in [format!("{error:?}"), format!("{error:#?}")] {
        for kept in [
            "133005",
            "2494055",
            "400",
            "AbC123xyz",
            "OAuthException",
            "does not match",
        ] {
            assert!(shown.contains(kept), "{kept} missing from {shown}");
        }
        for secret in ["482913", "123-830"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }
    // The raw fields of an answer decoded without a request are as sent.
    let graph = error.api().unwrap().graph();
    assert_eq!(
        graph.message.as_deref(),
        Some("(#133005) PIN 482913 does not match")
    );
}
