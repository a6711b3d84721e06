//! `dmsched client`: one full-client-mode DM session against a server,
//! with the tree and the client state in a directory.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use dmsched::dm::client::{AccountFile, Clock, DmClient, session_account};
use dmsched::dm::session::{SessionConfig, UiRequest, UiResponse, UserInteraction};
use dmsched::dm::state::ClientState;
use dmsched::dm::syncml::Encoding;
use dmsched::dm::transport::{HttpConfig, HttpTransport};
use dmsched::tree::{DeviceInfo, Tree, TreeConfig};

/// Arguments of `dmsched client`.
#[derive(clap::Args)]
pub struct ClientArgs {
    /// Directory holding the device's tree and state (`dmsched.db`), created if absent.
    #[arg(long)]
    state: PathBuf,
    /// The server URL (overrides the account file's `server_url` on provisioning).
    #[arg(long)]
    server: Option<String>,
    /// The account file (JSON; provisioned into ./DMAcc on first use).
    #[arg(long)]
    account: PathBuf,
    /// A package #0 file: run the server-initiated session it asks for.
    #[arg(long)]
    trigger: Option<PathBuf>,
    /// The device id (`./DevInfo/DevId`).
    #[arg(long, default_value = "IMEI:004999010640000")]
    dev_id: String,
    /// Answer user-interaction alerts on the terminal (default: decline them).
    #[arg(long)]
    interactive: bool,
}

/// Terminal user interface for server alerts.
struct Terminal;

impl UserInteraction for Terminal {
    fn interact(&self, r: &UiRequest) -> UiResponse {
        use dmsched::dm::session::UiKind;
        eprintln!("[{}] {}", r.server_id, r.text);
        let line = || {
            let mut s = String::new();
            std::io::stdin()
                .read_line(&mut s)
                .ok()
                .map(|_| s.trim().to_string())
        };
        match &r.kind {
            UiKind::Display => UiResponse::Yes,
            UiKind::Confirm => {
                eprint!("yes/no? ");
                match line().as_deref() {
                    Some("y" | "yes") => UiResponse::Yes,
                    Some("n" | "no") => UiResponse::No,
                    _ => UiResponse::Cancel,
                }
            }
            UiKind::TextInput { .. } => line().map(UiResponse::Text).unwrap_or(UiResponse::Cancel),
            UiKind::SingleChoice { choices } | UiKind::MultipleChoice { choices } => {
                for (i, c) in choices.iter().enumerate() {
                    eprintln!("  {}. {c}", i + 1);
                }
                let picked: Option<Vec<u32>> =
                    line().map(|l| l.split([',', ' ']).filter_map(|x| x.parse().ok()).collect());
                picked
                    .map(UiResponse::Choices)
                    .unwrap_or(UiResponse::Cancel)
            }
        }
    }
}

fn system_clock() -> Clock {
    // The CLI is the host: it owns the clock and hands it to the SDK.
    Arc::new(jiff::Timestamp::now)
}

/// Runs `dmsched client`.
pub fn run(args: ClientArgs) -> Result<ExitCode> {
    std::fs::create_dir_all(&args.state)
        .with_context(|| format!("creating {}", args.state.display()))?;
    let db = args.state.join("dmsched.db");
    let text = std::fs::read_to_string(&args.account)
        .with_context(|| format!("reading {}", args.account.display()))?;
    let mut file: AccountFile =
        serde_json::from_str(&text).with_context(|| format!("{}", args.account.display()))?;
    if let Some(url) = &args.server {
        file.server_url = url.clone();
    }
    let clock = system_clock();
    let device = DeviceInfo {
        dev_id: args.dev_id.clone(),
        man: "dmsched".into(),
        model: "dmsched-cli".into(),
        lang: "en-US".into(),
        dev_typ: "embedded".into(),
        oem: "dmsched".into(),
        fw_v: env!("CARGO_PKG_VERSION").into(),
        sw_v: env!("CARGO_PKG_VERSION").into(),
        hw_v: "host".into(),
        lrg_obj: true,
    };
    let tree = Arc::new(Tree::open(&db, TreeConfig::new(device), clock())?);
    if tree.account(&file.server_id)?.is_none() {
        tree.add_account(&file.to_tree_account()?, clock())?;
        eprintln!("provisioned account {} in {}", file.server_id, db.display());
    }
    let state = Arc::new(ClientState::open(&db)?);
    let mut cfg = SessionConfig::default();
    if let Some(e) = &file.encoding {
        cfg.encoding = match e.as_str() {
            "xml" => Encoding::Xml,
            "wbxml" => Encoding::Wbxml,
            other => bail!("encoding {other:?}: use xml or wbxml"),
        };
    }
    let client = DmClient::new(tree.clone(), state, clock, cfg);
    let mut http = HttpConfig {
        allow_plain_http: file.allow_plain_http,
        ..HttpConfig::default()
    };
    if let Some(ca) = &file.ca_pem {
        let p = resolve(&args.account, ca);
        http.extra_roots_pem
            .push(std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?);
    }
    let transport = HttpTransport::new(http)?;
    let accepted = match &args.trigger {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            Some(client.accept_notification(&bytes)?)
        }
        None => None,
    };
    let server_id = accepted
        .as_ref()
        .map(|a| a.notification().server_id.clone())
        .unwrap_or_else(|| file.server_id.clone());
    let url = session_account(&tree, &server_id)?.server_url;
    eprintln!("session with {server_id} at {url}");
    let ui = Terminal;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let summary = rt.block_on(client.run_session(
        &server_id,
        accepted.as_ref(),
        &transport,
        args.interactive.then_some(&ui as &dyn UserInteraction),
    ))?;
    println!(
        "session done: {} messages sent, {} received, {} commands answered{}",
        summary.sent,
        summary.received,
        summary.statuses.len(),
        if summary.aborted {
            ", aborted by the server"
        } else {
            ""
        }
    );
    for (cmd, code) in &summary.statuses {
        println!("  {cmd} {code}");
    }
    Ok(ExitCode::SUCCESS)
}

fn resolve(base: &Path, rel: &str) -> PathBuf {
    let p = Path::new(rel);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.parent().unwrap_or(Path::new(".")).join(p)
    }
}
