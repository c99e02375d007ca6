//! A process that dies: the crash points of a request, a checkpoint frozen
//! once the process died, and the side-effecting step a request is.
#![allow(dead_code)] // each test file uses a different subset

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use waba_porting::simulator::Simulator;
use waba_porting::transport::{HttpRequest, HttpResponse, Method};
use waba_porting::{
    async_trait, Checkpoint, Operation, PortingSession, Transport, TransportError,
    TransportErrorKind,
};

/// Where the process dies, relative to the request of the chosen step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashPoint {
    /// After the session (with its in-flight marker) was saved, before the
    /// request left.
    BeforeSend,
    /// Meta applied the request; the answer never arrived.
    AnswerLost,
    /// The answer arrived; the process died before saving the outcome.
    AfterAnswer,
}

pub const POINTS: [CrashPoint; 3] = [
    CrashPoint::BeforeSend,
    CrashPoint::AnswerLost,
    CrashPoint::AfterAnswer,
];

/// Durable storage of the last saved session. Once the process "dies" it is
/// frozen: later saves of the dead process never happen.
#[derive(Debug, Default)]
pub struct Store {
    saved: Mutex<Option<String>>,
    frozen: AtomicBool,
}

#[async_trait]
impl Checkpoint for Store {
    async fn save(
        &self,
        session: &PortingSession,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if self.frozen.load(Ordering::SeqCst) {
            return Ok(());
        }
        let json = serde_json::to_string(session)?;
        *self.saved.lock().map_err(|_| "poisoned")? = Some(json);
        Ok(())
    }
}

impl Store {
    pub fn last_saved(&self) -> Option<PortingSession> {
        let saved = self.saved.lock().unwrap().clone()?;
        Some(serde_json::from_str(&saved).expect("saved sessions load"))
    }

    /// Whether the process died (nothing leaves it, nothing is saved).
    pub fn is_frozen(&self) -> bool {
        self.frozen.load(Ordering::SeqCst)
    }

    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }
}

/// The connection error of a process that is gone.
pub fn dead() -> TransportError {
    TransportError::from_kind(TransportErrorKind::Connect)
}

/// The request of the step the process dies at, sent (or not) to `sim` as
/// `point` says; the process is dead (`store` frozen) afterwards.
pub async fn die_at(
    point: CrashPoint,
    store: &Store,
    sim: &Simulator,
    request: HttpRequest,
) -> Result<HttpResponse, TransportError> {
    match point {
        CrashPoint::BeforeSend => {
            store.freeze();
            Err(dead())
        }
        CrashPoint::AnswerLost => {
            let _ = sim.send(request).await;
            store.freeze();
            Err(TransportError::from_kind(TransportErrorKind::Other))
        }
        CrashPoint::AfterAnswer => {
            let answer = sim.send(request).await;
            store.freeze();
            answer
        }
    }
}

/// The side-effecting step a request is, if any (reads are none).
pub fn step_of(request: &HttpRequest) -> Option<Operation> {
    let path = request.url.path();
    match request.method {
        Method::Get if path.ends_with("/oauth/access_token") => Some(Operation::ExchangeSignupCode),
        Method::Post if path.ends_with("/set_solution_migration_intent") => {
            Some(Operation::SetMigrationIntent)
        }
        Method::Post if path.ends_with("/phone_numbers") => Some(Operation::StartMigration),
        Method::Post if path.ends_with("/request_code") => Some(Operation::RequestCode),
        Method::Post if path.ends_with("/verify_code") => Some(Operation::VerifyCode),
        Method::Post if path.ends_with("/register") => Some(Operation::Register),
        _ => None,
    }
}
