//! A delivery's envelope: `{"object": …, "entry": [{"id": <WABA id>,
//! "time": <unix seconds>, "changes": [{"field": …, "value": …}]}]}`, read
//! into entries and changes that each say which WABA, number and time they
//! concern.

use std::fmt;

use serde_json::Value;

use super::change_id::ChangeId;
use super::error::WebhookError;
use super::signature::Tag;
use super::value::{ChangeValue, Fields};
use crate::ids::{PhoneNumberId, WabaId};
use crate::phone::PhoneNumber;
use crate::time::Timestamp;

/// The `object` of WhatsApp Business Account webhooks.
pub const WHATSAPP_BUSINESS_ACCOUNT: &str = "whatsapp_business_account";

/// A value from a delivery, kept as sent and validated into the crate's
/// type when it can be: an id that is not all digits, or a display number
/// that is no valid phone number, is still there
/// ([`as_sent`](Self::as_sent)), never an error.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Lenient<T> {
    sent: String,
    valid: Option<T>,
}

impl<T> Lenient<T> {
    /// `sent`, with `validate`'s answer when it accepts it.
    pub(crate) fn new<E>(sent: String, validate: impl FnOnce(&str) -> Result<T, E>) -> Self {
        let valid = validate(&sent).ok();
        Self { sent, valid }
    }

    /// The value as sent.
    pub fn as_sent(&self) -> &str {
        &self.sent
    }

    /// The validated value, when the value sent is valid.
    pub fn valid(&self) -> Option<&T> {
        self.valid.as_ref()
    }

    /// Whether the value sent is valid.
    pub fn is_valid(&self) -> bool {
        self.valid.is_some()
    }

    /// The validated value, when the value sent is valid.
    pub fn into_valid(self) -> Option<T> {
        self.valid
    }
}

impl<T> fmt::Display for Lenient<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sent)
    }
}

impl<T: fmt::Debug> fmt::Debug for Lenient<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.valid {
            Some(valid) => valid.fmt(f),
            None => write!(f, "Invalid({:?})", self.sent),
        }
    }
}

/// One webhook delivery: its `object` and entries.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    object: String,
    entries: Vec<Entry>,
    /// The signature it was accepted with (none when parsed alone).
    pub(crate) tag: Option<Tag>,
}

impl Delivery {
    /// Reads a body whose signature was checked elsewhere.
    /// [`WebhookReceiver::receive`](super::WebhookReceiver::receive) checks
    /// the size and the signature first, then reads it with this.
    ///
    /// # Errors
    /// [`WebhookErrorKind::Malformed`](super::WebhookErrorKind::Malformed)
    /// when the body is not JSON, or not the envelope: an object whose
    /// `entry` is an array of objects each with an `id` (string or number)
    /// and a `changes` array (absent: none) of objects each with a string
    /// `field`. `object` may be missing or any string; `time` may be
    /// missing; nothing inside a change's `value` is an error.
    pub fn parse(body: &[u8]) -> Result<Self, WebhookError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            WebhookError::malformed(format_args!(
                "{} at line {} column {}",
                match e.classify() {
                    serde_json::error::Category::Io => "unreadable",
                    serde_json::error::Category::Syntax => "not JSON",
                    serde_json::error::Category::Data => "not JSON data",
                    serde_json::error::Category::Eof => "JSON cut short",
                },
                e.line(),
                e.column()
            ))
        })?;
        Self::from_value(value)
    }

    fn from_value(value: Value) -> Result<Self, WebhookError> {
        let Value::Object(mut envelope) = value else {
            return Err(WebhookError::malformed("the body is not a JSON object"));
        };
        let object = match envelope.remove("object") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(object)) => object,
            Some(_) => return Err(WebhookError::malformed("`object` is not a string")),
        };
        let Some(Value::Array(entries)) = envelope.remove("entry") else {
            return Err(WebhookError::malformed(
                "`entry` is missing or not an array",
            ));
        };
        let entries = entries
            .into_iter()
            .enumerate()
            .map(|(at, entry)| Entry::read(at, entry))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            object,
            entries,
            tag: None,
        })
    }

    /// The delivery's `object` as sent (`whatsapp_business_account`; empty
    /// when missing). Deliveries of other objects are read all the same.
    pub fn object(&self) -> &str {
        &self.object
    }

    /// Whether the `object` is `whatsapp_business_account`.
    pub fn is_whatsapp_business_account(&self) -> bool {
        self.object == WHATSAPP_BUSINESS_ACCOUNT
    }

    /// The entries, in the order sent: one per WABA and time.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Every change of every entry, in the order sent.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.entries.iter().flat_map(|entry| entry.changes.iter())
    }

    /// Every change of every entry, in the order sent.
    pub fn into_changes(self) -> impl Iterator<Item = Change> {
        self.entries.into_iter().flat_map(|entry| entry.changes)
    }
}

