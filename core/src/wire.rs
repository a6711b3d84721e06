//! The records the bindings hand to hosts, defined once: the C ABI and the
//! JNI bridge send them as JSON (these serde shapes, snake_case, byte for
//! byte the same on both), and the UniFFI binding exposes the same structs
//! as Kotlin/Swift records (`#[uniffi::remote]` declarations the compiler
//! checks against these). Built from the core's types in exactly one place
//! each; instants are Unix milliseconds, as everywhere in the bindings;
//! numbers are signed (`i32`, `i64`), so Kotlin and Java see `Int` and
//! `Long`, never unsigned types.

use serde::Serialize;

/// Counts and codes are signed in the records (Java and Kotlin hosts have
/// no unsigned types); a count beyond `i32::MAX` saturates.
fn saturate(n: impl TryInto<i32>) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
}

use crate::dm::client::AcceptedNotification;
use crate::dm::notification::{Initiator, UiMode};
use crate::dm::session::{self, Summary};
use crate::mo;

/// What a verified package #0 asked for (`accept_notification`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotificationInfo {
    /// The server that sent it.
    pub server_id: String,
    /// The session id the server expects (0–65535).
    pub session_id: i32,
    /// Its user-interaction mode.
    pub ui_mode: UiMode,
    /// Who initiated.
    pub initiator: Initiator,
    /// The DM version (12 for 1.2).
    pub version: i32,
    /// Vendor-specific bytes.
    pub vendor: Vec<u8>,
    /// The digest verified only with the server's resync nonce.
    pub used_resync_nonce: bool,
}

impl From<&AcceptedNotification> for NotificationInfo {
    fn from(a: &AcceptedNotification) -> Self {
        let n = a.notification();
        NotificationInfo {
            server_id: n.server_id.clone(),
            session_id: i32::from(n.session_id),
            ui_mode: n.ui_mode,
            initiator: n.initiator,
            version: i32::from(n.version),
            vendor: n.vendor.clone(),
            used_resync_nonce: a.used_resync_nonce(),
        }
    }
}

/// One server command the device answered in a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommandStatus {
    /// The command (`Add`, `Get`, …).
    pub command: String,
    /// The DM status the device answered.
    pub code: i32,
}

/// How a DM session went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessionSummary {
    /// The server.
    pub server_id: String,
    /// Messages sent.
    pub sent: i32,
    /// Messages received.
    pub received: i32,
    /// Every server command answered, in order.
    pub statuses: Vec<CommandStatus>,
    /// Reports (Generic Alerts) the server acknowledged.
    pub alerts_delivered: i32,
    /// The server aborted the session (Alert 1223).
    pub aborted: bool,
    /// The package #0 that started it, if any.
    pub notification: Option<NotificationInfo>,
}

impl SessionSummary {
    /// The summary of a session with `server_id`, started by `notification`.
    pub fn new(
        server_id: &str,
        s: &Summary,
        notification: Option<&AcceptedNotification>,
    ) -> SessionSummary {
        SessionSummary {
            server_id: server_id.to_string(),
            sent: saturate(s.sent),
            received: saturate(s.received),
            statuses: s
                .statuses
                .iter()
                .map(|(command, code)| CommandStatus {
                    command: command.clone(),
                    code: i32::from(*code),
                })
                .collect(),
            alerts_delivered: saturate(s.alerts_delivered.len()),
            aborted: s.aborted,
            notification: notification.map(NotificationInfo::from),
        }
    }
}

/// A report waiting for its server (a Generic Alert 1226 when sent).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MoReport {
    /// The engine outbox id (`None` for a state report).
    pub id: Option<i64>,
    /// The server it is for.
    pub owner: String,
    /// Item Source LocURI: the task (result) or schedule (state) node.
    pub source: String,
    /// Meta Type.
    pub meta_type: String,
    /// Meta Mark.
    pub mark: String,
    /// Data (Meta Format `xml`), beginning with `<ReportID>` and `<Created>`.
    pub data: String,
    /// The stable identifier: the same on every delivery of this report.
    pub report_id: String,
    /// When it was created (Unix ms, UTC).
    pub created_ms: i64,
    /// For the eviction report: how many reports the full queue dropped.
    pub evicted: i64,
}

