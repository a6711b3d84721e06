//! Plug-ins serving subtrees from code, Exec handlers and the Inbox; the
//! tree checks ACLs before it delegates (OMA DM TND 1.2 §7.7.1).

use std::sync::{Arc, Mutex};

use dmsched::TreeAccess;
use dmsched::expr::Value;
use dmsched::tree::{
    Acl, DeviceInfo, ExecResult, Format, NodeHandler, Payload, PluginNode, Tree, TreeConfig,
    TreeError, Uri,
};
use jiff::Timestamp;

fn now() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

fn tree() -> Tree {
    Tree::open_in_memory(TreeConfig::new(DeviceInfo::default()), now()).unwrap()
}

fn status<T: std::fmt::Debug>(r: Result<T, TreeError>) -> u16 {
    r.unwrap_err().status()
}

/// A battery: `Level` (int), `Charging` (bool), and a writable `Saver`
/// mode that takes part in Atomic through the hooks.
#[derive(Default)]
struct Battery {
    calls: Mutex<Vec<String>>,
    saver: Mutex<(bool, Option<bool>)>,
}

impl Battery {
    fn log(&self, s: String) {
        self.calls.lock().unwrap().push(s);
    }
}

impl NodeHandler for Battery {
    fn get(&self, server: Option<&str>, uri: &Uri) -> Result<Option<PluginNode>, TreeError> {
        self.log(format!("get {} {uri}", server.unwrap_or("-")));
        Ok(match uri.name() {
            "Battery" => Some(PluginNode::Interior { mime: None }),
            "Level" => Some(PluginNode::int(87)),
            "Charging" => Some(PluginNode::bool(true)),
            "Saver" => Some(PluginNode::bool(self.saver.lock().unwrap().0)),
            _ => None,
        })
    }

    fn children(&self, _: Option<&str>, _: &Uri) -> Result<Vec<String>, TreeError> {
        Ok(vec!["Charging".into(), "Level".into(), "Saver".into()])
    }

    fn replace(&self, server: Option<&str>, uri: &Uri, p: &Payload) -> Result<(), TreeError> {
        self.log(format!("replace {} {uri}", server.unwrap_or("-")));
        if uri.name() != "Saver" {
            return Err(TreeError::with_status(405, "read-only"));
        }
        let v = match p.data.as_slice() {
            b"true" => true,
            b"false" => false,
            _ => return Err(TreeError::with_status(400, "bool expected")),
        };
        self.saver.lock().unwrap().0 = v;
        Ok(())
    }

    fn begin(&self) -> Result<(), TreeError> {
        let mut s = self.saver.lock().unwrap();
        s.1 = Some(s.0);
        Ok(())
    }

    fn commit(&self) -> Result<(), TreeError> {
        self.saver.lock().unwrap().1 = None;
        Ok(())
    }

    fn rollback(&self) {
        let mut s = self.saver.lock().unwrap();
        if let Some(old) = s.1.take() {
            s.0 = old;
        }
    }
}

fn with_battery(acl: Option<&str>) -> (Tree, Arc<Battery>) {
    let t = tree();
    let b = Arc::new(Battery::default());
    let acl = acl.map(|a| Acl::parse(a).unwrap());
    t.register_handler("./DevDetail/Ext/Battery", b.clone(), acl.as_ref(), now())
        .unwrap();
    (t, b)
}

/// A plug-in's nodes are read through Get like stored ones, and the
/// parent lists the plug-in root.
#[test]
fn plugin_battery_node_is_read_via_get() {
    let (t, b) = with_battery(None);
    let level = &t.get("srv1", "./DevDetail/Ext/Battery/Level").unwrap()[0];
    assert_eq!((level.format, level.text().as_str()), (Format::Int, "87"));
    assert!(
        b.calls
            .lock()
            .unwrap()
            .contains(&"get srv1 ./DevDetail/Ext/Battery/Level".to_string())
    );
    assert_eq!(
        t.get("srv1", "./DevDetail/Ext/Battery").unwrap()[0].text(),
        "Charging/Level/Saver"
    );
    assert_eq!(
        t.get("srv1", "./DevDetail/Ext").unwrap()[0].text(),
        "Battery"
    );
    assert_eq!(
        t.get("srv1", "./DevDetail/Ext/Battery/Level?prop=Format")
            .unwrap()[0]
            .text(),
        "int"
    );
    assert_eq!(
        status(t.get("srv1", "./DevDetail/Ext/Battery/Level?prop=TStamp")),
        406
    );
    assert_eq!(status(t.get("srv1", "./DevDetail/Ext/Battery/Nope")), 404);
    let l = t.get("srv1", "./DevDetail/Ext?list=StructData").unwrap();
    let uris: Vec<_> = l.iter().map(|i| (i.uri.as_str(), i.text())).collect();
    assert_eq!(
        uris,
        [
            ("./DevDetail/Ext", String::new()),
            ("./DevDetail/Ext/Battery", String::new()),
            ("./DevDetail/Ext/Battery/Charging", "true".into()),
            ("./DevDetail/Ext/Battery/Level", "87".into()),
            ("./DevDetail/Ext/Battery/Saver", "false".into()),
        ]
    );
}

