//! `dmsched simulate FILE --fleet N`: what a DM server will see when the
//! schedules run on N devices (issue 17). Each time-triggered occurrence
//! is computed once for the fleet (the engine's own calendar code, via
//! `engine::preview`); each device then delays it by its deterministic
//! jitter (`when::jitter_seconds`, the engine's function), waits for a
//! window as the engine does (the next opening within
//! `max_delay_seconds`, else missed; an occurrence still waiting when the
//! next one falls due is replaced), and reports per its policy. Counted
//! per minute: runs, and the sessions devices open to deliver
//! `report_delivery: immediate` reports. Constraints over tree values are
//! assumed to hold, and event-triggered tasks are not forecast (no trace):
//! both are said in the output. The brute-force check runs the real
//! engine per device (`cli` tests).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use dmsched::model::{ReportDelivery, ReportWhen, Schedule, Trigger};
use dmsched::when;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

/// What the server sees, minute by minute.
#[derive(Debug, Default, Serialize)]
pub struct Forecast {
    pub devices: usize,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Minute (Unix seconds / 60) → runs that start in it.
    pub runs: BTreeMap<i64, u64>,
    /// Minute → sessions devices open for immediate reports.
    pub sessions: BTreeMap<i64, u64>,
    /// Occurrences missed (window never open in time, or replaced).
    pub missed: u64,
    /// Reports that wait for the next session (not a load of their own).
    pub queued_reports: u64,
    /// Per task: (schedule/task, runs, first run, last run).
    pub tasks: Vec<TaskLoad>,
    /// What the forecast leaves out.
    pub notes: Vec<String>,
}

/// One task's share.
#[derive(Debug, Serialize)]
pub struct TaskLoad {
    pub task: String,
    pub runs: u64,
    pub missed: u64,
}

/// Device ids: one per line of `path`, else `device-0` … `device-{n-1}`.
pub fn device_ids(n: usize, path: Option<&Path>) -> Result<Vec<String>> {
    match path {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let ids: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            if ids.is_empty() {
                anyhow::bail!("{} holds no device id", p.display());
            }
            Ok(ids)
        }
        None => Ok((0..n).map(|i| format!("device-{i}")).collect()),
    }
}