impl From<&mo::MoReport> for MoReport {
    fn from(r: &mo::MoReport) -> Self {
        MoReport {
            id: r.id,
            owner: r.owner.clone(),
            source: r.source.clone(),
            meta_type: r.type_.clone(),
            mark: r.mark.clone(),
            data: r.data.clone(),
            report_id: r.report_id.clone(),
            created_ms: r.created.as_millisecond(),
            evicted: i64::try_from(r.evicted).unwrap_or(i64::MAX),
        }
    }
}

/// One server's report delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// The server.
    pub server_id: String,
    /// Reports the server acknowledged.
    pub delivered: i32,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// When the next attempt is due (Unix ms), if it failed.
    pub retry_at_ms: Option<i64>,
    /// Failed attempts in a row so far.
    pub attempts: i32,
}

#[cfg(feature = "http")]
impl From<&crate::agent::Delivery> for Delivery {
    fn from(d: &crate::agent::Delivery) -> Self {
        Delivery {
            server_id: d.server_id.clone(),
            delivered: saturate(d.delivered),
            error: d.error.clone(),
            retry_at_ms: d.retry_at.map(|t| t.as_millisecond()),
            attempts: saturate(d.attempts),
        }
    }
}

/// What a user-interaction request asks for (JSON: `{"type": "display"}`,
/// `{"type": "text_input", "max_len", "input_type", "echo"}`,
/// `{"type": "single_choice", "choices"}` …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UiKind {
    /// 1100: show the text.
    Display,
    /// 1101: yes or no.
    Confirm,
    /// 1102: text entry.
    TextInput {
        /// `MAXLEN`.
        max_len: Option<i32>,
        /// `IT`: A alphanumeric, N numeric, D date, T time, P phone, I IP.
        input_type: Option<String>,
        /// `ET`: T text, P password.
        echo: Option<String>,
    },
    /// 1103: one of the choices.
    SingleChoice {
        /// The choices, numbered from 1.
        choices: Vec<String>,
    },
    /// 1104: any of the choices.
    MultipleChoice {
        /// The choices, numbered from 1.
        choices: Vec<String>,
    },
}

/// A server's user-interaction request (Alert 1100–1104, or a package #0
/// notice or question).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UiRequest {
    /// The server that asks.
    pub server_id: String,
    /// The alert code, 1100–1104.
    pub code: i32,
    /// What to ask.
    pub kind: UiKind,
    /// The text to show.
    pub text: String,
    /// `MINDT`: show at least this many seconds.
    pub min_display_secs: Option<i32>,
    /// `MAXDT`: give up after this many seconds.
    pub max_display_secs: Option<i32>,
    /// `DR`: the default response.
    pub default_response: Option<String>,
}

impl From<&session::UiRequest> for UiRequest {
    fn from(r: &session::UiRequest) -> Self {
        let letter = |c: Option<char>| c.map(String::from);
        let (code, kind): (i32, UiKind) = match &r.kind {
            session::UiKind::Display => (1100, UiKind::Display),
            session::UiKind::Confirm => (1101, UiKind::Confirm),
            session::UiKind::TextInput {
                max_len,
                input_type,
                echo,
            } => (
                1102,
                UiKind::TextInput {
                    max_len: max_len.map(saturate),
                    input_type: letter(*input_type),
                    echo: letter(*echo),
                },
            ),
            session::UiKind::SingleChoice { choices } => (
                1103,
                UiKind::SingleChoice {
                    choices: choices.clone(),
                },
            ),
            session::UiKind::MultipleChoice { choices } => (
                1104,
                UiKind::MultipleChoice {
                    choices: choices.clone(),
                },
            ),
        };
        UiRequest {
            server_id: r.server_id.clone(),
            code,
            kind,
            text: r.text.clone(),
            min_display_secs: r.min_display_secs.map(saturate),
            max_display_secs: r.max_display_secs.map(saturate),
            default_response: r.default_response.clone(),
        }
    }
}

