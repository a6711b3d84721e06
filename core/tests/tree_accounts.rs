//! DM server accounts in `./DMAcc` (OMA DM StdObj 1.2 §5.3): isolation
//! between servers, write-only secrets, and the typed account API the DM
//! session authenticates with.

use dmsched::tree::{
    Account, AppAddr, AppAuth, AuthLevel, AuthType, DeviceInfo, Payload, Tree, TreeConfig,
    TreeError,
};
use jiff::Timestamp;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn now() -> Timestamp {
    ts("2026-03-01T12:00:00Z")
}

fn status<T: std::fmt::Debug>(r: Result<T, TreeError>) -> u16 {
    r.unwrap_err().status()
}

fn account(node: &str, server: &str, secret: &str) -> Account {
    Account {
        node: node.into(),
        server_id: server.into(),
        name: Some(format!("{server} server")),
        pref_con_ref: None,
        addrs: vec![AppAddr {
            addr: format!("https://{server}.example.com/dm"),
            addr_type: "URI".into(),
        }],
        auths: vec![
            AppAuth {
                level: AuthLevel::Client,
                auth_type: AuthType::Digest,
                name: Some("device-user".into()),
                secret: Some(secret.into()),
                nonce: Some(b"client-nonce".to_vec()),
            },
            AppAuth {
                level: AuthLevel::Server,
                auth_type: AuthType::Digest,
                name: Some(server.into()),
                secret: Some(format!("{secret}-srv")),
                nonce: None,
            },
        ],
        allow_unauthenticated_server: false,
    }
}

fn tree() -> Tree {
    let t = Tree::open_in_memory(TreeConfig::new(DeviceInfo::default()), now()).unwrap();
    t.add_account(&account("acc1", "srv1", "s3cret-one"), now())
        .unwrap();
    t.add_account(&account("acc2", "srv2", "s3cret-two"), now())
        .unwrap();
    t
}

/// StdObj 1.2 DMAcc: a provisioned account has the standard nodes, and
/// `AppID` is `w7`.
#[test]
fn provisioned_accounts_have_the_standard_nodes() {
    let t = tree();
    let g = |u: &str| t.get("srv1", u).unwrap()[0].text();
    assert_eq!(g("./DMAcc/acc1/AppID"), "w7");
    assert_eq!(g("./DMAcc/acc1/ServerID"), "srv1");
    assert_eq!(
        g("./DMAcc/acc1/AppAddr/1/Addr"),
        "https://srv1.example.com/dm"
    );
    assert_eq!(g("./DMAcc/acc1/AppAuth"), "CLCRED/SRVCRED");
    assert_eq!(g("./DMAcc/acc1/AppAuth/CLCRED/AAuthType"), "DIGEST");
    assert_eq!(g("./DMAcc/acc1?prop=ACL"), "Get=srv1&Replace=srv1");
    assert_eq!(
        status(t.add_account(&account("acc3", "srv1", "x"), now())),
        418
    );
    assert_eq!(
        status(t.add_account(&account("acc1", "srv3", "x"), now())),
        418
    );
    assert_eq!(
        status(t.add_account(&account("acc3", "bad id", "x"), now())),
        400
    );
}

/// StdObj 1.2 DMAcc ACLs: one server cannot read or change another
/// server's account, nor create accounts.
#[test]
fn a_server_cannot_read_or_change_another_servers_account() {
    let t = tree();
    assert_eq!(status(t.get("srv2", "./DMAcc/acc1/ServerID")), 425);
    assert_eq!(status(t.get("srv2", "./DMAcc/acc1")), 425);
    assert_eq!(
        status(t.get("srv2", "./DMAcc/acc1/AppAuth/CLCRED/AAuthName")),
        425
    );
    let p = Payload::chr("stolen");
    assert_eq!(
        status(t.replace("srv2", "./DMAcc/acc1/AppAuth/CLCRED/AAuthSecret", &p, now())),
        425
    );
    assert_eq!(
        status(t.replace("srv2", "./DMAcc/acc1/AppAddr/1/Addr", &p, now())),
        425
    );
    assert_eq!(status(t.delete("srv2", "./DMAcc/acc1", now())), 425);
    assert_eq!(
        status(t.replace(
            "srv2",
            "./DMAcc/acc1?prop=ACL",
            &Payload::chr("Get=*"),
            now()
        )),
        425
    );
    assert_eq!(
        status(t.add("srv2", "./DMAcc/evil", &Payload::interior(), now())),
        425
    );
    let listing = t.get("srv2", "./DMAcc?list=Struct").unwrap();
    assert!(
        listing.iter().all(|i| !i.uri.starts_with("./DMAcc/acc1")),
        "{listing:?}"
    );
    assert!(listing.iter().any(|i| i.uri == "./DMAcc/acc2/ServerID"));
    // Nor can the owner change what identifies the account.
    assert_eq!(
        status(t.replace(
            "srv1",
            "./DMAcc/acc1/ServerID",
            &Payload::chr("srv2"),
            now()
        )),
        405
    );
    // The owner controls its own account's ACL (TND 1.2.1 §7.7.1.3: an
    // interior node's ACL is changed with Replace on the node).
    t.replace(
        "srv1",
        "./DMAcc/acc1?prop=ACL",
        &Payload::chr("Get=srv1&Replace=srv1+srv9"),
        now(),
    )
    .unwrap();
    assert_eq!(
        status(t.get("srv9", "./DMAcc/acc1/AppAuth/CLCRED/AAuthSecret")),
        425
    );
    assert_eq!(
        status(t.get("srv1", "./DMAcc/acc1/AppAuth/CLCRED/AAuthSecret")),
        405
    );
    assert_eq!(
        t.account("srv1").unwrap().unwrap().addrs[0].addr,
        "https://srv1.example.com/dm"
    );
}

