//! Webhook events applied to the sessions they concern: a signed delivery
//! wakes a waiting session so the next fleet pass reads Meta without
//! waiting for its poll; a copy, an older event, an event for another WABA
//! and an unknown event change nothing; sessions saved before load
//! unchanged; saves never overwrite a newer one (in-memory, SQLite, and
//! Postgres when `DATABASE_URL` is set).
#![cfg(all(feature = "webhooks", feature = "reqwest", feature = "simulator"))]

use crate::common;
use crate::common::stores::{Twist, Twisted};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::routes::{mps_session, DESTINATION, INTENT, NEW_NUMBER_ID, SOLUTION};
use common::webhooks::{
    at, envelope, queue, receive, receiver, route_client, unix, PARTNER_BUSINESS,
};
use common::*;
use serde_json::json;
use waba_porting::webhook::{apply_delivery, ChangeValue, DeliveryOutcome, EventEffect};
use waba_porting::{
    async_trait, Acquired, BusinessId, EventMeaning, Fleet, InMemoryStore, InputMap, Lease,
    MigrationIntentId, NextAction, PhoneNumber, PhoneNumberId, Pin, PortingSession, PortingState,
    RateShare, SessionKey, SessionStore, StateName, StepOutcome, StoreError, StoreErrorKind,
    Timestamp, WabaId, WorkerId,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const OTHER_WABA: &str = "980198427658004";

/// `account_update` `event` for the customer's WABA `waba`, as Meta sends
/// it to a partner (the entry's `id` is the partner's business).
fn partner_event(event: &str, waba: &str, time: u64) -> serde_json::Value {
    envelope(
        PARTNER_BUSINESS,
        time,
        json!([{"field": "account_update", "value": {"event": event, "waba_info": {
            "waba_id": waba, "owner_business_id": BUSINESS, "solution_id": SOLUTION,
            "solution_partner_business_ids": [PARTNER_BUSINESS, "520744086200222"]}}}]),
    )
}

/// A solution migration whose intent is set, read pending at `read`:
/// not due before `read` plus five minutes.
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
    session
        .apply(
            StepOutcome::MigrationIntentRead {
                status: waba_porting::IntentProgress::Pending,
            },
            read,
        )
        .unwrap();
    assert_eq!(
        session.next_action().not_before,
        Some(read.saturating_add(waba_porting::MIGRATION_INTENT_RECHECK))
    );
    session
}

