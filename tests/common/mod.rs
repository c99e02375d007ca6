//! Helpers shared by the integration test binaries (each `tests/<area>/main.rs`
//! includes this module): the wiremock fixtures at the root, the other kinds
//! of helper in submodules by purpose.
#![allow(dead_code)] // each test file uses a different subset

use std::time::Duration;

use serde_json::{json, Value};
use waba_porting::{
    BusinessId, CodeMethod, Language, PhoneNumber, PortingClient, PortingSession, RetryPolicy,
    WabaId,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const TOKEN: &str = "EAAG-test-token-do-not-log";
pub const WABA: &str = "102290129340398";
pub const BUSINESS: &str = "106540352242922";
pub const PHONE: &str = "+1 (415) 555-0123";
pub const NUMBER_ID: &str = "110200345501442";
pub const VERSION: &str = "v25.0";

pub fn client(server: &MockServer) -> PortingClient {
    client_with_timeout(server, Duration::from_secs(5))
}

/// A client that sends each step once (no retry policy): these tests look at
/// single answers; the policy has its own tests.
pub fn client_with_timeout(server: &MockServer, timeout: Duration) -> PortingClient {
    PortingClient::builder()
        .access_token(TOKEN)
        .base_url(server.uri())
        .timeout(timeout)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("valid test configuration")
}

pub fn session() -> PortingSession {
    PortingSession::new(
        PhoneNumber::parse(PHONE).unwrap(),
        WabaId::new(WABA).unwrap(),
        BusinessId::new(BUSINESS).unwrap(),
    )
}

pub fn sms() -> (CodeMethod, Language) {
    (CodeMethod::Sms, Language::default())
}

pub fn start_path() -> String {
    format!("/{VERSION}/{WABA}/phone_numbers")
}

pub fn number_path(edge: &str) -> String {
    format!("/{VERSION}/{NUMBER_ID}/{edge}")
}

/// A Graph error envelope with the reference's field set (the simulator's
/// own bodies, so both kinds of test see the same bytes).
#[cfg(feature = "simulator")]
pub fn graph_error(code: i64, subcode: Option<i64>, title: &str) -> Value {
    let answer =
        waba_porting::simulator::reference::graph_error(400, code, subcode, title, "AZ8or2-trace");
    serde_json::from_str(&answer.body).expect("reference bodies are JSON")
}

/// Starts the migration and requests an SMS code.
pub async fn to_code_requested(client: &PortingClient, session: &mut PortingSession) {
    let (method, language) = sms();
    client.start_migration(session).await.unwrap();
    client
        .request_code(session, method, &language)
        .await
        .unwrap();
}

pub fn error_response(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

pub fn success() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"success": true}))
}

/// Mounts a mock answering `verb path` with `response`, at most `times` times
/// (then the next mock mounted for the same route answers).
pub async fn answer(
    server: &MockServer,
    verb: &str,
    route: &str,
    response: ResponseTemplate,
    times: u64,
) {
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(response)
        .up_to_n_times(times)
        .mount(server)
        .await;
}

/// Mounts the four successful steps.
pub async fn mount_happy_path(server: &MockServer) {
    answer(
        server,
        "POST",
        &start_path(),
        ResponseTemplate::new(200).set_body_json(json!({"id": NUMBER_ID})),
        1,
    )
    .await;
    for edge in ["request_code", "verify_code", "register"] {
        answer(server, "POST", &number_path(edge), success(), 1).await;
    }
}

pub async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

pub fn body_json(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("request body is JSON")
}

pub fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The name the test harness gives the test `name` of the module whose
/// `module_path!()` is `module` (the path without the binary's own name), as
/// `--exact` wants it: a test that runs itself again in a child process
/// names itself with it, whatever binary and module it is in.
pub fn test_name(module: &str, name: &str) -> String {
    match module.split_once("::") {
        Some((_, path)) => format!("{path}::{name}"),
        None => name.to_owned(),
    }
}

/// Graph's 2388012: the number is already in the destination's list.
#[cfg(feature = "simulator")]
pub fn already_in_list() -> ResponseTemplate {
    error_response(
        400,
        graph_error(
            2388012,
            None,
            "This phone number already exists in your list of phone numbers",
        ),
    )
}

/// HTTP 429, Graph code 80007, with this `Retry-After` header.
#[cfg(feature = "simulator")]
pub fn rate_limited(retry_after: &str) -> ResponseTemplate {
    error_response(429, graph_error(80007, None, "Rate limit hit"))
        .insert_header("Retry-After", retry_after)
}

/// Set in the child process [`run_alone`] starts.
const ALONE: &str = "WABA_TEST_ALONE";

/// Whether this process is the child [`run_alone`] started for one test.
pub fn is_alone() -> bool {
    std::env::var_os(ALONE).is_some()
}

/// Runs the test `name` of the module whose `module_path!()` is `module`
/// again, alone in a child process of this test binary, and fails when it
/// fails there (or is not found): for a test that measures the whole
/// process (its threads), which the other tests of its binary would disturb.
/// The test runs its body when [`is_alone`], and calls this otherwise.
pub fn run_alone(module: &str, name: &str) {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            test_name(module, name).as_str(),
            "--exact",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(ALONE, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{name}, run alone: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    print!("{stdout}");
}

#[cfg(feature = "simulator")]
pub mod crash;
#[cfg(feature = "simulator")]
pub mod hooked;
#[cfg(feature = "tracing")]
pub mod logs;
pub mod routes;
#[cfg(feature = "test-util")]
pub mod scripted;
pub mod stores;
#[cfg(feature = "webhooks")]
pub mod webhooks;
#[cfg(feature = "simulator")]
pub mod wire;

/// proptest's settings for `cases` cases, its failures saved beside the
/// source file (`<file>.proptest-regressions`): proptest's default looks for
/// the nearest `main.rs`, which in a test binary's directory would put them
/// in a `tests/proptest-regressions/` folder of its own.
pub fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..proptest::test_runner::Config::default()
    }
}
