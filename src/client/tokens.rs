//! Which token each request carries: the client's static one, or the one a
//! [`TokenProvider`] gives for the customer a call is made for (see
//! [`crate::credentials`]).

use std::borrow::Cow;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::PortingClient;
use crate::credentials::{CredentialKey, TokenError, TokenErrorKind, TokenProvider};
use crate::error::{ApiErrorKind, Error};
use crate::secret::AccessToken;
use crate::session::PortingSession;

/// `Bearer <token>`, when `token` can be sent in a header: not empty, only
/// visible ASCII (no whitespace, control or non-ASCII character).
pub(super) fn bearer(token: &AccessToken) -> Option<String> {
    let secret = token.secret();
    let sendable = !secret.is_empty() && secret.bytes().all(|b| b.is_ascii_graphic());
    sendable.then(|| format!("Bearer {secret}"))
}

/// A client acting for one customer: the provider's token for `key`.
pub(super) struct Acting {
    key: CredentialKey,
    provider: Arc<dyn TokenProvider>,
    /// One call made for a session: the token is asked once and kept for
    /// the call's requests, and may be refreshed once. Otherwise (a client
    /// made by [`PortingClient::for_customer`]) every request asks the
    /// provider and nothing is refreshed.
    per_call: bool,
    held: Mutex<Held>,
}

/// What a call holds of its customer's token.
#[derive(Default)]
struct Held {
    token: Option<AccessToken>,
    authorization: Option<String>,
    refreshed: bool,
}

impl fmt::Debug for Acting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key only: never the token, nor the header made of it.
        f.debug_struct("Acting")
            .field("key", &self.key)
            .field("per_call", &self.per_call)
            .finish()
    }
}

impl Acting {
    fn new(key: CredentialKey, provider: Arc<dyn TokenProvider>, per_call: bool) -> Self {
        Self {
            key,
            provider,
            per_call,
            held: Mutex::new(Held::default()),
        }
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The `Authorization` header of the customer's token: the one held,
    /// else asked of the provider (and held, for a call).
    async fn authorization(&self) -> Result<String, Error> {
        if self.per_call {
            if let Some(header) = self.held().authorization.clone() {
                return Ok(header);
            }
        }
        let token = self.provider.token(&self.key).await?;
        let header = self.sendable(&token)?;
        if self.per_call {
            let mut held = self.held();
            held.token = Some(token);
            held.authorization = Some(header.clone());
        }
        Ok(header)
    }

    /// The header of `token`, or why it cannot be sent.
    fn sendable(&self, token: &AccessToken) -> Result<String, TokenError> {
        bearer(token).ok_or_else(|| {
            TokenError::new(
                TokenErrorKind::Invalid,
                format!(
                    "the token for {} is empty or has characters an HTTP header cannot carry \
                     (whitespace, control characters, non-ASCII)",
                    self.key
                ),
            )
        })
    }

    /// After Graph refused the token held (190): asks the provider for a
    /// new one, once in the call's life. `Ok(true)`: a new token is held,
    /// make the call again; `Ok(false)`: the 190 stands (refreshed
    /// already, no token held, a provider that cannot refresh, or that
    /// gave the rejected token back).
    async fn refresh(&self) -> Result<bool, Error> {
        let rejected = {
            let mut held = self.held();
            if !self.per_call || held.refreshed {
                return Ok(false);
            }
            let Some(rejected) = held.token.clone() else {
                return Ok(false);
            };
            held.refreshed = true;
            rejected
        };
        let token = match self.provider.refresh(&self.key, &rejected).await {
            Ok(token) if token == rejected => return Ok(false),
            Ok(token) => token,
            Err(error) if error.kind() == TokenErrorKind::Unsupported => return Ok(false),
            Err(error) => {
                let context = format!("Graph rejected the token for {} (190)", self.key);
                return Err(error.context(&context).into());
            }
        };
        let header = self.sendable(&token)?;
        let mut held = self.held();
        held.token = Some(token);
        held.authorization = Some(header);
        drop(held);
        crate::telemetry::token_refreshed(&self.key);
        Ok(true)
    }
}

impl PortingClient {
    /// The token provider the client asks for each session's token, if it
    /// was given one ([`PortingClientBuilder::token_provider`](super::PortingClientBuilder::token_provider)).
    pub fn token_provider(&self) -> Option<&Arc<dyn TokenProvider>> {
        self.inner.tokens.as_ref()
    }

