//! Test utilities for crates that build on this one (the `test-util`
//! feature): [`MockTransport`] answers from a script and records what the
//! client sent, so your own porting logic can be tested without a network,
//! a mock server or the [simulator](crate::simulator).
//! [`store_conformance`] checks a [`SessionStore`](crate::SessionStore)
//! against its contract.
//!
//! ```
//! use waba_porting::test_util::{responses, Matcher, MockTransport};
//! use waba_porting::{BusinessId, Operation, PhoneNumber, PortingClient, PortingSession, WabaId};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let mock = MockTransport::new();
//! mock.respond(Matcher::operation(Operation::StartMigration), responses::id("110200345501442"));
//! let client = PortingClient::builder()
//!     .access_token("test-token")
//!     .transport(mock.clone())
//!     .build()?;
//! let mut session = PortingSession::new(
//!     PhoneNumber::parse("+1 415 555 0123")?,
//!     WabaId::new("102290129340398")?,
//!     BusinessId::new("106540352242922")?,
//! );
//! client.start_migration(&mut session).await?;
//! mock.assert_called(&Matcher::operation(Operation::StartMigration), 1);
//! mock.assert_no_unmatched();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod store_conformance;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::operation::Operation;
use crate::transport::{
    Headers, HttpRequest, HttpResponse, Method, Transport, TransportError, TransportErrorKind,
};

/// Which requests an entry of the script answers. Every condition given
/// must hold; [`Matcher::any`] has none.
///
/// Its `Debug` form is what the assertion helpers print.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Matcher {
    operation: Option<Operation>,
    method: Option<Method>,
    path_suffix: Option<String>,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    body_contains: Option<Vec<u8>>,
}

impl Matcher {
    /// Every request.
    pub fn any() -> Self {
        Self::default()
    }

    /// Requests of `operation`, told by method and path (and, for the two
    /// reads of an object, by the fields asked for): see
    /// [`operation_of`].
    pub fn operation(operation: Operation) -> Self {
        Self {
            operation: Some(operation),
            ..Self::default()
        }
    }

    /// Only requests with this method.
    #[must_use]
    pub fn method(mut self, method: Method) -> Self {
        self.method = Some(method);
        self
    }

    /// Only requests whose URL path ends with `suffix`
    /// (`"/110200345501442/register"`).
    #[must_use]
    pub fn path_ends_with(mut self, suffix: impl Into<String>) -> Self {
        self.path_suffix = Some(suffix.into());
        self
    }

    /// Only requests with this header (name case-insensitive, value exact).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Only requests with this query parameter.
    #[must_use]
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Only requests whose body contains these bytes.
    #[must_use]
    pub fn body_contains(mut self, needle: impl AsRef<[u8]>) -> Self {
        self.body_contains = Some(needle.as_ref().to_vec());
        self
    }

    /// Whether `request` meets every condition.
    pub fn matches(&self, request: &HttpRequest) -> bool {
        let operation_ok = self
            .operation
            .is_none_or(|op| operation_of(request) == Some(op));
        let method_ok = self.method.is_none_or(|m| m == request.method);
        let path_ok = self
            .path_suffix
            .as_deref()
            .is_none_or(|suffix| request.url.path().ends_with(suffix));
        let headers_ok = self
            .headers
            .iter()
            .all(|(name, value)| request.headers.get(name) == Some(value.as_str()));
        let query_ok = self.query.iter().all(|(name, value)| {
            request
                .url
                .query_pairs()
                .any(|(n, v)| n == name.as_str() && v == value.as_str())
        });
        let body_ok = self.body_contains.as_deref().is_none_or(|needle| {
            needle.is_empty() || request.body.windows(needle.len()).any(|w| w == needle)
        });
        operation_ok && method_ok && path_ok && headers_ok && query_ok && body_ok
    }
}

