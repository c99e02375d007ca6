//! Hostile networks: the defects of issue 7's transport section, each as a
//! regression test against a real HTTP stack (wiremock, or a raw socket
//! where wiremock cannot misbehave enough).
#![cfg(all(feature = "simulator", feature = "reqwest"))]

mod common;

use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use waba_porting::{
    ConfigError, Error, Pin, PortingClient, PortingSession, ReqwestTransport, RetryPolicy,
    StateName, StepOutcome, TransportErrorKind, UndecodableReason, DEFAULT_MAX_RESPONSE_BYTES,
};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn verified_session() -> PortingSession {
    let mut session = session();
    session
        .apply(
            StepOutcome::MigrationStarted {
                phone_number_id: waba_porting::PhoneNumberId::new(NUMBER_ID).unwrap(),
            },
            waba_porting::Timestamp::from_unix_millis(1),
        )
        .unwrap();
    session
        .apply(
            StepOutcome::CodeRequested {
                method: waba_porting::CodeMethod::Sms,
                language: Default::default(),
                unconfirmed: false,
                sent_at: None,
            },
            waba_porting::Timestamp::from_unix_millis(2),
        )
        .unwrap();
    session
        .apply(
            StepOutcome::CodeVerified,
            waba_porting::Timestamp::from_unix_millis(3),
        )
        .unwrap();
    session
}

/// Defect 1: a 307 from the register URL to another host used to be
/// followed, carrying the PIN there, and the session recorded `Registered`.
#[tokio::test]
async fn regression_1_a_redirect_is_not_followed_and_never_a_success() {
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"success":true}"#))
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    for status in [301, 302, 303, 307, 308] {
        server.reset().await;
        Mock::given(method("POST"))
            .and(path(number_path("register")))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("Location", format!("{}/steal", elsewhere.uri()).as_str()),
            )
            .mount(&server)
            .await;
        let mut session = verified_session();
        let err = client(&server)
            .register(&mut session, &Pin::new("482913").unwrap(), None)
            .await
            .unwrap_err();
        match &err {
            Error::UnexpectedResponse(e) => {
                assert_eq!(e.status(), status);
                assert_eq!(e.reason(), UndecodableReason::Redirect);
            }
            other => panic!("{status}: {other:?}"),
        }
        assert!(!err.is_retryable(), "{status}: a redirect is not retried");
        assert_eq!(session.state().name(), StateName::CodeVerified);
    }
    let stolen = elsewhere.received_requests().await.unwrap();
    assert!(
        stolen.is_empty(),
        "the PIN reached another host: {stolen:?}"
    );
}

/// Defect 2: plain HTTP to a remote host would carry the bearer token in
/// clear text.
#[test]
fn regression_2_plain_http_is_refused_except_to_loopback() {
    let build = |url: &str| {
        PortingClient::builder()
            .access_token("t")
            .base_url(url)
            .build()
    };
    for url in [
        "http://graph.facebook.com",
        "http://10.0.0.8:8080",
        "http://localhost.evil.example",
        "http://[2001:db8::1]",
        "ftp://graph.facebook.com",
    ] {
        assert!(
            matches!(build(url), Err(ConfigError::InvalidBaseUrl { .. })),
            "{url}"
        );
    }
    for url in [
        "https://graph.facebook.com",
        "http://localhost:8080",
        "http://LOCALHOST",
        "http://127.0.0.1:9",
        "http://127.5.6.7",
        "http://[::1]:9",
    ] {
        assert!(build(url).is_ok(), "{url}");
    }
}

/// Defect 3: a body over the limit is refused with a typed error (announced
/// by `Content-Length`).
#[tokio::test]
async fn regression_3_a_body_over_the_limit_is_a_typed_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_bytes(vec![b'x'; 2 << 20]))
        .mount(&server)
        .await;
    let err = client(&server)
        .start_migration(&mut session())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transport(e) if e.kind() == TransportErrorKind::ResponseTooLarge),
        "{err:?}"
    );
    // A larger limit reads it (and the 500 is an undecodable answer).
    let roomy = ReqwestTransport::builder()
        .max_response_bytes(4 << 20)
        .build()
        .unwrap();
    assert_eq!(roomy.max_response_bytes(), 4 << 20);
    let client = PortingClient::builder()
        .access_token(TOKEN)
        .base_url(server.uri())
        .transport(roomy)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.start_migration(&mut session()).await.unwrap_err();
    assert!(matches!(&err, Error::UnexpectedResponse(e) if e.status() == 500));
    assert_eq!(DEFAULT_MAX_RESPONSE_BYTES, 1 << 20);
}

