//! The simulator behind a wire the test controls (answers of its own for
//! chosen requests, every answer pending once as a network answer is), and
//! small helpers over it.
#![allow(dead_code)] // each test file uses a different subset

use std::fmt;
use std::future::Future;
use std::pin::Pin as StdPin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use waba_porting::simulator::{Scenario, Simulator};
use waba_porting::transport::{
    Headers, HttpRequest, HttpResponse, Method, Transport, TransportError,
};
use waba_porting::{async_trait, Operation, Pin, PortingSession};

// ---------------------------------------------------------------- helpers

pub fn pin() -> Pin {
    Pin::new("482913").unwrap()
}

/// Completes after being polled twice (a real network call is pending once).
pub struct YieldOnce(pub bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: StdPin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

pub fn operation_of(request: &HttpRequest) -> Operation {
    let path = request.url.path();
    match request.method {
        Method::Post if path.ends_with("/phone_numbers") => Operation::StartMigration,
        Method::Post if path.ends_with("/request_code") => Operation::RequestCode,
        Method::Post if path.ends_with("/verify_code") => Operation::VerifyCode,
        Method::Post if path.ends_with("/register") => Operation::Register,
        Method::Post if path.ends_with("/subscribed_apps") => Operation::SubscribeApp,
        Method::Get if path.ends_with("/phone_numbers") => Operation::ListPhoneNumbers,
        Method::Get if path.ends_with("/settings") => Operation::ReadLocalStorage,
        Method::Post if path.ends_with("/settings") => Operation::SetLocalStorage,
        _ => Operation::ReadPhoneNumber,
    }
}

pub type Rule = dyn Fn(Operation, usize) -> Option<HttpResponse> + Send + Sync;

/// The simulator behind a wire the test controls: `rule` may answer the
/// n-th request of an operation itself (the simulator never sees it); every
/// answer is pending once, as a network answer is.
#[derive(Clone)]
pub struct Wire {
    pub sim: Simulator,
    pub rule: Arc<Rule>,
    pub sent: Arc<Mutex<Vec<Operation>>>,
}

impl fmt::Debug for Wire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Wire")
    }
}

impl Wire {
    pub fn new(
        sim: &Simulator,
        rule: impl Fn(Operation, usize) -> Option<HttpResponse> + Send + Sync + 'static,
    ) -> Self {
        Self {
            sim: sim.clone(),
            rule: Arc::new(rule),
            sent: Arc::default(),
        }
    }

    pub fn pass(sim: &Simulator) -> Self {
        Self::new(sim, |_, _| None)
    }

    pub fn sent(&self, operation: Operation) -> usize {
        self.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|o| **o == operation)
            .count()
    }
}

#[async_trait]
impl Transport for Wire {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let operation = operation_of(&request);
        let n = {
            let mut sent = self.sent.lock().unwrap();
            sent.push(operation);
            sent.iter().filter(|o| **o == operation).count()
        };
        let answer = match (self.rule)(operation, n) {
            Some(answer) => Ok(answer),
            None => self.sim.send(request).await,
        };
        YieldOnce(false).await;
        answer
    }
}

pub fn json_answer(status: u16, body: &str) -> HttpResponse {
    let mut headers = Headers::new();
    headers.push("Content-Type", "application/json");
    HttpResponse::new(status, headers, body)
}

pub fn with_retry_after(mut answer: HttpResponse, seconds: u64) -> HttpResponse {
    answer.headers.push("Retry-After", seconds.to_string());
    answer
}

pub fn world(n: u32) -> (Simulator, Vec<PortingSession>) {
    let sim = Scenario::happy_path().build();
    sim.log_requests(false);
    let sessions = (0..n)
        .map(|i| sim.add_number(&Scenario::happy_path().numbered(i)))
        .collect();
    (sim, sessions)
}

/// (start, request_code, verify_code, register) Meta received per number.
pub fn counts(sim: &Simulator, sessions: &[PortingSession]) -> Vec<(u32, u32, u32, u32)> {
    sessions
        .iter()
        .map(|s| {
            let c = sim.calls(s.phone_number()).unwrap();
            (c.start_migration, c.request_code, c.verify_code, c.register)
        })
        .collect()
}

/// A session of `sim`'s number taken to `CodeVerified` by a plain client
/// (start, request a code, verify it): the point where `register` is next.
pub async fn verified_session(sim: &Simulator) -> PortingSession {
    use waba_porting::{CodeMethod, Language};
    let mut session = sim.session();
    let plain = sim.client().unwrap();
    plain.start_migration(&mut session).await.unwrap();
    plain
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let code = sim.latest_code(session.phone_number()).unwrap();
    plain.verify_code(&mut session, &code).await.unwrap();
    session
}

/// Every request is rate limited for 100 s (`Retry-After: 100`, Graph code
/// 4): another session of the fleet meeting a limit, for a client sharing
/// its throttle.
#[derive(Debug)]
pub struct AlwaysLimited;

#[async_trait]
impl Transport for AlwaysLimited {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        Ok(with_retry_after(
            json_answer(429, r#"{"error":{"message":"(#4) limit","code":4}}"#),
            100,
        ))
    }
}
