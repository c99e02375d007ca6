//! The typed values of the fields a porting BSP routes:
//! `account_update`, `account_review_update`, `phone_number_name_update`
//! and `phone_number_quality_update`. Any other field is kept as sent.
//!
//! Reading is lenient: a documented member of another JSON type than
//! documented, and every undocumented member, is kept in `extra` as sent;
//! an unknown enum value is kept in the enum's `Other`; `null` reads as
//! absent. Nothing in a value makes a delivery an error.

use std::fmt;

use serde_json::{Map, Value};

use super::event::Lenient;
use crate::ids::{BusinessId, WabaId};
use crate::number::graph_enum;
use crate::waba::AccountReviewStatus;

/// The value of one change, by its `field`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ChangeValue {
    /// `account_update`: the WABA was shared or unshared with a partner,
    /// restricted, banned, deleted, …
    AccountUpdate(Box<AccountUpdate>),
    /// `account_review_update`: Meta reviewed the WABA.
    AccountReviewUpdate(AccountReviewUpdate),
    /// `phone_number_name_update`: Meta reviewed a number's display name.
    PhoneNumberNameUpdate(PhoneNumberNameUpdate),
    /// `phone_number_quality_update`: a number's messaging limit or
    /// throughput changed, or it was flagged.
    PhoneNumberQualityUpdate(PhoneNumberQualityUpdate),
    /// Any other field (`messages`, `account_alerts`, …), or one of the
    /// above whose value is not a JSON object: kept as sent.
    Other {
        /// The change's `field`.
        field: String,
        /// The change's `value`, as sent.
        value: Value,
    },
}

impl ChangeValue {
    /// Reads the value of a change of `field`.
    pub(crate) fn read(field: &str, value: Value) -> Self {
        let object = match value {
            Value::Object(object) => object,
            value => {
                return Self::Other {
                    field: field.to_owned(),
                    value,
                }
            }
        };
        let mut fields = Fields(object);
        match field {
            "account_update" => Self::AccountUpdate(Box::new(AccountUpdate::read(&mut fields))),
            "account_review_update" => Self::AccountReviewUpdate(AccountReviewUpdate {
                decision: fields
                    .text("decision")
                    .map(|d| AccountReviewStatus::from_graph(&d)),
                extra: fields.rest(),
            }),
            "phone_number_name_update" => Self::PhoneNumberNameUpdate(PhoneNumberNameUpdate {
                display_phone_number: fields.text("display_phone_number"),
                decision: fields
                    .text("decision")
                    .map(|d| NameDecision::from_graph(&d)),
                requested_verified_name: fields.text("requested_verified_name"),
                rejection_reason: fields.text("rejection_reason"),
                extra: fields.rest(),
            }),
            "phone_number_quality_update" => {
                Self::PhoneNumberQualityUpdate(PhoneNumberQualityUpdate {
                    display_phone_number: fields.text("display_phone_number"),
                    event: fields.text("event").map(|e| QualityEvent::from_graph(&e)),
                    current_limit: fields.text("current_limit"),
                    old_limit: fields.text("old_limit"),
                    max_daily_conversations_per_business: fields
                        .text("max_daily_conversations_per_business"),
                    max_daily_conversation_per_phone_number: fields
                        .text("max_daily_conversation_per_phone_number"),
                    extra: fields.rest(),
                })
            }
            _ => Self::Other {
                field: field.to_owned(),
                value: Value::Object(fields.rest()),
            },
        }
    }

    /// The event or decision the value reports, as Meta writes it:
    /// `account_update`'s and `phone_number_quality_update`'s `event`, the
    /// reviews' `decision`; for another field, its value's `event` or
    /// `decision` member when it is a string.
    pub fn event(&self) -> Option<&str> {
        match self {
            Self::AccountUpdate(update) => update.event.as_ref().map(AccountEvent::as_str),
            Self::AccountReviewUpdate(update) => {
                update.decision.as_ref().map(AccountReviewStatus::as_str)
            }
            Self::PhoneNumberNameUpdate(update) => {
                update.decision.as_ref().map(NameDecision::as_str)
            }
            Self::PhoneNumberQualityUpdate(update) => {
                update.event.as_ref().map(QualityEvent::as_str)
            }
            Self::Other { value, .. } => ["event", "decision"]
                .iter()
                .find_map(|key| value.get(key).and_then(Value::as_str)),
        }
    }
}

