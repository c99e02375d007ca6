//! The Embedded Signup and Multi-Partner Solution migration routes in the
//! world: the popup's authorization codes and the business tokens they are
//! exchanged for, and solution migration intents with the WABAs their
//! acceptance creates.
//!
//! Sources (Meta's pages, as `research18.md` read them):
//! - *Embedded Signup — Implementation* ("Response callback": a code lives
//!   30 seconds):
//!   <https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/implementation>
//! - *Onboarding business customers as a Solution Partner* (the exchange
//!   `GET /oauth/access_token?client_id&client_secret&code`, no
//!   `redirect_uri`; subscribe; register):
//!   <https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/onboarding-customers-as-a-solution-partner>
//! - *Manage accounts* (`debug_token` and its `granular_scopes`):
//!   <https://developers.facebook.com/documentation/business-messaging/whatsapp/solution-providers/manage-accounts>
//! - *Migrating WABAs among Multi-Partner Solutions via Meta Business
//!   Suite* (`set_solution_migration_intent` with `{"solution_id"}` answers
//!   `{"id"}`; the intent reads `INITIATED` until the customer accepts;
//!   "a new WhatsApp Business Account (WABA) will be created"; the number
//!   moves with `migrate_phone_number` to a new id and "does not require
//!   business phone number reverification"):
//!   <https://developers.facebook.com/documentation/business-messaging/whatsapp/solution-providers/support/migrating-wabas-among-solutions-via-meta-business-suite>
//! - *Migration Intent Details API* (the intent's fields and statuses):
//!   <https://developers.facebook.com/documentation/business-messaging/whatsapp/reference/whatsapp-business-account-migration-intent/migration-intent-details-api>

use std::fmt;

use serde_json::{json, Map, Value};

use super::{text, Waba, World};
use crate::ids::{BusinessId, MigrationIntentId, PhoneNumberId, SolutionId, WabaId};
use crate::operation::Operation;
use crate::simulator::reference::{self as answers, texts, Answer, DescribedError};
use crate::simulator::scenario::SIGNUP_CODE_TTL;
use crate::time::Timestamp;

/// The scope whose `target_ids` list the WABAs a token manages.
const MANAGEMENT_SCOPE: &str = "whatsapp_business_management";
/// The scope whose `target_ids` list the WABAs a token sends messages for.
const MESSAGING_SCOPE: &str = "whatsapp_business_messaging";
/// The fields an intent read answers when none are asked for (Meta's
/// default fields, plus `id`).
const DEFAULT_INTENT_FIELDS: &str = "id,solution,status,destination_waba";
/// The fields a migration intent has.
const INTENT_FIELDS: &[&str] = &["id", "status", "destination_waba", "solution", "waba"];

/// An authorization code the Embedded Signup popup issued.
#[derive(Debug)]
pub(crate) struct SignupGrant {
    pub(crate) number: usize,
    pub(crate) waba: WabaId,
    pub(crate) expires_at: Timestamp,
    pub(crate) used: bool,
    pub(crate) shares_waba: bool,
}

/// A customer's business token, issued by the code exchange.
#[derive(Debug)]
pub(crate) struct CustomerToken {
    pub(crate) number: usize,
    pub(crate) waba: WabaId,
    pub(crate) shares_waba: bool,
}

/// A solution migration intent.
#[derive(Debug)]
pub(crate) struct Intent {
    pub(crate) id: MigrationIntentId,
    pub(crate) source: WabaId,
    pub(crate) solution: SolutionId,
    pub(crate) status: MigrationIntentStatus,
    pub(crate) destination: Option<WabaId>,
    /// The number it moves (the source WABA's first), for counters and
    /// faults.
    pub(crate) number: Option<usize>,
    /// When the customer accepts it by themselves (the scenario's delay).
    pub(crate) accept_at: Option<Timestamp>,
    /// Its place among the world's intents (oldest first).
    pub(crate) order: usize,
}

/// A WABA shared with our app: an `account_update` `PARTNER_ADDED`
/// event (Meta, *account_update webhook reference*: "WABA shared with a
/// Solution Partner", sent when Embedded Signup completes and when a
/// solution migration intent is accepted,
/// <https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/account_update>).
#[derive(Clone, Debug)]
#[cfg_attr(not(feature = "webhooks"), allow(dead_code))]
pub(crate) struct PartnerAdded {
    pub(crate) waba: WabaId,
    pub(crate) owner_business: BusinessId,
    /// The solution it was onboarded through (a migration's destination).
    pub(crate) solution: Option<SolutionId>,
    pub(crate) at: Timestamp,
}

