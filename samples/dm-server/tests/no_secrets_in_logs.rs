//! 6.1.1.2.1, issue 14: no secret ever reaches a log. Two full DM sessions
//! with MD5 authentication both ways (the server sends its credential, the
//! device challenges and answers with new nonces) run with every tracing
//! event and span field captured at trace level; neither password nor any
//! nonce the device held or stored appears in the capture, in any
//! encoding (raw, base64, hex, a Debug byte list).

mod support;

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use dmsched::dm::client::CredentialFile;
use dmsched::tree::AuthLevel;
use dmsched_dm_server::{Account, ClientAuth, Script, ServerAuth, ServerConfig, start};
use support::*;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

const CLIENT_SECRET: &str = "client-Secret-7f3a9e";
const SERVER_SECRET: &str = "server-Secret-91bc4d";
const CLIENT_NONCE: &[u8] = b"nonce-client-5e1f2a";
const SERVER_NONCE: &[u8] = b"nonce-server-a93c77";

/// Every field of every event and span, as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push_str(&format!("{}={value} ", field.name()));
    }
    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut s = self.0.lock().unwrap();
        s.push_str(event.metadata().target());
        s.push(' ');
        event.record(&mut Fields(&mut s));
        s.push('\n');
    }
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: Context<'_, S>,
    ) {
        attrs.record(&mut Fields(&mut self.0.lock().unwrap()));
    }
    fn on_record(
        &self,
        _: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: Context<'_, S>,
    ) {
        values.record(&mut Fields(&mut self.0.lock().unwrap()));
    }
}

/// The forms in which `secret` could show in a log.
fn forms(secret: &[u8]) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut v = vec![
        b64.encode(secret),
        secret.iter().map(|b| format!("{b:02x}")).collect(),
        format!("{secret:?}").trim_end_matches(']').to_string(),
    ];
    if let Ok(s) = std::str::from_utf8(secret) {
        v.push(s.to_string());
    }
    v
}

#[tokio::test(flavor = "current_thread")]
async fn a_session_at_trace_level_logs_no_password_and_no_nonce() {
    let capture = Capture::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
    let pki = dmsched_dm_server::test_pki(&["localhost"]);
    let doc = r#"{"tasks": [{"id": "T", "trigger": {"every": {"seconds": 3600}}, "actions": [{"op": "Get", "target": "./DevInfo/Man"}]}]}"#;
    let script = format!(
        r#"{{"steps": [[{{"add": {{"target": "./Scheduling/Schedules/S1", "data": {}, "type": "application/json"}}}}, {{"get": "./DevInfo/DevId"}}]]}}"#,
        json_str(doc)
    );
    let acct = Account::new(
        "srv-a",
        DEVICE,
        "dev",
        CLIENT_SECRET,
        ClientAuth::Md5,
        SERVER_SECRET,
    )
    .with_server_auth(ServerAuth::Md5)
    .with_nonces(CLIENT_NONCE, SERVER_NONCE);
    let server = start(
        ServerConfig::new(vec![acct], Script::from_json(&script).unwrap()).with_tls(pki.identity()),
    )
    .await
    .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut file = account_file("srv-a", &server.url());
    file.client = CredentialFile {
        auth: "DIGEST".into(),
        name: Some("dev".into()),
        secret: CLIENT_SECRET.into(),
        nonce: Some(b64.encode(CLIENT_NONCE)),
    };
    file.server = Some(CredentialFile {
        auth: "DIGEST".into(),
        name: Some("srv-a".into()),
        secret: SERVER_SECRET.into(),
        nonce: Some(b64.encode(SERVER_NONCE)),
    });
    let dev = device(&[file]);
    let t = https(&pki);
    let mut nonces: Vec<Vec<u8>> = vec![CLIENT_NONCE.to_vec(), SERVER_NONCE.to_vec()];
    for _ in 0..2 {
        dev.client
            .run_session("srv-a", None, &t, None)
            .await
            .unwrap();
        let acc = dev.tree.account("srv-a").unwrap().unwrap();
        for a in acc.auths {
            let n = a.nonce.unwrap_or_default();
            assert!(
                a.level != AuthLevel::Server || n.len() >= 8,
                "the server's new nonce is long enough to search for"
            );
            if n.len() >= 8 && !nonces.contains(&n) {
                nonces.push(n);
            }
        }
    }
    let statuses = server.recorder().statuses();
    assert!(
        statuses.iter().any(|s| s.cmd == "Add" && s.code == 200),
        "the sessions did real work: {statuses:?}"
    );
    assert!(nonces.len() > 2, "nonces rotated: {}", nonces.len());
    // The search finds what is there: a byte string logged as Debug.
    tracing::trace!(target: "selfcheck", bytes = ?b"selfcheck-marker".to_vec());
    let log = capture.0.lock().unwrap().clone();
    assert!(forms(b"selfcheck-marker").iter().any(|f| log.contains(f)));
    assert!(
        log.contains("dmsched::"),
        "the SDK's own events are captured"
    );
    assert!(
        log.len() > 1000,
        "trace events were captured ({} bytes)",
        log.len()
    );
    for secret in [CLIENT_SECRET.as_bytes(), SERVER_SECRET.as_bytes()]
        .into_iter()
        .chain(nonces.iter().map(Vec::as_slice))
    {
        for f in forms(secret) {
            assert!(
                !log.contains(&f),
                "{f:?} found in the log:\n{}",
                log.lines()
                    .filter(|l| l.contains(&f))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}
