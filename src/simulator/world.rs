//! The simulated world and how each endpoint of reference §1 answers.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::clock::{Rng, SimClock};
use super::faults::{self, Fault, FaultPlan};
use super::reference::{self as answers, texts, Answer, PhoneNumberFacts};
use super::scenario::Scenario;
use crate::ids::{BusinessId, PhoneNumberId, SolutionId, WabaId};
use crate::number::CodeVerificationStatus;
use crate::operation::Operation;
use crate::params::CodeMethod;
use crate::phone::PhoneNumber;
use crate::time::{Clock, Timestamp};
use crate::transport::{
    Headers, HttpRequest, HttpResponse, Method, TransportError, TransportErrorKind,
};

/// The Fx hash (rustc's) with a SplitMix64 finish: the world's keys are
/// short digit strings it chose itself, so a keyed hash (SipHash) buys
/// nothing and cost a tenth of a port.
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word.iter_mut().zip(chunk).for_each(|(w, b)| *w = *b);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.write(&[byte]);
    }

    fn finish(&self) -> u64 {
        // Fx leaves the low bits (the bucket) to the low bits of each word;
        // a SplitMix64 finalizer spreads every input bit over all of them.
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

mod routes;

pub(crate) use self::routes::PartnerAdded;
use self::routes::{CustomerToken, Intent, SignupGrant};
pub use self::routes::{MigrationIntent, MigrationIntentStatus, SignupOptions};

/// An `fbtrace_id` (`SIM000042`), on the stack: made for every answer,
/// read only by error answers.
pub(crate) struct Trace {
    buf: [u8; 24],
    len: usize,
}

impl Trace {
    fn new(n: u64) -> Self {
        // Digits, least significant first.
        let mut reversed = [0u8; 20];
        let mut count = 0;
        let mut rest = n;
        for slot in reversed.iter_mut() {
            *slot = b'0' + (rest % 10) as u8;
            rest /= 10;
            count += 1;
            if rest == 0 {
                break;
            }
        }
        let width = count.max(6);
        let mut buf = [0u8; 24];
        let mut out = buf.iter_mut();
        out.by_ref().zip(b"SIM").for_each(|(o, b)| *o = *b);
        out.by_ref().zip(count..width).for_each(|(o, _)| *o = b'0');
        out.zip(reversed.iter().take(count).rev())
            .for_each(|(o, b)| *o = *b);
        Self {
            buf,
            len: 3 + width,
        }
    }
}

impl std::ops::Deref for Trace {
    type Target = str;
    fn deref(&self) -> &str {
        std::str::from_utf8(self.buf.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }
}

/// Meta's register/deregister limit: 10 calls per number in 72 hours.
pub(crate) const REGISTER_LIMIT: usize = 10;
pub(crate) const REGISTER_WINDOW: Duration = Duration::from_secs(72 * 3600);

#[derive(Debug)]
pub(crate) struct Waba {
    pub(crate) id: WabaId,
    pub(crate) business: BusinessId,
    /// `account_review_status`, as answered.
    pub(crate) review_status: String,
    /// `business_verification_status`, as answered.
    pub(crate) verification_status: String,
    pub(crate) payment_method: bool,
    pub(crate) webhook_subscribed: bool,
    pub(crate) on_behalf_approved: bool,
    /// The status its requests in progress list (`None`: none).
    pub(crate) on_behalf_request: Option<String>,
    /// Whether `on_behalf_of_business_info` carries `status`.
    pub(crate) on_behalf_info_status: bool,
    /// The Multi-Partner Solution it was onboarded through, if any.
    pub(crate) solution: Option<SolutionId>,
    /// The migration intent whose acceptance created it (a solution
    /// migration's destination).
    pub(crate) from_intent: Option<String>,
}

impl Waba {
    /// Meta migrates numbers only into an approved WABA.
    pub(crate) fn approved(&self) -> bool {
        self.review_status.eq_ignore_ascii_case("APPROVED")
    }
}

/// A number as it exists in the world (on its current WABA).
#[derive(Debug)]
pub(crate) struct Number {
    pub(crate) phone: PhoneNumber,
    pub(crate) business: BusinessId,
    /// The destination WABA of the scenario that added it (its session's).
    pub(crate) destination: WabaId,
    pub(crate) source_ready: bool,
    pub(crate) two_step_pin: Option<String>,
    pub(crate) display_name_approved: bool,
    pub(crate) name_change_pending: bool,
    pub(crate) eligible_for_direct_add: bool,
    /// Verified by the previous provider: its objects start verified.
    pub(crate) verified_already: bool,
    pub(crate) register_calls: Vec<Timestamp>,
    pub(crate) blocked_until: Option<Timestamp>,
    /// The `status` its objects read instead of the one their progress
    /// gives (`BANNED`, `DELETED`…), when set.
    pub(crate) status_override: Option<String>,
    /// Faults for this number's requests only.
    pub(crate) faults: Vec<FaultPlan>,
    pub(crate) calls: CallCounts,
    /// Codes delivered to this number, oldest first.
    pub(crate) inbox: Vec<Delivery>,
    /// Its phone number objects (in any WABA), by id.
    pub(crate) placed: Vec<PhoneNumberId>,
    /// Whether the Embedded Signup popup leaves it verified.
    pub(crate) signup_verifies: bool,
    /// Whether the popup shares the WABA with the app.
    pub(crate) signup_shares_waba: bool,
    /// Whether the popup creates a new WABA for it.
    pub(crate) signup_new_waba: bool,
    /// When the customer accepts an intent set on its WABA (after it was set).
    pub(crate) intent_accepted_after: Option<Duration>,
}

/// How many requests about one number the simulator received, by step
/// (every request that reached it, whatever it answered — a lost answer or
/// a timeout counts: the request was applied).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallCounts {
    /// `POST /{waba-id}/phone_numbers` naming this number.
    pub start_migration: u32,
    /// `POST /{id}/request_code` (each one texts or calls the customer).
    pub request_code: u32,
    /// `POST /{id}/verify_code`.
    pub verify_code: u32,
    /// `POST /{id}/register` (each one spends one of 10 per 72 hours).
    pub register: u32,
    /// `GET /{id}` (reads).
    pub read: u32,
    /// `GET /oauth/access_token` with a code issued for this number's
    /// Embedded Signup (each one uses the code up).
    pub exchange_signup_code: u32,
    /// `GET /debug_token` about a token exchanged for this number.
    pub read_token_scopes: u32,
    /// `POST /{waba-id}/subscribed_apps` on a WABA that lists this number,
    /// or on the WABA a migration intent for it created.
    pub subscribe_app: u32,
    /// `POST /{waba-id}/set_solution_migration_intent` on the WABA this
    /// number is (the first) in.
    pub set_migration_intent: u32,
    /// `GET /{intent-id}` of an intent set for this number's WABA.
    pub read_migration_intent: u32,
}

/// The requests the simulator received over every number of its world
/// ([`Simulator::call_summary`](super::Simulator::call_summary)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallSummary {
    /// How many numbers the world holds.
    pub numbers: usize,
    /// Each step's requests, added up over every number (saturating).
    pub total: CallCounts,
    /// Each step's most requests for one number: `max.register == 1` means
    /// no number was registered twice.
    pub max: CallCounts,
}

