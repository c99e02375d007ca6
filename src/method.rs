//! The HTTP method of a request: named by each operation's route
//! ([`Operation`](crate::Operation)) and carried by the transport's
//! requests ([`transport`](crate::transport), which re-exports it). A
//! module of its own so that neither of the two depends on the other for it.

use std::fmt;

/// An HTTP method used by the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl Method {
    /// `"GET"` / `"POST"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
