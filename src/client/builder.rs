//! Configuring a [`PortingClient`].

use std::sync::Arc;
use std::time::Duration;

use url::{Host, Url};

use super::{Inner, PortingClient};
use crate::cancel::CancelToken;
use crate::checkpoint::Checkpoint;
use crate::credentials::TokenProvider;
use crate::error::ConfigError;
use crate::ids::AppId;
use crate::retry_policy::{RetryPolicy, RuntimeSleep, Sleep};
use crate::secret::{AccessToken, AppSecret};
use crate::throttle::Throttle;
use crate::time::{Clock, SystemClock};
use crate::transport::Transport;

/// The Graph API version used unless configured otherwise.
pub const DEFAULT_API_VERSION: &str = "v25.0";
/// The Graph API base URL used unless configured otherwise.
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";
/// The default limit for a whole request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default limit for establishing a connection (default transport only).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The first Graph API major version whose `register` marks
/// `data_localization_region` deprecated ("deprecated in v21+", Meta's
/// OpenAPI description, facebook/openapi `ecba623`,
/// `business-messaging-api_v23.0.yaml`, `WhatsAppDataLocalizationRegion`):
/// from it on, local storage is set through `POST /{phone-number-id}/settings`.
pub(crate) const LOCAL_STORAGE_SETTINGS_SINCE: u32 = 21;

/// Builds a [`PortingClient`]; see [`PortingClient::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until build() is called"]
pub struct PortingClientBuilder {
    token: Option<AccessToken>,
    api_version: String,
    base_url: String,
    timeout: Duration,
    connect_timeout: Duration,
    transport: Option<Arc<dyn Transport>>,
    clock: Arc<dyn Clock>,
    retry_policy: RetryPolicy,
    sleep: Arc<dyn Sleep>,
    checkpoint: Option<Arc<dyn Checkpoint>>,
    throttle: Option<Throttle>,
    cancel: Option<CancelToken>,
    app: Option<(AppId, AppSecret)>,
    tokens: Option<Arc<dyn TokenProvider>>,
}

impl Default for PortingClientBuilder {
    fn default() -> Self {
        Self {
            token: None,
            api_version: DEFAULT_API_VERSION.to_owned(),
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            transport: None,
            clock: Arc::new(SystemClock),
            retry_policy: RetryPolicy::default(),
            sleep: Arc::new(RuntimeSleep),
            checkpoint: None,
            throttle: None,
            cancel: None,
            tokens: None,
            app: None,
        }
    }
}

impl PortingClientBuilder {
    /// The destination WABA's access token: required unless a
    /// [`token_provider`](Self::token_provider) is given. With a provider,
    /// it is the token of the calls not made for a session
    /// ([`subscribe_app`](PortingClient::subscribe_app),
    /// [`set_two_step_pin`](PortingClient::set_two_step_pin),
    /// [`list_phone_numbers`](PortingClient::list_phone_numbers),
    /// [`read_phone_number`](PortingClient::read_phone_number)).
    pub fn access_token(mut self, token: impl Into<AccessToken>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The Graph API version, like `v25.0` (default [`DEFAULT_API_VERSION`]).
    ///
    /// It also decides how [`register`](PortingClient::register) sets local
    /// storage: through the number's settings from v21.0 on, with
    /// `register`'s `data_localization_region` before.
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into();
        self
    }

    /// The Graph API base URL (default [`DEFAULT_BASE_URL`]). A path is kept,
    /// so a proxy such as `https://proxy.example/graph` works.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The limit for a whole request, passed to the transport with every
    /// request (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The limit for connecting (default [`DEFAULT_CONNECT_TIMEOUT`]).
    ///
    /// Applies to the default transport only: with
    /// [`transport`](Self::transport), connecting is that transport's
    /// business (for a `ReqwestTransport`, set
    /// `ReqwestTransportBuilder::connect_timeout`).
    /// [`timeout`](Self::timeout) applies to every transport: it is passed
    /// with each request.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sends requests through `transport` instead of the default
    /// `ReqwestTransport` (feature `reqwest`).
    pub fn transport(mut self, transport: impl Transport + 'static) -> Self {
        self.transport = Some(Arc::new(transport));
        self
    }

