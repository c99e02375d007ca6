//! A second hostile review of issue 6, in places the first round
//! (tests/hostile_review.rs) did not look: reconcile versus the session's
//! waits, a reconcile whose marker belongs to another step, the bounded
//! history, counters, the register budget under a clock that is not
//! monotonic, 2388012 adoption from an incomplete or ambiguous list, and
//! forward compatibility of the history. Each test is named after the
//! defect it proved against the first fixed version and asserts the
//! behaviour the issue and reference §6 ask for; each failed before its fix.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use waba_porting::simulator::{Fault, Scenario, Simulator};
use waba_porting::transport::{Headers, HttpRequest, HttpResponse, Method};
use waba_porting::{
    CodeMethod, Error, Language, NextAction, Operation, Pin, PortingClient, PortingSession,
    PortingState, RetryPolicy, StateName, Transport, TransportError, TransportErrorKind,
    WaitReason,
};

// ---- helpers (after tests/hostile_review.rs) ---------------------------------

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
    /// Do not forward; fail in the transport with this kind.
    Fail(TransportErrorKind),
}

type Hook = dyn Fn(Operation, usize) -> Action + Send + Sync;

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

    /// Requests of `operation` the client handed to the wire.
    fn sent(&self, operation: Operation) -> usize {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|op| **op == operation)
            .count()
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
            Action::Fail(kind) => Err(TransportError::from_kind(kind)),
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

/// HTTP 503, Graph code 2 "Service temporarily unavailable": Meta may or may
/// not have acted (the outcome is unknown).
fn unavailable() -> HttpResponse {
    graph_error(
        503,
        json!({"message": "(#2) Service temporarily unavailable", "code": 2,
               "fbtrace_id": "AHostile2"}),
    )
}

fn unavailable_retry_after(seconds: u64) -> HttpResponse {
    let mut response = unavailable();
    response.headers.push("retry-after", seconds.to_string());
    response
}

