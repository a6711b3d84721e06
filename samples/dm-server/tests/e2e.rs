//! End-to-end DM sessions (issue 5, "Must be shown"): the SDK's own DM
//! client — `DmClient` over the SQLite tree, `Session`, `HttpTransport` with
//! rustls — against `samples/dm-server` over loopback HTTPS with a locally
//! generated CA. Nothing is mocked: both sides speak SyncML DM 1.2 on a real
//! socket.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use dmsched::dm::client::{AccountFile, ClientError, Clock, CredentialFile, DmClient};
use dmsched::dm::session::{
    ClientAlert, SessionConfig, SessionError, Summary, UiRequest, UiResponse, UserInteraction,
};
use dmsched::dm::state::ClientState;
use dmsched::dm::syncml::{Data, Encoding, Item, Locus, Meta};
use dmsched::dm::transport::{HttpConfig, HttpTransport};
use dmsched::tree::{AuthLevel, DeviceInfo, Payload, Tree, TreeConfig};
use dmsched_dm_server::{
    Account, ClientAuth, RunningServer, Script, ServerAuth, ServerConfig, SessionEnd, TestPki,
    UiMode, start, test_pki,
};

const SERVER_ID: &str = "dmsched-e2e";
const DEVICE: &str = "IMEI:356938035643809";
const USER: &str = "device-7";
const PASSWORD: &str = "s3cret-device";
const SERVER_PASSWORD: &str = "s3cret-server";
const CLIENT_NONCE: &[u8] = b"client-nonce-0";
const SERVER_NONCE: &[u8] = b"server-nonce-0";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn clock() -> Clock {
    // Injected, fixed: the tree stamps changes with it.
    let t: jiff::Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
    Arc::new(move || t)
}

struct Device {
    _dir: tempfile::TempDir,
    tree: Arc<Tree>,
    client: DmClient,
}

impl Device {
    /// One client-initiated session over HTTPS trusting `pki`, no UI.
    async fn session(&self, pki: &TestPki) -> Summary {
        self.client
            .run_session(SERVER_ID, None, &https(pki), None)
            .await
            .unwrap()
    }
}

/// A Generic Alert 1226 for the device to queue.
fn generic_alert(
    correlator: &str,
    source: &str,
    type_: &str,
    format: &str,
    mark: Option<&str>,
) -> ClientAlert {
    ClientAlert {
        code: 1226,
        correlator: Some(correlator.into()),
        item: Item {
            source: Some(Locus::uri(source)),
            meta: Some(Meta {
                type_: Some(type_.into()),
                format: Some(format.into()),
                mark: mark.map(String::from),
                ..Meta::default()
            }),
            data: Some(Data::Text("200".into())),
            ..Item::default()
        },
    }
}

fn device(
    server_url: &str,
    client_auth: &str,
    server_auth: Option<&str>,
    password: &str,
    cfg: SessionConfig,
) -> Device {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dmsched.db");
    let info = DeviceInfo {
        dev_id: DEVICE.into(),
        man: "dmsched".into(),
        model: "e2e".into(),
        lang: "en-US".into(),
        dev_typ: "phone".into(),
        oem: "dmsched".into(),
        fw_v: "1.0".into(),
        sw_v: "1.0".into(),
        hw_v: "1.0".into(),
        lrg_obj: true,
    };
    let tree = Arc::new(Tree::open(&db, TreeConfig::new(info), clock()()).unwrap());
    let file = AccountFile {
        server_id: SERVER_ID.into(),
        server_url: server_url.into(),
        name: Some("e2e server".into()),
        client: CredentialFile {
            auth: client_auth.into(),
            name: Some(USER.into()),
            secret: password.into(),
            nonce: Some(b64(CLIENT_NONCE)),
        },
        server: server_auth.map(|a| CredentialFile {
            auth: a.into(),
            name: None,
            secret: SERVER_PASSWORD.into(),
            nonce: Some(b64(SERVER_NONCE)),
        }),
        ca_pem: None,
        allow_plain_http: false,
        // Without a server credential the account opts out (the tests of
        // the opt-out); every other test has the server authenticate.
        allow_unauthenticated_server: server_auth.is_none(),
        encoding: None,
    };
    tree.add_account(&file.to_tree_account().unwrap(), clock()())
        .unwrap();
    let state = Arc::new(ClientState::open(&db).unwrap());
    let client = DmClient::new(tree.clone(), state, clock(), cfg);
    Device {
        _dir: dir,
        tree,
        client,
    }
}