/// A run's context as the C and JNI callbacks get it (`context_json` of
/// `execute` and `confirm`): instants as RFC 3339 text, keys in this order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunContext<'a> {
    /// Attempt (0 = first try).
    pub attempt: u32,
    /// When the occurrence was due.
    pub due: String,
    /// Now.
    pub now: String,
    /// The owner, with whose rights the actions run.
    pub owner: &'a str,
    /// The run's id, for `complete` (0 outside a run).
    pub run_id: i64,
    /// Schedule id.
    pub schedule: &'a str,
    /// Occurrence number.
    pub seq: u64,
    /// Task id.
    pub task: &'a str,
}

impl<'a> From<&'a crate::RunContext> for RunContext<'a> {
    fn from(c: &'a crate::RunContext) -> Self {
        RunContext {
            attempt: c.attempt,
            due: c.due.to_string(),
            now: c.now.to_string(),
            owner: &c.owner,
            run_id: c.run_id,
            schedule: &c.schedule,
            seq: c.seq,
            task: &c.task,
        }
    }
}

impl RunContext<'_> {
    /// The JSON text the callbacks get.
    pub fn json(ctx: &crate::RunContext) -> String {
        serde_json::to_string(&RunContext::from(ctx)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dm::notification::Notification;

    /// Issue 15: the wire shapes are pinned (C and JNI send exactly these
    /// bytes; a change here is a change of the documented JSON).
    #[test]
    fn the_wire_shapes_are_pinned() {
        let n = AcceptedNotification::for_test(
            Notification {
                version: 12,
                ui_mode: UiMode::UserInteraction,
                initiator: Initiator::Server,
                session_id: 7,
                server_id: "srv".into(),
                vendor: vec![],
            },
            false,
        );
        let s = Summary {
            sent: 2,
            received: 2,
            statuses: vec![("Add".into(), 200)],
            alerts_delivered: vec![0],
            aborted: false,
        };
        assert_eq!(
            serde_json::to_string(&SessionSummary::new("srv", &s, Some(&n))).unwrap(),
            r#"{"server_id":"srv","sent":2,"received":2,"statuses":[{"command":"Add","code":200}],"alerts_delivered":1,"aborted":false,"notification":{"server_id":"srv","session_id":7,"ui_mode":"user_interaction","initiator":"server","version":12,"vendor":[],"used_resync_nonce":false}}"#
        );
        let r = session::UiRequest {
            server_id: "srv".into(),
            kind: session::UiKind::TextInput {
                max_len: Some(8),
                input_type: Some('N'),
                echo: None,
            },
            text: "PIN?".into(),
            min_display_secs: None,
            max_display_secs: Some(30),
            default_response: None,
        };
        assert_eq!(
            serde_json::to_string(&UiRequest::from(&r)).unwrap(),
            r#"{"server_id":"srv","code":1102,"kind":{"type":"text_input","max_len":8,"input_type":"N","echo":null},"text":"PIN?","min_display_secs":null,"max_display_secs":30,"default_response":null}"#
        );
    }

    #[test]
    fn the_run_context_shape_is_pinned() {
        let ctx = crate::RunContext {
            owner: "srv".into(),
            schedule: "s".into(),
            task: "t".into(),
            seq: 3,
            attempt: 1,
            due: jiff::Timestamp::from_second(60).unwrap(),
            now: jiff::Timestamp::from_second(61).unwrap(),
            run_id: 9,
        };
        assert_eq!(
            RunContext::json(&ctx),
            r#"{"attempt":1,"due":"1970-01-01T00:01:00Z","now":"1970-01-01T00:01:01Z","owner":"srv","run_id":9,"schedule":"s","seq":3,"task":"t"}"#
        );
    }
}
