//! The node structure of one schedule `<S>` (facts §1, `docs/scheduling-mo.md`):
//! the stored nodes, which paths exist and what they are.
//!
//! Paths are relative to `<S>` (`Tasks/T1/Triggers/G1/Time/Base`).

use std::collections::BTreeMap;

use crate::tree::{Format, TreeError};

/// A stored node of a schedule below `<S>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    /// An interior node.
    Interior,
    /// A leaf with its format, Type and value.
    Leaf {
        format: Format,
        mime: Option<String>,
        data: Vec<u8>,
    },
}

impl Node {
    /// The value as text (leaves are UTF-8, checked when stored).
    pub fn text(&self) -> Option<&str> {
        match self {
            Node::Interior => None,
            Node::Leaf { data, .. } => std::str::from_utf8(data).ok(),
        }
    }

    /// A `chr` leaf (Type `text/plain`).
    pub fn chr(text: impl Into<String>) -> Node {
        Node::Leaf {
            format: Format::Chr,
            mime: Some("text/plain".into()),
            data: text.into().into_bytes(),
        }
    }

    /// A leaf of `leaf`'s format and default Type holding `text`.
    pub fn of(leaf: Leaf, text: impl Into<String>) -> Node {
        Node::Leaf {
            format: leaf.format(),
            mime: Some(leaf.mimes()[0].into()),
            data: text.into().into_bytes(),
        }
    }
}

/// The stored nodes of one schedule, by path below `<S>`.
pub(crate) type Nodes = BTreeMap<String, Node>;

/// The text of the leaf at `path`, if there is one.
pub(crate) fn text_at<'n>(nodes: &'n Nodes, path: &str) -> Option<&'n str> {
    nodes.get(path).and_then(Node::text)
}

/// The names of the direct children of `path` among `nodes` (`""` = `<S>`).
pub(crate) fn child_names(nodes: &Nodes, path: &str) -> Vec<String> {
    let prefix = if path.is_empty() {
        String::new()
    } else {
        format!("{path}/")
    };
    let mut out = std::collections::BTreeSet::new();
    for k in nodes.range(prefix.clone()..) {
        let Some(rest) = k.0.strip_prefix(&prefix) else {
            break;
        };
        let name = rest.split('/').next().unwrap_or(rest);
        if !name.is_empty() {
            out.insert(name.to_string());
        }
    }
    out.into_iter().collect()
}

/// A leaf the server may write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Leaf {
    Name,
    Description,
    /// dmsched extension: zone of the daily windows of `Constraints`.
    Tz,
    ValidFrom,
    ValidTo,
    UiMode,
    UiText,
    Gating,
    /// dmsched extension: `next_session` or `immediate` for every task.
    Delivery,
    Cmds,
    Constraints,
    Policy,
    /// dmsched extension: the task's `termination` object.
    Termination,
    Base,
    RRule,
    TimeTz,
    EventId,
    EventFilter,
    TvUri,
    TvOp,
    TvValue,
    TvInterval,
    /// dmsched extension: a condition in the condition language.
    Condition,
    /// dmsched extension: a becomes_true trigger re-arms when this holds.
    RearmWhen,
    /// dmsched extension: seconds a becomes_true condition must hold.
    ForSeconds,
    /// Task chaining: the task (of the schedule) this one follows.
    DependsOn,
    /// dmsched extension: the outcomes of that task that start this one.
    DependsOnOutcome,
    /// dmsched extension: what the user may adjust (`{"params": [...]}`).
    Personalize,
}

impl Leaf {
    /// The node's Format.
    pub fn format(self) -> Format {
        match self {
            Leaf::UiMode | Leaf::Gating | Leaf::TvInterval | Leaf::ForSeconds => Format::Int,
            Leaf::Cmds => Format::Xml,
            _ => Format::Chr,
        }
    }

    /// Accepted Meta Types (the first is the one shown).
    pub fn mimes(self) -> &'static [&'static str] {
        match self {
            Leaf::Cmds => &["text/plain", "application/xml", "text/xml"],
            Leaf::Constraints | Leaf::Policy | Leaf::Termination | Leaf::Personalize => {
                &["application/json", "text/plain"]
            }
            _ => &["text/plain"],
        }
    }
}

/// What a path below `<S>` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `<S>` itself.
    Schedule,
    /// A structural interior node the server adds (`Tasks/<T>`, `Valid` …).
    Interior,
    /// A writable leaf.
    Leaf(Leaf),
    /// `ServerID`, `State`, the task diagnostics: Get only.
    ReadOnly,
    /// The JSON form of the whole schedule (Get, Replace = modify).
    Document,
    /// `Operations`.
    Operations,
    /// `Operations/Activate`, `Operations/Suspend`.
    Exec,
    /// Not a node of the MO (405).
    Unknown,
}

/// The read-only diagnostics of a task.
pub(crate) const TASK_DIAGNOSTICS: &[&str] = &[
    "History",
    "LastOutcome",
    "LastResult",
    "LastRun",
    "NextRun",
    "Runs",
    "Waiting",
];

