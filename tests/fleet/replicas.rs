//! Many writers, one store: overlapping runs of one fleet, fleets of one
//! process sharing a store, a second process refused by a directory store,
//! stale writes from a dropped run, and sessions held by another worker.
#![cfg(feature = "simulator")]

use crate::common;
use crate::common::stores::{Twist, Twisted};

use std::sync::Arc;
use std::time::Duration;

use common::wire::{counts, pin, world, Wire};
use waba_porting::simulator::Simulator;
use waba_porting::{
    DirectoryStore, Fleet, InMemoryStore, PortingSession, SessionKey, SessionOutcome, SessionStore,
    StoreErrorKind, Timestamp, WorkerId,
};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "waba-replicas-{name}-{}-{}",
        std::process::id(),
        Timestamp::now().as_unix_millis()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Saves `sessions` as queued drafts (revision 1), as a service's intake
/// would.
async fn queue(store: &dyn SessionStore, sessions: &[PortingSession]) {
    for s in sessions {
        let mut s = s.clone();
        s.next_revision();
        store.save(&s, None, Timestamp::now()).await.unwrap();
    }
}

fn replica(sim: &Simulator, store: Arc<dyn SessionStore>) -> Fleet {
    let client = sim.client_builder().transport(Wire::pass(sim));
    Fleet::builder(client, store)
        .inputs(sim.customers(pin()))
        .build()
        .unwrap()
}

/// What the store says of each session against what Meta says, for the
/// assertion message.
async fn stored_vs_meta(
    sim: &Simulator,
    store: &dyn SessionStore,
    sessions: &[PortingSession],
) -> String {
    let client = sim.client().unwrap();
    let mut lines = Vec::new();
    for s in sessions {
        let saved = store.load(&SessionKey::of(s)).await.unwrap().unwrap();
        let meta = match saved.state().phone_number_id() {
            Some(id) => client
                .read_phone_number(id)
                .await
                .ok()
                .and_then(|r| r.status),
            None => None,
        };
        lines.push(format!(
            "store: {:?} next {:?} / Meta: {meta:?}",
            saved.state().name(),
            saved.next_action().action
        ));
    }
    lines.join("\n")
}

