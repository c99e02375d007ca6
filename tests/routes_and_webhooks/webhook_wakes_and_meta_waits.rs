//! Webhook wakes against the waits and answers Meta gave: a wake never
//! makes the fleet send earlier than Meta asked, an event older than a
//! refusal does not lift the refusal's recheck, a wake whose read keeps
//! failing does not read on every pass, an old copy of a change never
//! applies twice, and a retry of a delivery still being applied is not
//! acknowledged before it is applied.
#![cfg(all(feature = "webhooks", feature = "reqwest", feature = "simulator"))]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::routes::{mps_session, DESTINATION, INTENT, SOLUTION};
use common::webhooks::{
    at, envelope, queue, receive, receiver, route_client, signed, unix, PARTNER_BUSINESS,
};
use common::*;
use serde_json::json;
use waba_porting::webhook::{apply_delivery, EventEffect};
use waba_porting::{
    Acquired, EventMeaning, Fleet, InMemoryStore, InputMap, MigrationIntentId, Pin, PortingSession,
    SessionKey, SessionStore, StateName, StepOutcome, Timestamp, WorkerId,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn partner_event(event: &str, waba: &str, business: &str, time: u64) -> serde_json::Value {
    envelope(
        PARTNER_BUSINESS,
        time,
        json!([{"field": "account_update", "value": {"event": event, "waba_info": {
            "waba_id": waba, "owner_business_id": business, "solution_id": SOLUTION,
            "solution_partner_business_ids": [PARTNER_BUSINESS]}}}]),
    )
}

fn awaiting_acceptance(read: Timestamp) -> PortingSession {
    let mut session = mps_session();
    session
        .apply(
            StepOutcome::MigrationIntentSet {
                intent_id: MigrationIntentId::new(INTENT).unwrap(),
            },
            read,
        )
        .unwrap();
    session.set_not_before(Some(
        read.saturating_add(waba_porting::MIGRATION_INTENT_RECHECK),
    ));
    session
}

async fn intent_reads(server: &MockServer) -> usize {
    requests(server)
        .await
        .iter()
        .filter(|r| r.method.as_str() == "GET" && r.url.path().ends_with(INTENT))
        .count()
}

// ---------------------------------------------------------------------------
// A Retry-After Meta gave to an intent read stands through a wake.

/// The intent is read pending, then the next read is refused with HTTP 429
/// and `Retry-After: 120`: Meta asked for two minutes. A `PARTNER_ADDED`
/// arrives ten seconds later. The wake may drop the crate's own five-minute
/// spacing, but not Meta's two minutes: `apply_event` clears any
/// `not_before` up to five minutes ahead
/// (src/webhook/apply.rs, "own_spacing"), so a worker that did not see the
/// 429 itself (a restarted process, another replica) reads the intent at
/// once.
#[tokio::test]
async fn a_webhook_does_not_erase_a_retry_after_meta_gave_to_an_intent_read() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/{VERSION}/{WABA}/set_solution_migration_intent"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": INTENT})))
        .mount(&server)
        .await;
    let intent = format!("/{VERSION}/{INTENT}");
    let pending = ResponseTemplate::new(200).set_body_json(json!({
        "id": INTENT, "status": "INITIATED", "solution": {"id": SOLUTION}}));
    answer(&server, "GET", &intent, pending.clone(), 1).await;
    answer(
        &server,
        "GET",
        &intent,
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "120")
            .set_body_json(
                json!({"error": {"message": "(#4) Application request limit reached",
                "type": "OAuthException", "code": 4, "fbtrace_id": "AbC"}}),
            ),
        1,
    )
    .await;
    answer(&server, "GET", &intent, pending, 100).await;

    let store = Arc::new(InMemoryStore::new());
    let key = SessionKey::of(&mps_session());
    let first = Fleet::builder(route_client(&server), Arc::clone(&store))
        .inputs(InputMap::new().with_default_pin(Pin::new("482913").unwrap()))
        .build()
        .unwrap();
    first.run(vec![mps_session()]).await;
    assert_eq!(intent_reads(&server).await, 1);

    // The operator makes it due (its five minutes are the crate's own), and
    // the next read is refused: Meta asks for 120 s.
    let mut due = store.load(&key).await.unwrap().unwrap();
    due.set_not_before(None);
    due.next_revision();
    store.save(&due, None, Timestamp::now()).await.unwrap();
    first.resume().await.unwrap();
    assert_eq!(intent_reads(&server).await, 2);
    let limited = store.load(&key).await.unwrap().unwrap();
    let meta_wait = limited
        .not_before()
        .expect("the 429's Retry-After is kept as the session's wait");
    assert!(meta_wait > Timestamp::now().saturating_add(Duration::from_secs(100)));

    // PARTNER_ADDED for the WABA Meta created, seconds later.
    let delivery = receive(
        &receiver(),
        &partner_event(
            "PARTNER_ADDED",
            DESTINATION,
            BUSINESS,
            unix(Timestamp::now()),
        ),
    );
    let applied = first.apply_webhook(&delivery).await.unwrap();
    assert!(applied.is_complete());
    let woken = store.load(&key).await.unwrap().unwrap();
    assert!(woken.woken_at().is_some());

    // Another worker on the same store (a restarted process) must not read
    // before Meta's 120 s.
    let second = Fleet::builder(route_client(&server), Arc::clone(&store))
        .inputs(InputMap::new().with_default_pin(Pin::new("482913").unwrap()))
        .build()
        .unwrap();
    second.resume().await.unwrap();
    assert_eq!(
        (woken.not_before(), intent_reads(&server).await),
        (Some(meta_wait), 2),
        "the wake erased Meta's Retry-After and the intent was read again before it passed"
    );
}

