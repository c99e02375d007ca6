//! The client of a served simulator's control API (feature `sim-server`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use url::{Host, Url};

use super::control::{
    self, AddWire, CallsWire, ClockWire, CodeWire, FaultWire, IntentWire, NumbersWire,
    SignupOptionsWire, SignupWire, SummaryWire,
};
use super::faults::Fault;
use super::scenario::SIMULATOR_TOKEN;
use super::world::{
    CallCounts, CallSummary, MigrationIntent, MigrationIntentStatus, SignupOptions,
};
use crate::client::{PortingClient, PortingClientBuilder};
use crate::error::ConfigError;
use crate::fleet::FleetInputs;
use crate::ids::{BusinessId, MigrationIntentId, PhoneNumberId, SolutionId, WabaId};
use crate::operation::Operation;
use crate::phone::PhoneNumber;
use crate::secret::{Pin, VerificationCode};
use crate::session::PortingSession;
use crate::signup::{SignupCode, SignupResult};
use crate::time::Timestamp;
use crate::transport::{HttpRequest, Method, Transport, TransportError};

/// The default limit for one control request.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A simulated world served by another process
/// ([`Simulator::serve`](super::Simulator::serve)), through its control
/// API: what [`Simulator`](super::Simulator)'s own methods do in process —
/// read call counts and delivered codes, act as the world's humans, add
/// numbers, read and move the clock — over HTTP, through any
/// [`Transport`]. Cheap to clone.
///
/// | method | endpoint (JSON) |
/// |---|---|
/// | [`calls`](Self::calls) | `GET /_sim/numbers/{phone}/calls` |
/// | [`call_summary`](Self::call_summary) | `GET /_sim/calls` |
/// | [`latest_code`](Self::latest_code) | `GET /_sim/numbers/{phone}/code` |
/// | [`sessions`](Self::sessions) | `GET /_sim/numbers?offset=&limit=` |
/// | [`add_numbers`](Self::add_numbers) | `POST /_sim/numbers` |
/// | [`disable_two_step`](Self::disable_two_step), [`approve_display_name`](Self::approve_display_name), [`fix_source_account`](Self::fix_source_account) | `POST /_sim/numbers/{phone}/{action}` |
/// | [`set_two_step_pin`](Self::set_two_step_pin) | `POST /_sim/numbers/{phone}/two_step_pin` `{"pin": "…" or null}` |
/// | [`approve_on_behalf`](Self::approve_on_behalf), [`subscribe_webhooks`](Self::subscribe_webhooks), [`add_payment_method`](Self::add_payment_method), [`approve_waba`](Self::approve_waba) (`approve`) | `POST /_sim/wabas/{waba}/{action}` |
/// | [`align_business`](Self::align_business) | `POST /_sim/wabas/{waba}/align_business` `{"phone": "+…"}` |
/// | [`now`](Self::now), [`advance`](Self::advance), [`set_time`](Self::set_time) | `GET /_sim/clock`, `POST /_sim/clock/advance` `{"ms": …}`, `POST /_sim/clock/set` `{"now": …}` |
///
/// (`GET /_sim/world` answers the number of numbers, of requests served,
/// the time and the kind of clock.) A refused request is answered `4xx`
/// with `{"error": {"code": "…", "message": "…"}}`; a number or WABA the
/// world does not hold is `404` with code `unknown_number` or
/// `unknown_waba`, which the methods here return as `None` or `false`.
///
/// [`customers`](Self::customers) gives a [`Fleet`](crate::Fleet) in this
/// process the codes the world delivered, as
/// [`Simulator::customers`](super::Simulator::customers) does in process.
#[derive(Clone)]
pub struct RemoteSimulator {
    base_url: String,
    /// The base URL's, with its path's trailing slash removed.
    root: Url,
    transport: Arc<dyn Transport>,
    timeout: Duration,
}

