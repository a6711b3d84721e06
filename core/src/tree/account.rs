//! DM server accounts: the `./DMAcc/<X>` subtrees (OMA DM StdObj 1.2 §5.3)
//! as typed [`Account`]s for the DM session, which needs the credentials
//! that servers can never Get (`AAuthSecret` and `AAuthData` are write-only
//! for every server).
//!
//! A provisioned account's node gets the ACL `Get=<ServerID>&Replace=<ServerID>`
//! so that no other server can read or change it, and `./DMAcc` itself has
//! `Get=*`: servers cannot Add accounts (bootstrap goes through
//! [`Tree::add_account`]).
//!
//! The server must authenticate itself (6.1.1.2.1): an account needs a
//! `SRVCRED` credential unless it explicitly opts out with
//! [`Account::allow_unauthenticated_server`], stored as
//! `./DMAcc/<X>/Ext/AllowUnauthenticatedServer` = `true` (a leaf only the
//! device writes: its ACL is `Get=<ServerID>`, and a server has no Add right
//! on its account to create it).

use base64::Engine as _;
use jiff::Timestamp;

use super::acl::{Acl, AclCmd, validate_server_id};
use super::ctx::{Ctx, Who, tstamp};
use super::error::{TreeError, bad, not_found};
use super::format::Format;
use super::handle::Tree;
use super::node::Payload;
use super::uri::Uri;

const DMACC: &str = "./DMAcc";

/// Which direction a credential authenticates (`AAuthLevel`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthLevel {
    /// `CLCRED`: the client (device) authenticates to the server.
    Client,
    /// `SRVCRED`: the server authenticates to the client.
    Server,
}

impl AuthLevel {
    /// The DMAcc value.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthLevel::Client => "CLCRED",
            AuthLevel::Server => "SRVCRED",
        }
    }

    fn parse(s: &str) -> Option<AuthLevel> {
        match s {
            "CLCRED" => Some(AuthLevel::Client),
            "SRVCRED" => Some(AuthLevel::Server),
            _ => None,
        }
    }
}

/// The authentication scheme (`AAuthType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthType {
    /// `BASIC`.
    Basic,
    /// `DIGEST` (MD5).
    Digest,
    /// `HMAC` (HMAC-MD5 in the transport header).
    Hmac,
}

impl AuthType {
    /// The DMAcc value.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::Basic => "BASIC",
            AuthType::Digest => "DIGEST",
            AuthType::Hmac => "HMAC",
        }
    }

    fn parse(s: &str) -> Option<AuthType> {
        match s {
            "BASIC" => Some(AuthType::Basic),
            "DIGEST" => Some(AuthType::Digest),
            "HMAC" => Some(AuthType::Hmac),
            _ => None,
        }
    }
}

/// One server address (`AppAddr/<X>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppAddr {
    /// `Addr`, e.g. `https://dm.example.com/dm`.
    pub addr: String,
    /// `AddrType`, e.g. `URI`.
    pub addr_type: String,
}

/// One credential (`AppAuth/<X>`).
#[derive(Clone, PartialEq, Eq)]
pub struct AppAuth {
    /// `AAuthLevel`.
    pub level: AuthLevel,
    /// `AAuthType`.
    pub auth_type: AuthType,
    /// `AAuthName`: the user name or id.
    pub name: Option<String>,
    /// `AAuthSecret`: the password or key.
    pub secret: Option<String>,
    /// `AAuthData`, decoded: the current nonce.
    pub nonce: Option<Vec<u8>>,
}

