//! Records and enums crossing to Kotlin and Swift, converted from the
//! core's types in exactly one place each. Instants are Unix milliseconds.

pub use dmsched_core::Access;
use dmsched_core::expr::Value;
pub use dmsched_core::model::Outcome;
use dmsched_core::model::{self, Op};
use dmsched_core::{ScheduleInfo, ScheduleState};

/// A DM-tree value, typed by the node's DM Format.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum TreeValue {
    /// `bool`
    Bool {
        /// The value.
        v: bool,
    },
    /// `int`
    Int {
        /// The value.
        v: i64,
    },
    /// `float`
    Float {
        /// The value.
        v: f64,
    },
    /// `chr` and other text
    Text {
        /// The value.
        v: String,
    },
}

impl From<TreeValue> for Value {
    fn from(t: TreeValue) -> Self {
        match t {
            TreeValue::Bool { v } => Value::Bool(v),
            TreeValue::Int { v } => Value::Int(v),
            TreeValue::Float { v } => Value::Float(v),
            TreeValue::Text { v } => Value::Str(v),
        }
    }
}

/// Who, which schedule, which occurrence: the context of a run.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct RunContext {
    /// The server whose rights the actions run with.
    pub owner: String,
    /// Schedule id.
    pub schedule: String,
    /// Task id.
    pub task: String,
    /// Occurrence number.
    pub seq: i64,
    /// Attempt (0 = first).
    pub attempt: i32,
    /// When it was due (ms).
    pub due_ms: i64,
    /// Now (ms).
    pub now_ms: i64,
    /// The run's id, for `complete` when the executor answers
    /// `Execution.Pending`; 0 outside a run (a confirmation prompt).
    pub run_id: i64,
}

/// What an executor did with a task's commands.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum Execution {
    /// They ran: one result per command, in order.
    Done {
        /// The results.
        results: Vec<CommandResult>,
    },
    /// They go on after the call (a long action): complete the run later
    /// with `complete(context.runId, results, nowMs)`, within the task's
    /// `completion_timeout_seconds` (else the attempt fails).
    Pending,
}

impl From<&dmsched_core::RunContext> for RunContext {
    fn from(c: &dmsched_core::RunContext) -> Self {
        RunContext {
            owner: c.owner.clone(),
            schedule: c.schedule.clone(),
            task: c.task.clone(),
            seq: i64::try_from(c.seq).unwrap_or(i64::MAX),
            attempt: i32::try_from(c.attempt).unwrap_or(i32::MAX),
            due_ms: c.due.as_millisecond(),
            now_ms: c.now.as_millisecond(),
            run_id: c.run_id,
        }
    }
}

/// The result of one DM command run by the host.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct CommandResult {
    /// `Add`, `Replace`, `Delete`, `Get`, `Exec`, `Copy` or `Alert`.
    pub op: String,
    /// Target URI.
    pub target: String,
    /// SyncML status (200 OK, 404, 500 …).
    pub status: i32,
    /// Result data (Get).
    pub data: Option<String>,
}

impl TryFrom<CommandResult> for model::CommandResult {
    type Error = String;
    fn try_from(r: CommandResult) -> Result<Self, String> {
        let op = match r.op.as_str() {
            "Add" => Op::Add,
            "Replace" => Op::Replace,
            "Delete" => Op::Delete,
            "Get" => Op::Get,
            "Exec" => Op::Exec,
            "Copy" => Op::Copy,
            "Alert" => Op::Alert,
            other => return Err(format!("unknown command {other:?} in a result")),
        };
        Ok(model::CommandResult {
            op,
            target: r.target,
            status: u16::try_from(r.status)
                .map_err(|_| format!("status {} in a result is not a DM status", r.status))?,
            data: r.data,
        })
    }
}

impl From<model::CommandResult> for CommandResult {
    fn from(r: model::CommandResult) -> Self {
        CommandResult {
            op: r.op.as_str().to_string(),
            target: r.target,
            status: i32::from(r.status),
            data: r.data,
        }
    }
}

/// How an occurrence ended.
#[uniffi::remote(Enum)]
pub enum Outcome {
    /// Every command succeeded.
    Ran,
    /// A command failed after all retries.
    Failed,
    /// Constraints did not hold in time, or a newer occurrence replaced it.
    Missed,
    /// Policy did not run it.
    Skipped,
    /// Still waiting.
    Deferred,
    /// The device stopped while it ran (at-most-once).
    Interrupted,
}

