//! The last failure a session keeps (`last_failure`): Meta's own error code
//! stays in its message while secrets are masked, a secret a server echoes
//! in `fbtrace_id` is not saved, and one written by a newer version loads.
#![cfg(all(feature = "test-util", feature = "simulator"))]

use crate::common::scripted::*;
use serde_json::json;
use waba_porting::test_util::{responses, Matcher, MockTransport};
use waba_porting::{ApiErrorKind, Operation, Pin, PortingSession, StepOutcome, Timestamp};

/// `last_failure().message` is documented as Meta's message "with anything
/// shaped like a PIN, a code or a token masked". Every WhatsApp-specific
/// Graph code is six digits (130429, 131009, 133005, 133006, 133010,
/// 136025…) and Meta's `message` starts with it: `(#133005) Two step
/// verification PIN Mismatch`. The scrubber takes that code for a PIN and
/// stores `(#[redacted]) Two step verification PIN Mismatch`, destroying
/// the one part of the text support looks up, while the token-free, PIN-free
/// message needed no masking at all. Expected: the `(#code)` prefix — which
/// equals the Graph `code` the failure also carries — is kept.
#[tokio::test]
async fn last_failure_message_keeps_metas_own_six_digit_error_code() {
    let mock = MockTransport::new();
    script_until_register(&mock);
    let meta_message = "(#133005) Two step verification PIN Mismatch";
    mock.respond(
        Matcher::operation(Operation::Register),
        responses::graph_error(400, 133005, None, meta_message),
    );
    let client = client(&mock);
    let mut session = session();
    to_code_verified(&client, &mut session).await;
    assert!(client
        .register(&mut session, &Pin::new(PIN).unwrap(), None)
        .await
        .is_err());

    let failure = session.last_failure().expect("the refusal is recorded");
    assert_eq!(failure.code, Some(133005));
    assert_eq!(
        failure.message.as_deref(),
        Some(meta_message),
        "Meta's message was mangled although it holds no secret"
    );
}

/// `LastFailure` scrubs `message` because "a server may echo what it was
/// sent, and the session is saved", yet stores the server's `fbtrace_id` —
/// free text of any length and shape, never checked — verbatim next to it.
/// A server (or proxy) that echoes the PIN or the token into `fbtrace_id`
/// puts it in the persisted session, breaking "no secret in a serialized
/// session". Expected: `fbtrace_id` is kept only when it looks like a
/// trace id, or is scrubbed like the message.
#[tokio::test]
async fn a_secret_echoed_in_fbtrace_id_is_not_saved_in_the_session() {
    let mock = MockTransport::new();
    script_until_register(&mock);
    mock.respond(
        Matcher::operation(Operation::Register),
        responses::json(
            400,
            &json!({"error": {
                "message": "(#100) Invalid parameter",
                "type": "OAuthException",
                "code": 100,
                "fbtrace_id": format!("pin={PIN};token={TOKEN}"),
            }}),
        ),
    );
    let client = client(&mock);
    let mut session = session();
    to_code_verified(&client, &mut session).await;
    assert!(client
        .register(&mut session, &Pin::new(PIN).unwrap(), None)
        .await
        .is_err());

    let saved = serde_json::to_string(&session).unwrap();
    assert!(
        !saved.contains(PIN),
        "the saved session holds the PIN: {saved}"
    );
    assert!(
        !saved.contains(TOKEN),
        "the saved session holds the token: {saved}"
    );
}

/// The saved session is built to survive a newer version of the crate
/// writing it (rolling deploys, a rollback): a history entry with "an
/// outcome, operation or state this version does not know" is dropped on
/// load so "the session still loads", and `LastFailure::kind` documents
/// that "a case this version does not know loads as `Unknown`". But
/// `LastFailure::operation` (an `Operation`, `#[non_exhaustive]` and meant
/// to grow) has no such fallback: a session whose last failure names an
/// operation this version does not know fails to load altogether — the
/// whole port is lost over an informational field. Expected: the session
/// loads (the unknown failure dropped, or its operation tolerated), as the
/// same operation in a history entry is.
#[test]
fn a_last_failure_written_by_a_newer_version_does_not_make_the_session_unloadable() {
    let mut session = session();
    session
        .apply(
            StepOutcome::failed(Operation::StartMigration, ApiErrorKind::Temporary),
            Timestamp::from_unix_millis(1_800_000_000_000),
        )
        .unwrap();
    assert!(session.last_failure().is_some());
    let mut saved = serde_json::to_value(&session).unwrap();

    // The same unknown operation in a history entry is tolerated...
    let mut history_only = saved.clone();
    history_only["history"].as_array_mut().unwrap().push(
        json!({"at": 1_800_000_000_001_u64, "from": "draft", "to": "draft",
                     "outcome": {"outcome": "failed", "operation": "deregister",
                                 "kind": "temporary"}}),
    );
    assert!(
        serde_json::from_value::<PortingSession>(history_only).is_ok(),
        "precondition: unknown history entries load"
    );

    // ...but not in the last failure.
    saved["last_failure"]["operation"] = json!("deregister");
    saved["last_failure"]["kind"] = json!("some_future_case");
    let loaded = serde_json::from_value::<PortingSession>(saved);
    assert!(
        loaded.is_ok(),
        "a newer version's last failure makes the session unloadable: {:?}",
        loaded.err()
    );
}
