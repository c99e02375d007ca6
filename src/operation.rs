//! The Graph API operations the client performs.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::transport::Method;

/// One request of the porting flow. The first four are the steps of a
/// [`PortingSession`](crate::PortingSession); `ListPhoneNumbers` is the
/// look-up that resolves "already in your list".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Operation {
    /// `POST /{waba-id}/phone_numbers` with `migrate_phone_number=true`.
    StartMigration,
    /// `POST /{phone-number-id}/request_code`.
    RequestCode,
    /// `POST /{phone-number-id}/verify_code`.
    VerifyCode,
    /// `POST /{phone-number-id}/register`.
    Register,
    /// `GET /{waba-id}/phone_numbers`.
    ListPhoneNumbers,
}

impl Operation {
    /// Every operation, in flow order.
    #[cfg(feature = "simulator")]
    pub(crate) const ALL: [Self; 5] = [
        Self::StartMigration,
        Self::RequestCode,
        Self::VerifyCode,
        Self::Register,
        Self::ListPhoneNumbers,
    ];

    /// The HTTP method and the last path segment (after the object id): the
    /// one place the client and the simulator read their routes from.
    pub(crate) fn route(self) -> (Method, &'static str) {
        match self {
            Self::StartMigration => (Method::Post, "phone_numbers"),
            Self::RequestCode => (Method::Post, "request_code"),
            Self::VerifyCode => (Method::Post, "verify_code"),
            Self::Register => (Method::Post, "register"),
            Self::ListPhoneNumbers => (Method::Get, "phone_numbers"),
        }
    }

    /// The snake_case name (`start_migration`, `verify_code`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartMigration => "start_migration",
            Self::RequestCode => "request_code",
            Self::VerifyCode => "verify_code",
            Self::Register => "register",
            Self::ListPhoneNumbers => "list_phone_numbers",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
