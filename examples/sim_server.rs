//! Serve one simulated Graph API world over loopback HTTP, for worker
//! processes to port its numbers through: N numbers with the fleet
//! example's mix of cases (`examples/fleet.rs`), on a clock that follows
//! the system clock. Prints the base URL on the first line of stdout, then
//! runs until killed.
//!
//! ```sh
//! cargo run --release --example sim_server --features sim-server -- --numbers 10000 --latency-ms 50
//! # http://127.0.0.1:41235
//! ```
//!
//! A worker builds its client with `RemoteSimulator::connect(url)?.client_builder()`
//! (or `PortingClient::builder().base_url(url)` and the simulator's token),
//! takes its share of `RemoteSimulator::sessions()`, and gives its `Fleet`
//! `RemoteSimulator::customers(pin)` for the codes. `GET {url}/_sim/calls`
//! then tells how many requests each step received, in all and at most for
//! one number.

use std::io::Write;
use std::time::Duration;

use waba_porting::simulator::{Fault, Scenario, ServeOptions};
use waba_porting::{Operation, WabaId};

/// The `i`-th number's case, as in `examples/fleet.rs`: mostly ports that go
/// through, and every troubleshooting case and network fault in the mix.
/// Numbers share the world's destination WABA, except those whose case is
/// the WABA's own (the customer's "message on behalf" approval, the
/// business) and those already listed in it: those get a WABA each.
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

struct Args {
    numbers: u32,
    port: u16,
    latency: Duration,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        numbers: 1000,
        port: 0,
        latency: Duration::ZERO,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} takes a value"));
        match arg.as_str() {
            "--numbers" => {
                args.numbers = value()?
                    .parse()
                    .ok()
                    .filter(|n| *n > 0 && *n <= Scenario::NUMBERED_LIMIT)
                    .ok_or("--numbers takes a count from 1 to 7,990,000")?;
            }
            "--port" => {
                args.port = value()?
                    .parse()
                    .map_err(|_| "--port takes a port (0: any free one)")?;
            }
            "--latency-ms" => {
                args.latency = Duration::from_millis(
                    value()?
                        .parse()
                        .map_err(|_| "--latency-ms takes milliseconds")?,
                );
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?} (--numbers N, --port P, --latency-ms MS)"
                ))
            }
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    // The shared WABA is the presets' (every case that uses it leaves it
    // set up as the happy path has it). The world starts from number 0, so
    // it holds exactly the N numbers of the mix, in order.
    let shared = Scenario::happy_path().waba_id().clone();
    let sim = scenario(0, &shared).wall_clock().build();
    sim.log_requests(false);
    for i in 1..args.numbers {
        sim.add_number(&scenario(i, &shared));
    }
    let served = sim
        .serve_with(
            ([127, 0, 0, 1], args.port),
            ServeOptions::new().with_latency(args.latency),
        )
        .await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", served.base_url())?;
    out.flush()?;
    drop(out);
    eprintln!(
        "serving {} numbers (the fleet example's mix) at {}, {} ms per Graph request; \
         control API under {}/_sim/; runs until killed",
        sim.numbers(),
        served.base_url(),
        args.latency.as_millis(),
        served.base_url()
    );
    std::future::pending::<()>().await;
    Ok(())
}