/// What the popup handed the page: the code and the assets.
#[derive(Debug)]
pub(crate) struct SignupIssued {
    pub(crate) code: String,
    pub(crate) waba: WabaId,
    pub(crate) phone_number_id: PhoneNumberId,
    pub(crate) business: BusinessId,
}

/// How one Embedded Signup popup finishes
/// ([`Simulator::finish_signup_with`](crate::simulator::Simulator::finish_signup_with));
/// what it leaves unset follows the number's scenario
/// ([`Scenario::signup_verifies_number`](crate::simulator::Scenario::signup_verifies_number),
/// [`Scenario::signup_shares_waba`](crate::simulator::Scenario::signup_shares_waba),
/// [`Scenario::signup_creates_waba`](crate::simulator::Scenario::signup_creates_waba)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignupOptions {
    /// Whether the popup leaves the number `VERIFIED` (else
    /// `NOT_VERIFIED`).
    pub verified: Option<bool>,
    /// Whether the customer shares the WABA with the app.
    pub shares_waba: Option<bool>,
    /// The WABA the number goes into (created when the world has none of
    /// that id); `None`: a new one, or the number's own WABA, as the
    /// scenario says.
    pub waba: Option<WabaId>,
    /// Whether the popup creates a new WABA (ignored when
    /// [`waba`](Self::waba) is set).
    pub new_waba: Option<bool>,
}

impl SignupOptions {
    /// The scenario's choices.
    pub fn new() -> Self {
        Self::default()
    }

    /// The popup leaves the number `VERIFIED` (`true`) or `NOT_VERIFIED`.
    #[must_use]
    pub fn verified(mut self, yes: bool) -> Self {
        self.verified = Some(yes);
        self
    }

    /// The customer shares the WABA with the app, or does not.
    #[must_use]
    pub fn shares_waba(mut self, yes: bool) -> Self {
        self.shares_waba = Some(yes);
        self
    }

    /// The number goes into `waba`.
    #[must_use]
    pub fn into_waba(mut self, waba: WabaId) -> Self {
        self.waba = Some(waba);
        self
    }

    /// The popup creates a new WABA for the customer.
    #[must_use]
    pub fn new_waba(mut self) -> Self {
        self.new_waba = Some(true);
        self
    }
}

/// A migration intent's `status`, as `GET /{intent-id}` answers it (Meta's
/// `WhatsAppBusinessAccountMigrationStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MigrationIntentStatus {
    /// `INITIATED`: waiting for the customer.
    Initiated,
    /// `ACCEPTED`: the customer accepted; the destination WABA exists.
    Accepted,
    /// `COMPLETED`: the number was registered in the destination WABA (the
    /// simulator's reading of when Meta sets it: Meta does not say).
    Completed,
    /// `REJECTED`: the customer declined.
    Rejected,
}

impl MigrationIntentStatus {
    /// As Graph writes it (`INITIATED`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initiated => "INITIATED",
            Self::Accepted => "ACCEPTED",
            Self::Completed => "COMPLETED",
            Self::Rejected => "REJECTED",
        }
    }
}

impl fmt::Display for MigrationIntentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A migration intent as the world holds it
/// ([`Simulator::migration_intent`](crate::simulator::Simulator::migration_intent)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrationIntent {
    /// Its id.
    pub id: MigrationIntentId,
    /// The WABA it was set on.
    pub source_waba: WabaId,
    /// The destination solution.
    pub solution_id: SolutionId,
    /// Its status.
    pub status: MigrationIntentStatus,
    /// The WABA Meta created for the customer on acceptance.
    pub destination_waba: Option<WabaId>,
}

