//! `dmsched dm …`: SyncML DM messages and package #0 on the command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use dmsched::dm::auth::Nonce;
use dmsched::dm::notification::{self, Initiator, UiMode};
use dmsched::dm::syncml::{self, Encoding};

/// `dmsched dm` subcommands.
#[derive(Subcommand)]
pub enum DmCmd {
    /// Decode a message (XML or WBXML, sniffed) and print it as indented XML.
    Decode {
        /// The message file (`-` for stdin).
        file: PathBuf,
    },
    /// Encode an XML message as WBXML (or re-encode it as compact XML).
    Encode {
        /// The XML message file (`-` for stdin).
        file: PathBuf,
        /// Write WBXML (public id 0x1201, code pages 0 and 1).
        #[arg(long)]
        wbxml: bool,
        /// Output file (default stdout).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Parse a package #0 notification, verify its digest and print its fields.
    Pkg0 {
        /// The notification file (binary).
        file: PathBuf,
        /// The server id the digest must be made for.
        #[arg(long)]
        server_id: String,
        /// The server password (SRVCRED AAuthSecret).
        #[arg(long)]
        password: String,
        /// The current server nonce, base64 (default: only the resync nonces).
        #[arg(long)]
        nonce: Option<String>,
    },
}

fn read(file: &PathBuf) -> Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut b)?;
        return Ok(b);
    }
    std::fs::read(file).with_context(|| format!("reading {}", file.display()))
}

/// Runs a `dmsched dm` subcommand.
pub fn run(cmd: DmCmd) -> Result<ExitCode> {
    match cmd {
        DmCmd::Decode { file } => {
            let bytes = read(&file)?;
            let msg = syncml::decode(&bytes)
                .map_err(|e| anyhow::anyhow!("{}: status {}: {e}", file.display(), e.status()))?;
            println!("{}", syncml::to_pretty_xml(&msg)?);
            Ok(ExitCode::SUCCESS)
        }
        DmCmd::Encode {
            file,
            wbxml,
            output,
        } => {
            let bytes = read(&file)?;
            let msg = syncml::decode_with(&bytes, Some(Encoding::Xml), &syncml::Limits::default())
                .map_err(|e| anyhow::anyhow!("{}: status {}: {e}", file.display(), e.status()))?;
            let out = syncml::encode(
                &msg,
                if wbxml {
                    Encoding::Wbxml
                } else {
                    Encoding::Xml
                },
            )?;
            match output {
                Some(p) => {
                    std::fs::write(&p, &out).with_context(|| format!("writing {}", p.display()))?
                }
                None => std::io::stdout().write_all(&out)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        DmCmd::Pkg0 {
            file,
            server_id,
            password,
            nonce,
        } => {
            let bytes = read(&file)?;
            let nonce = match nonce {
                Some(n) => Nonce::from_b64(&n).context("--nonce")?,
                None => Nonce::new(notification::RESYNC_NONCE_BYTES.to_vec()),
            };
            let (digest, n, _) = notification::Notification::parse(&bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            println!("version:     {}.{}", n.version / 10, n.version % 10);
            println!(
                "ui-mode:     {}",
                match n.ui_mode {
                    UiMode::NotSpecified => "not specified",
                    UiMode::Background => "background",
                    UiMode::Informative => "informative",
                    UiMode::UserInteraction => "user interaction",
                }
            );
            println!(
                "initiator:   {}",
                match n.initiator {
                    Initiator::Server => "server",
                    Initiator::Client => "client",
                }
            );
            println!(
                "session id:  {} (0x{:04x})",
                n.session_id_hex(),
                n.session_id
            );
            println!("server id:   {}", n.server_id);
            println!("vendor data: {} bytes", n.vendor.len());
            println!("digest:      {}", hex(&digest));
            if n.server_id != server_id {
                println!(
                    "verified:    no (made for server {}, not {server_id})",
                    n.server_id
                );
                return Ok(ExitCode::from(1));
            }
            match notification::verify(&bytes, &password, nonce.as_bytes()) {
                Ok(v) if v.used_resync_nonce => {
                    println!("verified:    yes, with the resync nonce");
                    Ok(ExitCode::SUCCESS)
                }
                Ok(_) => {
                    println!("verified:    yes");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("verified:    no ({e})");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