/// One finished occurrence.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Firing {
    /// Owning server.
    pub owner: String,
    /// Schedule id.
    pub schedule: String,
    /// Task id.
    pub task: String,
    /// Occurrence number.
    pub seq: i64,
    /// When it was due (ms).
    pub due_ms: i64,
    /// When it ran (ms), if it did.
    pub run_at_ms: Option<i64>,
    /// How it ended.
    pub outcome: Outcome,
    /// Why, when it did not simply run.
    pub reason: Option<String>,
    /// Attempts made.
    pub attempts: i32,
    /// One result per command run.
    pub results: Vec<CommandResult>,
}

impl From<model::Firing> for Firing {
    fn from(f: model::Firing) -> Self {
        Firing {
            owner: f.owner,
            schedule: f.schedule,
            task: f.task,
            seq: i64::try_from(f.seq).unwrap_or(i64::MAX),
            due_ms: f.due.as_millisecond(),
            run_at_ms: f.run_at.map(|t| t.as_millisecond()),
            outcome: f.outcome,
            reason: f.reason,
            attempts: i32::try_from(f.attempts).unwrap_or(i32::MAX),
            results: f.results.into_iter().map(Into::into).collect(),
        }
    }
}

/// A report waiting in the outbox.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Report {
    /// Outbox id (never reused); acknowledge with it.
    pub id: i64,
    /// Stable identifier of the report (32 hex digits): the same on every
    /// delivery, different for every report.
    pub report_id: String,
    /// When the report was created (Unix ms, UTC).
    pub created_ms: i64,
    /// The occurrence reported.
    pub firing: Firing,
}

impl From<model::Report> for Report {
    fn from(r: model::Report) -> Self {
        Report {
            id: r.id,
            report_id: r.report_id,
            created_ms: r.created.as_millisecond(),
            firing: r.firing.into(),
        }
    }
}

/// Reports for a server.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ReportBatch {
    /// Oldest first.
    pub reports: Vec<Report>,
    /// Reports of that owner evicted from the full outbox since its last acknowledgement.
    pub dropped: i64,
    /// When `dropped` > 0: the stable identifier of the report telling the
    /// owner (the same until acknowledged, while the count grows).
    pub dropped_report_id: Option<String>,
    /// When `dropped` > 0: when the first of these evictions happened (Unix ms, UTC).
    pub dropped_created_ms: Option<i64>,
    /// When `dropped` > 0: what was dropped, oldest first (the last 32):
    /// `schedule/task#seq outcome, report <id>`.
    pub dropped_names: Vec<String>,
}

impl From<dmsched_core::ReportBatch> for ReportBatch {
    fn from(b: dmsched_core::ReportBatch) -> Self {
        ReportBatch {
            reports: b.reports.into_iter().map(Into::into).collect(),
            dropped: i64::try_from(b.dropped).unwrap_or(i64::MAX),
            dropped_report_id: b.dropped_report_id,
            dropped_created_ms: b.dropped_created.map(|t| t.as_millisecond()),
            dropped_names: b.dropped_names,
        }
    }
}

/// Lifecycle state of a schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum State {
    /// Verified and running.
    Active,
    /// Stopped by its server.
    Suspended,
    /// Ended by its server.
    Terminated,
    /// Past its validity.
    Expired,
    /// Every task ended by itself.
    Completed,
    /// Could not be restored.
    Failed,
}

impl From<ScheduleState> for State {
    fn from(s: ScheduleState) -> Self {
        match s {
            ScheduleState::Active => State::Active,
            ScheduleState::Suspended => State::Suspended,
            ScheduleState::Terminated => State::Terminated,
            ScheduleState::Expired => State::Expired,
            ScheduleState::Completed => State::Completed,
            ScheduleState::Failed => State::Failed,
        }
    }
}

/// A task as the engine sees it.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct TaskSummary {
    /// Task id.
    pub id: String,
    /// `at`, `every`, `calendar`, `event` or `becomes_true`.
    pub trigger: String,
    /// Next run (ms), when known.
    pub next_run_ms: Option<i64>,
    /// Runs so far.
    pub runs: i32,
    /// Outcome of the last finished occurrence.
    pub last_outcome: Option<Outcome>,
    /// Why it is not running now.
    pub waiting: Option<String>,
    /// Why it ended.
    pub ended: Option<String>,
    /// Reason given with the last outcome.
    #[uniffi(default = None)]
    pub last_reason: Option<String>,
    /// The last time one of its conditions could not be evaluated, and why.
    #[uniffi(default = None)]
    pub diagnostic: Option<String>,
    /// Its last finished occurrences, oldest first (the run history;
    /// `EngineConfig.history_len`, default 10).
    #[uniffi(default = [])]
    pub history: Vec<RunRecord>,
}

