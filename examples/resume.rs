//! Starts a port, saves the session as JSON to a file, drops the client,
//! then loads the file with a fresh client and finishes the port.
//!
//! ```sh
//! cargo run --example resume
//! ```

use waba_porting::simulator::Scenario;
use waba_porting::{CodeMethod, Language, Pin, PortingSession};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The simulator stands for Meta: it outlives our process's clients.
    let meta = Scenario::happy_path().build();
    let file =
        std::env::temp_dir().join(format!("waba-porting-resume-{}.json", std::process::id()));

    {
        let client = meta.client()?;
        let mut session = meta.session();
        client.start_migration(&mut session).await?;
        client
            .request_code(&mut session, CodeMethod::Sms, &Language::default())
            .await?;
        std::fs::write(&file, serde_json::to_vec_pretty(&session)?)?;
        println!(
            "started; session saved to {} in state {}",
            file.display(),
            session.state().name()
        );
        // The client and the session are dropped here, as if the process ended.
    }

    println!("...the customer receives the code; later, another process resumes:");
    let saved = std::fs::read_to_string(&file)?;
    println!("{saved}");
    let mut session: PortingSession = serde_json::from_str(&saved)?;
    let client = meta.client()?;
    let code = meta
        .latest_code(session.phone_number())
        .ok_or("no code delivered")?;
    client.verify_code(&mut session, &code).await?;
    client
        .register(&mut session, &Pin::new("482913")?, None)
        .await?;
    std::fs::remove_file(&file)?;

    let id = session
        .state()
        .phone_number_id()
        .ok_or("no phone number id")?;
    println!(
        "resumed and finished: {} transitions in the history",
        session.history().len()
    );
    println!(
        "Registered {} with phone number id {id}",
        session.phone_number()
    );
    Ok(())
}
