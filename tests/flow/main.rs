//! The single-number flow on the wire: the happy path, every troubleshooting
//! case, Graph's errors and malformed answers, illegal steps, resume, the
//! readiness check, documented statuses, conformance with Meta's OpenAPI
//! description, the client's configuration and the per-session credentials.
//!
//! One test binary: each module below is a file named for what it checks;
//! a module's own `#![cfg]` (or the one here) says which features it needs.

#[path = "../common/mod.rs"]
mod common;

mod a_number_listed_in_its_earlier_form_is_found;
mod a_verified_number_needs_no_code;
mod already_registered_never_adopts_a_gone_listing;
mod answers_shaped_as_arrays;
mod builder;
#[cfg(all(feature = "reqwest", feature = "simulator"))]
mod credentials_per_session;
mod documented_statuses;
mod error_classification;
#[cfg(all(feature = "reqwest", feature = "simulator"))]
mod graph_errors_from_the_description;
#[cfg(all(feature = "reqwest", feature = "simulator"))]
mod happy_path;
#[cfg(all(feature = "reqwest", feature = "simulator"))]
mod illegal_steps;
mod lifecycle;
mod local_storage_is_set_through_the_settings_from_v21;
#[cfg(all(feature = "reqwest", feature = "simulator"))]
mod malformed_answers;
mod on_behalf_approval;
mod openapi_conformance;
mod pending_display_name_change;
mod readiness;
mod readiness_is_not_ready_when_a_check_was_hidden;
mod readiness_survives_refused_fields;
mod request_code_language_is_sent_as_documented;
#[cfg(all(feature = "reqwest", feature = "simulator"))]
mod resume;
#[cfg(all(feature = "reqwest", feature = "simulator"))]
mod troubleshooting;
