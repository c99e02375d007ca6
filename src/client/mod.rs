//! The typed client: performs each step's one request and moves the session.

mod builder;
mod fields;
mod phone_numbers;
mod routes;
mod tokens;
mod wire;

use std::collections::HashSet;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use url::Url;

pub use builder::{
    PortingClientBuilder, DEFAULT_API_VERSION, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT,
};

use crate::cancel::CancelToken;
use crate::checkpoint::{Checkpoint, CheckpointStage};
use crate::credentials::TokenProvider;
use crate::error::retry::{self, Delivery};
use crate::error::{
    ApiError, ApiErrorKind, CheckpointError, ConfigError, Error, LocalStorageError,
    UndecodableReason, UnexpectedResponse, WaitReason, WaitRequired,
};
use crate::ids::{AppId, PhoneNumberId, WabaId};
use crate::number::{self, CodeVerificationStatus, PhoneNumberRecord};
use crate::operation::Operation;
use crate::params::{CodeMethod, DataLocalizationRegion, Language};
use crate::phone::PhoneNumber;
use crate::readiness::{NumberReading, ReadinessReport, Readings};
use crate::retry_policy::{Deadline, Retries, RetryPolicy, Sleep};
use crate::secret::{AccessToken, AppSecret, Pin, VerificationCode};
use crate::session::{InFlight, PortingSession};
use crate::state::{Observed, PortingState, StateName, StepOutcome};
use crate::telemetry::{self, Trace};
use crate::throttle::Throttle;
use crate::time::{Clock, Timestamp};
use crate::transport::{HttpRequest, HttpResponse, Transport};
use crate::waba::WabaRecord;

/// Drives porting sessions against the Graph API.
///
/// Cheap to clone (one `Arc`), `Send + Sync`, no global state: share one
/// client across tasks. Each step method checks that the step is legal for
/// the session (an [`Error::IllegalTransition`] sends nothing), performs the
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

