//! Meta's signed webhooks (feature `webhooks`): deliveries signed with the
//! app secret and received, the envelope of one entry, times of the
//! deliveries, sessions queued in a store and a route client for a fleet.
#![allow(dead_code)] // each test file uses a different subset

use std::sync::Arc;

use serde_json::json;
use waba_porting::webhook::{Delivery, WebhookReceiver};
use waba_porting::{
    AppId, AppSecret, BusinessId, InMemoryTokens, PortingClient, PortingSession, RetryPolicy,
    SessionKey, SessionStore, Timestamp,
};
use wiremock::MockServer;

use super::routes::{APP_ID, CUSTOMER_TOKEN};
use super::{BUSINESS, TOKEN};

pub const APP_SECRET: &str = "4f1c0a8e2b7d9e3f5a6b7c8d9e0f1a2b";
pub const VERIFY_TOKEN: &str = "meatyhamhock";
/// A partner's business: the `entry.id` of a `PARTNER_*` event.
pub const PARTNER_BUSINESS: &str = "2949482758682047";

/// `seconds` after a fixed moment of 2027.
pub fn at(seconds: u64) -> Timestamp {
    Timestamp::from_unix_millis(1_800_000_000_000 + seconds * 1000)
}

/// `t` in Unix seconds, as a delivery's `time`.
pub fn unix(t: Timestamp) -> u64 {
    t.as_unix_millis() / 1000
}

pub fn receiver() -> WebhookReceiver {
    WebhookReceiver::new(APP_SECRET, VERIFY_TOKEN)
}

/// `body` as bytes, with its `X-Hub-Signature-256` header as Meta signs it.
pub fn signed(body: &serde_json::Value) -> (Vec<u8>, String) {
    let body = serde_json::to_vec(body).unwrap();
    let header = AppSecret::new(APP_SECRET).signature_header(&body);
    (body, header)
}

/// `body` through the receiver, signed as Meta signs it.
pub fn receive(receiver: &WebhookReceiver, body: &serde_json::Value) -> Delivery {
    let (body, header) = signed(body);
    receiver.receive(Some(header.as_bytes()), &body).unwrap()
}

/// A delivery of one entry: `id`, `time`, `changes`.
pub fn envelope(id: &str, time: u64, changes: serde_json::Value) -> serde_json::Value {
    json!({"object": "whatsapp_business_account",
           "entry": [{"id": id, "time": time, "changes": changes}]})
}

/// Saves `session` as revision 1, without a lease; returns it as stored.
pub async fn queue(store: &dyn SessionStore, mut session: PortingSession) -> PortingSession {
    session.next_revision();
    store.save(&session, None, at(0)).await.unwrap();
    store
        .load(&SessionKey::of(&session))
        .await
        .unwrap()
        .unwrap()
}

/// A route client builder: the BSP's token, the app's credentials, the
/// customer's token for `BUSINESS`, each step sent once.
pub fn route_client(server: &MockServer) -> waba_porting::PortingClientBuilder {
    let tokens = Arc::new(InMemoryTokens::new());
    tokens.insert(BusinessId::new(BUSINESS).unwrap(), CUSTOMER_TOKEN);
    PortingClient::builder()
        .access_token(TOKEN)
        .app_credentials(AppId::new(APP_ID).unwrap(), AppSecret::new("app-secret"))
        .token_provider(tokens)
        .base_url(server.uri())
        .retry_policy(RetryPolicy::none())
}
