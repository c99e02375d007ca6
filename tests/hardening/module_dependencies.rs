//! The crate's modules depend on each other one way: the state, the session
//! and the error kinds do not use the error module.
#![cfg(all(feature = "simulator", feature = "reqwest"))]

/// `error` and `state` imported each other. State, session and the error
/// kinds must not depend on the error module.
#[test]
fn state_session_and_kind_do_not_use_the_error_module() {
    // The state machine and everything it is built from (directly or not)
    // stay below the error module.
    for file in [
        "src/state.rs",
        "src/session.rs",
        "src/kind.rs",
        "src/ids.rs",
        "src/params.rs",
        "src/phone.rs",
        "src/secret.rs",
        "src/time.rs",
        "src/actor.rs",
        "src/operation.rs",
        "src/validation.rs",
        "src/number.rs",
    ] {
        let full = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
        let source = std::fs::read_to_string(&full).unwrap();
        assert!(source.len() > 500, "{file} read");
        let offending: Vec<&str> = source
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .filter(|line| {
                line.contains("crate::error")
                    || line.contains("super::error")
                    || line.trim_start().starts_with("error::")
                    || line.contains("use crate::{") && line.contains("error")
            })
            .collect();
        assert!(
            offending.is_empty(),
            "{file} depends on error: {offending:?}"
        );
    }
    // The dependency goes the other way.
    let error = std::fs::read_to_string(format!("{}/src/error/mod.rs", env!("CARGO_MANIFEST_DIR")))
        .unwrap();
    assert!(error.contains("use crate::state::"));
}
