//! `dmsched simulate`: the real engine on a simulated clock, with a
//! simulated tree that the schedule's own actions change.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use dmsched::expr::Value;
use dmsched::model::{Action, CommandResult, Op};
use dmsched::store::Store;
use dmsched::{
    ActionExecutor, Engine, EngineConfig, Event, Host, HostError, RunContext, TreeAccess,
};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One line of the `--events` JSONL file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TraceLine {
    at: Timestamp,
    /// An event name to post.
    #[serde(default)]
    event: Option<String>,
    /// Its fields.
    #[serde(default)]
    fields: BTreeMap<String, Value>,
    /// Tree values to set (each one is a tree change).
    #[serde(default)]
    set: BTreeMap<String, Value>,
    /// The device is off from `at` until this instant.
    #[serde(default)]
    off_until: Option<Timestamp>,
    /// The device's time zone changes.
    #[serde(default)]
    time_zone: Option<String>,
}

/// One simulated occurrence, as printed.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub schedule: String,
    pub task: String,
    pub due: Timestamp,
    /// `due` in the task's zone (its calendar's, else its schedule's),
    /// RFC 3339 with the offset.
    pub due_local: String,
    pub run_at: Option<Timestamp>,
    pub run_at_local: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
}

/// The zone each task's local times are shown in: its calendar's, else
/// its schedule's (`local`: the device's), else UTC.
fn task_zones(
    docs: &[String],
    device: &jiff::tz::TimeZone,
) -> HashMap<(String, String), jiff::tz::TimeZone> {
    let mut out = HashMap::new();
    for d in docs {
        let Ok(s) = serde_json::from_str::<dmsched::model::Schedule>(d) else {
            continue;
        };
        for t in &s.tasks {
            let name = match &t.trigger {
                dmsched::model::Trigger::Calendar(c) => c.zone_name(s.tz.as_deref()),
                _ => s.tz.as_deref(),
            };
            let zone = match name {
                Some("local") => device.clone(),
                Some(n) => dmsched::when::zone(n).unwrap_or(jiff::tz::TimeZone::UTC),
                None => jiff::tz::TimeZone::UTC,
            };
            out.insert((s.id.clone(), t.id.clone()), zone);
        }
    }
    out
}

/// `t` in `zone` (UTC when `None`), RFC 3339 with the offset.
pub fn local(t: Timestamp, zone: Option<&jiff::tz::TimeZone>) -> String {
    let z = zone.cloned().unwrap_or(jiff::tz::TimeZone::UTC);
    t.display_with_offset(z.to_offset(t)).to_string()
}

#[derive(Default)]
struct SimTree {
    nodes: Mutex<HashMap<String, Value>>,
}

impl TreeAccess for SimTree {
    fn read(&self, _owner: &str, uri: &str) -> Result<Option<Value>, HostError> {
        Ok(self
            .nodes
            .lock()
            .map_err(|_| HostError("tree lock poisoned".into()))?
            .get(uri)
            .cloned())
    }
}

/// Applies actions to the simulated tree and records which URIs changed.
struct SimExec {
    tree: Arc<SimTree>,
    changed: Mutex<Vec<String>>,
}

fn value_of(data: Option<&str>, format: Option<&str>) -> Value {
    let d = data.unwrap_or("");
    match format {
        Some("int") => d.parse().map(Value::Int).unwrap_or(Value::Str(d.into())),
        Some("float") => d.parse().map(Value::Float).unwrap_or(Value::Str(d.into())),
        Some("bool") => Value::Bool(d == "true"),
        _ => Value::Str(d.into()),
    }
}

