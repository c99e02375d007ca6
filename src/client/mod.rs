//! The typed client over the step engine.
//!
//! [`PortingClient`] is one `Arc` of configuration; each file below adds
//! the methods of one job to it, and reads top to bottom.
//!
//! The typed calls — what each call sends, and how its answer becomes a
//! state:
//!
//! - `steps`: the programmatic route's four steps (`start_migration`,
//!   `request_code`, `verify_code`, `register`) and `Step`, what each one
//!   sends and how a read of the number judges it;
//! - `answers`: how each step's answer becomes a state;
//! - `routes`: the Embedded Signup and solution migration steps;
//! - `refresh`: where a session stands (`reconcile`, `refresh`);
//! - `readiness`: `check_readiness`;
//! - `phone_numbers`: `read_phone_number`, `list_phone_numbers`, a number
//!   found in a WABA;
//! - `settings`: `subscribe_app`, `set_two_step_pin`, local storage before
//!   `register`;
//! - `fields`: object reads that survive a field Graph refuses;
//! - `wire`: request bodies and success answers (errors are decoded by
//!   `crate::error`).
//!
//! Under them:
//!
//! - `engine`: runs a side-effecting step — admission to the shared
//!   throttle and the register budget, the in-flight marker and the
//!   checkpoint save before the request, attempts under the retry policy,
//!   reconcile of a lost answer — and records outcomes (see its docs);
//! - `request`: one request to Graph (URL, headers, throttle admission and
//!   feedback, the transport);
//! - `tokens`: which token a request carries, and the call made again once
//!   after Graph refused a customer's token;
//! - `builder`: the configuration.
//!
//! # Who calls what
//!
//! - The four step methods hand their `Step` to the engine's `run_step`,
//!   and only they call it.
//! - The code exchange and the migration intent are sent once, never
//!   retried: they take the engine's admission and marker (`admit`,
//!   `mark_and_save`) themselves before `send_admitted`.
//! - Reads go through `send` (admission, one request), repeatable calls
//!   through the engine's `idempotent`; a call that moves a session
//!   records through the engine's `record_*`.
//! - A call made for a session goes through `for_session` and
//!   `after_call` (`tokens`).
//! - Nothing outside `client` reaches the engine or `request`: the fleet
//!   and the simulator use the public methods, and the fleet also
//!   `with_checkpoint` (its leased saves) and `save_session`.

mod answers;
mod builder;
mod engine;
mod fields;
mod phone_numbers;
mod readiness;
mod refresh;
mod request;
mod routes;
mod settings;
mod steps;
mod tokens;
mod wire;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

pub use builder::{
    PortingClientBuilder, DEFAULT_API_VERSION, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT,
};

use crate::cancel::CancelToken;
use crate::checkpoint::Checkpoint;
use crate::credentials::TokenProvider;
use crate::ids::AppId;
use crate::retry_policy::{Deadline, RetryPolicy, Sleep};
use crate::secret::{AccessToken, AppSecret};
use crate::session::PortingSession;
use crate::throttle::Throttle;
use crate::time::{Clock, Timestamp};
use crate::transport::Transport;

/// Drives porting sessions against the Graph API.
///
/// Cheap to clone (one `Arc`), `Send + Sync`, no global state: share one
/// client across tasks. Each step method checks that the step is legal for
/// the session (an [`Error::IllegalTransition`](crate::Error::IllegalTransition) sends nothing), performs the
/// step's one request, applies the outcome to the session (which is then
/// ready to persist) and returns the name of the session's new state; read
/// the rest (the phone number id…) from [`PortingSession::state`]. On an API
/// error the session records it too: a human-blocked case moves it to a
/// waiting state, a rejection to `Rejected`, and a wait (`Retry-After`) sets
/// [`PortingSession::not_before`].
///
/// ```no_run
/// use waba_porting::{
///     BusinessId, CodeMethod, Language, PhoneNumber, Pin, PortingClient, PortingSession,
///     VerificationCode, WabaId,
/// };
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = PortingClient::builder()
///     .access_token(std::env::var("WABA_ACCESS_TOKEN")?)
///     .build()?;
/// let mut session = PortingSession::new(
///     PhoneNumber::parse("+1 415 555 0123")?,
///     WabaId::new("102290129340398")?,
///     BusinessId::new("106540352242922")?,
/// );
/// client.start_migration(&mut session).await?;
/// client.request_code(&mut session, CodeMethod::Sms, &Language::default()).await?;
/// let code = VerificationCode::new("123-830")?; // what the customer received
/// client.verify_code(&mut session, &code).await?;
/// client.register(&mut session, &Pin::new("482913")?, None).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PortingClient {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    transport: Arc<dyn Transport>,
    /// The static token (calls not made for a session, or every call
    /// without a token provider).
    token: Option<AccessToken>,
    api_root: Url,
    timeout: Duration,
    clock: Arc<dyn Clock>,
    retry_policy: RetryPolicy,
    sleep: Arc<dyn Sleep>,
    checkpoint: Option<Arc<dyn Checkpoint>>,
    throttle: Option<Throttle>,
    cancel: Option<CancelToken>,
    /// `Bearer <token>` of the static token, made once.
    authorization: Option<String>,
    /// Gives each session's token (see [`crate::credentials`]).
    tokens: Option<Arc<dyn TokenProvider>>,
    /// The app's id and secret (the Embedded Signup code exchange).
    app: Option<(AppId, AppSecret)>,
    /// The customer this client acts for (a call for a session, or
    /// [`PortingClient::for_customer`]).
    acting: Option<Arc<tokens::Acting>>,
    /// Whether `register` sets local storage through the number's settings
    /// (API v21.0 and newer) rather than with `data_localization_region`.
    local_storage_by_settings: bool,
}

