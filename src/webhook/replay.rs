//! The receiver's bounded memory of the signatures it accepted: a delivery
//! whose signature is there is a replay.

use std::collections::{HashSet, VecDeque};

use super::signature::Tag;

/// The signatures of the last `capacity` accepted deliveries, oldest
/// forgotten first.
#[derive(Debug)]
pub(crate) struct ReplayMemory {
    capacity: usize,
    seen: HashSet<Tag>,
    order: VecDeque<Tag>,
}

impl ReplayMemory {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// Remembers `tag`; `false` when it was remembered already (a replay).
    /// With a capacity of 0, remembers nothing and finds no replay.
    pub(crate) fn insert(&mut self, tag: Tag) -> bool {
        if self.capacity == 0 {
            return true;
        }
        if !self.seen.insert(tag) {
            return false;
        }
        self.order.push_back(tag);
        while self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        true
    }

    /// Forgets `tag` (its delivery was not handled after all).
    pub(crate) fn remove(&mut self, tag: &Tag) -> bool {
        if !self.seen.remove(tag) {
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
    fn zero_capacity_remembers_nothing() {
        let mut memory = ReplayMemory::new(0);
        assert!(memory.insert(tag(1)));
        assert!(memory.insert(tag(1)));
        assert_eq!(memory.len(), 0);
    }
}
