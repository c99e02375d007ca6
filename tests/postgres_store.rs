//! `PostgresStore` against a real server: compare-and-swap saves, leases,
//! take-over, fencing, claims from many tasks on several connections,
//! `SKIP LOCKED`, the shared rate budget, reconnects, and two fleets on one
//! table.
//!
//! Needs `DATABASE_URL` (a database the tests may create tables in; see
//! the README, "Running replicas", for a throwaway server). Without it the
//! tests print that they were skipped, except under `CI=true`, where they
//! fail. Each test uses tables of its own (`wp_<process>_<n>_<test>`,
//! dropped at the end), so the tests run concurrently and rerun cleanly.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_postgres::NoTls;
use waba_porting::simulator::{Scenario, Simulator};
use waba_porting::{
    Acquired, CodeMethod, Fleet, Language, Lease, Pin, PortingSession, PostgresStore, SessionKey,
    SessionStore, StoreErrorKind, Timestamp, WorkerId,
};

const HOUR: Duration = Duration::from_secs(3600);

fn at(seconds: u64) -> Timestamp {
    Timestamp::from_unix_millis(1_800_000_000_000 + seconds * 1000)
}

/// The database to test against, or `None` (skipped) outside CI.
fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!(
                "DATABASE_URL is not set: CI must run the Postgres tests (.ci/run starts a server)"
            )
        }
        _ => {
            println!("skipped: set DATABASE_URL (see README 'Running replicas')");
            None
        }
    }
}

/// A test's own table, dropped (with its `_workers` table) when the test
/// ends, even when it fails.
struct Table {
    url: String,
    name: String,
}

impl Table {
    fn new(test: &str) -> Option<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let url = database_url()?;
        let mut name = format!(
            "wp_{}_{}_{}_{test}",
            std::process::id(),
            Timestamp::now().as_unix_millis() % 1_000_000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        name.truncate(55);
        Some(Self { url, name })
    }

    async fn store(&self, connections: usize) -> PostgresStore {
        PostgresStore::builder(&self.url)
            .table(&self.name)
            .connections(connections)
            .connect()
            .await
            .unwrap()
    }

    /// A plain connection of the test's own.
    async fn client(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url, NoTls).await.unwrap();
        tokio::spawn(connection);
        client
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // A runtime of its own: Drop cannot await, and the test's runtime
        // may be shutting down.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok((client, connection)) = tokio_postgres::connect(&url, NoTls).await {
                    tokio::spawn(connection);
                    let _ = client
                        .batch_execute(&format!(
                            "DROP TABLE IF EXISTS \"{name}\"; DROP TABLE IF EXISTS \"{name}_workers\"; DROP SEQUENCE IF EXISTS \"{name}_tokens\";"
                        ))
                        .await;
                }
            });
        })
        .join();
    }
}

/// `n` draft sessions of one simulated world.
fn drafts(n: u32) -> (Simulator, Vec<PortingSession>) {
    let sim = Scenario::happy_path().build();
    sim.log_requests(false);
    let sessions = (0..n)
        .map(|i| sim.add_number(&Scenario::happy_path().numbered(i)))
        .collect();
    (sim, sessions)
}

/// `session`, next due at `due`.
fn due_at(session: &PortingSession, due: Timestamp) -> PortingSession {
    let mut json = serde_json::to_value(session).unwrap();
    json["not_before"] = due.as_unix_millis().into();
    let session: PortingSession = serde_json::from_value(json).unwrap();
    assert_eq!(session.due_at(), Some(due));
    session
}

/// Saves `sessions` as revision 1, without a lease.
async fn queue(store: &dyn SessionStore, sessions: &[PortingSession]) -> Vec<PortingSession> {
    let mut out = Vec::new();
    for s in sessions {
        let mut s = s.clone();
        s.next_revision();
        store.save(&s, None, at(0)).await.unwrap();
        out.push(s);
    }
    out
}

