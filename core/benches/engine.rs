//! Engine benchmarks: `next_wakeup` and `tick` at 1k/10k/100k schedules,
//! `on_tree_changed` by number of watchers, durable submit against a raw
//! rusqlite insert with the same PRAGMAs, and open + recover of a
//! 100k-schedule store. Figures: docs/performance.md.
//!
//! Run: `cargo bench -p dmsched --bench engine`.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
mod support;
use dmsched::store::Store;
use dmsched::{Engine, EngineConfig};
use jiff::Timestamp;
use support::{cfg, host};

const T0: &str = "2026-01-01T00:00:00Z";

fn t0() -> Timestamp {
    T0.parse().unwrap()
}

/// A daily schedule starting in 2030 (nothing of it is due in 2026), whose
/// constraint reads three URIs watched by 100, 10 and 1 tasks respectively
/// (at 100k schedules).
fn daily(i: usize) -> String {
    let h = (i / 60) % 24;
    let m = i % 60;
    format!(
        r#"{{"id": "s{i}", "tasks": [{{"id": "t", "trigger": {{"calendar": {{"rrule": "FREQ=DAILY;BYHOUR={h};BYMINUTE={m}", "dtstart": "2030-01-01T00:00:00", "tz": "Europe/Berlin"}}}},
        "constraints": {{"require": "./Bat/{a} > 5 && ./Ten/{b} > 0 && ./One/{i} > 0"}},
        "actions": [{{"op": "Replace", "target": "./Vendor/Job/{i}", "data": "1"}}]}}]}}"#,
        a = i % 1000,
        b = i % 10_000,
    )
}

/// The one task that is due every second.
const EVERY_SECOND: &str = r#"{"id": "pulse", "tasks": [{"id": "t", "trigger": {"every": {"seconds": 1, "anchor": "2026-01-01T00:00:00Z"}},
    "actions": [{"op": "Replace", "target": "./Vendor/Pulse", "data": "1"}]}]}"#;

/// The next whole second after `t0` a tick-per-second loop runs at.
fn next_second(second: &mut i64) -> Timestamp {
    *second += 1;
    t0().checked_add(jiff::SignedDuration::from_secs(*second))
        .unwrap()
}

fn engine_with(n: usize, path: Option<&Path>) -> Engine {
    engine_with_history(n, path, cfg().history_len)
}

/// As [`engine_with`], each task keeping `history` finished occurrences.
fn engine_with_history(n: usize, path: Option<&Path>, history: usize) -> Engine {
    let store = match path {
        Some(p) => Store::open(p).unwrap(),
        None => Store::open_in_memory().unwrap(),
    };
    let c = EngineConfig {
        history_len: history,
        ..cfg()
    };
    let mut e = Engine::open(store, host(), c).unwrap();
    for i in 0..n {
        e.submit("srv", &daily(i), t0()).unwrap();
    }
    e
}

fn bench_next_wakeup(c: &mut Criterion) {
    let mut g = c.benchmark_group("next_wakeup");
    for n in [1_000usize, 10_000, 100_000] {
        let e = engine_with(n, None);
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| black_box(e.next_wakeup()))
        });
    }
    g.finish();
}

