//! The steps of the two routes besides the programmatic one: Embedded
//! Signup (exchange the popup's code, check what was shared, subscribe) and
//! Multi-Partner Solution migration (set the intent, follow it, subscribe
//! the destination). The number's own steps (`start_migration` into the
//! destination of a solution migration, the code, `register`) are the
//! programmatic route's.
//!
//! The two requests here with a side effect, the code exchange and the
//! intent, are sent once and never retried (a code is single-use; an
//! intent cannot be read back): rather than the engine's `run_step`, each
//! takes its admission and marker itself (`admit`, then `mark_and_save`)
//! before `send_admitted`, and records through the engine's `record_*`.
//! The engine's reconcile settles them by `reconcile_exchange` and
//! `set_intent` below.
//!
//! Sources (cited per call below):
//! - Embedded Signup, *Onboarding business customers as a Tech Provider*
//!   (the code exchange, the subscription, registration):
//!   <https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/onboarding-customers-as-a-tech-provider>
//! - *Manage accounts* (`debug_token` and its `granular_scopes`):
//!   <https://developers.facebook.com/documentation/business-messaging/whatsapp/solution-providers/manage-accounts>
//! - *Migrating WABAs among Multi-Partner Solutions via Meta Business
//!   Suite* (the intent, its status, the destination's steps):
//!   <https://developers.facebook.com/documentation/business-messaging/whatsapp/solution-providers/support/migrating-wabas-among-solutions-via-meta-business-suite>

use std::ops::ControlFlow;

use serde::Serialize;
use serde_json::Value;

use super::request::Admission;
use super::{wire, PortingClient};
use crate::checkpoint::CheckpointStage;
use crate::credentials::{CredentialKey, TokenError, TokenErrorKind};
use crate::error::{decode, ApiError, ApiErrorKind, ConfigError, Error, GraphError};
use crate::ids::{MigrationIntentId, WabaId};
use crate::number::{id_text, CodeVerificationStatus};
use crate::operation::Operation;
use crate::route::Route;
use crate::secret::AccessToken;
use crate::session::PortingSession;
use crate::signup::SignupResult;
use crate::state::{IntentProgress, PortingState, StateName, StepOutcome};
use crate::validation::ValidationError;

/// The scope whose `target_ids` list the WABAs a business token manages.
const MANAGEMENT_SCOPE: &str = "whatsapp_business_management";

/// The fields of a migration intent read.
const INTENT_FIELDS: &str = "id,status,destination_waba,solution";

