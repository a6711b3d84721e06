//! Reports of the Scheduling MO as Generic Alert 1226 contents (facts §2):
//! Source = the task's MO URI, Meta Type configurable, Format xml, Mark by
//! outcome, Data an XML description of the occurrence.

use super::MoConfig;
use super::handler::xml_escape;
use crate::model::{Firing, Outcome};

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
    /// Data (Meta Format `xml`).
    pub data: String,
}

fn outcome_name(o: Outcome) -> String {
    serde_json::to_value(o)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// The Generic Alert contents of outbox report `id` for `firing`.
pub fn report_of(cfg: &MoConfig, id: i64, f: &Firing) -> MoReport {
    let mark = match f.outcome {
        Outcome::Ran => "informational",
        Outcome::Failed => "critical",
        Outcome::Interrupted => "minor",
        _ => "warning",
    };
    let mut d = String::with_capacity(256);
    d.push_str("<Result>");
    d.push_str(&format!("<Schedule>{}</Schedule>", xml_escape(&f.schedule)));
    d.push_str(&format!("<Task>{}</Task>", xml_escape(&f.task)));
    d.push_str(&format!("<Seq>{}</Seq>", f.seq));
    d.push_str(&format!("<Due>{}</Due>", f.due));
    if let Some(t) = f.run_at {
        d.push_str(&format!("<RunAt>{t}</RunAt>"));
    }
    d.push_str(&format!("<Outcome>{}</Outcome>", outcome_name(f.outcome)));
    if let Some(r) = &f.reason {
        d.push_str(&format!("<Reason>{}</Reason>", xml_escape(r)));
    }
    d.push_str(&format!("<Attempts>{}</Attempts>", f.attempts));
    for r in &f.results {
        d.push_str(&format!(
            "<Cmd op=\"{}\" target=\"{}\" status=\"{}\"",
            r.op.as_str(),
            xml_escape(&r.target).replace('"', "&quot;"),
            r.status
        ));
        match &r.data {
            Some(data) => d.push_str(&format!(">{}</Cmd>", xml_escape(data))),
            None => d.push_str("/>"),
        }
    }
    d.push_str("</Result>");
    MoReport {
        id: Some(id),
        owner: f.owner.clone(),
        source: format!("{}/Schedules/{}/Tasks/{}", cfg.root, f.schedule, f.task),
        type_: cfg.report_type.clone(),
        mark: mark.into(),
        data: d,
    }
}
