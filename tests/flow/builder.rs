//! Client configuration: defaults, and bad configuration as typed errors.

use std::time::Duration;

use async_trait::async_trait;
use waba_porting::transport::{
    HttpRequest, HttpResponse, Transport, TransportError, TransportErrorKind,
};
use waba_porting::{ConfigError, PortingClient};

#[derive(Debug)]
struct Offline;

#[async_trait]
impl Transport for Offline {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        Err(TransportError::from_kind(TransportErrorKind::Connect))
    }
}

#[test]
fn defaults_target_graph_v25() {
    let client = PortingClient::builder()
        .access_token("t")
        .transport(Offline)
        .build()
        .unwrap();
    assert_eq!(
        client.api_root().as_str(),
        "https://graph.facebook.com/v25.0"
    );
}

#[test]
fn missing_or_blank_token_is_a_config_error() {
    let err = PortingClient::builder()
        .transport(Offline)
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::MissingAccessToken));
    let err = PortingClient::builder()
        .access_token("  ")
        .transport(Offline)
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::MissingAccessToken));
}

#[test]
fn bad_version_base_url_and_timeouts_are_config_errors() {
    let builder = || {
        PortingClient::builder()
            .access_token("t")
            .transport(Offline)
    };
    assert!(matches!(
        builder().api_version("25").build(),
        Err(ConfigError::InvalidApiVersion)
    ));
    assert!(matches!(
        builder().base_url("not a url").build(),
        Err(ConfigError::InvalidBaseUrl { .. })
    ));
    assert!(matches!(
        builder().timeout(Duration::ZERO).build(),
        Err(ConfigError::ZeroTimeout)
    ));
    assert!(matches!(
        builder().connect_timeout(Duration::ZERO).build(),
        Err(ConfigError::ZeroTimeout)
    ));
    let shown = builder()
        .base_url("ftp://x")
        .build()
        .unwrap_err()
        .to_string();
    assert_eq!(shown, "base URL must use https");
}

#[cfg(feature = "reqwest")]
#[test]
fn default_transport_is_reqwest() {
    // Loopback: the default transport needs no TLS feature for it.
    let client = PortingClient::builder()
        .access_token("t")
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    assert!(format!("{client:?}").contains("ReqwestTransport"));
}

#[cfg(not(feature = "reqwest"))]
#[test]
fn without_reqwest_a_transport_is_required() {
    let err = PortingClient::builder()
        .access_token("t")
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::MissingTransport));
}

#[tokio::test]
async fn a_custom_transport_receives_the_requests() {
    let client = PortingClient::builder()
        .access_token("t")
        .transport(Offline)
        .build()
        .unwrap();
    let mut session = waba_porting::PortingSession::new(
        "+14155550123".parse().unwrap(),
        "1".parse().unwrap(),
        "2".parse().unwrap(),
    );
    let err = client.start_migration(&mut session).await.unwrap_err();
    assert!(
        matches!(err, waba_porting::Error::Transport(ref e) if e.kind() == TransportErrorKind::Connect)
    );
}
