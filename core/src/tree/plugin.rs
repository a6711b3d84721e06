//! Plug-ins: code that answers for a subtree (`./DevDetail/Ext/Battery`,
//! `./Scheduling`) instead of stored nodes, and handlers for Exec.
//!
//! The tree keeps a stored *anchor* node at the plug-in root that carries
//! the ACL (and Title); every URI strictly below the root has the root's
//! effective ACL. The tree checks that ACL before it calls the plug-in, so a
//! plug-in sees only commands the server has the right to send. The plug-in
//! checks its own structure and formats and answers with [`TreeError`]s
//! (any DM status via [`TreeError::with_status`]).
//!
//! Atomic: the tree calls [`NodeHandler::begin`], [`NodeHandler::commit`]
//! and [`NodeHandler::rollback`] on every plug-in when a DM Atomic starts and
//! ends. The defaults do nothing, so a plug-in that does not implement them
//! keeps its side effects when an Atomic is rolled back.
//!
//! Threads and re-entrance: the tree calls plug-ins while it holds its
//! lock, from the thread that called the tree. A plug-in must not call back
//! into the same tree (it would deadlock).

use std::sync::Arc;

use super::acl::{Acl, AclCmd};
use super::ddf::Ddf;
use super::error::{TreeError, not_allowed};
use super::format::Format;
use super::node::{ExecResult, Payload};
use super::uri::Uri;

/// What a plug-in node is.
#[derive(Clone, PartialEq, Eq)]
pub enum PluginNode {
    /// An interior node with an optional DDF type.
    Interior {
        /// Type property.
        mime: Option<String>,
    },
    /// A leaf.
    Leaf {
        /// Format.
        format: Format,
        /// MIME type.
        mime: Option<String>,
        /// Value.
        data: Vec<u8>,
    },
}

impl std::fmt::Debug for PluginNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginNode::Interior { mime } => {
                f.debug_struct("Interior").field("mime", mime).finish()
            }
            PluginNode::Leaf { format, mime, data } => f
                .debug_struct("Leaf")
                .field("format", format)
                .field("mime", mime)
                .field("len", &data.len())
                .finish(),
        }
    }
}

impl PluginNode {
    /// A `chr` leaf.
    pub fn chr(text: &str) -> PluginNode {
        PluginNode::Leaf {
            format: Format::Chr,
            mime: Some("text/plain".into()),
            data: text.as_bytes().to_vec(),
        }
    }

    /// An `int` leaf.
    pub fn int(v: i32) -> PluginNode {
        PluginNode::Leaf {
            format: Format::Int,
            mime: Some("text/plain".into()),
            data: v.to_string().into_bytes(),
        }
    }

    /// A `bool` leaf.
    pub fn bool(v: bool) -> PluginNode {
        PluginNode::Leaf {
            format: Format::Bool,
            mime: Some("text/plain".into()),
            data: v.to_string().into_bytes(),
        }
    }
}

/// A plug-in's read-only view of the stored tree while it handles a
/// command, for decisions that depend on the rest of the tree (the
/// Scheduling MO checks a schedule's targets against its owner's rights
/// when it is installed). It sees the changes of the open transaction.
pub trait TreeRights {
    /// Whether `server` may run `cmd` on `uri` by the tree's ACLs; `None`
    /// when that is not knowable now: `uri` is not a stored node (absent,
    /// malformed) or is served by a plug-in.
    fn may(&self, server: &str, cmd: AclCmd, uri: &str) -> Option<bool>;
}

/// A subtree served by code. `uri` is always at or below the root the
/// handler was registered for; `server` is the acting server id (`None`
/// when the device itself acts).
pub trait NodeHandler: Send + Sync {
    /// The node at `uri`, or `None` if there is none.
    fn get(&self, server: Option<&str>, uri: &Uri) -> Result<Option<PluginNode>, TreeError>;

    /// The child names of the interior node `uri`.
    fn children(&self, server: Option<&str>, uri: &Uri) -> Result<Vec<String>, TreeError> {
        let _ = (server, uri);
        Ok(Vec::new())
    }

    /// Adds `uri` (below the root). Default: 405.
    fn add(&self, server: Option<&str>, uri: &Uri, payload: &Payload) -> Result<(), TreeError> {
        let _ = (server, payload);
        Err(not_allowed(format!("Add is not supported on {uri}")))
    }

    /// Replaces the value of `uri`. Default: 405.
    fn replace(&self, server: Option<&str>, uri: &Uri, payload: &Payload) -> Result<(), TreeError> {
        let _ = (server, payload);
        Err(not_allowed(format!("Replace is not supported on {uri}")))
    }

    /// Deletes `uri` (below the root) and its subtree. Default: 405.
    fn delete(&self, server: Option<&str>, uri: &Uri) -> Result<(), TreeError> {
        let _ = server;
        Err(not_allowed(format!("Delete is not supported on {uri}")))
    }

    /// Executes `uri`. Default: 405.
    fn exec(
        &self,
        server: Option<&str>,
        uri: &Uri,
        data: Option<&[u8]>,
        correlator: Option<&str>,
    ) -> Result<ExecResult, TreeError> {
        let _ = (server, data, correlator);
        Err(not_allowed(format!("{uri} is not executable")))
    }

