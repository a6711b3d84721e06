//! Node properties (OMA DM TND 1.2 §7): Get of `?prop=ACL|Format|Type|
//! Name|Size|Title|TStamp|VerNo` and Replace of the writable ones — ACL,
//! Name (a rename of the subtree) and Title. Format, Size, TStamp and VerNo
//! are read-only (405); Type changes with a Replace of the value.
//!
//! Rights: reading any property needs Get on the node; replacing Name or
//! Title needs Replace on the node. Replacing the ACL (TND 1.2.1 §7.7.1.3
//! "Changing the ACL") needs Replace on the node's parent; for an interior
//! node Replace on the node itself also suffices (its ACL governs its own
//! properties), and the root, which has no parent, needs Replace on itself.
//! A leaf's own ACL never lets a server change that ACL.

use jiff::Timestamp;

use super::acl::{Acl, AclCmd};
use super::ctx::{Ctx, Found, Who, tstamp};
use super::error::{TreeError, bad, not_allowed};
use super::format::Format;
use super::node::{Item, Payload};
use super::plugin::PluginNode;
use super::uri::{Prop, Query, Target, Uri};

impl Ctx<'_> {
    pub(crate) fn get_prop(&self, t: &Target, p: Prop) -> Result<Item, TreeError> {
        let uri = &t.uri;
        let found = self.find_readable(uri)?;
        let plugin_root = matches!(&found, Found::Plugin { root, .. } if *root == uri);
        let anchor = match &found {
            Found::Stored(r) => Some(r.clone()),
            Found::Plugin { .. } if plugin_root => self.db.node(uri)?,
            Found::Plugin { .. } => None,
        };
        let unsupported =
            || TreeError::NotSupported(format!("{} is not kept for {uri}", p.as_str()));
        let (format, text) = match p {
            Prop::Acl => match &found {
                Found::Plugin { handler, .. } if !plugin_root => {
                    (Format::Chr, handler.acl(self.who.server(), uri)?)
                }
                _ => (Format::Chr, anchor.map(|a| a.acl).unwrap_or_default()),
            },
            Prop::Format => (Format::Chr, self.format_of(&found).as_str().to_string()),
            Prop::Type => (Format::Chr, self.mime_of(&found).unwrap_or_default()),
            Prop::Name => (Format::Chr, uri.name().to_string()),
            Prop::Size => {
                if found.is_interior() {
                    return Err(TreeError::NotSupported(format!(
                        "Size is a leaf property; {uri} is interior"
                    )));
                }
                if self.is_secret(uri) {
                    return Err(not_allowed(format!("the size of {uri} is not returned")));
                }
                let n = match &found {
                    Found::Stored(r) => r.value.len(),
                    Found::Plugin {
                        node: PluginNode::Leaf { data, .. },
                        ..
                    } => data.len(),
                    Found::Plugin { .. } => 0,
                };
                (Format::Int, n.to_string())
            }
            Prop::Title => (
                Format::Chr,
                anchor.ok_or_else(unsupported)?.title.unwrap_or_default(),
            ),
            Prop::TStamp | Prop::VerNo => {
                let Found::Stored(r) = &found else {
                    return Err(unsupported());
                };
                if p == Prop::TStamp {
                    (Format::Chr, r.tstamp.clone())
                } else {
                    (Format::Int, r.verno.to_string())
                }
            }
        };
        Ok(Item {
            uri: t.to_text(),
            format,
            mime: Some("text/plain".into()),
            data: Some(text.into_bytes()),
        })
    }

    fn format_of(&self, found: &Found<'_>) -> Format {
        match found {
            Found::Stored(r) => r.format,
            Found::Plugin {
                node: PluginNode::Leaf { format, .. },
                ..
            } => *format,
            Found::Plugin { .. } => Format::Node,
        }
    }

    fn mime_of(&self, found: &Found<'_>) -> Option<String> {
        match found {
            Found::Stored(r) => r.mime.clone(),
            Found::Plugin {
                node: PluginNode::Leaf { mime, .. } | PluginNode::Interior { mime },
                ..
            } => mime.clone(),
        }
    }

    /// Replace of a value or a property.
    pub(crate) fn replace(
        &self,
        target: &str,
        payload: &Payload,
        now: Timestamp,
    ) -> Result<(), TreeError> {
        let t = Target::parse(target, &self.cfg.limits)?;
        match t.query {
            None => self.replace_value(&t.uri, payload, now),
            Some(Query::Prop(p)) => self.replace_prop(&t.uri, p, &payload.data, now),
            Some(Query::List(_)) => Err(not_allowed("Replace of a listing")),
        }
    }

    fn replace_prop(
        &self,
        uri: &Uri,
        p: Prop,
        data: &[u8],
        now: Timestamp,
    ) -> Result<(), TreeError> {
        let text = std::str::from_utf8(data)
            .map_err(|_| bad(format!("{} must be UTF-8 text", p.as_str())))?;
        if let Some((root, h)) = self.reg.handler_for(uri)
            && root != uri
            && p == Prop::Acl
        {
            // Below a plug-in root the plug-in keeps (and guards) ACLs.
            return h.set_acl(self.who.server(), uri, &Acl::parse(text)?);
        }
        if let Some((root, _)) = self.reg.handler_for(uri)
            && (root != uri || p == Prop::Name)
        {
            return Err(not_allowed(format!(
                "{} of {uri} is decided by its plug-in",
                p.as_str()
            )));
        }
        let mut row = self.db.node(uri)?.ok_or_else(|| self.missing(uri))?;
        match p {
            Prop::Acl => {
                let by_parent = match uri.parent() {
                    Some(p) => self.may(AclCmd::Replace, &p)?,
                    None => false,
                };
                let by_self = row.is_interior() && self.may(AclCmd::Replace, uri)?;
                if !by_parent && !by_self {
                    let on = match uri.parent() {
                        Some(p) if !row.is_interior() => p,
                        _ => uri.clone(),
                    };
                    self.check(AclCmd::Replace, &on)?;
                }
                let acl = Acl::parse(text)?;
                if uri.is_root() && acl.is_empty() {
                    return Err(bad("the root's ACL cannot be empty"));
                }
                row.acl = acl.to_string();
            }
            Prop::Title => {
                self.check(AclCmd::Replace, uri)?;
                row.title = Some(text.to_string());
            }
            Prop::Name => return self.rename(uri, text, now),
            Prop::Format | Prop::Type | Prop::Size | Prop::TStamp | Prop::VerNo => {
                return Err(not_allowed(format!("{} cannot be replaced", p.as_str())));
            }
        }
        row.tstamp = tstamp(now);
        row.verno = row.verno.wrapping_add(1);
        self.db.update(&row)
    }

    /// Replace of `?prop=Name`: moves the subtree to a new sibling name.
    fn rename(&self, uri: &Uri, name: &str, now: Timestamp) -> Result<(), TreeError> {
        let Some(parent) = uri.parent() else {
            return Err(not_allowed("the root cannot be renamed"));
        };
        self.check(AclCmd::Replace, uri)?;
        if self.reg.has_handler_below(uri) {
            return Err(not_allowed(format!("{uri} holds a plug-in root")));
        }
        let to = parent.child(name)?;
        if &to == uri {
            return Ok(());
        }
        self.cfg.limits.check(&to)?;
        let longest = self.db.longest_uri_in(uri)?;
        let grown = longest + to.as_str().len() - uri.as_str().len().min(longest);
        if self.cfg.limits.max_tot_len > 0 && grown > self.cfg.limits.max_tot_len {
            return Err(TreeError::UriTooLong(format!(
                "renaming {uri} makes a URI of {grown} bytes"
            )));
        }
        if self.find(&to)?.is_some() {
            return Err(TreeError::AlreadyExists(format!("{to} already exists")));
        }
        if let Who::Server(_) = self.who {
            let (old, new) = (self.desc(uri), self.desc(&to));
            match (&old, &new) {
                (None, None) => {}
                (Some(o), Some(n)) if o.placeholder && o.entry == n.entry => {
                    if let Some(rule) = o.desc.names
                        && !rule(name)
                    {
                        return Err(bad(format!("{name:?} is not an allowed name here")));
                    }
                }
                _ => return Err(not_allowed(format!("the name of {uri} is fixed"))),
            }
        }
        self.db.rename_subtree(uri, &to)?;
        let ts = tstamp(now);
        self.db.touch(&to, &ts)?;
        self.db.touch(&parent, &ts)
    }
}
