//! Records and enums of full-client mode (the DM client), converted from
//! the core's types in exactly one place each. They also derive serde: the
//! JNI bridge sends the same shapes as JSON (snake_case field names).

use dmsched_core::agent;
use dmsched_core::dm::client::AcceptedNotification;
use dmsched_core::dm::notification::{self, Notification};
use dmsched_core::dm::session::{self as session, UiKind as CoreKind};
use dmsched_core::mo;
use dmsched_core::tree::DeviceInfo;
use serde::{Deserialize, Serialize};

/// The device facts published in `./DevInfo` and `./DevDetail`.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceFacts {
    /// `DevInfo/DevId`: the unique device id (e.g. `IMEI:…`); also the
    /// engine's device id (jitter seed).
    pub dev_id: String,
    /// `DevInfo/Man`: manufacturer.
    #[uniffi(default = "")]
    pub man: String,
    /// `DevInfo/Mod`: model.
    #[uniffi(default = "")]
    pub model: String,
    /// `DevInfo/Lang`: current language (e.g. `en-US`).
    #[uniffi(default = "")]
    pub lang: String,
    /// `DevDetail/DevTyp`: device type (`phone`, `smartphone` …).
    #[uniffi(default = "")]
    pub dev_typ: String,
    /// `DevDetail/OEM`.
    #[uniffi(default = "")]
    pub oem: String,
    /// `DevDetail/FwV`: firmware version.
    #[uniffi(default = "")]
    pub fw_v: String,
    /// `DevDetail/SwV`: software version.
    #[uniffi(default = "")]
    pub sw_v: String,
    /// `DevDetail/HwV`: hardware version.
    #[uniffi(default = "")]
    pub hw_v: String,
    /// `DevDetail/LrgObj`: large-object support.
    #[uniffi(default = false)]
    pub lrg_obj: bool,
}

impl From<DeviceFacts> for DeviceInfo {
    fn from(d: DeviceFacts) -> Self {
        DeviceInfo {
            dev_id: d.dev_id,
            man: d.man,
            model: d.model,
            lang: d.lang,
            dev_typ: d.dev_typ,
            oem: d.oem,
            fw_v: d.fw_v,
            sw_v: d.sw_v,
            hw_v: d.hw_v,
            lrg_obj: d.lrg_obj,
        }
    }
}

/// The user interaction a package #0 asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UiMode {
    /// 0: not specified; the device decides.
    NotSpecified,
    /// 1: start in the background.
    Background,
    /// 2: tell the user, then start (`UserInteraction` gets a Display).
    Informative,
    /// 3: ask the user first (`UserInteraction` gets a Confirm; without
    /// one, or on anything but Yes, the session does not start).
    UserInteraction,
}

impl From<notification::UiMode> for UiMode {
    fn from(m: notification::UiMode) -> Self {
        match m {
            notification::UiMode::NotSpecified => UiMode::NotSpecified,
            notification::UiMode::Background => UiMode::Background,
            notification::UiMode::Informative => UiMode::Informative,
            notification::UiMode::UserInteraction => UiMode::UserInteraction,
        }
    }
}

impl From<UiMode> for notification::UiMode {
    fn from(m: UiMode) -> Self {
        match m {
            UiMode::NotSpecified => notification::UiMode::NotSpecified,
            UiMode::Background => notification::UiMode::Background,
            UiMode::Informative => notification::UiMode::Informative,
            UiMode::UserInteraction => notification::UiMode::UserInteraction,
        }
    }
}

/// Who asked for the session, as a package #0 says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Initiator {
    /// 0: client-initiated.
    Client,
    /// 1: server-initiated (what a package #0 normally says).
    Server,
}

impl From<notification::Initiator> for Initiator {
    fn from(i: notification::Initiator) -> Self {
        match i {
            notification::Initiator::Client => Initiator::Client,
            notification::Initiator::Server => Initiator::Server,
        }
    }
}

impl From<Initiator> for notification::Initiator {
    fn from(i: Initiator) -> Self {
        match i {
            Initiator::Client => notification::Initiator::Client,
            Initiator::Server => notification::Initiator::Server,
        }
    }
}

/// A package #0 that passed every check (well-formed, authentic, not a
/// replay). Hand it to `runSession` to start the session it asks for.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record, Serialize, Deserialize)]
pub struct NotificationInfo {
    /// The requesting server (its DMAcc `ServerID`): the session to run.
    pub server_id: String,
    /// The session id package #1 must use.
    pub session_id: u16,
    /// The user interaction the server asks for.
    pub ui_mode: UiMode,
    /// Who initiated it.
    pub initiator: Initiator,
    /// Protocol version ×10 (11 or 12).
    pub version: u16,
    /// Vendor-specific data after the server id (may be empty).
    pub vendor: Vec<u8>,
    /// Only the resync nonce matched: the session gives the server a fresh one.
    pub used_resync_nonce: bool,
}

