//! The host the engine benchmarks run against: every tree read answers 10
//! (constraints `> 5` hold), every command succeeds.

use std::sync::Arc;

use dmsched::expr::Value;
use dmsched::model::{Action, CommandResult};
use dmsched::{ActionExecutor, EngineConfig, Host, HostError, RunContext, TreeAccess};

struct Tree;
impl TreeAccess for Tree {
    fn read(&self, _: &str, _: &str) -> Result<Option<Value>, HostError> {
        Ok(Some(Value::Int(10)))
    }
}

struct Exec;
impl ActionExecutor for Exec {
    fn execute(&self, _: &RunContext, actions: &[Action]) -> Result<Vec<CommandResult>, HostError> {
        Ok(CommandResult::all_ok(actions))
    }
}

pub fn host() -> Host {
    Host {
        tree: Arc::new(Tree),
        executor: Arc::new(Exec),
        prompt: None,
        reports: None,
        authorizer: None,
    }
}

/// Room for 100k schedules of one server, and tasks due every second.
pub fn cfg() -> EngineConfig {
    let mut c = EngineConfig::default();
    c.limits.max_schedules_per_owner = 1_000_000;
    c.limits.min_interval_seconds = 1;
    c
}