impl World {
    /// The Embedded Signup popup finishes for the number `e164`: the number
    /// is placed in the customer's WABA (a new one, or the one named, made
    /// if missing), verified or not, and a code valid 30 seconds is issued.
    pub(crate) fn finish_signup(
        &mut self,
        e164: &str,
        options: &SignupOptions,
    ) -> Option<SignupIssued> {
        let index = *self.number_index.get(e164)?;
        let number = self.numbers.get(index)?;
        let verified = options.verified.unwrap_or(number.signup_verifies);
        let shares_waba = options.shares_waba.unwrap_or(number.signup_shares_waba);
        let business = number.business.clone();
        let waba = match (
            &options.waba,
            options.new_waba.unwrap_or(number.signup_new_waba),
        ) {
            (Some(waba), _) => waba.clone(),
            (None, true) => WabaId::trusted(self.rng.digits(15, true)),
            (None, false) => number.destination.clone(),
        };
        if !self.wabas.contains_key(waba.as_str()) {
            self.insert_customer_waba(waba.clone(), business.clone(), None, None);
        }
        let id = match self.placed(waba.as_str(), index) {
            Some(object) => object.id.clone(),
            None => self.add_object(waba.clone(), index)?,
        };
        if let Some(object) = self.objects.get_mut(id.as_str()) {
            // A number verified once stays verified.
            object.verified |= verified;
        }
        let code = format!("AQD{}", self.rng.digits(40, true));
        let expires_at = self.now().saturating_add(SIGNUP_CODE_TTL);
        if shares_waba {
            self.partner_added.push(PartnerAdded {
                waba: waba.clone(),
                owner_business: business.clone(),
                solution: None,
                at: self.now(),
            });
        }
        self.signup_codes.insert(
            code.clone(),
            SignupGrant {
                number: index,
                waba: waba.clone(),
                expires_at,
                used: false,
                shares_waba,
            },
        );
        Some(SignupIssued {
            code,
            waba,
            phone_number_id: id,
            business,
        })
    }

    /// A WABA Meta creates for the customer (Embedded Signup, or the
    /// acceptance of a migration intent): approved, with a payment method,
    /// no app subscribed yet.
    fn insert_customer_waba(
        &mut self,
        id: WabaId,
        business: BusinessId,
        solution: Option<SolutionId>,
        from_intent: Option<String>,
    ) {
        self.wabas.insert(
            id.as_str().to_owned(),
            Waba {
                id,
                business,
                review_status: "APPROVED".to_owned(),
                verification_status: "verified".to_owned(),
                payment_method: true,
                webhook_subscribed: false,
                on_behalf_approved: true,
                on_behalf_request: None,
                on_behalf_info_status: true,
                solution,
                from_intent,
            },
        );
    }

    /// `GET /oauth/access_token?client_id=…&client_secret=…&code=…`: the
    /// code, used once within its 30 seconds, for the customer's business
    /// token (`{"access_token", "token_type": "bearer"}`; no `expires_in`:
    /// the token does not expire). Used → 100/36009; expired → 100 "This
    /// authorization code has expired."; another app's secret → 1 "Error
    /// validating client secret.".
    pub(super) fn exchange_code(&mut self, params: &Map<String, Value>, trace: &str) -> Answer {
        if text(params, "client_id").as_deref() != Some(self.app_id.as_str()) {
            return answers::client_id_invalid(trace);
        }
        if text(params, "client_secret").as_deref() != Some(self.app_secret.as_str()) {
            return answers::client_secret_invalid(trace);
        }
        let Some(code) = text(params, "code") else {
            return answers::invalid_parameter("code is required", trace);
        };
        if params.contains_key("redirect_uri") {
            // What integrators report when an Embedded Signup exchange
            // sends one (Meta's pages send none).
            return answers::oauth_error(
                400,
                100,
                Some(36008),
                "Error validating verification code. Please make sure your redirect_uri is \
                 identical to the one you used in the OAuth dialog request",
                trace,
            );
        }
        let now = self.now();
        let Some(grant) = self.signup_codes.get_mut(code.as_ref()) else {
            return answers::signup_code_invalid(trace);
        };
        if grant.used {
            return answers::signup_code_used(trace);
        }
        if now > grant.expires_at {
            return answers::signup_code_expired(trace);
        }
        grant.used = true;
        let customer = CustomerToken {
            number: grant.number,
            waba: grant.waba.clone(),
            shares_waba: grant.shares_waba,
        };
        let token = format!("EAAGsim{}", self.rng.digits(32, true));
        self.customer_tokens.insert(token.clone(), customer);
        Answer::json_ok(&json!({ "access_token": token, "token_type": "bearer" }))
    }

