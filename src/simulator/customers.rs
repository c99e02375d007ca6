//! The simulated customers: they read the codes the world delivered.

use async_trait::async_trait;

use super::Simulator;
use crate::fleet::FleetInputs;
use crate::secret::{Pin, VerificationCode};
use crate::session::PortingSession;

/// [`FleetInputs`] from the simulated world: each customer passes on the
/// latest code delivered to their number (what they would read out from
/// the SMS), and every number registers with one PIN. Made by
/// [`Simulator::customers`].
#[derive(Clone, Debug)]
pub struct SimulatedCustomers {
    sim: Simulator,
    pin: Pin,
}

impl Simulator {
    /// Inputs for a [`Fleet`](crate::Fleet) on this world: customers who
    /// pass on the codes they receive, and `pin` for every register.
    pub fn customers(&self, pin: Pin) -> SimulatedCustomers {
        SimulatedCustomers {
            sim: self.clone(),
            pin,
        }
    }
}

#[async_trait]
impl FleetInputs for SimulatedCustomers {
    async fn verification_code(&self, session: &PortingSession) -> Option<VerificationCode> {
        self.sim.latest_code(session.phone_number())
    }

    async fn pin(&self, _session: &PortingSession) -> Option<Pin> {
        Some(self.pin.clone())
    }
}
