//! What a session remembers of the webhook events applied to it
//! (`PortingSession::apply_event`, feature `webhooks`): the fingerprints of
//! the changes applied (so a copy changes nothing), the time of the newest
//! change of each topic (so an older one delivered late changes nothing),
//! a pending wake (the next pass reads Meta), and the recent facts for the
//! operator.
//!
//! Plain data, in every build: a session saved by a build with the
//! `webhooks` feature loads, and saves back unchanged, in one without it.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Deserializer, Serialize};

use crate::time::Timestamp;

/// How many applied changes a session remembers to recognise a copy
/// (the newest; a copy of an older one is still refused as stale when a
/// newer change of its topic was applied since).
pub const EVENT_MEMORY: usize = 32;

/// How many event notes a session keeps ([`PortingSession::event_notes`](crate::PortingSession::event_notes)),
/// the newest.
pub const EVENT_NOTES_LIMIT: usize = 8;

/// How many topics a session keeps the newest time of.
const TOPICS_LIMIT: usize = 32;

/// What a webhook event means for a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventMeaning {
    /// Someone acted or the account moved on: the WABA was shared with a
    /// partner (`PARTNER_ADDED`), an app was installed, a ban lifted, the
    /// account reconnected, a number verified, a display name or the
    /// account review approved. A read of Meta tells whether the port can
    /// go on.
    Progress,
    /// A fact that may block or end the port: the WABA deleted, disabled,
    /// restricted, in violation, offboarded, unshared
    /// (`PARTNER_REMOVED`), the app uninstalled, a display name or the
    /// account review rejected. For the operator: the next read, or the
    /// next step's answer, decides what happens to the session.
    Attention,
}

impl EventMeaning {
    /// The snake_case name, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Progress => "progress",
            Self::Attention => "attention",
        }
    }
}

/// A webhook event applied to a session, kept for the operator
/// ([`PortingSession::event_notes`](crate::PortingSession::event_notes)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventNote {
    /// When it was applied.
    pub at: Timestamp,
    /// When it happened, as Meta dated it (the entry's `time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    /// The WABA it is about, as sent (for `account_update`'s `PARTNER_*`
    /// events, `waba_info.waba_id`, not the entry's id).
    pub waba_id: String,
    /// The change's `field` (`account_update`, …).
    pub field: String,
    /// Its event or decision, as Meta writes it (`PARTNER_ADDED`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// What it means for the port.
    pub meaning: EventMeaning,
}

/// A pending wake: an event said someone likely acted, and Meta has not
/// been read since.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Wake {
    pub(crate) at: Timestamp,
    pub(crate) meaning: EventMeaning,
}

/// The session's memory of webhook events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EventLog {
    /// Fingerprints (64 hex digits) of the changes applied, oldest first.
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    seen: VecDeque<String>,
    /// Per topic, the entry `time` (unix seconds) of the newest change
    /// applied.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    newest: BTreeMap<String, u64>,
    /// Per topic, the fingerprints of the changes applied at its newest
    /// time: a late copy of one is a duplicate however many changes of
    /// other topics came since (`seen` forgets the oldest).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    at_newest: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wake: Option<Wake>,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "known_notes"
    )]
    notes: Vec<EventNote>,
}

/// A note this version can read, or one a newer version wrote: dropped.
#[derive(Deserialize)]
#[serde(untagged)]
enum MaybeNote {
    Known(EventNote),
    Unknown(serde::de::IgnoredAny),
}

fn known_notes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<EventNote>, D::Error> {
    let notes = Vec::<MaybeNote>::deserialize(deserializer)?;
    Ok(notes
        .into_iter()
        .filter_map(|note| match note {
            MaybeNote::Known(note) => Some(note),
            MaybeNote::Unknown(_) => None,
        })
        .collect())
}

/// An event log this version can read, or anything else (a newer
/// version's, a damaged one): read as empty, so the session still loads.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum MaybeEventLog {
    Known(EventLog),
    Unknown(serde::de::IgnoredAny),
}

impl MaybeEventLog {
    pub(crate) fn into_log(self) -> EventLog {
        match self {
            Self::Known(log) => log,
            Self::Unknown(_) => EventLog::default(),
        }
    }
}

impl EventLog {
    /// Whether nothing is remembered (not serialized then).
    pub(crate) fn is_empty(&self) -> bool {
        self.seen.is_empty()
            && self.newest.is_empty()
            && self.at_newest.is_empty()
            && self.wake.is_none()
            && self.notes.is_empty()
    }