impl fmt::Debug for RemoteSimulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteSimulator")
            .field("base_url", &self.base_url)
            .field("transport", &self.transport)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// A control request that did not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// No answer came (the server is gone, the request timed out…).
    #[error("the simulator could not be reached")]
    Transport(#[source] TransportError),
    /// The simulator refused the request.
    #[error("the simulator refused the request ({status} {code}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The control API's error code (`bad_request`, `unknown_endpoint`,
        /// `method_not_allowed`…).
        code: String,
        /// What was wrong.
        message: String,
    },
    /// The answer was not the JSON expected (its body is not shown: it
    /// may hold a code).
    #[error("the simulator's answer could not be read (status {status})")]
    Malformed {
        /// The HTTP status.
        status: u16,
    },
}

impl RemoteSimulator {
    /// The world served at `base_url` ([`ServedSimulator::base_url`](super::ServedSimulator::base_url)),
    /// reached through `transport`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidBaseUrl`] unless `base_url` is an absolute
    /// `https` URL, or an `http` one to a loopback host, without a query,
    /// fragment or credentials.
    pub fn new(base_url: &str, transport: impl Transport + 'static) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::InvalidBaseUrl { reason };
        let mut root =
            Url::parse(base_url.trim()).map_err(|_| invalid("is not a valid absolute URL"))?;
        let loopback = match root.host() {
            None => return Err(invalid("has no host")),
            Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
        };
        match root.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => return Err(invalid("must use http to a loopback host, or https")),
        }
        if root.query().is_some() || root.fragment().is_some() {
            return Err(invalid("must not have a query or fragment"));
        }
        if !root.username().is_empty() || root.password().is_some() {
            return Err(invalid("must not contain credentials"));
        }
        root.path_segments_mut()
            .map_err(|()| invalid("cannot be a base"))?
            .pop_if_empty();
        Ok(Self {
            base_url: base_url.trim().to_owned(),
            root,
            transport: Arc::new(transport),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The world served at `base_url`, reached through a new
    /// [`ReqwestTransport`](crate::ReqwestTransport) (feature `reqwest`).
    ///
    /// # Errors
    /// As [`new`](Self::new), or [`ConfigError::TransportInit`].
    #[cfg(feature = "reqwest")]
    #[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
    pub fn connect(base_url: &str) -> Result<Self, ConfigError> {
        let transport = crate::transport::ReqwestTransport::new(Some(Duration::from_secs(10)))?;
        Self::new(base_url, transport)
    }

    /// The limit for each control request (default 30 seconds).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The base URL, as given.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A client builder for the served Graph API: its base URL, this
    /// transport, and [`SIMULATOR_TOKEN`] (set another
    /// [`access_token`](PortingClientBuilder::access_token) if the world
    /// was built with one). The clock and the timer stay the defaults —
    /// the system clock and tokio's — so build the served world with
    /// [`Scenario::wall_clock`](super::Scenario::wall_clock).
    pub fn client_builder(&self) -> PortingClientBuilder {
        PortingClient::builder()
            .access_token(SIMULATOR_TOKEN)
            .base_url(self.base_url.clone())
            .transport(self.transport.clone())
    }

    /// Inputs for a [`Fleet`](crate::Fleet) on the served world: customers
    /// who pass on the latest code delivered to their number, and `pin`
    /// for every register.
    pub fn customers(&self, pin: Pin) -> RemoteCustomers {
        RemoteCustomers {
            remote: self.clone(),
            pin,
        }
    }

    /// How many requests about `phone` the world received, by step; `None`
    /// for a number it does not hold.
    ///
    /// # Errors
    /// A [`ControlError`].
    pub async fn calls(&self, phone: &PhoneNumber) -> Result<Option<CallCounts>, ControlError> {
        let calls: Option<CallsWire> = self
            .get_found(&["numbers", phone.e164(), "calls"], &[])
            .await?;
        Ok(calls.map(CallCounts::from))
    }

    /// The requests over every number of the world: totals and the most
    /// for one number, by step.
    ///
    /// # Errors
    /// A [`ControlError`].
    pub async fn call_summary(&self) -> Result<CallSummary, ControlError> {
        let summary: SummaryWire = self.get(&["calls"], &[]).await?;
        Ok(summary.into())
    }

    /// The last code delivered to `phone`; `None` when none was, or the
    /// world does not hold the number.
    ///
    /// # Errors
    /// A [`ControlError`].
    pub async fn latest_code(
        &self,
        phone: &PhoneNumber,
    ) -> Result<Option<VerificationCode>, ControlError> {
        let code: Option<CodeWire> = self
            .get_found(&["numbers", phone.e164(), "code"], &[])
            .await?;
        Ok(code
            .and_then(|c| c.code)
            .and_then(|c| VerificationCode::new(c).ok()))
    }

    /// A new session for every number of the world, in the order they were
    /// added (read a page of 5,000 at a time).
    ///
    /// # Errors
    /// A [`ControlError`].
    pub async fn sessions(&self) -> Result<Vec<PortingSession>, ControlError> {
        let mut sessions = Vec::new();
        loop {
            let offset = sessions.len().to_string();
            let page: NumbersWire = self
                .get(&["numbers"], &[("offset", offset.as_str())])
                .await?;
            let read = page.numbers.len();
            for number in &page.numbers {
                sessions.push(
                    number
                        .session()
                        .ok_or(ControlError::Malformed { status: 200 })?,
                );
            }
            if read == 0 || sessions.len() >= page.total {
                return Ok(sessions);
            }
        }
    }

    /// Adds numbers to the world (as [`Simulator::add_number`](super::Simulator::add_number)
    /// does with each) and returns a new session for each.
    ///
    /// # Errors
    /// A [`ControlError`]: [`Refused`](ControlError::Refused) for an
    /// unknown scenario, a count of zero or past [`Scenario::NUMBERED_LIMIT`](super::Scenario::NUMBERED_LIMIT),
    /// or an invalid WABA id or PIN (then none was added by that request;
    /// more than 5,000 numbers are added 5,000 at a time).
    pub async fn add_numbers(
        &self,
        numbers: &AddNumbers,
    ) -> Result<Vec<PortingSession>, ControlError> {
        let mut sessions = Vec::new();
        let total = numbers.0.count;
        let mut done = 0;
        loop {
            let mut batch = numbers.0.clone();
            batch.index = numbers.0.index.saturating_add(done);
            // A count of 0 is sent as it is, for the server to refuse.
            batch.count = (total - done).min(control::MAX_BATCH);
            let body =
                serde_json::to_value(&batch).map_err(|_| ControlError::Malformed { status: 0 })?;
            let added: NumbersWire = self
                .send(Method::Post, &["numbers"], &[], Some(body))
                .await?;
            for number in &added.numbers {
                sessions.push(
                    number
                        .session()
                        .ok_or(ControlError::Malformed { status: 200 })?,
                );
            }
            done += batch.count;
            if done >= total {
                break;
            }
        }
        Ok(sessions)
    }

    /// The customer approves the "message on behalf" request of `waba`.
    /// Returns whether the WABA exists.
    ///
    /// # Errors
    /// A [`ControlError`].
    pub async fn approve_on_behalf(&self, waba: &WabaId) -> Result<bool, ControlError> {
        self.waba_action(waba, "approve_on_behalf", None).await
    }

    /// We subscribe an app to the destination's webhooks.
    ///
    /// # Errors
    /// A [`ControlError`].
    pub async fn subscribe_webhooks(&self, waba: &WabaId) -> Result<bool, ControlError> {
        self.waba_action(waba, "subscribe_webhooks", None).await
    }

    /// We add a payment method to the destination.
    ///
    /// # Errors
    /// A [`ControlError`].
    pub async fn add_payment_method(&self, waba: &WabaId) -> Result<bool, ControlError> {
        self.waba_action(waba, "add_payment_method", None).await
    }

    /// Meta approves the destination WABA.
    ///
    /// # Errors
    /// A [`ControlError`].
    pub async fn approve_waba(&self, waba: &WabaId) -> Result<bool, ControlError> {
        self.waba_action(waba, "approve", None).await
    }

    /// The destination WABA is set up for the business that owns `phone`.
    /// Returns whether both exist.
    ///
    /// # Errors
    /// A [`ControlError`].
    pub async fn align_business(
        &self,
        waba: &WabaId,
        phone: &PhoneNumber,
    ) -> Result<bool, ControlError> {
        let body = json!({ "phone": phone.e164() });
        self.waba_action(waba, "align_business", Some(body)).await
    }

    /// The previous BSP disables two-step verification on `phone`.
    /// Returns whether the number exists.
    ///
    /// # Errors
    /// A [`ControlError`].
    pub async fn disable_two_step(&self, phone: &PhoneNumber) -> Result<bool, ControlError> {
        self.number_action(phone, "disable_two_step", None).await
    }

    /// Someone turns two-step verification on with `pin` (six digits) or
    /// off.
    ///
    /// # Errors
    /// A [`ControlError`] ([`Refused`](ControlError::Refused) for a PIN
    /// that is not six digits).
    pub async fn set_two_step_pin(
        &self,
        phone: &PhoneNumber,
        pin: Option<&str>,
    ) -> Result<bool, ControlError> {
        let body = json!({ "pin": pin });
        self.number_action(phone, "two_step_pin", Some(body)).await
    }

    /// Meta approves the number's display name.
    ///
    /// # Errors
    /// A [`ControlError`].
    pub async fn approve_display_name(&self, phone: &PhoneNumber) -> Result<bool, ControlError> {
        self.number_action(phone, "approve_display_name", None)
            .await
    }

    /// The previous BSP fixes the source WABA.
    ///
    /// # Errors
    /// A [`ControlError`].
    pub async fn fix_source_account(&self, phone: &PhoneNumber) -> Result<bool, ControlError> {
        self.number_action(phone, "fix_source_account", None).await
    }

    /// The customer finishes the Embedded Signup popup for `phone`
    /// ([`Simulator::finish_signup_with`](super::Simulator::finish_signup_with)):
    /// what the page receives, the one-use code included; `None` when the
    /// world does not hold the number.
    ///
    /// # Errors
    /// A [`ControlError`], also when the answer's ids or code are not valid.
    pub async fn finish_signup(
        &self,
        phone: &PhoneNumber,
        options: &SignupOptions,
    ) -> Result<Option<SignupResult>, ControlError> {
        let body = serde_json::to_value(SignupOptionsWire::of(options)).ok();
        let path = ["numbers", phone.e164(), "finish_signup"];
        let wire: SignupWire = match self.send(Method::Post, &path, &[], body).await {
            Ok(wire) => wire,
            Err(e) if e.is_unknown_object() => return Ok(None),
            Err(e) => return Err(e),
        };
        let malformed = || ControlError::Malformed { status: 200 };
        let code = SignupCode::new(&wire.code).map_err(|_| malformed())?;
        let waba = WabaId::new(&wire.waba_id).map_err(|_| malformed())?;
        let number = PhoneNumberId::new(&wire.phone_number_id).map_err(|_| malformed())?;
        let mut signup = SignupResult::new(code, waba, number);
        if let Some(business) = wire.business_id {
            signup = signup.with_business_id(BusinessId::new(business).map_err(|_| malformed())?);
        }
        Ok(Some(signup))
    }

    /// The customer accepts the migration intent
    /// ([`Simulator::accept_migration_intent`](super::Simulator::accept_migration_intent)):
    /// the new WABA's id; `None` unless the intent was waiting.
    ///
    /// # Errors
    /// A [`ControlError`].
    pub async fn accept_migration_intent(
        &self,
        intent: &MigrationIntentId,
    ) -> Result<Option<WabaId>, ControlError> {
        #[derive(Deserialize)]
        struct Accepted {
            destination_waba: String,
        }
        let path = ["intents", intent.as_str(), "accept"];
        match self
            .send::<Accepted>(Method::Post, &path, &[], Some(json!({})))
            .await
        {
            Ok(accepted) => WabaId::new(accepted.destination_waba)
                .map(Some)
                .map_err(|_| ControlError::Malformed { status: 200 }),
            Err(e) if e.is_unknown_object() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The customer declines the migration intent; `false` unless it was
    /// waiting.
    ///
    /// # Errors
    /// A [`ControlError`].
    pub async fn decline_migration_intent(
        &self,
        intent: &MigrationIntentId,
    ) -> Result<bool, ControlError> {
        self.action(&["intents", intent.as_str(), "decline"], None)
            .await
    }

    /// The migration intent as the world holds it; `None` for one it does
    /// not hold.
    ///
    /// # Errors
    /// A [`ControlError`], also when the answer is not a valid intent.
    pub async fn migration_intent(
        &self,
        intent: &MigrationIntentId,
    ) -> Result<Option<MigrationIntent>, ControlError> {
        let Some(wire) = self
            .get_found::<IntentWire>(&["intents", intent.as_str()], &[])
            .await?
        else {
            return Ok(None);
        };
        let malformed = || ControlError::Malformed { status: 200 };
        let status = match wire.status.as_str() {
            "INITIATED" => MigrationIntentStatus::Initiated,
            "ACCEPTED" => MigrationIntentStatus::Accepted,
            "COMPLETED" => MigrationIntentStatus::Completed,
            "REJECTED" => MigrationIntentStatus::Rejected,
            _ => return Err(malformed()),
        };
        let destination_waba = match wire.destination_waba {
            Some(id) => Some(WabaId::new(id).map_err(|_| malformed())?),
            None => None,
        };
        Ok(Some(MigrationIntent {
            id: MigrationIntentId::new(wire.id).map_err(|_| malformed())?,
            source_waba: WabaId::new(wire.source_waba).map_err(|_| malformed())?,
            solution_id: SolutionId::new(wire.solution_id).map_err(|_| malformed())?,
            status,
            destination_waba,
        }))
    }

    /// The world's time.
    ///
    /// # Errors
    /// A [`ControlError`].
    pub async fn now(&self) -> Result<Timestamp, ControlError> {
        let clock: ClockWire = self.get(&["clock"], &[]).await?;
        Ok(Timestamp::from_unix_millis(clock.now))
    }

    /// Moves the world's time forward by `by` (a wall clock stays ahead by
    /// it); returns the new time.
    ///
    /// # Errors
    /// A [`ControlError`].
    pub async fn advance(&self, by: Duration) -> Result<Timestamp, ControlError> {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let clock: ClockWire = self
            .send(
                Method::Post,
                &["clock", "advance"],
                &[],
                Some(json!({ "ms": ms })),
            )
            .await?;
        Ok(Timestamp::from_unix_millis(clock.now))
    }

    /// Sets the world's time (a wall clock runs on from it); returns it.
    ///
    /// # Errors
    /// A [`ControlError`].
    pub async fn set_time(&self, to: Timestamp) -> Result<Timestamp, ControlError> {
        let body = json!({ "now": to.as_unix_millis() });
        let clock: ClockWire = self
            .send(Method::Post, &["clock", "set"], &[], Some(body))
            .await?;
        Ok(Timestamp::from_unix_millis(clock.now))
    }

    async fn number_action(
        &self,
        phone: &PhoneNumber,
        action: &str,
        body: Option<Value>,
    ) -> Result<bool, ControlError> {
        let path = ["numbers", phone.e164(), action];
        self.action(&path, body).await
    }

    async fn waba_action(
        &self,
        waba: &WabaId,
        action: &str,
        body: Option<Value>,
    ) -> Result<bool, ControlError> {
        let path = ["wabas", waba.as_str(), action];
        self.action(&path, body).await
    }

    /// `true` when done, `false` when the number or WABA is not the world's.
    async fn action(&self, path: &[&str], body: Option<Value>) -> Result<bool, ControlError> {
        let body = Some(body.unwrap_or_else(|| json!({})));
        match self.send::<Value>(Method::Post, path, &[], body).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_unknown_object() => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &[&str],
        query: &[(&str, &str)],
    ) -> Result<T, ControlError> {
        self.send(Method::Get, path, query, None).await
    }

    /// `None` for a number or WABA the world does not hold.
    async fn get_found<T: DeserializeOwned>(
        &self,
        path: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Option<T>, ControlError> {
        match self.get(path, query).await {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.is_unknown_object() => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<T, ControlError> {
        let mut url = self.root.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push(control::PREFIX).extend(path);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = HttpRequest::new(method, url);
        request.headers.push("Accept", "application/json");
        if let Some(body) = body {
            request.headers.push("Content-Type", "application/json");
            request.body = body.to_string().into_bytes();
        }
        request.timeout = Some(self.timeout);
        let answer = self
            .transport
            .send(request)
            .await
            .map_err(ControlError::Transport)?;
        let status = answer.status;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&answer.body)
                .map_err(|_| ControlError::Malformed { status });
        }
        #[derive(Deserialize)]
        struct Refusal {
            error: Detail,
        }
        #[derive(Deserialize)]
        struct Detail {
            code: String,
            message: String,
        }
        match serde_json::from_slice::<Refusal>(&answer.body) {
            Ok(Refusal {
                error: Detail { code, message },
            }) => Err(ControlError::Refused {
                status,
                code,
                message,
            }),
            Err(_) => Err(ControlError::Malformed { status }),
        }
    }
}

impl ControlError {
    /// A `404` for a number or WABA the world does not hold.
    fn is_unknown_object(&self) -> bool {
        matches!(self, Self::Refused { status: 404, code, .. }
            if code == "unknown_number" || code == "unknown_waba" || code == "unknown_intent")
    }
}

/// [`FleetInputs`] from a served world: each customer passes on the latest
/// code delivered to their number, and every number registers with one
/// PIN. Made by [`RemoteSimulator::customers`]. A code that cannot be read
/// (the server is unreachable) is "not yet": the session waits.
#[derive(Clone, Debug)]
pub struct RemoteCustomers {
    remote: RemoteSimulator,
    pin: Pin,
}

#[async_trait]
impl FleetInputs for RemoteCustomers {
    async fn verification_code(&self, session: &PortingSession) -> Option<VerificationCode> {
        self.remote
            .latest_code(session.phone_number())
            .await
            .ok()
            .flatten()
    }

    async fn pin(&self, _session: &PortingSession) -> Option<Pin> {
        Some(self.pin.clone())
    }
}

/// Numbers for [`RemoteSimulator::add_numbers`]: numbers `index..index +
/// count` of the preset `scenario` ([`Scenario::by_name`](super::Scenario::by_name),
/// then [`Scenario::numbered`](super::Scenario::numbered)), changed as set
/// here — the knobs of [`Scenario`](super::Scenario) that are the
/// number's or its WABA's.
///
/// ```
/// use waba_porting::simulator::{AddNumbers, Fault};
/// use waba_porting::{Operation, WabaId};
///
/// // The fleet example's 7th case: a register whose answer is lost, on the
/// // world's shared WABA.
/// let numbers = AddNumbers::new("happy_path", 7)
///     .waba(&WabaId::new("102290129340398")?)
///     .fault_at(Operation::Register, Fault::AnswerLost, 1);
/// # let _ = numbers;
/// # Ok::<(), waba_porting::ValidationError>(())
/// ```
#[derive(Clone)]
pub struct AddNumbers(AddWire);

impl fmt::Debug for AddNumbers {
    /// The scenario, the numbers and the WABA; the two-step PIN redacted,
    /// the other options counted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AddNumbers")
            .field("scenario", &self.0.scenario)
            .field("index", &self.0.index)
            .field("count", &self.0.count)
            .field("waba", &self.0.waba)
            .field(
                "two_step_pin",
                &self.0.two_step_pin.as_ref().map(|pin| {
                    if pin.is_some() {
                        "[redacted]"
                    } else {
                        "none"
                    }
                }),
            )
            .field("faults", &self.0.faults.len())
            .finish_non_exhaustive()
    }
}

impl AddNumbers {
    /// The `index`-th number of the preset named `scenario` (one of
    /// [`SCENARIO_NAMES`](super::SCENARIO_NAMES); checked by the server).
    pub fn new(scenario: &str, index: u32) -> Self {
        Self(AddWire {
            scenario: scenario.to_owned(),
            index,
            count: 1,
            ..AddWire::default()
        })
    }

    /// `count` numbers from `index` on (default 1).
    pub fn count(mut self, count: u32) -> Self {
        self.0.count = count;
        self
    }

    /// The destination WABA of every number ([`Scenario::with_waba`](super::Scenario::with_waba);
    /// by default each number has its own).
    pub fn waba(mut self, waba: &WabaId) -> Self {
        self.0.waba = Some(waba.as_str().to_owned());
        self
    }

    /// [`Scenario::two_step_pin`](super::Scenario::two_step_pin).
    pub fn two_step_pin(mut self, pin: Option<&str>) -> Self {
        self.0.two_step_pin = Some(pin.map(str::to_owned));
        self
    }

    /// [`Scenario::on_behalf_approved`](super::Scenario::on_behalf_approved).
    pub fn on_behalf_approved(mut self, yes: bool) -> Self {
        self.0.on_behalf_approved = Some(yes);
        self
    }

    /// [`Scenario::destination_approved`](super::Scenario::destination_approved).
    pub fn destination_approved(mut self, yes: bool) -> Self {
        self.0.destination_approved = Some(yes);
        self
    }

    /// [`Scenario::payment_method`](super::Scenario::payment_method).
    pub fn payment_method(mut self, yes: bool) -> Self {
        self.0.payment_method = Some(yes);
        self
    }

    /// [`Scenario::webhook_subscribed`](super::Scenario::webhook_subscribed).
    pub fn webhook_subscribed(mut self, yes: bool) -> Self {
        self.0.webhook_subscribed = Some(yes);
        self
    }

    /// [`Scenario::display_name_approved`](super::Scenario::display_name_approved).
    pub fn display_name_approved(mut self, yes: bool) -> Self {
        self.0.display_name_approved = Some(yes);
        self
    }

    /// [`Scenario::source_ready`](super::Scenario::source_ready).
    pub fn source_ready(mut self, yes: bool) -> Self {
        self.0.source_ready = Some(yes);
        self
    }

    /// [`Scenario::directly_addable`](super::Scenario::directly_addable).
    pub fn directly_addable(mut self, yes: bool) -> Self {
        self.0.directly_addable = Some(yes);
        self
    }

    /// [`Scenario::in_destination_list`](super::Scenario::in_destination_list).
    pub fn in_destination_list(mut self, yes: bool) -> Self {
        self.0.in_destination_list = Some(yes);
        self
    }

    /// [`Scenario::code_ttl`](super::Scenario::code_ttl) (in milliseconds
    /// on the wire).
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.0.code_ttl_ms = Some(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// [`Scenario::connect_delay`](super::Scenario::connect_delay) (in
    /// milliseconds on the wire).
    pub fn connect_delay(mut self, delay: Duration) -> Self {
        self.0.connect_delay_ms = Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// [`Scenario::fault`](super::Scenario::fault): `fault` for each
    /// number's next `times` requests.
    pub fn fault(mut self, fault: Fault, times: u32) -> Self {
        self.0.faults.push(FaultWire::new(None, &fault, times));
        self
    }

    /// [`Scenario::fault_at`](super::Scenario::fault_at): `fault` for each
    /// number's next `times` requests of `operation`.
    pub fn fault_at(mut self, operation: Operation, fault: Fault, times: u32) -> Self {
        self.0
            .faults
            .push(FaultWire::new(Some(operation), &fault, times));
        self
    }
}