/// `session`'s number taken to `Registered` (finished) by a plain client.
async fn registered(sim: &Simulator, session: &PortingSession) -> PortingSession {
    let client = sim.client().unwrap();
    let mut session = session.clone();
    client.start_migration(&mut session).await.unwrap();
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .unwrap();
    let code = sim.latest_code(session.phone_number()).unwrap();
    client.verify_code(&mut session, &code).await.unwrap();
    client
        .register(&mut session, &Pin::new("482913").unwrap(), None)
        .await
        .unwrap();
    assert!(session.is_finished());
    session
}

fn keys(sessions: &[PortingSession]) -> Vec<SessionKey> {
    sessions.iter().map(SessionKey::of).collect()
}

#[tokio::test]
async fn saves_are_compare_and_swap_and_refusals_write_nothing() {
    let Some(table) = Table::new("cas") else {
        return;
    };
    let store = table.store(1).await;
    let (_sim, sessions) = drafts(1);
    let key = SessionKey::of(&sessions[0]);
    assert!(store.load(&key).await.unwrap().is_none());

    // Revision 1 over nothing; not twice.
    let mut one = sessions[0].clone();
    one.next_revision();
    store.save(&one, None, at(0)).await.unwrap();
    assert_eq!(store.load(&key).await.unwrap().as_ref(), Some(&one));
    let again = store.save(&one, None, at(0)).await.unwrap_err();
    assert_eq!(again.kind(), &StoreErrorKind::Conflict { stored: Some(1) });

    // Revision 2 over 1; a second writer's 2 and a jump to 5 are refused.
    let mut two = one.clone();
    two.next_revision();
    store.save(&two, None, at(0)).await.unwrap();
    let mut stale = one.clone();
    stale.next_revision();
    let stale = due_at(&stale, at(99));
    let refused = store.save(&stale, None, at(0)).await.unwrap_err();
    assert_eq!(
        refused.kind(),
        &StoreErrorKind::Conflict { stored: Some(2) }
    );
    assert!(refused.is_superseded());
    let mut five = two.clone();
    for _ in 0..3 {
        five.next_revision();
    }
    let refused = store.save(&five, None, at(0)).await.unwrap_err();
    assert_eq!(
        refused.kind(),
        &StoreErrorKind::Conflict { stored: Some(2) }
    );
    assert_eq!(
        store.load(&key).await.unwrap().as_ref(),
        Some(&two),
        "nothing written"
    );

    // A revision past 1 over nothing, and revision 0, are conflicts.
    let (_sim, others) = drafts(2);
    let mut orphan = others[1].clone();
    orphan.next_revision();
    orphan.next_revision();
    let refused = store.save(&orphan, None, at(0)).await.unwrap_err();
    assert_eq!(refused.kind(), &StoreErrorKind::Conflict { stored: None });
    let refused = store.save(&others[1], None, at(0)).await.unwrap_err();
    assert_eq!(refused.kind(), &StoreErrorKind::Conflict { stored: None });
    assert!(store
        .load(&SessionKey::of(&others[1]))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_saves_of_one_revision_let_exactly_one_win() {
    let Some(table) = Table::new("race") else {
        return;
    };
    let (a, b) = (
        Arc::new(table.store(2).await),
        Arc::new(table.store(2).await),
    );
    let (_sim, sessions) = drafts(1);
    let stored = queue(a.as_ref(), &sessions).await.remove(0);
    let mut tasks = Vec::new();
    for i in 0..24_u64 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let mut mine = due_at(&stored, at(i + 1));
        mine.next_revision();
        tasks.push(tokio::spawn(async move {
            store.save(&mine, None, at(0)).await.map(|()| i)
        }));
    }
    let mut won = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(i) => won.push(i),
            Err(e) => assert_eq!(e.kind(), &StoreErrorKind::Conflict { stored: Some(2) }),
        }
    }
    assert_eq!(won.len(), 1, "{won:?}");
    let saved = a.load(&SessionKey::of(&stored)).await.unwrap().unwrap();
    assert_eq!(saved.due_at(), Some(at(won[0] + 1)), "the winner's session");
}