impl From<AcceptedNotification> for NotificationInfo {
    fn from(a: AcceptedNotification) -> Self {
        let n = a.notification;
        NotificationInfo {
            server_id: n.server_id,
            session_id: n.session_id,
            ui_mode: n.ui_mode.into(),
            initiator: n.initiator.into(),
            version: n.version,
            vendor: n.vendor,
            used_resync_nonce: a.used_resync_nonce,
        }
    }
}

impl From<NotificationInfo> for AcceptedNotification {
    fn from(n: NotificationInfo) -> Self {
        AcceptedNotification {
            notification: Notification {
                version: n.version,
                ui_mode: n.ui_mode.into(),
                initiator: n.initiator.into(),
                session_id: n.session_id,
                server_id: n.server_id,
                vendor: n.vendor,
            },
            used_resync_nonce: n.used_resync_nonce,
        }
    }
}

/// The status the device answered one server command with.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record, Serialize, Deserialize)]
pub struct CommandStatus {
    /// The command (`Add`, `Get`, `Exec`, `Alert` …).
    pub command: String,
    /// The DM status code (200, 404, 418 …).
    pub code: u16,
}

/// What happened in a DM session.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record, Serialize, Deserialize)]
pub struct SessionSummary {
    /// Messages sent.
    pub sent: u32,
    /// Messages received.
    pub received: u32,
    /// Every server command answered, in order.
    pub statuses: Vec<CommandStatus>,
    /// How many of the alerts that went with the session (queued alerts and
    /// Scheduling reports) the server acknowledged; they are not sent again.
    pub alerts_delivered: u32,
    /// The server aborted the session (Alert 1223).
    pub aborted: bool,
}

impl From<session::Summary> for SessionSummary {
    fn from(s: session::Summary) -> Self {
        SessionSummary {
            sent: s.sent,
            received: s.received,
            statuses: s
                .statuses
                .into_iter()
                .map(|(command, code)| CommandStatus { command, code })
                .collect(),
            alerts_delivered: u32::try_from(s.alerts_delivered.len()).unwrap_or(u32::MAX),
            aborted: s.aborted,
        }
    }
}

/// A Scheduling MO report waiting for its server: the contents of the
/// Generic Alert 1226 that goes with the next session.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record, Serialize, Deserialize)]
pub struct MoReport {
    /// Engine outbox id; null for state reports.
    pub id: Option<i64>,
    /// The server it is for.
    pub owner: String,
    /// Item Source LocURI: the task (result) or schedule (state) node.
    pub source: String,
    /// Meta Type (`org.dmsched.scheduling.result` by default).
    pub meta_type: String,
    /// Meta Mark (`informational`, `warning`, `minor`, `critical`).
    pub mark: String,
    /// Data: an XML description of the occurrence, beginning with
    /// `<ReportID>` and `<Created>`.
    pub data: String,
    /// Stable identifier of the report (32 hex digits, also in Data): the
    /// same on every delivery, different for every report.
    pub report_id: String,
    /// When the report was created (Unix ms, UTC; also in Data).
    pub created_ms: i64,
    /// 0, except in the report telling the server how many of its reports
    /// the full queue dropped (Event `reports-evicted`): that count.
    pub evicted: u64,
}

impl From<mo::MoReport> for MoReport {
    fn from(r: mo::MoReport) -> Self {
        MoReport {
            id: r.id,
            owner: r.owner,
            source: r.source,
            meta_type: r.type_,
            mark: r.mark,
            data: r.data,
            report_id: r.report_id,
            created_ms: r.created.as_millisecond(),
            evicted: r.evicted,
        }
    }
}

/// Where the Scheduling MO lives and how it names itself; each null keeps
/// the library's default.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MoSettings {
    /// The MO root (`./Scheduling`).
    #[uniffi(default = None)]
    pub root: Option<String>,
    /// The MO identifier, the DDF type of the root (`org.dmsched/1.0/Scheduling`).
    #[uniffi(default = None)]
    pub mo_type: Option<String>,
    /// Meta Type of result reports (`org.dmsched.scheduling.result`).
    #[uniffi(default = None)]
    pub report_type: Option<String>,
    /// Meta Type of state reports (`org.dmsched.scheduling.state`).
    #[uniffi(default = None)]
    pub state_type: Option<String>,
    /// ACL of the root: which servers may use the MO at all
    /// (`Add=*&Delete=*&Exec=*&Get=*&Replace=*`).
    #[uniffi(default = None)]
    pub root_acl: Option<String>,
}

impl MoSettings {
    /// `base` with the values given here.
    pub(crate) fn apply(self, base: mo::MoConfig) -> mo::MoConfig {
        mo::MoConfig {
            root: self.root.unwrap_or(base.root),
            mo_type: self.mo_type.unwrap_or(base.mo_type),
            report_type: self.report_type.unwrap_or(base.report_type),
            state_type: self.state_type.unwrap_or(base.state_type),
            root_acl: self.root_acl.unwrap_or(base.root_acl),
        }
    }
}

/// How `deliverReports` retries a server it could not reach: after
/// `firstSeconds`, then twice as long each time, at most `maxSeconds` apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRetry {
    /// The first retry's delay.
    pub first_seconds: u64,
    /// The longest delay.
    pub max_seconds: u64,
}

