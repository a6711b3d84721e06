//! `dm-server`: the test DM server as a program.
//!
//! ```text
//! dm-server --accounts accounts.json --script script.json \
//!     --tls-self-signed ./pki --log records.jsonl \
//!     --trigger-device IMEI:1 --trigger-out pkg0.bin
//! listening on https://localhost:8443/dm
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use dmsched_dm_server::{
    Script, ServerConfig, TlsIdentity, UiMode, load_accounts, start, try_test_pki,
};

/// A small OMA DM 1.2 server for end-to-end tests of DM clients.
#[derive(Parser, Debug)]
#[command(name = "dm-server", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Accounts file: a JSON list of accounts (nonces base64); updated
    /// nonces are written back to it.
    #[arg(long)]
    accounts: PathBuf,
    /// Script file: {"steps": [[command, …], …]}. Without it the server
    /// only authenticates and ends each session after package 1.
    #[arg(long)]
    script: Option<PathBuf>,
    /// Server certificate chain (PEM) for HTTPS.
    #[arg(long, requires = "tls_key", conflicts_with = "tls_self_signed")]
    tls_cert: Option<PathBuf>,
    /// Server private key (PEM) for HTTPS.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Make a test CA and server certificate, write ca.pem, cert.pem and
    /// key.pem into DIR, and serve HTTPS with them.
    #[arg(long, value_name = "DIR")]
    tls_self_signed: Option<PathBuf>,
    /// Append records as JSON lines to this file.
    #[arg(long)]
    log: Option<PathBuf>,
    /// Write a package #0 for --trigger-device to this file at start.
    #[arg(long, requires = "trigger_device")]
    trigger_out: Option<PathBuf>,
    /// The device the package #0 is for.
    #[arg(long, requires = "trigger_out")]
    trigger_device: Option<String>,
    /// UI mode of the package #0: 0 unspecified, 1 background, 2 informative,
    /// 3 user interaction.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=3))]
    trigger_ui_mode: u8,
    /// The server's MaxMsgSize (advertised; also the size of its own
    /// messages when the device states none).
    #[arg(long, default_value_t = 64 * 1024)]
    max_msg_size: usize,
    /// The server's MaxObjSize.
    #[arg(long, default_value_t = 1024 * 1024)]
    max_obj_size: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let accounts = load_accounts(&args.accounts)?;
    let script = match &args.script {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading script {}", p.display()))?;
            Script::from_json(&text).with_context(|| format!("parsing script {}", p.display()))?
        }
        None => Script::default(),
    };
    let mut config = ServerConfig::new(accounts, script);
    config.listen = args.listen;
    config.accounts_file = Some(args.accounts.clone());
    config.log_file = args.log.clone();
    config.max_msg_size = args.max_msg_size;
    config.max_obj_size = args.max_obj_size;
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config.tls = Some(TlsIdentity {
            cert_pem: std::fs::read_to_string(cert)
                .with_context(|| format!("reading {}", cert.display()))?,
            key_pem: std::fs::read_to_string(key)
                .with_context(|| format!("reading {}", key.display()))?,
        });
    }
    if let Some(dir) = &args.tls_self_signed {
        let pki = try_test_pki(&["localhost", "127.0.0.1", "::1"])?;
        pki.write_to(dir)?;
        eprintln!("test CA written to {}", dir.join("ca.pem").display());
        config.tls = Some(pki.identity());
    }
    let server = start(config).await?;
    if let (Some(out), Some(device)) = (&args.trigger_out, &args.trigger_device) {
        let ui = UiMode::from_bits(args.trigger_ui_mode);
        let bytes = server.trigger(device, ui)?;
        std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("package #0 for {device} written to {}", out.display());
    }
    println!("listening on {}", server.url());
    // Serve until the process is stopped; every nonce change is already on
    // disk, so nothing is lost when it is.
    std::future::pending::<()>().await;
    drop(server);
    Ok(())
}