fn effects(outcome: &DeliveryOutcome) -> Vec<EventEffect> {
    outcome
        .results()
        .map(|(_, s)| *s.result.as_ref().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------
// The fleet: a woken session is read at once.

/// The solution migration's calls; the intent reads `INITIATED` once, then
/// `ACCEPTED` (the customer accepts right after the first read).
async fn mount_solution_migration(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!(
            "/{VERSION}/{WABA}/set_solution_migration_intent"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": INTENT})))
        .mount(server)
        .await;
    let intent = format!("/{VERSION}/{INTENT}");
    answer(
        server,
        "GET",
        &intent,
        ResponseTemplate::new(200).set_body_json(json!({
            "id": INTENT, "status": "INITIATED", "solution": {"id": SOLUTION}})),
        1,
    )
    .await;
    answer(
        server,
        "GET",
        &intent,
        ResponseTemplate::new(200).set_body_json(json!({
            "id": INTENT, "status": "ACCEPTED", "solution": {"id": SOLUTION},
            "destination_waba": {"id": DESTINATION}})),
        100,
    )
    .await;
    answer(
        server,
        "POST",
        &format!("/{VERSION}/{DESTINATION}/subscribed_apps"),
        success(),
        1,
    )
    .await;
    answer(
        server,
        "POST",
        &format!("/{VERSION}/{DESTINATION}/phone_numbers"),
        ResponseTemplate::new(200).set_body_json(json!({"id": NEW_NUMBER_ID})),
        1,
    )
    .await;
    answer(
        server,
        "POST",
        &format!("/{VERSION}/{NEW_NUMBER_ID}/register"),
        success(),
        1,
    )
    .await;
}

async fn intent_reads(server: &MockServer) -> usize {
    requests(server)
        .await
        .iter()
        .filter(|r| r.method.as_str() == "GET" && r.url.path().ends_with(INTENT))
        .count()
}

#[tokio::test]
async fn partner_added_wakes_a_migration_waiting_for_acceptance_and_the_next_pass_moves_it_without_waiting_for_its_poll(
) {
    let server = MockServer::start().await;
    mount_solution_migration(&server).await;
    let store = Arc::new(InMemoryStore::new());
    let fleet = Fleet::builder(route_client(&server), Arc::clone(&store))
        .inputs(InputMap::new().with_default_pin(Pin::new("482913").unwrap()))
        .build()
        .unwrap();
    let key = SessionKey::of(&mps_session());

    // The intent is set and read once: pending, next read in five minutes.
    let report = fleet.run(vec![mps_session()]).await;
    assert_eq!(
        report.sessions[0].state,
        StateName::AwaitingIntentAcceptance
    );
    assert_eq!(intent_reads(&server).await, 1);
    let waiting = store.load(&key).await.unwrap().unwrap();
    assert!(waiting.due_at().is_some(), "{waiting:?}");

    // The customer accepts; until Meta says so, a pass reads nothing.
    fleet.resume().await.unwrap();
    assert_eq!(intent_reads(&server).await, 1);

    // Meta's PARTNER_ADDED for the WABA it created, with the partner's
    // business as the entry's id.
    let now = unix(Timestamp::now());
    let receiver = receiver();
    let delivery = receive(&receiver, &partner_event("PARTNER_ADDED", DESTINATION, now));
    let applied = fleet.apply_webhook(&delivery).await.unwrap();
    assert!(applied.is_complete());
    assert_eq!(applied.woken(), vec![&key]);
    assert_eq!(
        effects(&applied),
        vec![EventEffect::Woken(EventMeaning::Progress)]
    );
    let woken = store.load(&key).await.unwrap().unwrap();
    assert_eq!(woken.revision(), waiting.revision() + 1);
    assert_eq!(woken.due_at(), None, "due now");
    assert!(woken.woken_at().is_some());
    assert_eq!(woken.state(), waiting.state(), "a webhook moves no state");
    assert_eq!(woken.event_notes().len(), 1);
    assert_eq!(woken.event_notes()[0].waba_id, DESTINATION);
    assert_eq!(
        woken.event_notes()[0].event.as_deref(),
        Some("PARTNER_ADDED")
    );

    // The next pass reads the intent (accepted) and finishes the port.
    let report = fleet.resume().await.unwrap();
    assert_eq!(report.progress.registered, 1, "{}", report.progress);
    assert_eq!(intent_reads(&server).await, 2);
    let done = store.load(&key).await.unwrap().unwrap();
    assert_eq!(done.state().name(), StateName::Registered);
    assert_eq!(done.woken_at(), None, "the read ended the wake");

    // Meta's retry of the delivery, accepted again after a forget: the
    // port is finished, nothing is written.
    assert!(receiver.forget(&delivery));
    let again = receive(&receiver, &partner_event("PARTNER_ADDED", DESTINATION, now));
    let applied = fleet.apply_webhook(&again).await.unwrap();
    assert!(applied.woken().is_empty());
    assert_eq!(
        store.load(&key).await.unwrap().unwrap().revision(),
        done.revision()
    );
}

// ---------------------------------------------------------------------------
// Idempotence and relevance, on every store.

/// A woken session is due now; a copy, an older event, another WABA's
/// event and an unknown event change nothing.
async fn events_apply_once_and_in_order(store: &dyn SessionStore) {
    let stored = queue(store, awaiting_acceptance(at(0))).await;
    let key = SessionKey::of(&stored);
    let now = at(60);
    // Not due before the webhook: the fleet's claim finds nothing.
    let worker = WorkerId::new("w");
    let lease = Duration::from_secs(60);
    assert!(store
        .claim(&worker, 10, now, lease, None)
        .await
        .unwrap()
        .is_empty());

    let receiver = receiver();
    // PARTNER_REMOVED of the source WABA at 200 s.
    let removed = receive(&receiver, &partner_event("PARTNER_REMOVED", WABA, 200));
    let applied = apply_delivery(store, &removed, now).await.unwrap();
    assert_eq!(
        effects(&applied),
        vec![EventEffect::Woken(EventMeaning::Attention)]
    );
    let woken = store.load(&key).await.unwrap().unwrap();
    assert_eq!(woken.revision(), stored.revision() + 1);
    assert_eq!(woken.due_at(), None);
    assert_eq!(woken.state(), stored.state());

    // The same change again, batched with an unknown field in a delivery
    // of its own (a different body: the receiver's replay memory does not
    // see it): a duplicate.
    let mut copy = partner_event("PARTNER_REMOVED", WABA, 200);
    copy["entry"][0]["changes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"field": "messages", "value": {"metadata": {"phone_number_id": "1"}}}));
    let applied = apply_delivery(store, &receive(&receiver, &copy), now)
        .await
        .unwrap();
    assert_eq!(effects(&applied), vec![EventEffect::Duplicate]);
    assert_eq!(applied.changes.len(), 2);
    assert!(
        applied.changes[1].sessions.is_empty(),
        "messages concern no port"
    );

    // An older change of the same topic (the WABA's sharing), delivered
    // late: stale.
    let late = receive(&receiver, &partner_event("PARTNER_ADDED", WABA, 100));
    let applied = apply_delivery(store, &late, now).await.unwrap();
    assert_eq!(effects(&applied), vec![EventEffect::Stale]);

    // Another customer's WABA, another solution's customer: not this one.
    let other = envelope(
        PARTNER_BUSINESS,
        300,
        json!([{"field": "account_update", "value": {"event": "PARTNER_ADDED",
            "waba_info": {"waba_id": OTHER_WABA, "owner_business_id": "999", "solution_id": SOLUTION}}}]),
    );
    let applied = apply_delivery(store, &receive(&receiver, &other), now)
        .await
        .unwrap();
    assert_eq!(applied.results().count(), 0);

    // An event this version does not know, and a field it does not act on:
    // kept as sent in the delivery, nothing applied.
    let unknown = envelope(
        WABA,
        400,
        json!([{"field": "account_update", "value": {"event": "SOMETHING_NEW", "detail": 1}},
               {"field": "business_capability_update", "value": {"max_daily_conversation_per_phone_number": 1000}}]),
    );
    let unknown = receive(&receiver, &unknown);
    let kept: Vec<_> = unknown.changes().collect();
    assert_eq!(kept[0].event(), Some("SOMETHING_NEW"));
    assert!(
        matches!(kept[1].value(), ChangeValue::Other { field, .. } if field == "business_capability_update")
    );
    let applied = apply_delivery(store, &unknown, now).await.unwrap();
    assert_eq!(applied.results().count(), 0);

    // Nothing after the wake wrote anything.
    let last = store.load(&key).await.unwrap().unwrap();
    assert_eq!(last, woken);
    // And the fleet's claim now finds it.
    let claimed = store.claim(&worker, 10, now, lease, None).await.unwrap();
    assert_eq!(claimed.len(), 1);
    store.release(claimed[0].lease()).await.unwrap();
}

#[tokio::test]
async fn in_memory_events_apply_once_and_in_order() {
    events_apply_once_and_in_order(&InMemoryStore::new()).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_events_apply_once_and_in_order() {
    let path = std::env::temp_dir().join(format!(
        "waba-webhook-events-{}-{}.sqlite3",
        std::process::id(),
        Timestamp::now().as_unix_millis()
    ));
    let store = waba_porting::SqliteStore::open(&path).unwrap();
    events_apply_once_and_in_order(&store).await;
    drop(store);
    let _ = std::fs::remove_file(&path);
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_events_apply_once_and_in_order() {
    let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "DATABASE_URL is not set: CI must run the Postgres tests"
        );
        println!("skipped: set DATABASE_URL (see README 'Running replicas')");
        return;
    };
    let table = format!(
        "wp_{}_{}_webhook_events",
        std::process::id(),
        Timestamp::now().as_unix_millis() % 1_000_000
    );
    let store = waba_porting::PostgresStore::builder(&url)
        .table(&table)
        .connect()
        .await
        .unwrap();
    events_apply_once_and_in_order(&store).await;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let _ = client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS \"{table}\"; DROP TABLE IF EXISTS \"{table}_workers\"; DROP SEQUENCE IF EXISTS \"{table}_tokens\";"
        ))
        .await;
}

// ---------------------------------------------------------------------------
// Saves: never over a newer one, never under another worker's lease.

/// A store in which another writer saves each session once, right before
/// this writer's first save lands.
#[derive(Debug, Default)]
struct RacedStore {
    inner: InMemoryStore,
    raced: AtomicBool,
}

#[async_trait]
impl Twist for RacedStore {
    fn inner(&self) -> &InMemoryStore {
        &self.inner
    }

    async fn save(
        &self,
        session: &PortingSession,
        lease: Option<&Lease>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if session.revision() > 1 && !self.raced.swap(true, Ordering::SeqCst) {
            let key = SessionKey::of(session);
            let mut other = self.inner.load(&key).await?.unwrap();
            other.set_not_before(Some(at(9_999)));
            other.next_revision();
            self.inner.save(&other, None, now).await?;
        }
        self.inner.save(session, lease, now).await
    }

    async fn share_rate(
        &self,
        worker: &WorkerId,
        now: Timestamp,
        paused_until: Option<Timestamp>,
    ) -> Result<RateShare, StoreError> {
        self.inner.share_rate(worker, now, paused_until).await
    }
}

#[tokio::test]
async fn a_session_saved_by_another_writer_meanwhile_gets_the_event_on_its_newer_copy() {
    let store = Twisted(RacedStore::default());
    let stored = queue(&store, awaiting_acceptance(at(0))).await;
    let key = SessionKey::of(&stored);
    let delivery = receive(
        &receiver(),
        &partner_event("PARTNER_ADDED", DESTINATION, 100),
    );
    let applied = apply_delivery(&store, &delivery, at(60)).await.unwrap();
    assert!(applied.is_complete());
    assert_eq!(
        effects(&applied),
        vec![EventEffect::Woken(EventMeaning::Progress)]
    );
    let last = store.load(&key).await.unwrap().unwrap();
    // Revision 1, the other writer's 2, the event's 3 on top of it.
    assert_eq!(last.revision(), 3);
    assert!(last.woken_at().is_some());
    // The other writer's wait (longer than the crate's own polling) is
    // Meta's and stands.
    assert_eq!(last.not_before(), Some(at(9_999)));
}

#[tokio::test]
async fn a_session_a_worker_holds_is_not_written_and_the_delivery_asks_for_a_retry() {
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
    let delivery = receive(&receiver, &partner_event("PARTNER_ADDED", DESTINATION, 100));
    let applied = apply_delivery(&store, &delivery, at(60)).await.unwrap();
    assert!(!applied.is_complete());
    let (_, result) = applied.results().next().unwrap();
    let error = result.result.as_ref().unwrap_err();
    assert!(
        matches!(error.kind(), StoreErrorKind::Fenced { .. }),
        "{error}"
    );
    assert_eq!(
        store.load(&SessionKey::of(&stored)).await.unwrap().unwrap(),
        stored
    );
    // Forgotten, Meta's retry is accepted again.
    assert!(receiver.forget(&delivery));
}

// ---------------------------------------------------------------------------
// Route by route (the pure decision).

#[test]
fn an_embedded_signup_waiting_for_the_popup_records_partner_added_but_moves_only_with_its_result() {
    let mut session = PortingSession::embedded_signup(
        PhoneNumber::parse(PHONE).unwrap(),
        WabaId::new(WABA).unwrap(),
        BusinessId::new(BUSINESS).unwrap(),
    );
    let delivery = receive(&receiver(), &partner_event("PARTNER_ADDED", WABA, 100));
    let change = delivery.changes().next().unwrap();
    assert_eq!(
        session.apply_event(change, at(1)),
        EventEffect::Recorded(EventMeaning::Progress)
    );
    assert_eq!(session.woken_at(), None);
    assert_eq!(session.next_action().action, NextAction::FinishSignup);
    assert_eq!(session.event_notes().len(), 1);
    assert_eq!(session.apply_event(change, at(2)), EventEffect::Duplicate);
}

#[test]
fn a_display_name_approved_for_the_number_wakes_a_programmatic_port_and_another_number_does_not() {
    let mut session = common::session();
    session
        .apply(
            StepOutcome::MigrationStarted {
                phone_number_id: PhoneNumberId::new(NUMBER_ID).unwrap(),
            },
            at(0),
        )
        .unwrap();
    let name = |number: &str| {
        envelope(
            WABA,
            100,
            json!([{"field": "phone_number_name_update", "value": {
                "display_phone_number": number, "decision": "APPROVED",
                "requested_verified_name": "Lucky Shrub", "rejection_reason": null}}]),
        )
    };
    let receiver = receiver();
    let other = receive(&receiver, &name("15550783881"));
    let before = session.clone();
    assert_eq!(
        session.apply_event(other.changes().next().unwrap(), at(1)),
        EventEffect::NotConcerned
    );
    assert_eq!(session, before);
    let ours = receive(&receiver, &name("14155550123"));
    assert_eq!(
        session.apply_event(ours.changes().next().unwrap(), at(2)),
        EventEffect::Woken(EventMeaning::Progress)
    );
    // Dated when Meta says it happened (the entry's `time`).
    assert!(session.woken_at().is_some_and(|woken| woken <= at(2)));
    // Any answer from Meta (here a read) ends the wake.
    session
        .apply(
            StepOutcome::NumberRead {
                observed: Default::default(),
            },
            at(3),
        )
        .unwrap();
    assert_eq!(session.woken_at(), None);
}

#[test]
fn a_deleted_or_banned_account_is_noted_for_the_operator_and_rejects_nothing_by_itself() {
    let mut session = awaiting_acceptance(at(0));
    let receiver = receiver();
    for (n, value) in [
        json!({"event": "ACCOUNT_DELETED"}),
        json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "DISABLE", "waba_ban_date": "April 17, 2025"}}),
    ]
    .into_iter()
    .enumerate()
    {
        let body = envelope(WABA, 100 + n as u64, json!([{"field": "account_update", "value": value}]));
        let delivery = receive(&receiver, &body);
        assert_eq!(
            session.apply_event(delivery.changes().next().unwrap(), at(1)),
            EventEffect::Woken(EventMeaning::Attention)
        );
    }
    assert!(matches!(
        session.state(),
        PortingState::AwaitingIntentAcceptance { .. }
    ));
    let notes: Vec<_> = session
        .event_notes()
        .iter()
        .map(|n| n.event.as_deref())
        .collect();
    assert_eq!(
        notes,
        vec![Some("ACCOUNT_DELETED"), Some("DISABLED_UPDATE")]
    );
}

