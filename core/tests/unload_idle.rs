//! Issue 16, memory per idle schedule: a schedule with nothing due within
//! `keep_loaded_seconds` is unloaded after use (its state is on disk) and
//! loaded back when a timer, an event or a tree change needs it — with
//! nothing lost: run counts, edge state, reports, the MO's view of changes.

use std::sync::{Arc, Mutex};

use dmsched::expr::Value;
use dmsched::model::{Action, CommandResult, Outcome};
use dmsched::store::Store;
use dmsched::{
    ActionExecutor, Engine, EngineConfig, Event, Host, HostError, RunContext, TreeAccess,
};
use jiff::{SignedDuration, Timestamp};

#[derive(Default)]
struct Tree(Mutex<i64>);
impl TreeAccess for Tree {
    fn read(&self, _: &str, _: &str) -> Result<Option<Value>, HostError> {
        Ok(Some(Value::Int(*self.0.lock().unwrap())))
    }
}
struct Exec;
impl ActionExecutor for Exec {
    fn execute(&self, _: &RunContext, a: &[Action]) -> Result<Vec<CommandResult>, HostError> {
        Ok(CommandResult::all_ok(a))
    }
}

fn t0() -> Timestamp {
    "2026-03-02T00:00:00Z".parse().unwrap()
}

fn at(secs: i64) -> Timestamp {
    t0().checked_add(SignedDuration::from_secs(secs)).unwrap()
}

fn engine(keep: Option<u64>, tree: Arc<Tree>) -> Engine {
    let cfg = EngineConfig {
        keep_loaded_seconds: keep,
        ..EngineConfig::default()
    };
    let host = Host {
        tree,
        executor: Arc::new(Exec),
        prompt: None,
        reports: None,
        authorizer: None,
    };
    Engine::open(Store::open_in_memory().unwrap(), host, cfg).unwrap()
}

const DAILY: &str = r#"{"id": "daily", "tasks": [{"id": "t", "trigger": {"calendar": {"rrule": "FREQ=DAILY;BYHOUR=3", "dtstart": "2026-03-01T00:00:00", "tz": "Europe/Berlin"}},
    "policy": {"report": "always"}, "actions": [{"op": "Replace", "target": "./A", "data": "1"}]}]}"#;
const MINUTELY: &str = r#"{"id": "often", "tasks": [{"id": "t", "trigger": {"every": {"seconds": 60, "anchor": "2026-03-02T00:00:00Z"}},
    "actions": [{"op": "Replace", "target": "./B", "data": "1"}]}]}"#;
const ON_EVENT: &str = r#"{"id": "ev", "tasks": [{"id": "t", "trigger": {"event": {"name": "boot"}},
    "actions": [{"op": "Exec", "target": "./C"}]}]}"#;
const EDGE: &str = r#"{"id": "edge", "tasks": [{"id": "t", "trigger": {"becomes_true": "./Bat < 20"},
    "actions": [{"op": "Exec", "target": "./D"}]}]}"#;

fn runs(e: &mut Engine, id: &str) -> (u32, Option<Outcome>) {
    let i = e.get("srv", "srv", id).unwrap();
    (i.tasks[0].runs, i.tasks[0].last_outcome)
}

#[test]
fn idle_schedules_are_unloaded_and_come_back_whole_when_needed() {
    let tree = Arc::new(Tree(Mutex::new(50)));
    let mut e = engine(Some(900), tree.clone());
    for d in [DAILY, MINUTELY, ON_EVENT, EDGE] {
        e.submit("srv", d, t0()).unwrap();
    }
    assert_eq!(e.loaded_counts(), (4, 0));
    // A call later: the daily one (next run hours away), the event and the
    // edge ones (no timer) are unloaded; the minutely one stays.
    e.tick(at(1)).unwrap();
    e.tick(at(2)).unwrap();
    assert_eq!(
        e.loaded_counts(),
        (1, 3),
        "only the minutely schedule stays loaded"
    );

    // The timer of an unloaded schedule runs it (03:00 Berlin = 02:00 UTC).
    let fired = e.tick(at(2 * 3600)).unwrap();
    assert!(
        fired
            .iter()
            .any(|f| f.schedule == "daily" && f.outcome == Outcome::Ran),
        "{fired:?}"
    );
    // An event wakes an unloaded schedule.
    e.tick(at(2 * 3600 + 1)).unwrap();
    let fired = e
        .on_event(
            &Event {
                name: "boot".into(),
                fields: Default::default(),
            },
            at(2 * 3600 + 2),
        )
        .unwrap();
    assert_eq!(fired.len(), 1, "{fired:?}");
    // A tree change wakes an unloaded edge-triggered task, and its edge
    // state (false so far) came back from disk: it fires once on the edge.
    e.tick(at(2 * 3600 + 3)).unwrap();
    *tree.0.lock().unwrap() = 10;
    let fired = e.on_tree_changed("./Bat", at(2 * 3600 + 4)).unwrap();
    assert_eq!(
        fired.iter().filter(|f| f.schedule == "edge").count(),
        1,
        "{fired:?}"
    );
    e.tick(at(2 * 3600 + 5)).unwrap();
    let again = e.on_tree_changed("./Bat", at(2 * 3600 + 6)).unwrap();
    assert!(
        again.iter().all(|f| f.schedule != "edge"),
        "still true: no new edge {again:?}"
    );

    // Nothing of their history was lost across unloading.
    e.tick(at(2 * 3600 + 7)).unwrap();
    assert_eq!(runs(&mut e, "daily"), (1, Some(Outcome::Ran)));
    assert_eq!(runs(&mut e, "ev"), (1, Some(Outcome::Ran)));
    assert_eq!(runs(&mut e, "edge"), (1, Some(Outcome::Ran)));
    // The next day runs again from the stored state.
    let fired = e.tick(at(26 * 3600)).unwrap();
    assert_eq!(fired.iter().filter(|f| f.schedule == "daily").count(), 1);
    assert_eq!(runs(&mut e, "daily"), (2, Some(Outcome::Ran)));
    // Reports of unloaded schedules are all there.
    let reports = e.pending_reports(Some("srv"), 100).unwrap();
    assert_eq!(
        reports
            .reports
            .iter()
            .filter(|r| r.firing.schedule == "daily")
            .count(),
        2
    );
}

#[test]
fn a_change_is_reported_even_if_the_schedule_is_unloaded_before_it_is_asked_for() {
    let tree = Arc::new(Tree(Mutex::new(50)));
    let mut e = engine(Some(0), tree);
    e.submit("srv", ON_EVENT, t0()).unwrap();
    assert!(
        e.take_changed().unwrap().is_empty(),
        "the first call starts recording"
    );
    e.on_event(
        &Event {
            name: "boot".into(),
            fields: Default::default(),
        },
        at(1),
    )
    .unwrap();
    // Another call unloads it before the view asks what changed.
    e.tick(at(2)).unwrap();
    assert_eq!(e.loaded_counts(), (0, 1));
    let changed = e.take_changed().unwrap();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].tasks[0].runs, 1);
}

#[test]
fn keep_loaded_null_never_unloads() {
    let mut e = engine(None, Arc::new(Tree(Mutex::new(50))));
    for d in [DAILY, ON_EVENT] {
        e.submit("srv", d, t0()).unwrap();
    }
    for s in 1..5 {
        e.tick(at(s)).unwrap();
    }
    assert_eq!(e.loaded_counts(), (2, 0));
}