#[tokio::test]
async fn leases_fence_saves_renewals_and_releases() {
    let Some(table) = Table::new("leases") else {
        return;
    };
    let store = table.store(1).await;
    let (_sim, sessions) = drafts(1);
    let stored = queue(&store, &sessions).await.remove(0);
    let key = SessionKey::of(&stored);
    let (worker_a, worker_b) = (WorkerId::new("replica-a"), WorkerId::new("replica-b"));

    let claimed = store.claim(&worker_a, 10, at(1), HOUR, None).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let (mut session, lease) = claimed.into_iter().next().unwrap().into_parts();
    assert_eq!(session, stored);
    assert_eq!(lease.key(), &key);
    assert_eq!(lease.worker(), &worker_a);
    assert_eq!(lease.until(), at(1).saturating_add(HOUR));

    // Nobody else claims it, nor saves it without a lease.
    assert!(store
        .claim(&worker_b, 10, at(2), HOUR, None)
        .await
        .unwrap()
        .is_empty());
    let mut intruder = session.clone();
    intruder.next_revision();
    let refused = store.save(&intruder, None, at(2)).await.unwrap_err();
    match refused.kind() {
        StoreErrorKind::Fenced { holder: Some(h) } => {
            assert_eq!(h.worker(), &worker_a);
            assert_eq!(h.until(), lease.until());
        }
        other => panic!("{other:?}"),
    }
    // Under a lease of another worker (same token), refused too.
    let forged = Lease::new(key.clone(), worker_b.clone(), lease.token(), lease.until());
    let refused = store
        .save(&intruder, Some(&forged), at(2))
        .await
        .unwrap_err();
    assert!(matches!(refused.kind(), StoreErrorKind::Fenced { .. }));

    // The holder saves, renews, saves again.
    session.next_revision();
    store.save(&session, Some(&lease), at(3)).await.unwrap();
    let lease = store.renew(&lease, at(4), HOUR * 2).await.unwrap();
    assert_eq!(lease.until(), at(4).saturating_add(HOUR * 2));
    session.next_revision();
    store.save(&session, Some(&lease), at(5)).await.unwrap();
    // The lease does not excuse a stale revision.
    let refused = store.save(&session, Some(&lease), at(5)).await.unwrap_err();
    assert_eq!(
        refused.kind(),
        &StoreErrorKind::Conflict { stored: Some(3) }
    );

    // Released: claimable at once, with a new token; the old lease is dead.
    store.release(&lease).await.unwrap();
    let taken = store.claim(&worker_b, 10, at(6), HOUR, None).await.unwrap();
    assert_eq!(taken.len(), 1);
    let (their_session, their_lease) = taken.into_iter().next().unwrap().into_parts();
    assert_eq!(their_session, session);
    assert!(their_lease.token() > lease.token());
    let mut late = session.clone();
    late.next_revision();
    let refused = store.save(&late, Some(&lease), at(7)).await.unwrap_err();
    assert_eq!(refused.holder().map(|h| h.worker()), Some(&worker_b));
    let refused = store.renew(&lease, at(7), HOUR).await.unwrap_err();
    assert_eq!(refused.holder().map(|h| h.worker()), Some(&worker_b));
    // Releasing a lease the store no longer holds does nothing.
    store.release(&lease).await.unwrap();
    assert!(store
        .claim(&worker_a, 10, at(8), HOUR, None)
        .await
        .unwrap()
        .is_empty());
    store.save(&late, Some(&their_lease), at(8)).await.unwrap();

    // A lease of one session never writes another.
    let (_sim, others) = drafts(2);
    let other = queue(&store, &others[1..]).await.remove(0);
    let mut other = other;
    other.next_revision();
    let refused = store
        .save(&other, Some(&their_lease), at(9))
        .await
        .unwrap_err();
    assert!(matches!(refused.kind(), StoreErrorKind::Fenced { .. }));
    // Nor does a lease on a session that is not stored.
    let (_sim, unknown) = drafts(3);
    let mut unknown = unknown[2].clone();
    unknown.next_revision();
    let ghost = Lease::new(SessionKey::of(&unknown), worker_a.clone(), 1, at(100));
    let refused = store.save(&unknown, Some(&ghost), at(9)).await.unwrap_err();
    assert_eq!(refused.kind(), &StoreErrorKind::Fenced { holder: None });
    let refused = store.renew(&ghost, at(9), HOUR).await.unwrap_err();
    assert_eq!(refused.kind(), &StoreErrorKind::Fenced { holder: None });
}