/// StdObj 1.2 DMAcc AAuthSecret / AAuthData: write-only. Get is 405 for
/// every server, the owner and the device included; listings and Size do
/// not reveal them either.
#[test]
fn aauth_secret_is_never_returned() {
    let t = tree();
    for uri in [
        "./DMAcc/acc1/AppAuth/CLCRED/AAuthSecret",
        "./DMAcc/acc1/AppAuth/CLCRED/AAuthData",
    ] {
        assert_eq!(status(t.get("srv1", uri)), 405, "{uri}");
        assert_eq!(status(t.device().get(uri)), 405, "{uri}");
        assert_eq!(
            status(t.get("srv1", &format!("{uri}?prop=Size"))),
            405,
            "{uri}"
        );
        assert_eq!(status(t.copy("srv1", "./Leak", uri, now())), 405, "{uri}");
    }
    let listing = t.get("srv1", "./DMAcc/acc1?list=StructData").unwrap();
    let secret = listing
        .iter()
        .find(|i| i.uri.ends_with("CLCRED/AAuthSecret"))
        .expect("listed");
    assert_eq!(secret.data, None);
    let all: Vec<u8> = listing
        .iter()
        .flat_map(|i| i.data.clone().unwrap_or_default())
        .collect();
    assert!(!String::from_utf8_lossy(&all).contains("s3cret"));
    let whole = t.device().get(".?list=StructData").unwrap();
    assert!(whole.iter().all(|i| !i.text().contains("s3cret")));
    // The owner may still set a new secret, and the session sees it.
    t.replace(
        "srv1",
        "./DMAcc/acc1/AppAuth/CLCRED/AAuthSecret",
        &Payload::chr("new-one"),
        now(),
    )
    .unwrap();
    assert_eq!(
        t.account("srv1").unwrap().unwrap().auths[0]
            .secret
            .as_deref(),
        Some("new-one")
    );
    // Values outside the description's list are refused.
    let e = t.replace(
        "srv1",
        "./DMAcc/acc1/AppAuth/CLCRED/AAuthType",
        &Payload::chr("PLAIN"),
        now(),
    );
    assert_eq!(status(e), 400);
}

/// The DM session reads an account with its secrets and stores the next
/// nonce per direction; `Debug` never prints secrets.
#[test]
fn account_api_returns_secrets_and_stores_nonces() {
    let t = tree();
    let a = t.account("srv1").unwrap().unwrap();
    assert_eq!(a.node, "acc1");
    assert_eq!(a.name.as_deref(), Some("srv1 server"));
    let cl = a
        .auths
        .iter()
        .find(|x| x.level == AuthLevel::Client)
        .unwrap();
    assert_eq!(cl.secret.as_deref(), Some("s3cret-one"));
    assert_eq!(cl.nonce.as_deref(), Some(&b"client-nonce"[..]));
    assert!(!format!("{a:?}").contains("s3cret"));
    assert!(!format!("{a:?}").contains("client-nonce"));
    assert!(t.account("nobody").unwrap().is_none());

    t.set_account_nonce("srv1", AuthLevel::Server, &[0, 1, 2, 255], now())
        .unwrap();
    t.set_account_nonce("srv1", AuthLevel::Client, b"next", now())
        .unwrap();
    let a = t.account("srv1").unwrap().unwrap();
    let nonce = |l| a.auths.iter().find(|x| x.level == l).unwrap().nonce.clone();
    assert_eq!(
        nonce(AuthLevel::Server).as_deref(),
        Some(&[0u8, 1, 2, 255][..])
    );
    assert_eq!(nonce(AuthLevel::Client).as_deref(), Some(&b"next"[..]));
    assert_eq!(
        t.account("srv2").unwrap().unwrap().auths[0]
            .nonce
            .as_deref(),
        Some(&b"client-nonce"[..])
    );
    assert_eq!(
        status(t.set_account_nonce("nobody", AuthLevel::Client, b"x", now())),
        404
    );

    let mut one_level = account("acc3", "srv3", "x");
    one_level.auths.truncate(1);
    one_level.allow_unauthenticated_server = true;
    t.add_account(&one_level, now()).unwrap();
    assert_eq!(
        status(t.set_account_nonce("srv3", AuthLevel::Server, b"x", now())),
        404
    );
    t.remove_account("srv3", now()).unwrap();
    assert!(t.account("srv3").unwrap().is_none());
    assert_eq!(status(t.get("srv3", "./DMAcc/acc3")), 404);
}

