//! The context of one tree call — who acts, the connection, the plug-ins —
//! and what every command needs from it: finding a node (stored or served
//! by a plug-in) and checking ACL rights with inheritance (OMA DM TND 1.2
//! §7.7.1).

use std::sync::Arc;

use jiff::Timestamp;

use super::acl::{Acl, AclCmd};
use super::db::{Db, NodeRow};
use super::ddf::{AccessTypes, Matched};
use super::error::{TreeError, denied, not_found};
use super::handle::TreeConfig;
use super::plugin::{NodeHandler, PluginNode, Registry};
use super::uri::Uri;

/// Who runs a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Who<'a> {
    /// A DM server, by server id: ACLs and access types apply.
    Server(&'a str),
    /// The device itself (standard MOs, provisioning): neither applies.
    Device,
}

impl<'a> Who<'a> {
    pub fn server(self) -> Option<&'a str> {
        match self {
            Who::Server(s) => Some(s),
            Who::Device => None,
        }
    }
}

/// A node found in the tree.
pub(crate) enum Found<'r> {
    /// A stored node.
    Stored(NodeRow),
    /// A node served by a plug-in (the plug-in root included).
    Plugin {
        root: &'r Uri,
        handler: &'r Arc<dyn NodeHandler>,
        node: PluginNode,
    },
}

impl Found<'_> {
    pub fn is_interior(&self) -> bool {
        match self {
            Found::Stored(r) => r.is_interior(),
            Found::Plugin { node, .. } => matches!(node, PluginNode::Interior { .. }),
        }
    }
}

/// One call's view of the tree.
pub(crate) struct Ctx<'a> {
    pub db: &'a Db,
    pub reg: &'a Registry,
    pub cfg: &'a TreeConfig,
    pub who: Who<'a>,
}

/// `YYYYMMDDTHHMMSSZ` (TND 1.2 §7.11 TStamp).
pub(crate) fn tstamp(now: Timestamp) -> String {
    now.strftime("%Y%m%dT%H%M%SZ").to_string()
}

impl super::plugin::TreeRights for Ctx<'_> {
    fn may(&self, server: &str, cmd: AclCmd, uri: &str) -> Option<bool> {
        let uri = Uri::parse(uri).ok()?;
        if self.reg.handler_for(&uri).is_some() || !self.db.exists(&uri).ok()? {
            return None;
        }
        Some(self.effective_acl(&uri).ok()?.allows(cmd, server))
    }
}