    /// `GET /debug_token?input_token=…`: what the token grants our app. A
    /// customer's token lists its WABA in both WhatsApp scopes'
    /// `target_ids` when the customer shared it (else no granular scope);
    /// the simulator's own token is a system user's with every asset (no
    /// `target_ids`); any other token reads `is_valid: false`.
    pub(super) fn token_scopes(&self, params: &Map<String, Value>, trace: &str) -> Answer {
        let Some(input) = text(params, "input_token") else {
            return answers::invalid_parameter("input_token is required", trace);
        };
        let scopes = json!([MANAGEMENT_SCOPE, MESSAGING_SCOPE]);
        let data = if let Some(customer) = self.customer_tokens.get(input.as_ref()) {
            let granular = if customer.shares_waba {
                let waba = customer.waba.as_str();
                json!([
                    { "scope": MANAGEMENT_SCOPE, "target_ids": [waba] },
                    { "scope": MESSAGING_SCOPE, "target_ids": [waba] },
                ])
            } else {
                json!([])
            };
            json!({
                "app_id": self.app_id, "type": "SYSTEM_USER", "application": "Simulated BSP",
                "data_access_expires_at": 0, "expires_at": 0, "is_valid": true,
                "scopes": scopes, "granular_scopes": granular,
            })
        } else if input == self.token {
            json!({
                "app_id": self.app_id, "type": "SYSTEM_USER", "application": "Simulated BSP",
                "data_access_expires_at": 0, "expires_at": 0, "is_valid": true,
                "scopes": scopes,
                "granular_scopes": [{ "scope": MANAGEMENT_SCOPE }, { "scope": MESSAGING_SCOPE }],
            })
        } else {
            json!({
                "error": { "code": 190, "message": "Invalid OAuth access token." },
                "is_valid": false, "scopes": [],
            })
        };
        Answer::json_ok(&json!({ "data": data }))
    }

    /// Whether the request may go on with the token it carries, else the
    /// refusal. The simulator's token reaches everything (it plays the
    /// BSP's system user and every business token the tests do not
    /// exchange). A customer's business token reaches its WABA, the
    /// numbers in it and the intents set on it or that created it, when the
    /// customer shared the WABA; anything else reads as not there (100/33,
    /// Graph's "does not exist, cannot be loaded due to missing
    /// permissions"). The code exchange needs no token (the app's secret
    /// is in its query); `debug_token` takes ours or the app token
    /// `{app-id}|{app-secret}`.
    pub(super) fn authorize(
        &self,
        operation: Option<Operation>,
        target: &str,
        authorization: Option<&str>,
        trace: &str,
    ) -> Option<Answer> {
        if operation == Some(Operation::ExchangeSignupCode) {
            return None;
        }
        let Some(authorization) = authorization else {
            // No token at all: Meta's OpenAPI description answers 104.
            return Some(answers::described(
                DescribedError::AccessTokenMissing,
                trace,
            ));
        };
        let Some(token) = authorization.strip_prefix("Bearer ") else {
            return Some(answers::invalid_token(trace));
        };
        if token == self.token {
            return None;
        }
        if operation == Some(Operation::ReadTokenScopes) {
            let app_token = token
                .split_once('|')
                .is_some_and(|(id, secret)| id == self.app_id && secret == self.app_secret);
            return (!app_token).then(|| answers::invalid_token(trace));
        }
        match self.customer_tokens.get(token) {
            Some(customer) if self.reaches(customer, target) => None,
            Some(_) => Some(answers::unknown_object(target, trace)),
            None => Some(answers::invalid_token(trace)),
        }
    }

    /// Whether a customer's token reaches `target`.
    fn reaches(&self, customer: &CustomerToken, target: &str) -> bool {
        if !customer.shares_waba {
            return false;
        }
        let waba = customer.waba.as_str();
        if target == waba {
            return true;
        }
        if let Some(object) = self.objects.get(target) {
            return object.waba.as_str() == waba;
        }
        self.intents.get(target).is_some_and(|intent| {
            intent.source.as_str() == waba
                || intent
                    .destination
                    .as_ref()
                    .is_some_and(|d| d.as_str() == waba)
        })
    }

    /// The number a WABA-level request is about: the first number the WABA
    /// lists, else the number of the intent whose acceptance created it.
    pub(super) fn waba_number(&self, waba: &str) -> Option<usize> {
        let listed = self
            .listed
            .get(waba)
            .and_then(|ids| ids.first())
            .and_then(|id| self.objects.get(id.as_str()))
            .map(|object| object.number);
        listed.or_else(|| {
            let intent = self.wabas.get(waba)?.from_intent.as_deref()?;
            self.intents.get(intent)?.number
        })
    }

