//! The Embedded Signup and solution migration routes when answers are lost,
//! refused or odd, and when a saved session says something its state
//! cannot mean.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use crate::common;

use std::sync::Arc;

use common::routes::{
    es_session, exchange_path, mps_session, route_client, signup, APP_ID, APP_SECRET, CODE,
    CUSTOMER_TOKEN, DESTINATION, INTENT,
};
use common::*;
use serde_json::json;
use waba_porting::{
    AppId, AppSecret, BusinessId, CredentialKey, Error, InMemoryTokens, NextAction, PortingClient,
    PortingSession, RetryPolicy, StateName, TokenProvider,
};
use wiremock::{MockServer, Request, ResponseTemplate};

const OLD_TOKEN: &str = "EAAG-older-token-of-this-business-11";
fn exchanged_codes(sent: &[Request]) -> Vec<String> {
    sent.iter()
        .filter(|r| r.url.path() == exchange_path())
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "code")
                .map(|(_, v)| v.into_owned())
        })
        .collect()
}

/// The exchange of a popup whose answer was lost leaves its marker. The
/// customer finishes the popup again and the new code comes in: a token the
/// provider held from before (an older exchange, another WABA of the same
/// business) is no proof that the lost exchange stored anything. The new
/// code must be exchanged and its token kept; instead the session is taken
/// as authorized with the old token and the fresh code thrown away.
#[tokio::test]
async fn a_new_signup_code_after_a_lost_exchange_is_exchanged_even_when_an_older_token_is_held() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        &exchange_path(),
        ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"),
        1,
    )
    .await;
    answer(
        &server,
        "GET",
        &exchange_path(),
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": CUSTOMER_TOKEN, "token_type": "bearer"})),
        1,
    )
    .await;
    let tokens = Arc::new(InMemoryTokens::new());
    // The BSP holds an older token of this business.
    tokens.insert(BusinessId::new(BUSINESS).unwrap(), OLD_TOKEN);
    let client = route_client(&server, &tokens);
    let mut session = es_session();
    assert!(client
        .exchange_signup_code(&mut session, &signup(CODE))
        .await
        .is_err());
    assert!(session.in_flight().is_some());

    // The customer finished the popup again: a new code.
    let state = client
        .exchange_signup_code(&mut session, &signup("AQD-second-popup-code"))
        .await
        .unwrap();
    assert_eq!(state, StateName::Authorized);
    let codes = exchanged_codes(&requests(&server).await);
    assert_eq!(
        codes,
        [CODE, "AQD-second-popup-code"],
        "the new popup's code was never exchanged"
    );
    let held = tokens.token(&CredentialKey::of(&session)).await.unwrap();
    assert_eq!(
        held.secret(),
        CUSTOMER_TOKEN,
        "the session goes on with a token no exchange of it gave"
    );
}

/// The sharing check (`GET /debug_token`) answered with a Graph error (a
/// transient 500, or 190 for the app's own token): the caller must see
/// Graph's error, to retry or fix the app token, not an illegal-step error
/// about an operation the caller never called.
#[tokio::test]
async fn a_graph_error_from_the_sharing_check_is_reported_as_graphs_error() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        &exchange_path(),
        ResponseTemplate::new(200).set_body_json(json!({"access_token": CUSTOMER_TOKEN})),
        1,
    )
    .await;
    answer(
        &server,
        "GET",
        &format!("/{VERSION}/debug_token"),
        error_response(
            500,
            json!({"error": {"message": "An unexpected error has occurred. Please retry your request later.",
                "type": "OAuthException", "code": 2, "is_transient": true, "fbtrace_id": "AZ8or2-trace"}}),
        ),
        1,
    )
    .await;
    let tokens = Arc::new(InMemoryTokens::new());
    let client = route_client(&server, &tokens);
    let mut session = es_session();
    client
        .exchange_signup_code(&mut session, &signup(CODE))
        .await
        .unwrap();
    let err = client.subscribe_app_for(&mut session).await.unwrap_err();
    assert!(
        matches!(err, Error::Api(_)),
        "the sharing check's 500 came back as {err:?}"
    );
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(session.state().name(), StateName::Authorized);
}