#[tokio::test]
async fn a_lapsed_lease_is_taken_over_and_its_holder_fenced() {
    let Some(table) = Table::new("takeover") else {
        return;
    };
    let store = table.store(1).await;
    let (_sim, sessions) = drafts(1);
    queue(&store, &sessions).await;
    let (worker_a, worker_b) = (WorkerId::new("replica-a"), WorkerId::new("replica-b"));
    let lease_for = Duration::from_secs(10);

    let (mut old, old_lease) = store
        .claim(&worker_a, 1, at(0), lease_for, None)
        .await
        .unwrap()
        .remove(0)
        .into_parts();
    // Live at 9 s (and at exactly `until`, it has lapsed).
    assert!(store
        .claim(&worker_b, 1, at(9), lease_for, None)
        .await
        .unwrap()
        .is_empty());
    let (mut new, new_lease) = store
        .claim(&worker_b, 1, at(10), lease_for, None)
        .await
        .unwrap()
        .remove(0)
        .into_parts();
    assert!(new_lease.token() > old_lease.token());

    // The old holder wakes up believing it still holds the session.
    old.next_revision();
    let refused = store
        .save(&old, Some(&old_lease), at(11))
        .await
        .unwrap_err();
    match refused.kind() {
        StoreErrorKind::Fenced { holder: Some(h) } => assert_eq!(h.worker(), &worker_b),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store
            .renew(&old_lease, at(11), lease_for)
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Fenced { .. }
    ));
    new.next_revision();
    store.save(&new, Some(&new_lease), at(11)).await.unwrap();

    // acquire() sees the live lease, then takes the lapsed one over.
    match store
        .acquire(&new, &worker_a, at(12), lease_for)
        .await
        .unwrap()
    {
        Acquired::Held(h) => assert_eq!(h.worker(), &worker_b),
        other => panic!("{other:?}"),
    }
    match store
        .acquire(&new, &worker_a, at(30), lease_for)
        .await
        .unwrap()
    {
        Acquired::Claimed(claimed) => {
            assert_eq!(claimed.session(), &new);
            assert!(claimed.lease().token() > new_lease.token());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn acquire_stores_a_new_session_and_returns_the_stored_one() {
    let Some(table) = Table::new("acquire") else {
        return;
    };
    let store = table.store(1).await;
    let (sim, sessions) = drafts(3);
    let (worker_a, worker_b) = (WorkerId::new("replica-a"), WorkerId::new("replica-b"));

    let mut first = sessions[0].clone();
    first.next_revision();
    let lease = match store.acquire(&first, &worker_a, at(0), HOUR).await.unwrap() {
        Acquired::Claimed(claimed) => {
            assert_eq!(claimed.session(), &first);
            claimed.lease().clone()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        store.load(&SessionKey::of(&first)).await.unwrap().as_ref(),
        Some(&first)
    );
    // Held, for anyone, the same worker included (another claim).
    for worker in [&worker_b, &worker_a] {
        assert!(matches!(
            store.acquire(&first, worker, at(1), HOUR).await.unwrap(),
            Acquired::Held(_)
        ));
    }
    // Released: the stored session comes back, whatever the caller passes.
    let mut moved_on = first.clone();
    moved_on.next_revision();
    store.save(&moved_on, Some(&lease), at(2)).await.unwrap();
    store.release(&lease).await.unwrap();
    match store.acquire(&first, &worker_b, at(3), HOUR).await.unwrap() {
        Acquired::Claimed(claimed) => assert_eq!(claimed.session(), &moved_on),
        other => panic!("{other:?}"),
    }

    // Nothing stored and not revision 1: a conflict, nothing written.
    let mut third = sessions[2].clone();
    third.next_revision();
    third.next_revision();
    let refused = store
        .acquire(&third, &worker_a, at(0), HOUR)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), &StoreErrorKind::Conflict { stored: None });
    assert!(store.load(&SessionKey::of(&third)).await.unwrap().is_none());

    // Finished sessions are leased like the others.
    let mut done = registered(&sim, &sessions[1]).await;
    done.next_revision();
    assert!(matches!(
        store.acquire(&done, &worker_a, at(0), HOUR).await.unwrap(),
        Acquired::Claimed(_)
    ));
    assert!(matches!(
        store.acquire(&done, &worker_b, at(0), HOUR).await.unwrap(),
        Acquired::Held(_)
    ));
}

#[tokio::test]
async fn claims_take_due_unfinished_sessions_earliest_first_once_per_pass() {
    let Some(table) = Table::new("claims") else {
        return;
    };
    let store = table.store(1).await;
    let (sim, sessions) = drafts(6);
    // 0 and 1: due now; 2: due at 50 s; 3: due at 20 s; 4: due at 500 s;
    // 5: finished.
    let mut queued = vec![
        sessions[0].clone(),
        sessions[1].clone(),
        due_at(&sessions[2], at(50)),
        due_at(&sessions[3], at(20)),
        due_at(&sessions[4], at(500)),
        registered(&sim, &sessions[5]).await,
    ];
    queued = queue(&store, &queued).await;
    let worker = WorkerId::new("replica-a");
    assert!(store
        .claim(&worker, 0, at(100), HOUR, None)
        .await
        .unwrap()
        .is_empty());

    let claimed = store.claim(&worker, 10, at(100), HOUR, None).await.unwrap();
    let floor = claimed.iter().map(|c| c.lease().token()).min().unwrap();
    let mut due_now = keys(&queued[0..2]);
    due_now.sort();
    let order: Vec<SessionKey> = claimed.iter().map(|c| c.lease().key().clone()).collect();
    let expected: Vec<SessionKey> = due_now
        .into_iter()
        .chain([SessionKey::of(&queued[3]), SessionKey::of(&queued[2])])
        .collect();
    assert_eq!(order, expected, "due now by key, then by due time");
    for claimed in &claimed {
        let stored = queued
            .iter()
            .find(|s| &SessionKey::of(s) == claimed.lease().key())
            .unwrap();
        assert_eq!(claimed.session(), stored);
        assert_eq!(claimed.session().revision(), 1);
    }

    // Released, they are not claimed again in the same pass (leased since
    // its floor), but are in a new one.
    for claimed in &claimed {
        store.release(claimed.lease()).await.unwrap();
    }
    assert!(store
        .claim(&worker, 10, at(101), HOUR, Some(floor))
        .await
        .unwrap()
        .is_empty());
    let limited = store.claim(&worker, 2, at(101), HOUR, None).await.unwrap();
    assert!(
        limited.iter().all(|c| c.lease().token() > floor),
        "tokens grow table-wide"
    );
    assert_eq!(limited.len(), 2, "the limit");
    for claimed in &limited {
        store.release(claimed.lease()).await.unwrap();
    }
    assert_eq!(
        store
            .claim(&worker, 10, at(101), HOUR, None)
            .await
            .unwrap()
            .len(),
        4
    );

    // Listing: every unfinished session, leased or not, in key order.
    let mut unfinished = keys(&queued[0..5]);
    unfinished.sort();
    assert_eq!(keys(&store.list_unfinished().await.unwrap()), unfinished);
}

/// Many tasks on two stores (two connections each) claiming one table at
/// once: every session is handed out exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_never_hand_one_session_to_two_workers() {
    let Some(table) = Table::new("concurrent") else {
        return;
    };
    let stores = [
        Arc::new(table.store(2).await),
        Arc::new(table.store(2).await),
    ];
    let (_sim, sessions) = drafts(240);
    queue(stores[0].as_ref(), &sessions).await;
    let mut tasks = Vec::new();
    for i in 0..16_usize {
        let store = stores[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            let worker = WorkerId::new(format!("worker-{i}"));
            let mut got = Vec::new();
            loop {
                let claimed = store.claim(&worker, 7, at(1), HOUR, None).await.unwrap();
                if claimed.is_empty() {
                    return got;
                }
                for c in claimed {
                    assert_eq!(c.lease().worker(), &worker);
                    got.push(c.lease().key().clone());
                }
            }
        }));
    }
    let mut seen: BTreeMap<SessionKey, usize> = BTreeMap::new();
    let mut busy = 0;
    for task in tasks {
        let got = task.await.unwrap();
        busy += usize::from(!got.is_empty());
        for key in got {
            *seen.entry(key).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), 240, "every session claimed");
    assert!(seen.values().all(|n| *n == 1), "never twice: {seen:?}");
    assert!(busy > 1, "the work was shared ({busy} workers claimed)");
}

