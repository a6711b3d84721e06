//! Get (OMA DM TND 1.2 §7, RepPro 1.2 §6.6.7): a node's value, an interior
//! node's child list, a property, or a `?list=Struct|StructData` listing of
//! a subtree.
//!
//! Listings omit every node (and its subtree) the server may not Get;
//! `StructData` gives values of leaves only, and never of secrets or of
//! nodes whose description forbids Get.

use super::acl::{Acl, AclCmd};
use super::ctx::{Ctx, Found, Who};
use super::ddf::AccessTypes;
use super::error::{TreeError, not_allowed};
use super::format::Format;
use super::node::Item;
use super::plugin::PluginNode;
use super::uri::{ListKind, Query, Target, Uri};

impl Ctx<'_> {
    pub(crate) fn get(&self, target: &str) -> Result<Vec<Item>, TreeError> {
        let t = Target::parse(target, &self.cfg.limits)?;
        match t.query {
            None => Ok(vec![self.get_node(&t.uri)?]),
            Some(Query::Prop(p)) => Ok(vec![self.get_prop(&t, p)?]),
            Some(Query::List(k)) => self.list(&t.uri, k),
        }
    }

    fn get_node(&self, uri: &Uri) -> Result<Item, TreeError> {
        let found = self.find_readable(uri)?;
        self.check_access(uri, AccessTypes::GET, "Get")?;
        if self.is_secret(uri) {
            return Err(not_allowed(format!("{uri} is never returned")));
        }
        self.item(uri, found, true)
    }

    /// The item for a found node; `with_data` false gives no data.
    fn item(&self, uri: &Uri, found: Found<'_>, with_data: bool) -> Result<Item, TreeError> {
        if found.is_interior() {
            let data = if with_data {
                Some(self.children_of(uri, &found)?.join("/").into_bytes())
            } else {
                None
            };
            let mime = match found {
                Found::Stored(r) => r.mime,
                Found::Plugin {
                    node: PluginNode::Interior { mime },
                    ..
                } => mime,
                Found::Plugin { .. } => None,
            };
            return Ok(Item {
                uri: uri.to_string(),
                format: Format::Node,
                mime,
                data,
            });
        }
        let (format, mime, data) = match found {
            Found::Stored(r) => (r.format, r.mime, r.value),
            Found::Plugin {
                node: PluginNode::Leaf { format, mime, data },
                ..
            } => (format, mime, data),
            Found::Plugin { .. } => (Format::Node, None, Vec::new()),
        };
        Ok(Item {
            uri: uri.to_string(),
            format,
            mime,
            data: with_data.then_some(data),
        })
    }

    fn list(&self, uri: &Uri, kind: ListKind) -> Result<Vec<Item>, TreeError> {
        self.find_readable(uri)?;
        let mut out = Vec::new();
        // Depth first, children in name order; each entry carries the ACL
        // its node inherits.
        let start_acl = match uri.parent() {
            Some(p) => self.effective_acl(&p)?,
            None => self.cfg.root_acl.clone(),
        };
        let mut stack = vec![(uri.clone(), start_acl)];
        while let Some((u, inherited)) = stack.pop() {
            // The ACL first: a plug-in is not asked about nodes the server
            // may not read.
            let acl = self.own_acl(&u)?.unwrap_or(inherited);
            if let Who::Server(s) = self.who
                && !acl.allows(AclCmd::Get, s)
            {
                continue;
            }
            let Some(found) = self.find(&u)? else {
                continue;
            };
            if out.len() >= self.cfg.max_list_items {
                return Err(TreeError::TooLarge(format!(
                    "the listing of {uri} has more than {} nodes",
                    self.cfg.max_list_items
                )));
            }
            let readable = !self.is_secret(&u)
                && !matches!(
                    (self.who, self.desc(&u)),
                    (Who::Server(_), Some(m)) if !m.desc.access.contains(AccessTypes::GET)
                );
            let children = if found.is_interior() {
                self.children_of(&u, &found)?
            } else {
                Vec::new()
            };
            let leaf_data = kind == ListKind::StructData && readable && !found.is_interior();
            out.push(self.item(&u, found, leaf_data)?);
            for name in children.iter().rev() {
                stack.push((u.child(name)?, acl.clone()));
            }
        }
        Ok(out)
    }

    /// The node's own (non-empty) ACL, if it has one. Nodes below a plug-in
    /// root have none.
    fn own_acl(&self, uri: &Uri) -> Result<Option<Acl>, TreeError> {
        if let Some((root, _)) = self.reg.handler_for(uri)
            && root != uri
        {
            return Ok(None);
        }
        match self.db.acl(uri)? {
            Some(t) if !t.is_empty() => Ok(Some(Acl::parse(&t)?)),
            _ => Ok(None),
        }
    }
}