    /// Reads time from `clock` (default: the system clock).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How steps are retried (default [`RetryPolicy::default`]: 4 attempts
    /// within 2 minutes). Only failures the retry decision allows are
    /// retried, and a step whose outcome is unknown is reconciled first;
    /// [`RetryPolicy::none`] returns every failure at once.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = policy;
        self
    }

    /// How the client waits between attempts and in the throttle (default
    /// [`RuntimeSleep`]: tokio's timer with the `reqwest` feature; without
    /// a tokio runtime it cannot wait, and waits end as errors carrying
    /// their time). Pass your runtime's timer, or in tests one that records
    /// the waits.
    pub fn sleep(mut self, sleep: impl Sleep + 'static) -> Self {
        self.sleep = Arc::new(sleep);
        self
    }

    /// Saves each session through `checkpoint` before a step with a side
    /// effect is sent (with the in-flight marker) and after every recorded
    /// outcome, so a crash at any point neither repeats a side effect nor
    /// loses progress (see [`Checkpoint`]).
    pub fn checkpoint(mut self, checkpoint: impl Checkpoint + 'static) -> Self {
        self.checkpoint = Some(Arc::new(checkpoint));
        self
    }

    /// Paces every request through `throttle` (shared by its clones: give
    /// the same throttle to several clients and they share one budget and
    /// one rate-limit pause). Without one, requests start at once and a
    /// rate-limit answer slows only the call that met it (by its retry).
    pub fn throttle(mut self, throttle: Throttle) -> Self {
        self.throttle = Some(throttle);
        self
    }

    /// Ends every wait of this client (a throttle pause, a wait between
    /// retries) as soon as `token` is cancelled. A step waiting in the
    /// throttle is not sent and returns
    /// [`Error::WaitRequired`](crate::Error::WaitRequired) with
    /// [`WaitReason::Cancelled`](crate::WaitReason::Cancelled); one waiting
    /// to retry returns its last attempt's failure. A request already sent
    /// is not cut short: its answer is recorded. A
    /// [`Fleet`](crate::Fleet) gives its client its own token.
    pub fn cancel_token(mut self, token: CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Gives every call made for a session the token `provider` gives for
    /// the session's [`CredentialKey`](crate::CredentialKey) (its business
    /// and WABA): one client serves many customers, each with its own
    /// token (see [`TokenProvider`]). The calls are
    /// [`start_migration`](PortingClient::start_migration),
    /// [`request_code`](PortingClient::request_code),
    /// [`verify_code`](PortingClient::verify_code),
    /// [`register`](PortingClient::register),
    /// [`reconcile`](PortingClient::reconcile),
    /// [`refresh`](PortingClient::refresh) and
    /// [`check_readiness`](PortingClient::check_readiness), with every read
    /// they make, and a [`Fleet`](crate::Fleet)'s steps. The token is asked
    /// when a call is about to send its first request and kept for the
    /// call; when Graph refuses it as invalid or expired (error 190), the
    /// client asks [`TokenProvider::refresh`] once and makes the call again
    /// once with the new token.
    ///
    /// With a provider, [`access_token`](Self::access_token) is optional:
    /// it is then the token of the calls not made for a session (without
    /// it they fail with [`Error::Token`](crate::Error::Token), nothing
    /// sent; or make them through
    /// [`PortingClient::for_customer`]). Pass an `Arc` to keep a handle on
    /// the provider (to insert tokens into an
    /// [`InMemoryTokens`](crate::InMemoryTokens), say).
    pub fn token_provider(mut self, provider: impl TokenProvider + 'static) -> Self {
        self.tokens = Some(Arc::new(provider));
        self
    }

    /// Your Meta app's id and secret (App Dashboard → App settings →
    /// Basic): the `client_id` and `client_secret` of the Embedded Signup
    /// code exchange
    /// ([`exchange_signup_code`](PortingClient::exchange_signup_code)),
    /// and, on a client without a static access token, the app access
    /// token (`{app-id}|{app-secret}`) of the sharing check.
    pub fn app_credentials(mut self, app_id: AppId, app_secret: impl Into<AppSecret>) -> Self {
        self.app = Some((app_id, app_secret.into()));
        self
    }

    /// Validates the configuration and builds the client.
    ///
    /// # Errors
    /// A [`ConfigError`]: no access token and no token provider (or a token
    /// with characters a header cannot carry), an API version not shaped like `v25.0`, a base URL
    /// that cannot take paths, a zero timeout, no transport (without the
    /// `reqwest` feature), or a default transport that could not be made.
    pub fn build(self) -> Result<PortingClient, ConfigError> {
        let token = self.token.filter(|t| !t.is_empty());
        if token.is_none() && self.tokens.is_none() {
            return Err(ConfigError::MissingAccessToken);
        }
        // `Authorization: Bearer <token>` must be a valid header value: a
        // token with a space, a control character or a non-ASCII letter (a
        // copy-paste accident) fails here, not as a late "request failed".
        let authorization = match &token {
            Some(token) => {
                Some(super::tokens::bearer(token).ok_or(ConfigError::InvalidAccessToken)?)
            }
            None => None,
        };
        if !valid_version(&self.api_version) {
            return Err(ConfigError::InvalidApiVersion);
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout);
        }
        let api_root = api_root(&self.base_url, &self.api_version)?;
        let transport = match self.transport {
            Some(transport) => transport,
            None => default_transport(self.connect_timeout, &api_root)?,
        };
        let local_storage_by_settings = major_version(&self.api_version)
            .is_some_and(|major| major >= LOCAL_STORAGE_SETTINGS_SINCE);
        Ok(PortingClient {
            inner: Arc::new(Inner {
                authorization,
                local_storage_by_settings,
                transport,
                token,
                api_root,
                timeout: self.timeout,
                clock: self.clock,
                retry_policy: self.retry_policy,
                sleep: self.sleep,
                checkpoint: self.checkpoint,
                throttle: self.throttle,
                cancel: self.cancel,
                tokens: self.tokens,
                app: self.app.filter(|(_, secret)| !secret.is_empty()),
                acting: None,
            }),
        })
    }
}