const USER_AGENT: &str = concat!("waba-porting/", env!("CARGO_PKG_VERSION"));

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

    /// The retry policy of every step call.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry_policy
    }

    /// Step 1: asks the destination WABA to take the number in
    /// (`POST /{waba-id}/phone_numbers`, `migrate_phone_number=true`).
    ///
    /// When Meta answers 2388012 ("already exists in your list") or 100
    /// "Phone number is already registered with WhatsApp Business" (HTTP
    /// 409 in Meta's OpenAPI description), the client looks the number up
    /// in the destination WABA and continues from where the listed number
    /// stands: `Registered` when it is connected, `CodeVerified` when its
    /// code was verified, `Initiated` otherwise. A number not listed there
    /// leaves Meta's answer as the error
    /// ([`ApiErrorKind::AlreadyInDestination`],
    /// [`ApiErrorKind::AlreadyRegistered`]).
    ///
    /// # Errors
    /// See [`Error`]; a refused step moves the session as its case says.
    pub async fn start_migration(&self, session: &mut PortingSession) -> Result<StateName, Error> {
        self.run(session, Step::Start).await
    }

    /// Step 2: asks Meta to send a verification code to the number
    /// (`POST /{phone-number-id}/request_code`). Legal again after a code was
    /// requested (or verified), to get a new one. The code lives about ten
    /// minutes ([`CODE_LIFETIME`](crate::CODE_LIFETIME)).
    ///
    /// `language` is sent as Meta documents it, `xx_XX` (see [`Language`]);
    /// a value in another shape (one loaded from a session an earlier
    /// version saved, such as `de`) is refused here with
    /// [`Error::Validation`], nothing sent.
    ///
    /// Never re-sent blindly: after an unknown outcome (timeout, lost answer,
    /// 5xx) the client reads the number, and unless it shows the code
    /// verified, records the code as possibly sent (`CodeRequested`) and
    /// returns — ask the customer, and call this again if no code arrived.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn request_code(
        &self,
        session: &mut PortingSession,
        method: CodeMethod,
        language: &Language,
    ) -> Result<StateName, Error> {
        if !language.is_documented() {
            return Err(language.refusal().into());
        }
        self.run(session, Step::RequestCode { method, language })
            .await
    }

    /// Step 3: sends the code the customer received
    /// (`POST /{phone-number-id}/verify_code`). After an unknown outcome the
    /// client reads the number first and sends the code again only if it is
    /// not verified.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn verify_code(
        &self,
        session: &mut PortingSession,
        code: &VerificationCode,
    ) -> Result<StateName, Error> {
        self.run(session, Step::VerifyCode { code }).await
    }

    /// Step 4: registers the number with a new 6-digit PIN
    /// (`POST /{phone-number-id}/register`), optionally with local storage
    /// in a region (where Meta keeps the number's message data at rest).
    /// With two-step verification off, the PIN becomes the number's new
    /// two-step PIN.
    ///
    /// How the region is set depends on the client's
    /// [API version](PortingClientBuilder::api_version):
    ///
    /// - **v21.0 and newer** — Meta's OpenAPI description marks
    ///   `register`'s `data_localization_region` "deprecated in v21+"
    ///   (still accepted: deprecated, not removed). Before sending
    ///   `register`, the client reads the number's settings
    ///   (`GET /{phone-number-id}/settings`, [`Operation::ReadLocalStorage`]);
    ///   unless they show `storage_configuration` with status
    ///   `in_country_storage_enabled` in that region, it turns local storage
    ///   on (`POST /{phone-number-id}/settings` with
    ///   `{"storage_configuration": {"enabled": true, "region": "DE"}}`,
    ///   [`Operation::SetLocalStorage`]) and reads the settings again to
    ///   confirm. `register` then goes without `data_localization_region`.
    ///   Both calls leave the same state however often they are sent: they
    ///   are retried under the [`RetryPolicy`] like reads, need no
    ///   in-flight marker, and a process that dies between them and
    ///   `register` finds local storage on at its next call (one read).
    ///   They are made only when `register` is about to be sent (a legal
    ///   step, not done yet, within the register budget), once per call.
    ///   Meta refusing the change is an [`Error::Api`] whose
    ///   [`operation`](Error::operation) is [`Operation::SetLocalStorage`]
    ///   (or `ReadLocalStorage`); settings that show local storage on in
    ///   another region, or not on after Meta accepted the change, are an
    ///   [`Error::LocalStorage`]. In every case `register` is not sent and
    ///   the session is unchanged.
    /// - **before v21.0** — the region goes in `register`'s body as
    ///   `data_localization_region`.
    ///
    /// Each call spends one of Meta's 10 register calls per 72 hours: the
    /// session refuses one past [`REGISTER_BUDGET`](crate::REGISTER_BUDGET)
    /// ([`Error::WaitRequired`], nothing sent). After an unknown outcome the
    /// client reads the number first (`CONNECTED` means done) and re-sends
    /// only if it is not connected. Always pass the same PIN for a session:
    /// a register that went through set it.
    ///
    /// When Meta answers 100 "Phone number is already registered or in
    /// invalid state for registration" (HTTP 422 in Meta's OpenAPI
    /// description), the client reads the number: connected in the
    /// destination, the session is `Registered` (as after a lost answer);
    /// otherwise the error is [`ApiErrorKind::AlreadyRegistered`] and the
    /// session stays where it was.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn register(
        &self,
        session: &mut PortingSession,
        pin: &Pin,
        data_localization_region: Option<&DataLocalizationRegion>,
    ) -> Result<StateName, Error> {
        let (region, local_storage) = if self.inner.local_storage_by_settings {
            (None, data_localization_region)
        } else {
            (data_localization_region, None)
        };
        let step = Step::Register {
            pin,
            region,
            local_storage,
        };
        self.run(session, step).await
    }

    /// Settles a step whose outcome is unknown ([`PortingSession::in_flight`]):
    /// reads the number and moves the session to where Meta is. Does nothing
    /// (and sends nothing) when no step is in flight. Every step method does
    /// this by itself first; call it to know where a reloaded session stands
    /// before asking anybody to act.
    ///
    /// Two steps of the other routes cannot be read back: an Embedded
    /// Signup code exchange is settled by asking the token provider (a
    /// token held: done; else the customer finishes the popup again), and
    /// a migration intent whose answer was lost is set again (Meta offers
    /// no look-up; a pending intent is answered with itself).
    ///
    /// # Errors
    /// The read's errors; the marker stays set, so a later call tries again.
    pub async fn reconcile(&self, session: &mut PortingSession) -> Result<StateName, Error> {
        let client = self.for_session(session);
        loop {
            let result = client
                .reconcile_within(session, &client.deadline(), true)
                .await;
            if let ControlFlow::Break(result) = client.after_call(result).await {
                return result;
            }
        }
    }

    /// [`reconcile`](Self::reconcile), its waits ending by `deadline`.
    /// `may_send`: whether a step that cannot be read back may be sent
    /// again (never from `refresh`, which only reads).
    async fn reconcile_within(
        &self,
        session: &mut PortingSession,
        deadline: &Deadline,
        may_send: bool,
    ) -> Result<StateName, Error> {
        match session.in_flight().map(|flight| flight.operation) {
            Some(Operation::ExchangeSignupCode) => return self.reconcile_exchange(session).await,
            // Meta offers no way to look an intent up: the request is made
            // again (a pending intent is answered with itself).
            Some(Operation::SetMigrationIntent) if may_send => {
                return self.set_intent(session).await
            }
            Some(Operation::SetMigrationIntent) => return Ok(session.state().name()),
            _ => {}
        }
        if let Some(flight) = session.in_flight().cloned() {
            self.reconcile_flight(session, &flight, deadline).await?;
        }
        Ok(session.state().name())
    }

    /// Reads the number (`GET /{phone-number-id}`, as
    /// [`read_phone_number`](Self::read_phone_number)) and records what it
    /// shows in the session ([`StepOutcome::NumberRead`]), so that
    /// [`PortingSession::next_action`] says what the number needs now:
    ///
    /// - a code that expired (`code_verification_status: EXPIRED`):
    ///   [`NextAction::RequestNewCode`](crate::NextAction::RequestNewCode);
    /// - a registered number not `CONNECTED` yet (it cannot send until it
    ///   is): [`NextAction::AwaitConnected`](crate::NextAction::AwaitConnected);
    /// - a number that moved on without this session (verified, connected):
    ///   the session moves forward with it; a wait for a person ends when
    ///   the number got past what the refused step was for;
    /// - a verification that lapsed (`CodeVerified`, read `EXPIRED`): the
    ///   session goes back to `Initiated`, so no `register` is spent on a
    ///   certain 133006;
    /// - a number object gone (`status` `BANNED`, `DELETED`, `MIGRATED`,
    ///   `UNLINKED`) before the port registered: the session is
    ///   [`Rejected`](crate::PortingState::Rejected) with the matching
    ///   [`RejectionReason`](crate::RejectionReason) instead of trying
    ///   steps that can never go through (see
    ///   [`NumberStatus`](crate::NumberStatus) for what each value means).
    ///
    /// A read without `status` decides nothing: it is an
    /// [`Error::UnexpectedResponse`] and the session is left as it was.
    ///
    /// A step in flight is settled first ([`reconcile`](Self::reconcile)).
    /// Only reads are sent, so it is safe to call at any time, for example
    /// on a timer while a session waits. Returns the record read, or `None`
    /// (and sends nothing) when the session has no number id yet (`Draft`)
    /// or was rejected.
    ///
    /// # Errors
    /// The read's errors ([`Error::Api`], [`Error::Transport`],
    /// [`Error::UnexpectedResponse`] for an answer about another number); a
    /// failed save of the session ([`Error::Checkpoint`]). The session keeps
    /// what it knew.
    pub async fn refresh(
        &self,
        session: &mut PortingSession,
    ) -> Result<Option<PhoneNumberRecord>, Error> {
        let client = self.for_session(session);
        loop {
            let result = client.refresh_call(session).await;
            if let ControlFlow::Break(result) = client.after_call(result).await {
                return result;
            }
        }
    }

    /// Saves `session` through the client's checkpoint as its next
    /// revision (what the fleet learned without a step: a wake acted on).
    pub(crate) async fn save_session(
        &self,
        session: &mut PortingSession,
    ) -> Result<(), CheckpointError> {
        self.save(
            session,
            Operation::ReadPhoneNumber,
            CheckpointStage::AfterOutcome,
        )
        .await
    }

    /// [`refresh`](Self::refresh) through the client of the call.
    async fn refresh_call(
        &self,
        session: &mut PortingSession,
    ) -> Result<Option<PhoneNumberRecord>, Error> {
        // One deadline for the whole call: the settling read and this one.
        let deadline = self.deadline();
        let deadline = &deadline;
        self.reconcile_within(session, deadline, false).await?;
        let Some(id) = session.state().phone_number_id().cloned() else {
            return Ok(None);
        };
        let trace = Trace::step(Operation::ReadPhoneNumber, session);
        let result = trace.run(self.refresh_read(session, &id, deadline)).await;
        trace.finish(1, Some(session.state().name()), &result);
        result.map(Some)
    }

    /// [`refresh`](Self::refresh)'s read and record.
    async fn refresh_read(
        &self,
        session: &mut PortingSession,
        id: &PhoneNumberId,
        deadline: &Deadline,
    ) -> Result<PhoneNumberRecord, Error> {
        let record = self.read_number(id, deadline).await?;
        // Absence of evidence is not evidence: a read without `status`
        // cannot say whether the number is connected.
        if record.status.is_none() {
            return Err(undecided_read("the number read lacks its status"));
        }
        let outcome = StepOutcome::NumberRead {
            observed: observed(&record),
        };
        self.record_success(session, Operation::ReadPhoneNumber, outcome)
            .await?;
        Ok(record)
    }

    /// Checks, before anybody is asked to act, what the port needs from
    /// the destination WABA and the session: an app subscribed to the
    /// WABA's webhooks (`GET /{waba-id}/subscribed_apps`), Meta's review of
    /// the WABA, the business's verification, a payment method, that the
    /// WABA was made for the business that owns the number
    /// (`GET /{waba-id}?fields=id,account_review_status,business_verification_status,primary_funding_id,on_behalf_of_business_info`),
    /// that the customer approved the "message on behalf" request
    /// (`GET /{waba-id}/in_progress_onbehalf_request`, and the WABA's
    /// `on_behalf_of_business_info.status` when Graph sends it), and — once
    /// the session has a phone number id — the number's display name, that
    /// no display-name change is pending, and its status
    /// (`GET /{phone-number-id}?fields=id,status,name_status,new_name_status`). Each
    /// blocker names the error the port would meet and what to do; nothing
    /// is changed.
    ///
    /// A check Graph will not answer is left out with why
    /// ([`ReadinessReport::not_checked`]), and the rest is still read: a
    /// field Graph refuses (error 100 "nonexisting field", as it may answer
    /// `primary_funding_id` or `on_behalf_of_business_info`, real fields
    /// Meta's OpenAPI description leaves out) is left out of a second
    /// request — or, when its message does not say which field, each field
    /// is read alone — and a refused or unreadable list of "message on
    /// behalf" requests leaves only that check out.
    ///
    /// # Errors
    /// A read that fails otherwise (a token without the permission to read
    /// the WABA is an [`Error::Api`]).
    pub async fn check_readiness(
        &self,
        session: &PortingSession,
    ) -> Result<ReadinessReport, Error> {
        let client = self.for_session(session);
        loop {
            let trace = Trace::call(Operation::ReadWaba, session.target_waba_id().as_str());
            let result = trace.run(client.readiness(session)).await;
            trace.finish(1, None, &result);
            if let ControlFlow::Break(result) = client.after_call(result).await {
                return result;
            }
        }
    }

    /// [`check_readiness`](Self::check_readiness)'s reads.
    async fn readiness(&self, session: &PortingSession) -> Result<ReadinessReport, Error> {
        let deadline = &self.deadline();
        // The WABA the number moves into (a solution migration's new one
        // once the customer accepted).
        let waba = session.target_waba_id().as_str();
        let operation = Operation::ListSubscribedApps;
        let response = self.send(operation, waba, &[], None, deadline).await?;
        let value = wire::decode(operation, &response, self.inner.clock.as_ref())?;
        let apps = crate::waba::subscribed_apps(&value)
            .ok_or_else(|| wire::shape_error(operation, &response))?;

        let operation = Operation::ReadWaba;
        let read = self
            .read_fields(operation, waba, crate::waba::FIELDS, deadline)
            .await?;
        // A record of another WABA is no answer about this one.
        let record = WabaRecord::from_value(&read.value)
            .filter(|record| record.id.as_deref().is_none_or(|id| id == waba))
            .ok_or_else(|| wire::shape_error(operation, &read.response))?;

        let on_behalf_requests = self.on_behalf_requests(waba, deadline).await?;

        let number = match session.state().phone_number_id() {
            Some(id) => {
                let operation = Operation::ReadPhoneNumber;
                let fields = number::READINESS_FIELDS;
                let read = self
                    .read_fields(operation, id.as_str(), fields, deadline)
                    .await?;
                // Only the number asked about answers for it.
                let record = PhoneNumberRecord::from_value(&read.value)
                    .filter(|record| &record.id == id)
                    .or_else(|| empty_record(&read.value, id))
                    .ok_or_else(|| wire::shape_error(operation, &read.response))?;
                Some((record, read.refused))
            }
            None => None,
        };
        Ok(ReadinessReport::assess(&Readings {
            subscribed_apps: apps,
            waba: &record,
            waba_refused: &read.refused,
            on_behalf_requests,
            number: number
                .as_ref()
                .map(|(record, refused)| NumberReading { record, refused }),
            business_id: session.business_id().as_str(),
        }))
    }

    /// The statuses of the WABA's "message on behalf" requests in progress
    /// (`GET /{waba-id}/in_progress_onbehalf_request`), or why they could
    /// not be read: an answer Graph refused (a token without the
    /// permission, an edge it does not serve) or could not be read leaves
    /// only that check out. A failure to send, a wait or a cancel is the
    /// check's error.
    async fn on_behalf_requests(
        &self,
        waba: &str,
        deadline: &Deadline,
    ) -> Result<Result<Vec<crate::waba::OnBehalfRequestStatus>, String>, Error> {
        let operation = Operation::ListOnBehalfRequests;
        let edge = "GET /{waba-id}/in_progress_onbehalf_request";
        let read = async {
            let response = self.send(operation, waba, &[], None, deadline).await?;
            let value = wire::decode(operation, &response, self.inner.clock.as_ref())?;
            crate::waba::on_behalf_requests(&value)
                .ok_or_else(|| wire::shape_error(operation, &response))
        };
        match read.await {
            Ok(requests) => Ok(Ok(requests)),
            Err(error @ (Error::Api(_) | Error::UnexpectedResponse(_))) => {
                Ok(Err(format!("{edge} failed: {error}")))
            }
            Err(error) => Err(error),
        }
    }

    /// Subscribes this app to `waba_id`'s webhooks
    /// (`POST /{waba-id}/subscribed_apps`): the fix for
    /// [`ApiErrorKind::DestinationWebhookMissing`] ("Cannot migrate phone
    /// number."), and what a ported number needs to receive anything.
    /// Repeating it changes nothing, so it is retried under the client's
    /// [`RetryPolicy`] like a read.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn subscribe_app(&self, waba_id: &WabaId) -> Result<(), Error> {
        self.idempotent(Operation::SubscribeApp, waba_id.as_str(), None, &[])
            .await
    }

    /// Sets (or changes) the number's two-step verification PIN
    /// (`POST /{phone-number-id}` with `{"pin": …}`). A register with two-step
    /// verification off already made its PIN the number's; call this to
    /// change it later. There is no API to turn two-step verification off.
    /// Repeating it with the same PIN changes nothing, so it is retried
    /// under the client's [`RetryPolicy`].
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn set_two_step_pin(
        &self,
        phone_number_id: &PhoneNumberId,
        pin: &Pin,
    ) -> Result<(), Error> {
        let body = wire::pin_body(pin);
        let target = phone_number_id.as_str();
        let sent = [pin.secret()];
        self.idempotent(Operation::SetTwoStepPin, target, Some(body), &sent)
            .await
    }

    /// Sends a call that leaves the same state however often it is sent,
    /// expecting `{"success": true}`, under the retry policy: repeated after
    /// any failure a retry can help, after the answer's wait or a backoff,
    /// within the policy's attempts and deadline. `sent`: the secrets the
    /// body carries, masked in every answer before anything logs it.
    async fn idempotent(
        &self,
        operation: Operation,
        target: &str,
        body: Option<Vec<u8>>,
        sent: &[&str],
    ) -> Result<(), Error> {
        let trace = Trace::call(operation, target);
        let mut attempts = 1;
        let result = trace
            .run(self.idempotent_attempts(operation, target, body, sent, &mut attempts))
            .await;
        trace.finish(attempts, None, &result);
        result
    }

    /// [`idempotent`](Self::idempotent)'s loop; `attempts` counts the
    /// attempts made.
    async fn idempotent_attempts(
        &self,
        operation: Operation,
        target: &str,
        body: Option<Vec<u8>>,
        sent: &[&str],
        attempts: &mut u32,
    ) -> Result<(), Error> {
        let policy = &self.inner.retry_policy;
        let mut retries = Retries::start(self.now());
        loop {
            *attempts = retries.attempt();
            let deadline = &retries.deadline(policy, self.now());
            let result = match self
                .send(operation, target, &[], body.clone(), deadline)
                .await
            {
                Ok(response) => {
                    wire::expect_success(operation, &response, self.inner.clock.as_ref())
                }
                Err(error) => Err(error),
            };
            let error = match result {
                Ok(()) => return Ok(()),
                Err(error) if sent.is_empty() => error,
                Err(error) => error.redacting_sent(sent),
            };
            let wait = |attempt| {
                error
                    .retry_after()
                    .unwrap_or_else(|| policy.backoff(attempt))
            };
            let now = self.now();
            let Some(wait) = retries.next(policy, now, &error, wait) else {
                return Err(error);
            };
            telemetry::retrying(operation, *attempts, wait, &error);
            self.retry_wait(wait, error).await?;
        }
    }

    /// Turns local storage on in `region` unless the number's settings show
    /// it on there already, and confirms it by reading them again (see
    /// [`register`](Self::register)). Each request's throttle wait ends by
    /// `deadline`; failures are returned as they are (the step's retry
    /// loop repeats the whole check).
    async fn ensure_local_storage(
        &self,
        id: &PhoneNumberId,
        region: &DataLocalizationRegion,
        deadline: &Deadline,
    ) -> Result<(), Error> {
        let before = self.read_local_storage(id, deadline).await?;
        if before.is_enabled_in(region) {
            return Ok(());
        }
        if let (true, Some(current)) = (before.is_enabled(), before.region) {
            // Moving a number's data is nobody's side effect to take here.
            return Err(LocalStorageError::OtherRegion {
                requested: region.clone(),
                current,
            }
            .into());
        }
        let operation = Operation::SetLocalStorage;
        let body = wire::local_storage_body(region);
        let response = self
            .send(operation, id.as_str(), &[], Some(body), deadline)
            .await?;
        wire::expect_success(operation, &response, self.inner.clock.as_ref())?;
        telemetry::local_storage_set(id, region);
        let after = self.read_local_storage(id, deadline).await?;
        if after.is_enabled_in(region) {
            Ok(())
        } else {
            Err(LocalStorageError::NotApplied {
                requested: region.clone(),
                status: after.status,
                region: after.region,
            }
            .into())
        }
    }

    /// `GET /{phone-number-id}/settings`: the number's `storage_configuration`.
    async fn read_local_storage(
        &self,
        id: &PhoneNumberId,
        deadline: &Deadline,
    ) -> Result<wire::StorageSettings, Error> {
        let operation = Operation::ReadLocalStorage;
        let response = self
            .send(operation, id.as_str(), &[], None, deadline)
            .await?;
        let value = wire::decode(operation, &response, self.inner.clock.as_ref())?;
        wire::StorageSettings::from_value(&value)
            .ok_or_else(|| wire::shape_error(operation, &response))
    }

    /// Lists the phone numbers of a WABA (all pages).
    ///
    /// # Errors
    /// See [`Error`]; a list that repeats a cursor or goes on past the page
    /// limit is an [`Error::UnexpectedResponse`].
    pub async fn list_phone_numbers(
        &self,
        waba_id: &WabaId,
    ) -> Result<Vec<PhoneNumberRecord>, Error> {
        let trace = Trace::call(Operation::ListPhoneNumbers, waba_id.as_str());
        let mut all = Vec::new();
        let deadline = self.deadline();
        let scan = self.scan_phone_numbers(waba_id, &deadline, |page| {
            all.extend(page);
            false
        });
        let result = trace.run(scan).await;
        trace.finish(1, None, &result);
        result.map(|()| all)
    }

    /// Reads one number's status
    /// (`GET /{phone-number-id}?fields=id,display_phone_number,verified_name,status,code_verification_status,name_status,platform_type`).
    ///
    /// This is what the client reads to reconcile a session after a step
    /// whose outcome is unknown: `status: CONNECTED` means registered,
    /// `code_verification_status: VERIFIED` means the code was accepted.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn read_phone_number(
        &self,
        phone_number_id: &PhoneNumberId,
    ) -> Result<PhoneNumberRecord, Error> {
        let trace = Trace::call(Operation::ReadPhoneNumber, phone_number_id.as_str());
        let result = trace
            .run(self.read_number(phone_number_id, &self.deadline()))
            .await;
        trace.finish(1, None, &result);
        result
    }

    /// [`read_phone_number`](Self::read_phone_number)'s request and answer,
    /// its throttle wait ending by `deadline`.
    async fn read_number(
        &self,
        phone_number_id: &PhoneNumberId,
        deadline: &Deadline,
    ) -> Result<PhoneNumberRecord, Error> {
        let operation = Operation::ReadPhoneNumber;
        let id = phone_number_id.as_str();
        // A field Graph refuses as nonexisting (some the crate reads are
        // missing from Meta's OpenAPI description) is dropped and the read
        // asked again: the record lacks it.
        let mut asked: Vec<&str> = number::FIELDS.split(',').collect();
        let (response, value) = loop {
            let fields = fields::joined(&asked);
            let query = [("fields", fields.as_str())];
            let response = self.send(operation, id, &query, None, deadline).await?;
            match wire::decode(operation, &response, self.inner.clock.as_ref()) {
                Ok(value) => break (response, value),
                Err(error) => match fields::refused_field(&error, &asked)
                    .filter(|field| number::OPTIONAL_FIELDS.contains(field))
                {
                    Some(refused) => asked.retain(|field| *field != refused),
                    None => return Err(error),
                },
            }
        };
        // A record of another number is no answer to this read.
        PhoneNumberRecord::from_value(&value)
            .filter(|record| &record.id == phone_number_id)
            .ok_or_else(|| wire::shape_error(operation, &response))
    }

    /// Finds `phone` among the WABA's numbers. Every page is read: when the
    /// number is listed more than once (a stale object beside the live
    /// one), the most advanced listing wins — not gone (`DELETED`,
    /// `BANNED`, `MIGRATED`, `UNLINKED`), then connected, then verified.
    async fn find_phone_number(
        &self,
        waba_id: &WabaId,
        phone: &PhoneNumber,
        deadline: &Deadline,
    ) -> Result<Option<PhoneNumberRecord>, Error> {
        let mut found: Option<PhoneNumberRecord> = None;
        let rank =
            |r: &PhoneNumberRecord| (r.gone().is_none(), r.is_connected(), r.is_code_verified());
        self.scan_phone_numbers(waba_id, deadline, |page| {
            for record in page {
                let matches = record
                    .display_phone_number
                    .as_deref()
                    .is_some_and(|d| phone.matches_display(d));
                // A gone listing (an old object: migrated away, deleted)
                // is no number to continue with.
                let live = record.gone().is_none();
                if matches && live && found.as_ref().is_none_or(|f| rank(&record) > rank(f)) {
                    found = Some(record);
                }
            }
            false
        })
        .await?;
        Ok(found)
    }

    /// Walks the pages until `visit` returns true or the pages end. A cursor
    /// seen before, or more than the page limit, is a typed error: a server
    /// that pages forever must not pass for a complete list.
    async fn scan_phone_numbers(
        &self,
        waba_id: &WabaId,
        deadline: &Deadline,
        mut visit: impl FnMut(Vec<PhoneNumberRecord>) -> bool,
    ) -> Result<(), Error> {
        let operation = Operation::ListPhoneNumbers;
        let mut after: Option<String> = None;
        let mut seen = HashSet::new();
        let mut last = None;
        // A field Graph refuses as nonexisting is dropped for this and the
        // next pages (see read_number); each refusal drops one, so the
        // page is asked at most once more per field.
        let mut asked: Vec<&str> = number::FIELDS.split(',').collect();
        let mut pages = 0;
        while pages < phone_numbers::MAX_PAGES {
            let fields = fields::joined(&asked);
            let mut query = vec![
                ("fields", fields.as_str()),
                ("limit", phone_numbers::PAGE_SIZE),
            ];
            if let Some(cursor) = after.as_deref() {
                query.push(("after", cursor));
            }
            let waba = waba_id.as_str();
            let response = self.send(operation, waba, &query, None, deadline).await?;
            let value = match wire::decode(operation, &response, self.inner.clock.as_ref()) {
                Ok(value) => value,
                Err(error) => match fields::refused_field(&error, &asked)
                    .filter(|field| number::OPTIONAL_FIELDS.contains(field))
                {
                    Some(refused) => {
                        asked.retain(|field| *field != refused);
                        continue;
                    }
                    None => return Err(error),
                },
            };
            pages += 1;
            let page = phone_numbers::parse_page(&value)
                .ok_or_else(|| wire::shape_error(operation, &response))?;
            if visit(page.records) {
                return Ok(());
            }
            match page.after {
                Some(next) if !seen.insert(next.clone()) => {
                    return Err(paging_error(
                        operation,
                        &response,
                        UndecodableReason::RepeatedCursor,
                    ));
                }
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
            last = Some(response);
        }
        let response = last.unwrap_or_else(|| HttpResponse::new(200, Default::default(), ""));
        Err(paging_error(
            operation,
            &response,
            UndecodableReason::TooManyPages,
        ))
    }

    fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// The deadline of a call starting now: the retry policy's.
    fn deadline(&self) -> Deadline {
        Deadline::new(self.inner.retry_policy.deadline(), self.now())
    }

    /// Runs a step under the retry policy: attempts until success, a failure
    /// the retry decision says not to retry, the attempt limit or the
    /// deadline. Waits honour the session's `not_before` (the answer's
    /// `Retry-After` or documented wait), else back off with full jitter.
    ///
    /// With a token provider, through the client acting for the session's
    /// customer, and once more after a refreshed token (190).
    async fn run(&self, session: &mut PortingSession, step: Step<'_>) -> Result<StateName, Error> {
        let client = self.for_session(session);
        loop {
            let result = client.run_step(session, &step).await;
            if let ControlFlow::Break(result) = client.after_call(result).await {
                return result;
            }
        }
    }

    /// [`run`](Self::run) through the client of the call.
    async fn run_step(
        &self,
        session: &mut PortingSession,
        step: &Step<'_>,
    ) -> Result<StateName, Error> {
        let trace = Trace::step(step.operation(), session);
        let mut attempts = 1;
        let result = trace
            .run(self.run_attempts(session, step, &mut attempts))
            .await;
        trace.finish(attempts, Some(session.state().name()), &result);
        result
    }

    /// [`run`](Self::run)'s loop; `attempts` counts the attempts made.
    async fn run_attempts(
        &self,
        session: &mut PortingSession,
        step: &Step<'_>,
        attempts: &mut u32,
    ) -> Result<StateName, Error> {
        let policy = &self.inner.retry_policy;
        let mut retries = Retries::start(self.now());
        // Local storage confirmed on in this call: not read again by a
        // later attempt.
        let mut storage_confirmed = false;
        loop {
            *attempts = retries.attempt();
            let deadline = retries.deadline(policy, self.now());
            let attempt = self.attempt(session, step, &deadline, &mut storage_confirmed);
            let error = match attempt.await {
                Ok(state) => return Ok(state),
                Err(error) => error,
            };
            let now = self.now();
            let wait = |attempt| match &error {
                Error::WaitRequired(w) => w.until().saturating_since(now),
                // The settings calls before register are not recorded in
                // the session: their answer's own wait, else back off.
                _ if matches!(
                    error.operation(),
                    Some(Operation::ReadLocalStorage | Operation::SetLocalStorage)
                ) =>
                {
                    error
                        .retry_after()
                        .unwrap_or_else(|| policy.backoff(attempt))
                }
                // A wait still ahead is what the answer asked for; an
                // expired one says nothing about this failure: back off.
                _ => match session.not_before().filter(|until| *until > now) {
                    Some(until) => until.saturating_since(now),
                    None => policy.backoff(attempt),
                },
            };
            let Some(wait) = retries.next(policy, now, &error, wait) else {
                return Err(error);
            };
            telemetry::retrying(step.operation(), *attempts, wait, &error);
            self.retry_wait(wait, error).await?;
        }
    }

    /// Waits `wait` before the next attempt, after `error`. A cancel, or a
    /// [`Sleep`] that cannot wait here, ends the call with `error` itself:
    /// it says what happened to the request (not sent, refused, or an
    /// outcome the next call reconciles), and the session keeps when to
    /// retry.
    async fn retry_wait(&self, wait: Duration, error: Error) -> Result<(), Error> {
        match self.pause(wait).await {
            Pause::Slept => Ok(()),
            Pause::Cancelled | Pause::NoTimer => Err(error),
        }
    }

    /// Every wait of the client: with its [`Sleep`], cut short by its
    /// cancel token; never attempted when the timer cannot wait here.
    async fn pause(&self, wait: Duration) -> Pause {
        let cancelled = self.inner.cancel.as_ref().map(CancelToken::cancelled);
        if self
            .inner
            .cancel
            .as_ref()
            .is_some_and(CancelToken::is_cancelled)
        {
            return Pause::Cancelled;
        }
        if wait.is_zero() {
            return Pause::Slept;
        }
        if !self.inner.sleep.can_sleep() {
            return Pause::NoTimer;
        }
        let sleep = self.inner.sleep.sleep(wait);
        match cancelled {
            None => {
                sleep.await;
                Pause::Slept
            }
            Some(cancelled) => {
                futures_util::pin_mut!(cancelled);
                match futures_util::future::select(sleep, cancelled).await {
                    futures_util::future::Either::Left(_) => Pause::Slept,
                    futures_util::future::Either::Right(_) => Pause::Cancelled,
                }
            }
        }
    }

    /// Waits until the throttle lets a request of `operation` start, for
    /// at most `max_wait` in all (a step's deadline): a longer hold, a
    /// cancel or a timer that cannot wait ends as [`Error::WaitRequired`]
    /// with the time, nothing sent.
    async fn admit(&self, operation: Operation, deadline: &Deadline) -> Result<(), Error> {
        let Some(throttle) = &self.inner.throttle else {
            return Ok(());
        };
        loop {
            let now = self.now();
            let refused = |wait, reason| {
                let until = now.saturating_add(wait);
                Err(WaitRequired::new(operation, until, reason, now).into())
            };
            let hold = match throttle.reserve(now, deadline.left(now)) {
                Ok(None) => return Ok(()),
                Ok(Some(hold)) => hold,
                Err(hold) => return refused(hold.wait, WaitReason::Throttle),
            };
            telemetry::throttled(hold.wait, hold.paused);
            let reason = match self.pause(hold.wait).await {
                Pause::Slept => None,
                Pause::Cancelled => Some(WaitReason::Cancelled),
                Pause::NoTimer => Some(WaitReason::Throttle),
            };
            if let Some(reason) = reason {
                // Not sent: its slot is the next request's.
                throttle.release(hold);
                return refused(hold.wait, reason);
            }
            deadline.slept(hold.wait);
            // A pause that began while we waited holds us too.
            if !throttle.held(self.now()) {
                return Ok(());
            }
        }
    }

    /// One attempt: reconcile a step in flight, check, set local storage
    /// (a register from API v21.0 on, unless `storage_confirmed`), wait for
    /// the throttle (its waits ending by `deadline`), mark, save, send once,
    /// record.
    async fn attempt(
        &self,
        session: &mut PortingSession,
        step: &Step<'_>,
        deadline: &Deadline,
        storage_confirmed: &mut bool,
    ) -> Result<StateName, Error> {
        let operation = step.operation();
        // Too early: nothing is sent, not even the reconciling read.
        let now = self.now();
        if let Some(until) = session.not_before().filter(|until| *until > now) {
            return Err(WaitRequired::new(operation, until, WaitReason::NotBefore, now).into());
        }
        // A register of ours whose outcome was unknown may have set the PIN:
        // remembered by the session until a register succeeds, so an
        // explicit reconcile() in between does not lose it.
        let earlier_register_unknown = session.register_unconfirmed()
            || session
                .in_flight()
                .is_some_and(|f| f.operation == Operation::Register);
        let legal_before = session.check(operation).is_ok();
        if let Some(flight) = session.in_flight() {
            // Read the number only if what it can show could make this step
            // legal; otherwise refuse now, sending nothing.
            if !legal_before && !reconcile_could_allow(session.state(), flight, operation) {
                return Err(session.state().refuse(operation).into());
            }
        }
        let mut now = now;
        if let Some(flight) = session.in_flight().cloned() {
            let observed = self.reconcile_flight(session, &flight, deadline).await?;
            // The read took time.
            now = self.now();
            // What the read showed may make this call moot: the step in
            // flight was this very request and it happened (a lost code
            // request counts: it is never re-sent blindly), or Meta is past
            // this step's purpose (the code verified, the number
            // registered). A step that was never legal stays illegal.
            let legal = legal_before || session.check(operation).is_ok();
            let done = if step.same_request_as(&flight) {
                step.done_in(session.state())
            } else {
                legal && step.passed(observed)
            };
            // The read showed the number object gone: the port ended, and
            // no step will ever go through on it.
            if done || session.state().name() == StateName::Rejected {
                return Ok(session.state().name());
            }
        }
        session.check(operation)?;
        if operation == Operation::Register {
            if let Some(until) = session.register_budget_frees_at(now) {
                let reason = WaitReason::RegisterBudget;
                return Err(WaitRequired::new(operation, until, reason, now).into());
            }
        }
        let target = match step {
            Step::Start => session.target_waba_id().as_str().to_owned(),
            _ => session
                .state()
                .phone_number_id()
                .map(|id| id.as_str().to_owned())
                .ok_or_else(|| session.state().refuse(operation))?,
        };
        // Local storage before the register that would store data without
        // it: nothing is marked or saved (the calls are idempotent), and a
        // failure leaves the session as it was.
        if let Step::Register {
            local_storage: Some(region),
            ..
        } = step
        {
            if !*storage_confirmed {
                if let Some(id) = session.state().phone_number_id().cloned() {
                    self.ensure_local_storage(&id, region, deadline).await?;
                    *storage_confirmed = true;
                }
            }
        }
        let now = match step {
            // The settings calls took time.
            Step::Register {
                local_storage: Some(_),
                ..
            } => self.now(),
            _ => now,
        };
        let body = step.body(session.phone_number());
        // The token first: without one nothing is marked, saved or sent.
        self.authorization().await?;
        // Wait for the throttle before the step is marked in flight and
        // saved: a process that dies while waiting has sent nothing, and
        // its saved session must not say otherwise.
        let now = match &self.inner.throttle {
            Some(_) => {
                // The reconciling read's wait counted against the same
                // deadline.
                self.admit(operation, deadline).await?;
                self.now()
            }
            None => now,
        };
        let snapshot = self.inner.checkpoint.as_ref().map(|_| session.clone());
        session.begin(operation, now, step.code_params());
        if operation.has_side_effect() {
            if let Err(error) = self
                .save(session, operation, CheckpointStage::BeforeSend)
                .await
            {
                if let Some(snapshot) = snapshot {
                    *session = snapshot;
                }
                return Err(error.into());
            }
        }
        let response = self
            .send_admitted(operation, &target, &[], Some(body), Admission::Done)
            .await;
        let result = match step {
            Step::Start => {
                return self.finish_start(session, response, deadline).await;
            }
            _ => response
                .and_then(|r| wire::expect_success(operation, &r, self.inner.clock.as_ref()))
                .map_err(|error| error.redacting_sent(step.secret().as_slice())),
        };
        match result {
            Ok(()) => {
                self.record_success(session, operation, step.success())
                    .await
            }
            Err(Error::Api(e))
                if operation == Operation::Register
                    && earlier_register_unknown
                    && e.code() == Some(PIN_MISMATCH) =>
            {
                // Said once: if the same PIN meets 133005 again, the earlier
                // register did not set it, and two-step verification is on.
                session.clear_register_unconfirmed();
                let error = Error::Api(e.reclassified(ApiErrorKind::PinIncorrect));
                Err(self.record_failure(session, operation, error).await)
            }
            Err(Error::Api(e))
                if operation == Operation::Register
                    && e.kind() == ApiErrorKind::AlreadyRegistered =>
            {
                self.finish_already_registered(session, e, earlier_register_unknown, deadline)
                    .await
            }
            Err(error) => Err(self.record_failure(session, operation, error).await),
        }
    }

    /// `register` answered "already registered or in invalid state for
    /// registration": Meta did not register the number now, but it may be
    /// registered already — by an earlier register of ours whose answer
    /// was lost, or by another process. The number is read, as for a lost
    /// register answer: `CONNECTED` (or, after a register of ours whose
    /// outcome was unknown, a number on a platform and connecting) settles
    /// the step as registered ([`StepOutcome::Reconciled`]). A read that
    /// shows less, lacks `status`, or fails proves nothing: the refusal
    /// stands, recorded as any other.
    async fn finish_already_registered(
        &self,
        session: &mut PortingSession,
        refusal: ApiError,
        earlier_register_unknown: bool,
        deadline: &Deadline,
    ) -> Result<StateName, Error> {
        let operation = Operation::Register;
        let Some(id) = session.state().phone_number_id().cloned() else {
            return Err(self
                .record_failure(session, operation, refusal.into())
                .await);
        };
        session.begin(Operation::ReadPhoneNumber, self.now(), None);
        let registered = match self.read_number(&id, deadline).await {
            Ok(record) if record.status.is_some() => {
                let connecting =
                    earlier_register_unknown && !record.is_connected() && record.is_on_platform();
                Some(observed(&record).with_connecting(connecting)).filter(Observed::is_registered)
            }
            Ok(_) | Err(_) => None,
        };
        let Some(observed) = registered else {
            return Err(self
                .record_failure(session, operation, refusal.into())
                .await);
        };
        let outcome = StepOutcome::Reconciled {
            operation,
            observed,
        };
        let state = self.record_success(session, operation, outcome).await?;
        telemetry::reconciled(operation, observed, state);
        Ok(state)
    }

    /// The answer to `start`: the new id, or on 2388012 (or 409 "already
    /// registered with WhatsApp Business") the listed number.
    async fn finish_start(
        &self,
        session: &mut PortingSession,
        response: Result<HttpResponse, Error>,
        deadline: &Deadline,
    ) -> Result<StateName, Error> {
        let operation = Operation::StartMigration;
        let answer =
            response.and_then(|r| wire::expect_id(operation, &r, self.inner.clock.as_ref()));
        let outcome = match answer {
            Ok(phone_number_id) => StepOutcome::MigrationStarted { phone_number_id },
            // 2388012, or Meta's OpenAPI description's 409 "already
            // registered with WhatsApp Business": the number may be ours.
            Err(Error::Api(e))
                if matches!(
                    e.kind(),
                    ApiErrorKind::AlreadyInDestination | ApiErrorKind::AlreadyRegistered
                ) =>
            {
                let found = self
                    .find_phone_number(session.target_waba_id(), session.phone_number(), deadline)
                    .await;
                let found = match found {
                    // A listing without the fields that say how far the
                    // number got is no evidence: read the number itself.
                    Ok(Some(record)) if !decides_adoption(&record) => {
                        // (read_phone_number only returns the number asked for.)
                        self.read_number(&record.id, deadline)
                            .await
                            .and_then(|read| {
                                if decides_adoption(&read) {
                                    Ok(Some(read))
                                } else {
                                    Err(undecided_read(
                                        "the number read lacks status and code_verification_status",
                                    ))
                                }
                            })
                    }
                    other => other,
                };
                match found {
                    Ok(Some(record)) => StepOutcome::ExistingNumberAdopted {
                        observed: observed(&record),
                        phone_number_id: record.id,
                    },
                    // Meta says it is there, the list says it is not: report
                    // Meta's answer; the session stays where it was.
                    Ok(None) => {
                        return Err(self.record_failure(session, operation, e.into()).await)
                    }
                    Err(error) => return Err(self.record_failure(session, operation, error).await),
                }
            }
            Err(error) => return Err(self.record_failure(session, operation, error).await),
        };
        self.record_success(session, operation, outcome).await
    }

    /// Reads the number and moves the session to where Meta is; clears the
    /// marker. On a failed read the marker stays (the outcome is still
    /// unknown) and the failure is recorded like any other.
    async fn reconcile_flight(
        &self,
        session: &mut PortingSession,
        flight: &InFlight,
        deadline: &Deadline,
    ) -> Result<Observed, Error> {
        let Some(id) = session.state().phone_number_id().cloned() else {
            return Ok(Observed::default());
        };
        session.begin(Operation::ReadPhoneNumber, self.now(), None);
        let record = match self.read_number_for(&id, flight, deadline).await {
            Ok(record) => record,
            Err(error) => return Err(self.record_read_failure(session, error).await),
        };
        let observed = observed_for(&record, flight);
        let outcome = match (&flight.method, &flight.language) {
            (Some(method), Some(language))
                if flight.operation == Operation::RequestCode
                    && !observed.is_registered()
                    && !observed.code_verified
                    && observed.gone.is_none() =>
            {
                // The state is dated when the request was sent (a code Meta
                // sent then is as old); the history records it now.
                StepOutcome::CodeRequested {
                    method: *method,
                    language: language.clone(),
                    unconfirmed: true,
                    sent_at: Some(flight.since),
                }
            }
            _ => StepOutcome::Reconciled {
                operation: flight.operation,
                observed,
            },
        };
        if flight.operation == Operation::Register {
            session.mark_register_unconfirmed();
        }
        let code_possibly_sent = matches!(outcome, StepOutcome::CodeRequested { .. });
        let state = session.apply(outcome, self.now())?.name();
        if code_possibly_sent {
            // The read is fresh: if it shows the latest code Meta knows
            // expired, whatever was sent, the customer's code will be
            // refused.
            session.note_read(observed);
        }
        self.save(session, flight.operation, CheckpointStage::AfterOutcome)
            .await?;
        telemetry::reconciled(flight.operation, observed, state);
        Ok(observed)
    }

    /// Reads the number to settle `flight`, insisting on an answer that
    /// can decide it: the number asked about, with the field that tells
    /// (for the code steps `code_verification_status`, or a connected
    /// number; for register, `status` and what `platform_type` says).
    /// Absence of evidence is not evidence: anything less is an
    /// undecodable answer and the marker stays.
    ///
    /// A register is settled by `CONNECTED`, or by a `platform_type` that
    /// says the number is on a platform (registered, still connecting) or
    /// on none (not registered). A read that shows neither (not connected,
    /// no `platform_type`) cannot tell "registered, connecting" from "not
    /// registered": for a while after the register was sent
    /// ([`REGISTER_SETTLE`]) that is a wait — read again in
    /// [`REGISTER_REREAD`] ([`WaitReason::ReconcileUndecided`]) — rather
    /// than one of the 10 register calls per 72 hours spent on a guess;
    /// after it, the number is taken as not registered.
    async fn read_number_for(
        &self,
        id: &PhoneNumberId,
        flight: &InFlight,
        deadline: &Deadline,
    ) -> Result<PhoneNumberRecord, Error> {
        // read_number already refuses a record of another number.
        let record = self.read_number(id, deadline).await?;
        // A number object gone (`BANNED`, `DELETED`…) decides every step:
        // none of them will ever go through on it.
        let decisive = match flight.operation {
            Operation::Register => record.status.is_some(),
            _ => {
                record.code_verification_status.is_some()
                    || record.is_connected()
                    || record.gone().is_some()
            }
        };
        if !decisive {
            return Err(undecided_read(
                "the number read lacks the status that decides the step in flight",
            ));
        }
        let unsure = flight.operation == Operation::Register
            && !record.is_connected()
            && record.gone().is_none()
            && !record.is_on_platform()
            && !record.is_off_platform();
        let now = self.now();
        // Measured either way: a clock a little behind the marker (skew
        // between hosts, NTP nudging it) is still within the window; one
        // stepped back further than the window cannot measure it, and it
        // is not waited for again.
        let apart = if now >= flight.since {
            now.saturating_since(flight.since)
        } else {
            flight.since.saturating_since(now)
        };
        let within_window = apart < REGISTER_SETTLE;
        if unsure && within_window {
            let until = now.saturating_add(REGISTER_REREAD);
            let reason = WaitReason::ReconcileUndecided;
            return Err(WaitRequired::new(Operation::Register, until, reason, now).into());
        }
        Ok(record)
    }

    /// A reconciling read failed: the step's outcome is still unknown, so
    /// the marker stays and nothing is added to the step's history; only the
    /// wait the answer asked for is recorded (never shortening the step's).
    async fn record_read_failure(&self, session: &mut PortingSession, error: Error) -> Error {
        let now = self.now();
        // A wait the answer asked for; not one of ours (an undecided read,
        // a throttle or a cancel), which the step's retry waits out and a
        // later call meets again by itself: saved as a wall-clock time it
        // would hold the session for as long as a clock stepped back.
        let read_wait = match &error {
            Error::WaitRequired(_) => None,
            _ => error.retry_after().map(|wait| now.saturating_add(wait)),
        };
        // The step's own wait stands; the read's can only extend it.
        let later = match (session.not_before(), read_wait) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        session.set_not_before(later);
        self.save_failure(session, Operation::ReadPhoneNumber, error)
            .await
    }

    /// Saves a session that recorded a failure; returns the failure, or the
    /// save's error carrying it.
    async fn save_failure(
        &self,
        session: &mut PortingSession,
        operation: Operation,
        error: Error,
    ) -> Error {
        match self
            .save(session, operation, CheckpointStage::AfterOutcome)
            .await
        {
            Ok(()) => error,
            Err(saving) => saving.with_step_error(error).into(),
        }
    }

    async fn record_success(
        &self,
        session: &mut PortingSession,
        operation: Operation,
        outcome: StepOutcome,
    ) -> Result<StateName, Error> {
        let now = self.now();
        let name = session.apply(outcome, now)?.name();
        self.save(session, operation, CheckpointStage::AfterOutcome)
            .await?;
        Ok(name)
    }

    /// The one recording path of every failed step: applies a classified
    /// API error to the session (human-blocked and rejected cases change the
    /// state), sets or clears when to retry, settles the step in flight when
    /// the answer says what happened, saves, and returns the error.
    async fn record_failure(
        &self,
        session: &mut PortingSession,
        operation: Operation,
        error: Error,
    ) -> Error {
        let now = self.now();
        let error = code_refused_by_age(session, error, now);
        if let Some(api) = error.api() {
            let outcome = StepOutcome::Failed {
                operation,
                kind: api.kind(),
                code: api.graph().code,
                error_subcode: api.graph().error_subcode,
                fbtrace_id: api.fbtrace_id().map(str::to_owned),
            };
            if let Err(illegal) = session.apply(outcome, now) {
                return illegal.into();
            }
            let graph = api.graph();
            session.attach_failure_message(
                graph.error_user_msg.as_deref().or(graph.message.as_deref()),
            );
        }
        // The latest answer decides: a failure without a wait clears an
        // older one rather than leaving a stale "wait until" behind.
        session.set_not_before(error.retry_after().map(|wait| now.saturating_add(wait)));
        match retry::delivery(&error) {
            Delivery::Unknown if operation.has_side_effect() => {
                telemetry::outcome_unknown(operation, &error);
                if operation == Operation::Register {
                    session.mark_register_unconfirmed();
                }
            }
            Delivery::Unknown => {}
            Delivery::Refused => session.settle(true),
            Delivery::NotSent => session.settle(false),
        }
        // Whatever the delivery, a marker the new state cannot reconcile
        // (the answer moved the session: 133006 back to Initiated, a
        // rejection) is settled by that answer.
        if session
            .in_flight()
            .is_some_and(|f| !session.state().allows(f.operation))
        {
            session.settle(true);
        }
        self.save_failure(session, operation, error).await
    }

    /// Saves `session` through the checkpoint as its next revision (the
    /// revision is put back when the save fails).
    async fn save(
        &self,
        session: &mut PortingSession,
        operation: Operation,
        stage: CheckpointStage,
    ) -> Result<(), CheckpointError> {
        match &self.inner.checkpoint {
            Some(checkpoint) => {
                // The next revision is saved from a copy and taken only
                // once saved: a save that fails, or whose future is dropped,
                // leaves the session on the revision the store holds.
                let mut next = session.clone();
                next.next_revision();
                if let Err(source) = checkpoint.save(&next).await {
                    return Err(CheckpointError::new(operation, stage, source));
                }
                session.set_revision(next.revision());
                telemetry::saved(session, operation, stage);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Sends `operation` to `/{object_id}/{edge}`; any HTTP status is `Ok`.
    /// A throttle wait ends by `deadline`.
    async fn send(
        &self,
        operation: Operation,
        object_id: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
        deadline: &Deadline,
    ) -> Result<HttpResponse, Error> {
        let admission = Admission::Wait(deadline);
        self.send_admitted(operation, object_id, query, body, admission)
            .await
    }

    /// [`send`](Self::send), once the throttle lets the request through
    /// (`admission`).
    async fn send_admitted(
        &self,
        operation: Operation,
        object_id: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
        admission: Admission<'_>,
    ) -> Result<HttpResponse, Error> {
        let (method, edge) = operation.route();
        let mut url = self.inner.api_root.clone();
        url.path_segments_mut()
            .map_err(|()| ConfigError::InvalidBaseUrl {
                reason: "cannot be a base",
            })?
            .push(object_id)
            .extend((!edge.is_empty()).then_some(edge));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = HttpRequest::new(method, url);
        request.timeout = Some(self.inner.timeout);
        match operation {
            // The app's id and secret are in the query: no token.
            Operation::ExchangeSignupCode => {}
            // The app's (or the BSP's) token inspects the customer's, or
            // asks for it.
            Operation::ReadTokenScopes | Operation::FetchSolutionToken => {
                request
                    .headers
                    .push("Authorization", self.app_authorization()?);
            }
            _ => {
                request
                    .headers
                    .push("Authorization", self.authorization().await?);
            }
        }
        request.headers.push("Accept", "application/json");
        request.headers.push("User-Agent", USER_AGENT);
        if let Some(body) = body {
            request.headers.push("Content-Type", "application/json");
            request.body = body;
        }
        let Some(throttle) = &self.inner.throttle else {
            return self
                .exchange(operation, request)
                .await
                .map_err(|e| e.for_operation(operation).into());
        };
        if let Admission::Wait(deadline) = admission {
            self.admit(operation, deadline).await?;
        }
        let response = self
            .exchange(operation, request)
            .await
            .map_err(|e| e.for_operation(operation))?;
        if response.status >= 400 {
            let now = self.now();
            let error = wire::decode(operation, &response, &wire::At(now)).err();
            let header = wire::header_wait(&response, &wire::At(now));
            throttle.observe(now, response.status, header, error.as_ref());
        }
        Ok(response)
    }
}

impl PortingClient {
    /// One request through the transport: the transport's own future, with
    /// no layer around it unless the `tracing` feature times it.
    #[cfg(not(feature = "tracing"))]
    fn exchange(
        &self,
        _operation: Operation,
        request: HttpRequest,
    ) -> impl std::future::Future<Output = Result<HttpResponse, crate::transport::TransportError>>
           + Send
           + '_ {
        self.inner.transport.send(request)
    }

    /// One request through the transport, timed and told to `tracing` at
    /// debug level.
    #[cfg(feature = "tracing")]
    async fn exchange(
        &self,
        operation: Operation,
        request: HttpRequest,
    ) -> Result<HttpResponse, crate::transport::TransportError> {
        let started = std::time::Instant::now();
        let result = self.inner.transport.send(request).await;
        let status = result.as_ref().ok().map(|r| r.status);
        telemetry::exchanged(operation, status, started.elapsed());
        result
    }
}

/// A code refused as "invalid or has expired" (or wrong) after it lived
/// longer than codes do ([`CODE_LIFETIME`](crate::CODE_LIFETIME): "typically
/// 10 minutes", Meta's OpenAPI description, `verify_code`) expired,
/// whatever it was: a new code is needed, not the customer's retyping.
fn code_refused_by_age(session: &PortingSession, error: Error, now: Timestamp) -> Error {
    let Error::Api(api) = error else {
        return error;
    };
    let old = match session.state().resume_point() {
        PortingState::CodeRequested { at, .. } => {
            now.saturating_since(*at) >= crate::session::CODE_LIFETIME
        }
        _ => false,
    };
    if api.kind() == ApiErrorKind::VerificationCodeRejected && old {
        Error::Api(api.reclassified(ApiErrorKind::VerificationCodeExpired))
    } else {
        Error::Api(api)
    }
}

/// How long after a `register` whose answer was lost a read that cannot
/// tell whether it went through (not `CONNECTED`, no `platform_type`) is
/// taken as "still connecting" and read again, rather than as "not
/// registered".
const REGISTER_SETTLE: Duration = Duration::from_secs(15 * 60);

/// How long to wait before such a read is made again.
const REGISTER_REREAD: Duration = Duration::from_secs(30);

/// Whether a request still has to pass the throttle.
#[derive(Clone, Copy)]
enum Admission<'a> {
    /// It does, its wait ending by this deadline.
    Wait(&'a Deadline),
    /// The throttle already let it through.
    Done,
}

/// How a wait of the client ended.
enum Pause {
    /// The whole wait passed.
    Slept,
    /// The client's cancel token ended it.
    Cancelled,
    /// The client's [`Sleep`] cannot wait here: nothing was waited.
    NoTimer,
}

/// 133005 "PIN incorrect".
const PIN_MISMATCH: i64 = 133005;

/// Whether some answer of the reconciling read for `flight` would leave the
/// session in a state that allows `operation` (pure: tries each outcome).
fn reconcile_could_allow(state: &PortingState, flight: &InFlight, operation: Operation) -> bool {
    let at = flight.since;
    let mut outcomes: Vec<StepOutcome> = [
        (false, false, false),
        (false, false, true),
        (false, true, false),
        (true, true, false),
    ]
    .into_iter()
    .map(
        |(registered, code_verified, expired)| StepOutcome::Reconciled {
            operation: flight.operation,
            observed: Observed::new(registered, code_verified).with_code_expired(expired),
        },
    )
    .collect();
    if let (Some(method), Some(language)) = (flight.method, flight.language.clone()) {
        outcomes.push(StepOutcome::CodeRequested {
            method,
            language,
            unconfirmed: true,
            sent_at: None,
        });
    }
    outcomes.iter().any(|outcome| {
        state
            .next_state(outcome, at)
            .is_ok_and(|next| next.allows(operation))
    })
}

/// A number read that cannot decide what it was read for: undecodable, so
/// the caller keeps the step in flight.
fn undecided_read(reason: &'static str) -> Error {
    UnexpectedResponse::new(
        Operation::ReadPhoneNumber,
        200,
        UndecodableReason::UnexpectedShape,
        reason.as_bytes(),
        None,
    )
    .into()
}

/// A number read that answered no `id` (every field refused but `id`…
/// or an answer of the merged one-at-a-time reads without one): the
/// number asked about, with nothing known of it. Another `id` is no
/// answer about it.
fn empty_record(value: &Value, id: &PhoneNumberId) -> Option<PhoneNumberRecord> {
    let map = value.as_object()?;
    if map.contains_key("id") {
        return None;
    }
    let mut with_id = map.clone();
    with_id.insert("id".into(), Value::String(id.as_str().to_owned()));
    PhoneNumberRecord::from_value(&Value::Object(with_id))
}

/// Whether a record says how far its number got: connected, gone, or a
/// status and a code verification status to read.
fn decides_adoption(record: &PhoneNumberRecord) -> bool {
    record.is_connected()
        || record.gone().is_some()
        || (record.status.is_some() && record.code_verification_status.is_some())
}

fn observed(record: &PhoneNumberRecord) -> Observed {
    Observed::new(record.is_connected(), record.is_code_verified())
        .with_code_expired(record.code_verification_status == Some(CodeVerificationStatus::Expired))
        .with_gone(record.gone())
}

/// What a read settling `flight` shows. A number on a platform
/// (`platform_type` `CLOUD_API`, `ON_PREMISE`) but not `CONNECTED` is
/// registered-and-connecting only as the answer to a `register` of ours:
/// any other read of it (a number still with its previous provider, say)
/// proves nothing about this port.
fn observed_for(record: &PhoneNumberRecord, flight: &InFlight) -> Observed {
    let connecting = flight.operation == Operation::Register
        && !record.is_connected()
        && record.gone().is_none()
        && record.is_on_platform();
    observed(record).with_connecting(connecting)
}

fn paging_error(operation: Operation, response: &HttpResponse, reason: UndecodableReason) -> Error {
    UnexpectedResponse::new(operation, response.status, reason, &response.body, None).into()
}

/// One of the four steps, with its inputs.
enum Step<'a> {
    Start,
    RequestCode {
        method: CodeMethod,
        language: &'a Language,
    },
    VerifyCode {
        code: &'a VerificationCode,
    },
    Register {
        pin: &'a Pin,
        /// Sent in the body (`data_localization_region`, before API v21.0).
        region: Option<&'a DataLocalizationRegion>,
        /// Set through the number's settings first (API v21.0 and newer).
        local_storage: Option<&'a DataLocalizationRegion>,
    },
}

impl Step<'_> {
    fn operation(&self) -> Operation {
        match self {
            Self::Start => Operation::StartMigration,
            Self::RequestCode { .. } => Operation::RequestCode,
            Self::VerifyCode { .. } => Operation::VerifyCode,
            Self::Register { .. } => Operation::Register,
        }
    }

    fn body(&self, phone: &PhoneNumber) -> Vec<u8> {
        match self {
            Self::Start => wire::start_body(phone),
            Self::RequestCode { method, language } => wire::request_code_body(*method, language),
            Self::VerifyCode { code } => wire::verify_code_body(code),
            Self::Register { pin, region, .. } => wire::register_body(pin, *region),
        }
    }

    /// The secret the request carries, masked in what its answer keeps.
    fn secret(&self) -> Option<&str> {
        match self {
            Self::VerifyCode { code } => Some(code.secret()),
            Self::Register { pin, .. } => Some(pin.secret()),
            Self::Start | Self::RequestCode { .. } => None,
        }
    }

    fn code_params(&self) -> Option<(CodeMethod, &Language)> {
        match self {
            Self::RequestCode { method, language } => Some((*method, language)),
            _ => None,
        }
    }

    /// The outcome of a success (not used for `Start`, whose answer is read).
    fn success(&self) -> StepOutcome {
        match self {
            Self::RequestCode { method, language } => StepOutcome::CodeRequested {
                method: *method,
                language: (*language).clone(),
                unconfirmed: false,
                sent_at: None,
            },
            Self::VerifyCode { .. } => StepOutcome::CodeVerified,
            Self::Start | Self::Register { .. } => StepOutcome::Registered,
        }
    }

    /// Whether the read shows Meta past this step's purpose: a code
    /// request's and a verification's is a verified code, register's a
    /// connected number. Decided by what Meta said, not by the session.
    fn passed(&self, observed: Observed) -> bool {
        match self {
            Self::Start => false,
            Self::RequestCode { .. } | Self::VerifyCode { .. } => {
                observed.code_verified || observed.is_registered()
            }
            Self::Register { .. } => observed.is_registered(),
        }
    }

    /// Whether `flight` is this very request (a code request with another
    /// method or language is a new, deliberate request).
    fn same_request_as(&self, flight: &InFlight) -> bool {
        match self {
            Self::RequestCode { method, language } => {
                flight.operation == Operation::RequestCode
                    && flight.method == Some(*method)
                    && flight.language.as_ref() == Some(*language)
            }
            other => flight.operation == other.operation(),
        }
    }

    /// Whether a reconciled session shows this step done, so that it must
    /// not be sent again: a code request whose answer was lost counts as
    /// done (it is never re-sent blindly).
    fn done_in(&self, state: &PortingState) -> bool {
        let reached = state.resume_point().name();
        match self {
            Self::Start => reached != StateName::Draft,
            Self::RequestCode { .. } => reached != StateName::Initiated,
            Self::VerifyCode { .. } => {
                matches!(reached, StateName::CodeVerified | StateName::Registered)
            }
            Self::Register { .. } => reached == StateName::Registered,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