/// A row locked by another transaction (a save under way) is skipped, not
/// waited for: claims never queue behind each other.
#[tokio::test]
async fn claims_skip_rows_locked_by_others_instead_of_waiting() {
    let Some(table) = Table::new("skiplocked") else {
        return;
    };
    let store = table.store(1).await;
    let (_sim, sessions) = drafts(3);
    let queued = queue(&store, &sessions).await;
    let mut sorted = keys(&queued);
    sorted.sort();
    let locked = sorted[0].clone();

    let mut other = table.client().await;
    let transaction = other.transaction().await.unwrap();
    transaction
        .execute(
            &format!("SELECT 1 FROM \"{}\" WHERE key = $1 FOR UPDATE", table.name),
            &[&locked.as_str()],
        )
        .await
        .unwrap();
    let worker = WorkerId::new("replica-a");
    let claimed = tokio::time::timeout(
        Duration::from_secs(10),
        store.claim(&worker, 10, at(1), HOUR, None),
    )
    .await
    .expect("a claim waited on a locked row")
    .unwrap();
    let got: BTreeSet<SessionKey> = claimed.iter().map(|c| c.lease().key().clone()).collect();
    assert_eq!(got, sorted[1..].iter().cloned().collect());
    transaction.rollback().await.unwrap();
    let claimed = store.claim(&worker, 10, at(2), HOUR, None).await.unwrap();
    assert_eq!(keys(&[claimed[0].session().clone()]), vec![locked]);
}

