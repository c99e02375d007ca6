//! A third hostile review of issue 6: the claims of the README "Reliability"
//! section and of the new public items' rustdoc, the blind spots of the
//! crash matrix (tests/crash_resume.rs), and the fixes of the first two
//! rounds (tests/hostile_review.rs, tests/hostile_review_2.rs).
//!
//! The first part holds one failing test per defect found, named after it;
//! each asserts what the issue, the reference or the crate's own docs
//! promise. The second part is an extended crash matrix — every request
//! (reads included) and every checkpoint save as a crash point, one crash and
//! two crashes in a row, and a port that waits for two-step verification to
//! be disabled while a step is in flight — and passes.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use waba_porting::simulator::{Scenario, SimClock, Simulator};
use waba_porting::transport::{Headers, HttpRequest, HttpResponse, Method};
use waba_porting::{
    ApiErrorKind, Checkpoint, CodeMethod, Error, Language, NextAction, Operation, Pin,
    PortingClient, PortingSession, RetryPolicy, Sleep, StateName, StepOutcome, Transport,
    TransportError, TransportErrorKind,
};

// ---- helpers (after tests/hostile_review*.rs and tests/retry_policy.rs) -------

fn pin() -> Pin {
    Pin::new("482913").unwrap()
}

fn operation_of(request: &HttpRequest) -> Operation {
    let path = request.url.path();
    match request.method {
        Method::Post if path.ends_with("/phone_numbers") => Operation::StartMigration,
        Method::Post if path.ends_with("/request_code") => Operation::RequestCode,
        Method::Post if path.ends_with("/verify_code") => Operation::VerifyCode,
        Method::Post if path.ends_with("/register") => Operation::Register,
        Method::Get if path.ends_with("/phone_numbers") => Operation::ListPhoneNumbers,
        _ => Operation::ReadPhoneNumber,
    }
}

#[allow(dead_code)]
enum Action {
    /// Forward to the simulator, return its answer.
    Pass,
    /// Do not forward (Meta never saw it); answer this instead.
    Replace(HttpResponse),
    /// Forward, then rewrite Meta's answer.
    Rewrite(fn(HttpResponse) -> HttpResponse),
    /// Forward (Meta acted), then fail in the transport with this kind.
    ApplyThenFail(TransportErrorKind),
    /// Forward (Meta acted); the answer comes this much later (simulated
    /// time) and is replaced by this one.
    ApplyLateThen(Duration, HttpResponse),
}

type Hook = dyn Fn(Operation, usize) -> Action + Send + Sync;

/// The simulator behind a wire the test controls; logs what the client sent.
struct Hooked {
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
    fn new(
        sim: &Simulator,
        hook: impl Fn(Operation, usize) -> Action + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            sim: sim.clone(),
            hook: Box::new(hook),
            sent: Mutex::new(Vec::new()),
        })
    }

    fn sent(&self, operation: Operation) -> usize {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|op| **op == operation)
            .count()
    }

    fn total(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
}

#[waba_porting::async_trait]
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
            Action::Rewrite(rewrite) => self.sim.send(request).await.map(rewrite),
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

fn json_response(status: u16, body: Value) -> HttpResponse {
    let mut headers = Headers::new();
    headers.push("content-type", "application/json");
    HttpResponse::new(status, headers, body.to_string().into_bytes())
}

fn graph_error(status: u16, error: Value) -> HttpResponse {
    json_response(status, json!({ "error": error }))
}

/// HTTP 503, Graph code 2: the outcome is unknown.
fn unavailable() -> HttpResponse {
    graph_error(
        503,
        json!({"message": "(#2) Service temporarily unavailable", "code": 2,
               "fbtrace_id": "AHostile3"}),
    )
}

fn with_retry_after(mut response: HttpResponse, seconds: u64) -> HttpResponse {
    response.headers.push("retry-after", seconds.to_string());
    response
}

/// Records every wait and advances the simulated clock by it.
#[derive(Clone, Debug)]
struct FakeSleep {
    waits: Arc<Mutex<Vec<Duration>>>,
    clock: SimClock,
}

impl FakeSleep {
    fn advancing(clock: SimClock) -> Self {
        Self {
            waits: Arc::default(),
            clock,
        }
    }

    fn waits(&self) -> Vec<Duration> {
        self.waits.lock().unwrap().clone()
    }
}

#[waba_porting::async_trait]
impl Sleep for FakeSleep {
    async fn sleep(&self, duration: Duration) {
        self.waits.lock().unwrap().push(duration);
        self.clock.advance(duration);
    }
}

