//! Revisions, leases and the shared rate budget under attack: the cases the
//! replica tests do not reach (a lease that lapses inside a step, two runs
//! of one fleet on one session, a step dropped while saving, clock skew
//! between replicas, a fleet throttle shared in one process).
#![cfg(feature = "simulator")]

use crate::common;
use crate::common::stores::{Twist, Twisted};

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::wire::{pin, world, Wire};
use waba_porting::simulator::{Scenario, Simulator};
use waba_porting::transport::{HttpRequest, HttpResponse};
use waba_porting::{
    async_trait, Acquired, Claimed, CodeMethod, DirectoryStore, Fleet, FleetInputs, InMemoryStore,
    Language, Lease, Operation, Pin, PortingSession, SessionKey, SessionStore, StoreCheckpoint,
    StoreError, Throttle, Timestamp, Transport, TransportError, TransportErrorKind,
    VerificationCode, WorkerId,
};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "waba-leases-attack-{name}-{}-{}",
        std::process::id(),
        Timestamp::now().as_unix_millis()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Saves `sessions` as queued drafts (revision 1), as a service's intake
/// would.
async fn queue(store: &dyn SessionStore, sessions: &[PortingSession], now: Timestamp) {
    for s in sessions {
        let mut s = s.clone();
        s.next_revision();
        store.save(&s, None, now).await.unwrap();
    }
}

// ------------------------------------------------------------------------
// 1. A lease that lapses inside a step: the "ask again" code request.

/// Loses the answer of the first code request (a timeout); at every later
/// code request, another worker tries to claim the session — which it can
/// only do if the fleet's lease lapsed while the request is in flight.
#[derive(Debug)]
struct RivalAtCodeRequest {
    sim: Simulator,
    store: Arc<InMemoryStore>,
    code_requests: AtomicUsize,
    rival_got: Mutex<Vec<Claimed>>,
}

#[async_trait]
impl Transport for RivalAtCodeRequest {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if common::wire::operation_of(&request) == Operation::RequestCode {
            let n = self.code_requests.fetch_add(1, Ordering::SeqCst);
            if n == 0 {
                return Err(TransportError::from_kind(TransportErrorKind::Timeout));
            }
            let rival = WorkerId::new("replica-b");
            let got = self
                .store
                .claim(&rival, 1, self.sim.now(), Duration::from_secs(3600), None)
                .await
                .unwrap();
            self.rival_got.lock().unwrap().extend(got);
        }
        self.sim.send(request).await
    }
}

/// Inputs that take `takes` (on the simulator's clock) to say that no code
/// came yet: a customer portal or a database that answers slowly.
#[derive(Debug)]
struct SlowNoCode {
    sim: Simulator,
    takes: Duration,
}

#[async_trait]
impl FleetInputs for SlowNoCode {
    async fn verification_code(&self, _: &PortingSession) -> Option<VerificationCode> {
        self.sim.advance(self.takes);
        None
    }

    async fn pin(&self, _: &PortingSession) -> Option<Pin> {
        Some(pin())
    }
}

/// `FleetBuilder::lease` promises "a step starts only with at least one
/// step's worth of lease left (the fleet renews it first), so a lease never
/// lapses mid-step", and the verify and register paths renew the lease
/// *after* asking the inputs (which may be slow). The path that asks for a
/// new code because none came after a lost request
/// (`NoCode::RequestAgain`, src/fleet/mod.rs:754-766) sends the request
/// right after the inputs answered, without `keep_lease`: when the inputs
/// took longer than the lease had left, the request goes out under a
/// lapsed lease, and another replica claims the session while it is in
/// flight (it then reconciles a step this worker is still sending).
#[tokio::test(flavor = "current_thread")]
async fn a_code_request_made_after_slow_inputs_is_sent_under_a_live_lease() {
    let sim = Scenario::happy_path().build();
    sim.log_requests(false);
    let session = sim.session();
    let store = Arc::new(InMemoryStore::new());
    let transport = Arc::new(RivalAtCodeRequest {
        sim: sim.clone(),
        store: Arc::clone(&store),
        code_requests: AtomicUsize::new(0),
        rival_got: Mutex::default(),
    });
    let build = |inputs: SlowNoCode| {
        let client = sim.client_builder().transport(Arc::clone(&transport));
        Fleet::builder(client, Arc::clone(&store))
            .inputs(inputs)
            .build()
            .unwrap()
    };
    // First run: the code request's answer is lost (no inputs delay).
    let quick = build(SlowNoCode {
        sim: sim.clone(),
        takes: Duration::ZERO,
    });
    let _ = quick.run(vec![session.clone()]).await;
    let stored = store
        .load(&SessionKey::of(&session))
        .await
        .unwrap()
        .unwrap();
    assert!(stored.code_request_unconfirmed(), "{stored:?}");
    // Past the code wait, a run asks the inputs (slowly), then asks again.
    sim.advance(Duration::from_secs(11 * 60));
    let slow = build(SlowNoCode {
        sim: sim.clone(),
        takes: quick.lease_duration() + Duration::from_secs(1),
    });
    let report = slow.run(vec![session.clone()]).await;
    let rival = transport.rival_got.lock().unwrap().len();
    assert_eq!(
        rival,
        0,
        "another worker claimed the session while this fleet's code request was in flight \
         (outcome {:?}, requests {})",
        report.sessions[0].outcome,
        transport.code_requests.load(Ordering::SeqCst)
    );
}