async fn server(pki: &TestPki, account: Account, script: &str, max_msg: usize) -> RunningServer {
    let mut cfg = ServerConfig::new(vec![account], Script::from_json(script).unwrap())
        .with_tls(pki.identity());
    cfg.max_msg_size = max_msg;
    start(cfg).await.unwrap()
}

fn server_account(client: ClientAuth, server: ServerAuth) -> Account {
    Account::new(SERVER_ID, DEVICE, USER, PASSWORD, client, SERVER_PASSWORD)
        .with_server_auth(server)
        .with_nonces(CLIENT_NONCE, SERVER_NONCE)
}

fn https(pki: &TestPki) -> HttpTransport {
    HttpTransport::new(HttpConfig {
        public_roots: false,
        extra_roots_pem: vec![pki.ca_pem.clone().into_bytes()],
        timeout: Duration::from_secs(20),
        ..HttpConfig::default()
    })
    .unwrap()
}

fn nonce_of(tree: &Tree, level: AuthLevel) -> Vec<u8> {
    let a = tree.account(SERVER_ID).unwrap().unwrap();
    a.auths
        .into_iter()
        .find(|x| x.level == level)
        .and_then(|x| x.nonce)
        .unwrap_or_default()
}

/// A user who answers from a script and remembers what was asked.
struct User {
    answers: Mutex<Vec<UiResponse>>,
    asked: Mutex<Vec<UiRequest>>,
}

impl User {
    fn new(answers: Vec<UiResponse>) -> User {
        User {
            answers: Mutex::new(answers),
            asked: Mutex::new(Vec::new()),
        }
    }
}

impl UserInteraction for User {
    fn interact(&self, r: &UiRequest) -> UiResponse {
        self.asked.lock().unwrap().push(r.clone());
        let mut a = self.answers.lock().unwrap();
        if a.is_empty() {
            UiResponse::Cancel
        } else {
            a.remove(0)
        }
    }
}

/// Facts §5, OMA DM Security §5.3: the server challenges the device's MD5
/// credential (the device's stored nonce is stale), the device answers
/// with the new nonce, gets 212, runs Get and Replace, and keeps the
/// server's NextNonce for the next session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn md5_challenge_flow_ends_in_212_and_the_script_runs() {
    let pki = test_pki(&["localhost"]);
    let stale = server_account(ClientAuth::Md5, ServerAuth::Md5)
        .with_nonces(b"server-changed-it", SERVER_NONCE);
    let srv = server(
        &pki,
        stale,
        r#"{"steps": [[{"get": "./DevInfo/DevId"}, {"add": {"target": "./Vendor", "format": "node"}}, {"add": {"target": "./Vendor/Mode", "data": "eco"}}]]}"#,
        64 * 1024,
    )
    .await;
    let dev = device(
        &srv.url(),
        "DIGEST",
        Some("DIGEST"),
        PASSWORD,
        SessionConfig::default(),
    );
    let summary = dev.session(&pki).await;
    assert!(
        summary.sent >= 3,
        "package 1, its retry with credentials, package 3: {summary:?}"
    );
    let rec = srv.recorder();
    assert_eq!(
        rec.auth_failures().len(),
        1,
        "one stale-nonce failure, then success"
    );
    // The server's MD5 credential: 212 once (in the retried package 1, with
    // the new server nonce), then 200.
    let hdr: Vec<u16> = rec.statuses_for("SyncHdr").iter().map(|s| s.code).collect();
    assert!(
        hdr.first() == Some(&212) && hdr[1..].iter().all(|&c| c == 200),
        "{hdr:?}"
    );
    let results = rec.results();
    assert_eq!(results[0].data, DEVICE);
    assert!(rec.statuses_for("Add").iter().all(|s| s.code == 200));
    assert_eq!(
        dev.tree.device().get("./Vendor/Mode").unwrap()[0].text(),
        "eco"
    );
    // The nonce the server issued with its 212 is the one stored for next time.
    let issued = srv.account(DEVICE).unwrap().client_nonce;
    assert_eq!(nonce_of(&dev.tree, AuthLevel::Client), issued);
    assert_eq!(rec.sessions()[0].end, SessionEnd::Completed);
    // The device followed RespURI and broke no rule the server checks.
    assert!(rec.complaints().is_empty(), "{:?}", rec.complaints());
}

