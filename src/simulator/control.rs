//! The control API of a served simulator: JSON under `/_sim/`, for other
//! processes to read what the world saw and to act in it as its humans do.
//!
//! The answers and the requests are the wire types below, shared by the
//! server ([`answer`]) and its client ([`RemoteSimulator`](super::RemoteSimulator)).
//! Nothing here logs; a delivered code leaves the world only through
//! `GET /_sim/numbers/{phone}/code`.

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

use super::faults::Fault;
use super::scenario::{Scenario, SCENARIO_NAMES};
use super::world::{CallCounts, CallSummary, MigrationIntent, SignupOptions};
use super::Simulator;
use crate::ids::{BusinessId, MigrationIntentId, WabaId};
use crate::operation::Operation;
use crate::params::CodeMethod;
use crate::phone::PhoneNumber;
use crate::session::PortingSession;
use crate::time::Timestamp;
use crate::transport::{Headers, HttpRequest, HttpResponse, Method};

/// The first path segment of every control endpoint.
pub(crate) const PREFIX: &str = "_sim";

/// The most numbers one `POST /_sim/numbers` adds, and one page of
/// `GET /_sim/numbers` lists (an answer stays well under 1 MiB).
pub(crate) const MAX_BATCH: u32 = 5_000;

/// Whether `path` is a control endpoint's (`/_sim` or under `/_sim/`).
pub(crate) fn is_control(path: &str) -> bool {
    path.strip_prefix('/')
        .and_then(|rest| rest.strip_prefix(PREFIX))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

// ------------------------------------------------------------ wire types

/// [`CallCounts`] on the wire.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CallsWire {
    start_migration: u32,
    request_code: u32,
    verify_code: u32,
    register: u32,
    read: u32,
    #[serde(default)]
    exchange_signup_code: u32,
    #[serde(default)]
    read_token_scopes: u32,
    #[serde(default)]
    subscribe_app: u32,
    #[serde(default)]
    set_migration_intent: u32,
    #[serde(default)]
    read_migration_intent: u32,
}

impl From<CallCounts> for CallsWire {
    fn from(c: CallCounts) -> Self {
        Self {
            start_migration: c.start_migration,
            request_code: c.request_code,
            verify_code: c.verify_code,
            register: c.register,
            read: c.read,
            exchange_signup_code: c.exchange_signup_code,
            read_token_scopes: c.read_token_scopes,
            subscribe_app: c.subscribe_app,
            set_migration_intent: c.set_migration_intent,
            read_migration_intent: c.read_migration_intent,
        }
    }
}

impl From<CallsWire> for CallCounts {
    fn from(c: CallsWire) -> Self {
        Self {
            start_migration: c.start_migration,
            request_code: c.request_code,
            verify_code: c.verify_code,
            register: c.register,
            read: c.read,
            exchange_signup_code: c.exchange_signup_code,
            read_token_scopes: c.read_token_scopes,
            subscribe_app: c.subscribe_app,
            set_migration_intent: c.set_migration_intent,
            read_migration_intent: c.read_migration_intent,
        }
    }
}

/// [`CallSummary`] on the wire.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SummaryWire {
    numbers: usize,
    total: CallsWire,
    max: CallsWire,
}

impl From<SummaryWire> for CallSummary {
    fn from(s: SummaryWire) -> Self {
        Self {
            numbers: s.numbers,
            total: s.total.into(),
            max: s.max.into(),
        }
    }
}

/// How a popup finishes (`POST /_sim/numbers/{phone}/finish_signup`):
/// [`SignupOptions`] on the wire.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignupOptionsWire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) shares_waba: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) waba: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) new_waba: Option<bool>,
}

impl SignupOptionsWire {
    pub(crate) fn of(options: &SignupOptions) -> Self {
        Self {
            verified: options.verified,
            shares_waba: options.shares_waba,
            waba: options.waba.as_ref().map(|w| w.as_str().to_owned()),
            new_waba: options.new_waba,
        }
    }

    fn options(&self) -> Result<SignupOptions, Refusal> {
        let mut options = SignupOptions::new();
        options.verified = self.verified;
        options.shares_waba = self.shares_waba;
        options.new_waba = self.new_waba;
        if let Some(id) = &self.waba {
            options.waba = Some(waba(id)?);
        }
        Ok(options)
    }
}

