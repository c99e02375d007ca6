//! A webhook receiver on hyper: `GET /webhook` answers Meta's subscription
//! handshake, `POST /webhook` checks and reads a signed delivery, prints
//! its typed changes and applies them to the sessions they concern in the
//! session store (a solution migration waiting for the customer's
//! acceptance is due at once when `PARTNER_ADDED` says they accepted).
//!
//! ```sh
//! WEBHOOK_APP_SECRET=… WEBHOOK_VERIFY_TOKEN=… \
//!   cargo run --example webhook_receiver --features webhooks -- --port 8080
//! # CI: serve on loopback, send itself a handshake and one signed delivery
//! # (twice: the retry is a replay, answered 200), check that it woke the
//! # waiting session, then exit.
//! cargo run --example webhook_receiver --features webhooks -- --once
//! ```

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use waba_porting::webhook::{apply_delivery, ChangeValue};
use waba_porting::{
    AppSecret, BusinessId, Clock, InMemoryStore, IntentProgress, MigrationIntentId, PhoneNumber,
    PortingSession, SessionKey, SessionStore, SolutionId, StepOutcome, SystemClock, WabaId,
    WebhookReceiver, MIGRATION_INTENT_RECHECK,
};

/// What `--once` sends itself: the shape of Meta's `account_update`.
/// `PARTNER_ADDED` as Meta sends it when a customer accepts a solution
/// migration: `entry.id` is the partner's business, `waba_info` names the
/// new WABA, the customer's business and the solution.
const DELIVERY: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"209876543210987","time":1739321024,"changes":[{"field":"account_update","value":{"event":"PARTNER_ADDED","waba_info":{"waba_id":"555000111222","owner_business_id":"106540352242922","solution_id":"1987654321098"}}},{"field":"phone_number_quality_update","value":{"display_phone_number":"14155550123","event":"FLAGGED","current_limit":"TIER_10K"}}]}]}"#;

/// A solution migration of the example's customer, its intent set and read
/// pending: not due for five minutes.
fn waiting_for_acceptance() -> Result<PortingSession, Box<dyn std::error::Error>> {
    let mut session = PortingSession::solution_migration(
        PhoneNumber::parse("+14155550123")?,
        WabaId::new("102290129340398")?,
        BusinessId::new("106540352242922")?,
        SolutionId::new("1987654321098")?,
    );
    let now = SystemClock.now();
    session.apply(
        StepOutcome::MigrationIntentSet {
            intent_id: MigrationIntentId::new("778899001122")?,
        },
        now,
    )?;
    // Read pending: the next look is MIGRATION_INTENT_RECHECK away.
    session.apply(
        StepOutcome::MigrationIntentRead {
            status: IntentProgress::Pending,
        },
        now,
    )?;
    let next_look = now.saturating_add(MIGRATION_INTENT_RECHECK);
    if session.next_action().not_before != Some(next_look) {
        return Err("a pending intent is read again after MIGRATION_INTENT_RECHECK".into());
    }
    session.next_revision();
    Ok(session)
}

