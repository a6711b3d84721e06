//! Management-tree URIs (OMA DM TND 1.2 §6 "URI"): `.` is the root,
//! `./A/B` an absolute URI; servers may also send the relative `A/B`,
//! which means `./A/B`. A query part selects a property (`?prop=ACL`) or
//! a structure listing (`?list=Struct`).

use std::fmt;

use super::error::{TreeError, bad};

/// The device's URI limits, published in `./DevDetail/URI`. `0` means no
/// limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UriLimits {
    /// Most segments below the root (`./A/B` has depth 2).
    pub max_depth: usize,
    /// Longest normalised URI in bytes, `./` included, query excluded.
    pub max_tot_len: usize,
    /// Longest segment (node name) in bytes.
    pub max_seg_len: usize,
}

impl Default for UriLimits {
    fn default() -> Self {
        UriLimits {
            max_depth: 20,
            max_tot_len: 1024,
            max_seg_len: 128,
        }
    }
}

impl UriLimits {
    /// The smallest limits under which the standard MOs fit
    /// (`./DMAcc/<X>/AppAddr/<X>/Port/<X>/PortNbr` has depth 7;
    /// `AAuthSecret` is 11 bytes).
    pub const MIN: UriLimits = UriLimits {
        max_depth: 7,
        max_tot_len: 64,
        max_seg_len: 11,
    };

    /// 400 if a limit (other than 0, no limit) is below [`UriLimits::MIN`].
    pub fn check_fits_standard_mos(&self) -> Result<(), TreeError> {
        let m = UriLimits::MIN;
        let small = |v: usize, min: usize| v != 0 && v < min;
        if small(self.max_depth, m.max_depth)
            || small(self.max_tot_len, m.max_tot_len)
            || small(self.max_seg_len, m.max_seg_len)
        {
            return Err(bad(format!(
                "URI limits {self:?} are below what the standard MOs need ({m:?})"
            )));
        }
        Ok(())
    }

    /// Checks `uri` against the limits (414 on excess).
    pub fn check(&self, uri: &Uri) -> Result<(), TreeError> {
        if self.max_depth > 0 && uri.depth() > self.max_depth {
            return Err(TreeError::UriTooLong(format!(
                "{} segments, MaxDepth is {}",
                uri.depth(),
                self.max_depth
            )));
        }
        if self.max_tot_len > 0 && uri.as_str().len() > self.max_tot_len {
            return Err(TreeError::UriTooLong(format!(
                "{} bytes, MaxTotLen is {}",
                uri.as_str().len(),
                self.max_tot_len
            )));
        }
        if self.max_seg_len > 0
            && let Some(s) = uri.segments().find(|s| s.len() > self.max_seg_len)
        {
            return Err(TreeError::UriTooLong(format!(
                "segment of {} bytes, MaxSegLen is {}",
                s.len(),
                self.max_seg_len
            )));
        }
        Ok(())
    }
}

/// A normalised absolute URI: `.` or `./A/B` (no trailing `/`, no empty,
/// `.` or `..` segments).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uri(String);

impl Uri {
    /// The root, `.`.
    pub fn root() -> Uri {
        Uri(".".to_string())
    }

    /// Parses an absolute or relative URI without a query part. Limits are
    /// not checked here; see [`UriLimits::check`].
    pub fn parse(s: &str) -> Result<Uri, TreeError> {
        if s.contains('?') {
            return Err(bad(format!("URI {s:?} has a query part here")));
        }
        let rest = if s == "." || s == "./" {
            return Ok(Uri::root());
        } else if let Some(r) = s.strip_prefix("./") {
            r
        } else if s.starts_with('/') {
            return Err(bad(format!("URI {s:?} starts with '/'")));
        } else if s.is_empty() {
            return Err(bad("empty URI"));
        } else {
            s
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let mut out = String::with_capacity(rest.len() + 2);
        out.push('.');
        for seg in rest.split('/') {
            validate_segment(seg).map_err(|e| bad(format!("URI {s:?}: {e}")))?;
            out.push('/');
            out.push_str(seg);
        }
        Ok(Uri(out))
    }

    /// The URI as text (`.` or `./A/B`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for `.`.
    pub fn is_root(&self) -> bool {
        self.0 == "."
    }

    /// The segments below the root (none for `.`).
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').skip(1)
    }

