//! Persist and resume: a client whose `Checkpoint` writes the session to a
//! file around every request; a process that stops after the code request;
//! another that dies right after sending `register` (the answer is lost);
//! and a last one that loads the file, reconciles, and finds the number
//! registered — without sending `register` a second time.
//!
//! ```sh
//! cargo run --example resume
//! ```

use std::path::PathBuf;

use waba_porting::simulator::{Fault, Scenario};
use waba_porting::{
    Checkpoint, CodeMethod, Language, NextAction, Operation, Pin, PortingSession, RetryPolicy,
};

/// Saves each session to one JSON file: temp file, fsync, rename.
#[derive(Debug)]
struct FileCheckpoint(PathBuf);

#[waba_porting::async_trait]
impl Checkpoint for FileCheckpoint {
    async fn save(
        &self,
        session: &PortingSession,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let tmp = self.0.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(session)?)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        std::fs::rename(&tmp, &self.0)?;
        Ok(())
    }
}

fn load(file: &PathBuf) -> Result<PortingSession, Box<dyn std::error::Error>> {
    Ok(serde_json::from_slice(&std::fs::read(file)?)?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The simulator stands for Meta: it outlives our processes' clients.
    let meta = Scenario::happy_path().build();
    let file =
        std::env::temp_dir().join(format!("waba-porting-resume-{}.json", std::process::id()));
    let pin = Pin::new("482913")?;

    // Process 1: start and request a code; the checkpoint saves each outcome.
    {
        let client = meta
            .client_builder()
            .checkpoint(FileCheckpoint(file.clone()))
            .build()?;
        let mut session = meta.session();
        client.start_migration(&mut session).await?;
        client
            .request_code(&mut session, CodeMethod::Sms, &Language::default())
            .await?;
        println!(
            "process 1: session saved to {} in state {}",
            file.display(),
            session.state().name()
        );
    }

    // Process 2: the customer's code arrived; verify, then register — and the
    // process dies right after the register request left (Meta registers the
    // number, the answer is lost). No retry here: the process is gone.
    {
        let client = meta
            .client_builder()
            .checkpoint(FileCheckpoint(file.clone()))
            .retry_policy(RetryPolicy::none())
            .build()?;
        let mut session = load(&file)?;
        let code = meta
            .latest_code(session.phone_number())
            .ok_or("no code delivered")?;
        client.verify_code(&mut session, &code).await?;
        meta.inject_at(Operation::Register, Fault::AnswerLost, 1);
        let lost = client.register(&mut session, &pin, None).await;
        println!(
            "process 2: register answer lost ({}); the file says {} with {:?} in flight",
            lost.err().map(|e| e.to_string()).unwrap_or_default(),
            load(&file)?.state().name(),
            load(&file)?.in_flight().map(|f| f.operation),
        );
    }

    // Process 3: load and reconcile before asking anybody for anything.
    let client = meta
        .client_builder()
        .checkpoint(FileCheckpoint(file.clone()))
        .build()?;
    let mut session = load(&file)?;
    assert!(matches!(
        session.next_action().action,
        NextAction::Reconcile { .. }
    ));
    let state = client.reconcile(&mut session).await?;
    let registers = meta
        .served()
        .iter()
        .filter(|r| r.operation == Some(Operation::Register))
        .count();
    println!("process 3: reconciled to {state}; register was sent {registers} time(s)");
    println!("{}", std::fs::read_to_string(&file)?);
    std::fs::remove_file(&file)?;

    let id = session
        .state()
        .phone_number_id()
        .ok_or("no phone number id")?;
    println!(
        "Registered {} with phone number id {id}",
        session.phone_number()
    );
    Ok(())
}
