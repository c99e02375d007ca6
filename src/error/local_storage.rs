//! Local storage that is not on in the region asked for, as the number's
//! settings read it.

use crate::params::DataLocalizationRegion;

/// Local storage (where Meta keeps the number's message data at rest) is
/// not on in the region `register` was asked for, as
/// `GET /{phone-number-id}/settings` reads it
/// (`storage_configuration`). From Graph API v21.0 on the client sets local
/// storage through that endpoint before `register`
/// ([`PortingClient::register`](crate::PortingClient::register)); when the
/// settings do not show it on in the region asked for, `register` is not
/// sent: a number registered without the storage its data must have would
/// store messages elsewhere from its first one.
///
/// Meta refusing the change itself is an
/// [`Error::Api`](crate::Error::Api) whose
/// [`operation`](crate::Error::operation) is
/// [`Operation::SetLocalStorage`](crate::Operation::SetLocalStorage).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocalStorageError {
    /// The number already stores its data in another region. Nothing was
    /// changed (the client does not move a number's data on its own) and
    /// `register` was not sent.
    #[error(
        "local storage of this number is already on in {current}, not {requested}: nothing was \
         changed and register was not sent"
    )]
    OtherRegion {
        /// The region asked for.
        requested: DataLocalizationRegion,
        /// The region the settings show, as Meta wrote it.
        current: String,
    },
    /// Meta accepted the change, but the settings read right after do not
    /// show local storage on in the region asked for. `register` was not
    /// sent; calling it again reads the settings again first.
    #[error(
        "local storage in {requested} was accepted, but the number's settings read \
         status {status:?} (region {region:?}): register was not sent"
    )]
    NotApplied {
        /// The region asked for.
        requested: DataLocalizationRegion,
        /// `storage_configuration.status` as read (`default`, …).
        status: String,
        /// `storage_configuration.data_localization_region` as read, if
        /// any.
        region: Option<String>,
    },
}

impl LocalStorageError {
    /// The region `register` was asked to store the number's data in.
    pub fn requested(&self) -> &DataLocalizationRegion {
        match self {
            Self::OtherRegion { requested, .. } | Self::NotApplied { requested, .. } => requested,
        }
    }

    /// What to do, in plain words.
    pub(crate) fn remediation(&self) -> &'static str {
        match self {
            Self::OtherRegion { .. } => {
                "The number already stores its data in another region: register with that \
                 region (or none) to keep it, or change the number's storage_configuration \
                 yourself (POST /{phone-number-id}/settings) if moving its data is intended, \
                 then call register again."
            }
            Self::NotApplied { .. } => {
                "Meta accepted local storage but the settings do not show it on: check the \
                 number's storage_configuration (GET /{phone-number-id}/settings) and whether \
                 the region is offered for it, then call register again (it reads the \
                 settings first)."
            }
        }
    }
}
