//! Worlds to simulate: presets named after the troubleshooting cases, and
//! knobs to build any other.

use std::time::Duration;

use super::faults::{Fault, FaultPlan};
use super::Simulator;
use crate::ids::{BusinessId, SolutionId, WabaId};
use crate::operation::Operation;
use crate::phone::PhoneNumber;
use crate::time::Timestamp;

/// The access token the simulator accepts unless configured otherwise.
pub const SIMULATOR_TOKEN: &str = "simulator-access-token";

/// The Meta app id the simulator knows as ours unless configured otherwise
/// (the `client_id` of the Embedded Signup code exchange).
pub const SIMULATOR_APP_ID: &str = "1234567890123";

/// The app secret the simulator accepts unless configured otherwise (the
/// `client_secret` of the Embedded Signup code exchange).
pub const SIMULATOR_APP_SECRET: &str = "simulator-app-secret";

/// The Multi-Partner Solution the number of
/// [`Scenario::solution_migration`] is registered under at the source.
pub const SIMULATOR_SOURCE_SOLUTION: &str = "3300112233";

/// How long an Embedded Signup authorization code can be exchanged: 30
/// seconds ("The exchangeable token code has a time-to-live of 30
/// seconds", Meta, *Embedded Signup — Implementation*, "Response callback",
/// <https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/implementation>).
pub const SIGNUP_CODE_TTL: Duration = Duration::from_secs(30);

/// The default life of a verification code: ten minutes, Meta's "typically
/// 10 minutes" ([`CODE_LIFETIME`](crate::CODE_LIFETIME), with its source).
/// Meta commits to no exact lifetime, so it is configurable.
pub const DEFAULT_CODE_TTL: Duration = Duration::from_secs(10 * 60);

/// A world with one number to port, one destination WABA and the customer's
/// business, and how each of them is set up.
///
/// Start from a preset and change what the test needs:
///
/// ```
/// use waba_porting::simulator::{Fault, Scenario};
///
/// let simulator = Scenario::happy_path()
///     .display_name_approved(false)
///     .fault(Fault::ServiceUnavailable, 2)
///     .build();
/// # let _ = simulator;
/// ```
#[derive(Clone)]
pub struct Scenario {
    pub(crate) name: &'static str,
    pub(crate) phone_number: PhoneNumber,
    pub(crate) destination_waba: WabaId,
    pub(crate) customer_business: BusinessId,
    pub(crate) destination_business: BusinessId,
    pub(crate) two_step_pin: Option<String>,
    pub(crate) on_behalf_approved: bool,
    pub(crate) on_behalf_request: Option<String>,
    pub(crate) on_behalf_info_status: bool,
    pub(crate) refused_fields: Vec<String>,
    pub(crate) account_review_status: String,
    pub(crate) business_verification_status: String,
    pub(crate) payment_method: bool,
    pub(crate) webhook_subscribed: bool,
    pub(crate) display_name_approved: bool,
    pub(crate) name_change_pending: bool,
    pub(crate) source_ready: bool,
    pub(crate) eligible_for_direct_add: bool,
    pub(crate) verified_already: bool,
    pub(crate) already_in_destination: bool,
    pub(crate) code_ttl: Duration,
    pub(crate) connect_delay: Duration,
    pub(crate) seed: u64,
    pub(crate) start: Timestamp,
    pub(crate) wall_clock: bool,
    pub(crate) access_token: String,
    pub(crate) faults: Vec<FaultPlan>,
    pub(crate) app_id: String,
    pub(crate) app_secret: String,
    pub(crate) signup_verifies: bool,
    pub(crate) signup_shares_waba: bool,
    pub(crate) signup_new_waba: bool,
    pub(crate) under_solution: Option<SolutionId>,
    pub(crate) intent_accepted_after: Option<Duration>,
}

/// The preset names, as [`Scenario::by_name`] takes them.
pub const SCENARIO_NAMES: &[&str] = &[
    "happy_path",
    "on_behalf_not_accepted",
    "two_step_enabled",
    "eligible_for_direct_add",
    "already_in_destination",
    "business_mismatch",
    "transient_failure",
];