// ---------------------------------------------------------------------------
// Saved sessions.

#[test]
fn sessions_saved_before_events_load_unchanged_and_events_round_trip() {
    let before = awaiting_acceptance(at(0));
    let json = serde_json::to_string(&before).unwrap();
    assert!(!json.contains("events"), "{json}");
    let loaded: PortingSession = serde_json::from_str(&json).unwrap();
    assert_eq!(loaded, before);
    assert_eq!(serde_json::to_string(&loaded).unwrap(), json);

    let mut woken = loaded;
    let delivery = receive(
        &receiver(),
        &partner_event("PARTNER_ADDED", DESTINATION, 100),
    );
    woken.apply_event(delivery.changes().next().unwrap(), at(1));
    let json = serde_json::to_string(&woken).unwrap();
    let back: PortingSession = serde_json::from_str(&json).unwrap();
    assert_eq!(back, woken);
    assert_eq!(
        back.apply_event_copy(delivery.changes().next().unwrap()),
        EventEffect::Duplicate
    );

    // A memory this version cannot read (a newer one's) is dropped, not an
    // error.
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["events"] = json!({"seen": {"a": 1}});
    let odd: PortingSession = serde_json::from_value(value).unwrap();
    assert!(odd.event_notes().is_empty());
}

trait ApplyCopy {
    fn apply_event_copy(&self, change: &waba_porting::webhook::Change) -> EventEffect;
}

