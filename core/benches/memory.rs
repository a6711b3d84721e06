//! Issue 16: heap bytes per schedule, measured with a counting allocator
//! (Rust's heap only: SQLite's page cache is its own malloc and lives in
//! the store, not in the engine). For N daily schedules (one task each, a
//! calendar trigger, a constraint, one Replace):
//!
//! - loaded: right after N submits (every schedule compiled in memory);
//! - restarted: the store reopened (schedules cold: head and timers only);
//! - steady: the restarted engine after a simulated day of ticks, once a
//!   minute, in which every schedule ran once.
//!
//! And the price of unloading: the cost of a daily schedule's run (one
//! tick a minute, 1440 schedules, each due once a day) with every
//! schedule kept loaded (`keep_loaded_seconds: null`, as before issue 16)
//! and with the default (each run loads its schedule back first).
//!
//! Run: `cargo bench -p dmsched --bench memory` (N = 10k and 100k; the
//! stores live in DMSCHED_BENCH_DIR when it is set, else in /dev/shm when
//! there is one, else under target/). Figures: docs/performance.md.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicIsize, Ordering};

use dmsched::store::Store;
use dmsched::{Engine, EngineConfig};
use jiff::{SignedDuration, Timestamp};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(p, l, n) }
    }
}

mod support;
use support::{cfg, host};

#[global_allocator]
static A: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

const T0: &str = "2026-03-02T00:00:00Z";

/// Daily at a minute of the day spread over the schedules, in Berlin time.
fn daily(i: usize) -> String {
    let h = (i / 60) % 24;
    let m = i % 60;
    format!(
        r#"{{"id": "s{i}", "tasks": [{{"id": "t", "trigger": {{"calendar": {{"rrule": "FREQ=DAILY;BYHOUR={h};BYMINUTE={m}", "dtstart": "2026-03-01T00:00:00", "tz": "Europe/Berlin"}}}},
        "constraints": {{"require": "./Bat/{a} > 5"}},
        "actions": [{{"op": "Replace", "target": "./Vendor/Job/{i}", "data": "1"}}]}}]}}"#,
        a = i % 1000,
    )
}

fn open(path: &Path) -> Engine {
    open_with(path, cfg())
}

fn open_with(path: &Path, c: EngineConfig) -> Engine {
    Engine::open(Store::open(path).unwrap(), host(), c).unwrap()
}

/// Per tick that runs one daily schedule, on the second day (the first
/// loads everything once either way).
fn run_cost(dir: &Path, keep: Option<u64>) -> f64 {
    let path = dir.join(format!("runs-{keep:?}.db"));
    let t0: Timestamp = T0.parse().unwrap();
    let c = EngineConfig {
        keep_loaded_seconds: keep,
        ..cfg()
    };
    let mut e = open_with(&path, c.clone());
    for i in 0..1440 {
        e.submit("srv", &daily(i), t0).unwrap();
    }
    let mut now = t0;
    let mut spent = std::time::Duration::ZERO;
    for day in 0..2 {
        for _ in 0..1440 {
            now = now.checked_add(SignedDuration::from_secs(60)).unwrap();
            let started = std::time::Instant::now();
            let n = e.tick(now).unwrap().len();
            if day == 1 {
                spent += started.elapsed();
                assert_eq!(n, 1);
            }
        }
    }
    spent.as_secs_f64() * 1e6 / 1440.0
}

fn measure(n: usize, dir: &Path) {
    let path = dir.join(format!("mem-{n}.db"));
    let t0: Timestamp = T0.parse().unwrap();
    let base = live();
    let mut e = open(&path);
    let empty = live() - base;
    for i in 0..n {
        e.submit("srv", &daily(i), t0).unwrap();
    }
    let loaded = live() - base - empty;
    drop(e);
    let base = live();
    let mut e = open(&path);
    let restarted = live() - base;
    let mut runs = 0usize;
    let mut now = t0;
    for _ in 0..(24 * 60 + 1) {
        now = now.checked_add(SignedDuration::from_secs(60)).unwrap();
        runs += e.tick(now).unwrap().len();
    }
    let steady = live() - base;
    let per = |b: isize| b as f64 / n as f64;
    println!(
        "{n:>7} schedules: loaded {:6.0} B, restarted {:6.0} B, steady after a day ({runs} runs) {:6.0} B per schedule",
        per(loaded),
        per(restarted),
        per(steady)
    );
    drop(e);
}

fn main() {
    let shm = Path::new("/dev/shm");
    let dir = if let Some(d) = std::env::var_os("DMSCHED_BENCH_DIR") {
        tempfile::tempdir_in(d).unwrap()
    } else if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap()
    };
    for n in [10_000, 100_000] {
        measure(n, dir.path());
    }
    let loaded = run_cost(dir.path(), None);
    let unloaded = run_cost(dir.path(), EngineConfig::default().keep_loaded_seconds);
    println!(
        "a daily schedule's run (tick + run + fsync on {}): kept loaded {loaded:.1} µs, loaded back first {unloaded:.1} µs ({:+.1} µs)",
        dir.path().display(),
        unloaded - loaded
    );
}