/// The engine reads plug-in values through TreeAccess with the owner's
/// rights, typed by the node's format.
#[test]
fn plugin_battery_node_is_read_via_tree_access() {
    let (t, b) = with_battery(Some("Get=srv1"));
    assert_eq!(
        t.read("srv1", "./DevDetail/Ext/Battery/Level").unwrap(),
        Some(Value::Int(87))
    );
    assert_eq!(
        t.read("srv1", "./DevDetail/Ext/Battery/Charging").unwrap(),
        Some(Value::Bool(true))
    );
    assert_eq!(
        t.read("srv1", "./DevDetail/Ext/Battery/Nope").unwrap(),
        None
    );
    assert_eq!(
        t.read("srv1", "./DevInfo/DmV").unwrap(),
        Some(Value::Str("1.2".into()))
    );
    let e = t.read("srv2", "./DevDetail/Ext/Battery/Level").unwrap_err();
    assert!(e.0.contains("permission denied"), "{e}");
    let listing = t.get("srv2", "./DevDetail?list=StructData").unwrap();
    assert!(listing.iter().all(|i| !i.uri.contains("Battery")));
    assert!(
        !b.calls.lock().unwrap().iter().any(|c| c.contains("srv2")),
        "the plug-in never hears of srv2: {:?}",
        b.calls.lock().unwrap()
    );
    // Stored leaves are typed the same way.
    t.add("srv1", "./F", &Payload::leaf(Format::Float, "2.5"), now())
        .unwrap();
    assert_eq!(t.read("srv1", "./F").unwrap(), Some(Value::Float(2.5)));
}

/// TND 1.2 §7.7.1: the tree checks the plug-in root's ACL before it calls
/// the plug-in, so a server without rights never reaches it.
#[test]
fn plugin_is_not_called_without_acl_rights() {
    let (t, b) = with_battery(Some("Get=*&Replace=srv1"));
    b.calls.lock().unwrap().clear();
    let p = Payload::leaf(Format::Bool, "true");
    assert_eq!(
        status(t.replace("srv2", "./DevDetail/Ext/Battery/Saver", &p, now())),
        425
    );
    assert!(
        !b.calls
            .lock()
            .unwrap()
            .iter()
            .any(|c| c.starts_with("replace"))
    );
    t.replace("srv1", "./DevDetail/Ext/Battery/Saver", &p, now())
        .unwrap();
    assert_eq!(
        t.get("srv2", "./DevDetail/Ext/Battery/Saver").unwrap()[0].text(),
        "true"
    );
    // The plug-in's own statuses come through.
    assert_eq!(
        status(t.replace("srv1", "./DevDetail/Ext/Battery/Level", &p, now())),
        405
    );
    assert_eq!(
        status(t.add("srv1", "./DevDetail/Ext/Battery/New", &p, now())),
        425,
        "no Add right"
    );
    assert_eq!(
        status(t.delete("srv1", "./DevDetail/Ext/Battery", now())),
        405
    );
    assert_eq!(
        t.get("srv1", "./DevDetail/Ext/Battery?prop=ACL").unwrap()[0].text(),
        "Get=*&Replace=srv1"
    );
    assert_eq!(
        t.get("srv1", "./DevDetail/Ext/Battery/Level?prop=ACL")
            .unwrap()[0]
            .text(),
        ""
    );
    // Registering a second plug-in over the same subtree is refused.
    assert_eq!(
        status(t.register_handler("./DevDetail/Ext", b.clone(), None, now())),
        418
    );
}

