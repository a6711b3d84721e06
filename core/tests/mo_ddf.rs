//! `docs/scheduling-mo.ddf.xml`, the OMA DM DDF 1.2 description of the
//! Scheduling MO (facts §0: the MO is documented as a DDF under its
//! configurable identifier): well-formed, its DFType is the default MO
//! identifier, and it describes the nodes the MO implements.

use std::collections::BTreeSet;

use dmsched::mo::MoConfig;
use quick_xml::Reader;
use quick_xml::events::Event;

#[derive(Default)]
struct DdfNode {
    path: String,
    props: BTreeSet<String>,
    ddf_name: Option<String>,
    format: Option<String>,
}

/// The root element's name and every `Node` with its path (unnamed nodes
/// as `<x>`), the DFProperties it has, its DDFName and DFFormat. Panics
/// unless the document is well-formed.
fn nodes(xml: &str) -> (String, Vec<DdfNode>) {
    let mut r = Reader::from_str(xml);
    r.config_mut().trim_text(true);
    r.config_mut().check_end_names = true;
    let mut stack: Vec<String> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut out: Vec<DdfNode> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut root = String::new();
    loop {
        let (name, empty) = match r.read_event().expect("well-formed XML") {
            Event::Start(e) => (e.local_name().as_ref().to_string(), false),
            Event::Empty(e) => (e.local_name().as_ref().to_string(), true),
            Event::Text(t) => {
                let text = t.xml10_content().to_string();
                let cur = open.last().copied();
                match (stack.last().map(String::as_str), cur) {
                    (Some("NodeName"), Some(i)) => {
                        *names.last_mut().unwrap() = text;
                        out[i].path = names.join("/");
                    }
                    (Some("DDFName"), Some(i)) => out[i].ddf_name = Some(text),
                    _ => {}
                }
                continue;
            }
            Event::End(e) => {
                let name = e.local_name().as_ref().to_string();
                assert_eq!(stack.pop().as_deref(), Some(name.as_str()));
                if name == "Node" {
                    open.pop();
                    names.pop();
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        if root.is_empty() {
            root = name.clone();
        }
        let cur = open.last().copied();
        match (stack.last().map(String::as_str), cur) {
            (Some("DFFormat"), Some(i)) => out[i].format = Some(name.clone()),
            (Some("DFProperties"), Some(i)) => {
                out[i].props.insert(name.clone());
            }
            _ => {}
        }
        if name == "Node" {
            names.push("<x>".into());
            out.push(DdfNode {
                path: names.join("/"),
                ..DdfNode::default()
            });
            open.push(out.len() - 1);
        }
        if !empty {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed elements {stack:?}");
    (root, out)
}

/// The DDF is well-formed OMA DM DDF 1.2 with the default identifier as
/// the root's DFType and DFProperties on every node.
#[test]
fn the_ddf_is_well_formed_and_names_the_mo_identifier() {
    let xml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/scheduling-mo.ddf.xml"
    ))
    .unwrap();
    assert!(xml.contains("<VerDTD>1.2</VerDTD>"));
    let (root, nodes) = nodes(&xml);
    assert_eq!(root, "MgmtTree");
    assert_eq!(nodes[0].path, "Scheduling");
    assert_eq!(
        nodes[0].ddf_name.as_deref(),
        Some(MoConfig::default().mo_type.as_str())
    );
    for n in &nodes {
        for p in ["AccessType", "DFFormat", "Occurrence", "DFTitle", "DFType"] {
            assert!(n.props.contains(p), "{} lacks {p}", n.path);
        }
    }
}

/// Every node of the MO (facts §1 and the dmsched extensions) is in the
/// DDF with its format, and nothing else is.
#[test]
fn the_ddf_describes_every_node_of_the_mo() {
    let xml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/scheduling-mo.ddf.xml"
    ))
    .unwrap();
    let (_, nodes) = nodes(&xml);
    let got: BTreeSet<(String, String)> = nodes
        .iter()
        .map(|n| (n.path.clone(), n.format.clone().unwrap_or_default()))
        .collect();
    let s = "Scheduling/Schedules/<x>";
    let t = format!("{s}/Tasks/<x>");
    let g = format!("{t}/Triggers/<x>");
    let mut want: Vec<(String, &str)> = vec![
        ("Scheduling".into(), "node"),
        ("Scheduling/Schedules".into(), "node"),
        (s.into(), "node"),
        // 6.3.1.5: the owner-qualified path to the same schedules.
        ("Scheduling/Servers".into(), "node"),
        ("Scheduling/Servers/<x>".into(), "node"),
        ("Scheduling/Servers/<x>/Schedules".into(), "node"),
        // Issue 18: what the device can run.
        ("Scheduling/Capabilities".into(), "node"),
    ];
    for (p, f) in [
        ("MaxSchedulesPerServer", "int"),
        ("MinIntervalSeconds", "int"),
        ("MaxTasks", "int"),
        ("MaxActions", "int"),
        ("MaxActionDepth", "int"),
        ("MaxDocumentBytes", "int"),
        ("MaxDataBytes", "int"),
        ("MaxExprBytes", "int"),
        ("MaxExprDepth", "int"),
        ("MaxWindows", "int"),
        ("MaxJitterSeconds", "int"),
        ("MaxRetries", "int"),
        ("MaxDwellSeconds", "int"),
        ("Triggers", "chr"),
        ("RRuleParts", "chr"),
        ("Events", "chr"),
        ("ExprFunctions", "chr"),
        ("Commands", "chr"),
        ("ReportDelivery", "chr"),
        ("UIModes", "chr"),
        ("Personalize", "chr"),
        ("MaxPersonalDelaySeconds", "int"),
    ] {
        want.push((format!("Scheduling/Capabilities/{p}"), f));
    }
    want.push(("Scheduling/Operations".into(), "node"));
    want.push(("Scheduling/Operations/Resync".into(), "null"));
    for (p, f) in [
        ("ServerID", "chr"),
        ("Name", "chr"),
        ("Description", "chr"),
        ("TZ", "chr"),
        ("Personalize", "chr"),
        ("Choices", "chr"),
        ("Valid", "node"),
        ("Valid/From", "chr"),
        ("Valid/To", "chr"),
        ("UI", "node"),
        ("UI/Mode", "int"),
        ("UI/Text", "chr"),
        ("Report", "node"),
        ("Report/Gating", "int"),
        ("Report/Delivery", "chr"),
        ("Tasks", "node"),
        ("State", "int"),
        ("Document", "chr"),
        ("Operations", "node"),
        ("Operations/Activate", "null"),
        ("Operations/Suspend", "null"),
    ] {
        want.push((format!("{s}/{p}"), f));
    }
    want.push((t.clone(), "node"));
    for (p, f) in [
        ("Cmds", "xml"),
        ("Constraints", "chr"),
        ("Policy", "chr"),
        ("Termination", "chr"),
        ("DependsOn", "chr"),
        ("DependsOnOutcome", "chr"),
        ("Triggers", "node"),
        ("LastRun", "chr"),
        ("LastResult", "int"),
        ("LastOutcome", "chr"),
        ("NextRun", "chr"),
        ("Runs", "int"),
        ("Waiting", "chr"),
        ("History", "chr"),
    ] {
        want.push((format!("{t}/{p}"), f));
    }
    want.push((g.clone(), "node"));
    for (p, f) in [
        ("Time", "node"),
        ("Time/Base", "chr"),
        ("Time/RRule", "chr"),
        ("Time/TZ", "chr"),
        ("Event", "node"),
        ("Event/ID", "chr"),
        ("Event/Filter", "chr"),
        ("TreeValue", "node"),
        ("TreeValue/URI", "chr"),
        ("TreeValue/Op", "chr"),
        ("TreeValue/Value", "chr"),
        ("TreeValue/Interval", "int"),
        ("Condition", "chr"),
        ("RearmWhen", "chr"),
        ("ForSeconds", "int"),
    ] {
        want.push((format!("{g}/{p}"), f));
    }
    let want: BTreeSet<(String, String)> =
        want.into_iter().map(|(p, f)| (p, f.to_string())).collect();
    assert_eq!(got, want);
}
