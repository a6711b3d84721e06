//! Per-call overhead of the C ABI: `dms_engine_tick` with nothing due
//! against `Engine::tick` on the same workload (1000 schedules), and
//! `dms_engine_next_wakeup` against `Engine::next_wakeup`. Both are served by
//! the lock-free fast path (core's `Quiet`); `tree_changed` on a URI nobody
//! watches shows the cost of a call that takes the engine's lock.
//! Run: `cargo bench -p dmsched-c --bench ffi`. Figures: docs/performance.md.

use std::ffi::{CString, c_char, c_void};
use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use dmsched::*;
use dmsched_core::store::Store;
use dmsched_core::{ActionExecutor, Engine, EngineConfig, Host, HostError, RunContext, TreeAccess};

const T0_MS: i64 = 1_767_225_600_000;

fn doc(i: usize) -> String {
    format!(
        r#"{{"id": "s{i}", "tasks": [{{"id": "t", "trigger": {{"calendar": {{"rrule": "FREQ=DAILY;BYHOUR={}", "dtstart": "2030-01-01T00:00:00", "tz": "UTC"}}}}, "actions": [{{"op": "Exec", "target": "./Job"}}]}}]}}"#,
        i % 24
    )
}

struct Nop;
impl TreeAccess for Nop {
    fn read(&self, _: &str, _: &str) -> Result<Option<dmsched_core::expr::Value>, HostError> {
        Ok(None)
    }
}
impl ActionExecutor for Nop {
    fn execute(
        &self,
        _: &RunContext,
        _: &[dmsched_core::model::Action],
    ) -> Result<Vec<dmsched_core::model::CommandResult>, HostError> {
        Ok(vec![])
    }
}

unsafe extern "C" fn c_read(
    _: *mut c_void,
    _: *const c_char,
    _: *const c_char,
    _: *mut dms_buffer,
) -> i32 {
    0
}
unsafe extern "C" fn c_exec(
    _: *mut c_void,
    _: *const c_char,
    _: *const c_char,
    _: *mut dms_buffer,
) -> i32 {
    0
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ffi_overhead");
    // Rust API.
    let nop = Arc::new(Nop);
    let host = Host {
        tree: nop.clone(),
        executor: nop,
        prompt: None,
        reports: None,
        authorizer: None,
    };
    let mut engine = Engine::open(
        Store::open_in_memory().unwrap(),
        host,
        EngineConfig::default(),
    )
    .unwrap();
    let now = jiff::Timestamp::from_millisecond(T0_MS).unwrap();
    for i in 0..1000 {
        engine.submit("srv", &doc(i), now).unwrap();
    }
    g.bench_function("rust_tick_nothing_due", |b| {
        b.iter(|| black_box(engine.tick(now).unwrap()))
    });
    g.bench_function("rust_next_wakeup", |b| {
        b.iter(|| black_box(engine.next_wakeup()))
    });
    g.bench_function("rust_tree_changed_unwatched", |b| {
        b.iter(|| black_box(engine.on_tree_changed("./Nobody", now).unwrap()))
    });

    // C ABI, same workload.
    let path = CString::new(":memory:").unwrap();
    let cfg = dms_config {
        struct_size: std::mem::size_of::<dms_config>() as u32,
        store_path: path.as_ptr(),
        device_id: std::ptr::null(),
        time_zone: std::ptr::null(),
        options_json: std::ptr::null(),
        log_level: DMS_LOG_OFF,
    };
    let h = dms_host {
        struct_size: std::mem::size_of::<dms_host>() as u32,
        user_data: std::ptr::null_mut(),
        tree_read: Some(c_read),
        execute: Some(c_exec),
        confirm: None,
        report_ready: None,
        authorize: None,
        log: None,
        destroy: None,
        personalize: None,
    };
    let mut e: *mut dms_engine = std::ptr::null_mut();
    // SAFETY: valid pointers for the call.
    assert_eq!(
        unsafe { dms_engine_open(&cfg, &h, &mut e) },
        dms_status::DMS_OK
    );
    let owner = CString::new("srv").unwrap();
    for i in 0..1000 {
        let d = CString::new(doc(i)).unwrap();
        // SAFETY: valid handle and strings.
        let st = unsafe {
            dms_engine_submit(e, owner.as_ptr(), d.as_ptr(), T0_MS, std::ptr::null_mut())
        };
        assert_eq!(st, dms_status::DMS_OK);
    }
    g.bench_function("c_tick_nothing_due", |b| {
        // SAFETY: valid handle; no output requested.
        b.iter(|| black_box(unsafe { dms_engine_tick(e, T0_MS, std::ptr::null_mut()) }))
    });
    g.bench_function("c_tick_nothing_due_with_output", |b| {
        let mut out: *mut c_char = std::ptr::null_mut();
        // SAFETY: valid handle and out-pointer; the string is freed.
        b.iter(|| unsafe {
            black_box(dms_engine_tick(e, T0_MS, &mut out));
            dms_string_free(out);
        })
    });
    let uri = CString::new("./Nobody").unwrap();
    g.bench_function("c_tree_changed_unwatched", |b| {
        // SAFETY: valid handle and string; no output requested.
        b.iter(|| {
            black_box(unsafe {
                dms_engine_tree_changed(e, uri.as_ptr(), T0_MS, std::ptr::null_mut())
            })
        })
    });
    let (mut ms, mut has) = (0i64, false);
    g.bench_function("c_next_wakeup", |b| {
        // SAFETY: valid handle and out-pointers.
        b.iter(|| black_box(unsafe { dms_engine_next_wakeup(e, &mut ms, &mut has) }))
    });
    // SAFETY: valid handle, closed once.
    unsafe { dms_engine_close(e) };
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
