//! The in-process stores from several threads at once: the suite polls
//! its contenders on one task, where a store that never yields runs them
//! one after the other; here they really run in parallel.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Barrier;
use waba_porting::{
    Acquired, BusinessId, DirectoryStore, InMemoryStore, PhoneNumber, PortingSession, SessionStore,
    StoreErrorKind, Timestamp, WabaId, WorkerId,
};

use super::temp_dir;

const TASKS: usize = 4;

fn session(waba: u32, n: u32) -> PortingSession {
    let mut session = PortingSession::new(
        PhoneNumber::parse(&format!("+1 415 555 01{:02}", n % 100)).unwrap(),
        WabaId::new(format!("8{waba:014}")).unwrap(),
        BusinessId::new("106540352242922").unwrap(),
    );
    session.next_revision();
    session
}

/// `TASKS` tasks on as many threads acquire each of `rounds` new sessions
/// at once: exactly one leases each, the others are told it is held.
async fn acquires_race(store: Arc<dyn SessionStore>, rounds: u32) {
    let now = Timestamp::from_unix_millis(1_900_000_000_000);
    for round in 0..rounds {
        let fresh = session(round / 100, round);
        let barrier = Arc::new(Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let (store, barrier, fresh) = (store.clone(), barrier.clone(), fresh.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    let worker = WorkerId::new(format!("w{i}"));
                    store
                        .acquire(&fresh, &worker, now, Duration::from_secs(60))
                        .await
                })
            })
            .collect();
        let (mut leases, mut holders) = (Vec::new(), Vec::new());
        for task in tasks {
            match task.await.unwrap() {
                Ok(Acquired::Claimed(claimed)) => leases.push(claimed.lease().clone()),
                Ok(Acquired::Held(holder)) => holders.push(holder),
                Ok(other) => panic!("round {round}: {other:?}"),
                Err(e) => panic!("round {round}: an acquire failed: {e} ({:?})", e.kind()),
            }
        }
        assert_eq!(
            leases.len(),
            1,
            "round {round}: {leases:?} leased one new session"
        );
        for holder in holders {
            assert_eq!(
                holder,
                leases[0].holder(),
                "round {round}: Held names the winner"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_memory_acquires_of_a_new_session_from_several_threads_lease_it_once() {
    acquires_race(Arc::new(InMemoryStore::new()), 2_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn directory_acquires_of_a_new_session_from_several_threads_lease_it_once() {
    let dir = temp_dir("threads-acquire");
    acquires_race(Arc::new(DirectoryStore::open(&dir).unwrap()), 300).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `TASKS` tasks on as many threads save revision 1 of each of `rounds`
/// new sessions at once: exactly one wins, the others are told revision 1
/// is stored.
async fn first_saves_race(store: Arc<dyn SessionStore>, rounds: u32) {
    let now = Timestamp::from_unix_millis(1_900_000_000_000);
    for round in 0..rounds {
        let fresh = session(50 + round / 100, round);
        let barrier = Arc::new(Barrier::new(TASKS));
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let (store, barrier) = (store.clone(), barrier.clone());
                let mut copy = fresh.clone();
                copy.set_not_before(Some(Timestamp::from_unix_millis(i as u64)));
                tokio::spawn(async move {
                    barrier.wait().await;
                    store.save(&copy, None, now).await
                })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) => won += 1,
                Err(e) if *e.kind() == (StoreErrorKind::Conflict { stored: Some(1) }) => {}
                Err(e) => panic!("round {round}: a loser got {:?}: {e}", e.kind()),
            }
        }
        assert_eq!(won, 1, "round {round}: {won} first saves won");
    }
}

/// `TASKS` tasks on as many threads claim two at a time from 200 due
/// sessions until none is left: none is claimed twice, all are claimed.
async fn claims_race(store: Arc<dyn SessionStore>) {
    let now = Timestamp::from_unix_millis(1_900_000_000_000);
    for n in 0..200 {
        store
            .save(&session(90 + n / 100, n), None, now)
            .await
            .unwrap();
    }
    let barrier = Arc::new(Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let worker = WorkerId::new(format!("w{i}"));
                let mut keys = Vec::new();
                loop {
                    let got = store
                        .claim(&worker, 2, now, Duration::from_secs(60), None)
                        .await
                        .unwrap();
                    if got.is_empty() {
                        return keys;
                    }
                    keys.extend(got.iter().map(|c| c.lease().key().clone()));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let claims = all.len();
    all.sort();
    all.dedup();
    assert_eq!((claims, all.len()), (200, 200), "claims, distinct sessions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_memory_first_saves_and_claims_from_several_threads_never_overlap() {
    first_saves_race(Arc::new(InMemoryStore::new()), 1_000).await;
    claims_race(Arc::new(InMemoryStore::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn directory_first_saves_and_claims_from_several_threads_never_overlap() {
    let dir = temp_dir("threads-saves");
    first_saves_race(Arc::new(DirectoryStore::open(&dir).unwrap()), 200).await;
    std::fs::remove_dir_all(&dir).unwrap();
    let dir = temp_dir("threads-claims");
    claims_race(Arc::new(DirectoryStore::open(&dir).unwrap())).await;
    std::fs::remove_dir_all(&dir).unwrap();
}
