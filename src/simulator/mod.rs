//! An in-process Graph API that runs the whole porting flow offline.
//!
//! [`Simulator`] is a [`Transport`]: the same client code runs unchanged
//! against it, an HTTP mock and the live API. It answers the endpoints of the
//! porting flow with the status codes and error bodies Meta documents
//! ([`reference`](mod@reference)), from a model of the world — the destination WABA and its
//! set-up, the number and its two-step verification, the customer's "message
//! on behalf" approval, verification codes delivered to an inbox, the
//! register limit — on a clock the test controls ([`SimClock`]). Humans'
//! actions are methods ([`Simulator::approve_on_behalf`],
//! [`Simulator::disable_two_step`], …), and faults can be injected for the
//! next calls ([`Fault`]).
//!
//! Besides the programmatic route, it plays the Embedded Signup route (the
//! customer finishes the popup: [`Simulator::finish_signup`]; the code
//! exchange, `debug_token`, the customer's business token) and the
//! Multi-Partner Solution migration route (`set_solution_migration_intent`,
//! the intent's status, the customer's answer:
//! [`Simulator::accept_migration_intent`]; the number's move into the WABA
//! Meta creates, to a new phone number id); each behaviour cites the page
//! of Meta's it follows.
//!
//! With the `sim-server` feature, `Simulator::serve` serves one world over
//! loopback HTTP so that separate processes share it — each ports through
//! it with a client of its own, and a `RemoteSimulator` reads call counts
//! and codes, acts as the humans, adds numbers and moves the clock through
//! the control API under `/_sim/`. Build such a world with
//! [`Scenario::wall_clock`]: its clock follows the system clock, as theirs
//! does.
//!
//! ```
//! use waba_porting::simulator::Scenario;
//! use waba_porting::{ApiErrorKind, CodeMethod, Language, Pin, StateName};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = Scenario::on_behalf_not_accepted().build();
//! let client = sim.client()?;
//! let mut session = sim.session();
//!
//! let err = client.start_migration(&mut session).await.unwrap_err();
//! assert_eq!(err.api_kind(), Some(ApiErrorKind::OnBehalfNotAccepted));
//! sim.approve_on_behalf(session.waba_id()); // the customer approves
//! client.start_migration(&mut session).await?;
//!
//! client.request_code(&mut session, CodeMethod::Sms, &Language::default()).await?;
//! let code = sim.latest_code(session.phone_number()).expect("delivered");
//! client.verify_code(&mut session, &code).await?;
//! client.register(&mut session, &Pin::new("482913")?, None).await?;
//! assert_eq!(session.state().name(), StateName::Registered);
//! # Ok(()) }
//! ```

mod clock;
#[cfg(feature = "sim-server")]
mod control;
mod customers;
mod faults;
pub mod reference;
#[cfg(feature = "sim-server")]
mod remote;
mod scenario;
#[cfg(feature = "sim-server")]
mod server;
#[cfg(feature = "webhooks")]
mod webhooks;
mod world;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

pub use clock::SimClock;
pub use customers::SimulatedCustomers;
pub use faults::Fault;
#[cfg(feature = "sim-server")]
#[cfg_attr(docsrs, doc(cfg(feature = "sim-server")))]
pub use remote::{AddNumbers, ControlError, RemoteCustomers, RemoteSimulator};
pub use scenario::{
    Scenario, DEFAULT_CODE_TTL, SCENARIO_NAMES, SIGNUP_CODE_TTL, SIMULATOR_APP_ID,
    SIMULATOR_APP_SECRET, SIMULATOR_SOURCE_SOLUTION, SIMULATOR_TOKEN,
};
#[cfg(feature = "sim-server")]
#[cfg_attr(docsrs, doc(cfg(feature = "sim-server")))]
pub use server::{ServeOptions, ServedSimulator};
#[cfg(feature = "webhooks")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub use webhooks::{
    DeliveryOptions, WebhookDelivery, SIGNATURE_HEADER, SIMULATOR_PARTNER_BUSINESS,
};
pub use world::{
    CallCounts, CallSummary, MigrationIntent, MigrationIntentStatus, ServedRequest, SignupOptions,
};

use self::faults::FaultPlan;
use self::world::World;
use crate::client::{PortingClient, PortingClientBuilder};
use crate::error::ConfigError;
use crate::ids::{AppId, MigrationIntentId, SolutionId, WabaId};
use crate::operation::Operation;
use crate::params::CodeMethod;
use crate::phone::PhoneNumber;
use crate::secret::{AppSecret, VerificationCode};
use crate::session::PortingSession;
use crate::signup::{SignupCode, SignupResult};
use crate::time::{Clock, Timestamp};
use crate::transport::{HttpRequest, HttpResponse, Transport, TransportError};

