//! One request to Graph: the URL (`/{object-id}/{edge}` below the API
//! root), the headers (which token: see `super::tokens`), admission
//! through the shared throttle unless the caller already has it (a
//! side-effecting step is admitted before its marker is saved), the
//! transport, and the throttle fed with what an error answer says (a rate
//! limit, a wait). Any HTTP status is an answer; what it means is the
//! caller's to decode.

use super::PortingClient;
use crate::error::{decode, header_wait, At, ConfigError, Error};
use crate::operation::Operation;
use crate::retry_policy::Deadline;
use crate::transport::{HttpRequest, HttpResponse};

const USER_AGENT: &str = concat!("waba-porting/", env!("CARGO_PKG_VERSION"));

/// Whether a request still has to pass the throttle.
#[derive(Clone, Copy)]
pub(in crate::client) enum Admission<'a> {
    /// It does, its wait ending by this deadline.
    Wait(&'a Deadline),
    /// The throttle already let it through.
    Done,
}

impl PortingClient {
    /// Sends `operation` to `/{object_id}/{edge}`; any HTTP status is `Ok`.
    /// A throttle wait ends by `deadline`.
    pub(in crate::client) async fn send(
        &self,
        operation: Operation,
        object_id: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
        deadline: &Deadline,
    ) -> Result<HttpResponse, Error> {
        let admission = Admission::Wait(deadline);
        self.send_admitted(operation, object_id, query, body, admission)
            .await
    }

    /// [`send`](Self::send), once the throttle lets the request through
    /// (`admission`).
    pub(in crate::client) async fn send_admitted(
        &self,
        operation: Operation,
        object_id: &str,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
        admission: Admission<'_>,
    ) -> Result<HttpResponse, Error> {
        let (method, edge) = operation.route();
        let mut url = self.inner.api_root.clone();
        url.path_segments_mut()
            .map_err(|()| ConfigError::InvalidBaseUrl {
                reason: "cannot be a base",
            })?
            .push(object_id)
            .extend((!edge.is_empty()).then_some(edge));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = HttpRequest::new(method, url);
        request.timeout = Some(self.inner.timeout);
        match operation {
            // The app's id and secret are in the query: no token.
            Operation::ExchangeSignupCode => {}
            // The app's (or the BSP's) token inspects the customer's, or
            // asks for it.
            Operation::ReadTokenScopes | Operation::FetchSolutionToken => {
                request
                    .headers
                    .push("Authorization", self.app_authorization()?);
            }
            _ => {
                request
                    .headers
                    .push("Authorization", self.authorization().await?);
            }
        }
        request.headers.push("Accept", "application/json");
        request.headers.push("User-Agent", USER_AGENT);
        if let Some(body) = body {
            request.headers.push("Content-Type", "application/json");
            request.body = body;
        }
        let Some(throttle) = &self.inner.throttle else {
            return self
                .exchange(operation, request)
                .await
                .map_err(|e| e.for_operation(operation).into());
        };
        if let Admission::Wait(deadline) = admission {
            self.admit(operation, deadline).await?;
        }
        let response = self
            .exchange(operation, request)
            .await
            .map_err(|e| e.for_operation(operation))?;
        if response.status >= 400 {
            let now = self.now();
            let error = decode(operation, &response, &At(now)).err();
            let header = header_wait(&response, &At(now));
            throttle.observe(now, response.status, header, error.as_ref());
        }
        Ok(response)
    }

    /// One request through the transport: the transport's own future, with
    /// no layer around it unless the `tracing` feature times it.
    #[cfg(not(feature = "tracing"))]
    fn exchange(
        &self,
        _operation: Operation,
        request: HttpRequest,
    ) -> impl std::future::Future<Output = Result<HttpResponse, crate::transport::TransportError>>
           + Send
           + '_ {
        self.inner.transport.send(request)
    }

    /// One request through the transport, timed and told to `tracing` at
    /// debug level.
    #[cfg(feature = "tracing")]
    async fn exchange(
        &self,
        operation: Operation,
        request: HttpRequest,
    ) -> Result<HttpResponse, crate::transport::TransportError> {
        let started = std::time::Instant::now();
        let result = self.inner.transport.send(request).await;
        let status = result.as_ref().ok().map(|r| r.status);
        crate::telemetry::exchanged(operation, status, started.elapsed());
        result
    }
}
