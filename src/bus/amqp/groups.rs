//! The consumer groups subscribed through this bus. The relay declares their queues before it
//! publishes, so a batch published after `subscribe` returned always has a queue to land in,
//! even on a broker that never saw the group (as with the in-process bus), instead of
//! coming back unroutable while the consumer's own connection is still being set up.
//!
//! Bounded by the configuration: one name per consumer group (history, each account shard).

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Default)]
pub struct ConsumerGroups {
    /// Taken only to add or copy, never across an await.
    names: Mutex<BTreeSet<String>>,
    added: AtomicBool,
}

impl ConsumerGroups {
    pub fn add(&self, name: &str) {
        let mut names = self.names.lock().expect("groups lock poisoned");
        if names.insert(name.to_owned()) {
            self.added.store(true, Ordering::Release);
        }
    }

    /// Every group, and forgets that some were added.
    pub fn all(&self) -> Vec<String> {
        self.added.store(false, Ordering::Release);
        self.names.lock().expect("groups lock poisoned").iter().cloned().collect()
    }

    /// Every group, leaving the relay's "added" flag alone (for readers other than the relay).
    pub fn names(&self) -> Vec<String> {
        self.names.lock().expect("groups lock poisoned").iter().cloned().collect()
    }

    /// Every group when some were added since the last call, else nothing.
    pub fn all_if_added(&self) -> Option<Vec<String>> {
        if self.added.swap(false, Ordering::AcqRel) {
            Some(self.names.lock().expect("groups lock poisoned").iter().cloned().collect())
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn additions_are_reported_once() {
        let groups = ConsumerGroups::default();
        assert_eq!(groups.all_if_added(), None);
        groups.add("history");
        groups.add("shard:0");
        assert_eq!(groups.all_if_added(), Some(vec!["history".to_owned(), "shard:0".to_owned()]));
        assert_eq!(groups.all_if_added(), None);
        groups.add("history");
        assert_eq!(groups.all_if_added(), None, "a known name is no addition");
        groups.add("shard:1");
        assert_eq!(groups.all().len(), 3);
        assert_eq!(groups.all_if_added(), None);
    }
}
