//! The ways Meta offers to move a number, and which one a session takes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::SolutionId;
use crate::state::{PortingState, StateName};

/// How a session moves its number: one of the three routes Meta documents.
///
/// | route | when to use it | what it costs the customer |
/// |---|---|---|
/// | [`Programmatic`](Self::Programmatic) | the BSP owns the destination WABA (On-Behalf-Of model) | approve the "message on behalf" request; the old BSP turns off two-step verification; pass on a code sent by SMS or voice |
/// | [`EmbeddedSignup`](Self::EmbeddedSignup) | Meta's preferred route: the customer owns the destination WABA and signs up in the BSP's Embedded Signup popup | finish the popup (it creates the WABA and shares it with the BSP); pass on a code when the popup left the number unverified |
/// | [`SolutionMigration`](Self::SolutionMigration) | the WABA already serves a Multi-Partner Solution and moves to another solution, whole | accept the request in Business settings (Requests); no code, no downtime |
///
/// Sources: Meta, "Migrating a business phone number from one Solution
/// Partner to another programmatically" (the programmatic route: only for
/// the On-Behalf-Of model); "Migrating phone numbers among Solution Partners
/// via Embedded Signup" ("simpler and the preferred solution"); "Migrating a
/// WABA from one Multi-Partner Solution to another" and the "Set solution
/// migration intent" API (no re-verification of the number).
///
/// A session saved before routes existed loads as
/// [`Programmatic`](Self::Programmatic).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Route {
    /// The destination BSP starts the migration
    /// (`POST /{waba-id}/phone_numbers`, `migrate_phone_number=true`), then
    /// requests and verifies a code and registers the number.
    #[default]
    Programmatic,
    /// The customer finishes the BSP's Embedded Signup popup; the BSP
    /// exchanges the popup's authorization code for the customer's business
    /// token, checks what was shared, subscribes its app to the WABA,
    /// verifies the number when the popup left it unverified, and registers
    /// it.
    EmbeddedSignup,
    /// The WABA moves, whole, from one Multi-Partner Solution to another:
    /// the migration intent names the destination solution, the customer
    /// accepts it, and the BSP subscribes its app and registers the number.
    SolutionMigration {
        /// The destination solution.
        solution_id: SolutionId,
    },
}

impl Route {
    /// The snake_case name, as serde writes it in `kind`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Programmatic => "programmatic",
            Self::EmbeddedSignup => "embedded_signup",
            Self::SolutionMigration { .. } => "solution_migration",
        }
    }

    /// Whether this is the programmatic route (what a session saved before
    /// routes existed took).
    pub fn is_programmatic(&self) -> bool {
        matches!(self, Self::Programmatic)
    }

    /// The state a new session of this route starts in.
    pub(crate) fn first_state(&self) -> PortingState {
        match self {
            Self::Programmatic => PortingState::Draft,
            Self::EmbeddedSignup => PortingState::AwaitingSignup,
            Self::SolutionMigration { .. } => PortingState::IntentDraft,
        }
    }

    /// Whether a session of this route can be in `state`: the states before
    /// the number is in the WABA belong to one route each; the code and
    /// register states, and the final ones, to all.
    pub(crate) fn reaches(&self, state: StateName) -> bool {
        use StateName::*;
        match state {
            Draft => matches!(self, Self::Programmatic),
            AwaitingSignup | SignupFinished | Authorized => matches!(self, Self::EmbeddedSignup),
            IntentDraft | AwaitingIntentAcceptance | IntentAccepted | DestinationReady => {
                matches!(self, Self::SolutionMigration { .. })
            }
            _ => true,
        }
    }
}

impl fmt::Display for Route {
    /// The snake_case name ([`as_str`](Self::as_str)).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_its_name_and_data() {
        let route = Route::SolutionMigration {
            solution_id: SolutionId::new("1234567890").unwrap(),
        };
        let json = serde_json::to_value(&route).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "solution_migration", "solution_id": "1234567890"})
        );
        assert_eq!(serde_json::from_value::<Route>(json).unwrap(), route);
        assert_eq!(Route::default(), Route::Programmatic);
        assert_eq!(Route::EmbeddedSignup.to_string(), "embedded_signup");
    }
}
