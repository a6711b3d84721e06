//! Scheduling MO benchmarks, each against the engine alone in the same run
//! (the baseline: what the MO adds on top): an idle `tick` and one with a
//! task due, an install through the MO (tree Add of a JSON document, then
//! settle) against `Engine::submit`, and a Get of a schedule's State,
//! among 100 and 1000 schedules (an install is terminated after it is
//! measured and its id reused, so that the count stays put). Figures: docs/performance.md.
//!
//! Run: `cargo bench -p dmsched --bench mo`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use dmsched::engine::{Engine, EngineConfig};
use dmsched::host::Host;
use dmsched::mo::{MoConfig, Scheduling};
use dmsched::store::Store;
use dmsched::tree::{DeviceInfo, Payload, Tree, TreeConfig};
use jiff::Timestamp;

const T0: &str = "2026-01-01T00:00:00Z";

fn t0() -> Timestamp {
    T0.parse().unwrap()
}

fn at(secs: i64) -> Timestamp {
    t0().checked_add(jiff::SignedDuration::from_secs(secs))
        .unwrap()
}

/// A daily schedule starting in 2030 (nothing due in the measurement).
fn daily(id: &str, i: usize) -> String {
    format!(
        r#"{{"id": "{id}", "tasks": [{{"id": "t", "trigger": {{"calendar": {{"rrule": "FREQ=DAILY;BYHOUR={}", "dtstart": "2030-01-01T00:00:00", "tz": "Europe/Berlin"}}}},
        "actions": [{{"op": "Get", "target": "./DevInfo/Man"}}]}}]}}"#,
        i % 24
    )
}

const EVERY_SECOND: &str = r#"{"id": "pulse", "tasks": [{"id": "t", "trigger": {"every": {"seconds": 1, "anchor": "2026-01-01T00:00:00Z"}},
    "actions": [{"op": "Get", "target": "./DevInfo/Man"}]}]}"#;

fn cfg() -> EngineConfig {
    let mut c = EngineConfig::default();
    c.limits.max_schedules_per_owner = 1_000_000;
    c.limits.min_interval_seconds = 1;
    c.device_id = "IMEI:1".into();
    c
}

/// A device in full-client mode (tree, engine, MO; in memory) with `n`
/// schedules of `srv` (submitted to the engine directly).
fn device(n: usize) -> (Arc<Tree>, Arc<Scheduling>) {
    let info = DeviceInfo {
        dev_id: "IMEI:1".into(),
        man: "dmsched".into(),
        model: "bench".into(),
        lang: "en".into(),
        ..DeviceInfo::default()
    };
    let tree = Arc::new(Tree::open_in_memory(TreeConfig::new(info), t0()).unwrap());
    let host = Host {
        tree: tree.clone(),
        executor: tree.clone(),
        prompt: None,
        reports: None,
        authorizer: None,
    };
    let mut e = Engine::open(Store::open_in_memory().unwrap(), host, cfg()).unwrap();
    for i in 0..n {
        e.submit("srv", &daily(&format!("s{i}"), i), t0()).unwrap();
    }
    let mo = Scheduling::new(e, MoConfig::default(), Arc::new(t0)).unwrap();
    mo.register(&tree).unwrap();
    (tree, mo)
}

fn bench_tick(c: &mut Criterion) {
    let mut g = c.benchmark_group("mo_tick");
    for n in [100usize, 1000] {
        let (_tree, mo) = device(n);
        mo.tick(t0()).unwrap();
        g.bench_with_input(BenchmarkId::new("engine_nothing_due", n), &n, |b, _| {
            b.iter(|| black_box(mo.engine().tick(t0()).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("mo_nothing_due", n), &n, |b, _| {
            b.iter(|| black_box(mo.tick(t0()).unwrap()))
        });
        mo.engine().submit("srv", EVERY_SECOND, t0()).unwrap();
        let mut second = 0i64;
        g.bench_with_input(BenchmarkId::new("engine_one_due", n), &n, |b, _| {
            b.iter_batched(
                || {
                    second += 1;
                    at(second)
                },
                |now| black_box(mo.engine().tick(now).unwrap()),
                BatchSize::SmallInput,
            )
        });
        g.bench_with_input(BenchmarkId::new("mo_one_due", n), &n, |b, _| {
            b.iter_batched(
                || {
                    second += 1;
                    at(second)
                },
                |now| black_box(mo.tick(now).unwrap()),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn bench_install(c: &mut Criterion) {
    let mut g = c.benchmark_group("mo_install");
    g.sample_size(30);
    for n in [100usize, 1000] {
        // Each measurement on its own device, so that the installs of one
        // do not grow the other's schedule count.
        // One id, terminated after each measured install and reused by the
        // next, so that the schedule count stays `n`.
        let (tree, mo) = device(n);
        let doc = daily("m", 7);
        g.bench_with_input(BenchmarkId::new("engine_submit", n), &n, |b, _| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    black_box(mo.engine().submit("srv", &doc, t0()).unwrap());
                    spent += t.elapsed();
                    mo.engine().terminate("srv", "srv", "m", t0()).unwrap();
                }
                spent
            })
        });
        mo.refresh().unwrap();
        let p = Payload {
            mime: Some("application/json".into()),
            ..Payload::chr(&doc)
        };
        g.bench_with_input(BenchmarkId::new("mo_add_json", n), &n, |b, _| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    tree.add("srv", "./Scheduling/Schedules/m", &p, t0())
                        .unwrap();
                    black_box(mo.settle());
                    spent += t.elapsed();
                    tree.delete("srv", "./Scheduling/Schedules/m", t0())
                        .unwrap();
                    mo.settle();
                }
                spent
            })
        });
        g.bench_with_input(BenchmarkId::new("mo_get_state", n), &n, |b, _| {
            b.iter(|| black_box(tree.get("srv", "./Scheduling/Schedules/s7/State").unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_tick, bench_install);
criterion_main!(benches);
