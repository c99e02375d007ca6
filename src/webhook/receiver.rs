//! The receiver: the handshake, then for each delivery the size limit, the
//! signature, the envelope and the replay memory, in that order.

use std::fmt;
use std::sync::{Mutex, PoisonError};

use super::error::{WebhookError, WebhookErrorKind};
use super::event::Delivery;
use super::handshake;
use super::replay::{ReplayMemory, Seen};
use super::secret::{AppSecret, VerifyToken};
use super::signature;

/// The longest body a receiver accepts unless told otherwise: 1 MiB.
/// Meta's WhatsApp Business Account deliveries are a few kilobytes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// How many accepted deliveries a receiver remembers to refuse their
/// replays, unless told otherwise.
pub const DEFAULT_REPLAY_CAPACITY: usize = 4096;

/// Receives Meta's webhooks: answers the subscription handshake and checks,
/// then reads, each delivery. Framework-neutral: it takes the query, the
/// header and the raw body as they arrived and says what to answer.
///
/// `Send + Sync`: share one (in an `Arc`) between all the tasks or threads
/// of a server. Every call is synchronous and short; the replay memory's
/// lock is held only to look a signature up and remember it.
///
/// A delivery is checked in this order, each step only when the one before
/// passed, so that nothing unauthenticated is hashed past the size limit or
/// parsed at all:
///
/// 1. the body's size against [`max_body_bytes`](WebhookReceiverBuilder::max_body_bytes)
///    ([`TooLarge`](WebhookErrorKind::TooLarge), 413);
/// 2. the `X-Hub-Signature-256` header: present, one `sha256=` and 64 hex
///    digits ([`MissingSignature`](WebhookErrorKind::MissingSignature),
///    [`MalformedSignature`](WebhookErrorKind::MalformedSignature), 401);
/// 3. the HMAC-SHA256 of the raw body under the app secret, compared in
///    constant time ([`BadSignature`](WebhookErrorKind::BadSignature), 403);
/// 4. the envelope ([`Malformed`](WebhookErrorKind::Malformed), 400);
/// 5. the replay memory: a signature accepted and
///    [committed](Self::commit) before is a retry
///    ([`Replayed`](WebhookErrorKind::Replayed), answer 200); one still
///    being handled is [`InProgress`](WebhookErrorKind::InProgress) (503).
///
/// ```
/// use waba_porting::webhook::{ChangeValue, WebhookReceiver};
/// use waba_porting::{AppSecret, WebhookErrorKind};
///
/// let receiver = WebhookReceiver::new("app-secret", "verify-token");
///
/// // GET: the subscription handshake. Answer 200 with the challenge.
/// let challenge = receiver
///     .handshake("hub.mode=subscribe&hub.verify_token=verify-token&hub.challenge=1158201444")
///     .unwrap();
/// assert_eq!(challenge, "1158201444");
///
/// // POST: a delivery, as Meta signs it.
/// let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398",
///     "time":1739321024,"changes":[{"field":"account_review_update","value":{"decision":"APPROVED"}}]}]}"#;
/// let header = AppSecret::new("app-secret").signature_header(body);
/// let delivery = receiver.receive(Some(header.as_bytes()), body).unwrap();
/// for change in delivery.changes() {
///     assert_eq!(change.waba_id().as_sent(), "102290129340398");
///     assert_eq!(change.event(), Some("APPROVED"));
///     assert!(matches!(change.value(), ChangeValue::AccountReviewUpdate(_)));
/// }
///
/// // Handled: say so, and Meta's retry of it is a replay.
/// receiver.commit(&delivery);
/// // Meta retries a delivery it thinks failed: answer 200, handle nothing.
/// let again = receiver.receive(Some(header.as_bytes()), body).unwrap_err();
/// assert_eq!(again.kind(), &WebhookErrorKind::Replayed);
/// assert_eq!(again.http_status(), 200);
/// ```
pub struct WebhookReceiver {
    secret: AppSecret,
    token: VerifyToken,
    max_body: usize,
    replay_capacity: usize,
    replay: Mutex<ReplayMemory>,
}