impl Scenario {
    /// Everything in order: the port goes through.
    pub fn happy_path() -> Self {
        let business = BusinessId::trusted("106540352242922");
        Self {
            name: "happy_path",
            phone_number: PhoneNumber::from_literal("1", "4155550123"),
            destination_waba: WabaId::trusted("102290129340398"),
            destination_business: business.clone(),
            customer_business: business,
            two_step_pin: None,
            on_behalf_approved: true,
            on_behalf_request: None,
            on_behalf_info_status: true,
            refused_fields: Vec::new(),
            account_review_status: "APPROVED".to_owned(),
            business_verification_status: "verified".to_owned(),
            payment_method: true,
            webhook_subscribed: true,
            display_name_approved: true,
            name_change_pending: false,
            source_ready: true,
            eligible_for_direct_add: false,
            verified_already: false,
            already_in_destination: false,
            code_ttl: DEFAULT_CODE_TTL,
            connect_delay: Duration::ZERO,
            seed: 0x5EED,
            start: Timestamp::from_unix_millis(1_798_761_600_000), // 2027-01-01T00:00:00Z
            wall_clock: false,
            access_token: SIMULATOR_TOKEN.to_owned(),
            faults: Vec::new(),
            app_id: SIMULATOR_APP_ID.to_owned(),
            app_secret: SIMULATOR_APP_SECRET.to_owned(),
            signup_verifies: true,
            signup_shares_waba: true,
            signup_new_waba: false,
            under_solution: None,
            intent_accepted_after: None,
        }
    }

    /// An Embedded Signup: everything in order, the popup
    /// ([`Simulator::finish_signup`]) puts the number, verified, into the
    /// scenario's WABA (the customer's) and shares that WABA with the app.
    /// Not in [`SCENARIO_NAMES`]: those presets are ported programmatically.
    pub fn embedded_signup() -> Self {
        Self {
            name: "embedded_signup",
            ..Self::happy_path()
        }
    }

    /// A Multi-Partner Solution migration: the number is registered
    /// (`CONNECTED`) in the scenario's WABA — the *source* WABA — under
    /// the solution [`SIMULATOR_SOURCE_SOLUTION`], two-step verification
    /// off, and the customer accepts a migration intent one hour (simulated)
    /// after it is set, so that a run with no human in it ends. Not in
    /// [`SCENARIO_NAMES`]: those presets are ported programmatically.
    pub fn solution_migration() -> Self {
        Self {
            name: "solution_migration",
            ..Self::happy_path()
        }
        .registered_under_solution(SolutionId::trusted(SIMULATOR_SOURCE_SOLUTION))
        .intent_accepted_after(Some(Duration::from_secs(3600)))
    }

    /// The customer has not approved the "message on behalf" request.
    pub fn on_behalf_not_accepted() -> Self {
        Self {
            name: "on_behalf_not_accepted",
            ..Self::happy_path()
        }
        .on_behalf_approved(false)
    }

    /// Two-step verification is still on with the previous BSP (PIN `111111`).
    pub fn two_step_enabled() -> Self {
        Self {
            name: "two_step_enabled",
            ..Self::happy_path()
        }
        .two_step_pin(Some("111111"))
    }

    /// The number is not on the WhatsApp Business Platform: add it directly.
    pub fn eligible_for_direct_add() -> Self {
        Self {
            name: "eligible_for_direct_add",
            ..Self::happy_path()
        }
        .directly_addable(true)
    }

    /// The number is already in the destination WABA's list.
    pub fn already_in_destination() -> Self {
        Self {
            name: "already_in_destination",
            ..Self::happy_path()
        }
        .in_destination_list(true)
    }

    /// The destination WABA represents another business than the number's.
    pub fn business_mismatch() -> Self {
        let other = BusinessId::trusted("109876543210987");
        Self {
            name: "business_mismatch",
            destination_business: other,
            ..Self::happy_path()
        }
    }

