//! Issue 14 (secrets), 6.1.1.2.1: account passwords and nonces live in a
//! secret store, never in the SQLite file: by default a 0600 file beside
//! it, or the host's store (Keystore, Keychain). References always
//! resolve, across a restart, a nonce rotation and a rolled-back Atomic;
//! orphans are removed at the next open; a tree written before the secret
//! store is migrated.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use dmsched::tree::{
    Account, AppAuth, AuthLevel, AuthType, DeviceInfo, Payload, SecretError, SecretStore, Tree,
    TreeConfig,
};
use jiff::Timestamp;

const CLIENT_SECRET: &str = "client-Secret-7f3a9e";
const SERVER_SECRET: &str = "server-Secret-91bc4d";
const NONCE: &[u8] = b"nonce-initial-5e1f2a";
const NEW_NONCE: &[u8] = b"nonce-rotated-0c4b17";

fn now() -> Timestamp {
    "2026-12-01T12:00:00Z".parse().unwrap()
}

fn config() -> TreeConfig {
    TreeConfig::new(DeviceInfo {
        dev_id: "IMEI:1".into(),
        man: "dmsched".into(),
        model: "t".into(),
        lang: "en".into(),
        ..DeviceInfo::default()
    })
}

fn account() -> Account {
    let auth = |level, secret: &str| AppAuth {
        level,
        auth_type: AuthType::Digest,
        name: Some("dev".into()),
        secret: Some(secret.into()),
        nonce: Some(NONCE.to_vec()),
    };
    Account {
        node: "acc".into(),
        server_id: "srv-a".into(),
        name: None,
        pref_con_ref: None,
        addrs: Vec::new(),
        allow_unauthenticated_server: false,
        auths: vec![
            auth(AuthLevel::Client, CLIENT_SECRET),
            auth(AuthLevel::Server, SERVER_SECRET),
        ],
    }
}

/// The bytes of the database and its WAL.
fn db_bytes(db: &Path) -> Vec<u8> {
    let mut out = std::fs::read(db).unwrap();
    for ext in ["-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(ext);
        if let Ok(b) = std::fs::read(p) {
            out.extend(b);
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn b64(b: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .encode(b)
        .into_bytes()
}

fn secrets_of(t: &Tree) -> (Vec<String>, Vec<Vec<u8>>) {
    let a = t.account("srv-a").unwrap().unwrap();
    (
        a.auths.iter().map(|x| x.secret.clone().unwrap()).collect(),
        a.auths.iter().map(|x| x.nonce.clone().unwrap()).collect(),
    )
}

#[test]
fn no_password_or_nonce_is_in_the_database_and_the_default_store_is_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dmsched.db");
    {
        let t = Tree::open(&db, config(), now()).unwrap();
        t.add_account(&account(), now()).unwrap();
        t.set_account_nonce("srv-a", AuthLevel::Server, NEW_NONCE, now())
            .unwrap();
        let bytes = db_bytes(&db);
        for s in [
            CLIENT_SECRET.as_bytes(),
            SERVER_SECRET.as_bytes(),
            NONCE,
            NEW_NONCE,
        ] {
            assert!(
                !contains(&bytes, s),
                "{:?} in the database",
                String::from_utf8_lossy(s)
            );
            assert!(
                !contains(&bytes, &b64(s)),
                "base64 of {:?} in the database",
                String::from_utf8_lossy(s)
            );
        }
    }
    let store = dir.path().join("dmsched.db.secrets");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&store).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the default store is the owner's alone");
    }
    let t = Tree::open(&db, config(), now()).unwrap();
    let (secrets, nonces) = secrets_of(&t);
    assert_eq!(secrets, [CLIENT_SECRET, SERVER_SECRET]);
    assert_eq!(nonces, [NONCE.to_vec(), NEW_NONCE.to_vec()]);
    // The replaced nonce's value is gone from the store (4 secret leaves).
    let text = std::fs::read_to_string(&store).unwrap();
    let map: BTreeMap<String, String> = serde_json::from_str(&text).unwrap();
    assert_eq!(map.len(), 4, "{:?}", map.keys());
}

/// A host's store, counting what it holds.
#[derive(Debug, Default)]
struct HostStore(Mutex<BTreeMap<String, Vec<u8>>>);

impl SecretStore for HostStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, SecretError> {
        Ok(self.0.lock().unwrap().get(key).cloned())
    }
    fn put(&self, key: &str, value: &[u8]) -> Result<(), SecretError> {
        self.0.lock().unwrap().insert(key.into(), value.to_vec());
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<(), SecretError> {
        self.0.lock().unwrap().remove(key);
        Ok(())
    }
    fn keys(&self) -> Result<Vec<String>, SecretError> {
        Ok(self.0.lock().unwrap().keys().cloned().collect())
    }
}

