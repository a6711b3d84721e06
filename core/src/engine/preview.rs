//! A schedule's time triggers previewed (`dmsched next`, issue 17): per
//! task the trigger as the engine reads it (a calendar's rule in canonical
//! form, with its inherited zone and default start) and its next nominal
//! instants in local time and UTC, each DST adjustment named — as
//! `systemd-analyze calendar --iterations=N`, but per schedule and with
//! the engine's own calendar code.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use super::compile::{Plan, parse_checked};
use super::trigger::CTrigger;
use crate::model::{Limits, Problem, Task, Trigger};
use crate::when::{self, RRule};

/// One task's preview.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskPreview {
    /// The schedule's id.
    pub schedule: String,
    /// The task's id.
    pub task: String,
    /// The trigger as the engine reads it.
    pub rule: String,
    /// The zone local times are shown in: the calendar's (inherited from
    /// the schedule when it has none), else the schedule's, else UTC.
    pub zone: String,
    /// The next nominal instants (before jitter, windows and
    /// constraints); none for event and condition triggers.
    pub next: Vec<PreviewInstant>,
    /// What moves or limits the runs around those instants.
    pub notes: Vec<String>,
}

/// One upcoming instant.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PreviewInstant {
    /// The instant.
    pub at: Timestamp,
    /// The same in the preview's zone, RFC 3339 with its offset.
    pub local: String,
    /// What daylight saving time did to it, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst: Option<String>,
}

/// Previews every task of `json` (checked as a submission accepted at
/// `accepted_at`): up to `n` instants at or after `from` (and before
/// `until`, when given), within the schedule's validity and each task's
/// `until`. `device_tz` is the zone a `"local"` zone means. A document
/// with problems gets them all.
pub fn preview(
    json: &str,
    limits: &Limits,
    accepted_at: Timestamp,
    from: Timestamp,
    until: Option<Timestamp>,
    n: usize,
    device_tz: &TimeZone,
) -> Result<Vec<TaskPreview>, Vec<Problem>> {
    let (doc, plan) = parse_checked(json, limits, accepted_at, device_tz)?;
    let start = doc.valid_from.map_or(from, |v| v.max(from));
    let mut out = Vec::with_capacity(doc.tasks.len());
    for (i, t) in doc.tasks.iter().enumerate() {
        let ct = &plan.tasks[i];
        let (zone_name, zone) = zone_of(&plan, t, doc.tz.as_deref(), device_tz);
        let end = [doc.valid_until, t.termination.until, until]
            .into_iter()
            .flatten()
            .min();
        let mut next = Vec::new();
        let mut at = start
            .checked_sub(jiff::SignedDuration::from_nanos(1))
            .unwrap_or(start);
        while next.len() < n {
            let (o, nominal) = match &ct.trigger {
                CTrigger::Calendar { cal } => match cal.next_after(at) {
                    Some(o) => (o.at, Some(o.nominal)),
                    None => break,
                },
                other => match other.next_after(at) {
                    Some(o) => (o, None),
                    None => break,
                },
            };
            if end.is_some_and(|e| o >= e) {
                break;
            }
            next.push(instant(o, nominal, &zone));
            at = o;
        }
        out.push(TaskPreview {
            schedule: doc.id.clone(),
            task: t.id.clone(),
            rule: rule_text(
                t,
                doc.tz.as_deref(),
                &zone,
                doc.valid_from.unwrap_or(accepted_at),
            ),
            zone: zone_name,
            next,
            notes: notes(t, &doc, end),
        });
    }
    Ok(out)
}

fn zone_of(plan: &Plan, t: &Task, doc_tz: Option<&str>, device: &TimeZone) -> (String, TimeZone) {
    let name = match &t.trigger {
        Trigger::Calendar(c) => c.zone_name(doc_tz),
        _ => doc_tz,
    }
    .unwrap_or("UTC");
    let zone = match name {
        "local" => device.clone(),
        n => when::zone(n).unwrap_or_else(|_| plan.zone.resolve(device).clone()),
    };
    let shown = match (name, device.iana_name()) {
        ("local", Some(d)) => format!("local ({d})"),
        (n, _) => n.to_string(),
    };
    (shown, zone)
}