/// Facts §5: HMAC in both directions — every device message carries
/// `x-syncml-hmac` over its body; every server answer too, verified with the
/// nonce the device issued in the previous message; nonces rotate each
/// message and are persisted on both sides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hmac_flow_authenticates_every_message_both_ways() {
    let pki = test_pki(&["localhost"]);
    let srv = server(
        &pki,
        server_account(ClientAuth::Hmac, ServerAuth::Hmac),
        r#"{"steps": [[{"get": "./DevInfo/Man"}], [{"get": "./DevDetail/SwV"}]]}"#,
        64 * 1024,
    )
    .await;
    let dev = device(
        &srv.url(),
        "HMAC",
        Some("HMAC"),
        PASSWORD,
        SessionConfig::default(),
    );
    let summary = dev.session(&pki).await;
    let rec = srv.recorder();
    assert!(rec.auth_failures().is_empty(), "{:?}", rec.auth_failures());
    let r: Vec<String> = rec.results().into_iter().map(|r| r.data).collect();
    assert_eq!(r, ["dmsched", "1.0"]);
    // Every device answer to the server header said 200 (its HMAC verified).
    let hdr: Vec<u16> = rec.statuses_for("SyncHdr").iter().map(|s| s.code).collect();
    assert!(!hdr.is_empty() && hdr.iter().all(|&c| c == 200), "{hdr:?}");
    assert!(rec.requests().iter().all(|q| q.hmac_header));
    // Both directions' latest nonces agree between the two sides.
    let acct = srv.account(DEVICE).unwrap();
    assert_eq!(nonce_of(&dev.tree, AuthLevel::Client), acct.client_nonce);
    assert_eq!(nonce_of(&dev.tree, AuthLevel::Server), acct.server_nonce);
    assert!(summary.sent >= 3);
}

/// Facts §3 Atomic: a failing command rolls back the ones before it (216),
/// the Atomic answers 507, and the tree keeps nothing of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atomic_failure_rolls_back_everything() {
    let pki = test_pki(&["localhost"]);
    let srv = server(
        &pki,
        server_account(ClientAuth::Md5, ServerAuth::Md5),
        r#"{"steps": [[{"atomic": [
            {"add": {"target": "./Cfg", "format": "node"}},
            {"add": {"target": "./Cfg/A", "data": "1", "format": "int"}},
            {"replace": {"target": "./DevInfo/Man", "data": "evil"}}
        ]}]]}"#,
        64 * 1024,
    )
    .await;
    let dev = device(
        &srv.url(),
        "DIGEST",
        Some("DIGEST"),
        PASSWORD,
        SessionConfig::default(),
    );
    dev.session(&pki).await;
    let rec = srv.recorder();
    assert_eq!(rec.statuses_for("Atomic")[0].code, 507);
    let adds: Vec<u16> = rec.statuses_for("Add").iter().map(|s| s.code).collect();
    assert_eq!(adds, [216, 216]);
    let rep = rec.statuses_for("Replace")[0].code;
    assert!(rep == 405 || rep == 425, "DevInfo is read-only: {rep}");
    assert_eq!(dev.tree.device().get("./Cfg").unwrap_err().status(), 404);
    assert_eq!(
        dev.tree.device().get("./DevInfo/Man").unwrap()[0].text(),
        "dmsched"
    );
}