/// What the popup handed the page: the code (a secret) and the assets.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SignupWire {
    pub(crate) code: String,
    pub(crate) waba_id: String,
    pub(crate) phone_number_id: String,
    pub(crate) business_id: Option<String>,
}

/// A migration intent as the world holds it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IntentWire {
    pub(crate) id: String,
    pub(crate) source_waba: String,
    pub(crate) solution_id: String,
    pub(crate) status: String,
    pub(crate) destination_waba: Option<String>,
}

impl From<MigrationIntent> for IntentWire {
    fn from(intent: MigrationIntent) -> Self {
        Self {
            id: intent.id.as_str().to_owned(),
            source_waba: intent.source_waba.as_str().to_owned(),
            solution_id: intent.solution_id.as_str().to_owned(),
            status: intent.status.as_str().to_owned(),
            destination_waba: intent.destination_waba.map(|w| w.as_str().to_owned()),
        }
    }
}

/// A number of the world: what a session for it names.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NumberWire {
    pub(crate) phone: String,
    pub(crate) waba: String,
    pub(crate) business: String,
}

impl NumberWire {
    fn of(session: &PortingSession) -> Self {
        Self {
            phone: session.phone_number().e164().to_owned(),
            waba: session.waba_id().as_str().to_owned(),
            business: session.business_id().as_str().to_owned(),
        }
    }

    /// A new session for this number (checked as any input is).
    pub(crate) fn session(&self) -> Option<PortingSession> {
        Some(PortingSession::new(
            PhoneNumber::parse(&self.phone).ok()?,
            WabaId::new(&self.waba).ok()?,
            BusinessId::new(&self.business).ok()?,
        ))
    }
}

/// `GET /_sim/numbers`, and the answer of `POST /_sim/numbers`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct NumbersWire {
    /// How many numbers the world holds.
    pub(crate) total: usize,
    pub(crate) numbers: Vec<NumberWire>,
}

/// `GET /_sim/clock`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub(crate) struct ClockWire {
    /// Unix milliseconds.
    pub(crate) now: u64,
    pub(crate) wall_clock: bool,
}

/// `GET /_sim/numbers/{phone}/code`: the last delivery, if any.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct CodeWire {
    pub(crate) code: Option<String>,
    pub(crate) method: Option<CodeMethod>,
    pub(crate) sent_at: Option<u64>,
    pub(crate) expires_at: Option<u64>,
    /// How many codes the number received in all.
    pub(crate) delivered: usize,
}

/// `POST /_sim/numbers`: numbers `index..index + count` of a preset
/// ([`Scenario::by_name`], [`Scenario::numbered`]), changed as the options
/// say.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AddWire {
    pub(crate) scenario: String,
    pub(crate) index: u32,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub(crate) count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) waba: Option<String>,
    /// Absent: the preset's; `null`: off; a PIN: on with it.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) two_step_pin: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) on_behalf_approved: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) destination_approved: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) payment_method: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) webhook_subscribed: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) display_name_approved: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) source_ready: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) directly_addable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) in_destination_list: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) code_ttl_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) connect_delay_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) faults: Vec<FaultWire>,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// A field that is there, `null` included (`Some(None)`); absent is `None`
/// by `#[serde(default)]`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// A [`Fault`] for the next `times` requests (of `operation`, or of any).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultWire {
    /// `migration_error`, `something_went_wrong`, `service_unavailable`,
    /// `bad_gateway`, `answer_lost`, `rate_limit` (with `code`, default 4,
    /// and `retry_after_ms`), `latency` (with `ms`), `described` (with
    /// `example`, a [`DescribedError`](super::reference::DescribedError)
    /// name).
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    operation: Option<Operation>,
    #[serde(default = "one")]
    times: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    example: Option<String>,
}

