//! What the server saw: every request, the device's Statuses and Results,
//! its alerts and DevInfo, how sessions ended, authentication failures and
//! protocol complaints. Kept in memory for tests (the accessors below) and
//! appended as JSON lines to a log file when one is given.
//!
//! Each JSON line is one [`Record`], tagged by `"kind"` (`request`,
//! `status`, `result`, `alert`, `replace`, `session`, `auth_failure`,
//! `complaint`, `trigger`), with a `time` (RFC 3339, UTC).
//!
//! This is a test server: the logged messages contain the credentials and
//! nonces exactly as they travelled, because that is what a test needs to
//! see. Do not point it at real devices.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;

/// One entry of the record.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// An HTTP request and what the server made of it.
    Request(RecordedRequest),
    /// A Status the device sent.
    Status(RecordedStatus),
    /// One Results item the device sent (large objects reassembled).
    Result(RecordedResult),
    /// An Alert from the device other than 1200/1201/1222/1223 (1224, 1226, …).
    Alert(RecordedAlert),
    /// One Replace item from the device (DevInfo in package 1).
    Replace(RecordedReplace),
    /// A session that ended.
    Session(RecordedSession),
    /// A rejected device credential.
    AuthFailure(RecordedAuthFailure),
    /// Something the device did that DM 1.2 does not allow or the server did
    /// not expect (the server went on as far as it could).
    Complaint(RecordedComplaint),
    /// A package #0 the server built.
    Trigger(RecordedTrigger),
}

/// An HTTP request.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RecordedRequest {
    /// When it arrived.
    pub time: String,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// All request headers (names in lower case).
    pub headers: Vec<(String, String)>,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// Whether an `x-syncml-hmac` header came with it.
    pub hmac_header: bool,
    /// Body length.
    pub body_len: usize,
    /// `xml` or `wbxml`, when decoded.
    pub encoding: Option<String>,
    /// Device id (SyncHdr Source LocURI), when decoded.
    pub device_id: Option<String>,
    /// SessionID, when decoded.
    pub session_id: Option<String>,
    /// MsgID, when decoded.
    pub msg_id: Option<String>,
    /// The decoded message as indented XML.
    pub message_xml: Option<String>,
    /// What the server concluded (`auth ok md5`, `bad hmac`, …).
    pub verdicts: Vec<String>,
    /// HTTP status of the answer.
    pub http_status: u16,
    /// The answer as indented XML (SyncML answers only).
    pub response_xml: Option<String>,
    /// Whether the answer carried the server's `x-syncml-hmac` header.
    pub response_hmac: bool,
}

/// A Status from the device.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RecordedStatus {
    /// When.
    pub time: String,
    /// Device id.
    pub device_id: String,
    /// SessionID.
    pub session_id: String,
    /// `MsgRef`.
    pub msg_ref: Option<String>,
    /// `CmdRef`.
    pub cmd_ref: Option<String>,
    /// `Cmd` as the device wrote it (`SyncHdr`, `Get`, `Alert`, …).
    pub cmd: String,
    /// The status code.
    pub code: u16,
    /// `TargetRef`s.
    pub target_refs: Vec<String>,
    /// `SourceRef`s.
    pub source_refs: Vec<String>,
    /// Item data (user-interaction answers), as text.
    pub items: Vec<String>,
    /// The target of the server command it answers, when the server knows it.
    pub sent_target: Option<String>,
    /// The NextNonce of a `Chal` in it (base64), if any.
    pub chal_next_nonce: Option<String>,
}

/// One Results item.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RecordedResult {
    /// When.
    pub time: String,
    /// Device id.
    pub device_id: String,
    /// SessionID.
    pub session_id: String,
    /// `MsgRef` of the Results (of its last chunk).
    pub msg_ref: Option<String>,
    /// `CmdRef`: the Get it answers.
    pub cmd_ref: Option<String>,
    /// Item Source LocURI.
    pub source: Option<String>,
    /// Meta Format (item, else command).
    pub format: Option<String>,
    /// Meta Type (item, else command).
    pub type_: Option<String>,
    /// The data (reassembled), as text (lossy for binary).
    pub data: String,
    /// Its length in bytes.
    pub size: usize,
    /// How many chunks it came in (1 for an ordinary item).
    pub chunks: usize,
    /// Meta Size announced with the first chunk, if any.
    pub declared_size: Option<u64>,
    /// False when the reassembled size differs from the declared one (424).
    pub size_ok: bool,
}

