//! A JSON array is no answer of Graph's: an error body whose top level (or
//! whose `error`) is an array is not a Graph error envelope, a register
//! answered `[true]` is not a success and a start answered with an array is
//! not an id.
#![cfg(feature = "simulator")]

use std::sync::Arc;

use crate::common::hooked::{raw_answer, Rewrite};
use crate::common::wire::pin;
use waba_porting::simulator::Scenario;
use waba_porting::transport::HttpRequest;
use waba_porting::{Error, Operation, RetryPolicy, Timestamp, UndecodableReason};

/// A body whose top level (or whose `error`) is a JSON array is no Graph
/// error envelope: before the change it was an undecodable answer
/// (`UnexpectedShape`). serde's derived struct visitor also accepts a
/// sequence, so the one-pass reader now reads `[{"code":4}]` as a rate limit.
#[test]
fn array_shaped_error_bodies_are_not_graph_envelopes() {
    let cases = [
        (r#"[{"code":4}]"#, 400),
        (r#"[{"code":190,"message":"bad token"}]"#, 401),
        (r#"{"error":[4]}"#, 429),
        (r#"{"error":[133016]}"#, 400),
        (r#"{"error":[]}"#, 500),
        (r#"[]"#, 400),
    ];
    let mut wrong = Vec::new();
    for (body, status) in cases {
        let error = Error::from_response(
            Operation::Register,
            &raw_answer(status, body),
            Timestamp::from_unix_millis(0),
        )
        .expect("an error status is an error");
        match &error {
            Error::UnexpectedResponse(e) if e.reason() == UndecodableReason::UnexpectedShape => {}
            other => wrong.push(format!(
                "{status} {body} -> {:?} {:?}",
                other.api_kind(),
                other.api().map(|a| a.graph())
            )),
        }
    }
    assert!(
        wrong.is_empty(),
        "read as Graph errors:\n{}",
        wrong.join("\n")
    );
}

/// The 2xx fast paths (`expect_success`/`expect_id`) have the same hole: a
/// register answered `[true]` is taken as `{"success": true}`.
#[tokio::test(flavor = "current_thread")]
async fn a_register_answered_with_an_array_is_not_a_success() {
    let sim = Scenario::happy_path().build();
    let client = sim
        .client_builder()
        .transport(Rewrite {
            sim: sim.clone(),
            rule: Arc::new(|request: &HttpRequest| {
                request
                    .url
                    .path()
                    .ends_with("/register")
                    .then(|| raw_answer(200, "[true,null]"))
            }),
        })
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    client
        .request_code(
            &mut session,
            waba_porting::CodeMethod::Sms,
            &Default::default(),
        )
        .await
        .unwrap();
    let code = sim.latest_code(session.phone_number()).unwrap();
    client.verify_code(&mut session, &code).await.unwrap();
    let result = client.register(&mut session, &pin(), None).await;
    assert!(
        matches!(&result, Err(Error::UnexpectedResponse(e)) if e.reason() == UndecodableReason::UnexpectedShape),
        "a `[true,null]` answer to register was read as {result:?}; state {:?}",
        session.state().name()
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_start_answered_with_an_array_is_not_an_id() {
    let sim = Scenario::happy_path().build();
    let client = sim
        .client_builder()
        .transport(Rewrite {
            sim: sim.clone(),
            rule: Arc::new(|request: &HttpRequest| {
                request
                    .url
                    .path()
                    .ends_with("/phone_numbers")
                    .then(|| raw_answer(200, r#"["106540352242922",null]"#))
            }),
        })
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let mut session = sim.session();
    let result = client.start_migration(&mut session).await;
    assert!(
        result.is_err(),
        "`[\"id\"]` read as a phone number id: {result:?}, state {:?}",
        session.state()
    );
}
