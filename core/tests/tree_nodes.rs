//! Nodes, values, properties and structure of the management tree
//! (OMA DM TND 1.2 §6 URIs, §7 properties, §8 DDF; RepPro 1.2 §6.6 commands).

use dmsched::tree::{
    AccessTypes, DeviceInfo, Format, NodeDesc, Occurrence, Payload, Tree, TreeConfig, TreeError,
    UriLimits,
};
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

/// StdObj 1.2 DevInfo / DevDetail: created on open from the device facts.
#[test]
fn standard_mos_carry_the_device_facts() {
    let t = tree();
    assert_eq!(text(&t, "srv", "./DevInfo/DevId"), "IMEI:490154203237518");
    assert_eq!(text(&t, "srv", "./DevInfo/Mod"), "Rocket 3");
    assert_eq!(text(&t, "srv", "./DevInfo/DmV"), "1.2");
    assert_eq!(text(&t, "srv", "./DevInfo"), "DevId/DmV/Ext/Lang/Man/Mod");
    assert_eq!(text(&t, "srv", "./DevDetail/URI/MaxDepth"), "20");
    assert_eq!(text(&t, "srv", "./DevDetail/URI/MaxTotLen"), "1024");
    assert_eq!(text(&t, "srv", "./DevDetail/URI/MaxSegLen"), "128");
    let lrg = &t.get("srv", "./DevDetail/LrgObj").unwrap()[0];
    assert_eq!((lrg.format, lrg.text().as_str()), (Format::Bool, "true"));
    assert_eq!(t.get("srv", "./DevInfo").unwrap()[0].format, Format::Node);
    assert_eq!(text(&t, "srv", "."), "DMAcc/DevDetail/DevInfo/Inbox");
    // Relative URIs from servers mean ./…
    assert_eq!(text(&t, "srv", "DevInfo/Man"), "Acme");
    // Device facts are read-only for servers.
    assert_eq!(
        status(t.replace("srv", "./DevInfo/Man", &Payload::chr("x"), now())),
        425
    );
}

/// RepPro 1.2 §6.6.2: Add of a node that exists is 418, under a missing
/// parent 404, under a leaf 405.
#[test]
fn add_existing_is_418_and_bad_parents_are_refused() {
    let t = tree();
    t.add("srv1", "./Foo", &Payload::interior(), now()).unwrap();
    t.add("srv1", "./Foo/leaf", &Payload::chr("1"), now())
        .unwrap();
    assert_eq!(
        status(t.add("srv1", "./Foo/leaf", &Payload::chr("2"), now())),
        418
    );
    assert_eq!(
        status(t.add("srv1", "./Foo", &Payload::interior(), now())),
        418
    );
    assert_eq!(status(t.add("srv1", ".", &Payload::interior(), now())), 418);
    assert_eq!(
        status(t.add("srv1", "./Foo/none/x", &Payload::chr("1"), now())),
        404
    );
    assert_eq!(
        status(t.add("srv1", "./Foo/leaf/x", &Payload::chr("1"), now())),
        405
    );
    assert_eq!(text(&t, "srv1", "./Foo/leaf"), "1");
}

/// RepPro 1.2 §6.6.11: Replace of a missing node is 404; Get and Delete too.
#[test]
fn replace_get_delete_of_a_missing_node_is_404() {
    let t = tree();
    assert_eq!(
        status(t.replace("srv1", "./Nope", &Payload::chr("x"), now())),
        404
    );
    assert_eq!(status(t.get("srv1", "./Nope")), 404);
    assert_eq!(status(t.delete("srv1", "./Nope", now())), 404);
    assert_eq!(status(t.get("srv1", "./Nope?prop=ACL")), 404);
}