/// One item of an alert.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RecordedAlertItem {
    /// Source LocURI.
    pub source: Option<String>,
    /// Target LocURI.
    pub target: Option<String>,
    /// Meta Type.
    pub meta_type: Option<String>,
    /// Meta Format.
    pub format: Option<String>,
    /// Meta Mark.
    pub mark: Option<String>,
    /// Data, as text.
    pub data: Option<String>,
}

/// An Alert from the device (Generic Alert 1226, client event 1224, …).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RecordedAlert {
    /// When.
    pub time: String,
    /// Device id.
    pub device_id: String,
    /// SessionID.
    pub session_id: String,
    /// The alert code.
    pub code: u16,
    /// `Correlator`.
    pub correlator: Option<String>,
    /// The items.
    pub items: Vec<RecordedAlertItem>,
}

/// One Replace item from the device.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RecordedReplace {
    /// When.
    pub time: String,
    /// Device id.
    pub device_id: String,
    /// SessionID.
    pub session_id: String,
    /// Target LocURI (`./DevInfo/Man` …).
    pub uri: String,
    /// The value, as text.
    pub data: String,
    /// Meta Format.
    pub format: Option<String>,
}

/// How a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEnd {
    /// The script ran out and the server sent Final with no commands.
    Completed,
    /// The device sent Alert 1223.
    AbortedByClient,
    /// The device failed authentication too often.
    AuthFailed,
    /// The device rejected the server's credential too often.
    ServerAuthRejected,
    /// The session reached the message cap; the server sent Alert 1223.
    MessageCap,
}

/// A finished session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordedSession {
    /// When it ended.
    pub time: String,
    /// Device id.
    pub device_id: String,
    /// SessionID.
    pub session_id: String,
    /// `client` (1201), `server` (1200) or `unknown`.
    pub initiated_by: String,
    /// For 1200: whether the SessionID matched a trigger the server issued.
    pub trigger_matched: Option<bool>,
    /// Messages received in it.
    pub messages: u32,
    /// How it ended.
    pub end: SessionEnd,
}

/// A rejected credential.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RecordedAuthFailure {
    /// When.
    pub time: String,
    /// Device id.
    pub device_id: String,
    /// SessionID.
    pub session_id: String,
    /// Scheme the server requires (`basic`, `md5`, `hmac`).
    pub required: String,
    /// What came (`none`, `basic`, `md5`, `hmac`, or the Meta Type).
    pub presented: String,
    /// Why it failed.
    pub reason: String,
    /// 401 or 407.
    pub code: u16,
    /// Failures so far in this session, this one included.
    pub attempt: u32,
}

/// A protocol complaint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RecordedComplaint {
    /// When.
    pub time: String,
    /// Device id (empty when unknown).
    pub device_id: String,
    /// SessionID (empty when unknown).
    pub session_id: String,
    /// What was wrong.
    pub text: String,
}

/// A package #0 built by [`crate::RunningServer::trigger`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RecordedTrigger {
    /// When.
    pub time: String,
    /// Device id.
    pub device_id: String,
    /// The session id, 4 upper-case hex digits.
    pub session_id: String,
    /// The message, hex.
    pub hex: String,
}

pub(crate) fn now() -> String {
    jiff::Timestamp::now().to_string()
}

struct Inner {
    records: Mutex<Vec<Record>>,
    log: Mutex<Option<File>>,
    changed: tokio::sync::Notify,
}

