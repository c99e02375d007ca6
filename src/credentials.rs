//! Credentials per session: one client serving many customers, each with
//! the customer's own token.
//!
//! A Business Solution Provider onboarding customers through Embedded
//! Signup holds a **business token per customer** (from exchanging the
//! customer's authorization code). Give the client a [`TokenProvider`]
//! ([`PortingClientBuilder::token_provider`](crate::PortingClientBuilder::token_provider))
//! and every request made for a session carries the token the provider
//! gives for that session's [`CredentialKey`] (its business and WABA);
//! a token Graph refuses as invalid or expired (error 190) is refreshed
//! through the provider once and the call made again once.
//!
//! Tokens are secrets. The crate never writes one into a saved session, a
//! log line or an error ([`AccessToken`] prints `[redacted]` and has no
//! `Display`); a service keeps them encrypted at rest in its own store and
//! implements [`TokenProvider`] over it. [`InMemoryTokens`] is the shipped
//! provider for one process (tests, tools, a service that loads its tokens
//! at start).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::ids::{BusinessId, WabaId};
use crate::secret::AccessToken;
use crate::session::PortingSession;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Whose token a request needs: the customer's business and the
/// destination WABA of a session ([`CredentialKey::of`]).
///
/// Ids, not secrets: it may be logged and shown.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CredentialKey {
    business_id: BusinessId,
    waba_id: WabaId,
}

impl CredentialKey {
    /// The key of `business_id`'s WABA `waba_id`.
    pub fn new(business_id: BusinessId, waba_id: WabaId) -> Self {
        Self {
            business_id,
            waba_id,
        }
    }

    /// The key of `session`: its [`business_id`](PortingSession::business_id)
    /// and the WABA the number moves into
    /// ([`target_waba_id`](PortingSession::target_waba_id): for a solution
    /// migration, the source WABA until Meta created the destination).
    pub fn of(session: &PortingSession) -> Self {
        Self::new(
            session.business_id().clone(),
            session.target_waba_id().clone(),
        )
    }

    /// The customer's Business Manager id.
    pub fn business_id(&self) -> &BusinessId {
        &self.business_id
    }

    /// The destination WABA's id.
    pub fn waba_id(&self) -> &WabaId {
        &self.waba_id
    }
}

impl From<&PortingSession> for CredentialKey {
    fn from(session: &PortingSession) -> Self {
        Self::of(session)
    }
}

impl fmt::Display for CredentialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "business {}, WABA {}", self.business_id, self.waba_id)
    }
}