/// One entry of a delivery: the changes of one WABA at one time.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    waba_id: Lenient<WabaId>,
    time: Option<u64>,
    changes: Vec<Change>,
}

impl Entry {
    fn read(at: usize, entry: Value) -> Result<Self, WebhookError> {
        let Value::Object(entry) = entry else {
            return Err(WebhookError::malformed(format_args!(
                "entry {at} is not an object"
            )));
        };
        let mut fields = Fields(entry);
        let waba = fields.text("id").ok_or_else(|| {
            WebhookError::malformed(format_args!("entry {at} has no `id` string or number"))
        })?;
        let time = match fields.0.remove("time") {
            None | Some(Value::Null) => None,
            Some(Value::Number(time)) => time.as_u64(),
            Some(Value::String(time)) => time.trim().parse().ok(),
            Some(_) => None,
        };
        let changes = match fields.0.remove("changes") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(changes)) => changes,
            Some(_) => {
                return Err(WebhookError::malformed(format_args!(
                    "entry {at}'s `changes` is not an array"
                )))
            }
        };
        let waba_id = Lenient::new(waba, |id: &str| WabaId::new(id));
        let changes = changes
            .into_iter()
            .enumerate()
            .map(|(index, change)| Change::read(&waba_id, time, change, at, index))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            waba_id,
            time,
            changes,
        })
    }

    /// The entry's `id`: the WABA the changes concern.
    pub fn waba_id(&self) -> &Lenient<WabaId> {
        &self.waba_id
    }

    /// When the changes happened (the entry's `time`, unix seconds), if
    /// sent as a non-negative integer.
    pub fn time(&self) -> Option<Timestamp> {
        self.time.map(unix_seconds)
    }

    /// The entry's `time` as sent, in unix seconds.
    pub fn unix_time(&self) -> Option<u64> {
        self.time
    }

    /// The entry's changes, in the order sent.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }
}

/// One change: a `field` and its typed [`value`](Self::value), with what a
/// caller routes it by — the WABA, the time, the number it concerns — and a
/// fingerprint to recognise it when delivered again ([`id`](Self::id)).
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    waba_id: Lenient<WabaId>,
    time: Option<u64>,
    field: String,
    value: ChangeValue,
    id: ChangeId,
    display_phone_number: Option<Lenient<PhoneNumber>>,
    phone_number_id: Option<Lenient<PhoneNumberId>>,
}

impl Change {
    fn read(
        waba_id: &Lenient<WabaId>,
        time: Option<u64>,
        change: Value,
        entry: usize,
        at: usize,
    ) -> Result<Self, WebhookError> {
        let Value::Object(change) = change else {
            return Err(WebhookError::malformed(format_args!(
                "change {at} of entry {entry} is not an object"
            )));
        };
        let mut fields = Fields(change);
        let Some(Value::String(field)) = fields.0.remove("field") else {
            return Err(WebhookError::malformed(format_args!(
                "change {at} of entry {entry} has no `field` string"
            )));
        };
        let value = fields.0.remove("value").unwrap_or(Value::Null);
        let id = ChangeId::of(waba_id.as_sent(), time, &field, &value);
        let display_phone_number = display_number(&value).map(|display| {
            Lenient::new(display.to_owned(), |display: &str| {
                PhoneNumber::parse(display)
            })
        });
        let phone_number_id =
            phone_number_id(&value).map(|id| Lenient::new(id, |id: &str| PhoneNumberId::new(id)));
        let value = ChangeValue::read(&field, value);
        Ok(Self {
            waba_id: waba_id.clone(),
            time,
            field,
            value,
            id,
            display_phone_number,
            phone_number_id,
        })
    }