/// A client over `wire` with `policy` and a recording sleep.
fn policy_client(
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

fn client_over(sim: &Simulator, wire: Arc<Hooked>) -> PortingClient {
    sim.client_builder()
        .transport(wire)
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

fn plain_client(sim: &Simulator) -> PortingClient {
    sim.client_builder()
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

fn count(sim: &Simulator, operation: Operation) -> usize {
    sim.served()
        .iter()
        .filter(|r| r.operation == Some(operation))
        .count()
}

async fn to_code_verified(sim: &Simulator, client: &PortingClient, session: &mut PortingSession) {
    client.start_migration(session).await.unwrap();
    client
        .request_code(session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let code = sim.latest_code(session.phone_number()).unwrap();
    client.verify_code(session, &code).await.unwrap();
}

const HOUR: Duration = Duration::from_secs(3600);
const WINDOW_72H: Duration = Duration::from_secs(72 * 3600);

// =============================================================================
// Part 1: defects (each test fails against the reviewed code)
// =============================================================================

// ---- 1. a rate limit marked is_transient is taken as an unknown outcome -------

/// Graph marks its throttling errors `is_transient: true` (the classic body of
/// code 4 "Application request limit reached"). Round 1 made *any* error with
/// `is_transient: true` an unknown delivery, even a classified refusal. So a
/// rate-limited `request_code` — which Meta refused, texting nobody — keeps
/// its in-flight marker; the retry policy's next attempt "reconciles" it as
/// `CodeRequested { unconfirmed }` and `request_code` returns
/// `Ok(CodeRequested)` without ever sending the request. The customer waits
/// for a code that was never sent, and the session tells the operator to ask
/// the customer for it.
#[tokio::test]
async fn rate_limit_marked_is_transient_at_request_code_returns_ok_without_texting_the_customer() {
    let sim = Scenario::happy_path().build();
    let mut session = sim.session();
    plain_client(&sim)
        .start_migration(&mut session)
        .await
        .unwrap();
    let wire = Hooked::new(&sim, |op, n| match (op, n) {
        (Operation::RequestCode, 1) => Action::Replace(graph_error(
            429,
            json!({"message": "(#4) Application request limit reached", "type": "OAuthException",
                   "is_transient": true, "code": 4, "fbtrace_id": "AHostile3a"}),
        )),
        _ => Action::Pass,
    });
    let (client, _sleep) = policy_client(&sim, wire.clone(), RetryPolicy::default());

    let state = client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await;
    assert!(
        count(&sim, Operation::RequestCode) == 1 && !session.code_request_unconfirmed(),
        "request_code returned {state:?} after a rate limit (Meta refused, nothing was texted), \
         but no code request ever reached Meta ({} served, {} handed to the wire) and the \
         session says a code may be on its way (unconfirmed: {})",
        count(&sim, Operation::RequestCode),
        wire.sent(Operation::RequestCode),
        session.code_request_unconfirmed()
    );
}

// ---- 2. a stale not_before turns the backoff off ------------------------------

/// register answered 503 with `Retry-After: 1`; the policy waits the second.
/// Then every reconciling read fails with a 503 without `Retry-After`. Round
/// 2's fix keeps the step's (now past) `not_before` on a failed read, and the
/// policy takes "a `not_before` is set" as "the answer said how long": it
/// retries at once, again and again — zero waits during an outage, where the
/// `RetryPolicy` docs promise full-jitter backoff unless an answer said how
/// long to wait.
#[tokio::test]
async fn failed_reconciling_read_after_an_expired_wait_retries_with_zero_backoff() {
    let sim = Scenario::happy_path().build();
    let mut session = sim.session();
    to_code_verified(&sim, &plain_client(&sim), &mut session).await;
    let wire = Hooked::new(&sim, |op, n| match (op, n) {
        (Operation::Register, 1) => Action::Replace(with_retry_after(unavailable(), 1)),
        (Operation::ReadPhoneNumber, _) => Action::Replace(unavailable()),
        _ => Action::Pass,
    });
    let policy = RetryPolicy::default();
    let (client, sleep) = policy_client(&sim, wire.clone(), policy.clone());

    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    let waits = sleep.waits();
    assert_eq!(waits.len(), 3, "{waits:?}");
    assert_eq!(
        waits[0],
        Duration::from_secs(1),
        "the Retry-After is honoured"
    );
    assert!(
        waits[1..].iter().all(|w| !w.is_zero()),
        "after the failed reads (no Retry-After) the policy must back off with jitter \
         (bounds {:?}, {:?}), not retry at once: waits {waits:?}",
        policy.backoff_bound(2),
        policy.backoff_bound(3)
    );
}

// ---- 3. 133016 with a Retry-After header --------------------------------------

/// README: "133016 sets `not_before` 72 hours ahead". The wait is taken from
/// the `Retry-After` header first, the documented 72 hours only without one:
/// a 133016 carrying `Retry-After: 30` (a gateway's default, say) sets a
/// 30-second wait, and the default retry policy re-sends `register` three
/// more times during the 72-hour block — "each attempt may extend it", as
/// the crate's own remediation says.
#[tokio::test]
async fn register_limit_133016_with_a_retry_after_header_is_retried_during_the_72_hour_block() {
    let sim = Scenario::happy_path().build();
    let mut session = sim.session();
    to_code_verified(&sim, &plain_client(&sim), &mut session).await;
    let wire = Hooked::new(&sim, |op, _| match op {
        Operation::Register => Action::Replace(with_retry_after(
            graph_error(
                400,
                json!({"message": "(#133016) Account register deregister rate limit exceeded",
                       "code": 133016, "fbtrace_id": "AHostile3c"}),
            ),
            30,
        )),
        _ => Action::Pass,
    });
    let (client, _sleep) = policy_client(&sim, wire.clone(), RetryPolicy::default());
    let now = sim.now();

    let err = client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::RegisterLimitReached));
    let wait = session
        .not_before()
        .map(|until| until.saturating_since(now));
    assert!(
        wire.sent(Operation::Register) == 1 && wait.is_some_and(|w| w >= WINDOW_72H - HOUR),
        "133016 must block register for 72 hours: {} register calls were sent during the \
         block and not_before is {wait:?} ahead",
        wire.sent(Operation::Register)
    );
}

// ---- 4. the 133005 ruling depends on whether reconcile() was called ----------

/// Rewrites a read as a number whose register has not shown up yet (Meta's
/// status lags the register it just applied).
fn lagging_status(response: HttpResponse) -> HttpResponse {
    let Ok(mut value) = serde_json::from_slice::<Value>(&response.body) else {
        return response;
    };
    if let Some(map) = value.as_object_mut() {
        map.insert("status".into(), "PENDING".into());
        // A lagging read says "not registered" in both fields (a
        // `platform_type` of CLOUD_API would say the register went through).
        if map.contains_key("platform_type") {
            map.insert("platform_type".into(), "NOT_APPLICABLE".into());
        }
    }
    HttpResponse::new(
        response.status,
        response.headers,
        value.to_string().into_bytes(),
    )
}

/// Our register went through (it set our PIN) but its answer was lost; the
/// reconciling read still says PENDING. A register with another PIN then
/// meets 133005. Returns how that 133005 is classified, calling
/// `client.reconcile()` first (as the README's resume example and
/// `NextAction::Reconcile` say) or not.
async fn pin_mismatch_after_a_lost_register(
    explicit_reconcile: bool,
) -> (Option<ApiErrorKind>, StateName) {
    let sim = Scenario::happy_path().build();
    let mut session = sim.session();
    to_code_verified(&sim, &plain_client(&sim), &mut session).await;
    let wire = Hooked::new(&sim, |op, n| match (op, n) {
        (Operation::Register, 1) => Action::ApplyThenFail(TransportErrorKind::Other),
        (Operation::ReadPhoneNumber, 1) => Action::Rewrite(lagging_status),
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire);
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert_eq!(
        session.in_flight().map(|f| f.operation),
        Some(Operation::Register)
    );
    if explicit_reconcile {
        assert_eq!(
            client.reconcile(&mut session).await.unwrap(),
            StateName::CodeVerified
        );
    }
    let other = Pin::new("777777").unwrap();
    let err = client
        .register(&mut session, &other, None)
        .await
        .unwrap_err();
    assert_eq!(err.api().and_then(|e| e.code()), Some(133005));
    (err.api_kind(), session.state().name())
}

/// The ruling (issue 6 defect 2): 133005 at register after a register of
/// ours whose outcome was unknown is `PinIncorrect`, never `TwoStepEnabled`
/// (which blames the previous provider). The fix keys it on the transient
/// in-flight marker, which `reconcile()` clears: a driver that follows the
/// README (`client.reconcile(&mut session)` on resume, or
/// `NextAction::Reconcile`) gets `TwoStepEnabled` and a session waiting for
/// the previous provider to disable a PIN that is our own — the very defect
/// 2, back. Without the explicit reconcile the same facts give
/// `PinIncorrect`.
#[tokio::test]
async fn explicit_reconcile_before_register_loses_the_pin_incorrect_ruling() {
    let implicit = pin_mismatch_after_a_lost_register(false).await;
    let explicit = pin_mismatch_after_a_lost_register(true).await;
    assert_eq!(
        implicit.0,
        Some(ApiErrorKind::PinIncorrect),
        "control: the step's own reconcile"
    );
    assert_eq!(
        explicit, implicit,
        "the same facts after client.reconcile(): 133005 classified {:?}, session {:?}",
        explicit.0, explicit.1
    );
}

// ---- 5. a new code during a two-step wait erases the wait ----------------------

/// Issue 6 defect 1's own scenario: register met 133005 (two-step
/// verification still on) and the session waits for the previous provider.
/// During the days-long wait the operator requests a new code (legal: the
/// verification may have expired) and verifies it. Nothing said two-step
/// verification was disabled, yet the session now says `Register`, actor Us:
/// the waiting state was replaced by the code steps' states, and a driver
/// following `next_action()` spends one of 10 register calls per 72 h on a
/// number whose 2SV is still on (and the person who must act is never told).
#[tokio::test]
async fn request_code_during_a_two_step_wait_forgets_that_two_step_must_be_disabled() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;
    sim.set_two_step_pin(session.phone_number(), Some("111111"));
    let err = client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::TwoStepEnabled));
    let waiting = session.next_action().action;
    assert_eq!(
        waiting,
        NextAction::DisableTwoStepVerification {
            then: Operation::Register
        }
    );

    sim.advance(3 * 24 * HOUR);
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let code = sim.latest_code(session.phone_number()).unwrap();
    client.verify_code(&mut session, &code).await.unwrap();

    let next = session.next_action();
    let registers = count(&sim, Operation::Register);
    let followed = client.register(&mut session, &pin(), None).await;
    assert!(
        next.action == waiting,
        "two-step verification was never reported disabled, but next_action says {:?} \
         (actor {:?}); following it sent register #{} and got {:?}",
        next.action,
        next.actor,
        registers + 1,
        followed.as_ref().err().and_then(Error::api_kind)
    );
}

