//! The programmatic route's four steps — `start_migration`,
//! `request_code`, `verify_code`, `register` — and [`Step`], what each one
//! is: the request it sends (target, body, the secret it carries), what a
//! success becomes, and how a read of the number judges it (done, or Meta
//! past its purpose). Each step method checks its input and hands its
//! [`Step`] to the engine (`run_step`, only called from here); the answer
//! comes back to `super::answers`.

use super::{wire, PortingClient};
use crate::error::Error;
use crate::operation::Operation;
use crate::params::{CodeMethod, DataLocalizationRegion, Language};
use crate::phone::PhoneNumber;
use crate::retry_policy::Deadline;
use crate::secret::{Pin, VerificationCode};
use crate::session::{InFlight, PortingSession};
use crate::state::{Observed, PortingState, StateName, StepOutcome};

impl PortingClient {
    /// Step 1: asks the destination WABA to take the number in
    /// (`POST /{waba-id}/phone_numbers`, `migrate_phone_number=true`).
    ///
    /// When Meta answers 2388012 ("already exists in your list") or 100
    /// "Phone number is already registered with WhatsApp Business" (HTTP
    /// 409 in Meta's OpenAPI description), the client looks the number up
    /// in the destination WABA and continues from where the listed number
    /// stands: `Registered` when it is connected, `CodeVerified` when its
    /// code was verified, `Initiated` otherwise. A number not listed there
    /// leaves Meta's answer as the error
    /// ([`ApiErrorKind::AlreadyInDestination`](crate::ApiErrorKind::AlreadyInDestination),
    /// [`ApiErrorKind::AlreadyRegistered`](crate::ApiErrorKind::AlreadyRegistered)).
    ///
    /// # Errors
    /// See [`Error`]; a refused step moves the session as its case says.
    pub async fn start_migration(&self, session: &mut PortingSession) -> Result<StateName, Error> {
        self.run_step(session, Step::Start).await
    }

