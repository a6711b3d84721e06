//! ACLs on the management tree: grammar, inheritance, the Add-grant rule
//! and the rights each command needs (OMA DM TND 1.2 §7.7.1).

use dmsched::tree::{Acl, AclCmd, DeviceInfo, Payload, Tree, TreeConfig};
use jiff::Timestamp;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn now() -> Timestamp {
    ts("2026-03-01T12:00:00Z")
}

fn tree() -> Tree {
    let dev = DeviceInfo {
        dev_id: "IMEI:1".into(),
        ..DeviceInfo::default()
    };
    Tree::open_in_memory(TreeConfig::new(dev), ts("2026-01-01T00:00:00Z")).unwrap()
}

fn acl_of(t: &Tree, uri: &str) -> String {
    t.device().get(&format!("{uri}?prop=ACL")).unwrap()[0].text()
}

fn status<T: std::fmt::Debug>(r: Result<T, dmsched::tree::TreeError>) -> u16 {
    r.unwrap_err().status()
}

/// TND 1.2 §7.7.1: ACL grammar; the canonical form orders commands and
/// server ids, and parsing it gives the same ACL back.
#[test]
fn acl_parse_and_serialise_round_trip() {
    for (input, canonical) in [
        ("", ""),
        ("Add=*&Get=*", "Add=*&Get=*"),
        ("Get=srv2+srv1&Add=srv1", "Add=srv1&Get=srv1+srv2"),
        (
            "Replace=a&Exec=b&Delete=c&Get=d&Add=e",
            "Add=e&Delete=c&Exec=b&Get=d&Replace=a",
        ),
        ("Get=a+*", "Get=*"),
        ("Get=a+a", "Get=a"),
    ] {
        let acl = Acl::parse(input).unwrap();
        assert_eq!(acl.to_string(), canonical, "{input}");
        assert_eq!(Acl::parse(canonical).unwrap(), acl, "{input}");
    }
    let a = Acl::parse("Get=srv1+srv2&Exec=*").unwrap();
    assert!(a.allows(AclCmd::Get, "srv2"));
    assert!(!a.allows(AclCmd::Get, "srv3"));
    assert!(a.allows(AclCmd::Exec, "anyone"));
    assert!(!a.allows(AclCmd::Add, "srv1"));
}

/// TND 1.2 §7.7.1: malformed ACLs are refused with 400.
#[test]
fn malformed_acls_are_rejected_with_400() {
    for bad in [
        "Get",
        "Get=",
        "=srv",
        "Copy=*",
        "get=*",
        "Get=a&Get=b",
        "Get=a+",
        "Get=+a",
        "Get=a b",
        "&Get=*",
        "Get=*&",
        "Get=a&&Add=b",
        "Get=a=b",
        "Get=a\tb",
    ] {
        assert_eq!(status(Acl::parse(bad)), 400, "{bad:?}");
    }
}

/// TND 1.2 §7.7.1: a bad ACL in a Replace of `?prop=ACL` is refused and the
/// old ACL stays.
#[test]
fn replacing_an_acl_with_garbage_keeps_the_old_one() {
    let t = tree();
    t.device().add("./A", &Payload::interior(), now()).unwrap();
    t.device()
        .replace(
            "./A?prop=ACL",
            &Payload::chr("Get=srv1&Replace=srv1"),
            now(),
        )
        .unwrap();
    let e = t
        .device()
        .replace("./A?prop=ACL", &Payload::chr("Get=srv1&Nope=x"), now());
    assert_eq!(status(e), 400);
    assert_eq!(acl_of(&t, "./A"), "Get=srv1&Replace=srv1");
}

