//! The typed client: performs each step's one request and moves the session.

mod builder;
mod phone_numbers;
mod wire;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use url::Url;

pub use builder::{
    PortingClientBuilder, DEFAULT_API_VERSION, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT,
};

use crate::error::{ApiErrorKind, ConfigError, Error};
use crate::ids::{PhoneNumberId, WabaId};
use crate::number::{self, PhoneNumberRecord};
use crate::operation::Operation;
use crate::params::{CodeMethod, DataLocalizationRegion, Language};
use crate::phone::PhoneNumber;
use crate::secret::{AccessToken, Pin, VerificationCode};
use crate::session::PortingSession;
use crate::state::{StateName, StepOutcome};
use crate::time::Clock;
use crate::transport::{HttpRequest, HttpResponse, Transport};

/// Drives porting sessions against the Graph API.
///
/// Cheap to clone (one `Arc`), `Send + Sync`, no global state: share one
/// client across tasks. Each step method checks that the step is legal for
/// the session (an [`Error::IllegalTransition`] sends nothing), performs the
/// step's one request, applies the outcome to the session (which is then
/// ready to persist) and returns the name of the session's new state; read
/// the rest (the phone number id…) from [`PortingSession::state`]. On an API
/// error the session records it too: a human-blocked case moves it to a
/// waiting state, a rejection to `Rejected`, and a wait (`Retry-After`) sets
/// [`PortingSession::not_before`].
///
/// ```no_run
/// use waba_porting::{
///     BusinessId, CodeMethod, Language, PhoneNumber, Pin, PortingClient, PortingSession,
///     VerificationCode, WabaId,
/// };
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = PortingClient::builder()
///     .access_token(std::env::var("WABA_ACCESS_TOKEN")?)
///     .build()?;
/// let mut session = PortingSession::new(
///     PhoneNumber::parse("+1 415 555 0123")?,
///     WabaId::new("102290129340398")?,
///     BusinessId::new("106540352242922")?,
/// );
/// client.start_migration(&mut session).await?;
/// client.request_code(&mut session, CodeMethod::Sms, &Language::default()).await?;
/// let code = VerificationCode::new("123-830")?; // what the customer received
/// client.verify_code(&mut session, &code).await?;
/// client.register(&mut session, &Pin::new("482913")?, None).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PortingClient {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Arc<dyn Transport>,
    token: AccessToken,
    api_root: Url,
    timeout: Duration,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for PortingClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortingClient")
            .field("api_root", &self.inner.api_root.as_str())
            .field("token", &self.inner.token)
            .field("timeout", &self.inner.timeout)
            .field("transport", &self.inner.transport)
            .field("clock", &self.inner.clock)
            .finish()
    }
}

// The fleet driver shares one client across tasks: keep it Send + Sync.
const _: fn() = || {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    shareable::<PortingClient>();
    shareable::<PortingSession>();
};

const USER_AGENT: &str = concat!("waba-porting/", env!("CARGO_PKG_VERSION"));

impl PortingClient {
    /// Starts configuring a client.
    pub fn builder() -> PortingClientBuilder {
        PortingClientBuilder::default()
    }

    /// The API root every request goes below (`https://graph.facebook.com/v25.0`).
    pub fn api_root(&self) -> &Url {
        &self.inner.api_root
    }

    /// Step 1: asks the destination WABA to take the number in
    /// (`POST /{waba-id}/phone_numbers`, `migrate_phone_number=true`).
    ///
    /// When Meta answers 2388012 ("already exists in your list"), the client
    /// looks the number up in the destination WABA and continues with its id:
    /// the session moves to `Initiated` and the call succeeds.
    pub async fn start_migration(&self, session: &mut PortingSession) -> Result<StateName, Error> {
        let operation = Operation::StartMigration;
        session.check(operation)?;
        let body = wire::start_body(session.phone_number());
        let response = self
            .send(operation, session.waba_id().as_str(), &[], Some(body))
            .await
            .and_then(|r| wire::expect_id(operation, &r));
        let outcome = match response {
            Ok(phone_number_id) => StepOutcome::MigrationStarted { phone_number_id },
            Err(Error::Api(e)) if e.kind() == ApiErrorKind::AlreadyInDestination => {
                let found = self
                    .find_phone_number(session.waba_id(), session.phone_number())
                    .await?;
                match found {
                    Some(record) => StepOutcome::ExistingNumberAdopted {
                        phone_number_id: record.id,
                    },
                    // Meta says it is there, the list says it is not: report
                    // Meta's answer, the session stays where it was.
                    None => return Err(Error::Api(e)),
                }
            }
            Err(error) => return Err(self.record_failure(session, operation, error)),
        };
        self.record_success(session, outcome)
    }