#[tokio::test]
async fn replicas_share_the_rate_budget_through_the_table() {
    let Some(table) = Table::new("rate") else {
        return;
    };
    let (one, two) = (table.store(1).await, table.store(1).await);
    let (a, b) = (WorkerId::new("replica-a"), WorkerId::new("replica-b"));
    let share = one.share_rate(&a, at(0), None).await.unwrap();
    assert_eq!((share.workers, share.paused_until), (1, None));
    let share = two.share_rate(&b, at(1), Some(at(60))).await.unwrap();
    assert_eq!((share.workers, share.paused_until), (2, Some(at(60))));
    let share = one.share_rate(&a, at(2), None).await.unwrap();
    assert_eq!((share.workers, share.paused_until), (2, Some(at(60))));
    // An earlier pause never shortens the shared one.
    let share = one.share_rate(&a, at(3), Some(at(30))).await.unwrap();
    assert_eq!(share.paused_until, Some(at(60)));
    // Past the pause, and past b's last word by more than WORKER_TTL.
    let later = at(2).saturating_add(waba_porting::WORKER_TTL);
    let share = one
        .share_rate(&a, later.saturating_add(Duration::from_secs(60)), None)
        .await
        .unwrap();
    assert_eq!((share.workers, share.paused_until), (1, None));
}

