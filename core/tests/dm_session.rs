//! The DM session, sans I/O (issue 5, "Session" and "Robustness"): server
//! messages built with the SyncML model (or broken on purpose) go into
//! `Session::receive` over the real SQLite tree; the device's answers are
//! decoded and checked. The end-to-end sessions over HTTPS are in
//! `samples/dm-server/tests/e2e.rs`.

use std::sync::Arc;

use dmsched::dm::auth::{self, AuthType, Nonce, Secret};
use dmsched::dm::client::{Clock, TreeTarget};
use dmsched::dm::session::{
    Account, Incoming, Initiation, Outgoing, Session, SessionConfig, SessionError, Step,
};
use dmsched::dm::syncml::{
    self, Alert, Command, Container, Cred, Data, Encoding, Item, ItemCmd, Locus, Meta, Status,
    SyncBody, SyncHdr, SyncMl,
};
use dmsched::tree::{AppAddr, AppAuth, AuthLevel, DeviceInfo, Payload, Tree, TreeConfig};

const SERVER: &str = "srv.example";
const URL: &str = "https://dm.example/dm";
const DEV: &str = "IMEI:1";

fn clock() -> Clock {
    let t: jiff::Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
    Arc::new(move || t)
}

fn tree() -> Tree {
    let info = DeviceInfo {
        dev_id: DEV.into(),
        man: "dmsched".into(),
        model: "t".into(),
        lang: "en".into(),
        ..DeviceInfo::default()
    };
    let t = Tree::open_in_memory(TreeConfig::new(info), clock()()).unwrap();
    t.add_account(
        &dmsched::tree::Account {
            node: "S".into(),
            server_id: SERVER.into(),
            name: None,
            pref_con_ref: None,
            addrs: vec![AppAddr {
                addr: URL.into(),
                addr_type: "URI".into(),
            }],
            auths: vec![
                AppAuth {
                    level: AuthLevel::Client,
                    auth_type: dmsched::tree::AuthType::Digest,
                    name: Some("dev".into()),
                    secret: Some("pw".into()),
                    nonce: Some(b"n0".to_vec()),
                },
                AppAuth {
                    level: AuthLevel::Server,
                    auth_type: dmsched::tree::AuthType::Digest,
                    name: Some(SERVER.into()),
                    secret: Some("spw".into()),
                    nonce: Some(b"s0".to_vec()),
                },
            ],
            allow_unauthenticated_server: false,
        },
        clock()(),
    )
    .unwrap();
    t
}

fn account(server_auth: Option<AuthType>) -> Account {
    Account {
        server_id: SERVER.into(),
        server_url: URL.into(),
        client_auth: AuthType::Md5,
        client_name: "dev".into(),
        client_secret: Secret::new("pw"),
        client_nonce: Nonce::new(b"n0".to_vec()),
        server_auth,
        server_secret: Secret::new("spw"),
        server_nonce: Nonce::new(b"s0".to_vec()),
        // These protocol tests are about other things; the ones about server
        // authentication set `server_auth` (6.1.1.2.1).
        allow_unauthenticated_server: server_auth.is_none(),
        server_nonce_used_in: None,
    }
}

fn decode(out: &Outgoing) -> SyncMl {
    syncml::decode(&out.body).unwrap()
}

/// A server message in the session of `first`, answering its MsgID.
struct Server {
    session: String,
    msg: u32,
    cred: bool,
}

impl Server {
    fn msg(&mut self, answering: &Outgoing, mut commands: Vec<Command>, final_: bool) -> Incoming {
        self.msg += 1;
        let mut hdr_status = Status {
            cmd_id: "1".into(),
            msg_ref: Some(answering.msg_id.to_string()),
            cmd_ref: Some("0".into()),
            cmd: "SyncHdr".into(),
            data: "212".into(),
            ..Status::default()
        };
        hdr_status.target_refs.push(URL.into());
        commands.insert(0, Command::Status(hdr_status));
        let m = SyncMl {
            hdr: SyncHdr {
                ver_dtd: "1.2".into(),
                ver_proto: "DM/1.2".into(),
                session_id: self.session.clone(),
                msg_id: self.msg.to_string(),
                target: Locus::uri(DEV),
                source: Locus::uri(URL),
                cred: self.cred.then(|| Cred {
                    meta: Some(Meta {
                        type_: Some("syncml:auth-md5".into()),
                        format: Some("b64".into()),
                        ..Meta::default()
                    }),
                    data: auth::md5_digest(SERVER, "spw", b"s0"),
                }),
                ..SyncHdr::default()
            },
            body: SyncBody { commands, final_ },
        };
        Incoming {
            http_status: 200,
            content_type: Some(Encoding::Xml.mime().into()),
            hmac: None,
            body: syncml::encode(&m, Encoding::Xml).unwrap(),
        }
    }
}

