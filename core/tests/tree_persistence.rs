//! The tree on disk: crash-safe commits, Atomic roll-back (SyncML RepPro
//! 1.2 §6.6.3), reopening, and sharing the SQLite file with the scheduling
//! store.

use std::sync::Arc;
use std::time::Duration;

use dmsched::store::Store;
use dmsched::tree::{
    Account, AppAuth, AuthLevel, AuthType, DeviceInfo, Format, Item, Payload, TREE_SCHEMA_VERSION,
    Tree, TreeConfig,
};
use jiff::Timestamp;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn now() -> Timestamp {
    ts("2026-03-01T12:00:00Z")
}

fn cfg(fw: &str) -> TreeConfig {
    TreeConfig::new(DeviceInfo {
        dev_id: "IMEI:1".into(),
        fw_v: fw.into(),
        ..DeviceInfo::default()
    })
}

/// Everything the device can see, properties included.
fn snapshot(t: &Tree) -> Vec<(Item, String, String, String)> {
    t.device()
        .get(".?list=StructData")
        .unwrap()
        .into_iter()
        .map(|i| {
            let p = |q: &str| t.device().get(&format!("{}?prop={q}", i.uri)).unwrap()[0].text();
            let (acl, verno, tstamp) = (p("ACL"), p("VerNo"), p("TStamp"));
            (i, acl, verno, tstamp)
        })
        .collect()
}

fn seed(t: &Tree) {
    t.add("srv1", "./Foo", &Payload::interior(), now()).unwrap();
    t.add("srv1", "./Foo/a", &Payload::leaf(Format::Int, "1"), now())
        .unwrap();
    t.add("srv1", "./Foo/b", &Payload::chr("bee"), now())
        .unwrap();
}

/// RepPro 1.2 §6.6.3 Atomic: rollback() undoes every change made since
/// begin() — values, new and deleted nodes, properties, ACLs.
#[test]
fn begin_then_rollback_restores_everything() {
    let t = Tree::open_in_memory(cfg("1"), now()).unwrap();
    seed(&t);
    let before = snapshot(&t);
    let later = ts("2026-03-02T00:00:00Z");
    t.begin().unwrap();
    assert!(t.in_atomic());
    t.replace("srv1", "./Foo/a", &Payload::leaf(Format::Int, "2"), later)
        .unwrap();
    t.add("srv1", "./Foo/c", &Payload::chr("new"), later)
        .unwrap();
    t.delete("srv1", "./Foo/b", later).unwrap();
    t.replace("srv1", "./Foo/a?prop=Title", &Payload::chr("t"), later)
        .unwrap();
    t.add("srv2", "./Bar", &Payload::interior(), later).unwrap();
    // A failing command inside the Atomic undoes only itself; the session decides.
    t.replace("srv1", "./Foo/a", &Payload::leaf(Format::Int, "x"), later)
        .unwrap_err();
    assert_eq!(t.get("srv1", "./Foo/a").unwrap()[0].text(), "2");
    t.rollback().unwrap();
    assert!(!t.in_atomic());
    assert_eq!(snapshot(&t), before);
    // commit keeps.
    t.begin().unwrap();
    t.replace("srv1", "./Foo/a", &Payload::leaf(Format::Int, "3"), later)
        .unwrap();
    t.commit().unwrap();
    assert_eq!(t.get("srv1", "./Foo/a").unwrap()[0].text(), "3");
    // DM forbids nesting; commit/rollback need an open Atomic.
    t.begin().unwrap();
    assert_eq!(t.begin().unwrap_err().status(), 400);
    t.rollback().unwrap();
    assert_eq!(t.commit().unwrap_err().status(), 400);
    assert_eq!(t.rollback().unwrap_err().status(), 400);
}

/// An open Atomic belongs to its thread: another thread's calls wait and
/// then see only committed data.
#[test]
fn other_threads_wait_for_an_open_atomic() {
    let t = Arc::new(Tree::open_in_memory(cfg("1"), now()).unwrap());
    seed(&t);
    t.begin().unwrap();
    t.replace("srv1", "./Foo/b", &Payload::chr("uncommitted"), now())
        .unwrap();
    let t2 = Arc::clone(&t);
    let reader = std::thread::spawn(move || t2.get("srv1", "./Foo/b").unwrap()[0].text());
    std::thread::sleep(Duration::from_millis(100));
    assert!(!reader.is_finished(), "the reader waits for the Atomic");
    t.rollback().unwrap();
    assert_eq!(reader.join().unwrap(), "bee");
}

