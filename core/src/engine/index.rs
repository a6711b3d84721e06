//! Indexes that make the engine's cost follow due or affected tasks, not
//! the number of schedules: a timer queue ordered by wake-up instant, a
//! queue of latest acceptable wake-ups for coalescing, and watcher maps
//! from event names and tree URIs to tasks.

use std::collections::{BTreeSet, HashMap};

use jiff::Timestamp;

/// A task: schedule row id and task index.
pub(crate) type TaskKey = (i64, u32);

#[derive(Debug, Default)]
pub(crate) struct Index {
    timers: BTreeSet<(Timestamp, TaskKey)>,
    latest: BTreeSet<(Timestamp, TaskKey)>,
    /// Current (wake, latest) of each armed task.
    armed: HashMap<TaskKey, (Timestamp, Timestamp)>,
    events: HashMap<String, BTreeSet<TaskKey>>,
    uris: HashMap<String, BTreeSet<TaskKey>>,
}

impl Index {
    /// Arms (or re-arms, or with `None` disarms) a task's timer. `slack` is
    /// how much later the wake-up may come without harm.
    pub(crate) fn set_timer(&mut self, key: TaskKey, wake: Option<(Timestamp, Timestamp)>) {
        if let Some((w, l)) = self.armed.remove(&key) {
            self.timers.remove(&(w, key));
            self.latest.remove(&(l, key));
        }
        if let Some((w, l)) = wake {
            self.timers.insert((w, key));
            self.latest.insert((l, key));
            self.armed.insert(key, (w, l));
        }
    }

    /// The earliest armed wake-up.
    pub(crate) fn next_wakeup(&self) -> Option<Timestamp> {
        self.timers.first().map(|(t, _)| *t)
    }

    /// The earliest of the latest acceptable wake-ups.
    pub(crate) fn latest_wakeup(&self) -> Option<Timestamp> {
        self.latest.first().map(|(t, _)| *t)
    }

    /// Tasks whose timer is at or before `now`, in (time, key) order.
    pub(crate) fn due(&self, now: Timestamp) -> Vec<TaskKey> {
        self.timers
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, k)| *k)
            .collect()
    }

    /// Registers a task as a watcher of events and URIs.
    pub(crate) fn watch(&mut self, key: TaskKey, events: &[String], uris: &[String]) {
        for e in events {
            self.events.entry(e.clone()).or_default().insert(key);
        }
        for u in uris {
            self.uris.entry(u.clone()).or_default().insert(key);
        }
    }

    /// Removes a task from every index.
    pub(crate) fn forget(&mut self, key: TaskKey, events: &[String], uris: &[String]) {
        self.set_timer(key, None);
        for e in events {
            if let Some(set) = self.events.get_mut(e) {
                set.remove(&key);
                if set.is_empty() {
                    self.events.remove(e);
                }
            }
        }
        for u in uris {
            if let Some(set) = self.uris.get_mut(u) {
                set.remove(&key);
                if set.is_empty() {
                    self.uris.remove(u);
                }
            }
        }
    }

    /// Tasks watching event `name`.
    pub(crate) fn event_watchers(&self, name: &str) -> Vec<TaskKey> {
        self.events
            .get(name)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Tasks watching `uri`.
    pub(crate) fn uri_watchers(&self, uri: &str) -> Vec<TaskKey> {
        self.uris
            .get(uri)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Number of armed timers.
    pub(crate) fn timer_count(&self) -> usize {
        self.armed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn rearming_moves_the_timer() {
        let mut ix = Index::default();
        ix.set_timer((1, 0), Some((ts(100), ts(150))));
        ix.set_timer((2, 0), Some((ts(50), ts(200))));
        assert_eq!(ix.next_wakeup(), Some(ts(50)));
        assert_eq!(ix.latest_wakeup(), Some(ts(150)));
        ix.set_timer((2, 0), Some((ts(300), ts(300))));
        assert_eq!(ix.next_wakeup(), Some(ts(100)));
        assert_eq!(ix.due(ts(100)), vec![(1, 0)]);
        ix.set_timer((1, 0), None);
        assert_eq!(ix.timer_count(), 1);
    }

    #[test]
    fn forget_removes_watchers() {
        let mut ix = Index::default();
        ix.watch((1, 0), &["boot".into()], &["./A".into()]);
        ix.watch((2, 0), &[], &["./A".into()]);
        assert_eq!(ix.uri_watchers("./A"), vec![(1, 0), (2, 0)]);
        ix.forget((1, 0), &["boot".into()], &["./A".into()]);
        assert_eq!(ix.uri_watchers("./A"), vec![(2, 0)]);
        assert!(ix.event_watchers("boot").is_empty());
    }
}