/// Classifies `rel`, the segments below `<S>`.
pub(crate) fn classify(rel: &[&str]) -> Kind {
    use Kind::*;
    match rel {
        [] => Schedule,
        ["ServerID" | "State"] => ReadOnly,
        ["Document"] => Document,
        ["Name"] => Leaf(self::Leaf::Name),
        ["Description"] => Leaf(self::Leaf::Description),
        ["TZ"] => Leaf(self::Leaf::Tz),
        ["Personalize"] => Leaf(self::Leaf::Personalize),
        ["Choices"] => ReadOnly,
        ["Valid" | "UI" | "Report" | "Tasks"] => Interior,
        ["Valid", "From"] => Leaf(self::Leaf::ValidFrom),
        ["Valid", "To"] => Leaf(self::Leaf::ValidTo),
        ["UI", "Mode"] => Leaf(self::Leaf::UiMode),
        ["UI", "Text"] => Leaf(self::Leaf::UiText),
        ["Report", "Gating"] => Leaf(self::Leaf::Gating),
        ["Report", "Delivery"] => Leaf(self::Leaf::Delivery),
        ["Operations"] => Operations,
        ["Operations", "Activate" | "Suspend"] => Exec,
        ["Tasks", _] => Interior,
        ["Tasks", _, "Cmds"] => Leaf(self::Leaf::Cmds),
        ["Tasks", _, "Constraints"] => Leaf(self::Leaf::Constraints),
        ["Tasks", _, "Policy"] => Leaf(self::Leaf::Policy),
        ["Tasks", _, "Termination"] => Leaf(self::Leaf::Termination),
        ["Tasks", _, "DependsOn"] => Leaf(self::Leaf::DependsOn),
        ["Tasks", _, "DependsOnOutcome"] => Leaf(self::Leaf::DependsOnOutcome),
        ["Tasks", _, d] if TASK_DIAGNOSTICS.contains(d) => ReadOnly,
        ["Tasks", _, "Triggers"] | ["Tasks", _, "Triggers", _] => Interior,
        ["Tasks", _, "Triggers", _, "Time" | "Event" | "TreeValue"] => Interior,
        ["Tasks", _, "Triggers", _, "Condition"] => Leaf(self::Leaf::Condition),
        ["Tasks", _, "Triggers", _, "RearmWhen"] => Leaf(self::Leaf::RearmWhen),
        ["Tasks", _, "Triggers", _, "ForSeconds"] => Leaf(self::Leaf::ForSeconds),
        ["Tasks", _, "Triggers", _, "Time", leaf] => match *leaf {
            "Base" => Leaf(self::Leaf::Base),
            "RRule" => Leaf(self::Leaf::RRule),
            "TZ" => Leaf(self::Leaf::TimeTz),
            _ => Unknown,
        },
        ["Tasks", _, "Triggers", _, "Event", leaf] => match *leaf {
            "ID" => Leaf(self::Leaf::EventId),
            "Filter" => Leaf(self::Leaf::EventFilter),
            _ => Unknown,
        },
        ["Tasks", _, "Triggers", _, "TreeValue", leaf] => match *leaf {
            "URI" => Leaf(self::Leaf::TvUri),
            "Op" => Leaf(self::Leaf::TvOp),
            "Value" => Leaf(self::Leaf::TvValue),
            "Interval" => Leaf(self::Leaf::TvInterval),
            _ => Unknown,
        },
        _ => Unknown,
    }
}

pub(crate) fn status(code: u16, msg: impl Into<String>) -> TreeError {
    TreeError::with_status(code, msg.into())
}

/// The same error (same status) with `ctx` in front of its message.
pub(crate) fn with_context(e: TreeError, ctx: &str) -> TreeError {
    let code = e.status();
    let msg = match &e {
        TreeError::BadRequest(m)
        | TreeError::Forbidden(m)
        | TreeError::NotFound(m)
        | TreeError::NotAllowed(m)
        | TreeError::NotSupported(m)
        | TreeError::TooLarge(m)
        | TreeError::UriTooLong(m)
        | TreeError::UnsupportedFormat(m)
        | TreeError::AlreadyExists(m)
        | TreeError::PermissionDenied(m)
        | TreeError::Failed(m)
        | TreeError::Status { message: m, .. } => m.clone(),
        other => other.to_string(),
    };
    status(code, format!("{ctx}: {msg}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_classify_by_the_design_table() {
        assert_eq!(classify(&[]), Kind::Schedule);
        assert_eq!(classify(&["ServerID"]), Kind::ReadOnly);
        assert_eq!(
            classify(&["Tasks", "T", "Triggers", "G", "Time", "RRule"]),
            Kind::Leaf(Leaf::RRule)
        );
        assert_eq!(classify(&["Tasks", "T", "NextRun"]), Kind::ReadOnly);
        assert_eq!(
            classify(&["Tasks", "T", "DependsOn"]),
            Kind::Leaf(Leaf::DependsOn)
        );
        assert_eq!(classify(&["Bogus"]), Kind::Unknown);
        assert_eq!(
            classify(&["Tasks", "T", "Triggers", "G", "Time", "X"]),
            Kind::Unknown
        );
    }

    #[test]
    fn child_names_are_direct_children_once() {
        let mut n = Nodes::new();
        n.insert("Tasks".into(), Node::Interior);
        n.insert("Tasks/A".into(), Node::Interior);
        n.insert("Tasks/A/Cmds".into(), Node::chr("x"));
        n.insert("Tasks/B".into(), Node::Interior);
        n.insert("Name".into(), Node::chr("n"));
        assert_eq!(child_names(&n, ""), ["Name", "Tasks"]);
        assert_eq!(child_names(&n, "Tasks"), ["A", "B"]);
        assert_eq!(child_names(&n, "Tasks/A"), ["Cmds"]);
    }
}