impl PortingClient {
    /// Embedded Signup: exchanges the popup's authorization code for the
    /// customer's business token
    /// (`GET /oauth/access_token?client_id=…&client_secret=…&code=…`, no
    /// `redirect_uri`) and stores it through the
    /// [`TokenProvider`](crate::TokenProvider) under the session's
    /// [`CredentialKey`]. Never in the session: it holds only the number's
    /// id from the popup, and moves to
    /// [`Authorized`](PortingState::Authorized).
    ///
    /// Call it from the handler that receives the popup's result, at once:
    /// a code is single-use and lives 30 seconds (Meta, *Embedded Signup —
    /// Implementation*, "Response callback"), so it is sent once, never
    /// retried after a backoff. A code Meta refuses as used or expired (100
    /// / 36009, "…has expired") is
    /// [`ApiErrorKind::SignupCodeRefused`]: the session goes back to
    /// [`AwaitingSignup`](PortingState::AwaitingSignup) and the customer
    /// finishes the popup again.
    ///
    /// A process that stops after sending leaves the exchange in flight;
    /// the spent code is never sent again. [`reconcile`](Self::reconcile)
    /// settles it by asking the provider (a token held for the session's
    /// key: done, and the sharing check that follows proves it fits;
    /// otherwise the customer finishes the popup again), and a call with a
    /// new popup's code exchanges that code (a new request, not a repeat),
    /// its token replacing whatever the provider held.
    ///
    /// # Errors
    /// [`ValidationError::SignupForAnotherSession`] when the result names
    /// another WABA or business; [`ConfigError::MissingAppCredentials`];
    /// [`Error::Token`] without a provider, or when it cannot store the
    /// token; an [`IllegalTransition`](crate::IllegalTransition) outside
    /// `AwaitingSignup`/`SignupFinished`; the exchange's errors.
    pub async fn exchange_signup_code(
        &self,
        session: &mut PortingSession,
        signup: &SignupResult,
    ) -> Result<StateName, Error> {
        let operation = Operation::ExchangeSignupCode;
        if !matches!(session.route(), Route::EmbeddedSignup) {
            return Err(session.state().refuse(operation).into());
        }
        if &signup.waba_id != session.waba_id() {
            return Err(ValidationError::SignupForAnotherSession("WABA").into());
        }
        if signup
            .business_id
            .as_ref()
            .is_some_and(|business| business != session.business_id())
        {
            return Err(ValidationError::SignupForAnotherSession("business").into());
        }
        let Some((app_id, app_secret)) = self.inner.app.clone() else {
            return Err(ConfigError::MissingAppCredentials.into());
        };
        let Some(provider) = self.inner.tokens.clone() else {
            return Err(TokenError::new(
                TokenErrorKind::Missing,
                "the Embedded Signup code exchange keeps the customer's token through a token \
                 provider (PortingClientBuilder::token_provider), and the client has none",
            )
            .into());
        };
        let key = CredentialKey::of(session);
        // An earlier exchange whose outcome is unknown: its code is spent
        // (or dead: codes live 30 s). This code is a new request, and its
        // token replaces whatever the provider holds.
        if session
            .in_flight()
            .is_some_and(|flight| flight.operation == operation)
        {
            session.settle(true);
        }
        let finished = match session.state() {
            PortingState::SignupFinished { phone_number_id } => {
                phone_number_id != &signup.phone_number_id
            }
            _ => true,
        };
        session.check(operation)?;
        let deadline = self.deadline();
        if self.inner.throttle.is_some() {
            self.admit(operation, &deadline).await?;
        }
        // The popup's number and the marker are saved together: a session
        // is never saved as finished without its exchange under way.
        let snapshot = session.clone();
        if finished {
            let outcome = StepOutcome::SignupFinished {
                phone_number_id: signup.phone_number_id.clone(),
            };
            session.apply(outcome, self.now())?;
        }
        self.mark_and_save(session, operation, None, self.now(), Some(snapshot))
            .await?;
        let query = [
            ("client_id", app_id.as_str()),
            ("client_secret", app_secret.secret()),
            ("code", signup.code.secret()),
        ];
        let sent = [app_secret.secret(), signup.code.secret()];
        let answer = self
            .send_admitted(operation, "oauth", &query, None, Admission::Done)
            .await
            .and_then(|response| {
                let value = decode(operation, &response, self.inner.clock.as_ref())?;
                access_token_of(&value).ok_or_else(|| wire::shape_error(operation, &response))
            })
            .map_err(|error| without_body(error.redacting_sent(&sent)));
        let token = match answer {
            Ok(token) => token,
            Err(error) => return Err(self.record_failure(session, operation, error).await),
        };
        // Not stored: the marker stays, and the next exchange asks the
        // provider again before spending a new code.
        provider.store(&key, token).await?;
        self.record_success(session, operation, StepOutcome::SignupCodeExchanged)
            .await
    }

    /// Settles a code exchange whose outcome is unknown: a token the
    /// provider holds for the session's key means it went through; else
    /// the code is spent or dead (codes live 30 seconds), and the customer
    /// finishes the popup again.
    pub(super) async fn reconcile_exchange(
        &self,
        session: &mut PortingSession,
    ) -> Result<StateName, Error> {
        let operation = Operation::ExchangeSignupCode;
        // A marker outside `SignupFinished` (a session saved by another
        // version, or edited) settles to the popup.
        let finished = matches!(session.state(), PortingState::SignupFinished { .. });
        let held = match &self.inner.tokens {
            Some(provider) if finished => provider.token(&CredentialKey::of(session)).await.is_ok(),
            _ => false,
        };
        let outcome = if held {
            StepOutcome::SignupCodeExchanged
        } else {
            // Settled: the spent code is never sent again.
            session.settle(true);
            StepOutcome::failed(operation, ApiErrorKind::SignupCodeRefused)
        };
        self.record_success(session, operation, outcome).await
    }

