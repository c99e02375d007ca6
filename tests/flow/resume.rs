//! A session persisted mid-flow and finished in another client.

use crate::common;

use common::*;
use waba_porting::{Pin, PortingSession, StateName, VerificationCode};
use wiremock::MockServer;

#[tokio::test]
async fn session_serialized_mid_flow_resumes_in_a_fresh_client() {
    let server = MockServer::start().await;
    mount_happy_path(&server).await;

    let saved = {
        let client = client(&server);
        let mut session = session();
        to_code_requested(&client, &mut session).await;
        serde_json::to_string_pretty(&session).unwrap()
        // the client and the session are dropped here
    };
    assert!(saved.contains("\"format_version\": 1"));
    assert!(!saved.contains(TOKEN));

    let mut session: PortingSession = serde_json::from_str(&saved).unwrap();
    assert_eq!(session.state().name(), StateName::CodeRequested);
    // Round trip is stable.
    assert_eq!(serde_json::to_string_pretty(&session).unwrap(), saved);

    let client = client(&server);
    client
        .verify_code(&mut session, &VerificationCode::new("123-830").unwrap())
        .await
        .unwrap();
    let state = client
        .register(&mut session, &Pin::new("482913").unwrap(), None)
        .await
        .unwrap();
    assert_eq!(state, StateName::Registered);
    assert_eq!(session.history().len(), 4);
    let sent = requests(&server).await;
    assert_eq!(
        sent.last().map(|r| r.url.path().to_owned()),
        Some(number_path("register"))
    );
}