/// An exchange refused for a reason other than the code (a rate limit, a
/// wrong app secret) leaves the session `SignupFinished` with no marker.
/// The code is not kept anywhere and lives 30 seconds: nobody on our side
/// can exchange it any more. The session must say the customer finishes the
/// popup again, not that we call `exchange_signup_code` (with what code?),
/// which leaves a fleet reporting "us" forever.
#[tokio::test]
async fn an_exchange_refused_for_another_reason_sends_the_customer_back_to_the_popup() {
    for error in [
        json!({"error": {"message": "(#4) Application request limit reached",
            "type": "OAuthException", "code": 4, "is_transient": true, "fbtrace_id": "AZ8or2-trace"}}),
        json!({"error": {"message": "Error validating client secret.",
            "type": "OAuthException", "code": 1, "error_subcode": 101, "fbtrace_id": "AZ8or2-trace"}}),
    ] {
        let server = MockServer::start().await;
        answer(
            &server,
            "GET",
            &exchange_path(),
            error_response(400, error.clone()),
            1,
        )
        .await;
        let tokens = Arc::new(InMemoryTokens::new());
        let client = route_client(&server, &tokens);
        let mut session = es_session();
        assert!(client
            .exchange_signup_code(&mut session, &signup(CODE))
            .await
            .is_err());
        let next = session.next_action();
        assert!(
            session.in_flight().is_some() || next.action == NextAction::FinishSignup,
            "after {error}: state {:?}, no marker, next {:?} by {:?}: no code is left to exchange",
            session.state().name(),
            next.action,
            next.actor
        );
    }
}

/// A session whose `destination_waba_id` disagrees with its route and state
/// is not one the crate ever saves: a programmatic session naming a
/// destination would start the migration in (and ask the token of) a WABA
/// the session was never made for; a solution migration whose state names
/// one destination and whose field another would subscribe one and move
/// the number into the other. Loading must refuse them.
#[test]
fn a_saved_session_whose_destination_waba_disagrees_with_its_state_is_refused() {
    let programmatic = {
        let mut json = serde_json::to_value(session()).unwrap();
        json["destination_waba_id"] = json!("999999999");
        json
    };
    let draft = {
        let mut json = serde_json::to_value(mps_session()).unwrap();
        json["destination_waba_id"] = json!("999999999");
        json
    };
    let accepted_elsewhere = {
        let mut json = serde_json::to_value(mps_session()).unwrap();
        json["state"] = json!({"state": "intent_accepted", "intent_id": INTENT,
            "destination_waba_id": DESTINATION});
        json["destination_waba_id"] = json!("999999999");
        json
    };
    let ready_without = {
        let mut json = serde_json::to_value(mps_session()).unwrap();
        json["state"] = json!({"state": "destination_ready", "destination_waba_id": DESTINATION});
        json
    };
    let signup_with = {
        let mut json = serde_json::to_value(es_session()).unwrap();
        json["destination_waba_id"] = json!("999999999");
        json
    };
    for (what, json) in [
        ("a programmatic session with a destination", programmatic),
        ("an intent not set yet with a destination", draft),
        (
            "an accepted intent with another destination",
            accepted_elsewhere,
        ),
        (
            "a ready destination the session does not name",
            ready_without,
        ),
        ("an embedded signup with a destination", signup_with),
    ] {
        let loaded = serde_json::from_value::<PortingSession>(json.clone());
        assert!(
            loaded.is_err(),
            "{what} loads (target WABA {:?}): {json}",
            loaded.map(|s| s.target_waba_id().clone())
        );
    }
}

