//! The acceptance test of replicas in separate processes: worker processes
//! on one store and one served simulator, 10,000 numbers of mixed cases,
//! every worker killed with SIGKILL at random points and restarted twice.
//! Every number must end in the state its case implies, and no number may
//! get more than one `register` Meta applied, more than one code delivered,
//! or a stored state behind Meta's.
//!
//! The test (`many_worker_processes_...`) is the parent: it serves a
//! wall-clock simulated world in process, queues every number in the store
//! as a draft, and runs the workers as children — this test binary again,
//! running only [`worker_process`] with `WABA_MP_ROLE=worker` and the
//! store, the simulator's URL and the worker's id in its environment.
//! Without that variable `worker_process` does nothing.
//!
//! Needs `DATABASE_URL` (see `tests/postgres_store.rs`): skipped with a note
//! without it, except under `CI=true`, where it fails. `WABA_MP_NUMBERS`
//! sets how many numbers (default 10,000 in a release build, 1,000 in a
//! debug one), `WABA_MP_SEED` the seed of the kill times,
//! `WABA_MP_TIMEOUT_SECS` how long the workers get to settle every session
//! (default 600).
//!
//! Another store is another [`StoreKind`]: its environment, how a worker
//! opens it, how the parent drops it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use waba_porting::simulator::{Fault, RemoteSimulator, Scenario};
use waba_porting::{
    Actor, ApiErrorKind, CodeVerificationStatus, Fleet, NextAction, Operation, Pin, PortingSession,
    PostgresStore, RetryPolicy, SessionKey, SessionOutcome, SessionStore, StateName, Timestamp,
    WabaId, WorkerId,
};

/// The child's role, in its environment.
const ROLE: &str = "WABA_MP_ROLE";
/// The rest of the child's environment.
const SIM_URL: &str = "WABA_MP_SIM_URL";
const WORKER: &str = "WABA_MP_WORKER";
const STOP_FILE: &str = "WABA_MP_STOP_FILE";
const STORE: &str = "WABA_MP_STORE";
const PG_TABLE: &str = "WABA_MP_PG_TABLE";
const SQLITE_PATH: &str = "WABA_MP_SQLITE_PATH";

/// The PIN every number registers with.
const PIN: &str = "482913";
/// Sessions a worker advances at once.
const CONCURRENCY: usize = 64;
/// A step's bound is the retry deadline plus two request timeouts (6 s):
/// the lease must exceed it.
const RETRY_DEADLINE: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
const LEASE: Duration = Duration::from_secs(10);
/// Kills per worker.
const KILLS: u32 = 2;

/// Where the sessions live, as both the parent and the workers open it.
#[derive(Clone, Debug)]
enum StoreKind {
    /// One table of a Postgres database.
    Postgres { url: String, table: String },
    /// One SQLite file.
    Sqlite { path: PathBuf },
}