    /// The ACL (`?prop=ACL`) of `uri` (below the root), read by `server`
    /// once [`NodeHandler::get`] found the node. Default: empty (inherits
    /// the plug-in root's).
    fn acl(&self, server: Option<&str>, uri: &Uri) -> Result<String, TreeError> {
        let _ = (server, uri);
        Ok(String::new())
    }

    /// Replace of `uri?prop=ACL` (below the root) by `server`, with a
    /// well-formed `acl`; the plug-in decides who may. Default: 405.
    fn set_acl(&self, server: Option<&str>, uri: &Uri, acl: &Acl) -> Result<(), TreeError> {
        let _ = (server, acl);
        Err(not_allowed(format!(
            "the ACL of {uri} is decided by its plug-in"
        )))
    }

    /// [`NodeHandler::add`] with a view of the rest of the tree, which the
    /// tree calls. Default: `add`.
    fn add_in(
        &self,
        server: Option<&str>,
        uri: &Uri,
        payload: &Payload,
        tree: &dyn TreeRights,
    ) -> Result<(), TreeError> {
        let _ = tree;
        self.add(server, uri, payload)
    }

    /// [`NodeHandler::replace`] with a view of the tree. Default: `replace`.
    fn replace_in(
        &self,
        server: Option<&str>,
        uri: &Uri,
        payload: &Payload,
        tree: &dyn TreeRights,
    ) -> Result<(), TreeError> {
        let _ = tree;
        self.replace(server, uri, payload)
    }

    /// [`NodeHandler::exec`] with a view of the tree. Default: `exec`.
    fn exec_in(
        &self,
        server: Option<&str>,
        uri: &Uri,
        data: Option<&[u8]>,
        correlator: Option<&str>,
        tree: &dyn TreeRights,
    ) -> Result<ExecResult, TreeError> {
        let _ = tree;
        self.exec(server, uri, data, correlator)
    }

    /// [`NodeHandler::commit`] with a view of the tree. Default: `commit`.
    fn commit_in(&self, tree: &dyn TreeRights) -> Result<(), TreeError> {
        let _ = tree;
        self.commit()
    }

    /// An Add to `./Inbox/…` (OMA DM StdObj, "Inbox"): return `Ok(true)` to
    /// claim it (and put the object where it belongs), `Ok(false)` to let
    /// another plug-in try. Called for every plug-in in registration order.
    fn inbox_add(
        &self,
        server: Option<&str>,
        uri: &Uri,
        payload: &Payload,
    ) -> Result<bool, TreeError> {
        let _ = (server, uri, payload);
        Ok(false)
    }

    /// A DM Atomic starts.
    fn begin(&self) -> Result<(), TreeError> {
        Ok(())
    }

    /// The Atomic succeeded; make its changes permanent.
    fn commit(&self) -> Result<(), TreeError> {
        Ok(())
    }

    /// The Atomic failed; undo the changes made since [`NodeHandler::begin`].
    fn rollback(&self) {}
}

/// Executes one stored node (`./DevDetail/Ext/Reboot`).
pub trait ExecHandler: Send + Sync {
    /// Runs the node for `server` (`None` = the device) with the Exec's
    /// data and correlator.
    fn exec(
        &self,
        server: Option<&str>,
        uri: &Uri,
        data: Option<&[u8]>,
        correlator: Option<&str>,
    ) -> Result<ExecResult, TreeError>;
}

impl<F> ExecHandler for F
where
    F: Fn(Option<&str>, &Uri, Option<&[u8]>) -> Result<ExecResult, TreeError> + Send + Sync,
{
    fn exec(
        &self,
        server: Option<&str>,
        uri: &Uri,
        data: Option<&[u8]>,
        _correlator: Option<&str>,
    ) -> Result<ExecResult, TreeError> {
        self(server, uri, data)
    }
}

/// Plug-ins, exec handlers and descriptions.
#[derive(Default)]
pub(crate) struct Registry {
    pub handlers: Vec<(Uri, Arc<dyn NodeHandler>)>,
    pub execs: Vec<(Uri, Arc<dyn ExecHandler>)>,
    pub ddf: Ddf,
}

impl Registry {
    /// The plug-in whose root is `uri` or an ancestor of it.
    pub fn handler_for(&self, uri: &Uri) -> Option<(&Uri, &Arc<dyn NodeHandler>)> {
        self.handlers
            .iter()
            .find(|(root, _)| uri.is_within(root))
            .map(|(r, h)| (r, h))
    }

    /// True if a plug-in root lies strictly below `uri`.
    pub fn has_handler_below(&self, uri: &Uri) -> bool {
        self.handlers
            .iter()
            .any(|(root, _)| root != uri && root.is_within(uri))
    }

    pub fn exec_for(&self, uri: &Uri) -> Option<&Arc<dyn ExecHandler>> {
        self.execs.iter().find(|(u, _)| u == uri).map(|(_, h)| h)
    }
}
