//! The server authenticates itself (6.1.1.2.1) and its credentials cannot
//! be replayed (6.1.1.1.2), sans I/O (issue 14, "Nonces" and "Server
//! authentication required by default"): accounts without a server
//! credential are refused unless they opt out, the last HMAC message of a
//! session cannot be replayed in a later one, an unauthenticated Status
//! acknowledges nothing, and a property test over random session
//! interleavings.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use dmsched::dm::auth::{self, HmacHeader};
use dmsched::dm::client::{AccountFile, ClientError, Clock, TreeTarget, session_account};
use dmsched::dm::session::{
    ClientAlert, Incoming, Initiation, Outgoing, Session, SessionConfig, SessionError, Step,
};
use dmsched::dm::syncml::{
    self, Chal, Command, Cred, Data, Encoding, Exec, Item, ItemCmd, Locus, Meta, Status, SyncBody,
    SyncHdr, SyncMl,
};
use dmsched::tree::{AuthLevel, AuthType, DeviceInfo, Tree, TreeConfig};
use rand::{RngExt, SeedableRng, rngs::StdRng};

const SERVER: &str = "srv.example";
const SPW: &str = "spw";
const URL: &str = "https://dm.example/dm";
const DEV: &str = "IMEI:7";

/// The tree's clock: a fixed instant (nothing here depends on time).
fn clock() -> Clock {
    let fixed = jiff::Timestamp::from_second(1_796_126_400).unwrap();
    Arc::new(move || fixed)
}

/// A tree with the account of [`SERVER`], provisioned from its account
/// file: the device's MD5 credential and the server's credential of
/// `server` (or none, with the opt-out).
fn tree(server: Option<AuthType>) -> Tree {
    let info = DeviceInfo {
        dev_id: DEV.into(),
        ..DeviceInfo::default()
    };
    let t = Tree::open_in_memory(TreeConfig::new(info), clock()()).unwrap();
    let extra = match server {
        None => r#", "allow_unauthenticated_server": true"#.to_string(),
        Some(a) => format!(
            r#", "server": {{"auth": "{}", "secret": "{SPW}", "nonce": "czA="}}"#,
            a.as_str()
        ),
    };
    t.add_account(&parse(&account_json(&extra)).unwrap(), clock()())
        .unwrap();
    t
}

/// The server nonce as the next session will read it.
fn stored_server_nonce(t: &Tree) -> Vec<u8> {
    let acct = session_account(t, SERVER).unwrap();
    acct.server_nonce.as_bytes().to_vec()
}

/// How a server message proves where it comes from.
#[derive(Clone, Copy, Debug)]
enum Proof<'a> {
    None,
    Md5(&'a [u8], &'a str),
    Hmac(&'a [u8], &'a str),
}

/// What a server message says and carries.
#[derive(Clone)]
struct ServerMsg<'a> {
    session: &'a str,
    msg_id: u32,
    /// The device message it answers, with the code for its SyncHdr and a
    /// challenge to the device's credential.
    answering: u32,
    device_code: u16,
    device_chal: Option<&'a [u8]>,
    commands: Vec<Command>,
    final_: bool,
    proof: Proof<'a>,
    /// NoResp on the SyncHdr: no Status (so no new nonce) comes back.
    no_resp: bool,
}

fn build(m: ServerMsg<'_>) -> Incoming {
    let mut commands = vec![Command::Status(Status {
        cmd_id: "1".into(),
        msg_ref: Some(m.answering.to_string()),
        cmd_ref: Some("0".into()),
        cmd: "SyncHdr".into(),
        data: m.device_code.to_string(),
        chal: m.device_chal.map(|n| Chal {
            meta: Meta {
                type_: Some("syncml:auth-md5".into()),
                format: Some("b64".into()),
                next_nonce: Some(auth::Nonce::new(n.to_vec()).to_b64()),
                ..Meta::default()
            },
        }),
        target_refs: vec![URL.into()],
        ..Status::default()
    })];
    commands.extend(m.commands);
    let cred = match m.proof {
        Proof::Md5(nonce, pw) => Some(Cred {
            meta: Some(Meta {
                type_: Some("syncml:auth-md5".into()),
                format: Some("b64".into()),
                ..Meta::default()
            }),
            data: auth::md5_digest(SERVER, pw, nonce),
        }),
        _ => None,
    };
    let msg = SyncMl {
        hdr: SyncHdr {
            ver_dtd: "1.2".into(),
            ver_proto: "DM/1.2".into(),
            session_id: m.session.into(),
            msg_id: m.msg_id.to_string(),
            target: Locus::uri(DEV),
            source: Locus::uri(URL),
            no_resp: m.no_resp,
            cred,
            ..SyncHdr::default()
        },
        body: SyncBody {
            commands,
            final_: m.final_,
        },
    };
    let body = syncml::encode(&msg, Encoding::Xml).unwrap();
    let hmac = match m.proof {
        Proof::Hmac(nonce, pw) => Some(HmacHeader::sign(SERVER, pw, nonce, &body).to_string()),
        _ => None,
    };
    Incoming {
        http_status: 200,
        content_type: Some(Encoding::Xml.mime().into()),
        hmac,
        body,
    }
}

