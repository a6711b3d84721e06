//! Calendar (`when::Calendar`) costs: `next_after` on ordinary rules (the
//! engine calls it after every run), and `Calendar::new` on the same rules
//! (paid at every submit and compile); then the worst inputs of issue 14
//! (a product of BY-lists, rules that never or rarely match, 64-task
//! documents of them through `check_document`). Figures: docs/performance.md.
//!
//! Run: `cargo bench -p dmsched --bench calendar`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use dmsched::engine::check_document;
use dmsched::model::Limits;
use dmsched::when::{Calendar, DstPolicy, RRule, zone};
use jiff::Timestamp;
use jiff::civil::datetime;

/// Ordinary rules, as schedules use them.
const RULES: [(&str, &str); 6] = [
    ("daily", "FREQ=DAILY;BYHOUR=2;BYMINUTE=30"),
    ("weekdays", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9"),
    ("last_sunday", "FREQ=MONTHLY;BYDAY=-1SU;BYHOUR=3"),
    (
        "last_workday",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    ),
    ("quarter_hours", "FREQ=HOURLY;BYMINUTE=0,15,30,45"),
    ("leap_day", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"),
];

fn cal(rule: &str) -> Calendar {
    Calendar::new(
        &RRule::parse(rule).unwrap(),
        datetime(2026, 1, 1, 0, 0, 0, 0),
        zone("Europe/Berlin").unwrap(),
        DstPolicy::default(),
    )
    .unwrap()
}

fn bench_next_after(c: &mut Criterion) {
    let mut g = c.benchmark_group("calendar_next_after");
    let after: Timestamp = "2026-06-15T12:34:56Z".parse().unwrap();
    for (name, rule) in RULES {
        let cal = cal(rule);
        g.bench_with_input(BenchmarkId::from_parameter(name), &cal, |b, cal| {
            b.iter(|| black_box(cal.next_after(black_box(after))))
        });
    }
    g.finish();
}

fn bench_new(c: &mut Criterion) {
    let mut g = c.benchmark_group("calendar_new");
    for (name, rule) in RULES {
        g.bench_with_input(BenchmarkId::from_parameter(name), &rule, |b, rule| {
            b.iter(|| black_box(cal(black_box(rule))))
        });
    }
    g.finish();
}

fn every(n: u32) -> String {
    (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

/// A document of 64 tasks, each with `rrule` (DTSTART 2025-03-03, a Monday).
fn document(rrule: &str) -> String {
    let tasks: Vec<String> = (0..64)
        .map(|i| {
            format!(
                r#"{{"id": "t{i}", "trigger": {{"calendar": {{"rrule": "{rrule}", "dtstart": "2025-03-03T00:00:00", "tz": "Europe/Berlin"}}}},
                "actions": [{{"op": "Replace", "target": "./A", "data": "1"}}]}}"#
            )
        })
        .collect();
    format!(r#"{{"id": "d", "tasks": [{}]}}"#, tasks.join(","))
}

fn bench_worst(c: &mut Criterion) {
    let bomb = format!(
        "FREQ=YEARLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR={};BYMINUTE={};BYSECOND={}",
        every(24),
        every(60),
        every(60)
    );
    let mut g = c.benchmark_group("calendar_worst");
    g.sample_size(10);
    let start = datetime(2025, 3, 3, 0, 0, 0, 0);
    let rules: [(&str, &str); 7] = [
        ("new/product_every_second", &bomb),
        ("new/never_feb_30", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"),
        (
            "new/never_interval_leap",
            "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29",
        ),
        ("new/never_daily_interval", "FREQ=DAILY;INTERVAL=7;BYDAY=TU"),
        (
            "new/never_hourly_weekly",
            "FREQ=HOURLY;INTERVAL=168;BYDAY=TU",
        ),
        (
            "new/never_minutely_byhour",
            "FREQ=MINUTELY;INTERVAL=90;BYHOUR=2",
        ),
        ("new/count_100000_minutely", "FREQ=MINUTELY;COUNT=100000"),
    ];
    let tz = zone("Europe/Berlin").unwrap();
    for (name, rule) in rules {
        let r = RRule::parse(rule).unwrap();
        g.bench_function(name, |b| {
            b.iter(|| black_box(Calendar::new(&r, start, tz.clone(), DstPolicy::default()).is_ok()))
        });
    }
    let after: Timestamp = "2026-06-15T12:34:56Z".parse().unwrap();
    for (name, rule, at) in [
        ("next_after/product_every_second", bomb.as_str(), after),
        (
            "next_after/leap_day_8_years",
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
            "2096-02-29T12:00:00Z".parse().unwrap(),
        ),
        (
            "next_after/hourly_leap_day_8_years",
            "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=12",
            "2096-02-29T12:00:00Z".parse().unwrap(),
        ),
    ] {
        let cal = Calendar::new(
            &RRule::parse(rule).unwrap(),
            start,
            tz.clone(),
            DstPolicy::default(),
        )
        .unwrap();
        g.bench_function(name, |b| {
            b.iter(|| black_box(cal.next_after(black_box(at))))
        });
    }
    let limits = Limits::default();
    let t0: Timestamp = "2025-03-01T00:00:00Z".parse().unwrap();
    for (name, rule) in [
        ("check_document_64/product_every_second", bomb.as_str()),
        (
            "check_document_64/never_interval_leap",
            "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29",
        ),
        (
            "check_document_64/never_hourly_weekly",
            "FREQ=HOURLY;INTERVAL=168;BYDAY=TU",
        ),
        (
            "check_document_64/count_100000_hourly",
            "FREQ=HOURLY;COUNT=100000",
        ),
    ] {
        let doc = document(rule);
        g.bench_function(name, |b| {
            b.iter(|| black_box(check_document(&doc, &limits, t0).is_ok()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_next_after, bench_new, bench_worst);
criterion_main!(benches);