#[tokio::test]
async fn replicas_starting_at_once_make_the_schema_once_and_a_lost_connection_is_reopened() {
    let Some(table) = Table::new("startup") else {
        return;
    };
    let (a, b, c, d) = tokio::join!(
        table.store(1),
        table.store(1),
        table.store(1),
        table.store(1)
    );
    let (_sim, sessions) = drafts(2);
    queue(&a, &sessions[..1]).await;
    for store in [&b, &c, &d] {
        assert_eq!(store.list_unfinished().await.unwrap().len(), 1);
    }
    assert_eq!(a.table(), table.name);

    // Every connection of this test's application name dies (a server
    // restart, a failover): the next operations open them again.
    let app = format!("{}-reconnect", table.name);
    let url = if table.url.contains('?') {
        format!("{}&application_name={app}", table.url)
    } else {
        format!("{}?application_name={app}", table.url)
    };
    let store = PostgresStore::builder(url)
        .table(&table.name)
        .connections(2)
        .connect()
        .await
        .unwrap();
    let admin = table.client().await;
    let killed = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&app],
        )
        .await
        .unwrap();
    assert_eq!(killed, 2);
    let mut answered = false;
    for _ in 0..20 {
        // The first use of a dead connection may fail (its error is a
        // backend error); the store reopens it for the next.
        match store.list_unfinished().await {
            Ok(listed) => {
                assert_eq!(listed.len(), 1);
                answered = true;
                break;
            }
            Err(e) => {
                assert_eq!(e.kind(), &StoreErrorKind::Backend, "{e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    assert!(answered, "the store never reconnected");
    queue(&store, &sessions[1..]).await;
}

#[tokio::test]
async fn bad_table_names_and_urls_are_refused_and_debug_hides_the_password() {
    let Some(url) = database_url() else {
        return;
    };
    for bad in ["Sessions", "a;drop table x", "1st", ""] {
        let refused = PostgresStore::builder(&url)
            .table(bad)
            .connect()
            .await
            .unwrap_err();
        assert_eq!(refused.kind(), &StoreErrorKind::Backend);
    }
    let refused = PostgresStore::connect("postgres://u:hunter2@[::1")
        .await
        .unwrap_err();
    assert!(!format!("{refused} {refused:?}").contains("hunter2"));
    // No TLS: a connection string that requires it is refused.
    let sep = if url.contains('?') { '&' } else { '?' };
    let refused = PostgresStore::connect(&format!("{url}{sep}sslmode=require"))
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), &StoreErrorKind::Backend);
    let builder = PostgresStore::builder("postgres://u:hunter2@127.0.0.1/db");
    assert!(!format!("{builder:?}").contains("hunter2"));
}

/// Two fleets (replicas) on two handles of one table: they share the
/// work, every side effect is sent once, and the table ends where Meta is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_fleets_on_one_table_send_every_side_effect_once() {
    let Some(table) = Table::new("fleets") else {
        return;
    };
    let (sim, sessions) = drafts(8);
    let store_a: Arc<dyn SessionStore> = Arc::new(table.store(2).await);
    let store_b: Arc<dyn SessionStore> = Arc::new(table.store(2).await);
    for s in &sessions {
        let mut s = s.clone();
        s.next_revision();
        store_a.save(&s, None, sim.now()).await.unwrap();
    }
    let replica = |store: Arc<dyn SessionStore>| {
        Fleet::builder(sim.client_builder(), store)
            .inputs(sim.customers(Pin::new("482913").unwrap()))
            .build()
            .unwrap()
    };
    let (one, two) = (replica(store_a.clone()), replica(store_b));
    let (a, b) = tokio::join!(one.resume(), two.resume());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.progress.registered + b.progress.registered, 8);
    for s in &sessions {
        let calls = sim.calls(s.phone_number()).unwrap();
        assert_eq!(
            (
                calls.start_migration,
                calls.request_code,
                calls.verify_code,
                calls.register
            ),
            (1, 1, 1, 1)
        );
        let stored = store_a.load(&SessionKey::of(s)).await.unwrap().unwrap();
        assert!(stored.is_finished(), "{:?}", stored.state());
    }
    assert!(store_a.list_unfinished().await.unwrap().is_empty());
}

/// One fleet whose `resume()` runs twice at once (a timer firing while
/// the last run goes on) on a Postgres table: the two runs share the
/// sessions; every customer is texted once and every number registered
/// once.
#[tokio::test]
async fn two_overlapping_runs_of_one_fleet_on_a_table_send_every_side_effect_once() {
    let Some(table) = Table::new("overlap") else {
        return;
    };
    let (sim, sessions) = drafts(6);
    let store: Arc<dyn SessionStore> = Arc::new(table.store(2).await);
    for s in &sessions {
        let mut s = s.clone();
        s.next_revision();
        store.save(&s, None, sim.now()).await.unwrap();
    }
    let fleet = Fleet::builder(sim.client_builder(), Arc::clone(&store))
        .inputs(sim.customers(Pin::new("482913").unwrap()))
        .build()
        .unwrap();
    let (a, b) = tokio::join!(fleet.resume(), fleet.resume());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.progress.registered + b.progress.registered, 6);
    for s in &sessions {
        let calls = sim.calls(s.phone_number()).unwrap();
        assert_eq!(
            (
                calls.start_migration,
                calls.request_code,
                calls.verify_code,
                calls.register
            ),
            (1, 1, 1, 1)
        );
    }
    assert!(store.list_unfinished().await.unwrap().is_empty());
}