/// The consequence of the above on the wire: a programmatic session loaded
/// with a `destination_waba_id` starts the migration in that WABA.
#[tokio::test]
async fn a_loaded_programmatic_session_starts_the_migration_only_in_its_own_waba() {
    let server = MockServer::start().await;
    mount_happy_path(&server).await;
    answer(
        &server,
        "POST",
        &format!("/{VERSION}/999999999/phone_numbers"),
        ResponseTemplate::new(200).set_body_json(json!({"id": NUMBER_ID})),
        1,
    )
    .await;
    let mut json = serde_json::to_value(session()).unwrap();
    json["destination_waba_id"] = json!("999999999");
    let Ok(mut loaded) = serde_json::from_value::<PortingSession>(json) else {
        return; // refused on load: fine
    };
    let client = client(&server);
    client.start_migration(&mut loaded).await.unwrap();
    let sent = requests(&server).await;
    assert_eq!(
        sent[0].url.path(),
        start_path(),
        "the migration of WABA {WABA}'s session started in another WABA"
    );
}

/// `refresh` promises only reads ("safe to call at any time, for example on
/// a timer"). A solution migration whose intent answer was lost holds the
/// `set_solution_migration_intent` marker: refreshing it must not send the
/// customer's request again.
#[tokio::test]
async fn refreshing_a_session_whose_intent_answer_was_lost_sends_only_reads() {
    let server = MockServer::start().await;
    let intent_path = format!("/{VERSION}/{WABA}/set_solution_migration_intent");
    answer(
        &server,
        "POST",
        &intent_path,
        ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"),
        1,
    )
    .await;
    answer(
        &server,
        "POST",
        &intent_path,
        ResponseTemplate::new(200).set_body_json(json!({"id": INTENT})),
        5,
    )
    .await;
    let tokens = Arc::new(InMemoryTokens::new());
    tokens.insert(BusinessId::new(BUSINESS).unwrap(), CUSTOMER_TOKEN);
    let client = route_client(&server, &tokens);
    let mut session = mps_session();
    assert!(client.set_migration_intent(&mut session).await.is_err());
    assert!(session.in_flight().is_some());
    let before = requests(&server).await.len();

    let _ = client.refresh(&mut session).await;
    let sent = requests(&server).await;
    let posts: Vec<String> = sent[before..]
        .iter()
        .filter(|r| r.method.as_str() != "GET")
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert!(posts.is_empty(), "refresh sent {posts:?}");
}

/// Once Meta created the destination WABA, the port's WABA is the
/// destination: its subscription, review and payment are what `register`
/// meets. `check_readiness` (with the destination's token, from the
/// session's key) still reads the source WABA.
#[tokio::test]
async fn the_readiness_of_a_solution_migration_past_acceptance_reads_the_destination_waba() {
    let server = MockServer::start().await;
    let tokens = Arc::new(InMemoryTokens::new());
    tokens.insert(BusinessId::new(BUSINESS).unwrap(), CUSTOMER_TOKEN);
    let client = route_client(&server, &tokens);
    let mut json = serde_json::to_value(mps_session()).unwrap();
    json["state"] = json!({"state": "destination_ready", "destination_waba_id": DESTINATION});
    json["destination_waba_id"] = json!(DESTINATION);
    let session: PortingSession = serde_json::from_value(json).unwrap();
    assert_eq!(session.target_waba_id().as_str(), DESTINATION);

    let _ = client.check_readiness(&session).await;
    let sent = requests(&server).await;
    assert!(!sent.is_empty());
    let source = format!("/{VERSION}/{WABA}");
    let wrong: Vec<&str> = sent
        .iter()
        .map(|r| r.url.path())
        .filter(|p| p.starts_with(&source))
        .collect();
    assert!(
        wrong.is_empty(),
        "readiness of the move into {DESTINATION} read the source WABA: {wrong:?}"
    );
}

