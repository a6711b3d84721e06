//! The schedule document: what a management authority hands the device.

use jiff::Timestamp;
use jiff::civil::DateTime;
use serde::{Deserialize, Serialize};

use super::action::Action;
use crate::when::{DstPolicy, Window};

/// A schedule: one or more tasks that belong to one management authority.
///
/// The owner is not part of the document: it is the identity of the server
/// that submitted it, kept by the engine beside the document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Identifier, unique per owner: `[A-Za-z0-9_.-]`, 1–64 characters (a DM node name).
    pub id: String,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Nothing runs before this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Timestamp>,
    /// At this instant the schedule expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
    /// Zone of the daily constraint windows: an IANA name, `"UTC"` (the
    /// default) or `"local"` (the device's zone, as set by the host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    /// The tasks, at least one.
    pub tasks: Vec<Task>,
    /// What the user may adjust, and what the user chose (use case step 4;
    /// [`super::Personalize`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personalize: Option<Box<super::Personalize>>,
}

impl Schedule {
    /// Drops the spare capacity decoding leaves in the document's lists (a
    /// list decoded from JSON grows to 4 slots: a one-task schedule kept
    /// ~1 KB of empty task slots for as long as it lived in memory).
    pub fn shrink_to_fit(&mut self) {
        self.tasks.shrink_to_fit();
        for t in &mut self.tasks {
            t.constraints.windows.shrink_to_fit();
            for w in &mut t.constraints.windows {
                if let Some(d) = w.days.as_mut() {
                    d.shrink_to_fit();
                }
            }
            t.actions.shrink_to_fit();
            for a in &mut t.actions {
                a.shrink_to_fit();
            }
        }
    }
}

/// One trigger, its constraints, its actions, when it ends and how it behaves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Identifier, unique in the schedule: `[A-Za-z0-9_.-]`, 1–64 characters.
    pub id: String,
    /// What starts an occurrence.
    pub trigger: Trigger,
    /// What must hold when an occurrence runs.
    #[serde(default, skip_serializing_if = "Constraints::is_empty")]
    pub constraints: Constraints,
    /// The DM commands an occurrence runs, in order.
    pub actions: Vec<Action>,
    /// When the task ends by itself.
    #[serde(default, skip_serializing_if = "Termination::is_empty")]
    pub termination: Termination,
    /// Jitter, misfires, retries, delivery, DST and reporting.
    #[serde(default)]
    pub policy: Policy,
}

/// The trigger kinds, as named in JSON (the Scheduling MO's
/// `Capabilities/Triggers`).
pub const TRIGGER_KINDS: [&str; 7] = [
    "at",
    "every",
    "calendar",
    "event",
    "becomes_true",
    "changes",
    "after",
];

/// What starts an occurrence of a task: exactly one of these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// Once, at an instant (RFC 3339).
    At(Timestamp),
    /// Every `seconds`, on the grid `anchor + k × seconds`.
    Every(Every),
    /// An iCalendar recurrence in a time zone.
    Calendar(Calendar),
    /// A device event, optionally filtered.
    Event(EventMatch),
    /// When a condition over tree values goes from false to true: a
    /// condition (`"./Level < 20"`), or an [`Edge`] object with a re-arm
    /// condition and a dwell time.
    BecomesTrue(Edge),
    /// Whenever the value of this DM-tree node changes (a write of the
    /// same value is no change; appearing and disappearing are). The MO's
    /// TreeValue Op `changed`.
    Changes(String),
    /// Task chaining (the MO's `DependsOn`): when another task of the same
    /// schedule finishes an occurrence with one of the given outcomes.
    After(After),
}

/// A chained trigger: `{"after": {"task": "download", "outcome": ["ran"]}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct After {
    /// The task (of the same schedule) it follows.
    pub task: String,
    /// The outcomes of that task's occurrence that start this one
    /// (default: `ran`).
    #[serde(default = "ran_only", skip_serializing_if = "is_ran_only")]
    pub outcome: Vec<crate::model::Outcome>,
}

fn ran_only() -> Vec<crate::model::Outcome> {
    vec![crate::model::Outcome::Ran]
}

fn is_ran_only(v: &[crate::model::Outcome]) -> bool {
    v == [crate::model::Outcome::Ran]
}

/// A `becomes_true` trigger: the condition whose false → true edge
/// starts an occurrence, with optional real hysteresis.
///
/// In JSON either the condition alone (`"./Level < 20"`: re-armed as
/// soon as it is false again — plain edge triggering) or
/// `{"condition": "./Level < 20", "rearm_when": "./Level > 25",
/// "for_seconds": 60}`: after a firing the trigger re-arms only once
/// `rearm_when` is true (so a value flickering around 20 fires once), and
/// the condition must stay true for `for_seconds` before it fires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    /// The condition.
    pub condition: String,
    /// Re-arms after a firing only when this is true (default: when the
    /// condition is false).
    pub rearm_when: Option<String>,
    /// The condition must hold this long (seconds, re-checked at the end)
    /// before the trigger fires; 0 fires at once.
    pub for_seconds: u64,
}