    /// Whether the change with this fingerprint was applied.
    #[cfg_attr(not(feature = "webhooks"), allow(dead_code))]
    pub(crate) fn has_seen(&self, id: &str) -> bool {
        self.seen.iter().any(|seen| seen == id)
    }

    /// Whether the change `id` was applied at `topic`'s newest time.
    #[cfg_attr(not(feature = "webhooks"), allow(dead_code))]
    pub(crate) fn seen_at_newest(&self, topic: &str, id: &str) -> bool {
        self.at_newest
            .get(topic)
            .is_some_and(|ids| ids.iter().any(|seen| seen == id))
    }

    /// The newest time applied for `topic`.
    #[cfg_attr(not(feature = "webhooks"), allow(dead_code))]
    pub(crate) fn newest(&self, topic: &str) -> Option<u64> {
        self.newest.get(topic).copied()
    }

    /// Remembers an applied change: its fingerprint, its topic's time and
    /// its note, each bounded.
    #[cfg_attr(not(feature = "webhooks"), allow(dead_code))]
    pub(crate) fn remember(
        &mut self,
        id: String,
        topic: String,
        time: Option<u64>,
        note: EventNote,
    ) {
        self.seen.push_back(id.clone());
        while self.seen.len() > EVENT_MEMORY {
            self.seen.pop_front();
        }
        if let Some(time) = time {
            let newest = self.newest.entry(topic.clone()).or_insert(time);
            let ids = self.at_newest.entry(topic).or_default();
            if time > *newest {
                ids.clear();
            }
            if time >= *newest {
                ids.push(id);
                let excess = ids.len().saturating_sub(EVENT_MEMORY);
                ids.drain(..excess);
            }
            *newest = (*newest).max(time);
            while self.newest.len() > TOPICS_LIMIT {
                // The oldest topic goes first.
                let oldest = self
                    .newest
                    .iter()
                    .min_by_key(|(_, time)| **time)
                    .map(|(topic, _)| topic.clone());
                match oldest {
                    Some(topic) => {
                        self.newest.remove(&topic);
                        self.at_newest.remove(&topic);
                    }
                    None => break,
                };
            }
        }
        self.notes.push(note);
        let excess = self.notes.len().saturating_sub(EVENT_NOTES_LIMIT);
        self.notes.drain(..excess);
    }

    /// Records a wake (the latest one wins).
    #[cfg_attr(not(feature = "webhooks"), allow(dead_code))]
    pub(crate) fn wake(&mut self, at: Timestamp, meaning: EventMeaning) {
        self.wake = Some(Wake { at, meaning });
    }

    /// The pending wake.
    pub(crate) fn pending_wake(&self) -> Option<Wake> {
        self.wake
    }

    /// Meta was read (or answered a step): the wake is done.
    pub(crate) fn clear_wake(&mut self) {
        self.wake = None;
    }

    /// The notes, oldest first.
    pub(crate) fn notes(&self) -> &[EventNote] {
        &self.notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(n: u64) -> EventNote {
        EventNote {
            at: Timestamp::from_unix_millis(n),
            time: None,
            waba_id: "1".into(),
            field: "account_update".into(),
            event: Some("PARTNER_ADDED".into()),
            meaning: EventMeaning::Progress,
        }
    }

    #[test]
    fn stays_bounded() {
        let mut log = EventLog::default();
        for n in 0..100u64 {
            log.remember(format!("{n:064}"), format!("t{n}"), Some(n), note(n));
        }
        assert_eq!(log.seen.len(), EVENT_MEMORY);
        assert!(log.has_seen(&format!("{:064}", 99)));
        assert!(!log.has_seen(&format!("{:064}", 0)));
        assert_eq!(log.notes().len(), EVENT_NOTES_LIMIT);
        assert_eq!(log.notes().last(), Some(&note(99)));
        assert_eq!(log.newest.len(), TOPICS_LIMIT);
        assert_eq!(log.newest("t99"), Some(99));
    }

    #[test]
    fn an_unreadable_log_or_note_is_dropped_not_an_error() {
        let log: MaybeEventLog = serde_json::from_str(r#"{"seen": 7}"#).unwrap();
        assert!(log.into_log().is_empty());
        let log: EventLog = serde_json::from_str(
            r#"{"notes":[{"at":1,"waba_id":"1","field":"f","meaning":"later"},
                {"at":2,"waba_id":"1","field":"f","meaning":"attention"}]}"#,
        )
        .unwrap();
        assert_eq!(log.notes().len(), 1);
        assert_eq!(log.notes()[0].meaning, EventMeaning::Attention);
    }
}
