//! Signed `account_update` webhook deliveries from the simulated world
//! (features `simulator` and `webhooks`).
//!
//! Source: Meta, *account_update webhook reference*
//! (<https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/account_update>):
//! `PARTNER_ADDED` is sent when Embedded Signup completes and when a
//! solution migration intent is accepted; `waba_info` carries `waba_id`,
//! `owner_business_id` and, when onboarded through a Multi-Partner
//! Solution, `solution_id` and `solution_partner_business_ids`;
//! `entry[].id` is the partner's business portfolio id, not the WABA's.

use serde_json::{json, Value};

use super::Simulator;
use crate::secret::AppSecret;

/// Our (the partner's) business portfolio id: the `entry[].id` of
/// `PARTNER_ADDED` deliveries.
pub const SIMULATOR_PARTNER_BUSINESS: &str = "2949482758682047";

/// The header Meta signs a delivery in.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// How [`Simulator::partner_added_deliveries`] hands the deliveries over:
/// the knobs for what a receiver must withstand.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryOptions {
    /// Every delivery is sent twice in a row (Meta retries a delivery it
    /// got no 200 for).
    pub duplicated: bool,
    /// The deliveries come newest first.
    pub reordered: bool,
    /// The signatures are made with another secret (a forged or corrupted
    /// delivery: a receiver refuses it).
    pub badly_signed: bool,
}

impl DeliveryOptions {
    /// Each delivery once, in order, signed with the app's secret.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every delivery twice.
    #[must_use]
    pub fn duplicated(mut self) -> Self {
        self.duplicated = true;
        self
    }

    /// Newest first.
    #[must_use]
    pub fn reordered(mut self) -> Self {
        self.reordered = true;
        self
    }

    /// Signed with the wrong secret.
    #[must_use]
    pub fn badly_signed(mut self) -> Self {
        self.badly_signed = true;
        self
    }
}

/// One webhook POST as Meta would send it to the app's callback.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookDelivery {
    /// The raw JSON body.
    pub body: Vec<u8>,
    /// The [`SIGNATURE_HEADER`] value (`sha256=<hex>`).
    pub signature: String,
}

impl Simulator {
    /// The `account_update` `PARTNER_ADDED` deliveries for every WABA shared
    /// with our app so far — each finished Embedded Signup popup that
    /// shared its WABA, each accepted migration intent (its new WABA, with
    /// `solution_id`) — signed with the scenario's app secret
    /// ([`Scenario::app_credentials`](super::Scenario::app_credentials)),
    /// one delivery per event, as `options` says.
    pub fn partner_added_deliveries(&self, options: DeliveryOptions) -> Vec<WebhookDelivery> {
        let events = self.world().partner_added.clone();
        let secret = if options.badly_signed {
            AppSecret::new(format!("not-{}", self.scenario.app_secret))
        } else {
            AppSecret::new(self.scenario.app_secret.clone())
        };
        let mut deliveries: Vec<WebhookDelivery> = events
            .iter()
            .map(|event| {
                let mut waba_info = json!({
                    "waba_id": event.waba.as_str(),
                    "owner_business_id": event.owner_business.as_str(),
                });
                if let (Some(solution), Some(info)) = (&event.solution, waba_info.as_object_mut()) {
                    info.insert("solution_id".into(), solution.as_str().into());
                    info.insert(
                        "solution_partner_business_ids".into(),
                        json!([SIMULATOR_PARTNER_BUSINESS]),
                    );
                }
                let body: Value = json!({
                    "object": "whatsapp_business_account",
                    "entry": [{
                        "id": SIMULATOR_PARTNER_BUSINESS,
                        "time": event.at.as_unix_millis() / 1000,
                        "changes": [{
                            "value": { "event": "PARTNER_ADDED", "waba_info": waba_info },
                            "field": "account_update",
                        }],
                    }],
                });
                let body = body.to_string().into_bytes();
                WebhookDelivery {
                    signature: secret.signature_header(&body),
                    body,
                }
            })
            .collect();
        if options.reordered {
            deliveries.reverse();
        }
        if options.duplicated {
            deliveries = deliveries
                .into_iter()
                .flat_map(|d| [d.clone(), d])
                .collect();
        }
        deliveries
    }
}