impl SimExec {
    fn run(
        &self,
        a: &Action,
        nodes: &mut HashMap<String, Value>,
        out: &mut Vec<CommandResult>,
    ) -> bool {
        match a {
            Action::Command(c) => {
                let mut data = None;
                let status = match c.op {
                    Op::Add | Op::Replace => {
                        nodes.insert(
                            c.target.clone(),
                            value_of(c.data.as_deref(), c.format.as_deref()),
                        );
                        self.note(&c.target);
                        200
                    }
                    Op::Delete => {
                        if nodes.remove(&c.target).is_some() {
                            self.note(&c.target);
                            200
                        } else {
                            404
                        }
                    }
                    Op::Get => match nodes.get(&c.target) {
                        Some(v) => {
                            data = Some(v.to_string());
                            200
                        }
                        None => 404,
                    },
                    // The simulated user answers every Alert.
                    Op::Exec | Op::Alert => 200,
                    Op::Copy => match c.source.as_ref().and_then(|s| nodes.get(s).cloned()) {
                        Some(v) => {
                            nodes.insert(c.target.clone(), v);
                            self.note(&c.target);
                            200
                        }
                        None => 404,
                    },
                };
                out.push(CommandResult {
                    op: c.op,
                    target: c.target.clone(),
                    status,
                    data,
                });
                (200..300).contains(&status)
            }
            Action::Sequence(v) => v.iter().all(|a| self.run(a, nodes, out)),
            Action::Atomic(v) => {
                let saved = nodes.clone();
                let ok = v.iter().all(|a| self.run(a, nodes, out));
                if !ok {
                    *nodes = saved;
                }
                ok
            }
        }
    }

    fn note(&self, uri: &str) {
        if let Ok(mut c) = self.changed.lock() {
            c.push(uri.to_string());
        }
    }
}

impl ActionExecutor for SimExec {
    fn execute(
        &self,
        _ctx: &RunContext,
        actions: &[Action],
    ) -> Result<Vec<CommandResult>, HostError> {
        let mut nodes = self
            .tree
            .nodes
            .lock()
            .map_err(|_| HostError("tree lock poisoned".into()))?;
        let mut out = Vec::new();
        for a in actions {
            if !self.run(a, &mut nodes, &mut out) {
                break;
            }
        }
        Ok(out)
    }
}

/// Options of one simulation.
pub struct SimOptions<'a> {
    pub schedules: &'a Path,
    pub from: Timestamp,
    pub until: Timestamp,
    pub events: Option<&'a Path>,
    pub tree: Option<&'a Path>,
    pub device_id: String,
    pub owner: String,
    pub config: EngineConfig,
}

/// Reads a file holding one schedule document or an array of them.
pub fn read_documents(path: &Path) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    Ok(match v {
        serde_json::Value::Array(items) => items.iter().map(|i| i.to_string()).collect(),
        _ => vec![text],
    })
}

/// Runs the simulation and returns one row per occurrence, in time order.
#[cfg(test)]
pub fn simulate(o: SimOptions<'_>) -> Result<Vec<Row>> {
    simulate_marked(o).map(|(rows, _)| rows)
}

