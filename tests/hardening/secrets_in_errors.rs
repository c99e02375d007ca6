//! Nothing the crate prints or saves holds a PIN or verification code the
//! caller gave it, even when a server echoes it back: errors mask
//! secret-shaped text when shown, and an answer to the client's own request
//! has exactly what that request carried masked in every text it keeps.

use std::sync::Arc;

use serde_json::Value;
use waba_porting::transport::{Headers, HttpRequest, HttpResponse, Transport};
use waba_porting::{
    BusinessId, CodeMethod, Error, Language, Operation, PhoneNumber, PhoneNumberId, Pin,
    PortingClient, PortingSession, RetryPolicy, Timestamp, TransportError, VerificationCode,
    WabaId,
};

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

const NUMBER_ID: &str = "110200345501442";

/// A server that echoes the secret its request carried (the body's `pin`
/// or `code`) into its answer to `operation`, in `template` (where
/// `{secret}` stands); every other step succeeds.
#[derive(Debug)]
struct Echoing {
    operation: &'static str,
    status: u16,
    json: bool,
    template: String,
}

#[waba_porting::async_trait]
impl Transport for Echoing {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let edge = request
            .url
            .path_segments()
            .and_then(|mut segments| segments.next_back())
            .unwrap_or_default()
            .to_owned();
        let edge = if edge == NUMBER_ID { "" } else { edge.as_str() };
        if edge != self.operation {
            let body = match edge {
                "phone_numbers" => format!(r#"{{"id":"{NUMBER_ID}"}}"#),
                _ => r#"{"success":true}"#.to_owned(),
            };
            return Ok(json_answer(200, &body));
        }
        let sent: Value = serde_json::from_slice(&request.body).unwrap();
        let secret = sent
            .get("pin")
            .or_else(|| sent.get("code"))
            .and_then(Value::as_str)
            .unwrap();
        let body = self.template.replace("{secret}", secret);
        Ok(if self.json {
            json_answer(self.status, &body)
        } else {
            HttpResponse::new(self.status, Headers::new(), body)
        })
    }
}

/// A Graph error echoing the secret, glued to letters (`PIN482913x`, a
/// form no shape rule takes for a PIN) in every text and the trace id.
fn graph_echo(operation: &'static str) -> Echoing {
    Echoing {
        operation,
        status: 400,
        json: true,
        template: r#"{"error":{"message":"(#100) PIN{secret}x is wrong","type":"OAuthException{secret}x","code":100,"error_user_title":"got{secret}x","error_user_msg":"value {secret}x rejected","error_data":{"details":"pin:{secret}x;"},"fbtrace_id":"AbC{secret}x"}}"#.to_owned(),
    }
}

/// A proxy's HTML page echoing the request body, the secret also glued to
/// letters.
fn html_echo(operation: &'static str) -> Echoing {
    Echoing {
        operation,
        status: 403,
        json: false,
        template: "<html><body>Request blocked: pin:{secret}x; PIN{secret}x</body></html>"
            .to_owned(),
    }
}

