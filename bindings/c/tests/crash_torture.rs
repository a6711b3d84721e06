//! Crash torture through the C ABI (issue 13; 6.1.7.3): a child process
//! drives an engine only through `dms_engine_*` (open, submit, tick,
//! pending_reports, ack_reports, close) with a C `execute` callback, on a
//! simulated clock; the parent SIGKILLs it at random points. Restarts come
//! back 1 s to 3 periods late (the device was off), a third of the tasks
//! have an `until` such late ticks pass. At the end: no acknowledged
//! schedule lost, no at-most-once occurrence run twice, no at-least-once
//! occurrence lost, every occurrence before its task's end exactly one final
//! outcome in the reports (logged before each ack, or still queued), none
//! after.
//!
//! `cargo test` kills 250 times; `make soak` sets `DMSCHED_TORTURE_KILLS`
//! (1000).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ffi::{CStr, CString, c_char, c_void};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use dmsched::{
    dms_buffer, dms_buffer_set, dms_config, dms_engine, dms_engine_ack_reports, dms_engine_close,
    dms_engine_list, dms_engine_open, dms_engine_pending_reports, dms_engine_submit,
    dms_engine_tick, dms_host, dms_status, dms_string_free,
};
use rand::{RngExt, SeedableRng};
use serde_json::Value;

const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const END: i64 = T0 + 400;
const PERIOD: i64 = 7;
const SCHEDULES: i64 = 30;

fn until_of(k: i64) -> Option<i64> {
    (k % 3 == 1).then(|| T0 + 10 * k + 4 * PERIOD + 3)
}

fn iso(s: i64) -> String {
    jiff::Timestamp::from_second(s).unwrap().to_string()
}

fn schedule_doc(k: i64) -> String {
    let delivery = if k % 2 == 0 {
        "at_least_once"
    } else {
        "at_most_once"
    };
    let termination = until_of(k)
        .map(|u| format!(r#", "termination": {{"until": "{}"}}"#, iso(u)))
        .unwrap_or_default();
    format!(
        r#"{{"id": "s{k}", "tasks": [{{"id": "t", "trigger": {{"every": {{"seconds": {PERIOD}, "anchor": "2026-01-01T00:00:00Z"}}}},
            "actions": [{{"op": "Exec", "target": "./Vendor/Job/{k}"}}],
            "policy": {{"delivery": "{delivery}", "misfire": "all", "misfire_cap": 1000, "report": "always"}}{termination}}}]}}"#
    )
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// The C `execute` callback: `user_data` is the exec log's path (a
/// NUL-terminated string); one line `schedule due` per execution.
unsafe extern "C" fn execute(
    user_data: *mut c_void,
    context_json: *const c_char,
    actions_json: *const c_char,
    results: *mut dms_buffer,
) -> i32 {
    let log = unsafe { CStr::from_ptr(user_data as *const c_char) }
        .to_str()
        .unwrap();
    let ctx: Value =
        serde_json::from_str(unsafe { CStr::from_ptr(context_json) }.to_str().unwrap()).unwrap();
    let due = ctx["due"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_second();
    // A record of exactly 64 bytes: the log's length stays a multiple of
    // 64, so no record straddles a page of the file, and a SIGKILL cannot
    // cut one in two (the kernel may stop a write at a page boundary when
    // a fatal signal is pending: a torn line failed this test once).
    let rec = format!("{} {due}", ctx["schedule"].as_str().unwrap());
    let line = format!("{rec:<63}\n");
    assert_eq!(line.len(), 64, "{rec}");
    append(Path::new(log), &line);
    let actions: Value =
        serde_json::from_str(unsafe { CStr::from_ptr(actions_json) }.to_str().unwrap()).unwrap();
    let out: Vec<Value> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| serde_json::json!({"op": a["op"], "target": a["target"], "status": 200}))
        .collect();
    let text = serde_json::to_string(&out).unwrap();
    unsafe { dms_buffer_set(results, text.as_ptr() as *const c_char, text.len()) };
    0
}

/// The C `tree_read` callback: no node exists.
unsafe extern "C" fn tree_read(
    _: *mut c_void,
    _owner: *const c_char,
    _uri: *const c_char,
    _value: *mut dms_buffer,
) -> i32 {
    0
}

struct Engine(*mut dms_engine);

