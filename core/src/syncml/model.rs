//! The typed model of a SyncML DM 1.2 message (OMA-TS-DM_RepPro-V1_2).
//!
//! One struct per element that carries structure; leaf elements are
//! `String`s (trimmed of surrounding white space when decoded) or flags.
//! Both codecs decode into and encode from this model, so a message read
//! from XML and written as WBXML (or back) keeps every field the model has.
//! Elements outside the DM vocabulary are skipped when decoded, except
//! unknown commands, which are kept as [`Command::Unknown`] so that the
//! session can answer them with 406.

/// A whole message: `<SyncML><SyncHdr/><SyncBody/></SyncML>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncMl {
    /// The header.
    pub hdr: SyncHdr,
    /// The body.
    pub body: SyncBody,
}

/// `SyncHdr`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncHdr {
    /// `VerDTD`, `1.2`.
    pub ver_dtd: String,
    /// `VerProto`, `DM/1.2`.
    pub ver_proto: String,
    /// `SessionID`.
    pub session_id: String,
    /// `MsgID`, from 1 within a session.
    pub msg_id: String,
    /// `Target`: the recipient.
    pub target: Locus,
    /// `Source`: the sender (a device's is `./DevInfo/DevId`'s value).
    pub source: Locus,
    /// `RespURI`: where the next message goes.
    pub resp_uri: Option<String>,
    /// `NoResp`.
    pub no_resp: bool,
    /// `Cred`.
    pub cred: Option<Cred>,
    /// `Meta` (MaxMsgSize, MaxObjSize).
    pub meta: Option<Meta>,
}

/// `Target` or `Source`: `LocURI` and optional `LocName`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Locus {
    /// `LocURI`.
    pub loc_uri: String,
    /// `LocName`.
    pub loc_name: Option<String>,
}

impl Locus {
    /// A locus with only a URI.
    pub fn uri(uri: impl Into<String>) -> Locus {
        Locus {
            loc_uri: uri.into(),
            loc_name: None,
        }
    }
}

/// `Cred`: a credential (`Meta` Type/Format + `Data`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Cred {
    /// `Meta`: Type (`syncml:auth-basic`, `syncml:auth-md5`), Format (`b64`).
    pub meta: Option<Meta>,
    /// `Data`: the credential itself.
    pub data: String,
}

impl std::fmt::Debug for Cred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a credential.
        f.debug_struct("Cred")
            .field("meta", &self.meta)
            .field("data", &"***")
            .finish()
    }
}

/// `Meta` (the MetInf elements DM uses).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// `Format`: b64 bin bool chr int node null xml date time float.
    pub format: Option<String>,
    /// `Type`: a MIME type or an auth type.
    pub type_: Option<String>,
    /// `Mark` (Generic Alert severity).
    pub mark: Option<String>,
    /// `Size` of the whole object (first chunk of a large object).
    pub size: Option<String>,
    /// `NextNonce` (base64) in a `Chal`.
    pub next_nonce: Option<String>,
    /// `Version`.
    pub version: Option<String>,
    /// `MaxMsgSize`.
    pub max_msg_size: Option<String>,
    /// `MaxObjSize`.
    pub max_obj_size: Option<String>,
    /// `EMI` (extensions), in order.
    pub emi: Vec<String>,
}

impl Meta {
    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        *self == Meta::default()
    }

    /// `Size` as a number, if it is one.
    pub fn size_value(&self) -> Option<u64> {
        self.size.as_deref().and_then(|s| s.parse().ok())
    }

    /// `MaxMsgSize` as a number, if it is one.
    pub fn max_msg_size_value(&self) -> Option<u64> {
        self.max_msg_size.as_deref().and_then(|s| s.parse().ok())
    }

    /// `MaxObjSize` as a number, if it is one.
    pub fn max_obj_size_value(&self) -> Option<u64> {
        self.max_obj_size.as_deref().and_then(|s| s.parse().ok())
    }
}

/// `SyncBody`: commands and the `Final` flag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncBody {
    /// The commands, in order.
    pub commands: Vec<Command>,
    /// `Final`: the last message of a package.
    pub final_: bool,
}