/// Facts §3 Sequence + UI alert 1101: the user says "No" (304), so the
/// rest of the Sequence is not executed (215) and the tree is unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequence_stops_when_the_user_says_no() {
    let pki = test_pki(&["localhost"]);
    let srv = server(
        &pki,
        server_account(ClientAuth::Md5, ServerAuth::Md5),
        r#"{"steps": [[{"sequence": [
            {"alert": {"code": 1101, "options": "MAXDT=30", "texts": ["Switch to eco mode?"]}},
            {"add": {"target": "./Eco", "data": "on"}}
        ]}]]}"#,
        64 * 1024,
    )
    .await;
    let dev = device(
        &srv.url(),
        "DIGEST",
        Some("DIGEST"),
        PASSWORD,
        SessionConfig::default(),
    );
    let user = User::new(vec![UiResponse::No]);
    dev.client
        .run_session(SERVER_ID, None, &https(&pki), Some(&user))
        .await
        .unwrap();
    let rec = srv.recorder();
    assert_eq!(
        rec.statuses_for("Alert")
            .iter()
            .map(|s| s.code)
            .collect::<Vec<_>>(),
        [304]
    );
    assert_eq!(rec.statuses_for("Add")[0].code, 215);
    assert_eq!(rec.statuses_for("Sequence")[0].code, 200);
    let asked = user.asked.lock().unwrap();
    assert_eq!(asked[0].text, "Switch to eco mode?");
    assert_eq!(asked[0].max_display_secs, Some(30));
    assert!(dev.tree.device().get("./Eco").is_err());
}

/// Facts §3 large objects, both ways: the server sends a 40 000-byte Add in
/// chunks that fit the device's MaxMsgSize (213 per chunk); the device sends
/// a 30 000-byte Get result in chunks that fit the server's MaxMsgSize,
/// with Meta Size on the first, and the server reassembles it exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_objects_travel_in_chunks_both_ways() {
    let pki = test_pki(&["localhost"]);
    let srv = server(
        &pki,
        server_account(ClientAuth::Md5, ServerAuth::Md5),
        r#"{"steps": [[{"add": {"target": "./Blob", "generate": 40000}}], [{"get": "./Big"}]]}"#,
        6 * 1024,
    )
    .await;
    let cfg = SessionConfig {
        max_msg_size: 8 * 1024,
        ..SessionConfig::default()
    };
    let dev = device(&srv.url(), "DIGEST", Some("DIGEST"), PASSWORD, cfg);
    let big: String = (0..30_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    dev.tree
        .device()
        .add("./Big", &Payload::chr(&big), clock()())
        .unwrap();
    let summary = dev.session(&pki).await;
    let rec = srv.recorder();
    let adds: Vec<u16> = rec.statuses_for("Add").iter().map(|s| s.code).collect();
    assert!(adds.len() >= 5, "40 000 bytes in 8 KiB messages: {adds:?}");
    assert!(adds[..adds.len() - 1].iter().all(|&c| c == 213), "{adds:?}");
    assert_eq!(*adds.last().unwrap(), 200);
    let stored = dev.tree.device().get("./Blob").unwrap()[0].text();
    assert_eq!(stored, dmsched_dm_server::generated_data(40_000));
    let r = &rec.results()[0];
    assert!(
        r.chunks >= 5,
        "30 000 bytes in 6 KiB messages: {} chunks",
        r.chunks
    );
    assert_eq!(r.declared_size, Some(30_000));
    assert!(r.size_ok);
    assert_eq!(r.data, big);
    // Every message stayed within the size its receiver announced.
    assert!(
        rec.requests().iter().all(|q| q.body_len <= 6 * 1024),
        "device → server"
    );
    assert!(summary.sent > 8);
    assert!(rec.complaints().is_empty(), "{:?}", rec.complaints());
}

/// Facts §6: a package #0 from the server (digest over the server nonce the
/// device holds) starts a session with Alert 1200 and the trigger's session
/// id, the server proving itself with MD5; the same bytes a second time are
/// refused as a replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn package_zero_triggers_a_session_and_a_replay_is_refused() {
    let pki = test_pki(&["localhost"]);
    let srv = server(
        &pki,
        server_account(ClientAuth::Md5, ServerAuth::Md5),
        r#"{"steps": [[{"get": "./DevInfo/Mod"}]]}"#,
        64 * 1024,
    )
    .await;
    let dev = device(
        &srv.url(),
        "DIGEST",
        Some("DIGEST"),
        PASSWORD,
        SessionConfig::default(),
    );
    let pkg0 = srv.trigger(DEVICE, UiMode::Background).unwrap();
    let accepted = dev.client.accept_notification(&pkg0).unwrap();
    assert!(!accepted.used_resync_nonce());
    // Delivered twice (an SMS resent, or an attacker replaying it): refused.
    match dev.client.accept_notification(&pkg0) {
        Err(ClientError::Notification(m)) => assert!(m.contains("replay"), "{m}"),
        other => panic!("replay accepted: {other:?}"),
    }
    dev.client
        .run_session(SERVER_ID, Some(&accepted), &https(&pki), None)
        .await
        .unwrap();
    let s = &srv.recorder().sessions()[0];
    assert_eq!(s.initiated_by, "server");
    assert_eq!(s.trigger_matched, Some(true));
    assert_eq!(srv.recorder().results()[0].data, "e2e");
    // After the session the device has issued the server a new nonce, so
    // the old notification no longer even verifies.
    assert!(matches!(
        dev.client.accept_notification(&pkg0),
        Err(ClientError::Notification(_))
    ));
    // A tampered notification is refused too.
    let mut forged = pkg0.clone();
    forged[0] ^= 0xff;
    assert!(matches!(
        dev.client.accept_notification(&forged),
        Err(ClientError::Notification(_))
    ));
}

