//! A full port, printing each state transition, who acts next and what was
//! sent.
//!
//! ```sh
//! cargo run --example port_number                          # simulator, happy path
//! cargo run --example port_number -- --scenario two_step_enabled
//! cargo run --example port_number -- --live                # the real Graph API
//! ```
//!
//! Against the simulator, the example also plays the people in the loop (the
//! customer, the previous BSP) and says so. `--live` reads
//! `WABA_ACCESS_TOKEN`, `WABA_ID`, `BUSINESS_ID` and `PHONE_NUMBER` from the
//! environment and asks for the code (and the new PIN) on stdin.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use waba_porting::simulator::{Scenario, Simulator, SCENARIO_NAMES};
use waba_porting::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use waba_porting::{
    BusinessId, CodeMethod, Error, Language, NextAction, Operation, PhoneNumber, Pin,
    PortingClient, PortingSession, PortingState, VerificationCode, WabaId,
};

const USAGE: &str = "usage: port_number [--scenario NAME | --live]";

#[tokio::main]
async fn main() -> ExitCode {
    let mut scenario = "happy_path".to_owned();
    let mut live = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--live" => live = true,
            "--scenario" => match args.next() {
                Some(name) => scenario = name,
                None => return usage("--scenario needs a NAME"),
            },
            "-h" | "--help" => {
                println!("{USAGE}\nscenarios: {}", SCENARIO_NAMES.join(", "));
                return ExitCode::SUCCESS;
            }
            other => match other.strip_prefix("--scenario=") {
                Some(name) => scenario = name.to_owned(),
                None => return usage(&format!("unknown argument {other}")),
            },
        }
    }
    let result = if live {
        run_live().await
    } else {
        match Scenario::by_name(&scenario) {
            Some(scenario) => run_simulated(scenario).await,
            None => {
                return usage(&format!(
                    "unknown scenario {scenario:?}; one of: {}",
                    SCENARIO_NAMES.join(", ")
                ))
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("error: {problem}\n{USAGE}");
    ExitCode::from(2)
}

/// Checks what the port needs before anybody is asked to act, and prints
/// the report. The port goes on either way (the steps show what happens),
/// also when the token may not read the WABA.
async fn readiness(client: &PortingClient, session: &PortingSession) {
    match client.check_readiness(session).await {
        Ok(report) => println!("Readiness: {report}"),
        Err(err) => println!("Readiness: not checked ({err})"),
    }
}

/// Plays a scenario on the simulator, the humans included.
async fn run_simulated(scenario: Scenario) -> Result<(), String> {
    println!(
        "Porting against the embedded simulator, scenario `{}` (no credentials needed)\n",
        scenario.name()
    );
    let sim = scenario.build();
    let client = sim
        .client_builder()
        .transport(Printing(sim.clone()))
        .build()
        .map_err(|e| e.to_string())?;
    let mut session = sim.session();
    show(&session);
    readiness(&client, &session).await;

    for _ in 0..20 {
        let action = session.next_action().action;
        match action {
            NextAction::ApproveOnBehalfRequest { .. } => {
                human(
                    "customer",
                    "approves the message-on-behalf request in Business Manager",
                );
                sim.approve_on_behalf(session.waba_id());
            }
            NextAction::DisableTwoStepVerification { .. } => {
                human(
                    "previous BSP",
                    "disables two-step verification on the number",
                );
                sim.disable_two_step(session.phone_number());
            }
            NextAction::ResubmitWithCorrectBusinessId => {
                human(
                    "customer",
                    "confirms the Business Manager id that owns the number; we resubmit",
                );
                sim.align_business(session.waba_id(), session.phone_number());
                session = sim.session();
                show(&session);
                continue;
            }
            NextAction::AddAsNewNumber => {
                println!("\nNot ported: this number must be added to the WABA as a new number, not ported.");
                return Ok(());
            }
            _ => {}
        }
        let Some(operation) = action.step() else {
            break;
        };
        let result = step(&client, &sim, &mut session, operation).await;
        show(&session);
        if let Err(err) = result {
            explain(&err);
            if err.is_retryable() {
                let wait = err.retry_after().unwrap_or(Duration::from_secs(60));
                println!(
                    "  (waiting {}s on the simulated clock, then retrying)",
                    wait.as_secs()
                );
                sim.advance(wait);
            }
        }
    }
    connected(&client, &mut session).await;
    finish(&session)
}

async fn step(
    client: &PortingClient,
    sim: &Simulator,
    session: &mut PortingSession,
    operation: Operation,
) -> Result<(), Error> {
    match operation {
        Operation::StartMigration => client.start_migration(session).await.map(drop),
        Operation::RequestCode => client
            .request_code(session, CodeMethod::Sms, &Language::default())
            .await
            .map(drop),
        Operation::VerifyCode => {
            human("customer", "reads the code from the SMS and passes it on");
            let code = sim.latest_code(session.phone_number()).ok_or_else(|| {
                Error::Validation(waba_porting::ValidationError::InvalidVerificationCode)
            })?;
            client.verify_code(session, &code).await.map(drop)
        }
        _ => {
            let pin = Pin::new("482913")?;
            client.register(session, &pin, None).await.map(drop)
        }
    }
}

/// Runs against the real Graph API.
async fn run_live() -> Result<(), String> {
    let var = |name: &str| {
        std::env::var(name).map_err(|_| format!("{name} is not set (--live needs WABA_ACCESS_TOKEN, WABA_ID, BUSINESS_ID and PHONE_NUMBER)"))
    };
    let token = var("WABA_ACCESS_TOKEN")?;
    let waba = WabaId::new(var("WABA_ID")?).map_err(|e| format!("WABA_ID: {e}"))?;
    let business = BusinessId::new(var("BUSINESS_ID")?).map_err(|e| format!("BUSINESS_ID: {e}"))?;
    let phone =
        PhoneNumber::parse(&var("PHONE_NUMBER")?).map_err(|e| format!("PHONE_NUMBER: {e}"))?;
    let client = PortingClient::builder()
        .access_token(token)
        .build()
        .map_err(|e| e.to_string())?;
    let mut session = PortingSession::new(phone, waba, business);
    println!(
        "Porting {} into WABA {} on the live Graph API\n",
        session.phone_number(),
        session.waba_id()
    );
    show(&session);
    readiness(&client, &session).await;

    let stop = |err: Error, session: &PortingSession| {
        explain(&err);
        let saved = serde_json::to_string(session).unwrap_or_default();
        format!(
            "stopped at {}; session (no secrets): {saved}",
            session.state().name()
        )
    };
    client
        .start_migration(&mut session)
        .await
        .map_err(|e| stop(e, &session))?;
    show(&session);
    client
        .request_code(&mut session, CodeMethod::Sms, &Language::default())
        .await
        .map_err(|e| stop(e, &session))?;
    show(&session);
    let code = VerificationCode::new(prompt("Code received by SMS (e.g. 123-830): ")?)
        .map_err(|e| e.to_string())?;
    client
        .verify_code(&mut session, &code)
        .await
        .map_err(|e| stop(e, &session))?;
    show(&session);
    let pin = Pin::new(prompt("New 6-digit two-step PIN: ")?).map_err(|e| e.to_string())?;
    client
        .register(&mut session, &pin, None)
        .await
        .map_err(|e| stop(e, &session))?;
    show(&session);
    connected(&client, &mut session).await;
    finish(&session)
}

/// After register: the number can send only once it reads `CONNECTED`.
async fn connected(client: &PortingClient, session: &mut PortingSession) {
    if session.state().name() != waba_porting::StateName::Registered {
        return;
    }
    match client.refresh(session).await {
        Ok(Some(record)) => {
            let status = record.status.as_ref().map_or("unknown", |s| s.as_str());
            match session.next_action().action {
                NextAction::AwaitConnected => println!(
                    "Status: {status}: registered, not CONNECTED yet; it cannot send until it is (read again later)"
                ),
                _ => println!("Status: {status}: messaging works"),
            }
        }
        Ok(None) => {}
        Err(err) => println!("Status: not read ({err})"),
    }
}

fn prompt(question: &str) -> Result<String, String> {
    print!("{question}");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    Ok(line.trim().to_owned())
}

fn finish(session: &PortingSession) -> Result<(), String> {
    match session.state() {
        PortingState::Registered { phone_number_id } => {
            println!(
                "\nRegistered {} with phone number id {phone_number_id}",
                session.phone_number()
            );
            Ok(())
        }
        other => Err(format!("the port did not finish: {}", other.name())),
    }
}

fn show(session: &PortingSession) {
    let next = session.next_action();
    println!(
        "  state: {:<28} next: {:?}, by {:?}",
        session.state().name().as_str(),
        next.action,
        next.actor
    );
}

fn human(who: &str, what: &str) {
    println!("[{who}] {what} (played by this example)");
}

fn explain(err: &Error) {
    println!("  ✗ {err}");
    println!(
        "    retry helps: {}, who must act: {:?}",
        err.is_retryable(),
        err.who_must_act()
    );
    println!("    what to do: {}", err.remediation());
}

/// Prints each request as it is sent, with the PIN and the code redacted.
#[derive(Debug)]
struct Printing<T>(T);

#[async_trait]
impl<T: Transport> Transport for Printing<T> {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if let Some(map) = body.as_object_mut() {
            for secret in ["pin", "code"] {
                if let Some(value) = map.get_mut(secret) {
                    *value = Value::from("[redacted]");
                }
            }
        }
        let query = request
            .url
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        let shown = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        println!(
            "→ {} {}{} {}",
            request.method,
            request.url.path(),
            query,
            shown
        );
        let response = self.0.send(request).await?;
        println!("← {}", response.status);
        Ok(response)
    }
}
