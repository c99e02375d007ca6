//! # waba-porting
//!
//! Port a WhatsApp Business API phone number from one Business Solution
//! Provider (BSP) to another, into your own WhatsApp Business Account (WABA).
//!
//! The port takes four Graph API calls made by the destination WABA's owner
//! — start the migration, request a code, verify it, register — and, between
//! them, hours or days of humans acting: the customer approves the "message
//! on behalf" request, the previous BSP disables two-step verification, the
//! code arrives by SMS or voice. This crate gives you:
//!
//! - [`PortingClient`]: a typed client, cheap to clone and `Send + Sync`, that
//!   performs each step through a pluggable [`Transport`]
//!   (`ReqwestTransport` by default; no reqwest type in the public API),
//!   under a [`RetryPolicy`] that retries only what is safe for that step and
//!   reconciles (reads the number) after an unknown outcome instead of
//!   repeating a side effect; a [`Checkpoint`] saves the session around each
//!   request so a crash at any point is safe. One client serves many
//!   customers: a [`TokenProvider`] gives each session its customer's token
//!   ([`PortingClientBuilder::token_provider`]).
//! - [`PortingSession`]: the port as data — inputs, [`PortingState`], history —
//!   with a pure state machine, serde persistence (versioned, no secrets) and
//!   [`next_action`](PortingSession::next_action) telling who must act.
//! - [`Error`]: one error type, ordered by how far the request got, whose API
//!   case ([`ApiErrorKind`]) says what happened, whether and how retrying
//!   helps for the step it answered ([`Error::retry_advice`],
//!   [`Error::is_retryable`], [`Error::retry_after`]), who must act and what
//!   to do ([`Error::remediation`]).
//! - Secrets ([`AccessToken`], [`Pin`], [`VerificationCode`]) whose `Debug`
//!   prints `[redacted]` and that have no `Display` or `Serialize`.
//!
//! ## A port, step by step
//!
//! ```no_run
//! use waba_porting::{
//!     Actor, ApiErrorKind, BusinessId, CodeMethod, Error, Language, PhoneNumber, Pin,
//!     PortingClient, PortingSession, VerificationCode, WabaId,
//! };
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = PortingClient::builder()
//!     .access_token(std::env::var("WABA_ACCESS_TOKEN")?)
//!     .api_version("v25.0")
//!     .build()?;
//! let mut session = PortingSession::new(
//!     PhoneNumber::parse("+1 (415) 555-0123")?,
//!     WabaId::new("102290129340398")?,
//!     BusinessId::new("106540352242922")?,
//! );
//!
//! match client.start_migration(&mut session).await {
//!     Ok(_) => {}
//!     Err(Error::Api(e)) if e.kind() == ApiErrorKind::OnBehalfNotAccepted => {
//!         // The session is now AwaitingOnBehalfApproval: persist it, tell the
//!         // customer what to do, and retry start_migration once they approved.
//!         assert_eq!(e.who_must_act(), Actor::Customer);
//!         println!("{}", e.remediation());
//!         return Ok(());
//!     }
//!     Err(e) => return Err(e.into()),
//! }
//! client.request_code(&mut session, CodeMethod::Sms, &Language::default()).await?;
//! // Persist between steps; the JSON holds no secret.
//! let saved = serde_json::to_string(&session)?;
//! // … hours later, maybe in another process:
//! let mut session: PortingSession = serde_json::from_str(&saved)?;
//! client.verify_code(&mut session, &VerificationCode::new("123-830")?).await?;
//! client.register(&mut session, &Pin::new("482913")?, None).await?;
//! # Ok(()) }
//! ```
//!
//! ## The troubleshooting cases
//!
//! | case | [`ApiErrorKind`] | session moves to | who acts |
//! |---|---|---|---|
//! | Message on behalf request not yet accepted | [`OnBehalfNotAccepted`](ApiErrorKind::OnBehalfNotAccepted) | `AwaitingOnBehalfApproval` | customer |
//! | Two-factor authentication not yet disabled | [`TwoStepEnabled`](ApiErrorKind::TwoStepEnabled) | `AwaitingTwoStepDisable` | previous BSP |
//! | Eligible to be added directly | [`EligibleForDirectAdd`](ApiErrorKind::EligibleForDirectAdd) | `Rejected` | us: add as new number |
//! | Already moved to the destination | [`AlreadyInDestination`](ApiErrorKind::AlreadyInDestination) | where the listed number stands (looked up, not an error) | nobody |
//! | Source and destination must be the same business | [`BusinessMismatch`](ApiErrorKind::BusinessMismatch) | `Rejected` | customer: confirm the Business Manager id |
//! | Something went wrong | [`MigrationFailed`](ApiErrorKind::MigrationFailed) | unchanged (retryable) | us: retry later, then support |
//!
//! ## The states
//!
//! ```text
//! Draft ──start_migration──▶ Initiated ──request_code──▶ CodeRequested ──verify_code──▶ CodeVerified ──register──▶ Registered
//!                               ▲                          │    ▲                          │                        │
//!                               │                          └────┘ request_code (new code)  │                        │ refresh shows it
//!                               └─────── 133006, or a read showing the verification EXPIRED ┘                        ▼ not CONNECTED yet:
//!                                                                                                       next action AwaitConnected
//! Any step refused because a person must act first:
//!   ──▶ AwaitingOnBehalfApproval { resume, step }   the customer approves; then retry `step`
//!   ──▶ AwaitingTwoStepDisable   { resume, step }   the previous BSP disables 2SV; then retry `step`
//! Refused for good:
//!   ──▶ Rejected { EligibleForDirectAdd | BusinessMismatch }
//! ```
//!
//! A waiting state keeps the state it resumes from; any step that state
//! allows stays legal (the person may have acted already), and a read of
//! the number ([`PortingClient::refresh`]) ends the wait once the number is
//! past the refused step. [`PortingSession::next_action`] turns the state
//! into the [`NextAction`], who acts ([`Actor`]) and from when; its
//! `Display` is a sentence for the customer.
//!
//! ## One client, many customers
//!
//! A BSP holding a business token per customer (Embedded Signup) gives the
//! client a [`TokenProvider`] ([`PortingClientBuilder::token_provider`]):
//! every call made for a session carries the token the provider gives for
//! the session's [`CredentialKey`] (its business and WABA), a token Graph
//! refuses as invalid or expired (error 190) is refreshed once and the call
//! made again once, and no token is [`Error::Token`] with nothing sent.
//! [`InMemoryTokens`] holds tokens in memory; a service implements the
//! trait over its own encrypted store. Calls not made for a session keep
//! the static token, or act for a customer through
//! [`PortingClient::for_customer`].
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `reqwest` | yes | `ReqwestTransport`, the default transport (HTTP/1 and HTTP/2). Without it, pass your own [`Transport`]. |
//! | `rustls` | no | TLS for `ReqwestTransport` by rustls (aws-lc-rs). Turn it on (or `native-tls`) to reach Graph: without TLS, [`PortingClientBuilder::build`] refuses an https base URL with [`ConfigError::TlsUnavailable`]. |
//! | `native-tls` | no | TLS by the platform's library instead (its backend when on). |
//! | `simulator` | yes | the `simulator` module: an in-process Graph API for the examples and your tests (no extra dependencies). |
//! | `sim-server` | no | `Simulator::serve`: the simulator over loopback HTTP, so separate processes share one world, and `RemoteSimulator`, its control API's client (hyper and tokio, already in the tree through reqwest). |
//! | `test-util` | no | `test_util::MockTransport`: scripted answers, recorded requests, assertions. |
//! | `tracing` | no | Spans and events through `tracing`; never a token, PIN or code. |
//! | `postgres` | no | `PostgresStore`: sessions in a Postgres table, for replicas on many machines (tokio-postgres). |
//! | `sqlite` | no | `SqliteStore`: sessions in one SQLite file shared by several processes (SQLite compiled in). |
//! | `webhooks` | no | The `webhook` module: Meta's webhooks received framework-neutrally (handshake, `X-Hub-Signature-256` in constant time, size limit, replay refusal) and typed WhatsApp Business Account events (hmac, sha2). |
//!
//! `--no-default-features` is the state machine, the client and the
//! [`Transport`] trait with no HTTP stack.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

