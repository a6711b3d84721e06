//! Runtime state of schedules and tasks, as persisted in the store.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::model::Outcome;

/// Lifecycle state of a schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleState {
    /// Verified and running.
    Active,
    /// Stopped by its server; resumes on request.
    Suspended,
    /// Ended by its server.
    Terminated,
    /// Past its `valid_until`.
    Expired,
    /// Every task ended by its own termination conditions.
    Completed,
    /// Could not be restored (stored document no longer valid for this build).
    Failed,
}

impl ScheduleState {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleState::Active => "active",
            ScheduleState::Suspended => "suspended",
            ScheduleState::Terminated => "terminated",
            ScheduleState::Expired => "expired",
            ScheduleState::Completed => "completed",
            ScheduleState::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<ScheduleState> {
        Some(match s {
            "active" => ScheduleState::Active,
            "suspended" => ScheduleState::Suspended,
            "terminated" => ScheduleState::Terminated,
            "expired" => ScheduleState::Expired,
            "completed" => ScheduleState::Completed,
            "failed" => ScheduleState::Failed,
            _ => return None,
        })
    }

    /// Active or suspended: the schedule can still run or be resumed.
    pub fn is_live(self) -> bool {
        matches!(self, ScheduleState::Active | ScheduleState::Suspended)
    }
}

/// An occurrence that has come due and not finished.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub seq: u64,
    pub due: Timestamp,
    /// Earliest run: due + jitter, or later after a postponement or a retry backoff.
    pub not_before: Timestamp,
    /// After this the occurrence is missed if its constraints still fail.
    pub deadline: Timestamp,
    /// Failed attempts so far.
    pub attempt: u32,
    /// Journaled as started and not yet finished.
    #[serde(default)]
    pub in_flight: bool,
    /// Why it waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<String>,
    /// An at-least-once run that a restart interrupted: it runs again
    /// before any newer occurrence of the task can replace it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub owed: bool,
    /// Postponements the user asked for so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub postponed: u32,
    /// Started and left running by the host (`Execution::Pending`): the
    /// run it completes later, and when it times out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting: Option<Awaiting>,
}

/// A run the host completes later.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Awaiting {
    /// The run's id (journal entry), as in `RunContext::run_id`.
    pub run_id: i64,
    /// Not completed by then: a failed attempt.
    pub until: Timestamp,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Per-task state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct TaskState {
    /// The next occurrence number.
    pub seq: u64,
    /// Next nominal instant of a time trigger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_due: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
    /// Runs so far (ran or failed).
    #[serde(default)]
    pub runs: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reason: Option<String>,
    /// becomes_true: evaluated at least once since activation.
    #[serde(default)]
    pub primed: bool,
    /// becomes_true: the condition was false last time (an edge can fire).
    #[serde(default)]
    pub armed: bool,
    /// changes: the node's value when last looked at (JSON; `None`: absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_value: Option<String>,
    /// becomes_true with `for_seconds`: the condition has held since then
    /// (armed); it fires once it has held `for_seconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub true_since: Option<Timestamp>,
    /// Why the task ended, once it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    /// Its last finished occurrences, oldest first, at most
    /// `EngineConfig::history_len` once written: kept in the store's
    /// `history` table (one row per occurrence, so that a run does not
    /// rewrite them all), not in this state's JSON.
    #[serde(skip)]
    pub history: Vec<crate::model::RunRecord>,
    /// Records at the end of `history` not written to the store yet.
    #[serde(skip)]
    pub history_unsaved: u32,
    /// Rows of this task in the store's `history` table (trimmed when
    /// they pass twice the configured length).
    #[serde(skip)]
    pub history_rows: u32,
    /// The last evaluation error of one of its conditions, with its time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<String>,
    /// Why its latest event- or tree-triggered occurrence exists: (its
    /// number, e.g. "./X changed by srv-a").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<(u64, String)>,
}
