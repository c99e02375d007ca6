//! A transport of your own: wrap another one to add a header and time each
//! call, then port a number through it (against the embedded simulator, so
//! no credentials are needed).
//!
//! ```text
//! cargo run --example custom_transport
//! ```
//!
//! `Transport` is an `async_trait` trait; the crate re-exports the macro as
//! `waba_porting::async_trait`, so your crate needs no dependency of its own
//! for it. Wrap `ReqwestTransport` the same way in production.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use waba_porting::async_trait;
use waba_porting::simulator::Scenario;
use waba_porting::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use waba_porting::{CodeMethod, Language, Pin};

/// Adds `X-Request-Id` to every request and records how long each took.
#[derive(Debug)]
struct Timed<T> {
    inner: T,
    next_id: AtomicU64,
    calls: Mutex<Vec<Call>>,
}

#[derive(Debug)]
struct Call {
    id: u64,
    method: &'static str,
    path: String,
    status: Option<u16>,
    elapsed: Duration,
}

impl<T> Timed<T> {
    fn new(inner: T) -> Self {
        Self {
            inner,
            next_id: AtomicU64::new(1),
            calls: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl<T: Transport> Transport for Timed<T> {
    async fn send(&self, mut request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        request.headers.push("X-Request-Id", id.to_string());
        // Never log the body or the Authorization header: they carry the
        // PIN, the code and the token. The path holds only ids.
        let method = request.method.as_str();
        let path = request.url.path().to_owned();
        let started = Instant::now();
        let result = self.inner.send(request).await;
        let call = Call {
            id,
            method,
            path,
            status: result.as_ref().ok().map(|r| r.status),
            elapsed: started.elapsed(),
        };
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(call);
        }
        result
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim = Scenario::happy_path().build();
    let transport = std::sync::Arc::new(Timed::new(sim.clone()));
    let client = sim
        .client_builder()
        // `Arc<T>` is a transport too: keep a handle to read the timings.
        .transport(transport.clone())
        .build()?;

    let mut session = sim.session();
    client.start_migration(&mut session).await?;
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await?;
    let code = sim
        .latest_code(session.phone_number())
        .ok_or("no code was delivered")?;
    client.verify_code(&mut session, &code).await?;
    client
        .register(&mut session, &Pin::new("482913")?, None)
        .await?;
    println!("state: {}", session.state().name());

    println!(
        "\n{:>3}  {:<6} {:<40} {:>6} {:>10}",
        "id", "method", "path", "status", "elapsed"
    );
    let calls = transport.calls.lock().map_err(|_| "poisoned")?;
    for call in calls.iter() {
        println!(
            "{:>3}  {:<6} {:<40} {:>6} {:>8.1}µs",
            call.id,
            call.method,
            call.path,
            call.status.map_or("-".to_owned(), |s| s.to_string()),
            call.elapsed.as_secs_f64() * 1e6
        );
    }

    // The simulator saw the header on every request.
    let served = sim.served();
    let tagged = served
        .iter()
        .filter(|r| r.headers.get("x-request-id").is_some())
        .count();
    println!("\nrequests with X-Request-Id: {tagged} of {}", served.len());
    if tagged != served.len() || served.len() != calls.len() {
        return Err("a request went out without the header".into());
    }
    Ok(())
}
