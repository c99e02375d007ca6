//! The simulator served over loopback HTTP (feature `sim-server`): ports
//! through `ReqwestTransport` against it, a fleet over HTTP, its control
//! API (call counts, codes, humans' actions, numbers, the clock), malformed
//! control requests, the served latency and shutdown.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use waba_porting::simulator::{
    AddNumbers, CallCounts, ControlError, Fault, RemoteSimulator, Scenario, ServeOptions,
    ServedSimulator, Simulator, SIMULATOR_TOKEN,
};
use waba_porting::transport::{
    HttpRequest, HttpResponse, Method, ReqwestTransport, Transport, TransportErrorKind,
};
use waba_porting::{
    ApiErrorKind, CodeMethod, Fleet, FleetReport, InMemoryStore, Language, Operation, Pin,
    PortingClient, PortingSession, StateName, Timestamp, WabaId,
};

fn pin() -> Pin {
    Pin::new("482913").unwrap()
}

async fn serve(sim: &Simulator) -> (ServedSimulator, RemoteSimulator) {
    let served = sim.serve(([127, 0, 0, 1], 0)).await.unwrap();
    let remote = RemoteSimulator::connect(served.base_url()).unwrap();
    (served, remote)
}

/// (start, request_code, verify_code, register) of `calls`.
fn steps(calls: CallCounts) -> (u32, u32, u32, u32) {
    (
        calls.start_migration,
        calls.request_code,
        calls.verify_code,
        calls.register,
    )
}

