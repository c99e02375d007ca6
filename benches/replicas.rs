//! How ports per second scale with replicas on one Postgres table: 1, 2
//! and 4 fleets (each its own worker id and its own `PostgresStore`
//! handle, as separate processes would have), sharing one served simulator
//! (`Simulator::serve_with`, `ServeOptions::with_latency(50 ms)`: every
//! Graph request takes 50 ms on tokio's timer, over loopback HTTP through
//! each fleet's own `ReqwestTransport`). Each run ports the same number of
//! happy-path numbers, queued as drafts, by `resume()` on every fleet at
//! once; `CONCURRENCY` sessions per fleet; no throttle budget (the default
//! `Throttle`: unlimited), so the rate never binds.
//!
//! ```sh
//! DATABASE_URL=postgres://… cargo bench --bench replicas --features postgres,sim-server
//! ```
//!
//! Prints `replicas_ports_per_sec_{1,2,4} <ports/s>` and
//! `replica_scaling_4_over_1 <ratio>` (the target: at least 3.0); without
//! `DATABASE_URL`, `skipped`. `WABA_BENCH_NUMBERS` sets the numbers per
//! run (default 1,200).

use std::sync::Arc;
use std::time::{Duration, Instant};

use waba_porting::simulator::{AddNumbers, RemoteSimulator, Scenario, ServeOptions};
use waba_porting::{Fleet, Pin, PostgresStore, SessionStore, Timestamp, WorkerId};

const LATENCY: Duration = Duration::from_millis(50);
const CONCURRENCY: usize = 32;

fn main() {
    let Some(url) = std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()) else {
        println!("skipped: set DATABASE_URL to a database the bench may create tables in");
        return;
    };
    let numbers: u32 = std::env::var("WABA_BENCH_NUMBERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_200);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut rates = Vec::new();
    for replicas in [1usize, 2, 4] {
        let rate = runtime.block_on(run(&url, replicas, numbers));
        println!("replicas_ports_per_sec_{replicas} {rate:.1}");
        rates.push(rate);
    }
    println!("replica_scaling_4_over_1 {:.2}", rates[2] / rates[0]);
}

/// Ports `numbers` numbers with `replicas` fleets; ports per second.
async fn run(url: &str, replicas: usize, numbers: u32) -> f64 {
    let table = format!(
        "wp_bench_{}_{}_{replicas}",
        std::process::id(),
        Timestamp::now().as_unix_millis() % 1_000_000
    );
    let open = || async {
        PostgresStore::builder(url)
            .table(&table)
            .connect()
            .await
            .expect("the Postgres store opens")
    };
    let sim = Scenario::happy_path().wall_clock().build();
    sim.log_requests(false);
    let served = sim
        .serve_with(
            ([127, 0, 0, 1], 0),
            ServeOptions::new().with_latency(LATENCY),
        )
        .await
        .expect("the simulator is served");
    let shared = sim.scenario().waba_id().clone();
    let setup = RemoteSimulator::connect(served.base_url()).expect("a control client");
    let sessions = setup
        .add_numbers(
            &AddNumbers::new("happy_path", 0)
                .count(numbers)
                .waba(&shared),
        )
        .await
        .expect("numbers added");
    let intake = open().await;
    for mut session in sessions.clone() {
        session.next_revision();
        intake
            .save(&session, None, Timestamp::now())
            .await
            .expect("queued");
    }

    let mut fleets = Vec::new();
    for n in 0..replicas {
        let remote = RemoteSimulator::connect(served.base_url()).expect("a client");
        let fleet = Fleet::builder(remote.client_builder(), open().await)
            .inputs(remote.customers(Pin::new("482913").expect("a PIN")))
            .worker_id(WorkerId::new(format!("bench-{replicas}-{n}")))
            .concurrency(CONCURRENCY)
            .build()
            .expect("a fleet");
        fleets.push(Arc::new(fleet));
    }
    let started = Instant::now();
    loop {
        let passes: Vec<_> = fleets
            .iter()
            .map(|fleet| {
                let fleet = Arc::clone(fleet);
                tokio::spawn(async move { fleet.resume().await })
            })
            .collect();
        for pass in passes {
            pass.await.expect("a pass").expect("the store claims");
        }
        if intake.list_unfinished().await.expect("a list").is_empty() {
            break;
        }
    }
    let elapsed = started.elapsed();
    let summary = sim.call_summary();
    assert_eq!(
        summary.total.register, numbers,
        "every number registered once"
    );
    assert_eq!(summary.max.register, 1);
    eprintln!(
        "{replicas} replica(s): {numbers} ports in {elapsed:.2?}, {} requests",
        sim.served_count()
    );
    drop(fleets);
    served.shutdown().await;
    drop_table(url, &table).await;
    f64::from(numbers) / elapsed.as_secs_f64()
}

async fn drop_table(url: &str, table: &str) {
    if let Ok((client, connection)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await {
        tokio::spawn(connection);
        let _ = client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS \"{table}\"; DROP TABLE IF EXISTS \"{table}_workers\";"
            ))
            .await;
    }
}
