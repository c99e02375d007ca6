//! Meta's signed webhooks, received framework-neutrally, and the typed
//! WhatsApp Business Account events a porting BSP routes (the `webhooks`
//! feature).
//!
//! A [`WebhookReceiver`] takes what your HTTP server got — the `GET`
//! query, or the `X-Hub-Signature-256` header and the raw `POST` body — and
//! says what to answer:
//!
//! - **Verification handshake** ([`WebhookReceiver::handshake`]): Meta's
//!   `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` is
//!   answered with the challenge only when the mode is `subscribe` and the
//!   token is your [`VerifyToken`] (compared in constant time).
//! - **Deliveries** ([`WebhookReceiver::receive`]): the body's size is
//!   checked first (1 MiB unless set), then the header —
//!   `sha256=` and the hex HMAC-SHA256 of the raw body keyed with your
//!   [`AppSecret`], compared in constant time — before anything is parsed;
//!   then the envelope is read into typed [`Change`]s; a delivery whose
//!   signature was accepted before is refused as a replay.
//!
//! Every refusal is a [`WebhookError`] whose
//! [`http_status`](WebhookError::http_status) is the answer:
//!
//! | refused because | kind | answer |
//! |---|---|---|
//! | no `X-Hub-Signature-256` | [`MissingSignature`](WebhookErrorKind::MissingSignature) | 401 |
//! | not `sha256=` and 64 hex digits, or sent twice | [`MalformedSignature`](WebhookErrorKind::MalformedSignature) | 401 |
//! | the signature is not the body's | [`BadSignature`](WebhookErrorKind::BadSignature) | 403 |
//! | the body is over the limit | [`TooLarge`](WebhookErrorKind::TooLarge) | 413 |
//! | signed, but not the webhook envelope | [`Malformed`](WebhookErrorKind::Malformed) | 400 |
//! | accepted before (Meta retrying) | [`Replayed`](WebhookErrorKind::Replayed) | **200**: the first copy was handled; anything else makes Meta retry again |
//! | handshake: wrong mode or token | [`HandshakeRefused`](WebhookErrorKind::HandshakeRefused) | 403 (400 for an unusable challenge) |
//! | empty app secret or verify token | [`NotConfigured`](WebhookErrorKind::NotConfigured) | 500 |
//!
//! Messages never echo the body, the signature or a secret.
//!
//! ## With hyper or axum
//!
//! ```ignore
//! use std::sync::Arc;
//! use waba_porting::webhook::WebhookReceiver;
//!
//! let receiver = Arc::new(WebhookReceiver::new(app_secret, verify_token));
//!
//! // GET /webhook
//! let answer = match receiver.handshake(request.uri().query().unwrap_or("")) {
//!     Ok(challenge) => (200, challenge),          // text/plain
//!     Err(e) => (e.http_status(), String::new()),
//! };
//!
//! // POST /webhook: the raw body, read with a cap at the receiver's limit.
//! let headers = request.headers().iter().map(|(n, v)| (n.as_str(), v.as_bytes()));
//! match receiver.receive_with_headers(headers, &body) {
//!     Ok(delivery) => {
//!         for change in delivery.changes() {
//!             // change.waba_id(), change.phone_number(), change.field(),
//!             // change.event(), change.value(), change.id() …
//!         }
//!         200
//!     }
//!     Err(e) => e.http_status(), // Replayed answers 200
//! }
//! ```
//!
//! `examples/webhook_receiver.rs` is a runnable hyper server.
//!
//! ## The events
//!
//! A [`Delivery`] has [`Entry`]s (one WABA at one time) of [`Change`]s (a
//! `field` and its `value`). Each change says what a caller routes it by:
//! the WABA ([`Change::waba_id`], the entry's `id`), when
//! ([`Change::time`]), the number it concerns
//! ([`Change::phone_number`], Meta's display digits;
//! [`Change::phone_number_id`] when the payload carries one), the field and
//! the event or decision ([`Change::field`], [`Change::event`]), and a
//! fingerprint that is the same when the same change is delivered again
//! ([`Change::id`], a [`ChangeId`]).
//!
//! Four fields are typed ([`ChangeValue`]): `account_update`
//! ([`AccountUpdate`]), `account_review_update` ([`AccountReviewUpdate`]),
//! `phone_number_name_update` ([`PhoneNumberNameUpdate`]) and
//! `phone_number_quality_update` ([`PhoneNumberQualityUpdate`]); any other
//! is kept as sent ([`ChangeValue::Other`]), and so is an `object` other than
//! `whatsapp_business_account`. Reading is lenient: an unknown member is
//! kept in `extra`, an unknown enum value in the enum's `Other`, an id or
//! number that fails validation as sent ([`Lenient`]) — never an error.
//!
//! ## Applying events to sessions
//!
//! [`PortingSession::apply_event`](crate::PortingSession::apply_event)
//! decides what one change means for one session ([`EventEffect`]): not
//! about it, ignored, a duplicate, stale, recorded for the operator, or a
//! wake — the next fleet pass reads Meta before any step, so a webhook
//! never moves a session past a step by itself. [`apply_delivery`] (or
//! [`Fleet::apply_webhook`](crate::Fleet::apply_webhook)) applies a
//! delivery to a store's unfinished sessions, saving each one it changed
//! compare-and-swap on its revision; when its [`DeliveryOutcome`] is not
//! [complete](DeliveryOutcome::is_complete), [`forget`](WebhookReceiver::forget)
//! the delivery and answer 503 so that Meta retries.
//!
//! ## Sources
//!
//! - The handshake and the signature: Meta, *Webhooks — Getting Started*,
//!   <https://developers.facebook.com/docs/graph-api/webhooks/getting-started/>.
//! - The fields: Meta's WhatsApp Business Account webhook reference,
//!   <https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/account_update>,
//!   `…/account_review_update`, `…/phone_number_name_update` and
//!   `…/phone_number_quality_update` (the last names
//!   `max_daily_conversations_per_business`; earlier payloads sent
//!   `max_daily_conversation_per_phone_number` and the `FLAGGED`,
//!   `UNFLAGGED`, `UPGRADE`, `DOWNGRADE` events). `phone_number` with
//!   `ACCOUNT_VIOLATION` and `ACCOUNT_RESTRICTION`, `restriction_info` as an
//!   array, and `BUSINESS_VERIFICATION_STATUS_UPDATE` are as BSPs relay
//!   them (e.g. <https://developer.8x8.com/connect/docs/whatsapp-account-update-webhook>).

mod apply;
mod change_id;
mod error;
mod event;
mod handshake;
mod receiver;
mod replay;
mod secret;
mod signature;
mod value;

pub use apply::{
    apply_delivery, ChangeOutcome, DeliveryOutcome, EventEffect, SessionEffect, APPLY_ATTEMPTS,
};
pub use change_id::{ChangeId, InvalidChangeId};
pub use error::{HandshakeRefusal, WebhookError, WebhookErrorKind};
pub use event::{Change, Delivery, Entry, Lenient, WHATSAPP_BUSINESS_ACCOUNT};
pub use receiver::{
    WebhookReceiver, WebhookReceiverBuilder, DEFAULT_MAX_BODY_BYTES, DEFAULT_REPLAY_CAPACITY,
};
pub use secret::{AppSecret, VerifyToken};
pub use signature::SIGNATURE_HEADER;
pub use value::{
    AccountEvent, AccountReviewUpdate, AccountUpdate, BanInfo, BanState, CertificationInfo,
    CertificationStatus, ChangeValue, NameDecision, PhoneNumberNameUpdate,
    PhoneNumberQualityUpdate, QualityEvent, RestrictionInfo, ViolationInfo, WabaInfo,
};
