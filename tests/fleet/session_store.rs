//! Session stores: in memory and one JSON file per session, written
//! atomically; a killed process resumes from the directory with no lost
//! session and no repeated side effect.
#![cfg(feature = "simulator")]

use waba_porting::simulator::{Fault, Scenario};
use waba_porting::{
    CodeMethod, DirectoryStore, InMemoryStore, Language, Operation, Pin, PortingSession,
    RetryPolicy, SessionKey, SessionStore, StateName, StoreCheckpoint, StoreErrorKind, Timestamp,
};

/// Saves `session` as its next revision, without a lease.
async fn save_next(store: &dyn SessionStore, session: &mut PortingSession) {
    session.next_revision();
    store.save(session, None, Timestamp::now()).await.unwrap();
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("waba-porting-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn stores_round_trip_and_list_unfinished(store: &dyn SessionStore) {
    let sim = Scenario::happy_path().build();
    let client = sim.client().unwrap();
    let mut session = sim.session();
    let key = SessionKey::of(&session);
    assert_eq!(key.as_str(), "102290129340398-14155550123");
    assert!(store.load(&key).await.unwrap().is_none());
    save_next(store, &mut session).await;
    assert_eq!(store.load(&key).await.unwrap().as_ref(), Some(&session));
    assert_eq!(session.revision(), 1);
    client.start_migration(&mut session).await.unwrap();
    save_next(store, &mut session).await;
    assert_eq!(
        store.list_unfinished().await.unwrap(),
        vec![session.clone()]
    );
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
    save_next(store, &mut session).await;
    assert_eq!(store.load(&key).await.unwrap().as_ref(), Some(&session));
    assert!(
        store.list_unfinished().await.unwrap().is_empty(),
        "a registered session is finished"
    );
}

#[tokio::test]
async fn the_in_memory_store_round_trips_and_is_shared_behind_an_arc() {
    let store = std::sync::Arc::new(InMemoryStore::new());
    stores_round_trip_and_list_unfinished(&store).await;
    // The client's checkpoint and the service share one store.
    let store = std::sync::Arc::new(InMemoryStore::new());
    let sim = Scenario::happy_path().build();
    let client = sim
        .client_builder()
        .checkpoint(StoreCheckpoint(store.clone()))
        .build()
        .unwrap();
    let mut session = sim.session();
    client.start_migration(&mut session).await.unwrap();
    let key = SessionKey::of(&session);
    assert_eq!(store.load(&key).await.unwrap(), Some(session));
}

#[tokio::test]
async fn the_directory_store_round_trips_atomically() {
    let dir = temp_dir("round-trip");
    let store = DirectoryStore::open(&dir).unwrap();
    stores_round_trip_and_list_unfinished(&store).await;
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != ".lock")
        .collect();
    assert_eq!(names, vec!["102290129340398-14155550123.json".to_owned()]);
    // A stray temporary file (a crash mid-write) is not a session.
    std::fs::write(dir.join(".tmp-1-0-x.json"), b"{\"half\":").unwrap();
    assert!(store.list_unfinished().await.unwrap().is_empty());
    drop(store);
    assert!(DirectoryStore::open(&dir)
        .unwrap()
        .list_unfinished()
        .await
        .unwrap()
        .is_empty());
    // A corrupt session file is an error at open, not a silently lost
    // session.
    std::fs::write(dir.join("1-2.json"), b"{\"half\":").unwrap();
    let err = DirectoryStore::open(&dir).unwrap_err();
    assert!(err.to_string().contains("1-2.json"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A process dies right after sending register (the answer is lost); a new
/// process lists the unfinished sessions from the directory and finishes
/// them without a second register.
#[tokio::test]
async fn a_killed_process_resumes_from_the_directory_without_repeating_register() {
    let dir = temp_dir("resume");
    let sim = Scenario::happy_path().build();
    {
        let client = sim
            .client_builder()
            .checkpoint(StoreCheckpoint(DirectoryStore::open(&dir).unwrap()))
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap();
        let mut session = sim.session();
        client.start_migration(&mut session).await.unwrap();
        client
            .request_code(&mut session, CodeMethod::Sms, &Language::default())
            .await
            .unwrap();
        let code = sim.latest_code(session.phone_number()).unwrap();
        client.verify_code(&mut session, &code).await.unwrap();
        sim.inject_at(Operation::Register, Fault::AnswerLost, 1);
        assert!(client
            .register(&mut session, &Pin::new("482913").unwrap(), None)
            .await
            .is_err());
    } // the process is gone
    let store = std::sync::Arc::new(DirectoryStore::open(&dir).unwrap());
    // One process, one open store: a second open is refused, naming us.
    let second = DirectoryStore::open(&dir).unwrap_err();
    assert!(
        matches!(second.kind(), StoreErrorKind::InUse { holder } if holder.contains(&std::process::id().to_string())),
        "{second}"
    );
    let client = sim
        .client_builder()
        .checkpoint(StoreCheckpoint(std::sync::Arc::clone(&store)))
        .build()
        .unwrap();
    let unfinished = store.list_unfinished().await.unwrap();
    assert_eq!(unfinished.len(), 1);
    for mut session in unfinished {
        assert_eq!(
            session.in_flight().map(|f| f.operation),
            Some(Operation::Register)
        );
        assert_eq!(
            client.reconcile(&mut session).await.unwrap(),
            StateName::Registered
        );
    }
    assert!(store.list_unfinished().await.unwrap().is_empty());
    let registers = sim
        .served()
        .iter()
        .filter(|r| r.operation == Some(Operation::Register))
        .count();
    assert_eq!(registers, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