    /// Step 2: asks Meta to send a verification code to the number
    /// (`POST /{phone-number-id}/request_code`). Legal again after a code was
    /// requested (or verified), to get a new one. The code lives about ten
    /// minutes ([`CODE_LIFETIME`](crate::CODE_LIFETIME)).
    ///
    /// `language` is sent as Meta documents it, `xx_XX` (see [`Language`]);
    /// a value in another shape (one loaded from a session an earlier
    /// version saved, such as `de`) is refused here with
    /// [`Error::Validation`], nothing sent.
    ///
    /// Never re-sent blindly: after an unknown outcome (timeout, lost answer,
    /// 5xx) the client reads the number, and unless it shows the code
    /// verified, records the code as possibly sent (`CodeRequested`) and
    /// returns — ask the customer, and call this again if no code arrived.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn request_code(
        &self,
        session: &mut PortingSession,
        method: CodeMethod,
        language: &Language,
    ) -> Result<StateName, Error> {
        if !language.is_documented() {
            return Err(language.refusal().into());
        }
        self.run_step(session, Step::RequestCode { method, language })
            .await
    }

    /// Step 3: sends the code the customer received
    /// (`POST /{phone-number-id}/verify_code`). After an unknown outcome the
    /// client reads the number first and sends the code again only if it is
    /// not verified.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn verify_code(
        &self,
        session: &mut PortingSession,
        code: &VerificationCode,
    ) -> Result<StateName, Error> {
        self.run_step(session, Step::VerifyCode { code }).await
    }

    /// Step 4: registers the number with a new 6-digit PIN
    /// (`POST /{phone-number-id}/register`), optionally with local storage
    /// in a region (where Meta keeps the number's message data at rest).
    /// With two-step verification off, the PIN becomes the number's new
    /// two-step PIN.
    ///
    /// How the region is set depends on the client's
    /// [API version](crate::PortingClientBuilder::api_version):
    ///
    /// - **v21.0 and newer** — Meta's OpenAPI description marks
    ///   `register`'s `data_localization_region` "deprecated in v21+"
    ///   (still accepted: deprecated, not removed). Before sending
    ///   `register`, the client reads the number's settings
    ///   (`GET /{phone-number-id}/settings`, [`Operation::ReadLocalStorage`]);
    ///   unless they show `storage_configuration` with status
    ///   `in_country_storage_enabled` in that region, it turns local storage
    ///   on (`POST /{phone-number-id}/settings` with
    ///   `{"storage_configuration": {"enabled": true, "region": "DE"}}`,
    ///   [`Operation::SetLocalStorage`]) and reads the settings again to
    ///   confirm. `register` then goes without `data_localization_region`.
    ///   Both calls leave the same state however often they are sent: they
    ///   are retried under the [`RetryPolicy`](crate::RetryPolicy) like reads, need no
    ///   in-flight marker, and a process that dies between them and
    ///   `register` finds local storage on at its next call (one read).
    ///   They are made only when `register` is about to be sent (a legal
    ///   step, not done yet, within the register budget), once per call.
    ///   Meta refusing the change is an [`Error::Api`] whose
    ///   [`operation`](Error::operation) is [`Operation::SetLocalStorage`]
    ///   (or `ReadLocalStorage`); settings that show local storage on in
    ///   another region, or not on after Meta accepted the change, are an
    ///   [`Error::LocalStorage`]. In every case `register` is not sent and
    ///   the session is unchanged.
    /// - **before v21.0** — the region goes in `register`'s body as
    ///   `data_localization_region`.
    ///
    /// Each call spends one of Meta's 10 register calls per 72 hours: the
    /// session refuses one past [`REGISTER_BUDGET`](crate::REGISTER_BUDGET)
    /// ([`Error::WaitRequired`], nothing sent). After an unknown outcome the
    /// client reads the number first (`CONNECTED` means done) and re-sends
    /// only if it is not connected. Always pass the same PIN for a session:
    /// a register that went through set it.
    ///
    /// When Meta answers 100 "Phone number is already registered or in
    /// invalid state for registration" (HTTP 422 in Meta's OpenAPI
    /// description), the client reads the number: connected in the
    /// destination, the session is `Registered` (as after a lost answer);
    /// otherwise the error is [`ApiErrorKind::AlreadyRegistered`](crate::ApiErrorKind::AlreadyRegistered) and the
    /// session stays where it was.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn register(
        &self,
        session: &mut PortingSession,
        pin: &Pin,
        data_localization_region: Option<&DataLocalizationRegion>,
    ) -> Result<StateName, Error> {
        let (region, local_storage) = if self.inner.local_storage_by_settings {
            (None, data_localization_region)
        } else {
            (data_localization_region, None)
        };
        let step = Step::Register {
            pin,
            region,
            local_storage,
        };
        self.run_step(session, step).await
    }

    /// What `step` needs done before it is sent: local storage turned on
    /// through the number's settings before a register (API v21.0 and
    /// newer), once per call (`done`: confirmed by an earlier attempt).
    /// Returns whether the step has such a preparation (time may have
    /// passed).
    pub(in crate::client) async fn prepare(
        &self,
        session: &PortingSession,
        step: &Step<'_>,
        deadline: &Deadline,
        done: &mut bool,
    ) -> Result<bool, Error> {
        let Step::Register {
            local_storage: Some(region),
            ..
        } = step
        else {
            return Ok(false);
        };
        if !*done {
            if let Some(id) = session.state().phone_number_id().cloned() {
                self.ensure_local_storage(&id, region, deadline).await?;
                *done = true;
            }
        }
        Ok(true)
    }
}

/// One of the four steps, with its inputs.
pub(in crate::client) enum Step<'a> {
    Start,
    RequestCode {
        method: CodeMethod,
        language: &'a Language,
    },
    VerifyCode {
        code: &'a VerificationCode,
    },
    Register {
        pin: &'a Pin,
        /// Sent in the body (`data_localization_region`, before API v21.0).
        region: Option<&'a DataLocalizationRegion>,
        /// Set through the number's settings first (API v21.0 and newer).
        local_storage: Option<&'a DataLocalizationRegion>,
    },
}