/// Forecasts `docs` (owned by `owner`, accepted at `from`) on `devices`
/// over `[from, until)`; `device_tz` is what a `local` zone means.
pub fn forecast(
    docs: &[String],
    owner: &str,
    devices: &[String],
    from: Timestamp,
    until: Timestamp,
    device_tz: &TimeZone,
    cfg: &dmsched::EngineConfig,
) -> Result<Forecast> {
    let mut f = Forecast {
        devices: devices.len(),
        from: Some(from),
        until: Some(until),
        ..Forecast::default()
    };
    for json in docs {
        let previews = dmsched::engine::preview(
            json,
            &cfg.limits,
            from,
            from,
            Some(until),
            usize::MAX,
            device_tz,
        )
        .map_err(|p| {
            anyhow!(
                "invalid schedule: {}",
                p.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        })?;
        let doc: Schedule = serde_json::from_str(json)?;
        let jitter_name = format!("{owner}/{}", doc.id);
        let zone = match doc.tz.as_deref() {
            Some("local") => device_tz.clone(),
            Some(n) => when::zone(n).unwrap_or(TimeZone::UTC),
            None => TimeZone::UTC,
        };
        for (t, p) in doc.tasks.iter().zip(&previews) {
            let name = format!("{}/{}", doc.id, t.id);
            if !matches!(
                t.trigger,
                Trigger::At(_) | Trigger::Every(_) | Trigger::Calendar(_)
            ) {
                f.notes.push(format!("{name}: not forecast ({})", p.rule));
                continue;
            }
            if let Some(r) = &t.constraints.require {
                f.notes
                    .push(format!("{name}: assumes `{r}` holds on every device"));
            }
            let due: Vec<Timestamp> = p.next.iter().map(|i| i.at).collect();
            let windows = &t.constraints.windows;
            let max_delay = t.constraints.max_delay_seconds.unwrap_or(0);
            let report = |ok: bool| match t.policy.report {
                ReportWhen::Never => false,
                ReportWhen::OnFailure => !ok,
                ReportWhen::Always => true,
            };
            let immediate = t.policy.report_delivery == ReportDelivery::Immediate;
            let mut load = TaskLoad {
                task: name,
                runs: 0,
                missed: 0,
            };
            // Sessions: one per device and minute with an immediate report.
            let session = |f: &mut Forecast, last: &mut Option<i64>, at: Timestamp| {
                let m = minute(at);
                if *last != Some(m) {
                    *f.sessions.entry(m).or_default() += 1;
                    *last = Some(m);
                }
            };
            for dev in devices {
                let mut last_session = None;
                for (seq, d) in due.iter().enumerate() {
                    let jitter = when::jitter_seconds(
                        dev,
                        &jitter_name,
                        &t.id,
                        seq as u64,
                        t.policy.jitter_seconds,
                    );
                    let not_before = add(*d, u64::from(jitter));
                    let deadline = add(not_before, max_delay);
                    let run = match when::next_window_open(windows, &zone, not_before) {
                        Some(o) if o <= deadline => Some(o),
                        _ => None,
                    };
                    // Still waiting when the next occurrence falls due: replaced.
                    let next_due = due.get(seq + 1).copied();
                    let (at, ran) = match (run, next_due) {
                        (Some(r), Some(n)) if r >= n => (n, false),
                        (Some(r), _) if r < until => (r, true),
                        (Some(_), _) => continue,
                        (None, Some(n)) if n <= deadline => (n, false),
                        (None, _) if deadline < until => (deadline, false),
                        (None, _) => continue,
                    };
                    if ran {
                        load.runs += 1;
                        *f.runs.entry(minute(at)).or_default() += 1;
                    } else {
                        load.missed += 1;
                        f.missed += 1;
                    }
                    if report(ran) {
                        if immediate {
                            session(&mut f, &mut last_session, at);
                        } else {
                            f.queued_reports += 1;
                        }
                    }
                }
            }
            f.tasks.push(load);
        }
    }
    Ok(f)
}

fn add(t: Timestamp, secs: u64) -> Timestamp {
    t.checked_add(jiff::SignedDuration::from_secs(
        i64::try_from(secs).unwrap_or(i64::MAX),
    ))
    .unwrap_or(Timestamp::MAX)
}

/// The minute `t` falls in (Unix seconds / 60).
pub fn minute(t: Timestamp) -> i64 {
    t.as_second().div_euclid(60)
}

fn minute_text(m: i64) -> String {
    Timestamp::from_second(m * 60)
        .map(|t| t.strftime("%Y-%m-%dT%H:%MZ").to_string())
        .unwrap_or_default()
}

/// Peak (count, minute) and the 99th percentile of per-minute counts
/// over every minute of `[from, until)` (quiet minutes count as 0).
pub fn peak_p99(counts: &BTreeMap<i64, u64>, from: Timestamp, until: Timestamp) -> (u64, i64, u64) {
    let (first, last) = (
        minute(from),
        minute(
            until
                .checked_sub(jiff::SignedDuration::from_secs(1))
                .unwrap_or(until),
        ),
    );
    let minutes = usize::try_from(last - first + 1).unwrap_or(1).max(1);
    let mut v: Vec<u64> = counts.values().copied().collect();
    v.resize(minutes.max(v.len()), 0);
    v.sort_unstable();
    let p99 = v[((v.len() * 99).div_ceil(100))
        .saturating_sub(1)
        .min(v.len() - 1)];
    let (peak_m, peak) = counts
        .iter()
        .max_by_key(|(m, c)| (**c, std::cmp::Reverse(**m)))
        .map_or((first, 0), |(m, c)| (*m, *c));
    (peak, peak_m, p99)
}

/// The `width`-minute stretch with the most runs: (its first minute, runs).
pub fn busiest(counts: &BTreeMap<i64, u64>, width: i64) -> Option<(i64, u64)> {
    let mut best: Option<(i64, u64)> = None;
    let keys: Vec<(i64, u64)> = counts.iter().map(|(m, c)| (*m, *c)).collect();
    let mut sum = 0u64;
    let mut lo = 0;
    for hi in 0..keys.len() {
        sum += keys[hi].1;
        while keys[hi].0 - keys[lo].0 >= width {
            sum -= keys[lo].1;
            lo += 1;
        }
        if best.is_none_or(|(_, b)| sum > b) {
            best = Some((keys[lo].0, sum));
        }
    }
    best
}

/// The text summary.
pub fn print(out: &mut impl std::io::Write, f: &Forecast) -> Result<()> {
    let (from, until) = (f.from.unwrap_or_default(), f.until.unwrap_or_default());
    writeln!(
        out,
        "fleet forecast: {} devices, {from} .. {until}",
        f.devices
    )?;
    let total: u64 = f.runs.values().sum();
    let (peak, at, p99) = peak_p99(&f.runs, from, until);
    writeln!(
        out,
        "runs: {total} (missed {}); per minute: peak {peak} at {}, p99 {p99}",
        f.missed,
        minute_text(at)
    )?;
    let total_s: u64 = f.sessions.values().sum();
    if total_s == 0 {
        writeln!(
            out,
            "report sessions: none (no report with report_delivery immediate)"
        )?;
    } else {
        let (speak, sat, sp99) = peak_p99(&f.sessions, from, until);
        writeln!(
            out,
            "report sessions (report_delivery immediate): {total_s}; per minute: peak {speak} at {}, p99 {sp99}",
            minute_text(sat)
        )?;
    }
    writeln!(
        out,
        "reports queued for the next session: {}",
        f.queued_reports
    )?;
    if let Some((m, n)) = busiest(&f.runs, 10) {
        writeln!(
            out,
            "busiest 10 minutes: from {} with {n} runs",
            minute_text(m)
        )?;
    }
    for t in &f.tasks {
        writeln!(
            out,
            "  {:<40} runs {:<10} missed {}",
            t.task, t.runs, t.missed
        )?;
    }
    for n in &f.notes {
        writeln!(out, "  note: {n}")?;
    }
    Ok(())
}

/// The histogram picture: runs (bars) and sessions (line) per minute.
pub fn svg(f: &Forecast) -> String {
    let (from, until) = (f.from.unwrap_or_default(), f.until.unwrap_or_default());
    let (m0, m1) = (minute(from), minute(until).max(minute(from) + 1));
    let span = (m1 - m0) as f64;
    let (w, h, left, top, bottom) = (1000.0, 360.0, 70.0, 40.0, 50.0);
    let plot_h = h - top - bottom;
    let max = f
        .runs
        .values()
        .chain(f.sessions.values())
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let x = |m: i64| left + (m - m0) as f64 / span * (w - left - 20.0);
    let y = |c: f64| top + plot_h - c / max * plot_h;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{left}" y="20" font-size="14">Fleet forecast: {} devices — runs per minute (bars), report sessions per minute (line)</text>
"#,
        f.devices
    );
    // Axis: ticks at whole hours or days, depending on the span.
    let step = if span <= 6.0 * 60.0 {
        60
    } else if span <= 3.0 * 1440.0 {
        360
    } else {
        1440
    };
    let mut m = (m0 / step + 1) * step;
    while m < m1 {
        let xm = x(m);
        s.push_str(&format!(
            r##"<line x1="{xm:.1}" y1="{top}" x2="{xm:.1}" y2="{:.1}" stroke="#ddd"/><text x="{xm:.1}" y="{:.1}" text-anchor="middle">{}</text>
"##,
            top + plot_h,
            top + plot_h + 16.0,
            Timestamp::from_second(m * 60).map(|t| t.strftime(if step >= 1440 { "%m-%d" } else { "%m-%d %H:%M" }).to_string()).unwrap_or_default()
        ));
        m += step;
    }
    for frac in [0.0, 0.5, 1.0] {
        let c = max * frac;
        s.push_str(&format!(
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end">{:.0}</text><line x1="{left}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#eee"/>
"##,
            left - 6.0,
            y(c) + 4.0,
            c,
            y(c),
            w - 20.0,
            y(c)
        ));
    }
    let bw = ((w - left - 20.0) / span).max(1.0);
    for (m, c) in &f.runs {
        s.push_str(&format!(
            r##"<rect x="{:.2}" y="{:.2}" width="{bw:.2}" height="{:.2}" fill="#4a7bd0"/>
"##,
            x(*m),
            y(*c as f64),
            top + plot_h - y(*c as f64)
        ));
    }
    if !f.sessions.is_empty() {
        let pts: Vec<String> = f
            .sessions
            .iter()
            .map(|(m, c)| format!("{:.1},{:.1}", x(*m) + bw / 2.0, y(*c as f64)))
            .collect();
        s.push_str(&format!(
            r##"<polyline points="{}" fill="none" stroke="#d0463a" stroke-width="1.5"/>
"##,
            pts.join(" ")
        ));
    }
    s.push_str(&format!(
        r##"<rect x="{left}" y="{:.1}" width="12" height="10" fill="#4a7bd0"/><text x="{:.1}" y="{:.1}">runs</text><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#d0463a" stroke-width="2"/><text x="{:.1}" y="{:.1}">report sessions</text>
</svg>
"##,
        h - 18.0,
        left + 16.0,
        h - 9.0,
        left + 70.0,
        h - 13.0,
        left + 86.0,
        h - 13.0,
        left + 90.0,
        h - 9.0
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULES: &str = r#"[
      {"id": "nightly", "tz": "Europe/Berlin", "tasks": [{"id": "t",
        "trigger": {"calendar": {"rrule": "FREQ=DAILY;BYHOUR=2;BYMINUTE=30"}},
        "actions": [{"op": "Replace", "target": "./A", "data": "1"}],
        "policy": {"jitter_seconds": 900, "report": "always", "report_delivery": "immediate"}}]},
      {"id": "windowed", "tz": "Europe/Berlin", "tasks": [{"id": "t",
        "trigger": {"every": {"seconds": 7200, "anchor": "2026-03-27T00:10:00Z"}},
        "constraints": {"windows": [{"start": "01:00", "end": "05:00"}], "max_delay_seconds": 3600},
        "actions": [{"op": "Replace", "target": "./B", "data": "1"}],
        "policy": {"jitter_seconds": 1800, "report": "on_failure"}}]},
      {"id": "once", "tasks": [{"id": "t", "trigger": {"at": "2026-03-28T12:00:00Z"},
        "actions": [{"op": "Replace", "target": "./C", "data": "1"}], "policy": {"jitter_seconds": 3600}}]}
    ]"#;

    /// Issue 17: the fleet forecast's histogram equals a brute-force count:
    /// the real engine simulated on each device (jitter, windows with
    /// missed occurrences, a DST change, immediate reports).
    #[test]
    fn the_forecast_equals_the_engine_run_on_every_device() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.json");
        std::fs::write(&file, SCHEDULES).unwrap();
        let (from, until): (Timestamp, Timestamp) = (
            "2026-03-27T00:00:00Z".parse().unwrap(),
            "2026-03-31T00:00:00Z".parse().unwrap(),
        );
        let ids = device_ids(40, None).unwrap();
        let cfg = dmsched::EngineConfig::default();
        let docs = crate::simulate::read_documents(&file).unwrap();
        let f = forecast(&docs, "server", &ids, from, until, &TimeZone::UTC, &cfg).unwrap();
        let mut runs: BTreeMap<i64, u64> = BTreeMap::new();
        let mut sessions: BTreeMap<i64, u64> = BTreeMap::new();
        let mut missed = 0;
        for id in &ids {
            let rows = crate::simulate::simulate(crate::simulate::SimOptions {
                schedules: &file,
                from,
                until,
                events: None,
                tree: None,
                device_id: id.clone(),
                owner: "server".into(),
                config: dmsched::EngineConfig::default(),
            })
            .unwrap();
            let mut minutes = std::collections::BTreeSet::new();
            for r in rows {
                match (r.outcome.as_str(), r.run_at) {
                    ("ran", Some(at)) => {
                        *runs.entry(minute(at)).or_default() += 1;
                        if r.schedule == "nightly" {
                            minutes.insert(minute(at));
                        }
                    }
                    ("missed", _) => missed += 1,
                    ("deferred", _) => {}
                    (o, _) => panic!("unexpected {o}: {r:?}"),
                }
            }
            for m in minutes {
                *sessions.entry(m).or_default() += 1;
            }
        }
        assert!(missed > 0, "the windows make some occurrences miss");
        assert_eq!(f.missed, missed);
        assert_eq!(f.runs, runs);
        assert_eq!(f.sessions, sessions);
        // Only the windowed task misses, and it reports failures with the
        // next session.
        assert_eq!(f.queued_reports, missed);
    }

    #[test]
    fn peak_p99_and_the_busiest_stretch() {
        let from: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let until: Timestamp = "2026-01-01T01:40:00Z".parse().unwrap();
        let m0 = minute(from);
        // 100 minutes: one minute of 50, two of 10, the rest quiet.
        let counts: BTreeMap<i64, u64> = [(m0 + 3, 10), (m0 + 5, 50), (m0 + 90, 10)].into();
        let (peak, at, p99) = peak_p99(&counts, from, until);
        assert_eq!((peak, at), (50, m0 + 5));
        assert_eq!(p99, 10, "the 99th of 100 minutes");
        assert_eq!(busiest(&counts, 10), Some((m0 + 3, 60)));
    }
}