impl std::fmt::Debug for AppAuth {
    /// Never shows the secret or the nonce.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppAuth")
            .field("level", &self.level)
            .field("auth_type", &self.auth_type)
            .field("name", &self.name)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("nonce", &self.nonce.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A DM server account (`./DMAcc/<X>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The `<X>` node name.
    pub node: String,
    /// `ServerID`.
    pub server_id: String,
    /// `Name`: display name.
    pub name: Option<String>,
    /// `PrefConRef`: preferred connectivity.
    pub pref_con_ref: Option<String>,
    /// `AppAddr/<X>` entries, provisioned as `AppAddr/1`, `AppAddr/2` ….
    pub addrs: Vec<AppAddr>,
    /// `AppAuth/<X>` entries, provisioned as `AppAuth/CLCRED` and
    /// `AppAuth/SRVCRED` (one per level).
    pub auths: Vec<AppAuth>,
    /// The opt-out from DM-level server authentication: `true` lets an
    /// account without a `SRVCRED` credential run sessions, for
    /// deployments where something else authenticates the server (TLS with
    /// the server's own trust anchor, see docs/dm-client.md). `false`
    /// (the default) refuses such an account at provisioning and at session
    /// start. Stored as `Ext/AllowUnauthenticatedServer`.
    pub allow_unauthenticated_server: bool,
}

/// The leaf under `./DMAcc/<X>` that records the opt-out.
const OPT_OUT: &str = "AllowUnauthenticatedServer";

/// Why `account` may not be provisioned or used as far as server
/// authentication goes (6.1.1.2.1), if it may not.
pub fn server_auth_problem(account: &Account) -> Option<String> {
    let srvcred = account.auths.iter().find(|a| a.level == AuthLevel::Server);
    if srvcred.is_some_and(|a| a.auth_type == AuthType::Basic) {
        return Some(format!(
            "account {:?}: a BASIC server credential is the same in every session (a \
             captured one can be replayed): use DIGEST or HMAC",
            account.server_id
        ));
    }
    let has_srvcred = srvcred.is_some();
    match (has_srvcred, account.allow_unauthenticated_server) {
        (true, false) | (false, true) => None,
        (false, false) => Some(format!(
            "account {:?} has no server credential (SRVCRED): the server must authenticate \
             itself (6.1.1.2.1); provision one (DIGEST or HMAC) or opt out explicitly with \
             allow_unauthenticated_server",
            account.server_id
        )),
        (true, true) => Some(format!(
            "account {:?} has a server credential (SRVCRED) and allow_unauthenticated_server: \
             choose one",
            account.server_id
        )),
    }
}

impl Tree {
    /// Provisions `account` (bootstrap). 418 if its node or its ServerID
    /// already exists; 400 for a bad ServerID, two credentials of one
    /// level, or no server credential without the explicit opt-out
    /// ([`Account::allow_unauthenticated_server`], 6.1.1.2.1).
    pub fn add_account(&self, account: &Account, now: Timestamp) -> Result<(), TreeError> {
        validate_server_id(&account.server_id)?;
        if let Some(problem) = server_auth_problem(account) {
            return Err(bad(problem));
        }
        let levels: Vec<_> = account.auths.iter().map(|a| a.level).collect();
        if levels
            .iter()
            .enumerate()
            .any(|(i, l)| levels[..i].contains(l))
        {
            return Err(bad("two AppAuth entries of the same AAuthLevel"));
        }
        self.write(Who::Device, "add_account", DMACC, |c| {
            if find(c, &account.server_id)?.is_some() {
                return Err(TreeError::AlreadyExists(format!(
                    "an account for server {:?} exists",
                    account.server_id
                )));
            }
            let base = Uri::parse(DMACC)?.child(&account.node)?;
            provision(c, &base, account, now)
        })?;
        tracing::info!(target: "dmsched::tree", server = %account.server_id, "DM account provisioned");
        Ok(())
    }

    /// Removes the account of `server_id`; 404 if there is none.
    /// (Accounts are found by their `ServerID`, never by node name.)
    pub fn remove_account(&self, server_id: &str, now: Timestamp) -> Result<(), TreeError> {
        self.write(Who::Device, "remove_account", DMACC, |c| {
            let base = find(c, server_id)?.ok_or_else(|| no_account(server_id))?;
            c.db.delete_subtree(&base)?;
            c.db.touch(&Uri::parse(DMACC)?, &tstamp(now))
        })
    }

    /// The ServerIDs of every account, in node order.
    pub fn server_ids(&self) -> Result<Vec<String>, TreeError> {
        self.read(Who::Device, "server_ids", DMACC, |c| {
            let dmacc = Uri::parse(DMACC)?;
            let mut out = Vec::new();
            for name in c.db.children(&dmacc)? {
                if let Some(id) = text(c, &dmacc.child(&name)?.child("ServerID")?)? {
                    out.push(id);
                }
            }
            Ok(out)
        })
    }

    /// The account of `server_id`, secrets included (for the DM session's
    /// authentication; never log it).
    pub fn account(&self, server_id: &str) -> Result<Option<Account>, TreeError> {
        self.read(Who::Device, "account", DMACC, |c| {
            let Some(base) = find(c, server_id)? else {
                return Ok(None);
            };
            read_account(c, &base, server_id).map(Some)
        })
    }

    /// Stores `nonce` as the `AAuthData` of the credential of `level` in
    /// the account of `server_id` (the next nonce for that direction).
    pub fn set_account_nonce(
        &self,
        server_id: &str,
        level: AuthLevel,
        nonce: &[u8],
        now: Timestamp,
    ) -> Result<(), TreeError> {
        self.write(Who::Device, "set_account_nonce", DMACC, |c| {
            let base = find(c, server_id)?.ok_or_else(|| no_account(server_id))?;
            let auth = base.child("AppAuth")?;
            for name in c.db.children(&auth)? {
                let entry = auth.child(&name)?;
                if text(c, &entry.child("AAuthLevel")?)?.as_deref() != Some(level.as_str()) {
                    continue;
                }
                let data = entry.child("AAuthData")?;
                let b64 = base64::engine::general_purpose::STANDARD.encode(nonce);
                let payload = Payload::leaf(Format::B64, b64);
                if level == AuthLevel::Server {
                    // A new server nonce has authenticated nothing yet.
                    let used = base.child("Ext")?.child(NONCE_USED_IN)?;
                    if c.db.exists(&used)? {
                        c.db.delete_subtree(&used)?;
                    }
                }
                return if c.db.exists(&data)? {
                    c.replace_value(&data, &payload, now)
                } else {
                    c.add_uri(&data, &payload, now)
                };
            }
            Err(not_found(&format!(
                "{} credential of server {server_id:?}",
                level.as_str()
            )))
        })
    }
}

impl Tree {
    /// Records that the stored server nonce of `server_id` authenticated a
    /// message in the session `session_id` (the DM session's replay
    /// defence: that nonce is not accepted again in a later session with
    /// the same id). Storing a new server nonce clears it. Kept in
    /// `./DMAcc/<X>/Ext/ServerNonceUsedIn` (4 hex digits), readable by the
    /// server, written only by the device.
    pub fn set_account_nonce_use(
        &self,
        server_id: &str,
        session_id: u16,
        now: Timestamp,
    ) -> Result<(), TreeError> {
        self.write(Who::Device, "set_account_nonce_use", DMACC, |c| {
            let base = find(c, server_id)?.ok_or_else(|| no_account(server_id))?;
            let ext = base.child("Ext")?;
            if !c.db.exists(&ext)? {
                c.add_uri(&ext, &Payload::interior(), now)?;
            }
            let used = ext.child(NONCE_USED_IN)?;
            let payload = Payload::chr(&format!("{session_id:04X}"));
            if c.db.exists(&used)? {
                return c.replace_value(&used, &payload, now);
            }
            c.add_uri(&used, &payload, now)?;
            device_only(c, &used, server_id)
        })
    }

    /// The session in which the stored server nonce of `server_id`
    /// authenticated a message, if it did ([`Tree::set_account_nonce_use`]).
    pub fn account_nonce_use(&self, server_id: &str) -> Result<Option<u16>, TreeError> {
        self.read(Who::Device, "account_nonce_use", DMACC, |c| {
            let base = find(c, server_id)?.ok_or_else(|| no_account(server_id))?;
            Ok(text(c, &base.child("Ext")?.child(NONCE_USED_IN)?)?
                .and_then(|t| u16::from_str_radix(&t, 16).ok()))
        })
    }
}

/// The leaf under `./DMAcc/<X>/Ext` that records where the stored server
/// nonce was used.
const NONCE_USED_IN: &str = "ServerNonceUsedIn";

/// Gives `uri` the ACL `Get=<server_id>`: the server reads it, only the
/// device writes it.
fn device_only(c: &Ctx<'_>, uri: &Uri, server_id: &str) -> Result<(), TreeError> {
    let mut row =
        c.db.node(uri)?
            .ok_or_else(|| TreeError::Failed(format!("{uri} vanished")))?;
    row.acl = Acl::only(server_id, &[AclCmd::Get])?.to_string();
    c.db.update(&row)
}

fn no_account(server_id: &str) -> TreeError {
    TreeError::NotFound(format!("no account for server {server_id:?}"))
}

/// The `./DMAcc/<X>` whose ServerID is `server_id`.
fn find(c: &Ctx<'_>, server_id: &str) -> Result<Option<Uri>, TreeError> {
    let dmacc = Uri::parse(DMACC)?;
    for name in c.db.children(&dmacc)? {
        let base = dmacc.child(&name)?;
        if text(c, &base.child("ServerID")?)?.as_deref() == Some(server_id) {
            return Ok(Some(base));
        }
    }
    Ok(None)
}

fn text(c: &Ctx<'_>, uri: &Uri) -> Result<Option<String>, TreeError> {
    match c.db.node(uri)?.filter(|r| !r.is_interior()) {
        Some(r) => {
            let v = c.unseal(uri, r.value)?;
            Ok(Some(String::from_utf8_lossy(&v).into_owned()))
        }
        None => Ok(None),
    }
}

fn provision(c: &Ctx<'_>, base: &Uri, a: &Account, now: Timestamp) -> Result<(), TreeError> {
    let leaf = |uri: &Uri, v: &str| c.add_uri(uri, &Payload::chr(v), now);
    c.add_uri(base, &Payload::interior(), now)?;
    let mut row =
        c.db.node(base)?
            .ok_or_else(|| TreeError::Failed(format!("{base} vanished")))?;
    row.acl = Acl::only(&a.server_id, &[AclCmd::Get, AclCmd::Replace])?.to_string();
    c.db.update(&row)?;
    leaf(&base.child("AppID")?, "w7")?;
    leaf(&base.child("ServerID")?, &a.server_id)?;
    if let Some(n) = &a.name {
        leaf(&base.child("Name")?, n)?;
    }
    if let Some(p) = &a.pref_con_ref {
        leaf(&base.child("PrefConRef")?, p)?;
    }
    let addrs = base.child("AppAddr")?;
    c.add_uri(&addrs, &Payload::interior(), now)?;
    for (i, ad) in a.addrs.iter().enumerate() {
        let e = addrs.child(&(i + 1).to_string())?;
        c.add_uri(&e, &Payload::interior(), now)?;
        leaf(&e.child("Addr")?, &ad.addr)?;
        leaf(&e.child("AddrType")?, &ad.addr_type)?;
    }
    if a.allow_unauthenticated_server {
        let ext = base.child("Ext")?;
        c.add_uri(&ext, &Payload::interior(), now)?;
        let opt_out = ext.child(OPT_OUT)?;
        c.add_uri(&opt_out, &Payload::leaf(Format::Bool, "true"), now)?;
        device_only(c, &opt_out, &a.server_id)?;
    }
    let auths = base.child("AppAuth")?;
    c.add_uri(&auths, &Payload::interior(), now)?;
    for au in &a.auths {
        let e = auths.child(au.level.as_str())?;
        c.add_uri(&e, &Payload::interior(), now)?;
        leaf(&e.child("AAuthLevel")?, au.level.as_str())?;
        leaf(&e.child("AAuthType")?, au.auth_type.as_str())?;
        if let Some(n) = &au.name {
            leaf(&e.child("AAuthName")?, n)?;
        }
        if let Some(s) = &au.secret {
            leaf(&e.child("AAuthSecret")?, s)?;
        }
        if let Some(n) = &au.nonce {
            let b64 = base64::engine::general_purpose::STANDARD.encode(n);
            c.add_uri(
                &e.child("AAuthData")?,
                &Payload::leaf(Format::B64, b64),
                now,
            )?;
        }
    }
    Ok(())
}

fn read_account(c: &Ctx<'_>, base: &Uri, server_id: &str) -> Result<Account, TreeError> {
    let mut acc = Account {
        node: base.name().to_string(),
        server_id: server_id.to_string(),
        name: text(c, &base.child("Name")?)?,
        pref_con_ref: text(c, &base.child("PrefConRef")?)?,
        addrs: Vec::new(),
        auths: Vec::new(),
        // Only the exact value the device writes counts.
        allow_unauthenticated_server: text(c, &base.child("Ext")?.child(OPT_OUT)?)?.as_deref()
            == Some("true"),
    };
    let addrs = base.child("AppAddr")?;
    for name in c.db.children(&addrs)? {
        let e = addrs.child(&name)?;
        acc.addrs.push(AppAddr {
            addr: text(c, &e.child("Addr")?)?.unwrap_or_default(),
            addr_type: text(c, &e.child("AddrType")?)?.unwrap_or_default(),
        });
    }
    let auths = base.child("AppAuth")?;
    for name in c.db.children(&auths)? {
        let e = auths.child(&name)?;
        let level = text(c, &e.child("AAuthLevel")?)?.and_then(|s| AuthLevel::parse(&s));
        let auth_type = text(c, &e.child("AAuthType")?)?.and_then(|s| AuthType::parse(&s));
        let (Some(level), Some(auth_type)) = (level, auth_type) else {
            tracing::warn!(target: "dmsched::tree", entry = %e, "credential with an unknown level or type skipped");
            continue;
        };
        let nonce = text(c, &e.child("AAuthData")?)?.and_then(|s| {
            let compact: String = s.chars().filter(|ch| !ch.is_ascii_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .ok()
        });
        acc.auths.push(AppAuth {
            level,
            auth_type,
            name: text(c, &e.child("AAuthName")?)?,
            secret: text(c, &e.child("AAuthSecret")?)?,
            nonce,
        });
    }
    Ok(acc)
}

/// 16 hex digits of the SHA-256 of a server id: unique enough to tell two
/// ids apart in a node or file name.
pub fn id_digest(server_id: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, server_id.as_bytes());
    digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
