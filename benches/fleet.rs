//! Throughput and footprint of whole ports through the simulator, printed
//! as `name: value` lines:
//!
//! - `sim_ports_per_sec`: complete ports (start, request code, read the
//!   code, verify, register) through one multi-number simulator and one
//!   client on one thread; median of 5 rounds of 50,000 ports.
//! - `fleet_100k_*`: 100,000 sessions to `Registered` through a [`Fleet`]
//!   (concurrency 256, in-memory store) on the simulator: wall time, ports
//!   per second, peak RSS of the process (`VmHWM`).
//! - `session_bytes_*`: a finished session's inline + heap size (counted by
//!   a counting allocator while it is built from its JSON) and JSON size.
//!
//! ```sh
//! cargo bench --bench fleet
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use waba_porting::simulator::{Scenario, Simulator};
use waba_porting::{
    CodeMethod, Fleet, InMemoryStore, Language, Pin, PortingClient, PortingSession,
};

/// Counts live heap bytes (for `session_bytes_heap`).
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

/// A world of `numbers` happy numbers, all ported into the world's one
/// destination WABA (a BSP moving a customer's numbers).
fn world(numbers: u32, offset: u32) -> (Simulator, Vec<PortingSession>) {
    let sim = Scenario::happy_path().build();
    sim.log_requests(false);
    let waba = sim.scenario().waba_id().clone();
    let sessions = (offset..offset + numbers)
        .map(|i| sim.add_number(&Scenario::happy_path().numbered(i).with_waba(waba.clone())))
        .collect();
    (sim, sessions)
}

/// One complete port: start, request the code, read it from the inbox,
/// verify, register.
async fn port(
    sim: &Simulator,
    client: &PortingClient,
    session: &mut PortingSession,
    pin: &Pin,
    language: &Language,
) {
    client.start_migration(session).await.expect("start");
    client
        .request_code(session, CodeMethod::Sms, language)
        .await
        .expect("code");
    let code = sim.latest_code(session.phone_number()).expect("delivered");
    client.verify_code(session, &code).await.expect("verify");
    client.register(session, pin, None).await.expect("register");
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn sim_ports_per_sec() -> f64 {
    const PORTS: u32 = 50_000;
    let rt = runtime();
    let pin = Pin::new("482913").expect("pin");
    let language = Language::default();
    let mut rates = Vec::new();
    for round in 0..5 {
        let (sim, sessions) = world(PORTS, round * PORTS);
        let client = sim.client().expect("client");
        let started = Instant::now();
        rt.block_on(async {
            for mut session in sessions {
                port(&sim, &client, &mut session, &pin, &language).await;
            }
        });
        rates.push(f64::from(PORTS) / started.elapsed().as_secs_f64());
    }
    median(rates)
}

/// Peak resident set size of this process, in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn fleet_100k() -> (f64, f64) {
    const SESSIONS: u32 = 100_000;
    let rt = runtime();
    let (sim, sessions) = world(SESSIONS, 0);
    // The sessions come from an iterator, as from a database cursor: only
    // those in flight are in memory, not 100,000 at once.
    drop(sessions);
    let waba = sim.scenario().waba_id().clone();
    let sessions = (0..SESSIONS).map(|i| {
        let scenario = Scenario::happy_path().numbered(i);
        PortingSession::new(
            scenario.phone_number().clone(),
            waba.clone(),
            scenario.business_id().clone(),
        )
    });
    let store = Arc::new(InMemoryStore::new());
    let fleet = Fleet::builder(sim.client_builder(), Arc::clone(&store))
        .inputs(sim.customers(Pin::new("482913").expect("pin")))
        .concurrency(256)
        .build()
        .expect("fleet");
    let started = Instant::now();
    let report = rt.block_on(fleet.run(sessions));
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(
        report.progress.registered, SESSIONS as usize,
        "{}",
        report.progress
    );
    (elapsed, f64::from(SESSIONS) / elapsed)
}

fn session_bytes() -> (usize, usize) {
    let rt = runtime();
    let (sim, mut sessions) = world(1, 7_000_000);
    let client = sim.client().expect("client");
    let mut session = sessions.pop().expect("one");
    let pin = Pin::new("482913").expect("pin");
    rt.block_on(port(
        &sim,
        &client,
        &mut session,
        &pin,
        &Language::default(),
    ));
    let json = serde_json::to_string(&session).expect("json");
    // Once first, so lazily built tables (none today) are not counted.
    drop(serde_json::from_str::<PortingSession>(&json).expect("load"));
    let before = LIVE.load(Ordering::SeqCst);
    let loaded: PortingSession = serde_json::from_str(&json).expect("load");
    let heap = LIVE.load(Ordering::SeqCst) - before;
    let inline = std::mem::size_of_val(&loaded);
    drop(loaded);
    (inline + heap.max(0) as usize, json.len())
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument selects lines.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));

    if wanted("session_bytes") {
        let (bytes, json) = session_bytes();
        println!("session_bytes: {bytes}");
        println!("session_json_bytes: {json}");
    }
    if wanted("sim_ports_per_sec") {
        println!("sim_ports_per_sec: {:.0}", sim_ports_per_sec());
    }
    if wanted("fleet_100k") {
        let (seconds, rate) = fleet_100k();
        println!("fleet_100k_seconds: {seconds:.3}");
        println!("fleet_100k_ports_per_sec: {rate:.0}");
        if let Some(kib) = peak_rss_kib() {
            println!("fleet_100k_peak_rss_mib: {:.1}", kib as f64 / 1024.0);
        }
    }
}
