//! Every status value Meta documents (and the ones real answers carry) is
//! known, means what its type's table says, and that meaning takes effect:
//! a number `BANNED` or `DELETED` ends the port instead of being retried
//! forever, a `RESTRICTED` WABA is a readiness blocker, a value nobody
//! documented is kept as sent and never read as registered (or approved,
//! or verified). Everything goes through the public API, on the simulator.
#![cfg(feature = "simulator")]

use waba_porting::simulator::{Fault, Scenario, Simulator};
use waba_porting::{
    AccountReviewStatus, ApiErrorKind, BusinessVerificationStatus, CodeMethod, Language,
    NameStatus, NextAction, NumberGone, NumberStatus, Operation, Pin, PortingSession,
    ReadinessCheck, RejectionReason, RetryPolicy, StateName, StatusMeaning,
};

fn pin() -> Pin {
    Pin::new("482913").unwrap()
}

/// A started port (its number object exists), with the client.
async fn started(sim: &Simulator) -> (waba_porting::PortingClient, PortingSession) {
    let client = sim.client().unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    (client, session)
}

/// The session moved to `CodeVerified`.
async fn verified(sim: &Simulator) -> (waba_porting::PortingClient, PortingSession) {
    let (client, mut session) = started(sim).await;
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let code = sim.latest_code(session.phone_number()).unwrap();
    client.verify_code(&mut session, &code).await.unwrap();
    (client, session)
}

const NUMBER_STATUSES: &[(&str, StatusMeaning)] = &[
    ("CONNECTED", StatusMeaning::Done),
    ("PENDING", StatusMeaning::Proceed),
    ("LINKED", StatusMeaning::Proceed),
    ("UNVERIFIED", StatusMeaning::Proceed),
    ("DISCONNECTED", StatusMeaning::Proceed),
    ("FLAGGED", StatusMeaning::Wait),
    ("RESTRICTED", StatusMeaning::Wait),
    ("RATE_LIMITED", StatusMeaning::Wait),
    ("MESSAGING_LIMIT_TIER_0", StatusMeaning::Wait),
    ("MESSAGING_LIMIT_TIER_4", StatusMeaning::Wait),
    ("DELETED", StatusMeaning::Gone),
    ("BANNED", StatusMeaning::Gone),
    ("MIGRATED", StatusMeaning::Gone),
    ("UNLINKED", StatusMeaning::Gone),
];

/// Each number status, read from the number: known, with its meaning;
/// only `CONNECTED` is registered.
#[tokio::test]
async fn every_number_status_is_read_with_its_meaning_and_only_connected_is_registered() {
    let sim = Scenario::happy_path().build();
    let (client, session) = started(&sim).await;
    let id = session.state().phone_number_id().unwrap().clone();
    for (value, meaning) in NUMBER_STATUSES {
        assert!(sim.set_number_status(session.phone_number(), Some(value)));
        let record = client.read_phone_number(&id).await.unwrap();
        let status = record.status.clone().unwrap();
        assert!(!matches!(status, NumberStatus::Other(_)), "{value}");
        assert_eq!(status.as_str(), *value);
        assert_eq!(status.meaning(), *meaning, "{value}");
        assert_eq!(record.is_connected(), *value == "CONNECTED", "{value}");
        assert_eq!(
            record.gone().is_some(),
            *meaning == StatusMeaning::Gone,
            "{value}"
        );
    }
    // Lower case reads the same.
    assert_eq!(NumberStatus::from_graph("banned"), NumberStatus::Banned);
}