/// The simulated Graph API. Cheap to clone; clones share one world.
///
/// `Debug` shows the scenario (its token and two-step PIN redacted), the
/// simulated time and how many requests were served — never the world's
/// PINs or delivered codes.
#[derive(Clone)]
pub struct Simulator {
    world: Arc<Mutex<World>>,
    clock: SimClock,
    scenario: Arc<Scenario>,
}

const _: fn() = || {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<Simulator>();
};

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("scenario", &self.scenario)
            .field("now", &self.clock.now())
            .field("served", &self.world().served_count)
            .finish_non_exhaustive()
    }
}

/// A verification code delivered to a number's inbox.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DeliveredCode {
    /// The code, ready for [`PortingClient::verify_code`].
    pub code: VerificationCode,
    /// SMS or voice.
    pub method: CodeMethod,
    /// When it was sent.
    pub sent_at: Timestamp,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

impl Simulator {
    fn new(scenario: Scenario) -> Self {
        let keep = scenario.clone();
        let world = World::new(scenario);
        Self {
            clock: world.clock.clone(),
            world: Arc::new(Mutex::new(world)),
            scenario: Arc::new(keep),
        }
    }

    fn world(&self) -> MutexGuard<'_, World> {
        // A panic while holding the lock cannot leave the model half-updated
        // in a way that matters to a test double; keep serving.
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The scenario this world was built from.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// A client builder wired to this simulator: its transport, its clock
    /// (which the retry policy also sleeps on: waits advance simulated time
    /// at once), the token it accepts, and the app it knows as ours
    /// ([`Scenario::app_credentials`]: the Embedded Signup code exchange's
    /// `client_id` and `client_secret`). Add a
    /// [`token_provider`](PortingClientBuilder::token_provider) for the
    /// Embedded Signup route: the exchanged customer token is kept there.
    pub fn client_builder(&self) -> PortingClientBuilder {
        let builder = PortingClient::builder()
            .access_token(self.scenario.access_token.clone())
            .transport(self.clone())
            .clock(self.clock.clone())
            .sleep(self.clock.clone());
        match AppId::new(&self.scenario.app_id) {
            Ok(app_id) => {
                builder.app_credentials(app_id, AppSecret::new(self.scenario.app_secret.clone()))
            }
            Err(_) => builder,
        }
    }

    /// A client wired to this simulator.
    ///
    /// # Errors
    /// A [`ConfigError`] only if the scenario's token cannot be a header
    /// (see [`Scenario::access_token`]).
    pub fn client(&self) -> Result<PortingClient, ConfigError> {
        self.client_builder().build()
    }

    /// A new session for the scenario's number, destination and business.
    pub fn session(&self) -> PortingSession {
        PortingSession::new(
            self.scenario.phone_number.clone(),
            self.scenario.destination_waba.clone(),
            self.scenario.customer_business.clone(),
        )
    }

    /// A new Embedded Signup session
    /// ([`PortingSession::embedded_signup`]) for the scenario's number, its
    /// WABA (the customer's WABA the popup shares, unless
    /// [`Scenario::signup_creates_waba`]) and business.
    pub fn signup_session(&self) -> PortingSession {
        PortingSession::embedded_signup(
            self.scenario.phone_number.clone(),
            self.scenario.destination_waba.clone(),
            self.scenario.customer_business.clone(),
        )
    }

    /// A new solution migration session
    /// ([`PortingSession::solution_migration`]) for the scenario's number,
    /// its WABA as the source (see [`Scenario::registered_under_solution`])
    /// and business, to `solution`.
    pub fn solution_session(&self, solution: SolutionId) -> PortingSession {
        PortingSession::solution_migration(
            self.scenario.phone_number.clone(),
            self.scenario.destination_waba.clone(),
            self.scenario.customer_business.clone(),
            solution,
        )
    }

    /// The customer finishes the Embedded Signup popup for `phone`, as its
    /// scenario says ([`Scenario::signup_verifies_number`],
    /// [`Scenario::signup_shares_waba`], [`Scenario::signup_creates_waba`]):
    /// see [`finish_signup_with`](Self::finish_signup_with).
    pub fn finish_signup(&self, phone: &PhoneNumber) -> Option<SignupResult> {
        self.finish_signup_with(phone, &SignupOptions::new())
    }