/// A final server message with a Get of `./DevInfo/DevId`, accepting the
/// device's credential (212).
fn get_msg<'a>(session: &'a str, msg_id: u32, answering: u32, proof: Proof<'a>) -> ServerMsg<'a> {
    ServerMsg {
        session,
        msg_id,
        answering,
        device_code: 212,
        device_chal: None,
        commands: vec![get("2", "./DevInfo/DevId")],
        final_: true,
        proof,
        no_resp: false,
    }
}

fn get(id: &str, uri: &str) -> Command {
    Command::Get(ItemCmd {
        cmd_id: id.into(),
        items: vec![Item {
            target: Some(Locus::uri(uri)),
            ..Item::default()
        }],
        ..ItemCmd::default()
    })
}

fn add(id: &str, uri: &str) -> Command {
    Command::Add(ItemCmd {
        cmd_id: id.into(),
        items: vec![Item {
            target: Some(Locus::uri(uri)),
            data: Some(Data::from("1")),
            ..Item::default()
        }],
        ..ItemCmd::default()
    })
}

fn start<'a>(target: &'a TreeTarget<'a>, t: &Tree, session_id: u16) -> (Session<'a>, Outgoing) {
    let acct = session_account(t, SERVER).unwrap();
    Session::start(
        target,
        None,
        acct,
        SessionConfig::default(),
        Initiation::Client { session_id },
        &[],
    )
    .unwrap()
}

/// The device's Status on the SyncHdr of server message `msg_id`: its code
/// and the server nonce of its challenge.
fn header_status(out: &Outgoing, msg_id: u32) -> Option<(u16, Option<Vec<u8>>)> {
    let m = syncml::decode(&out.body).unwrap();
    m.body.commands.iter().find_map(|c| match c {
        Command::Status(s)
            if s.cmd == "SyncHdr" && s.msg_ref.as_deref() == Some(&msg_id.to_string()) =>
        {
            Some((
                s.code(),
                s.chal
                    .as_ref()
                    .and_then(|ch| ch.meta.next_nonce.as_deref())
                    .map(|n| auth::Nonce::from_b64(n).unwrap().as_bytes().to_vec()),
            ))
        }
        _ => None,
    })
}

fn statuses(out: &Outgoing) -> Vec<(String, u16)> {
    syncml::decode(&out.body)
        .unwrap()
        .body
        .commands
        .iter()
        .filter_map(|c| match c {
            Command::Status(s) if s.cmd != "SyncHdr" => Some((s.cmd.clone(), s.code())),
            _ => None,
        })
        .collect()
}

fn send(step: Step) -> Outgoing {
    match step {
        Step::Send(o) => o,
        Step::Done(s) => panic!("session ended: {s:?}"),
    }
}

fn account_json(extra: &str) -> String {
    format!(
        r#"{{"server_id": "{SERVER}", "server_url": "{URL}", "client": {{"auth": "DIGEST", "name": "dev", "secret": "pw", "nonce": "bjA="}}{extra}}}"#
    )
}

fn parse(json: &str) -> Result<dmsched::tree::Account, String> {
    let f: AccountFile = serde_json::from_str(json).map_err(|e| e.to_string())?;
    f.to_tree_account().map_err(|e| e.to_string())
}