/// A service drives its fleet on a timer: `fleet.resume()` every few
/// minutes. When one run is still going the next starts beside it; the two
/// runs share the sessions (each leased by one), so every customer gets
/// one code and every number one register.
#[tokio::test(flavor = "current_thread")]
async fn two_overlapping_runs_of_one_fleet_text_every_customer_once_and_register_once() {
    let dir = temp_dir("overlap");
    let stores: Vec<Arc<dyn SessionStore>> = vec![
        Arc::new(InMemoryStore::new()),
        Arc::new(DirectoryStore::open(&dir).unwrap()),
        #[cfg(feature = "sqlite")]
        Arc::new(waba_porting::SqliteStore::open(dir.with_extension("sqlite3")).unwrap()),
    ];
    for store in stores {
        let (sim, sessions) = world(4);
        let client = sim.client_builder().transport(Wire::pass(&sim));
        let fleet = Fleet::builder(client, Arc::clone(&store))
            .inputs(sim.customers(pin()))
            .build()
            .unwrap();
        queue(store.as_ref(), &sessions).await;
        let (a, b) = tokio::join!(fleet.resume(), fleet.resume());
        let (a, b) = (a.unwrap(), b.unwrap());
        let got = counts(&sim, &sessions);
        assert!(
            got.iter().all(|c| c.1 == 1 && c.3 == 1),
            "{store:?}: (start, request_code, verify_code, register) per number after two \
             overlapping resume() calls of one fleet: {got:?}; registered {} + {}",
            a.progress.registered,
            b.progress.registered
        );
        assert_eq!(
            a.progress.registered + b.progress.registered,
            4,
            "{store:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same with the in-memory store and two `run`s of one list at once:
/// the second run finds each session held and reports it, never steps it.
#[tokio::test(flavor = "current_thread")]
async fn two_overlapping_runs_of_one_list_report_the_sessions_the_other_holds() {
    let (sim, sessions) = world(4);
    let fleet = replica(&sim, Arc::new(InMemoryStore::new()));
    let (a, b) = tokio::join!(fleet.run(sessions.clone()), fleet.run(sessions.clone()));
    let got = counts(&sim, &sessions);
    assert!(
        got.iter().all(|c| *c == (1, 1, 1, 1)),
        "per number: {got:?}"
    );
    let held = a.progress.held_elsewhere + b.progress.held_elsewhere;
    assert_eq!(a.progress.registered + b.progress.registered, 4);
    assert_eq!(held, 4, "{} / {}", a.progress, b.progress);
    let holder = b
        .sessions
        .iter()
        .chain(&a.sessions)
        .find_map(|r| match &r.outcome {
            SessionOutcome::HeldElsewhere { holder } => holder.clone(),
            _ => None,
        })
        .unwrap();
    assert_eq!(holder.worker(), fleet.worker_id());
}

/// Two replicas in one process (two fleets, two workers) on one store:
/// they share the work; each side effect is sent once, and the store ends
/// where Meta is.
#[tokio::test(flavor = "current_thread")]
async fn two_fleets_on_one_store_send_every_side_effect_once() {
    for store in [
        Arc::new(InMemoryStore::new()) as Arc<dyn SessionStore>,
        Arc::new(DirectoryStore::open(temp_dir("two-fleets")).unwrap()),
    ] {
        let (sim, sessions) = world(6);
        queue(store.as_ref(), &sessions).await;
        let (one, two) = (
            replica(&sim, Arc::clone(&store)),
            replica(&sim, Arc::clone(&store)),
        );
        let (a, b) = tokio::join!(one.resume(), two.resume());
        let (a, b) = (a.unwrap(), b.unwrap());
        let got = counts(&sim, &sessions);
        assert!(
            got.iter().all(|c| *c == (1, 1, 1, 1)),
            "{store:?}: {got:?}\n{}",
            stored_vs_meta(&sim, store.as_ref(), &sessions).await
        );
        assert_eq!(a.progress.registered + b.progress.registered, 6);
        assert!(store.list_unfinished().await.unwrap().is_empty());
    }
}

/// A second process on a directory store's directory is refused with an
/// error naming the holder, never silently shared; once the first closes
/// the store, the directory opens again.
#[tokio::test(flavor = "current_thread")]
async fn two_processes_on_one_directory_store_are_refused_not_shared() {
    let (sim, sessions) = world(3);
    let dir = temp_dir("replicas");
    let store = DirectoryStore::open(&dir).unwrap();
    queue(&store, &sessions).await;
    let second = DirectoryStore::open(&dir).unwrap_err();
    match second.kind() {
        StoreErrorKind::InUse { holder } => assert!(
            holder.contains(&format!("process {}", std::process::id())),
            "{holder}"
        ),
        other => panic!("{other:?}: {second}"),
    }
    assert!(second.to_string().contains("in use"), "{second}");
    drop(store);
    let store: Arc<dyn SessionStore> = Arc::new(DirectoryStore::open(&dir).unwrap());
    let report = replica(&sim, Arc::clone(&store)).resume().await.unwrap();
    assert_eq!(report.progress.registered, 3);
    assert!(counts(&sim, &sessions).iter().all(|c| *c == (1, 1, 1, 1)));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run stopped by dropping its future: a save it had started can never
/// land over a newer one (the revision moved on), and its leases lapse so
/// another worker takes the sessions over.
#[tokio::test(flavor = "current_thread")]
async fn a_stale_copy_never_overwrites_a_newer_session() {
    let (sim, sessions) = world(1);
    let store = Arc::new(InMemoryStore::new());
    queue(store.as_ref(), &sessions).await;
    let key = SessionKey::of(&sessions[0]);
    let stale = store.load(&key).await.unwrap().unwrap();
    let report = replica(&sim, Arc::clone(&store) as Arc<dyn SessionStore>)
        .resume()
        .await
        .unwrap();
    assert_eq!(report.progress.registered, 1);
    // The stale copy (revision 1) tries to land as revision 2.
    let mut late = stale;
    late.next_revision();
    let refused = store.save(&late, None, Timestamp::now()).await.unwrap_err();
    assert!(
        matches!(refused.kind(), StoreErrorKind::Conflict { stored: Some(n) } if *n > 2),
        "{refused}"
    );
    let now = store.load(&key).await.unwrap().unwrap();
    assert!(now.is_finished(), "{:?}", now.state());
}

/// A worker that lost its lease (it lapsed and another worker took the
/// session over) writes nothing and sends nothing more: the fleet reports
/// the session as held elsewhere.
#[tokio::test(flavor = "current_thread")]
async fn a_worker_whose_lease_was_taken_over_sends_nothing_more() {
    let (sim, sessions) = world(1);
    let store = Arc::new(InMemoryStore::new());
    queue(store.as_ref(), &sessions).await;
    let fleet = replica(&sim, Arc::clone(&store) as Arc<dyn SessionStore>);
    // Another worker claims the session first and keeps it.
    let other = WorkerId::new("replica-b");
    let claimed = store
        .claim(&other, 1, sim.now(), Duration::from_secs(3600), None)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let report = fleet.run(sessions.clone()).await;
    match &report.sessions[0].outcome {
        SessionOutcome::HeldElsewhere { holder: Some(h) } => assert_eq!(h.worker(), &other),
        other => panic!("{other:?}"),
    }
    assert_eq!(counts(&sim, &sessions)[0], (0, 0, 0, 0));
    // The other worker goes away; its lease lapses; ours takes over.
    sim.advance(Duration::from_secs(3601));
    let report = fleet.resume().await.unwrap();
    assert_eq!(report.progress.registered, 1);
    // The old holder wakes up and saves what it had: refused.
    let (old, lease) = claimed.into_iter().next().unwrap().into_parts();
    let mut old = old;
    old.next_revision();
    let refused = store.save(&old, Some(&lease), sim.now()).await.unwrap_err();
    assert!(
        matches!(refused.kind(), StoreErrorKind::Fenced { .. }),
        "{refused}"
    );
    assert_eq!(counts(&sim, &sessions)[0], (1, 1, 1, 1));
}

/// A fleet's lease must outlast one step; a shorter one is refused at
/// build time.
#[test]
fn a_lease_shorter_than_a_step_is_refused() {
    let (sim, _) = world(0);
    let err = Fleet::builder(sim.client_builder(), InMemoryStore::new())
        .lease(Duration::from_secs(10))
        .build()
        .unwrap_err();
    assert!(
        matches!(err, waba_porting::ConfigError::LeaseTooShort { .. }),
        "{err}"
    );
    let fleet = Fleet::builder(sim.client_builder(), InMemoryStore::new())
        .build()
        .unwrap();
    assert!(fleet.lease_duration() >= waba_porting::DEFAULT_LEASE);
}

/// Graph's limits are per app, not per process: replicas on one store
/// split the calls-per-second budget, and a rate-limit answer one of them
/// gets pauses the others too.
#[tokio::test(flavor = "current_thread")]
async fn replicas_on_one_store_share_one_rate_budget_and_its_pauses() {
    use waba_porting::simulator::Fault;
    use waba_porting::{Operation, Throttle};
    let (sim, sessions) = world(12);
    let store: Arc<dyn SessionStore> = Arc::new(InMemoryStore::new());
    queue(store.as_ref(), &sessions).await;
    let replica = |throttle: Throttle| {
        let client = sim.client_builder().transport(Wire::pass(&sim));
        Fleet::builder(client, Arc::clone(&store))
            .inputs(sim.customers(pin()))
            .throttle(throttle)
            .concurrency(2)
            .build()
            .unwrap()
    };
    let (one, two) = (
        replica(Throttle::new().calls_per_second(10)),
        replica(Throttle::new().calls_per_second(10)),
    );
    // The first register anyone sends is refused with Graph's rate limit.
    sim.inject_at(
        Operation::Register,
        Fault::RateLimit {
            code: 80008,
            retry_after: Some(Duration::from_secs(600)),
        },
        1,
    );
    let (a, b) = tokio::join!(one.resume(), two.resume());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(one.throttle().share(), 2, "both replicas were stepping");
    assert_eq!(two.throttle().share(), 2);
    // Whoever got the 429, both throttles held the same pause.
    let paused = [one.throttle().paused_until(), two.throttle().paused_until()];
    assert!(
        paused[0].is_some() && paused[0] == paused[1],
        "{paused:?} at {:?}; {} / {}",
        sim.now(),
        a.progress,
        b.progress
    );
    assert_eq!(one.throttle().pauses() + two.throttle().pauses(), 1);
    // Nothing was sent during the pause by either: every register after
    // the refused one waits.
    let registers: u32 = counts(&sim, &sessions).iter().map(|c| c.3).sum();
    assert!(registers < 12, "{registers}");
}

/// A world of `drafts` happy numbers and `waiting` numbers whose two-step
/// verification stays on (their sessions wait on the previous provider,
/// due at every pass), queued in `store`.
async fn mixed_world(
    store: &dyn SessionStore,
    drafts: u32,
    waiting: u32,
) -> (Simulator, Vec<PortingSession>) {
    use waba_porting::simulator::Scenario;
    let sim = Scenario::happy_path().build();
    sim.log_requests(false);
    let mut sessions: Vec<PortingSession> = (0..drafts)
        .map(|i| sim.add_number(&Scenario::happy_path().numbered(i)))
        .collect();
    sessions.extend(
        (drafts..drafts + waiting)
            .map(|i| sim.add_number(&Scenario::two_step_enabled().numbered(i))),
    );
    queue(store, &sessions).await;
    (sim, sessions)
}

/// Replicas that each call `resume()` over sessions waiting on a person
/// (due at every pass, nothing to send) each end their pass: a pass skips
/// what anyone claimed since it began, so the waiting sessions cannot bounce
/// between the replicas forever, and the drafts behind them all get run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_resuming_over_sessions_waiting_on_a_person_each_end_their_pass() {
    for store in [
        Arc::new(InMemoryStore::new()) as Arc<dyn SessionStore>,
        Arc::new(DirectoryStore::open(temp_dir("waiting-passes")).unwrap()),
    ] {
        let (sim, sessions) = mixed_world(store.as_ref(), 40, 8).await;
        let fleets: Vec<Arc<Fleet>> = (0..2)
            .map(|_| {
                let client = sim.client_builder().transport(Wire::pass(&sim));
                Arc::new(
                    Fleet::builder(client, Arc::clone(&store))
                        .inputs(sim.customers(pin()))
                        .concurrency(4)
                        .build()
                        .unwrap(),
                )
            })
            .collect();
        // Each replica runs three passes back to back, as a worker loop does.
        let loops = fleets.iter().map(|fleet| {
            let fleet = Arc::clone(fleet);
            tokio::spawn(async move {
                let mut registered = 0;
                for _ in 0..3 {
                    registered += fleet.resume().await.unwrap().progress.registered;
                }
                registered
            })
        });
        let all = futures_util::future::join_all(loops);
        let done = tokio::time::timeout(Duration::from_secs(60), all)
            .await
            .unwrap_or_else(|_| panic!("{store:?}: a replica's pass never ended"));
        let registered: usize = done.into_iter().map(|r| r.unwrap()).sum();
        assert_eq!(registered, 40, "{store:?}");
        let got = counts(&sim, &sessions);
        assert!(
            got[..40].iter().all(|c| *c == (1, 1, 1, 1)),
            "{store:?}: {got:?}"
        );
        // The waiting numbers were refused once each and then left alone.
        assert!(
            got[40..].iter().all(|c| *c == (1, 0, 0, 0)),
            "{store:?}: {got:?}"
        );
        assert_eq!(store.list_unfinished().await.unwrap().len(), 8);
    }
}

/// A store where, whenever a session is released, another worker claims
/// every due session and gives them back at once: the interleaving of two
/// replicas looping `resume()`, made deterministic.
#[derive(Debug)]
struct Interloper {
    inner: InMemoryStore,
    other: WorkerId,
    clock: Simulator,
}

#[waba_porting::async_trait]
impl Twist for Interloper {
    fn inner(&self) -> &InMemoryStore {
        &self.inner
    }

    async fn release(&self, lease: &waba_porting::Lease) -> Result<(), waba_porting::StoreError> {
        self.inner.release(lease).await?;
        tokio::task::yield_now().await;
        // The other replica's own pass (whatever marks it uses).
        let now = self.clock.now();
        let taken = self
            .inner
            .claim(
                &self.other,
                1_000,
                now,
                Duration::from_secs(60),
                Some(u64::MAX),
            )
            .await?;
        for claimed in taken {
            self.inner.release(claimed.lease()).await?;
        }
        Ok(())
    }
}

/// A pass ends even when another replica keeps claiming and releasing the
/// sessions waiting on a person between this pass's claims: it never
/// claims a session twice, whoever claimed it meanwhile.
#[tokio::test(flavor = "current_thread")]
async fn a_pass_never_claims_a_session_twice_whoever_claimed_it_meanwhile() {
    let inner = InMemoryStore::new();
    let (sim, sessions) = mixed_world(&inner, 3, 3).await;
    let store = Twisted(Interloper {
        inner,
        other: WorkerId::new("replica-b"),
        clock: sim.clone(),
    });
    let client = sim.client_builder().transport(Wire::pass(&sim));
    let fleet = Fleet::builder(client, store)
        .inputs(sim.customers(pin()))
        .concurrency(2)
        .build()
        .unwrap();
    let report = tokio::time::timeout(Duration::from_secs(30), fleet.resume())
        .await
        .expect("the pass never ended")
        .unwrap();
    // Each session at most once (the drafts the other replica took first
    // are its to advance; this one only releases them: they wait for the
    // next pass).
    let mut keys: Vec<_> = report.sessions.iter().map(|r| r.key.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), report.sessions.len(), "{report:?}");
    assert!(!report.sessions.is_empty());
    let got = counts(&sim, &sessions);
    assert!(
        got[..3]
            .iter()
            .all(|c| *c == (1, 1, 1, 1) || *c == (0, 0, 0, 0)),
        "{got:?}"
    );
    assert_eq!(
        report.progress.registered,
        got[..3].iter().filter(|c| c.3 == 1).count()
    );
    assert!(got[3..].iter().all(|c| c.1 == 0 && c.0 <= 1), "{got:?}");
}

/// A start Meta refuses until someone acts (a display name to approve) is
/// not sent again by every pass of replicas looping `resume()`: the
/// session waits on the customer until `recheck_after` passed, then the
/// fleet tries once more — and moves on once the name is approved.
#[tokio::test(flavor = "current_thread")]
async fn a_step_refused_until_someone_acts_is_sent_again_only_after_the_recheck_time() {
    use waba_porting::simulator::Scenario;
    use waba_porting::{Actor, NextAction, DEFAULT_RECHECK_AFTER};
    let sim = Scenario::happy_path().build();
    sim.log_requests(false);
    let session = sim.add_number(&Scenario::happy_path().display_name_approved(false));
    let store: Arc<dyn SessionStore> = Arc::new(InMemoryStore::new());
    queue(store.as_ref(), std::slice::from_ref(&session)).await;
    let (one, two) = (
        replica(&sim, Arc::clone(&store)),
        replica(&sim, Arc::clone(&store)),
    );
    let refused_at = sim.now();
    for _ in 0..5 {
        for fleet in [&one, &two] {
            let report = fleet.resume().await.unwrap();
            match &report.sessions[..] {
                [result] => match &result.outcome {
                    SessionOutcome::Waiting { next, .. } => {
                        assert_eq!(next.actor, Actor::Customer, "{next:?}");
                        assert_eq!(next.action, NextAction::StartMigration);
                    }
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            }
        }
        sim.advance(Duration::from_secs(60));
    }
    let phone = session.phone_number();
    assert_eq!(sim.calls(phone).unwrap().start_migration, 1, "one refusal");
    // The reported wait says when the fleet tries again.
    let report = one.resume().await.unwrap();
    match &report.sessions[0].outcome {
        SessionOutcome::Waiting { next, .. } => assert_eq!(
            next.not_before,
            Some(refused_at.saturating_add(DEFAULT_RECHECK_AFTER))
        ),
        other => panic!("{other:?}"),
    }
    // Past the recheck time: one more try (still refused).
    sim.advance(DEFAULT_RECHECK_AFTER);
    let _ = one.resume().await.unwrap();
    let _ = two.resume().await.unwrap();
    assert_eq!(sim.calls(phone).unwrap().start_migration, 2);
    // Approved: the next try after the recheck time goes through.
    assert!(sim.approve_display_name(phone));
    sim.advance(DEFAULT_RECHECK_AFTER);
    let report = two.resume().await.unwrap();
    assert_eq!(report.progress.registered, 1, "{report:?}");
    assert_eq!(sim.calls(phone).unwrap().start_migration, 3);
}