    /// Number of segments below the root.
    pub fn depth(&self) -> usize {
        self.segments().count()
    }

    /// The last segment (the node name; `.` for the root).
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(".")
    }

    /// The parent URI; `None` for the root.
    pub fn parent(&self) -> Option<Uri> {
        self.0.rfind('/').map(|i| Uri(self.0[..i].to_string()))
    }

    /// The child `name` of this URI. `name` must be a valid segment.
    pub fn child(&self, name: &str) -> Result<Uri, TreeError> {
        validate_segment(name).map_err(|e| bad(format!("node name {name:?}: {e}")))?;
        Ok(Uri(format!("{}/{}", self.0, name)))
    }

    /// True if `self` is `other` or lies below it.
    pub fn is_within(&self, other: &Uri) -> bool {
        other.is_root()
            || self.0 == other.0
            || (self.0.starts_with(&other.0) && self.0.as_bytes().get(other.0.len()) == Some(&b'/'))
    }

    /// This URI and every ancestor, nearest first, ending with `.`.
    pub fn ancestors_and_self(&self) -> Vec<Uri> {
        let mut out = vec![self.clone()];
        let mut cur = self.parent();
        while let Some(p) = cur {
            cur = p.parent();
            out.push(p);
        }
        out
    }
}

fn validate_segment(seg: &str) -> Result<(), &'static str> {
    if seg.is_empty() {
        return Err("empty segment");
    }
    if seg == "." || seg == ".." {
        return Err("'.' or '..' segment");
    }
    if seg.chars().any(|c| c == '/' || c == '?' || c.is_control()) {
        return Err("segment contains '/', '?' or a control character");
    }
    Ok(())
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uri({})", self.0)
    }
}

/// A node property (TND 1.2 §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Prop {
    /// Access control list.
    Acl,
    /// Format of the value (`chr`, `int`, `node` …).
    Format,
    /// MIME type of a leaf, DDF type of an interior node.
    Type,
    /// Node name.
    Name,
    /// Size of a leaf's value in bytes.
    Size,
    /// Human-readable title.
    Title,
    /// Time of the last change, `YYYYMMDDTHHMMSSZ`.
    TStamp,
    /// Version number, incremented on every change.
    VerNo,
}

impl Prop {
    /// The name used in `?prop=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Prop::Acl => "ACL",
            Prop::Format => "Format",
            Prop::Type => "Type",
            Prop::Name => "Name",
            Prop::Size => "Size",
            Prop::Title => "Title",
            Prop::TStamp => "TStamp",
            Prop::VerNo => "VerNo",
        }
    }

    fn parse(s: &str) -> Result<Prop, TreeError> {
        Ok(match s {
            "ACL" => Prop::Acl,
            "Format" => Prop::Format,
            "Type" => Prop::Type,
            "Name" => Prop::Name,
            "Size" => Prop::Size,
            "Title" => Prop::Title,
            "TStamp" => Prop::TStamp,
            "VerNo" => Prop::VerNo,
            "" => return Err(bad("empty ?prop=")),
            other => {
                return Err(TreeError::NotSupported(format!(
                    "property {other:?} is not supported"
                )));
            }
        })
    }
}

/// What `?list=` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// The URIs of the subtree.
    Struct,
    /// The URIs of the subtree with leaf values.
    StructData,
}

/// The query part of a target URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Query {
    /// `?prop=<name>`.
    Prop(Prop),
    /// `?list=Struct` or `?list=StructData`.
    List(ListKind),
}

impl Query {
    /// The query as it appears after `?`.
    pub fn as_string(&self) -> String {
        match self {
            Query::Prop(p) => format!("prop={}", p.as_str()),
            Query::List(ListKind::Struct) => "list=Struct".into(),
            Query::List(ListKind::StructData) => "list=StructData".into(),
        }
    }
}

/// A command target: a URI and an optional query part.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    /// The node.
    pub uri: Uri,
    /// `?prop=` or `?list=`, if any.
    pub query: Option<Query>,
}

