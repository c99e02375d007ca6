//! The simulator served over loopback HTTP/1 (feature `sim-server`), so
//! separate processes share one simulated world.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::{JoinHandle, JoinSet};
use url::Url;

use super::control;
use super::reference;
use super::Simulator;
use crate::transport::{HttpRequest, HttpResponse, Method, Transport, TransportError};

/// The largest request body read (Graph and control requests are far
/// smaller); a larger one is answered `413`.
const MAX_BODY: usize = 1 << 20;

/// Pending connections the listening socket queues (the kernel may cap it).
const BACKLOG: u32 = 4096;

/// How [`Simulator::serve_with`] serves.
///
/// ```
/// use std::time::Duration;
/// use waba_porting::simulator::ServeOptions;
///
/// let options = ServeOptions::new().with_latency(Duration::from_millis(50));
/// assert_eq!(options.latency(), Duration::from_millis(50));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeOptions {
    latency: Duration,
}

impl ServeOptions {
    /// No latency.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every Graph API request waits `latency` (on tokio's timer) before the
    /// world sees it, then is answered at once: a network's round trip, for
    /// benchmarks. Control requests (`/_sim/…`) are not delayed. Default
    /// zero.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// The latency of every Graph API request.
    pub fn latency(&self) -> Duration {
        self.latency
    }
}

/// A [`Simulator`] served over loopback HTTP/1: made by
/// [`Simulator::serve`]. Dropping it (or [`shutdown`](Self::shutdown))
/// stops the server and closes its connections; the world stays with the
/// `Simulator`.
pub struct ServedSimulator {
    addr: SocketAddr,
    base_url: String,
    options: ServeOptions,
    accept: JoinHandle<()>,
    connections: Arc<Mutex<JoinSet<()>>>,
}

impl fmt::Debug for ServedSimulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServedSimulator")
            .field("base_url", &self.base_url)
            .field("latency", &self.options.latency)
            .finish_non_exhaustive()
    }
}

impl ServedSimulator {
    /// The address the server listens on (the port chosen when bound to
    /// port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}`: what [`PortingClientBuilder::base_url`](crate::PortingClientBuilder::base_url)
    /// and [`RemoteSimulator::new`](super::RemoteSimulator::new) take (the
    /// client appends the API version).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The options it serves with.
    pub fn options(&self) -> ServeOptions {
        self.options
    }

    /// Stops accepting, closes every connection (a request being answered
    /// gets no answer) and waits until they are closed.
    pub async fn shutdown(mut self) {
        self.accept.abort();
        let _ = (&mut self.accept).await;
        let mut connections = std::mem::take(&mut *lock(&self.connections));
        connections.shutdown().await;
    }
}