/// Which [`Operation`] a request of this client is, from its method and
/// path (`/{version}/{id}[/{edge}]`, after any path of the base URL); a read of an object (`GET /{id}`) is
/// a [`ReadWaba`](Operation::ReadWaba) when it asks for WABA fields and a
/// [`ReadPhoneNumber`](Operation::ReadPhoneNumber) otherwise. `None` for
/// anything else.
pub fn operation_of(request: &HttpRequest) -> Option<Operation> {
    let segments: Vec<&str> = request
        .url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    // After the API version (`v25.0`), whatever path a proxy's base URL
    // puts before it.
    let version = segments
        .iter()
        .rposition(|s| Operation::is_api_version(s))?;
    let edge = match segments.get(version + 1..).unwrap_or_default() {
        [_] => "",
        [_, edge] => edge,
        _ => return None,
    };
    // Any field only a WABA has (a readiness re-request may leave some out).
    let reads_waba = request.url.query_pairs().any(|(name, value)| {
        name == "fields"
            && value.split(',').any(|field| {
                matches!(
                    field.trim(),
                    "account_review_status"
                        | "business_verification_status"
                        | "primary_funding_id"
                        | "on_behalf_of_business_info"
                )
            })
    });
    match Operation::from_route(request.method, edge)? {
        Operation::ReadPhoneNumber if reads_waba => Some(Operation::ReadWaba),
        operation => Some(operation),
    }
}

/// What a script entry answers.
#[derive(Clone, Debug)]
enum Reply {
    Response(HttpResponse),
    Failure(TransportErrorKind),
}

#[derive(Debug)]
struct Entry {
    matcher: Matcher,
    reply: Reply,
    /// `None`: every time.
    remaining: Option<u32>,
}

#[derive(Debug, Default)]
struct Script {
    entries: Vec<Entry>,
    requests: Vec<HttpRequest>,
    unmatched: Vec<HttpRequest>,
}

/// A [`Transport`] that answers from a script and records every request.
///
/// Each request takes the first entry (in the order added) whose
/// [`Matcher`] matches and that has answers left; an entry added with
/// [`respond`](Self::respond) answers every time, one added with
/// [`respond_times`](Self::respond_times) that many times, so a sequence —
/// a 500, then a success — is two entries. A request nothing matches gets a
/// [`TransportError`] (kind `Other`) whose message describes it, and is kept
/// for [`assert_no_unmatched`](Self::assert_no_unmatched).
///
/// Clones share the script and the record: give one to the client, keep one
/// to script and assert. Recorded requests hold what was sent — the token,
/// the PIN, the code — for your assertions; what the helpers print is
/// redacted (the request's `Debug`).
#[derive(Clone, Default)]
pub struct MockTransport {
    script: Arc<Mutex<Script>>,
}

impl fmt::Debug for MockTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let script = self.script();
        f.debug_struct("MockTransport")
            .field("entries", &script.entries.len())
            .field("requests", &script.requests.len())
            .field("unmatched", &script.unmatched.len())
            .finish()
    }
}

impl MockTransport {
    /// An empty script: every request is unmatched until answers are added.
    pub fn new() -> Self {
        Self::default()
    }

