//! The Graph API simulator: in process, served over loopback HTTP, its
//! migration routes and webhooks, and its conformance with wiremock
//! fixtures made of the same reference bodies.
//!
//! One test binary: each module below is a file named for what it checks;
//! a module's own `#![cfg]` (or the one here) says which features it needs.

#[path = "../common/mod.rs"]
mod common;

#[cfg(all(feature = "simulator", feature = "reqwest"))]
mod conformance;
#[cfg(all(feature = "sim-server", feature = "reqwest"))]
mod served_simulator;
#[cfg(feature = "simulator")]
mod simulator;
#[cfg(feature = "simulator")]
mod simulator_routes;
#[cfg(all(feature = "simulator", feature = "webhooks"))]
mod simulator_webhooks;
