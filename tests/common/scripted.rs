//! A client over `MockTransport` (feature `test-util`) with scripted
//! answers, the way a downstream crate tests its own porting logic.
#![allow(dead_code)] // each test file uses a different subset

use waba_porting::test_util::{responses, Matcher, MockTransport};
use waba_porting::{
    BusinessId, CodeMethod, Language, Operation, PhoneNumber, PortingClient, PortingSession,
    RetryPolicy, StateName, VerificationCode, WabaId,
};

pub const TOKEN: &str = "EAAGm0PX4ZCpsBAKZC9xZBZB0ZD1234567890abc";
pub const PIN: &str = "482913";
pub const NUMBER_ID: &str = "110200345501442";
pub const WABA_ID: &str = "102290129340398";

pub fn session() -> PortingSession {
    PortingSession::new(
        PhoneNumber::parse("+1 415 555 0123").unwrap(),
        WabaId::new(WABA_ID).unwrap(),
        BusinessId::new("106540352242922").unwrap(),
    )
}

/// A client over `mock` that sends each step once.
pub fn client(mock: &MockTransport) -> PortingClient {
    PortingClient::builder()
        .access_token(TOKEN)
        .transport(mock.clone())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// Scripts the three steps before `register` as successes.
pub fn script_until_register(mock: &MockTransport) {
    mock.respond(
        Matcher::operation(Operation::StartMigration),
        responses::id(NUMBER_ID),
    )
    .respond(
        Matcher::operation(Operation::RequestCode),
        responses::success(),
    )
    .respond(
        Matcher::operation(Operation::VerifyCode),
        responses::success(),
    );
}

/// Drives `session` to `CodeVerified` through `client`.
pub async fn to_code_verified(client: &PortingClient, session: &mut PortingSession) {
    client.start_migration(session).await.unwrap();
    client
        .request_code(session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    client
        .verify_code(session, &VerificationCode::new("123-830").unwrap())
        .await
        .unwrap();
    assert_eq!(session.state().name(), StateName::CodeVerified);
}
