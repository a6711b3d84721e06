//! Records and enums of full-client mode (the DM client). What the SDK
//! hands out is the core's (`dmsched::wire`), declared here for UniFFI
//! only; what hosts hand in (settings, answers) is defined here, with serde
//! for the JNI bridge's JSON.

use dmsched_core::agent;
use dmsched_core::dm::client::AcceptedNotification as CoreAccepted;
pub use dmsched_core::dm::notification::{Initiator, UiMode};
use dmsched_core::dm::session;
use dmsched_core::mo;
use dmsched_core::tree::DeviceInfo;
pub use dmsched_core::wire::{
    CommandStatus, Delivery, MoReport, NotificationInfo, SessionSummary, UiKind, UiRequest,
};
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

// The records below are the core's (`dmsched::wire`, and the notification
// enums): declared here for UniFFI only (`#[uniffi::remote]`; the compiler
// checks each declaration against the core's definition). C and the JNI
// bridge send the same structs as JSON.

/// The user interaction a package #0 asks for.
#[uniffi::remote(Enum)]
pub enum UiMode {
    /// 0: not specified; the device decides.
    NotSpecified,
    /// 1: start in the background.
    Background,
    /// 2: inform the user, then start.
    Informative,
    /// 3: ask the user first.
    UserInteraction,
}

/// Who initiated the session request.
#[uniffi::remote(Enum)]
pub enum Initiator {
    /// Client-initiated.
    Client,
    /// Server-initiated (what a package #0 normally says).
    Server,
}

/// What a verified package #0 asked for.
#[uniffi::remote(Record)]
pub struct NotificationInfo {
    /// The server that sent it.
    pub server_id: String,
    /// The session id the server expects.
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

/// One server command the device answered in a session.
#[uniffi::remote(Record)]
pub struct CommandStatus {
    /// The command (`Add`, `Get`, …).
    pub command: String,
    /// The DM status the device answered.
    pub code: i32,
}

/// How a DM session went.
#[uniffi::remote(Record)]
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

/// A report waiting for its server (a Generic Alert 1226 when sent).
#[uniffi::remote(Record)]
pub struct MoReport {
    /// The engine outbox id (null for a state report).
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
    /// The first retry's delay (not negative).
    pub first_seconds: i64,
    /// The longest delay (not negative).
    pub max_seconds: i64,
}

impl TryFrom<ReportRetry> for agent::ReportRetry {
    type Error = crate::DmschedError;

    fn try_from(r: ReportRetry) -> Result<Self, Self::Error> {
        let secs = |v: i64, what: &str| {
            u64::try_from(v).map_err(|_| {
                crate::DmschedError::InvalidArgument(format!("report_retry.{what} {v} is negative"))
            })
        };
        Ok(agent::ReportRetry {
            first_seconds: secs(r.first_seconds, "first_seconds")?,
            max_seconds: secs(r.max_seconds, "max_seconds")?,
        })
    }
}

/// One server's report delivery attempt.
#[uniffi::remote(Record)]
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

/// What a user-interaction request asks for.
#[uniffi::remote(Enum)]
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
#[uniffi::remote(Record)]
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

/// A package #0 that passed every check (`Agent.acceptNotification`): an
/// opaque proof only that call makes. Hand it to `Agent.runSession` to run
/// the session it asks for.
#[derive(uniffi::Object)]
pub struct AcceptedNotification(pub(crate) CoreAccepted);

#[uniffi::export]
impl AcceptedNotification {
    /// What the package #0 asked for.
    pub fn info(&self) -> NotificationInfo {
        NotificationInfo::from(&self.0)
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
        choices: Vec<i32>,
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
            UiResponse::Choices { choices } => {
                // A choice is counted from 1: anything else is no answer.
                match choices.into_iter().map(u32::try_from).collect() {
                    Ok(c) => session::UiResponse::Choices(c),
                    Err(_) => session::UiResponse::CannotShow,
                }
            }
            UiResponse::CannotShow => session::UiResponse::CannotShow,
        }
    }
}
