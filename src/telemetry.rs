//! What the client tells `tracing` (the `tracing` feature): one span per
//! step or call, events for retries, throttle waits and reconciles.
//!
//! Only what is safe in any log: the operation, the phone number id (or,
//! before the number has one, a hash of the number), states, attempt counts,
//! the Graph code, subcode and `fbtrace_id`, the error's case, and times.
//! Never the token, the PIN, the code, a request or response body, nor a
//! server's message (a hostile server could echo a secret into it).
//!
//! Without the feature every function here is an empty `#[inline]` body:
//! nothing is computed, nothing is linked.

use std::future::Future;
use std::time::Duration;

use crate::error::Error;
use crate::operation::Operation;
use crate::session::PortingSession;
use crate::state::{Observed, StateName};

/// The span of one step (or one call outside the steps) and when it began.
pub(crate) struct Trace {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
    #[cfg(feature = "tracing")]
    started: std::time::Instant,
}

impl Trace {
    /// The span of a step of `session`, before it runs.
    #[inline]
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(crate) fn step(operation: Operation, session: &PortingSession) -> Self {
        #[cfg(feature = "tracing")]
        {
            let span = tracing::info_span!(
                target: "waba_porting",
                "step",
                operation = operation.as_str(),
                session = crate::store::SessionKey::of(session).log_id(),
                waba_id = session.waba_id().as_str(),
                phone_number_id = tracing::field::Empty,
                number_hash = tracing::field::Empty,
                state_before = session.state().name().as_str(),
                state_after = tracing::field::Empty,
                attempts = tracing::field::Empty,
                error_kind = tracing::field::Empty,
                graph_code = tracing::field::Empty,
                graph_subcode = tracing::field::Empty,
                fbtrace_id = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            );
            match session.state().phone_number_id() {
                Some(id) => span.record("phone_number_id", id.as_str()),
                None => span.record(
                    "number_hash",
                    tracing::field::display(crate::store::number_hash(
                        session.phone_number().e164(),
                    )),
                ),
            };
            Self {
                span,
                started: std::time::Instant::now(),
            }
        }
        #[cfg(not(feature = "tracing"))]
        Self {}
    }

    /// The span of a call that is not a step of a session (`subscribe_app`,
    /// a read); `object` is the WABA or phone number id it targets.
    #[inline]
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(crate) fn call(operation: Operation, object: &str) -> Self {
        #[cfg(feature = "tracing")]
        {
            let span = tracing::info_span!(
                target: "waba_porting",
                "call",
                operation = operation.as_str(),
                object_id = object,
                attempts = tracing::field::Empty,
                error_kind = tracing::field::Empty,
                graph_code = tracing::field::Empty,
                graph_subcode = tracing::field::Empty,
                fbtrace_id = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            );
            Self {
                span,
                started: std::time::Instant::now(),
            }
        }
        #[cfg(not(feature = "tracing"))]
        Self {}
    }

    /// `future`, run inside the span.
    #[cfg(feature = "tracing")]
    pub(crate) fn run<F: Future>(&self, future: F) -> tracing::instrument::Instrumented<F> {
        use tracing::Instrument;
        future.instrument(self.span.clone())
    }

    /// `future` itself: no span, no layer around it.
    #[cfg(not(feature = "tracing"))]
    #[inline]
    pub(crate) fn run<F: Future>(&self, future: F) -> F {
        future
    }

    /// Records how the step or call ended: the attempts made, the state
    /// after (for a step), the error's case and Graph identifiers, the
    /// latency; and one event saying so.
    #[inline]
    #[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
    pub(crate) fn finish<T>(
        &self,
        attempts: u32,
        state_after: Option<StateName>,
        result: &Result<T, Error>,
    ) {
        #[cfg(feature = "tracing")]
        {
            let span = &self.span;
            let latency = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
            span.record("attempts", attempts);
            span.record("latency_ms", latency);
            if let Some(state) = state_after {
                span.record("state_after", state.as_str());
            }
            let _entered = span.enter();
            match result {
                Ok(_) => {
                    tracing::info!(target: "waba_porting", attempts, latency_ms = latency, "succeeded")
                }
                Err(error) => {
                    let facts = ErrorFacts::of(error);
                    span.record("error_kind", facts.kind);
                    if let Some(code) = facts.code {
                        span.record("graph_code", code);
                    }
                    if let Some(subcode) = facts.subcode {
                        span.record("graph_subcode", subcode);
                    }
                    if let Some(trace) = facts.fbtrace_id {
                        span.record("fbtrace_id", trace);
                    }
                    tracing::warn!(
                        target: "waba_porting",
                        attempts,
                        latency_ms = latency,
                        error_kind = facts.kind,
                        graph_code = facts.code,
                        fbtrace_id = facts.fbtrace_id,
                        retryable = error.is_retryable(),
                        "failed"
                    );
                }
            }
        }
    }
}

