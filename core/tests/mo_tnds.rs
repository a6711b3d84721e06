//! TNDS installs of the Scheduling MO (one command), and schedules
//! installed as JSON documents shown and changed as MO nodes.

mod mo_support;

use dmsched::tree::{Format, Payload};
use mo_support::*;

const TNDS: &str = "application/vnd.syncml.dmtnds+xml";

fn tnds(s: &str, rrule: &str) -> String {
    let cmds = cmds("eco")
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        r#"<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD>
  <Node><NodeName>{s}</NodeName>
    <RTProperties><Format><node/></Format><Type><DDFName>org.dmsched/1.0/Scheduling</DDFName></Type></RTProperties>
    <Node><NodeName>Name</NodeName><RTProperties><Format><chr/></Format><Type><MIME>text/plain</MIME></Type></RTProperties><Value>from TNDS</Value></Node>
    <Node><NodeName>Report</NodeName>
      <Node><NodeName>Gating</NodeName><RTProperties><Format><int/></Format></RTProperties><Value>31</Value></Node>
    </Node>
    <Node><NodeName>Tasks</NodeName>
      <Node><NodeName>T1</NodeName>
        <Node><NodeName>Cmds</NodeName><RTProperties><Format><xml/></Format></RTProperties><Value>{cmds}</Value></Node>
        <Node><NodeName>Triggers</NodeName>
          <Node><NodeName>G1</NodeName>
            <Node><NodeName>Time</NodeName>
              <Node><NodeName>Base</NodeName><Value>2026-12-01T12:30:00Z</Value></Node>
              <Node><NodeName>RRule</NodeName><Value>{rrule}</Value></Node>
            </Node>
          </Node>
        </Node>
      </Node>
    </Node>
  </Node>
</MgmtTree>"#
    )
}

/// 6.3.1.41: one Add of a TNDS object at `Schedules` installs the
/// schedule it describes, node by node checked, verified as a whole.
#[test]
fn a_tnds_object_installs_a_schedule_in_one_command() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    let p = Payload::leaf(Format::Xml, tnds("S1", "FREQ=DAILY")).with_mime(TNDS);
    assert_eq!(d.add(SRV, ROOT, p), 200);
    assert_eq!(d.state_events(), ["installed"]);
    assert_eq!(d.get(SRV, &format!("{ROOT}/S1/State")).unwrap(), "20");
    assert_eq!(d.get(SRV, &format!("{ROOT}/S1/Name")).unwrap(), "from TNDS");
    assert_eq!(
        d.get(SRV, &format!("{ROOT}/S1/Report/Gating")).unwrap(),
        "31"
    );
    assert!(
        d.get(SRV, &format!("{ROOT}/S1/Tasks/T1/Cmds"))
            .unwrap()
            .starts_with("<SyncBody>")
    );
    assert_eq!(d.tick(T0 + 1800), 1);
    assert_eq!(d.get(SRV, "./Vendor/Mode").unwrap(), "eco");
    // The same object again: the schedule exists.
    let p = Payload::leaf(Format::Xml, tnds("S1", "FREQ=DAILY")).with_mime(TNDS);
    assert_eq!(d.add(SRV, ROOT, p), 418);
}

/// 6.3.1.42: a TNDS object with a bad node is refused with that node's
/// status and installs nothing; a malformed one is 400.
#[test]
fn a_tnds_object_with_a_bad_node_installs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    let p = Payload::leaf(Format::Xml, tnds("S1", "FREQ=DAILY;BYHOUR=25")).with_mime(TNDS);
    assert_eq!(d.add(SRV, ROOT, p), 400);
    let p = Payload::leaf(Format::Xml, "<MgmtTree><Node>").with_mime(TNDS);
    assert_eq!(d.add(SRV, ROOT, p), 400);
    let bogus =
        tnds("S1", "FREQ=DAILY").replace("<NodeName>Name</NodeName>", "<NodeName>Nom</NodeName>");
    assert_eq!(
        d.add(SRV, ROOT, Payload::leaf(Format::Xml, bogus).with_mime(TNDS)),
        405
    );
    assert!(d.engine_ids().is_empty());
    assert_eq!(d.get(SRV, ROOT).unwrap(), "");
}

