//! 2388012 ("already in your list"): the look-up of the number in the
//! destination's list pages safely, and the listing found is adopted in the
//! state it shows — never a registered number restarted, never a stale
//! listing taken blindly.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::hooked::*;
use crate::common::wire::pin;
use crate::common::*;
use serde_json::json;
use waba_porting::simulator::Scenario;
use waba_porting::{Error, NextAction, Operation, StateName, StepOutcome, UndecodableReason};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The number is registered in the destination already (a first session
/// finished). A second session's start meets 2388012; the list answers
/// without `status` / `code_verification_status` (Graph omits fields). The
/// first round fixed exactly this for the read ("absence of evidence is not
/// evidence"), not for the list: the number is adopted as `Initiated`, and
/// the next steps text the customer and spend register calls on a number
/// that is connected.
#[tokio::test]
async fn adoption_from_a_list_without_status_fields_restarts_a_registered_number() {
    let sim = Scenario::happy_path().build();
    let wire = Hooked::new(&sim, |op, _| match op {
        Operation::ListPhoneNumbers => Action::Rewrite(strip_status_fields),
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire);
    let mut first = sim.session();
    to_code_verified(&sim, &client, &mut first).await;
    client.register(&mut first, &pin(), None).await.unwrap();

    let mut second = sim.session();
    let state = client.start_migration(&mut second).await;
    assert_ne!(
        second.state().name(),
        StateName::Initiated,
        "a connected number adopted as Initiated ({state:?}): the list did not say where it stands"
    );
    assert!(
        matches!(state, Ok(StateName::Registered)) || state.is_err(),
        "{state:?}"
    );
}

/// The destination lists the number twice (a stale object left by an earlier
/// attempt, then the live, connected one). The look-up stops at the first
/// match in list order and adopts the stale `PENDING` object as `Initiated`:
/// the customer is texted for a number object that is not the live one. Two
/// listings that disagree must not be settled by list order.
#[tokio::test]
async fn adoption_of_a_number_listed_twice_takes_the_first_listing_blindly() {
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut first = sim.session();
    to_code_verified(&sim, &client, &mut first).await;
    client.register(&mut first, &pin(), None).await.unwrap();
    let live = first.state().phone_number_id().unwrap().as_str().to_owned();

    let page = json!({
        "data": [
            {"id": "100000000000001", "display_phone_number": "+1 415-555-0123",
             "status": "PENDING", "code_verification_status": "NOT_VERIFIED"},
            {"id": live, "display_phone_number": "+1 415-555-0123",
             "status": "CONNECTED", "code_verification_status": "VERIFIED"}
        ],
        "paging": {"cursors": {"before": "a", "after": "b"}}
    });
    let wire = Hooked::new(&sim, move |op, _| match op {
        Operation::ListPhoneNumbers => Action::Replace(json_response(200, page.clone())),
        _ => Action::Pass,
    });
    let client = client_over(&sim, wire);
    let mut second = sim.session();
    let state = client.start_migration(&mut second).await;
    let adopted = second
        .state()
        .phone_number_id()
        .map(|id| id.as_str().to_owned());
    assert!(
        state.is_err() || adopted.as_deref() == Some(live.as_str()),
        "adopted {adopted:?} as {:?} ({state:?}) while the connected listing is {live}",
        second.state().name()
    );
}

/// Adoption after 2388012 used to always land in `Initiated`, texting the
/// customer and spending register calls again. It now follows the listed
/// status.
#[tokio::test]
async fn adoption_after_2388012_follows_the_listed_state() {
    // CONNECTED in the destination → Registered.
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut first = sim.session();
    client.start_migration(&mut first).await.unwrap();
    request_and_verify(&sim, &client, &mut first).await;
    client.register(&mut first, &pin(), None).await.unwrap();
    let before = sim.served().len();

    let mut second = sim.session();
    let state = client.start_migration(&mut second).await.unwrap();
    assert_eq!(state, StateName::Registered);
    assert_eq!(
        second.state().phone_number_id(),
        first.state().phone_number_id()
    );
    let tail: Vec<_> = served(&sim).into_iter().skip(before).collect();
    assert_eq!(
        tail,
        vec![
            (Some(Operation::StartMigration), Some(400)),
            (Some(Operation::ListPhoneNumbers), Some(200)),
        ]
    );
    assert!(matches!(
        second.history().last().map(|t| &t.outcome),
        Some(StepOutcome::ExistingNumberAdopted { observed, .. }) if observed.registered
    ));

    // VERIFIED (not registered) in the destination → CodeVerified.
    let sim = Scenario::happy_path().build();
    let client = plain_client(&sim);
    let mut first = sim.session();
    client.start_migration(&mut first).await.unwrap();
    request_and_verify(&sim, &client, &mut first).await;
    let before = sim.served().len();

    let mut second = sim.session();
    let state = client.start_migration(&mut second).await.unwrap();
    assert_eq!(state, StateName::CodeVerified);
    assert_eq!(
        second.state().phone_number_id(),
        first.state().phone_number_id()
    );
    let tail: Vec<_> = served(&sim).into_iter().skip(before).collect();
    assert_eq!(
        tail,
        vec![
            (Some(Operation::StartMigration), Some(400)),
            (Some(Operation::ListPhoneNumbers), Some(200)),
        ],
        "no request_code or register sent by the adopting session"
    );
    assert_eq!(second.next_action().action, NextAction::Register);
    // It finishes with one register and without a second code.
    client.register(&mut second, &pin(), None).await.unwrap();
    assert_eq!(second.state().name(), StateName::Registered);
    assert_eq!(count(&sim, Operation::RequestCode), 1);
    assert_eq!(count(&sim, Operation::Register), 1);
    assert_eq!(sim.inbox(second.phone_number()).len(), 1);
}

/// A list repeating its cursor used to return thousands of records as `Ok`.
#[tokio::test]
async fn paging_stops_on_a_repeated_cursor_and_at_the_page_limit() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        &start_path(),
        ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"id": "999", "display_phone_number": "+44 20 7946 0000"}],
            "paging": {"cursors": {"before": "SAME", "after": "SAME"},
                       "next": "https://graph.facebook.com/v25.0/next"}
        })),
        1_000,
    )
    .await;
    let client = client(&server);
    let waba = session().waba_id().clone();
    let err = client.list_phone_numbers(&waba).await.unwrap_err();
    match &err {
        Error::UnexpectedResponse(e) => {
            assert_eq!(e.reason(), UndecodableReason::RepeatedCursor);
            assert_eq!(e.operation(), Operation::ListPhoneNumbers);
        }
        other => panic!("expected RepeatedCursor, got {other:?}"),
    }
    let sent = requests(&server).await.len();
    assert_eq!(sent, 2, "stops at the first repeat");

    // Fresh cursors forever: the page limit.
    let server = MockServer::start().await;
    let pages = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pages);
    Mock::given(method("GET"))
        .and(path(start_path()))
        .respond_with(move |_: &Request| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(json!({
                "data": [{"id": "999", "display_phone_number": "+44 20 7946 0000"}],
                "paging": {"cursors": {"after": format!("CURSOR{n}")},
                           "next": "https://graph.facebook.com/v25.0/next"}
            }))
        })
        .mount(&server)
        .await;
    let client = client_with_timeout(&server, Duration::from_secs(5));
    let err = client.list_phone_numbers(&waba).await.unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedResponse(e) if e.reason() == UndecodableReason::TooManyPages),
        "{err:?}"
    );
    let sent = requests(&server).await.len();
    assert!((2..=50).contains(&sent), "{sent} requests");
    assert_eq!(pages.load(Ordering::SeqCst), sent);
}