fn client(transport: Echoing) -> PortingClient {
    PortingClient::builder()
        .access_token("EAAG-test-token")
        .transport(Arc::new(transport))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

fn session() -> PortingSession {
    PortingSession::new(
        PhoneNumber::parse("+1 415 555 0123").unwrap(),
        WabaId::new("102290129340398").unwrap(),
        BusinessId::new("106540352242922").unwrap(),
    )
}

/// Every place `error` (and the session after it) could show `forms`.
fn assert_nowhere(error: &Error, session: Option<&PortingSession>, forms: &[&str]) {
    let mut places = vec![
        ("Display", error.to_string()),
        ("Debug", format!("{error:?}")),
        ("pretty Debug", format!("{error:#?}")),
    ];
    if let Some(api) = error.api() {
        let graph = api.graph();
        for (field, text) in [
            ("graph().message", &graph.message),
            ("graph().error_type", &graph.error_type),
            ("graph().error_user_title", &graph.error_user_title),
            ("graph().error_user_msg", &graph.error_user_msg),
            ("graph().details", &graph.details),
            ("graph().fbtrace_id", &graph.fbtrace_id),
        ] {
            places.push((field, text.clone().unwrap_or_default()));
        }
        places.push((
            "fbtrace_id()",
            api.fbtrace_id().unwrap_or_default().to_owned(),
        ));
    }
    if let Error::UnexpectedResponse(unexpected) = error {
        places.push(("body_snippet()", unexpected.body_snippet().to_owned()));
    }
    if let Some(session) = session {
        places.push(("saved session", serde_json::to_string(session).unwrap()));
        places.push(("last_failure()", format!("{:?}", session.last_failure())));
        places.push(("session Debug", format!("{session:?}")));
    }
    let leaks: Vec<String> = places
        .iter()
        .filter(|(_, text)| forms.iter().any(|form| text.contains(form)))
        .map(|(place, text)| format!("{place}: {text}"))
        .collect();
    assert!(
        leaks.is_empty(),
        "the secret is shown by:\n{}",
        leaks.join("\n")
    );
}

/// Precondition: the answer's echo is one the shape rule alone misses, so
/// that the test proves the exact masking (if the shape rule learns it,
/// pick another form).
fn assert_shape_rule_misses(
    operation: Operation,
    transport: &Echoing,
    secret: &str,
    forms: &[&str],
) {
    let body = transport.template.replace("{secret}", secret);
    let answer = HttpResponse::new(transport.status, Headers::new(), body);
    let error = Error::from_response(operation, &answer, Timestamp::now()).unwrap();
    let shown = error.to_string();
    assert!(
        forms.iter().any(|form| shown.contains(form)),
        "the shape rule masks this echo already: {shown}"
    );
}

const PIN: &str = "482913";

async fn failed_register(transport: Echoing) -> (Error, PortingSession) {
    let client = client(transport);
    let mut session = session();
    client.start_migration(&mut session).await.unwrap();
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    client
        .verify_code(&mut session, &VerificationCode::new("123-830").unwrap())
        .await
        .unwrap();
    let error = client
        .register(&mut session, &Pin::new(PIN).unwrap(), None)
        .await
        .unwrap_err();
    (error, session)
}

#[tokio::test]
async fn a_pin_echoed_at_register_in_any_form_is_in_no_error_text_and_not_in_the_session() {
    for transport in [graph_echo("register"), html_echo("register")] {
        assert_shape_rule_misses(Operation::Register, &transport, PIN, &[PIN]);
        let api = transport.json;
        let (error, session) = failed_register(transport).await;
        assert_eq!(error.api().is_some(), api, "{error:?}");
        assert_nowhere(&error, Some(&session), &[PIN]);
        if let Some(api) = error.api() {
            assert_eq!(api.graph().code, Some(100));
            assert_eq!(
                api.graph().message.as_deref(),
                Some("(#100) PIN[redacted]x is wrong")
            );
            assert_eq!(api.fbtrace_id(), None, "an echoing trace id is not one");
            let failure = session.last_failure().unwrap();
            assert_eq!(failure.code, Some(100));
            assert_eq!(
                failure.message.as_deref(),
                Some("value [redacted]x rejected")
            );
        }
    }
}

#[tokio::test]
async fn a_code_echoed_at_verify_code_in_any_form_is_in_no_error_text_and_not_in_the_session() {
    let dashed = Echoing {
        operation: "verify_code",
        status: 400,
        json: true,
        template: r#"{"error":{"message":"(#136025) Code 123-830z is wrong","code":136025,"error_data":{"details":"code123 830z"}}}"#.to_owned(),
    };
    for transport in [graph_echo("verify_code"), html_echo("verify_code"), dashed] {
        let forms = ["123830", "123-830", "123 830"];
        assert_shape_rule_misses(Operation::VerifyCode, &transport, "123830", &forms);
        let client = client(transport);
        let mut session = session();
        client.start_migration(&mut session).await.unwrap();
        client
            .request_code(&mut session, CodeMethod::Sms, &Language::default())
            .await
            .unwrap();
        let error = client
            .verify_code(&mut session, &VerificationCode::new("123 830").unwrap())
            .await
            .unwrap_err();
        assert_nowhere(&error, Some(&session), &forms);
    }
}

#[tokio::test]
async fn a_pin_echoed_at_set_two_step_pin_is_in_no_error_text() {
    for transport in [graph_echo(""), html_echo("")] {
        assert_shape_rule_misses(Operation::SetTwoStepPin, &transport, PIN, &[PIN]);
        let error = client(transport)
            .set_two_step_pin(
                &PhoneNumberId::new(NUMBER_ID).unwrap(),
                &Pin::new(PIN).unwrap(),
            )
            .await
            .unwrap_err();
        assert_nowhere(&error, None, &[PIN]);
    }
}

#[cfg(all(feature = "simulator", feature = "reqwest"))]
/// `PortingClient`'s Debug redacts its own token but prints its transport's
/// Debug, and the simulator's derived Debug dumps its world: the two-step
/// PIN the register set, every verification code delivered, and the access
/// token it accepts. Logging a client (`{client:?}`) in a demo or a test run
/// leaks all three.
#[tokio::test]
async fn simulator_client_debug_prints_the_pin_the_codes_and_the_token() {
    use crate::common::hooked::{plain_client, to_code_verified};
    use crate::common::wire::pin;
    use waba_porting::simulator::Scenario;

    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;
    let code = sim.inbox(session.phone_number())[0]
        .code
        .secret()
        .to_owned();
    client.register(&mut session, &pin(), None).await.unwrap();

    let shown = format!("{client:?}");
    for secret in [
        pin().secret(),
        code.as_str(),
        waba_porting::simulator::SIMULATOR_TOKEN,
    ] {
        assert!(!shown.contains(secret), "client Debug leaks {secret:?}");
    }
}
