//! The receiver's bounded memory of the signatures it accepted: a delivery
//! whose signature is there is a replay.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::signature::Tag;

/// How long a delivery accepted but not yet
/// [committed](crate::WebhookReceiver::commit) or forgotten counts as being
/// handled: a retry meanwhile is answered 503; after it, as handled.
pub(crate) const PENDING_FOR: Duration = Duration::from_secs(60);

/// What the memory says of a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// New: remembered now, as being handled.
    New,
    /// Its first copy is still being handled.
    Pending,
    /// Its first copy was handled.
    Handled,
}

/// The signatures of the last `capacity` accepted deliveries, oldest
/// forgotten first, each with when it was accepted while it is being
/// handled (`None` once committed).
#[derive(Debug)]
pub(crate) struct ReplayMemory {
    capacity: usize,
    seen: HashMap<Tag, Option<Instant>>,
    order: VecDeque<Tag>,
}

impl ReplayMemory {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Remembers `tag` as being handled; `false` when it was remembered
    /// already (a replay).
    /// With a capacity of 0, remembers nothing and finds no replay.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, tag: Tag) -> bool {
        self.accept(tag, Instant::now()) == Seen::New
    }

    /// Remembers `tag`, accepted `now`, as being handled, unless it is
    /// remembered already: then whether its first copy is still being
    /// handled (accepted less than [`PENDING_FOR`] ago and neither
    /// committed nor forgotten) or was handled.
    pub(crate) fn accept(&mut self, tag: Tag, now: Instant) -> Seen {
        if self.capacity == 0 {
            return Seen::New;
        }
        if let Some(pending) = self.seen.get(&tag) {
            return match pending {
                Some(since) if now.saturating_duration_since(*since) < PENDING_FOR => Seen::Pending,
                _ => Seen::Handled,
            };
        }
        self.seen.insert(tag, Some(now));
        self.order.push_back(tag);
        while self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        Seen::New
    }

    /// Marks `tag`'s delivery handled: a retry is answered as a replay.
    pub(crate) fn commit(&mut self, tag: &Tag) -> bool {
        match self.seen.get_mut(tag) {
            Some(pending) => {
                *pending = None;
                true
            }
            None => false,
        }
    }

    /// Forgets `tag` (its delivery was not handled after all).
    pub(crate) fn remove(&mut self, tag: &Tag) -> bool {
        if self.seen.remove(tag).is_none() {
            return false;
        }
        self.order.retain(|kept| kept != tag);
        true
    }

    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(n: u8) -> Tag {
        [n; 32]
    }

    #[test]
    fn remembers_the_last_capacity_tags() {
        let mut memory = ReplayMemory::new(2);
        assert!(memory.insert(tag(1)));
        assert!(!memory.insert(tag(1)));
        assert!(memory.insert(tag(2)));
        assert!(memory.insert(tag(3)));
        assert_eq!(memory.len(), 2);
        // The oldest was forgotten: accepted again.
        assert!(memory.insert(tag(1)));
        assert!(!memory.insert(tag(3)));
    }

    #[test]
    fn forgets_on_request_and_stays_consistent() {
        let mut memory = ReplayMemory::new(2);
        assert!(memory.insert(tag(1)));
        assert!(memory.remove(&tag(1)));
        assert!(!memory.remove(&tag(1)));
        assert!(memory.insert(tag(1)));
        assert!(memory.insert(tag(2)));
        assert!(memory.insert(tag(3)));
        assert_eq!(memory.len(), 2);
        assert!(!memory.insert(tag(2)));
    }

    #[test]
    fn a_retry_while_the_first_copy_is_handled_is_pending_until_committed() {
        let mut memory = ReplayMemory::new(4);
        let t0 = Instant::now();
        assert_eq!(memory.accept(tag(1), t0), Seen::New);
        assert_eq!(memory.accept(tag(1), t0), Seen::Pending);
        assert!(memory.commit(&tag(1)));
        assert_eq!(memory.accept(tag(1), t0), Seen::Handled);
        // Never committed: handled once PENDING_FOR has passed.
        assert_eq!(memory.accept(tag(2), t0), Seen::New);
        assert_eq!(memory.accept(tag(2), t0 + PENDING_FOR), Seen::Handled);
        assert!(!memory.commit(&tag(3)));
    }

    #[test]
    fn zero_capacity_remembers_nothing() {
        let mut memory = ReplayMemory::new(0);
        assert!(memory.insert(tag(1)));
        assert!(memory.insert(tag(1)));
        assert_eq!(memory.len(), 0);
    }
}