    /// The first start fails with "There was an error migrating this phone
    /// number"; a retry goes through.
    pub fn transient_failure() -> Self {
        Self {
            name: "transient_failure",
            ..Self::happy_path()
        }
        .fault_at(Operation::StartMigration, Fault::MigrationError, 1)
    }

    /// A preset by name (see [`SCENARIO_NAMES`]).
    pub fn by_name(name: &str) -> Option<Self> {
        Some(match name {
            "happy_path" => Self::happy_path(),
            "on_behalf_not_accepted" => Self::on_behalf_not_accepted(),
            "two_step_enabled" => Self::two_step_enabled(),
            "eligible_for_direct_add" => Self::eligible_for_direct_add(),
            "already_in_destination" => Self::already_in_destination(),
            "business_mismatch" => Self::business_mismatch(),
            "transient_failure" => Self::transient_failure(),
            _ => return None,
        })
    }

    /// The preset's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The number to port.
    pub fn phone_number(&self) -> &PhoneNumber {
        &self.phone_number
    }

    /// The destination WABA.
    pub fn waba_id(&self) -> &WabaId {
        &self.destination_waba
    }

    /// The customer's business (which owns the number).
    pub fn business_id(&self) -> &BusinessId {
        &self.customer_business
    }

    /// The number to port.
    pub fn with_phone_number(mut self, phone_number: PhoneNumber) -> Self {
        self.phone_number = phone_number;
        self
    }

    /// The scenario for the `index`-th number of a fleet: its own number
    /// (`+1 415` and seven digits from `index`; valid by libphonenumber,
    /// distinct for `index` below [`Scenario::NUMBERED_LIMIT`], never the
    /// presets' number) and its own destination WABA, so WABA-level cases
    /// stay per number. Everything else is kept; add the result to a world
    /// with [`Simulator::add_number`].
    ///
    /// An `index` at or past the limit wraps around.
    pub fn numbered(mut self, index: u32) -> Self {
        let index = index % Self::NUMBERED_LIMIT;
        // Exchanges 200–999 except 555 (the presets' 555-0123).
        let mut exchange = 200 + index / 10_000;
        if exchange >= 555 {
            exchange += 1;
        }
        let national = format!("415{exchange:03}{:04}", index % 10_000);
        self.phone_number = PhoneNumber::from_digits("1", &national);
        self.destination_waba =
            WabaId::trusted((200_000_000_000_000_u64 + u64::from(index)).to_string());
        self
    }

    /// How many distinct numbers [`numbered`](Self::numbered) makes.
    pub const NUMBERED_LIMIT: u32 = 799 * 10_000;

    /// The destination WABA (several scenarios naming one WABA share it in a
    /// world).
    pub fn with_waba(mut self, waba: WabaId) -> Self {
        self.destination_waba = waba;
        self
    }

    /// Two-step verification on with `pin`, or off (`None`).
    pub fn two_step_pin(mut self, pin: Option<&str>) -> Self {
        self.two_step_pin = pin.map(str::to_owned);
        self
    }

    /// Whether the customer approved the destination's OBO request. Not
    /// approved, the WABA's requests in progress
    /// (`GET /{waba-id}/in_progress_onbehalf_request`) list one
    /// `IN_PROGRESS`; approved, none.
    pub fn on_behalf_approved(mut self, yes: bool) -> Self {
        self.on_behalf_approved = yes;
        self.on_behalf_request = (!yes).then(|| "IN_PROGRESS".to_owned());
        self
    }