impl FaultWire {
    pub(crate) fn new(operation: Option<Operation>, fault: &Fault, times: u32) -> Self {
        let mut wire = Self {
            kind: String::new(),
            operation,
            times,
            code: None,
            retry_after_ms: None,
            ms: None,
            example: None,
        };
        wire.kind = match fault {
            Fault::MigrationError => "migration_error",
            Fault::SomethingWentWrong => "something_went_wrong",
            Fault::ServiceUnavailable => "service_unavailable",
            Fault::BadGateway => "bad_gateway",
            Fault::AnswerLost => "answer_lost",
            Fault::RateLimit { code, retry_after } => {
                wire.code = Some(*code);
                wire.retry_after_ms = retry_after.map(millis);
                "rate_limit"
            }
            Fault::Latency(delay) => {
                wire.ms = Some(millis(*delay));
                "latency"
            }
            Fault::Described(error) => {
                wire.example = Some(error.as_str().to_owned());
                "described"
            }
        }
        .to_owned();
        wire
    }

    fn fault(&self) -> Result<Fault, String> {
        Ok(match self.kind.as_str() {
            "migration_error" => Fault::MigrationError,
            "something_went_wrong" => Fault::SomethingWentWrong,
            "service_unavailable" => Fault::ServiceUnavailable,
            "bad_gateway" => Fault::BadGateway,
            "answer_lost" => Fault::AnswerLost,
            "rate_limit" => Fault::RateLimit {
                code: self.code.unwrap_or(4),
                retry_after: self.retry_after_ms.map(Duration::from_millis),
            },
            "latency" => Fault::Latency(Duration::from_millis(
                self.ms.ok_or("a latency fault needs \"ms\"")?,
            )),
            "described" => {
                let name = self
                    .example
                    .as_deref()
                    .ok_or("a described fault needs \"example\"")?;
                Fault::Described(
                    super::reference::DescribedError::from_name(name)
                        .ok_or_else(|| format!("unknown described example {name:?}"))?,
                )
            }
            other => return Err(format!("unknown fault kind {other:?}")),
        })
    }
}

/// A yes/no knob of [`Scenario`].
type Knob = fn(Scenario, bool) -> Scenario;

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl AddWire {
    /// The scenario of the `offset`-th number added.
    fn scenario(&self, base: &Scenario, offset: u32) -> Result<Scenario, String> {
        let index = self.index.saturating_add(offset);
        let mut s = base.clone().numbered(index);
        if let Some(waba) = &self.waba {
            s = s.with_waba(WabaId::new(waba).map_err(|_| "waba is not a WABA id")?);
        }
        if let Some(pin) = &self.two_step_pin {
            s = s.two_step_pin(pin.as_deref());
        }
        let flags: [(Option<bool>, Knob); 8] = [
            (self.on_behalf_approved, Scenario::on_behalf_approved),
            (self.destination_approved, Scenario::destination_approved),
            (self.payment_method, Scenario::payment_method),
            (self.webhook_subscribed, Scenario::webhook_subscribed),
            (self.display_name_approved, Scenario::display_name_approved),
            (self.source_ready, Scenario::source_ready),
            (self.directly_addable, Scenario::directly_addable),
            (self.in_destination_list, Scenario::in_destination_list),
        ];
        for (value, set) in flags {
            if let Some(yes) = value {
                s = set(s, yes);
            }
        }
        if let Some(ms) = self.code_ttl_ms {
            s = s.code_ttl(Duration::from_millis(ms));
        }
        if let Some(ms) = self.connect_delay_ms {
            s = s.connect_delay(Duration::from_millis(ms));
        }
        for fault in &self.faults {
            s = match fault.operation {
                Some(operation) => s.fault_at(operation, fault.fault()?, fault.times),
                None => s.fault(fault.fault()?, fault.times),
            };
        }
        Ok(s)
    }
}

// ---------------------------------------------------------------- server

/// The control API's answer to `request` (a path under `/_sim/`).
pub(crate) fn answer(sim: &Simulator, request: &HttpRequest) -> HttpResponse {
    match route(sim, request) {
        Ok(body) => json_response(200, &body),
        Err(refusal) => refusal.response(),
    }
}

/// A control request refused: its status, a code a client can match, and a
/// message for people (never a secret).
struct Refusal {
    status: u16,
    code: &'static str,
    message: Cow<'static, str>,
    allow: Option<&'static str>,
}

