//! What the SDK costs next to the network and next to bare JSON parsing,
//! printed as `name: value` lines:
//!
//! - `overhead_ratio`: a four-call port through `PortingClient` +
//!   `ReqwestTransport` against a minimal hyper server on loopback
//!   (answering fixed bodies), versus the same four requests (same bodies,
//!   headers and per-request timeout) with bare `reqwest` + `serde_json`
//!   against the same server. Interleaved A/B rounds in one process (the
//!   order alternates), median of the per-round ratios.
//! - `classify_ratio`: decoding and classifying every reference error body
//!   ([`Error::from_response`], what the client does with each answer)
//!   versus `serde_json::from_slice::<serde_json::Value>` of the same
//!   bytes; median of per-round ratios.
//!
//! ```sh
//! cargo bench --bench overhead
//! ```

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use waba_porting::simulator::reference::{self as answers, texts};
use waba_porting::transport::HttpResponse;
use waba_porting::{
    BusinessId, CodeMethod, Error, Language, Operation, PhoneNumber, Pin, PortingClient,
    PortingSession, RetryPolicy, Timestamp, VerificationCode, WabaId,
};

const TOKEN: &str = "bench-token";
const TIMEOUT: Duration = Duration::from_secs(30);

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let created = request.uri().path().ends_with("/phone_numbers");
    // Read the body, as a server does.
    let _ = request.into_body().collect().await;
    let body: &'static [u8] = if created {
        br#"{"id":"110200345501442"}"#
    } else {
        br#"{"success":true}"#
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body)));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

async fn server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service_fn(answer))
                    .await;
            });
        }
    });
    addr
}

struct Port {
    phone: PhoneNumber,
    waba: WabaId,
    business: BusinessId,
    code: VerificationCode,
    pin: Pin,
    language: Language,
}

async fn port_with_sdk(client: &PortingClient, p: &Port) {
    let mut session = PortingSession::new(p.phone.clone(), p.waba.clone(), p.business.clone());
    client.start_migration(&mut session).await.expect("start");
    client
        .request_code(&mut session, CodeMethod::Sms, &p.language)
        .await
        .expect("code");
    client
        .verify_code(&mut session, &p.code)
        .await
        .expect("verify");
    client
        .register(&mut session, &p.pin, None)
        .await
        .expect("register");
}

async fn post(http: &reqwest::Client, url: String, body: &Value) -> Value {
    let response = http
        .post(url)
        .timeout(TIMEOUT)
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(body).expect("json"))
        .send()
        .await
        .expect("send");
    assert!(response.status().is_success());
    let bytes = response.bytes().await.expect("body");
    serde_json::from_slice(&bytes).expect("json")
}

async fn port_bare(http: &reqwest::Client, root: &str) {
    let created = post(
        http,
        format!("{root}/v25.0/102290129340398/phone_numbers"),
        &json!({"cc": "1", "migrate_phone_number": true, "phone_number": "4155550123"}),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    for (edge, body) in [
        (
            "request_code",
            json!({"code_method": "SMS", "language": "en_US"}),
        ),
        ("verify_code", json!({"code": "123830"})),
        (
            "register",
            json!({"messaging_product": "whatsapp", "pin": "482913"}),
        ),
    ] {
        let answer = post(http, format!("{root}/v25.0/{id}/{edge}"), &body).await;
        assert_eq!(answer["success"], Value::Bool(true));
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn overhead_ratio() -> (f64, f64, f64) {
    const ROUNDS: usize = 31;
    const PORTS: usize = 100;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let addr = server().await;
        let root = format!("http://{addr}");
        let client = PortingClient::builder()
            .access_token(TOKEN)
            .base_url(root.clone())
            .timeout(TIMEOUT)
            .retry_policy(RetryPolicy::none())
            .build()
            .expect("client");
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("reqwest");
        let port = Port {
            phone: PhoneNumber::parse("+1 415 555 0123").expect("phone"),
            waba: WabaId::new("102290129340398").expect("waba"),
            business: BusinessId::new("106540352242922").expect("business"),
            code: VerificationCode::new("123830").expect("code"),
            pin: Pin::new("482913").expect("pin"),
            language: Language::default(),
        };
        // Warm both connection pools.
        for _ in 0..PORTS {
            port_with_sdk(&client, &port).await;
            port_bare(&http, &root).await;
        }
        let (mut ratios, mut sdk, mut bare) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let mut time_sdk = Duration::ZERO;
            let mut time_bare = Duration::ZERO;
            for half in 0..2 {
                let started = Instant::now();
                if (round + half) % 2 == 0 {
                    for _ in 0..PORTS {
                        port_with_sdk(&client, &port).await;
                    }
                    time_sdk += started.elapsed();
                } else {
                    for _ in 0..PORTS {
                        port_bare(&http, &root).await;
                    }
                    time_bare += started.elapsed();
                }
            }
            ratios.push(time_sdk.as_secs_f64() / time_bare.as_secs_f64());
            sdk.push(time_sdk.as_secs_f64() * 1e6 / PORTS as f64);
            bare.push(time_bare.as_secs_f64() * 1e6 / PORTS as f64);
        }
        (median(ratios), median(sdk), median(bare))
    })
}