    /// The status of the destination's "message on behalf" request as
    /// `GET /{waba-id}/in_progress_onbehalf_request` lists it (`APPROVE`,
    /// `DECLINE`, `IN_PROGRESS`, `EXPIRED`, `PENDING`, `CANCELED`,
    /// `INVALID`, or any other text), or none listed (`None`). The
    /// migration goes through only after an approval (`APPROVE`,
    /// `APPROVED`), or with nothing listed when the customer had approved
    /// ([`on_behalf_approved`](Self::on_behalf_approved)).
    pub fn on_behalf_request(mut self, status: Option<&str>) -> Self {
        self.on_behalf_request = status.map(str::to_owned);
        if let Some(status) = status {
            self.on_behalf_approved =
                status.eq_ignore_ascii_case("APPROVE") || status.eq_ignore_ascii_case("APPROVED");
        }
        self
    }

    /// Whether the WABA's `on_behalf_of_business_info` carries the
    /// undocumented `status` (default yes: `APPROVED` or `PENDING`). Meta's
    /// OpenAPI description documents only its `id` and `name`.
    pub fn on_behalf_info_status(mut self, yes: bool) -> Self {
        self.on_behalf_info_status = yes;
        self
    }

    /// Graph refuses `field` wherever a read asks for it (the WABA, a
    /// number, the list of numbers) with its error 100: `(#100) Tried
    /// accessing nonexisting field (<field>) on node type (<node>)`, as it
    /// answers a field it does not have — e.g. `primary_funding_id` or
    /// `on_behalf_of_business_info`, real fields Meta's OpenAPI description
    /// leaves out. Call again for more fields.
    pub fn refusing_field(mut self, field: &str) -> Self {
        self.refused_fields.push(field.to_owned());
        self
    }

    /// Whether the destination WABA is approved (`account_review_status`
    /// `APPROVED`, else `PENDING`).
    pub fn destination_approved(mut self, yes: bool) -> Self {
        let status = if yes { "APPROVED" } else { "PENDING" };
        self.account_review_status = status.to_owned();
        self
    }

    /// The destination WABA's `account_review_status`, as Graph answers it
    /// (`APPROVED`, `PENDING`, `REJECTED`, `RESTRICTED`, `LIMIT_REACHED`,
    /// `DEFERRED`, or any other text): only `APPROVED` lets a migration
    /// in, as Meta does.
    pub fn account_review_status(mut self, status: &str) -> Self {
        status.clone_into(&mut self.account_review_status);
        self
    }

    /// The destination business's `business_verification_status`, as Graph
    /// answers it (default `verified`; `VERIFIED`, `not_verified`,
    /// `pending`… or any other text). The simulated migration does not
    /// depend on it; the readiness check reads it.
    pub fn business_verification_status(mut self, status: &str) -> Self {
        status.clone_into(&mut self.business_verification_status);
        self
    }

    /// Whether the destination WABA has a payment method.
    pub fn payment_method(mut self, yes: bool) -> Self {
        self.payment_method = yes;
        self
    }

    /// Whether an app is subscribed to the destination's webhooks.
    pub fn webhook_subscribed(mut self, yes: bool) -> Self {
        self.webhook_subscribed = yes;
        self
    }

    /// Whether the number's display name is approved.
    pub fn display_name_approved(mut self, yes: bool) -> Self {
        self.display_name_approved = yes;
        self
    }

    /// Whether a display-name change is pending review: the number reads
    /// `new_name_status: PENDING_REVIEW` (else `NONE`), which the readiness
    /// check reports as a blocker (Meta requires none pending). The
    /// simulated migration does not refuse it: Meta documents no error for
    /// it.
    pub fn name_change_pending(mut self, yes: bool) -> Self {
        self.name_change_pending = yes;
        self
    }

    /// Whether the source WABA is set up correctly.
    pub fn source_ready(mut self, yes: bool) -> Self {
        self.source_ready = yes;
        self
    }

    /// Whether the number can be added directly (not on the platform).
    pub fn directly_addable(mut self, yes: bool) -> Self {
        self.eligible_for_direct_add = yes;
        self
    }

    /// Whether the number's ownership is verified already when it arrives
    /// in the destination (`code_verification_status: VERIFIED`: some
    /// providers keep a verification valid for days): no code is needed,
    /// the port goes straight to register.
    pub fn verified_already(mut self, yes: bool) -> Self {
        self.verified_already = yes;
        self
    }