/// 6.1.1.2.1 (the client MUST authenticate the server): an account without
/// a server credential (SRVCRED) is refused at provisioning unless it opts
/// out explicitly; the opt-out is a device-only leaf that the server can
/// read but neither create nor change; a credential and the opt-out
/// together are refused too.
#[test]
fn an_account_without_server_credential_needs_the_explicit_opt_out() {
    let t = tree();
    let mut no_srvcred = account("acc3", "srv3", "x");
    no_srvcred.auths.truncate(1);
    let e = t.add_account(&no_srvcred, now()).unwrap_err();
    assert_eq!(e.status(), 400);
    let text = e.to_string();
    assert!(
        text.contains("no server credential") && text.contains("allow_unauthenticated_server"),
        "{text}"
    );
    assert!(t.account("srv3").unwrap().is_none(), "nothing stored");

    let mut both = account("acc4", "srv4", "x");
    both.allow_unauthenticated_server = true;
    assert_eq!(status(t.add_account(&both, now())), 400);
    // A Basic server credential is replayable: not server authentication.
    let mut basic = account("acc5", "srv5", "x");
    basic.auths[1].auth_type = AuthType::Basic;
    assert_eq!(status(t.add_account(&basic, now())), 400);

    no_srvcred.allow_unauthenticated_server = true;
    t.add_account(&no_srvcred, now()).unwrap();
    let stored = t.account("srv3").unwrap().unwrap();
    assert!(stored.allow_unauthenticated_server);
    assert_eq!(
        t.get("srv3", "./DMAcc/acc3/Ext/AllowUnauthenticatedServer")
            .unwrap()[0]
            .text(),
        "true"
    );
    // The server may not lift or set the opt-out itself.
    assert_eq!(
        status(t.replace(
            "srv3",
            "./DMAcc/acc3/Ext/AllowUnauthenticatedServer",
            &Payload::leaf(dmsched::tree::Format::Bool, "false"),
            now()
        )),
        425
    );
    assert_eq!(
        status(t.add("srv1", "./DMAcc/acc1/Ext", &Payload::interior(), now())),
        425
    );
    assert_eq!(server_opts_out(&t), 404);
    assert!(
        !t.account("srv1")
            .unwrap()
            .unwrap()
            .allow_unauthenticated_server
    );
}

/// The HMAC replay defence's record (docs/dm-client.md): the session id in
/// which the stored server nonce authenticated a message is kept until a
/// new server nonce is stored; the server can read it but not change it,
/// and the `Ext` node it lives in gives the server no way to add the
/// opt-out.
#[test]
fn the_session_of_the_server_nonce_is_kept_until_a_new_nonce() {
    let t = tree();
    assert_eq!(t.account_nonce_use("srv1").unwrap(), None);
    t.set_account_nonce_use("srv1", 0x4a, now()).unwrap();
    t.set_account_nonce_use("srv1", 0x4b, now()).unwrap();
    assert_eq!(t.account_nonce_use("srv1").unwrap(), Some(0x4b));
    assert_eq!(
        t.get("srv1", "./DMAcc/acc1/Ext/ServerNonceUsedIn").unwrap()[0].text(),
        "004B"
    );
    assert_eq!(
        status(t.replace(
            "srv1",
            "./DMAcc/acc1/Ext/ServerNonceUsedIn",
            &Payload::chr("0000"),
            now()
        )),
        425
    );
    assert_eq!(server_opts_out(&t), 425);
    // The client nonce leaves it alone; a new server nonce clears it.
    t.set_account_nonce("srv1", AuthLevel::Client, b"c1", now())
        .unwrap();
    assert_eq!(t.account_nonce_use("srv1").unwrap(), Some(0x4b));
    t.set_account_nonce("srv1", AuthLevel::Server, b"s1", now())
        .unwrap();
    assert_eq!(t.account_nonce_use("srv1").unwrap(), None);
    assert_eq!(status(t.account_nonce_use("nobody")), 404);
}

/// srv1 tries to add the opt-out to its own account: the status.
fn server_opts_out(t: &Tree) -> u16 {
    let opt_out = Payload::leaf(dmsched::tree::Format::Bool, "true");
    status(t.add(
        "srv1",
        "./DMAcc/acc1/Ext/AllowUnauthenticatedServer",
        &opt_out,
        now(),
    ))
}
