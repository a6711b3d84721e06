//! Calendar (`when::Calendar`) costs: `next_after` on ordinary rules (the
//! engine calls it after every run), and `Calendar::new` on the same rules
//! (paid at every submit and compile). Figures: docs/performance.md.
//!
//! Run: `cargo bench -p dmsched --bench calendar`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use dmsched::when::{Calendar, DstPolicy, RRule, zone};
use jiff::Timestamp;
use jiff::civil::datetime;

/// Ordinary rules, as schedules use them.
const RULES: [(&str, &str); 6] = [
    ("daily", "FREQ=DAILY;BYHOUR=2;BYMINUTE=30"),
    ("weekdays", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9"),
    ("last_sunday", "FREQ=MONTHLY;BYDAY=-1SU;BYHOUR=3"),
    ("last_workday", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"),
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

criterion_group!(benches, bench_next_after, bench_new);
criterion_main!(benches);