fn item_cmd(id: &str, target: &str, data: Option<&str>) -> ItemCmd {
    ItemCmd {
        cmd_id: id.into(),
        items: vec![Item {
            target: Some(Locus::uri(target)),
            data: data.map(Data::from),
            ..Item::default()
        }],
        ..ItemCmd::default()
    }
}

fn statuses(m: &SyncMl) -> Vec<(String, u16)> {
    m.body
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Status(s) => Some((s.cmd.clone(), s.code())),
            _ => None,
        })
        .collect()
}

fn start<'a>(
    target: &'a TreeTarget<'a>,
    server_auth: Option<AuthType>,
    cfg: SessionConfig,
) -> (Session<'a>, Outgoing, Server) {
    let (s, first) = Session::start(
        target,
        None,
        account(server_auth),
        cfg,
        Initiation::Client { session_id: 0x4a },
        &[],
    )
    .unwrap();
    (
        s,
        first,
        Server {
            session: "4A".into(),
            msg: 0,
            cred: server_auth.is_some(),
        },
    )
}

fn send(step: Step) -> Outgoing {
    match step {
        Step::Send(o) => o,
        Step::Done(s) => panic!("session ended: {s:?}"),
    }
}

/// Facts §3 package 1: Alert 1201, the DevInfo Replace, MD5 Cred with the
/// stored nonce, MaxMsgSize/MaxObjSize, session id in upper-case hex.
#[test]
fn package_one_carries_alert_devinfo_credentials_and_sizes() {
    let t = tree();
    let target = TreeTarget::new(&t, clock());
    let (_, first, _) = start(&target, None, SessionConfig::default());
    let m = decode(&first);
    assert_eq!(m.hdr.session_id, "4A");
    assert_eq!(m.hdr.msg_id, "1");
    assert_eq!(m.hdr.source.loc_uri, DEV);
    assert_eq!(m.hdr.target.loc_uri, URL);
    let cred = m.hdr.cred.unwrap();
    assert_eq!(cred.data, auth::md5_digest("dev", "pw", b"n0"));
    let meta = m.hdr.meta.unwrap();
    assert!(meta.max_msg_size.is_some() && meta.max_obj_size.is_some());
    let Command::Alert(a) = &m.body.commands[0] else {
        panic!()
    };
    assert_eq!(a.data.as_deref(), Some("1201"));
    let Command::Replace(r) = &m.body.commands[1] else {
        panic!()
    };
    let uris: Vec<_> = r
        .items
        .iter()
        .map(|i| i.source.as_ref().unwrap().loc_uri.as_str())
        .collect();
    assert_eq!(
        uris,
        [
            "./DevInfo/DevId",
            "./DevInfo/Man",
            "./DevInfo/Mod",
            "./DevInfo/DmV",
            "./DevInfo/Lang"
        ]
    );
    assert!(m.body.final_);
}