// ---- 6. max_attempts is documented as requests --------------------------------

/// `RetryPolicy::with_max_attempts` promised "at most this many requests
/// per step call" while an attempt can be two requests (the reconciling
/// read, then the step). The docs now say attempts; this pins what they
/// promise: at most `max_attempts` step requests, each preceded by at most
/// one read.
#[tokio::test]
async fn max_attempts_bounds_the_step_requests_and_each_attempt_adds_at_most_one_read() {
    let sim = Scenario::happy_path().build();
    let mut session = sim.session();
    to_code_verified(&sim, &plain_client(&sim), &mut session).await;
    let wire = Hooked::new(&sim, |op, _| match op {
        Operation::Register => Action::Replace(unavailable()),
        _ => Action::Pass,
    });
    let policy = RetryPolicy::default().with_max_attempts(2);
    let (client, _sleep) = policy_client(&sim, wire.clone(), policy.clone());
    let before = wire.total();
    let registers_before = session.counters().register_requests;
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    let sent = wire.total() - before;
    let registers = (session.counters().register_requests - registers_before) as usize;
    let attempts = policy.max_attempts() as usize;
    assert_eq!(registers, attempts, "one register per attempt");
    assert!(
        sent <= 2 * attempts,
        "{sent} requests for {attempts} attempts"
    );
}