/// `account_update`: changes to the WABA itself.
///
/// Which members come depends on the [`event`](Self::event) (Meta's
/// reference: `waba_info` with `PARTNER_*`, `AD_ACCOUNT_LINKED` and
/// `MM_LITE_TERMS_SIGNED`; `violation_info` with `ACCOUNT_VIOLATION`;
/// `restriction_info` with `ACCOUNT_RESTRICTION`; `ban_info` with
/// `DISABLED_UPDATE`; `partner_client_certification_info` with
/// `PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE`; `country` with
/// `BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE`). The others
/// (`auth_international_rate_eligibility`, `volume_tier_info`,
/// `disconnection_info`, …) are in [`extra`](Self::extra).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AccountUpdate {
    /// What happened.
    pub event: Option<AccountEvent>,
    /// The number concerned, digits as sent (with `ACCOUNT_VIOLATION` and
    /// `ACCOUNT_RESTRICTION`).
    pub phone_number: Option<String>,
    /// The customer's WABA and business, and the partner's app or solution.
    pub waba_info: Option<WabaInfo>,
    /// The policy violated.
    pub violation_info: Option<ViolationInfo>,
    /// The restrictions put on the WABA (an array; a single object is read
    /// as one).
    pub restriction_info: Vec<RestrictionInfo>,
    /// The ban's state.
    pub ban_info: Option<BanInfo>,
    /// The partner-led business verification's outcome.
    pub partner_client_certification_info: Option<CertificationInfo>,
    /// The business's primary location, ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// Every other member, as sent.
    pub extra: Map<String, Value>,
}

impl AccountUpdate {
    fn read(fields: &mut Fields) -> Self {
        Self {
            event: fields.text("event").map(|e| AccountEvent::from_graph(&e)),
            phone_number: fields.text("phone_number"),
            waba_info: fields.object("waba_info").map(|mut f| WabaInfo {
                waba_id: f
                    .text("waba_id")
                    .map(|id| Lenient::new(id, |id: &str| WabaId::new(id))),
                owner_business_id: f
                    .text("owner_business_id")
                    .map(|id| Lenient::new(id, |id: &str| BusinessId::new(id))),
                partner_app_id: f.text("partner_app_id"),
                solution_id: f.text("solution_id"),
                solution_partner_business_ids: f
                    .texts("solution_partner_business_ids")
                    .unwrap_or_default(),
                ad_account_linked: f.text("ad_account_linked"),
                extra: f.rest(),
            }),
            violation_info: fields.object("violation_info").map(|mut f| ViolationInfo {
                violation_type: f.text("violation_type"),
                extra: f.rest(),
            }),
            restriction_info: fields
                .objects("restriction_info")
                .unwrap_or_default()
                .into_iter()
                .map(|mut f| RestrictionInfo {
                    restriction_type: f.text("restriction_type"),
                    expiration: f.text("expiration"),
                    extra: f.rest(),
                })
                .collect(),
            ban_info: fields.object("ban_info").map(|mut f| BanInfo {
                waba_ban_state: f.text("waba_ban_state").map(|s| BanState::from_graph(&s)),
                waba_ban_date: f.text("waba_ban_date"),
                extra: f.rest(),
            }),
            partner_client_certification_info: fields
                .object("partner_client_certification_info")
                .map(|mut f| CertificationInfo {
                    client_business_id: f
                        .text("client_business_id")
                        .map(|id| Lenient::new(id, |id: &str| BusinessId::new(id))),
                    status: f
                        .text("status")
                        .map(|s| CertificationStatus::from_graph(&s)),
                    rejection_reasons: f.texts("rejection_reasons").unwrap_or_default(),
                    extra: f.rest(),
                }),
            country: fields.text("country"),
            extra: fields.rest(),
        }
    }
}