/// Status before Results for a Get; 406 for a command DM does not do, and
/// the session goes on; NoResp means no Status; Final with only Status ends it.
#[test]
fn commands_are_answered_in_order_and_unknown_ones_get_406() {
    let t = tree();
    let target = TreeTarget::new(&t, clock());
    let (mut s, first, mut srv) = start(&target, None, SessionConfig::default());
    let mut quiet = item_cmd("4", "./Q", Some("1"));
    quiet.no_resp = true;
    let msg = srv.msg(
        &first,
        vec![
            Command::Get(item_cmd("3", "./DevInfo/Mod", None)),
            Command::Add(quiet),
        ],
        true,
    );
    // The Unknown command cannot be encoded by our own writer: build it by hand.
    let body = String::from_utf8(msg.body.clone()).unwrap();
    assert!(body.contains("<SyncBody>"));
    let body = body.replace("<Get>", "<Search><CmdID>2</CmdID></Search><Get>");
    let out = send(
        s.receive(Incoming {
            body: body.into_bytes(),
            ..msg
        })
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let m = decode(&out);
    let st = statuses(&m);
    assert_eq!(
        st,
        [
            ("SyncHdr".into(), 200),
            ("Search".into(), 406),
            ("Get".into(), 200)
        ]
    );
    let pos_status = m
        .body
        .commands
        .iter()
        .position(|c| matches!(c, Command::Status(s) if s.cmd == "Get"))
        .unwrap();
    let pos_results = m
        .body
        .commands
        .iter()
        .position(|c| matches!(c, Command::Results(_)))
        .unwrap();
    assert!(pos_results == pos_status + 1);
    assert_eq!(t.device().get("./Q").unwrap()[0].text(), "1");
    // The server acknowledges with Status only and Final: the session is over.
    let done = s.receive(srv.msg(&out, vec![], true)).unwrap();
    assert!(matches!(done, Step::Done(_)));
}

/// Robustness: a malformed, truncated or hostile answer ends the session
/// with a 4xx-class codec error; the tree is unchanged and the session
/// refuses further input.
#[test]
fn malformed_answers_end_the_session_cleanly() {
    for bad in [
        b"<SyncML><SyncHdr>".to_vec(),
        b"\x02\xa4\x01\x6a\x00\x6d\x6c".to_vec(),
        b"not a message".to_vec(),
        format!("<SyncML>{}</SyncML>", "<SyncBody>".repeat(500)).into_bytes(),
    ] {
        let t = tree();
        let target = TreeTarget::new(&t, clock());
        let (mut s, _first, _) = start(&target, None, SessionConfig::default());
        let e = s
            .receive(Incoming {
                http_status: 200,
                body: bad.clone(),
                ..Incoming::default()
            })
            .unwrap_err();
        match &e {
            SessionError::Codec(c) => assert!((400..500).contains(&c.status()), "{c}"),
            other => panic!("{other}"),
        }
        assert!(matches!(
            s.receive(Incoming::default()),
            Err(SessionError::Protocol(_))
        ));
        assert_eq!(
            t.device().get("./DevInfo/Man").unwrap()[0].text(),
            "dmsched"
        );
    }
}

/// A truncated valid answer ends the session without running any of it.
#[test]
fn a_truncated_answer_runs_nothing() {
    let t = tree();
    let target = TreeTarget::new(&t, clock());
    let (mut s, first, mut srv) = start(&target, None, SessionConfig::default());
    let mut msg = srv.msg(
        &first,
        vec![Command::Add(item_cmd("2", "./T", Some("x")))],
        true,
    );
    let n = msg.body.len() - 30;
    msg.body.truncate(n);
    assert!(matches!(s.receive(msg), Err(SessionError::Codec(_))));
    assert!(t.device().get("./T").is_err());
}

/// Large objects from the server: a declared Size beyond our MaxObjSize is
/// refused with 413 for every chunk and nothing is stored; a wrong total
/// gets 424; a package that ends inside an object gets Alert 1225.
#[test]
fn large_object_limits_and_mismatches() {
    let chunk = |id: &str, data: &str, more: bool, size: Option<&str>| {
        let mut c = item_cmd(id, "./L", Some(data));
        c.items[0].more_data = more;
        c.items[0].meta = size.map(|s| Meta {
            size: Some(s.into()),
            ..Meta::default()
        });
        Command::Add(c)
    };
    let cfg = SessionConfig {
        max_obj_size: 1000,
        ..SessionConfig::default()
    };

    let t = tree();
    let target = TreeTarget::new(&t, clock());
    let (mut s, first, mut srv) = start(&target, None, cfg.clone());
    let o = send(
        s.receive(srv.msg(
            &first,
            vec![chunk("2", "aaaa", true, Some("999999999999"))],
            false,
        ))
        .unwrap(),
    );
    assert_eq!(statuses(&decode(&o))[1], ("Add".into(), 413));
    let o = send(
        s.receive(srv.msg(&o, vec![chunk("2", "bbbb", false, None)], true))
            .unwrap(),
    );
    assert_eq!(statuses(&decode(&o))[1], ("Add".into(), 413));
    assert!(t.device().get("./L").is_err());

    let t = tree();
    let target = TreeTarget::new(&t, clock());
    let (mut s, first, mut srv) = start(&target, None, cfg.clone());
    let o = send(
        s.receive(srv.msg(&first, vec![chunk("2", "aaaa", true, Some("10"))], false))
            .unwrap(),
    );
    let m = decode(&o);
    assert_eq!(statuses(&m)[1], ("Add".into(), 213));
    assert!(
        m.body
            .commands
            .iter()
            .any(|c| matches!(c, Command::Alert(a) if a.data.as_deref() == Some("1222")))
    );
    let o = send(
        s.receive(srv.msg(&o, vec![chunk("3", "bbbb", false, None)], true))
            .unwrap(),
    );
    assert_eq!(statuses(&decode(&o))[1], ("Add".into(), 424));
    assert!(t.device().get("./L").is_err());

    let t = tree();
    let target = TreeTarget::new(&t, clock());
    let (mut s, first, mut srv) = start(&target, None, cfg);
    let o = send(
        s.receive(srv.msg(&first, vec![chunk("2", "aaaa", true, Some("8"))], true))
            .unwrap(),
    );
    let m = decode(&o);
    assert!(
        m.body
            .commands
            .iter()
            .any(|c| matches!(c, Command::Alert(a) if a.data.as_deref() == Some("1225")))
    );
    assert!(t.device().get("./L").is_err());
}

/// The server's MaxObjSize: a Get result larger than it is not sent; the
/// Get answers 413.
#[test]
fn results_beyond_the_servers_max_obj_size_are_refused() {
    let t = tree();
    t.device()
        .add("./Big", &Payload::chr(&"z".repeat(5000)), clock()())
        .unwrap();
    let target = TreeTarget::new(&t, clock());
    let (mut s, first, mut srv) = start(&target, None, SessionConfig::default());
    let mut msg = srv.msg(
        &first,
        vec![Command::Get(item_cmd("2", "./Big", None))],
        true,
    );
    let text = String::from_utf8(msg.body).unwrap().replace(
        "</Source></SyncHdr>",
        "</Source><Meta><MaxObjSize xmlns=\"syncml:metinf\">1000</MaxObjSize></Meta></SyncHdr>",
    );
    msg.body = text.into_bytes();
    let m = decode(&send(s.receive(msg).unwrap()));
    assert_eq!(statuses(&m)[1], ("Get".into(), 413));
    assert!(
        !m.body
            .commands
            .iter()
            .any(|c| matches!(c, Command::Results(_)))
    );
}

/// Facts §5: when the account requires the server to authenticate, a
/// message without its Cred gets 407 with a Chal carrying a fresh nonce
/// (stored first), and its commands are answered, not run.
#[test]
fn an_unauthenticated_server_is_challenged_and_not_obeyed() {
    let t = tree();
    let target = TreeTarget::new(&t, clock());
    let (mut s, first, mut srv) = start(&target, Some(AuthType::Md5), SessionConfig::default());
    srv.cred = false;
    let o = send(
        s.receive(srv.msg(
            &first,
            vec![Command::Add(item_cmd("2", "./Evil", Some("1")))],
            true,
        ))
        .unwrap(),
    );
    let m = decode(&o);
    let Command::Status(h) = &m.body.commands[0] else {
        panic!()
    };
    assert_eq!(h.code(), 407);
    let nonce = h.chal.as_ref().unwrap().meta.next_nonce.clone().unwrap();
    assert_eq!(statuses(&m)[1], ("Add".into(), 407));
    assert!(t.device().get("./Evil").is_err());
    assert_eq!(Nonce::new(stored_server_nonce(&t)).to_b64(), nonce);
}

/// A Chal whose NextNonce is not base64 ends the session with a protocol
/// error and leaves the stored nonce alone.
#[test]
fn bad_base64_nonce_is_refused_and_the_old_one_kept() {
    let t = tree();
    let target = TreeTarget::new(&t, clock());
    let (mut s, first, mut srv) = start(&target, None, SessionConfig::default());
    let msg = srv.msg(&first, vec![], false);
    let text = String::from_utf8(msg.body.clone()).unwrap().replace(
        "<Data>212</Data>",
        "<Chal><Meta><Type xmlns=\"syncml:metinf\">syncml:auth-md5</Type><NextNonce xmlns=\"syncml:metinf\">***not b64***</NextNonce></Meta></Chal><Data>212</Data>",
    );
    let e = s
        .receive(Incoming {
            body: text.into_bytes(),
            ..msg
        })
        .unwrap_err();
    assert!(matches!(e, SessionError::Protocol(_)), "{e}");
    let stored = t
        .account(SERVER)
        .unwrap()
        .unwrap()
        .auths
        .into_iter()
        .find(|a| a.level == AuthLevel::Client)
        .unwrap()
        .nonce
        .unwrap();
    assert_eq!(stored, b"n0");
}

/// Alert 1223 from the server aborts the session; a wrong session id is a
/// protocol error; the message cap ends a session that goes on forever.
#[test]
fn abort_wrong_session_and_message_cap() {
    let t = tree();
    let target = TreeTarget::new(&t, clock());
    let (mut s, first, mut srv) = start(&target, None, SessionConfig::default());
    let abort = Command::Alert(Alert {
        cmd_id: "2".into(),
        data: Some("1223".into()),
        ..Alert::default()
    });
    match s.receive(srv.msg(&first, vec![abort], true)).unwrap() {
        Step::Done(sum) => assert!(sum.aborted),
        other => panic!("{other:?}"),
    }

    let (mut s, first, mut srv) = start(&target, None, SessionConfig::default());
    srv.session = "99".into();
    assert!(matches!(
        s.receive(srv.msg(&first, vec![], true)),
        Err(SessionError::Protocol(_))
    ));

    let cfg = SessionConfig {
        max_messages: 6,
        ..SessionConfig::default()
    };
    let (mut s, mut out, mut srv) = start(&target, None, cfg);
    let mut n = 0;
    let err = loop {
        n += 1;
        let get = Command::Get(item_cmd("2", "./DevInfo/Lang", None));
        match s.receive(srv.msg(&out, vec![get], true)) {
            Ok(Step::Send(o)) => out = o,
            Ok(Step::Done(d)) => panic!("ended: {d:?}"),
            Err(e) => break e,
        }
        assert!(n < 10);
    };
    assert!(matches!(err, SessionError::TooLong(6)), "{err}");
}

/// Atomic inside the session: a failing Replace rolls back an Add (216),
/// the Atomic answers 507; a Get inside Atomic is refused (500, 215).
#[test]
fn atomic_rolls_back_and_refuses_get_inside() {
    let t = tree();
    let target = TreeTarget::new(&t, clock());
    let (mut s, first, mut srv) = start(&target, None, SessionConfig::default());
    let atomic = Command::Atomic(Container {
        cmd_id: "2".into(),
        commands: vec![
            Command::Add(item_cmd("3", "./A1", Some("x"))),
            Command::Replace(item_cmd("4", "./Missing", Some("y"))),
        ],
        ..Container::default()
    });
    let with_get = Command::Atomic(Container {
        cmd_id: "5".into(),
        commands: vec![
            Command::Add(item_cmd("6", "./A2", Some("x"))),
            Command::Get(item_cmd("7", "./A1", None)),
        ],
        ..Container::default()
    });
    let m = decode(&send(
        s.receive(srv.msg(&first, vec![atomic, with_get], true))
            .unwrap(),
    ));
    assert_eq!(
        statuses(&m)[1..],
        [
            ("Atomic".into(), 507),
            ("Add".into(), 216),
            ("Replace".into(), 404),
            ("Atomic".into(), 500),
            ("Add".into(), 215),
            ("Get".into(), 215)
        ]
    );
    assert!(t.device().get("./A1").is_err() && t.device().get("./A2").is_err());
}

fn stored_server_nonce(t: &Tree) -> Vec<u8> {
    t.account(SERVER)
        .unwrap()
        .unwrap()
        .auths
        .into_iter()
        .find(|a| a.level == AuthLevel::Server)
        .unwrap()
        .nonce
        .unwrap()
}

/// Issue 14 item 1 (6.1.1.1.2, 6.1.1.2.1): the server's MD5 credential and
/// a 401 + Chal on the device's credential in the same message. The device
/// accepts the server (212) and must retry its own credential; the stored
/// server nonce is rotated at once, so the same server credential is
/// refused in the next session (it was accepted twice before: no new nonce
/// was sent anywhere in that session).
#[test]
fn a_server_credential_is_never_accepted_twice() {
    let t = tree();
    let target = TreeTarget::new(&t, clock());
    let (mut s, first, mut srv) = start(&target, Some(AuthType::Md5), SessionConfig::default());
    let msg = srv.msg(&first, vec![], false);
    let text = String::from_utf8(msg.body.clone()).unwrap().replace(
        "<Data>212</Data>",
        "<Chal><Meta><Type xmlns=\"syncml:metinf\">syncml:auth-md5</Type><Format xmlns=\"syncml:metinf\">b64</Format><NextNonce xmlns=\"syncml:metinf\">bjE=</NextNonce></Meta></Chal><Data>401</Data>",
    );
    let _ = s.receive(Incoming {
        body: text.into_bytes(),
        ..msg
    });
    let rotated = stored_server_nonce(&t);
    assert_ne!(rotated, b"s0", "the server nonce was not rotated");

    // The next session, with the account as stored: the replayed
    // credential (over s0) is refused.
    let mut acct = account(Some(AuthType::Md5));
    acct.server_nonce = Nonce::new(rotated.clone());
    let (mut s2, first2) = Session::start(
        &target,
        None,
        acct,
        SessionConfig::default(),
        Initiation::Client { session_id: 0x4b },
        &[],
    )
    .unwrap();
    let mut replay = Server {
        session: "4B".into(),
        msg: 0,
        cred: true,
    };
    let o = send(
        s2.receive(replay.msg(
            &first2,
            vec![Command::Add(item_cmd("2", "./Evil", Some("1")))],
            true,
        ))
        .unwrap(),
    );
    let m = decode(&o);
    let Command::Status(h) = &m.body.commands[0] else {
        panic!()
    };
    assert_eq!(h.code(), 401, "a replayed server credential was accepted");
    assert!(t.device().get("./Evil").is_err());
}

/// Within one session the server may repeat its credential (over the nonce
/// it knows) in every message: still accepted after the rotation; and the
/// device's answer carries the new nonce it stored.
#[test]
fn the_same_session_accepts_the_servers_credential_again_and_sends_the_new_nonce() {
    let t = tree();
    let target = TreeTarget::new(&t, clock());
    let (mut s, first, mut srv) = start(&target, Some(AuthType::Md5), SessionConfig::default());
    let o = send(
        s.receive(srv.msg(
            &first,
            vec![Command::Get(item_cmd("2", "./DevInfo/DevId", None))],
            false,
        ))
        .unwrap(),
    );
    let m = decode(&o);
    let Command::Status(h) = &m.body.commands[0] else {
        panic!()
    };
    assert_eq!(h.code(), 212);
    let sent = h.chal.as_ref().unwrap().meta.next_nonce.clone().unwrap();
    assert_eq!(Nonce::new(stored_server_nonce(&t)).to_b64(), sent);
    let o = send(
        s.receive(srv.msg(
            &o,
            vec![Command::Get(item_cmd("2", "./DevInfo/DevId", None))],
            false,
        ))
        .unwrap(),
    );
    let m = decode(&o);
    let codes = statuses(&m);
    assert!(codes[0].1 < 300, "{codes:?}");
    assert!(
        codes.iter().any(|(c, code)| c == "Get" && *code == 200),
        "{codes:?}"
    );
}
