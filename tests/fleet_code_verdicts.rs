//! The fleet tells its inputs when Meta judged a code (`code_judged`), so
//! that a refused code is never sent again. Meta's verdict is a verdict
//! even when saving the session afterwards failed: the refusal reached us.
#![cfg(feature = "simulator")]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::wire::pin;
use waba_porting::simulator::Scenario;
use waba_porting::{
    async_trait, Fleet, FleetInputs, InMemoryStore, InputMap, Operation, PortingSession,
    SessionKey, SessionStore, StoreError, VerificationCode,
};

/// An in-memory store whose saves fail, while `fail` is set, for a session
/// that just recorded a failed verify (the save after the outcome).
#[derive(Debug, Default)]
struct FlakyStore {
    inner: InMemoryStore,
    fail: AtomicBool,
}

#[async_trait]
impl SessionStore for FlakyStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<PortingSession>, StoreError> {
        self.inner.load(key).await
    }

    async fn save(&self, session: &PortingSession) -> Result<(), StoreError> {
        let after_failed_verify = session.in_flight().is_none()
            && session
                .last_failure()
                .is_some_and(|f| f.operation == Operation::VerifyCode);
        if self.fail.load(Ordering::SeqCst) && after_failed_verify {
            return Err(StoreError::new("save", "disk full"));
        }
        self.inner.save(session).await
    }

    async fn list_unfinished(&self) -> Result<Vec<PortingSession>, StoreError> {
        self.inner.list_unfinished().await
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_refused_code_is_not_sent_again_when_the_save_after_the_refusal_failed() {
    let sim = Scenario::happy_path().build();
    let session = sim.session();
    let key = SessionKey::of(&session);
    let store = Arc::new(FlakyStore::default());
    let inputs = Arc::new(InputMap::new().with_default_pin(pin()));
    let fleet = Fleet::builder(sim.client_builder(), Arc::clone(&store))
        .inputs(Arc::clone(&inputs))
        .build()
        .unwrap();
    let _ = fleet.run(vec![session.clone()]).await; // code requested
                                                    // The customer mistypes the code.
    inputs.insert_code(key.clone(), VerificationCode::new("000000").unwrap());
    store.fail.store(true, Ordering::SeqCst);
    let second = fleet.run(vec![session.clone()]).await;
    assert_eq!(sim.calls(session.phone_number()).unwrap().verify_code, 1);
    // The store is back; the customer has not sent another code yet.
    store.fail.store(false, Ordering::SeqCst);
    let third = fleet.run(vec![session.clone()]).await;
    let verifies = sim.calls(session.phone_number()).unwrap().verify_code;
    assert_eq!(
        verifies,
        1,
        "the code Meta refused was sent again ({verifies} verify calls); run 2: {:?}; run 3: {:?}; \
         the map still holds it: {:?}",
        second.sessions[0].outcome,
        third.sessions[0].outcome,
        inputs.verification_code(&session).await.is_some()
    );
}