/// One DM command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `Add`.
    Add(ItemCmd),
    /// `Alert`.
    Alert(Alert),
    /// `Atomic`: all or nothing.
    Atomic(Container),
    /// `Copy`.
    Copy(ItemCmd),
    /// `Delete`.
    Delete(ItemCmd),
    /// `Exec`.
    Exec(Exec),
    /// `Get`.
    Get(ItemCmd),
    /// `Replace`.
    Replace(ItemCmd),
    /// `Sequence`: in order.
    Sequence(Container),
    /// `Status`.
    Status(Status),
    /// `Results`.
    Results(Results),
    /// An element in the body that is not a DM command (`Sync`, `Map`,
    /// `Put`, `Search`, or foreign): kept so that it can be answered with 406.
    Unknown(UnknownCmd),
}

impl Command {
    /// The element name (`Add`, `Alert` …).
    pub fn name(&self) -> &str {
        match self {
            Command::Add(_) => "Add",
            Command::Alert(_) => "Alert",
            Command::Atomic(_) => "Atomic",
            Command::Copy(_) => "Copy",
            Command::Delete(_) => "Delete",
            Command::Exec(_) => "Exec",
            Command::Get(_) => "Get",
            Command::Replace(_) => "Replace",
            Command::Sequence(_) => "Sequence",
            Command::Status(_) => "Status",
            Command::Results(_) => "Results",
            Command::Unknown(u) => &u.name,
        }
    }

    /// Sets the `CmdID` (a sender numbers commands per message).
    pub fn set_cmd_id(&mut self, id: String) {
        match self {
            Command::Add(c)
            | Command::Copy(c)
            | Command::Delete(c)
            | Command::Get(c)
            | Command::Replace(c) => c.cmd_id = id,
            Command::Alert(a) => a.cmd_id = id,
            Command::Atomic(c) | Command::Sequence(c) => c.cmd_id = id,
            Command::Exec(e) => e.cmd_id = id,
            Command::Status(s) => s.cmd_id = id,
            Command::Results(r) => r.cmd_id = id,
            Command::Unknown(u) => u.cmd_id = id,
        }
    }

    /// The `CmdID`.
    pub fn cmd_id(&self) -> &str {
        match self {
            Command::Add(c)
            | Command::Copy(c)
            | Command::Delete(c)
            | Command::Get(c)
            | Command::Replace(c) => &c.cmd_id,
            Command::Alert(a) => &a.cmd_id,
            Command::Atomic(c) | Command::Sequence(c) => &c.cmd_id,
            Command::Exec(e) => &e.cmd_id,
            Command::Status(s) => &s.cmd_id,
            Command::Results(r) => &r.cmd_id,
            Command::Unknown(u) => &u.cmd_id,
        }
    }
}

/// Add, Copy, Delete, Get, Replace: `CmdID NoResp? Cred? Meta? Item+`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemCmd {
    /// `CmdID`.
    pub cmd_id: String,
    /// `NoResp`: no Status wanted.
    pub no_resp: bool,
    /// `Lang` (Get only).
    pub lang: Option<String>,
    /// `Cred`.
    pub cred: Option<Cred>,
    /// `Meta` for all items.
    pub meta: Option<Meta>,
    /// The items.
    pub items: Vec<Item>,
}

/// `Alert`: `CmdID NoResp? Cred? Data? Correlator? Item*`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Alert {
    /// `CmdID`.
    pub cmd_id: String,
    /// `NoResp`.
    pub no_resp: bool,
    /// `Cred`.
    pub cred: Option<Cred>,
    /// `Data`: the alert code (1100, 1201, 1226 …).
    pub data: Option<String>,
    /// `Correlator` (Generic Alert answering an Exec).
    pub correlator: Option<String>,
    /// The items.
    pub items: Vec<Item>,
}

/// `Exec`: `CmdID NoResp? Cred? Meta? Correlator? Item`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exec {
    /// `CmdID`.
    pub cmd_id: String,
    /// `NoResp`.
    pub no_resp: bool,
    /// `Cred`.
    pub cred: Option<Cred>,
    /// `Meta`.
    pub meta: Option<Meta>,
    /// `Correlator`: echoed in the asynchronous 1226 result.
    pub correlator: Option<String>,
    /// The item(s); DM has exactly one.
    pub items: Vec<Item>,
}