/// `account_update`'s `waba_info`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct WabaInfo {
    /// The customer's WABA.
    pub waba_id: Option<Lenient<WabaId>>,
    /// The customer's business portfolio.
    pub owner_business_id: Option<Lenient<BusinessId>>,
    /// The partner's app (`PARTNER_APP_INSTALLED`, `PARTNER_APP_UNINSTALLED`).
    pub partner_app_id: Option<String>,
    /// The Multi-Partner Solution the customer onboarded through.
    pub solution_id: Option<String>,
    /// The business portfolios of that solution's partners.
    pub solution_partner_business_ids: Vec<String>,
    /// The ad account linked (`AD_ACCOUNT_LINKED`).
    pub ad_account_linked: Option<String>,
    /// Every other member, as sent.
    pub extra: Map<String, Value>,
}

/// `account_update`'s `violation_info`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ViolationInfo {
    /// The policy violated (`ADULT`, `SCAM`, …), as sent.
    pub violation_type: Option<String>,
    /// Every other member, as sent.
    pub extra: Map<String, Value>,
}

/// One of `account_update`'s `restriction_info`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RestrictionInfo {
    /// What is restricted (`RESTRICTED_ADD_PHONE_NUMBER_ACTION`,
    /// `RESTRICTED_BIZ_INITIATED_MESSAGING`, …), as sent.
    pub restriction_type: Option<String>,
    /// When the restriction ends, as sent.
    pub expiration: Option<String>,
    /// Every other member, as sent.
    pub extra: Map<String, Value>,
}

/// `account_update`'s `ban_info`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct BanInfo {
    /// The ban's state.
    pub waba_ban_state: Option<BanState>,
    /// When the WABA was banned, as sent (`April 17, 2025`).
    pub waba_ban_date: Option<String>,
    /// Every other member, as sent.
    pub extra: Map<String, Value>,
}

/// `account_update`'s `partner_client_certification_info`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CertificationInfo {
    /// The customer's business portfolio.
    pub client_business_id: Option<Lenient<BusinessId>>,
    /// The submission's status.
    pub status: Option<CertificationStatus>,
    /// Why it was rejected (`NONE` when it was not), as sent.
    pub rejection_reasons: Vec<String>,
    /// Every other member, as sent.
    pub extra: Map<String, Value>,
}

/// `account_review_update`: Meta's review of the WABA.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AccountReviewUpdate {
    /// The outcome (`APPROVED`, `REJECTED`, `PENDING`, `DEFERRED`): the
    /// WABA's new `account_review_status`, with what it means for a port
    /// ([`AccountReviewStatus::meaning`]).
    pub decision: Option<AccountReviewStatus>,
    /// Every other member, as sent.
    pub extra: Map<String, Value>,
}

/// `phone_number_name_update`: Meta's review of a number's display name.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PhoneNumberNameUpdate {
    /// The number, as Meta displays it (digits: `15550783881`).
    pub display_phone_number: Option<String>,
    /// The outcome.
    pub decision: Option<NameDecision>,
    /// The display name reviewed.
    pub requested_verified_name: Option<String>,
    /// Why it was rejected (`NAME_FORMAT_UNACCEPTABLE`, …), as sent;
    /// `None` when it was not.
    pub rejection_reason: Option<String>,
    /// Every other member, as sent.
    pub extra: Map<String, Value>,
}

/// `phone_number_quality_update`: a number's messaging limit or
/// throughput changed, or its quality was flagged.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PhoneNumberQualityUpdate {
    /// The number, as Meta displays it (digits: `15550783881`).
    pub display_phone_number: Option<String>,
    /// What happened.
    pub event: Option<QualityEvent>,
    /// The messaging limit now (`TIER_250`, `TIER_2K`, `TIER_UNLIMITED`,
    /// …), as sent. Meta deprecates it for
    /// [`max_daily_conversations_per_business`](Self::max_daily_conversations_per_business).
    pub current_limit: Option<String>,
    /// The messaging limit before, as sent (limit changes only).
    pub old_limit: Option<String>,
    /// The business portfolio's messaging limit now, as sent.
    pub max_daily_conversations_per_business: Option<String>,
    /// The number's messaging limit now, as earlier payloads sent it.
    pub max_daily_conversation_per_phone_number: Option<String>,
    /// Every other member, as sent.
    pub extra: Map<String, Value>,
}