impl Target {
    /// Parses `uri[?query]` and checks `limits` (400 malformed, 406 unknown
    /// property or list kind, 414 too long).
    pub fn parse(s: &str, limits: &UriLimits) -> Result<Target, TreeError> {
        let (path, query) = match s.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (s, None),
        };
        let uri = Uri::parse(path)?;
        limits.check(&uri)?;
        let query = match query {
            None => None,
            Some(q) => Some(parse_query(q)?),
        };
        Ok(Target { uri, query })
    }

    /// The target as text, query included.
    pub fn to_text(&self) -> String {
        match &self.query {
            None => self.uri.to_string(),
            Some(q) => format!("{}?{}", self.uri, q.as_string()),
        }
    }
}

fn parse_query(q: &str) -> Result<Query, TreeError> {
    let (key, value) = q
        .split_once('=')
        .ok_or_else(|| bad(format!("malformed query {q:?}")))?;
    if value.contains('&') || value.contains('=') {
        return Err(bad(format!("only one query parameter is allowed: {q:?}")));
    }
    match key {
        "prop" => Ok(Query::Prop(Prop::parse(value)?)),
        "list" => match value {
            "Struct" => Ok(Query::List(ListKind::Struct)),
            "StructData" => Ok(Query::List(ListKind::StructData)),
            "" => Err(bad("empty ?list=")),
            other => Err(TreeError::NotSupported(format!(
                "list kind {other:?} is not supported"
            ))),
        },
        other => Err(bad(format!("unknown query parameter {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_trailing_slash_forms_normalise() {
        assert_eq!(Uri::parse("A/B").unwrap().as_str(), "./A/B");
        assert_eq!(Uri::parse("./A/B/").unwrap().as_str(), "./A/B");
        assert_eq!(Uri::parse("./").unwrap().as_str(), ".");
        assert_eq!(Uri::parse(".").unwrap().as_str(), ".");
    }

    #[test]
    fn bad_segments_are_rejected() {
        for s in ["", "/A", "./A//B", "./A/../B", "./A/./B", "..", "./A/\u{1}"] {
            assert_eq!(Uri::parse(s).unwrap_err().status(), 400, "{s}");
        }
    }

    #[test]
    fn parent_name_and_within() {
        let u = Uri::parse("./A/B").unwrap();
        assert_eq!(u.parent().unwrap().as_str(), "./A");
        assert_eq!(u.name(), "B");
        assert!(u.is_within(&Uri::parse("./A").unwrap()));
        assert!(
            !Uri::parse("./AB")
                .unwrap()
                .is_within(&Uri::parse("./A").unwrap())
        );
        assert!(u.is_within(&Uri::root()));
        assert_eq!(Uri::root().parent(), None);
        assert_eq!(u.ancestors_and_self().len(), 3);
    }

    #[test]
    fn queries_parse_or_fail_with_the_right_status() {
        let l = UriLimits::default();
        let t = Target::parse("./A?prop=ACL", &l).unwrap();
        assert_eq!(t.query, Some(Query::Prop(Prop::Acl)));
        let t = Target::parse("A?list=StructData", &l).unwrap();
        assert_eq!(t.query, Some(Query::List(ListKind::StructData)));
        assert_eq!(
            Target::parse("./A?prop=Colour", &l).unwrap_err().status(),
            406
        );
        assert_eq!(
            Target::parse("./A?list=TNDS", &l).unwrap_err().status(),
            406
        );
        assert_eq!(Target::parse("./A?foo=bar", &l).unwrap_err().status(), 400);
        assert_eq!(Target::parse("./A?prop", &l).unwrap_err().status(), 400);
        assert_eq!(
            Target::parse("./A?prop=ACL&list=Struct", &l)
                .unwrap_err()
                .status(),
            400
        );
    }

    #[test]
    fn limits_give_414() {
        let l = UriLimits {
            max_depth: 2,
            max_tot_len: 8,
            max_seg_len: 3,
        };
        assert!(Target::parse("./A/B", &l).is_ok());
        assert_eq!(Target::parse("./A/B/C", &l).unwrap_err().status(), 414);
        assert_eq!(Target::parse("./ABCD", &l).unwrap_err().status(), 414);
        assert_eq!(Target::parse("./ABC/DEF", &l).unwrap_err().status(), 414);
    }
}
