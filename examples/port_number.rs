//! A full port, step by step, printing each transition.
//!
//! Runs against a local mock of the Graph API (wiremock) answering with the
//! reference bodies, so it needs no credentials:
//!
//! ```sh
//! cargo run --example port_number
//! ```

use serde_json::json;
use waba_porting::{
    BusinessId, CodeMethod, Language, PhoneNumber, Pin, PortingClient, PortingSession,
    PortingState, VerificationCode, WabaId,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WABA: &str = "102290129340398";
const NUMBER_ID: &str = "110200345501442";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = MockServer::start().await;
    mount_graph_api(&server).await;
    println!(
        "Graph API mock at {} (no credentials needed)\n",
        server.uri()
    );

    let client = PortingClient::builder()
        .access_token("mock-access-token")
        .base_url(server.uri())
        .build()?;
    let mut session = PortingSession::new(
        PhoneNumber::parse("+1 (415) 555-0123")?,
        WabaId::new(WABA)?,
        BusinessId::new("106540352242922")?,
    );
    report("opened", &session);

    client.start_migration(&mut session).await?;
    report("start_migration", &session);
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await?;
    report("request_code (SMS, en_US)", &session);
    // The customer reads the code from the SMS: "123-830".
    client
        .verify_code(&mut session, &VerificationCode::new("123-830")?)
        .await?;
    report("verify_code", &session);
    client
        .register(&mut session, &Pin::new("482913")?, None)
        .await?;
    report("register", &session);

    match session.state() {
        PortingState::Registered { phone_number_id } => {
            println!(
                "Registered {} as phone number id {phone_number_id}",
                session.phone_number()
            );
            Ok(())
        }
        other => Err(format!("port did not finish: {other:?}").into()),
    }
}

fn report(step: &str, session: &PortingSession) {
    let next = session.next_action();
    println!(
        "{step:<28} -> {:<16} next: {:?} (by {:?})",
        session.state().name().as_str(),
        next.action,
        next.actor
    );
}

async fn mount_graph_api(server: &MockServer) {
    let routes = [
        (
            format!("/v25.0/{WABA}/phone_numbers"),
            json!({"id": NUMBER_ID}),
        ),
        (
            format!("/v25.0/{NUMBER_ID}/request_code"),
            json!({"success": true}),
        ),
        (
            format!("/v25.0/{NUMBER_ID}/verify_code"),
            json!({"success": true}),
        ),
        (
            format!("/v25.0/{NUMBER_ID}/register"),
            json!({"success": true}),
        ),
    ];
    for (route, body) in routes {
        Mock::given(method("POST"))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(server)
            .await;
    }
}
