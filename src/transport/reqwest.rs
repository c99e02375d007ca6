//! The default transport, a thin adapter over a `reqwest::Client`, hardened
//! for the requests it carries (the bearer token, the PIN, the code): it
//! follows no redirect and reads at most a bounded body.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use super::{
    Headers, HttpRequest, HttpResponse, Method, Transport, TransportError, TransportErrorKind,
};

/// The most bytes of a response body [`ReqwestTransport`] reads unless
/// configured otherwise (1 MiB; Graph answers of this flow are under 10 KiB).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Sends requests with [`reqwest`](https://docs.rs/reqwest) (HTTP/1 and
/// HTTP/2; TLS by the `rustls` feature, the default, or `native-tls`).
///
/// TLS is not a default feature: without `rustls` or `native-tls` this
/// transport speaks plain HTTP (loopback) only, and
/// [`PortingClientBuilder::build`](crate::PortingClientBuilder::build)
/// refuses an https base URL with
/// [`ConfigError::TlsUnavailable`](crate::ConfigError::TlsUnavailable).
///
/// Hardened for what these requests carry:
/// - it follows **no redirect**: a 3xx is returned to the client, which
///   reports it as an [`UnexpectedResponse`](crate::UnexpectedResponse) — a
///   redirect can never carry the PIN or the token to another host, nor pass
///   for a success;
/// - it reads the body as a stream and stops at a limit
///   ([`DEFAULT_MAX_RESPONSE_BYTES`] unless configured): a larger answer is a
///   [`TransportErrorKind::ResponseTooLarge`] error and memory stays bounded.
///
/// Cheap to clone: clones share one connection pool. No reqwest type appears
/// in this crate's public API (except the documented
/// [`from_reqwest_builder`](Self::from_reqwest_builder) escape hatch), so
/// reqwest upgrades are not breaking changes.
///
/// ```no_run
/// use std::time::Duration;
/// use waba_porting::{PortingClient, ReqwestTransport};
///
/// # fn run(corporate_ca: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
/// let transport = ReqwestTransport::builder()
///     .proxy("http://proxy.internal:3128")
///     .add_root_certificate_pem(corporate_ca)
///     .user_agent_suffix("acme-bsp/2.1")
///     .pool_idle_timeout(Duration::from_secs(30))
///     .build()?;
/// let client = PortingClient::builder()
///     .access_token(std::env::var("WABA_ACCESS_TOKEN")?)
///     .transport(transport)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ReqwestTransport {
    client: ::reqwest::Client,
    /// For plain-http (loopback) URLs: never through any proxy, configured
    /// or from the environment (`HTTP_PROXY`), so the bearer token never
    /// leaves the machine in clear text.
    direct: ::reqwest::Client,
    max_response_bytes: usize,
    user_agent_suffix: Option<String>,
}

impl fmt::Debug for ReqwestTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqwestTransport")
            .field("max_response_bytes", &self.max_response_bytes)
            .field("user_agent_suffix", &self.user_agent_suffix)
            .finish_non_exhaustive()
    }
}

impl ReqwestTransport {
    /// A transport with the defaults and the given connect timeout.
    ///
    /// # Errors
    /// When reqwest cannot build its client (no TLS backend).
    pub fn new(connect_timeout: Option<Duration>) -> Result<Self, TransportError> {
        let mut builder = Self::builder();
        builder.connect_timeout = connect_timeout;
        builder.build()
    }

    /// Starts configuring a transport.
    pub fn builder() -> ReqwestTransportBuilder {
        ReqwestTransportBuilder::default()
    }

