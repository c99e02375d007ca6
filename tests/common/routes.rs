//! The Embedded Signup and solution migration routes over wiremock: the
//! app's and the customer's credentials, the route sessions and the popup's
//! result.
#![allow(dead_code)] // each test file uses a different subset

use std::sync::Arc;

use waba_porting::{
    AppId, AppSecret, BusinessId, InMemoryTokens, PhoneNumber, PhoneNumberId, PortingClient,
    PortingSession, RetryPolicy, SignupCode, SignupResult, SolutionId, WabaId,
};
use wiremock::MockServer;

use super::{BUSINESS, NUMBER_ID, PHONE, TOKEN, VERSION, WABA};

pub const APP_ID: &str = "1234567890123";
pub const APP_SECRET: &str = "app-secret-0f1e2d3c4b5a";
pub const CODE: &str = "AQD-signup-code-9z8y7x";
pub const CUSTOMER_TOKEN: &str = "EAAG-customer-business-token-77";
pub const SOLUTION: &str = "4455667788";
pub const INTENT: &str = "778899001122";
/// The WABA Meta creates for the customer when it accepts the intent.
pub const DESTINATION: &str = "555000111222";
pub const NEW_NUMBER_ID: &str = "110200345509999";

/// A client with the BSP's static token, the app's credentials and
/// `tokens`, each step sent once.
pub fn route_client(server: &MockServer, tokens: &Arc<InMemoryTokens>) -> PortingClient {
    PortingClient::builder()
        .access_token(TOKEN)
        .app_credentials(AppId::new(APP_ID).unwrap(), AppSecret::new(APP_SECRET))
        .token_provider(Arc::clone(tokens))
        .base_url(server.uri())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

pub fn es_session() -> PortingSession {
    PortingSession::embedded_signup(
        PhoneNumber::parse(PHONE).unwrap(),
        WabaId::new(WABA).unwrap(),
        BusinessId::new(BUSINESS).unwrap(),
    )
}

pub fn mps_session() -> PortingSession {
    PortingSession::solution_migration(
        PhoneNumber::parse(PHONE).unwrap(),
        WabaId::new(WABA).unwrap(),
        BusinessId::new(BUSINESS).unwrap(),
        SolutionId::new(SOLUTION).unwrap(),
    )
}

/// What the Embedded Signup popup hands back, with the signup `code`.
pub fn signup(code: &str) -> SignupResult {
    SignupResult::new(
        SignupCode::new(code).unwrap(),
        WabaId::new(WABA).unwrap(),
        PhoneNumberId::new(NUMBER_ID).unwrap(),
    )
    .with_business_id(BusinessId::new(BUSINESS).unwrap())
}

/// The path of the signup code's exchange for the customer's token.
pub fn exchange_path() -> String {
    format!("/{VERSION}/oauth/access_token")
}