// ------------------------------------------------------------------------
// 2. Two runs of one fleet on one session: one releases the other's lease.

/// Inputs that stage two runs of one fleet: the first run's code question
/// takes longer than its lease (the other run takes the session over) and
/// answers "no code yet" only once the other run is asking too; the other
/// run's answer (the code) waits until the test says so.
#[derive(Debug)]
struct TwoRuns {
    sim: Simulator,
    takes: Duration,
    calls: AtomicUsize,
    lapsed: Arc<tokio::sync::Notify>,
    second_asking: Arc<tokio::sync::Notify>,
    first_done: Arc<tokio::sync::Notify>,
}

#[async_trait]
impl FleetInputs for TwoRuns {
    async fn verification_code(&self, session: &PortingSession) -> Option<VerificationCode> {
        match self.calls.fetch_add(1, Ordering::SeqCst) {
            0 => {
                self.sim.advance(self.takes);
                self.lapsed.notify_one();
                self.second_asking.notified().await;
                None
            }
            _ => {
                self.second_asking.notify_one();
                self.first_done.notified().await;
                self.sim.latest_code(session.phone_number())
            }
        }
    }

    async fn pin(&self, _: &PortingSession) -> Option<Pin> {
        Some(pin())
    }
}

/// A service calls `run` and `resume` of one fleet on a timer; a run stalls
/// on slow inputs past its lease, and the next run of the same fleet
/// (rightly) takes the lapsed session over. The fleet's `LeaseBook` keeps
/// one lease per *key* for all its runs (src/fleet/leases.rs:17-40): the
/// new run's lease replaces the old one's, and when the stalled run ends
/// it `drop_lease`s and releases the lease the *other* run holds
/// (src/fleet/mod.rs:602-605). The store then shows the session free
/// while that run still steps it: a third worker claims it mid-run.
#[tokio::test(flavor = "current_thread")]
async fn a_run_that_lost_its_session_never_releases_the_lease_another_run_took() {
    let (sim, sessions) = world(1);
    let store = Arc::new(InMemoryStore::new());
    let lapsed = Arc::new(tokio::sync::Notify::new());
    let first_done = Arc::new(tokio::sync::Notify::new());
    let lease_probe = Fleet::builder(sim.client_builder(), InMemoryStore::new())
        .build()
        .unwrap()
        .lease_duration();
    let client = sim.client_builder().transport(Wire::pass(&sim));
    let fleet = Fleet::builder(client, Arc::clone(&store))
        .inputs(TwoRuns {
            sim: sim.clone(),
            takes: lease_probe + Duration::from_secs(1),
            calls: AtomicUsize::new(0),
            lapsed: Arc::clone(&lapsed),
            second_asking: Arc::new(tokio::sync::Notify::new()),
            first_done: Arc::clone(&first_done),
        })
        .build()
        .unwrap();
    let key = SessionKey::of(&sessions[0]);
    let first = async {
        let report = fleet.run(sessions.clone()).await;
        // The first run is over; the second still advances the session.
        let third = store
            .claim(
                &WorkerId::new("replica-c"),
                1,
                sim.now(),
                Duration::from_secs(3600),
                None,
            )
            .await
            .unwrap();
        first_done.notify_one();
        (report, third)
    };
    let second = async {
        lapsed.notified().await;
        fleet.resume().await.unwrap()
    };
    let ((first, third), second) = tokio::join!(first, second);
    assert!(
        third.is_empty(),
        "a third worker claimed {key} while the fleet's second run was advancing it \
         (first run: {:?}; second run: {:?})",
        first.sessions.first().map(|r| &r.outcome),
        second.sessions.first().map(|r| &r.outcome),
    );
}

