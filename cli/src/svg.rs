//! A timeline picture of simulated occurrences, meant to be read as a
//! picture (a PNG in a report), not only hovered: one lane per task with
//! its windows as bands, a mark per occurrence coloured by outcome (close
//! marks merged into one with a count), a line from due to run when late,
//! the reason of every occurrence that did not run numbered under the
//! chart; device events and off-periods as marks, tree values as step
//! lines, sessions and report deliveries (the demo) on their own lanes;
//! ticks on calendar boundaries that suit the span, in UTC or a zone.

use std::fmt::Write;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::simulate::Row;

const LANE: f64 = 34.0;
const LEFT: f64 = 230.0;
const WIDTH: f64 = 1200.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 44.0;
/// Marks closer than this (pixels) are merged into one with a count.
const MERGE_PX: f64 = 7.0;

/// What besides the occurrences goes on the picture.
#[derive(Default)]
pub struct Marks {
    /// The zone of the time axis (`None`: UTC).
    pub zone: Option<TimeZone>,
    /// Per task (schedule, task): its windows and their zone.
    pub windows: Vec<((String, String), Vec<dmsched::when::Window>, TimeZone)>,
    /// Device events: (instant, name).
    pub events: Vec<(Timestamp, String)>,
    /// The device was off: [from, until).
    pub off: Vec<(Timestamp, Timestamp)>,
    /// Tree values over time, per URI: (instant, value) in order.
    pub tree: Vec<(String, Vec<(Timestamp, dmsched::expr::Value)>)>,
    /// DM sessions: (instant, label).
    pub sessions: Vec<(Timestamp, String)>,
    /// Report deliveries: (instant, label).
    pub deliveries: Vec<(Timestamp, String)>,
}

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

