//! A full port, printing each state transition, who acts next and what was
//! sent.
//!
//! ```sh
//! cargo run --example port_number                          # simulator, happy path
//! cargo run --example port_number -- --scenario two_step_enabled
//! cargo run --example port_number -- --route embedded-signup
//! cargo run --example port_number -- --route solution-migration
//! cargo run --features rustls --example port_number -- --live  # the real Graph API
//! ```
//!
//! Against the simulator, the example also plays the people in the loop (the
//! customer, the previous BSP) and says so. `--live` reads
//! `WABA_ACCESS_TOKEN`, `WABA_ID`, `BUSINESS_ID` and `PHONE_NUMBER` from the
//! environment and asks for the code (and the new PIN) on stdin.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use waba_porting::simulator::{Scenario, Simulator, SCENARIO_NAMES};
use waba_porting::transport::{HttpRequest, HttpResponse, Transport, TransportError};
use waba_porting::{
    BusinessId, CodeMethod, Error, InMemoryTokens, Language, NextAction, Operation, PhoneNumber,
    Pin, PortingClient, PortingSession, PortingState, SolutionId, VerificationCode, WabaId,
};

const USAGE: &str = "usage: port_number [--scenario NAME | --route ROUTE | --live]";
const ROUTES: [&str; 3] = ["programmatic", "embedded-signup", "solution-migration"];
/// The destination Multi-Partner Solution of `--route solution-migration`.
const DESTINATION_SOLUTION: &str = "1987654321098";

#[tokio::main]
async fn main() -> ExitCode {
    let mut scenario = "happy_path".to_owned();
    let mut route = "programmatic".to_owned();
    let mut live = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--live" => live = true,
            "--scenario" => match args.next() {
                Some(name) => scenario = name,
                None => return usage("--scenario needs a NAME"),
            },
            "--route" => match args.next() {
                Some(name) => route = name,
                None => return usage("--route needs a ROUTE"),
            },
            "-h" | "--help" => {
                println!(
                    "{USAGE}\nscenarios: {}\nroutes: {}",
                    SCENARIO_NAMES.join(", "),
                    ROUTES.join(", ")
                );
                return ExitCode::SUCCESS;
            }
            other => {
                if let Some(name) = other.strip_prefix("--scenario=") {
                    scenario = name.to_owned();
                } else if let Some(name) = other.strip_prefix("--route=") {
                    route = name.to_owned();
                } else {
                    return usage(&format!("unknown argument {other}"));
                }
            }
        }
    }
    let result = if live {
        run_live().await
    } else if route == "embedded-signup" {
        run_embedded_signup().await
    } else if route == "solution-migration" {
        run_solution_migration().await
    } else if route != "programmatic" {
        return usage(&format!(
            "unknown route {route:?}; one of: {}",
            ROUTES.join(", ")
        ));
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

/// The Embedded Signup route on the simulator: the customer finishes the
/// popup (leaving the number unverified, so the code step shows), the
/// backend exchanges the code at once for the customer's business token
/// (kept by a token provider, never in the session), checks what was
/// shared, subscribes, verifies and registers.
async fn run_embedded_signup() -> Result<(), String> {
    println!("Porting through Embedded Signup against the embedded simulator\n");
    let sim = Scenario::embedded_signup()
        .signup_verifies_number(false)
        .build();
    let tokens = Arc::new(InMemoryTokens::new());
    let client = sim
        .client_builder()
        .token_provider(Arc::clone(&tokens))
        .transport(Printing(sim.clone()))
        .build()
        .map_err(|e| e.to_string())?;
    let mut session = sim.signup_session();
    show(&session);
    drive(&client, &sim, &mut session).await;
    connected(&client, &mut session).await;
    finish(&session)
}

/// The Multi-Partner Solution migration route on the simulator: the intent
/// is set on the customer's WABA, the customer accepts it, Meta creates a
/// new WABA, the app is subscribed to it, the number moves in (a new id,
/// no code) and is registered.
async fn run_solution_migration() -> Result<(), String> {
    println!("Porting through a Multi-Partner Solution migration against the embedded simulator\n");
    let sim = Scenario::solution_migration().build();
    let client = sim
        .client_builder()
        .transport(Printing(sim.clone()))
        .build()
        .map_err(|e| e.to_string())?;
    let solution = SolutionId::new(DESTINATION_SOLUTION).map_err(|e| e.to_string())?;
    let mut session = sim.solution_session(solution);
    show(&session);
    drive(&client, &sim, &mut session).await;
    connected(&client, &mut session).await;
    finish(&session)?;
    if let Some(waba) = session.destination_waba_id() {
        println!("It now lives in WABA {waba}, which Meta created on acceptance");
    }
    Ok(())
}

/// Steps a route session to its end, playing the customer.
async fn drive(client: &PortingClient, sim: &Simulator, session: &mut PortingSession) {
    for _ in 0..20 {
        let action = session.next_action().action;
        let result = match action {
            NextAction::FinishSignup => {
                human(
                    "customer",
                    "finishes the Embedded Signup popup, sharing the WABA and the number",
                );
                let Some(signup) = sim.finish_signup(session.phone_number()) else {
                    println!("  the simulator has no such number");
                    return;
                };
                client
                    .exchange_signup_code(session, &signup)
                    .await
                    .map(drop)
            }
            NextAction::AcceptMigrationIntent => {
                if let Some(intent) = session.state().migration_intent_id() {
                    human(
                        "customer",
                        "accepts the migration request in Business settings, Requests, Received",
                    );
                    sim.accept_migration_intent(intent);
                }
                client.refresh_migration_intent(session).await.map(drop)
            }
            NextAction::Done | NextAction::AwaitConnected | NextAction::StartOver => return,
            _ => match action.step() {
                Some(operation) => step(client, sim, session, operation).await,
                None => return,
            },
        };
        show(session);
        if let Err(err) = result {
            explain(&err);
            if !err.is_retryable() {
                return;
            }
            sim.advance(err.retry_after().unwrap_or(Duration::from_secs(60)));
        }
    }
}

async fn step(
    client: &PortingClient,
    sim: &Simulator,
    session: &mut PortingSession,
    operation: Operation,
) -> Result<(), Error> {
    match operation {
        Operation::StartMigration => client.start_migration(session).await.map(drop),
        Operation::SubscribeApp => client.subscribe_app_for(session).await.map(drop),
        Operation::SetMigrationIntent => client.set_migration_intent(session).await.map(drop),
        Operation::ReadMigrationIntent => client.refresh_migration_intent(session).await.map(drop),
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
        // The code exchange's secret and code, and the token debug_token
        // inspects, travel in the query.
        let pairs: Vec<String> = request
            .url
            .query_pairs()
            .map(|(key, value)| match key.as_ref() {
                "client_secret" | "code" | "input_token" => format!("{key}=[redacted]"),
                _ => format!("{key}={value}"),
            })
            .collect();
        let query = if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        };
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