impl Step<'_> {
    /// The request the step sends.
    pub(in crate::client) fn operation(&self) -> Operation {
        match self {
            Self::Start => Operation::StartMigration,
            Self::RequestCode { .. } => Operation::RequestCode,
            Self::VerifyCode { .. } => Operation::VerifyCode,
            Self::Register { .. } => Operation::Register,
        }
    }

    /// The object the request goes to: the destination WABA for start,
    /// the number for the others (refused while the session has none).
    pub(in crate::client) fn target(&self, session: &PortingSession) -> Result<String, Error> {
        match self {
            Self::Start => Ok(session.target_waba_id().as_str().to_owned()),
            _ => session
                .state()
                .phone_number_id()
                .map(|id| id.as_str().to_owned())
                .ok_or_else(|| session.state().refuse(self.operation()).into()),
        }
    }

    /// The request's body.
    pub(in crate::client) fn body(&self, phone: &PhoneNumber) -> Vec<u8> {
        match self {
            Self::Start => wire::start_body(phone),
            Self::RequestCode { method, language } => wire::request_code_body(*method, language),
            Self::VerifyCode { code } => wire::verify_code_body(code),
            Self::Register { pin, region, .. } => wire::register_body(pin, *region),
        }
    }

    /// The secret the request carries, masked in what its answer keeps.
    pub(in crate::client) fn secret(&self) -> Option<&str> {
        match self {
            Self::VerifyCode { code } => Some(code.secret()),
            Self::Register { pin, .. } => Some(pin.secret()),
            Self::Start | Self::RequestCode { .. } => None,
        }
    }

    /// A code request's method and language (kept in its in-flight marker).
    pub(in crate::client) fn code_params(&self) -> Option<(CodeMethod, &Language)> {
        match self {
            Self::RequestCode { method, language } => Some((*method, language)),
            _ => None,
        }
    }

    /// The outcome of a success (not used for `Start`, whose answer is read).
    pub(in crate::client) fn success(&self) -> StepOutcome {
        match self {
            Self::RequestCode { method, language } => StepOutcome::CodeRequested {
                method: *method,
                language: (*language).clone(),
                unconfirmed: false,
                sent_at: None,
            },
            Self::VerifyCode { .. } => StepOutcome::CodeVerified,
            Self::Start | Self::Register { .. } => StepOutcome::Registered,
        }
    }

    /// Whether an earlier request of this step may have gone through
    /// unseen: a register of ours whose outcome was unknown may have set
    /// the PIN — remembered by the session until a register succeeds, so
    /// that an explicit `reconcile` in between does not lose it. Asked
    /// before the step in flight is settled (which clears the marker).
    pub(in crate::client) fn earlier_unknown(&self, session: &PortingSession) -> bool {
        matches!(self, Self::Register { .. })
            && (session.register_unconfirmed()
                || session
                    .in_flight()
                    .is_some_and(|f| f.operation == Operation::Register))
    }

    /// Whether the read shows Meta past this step's purpose: a code
    /// request's and a verification's is a verified code, register's a
    /// connected number. Decided by what Meta said, not by the session.
    pub(in crate::client) fn passed(&self, observed: Observed) -> bool {
        match self {
            Self::Start => false,
            Self::RequestCode { .. } | Self::VerifyCode { .. } => {
                observed.code_verified || observed.is_registered()
            }
            Self::Register { .. } => observed.is_registered(),
        }
    }

    /// Whether `flight` is this very request (a code request with another
    /// method or language is a new, deliberate request).
    pub(in crate::client) fn same_request_as(&self, flight: &InFlight) -> bool {
        match self {
            Self::RequestCode { method, language } => {
                flight.operation == Operation::RequestCode
                    && flight.method == Some(*method)
                    && flight.language.as_ref() == Some(*language)
            }
            other => flight.operation == other.operation(),
        }
    }

    /// Whether a reconciled session shows this step done, so that it must
    /// not be sent again: a code request whose answer was lost counts as
    /// done (it is never re-sent blindly).
    pub(in crate::client) fn done_in(&self, state: &PortingState) -> bool {
        let reached = state.resume_point().name();
        match self {
            Self::Start => reached != StateName::Draft,
            Self::RequestCode { .. } => reached != StateName::Initiated,
            Self::VerifyCode { .. } => {
                matches!(reached, StateName::CodeVerified | StateName::Registered)
            }
            Self::Register { .. } => reached == StateName::Registered,
        }
    }
}