/// An attempt failed and another follows after `wait`.
#[inline]
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn retrying(operation: Operation, attempt: u32, wait: Duration, error: &Error) {
    #[cfg(feature = "tracing")]
    {
        let facts = ErrorFacts::of(error);
        tracing::info!(
            target: "waba_porting",
            operation = operation.as_str(),
            attempt,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            error_kind = facts.kind,
            graph_code = facts.code,
            fbtrace_id = facts.fbtrace_id,
            "retrying"
        );
    }
}

/// The throttle holds a request for `wait` (`paused`: a rate-limit pause,
/// not the calls-per-second budget).
#[inline]
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn throttled(wait: Duration, paused: bool) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "waba_porting",
        wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
        reason = if paused { "rate_limit_pause" } else { "budget" },
        "throttle wait"
    );
}

/// Local storage of number `id` was turned on in `region` (before its
/// register, API v21.0 and newer).
#[inline]
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn local_storage_set(
    id: &crate::ids::PhoneNumberId,
    region: &crate::params::DataLocalizationRegion,
) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "waba_porting",
        phone_number_id = id.as_str(),
        region = region.as_str(),
        "local storage set"
    );
}

/// A step whose outcome was unknown was settled by reading the number.
#[inline]
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn reconciled(step: Operation, observed: Observed, state: StateName) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "waba_porting",
        step = step.as_str(),
        registered = observed.registered,
        code_verified = observed.code_verified,
        code_expired = observed.code_expired,
        state = state.as_str(),
        "reconciled"
    );
}

/// Graph refused the token of `key`'s customer (190) and the token
/// provider gave a new one: the call is made again once. The ids only.
#[inline]
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn token_refreshed(key: &crate::credentials::CredentialKey) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "waba_porting",
        business_id = key.business_id().as_str(),
        waba_id = key.waba_id().as_str(),
        "access token refreshed after 190; the call is made again once"
    );
}

/// An HTTP exchange: which operation, the status (or none: no answer), how
/// long it took. Debug level: one per request.
#[cfg(feature = "tracing")]
pub(crate) fn exchanged(operation: Operation, status: Option<u16>, elapsed: Duration) {
    tracing::debug!(
        target: "waba_porting",
        operation = operation.as_str(),
        status,
        elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        "http exchange"
    );
}

/// What of an error may be logged.
#[cfg(feature = "tracing")]
struct ErrorFacts<'a> {
    kind: &'static str,
    code: Option<i64>,
    subcode: Option<i64>,
    fbtrace_id: Option<&'a str>,
}

#[cfg(feature = "tracing")]
impl<'a> ErrorFacts<'a> {
    fn of(error: &'a Error) -> Self {
        match error.api() {
            Some(api) => Self {
                kind: api.kind().as_str(),
                code: api.graph().code,
                subcode: api.graph().error_subcode,
                fbtrace_id: api.fbtrace_id(),
            },
            None => Self {
                kind: error.category(),
                code: None,
                subcode: None,
                fbtrace_id: None,
            },
        }
    }
}

/// A side-effecting step got no usable answer: Meta may have acted. The
/// next attempt (this call's retry, or the next call for the session) reads
/// the number first and sends again only if the step did not happen.
#[inline]
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn outcome_unknown(operation: Operation, error: &Error) {
    #[cfg(feature = "tracing")]
    {
        let facts = ErrorFacts::of(error);
        tracing::warn!(
            target: "waba_porting",
            operation = operation.as_str(),
            error_kind = facts.kind,
            "outcome unknown: Meta may have acted; the next attempt reads the number first \
             (reconciles) and sends again only if the step did not happen"
        );
    }
}

/// The session was saved through the client's checkpoint (debug level).
#[inline]
#[cfg_attr(not(feature = "tracing"), allow(unused_variables))]
pub(crate) fn saved(
    session: &PortingSession,
    operation: Operation,
    stage: crate::checkpoint::CheckpointStage,
) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "waba_porting",
        session = crate::store::SessionKey::of(session).log_id(),
        operation = operation.as_str(),
        stage = match stage {
            crate::checkpoint::CheckpointStage::BeforeSend => "before_send",
            _ => "after_outcome",
        },
        state = session.state().name().as_str(),
        "session saved"
    );
}