/// 6.1.1.2.1, the account file (every binding and the CLI provision through
/// it): without a server credential an account is refused with a clear
/// error unless it says `"allow_unauthenticated_server": true` (a JSON
/// boolean, nothing else), which needs `https://` and no
/// `allow_plain_http`, and excludes a server credential.
#[test]
fn an_account_file_without_server_credential_is_refused_unless_it_opts_out() {
    let e = parse(&account_json("")).unwrap_err();
    assert!(
        e.contains("no \"server\" credential") && e.contains("allow_unauthenticated_server"),
        "{e}"
    );
    let ok = parse(&account_json(r#", "allow_unauthenticated_server": true"#)).unwrap();
    assert!(ok.allow_unauthenticated_server);
    assert!(ok.auths.iter().all(|a| a.level == AuthLevel::Client));
    for (extra, why) in [
        (
            r#", "allow_unauthenticated_server": "true""#,
            "invalid type",
        ),
        (r#", "allow_unauthenticated_server": 1"#, "invalid type"),
        (
            r#", "allow_unauthenticated_server": false"#,
            "no \"server\" credential",
        ),
        (
            r#", "allow_unauthenticated_servers": true"#,
            "unknown field",
        ),
        (
            r#", "allow_unauthenticated_server": true, "allow_plain_http": true"#,
            "needs an https://",
        ),
        (
            r#", "allow_unauthenticated_server": true, "server": {"auth": "DIGEST", "secret": "s"}"#,
            "choose one",
        ),
        (
            r#", "server": {"auth": "BASIC", "secret": "s"}"#,
            "use DIGEST or HMAC",
        ),
    ] {
        let e = parse(&account_json(extra)).unwrap_err();
        assert!(e.contains(why), "{extra}: {e}");
    }
    let plain =
        account_json(r#", "allow_unauthenticated_server": true"#).replace("https://", "http://");
    assert!(parse(&plain).unwrap_err().contains("needs an https://"));
    let with_cred = parse(&account_json(
        r#", "server": {"auth": "HMAC", "secret": "s", "nonce": "czA="}"#,
    ))
    .unwrap();
    assert!(!with_cred.allow_unauthenticated_server);
}

/// 6.1.1.2.1 at session start: an account stored without a server
/// credential and without the opt-out (as provisioned before it was
/// required) is refused by the client before anything is sent, and so is
/// such an account handed to the sans-I/O session; with the opt-out the
/// session runs the server's commands.
#[test]
fn a_stored_account_without_server_credential_is_refused_at_session_start() {
    let t = tree(None);
    let target = TreeTarget::new(&t, clock());
    // With the opt-out: the server's Get runs.
    let (mut s, first) = start(&target, &t, 0x21);
    let o = send(
        s.receive(build(get_msg("21", 1, first.msg_id, Proof::None)))
            .unwrap(),
    );
    assert_eq!(statuses(&o), [("Get".to_string(), 200)]);

    // The opt-out taken away behind the API's back: refused.
    t.device()
        .delete(
            "./DMAcc/srv_example/Ext/AllowUnauthenticatedServer",
            clock()(),
        )
        .unwrap();
    let e = session_account(&t, SERVER).unwrap_err();
    assert!(
        matches!(&e, ClientError::Account(m) if m.contains("no server credential")),
        "{e}"
    );

    let mut acct = dmsched::dm::session::Account {
        allow_unauthenticated_server: false,
        ..session_account(&tree(None), SERVER).unwrap()
    };
    let e = Session::start(
        &target,
        None,
        acct.clone(),
        SessionConfig::default(),
        Initiation::Client { session_id: 1 },
        &[],
    )
    .unwrap_err();
    assert!(
        matches!(&e, SessionError::Rejected { code: 407, reason } if reason.contains("6.1.1.2.1")),
        "{e}"
    );
    acct.allow_unauthenticated_server = true;
    assert!(
        Session::start(
            &target,
            None,
            acct,
            SessionConfig::default(),
            Initiation::Client { session_id: 1 },
            &[],
        )
        .is_ok()
    );
}

/// 6.1.1.2.1: a server that sends no credential (or a wrong one) to an
/// account that requires one is challenged (407/401 with a new nonce) and
/// not obeyed: Get ./DevInfo/DevId, Add and Exec all get 407/401, nothing is
/// read or written.
#[test]
fn an_unauthenticated_server_is_challenged_and_nothing_it_sends_runs() {
    for scheme in [AuthType::Digest, AuthType::Hmac] {
        let t = tree(Some(scheme));
        let target = TreeTarget::new(&t, clock());
        let (mut s, _) = start(&target, &t, 0x31);
        let wrong = match scheme {
            AuthType::Hmac => Proof::Hmac(b"s0", "wrong"),
            _ => Proof::Md5(b"s0", "wrong"),
        };
        for (n, proof) in [Proof::None, wrong].into_iter().enumerate() {
            let msg_id = n as u32 + 1;
            let o = send(
                s.receive(build(ServerMsg {
                    session: "31",
                    msg_id,
                    answering: msg_id,
                    device_code: 212,
                    device_chal: None,
                    commands: vec![
                        get("2", "./DevInfo/DevId"),
                        add("3", "./Evil"),
                        Command::Exec(Exec {
                            cmd_id: "4".into(),
                            items: vec![Item {
                                target: Some(Locus::uri("./Evil")),
                                ..Item::default()
                            }],
                            ..Exec::default()
                        }),
                    ],
                    final_: false,
                    proof,
                    no_resp: false,
                }))
                .unwrap(),
            );
            let (code, chal) = header_status(&o, msg_id).unwrap();
            assert!(code == 401 || code == 407, "{scheme:?} {proof:?}: {code}");
            assert_eq!(
                chal,
                Some(stored_server_nonce(&t)),
                "{scheme:?}: a new nonce"
            );
            let sts = statuses(&o);
            assert_eq!(sts.len(), 3, "{sts:?}");
            assert!(
                sts.iter().all(|(_, c)| *c == code),
                "{scheme:?} {proof:?}: {sts:?}"
            );
            assert!(
                !syncml::decode(&o.body)
                    .unwrap()
                    .body
                    .commands
                    .iter()
                    .any(|c| matches!(c, Command::Results(_))),
                "DevId was read"
            );
            assert!(t.device().get("./Evil").is_err());
        }
    }
}

/// A session with one queued 1226 alert; the CmdID it went with.
fn start_with_alert<'a>(
    target: &'a TreeTarget<'a>,
    t: &Tree,
    sid: u16,
) -> (Session<'a>, Outgoing, Command) {
    let alert = ClientAlert {
        code: 1226,
        correlator: None,
        item: Item {
            source: Some(Locus::uri("./Scheduling/Schedules/x")),
            data: Some(Data::from("200")),
            ..Item::default()
        },
    };
    let (s, first) = Session::start(
        target,
        None,
        session_account(t, SERVER).unwrap(),
        SessionConfig::default(),
        Initiation::Client { session_id: sid },
        &[alert],
    )
    .unwrap();
    let alert_id = syncml::decode(&first.body)
        .unwrap()
        .body
        .commands
        .iter()
        .find_map(|c| match c {
            Command::Alert(a) if a.data.as_deref() == Some("1226") => Some(a.cmd_id.clone()),
            _ => None,
        })
        .unwrap();
    let ack = Command::Status(Status {
        cmd_id: "2".into(),
        msg_ref: Some(first.msg_id.to_string()),
        cmd_ref: Some(alert_id),
        cmd: "Alert".into(),
        data: "200".into(),
        ..Status::default()
    });
    (s, first, ack)
}

/// An unauthenticated server's Status does not acknowledge a queued alert
/// (a report would be dropped from the queue undelivered), and its Final
/// does not end the session: it gets the challenge; the authenticated
/// server then ends it without acknowledging, and the alert is still not
/// delivered.
#[test]
fn an_unauthenticated_status_acknowledges_no_alert() {
    let t = tree(Some(AuthType::Digest));
    let target = TreeTarget::new(&t, clock());
    let (mut s, first, ack) = start_with_alert(&target, &t, 0x32);
    let refused = ServerMsg {
        commands: vec![ack],
        proof: Proof::None,
        ..get_msg("32", 1, first.msg_id, Proof::None)
    };
    let (code, nonce, o) =
        exchange(&mut s, refused).expect("an unauthenticated Final ended the session");
    assert_eq!(code, 407);
    let nonce = nonce.unwrap();
    let authentic = ServerMsg {
        commands: vec![],
        ..get_msg("32", 2, o.msg_id, Proof::Md5(&nonce, SPW))
    };
    match s.receive(build(authentic)).unwrap() {
        Step::Done(sum) => assert!(sum.alerts_delivered.is_empty(), "{sum:?}"),
        Step::Send(o) => panic!("{:?}", syncml::decode(&o.body)),
    }
}

/// A server refused once sends its Statuses again, signed, still referring
/// to the device message that carried the alert: that acknowledges it.
#[test]
fn a_refused_server_acknowledges_an_alert_when_it_sends_its_status_again() {
    let t = tree(Some(AuthType::Digest));
    let target = TreeTarget::new(&t, clock());
    let (mut s, first, ack) = start_with_alert(&target, &t, 0x33);
    let refused = ServerMsg {
        commands: vec![ack.clone()],
        ..get_msg("33", 1, first.msg_id, Proof::Md5(b"stale", SPW))
    };
    let (code, nonce, o) = exchange(&mut s, refused).unwrap();
    assert_eq!(code, 401);
    let nonce = nonce.unwrap();
    let again = ServerMsg {
        commands: vec![ack],
        ..get_msg("33", 2, o.msg_id, Proof::Md5(&nonce, SPW))
    };
    match s.receive(build(again)).unwrap() {
        Step::Done(sum) => assert_eq!(sum.alerts_delivered, [0], "{sum:?}"),
        Step::Send(o) => panic!("{:?}", syncml::decode(&o.body)),
    }
}

/// Runs one server message through `s`: the device's verdict on its header
/// (`Some(code, nonce)` when it answered, `None` when the session ended).
fn exchange(s: &mut Session<'_>, m: ServerMsg<'_>) -> Option<(u16, Option<Vec<u8>>, Outgoing)> {
    let id = m.msg_id;
    match s.receive(build(m)).unwrap() {
        Step::Send(o) => {
            let (code, nonce) = header_status(&o, id).unwrap();
            Some((code, nonce, o))
        }
        Step::Done(_) => None,
    }
}

/// Security "Open" item (issue 14): the server's last HMAC message of a
/// session is followed by no answer, so the nonce it was signed with stays
/// stored (the legitimate server needs it for its next package #0 and
/// session). A replay of that last message in a later session with the
/// same session id (the only way it passes the session check) is refused
/// with 401 and a new nonce; the legitimate server's next session works at
/// once under another session id, and after one challenge under the same.
#[test]
fn the_last_hmac_message_of_a_session_is_not_accepted_again_in_a_later_one() {
    let t = tree(Some(AuthType::Hmac));
    let target = TreeTarget::new(&t, clock());
    let (mut s, first) = start(&target, &t, 0x4a);
    let (code, n1, o) = exchange(
        &mut s,
        get_msg("4A", 1, first.msg_id, Proof::Hmac(b"s0", SPW)),
    )
    .unwrap();
    assert_eq!(code, 200);
    let n1 = n1.unwrap();
    let last = ServerMsg {
        session: "4A",
        msg_id: 2,
        answering: o.msg_id,
        device_code: 200,
        device_chal: None,
        commands: vec![],
        final_: true,
        proof: Proof::Hmac(&n1, SPW),
        no_resp: false,
    };
    let captured = build(last.clone());
    assert!(exchange(&mut s, last).is_none(), "ended");
    assert_eq!(
        stored_server_nonce(&t),
        n1,
        "kept for the legitimate server"
    );

    // The replay in a later session with the same id.
    let (mut s2, _) = start(&target, &t, 0x4a);
    let o = send(s2.receive(captured).unwrap());
    let (code, n2) = header_status(&o, 2).unwrap();
    assert_eq!(code, 401, "the last message was accepted again");
    let n2 = n2.unwrap();
    assert_ne!(n2, n1);
    // The legitimate server signs again with what it was sent: accepted.
    let (code, _, o) =
        exchange(&mut s2, get_msg("4A", 3, o.msg_id, Proof::Hmac(&n2, SPW))).unwrap();
    assert_eq!(code, 200);
    assert_eq!(statuses(&o), [("Get".to_string(), 200)]);
    let n3 = header_status(&o, 3).unwrap().1.unwrap();
    drop(s2);

    // Under another session id the legitimate server's first message,
    // signed with the last nonce it was sent, is accepted at once.
    let (mut s3, first) = start(&target, &t, 0x4b);
    let (code, _, o) = exchange(
        &mut s3,
        get_msg("4B", 1, first.msg_id, Proof::Hmac(&n3, SPW)),
    )
    .unwrap();
    assert_eq!(code, 200);
    assert_eq!(statuses(&o), [("Get".to_string(), 200)]);
}

/// A server message sent in the property test, kept for replays.
#[derive(Clone)]
struct Sent {
    incoming: Incoming,
    msg_id: u32,
    /// The nonce its credential was computed over (none: no credential).
    nonce: Option<Vec<u8>>,
    /// NoResp on its header: acceptance shows in its Get's Status.
    no_resp: bool,
}

/// What the property test saw accepted.
#[derive(Default)]
struct Ledger {
    /// MD5: the session (its number in the case) each nonce was accepted in.
    md5: HashMap<Vec<u8>, usize>,
    /// HMAC: (nonce, body) of every accepted message.
    hmac: HashSet<(Vec<u8>, Vec<u8>)>,
}

/// One case: a device and an honest server (which learns every nonce the
/// device sends) through several sessions, the session ids drawn from two
/// values so that they repeat; each server message is honest (signed with
/// what it knows, sometimes challenging the device's credential, with or
/// without commands, final or not), or has a wrong password, or no
/// credential, or repeats the previous message, or replays any message
/// captured so far; sessions are also abandoned half-way.
fn random_history(seed: u64, scheme: AuthType) {
    let mut rng = StdRng::seed_from_u64(seed);
    let t = tree(Some(scheme));
    let target = TreeTarget::new(&t, clock());
    let mut known = b"s0".to_vec();
    let mut captured: Vec<Sent> = Vec::new();
    let mut ledger = Ledger::default();
    for session in 0..rng.random_range(2..=6usize) {
        let sid: u16 = [0x10, 0x11][rng.random_range(0..2)];
        let hex = format!("{sid:X}");
        let (mut s, first) = start(&target, &t, sid);
        let mut last_out = first;
        let mut next_id = 0u32;
        let mut client_chals = 0;
        let mut server_ok = false;
        let mut prev: Option<Sent> = None;
        for _ in 0..rng.random_range(1..=7) {
            let action = rng.random_range(0..12);
            let sent = match action {
                0 if !captured.is_empty() => captured[rng.random_range(0..captured.len())].clone(),
                1 if prev.is_some() => prev.clone().unwrap(),
                2 => break, // abandoned
                _ => {
                    next_id += 1;
                    let password = if action == 3 { "wrong" } else { SPW };
                    let with_cred = action != 4
                        && (scheme == AuthType::Hmac || !server_ok || rng.random_bool(0.5));
                    let proof = match (with_cred, scheme) {
                        (false, _) => Proof::None,
                        (true, AuthType::Hmac) => Proof::Hmac(&known, password),
                        (true, _) => Proof::Md5(&known, password),
                    };
                    let challenge = client_chals < 2 && rng.random_bool(0.15);
                    let device_nonce = [rng.random::<u8>(); 4];
                    let commands = if rng.random_bool(0.6) {
                        vec![get("2", "./DevInfo/DevId")]
                    } else {
                        vec![]
                    };
                    let no_resp = !commands.is_empty() && rng.random_bool(0.15);
                    let incoming = build(ServerMsg {
                        session: &hex,
                        msg_id: next_id,
                        answering: last_out.msg_id,
                        device_code: if challenge { 401 } else { 212 },
                        device_chal: challenge.then_some(&device_nonce[..]),
                        commands,
                        final_: rng.random_bool(0.6),
                        proof,
                        no_resp,
                    });
                    if challenge {
                        client_chals += 1;
                    }
                    Sent {
                        incoming,
                        msg_id: next_id,
                        nonce: with_cred.then(|| known.clone()),
                        no_resp,
                    }
                }
            };
            captured.push(sent.clone());
            prev = Some(sent.clone());
            let trace = std::env::var("DMS_TRACE").is_ok();
            let (accepted, answer) = match s.receive(sent.incoming.clone()) {
                Ok(Step::Send(o)) if sent.no_resp => {
                    let ran = statuses(&o)
                        .iter()
                        .any(|(c, code)| c == "Get" && *code == 200);
                    (ran, Some((None, None, o)))
                }
                Ok(Step::Send(o)) => {
                    let (code, nonce) = header_status(&o, sent.msg_id)
                        .unwrap_or_else(|| panic!("seed {seed}: no Status on the server's header"));
                    (code < 300, Some((Some(code), nonce, o)))
                }
                // Only an authenticated Final without commands ends it.
                Ok(Step::Done(_)) => (true, None),
                Err(_) => (false, None),
            };
            if trace {
                eprintln!(
                    "session {session} sid {hex} action {action} msg {} nonce {:?} accepted {accepted} answer {:?} stored {:?}",
                    sent.msg_id,
                    sent.nonce,
                    answer.as_ref().map(|a| (a.0, a.1.clone())),
                    stored_server_nonce(&t)
                );
            }
            if accepted && let Some(n) = &sent.nonce {
                let first_use = match scheme {
                    AuthType::Hmac => {
                        let key = (n.clone(), sent.incoming.body.clone());
                        assert!(
                            ledger.hmac.insert(key),
                            "seed {seed}: an HMAC message was accepted twice (session {session})"
                        );
                        true
                    }
                    _ => match ledger.md5.insert(n.clone(), session) {
                        Some(earlier) => {
                            assert_eq!(
                                earlier, session,
                                "seed {seed}: an MD5 credential accepted in session {earlier} was accepted again in session {session}"
                            );
                            false
                        }
                        None => true,
                    },
                };
                if first_use && let Some((Some(_), nonce, _)) = &answer {
                    let new = nonce.clone().unwrap_or_else(|| {
                        panic!("seed {seed}: no new server nonce in the answer after a successful check")
                    });
                    assert_ne!(&new, n, "seed {seed}");
                    assert_eq!(new, stored_server_nonce(&t), "seed {seed}: sent = stored");
                }
            }
            match answer {
                Some((code, nonce, o)) => {
                    if let Some(n) = nonce {
                        known = n;
                    }
                    server_ok |= code == Some(212);
                    last_out = o;
                }
                None => break,
            }
        }
    }
}

/// 6.1.1.1.2 (replays are detected), 6.1.1.2.1: over 400 random histories
/// (MD5 and HMAC server credentials; challenges both ways, failures,
/// retries, abandoned sessions, repeated messages, replays of any earlier
/// server message across sessions, session ids that repeat, headers with
/// NoResp) no MD5 server
/// credential is accepted in two sessions, no HMAC message is accepted
/// twice, and the first answer after a successful check carries a new
/// server nonce, the one stored.
#[test]
fn no_server_credential_is_accepted_twice_under_random_session_interleavings() {
    let only: Option<u64> = std::env::var("DMS_CASE").ok().and_then(|c| c.parse().ok());
    for case in (0..400u64).filter(|c| only.is_none_or(|o| o == *c)) {
        let scheme = if case % 2 == 0 {
            AuthType::Digest
        } else {
            AuthType::Hmac
        };
        random_history(0x14_0000 + case, scheme);
    }
}

/// HMAC without an answer in between (the server's header says NoResp, so
/// no Status brings a new nonce): the same message again (the same MAC) is
/// refused and runs nothing; the server's next message, signed with the
/// same nonce, is accepted.
#[test]
fn an_hmac_message_is_not_accepted_twice_in_one_session_even_without_an_answer() {
    let t = tree(Some(AuthType::Hmac));
    let target = TreeTarget::new(&t, clock());
    let (mut s, first) = start(&target, &t, 0x41);
    let quiet = ServerMsg {
        final_: false,
        no_resp: true,
        commands: vec![add("2", "./Once")],
        ..get_msg("41", 1, first.msg_id, Proof::Hmac(b"s0", SPW))
    };
    let o = send(s.receive(build(quiet.clone())).unwrap());
    assert_eq!(statuses(&o), [("Add".to_string(), 200)]);
    t.device().delete("./Once", clock()()).unwrap();
    let o = send(s.receive(build(quiet)).unwrap());
    assert_eq!(statuses(&o), [("Add".to_string(), 401)], "run twice");
    assert!(t.device().get("./Once").is_err());
    let (code, _, o) =
        exchange(&mut s, get_msg("41", 2, o.msg_id, Proof::Hmac(b"s0", SPW))).unwrap();
    assert_eq!(code, 200);
    assert_eq!(statuses(&o), [("Get".to_string(), 200)]);
}