impl StoreKind {
    /// A Postgres table of this run's own, or `None` when the test is
    /// skipped (no `DATABASE_URL` outside CI).
    fn postgres() -> Option<Self> {
        let url = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ if std::env::var("CI").as_deref() == Ok("true") => panic!(
                "DATABASE_URL is not set: CI must run the multi-process test (.ci/run starts a \
                 server)"
            ),
            _ => {
                println!("skipped: set DATABASE_URL (see README 'Running replicas')");
                return None;
            }
        };
        let table = format!(
            "wp_mp_{}_{}",
            std::process::id(),
            Timestamp::now().as_unix_millis() % 1_000_000
        );
        Some(Self::Postgres { url, table })
    }

    /// A SQLite file of this run's own.
    fn sqlite() -> Self {
        let path = std::env::temp_dir().join(format!(
            "waba-mp-{}-{}.sqlite",
            std::process::id(),
            Timestamp::now().as_unix_millis()
        ));
        Self::Sqlite { path }
    }

    /// The environment that tells a worker this store.
    fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Self::Sqlite { path } => vec![
                (STORE, "sqlite".into()),
                (SQLITE_PATH, path.display().to_string()),
            ],
            Self::Postgres { url, table } => vec![
                (STORE, "postgres".into()),
                ("DATABASE_URL", url.clone()),
                (PG_TABLE, table.clone()),
            ],
        }
    }

    /// The store named by a worker's environment.
    fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
        match var(STORE).as_str() {
            "postgres" => Self::Postgres {
                url: var("DATABASE_URL"),
                table: var(PG_TABLE),
            },
            "sqlite" => Self::Sqlite {
                path: PathBuf::from(var(SQLITE_PATH)),
            },
            other => panic!("unknown store kind {other:?}"),
        }
    }

    /// Opens the store (creating its tables when missing).
    async fn open(&self) -> Arc<dyn SessionStore> {
        match self {
            Self::Sqlite { path } => {
                Arc::new(waba_porting::SqliteStore::open(path).expect("the SQLite store opens"))
            }
            Self::Postgres { url, table } => Arc::new(
                PostgresStore::builder(url)
                    .table(table)
                    .connect()
                    .await
                    .expect("the Postgres store opens"),
            ),
        }
    }

    /// Drops what the run made (on a runtime of its own: called from Drop).
    fn remove(&self) {
        match self.clone() {
            Self::Sqlite { path } => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Self::Postgres { url, table } => {
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    runtime.block_on(async {
                        let tls = tokio_postgres::NoTls;
                        if let Ok((client, connection)) = tokio_postgres::connect(&url, tls).await {
                            tokio::spawn(connection);
                            let _ = client
                                .batch_execute(&format!(
                                    "DROP TABLE IF EXISTS \"{table}\"; \
                                     DROP TABLE IF EXISTS \"{table}_workers\"; \
                                     DROP SEQUENCE IF EXISTS \"{table}_tokens\";"
                                ))
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------

/// The `i`-th number's case: the fleet example's mix (every troubleshooting
/// case, lost answers on register and request_code, a display name not
/// approved) plus more faults (a lost start and verify, 503s, a proxy's
/// 502 on register), and happy paths for the rest (27 of 40).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Case {
    OnBehalfNotAccepted,
    TwoStepEnabled,
    EligibleForDirectAdd,
    BusinessMismatch,
    AlreadyInDestination,
    TransientFailure,
    RegisterAnswerLost,
    RequestCodeAnswerLost,
    DisplayNameNotApproved,
    VerifyAnswerLost,
    StartAnswerLost,
    ServiceUnavailableTwice,
    RegisterBadGateway,
    HappyPath,
}

impl Case {
    fn of(i: u32) -> Self {
        match i % 40 {
            0 => Self::OnBehalfNotAccepted,
            1 => Self::TwoStepEnabled,
            2 => Self::EligibleForDirectAdd,
            3 => Self::BusinessMismatch,
            4 => Self::AlreadyInDestination,
            5 => Self::TransientFailure,
            6 => Self::RegisterAnswerLost,
            7 => Self::RequestCodeAnswerLost,
            8 => Self::DisplayNameNotApproved,
            9 => Self::VerifyAnswerLost,
            10 => Self::StartAnswerLost,
            11 => Self::ServiceUnavailableTwice,
            12 => Self::RegisterBadGateway,
            _ => Self::HappyPath,
        }
    }

    fn scenario(self, i: u32, shared: &WabaId) -> Scenario {
        let happy = Scenario::happy_path;
        let base = match self {
            Self::OnBehalfNotAccepted => Scenario::on_behalf_not_accepted(),
            Self::TwoStepEnabled => Scenario::two_step_enabled(),
            Self::EligibleForDirectAdd => Scenario::eligible_for_direct_add(),
            Self::BusinessMismatch => Scenario::business_mismatch(),
            Self::AlreadyInDestination => Scenario::already_in_destination(),
            Self::TransientFailure => Scenario::transient_failure(),
            Self::RegisterAnswerLost => happy().fault_at(Operation::Register, Fault::AnswerLost, 1),
            Self::RequestCodeAnswerLost => {
                happy().fault_at(Operation::RequestCode, Fault::AnswerLost, 1)
            }
            Self::DisplayNameNotApproved => happy().display_name_approved(false),
            Self::VerifyAnswerLost => happy().fault_at(Operation::VerifyCode, Fault::AnswerLost, 1),
            Self::StartAnswerLost => {
                happy().fault_at(Operation::StartMigration, Fault::AnswerLost, 1)
            }
            Self::ServiceUnavailableTwice => happy().fault(Fault::ServiceUnavailable, 2),
            Self::RegisterBadGateway => happy().fault_at(Operation::Register, Fault::BadGateway, 1),
            Self::HappyPath => happy(),
        };
        let numbered = base.numbered(i);
        // The WABA's own cases (and a number already listed in it) get a
        // WABA each; the others share the world's.
        match self {
            Self::OnBehalfNotAccepted | Self::BusinessMismatch | Self::AlreadyInDestination => {
                numbered
            }
            _ => numbered.with_waba(shared.clone()),
        }
    }

    /// Where the session ends when nobody but the workers acts.
    fn expected(self) -> StateName {
        match self {
            Self::OnBehalfNotAccepted => StateName::AwaitingOnBehalfApproval,
            Self::TwoStepEnabled => StateName::AwaitingTwoStepDisable,
            Self::EligibleForDirectAdd | Self::BusinessMismatch => StateName::Rejected,
            // Meta refuses the start until the name is approved: the
            // session stays a draft, waiting on Meta's review.
            Self::DisplayNameNotApproved => StateName::Draft,
            _ => StateName::Registered,
        }
    }

    /// `register` requests the case's faults answer without Meta seeing
    /// them (a proxy's 502): the simulator counts them, Meta applied none.
    fn unapplied_registers(self) -> u32 {
        match self {
            Self::RegisterBadGateway => 1,
            _ => 0,
        }
    }
}

/// Whether no worker has anything to do for `session` (an unfinished one):
/// nothing in flight, and it waits for a person (not for the customer's
/// code, which the workers fetch), or for Meta to approve the display name.
fn settled(session: &PortingSession) -> bool {
    if session.in_flight().is_some() {
        return false;
    }
    let next = session.next_action();
    let person = matches!(next.actor, Actor::Customer | Actor::PreviousProvider)
        && !matches!(next.action, NextAction::VerifyCode);
    let name_review = session.state().name() == StateName::Draft
        && session
            .last_failure()
            .is_some_and(|f| f.kind == ApiErrorKind::DisplayNameNotApproved);
    person || name_review
}

/// How far along the port a state is (waiting states rank as the state
/// they resume from is unknown here: only the main line is compared).
fn rank(state: StateName) -> u8 {
    match state {
        StateName::Initiated => 1,
        StateName::CodeRequested => 2,
        StateName::CodeVerified => 3,
        StateName::Registered => 4,
        // Draft, the waiting states, rejected.
        _ => 0,
    }
}

// ---------------------------------------------------------------------------
// The worker (a child process)
// ---------------------------------------------------------------------------

/// A worker process: does nothing unless the parent started it.
#[test]
fn worker_process() {
    if std::env::var(ROLE).as_deref() != Ok("worker") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(work());
}

async fn work() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let worker = WorkerId::new(var(WORKER));
    let stop = PathBuf::from(var(STOP_FILE));
    let remote = RemoteSimulator::connect(&var(SIM_URL)).unwrap();
    let store = StoreKind::from_env().open().await;
    let client = remote
        .client_builder()
        .retry_policy(RetryPolicy::default().with_deadline(RETRY_DEADLINE))
        .timeout(REQUEST_TIMEOUT);
    let fleet = Fleet::builder(client, store)
        .inputs(remote.customers(Pin::new(PIN).unwrap()))
        .worker_id(worker.clone())
        .lease(LEASE)
        .concurrency(CONCURRENCY)
        // A code request whose answer was lost before it left (a kill
        // between the save and the send) is asked again after this.
        .code_wait(Duration::from_secs(5))
        .build()
        .unwrap();
    println!("{worker} started (pid {})", std::process::id());
    // The stop file ends a pass too (its sessions saved and released).
    let cancel = fleet.cancel_token();
    let watched = stop.clone();
    tokio::spawn(async move {
        while !watched.exists() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        cancel.cancel();
    });
    let mut pass = 0u64;
    while !stop.exists() {
        pass += 1;
        let began = Instant::now();
        match fleet.resume().await {
            Ok(report) => {
                if report.progress.steps > 0 {
                    println!(
                        "{worker} pass {pass} in {:.1?}: {} ({} steps)",
                        began.elapsed(),
                        report.progress,
                        report.progress.steps
                    );
                }
                // What failed, for the log (a few a pass).
                let failed = report.sessions.iter().filter_map(|r| match &r.outcome {
                    SessionOutcome::Failed { error } => Some((r, error.to_string())),
                    SessionOutcome::StoreFailed { error } => Some((r, error.to_string())),
                    _ => None,
                });
                for (result, error) in failed.take(3) {
                    println!("{worker}   {} ({:?}): {error}", result.key, result.state);
                }
            }
            Err(error) => eprintln!("{worker} pass {pass}: the store failed: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("{worker} stopped after {pass} passes");
}

// ---------------------------------------------------------------------------
// The parent
// ---------------------------------------------------------------------------

/// A small seeded generator (xorshift64*) for the kill times.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A time between `low` and `high`.
    fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let span = (high - low).as_millis() as u64;
        low + Duration::from_millis(self.next() % span.max(1))
    }
}

/// One worker slot: its process, and the kills it has left.
struct Slot {
    id: String,
    child: Child,
    generation: u32,
    kills_left: u32,
    kill_at: Instant,
    log: PathBuf,
}

/// The worker processes, killed when the test ends (a failing one too).
struct Workers {
    slots: Vec<Slot>,
    dir: PathBuf,
    env: Vec<(&'static str, String)>,
}

impl Workers {
    fn spawn(&self, id: &str, generation: u32) -> (Child, PathBuf) {
        let log = self.dir.join(format!("{id}.{generation}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "worker_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ROLE, "worker")
            .env(WORKER, id)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("the test binary runs again as a worker");
        (child, log)
    }

    /// The tail of every worker log, for a failure's message.
    fn logs(&self) -> String {
        let mut text = String::new();
        let mut entries: Vec<_> = std::fs::read_dir(&self.dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        entries.sort();
        for path in entries
            .iter()
            .filter(|p| p.extension() == Some("log".as_ref()))
        {
            let body = std::fs::read_to_string(path).unwrap_or_default();
            let lines: Vec<&str> = body.lines().collect();
            let tail = lines[lines.len().saturating_sub(8)..].join("\n");
            text.push_str(&format!("--- {}\n{tail}\n", path.display()));
        }
        text
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for slot in &mut self.slots {
            let _ = slot.child.kill();
            let _ = slot.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Drops the store's tables when the test ends.
struct Cleanup(StoreKind);

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.0.remove();
    }
}

fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
        Err(_) => default,
    }
}

#[test]
fn many_worker_processes_killed_and_restarted_port_every_number_once() {
    if std::env::var(ROLE).is_ok() {
        return;
    }
    let Some(store) = StoreKind::postgres() else {
        return;
    };
    // The 10,000 in an optimized build (CI's Postgres step runs
    // this test with --release); 1,000 in a debug build, which the plain
    // `cargo test --all-features` makes, unless WABA_MP_NUMBERS says.
    let default = if cfg!(debug_assertions) {
        1_000
    } else {
        10_000
    };
    let numbers: u32 = env_number("WABA_MP_NUMBERS", default);
    run_multi_process(store, 4, numbers);
}

/// The same with 2 worker processes on one SQLite file (no server needed).
#[test]
fn two_worker_processes_on_one_sqlite_file_killed_and_restarted_port_every_number_once() {
    if std::env::var(ROLE).is_ok() {
        return;
    }
    let default = if cfg!(debug_assertions) {
        1_000
    } else {
        10_000
    };
    let numbers: u32 = env_number("WABA_MP_NUMBERS", default);
    run_multi_process(StoreKind::sqlite(), 2, numbers);
}

/// The scenario: `workers` worker processes on `store`, `numbers` numbers.
fn run_multi_process(kind: StoreKind, workers: usize, numbers: u32) {
    let seed: u64 = env_number("WABA_MP_SEED", 0x5EED_u64 ^ u64::from(numbers)).max(1);
    let timeout = Duration::from_secs(env_number("WABA_MP_TIMEOUT_SECS", 600));
    let _cleanup = Cleanup(kind.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // The world, served; every number in it and queued in the store.
    let sim = Scenario::happy_path().wall_clock().build();
    sim.log_requests(false);
    // One destination WABA per block of 40 numbers (a real WABA holds tens
    // of numbers, not thousands: the client reads at most 5,000 of a
    // WABA's list when it looks a number up).
    let cases: Vec<(Case, PortingSession)> = (0..numbers)
        .map(|i| {
            let case = Case::of(i);
            let shared = WabaId::new(format!("3{:014}", i / 40)).unwrap();
            (case, sim.add_number(&case.scenario(i, &shared)))
        })
        .collect();
    let served = runtime.block_on(sim.serve(([127, 0, 0, 1], 0))).unwrap();
    let store = runtime.block_on(kind.open());
    let queued = Instant::now();
    runtime.block_on(queue(&store, &cases));
    println!(
        "{numbers} numbers queued in {:.1?}; {workers} workers on {kind:?}, seed {seed}",
        queued.elapsed()
    );

    let dir = std::env::temp_dir().join(format!(
        "waba-mp-{}-{}",
        std::process::id(),
        Timestamp::now().as_unix_millis()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let stop = dir.join("stop");
    let mut env = kind.env();
    env.push((SIM_URL, served.base_url().to_owned()));
    env.push((STOP_FILE, stop.display().to_string()));
    let mut rng = Rng(seed);
    let mut pool = Workers {
        slots: Vec::new(),
        dir: dir.clone(),
        env,
    };
    let started = Instant::now();
    let kill_window = (Duration::from_millis(500), Duration::from_secs(5));
    for n in 0..workers {
        let id = format!("mp-worker-{n}");
        let (child, log) = pool.spawn(&id, 0);
        pool.slots.push(Slot {
            id,
            child,
            generation: 0,
            kills_left: KILLS,
            kill_at: Instant::now() + rng.between(kill_window.0, kill_window.1),
            log,
        });
    }

    // Kill and restart; wait for every session to settle.
    let mut kills = Vec::new();
    let mut last_poll = Instant::now() - Duration::from_secs(10);
    let mut unsettled = usize::MAX;
    let mut last_report = Instant::now();
    loop {
        for n in 0..pool.slots.len() {
            if let Some(status) = pool.slots[n].child.try_wait().unwrap() {
                let slot = &pool.slots[n];
                panic!(
                    "worker {} (generation {}) exited by itself ({status}); its log {}:\n{}",
                    slot.id,
                    slot.generation,
                    slot.log.display(),
                    pool.logs()
                );
            }
            let due = {
                let slot = &pool.slots[n];
                slot.kills_left > 0 && Instant::now() >= slot.kill_at
            };
            if due {
                let next_kill = Instant::now() + rng.between(kill_window.0, kill_window.1);
                let (id, generation) = {
                    let slot = &mut pool.slots[n];
                    // SIGKILL: no destructor, no release, mid-step.
                    slot.child.kill().unwrap();
                    slot.child.wait().unwrap();
                    slot.kills_left -= 1;
                    slot.generation += 1;
                    kills.push((slot.id.clone(), started.elapsed()));
                    (slot.id.clone(), slot.generation)
                };
                let (child, log) = pool.spawn(&id, generation);
                let slot = &mut pool.slots[n];
                slot.child = child;
                slot.log = log;
                slot.kill_at = next_kill;
            }
        }
        let kills_done = pool.slots.iter().all(|s| s.kills_left == 0);
        if last_poll.elapsed() >= Duration::from_secs(2) {
            last_poll = Instant::now();
            let open = runtime.block_on(store.list_unfinished()).unwrap();
            unsettled = open.iter().filter(|s| !settled(s)).count();
            if last_report.elapsed() >= Duration::from_secs(10) {
                last_report = Instant::now();
                println!(
                    "{:>6.1?}: {} unfinished, {unsettled} not settled",
                    started.elapsed(),
                    open.len()
                );
            }
            if kills_done && unsettled == 0 {
                break;
            }
        }
        if started.elapsed() > timeout {
            let open = runtime.block_on(store.list_unfinished()).unwrap();
            let mut stuck: BTreeMap<String, usize> = BTreeMap::new();
            for s in open.iter().filter(|s| !settled(s)) {
                let label = format!("{} / {:?}", s.state().name(), s.next_action().action);
                *stuck.entry(label).or_default() += 1;
            }
            panic!(
                "{unsettled} sessions not settled after {timeout:?} (by state / next \
                 action: {stuck:?}); worker logs:\n{}",
                pool.logs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let elapsed = started.elapsed();

    // Stop the workers: the stop file, then a kill for any still running.
    std::fs::write(&stop, b"stop").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    for slot in &mut pool.slots {
        while slot.child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    // Every number against Meta (the world) and the store.
    let client = sim.client().unwrap();
    let pin = Pin::new(PIN).unwrap();
    let mut by_state: BTreeMap<&str, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for (case, session) in &cases {
        let phone = session.phone_number();
        let stored = runtime
            .block_on(store.load(&SessionKey::of(session)))
            .unwrap()
            .expect("every queued session is stored");
        let state = stored.state().name();
        *by_state.entry(state.as_str()).or_default() += 1;
        let calls = sim.calls(phone).unwrap();
        let delivered = sim.inbox(phone).len();
        let registers = calls.register - case.unapplied_registers().min(calls.register);
        if registers > 1 {
            problems.push(format!(
                "{phone} ({case:?}): {registers} registers applied ({calls:?})"
            ));
        }
        if delivered > 1 {
            problems.push(format!(
                "{phone} ({case:?}): {delivered} codes delivered ({calls:?})"
            ));
        }
        if state != case.expected() {
            problems.push(format!(
                "{phone} ({case:?}): stored {state}, expected {} (next {:?}, last failure {:?})",
                case.expected(),
                stored.next_action(),
                stored.last_failure().map(|f| f.kind)
            ));
        }
        if stored.in_flight().is_some() {
            problems.push(format!("{phone} ({case:?}): a step still in flight"));
        }
        // Not behind Meta: a register that went through (the PIN is ours),
        // a verified code, a delivered code must all show in the store.
        let meta_registered = sim.two_step_pin_is(phone, &pin);
        if meta_registered && state != StateName::Registered {
            problems.push(format!(
                "{phone} ({case:?}): Meta has it registered, the store says {state}"
            ));
        }
        if delivered > 0 && rank(state) < rank(StateName::CodeRequested) {
            problems.push(format!(
                "{phone} ({case:?}): a code was delivered, the store says {state}"
            ));
        }
        if let Some(id) = stored.state().phone_number_id() {
            let record = runtime.block_on(client.read_phone_number(id)).unwrap();
            let verified =
                record.code_verification_status == Some(CodeVerificationStatus::Verified);
            if record.is_connected() && state != StateName::Registered {
                problems.push(format!(
                    "{phone} ({case:?}): Meta reads CONNECTED, the store says {state}"
                ));
            }
            if verified && rank(state) < rank(StateName::CodeVerified) {
                problems.push(format!(
                    "{phone} ({case:?}): Meta reads VERIFIED, the store says {state}"
                ));
            }
        }
    }
    let summary = sim.call_summary();
    println!(
        "{numbers} numbers, {workers} workers, {} kills, settled in {elapsed:.1?}",
        kills.len()
    );
    println!("kills (worker, at): {kills:?}");
    println!("by state: {by_state:?}");
    println!(
        "requests: {} served; totals {:?}; most for one number {:?}",
        sim.served_count(),
        summary.total,
        summary.max
    );
    drop(served);
    assert!(
        problems.is_empty(),
        "{} problems (first 50):\n{}\nworker logs:\n{}",
        problems.len(),
        problems
            .iter()
            .take(50)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        pool.logs()
    );
    assert_eq!(kills.len(), workers * KILLS as usize);
}

/// Saves every session as a queued draft (revision 1), 64 at a time.
async fn queue(store: &Arc<dyn SessionStore>, cases: &[(Case, PortingSession)]) {
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in cases.chunks(cases.len().div_ceil(64).max(1)) {
        let store = Arc::clone(store);
        let sessions: Vec<PortingSession> = chunk.iter().map(|(_, s)| s.clone()).collect();
        tasks.spawn(async move {
            for mut session in sessions {
                session.next_revision();
                store.save(&session, None, Timestamp::now()).await.unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}