    /// Builds the transport from a `reqwest::ClientBuilder` you configured
    /// yourself — the escape hatch for settings this crate's builder does not
    /// offer. **This is the one place a reqwest type crosses this crate's
    /// API**, so it may change with reqwest upgrades.
    ///
    /// The guarantees still hold: redirects are turned off on your builder
    /// (a redirect could carry the PIN and the token to another host), plain
    /// http (loopback) requests bypass every proxy, and the response size
    /// limit ([`DEFAULT_MAX_RESPONSE_BYTES`]) applies.
    ///
    /// # Errors
    /// When reqwest cannot build the client.
    pub fn from_reqwest_builder(builder: ::reqwest::ClientBuilder) -> Result<Self, TransportError> {
        let config = |e| TransportError::new(TransportErrorKind::Other, e);
        Ok(Self {
            client: builder
                .redirect(::reqwest::redirect::Policy::none())
                .build()
                .map_err(config)?,
            direct: direct_client(None)?,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            user_agent_suffix: None,
        })
    }

    /// The most bytes of a response body this transport reads.
    pub fn max_response_bytes(&self) -> usize {
        self.max_response_bytes
    }
}

/// Configures a [`ReqwestTransport`] without naming a reqwest type.
#[derive(Clone, Default)]
#[must_use = "a builder does nothing until build() is called"]
pub struct ReqwestTransportBuilder {
    connect_timeout: Option<Duration>,
    pool_idle_timeout: Option<Duration>,
    proxy: Option<String>,
    root_certificates_pem: Vec<Vec<u8>>,
    user_agent_suffix: Option<String>,
    max_response_bytes: Option<usize>,
}

impl fmt::Debug for ReqwestTransportBuilder {
    /// The proxy URL may carry credentials: shown only as set or not.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqwestTransportBuilder")
            .field("connect_timeout", &self.connect_timeout)
            .field("pool_idle_timeout", &self.pool_idle_timeout)
            .field("proxy", &self.proxy.as_ref().map(|_| "[set]"))
            .field("root_certificates", &self.root_certificates_pem.len())
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl ReqwestTransportBuilder {
    /// Adds the configured root certificates to `builder`.
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    fn with_root_certificates(
        &self,
        mut builder: ::reqwest::ClientBuilder,
    ) -> Result<::reqwest::ClientBuilder, TransportError> {
        let mut certificates = Vec::new();
        for pem in &self.root_certificates_pem {
            let bundle = ::reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| TransportError::new(TransportErrorKind::Other, e))?;
            certificates.extend(bundle);
        }
        if !certificates.is_empty() {
            builder = builder.tls_certs_merge(certificates);
        }
        Ok(builder)
    }

    /// Without a TLS feature there is nothing to add certificates to: asking
    /// for one is an error, not a certificate silently ignored.
    #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
    fn with_root_certificates(
        &self,
        builder: ::reqwest::ClientBuilder,
    ) -> Result<::reqwest::ClientBuilder, TransportError> {
        if self.root_certificates_pem.is_empty() {
            Ok(builder)
        } else {
            Err(TransportError::new(
                TransportErrorKind::Other,
                "root certificates need TLS: enable the `rustls` or `native-tls` feature",
            ))
        }
    }

