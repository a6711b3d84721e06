//! A test host: an in-memory tree per owner-visible URI, an executor that
//! records every run and applies Replace to the tree, and switchable
//! prompt, report sink and authorizer.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use dmsched::expr::Value;
use dmsched::model::{Action, CommandResult, Op, Report};
use dmsched::store::Store;
use dmsched::{
    Access, ActionExecutor, Authorizer, Engine, EngineConfig, Host, HostError, PromptAnswer,
    ReportSink, RunContext, TreeAccess, UserPrompt,
};
use jiff::Timestamp;

#[derive(Default)]
pub struct World {
    pub tree: Mutex<HashMap<String, Value>>,
    /// URIs each owner may not read.
    pub denied: Mutex<Vec<(String, String)>>,
    pub runs: Mutex<Vec<RunContext>>,
    /// Status each target returns (default 200).
    pub status: Mutex<HashMap<String, u16>>,
    pub prompt_answer: Mutex<Option<PromptAnswer>>,
    pub prompts: Mutex<u32>,
    pub reports: Mutex<Vec<Report>>,
    /// (requester, owner, access) grants.
    pub grants: Mutex<Vec<(String, String, Access)>>,
    /// Panic inside execute (simulates a crash mid-run).
    pub panic_on_execute: Mutex<bool>,
    /// What the user chooses when asked to personalise (`None`: later).
    pub choices: Mutex<Option<dmsched::Choices>>,
    /// The personalisations asked: (schedule, parameter ids, choices so far).
    pub personalize_asked: Mutex<Vec<(String, Vec<String>, usize)>>,
}

pub struct Tree(pub Arc<World>);
pub struct Exec(pub Arc<World>);
pub struct Prompt(pub Arc<World>);
pub struct Sink(pub Arc<World>);
pub struct Auth(pub Arc<World>);

impl TreeAccess for Tree {
    fn read(&self, owner: &str, uri: &str) -> Result<Option<Value>, HostError> {
        if self
            .0
            .denied
            .lock()
            .unwrap()
            .iter()
            .any(|(o, u)| o == owner && u == uri)
        {
            return Err(HostError(format!("{owner} may not read {uri}")));
        }
        Ok(self.0.tree.lock().unwrap().get(uri).cloned())
    }
}

impl ActionExecutor for Exec {
    fn execute(
        &self,
        ctx: &RunContext,
        actions: &[Action],
    ) -> Result<Vec<CommandResult>, HostError> {
        self.0.runs.lock().unwrap().push(ctx.clone());
        if *self.0.panic_on_execute.lock().unwrap() {
            panic!("simulated crash while running actions");
        }
        let mut out = Vec::new();
        for a in actions {
            for c in a.commands() {
                let status = *self.0.status.lock().unwrap().get(&c.target).unwrap_or(&200);
                if status == 200 && c.op == Op::Delete {
                    let below = format!("{}/", c.target);
                    self.0
                        .tree
                        .lock()
                        .unwrap()
                        .retain(|k, _| k != &c.target && !k.starts_with(&below));
                }
                if status == 200 && c.op == Op::Replace {
                    let v = match c.data.as_deref() {
                        Some("true") => Value::Bool(true),
                        Some("false") => Value::Bool(false),
                        Some(d) => d
                            .parse::<i64>()
                            .map(Value::Int)
                            .unwrap_or(Value::Str(d.into())),
                        None => Value::Str(String::new()),
                    };
                    self.0.tree.lock().unwrap().insert(c.target.clone(), v);
                }
                out.push(CommandResult {
                    op: c.op,
                    target: c.target.clone(),
                    status,
                    data: None,
                });
            }
        }
        Ok(out)
    }
}

impl UserPrompt for Prompt {
    fn confirm(&self, _ctx: &RunContext, _title: &str) -> Result<PromptAnswer, HostError> {
        *self.0.prompts.lock().unwrap() += 1;
        self.0
            .prompt_answer
            .lock()
            .unwrap()
            .ok_or_else(|| HostError("no answer".into()))
    }

    fn personalize(
        &self,
        ctx: &RunContext,
        _title: &str,
        p: &dmsched::model::Personalize,
    ) -> Result<Option<dmsched::Choices>, HostError> {
        self.0.personalize_asked.lock().unwrap().push((
            ctx.schedule.clone(),
            p.params.iter().map(|x| x.id.clone()).collect(),
            p.choices.len(),
        ));
        Ok(self.0.choices.lock().unwrap().clone())
    }
}

impl ReportSink for Sink {
    fn report_ready(&self, report: &Report) {
        self.0.reports.lock().unwrap().push(report.clone());
    }
}

impl Authorizer for Auth {
    fn authorize(&self, requester: &str, owner: &str, _id: &str, access: Access) -> bool {
        self.0
            .grants
            .lock()
            .unwrap()
            .iter()
            .any(|(r, o, a)| r == requester && o == owner && *a == access)
    }
}

impl World {
    pub fn new() -> Arc<World> {
        Arc::new(World::default())
    }

    pub fn host(self: &Arc<Self>) -> Host {
        Host {
            tree: Arc::new(Tree(self.clone())),
            executor: Arc::new(Exec(self.clone())),
            prompt: Some(Arc::new(Prompt(self.clone()))),
            reports: Some(Arc::new(Sink(self.clone()))),
            authorizer: Some(Arc::new(Auth(self.clone()))),
        }
    }

    pub fn set(&self, uri: &str, v: Value) {
        self.tree.lock().unwrap().insert(uri.to_string(), v);
    }

    pub fn run_count(&self) -> usize {
        self.runs.lock().unwrap().len()
    }

    pub fn run_times(&self) -> Vec<Timestamp> {
        self.runs.lock().unwrap().iter().map(|r| r.now).collect()
    }
}

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub fn cfg() -> EngineConfig {
    let mut c = EngineConfig::default();
    c.limits.min_interval_seconds = 1;
    c.device_id = "test-device".into();
    c
}

pub fn engine(world: &Arc<World>) -> Engine {
    Engine::open(Store::open_in_memory().unwrap(), world.host(), cfg()).unwrap()
}

pub fn engine_at(world: &Arc<World>, path: &Path) -> Engine {
    Engine::open(Store::open(path).unwrap(), world.host(), cfg()).unwrap()
}

/// Ticks at every wake-up until `until`; returns all firings.
pub fn run_until(e: &mut Engine, until: Timestamp) -> Vec<dmsched::model::Firing> {
    let mut out = Vec::new();
    let mut guard = 0;
    while let Some(w) = e.next_wakeup() {
        if w > until {
            break;
        }
        out.extend(e.tick(w).unwrap());
        guard += 1;
        assert!(guard < 100_000, "engine did not settle");
    }
    out
}

/// A one-task schedule with the given trigger JSON and extra task fields.
pub fn doc(id: &str, trigger: &str, extra: &str) -> String {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!(", {extra}")
    };
    format!(
        r#"{{"id": "{id}", "tasks": [{{"id": "t", "trigger": {trigger}, "actions": [{{"op": "Replace", "target": "./Vendor/{id}", "data": "1"}}]{extra}}}]}}"#
    )
}
