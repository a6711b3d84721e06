//! A timeline picture of simulated occurrences: one lane per task, a mark
//! per occurrence coloured by outcome, a line from due to run when late.

use std::fmt::Write;

use jiff::Timestamp;

use crate::simulate::Row;

const LANE: f64 = 34.0;
const LEFT: f64 = 220.0;
const WIDTH: f64 = 1100.0;
const TOP: f64 = 40.0;

fn colour(outcome: &str) -> &'static str {
    match outcome {
        "ran" => "#2e7d32",
        "failed" => "#c62828",
        "missed" => "#ef6c00",
        "skipped" => "#757575",
        "deferred" => "#1565c0",
        _ => "#6a1b9a",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the rows between `from` and `until` as an SVG document.
pub fn render(rows: &[Row], from: Timestamp, until: Timestamp) -> String {
    let mut lanes: Vec<(String, String)> = Vec::new();
    for r in rows {
        let k = (r.schedule.clone(), r.task.clone());
        if !lanes.contains(&k) {
            lanes.push(k);
        }
    }
    lanes.sort();
    let span = until.duration_since(from).as_secs_f64().max(1.0);
    let x = |t: Timestamp| {
        LEFT + (t.duration_since(from).as_secs_f64() / span).clamp(0.0, 1.0) * (WIDTH - LEFT - 20.0)
    };
    let height = TOP + LANE * lanes.len() as f64 + 70.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="10" y="20" font-size="14">dmsched timeline {from} → {until} (UTC)</text>"#
    );
    // Time axis: six evenly spaced ticks.
    let axis_y = TOP + LANE * lanes.len() as f64 + 8.0;
    for k in 0..=5 {
        let t = from
            .checked_add(jiff::SignedDuration::from_secs_f64(
                span * f64::from(k) / 5.0,
            ))
            .unwrap_or(until);
        let xt = x(t);
        let _ = writeln!(
            s,
            r##"<line x1="{xt:.1}" y1="{TOP}" x2="{xt:.1}" y2="{axis_y:.1}" stroke="#eee"/>"##
        );
        let label = t.strftime("%m-%d %H:%M").to_string();
        let _ = writeln!(
            s,
            r##"<text x="{xt:.1}" y="{:.1}" text-anchor="{anchor}" fill="#555" font-size="10">{label}</text>"##,
            axis_y + 12.0,
            anchor = if k == 5 { "end" } else { "middle" }
        );
    }
    for (i, (sched, task)) in lanes.iter().enumerate() {
        let y = TOP + LANE * i as f64 + LANE / 2.0;
        let _ = writeln!(
            s,
            r#"<text x="10" y="{:.1}">{}/{}</text>"#,
            y + 4.0,
            esc(sched),
            esc(task)
        );
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/>"##,
            WIDTH - 20.0
        );
        for r in rows
            .iter()
            .filter(|r| &r.schedule == sched && &r.task == task)
        {
            let xd = x(r.due);
            let c = colour(&r.outcome);
            if let Some(run) = r.run_at
                && run > r.due
            {
                let _ = writeln!(
                    s,
                    r#"<line x1="{xd:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{c}" stroke-width="3" opacity="0.5"/>"#,
                    x(run)
                );
            }
            let xm = r.run_at.map(&x).unwrap_or(xd);
            let title = format!(
                "{} due {}{} {}{}",
                r.task,
                r.due,
                r.run_at.map(|t| format!(" ran {t}")).unwrap_or_default(),
                r.outcome,
                r.reason
                    .as_deref()
                    .map(|x| format!(": {x}"))
                    .unwrap_or_default()
            );
            let _ = writeln!(
                s,
                r#"<circle cx="{xm:.1}" cy="{y:.1}" r="5" fill="{c}"><title>{}</title></circle>"#,
                esc(&title)
            );
        }
    }
    let ly = TOP + LANE * lanes.len() as f64 + 45.0;
    for (i, o) in ["ran", "failed", "missed", "skipped", "deferred"]
        .iter()
        .enumerate()
    {
        let lx = LEFT + 110.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<circle cx="{lx}" cy="{ly}" r="5" fill="{}"/>"#,
            colour(o)
        );
        let _ = writeln!(s, r#"<text x="{}" y="{}">{o}</text>"#, lx + 10.0, ly + 4.0);
    }
    s.push_str("</svg>\n");
    s
}