/// RepPro 1.2 §6.6.5: Delete removes the whole subtree.
#[test]
fn delete_removes_the_whole_subtree() {
    let t = tree();
    t.add("srv1", "./Foo", &Payload::interior(), now()).unwrap();
    t.add("srv1", "./Foo/A", &Payload::interior(), now())
        .unwrap();
    t.add("srv1", "./Foo/A/x", &Payload::chr("1"), now())
        .unwrap();
    t.add("srv1", "./Foo/b", &Payload::chr("2"), now()).unwrap();
    t.add("srv1", "./Foo-sibling", &Payload::chr("3"), now())
        .unwrap();
    t.delete("srv1", "./Foo", now()).unwrap();
    for u in ["./Foo", "./Foo/A", "./Foo/A/x", "./Foo/b"] {
        assert_eq!(status(t.device().get(u)), 404, "{u}");
    }
    assert_eq!(text(&t, "srv1", "./Foo-sibling"), "3");
    assert!(!text(&t, "srv1", ".").split('/').any(|n| n == "Foo"));
    assert_eq!(status(t.delete("srv1", ".", now())), 405);
    assert_eq!(status(t.delete("srv1", "./DevInfo", now())), 425);
}

/// TND 1.2 §7.3: `int` is 32-bit; a bad value is refused and the stored
/// value kept. Other formats are checked too.
#[test]
fn int_out_of_range_is_rejected_and_the_old_value_kept() {
    let t = tree();
    t.add("srv1", "./Foo", &Payload::interior(), now()).unwrap();
    t.add("srv1", "./Foo/n", &Payload::leaf(Format::Int, "5"), now())
        .unwrap();
    for bad in ["2147483648", "-2147483649", "abc", "", "1.5"] {
        let e = t.replace("srv1", "./Foo/n", &Payload::leaf(Format::Int, bad), now());
        assert_eq!(status(e), 400, "{bad:?}");
        // Without a format, Replace keeps the node's (int) format.
        let e = t.replace(
            "srv1",
            "./Foo/n",
            &Payload {
                data: bad.into(),
                ..Payload::default()
            },
            now(),
        );
        assert_eq!(status(e), 400, "{bad:?}");
    }
    let n = &t.get("srv1", "./Foo/n").unwrap()[0];
    assert_eq!((n.format, n.text().as_str()), (Format::Int, "5"));
    assert_eq!(text(&t, "srv1", "./Foo/n?prop=VerNo"), "0");
    t.replace(
        "srv1",
        "./Foo/n",
        &Payload {
            data: b"-2147483648".to_vec(),
            ..Payload::default()
        },
        now(),
    )
    .unwrap();
    assert_eq!(text(&t, "srv1", "./Foo/n"), "-2147483648");
    for (f, bad) in [
        (Format::Bool, "yes"),
        (Format::Float, "NaN"),
        (Format::Date, "2026-02-30"),
        (Format::Time, "25:00:00"),
        (Format::B64, "not base64!"),
        (Format::Null, "x"),
    ] {
        assert_eq!(
            status(t.add("srv1", "./Foo/v", &Payload::leaf(f, bad), now())),
            400,
            "{f}"
        );
    }
    assert_eq!(
        status(t.add(
            "srv1",
            "./Foo/v",
            &Payload {
                format: None,
                mime: None,
                data: vec![0xff]
            },
            now()
        )),
        400,
        "chr must be UTF-8"
    );
    t.add(
        "srv1",
        "./Foo/d",
        &Payload::leaf(Format::Date, "2026-02-28"),
        now(),
    )
    .unwrap();
    t.add(
        "srv1",
        "./Foo/f",
        &Payload::leaf(Format::Float, "-1.5E3"),
        now(),
    )
    .unwrap();
    t.add(
        "srv1",
        "./Foo/z",
        &Payload::leaf(Format::Bin, vec![0u8, 255]),
        now(),
    )
    .unwrap();
    assert_eq!(
        t.get("srv1", "./Foo/z").unwrap()[0].data.as_deref(),
        Some(&[0u8, 255][..])
    );
}