/// Gives the client the access token to act for a customer.
///
/// The client asks [`token`](Self::token) when a call made for a session
/// is about to send its first request (a call that sends nothing asks
/// nothing), and uses that token for every request of the call. When Graph
/// answers error 190 (the token is invalid or expired,
/// [`ApiErrorKind::InvalidAccessToken`](crate::ApiErrorKind::InvalidAccessToken)),
/// it asks [`refresh`](Self::refresh) once and makes the call again once
/// with the new token.
///
/// Implementations are shared by every task of the client (`Send + Sync`,
/// behind an `Arc`). Tokens are secrets: keep them encrypted at rest, and
/// never put one into a [`TokenError`] (its message, its source) or a log.
/// Your `Debug` must not print them either ([`AccessToken`]'s prints
/// `[redacted]`).
///
/// ```
/// use waba_porting::{AccessToken, CredentialKey, TokenError, TokenProvider};
///
/// /// Business tokens in the service's own (encrypted) store.
/// #[derive(Debug)]
/// struct Vault;
///
/// impl Vault {
///     async fn decrypt_token_of(&self, business: &str) -> Result<Option<String>, std::io::Error> {
///         Ok(Some(format!("EAAG-token-of-{business}")))
///     }
/// }
///
/// #[waba_porting::async_trait]
/// impl TokenProvider for Vault {
///     async fn token(&self, key: &CredentialKey) -> Result<AccessToken, TokenError> {
///         match self.decrypt_token_of(key.business_id().as_str()).await {
///             Ok(Some(token)) => Ok(AccessToken::new(token)),
///             Ok(None) => Err(TokenError::missing(key)),
///             Err(e) => Err(TokenError::backend("the vault could not be read", e)),
///         }
///     }
/// }
/// ```
#[async_trait]
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// The token to act for `key`'s customer.
    ///
    /// # Errors
    /// [`TokenError::missing`] when there is none for `key` (the client
    /// sends nothing); any other [`TokenError`] when it could not be read.
    async fn token(&self, key: &CredentialKey) -> Result<AccessToken, TokenError>;

    /// A new token for `key`, after Graph refused `rejected` (error 190:
    /// invalid or expired). Called at most once per client call; the call
    /// is then made again once with the token returned (a token equal to
    /// `rejected` ends the call with the 190 instead).
    ///
    /// The default cannot refresh: the 190 ends the call.
    ///
    /// # Errors
    /// A [`TokenErrorKind::Unsupported`] error when the provider cannot
    /// refresh (the client returns the 190 itself); any other
    /// [`TokenError`] ends the call with it.
    async fn refresh(
        &self,
        key: &CredentialKey,
        rejected: &AccessToken,
    ) -> Result<AccessToken, TokenError> {
        let _ = (key, rejected);
        Err(TokenError::unsupported(
            "this provider cannot refresh tokens",
        ))
    }

    /// Keeps `token` as `key`'s, so that the next [`token`](Self::token)
    /// for `key` returns it: the client calls it after it obtained a new
    /// token for a customer (Embedded Signup's code exchange).
    ///
    /// The default does not store: an error.
    ///
    /// # Errors
    /// A [`TokenErrorKind::Unsupported`] error by default; a store that
    /// failed.
    async fn store(&self, key: &CredentialKey, token: AccessToken) -> Result<(), TokenError> {
        let _ = (key, token);
        Err(TokenError::unsupported(
            "this provider does not store tokens",
        ))
    }
}

#[async_trait]
impl<T: TokenProvider + ?Sized> TokenProvider for std::sync::Arc<T> {
    async fn token(&self, key: &CredentialKey) -> Result<AccessToken, TokenError> {
        (**self).token(key).await
    }

    async fn refresh(
        &self,
        key: &CredentialKey,
        rejected: &AccessToken,
    ) -> Result<AccessToken, TokenError> {
        (**self).refresh(key, rejected).await
    }

    async fn store(&self, key: &CredentialKey, token: AccessToken) -> Result<(), TokenError> {
        (**self).store(key, token).await
    }
}

/// What went wrong getting a token, by what to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenErrorKind {
    /// No token for the customer (or, for a call not made for a session,
    /// no static token): somebody must provide one — store the token of the
    /// customer's Embedded Signup, or have the customer sign up again.
    Missing,
    /// The provider cannot do this ([`TokenProvider::refresh`],
    /// [`TokenProvider::store`]).
    Unsupported,
    /// The token given cannot be sent: empty, or with characters an HTTP
    /// header cannot carry (whitespace, control characters, non-ASCII).
    Invalid,
    /// The provider's store or service failed (I/O, a database, a key
    /// service): retry later.
    Backend,
}

/// A token could not be had for a call; nothing was sent. Its
/// [`kind`](Self::kind) says what to do.
///
/// Never carries a token: its message names the customer by ids only
/// (what a provider passes is masked where it looks like a token), and a
/// provider must keep tokens out of the `source` it gives.
#[derive(Debug, thiserror::Error)]
#[error("access token: {what}")]
pub struct TokenError {
    kind: TokenErrorKind,
    what: String,
    #[source]
    source: Option<BoxError>,
}

impl TokenError {
    /// An error of `kind`, saying `what` (anything in it shaped like a
    /// token is masked).
    pub fn new(kind: TokenErrorKind, what: impl AsRef<str>) -> Self {
        Self {
            kind,
            what: crate::secret::scrub(what.as_ref()),
            source: None,
        }
    }

    /// No token for `key` ([`TokenErrorKind::Missing`]).
    pub fn missing(key: &CredentialKey) -> Self {
        Self::new(TokenErrorKind::Missing, format!("no token for {key}"))
    }