    fn script(&self) -> MutexGuard<'_, Script> {
        // A test that panicked while holding the lock left a usable record.
        self.script.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, matcher: Matcher, reply: Reply, remaining: Option<u32>) -> &Self {
        self.script().entries.push(Entry {
            matcher,
            reply,
            remaining,
        });
        self
    }

    /// Answers every request `matcher` matches with `response`.
    pub fn respond(&self, matcher: Matcher, response: HttpResponse) -> &Self {
        self.push(matcher, Reply::Response(response), None)
    }

    /// Answers the next `times` requests `matcher` matches with `response`.
    pub fn respond_times(&self, matcher: Matcher, response: HttpResponse, times: u32) -> &Self {
        self.push(matcher, Reply::Response(response), Some(times))
    }

    /// Fails the next `times` requests `matcher` matches with a transport
    /// error of `kind` (`Timeout`: the request may have been applied;
    /// `Connect`: it was not sent).
    pub fn fail_times(&self, matcher: Matcher, kind: TransportErrorKind, times: u32) -> &Self {
        self.push(matcher, Reply::Failure(kind), Some(times))
    }

    /// Every request received, in order (unmatched ones included).
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.script().requests.clone()
    }

    /// The requests received that `matcher` matches.
    pub fn requests_matching(&self, matcher: &Matcher) -> Vec<HttpRequest> {
        self.script()
            .requests
            .iter()
            .filter(|r| matcher.matches(r))
            .cloned()
            .collect()
    }

    /// The requests no entry answered.
    pub fn unmatched(&self) -> Vec<HttpRequest> {
        self.script().unmatched.clone()
    }

    /// Asserts that `matcher` matched exactly `times` requests.
    ///
    /// # Panics
    /// When it did not; the message lists every request received.
    #[allow(clippy::panic)] // an assertion helper for tests
    #[track_caller]
    pub fn assert_called(&self, matcher: &Matcher, times: usize) {
        let script = self.script();
        let count = script
            .requests
            .iter()
            .filter(|r| matcher.matches(r))
            .count();
        if count != times {
            panic!(
                "expected {times} request(s) matching {matcher:?}, got {count}; received:\n{}",
                describe(&script.requests)
            );
        }
    }

    /// Asserts that every request was answered by the script.
    ///
    /// # Panics
    /// When one was not; the message shows each unmatched request
    /// (redacted) and the script.
    #[allow(clippy::panic)] // an assertion helper for tests
    #[track_caller]
    pub fn assert_no_unmatched(&self) {
        let script = self.script();
        if !script.unmatched.is_empty() {
            let entries: Vec<String> = script
                .entries
                .iter()
                .map(|e| format!("  {:?} (left: {:?})", e.matcher, e.remaining))
                .collect();
            panic!(
                "{} request(s) matched no scripted answer:\n{}\nscript:\n{}",
                script.unmatched.len(),
                describe(&script.unmatched),
                entries.join("\n")
            );
        }
    }

    /// Asserts that every answer scripted a number of times was used up.
    ///
    /// # Panics
    /// When one was not; the message names its matcher.
    #[allow(clippy::panic)] // an assertion helper for tests
    #[track_caller]
    pub fn assert_script_used(&self) {
        let script = self.script();
        let left: Vec<String> = script
            .entries
            .iter()
            .filter(|e| e.remaining.is_some_and(|n| n > 0))
            .map(|e| format!("  {:?} ({} left)", e.matcher, e.remaining.unwrap_or(0)))
            .collect();
        if !left.is_empty() {
            panic!(
                "scripted answers never used:\n{}\nreceived:\n{}",
                left.join("\n"),
                describe(&script.requests)
            );
        }
    }
}

