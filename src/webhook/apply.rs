//! Applying webhook events to the sessions they concern: a pure decision
//! per session ([`PortingSession::apply_event`]) and a store-wide apply of
//! a delivery ([`apply_delivery`]) that saves each session it changed
//! under the store's compare-and-swap revisions.

use crate::ids::WabaId;
use crate::route::Route;
use crate::session::PortingSession;
use crate::session_events::{EventMeaning, EventNote};
use crate::state::PortingState;
use crate::store::{SessionKey, SessionStore, StoreError, StoreErrorKind};
use crate::time::Timestamp;
use crate::waba::AccountReviewStatus;
use crate::StatusMeaning;

use super::change_id::ChangeId;
use super::event::{Change, Delivery};
use super::value::{AccountEvent, BanState, ChangeValue, NameDecision};

/// How many times [`apply_delivery`] loads a session again and re-applies
/// a change when another writer saved the session in between.
pub const APPLY_ATTEMPTS: usize = 4;

/// What applying one change did to one session
/// ([`PortingSession::apply_event`]). Only [`Recorded`](Self::Recorded)
/// and [`Woken`](Self::Woken) changed the session (and need saving).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventEffect {
    /// The change is about another WABA or number: nothing changed.
    NotConcerned,
    /// The change is about the session but means nothing for the port (a
    /// quality or pricing update, a field or event this version does not
    /// act on, a review still pending), or the port is finished: nothing
    /// changed. The change is still in the [`Delivery`], as sent.
    Ignored,
    /// The same change was applied before (same [`ChangeId`]: Meta's
    /// retry, or another delivery batching it again): nothing changed.
    Duplicate,
    /// A change of the same topic (the same WABA's sharing, ban, review,
    /// the same number's display name…) dated later was applied already:
    /// this one arrived out of order and changes nothing.
    Stale,
    /// Kept in the session's [`event_notes`](PortingSession::event_notes)
    /// and remembered (a copy is a [`Duplicate`](Self::Duplicate)); the
    /// session's state, wait and next action are as they were: nothing
    /// Meta can be read for would move it now (an Embedded Signup moves
    /// with the popup's result, not a webhook).
    Recorded(EventMeaning),
    /// As [`Recorded`](Self::Recorded), and the session is woken
    /// ([`PortingSession::woken_at`]): it is due now (unless Meta asked
    /// for a wait that has not passed), and the next fleet pass reads
    /// Meta — the migration intent, or the number — before any step, so the
    /// session moves only as far as Meta's state shows.
    Woken(EventMeaning),
}

impl EventEffect {
    /// Whether the session changed (and must be saved).
    pub fn changed_session(self) -> bool {
        matches!(self, Self::Recorded(_) | Self::Woken(_))
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotConcerned => "not_concerned",
            Self::Ignored => "ignored",
            Self::Duplicate => "duplicate",
            Self::Stale => "stale",
            Self::Recorded(_) => "recorded",
            Self::Woken(_) => "woken",
        }
    }
}

/// What a change means for a port, and the topic whose order it is
/// checked in; `None` for what means nothing for a port.
fn classify(value: &ChangeValue) -> Option<(EventMeaning, &'static str)> {
    use EventMeaning::{Attention, Progress};
    match value {
        ChangeValue::AccountUpdate(update) => match update.event.as_ref()? {
            AccountEvent::PartnerAdded => Some((Progress, "partner")),
            AccountEvent::PartnerRemoved => Some((Attention, "partner")),
            AccountEvent::PartnerAppInstalled => Some((Progress, "partner_app")),
            AccountEvent::PartnerAppUninstalled => Some((Attention, "partner_app")),
            AccountEvent::AccountDeleted => Some((Attention, "deleted")),
            AccountEvent::DisabledUpdate => {
                let state = update
                    .ban_info
                    .as_ref()
                    .and_then(|b| b.waba_ban_state.as_ref());
                match state {
                    Some(BanState::Reinstate) => Some((Progress, "ban")),
                    _ => Some((Attention, "ban")),
                }
            }
            AccountEvent::AccountRestriction => Some((Attention, "restriction")),
            AccountEvent::AccountViolation => Some((Attention, "violation")),
            AccountEvent::AccountOffboarded => Some((Attention, "connection")),
            AccountEvent::AccountReconnected => Some((Progress, "connection")),
            AccountEvent::VerifiedAccount => Some((Progress, "verified")),
            _ => None,
        },
        ChangeValue::AccountReviewUpdate(review) => {
            match review.decision.as_ref().map(AccountReviewStatus::meaning)? {
                StatusMeaning::Proceed => Some((Progress, "review")),
                StatusMeaning::Blocker => Some((Attention, "review")),
                _ => None,
            }
        }
        ChangeValue::PhoneNumberNameUpdate(name) => match name.decision.as_ref()? {
            NameDecision::Approved => Some((Progress, "name")),
            NameDecision::Rejected => Some((Attention, "name")),
            _ => None,
        },
        _ => None,
    }
}

