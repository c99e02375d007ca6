//! Port a fleet: 1,000 numbers of mixed cases through one simulated Graph
//! API, 64 at a time, with a live progress line and a summary by state and
//! by outcome.
//!
//! ```sh
//! cargo run --release --example fleet                    # 1,000 numbers, in memory
//! cargo run --release --example fleet -- --numbers 100000
//! cargo run --release --example fleet -- --resume /tmp/fleet-store
//! ```
//!
//! With `--resume DIR` the sessions live in a directory store (one JSON file
//! each): the first process is killed when 40% of the sessions are done
//! (its run future is dropped mid-step), and a second one — a new fleet on
//! the same directory, facing the same (simulated) Meta — resumes every
//! unfinished session. The end shows that no number was registered twice
//! and no customer got a second code.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use waba_porting::simulator::{Fault, Scenario, Simulator};
use waba_porting::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use waba_porting::{
    DirectoryStore, Fleet, FleetEvent, FleetProgress, FleetReport, InMemoryStore, Operation, Pin,
    PortingSession, SessionStore, WabaId,
};

const CONCURRENCY: usize = 64;

/// The simulator answers at once, so a run would never pause; like a real
/// network, this transport lets the task switch after each answer, so
/// sessions interleave (and a kill lands mid-run, after Meta acted).
#[derive(Clone, Debug)]
struct Network(Simulator);

#[waba_porting::async_trait]
impl Transport for Network {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let answer = self.0.send(request).await;
        tokio::task::yield_now().await;
        answer
    }
}

/// The `i`-th number's case: mostly ports that go through, and every
/// troubleshooting case and network fault in the mix. Numbers share the
/// world's destination WABA, except those whose case is the WABA's own
/// (the customer's "message on behalf" approval, the business) and those
/// already listed in it (the client lists the WABA to find them): those get
/// a WABA each.
fn scenario(i: u32, shared: &WabaId) -> Scenario {
    let own_waba = matches!(i % 20, 0 | 3 | 4);
    let base = match i % 20 {
        0 => Scenario::on_behalf_not_accepted(),
        1 => Scenario::two_step_enabled(),
        2 => Scenario::eligible_for_direct_add(),
        3 => Scenario::business_mismatch(),
        4 => Scenario::already_in_destination(),
        5 => Scenario::transient_failure(),
        6 => Scenario::happy_path().fault_at(Operation::Register, Fault::AnswerLost, 1),
        7 => Scenario::happy_path().fault_at(Operation::RequestCode, Fault::AnswerLost, 1),
        8 => Scenario::happy_path().display_name_approved(false),
        _ => Scenario::happy_path(),
    };
    let numbered = base.numbered(i);
    if own_waba {
        numbered
    } else {
        numbered.with_waba(shared.clone())
    }
}

/// The sessions, made as they are taken (as from a database cursor).
fn sessions(n: u32, shared: &WabaId) -> impl ExactSizeIterator<Item = PortingSession> + '_ {
    (0..n).map(move |i| {
        let s = scenario(i, shared);
        PortingSession::new(
            s.phone_number().clone(),
            s.waba_id().clone(),
            s.business_id().clone(),
        )
    })
}

struct Args {
    numbers: u32,
    resume: Option<std::path::PathBuf>,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        numbers: 1000,
        resume: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--numbers" => {
                args.numbers = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0 && *n <= Scenario::NUMBERED_LIMIT)
                    .ok_or("--numbers takes a count from 1 to 7,990,000")?;
            }
            "--resume" => args.resume = Some(it.next().ok_or("--resume takes a directory")?.into()),
            other => {
                return Err(format!(
                    "unknown argument {other:?} (--numbers N, --resume DIR)"
                ))
            }
        }
    }
    Ok(args)
}

fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// Prints above the progress bar (also when output is not a terminal and
/// the bar is hidden).
fn say(bar: &ProgressBar, text: String) {
    bar.suspend(|| println!("{text}"));
}

fn line(p: &FleetProgress) -> String {
    format!(
        "registered {} | customer {} | previous BSP {} | us {} | rejected {} | failed {}",
        p.registered,
        p.waiting_on_customer,
        p.waiting_on_previous_provider,
        p.waiting_on_us,
        p.rejected,
        p.failed
    )
}

fn client_builder(sim: &Simulator) -> waba_porting::PortingClientBuilder {
    sim.client_builder().transport(Network(sim.clone()))
}

