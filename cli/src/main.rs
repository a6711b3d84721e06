//! `dmsched`: validate schedule documents, simulate them on a simulated
//! clock, inspect a device's store.

mod client;
mod demo;
mod device;
mod dm;
mod fleet;
mod simulate;
mod svg;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use dmsched::store::Store;
use dmsched::{Engine, EngineConfig};
use jiff::Timestamp;

#[derive(Parser)]
#[command(
    name = "dmsched",
    version,
    about = "Device-side OMA DM Scheduling: validate, simulate, inspect"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Check a schedule document (or an array of them). Exit 0 if valid
    /// (warnings, `warning: JSON-path: message`, on stderr); else exit 1
    /// with every problem, one `JSON-path: message` line each (and a caret
    /// line under the part of a string it is about) on stderr.
    Validate {
        /// The JSON file.
        file: PathBuf,
        /// Smallest allowed interval between occurrences, seconds.
        #[arg(long)]
        min_interval: Option<u64>,
    },
    /// The next instants of each task's time trigger, in local time and
    /// UTC, with the rule in canonical form and DST adjustments named
    /// (like `systemd-analyze calendar --iterations=N`, per schedule).
    Next {
        /// JSON file with one schedule document or an array of them.
        file: PathBuf,
        /// Only this task (id).
        #[arg(long)]
        task: Option<String>,
        /// How many instants per task.
        #[arg(short = 'n', long = "iterations", default_value_t = 10)]
        n: usize,
        /// From this instant (RFC 3339; default: now). Also taken as the
        /// acceptance instant (the default anchor and start).
        #[arg(long)]
        from: Option<Timestamp>,
        /// The device's zone, which `"local"` means.
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        /// Local times only (no UTC column).
        #[arg(long)]
        local: bool,
        /// One JSON object per task instead of text.
        #[arg(long)]
        json: bool,
        /// Smallest allowed interval between occurrences, seconds.
        #[arg(long)]
        min_interval: Option<u64>,
    },
    /// Run schedules through the real engine on a simulated clock.
    Simulate {
        /// JSON file with one schedule document or an array of them.
        file: PathBuf,
        /// Start of the simulation (RFC 3339).
        #[arg(long)]
        from: Timestamp,
        /// End of the simulation (RFC 3339).
        #[arg(long)]
        until: Timestamp,
        /// JSONL trace: {"at", "event", "fields"} | {"at", "set": {uri: value}} | {"at", "off_until"} | {"at", "time_zone"}.
        #[arg(long)]
        events: Option<PathBuf>,
        /// JSON object of initial tree values, {"./uri": value}.
        #[arg(long)]
        tree: Option<PathBuf>,
        /// Device id (seeds the jitter).
        #[arg(long, default_value = "device-1")]
        device_id: String,
        /// Server id owning the schedules.
        #[arg(long, default_value = "server")]
        owner: String,
        /// The device's time zone (for `local`).
        #[arg(long, default_value = "UTC")]
        time_zone: String,
        /// Smallest allowed interval between occurrences, seconds.
        #[arg(long)]
        min_interval: Option<u64>,
        /// One JSON object per occurrence per line instead of a table.
        #[arg(long)]
        json: bool,
        /// Also write a timeline picture (with --fleet: the per-minute histogram).
        #[arg(long)]
        svg: Option<PathBuf>,
        /// Forecast the load on the server for this many devices instead:
        /// runs and report sessions per minute, peak, p99, busiest window.
        #[arg(long)]
        fleet: Option<usize>,
        /// The picture's time axis in --time-zone instead of UTC.
        #[arg(long)]
        local: bool,
        /// With --fleet: the device ids, one per line (default device-0 …).
        #[arg(long, requires = "fleet")]
        device_ids: Option<PathBuf>,
    },
    /// The end-to-end demo: a DM server installs a schedule on a device over HTTPS, the device runs it offline and reports.
    Demo(demo::DemoArgs),
    /// A device in full-client mode, one step per invocation (provision, session, run, status).
    Device(device::DeviceArgs),
    /// Run one DM session (full-client mode) against a server.
    Client(client::ClientArgs),
    /// SyncML DM messages and package #0: decode, encode, verify.
    Dm {
        #[command(subcommand)]
        cmd: dm::DmCmd,
    },
    /// Show the schedules, owners, states, next runs and last outcomes in a store (read only).
    Inspect {
        /// The store file.
        db: PathBuf,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dmsched: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn config(min_interval: Option<u64>) -> EngineConfig {
    let mut cfg = EngineConfig::default();
    if let Some(m) = min_interval {
        cfg.limits.min_interval_seconds = m;
    }
    cfg
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.cmd {
        Cmd::Dm { cmd } => dm::run(cmd),
        Cmd::Client(args) => client::run(args),
        Cmd::Demo(args) => demo::run(args),
        Cmd::Device(args) => device::run(args),
        Cmd::Validate { file, min_interval } => {
            let cfg = config(min_interval);
            let docs = simulate::read_documents(&file)?;
            let many = docs.len() > 1;
            let mut bad = false;
            let mut ids = Vec::new();
            for (i, doc) in docs.iter().enumerate() {
                match dmsched::engine::check_document(doc, &cfg.limits, Timestamp::UNIX_EPOCH) {
                    Ok(s) => {
                        // Allowed, but almost surely a mistake: printed,
                        // and the exit status stays 0.
                        for w in dmsched::engine::lint_document(&s) {
                            let path = if many {
                                w.path.replacen('$', &format!("$[{i}]"), 1)
                            } else {
                                w.path
                            };
                            eprintln!("warning: {path}: {}", w.message);
                        }
                        ids.push(s.id)
                    }
                    Err(problems) => {
                        bad = true;
                        let value: Option<serde_json::Value> = serde_json::from_str(doc).ok();
                        for p in problems {
                            let path = if many {
                                p.path.replacen('$', &format!("$[{i}]"), 1)
                            } else {
                                p.path.clone()
                            };
                            eprintln!("{path}: {}", p.message);
                            // A caret under the part of the string it is about.
                            let text = value
                                .as_ref()
                                .and_then(|v| dmsched::model::diagnose::value_at(v, &p.path))
                                .and_then(|v| v.as_str());
                            if let (Some(text), Some(span)) = (text, p.span)
                                && let Some(c) = dmsched::model::diagnose::caret(text, span)
                            {
                                for line in c.lines() {
                                    eprintln!("    {line}");
                                }
                            }
                        }
                    }
                }
            }
            if bad {
                return Ok(ExitCode::from(1));
            }
            println!("valid: {}", ids.join(", "));
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Next {
            file,
            task,
            n,
            from,
            time_zone,
            local,
            json,
            min_interval,
        } => {
            let cfg = config(min_interval);
            let from = from.unwrap_or_else(Timestamp::now);
            let device =
                dmsched::when::zone(&time_zone).map_err(|e| anyhow::anyhow!("--time-zone: {e}"))?;
            let mut out = std::io::stdout().lock();
            let mut bad = false;
            for doc in simulate::read_documents(&file)? {
                let tasks =
                    match dmsched::engine::preview(&doc, &cfg.limits, from, from, None, n, &device)
                    {
                        Ok(t) => t,
                        Err(problems) => {
                            bad = true;
                            for p in problems {
                                eprintln!("{p}");
                            }
                            continue;
                        }
                    };
                for t in tasks
                    .iter()
                    .filter(|t| task.as_ref().is_none_or(|id| *id == t.task))
                {
                    if json {
                        writeln!(out, "{}", serde_json::to_string(t)?)?;
                    } else {
                        print_preview(&mut out, t, local)?;
                    }
                }
            }
            Ok(if bad {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Cmd::Simulate {
            file,
            from,
            until,
            events,
            tree,
            device_id,
            owner,
            time_zone,
            min_interval,
            json,
            svg,
            fleet,
            device_ids,
            local: local_axis,
        } => {
            let mut cfg = config(min_interval);
            let device_zone =
                dmsched::when::zone(&time_zone).map_err(|e| anyhow::anyhow!("--time-zone: {e}"))?;
            if let Some(n) = fleet {
                if events.is_some() || tree.is_some() {
                    anyhow::bail!(
                        "--fleet forecasts time triggers: --events and --tree do not apply"
                    );
                }
                let device = dmsched::when::zone(&time_zone)
                    .map_err(|e| anyhow::anyhow!("--time-zone: {e}"))?;
                let ids = fleet::device_ids(n, device_ids.as_deref())?;
                let docs = simulate::read_documents(&file)?;
                let f = fleet::forecast(&docs, &owner, &ids, from, until, &device, &cfg)?;
                let mut out = std::io::stdout().lock();
                if json {
                    writeln!(out, "{}", serde_json::to_string(&f)?)?;
                } else {
                    fleet::print(&mut out, &f)?;
                }
                if let Some(path) = svg {
                    std::fs::write(&path, fleet::svg(&f))
                        .with_context(|| format!("writing {}", path.display()))?;
                }
                return Ok(ExitCode::SUCCESS);
            }
            cfg.time_zone = time_zone;
            let (rows, mut marks) = simulate::simulate_marked(simulate::SimOptions {
                schedules: &file,
                from,
                until,
                events: events.as_deref(),
                tree: tree.as_deref(),
                device_id,
                owner,
                config: cfg,
            })?;
            let mut out = std::io::stdout().lock();
            if json {
                for r in &rows {
                    writeln!(out, "{}", serde_json::to_string(r)?)?;
                }
            } else {
                print_table(&mut out, &rows)?;
            }
            if let Some(path) = svg {
                if local_axis {
                    marks.zone = Some(device_zone.clone());
                }
                std::fs::write(&path, svg::render(&rows, from, until, &marks))
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Inspect { db, json } => {
            if !db.exists() {
                anyhow::bail!("{} does not exist", db.display());
            }
            let store = Store::open_read_only(&db)?;
            let ins = Engine::inspect(store, EngineConfig::default())?;
            let mut out = std::io::stdout().lock();
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&ins)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            writeln!(
                out,
                "{} schedules, {} interrupted firings, {} reports in the outbox, last seen {}",
                ins.schedules.len(),
                ins.in_flight,
                ins.outbox,
                ins.last_now
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "never".into())
            )?;
            for s in &ins.schedules {
                writeln!(
                    out,
                    "\n{}/{}  {}{}",
                    s.owner,
                    s.id,
                    s.state.as_str(),
                    s.reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                )?;
                for t in &s.tasks {
                    writeln!(
                        out,
                        "  {:<16} {:<12} runs {:<4} next {:<22} last {}{}",
                        t.id,
                        t.trigger,
                        t.runs,
                        t.next_run
                            .map(|x| x.to_string())
                            .unwrap_or_else(|| "-".into()),
                        t.last_outcome.map(|o| o.as_str()).unwrap_or("-"),
                        t.waiting
                            .as_deref()
                            .or(t.ended.as_deref())
                            .map(|w| format!("  [{w}]"))
                            .unwrap_or_default()
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_preview(
    out: &mut impl Write,
    t: &dmsched::engine::TaskPreview,
    local_only: bool,
) -> Result<()> {
    writeln!(out, "{}/{}", t.schedule, t.task)?;
    writeln!(out, "  rule  {}", t.rule)?;
    for n in &t.notes {
        writeln!(out, "  note  {n}")?;
    }
    if t.next.is_empty() {
        writeln!(out, "  (no instants: not triggered by time, or none left)")?;
    } else if local_only {
        writeln!(out, "  LOCAL ({})", t.zone)?;
    } else {
        writeln!(out, "  {:<26} UTC", format!("LOCAL ({})", t.zone))?;
    }
    for i in &t.next {
        let dst = i
            .dst
            .as_deref()
            .map(|d| format!("  [{d}]"))
            .unwrap_or_default();
        if local_only {
            writeln!(out, "  {}{dst}", i.local)?;
        } else {
            let line = format!("  {:<26} {:<21}{dst}", i.local, i.at.to_string());
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    writeln!(out)?;
    Ok(())
}

fn print_table(out: &mut impl Write, rows: &[simulate::Row]) -> Result<()> {
    writeln!(
        out,
        "{:<26} {:<21} {:<26} {:<30} {:<9} REASON",
        "DUE (local)", "DUE (UTC)", "RUN AT (local)", "SCHEDULE/TASK", "OUTCOME"
    )?;
    for r in rows {
        let line = format!(
            "{:<26} {:<21} {:<26} {:<30} {:<9} {}",
            r.due_local,
            r.due.to_string(),
            r.run_at_local.as_deref().unwrap_or("-"),
            format!("{}/{}", r.schedule, r.task),
            r.outcome,
            r.reason.as_deref().unwrap_or("")
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    let count = |o: &str| rows.iter().filter(|r| r.outcome == o).count();
    writeln!(
        out,
        "\n{} occurrences: {} ran, {} failed, {} missed, {} skipped, {} deferred",
        rows.len(),
        count("ran"),
        count("failed"),
        count("missed"),
        count("skipped"),
        count("deferred")
    )?;
    Ok(())
}