    /// The scenario's number, registered (`CONNECTED`, verified) in
    /// `waba`: a source WABA under a solution.
    pub(super) fn register_at_source(&mut self, waba: &WabaId, index: usize) {
        let id = match self.placed(waba.as_str(), index) {
            Some(object) => object.id.clone(),
            None => match self.add_object(waba.clone(), index) {
                Some(id) => id,
                None => return,
            },
        };
        let now = self.now();
        if let Some(object) = self.objects.get_mut(id.as_str()) {
            object.verified = true;
            object.connected_at = Some(now);
        }
    }

    /// `POST /{waba-id}/set_solution_migration_intent` with
    /// `{"solution_id"}` → `{"id"}`. While an intent of the WABA for the
    /// same solution is `INITIATED`, a repeat answers that intent's id (one
    /// request reaches the customer); one for another solution is refused
    /// (100 "Migration intent cannot be set for solution in current
    /// state"), as is the solution the WABA is under already. After an
    /// intent was accepted or rejected, a new one is a new request.
    pub(crate) fn set_intent(
        &mut self,
        waba: &str,
        params: &Map<String, Value>,
        trace: &str,
    ) -> Answer {
        let Some(source) = self.wabas.get(waba) else {
            return answers::unknown_object(waba, trace);
        };
        let solution = match text(params, "solution_id") {
            Some(id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                SolutionId::trusted(id.into_owned())
            }
            // Meta's OpenAPI description's example text.
            _ => {
                return answers::invalid_parameter(
                    "solution_id must be a valid numeric string",
                    trace,
                )
            }
        };
        if source.solution.as_ref() == Some(&solution) {
            return answers::migration_intent_refused(trace);
        }
        let source = source.id.clone();
        let pending = self.intents.values().find(|intent| {
            intent.source == source && intent.status == MigrationIntentStatus::Initiated
        });
        if let Some(intent) = pending {
            if intent.solution == solution {
                return Answer::json_ok(&json!({ "id": intent.id.as_str() }));
            }
            return answers::migration_intent_refused(trace);
        }
        let number = self.waba_number(waba);
        let accept_at = number
            .and_then(|index| self.numbers.get(index))
            .and_then(|n| n.intent_accepted_after)
            .map(|delay| self.now().saturating_add(delay));
        let id = MigrationIntentId::trusted(self.rng.digits(15, true));
        let order = self.intents.len();
        self.intents.insert(
            id.as_str().to_owned(),
            Intent {
                id: id.clone(),
                source,
                solution,
                status: MigrationIntentStatus::Initiated,
                destination: None,
                number,
                accept_at,
                order,
            },
        );
        Answer::json_ok(&json!({ "id": id.as_str() }))
    }