/// The store passes the `SessionStore` conformance suite through two
/// handles (two sets of connections) on one table.
#[cfg(feature = "test-util")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_store_passes_the_conformance_suite() {
    let Some(table) = Table::new("conformance") else {
        return;
    };
    let (a, b) = (table.store(2).await, table.store(2).await);
    if let Err(failure) = waba_porting::test_util::store_conformance::check_store(&a, &b).await {
        panic!("{failure}");
    }
}

/// The schema doc says "every statement is `IF NOT EXISTS`, so it is also
/// a migration to run yourself". A table made by the previous schema
/// (`claimed_in`, per-session fencing tokens: a session waiting on a
/// person and claimed every pass has a large one) is "migrated" by
/// `connect`: the new `<table>_tokens` sequence starts at 1, below the
/// tokens already in the rows. Tokens no longer grow table-wide
/// (`Lease::token`: "above every token the store drew before it"), and a
/// pass whose floor is a fresh small token skips every session leased
/// before the upgrade: it ends without running sessions nobody ran in it.
#[tokio::test]
async fn a_table_of_the_previous_schema_keeps_tokens_growing_after_the_migration() {
    let Some(table) = Table::new("upgrade") else {
        return;
    };
    let raw = table.client().await;
    // The previous schema (9efd254's postgres.sql), as an older replica made it.
    raw.batch_execute(&format!(
        "CREATE TABLE \"{t}\" ( \
           key TEXT COLLATE \"C\" PRIMARY KEY, waba_id TEXT NOT NULL, \
           revision BIGINT NOT NULL, state TEXT NOT NULL, due_at BIGINT NOT NULL, \
           finished BOOLEAN NOT NULL, lease_owner TEXT, \
           lease_token BIGINT NOT NULL DEFAULT 0, lease_until BIGINT, claimed_at BIGINT, \
           claimed_in BIGINT, session JSONB NOT NULL, \
           updated_at TIMESTAMPTZ NOT NULL DEFAULT now()); \
         CREATE INDEX \"{t}_due\" ON \"{t}\" (due_at, key) WHERE NOT finished; \
         CREATE TABLE \"{t}_workers\" (worker TEXT PRIMARY KEY, seen_at BIGINT NOT NULL, \
           paused_until BIGINT);",
        t = table.name
    ))
    .await
    .unwrap();
    // The new version connects: its schema runs as the migration.
    let store = table.store(1).await;
    let (_sim, sessions) = drafts(3);
    queue(&store, &sessions).await;
    // What the previous version left in the rows: per-session tokens (each
    // session claimed and released 40-odd times by passes before).
    raw.execute(
        &format!(
            "UPDATE \"{}\" SET lease_token = 40 + (SELECT count(*) FROM \"{}\" o WHERE o.key < \"{}\".key)",
            table.name, table.name, table.name
        ),
        &[],
    )
    .await
    .unwrap();
    // A replica of the new version starts on the table as the old one left
    // it: its schema runs again, as the migration.
    drop(store);
    let store = table.store(1).await;
    let worker = WorkerId::new("replica-a");
    // A pass: its first claim (one session), then claims above its floor.
    let first = store.claim(&worker, 1, at(10), HOUR, None).await.unwrap();
    assert_eq!(first.len(), 1);
    let floor = first[0].lease().token();
    store.release(first[0].lease()).await.unwrap();
    let rest = store
        .claim(&worker, 10, at(11), HOUR, Some(floor))
        .await
        .unwrap();
    let _ = raw
        .batch_execute(&format!(
            "DROP SEQUENCE IF EXISTS \"{}_tokens\"",
            table.name
        ))
        .await;
    assert_eq!(
        rest.len(),
        2,
        "the pass (floor {floor}) skipped the two sessions it never ran, leased only \
         before the upgrade"
    );
    assert!(
        floor > 42,
        "a token drawn after the migration ({floor}) is not above the tokens drawn before it (40..=42)"
    );
}