impl fmt::Debug for PortingClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortingClient")
            .field("api_root", &self.inner.api_root.as_str())
            .field("token", &self.inner.token)
            .field("token_provider", &self.inner.tokens)
            .field("acting_for", &self.inner.acting)
            .field("timeout", &self.inner.timeout)
            .field("transport", &self.inner.transport)
            .field("clock", &self.inner.clock)
            .field("retry_policy", &self.inner.retry_policy)
            .field("sleep", &self.inner.sleep)
            .field("checkpoint", &self.inner.checkpoint)
            .field("throttle", &self.inner.throttle)
            .field("cancel", &self.inner.cancel)
            .finish()
    }
}

// The fleet driver shares one client across tasks: keep it Send + Sync.
const _: fn() = || {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<PortingClient>();
    shareable::<PortingSession>();
};

impl PortingClient {
    /// Starts configuring a client.
    pub fn builder() -> PortingClientBuilder {
        PortingClientBuilder::default()
    }

    /// The API root every request goes below (`https://graph.facebook.com/v25.0`).
    pub fn api_root(&self) -> &Url {
        &self.inner.api_root
    }

    /// The clock the client stamps transitions with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The limit for a whole request, passed to the transport with each.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// The retry policy of every step call.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry_policy
    }

    /// The same client saving through `checkpoint` instead (the fleet's
    /// leased one).
    pub(crate) fn with_checkpoint(&self, checkpoint: Arc<dyn Checkpoint>) -> Self {
        let inner = &self.inner;
        Self {
            inner: Arc::new(Inner {
                transport: Arc::clone(&inner.transport),
                token: inner.token.clone(),
                api_root: inner.api_root.clone(),
                timeout: inner.timeout,
                clock: Arc::clone(&inner.clock),
                retry_policy: inner.retry_policy.clone(),
                sleep: Arc::clone(&inner.sleep),
                checkpoint: Some(checkpoint),
                throttle: inner.throttle.clone(),
                cancel: inner.cancel.clone(),
                authorization: inner.authorization.clone(),
                tokens: inner.tokens.clone(),
                app: inner.app.clone(),
                acting: inner.acting.clone(),
                local_storage_by_settings: inner.local_storage_by_settings,
            }),
        }
    }

    fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// The deadline of a call starting now: the retry policy's.
    fn deadline(&self) -> Deadline {
        Deadline::new(self.inner.retry_policy.deadline(), self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{HttpRequest, HttpResponse};

    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}

    #[test]
    fn client_is_send_sync_and_cheap_to_clone() {
        assert_send_sync_clone::<PortingClient>();
        assert_send_sync_clone::<PortingSession>();
    }

    #[test]
    fn debug_redacts_the_token() {
        #[derive(Debug)]
        struct Never;
        #[async_trait::async_trait]
        impl Transport for Never {
            async fn send(&self, _: HttpRequest) -> Result<HttpResponse, crate::TransportError> {
                Err(crate::TransportError::from_kind(
                    crate::TransportErrorKind::Other,
                ))
            }
        }
        let client = PortingClient::builder()
            .access_token("EAAG-top-secret")
            .transport(Never)
            .build()
            .unwrap();
        let shown = format!("{client:?}");
        assert!(
            !shown.contains("EAAG-top-secret") && shown.contains("[redacted]"),
            "{shown}"
        );
    }
}