/// TND 1.2 §7.7.1 ACL inheritance: an empty ACL inherits the nearest
/// ancestor's whole ACL; a node's own ACL overrides it.
#[test]
fn empty_acl_inherits_the_nearest_ancestor() {
    let t = tree();
    let d = t.device();
    d.add("./A", &Payload::interior(), now()).unwrap();
    d.add("./A/B", &Payload::interior(), now()).unwrap();
    d.add("./A/B/leaf", &Payload::chr("v"), now()).unwrap();
    d.replace(
        "./A?prop=ACL",
        &Payload::chr("Get=srv1&Replace=srv1"),
        now(),
    )
    .unwrap();
    assert_eq!(
        acl_of(&t, "./A/B/leaf"),
        "",
        "the leaf has no ACL of its own"
    );
    assert_eq!(t.get("srv1", "./A/B/leaf").unwrap()[0].text(), "v");
    assert_eq!(status(t.get("srv2", "./A/B/leaf")), 425);
    t.replace("srv1", "./A/B/leaf", &Payload::chr("w"), now())
        .unwrap();
    // Inheritance is of the whole ACL: no Delete entry means nobody deletes.
    assert_eq!(status(t.delete("srv1", "./A/B/leaf", now())), 425);
    // A node's own ACL overrides the inherited one.
    d.replace("./A/B?prop=ACL", &Payload::chr("Get=*"), now())
        .unwrap();
    assert_eq!(t.get("srv2", "./A/B/leaf").unwrap()[0].text(), "w");
    assert_eq!(
        status(t.replace("srv1", "./A/B/leaf", &Payload::chr("x"), now())),
        425
    );
}

/// TND 1.2 §7.7.1: the root's default ACL is `Add=*&Get=*`; a configured
/// root ACL is used instead, and the root's ACL can never be emptied.
#[test]
fn root_acl_defaults_and_is_configurable() {
    let t = tree();
    assert_eq!(acl_of(&t, "."), "Add=*&Get=*");
    assert_eq!(
        status(t.device().replace(".?prop=ACL", &Payload::chr(""), now())),
        400
    );
    let mut cfg = TreeConfig::new(DeviceInfo::default());
    cfg.root_acl = Acl::parse("Get=*&Add=admin&Replace=admin").unwrap();
    let t = Tree::open_in_memory(cfg, now()).unwrap();
    assert_eq!(acl_of(&t, "."), "Add=admin&Get=*&Replace=admin");
    assert_eq!(
        status(t.add("srv1", "./X", &Payload::interior(), now())),
        425
    );
    t.add("admin", "./X", &Payload::interior(), now()).unwrap();
}

/// TND 1.2 §7.7.1 (facts §4): a server that Adds a node under a parent it
/// cannot Replace gets Add, Delete, Get and Replace on the new node; one
/// that can Replace the parent leaves the new node inheriting.
#[test]
fn adding_under_a_parent_without_replace_grants_the_adder_rights() {
    let t = tree();
    t.add("srv1", "./Foo", &Payload::interior(), now()).unwrap();
    assert_eq!(
        acl_of(&t, "./Foo"),
        "Add=srv1&Delete=srv1&Get=srv1&Replace=srv1"
    );
    assert_eq!(status(t.get("srv2", "./Foo")), 425);
    assert_eq!(
        status(t.add("srv2", "./Foo/x", &Payload::chr("1"), now())),
        425
    );
    t.add("srv1", "./Foo/Bar", &Payload::chr("1"), now())
        .unwrap();
    assert_eq!(
        acl_of(&t, "./Foo/Bar"),
        "",
        "srv1 may Replace ./Foo: Bar inherits"
    );
    t.delete("srv1", "./Foo", now()).unwrap();
}

/// TND 1.2 §7.7.1: every command needs its right; without it, 425 and
/// nothing changes.
#[test]
fn a_server_without_rights_gets_425_and_changes_nothing() {
    let t = tree();
    t.add("srv1", "./Foo", &Payload::interior(), now()).unwrap();
    t.add("srv1", "./Foo/v", &Payload::chr("kept"), now())
        .unwrap();
    assert_eq!(
        status(t.replace("srv2", "./Foo/v", &Payload::chr("x"), now())),
        425
    );
    assert_eq!(status(t.delete("srv2", "./Foo/v", now())), 425);
    assert_eq!(status(t.delete("srv2", "./Foo", now())), 425);
    assert_eq!(status(t.exec("srv2", "./Foo/v", None, None)), 425);
    assert_eq!(status(t.copy("srv2", "./Mine", "./Foo/v", now())), 425);
    assert_eq!(status(t.get("srv2", "./Foo/v?prop=ACL")), 425);
    assert_eq!(
        status(t.replace("srv2", "./DevInfo/Mod", &Payload::chr("x"), now())),
        425
    );
    assert_eq!(t.get("srv1", "./Foo/v").unwrap()[0].text(), "kept");
    // A missing node inside a subtree the server cannot read is 425, not
    // 404: existence does not leak.
    assert_eq!(status(t.get("srv2", "./Foo/none")), 425);
    assert_eq!(status(t.get("srv1", "./Foo/none")), 404);
}