/// `tick` with nothing due, and with exactly one task due, at growing totals.
fn bench_tick(c: &mut Criterion) {
    let mut g = c.benchmark_group("tick");
    for n in [1_000usize, 10_000, 100_000] {
        let mut e = engine_with(n, None);
        let idle = t0();
        g.bench_with_input(BenchmarkId::new("nothing_due", n), &n, |b, _| {
            b.iter(|| black_box(e.tick(idle).unwrap()))
        });
        e.submit("srv", EVERY_SECOND, t0()).unwrap();
        let mut second = 0i64;
        g.bench_with_input(BenchmarkId::new("one_due", n), &n, |b, _| {
            b.iter_batched(
                || next_second(&mut second),
                |now| {
                    let f = e.tick(now).unwrap();
                    debug_assert_eq!(f.len(), 1);
                    black_box(f)
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

/// Issue 16: many tasks due in the same tick — 100 schedules whose task
/// runs every second (each run: a Replace, a result report), ticked once
/// a second; one iteration is one tick running all 100. Per firing: the
/// time / 100. In memory (CPU cost) and on disk (`synchronous = FULL`:
/// the fsyncs a device pays), among 10k idle daily schedules.
fn bench_burst(c: &mut Criterion) {
    let mut g = c.benchmark_group("burst");
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    // The run history's cost (issue 18): the same burst with none kept is
    // the same-run baseline of the default (10 per task).
    for (name, path, history) in [
        ("100_due_memory_no_history", None, 0),
        ("100_due_memory", None, cfg().history_len),
        (
            "100_due_disk",
            Some(dir.path().join("burst.db")),
            cfg().history_len,
        ),
    ] {
        if path.is_some() {
            g.sample_size(10).measurement_time(Duration::from_secs(20));
        }
        let mut e = engine_with_history(10_000, path.as_deref(), history);
        for i in 0..100 {
            let doc = EVERY_SECOND.replace(r#""id": "pulse""#, &format!(r#""id": "pulse{i}""#));
            let doc = doc.replace(
                r#""actions""#,
                r#""policy": {"report": "always"}, "actions""#,
            );
            e.submit("srv", &doc, t0()).unwrap();
        }
        assert_eq!(e.tick(t0()).unwrap().len(), 100);
        let mut second = 0i64;
        g.bench_function(name, |b| {
            b.iter_batched(
                || next_second(&mut second),
                |now| {
                    let f = e.tick(now).unwrap();
                    assert_eq!(f.len(), 100);
                    // The outbox stays small: what a server acknowledges.
                    let batch = e.pending_reports(Some("srv"), 1000).unwrap();
                    let ids: Vec<i64> = batch.reports.iter().map(|r| r.id).collect();
                    e.ack_reports("srv", &ids).unwrap();
                    black_box(f)
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

/// `on_tree_changed` of a URI watched by 0, 1, 10 or 100 tasks, among 100k schedules.
fn bench_tree_changed(c: &mut Criterion) {
    let mut g = c.benchmark_group("on_tree_changed");
    let mut e = engine_with(100_000, None);
    for (uri, watchers) in [
        ("./Nobody", 0usize),
        ("./One/7", 1),
        ("./Ten/7", 10),
        ("./Bat/7", 100),
    ] {
        let now = t0();
        g.bench_with_input(BenchmarkId::new("watchers", watchers), &watchers, |b, _| {
            b.iter(|| black_box(e.on_tree_changed(uri, now).unwrap()))
        });
    }
    g.finish();
}

/// Durable submit vs a raw rusqlite insert transaction with the same PRAGMAs, same disk.
fn bench_submit(c: &mut Criterion) {
    let mut g = c.benchmark_group("durable_submit");
    g.sample_size(30).measurement_time(Duration::from_secs(8));
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut e = engine_with(0, Some(&dir.path().join("engine.db")));
    let mut i = 0usize;
    g.bench_function("dmsched_submit", |b| {
        b.iter(|| {
            i += 1;
            e.submit("srv", &daily(i), t0()).unwrap()
        })
    });
    let conn = rusqlite::Connection::open(dir.path().join("raw.db")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, owner TEXT, name TEXT, doc TEXT)")
        .unwrap();
    let mut conn = conn;
    let mut j = 0usize;
    g.bench_function("raw_rusqlite_insert", |b| {
        b.iter(|| {
            j += 1;
            let doc = daily(j);
            let tx = conn.transaction().unwrap();
            tx.execute(
                "INSERT INTO t (owner, name, doc) VALUES ('srv', ?1, ?2)",
                rusqlite::params![format!("s{j}"), doc],
            )
            .unwrap();
            tx.commit().unwrap();
        })
    });
    g.finish();
}

/// Open + recover a store holding 100k schedules.
fn bench_open(c: &mut Criterion) {
    let mut g = c.benchmark_group("open_recover");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    // Built on tmpfs when there is one (100k durable submits on disk take
    // minutes); the copy that is opened lives on the same disk as the rest.
    let shm = Path::new("/dev/shm");
    let build_dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
    };
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let built = build_dir.path().join("big.db");
    let path = dir.path().join("big.db");
    let started = Instant::now();
    {
        let e = engine_with(100_000, Some(&built));
        drop(e);
        // Fold the WAL into the main file, then copy it to disk.
        let c = rusqlite::Connection::open(&built).unwrap();
        c.pragma_update(None, "wal_checkpoint", "TRUNCATE").unwrap();
        drop(c);
        std::fs::copy(&built, &path).unwrap();
    }
    eprintln!("built 100k-schedule store in {:?}", started.elapsed());
    g.bench_function("100k", |b| {
        b.iter(|| {
            let e = Engine::open(Store::open(&path).unwrap(), host(), cfg()).unwrap();
            black_box(e.next_wakeup())
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_next_wakeup,
    bench_tick,
    bench_burst,
    bench_tree_changed,
    bench_submit,
    bench_open
);
criterion_main!(benches);