    /// Subscribes the app to the WABA the number moves into
    /// (`POST /{waba-id}/subscribed_apps`, with the customer's token), and
    /// first, for an Embedded Signup, checks what the customer shared: the
    /// business token's `granular_scopes` (`GET /debug_token`, with the
    /// client's static token, or else the app token `{app-id}|{app-secret}`)
    /// must list the session's WABA under `whatsapp_business_management`.
    /// Then it reads the number's `code_verification_status`: a number the
    /// popup verified goes straight to register
    /// ([`CodeVerified`](PortingState::CodeVerified)), another one to the
    /// code ([`Initiated`](PortingState::Initiated)). For a solution
    /// migration, the destination WABA Meta created is subscribed (first
    /// asking Meta for the customer's business token for it,
    /// `GET /{solution-id}/access_token`, when the token provider holds
    /// none) and the session is
    /// [`DestinationReady`](PortingState::DestinationReady):
    /// next, [`start_migration`](Self::start_migration) moves the number
    /// into it.
    ///
    /// Only reads and a subscription that changes nothing when repeated
    /// are sent: safe to call again after any failure.
    ///
    /// # Errors
    /// [`ApiErrorKind::AssetsNotShared`] (the session goes back to
    /// [`AwaitingSignup`](PortingState::AwaitingSignup)); an
    /// [`IllegalTransition`](crate::IllegalTransition) in another state; the
    /// calls' errors.
    pub async fn subscribe_app_for(
        &self,
        session: &mut PortingSession,
    ) -> Result<StateName, Error> {
        let operation = Operation::SubscribeApp;
        session.check(operation)?;
        match session.state() {
            PortingState::Authorized { .. } => self.check_sharing(session).await?,
            PortingState::IntentAccepted { .. } => self.ensure_destination_token(session).await?,
            _ => {}
        }
        let client = self.for_session(session);
        loop {
            let result = client.subscribe_and_read(session).await;
            if let ControlFlow::Break(result) = client.after_call(result).await {
                return result;
            }
        }
    }

    /// [`subscribe_app_for`](Self::subscribe_app_for) after the sharing
    /// check, through the customer's client.
    async fn subscribe_and_read(&self, session: &mut PortingSession) -> Result<StateName, Error> {
        let operation = Operation::SubscribeApp;
        let (waba, number) = match session.state() {
            PortingState::Authorized { phone_number_id } => {
                (session.waba_id().clone(), Some(phone_number_id.clone()))
            }
            PortingState::IntentAccepted {
                destination_waba_id,
                ..
            } => (destination_waba_id.clone(), None),
            _ => return Err(session.state().refuse(operation).into()),
        };
        session.begin(operation, self.now(), None);
        if let Err(error) = self.idempotent(operation, waba.as_str(), None, &[]).await {
            return Err(self.record_failure(session, operation, error).await);
        }
        let verified = match number {
            Some(id) => match self.read_number(&id, &self.deadline()).await {
                Ok(record) => {
                    record.code_verification_status == Some(CodeVerificationStatus::Verified)
                }
                Err(error) => return Err(self.record_read_failure(session, error).await),
            },
            None => false,
        };
        self.record_success(session, operation, StepOutcome::AppSubscribed { verified })
            .await
    }

    /// Solution migration, accepted: when the token provider holds no
    /// token for the destination WABA, asks Meta for the customer's
    /// business token (`GET /{solution-id}/access_token?business_id=…`,
    /// with the client's static token: Meta, *Migrating WABAs among
    /// Multi-Partner Solutions via Meta Business Suite*, the Solution
    /// Partner's step 1) and stores it through the provider. The answer is
    /// read in both shapes Meta shows: `{"data":[{"access_token"}]}` (the
    /// guide) and `{"access_token", "expires_at"}` (its OpenAPI
    /// description).
    async fn ensure_destination_token(&self, session: &mut PortingSession) -> Result<(), Error> {
        let operation = Operation::FetchSolutionToken;
        let (Some(provider), Route::SolutionMigration { solution_id }) =
            (self.inner.tokens.clone(), session.route().clone())
        else {
            return Ok(());
        };
        let key = CredentialKey::of(session);
        match provider.token(&key).await {
            Ok(_) => return Ok(()),
            Err(error) if error.kind() == TokenErrorKind::Missing => {}
            Err(error) => return Err(error.into()),
        }
        session.begin(operation, self.now(), None);
        let business = session.business_id().as_str().to_owned();
        let query = [("business_id", business.as_str())];
        let deadline = self.deadline();
        let answer = self
            .send(operation, solution_id.as_str(), &query, None, &deadline)
            .await
            .and_then(|response| {
                let value = decode(operation, &response, self.inner.clock.as_ref())?;
                let listed = value
                    .get("data")
                    .and_then(Value::as_array)
                    .and_then(|data| data.first());
                access_token_of(listed.unwrap_or(&value))
                    .ok_or_else(|| wire::shape_error(operation, &response))
            })
            .map_err(without_body);
        let token = match answer {
            Ok(token) => token,
            // Recorded as the step's (the fetch has no state of its own).
            Err(error) => {
                return Err(self
                    .record_failure(session, Operation::SubscribeApp, error)
                    .await)
            }
        };
        provider.store(&key, token).await?;
        Ok(())
    }