    /// Step 2: asks Meta to send a verification code to the number
    /// (`POST /{phone-number-id}/request_code`). Legal again after a code was
    /// requested, to get a new one.
    pub async fn request_code(
        &self,
        session: &mut PortingSession,
        method: CodeMethod,
        language: &Language,
    ) -> Result<StateName, Error> {
        let body = wire::request_code_body(method, language);
        let outcome = StepOutcome::CodeRequested {
            method,
            language: language.clone(),
        };
        self.number_step(session, Operation::RequestCode, body, outcome)
            .await
    }

    /// Step 3: sends the code the customer received
    /// (`POST /{phone-number-id}/verify_code`).
    pub async fn verify_code(
        &self,
        session: &mut PortingSession,
        code: &VerificationCode,
    ) -> Result<StateName, Error> {
        let body = wire::verify_code_body(code);
        self.number_step(
            session,
            Operation::VerifyCode,
            body,
            StepOutcome::CodeVerified,
        )
        .await
    }

    /// Step 4: registers the number with a new 6-digit PIN
    /// (`POST /{phone-number-id}/register`), optionally with a data
    /// localization region. With two-step verification off, the PIN becomes
    /// the number's new two-step PIN.
    pub async fn register(
        &self,
        session: &mut PortingSession,
        pin: &Pin,
        data_localization_region: Option<&DataLocalizationRegion>,
    ) -> Result<StateName, Error> {
        let body = wire::register_body(pin, data_localization_region);
        self.number_step(session, Operation::Register, body, StepOutcome::Registered)
            .await
    }

    /// Lists the phone numbers of a WABA (all pages).
    pub async fn list_phone_numbers(
        &self,
        waba_id: &WabaId,
    ) -> Result<Vec<PhoneNumberRecord>, Error> {
        let mut all = Vec::new();
        self.scan_phone_numbers(waba_id, |page| {
            all.extend(page);
            false
        })
        .await?;
        Ok(all)
    }

    /// Reads one number's status
    /// (`GET /{phone-number-id}?fields=id,display_phone_number,verified_name,status,code_verification_status,name_status,platform_type`).
    ///
    /// This is what the client reads to reconcile a session after a step
    /// whose outcome is unknown: `status: CONNECTED` means registered,
    /// `code_verification_status: VERIFIED` means the code was accepted.
    pub async fn read_phone_number(
        &self,
        phone_number_id: &PhoneNumberId,
    ) -> Result<PhoneNumberRecord, Error> {
        let operation = Operation::ReadPhoneNumber;
        let query = [("fields", number::FIELDS)];
        let response = self
            .send(operation, phone_number_id.as_str(), &query, None)
            .await?;
        let value = wire::decode(operation, &response)?;
        PhoneNumberRecord::from_value(&value).ok_or_else(|| wire::shape_error(operation, &response))
    }

    /// Finds `phone` among the WABA's numbers, stopping at the first match.
    async fn find_phone_number(
        &self,
        waba_id: &WabaId,
        phone: &PhoneNumber,
    ) -> Result<Option<PhoneNumberRecord>, Error> {
        let mut found = None;
        self.scan_phone_numbers(waba_id, |page| {
            found = page.into_iter().find(|r| {
                r.display_phone_number
                    .as_deref()
                    .is_some_and(|d| phone.matches_display(d))
            });
            found.is_some()
        })
        .await?;
        Ok(found)
    }