/// The README's code blocks are compiled as doctests (they use the simulator).
#[cfg(all(doctest, feature = "simulator"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod actor;
mod cancel;
mod checkpoint;
mod client;
mod credentials;
mod error;
mod fleet;
mod ids;
mod kind;
mod meaning;
mod method;
mod number;
mod operation;
mod params;
mod phone;
mod readiness;
mod retry_policy;
mod route;
mod secret;
mod session;
mod session_events;
mod signup;
#[cfg(feature = "simulator")]
#[cfg_attr(docsrs, doc(cfg(feature = "simulator")))]
pub mod simulator;
mod state;
mod store;
mod telemetry;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;
mod throttle;
mod time;
pub mod transport;
mod validation;
mod waba;
#[cfg(feature = "webhooks")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub mod webhook;

pub use actor::{Actor, Recovery};
pub use cancel::{CancelToken, Cancelled};
pub use checkpoint::{Checkpoint, CheckpointStage};
pub use client::{
    PortingClient, PortingClientBuilder, DEFAULT_API_VERSION, DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT,
};
pub use credentials::{CredentialKey, InMemoryTokens, TokenError, TokenErrorKind, TokenProvider};
pub use error::{
    ApiError, ApiErrorKind, CheckpointError, ConfigError, Error, GraphError, LocalStorageError,
    RetryAdvice, UndecodableReason, UnexpectedResponse, ValidationError, WaitReason, WaitRequired,
};
pub use fleet::{
    Fleet, FleetBuilder, FleetEvent, FleetInputs, FleetProgress, FleetReport, InputMap,
    ProgressColumn, SessionOutcome, SessionResult, DEFAULT_CONCURRENCY, DEFAULT_LEASE,
    DEFAULT_MAX_CODE_REQUESTS, DEFAULT_RECHECK_AFTER,
};
pub use ids::{AppId, BusinessId, MigrationIntentId, PhoneNumberId, SolutionId, WabaId};
pub use meaning::StatusMeaning;
pub use number::{CodeVerificationStatus, NameStatus, NumberStatus, PhoneNumberRecord};
pub use operation::Operation;
pub use params::{CodeMethod, DataLocalizationRegion, Language, SUPPORTED_REGIONS};
pub use phone::PhoneNumber;
pub use readiness::{ReadinessCheck, ReadinessFinding, ReadinessReport, Severity};
#[allow(deprecated)]
pub use retry_policy::{RetryPolicy, RuntimeSleep, Sleep, ThreadSleep};
pub use route::Route;
pub use secret::{AccessToken, AppSecret, Pin, VerificationCode};
pub use session::{
    Counters, InFlight, LastFailure, NextAction, NextStep, PortingSession, Transition,
    CODE_LIFETIME, HISTORY_LIMIT, MIGRATION_INTENT_RECHECK, REGISTER_BUDGET, REGISTER_WINDOW,
    SESSION_FORMAT_VERSION,
};
pub use session_events::{EventMeaning, EventNote, EVENT_MEMORY, EVENT_NOTES_LIMIT};
pub use signup::{SignupCode, SignupEvent, SignupEventError, SignupResult};
pub use state::{
    IllegalTransition, IntentProgress, InvalidSession, NumberGone, Observed, PortingState,
    RejectionReason, StateName, StepOutcome,
};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use store::SqliteStore;
pub use store::{
    Acquired, Claimed, DirectoryStore, Holder, InMemoryStore, Lease, RateShare, SessionKey,
    SessionStore, StoreCheckpoint, StoreError, StoreErrorKind, WorkerId, RATE_SYNC_INTERVAL,
    WORKER_TTL,
};
#[cfg(feature = "postgres")]
pub use store::{PostgresStore, PostgresStoreBuilder};
pub use throttle::{Throttle, DEFAULT_RATE_LIMIT_PAUSE};
pub use time::{Clock, SystemClock, Timestamp};
#[cfg(feature = "reqwest")]
pub use transport::{ReqwestTransport, ReqwestTransportBuilder, DEFAULT_MAX_RESPONSE_BYTES};
pub use transport::{Transport, TransportError, TransportErrorKind};
pub use waba::{
    AccountReviewStatus, BusinessVerificationStatus, OnBehalfRequestStatus, WabaRecord,
};
#[cfg(feature = "webhooks")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub use webhook::{
    VerifyToken, WebhookError, WebhookErrorKind, WebhookReceiver, WebhookReceiverBuilder,
};

/// Re-exported so that [`Transport`], [`Checkpoint`], [`Sleep`] and
/// [`TokenProvider`] can be implemented without naming the `async-trait`
/// crate.
pub use async_trait::async_trait;