// ---------------------------------------------------------------------------
// An event dated before a refusal does not lift the refusal's recheck.

/// Register is refused until someone acts (133000) at T. A display-name
/// approval dated T − 30 s (a delivery Meta retries late — for instance
/// after this crate answered 503 because a worker held the session) is
/// applied at T + 60 s. The approval happened *before* the refusal, so it
/// says nothing about whether someone acted since; yet the fleet sends
/// register again at once, because the wake is dated by when it was
/// applied (`events.wake(at, …)` with `at` = now), not when Meta says the
/// event happened (src/fleet/mod.rs `refused_until_someone_acts`:
/// `woken >= last.at`).
#[tokio::test(flavor = "current_thread")]
async fn an_event_dated_before_a_refusal_does_not_lift_the_refusals_recheck() {
    use common::wire::{json_answer, pin, verified_session, Wire};
    use waba_porting::simulator::Scenario;
    use waba_porting::Operation;

    let sim = Scenario::happy_path().build();
    sim.log_requests(false);
    let session = verified_session(&sim).await;
    let store: Arc<dyn SessionStore> = Arc::new(InMemoryStore::new());
    queue(store.as_ref(), session.clone()).await;
    let wire = Wire::new(&sim, |operation, n| {
        (operation == Operation::Register && n == 1).then(|| {
            json_answer(
                400,
                r#"{"error":{"message":"(#133000) Previous deregistration failed","type":"OAuthException","code":133000,"fbtrace_id":"AbC"}}"#,
            )
        })
    });
    let client = sim.client_builder().transport(wire.clone());
    let fleet = Fleet::builder(client, Arc::clone(&store))
        .inputs(sim.customers(pin()))
        .build()
        .unwrap();
    let refused_at = unix(sim.now());
    fleet.resume().await.unwrap();
    assert_eq!(wire.sent(Operation::Register), 1, "refused once");
    sim.advance(Duration::from_secs(60));

    // Approved 30 s before the refusal, delivered now.
    let body = envelope(
        session.waba_id().as_str(),
        refused_at - 30,
        json!([{"field": "account_review_update", "value": {"decision": "APPROVED"}}]),
    );
    let applied = fleet
        .apply_webhook(&receive(&receiver(), &body))
        .await
        .unwrap();
    assert!(applied.is_complete());
    sim.advance(Duration::from_secs(1));
    fleet.resume().await.unwrap();
    assert_eq!(
        wire.sent(Operation::Register),
        1,
        "an approval older than the refusal sent register again before recheck_after"
    );
}