    /// Embedded Signup: whether the customer's token manages the session's
    /// WABA (`GET /debug_token?input_token=…`).
    async fn check_sharing(&self, session: &mut PortingSession) -> Result<(), Error> {
        let operation = Operation::ReadTokenScopes;
        let token = match &self.inner.tokens {
            Some(provider) => provider.token(&CredentialKey::of(session)).await?,
            None => match &self.inner.token {
                Some(token) => token.clone(),
                None => return Err(ConfigError::MissingAccessToken.into()),
            },
        };
        session.begin(operation, self.now(), None);
        let query = [("input_token", token.secret())];
        let sent = [token.secret()];
        let deadline = self.deadline();
        let answer = self
            .send(operation, "debug_token", &query, None, &deadline)
            .await
            .and_then(|response| {
                let value = decode(operation, &response, self.inner.clock.as_ref())?;
                let data = value
                    .get("data")
                    .ok_or_else(|| wire::shape_error(operation, &response))?;
                Ok(sharing(data, session.waba_id()))
            })
            .map_err(|error| error.redacting_sent(&sent));
        let refusal = match answer {
            Ok(Sharing::Shared) => return Ok(()),
            Ok(Sharing::NotShared) => format!(
                "the customer's business token does not manage WABA {} \
                 (debug_token: no {MANAGEMENT_SCOPE} scope for it): the popup did not share it",
                session.waba_id()
            ),
            Ok(Sharing::Invalid) => "the customer's business token is not valid \
                 (debug_token: is_valid false): the customer finishes the popup again"
                .to_owned(),
            // Recorded as the step's (the check has no state of its own).
            Err(error) => {
                return Err(self
                    .record_failure(session, Operation::SubscribeApp, error)
                    .await);
            }
        };
        let graph = GraphError {
            message: Some(refusal),
            ..GraphError::default()
        };
        let error =
            ApiError::new(graph, operation, 200, None).reclassified(ApiErrorKind::AssetsNotShared);
        Err(self
            .record_failure(session, Operation::SubscribeApp, error.into())
            .await)
    }

    /// Solution migration: asks the customer to move the session's WABA
    /// to the route's solution
    /// (`POST /{waba-id}/set_solution_migration_intent` with
    /// `{"solution_id": …}`, with the source WABA's business token), and
    /// keeps the intent's id: the session then waits for the customer to
    /// accept it in Meta Business Suite (Business settings → Requests →
    /// Received).
    ///
    /// A request whose answer was lost is sent again by the next call:
    /// Meta offers no way to look an intent up, and while it is pending
    /// Meta answers a repeat with the same intent (the simulator plays
    /// this) — one request reaches the customer.
    ///
    /// # Errors
    /// An [`IllegalTransition`](crate::IllegalTransition) unless the session
    /// is a solution migration in
    /// [`IntentDraft`](PortingState::IntentDraft); the call's errors.
    pub async fn set_migration_intent(
        &self,
        session: &mut PortingSession,
    ) -> Result<StateName, Error> {
        let client = self.for_session(session);
        loop {
            let result = client.set_intent(session).await;
            if let ControlFlow::Break(result) = client.after_call(result).await {
                return result;
            }
        }
    }

