//! What a host implements so that the engine can read the DM tree, run
//! actions, ask the user, hand over reports and decide cross-authority access.
//!
//! Every call names the server that owns the schedule: reads and actions run
//! with that server's rights (6.1.7.6), never the device's.
//!
//! Threads: the engine calls these from the thread that called into it
//! (`tick`, `on_event`, …) and holds its own lock meanwhile. A callback must
//! not call back into the same engine.

use std::sync::Arc;

use jiff::Timestamp;

use crate::expr::Value;
use crate::model::{Action, CommandResult, Report};

/// A host callback failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HostError(pub String);

/// Reads of DM-tree values for conditions.
pub trait TreeAccess: Send + Sync {
    /// The value of the node at `uri`, read with the rights of server `owner`.
    /// `Ok(None)` when the node does not exist; `Err` when the read fails or
    /// the owner may not read it (the condition is then unmet, with the message as reason).
    fn read(&self, owner: &str, uri: &str) -> Result<Option<Value>, HostError>;
}

/// Who, which schedule, which occurrence: the context of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunContext {
    /// The server whose rights the actions run with.
    pub owner: String,
    /// Schedule id.
    pub schedule: String,
    /// Task id.
    pub task: String,
    /// Occurrence number.
    pub seq: u64,
    /// Attempt (0 = first try).
    pub attempt: u32,
    /// When the occurrence was due.
    pub due: Timestamp,
    /// Now.
    pub now: Timestamp,
    /// The run's id (its journal entry), for [`crate::Engine::complete`]
    /// when the executor answers [`Execution::Pending`]; 0 outside a run
    /// (a confirmation prompt before it starts).
    pub run_id: i64,
}

impl RunContext {
    /// The context of a prompt about schedule `id` of `owner` as a whole
    /// (an install, a personalisation): no task, no run.
    pub fn for_schedule(owner: &str, id: &str, now: Timestamp) -> RunContext {
        RunContext {
            owner: owner.to_string(),
            schedule: id.to_string(),
            task: String::new(),
            seq: 0,
            attempt: 0,
            due: now,
            now,
            run_id: 0,
        }
    }
}

/// What an executor did with a task's commands.
#[derive(Clone, Debug, PartialEq)]
pub enum Execution {
    /// They ran: one result per command, in order.
    Done(Vec<CommandResult>),
    /// They are running and finish later (a firmware update that outlives
    /// an Android receiver or an iOS background task): the run stays open
    /// in the journal, across restarts, until the host calls
    /// [`crate::Engine::complete`] with `ctx.run_id` and the results, or the
    /// task's `completion_timeout_seconds` pass (then the attempt failed).
    Pending,
}

impl Execution {
    /// The results, for a caller that needs them now (an executor's
    /// `execute` written over its `start`): `Pending` is an error there.
    pub fn into_done(self) -> Result<Vec<CommandResult>, HostError> {
        match self {
            Execution::Done(r) => Ok(r),
            Execution::Pending => Err(HostError(
                "the executor answered pending where results are needed".into(),
            )),
        }
    }
}

/// Runs a task's DM commands.
pub trait ActionExecutor: Send + Sync {
    /// Executes `actions` with the rights of `ctx.owner` and returns one
    /// result per command executed, in order (Atomic rolled back as a whole
    /// by the host, Sequence stopping at the first failure). An `Err` means
    /// the host could not run them at all; it counts as a failed attempt.
    fn execute(
        &self,
        ctx: &RunContext,
        actions: &[Action],
    ) -> Result<Vec<CommandResult>, HostError>;

    /// Starts `actions`: what the engine calls. By default they run to the
    /// end ([`ActionExecutor::execute`]); a host whose commands outlive the
    /// call answers [`Execution::Pending`] and completes the run later.
    fn start(&self, ctx: &RunContext, actions: &[Action]) -> Result<Execution, HostError> {
        self.execute(ctx, actions).map(Execution::Done)
    }
}

/// The user's answer to a confirmation prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptAnswer {
    /// Run now.
    Accept,
    /// Do not run this occurrence.
    Refuse,
    /// Ask again after this many seconds.
    Postpone(u64),
}

/// The user's choices by parameter id (personalisation).
pub type Choices = std::collections::BTreeMap<String, crate::model::Choice>;

/// Asks the user before a run (policy `confirm`).
pub trait UserPrompt: Send + Sync {
    /// Shows `ctx` (and the schedule's name) and returns the user's answer.
    fn confirm(&self, ctx: &RunContext, title: &str) -> Result<PromptAnswer, HostError>;

    /// Asks the user to adjust schedule `ctx.schedule` of `ctx.owner`
    /// titled `title` (personalisation, use case step 4): called when it is
    /// installed with parameters, and when a modify brings new ones.
    /// `personalize` holds the parameters with their bounds and the
    /// choices made so far. Returns every choice the user wants (a
    /// parameter left out keeps the server's default), or `None` to leave
    /// it for later (the host then calls `Engine::personalize` when the
    /// user decides, e.g. from a settings screen). A choice out of bounds
    /// is ignored, with a warning. Default: `None`.
    fn personalize(
        &self,
        ctx: &RunContext,
        title: &str,
        personalize: &crate::model::Personalize,
    ) -> Result<Option<Choices>, HostError> {
        let _ = (ctx, title, personalize);
        Ok(None)
    }

    /// Tells the user, without asking, that schedule `ctx.schedule` of
    /// `ctx.owner` titled `title` was installed (Scheduling MO `UI/Mode`
    /// 1, inform). Default: nothing.
    fn inform(&self, ctx: &RunContext, title: &str) {
        let _ = (ctx, title);
    }
}

/// Told when a report is queued in the outbox.
pub trait ReportSink: Send + Sync {
    /// A new report for `report.firing.owner` waits in the outbox. The host
    /// may deliver it now or later; it stays queued until acknowledged.
    fn report_ready(&self, report: &Report);
}

/// What a server wants to do with a schedule it does not own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// List or get it.
    Read,
    /// Modify, suspend or resume it.
    Change,
    /// Terminate it.
    End,
}

/// Decides whether one management authority may act on another's schedule
/// (normally from the DM tree's ACL on the Scheduling MO).
pub trait Authorizer: Send + Sync {
    /// True if `requester` may perform `access` on schedule `id` owned by `owner`.
    fn authorize(&self, requester: &str, owner: &str, id: &str, access: Access) -> bool;
}

/// The host callbacks, bundled.
#[derive(Clone)]
pub struct Host {
    /// Tree reads for conditions.
    pub tree: Arc<dyn TreeAccess>,
    /// Runs actions.
    pub executor: Arc<dyn ActionExecutor>,
    /// Asks the user; without one, a task with `confirm` is refused.
    pub prompt: Option<Arc<dyn UserPrompt>>,
    /// Told about new reports.
    pub reports: Option<Arc<dyn ReportSink>>,
    /// Cross-authority access; without one, only owners act on their schedules.
    pub authorizer: Option<Arc<dyn Authorizer>>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("prompt", &self.prompt.is_some())
            .field("reports", &self.reports.is_some())
            .field("authorizer", &self.authorizer.is_some())
            .finish_non_exhaustive()
    }
}
