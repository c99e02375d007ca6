//! The simulator behind a hooked wire: for the n-th request of an operation
//! the test decides whether Meta sees it, what the client is answered and
//! whether the answer is late or lost; with the clients, answers, stores
//! and sleeps the reconcile, wait and crash tests build on it.
#![allow(dead_code)] // each test file uses a different subset

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use waba_porting::simulator::{SimClock, Simulator};
use waba_porting::transport::{Headers, HttpRequest, HttpResponse, Transport, TransportError};
use waba_porting::{
    async_trait, ApiErrorKind, Checkpoint, CodeMethod, Language, Operation, PortingClient,
    PortingSession, RetryPolicy, Sleep, StateName, StepOutcome, TransportErrorKind,
};

use super::wire::operation_of;

/// The longest wait an answer can impose (the crate's cap), and the register
/// budget's window.
pub const WINDOW_72H: Duration = Duration::from_secs(72 * 3600);
pub const HOUR: Duration = Duration::from_secs(3600);

/// What the hooked transport does with the `n`-th request (1-based) of an
/// operation.
pub enum Action {
    /// Forward to the simulator, return its answer.
    Pass,
    /// Do not forward (Meta never saw it); answer this instead.
    Replace(HttpResponse),
    /// Forward (Meta acted), then answer this instead of Meta's answer.
    ApplyThen(HttpResponse),
    /// Forward, then rewrite Meta's answer.
    Rewrite(fn(HttpResponse) -> HttpResponse),
    /// Do not forward; fail in the transport with this kind.
    Fail(TransportErrorKind),
    /// Forward (Meta acted), then fail in the transport with this kind.
    ApplyThenFail(TransportErrorKind),
    /// Forward (Meta acted); the answer comes this much later (simulated
    /// time) and is replaced by this one.
    ApplyLateThen(Duration, HttpResponse),
}

type Hook = dyn Fn(Operation, usize) -> Action + Send + Sync;

/// The simulator behind a wire that an attacker (or an odd proxy) controls.
/// Logs every request the client sent, whether or not Meta saw it.
pub struct Hooked {
    sim: Simulator,
    hook: Box<Hook>,
    sent: Mutex<Vec<Operation>>,
}

impl std::fmt::Debug for Hooked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hooked")
    }
}

impl Hooked {
    pub fn new(
        sim: &Simulator,
        hook: impl Fn(Operation, usize) -> Action + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            sim: sim.clone(),
            hook: Box::new(hook),
            sent: Mutex::new(Vec::new()),
        })
    }

    /// Requests of `operation` the client handed to the wire.
    pub fn sent(&self, operation: Operation) -> usize {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|op| **op == operation)
            .count()
    }

    /// Requests of any operation the client handed to the wire.
    pub fn total(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
}

#[async_trait]
impl Transport for Hooked {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let operation = operation_of(&request);
        let n = {
            let mut sent = self.sent.lock().unwrap();
            sent.push(operation);
            sent.iter().filter(|op| **op == operation).count()
        };
        match (self.hook)(operation, n) {
            Action::Pass => self.sim.send(request).await,
            Action::Replace(response) => Ok(response),
            Action::ApplyThen(response) => {
                let _ = self.sim.send(request).await;
                Ok(response)
            }
            Action::Rewrite(rewrite) => self.sim.send(request).await.map(rewrite),
            Action::Fail(kind) => Err(TransportError::from_kind(kind)),
            Action::ApplyThenFail(kind) => {
                let _ = self.sim.send(request).await;
                Err(TransportError::from_kind(kind))
            }
            Action::ApplyLateThen(delay, response) => {
                let _ = self.sim.send(request).await;
                self.sim.advance(delay);
                Ok(response)
            }
        }
    }
}

// ---------------------------------------------------------------- rewrite

type RequestRule = dyn Fn(&HttpRequest) -> Option<HttpResponse> + Send + Sync;

/// The simulator, except where `rule` answers instead (the simulator never
/// sees those requests).
#[derive(Clone)]
pub struct Rewrite {
    pub sim: Simulator,
    pub rule: Arc<RequestRule>,
}

impl std::fmt::Debug for Rewrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rewrite")
    }
}

#[async_trait]
impl Transport for Rewrite {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if let Some(answer) = (self.rule)(&request) {
            return Ok(answer);
        }
        self.sim.send(request).await
    }
}

// ---------------------------------------------------------------- answers

pub fn json_response(status: u16, body: Value) -> HttpResponse {
    let mut headers = Headers::new();
    headers.push("content-type", "application/json");
    HttpResponse::new(status, headers, body.to_string().into_bytes())
}

/// A Graph error envelope around `error`, with `status`.
pub fn error_answer(status: u16, error: Value) -> HttpResponse {
    json_response(status, json!({ "error": error }))
}

/// An answer with `status` and `body` and no header at all.
pub fn raw_answer(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(status, Headers::new(), body)
}

/// The same with a `Retry-After` header.
pub fn raw_answer_with_retry_after(status: u16, body: &str, retry_after: &str) -> HttpResponse {
    let mut headers = Headers::new();
    headers.push("Retry-After", retry_after);
    HttpResponse::new(status, headers, body)
}

/// HTTP 503, Graph code 2 "Service temporarily unavailable": Meta may or may
/// not have acted (the outcome is unknown).
pub fn unavailable() -> HttpResponse {
    error_answer(
        503,
        json!({"message": "(#2) Service temporarily unavailable", "code": 2,
               "fbtrace_id": "AUnavailable"}),
    )
}

pub fn unavailable_retry_after(seconds: u64) -> HttpResponse {
    super::wire::with_retry_after(unavailable(), seconds)
}