fn describe(requests: &[HttpRequest]) -> String {
    if requests.is_empty() {
        return "  (none)".to_owned();
    }
    requests
        .iter()
        .map(|r| {
            let op = operation_of(r).map_or("?", Operation::as_str);
            format!("  [{op}] {r:?}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[async_trait]
impl Transport for MockTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut script = self.script();
        script.requests.push(request.clone());
        let entry = script
            .entries
            .iter_mut()
            .find(|e| e.remaining != Some(0) && e.matcher.matches(&request));
        let reply = match entry {
            Some(entry) => {
                if let Some(n) = &mut entry.remaining {
                    *n -= 1;
                }
                entry.reply.clone()
            }
            None => {
                let message = format!("MockTransport: no scripted answer for {request:?}");
                script.unmatched.push(request);
                return Err(TransportError::new(TransportErrorKind::Other, message));
            }
        };
        match reply {
            Reply::Response(response) => Ok(response),
            Reply::Failure(kind) => Err(TransportError::new(
                kind,
                format!("MockTransport: scripted {kind}"),
            )),
        }
    }
}

/// Ready answers in Graph's shapes.
pub mod responses {
    use super::{Headers, HttpResponse};

    /// `status` with a JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> HttpResponse {
        let mut headers = Headers::new();
        headers.push("content-type", "application/json");
        HttpResponse::new(status, headers, body.to_string())
    }

    /// `200 {"success": true}`: the answer of `request_code`, `verify_code`,
    /// `register`, `subscribe_app` and `set_two_step_pin`.
    pub fn success() -> HttpResponse {
        json(200, &serde_json::json!({"success": true}))
    }

    /// `200 {"id": …}`: the answer of `start_migration`.
    pub fn id(id: &str) -> HttpResponse {
        json(200, &serde_json::json!({"id": id}))
    }

    /// A Graph error envelope (`{"error": {"message", "type", "code",
    /// "error_subcode", "fbtrace_id"}}`) with `status`.
    pub fn graph_error(
        status: u16,
        code: i64,
        subcode: Option<i64>,
        message: &str,
    ) -> HttpResponse {
        let mut error = serde_json::json!({
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "MockTrace000"
        });
        if let (Some(subcode), Some(object)) = (subcode, error.as_object_mut()) {
            object.insert("error_subcode".to_owned(), subcode.into());
        }
        json(status, &serde_json::json!({ "error": error }))
    }

    /// `200` with a number record (`id`, `status`,
    /// `code_verification_status`), as the number read answers.
    pub fn phone_number(id: &str, status: &str, code_verification_status: &str) -> HttpResponse {
        json(
            200,
            &serde_json::json!({
                "id": id,
                "status": status,
                "code_verification_status": code_verification_status,
            }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn request(method: Method, path: &str) -> HttpRequest {
        HttpRequest::new(
            method,
            Url::parse(&format!("https://graph.facebook.com{path}")).unwrap(),
        )
    }

    #[test]
    fn operations_are_told_from_method_path_and_fields() {
        let cases = [
            (
                Method::Post,
                "/v25.0/1/phone_numbers",
                Operation::StartMigration,
            ),
            (
                Method::Get,
                "/v25.0/1/phone_numbers",
                Operation::ListPhoneNumbers,
            ),
            (
                Method::Post,
                "/v25.0/1/request_code",
                Operation::RequestCode,
            ),
            (Method::Post, "/v25.0/1/verify_code", Operation::VerifyCode),
            (Method::Post, "/v25.0/1/register", Operation::Register),
            (
                Method::Post,
                "/v25.0/1/subscribed_apps",
                Operation::SubscribeApp,
            ),
            (
                Method::Get,
                "/v25.0/1/subscribed_apps",
                Operation::ListSubscribedApps,
            ),
            (Method::Post, "/v25.0/1", Operation::SetTwoStepPin),
            (
                Method::Get,
                "/v25.0/1?fields=status",
                Operation::ReadPhoneNumber,
            ),
            (
                Method::Get,
                "/v25.0/1?fields=id,account_review_status",
                Operation::ReadWaba,
            ),
            (
                Method::Get,
                "/v25.0/1?fields=id,primary_funding_id",
                Operation::ReadWaba,
            ),
            (
                Method::Get,
                "/v25.0/1/in_progress_onbehalf_request",
                Operation::ListOnBehalfRequests,
            ),
        ];
        for (method, path, op) in cases {
            assert_eq!(operation_of(&request(method, path)), Some(op), "{path}");
        }
        assert_eq!(operation_of(&request(Method::Get, "/v25.0")), None);
        assert_eq!(
            operation_of(&request(Method::Post, "/graph/v25.0/1/register")),
            Some(Operation::Register)
        );
        assert_eq!(operation_of(&request(Method::Post, "/v25.0/1/x")), None);
    }

    #[tokio::test]
    async fn entries_answer_in_order_and_run_out() {
        let mock = MockTransport::new();
        let register = Matcher::operation(Operation::Register);
        mock.respond_times(
            register.clone(),
            responses::json(500, &serde_json::json!({})),
            1,
        )
        .respond(register.clone(), responses::success());
        let first = mock.send(request(Method::Post, "/v25.0/1/register")).await;
        let second = mock.send(request(Method::Post, "/v25.0/1/register")).await;
        assert_eq!(first.unwrap().status, 500);
        assert_eq!(second.unwrap().status, 200);
        mock.assert_called(&register, 2);
        mock.assert_script_used();
        let other = mock
            .send(request(Method::Post, "/v25.0/1/verify_code"))
            .await;
        assert!(other.is_err());
        assert_eq!(mock.unmatched().len(), 1);
    }

    #[test]
    #[should_panic(expected = "matched no scripted answer")]
    fn unmatched_requests_fail_the_assertion_and_are_described() {
        let mock = MockTransport::new();
        mock.script()
            .unmatched
            .push(request(Method::Post, "/v25.0/1/register"));
        mock.assert_no_unmatched();
    }
}
