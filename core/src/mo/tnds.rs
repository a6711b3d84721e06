//! TNDS objects (`application/vnd.syncml.dmtnds+xml`, OMA DM TNDS 1.2): a
//! `MgmtTree` of `Node`s with `NodeName`, optional `Path`, `RTProperties`
//! (`Format`, `Type`) and `Value`, read with the crate's quick-xml reader
//! ([`crate::syncml::xml::XmlSource`]: element limits, no DTD).
//!
//! A top-level node's URI is its `Path` (absolute, `./…`) or the Add's
//! target, then its `NodeName`; nested nodes hang below their parent.

use crate::syncml::stream::{Limits, Source};
use crate::syncml::xml::XmlSource;
use crate::syncml::{CodecError, Data};
use crate::tree::{Format, Payload};

/// The TNDS MIME type.
pub(crate) const TNDS_TYPE: &str = "application/vnd.syncml.dmtnds+xml";

/// One node of a TNDS object, in document order (parents first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TndsNode {
    /// Its full URI.
    pub uri: String,
    /// The node as an Add would carry it (`Format` from `RTProperties`;
    /// a node with children or no `Value` and no Format is interior).
    pub payload: Payload,
}

/// Why a TNDS object could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TndsError {
    /// Not well-formed, or not a `MgmtTree`.
    #[error("TNDS: {0}")]
    Malformed(String),
    /// Unknown format name.
    #[error("TNDS: unknown Format {0:?}")]
    Format(String),
}

impl From<CodecError> for TndsError {
    fn from(e: CodecError) -> TndsError {
        TndsError::Malformed(e.to_string())
    }
}

/// Longest node URI a TNDS object may build (the tree's own limit is
/// usually 1024; this only bounds what is built before the tree checks).
const MAX_URI_BYTES: usize = 4096;

/// The URIs built for one object may total at most this many times its
/// size (plus [`MIN_URI_BUDGET`]): each node's URI repeats its ancestors'
/// names, so without a bound a deep path over many small siblings costs
/// memory quadratic in the object's size. Ordinary objects build about
/// twice their size.
const URI_BYTES_PER_BYTE: usize = 16;

/// URI bytes any object may build, however small.
const MIN_URI_BUDGET: usize = 64 * 1024;

/// Counts a built URI against the object's budget.
fn charge(uri: String, left: &mut usize) -> Result<String, TndsError> {
    if uri.len() > MAX_URI_BYTES {
        return Err(TndsError::Malformed(format!(
            "a node URI is {} bytes, more than {MAX_URI_BYTES}",
            uri.len()
        )));
    }
    *left = left.checked_sub(uri.len()).ok_or_else(|| {
        TndsError::Malformed(format!(
            "the node URIs total more than {URI_BYTES_PER_BYTE} times the object's size"
        ))
    })?;
    Ok(uri)
}

/// Parses `xml` (the Add's Data) for an Add at `target`.
pub(crate) fn parse(xml: &[u8], target: &str) -> Result<Vec<TndsNode>, TndsError> {
    let limits = Limits {
        max_message_bytes: xml.len().max(1),
        max_depth: 40,
        max_elements: 100_000,
    };
    let mut src = XmlSource::new(xml, &limits)?;
    let Some(_) = src.next_child()? else {
        return Err(TndsError::Malformed("empty document".into()));
    };
    if src.current_name() != "MgmtTree" {
        return Err(TndsError::Malformed(format!(
            "the root element is <{}>, not <MgmtTree>",
            src.current_name()
        )));
    }
    let mut out = Vec::new();
    let mut left = xml
        .len()
        .saturating_mul(URI_BYTES_PER_BYTE)
        .saturating_add(MIN_URI_BUDGET);
    while src.next_child()?.is_some() {
        if src.current_name() == "Node" {
            node(&mut src, None, target, &mut out, &mut left)?;
        } else {
            src.skip()?;
        }
    }
    Ok(out)
}