/// Whether the default transport speaks https: TLS is not a default
/// feature (the simulator and loopback servers need none).
#[cfg(feature = "reqwest")]
const DEFAULT_TRANSPORT_HAS_TLS: bool = cfg!(any(feature = "rustls", feature = "native-tls"));

/// The default transport for `api_root`: refused for an https root when
/// built without TLS (it could never reach it).
#[cfg(feature = "reqwest")]
fn default_transport(
    connect_timeout: Duration,
    api_root: &Url,
) -> Result<Arc<dyn Transport>, ConfigError> {
    if api_root.scheme() == "https" && !DEFAULT_TRANSPORT_HAS_TLS {
        return Err(ConfigError::TlsUnavailable);
    }
    crate::transport::ReqwestTransport::new(Some(connect_timeout))
        .map(|t| Arc::new(t) as Arc<dyn Transport>)
        .map_err(ConfigError::TransportInit)
}

#[cfg(not(feature = "reqwest"))]
fn default_transport(
    _connect_timeout: Duration,
    _api_root: &Url,
) -> Result<Arc<dyn Transport>, ConfigError> {
    Err(ConfigError::MissingTransport)
}

/// `v` + digits + `.` + digits.
fn valid_version(version: &str) -> bool {
    let Some(rest) = version.strip_prefix('v') else {
        return false;
    };
    let Some((major, minor)) = rest.split_once('.') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    digits(major) && digits(minor)
}

/// The major version of a valid version (`25` for `v25.0`).
fn major_version(version: &str) -> Option<u32> {
    version.strip_prefix('v')?.split_once('.')?.0.parse().ok()
}

