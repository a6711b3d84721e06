//! Issue 16: a call's writes share one transaction, flushed before each
//! run and at the end. A write that fails part-way (the disk full) must
//! lose nothing acknowledged and run nothing twice: what was not flushed
//! is dropped, the engine reloads from the store, and every occurrence
//! still ends exactly once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use crate::expr::Value;
use crate::model::{Action, CommandResult, Outcome};
use crate::store::Store;
use crate::{ActionExecutor, Engine, EngineConfig, Host, HostError, RunContext, TreeAccess};

struct Tree;
impl TreeAccess for Tree {
    fn read(&self, _: &str, _: &str) -> Result<Option<Value>, HostError> {
        Ok(None)
    }
}

/// Counts the runs per (schedule, seq).
#[derive(Default)]
struct Counting(Mutex<BTreeMap<(String, u64), u32>>);
impl ActionExecutor for Counting {
    fn execute(
        &self,
        ctx: &RunContext,
        actions: &[Action],
    ) -> Result<Vec<CommandResult>, HostError> {
        *self
            .0
            .lock()
            .unwrap()
            .entry((ctx.schedule.clone(), ctx.seq))
            .or_default() += 1;
        Ok(CommandResult::all_ok(actions))
    }
}

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_767_225_600 + s).unwrap()
}

fn doc(i: usize, delivery: &str) -> String {
    format!(
        r#"{{"id": "s{i}", "tasks": [{{"id": "t", "trigger": {{"every": {{"seconds": 1, "anchor": "2026-01-01T00:00:00Z"}}}},
        "policy": {{"report": "always", "delivery": "{delivery}"}},
        "actions": [{{"op": "Replace", "target": "./Vendor/X/{i}", "data": "a fairly long value to fill pages {i}"}}]}}]}}"#
    )
}

#[test]
fn a_write_failing_mid_tick_loses_nothing_flushed_and_runs_nothing_twice() {
    for delivery in ["at_most_once", "at_least_once"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.db");
        let exec = Arc::new(Counting::default());
        let host = || Host {
            tree: Arc::new(Tree),
            executor: exec.clone(),
            prompt: None,
            reports: None,
            authorizer: None,
        };
        let mut cfg = EngineConfig::default();
        cfg.limits.min_interval_seconds = 1;
        let mut e = Engine::open(Store::open(&path).unwrap(), host(), cfg.clone()).unwrap();
        for i in 0..40 {
            e.submit("srv", &doc(i, delivery), at(0)).unwrap();
        }
        let mut seen: BTreeMap<(String, u64), Outcome> = BTreeMap::new();
        let mut record = |fs: Vec<crate::model::Firing>| {
            for f in fs {
                let old = seen.insert((f.schedule.clone(), f.seq), f.outcome);
                assert!(
                    old.is_none(),
                    "{delivery}: {} seq {} ended twice",
                    f.schedule,
                    f.seq
                );
            }
        };
        record(e.tick(at(0)).unwrap());
        // No room for the reports of the next tick: a write fails part-way.
        e.store.limit_pages(Some(e.store.page_count()));
        let failed = e.tick(at(1));
        assert!(failed.is_err(), "{delivery}: the full disk is reported");
        e.store.limit_pages(None);
        for s in 2..4 {
            record(e.tick(at(s)).unwrap());
        }
        drop(e);
        // And after a restart, nothing of it comes back.
        let mut e = Engine::open(Store::open(&path).unwrap(), host(), cfg.clone()).unwrap();
        record(e.tick(at(4)).unwrap());
        let runs = exec.0.lock().unwrap().clone();
        for i in 0..40 {
            for seq in 0..5u64 {
                let key = (format!("s{i}"), seq);
                let outcome = seen.get(&key).copied();
                assert!(outcome.is_some(), "{delivery}: s{i} seq {seq} never ended");
                let n = runs.get(&key).copied().unwrap_or(0);
                match delivery {
                    "at_most_once" => assert!(n <= 1, "s{i} seq {seq} ran {n} times"),
                    // A run that started is finished (again if need be),
                    // never left interrupted.
                    _ => assert!(
                        outcome != Some(Outcome::Interrupted)
                            && (n == 0 || outcome == Some(Outcome::Ran)),
                        "s{i} seq {seq}: {outcome:?} after {n} runs"
                    ),
                }
                if outcome == Some(Outcome::Ran) {
                    assert!(
                        n >= 1,
                        "{delivery}: s{i} seq {seq} reported ran but never ran"
                    );
                }
            }
        }
        // Only the run during which the write failed is cut off: at most
        // once, it ends interrupted; at least once, it runs again.
        let interrupted = seen
            .values()
            .filter(|o| **o == Outcome::Interrupted)
            .count();
        let twice = runs.values().filter(|n| **n == 2).count();
        match delivery {
            "at_most_once" => assert_eq!((interrupted, twice), (1, 0)),
            _ => assert_eq!((interrupted, twice), (0, 1)),
        }
    }
}

/// Issue 18 (task chaining): firings a failed call hands on to the next
/// one were cascaded by the failed call — they must not start their
/// followers a second time; firings nobody cascaded yet (a lifecycle
/// change's, a restart's) still do.
#[test]
fn firings_handed_on_after_a_failed_call_do_not_start_their_followers_twice() {
    let exec = Arc::new(Counting::default());
    let host = Host {
        tree: Arc::new(Tree),
        executor: exec.clone(),
        prompt: None,
        reports: None,
        authorizer: None,
    };
    let mut e = Engine::open(
        Store::open_in_memory().unwrap(),
        host,
        EngineConfig::default(),
    )
    .unwrap();
    let doc = r#"{"id": "c", "tasks": [
        {"id": "a", "trigger": {"at": "2026-01-01T00:01:00Z"}, "actions": [{"op": "Exec", "target": "./A"}]},
        {"id": "b", "trigger": {"after": {"task": "a"}}, "actions": [{"op": "Exec", "target": "./B"}]}]}"#;
    e.submit("srv", doc, at(0)).unwrap();
    let fired = e.tick(at(60)).unwrap();
    let tasks: Vec<&str> = fired.iter().map(|f| f.task.as_str()).collect();
    assert_eq!(tasks, ["a", "b"]);
    // What finish_call does when the call fails: its (cascaded) firings
    // are handed out next time.
    e.recovered_cascaded = fired.len();
    e.recovered = fired.clone();
    let again = e.tick(at(61)).unwrap();
    assert_eq!(again.len(), 2, "the handed-on firings, once");
    let runs: u32 = exec.0.lock().unwrap().values().sum();
    assert_eq!(runs, 2, "a and b ran once each");
    // Not cascaded yet (as after a lifecycle change): its follower starts.
    e.recovered = vec![fired[0].clone()];
    let later = e.tick(at(62)).unwrap();
    let tasks: Vec<&str> = later.iter().map(|f| f.task.as_str()).collect();
    assert_eq!(tasks, ["a", "b"]);
}