    pub(super) async fn set_intent(
        &self,
        session: &mut PortingSession,
    ) -> Result<StateName, Error> {
        let operation = Operation::SetMigrationIntent;
        let Route::SolutionMigration { solution_id } = session.route().clone() else {
            return Err(session.state().refuse(operation).into());
        };
        session.check(operation)?;
        let deadline = self.deadline();
        if self.inner.throttle.is_some() {
            self.admit(operation, &deadline).await?;
        }
        let snapshot = session.clone();
        self.mark_and_save(session, operation, None, self.now(), Some(snapshot))
            .await?;
        #[derive(Serialize)]
        struct IntentBody<'a> {
            solution_id: &'a str,
        }
        let body = serde_json::to_vec(&IntentBody {
            solution_id: solution_id.as_str(),
        })
        .unwrap_or_default();
        let waba = session.waba_id().as_str().to_owned();
        let answer = self
            .send_admitted(operation, &waba, &[], Some(body), Admission::Done)
            .await
            .and_then(|response| {
                let value = decode(operation, &response, self.inner.clock.as_ref())?;
                // Meta's guides answer `{"id"}`; its OpenAPI description
                // `{"migration_intent_id"}`.
                ["id", "migration_intent_id"]
                    .iter()
                    .find_map(|field| id_text(value.get(*field)?))
                    .and_then(|id| MigrationIntentId::new(id).ok())
                    .ok_or_else(|| wire::shape_error(operation, &response))
            });
        match answer {
            Ok(intent_id) => {
                self.record_success(
                    session,
                    operation,
                    StepOutcome::MigrationIntentSet { intent_id },
                )
                .await
            }
            Err(error) => Err(self.record_failure(session, operation, error).await),
        }
    }

    /// Solution migration: reads the intent (`GET /{intent-id}`) and
    /// records its status. `ACCEPTED` (or `COMPLETED`) with the
    /// `destination_waba` Meta created moves the session to
    /// [`IntentAccepted`](PortingState::IntentAccepted) (next:
    /// [`subscribe_app_for`](Self::subscribe_app_for)); `REJECTED` rejects
    /// it ([`RejectionReason::IntentDeclined`](crate::RejectionReason));
    /// anything else leaves it waiting for the customer. Only a read: safe
    /// to call on a timer, or when an `account_update` webhook
    /// (`PARTNER_ADDED`) says the customer acted.
    ///
    /// # Errors
    /// An [`IllegalTransition`](crate::IllegalTransition) unless the session
    /// awaits the customer's acceptance; the read's errors; an
    /// [`Error::UnexpectedResponse`] for an accepted intent without its
    /// destination WABA.
    pub async fn refresh_migration_intent(
        &self,
        session: &mut PortingSession,
    ) -> Result<StateName, Error> {
        let client = self.for_session(session);
        loop {
            let result = client.read_intent(session).await;
            if let ControlFlow::Break(result) = client.after_call(result).await {
                return result;
            }
        }
    }

    async fn read_intent(&self, session: &mut PortingSession) -> Result<StateName, Error> {
        let operation = Operation::ReadMigrationIntent;
        session.check(operation)?;
        let Some(intent) = session.state().migration_intent_id().cloned() else {
            return Err(session.state().refuse(operation).into());
        };
        session.begin(operation, self.now(), None);
        let query = [("fields", INTENT_FIELDS)];
        let deadline = self.deadline();
        let answer = self
            .send(operation, intent.as_str(), &query, None, &deadline)
            .await
            .and_then(|response| {
                let value = decode(operation, &response, self.inner.clock.as_ref())?;
                intent_progress(&value, &intent)
                    .ok_or_else(|| wire::shape_error(operation, &response))
            });
        let status = match answer {
            Ok(status) => status,
            Err(error) => return Err(self.record_read_failure(session, error).await),
        };
        // A pending read sets the next look (`MIGRATION_INTENT_RECHECK`),
        // which a webhook that says the customer acted lifts.
        let name = session
            .apply(StepOutcome::MigrationIntentRead { status }, self.now())?
            .name();
        self.save(session, operation, CheckpointStage::AfterOutcome)
            .await?;
        Ok(name)
    }
}

/// What `debug_token` says of the session's WABA.
enum Sharing {
    Shared,
    NotShared,
    Invalid,
}