/// A TNDS object Added at `<S>` describes that schedule's children.
#[test]
fn a_tnds_object_at_the_schedule_node_describes_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    let cmds = cmds("on").replace('<', "&lt;").replace('>', "&gt;");
    let doc = format!(
        "<MgmtTree><Node><NodeName>Tasks</NodeName><Node><NodeName>T</NodeName>\
         <Node><NodeName>Cmds</NodeName><RTProperties><Format><xml/></Format></RTProperties><Value>{cmds}</Value></Node>\
         <Node><NodeName>Triggers</NodeName><Node><NodeName>boot</NodeName><Node><NodeName>Event</NodeName>\
         <Node><NodeName>ID</NodeName><Value>boot</Value></Node></Node></Node></Node></Node></Node></MgmtTree>"
    );
    assert_eq!(
        d.add(
            SRV,
            &format!("{ROOT}/S9"),
            Payload::leaf(Format::Xml, doc).with_mime(TNDS)
        ),
        200
    );
    assert_eq!(d.engine_ids(), ["S9"]);
    assert_eq!(
        d.get(SRV, &format!("{ROOT}/S9/Tasks/T/Triggers/boot/Event/ID"))
            .unwrap(),
        "boot"
    );
}

/// A schedule installed as a JSON document is shown as MO nodes, and a
/// Replace of one of its nodes modifies it (it is then kept node by node).
#[test]
fn a_json_installed_schedule_is_shown_and_changed_as_mo_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    let doc = r#"{"name": "json", "tasks": [{"id": "T1",
        "trigger": {"calendar": {"rrule": "FREQ=DAILY;BYHOUR=13", "dtstart": "2026-12-01T13:00:00", "tz": "UTC"}},
        "actions": [{"op": "Replace", "target": "./Vendor/Mode", "data": "eco"}]}]}"#;
    let p = Payload::chr(doc).with_mime("application/json");
    assert_eq!(d.add(SRV, &format!("{ROOT}/J"), p), 200);
    let g = |p: &str| d.get(SRV, &format!("{ROOT}/J{p}")).unwrap();
    assert_eq!(g("/Name"), "json");
    assert_eq!(
        g("/Tasks/T1/Triggers/G1/Time/RRule"),
        "FREQ=DAILY;BYHOUR=13"
    );
    assert_eq!(g("/Tasks/T1/Triggers/G1/Time/Base"), "2026-12-01T13:00:00");
    assert!(g("/Tasks/T1/Cmds").contains("<LocURI>./Vendor/Mode</LocURI>"));
    assert_eq!(g("/Tasks/T1/NextRun"), "2026-12-01T13:00:00Z");
    assert_eq!(
        d.replace(
            SRV,
            &format!("{ROOT}/J/Tasks/T1/Triggers/G1/Time/RRule"),
            Payload::chr("FREQ=DAILY;BYHOUR=14")
        ),
        200
    );
    assert_eq!(d.state_events(), ["installed", "modified"]);
    assert_eq!(g("/Tasks/T1/NextRun"), "2026-12-01T14:00:00Z");
    assert_eq!(
        g("/Tasks/T1/Triggers/G1/Time/RRule"),
        "FREQ=DAILY;BYHOUR=14"
    );
    // A new Document replaces the nodes again.
    let doc2 = doc.replace("\"json\"", "\"json 2\"");
    assert_eq!(
        d.replace(
            SRV,
            &format!("{ROOT}/J/Document"),
            Payload::chr(&doc2).with_mime("application/json")
        ),
        200
    );
    assert_eq!(g("/Name"), "json 2");
    assert_eq!(
        g("/Tasks/T1/Triggers/G1/Time/RRule"),
        "FREQ=DAILY;BYHOUR=13"
    );
}

/// The TNDS example of `docs/scheduling-mo.md` installs what the text
/// says: two OR-ed triggers of one task, confirmed before each run.
#[test]
fn the_documented_tnds_example_installs() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/scheduling-mo.md"
    ))
    .unwrap();
    let start = doc.find("```xml\n<MgmtTree").unwrap() + "```xml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    let p = Payload::leaf(Format::Xml, &doc[start..end]).with_mime(TNDS);
    assert_eq!(d.add(SRV, ROOT, p), 200);
    let info = d.mo.engine().get(SRV, SRV, "S1").unwrap();
    let ids: Vec<&str> = info.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["T1.charger", "T1.evening"]);
    assert!(info.document.tasks.iter().all(|t| t.policy.confirm));
    assert_eq!(
        d.get(SRV, &format!("{ROOT}/S1/Tasks/T1/NextRun")).unwrap(),
        "2026-12-01T21:00:00Z"
    );
}