    /// The provider cannot do `what` ([`TokenErrorKind::Unsupported`]).
    pub fn unsupported(what: impl AsRef<str>) -> Self {
        Self::new(TokenErrorKind::Unsupported, what)
    }

    /// The provider's store failed doing `what`, because of `source`
    /// ([`TokenErrorKind::Backend`]).
    pub fn backend(what: impl AsRef<str>, source: impl Into<BoxError>) -> Self {
        Self::new(TokenErrorKind::Backend, what).with_source(source)
    }

    /// This error, caused by `source`.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// This error with `context` before its message (the crate's own
    /// words: not scrubbed again).
    pub(crate) fn context(mut self, context: &str) -> Self {
        self.what = format!("{context}: {}", self.what);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> TokenErrorKind {
        self.kind
    }

    /// Whether asking again later can succeed without anybody acting
    /// ([`TokenErrorKind::Backend`]).
    pub fn is_retryable(&self) -> bool {
        self.kind == TokenErrorKind::Backend
    }

    /// What to do, in plain words.
    pub fn remediation(&self) -> &'static str {
        match self.kind {
            TokenErrorKind::Missing => {
                "No access token for this call; nothing was sent. Store the customer's business \
                 token (from its Embedded Signup code exchange) in the token provider, or have \
                 the customer go through Embedded Signup again; a call not made for a session \
                 needs the client's static access token or PortingClient::for_customer."
            }
            TokenErrorKind::Unsupported => {
                "The token provider cannot do this; nothing was sent. Use a provider that can, \
                 or provide the token another way."
            }
            TokenErrorKind::Invalid => {
                "The token provider gave a token that cannot be sent (empty, whitespace, \
                 non-ASCII: usually a copy-paste or decoding accident); nothing was sent. Fix \
                 the stored token."
            }
            TokenErrorKind::Backend => {
                "The token provider's store failed; nothing was sent. Retry later; if it \
                 persists, look at the store."
            }
        }
    }
}

/// Where a token of [`InMemoryTokens`] applies.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Holder {
    /// Every WABA of a business.
    Business(BusinessId),
    /// One WABA.
    Waba(WabaId),
}

/// Tokens in memory, per business and, where one WABA needs its own, per
/// WABA: a [`TokenProvider`] for one process. Share it behind an `Arc`
/// (give the client `Arc::clone(&tokens)` and keep inserting).
///
/// A key's token is its WABA's when one was inserted
/// ([`insert_for_waba`](Self::insert_for_waba)), else its business's
/// ([`insert`](Self::insert)). [`store`](TokenProvider::store) replaces
/// the token [`token`](TokenProvider::token) would give (the WABA's if it
/// has one, else the business's). [`refresh`](TokenProvider::refresh)
/// gives the key's token held now when it is not the rejected one (another
/// task stored a new one since); otherwise it cannot refresh.
///
/// Tokens are secrets: this keeps them in memory only, and its `Debug`
/// prints how many it holds, never a token. A service keeps its tokens
/// encrypted at rest in its own store (and may load them into this at
/// start, or implement [`TokenProvider`] over that store).
///
/// ```
/// use std::sync::Arc;
/// use waba_porting::{BusinessId, InMemoryTokens, PortingClient};
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let tokens = Arc::new(InMemoryTokens::new());
/// tokens.insert(BusinessId::new("106540352242922")?, "EAAG-customer-one");
/// let client = PortingClient::builder()
///     .token_provider(Arc::clone(&tokens))
///     .build()?;
/// // Later, a customer signs up: its business token is used from now on.
/// tokens.insert(BusinessId::new("106540352242923")?, "EAAG-customer-two");
/// # let _ = client; Ok(()) }
/// ```
#[derive(Default)]
pub struct InMemoryTokens {
    tokens: Mutex<HashMap<Holder, AccessToken>>,
}

impl InMemoryTokens {
    /// No tokens.
    pub fn new() -> Self {
        Self::default()
    }