/// `data` of a `debug_token` answer: valid, and the management scope lists
/// `waba` (a scope without `target_ids` covers every asset).
fn sharing(data: &Value, waba: &WabaId) -> Sharing {
    if data.get("is_valid").and_then(Value::as_bool) == Some(false) {
        return Sharing::Invalid;
    }
    let Some(scopes) = data.get("granular_scopes").and_then(Value::as_array) else {
        return Sharing::NotShared;
    };
    let shared = scopes.iter().any(|scope| {
        scope.get("scope").and_then(Value::as_str) == Some(MANAGEMENT_SCOPE)
            && match scope.get("target_ids").and_then(Value::as_array) {
                None => true,
                Some(ids) => ids.iter().filter_map(id_text).any(|id| id == waba.as_str()),
            }
    });
    if shared {
        Sharing::Shared
    } else {
        Sharing::NotShared
    }
}

/// The non-empty `access_token` of a token endpoint's answer.
fn access_token_of(value: &Value) -> Option<AccessToken> {
    value
        .get("access_token")
        .and_then(Value::as_str)
        .map(AccessToken::new)
        .filter(|token| !token.is_empty())
}

/// A token endpoint's answer is never kept in an error: it may hold a
/// token in a shape nobody documented.
fn without_body(error: Error) -> Error {
    match error {
        Error::UnexpectedResponse(mut unexpected) => {
            unexpected.forget_body();
            Error::UnexpectedResponse(unexpected)
        }
        other => other,
    }
}

/// An intent read: its status, for the intent asked about. `None` when the
/// answer is about another intent, has no `status`, or is accepted without
/// its destination WABA.
fn intent_progress(value: &Value, intent: &MigrationIntentId) -> Option<IntentProgress> {
    if let Some(id) = value.get("id").and_then(id_text) {
        if id != intent.as_str() {
            return None;
        }
    }
    let status = value.get("status").and_then(Value::as_str)?;
    match status.trim().to_ascii_uppercase().as_str() {
        "ACCEPTED" | "COMPLETED" => {
            let destination = value
                .get("destination_waba")
                .and_then(|waba| waba.get("id"))
                .and_then(id_text)
                .and_then(|id| WabaId::new(id).ok())?;
            Some(IntentProgress::Accepted {
                destination_waba_id: destination,
            })
        }
        "REJECTED" | "DECLINED" | "CANCELLED" | "CANCELED" | "EXPIRED" => {
            Some(IntentProgress::Declined)
        }
        _ => Some(IntentProgress::Pending),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharing_needs_the_waba_in_the_management_scope() {
        let waba = WabaId::new("524126980791429").unwrap();
        let shared = serde_json::json!({"is_valid": true, "granular_scopes": [
            {"scope": "whatsapp_business_messaging", "target_ids": ["1"]},
            {"scope": "whatsapp_business_management", "target_ids": ["9", "524126980791429"]}
        ]});
        assert!(matches!(sharing(&shared, &waba), Sharing::Shared));
        let other = serde_json::json!({"is_valid": true, "granular_scopes": [
            {"scope": "whatsapp_business_management", "target_ids": ["9"]}
        ]});
        assert!(matches!(sharing(&other, &waba), Sharing::NotShared));
        let every =
            serde_json::json!({"granular_scopes": [{"scope": "whatsapp_business_management"}]});
        assert!(matches!(sharing(&every, &waba), Sharing::Shared));
        assert!(matches!(
            sharing(&serde_json::json!({"is_valid": false}), &waba),
            Sharing::Invalid
        ));
        assert!(matches!(
            sharing(&serde_json::json!({}), &waba),
            Sharing::NotShared
        ));
    }

    #[test]
    fn intent_statuses_read_as_progress() {
        let intent = MigrationIntentId::new("778899").unwrap();
        let read = |v: Value| intent_progress(&v, &intent);
        assert_eq!(
            read(serde_json::json!({"id": "778899", "status": "INITIATED"})),
            Some(IntentProgress::Pending)
        );
        assert_eq!(
            read(serde_json::json!({"id": "778899", "status": "ACCEPTED",
                "destination_waba": {"id": "555000"}})),
            Some(IntentProgress::Accepted {
                destination_waba_id: WabaId::new("555000").unwrap()
            })
        );
        assert_eq!(
            read(serde_json::json!({"status": "REJECTED"})),
            Some(IntentProgress::Declined)
        );
        // Accepted without the destination, another intent, no status.
        assert_eq!(read(serde_json::json!({"status": "ACCEPTED"})), None);
        assert_eq!(
            read(serde_json::json!({"id": "1", "status": "ACCEPTED"})),
            None
        );
        assert_eq!(read(serde_json::json!({"id": "778899"})), None);
    }
}
