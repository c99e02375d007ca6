//! What the checks store: sessions of a WABA of each check's own, times
//! of its own, and the parking of what a check leaves behind.

use std::time::Duration;

use super::failure::{Check, ConformanceFailure};
use crate::ids::{BusinessId, PhoneNumberId, WabaId};
use crate::params::{CodeMethod, Language};
use crate::phone::PhoneNumber;
use crate::session::PortingSession;
use crate::state::{StateName, StepOutcome};
use crate::store::{SessionKey, SessionStore, WorkerId};
use crate::time::Timestamp;
use crate::ApiErrorKind;
use crate::Operation;

const MINUTE_MS: u64 = 60_000;
const DAY_MS: u64 = 24 * 60 * MINUTE_MS;
/// 2030-01-01T00:00:00Z: the first check's time.
const T0_MS: u64 = 1_893_456_000_000;
/// After every check's times (ten years on): when leftovers are parked.
const PARK_AT_MS: u64 = T0_MS + 3_650 * DAY_MS;
/// How long leftovers stay parked: past every check's times.
const PARK_FOR: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// One check's setting: its WABA (so its keys are its own) and its day
/// (so its times are its own), and what it reports when a case fails.
#[derive(Debug)]
pub(super) struct Fixture {
    pub(super) check: Check,
    waba: WabaId,
    business: BusinessId,
    start_ms: u64,
}

impl Fixture {
    /// The setting of `check`; parks whatever an earlier run left
    /// claimable, so the check starts with nothing to claim.
    pub(super) async fn new(
        check: Check,
        store: &dyn SessionStore,
    ) -> Result<Self, ConformanceFailure> {
        let fixture = Self {
            check,
            waba: WabaId::new(format!("90000000000{:04}", check.index()))
                .map_err(|e| ConformanceFailure::new(check, "fixture", e.to_string()))?,
            business: BusinessId::new("106540352242922")
                .map_err(|e| ConformanceFailure::new(check, "fixture", e.to_string()))?,
            start_ms: T0_MS + check.index() * DAY_MS,
        };
        fixture.park(store).await?;
        Ok(fixture)
    }

    /// The check's time `ms` milliseconds after its start.
    pub(super) fn at(&self, ms: u64) -> Timestamp {
        Timestamp::from_unix_millis(self.start_ms + ms)
    }

    /// The check's time `minutes` after its start.
    pub(super) fn minutes(&self, minutes: u64) -> Timestamp {
        self.at(minutes * MINUTE_MS)
    }

    /// A new session (revision 0, due now) of number `+1 415 555 01nn`.
    pub(super) fn session(&self, n: u8) -> Result<PortingSession, ConformanceFailure> {
        let number = PhoneNumber::parse(&format!("+1 415 555 01{:02}", n % 100))
            .map_err(|e| self.fail("fixture", e.to_string()))?;
        Ok(PortingSession::new(
            number,
            self.waba.clone(),
            self.business.clone(),
        ))
    }

    /// The key of session `n`.
    pub(super) fn key(&self, n: u8) -> Result<SessionKey, ConformanceFailure> {
        self.session(n).map(|session| SessionKey::of(&session))
    }

    /// Whether `session` is one of this check's.
    pub(super) fn owns(&self, session: &PortingSession) -> bool {
        session.waba_id() == &self.waba
    }

    /// Session `n`, due at `due` (`None`: now), saved through `store` as
    /// revision 1 at the check's start.
    pub(super) async fn saved(
        &self,
        store: &dyn SessionStore,
        n: u8,
        due: Option<Timestamp>,
    ) -> Result<PortingSession, ConformanceFailure> {
        let mut session = self.session(n)?;
        session.set_not_before(due);
        session.next_revision();
        self.store(
            "a new session saves as revision 1",
            store.save(&session, None, self.at(0)).await,
        )?;
        Ok(session)
    }

    /// Leases everything claimable to a parking worker for a century, so
    /// no later check claims this one's sessions.
    pub(super) async fn park(&self, store: &dyn SessionStore) -> Result<(), ConformanceFailure> {
        let parked = store
            .claim(
                &WorkerId::new("conformance-park"),
                usize::MAX,
                Timestamp::from_unix_millis(PARK_AT_MS),
                PARK_FOR,
                None,
            )
            .await;
        self.store("claiming what is left (to park it)", parked)
            .map(drop)
    }
}

/// `session`, moved on by one step (the migration started): new content
/// for a next revision.
pub(super) fn started(
    mut session: PortingSession,
    at: Timestamp,
) -> Result<PortingSession, String> {
    let id = PhoneNumberId::new("110200345501442").map_err(|e| e.to_string())?;
    session
        .apply(
            StepOutcome::MigrationStarted {
                phone_number_id: id,
            },
            at,
        )
        .map_err(|e| e.to_string())?;
    Ok(session)
}

/// `session` (a new or a started one) driven to `Registered` (finished).
pub(super) fn registered(session: PortingSession, at: Timestamp) -> Result<PortingSession, String> {
    let mut session = match session.state().name() {
        StateName::Draft => started(session, at)?,
        _ => session,
    };
    for outcome in [
        StepOutcome::CodeRequested {
            method: CodeMethod::Sms,
            language: Language::default(),
            unconfirmed: false,
            sent_at: None,
        },
        StepOutcome::CodeVerified,
        StepOutcome::Registered,
    ] {
        session.apply(outcome, at).map_err(|e| e.to_string())?;
    }
    Ok(session)
}

/// `session` rejected at its start (finished).
pub(super) fn rejected(
    mut session: PortingSession,
    at: Timestamp,
) -> Result<PortingSession, String> {
    session
        .apply(
            StepOutcome::failed(Operation::StartMigration, ApiErrorKind::BusinessMismatch),
            at,
        )
        .map_err(|e| e.to_string())?;
    Ok(session)
}

/// `session` as its next revision (what a writer saves over the one it
/// loaded).
pub(super) fn next(mut session: PortingSession) -> PortingSession {
    session.next_revision();
    session
}

/// `session` with a different due time: other content, same key.
pub(super) fn due(mut session: PortingSession, due: Option<Timestamp>) -> PortingSession {
    session.set_not_before(due);
    session
}