#[test]
fn a_host_store_is_used_and_a_rolled_back_atomic_keeps_the_old_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dmsched.db");
    let store = Arc::new(HostStore::default());
    store.put("the-hosts-own-key", b"kept").unwrap();
    let cfg = || TreeConfig {
        secrets: Some(store.clone()),
        ..config()
    };
    {
        let t = Tree::open(&db, cfg(), now()).unwrap();
        t.add_account(&account(), now()).unwrap();
        assert!(
            !dir.path().join("dmsched.db.secrets").exists(),
            "no default file"
        );
        // The server changes its password inside an Atomic that fails.
        t.begin().unwrap();
        let secret = "./DMAcc/acc/AppAuth";
        let entry = t.device().get(secret).unwrap()[0].text();
        let first = entry.split('/').next().unwrap().to_string();
        t.device()
            .replace(
                &format!("{secret}/{first}/AAuthSecret"),
                &Payload::chr("rolled-back-password"),
                now(),
            )
            .unwrap();
        t.rollback().unwrap();
        let (secrets, _) = secrets_of(&t);
        assert_eq!(secrets, [CLIENT_SECRET, SERVER_SECRET]);
    }
    // The orphan of the rolled-back write goes at the next open; the host's
    // own key stays.
    let t = Tree::open(&db, cfg(), now()).unwrap();
    let keys = store.keys().unwrap();
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert!(keys.contains(&"the-hosts-own-key".to_string()));
    assert!(
        store
            .0
            .lock()
            .unwrap()
            .values()
            .all(|v| v != b"rolled-back-password"),
        "orphan removed"
    );
    assert_eq!(secrets_of(&t).0, [CLIENT_SECRET, SERVER_SECRET]);
}

#[test]
fn a_tree_with_secrets_in_the_database_is_migrated_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dmsched.db");
    {
        let t = Tree::open(&db, config(), now()).unwrap();
        t.add_account(&account(), now()).unwrap();
    }
    // As an older build wrote it: the password in the row itself.
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        let n = c
            .execute(
                "UPDATE tree_nodes SET value = CAST(?1 AS BLOB) WHERE uri LIKE '%/AAuthSecret'",
                [CLIENT_SECRET],
            )
            .unwrap();
        assert_eq!(n, 2);
    }
    assert!(contains(&db_bytes(&db), CLIENT_SECRET.as_bytes()));
    {
        let t = Tree::open(&db, config(), now()).unwrap();
        assert_eq!(secrets_of(&t).0, [CLIENT_SECRET, CLIENT_SECRET]);
    }
    assert!(
        !contains(&db_bytes(&db), CLIENT_SECRET.as_bytes()),
        "moved to the secret store, freed pages zeroed"
    );
    let t = Tree::open(&db, config(), now()).unwrap();
    assert_eq!(secrets_of(&t).0, [CLIENT_SECRET, CLIENT_SECRET]);
}

/// A full-client agent given the host's store keeps its accounts' secrets
/// there and writes no secret file of its own.
#[test]
fn an_agent_keeps_secrets_in_the_hosts_store() {
    use dmsched::agent::{Agent, AgentConfig, AgentHost};
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(HostStore::default());
    let cfg = AgentConfig {
        secrets: Some(store.clone()),
        ..AgentConfig::new(dir.path(), config().device)
    };
    let a = Agent::open(cfg, AgentHost::default(), now()).unwrap();
    a.provision(
        &format!(
            r#"{{"server_id": "srv-a", "server_url": "https://dm.example/", "client": {{"auth": "DIGEST", "name": "dev", "secret": "{CLIENT_SECRET}", "nonce": "YzA="}}, "server": {{"auth": "DIGEST", "secret": "{SERVER_SECRET}", "nonce": "czA="}}}}"#
        ),
        None,
        None,
        now(),
    )
    .unwrap();
    let held: Vec<Vec<u8>> = store.0.lock().unwrap().values().cloned().collect();
    assert!(held.iter().any(|v| v == CLIENT_SECRET.as_bytes()));
    assert!(held.iter().any(|v| v == SERVER_SECRET.as_bytes()));
    assert!(!dir.path().join("dmsched.db.secrets").exists());
    assert!(!contains(
        &db_bytes(&dir.path().join("dmsched.db")),
        CLIENT_SECRET.as_bytes()
    ));
}

/// A tree that kept its secrets in the default file, opened later with a
/// host store (an app update that adds Keystore/Keychain): the values move
/// into the host's store and the file goes. A crash after some values were
/// put (the file still there, the store holding part of it) is finished at
/// the next open, nothing lost.
#[test]
fn secrets_of_the_default_file_move_to_a_host_store_given_later() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dmsched.db");
    let file = dir.path().join("dmsched.db.secrets");
    {
        let t = Tree::open(&db, config(), now()).unwrap();
        t.add_account(&account(), now()).unwrap();
    }
    let before = std::fs::read(&file).unwrap();
    let store = Arc::new(HostStore::default());
    store.put("the-hosts-own-key", b"kept").unwrap();
    let cfg = || TreeConfig {
        secrets: Some(store.clone()),
        ..config()
    };
    // The crash: one value already moved, the file not yet removed.
    let map: BTreeMap<String, String> = serde_json::from_slice(&before).unwrap();
    let (k, v) = map.iter().next().unwrap();
    use base64::Engine as _;
    let v = base64::engine::general_purpose::STANDARD.decode(v).unwrap();
    store.put(k, &v).unwrap();
    {
        let t = Tree::open(&db, cfg(), now()).unwrap();
        assert_eq!(secrets_of(&t).0, [CLIENT_SECRET, SERVER_SECRET]);
        assert_eq!(secrets_of(&t).1, [NONCE.to_vec(), NONCE.to_vec()]);
    }
    assert!(!file.exists(), "the default file is gone once moved");
    assert_eq!(
        store.keys().unwrap().len(),
        5,
        "4 secret leaves + the host's"
    );
    let t = Tree::open(&db, cfg(), now()).unwrap();
    assert_eq!(secrets_of(&t).0, [CLIENT_SECRET, SERVER_SECRET]);
}
