//! Server-side tests of the test DM server: a small hand-written DM client
//! speaks to it over real HTTP(S) with the SDK's `HttpTransport`.

use std::time::Duration;

use dmsched::dm::auth::{self, HmacHeader, Nonce};
use dmsched::dm::notification;
use dmsched::dm::syncml::{
    self, Alert, Command, Cred, Data, Encoding, Item, ItemCmd, Locus, Meta, Results, Status,
    SyncBody, SyncHdr, SyncMl,
};
use dmsched::dm::transport::{HttpConfig, HttpTransport, Request, Response, Transport};
use dmsched_dm_server::{
    Account, ClientAuth, RunningServer, Script, ServerAuth, ServerConfig, SessionEnd, UiMode,
    generated_data, start, test_pki,
};

const SERVER_ID: &str = "dmsched-test-server";
const DEVICE: &str = "IMEI:493005100592800";
const USER: &str = "dev-user";
const PASSWORD: &str = "dev-pass";
const SERVER_PASSWORD: &str = "srv-pass";

fn account(scheme: ClientAuth) -> Account {
    Account::new(SERVER_ID, DEVICE, USER, PASSWORD, scheme, SERVER_PASSWORD)
        .with_nonces(b"client-nonce-1", b"server-nonce-1")
}

fn script(json: &str) -> Script {
    Script::from_json(json).unwrap()
}

async fn serve(accounts: Vec<Account>, script: Script) -> RunningServer {
    start(ServerConfig::new(accounts, script)).await.unwrap()
}

fn plain_transport() -> HttpTransport {
    HttpTransport::new(HttpConfig {
        allow_plain_http: true,
        timeout: Duration::from_secs(10),
        max_response_bytes: 8 * 1024 * 1024,
        ..HttpConfig::default()
    })
    .unwrap()
}

/// A minimal DM client: builds headers, posts, follows RespURI.
struct Client {
    transport: HttpTransport,
    url: String,
    encoding: Encoding,
    session: String,
    msg_id: u32,
    meta: Option<Meta>,
}

struct Reply {
    response: Response,
    msg: SyncMl,
}

impl Reply {
    fn header_status(&self) -> &Status {
        self.msg
            .body
            .commands
            .iter()
            .find_map(|c| match c {
                Command::Status(s) if s.cmd_ref.as_deref() == Some("0") => Some(s),
                _ => None,
            })
            .expect("a Status for the SyncHdr")
    }

