//! Calls that change a WABA's or a number's settings and leave the same
//! state however often they are sent: [`subscribe_app`](PortingClient::subscribe_app),
//! [`set_two_step_pin`](PortingClient::set_two_step_pin) (retried under the
//! retry policy by the engine's `idempotent`), and local storage turned on
//! through the number's settings before a register (API v21.0 and newer,
//! called by the step's `prepare`).

use super::{wire, PortingClient};
use crate::error::{decode, Error, LocalStorageError};
use crate::ids::{PhoneNumberId, WabaId};
use crate::operation::Operation;
use crate::params::DataLocalizationRegion;
use crate::retry_policy::Deadline;
use crate::secret::Pin;
use crate::telemetry;

impl PortingClient {
    /// Subscribes this app to `waba_id`'s webhooks
    /// (`POST /{waba-id}/subscribed_apps`): the fix for
    /// [`ApiErrorKind::DestinationWebhookMissing`](crate::ApiErrorKind::DestinationWebhookMissing) ("Cannot migrate phone
    /// number."), and what a ported number needs to receive anything.
    /// Repeating it changes nothing, so it is retried under the client's
    /// [`RetryPolicy`](crate::RetryPolicy) like a read.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn subscribe_app(&self, waba_id: &WabaId) -> Result<(), Error> {
        self.idempotent(Operation::SubscribeApp, waba_id.as_str(), None, &[])
            .await
    }

    /// Sets (or changes) the number's two-step verification PIN
    /// (`POST /{phone-number-id}` with `{"pin": …}`). A register with two-step
    /// verification off already made its PIN the number's; call this to
    /// change it later. There is no API to turn two-step verification off.
    /// Repeating it with the same PIN changes nothing, so it is retried
    /// under the client's [`RetryPolicy`](crate::RetryPolicy).
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn set_two_step_pin(
        &self,
        phone_number_id: &PhoneNumberId,
        pin: &Pin,
    ) -> Result<(), Error> {
        let body = wire::pin_body(pin);
        let target = phone_number_id.as_str();
        let sent = [pin.secret()];
        self.idempotent(Operation::SetTwoStepPin, target, Some(body), &sent)
            .await
    }

    /// Turns local storage on in `region` unless the number's settings show
    /// it on there already, and confirms it by reading them again (see
    /// [`register`](Self::register)). Each request's throttle wait ends by
    /// `deadline`; failures are returned as they are (the step's retry
    /// loop repeats the whole check).
    pub(in crate::client) async fn ensure_local_storage(
        &self,
        id: &PhoneNumberId,
        region: &DataLocalizationRegion,
        deadline: &Deadline,
    ) -> Result<(), Error> {
        let before = self.read_local_storage(id, deadline).await?;
        if before.is_enabled_in(region) {
            return Ok(());
        }
        if let (true, Some(current)) = (before.is_enabled(), before.region) {
            // Moving a number's data is nobody's side effect to take here.
            return Err(LocalStorageError::OtherRegion {
                requested: region.clone(),
                current,
            }
            .into());
        }
        let operation = Operation::SetLocalStorage;
        let body = wire::local_storage_body(region);
        let response = self
            .send(operation, id.as_str(), &[], Some(body), deadline)
            .await?;
        wire::expect_success(operation, &response, self.inner.clock.as_ref())?;
        telemetry::local_storage_set(id, region);
        let after = self.read_local_storage(id, deadline).await?;
        if after.is_enabled_in(region) {
            Ok(())
        } else {
            Err(LocalStorageError::NotApplied {
                requested: region.clone(),
                status: after.status,
                region: after.region,
            }
            .into())
        }
    }

    /// `GET /{phone-number-id}/settings`: the number's `storage_configuration`.
    async fn read_local_storage(
        &self,
        id: &PhoneNumberId,
        deadline: &Deadline,
    ) -> Result<wire::StorageSettings, Error> {
        let operation = Operation::ReadLocalStorage;
        let response = self
            .send(operation, id.as_str(), &[], None, deadline)
            .await?;
        let value = decode(operation, &response, self.inner.clock.as_ref())?;
        wire::StorageSettings::from_value(&value)
            .ok_or_else(|| wire::shape_error(operation, &response))
    }
}
