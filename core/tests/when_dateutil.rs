//! 6.1.7.5 (universal time): calendar expansion checked against an
//! independent implementation, python-dateutil, on 700 generated RRULEs in
//! six zones. Rules whose first occurrences touch a DST gap or overlap are
//! left out (dateutil works on naive local times there; our DST contract is
//! tested in `engine_time.rs` and `when::dst`); at least 500 must remain,
//! and every remaining rule must give identical instants.
//!
//! Needs `python3` with `python-dateutil` (`make test` installs it). It
//! fails, rather than skips, when they are missing.

use std::io::Write;
use std::process::{Command, Stdio};

use dmsched::when::{Calendar, DstPolicy, RRule, zone};
use jiff::Timestamp;
use jiff::civil::DateTime;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const ZONES: [&str; 6] = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Asia/Kolkata",
];
const DAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const N: usize = 20;

fn pick<T: Copy>(rng: &mut StdRng, v: &[T]) -> T {
    v[rng.random_range(0..v.len())]
}

fn some_of(rng: &mut StdRng, lo: i32, hi: i32, max: usize, allow_neg: bool) -> String {
    let k = rng.random_range(1..=max);
    let mut v: Vec<i32> = (0..k)
        .map(|_| {
            let x = rng.random_range(lo..=hi);
            if allow_neg && rng.random_bool(0.3) {
                -x
            } else {
                x
            }
        })
        .collect();
    v.sort_unstable();
    v.dedup();
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn days(rng: &mut StdRng, ordinals: bool) -> String {
    let k = rng.random_range(1..=3);
    let mut v: Vec<String> = (0..k)
        .map(|_| {
            let d = pick(rng, &DAYS);
            if ordinals {
                let n = rng.random_range(1..=4) * if rng.random_bool(0.4) { -1 } else { 1 };
                format!("{n}{d}")
            } else {
                d.to_string()
            }
        })
        .collect();
    v.sort();
    v.dedup();
    v.join(",")
}

/// A random valid rule and DTSTART. Day-level parts stay within values every
/// month or year has, so every rule produces occurrences.
fn generate(rng: &mut StdRng) -> (String, DateTime) {
    let freq = pick(
        rng,
        &[
            "YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY",
        ],
    );
    let mut parts = vec![format!("FREQ={freq}")];
    let coarse = matches!(freq, "YEARLY" | "MONTHLY" | "WEEKLY" | "DAILY");
    let max_interval = match freq {
        "YEARLY" => 3,
        "MONTHLY" => 4,
        "MINUTELY" => 90,
        "SECONDLY" => 200,
        _ => 6,
    };
    if rng.random_bool(0.5) {
        parts.push(format!("INTERVAL={}", rng.random_range(1..=max_interval)));
    }
    if rng.random_bool(0.3) && freq != "DAILY" && coarse {
        parts.push(format!("BYMONTH={}", some_of(rng, 1, 12, 4, false)));
    }
    match freq {
        "YEARLY" | "MONTHLY" => match rng.random_range(0..4) {
            0 => parts.push(format!("BYMONTHDAY={}", some_of(rng, 1, 28, 3, true))),
            1 => parts.push(format!("BYDAY={}", days(rng, true))),
            2 => parts.push(format!("BYDAY={}", days(rng, false))),
            _ => {}
        },
        "WEEKLY" => {
            if rng.random_bool(0.7) {
                parts.push(format!("BYDAY={}", days(rng, false)));
            }
        }
        _ => {
            if rng.random_bool(0.25) {
                parts.push(format!("BYDAY={}", days(rng, false)));
            }
        }
    }
    if coarse && rng.random_bool(0.5) {
        parts.push(format!("BYHOUR={}", some_of(rng, 0, 23, 3, false)));
    }
    if matches!(freq, "HOURLY" | "MINUTELY" | "SECONDLY") && rng.random_bool(0.3) {
        parts.push(format!("BYHOUR={}", some_of(rng, 0, 23, 8, false)));
    }
    if freq != "SECONDLY" && rng.random_bool(0.4) {
        parts.push(format!("BYMINUTE={}", some_of(rng, 0, 59, 3, false)));
    }
    if rng.random_bool(0.2) {
        parts.push(format!("BYSECOND={}", some_of(rng, 0, 59, 2, false)));
    }
    // BYSETPOS picks within a period's set; positions beyond the set would
    // make dateutil search to year 9999, so stay within ±1 (±2 for months/years).
    if coarse && rng.random_bool(0.25) && parts.iter().any(|p| p.starts_with("BY")) {
        let hi = if matches!(freq, "YEARLY" | "MONTHLY") {
            2
        } else {
            1
        };
        parts.push(format!("BYSETPOS={}", some_of(rng, 1, hi, 2, true)));
    }
    if rng.random_bool(0.3) {
        parts.push(format!("WKST={}", pick(rng, &DAYS)));
    }
    let start = DateTime::new(
        rng.random_range(2020..=2030),
        rng.random_range(1..=12),
        rng.random_range(1..=28),
        rng.random_range(0..=23),
        rng.random_range(0..=59),
        rng.random_range(0..=59),
        0,
    )
    .unwrap();
    match rng.random_range(0..5) {
        0 => parts.push(format!("COUNT={}", rng.random_range(1..=30))),
        1 | 2 => {
            let span = match freq {
                "SECONDLY" => jiff::SignedDuration::from_mins(rng.random_range(1..=600)),
                "MINUTELY" => jiff::SignedDuration::from_hours(rng.random_range(1..=200)),
                "HOURLY" => jiff::SignedDuration::from_hours(rng.random_range(1..=2000)),
                _ => jiff::SignedDuration::from_hours(24 * rng.random_range(30..=1500)),
            };
            let end = start.checked_add(span).unwrap();
            let until = match rng.random_range(0..3) {
                0 => format!("{}Z", end.strftime("%Y%m%dT%H%M%S")),
                1 => end.strftime("%Y%m%dT%H%M%S").to_string(),
                _ => end.strftime("%Y%m%d").to_string(),
            };
            parts.push(format!("UNTIL={until}"));
        }
        _ => {}
    }
    // Shuffle the order of parts after FREQ sometimes: order must not matter.
    if rng.random_bool(0.3) {
        parts.reverse();
    }
    (parts.join(";"), start)
}

fn ours(rule: &str, start: DateTime, tz: &str) -> Vec<Timestamp> {
    let r = RRule::parse(rule).unwrap_or_else(|e| panic!("{rule}: {e}"));
    let cal = match Calendar::new(&r, start, zone(tz).unwrap(), DstPolicy::default()) {
        Ok(c) => c,
        Err(_) => return Vec::new(),
    };
    let mut at =
        jiff::tz::TimeZone::UTC.to_timestamp(start).unwrap() - jiff::SignedDuration::from_hours(30);
    let mut out = Vec::new();
    while out.len() < N {
        match cal.next_after(at) {
            Some(o) => {
                out.push(o.at);
                at = o.at;
            }
            None => break,
        }
    }
    out
}

#[test]
fn calendar_expansion_matches_python_dateutil() {
    let mut rng = StdRng::seed_from_u64(20_261_124);
    let cases: Vec<(String, DateTime, &str)> = (0..700)
        .map(|i| {
            let (rule, start) = generate(&mut rng);
            (rule, start, ZONES[i % ZONES.len()])
        })
        .collect();
    let input = serde_json::Value::Array(
        cases
            .iter()
            .map(|(rule, start, tz)| {
                serde_json::json!({"rrule": rule, "dtstart": start.strftime("%Y-%m-%dT%H:%M:%S").to_string(), "tz": tz, "n": N})
            })
            .collect(),
    );
    let t0 = std::time::Instant::now();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/oracle/dateutil_oracle.py"
    );
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed for the dateutil oracle (make test installs python-dateutil)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the dateutil oracle failed (pip install python-dateutil): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let oracle_time = t0.elapsed();
    let t1 = std::time::Instant::now();
    assert_eq!(theirs.len(), cases.len());
    let mut compared = 0;
    let mut instants = 0;
    let mut mismatches = Vec::new();
    for ((rule, start, tz), expect) in cases.iter().zip(&theirs) {
        let Some(expect) = expect.as_array() else {
            continue; // dateutil refused the rule
        };
        if expect.iter().any(|o| o["edge"] == true) {
            continue;
        }
        let expect: Vec<Timestamp> = expect
            .iter()
            .map(|o| o["utc"].as_str().unwrap().parse().unwrap())
            .collect();
        let got = ours(rule, *start, tz);
        if got != expect {
            mismatches.push(format!(
                "{rule} from {start} in {tz}:\n  ours     {got:?}\n  dateutil {expect:?}"
            ));
        }
        if !expect.is_empty() {
            compared += 1;
            instants += expect.len();
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(
        compared >= 500,
        "only {compared} rules with occurrences were compared"
    );
    eprintln!(
        "{compared} rules, {instants} instants identical to dateutil (dateutil {oracle_time:?}, ours {:?})",
        t1.elapsed()
    );
}