async fn answer(
    receiver: Arc<WebhookReceiver>,
    store: Arc<InMemoryStore>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = |status: u16, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        Ok(response)
    };
    if request.uri().path() != "/webhook" {
        return reply(404, String::new());
    }
    match *request.method() {
        Method::GET => match receiver.handshake(request.uri().query().unwrap_or("")) {
            Ok(challenge) => reply(200, challenge),
            Err(e) => {
                eprintln!("handshake refused: {e}");
                reply(e.http_status(), String::new())
            }
        },
        Method::POST => {
            let (parts, body) = request.into_parts();
            // Read no more than the receiver accepts: a longer body is cut
            // off here (413) instead of buffered.
            let body = match Limited::new(body, receiver.max_body_bytes())
                .collect()
                .await
            {
                Ok(body) => body.to_bytes(),
                Err(_) => return reply(413, String::new()),
            };
            let headers = parts
                .headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_bytes()));
            match receiver.receive_with_headers(headers, &body) {
                Ok(delivery) => {
                    for change in delivery.changes() {
                        let what = match change.value() {
                            ChangeValue::AccountUpdate(_) => "account update",
                            ChangeValue::AccountReviewUpdate(_) => "account review",
                            ChangeValue::PhoneNumberNameUpdate(_) => "display name review",
                            ChangeValue::PhoneNumberQualityUpdate(_) => "number quality",
                            _ => "other",
                        };
                        println!(
                            "{what}: entry {} at {:?}: {} {} (number {}) [{}]",
                            change.waba_id(),
                            change.unix_time(),
                            change.field(),
                            change.event().unwrap_or("-"),
                            change.phone_number().map_or("-".into(), |n| n.to_string()),
                            change.id(),
                        );
                    }
                    // Move the sessions it concerns; a store that could
                    // not take it all: forget it, and Meta retries (503).
                    match apply_delivery(&*store, &delivery, SystemClock.now()).await {
                        Ok(outcome) if outcome.is_complete() => {
                            // Handled: a retry of it is a replay (200).
                            receiver.commit(&delivery);
                            for key in outcome.woken() {
                                println!("woken: {key} (due now: the next pass reads Meta)");
                            }
                            reply(200, String::new())
                        }
                        Ok(_) | Err(_) => {
                            receiver.forget(&delivery);
                            reply(503, String::new())
                        }
                    }
                }
                Err(e) => {
                    // A replay is answered 200: Meta retried a delivery
                    // already handled.
                    eprintln!("delivery refused ({}): {e}", e.http_status());
                    reply(e.http_status(), String::new())
                }
            }
        }
        _ => reply(405, String::new()),
    }
}

/// One HTTP/1.1 request over a fresh connection; the answer's status line
/// and body.
async fn send(address: std::net::SocketAddr, head: &str, body: &[u8]) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(address).await?;
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    let status = answer.lines().next().unwrap_or_default().to_owned();
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    Ok(format!("{status} {body}").trim_end().to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let once = args.iter().any(|a| a == "--once");
    let port: u16 = match args.iter().position(|a| a == "--port") {
        Some(at) => args.get(at + 1).ok_or("--port needs a number")?.parse()?,
        None => 0,
    };
    let secret = std::env::var("WEBHOOK_APP_SECRET").unwrap_or_else(|_| "demo-app-secret".into());
    let token =
        std::env::var("WEBHOOK_VERIFY_TOKEN").unwrap_or_else(|_| "demo-verify-token".into());
    let receiver = Arc::new(WebhookReceiver::new(secret.as_str(), token.as_str()));
    let store = Arc::new(InMemoryStore::new());
    let waiting = waiting_for_acceptance()?;
    store.save(&waiting, None, SystemClock.now()).await?;
    let key = SessionKey::of(&waiting);
    let served = Arc::clone(&store);

    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;
    println!("receiving webhooks on http://{address}/webhook");
    let server = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let receiver = Arc::clone(&receiver);
            let store = Arc::clone(&served);
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    answer(Arc::clone(&receiver), Arc::clone(&store), request)
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    if !once {
        server.await?;
        return Ok(());
    }

    let handshake = format!(
        "GET /webhook?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444 \
         HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    );
    let answer = send(address, &handshake, b"").await?;
    println!("handshake: {answer}");
    if !answer.ends_with("1158201444") {
        return Err(format!("handshake not answered: {answer}").into());
    }
    let signature = AppSecret::new(secret).signature_header(DELIVERY.as_bytes());
    let post = format!(
        "POST /webhook HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         X-Hub-Signature-256: {signature}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        DELIVERY.len()
    );
    for attempt in ["delivery", "retry (a replay)"] {
        let answer = send(address, &post, DELIVERY.as_bytes()).await?;
        println!("{attempt}: {answer}");
        if !answer.starts_with("HTTP/1.1 200") {
            return Err(format!("{attempt} not answered 200: {answer}").into());
        }
    }
    let session = store.load(&key).await?.ok_or("the session is stored")?;
    let due = session.next_action().not_before;
    println!("the waiting session is due at {due:?}");
    if due.is_some_and(|at| at > SystemClock.now()) {
        return Err("the delivery did not wake the waiting session".into());
    }
    let forged = post.replace(&signature, &format!("sha256={}", "0".repeat(64)));
    let answer = send(address, &forged, DELIVERY.as_bytes()).await?;
    println!("forged: {answer}");
    if !answer.starts_with("HTTP/1.1 403") {
        return Err(format!("forgery not refused: {answer}").into());
    }
    server.abort();
    Ok(())
}
