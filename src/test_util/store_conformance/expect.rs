//! How a check judges what the store did: each helper names the case and
//! says what happened instead.

use super::failure::ConformanceFailure;
use super::fixtures::Fixture;
use crate::store::{Holder, StoreError, StoreErrorKind};

impl Fixture {
    /// A failure of `case`.
    pub(super) fn fail(&self, case: &'static str, detail: impl Into<String>) -> ConformanceFailure {
        ConformanceFailure::new(self.check, case, detail)
    }

    /// `case` holds when `holds`; `detail` says what happened otherwise.
    pub(super) fn ensure(
        &self,
        holds: bool,
        case: &'static str,
        detail: impl FnOnce() -> String,
    ) -> Result<(), ConformanceFailure> {
        if holds {
            Ok(())
        } else {
            Err(self.fail(case, detail()))
        }
    }

    /// A call of `case` that must succeed.
    pub(super) fn store<T>(
        &self,
        case: &'static str,
        result: Result<T, StoreError>,
    ) -> Result<T, ConformanceFailure> {
        result.map_err(|e| {
            self.fail(
                case,
                format!("the store refused or failed: {e} ({:?})", e.kind()),
            )
        })
    }

    /// A save of `case` that must be a conflict naming `stored`.
    pub(super) fn conflict<T: std::fmt::Debug>(
        &self,
        case: &'static str,
        result: Result<T, StoreError>,
        stored: Option<u64>,
    ) -> Result<(), ConformanceFailure> {
        match result {
            Err(e) if *e.kind() == (StoreErrorKind::Conflict { stored }) => Ok(()),
            Err(e) => Err(self.fail(
                case,
                format!(
                    "expected Conflict {{ stored: {stored:?} }}, got {:?}: {e}",
                    e.kind()
                ),
            )),
            Ok(value) => Err(self.fail(
                case,
                format!(
                    "expected Conflict {{ stored: {stored:?} }}, the call succeeded: {value:?}"
                ),
            )),
        }
    }

    /// A call of `case` that must be fenced naming `holder` (compared by
    /// worker and time).
    pub(super) fn fenced<T: std::fmt::Debug>(
        &self,
        case: &'static str,
        result: Result<T, StoreError>,
        holder: Option<&Holder>,
    ) -> Result<(), ConformanceFailure> {
        match result {
            Err(e) if matches!(e.kind(), StoreErrorKind::Fenced { .. }) => {
                self.ensure(e.holder() == holder, case, || {
                    format!(
                        "Fenced as expected, but naming {:?} instead of {holder:?}",
                        e.holder()
                    )
                })
            }
            other => Err(self.fail(
                case,
                format!("expected Fenced naming {holder:?}, got {other:?}"),
            )),
        }
    }

    /// A call of `case` that must be fenced (whoever it names).
    pub(super) fn fenced_any<T: std::fmt::Debug>(
        &self,
        case: &'static str,
        result: Result<T, StoreError>,
    ) -> Result<(), ConformanceFailure> {
        match result {
            Err(e) if matches!(e.kind(), StoreErrorKind::Fenced { .. }) => Ok(()),
            other => Err(self.fail(case, format!("expected Fenced, got {other:?}"))),
        }
    }

    /// Turns a fixture's own failure (a state machine step) into `case`'s.
    pub(super) fn made<T>(&self, result: Result<T, String>) -> Result<T, ConformanceFailure> {
        result.map_err(|e| self.fail("fixture", e))
    }
}