    /// Whether the number is already in the destination's list.
    pub fn in_destination_list(mut self, yes: bool) -> Self {
        self.already_in_destination = yes;
        self
    }

    /// How long a verification code stays valid (default [`DEFAULT_CODE_TTL`]).
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.code_ttl = ttl;
        self
    }

    /// How long a registered number reads `status: PENDING` before it reads
    /// `CONNECTED` (simulated time; default zero: connected at once). Real
    /// numbers can take a while after `register`; a session read in that
    /// window reports [`NextAction::AwaitConnected`](crate::NextAction::AwaitConnected).
    /// A register whose answer is lost in that window looks, to a read, as if
    /// it had not gone through.
    pub fn connect_delay(mut self, delay: Duration) -> Self {
        self.connect_delay = delay;
        self
    }

    /// The seed of the codes and ids (deterministic by default).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The simulated time at the start.
    pub fn start_time(mut self, start: Timestamp) -> Self {
        self.start = start;
        self
    }

    /// The world's clock follows the system clock ([`SimClock::wall`])
    /// instead of standing still at [`start_time`](Self::start_time) until
    /// told: for a world served to other processes
    /// (`Simulator::serve`, feature `sim-server`)
    /// whose clients read the system clock and wait on real timers, so code
    /// lifetimes, [`connect_delay`](Self::connect_delay) and the register
    /// limit's window pass as their waits do.
    /// [`Simulator::advance`] still moves it forward at once.
    ///
    /// A world-level setting, like the start time: ignored by
    /// [`Simulator::add_number`].
    ///
    /// [`SimClock::wall`]: super::SimClock::wall
    pub fn wall_clock(mut self) -> Self {
        self.wall_clock = true;
        self
    }

    /// The access token the simulator accepts (default [`SIMULATOR_TOKEN`]).
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = token.into();
        self
    }

    /// The app the simulator knows as ours: the `client_id` and
    /// `client_secret` the Embedded Signup code exchange must send (default
    /// [`SIMULATOR_APP_ID`], [`SIMULATOR_APP_SECRET`]), and the app token
    /// (`{app-id}|{app-secret}`) `debug_token` also accepts.
    /// [`Simulator::client_builder`] configures them. A world-level
    /// setting: ignored by [`Simulator::add_number`].
    pub fn app_credentials(mut self, app_id: &str, app_secret: &str) -> Self {
        app_id.clone_into(&mut self.app_id);
        app_secret.clone_into(&mut self.app_secret);
        self
    }

    /// Whether the Embedded Signup popup leaves the number verified
    /// (default yes: `code_verification_status` `VERIFIED`, register
    /// needs no code). With `false` it finishes `NOT_VERIFIED`, as versions
    /// 3 and 4 can ("can finish with a verified, unverified or no phone
    /// number", Meta, *Embedded Signup — Versions*,
    /// <https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/versions>):
    /// `request_code` and `verify_code` come first.
    pub fn signup_verifies_number(mut self, yes: bool) -> Self {
        self.signup_verifies = yes;
        self
    }

    /// Whether the customer shares the WABA with the app in the popup
    /// (default yes). Without it the exchanged token's `debug_token`
    /// `granular_scopes` list no WABA, and the token reaches neither the
    /// WABA nor its numbers (Graph's 100/33 "does not exist").
    pub fn signup_shares_waba(mut self, yes: bool) -> Self {
        self.signup_shares_waba = yes;
        self
    }

    /// Whether the popup puts the number into a new WABA it creates for the
    /// customer (a new id) instead of the scenario's WABA (default no).
    pub fn signup_creates_waba(mut self, yes: bool) -> Self {
        self.signup_new_waba = yes;
        self
    }

    /// The number is registered (`CONNECTED`, verified) in the scenario's
    /// WABA — the *source* WABA of a solution migration, the one a
    /// [`PortingSession::solution_migration`](crate::PortingSession::solution_migration)
    /// names — and that WABA is onboarded through `solution`.
    pub fn registered_under_solution(mut self, solution: SolutionId) -> Self {
        self.under_solution = Some(solution);
        self
    }

    /// The customer accepts a migration intent set on this number's WABA
    /// `delay` (simulated time) after it was set — what they do in Meta
    /// Business Suite (Business settings → Requests → Received); `None`
    /// (the default) waits for [`Simulator::accept_migration_intent`] or
    /// [`Simulator::decline_migration_intent`].
    pub fn intent_accepted_after(mut self, delay: Option<Duration>) -> Self {
        self.intent_accepted_after = delay;
        self
    }

    /// Injects `fault` into the next `times` calls, whatever they are.
    pub fn fault(mut self, fault: Fault, times: u32) -> Self {
        self.faults.push(FaultPlan {
            fault,
            remaining: times,
            operation: None,
        });
        self
    }

    /// Injects `fault` into the next `times` calls of `operation`.
    pub fn fault_at(mut self, operation: Operation, fault: Fault, times: u32) -> Self {
        self.faults.push(FaultPlan {
            fault,
            remaining: times,
            operation: Some(operation),
        });
        self
    }

    /// Builds the simulator.
    pub fn build(self) -> Simulator {
        Simulator::new(self)
    }
}