fn client_over(sim: &Simulator, transport: Arc<Hooked>) -> PortingClient {
    sim.client_builder()
        .transport(transport)
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

async fn to_code_requested(client: &PortingClient, session: &mut PortingSession) {
    client.start_migration(session).await.unwrap();
    client
        .request_code(session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
}

async fn to_code_verified(sim: &Simulator, client: &PortingClient, session: &mut PortingSession) {
    to_code_requested(client, session).await;
    let code = sim.latest_code(session.phone_number()).unwrap();
    client.verify_code(session, &code).await.unwrap();
}

/// Rewrites every object of a JSON body (the read, or each entry of a list's
/// `data`) with `change`.
fn rewrite_records(
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

fn expire_verification(response: HttpResponse) -> HttpResponse {
    rewrite_records(response, |r| {
        r.insert("code_verification_status".into(), "EXPIRED".into());
    })
}

fn strip_status_fields(response: HttpResponse) -> HttpResponse {
    rewrite_records(response, |r| {
        r.remove("status");
        r.remove("code_verification_status");
    })
}

const HOUR: Duration = Duration::from_secs(3600);
const WINDOW_72H: Duration = Duration::from_secs(72 * 3600);

// ---- 1. reconcile() throws away the wait the unknown answer asked for --------

/// request_code is answered 503 with `Retry-After: 3600`: the outcome is
/// unknown (marker kept) and Meta asked for an hour's pause. The documented
/// next move is `reconcile()` ("call it to know where a reloaded session
/// stands before asking anybody to act"). The read records the code as
/// possibly sent — through the success path, which clears `not_before`. The
/// customer says no code arrived, so (as `code_request_unconfirmed` advises)
/// request_code is called again — and goes out at once, an hour early.
#[tokio::test]
async fn reconcile_of_a_lost_code_request_erases_the_retry_after_meta_asked_for() {
    let sim = Scenario::happy_path().build();
    let wire = Hooked::new(&sim, |op, n| match (op, n) {
        (Operation::RequestCode, 1) => Action::Replace(unavailable_retry_after(3600)),
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire.clone());
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap_err();
    let until = session.not_before().expect("the 503 asked to wait an hour");
    assert!(session.in_flight().is_some());

    client.reconcile(&mut session).await.unwrap();
    assert!(session.code_request_unconfirmed());
    let next = session.next_action();
    let again = client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await;
    assert!(
        next.not_before == Some(until)
            && matches!(&again, Err(Error::WaitRequired(_)))
            && wire.sent(Operation::RequestCode) == 1,
        "the reconcile dropped Meta's Retry-After: next_action.not_before = {:?} (want \
         {until:?}); the second request_code {:?} and {} code requests were sent",
        next.not_before,
        again,
        wire.sent(Operation::RequestCode)
    );
}

/// The same wait, erased by a failed read: register answered 503 with
/// `Retry-After: 600`; `reconcile()` meets a proxy 502 on the read, and
/// `record_read_failure` overwrites the step's 10-minute wait with the read's
/// (none). The next register is sent within the 10 minutes Meta asked for.
#[tokio::test]
async fn failed_reconciling_read_erases_the_steps_retry_after() {
    let sim = Scenario::happy_path().build();
    let wire = Hooked::new(&sim, |op, n| match (op, n) {
        (Operation::Register, 1) => Action::Replace(unavailable_retry_after(600)),
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire.clone());
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    let until = session.not_before().expect("the 503 asked to wait");

    sim.inject_at(Operation::ReadPhoneNumber, Fault::BadGateway, 1);
    client.reconcile(&mut session).await.unwrap_err();
    assert_eq!(
        session.not_before(),
        Some(until),
        "a failed read must not cancel the wait the step's answer asked for"
    );
    let again = client.register(&mut session, &pin(), None).await;
    assert!(matches!(again, Err(Error::WaitRequired(_))), "{again:?}");
    assert_eq!(wire.sent(Operation::Register), 1);
}

// ---- 2. passed_in trusts the session, not the read ---------------------------

/// Issue 6 defect 1's own scenario: 2SV blocked register for days and the
/// verification expired meanwhile. The last register got a 503 (marker
/// kept). request_code — legal here — reads the number first: it says
/// `code_verification_status: EXPIRED`, yet `Step::passed_in` looks at the
/// session's resume state (`CodeVerified`, which a read never demotes) and
/// returns `Ok` without sending: no code, and the next register meets 133006.
#[tokio::test]
async fn request_code_after_an_unknown_register_is_swallowed_although_the_read_shows_the_verification_expired(
) {
    let sim = Scenario::happy_path().build();
    let wire = Hooked::new(&sim, |op, n| match (op, n) {
        (Operation::Register, 2) => Action::Replace(unavailable()),
        (Operation::ReadPhoneNumber, _) => Action::Rewrite(expire_verification),
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire.clone());
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;
    sim.set_two_step_pin(session.phone_number(), Some("111111"));
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert_eq!(session.state().name(), StateName::AwaitingTwoStepDisable);
    sim.disable_two_step(session.phone_number());
    sim.advance(3 * 24 * HOUR);
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert_eq!(
        session.in_flight().map(|f| f.operation),
        Some(Operation::Register)
    );

    let state = client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await;
    assert_eq!(
        wire.sent(Operation::RequestCode),
        2,
        "the read showed the verification EXPIRED, but no code was requested ({state:?})"
    );
    // Nobody confirmed two-step verification off (the register's outcome
    // was unknown and not connected): the wait goes on, around the new code.
    assert!(
        matches!(state, Ok(StateName::AwaitingTwoStepDisable)),
        "{state:?}"
    );
    assert_eq!(
        session.state().resume_point().name(),
        StateName::CodeRequested
    );
}

// ---- 3. code_request_unconfirmed lives in the bounded history ----------------

/// `code_request_unconfirmed` scans the history for the last `CodeRequested`
/// entry. The history keeps 32 entries: after 32 throttled verify attempts
/// (days of a customer retrying) the entry is gone and the session says the
/// code request was confirmed, while nothing ever confirmed it.
#[tokio::test]
async fn code_request_unconfirmed_is_forgotten_once_the_history_is_trimmed() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    sim.inject_at(Operation::RequestCode, Fault::AnswerLost, 1);
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap_err();
    client.reconcile(&mut session).await.unwrap();
    assert!(session.code_request_unconfirmed());

    let code = sim.latest_code(session.phone_number()).unwrap();
    sim.inject_at(
        Operation::VerifyCode,
        Fault::RateLimit {
            code: 130429,
            retry_after: None,
        },
        40,
    );
    for _ in 0..40 {
        let _ = client.verify_code(&mut session, &code).await;
        sim.advance(HOUR);
    }
    assert_eq!(session.state().name(), StateName::CodeRequested);
    assert!(session.counters().history_dropped > 0);
    assert!(
        session.code_request_unconfirmed(),
        "nothing confirmed the code request; trimming the history must not confirm it"
    );
}

// ---- 4. a reconciled code request is dated when reconciled -------------------

/// The process died after sending request_code; it is resumed two days
/// later. The reconcile records `CodeRequested { at }` with the time of the
/// reconcile, not the time the request was sent (`InFlight::since`): the
/// session says a code was requested just now, when any code Meta sent is two
/// days old and long expired.
#[tokio::test]
async fn reconciled_code_request_is_dated_when_reconciled_not_when_sent() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    sim.inject_at(Operation::RequestCode, Fault::AnswerLost, 1);
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap_err();
    let sent_at = session.in_flight().unwrap().since;

    sim.advance(48 * HOUR);
    client.reconcile(&mut session).await.unwrap();
    let PortingState::CodeRequested { at, .. } = session.state() else {
        panic!("{:?}", session.state())
    };
    assert_eq!(*at, sent_at, "when the code was (maybe) requested");
}

// ---- 5. counters count requests that never left -------------------------------

/// register could not connect (nothing sent: the client itself gives the
/// budget back). `Counters::register_requests` — documented as "register
/// requests sent (each spends one of 10 per 72 hours)" — still counts it, and
/// disagrees with the budget record.
#[tokio::test]
async fn counters_count_a_register_that_could_not_connect_as_sent() {
    let sim = Scenario::happy_path().build();
    let wire = Hooked::new(&sim, |op, n| match (op, n) {
        (Operation::Register, 1) => Action::Fail(TransportErrorKind::Connect),
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire);
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert!(session.in_flight().is_none());
    assert_eq!(session.register_calls(sim.now()).count(), 0);
    assert_eq!(
        session.counters().register_requests,
        0,
        "no register request was sent"
    );
}

// ---- 6. the register budget assumes calls in clock order ----------------------

/// A session moves between workers whose clocks disagree (or the clock is
/// stepped back): its register calls are no longer in time order.
/// `register_budget_frees_at` takes the call at index `excess` of the stored
/// order, not the oldest: the budget refuses register until 82 h, where the
/// oldest call leaves the window at 72 h — and `next_action()` (which sorts)
/// says 72 h.
#[tokio::test]
async fn register_budget_wait_is_wrong_when_calls_are_not_in_clock_order() {
    let sim = Scenario::happy_path().build();
    let wire = Hooked::new(&sim, |op, _| match op {
        Operation::Register => Action::Replace(unavailable()),
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire);
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;
    let t0 = sim.now();
    let clock = sim.clock();

    clock.set(t0.saturating_add(10 * HOUR));
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    client.reconcile(&mut session).await.unwrap();
    clock.set(t0);
    for _ in 0..8 {
        client
            .register(&mut session, &pin(), None)
            .await
            .unwrap_err();
        client.reconcile(&mut session).await.unwrap();
        sim.advance(Duration::from_secs(60));
    }
    assert_eq!(session.state().name(), StateName::CodeVerified);

    let next = session.next_action();
    let err = client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    let Error::WaitRequired(wait) = &err else {
        panic!("expected the budget to refuse: {err:?}")
    };
    assert_eq!(wait.reason(), WaitReason::RegisterBudget);
    // The oldest call (t0) leaves the 72-hour window at t0 + 72 h; then 8
    // calls remain and a 9th fits.
    let frees = t0.saturating_add(WINDOW_72H);
    assert_eq!(wait.until(), frees, "register refused until the wrong time");
    assert_eq!(next.not_before, Some(wait.until()));
}

// ---- 7. next_action hides the budget behind a waiting state -------------------

/// 2SV is on; register is tried (each meets 133005) until the session has
/// spent its 9 register calls. `next_action()` says "the previous provider
/// disables 2SV, then register", with no `not_before`; once they did, register
/// is refused with `WaitRequired { RegisterBudget }` for up to 72 hours.
/// The first review's fix only covers `NextAction::Register`.
#[tokio::test]
async fn next_action_hides_the_register_budget_behind_a_two_step_wait() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;
    sim.set_two_step_pin(session.phone_number(), Some("111111"));
    for _ in 0..9 {
        client
            .register(&mut session, &pin(), None)
            .await
            .unwrap_err();
        sim.advance(Duration::from_secs(600));
    }
    let next = session.next_action();
    assert_eq!(
        next.action,
        NextAction::DisableTwoStepVerification {
            then: Operation::Register
        }
    );

    sim.disable_two_step(session.phone_number());
    let err = client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    let Error::WaitRequired(wait) = &err else {
        panic!("expected the budget to refuse: {err:?}")
    };
    assert_eq!(wait.reason(), WaitReason::RegisterBudget);
    assert_eq!(
        next.not_before,
        Some(wait.until()),
        "next_action must say when the step it names can be taken"
    );
}

// ---- 8. adoption from a list without the status fields ------------------------

/// The number is registered in the destination already (a first session
/// finished). A second session's start meets 2388012; the list answers
/// without `status` / `code_verification_status` (Graph omits fields). The
/// first round fixed exactly this for the read ("absence of evidence is not
/// evidence"), not for the list: the number is adopted as `Initiated`, and
/// the next steps text the customer and spend register calls on a number
/// that is connected.
#[tokio::test]
async fn adoption_from_a_list_without_status_fields_restarts_a_registered_number() {
    let sim = Scenario::happy_path().build();
    let wire = Hooked::new(&sim, |op, _| match op {
        Operation::ListPhoneNumbers => Action::Rewrite(strip_status_fields),
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire);
    let mut first = sim.session();
    to_code_verified(&sim, &client, &mut first).await;
    client.register(&mut first, &pin(), None).await.unwrap();

    let mut second = sim.session();
    let state = client.start_migration(&mut second).await;
    assert_ne!(
        second.state().name(),
        StateName::Initiated,
        "a connected number adopted as Initiated ({state:?}): the list did not say where it stands"
    );
    assert!(
        matches!(state, Ok(StateName::Registered)) || state.is_err(),
        "{state:?}"
    );
}

// ---- 9. adoption of a number listed twice -------------------------------------

/// The destination lists the number twice (a stale object left by an earlier
/// attempt, then the live, connected one). The look-up stops at the first
/// match in list order and adopts the stale `PENDING` object as `Initiated`:
/// the customer is texted for a number object that is not the live one. Two
/// listings that disagree must not be settled by list order.
#[tokio::test]
async fn adoption_of_a_number_listed_twice_takes_the_first_listing_blindly() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut first = sim.session();
    to_code_verified(&sim, &client, &mut first).await;
    client.register(&mut first, &pin(), None).await.unwrap();
    let live = first.state().phone_number_id().unwrap().as_str().to_owned();

    let page = json!({
        "data": [
            {"id": "100000000000001", "display_phone_number": "+1 415-555-0123",
             "status": "PENDING", "code_verification_status": "NOT_VERIFIED"},
            {"id": live, "display_phone_number": "+1 415-555-0123",
             "status": "CONNECTED", "code_verification_status": "VERIFIED"}
        ],
        "paging": {"cursors": {"before": "a", "after": "b"}}
    });
    let wire = Hooked::new(&sim, move |op, _| match op {
        Operation::ListPhoneNumbers => Action::Replace(json_response(200, page.clone())),
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire);
    let mut second = sim.session();
    let state = client.start_migration(&mut second).await;
    let adopted = second
        .state()
        .phone_number_id()
        .map(|id| id.as_str().to_owned());
    assert!(
        state.is_err() || adopted.as_deref() == Some(live.as_str()),
        "adopted {adopted:?} as {:?} ({state:?}) while the connected listing is {live}",
        second.state().name()
    );
}

// ---- 10. the history blocks forward compatibility -----------------------------

/// `StepOutcome`, `Operation` and `StateName` are `#[non_exhaustive]`: a
/// newer minor version may add values. The first round made unknown error
/// kinds load; a history entry with an outcome, an operation or a state name
/// a newer version adds still makes the whole session fail to load — though
/// the history is only a bounded log (entries are dropped anyway) and the
/// state itself is one this version knows. A rollback strands every session
/// the newer version touched.
#[tokio::test]
async fn history_entry_a_newer_version_adds_makes_the_session_unloadable() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;
    let base: Value = serde_json::to_value(&session).unwrap();

    let newer_entries = [
        json!({"at": 5, "from": "code_verified", "to": "code_verified",
               "outcome": {"outcome": "pin_set"}}),
        json!({"at": 5, "from": "code_verified", "to": "code_verified",
               "outcome": {"outcome": "failed", "operation": "set_pin",
                           "kind": "pin_incorrect", "code": 133005}}),
        json!({"at": 5, "from": "awaiting_display_name", "to": "code_verified",
               "outcome": {"outcome": "code_verified"}}),
    ];
    let mut refused = Vec::new();
    for entry in newer_entries {
        let mut value = base.clone();
        value["history"].as_array_mut().unwrap().push(entry.clone());
        match serde_json::from_value::<PortingSession>(value) {
            Ok(loaded) => assert_eq!(loaded.state(), session.state()),
            Err(e) => refused.push(format!("{entry}: {e}")),
        }
    }
    assert!(
        refused.is_empty(),
        "sessions with history entries from a newer version do not load:\n{}",
        refused.join("\n")
    );
}

// ---- 11. an illegal step passes when a marker is set ---------------------------

/// A register answer was lost (a 503; marker kept). `start_migration` on the
/// `CodeVerified` session is illegal — without the marker it is refused with
/// `IllegalTransition` and sends nothing. With the marker it reads the
/// number, `Step::passed_in(Start)` is true for any state with an id, and it
/// returns `Ok(CodeVerified)`: a driver that calls the step it believes is
/// next is told it succeeded.
#[tokio::test]
async fn illegal_step_with_a_marker_set_reads_the_number_and_returns_ok() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;
    sim.inject_at(Operation::Register, Fault::ServiceUnavailable, 1);
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert!(session.in_flight().is_some());

    let state = client.start_migration(&mut session).await;
    assert!(
        matches!(state, Err(Error::IllegalTransition(_))),
        "start_migration on a code_verified session: {state:?}"
    );
}

/// A code request whose answer was lost is not re-sent blindly — but a new
/// request with another method (voice after a lost SMS) is a deliberate one
/// and goes out.
#[tokio::test]
async fn a_voice_request_after_a_lost_sms_request_is_sent() {
    let sim = Scenario::happy_path().build();
    let client = sim
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    sim.inject_at(Operation::RequestCode, Fault::AnswerLost, 1);
    let sms = client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await;
    assert!(sms.is_err());
    // The same request again: reconciled, not re-sent.
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    assert!(session.code_request_unconfirmed());
    // Another method: sent.
    client
        .request_code(&mut session, CodeMethod::Voice, &Language::default())
        .await
        .unwrap();
    let codes = sim
        .served()
        .iter()
        .filter(|r| r.operation == Some(Operation::RequestCode))
        .count();
    assert_eq!(codes, 2);
    assert_eq!(
        sim.inbox(session.phone_number()).last().map(|d| d.method),
        Some(CodeMethod::Voice)
    );
    assert!(!session.code_request_unconfirmed());
}