/// The exchange's answer is the customer's business token. An answer of an
/// unexpected shape that holds it must not hand it to whoever prints or
/// logs the error (`body_snippet`, `Display`, `Debug`).
#[tokio::test]
async fn an_exchange_answer_of_another_shape_never_shows_the_customers_token() {
    let server = MockServer::start().await;
    let token = "customer.business.token.Zx81Qm";
    answer(
        &server,
        "GET",
        &exchange_path(),
        ResponseTemplate::new(200)
            .set_body_json(json!({"data": [{"access_token": token, "token_type": "bearer"}]})),
        1,
    )
    .await;
    let tokens = Arc::new(InMemoryTokens::new());
    let client = route_client(&server, &tokens);
    let mut session = es_session();
    let err = client
        .exchange_signup_code(&mut session, &signup(CODE))
        .await
        .unwrap_err();
    let Error::UnexpectedResponse(unexpected) = &err else {
        panic!("{err:?}");
    };
    let shown = format!("{err} {err:?} {}", unexpected.body_snippet());
    assert!(!shown.contains(token), "{shown}");
    let saved = serde_json::to_string(&session).unwrap();
    assert!(!saved.contains(token), "{saved}");
}

/// A saved session in `AwaitingSignup` with the exchange marked in flight
/// loads (the state allows the step), but no path of the crate writes it
/// and none settles it: with a token held, the reconcile applies
/// `SignupCodeExchanged` to `AwaitingSignup`, an illegal transition, and
/// the marker stays — every reconcile (and every fleet turn) fails the
/// same way. Loading must refuse it, or reconciling must settle it.
#[tokio::test]
async fn a_saved_exchange_marker_without_a_finished_signup_is_refused_or_settled() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        &exchange_path(),
        ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"),
        1,
    )
    .await;
    let tokens = Arc::new(InMemoryTokens::new());
    let client = route_client(&server, &tokens);
    let mut session = es_session();
    assert!(client
        .exchange_signup_code(&mut session, &signup(CODE))
        .await
        .is_err());
    let mut json = serde_json::to_value(&session).unwrap();
    assert!(json.get("in_flight").is_some(), "{json}");
    json["state"] = json!({"state": "awaiting_signup"});
    let Ok(mut loaded) = serde_json::from_value::<PortingSession>(json) else {
        return; // refused on load: fine
    };
    tokens.insert(BusinessId::new(BUSINESS).unwrap(), CUSTOMER_TOKEN);
    let settled = client.reconcile(&mut loaded).await;
    assert!(
        settled.is_ok() && loaded.in_flight().is_none(),
        "{settled:?}, marker {:?}",
        loaded.in_flight()
    );
}

/// A checkpoint that refuses every save.
#[derive(Debug)]
struct RefusingCheckpoint;

#[waba_porting::async_trait]
impl waba_porting::Checkpoint for RefusingCheckpoint {
    async fn save(
        &self,
        _session: &PortingSession,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Err("the store is down".into())
    }
}

/// The write-ahead save before the exchange fails: nothing was sent, and
/// the session must be as it was (`AwaitingSignup`, the customer's popup
/// result still to hand in). The snapshot it is put back to is taken after
/// `apply(SignupFinished)`, so the session is left `SignupFinished` with no
/// marker and no code: "exchange the code now" (us), with no code anywhere.
#[tokio::test]
async fn a_failed_save_before_the_exchange_leaves_the_session_as_it_was() {
    let server = MockServer::start().await;
    let tokens = Arc::new(InMemoryTokens::new());
    let client = PortingClient::builder()
        .access_token(TOKEN)
        .app_credentials(AppId::new(APP_ID).unwrap(), AppSecret::new(APP_SECRET))
        .token_provider(Arc::clone(&tokens))
        .base_url(server.uri())
        .retry_policy(RetryPolicy::none())
        .checkpoint(RefusingCheckpoint)
        .build()
        .unwrap();
    let mut session = es_session();
    let before = serde_json::to_value(&session).unwrap();
    let err = client
        .exchange_signup_code(&mut session, &signup(CODE))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Checkpoint(_)), "{err:?}");
    assert!(requests(&server).await.is_empty());
    assert_eq!(
        serde_json::to_value(&session).unwrap(),
        before,
        "next: {:?}",
        session.next_action()
    );
}
