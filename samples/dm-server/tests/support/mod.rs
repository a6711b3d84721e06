//! The device and server of the Scheduling MO end-to-end tests: a device in
//! full-client mode over its own SQLite file with an injected clock, the
//! test DM server over HTTPS with a generated CA.
#![allow(dead_code)] // each test file uses its own part

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use dmsched::dm::client::{AccountFile, Clock, CredentialFile, DmClient};
use dmsched::dm::session::{AlertsThroughUi, SessionConfig, UserInteraction};
use dmsched::dm::state::ClientState;
use dmsched::dm::transport::{HttpConfig, HttpTransport};
use dmsched::engine::{Engine, EngineConfig};
use dmsched::host::{Host, UserPrompt};
use dmsched::mo::{MoConfig, Scheduling};
use dmsched::store::Store;
use dmsched::tree::{DeviceInfo, Interactive, Tree, TreeConfig};
use dmsched_dm_server::{
    Account, ClientAuth, RunningServer, Script, ServerAuth, ServerConfig, TestPki, start,
};

pub const DEVICE: &str = "IMEI:990000862471855";
pub const T0: i64 = 1_796_126_400; // 2026-12-01T12:00:00Z

pub struct Device {
    pub _dir: tempfile::TempDir,
    pub tree: Arc<Tree>,
    pub mo: Arc<Scheduling>,
    pub client: DmClient,
    pub now: Arc<AtomicI64>,
}

pub fn account_file(server_id: &str, url: &str) -> AccountFile {
    AccountFile {
        server_id: server_id.into(),
        server_url: url.into(),
        name: None,
        client: CredentialFile {
            auth: "DIGEST".into(),
            name: Some("dev".into()),
            secret: "pw".into(),
            nonce: Some(base64::engine::general_purpose::STANDARD.encode(b"c0")),
        },
        // The server authenticates itself too (6.1.1.2.1): MD5 both ways.
        server: Some(CredentialFile {
            auth: "DIGEST".into(),
            name: None,
            secret: "spw".into(),
            nonce: Some(base64::engine::general_purpose::STANDARD.encode(b"s0")),
        }),
        ca_pem: None,
        allow_plain_http: false,
        allow_unauthenticated_server: false,
        encoding: None,
    }
}

pub fn device(accounts: &[AccountFile]) -> Device {
    device_with(
        accounts,
        EngineConfig {
            device_id: DEVICE.into(),
            ..EngineConfig::default()
        },
    )
}

/// Like [`device`] with these engine settings.
pub fn device_with(accounts: &[AccountFile], engine: EngineConfig) -> Device {
    device_full(accounts, engine, None)
}

/// Like [`device_with`], with a user prompt (UI/Mode 1–3).
pub fn device_full(
    accounts: &[AccountFile],
    engine: EngineConfig,
    prompt: Option<Arc<dyn UserPrompt>>,
) -> Device {
    device_ui(accounts, engine, prompt, None)
}

/// Like [`device_full`]; scheduled Alerts go to `ui` (full-client mode's
/// executor, as the agent builds it).
pub fn device_ui(
    accounts: &[AccountFile],
    engine: EngineConfig,
    prompt: Option<Arc<dyn UserPrompt>>,
    ui: Option<Arc<dyn UserInteraction>>,
) -> Device {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dmsched.db");
    let now = Arc::new(AtomicI64::new(T0));
    let clock: Clock = {
        let now = now.clone();
        Arc::new(move || jiff::Timestamp::from_second(now.load(Ordering::SeqCst)).unwrap())
    };
    let info = DeviceInfo {
        dev_id: DEVICE.into(),
        man: "dmsched".into(),
        model: "mo-nodes-e2e".into(),
        lang: "en".into(),
        ..DeviceInfo::default()
    };
    let tree = Arc::new(Tree::open(&db, TreeConfig::new(info), clock()).unwrap());
    for a in accounts {
        tree.add_account(&a.to_tree_account().unwrap(), clock())
            .unwrap();
    }
    let host = Host {
        tree: tree.clone(),
        executor: match ui {
            Some(ui) => Arc::new(Interactive {
                tree: tree.clone(),
                alerts: Arc::new(AlertsThroughUi(ui)),
            }),
            None => tree.clone(),
        },
        prompt: prompt.clone(),
        reports: None,
        authorizer: None,
    };
    let engine = Engine::open(Store::open(&db).unwrap(), host, engine).unwrap();
    let mut b = Scheduling::builder(engine, MoConfig::default(), clock.clone()).store_file(&db);
    if let Some(p) = prompt {
        b = b.prompt(p);
    }
    let mo = b.build().unwrap();
    mo.register(&tree).unwrap();
    let state = Arc::new(ClientState::open(&db).unwrap());
    let client = DmClient::new(tree.clone(), state, clock, SessionConfig::default())
        .with_scheduling(mo.clone());
    Device {
        _dir: dir,
        tree,
        mo,
        client,
        now,
    }
}

pub async fn server(pki: &TestPki, server_id: &str, script: &str) -> RunningServer {
    let acct = Account::new(server_id, DEVICE, "dev", "pw", ClientAuth::Md5, "spw")
        .with_server_auth(ServerAuth::Md5)
        .with_nonces(b"c0", b"s0");
    start(
        ServerConfig::new(vec![acct], Script::from_json(script).unwrap()).with_tls(pki.identity()),
    )
    .await
    .unwrap()
}

pub fn https(pki: &TestPki) -> HttpTransport {
    HttpTransport::new(HttpConfig {
        public_roots: false,
        extra_roots_pem: vec![pki.ca_pem.clone().into_bytes()],
        timeout: Duration::from_secs(20),
        ..HttpConfig::default()
    })
    .unwrap()
}

pub fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}