impl<'a> Ctx<'a> {
    /// The node at `uri`, stored or served.
    pub fn find(&self, uri: &Uri) -> Result<Option<Found<'a>>, TreeError> {
        if let Some((root, handler)) = self.reg.handler_for(uri) {
            let node = handler.get(self.who.server(), uri)?;
            let node = match node {
                Some(n) => n,
                None if uri == root => PluginNode::Interior {
                    mime: self.db.node(root)?.and_then(|r| r.mime),
                },
                None => return Ok(None),
            };
            return Ok(Some(Found::Plugin {
                root,
                handler,
                node,
            }));
        }
        Ok(self.db.node(uri)?.map(Found::Stored))
    }

    /// The node at `uri` for a Get-like command: 404 (or 425, see
    /// [`Ctx::missing`]) if absent, 425 without the Get right. Below a
    /// plug-in root the right is checked before the plug-in is asked.
    pub fn find_readable(&self, uri: &Uri) -> Result<Found<'a>, TreeError> {
        let served = self.reg.handler_for(uri).is_some();
        if served {
            self.check(AclCmd::Get, uri)?;
        }
        let found = self.find(uri)?.ok_or_else(|| self.missing(uri))?;
        if !served {
            self.check(AclCmd::Get, uri)?;
        }
        Ok(found)
    }

    /// The child names of an interior node.
    pub fn children_of(&self, uri: &Uri, found: &Found<'_>) -> Result<Vec<String>, TreeError> {
        match found {
            Found::Stored(_) => self.db.children(uri),
            Found::Plugin { handler, .. } => handler.children(self.who.server(), uri),
        }
    }

    /// The ACL in force at `uri`: its own if not empty, else the nearest
    /// ancestor's; below a plug-in root, the root's. The root's empty ACL
    /// means the configured default.
    pub fn effective_acl(&self, uri: &Uri) -> Result<Acl, TreeError> {
        let start = match self.reg.handler_for(uri) {
            Some((root, _)) => root.clone(),
            None => uri.clone(),
        };
        for u in start.ancestors_and_self() {
            if let Some(text) = self.db.acl(&u)?
                && !text.is_empty()
            {
                return Acl::parse(&text);
            }
        }
        Ok(self.cfg.root_acl.clone())
    }

    /// True if the acting party may run `cmd` on `uri` (the device always may).
    pub fn may(&self, cmd: AclCmd, uri: &Uri) -> Result<bool, TreeError> {
        match self.who {
            Who::Device => Ok(true),
            Who::Server(s) => Ok(self.effective_acl(uri)?.allows(cmd, s)),
        }
    }

    /// 425 unless the acting party may run `cmd` on `uri`.
    pub fn check(&self, cmd: AclCmd, uri: &Uri) -> Result<(), TreeError> {
        if self.may(cmd, uri)? {
            Ok(())
        } else {
            Err(denied(
                self.who.server().unwrap_or("device"),
                cmd.as_str(),
                uri.as_str(),
            ))
        }
    }

    /// The error for a missing node: 404, or 425 when the server may not
    /// even read the nearest existing ancestor (so that existence does not
    /// leak through a protected subtree).
    pub fn missing(&self, uri: &Uri) -> TreeError {
        if let Who::Server(s) = self.who {
            for a in uri.ancestors_and_self().into_iter().skip(1) {
                match self.db.exists(&a) {
                    Ok(true) => {
                        if let Ok(acl) = self.effective_acl(&a)
                            && !acl.allows(AclCmd::Get, s)
                        {
                            return denied(s, "Get", a.as_str());
                        }
                        break;
                    }
                    Ok(false) => continue,
                    Err(e) => return e,
                }
            }
        }
        not_found(uri.as_str())
    }

    /// The description of `uri`, if one is registered.
    pub fn desc(&self, uri: &Uri) -> Option<Matched> {
        self.reg.ddf.lookup(uri)
    }

    /// 405 if a server runs a command the description of `uri` forbids.
    pub fn check_access(&self, uri: &Uri, cmd: AccessTypes, what: &str) -> Result<(), TreeError> {
        if let (Who::Server(_), Some(m)) = (self.who, self.desc(uri)) {
            m.desc.require(cmd, what, uri)?;
        }
        Ok(())
    }

    /// True if the value of `uri` is never returned (a secret).
    pub fn is_secret(&self, uri: &Uri) -> bool {
        self.desc(uri).is_some_and(|m| m.desc.secret)
    }

    /// The value to store for `uri`: a secret goes to the secret store
    /// under a fresh key (before the transaction that references it
    /// commits) and the row keeps the reference; anything else as it is.
    pub fn seal(&self, uri: &Uri, value: Vec<u8>) -> Result<Vec<u8>, TreeError> {
        match &self.cfg.secrets {
            Some(store) if self.is_secret(uri) && super::secrets::key_of(&value).is_none() => {
                let key =
                    super::secrets::new_key().map_err(|e| TreeError::Failed(e.to_string()))?;
                store
                    .put(&key, &value)
                    .map_err(|e| TreeError::Failed(e.to_string()))?;
                Ok(format!("{}{key}", super::secrets::SECRET_REF).into_bytes())
            }
            _ => Ok(value),
        }
    }

    /// A stored value as it was given: a secret's reference resolved.
    pub fn unseal(&self, uri: &Uri, stored: Vec<u8>) -> Result<Vec<u8>, TreeError> {
        let (Some(store), Some(key)) = (&self.cfg.secrets, super::secrets::key_of(&stored)) else {
            return Ok(stored);
        };
        if !self.is_secret(uri) {
            return Ok(stored);
        }
        store
            .get(key)
            .map_err(|e| TreeError::Failed(e.to_string()))?
            .ok_or_else(|| {
                TreeError::Failed(format!(
                    "the secret of {uri} is missing from the secret store"
                ))
            })
    }

    /// 413 if `data` is larger than the configured limit.
    pub fn check_size(&self, data: &[u8]) -> Result<(), TreeError> {
        if data.len() > self.cfg.max_value_len {
            return Err(TreeError::TooLarge(format!(
                "value of {} bytes, the limit is {}",
                data.len(),
                self.cfg.max_value_len
            )));
        }
        Ok(())
    }
}
