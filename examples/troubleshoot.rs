//! Plays each of the six troubleshooting cases on the simulator and prints,
//! for each, the error, whether a retry helps, who must act and what to do.
//!
//! ```sh
//! cargo run --example troubleshoot
//! ```

use waba_porting::simulator::Scenario;
use waba_porting::{
    ApiErrorKind, CodeMethod, Error, Language, PortingClient, PortingSession, RetryPolicy,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cases = [
        (
            "Message on behalf request not yet accepted",
            Scenario::on_behalf_not_accepted(),
        ),
        (
            "Two-factor authentication not yet disabled",
            Scenario::two_step_enabled(),
        ),
        (
            "Eligible to be added directly, does not need to be ported",
            Scenario::eligible_for_direct_add(),
        ),
        (
            "Already moved to your destination WhatsApp account",
            Scenario::already_in_destination(),
        ),
        (
            "Source and destination must represent the same business",
            Scenario::business_mismatch(),
        ),
        (
            "Something went wrong, try again after some time",
            Scenario::transient_failure(),
        ),
    ];
    for (i, (title, scenario)) in cases.into_iter().enumerate() {
        println!("{}. {title}  (scenario `{}`)", i + 1, scenario.name());
        let sim = scenario.build();
        // One request per step: show each case's first answer, unretried.
        let client = sim
            .client_builder()
            .retry_policy(RetryPolicy::none())
            .build()?;
        let mut session = sim.session();
        match first_error(&client, &mut session).await {
            Some(err) => {
                println!("   error:        {err}");
                println!("   retryable:    {}", err.is_retryable());
                println!("   retry advice: {:?}", err.retry_advice());
                println!("   who must act: {:?}", err.who_must_act());
                println!("   remediation:  {}", err.remediation());
                println!("   session now:  {}", session.state().name());
            }
            None => {
                // 2388012 is resolved by the client itself: it looks the
                // number up and continues.
                let kind = ApiErrorKind::AlreadyInDestination;
                println!("   handled:      the client looked the number up and continued");
                println!(
                    "   session now:  {} (phone number id {})",
                    session.state().name(),
                    session
                        .state()
                        .phone_number_id()
                        .map(|id| id.as_str())
                        .unwrap_or("?")
                );
                println!("   recovery:     {:?}", kind.recovery());
                println!("   who must act: {:?}", kind.who_must_act());
                println!("   remediation:  {}", kind.remediation());
            }
        }
        println!();
    }
    Ok(())
}

/// Starts the port and requests a code: the first error, if any.
async fn first_error(client: &PortingClient, session: &mut PortingSession) -> Option<Error> {
    if let Err(err) = client.start_migration(session).await {
        return Some(err);
    }
    // The rest of a successful port is not the point here.
    client
        .request_code(session, CodeMethod::Sms, &Language::default())
        .await
        .err()
}
