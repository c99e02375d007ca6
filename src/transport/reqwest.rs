//! The default transport, a thin adapter over a `reqwest::Client`.

use std::time::Duration;

use async_trait::async_trait;

use super::{
    Headers, HttpRequest, HttpResponse, Method, Transport, TransportError, TransportErrorKind,
};

/// Sends requests with [`reqwest`](https://docs.rs/reqwest) (rustls, HTTP/2).
///
/// Cheap to clone: clones share one connection pool. No reqwest type appears
/// in this crate's public API, so reqwest upgrades are not breaking changes.
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    client: ::reqwest::Client,
}

impl ReqwestTransport {
    /// A transport with reqwest's defaults and the given connect timeout.
    pub fn new(connect_timeout: Option<Duration>) -> Result<Self, TransportError> {
        let mut builder = ::reqwest::Client::builder();
        if let Some(timeout) = connect_timeout {
            builder = builder.connect_timeout(timeout);
        }
        builder
            .build()
            .map(|client| Self { client })
            .map_err(|e| TransportError::new(TransportErrorKind::Other, e))
    }
}

fn classify(error: ::reqwest::Error) -> TransportError {
    let kind = if error.is_timeout() {
        TransportErrorKind::Timeout
    } else if error.is_connect() {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Other
    };
    // reqwest's messages include the URL: ours never carry credentials.
    TransportError::new(kind, error)
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let method = match request.method {
            Method::Get => ::reqwest::Method::GET,
            Method::Post => ::reqwest::Method::POST,
        };
        let mut builder = self.client.request(method, request.url);
        for (name, value) in request.headers.iter() {
            builder = builder.header(name, value);
        }
        if let Some(timeout) = request.timeout {
            builder = builder.timeout(timeout);
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body);
        }
        let response = builder.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers: Headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let body = response.bytes().await.map_err(classify)?;
        Ok(HttpResponse::new(status, headers, body.to_vec()))
    }
}