/// The WABA a change is about: `waba_info.waba_id` for `account_update`
/// (the entry's `id` of a `PARTNER_*` event is the partner's business),
/// the entry's `id` otherwise.
fn event_waba(change: &Change) -> &str {
    if let ChangeValue::AccountUpdate(update) = change.value() {
        if let Some(waba) = update.waba_info.as_ref().and_then(|i| i.waba_id.as_ref()) {
            return waba.as_sent();
        }
    }
    change.waba_id().as_sent()
}

/// The digits of a number as written (`+1 415-555-0123`: `14155550123`).
fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

impl PortingSession {
    /// The WABAs this session is about: the one it was made for and, for a
    /// solution migration, the one Meta created.
    fn wabas(&self) -> impl Iterator<Item = &WabaId> {
        std::iter::once(self.waba_id()).chain(self.destination_waba_id())
    }

    /// Whether `change` is about this session: its WABA (or the one Meta
    /// created for a solution migration) and, when the change names a
    /// number, its number; or, while a solution migration waits for the
    /// customer, a `PARTNER_ADDED` of the route's solution for the
    /// customer's business (Meta creates a new WABA on acceptance, whose id
    /// the session learns only by reading the intent).
    pub fn is_concerned_by(&self, change: &Change) -> bool {
        let waba = event_waba(change);
        let same_waba = self.wabas().any(|w| w.as_str() == waba);
        let number = change.phone_number().map(|n| digits(n.as_sent()));
        let number_id = change.phone_number_id().map(|id| id.as_sent());
        if number.is_some() || number_id.is_some() {
            let ours = digits(self.phone_number().e164());
            let same_number = number.is_some_and(|n| !n.is_empty() && n == ours)
                || number_id.is_some_and(|id| {
                    self.state()
                        .phone_number_id()
                        .is_some_and(|own| own.as_str() == id)
                });
            return same_waba && same_number;
        }
        same_waba || self.accepts_for_customer(change)
    }

    /// A `PARTNER_ADDED` that may be the customer's acceptance of this
    /// session's migration intent: the route's solution, the session's
    /// business.
    fn accepts_for_customer(&self, change: &Change) -> bool {
        let (
            Route::SolutionMigration { solution_id },
            PortingState::AwaitingIntentAcceptance { .. },
            ChangeValue::AccountUpdate(update),
        ) = (self.route(), self.state(), change.value())
        else {
            return false;
        };
        let Some(info) = &update.waba_info else {
            return false;
        };
        update.event == Some(AccountEvent::PartnerAdded)
            && info.solution_id.as_deref() == Some(solution_id.as_str())
            && info
                .owner_business_id
                .as_ref()
                .is_some_and(|owner| owner.as_sent() == self.business_id().as_str())
    }

    /// Whether a read of Meta can tell where the session stands now, so a
    /// wake is worth it: the migration intent while the customer has not
    /// accepted it, or the number once the session has its id (not while
    /// an Embedded Signup's popup result is still to be exchanged: only
    /// the page's code moves that).
    fn can_be_read(&self) -> bool {
        match self.state() {
            PortingState::AwaitingIntentAcceptance { .. } => true,
            PortingState::SignupFinished { .. } => false,
            state => state.phone_number_id().is_some(),
        }
    }