/// A device with the wrong password is refused (401 each time) and gives
/// up after its retries; nothing in its tree changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_rejected_and_nothing_runs() {
    let pki = test_pki(&["localhost"]);
    let srv = server(
        &pki,
        server_account(ClientAuth::Md5, ServerAuth::Md5),
        r#"{"steps": [[{"add": {"target": "./Nope", "data": "x"}}]]}"#,
        64 * 1024,
    )
    .await;
    let dev = device(
        &srv.url(),
        "DIGEST",
        Some("DIGEST"),
        "not-the-password",
        SessionConfig::default(),
    );
    match dev
        .client
        .run_session(SERVER_ID, None, &https(&pki), None)
        .await
    {
        Err(ClientError::Session(SessionError::Rejected { code, .. })) => assert_eq!(code, 401),
        other => panic!("expected a rejection: {other:?}"),
    }
    assert!(!srv.recorder().auth_failures().is_empty());
    assert!(dev.tree.device().get("./Nope").is_err());
}

/// Generic Alert 1226 (facts §2): queued alerts go out in package 1 and
/// leave the durable queue only once the server acknowledged them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_generic_alerts_are_delivered_and_dequeued() {
    let pki = test_pki(&["localhost"]);
    let srv = server(
        &pki,
        server_account(ClientAuth::Md5, ServerAuth::Md5),
        r#"{"steps": []}"#,
        64 * 1024,
    )
    .await;
    let dev = device(
        &srv.url(),
        "DIGEST",
        Some("DIGEST"),
        PASSWORD,
        SessionConfig::default(),
    );
    let alert = generic_alert(
        "corr-42",
        "./Scheduling/Schedules/S1/Tasks/T1",
        "org.dmsched.scheduling.result",
        "chr",
        Some("informational"),
    );
    dev.client.queue_alert(SERVER_ID, &alert).unwrap();
    dev.session(&pki).await;
    let got = srv.recorder().generic_alerts();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].correlator.as_deref(), Some("corr-42"));
    assert!(dev.client.pending_alerts(SERVER_ID).unwrap().is_empty());
}

/// The same session in WBXML: the device speaks
/// `application/vnd.syncml.dm+wbxml` and the server answers in kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wbxml_session_works_like_an_xml_one() {
    let pki = test_pki(&["localhost"]);
    let srv = server(
        &pki,
        server_account(ClientAuth::Basic, ServerAuth::Md5),
        r#"{"steps": [[{"get": "./DevInfo/DevId"}, {"replace": {"target": "./DevInfo/Lang", "data": "fr"}}]]}"#,
        64 * 1024,
    )
    .await;
    let cfg = SessionConfig {
        encoding: Encoding::Wbxml,
        ..SessionConfig::default()
    };
    let dev = device(&srv.url(), "BASIC", Some("DIGEST"), PASSWORD, cfg);
    dev.session(&pki).await;
    let rec = srv.recorder();
    assert!(
        rec.requests()
            .iter()
            .all(|q| q.content_type.as_deref() == Some(Encoding::Wbxml.mime()))
    );
    assert_eq!(rec.results()[0].data, DEVICE);
    let rep = rec.statuses_for("Replace")[0].code;
    assert!(rep == 405 || rep == 425, "{rep}");
}

