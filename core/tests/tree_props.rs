//! Node properties, renames and structure listings (OMA DM TND 1.2 §7;
//! `?prop=` and `?list=` queries).

use dmsched::tree::{DeviceInfo, Format, Item, Payload, Tree, TreeConfig, TreeError};
use jiff::Timestamp;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn now() -> Timestamp {
    ts("2026-03-01T12:00:00Z")
}

fn device_info() -> DeviceInfo {
    DeviceInfo {
        dev_id: "IMEI:490154203237518".into(),
        man: "Acme".into(),
        model: "Rocket 3".into(),
        lang: "en-US".into(),
        dev_typ: "smartphone".into(),
        oem: "Acme OEM".into(),
        fw_v: "1.0.0".into(),
        sw_v: "2.1".into(),
        hw_v: "B".into(),
        lrg_obj: true,
    }
}

fn tree() -> Tree {
    Tree::open_in_memory(TreeConfig::new(device_info()), ts("2026-01-01T00:00:00Z")).unwrap()
}

fn text(t: &Tree, server: &str, uri: &str) -> String {
    t.get(server, uri).unwrap()[0].text()
}

fn status<T: std::fmt::Debug>(r: Result<T, TreeError>) -> u16 {
    r.unwrap_err().status()
}

fn uris(items: &[Item]) -> Vec<&str> {
    items.iter().map(|i| i.uri.as_str()).collect()
}

/// replaced; unknown ones are 406.
#[test]
fn prop_queries_return_the_node_properties() {
    let t = tree();
    t.add(
        "srv1",
        "./Foo",
        &Payload::interior(),
        ts("2026-02-03T04:05:06Z"),
    )
    .unwrap();
    t.add(
        "srv1",
        "./Foo/v",
        &Payload::leaf(Format::Int, "42").with_mime("text/plain"),
        ts("2026-02-03T04:05:07Z"),
    )
    .unwrap();
    let p = |q: &str| text(&t, "srv1", &format!("./Foo/v?prop={q}"));
    assert_eq!(p("Format"), "int");
    assert_eq!(p("Type"), "text/plain");
    assert_eq!(p("Name"), "v");
    assert_eq!(p("Size"), "2");
    assert_eq!(p("ACL"), "");
    assert_eq!(p("Title"), "");
    assert_eq!(p("TStamp"), "20260203T040507Z");
    assert_eq!(p("VerNo"), "0");
    let item = &t.get("srv1", "./Foo/v?prop=Size").unwrap()[0];
    assert_eq!(
        (item.uri.as_str(), item.format),
        ("./Foo/v?prop=Size", Format::Int)
    );
    t.replace(
        "srv1",
        "./Foo/v?prop=Title",
        &Payload::chr("The answer"),
        now(),
    )
    .unwrap();
    assert_eq!(p("Title"), "The answer");
    assert_eq!(text(&t, "srv1", "./Foo?prop=Format"), "node");
    assert_eq!(
        text(&t, "srv1", "./Foo?prop=ACL"),
        "Add=srv1&Delete=srv1&Get=srv1&Replace=srv1"
    );
    assert_eq!(status(t.get("srv1", "./Foo?prop=Size")), 406);
    assert_eq!(status(t.get("srv1", "./Foo?prop=Colour")), 406);
    assert_eq!(status(t.get("srv1", "./Foo?list=TNDS")), 406);
    assert_eq!(status(t.get("srv1", "./Foo?colour=1")), 400);
    for ro in ["Format", "Type", "Size", "TStamp", "VerNo"] {
        let e = t.replace(
            "srv1",
            &format!("./Foo/v?prop={ro}"),
            &Payload::chr("x"),
            now(),
        );
        assert_eq!(status(e), 405, "{ro}");
    }
}

/// subtree; a taken name is 418.
#[test]
fn replacing_the_name_moves_the_subtree() {
    let t = tree();
    t.add("srv1", "./Foo", &Payload::interior(), now()).unwrap();
    t.add("srv1", "./Foo/A", &Payload::interior(), now())
        .unwrap();
    t.add("srv1", "./Foo/A/x", &Payload::chr("1"), now())
        .unwrap();
    t.add("srv1", "./Foo/B", &Payload::chr("2"), now()).unwrap();
    assert_eq!(
        status(t.replace("srv1", "./Foo/A?prop=Name", &Payload::chr("B"), now())),
        418
    );
    assert_eq!(
        status(t.replace("srv1", "./Foo/A?prop=Name", &Payload::chr("a/b"), now())),
        400
    );
    t.replace("srv1", "./Foo/A?prop=Name", &Payload::chr("Z"), now())
        .unwrap();
    assert_eq!(text(&t, "srv1", "./Foo/Z/x"), "1");
    assert_eq!(status(t.get("srv1", "./Foo/A/x")), 404);
    assert_eq!(text(&t, "srv1", "./Foo"), "B/Z");
    assert_eq!(text(&t, "srv1", "./Foo/Z?prop=Name"), "Z");
}