/// A raw request through a transport of its own (no pooled connection).
async fn send(method: Method, url: &str, body: &[u8]) -> HttpResponse {
    let mut request = HttpRequest::new(method, url.parse().unwrap());
    request.body = body.to_vec();
    ReqwestTransport::new(None)
        .unwrap()
        .send(request)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_through_reqwest_against_the_served_world_sends_each_step_once() {
    let sim = Scenario::happy_path().wall_clock().build();
    let (served, remote) = serve(&sim).await;
    let client = PortingClient::builder()
        .access_token(SIMULATOR_TOKEN)
        .base_url(served.base_url())
        .transport(ReqwestTransport::new(None).unwrap())
        .build()
        .unwrap();
    let sessions = remote.sessions().await.unwrap();
    assert_eq!(sessions.len(), 1);
    let mut session = sessions.into_iter().next().unwrap();
    assert_eq!(session.phone_number(), sim.session().phone_number());
    let phone = session.phone_number().clone();

    client.start_migration(&mut session).await.unwrap();
    assert_eq!(remote.latest_code(&phone).await.unwrap(), None);
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let code = remote
        .latest_code(&phone)
        .await
        .unwrap()
        .expect("delivered");
    assert_eq!(Some(&code), sim.latest_code(&phone).as_ref());
    client.verify_code(&mut session, &code).await.unwrap();
    client.register(&mut session, &pin(), None).await.unwrap();
    assert_eq!(session.state().name(), StateName::Registered);

    let calls = remote
        .calls(&phone)
        .await
        .unwrap()
        .expect("the world's number");
    assert_eq!(steps(calls), (1, 1, 1, 1));
    assert_eq!(Some(calls), sim.calls(&phone), "one world, read two ways");
    assert!(sim.two_step_pin_is(&phone, &pin()));
    let summary = remote.call_summary().await.unwrap();
    assert_eq!(summary, sim.call_summary());
    assert_eq!((summary.numbers, summary.total.register), (1, 1));
    served.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_of_200_ports_over_http_32_at_a_time_with_every_step_sent_once() {
    let sim = Scenario::happy_path().wall_clock().build();
    sim.log_requests(false);
    let (served, remote) = serve(&sim).await;
    let sessions = remote
        .add_numbers(&AddNumbers::new("happy_path", 0).count(200))
        .await
        .unwrap();
    assert_eq!(sessions.len(), 200);
    let fleet = Fleet::builder(remote.client_builder(), InMemoryStore::new())
        .inputs(remote.customers(pin()))
        .concurrency(32)
        .build()
        .unwrap();
    let report = fleet.run(sessions.clone()).await;
    assert_eq!(report.progress.registered, 200, "{:?}", report.summary());
    assert!(report
        .sessions
        .iter()
        .all(|r| r.state == StateName::Registered));
    for session in &sessions {
        let calls = remote.calls(session.phone_number()).await.unwrap().unwrap();
        assert_eq!(steps(calls), (1, 1, 1, 1), "{}", session.phone_number());
    }
    let summary = remote.call_summary().await.unwrap();
    assert_eq!(summary.numbers, 201);
    assert_eq!(summary.total.register, 200);
    assert_eq!(steps(summary.max), (1, 1, 1, 1));
    served.shutdown().await;
}

/// The fleet example's mix of cases (`examples/fleet.rs`), as numbers to
/// add through the control API and as the in-process scenario.
fn mix(i: u32, shared: &WabaId) -> (AddNumbers, Scenario) {
    let own_waba = matches!(i % 20, 0 | 3 | 4);
    let name = match i % 20 {
        0 => "on_behalf_not_accepted",
        1 => "two_step_enabled",
        2 => "eligible_for_direct_add",
        3 => "business_mismatch",
        4 => "already_in_destination",
        5 => "transient_failure",
        _ => "happy_path",
    };
    let mut remote = AddNumbers::new(name, i);
    let mut local = Scenario::by_name(name).unwrap();
    match i % 20 {
        6 => {
            remote = remote.fault_at(Operation::Register, Fault::AnswerLost, 1);
            local = local.fault_at(Operation::Register, Fault::AnswerLost, 1);
        }
        7 => {
            remote = remote.fault_at(Operation::RequestCode, Fault::AnswerLost, 1);
            local = local.fault_at(Operation::RequestCode, Fault::AnswerLost, 1);
        }
        8 => {
            remote = remote.display_name_approved(false);
            local = local.display_name_approved(false);
        }
        _ => {}
    }
    local = local.numbered(i);
    if !own_waba {
        remote = remote.waba(shared);
        local = local.with_waba(shared.clone());
    }
    (remote, local)
}

fn by_state(report: &FleetReport) -> BTreeMap<&'static str, usize> {
    let mut states = BTreeMap::new();
    for result in &report.sessions {
        *states.entry(result.state.as_str()).or_insert(0) += 1;
    }
    states
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_examples_mix_ends_over_http_as_it_does_in_process() {
    const N: u32 = 40;
    let shared = Scenario::happy_path().waba_id().clone();

    // In process.
    let local = Scenario::happy_path().build();
    let local_sessions: Vec<PortingSession> = (0..N)
        .map(|i| local.add_number(&mix(i, &shared).1))
        .collect();
    let fleet = Fleet::builder(local.client_builder(), InMemoryStore::new())
        .inputs(local.customers(pin()))
        .concurrency(8)
        .build()
        .unwrap();
    let expected = fleet.run(local_sessions.clone()).await;

    // Over HTTP: the lost answers are connections closed unanswered.
    let sim = Scenario::happy_path().wall_clock().build();
    let (served, remote) = serve(&sim).await;
    let mut sessions = Vec::new();
    for i in 0..N {
        sessions.extend(remote.add_numbers(&mix(i, &shared).0).await.unwrap());
    }
    assert_eq!(sessions, local_sessions);
    let fleet = Fleet::builder(remote.client_builder(), InMemoryStore::new())
        .inputs(remote.customers(pin()))
        .concurrency(8)
        .build()
        .unwrap();
    let report = fleet.run(sessions.clone()).await;

    assert_eq!(by_state(&report), by_state(&expected));
    assert!(by_state(&report).len() >= 4, "{:?}", by_state(&report));
    assert_eq!(report.summary(), expected.summary());
    for session in &sessions {
        let phone = session.phone_number();
        let served_calls = remote.calls(phone).await.unwrap().unwrap();
        let local_calls = local.calls(phone).unwrap();
        assert_eq!(steps(served_calls), steps(local_calls), "{phone}");
        assert!(served_calls.register <= 1 && served_calls.request_code <= 2);
    }
    served.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_closes_the_connection_and_the_client_reconciles() {
    let sim = Scenario::happy_path().wall_clock().build();
    let (served, remote) = serve(&sim).await;
    let mut session = remote
        .add_numbers(&AddNumbers::new("happy_path", 1).fault_at(
            Operation::Register,
            Fault::AnswerLost,
            1,
        ))
        .await
        .unwrap()
        .remove(0);
    // A transport error of kind Other, as a reset is (the raw answer).
    let client = remote.client_builder().build().unwrap();
    client.start_migration(&mut session).await.unwrap();
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let code = remote
        .latest_code(session.phone_number())
        .await
        .unwrap()
        .unwrap();
    client.verify_code(&mut session, &code).await.unwrap();
    client.register(&mut session, &pin(), None).await.unwrap();
    assert_eq!(session.state().name(), StateName::Registered);
    let calls = remote.calls(session.phone_number()).await.unwrap().unwrap();
    assert_eq!(calls.register, 1, "reconciled by a read, not sent again");
    assert!(calls.read >= 1);
    served.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_humans_act_through_the_control_api() {
    let sim = Scenario::happy_path().wall_clock().build();
    let (served, remote) = serve(&sim).await;
    let client = remote.client_builder().build().unwrap();
    let mut on_behalf = remote
        .add_numbers(&AddNumbers::new("on_behalf_not_accepted", 1))
        .await
        .unwrap()
        .remove(0);
    let err = client.start_migration(&mut on_behalf).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::OnBehalfNotAccepted));
    assert!(remote.approve_on_behalf(on_behalf.waba_id()).await.unwrap());
    client.start_migration(&mut on_behalf).await.unwrap();

    let mut two_step = remote
        .add_numbers(&AddNumbers::new("happy_path", 2).two_step_pin(Some("111111")))
        .await
        .unwrap()
        .remove(0);
    let err = client.start_migration(&mut two_step).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::TwoStepEnabled));
    assert!(remote
        .disable_two_step(two_step.phone_number())
        .await
        .unwrap());
    client.start_migration(&mut two_step).await.unwrap();
    assert!(remote
        .set_two_step_pin(two_step.phone_number(), Some("222222"))
        .await
        .unwrap());
    assert!(sim.two_step_pin_is(two_step.phone_number(), &Pin::new("222222").unwrap()));

    let mut mismatch = remote
        .add_numbers(&AddNumbers::new("business_mismatch", 3))
        .await
        .unwrap()
        .remove(0);
    let err = client.start_migration(&mut mismatch).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::BusinessMismatch));
    assert!(remote
        .align_business(mismatch.waba_id(), mismatch.phone_number())
        .await
        .unwrap());
    for (waba, phone) in [(mismatch.waba_id(), mismatch.phone_number())] {
        assert!(remote.approve_waba(waba).await.unwrap());
        assert!(remote.add_payment_method(waba).await.unwrap());
        assert!(remote.subscribe_webhooks(waba).await.unwrap());
        assert!(remote.approve_display_name(phone).await.unwrap());
        assert!(remote.fix_source_account(phone).await.unwrap());
    }
    let mut fresh = PortingSession::new(
        mismatch.phone_number().clone(),
        mismatch.waba_id().clone(),
        mismatch.business_id().clone(),
    );
    client.start_migration(&mut fresh).await.unwrap();

    // Unknown to the world: false and None, not errors.
    let stranger = waba_porting::PhoneNumber::parse("+14155550199").unwrap();
    let nowhere = WabaId::new("999999999999999").unwrap();
    assert!(!remote.approve_on_behalf(&nowhere).await.unwrap());
    assert!(!remote.disable_two_step(&stranger).await.unwrap());
    assert_eq!(remote.calls(&stranger).await.unwrap(), None);
    assert_eq!(remote.latest_code(&stranger).await.unwrap(), None);
    served.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clock_is_read_and_moved_over_the_control_api() {
    // A clock that stands still until told.
    let sim = Scenario::happy_path().build();
    let (served, remote) = serve(&sim).await;
    let start = remote.now().await.unwrap();
    assert_eq!(start, sim.now());
    let later = remote.advance(Duration::from_secs(90)).await.unwrap();
    assert_eq!(later, start.saturating_add(Duration::from_secs(90)));
    assert_eq!(sim.now(), later);
    let set = remote.set_time(start).await.unwrap();
    assert_eq!((set, sim.now()), (start, start));
    served.shutdown().await;

    // A clock that follows the system clock.
    let sim = Scenario::happy_path().wall_clock().build();
    let (served, remote) = serve(&sim).await;
    let before = Timestamp::now();
    let now = remote.now().await.unwrap();
    assert!(before <= now && now <= Timestamp::now());
    let hour = Duration::from_secs(3600);
    let ahead = remote.advance(hour).await.unwrap();
    assert!(ahead >= before.saturating_add(hour));
    assert!(
        remote.now().await.unwrap() >= ahead,
        "it runs on from there"
    );
    served.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_control_requests_get_a_4xx_and_the_server_goes_on() {
    let sim = Scenario::happy_path().build();
    let (served, remote) = serve(&sim).await;
    let base = served.base_url();
    let phone = sim.session().phone_number().e164().to_owned();
    for (method, path, body, status) in [
        (Method::Get, "/_sim/nope".to_owned(), "", 404),
        (Method::Post, "/_sim/world".to_owned(), "", 405),
        (Method::Post, "/_sim/numbers".to_owned(), "not json", 400),
        (
            Method::Post,
            "/_sim/numbers".to_owned(),
            r#"{"scenario":"nope","index":0}"#,
            400,
        ),
        (
            Method::Post,
            "/_sim/clock/advance".to_owned(),
            r#"{"ms":-1}"#,
            400,
        ),
        (Method::Get, "/_sim/numbers/12ab/calls".to_owned(), "", 400),
        // An escaped `+` is a `+`.
        (
            Method::Get,
            "/_sim/numbers/%2B14155550199/code".to_owned(),
            "",
            404,
        ),
        (Method::Get, format!("/_sim/numbers/{phone}/code%"), "", 404),
        (
            Method::Post,
            format!("/_sim/numbers/{phone}/two_step_pin"),
            r#"{"pin":7}"#,
            400,
        ),
    ] {
        let answer = send(method, &format!("{base}{path}"), body.as_bytes()).await;
        assert_eq!(answer.status, status, "{method} {path} {body}");
        let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert!(json["error"]["message"].is_string(), "{json}");
    }
    let escaped = send(
        Method::Get,
        &format!("{base}/_sim/numbers/%2B{}/calls", &phone[1..]),
        b"",
    )
    .await;
    assert_eq!(escaped.status, 200);

    // Too large a body.
    let huge = vec![b' '; 2 << 20];
    let answer = send(Method::Post, &format!("{base}/_sim/numbers"), &huge).await;
    assert_eq!(answer.status, 413);

    // Methods the crate's transport cannot send, and bytes that are no HTTP.
    let head = |request: &str| {
        let request = request.to_owned();
        let addr = served.addr();
        async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer).await;
            String::from_utf8_lossy(&answer).into_owned()
        }
    };
    let delete = head("DELETE /_sim/world HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert!(delete.starts_with("HTTP/1.1 405"), "{delete}");
    let graph =
        head("PUT /v25.0/1/register HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert!(graph.starts_with("HTTP/1.1 400"), "{graph}");
    let garbage = head("\u{1}\u{2} nonsense\r\n\r\n").await;
    assert!(
        garbage.is_empty() || garbage.starts_with("HTTP/1.1 4"),
        "{garbage}"
    );

    // Through the client: refusals are errors with the server's reason.
    let refused = remote
        .add_numbers(&AddNumbers::new("nope", 0))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, ControlError::Refused { status: 400, code, .. } if code == "bad_request"),
        "{refused:?}"
    );
    let refused = remote
        .set_two_step_pin(sim.session().phone_number(), Some("12"))
        .await
        .unwrap_err();
    assert!(matches!(refused, ControlError::Refused { status: 400, .. }));
    let refused = remote
        .add_numbers(&AddNumbers::new("happy_path", 0).count(0))
        .await
        .unwrap_err();
    assert!(matches!(refused, ControlError::Refused { status: 400, .. }));

    // Still serving, and nothing was added.
    assert_eq!(remote.call_summary().await.unwrap().numbers, 1);
    served.shutdown().await;
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_served_latency_delays_graph_answers_and_not_control_answers() {
    // Tokio's clock is paused and jumps to the next timer whenever the
    // runtime waits: a day of latency passes in no real time, and only
    // the server's latency and the client pool's timers are set.
    let day = Duration::from_secs(24 * 3600);
    let sim = Scenario::happy_path().build();
    let served = sim
        .serve_with(([127, 0, 0, 1], 0), ServeOptions::new().with_latency(day))
        .await
        .unwrap();
    assert_eq!(served.options().latency(), day);
    let transport = ReqwestTransport::new(None).unwrap();
    let base = served.base_url();

    let started = tokio::time::Instant::now();
    let world = HttpRequest::new(Method::Get, format!("{base}/_sim/world").parse().unwrap());
    assert_eq!(transport.send(world).await.unwrap().status, 200);
    assert!(started.elapsed() < day, "control answers are not delayed");

    let started = tokio::time::Instant::now();
    let waba = sim.scenario().waba_id().as_str();
    let mut read = HttpRequest::new(
        Method::Get,
        format!("{base}/v25.0/{waba}?fields=id").parse().unwrap(),
    );
    read.headers
        .push("Authorization", format!("Bearer {SIMULATOR_TOKEN}"));
    assert_eq!(transport.send(read).await.unwrap().status, 200);
    assert!(started.elapsed() >= day, "{:?}", started.elapsed());
    served.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_refuses_connections() {
    let sim = Scenario::happy_path().build();
    let (served, _) = serve(&sim).await;
    let url = format!("{}/_sim/world", served.base_url());
    assert_eq!(send(Method::Get, &url, b"").await.status, 200);
    served.shutdown().await;
    let request = HttpRequest::new(Method::Get, url.parse().unwrap());
    let err = ReqwestTransport::new(None)
        .unwrap()
        .send(request)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), TransportErrorKind::Connect);

    // Dropping it stops it too.
    let (served, _) = serve(&sim).await;
    let url = format!("{}/_sim/world", served.base_url());
    drop(served);
    tokio::task::yield_now().await;
    let request = HttpRequest::new(Method::Get, url.parse().unwrap());
    let mut refused = false;
    for _ in 0..100 {
        match ReqwestTransport::new(None)
            .unwrap()
            .send(request.clone())
            .await
        {
            Err(e) if e.kind() == TransportErrorKind::Connect => {
                refused = true;
                break;
            }
            _ => tokio::task::yield_now().await,
        }
    }
    assert!(refused);
}

#[tokio::test]
async fn only_loopback_addresses_are_served() {
    let sim = Scenario::happy_path().build();
    let err = sim.serve(([0, 0, 0, 0], 0)).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(RemoteSimulator::connect("http://192.0.2.1:8080").is_err());
    assert!(RemoteSimulator::connect("https://sim.example").is_ok());
}
