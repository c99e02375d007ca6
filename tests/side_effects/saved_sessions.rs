//! The saved session: its history keeps the Graph fields support asks for
//! and stays bounded without forgetting what a step depends on; its
//! counters count what was sent; a session saved by a newer version loads,
//! and an impossible one does not.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use crate::common::hooked::*;
use crate::common::wire::pin;
use crate::common::*;
use serde_json::{json, Value};
use waba_porting::simulator::{Fault, Scenario};
use waba_porting::{
    ApiErrorKind, CodeMethod, Language, Operation, PortingSession, PortingState, StateName,
    StepOutcome, Timestamp, TransportErrorKind, HISTORY_LIMIT,
};

/// `code_request_unconfirmed` scans the history for the last `CodeRequested`
/// entry. The history keeps 32 entries: after 32 throttled verify attempts
/// (days of a customer retrying) the entry is gone and the session says the
/// code request was confirmed, while nothing ever confirmed it.
#[tokio::test]
async fn code_request_unconfirmed_is_forgotten_once_the_history_is_trimmed() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    sim.inject_at(Operation::RequestCode, Fault::AnswerLost, 1);
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap_err();
    client.reconcile(&mut session).await.unwrap();
    assert!(session.code_request_unconfirmed());

    let code = sim.latest_code(session.phone_number()).unwrap();
    sim.inject_at(
        Operation::VerifyCode,
        Fault::RateLimit {
            code: 130429,
            retry_after: None,
        },
        40,
    );
    for _ in 0..40 {
        let _ = client.verify_code(&mut session, &code).await;
        sim.advance(HOUR);
    }
    assert_eq!(session.state().name(), StateName::CodeRequested);
    assert!(session.counters().history_dropped > 0);
    assert!(
        session.code_request_unconfirmed(),
        "nothing confirmed the code request; trimming the history must not confirm it"
    );
}

/// register could not connect (nothing sent: the client itself gives the
/// budget back). `Counters::register_requests` — documented as "register
/// requests sent (each spends one of 10 per 72 hours)" — still counts it, and
/// disagrees with the budget record.
#[tokio::test]
async fn counters_count_a_register_that_could_not_connect_as_sent() {
    let sim = Scenario::happy_path().build();
    let wire = Hooked::new(&sim, |op, n| match (op, n) {
        (Operation::Register, 1) => Action::Fail(TransportErrorKind::Connect),
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire);
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;
    client
        .register(&mut session, &pin(), None)
        .await
        .unwrap_err();
    assert!(session.in_flight().is_none());
    assert_eq!(session.register_calls(sim.now()).count(), 0);
    assert_eq!(
        session.counters().register_requests,
        0,
        "no register request was sent"
    );
}

/// `StepOutcome`, `Operation` and `StateName` are `#[non_exhaustive]`: a
/// newer minor version may add values. The first round made unknown error
/// kinds load; a history entry with an outcome, an operation or a state name
/// a newer version adds still makes the whole session fail to load — though
/// the history is only a bounded log (entries are dropped anyway) and the
/// state itself is one this version knows. A rollback strands every session
/// the newer version touched.
#[tokio::test]
async fn history_entry_a_newer_version_adds_makes_the_session_unloadable() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    to_code_verified(&sim, &client, &mut session).await;
    let base: Value = serde_json::to_value(&session).unwrap();

    let newer_entries = [
        json!({"at": 5, "from": "code_verified", "to": "code_verified",
               "outcome": {"outcome": "pin_set"}}),
        json!({"at": 5, "from": "code_verified", "to": "code_verified",
               "outcome": {"outcome": "failed", "operation": "set_pin",
                           "kind": "pin_incorrect", "code": 133005}}),
        json!({"at": 5, "from": "awaiting_display_name", "to": "code_verified",
               "outcome": {"outcome": "code_verified"}}),
    ];
    let mut refused = Vec::new();
    for entry in newer_entries {
        let mut value = base.clone();
        value["history"].as_array_mut().unwrap().push(entry.clone());
        match serde_json::from_value::<PortingSession>(value) {
            Ok(loaded) => assert_eq!(loaded.state(), session.state()),
            Err(e) => refused.push(format!("{entry}: {e}")),
        }
    }
    assert!(
        refused.is_empty(),
        "sessions with history entries from a newer version do not load:\n{}",
        refused.join("\n")
    );
}

