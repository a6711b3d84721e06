//! What happened to an occurrence, and the report that tells the server.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::action::Op;

/// The final outcome of one occurrence of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The actions ran and every command succeeded (2xx).
    Ran,
    /// The actions ran and a command failed, after all retries.
    Failed,
    /// The constraints did not hold before the occurrence's deadline, or a newer occurrence replaced it.
    Missed,
    /// Policy decided not to run it (misfire policy, user refusal, validity, termination).
    Skipped,
    /// Still waiting (only in simulations that end while an occurrence waits).
    Deferred,
    /// The device stopped while it ran; at-most-once delivery does not run it again.
    Interrupted,
}

impl Outcome {
    /// The lower-case name used in JSON and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ran => "ran",
            Outcome::Failed => "failed",
            Outcome::Missed => "missed",
            Outcome::Skipped => "skipped",
            Outcome::Deferred => "deferred",
            Outcome::Interrupted => "interrupted",
        }
    }

    /// True for outcomes a `report: on_failure` policy reports.
    pub fn is_failure(self) -> bool {
        !matches!(self, Outcome::Ran)
    }
}

/// The result of one executed DM command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandResult {
    /// The command verb.
    pub op: Op,
    /// Its target URI (none for an Alert: empty, and left out of JSON).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target: String,
    /// SyncML status code (200 OK, 403 forbidden, 404 not found, 500 failed …).
    pub status: u16,
    /// Result data (Get).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

impl CommandResult {
    /// A 200 for every command of `actions`, in order: what an executor
    /// that runs them all successfully answers (simulations, tests,
    /// benchmarks).
    pub fn all_ok(actions: &[super::Action]) -> Vec<CommandResult> {
        actions
            .iter()
            .flat_map(|a| a.commands())
            .map(|c| CommandResult {
                op: c.op,
                target: c.target.clone(),
                status: 200,
                data: None,
            })
            .collect()
    }

    /// True for a 2xx status.
    /// True for a 2xx status, and for an Alert that nobody answered whose
    /// default response stood in (408 with the default as data; see
    /// `docs/scheduling-format.md`, "Alerts").
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
            || (self.op == super::Op::Alert && self.status == 408 && self.data.is_some())
    }

    /// True when the user declined an Alert (304 no, 214 cancel, or 408
    /// without a default): the run is skipped, not failed, and not retried.
    pub fn is_declined(&self) -> bool {
        self.op == super::Op::Alert
            && (matches!(self.status, 304 | 214) || (self.status == 408 && self.data.is_none()))
    }
}

/// One finished occurrence in a task's run history (B10): the last
/// `EngineConfig::history_len` of them are kept with the task's state, and
/// read through the Scheduling MO (`<T>/History`) and `TaskInfo::history`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Occurrence number.
    pub seq: u64,
    /// When it was due.
    pub due: Timestamp,
    /// When its commands ran (its last attempt), if they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_at: Option<Timestamp>,
    /// How it ended.
    pub outcome: Outcome,
    /// The status of the command that decided the outcome: the first that
    /// did not succeed; `None` when every command succeeded or none ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Attempts made (0: its commands never ran).
    #[serde(default)]
    pub attempts: u32,
    /// Why it ended so, if there is more to say than the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl RunRecord {
    /// The record of finished occurrence `f`.
    pub fn of(f: &Firing) -> RunRecord {
        RunRecord {
            seq: f.seq,
            due: f.due,
            run_at: f.run_at,
            outcome: f.outcome,
            status: f.results.iter().find(|r| !r.is_success()).map(|r| r.status),
            attempts: f.attempts,
            reason: f.reason.clone(),
        }
    }
}

/// One finished occurrence: what the engine returns from `tick`, `on_event`
/// and `on_tree_changed`, and what a report carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Firing {
    /// Owning server id.
    pub owner: String,
    /// Schedule id.
    pub schedule: String,
    /// Task id.
    pub task: String,
    /// Occurrence number within the task (0, 1, …).
    pub seq: u64,
    /// When the occurrence was due (nominal instant, or the event/condition time).
    pub due: Timestamp,
    /// When its actions ran, if they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_at: Option<Timestamp>,
    /// The outcome.
    pub outcome: Outcome,
    /// Why it did not run or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Attempts made (1 + retries).
    #[serde(default)]
    pub attempts: u32,
    /// A status per executed command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<CommandResult>,
    /// Why an event- or tree-triggered occurrence exists: `event NAME`,
    /// `URI changed by SERVER` (a DM command or a scheduled action of that
    /// server), `URI changed by the device`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// A report waiting in the outbox for delivery to its owner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Outbox id; acknowledge with it.
    pub id: i64,
    /// Stable identifier of this report (32 lowercase hex digits, 128
    /// random bits), assigned when it was queued and the same on every
    /// delivery: a server that has processed a report with this id has
    /// seen it already. Different for every report, also for the
    /// `deferred` report and the final report of one occurrence.
    pub report_id: String,
    /// When the report was created (queued), UTC.
    pub created: Timestamp,
    /// The occurrence reported.
    pub firing: Firing,
}
