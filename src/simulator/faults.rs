//! Faults the simulator injects into its next answers.

use std::time::Duration;

use crate::operation::Operation;

/// Something going wrong on the way to (or inside) Meta, for the next calls.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// 2388103 "There was an error migrating this phone number" (the generic
    /// "something went wrong" troubleshooting case).
    MigrationError,
    /// 131000 "Something went wrong", HTTP 500.
    SomethingWentWrong,
    /// 2 "Service temporarily unavailable", HTTP 503.
    ServiceUnavailable,
    /// A rate limit (`code` 4, 80007, 130429…), HTTP 429, with an optional
    /// `Retry-After`.
    RateLimit {
        /// The Graph code.
        code: i64,
        /// The `Retry-After` header.
        retry_after: Option<Duration>,
    },
    /// The answer takes this long (on the simulated clock; nothing sleeps).
    /// When it is not shorter than the request's timeout, the request is
    /// still processed by Meta but the caller sees a timeout: the duplicate
    /// side-effect case.
    Latency(Duration),
    /// An HTML 502 page from a proxy; the request is not processed.
    BadGateway,
    /// The answer is lost after Meta acted: the request is applied in full —
    /// its side effects happen (the number is created or registered, the
    /// code is texted, the code is used up), whatever Meta answers — then the
    /// connection is reset before the answer arrives. The caller gets
    /// [`TransportError`](crate::TransportError) of kind
    /// [`TransportErrorKind::Other`](crate::TransportErrorKind::Other), and
    /// the [`ServedRequest`](super::ServedRequest) records `status: None`.
    ///
    /// Unlike [`Fault::Latency`], no time passes and no timeout is involved.
    /// The step's outcome is unknown to the caller, and repeating it can
    /// cost (reference §6): reconcile by reading the number
    /// ([`PortingClient::read_phone_number`](crate::PortingClient::read_phone_number))
    /// — `status: CONNECTED` means the register went through,
    /// `code_verification_status: VERIFIED` that the code was accepted.
    AnswerLost,
    /// An error answer Meta's OpenAPI description gives as an example, as
    /// written there ([`reference::described`](super::reference::described)):
    /// the request is not processed.
    Described(super::reference::DescribedError),
}

/// A fault for the next `remaining` calls (of one operation, or of any).
#[derive(Clone, Debug)]
pub(crate) struct FaultPlan {
    pub(crate) fault: Fault,
    pub(crate) remaining: u32,
    pub(crate) operation: Option<Operation>,
}

/// Takes one use of the first plan that applies to `operation`.
pub(crate) fn take(plans: &mut Vec<FaultPlan>, operation: Option<Operation>) -> Option<Fault> {
    let index = plans
        .iter()
        .position(|p| p.remaining > 0 && (p.operation.is_none() || p.operation == operation))?;
    let plan = plans.get_mut(index)?;
    plan.remaining -= 1;
    let fault = plan.fault.clone();
    plans.retain(|p| p.remaining > 0);
    Some(fault)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_are_used_up_in_order_and_scoped() {
        let mut plans = vec![
            FaultPlan {
                fault: Fault::BadGateway,
                remaining: 1,
                operation: Some(Operation::Register),
            },
            FaultPlan {
                fault: Fault::MigrationError,
                remaining: 2,
                operation: None,
            },
        ];
        assert_eq!(
            take(&mut plans, Some(Operation::StartMigration)),
            Some(Fault::MigrationError)
        );
        assert_eq!(
            take(&mut plans, Some(Operation::Register)),
            Some(Fault::BadGateway)
        );
        assert_eq!(
            take(&mut plans, Some(Operation::Register)),
            Some(Fault::MigrationError)
        );
        assert_eq!(take(&mut plans, None), None);
        assert!(plans.is_empty());
    }
}