    /// The WABA the change concerns (its entry's `id`).
    pub fn waba_id(&self) -> &Lenient<WabaId> {
        &self.waba_id
    }

    /// When the change happened (its entry's `time`).
    pub fn time(&self) -> Option<Timestamp> {
        self.time.map(unix_seconds)
    }

    /// Its entry's `time` as sent, in unix seconds.
    pub fn unix_time(&self) -> Option<u64> {
        self.time
    }

    /// The change's `field` (`account_update`, `messages`, …).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The change's value, typed by its field.
    pub fn value(&self) -> &ChangeValue {
        &self.value
    }

    /// The change's value, typed by its field.
    pub fn into_value(self) -> ChangeValue {
        self.value
    }

    /// The event or decision the change reports, as Meta writes it
    /// ([`ChangeValue::event`]).
    pub fn event(&self) -> Option<&str> {
        self.value.event()
    }

    /// The change's fingerprint: the same for the same change delivered
    /// again, different for any other change.
    pub fn id(&self) -> ChangeId {
        self.id
    }

    /// The number the change concerns, as Meta displays it (digits:
    /// `15550783881`), read as a [`PhoneNumber`] when it is a valid one:
    /// the value's `display_phone_number` or `phone_number`, or its
    /// `metadata.display_phone_number` (the `messages` field's shape).
    pub fn phone_number(&self) -> Option<&Lenient<PhoneNumber>> {
        self.display_phone_number.as_ref()
    }

    /// The phone number id the change concerns, when the value carries one:
    /// its `phone_number_id`, its `metadata.phone_number_id`, or its
    /// `entity_id` when `entity_type` is `PHONE_NUMBER` (`account_alerts`).
    pub fn phone_number_id(&self) -> Option<&Lenient<PhoneNumberId>> {
        self.phone_number_id.as_ref()
    }
}

/// A unix time in seconds as a [`Timestamp`] (saturating).
fn unix_seconds(seconds: u64) -> Timestamp {
    Timestamp::from_unix_millis(seconds.saturating_mul(1000))
}

/// A member that is a non-empty string, or a number as text.
fn text_at<'a>(value: &'a Value, key: &str) -> Option<std::borrow::Cow<'a, str>> {
    match value.get(key)? {
        Value::String(text) if !text.trim().is_empty() => Some(text.as_str().into()),
        Value::Number(number) => Some(number.to_string().into()),
        _ => None,
    }
}

/// The display number a change's value names.
fn display_number(value: &Value) -> Option<String> {
    text_at(value, "display_phone_number")
        .or_else(|| text_at(value, "phone_number"))
        .or_else(|| text_at(value.get("metadata")?, "display_phone_number"))
        .map(|text| text.into_owned())
}

