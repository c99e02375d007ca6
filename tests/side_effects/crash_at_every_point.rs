//! An extended crash matrix: every request (reads included) and every
//! checkpoint save as a crash point, one crash and two crashes in a row, a
//! crash during the reconciling read and between the reconcile's save and
//! the step's send, and a port that waits for two-step verification to be
//! disabled while a step is in flight. Meta never sees a side effect twice.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::wire::{operation_of, pin};
use waba_porting::simulator::{Scenario, Simulator};
use waba_porting::transport::{HttpRequest, HttpResponse};
use waba_porting::{
    Checkpoint, CodeMethod, Language, NextAction, Operation, PortingClient, PortingSession,
    StateName, StepOutcome, Transport, TransportError, TransportErrorKind,
};

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