// ---------------------------------------------------------------------------
// A wake whose read keeps failing.

/// A session waiting for the customer's code (nothing for the fleet to
/// send) is woken by `PARTNER_REMOVED`: the WABA was unshared, and every
/// read of the number is now refused (permission error). A failed read
/// records nothing, so the wake is never cleared
/// (`PortingClient::refresh` → `read_number(..)?` returns before any
/// outcome is applied; `clear_wake` only runs in `PortingSession::apply`),
/// and every pass reads the number again, forever, with no backoff.
#[tokio::test(flavor = "current_thread")]
async fn a_wake_whose_read_is_refused_is_not_read_again_on_every_pass() {
    use common::wire::{json_answer, Wire};
    use waba_porting::simulator::Scenario;
    use waba_porting::{CodeMethod, Language, Operation};

    let sim = Scenario::happy_path().build();
    sim.log_requests(false);
    let mut session = sim.session();
    let plain = sim.client().unwrap();
    plain.start_migration(&mut session).await.unwrap();
    plain
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    assert_eq!(session.state().name(), StateName::CodeRequested);
    let key = SessionKey::of(&session);
    let store: Arc<dyn SessionStore> = Arc::new(InMemoryStore::new());
    let mut queued = session.clone();
    queued.set_revision_for_test();
    store.save(&queued, None, sim.now()).await.unwrap();

    let wire = Wire::new(&sim, |operation, _| {
        (operation == Operation::ReadPhoneNumber).then(|| {
            json_answer(
                403,
                r#"{"error":{"message":"(#200) Permissions error","type":"OAuthException","code":200,"fbtrace_id":"AbC"}}"#,
            )
        })
    });
    let client = sim.client_builder().transport(wire.clone());
    // No code from the customer yet: the fleet has nothing to send.
    let fleet = Fleet::builder(client, Arc::clone(&store))
        .inputs(InputMap::new())
        .build()
        .unwrap();
    fleet.resume().await.unwrap();
    assert_eq!(wire.sent(Operation::ReadPhoneNumber), 0);

    let body = partner_event(
        "PARTNER_REMOVED",
        session.waba_id().as_str(),
        session.business_id().as_str(),
        unix(sim.now()),
    );
    let applied = fleet
        .apply_webhook(&receive(&receiver(), &body))
        .await
        .unwrap();
    assert_eq!(
        applied
            .results()
            .map(|(_, s)| *s.result.as_ref().unwrap())
            .collect::<Vec<_>>(),
        vec![EventEffect::Woken(EventMeaning::Attention)]
    );
    for _ in 0..6 {
        sim.advance(Duration::from_secs(60));
        fleet.resume().await.unwrap();
    }
    let stored = store.load(&key).await.unwrap().unwrap();
    assert!(
        wire.sent(Operation::ReadPhoneNumber) <= 2,
        "{} reads of the number in 6 passes (one per pass; the wake from {:?} never clears)",
        wire.sent(Operation::ReadPhoneNumber),
        stored.woken_at()
    );
}

trait Revision {
    fn set_revision_for_test(&mut self);
}

impl Revision for PortingSession {
    fn set_revision_for_test(&mut self) {
        while self.revision() < 1 {
            self.next_revision();
        }
    }
}

// ---------------------------------------------------------------------------
// An old copy of a change applies once.