// ------------------------------------------------------------------------
// 3. A step dropped while its checkpoint save is under way.

/// A store whose next save never completes once `stall` is set (a database
/// call that hangs until the caller gives up).
#[derive(Debug, Default)]
struct Stalls {
    inner: InMemoryStore,
    stall: AtomicBool,
}

#[async_trait]
impl Twist for Stalls {
    fn inner(&self) -> &InMemoryStore {
        &self.inner
    }

    async fn save(
        &self,
        session: &PortingSession,
        lease: Option<&Lease>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if self.stall.swap(false, Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        self.inner.save(session, lease, now).await
    }
}

/// A program drives a session itself with `StoreCheckpoint` and gives up
/// on a code request whose save before sending hangs (a timeout around the
/// call). Nothing was written and nothing sent, so a user expects the same
/// session to request the code when called again. `PortingClient::save`
/// bumps the revision *before* awaiting the checkpoint and only puts it
/// back when the save returns an error (src/client/mod.rs:1173-1178), and
/// the snapshot is only restored on an error (src/client/mod.rs:848-858);
/// a dropped future gets to neither, so the session stays one revision
/// ahead of the store, marked in flight, and every later save is refused
/// as a `Conflict` "saved by another writer" — there was no other writer.
#[tokio::test(flavor = "current_thread")]
async fn a_step_dropped_while_its_save_hangs_leaves_the_session_savable() {
    let sim = Scenario::happy_path().build();
    sim.log_requests(false);
    let store = Arc::new(Twisted(Stalls::default()));
    let mut session = sim.session();
    session.next_revision();
    store.save(&session, None, sim.now()).await.unwrap();
    let client = sim
        .client_builder()
        .checkpoint(StoreCheckpoint(Arc::clone(&store)))
        .build()
        .unwrap();
    client.start_migration(&mut session).await.unwrap();
    store.stall.store(true, Ordering::SeqCst);
    let (method, language) = (CodeMethod::Sms, Language::default());
    let gave_up = tokio::time::timeout(
        Duration::from_millis(200),
        client.request_code(&mut session, method, &language),
    )
    .await;
    assert!(gave_up.is_err(), "the save should have hung: {gave_up:?}");
    assert_eq!(
        sim.calls(session.phone_number()).unwrap().request_code,
        0,
        "nothing was sent: the save before the request hung"
    );
    let again = client.request_code(&mut session, method, &language).await;
    assert!(
        again.is_ok(),
        "the same session, called again after a step dropped before sending: {again:?} \
         (session revision {}, stored revision {})",
        session.revision(),
        store
            .load(&SessionKey::of(&session))
            .await
            .unwrap()
            .unwrap()
            .revision()
    );
}

// ------------------------------------------------------------------------
// 4. The shared rate budget.

/// The builder says "share one throttle between fleets to share its
/// budget", and the README says each *worker* on a store takes
/// `1 / workers` of its throttle's budget. Two fleets of one process that
/// share one throttle (one budget already) on one store each count as a
/// worker (src/store/rate.rs:57-59) and each set the *shared* throttle's
/// share to 2 (src/fleet/mod.rs:684): the process, the only one on the
/// app, uses half its budget.
#[tokio::test(flavor = "current_thread")]
async fn two_fleets_sharing_one_throttle_in_one_process_keep_the_whole_budget() {
    let (sim, sessions) = world(4);
    let store: Arc<dyn SessionStore> = Arc::new(InMemoryStore::new());
    queue(store.as_ref(), &sessions, sim.now()).await;
    let throttle = Throttle::new().calls_per_second(10);
    let fleet = || {
        let client = sim.client_builder().transport(Wire::pass(&sim));
        Fleet::builder(client, Arc::clone(&store))
            .inputs(sim.customers(pin()))
            .throttle(throttle.clone())
            .concurrency(2)
            .build()
            .unwrap()
    };
    let (one, two) = (fleet(), fleet());
    let (a, b) = tokio::join!(one.resume(), two.resume());
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.progress.registered + b.progress.registered, 4);
    assert_eq!(
        throttle.share(),
        1,
        "one process, one throttle: it is the only worker spending the app's budget"
    );
}