/// As [`simulate`], with what the timeline picture shows besides the
/// occurrences: windows, device events, off-periods, the tree values the
/// trace sets.
pub fn simulate_marked(o: SimOptions<'_>) -> Result<(Vec<Row>, crate::svg::Marks)> {
    if o.until < o.from {
        bail!("--until {} is before --from {}", o.until, o.from);
    }
    let tree = Arc::new(SimTree::default());
    if let Some(p) = o.tree {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        let init: BTreeMap<String, Value> = serde_json::from_str(&text)
            .with_context(|| format!("{}: expected an object of URI → value", p.display()))?;
        tree.nodes
            .lock()
            .map_err(|_| anyhow::anyhow!("lock"))?
            .extend(init);
    }
    let mut trace: Vec<TraceLine> = Vec::new();
    if let Some(p) = o.events {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            trace.push(
                serde_json::from_str(line).with_context(|| format!("{}:{}", p.display(), i + 1))?,
            );
        }
    }
    trace.sort_by_key(|t| t.at);
    let exec = Arc::new(SimExec {
        tree: tree.clone(),
        changed: Mutex::new(Vec::new()),
    });
    let host = Host {
        tree: tree.clone(),
        executor: exec.clone(),
        prompt: None,
        reports: None,
        authorizer: None,
    };
    let mut cfg = o.config;
    cfg.device_id = o.device_id;
    let device = dmsched::when::zone(&cfg.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let mut engine = Engine::open(Store::open_in_memory()?, host, cfg)?;
    let docs = read_documents(o.schedules)?;
    let zones = task_zones(&docs, &device);
    let mut marks = crate::svg::Marks::default();
    for d in &docs {
        let Ok(sd) = serde_json::from_str::<dmsched::model::Schedule>(d) else {
            continue;
        };
        let wz = match sd.tz.as_deref() {
            Some("local") => device.clone(),
            Some(n) => dmsched::when::zone(n).unwrap_or(jiff::tz::TimeZone::UTC),
            None => jiff::tz::TimeZone::UTC,
        };
        for t in &sd.tasks {
            if !t.constraints.windows.is_empty() {
                marks.windows.push((
                    (sd.id.clone(), t.id.clone()),
                    t.constraints.windows.clone(),
                    wz.clone(),
                ));
            }
        }
    }
    // The tree values the trace sets: their lines, from their initial value.
    let mut series: Vec<(String, Vec<(Timestamp, Value)>)> = Vec::new();
    for line in &trace {
        for uri in line.set.keys() {
            if series.len() < 6 && !series.iter().any(|(u, _)| u == uri) {
                let first = tree
                    .nodes
                    .lock()
                    .map_err(|_| anyhow::anyhow!("lock"))?
                    .get(uri)
                    .cloned();
                series.push((
                    uri.clone(),
                    first.map(|v| (o.from, v)).into_iter().collect(),
                ));
            }
        }
    }
    for doc in docs {
        engine
            .submit(&o.owner, &doc, o.from)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut rows = Vec::new();
    let record = |fs: Vec<dmsched::model::Firing>, rows: &mut Vec<Row>| {
        rows.extend(fs.into_iter().map(|f| {
            let zone = zones.get(&(f.schedule.clone(), f.task.clone()));
            Row {
                due_local: local(f.due, zone),
                run_at_local: f.run_at.map(|t| local(t, zone)),
                schedule: f.schedule,
                task: f.task,
                due: f.due,
                run_at: f.run_at,
                outcome: f.outcome.as_str().to_string(),
                reason: f.reason,
            }
        }))
    };
    let mut now = o.from;
    let mut ti = 0;
    let mut steps = 0u64;
    loop {
        steps += 1;
        if steps > 5_000_000 {
            bail!("simulation did not settle after 5,000,000 steps");
        }
        // Apply the changes the last actions made to the tree.
        let changed: Vec<String> =
            std::mem::take(&mut *exec.changed.lock().map_err(|_| anyhow::anyhow!("lock"))?);
        for uri in changed {
            let fs = engine.on_tree_changed(&uri, now)?;
            record(fs, &mut rows);
        }
        let next_trace = trace.get(ti).map(|t| t.at);
        let next_wake = engine.next_wakeup().map(|w| w.max(now));
        let next = match (next_trace, next_wake) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => break,
        };
        if next > o.until {
            break;
        }
        now = next;
        if next_trace == Some(now) {
            let line = &trace[ti];
            ti += 1;
            if let Some(tz) = &line.time_zone {
                engine.set_time_zone(tz, now)?;
            }
            let set: Vec<(String, Value)> = line.set.clone().into_iter().collect();
            for (k, v) in &set {
                if let Some((_, pts)) = series.iter_mut().find(|(u, _)| u == k) {
                    pts.push((now, v.clone()));
                }
            }
            if !set.is_empty() {
                let mut nodes = tree.nodes.lock().map_err(|_| anyhow::anyhow!("lock"))?;
                for (k, v) in &set {
                    nodes.insert(k.clone(), v.clone());
                }
            }
            for (k, _) in &set {
                let fs = engine.on_tree_changed(k, now)?;
                record(fs, &mut rows);
            }
            if let Some(name) = &line.event {
                marks.events.push((now, name.clone()));
                let ev = Event {
                    name: name.clone(),
                    fields: line.fields.clone(),
                };
                let fs = engine.on_event(&ev, now)?;
                record(fs, &mut rows);
            }
            if let Some(off) = line.off_until {
                // The device is off: nothing ticks, events after `at` and
                // before `off_until` are lost.
                marks.off.push((now, off.max(now)));
                now = off.max(now);
                while trace.get(ti).is_some_and(|t| t.at < now) {
                    ti += 1;
                }
            }
            continue;
        }
        let fs = engine.tick(now)?;
        record(fs, &mut rows);
    }
    // Occurrences still waiting at the end are deferred.
    for s in engine.list_all()? {
        for t in s.tasks {
            if let Some(p) = t.pending {
                let zone = zones.get(&(s.id.clone(), t.id.clone()));
                rows.push(Row {
                    schedule: s.id.clone(),
                    task: t.id.clone(),
                    due_local: local(p.due, zone),
                    run_at_local: None,
                    due: p.due,
                    run_at: None,
                    outcome: "deferred".into(),
                    reason: t.waiting.clone(),
                });
            }
        }
    }
    rows.sort_by_key(|a| (a.due, a.run_at));
    marks.tree = series;
    Ok((rows, marks))
}