fn fleet(
    sim: &Simulator,
    store: impl SessionStore + 'static,
    bar: &ProgressBar,
) -> Result<Fleet, Box<dyn std::error::Error>> {
    let bar = bar.clone();
    let last_draw = std::sync::Mutex::new(Instant::now());
    Ok(Fleet::builder(client_builder(sim), store)
        .inputs(sim.customers(Pin::new("482913")?))
        .concurrency(CONCURRENCY)
        .on_event(move |event, progress| {
            if let FleetEvent::Finished { .. } = event {
                bar.set_position(progress.done() as u64);
                let mut last = last_draw.lock().unwrap_or_else(|e| e.into_inner());
                if last.elapsed() > Duration::from_millis(100) {
                    bar.set_message(line(progress));
                    *last = Instant::now();
                }
            }
        })
        .build()?)
}

fn print_summary(report: &FleetReport, numbers: u32, shared: &WabaId, sim: &Simulator) {
    let mut by_state: BTreeMap<&str, usize> = BTreeMap::new();
    for result in &report.sessions {
        *by_state.entry(result.state.as_str()).or_default() += 1;
    }
    println!("\nby state");
    for (state, count) in &by_state {
        println!("  {state:<32} {count:>8}");
    }
    println!("\nby outcome (and the answer's kind)");
    for (label, count) in report.summary() {
        println!("  {label:<64} {count:>8}");
    }
    let (mut registers, mut codes) = (0u32, 0u32);
    for session in sessions(numbers, shared) {
        if let Some(calls) = sim.calls(session.phone_number()) {
            registers = registers.max(calls.register);
            codes = codes.max(calls.request_code);
        }
    }
    println!("\nmost register calls for one number: {registers}; most code requests: {codes}");
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let sim = Scenario::happy_path().build();
    sim.log_requests(false);
    let shared = sim.scenario().waba_id().clone();
    for i in 0..args.numbers {
        sim.add_number(&scenario(i, &shared));
    }
    let total = args.numbers as usize;
    println!(
        "porting {total} numbers through the simulator, {CONCURRENCY} at a time{}",
        match &args.resume {
            Some(dir) => format!(", sessions in {}", dir.display()),
            None => String::new(),
        }
    );

    let started = Instant::now();
    let bar = progress_bar(total as u64);
    let report = match &args.resume {
        None => {
            let fleet = fleet(&sim, InMemoryStore::new(), &bar)?;
            fleet.run(sessions(args.numbers, &shared)).await
        }
        Some(dir) => {
            // First process: killed (its run dropped mid-step) at 40%.
            let (kill, killed) = tokio::sync::oneshot::channel::<()>();
            let kill = std::sync::Mutex::new(Some(kill));
            let threshold = total * 2 / 5;
            let first = Fleet::builder(client_builder(&sim), DirectoryStore::open(dir)?)
                .inputs(sim.customers(Pin::new("482913")?))
                .concurrency(CONCURRENCY)
                .on_event({
                    let bar = bar.clone();
                    move |event, progress| {
                        if let FleetEvent::Finished { .. } = event {
                            bar.set_position(progress.done() as u64);
                            if progress.done() >= threshold {
                                if let Some(kill) = kill.lock().ok().and_then(|mut k| k.take()) {
                                    let _ = kill.send(());
                                }
                            }
                        }
                    }
                })
                .build()?;
            tokio::select! {
                _ = first.run(sessions(args.numbers, &shared)) => say(&bar, "(the first run ended before the kill)".into()),
                _ = killed => say(&bar, format!(
                    "killed the first process with {threshold} of {total} sessions done; restarting from {}",
                    dir.display()
                )),
            }
            drop(first);
            // Second process: a new fleet on the same directory.
            let store = DirectoryStore::open(dir)?;
            let unfinished = store.list_unfinished().await?.len();
            say(
                &bar,
                format!("the store holds {unfinished} unfinished sessions"),
            );
            bar.set_position(0);
            let second = fleet(&sim, store, &bar)?;
            // Resume the unfinished ones, then run the full list: sessions
            // the store holds continue (finished ones send nothing), new
            // ones start.
            second.resume().await?;
            second.run(sessions(args.numbers, &shared)).await
        }
    };
    bar.set_message(line(&report.progress));
    bar.finish();
    let elapsed = started.elapsed();
    println!(
        "\n{} in {:.2?} ({:.0} sessions/s, {} requests served)",
        report.progress,
        elapsed,
        total as f64 / elapsed.as_secs_f64(),
        sim.served_count()
    );
    print_summary(&report, args.numbers, &shared, &sim);
    Ok(())
}