/// TLS is verified: without the test CA the handshake fails and no session
/// happens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_stops_the_session() {
    let pki = test_pki(&["localhost"]);
    let other = test_pki(&["localhost"]);
    let srv = server(
        &pki,
        server_account(ClientAuth::Md5, ServerAuth::Md5),
        r#"{"steps": []}"#,
        64 * 1024,
    )
    .await;
    let dev = device(
        &srv.url(),
        "DIGEST",
        Some("DIGEST"),
        PASSWORD,
        SessionConfig::default(),
    );
    match dev
        .client
        .run_session(SERVER_ID, None, &https(&other), None)
        .await
    {
        Err(ClientError::Session(SessionError::Transport(m))) => {
            assert!(m.to_lowercase().contains("certificate"), "{m}")
        }
        other => panic!("expected a TLS failure: {other:?}"),
    }
    assert!(srv.recorder().sessions().is_empty());
}

/// An ExecHandler that accepts the work (202) and remembers the correlator,
/// as an OS update would.
struct Deferred(Mutex<Vec<String>>);

impl dmsched::tree::ExecHandler for Deferred {
    fn exec(
        &self,
        _server: Option<&str>,
        _uri: &dmsched::tree::Uri,
        _data: Option<&[u8]>,
        correlator: Option<&str>,
    ) -> Result<dmsched::tree::ExecResult, dmsched::tree::TreeError> {
        self.0
            .lock()
            .unwrap()
            .push(correlator.unwrap_or_default().to_string());
        Ok(dmsched::tree::ExecResult::accepted())
    }
}

/// Facts §3 Exec with Correlator: the Exec is accepted (202) in one
/// session; when the work is done the host queues a Generic Alert 1226
/// carrying the correlator, and the next session delivers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asynchronous_exec_reports_later_with_its_correlator() {
    let pki = test_pki(&["localhost"]);
    let srv = server(
        &pki,
        server_account(ClientAuth::Md5, ServerAuth::Md5),
        r#"{"steps": [[{"exec": {"target": "./Ops/Update", "data": "v2", "correlator": "job-17"}}]]}"#,
        64 * 1024,
    )
    .await;
    let dev = device(
        &srv.url(),
        "DIGEST",
        Some("DIGEST"),
        PASSWORD,
        SessionConfig::default(),
    );
    let now = clock()();
    dev.tree
        .device()
        .add("./Ops", &Payload::interior(), now)
        .unwrap();
    dev.tree
        .device()
        .replace("./Ops?prop=ACL", &Payload::chr("Get=*&Exec=*"), now)
        .unwrap();
    dev.tree
        .device()
        .add("./Ops/Update", &Payload::chr(""), now)
        .unwrap();
    let handler = Arc::new(Deferred(Mutex::new(Vec::new())));
    dev.tree
        .register_exec("./Ops/Update", handler.clone())
        .unwrap();
    dev.session(&pki).await;
    assert_eq!(srv.recorder().statuses_for("Exec")[0].code, 202);
    let correlator = handler.0.lock().unwrap().pop().unwrap();
    assert_eq!(correlator, "job-17");
    // Later: the update finished; the host reports it.
    dev.client
        .queue_alert(
            SERVER_ID,
            &generic_alert(
                &correlator,
                "./Ops/Update",
                "org.dmsched.update.result",
                "int",
                None,
            ),
        )
        .unwrap();
    srv.set_script(Script::from_json(r#"{"steps": []}"#).unwrap());
    dev.session(&pki).await;
    let alerts = srv.recorder().generic_alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].correlator.as_deref(), Some("job-17"));
    assert!(dev.client.pending_alerts(SERVER_ID).unwrap().is_empty());
}