/// TND 1.2 §7: `?prop=` returns each property; read-only ones cannot be
/// TND 1.2 §7.10 Name: replacing the Name renames the node and moves its
/// TND 1.2 `?list=Struct` / `?list=StructData`: the subtree depth first,
/// DevDetail/URI (StdObj 1.2) and TND 1.2 §6: URIs beyond MaxDepth,
/// MaxTotLen or MaxSegLen are refused with 414.
#[test]
fn uris_beyond_the_limits_are_414() {
    let mut cfg = TreeConfig::new(device_info());
    cfg.limits = UriLimits {
        max_depth: 7,
        max_tot_len: 64,
        max_seg_len: 12,
    };
    let t = Tree::open_in_memory(cfg, now()).unwrap();
    assert_eq!(text(&t, "srv", "./DevDetail/URI/MaxDepth"), "7");
    let mut uri = String::from(".");
    for i in 1..=7 {
        uri.push_str(&format!("/N{i}"));
        t.add("srv1", &uri, &Payload::interior(), now()).unwrap();
    }
    assert_eq!(
        status(t.add("srv1", &format!("{uri}/N8"), &Payload::chr("x"), now())),
        414,
        "depth 8"
    );
    assert_eq!(status(t.get("srv1", &format!("{uri}/N8/N9"))), 414);
    assert_eq!(
        status(t.add("srv1", "./N1/ThirteenChars", &Payload::chr("x"), now())),
        414,
        "segment"
    );
    t.add("srv1", "./N1/TwelveChars1", &Payload::chr("x"), now())
        .unwrap();
    let long = format!(
        "./N1/N2/{}/{}/{}/{}/eeee",
        "a".repeat(12),
        "b".repeat(12),
        "c".repeat(12),
        "d".repeat(12)
    );
    assert_eq!(long.len(), 64);
    let mut prefix = String::from("./N1/N2");
    for seg in long.split('/').skip(3) {
        prefix.push('/');
        prefix.push_str(seg);
        t.add("srv1", &prefix, &Payload::interior(), now()).unwrap();
    }
    assert_eq!(
        status(t.add("srv1", &format!("{long}x"), &Payload::chr("x"), now())),
        414,
        "65 bytes"
    );
    // A rename that would push a descendant past MaxTotLen is refused too.
    let e = t.replace(
        "srv1",
        &format!("./N1/N2/{}?prop=Name", "a".repeat(12)),
        &Payload::chr(&"A".repeat(12)),
        now(),
    );
    assert!(e.is_ok(), "same length is fine: {e:?}");
    let e = t.replace("srv1", "./N1/N2?prop=Name", &Payload::chr("N22"), now());
    assert_eq!(status(e), 414);
    // Malformed URIs are 400.
    for bad in ["./A//B", "./A/../B", "/A", ""] {
        assert_eq!(status(t.get("srv1", bad)), 400, "{bad:?}");
    }
    // Limits too small for the standard MOs are refused when opening.
    let mut cfg = TreeConfig::new(device_info());
    cfg.limits.max_seg_len = 8;
    assert_eq!(Tree::open_in_memory(cfg, now()).unwrap_err().status(), 400);
}

