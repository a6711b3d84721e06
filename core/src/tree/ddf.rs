//! Node descriptions: what a DDF (OMA DM TND 1.2 §8, "Device Description
//! Framework") says about a node — its access types, occurrence, scope,
//! format and allowed values — registered for URI patterns such as
//! `./DMAcc/<X>/AppAuth/<X>/AAuthType`, where `<X>` (any `<…>` segment)
//! stands for any node name.
//!
//! A node that matches no pattern is *dynamic*: every command is allowed,
//! subject to its ACL, as long as its parent's description (if any) is
//! [`NodeDesc::open`].

use std::ops::BitOr;

use super::error::{TreeError, bad, not_allowed};
use super::format::Format;
use super::uri::Uri;

/// The DDF AccessType set of a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AccessTypes(u8);

impl AccessTypes {
    /// Add.
    pub const ADD: AccessTypes = AccessTypes(1);
    /// Copy.
    pub const COPY: AccessTypes = AccessTypes(2);
    /// Delete.
    pub const DELETE: AccessTypes = AccessTypes(4);
    /// Exec.
    pub const EXEC: AccessTypes = AccessTypes(8);
    /// Get.
    pub const GET: AccessTypes = AccessTypes(16);
    /// Replace.
    pub const REPLACE: AccessTypes = AccessTypes(32);
    /// Every access type.
    pub const ALL: AccessTypes = AccessTypes(63);
    /// Get only.
    pub const READ_ONLY: AccessTypes = AccessTypes::GET;
    /// Add, Delete, Get and Replace.
    pub const READ_WRITE: AccessTypes = AccessTypes(1 | 4 | 16 | 32);

    /// True if every type of `other` is in `self`.
    pub fn contains(self, other: AccessTypes) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for AccessTypes {
    type Output = AccessTypes;
    fn bitor(self, rhs: AccessTypes) -> AccessTypes {
        AccessTypes(self.0 | rhs.0)
    }
}

/// How many instances of a node its parent may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Occurrence {
    /// Exactly one: cannot be deleted on its own.
    One,
    /// Optional.
    ZeroOrOne,
    /// Any number.
    ZeroOrMore,
    /// At least one: the last cannot be deleted.
    OneOrMore,
}

/// DDF Scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Created by the device; never deleted by a server.
    Permanent,
    /// Created and deleted by servers.
    Dynamic,
}

/// The description of a node.
#[derive(Clone, Debug)]
pub struct NodeDesc {
    /// Allowed commands (for servers; the device itself is not bound).
    pub access: AccessTypes,
    /// Occurrence.
    pub occurrence: Occurrence,
    /// Scope.
    pub scope: Scope,
    /// Required format (`Node` for interior nodes); `None` = any leaf format.
    pub format: Option<Format>,
    /// Allowed values of a leaf (exact text), if restricted.
    pub values: Option<Vec<String>>,
    /// For a `<X>` node: which names are allowed (`None` = any).
    pub names: Option<fn(&str) -> bool>,
    /// For an interior node: whether undescribed (dynamic) children may be
    /// added (true for `Ext` nodes and the root).
    pub open: bool,
    /// The value is never returned by Get, to anyone (passwords, nonces).
    pub secret: bool,
}

impl NodeDesc {
    /// An interior node with `access`, occurrence One, scope Permanent,
    /// closed.
    pub fn interior(access: AccessTypes) -> NodeDesc {
        NodeDesc {
            access,
            occurrence: Occurrence::One,
            scope: Scope::Permanent,
            format: Some(Format::Node),
            values: None,
            names: None,
            open: false,
            secret: false,
        }
    }

    /// A leaf of `format` with `access`, occurrence One, scope Permanent.
    pub fn leaf(format: Format, access: AccessTypes) -> NodeDesc {
        NodeDesc {
            format: Some(format),
            ..NodeDesc::interior(access)
        }
    }

    /// With occurrence `o`; `ZeroOrOne`/`ZeroOrMore`/`OneOrMore` also make
    /// the node Dynamic.
    pub fn occurs(mut self, o: Occurrence) -> NodeDesc {
        self.occurrence = o;
        if o != Occurrence::One {
            self.scope = Scope::Dynamic;
        }
        self
    }

    /// With scope `s`.
    pub fn scope(mut self, s: Scope) -> NodeDesc {
        self.scope = s;
        self
    }

    /// Allows undescribed children.
    pub fn open(mut self) -> NodeDesc {
        self.open = true;
        self
    }

    /// Restricts the value to `values`.
    pub fn values(mut self, values: &[&str]) -> NodeDesc {
        self.values = Some(values.iter().map(|s| s.to_string()).collect());
        self
    }

    /// Restricts the names of a `<X>` node.
    pub fn names(mut self, rule: fn(&str) -> bool) -> NodeDesc {
        self.names = Some(rule);
        self
    }