/// The shared record. Cheap to clone; all clones see the same entries.
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder::new()
    }
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("records", &lock(&self.inner.records).len())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Recorder {
    /// An empty in-memory record.
    pub fn new() -> Recorder {
        Recorder {
            inner: Arc::new(Inner {
                records: Mutex::new(Vec::new()),
                log: Mutex::new(None),
                changed: tokio::sync::Notify::new(),
            }),
        }
    }

    /// Also appends every new record as a JSON line to `path`.
    pub fn log_to(&self, path: &Path) -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        *lock(&self.inner.log) = Some(file);
        Ok(())
    }

    pub(crate) fn push(&self, record: Record) {
        if let Some(file) = lock(&self.inner.log).as_mut() {
            match serde_json::to_string(&record) {
                Ok(line) => {
                    if let Err(e) = writeln!(file, "{line}") {
                        tracing::warn!(target: "dmsched::dm_server", "log write failed: {e}");
                    }
                }
                Err(e) => tracing::warn!(target: "dmsched::dm_server", "log encode failed: {e}"),
            }
        }
        lock(&self.inner.records).push(record);
        self.inner.changed.notify_waiters();
    }

    pub(crate) fn complain(&self, device_id: &str, session_id: &str, text: impl Into<String>) {
        let text = text.into();
        tracing::info!(target: "dmsched::dm_server", device_id, session_id, "complaint: {text}");
        self.push(Record::Complaint(RecordedComplaint {
            time: now(),
            device_id: device_id.to_string(),
            session_id: session_id.to_string(),
            text,
        }));
    }

    /// Every record, in order.
    pub fn records(&self) -> Vec<Record> {
        lock(&self.inner.records).clone()
    }

    /// Forgets everything recorded so far (the log file keeps it).
    pub fn clear(&self) {
        lock(&self.inner.records).clear();
    }

    fn collect<T>(&self, f: impl Fn(&Record) -> Option<T>) -> Vec<T> {
        lock(&self.inner.records).iter().filter_map(f).collect()
    }

    /// Every HTTP request.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.collect(|r| match r {
            Record::Request(x) => Some(x.clone()),
            _ => None,
        })
    }

    /// Every Status the device sent.
    pub fn statuses(&self) -> Vec<RecordedStatus> {
        self.collect(|r| match r {
            Record::Status(x) => Some(x.clone()),
            _ => None,
        })
    }

    /// The device's Statuses for commands named `cmd` (`Get`, `Replace`,
    /// `SyncHdr`, …; case-insensitive).
    pub fn statuses_for(&self, cmd: &str) -> Vec<RecordedStatus> {
        self.collect(|r| match r {
            Record::Status(x) if x.cmd.eq_ignore_ascii_case(cmd) => Some(x.clone()),
            _ => None,
        })
    }

    /// Every Results item (large objects reassembled).
    pub fn results(&self) -> Vec<RecordedResult> {
        self.collect(|r| match r {
            Record::Result(x) => Some(x.clone()),
            _ => None,
        })
    }

    /// Every recorded alert (1224, 1226 and others the device sent).
    pub fn alerts(&self) -> Vec<RecordedAlert> {
        self.collect(|r| match r {
            Record::Alert(x) => Some(x.clone()),
            _ => None,
        })
    }

    /// Generic Alerts (1226).
    pub fn generic_alerts(&self) -> Vec<RecordedAlert> {
        self.alerts()
            .into_iter()
            .filter(|a| a.code == 1226)
            .collect()
    }

    /// Client event alerts (1224).
    pub fn client_events(&self) -> Vec<RecordedAlert> {
        self.alerts()
            .into_iter()
            .filter(|a| a.code == 1224)
            .collect()
    }

    /// Every Replace item from the device.
    pub fn replaces(&self) -> Vec<RecordedReplace> {
        self.collect(|r| match r {
            Record::Replace(x) => Some(x.clone()),
            _ => None,
        })
    }

    /// The latest `./DevInfo/…` values a device sent, by URI.
    pub fn devinfo(&self, device_id: &str) -> BTreeMap<String, String> {
        self.replaces()
            .into_iter()
            .filter(|r| r.device_id == device_id && r.uri.starts_with("./DevInfo"))
            .map(|r| (r.uri, r.data))
            .collect()
    }

    /// Sessions that ended, in order.
    pub fn sessions(&self) -> Vec<RecordedSession> {
        self.collect(|r| match r {
            Record::Session(x) => Some(x.clone()),
            _ => None,
        })
    }

    /// Rejected device credentials.
    pub fn auth_failures(&self) -> Vec<RecordedAuthFailure> {
        self.collect(|r| match r {
            Record::AuthFailure(x) => Some(x.clone()),
            _ => None,
        })
    }

    /// Protocol complaints.
    pub fn complaints(&self) -> Vec<RecordedComplaint> {
        self.collect(|r| match r {
            Record::Complaint(x) => Some(x.clone()),
            _ => None,
        })
    }

    /// Package #0 messages built.
    pub fn triggers(&self) -> Vec<RecordedTrigger> {
        self.collect(|r| match r {
            Record::Trigger(x) => Some(x.clone()),
            _ => None,
        })
    }

    /// Waits until `done(self)` holds or `timeout` passes; true if it held.
    /// Checked after every new record.
    pub async fn wait_until(&self, timeout: Duration, done: impl Fn(&Recorder) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done(self) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return done(self);
            }
        }
    }

    /// Waits until at least `n` sessions have ended; true if they did.
    pub async fn wait_for_sessions(&self, n: usize, timeout: Duration) -> bool {
        self.wait_until(timeout, |r| r.sessions().len() >= n).await
    }
}