// ---- 7. "nothing was sent" errors after a reconciling read --------------------

/// `IllegalTransition`: "nothing was sent". With a marker set, an illegal
/// step used to read the number first (and move and save the session), then
/// return `IllegalTransition`. Now a step no reconcile could make legal is
/// refused before any read.
#[tokio::test]
async fn illegal_transition_with_a_marker_set_sends_nothing() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let code = sim.latest_code(session.phone_number()).unwrap();
    client.verify_code(&mut session, &code).await.unwrap();
    sim.inject_at(
        Operation::Register,
        waba_porting::simulator::Fault::AnswerLost,
        1,
    );
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    let before = sim.served().len();

    let result = client.verify_code(&mut session, &code).await;
    assert!(
        matches!(result, Err(Error::IllegalTransition(_))),
        "{result:?}"
    );
    assert_eq!(
        sim.served().len(),
        before,
        "IllegalTransition is documented as \"nothing was sent\"; a read was sent and the \
         session moved to {:?}",
        session.state().name()
    );
}

// ---- 8. a reconciled code request is recorded in the past --------------------

/// `Transition::at`: "When the outcome was recorded"; `history()`: "oldest
/// first". Round 2 dated the reconciled code request at the time the request
/// was sent — in the state (right) and in the history entry too: a
/// request_code answered by a 503 after 30 s records `Failed` at t+30 s, then
/// the reconcile appends `CodeRequested` at t. The history support is asked
/// to read goes backwards in time, and the entry's `at` is not when it was
/// recorded.
#[tokio::test]
async fn reconciled_code_request_is_recorded_in_history_before_the_failure_it_follows() {
    let sim = Scenario::happy_path().build();
    let mut session = sim.session();
    plain_client(&sim)
        .start_migration(&mut session)
        .await
        .unwrap();
    let wire = Hooked::new(&sim, |op, n| match (op, n) {
        (Operation::RequestCode, 1) => {
            Action::ApplyLateThen(Duration::from_secs(30), unavailable())
        }
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire);
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap_err();
    sim.advance(HOUR);
    let recorded = sim.now();
    client.reconcile(&mut session).await.unwrap();
    assert!(session.code_request_unconfirmed());

    let times: Vec<u64> = session
        .history()
        .iter()
        .map(|t| t.at.as_unix_millis())
        .collect();
    let last = session.history().last().unwrap();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]) && last.at == recorded,
        "history times {times:?} (oldest first?); the reconcile was recorded at {} but its \
         entry says {}",
        recorded.as_unix_millis(),
        last.at.as_unix_millis()
    );
}

