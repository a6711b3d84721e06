//! What `list` and `get` show: state, next run, last outcome, and why a
//! task is not running.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::state::ScheduleState;
use crate::model::{Outcome, Schedule};

/// A schedule as the engine sees it now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScheduleInfo {
    /// Owning server id.
    pub owner: String,
    /// Schedule id.
    pub id: String,
    /// Lifecycle state.
    pub state: ScheduleState,
    /// Why it is in that state (terminated, expired, failed …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it was accepted.
    pub accepted_at: Timestamp,
    /// The earliest next run of any task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run: Option<Timestamp>,
    /// Per-task details.
    pub tasks: Vec<TaskInfo>,
    /// The document as submitted (or last modified).
    pub document: Schedule,
}

/// A task as the engine sees it now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    /// Task id.
    pub id: String,
    /// Trigger kind: `at`, `every`, `calendar`, `event` or `becomes_true`.
    pub trigger: String,
    /// When it will next run, if known (time triggers, or a waiting occurrence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_run: Option<Timestamp>,
    /// Runs so far.
    pub runs: u32,
    /// When it last ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<Timestamp>,
    /// Outcome of its last finished occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_outcome: Option<Outcome>,
    /// Reason given with the last outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reason: Option<String>,
    /// Why it is not running now: waiting for a window or a constraint,
    /// suspended, not yet valid, postponed by the user, retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
    /// The occurrence waiting to run, if any: its number and due instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingInfo>,
    /// Why the task ended, if it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    /// The last time one of its conditions (trigger, filter, termination)
    /// could not be evaluated, and why: such a condition counts as false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<String>,
    /// Its last finished occurrences, oldest first (at most
    /// `EngineConfig::history_len`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<crate::model::RunRecord>,
}

/// An occurrence that came due and has not finished.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingInfo {
    /// Occurrence number.
    pub seq: u64,
    /// When it was due.
    pub due: Timestamp,
    /// Earliest run (jitter, postponement, retry backoff).
    pub not_before: Timestamp,
    /// After this it is missed if its constraints still fail.
    pub deadline: Timestamp,
    /// Failed attempts so far.
    pub attempt: u32,
}
