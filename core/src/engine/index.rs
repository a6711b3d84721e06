//! Indexes that make the engine's cost follow due or affected tasks, not
//! the number of schedules: a timer queue ordered by wake-up instant, a
//! queue of latest acceptable wake-ups for coalescing, and watcher maps
//! from event names and tree URIs to tasks.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap as HashMap;

use jiff::Timestamp;

/// A task: schedule row id and task index.
pub(crate) type TaskKey = (i64, u32);

#[derive(Debug, Default)]
pub(crate) struct Index {
    timers: BTreeSet<(Timestamp, TaskKey)>,
    latest: BTreeSet<(Timestamp, TaskKey)>,
    /// Current (wake, latest) of each armed task.
    armed: HashMap<TaskKey, (Timestamp, Timestamp)>,
    /// Watchers per event name / URI, sorted (few per key: a Vec is
    /// cheaper to build than a tree at restart).
    events: HashMap<String, Vec<TaskKey>>,
    uris: HashMap<String, Vec<TaskKey>>,
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

    /// The task's armed wake-up, if any.
    pub(crate) fn timer(&self, key: TaskKey) -> Option<Timestamp> {
        self.armed.get(&key).map(|(w, _)| *w)
    }

    /// Arms many timers at once (restart), replacing any armed before:
    /// builds the ordered sets in bulk from sorted input.
    pub(crate) fn set_timers_bulk(&mut self, timers: Vec<(TaskKey, (Timestamp, Timestamp))>) {
        let mut by_wake: Vec<(Timestamp, TaskKey)> =
            timers.iter().map(|(k, (w, _))| (*w, *k)).collect();
        let mut by_latest: Vec<(Timestamp, TaskKey)> =
            timers.iter().map(|(k, (_, l))| (*l, *k)).collect();
        by_wake.sort_unstable();
        by_latest.sort_unstable();
        self.timers = by_wake.into_iter().collect();
        self.latest = by_latest.into_iter().collect();
        self.armed = timers.into_iter().collect();
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
            self.watch_event(key, e);
        }
        for u in uris {
            self.watch_uri(key, u);
        }
    }

    /// Registers a task as a watcher of one event name.
    pub(crate) fn watch_event(&mut self, key: TaskKey, name: &str) {
        add(&mut self.events, name, key);
    }

    /// Registers a task as a watcher of one URI.
    pub(crate) fn watch_uri(&mut self, key: TaskKey, uri: &str) {
        add(&mut self.uris, uri, key);
    }

    /// Removes a task from every index.
    pub(crate) fn forget(&mut self, key: TaskKey, events: &[String], uris: &[String]) {
        self.set_timer(key, None);
        for e in events {
            remove(&mut self.events, e, key);
        }
        for u in uris {
            remove(&mut self.uris, u, key);
        }
    }

    /// Tasks watching event `name`.
    pub(crate) fn event_watchers(&self, name: &str) -> Vec<TaskKey> {
        self.events.get(name).cloned().unwrap_or_default()
    }

    /// Tasks watching `uri`.
    pub(crate) fn uri_watchers(&self, uri: &str) -> Vec<TaskKey> {
        self.uris.get(uri).cloned().unwrap_or_default()
    }

    /// Watchers of `uri`, and with `subtree` of every node below it too:
    /// each with the watched URI.
    pub(crate) fn uri_watchers_under(&self, uri: &str, subtree: bool) -> Vec<(TaskKey, String)> {
        if !subtree {
            return self
                .uri_watchers(uri)
                .into_iter()
                .map(|k| (k, uri.to_string()))
                .collect();
        }
        let mut out: Vec<(TaskKey, String)> = self
            .uris
            .iter()
            .filter(|(w, _)| {
                w.as_str() == uri || (w.starts_with(uri) && w[uri.len()..].starts_with('/'))
            })
            .flat_map(|(w, keys)| keys.iter().map(move |k| (*k, w.clone())))
            .collect();
        out.sort();
        out
    }

    /// Number of armed timers.
    pub(crate) fn timer_count(&self) -> usize {
        self.armed.len()
    }
}

fn add(map: &mut HashMap<String, Vec<TaskKey>>, name: &str, key: TaskKey) {
    match map.get_mut(name) {
        // Restart registers tasks in key order: append.
        Some(v) if v.last().is_none_or(|l| *l < key) => v.push(key),
        Some(v) => {
            if let Err(i) = v.binary_search(&key) {
                v.insert(i, key);
            }
        }
        None => {
            map.insert(name.to_string(), vec![key]);
        }
    }
}

fn remove(map: &mut HashMap<String, Vec<TaskKey>>, name: &str, key: TaskKey) {
    if let Some(v) = map.get_mut(name) {
        if let Ok(i) = v.binary_search(&key) {
            v.remove(i);
        }
        if v.is_empty() {
            map.remove(name);
        }
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