impl From<ReportRetry> for agent::ReportRetry {
    fn from(r: ReportRetry) -> Self {
        agent::ReportRetry {
            first_seconds: r.first_seconds,
            max_seconds: r.max_seconds,
        }
    }
}

/// One attempt of `deliverReports` to reach a server.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record, Serialize, Deserialize)]
pub struct Delivery {
    /// The server.
    pub server_id: String,
    /// Reports (alerts) the server acknowledged in the session.
    pub delivered: u32,
    /// Why it failed (the session failed, or reports stayed
    /// unacknowledged); null on success.
    pub error: Option<String>,
    /// When the next attempt is due (Unix ms), if it failed.
    pub retry_at_ms: Option<i64>,
    /// Failed attempts in a row so far (0 after a success).
    pub attempts: u32,
}

impl From<agent::Delivery> for Delivery {
    fn from(d: agent::Delivery) -> Self {
        Delivery {
            server_id: d.server_id,
            delivered: u32::try_from(d.delivered).unwrap_or(u32::MAX),
            error: d.error,
            retry_at_ms: d.retry_at.map(|t| t.as_millisecond()),
            attempts: d.attempts,
        }
    }
}

/// What a user-interaction alert asks for.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UiKind {
    /// 1100: show a text (answer `Yes` once shown).
    Display,
    /// 1101: ask yes or no.
    Confirm,
    /// 1102: ask for a text.
    TextInput {
        /// `MAXLEN`: longest answer.
        max_len: Option<u32>,
        /// `IT`: input type (`A` alphanumeric, `N` numeric, `D` date,
        /// `T` time, `P` phone number, `I` IP address).
        input_type: Option<String>,
        /// `ET`: echo type (`T` text, `P` password).
        echo: Option<String>,
    },
    /// 1103: choose one (answer `Choices` with one number, from 1).
    SingleChoice {
        /// The choices, in order.
        choices: Vec<String>,
    },
    /// 1104: choose any (answer `Choices`, numbers from 1).
    MultipleChoice {
        /// The choices, in order.
        choices: Vec<String>,
    },
}

/// One user-interaction alert (1100–1104) from a server in a session.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record, Serialize, Deserialize)]
pub struct UiRequest {
    /// The server that asks.
    pub server_id: String,
    /// What it asks for.
    pub kind: UiKind,
    /// The text to show.
    pub text: String,
    /// `MINDT`: show at least this many seconds.
    pub min_display_secs: Option<u32>,
    /// `MAXDT`: give up after this many seconds (answer `Timeout`).
    pub max_display_secs: Option<u32>,
    /// `DR`: the default response (text, or choice numbers such as `1-3,6`).
    pub default_response: Option<String>,
}

fn letter(c: Option<char>) -> Option<String> {
    c.map(String::from)
}

impl From<&session::UiRequest> for UiRequest {
    fn from(r: &session::UiRequest) -> Self {
        let kind = match &r.kind {
            CoreKind::Display => UiKind::Display,
            CoreKind::Confirm => UiKind::Confirm,
            CoreKind::TextInput {
                max_len,
                input_type,
                echo,
            } => UiKind::TextInput {
                max_len: *max_len,
                input_type: letter(*input_type),
                echo: letter(*echo),
            },
            CoreKind::SingleChoice { choices } => UiKind::SingleChoice {
                choices: choices.clone(),
            },
            CoreKind::MultipleChoice { choices } => UiKind::MultipleChoice {
                choices: choices.clone(),
            },
        };
        UiRequest {
            server_id: r.server_id.clone(),
            kind,
            text: r.text.clone(),
            min_display_secs: r.min_display_secs,
            max_display_secs: r.max_display_secs,
            default_response: r.default_response.clone(),
        }
    }
}

/// What the user did.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UiResponse {
    /// Display shown, or confirmation accepted (200).
    Yes,
    /// Confirmation refused (304).
    No,
    /// The user cancelled (214).
    Cancel,
    /// No answer within MAXDT (408; the default response goes back).
    Timeout,
    /// The text entered (1102).
    Text {
        /// The text.
        text: String,
    },
    /// The choices made, counted from 1 (1103: one; 1104: any number).
    Choices {
        /// The choice numbers.
        choices: Vec<u32>,
    },
    /// The device cannot show this now (416).
    CannotShow,
}

impl From<UiResponse> for session::UiResponse {
    fn from(r: UiResponse) -> Self {
        match r {
            UiResponse::Yes => session::UiResponse::Yes,
            UiResponse::No => session::UiResponse::No,
            UiResponse::Cancel => session::UiResponse::Cancel,
            UiResponse::Timeout => session::UiResponse::Timeout,
            UiResponse::Text { text } => session::UiResponse::Text(text),
            UiResponse::Choices { choices } => session::UiResponse::Choices(choices),
            UiResponse::CannotShow => session::UiResponse::CannotShow,
        }
    }
}
