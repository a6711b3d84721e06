//! Reports of the Scheduling MO as Generic Alert 1226 contents (facts §2):
//! Source = the task's MO URI, Meta Type configurable, Format xml, Mark by
//! outcome, Data an XML description of the occurrence. `Report/Gating`
//! decides which of them go out (bit 0 success, 1 error, 2 user cancel,
//! 3 user postpone, 4 state change).
//!
//! Every report's Data begins with its identity: `<ReportID>` (32 lowercase
//! hex digits, 128 random bits, assigned when the report is created and
//! stored with it, the same on every re-delivery, different for every
//! report) and `<Created>` (RFC 3339, UTC). Delivery is at least once; the
//! id lets a server process each report exactly once.

use jiff::Timestamp;

use super::MoConfig;
use crate::model::{Outcome, Report};
use crate::store::new_report_id;

/// One report, ready to become a Generic Alert 1226.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoReport {
    /// Engine outbox id (acknowledge with it); `None` for state reports.
    pub id: Option<i64>,
    /// The server it is for.
    pub owner: String,
    /// Item Source LocURI: the task (result) or schedule (state) node.
    pub source: String,
    /// Meta Type.
    pub type_: String,
    /// Meta Mark.
    pub mark: String,
    /// Data (Meta Format `xml`), beginning with `<ReportID>` and `<Created>`.
    pub data: String,
    /// The report's stable identifier (also in Data): the same on every
    /// delivery of this report, different for every other report.
    pub report_id: String,
    /// When the report was created, UTC (also in Data).
    pub created: Timestamp,
    /// For a state report the MO queued itself (an automatic end:
    /// completed, expired, failed): its id in the MO's queue; acknowledge
    /// with [`super::Scheduling::ack_stored`].
    pub stored: Option<i64>,
    /// For the eviction report only: how many of the owner's reports the
    /// full queue dropped (0 for every other report). Acknowledge its
    /// delivery with [`super::Scheduling::ack_evicted`].
    pub evicted: u64,
}

/// The identity elements every report's Data begins with.
fn identity(report_id: &str, created: Timestamp) -> String {
    format!(
        "<ReportID>{}</ReportID><Created>{created}</Created>",
        xml_escape(report_id)
    )
}

/// The identity a stored report's Data begins with (see [`identity`]).
pub(crate) fn identity_in(data: &str) -> Option<(String, Timestamp)> {
    let field = |tag: &str| {
        let open = format!("<{tag}>");
        let start = data.find(&open)? + open.len();
        let len = data[start..].find(&format!("</{tag}>"))?;
        Some(&data[start..start + len])
    };
    Some((
        field("ReportID")?.to_string(),
        field("Created")?.parse().ok()?,
    ))
}

pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Gating bit 0: a successful run.
pub(crate) const GATE_SUCCESS: u8 = 1;
/// Gating bit 1: a failed, missed, interrupted or otherwise skipped occurrence.
pub(crate) const GATE_ERROR: u8 = 2;
/// Gating bit 2: the user refused the run.
pub(crate) const GATE_USER_CANCEL: u8 = 4;
/// Gating bit 3: the user postponed the run.
pub(crate) const GATE_USER_POSTPONE: u8 = 8;
/// Gating bit 4: a change of the schedule's state.
pub(crate) const GATE_STATE: u8 = 16;

/// The Gating bit an occurrence's report falls under.
pub(crate) fn gate_of(f: &crate::model::Firing) -> u8 {
    let reason = f.reason.as_deref().unwrap_or("");
    match f.outcome {
        Outcome::Ran => GATE_SUCCESS,
        Outcome::Skipped if reason.contains("refused by the user") => GATE_USER_CANCEL,
        _ if reason.contains("postponed by the user") => GATE_USER_POSTPONE,
        _ => GATE_ERROR,
    }
}

/// The Gating bits a state report (`what`) falls under: a rejection is
/// also an error.
pub(crate) fn state_gate(what: &str) -> u8 {
    if what == "rejected" || what == "failed" {
        GATE_STATE | GATE_ERROR
    } else {
        GATE_STATE
    }
}

/// The DM-style result code of an outcome (`Tasks/<T>/LastResult`): 200
/// ran, 408 missed, 410 skipped, 500 failed, 503 interrupted, 202 deferred.
pub(crate) fn result_code(o: Outcome) -> i32 {
    match o {
        Outcome::Ran => 200,
        Outcome::Deferred => 202,
        Outcome::Missed => 408,
        Outcome::Skipped => 410,
        Outcome::Failed => 500,
        Outcome::Interrupted => 503,
    }
}

/// The Generic Alert contents of outbox report `r`.
pub fn report_of(cfg: &MoConfig, r: &Report) -> MoReport {
    report_mapped(cfg, r, None)
}