impl CallSummary {
    pub(crate) fn add(&mut self, calls: &CallCounts) {
        self.numbers += 1;
        let pairs = [
            (
                &mut self.total.start_migration,
                &mut self.max.start_migration,
                calls.start_migration,
            ),
            (
                &mut self.total.request_code,
                &mut self.max.request_code,
                calls.request_code,
            ),
            (
                &mut self.total.verify_code,
                &mut self.max.verify_code,
                calls.verify_code,
            ),
            (
                &mut self.total.register,
                &mut self.max.register,
                calls.register,
            ),
            (&mut self.total.read, &mut self.max.read, calls.read),
            (
                &mut self.total.exchange_signup_code,
                &mut self.max.exchange_signup_code,
                calls.exchange_signup_code,
            ),
            (
                &mut self.total.read_token_scopes,
                &mut self.max.read_token_scopes,
                calls.read_token_scopes,
            ),
            (
                &mut self.total.subscribe_app,
                &mut self.max.subscribe_app,
                calls.subscribe_app,
            ),
            (
                &mut self.total.set_migration_intent,
                &mut self.max.set_migration_intent,
                calls.set_migration_intent,
            ),
            (
                &mut self.total.read_migration_intent,
                &mut self.max.read_migration_intent,
                calls.read_migration_intent,
            ),
        ];
        for (total, max, count) in pairs {
            *total = total.saturating_add(count);
            *max = (*max).max(count);
        }
    }
}

impl CallCounts {
    fn count(&mut self, operation: Option<Operation>) {
        let slot = match operation {
            Some(Operation::StartMigration) => &mut self.start_migration,
            Some(Operation::RequestCode) => &mut self.request_code,
            Some(Operation::VerifyCode) => &mut self.verify_code,
            Some(Operation::Register) => &mut self.register,
            Some(Operation::ReadPhoneNumber) => &mut self.read,
            Some(Operation::ExchangeSignupCode) => &mut self.exchange_signup_code,
            Some(Operation::ReadTokenScopes) => &mut self.read_token_scopes,
            Some(Operation::SubscribeApp) => &mut self.subscribe_app,
            Some(Operation::SetMigrationIntent) => &mut self.set_migration_intent,
            Some(Operation::ReadMigrationIntent) => &mut self.read_migration_intent,
            _ => return,
        };
        *slot = slot.saturating_add(1);
    }
}

/// A phone number object in a destination WABA.
#[derive(Debug)]
pub(crate) struct PhoneObject {
    pub(crate) id: PhoneNumberId,
    pub(crate) waba: WabaId,
    /// The number's index in the world.
    pub(crate) number: usize,
    pub(crate) phone: PhoneNumber,
    pub(crate) code: Option<(String, Timestamp)>,
    pub(crate) verified: bool,
    /// Since when the number reads `CONNECTED` (registered); `None` before
    /// a register went through.
    pub(crate) connected_at: Option<Timestamp>,
    /// The region local storage is on in (`storage_configuration`), set by
    /// `POST /{id}/settings` or by a register's `data_localization_region`.
    pub(crate) local_storage: Option<String>,
}

/// A code "delivered" to the number's phone.
#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    pub(crate) code: String,
    pub(crate) method: CodeMethod,
    pub(crate) at: Timestamp,
    pub(crate) expires_at: Timestamp,
}