/// The base URL with the version appended as a path segment.
fn api_root(base: &str, version: &str) -> Result<Url, ConfigError> {
    let invalid = |reason| ConfigError::InvalidBaseUrl { reason };
    let mut url = Url::parse(base.trim()).map_err(|_| invalid("is not a valid absolute URL"))?;
    let loopback = match url.host() {
        None => return Err(invalid("has no host")),
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
    };
    match url.scheme() {
        "https" => {}
        // The bearer token must not cross a network in clear text: plain
        // HTTP only to this machine (tests, local proxies).
        "http" if loopback => {}
        "http" => {
            return Err(invalid(
                "must use https (plain http only to a loopback host)",
            ))
        }
        _ => return Err(invalid("must use https")),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("must not have a query or fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not contain credentials"));
    }
    url.path_segments_mut()
        .map_err(|()| invalid("cannot be a base"))?
        .pop_if_empty()
        .push(version);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Graph is https: without a TLS feature the default transport could
    /// never reach it, so the client is refused when built, not at its first
    /// request; loopback http (the simulator served, a test server) works.
    #[cfg(feature = "reqwest")]
    #[test]
    fn an_https_base_url_needs_a_tls_feature_for_the_default_transport() {
        let graph = PortingClient::builder().access_token("token").build();
        if DEFAULT_TRANSPORT_HAS_TLS {
            assert!(graph.is_ok(), "{graph:?}");
        } else {
            assert!(
                matches!(graph, Err(ConfigError::TlsUnavailable)),
                "{graph:?}"
            );
            let text = graph.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(text.contains("`rustls`"), "{text}");
        }
        let loopback = PortingClient::builder()
            .access_token("token")
            .base_url("http://127.0.0.1:9")
            .build();
        assert!(loopback.is_ok(), "{loopback:?}");
    }

    #[test]
    fn api_root_appends_the_version() {
        assert_eq!(
            api_root("https://graph.facebook.com", "v25.0")
                .unwrap()
                .as_str(),
            "https://graph.facebook.com/v25.0"
        );
        assert_eq!(
            api_root("https://graph.facebook.com/", "v21.0")
                .unwrap()
                .as_str(),
            "https://graph.facebook.com/v21.0"
        );
        assert_eq!(
            api_root("http://127.0.0.1:9/graph/", "v25.0")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/graph/v25.0"
        );
    }

    #[test]
    fn bad_base_urls_are_config_errors() {
        for bad in [
            "",
            "graph.facebook.com",
            "ftp://x",
            "mailto:a@b",
            "https://x/?q=1",
            "https://u:p@x/",
            "https://x/#f",
        ] {
            assert!(
                matches!(
                    api_root(bad, "v25.0"),
                    Err(ConfigError::InvalidBaseUrl { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn local_storage_goes_through_the_settings_from_v21() {
        assert_eq!(major_version("v25.0"), Some(25));
        assert_eq!(major_version("v1.10"), Some(1));
        #[derive(Debug)]
        struct Never;
        #[async_trait::async_trait]
        impl Transport for Never {
            async fn send(
                &self,
                _: crate::transport::HttpRequest,
            ) -> Result<crate::transport::HttpResponse, crate::TransportError> {
                Err(crate::TransportError::from_kind(
                    crate::TransportErrorKind::Other,
                ))
            }
        }
        let by_settings = |version: &str| {
            PortingClientBuilder::default()
                .access_token("EAAG-token")
                .api_version(version)
                .transport(Never)
                .build()
                .map(|client| client.inner.local_storage_by_settings)
        };
        for (version, want) in [
            ("v20.0", false),
            ("v20.9", false),
            ("v21.0", true),
            ("v23.0", true),
            (DEFAULT_API_VERSION, true),
            ("v100.0", true),
        ] {
            assert_eq!(by_settings(version).ok(), Some(want), "{version}");
        }
    }

    #[test]
    fn versions() {
        for ok in ["v25.0", "v18.0", "v1.10"] {
            assert!(valid_version(ok), "{ok}");
        }
        for bad in [
            "", "25.0", "v25", "v25.", "v.0", "V25.0", "v25.0/", "v25.0.1", "vx.0",
        ] {
            assert!(!valid_version(bad), "{bad}");
        }
    }
}