/// The same, for an engine task that is trigger `mo.1` of MO task `mo.0`:
/// the report names the MO task (and the trigger).
pub(crate) fn report_mapped(cfg: &MoConfig, r: &Report, mo: Option<(&str, &str)>) -> MoReport {
    let f = &r.firing;
    let mark = match f.outcome {
        Outcome::Ran => "informational",
        Outcome::Failed => "critical",
        Outcome::Interrupted => "minor",
        _ => "warning",
    };
    let task = mo.map_or(f.task.as_str(), |m| m.0);
    let mut d = String::with_capacity(256);
    d.push_str("<Result>");
    d.push_str(&identity(&r.report_id, r.created));
    d.push_str(&format!("<Schedule>{}</Schedule>", xml_escape(&f.schedule)));
    d.push_str(&format!("<Task>{}</Task>", xml_escape(task)));
    if let Some((_, g)) = mo {
        d.push_str(&format!("<Trigger>{}</Trigger>", xml_escape(g)));
    }
    d.push_str(&format!("<Seq>{}</Seq>", f.seq));
    d.push_str(&format!("<Due>{}</Due>", f.due));
    if let Some(t) = f.run_at {
        d.push_str(&format!("<RunAt>{t}</RunAt>"));
    }
    d.push_str(&format!("<Outcome>{}</Outcome>", f.outcome.as_str()));
    d.push_str(&format!("<Code>{}</Code>", result_code(f.outcome)));
    if let Some(c) = &f.cause {
        d.push_str(&format!("<Cause>{}</Cause>", xml_escape(c)));
    }
    if let Some(r) = &f.reason {
        d.push_str(&format!("<Reason>{}</Reason>", xml_escape(r)));
    }
    d.push_str(&format!("<Attempts>{}</Attempts>", f.attempts));
    for r in &f.results {
        // An Alert has no target: its answer is the data.
        let target = if r.target.is_empty() {
            String::new()
        } else {
            format!(
                " target=\"{}\"",
                xml_escape(&r.target).replace('"', "&quot;")
            )
        };
        d.push_str(&format!(
            "<Cmd op=\"{}\"{target} status=\"{}\"",
            r.op.as_str(),
            r.status
        ));
        match &r.data {
            Some(data) => d.push_str(&format!(">{}</Cmd>", xml_escape(data))),
            None => d.push_str("/>"),
        }
    }
    d.push_str("</Result>");
    MoReport {
        id: Some(r.id),
        owner: f.owner.clone(),
        source: format!("{}/Schedules/{}/Tasks/{}", cfg.root, f.schedule, task),
        type_: cfg.report_type.clone(),
        mark: mark.into(),
        data: d,
        report_id: r.report_id.clone(),
        created: r.created,
        stored: None,
        evicted: 0,
    }
}

/// A new state report for `owner`'s schedule `id` (installed, modified,
/// suspended, activated, terminated, rejected …), created at `created`,
/// with a new identifier.
pub(crate) fn state_report(
    cfg: &MoConfig,
    owner: &str,
    id: &str,
    what: &str,
    reason: Option<&str>,
    created: Timestamp,
) -> MoReport {
    let report_id = new_report_id();
    let mut data = format!(
        "<State>{}<Schedule>{}</Schedule><Event>{what}</Event>",
        identity(&report_id, created),
        xml_escape(id)
    );
    if let Some(r) = reason {
        data.push_str(&format!("<Reason>{}</Reason>", xml_escape(r)));
    }
    data.push_str("</State>");
    MoReport {
        id: None,
        owner: owner.to_string(),
        source: format!("{}/Schedules/{id}", cfg.root),
        type_: cfg.state_type.clone(),
        mark: if what == "rejected" || what == "failed" {
            "critical"
        } else {
            "informational"
        }
        .into(),
        data,
        report_id,
        created,
        stored: None,
        evicted: 0,
    }
}

/// The state report telling `owner` what the user chose for schedule `id`
/// (personalisation, use case step 4): Event `personalized`, one
/// `<Choice param task>` per choice with its JSON value (`{"start":
/// "23:00", "end": "01:00"}`, `3600`, `true`); none left: every parameter
/// at the server's default.
pub(crate) fn personalized_report(
    cfg: &MoConfig,
    owner: &str,
    id: &str,
    p: &crate::model::Personalize,
    created: Timestamp,
) -> MoReport {
    let mut r = state_report(cfg, owner, id, "personalized", None, created);
    let choices: String = p
        .choices
        .iter()
        .map(|(param, c)| {
            let task = p.param(param).map_or("", |x| x.task.as_str());
            format!(
                "<Choice param=\"{}\" task=\"{}\">{}</Choice>",
                xml_escape(param).replace('"', "&quot;"),
                xml_escape(task).replace('"', "&quot;"),
                xml_escape(&serde_json::to_string(c).unwrap_or_default())
            )
        })
        .collect();
    r.data = r.data.replace("</State>", &format!("{choices}</State>"));
    r
}