impl Edge {
    /// A plain edge on `condition`.
    pub fn plain(condition: impl Into<String>) -> Edge {
        Edge {
            condition: condition.into(),
            rearm_when: None,
            for_seconds: 0,
        }
    }
}

impl From<&str> for Edge {
    fn from(c: &str) -> Edge {
        Edge::plain(c)
    }
}

impl Serialize for Edge {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if self.rearm_when.is_none() && self.for_seconds == 0 {
            return s.serialize_str(&self.condition);
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("condition", &self.condition)?;
        if let Some(r) = &self.rearm_when {
            m.serialize_entry("rearm_when", r)?;
        }
        if self.for_seconds != 0 {
            m.serialize_entry("for_seconds", &self.for_seconds)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Edge {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Edge, D::Error> {
        const FIELDS: &[&str] = &["condition", "rearm_when", "for_seconds"];
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Edge;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a condition, or an object with condition, rearm_when and for_seconds")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Edge, E> {
                Ok(Edge::plain(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Edge, A::Error> {
                use serde::de::Error;
                let (mut condition, mut rearm_when, mut for_seconds) = (None, None, None);
                while let Some(k) = m.next_key::<String>()? {
                    match k.as_str() {
                        "condition" if condition.is_none() => condition = Some(m.next_value()?),
                        "rearm_when" if rearm_when.is_none() => rearm_when = Some(m.next_value()?),
                        "for_seconds" if for_seconds.is_none() => {
                            for_seconds = Some(m.next_value()?)
                        }
                        "condition" | "rearm_when" | "for_seconds" => {
                            return Err(A::Error::custom(format!("duplicate field `{k}`")));
                        }
                        _ => return Err(A::Error::unknown_field(&k, FIELDS)),
                    }
                }
                Ok(Edge {
                    condition: condition.ok_or_else(|| A::Error::missing_field("condition"))?,
                    rearm_when,
                    for_seconds: for_seconds.unwrap_or(0),
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// Interval trigger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Every {
    /// Period in seconds (at least the configured minimum interval).
    pub seconds: u64,
    /// Grid anchor; defaults to the instant the schedule was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<Timestamp>,
}

/// Calendar trigger: an RFC 5545 RRULE from a local start in a zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calendar {
    /// The rule, e.g. `FREQ=MONTHLY;BYDAY=-1SU;BYHOUR=3`.
    pub rrule: String,
    /// Local start date-time (no offset), e.g. `2026-01-01T03:00:00`.
    /// Absent: 00:00 local on the day the schedule became valid
    /// (`valid_from`, else its acceptance) — allowed only where the rule
    /// itself gives everything DTSTART would supply
    /// ([`Calendar::start`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtstart: Option<DateTime>,
    /// IANA zone name, `"UTC"`, or `"local"` for the device's zone.
    /// Absent: the schedule's `tz`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
}

impl Calendar {
    /// The zone's name: its own, else the schedule's (`schedule_tz`).
    pub fn zone_name<'a>(&'a self, schedule_tz: Option<&'a str>) -> Option<&'a str> {
        self.tz.as_deref().or(schedule_tz)
    }

    /// The start: `dtstart`, else 00:00 in `zone` on the day of `valid`
    /// (the schedule's `valid_from`, else its acceptance) when `rule`
    /// needs nothing from a start; else why a `dtstart` is needed.
    pub fn start(
        &self,
        rule: &crate::when::RRule,
        zone: &jiff::tz::TimeZone,
        valid: jiff::Timestamp,
    ) -> Result<DateTime, String> {
        if let Some(d) = self.dtstart {
            return Ok(d);
        }
        use crate::when::Freq;
        let why = if rule.interval != 1 {
            Some("INTERVAL counts its steps from dtstart")
        } else if rule.count.is_some() {
            Some("COUNT counts occurrences from dtstart")
        } else if rule.freq <= Freq::Daily && rule.by_hour.is_empty() {
            Some("without BYHOUR the rule takes its hour from dtstart (add BYHOUR)")
        } else if rule.freq == Freq::Weekly && rule.by_weekday.is_empty() {
            Some("FREQ=WEEKLY without BYDAY takes its weekday from dtstart (add BYDAY)")
        } else if rule.freq == Freq::Monthly
            && rule.by_month_day.is_empty()
            && rule.by_weekday.is_empty()
            && rule.by_nth_weekday.is_empty()
        {
            Some("FREQ=MONTHLY without BYMONTHDAY or BYDAY takes its day from dtstart")
        } else if rule.freq == Freq::Yearly
            && rule.by_year_day.is_empty()
            && (rule.by_month.is_empty()
                || (rule.by_month_day.is_empty()
                    && rule.by_weekday.is_empty()
                    && rule.by_nth_weekday.is_empty()))
        {
            Some(
                "FREQ=YEARLY without BYYEARDAY, or BYMONTH with a day, takes its date from dtstart",
            )
        } else {
            None
        };
        match why {
            Some(w) => Err(format!("\"dtstart\" is needed: {w}")),
            None => Ok(zone
                .to_datetime(valid)
                .date()
                .to_datetime(jiff::civil::Time::midnight())),
        }
    }
}

/// An event name and an optional filter over its fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventMatch {
    /// Event name: `boot`, `network`, `charger`, `sim_change`, `app_installed`, or any host-defined name.
    pub name: String,
    /// Condition over `event.<field>` and tree values; absent means every event of that name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

/// Conditions that must hold when an occurrence runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraints {
    /// Daily windows in the schedule's zone; the occurrence runs inside one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<Window>,
    /// A condition over tree values, e.g. `./DevDetail/Ext/Battery/Level >= 30`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require: Option<String>,
    /// How long an occurrence may wait for its constraints before it is missed (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay_seconds: Option<u64>,
}

impl Constraints {
    /// True when no constraint is set.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty() && self.require.is_none() && self.max_delay_seconds.is_none()
    }
}

/// When a task ends by itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Termination {
    /// No occurrence at or after this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    /// The task ends after this many runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_runs: Option<u32>,
    /// The task ends when this event arrives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_event: Option<EventMatch>,
    /// The task ends when this condition is true (checked on tree changes and after each run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
}

impl Termination {
    /// True when no termination condition is set.
    pub fn is_empty(&self) -> bool {
        self.until.is_none()
            && self.max_runs.is_none()
            && self.on_event.is_none()
            && self.when.is_none()
    }
}

/// How a task behaves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Each occurrence is delayed by a deterministic amount in `[0, jitter_seconds]`
    /// derived from the device id, schedule, task and occurrence.
    pub jitter_seconds: u32,
    /// What to do with occurrences missed while the device was off.
    pub misfire: Misfire,
    /// With `misfire: all`, at most this many missed occurrences run.
    pub misfire_cap: u32,
    /// Retries after a failed run.
    pub retry: Retry,
    /// What a run interrupted by a crash becomes after restart.
    pub delivery: Delivery,
    /// DST gap and overlap handling for calendar triggers.
    pub dst: DstPolicy,
    /// When a report is produced.
    pub report: ReportWhen,
    /// When a produced report is sent: with the owner's next session, or
    /// at once in a session the device opens (retried with backoff).
    pub report_delivery: ReportDelivery,
    /// Ask the user (host prompt) before each run.
    pub confirm: bool,
    /// With `confirm`: how many times the user may postpone one occurrence;
    /// the next postponement ends it `skipped`.
    pub max_postpones: u32,
    /// With `confirm`: postponing never moves an occurrence more than this
    /// many seconds past its due time (+ jitter); a postponement asked for
    /// at that horizon ends it `skipped`.
    pub postpone_horizon_seconds: u64,
    /// A run the host completes later (`Execution::Pending`) that has not
    /// been completed this many seconds after it started is a failed
    /// attempt ("not completed in time"; retries apply).
    pub completion_timeout_seconds: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            jitter_seconds: 0,
            misfire: Misfire::Once,
            misfire_cap: 10,
            retry: Retry::default(),
            delivery: Delivery::AtMostOnce,
            dst: DstPolicy::default(),
            report: ReportWhen::OnFailure,
            report_delivery: ReportDelivery::NextSession,
            confirm: false,
            max_postpones: 3,
            postpone_horizon_seconds: 86_400,
            completion_timeout_seconds: 3_600,
        }
    }
}

/// Misfire policy: occurrences whose time passed while the device was off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Misfire {
    /// Record them as skipped.
    Skip,
    /// Run the most recent one once; skip the others.
    Once,
    /// Run each, oldest first, up to `misfire_cap`; skip the rest.
    All,
}

/// Retry after a failed run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retry {
    /// Retries after the first attempt (0 = none).
    pub max: u32,
    /// Seconds before the first retry; doubled for each further retry.
    pub backoff: u64,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            max: 0,
            backoff: 60,
        }
    }
}

/// Delivery guarantee for a run interrupted by a crash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// An interrupted run is not repeated (recorded as interrupted).
    AtMostOnce,
    /// An interrupted run is run again after restart.
    AtLeastOnce,
}

/// When reports travel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportDelivery {
    /// With the next session with the owner, whoever opens it.
    #[default]
    NextSession,
    /// The device opens a session to the owner as soon as it can, retrying
    /// with backoff while the server cannot be reached.
    Immediate,
}

/// Report policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportWhen {
    /// Never report runs.
    Never,
    /// Report failed, missed and skipped occurrences.
    OnFailure,
    /// Report every occurrence.
    Always,
}
