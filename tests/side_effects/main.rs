//! Side effects that must happen once: the crash/resume matrices, the
//! reconcile of unknown outcomes and what a read proves, the adoption after
//! 2388012, the waits a session keeps, the saved session and its history,
//! the retry policy, rate limits, the shared throttle and the timer.
//!
//! One test binary: each module below is a file named for what it checks;
//! a module's own `#![cfg]` (or the one here) says which features it needs.

#[path = "../common/mod.rs"]
mod common;

mod adoption;
mod crash_at_every_point;
mod crash_resume;
mod crash_resume_routes;
mod rate_limits;
mod reads_as_evidence;
mod reconcile;
mod register_reconcile;
mod retry_policy;
mod saved_sessions;
mod throttle;
mod timer;
mod waits;