/// Rewrites every object of a JSON body (the read, or each entry of a list's
/// `data`) with `change`.
pub fn rewrite_records(
    response: HttpResponse,
    change: fn(&mut serde_json::Map<String, Value>),
) -> HttpResponse {
    let Ok(mut value) = serde_json::from_slice::<Value>(&response.body) else {
        return response;
    };
    if let Some(data) = value.get_mut("data").and_then(Value::as_array_mut) {
        for record in data.iter_mut().filter_map(Value::as_object_mut) {
            change(record);
        }
    } else if let Some(record) = value.as_object_mut() {
        change(record);
    }
    HttpResponse::new(
        response.status,
        response.headers,
        value.to_string().into_bytes(),
    )
}

/// A read (or list) whose records say the code verification expired.
pub fn expire_verification(response: HttpResponse) -> HttpResponse {
    rewrite_records(response, |r| {
        r.insert("code_verification_status".into(), "EXPIRED".into());
    })
}

/// Drops `status` and `code_verification_status` from a read's (or a
/// list's) records: Graph leaves out fields it does not return for the
/// object or the token.
pub fn strip_status_fields(response: HttpResponse) -> HttpResponse {
    rewrite_records(response, |r| {
        r.remove("status");
        r.remove("code_verification_status");
    })
}

// ---------------------------------------------------------------- clients

/// A client over `transport` on the simulator's clock, one attempt per call.
pub fn client_over(sim: &Simulator, transport: Arc<Hooked>) -> PortingClient {
    sim.client_builder()
        .transport(transport)
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// The same, saving every checkpoint to `store`.
pub fn client_over_saving(
    sim: &Simulator,
    transport: Arc<Hooked>,
    store: Arc<JsonCheckpoint>,
) -> PortingClient {
    sim.client_builder()
        .transport(transport)
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
        .checkpoint(store)
        .build()
        .unwrap()
}

/// A simulator client (no hooks) that sends each step once.
pub fn plain_client(sim: &Simulator) -> PortingClient {
    sim.client_builder()
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// A client over `wire` with `policy` and a sleep that records its waits and
/// advances the simulated clock by them.
pub fn policy_client_over(
    sim: &Simulator,
    wire: Arc<Hooked>,
    policy: RetryPolicy,
) -> (PortingClient, FakeSleep) {
    let sleep = FakeSleep::advancing(sim.clock());
    let client = sim
        .client_builder()
        .transport(wire)
        .timeout(Duration::from_secs(5))
        .retry_policy(policy)
        .sleep(sleep.clone())
        .build()
        .unwrap();
    (client, sleep)
}

/// Requests of `operation` the simulator (Meta) served.
pub fn count(sim: &Simulator, operation: Operation) -> usize {
    sim.served()
        .iter()
        .filter(|r| r.operation == Some(operation))
        .count()
}

/// Starts the migration, requests a code and verifies the one delivered.
pub async fn to_code_verified(
    sim: &Simulator,
    client: &PortingClient,
    session: &mut PortingSession,
) {
    super::to_code_requested(client, session).await;
    let code = sim.latest_code(session.phone_number()).unwrap();
    client.verify_code(session, &code).await.unwrap();
}

/// Requests a code by SMS in the default language.
pub async fn request_code(client: &PortingClient, session: &mut PortingSession) -> StateName {
    client
        .request_code(session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap()
}

/// Requests a code, then verifies the one delivered.
pub async fn request_and_verify(
    sim: &Simulator,
    client: &PortingClient,
    session: &mut PortingSession,
) {
    request_code(client, session).await;
    let code = sim.latest_code(session.phone_number()).expect("delivered");
    client.verify_code(session, &code).await.unwrap();
}

/// The simulator's served requests as (operation, status).
pub fn served(sim: &Simulator) -> Vec<(Option<Operation>, Option<u16>)> {
    sim.served()
        .iter()
        .map(|r| (r.operation, r.status))
        .collect()
}

/// Every `Failed` outcome in the session's history, as (operation, kind).
pub fn failures(session: &PortingSession) -> Vec<(Operation, ApiErrorKind)> {
    session
        .history()
        .iter()
        .filter_map(|t| match &t.outcome {
            StepOutcome::Failed {
                operation, kind, ..
            } => Some((*operation, *kind)),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------- stores, sleeps

/// Durable storage of the last saved session (JSON, as a user would keep it).
#[derive(Debug, Default)]
pub struct JsonCheckpoint(Mutex<Option<String>>);

#[async_trait]
impl Checkpoint for JsonCheckpoint {
    async fn save(
        &self,
        session: &PortingSession,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        *self.0.lock().map_err(|_| "poisoned")? = Some(serde_json::to_string(session)?);
        Ok(())
    }
}

impl JsonCheckpoint {
    pub fn json(&self) -> String {
        self.0.lock().unwrap().clone().expect("something was saved")
    }
}

/// Records every wait, and advances the simulated clock by it (or not:
/// `frozen`). Nothing really sleeps.
#[derive(Clone, Debug, Default)]
pub struct FakeSleep {
    waits: Arc<Mutex<Vec<Duration>>>,
    clock: Option<SimClock>,
}

impl FakeSleep {
    pub fn advancing(clock: SimClock) -> Self {
        Self {
            waits: Arc::default(),
            clock: Some(clock),
        }
    }

    pub fn frozen() -> Self {
        Self::default()
    }

    pub fn waits(&self) -> Vec<Duration> {
        self.waits.lock().unwrap().clone()
    }
}

#[async_trait]
impl Sleep for FakeSleep {
    async fn sleep(&self, duration: Duration) {
        self.waits.lock().unwrap().push(duration);
        if let Some(clock) = &self.clock {
            clock.advance(duration);
        }
    }
}