/// Plug-in side effects roll back with an Atomic when the plug-in
/// implements the begin/commit/rollback hooks.
#[test]
fn plugin_hooks_take_part_in_atomic() {
    let (t, _) = with_battery(Some("Get=*&Replace=*"));
    t.begin().unwrap();
    t.replace(
        "srv1",
        "./DevDetail/Ext/Battery/Saver",
        &Payload::leaf(Format::Bool, "true"),
        now(),
    )
    .unwrap();
    t.rollback().unwrap();
    assert_eq!(
        t.get("srv1", "./DevDetail/Ext/Battery/Saver").unwrap()[0].text(),
        "false"
    );
    t.begin().unwrap();
    t.replace(
        "srv1",
        "./DevDetail/Ext/Battery/Saver",
        &Payload::leaf(Format::Bool, "true"),
        now(),
    )
    .unwrap();
    t.commit().unwrap();
    assert_eq!(
        t.get("srv1", "./DevDetail/Ext/Battery/Saver").unwrap()[0].text(),
        "true"
    );
}

/// RepPro 1.2 §6.6.6 Exec: a registered handler runs with the Exec right;
/// a node without one is not executable (405).
#[test]
fn exec_runs_the_registered_handler() {
    let t = tree();
    t.device()
        .add(
            "./DevDetail/Ext/Reboot",
            &Payload::leaf(Format::Null, ""),
            now(),
        )
        .unwrap();
    t.device()
        .replace(
            "./DevDetail/Ext/Reboot?prop=ACL",
            &Payload::chr("Exec=srv1&Get=*"),
            now(),
        )
        .unwrap();
    assert_eq!(
        status(t.exec("srv1", "./DevDetail/Ext/Reboot", None, None)),
        405
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let handler = move |server: Option<&str>, uri: &Uri, data: Option<&[u8]>| {
        s2.lock().unwrap().push((
            server.map(str::to_string),
            uri.to_string(),
            data.map(<[u8]>::to_vec),
        ));
        Ok(ExecResult {
            status: 202,
            data: Some(b"scheduled".to_vec()),
        })
    };
    t.register_exec("./DevDetail/Ext/Reboot", Arc::new(handler))
        .unwrap();
    let r = t
        .exec(
            "srv1",
            "./DevDetail/Ext/Reboot",
            Some(b"now"),
            Some("corr-1"),
        )
        .unwrap();
    assert_eq!(
        r,
        ExecResult {
            status: 202,
            data: Some(b"scheduled".to_vec())
        }
    );
    assert_eq!(
        status(t.exec("srv2", "./DevDetail/Ext/Reboot", None, None)),
        425
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(seen.lock().unwrap()[0].2.as_deref(), Some(&b"now"[..]));
    assert_eq!(
        status(t.exec("srv1", "./DevDetail/Ext/None", None, None)),
        404
    );
}

/// An MO claimed from the Inbox.
#[derive(Default)]
struct Claimer {
    got: Mutex<Vec<String>>,
}

impl NodeHandler for Claimer {
    fn get(&self, _: Option<&str>, _: &Uri) -> Result<Option<PluginNode>, TreeError> {
        Ok(None)
    }

    fn inbox_add(&self, server: Option<&str>, uri: &Uri, p: &Payload) -> Result<bool, TreeError> {
        if p.mime.as_deref() != Some("org.example/1.0/Thing") {
            return Ok(false);
        }
        self.got
            .lock()
            .unwrap()
            .push(format!("{} {uri}", server.unwrap_or("-")));
        Ok(true)
    }
}

/// StdObj 1.2 Inbox: an Add to `./Inbox/…` is accepted only when a
/// plug-in claims it (405 otherwise); nothing is stored under the Inbox.
#[test]
fn inbox_add_is_accepted_only_when_a_plugin_claims_it() {
    let t = tree();
    assert_eq!(
        status(t.add("srv1", "./Inbox/Thing", &Payload::interior(), now())),
        405
    );
    let c = Arc::new(Claimer::default());
    t.register_handler("./Vendor/Things", c.clone(), None, now())
        .unwrap();
    assert_eq!(
        status(t.add("srv1", "./Inbox/Thing", &Payload::interior(), now())),
        405
    );
    t.add(
        "srv1",
        "./Inbox/Thing",
        &Payload::interior().with_mime("org.example/1.0/Thing"),
        now(),
    )
    .unwrap();
    assert_eq!(*c.got.lock().unwrap(), ["srv1 ./Inbox/Thing"]);
    assert_eq!(status(t.get("srv1", "./Inbox/Thing")), 404);
}