/// TND 1.2 §7.11/§7.12: TStamp and VerNo change with every change, taken
/// TND 1.2 §8 DDF: access types, occurrence, scope and format of described
/// nodes; undescribed nodes are dynamic.
#[test]
fn descriptions_restrict_commands_formats_and_occurrence() {
    let t = tree();
    t.describe(
        "./Vendor",
        NodeDesc::interior(AccessTypes::GET | AccessTypes::ADD).open(),
    )
    .unwrap();
    t.describe(
        "./Vendor/Mode",
        NodeDesc::leaf(Format::Int, AccessTypes::READ_WRITE),
    )
    .unwrap();
    t.describe(
        "./Vendor/Fixed",
        NodeDesc::leaf(Format::Chr, AccessTypes::GET),
    )
    .unwrap();
    t.describe("./Vendor/Slot", NodeDesc::interior(AccessTypes::GET))
        .unwrap();
    t.describe(
        "./Vendor/Slot/<X>",
        NodeDesc::interior(AccessTypes::READ_WRITE).occurs(Occurrence::ZeroOrOne),
    )
    .unwrap();
    t.describe("./Vendor/Closed", NodeDesc::interior(AccessTypes::ALL))
        .unwrap();
    let d = t.device();
    d.add("./Vendor", &Payload::interior(), now()).unwrap();
    d.replace(
        "./Vendor?prop=ACL",
        &Payload::chr("Add=*&Delete=*&Exec=*&Get=*&Replace=*"),
        now(),
    )
    .unwrap();
    d.add("./Vendor/Fixed", &Payload::chr("f"), now()).unwrap();
    d.add("./Vendor/Slot", &Payload::interior(), now()).unwrap();
    d.add("./Vendor/Closed", &Payload::interior(), now())
        .unwrap();

    assert_eq!(
        status(t.add("srv", "./Vendor/Mode", &Payload::chr("1"), now())),
        415
    );
    t.add(
        "srv",
        "./Vendor/Mode",
        &Payload::leaf(Format::Int, "1"),
        now(),
    )
    .unwrap();
    assert_eq!(
        status(t.replace("srv", "./Vendor/Mode", &Payload::chr("2"), now())),
        415
    );
    assert_eq!(
        status(t.replace("srv", "./Vendor/Fixed", &Payload::chr("g"), now())),
        405
    );
    assert_eq!(
        status(t.delete("srv", "./Vendor/Mode", now())),
        405,
        "occurrence One"
    );
    assert_eq!(status(t.delete("srv", "./Vendor/Fixed", now())), 405);
    assert_eq!(status(t.exec("srv", "./Vendor/Mode", None, None)), 405);
    t.add("srv", "./Vendor/Slot/a", &Payload::interior(), now())
        .unwrap();
    assert_eq!(
        status(t.add("srv", "./Vendor/Slot/b", &Payload::interior(), now())),
        405,
        "ZeroOrOne"
    );
    t.delete("srv", "./Vendor/Slot/a", now()).unwrap();
    assert_eq!(
        status(t.add("srv", "./Vendor/Closed/x", &Payload::chr("x"), now())),
        405
    );
    // Undescribed nodes under an open parent are dynamic.
    t.add("srv", "./Vendor/Free", &Payload::interior(), now())
        .unwrap();
    t.add(
        "srv",
        "./Vendor/Free/x",
        &Payload::leaf(Format::Float, "0.5"),
        now(),
    )
    .unwrap();
    t.replace("srv", "./Vendor/Free/x", &Payload::chr("now text"), now())
        .unwrap();
    assert_eq!(
        status(t.exec("srv", "./Vendor/Free/x", None, None)),
        405,
        "not executable"
    );
    t.delete("srv", "./Vendor/Free", now()).unwrap();
    // The name of a described literal node is fixed.
    assert_eq!(
        status(t.replace("srv", "./Vendor/Mode?prop=Name", &Payload::chr("M"), now())),
        405
    );
}

/// RepPro 1.2 §6.6.3 Copy: a leaf is copied with its format; into an
/// existing node it replaces the value.
#[test]
fn copy_copies_a_leaf() {
    let t = tree();
    t.add("srv1", "./Foo", &Payload::interior(), now()).unwrap();
    t.add("srv1", "./Foo/a", &Payload::leaf(Format::Int, "3"), now())
        .unwrap();
    t.copy("srv1", "./Foo/b", "./Foo/a", now()).unwrap();
    let b = &t.get("srv1", "./Foo/b").unwrap()[0];
    assert_eq!((b.format, b.text().as_str()), (Format::Int, "3"));
    t.replace("srv1", "./Foo/a", &Payload::leaf(Format::Int, "4"), now())
        .unwrap();
    t.copy("srv1", "./Foo/b", "./Foo/a", now()).unwrap();
    assert_eq!(text(&t, "srv1", "./Foo/b"), "4");
    // A described source whose access types lack Copy cannot be copied.
    assert_eq!(
        status(t.copy("srv1", "./Foo/c", "./DevInfo/Man", now())),
        405
    );
    assert_eq!(status(t.copy("srv1", "./Foo/d", "./Foo", now())), 406);
    assert_eq!(status(t.copy("srv1", "./Foo/d", "./Foo/none", now())), 404);
}

/// Values larger than the configured limit are 413 and not stored.
#[test]
fn oversized_values_are_413() {
    let mut cfg = TreeConfig::new(device_info());
    cfg.max_value_len = 16;
    let t = Tree::open_in_memory(cfg, now()).unwrap();
    t.add("srv1", "./Foo", &Payload::chr("small"), now())
        .unwrap();
    assert_eq!(
        status(t.replace("srv1", "./Foo", &Payload::chr(&"x".repeat(17)), now())),
        413
    );
    assert_eq!(text(&t, "srv1", "./Foo"), "small");
}