impl Drop for ServedSimulator {
    fn drop(&mut self) {
        self.accept.abort();
        lock(&self.connections).abort_all();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A set of tasks: a panic elsewhere cannot leave it half-updated.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Simulator {
    /// Serves this world over HTTP/1 on `addr`, a loopback address
    /// (`127.0.0.1:0` picks a free port; see
    /// [`ServedSimulator::base_url`]), with no latency: see
    /// [`serve_with`](Self::serve_with).
    ///
    /// # Errors
    /// As [`serve_with`](Self::serve_with).
    pub async fn serve(&self, addr: impl Into<SocketAddr>) -> io::Result<ServedSimulator> {
        self.serve_with(addr, ServeOptions::default()).await
    }

    /// Serves this world over HTTP/1 on `addr`, a loopback address, on the
    /// calling tokio runtime (a task per connection; connections are kept
    /// alive for as long as their clients keep them): other processes
    /// share it — they port through it with a client whose
    /// [`base_url`](crate::PortingClientBuilder::base_url) is
    /// [`ServedSimulator::base_url`], and read and act in it through
    /// [`RemoteSimulator`](super::RemoteSimulator).
    ///
    /// - Every request outside `/_sim/` goes to the world as
    ///   [`Transport::send`] would take it: method, path and query, headers
    ///   and body as received; the answer's status, headers and body as the
    ///   world gives them. A request the world applies but whose answer it
    ///   loses ([`Fault::AnswerLost`](super::Fault::AnswerLost)) closes the
    ///   connection without an answer, as a reset does. The client's
    ///   timeout does not travel with a request, so a
    ///   [`Fault::Latency`](super::Fault::Latency) only moves the world's
    ///   clock, never turns the answer into a timeout (use
    ///   [`ServeOptions::with_latency`] for real delays). Methods other than
    ///   `GET` and `POST` get Graph's `400` for an unsupported request.
    /// - Paths under `/_sim/` are the control API (JSON): call counts, the
    ///   latest delivered code, the humans' actions, new numbers, the
    ///   clock — see [`RemoteSimulator`](super::RemoteSimulator) for each
    ///   endpoint. It needs no token: it is served on loopback only, and
    ///   hands out codes only on `GET /_sim/numbers/{phone}/code`.
    ///
    /// Nothing is logged. For processes that wait in real time, build the
    /// world with [`Scenario::wall_clock`](super::Scenario::wall_clock): its
    /// clock then follows the system clock, as theirs does.
    ///
    /// ```
    /// use waba_porting::simulator::{RemoteSimulator, Scenario, ServeOptions};
    /// use waba_porting::{CodeMethod, Language, Pin, PortingClient, StateName};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sim = Scenario::happy_path().wall_clock().build();
    /// let served = sim.serve(([127, 0, 0, 1], 0)).await?;
    ///
    /// // In another process: a client of the served Graph API, and the
    /// // world's control API.
    /// let remote = RemoteSimulator::connect(served.base_url())?;
    /// let client = remote.client_builder().build()?;
    /// let mut session = remote.sessions().await?.remove(0);
    /// client.start_migration(&mut session).await?;
    /// client.request_code(&mut session, CodeMethod::Sms, &Language::default()).await?;
    /// let code = remote.latest_code(session.phone_number()).await?.expect("delivered");
    /// client.verify_code(&mut session, &code).await?;
    /// client.register(&mut session, &Pin::new("482913")?, None).await?;
    /// assert_eq!(session.state().name(), StateName::Registered);
    /// let calls = remote.calls(session.phone_number()).await?.expect("a number of the world");
    /// assert_eq!(calls.register, 1);
    ///
    /// served.shutdown().await;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `addr` is not a loopback address (`InvalidInput`), it cannot be
    /// bound, there is no tokio runtime here, or the runtime has no I/O
    /// driver (or no timer, with a latency).
    pub async fn serve_with(
        &self,
        addr: impl Into<SocketAddr>,
        options: ServeOptions,
    ) -> io::Result<ServedSimulator> {
        let addr = addr.into();
        if !addr.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the simulator serves on loopback addresses only (its control API takes no token)",
            ));
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| io::Error::other("Simulator::serve needs a tokio runtime"))?;
        let has_timer = catch_unwind(|| drop(tokio::time::sleep(Duration::ZERO))).is_ok();
        if !options.latency.is_zero() && !has_timer {
            return Err(io::Error::other(
                "a served latency needs a tokio runtime with its timer enabled",
            ));
        }
        let listener = listen(addr)?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let connections = Arc::new(Mutex::new(JoinSet::new()));
        let server = Arc::new(Server {
            sim: self.clone(),
            origin: base_url.clone(),
            latency: options.latency,
        });
        let accept = runtime.spawn(accept(listener, server, connections.clone(), has_timer));
        Ok(ServedSimulator {
            addr,
            base_url,
            options,
            accept,
            connections,
        })
    }
}