/// The phone number id a change's value names.
fn phone_number_id(value: &Value) -> Option<String> {
    let entity = || {
        let is_number = value
            .get("entity_type")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind.eq_ignore_ascii_case("PHONE_NUMBER"));
        is_number.then(|| text_at(value, "entity_id")).flatten()
    };
    text_at(value, "phone_number_id")
        .or_else(|| text_at(value.get("metadata")?, "phone_number_id"))
        .or_else(entity)
        .map(|text| text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::value::AccountEvent;
    use crate::webhook::WebhookErrorKind;

    #[test]
    fn reads_several_entries_and_changes() {
        let body = br#"{"object":"whatsapp_business_account","entry":[
            {"id":"102290129340398","time":1739321024,"changes":[
                {"field":"phone_number_name_update","value":{"display_phone_number":"+1 415-555-0123","decision":"APPROVED","requested_verified_name":"Lucky Shrub","rejection_reason":null}},
                {"field":"account_review_update","value":{"decision":"REJECTED"}}]},
            {"id":2949482758682047,"time":1744823932,"changes":[
                {"value":{"event":"PARTNER_ADDED","waba_info":{"waba_id":"980198427658004","owner_business_id":"2329417887457253"}},"field":"account_update"},
                {"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"}}}]}]}"#;
        let delivery = Delivery::parse(body).unwrap();
        assert!(delivery.is_whatsapp_business_account());
        assert_eq!(delivery.entries().len(), 2);
        let changes: Vec<&Change> = delivery.changes().collect();
        assert_eq!(changes.len(), 4);
        let name = changes[0];
        assert_eq!(name.waba_id().as_sent(), "102290129340398");
        assert!(name.waba_id().is_valid());
        assert_eq!(name.unix_time(), Some(1739321024));
        assert_eq!(name.time().unwrap().as_unix_millis(), 1_739_321_024_000);
        assert_eq!(name.field(), "phone_number_name_update");
        assert_eq!(name.event(), Some("APPROVED"));
        let phone = name.phone_number().unwrap();
        assert_eq!(phone.as_sent(), "+1 415-555-0123");
        assert_eq!(phone.valid().map(PhoneNumber::e164), Some("+14155550123"));
        assert_eq!(changes[1].event(), Some("REJECTED"));
        assert_eq!(changes[2].waba_id().as_sent(), "2949482758682047");
        assert!(matches!(
            changes[2].value(),
            ChangeValue::AccountUpdate(u) if u.event == Some(AccountEvent::PartnerAdded)
        ));
        let message = changes[3];
        assert_eq!(message.phone_number().unwrap().as_sent(), "15550783881");
        assert_eq!(
            message
                .phone_number_id()
                .unwrap()
                .valid()
                .map(PhoneNumberId::as_str),
            Some("106540352242922")
        );
        let ids: std::collections::HashSet<ChangeId> = changes.iter().map(|c| c.id()).collect();
        assert_eq!(ids.len(), 4);
    }

    #[test]
    fn keeps_odd_ids_objects_and_times() {
        let body = br#"{"object":"page","entry":[{"id":"act_1","time":-5,"changes":[
            {"field":"account_alerts","value":{"entity_type":"PHONE_NUMBER","entity_id":"x1"}}]},
            {"id":"1"}]}"#;
        let delivery = Delivery::parse(body).unwrap();
        assert_eq!(delivery.object(), "page");
        assert!(!delivery.is_whatsapp_business_account());
        let entry = &delivery.entries()[0];
        assert!(!entry.waba_id().is_valid());
        assert_eq!(entry.time(), None);
        let change = &entry.changes()[0];
        assert_eq!(change.phone_number_id().unwrap().as_sent(), "x1");
        assert!(!change.phone_number_id().unwrap().is_valid());
        assert!(delivery.entries()[1].changes().is_empty());
    }

    #[test]
    fn refuses_what_is_not_the_envelope_without_echoing_it() {
        for body in [
            &b""[..],
            b"{\"secret-content\"",
            b"[1]",
            b"{}",
            b"{\"object\":1,\"entry\":[]}",
            b"{\"entry\":{}}",
            b"{\"entry\":[1]}",
            b"{\"entry\":[{}]}",
            b"{\"entry\":[{\"id\":{}}]}",
            b"{\"entry\":[{\"id\":\"1\",\"changes\":{}}]}",
            b"{\"entry\":[{\"id\":\"1\",\"changes\":[1]}]}",
            b"{\"entry\":[{\"id\":\"1\",\"changes\":[{\"value\":{}}]}]}",
            b"{\"entry\":[{\"id\":\"1\",\"changes\":[{\"field\":7}]}]}",
        ] {
            let err = Delivery::parse(body).unwrap_err();
            assert_eq!(err.kind(), &WebhookErrorKind::Malformed, "{body:?}");
            assert!(!err.to_string().contains("secret-content"), "{err}");
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(Delivery::parse(deep.as_bytes()).is_err());
    }
}
