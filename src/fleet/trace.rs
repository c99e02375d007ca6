//! What a fleet run tells `tracing` (the `tracing` feature): when it
//! begins and ends, and each session it finished. Counts, states and the
//! session's log id only, as in `crate::telemetry`; without the feature
//! every function is an empty `#[inline]` body.

use super::{FleetProgress, SessionOutcome};
use crate::state::StateName;
use crate::store::SessionKey;

/// A fleet run begins: how many sessions, how many at once.
#[inline]
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn fleet_started(sessions: usize, concurrency: usize, resumed: bool) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "waba_porting",
        sessions,
        concurrency,
        resumed,
        "fleet run started"
    );
}

/// A fleet run ended: the counts of every column.
#[inline]
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn fleet_finished(progress: &FleetProgress, cancelled: bool) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "waba_porting",
        total = progress.total,
        registered = progress.registered,
        waiting_on_customer = progress.waiting_on_customer,
        waiting_on_previous_provider = progress.waiting_on_previous_provider,
        waiting_on_us = progress.waiting_on_us,
        rejected = progress.rejected,
        failed = progress.failed,
        cancelled = progress.cancelled,
        skipped = progress.skipped,
        held_elsewhere = progress.held_elsewhere,
        steps = progress.steps,
        run_cancelled = cancelled,
        "fleet run finished"
    );
}

/// One session of a fleet run is done (debug level).
#[inline]
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn fleet_session_finished(key: &SessionKey, state: StateName, outcome: &SessionOutcome) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "waba_porting",
        session = key.log_id(),
        state = state.as_str(),
        outcome = outcome.label(),
        "fleet session finished"
    );
}