/// with leaf values for StructData, without what the server may not Get.
#[test]
fn list_queries_return_the_subtree() {
    let t = tree();
    t.add("srv1", "./Foo", &Payload::interior(), now()).unwrap();
    t.add("srv1", "./Foo/A", &Payload::interior(), now())
        .unwrap();
    t.add("srv1", "./Foo/A/x", &Payload::leaf(Format::Int, "7"), now())
        .unwrap();
    t.add("srv1", "./Foo/A-b", &Payload::chr("dash"), now())
        .unwrap();
    t.add("srv1", "./Foo/b", &Payload::chr("2"), now()).unwrap();
    t.device()
        .replace("./Foo/b?prop=ACL", &Payload::chr("Get=srv3"), now())
        .unwrap();
    let s = t.get("srv1", "./Foo?list=Struct").unwrap();
    assert_eq!(uris(&s), ["./Foo", "./Foo/A", "./Foo/A/x", "./Foo/A-b"]);
    assert!(s.iter().all(|i| i.data.is_none()));
    let sd = t.get("srv1", "./Foo?list=StructData").unwrap();
    assert_eq!(uris(&sd), uris(&s));
    assert_eq!(sd[0].data, None);
    assert_eq!(sd[0].format, Format::Node);
    assert_eq!((sd[2].format, sd[2].text().as_str()), (Format::Int, "7"));
    assert_eq!(sd[3].text(), "dash");
    // The whole tree, for another server: srv1's subtree is not there.
    let all = t.get("srv2", ".?list=Struct").unwrap();
    assert!(all.iter().any(|i| i.uri == "./DevInfo/DmV"));
    assert!(!all.iter().any(|i| i.uri.starts_with("./Foo")));
    assert_eq!(status(t.get("srv2", "./Foo?list=Struct")), 425);
}

/// from the injected clock; VerNo wraps at 65535.
#[test]
fn tstamp_and_verno_follow_the_injected_clock() {
    let t = tree();
    t.add(
        "srv1",
        "./Foo",
        &Payload::interior(),
        ts("2026-05-06T07:08:09Z"),
    )
    .unwrap();
    assert_eq!(text(&t, "srv1", "./Foo?prop=TStamp"), "20260506T070809Z");
    assert_eq!(text(&t, "srv1", "./Foo?prop=VerNo"), "0");
    t.add(
        "srv1",
        "./Foo/v",
        &Payload::chr("a"),
        ts("2026-05-06T07:08:10Z"),
    )
    .unwrap();
    // Adding a child changes the parent's child list: it counts as a change.
    assert_eq!(text(&t, "srv1", "./Foo?prop=TStamp"), "20260506T070810Z");
    assert_eq!(text(&t, "srv1", "./Foo?prop=VerNo"), "1");
    t.replace(
        "srv1",
        "./Foo/v",
        &Payload::chr("b"),
        ts("2027-01-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(text(&t, "srv1", "./Foo/v?prop=TStamp"), "20270101T000000Z");
    assert_eq!(text(&t, "srv1", "./Foo/v?prop=VerNo"), "1");
    // A refused Replace changes neither.
    t.replace(
        "srv1",
        "./Foo/v",
        &Payload::leaf(Format::Int, "x"),
        ts("2028-01-01T00:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(text(&t, "srv1", "./Foo/v?prop=VerNo"), "1");
    for i in 2..=65536u32 {
        t.replace("srv1", "./Foo/v?prop=Title", &Payload::chr("t"), now())
            .unwrap();
        if i == 65535 {
            assert_eq!(text(&t, "srv1", "./Foo/v?prop=VerNo"), "65535");
        }
    }
    assert_eq!(text(&t, "srv1", "./Foo/v?prop=VerNo"), "0", "wrapped");
}
