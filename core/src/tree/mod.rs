//! The device's OMA DM management tree (OMA DM Tree and Description 1.2):
//! interior and leaf nodes with their properties, ACLs with inheritance,
//! node descriptions (access types, occurrence, formats), the standard MOs
//! (`./DevInfo`, `./DevDetail`, `./DMAcc`, `./Inbox`), plug-ins that serve
//! subtrees from code, DM Atomic support, and SQLite persistence in the
//! scheduling store's file.
//!
//! Every command takes the acting server id and returns a [`TreeError`]
//! whose [`TreeError::status`] is the DM status code to report. The tree
//! never reads a clock: mutating calls take `now` (TStamp, VerNo).
//!
//! ```text
//! uri     URIs, ?prop= / ?list= queries, limits (414)
//! acl     ACL grammar, canonical form
//! format  node formats and value checks
//! ddf     node descriptions (access types, occurrence, scope)
//! db      the tree_* tables and their migrations
//! ctx     who acts; finding nodes; effective ACLs
//! ops     Add, Replace, Delete, Copy, Exec
//! read    Get and listings
//! props   properties
//! atomic  begin / commit / rollback
//! plugin  NodeHandler, ExecHandler
//! standard, account   standard MOs and DM accounts
//! access  TreeAccess and ActionExecutor for the engine
//! ```
//!
//! Layering: the tree uses [`crate::host`], [`crate::model`] and
//! [`crate::expr`] only.

mod access;
mod account;
mod acl;
mod atomic;
mod ctx;
mod db;
mod ddf;
mod error;
mod format;
mod handle;
mod node;
mod ops;
mod plugin;
mod props;
mod read;
mod secrets;
mod standard;
mod uri;

pub use access::{Interactive, ScheduledAlerts};
pub use account::{Account, AppAddr, AppAuth, AuthLevel, AuthType, id_digest, server_auth_problem};
pub use acl::{Acl, AclCmd};
pub use db::TREE_SCHEMA_VERSION;
pub use ddf::{AccessTypes, NodeDesc, Occurrence, Scope};
pub use error::TreeError;
pub use format::{Format, parse_float, parse_int};
pub use handle::{DeviceAccess, Tree, TreeConfig};
pub use node::{ExecResult, Item, Payload};
pub use plugin::{ExecHandler, NodeHandler, PluginNode, TreeRights};
pub use secrets::{FileSecrets, MemorySecrets, SecretError, SecretStore};
pub use standard::{DM_VERSION, DeviceInfo};
pub use uri::{ListKind, Prop, Query, Target, Uri, UriLimits};