/// One request as the simulator saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServedRequest {
    /// The operation, when the route is one of the flow's.
    pub operation: Option<Operation>,
    /// The method.
    pub method: Method,
    /// The path (`/v25.0/{id}/register`).
    pub path: String,
    /// The status answered (`None`: the caller got no answer — a timeout
    /// ([`Fault::Latency`]) or a lost answer ([`Fault::AnswerLost`]) — though
    /// the request was applied).
    pub status: Option<u16>,
    /// When the request arrived (simulated time).
    pub at: Timestamp,
    /// The request's headers as sent, for testing a transport that adds
    /// its own; the `Authorization` value is recorded as `[redacted]` (the
    /// header is there, its token is not kept).
    pub headers: Headers,
}

#[derive(Debug)]
pub(crate) struct World {
    pub(crate) clock: SimClock,
    rng: Rng,
    token: String,
    code_ttl: Duration,
    connect_delay: Duration,
    /// By id.
    pub(crate) wabas: FxMap<String, Waba>,
    /// In the order added; found by [`World::number`].
    pub(crate) numbers: Vec<Number>,
    /// Index in `numbers` by E.164 form.
    number_index: FxMap<String, usize>,
    /// By id.
    pub(crate) objects: FxMap<String, PhoneObject>,
    /// Each WABA's phone number objects (ids), in creation order.
    listed: FxMap<String, Vec<PhoneNumberId>>,
    /// Faults for any request.
    pub(crate) faults: Vec<FaultPlan>,
    /// Fields Graph refuses wherever they are asked for (error 100).
    refused_fields: Vec<String>,
    pub(crate) served: Vec<ServedRequest>,
    pub(crate) served_count: usize,
    pub(crate) keep_log: bool,
    traces: u64,
    /// Our app (the code exchange's `client_id` and `client_secret`).
    app_id: String,
    app_secret: String,
    /// Embedded Signup authorization codes, by code.
    signup_codes: FxMap<String, SignupGrant>,
    /// Customers' business tokens the code exchange issued, by token.
    customer_tokens: FxMap<String, CustomerToken>,
    /// Solution migration intents, by id.
    intents: FxMap<String, Intent>,
    /// Requests by operation, over every number (and none).
    pub(crate) by_operation: FxMap<Operation, u32>,
    /// Every WABA shared with our app (a popup finished, an intent
    /// accepted): the `account_update` `PARTNER_ADDED` events, in order.
    pub(crate) partner_added: Vec<PartnerAdded>,
}

impl World {
    pub(crate) fn new(scenario: Scenario) -> Self {
        let mut world = Self {
            clock: if scenario.wall_clock {
                SimClock::wall()
            } else {
                SimClock::new(scenario.start)
            },
            rng: Rng::new(scenario.seed),
            token: scenario.access_token.clone(),
            code_ttl: scenario.code_ttl,
            connect_delay: scenario.connect_delay,
            wabas: FxMap::default(),
            numbers: Vec::new(),
            number_index: FxMap::default(),
            objects: FxMap::default(),
            listed: FxMap::default(),
            faults: Vec::new(),
            refused_fields: Vec::new(),
            served: Vec::new(),
            served_count: 0,
            keep_log: true,
            traces: 0,
            app_id: scenario.app_id.clone(),
            app_secret: scenario.app_secret.clone(),
            signup_codes: FxMap::default(),
            customer_tokens: FxMap::default(),
            intents: FxMap::default(),
            by_operation: FxMap::default(),
            partner_added: Vec::new(),
        };
        world.faults.clone_from(&scenario.faults);
        world.add(&scenario, false);
        world
    }

    /// Adds the scenario's number (set up anew if it was there) and its
    /// destination WABA (kept as it is if it exists). With `own_faults`,
    /// the scenario's faults apply to this number's requests only.
    pub(crate) fn add(&mut self, scenario: &Scenario, own_faults: bool) {
        for field in &scenario.refused_fields {
            if !self.refused_fields.contains(field) {
                self.refused_fields.push(field.clone());
            }
        }
        let waba = scenario.destination_waba.as_str();
        if !self.wabas.contains_key(waba) {
            self.wabas.insert(
                waba.to_owned(),
                Waba {
                    id: scenario.destination_waba.clone(),
                    business: scenario.destination_business.clone(),
                    review_status: scenario.account_review_status.clone(),
                    verification_status: scenario.business_verification_status.clone(),
                    payment_method: scenario.payment_method,
                    webhook_subscribed: scenario.webhook_subscribed,
                    on_behalf_approved: scenario.on_behalf_approved,
                    on_behalf_request: scenario.on_behalf_request.clone(),
                    on_behalf_info_status: scenario.on_behalf_info_status,
                    solution: scenario.under_solution.clone(),
                    from_intent: None,
                },
            );
        }
        let phone = &scenario.phone_number;
        let number = Number {
            phone: phone.clone(),
            business: scenario.customer_business.clone(),
            destination: scenario.destination_waba.clone(),
            source_ready: scenario.source_ready,
            two_step_pin: scenario.two_step_pin.clone(),
            display_name_approved: scenario.display_name_approved,
            name_change_pending: scenario.name_change_pending,
            eligible_for_direct_add: scenario.eligible_for_direct_add,
            verified_already: scenario.verified_already,
            register_calls: Vec::new(),
            blocked_until: None,
            status_override: None,
            faults: if own_faults {
                scenario.faults.clone()
            } else {
                Vec::new()
            },
            calls: CallCounts::default(),
            inbox: Vec::new(),
            placed: Vec::new(),
            signup_verifies: scenario.signup_verifies,
            signup_shares_waba: scenario.signup_shares_waba,
            signup_new_waba: scenario.signup_new_waba,
            intent_accepted_after: scenario.intent_accepted_after,
        };
        // A number added again is set up anew; its objects stay.
        let index = match self.number_index.get(phone.e164()) {
            Some(&index) => {
                if let Some(slot) = self.numbers.get_mut(index) {
                    let placed = std::mem::take(&mut slot.placed);
                    *slot = Number { placed, ..number };
                }
                index
            }
            None => {
                self.numbers.push(number);
                let index = self.numbers.len() - 1;
                self.number_index.insert(phone.e164().to_owned(), index);
                index
            }
        };
        if scenario.already_in_destination && self.placed(waba, index).is_none() {
            self.add_object(scenario.destination_waba.clone(), index);
        }
        if scenario.under_solution.is_some() {
            self.register_at_source(&scenario.destination_waba, index);
        }
    }