/// One finished occurrence in a task's run history.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct RunRecord {
    /// Occurrence number.
    pub seq: i64,
    /// When it was due (ms).
    pub due_ms: i64,
    /// When its commands ran (ms), if they did.
    pub run_at_ms: Option<i64>,
    /// How it ended.
    pub outcome: Outcome,
    /// The status of the command that decided the outcome, if one failed.
    pub status: Option<i32>,
    /// Attempts made.
    pub attempts: i32,
    /// Why it ended so.
    pub reason: Option<String>,
}

impl From<dmsched_core::model::RunRecord> for RunRecord {
    fn from(r: dmsched_core::model::RunRecord) -> Self {
        RunRecord {
            seq: i64::try_from(r.seq).unwrap_or(i64::MAX),
            due_ms: r.due.as_millisecond(),
            run_at_ms: r.run_at.map(|t| t.as_millisecond()),
            outcome: r.outcome,
            status: r.status.map(i32::from),
            attempts: i32::try_from(r.attempts).unwrap_or(i32::MAX),
            reason: r.reason,
        }
    }
}

/// A schedule as the engine sees it.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ScheduleSummary {
    /// Owning server.
    pub owner: String,
    /// Schedule id.
    pub id: String,
    /// Lifecycle state.
    pub state: State,
    /// Why it is in that state.
    pub reason: Option<String>,
    /// Earliest next run (ms).
    pub next_run_ms: Option<i64>,
    /// Per task.
    pub tasks: Vec<TaskSummary>,
    /// The document, as JSON.
    pub document_json: String,
}

impl From<ScheduleInfo> for ScheduleSummary {
    fn from(s: ScheduleInfo) -> Self {
        ScheduleSummary {
            owner: s.owner,
            id: s.id,
            state: s.state.into(),
            reason: s.reason,
            next_run_ms: s.next_run.map(|t| t.as_millisecond()),
            tasks: s
                .tasks
                .into_iter()
                .map(|t| TaskSummary {
                    id: t.id,
                    trigger: t.trigger,
                    next_run_ms: t.next_run.map(|x| x.as_millisecond()),
                    runs: i32::try_from(t.runs).unwrap_or(i32::MAX),
                    last_outcome: t.last_outcome,
                    waiting: t.waiting,
                    ended: t.ended,
                    last_reason: t.last_reason,
                    diagnostic: t.diagnostic,
                    history: t.history.into_iter().map(Into::into).collect(),
                })
                .collect(),
            document_json: serde_json::to_string(&s.document).unwrap_or_default(),
        }
    }
}

/// The user's answer to a confirmation prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum PromptAnswer {
    /// Run now.
    Accept,
    /// Do not run this occurrence (its outcome is `Skipped`).
    Refuse,
    /// Ask again after `seconds` (within the task's `max_delay_seconds`).
    Postpone {
        /// Seconds to wait (a negative value counts as 0).
        seconds: i64,
    },
}

impl From<PromptAnswer> for dmsched_core::PromptAnswer {
    fn from(a: PromptAnswer) -> Self {
        match a {
            PromptAnswer::Accept => dmsched_core::PromptAnswer::Accept,
            PromptAnswer::Refuse => dmsched_core::PromptAnswer::Refuse,
            PromptAnswer::Postpone { seconds } => {
                dmsched_core::PromptAnswer::Postpone(u64::try_from(seconds).unwrap_or(0))
            }
        }
    }
}

/// What a server wants to do with a schedule it does not own.
#[uniffi::remote(Enum)]
pub enum Access {
    /// List or get it.
    Read,
    /// Modify, suspend or resume it.
    Change,
    /// Terminate it.
    End,
}

/// For inexact OS alarms: any instant in `[earliest_ms, latest_ms]` is a
/// good time to call `tick` (no task becomes later than it tolerates).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record)]
pub struct WakeupWindow {
    /// The earliest due instant (Unix ms).
    pub earliest_ms: i64,
    /// The latest instant by which `tick` must run (Unix ms).
    pub latest_ms: i64,
}