    /// Walks the pages until `visit` returns true or the pages end.
    async fn scan_phone_numbers(
        &self,
        waba_id: &WabaId,
        mut visit: impl FnMut(Vec<PhoneNumberRecord>) -> bool,
    ) -> Result<(), Error> {
        let operation = Operation::ListPhoneNumbers;
        let mut after: Option<String> = None;
        for _ in 0..phone_numbers::MAX_PAGES {
            let mut query = vec![
                ("fields", number::FIELDS),
                ("limit", phone_numbers::PAGE_SIZE),
            ];
            if let Some(cursor) = after.as_deref() {
                query.push(("after", cursor));
            }
            let response = self.send(operation, waba_id.as_str(), &query, None).await?;
            let value = wire::decode(operation, &response)?;
            let page = phone_numbers::parse_page(&value)
                .ok_or_else(|| wire::shape_error(operation, &response))?;
            if visit(page.records) {
                return Ok(());
            }
            match page.after {
                Some(next) => after = Some(next),
                None => return Ok(()),
            }
        }
        Ok(())
    }

    /// A step addressed to the session's phone number id.
    async fn number_step(
        &self,
        session: &mut PortingSession,
        operation: Operation,
        body: Value,
        outcome: StepOutcome,
    ) -> Result<StateName, Error> {
        session.check(operation)?;
        // Every state that allows a number step knows the id; refuse otherwise.
        let id = session
            .state()
            .phone_number_id()
            .cloned()
            .ok_or_else(|| session.state().refuse(operation))?;
        let result = self
            .send(operation, id.as_str(), &[], Some(body))
            .await
            .and_then(|r| wire::expect_success(operation, &r));
        match result {
            Ok(()) => self.record_success(session, outcome),
            Err(error) => Err(self.record_failure(session, operation, error)),
        }
    }

    fn record_success(
        &self,
        session: &mut PortingSession,
        outcome: StepOutcome,
    ) -> Result<StateName, Error> {
        let now = self.inner.clock.now();
        Ok(session.apply(outcome, now)?.name())
    }

    /// Applies a failed step to the session (human-blocked and rejected
    /// cases change the state; every failure sets or clears when to retry)
    /// and returns the error.
    fn record_failure(
        &self,
        session: &mut PortingSession,
        operation: Operation,
        error: Error,
    ) -> Error {
        let now = self.inner.clock.now();
        if let Some(kind) = error.api_kind() {
            if let Err(illegal) = session.apply(StepOutcome::Failed { operation, kind }, now) {
                return illegal.into();
            }
        }
        // The latest answer decides: a failure without a wait clears an
        // older one rather than leaving a stale "wait until" behind.
        session.set_not_before(error.retry_after().map(|wait| now.saturating_add(wait)));
        error
    }

    /// Sends `operation` to `/{object_id}/{edge}`; any HTTP status is `Ok`.
    async fn send(
        &self,
        operation: Operation,
        object_id: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<HttpResponse, Error> {
        let (method, edge) = operation.route();
        let mut url = self.inner.api_root.clone();
        url.path_segments_mut()
            .map_err(|()| ConfigError::InvalidBaseUrl {
                reason: "cannot be a base",
            })?
            .push(object_id)
            .extend((!edge.is_empty()).then_some(edge));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = HttpRequest::new(method, url);
        request.timeout = Some(self.inner.timeout);
        request.headers.push(
            "Authorization",
            format!("Bearer {}", self.inner.token.secret()),
        );
        request.headers.push("Accept", "application/json");
        request.headers.push("User-Agent", USER_AGENT);
        if let Some(body) = body {
            request.headers.push("Content-Type", "application/json");
            request.body = body.to_string().into_bytes();
        }
        Ok(self.inner.transport.send(request).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}

    #[test]
    fn client_is_send_sync_and_cheap_to_clone() {
        assert_send_sync_clone::<PortingClient>();
        assert_send_sync_clone::<PortingSession>();
    }

    #[test]
    fn debug_redacts_the_token() {
        #[derive(Debug)]
        struct Never;
        #[async_trait::async_trait]
        impl Transport for Never {
            async fn send(&self, _: HttpRequest) -> Result<HttpResponse, crate::TransportError> {
                Err(crate::TransportError::from_kind(
                    crate::TransportErrorKind::Other,
                ))
            }
        }
        let client = PortingClient::builder()
            .access_token("EAAG-top-secret")
            .transport(Never)
            .build()
            .unwrap();
        let shown = format!("{client:?}");
        assert!(
            !shown.contains("EAAG-top-secret") && shown.contains("[redacted]"),
            "{shown}"
        );
    }
}