// =============================================================================
// Part 2: the extended crash matrix (passes)
// =============================================================================

/// Where a process dies at a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Point {
    /// The request never leaves.
    BeforeSend,
    /// Meta applies it; the answer is lost.
    AnswerLost,
    /// The answer arrives; the process dies before anything else is saved.
    AfterAnswer,
}

/// Where a process dies at a checkpoint save.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SavePoint {
    /// The save never became durable.
    BeforeStored,
    /// The save is durable; the process dies right after it.
    AfterStored,
}

/// Which request or save of a process kills it.
#[derive(Clone, Copy, Debug)]
enum Crash {
    /// The `n`-th request of the process (1-based, reads and lists included).
    Request(usize, Point),
    /// The `n`-th request of `operation` in the process.
    RequestOf(Operation, usize, Point),
    /// The `n`-th checkpoint save of the process.
    Save(usize, SavePoint),
    /// The first save of a session that `matches`.
    SaveWhere(fn(&PortingSession) -> bool, SavePoint),
}

/// Durable storage shared by every life of the port.
#[derive(Debug, Default)]
struct Disk(Mutex<Option<String>>);

impl Disk {
    fn load(&self) -> Option<PortingSession> {
        let json = self.0.lock().unwrap().clone()?;
        Some(serde_json::from_str(&json).expect("every saved session loads"))
    }
}

/// One process: its wire to the simulator and its checkpoint, until it dies.
#[derive(Debug)]
struct Process {
    sim: Simulator,
    disk: Arc<Disk>,
    crash: Option<Crash>,
    dead: AtomicBool,
    requests: AtomicUsize,
    per_operation: Mutex<Vec<Operation>>,
    saves: AtomicUsize,
    truth: Arc<Truth>,
}

/// What Meta really answered to every request it saw (lost answers included),
/// in order, over every life of the port.
#[derive(Debug, Default)]
struct Truth(Mutex<Vec<(Operation, u16)>>);

impl Process {
    fn new(
        sim: &Simulator,
        disk: &Arc<Disk>,
        truth: &Arc<Truth>,
        crash: Option<Crash>,
    ) -> Arc<Self> {
        Arc::new(Self {
            sim: sim.clone(),
            disk: disk.clone(),
            truth: truth.clone(),
            crash,
            dead: AtomicBool::new(false),
            requests: AtomicUsize::new(0),
            per_operation: Mutex::new(Vec::new()),
            saves: AtomicUsize::new(0),
        })
    }

    fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    fn die(&self) {
        self.dead.store(true, Ordering::SeqCst);
    }

    fn client(self: &Arc<Self>) -> PortingClient {
        self.sim
            .client_builder()
            .transport(self.clone())
            .checkpoint(self.clone())
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    }
}

#[waba_porting::async_trait]
impl Transport for Process {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if self.is_dead() {
            return Err(TransportError::from_kind(TransportErrorKind::Connect));
        }
        let operation = operation_of(&request);
        let index = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        let nth = {
            let mut ops = self.per_operation.lock().unwrap();
            ops.push(operation);
            ops.iter().filter(|op| **op == operation).count()
        };
        let point = match self.crash {
            Some(Crash::Request(n, point)) if n == index => Some(point),
            Some(Crash::RequestOf(op, n, point)) if op == operation && n == nth => Some(point),
            _ => None,
        };
        if point == Some(Point::BeforeSend) {
            self.die();
            return Err(TransportError::from_kind(TransportErrorKind::Connect));
        }
        let answer = self.sim.send(request).await;
        if let Ok(response) = &answer {
            self.truth
                .0
                .lock()
                .unwrap()
                .push((operation, response.status));
        }
        match point {
            Some(Point::AnswerLost) => {
                self.die();
                Err(TransportError::from_kind(TransportErrorKind::Other))
            }
            Some(Point::AfterAnswer) => {
                self.die();
                answer
            }
            _ => answer,
        }
    }
}

