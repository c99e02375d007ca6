//! The SDK's own cost, without any network: a full port through an
//! in-process transport, an error answer classified, a session persisted.
//!
//! ```sh
//! cargo bench --bench flow
//! ```

use std::hint::black_box;

use async_trait::async_trait;
use criterion::{criterion_group, criterion_main, Criterion};
use waba_porting::transport::{Headers, HttpRequest, HttpResponse, Transport, TransportError};
use waba_porting::{
    BusinessId, CodeMethod, Language, PhoneNumber, Pin, PortingClient, PortingSession,
    VerificationCode, WabaId,
};

/// Answers like the Graph API's success bodies, instantly.
#[derive(Debug)]
struct Canned {
    error: bool,
}

#[async_trait]
impl Transport for Canned {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let body: &[u8] = if self.error {
            br#"{"error":{"message":"(#2388103) Your WhatsApp account's \"Messaging For\" request must be approved","type":"OAuthException","code":2388103,"error_user_title":"Messaging For request must be approved","fbtrace_id":"Az8or2"}}"#
        } else if request.url.path().ends_with("/phone_numbers") {
            br#"{"id":"110200345501442"}"#
        } else {
            br#"{"success":true}"#
        };
        Ok(HttpResponse::new(
            if self.error { 400 } else { 200 },
            Headers::new(),
            body,
        ))
    }
}

fn session() -> PortingSession {
    PortingSession::new(
        PhoneNumber::parse("+1 (415) 555-0123").expect("valid"),
        WabaId::new("102290129340398").expect("valid"),
        BusinessId::new("106540352242922").expect("valid"),
    )
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let ok = PortingClient::builder()
        .access_token("bench-token")
        .transport(Canned { error: false })
        .build()
        .expect("client");
    let failing = PortingClient::builder()
        .access_token("bench-token")
        .transport(Canned { error: true })
        .build()
        .expect("client");
    let pin = Pin::new("482913").expect("pin");
    let code = VerificationCode::new("123-830").expect("code");
    let language = Language::default();

    // The number is parsed once (parsing is benched on its own below).
    let template = session();
    c.bench_function("full_port_four_steps", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut s = PortingSession::new(
                    template.phone_number().clone(),
                    template.waba_id().clone(),
                    template.business_id().clone(),
                );
                ok.start_migration(&mut s).await.expect("start");
                ok.request_code(&mut s, CodeMethod::Sms, &language)
                    .await
                    .expect("code");
                ok.verify_code(&mut s, &code).await.expect("verify");
                ok.register(&mut s, &pin, None).await.expect("register");
                black_box(s)
            })
        })
    });

    c.bench_function("start_error_classified", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut s = session();
                black_box(failing.start_migration(&mut s).await.is_err())
            })
        })
    });

    let mut midway = session();
    rt.block_on(ok.start_migration(&mut midway)).expect("start");
    rt.block_on(ok.request_code(&mut midway, CodeMethod::Sms, &language))
        .expect("code");
    c.bench_function("session_json_round_trip", |b| {
        b.iter(|| {
            let json = serde_json::to_string(black_box(&midway)).expect("serialize");
            black_box(serde_json::from_str::<PortingSession>(&json).expect("deserialize"))
        })
    });

    c.bench_function("phone_number_parse", |b| {
        b.iter(|| black_box(PhoneNumber::parse(black_box("+1 (415) 555-0123"))))
    });
}

criterion_group!(flow, benches);
criterion_main!(flow);
