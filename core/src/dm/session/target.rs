//! What a DM session manages: the [`ManagementTree`] seam between the
//! protocol and a DM tree. The SDK's own tree implements it
//! (`crate::tree`); a host with a tree of its own can implement it to use
//! the SDK's session, authentication and transport with that tree.

use crate::dm::auth::Nonce;

/// A command failed with a DM status code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DmStatus {
    /// The code (403, 404, 405, 418, 425, 500 …).
    pub code: u16,
    /// Why, for logs (never sent to the server).
    pub message: String,
}

impl DmStatus {
    /// A status with a message.
    pub fn new(code: u16, message: impl Into<String>) -> DmStatus {
        DmStatus {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for DmStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.code, self.message)
    }
}

/// One node value as a Get returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeData {
    /// The node's URI (for `?list=` results, each node of the subtree).
    pub uri: String,
    /// Meta Format (`chr`, `int`, `node` …).
    pub format: Option<String>,
    /// Meta Type.
    pub mime: Option<String>,
    /// The value (an interior node: its child names joined by `/`).
    pub data: Vec<u8>,
}

/// The value carried by an Add or Replace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value<'a> {
    /// Meta Format (absent: `chr`; `node` for an interior node).
    pub format: Option<&'a str>,
    /// Meta Type.
    pub mime: Option<&'a str>,
    /// The data (absent for an interior node).
    pub data: Option<&'a [u8]>,
}

/// Which way a nonce authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NonceFor {
    /// The device's credential toward the server (AppAuth CLCRED):
    /// chosen by the server in a Chal.
    Client,
    /// The server's credential toward the device (AppAuth SRVCRED, and the
    /// package #0 digest): chosen by the device.
    Server,
}

/// The DM tree a session executes server commands on, with the rights of
/// the server named in each call. Every method answers with a DM status
/// code on success (200, 202 …) or a [`DmStatus`] on failure, and must not
/// lose stored data when it fails.
pub trait ManagementTree {
    /// Get: the node, or with `?list=` in `uri` the nodes of a subtree,
    /// or with `?prop=` the property value.
    fn get(&self, server: &str, uri: &str) -> Result<Vec<NodeData>, DmStatus>;
    /// Add a node (418 if it exists).
    fn add(&self, server: &str, uri: &str, value: Value<'_>) -> Result<u16, DmStatus>;
    /// Replace a node's value or property (404 if it does not exist).
    fn replace(&self, server: &str, uri: &str, value: Value<'_>) -> Result<u16, DmStatus>;
    /// Delete a node and its subtree.
    fn delete(&self, server: &str, uri: &str) -> Result<u16, DmStatus>;
    /// Copy `source` to `target`.
    fn copy(&self, server: &str, source: &str, target: &str) -> Result<u16, DmStatus>;
    /// Exec a node. Returns 200 (done) or 202 (accepted: the result comes
    /// later as a Generic Alert 1226 carrying `correlator`), and optional
    /// result data.
    fn exec(
        &self,
        server: &str,
        uri: &str,
        data: Option<&[u8]>,
        correlator: Option<&str>,
    ) -> Result<(u16, Option<Vec<u8>>), DmStatus>;
    /// Starts an Atomic block: changes until [`ManagementTree::commit`] or
    /// [`ManagementTree::rollback`] are undone together.
    fn begin(&self) -> Result<(), DmStatus>;
    /// Ends an Atomic block, keeping its changes.
    fn commit(&self) -> Result<(), DmStatus>;
    /// Ends an Atomic block, undoing its changes.
    fn rollback(&self) -> Result<(), DmStatus>;
    /// The `./DevInfo` leaves (URI, value) that package 1 carries.
    fn dev_info(&self) -> Result<Vec<(String, String)>, DmStatus>;
    /// Stores a new nonce for `server_id`'s account, durably, before the
    /// session acts on it.
    fn save_nonce(&self, server_id: &str, which: NonceFor, nonce: &Nonce) -> Result<(), DmStatus>;
    /// Records, durably, that `server_id`'s stored server nonce
    /// authenticated a message in the session `session_id`, until
    /// [`ManagementTree::save_nonce`] stores a new server nonce (which must
    /// forget it). The next [`Account::server_nonce_used_in`](super::Account::server_nonce_used_in)
    /// of that server is `Some(session_id)` then: a later session with the
    /// same id refuses that nonce (replay defence).
    fn save_nonce_use(&self, server_id: &str, session_id: u16) -> Result<(), DmStatus>;

    /// Called after each top-level command (an Atomic or Sequence counts as
    /// one) has been answered: a tree with deferred work (the Scheduling
    /// MO applying schedules to its engine) does it here, outside any
    /// command. The default does nothing.
    fn settle(&self) {}
}