/// The report that tells `owner` the full queue dropped `n` of its oldest
/// reports (Source the `Schedules` node, Event `reports-evicted`, Mark
/// warning). Its identity is kept by the engine's store until the owner
/// acknowledges it; `n` may grow meanwhile (a re-delivery with the same id
/// and a larger Count replaces the earlier one).
pub(crate) fn eviction_report(
    cfg: &MoConfig,
    owner: &str,
    (n, names): (u64, &[String]),
    report_id: &str,
    created: Timestamp,
) -> MoReport {
    // What was dropped, by name (the last 32; the count is exact).
    let dropped: String = names
        .iter()
        .map(|d| format!("<Dropped>{}</Dropped>", xml_escape(d)))
        .collect();
    MoReport {
        id: None,
        owner: owner.to_string(),
        source: format!("{}/Schedules", cfg.root),
        type_: cfg.state_type.clone(),
        mark: "warning".into(),
        data: format!(
            "<State>{}<Event>reports-evicted</Event><Count>{n}</Count><Reason>the report queue was full: the oldest {n} reports were dropped</Reason>{dropped}</State>",
            identity(report_id, created)
        ),
        report_id: report_id.to_string(),
        created,
        stored: None,
        evicted: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Firing;

    fn firing(outcome: Outcome, reason: Option<&str>) -> Firing {
        Firing {
            owner: "srv".into(),
            schedule: "S".into(),
            task: "T.G2".into(),
            seq: 1,
            due: "2026-12-01T12:00:00Z".parse().unwrap(),
            run_at: None,
            outcome,
            reason: reason.map(String::from),
            attempts: 1,
            results: Vec::new(),
            cause: None,
        }
    }

    /// 6.3.1.2.9: which outcomes a Gating mask lets through.
    #[test]
    fn outcomes_fall_under_their_gating_bits() {
        assert_eq!(gate_of(&firing(Outcome::Ran, None)), GATE_SUCCESS);
        assert_eq!(gate_of(&firing(Outcome::Failed, None)), GATE_ERROR);
        assert_eq!(
            gate_of(&firing(Outcome::Skipped, Some("refused by the user"))),
            GATE_USER_CANCEL
        );
        assert_eq!(
            gate_of(&firing(Outcome::Missed, Some("postponed by the user"))),
            GATE_USER_POSTPONE
        );
        assert_eq!(state_gate("installed"), GATE_STATE);
        assert_eq!(state_gate("rejected") & GATE_ERROR, GATE_ERROR);
    }

    #[test]
    fn a_trigger_report_names_the_mo_task() {
        let cfg = MoConfig::default();
        let report = Report {
            id: 7,
            report_id: "00ff".into(),
            created: "2026-12-01T12:00:05Z".parse().unwrap(),
            firing: firing(Outcome::Ran, None),
        };
        let r = report_mapped(&cfg, &report, Some(("T", "G2")));
        assert_eq!(r.source, "./Scheduling/Schedules/S/Tasks/T");
        assert!(
            r.data.contains("<Task>T</Task><Trigger>G2</Trigger>"),
            "{}",
            r.data
        );
        let plain = report_of(&cfg, &report);
        assert_eq!(plain.source, "./Scheduling/Schedules/S/Tasks/T.G2");
    }

    /// Report identity: every report's Data begins with its id and
    /// creation time, which [`identity_in`] reads back; state reports get
    /// a new id each.
    #[test]
    fn every_report_begins_with_its_id_and_creation_time() {
        let cfg = MoConfig::default();
        let at: Timestamp = "2026-12-01T12:00:05Z".parse().unwrap();
        let report = Report {
            id: 7,
            report_id: "00ff".into(),
            created: at,
            firing: firing(Outcome::Ran, None),
        };
        let r = report_of(&cfg, &report);
        assert!(
            r.data.starts_with(
                "<Result><ReportID>00ff</ReportID><Created>2026-12-01T12:00:05Z</Created><Schedule>"
            ),
            "{}",
            r.data
        );
        assert_eq!(identity_in(&r.data), Some(("00ff".to_string(), at)));
        let a = state_report(&cfg, "srv", "S", "installed", None, at);
        let b = state_report(&cfg, "srv", "S", "installed", None, at);
        assert_ne!(a.report_id, b.report_id);
        assert_eq!(a.report_id.len(), 32);
        assert!(a.report_id.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(identity_in(&a.data), Some((a.report_id.clone(), at)));
        let names = [
            "A/T#1 failed, report cd".to_string(),
            "a<b/T#2 ran, report ef".into(),
        ];
        let e = eviction_report(&cfg, "srv", (3, &names), "ab", at);
        assert_eq!(identity_in(&e.data), Some(("ab".to_string(), at)));
        assert!(
            e.data.ends_with(
                "<Dropped>A/T#1 failed, report cd</Dropped><Dropped>a&lt;b/T#2 ran, report ef</Dropped></State>"
            ),
            "{}",
            e.data
        );
        assert_eq!(identity_in("<State><Event>x</Event></State>"), None);
    }
}