graph_enum! {
    /// `account_update`'s `event`. Meta's reference names these; any other
    /// value is kept as sent ([`Other`](Self::Other)).
    AccountEvent {
        /// The WABA was deleted.
        AccountDeleted = "ACCOUNT_DELETED",
        /// The WABA violated a policy (`violation_info`).
        AccountViolation = "ACCOUNT_VIOLATION",
        /// The WABA was restricted (`restriction_info`).
        AccountRestriction = "ACCOUNT_RESTRICTION",
        /// The WABA was offboarded after a device change or a number's
        /// re-registration.
        AccountOffboarded = "ACCOUNT_OFFBOARDED",
        /// The WABA reconnected after a device change or a number's
        /// re-registration.
        AccountReconnected = "ACCOUNT_RECONNECTED",
        /// The WABA gave the partner access to its ad accounts.
        AdAccountLinked = "AD_ACCOUNT_LINKED",
        /// The WABA became eligible for authentication-international rates.
        AuthIntlPriceEligibilityUpdate = "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE",
        /// The business's primary location was set (`country`).
        BusinessPrimaryLocationCountryUpdate = "BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE",
        /// The business's verification status changed (as relayed by BSPs).
        BusinessVerificationStatusUpdate = "BUSINESS_VERIFICATION_STATUS_UPDATE",
        /// The WABA was disabled, scheduled for it, or reinstated (`ban_info`).
        DisabledUpdate = "DISABLED_UPDATE",
        /// The WABA accepted the Marketing Messages Lite terms.
        MmLiteTermsSigned = "MM_LITE_TERMS_SIGNED",
        /// The WABA was shared with the partner (`waba_info`).
        PartnerAdded = "PARTNER_ADDED",
        /// The customer granted the partner's app a permission (`waba_info`).
        PartnerAppInstalled = "PARTNER_APP_INSTALLED",
        /// The customer removed the partner's app (`waba_info`).
        PartnerAppUninstalled = "PARTNER_APP_UNINSTALLED",
        /// The partner-led business verification's status changed
        /// (`partner_client_certification_info`).
        PartnerClientCertificationStatusUpdate = "PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE",
        /// The WABA was unshared from the partner.
        PartnerRemoved = "PARTNER_REMOVED",
        /// A number of the WABA was verified (earlier payloads).
        VerifiedAccount = "VERIFIED_ACCOUNT",
        /// The WABA's volume-based pricing tier changed.
        VolumeBasedPricingTierUpdate = "VOLUME_BASED_PRICING_TIER_UPDATE",
    }
}

graph_enum! {
    /// `ban_info`'s `waba_ban_state`.
    BanState {
        /// The WABA is disabled.
        Disable = "DISABLE",
        /// The WABA was reinstated.
        Reinstate = "REINSTATE",
        /// The WABA is scheduled to be disabled.
        ScheduleForDisable = "SCHEDULE_FOR_DISABLE",
    }
}

graph_enum! {
    /// `partner_client_certification_info`'s `status`.
    CertificationStatus {
        /// Reviewed and approved.
        Approved = "APPROVED",
        /// Discarded (technical issues, or no progress for a while).
        Discarded = "DISCARDED",
        /// Reviewed and rejected (`rejection_reasons`).
        Failed = "FAILED",
        /// Waiting for review.
        Pending = "PENDING",
        /// Revoked.
        Revoked = "REVOKED",
    }
}