    /// Applies one webhook change to this session: decides whether it is
    /// about the session ([`is_concerned_by`](Self::is_concerned_by)), was
    /// applied before ([`EventEffect::Duplicate`], by its [`ChangeId`]) or
    /// arrived after a later one of its topic ([`EventEffect::Stale`], by
    /// its entry's `time`), and what it means for the port. `at` is now.
    ///
    /// A webhook never moves the state by itself: Meta's state is read
    /// before a step is skipped, so an event that says someone likely acted
    /// wakes the session ([`EventEffect::Woken`]: the next fleet pass reads
    /// Meta first) and one that may end the port is kept for the operator
    /// ([`event_notes`](Self::event_notes)) and wakes the session for a
    /// read too (a number read showing it gone rejects the session). By
    /// event, for an unfinished session:
    ///
    /// | event | meaning | effect |
    /// |---|---|---|
    /// | `account_update` `PARTNER_ADDED` (the WABA, or for a solution migration waiting for acceptance: the route's `solution_id` and the customer's `owner_business_id`) | progress: Embedded Signup finished, or a migration intent accepted | woken when readable: the intent is read at once (the crate's own 5-minute spacing of intent reads is dropped; a wait Meta asked for stands); an Embedded Signup waiting for the popup is recorded (its result, not a webhook, carries the code to exchange) |
    /// | `PARTNER_REMOVED`, `PARTNER_APP_UNINSTALLED`, `ACCOUNT_DELETED`, `DISABLED_UPDATE` (not `REINSTATE`), `ACCOUNT_RESTRICTION`, `ACCOUNT_VIOLATION`, `ACCOUNT_OFFBOARDED`; `account_review_update` `REJECTED`/`RESTRICTED`/`LIMIT_REACHED`; `phone_number_name_update` `REJECTED` | attention | woken when readable, recorded otherwise; never rejected from a webhook alone |
    /// | `PARTNER_APP_INSTALLED`, `DISABLED_UPDATE` `REINSTATE`, `ACCOUNT_RECONNECTED`, `VERIFIED_ACCOUNT`; review or display name `APPROVED` | progress | woken when readable (a step Meta refused until someone acts is sent again at once), recorded otherwise |
    /// | anything else (quality, pricing, other fields, unknown events, a pending review) | — | [`Ignored`](EventEffect::Ignored) |
    ///
    /// A change that changes the session is remembered (the newest
    /// [`EVENT_MEMORY`](crate::EVENT_MEMORY) fingerprints, and per topic
    /// the newest time), so applying it again — or an older one of its
    /// topic — changes nothing. Save the session after a
    /// [`changed_session`](EventEffect::changed_session) effect;
    /// [`apply_delivery`] does.
    ///
    /// No documented event says a customer approved a message-on-behalf
    /// request or a previous provider disabled two-step verification:
    /// those waits end by a read or the step's retry, as before.
    pub fn apply_event(&mut self, change: &Change, at: Timestamp) -> EventEffect {
        if !self.is_concerned_by(change) {
            return EventEffect::NotConcerned;
        }
        if self.is_finished() {
            return EventEffect::Ignored;
        }
        let Some((meaning, group)) = classify(change.value()) else {
            return EventEffect::Ignored;
        };
        let id = change.id().to_string();
        if self.events().has_seen(&id) {
            return EventEffect::Duplicate;
        }
        let waba = event_waba(change).to_owned();
        let topic = format!("{}/{group}/{waba}", change.field());
        if let (Some(time), Some(newest)) = (change.unix_time(), self.events().newest(&topic)) {
            if time < newest {
                return EventEffect::Stale;
            }
            if time == newest && self.events().seen_at_newest(&topic, &id) {
                return EventEffect::Duplicate;
            }
        }
        let note = EventNote {
            at,
            time: change.time(),
            waba_id: waba,
            field: change.field().to_owned(),
            event: change.event().map(str::to_owned),
            meaning,
        };
        let wake = self.can_be_read();
        let events = self.events_mut();
        events.remember(id, topic, change.unix_time(), note);
        if !wake {
            return EventEffect::Recorded(meaning);
        }
        // Dated when Meta says it happened (never later than now): an
        // event from before a refusal does not answer it.
        let happened = change.time().map_or(at, |time| time.min(at));
        events.wake(happened, meaning);
        // The crate's own spacing of intent reads gives way; any other wait
        // (one Meta asked for) stands.
        if let PortingState::AwaitingIntentAcceptance { .. } = self.state() {
            self.lift_own_wait();
        }
        EventEffect::Woken(meaning)
    }
}

/// What applying one change did to one session ([`apply_delivery`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct SessionEffect {
    /// The session.
    pub key: SessionKey,
    /// What the change did to it, once saved; or why it could not be
    /// saved: another worker holds the session
    /// ([`Fenced`](StoreErrorKind::Fenced)), other writers kept saving it
    /// ([`Conflict`](StoreErrorKind::Conflict) after [`APPLY_ATTEMPTS`]),
    /// or the store failed.
    pub result: Result<EventEffect, StoreError>,
}

/// What applying one change of a delivery did ([`apply_delivery`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct ChangeOutcome {
    /// The change's fingerprint.
    pub id: ChangeId,
    /// Its `field`.
    pub field: String,
    /// Its event or decision, as sent.
    pub event: Option<String>,
    /// The sessions it concerns, with what it did to each (none: it is
    /// about no unfinished session, or means nothing for a port).
    pub sessions: Vec<SessionEffect>,
}

/// What applying a delivery did ([`apply_delivery`]), change by change.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct DeliveryOutcome {
    /// Each change of the delivery, in the order sent.
    pub changes: Vec<ChangeOutcome>,
}