impl WebhookReceiver {
    /// A receiver with the default body limit
    /// ([`DEFAULT_MAX_BODY_BYTES`]) and replay memory
    /// ([`DEFAULT_REPLAY_CAPACITY`]).
    pub fn new(app_secret: impl Into<AppSecret>, verify_token: impl Into<VerifyToken>) -> Self {
        Self::builder(app_secret, verify_token).build()
    }

    /// A builder, to set the body limit or the replay memory.
    pub fn builder(
        app_secret: impl Into<AppSecret>,
        verify_token: impl Into<VerifyToken>,
    ) -> WebhookReceiverBuilder {
        WebhookReceiverBuilder {
            secret: app_secret.into(),
            token: verify_token.into(),
            max_body: DEFAULT_MAX_BODY_BYTES,
            replay_capacity: DEFAULT_REPLAY_CAPACITY,
        }
    }

    /// Answers Meta's subscription handshake, given the `GET` request's
    /// query string as it arrived (percent-encoded; a leading `?` is
    /// ignored): the `hub.challenge` to answer with (status 200,
    /// `text/plain`) when `hub.mode` is `subscribe` and `hub.verify_token`
    /// is the receiver's token (compared in constant time).
    ///
    /// # Errors
    /// [`HandshakeRefused`](WebhookErrorKind::HandshakeRefused) saying
    /// which parameter was wrong (answer
    /// [`http_status`](WebhookError::http_status), 403 or 400);
    /// [`NotConfigured`](WebhookErrorKind::NotConfigured) when the
    /// receiver's verify token is empty.
    pub fn handshake(&self, query: &str) -> Result<String, WebhookError> {
        handshake::answer_query(&self.token, query)
    }

    /// [`handshake`](Self::handshake) for a query already decoded into
    /// pairs (a framework's query map). A parameter sent twice is refused.
    ///
    /// # Errors
    /// As [`handshake`](Self::handshake).
    pub fn handshake_pairs<K, V>(
        &self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<String, WebhookError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        handshake::answer_pairs(&self.token, pairs)
    }

    /// Checks and reads one delivery: `signature` is the
    /// `X-Hub-Signature-256` header's value (`None` when the request had
    /// none), `body` the raw body exactly as it arrived (never re-encoded
    /// JSON). See the type's documentation for the order of the checks.
    ///
    /// A delivery returned is remembered: its replay is refused
    /// ([`Replayed`](WebhookErrorKind::Replayed)). If handling it then
    /// fails and you answer Meta an error so that it retries, call
    /// [`forget`](Self::forget) first, or the retry will be refused.
    ///
    /// # Errors
    /// A [`WebhookError`] whose [`http_status`](WebhookError::http_status)
    /// is the answer to give.
    pub fn receive(&self, signature: Option<&[u8]>, body: &[u8]) -> Result<Delivery, WebhookError> {
        if body.len() > self.max_body {
            return Err(WebhookError::new(WebhookErrorKind::TooLarge {
                len: body.len(),
                max: self.max_body,
            }));
        }
        if self.secret.is_empty() {
            return Err(WebhookError::new(WebhookErrorKind::NotConfigured));
        }
        let signature =
            signature.ok_or_else(|| WebhookError::new(WebhookErrorKind::MissingSignature))?;
        let tag = signature::parse_header(signature)?;
        signature::verify(&self.secret, &tag, body)?;
        let mut delivery = Delivery::parse(body)?;
        match self.memory().accept(tag, std::time::Instant::now()) {
            Seen::New => {}
            Seen::Pending => return Err(WebhookError::new(WebhookErrorKind::InProgress)),
            Seen::Handled => return Err(WebhookError::new(WebhookErrorKind::Replayed)),
        }
        delivery.tag = Some(tag);
        Ok(delivery)
    }

