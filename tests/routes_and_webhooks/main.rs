//! The Embedded Signup and solution migration routes on the wire, in a
//! fleet and under faults, and Meta's signed webhooks: signatures, events,
//! wakes and the sessions they move.
//!
//! One test binary: each module below is a file named for what it checks;
//! a module's own `#![cfg]` (or the one here) says which features it needs.

#[path = "../common/mod.rs"]
mod common;

mod routes_in_a_fleet;
mod routes_on_the_wire;
mod routes_under_faults;
mod webhook_events_move_sessions;
mod webhook_signatures_and_events;
mod webhook_wakes_and_meta_waits;