    fn statuses(&self) -> Vec<&Status> {
        self.msg
            .body
            .commands
            .iter()
            .filter_map(|c| match c {
                Command::Status(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    fn commands(&self) -> Vec<&Command> {
        self.msg
            .body
            .commands
            .iter()
            .filter(|c| !matches!(c, Command::Status(_)))
            .collect()
    }

    fn has_alert(&self, code: &str) -> bool {
        self.commands()
            .iter()
            .any(|c| matches!(c, Command::Alert(a) if a.data.as_deref() == Some(code)))
    }
}

impl Client {
    fn new(url: String, encoding: Encoding) -> Client {
        Client::with_transport(plain_transport(), url, encoding)
    }

    fn with_transport(transport: HttpTransport, url: String, encoding: Encoding) -> Client {
        Client {
            transport,
            url,
            encoding,
            session: "1A2B".into(),
            msg_id: 0,
            meta: None,
        }
    }

    fn hdr(&mut self, cred: Option<Cred>) -> SyncHdr {
        self.msg_id += 1;
        SyncHdr {
            ver_dtd: "1.2".into(),
            ver_proto: "DM/1.2".into(),
            session_id: self.session.clone(),
            msg_id: self.msg_id.to_string(),
            target: Locus::uri("http://dm.example/dm"),
            source: Locus {
                loc_uri: DEVICE.into(),
                loc_name: Some(USER.into()),
            },
            cred,
            meta: self.meta.clone(),
            ..SyncHdr::default()
        }
    }

    fn msg(&mut self, cred: Option<Cred>, commands: Vec<Command>, final_: bool) -> SyncMl {
        SyncMl {
            hdr: self.hdr(cred),
            body: SyncBody { commands, final_ },
        }
    }

    async fn post_raw(
        &self,
        body: Vec<u8>,
        content_type: &str,
        headers: Vec<(String, String)>,
    ) -> Response {
        self.transport
            .post(Request {
                url: self.url.clone(),
                content_type: content_type.into(),
                headers,
                body,
            })
            .await
            .unwrap()
    }

    async fn send_with(&mut self, msg: &SyncMl, headers: Vec<(String, String)>) -> Reply {
        let body = syncml::encode(msg, self.encoding).unwrap();
        let response = self.post_raw(body, self.encoding.mime(), headers).await;
        assert_eq!(
            response.status,
            200,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        let msg = syncml::decode(&response.body).unwrap();
        if let Some(uri) = &msg.hdr.resp_uri {
            self.url = uri.clone();
        }
        Reply { response, msg }
    }

    async fn send(&mut self, msg: &SyncMl) -> Reply {
        self.send_with(msg, Vec::new()).await
    }

    /// Signs `msg` with HMAC over `nonce` and sends it.
    async fn send_hmac(&mut self, msg: &SyncMl, nonce: &[u8]) -> Reply {
        let body = syncml::encode(msg, self.encoding).unwrap();
        let h = HmacHeader::sign(USER, PASSWORD, nonce, &body);
        let response = self
            .post_raw(
                body,
                self.encoding.mime(),
                vec![(auth::HMAC_HEADER_NAME.into(), h.to_string())],
            )
            .await;
        assert_eq!(response.status, 200);
        let msg = syncml::decode(&response.body).unwrap();
        if let Some(uri) = &msg.hdr.resp_uri {
            self.url = uri.clone();
        }
        Reply { response, msg }
    }
}

fn md5_cred(nonce: &[u8], password: &str) -> Cred {
    Cred {
        meta: Some(Meta {
            type_: Some("syncml:auth-md5".into()),
            format: Some("b64".into()),
            ..Meta::default()
        }),
        data: auth::md5_digest(USER, password, nonce),
    }
}

fn alert(cmd_id: &str, code: u16) -> Command {
    Command::Alert(Alert {
        cmd_id: cmd_id.into(),
        data: Some(code.to_string()),
        ..Alert::default()
    })
}

fn devinfo(cmd_id: &str) -> Command {
    let leaf = |uri: &str, v: &str| Item {
        source: Some(Locus::uri(uri)),
        target: Some(Locus::uri(uri)),
        data: Some(Data::Text(v.into())),
        ..Item::default()
    };
    Command::Replace(ItemCmd {
        cmd_id: cmd_id.into(),
        items: vec![
            leaf("./DevInfo/DevId", DEVICE),
            leaf("./DevInfo/Man", "dmsched"),
            leaf("./DevInfo/Mod", "test-client"),
            leaf("./DevInfo/DmV", "1.2"),
            leaf("./DevInfo/Lang", "en-US"),
        ],
        ..ItemCmd::default()
    })
}

fn package1() -> Vec<Command> {
    vec![alert("1", 1201), devinfo("2")]
}

fn status(msg_ref: &str, cmd_ref: &str, cmd: &str, code: u16) -> Command {
    Command::Status(Status {
        cmd_id: String::new(),
        msg_ref: Some(msg_ref.into()),
        cmd_ref: Some(cmd_ref.into()),
        cmd: cmd.into(),
        data: code.to_string(),
        ..Status::default()
    })
}

/// The device's answer to a server message: 200 for the header and every
/// command, Results for Gets with `value`.
fn answer(reply: &Reply, value: &str) -> Vec<Command> {
    let m = reply.msg.hdr.msg_id.clone();
    let mut out = vec![status(&m, "0", "SyncHdr", 200)];
    for c in reply.commands() {
        out.push(status(&m, c.cmd_id(), c.name(), 200));
        if let Command::Get(g) = c {
            out.push(Command::Results(Results {
                cmd_ref: Some(g.cmd_id.clone()),
                msg_ref: Some(m.clone()),
                items: vec![Item {
                    source: g.items[0].target.clone(),
                    data: Some(Data::Text(value.into())),
                    ..Item::default()
                }],
                ..Results::default()
            }));
        }
    }
    number(out)
}

fn number(mut cmds: Vec<Command>) -> Vec<Command> {
    for (i, c) in cmds.iter_mut().enumerate() {
        let id = (i + 1).to_string();
        match c {
            Command::Status(s) => s.cmd_id = id,
            Command::Results(r) => r.cmd_id = id,
            Command::Alert(a) => a.cmd_id = id,
            Command::Replace(r) => r.cmd_id = id,
            _ => {}
        }
    }
    cmds
}

/// Runs package 1 with a good MD5 credential and returns the reply.
async fn md5_login(client: &mut Client, server: &RunningServer) -> Reply {
    let nonce = server.account(DEVICE).unwrap().client_nonce;
    let m = client.msg(Some(md5_cred(&nonce, PASSWORD)), package1(), true);
    client.send(&m).await
}

#[tokio::test]
async fn package_one_without_cred_gets_407_with_md5_challenge() {
    let server = serve(
        vec![account(ClientAuth::Md5)],
        script(r#"{"steps": [[{"get": "./X"}]]}"#),
    )
    .await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    let m = c.msg(None, package1(), true);
    let r = c.send(&m).await;
    let hs = r.header_status();
    assert_eq!(hs.code(), 407);
    let chal = hs.chal.as_ref().expect("Chal");
    assert_eq!(chal.meta.type_.as_deref(), Some("syncml:auth-md5"));
    assert_eq!(chal.meta.format.as_deref(), Some("b64"));
    let nonce = Nonce::from_b64(chal.meta.next_nonce.as_deref().unwrap()).unwrap();
    assert_eq!(
        server.account(DEVICE).unwrap().client_nonce,
        nonce.as_bytes()
    );
    assert!(
        r.commands().is_empty(),
        "no script commands before authentication"
    );
    assert!(r.msg.body.final_);
    let fails = server.recorder().auth_failures();
    assert_eq!(fails.len(), 1);
    assert_eq!((fails[0].code, fails[0].presented.as_str()), (407, "none"));

    // The retry with the challenged nonce succeeds in the same session.
    let cred = md5_cred(nonce.as_bytes(), PASSWORD);
    let m = c.msg(Some(cred), package1(), true);
    let r = c.send(&m).await;
    assert_eq!(r.header_status().code(), 212);
}

#[tokio::test]
async fn right_md5_digest_gets_212_with_next_nonce_and_the_first_step() {
    let server = serve(
        vec![account(ClientAuth::Md5)],
        script(r#"{"steps": [[{"get": "./DevDetail/SwV"}, {"replace": {"target": "./X", "data": "1", "format": "int"}}]]}"#),
    )
    .await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    let r = md5_login(&mut c, &server).await;
    let hs = r.header_status();
    assert_eq!(hs.code(), 212);
    let next = hs
        .chal
        .as_ref()
        .and_then(|ch| ch.meta.next_nonce.clone())
        .expect("NextNonce after 212");
    assert_eq!(
        server.account(DEVICE).unwrap().client_nonce,
        Nonce::from_b64(&next).unwrap().as_bytes()
    );
    let names: Vec<_> = r.commands().iter().map(|c| c.name().to_string()).collect();
    assert_eq!(names, ["Get", "Replace"]);
    // Statuses for the 1201 alert and the DevInfo Replace.
    let answered: Vec<_> = r
        .statuses()
        .iter()
        .map(|s| (s.cmd.clone(), s.code()))
        .collect();
    assert_eq!(
        answered,
        [
            ("SyncHdr".to_string(), 212),
            ("Alert".into(), 200),
            ("Replace".into(), 200)
        ]
    );
    assert!(r.msg.body.final_);
    assert_eq!(r.msg.hdr.msg_id, "1");
    assert_eq!(r.msg.hdr.target.loc_uri, DEVICE);
    let resp_uri = r.msg.hdr.resp_uri.clone().unwrap();
    assert!(
        resp_uri.starts_with(&server.url()) && resp_uri.contains("?s="),
        "{resp_uri}"
    );
    let info = server.recorder().devinfo(DEVICE);
    assert_eq!(
        info.get("./DevInfo/Mod").map(String::as_str),
        Some("test-client")
    );
    assert_eq!(info.len(), 5);
}

#[tokio::test]
async fn wrong_md5_password_gets_401_and_the_session_ends_after_three_tries() {
    let server = serve(
        vec![account(ClientAuth::Md5)],
        script(r#"{"steps": [[{"get": "./X"}]]}"#),
    )
    .await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    for attempt in 1..=3 {
        let nonce = server.account(DEVICE).unwrap().client_nonce;
        let m = c.msg(Some(md5_cred(&nonce, "wrong")), package1(), true);
        let r = c.send(&m).await;
        assert_eq!(r.header_status().code(), 401, "attempt {attempt}");
        assert!(r.commands().is_empty());
        assert_eq!(
            r.header_status().chal.is_some(),
            attempt < 3,
            "attempt {attempt}"
        );
    }
    let sessions = server.recorder().sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].end, SessionEnd::AuthFailed);
    assert_eq!(server.recorder().auth_failures().len(), 3);
}

#[tokio::test]
async fn basic_credential_is_accepted_with_212() {
    let server = serve(vec![account(ClientAuth::Basic)], Script::default()).await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    let cred = Cred {
        meta: Some(Meta {
            type_: Some("syncml:auth-basic".into()),
            format: Some("b64".into()),
            ..Meta::default()
        }),
        data: auth::basic_credential(USER, PASSWORD),
    };
    let m = c.msg(Some(cred), package1(), true);
    let r = c.send(&m).await;
    assert_eq!(r.header_status().code(), 212);
    // Empty script: Status and Final only, the session is over.
    assert!(r.commands().is_empty() && r.msg.body.final_);
    assert_eq!(server.recorder().sessions()[0].end, SessionEnd::Completed);
}

#[tokio::test]
async fn hmac_good_header_is_accepted_and_every_answer_brings_a_new_nonce() {
    let server = serve(
        vec![account(ClientAuth::Hmac)],
        script(r#"{"steps": [[{"get": "./A"}], [{"get": "./B"}]]}"#),
    )
    .await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    let mut nonce = server.account(DEVICE).unwrap().client_nonce;
    let m = c.msg(None, package1(), true);
    let r = c.send_hmac(&m, &nonce).await;
    let hs = r.header_status();
    assert_eq!(hs.code(), 200);
    let chal = hs
        .chal
        .as_ref()
        .expect("Chal with NextNonce in every HMAC answer");
    assert_eq!(chal.meta.type_.as_deref(), Some("syncml:auth-MAC"));
    let next = Nonce::from_b64(chal.meta.next_nonce.as_deref().unwrap()).unwrap();
    assert_ne!(next.as_bytes(), nonce.as_slice());
    nonce = next.as_bytes().to_vec();
    assert_eq!(r.commands().len(), 1);

    // Package 3 signed with the new nonce; the next step follows.
    let m = c.msg(None, answer(&r, "a"), true);
    let r2 = c.send_hmac(&m, &nonce).await;
    assert_eq!(r2.header_status().code(), 200);
    assert!(r2.header_status().chal.is_some());
    assert_eq!(r2.commands().len(), 1);
    let req = server.recorder().requests();
    assert!(req.iter().all(|r| r.hmac_header));
    assert!(
        req.iter()
            .all(|r| r.verdicts.iter().any(|v| v == "auth ok hmac"))
    );
}

#[tokio::test]
async fn hmac_over_a_tampered_body_is_rejected_with_401() {
    let server = serve(
        vec![account(ClientAuth::Hmac)],
        script(r#"{"steps": [[{"get": "./A"}]]}"#),
    )
    .await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    let nonce = server.account(DEVICE).unwrap().client_nonce;
    let m = c.msg(None, package1(), true);
    let body = syncml::encode(&m, Encoding::Xml).unwrap();
    let h = HmacHeader::sign(USER, PASSWORD, &nonce, &body);
    let mut tampered = body.clone();
    let at = tampered.len() - 20;
    tampered.insert(at, b' ');
    let resp = c
        .post_raw(
            tampered,
            Encoding::Xml.mime(),
            vec![(auth::HMAC_HEADER_NAME.into(), h.to_string())],
        )
        .await;
    let reply = syncml::decode(&resp.body).unwrap();
    let hs = match &reply.body.commands[0] {
        Command::Status(s) => s.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(hs.code(), 401);
    assert_eq!(
        hs.chal.unwrap().meta.type_.as_deref(),
        Some("syncml:auth-MAC")
    );
    assert_eq!(reply.body.commands.len(), 1);
    let fails = server.recorder().auth_failures();
    assert!(fails[0].reason.contains("bad hmac"), "{:?}", fails[0]);
    // No header at all: 407.
    let m = c.msg(None, package1(), true);
    let r = c.send(&m).await;
    assert_eq!(r.header_status().code(), 407);
}

#[tokio::test]
async fn the_servers_own_hmac_header_on_responses_verifies() {
    let acct = account(ClientAuth::Md5).with_server_auth(ServerAuth::Hmac);
    let server = serve(vec![acct], script(r#"{"steps": [[{"get": "./A"}]]}"#)).await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    let r = md5_login(&mut c, &server).await;
    let value = r
        .response
        .header(auth::HMAC_HEADER_NAME)
        .expect("server hmac header");
    let h = HmacHeader::parse(value).unwrap();
    assert_eq!(h.username, SERVER_ID);
    auth::verify_hmac(&h, SERVER_PASSWORD, b"server-nonce-1", &r.response.body).unwrap();

    // The device gives the server a new nonce; the next answer uses it.
    let mut cmds = answer(&r, "a");
    if let Command::Status(s) = &mut cmds[0] {
        s.chal = Some(dmsched::dm::syncml::Chal {
            meta: Meta {
                type_: Some("syncml:auth-MAC".into()),
                format: Some("b64".into()),
                next_nonce: Some(Nonce::new(b"server-nonce-2".to_vec()).to_b64()),
                ..Meta::default()
            },
        });
    }
    let m = c.msg(None, cmds, true);
    let r2 = c.send(&m).await;
    let h2 = HmacHeader::parse(r2.response.header(auth::HMAC_HEADER_NAME).unwrap()).unwrap();
    auth::verify_hmac(&h2, SERVER_PASSWORD, b"server-nonce-2", &r2.response.body).unwrap();
    assert_eq!(
        server.account(DEVICE).unwrap().server_nonce,
        b"server-nonce-2"
    );
}

#[tokio::test]
async fn server_md5_cred_is_in_the_header_until_the_device_answers_212() {
    let acct = account(ClientAuth::Md5).with_server_auth(ServerAuth::Md5);
    let server = serve(
        vec![acct],
        script(r#"{"steps": [[{"get": "./A"}], [{"get": "./B"}], [{"get": "./C"}]]}"#),
    )
    .await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    let r = md5_login(&mut c, &server).await;
    let cred = r.msg.hdr.cred.clone().expect("server Cred");
    assert_eq!(
        cred.data,
        auth::md5_digest(SERVER_ID, SERVER_PASSWORD, b"server-nonce-1")
    );
    assert_eq!(r.msg.hdr.source.loc_name.as_deref(), Some(SERVER_ID));

    // Reject it with a new nonce: the server resends the same step with a
    // Cred over that nonce.
    let mut cmds = answer(&r, "a");
    cmds.truncate(1);
    if let Command::Status(s) = &mut cmds[0] {
        s.data = "401".into();
        s.chal = Some(dmsched::dm::syncml::Chal {
            meta: Meta {
                type_: Some("syncml:auth-md5".into()),
                format: Some("b64".into()),
                next_nonce: Some(Nonce::new(b"n2".to_vec()).to_b64()),
                ..Meta::default()
            },
        });
    }
    let m = c.msg(None, cmds, true);
    let r2 = c.send(&m).await;
    assert_eq!(
        r2.msg.hdr.cred.as_ref().unwrap().data,
        auth::md5_digest(SERVER_ID, SERVER_PASSWORD, b"n2")
    );
    match r2.commands()[0] {
        Command::Get(g) => assert_eq!(g.items[0].target.as_ref().unwrap().loc_uri, "./A"),
        other => panic!("{other:?}"),
    }
    // Accept with 212: no more Cred, the next step comes.
    let mut cmds = answer(&r2, "a");
    if let Command::Status(s) = &mut cmds[0] {
        s.data = "212".into();
    }
    let m = c.msg(None, cmds, true);
    let r3 = c.send(&m).await;
    assert!(r3.msg.hdr.cred.is_none());
    match r3.commands()[0] {
        Command::Get(g) => assert_eq!(g.items[0].target.as_ref().unwrap().loc_uri, "./B"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_full_session_walks_the_script_and_records_statuses_and_results() {
    let server = serve(
        vec![account(ClientAuth::Md5)],
        script(r#"{"steps": [[{"get": "./DevDetail/SwV"}], [{"alert": {"code": 1101, "options": "MAXDT=10", "texts": ["Install?"]}}]]}"#),
    )
    .await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    let r = md5_login(&mut c, &server).await;
    let url_after_1 = c.url.clone();
    let m = c.msg(None, answer(&r, "1.0.7"), true);
    let r2 = c.send(&m).await;
    assert_eq!(
        r2.header_status().code(),
        200,
        "authenticated for the session"
    );
    assert_eq!(r2.msg.hdr.msg_id, "2");
    match r2.commands()[0] {
        Command::Alert(a) => {
            assert_eq!(a.data.as_deref(), Some("1101"));
            assert_eq!(a.items.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    let m = c.msg(None, answer(&r2, ""), true);
    let r3 = c.send(&m).await;
    assert!(
        r3.commands().is_empty() && r3.msg.body.final_,
        "script done"
    );

    let rec = server.recorder();
    let results = rec.results();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].data, "1.0.7");
    assert_eq!(results[0].source.as_deref(), Some("./DevDetail/SwV"));
    let gets = rec.statuses_for("Get");
    assert_eq!(gets.len(), 1);
    assert_eq!(gets[0].sent_target.as_deref(), Some("./DevDetail/SwV"));
    assert_eq!(rec.statuses_for("alert")[0].code, 200);
    let s = rec.sessions();
    assert_eq!(
        (s.len(), s[0].end, s[0].messages),
        (1, SessionEnd::Completed, 3)
    );
    assert_eq!(s[0].initiated_by, "client");
    assert!(url_after_1.contains("?s="));
    assert!(
        rec.requests()[1]
            .verdicts
            .iter()
            .any(|v| v == "followed RespURI")
    );
    assert!(rec.complaints().is_empty(), "{:?}", rec.complaints());
}

#[tokio::test]
async fn https_handshake_succeeds_with_the_test_ca_and_fails_without_it() {
    let pki = test_pki(&["localhost", "127.0.0.1"]);
    let config = ServerConfig::new(vec![account(ClientAuth::Md5)], Script::default())
        .with_tls(pki.identity());
    let server = start(config).await.unwrap();
    assert!(
        server.url().starts_with("https://localhost:"),
        "{}",
        server.url()
    );

    let trusted = HttpTransport::new(HttpConfig {
        public_roots: false,
        extra_roots_pem: vec![pki.ca_pem.clone().into_bytes()],
        timeout: Duration::from_secs(10),
        ..HttpConfig::default()
    })
    .unwrap();
    let mut c = Client::with_transport(trusted, server.url(), Encoding::Xml);
    let r = md5_login(&mut c, &server).await;
    assert_eq!(r.header_status().code(), 212);
    assert!(c.url.starts_with("https://localhost:"));

    let untrusted = HttpTransport::new(HttpConfig {
        timeout: Duration::from_secs(10),
        ..HttpConfig::default()
    })
    .unwrap();
    let err = untrusted
        .post(Request {
            url: server.url(),
            content_type: Encoding::Xml.mime().into(),
            headers: Vec::new(),
            body: b"<SyncML/>".to_vec(),
        })
        .await
        .unwrap_err();
    let text = err.to_string().to_lowercase();
    assert!(
        text.contains("certificate") || text.contains("issuer"),
        "{text}"
    );
}

#[tokio::test]
async fn a_wbxml_request_gets_a_wbxml_answer() {
    let server = serve(
        vec![account(ClientAuth::Md5)],
        script(r#"{"steps": [[{"get": "./A"}]]}"#),
    )
    .await;
    let mut c = Client::new(server.url(), Encoding::Wbxml);
    let r = md5_login(&mut c, &server).await;
    assert_eq!(
        r.response.content_type.as_deref(),
        Some("application/vnd.syncml.dm+wbxml")
    );
    assert_eq!(Encoding::sniff(&r.response.body), Some(Encoding::Wbxml));
    assert_eq!(r.header_status().code(), 212);
    assert_eq!(
        server.recorder().requests()[0].encoding.as_deref(),
        Some("wbxml")
    );
}

#[tokio::test]
async fn an_odd_content_type_is_sniffed() {
    let server = serve(vec![account(ClientAuth::Md5)], Script::default()).await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    let nonce = server.account(DEVICE).unwrap().client_nonce;
    let m = c.msg(Some(md5_cred(&nonce, PASSWORD)), package1(), true);
    let body = syncml::encode(&m, Encoding::Wbxml).unwrap();
    let resp = c
        .post_raw(body, "application/octet-stream", Vec::new())
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.content_type.as_deref(), Some(Encoding::Wbxml.mime()));
}

#[tokio::test]
async fn a_malformed_body_gets_400_and_the_server_keeps_serving() {
    let server = serve(vec![account(ClientAuth::Md5)], Script::default()).await;
    let c = Client::new(server.url(), Encoding::Xml);
    for bad in [
        &b"<SyncML><SyncHdr>"[..],
        &b"\x03\x01\x6a\x00\x6d\x6c"[..],
        &b"not a message"[..],
        &b""[..],
    ] {
        let resp = c
            .post_raw(bad.to_vec(), Encoding::Xml.mime(), Vec::new())
            .await;
        assert_eq!(resp.status, 400, "{:?}", String::from_utf8_lossy(bad));
        assert!(resp.content_type.unwrap().starts_with("text/plain"));
    }
    let failures: Vec<_> = server
        .recorder()
        .requests()
        .into_iter()
        .filter(|r| r.verdicts.iter().any(|v| v.starts_with("decode failed")))
        .collect();
    assert_eq!(failures.len(), 4);
    let mut c = Client::new(server.url(), Encoding::Xml);
    assert_eq!(md5_login(&mut c, &server).await.header_status().code(), 212);
}

#[tokio::test]
async fn a_huge_content_length_gets_413_and_get_gets_405() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = serve(vec![account(ClientAuth::Md5)], Script::default()).await;
    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    s.write_all(
        b"POST /dm HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.syncml.dm+xml\r\nContent-Length: 999999999\r\n\r\n<SyncML>",
    )
    .await
    .unwrap();
    let mut buf = vec![0u8; 256];
    let n = s.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");

    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    s.write_all(b"GET /dm HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 405"));
}

#[tokio::test]
async fn an_unknown_device_gets_401_without_a_session() {
    let server = serve(vec![account(ClientAuth::Md5)], Script::default()).await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    let mut m = c.msg(None, package1(), true);
    m.hdr.source = Locus::uri("IMEI:000");
    let r = c.send(&m).await;
    assert_eq!(r.header_status().code(), 401);
    assert_eq!(server.active_sessions(), 0);
}

#[tokio::test]
async fn trigger_bytes_parse_and_verify_and_the_1200_session_matches() {
    let server = serve(vec![account(ClientAuth::Md5)], Script::default()).await;
    let bytes = server.trigger(DEVICE, UiMode::Background).unwrap();
    let v = notification::verify(&bytes, SERVER_PASSWORD, b"server-nonce-1").unwrap();
    assert!(!v.used_resync_nonce);
    let n = v.notification;
    assert_eq!(n.version, 12);
    assert_eq!(n.server_id, SERVER_ID);
    assert_eq!(n.ui_mode, UiMode::Background);
    assert_eq!(n.initiator, notification::Initiator::Server);
    assert_ne!(n.session_id, 0);

    let mut c = Client::new(server.url(), Encoding::Xml);
    c.session = n.session_id_hex().to_lowercase();
    let nonce = server.account(DEVICE).unwrap().client_nonce;
    let m = c.msg(
        Some(md5_cred(&nonce, PASSWORD)),
        vec![alert("1", 1200), devinfo("2")],
        true,
    );
    let r = c.send(&m).await;
    assert_eq!(r.header_status().code(), 212);
    let s = server.recorder().sessions();
    assert_eq!(s[0].initiated_by, "server");
    assert_eq!(s[0].trigger_matched, Some(true));

    // A 1200 nobody triggered is served, with a complaint.
    let mut c = Client::new(server.url(), Encoding::Xml);
    c.session = "FFFF".into();
    let nonce = server.account(DEVICE).unwrap().client_nonce;
    let m = c.msg(
        Some(md5_cred(&nonce, PASSWORD)),
        vec![alert("1", 1200), devinfo("2")],
        true,
    );
    assert_eq!(c.send(&m).await.header_status().code(), 212);
    assert_eq!(server.recorder().sessions()[1].trigger_matched, Some(false));
    assert!(
        server
            .recorder()
            .complaints()
            .iter()
            .any(|c| c.text.contains("no trigger"))
    );
}

#[tokio::test]
async fn a_device_message_without_final_gets_alert_1222_and_no_commands() {
    let server = serve(
        vec![account(ClientAuth::Md5)],
        script(r#"{"steps": [[{"get": "./A"}]]}"#),
    )
    .await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    let nonce = server.account(DEVICE).unwrap().client_nonce;
    let m = c.msg(
        Some(md5_cred(&nonce, PASSWORD)),
        vec![alert("1", 1201)],
        false,
    );
    let r = c.send(&m).await;
    assert!(r.has_alert("1222"));
    assert_eq!(r.commands().len(), 1);
    assert!(!r.msg.body.final_);
    // The rest of package 1: now the step comes.
    let m = c.msg(None, vec![devinfo("1")], true);
    let r = c.send(&m).await;
    assert_eq!(r.commands()[0].name(), "Get");
    assert!(r.msg.body.final_);
}

#[tokio::test]
async fn a_large_replace_is_sent_in_chunks_within_the_device_max_msg_size() {
    let server = serve(
        vec![account(ClientAuth::Md5)],
        script(r#"{"steps": [[{"replace": {"target": "./Big", "generate": 5000, "format": "chr"}}, {"get": "./After"}]]}"#),
    )
    .await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    c.meta = Some(Meta {
        max_msg_size: Some("1500".into()),
        max_obj_size: Some("100000".into()),
        ..Meta::default()
    });
    let mut r = md5_login(&mut c, &server).await;
    let mut data = String::new();
    let mut declared = None;
    let mut chunks = 0;
    loop {
        assert!(
            r.response.body.len() <= 1500,
            "message of {} bytes",
            r.response.body.len()
        );
        let Command::Replace(rep) = r.commands()[0] else {
            panic!("{:?}", r.commands())
        };
        let item = &rep.items[0];
        if chunks == 0 {
            declared = item.meta.as_ref().and_then(|m| m.size.clone());
        }
        chunks += 1;
        data.push_str(&item.data.as_ref().unwrap().to_text());
        let m_id = r.msg.hdr.msg_id.clone();
        if !item.more_data {
            assert_eq!(r.commands().len(), 2, "the Get follows the last chunk");
            break;
        }
        assert!(!r.msg.body.final_, "no Final while a chunk is in flight");
        let cmds = number(vec![
            status(&m_id, "0", "SyncHdr", 200),
            status(&m_id, &rep.cmd_id, "Replace", 213),
            alert("", 1222),
        ]);
        let m = c.msg(None, cmds, true);
        r = c.send(&m).await;
    }
    assert!(chunks >= 4, "{chunks} chunks");
    assert_eq!(declared.as_deref(), Some("5000"));
    assert_eq!(data, generated_data(5000));
    assert!(r.msg.body.final_);
}

#[tokio::test]
async fn an_object_beyond_the_device_max_obj_size_is_not_sent() {
    let server = serve(
        vec![account(ClientAuth::Md5)],
        script(r#"{"steps": [[{"replace": {"target": "./Big", "generate": 5000}}, {"get": "./After"}]]}"#),
    )
    .await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    c.meta = Some(Meta {
        max_obj_size: Some("1000".into()),
        ..Meta::default()
    });
    let r = md5_login(&mut c, &server).await;
    let names: Vec<_> = r.commands().iter().map(|c| c.name().to_string()).collect();
    assert_eq!(names, ["Get"]);
    assert!(
        server
            .recorder()
            .complaints()
            .iter()
            .any(|c| c.text.contains("MaxObjSize"))
    );
}

fn chunked_results(
    msg_ref: &str,
    cmd_ref: &str,
    data: &str,
    size: Option<usize>,
    more: bool,
) -> Command {
    Command::Results(Results {
        msg_ref: Some(msg_ref.into()),
        cmd_ref: Some(cmd_ref.into()),
        items: vec![Item {
            source: Some(Locus::uri("./Log")),
            meta: size.map(|s| Meta {
                size: Some(s.to_string()),
                ..Meta::default()
            }),
            data: Some(Data::Text(data.into())),
            more_data: more,
            ..Item::default()
        }],
        ..Results::default()
    })
}

#[tokio::test]
async fn large_results_from_the_device_are_reassembled_and_size_checked() {
    let server = serve(
        vec![account(ClientAuth::Md5)],
        script(r#"{"steps": [[{"get": "./Log"}], [{"get": "./Log"}], [{"get": "./Next"}]]}"#),
    )
    .await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    let r = md5_login(&mut c, &server).await;
    let m_id = r.msg.hdr.msg_id.clone();
    let get_id = r.commands()[0].cmd_id().to_string();

    // Two chunks, sizes agree.
    let m = c.msg(
        None,
        number(vec![
            status(&m_id, "0", "SyncHdr", 200),
            status(&m_id, &get_id, "Get", 200),
            chunked_results(&m_id, &get_id, "hello ", Some(11), true),
        ]),
        false,
    );
    let r1 = c.send(&m).await;
    assert!(r1.has_alert("1222"));
    assert!(
        r1.statuses()
            .iter()
            .any(|s| s.cmd == "Results" && s.code() == 213)
    );
    let m = c.msg(
        None,
        number(vec![
            status(&r1.msg.hdr.msg_id, "0", "SyncHdr", 200),
            chunked_results(&m_id, &get_id, "world", None, false),
        ]),
        true,
    );
    let r2 = c.send(&m).await;
    assert!(
        !r2.statuses().iter().any(|s| s.cmd == "Results"),
        "no Status 200 for Results"
    );
    let results = server.recorder().results();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].data, "hello world");
    assert_eq!((results[0].chunks, results[0].size_ok), (2, true));

    // Two chunks, the declared size is wrong: 424.
    let m_id = r2.msg.hdr.msg_id.clone();
    let get_id = r2.commands()[0].cmd_id().to_string();
    let m = c.msg(
        None,
        number(vec![
            status(&m_id, "0", "SyncHdr", 200),
            chunked_results(&m_id, &get_id, "abc", Some(99), true),
        ]),
        false,
    );
    let r3 = c.send(&m).await;
    let m = c.msg(
        None,
        number(vec![
            status(&r3.msg.hdr.msg_id, "0", "SyncHdr", 200),
            chunked_results(&m_id, &get_id, "def", None, false),
        ]),
        true,
    );
    let r4 = c.send(&m).await;
    assert!(
        r4.statuses()
            .iter()
            .any(|s| s.cmd == "Results" && s.code() == 424)
    );
    assert!(!server.recorder().results()[1].size_ok);
    assert_eq!(r4.commands()[0].name(), "Get");
}

#[tokio::test]
async fn alert_1223_from_the_device_aborts_the_session() {
    let server = serve(
        vec![account(ClientAuth::Md5)],
        script(r#"{"steps": [[{"get": "./A"}], [{"get": "./B"}]]}"#),
    )
    .await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    let r = md5_login(&mut c, &server).await;
    let m_id = r.msg.hdr.msg_id.clone();
    let m = c.msg(
        None,
        number(vec![status(&m_id, "0", "SyncHdr", 200), alert("", 1223)]),
        true,
    );
    let r = c.send(&m).await;
    assert!(r.commands().is_empty() && r.msg.body.final_);
    assert_eq!(
        server.recorder().sessions()[0].end,
        SessionEnd::AbortedByClient
    );
}

#[tokio::test]
async fn generic_alerts_and_client_events_are_recorded() {
    let server = serve(vec![account(ClientAuth::Md5)], Script::default()).await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    let generic = Command::Alert(Alert {
        cmd_id: "3".into(),
        data: Some("1226".into()),
        correlator: Some("corr-7".into()),
        items: vec![Item {
            source: Some(Locus::uri("./Scheduling/Schedules/S1/Tasks/T1")),
            meta: Some(Meta {
                type_: Some("org.dmsched.scheduling.result".into()),
                format: Some("xml".into()),
                mark: Some("warning".into()),
                ..Meta::default()
            }),
            data: Some(Data::Text("<r>200</r>".into())),
            ..Item::default()
        }],
        ..Alert::default()
    });
    let mut cmds = package1();
    cmds.push(generic);
    cmds.push(alert("4", 1224));
    let nonce = server.account(DEVICE).unwrap().client_nonce;
    let m = c.msg(Some(md5_cred(&nonce, PASSWORD)), cmds, true);
    let r = c.send(&m).await;
    assert!(
        r.statuses()
            .iter()
            .filter(|s| s.cmd == "Alert")
            .all(|s| s.code() == 200)
    );
    let rec = server.recorder();
    let g = rec.generic_alerts();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].correlator.as_deref(), Some("corr-7"));
    let item = &g[0].items[0];
    assert_eq!(
        item.source.as_deref(),
        Some("./Scheduling/Schedules/S1/Tasks/T1")
    );
    assert_eq!(
        item.meta_type.as_deref(),
        Some("org.dmsched.scheduling.result")
    );
    assert_eq!(
        (item.format.as_deref(), item.mark.as_deref()),
        (Some("xml"), Some("warning"))
    );
    assert_eq!(item.data.as_deref(), Some("<r>200</r>"));
    assert_eq!(rec.client_events().len(), 1);
}

#[tokio::test]
async fn nonces_survive_in_the_accounts_file_and_records_go_to_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let accounts_file = dir.path().join("accounts.json");
    let log = dir.path().join("log.jsonl");
    dmsched_dm_server::save_accounts(&accounts_file, &[account(ClientAuth::Md5)]).unwrap();
    let mut config = ServerConfig::new(
        dmsched_dm_server::load_accounts(&accounts_file).unwrap(),
        Script::default(),
    );
    config.accounts_file = Some(accounts_file.clone());
    config.log_file = Some(log.clone());
    let server = start(config).await.unwrap();
    let mut c = Client::new(server.url(), Encoding::Xml);
    let r = md5_login(&mut c, &server).await;
    let next = r
        .header_status()
        .chal
        .as_ref()
        .unwrap()
        .meta
        .next_nonce
        .clone()
        .unwrap();
    let saved = dmsched_dm_server::load_accounts(&accounts_file).unwrap();
    assert_eq!(
        saved[0].client_nonce,
        Nonce::from_b64(&next).unwrap().as_bytes()
    );
    server.shutdown().await;

    let text = std::fs::read_to_string(&log).unwrap();
    let kinds: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(kinds.contains(&"request".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"replace".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"session".to_string()), "{kinds:?}");
}

#[tokio::test]
async fn the_session_is_aborted_at_the_message_cap() {
    let mut config = ServerConfig::new(
        vec![account(ClientAuth::Md5)],
        script(r#"{"steps": [[{"get": "./A"}]]}"#),
    );
    config.max_messages_per_session = 3;
    let server = start(config).await.unwrap();
    let mut c = Client::new(server.url(), Encoding::Xml);
    let _ = md5_login(&mut c, &server).await;
    let m = c.msg(None, vec![alert("1", 1201)], false);
    let _ = c.send(&m).await;
    let m = c.msg(None, vec![alert("1", 1201)], false);
    let r = c.send(&m).await;
    assert!(r.has_alert("1223") && r.msg.body.final_);
    assert_eq!(server.recorder().sessions()[0].end, SessionEnd::MessageCap);
}

#[tokio::test]
async fn a_step_too_big_for_one_message_goes_in_several_and_the_device_asks_with_1222() {
    let cmds: Vec<String> = (0..20)
        .map(|i| format!(r#"{{"replace": {{"target": "./N{i}", "generate": 200}}}}"#))
        .collect();
    let json = format!(
        r#"{{"steps": [[{}], [{{"get": "./Last"}}]]}}"#,
        cmds.join(",")
    );
    // Sizes are counted to the byte: no server Cred in the header.
    let quiet = account(ClientAuth::Md5).with_server_auth(ServerAuth::None);
    let server = serve(vec![quiet], script(&json)).await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    c.meta = Some(Meta {
        max_msg_size: Some("1500".into()),
        ..Meta::default()
    });
    let mut r = md5_login(&mut c, &server).await;
    let mut targets = Vec::new();
    let mut msg_ids = Vec::new();
    loop {
        assert!(r.response.body.len() <= 1500);
        msg_ids.push(r.msg.hdr.msg_id.parse::<u32>().unwrap());
        let mut ids: Vec<_> = r
            .msg
            .body
            .commands
            .iter()
            .map(|c| c.cmd_id().to_string())
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(
            ids.len(),
            r.msg.body.commands.len(),
            "CmdIDs unique in a message"
        );
        for cmd in r.commands() {
            if let Command::Replace(rep) = cmd {
                assert!(!rep.items[0].more_data);
                targets.push(rep.items[0].target.as_ref().unwrap().loc_uri.clone());
            }
        }
        if r.msg.body.final_ {
            break;
        }
        let mut cmds = answer(&r, "");
        cmds.push(alert("", 1222));
        let m = c.msg(None, number(cmds), false);
        r = c.send(&m).await;
    }
    let want: Vec<String> = (0..20).map(|i| format!("./N{i}")).collect();
    assert_eq!(targets, want);
    assert!(msg_ids.len() >= 3, "{msg_ids:?}");
    assert!(msg_ids.windows(2).all(|w| w[1] == w[0] + 1), "{msg_ids:?}");
    // The step is complete: the device's package 3 brings the next step.
    let m = c.msg(None, answer(&r, ""), true);
    let r = c.send(&m).await;
    assert_eq!(r.commands()[0].name(), "Get");
}

#[tokio::test]
async fn a_chunked_devinfo_replace_from_the_device_is_reassembled() {
    let server = serve(vec![account(ClientAuth::Md5)], Script::default()).await;
    let mut c = Client::new(server.url(), Encoding::Xml);
    let nonce = server.account(DEVICE).unwrap().client_nonce;
    let chunk = |data: &str, more: bool, size: Option<&str>| {
        Command::Replace(ItemCmd {
            cmd_id: "2".into(),
            items: vec![Item {
                target: Some(Locus::uri("./DevInfo/Ext/Blob")),
                meta: size.map(|s| Meta {
                    size: Some(s.into()),
                    ..Meta::default()
                }),
                data: Some(Data::Text(data.into())),
                more_data: more,
                ..Item::default()
            }],
            ..ItemCmd::default()
        })
    };
    let m = c.msg(
        Some(md5_cred(&nonce, PASSWORD)),
        vec![alert("1", 1201), chunk("0123", true, Some("8"))],
        false,
    );
    let r = c.send(&m).await;
    assert!(
        r.statuses()
            .iter()
            .any(|s| s.cmd == "Replace" && s.code() == 213)
    );
    assert!(r.has_alert("1222"));
    let m = c.msg(None, vec![chunk("4567", false, None)], true);
    let r = c.send(&m).await;
    assert!(
        r.statuses()
            .iter()
            .any(|s| s.cmd == "Replace" && s.code() == 200)
    );
    assert_eq!(
        server
            .recorder()
            .devinfo(DEVICE)
            .get("./DevInfo/Ext/Blob")
            .map(String::as_str),
        Some("01234567")
    );
}