impl DeliveryOutcome {
    /// Whether every session concerned was saved (or needed no save).
    /// When not, some session could not be updated now (held by a worker,
    /// or the store failed): [`forget`](super::WebhookReceiver::forget)
    /// the delivery and answer Meta an error (503), so that it retries;
    /// what was applied is not applied twice.
    pub fn is_complete(&self) -> bool {
        self.changes
            .iter()
            .flat_map(|change| &change.sessions)
            .all(|session| session.result.is_ok())
    }

    /// The sessions a change woke (each once).
    pub fn woken(&self) -> Vec<&SessionKey> {
        let mut keys: Vec<&SessionKey> = self
            .changes
            .iter()
            .flat_map(|change| &change.sessions)
            .filter(|s| matches!(s.result, Ok(EventEffect::Woken(_))))
            .map(|s| &s.key)
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    /// Every session result, with its change.
    pub fn results(&self) -> impl Iterator<Item = (&ChangeOutcome, &SessionEffect)> {
        self.changes
            .iter()
            .flat_map(|change| change.sessions.iter().map(move |s| (change, s)))
    }
}

/// Applies every change of `delivery` to the store's unfinished sessions it
/// concerns ([`PortingSession::apply_event`]) and saves each session a
/// change changed, as its next revision. `now` is the time applied (the
/// fleet's clock: [`Fleet::apply_webhook`](crate::Fleet::apply_webhook)).
///
/// - The store is read only when some change can mean something for a
///   port (a delivery of `messages` or quality updates reads nothing),
///   then once per delivery ([`SessionStore::list_unfinished`]).
/// - Saves are compare-and-swap on the session's revision, without a
///   lease: a session another writer saved meanwhile is loaded again and
///   the change applied to the newer copy (up to [`APPLY_ATTEMPTS`]
///   times); a newer save is never overwritten. A session a worker holds
///   a live lease on is not written
///   ([`Fenced`](StoreErrorKind::Fenced) in its [`SessionEffect`]).
/// - Idempotent: a change applied before is a
///   [`Duplicate`](EventEffect::Duplicate), an older one of its topic
///   [`Stale`](EventEffect::Stale); neither writes.
///
/// When [`DeliveryOutcome::is_complete`] is false, forget the delivery
/// and answer Meta 503 so that it retries.
///
/// # Errors
/// The store could not list its sessions (nothing was applied).
pub async fn apply_delivery<S: SessionStore + ?Sized>(
    store: &S,
    delivery: &Delivery,
    now: Timestamp,
) -> Result<DeliveryOutcome, StoreError> {
    let mut outcome = DeliveryOutcome::default();
    let meaningful = delivery.changes().any(|c| classify(c.value()).is_some());
    let mut sessions = if meaningful {
        store.list_unfinished().await?
    } else {
        Vec::new()
    };
    for change in delivery.changes() {
        let mut effects = Vec::new();
        for session in &mut sessions {
            if !session.is_concerned_by(change) || classify(change.value()).is_none() {
                continue;
            }
            let key = SessionKey::of(session);
            let result = apply_and_save(store, session, change, now).await;
            effects.push(SessionEffect { key, result });
        }
        outcome.changes.push(ChangeOutcome {
            id: change.id(),
            field: change.field().to_owned(),
            event: change.event().map(str::to_owned),
            sessions: effects,
        });
    }
    Ok(outcome)
}

/// Applies `change` to `session` and saves it if it changed; on a
/// conflict, loads the stored session and tries again. `session` is left
/// as stored afterwards (the next change of the delivery starts from it).
async fn apply_and_save<S: SessionStore + ?Sized>(
    store: &S,
    session: &mut PortingSession,
    change: &Change,
    now: Timestamp,
) -> Result<EventEffect, StoreError> {
    let key = SessionKey::of(session);
    let mut last_conflict = None;
    for _ in 0..APPLY_ATTEMPTS {
        let mut next = session.clone();
        let effect = next.apply_event(change, now);
        if !effect.changed_session() {
            return Ok(effect);
        }
        next.next_revision();
        match store.save(&next, None, now).await {
            Ok(()) => {
                *session = next;
                return Ok(effect);
            }
            Err(error) if matches!(error.kind(), StoreErrorKind::Conflict { .. }) => {
                match store.load(&key).await? {
                    Some(stored) => *session = stored,
                    // Removed meanwhile: nothing to apply to.
                    None => return Ok(EventEffect::NotConcerned),
                }
                last_conflict = Some(error);
            }
            Err(error) => return Err(error),
        }
    }
    Err(last_conflict.unwrap_or_else(|| StoreError::conflict(&key, Some(session.revision()))))
}