impl Refusal {
    fn new(status: u16, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            allow: None,
        }
    }

    fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(400, "bad_request", message)
    }

    fn not_found() -> Self {
        Self::new(404, "unknown_endpoint", "no such control endpoint")
    }

    fn method(allow: &'static str) -> Self {
        Self {
            allow: Some(allow),
            ..Self::new(405, "method_not_allowed", format!("use {allow}"))
        }
    }

    fn response(self) -> HttpResponse {
        let mut response = json_response(
            self.status,
            &json!({ "error": { "code": self.code, "message": self.message } }),
        );
        if let Some(allow) = self.allow {
            response.headers.push("Allow", allow);
        }
        response
    }
}

pub(crate) fn json_response(status: u16, body: &Value) -> HttpResponse {
    let mut headers = Headers::new();
    headers.push("Content-Type", "application/json");
    headers.push("Cache-Control", "no-store");
    HttpResponse::new(status, headers, body.to_string())
}

/// The control path's segments after `_sim`, percent-decoded.
fn segments(request: &HttpRequest) -> Vec<String> {
    request
        .url
        .path_segments()
        .into_iter()
        .flatten()
        .skip(1)
        .map(percent_decode)
        .collect()
}

/// `%XX` escapes decoded (an invalid one is kept as it is); `+` stays a `+`
/// (a path, not a form).
pub(crate) fn percent_decode(segment: &str) -> String {
    let mut out = Vec::with_capacity(segment.len());
    let mut bytes = segment.bytes();
    while let Some(b) = bytes.next() {
        if b != b'%' {
            out.push(b);
            continue;
        }
        let mut ahead = bytes.clone();
        let hex = |c: Option<u8>| char::from(c?).to_digit(16);
        match (hex(ahead.next()), hex(ahead.next())) {
            (Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                bytes = ahead;
            }
            _ => out.push(b),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn body<T: for<'de> Deserialize<'de>>(request: &HttpRequest) -> Result<T, Refusal> {
    let bytes: &[u8] = if request.body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &request.body
    };
    serde_json::from_slice(bytes).map_err(|e| Refusal::bad_request(json_error(&e)))
}

/// What is wrong with a body, without quoting it: serde's messages for a
/// wrong type or value quote the value (a PIN, say), which the sender may
/// log; those about fields name only the field.
fn json_error(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let names_a_field = ["missing field", "unknown field", "duplicate field"]
        .iter()
        .any(|start| message.starts_with(start));
    let what = match error.classify() {
        serde_json::error::Category::Data if names_a_field => {
            // "… at line L column C" is part of the message.
            return format!("the body is not the expected JSON: {message}");
        }
        serde_json::error::Category::Data => "a value has the wrong type or is out of range",
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "not JSON",
        serde_json::error::Category::Io => "unreadable",
    };
    format!(
        "the body is not the expected JSON: {what} (line {}, column {})",
        error.line(),
        error.column()
    )
}

fn phone(segment: &str) -> Result<PhoneNumber, Refusal> {
    PhoneNumber::parse(segment)
        .map_err(|_| Refusal::bad_request("not a phone number (E.164, like +14155550123)"))
}

fn waba(segment: &str) -> Result<WabaId, Refusal> {
    WabaId::new(segment).map_err(|_| Refusal::bad_request("not a WABA id"))
}

fn intent(segment: &str) -> Result<MigrationIntentId, Refusal> {
    MigrationIntentId::new(segment).map_err(|_| Refusal::bad_request("not a migration intent id"))
}

/// No such intent, or (for an answer) not waiting for one.
fn unknown_intent() -> Refusal {
    Refusal::new(
        404,
        "unknown_intent",
        "the world holds no such intent, or it is not waiting for the customer",
    )
}

fn unknown_number() -> Refusal {
    Refusal::new(404, "unknown_number", "the world holds no such number")
}

fn unknown_waba() -> Refusal {
    Refusal::new(404, "unknown_waba", "the world holds no such WABA")
}

fn ok(done: bool, otherwise: fn() -> Refusal) -> Result<Value, Refusal> {
    if done {
        Ok(json!({ "ok": true }))
    } else {
        Err(otherwise())
    }
}

fn to_value(value: impl Serialize) -> Result<Value, Refusal> {
    serde_json::to_value(value).map_err(|_| Refusal::new(500, "internal", "could not encode"))
}

fn clock(sim: &Simulator) -> Result<Value, Refusal> {
    to_value(ClockWire {
        now: sim.now().as_unix_millis(),
        wall_clock: sim.clock.follows_wall_clock(),
    })
}

fn query(request: &HttpRequest, key: &str) -> Result<Option<u32>, Refusal> {
    match request.url.query_pairs().find(|(k, _)| k == key) {
        None => Ok(None),
        Some((_, value)) => value
            .parse()
            .map(Some)
            .map_err(|_| Refusal::bad_request(format!("{key} must be a count"))),
    }
}

fn route(sim: &Simulator, request: &HttpRequest) -> Result<Value, Refusal> {
    let segments = segments(request);
    let path: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = request.method;
    let get = |allowed: bool| {
        if allowed {
            Ok(())
        } else {
            Err(Refusal::method("GET"))
        }
    };
    let post = |allowed: bool| {
        if allowed {
            Ok(())
        } else {
            Err(Refusal::method("POST"))
        }
    };
    let is_get = method == Method::Get;
    let is_post = method == Method::Post;
    match path.as_slice() {
        ["world"] => {
            get(is_get)?;
            Ok(json!({
                "numbers": sim.numbers(),
                "served": sim.served_count(),
                "now": sim.now().as_unix_millis(),
                "wall_clock": sim.clock.follows_wall_clock(),
            }))
        }
        ["clock"] => {
            get(is_get)?;
            clock(sim)
        }
        ["clock", "advance"] => {
            post(is_post)?;
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Advance {
                ms: u64,
            }
            let Advance { ms } = body(request)?;
            sim.advance(Duration::from_millis(ms));
            clock(sim)
        }
        ["clock", "set"] => {
            post(is_post)?;
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Set {
                now: u64,
            }
            let Set { now } = body(request)?;
            sim.clock.set(Timestamp::from_unix_millis(now));
            clock(sim)
        }
        ["calls"] => {
            get(is_get)?;
            let summary = sim.call_summary();
            to_value(SummaryWire {
                numbers: summary.numbers,
                total: summary.total.into(),
                max: summary.max.into(),
            })
        }
        ["numbers"] if is_get => {
            let offset = query(request, "offset")?.unwrap_or(0);
            let limit = query(request, "limit")?.unwrap_or(MAX_BATCH).min(MAX_BATCH);
            let (total, sessions) = sim.listed_numbers(offset as usize, limit as usize);
            to_value(NumbersWire {
                total,
                numbers: sessions.iter().map(NumberWire::of).collect(),
            })
        }
        ["numbers"] => {
            post(is_post)?;
            add(sim, &body(request)?)
        }
        ["numbers", number, "calls"] => {
            get(is_get)?;
            let calls = sim.calls(&phone(number)?).ok_or_else(unknown_number)?;
            to_value(CallsWire::from(calls))
        }
        ["numbers", number, "code"] => {
            get(is_get)?;
            let phone = phone(number)?;
            if sim.calls(&phone).is_none() {
                return Err(unknown_number());
            }
            let inbox = sim.inbox(&phone);
            let last = inbox.last();
            to_value(CodeWire {
                code: last.map(|d| d.code.secret().to_owned()),
                method: last.map(|d| d.method),
                sent_at: last.map(|d| d.sent_at.as_unix_millis()),
                expires_at: last.map(|d| d.expires_at.as_unix_millis()),
                delivered: inbox.len(),
            })
        }
        ["numbers", number, "finish_signup"] => {
            post(is_post)?;
            let phone = phone(number)?;
            let wire: SignupOptionsWire = if request.body.iter().all(u8::is_ascii_whitespace) {
                SignupOptionsWire::default()
            } else {
                body(request)?
            };
            let signup = sim
                .finish_signup_with(&phone, &wire.options()?)
                .ok_or_else(unknown_number)?;
            to_value(SignupWire {
                code: signup.code.secret().to_owned(),
                waba_id: signup.waba_id.as_str().to_owned(),
                phone_number_id: signup.phone_number_id.as_str().to_owned(),
                business_id: signup.business_id.map(|b| b.as_str().to_owned()),
            })
        }
        ["intents", id] => {
            get(is_get)?;
            let intent = sim
                .migration_intent(&intent(id)?)
                .ok_or_else(unknown_intent)?;
            to_value(IntentWire::from(intent))
        }
        ["intents", id, "accept"] => {
            post(is_post)?;
            let destination = sim
                .accept_migration_intent(&intent(id)?)
                .ok_or_else(unknown_intent)?;
            Ok(json!({ "destination_waba": destination.as_str() }))
        }
        ["intents", id, "decline"] => {
            post(is_post)?;
            ok(sim.decline_migration_intent(&intent(id)?), unknown_intent)
        }
        ["numbers", number, action] => {
            let phone = phone(number)?;
            let act: fn(&Simulator, &PhoneNumber) -> bool = match *action {
                "disable_two_step" => Simulator::disable_two_step,
                "approve_display_name" => Simulator::approve_display_name,
                "fix_source_account" => Simulator::fix_source_account,
                "two_step_pin" => {
                    post(is_post)?;
                    #[derive(Deserialize)]
                    #[serde(deny_unknown_fields)]
                    struct TwoStep {
                        pin: Option<String>,
                    }
                    let TwoStep { pin } = body(request)?;
                    if pin
                        .as_deref()
                        .is_some_and(|p| p.len() != 6 || !p.bytes().all(|b| b.is_ascii_digit()))
                    {
                        return Err(Refusal::bad_request("pin must be 6 digits or null"));
                    }
                    return ok(sim.set_two_step_pin(&phone, pin.as_deref()), unknown_number);
                }
                _ => return Err(Refusal::not_found()),
            };
            post(is_post)?;
            ok(act(sim, &phone), unknown_number)
        }
        ["wabas", id, action] => {
            let waba = waba(id)?;
            let act: fn(&Simulator, &WabaId) -> bool = match *action {
                "approve_on_behalf" => Simulator::approve_on_behalf,
                "subscribe_webhooks" => Simulator::subscribe_webhooks,
                "add_payment_method" => Simulator::add_payment_method,
                "approve" => Simulator::approve_waba,
                "align_business" => {
                    post(is_post)?;
                    #[derive(Deserialize)]
                    #[serde(deny_unknown_fields)]
                    struct Align {
                        phone: String,
                    }
                    let Align { phone: number } = body(request)?;
                    let number = phone(&number)?;
                    if sim.calls(&number).is_none() {
                        return Err(unknown_number());
                    }
                    return ok(sim.align_business(&waba, &number), unknown_waba);
                }
                _ => return Err(Refusal::not_found()),
            };
            post(is_post)?;
            ok(act(sim, &waba), unknown_waba)
        }
        _ => Err(Refusal::not_found()),
    }
}

/// `POST /_sim/numbers`.
fn add(sim: &Simulator, wire: &AddWire) -> Result<Value, Refusal> {
    let base = Scenario::by_name(&wire.scenario).ok_or_else(|| {
        Refusal::bad_request(format!(
            "unknown scenario {:?} (one of {})",
            wire.scenario,
            SCENARIO_NAMES.join(", ")
        ))
    })?;
    if wire.count == 0 || wire.count > MAX_BATCH {
        return Err(Refusal::bad_request(format!(
            "count must be from 1 to {MAX_BATCH}"
        )));
    }
    if wire
        .index
        .checked_add(wire.count)
        .is_none_or(|end| end > Scenario::NUMBERED_LIMIT)
    {
        return Err(Refusal::bad_request(format!(
            "index + count must be at most {}",
            Scenario::NUMBERED_LIMIT
        )));
    }
    // Every scenario is checked before the first number is added.
    let scenarios = (0..wire.count)
        .map(|offset| wire.scenario(&base, offset))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Refusal::bad_request)?;
    let numbers = scenarios
        .iter()
        .map(|s| NumberWire::of(&sim.add_number(s)))
        .collect();
    to_value(NumbersWire {
        total: sim.numbers(),
        numbers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::Scenario;
    use url::Url;

    fn request(method: Method, path: &str, body: &str) -> HttpRequest {
        let url = Url::parse(&format!("http://127.0.0.1:1{path}")).unwrap();
        let mut request = HttpRequest::new(method, url);
        request.body = body.as_bytes().to_vec();
        request
    }

    fn call(sim: &Simulator, method: Method, path: &str, body: &str) -> (u16, Value) {
        let answer = answer(sim, &request(method, path, body));
        (answer.status, serde_json::from_slice(&answer.body).unwrap())
    }

    #[test]
    fn control_paths_are_told_apart_from_graph_paths() {
        assert!(is_control("/_sim/world") && is_control("/_sim"));
        assert!(!is_control("/_simulator") && !is_control("/v25.0/_sim"));
        assert_eq!(percent_decode("%2B1415%2b"), "+1415+");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn the_popup_and_the_intents_answer_through_the_control_api() {
        let sim = Scenario::solution_migration().build();
        let phone = "/_sim/numbers/+14155550123/finish_signup";
        let (status, signup) = call(&sim, Method::Post, phone, r#"{"verified":false}"#);
        assert_eq!(status, 200, "{signup}");
        assert!(signup["code"].as_str().is_some_and(|c| !c.is_empty()));
        assert_eq!(signup["waba_id"], "102290129340398");
        let (status, _) = call(&sim, Method::Post, phone, "");
        assert_eq!(status, 200);
        let unknown = "/_sim/numbers/+14155550199/finish_signup";
        assert_eq!(call(&sim, Method::Post, unknown, "").0, 404);
        assert_eq!(call(&sim, Method::Post, phone, r#"{"nope":1}"#).0, 400);

        let intent = sim
            .world()
            .set_intent(
                "102290129340398",
                &serde_json::from_str(r#"{"solution_id":"77"}"#).unwrap(),
                "t",
            )
            .body;
        let id: Value = serde_json::from_str(&intent).unwrap();
        let id = id["id"].as_str().unwrap().to_owned();
        let (status, read) = call(&sim, Method::Get, &format!("/_sim/intents/{id}"), "");
        assert_eq!((status, &read["status"]), (200, &json!("INITIATED")));
        let accept = format!("/_sim/intents/{id}/accept");
        let (status, accepted) = call(&sim, Method::Post, &accept, "");
        assert_eq!(status, 200, "{accepted}");
        assert!(accepted["destination_waba"].is_string());
        assert_eq!(call(&sim, Method::Post, &accept, "").0, 404);
        let decline = format!("/_sim/intents/{id}/decline");
        assert_eq!(call(&sim, Method::Post, &decline, "").0, 404);
        assert_eq!(call(&sim, Method::Get, "/_sim/intents/123", "").0, 404);
        assert_eq!(call(&sim, Method::Get, "/_sim/intents/x", "").0, 400);
    }

    #[test]
    fn numbers_are_added_listed_and_counted() {
        let sim = Scenario::happy_path().build();
        let (status, added) = call(
            &sim,
            Method::Post,
            "/_sim/numbers",
            r#"{"scenario":"two_step_enabled","index":3,"count":2,"waba":"102290129340398",
                "display_name_approved":false,"two_step_pin":null,
                "faults":[{"kind":"answer_lost","operation":"register"}]}"#,
        );
        assert_eq!(status, 200, "{added}");
        assert_eq!(added["total"], 3);
        let first = &added["numbers"][0];
        let expected = Scenario::happy_path().numbered(3);
        assert_eq!(first["phone"], expected.phone_number().e164());
        assert_eq!(first["waba"], "102290129340398");
        let (_, listed) = call(&sim, Method::Get, "/_sim/numbers?offset=1&limit=1", "");
        assert_eq!(listed["total"], 3);
        assert_eq!(listed["numbers"].as_array().unwrap().len(), 1);
        assert_eq!(listed["numbers"][0], *first);
        let path = format!("/_sim/numbers/{}/calls", first["phone"].as_str().unwrap());
        let (status, calls) = call(&sim, Method::Get, &path, "");
        assert_eq!((status, &calls["register"]), (200, &json!(0)));
        let (_, summary) = call(&sim, Method::Get, "/_sim/calls", "");
        assert_eq!(summary["numbers"], 3);
    }

    #[test]
    fn malformed_requests_are_refused_with_a_4xx() {
        let sim = Scenario::happy_path().build();
        for (method, path, body, status) in [
            (Method::Get, "/_sim", "", 404),
            (Method::Get, "/_sim/nope", "", 404),
            (Method::Post, "/_sim/world", "", 405),
            (Method::Get, "/_sim/clock/advance", "", 405),
            (Method::Post, "/_sim/clock/advance", "{", 400),
            (Method::Post, "/_sim/clock/advance", r#"{"ms":"x"}"#, 400),
            (
                Method::Post,
                "/_sim/clock/advance",
                r#"{"ms":1,"x":2}"#,
                400,
            ),
            (Method::Post, "/_sim/numbers", "[]", 400),
            (
                Method::Post,
                "/_sim/numbers",
                r#"{"scenario":"nope","index":0}"#,
                400,
            ),
            (
                Method::Post,
                "/_sim/numbers",
                r#"{"scenario":"happy_path","index":-1}"#,
                400,
            ),
            (
                Method::Post,
                "/_sim/numbers",
                r#"{"scenario":"happy_path","index":0,"count":0}"#,
                400,
            ),
            (
                Method::Post,
                "/_sim/numbers",
                r#"{"scenario":"happy_path","index":7989999,"count":2}"#,
                400,
            ),
            (
                Method::Post,
                "/_sim/numbers",
                r#"{"scenario":"happy_path","index":0,"waba":"x"}"#,
                400,
            ),
            (
                Method::Post,
                "/_sim/numbers",
                r#"{"scenario":"happy_path","index":0,"faults":[{"kind":"boom"}]}"#,
                400,
            ),
            (
                Method::Post,
                "/_sim/numbers",
                r#"{"scenario":"happy_path","index":0,"faults":[{"kind":"latency"}]}"#,
                400,
            ),
            (Method::Get, "/_sim/numbers?limit=x", "", 400),
            (Method::Get, "/_sim/numbers/not-a-phone/calls", "", 400),
            (Method::Get, "/_sim/numbers/+14155550199/calls", "", 404),
            (Method::Get, "/_sim/numbers/+14155550199/code", "", 404),
            (Method::Post, "/_sim/numbers/+14155550123/nope", "", 404),
            (
                Method::Get,
                "/_sim/numbers/+14155550123/disable_two_step",
                "",
                405,
            ),
            (
                Method::Post,
                "/_sim/numbers/+14155550123/two_step_pin",
                r#"{"pin":"12"}"#,
                400,
            ),
            (Method::Post, "/_sim/wabas/x/approve", "", 400),
            (Method::Post, "/_sim/wabas/999999999999999/approve", "", 404),
            (
                Method::Post,
                "/_sim/wabas/102290129340398/align_business",
                "{}",
                400,
            ),
        ] {
            let (got, answer) = call(&sim, method, path, body);
            assert_eq!(got, status, "{method} {path} {body}: {answer}");
            assert!(answer["error"]["code"].is_string(), "{answer}");
        }
        // Nothing was added by the refused requests.
        assert_eq!(sim.numbers(), 1);
        // A refusal names a field, never quotes a value.
        let path = "/_sim/numbers/+14155550123/two_step_pin";
        let (_, answer) = call(&sim, Method::Post, path, r#"{"pin":123456}"#);
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(!message.contains("123456"), "{message}");
        let (_, answer) = call(&sim, Method::Post, path, r#"{"pin":"1","x":1}"#);
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("unknown field `x`"), "{message}");
    }

    #[test]
    fn faults_round_trip_the_wire() {
        for fault in [
            Fault::MigrationError,
            Fault::SomethingWentWrong,
            Fault::ServiceUnavailable,
            Fault::BadGateway,
            Fault::AnswerLost,
            Fault::RateLimit {
                code: 80007,
                retry_after: Some(Duration::from_secs(3)),
            },
            Fault::Latency(Duration::from_millis(250)),
            Fault::Described(
                super::super::reference::DescribedError::AlreadyRegisteredOrInvalidState,
            ),
        ] {
            let wire = FaultWire::new(Some(Operation::Register), &fault, 2);
            let back: FaultWire =
                serde_json::from_value(serde_json::to_value(&wire).unwrap()).unwrap();
            assert_eq!(back.fault().unwrap(), fault);
            assert_eq!(back.times, 2);
        }
    }
}