    /// The customer finishes the Embedded Signup popup for `phone`: the
    /// number is put into the customer's WABA (the number's own WABA, a
    /// new one, or `options.waba`; a WABA the world lacks is created,
    /// approved, with no app subscribed), `VERIFIED` or `NOT_VERIFIED`
    /// ("v3 and v4 can finish with a verified, unverified or no phone
    /// number", Meta, *Embedded Signup — Versions*,
    /// <https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/versions>),
    /// and a one-use authorization code is issued, exchangeable for
    /// [`SIGNUP_CODE_TTL`] (30 seconds) of the simulator's clock ("The
    /// exchangeable token code has a time-to-live of 30 seconds", Meta,
    /// *Embedded Signup — Implementation*,
    /// <https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/implementation>).
    /// Returns what the page receives: the code, the WABA id, the number's
    /// id in it and the customer's business id; `None` when the world has
    /// no such number.
    ///
    /// The code goes to `GET /oauth/access_token?client_id&client_secret&code`,
    /// which answers the customer's business token. That token reaches the
    /// WABA, its numbers and its intents (when the customer shared the
    /// WABA); the simulator's own token keeps reaching everything.
    pub fn finish_signup_with(
        &self,
        phone: &PhoneNumber,
        options: &SignupOptions,
    ) -> Option<SignupResult> {
        let issued = self.world().finish_signup(phone.e164(), options)?;
        let code = SignupCode::new(&issued.code).ok()?;
        Some(
            SignupResult::new(code, issued.waba, issued.phone_number_id)
                .with_business_id(issued.business),
        )
    }

    /// The customer accepts the solution migration intent `intent` in Meta
    /// Business Suite (Business settings → Requests → Received): Meta
    /// creates a new WABA for them ("a new WhatsApp Business Account (WABA)
    /// will be created for the business customer", Meta, *Migrating WABAs
    /// among Multi-Partner Solutions via Meta Business Suite*,
    /// <https://developers.facebook.com/documentation/business-messaging/whatsapp/solution-providers/support/migrating-wabas-among-solutions-via-meta-business-suite>),
    /// and the intent reads `ACCEPTED` with it as `destination_waba`.
    /// Returns the new WABA's id; `None` unless the intent is `INITIATED`.
    pub fn accept_migration_intent(&self, intent: &MigrationIntentId) -> Option<WabaId> {
        let mut world = self.world();
        world.settle_intents();
        world.accept_intent(intent.as_str())
    }

    /// The customer declines the intent: it reads `REJECTED`. Returns
    /// whether it was `INITIATED`.
    pub fn decline_migration_intent(&self, intent: &MigrationIntentId) -> bool {
        let mut world = self.world();
        world.settle_intents();
        world.decline_intent(intent.as_str())
    }

    /// The intent `intent`, as the world holds it now.
    pub fn migration_intent(&self, intent: &MigrationIntentId) -> Option<MigrationIntent> {
        let mut world = self.world();
        world.settle_intents();
        world.intent(intent.as_str())
    }

    /// The intents set on `waba`, oldest first.
    pub fn migration_intents(&self, waba: &WabaId) -> Vec<MigrationIntent> {
        let mut world = self.world();
        world.settle_intents();
        world.intents_of(waba.as_str())
    }

    /// How many requests of `operation` the world received, over every
    /// number and none (a subscription to a WABA without numbers, a code
    /// the world never issued…), whatever it answered.
    pub fn operation_calls(&self, operation: Operation) -> u32 {
        self.world()
            .by_operation
            .get(&operation)
            .copied()
            .unwrap_or(0)
    }

    /// The simulated clock (share it with anything that needs the time).
    pub fn clock(&self) -> SimClock {
        self.clock.clone()
    }

    /// The simulated time.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Moves simulated time forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Every code delivered to `phone`, oldest first.
    pub fn inbox(&self, phone: &PhoneNumber) -> Vec<DeliveredCode> {
        self.world()
            .number(phone.e164())
            .into_iter()
            .flat_map(|n| n.inbox.iter())
            .filter_map(|d| {
                Some(DeliveredCode {
                    code: VerificationCode::new(&d.code).ok()?,
                    method: d.method,
                    sent_at: d.at,
                    expires_at: d.expires_at,
                })
            })
            .collect()
    }