    /// `GET /{intent-id}?fields=…`: the intent (`id`, `status`,
    /// `destination_waba{id}` once accepted, `solution{id}`, `waba{id}`).
    pub(super) fn read_intent(&self, id: &str, params: &Map<String, Value>, trace: &str) -> Answer {
        let Some(intent) = self.intents.get(id) else {
            return answers::unknown_object(id, trace);
        };
        let fields = text(params, "fields");
        let fields = fields.as_deref().unwrap_or(DEFAULT_INTENT_FIELDS);
        let mut record = Map::new();
        record.insert("id".into(), intent.id.as_str().into());
        for field in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            if !INTENT_FIELDS.contains(&field) {
                return answers::nonexisting_field(
                    field,
                    "WhatsAppBusinessAccountMigrationIntent",
                    trace,
                );
            }
            let value = match field {
                "status" => Some(intent.status.as_str().into()),
                "destination_waba" => intent
                    .destination
                    .as_ref()
                    .map(|waba| json!({ "id": waba.as_str() })),
                "solution" => Some(json!({ "id": intent.solution.as_str() })),
                "waba" => Some(json!({ "id": intent.source.as_str() })),
                _ => None,
            };
            if let Some(value) = value {
                record.insert(field.to_owned(), value);
            }
        }
        Answer::json_ok(&Value::Object(record))
    }

    /// The customer accepts the intent: Meta creates a new WABA for them
    /// (under the intent's solution). `None` unless it was `INITIATED`.
    pub(crate) fn accept_intent(&mut self, id: &str) -> Option<WabaId> {
        let intent = self.intents.get(id)?;
        if intent.status != MigrationIntentStatus::Initiated {
            return None;
        }
        let business = self.wabas.get(intent.source.as_str())?.business.clone();
        let solution = intent.solution.clone();
        let destination = WabaId::trusted(self.rng.digits(15, true));
        self.insert_customer_waba(
            destination.clone(),
            business.clone(),
            Some(solution.clone()),
            Some(id.to_owned()),
        );
        self.partner_added.push(PartnerAdded {
            waba: destination.clone(),
            owner_business: business,
            solution: Some(solution),
            at: self.now(),
        });
        let intent = self.intents.get_mut(id)?;
        intent.status = MigrationIntentStatus::Accepted;
        intent.destination = Some(destination.clone());
        Some(destination)
    }

    /// The customer declines the intent. `false` unless it was `INITIATED`.
    pub(crate) fn decline_intent(&mut self, id: &str) -> bool {
        match self.intents.get_mut(id) {
            Some(intent) if intent.status == MigrationIntentStatus::Initiated => {
                intent.status = MigrationIntentStatus::Rejected;
                true
            }
            _ => false,
        }
    }

    /// Accepts the intents whose customers accept by themselves and whose
    /// time has come.
    pub(crate) fn settle_intents(&mut self) {
        if self.intents.is_empty() {
            return;
        }
        let now = self.now();
        let due: Vec<String> = self
            .intents
            .values()
            .filter(|intent| {
                intent.status == MigrationIntentStatus::Initiated
                    && intent.accept_at.is_some_and(|at| now >= at)
            })
            .map(|intent| intent.id.as_str().to_owned())
            .collect();
        for id in due {
            self.accept_intent(&id);
        }
    }

    /// An accepted intent's destination `waba` saw its number registered:
    /// the intent is `COMPLETED`.
    pub(super) fn complete_intents(&mut self, waba: &WabaId) {
        let Some(id) = self
            .wabas
            .get(waba.as_str())
            .and_then(|w| w.from_intent.clone())
        else {
            return;
        };
        if let Some(intent) = self.intents.get_mut(&id) {
            if intent.status == MigrationIntentStatus::Accepted {
                intent.status = MigrationIntentStatus::Completed;
            }
        }
    }

    /// `POST /{destination-waba}/phone_numbers` with
    /// `migrate_phone_number=true` for the number of the accepted intent
    /// that created that WABA: a new phone number object, `VERIFIED` ("does
    /// not require business phone number reverification"). Two-step
    /// verification must be off, as for a programmatic start, and an app
    /// subscribed to the WABA. `None` when `waba` is no intent's
    /// destination or the number is not in its source WABA: the
    /// programmatic rules apply.
    pub(super) fn start_by_intent(
        &mut self,
        waba: &str,
        index: usize,
        trace: &str,
    ) -> Option<Answer> {
        let destination = self.wabas.get(waba)?;
        let intent = self.intents.get(destination.from_intent.as_deref()?)?;
        self.placed(intent.source.as_str(), index)?;
        let number = self.numbers.get(index)?;
        let refusal = if number.two_step_pin.is_some() {
            Some(texts::TWO_STEP_ENABLED)
        } else if !destination.webhook_subscribed {
            Some(texts::CANNOT_MIGRATE)
        } else {
            None
        };
        if let Some(text) = refusal {
            return Some(answers::migration_error(text, trace));
        }
        let destination = destination.id.clone();
        let Some(id) = self.add_object(destination, index) else {
            return Some(answers::something_went_wrong(trace));
        };
        if let Some(object) = self.objects.get_mut(id.as_str()) {
            object.verified = true;
        }
        Some(answers::phone_number_created(id.as_str()))
    }

    /// The intent `id`, as the world holds it.
    pub(crate) fn intent(&self, id: &str) -> Option<MigrationIntent> {
        self.intents.get(id).map(Intent::view)
    }

    /// The intents set on `waba`, oldest first.
    pub(crate) fn intents_of(&self, waba: &str) -> Vec<MigrationIntent> {
        let mut intents: Vec<&Intent> = self
            .intents
            .values()
            .filter(|intent| intent.source.as_str() == waba)
            .collect();
        intents.sort_by_key(|intent| intent.order);
        intents.into_iter().map(Intent::view).collect()
    }
}

impl Intent {
    fn view(&self) -> MigrationIntent {
        MigrationIntent {
            id: self.id.clone(),
            source_waba: self.source.clone(),
            solution_id: self.solution.clone(),
            status: self.status,
            destination_waba: self.destination.clone(),
        }
    }
}