/// Every returned command is on disk: reopening the file gives the same
/// tree (values, ACLs, TStamp, VerNo, accounts); device facts are refreshed.
#[test]
fn the_tree_persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dm.db");
    let before;
    {
        let t = Tree::open(&path, cfg("1.0"), now()).unwrap();
        seed(&t);
        t.replace("srv1", "./Foo/a", &Payload::leaf(Format::Int, "9"), now())
            .unwrap();
        t.add_account(
            &Account {
                node: "acc".into(),
                server_id: "srv1".into(),
                name: None,
                pref_con_ref: None,
                addrs: vec![],
                auths: vec![AppAuth {
                    level: AuthLevel::Client,
                    auth_type: AuthType::Basic,
                    name: Some("u".into()),
                    secret: Some("p".into()),
                    nonce: None,
                }],
                // Persistence, not authentication, is under test here.
                allow_unauthenticated_server: true,
            },
            now(),
        )
        .unwrap();
        before = snapshot(&t);
        // An Atomic left open when the process dies is not committed.
        t.begin().unwrap();
        t.delete("srv1", "./Foo", now()).unwrap();
    }
    let t = Tree::open(&path, cfg("1.0"), ts("2026-04-01T00:00:00Z")).unwrap();
    assert_eq!(snapshot(&t), before);
    assert_eq!(
        t.account("srv1").unwrap().unwrap().auths[0]
            .secret
            .as_deref(),
        Some("p")
    );
    drop(t);
    // A firmware update changes DevDetail/FwV on the next open.
    let t = Tree::open(&path, cfg("2.0"), ts("2026-05-01T00:00:00Z")).unwrap();
    assert_eq!(t.get("srv", "./DevDetail/FwV").unwrap()[0].text(), "2.0");
    assert_eq!(
        t.get("srv", "./DevDetail/FwV?prop=VerNo").unwrap()[0].text(),
        "1"
    );
    assert_eq!(
        t.get("srv", "./DevDetail/FwV?prop=TStamp").unwrap()[0].text(),
        "20260501T000000Z"
    );
    assert_eq!(t.get("srv1", "./Foo/a").unwrap()[0].text(), "9");
}

fn user_version(path: &std::path::Path) -> (u32, u32) {
    let c = rusqlite::Connection::open(path).unwrap();
    let uv = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let tv = c
        .query_row("SELECT version FROM tree_schema", [], |r| r.get(0))
        .unwrap();
    (uv, tv)
}

/// The tree lives in the scheduling store's file with its own `tree_*`
/// tables and version; either may be opened first, both at once.
#[test]
fn tree_and_store_share_one_file_in_either_order() {
    let dir = tempfile::tempdir().unwrap();
    // Store first.
    let a = dir.path().join("a.db");
    let store = Store::open(&a).unwrap();
    let t = Tree::open(&a, cfg("1"), now()).unwrap();
    seed(&t);
    drop(store);
    let store = Store::open(&a).unwrap();
    assert_eq!(store.outbox_len().unwrap(), 0);
    t.add(
        "srv1",
        "./Foo/c",
        &Payload::chr("while the store is open"),
        now(),
    )
    .unwrap();
    drop((store, t));
    assert_eq!(
        user_version(&a),
        (dmsched::store::SCHEMA_VERSION, TREE_SCHEMA_VERSION)
    );
    let t = Tree::open(&a, cfg("1"), now()).unwrap();
    assert_eq!(
        t.get("srv1", "./Foo/c").unwrap()[0].text(),
        "while the store is open"
    );
    drop(t);
    // Tree first.
    let b = dir.path().join("b.db");
    let t = Tree::open(&b, cfg("1"), now()).unwrap();
    seed(&t);
    let store = Store::open(&b).unwrap();
    assert_eq!(store.outbox_len().unwrap(), 0);
    drop((t, store));
    let store = Store::open(&b).unwrap();
    let t = Tree::open(&b, cfg("1"), now()).unwrap();
    assert_eq!(t.get("srv1", "./Foo/b").unwrap()[0].text(), "bee");
    drop((t, store));
    assert_eq!(
        user_version(&b),
        (dmsched::store::SCHEMA_VERSION, TREE_SCHEMA_VERSION)
    );
    let c = rusqlite::Connection::open(&b).unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let _ = Store::open_read_only(&b).unwrap();
}

/// A file whose tree tables come from a newer dmsched is refused (500),
/// not rewritten.
#[test]
fn a_newer_tree_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dm.db");
    drop(Tree::open(&path, cfg("1"), now()).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute("UPDATE tree_schema SET version = 99", [])
        .unwrap();
    drop(c);
    let e = Tree::open(&path, cfg("1"), now()).unwrap_err();
    assert_eq!(e.status(), 500);
    assert!(e.to_string().contains("99"), "{e}");
    assert_eq!(user_version(&path).1, 99);
}
