//! `SqliteStore`: the suite through two connections on one file, and two
//! OS processes claiming from one file at once.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use waba_porting::test_util::store_conformance::check_store;
use waba_porting::{
    BusinessId, PhoneNumber, PortingSession, SessionKey, SessionStore, SqliteStore, Timestamp,
    WabaId, WorkerId,
};

use super::temp_dir;

/// Marks a run of this test binary as a child of the cross-process test:
/// the database file to claim from.
const CHILD_DB: &str = "WABA_PORTING_TEST_SQLITE_CHILD_DB";
/// The child's worker id.
const CHILD_WORKER: &str = "WABA_PORTING_TEST_SQLITE_CHILD_WORKER";
/// What a child prints before each key it claimed.
const CLAIMED: &str = "claimed ";
const SESSIONS: u32 = 150;

fn now() -> Timestamp {
    Timestamp::from_unix_millis(1_900_000_000_000)
}

#[tokio::test]
async fn the_sqlite_store_passes_the_conformance_suite_through_two_connections() {
    let dir = temp_dir("sqlite-suite");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sessions.sqlite3");
    let a = SqliteStore::open(&file).unwrap();
    let b = SqliteStore::open(&file).unwrap();
    if let Err(failure) = check_store(&a, &b).await {
        panic!("{failure}");
    }
    drop((a, b));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_sqlite_store_passes_the_conformance_suite_without_a_runtime_of_tokio() {
    // Called from a plain executor: the store runs its calls inline.
    let dir = temp_dir("sqlite-inline");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sessions.sqlite3");
    let (a, b) = (
        SqliteStore::open(&file).unwrap(),
        SqliteStore::open(&file).unwrap(),
    );
    let outcome = futures_executor_lite(check_store(&a, &b));
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    drop((a, b));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Polls `future` to completion on this thread, with no runtime entered.
fn futures_executor_lite<F: std::future::Future>(future: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return output,
            Poll::Pending => std::thread::park(),
        }
    }
}

fn session(n: u32) -> PortingSession {
    let mut session = PortingSession::new(
        PhoneNumber::parse(&format!("+1 415 555 01{:02}", n % 100)).unwrap(),
        WabaId::new(format!("7{:014}", n / 100)).unwrap(),
        BusinessId::new("106540352242922").unwrap(),
    );
    session.next_revision();
    session
}

/// Two OS processes (this test binary, run again as a child) claim one at
/// a time from one file, at once, and save each under its lease, until
/// nothing is left: no session is claimed by both, every session is
/// claimed, and both processes got some.
#[tokio::test]
async fn two_processes_claiming_from_one_file_never_get_the_same_session() {
    let dir = temp_dir("sqlite-processes");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sessions.sqlite3");
    let store = SqliteStore::open(&file).unwrap();
    let mut all = BTreeSet::new();
    for n in 0..SESSIONS {
        let session = session(n);
        store.save(&session, None, now()).await.unwrap();
        all.insert(SessionKey::of(&session).to_string());
    }
    let exe = std::env::current_exe().unwrap();
    let child = crate::common::test_name(module_path!(), "cross_process_child");
    let mut children: Vec<_> = ["process-a", "process-b"]
        .into_iter()
        .map(|worker| {
            Command::new(&exe)
                .args(["--exact", child.as_str(), "--nocapture"])
                .args(["--test-threads", "1"])
                .env(CHILD_DB, &file)
                .env(CHILD_WORKER, worker)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    // Both are started (and have opened the file) before either claims.
    for child in &mut children {
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    }
    let mut claimed_by = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(output.status.success(), "a child failed:\n{stdout}");
        let keys: Vec<String> = stdout
            .lines()
            .filter_map(|line| line.strip_prefix(CLAIMED).map(str::to_owned))
            .collect();
        claimed_by.push(keys);
    }
    let claims: usize = claimed_by.iter().map(Vec::len).sum();
    let distinct: BTreeSet<String> = claimed_by.iter().flatten().cloned().collect();
    println!(
        "claimed by each process: {:?}",
        claimed_by.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert!(
        claimed_by.iter().all(|keys| !keys.is_empty()),
        "both processes claimed (they ran at once)"
    );
    assert_eq!(distinct, all, "every session claimed");
    assert_eq!(claims, all.len(), "no session claimed twice");
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The child of the cross-process test (does nothing in a normal run):
/// waits for the parent's go, then claims until nothing is left, printing
/// each key it got.
#[tokio::test]
async fn cross_process_child() {
    let (Ok(file), Ok(worker)) = (std::env::var(CHILD_DB), std::env::var(CHILD_WORKER)) else {
        return;
    };
    let store = SqliteStore::open(&file).unwrap();
    let mut go = String::new();
    std::io::stdin().lock().read_line(&mut go).unwrap();
    let worker = WorkerId::new(worker);
    let mut out = std::io::stdout().lock();
    // On a line of its own, not after the test harness's name of the test.
    writeln!(out).unwrap();
    loop {
        let claimed = store
            .claim(&worker, 1, now(), Duration::from_secs(3_600), None)
            .await
            .unwrap();
        if claimed.is_empty() {
            break;
        }
        for claimed in claimed {
            writeln!(out, "{CLAIMED}{}", claimed.lease().key()).unwrap();
            // A worker's step: save under the lease (fenced if another
            // process held the session too).
            let (mut session, lease) = claimed.into_parts();
            session.next_revision();
            store.save(&session, Some(&lease), now()).await.unwrap();
        }
        // The step itself (a worker calls Graph between claims): SQLite's
        // lock is not fair, and a process that claims back to back can
        // keep another waiting out its busy-timeout sleeps until nothing
        // is left.
        std::thread::sleep(Duration::from_millis(1));
    }
}