    /// The number with E.164 form `e164`.
    pub(crate) fn number(&self, e164: &str) -> Option<&Number> {
        self.numbers.get(*self.number_index.get(e164)?)
    }

    /// The number with E.164 form `e164`.
    pub(crate) fn number_mut(&mut self, e164: &str) -> Option<&mut Number> {
        self.numbers.get_mut(*self.number_index.get(e164)?)
    }

    /// The object of number `index` in `waba`, if the WABA lists it.
    fn placed(&self, waba: &str, index: usize) -> Option<&PhoneObject> {
        self.numbers
            .get(index)?
            .placed
            .iter()
            .filter_map(|id| self.objects.get(id.as_str()))
            .find(|o| o.waba.as_str() == waba)
    }

    fn add_object(&mut self, waba: WabaId, number: usize) -> Option<PhoneNumberId> {
        let id = PhoneNumberId::trusted(self.rng.digits(15, true));
        let owner = self.numbers.get_mut(number)?;
        owner.placed.push(id.clone());
        let phone = owner.phone.clone();
        let verified = owner.verified_already;
        match self.listed.get_mut(waba.as_str()) {
            Some(ids) => ids.push(id.clone()),
            None => {
                self.listed
                    .insert(waba.as_str().to_owned(), vec![id.clone()]);
            }
        }
        self.objects.insert(
            id.as_str().to_owned(),
            PhoneObject {
                id: id.clone(),
                waba,
                number,
                phone,
                code: None,
                verified,
                connected_at: None,
                local_storage: None,
            },
        );
        Some(id)
    }

