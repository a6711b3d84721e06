//! Access control lists (OMA DM TND 1.2 §7.7.1): `Add=*&Get=srv1+srv2`.
//!
//! An ACL lists, per command, the server ids allowed to run it; `*` means
//! any server. An empty ACL means "inherit the nearest ancestor's"; the root
//! always has a non-empty ACL. Inheritance is of the whole ACL: a node whose
//! ACL names only `Get` grants no `Replace` to anyone.

use std::collections::BTreeSet;
use std::fmt;

use super::error::{TreeError, bad};

/// A command an ACL entry controls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AclCmd {
    /// Add a child.
    Add,
    /// Delete the node.
    Delete,
    /// Execute the node.
    Exec,
    /// Read the node.
    Get,
    /// Replace the node's value or properties.
    Replace,
}

impl AclCmd {
    /// Every command, in canonical order.
    pub const ALL: [AclCmd; 5] = [
        AclCmd::Add,
        AclCmd::Delete,
        AclCmd::Exec,
        AclCmd::Get,
        AclCmd::Replace,
    ];

    /// The name used in the ACL grammar.
    pub fn as_str(self) -> &'static str {
        match self {
            AclCmd::Add => "Add",
            AclCmd::Delete => "Delete",
            AclCmd::Exec => "Exec",
            AclCmd::Get => "Get",
            AclCmd::Replace => "Replace",
        }
    }

    fn parse(s: &str) -> Option<AclCmd> {
        AclCmd::ALL.into_iter().find(|c| c.as_str() == s)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Who an entry grants a command to.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
enum Grant {
    /// No entry for the command.
    #[default]
    None,
    /// `*`: every server.
    Any,
    /// These server ids.
    Servers(BTreeSet<String>),
}

/// A parsed ACL. [`Acl::default`] is the empty ACL (inherits).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Acl {
    grants: [Grant; 5],
}

impl Acl {
    /// Parses the ACL grammar strictly: `entry *("&" entry)`, `entry =
    /// cmd "=" id *("+" id)`, `cmd` one of Add, Delete, Exec, Get, Replace,
    /// each at most once; `id` is `*` or a server id without `&`, `+`, `=`,
    /// white space or control characters. The empty string is the empty ACL.
    /// A list containing `*` is `*`; repeated ids count once.
    pub fn parse(s: &str) -> Result<Acl, TreeError> {
        let mut acl = Acl::default();
        if s.is_empty() {
            return Ok(acl);
        }
        for entry in s.split('&') {
            let (cmd, ids) = entry
                .split_once('=')
                .ok_or_else(|| bad(format!("ACL entry {entry:?} has no '='")))?;
            let cmd =
                AclCmd::parse(cmd).ok_or_else(|| bad(format!("unknown ACL command {cmd:?}")))?;
            if acl.grants[cmd.index()] != Grant::None {
                return Err(bad(format!("ACL names {} twice", cmd.as_str())));
            }
            let mut servers = BTreeSet::new();
            let mut any = false;
            for id in ids.split('+') {
                if id == "*" {
                    any = true;
                } else {
                    validate_server_id(id)?;
                    servers.insert(id.to_string());
                }
            }
            acl.grants[cmd.index()] = if any {
                Grant::Any
            } else {
                Grant::Servers(servers)
            };
        }
        Ok(acl)
    }

    /// True if the ACL has no entry (the node inherits its parent's).
    pub fn is_empty(&self) -> bool {
        self.grants.iter().all(|g| *g == Grant::None)
    }

    /// True if `server` may run `cmd` according to this ACL alone.
    pub fn allows(&self, cmd: AclCmd, server: &str) -> bool {
        match &self.grants[cmd.index()] {
            Grant::None => false,
            Grant::Any => true,
            Grant::Servers(s) => s.contains(server),
        }
    }

    /// Grants `cmd` to `server` (in addition to whoever has it).
    pub fn grant(&mut self, cmd: AclCmd, server: &str) -> Result<(), TreeError> {
        validate_server_id(server)?;
        let g = &mut self.grants[cmd.index()];
        match g {
            Grant::Any => {}
            Grant::Servers(s) => {
                s.insert(server.to_string());
            }
            Grant::None => *g = Grant::Servers(BTreeSet::from([server.to_string()])),
        }
        Ok(())
    }

    /// Grants `cmd` to every server.
    pub fn grant_all(&mut self, cmd: AclCmd) {
        self.grants[cmd.index()] = Grant::Any;
    }

    /// The ACL `Add=*&Get=*`, the default of the root.
    pub fn root_default() -> Acl {
        let mut a = Acl::default();
        a.grant_all(AclCmd::Add);
        a.grant_all(AclCmd::Get);
        a
    }

    /// An ACL granting `cmds` to `server` only.
    pub fn only(server: &str, cmds: &[AclCmd]) -> Result<Acl, TreeError> {
        let mut a = Acl::default();
        for c in cmds {
            a.grant(*c, server)?;
        }
        Ok(a)
    }
}

/// Checks that `id` can appear in an ACL.
pub(crate) fn validate_server_id(id: &str) -> Result<(), TreeError> {
    if id.is_empty() {
        return Err(bad("empty server id in ACL"));
    }
    if id == "*"
        || id
            .chars()
            .any(|c| matches!(c, '&' | '+' | '=') || c.is_whitespace() || c.is_control())
    {
        return Err(bad(format!(
            "server id {id:?} cannot appear in an ACL (no '*', '&', '+', '=', spaces)"
        )));
    }
    Ok(())
}

impl fmt::Display for Acl {
    /// The canonical form: commands in the order Add, Delete, Exec, Get,
    /// Replace; ids sorted; `*` alone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for cmd in AclCmd::ALL {
            let ids = match &self.grants[cmd.index()] {
                Grant::None => continue,
                Grant::Any => "*".to_string(),
                Grant::Servers(s) => s.iter().cloned().collect::<Vec<_>>().join("+"),
            };
            if !first {
                f.write_str("&")?;
            }
            first = false;
            write!(f, "{}={}", cmd.as_str(), ids)?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Acl {
    type Err = TreeError;
    fn from_str(s: &str) -> Result<Acl, TreeError> {
        Acl::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_order_and_star() {
        let a = Acl::parse("Replace=b+a&Get=*+x&Add=a").unwrap();
        assert_eq!(a.to_string(), "Add=a&Get=*&Replace=a+b");
        assert!(a.allows(AclCmd::Get, "anyone"));
        assert!(!a.allows(AclCmd::Delete, "a"));
    }

    #[test]
    fn grant_merges() {
        let mut a = Acl::parse("Get=a").unwrap();
        a.grant(AclCmd::Get, "b").unwrap();
        a.grant(AclCmd::Exec, "c").unwrap();
        assert_eq!(a.to_string(), "Exec=c&Get=a+b");
        assert!(a.grant(AclCmd::Get, "a b").is_err());
    }
}