fn session_json(state: serde_json::Value, extra: serde_json::Value) -> String {
    let mut value = json!({
        "format_version": 1,
        "phone_number": "+14155550123",
        "waba_id": WABA,
        "business_id": BUSINESS,
        "state": state,
        "history": [],
    });
    if let (Some(map), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            map.insert(k.clone(), v.clone());
        }
    }
    value.to_string()
}

/// Impossible saved states used to load and misbehave later.
#[test]
fn impossible_saved_states_do_not_load() {
    let registered = json!({"state": "registered", "phone_number_id": NUMBER_ID});
    let initiated = json!({"state": "initiated", "phone_number_id": NUMBER_ID});
    let verified = json!({"state": "code_verified", "phone_number_id": NUMBER_ID});
    let code_requested = json!({"state": "code_requested", "phone_number_id": NUMBER_ID,
                                "method": "SMS", "language": "en_US", "at": 5});
    let cases = [
        (
            "waiting state resuming a final state",
            session_json(
                json!({"state": "awaiting_two_step_disable", "resume": registered,
                       "step": "register"}),
                json!({}),
            ),
            vec!["awaiting_two_step_disable", "cannot resume", "registered"],
        ),
        (
            "waiting state resuming a waiting state",
            session_json(
                json!({"state": "awaiting_on_behalf_approval",
                       "resume": {"state": "awaiting_two_step_disable", "resume": verified,
                                  "step": "register"},
                       "step": "register"}),
                json!({}),
            ),
            vec!["cannot resume", "awaiting_two_step_disable"],
        ),
        (
            "waiting state with a step its resume state forbids",
            session_json(
                json!({"state": "awaiting_two_step_disable", "resume": initiated,
                       "step": "verify_code"}),
                json!({}),
            ),
            vec!["initiated", "cannot retry verify_code"],
        ),
        (
            "start_migration in flight",
            session_json(
                json!({"state": "draft"}),
                json!({"in_flight": {"operation": "start_migration", "since": 1}}),
            ),
            vec!["start_migration cannot be in flight", "draft"],
        ),
        (
            "a step the state forbids in flight",
            session_json(
                initiated,
                json!({"in_flight": {"operation": "register", "since": 1}}),
            ),
            vec!["register cannot be in flight", "initiated"],
        ),
    ];
    for (what, json, words) in cases {
        let err = serde_json::from_str::<PortingSession>(&json)
            .expect_err(what)
            .to_string();
        for word in words {
            assert!(err.contains(word), "{what}: {err:?} lacks {word:?}");
        }
    }

    // A possible one loads: waiting on a refused request_code, with a
    // verify_code in flight.
    let json = session_json(
        json!({"state": "awaiting_two_step_disable", "resume": code_requested,
               "step": "request_code"}),
        json!({"in_flight": {"operation": "verify_code", "since": 6}}),
    );
    let session: PortingSession = serde_json::from_str(&json).unwrap();
    assert_eq!(session.state().name(), StateName::AwaitingTwoStepDisable);
    assert_eq!(session.state().refused_step(), Some(Operation::RequestCode));
    assert_eq!(
        session.in_flight().map(|f| f.operation),
        Some(Operation::VerifyCode)
    );
    // And the states alone validate too.
    let state = json!({"state": "awaiting_two_step_disable", "resume": registered,
                       "step": "register"});
    assert!(serde_json::from_value::<PortingState>(state).is_err());
}