    /// The limit for establishing a connection.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long an idle pooled connection is kept.
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = Some(timeout);
        self
    }

    /// Sends every request through this proxy (`http://host:port`,
    /// `https://…`, `socks5://…` where reqwest supports it; credentials in
    /// the URL are used for the proxy and never printed).
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Trusts these root certificates (PEM, one or more) besides the
    /// platform's: a corporate TLS-inspecting proxy, a private CA.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates_pem.push(pem.into());
        self
    }

    /// Appended to the crate's `User-Agent` (`waba-porting/x.y.z <suffix>`),
    /// to tell your service's requests apart in Meta's logs.
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }

    /// The most bytes of a response body to read (default
    /// [`DEFAULT_MAX_RESPONSE_BYTES`]); a larger answer is a
    /// [`TransportErrorKind::ResponseTooLarge`] error.
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = Some(bytes);
        self
    }

    /// Builds the transport.
    ///
    /// # Errors
    /// A proxy URL or certificate reqwest cannot use, a user agent suffix
    /// with characters a header cannot carry, or no TLS backend: a
    /// [`TransportError`] of kind [`Other`](TransportErrorKind::Other) whose
    /// source says which.
    pub fn build(self) -> Result<ReqwestTransport, TransportError> {
        let config = |e| TransportError::new(TransportErrorKind::Other, e);
        let mut builder =
            ::reqwest::Client::builder().redirect(::reqwest::redirect::Policy::none());
        if let Some(timeout) = self.connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        if let Some(timeout) = self.pool_idle_timeout {
            builder = builder.pool_idle_timeout(timeout);
        }
        if let Some(proxy) = &self.proxy {
            // reqwest's error would quote the URL, credentials included.
            let proxy = ::reqwest::Proxy::all(proxy.as_str()).map_err(|_| {
                TransportError::new(
                    TransportErrorKind::Other,
                    "the proxy URL cannot be used (its text is not shown: it may hold credentials)",
                )
            })?;
            builder = builder.proxy(proxy);
        }
        builder = self.with_root_certificates(builder)?;
        if let Some(suffix) = &self.user_agent_suffix {
            let printable = suffix.bytes().all(|b| (0x20..0x7f).contains(&b));
            if suffix.trim().is_empty() || !printable {
                return Err(TransportError::new(
                    TransportErrorKind::Other,
                    "the user agent suffix must be printable ASCII and not blank",
                ));
            }
        }
        let client = builder.build().map_err(config)?;
        Ok(ReqwestTransport {
            client,
            direct: direct_client(self.connect_timeout)?,
            max_response_bytes: self
                .max_response_bytes
                .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
            user_agent_suffix: self.user_agent_suffix.map(|s| s.trim().to_owned()),
        })
    }
}

/// A client for plain-http (loopback) URLs: no proxy of any kind, no
/// redirects.
fn direct_client(connect_timeout: Option<Duration>) -> Result<::reqwest::Client, TransportError> {
    let mut builder = ::reqwest::Client::builder()
        .redirect(::reqwest::redirect::Policy::none())
        .no_proxy();
    if let Some(timeout) = connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    builder
        .build()
        .map_err(|e| TransportError::new(TransportErrorKind::Other, e))
}

fn classify(mut error: ::reqwest::Error) -> TransportError {
    // reqwest's messages include the URL: its query may carry credentials
    // (the Embedded Signup code exchange's `client_secret` and `code`, the
    // token `debug_token` inspects), so it is dropped.
    if let Some(url) = error.url_mut() {
        url.set_query(None);
    }
    let kind = if error.is_timeout() {
        TransportErrorKind::Timeout
    } else if error.is_connect() {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Other
    };
    TransportError::new(kind, error)
}

fn too_large(limit: usize) -> TransportError {
    TransportError::new(
        TransportErrorKind::ResponseTooLarge,
        format!("the response body is over the {limit}-byte limit"),
    )
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let method = match request.method {
            Method::Get => ::reqwest::Method::GET,
            Method::Post => ::reqwest::Method::POST,
        };
        // Plain http is only ever allowed to loopback: never via a proxy.
        let client = if request.url.scheme() == "http" {
            &self.direct
        } else {
            &self.client
        };
        let sent_to = request.url.clone();
        let mut builder = client.request(method, request.url);
        for (name, value) in request.headers.iter() {
            match &self.user_agent_suffix {
                Some(suffix) if name.eq_ignore_ascii_case("user-agent") => {
                    builder = builder.header(name, format!("{value} {suffix}"));
                }
                _ => builder = builder.header(name, value),
            }
        }
        if let Some(timeout) = request.timeout {
            builder = builder.timeout(timeout);
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body);
        }
        let mut response = builder.send().await.map_err(classify)?;
        if response.url() != &sent_to {
            // Only a client that follows redirects gets here; never report
            // what another URL answered.
            return Err(TransportError::new(
                TransportErrorKind::Other,
                "the answer came from another URL (a redirect was followed)",
            ));
        }
        let limit = self.max_response_bytes;
        if response
            .content_length()
            .is_some_and(|length| length > u64::try_from(limit).unwrap_or(u64::MAX))
        {
            return Err(too_large(limit));
        }
        let status = response.status().as_u16();
        let headers: Headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len().saturating_add(chunk.len()) > limit {
                return Err(too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse::new(status, headers, body))
    }
}