/// Defect 3, streamed: a chunked body with no `Content-Length` that never
/// ends is cut at the limit, not buffered whole.
#[tokio::test]
async fn regression_3_a_chunked_body_over_the_limit_is_cut() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = vec![0u8; 4096];
        let _ = socket.read(&mut request).await;
        socket
            .write_all(b"HTTP/1.1 500 Internal Server Error\r\ntransfer-encoding: chunked\r\ncontent-type: text/html\r\n\r\n")
            .await
            .unwrap();
        let chunk = vec![b'y'; 64 * 1024];
        let mut sent = 0usize;
        // Up to 64 MiB, stopping when the client hangs up.
        while sent < 64 << 20 {
            let head = format!("{:x}\r\n", chunk.len());
            if socket.write_all(head.as_bytes()).await.is_err()
                || socket.write_all(&chunk).await.is_err()
                || socket.write_all(b"\r\n").await.is_err()
            {
                break;
            }
            sent += chunk.len();
        }
        sent
    });
    let client = PortingClient::builder()
        .access_token(TOKEN)
        .base_url(format!("http://{address}"))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.start_migration(&mut session()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Transport(e) if e.kind() == TransportErrorKind::ResponseTooLarge),
        "{err:?}"
    );
    let sent = tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("the server stops when the client hangs up")
        .unwrap();
    assert!(
        sent < 64 << 20,
        "the client stopped reading ({sent} bytes sent)"
    );
}

/// Defect 4: a token a header cannot carry fails at build(), not as a late
/// "request failed" (and nothing is sent).
#[tokio::test]
async fn regression_4_a_token_a_header_cannot_carry_is_a_config_error() {
    let server = MockServer::start().await;
    for token in [
        "EAAG token",
        "EAAG\ttoken",
        "EAAG\u{7f}x",
        "EAAGé",
        "EAAG\r\nX: y",
    ] {
        let err = PortingClient::builder()
            .access_token(token)
            .base_url(server.uri())
            .build()
            .unwrap_err();
        assert!(matches!(err, ConfigError::InvalidAccessToken), "{token:?}");
        assert!(!err.to_string().contains("EAAG"), "the token is not shown");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// Item 5: the builder's settings reach the wire with no reqwest type named:
/// the user agent suffix on every request, the proxy for https (seen as a
/// CONNECT by a local stand-in proxy; nothing leaves this machine), and
/// never a proxy for plain http to loopback (the token would cross it in
/// clear text).
#[tokio::test]
async fn regression_5_the_transport_builder_proxies_https_and_tags_the_user_agent() {
    // A stand-in proxy: records the first request line, then hangs up.
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_address = proxy.local_addr().unwrap();
    let seen = tokio::spawn(async move {
        let (mut socket, _) = proxy.accept().await.unwrap();
        let mut head = vec![0u8; 1024];
        let n = socket.read(&mut head).await.unwrap_or(0);
        String::from_utf8_lossy(&head[..n]).into_owned()
    });
    let transport = || {
        ReqwestTransport::builder()
            .proxy(format!("http://{proxy_address}"))
            .user_agent_suffix("acme-bsp/2.1")
            .pool_idle_timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .unwrap()
    };
    let via_proxy = PortingClient::builder()
        .access_token(TOKEN)
        .transport(transport())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let _ = via_proxy.start_migration(&mut session()).await;
    let line = tokio::time::timeout(Duration::from_secs(10), seen)
        .await
        .expect("the proxy was used")
        .unwrap();
    assert!(
        line.starts_with("CONNECT graph.facebook.com:443"),
        "{line:?}"
    );

    // Plain http to loopback goes direct, with the tagged user agent.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header(
            "user-agent",
            concat!("waba-porting/", env!("CARGO_PKG_VERSION"), " acme-bsp/2.1"),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"id":"110200345501442"}"#))
        .expect(1)
        .mount(&server)
        .await;
    let direct = PortingClient::builder()
        .access_token(TOKEN)
        .base_url(server.uri())
        .transport(transport())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut session = session();
    direct.start_migration(&mut session).await.unwrap();
    assert_eq!(session.state().name(), StateName::Initiated);
}

#[test]
fn regression_5_bad_transport_settings_are_errors_at_build() {
    for builder in [
        ReqwestTransport::builder().proxy("not a url at all"),
        ReqwestTransport::builder().add_root_certificate_pem(
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
        ),
        ReqwestTransport::builder().user_agent_suffix("tab\there"),
        ReqwestTransport::builder().user_agent_suffix("   "),
    ] {
        let shown = format!("{builder:?}");
        assert!(builder.build().is_err(), "{shown}");
    }
    // A proxy URL with credentials is never printed.
    let shown = format!(
        "{:?}",
        ReqwestTransport::builder().proxy("http://user:hunter2@proxy:3128")
    );
    assert!(!shown.contains("hunter2"), "{shown}");
}