/// Every error answer of the reference, as the client receives it.
fn reference_error_answers() -> Vec<(Operation, HttpResponse)> {
    let trace = "AbCdEf123";
    let mut all = Vec::new();
    for text in [
        texts::ON_BEHALF_NOT_APPROVED,
        texts::TWO_STEP_ENABLED,
        texts::ADD_DIRECTLY,
        texts::ALREADY_IN_LIST,
        texts::DIFFERENT_BUSINESS,
        texts::ERROR_MIGRATING,
        texts::CANNOT_MIGRATE,
        texts::NAME_NOT_APPROVED,
        texts::SOURCE_NOT_SET_UP,
        texts::NO_PAYMENT_ACCOUNT,
        texts::WABA_NOT_APPROVED,
    ] {
        all.push((
            Operation::StartMigration,
            answers::migration_error(text, trace),
        ));
    }
    all.push((Operation::StartMigration, answers::already_in_list(trace)));
    all.push((Operation::Register, answers::pin_mismatch(trace)));
    all.push((Operation::Register, answers::not_verified(trace)));
    all.push((Operation::Register, answers::register_limit(trace)));
    all.push((Operation::VerifyCode, answers::code_rejected(true, trace)));
    all.push((Operation::VerifyCode, answers::code_rejected(false, trace)));
    all.push((Operation::RequestCode, answers::invalid_token(trace)));
    all.push((
        Operation::RequestCode,
        answers::invalid_parameter("code_method must be SMS or VOICE", trace),
    ));
    all.push((
        Operation::Register,
        answers::unknown_object("110200345501442", trace),
    ));
    all.push((Operation::Register, answers::something_went_wrong(trace)));
    all.push((Operation::Register, answers::service_unavailable(trace)));
    for code in [4, 17, 80007, 130429] {
        all.push((Operation::RequestCode, answers::rate_limited(code, trace)));
    }
    all.into_iter()
        .map(|(op, answer)| (op, answer.into_response()))
        .collect()
}

fn classify_ratio() -> (f64, usize) {
    const ROUNDS: usize = 31;
    const REPEATS: usize = 2_000;
    let bodies = reference_error_answers();
    let now = Timestamp::now();
    for (operation, response) in &bodies {
        assert!(Error::from_response(*operation, response, now).is_some());
    }
    let mut ratios = Vec::new();
    for round in 0..ROUNDS {
        let mut classify = Duration::ZERO;
        let mut parse = Duration::ZERO;
        for half in 0..2 {
            let started = Instant::now();
            if (round + half) % 2 == 0 {
                for _ in 0..REPEATS {
                    for (operation, response) in &bodies {
                        black_box(Error::from_response(*operation, black_box(response), now));
                    }
                }
                classify += started.elapsed();
            } else {
                for _ in 0..REPEATS {
                    for (_, response) in &bodies {
                        black_box(serde_json::from_slice::<Value>(black_box(&response.body)).ok());
                    }
                }
                parse += started.elapsed();
            }
        }
        ratios.push(classify.as_secs_f64() / parse.as_secs_f64());
    }
    (median(ratios), bodies.len())
}

fn main() {
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    if wanted("classify_ratio") {
        let (ratio, bodies) = classify_ratio();
        println!("classify_ratio: {ratio:.3}");
        println!("classify_bodies: {bodies}");
    }
    if wanted("overhead_ratio") {
        let (ratio, sdk, bare) = overhead_ratio();
        println!("overhead_ratio: {ratio:.4}");
        println!("overhead_port_us_sdk: {sdk:.1}");
        println!("overhead_port_us_bare: {bare:.1}");
    }
}