/// Each gone value ends a port that has not registered: the session is
/// rejected with the matching reason, and says what to do next.
#[tokio::test]
async fn a_number_gone_from_the_destination_ends_the_port() {
    let cases = [
        (
            "BANNED",
            NumberGone::Banned,
            RejectionReason::NumberBanned,
            NextAction::AppealBan,
        ),
        (
            "DELETED",
            NumberGone::Deleted,
            RejectionReason::NumberDeleted,
            NextAction::StartOver,
        ),
        (
            "MIGRATED",
            NumberGone::Migrated,
            RejectionReason::NumberMigrated,
            NextAction::StartOver,
        ),
        (
            "UNLINKED",
            NumberGone::Unlinked,
            RejectionReason::NumberUnlinked,
            NextAction::StartOver,
        ),
    ];
    for (value, gone, reason, action) in cases {
        let sim = Scenario::happy_path().build();
        let (client, mut session) = started(&sim).await;
        sim.set_number_status(session.phone_number(), Some(value));
        let record = client.refresh(&mut session).await.unwrap().unwrap();
        assert_eq!(record.gone(), Some(gone), "{value}");
        assert_eq!(
            session.state(),
            &waba_porting::PortingState::Rejected { reason },
            "{value}"
        );
        assert_eq!(session.last_read().unwrap().gone, Some(gone));
        let next = session.next_action();
        assert_eq!(next.action, action, "{value}");
        assert_eq!(next.action.step(), None, "{value}: no step can help");
        assert!(!next.action.remediation().is_empty());
        // Nothing more is sent for it: the state allows no step.
        let served = sim.served_count();
        assert!(client
            .request_code(&mut session, CodeMethod::Sms, &Language::default())
            .await
            .is_err());
        assert_eq!(sim.served_count(), served, "{value}");
    }
}

/// A register whose outcome is unknown is settled by a read: a number
/// banned meanwhile ends the port — the call returns the rejection and
/// spends no second register — instead of a retry loop on a number that
/// will never register.
#[tokio::test]
async fn a_banned_number_is_not_registered_again_after_an_unknown_outcome() {
    let sim = Scenario::happy_path().build();
    let (_, mut session) = verified(&sim).await;
    let client = sim
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    sim.inject_at(Operation::Register, Fault::ServiceUnavailable, 1);
    sim.set_number_status(session.phone_number(), Some("BANNED"));
    // A 503: the register's outcome is unknown, its marker stays.
    assert!(client.register(&mut session, &pin(), None).await.is_err());
    assert_eq!(session.in_flight().unwrap().operation, Operation::Register);
    // The next call reads the number first: banned, the port ends there.
    let state = client.register(&mut session, &pin(), None).await.unwrap();
    assert_eq!(state, StateName::Rejected);
    assert_eq!(
        session.state(),
        &waba_porting::PortingState::Rejected {
            reason: RejectionReason::NumberBanned
        }
    );
    assert_eq!(session.in_flight(), None);
    assert_eq!(sim.calls(session.phone_number()).unwrap().register, 1);
    let last = sim.served().last().unwrap().operation;
    assert_eq!(last, Some(Operation::ReadPhoneNumber));
}

/// A fleet meets a deleted number on its read before the code request: the
/// session ends rejected, and nobody is texted.
#[tokio::test]
async fn a_fleet_ends_a_deleted_number_as_rejected() {
    use std::sync::Arc;
    use waba_porting::{Fleet, InMemoryStore, SessionOutcome, SessionStore};

    let sim = Scenario::happy_path().build();
    let (_client, session) = started(&sim).await;
    sim.set_number_status(session.phone_number(), Some("DELETED"));
    let store: Arc<dyn SessionStore> = Arc::new(InMemoryStore::new());
    let mut saved = session.clone();
    saved.next_revision();
    store.save(&saved, None, sim.now()).await.unwrap();
    let fleet = Fleet::builder(sim.client_builder(), store)
        .inputs(sim.customers(pin()))
        .build()
        .unwrap();
    let report = fleet.resume().await.unwrap();
    assert_eq!(report.progress.rejected, 1, "{report:?}");
    assert!(report.sessions.iter().any(|s| matches!(
        s.outcome,
        SessionOutcome::Rejected {
            reason: RejectionReason::NumberDeleted
        }
    )));
    assert!(sim.inbox(session.phone_number()).is_empty(), "no code sent");
}

