//! The mutating DM commands on the tree — Add, Replace (of a value), Delete,
//! Copy, Exec — with their ACL rules (OMA DM TND 1.2 §7.7.1) and DDF checks
//! (access types, occurrence, scope, format).

use jiff::Timestamp;

use super::acl::{Acl, AclCmd};
use super::ctx::{Ctx, Found, Who, tstamp};
use super::db::NodeRow;
use super::ddf::{AccessTypes, Occurrence, Scope};
use super::error::{TreeError, bad, not_allowed};
use super::format::Format;
use super::node::{ExecResult, Payload};
use super::plugin::PluginNode;
use super::uri::{Target, Uri};

/// The standard Inbox (OMA DM StdObj 1.2 §5.4).
pub(crate) const INBOX: &str = "./Inbox";

impl Ctx<'_> {
    /// Parses a target that must not carry a query.
    pub(crate) fn plain_uri(&self, target: &str, what: &str) -> Result<Uri, TreeError> {
        let t = Target::parse(target, &self.cfg.limits)?;
        if t.query.is_some() {
            return Err(not_allowed(format!(
                "{what} does not take a query: {target}"
            )));
        }
        Ok(t.uri)
    }

    pub(crate) fn add(
        &self,
        target: &str,
        payload: &Payload,
        now: Timestamp,
    ) -> Result<(), TreeError> {
        let uri = self.plain_uri(target, "Add")?;
        self.add_uri(&uri, payload, now)
    }

    pub(crate) fn add_uri(
        &self,
        uri: &Uri,
        payload: &Payload,
        now: Timestamp,
    ) -> Result<(), TreeError> {
        let Some(parent) = uri.parent() else {
            return Err(TreeError::AlreadyExists("the root always exists".into()));
        };
        if let Some((root, h)) = self.reg.handler_for(uri) {
            if uri == root {
                return Err(TreeError::AlreadyExists(format!("{uri} already exists")));
            }
            self.check(AclCmd::Add, &parent)?;
            self.check_size(&payload.data)?;
            return h.add_in(self.who.server(), uri, payload, self);
        }
        let inbox = Uri::parse(INBOX)?;
        if uri != &inbox && uri.is_within(&inbox) {
            return self.inbox_add(&inbox, uri, payload);
        }
        if self.db.exists(uri)? {
            return Err(TreeError::AlreadyExists(format!("{uri} already exists")));
        }
        let prow = self
            .db
            .node(&parent)?
            .ok_or_else(|| self.missing(&parent))?;
        if !prow.is_interior() {
            return Err(not_allowed(format!(
                "{parent} is a leaf and cannot have children"
            )));
        }
        self.check(AclCmd::Add, &parent)?;
        let format = payload.format.unwrap_or(Format::Chr);
        if let Who::Server(_) = self.who {
            self.check_structure_for_add(uri, &parent, format, &payload.data)?;
        }
        self.check_size(&payload.data)?;
        let value = self.seal(uri, format.validate(&payload.data)?)?;
        let acl = match self.who {
            Who::Server(s) if !self.may(AclCmd::Replace, &parent)? => Acl::only(
                s,
                &[AclCmd::Add, AclCmd::Delete, AclCmd::Get, AclCmd::Replace],
            )?
            .to_string(),
            _ => String::new(),
        };
        let mime = match (&payload.mime, format) {
            (Some(m), _) => Some(m.clone()),
            (None, Format::Node) => None,
            (None, _) => Some("text/plain".to_string()),
        };
        let ts = tstamp(now);
        self.db.insert(&NodeRow {
            uri: uri.clone(),
            format,
            mime,
            value,
            acl,
            title: None,
            tstamp: ts.clone(),
            verno: 0,
        })?;
        self.db.touch(&parent, &ts)
    }

    /// The DDF rules for a server's Add of `uri` under `parent`.
    fn check_structure_for_add(
        &self,
        uri: &Uri,
        parent: &Uri,
        format: Format,
        data: &[u8],
    ) -> Result<(), TreeError> {
        match self.desc(uri) {
            Some(m) => {
                m.desc.require(AccessTypes::ADD, "Add", uri)?;
                if m.placeholder
                    && let Some(rule) = m.desc.names
                    && !rule(uri.name())
                {
                    return Err(bad(format!("{:?} is not an allowed name here", uri.name())));
                }
                if m.placeholder
                    && matches!(m.desc.occurrence, Occurrence::One | Occurrence::ZeroOrOne)
                {
                    for name in self.db.children(parent)? {
                        let sib = parent.child(&name)?;
                        if self.reg.ddf.entry_of(&sib) == Some(m.entry) {
                            return Err(not_allowed(format!(
                                "{parent} may hold only one such node ({sib} exists)"
                            )));
                        }
                    }
                }
                m.desc.check_value(uri, format, data)
            }
            None => match self.desc(parent) {
                Some(p) if !p.desc.open => Err(not_allowed(format!(
                    "{parent} does not accept the undescribed child {}",
                    uri.name()
                ))),
                _ => Ok(()),
            },
        }
    }

    fn inbox_add(&self, inbox: &Uri, uri: &Uri, payload: &Payload) -> Result<(), TreeError> {
        self.check(AclCmd::Add, inbox)?;
        self.check_size(&payload.data)?;
        for (_, h) in &self.reg.handlers {
            if h.inbox_add(self.who.server(), uri, payload)? {
                return Ok(());
            }
        }
        Err(not_allowed(format!(
            "no management object accepts {uri} from the Inbox"
        )))
    }

    /// Replace of a node's value (properties: see `props.rs`).
    pub(crate) fn replace_value(
        &self,
        uri: &Uri,
        payload: &Payload,
        now: Timestamp,
    ) -> Result<(), TreeError> {
        if let Some((_, h)) = self.reg.handler_for(uri) {
            self.check(AclCmd::Replace, uri)?;
            self.check_size(&payload.data)?;
            return h.replace_in(self.who.server(), uri, payload, self);
        }
        let mut row = self.db.node(uri)?.ok_or_else(|| self.missing(uri))?;
        self.check(AclCmd::Replace, uri)?;
        self.check_access(uri, AccessTypes::REPLACE, "Replace")?;
        if row.is_interior() {
            return Err(not_allowed(format!(
                "{uri} is an interior node; Replace its children"
            )));
        }
        let format = payload.format.unwrap_or(row.format);
        if format == Format::Node {
            return Err(not_allowed(format!(
                "{uri} is a leaf and cannot become interior"
            )));
        }
        if let Some(m) = self.desc(uri) {
            m.desc.check_value(uri, format, &payload.data)?;
        }
        self.check_size(&payload.data)?;
        row.value = self.seal(uri, format.validate(&payload.data)?)?;
        row.format = format;
        if let Some(m) = &payload.mime {
            row.mime = Some(m.clone());
        }
        row.tstamp = tstamp(now);
        row.verno = row.verno.wrapping_add(1);
        self.db.update(&row)
    }

    pub(crate) fn delete(&self, target: &str, now: Timestamp) -> Result<(), TreeError> {
        let uri = self.plain_uri(target, "Delete")?;
        let Some(parent) = uri.parent() else {
            return Err(not_allowed("the root cannot be deleted"));
        };
        if let Some((root, h)) = self.reg.handler_for(&uri) {
            if &uri == root {
                return Err(not_allowed(format!("{uri} is a plug-in root")));
            }
            self.check(AclCmd::Delete, &uri)?;
            return h.delete(self.who.server(), &uri);
        }
        if !self.db.exists(&uri)? {
            return Err(self.missing(&uri));
        }
        self.check(AclCmd::Delete, &uri)?;
        if let Who::Server(s) = self.who {
            for (d, text) in self.db.descendant_acls(&uri)? {
                if !Acl::parse(&text)?.allows(AclCmd::Delete, s) {
                    return Err(TreeError::PermissionDenied(format!(
                        "server {s:?} has no Delete right on {d}, inside {uri}"
                    )));
                }
            }
            self.check_structure_for_delete(&uri, &parent)?;
        }
        if self.reg.has_handler_below(&uri) {
            return Err(not_allowed(format!("{uri} holds a plug-in root")));
        }
        self.db.delete_subtree(&uri)?;
        self.db.touch(&parent, &tstamp(now))
    }

    fn check_structure_for_delete(&self, uri: &Uri, parent: &Uri) -> Result<(), TreeError> {
        let Some(m) = self.desc(uri) else {
            return Ok(());
        };
        m.desc.require(AccessTypes::DELETE, "Delete", uri)?;
        if m.desc.scope == Scope::Permanent || m.desc.occurrence == Occurrence::One {
            return Err(not_allowed(format!("{uri} is a permanent node")));
        }
        if m.desc.occurrence == Occurrence::OneOrMore {
            let mut same = 0;
            for name in self.db.children(parent)? {
                if self.reg.ddf.entry_of(&parent.child(&name)?) == Some(m.entry) {
                    same += 1;
                }
            }
            if same <= 1 {
                return Err(not_allowed(format!("{uri} is the last one of its kind")));
            }
        }
        Ok(())
    }

    pub(crate) fn copy(&self, target: &str, source: &str, now: Timestamp) -> Result<(), TreeError> {
        let to = self.plain_uri(target, "Copy")?;
        let from = self.plain_uri(source, "Copy")?;
        let found = self.find_readable(&from)?;
        self.check_access(&from, AccessTypes::GET, "Get")?;
        self.check_access(&from, AccessTypes::COPY, "Copy")?;
        if self.is_secret(&from) {
            return Err(not_allowed(format!("{from} cannot be read")));
        }
        let payload = match found {
            Found::Stored(r) if !r.is_interior() => Payload {
                format: Some(r.format),
                mime: r.mime,
                data: r.value,
            },
            Found::Plugin {
                node: PluginNode::Leaf { format, mime, data },
                ..
            } => Payload {
                format: Some(format),
                mime,
                data,
            },
            _ => {
                return Err(TreeError::NotSupported(format!(
                    "Copy of the interior node {from} is not supported"
                )));
            }
        };
        if self.find(&to)?.is_some() {
            self.replace_value(&to, &payload, now)
        } else {
            self.add_uri(&to, &payload, now)
        }
    }

    pub(crate) fn exec(
        &self,
        target: &str,
        data: Option<&[u8]>,
        correlator: Option<&str>,
    ) -> Result<ExecResult, TreeError> {
        let uri = self.plain_uri(target, "Exec")?;
        if let Some((_, h)) = self.reg.handler_for(&uri) {
            self.check(AclCmd::Exec, &uri)?;
            return h.exec_in(self.who.server(), &uri, data, correlator, self);
        }
        if !self.db.exists(&uri)? {
            return Err(self.missing(&uri));
        }
        self.check(AclCmd::Exec, &uri)?;
        self.check_access(&uri, AccessTypes::EXEC, "Exec")?;
        match self.reg.exec_for(&uri) {
            Some(h) => h.exec(self.who.server(), &uri, data, correlator),
            None => Err(not_allowed(format!("{uri} is not executable"))),
        }
    }

    /// Creates the stored anchor of a plug-in root (and missing ancestors).
    pub(crate) fn ensure_anchor(
        &self,
        root: &Uri,
        acl: Option<&Acl>,
        now: Timestamp,
    ) -> Result<(), TreeError> {
        let mut missing = Vec::new();
        for a in root.ancestors_and_self() {
            if self.db.exists(&a)? {
                break;
            }
            missing.push(a);
        }
        for (i, u) in missing.iter().rev().enumerate() {
            let last = i + 1 == missing.len();
            if let Some(p) = u.parent()
                && let Some(prow) = self.db.node(&p)?
                && !prow.is_interior()
            {
                return Err(not_allowed(format!("{p} is a leaf")));
            }
            let ts = tstamp(now);
            self.db.insert(&NodeRow {
                uri: u.clone(),
                format: Format::Node,
                mime: None,
                value: Vec::new(),
                acl: if last {
                    acl.map(Acl::to_string).unwrap_or_default()
                } else {
                    String::new()
                },
                title: None,
                tstamp: ts.clone(),
                verno: 0,
            })?;
            if let Some(p) = u.parent() {
                self.db.touch(&p, &ts)?;
            }
        }
        match self.db.node(root)? {
            Some(r) if !r.is_interior() => Err(not_allowed(format!("{root} is a stored leaf"))),
            _ => {
                if !self.db.descendants(root)?.is_empty() {
                    tracing::warn!(target: "dmsched::tree", root = %root, "stored nodes below a plug-in root are hidden");
                }
                Ok(())
            }
        }
    }
}
