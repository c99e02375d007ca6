//! Any answers — status, `Retry-After`, body — to every request the client
//! makes: no panic, and the session always saves and loads.
#![no_main]

use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use waba_porting::transport::{Headers, HttpRequest, HttpResponse, Transport, TransportError};
use waba_porting::{
    BusinessId, CodeMethod, Language, PhoneNumber, PhoneNumberId, Pin, PortingClient,
    PortingSession, RetryPolicy, Sleep, StepOutcome, Timestamp, TransportErrorKind,
    VerificationCode, WabaId,
};

#[derive(Debug)]
struct Scripted(Mutex<Vec<Option<HttpResponse>>>);

#[waba_porting::async_trait]
impl Transport for Scripted {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        let next = self.0.lock().map(|mut s| s.pop()).unwrap_or(None);
        match next {
            Some(Some(response)) => Ok(response),
            Some(None) => Err(TransportError::from_kind(TransportErrorKind::Timeout)),
            None => Err(TransportError::from_kind(TransportErrorKind::Connect)),
        }
    }
}

#[derive(Debug)]
struct NoSleep;

#[waba_porting::async_trait]
impl Sleep for NoSleep {
    async fn sleep(&self, _: std::time::Duration) {}
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Splits the input into answers: per answer a 1-byte kind, a 2-byte
/// status, a 1-byte header length, the header, a 2-byte body length, the
/// body.
fn answers(mut data: &[u8]) -> Vec<Option<HttpResponse>> {
    let mut out = Vec::new();
    let take = |n: usize, data: &mut &[u8]| -> Vec<u8> {
        let n = n.min(data.len());
        let (head, rest) = data.split_at(n);
        *data = rest;
        head.to_vec()
    };
    while !data.is_empty() && out.len() < 16 {
        let kind = take(1, &mut data);
        if kind.first().copied().unwrap_or(0) % 8 == 0 {
            out.push(None);
            continue;
        }
        let status = take(2, &mut data);
        let status = 100 + u16::from_le_bytes([
            status.first().copied().unwrap_or(0),
            status.get(1).copied().unwrap_or(0),
        ]) % 500;
        let header_len = take(1, &mut data).first().copied().unwrap_or(0) as usize % 48;
        let header = String::from_utf8_lossy(&take(header_len, &mut data)).into_owned();
        let body_len = take(2, &mut data);
        let body_len = u16::from_le_bytes([
            body_len.first().copied().unwrap_or(0),
            body_len.get(1).copied().unwrap_or(0),
        ]) as usize;
        let body = take(body_len, &mut data);
        let mut headers = Headers::new();
        if !header.is_empty() {
            headers.push("Retry-After", header);
        }
        out.push(Some(HttpResponse::new(status, headers, body)));
    }
    out.reverse();
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let client = PortingClient::builder()
        .access_token("token")
        .transport(Scripted(Mutex::new(answers(rest))))
        .retry_policy(RetryPolicy::default().with_max_attempts(3))
        .sleep(NoSleep)
        .build()
        .expect("valid configuration");
    let Ok(phone) = PhoneNumber::parse("+14155550123") else {
        return;
    };
    let (Ok(waba), Ok(business), Ok(id)) = (
        WabaId::new("102290129340398"),
        BusinessId::new("106540352242922"),
        PhoneNumberId::new("110200345501442"),
    ) else {
        return;
    };
    let mut session = PortingSession::new(phone, waba.clone(), business);
    let t = Timestamp::from_unix_millis(1);
    let step = selector % 6;
    if (1..4).contains(&step) {
        let _ = session.apply(StepOutcome::MigrationStarted { phone_number_id: id.clone() }, t);
    }
    if (2..4).contains(&step) {
        let _ = session.apply(
            StepOutcome::CodeRequested {
                method: CodeMethod::Sms,
                language: Language::default(),
                unconfirmed: false,
                sent_at: None,
            },
            t,
        );
    }
    if step == 3 {
        let _ = session.apply(StepOutcome::CodeVerified, t);
    }
    block_on(async {
        let result = match step {
            0 => client.start_migration(&mut session).await.map(|_| ()),
            1 => client
                .request_code(&mut session, CodeMethod::Voice, &Language::default())
                .await
                .map(|_| ()),
            2 => match VerificationCode::new("123456") {
                Ok(code) => client.verify_code(&mut session, &code).await.map(|_| ()),
                Err(_) => Ok(()),
            },
            3 => match Pin::new("482913") {
                Ok(pin) => client.register(&mut session, &pin, None).await.map(|_| ()),
                Err(_) => Ok(()),
            },
            4 => client.read_phone_number(&id).await.map(|_| ()),
            _ => client.list_phone_numbers(&waba).await.map(|_| ()),
        };
        if let Err(error) = result {
            let _ = (error.to_string(), error.remediation(), error.retry_advice());
        }
        // A second call finds whatever the first left (a marker to reconcile).
        let _ = client.reconcile(&mut session).await;
    });
    let json = serde_json::to_string(&session).expect("sessions serialize");
    let back: PortingSession = serde_json::from_str(&json).expect("saved sessions load");
    assert_eq!(back, session);
});