/// A port that registered is done: a later read showing the number banned
/// does not undo it.
#[tokio::test]
async fn a_registered_port_stays_registered_whatever_a_later_read_shows() {
    let sim = Scenario::happy_path().build();
    let (client, mut session) = verified(&sim).await;
    client.register(&mut session, &pin(), None).await.unwrap();
    sim.set_number_status(session.phone_number(), Some("BANNED"));
    client.refresh(&mut session).await.unwrap();
    assert_eq!(session.state().name(), StateName::Registered);
}

/// A wait status neither finishes nor ends the port: a registered number
/// reading `FLAGGED` awaits `CONNECTED`; a verified one reading
/// `RATE_LIMITED` still registers next.
#[tokio::test]
async fn a_wait_status_neither_finishes_nor_ends_the_port() {
    let sim = Scenario::happy_path().build();
    let (client, mut session) = verified(&sim).await;
    sim.set_number_status(session.phone_number(), Some("RATE_LIMITED"));
    client.refresh(&mut session).await.unwrap();
    assert_eq!(session.state().name(), StateName::CodeVerified);
    assert_eq!(session.next_action().action, NextAction::Register);

    client.register(&mut session, &pin(), None).await.unwrap();
    sim.set_number_status(session.phone_number(), Some("FLAGGED"));
    client.refresh(&mut session).await.unwrap();
    assert_eq!(session.state().name(), StateName::Registered);
    assert_eq!(session.next_action().action, NextAction::AwaitConnected);
    sim.set_number_status(session.phone_number(), None);
    client.refresh(&mut session).await.unwrap();
    assert_eq!(session.next_action().action, NextAction::Done);
}

/// A status nobody documented is kept as sent; it is not registered and
/// not gone: the port goes on.
#[tokio::test]
async fn an_unknown_number_status_is_kept_and_never_registered() {
    let sim = Scenario::happy_path().build();
    let (client, mut session) = verified(&sim).await;
    sim.set_number_status(session.phone_number(), Some("SOMETHING_NEW"));
    let record = client.refresh(&mut session).await.unwrap().unwrap();
    assert_eq!(
        record.status,
        Some(NumberStatus::Other("SOMETHING_NEW".into()))
    );
    assert_eq!(
        record.status.as_ref().unwrap().meaning(),
        StatusMeaning::Unknown
    );
    assert!(!record.is_connected() && record.gone().is_none());
    assert_eq!(session.state().name(), StateName::CodeVerified);
    assert!(!session.last_read().unwrap().is_registered());
    assert_eq!(session.next_action().action, NextAction::Register);
}

/// Each `account_review_status`: approved passes; every other value is a
/// blocker (a wait for Meta, or an action), named in the finding; a
/// restricted WABA also refuses the simulated migration, as Meta does.
#[tokio::test]
async fn every_waba_review_status_has_its_meaning_in_the_readiness_check() {
    let cases = [
        ("APPROVED", StatusMeaning::Proceed),
        ("PENDING", StatusMeaning::Wait),
        ("DEFERRED", StatusMeaning::Wait),
        ("REJECTED", StatusMeaning::Blocker),
        ("RESTRICTED", StatusMeaning::Blocker),
        ("LIMIT_REACHED", StatusMeaning::Blocker),
        ("SOMETHING_NEW", StatusMeaning::Unknown),
    ];
    for (value, meaning) in cases {
        let status = AccountReviewStatus::from_graph(value);
        assert_eq!(status.meaning(), meaning, "{value}");
        assert_eq!(status.as_str(), value);
        assert_eq!(
            matches!(status, AccountReviewStatus::Other(_)),
            meaning == StatusMeaning::Unknown
        );
        let sim = Scenario::happy_path().account_review_status(value).build();
        let client = sim.client().unwrap();
        let report = client.check_readiness(&sim.session()).await.unwrap();
        assert!(report.checked.contains(&ReadinessCheck::WabaReview));
        let finding = report
            .blockers()
            .find(|f| f.check == ReadinessCheck::WabaReview);
        if meaning == StatusMeaning::Proceed {
            assert!(report.is_ready(), "{value}: {report}");
            continue;
        }
        let finding = finding.unwrap_or_else(|| panic!("{value}: {report}"));
        assert_eq!(finding.kind, Some(ApiErrorKind::DestinationNotApproved));
        assert!(finding.detail.contains(value), "{}", finding.detail);
        assert!(
            finding.detail.contains(meaning.as_str()),
            "{}",
            finding.detail
        );
        let waits = finding.remediation.contains("wait");
        assert_eq!(
            waits,
            meaning == StatusMeaning::Wait,
            "{value}: {}",
            finding.remediation
        );
        // The port meets what the check predicted.
        let mut session = sim.session();
        let err = client.start_migration(&mut session).await.unwrap_err();
        assert_eq!(err.api_kind(), Some(ApiErrorKind::DestinationNotApproved));
    }
}