    /// The same client acting for one customer: its calls not made for a
    /// session ([`subscribe_app`](Self::subscribe_app),
    /// [`set_two_step_pin`](Self::set_two_step_pin),
    /// [`list_phone_numbers`](Self::list_phone_numbers),
    /// [`read_phone_number`](Self::read_phone_number)) carry the token the
    /// provider gives for `key`, asked at each request, instead of the
    /// static one. A 190 answer to them is returned as it is (call
    /// [`TokenProvider::refresh`] yourself, then call again). Calls made
    /// for a session still carry the token of that session's key.
    ///
    /// Without a token provider, the client itself (its static token).
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use waba_porting::{BusinessId, CredentialKey, InMemoryTokens, PortingClient, WabaId};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let tokens = Arc::new(InMemoryTokens::new());
    /// let business = BusinessId::new("106540352242922")?;
    /// let waba = WabaId::new("102290129340398")?;
    /// tokens.insert(business.clone(), "EAAG-customer-token");
    /// let client = PortingClient::builder().token_provider(tokens).build()?;
    /// let customer = client.for_customer(&CredentialKey::new(business, waba.clone()));
    /// customer.subscribe_app(&waba).await?;
    /// # Ok(()) }
    /// ```
    pub fn for_customer(&self, key: &CredentialKey) -> PortingClient {
        match &self.inner.tokens {
            Some(provider) => self.acting_as(Acting::new(key.clone(), Arc::clone(provider), false)),
            None => self.clone(),
        }
    }

    /// The client a call for `session` goes through: with a token
    /// provider, one acting for the session's customer for this call
    /// alone; otherwise this one.
    pub(super) fn for_session(&self, session: &PortingSession) -> Cow<'_, PortingClient> {
        match &self.inner.tokens {
            Some(provider) => {
                let key = CredentialKey::of(session);
                Cow::Owned(self.acting_as(Acting::new(key, Arc::clone(provider), true)))
            }
            None => Cow::Borrowed(self),
        }
    }

    fn acting_as(&self, acting: Acting) -> PortingClient {
        let mut inner = super::Inner::clone(&self.inner);
        inner.acting = Some(Arc::new(acting));
        PortingClient {
            inner: Arc::new(inner),
        }
    }

    /// The `Authorization` header of the client's next request: its
    /// customer's token, or its static one.
    ///
    /// # Errors
    /// [`Error::Token`]: the provider has none (or failed, or gave one that
    /// cannot be sent), or a call not made for a session on a client with
    /// no static token. Nothing is sent.
    pub(super) async fn authorization(&self) -> Result<String, Error> {
        match (&self.inner.acting, &self.inner.authorization) {
            (Some(acting), _) => acting.authorization().await,
            (None, Some(header)) => Ok(header.clone()),
            (None, None) => Err(TokenError::new(
                TokenErrorKind::Missing,
                "a call not made for a session carries the client's static access token, and \
                 the client has none: give it one (PortingClientBuilder::access_token), or call \
                 through PortingClient::for_customer",
            )
            .into()),
        }
    }

    /// The `Authorization` header of the app's own calls (the Embedded
    /// Signup sharing check): the client's static token, else the app
    /// token `{app-id}|{app-secret}`.
    ///
    /// # Errors
    /// [`Error::Token`] when the client has neither.
    pub(super) fn app_authorization(&self) -> Result<String, Error> {
        if let Some(header) = &self.inner.authorization {
            return Ok(header.clone());
        }
        let app_token = self.inner.app.as_ref().and_then(|(id, secret)| {
            bearer(&AccessToken::new(format!(
                "{}|{}",
                id.as_str(),
                secret.secret()
            )))
        });
        app_token.ok_or_else(|| {
            TokenError::new(
                TokenErrorKind::Missing,
                "the sharing check (debug_token) needs the client's static access token or the app's credentials (PortingClientBuilder::app_credentials)",
            )
            .into()
        })
    }

    /// After a call made through [`for_session`](Self::for_session)'s
    /// client: `Continue` when Graph refused the session's token (190)
    /// and the provider gave a new one — make the call again, once (a
    /// 190 is a refusal: nothing happened, and the session recorded it as
    /// any refusal). Otherwise the call's result, or the provider's
    /// failure to refresh.
    pub(super) async fn after_call<T>(
        &self,
        result: Result<T, Error>,
    ) -> ControlFlow<Result<T, Error>> {
        let Some(acting) = &self.inner.acting else {
            return ControlFlow::Break(result);
        };
        let rejected = matches!(
            &result,
            Err(Error::Api(e)) if e.kind() == ApiErrorKind::InvalidAccessToken
        );
        if !rejected {
            return ControlFlow::Break(result);
        }
        match acting.refresh().await {
            Ok(true) => ControlFlow::Continue(()),
            Ok(false) => ControlFlow::Break(result),
            Err(error) => ControlFlow::Break(Err(error)),
        }
    }
}