    /// The last code delivered to `phone`.
    pub fn latest_code(&self, phone: &PhoneNumber) -> Option<VerificationCode> {
        let world = self.world();
        let delivery = world.number(phone.e164())?.inbox.last()?;
        VerificationCode::new(&delivery.code).ok()
    }

    /// Adds `scenario`'s number to this world, set up as the scenario says,
    /// and returns a new session for it: many numbers, each with its own
    /// scenario, in one world (a fleet). The scenario's faults apply to this
    /// number's requests only; its clock, seed and token are the world's.
    ///
    /// A number already in the world is set up anew. A WABA already in the
    /// world is shared and keeps its set-up (the scenario's WABA settings
    /// are ignored): give each number its own WABA
    /// ([`Scenario::numbered`]) when WABA-level cases (approval, payment,
    /// "message on behalf") should differ per number.
    ///
    /// ```
    /// use waba_porting::simulator::Scenario;
    ///
    /// let sim = Scenario::happy_path().build();
    /// let second = sim.add_number(&Scenario::two_step_enabled().numbered(1));
    /// assert_ne!(second.phone_number(), sim.session().phone_number());
    /// assert_eq!(sim.numbers(), 2);
    /// ```
    pub fn add_number(&self, scenario: &Scenario) -> PortingSession {
        self.world().add(scenario, true);
        PortingSession::new(
            scenario.phone_number.clone(),
            scenario.destination_waba.clone(),
            scenario.customer_business.clone(),
        )
    }

    /// How many numbers the world holds.
    pub fn numbers(&self) -> usize {
        self.world().numbers.len()
    }

    /// How many requests about `phone` the world received, by step; `None`
    /// for a number it does not hold.
    pub fn calls(&self, phone: &PhoneNumber) -> Option<CallCounts> {
        self.world().number(phone.e164()).map(|n| n.calls)
    }

    /// The requests the world received over all its numbers: totals and
    /// the most for one number, by step.
    ///
    /// ```
    /// use waba_porting::simulator::Scenario;
    ///
    /// let sim = Scenario::happy_path().build();
    /// sim.add_number(&Scenario::happy_path().numbered(1));
    /// let summary = sim.call_summary();
    /// assert_eq!(summary.numbers, 2);
    /// assert_eq!(summary.max.register, 0);
    /// ```
    pub fn call_summary(&self) -> CallSummary {
        let world = self.world();
        let mut summary = CallSummary::default();
        for number in &world.numbers {
            summary.add(&number.calls);
        }
        summary
    }

    /// How many numbers the world holds, and a new session for each of
    /// `limit` of them from `offset` on, in the order they were added (the
    /// control API's list).
    #[cfg_attr(not(feature = "sim-server"), allow(dead_code))]
    pub(crate) fn listed_numbers(
        &self,
        offset: usize,
        limit: usize,
    ) -> (usize, Vec<PortingSession>) {
        let world = self.world();
        let sessions = world
            .numbers
            .iter()
            .skip(offset)
            .take(limit)
            .map(|n| {
                PortingSession::new(n.phone.clone(), n.destination.clone(), n.business.clone())
            })
            .collect();
        (world.numbers.len(), sessions)
    }

    /// How many requests were served in all (logged or not).
    pub fn served_count(&self) -> usize {
        self.world().served_count
    }

    /// Whether to keep every request in [`served`](Self::served) (on by
    /// default). Turn it off for large fleets: the log grows with every
    /// request, while [`calls`](Self::calls) and
    /// [`served_count`](Self::served_count) are kept either way.
    pub fn log_requests(&self, on: bool) {
        let mut world = self.world();
        world.keep_log = on;
        if !on {
            world.served = Vec::new();
        }
    }

    /// The customer approves the "message on behalf" request of `waba`.
    /// Returns whether the WABA exists.
    pub fn approve_on_behalf(&self, waba: &WabaId) -> bool {
        self.with_waba(waba, |w| {
            w.on_behalf_approved = true;
            w.on_behalf_request = None;
        })
    }

    /// The previous BSP disables two-step verification on `phone`.
    /// Returns whether the number exists.
    pub fn disable_two_step(&self, phone: &PhoneNumber) -> bool {
        self.with_number(phone, |n| n.two_step_pin = None)
    }

    /// Someone turns two-step verification on with `pin` (or off).
    pub fn set_two_step_pin(&self, phone: &PhoneNumber, pin: Option<&str>) -> bool {
        self.with_number(phone, |n| n.two_step_pin = pin.map(str::to_owned))
    }