#[waba_porting::async_trait]
impl Checkpoint for Process {
    async fn save(
        &self,
        session: &PortingSession,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if self.is_dead() {
            return Ok(()); // a dead process saves nothing
        }
        let index = self.saves.fetch_add(1, Ordering::SeqCst) + 1;
        let point = match self.crash {
            Some(Crash::Save(n, point)) if n == index => Some(point),
            Some(Crash::SaveWhere(matches, point)) if matches(session) => Some(point),
            _ => None,
        };
        if point != Some(SavePoint::BeforeStored) {
            *self.disk.0.lock().unwrap() = Some(serde_json::to_string(session)?);
        }
        if point.is_some() {
            self.die();
        }
        Ok(())
    }
}

/// The port's scenario for the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// No obstacle.
    Happy,
    /// Two-step verification is turned on just before the first register:
    /// register meets 133005, the session waits, the previous provider
    /// disables it, register is sent again from the waiting state.
    TwoStepWait,
}

/// How the operator's driver behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Driver {
    flow: Flow,
    /// On `NextAction::Reconcile { step }`, call the step itself (the client
    /// reconciles inside the step call, then may send) instead of
    /// `client.reconcile()`.
    via_step: bool,
}

const DRIVERS: [Driver; 2] = [
    Driver {
        flow: Flow::Happy,
        via_step: false,
    },
    Driver {
        flow: Flow::Happy,
        via_step: true,
    },
];

/// Follows `next_action` like an operator until the port is finished or the
/// process died. Returns the API errors met (a two-step wait produces some).
async fn drive(
    sim: &Simulator,
    process: &Arc<Process>,
    session: &mut PortingSession,
    driver: Driver,
    armed: &AtomicBool,
) -> Vec<String> {
    let client = process.client();
    let sms = Language::default();
    let mut errors = Vec::new();
    for _ in 0..30 {
        if process.is_dead() || session.is_finished() {
            return errors;
        }
        let mut action = session.next_action().action;
        if let NextAction::Reconcile { step } = action {
            if driver.via_step {
                action = match step {
                    Operation::RequestCode => NextAction::RequestCode,
                    Operation::VerifyCode => NextAction::VerifyCode,
                    _ => NextAction::Register,
                };
            }
        }
        let result = match action {
            NextAction::Reconcile { .. } => client.reconcile(session).await,
            NextAction::StartMigration => client.start_migration(session).await,
            NextAction::RequestCode => client.request_code(session, CodeMethod::Sms, &sms).await,
            NextAction::VerifyCode => match sim.latest_code(session.phone_number()) {
                Some(code) => client.verify_code(session, &code).await,
                // The customer got nothing: request one, as the README says.
                None => client.request_code(session, CodeMethod::Sms, &sms).await,
            },
            NextAction::Register => {
                if driver.flow == Flow::TwoStepWait && !armed.swap(true, Ordering::SeqCst) {
                    sim.set_two_step_pin(session.phone_number(), Some("111111"));
                }
                client.register(session, &pin(), None).await
            }
            NextAction::DisableTwoStepVerification { then } => {
                assert_eq!(then, Operation::Register);
                sim.disable_two_step(session.phone_number()); // the previous provider acts
                client.register(session, &pin(), None).await
            }
            other => panic!("unexpected next action {other:?} in {:?}", session.state()),
        };
        if let Err(error) = result {
            if process.is_dead() {
                return errors;
            }
            errors.push(format!("{error}"));
        }
    }
    panic!("the port did not finish: {:?}", session.state());
}

/// What Meta saw over the whole port (lost answers included).
#[derive(Debug)]
struct Served {
    starts: usize,
    codes: usize,
    verifies: usize,
    registers: usize,
    reads: usize,
    /// Registers Meta saw after one had succeeded.
    registers_after_success: usize,
    /// Code requests Meta saw after a code had been accepted.
    codes_after_verified: usize,
}

fn served(truth: &Truth) -> Served {
    let all = truth.0.lock().unwrap().clone();
    let n = |op| all.iter().filter(|(o, _)| *o == op).count();
    let after_first_ok = |first: Operation, then: Operation| {
        all.iter()
            .position(|(o, status)| *o == first && *status == 200)
            .map_or(0, |i| {
                all.iter().skip(i + 1).filter(|(o, _)| *o == then).count()
            })
    };
    Served {
        starts: n(Operation::StartMigration),
        codes: n(Operation::RequestCode),
        verifies: n(Operation::VerifyCode),
        registers: n(Operation::Register),
        reads: n(Operation::ReadPhoneNumber),
        registers_after_success: after_first_ok(Operation::Register, Operation::Register),
        codes_after_verified: after_first_ok(Operation::VerifyCode, Operation::RequestCode),
    }
}