    /// Marks the value as never readable.
    pub fn secret(mut self) -> NodeDesc {
        self.secret = true;
        self
    }

    /// 405 unless the description allows `cmd`.
    pub(crate) fn require(&self, cmd: AccessTypes, what: &str, uri: &Uri) -> Result<(), TreeError> {
        if self.access.contains(cmd) {
            Ok(())
        } else {
            Err(not_allowed(format!("{what} is not allowed on {uri}")))
        }
    }

    /// Checks a leaf value against the format and value list (415/400).
    pub(crate) fn check_value(
        &self,
        uri: &Uri,
        format: Format,
        data: &[u8],
    ) -> Result<(), TreeError> {
        if let Some(f) = self.format
            && f != format
        {
            return Err(TreeError::UnsupportedFormat(format!(
                "{uri} has format {f}, not {format}"
            )));
        }
        if let Some(vals) = &self.values {
            let ok = std::str::from_utf8(data).is_ok_and(|t| vals.iter().any(|v| v == t));
            if !ok {
                return Err(bad(format!("{uri} accepts only {}", vals.join(", "))));
            }
        }
        Ok(())
    }
}

/// One segment of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Lit(String),
    Any,
}

/// The registered descriptions.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ddf {
    entries: Vec<(Vec<Seg>, NodeDesc)>,
}

/// A description that matched a URI.
#[derive(Clone, Debug)]
pub(crate) struct Matched {
    pub desc: NodeDesc,
    /// True if the last segment matched a `<X>`.
    pub placeholder: bool,
    /// Index of the entry (identifies "the same pattern" among siblings).
    pub entry: usize,
}

impl Ddf {
    /// Registers `desc` for `pattern` (`./A/<X>/B`), replacing an earlier
    /// registration of the same pattern.
    pub fn register(&mut self, pattern: &str, desc: NodeDesc) -> Result<(), TreeError> {
        let segs = parse_pattern(pattern)?;
        if let Some(e) = self.entries.iter_mut().find(|(s, _)| *s == segs) {
            e.1 = desc;
        } else {
            self.entries.push((segs, desc));
        }
        Ok(())
    }

    /// The most specific description matching `uri`: at the first segment
    /// where two patterns differ, a literal beats `<X>`.
    pub fn lookup(&self, uri: &Uri) -> Option<Matched> {
        let segs: Vec<&str> = uri.segments().collect();
        let mut best: Option<(usize, Vec<bool>)> = None;
        for (i, (pat, _)) in self.entries.iter().enumerate() {
            if pat.len() != segs.len() {
                continue;
            }
            let mut lits = Vec::with_capacity(segs.len());
            let mut ok = true;
            for (p, s) in pat.iter().zip(&segs) {
                match p {
                    Seg::Lit(l) => {
                        ok &= l == s;
                        lits.push(true);
                    }
                    Seg::Any => lits.push(false),
                }
                if !ok {
                    break;
                }
            }
            if ok && best.as_ref().is_none_or(|(_, b)| lits > *b) {
                best = Some((i, lits));
            }
        }
        let (i, lits) = best?;
        let desc = self.entries[i].1.clone();
        Some(Matched {
            placeholder: lits.last().is_some_and(|l| !l),
            desc,
            entry: i,
        })
    }

    /// The entry index matching `uri`, for counting siblings of one pattern.
    pub fn entry_of(&self, uri: &Uri) -> Option<usize> {
        self.lookup(uri).map(|m| m.entry)
    }
}

fn parse_pattern(p: &str) -> Result<Vec<Seg>, TreeError> {
    if p == "." {
        return Ok(Vec::new());
    }
    let rest = p
        .strip_prefix("./")
        .ok_or_else(|| bad(format!("pattern {p:?} must start with ./")))?;
    rest.split('/')
        .map(|s| {
            if s.starts_with('<') && s.ends_with('>') {
                Ok(Seg::Any)
            } else if s.is_empty() || s == "." || s == ".." {
                Err(bad(format!("pattern {p:?} has a bad segment")))
            } else {
                Ok(Seg::Lit(s.to_string()))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_beats_placeholder() {
        let mut d = Ddf::default();
        d.register(
            "./A/<X>",
            NodeDesc::interior(AccessTypes::ALL).occurs(Occurrence::ZeroOrMore),
        )
        .unwrap();
        d.register("./A/Fixed", NodeDesc::leaf(Format::Int, AccessTypes::GET))
            .unwrap();
        let m = d.lookup(&Uri::parse("./A/Fixed").unwrap()).unwrap();
        assert_eq!(m.desc.format, Some(Format::Int));
        assert!(!m.placeholder);
        let m = d.lookup(&Uri::parse("./A/other").unwrap()).unwrap();
        assert!(m.placeholder);
        assert!(d.lookup(&Uri::parse("./B").unwrap()).is_none());
    }
}
