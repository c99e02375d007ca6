//! "Already in your list" (2388012) is resolved by finding the number in
//! the destination WABA's list by its display number. Graph may list a
//! Brazilian mobile without the ninth digit it got in 2012–2016, and a
//! Côte d'Ivoire number in its 8-digit form of before 31 January 2021
//! (mobiles then got their operator's prefix, 01, 05 or 07): the look-up
//! finds the number in either form, and never another number.
#![cfg(all(feature = "reqwest", feature = "simulator"))]

use crate::common;

use common::*;
use serde_json::{json, Value};
use waba_porting::{ApiErrorKind, BusinessId, PhoneNumber, PortingSession, StateName, WabaId};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn session_for(number: &str) -> PortingSession {
    PortingSession::new(
        PhoneNumber::parse(number).unwrap_or_else(|e| panic!("{number}: {e}")),
        WabaId::new(WABA).unwrap(),
        BusinessId::new(BUSINESS).unwrap(),
    )
}

/// A destination that answers the migration start with 2388012 and lists
/// `listed` (id, display) as its numbers, each verified, not registered.
async fn destination_listing(listed: &[(&str, &str)]) -> MockServer {
    let server = MockServer::start().await;
    let body = graph_error(
        2388012,
        None,
        "This phone number already exists in your list of phone numbers",
    );
    answer(&server, "POST", &start_path(), error_response(400, body), 1).await;
    let data: Vec<Value> = listed
        .iter()
        .map(|(id, display)| {
            json!({"id": id, "display_phone_number": display, "verified_name": "Acme",
                   "status": "PENDING", "code_verification_status": "VERIFIED"})
        })
        .collect();
    Mock::given(method("GET"))
        .and(path(start_path()))
        .and(query_param("limit", "100"))
        .and(query_param(
            "fields",
            "id,display_phone_number,verified_name,status,code_verification_status,name_status,platform_type",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": data})))
        .expect(1)
        .mount(&server)
        .await;
    server
}

/// Starts `number`'s migration against a destination listing `listed`; the
/// id the session adopted, if any.
async fn adopted(number: &str, listed: &[(&str, &str)]) -> Option<String> {
    let server = destination_listing(listed).await;
    let client = client(&server);
    let mut session = session_for(number);
    let result = client.start_migration(&mut session).await;
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2, "the start and one page of the list");
    assert_eq!(sent[1].method.as_str(), "GET");
    assert_eq!(sent[1].url.path(), start_path());
    server.verify().await;
    match result {
        Ok(state) => {
            assert_eq!(state, StateName::CodeVerified);
            session
                .state()
                .phone_number_id()
                .map(|id| id.as_str().to_owned())
        }
        Err(error) => {
            // Meta says it is there, the list shows no form of it: Meta's
            // answer is reported and the session stays where it was.
            assert_eq!(error.api_kind(), Some(ApiErrorKind::AlreadyInDestination));
            assert_eq!(session.state().name(), StateName::Draft);
            None
        }
    }
}

#[tokio::test]
async fn a_brazilian_mobile_is_found_with_or_without_its_ninth_digit() {
    let others = [
        ("111", "+55 11 8765-4322"),
        ("222", "+55 21 8765-4321"),
        ("333", "+55 11 98765-4320"),
    ];
    for listed_as in ["+55 11 98765-4321", "+55 11 8765-4321", "551187654321"] {
        let mut listed = others.to_vec();
        listed.push((NUMBER_ID, listed_as));
        assert_eq!(
            adopted("+55 11 98765-4321", &listed).await.as_deref(),
            Some(NUMBER_ID),
            "{listed_as}"
        );
    }
    // Only other numbers listed: nothing is adopted.
    assert_eq!(adopted("+55 11 98765-4321", &others).await, None);
}

/// An 8-digit number in the radio range (7xxx-xxxx) kept its 8 digits: it
/// is a number of its own, not the earlier form of 9 7xxx-xxxx.
#[tokio::test]
async fn a_brazilian_number_that_kept_8_digits_is_another_number() {
    assert_eq!(
        adopted("+55 11 97765-4321", &[("444", "+55 11 7765-4321")]).await,
        None
    );
}

#[tokio::test]
async fn an_ivorian_mobile_is_found_in_its_8_digit_form() {
    // Orange (07) series 08, MTN (05) series 05, Moov (01) series 43.
    for (number, earlier) in [
        ("+225 07 08 12 34 56", "+225 08 12 34 56"),
        ("+225 05 05 23 45 67", "+225 05 23 45 67"),
        ("+225 01 43 12 34 56", "+225 43 12 34 56"),
    ] {
        for listed_as in [number, earlier] {
            let listed = [("555", "+225 07 99 99 99 99"), (NUMBER_ID, listed_as)];
            assert_eq!(
                adopted(number, &listed).await.as_deref(),
                Some(NUMBER_ID),
                "{number} listed as {listed_as}"
            );
        }
    }
}

/// The same 8 digits under another operator's prefix are another number:
/// +225 05 08 12 34 56 (MTN) was never +225 08 12 34 56, an Orange series.
#[tokio::test]
async fn an_ivorian_number_of_another_operator_is_another_number() {
    let listed = [
        ("666", "+225 08 12 34 56"),
        ("777", "+225 08 12 34 57"),
        ("888", "+225 07 08 12 34 56"),
    ];
    assert_eq!(adopted("+225 05 08 12 34 56", &listed).await, None);
}
