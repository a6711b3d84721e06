//! `dmsched device`: a device in full-client mode (`dmsched::agent::Agent`)
//! over a state directory, one step per invocation, so that it can be
//! stopped (even killed) and started again between steps.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Subcommand;
use dmsched::agent::{Agent, AgentConfig, AgentHost};
use dmsched::tree::DeviceInfo;
use jiff::Timestamp;

/// Arguments of `dmsched device`.
#[derive(clap::Args)]
pub struct DeviceArgs {
    /// The state directory (created if absent).
    #[arg(long)]
    state: PathBuf,
    /// The device id (`./DevInfo/DevId`).
    #[arg(long, default_value = "IMEI:004999010640000")]
    dev_id: String,
    /// Smallest interval between time-triggered runs, seconds.
    #[arg(long, default_value_t = 60)]
    min_interval: u64,
    #[command(subcommand)]
    step: DeviceStep,
}

/// One step.
#[derive(Subcommand)]
pub enum DeviceStep {
    /// Provision a DM account from a file (`ca_pem` relative to it).
    Provision {
        /// The account file.
        account: PathBuf,
    },
    /// Run one session with a server (server-initiated with `--trigger`).
    Session {
        /// The server id.
        server: String,
        /// A package #0 file.
        #[arg(long)]
        trigger: Option<PathBuf>,
    },
    /// Run the schedules for this many seconds of real time, ticking at
    /// each wake-up, printing every firing.
    Run {
        /// How long.
        #[arg(long)]
        seconds: u64,
    },
    /// Print the schedules (JSON).
    Status,
}

/// Runs `dmsched device`.
pub fn run(args: DeviceArgs) -> Result<ExitCode> {
    let device = DeviceInfo {
        dev_id: args.dev_id.clone(),
        man: "dmsched".into(),
        model: "dmsched-device".into(),
        lang: "en-US".into(),
        dev_typ: "embedded".into(),
        oem: "dmsched".into(),
        fw_v: env!("CARGO_PKG_VERSION").into(),
        sw_v: env!("CARGO_PKG_VERSION").into(),
        hw_v: "host".into(),
        lrg_obj: true,
    };
    let mut cfg = AgentConfig::new(&args.state, device);
    cfg.engine.limits.min_interval_seconds = args.min_interval;
    // This process is the host: it owns the clock and hands it in.
    let agent = Agent::open(cfg, AgentHost::default(), Timestamp::now())?;
    match args.step {
        DeviceStep::Provision { account } => {
            let text = std::fs::read_to_string(&account)
                .with_context(|| format!("reading {}", account.display()))?;
            let id = agent.provision(&text, None, account.parent(), Timestamp::now())?;
            println!("provisioned {id}");
        }
        DeviceStep::Session { server, trigger } => {
            let accepted = match trigger {
                Some(p) => {
                    let b =
                        std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
                    Some(agent.accept_notification(&b, Timestamp::now())?)
                }
                None => None,
            };
            let s = agent.run_session(&server, accepted.as_ref(), Timestamp::now())?;
            println!(
                "session done: {} sent, {} received, {} commands answered",
                s.sent,
                s.received,
                s.statuses.len()
            );
        }
        DeviceStep::Run { seconds } => {
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(seconds) {
                for f in agent.tick(Timestamp::now())? {
                    let outcome = serde_json::to_value(f.outcome)?;
                    println!(
                        "fired {}/{} #{} {}",
                        f.schedule,
                        f.task,
                        f.seq,
                        outcome.as_str().unwrap_or("")
                    );
                }
                // Reports of `report_delivery: immediate` tasks go at once.
                for d in agent.deliver_reports(Timestamp::now())? {
                    match (&d.error, d.retry_at) {
                        (None, _) => {
                            println!("delivered {} reports to {}", d.delivered, d.server_id)
                        }
                        (Some(e), Some(at)) => {
                            println!("delivery to {} failed ({e}); retry at {at}", d.server_id)
                        }
                        (Some(e), None) => println!("delivery to {} failed ({e})", d.server_id),
                    }
                }
                let sleep = agent
                    .next_wakeup()
                    .map(|w| {
                        w.duration_since(Timestamp::now())
                            .as_secs_f64()
                            .clamp(0.01, 0.25)
                    })
                    .unwrap_or(0.25);
                std::thread::sleep(Duration::from_secs_f64(sleep));
            }
        }
        DeviceStep::Status => {
            println!("{}", serde_json::to_string_pretty(&agent.schedules()?)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