    /// [`receive`](Self::receive) given the request's headers as
    /// `(name, value)` pairs: the `X-Hub-Signature-256` header is found
    /// whatever the case of its name; sent twice, it is
    /// [`MalformedSignature`](WebhookErrorKind::MalformedSignature).
    ///
    /// With hyper or axum (`http::HeaderMap`):
    ///
    /// ```ignore
    /// let headers = request.headers().iter().map(|(name, value)| (name.as_str(), value.as_bytes()));
    /// let delivery = receiver.receive_with_headers(headers, &body);
    /// ```
    ///
    /// # Errors
    /// As [`receive`](Self::receive).
    pub fn receive_with_headers<'a, I>(
        &self,
        headers: I,
        body: &[u8],
    ) -> Result<Delivery, WebhookError>
    where
        I: IntoIterator<Item = (&'a str, &'a [u8])>,
    {
        let signature = signature::find_header(headers)?;
        self.receive(signature, body)
    }

    /// Marks a delivery [`receive`](Self::receive) accepted as handled:
    /// Meta's retry of it is then [`Replayed`](WebhookErrorKind::Replayed)
    /// (answered 200). Until then (or for a minute, when never called) a
    /// retry is [`InProgress`](WebhookErrorKind::InProgress) (answered 503),
    /// so that a retry arriving while the first copy is handled is never
    /// acknowledged before it was. `false` when the delivery was not
    /// remembered.
    pub fn commit(&self, delivery: &Delivery) -> bool {
        match &delivery.tag {
            Some(tag) => self.memory().commit(tag),
            None => false,
        }
    }

    /// Forgets a delivery [`receive`](Self::receive) accepted, so that
    /// Meta's retry of it is accepted again: call it when handling the
    /// delivery failed and you answer Meta an error. `false` when the
    /// delivery was not remembered (parsed alone, forgotten already, or
    /// pushed out of the memory by newer ones).
    pub fn forget(&self, delivery: &Delivery) -> bool {
        match &delivery.tag {
            Some(tag) => self.memory().remove(tag),
            None => false,
        }
    }

    /// The longest body accepted, in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body
    }

    /// How many accepted deliveries are remembered to refuse replays.
    pub fn replay_capacity(&self) -> usize {
        self.replay_capacity
    }

    /// The replay memory. A panic while it was held cannot leave it
    /// inconsistent (each operation completes or changes nothing), so a
    /// poisoned lock is used as is.
    fn memory(&self) -> std::sync::MutexGuard<'_, ReplayMemory> {
        self.replay.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for WebhookReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookReceiver")
            .field("secret", &self.secret)
            .field("token", &self.token)
            .field("max_body", &self.max_body)
            .field("replay_capacity", &self.replay_capacity)
            .field("remembered", &self.memory().len())
            .finish()
    }
}

/// Sets up a [`WebhookReceiver`] ([`WebhookReceiver::builder`]).
#[derive(Debug, Clone)]
pub struct WebhookReceiverBuilder {
    secret: AppSecret,
    token: VerifyToken,
    max_body: usize,
    replay_capacity: usize,
}