/// TND 1.2.1 §7.7.1.3 "Changing the ACL": a leaf's ACL is changed with
/// Replace on its parent; an interior node's with Replace on the node or on
/// its parent; the root's with Replace on the root.
#[test]
fn replacing_an_acl_needs_replace_on_the_parent_or_the_interior_node() {
    let t = tree();
    t.add("srv1", "./Foo", &Payload::interior(), now()).unwrap();
    t.add("srv1", "./Foo/leaf", &Payload::chr("v"), now())
        .unwrap();
    t.add("srv1", "./Foo/Sub", &Payload::interior(), now())
        .unwrap();
    let set = |server: &str, uri: &str, acl: &str| {
        t.replace(
            server,
            &format!("{uri}?prop=ACL"),
            &Payload::chr(acl),
            now(),
        )
    };
    // Leaf: srv1 has Replace on ./Foo, the parent.
    set("srv1", "./Foo/leaf", "Get=*&Replace=srv2").unwrap();
    // srv2 may Replace the leaf's value but not its ACL.
    t.replace("srv2", "./Foo/leaf", &Payload::chr("w"), now())
        .unwrap();
    assert_eq!(
        status(set("srv2", "./Foo/leaf", "Get=*&Replace=srv2+srv3")),
        425
    );
    // Interior: Replace on the node itself suffices (srv1 lacks it on the root).
    set(
        "srv1",
        "./Foo",
        "Add=srv1&Delete=srv1&Get=*&Replace=srv1+srv2",
    )
    .unwrap();
    set(
        "srv2",
        "./Foo",
        "Add=srv1&Delete=srv1&Get=*&Replace=srv1+srv2",
    )
    .unwrap();
    assert_eq!(
        acl_of(&t, "./Foo"),
        "Add=srv1&Delete=srv1&Get=*&Replace=srv1+srv2"
    );
    // Interior, through the parent: srv2 has Replace on ./Foo.
    set("srv1", "./Foo/Sub", "Get=srv1").unwrap();
    set("srv2", "./Foo/Sub", "Get=srv2").unwrap();
    assert_eq!(status(set("srv3", "./Foo/Sub", "Get=*")), 425);
    assert_eq!(acl_of(&t, "./Foo/Sub"), "Get=srv2");
    // The root: Replace on the root itself.
    assert_eq!(status(set("admin", ".", "Get=*")), 425);
    t.device()
        .replace(
            ".?prop=ACL",
            &Payload::chr("Add=*&Get=*&Replace=admin"),
            now(),
        )
        .unwrap();
    set("admin", ".", "Add=*&Get=*&Replace=admin+srv3").unwrap();
    set("srv3", "./Foo/Sub", "Get=*").unwrap_err();
}

/// TND 1.2 §7.7.1: deleting a subtree needs Delete on every node in it that
/// has its own ACL; otherwise nothing is deleted.
#[test]
fn delete_needs_delete_on_protected_descendants() {
    let t = tree();
    t.add("srv1", "./Foo", &Payload::interior(), now()).unwrap();
    t.add("srv1", "./Foo/Bar", &Payload::chr("x"), now())
        .unwrap();
    t.device()
        .replace(
            "./Foo/Bar?prop=ACL",
            &Payload::chr("Get=*&Delete=srv2"),
            now(),
        )
        .unwrap();
    assert_eq!(status(t.delete("srv1", "./Foo", now())), 425);
    assert_eq!(t.get("srv1", "./Foo/Bar").unwrap()[0].text(), "x");
}