fn node(
    src: &mut XmlSource<'_>,
    parent: Option<&str>,
    target: &str,
    out: &mut Vec<TndsNode>,
    left: &mut usize,
) -> Result<(), TndsError> {
    let mut name = None;
    let mut path = None;
    let mut format = None;
    let mut mime = None;
    let mut value: Option<Vec<u8>> = None;
    // Children come after the node's own fields; keep this node's place.
    let at = out.len();
    let mut has_children = false;
    let uri_of = |name: &Option<String>, path: &Option<String>| -> Result<String, TndsError> {
        let n = name
            .as_deref()
            .ok_or_else(|| TndsError::Malformed("a Node without NodeName".into()))?;
        let base = match (parent, path.as_deref()) {
            (Some(p), _) => p.to_string(),
            (None, Some(p)) if p == "." || p.starts_with("./") => {
                p.trim_end_matches('/').to_string()
            }
            (None, Some(p)) => format!("./{}", p.trim_matches('/')),
            (None, None) => target.trim_end_matches('/').to_string(),
        };
        Ok(format!("{base}/{n}"))
    };
    let mut me: Option<String> = None;
    while src.next_child()?.is_some() {
        match src.current_name().as_str() {
            "NodeName" => name = Some(src.text()?.trim().to_string()),
            "Path" => path = Some(src.text()?.trim().to_string()),
            "RTProperties" => {
                while src.next_child()?.is_some() {
                    match src.current_name().as_str() {
                        "Format" => {
                            if src.next_child()?.is_some() {
                                let f = src.current_name();
                                src.skip()?;
                                format = Some(Format::parse(&f).map_err(|_| TndsError::Format(f))?);
                                while src.next_child()?.is_some() {
                                    src.skip()?;
                                }
                            }
                        }
                        "Type" => {
                            while src.next_child()?.is_some() {
                                let t = src.text()?.trim().to_string();
                                if !t.is_empty() {
                                    mime = Some(t);
                                }
                            }
                        }
                        _ => src.skip()?,
                    }
                }
            }
            "Value" => {
                value = Some(match src.data()? {
                    Data::Text(s) | Data::Xml(s) => s.into_bytes(),
                    Data::Opaque(b) => b,
                });
            }
            "Node" => {
                if me.is_none() {
                    me = Some(charge(uri_of(&name, &path)?, left)?);
                }
                has_children = true;
                node(src, me.as_deref(), target, out, left)?;
            }
            _ => src.skip()?,
        }
    }
    let uri = match me {
        Some(u) => u,
        None => charge(uri_of(&name, &path)?, left)?,
    };
    let interior =
        has_children || format == Some(Format::Node) || (value.is_none() && format.is_none());
    let payload = if interior {
        Payload {
            format: Some(Format::Node),
            mime,
            data: Vec::new(),
        }
    } else {
        Payload {
            format,
            mime,
            data: value.unwrap_or_default(),
        }
    };
    out.insert(at, TndsNode { uri, payload });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0"?>
    <MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD>
      <Node><NodeName>S1</NodeName><Path>./Scheduling/Schedules</Path>
        <RTProperties><Format><node/></Format><Type><DDFName>org.dmsched/1.0/Scheduling</DDFName></Type></RTProperties>
        <Node><NodeName>Name</NodeName><RTProperties><Format><chr/></Format></RTProperties><Value>eco &amp; more</Value></Node>
        <Node><NodeName>Tasks</NodeName>
          <Node><NodeName>T</NodeName>
            <Node><NodeName>Cmds</NodeName><RTProperties><Format><xml/></Format></RTProperties>
              <Value><![CDATA[<Exec><CmdID>1</CmdID><Item><Target><LocURI>./X</LocURI></Target></Item></Exec>]]></Value></Node>
          </Node>
        </Node>
      </Node>
    </MgmtTree>"#;

    #[test]
    fn tnds_nodes_come_with_uris_formats_and_values_parents_first() {
        let n = parse(DOC.as_bytes(), "./Scheduling/Schedules").unwrap();
        let uris: Vec<&str> = n.iter().map(|x| x.uri.as_str()).collect();
        assert_eq!(
            uris,
            [
                "./Scheduling/Schedules/S1",
                "./Scheduling/Schedules/S1/Name",
                "./Scheduling/Schedules/S1/Tasks",
                "./Scheduling/Schedules/S1/Tasks/T",
                "./Scheduling/Schedules/S1/Tasks/T/Cmds",
            ]
        );
        assert!(n[0].payload.is_interior());
        assert_eq!(n[1].payload.data, b"eco & more");
        assert_eq!(n[1].payload.format, Some(Format::Chr));
        assert!(n[3].payload.is_interior());
        assert_eq!(n[4].payload.format, Some(Format::Xml));
        assert!(n[4].payload.data.starts_with(b"<Exec>"));
    }

    #[test]
    fn relative_nodes_hang_below_the_target() {
        let doc = "<MgmtTree><Node><NodeName>Name</NodeName><Value>x</Value></Node></MgmtTree>";
        let n = parse(doc.as_bytes(), "./Scheduling/Schedules/S").unwrap();
        assert_eq!(n[0].uri, "./Scheduling/Schedules/S/Name");
        assert_eq!(n[0].payload.format, None);
    }

    fn nested(depth: usize, name: &str, leaves: usize) -> String {
        let open = format!("<Node><NodeName>{name}</NodeName>").repeat(depth);
        let leaf = "<Node><NodeName>x</NodeName><Value>1</Value></Node>".repeat(leaves);
        format!(
            "<MgmtTree>{open}{leaf}{}</MgmtTree>",
            "</Node>".repeat(depth)
        )
    }

    /// Issue 14 (bounded work): 100 000 nested Nodes are refused by the
    /// reader's depth limit (40) before any recursion gets deep, and more
    /// than 100 000 elements by its element limit.
    #[test]
    fn deep_and_huge_tnds_objects_are_refused() {
        let e = parse(nested(100_000, "a", 0).as_bytes(), "./X")
            .unwrap_err()
            .to_string();
        assert!(e.contains("elements nested deeper than 40"), "{e}");
        let e = parse(nested(1, "a", 40_000).as_bytes(), "./X")
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than 100000 elements"), "{e}");
    }

    /// Issue 14 (bounded work): each node's URI repeats its ancestors'
    /// names, so a deep path of long names over many small leaves built
    /// memory quadratic in the object (here 30 MB from 81 KB); URIs are
    /// now bounded one by one and in total.
    #[test]
    fn node_uris_cannot_blow_up_memory() {
        let long = "n".repeat(1000);
        let e = parse(nested(30, &long, 1000).as_bytes(), "./X")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a node URI is 5") && e.contains("more than 4096"),
            "{e}"
        );
        let name = "n".repeat(100);
        let e = parse(nested(30, &name, 1000).as_bytes(), "./X")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("the node URIs total more than 16 times the object's size"),
            "{e}"
        );
        // The same shape, shallow, is fine.
        assert_eq!(
            parse(nested(2, &name, 1000).as_bytes(), "./X")
                .unwrap()
                .len(),
            1002
        );
    }

    #[test]
    fn malformed_tnds_is_an_error() {
        assert!(parse(b"<Other/>", "./X").is_err());
        assert!(parse(b"<MgmtTree><Node>", "./X").is_err());
        assert!(parse(b"<MgmtTree><Node><Value>x</Value></Node></MgmtTree>", "./X").is_err());
        let bad = "<MgmtTree><Node><NodeName>A</NodeName><RTProperties><Format><weird/></Format></RTProperties><Value>1</Value></Node></MgmtTree>";
        assert!(matches!(
            parse(bad.as_bytes(), "./X"),
            Err(TndsError::Format(_))
        ));
    }
}