/// Replicas whose clocks disagree by 40 s (the contract asks for clocks
/// that agree "well within a lease", five minutes by default) both step
/// at once, each telling the store every second. The worker whose clock
/// is ahead drops the other from the board (`now - seen > WORKER_TTL`,
/// src/store/rate.rs:59) and takes the whole budget, while the one
/// behind keeps counting the other (`saturating_since` of a future time is
/// zero) and takes half: 1.5 times the app's budget together.
#[tokio::test(flavor = "current_thread")]
async fn replicas_with_clocks_apart_by_less_than_a_lease_both_split_the_budget() {
    let store = InMemoryStore::new();
    let start = Timestamp::from_unix_millis(1_700_000_000_000);
    let skew = Duration::from_secs(40);
    let (ahead, behind) = (WorkerId::new("ahead"), WorkerId::new("behind"));
    let mut last = (0, 0);
    for second in 0..5 {
        let real = start.saturating_add(Duration::from_secs(second));
        let b = store.share_rate(&behind, real, None).await.unwrap();
        let a = store
            .share_rate(&ahead, real.saturating_add(skew), None)
            .await
            .unwrap();
        last = (a.workers, b.workers);
    }
    assert_eq!(
        last,
        (2, 2),
        "(workers the one ahead sees, workers the one behind sees)"
    );
}

// ------------------------------------------------------------------------
// 5. Claims per pass.

/// `resume()` promises "each session is claimed at most once per run"
/// (the `pass` floor of `SessionStore::claim`). An `acquire` in between
/// (another fleet's `run(list)` taking the same session and giving it
/// back) must not make the session claimable again in the same pass, or a
/// resume pass can advance — and report — one session twice.
#[tokio::test(flavor = "current_thread")]
async fn a_pass_never_claims_a_session_twice_even_after_another_worker_acquired_it() {
    let dir = temp_dir("claimed-in");
    for store in [
        Arc::new(InMemoryStore::new()) as Arc<dyn SessionStore>,
        Arc::new(DirectoryStore::open(&dir).unwrap()),
    ] {
        let (sim, sessions) = world(1);
        let now = sim.now();
        queue(store.as_ref(), &sessions, now).await;
        let (pass_worker, other) = (WorkerId::new("a"), WorkerId::new("b"));
        let lease = Duration::from_secs(600);
        let first = store
            .claim(&pass_worker, 10, now, lease, None)
            .await
            .unwrap();
        assert_eq!(first.len(), 1);
        let floor = first[0].lease().token();
        store.release(first[0].lease()).await.unwrap();
        let mut listed = sessions[0].clone();
        listed.next_revision();
        match store.acquire(&listed, &other, now, lease).await.unwrap() {
            Acquired::Claimed(claimed) => store.release(claimed.lease()).await.unwrap(),
            other => panic!("{other:?}"),
        }
        let again = store
            .claim(&pass_worker, 10, now, lease, Some(floor))
            .await
            .unwrap();
        assert!(
            again.is_empty(),
            "{store:?}: the pass claimed {} again",
            SessionKey::of(&sessions[0])
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------------------
// 6. What the contract's docs promise.

/// `SessionStore`'s docs (src/store/mod.rs:425), `DirectoryStore`'s
/// (src/store/directory.rs:35) and the README's "Which store" table send
/// users who run several processes to `SqliteStore` (feature `sqlite`),
/// which does not exist: no such feature, no such type.
#[test]
fn every_store_the_docs_name_is_shipped() {
    let manifest = include_str!("../../Cargo.toml");
    let readme = include_str!("../../README.md");
    assert!(readme.contains("SqliteStore"));
    assert!(
        manifest.lines().any(|line| line.starts_with("sqlite =")),
        "the README and the SessionStore docs name SqliteStore (feature `sqlite`); \
         Cargo.toml has no such feature"
    );
}