/// Runs the port through one life per crash (each kills its process), then a
/// last life without crash; returns what Meta saw, how many crashes actually
/// happened, and the final session.
async fn port_with_crashes(driver: Driver, crashes: &[Crash]) -> (Served, usize, PortingSession) {
    let sim = Scenario::happy_path().build();
    let disk = Arc::new(Disk::default());
    let truth = Arc::new(Truth::default());
    let armed = AtomicBool::new(false);
    let mut died = 0;
    for crash in crashes.iter().copied().map(Some).chain([None]) {
        let process = Process::new(&sim, &disk, &truth, crash);
        let mut session = disk.load().unwrap_or_else(|| sim.session());
        drive(&sim, &process, &mut session, driver, &armed).await;
        if process.is_dead() {
            died += 1;
            continue;
        }
        assert_eq!(
            session.state().name(),
            StateName::Registered,
            "{driver:?} {crashes:?}: the port finished"
        );
        assert!(session.in_flight().is_none(), "{crashes:?}");
        let stored = disk.load().expect("saved");
        assert_eq!(
            stored.state(),
            session.state(),
            "{crashes:?}: the disk has the end"
        );
        return (served(&truth), died, session);
    }
    unreachable!()
}

/// The invariants of the reliability table for the happy flow.
fn assert_no_forbidden_repeat(at: &str, served: &Served, died: usize) {
    assert!(
        (1..=1 + died).contains(&served.starts),
        "{at}: {} starts",
        served.starts
    );
    assert_eq!(
        served.codes, 1,
        "{at}: the customer is texted once ({served:?})"
    );
    assert_eq!(served.verifies, 1, "{at}: one verify_code ({served:?})");
    assert_eq!(served.registers, 1, "{at}: one register ({served:?})");
    assert!(
        served.reads <= 2 * died,
        "{at}: reads only to reconcile ({served:?})"
    );
}

/// Every crash point a process can die at, by request and by save index.
fn all_crash_points(requests: usize, saves: usize) -> Vec<Crash> {
    let mut points = Vec::new();
    for n in 1..=requests {
        for point in [Point::BeforeSend, Point::AnswerLost, Point::AfterAnswer] {
            points.push(Crash::Request(n, point));
        }
    }
    for n in 1..=saves {
        for point in [SavePoint::BeforeStored, SavePoint::AfterStored] {
            points.push(Crash::Save(n, point));
        }
    }
    points
}

/// One crash at every request (reads and the 2388012 look-up included) and
/// at every checkpoint save — before and after it is durable — of the first
/// process, then resume (by `reconcile()` or by calling the step): Meta sees
/// one code request, one verify_code, one register.
#[tokio::test]
async fn crash_at_every_request_and_every_save_single() {
    let mut tried = 0;
    for driver in DRIVERS {
        for crash in all_crash_points(12, 12) {
            let (served, died, _) = port_with_crashes(driver, &[crash]).await;
            if died == 0 {
                continue; // the port finished before this point
            }
            tried += 1;
            assert_no_forbidden_repeat(&format!("{driver:?} {crash:?}"), &served, died);
        }
    }
    assert!(tried >= 40, "{tried} crash points");
    println!("single crash: {tried} crash points held");
}

/// Two crashes in a row: the first process dies at any point, the second
/// (the resume) dies at any of its own points — its reconciling read, the
/// reconcile's save, the save before its send, its send — and a third
/// finishes.
#[tokio::test]
async fn crash_at_every_point_then_again_at_every_point_of_the_resume() {
    let mut tried = 0;
    for driver in DRIVERS {
        for first in all_crash_points(8, 8) {
            for second in all_crash_points(8, 8) {
                let (served, died, _) = port_with_crashes(driver, &[first, second]).await;
                if died < 2 {
                    continue;
                }
                tried += 1;
                let at = format!("{driver:?} {first:?} then {second:?}");
                assert_no_forbidden_repeat(&at, &served, died);
            }
        }
    }
    assert!(tried >= 400, "{tried} crash pairs");
    println!("double crash: {tried} crash pairs held");
}

/// The process dies during the reconciling read of each step whose outcome
/// was unknown (the read never leaves / its answer is lost / it arrives but
/// the reconcile is not saved).
#[tokio::test]
async fn crash_during_the_reconciling_read() {
    for driver in DRIVERS {
        for step in [
            Operation::RequestCode,
            Operation::VerifyCode,
            Operation::Register,
        ] {
            for first in [Point::BeforeSend, Point::AnswerLost, Point::AfterAnswer] {
                for read in [Point::BeforeSend, Point::AnswerLost, Point::AfterAnswer] {
                    let crashes = [
                        Crash::RequestOf(step, 1, first),
                        Crash::RequestOf(Operation::ReadPhoneNumber, 1, read),
                    ];
                    let (served, died, _) = port_with_crashes(driver, &crashes).await;
                    assert_eq!(died, 2, "{driver:?} {crashes:?}: both crashes happened");
                    assert_no_forbidden_repeat(&format!("{driver:?} {crashes:?}"), &served, died);
                }
            }
        }
    }
}