    fn tokens(&self) -> MutexGuard<'_, HashMap<Holder, AccessToken>> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets `business`'s token, for all its WABAs (what Embedded Signup's
    /// code exchange gives); returns the one it replaces.
    pub fn insert(
        &self,
        business: BusinessId,
        token: impl Into<AccessToken>,
    ) -> Option<AccessToken> {
        self.tokens()
            .insert(Holder::Business(business), token.into())
    }

    /// Sets the token of WABA `waba` alone (it wins over its business's);
    /// returns the one it replaces.
    pub fn insert_for_waba(
        &self,
        waba: WabaId,
        token: impl Into<AccessToken>,
    ) -> Option<AccessToken> {
        self.tokens().insert(Holder::Waba(waba), token.into())
    }

    /// Forgets `business`'s token; returns it.
    pub fn remove(&self, business: &BusinessId) -> Option<AccessToken> {
        self.tokens().remove(&Holder::Business(business.clone()))
    }

    /// Forgets the token of WABA `waba` alone (its business's applies
    /// again); returns it.
    pub fn remove_for_waba(&self, waba: &WabaId) -> Option<AccessToken> {
        self.tokens().remove(&Holder::Waba(waba.clone()))
    }

    /// How many tokens it holds.
    pub fn len(&self) -> usize {
        self.tokens().len()
    }

    /// Whether it holds no token.
    pub fn is_empty(&self) -> bool {
        self.tokens().is_empty()
    }

    /// The token `key` gets now.
    fn lookup(&self, key: &CredentialKey) -> Option<AccessToken> {
        let tokens = self.tokens();
        tokens
            .get(&Holder::Waba(key.waba_id().clone()))
            .or_else(|| tokens.get(&Holder::Business(key.business_id().clone())))
            .cloned()
    }
}

impl fmt::Debug for InMemoryTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryTokens")
            .field("tokens", &self.len())
            .finish()
    }
}

#[async_trait]
impl TokenProvider for InMemoryTokens {
    async fn token(&self, key: &CredentialKey) -> Result<AccessToken, TokenError> {
        self.lookup(key).ok_or_else(|| TokenError::missing(key))
    }

    async fn refresh(
        &self,
        key: &CredentialKey,
        rejected: &AccessToken,
    ) -> Result<AccessToken, TokenError> {
        match self.lookup(key) {
            Some(token) if token != *rejected => Ok(token),
            _ => Err(TokenError::unsupported(format!(
                "no newer token for {key} than the one Graph rejected"
            ))),
        }
    }

