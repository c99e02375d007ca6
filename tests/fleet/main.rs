//! Many numbers: the fleet driver, the customer's codes, waits and
//! rechecks, replicas and leases on one store, the session stores and the
//! store conformance suite.
//!
//! One test binary: each module below is a file named for what it checks;
//! a module's own `#![cfg]` (or the one here) says which features it needs.

#[path = "../common/mod.rs"]
mod common;

mod fleet;
mod fleet_codes;
mod fleet_waits;
mod leases_under_attack;
mod recheck_under_attack;
mod replicas;
mod session_store;
#[cfg(feature = "test-util")]
mod store_conformance;