fn reconciled(session: &PortingSession) -> bool {
    session.in_flight().is_none()
        && session.history().last().is_some_and(|t| {
            matches!(
                t.outcome,
                StepOutcome::Reconciled { .. }
                    | StepOutcome::CodeRequested {
                        unconfirmed: true,
                        ..
                    }
            )
        })
}

fn marked_after_reconcile(session: &PortingSession) -> bool {
    session.in_flight().is_some() && session.counters().reconciles > 0
}

/// The resumed process reconciles (its save is durable) and dies before the
/// step is sent: right after the reconcile's save, in the save before the
/// send (not durable), or right after it (durable, request never sent).
#[tokio::test]
async fn crash_between_the_reconciles_save_and_the_steps_send() {
    let mut tried = 0;
    for driver in DRIVERS {
        for step in [
            Operation::RequestCode,
            Operation::VerifyCode,
            Operation::Register,
        ] {
            for resume_crash in [
                Crash::SaveWhere(reconciled, SavePoint::AfterStored),
                Crash::SaveWhere(marked_after_reconcile, SavePoint::BeforeStored),
                Crash::SaveWhere(marked_after_reconcile, SavePoint::AfterStored),
            ] {
                // The step was not sent: after the reconcile the resume sends it
                // (for request_code: the operator's new request, no code came).
                let crashes = [Crash::RequestOf(step, 1, Point::BeforeSend), resume_crash];
                let (served, died, _) = port_with_crashes(driver, &crashes).await;
                assert!(died >= 1, "{crashes:?}");
                tried += usize::from(died == 2);
                let at = format!("{driver:?} {step} {resume_crash:?}");
                assert_no_forbidden_repeat(&at, &served, died);
            }
        }
    }
    assert!(
        tried >= 12,
        "{tried} resumes died between the reconcile and the send"
    );
}

/// A waiting state with a marker: register met 133005, the session waits
/// for the previous provider; once 2SV is off, register is sent from the
/// waiting state. The process dies at every point of the port (and once more
/// during the resume). Never a register after one succeeded, never a code
/// request after the code was accepted, one code, one verify, and the port
/// finishes.
#[tokio::test]
async fn crash_while_a_waiting_state_has_a_marker() {
    let mut tried = 0;
    for via_step in [false, true] {
        let driver = Driver {
            flow: Flow::TwoStepWait,
            via_step,
        };
        for first in all_crash_points(10, 12) {
            for second in [
                None,
                Some(Crash::Request(1, Point::AnswerLost)),
                Some(Crash::Save(1, SavePoint::AfterStored)),
            ] {
                let crashes: Vec<Crash> = [Some(first), second].into_iter().flatten().collect();
                let (served, died, _) = port_with_crashes(driver, &crashes).await;
                if died == 0 {
                    continue;
                }
                tried += 1;
                let at = format!("{driver:?} {crashes:?}");
                assert_eq!(served.codes, 1, "{at}: {served:?}");
                assert_eq!(served.verifies, 1, "{at}: {served:?}");
                assert_eq!(served.registers_after_success, 0, "{at}: {served:?}");
                assert_eq!(served.codes_after_verified, 0, "{at}: {served:?}");
                // 133005 (2SV on), the success, and the re-sends a register of
                // unknown outcome allows: one after a read showing it not
                // connected, one more after the 133005 ruling (PinIncorrect).
                assert!(served.registers <= 4, "{at}: {served:?}");
            }
        }
    }
    assert!(tried >= 80, "{tried} crash plans");
    println!("two-step wait: {tried} crash plans held");
}

/// The named case: the register sent from `AwaitingTwoStepDisable` (after
/// the previous provider disabled 2SV) dies at each point; the saved session
/// has the marker inside the waiting state, and the resume settles it.
#[tokio::test]
async fn crash_at_the_register_sent_from_the_two_step_wait() {
    for via_step in [false, true] {
        let driver = Driver {
            flow: Flow::TwoStepWait,
            via_step,
        };
        for point in [Point::BeforeSend, Point::AnswerLost, Point::AfterAnswer] {
            let crashes = [Crash::RequestOf(Operation::Register, 2, point)];
            let (served, died, _) = port_with_crashes(driver, &crashes).await;
            let at = format!("{driver:?} {point:?}");
            assert_eq!(died, 1, "{at}");
            assert_eq!(served.registers_after_success, 0, "{at}: {served:?}");
            assert_eq!(
                served.registers, 2,
                "{at}: 133005, then one success: {served:?}"
            );
            assert_eq!(served.codes, 1, "{at}");
        }
    }
}