graph_enum! {
    /// `phone_number_name_update`'s `decision`.
    NameDecision {
        /// The display name was approved.
        Approved = "APPROVED",
        /// The decision was deferred.
        Deferred = "DEFERRED",
        /// The decision is pending further review.
        Pending = "PENDING",
        /// The display name was rejected (`rejection_reason`).
        Rejected = "REJECTED",
    }
}

graph_enum! {
    /// `phone_number_quality_update`'s `event`.
    QualityEvent {
        /// The number is still being registered.
        Onboarding = "ONBOARDING",
        /// The number's throughput was raised.
        ThroughputUpgrade = "THROUGHPUT_UPGRADE",
        /// The messaging limit was raised.
        Upgrade = "UPGRADE",
        /// The messaging limit was lowered.
        Downgrade = "DOWNGRADE",
        /// The number's quality is low: its limit may be lowered.
        Flagged = "FLAGGED",
        /// The number's quality recovered.
        Unflagged = "UNFLAGGED",
    }
}

/// A JSON object's members, taken out one by one as they are read; what
/// is left is kept as `extra`.
pub(crate) struct Fields(pub(crate) Map<String, Value>);

impl Fields {
    /// A member that is a string (or a number, as text; ids are sent both
    /// ways). `null` reads as absent; another type stays in the rest.
    pub(crate) fn text(&mut self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(_) | Value::Number(_) | Value::Null => {}
            _ => return None,
        }
        match self.0.remove(key)? {
            Value::String(text) => Some(text),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        }
    }

    /// A member that is an array of strings (or numbers). `null` reads as
    /// absent; anything else stays in the rest.
    fn texts(&mut self, key: &str) -> Option<Vec<String>> {
        let all_text = match self.0.get(key)? {
            Value::Array(items) => items
                .iter()
                .all(|item| matches!(item, Value::String(_) | Value::Number(_))),
            Value::Null => true,
            _ => false,
        };
        if !all_text {
            return None;
        }
        match self.0.remove(key)? {
            Value::Array(items) => Some(
                items
                    .into_iter()
                    .filter_map(|item| match item {
                        Value::String(text) => Some(text),
                        Value::Number(number) => Some(number.to_string()),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => None,
        }
    }

    /// A member that is an object. `null` reads as absent; another type
    /// stays in the rest.
    fn object(&mut self, key: &str) -> Option<Fields> {
        match self.0.get(key)? {
            Value::Object(_) | Value::Null => {}
            _ => return None,
        }
        match self.0.remove(key)? {
            Value::Object(object) => Some(Fields(object)),
            _ => None,
        }
    }

    /// A member that is an array of objects, or one object. `null` reads
    /// as absent; anything else stays in the rest.
    fn objects(&mut self, key: &str) -> Option<Vec<Fields>> {
        let readable = match self.0.get(key)? {
            Value::Array(items) => items.iter().all(Value::is_object),
            Value::Object(_) | Value::Null => true,
            _ => false,
        };
        if !readable {
            return None;
        }
        match self.0.remove(key)? {
            Value::Array(items) => Some(
                items
                    .into_iter()
                    .filter_map(|item| match item {
                        Value::Object(object) => Some(Fields(object)),
                        _ => None,
                    })
                    .collect(),
            ),
            Value::Object(object) => Some(vec![Fields(object)]),
            _ => None,
        }
    }

    /// What was not taken.
    pub(crate) fn rest(&mut self) -> Map<String, Value> {
        std::mem::take(&mut self.0)
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(field: &str, value: Value) -> ChangeValue {
        ChangeValue::read(field, value)
    }

    #[test]
    fn reads_partner_added_and_keeps_the_rest() {
        let value = read(
            "account_update",
            json!({
                "event": "PARTNER_ADDED",
                "waba_info": {
                    "waba_id": "980198427658004",
                    "owner_business_id": 2329417887457253u64,
                    "solution_id": "1715120619246906",
                    "solution_partner_business_ids": ["2949482758682047", "520744086200222"],
                    "new_member": true
                },
                "disconnection_info": {"reason": "x"}
            }),
        );
        let ChangeValue::AccountUpdate(update) = &value else {
            panic!("{value:?}")
        };
        assert_eq!(update.event, Some(AccountEvent::PartnerAdded));
        assert_eq!(value.event(), Some("PARTNER_ADDED"));
        let info = update.waba_info.as_ref().unwrap();
        assert_eq!(
            info.waba_id.as_ref().unwrap().valid().map(WabaId::as_str),
            Some("980198427658004")
        );
        assert_eq!(
            info.owner_business_id.as_ref().unwrap().as_sent(),
            "2329417887457253"
        );
        assert_eq!(info.solution_partner_business_ids.len(), 2);
        assert_eq!(info.extra.get("new_member"), Some(&json!(true)));
        assert!(update.extra.contains_key("disconnection_info"));
    }

    #[test]
    fn keeps_unknown_values_and_odd_types() {
        let value = read(
            "account_update",
            json!({
                "event": "SOMETHING_NEW",
                "phone_number": ["not", "text"],
                "restriction_info": {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": "2026-04-19T13:59:20+0000"},
                "ban_info": {"waba_ban_state": "PAUSED", "waba_ban_date": null},
                "waba_info": {"waba_id": "act_12"}
            }),
        );
        let ChangeValue::AccountUpdate(update) = value else {
            panic!()
        };
        assert_eq!(
            update.event,
            Some(AccountEvent::Other("SOMETHING_NEW".into()))
        );
        assert_eq!(update.phone_number, None);
        assert_eq!(
            update.extra.get("phone_number"),
            Some(&json!(["not", "text"]))
        );
        assert_eq!(update.restriction_info.len(), 1);
        let ban = update.ban_info.unwrap();
        assert_eq!(ban.waba_ban_state, Some(BanState::Other("PAUSED".into())));
        assert_eq!(ban.waba_ban_date, None);
        assert!(ban.extra.is_empty());
        let waba = update.waba_info.unwrap().waba_id.unwrap();
        assert_eq!(waba.valid(), None);
        assert_eq!(waba.as_sent(), "act_12");
    }

    #[test]
    fn reads_reviews_and_quality() {
        let review = read("account_review_update", json!({"decision": "deferred"}));
        assert_eq!(
            review,
            ChangeValue::AccountReviewUpdate(AccountReviewUpdate {
                decision: Some(AccountReviewStatus::Deferred),
                extra: Map::new(),
            })
        );
        let name = read(
            "phone_number_name_update",
            json!({"display_phone_number": "15550783881", "decision": "APPROVED",
                   "requested_verified_name": "Lucky Shrub", "rejection_reason": null}),
        );
        let ChangeValue::PhoneNumberNameUpdate(name) = name else {
            panic!()
        };
        assert_eq!(name.decision, Some(NameDecision::Approved));
        assert_eq!(name.rejection_reason, None);
        assert!(name.extra.is_empty());
        let quality = read(
            "phone_number_quality_update",
            json!({"display_phone_number": "15550783881", "event": "FLAGGED",
                   "current_limit": "TIER_10K", "max_daily_conversation_per_phone_number": 1000}),
        );
        assert_eq!(quality.event(), Some("FLAGGED"));
        let ChangeValue::PhoneNumberQualityUpdate(quality) = quality else {
            panic!()
        };
        assert_eq!(quality.event, Some(QualityEvent::Flagged));
        assert_eq!(
            quality.max_daily_conversation_per_phone_number.as_deref(),
            Some("1000")
        );
    }

    #[test]
    fn other_fields_and_non_objects_are_kept_as_sent() {
        assert_eq!(
            read("account_update", json!("PARTNER_ADDED")),
            ChangeValue::Other {
                field: "account_update".into(),
                value: json!("PARTNER_ADDED")
            }
        );
        let other = read("account_alerts", json!({"event": "X", "a": [1]}));
        assert_eq!(other.event(), Some("X"));
        assert_eq!(
            other,
            ChangeValue::Other {
                field: "account_alerts".into(),
                value: json!({"event": "X", "a": [1]})
            }
        );
    }
}