/// Facts §6 ui-mode: a package #0 in user-interaction mode asks the user
/// before the session; "No" means no session; "Yes" runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_interaction_mode_asks_before_the_session() {
    let pki = test_pki(&["localhost"]);
    let srv = server(
        &pki,
        server_account(ClientAuth::Md5, ServerAuth::Md5),
        r#"{"steps": [[{"get": "./DevInfo/Lang"}]]}"#,
        64 * 1024,
    )
    .await;
    let dev = device(
        &srv.url(),
        "DIGEST",
        Some("DIGEST"),
        PASSWORD,
        SessionConfig::default(),
    );
    let user = User::new(vec![UiResponse::No, UiResponse::Yes]);
    let n = dev
        .client
        .accept_notification(&srv.trigger(DEVICE, UiMode::UserInteraction).unwrap())
        .unwrap();
    let r = dev
        .client
        .run_session(SERVER_ID, Some(&n), &https(&pki), Some(&user))
        .await;
    assert!(matches!(r, Err(ClientError::Declined)), "{r:?}");
    assert!(srv.recorder().requests().is_empty());
    let n = dev
        .client
        .accept_notification(&srv.trigger(DEVICE, UiMode::UserInteraction).unwrap())
        .unwrap();
    dev.client
        .run_session(SERVER_ID, Some(&n), &https(&pki), Some(&user))
        .await
        .unwrap();
    assert_eq!(srv.recorder().results()[0].data, "en-US");
    assert_eq!(user.asked.lock().unwrap().len(), 2);
}

/// Facts §3 Alert 1223: a server that aborts (here at its message cap)
/// ends the device's session without an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_abort_ends_the_session() {
    let pki = test_pki(&["localhost"]);
    let steps: Vec<String> = (0..10)
        .map(|_| r#"[{"get": "./DevInfo/DmV"}]"#.to_string())
        .collect();
    let mut cfg = ServerConfig::new(
        vec![server_account(ClientAuth::Md5, ServerAuth::Md5)],
        Script::from_json(&format!(r#"{{"steps": [{}]}}"#, steps.join(","))).unwrap(),
    )
    .with_tls(pki.identity());
    cfg.max_messages_per_session = 4;
    let srv = start(cfg).await.unwrap();
    let dev = device(
        &srv.url(),
        "DIGEST",
        Some("DIGEST"),
        PASSWORD,
        SessionConfig::default(),
    );
    let summary = dev.session(&pki).await;
    assert!(summary.aborted, "{summary:?}");
    assert_eq!(srv.recorder().sessions()[0].end, SessionEnd::MessageCap);
}

/// A test server with `server` (its account's schemes both ways) and a
/// device whose account has `device` (client scheme, server scheme or the
/// opt-out), over HTTPS with a fresh test CA.
async fn pair(
    server: (ClientAuth, ServerAuth),
    device: (&str, Option<&str>),
    script: &str,
) -> (TestPki, RunningServer, Device) {
    pair_with(server_account(server.0, server.1), device, script).await
}

/// [`pair`] with this server account.
async fn pair_with(
    account: Account,
    (client, server_scheme): (&str, Option<&str>),
    script: &str,
) -> (TestPki, RunningServer, Device) {
    let pki = test_pki(&["localhost"]);
    let srv = server(&pki, account, script, 64 * 1024).await;
    let dev = device(
        &srv.url(),
        client,
        server_scheme,
        PASSWORD,
        SessionConfig::default(),
    );
    (pki, srv, dev)
}

/// 6.1.1.2.1 over HTTPS: the account requires the server's MD5 credential
/// and the server sends none. Every command it sends (Get ./DevInfo/DevId,
/// Add) is answered 407 with a challenge and none runs: nothing is read,
/// nothing is written; the server's resent step fares no better, and the
/// device gives up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_credential_is_challenged_and_not_obeyed() {
    let (pki, srv, dev) = pair(
        (ClientAuth::Md5, ServerAuth::None),
        ("DIGEST", Some("DIGEST")),
        r#"{"steps": [[{"get": "./DevInfo/DevId"}, {"add": {"target": "./Vendor", "format": "node"}}, {"add": {"target": "./Vendor/Evil", "data": "1"}}]]}"#,
    )
    .await;
    let r = dev
        .client
        .run_session(SERVER_ID, None, &https(&pki), None)
        .await;
    assert!(
        matches!(r, Err(ClientError::Session(SessionError::Rejected { .. }))),
        "{r:?}"
    );
    let rec = srv.recorder();
    assert!(
        rec.results().is_empty(),
        "DevId was read: {:?}",
        rec.results()
    );
    let hdr: Vec<u16> = rec.statuses_for("SyncHdr").iter().map(|s| s.code).collect();
    assert!(!hdr.is_empty() && hdr.iter().all(|&c| c == 407), "{hdr:?}");
    for cmd in ["Get", "Add"] {
        let codes: Vec<u16> = rec.statuses_for(cmd).iter().map(|s| s.code).collect();
        assert!(
            !codes.is_empty() && codes.iter().all(|&c| c == 407),
            "{cmd}: {codes:?}"
        );
    }
    assert!(dev.tree.device().get("./Vendor").is_err());
}

/// The explicit opt-out (docs/dm-client.md): an account provisioned with
/// `allow_unauthenticated_server` (over HTTPS with the server's own CA as
/// the only trust anchor) runs the commands of a server that sends no
/// credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_opt_out_a_server_without_credential_is_obeyed() {
    let (pki, srv, dev) = pair(
        (ClientAuth::Md5, ServerAuth::None),
        ("DIGEST", None),
        r#"{"steps": [[{"get": "./DevInfo/DevId"}]]}"#,
    )
    .await;
    dev.session(&pki).await;
    assert_eq!(srv.recorder().results()[0].data, DEVICE);
}