    async fn store(&self, key: &CredentialKey, token: AccessToken) -> Result<(), TokenError> {
        let mut tokens = self.tokens();
        let waba = Holder::Waba(key.waba_id().clone());
        let holder = if tokens.contains_key(&waba) {
            waba
        } else {
            Holder::Business(key.business_id().clone())
        };
        tokens.insert(holder, token);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(business: &str, waba: &str) -> CredentialKey {
        CredentialKey::new(
            BusinessId::new(business).unwrap(),
            WabaId::new(waba).unwrap(),
        )
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        futures_util::FutureExt::now_or_never(future).expect("in-memory tokens never wait")
    }

    #[test]
    fn a_key_gets_its_waba_token_else_its_business_token() {
        let tokens = InMemoryTokens::new();
        let one = key("1001", "2001");
        let other_waba = key("1001", "2002");
        let nobody = key("1009", "2009");
        assert!(tokens.is_empty());
        assert!(tokens
            .insert(one.business_id().clone(), "EAAG-business")
            .is_none());
        assert_eq!(
            block_on(tokens.token(&one)).unwrap().secret(),
            "EAAG-business"
        );
        tokens.insert_for_waba(one.waba_id().clone(), "EAAG-waba");
        assert_eq!(block_on(tokens.token(&one)).unwrap().secret(), "EAAG-waba");
        assert_eq!(
            block_on(tokens.token(&other_waba)).unwrap().secret(),
            "EAAG-business"
        );
        let missing = block_on(tokens.token(&nobody)).unwrap_err();
        assert_eq!(missing.kind(), TokenErrorKind::Missing);
        assert!(missing.to_string().contains("business 1009, WABA 2009"));
        assert_eq!(tokens.len(), 2);

        assert_eq!(
            tokens
                .remove_for_waba(one.waba_id())
                .map(|t| t.secret().to_owned()),
            Some("EAAG-waba".to_owned())
        );
        assert_eq!(
            block_on(tokens.token(&one)).unwrap().secret(),
            "EAAG-business"
        );
        assert!(tokens.remove(one.business_id()).is_some());
        assert!(tokens.remove(one.business_id()).is_none());
        assert_eq!(
            block_on(tokens.token(&one)).unwrap_err().kind(),
            TokenErrorKind::Missing
        );
    }

    #[test]
    fn store_replaces_what_token_gives() {
        let tokens = InMemoryTokens::new();
        let one = key("1001", "2001");
        block_on(tokens.store(&one, AccessToken::new("EAAG-first"))).unwrap();
        assert_eq!(block_on(tokens.token(&one)).unwrap().secret(), "EAAG-first");
        // The business's token: another WABA of the business gets it too.
        assert_eq!(
            block_on(tokens.token(&key("1001", "2002")))
                .unwrap()
                .secret(),
            "EAAG-first"
        );
        tokens.insert_for_waba(one.waba_id().clone(), "EAAG-waba");
        block_on(tokens.store(&one, AccessToken::new("EAAG-waba-2"))).unwrap();
        assert_eq!(
            block_on(tokens.token(&one)).unwrap().secret(),
            "EAAG-waba-2"
        );
        assert_eq!(
            block_on(tokens.token(&key("1001", "2002")))
                .unwrap()
                .secret(),
            "EAAG-first"
        );
    }

    #[test]
    fn refresh_gives_a_newer_token_only() {
        let tokens = InMemoryTokens::new();
        let one = key("1001", "2001");
        let rejected = AccessToken::new("EAAG-old");
        let none = block_on(tokens.refresh(&one, &rejected)).unwrap_err();
        assert_eq!(none.kind(), TokenErrorKind::Unsupported);
        tokens.insert(one.business_id().clone(), "EAAG-old");
        let same = block_on(tokens.refresh(&one, &rejected)).unwrap_err();
        assert_eq!(same.kind(), TokenErrorKind::Unsupported);
        tokens.insert(one.business_id().clone(), "EAAG-new");
        assert_eq!(
            block_on(tokens.refresh(&one, &rejected)).unwrap().secret(),
            "EAAG-new"
        );
    }

    #[test]
    fn the_defaults_cannot_refresh_or_store() {
        #[derive(Debug)]
        struct Fixed;
        #[async_trait]
        impl TokenProvider for Fixed {
            async fn token(&self, _: &CredentialKey) -> Result<AccessToken, TokenError> {
                Ok(AccessToken::new("EAAG-fixed-secret"))
            }
        }
        let one = key("1001", "2001");
        let refresh = block_on(Fixed.refresh(&one, &AccessToken::new("EAAG-fixed-secret")));
        let refresh = refresh.unwrap_err();
        assert_eq!(refresh.kind(), TokenErrorKind::Unsupported);
        assert!(refresh.to_string().contains("cannot refresh"), "{refresh}");
        let store = block_on(Fixed.store(&one, AccessToken::new("EAAG-fixed-secret")));
        let store = store.unwrap_err();
        assert!(
            store
                .to_string()
                .contains("this provider does not store tokens"),
            "{store}"
        );
        assert!(!format!("{refresh} {refresh:?} {store} {store:?}").contains("EAAG"));
    }

    #[test]
    fn neither_errors_nor_debug_show_a_token() {
        let tokens = InMemoryTokens::new();
        tokens.insert(
            BusinessId::new("1001").unwrap(),
            "EAAGtopsecret9f8e7d6c5b4a3",
        );
        let shown = format!("{tokens:?}");
        assert_eq!(shown, "InMemoryTokens { tokens: 1 }");
        // A provider that puts a token into its message has it masked.
        let error = TokenError::new(
            TokenErrorKind::Backend,
            "decrypting EAAGtopsecret9f8e7d6c5b4a3 failed",
        );
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("EAAGtopsecret9f8e7d6c5b4a3"), "{shown}");
        assert!(!error.remediation().contains("EAAG"));
        assert!(error.is_retryable());
        assert!(!TokenError::missing(&key("1", "2")).is_retryable());
    }
}