impl ApplyCopy for PortingSession {
    fn apply_event_copy(&self, change: &waba_porting::webhook::Change) -> EventEffect {
        self.clone().apply_event(change, at(9))
    }
}

// ---------------------------------------------------------------------------
// A step Meta refused until someone acts goes again at once.

/// Register refused until someone acts (133000; the fleet holds it for
/// `recheck_after`, ten minutes). Meta's `account_review_update` APPROVED
/// for the WABA wakes the session: the next pass reads the number, then
/// sends the register again without waiting for the recheck.
#[cfg(feature = "simulator")]
#[tokio::test(flavor = "current_thread")]
async fn an_approval_lifts_the_wait_on_a_step_refused_until_someone_acts() {
    use common::wire::{json_answer, pin, verified_session, Wire};
    use waba_porting::simulator::Scenario;
    use waba_porting::Operation;

    let sim = Scenario::happy_path().build();
    sim.log_requests(false);
    let session = verified_session(&sim).await;
    let key = SessionKey::of(&session);
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
    fleet.resume().await.unwrap();
    assert_eq!(wire.sent(Operation::Register), 1, "refused once");
    sim.advance(Duration::from_secs(60));
    fleet.resume().await.unwrap();
    assert_eq!(wire.sent(Operation::Register), 1, "held for the recheck");

    let time = unix(sim.now());
    let body = envelope(
        session.waba_id().as_str(),
        time,
        json!([{"field": "account_review_update", "value": {"decision": "APPROVED"}}]),
    );
    let applied = fleet
        .apply_webhook(&receive(&receiver(), &body))
        .await
        .unwrap();
    assert_eq!(
        effects(&applied),
        vec![EventEffect::Woken(EventMeaning::Progress)]
    );
    sim.advance(Duration::from_secs(1));
    let report = fleet.resume().await.unwrap();
    assert_eq!(report.progress.registered, 1, "{}", report.progress);
    assert_eq!(wire.sent(Operation::Register), 2);
    let done = store.load(&key).await.unwrap().unwrap();
    assert_eq!(done.state().name(), StateName::Registered);
    assert_eq!(done.woken_at(), None);
}