/// Atomic and Sequence: `CmdID NoResp? Meta? (command)+`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Container {
    /// `CmdID`.
    pub cmd_id: String,
    /// `NoResp`.
    pub no_resp: bool,
    /// `Meta`.
    pub meta: Option<Meta>,
    /// The commands inside.
    pub commands: Vec<Command>,
}

/// `Status`: `CmdID MsgRef CmdRef Cmd TargetRef* SourceRef* Cred? Chal? Data Item*`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// `CmdID`.
    pub cmd_id: String,
    /// `MsgRef`.
    pub msg_ref: Option<String>,
    /// `CmdRef` (`0` for the SyncHdr).
    pub cmd_ref: Option<String>,
    /// `Cmd`: the name of the command answered.
    pub cmd: String,
    /// `TargetRef`s.
    pub target_refs: Vec<String>,
    /// `SourceRef`s.
    pub source_refs: Vec<String>,
    /// `Cred`.
    pub cred: Option<Cred>,
    /// `Chal`: an authentication challenge.
    pub chal: Option<Chal>,
    /// `Data`: the status code.
    pub data: String,
    /// Items (user-interaction answers, …).
    pub items: Vec<Item>,
}

impl Status {
    /// The status code as a number (0 if `Data` is not one).
    pub fn code(&self) -> u16 {
        self.data.trim().parse().unwrap_or(0)
    }
}

/// `Chal`: `Meta` with Type, Format and NextNonce.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chal {
    /// The challenge.
    pub meta: Meta,
}

/// `Results`: `CmdID MsgRef? CmdRef Meta? TargetRef? SourceRef? Item+`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Results {
    /// `CmdID`.
    pub cmd_id: String,
    /// `MsgRef`.
    pub msg_ref: Option<String>,
    /// `CmdRef`.
    pub cmd_ref: Option<String>,
    /// `Cmd` (Windows sends it; not in the DTD).
    pub cmd: Option<String>,
    /// `Meta`.
    pub meta: Option<Meta>,
    /// `TargetRef`s.
    pub target_refs: Vec<String>,
    /// `SourceRef`s.
    pub source_refs: Vec<String>,
    /// The items.
    pub items: Vec<Item>,
}

/// A body element that is not a DM command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnknownCmd {
    /// Its element name (`Sync`, `Map`, or `page N token 0xNN` for an
    /// unknown WBXML token).
    pub name: String,
    /// Its `CmdID`, if it had one as a direct child.
    pub cmd_id: String,
}

/// `Item`: `Target? Source? Meta? Data? MoreData?`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Item {
    /// `Target`.
    pub target: Option<Locus>,
    /// `Source`.
    pub source: Option<Locus>,
    /// `Meta`.
    pub meta: Option<Meta>,
    /// `Data`.
    pub data: Option<Data>,
    /// `MoreData`: more chunks of this object follow.
    pub more_data: bool,
}

/// The content of a `Data` element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Data {
    /// Character data (XML text or CDATA; WBXML inline or table strings),
    /// kept exactly, white space included.
    Text(String),
    /// WBXML opaque bytes (binary, or a nested document).
    Opaque(Vec<u8>),
    /// XML element content, kept as the literal markup between `<Data>`
    /// and `</Data>` (an embedded DevInf, DDF or TNDS document).
    Xml(String),
}

impl Data {
    /// The content as bytes, whatever its form.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Data::Text(s) | Data::Xml(s) => s.as_bytes(),
            Data::Opaque(b) => b,
        }
    }

    /// The content as text (lossy for non-UTF-8 opaque bytes).
    pub fn to_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Data::Text(s) | Data::Xml(s) => std::borrow::Cow::Borrowed(s),
            Data::Opaque(b) => String::from_utf8_lossy(b),
        }
    }
}

impl From<&str> for Data {
    fn from(s: &str) -> Data {
        Data::Text(s.to_string())
    }
}

impl From<String> for Data {
    fn from(s: String) -> Data {
        Data::Text(s)
    }
}