/// Issue 14, HMAC: the server's last message of a session is followed by
/// no answer, so its nonce stays stored for the legitimate server, bound
/// to the session it was used in (a replay in a later session with that id
/// is refused: `dm_server_auth::the_last_hmac_message_of_a_session_is_not_accepted_again_in_a_later_one`).
/// The sample server's next sessions work: two client-initiated ones and
/// one from a package #0 signed with that nonce, HMAC both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hmac_sessions_follow_one_another_and_package_zero_still_verifies() {
    let (pki, srv, dev) = pair(
        (ClientAuth::Hmac, ServerAuth::Hmac),
        ("HMAC", Some("HMAC")),
        r#"{"steps": [[{"get": "./DevInfo/Man"}]]}"#,
    )
    .await;
    dev.session(&pki).await;
    dev.session(&pki).await;
    let pkg0 = srv.trigger(DEVICE, UiMode::Background).unwrap();
    let accepted = dev.client.accept_notification(&pkg0).unwrap();
    assert!(!accepted.used_resync_nonce());
    dev.client
        .run_session(SERVER_ID, Some(&accepted), &https(&pki), None)
        .await
        .unwrap();
    let rec = srv.recorder();
    let r: Vec<String> = rec.results().into_iter().map(|r| r.data).collect();
    assert_eq!(r, ["dmsched", "dmsched", "dmsched"]);
    assert!(rec.auth_failures().is_empty(), "{:?}", rec.auth_failures());
    let hdr: Vec<u16> = rec.statuses_for("SyncHdr").iter().map(|s| s.code).collect();
    assert!(hdr.iter().all(|&c| c == 200), "{hdr:?}");
    assert_eq!(
        nonce_of(&dev.tree, AuthLevel::Server),
        srv.account(DEVICE).unwrap().server_nonce
    );
}

/// The sample server answers the device's challenge on its own credential:
/// it signs with a server nonce the device no longer holds (HMAC), the
/// device answers 401 with a new nonce and runs nothing, the server sends
/// its Statuses and the step again signed with that nonce, and the script
/// runs once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_signing_with_a_stale_nonce_is_challenged_and_signs_again() {
    let stale = server_account(ClientAuth::Md5, ServerAuth::Hmac)
        .with_nonces(CLIENT_NONCE, b"a-nonce-the-device-replaced");
    let (pki, srv, dev) = pair_with(
        stale,
        ("DIGEST", Some("HMAC")),
        r#"{"steps": [[{"get": "./DevInfo/DevId"}]]}"#,
    )
    .await;
    dev.session(&pki).await;
    let rec = srv.recorder();
    let hdr: Vec<u16> = rec.statuses_for("SyncHdr").iter().map(|s| s.code).collect();
    assert_eq!(hdr.first(), Some(&401), "{hdr:?}");
    assert!(hdr[1..].iter().all(|&c| c == 200), "{hdr:?}");
    let get: Vec<u16> = rec.statuses_for("Get").iter().map(|s| s.code).collect();
    assert_eq!(get, [401, 200]);
    assert_eq!(rec.results().len(), 1, "read once, when authenticated");
    assert_eq!(rec.results()[0].data, DEVICE);
}