fn instant(
    at: Timestamp,
    nominal: Option<jiff::civil::DateTime>,
    zone: &TimeZone,
) -> PreviewInstant {
    let local = zone.to_datetime(at);
    let shown = at.display_with_offset(zone.to_offset(at)).to_string();
    let hm = |d: jiff::civil::DateTime| d.strftime("%H:%M").to_string();
    let dst = nominal.and_then(|nominal| {
        if nominal != local {
            return Some(format!(
                "{} does not exist on {} (clocks go forward): runs at {}",
                hm(nominal),
                nominal.date(),
                hm(local)
            ));
        }
        let amb = zone.to_ambiguous_timestamp(nominal);
        if amb.is_ambiguous() {
            let first = amb.compatible().ok()? == at;
            return Some(format!(
                "{} happens twice on {} (clocks go back): this is the {}",
                hm(nominal),
                nominal.date(),
                if first { "first" } else { "second" }
            ));
        }
        None
    });
    PreviewInstant {
        at,
        local: shown,
        dst,
    }
}

fn rule_text(t: &Task, doc_tz: Option<&str>, zone: &TimeZone, valid: Timestamp) -> String {
    match &t.trigger {
        Trigger::At(ts) => format!("once at {ts}"),
        Trigger::Every(e) => format!(
            "every {} s{} on the grid through {}",
            e.seconds,
            human(e.seconds),
            e.anchor
                .map_or("the acceptance instant".to_string(), |a| a.to_string())
        ),
        Trigger::Calendar(c) => {
            let Ok(rule) = RRule::parse(&c.rrule) else {
                return c.rrule.clone();
            };
            let start = c
                .start(&rule, zone, valid)
                .map_or("?".into(), |d| d.to_string());
            let tz = c.zone_name(doc_tz).unwrap_or("UTC");
            format!(
                "RRULE:{} from {start}{} in {tz}{}",
                rule.normalized(),
                if c.dtstart.is_none() {
                    " (default start)"
                } else {
                    ""
                },
                if c.tz.is_none() {
                    " (the schedule's zone)"
                } else {
                    ""
                },
            )
        }
        Trigger::Event(ev) => match &ev.filter {
            Some(f) => format!("on event {} where `{f}`", ev.name),
            None => format!("on event {}", ev.name),
        },
        Trigger::Changes(uri) => format!("whenever the value of {uri} changes"),
        Trigger::After(a) => format!(
            "after task {} finishes ({})",
            a.task,
            a.outcome
                .iter()
                .map(|o| o.as_str())
                .collect::<Vec<_>>()
                .join(" or ")
        ),
        Trigger::BecomesTrue(e) => {
            let mut t = format!("when `{}` becomes true (tree values)", e.condition);
            if e.for_seconds > 0 {
                t.push_str(&format!(" and stays true for {} s", e.for_seconds));
            }
            if let Some(r) = &e.rearm_when {
                t.push_str(&format!("; again only after `{r}`"));
            }
            t
        }
    }
}

/// " (6 h)" for a whole number of days, hours or minutes.
fn human(secs: u64) -> String {
    match secs {
        s if s >= 86_400 && s % 86_400 == 0 => format!(" ({} d)", s / 86_400),
        s if s >= 3600 && s % 3600 == 0 => format!(" ({} h)", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!(" ({} min)", s / 60),
        _ => String::new(),
    }
}

fn notes(t: &Task, doc: &crate::model::Schedule, end: Option<Timestamp>) -> Vec<String> {
    let mut out = Vec::new();
    if t.policy.jitter_seconds > 0 {
        out.push(format!(
            "jitter: each run starts 0–{} s after its instant (fixed per device, occurrence)",
            t.policy.jitter_seconds
        ));
    }
    if !t.constraints.windows.is_empty() {
        let w: Vec<String> = t
            .constraints
            .windows
            .iter()
            .map(|w| {
                let days = w.days.as_ref().map_or(String::new(), |d| {
                    let names = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
                    format!(
                        " on {}",
                        d.iter()
                            .map(|i| names[usize::from(*i) % 7])
                            .collect::<Vec<_>>()
                            .join(",")
                    )
                });
                format!(
                    "{}–{}{days}",
                    w.start.strftime("%H:%M"),
                    w.end.strftime("%H:%M")
                )
            })
            .collect();
        out.push(format!(
            "windows: runs only inside {} ({})",
            w.join(", "),
            doc.tz.as_deref().unwrap_or("UTC")
        ));
    }
    if let Some(r) = &t.constraints.require {
        out.push(format!(
            "constraint: runs only when `{r}` holds, waiting up to {} s",
            t.constraints.max_delay_seconds.unwrap_or(0)
        ));
    }
    if let Some(m) = t.termination.max_runs {
        out.push(format!("ends after {m} runs"));
    }
    if let Some(e) = end {
        out.push(format!("nothing at or after {e} (valid_until / until)"));
    }
    out
}