/// `PARTNER_ADDED` at t = 100 wakes the waiting migration (and drops its
/// intent spacing). 32 account review updates follow (another topic). Then
/// Meta's late retry of the very same `PARTNER_ADDED` arrives: its
/// fingerprint has left the 32-entry memory, and the staleness check is
/// strict (`time < newest`; its time *is* the newest of its topic), so it is
/// applied a second time — woken again, noted again, and the intent's
/// spacing dropped again (an extra intent read).
#[test]
fn a_late_copy_of_a_change_is_a_duplicate_even_after_many_other_changes() {
    let receiver = receiver();
    let mut session = awaiting_acceptance(at(0));
    let added = receive(
        &receiver,
        &partner_event("PARTNER_ADDED", DESTINATION, BUSINESS, 100),
    );
    let change = added.changes().next().unwrap().clone();
    assert_eq!(
        session.apply_event(&change, at(1)),
        EventEffect::Woken(EventMeaning::Progress)
    );
    for n in 0..waba_porting::EVENT_MEMORY as u64 {
        let decision = if n % 2 == 0 { "APPROVED" } else { "REJECTED" };
        let review = receive(
            &receiver,
            &envelope(
                WABA,
                101 + n,
                json!([{"field": "account_review_update", "value": {"decision": decision}}]),
            ),
        );
        let effect = session.apply_event(review.changes().next().unwrap(), at(2 + n));
        assert!(effect.changed_session(), "{effect:?}");
    }
    // The session has read the intent since (pending), spaced five minutes.
    session
        .apply(
            StepOutcome::MigrationIntentRead {
                status: waba_porting::IntentProgress::Pending,
            },
            at(100),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    session.set_not_before(Some(
        at(100).saturating_add(waba_porting::MIGRATION_INTENT_RECHECK),
    ));
    let before = session.clone();
    let effect = session.apply_event(&change, at(101));
    assert_eq!(
        (effect, session.not_before()),
        (EventEffect::Duplicate, before.not_before()),
        "the same change applied twice"
    );
}

// ---------------------------------------------------------------------------
// A retry that arrives while the first delivery is still being applied.

/// The documented handling (`Fleet::apply_webhook`): receive, apply, and
/// when the apply is incomplete `forget` the delivery and answer 503 so
/// that Meta retries. But `receive` remembers the delivery's signature
/// before it is applied: Meta's retry that arrives while the first attempt
/// is still being applied (its answer was slow: `list_unfinished` of every
/// session, CAS retries) is refused as `Replayed` and answered **200**.
/// The first attempt then fails (the session is held) and answers 503 on a
/// connection Meta gave up on. Meta got its 200 and never sends the event
/// again: the wake is lost.
#[tokio::test]
async fn a_retry_arriving_while_the_delivery_is_applied_is_not_acknowledged_before_it_is_applied() {
    let store = InMemoryStore::new();
    let stored = queue(&store, awaiting_acceptance(at(0))).await;
    let held = store
        .acquire(
            &stored,
            &WorkerId::new("w"),
            at(10),
            Duration::from_secs(600),
        )
        .await
        .unwrap();
    assert!(matches!(held, Acquired::Claimed(_)));

    let receiver = receiver();
    let (body, header) = signed(&partner_event("PARTNER_ADDED", DESTINATION, BUSINESS, 100));
    let first = receiver.receive(Some(header.as_bytes()), &body).unwrap();
    // Meta's retry, while the first attempt is being applied.
    let retry = receiver.receive(Some(header.as_bytes()), &body);
    // The first attempt's apply: the session is held, incomplete.
    let applied = apply_delivery(&store, &first, at(60)).await.unwrap();
    assert!(!applied.is_complete());
    receiver.forget(&first);
    // What Meta was answered for the retry.
    let retry_status = match &retry {
        Ok(_) => None,
        Err(e) => Some(e.http_status()),
    };
    let session = store.load(&SessionKey::of(&stored)).await.unwrap().unwrap();
    assert!(
        retry_status != Some(200) || session.woken_at().is_some(),
        "the retry was answered 200 (Replayed) while the first attempt was still being applied; \
         the first attempt then failed: Meta will not send the event again and it is lost"
    );
}