    fn trace(&mut self) -> Trace {
        self.traces += 1;
        Trace::new(self.traces)
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Serves one request.
    pub(crate) fn serve(&mut self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut segments = request
            .url
            .path_segments()
            .into_iter()
            .flatten()
            .filter(|p| !p.is_empty());
        let (version, target, edge) = (segments.next(), segments.next(), segments.next());
        let operation = match segments.next() {
            Some(_) => None,
            None => route(request.method, version, target.is_some(), edge),
        };
        let target = target.unwrap_or_default();
        // The customers who accept intents after a delay have done so by now.
        self.settle_intents();
        // `GET /{id}` reads a WABA when the id is one (the readiness check),
        // an intent when it is one; `GET /debug_token` inspects a token.
        let operation = match operation {
            Some(Operation::ReadPhoneNumber) if target == "debug_token" => {
                Some(Operation::ReadTokenScopes)
            }
            Some(Operation::ReadPhoneNumber) if self.intents.contains_key(target) => {
                Some(Operation::ReadMigrationIntent)
            }
            Some(Operation::ReadPhoneNumber)
                if !self.objects.contains_key(target) && self.wabas.contains_key(target) =>
            {
                Some(Operation::ReadWaba)
            }
            // `/oauth/access_token` only: another object's `access_token`
            // edge is not the code exchange.
            Some(Operation::ExchangeSignupCode) if target != "oauth" => None,
            other => other,
        };
        let params = params(request);
        // The number the request is about, for its faults and counters.
        let about = params
            .as_ref()
            .and_then(|p| self.number_of(operation, target, p));
        // Set when the request is applied but its answer never reaches the caller.
        let mut lost: Option<TransportError> = None;
        if let Some(operation) = operation {
            let count = self.by_operation.entry(operation).or_insert(0);
            *count = count.saturating_add(1);
        }
        // A subscription is counted for the WABA's number (its faults stay
        // the world's: a subscription is about a WABA).
        let counted = match (about, operation) {
            (None, Some(Operation::SubscribeApp)) => self.waba_number(target),
            (about, _) => about,
        };
        if let Some(number) = counted.and_then(|index| self.numbers.get_mut(index)) {
            number.calls.count(operation);
        }
        // The world's faults first, then the number's own.
        let mut fault = faults::take(&mut self.faults, operation);
        if let Some(number) = about.and_then(|index| self.numbers.get_mut(index)) {
            if fault.is_none() {
                fault = faults::take(&mut number.faults, operation);
            }
        }
        let at = self.now();
        let answer = match fault {
            Some(Fault::Latency(delay)) => {
                self.clock.advance(delay);
                if request.timeout.is_some_and(|limit| delay >= limit) {
                    lost = Some(TransportError::from_kind(TransportErrorKind::Timeout));
                }
                self.answer(request, target, params, operation, about)
            }
            Some(Fault::AnswerLost) => {
                lost = Some(TransportError::new(
                    TransportErrorKind::Other,
                    "connection reset by peer after the request was sent",
                ));
                self.answer(request, target, params, operation, about)
            }
            Some(fault) => self.fault_answer(&fault),
            None => self.answer(request, target, params, operation, about),
        };
        self.served_count += 1;
        if self.keep_log {
            self.served.push(ServedRequest {
                operation,
                method: request.method,
                path: request.url.path().to_owned(),
                status: lost.is_none().then_some(answer.status),
                at,
                headers: recorded_headers(&request.headers),
            });
        }
        match lost {
            Some(error) => Err(error),
            None => Ok(answer.into_response()),
        }
    }

    /// The index of the number a request is about: the one `start` names,
    /// or the one behind the phone number object.
    fn number_of(
        &self,
        operation: Option<Operation>,
        target: &str,
        params: &Map<String, Value>,
    ) -> Option<usize> {
        match operation? {
            Operation::StartMigration => {
                let key = format!("+{}{}", text(params, "cc")?, text(params, "phone_number")?);
                self.number_index.get(&key).copied()
            }
            Operation::ListPhoneNumbers | Operation::SubscribeApp => None,
            Operation::ExchangeSignupCode => self
                .signup_codes
                .get(text(params, "code")?.as_ref())
                .map(|grant| grant.number),
            Operation::ReadTokenScopes => self
                .customer_tokens
                .get(text(params, "input_token")?.as_ref())
                .map(|token| token.number),
            Operation::SetMigrationIntent => self.waba_number(target),
            Operation::ReadMigrationIntent => self.intents.get(target)?.number,
            _ => Some(self.objects.get(target)?.number),
        }
    }

    fn fault_answer(&mut self, fault: &Fault) -> Answer {
        let trace = self.trace();
        match fault {
            Fault::MigrationError => answers::migration_error(texts::ERROR_MIGRATING, &trace),
            Fault::SomethingWentWrong => answers::something_went_wrong(&trace),
            Fault::ServiceUnavailable => answers::service_unavailable(&trace),
            Fault::RateLimit { code, retry_after } => {
                let answer = answers::rate_limited(*code, &trace);
                match retry_after {
                    Some(wait) => answer.with_retry_after(*wait),
                    None => answer,
                }
            }
            Fault::Described(error) => answers::described(*error, &trace),
            // Latency and AnswerLost are handled before answering (the request
            // is applied); they never reach here.
            Fault::BadGateway | Fault::Latency(_) | Fault::AnswerLost => answers::bad_gateway(),
        }
    }

    fn answer(
        &mut self,
        request: &HttpRequest,
        target: &str,
        params: Option<Map<String, Value>>,
        operation: Option<Operation>,
        about: Option<usize>,
    ) -> Answer {
        let trace = self.trace();
        if let Some(refusal) = self.authorize(
            operation,
            target,
            request.headers.get("authorization"),
            &trace,
        ) {
            return refusal;
        }
        let Some(params) = params else {
            return answers::invalid_parameter("body is not a JSON object", &trace);
        };
        // Graph refuses a field it does not have before anything else.
        if let Some(refused) = self.refused_field(operation, &params) {
            return refused.answer(&trace);
        }
        match operation {
            Some(Operation::StartMigration) => self.start(target, &params, about, &trace),
            Some(Operation::ListPhoneNumbers) => self.list(target, &params, &trace),
            Some(Operation::RequestCode) => self.request_code(target, &params, &trace),
            Some(Operation::VerifyCode) => self.verify_code(target, &params, &trace),
            Some(Operation::Register) => self.register(target, &params, &trace),
            Some(Operation::ReadPhoneNumber) => self.read(target, &params, &trace),
            Some(Operation::SubscribeApp) => self.subscribe_app(target, &trace),
            Some(Operation::ReadWaba) => match self.wabas.get(target) {
                Some(waba) => {
                    let mut facts = answers::WabaFacts::new(target, waba.business.as_str());
                    facts.approved = waba.approved();
                    facts.account_review_status = Some(waba.review_status.clone());
                    facts.business_verification_status = Some(waba.verification_status.clone());
                    facts.payment_method = waba.payment_method;
                    facts.on_behalf_approved = waba.on_behalf_approved;
                    facts.on_behalf_info_status = waba.on_behalf_info_status;
                    answers::waba_record(&facts, text(&params, "fields").as_deref())
                }
                None => answers::unknown_object(target, &trace),
            },
            Some(Operation::ListOnBehalfRequests) => match self.wabas.get(target) {
                Some(waba) => answers::on_behalf_requests(
                    waba.on_behalf_request.as_deref(),
                    waba.id.as_str(),
                    waba.business.as_str(),
                ),
                None => answers::unknown_object(target, &trace),
            },
            Some(Operation::ListSubscribedApps) => match self.wabas.get(target) {
                Some(waba) => answers::subscribed_apps(waba.webhook_subscribed),
                None => answers::unknown_object(target, &trace),
            },
            Some(Operation::SetTwoStepPin) => self.set_two_step_pin(target, &params, &trace),
            Some(Operation::ReadLocalStorage) => match self.objects.get(target) {
                Some(object) => answers::phone_number_settings(object.local_storage.as_deref()),
                None => answers::unknown_object(target, &trace),
            },
            Some(Operation::SetLocalStorage) => self.set_settings(target, &params, &trace),
            Some(Operation::ExchangeSignupCode) => self.exchange_code(&params, &trace),
            Some(Operation::ReadTokenScopes) => self.token_scopes(&params, &trace),
            Some(Operation::SetMigrationIntent) => self.set_intent(target, &params, &trace),
            Some(Operation::ReadMigrationIntent) => self.read_intent(target, &params, &trace),
            _ => answers::invalid_parameter(
                &format!("Unknown path components: {}", request.url.path()),
                &trace,
            ),
        }
    }

    /// The first field of the request's `fields` the world refuses, with
    /// the node it was asked of.
    fn refused_field(
        &self,
        operation: Option<Operation>,
        params: &Map<String, Value>,
    ) -> Option<RefusedField> {
        if self.refused_fields.is_empty() {
            return None;
        }
        let node = match operation? {
            Operation::ReadWaba => "WhatsAppBusinessAccount",
            Operation::ReadPhoneNumber | Operation::ListPhoneNumbers => {
                "WhatsAppBusinessPhoneNumber"
            }
            _ => return None,
        };
        let fields = text(params, "fields")?;
        let field = fields
            .split(',')
            .map(str::trim)
            .find(|f| self.refused_fields.iter().any(|r| r == f))?;
        Some(RefusedField {
            field: field.to_owned(),
            node,
        })
    }

    fn start(
        &mut self,
        waba_id: &str,
        params: &Map<String, Value>,
        about: Option<usize>,
        trace: &str,
    ) -> Answer {
        if !self.wabas.contains_key(waba_id) {
            return answers::unknown_object(waba_id, trace);
        }
        if params.get("migrate_phone_number").and_then(truthy) != Some(true) {
            return answers::invalid_parameter(
                "this simulator only migrates (migrate_phone_number=true)",
                trace,
            );
        }
        let (Some(cc), Some(national)) = (text(params, "cc"), text(params, "phone_number")) else {
            return answers::invalid_parameter("cc and phone_number are required", trace);
        };
        // A number of the world is found by its digits; any other is read
        // with libphonenumber to answer as Meta would.
        let index = match about.and_then(|index| Some((index, self.numbers.get(index)?))) {
            Some((index, number)) if number.phone.country_code() == cc => index,
            Some(_) => return answers::invalid_parameter("cc", trace),
            None => {
                let Ok(phone) = PhoneNumber::parse(&format!("+{cc}{national}")) else {
                    return answers::invalid_parameter("phone_number", trace);
                };
                if phone.country_code() != cc {
                    return answers::invalid_parameter("cc", trace);
                }
                match self.number_index.get(phone.e164()) {
                    Some(&index) => index,
                    None => return answers::migration_error(texts::ADD_DIRECTLY, trace),
                }
            }
        };
        if self.placed(waba_id, index).is_some() {
            return answers::already_in_list(trace);
        }
        // Into the WABA an accepted migration intent created for it.
        if let Some(answer) = self.start_by_intent(waba_id, index, trace) {
            return answer;
        }
        let Some(waba) = self.wabas.get(waba_id) else {
            return answers::unknown_object(waba_id, trace);
        };
        let Some(number) = self.numbers.get(index) else {
            return answers::migration_error(texts::ADD_DIRECTLY, trace);
        };
        let refusal = if number.eligible_for_direct_add {
            Some(texts::ADD_DIRECTLY)
        } else if number.business != waba.business {
            Some(texts::DIFFERENT_BUSINESS)
        } else if !waba.approved() {
            Some(texts::WABA_NOT_APPROVED)
        } else if !waba.payment_method {
            Some(texts::NO_PAYMENT_ACCOUNT)
        } else if !waba.webhook_subscribed {
            Some(texts::CANNOT_MIGRATE)
        } else if !waba.on_behalf_approved {
            Some(texts::ON_BEHALF_NOT_APPROVED)
        } else if !number.source_ready {
            Some(texts::SOURCE_NOT_SET_UP)
        } else if !number.display_name_approved {
            Some(texts::NAME_NOT_APPROVED)
        } else if number.two_step_pin.is_some() {
            Some(texts::TWO_STEP_ENABLED)
        } else {
            None
        };
        if let Some(text) = refusal {
            return answers::migration_error(text, trace);
        }
        let waba_id = waba.id.clone();
        match self.add_object(waba_id, index) {
            Some(id) => answers::phone_number_created(id.as_str()),
            None => answers::something_went_wrong(trace),
        }
    }

    fn list(&mut self, waba_id: &str, params: &Map<String, Value>, trace: &str) -> Answer {
        if !self.wabas.contains_key(waba_id) {
            return answers::unknown_object(waba_id, trace);
        }
        let limit = text(params, "limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(25)
            .clamp(1, 100);
        let offset = text(params, "after")
            .and_then(|c| {
                c.strip_prefix("cursor-")
                    .and_then(|n| n.parse::<usize>().ok())
            })
            .unwrap_or(0);
        let fields = text(params, "fields");
        if let Some(unknown) = answers::unknown_phone_number_field(fields.as_deref()) {
            return answers::nonexisting_field(unknown, "WhatsAppBusinessPhoneNumber", trace);
        }
        let ids: &[PhoneNumberId] = self.listed.get(waba_id).map_or(&[], Vec::as_slice);
        // Only the page is read (a WABA may list many numbers).
        let page: Vec<Value> = ids
            .iter()
            .skip(offset)
            .take(limit)
            .filter_map(|id| self.objects.get(id.as_str()))
            .map(|o| answers::phone_number_record(&self.facts(o), fields.as_deref()))
            .collect();
        let end = offset + page.len();
        let mut paging = json!({ "cursors": { "before": format!("cursor-{offset}"), "after": format!("cursor-{end}") } });
        if end < ids.len() {
            if let Some(map) = paging.as_object_mut() {
                map.insert(
                    "next".into(),
                    format!("https://graph.facebook.com/next?after=cursor-{end}").into(),
                );
            }
        }
        Answer::json_ok(&json!({ "data": page, "paging": paging }))
    }

    /// `GET /{phone-number-id}`: the number as the world sees it now.
    fn read(&self, id: &str, params: &Map<String, Value>, trace: &str) -> Answer {
        let Some(object) = self.objects.get(id) else {
            return answers::unknown_object(id, trace);
        };
        let fields = text(params, "fields");
        if let Some(unknown) = answers::unknown_phone_number_field(fields.as_deref()) {
            return answers::nonexisting_field(unknown, "WhatsAppBusinessPhoneNumber", trace);
        }
        answers::phone_number(&self.facts(object), fields.as_deref())
    }

    /// What the read and the list report about `object`, at the current time.
    fn facts(&self, object: &PhoneObject) -> PhoneNumberFacts {
        let now = self.now();
        let mut facts = PhoneNumberFacts::new(object.id.as_str(), &object.phone);
        facts.registered = object.connected_at.is_some_and(|at| now >= at);
        facts.connecting = object.connected_at.is_some_and(|at| now < at);
        facts.code_verification = if object.verified {
            CodeVerificationStatus::Verified
        } else if object
            .code
            .as_ref()
            .is_some_and(|(_, expires_at)| now > *expires_at)
        {
            // Same boundary as verify_code: a code is rejected once now > expiry.
            CodeVerificationStatus::Expired
        } else {
            CodeVerificationStatus::NotVerified
        };
        let number = self.numbers.get(object.number);
        facts.name_approved = number.is_some_and(|n| n.display_name_approved);
        facts.name_change_pending = number.is_some_and(|n| n.name_change_pending);
        facts.status = number.and_then(|n| n.status_override.clone());
        facts
    }

    fn request_code(&mut self, id: &str, params: &Map<String, Value>, trace: &str) -> Answer {
        let method = match text(params, "code_method").as_deref() {
            Some("SMS") => CodeMethod::Sms,
            Some("VOICE") => CodeMethod::Voice,
            _ => return answers::invalid_parameter("code_method must be SMS or VOICE", trace),
        };
        // Meta's pattern for it: ^[a-z]{2}_[A-Z]{2}$ (and its example
        // refusal of another form).
        match text(params, "language") {
            None => return answers::invalid_parameter("language is required", trace),
            Some(language) if !documented_language(&language) => {
                return answers::invalid_parameter(
                    "language must be a valid locale identifier",
                    trace,
                )
            }
            Some(_) => {}
        }
        let code = self.rng.digits(6, false);
        let now = self.now();
        let expires_at = now.saturating_add(self.code_ttl);
        let Some(object) = self.objects.get_mut(id) else {
            return answers::unknown_object(id, trace);
        };
        object.code = Some((code.clone(), expires_at));
        if let Some(number) = self.numbers.get_mut(object.number) {
            number.inbox.push(Delivery {
                code,
                method,
                at: now,
                expires_at,
            });
        }
        answers::success()
    }

    fn verify_code(&mut self, id: &str, params: &Map<String, Value>, trace: &str) -> Answer {
        let now = self.now();
        let Some(object) = self.objects.get_mut(id) else {
            return answers::unknown_object(id, trace);
        };
        let Some(sent) = text(params, "code") else {
            return answers::invalid_parameter("code is required", trace);
        };
        match &object.code {
            Some((code, expires_at)) if *code == sent => {
                if now > *expires_at {
                    answers::code_rejected(true, trace)
                } else {
                    object.verified = true;
                    object.code = None;
                    answers::success()
                }
            }
            _ => answers::code_rejected(false, trace),
        }
    }

    /// `POST /{waba-id}/subscribed_apps`: our app now gets the WABA's
    /// webhooks.
    fn subscribe_app(&mut self, waba_id: &str, trace: &str) -> Answer {
        match self.wabas.get_mut(waba_id) {
            Some(waba) => {
                waba.webhook_subscribed = true;
                answers::success()
            }
            None => answers::unknown_object(waba_id, trace),
        }
    }

    /// `POST /{phone-number-id}` with `{"pin": …}`: the number's two-step
    /// PIN becomes `pin`.
    fn set_two_step_pin(&mut self, id: &str, params: &Map<String, Value>, trace: &str) -> Answer {
        let Some(object) = self.objects.get(id) else {
            return answers::unknown_object(id, trace);
        };
        let Some(pin) = six_digit_pin(params) else {
            return answers::invalid_parameter("pin must be 6 digits", trace);
        };
        match self.numbers.get_mut(object.number) {
            Some(number) => {
                number.two_step_pin = Some(pin.into_owned());
                answers::success()
            }
            None => answers::unknown_object(id, trace),
        }
    }

    /// `POST /{phone-number-id}/settings`: one feature setting per request;
    /// the simulator models `storage_configuration` (`enabled`, required;
    /// `region`, one of the regions Meta offers local storage in, when
    /// enabling).
    fn set_settings(&mut self, id: &str, params: &Map<String, Value>, trace: &str) -> Answer {
        let Some(object) = self.objects.get_mut(id) else {
            return answers::unknown_object(id, trace);
        };
        let features = [
            "calling",
            "user_identity_change",
            "payload_encryption",
            "storage_configuration",
        ];
        match features.iter().filter(|f| params.contains_key(**f)).count() {
            // Meta's own text for it (`MissingFeatureSetting`).
            0 => return answers::invalid_parameter("One feature setting must be specified", trace),
            1 => {}
            _ => {
                return answers::invalid_parameter(
                    "Only one feature setting can be specified per request",
                    trace,
                )
            }
        }
        let Some(storage) = params.get("storage_configuration") else {
            return answers::invalid_parameter(
                "this simulator models storage_configuration only",
                trace,
            );
        };
        let Some(enabled) = storage.get("enabled").and_then(truthy) else {
            return answers::invalid_parameter("storage_configuration.enabled is required", trace);
        };
        if !enabled {
            object.local_storage = None;
            return answers::success();
        }
        match storage
            .get("region")
            .and_then(Value::as_str)
            .and_then(supported_region)
        {
            Some(region) => {
                object.local_storage = Some(region);
                answers::success()
            }
            None => answers::invalid_parameter("storage_configuration.region", trace),
        }
    }

    fn register(&mut self, id: &str, params: &Map<String, Value>, trace: &str) -> Answer {
        let now = self.now();
        let Some(object) = self.objects.get_mut(id) else {
            return answers::unknown_object(id, trace);
        };
        if text(params, "messaging_product").as_deref() != Some("whatsapp") {
            return answers::invalid_parameter("messaging_product must be whatsapp", trace);
        }
        let Some(pin) = six_digit_pin(params) else {
            return answers::invalid_parameter("pin must be 6 digits", trace);
        };
        // Deprecated from v21 on, not removed: taken at every version.
        let region = match text(params, "data_localization_region") {
            None => None,
            Some(region) => match supported_region(&region) {
                Some(region) => Some(region),
                None => return answers::invalid_parameter("data_localization_region", trace),
            },
        };
        let Some(number) = self.numbers.get_mut(object.number) else {
            return answers::unknown_object(id, trace);
        };
        // The limit counts every call that reaches the number.
        if number.blocked_until.is_some_and(|until| now < until) {
            return answers::register_limit(trace);
        }
        let window_start = Timestamp::from_unix_millis(
            now.as_unix_millis()
                .saturating_sub(u64::try_from(REGISTER_WINDOW.as_millis()).unwrap_or(u64::MAX)),
        );
        number.register_calls.retain(|at| *at > window_start);
        if number.register_calls.len() >= REGISTER_LIMIT {
            number.blocked_until = Some(now.saturating_add(REGISTER_WINDOW));
            number.register_calls.clear();
            return answers::register_limit(trace);
        }
        number.register_calls.push(now);
        if !object.verified {
            return answers::not_verified(trace);
        }
        if number.two_step_pin.as_deref().is_some_and(|old| old != pin) {
            return answers::pin_mismatch(trace);
        }
        number.two_step_pin = Some(pin.into_owned());
        if region.is_some() {
            object.local_storage = region;
        }
        let waba = object.waba.clone();
        // A number registered again stays connected since the first time.
        let connects_at = now.saturating_add(self.connect_delay);
        object.connected_at = Some(
            object
                .connected_at
                .map_or(connects_at, |at| at.min(connects_at)),
        );
        self.complete_intents(&waba);
        answers::success()
    }
}

/// A field the world refuses, and the node it was asked of.
struct RefusedField {
    field: String,
    node: &'static str,
}

impl RefusedField {
    fn answer(&self, trace: &str) -> Answer {
        answers::nonexisting_field(&self.field, self.node, trace)
    }
}

/// `headers` with the token left out.
fn recorded_headers(headers: &Headers) -> Headers {
    let mut recorded = Headers::new();
    for (name, value) in headers.iter() {
        if name.eq_ignore_ascii_case("authorization") {
            recorded.push(name, "[redacted]");
        } else {
            recorded.push(name, value);
        }
    }
    recorded
}

/// Which flow operation a route is: `/{version}/{target}[/{edge}]`.
fn route(
    method: Method,
    version: Option<&str>,
    has_target: bool,
    edge: Option<&str>,
) -> Option<Operation> {
    if !version.is_some_and(Operation::is_api_version) || !has_target {
        return None;
    }
    Operation::from_route(method, edge.unwrap_or_default())
}

/// The JSON body's fields, plus the query string's (Graph takes both).
fn params(request: &HttpRequest) -> Option<Map<String, Value>> {
    let mut map = if request.body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice(&request.body).ok()? {
            Value::Object(map) => map,
            _ => return None,
        }
    };
    for (key, value) in request.url.query_pairs() {
        map.entry(key.into_owned())
            .or_insert(Value::String(value.into_owned()));
    }
    Some(map)
}

fn text<'a>(params: &'a Map<String, Value>, key: &str) -> Option<Cow<'a, str>> {
    match params.get(key)? {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

/// Whether a `language` has the form Meta documents: `^[a-z]{2}_[A-Z]{2}$`.
fn documented_language(language: &str) -> bool {
    let bytes = language.as_bytes();
    bytes.len() == 5
        && bytes.get(2) == Some(&b'_')
        && bytes.iter().take(2).all(u8::is_ascii_lowercase)
        && bytes.iter().skip(3).all(u8::is_ascii_uppercase)
}

/// A region Meta offers local storage in (any case), upper-cased.
fn supported_region(region: &str) -> Option<String> {
    crate::params::DataLocalizationRegion::new(region)
        .ok()
        .map(String::from)
}

/// The `pin` parameter, when it is six digits.
fn six_digit_pin(params: &Map<String, Value>) -> Option<Cow<'_, str>> {
    text(params, "pin").filter(|p| p.len() == 6 && p.bytes().all(|b| b.is_ascii_digit()))
}

fn truthy(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(s == "true"),
        _ => None,
    }
}