/// `business_verification_status` in Meta's description's upper case and
/// in real answers' lower case: the same meaning; unknown values kept.
#[tokio::test]
async fn business_verification_status_reads_in_both_cases() {
    let cases = [
        (
            "VERIFIED",
            BusinessVerificationStatus::Verified,
            StatusMeaning::Proceed,
        ),
        (
            "verified",
            BusinessVerificationStatus::Verified,
            StatusMeaning::Proceed,
        ),
        (
            "UNVERIFIED",
            BusinessVerificationStatus::Unverified,
            StatusMeaning::Blocker,
        ),
        (
            "not_verified",
            BusinessVerificationStatus::NotVerified,
            StatusMeaning::Blocker,
        ),
        (
            "PENDING",
            BusinessVerificationStatus::Pending,
            StatusMeaning::Wait,
        ),
        (
            "pending",
            BusinessVerificationStatus::Pending,
            StatusMeaning::Wait,
        ),
        (
            "REJECTED",
            BusinessVerificationStatus::Rejected,
            StatusMeaning::Blocker,
        ),
        (
            "pending_need_more_info",
            BusinessVerificationStatus::PendingNeedMoreInfo,
            StatusMeaning::Blocker,
        ),
        (
            "SOMETHING_NEW",
            BusinessVerificationStatus::Other("SOMETHING_NEW".into()),
            StatusMeaning::Unknown,
        ),
    ];
    for (value, expected, meaning) in cases {
        let status = BusinessVerificationStatus::from_graph(value);
        assert_eq!(status, expected, "{value}");
        assert_eq!(status.meaning(), meaning, "{value}");
        let sim = Scenario::happy_path()
            .business_verification_status(value)
            .build();
        let report = sim
            .client()
            .unwrap()
            .check_readiness(&sim.session())
            .await
            .unwrap();
        assert!(report
            .checked
            .contains(&ReadinessCheck::BusinessVerification));
        let blocked = report
            .blockers()
            .any(|f| f.check == ReadinessCheck::BusinessVerification);
        assert_eq!(
            blocked,
            meaning != StatusMeaning::Proceed,
            "{value}: {report}"
        );
    }
}

/// A display name under review is a wait; declined, expired or missing a
/// blocker; unknown never approved.
#[test]
fn name_statuses_have_their_meanings() {
    let cases = [
        ("APPROVED", StatusMeaning::Proceed),
        ("AVAILABLE_WITHOUT_REVIEW", StatusMeaning::Proceed),
        ("PENDING_REVIEW", StatusMeaning::Wait),
        ("DECLINED", StatusMeaning::Blocker),
        ("EXPIRED", StatusMeaning::Blocker),
        ("NONE", StatusMeaning::Blocker),
        ("SOMETHING_NEW", StatusMeaning::Unknown),
    ];
    for (value, meaning) in cases {
        assert_eq!(NameStatus::from_graph(value).meaning(), meaning, "{value}");
    }
}