    /// Whether `phone`'s two-step verification PIN is `pin` (a test oracle:
    /// the world's PINs are never shown).
    pub fn two_step_pin_is(&self, phone: &PhoneNumber, pin: &crate::secret::Pin) -> bool {
        self.world()
            .number(phone.e164())
            .and_then(|n| n.two_step_pin.as_deref())
            .is_some_and(|held| held == pin.secret())
    }

    /// Meta approves the number's display name.
    pub fn approve_display_name(&self, phone: &PhoneNumber) -> bool {
        self.with_number(phone, |n| n.display_name_approved = true)
    }

    /// A display-name change of `phone` is pending review (`new_name_status`
    /// `PENDING_REVIEW`), or Meta's review of it ended (`NONE`).
    pub fn set_name_change_pending(&self, phone: &PhoneNumber, pending: bool) -> bool {
        self.with_number(phone, |n| n.name_change_pending = pending)
    }

    /// The previous BSP fixes the source WABA.
    pub fn fix_source_account(&self, phone: &PhoneNumber) -> bool {
        self.with_number(phone, |n| n.source_ready = true)
    }

    /// We subscribe an app to the destination's webhooks.
    pub fn subscribe_webhooks(&self, waba: &WabaId) -> bool {
        self.with_waba(waba, |w| w.webhook_subscribed = true)
    }

    /// We add a payment method to the destination.
    pub fn add_payment_method(&self, waba: &WabaId) -> bool {
        self.with_waba(waba, |w| w.payment_method = true)
    }

    /// Meta approves the destination WABA.
    pub fn approve_waba(&self, waba: &WabaId) -> bool {
        self.with_waba(waba, |w| "APPROVED".clone_into(&mut w.review_status))
    }

    /// Meta sets the `status` every object of `phone` reads (`BANNED`,
    /// `DELETED`, `MIGRATED`, `FLAGGED`, or any other text), or, with
    /// `None`, lets the number's progress give it again (`PENDING`,
    /// `CONNECTED`). Only what reads answer changes: the steps answer as
    /// before. Returns whether the number exists.
    pub fn set_number_status(&self, phone: &PhoneNumber, status: Option<&str>) -> bool {
        self.with_number(phone, |n| n.status_override = status.map(str::to_owned))
    }

    /// The destination WABA is set up for the business that owns `phone`
    /// (what resubmitting "with the right Business Manager id" achieves).
    pub fn align_business(&self, waba: &WabaId, phone: &PhoneNumber) -> bool {
        let mut world = self.world();
        let Some(business) = world.number(phone.e164()).map(|n| n.business.clone()) else {
            return false;
        };
        match world.wabas.get_mut(waba.as_str()) {
            Some(w) => {
                w.business = business;
                true
            }
            None => false,
        }
    }

    /// The region local storage of `phone` is on in (its
    /// `storage_configuration`, set by `POST /{phone-number-id}/settings` or
    /// by a register's `data_localization_region`), on any of its phone
    /// number objects; `None` when it is off everywhere, or the world has no
    /// such number.
    pub fn local_storage(&self, phone: &PhoneNumber) -> Option<String> {
        let world = self.world();
        let number = world.number(phone.e164())?;
        number
            .placed
            .iter()
            .filter_map(|id| world.objects.get(id.as_str()))
            .find_map(|object| object.local_storage.clone())
    }

    /// Injects `fault` into the next `times` calls, whatever they are.
    pub fn inject(&self, fault: Fault, times: u32) {
        self.world().faults.push(FaultPlan {
            fault,
            remaining: times,
            operation: None,
        });
    }

    /// Injects `fault` into the next `times` calls of `operation`.
    pub fn inject_at(&self, operation: Operation, fault: Fault, times: u32) {
        self.world().faults.push(FaultPlan {
            fault,
            remaining: times,
            operation: Some(operation),
        });
    }

    /// Every request served so far, oldest first (unless
    /// [`log_requests(false)`](Self::log_requests)).
    pub fn served(&self) -> Vec<ServedRequest> {
        self.world().served.clone()
    }

    fn with_waba(&self, waba: &WabaId, change: impl FnOnce(&mut world::Waba)) -> bool {
        self.world()
            .wabas
            .get_mut(waba.as_str())
            .map(change)
            .is_some()
    }

    fn with_number(&self, phone: &PhoneNumber, change: impl FnOnce(&mut world::Number)) -> bool {
        self.world().number_mut(phone.e164()).map(change).is_some()
    }
}

#[async_trait]
impl Transport for Simulator {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.world().serve(&request)
    }
}