/// A session saved by a newer version with an error kind this version does not
/// know used to fail to load.
#[test]
fn unknown_error_kinds_from_the_future_load() {
    let json = session_json(
        json!({"state": "code_verified", "phone_number_id": NUMBER_ID}),
        json!({"history": [{
            "at": 7, "from": "code_verified", "to": "code_verified",
            "outcome": {"outcome": "failed", "operation": "register",
                        "kind": "some_kind_from_the_future", "code": 131999,
                        "error_subcode": 2999001, "fbtrace_id": "AbCdEf123"}
        }]}),
    );
    let session: PortingSession = match serde_json::from_str(&json) {
        Ok(session) => session,
        Err(e) => panic!("a future kind must load: {e}"),
    };
    let outcome = &session.history()[0].outcome;
    match outcome {
        StepOutcome::Failed {
            operation,
            kind,
            code,
            error_subcode,
            fbtrace_id,
        } => {
            assert_eq!(*operation, Operation::Register);
            assert_eq!(*kind, ApiErrorKind::Unknown);
            assert_eq!(*code, Some(131999));
            assert_eq!(*error_subcode, Some(2999001));
            assert_eq!(fbtrace_id.as_deref(), Some("AbCdEf123"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(session.state().name(), StateName::CodeVerified);
}

/// The history keeps the Graph fields support asks for, and stays bounded.
#[tokio::test]
async fn history_keeps_graph_fields_and_is_bounded() {
    // A real failure, from the simulator: code and fbtrace_id kept.
    let sim = Scenario::on_behalf_not_accepted().build();
    let client = plain_client(&sim);
    let mut session = sim.session();
    let err = client.start_migration(&mut session).await.unwrap_err();
    let trace = err.api().and_then(|e| e.fbtrace_id()).unwrap().to_owned();
    match &session.history().last().unwrap().outcome {
        StepOutcome::Failed {
            kind,
            code,
            fbtrace_id,
            ..
        } => {
            assert_eq!(*kind, ApiErrorKind::OnBehalfNotAccepted);
            assert_eq!(*code, Some(2388103));
            assert_eq!(fbtrace_id.as_deref(), Some(trace.as_str()));
        }
        other => panic!("{other:?}"),
    }
    // A failure with a subcode (100/33: the saved id no longer exists).
    let json = session_json(
        json!({"state": "initiated", "phone_number_id": "999999999999999"}),
        json!({}),
    );
    let mut gone: PortingSession = serde_json::from_str(&json).unwrap();
    let err = client
        .request_code(&mut gone, CodeMethod::Sms, &Language::default())
        .await
        .unwrap_err();
    let trace = err.api().and_then(|e| e.fbtrace_id()).unwrap().to_owned();
    match &gone.history().last().unwrap().outcome {
        StepOutcome::Failed {
            operation,
            code,
            error_subcode,
            fbtrace_id,
            ..
        } => {
            assert_eq!(*operation, Operation::RequestCode);
            assert_eq!(*code, Some(100));
            assert_eq!(*error_subcode, Some(33));
            assert_eq!(fbtrace_id.as_deref(), Some(trace.as_str()));
        }
        other => panic!("{other:?}"),
    }
    // They survive persistence.
    let saved = serde_json::to_string(&gone).unwrap();
    assert!(saved.contains(r#""error_subcode":33"#), "{saved}");
    assert!(saved.contains(&trace), "{saved}");
    let back: PortingSession = serde_json::from_str(&saved).unwrap();
    assert_eq!(back, gone);

    // Bounded: the newest HISTORY_LIMIT entries, the rest counted.
    let mut busy = sim.session();
    let extra = 9;
    for i in 0..(HISTORY_LIMIT + extra) {
        busy.apply(
            StepOutcome::failed(Operation::StartMigration, ApiErrorKind::RateLimited),
            Timestamp::from_unix_millis(i as u64),
        )
        .unwrap();
    }
    assert_eq!(busy.history().len(), HISTORY_LIMIT);
    assert_eq!(busy.counters().history_dropped as usize, extra);
    assert_eq!(busy.counters().failures as usize, HISTORY_LIMIT + extra);
    assert_eq!(
        busy.history()[0].at,
        Timestamp::from_unix_millis(extra as u64),
        "the oldest are dropped"
    );
    let back: PortingSession =
        serde_json::from_str(&serde_json::to_string(&busy).unwrap()).unwrap();
    assert_eq!(back.counters().history_dropped as usize, extra);
    // A saved history longer than the limit is trimmed on load.
    let long: Vec<_> = (0..HISTORY_LIMIT + 3)
        .map(|i| {
            json!({"at": i, "from": "draft", "to": "draft",
                   "outcome": {"outcome": "failed", "operation": "start_migration",
                               "kind": "rate_limited"}})
        })
        .collect();
    let json = session_json(json!({"state": "draft"}), json!({"history": long}));
    let loaded: PortingSession = serde_json::from_str(&json).unwrap();
    assert_eq!(loaded.history().len(), HISTORY_LIMIT);
    assert_eq!(loaded.counters().history_dropped, 3);
}