impl Engine {
    fn open(dir: &Path, exec_log: &CString) -> Engine {
        let path = CString::new(dir.join("store.db").to_str().unwrap()).unwrap();
        let device = CString::new("torture").unwrap();
        let options =
            CString::new(r#"{"limits": {"min_interval_seconds": 1}, "outbox_capacity": 1000000}"#)
                .unwrap();
        let mut cfg: dms_config = unsafe { std::mem::zeroed() };
        cfg.struct_size = std::mem::size_of::<dms_config>() as u32;
        cfg.store_path = path.as_ptr();
        cfg.device_id = device.as_ptr();
        cfg.options_json = options.as_ptr();
        let mut host: dms_host = unsafe { std::mem::zeroed() };
        host.struct_size = std::mem::size_of::<dms_host>() as u32;
        host.user_data = exec_log.as_ptr() as *mut c_void;
        host.execute = Some(execute);
        host.tree_read = Some(tree_read);
        let mut e = std::ptr::null_mut();
        let st = unsafe { dms_engine_open(&cfg, &host, &mut e) };
        assert_eq!(st, dms_status::DMS_OK, "dms_engine_open: {}", unsafe {
            CStr::from_ptr(dmsched::dms_last_error()).to_string_lossy()
        });
        Engine(e)
    }

    fn call(&self, f: impl FnOnce(*mut *mut c_char) -> dms_status) -> Result<String, dms_status> {
        let mut out: *mut c_char = std::ptr::null_mut();
        let st = f(&mut out);
        let text = if out.is_null() {
            String::new()
        } else {
            let s = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_string();
            unsafe { dms_string_free(out) };
            s
        };
        if st == dms_status::DMS_OK {
            Ok(text)
        } else {
            Err(st)
        }
    }

    fn reports(&self) -> Vec<(i64, Value)> {
        let owner = CString::new("srv").unwrap();
        let json = self
            .call(|out| unsafe {
                dms_engine_pending_reports(self.0, owner.as_ptr(), 1_000_000, out)
            })
            .unwrap();
        let v: Value = serde_json::from_str(&json).unwrap();
        v["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["id"].as_i64().unwrap(), r["firing"].clone()))
            .collect()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        unsafe { dms_engine_close(self.0) };
    }
}

fn report_line(f: &Value) -> String {
    let due = f["due"]
        .as_str()
        .unwrap()
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_second();
    format!(
        "{} {due} {}\n",
        f["schedule"].as_str().unwrap(),
        f["outcome"].as_str().unwrap()
    )
}

/// The child: a second at a time to END, submitting a schedule every 10 s,
/// logging and acknowledging reports now and then.
#[test]
#[ignore = "the child process of sigkill_through_the_c_abi_loses_and_duplicates_nothing"]
fn c_torture_child() {
    let dir = PathBuf::from(std::env::var("DMSCHED_C_TORTURE_CHILD").expect("run by the parent"));
    let exec_log = CString::new(dir.join("exec.log").to_str().unwrap()).unwrap();
    let e = Engine::open(&dir, &exec_log);
    let clock = dir.join("clock");
    let mut now = match std::fs::read_to_string(&clock)
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
    {
        Some(last) => (last + 1 + (last * 7919) % (3 * PERIOD)).min(END),
        None => T0,
    };
    let owner = CString::new("srv").unwrap();
    while now <= END {
        let tmp = dir.join("clock.tmp");
        std::fs::write(&tmp, now.to_string()).unwrap();
        std::fs::rename(&tmp, &clock).unwrap();
        let k = (now - T0) / 10;
        if (now - T0) % 10 == 0 && k < SCHEDULES {
            let doc = CString::new(schedule_doc(k)).unwrap();
            match e.call(|out| unsafe {
                dms_engine_submit(e.0, owner.as_ptr(), doc.as_ptr(), now * 1000, out)
            }) {
                Ok(_) => append(&dir.join("ack.log"), &format!("s{k}\n")),
                Err(dms_status::DMS_ALREADY_EXISTS) => {}
                Err(st) => panic!("submit: {st:?}"),
            }
        }
        e.call(|out| unsafe { dms_engine_tick(e.0, now * 1000, out) })
            .unwrap();
        if now % 13 == 0 {
            let reports = e.reports();
            let lines: String = reports.iter().map(|(_, f)| report_line(f)).collect();
            append(&dir.join("reports.log"), &lines);
            let ids: Vec<i64> = reports.iter().map(|(id, _)| *id).collect();
            let st = unsafe {
                dms_engine_ack_reports(
                    e.0,
                    owner.as_ptr(),
                    ids.as_ptr(),
                    ids.len(),
                    std::ptr::null_mut(),
                )
            };
            assert_eq!(st, dms_status::DMS_OK);
        }
        now += 1;
    }
}

fn spawn_child(dir: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "c_torture_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("DMSCHED_C_TORTURE_CHILD", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    }
}

#[test]
fn sigkill_through_the_c_abi_loses_and_duplicates_nothing() {
    let target: usize = std::env::var("DMSCHED_TORTURE_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(250);
    let dir = scratch_dir();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xC0FF_EE42);
    let (mut kills, mut rounds, mut attempts) = (0, 0, 0);
    while kills < target {
        attempts += 1;
        assert!(
            attempts < 20 * target,
            "the child finished too early to be killed enough"
        );
        let mut child = spawn_child(dir.path());
        std::thread::sleep(Duration::from_micros(rng.random_range(2_000..40_000)));
        match child.try_wait().unwrap() {
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                kills += 1;
            }
            Some(status) => {
                let mut err = String::new();
                std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
                assert!(status.success(), "child failed: {err}");
                verify(dir.path());
                rounds += 1;
                for f in [
                    "store.db",
                    "store.db-wal",
                    "store.db-shm",
                    "clock",
                    "ack.log",
                    "exec.log",
                    "reports.log",
                ] {
                    let _ = std::fs::remove_file(dir.path().join(f));
                }
            }
        }
    }
    let out = spawn_child(dir.path()).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    verify(dir.path());
    eprintln!(
        "c torture: {kills} kills, {} histories verified",
        rounds + 1
    );
}

fn verify(dir: &Path) {
    let acked: HashSet<String> = std::fs::read_to_string(dir.join("ack.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    let exec_log = CString::new(dir.join("verify-exec.log").to_str().unwrap()).unwrap();
    let e = Engine::open(dir, &exec_log);
    let list: Value = serde_json::from_str(
        &e.call(|out| unsafe { dms_engine_list(e.0, std::ptr::null(), out) })
            .unwrap(),
    )
    .unwrap();
    let mut stored: BTreeMap<String, i64> = BTreeMap::new();
    for s in list.as_array().unwrap() {
        let accepted = s["accepted_at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second();
        stored.insert(s["id"].as_str().unwrap().to_string(), accepted);
    }
    for id in &acked {
        assert!(
            stored.contains_key(id),
            "acknowledged schedule {id} was lost"
        );
    }
    let mut logged = std::fs::read_to_string(dir.join("reports.log")).unwrap_or_default();
    for (_, f) in e.reports() {
        logged.push_str(&report_line(&f));
    }
    drop(e);
    let mut runs: BTreeMap<(String, i64), usize> = BTreeMap::new();
    for line in std::fs::read_to_string(dir.join("exec.log"))
        .unwrap_or_default()
        .lines()
    {
        let (s, due) = line
            .trim_end()
            .split_once(' ')
            .unwrap_or_else(|| panic!("torn line {line:?}"));
        *runs
            .entry((s.to_string(), due.parse().unwrap()))
            .or_default() += 1;
    }
    let mut outcomes: BTreeMap<(String, i64), BTreeSet<String>> = BTreeMap::new();
    for line in logged.lines() {
        let mut it = line.split(' ');
        let (Some(s), Some(due), Some(outcome)) = (it.next(), it.next(), it.next()) else {
            panic!("torn report line {line:?}")
        };
        if outcome != "deferred" {
            outcomes
                .entry((s.to_string(), due.parse().unwrap()))
                .or_default()
                .insert(outcome.to_string());
        }
    }
    let mut checked = 0;
    for (id, from) in &stored {
        let k: i64 = id[1..].parse().unwrap();
        let at_least_once = k % 2 == 0;
        let first = T0 + (from - T0 + PERIOD - 1) / PERIOD * PERIOD;
        let end = until_of(k).map_or(END, |u| (u - 1).min(END));
        for due in (first..=END).step_by(PERIOD as usize) {
            let n = runs.get(&(id.clone(), due)).copied().unwrap_or(0);
            let got = outcomes.get(&(id.clone(), due));
            if due > end {
                assert!(
                    got.is_none() && n == 0,
                    "{id} @ {due} after its end: ran {n}, {got:?}"
                );
                continue;
            }
            if at_least_once {
                assert!(n >= 1, "{id} @ {due} never ran (at least once)");
            } else {
                assert!(n <= 1, "{id} @ {due} ran {n} times (at most once)");
            }
            assert!(
                got.is_some_and(|o| o.len() == 1),
                "{id} @ {due}: final outcomes {got:?} (exactly one expected; ran {n})"
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "too little was checked: {checked}");
}