impl WebhookReceiverBuilder {
    /// The longest body accepted, in bytes ([`DEFAULT_MAX_BODY_BYTES`]
    /// unless set). A longer one is refused before it is hashed
    /// ([`TooLarge`](WebhookErrorKind::TooLarge)). Also cap the body your
    /// server reads at this size, so that a longer one is not buffered.
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body = max;
        self
    }

    /// How many accepted deliveries to remember to refuse their replays
    /// ([`DEFAULT_REPLAY_CAPACITY`] unless set); the oldest is forgotten
    /// first. 0 remembers none: every valid delivery is accepted, replays
    /// too.
    pub fn replay_capacity(mut self, capacity: usize) -> Self {
        self.replay_capacity = capacity;
        self
    }

    /// The receiver.
    pub fn build(self) -> WebhookReceiver {
        WebhookReceiver {
            secret: self.secret,
            token: self.token,
            max_body: self.max_body,
            replay_capacity: self.replay_capacity,
            replay: Mutex::new(ReplayMemory::new(self.replay_capacity)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1739321024,"changes":[{"field":"account_review_update","value":{"decision":"APPROVED"}}]}]}"#;

    fn receiver() -> WebhookReceiver {
        WebhookReceiver::new("app-secret", "verify-token")
    }

    fn signed(body: &[u8]) -> String {
        AppSecret::new("app-secret").signature_header(body)
    }

    fn kind(result: Result<Delivery, WebhookError>) -> WebhookErrorKind {
        result.unwrap_err().kind().clone()
    }

    #[test]
    fn is_send_and_sync() {
        fn shared<T: Send + Sync + 'static>() {}
        shared::<WebhookReceiver>();
        shared::<Delivery>();
        shared::<WebhookError>();
    }

    #[test]
    fn accepts_once_then_refuses_the_replay_until_forgotten() {
        let receiver = receiver();
        let header = signed(BODY);
        let delivery = receiver.receive(Some(header.as_bytes()), BODY).unwrap();
        assert_eq!(delivery.changes().count(), 1);
        // Still being handled: retry later.
        assert_eq!(
            kind(receiver.receive(Some(header.as_bytes()), BODY)),
            WebhookErrorKind::InProgress
        );
        assert!(receiver.commit(&delivery));
        assert_eq!(
            kind(receiver.receive(Some(header.as_bytes()), BODY)),
            WebhookErrorKind::Replayed
        );
        assert!(receiver.forget(&delivery));
        assert!(!receiver.forget(&delivery));
        assert!(receiver.receive(Some(header.as_bytes()), BODY).is_ok());
        assert!(!receiver.forget(&Delivery::parse(BODY).unwrap()));
    }

    #[test]
    fn checks_size_before_the_signature() {
        let receiver = WebhookReceiver::builder("app-secret", "t")
            .max_body_bytes(10)
            .build();
        assert_eq!(
            kind(receiver.receive(None, BODY)),
            WebhookErrorKind::TooLarge {
                len: BODY.len(),
                max: 10
            }
        );
        assert_eq!(receiver.max_body_bytes(), 10);
    }

    #[test]
    fn refuses_missing_malformed_and_bad_signatures() {
        let receiver = receiver();
        assert_eq!(
            kind(receiver.receive(None, BODY)),
            WebhookErrorKind::MissingSignature
        );
        assert_eq!(
            kind(receiver.receive(Some(b"sha256=00"), BODY)),
            WebhookErrorKind::MalformedSignature
        );
        let other = AppSecret::new("another").signature_header(BODY);
        assert_eq!(
            kind(receiver.receive(Some(other.as_bytes()), BODY)),
            WebhookErrorKind::BadSignature
        );
    }

    #[test]
    fn a_refused_delivery_is_not_remembered() {
        let receiver = receiver();
        let body = b"{\"entry\":7}";
        let header = signed(body);
        assert_eq!(
            kind(receiver.receive(Some(header.as_bytes()), body)),
            WebhookErrorKind::Malformed
        );
        assert_eq!(
            kind(receiver.receive(Some(header.as_bytes()), body)),
            WebhookErrorKind::Malformed
        );
    }

    #[test]
    fn an_empty_secret_accepts_nothing() {
        let receiver = WebhookReceiver::new(" ", "t");
        let header = AppSecret::new("").signature_header(BODY);
        assert_eq!(
            kind(receiver.receive(Some(header.as_bytes()), BODY)),
            WebhookErrorKind::NotConfigured
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let shown = format!("{:?}", receiver());
        assert!(
            !shown.contains("app-secret") && !shown.contains("verify-token"),
            "{shown}"
        );
    }

    #[test]
    fn zero_capacity_accepts_replays() {
        let receiver = WebhookReceiver::builder("app-secret", "t")
            .replay_capacity(0)
            .build();
        let header = signed(BODY);
        assert!(receiver.receive(Some(header.as_bytes()), BODY).is_ok());
        assert!(receiver.receive(Some(header.as_bytes()), BODY).is_ok());
        assert_eq!(receiver.replay_capacity(), 0);
    }
}