impl std::fmt::Debug for Scenario {
    /// Everything but the access token and the two-step PIN, which show as
    /// `[redacted]`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |set: bool| if set { "[redacted]" } else { "none" };
        f.debug_struct("Scenario")
            .field("name", &self.name)
            .field("phone_number", &self.phone_number)
            .field("destination_waba", &self.destination_waba)
            .field("customer_business", &self.customer_business)
            .field("destination_business", &self.destination_business)
            .field("two_step_pin", &redacted(self.two_step_pin.is_some()))
            .field("on_behalf_approved", &self.on_behalf_approved)
            .field("on_behalf_request", &self.on_behalf_request)
            .field("on_behalf_info_status", &self.on_behalf_info_status)
            .field("refused_fields", &self.refused_fields)
            .field("account_review_status", &self.account_review_status)
            .field(
                "business_verification_status",
                &self.business_verification_status,
            )
            .field("payment_method", &self.payment_method)
            .field("webhook_subscribed", &self.webhook_subscribed)
            .field("display_name_approved", &self.display_name_approved)
            .field("name_change_pending", &self.name_change_pending)
            .field("source_ready", &self.source_ready)
            .field("eligible_for_direct_add", &self.eligible_for_direct_add)
            .field("verified_already", &self.verified_already)
            .field("already_in_destination", &self.already_in_destination)
            .field("code_ttl", &self.code_ttl)
            .field("connect_delay", &self.connect_delay)
            .field("seed", &self.seed)
            .field("start", &self.start)
            .field("wall_clock", &self.wall_clock)
            .field("access_token", &redacted(true))
            .field("faults", &self.faults.len())
            .field("app_id", &self.app_id)
            .field("app_secret", &redacted(true))
            .field("signup_verifies", &self.signup_verifies)
            .field("signup_shares_waba", &self.signup_shares_waba)
            .field("signup_new_waba", &self.signup_new_waba)
            .field("under_solution", &self.under_solution)
            .field("intent_accepted_after", &self.intent_accepted_after)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preset_literals_are_valid_inputs() {
        for name in SCENARIO_NAMES {
            let scenario = Scenario::by_name(name).unwrap();
            assert_eq!(scenario.name(), *name);
            assert_eq!(
                &PhoneNumber::parse(scenario.phone_number().e164()).unwrap(),
                scenario.phone_number()
            );
            assert!(WabaId::new(scenario.waba_id().as_str()).is_ok());
            assert!(BusinessId::new(scenario.business_id().as_str()).is_ok());
            assert!(BusinessId::new(scenario.destination_business.as_str()).is_ok());
        }
        assert!(Scenario::by_name("nope").is_none());
    }
}