/// Binds and listens with a deep backlog (thousands of clients may
/// connect at once).
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    // Tokio panics when a runtime without its I/O driver registers a
    // socket: read that as an error.
    catch_unwind(AssertUnwindSafe(|| socket.listen(BACKLOG))).unwrap_or_else(|_| {
        Err(io::Error::other(
            "Simulator::serve needs a tokio runtime with I/O enabled",
        ))
    })
}

async fn accept(
    listener: TcpListener,
    server: Arc<Server>,
    connections: Arc<Mutex<JoinSet<()>>>,
    has_timer: bool,
) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                spawn_connection(&connections, stream, server.clone());
            }
            // Out of file descriptors, a connection reset before it was
            // accepted…: the listener stays; pause briefly so a persistent
            // error does not spin.
            Err(_) => {
                if has_timer {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                } else {
                    tokio::task::yield_now().await;
                }
            }
        }
    }
}

/// Serves `stream` on a task of its own, kept in `connections` (which
/// drops the finished ones).
fn spawn_connection(
    connections: &Mutex<JoinSet<()>>,
    stream: tokio::net::TcpStream,
    server: Arc<Server>,
) {
    let mut tasks = lock(connections);
    while tasks.try_join_next().is_some() {}
    tasks.spawn(async move {
        let service = service_fn(move |request| {
            let server = server.clone();
            async move { server.answer(request).await }
        });
        // No header-read timeout (it would need a timer, and would close
        // idle keep-alive connections under their clients' pools).
        let _ = http1::Builder::new()
            .header_read_timeout(None)
            .serve_connection(TokioIo::new(stream), service)
            .await;
    });
}

struct Server {
    sim: Simulator,
    /// `http://{addr}`, the origin of the URLs handed to the world.
    origin: String,
    latency: Duration,
}

type Answer = Response<Full<Bytes>>;

impl Server {
    /// The answer to one request; `Err` closes the connection unanswered.
    async fn answer(&self, request: Request<Incoming>) -> Result<Answer, TransportError> {
        let (parts, body) = request.into_parts();
        let control = control::is_control(parts.uri.path());
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(body) => body.to_bytes(),
            Err(error) => {
                let too_large = error
                    .downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some();
                return Ok(if too_large {
                    plain(413, "too_large", "the request body is over 1 MiB")
                } else {
                    plain(400, "bad_request", "the request body could not be read")
                });
            }
        };
        let method = if parts.method == hyper::Method::GET {
            Method::Get
        } else if parts.method == hyper::Method::POST {
            Method::Post
        } else if control {
            let mut answer = plain(
                405,
                "method_not_allowed",
                "the control API takes GET and POST",
            );
            answer
                .headers_mut()
                .insert(hyper::header::ALLOW, HeaderValue::from_static("GET, POST"));
            return Ok(answer);
        } else {
            // What Graph answers a method it does not take.
            return Ok(response(
                reference::invalid_parameter("Unsupported request method", "SIM000000")
                    .into_response(),
            ));
        };
        let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let Ok(url) = Url::parse(&format!("{}{target}", self.origin)) else {
            return Ok(plain(
                400,
                "bad_request",
                "the request target is not a URL path",
            ));
        };
        let mut request = HttpRequest::new(method, url);
        for (name, value) in &parts.headers {
            request.headers.push(
                name.as_str(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            );
        }
        request.body = body.to_vec();
        if control {
            return Ok(response(control::answer(&self.sim, &request)));
        }
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        self.sim.send(request).await.map(response)
    }
}

/// The world's answer as hyper's (framing headers are hyper's to write).
fn response(answer: HttpResponse) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in answer.headers.iter() {
        let framing = ["content-length", "transfer-encoding", "connection"]
            .iter()
            .any(|f| name.eq_ignore_ascii_case(f));
        if framing {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.append(name, value);
        }
    }
    response
}

/// A JSON error of the server itself (before a request reaches the world
/// or the control API).
fn plain(status: u16, code: &str, message: &str) -> Answer {
    response(control::json_response(
        status,
        &serde_json::json!({ "error": { "code": code, "message": message } }),
    ))
}
