//! Hostile or broken input and what leaves the crate: transport hardening,
//! bad inputs, phone numbers, properties over arbitrary answers, secrets in
//! errors and logs, tracing, and use from a downstream crate.
//!
//! One test binary: each module below is a file named for what it checks;
//! a module's own `#![cfg]` (or the one here) says which features it needs.

#[path = "../common/mod.rs"]
mod common;

mod bad_inputs;
mod downstream;
mod last_failure;
mod module_dependencies;
mod phone_numbers;
mod properties;
mod secrets_in_errors;
mod tracing;
mod transport_hardening;