/// Which of a merged group's outcomes colours it: the worst.
fn rank(outcome: &str) -> u8 {
    match outcome {
        "failed" => 6,
        "interrupted" => 5,
        "missed" => 4,
        "skipped" => 3,
        "deferred" => 2,
        "ran" => 1,
        _ => 0,
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Tick steps, seconds (months are 30 days here; aligned by calendar).
const STEPS: [(i64, &str); 22] = [
    (1, "%H:%M:%S"),
    (2, "%H:%M:%S"),
    (5, "%H:%M:%S"),
    (10, "%H:%M:%S"),
    (15, "%H:%M:%S"),
    (30, "%H:%M:%S"),
    (60, "%H:%M"),
    (120, "%H:%M"),
    (300, "%H:%M"),
    (600, "%H:%M"),
    (900, "%H:%M"),
    (1800, "%H:%M"),
    (3600, "%H:%M"),
    (7200, "%H:%M"),
    (3 * 3600, "%H:%M"),
    (6 * 3600, "%H:%M"),
    (12 * 3600, "%H:%M"),
    (86_400, "%a %m-%d"),
    (2 * 86_400, "%m-%d"),
    (7 * 86_400, "%m-%d"),
    (30 * 86_400, "%Y-%m"),
    (91 * 86_400, "%Y-%m"),
];

/// Tick instants on calendar boundaries of `zone` (whole seconds,
/// minutes, hours, local midnights, first days of months) with their
/// labels, at most about 9 over the span; a label gains the date where
/// the day changes.
pub fn ticks(from: Timestamp, until: Timestamp, zone: &TimeZone) -> Vec<(Timestamp, String)> {
    let span = until.as_second() - from.as_second();
    let (step, fmt) = STEPS
        .iter()
        .copied()
        .find(|(s, _)| span / s <= 8)
        .unwrap_or(STEPS[STEPS.len() - 1]);
    let mut out = Vec::new();
    let start = zone.to_datetime(from);
    let mut last_day = None;
    let label = |t: Timestamp, last_day: &mut Option<jiff::civil::Date>| {
        let dt = zone.to_datetime(t);
        let mut l = dt.strftime(fmt).to_string();
        if step < 86_400 && *last_day != Some(dt.date()) {
            l = format!("{} {l}", dt.strftime("%m-%d"));
        }
        *last_day = Some(dt.date());
        l
    };
    if step >= 30 * 86_400 {
        // First days of months (every `months`).
        let months = if step >= 91 * 86_400 { 3 } else { 1 };
        let mut d = start.date().first_of_month();
        for _ in 0..240 {
            if let Ok(t) = zone.to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
                && t >= from
                && t <= until
                && (i32::from(d.month()) - 1) % months == 0
            {
                out.push((t, label(t, &mut last_day)));
            }
            match d.checked_add(jiff::Span::new().months(1)) {
                Ok(n)
                    if zone
                        .to_timestamp(n.to_datetime(jiff::civil::Time::midnight()))
                        .is_ok_and(|t| t <= until) =>
                {
                    d = n
                }
                _ => break,
            }
        }
        return out;
    }
    if step >= 86_400 {
        let days = step / 86_400;
        let mut d = start.date();
        for _ in 0..400 {
            if let Ok(t) = zone.to_timestamp(d.to_datetime(jiff::civil::Time::midnight())) {
                if t > until {
                    break;
                }
                // Weeks start on Mondays; 2-day steps on even days.
                let day_no = d
                    .since(jiff::civil::date(2000, 1, 3))
                    .map_or(0, |s| i64::from(s.get_days()));
                if t >= from && day_no.rem_euclid(days) == 0 {
                    out.push((t, label(t, &mut last_day)));
                }
            }
            match d.tomorrow() {
                Ok(n) => d = n,
                Err(_) => break,
            }
        }
        return out;
    }
    // Sub-day steps: multiples of the step in local seconds of the day.
    let local0 = start.date().to_datetime(jiff::civil::Time::midnight());
    let Ok(midnight) = zone.to_timestamp(local0) else {
        return out;
    };
    let mut t = midnight;
    let mut guard = 0;
    while t <= until && guard < 10_000 {
        guard += 1;
        let dt = zone.to_datetime(t);
        let secs_of_day =
            i64::from(dt.hour()) * 3600 + i64::from(dt.minute()) * 60 + i64::from(dt.second());
        let aligned = secs_of_day % step == 0;
        if aligned && t >= from {
            out.push((t, label(t, &mut last_day)));
        }
        // Jump to the next multiple (a DST change realigns on local time).
        let next = step - secs_of_day.rem_euclid(step);
        t = match t.checked_add(jiff::SignedDuration::from_secs(next)) {
            Ok(n) => n,
            Err(_) => break,
        };
    }
    out
}

/// Renders the rows between `from` and `until` as an SVG document.
pub fn render(rows: &[Row], from: Timestamp, until: Timestamp, marks: &Marks) -> String {
    let mut lanes: Vec<(String, String)> = Vec::new();
    for r in rows {
        let k = (r.schedule.clone(), r.task.clone());
        if !lanes.contains(&k) {
            lanes.push(k);
        }
    }
    for (k, _, _) in &marks.windows {
        if !lanes.contains(k) {
            lanes.push(k.clone());
        }
    }
    lanes.sort();
    let zone = marks.zone.clone().unwrap_or(TimeZone::UTC);
    let zone_name = marks.zone.as_ref().map_or("UTC".to_string(), |z| {
        z.iana_name().unwrap_or("local").to_string()
    });
    let span = until.duration_since(from).as_secs_f64().max(1.0);
    let plot_w = WIDTH - LEFT - RIGHT;
    let x = |t: Timestamp| {
        LEFT + (t.duration_since(from).as_secs_f64() / span).clamp(0.0, 1.0) * plot_w
    };

    // Reasons of what did not run, numbered once each.
    let mut reasons: Vec<String> = Vec::new();
    for r in rows.iter().filter(|r| r.outcome != "ran") {
        if let Some(why) = &r.reason
            && !reasons.contains(why)
        {
            reasons.push(why.clone());
        }
    }
    let extra_lanes = [
        !marks.events.is_empty() || !marks.off.is_empty(),
        !marks.sessions.is_empty(),
        !marks.deliveries.is_empty(),
    ]
    .iter()
    .filter(|b| **b)
    .count()
        + marks.tree.len();
    let chart_bottom = TOP + LANE * (lanes.len() + extra_lanes) as f64;
    let shown_reasons = reasons.len().min(14);
    let height = chart_bottom
        + 60.0
        + 16.0 * shown_reasons as f64
        + if reasons.len() > 14 { 16.0 } else { 0.0 };

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let fmt = |t: Timestamp| {
        zone.to_datetime(t)
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let _ = writeln!(
        s,
        r#"<text x="10" y="22" font-size="15">dmsched timeline {} → {} ({})</text>"#,
        fmt(from),
        fmt(until),
        esc(&zone_name)
    );
    // Off-periods: grey across every lane.
    for (a, b) in &marks.off {
        let (xa, xb) = (x(*a), x(*b));
        let _ = writeln!(
            s,
            r##"<rect x="{xa:.1}" y="{TOP}" width="{:.1}" height="{:.1}" fill="#9e9e9e" opacity="0.25"><title>device off {} → {}</title></rect>"##,
            (xb - xa).max(1.0),
            chart_bottom - TOP,
            fmt(*a),
            fmt(*b)
        );
    }
    // Ticks.
    for (t, label) in ticks(from, until, &zone) {
        let xt = x(t);
        let _ = writeln!(
            s,
            r##"<line x1="{xt:.1}" y1="{TOP}" x2="{xt:.1}" y2="{chart_bottom:.1}" stroke="#e6e6e6"/><text x="{xt:.1}" y="{:.1}" text-anchor="middle" fill="#444" font-size="11">{}</text>"##,
            chart_bottom + 14.0,
            esc(&label)
        );
    }
    let mut lane_y = TOP;
    let mut lane = |s: &mut String, title: &str| -> f64 {
        let y = lane_y + LANE / 2.0;
        let _ = writeln!(
            s,
            r#"<text x="10" y="{:.1}">{}</text>"#,
            y + 4.0,
            esc(title)
        );
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#d0d0d0"/>"##,
            WIDTH - RIGHT
        );
        lane_y += LANE;
        y
    };
    for (sched, task) in &lanes {
        let key = (sched.clone(), task.clone());
        let y = lane(&mut s, &format!("{sched}/{task}"));
        // Windows: bands where the task may run.
        for (_, windows, wz) in marks.windows.iter().filter(|(k, _, _)| *k == key) {
            for (a, b) in window_spans(windows, wz, from, until) {
                let _ = writeln!(
                    s,
                    r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#fff3c4"/>"##,
                    x(a),
                    y - LANE / 2.0 + 3.0,
                    (x(b) - x(a)).max(1.0),
                    LANE - 6.0
                );
            }
        }
        let mut mine: Vec<&Row> = rows
            .iter()
            .filter(|r| &r.schedule == sched && &r.task == task)
            .collect();
        mine.sort_by_key(|r| (r.run_at.unwrap_or(r.due), r.due));
        // Late runs: a line from due to run.
        for r in &mine {
            if let Some(run) = r.run_at
                && run > r.due
            {
                let _ = writeln!(
                    s,
                    r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{}" stroke-width="3" opacity="0.45"/>"#,
                    x(r.due),
                    x(run),
                    colour(&r.outcome)
                );
            }
        }
        // Marks, merged when closer than MERGE_PX.
        let mut i = 0;
        while i < mine.len() {
            let x0 = x(mine[i].run_at.unwrap_or(mine[i].due));
            let mut j = i + 1;
            while j < mine.len() && x(mine[j].run_at.unwrap_or(mine[j].due)) - x0 < MERGE_PX {
                j += 1;
            }
            let group = &mine[i..j];
            let worst = group
                .iter()
                .map(|r| r.outcome.as_str())
                .max_by_key(|o| rank(o))
                .unwrap_or("ran");
            let c = colour(worst);
            let title: Vec<String> = group
                .iter()
                .map(|r| {
                    format!(
                        "{} due {}{}: {}{}",
                        r.task,
                        fmt(r.due),
                        r.run_at
                            .map(|t| format!(", ran {}", fmt(t)))
                            .unwrap_or_default(),
                        r.outcome,
                        r.reason
                            .as_deref()
                            .map(|x| format!(" — {x}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            let title = esc(&title.join("\n"));
            if group.len() == 1 {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{x0:.1}" cy="{y:.1}" r="5" fill="{c}"><title>{title}</title></circle>"#
                );
            } else {
                let xe = x(group[group.len() - 1]
                    .run_at
                    .unwrap_or(group[group.len() - 1].due));
                let w = (xe - x0).max(0.0) + 14.0;
                let _ = writeln!(
                    s,
                    r#"<rect x="{:.1}" y="{:.1}" width="{w:.1}" height="14" rx="7" fill="{c}"><title>{title}</title></rect><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="white" font-size="10">{}</text>"#,
                    x0 - 7.0,
                    y - 7.0,
                    x0 - 7.0 + w / 2.0,
                    y + 3.5,
                    group.len()
                );
            }
            // The reasons' numbers, above the mark.
            let mut nums: Vec<usize> = group
                .iter()
                .filter(|r| r.outcome != "ran")
                .filter_map(|r| r.reason.as_ref())
                .filter_map(|why| reasons.iter().position(|x| x == why))
                .map(|n| n + 1)
                .collect();
            nums.sort_unstable();
            nums.dedup();
            if !nums.is_empty() {
                let text: Vec<String> = nums.iter().map(ToString::to_string).collect();
                let _ = writeln!(
                    s,
                    r#"<text x="{x0:.1}" y="{:.1}" text-anchor="middle" font-size="10" fill="{c}">{}</text>"#,
                    y - 9.0,
                    text.join(",")
                );
            }
            i = j;
        }
    }
    if !marks.events.is_empty() || !marks.off.is_empty() {
        let y = lane(&mut s, "device events");
        let mut last_x = f64::MIN;
        for (t, name) in &marks.events {
            let xe = x(*t);
            let _ = writeln!(
                s,
                r##"<path d="M{xe:.1},{:.1} l5,9 h-10 z" fill="#6a1b9a"><title>{} {}</title></path>"##,
                y - 5.0,
                esc(name),
                fmt(*t)
            );
            // Names where there is room.
            if xe - last_x > 60.0 {
                let _ = writeln!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#6a1b9a">{}</text>"##,
                    xe + 6.0,
                    y - 4.0,
                    esc(name)
                );
                last_x = xe;
            }
        }
        for (a, _) in &marks.off {
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#616161">off</text>"##,
                x(*a) + 3.0,
                y + 12.0
            );
        }
    }
    for (uri, points) in &marks.tree {
        let y = lane(&mut s, uri);
        step_line(&mut s, points, y, &x, until);
    }
    for (label, list, c) in [
        ("DM sessions", &marks.sessions, "#00838f"),
        ("report deliveries", &marks.deliveries, "#ad1457"),
    ] {
        if list.is_empty() {
            continue;
        }
        let y = lane(&mut s, label);
        let mut sorted: Vec<&(Timestamp, String)> = list.iter().collect();
        sorted.sort_by_key(|(t, _)| *t);
        // Close ones merge into one mark with a count, as occurrences do.
        let mut i = 0;
        while i < sorted.len() {
            let x0 = x(sorted[i].0);
            let mut j = i + 1;
            while j < sorted.len() && x(sorted[j].0) - x0 < MERGE_PX {
                j += 1;
            }
            let title: Vec<String> = sorted[i..j]
                .iter()
                .map(|(t, what)| format!("{} {what}", fmt(*t)))
                .collect();
            let _ = writeln!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="6" height="14" fill="{c}"><title>{}</title></rect>"#,
                x0 - 3.0,
                y - 7.0,
                esc(&title.join("\n"))
            );
            if j - i > 1 {
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="end" font-size="10" fill="{c}">{}×</text>"#,
                    x0 - 5.0,
                    y + 4.0,
                    j - i
                );
            }
            i = j;
        }
    }
    // Legend: outcomes, windows, off, then the numbered reasons.
    let ly = chart_bottom + 36.0;
    let mut lx = 10.0;
    for o in [
        "ran",
        "failed",
        "missed",
        "skipped",
        "deferred",
        "interrupted",
    ] {
        let _ = writeln!(
            s,
            r#"<circle cx="{lx}" cy="{ly}" r="5" fill="{}"/>"#,
            colour(o)
        );
        let _ = writeln!(s, r#"<text x="{}" y="{}">{o}</text>"#, lx + 9.0, ly + 4.0);
        lx += 95.0;
    }
    let _ = writeln!(
        s,
        r##"<rect x="{lx}" y="{}" width="14" height="10" fill="#fff3c4" stroke="#e0c060"/><text x="{}" y="{}">window open</text>"##,
        ly - 5.0,
        lx + 18.0,
        ly + 4.0
    );
    lx += 110.0;
    let _ = writeln!(
        s,
        r##"<rect x="{lx}" y="{}" width="14" height="10" fill="#9e9e9e" opacity="0.4"/><text x="{}" y="{}">device off</text><text x="{}" y="{}">a number: merged marks</text>"##,
        ly - 5.0,
        lx + 18.0,
        ly + 4.0,
        lx + 110.0,
        ly + 4.0
    );
    for (n, why) in reasons.iter().take(14).enumerate() {
        let short: String = if why.chars().count() > 150 {
            format!("{}…", why.chars().take(150).collect::<String>())
        } else {
            why.clone()
        };
        let _ = writeln!(
            s,
            r##"<text x="10" y="{:.1}" font-size="11" fill="#333">{}: {}</text>"##,
            ly + 22.0 + 16.0 * n as f64,
            n + 1,
            esc(&short)
        );
    }
    if reasons.len() > 14 {
        let _ = writeln!(
            s,
            r##"<text x="10" y="{:.1}" font-size="11" fill="#333">… and {} more reasons (hover the marks)</text>"##,
            ly + 22.0 + 16.0 * 14.0,
            reasons.len() - 14
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The stretches of `[from, until)` inside `windows`.
fn window_spans(
    windows: &[dmsched::when::Window],
    zone: &TimeZone,
    from: Timestamp,
    until: Timestamp,
) -> Vec<(Timestamp, Timestamp)> {
    let mut out = Vec::new();
    let mut t = from;
    for _ in 0..5000 {
        let Some(open) = dmsched::when::next_window_open(windows, zone, t) else {
            break;
        };
        if open >= until {
            break;
        }
        let close = dmsched::when::window_stretch_end(windows, zone, open)
            .unwrap_or(until)
            .min(until);
        out.push((open, close));
        if close >= until {
            break;
        }
        t = close;
    }
    out
}

/// A step line of a tree value: numbers scaled to the lane, other values
/// as text at each change.
fn step_line(
    s: &mut String,
    points: &[(Timestamp, dmsched::expr::Value)],
    y: f64,
    x: &dyn Fn(Timestamp) -> f64,
    until: Timestamp,
) {
    use dmsched::expr::Value;
    let num = |v: &Value| match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    };
    let nums: Vec<f64> = points.iter().filter_map(|(_, v)| num(v)).collect();
    if nums.len() == points.len() && !nums.is_empty() {
        let (lo, hi) = nums
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
        let scale = |v: f64| {
            if hi > lo {
                y + LANE / 2.0 - 5.0 - (v - lo) / (hi - lo) * (LANE - 10.0)
            } else {
                y
            }
        };
        let mut d = String::new();
        for (i, ((t, _), v)) in points.iter().zip(&nums).enumerate() {
            let (xt, yv) = (x(*t), scale(*v));
            if i == 0 {
                let _ = write!(d, "M{xt:.1},{yv:.1}");
            } else {
                let _ = write!(d, " H{xt:.1} V{yv:.1}");
            }
        }
        let _ = write!(d, " H{:.1}", x(until));
        let _ = writeln!(
            s,
            r##"<path d="{d}" fill="none" stroke="#37474f" stroke-width="1.5"/>"##
        );
    }
    let mut last_x = f64::MIN;
    for (t, v) in points {
        let xt = x(*t);
        if xt - last_x > 34.0 {
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" font-size="9" fill="#37474f">{}</text>"##,
                xt + 2.0,
                y - LANE / 2.0 + 10.0,
                esc(&v.to_string())
            );
            last_x = xt;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Ticks sit on calendar boundaries that suit the span, from seconds
    /// to months, and say the date where the day changes.
    #[test]
    fn ticks_adapt_to_the_span_and_sit_on_calendar_boundaries() {
        let utc = TimeZone::UTC;
        let labels = |a: &str, b: &str, z: &TimeZone| -> Vec<String> {
            ticks(t(a), t(b), z).into_iter().map(|(_, l)| l).collect()
        };
        // 40 seconds: every 5 s (the demo's span; it used to print one
        // minute six times).
        let l = labels("2026-12-02T03:01:02Z", "2026-12-02T03:01:42Z", &utc);
        assert_eq!(l[0], "12-02 03:01:05");
        assert_eq!(l[1], "03:01:10");
        assert!(l.len() >= 6 && l.len() <= 9, "{l:?}");
        // Four days: every 12 h, midnights carry the date.
        let l = labels("2026-03-06T00:00:00Z", "2026-03-10T00:00:00Z", &utc);
        assert_eq!(l[..3], ["03-06 00:00", "12:00", "03-07 00:00"]);
        // Four months: first days of months.
        let l = labels("2026-01-15T00:00:00Z", "2026-05-20T00:00:00Z", &utc);
        assert_eq!(l, ["2026-02", "2026-03", "2026-04", "2026-05"]);
        // In a zone: local midnights, across the DST change.
        let ny = dmsched::when::zone("America/New_York").unwrap();
        let ts = ticks(t("2026-03-07T05:00:00Z"), t("2026-03-10T05:00:00Z"), &ny);
        let midnights: Vec<String> = ts
            .iter()
            .filter(|(_, l)| l.ends_with("00:00") && l.len() > 5)
            .map(|(at, _)| at.to_string())
            .collect();
        assert_eq!(
            midnights,
            [
                "2026-03-07T05:00:00Z",
                "2026-03-08T05:00:00Z",
                "2026-03-09T04:00:00Z",
                "2026-03-10T04:00:00Z"
            ]
        );
    }

    fn row(due: Timestamp, outcome: &str, reason: Option<&str>) -> Row {
        Row {
            schedule: "s".into(),
            task: "t".into(),
            due,
            due_local: String::new(),
            run_at: (outcome == "ran").then_some(due),
            run_at_local: None,
            outcome: outcome.into(),
            reason: reason.map(String::from),
        }
    }

    /// Dense occurrences are merged into counted marks (no dots on top of
    /// each other), a merged mark takes the worst outcome's colour, and
    /// every reason is numbered in the picture, not only in a tooltip.
    #[test]
    fn dense_marks_merge_and_reasons_are_visible() {
        let from = t("2026-01-01T00:00:00Z");
        let until = t("2026-01-02T00:00:00Z");
        let mut rows: Vec<Row> = (0..1440)
            .map(|m| {
                row(
                    from.checked_add(jiff::SignedDuration::from_mins(m))
                        .unwrap(),
                    "ran",
                    None,
                )
            })
            .collect();
        rows[700] = row(
            rows[700].due,
            "missed",
            Some("constraint `./A > 1` not met"),
        );
        let svg = render(&rows, from, until, &Marks::default());
        let cxs: Vec<f64> = svg
            .lines()
            .filter(|l| l.starts_with("<circle cx=") && l.contains("<title>"))
            .map(|l| l[12..].split('"').next().unwrap().parse().unwrap())
            .collect();
        for w in cxs.windows(2) {
            assert!(w[1] - w[0] >= MERGE_PX, "dots overlap: {w:?}");
        }
        let merged = svg.matches(r#"rx="7""#).count();
        assert!(merged > 0 && merged < 1440 / 2, "{merged}");
        assert!(
            svg.contains(colour("missed")),
            "the merged mark shows the miss"
        );
        assert!(
            svg.contains("1: constraint `./A &gt; 1` not met"),
            "the reason is printed"
        );
    }
}
