//! A server (or proxy) that echoes the PIN it was sent, glued into the
//! `fbtrace_id`: the PIN is masked exactly in the error the caller gets —
//! and it must not reach a log line either, on the way there (the retry
//! event, the call's span).
#![cfg(feature = "tracing")]

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use waba_porting::transport::{Headers, HttpRequest, HttpResponse};
use waba_porting::{
    async_trait, PhoneNumberId, Pin, PortingClient, RetryPolicy, Transport, TransportError,
};

const PIN: &str = "482913";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Answers every request with a temporary error whose trace id carries the
/// PIN the request sent.
#[derive(Debug)]
struct Echo;

#[async_trait]
impl Transport for Echo {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        let pin = body
            .split('"')
            .find(|part| part.len() == 6 && part.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or("none")
            .to_owned();
        let mut headers = Headers::new();
        headers.push("Content-Type", "application/json");
        Ok(HttpResponse::new(
            500,
            headers,
            format!(
                r#"{{"error":{{"message":"Something went wrong","code":131000,"fbtrace_id":"Az{pin}"}}}}"#
            ),
        ))
    }
}

#[tokio::test]
async fn a_pin_echoed_in_the_trace_id_of_set_two_step_pin_is_not_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let client = PortingClient::builder()
        .access_token("EAAG-test-token")
        .transport(Echo)
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(2)
                .with_backoff(Duration::ZERO, Duration::ZERO),
        )
        .build()
        .unwrap();
    let id = PhoneNumberId::new("110200345501442").unwrap();
    let error = client
        .set_two_step_pin(&id, &Pin::new(PIN).unwrap())
        .await
        .unwrap_err();
    // The error the caller holds is masked...
    assert!(!format!("{error:?}").contains(PIN), "{error:?}");
    // ...and so must be every log line.
    let log = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    for line in log.lines() {
        assert!(!line.contains(PIN), "a log line shows the PIN: {line}");
    }
}
