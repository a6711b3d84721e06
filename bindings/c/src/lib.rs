//! The C ABI of dmsched (hand-off mode): a C DM client keeps its own tree
//! and protocol and hands scheduling to the SDK through `include/dmsched.h`.
//!
//! Conventions: every function returns a `dms_status` (0 = OK); results come
//! through out-parameters written only on success; strings the SDK returns
//! are freed with `dms_string_free`; the last failure's message on the
//! calling thread is `dms_last_error()`; no panic crosses the boundary.
//! Instants are Unix milliseconds (UTC). Data crosses as JSON (the schedule
//! document of `docs/schedule-format.md`; the other shapes are documented per
//! function). Bindings only translate: every decision is in the core.
//!
//! Full-client mode (`dms_agent_*`): the SDK keeps the DM tree and runs the
//! DM client itself (see `agent.rs`).
#![allow(non_camel_case_types)]
#![warn(missing_docs)]

#[macro_use]
mod boundary;
#[cfg(feature = "agent")]
mod agent;
#[cfg(feature = "agent")]
mod agent_config;
#[cfg(feature = "agent")]
mod agent_handle;
#[cfg(feature = "agent")]
mod agent_host;
mod callbacks;
mod handle;
mod log;
#[cfg(feature = "agent")]
mod notification;
#[cfg(test)]
mod parity;
mod status;

use std::ffi::c_char;
use std::path::Path;

use dmsched_core::input;
use dmsched_core::store::Store;
use dmsched_core::{Engine, EngineConfig, EngineError};
use jiff::Timestamp;

#[cfg(feature = "agent")]
pub use agent::{
    dms_agent, dms_agent_close, dms_agent_complete, dms_agent_deliver_reports,
    dms_agent_next_wakeup, dms_agent_open, dms_agent_pending_reports, dms_agent_personalize,
    dms_agent_post_event, dms_agent_provision, dms_agent_reports_to_deliver, dms_agent_run_session,
    dms_agent_schedules, dms_agent_set_time_zone, dms_agent_set_value, dms_agent_tick,
    dms_agent_wakeup_window,
};
#[cfg(feature = "agent")]
pub use agent_host::{dms_agent_host, dms_interact_fn, dms_ui_answer};
use boundary::{EMPTY_ARRAY, call, fail, guard, put_string};
pub use callbacks::{
    DMS_EXECUTE_PENDING, dms_access, dms_authorize_fn, dms_buffer, dms_confirm_fn, dms_destroy_fn,
    dms_execute_fn, dms_host, dms_prompt_answer, dms_report_ready_fn, dms_tree_read_fn,
};
use handle::{with_engine, with_quiet};
pub use log::{
    DMS_LOG_DEBUG, DMS_LOG_ERROR, DMS_LOG_INFO, DMS_LOG_OFF, DMS_LOG_TRACE, DMS_LOG_WARN,
    dms_log_fn,
};
#[cfg(feature = "agent")]
pub use notification::{
    dms_agent_accept_notification, dms_agent_run_notified_session, dms_notification,
    dms_notification_free,
};
pub use status::dms_status;

/// Major version of the library and header.
pub const DMS_VERSION_MAJOR: u32 = 0;
/// Minor version.
pub const DMS_VERSION_MINOR: u32 = 1;
/// Patch version.
pub const DMS_VERSION_PATCH: u32 = 0;

/// An engine: a schedule store, its evaluator and the host's callbacks.
/// Opaque; made by `dms_engine_open`, released by `dms_engine_close`. The
/// pointer value is an id: it is never dereferenced, and never reused once
/// closed (a stale handle never reaches a newer engine).
pub struct dms_engine {
    _private: u8,
}

/// `sizeof(dms_config)` in 0.1: what `struct_size` 0 stands for. Never
/// changes when members are appended: then it
/// becomes `offset_of!(dms_config, <first new member>)`.
const CONFIG_V1_SIZE: usize = std::mem::size_of::<dms_config>();

/// How to open an engine. `store_path` is required; the others may be NULL.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dms_config {
    /// `sizeof` this struct as the host was compiled (set it first, e.g.
    /// `x.struct_size = sizeof x`): members added in later versions are
    /// appended, and the library reads only what the host's header had
    /// (0: the 0.1 layout).
    pub struct_size: u32,
    /// The SQLite store file (created if absent); `":memory:"` for a private in-memory store.
    /// One engine per file: while an engine has it open, another open (this
    /// process or another) fails with `DMS_STORAGE` ("in use"). A file that is
    /// not a dmsched store is refused with `DMS_CORRUPT_STORE` and left
    /// untouched; an empty string is `DMS_INVALID_ARGUMENT`.
    pub store_path: *const c_char,
    /// This device's id (seeds the deterministic jitter); NULL for
    /// `"device"`. At most 256 bytes, no control characters.
    pub device_id: *const c_char,
    /// The device's IANA time zone (used by `"tz": "local"`); NULL for `"UTC"`.
    /// At most 256 bytes, no control characters.
    pub time_zone: *const c_char,
    /// NULL, or a JSON object overriding engine settings: `limits` (see
    /// docs/schedule-format.md), `misfire_grace_seconds`, `outbox_capacity`,
    /// `max_misfire_records`, `keep_loaded_seconds` (a schedule with
    /// nothing due sooner is unloaded from memory between uses, default
    /// 900; `null`: keep every schedule loaded; docs/performance.md).
    pub options_json: *const c_char,
    /// `DMS_LOG_OFF` (0) … `DMS_LOG_TRACE` (5): lines at or above it go to
    /// `host->log`. Any other value is `DMS_INVALID_ARGUMENT`.
    pub log_level: i32,
}

fn time(ms: i64) -> Result<Timestamp, dms_status> {
    Timestamp::from_millisecond(ms).map_err(|e| {
        fail(
            dms_status::DMS_INVALID_ARGUMENT,
            format!("time {ms} ms: {e}"),
        )
    })
}

/// Writes `v` as a new JSON string to `*out` (nothing when `out` is NULL).
fn emit<T: serde::Serialize>(out: *mut *mut c_char, v: &T) -> Result<(), dms_status> {
    if !out.is_null() {
        let j =
            serde_json::to_string(v).map_err(|e| fail(dms_status::DMS_INTERNAL, e.to_string()))?;
        put_string(out, j);
    }
    Ok(())
}

/// The library version, e.g. `"0.1.0"` (static; do not free). Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn dms_version() -> *const c_char {
    c"0.1.0".as_ptr()
}

/// The message of the last failed call on this thread (static until the
/// thread's next failing call; do not free). Never NULL. Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn dms_last_error() -> *const c_char {
    boundary::last_error_ptr()
}

/// The name of a status value (`"DMS_NOT_FOUND"`); `"DMS_UNKNOWN_STATUS"`
/// for a value that is none. The string is static: never free it. Any
/// thread.
#[unsafe(no_mangle)]
pub extern "C" fn dms_status_str(status: i32) -> *const c_char {
    status::status_name(status).as_ptr()
}

/// Frees a string returned by this library. NULL is accepted. Any thread.
///
/// # Safety
/// `s` is NULL or a string returned by this library and not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_string_free(s: *mut c_char) {
    boundary::free_string(s);
}

/// Sets a callback's output buffer to `len` bytes at `data` (copied).
/// Threads: call it from inside a callback, on the callback's thread.
///
/// # Safety
/// `buffer` is the buffer passed to the callback; `data` is valid for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_buffer_set(
    buffer: *mut dms_buffer,
    data: *const c_char,
    len: usize,
) -> dms_status {
    call(|| {
        let b = arg!(mut buffer);
        let data = data.cast::<u8>();
        b.data.clear();
        b.data.extend_from_slice(arg!(slice data, len));
        b.set = true;
        Ok(())
    })
}

/// Opens an engine on a store: restores every schedule, settles firings a
/// crash interrupted. On success writes the handle to `*out`. On failure
/// (bad arguments, corrupt store: `DMS_CORRUPT_STORE`, the file is left
/// untouched) `host->destroy` is not called and `*out` is not written.
/// Any thread; the handle may then be used from any thread (calls are
/// serialised).
///
/// # Safety
/// `config`, `host` and `out` are valid pointers; the strings in `config` are
/// NUL-terminated or NULL; the callbacks and `user_data` stay valid until
/// `dms_engine_close`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_engine_open(
    config: *const dms_config,
    host: *const dms_host,
    out: *mut *mut dms_engine,
) -> dms_status {
    call(|| {
        if config.is_null() || host.is_null() || out.is_null() {
            return Err(fail(
                dms_status::DMS_INVALID_ARGUMENT,
                "config, host or out is NULL",
            ));
        }
        let cfg_c = arg!(sized config, CONFIG_V1_SIZE, CONFIG_V1_SIZE);
        let host_c = arg!(sized host, callbacks::HOST_V1_SIZE, callbacks::HOST_V1_SIZE);
        if host_c.tree_read.is_none() || host_c.execute.is_none() {
            return Err(fail(
                dms_status::DMS_INVALID_ARGUMENT,
                "host->tree_read and host->execute are required",
            ));
        }
        let path = arg!(cfg_c.store_path => "config->store_path");
        let mut cfg = match arg!(cfg_c.options_json => "config->options_json", ?) {
            Some(j) => EngineConfig::from_json(j).map_err(|e| {
                fail(
                    dms_status::DMS_INVALID_ARGUMENT,
                    format!("config->options_json: {e}"),
                )
            })?,
            None => EngineConfig::default(),
        };
        if let Some(d) = arg!(cfg_c.device_id => "config->device_id", ?) {
            cfg.device_id = input::short_text(d, "config->device_id")?.to_string();
        }
        if let Some(z) = arg!(cfg_c.time_zone => "config->time_zone", ?) {
            cfg.time_zone = input::short_text(z, "config->time_zone")?.to_string();
        }
        let max = log::level(cfg_c.log_level, "config->log_level")?;
        let store = if path == ":memory:" {
            Store::open_in_memory()
        } else {
            Store::open(Path::new(path))
        }
        .map_err(EngineError::Storage)?;
        let (core_host, adopted) = callbacks::core_host(host_c);
        let engine = Engine::open(store, core_host, cfg)?;
        let log = match host_c.log {
            Some(f) if max > DMS_LOG_OFF => Some(tracing::Dispatch::new(log::CLog {
                f,
                user_data: host_c.user_data,
                max,
            })),
            _ => None,
        };
        put!(out, handle::register(engine, log)?);
        // The host is adopted (destroyed at close) only once the handle is out.
        adopted.1.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    })
}

/// Closes an engine: waits for a call in progress on another thread, then
/// releases everything and calls `host->destroy(user_data)`. NULL is
/// accepted (no-op). Closing a handle twice returns `DMS_INVALID_HANDLE`
/// the second time and does nothing; so does any handle that is not an
/// open engine's (never issued, or an agent's). Any thread.
///
/// # Safety
/// None: the handle is an id, never dereferenced (any value is safe).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_engine_close(e: *mut dms_engine) -> dms_status {
    guard(|| {
        if e.is_null() {
            return dms_status::DMS_OK;
        }
        handle::close(e)
    })
}

/// Verifies and stores a schedule (JSON document) for server `owner` and
/// activates it; durable when this returns. `*out_info` (may be NULL) gets
/// the schedule's state as JSON (free with `dms_string_free`). Invalid
/// documents: `DMS_INVALID_SCHEDULE`, with one `JSON-path: message` per line
/// in `dms_last_error()`; nothing is stored. Server ids (`owner`, and
/// `requester` elsewhere) are 1–256 bytes without control characters and
/// schedule ids 1–64 of `A-Z a-z 0-9 _ . -`, in every function; others are
/// `DMS_INVALID_ARGUMENT`.
/// Threads: any thread; calls on one engine are serialised.
///
/// # Safety
/// Strings are NUL-terminated; `out_info` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_engine_submit(
    e: *mut dms_engine,
    owner: *const c_char,
    schedule_json: *const c_char,
    now_ms: i64,
    out_info: *mut *mut c_char,
) -> dms_status {
    with_engine(e, |eng| {
        let info = eng.submit(arg!(server owner), arg!(schedule_json), time(now_ms)?)?;
        emit(out_info, &info)
    })
}

/// Replaces the document of a live schedule of `owner` (the id is taken from
/// the document), on behalf of server `requester`. Output as `dms_engine_submit`.
/// Threads: any thread; calls on one engine are serialised.
///
/// # Safety
/// As `dms_engine_submit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_engine_modify(
    e: *mut dms_engine,
    requester: *const c_char,
    owner: *const c_char,
    schedule_json: *const c_char,
    now_ms: i64,
    out_info: *mut *mut c_char,
) -> dms_status {
    with_engine(e, |eng| {
        let (r, o) = (arg!(server requester), arg!(server owner));
        let info = eng.modify(r, o, arg!(schedule_json), time(now_ms)?)?;
        emit(out_info, &info)
    })
}

/// The user's choices for schedule `id` of `owner` (personalisation, use
/// case step 4), from the host — a settings screen, or an answer given
/// after `host->personalize` returned none: `choices_json` is a JSON object
/// of parameter id → a window `{"start": "HH:MM", "end": "HH:MM"}`, a
/// number of seconds, or `true`/`false`; a parameter left out is back to
/// the server's default. Out of the server's bounds:
/// `DMS_INVALID_SCHEDULE` with the problem, nothing changed; a schedule
/// without parameters: `DMS_INVALID_ARGUMENT`. Stored with the schedule
/// and applied from `now_ms` on. Output as `dms_engine_submit` (the
/// document's `personalize.choices`). Threads: any thread; calls on one
/// engine are serialised.
///
/// # Safety
/// Strings are NUL-terminated; `out_info` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_engine_personalize(
    e: *mut dms_engine,
    owner: *const c_char,
    id: *const c_char,
    choices_json: *const c_char,
    now_ms: i64,
    out_info: *mut *mut c_char,
) -> dms_status {
    with_engine(e, |eng| {
        let (o, i) = (arg!(server owner), arg!(schedule id));
        let choices = dmsched_core::input::choices(arg!(choices_json), "choices_json")?;
        let info = eng.personalize(o, i, &choices, time(now_ms)?)?;
        emit(out_info, &info)
    })
}

/// What `lifecycle` does to a schedule.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum dms_lifecycle {
    /// Nothing runs until resumed.
    DMS_SUSPEND = 0,
    /// Runs again; occurrences during the suspension are not run (each is
    /// recorded skipped).
    DMS_RESUME = 1,
    /// Ends it for good.
    DMS_TERMINATE = 2,
}

/// Suspends, resumes or terminates schedule `id` of `owner` on behalf of
/// `requester`. `action` is a `dms_lifecycle` value, passed as `int32_t`:
/// any other value is `DMS_INVALID_ARGUMENT` (an out-of-range value of a C
/// enum parameter would be undefined behaviour on the Rust side).
/// `*out_info` (may be NULL) gets its state as JSON.
/// Threads: any thread; calls on one engine are serialised.
///
/// # Safety
/// As `dms_engine_submit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_engine_lifecycle(
    e: *mut dms_engine,
    requester: *const c_char,
    owner: *const c_char,
    id: *const c_char,
    action: i32,
    now_ms: i64,
    out_info: *mut *mut c_char,
) -> dms_status {
    with_engine(e, |eng| {
        let run = match action {
            0 => Engine::suspend,
            1 => Engine::resume,
            2 => Engine::terminate,
            other => {
                return Err(fail(
                    dms_status::DMS_INVALID_ARGUMENT,
                    format!(
                        "action {other} is not a dms_lifecycle (DMS_SUSPEND, DMS_RESUME, DMS_TERMINATE)"
                    ),
                ));
            }
        };
        let (r, o, i) = (
            arg!(server requester),
            arg!(server owner),
            arg!(schedule id),
        );
        let info = run(eng, r, o, i, time(now_ms)?)?;
        emit(out_info, &info)
    })
}

/// Schedule `id` of `owner` as JSON (state, next run, last outcome, why it
/// waits, the document), if `requester` may read it. Free `*out_info` with
/// `dms_string_free`.
/// Threads: any thread; calls on one engine are serialised.
///
/// # Safety
/// As `dms_engine_submit`; `out_info` must not be NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_engine_get(
    e: *mut dms_engine,
    requester: *const c_char,
    owner: *const c_char,
    id: *const c_char,
    out_info: *mut *mut c_char,
) -> dms_status {
    with_engine(e, |eng| {
        arg!(out out_info);
        let (r, o, i) = (
            arg!(server requester),
            arg!(server owner),
            arg!(schedule id),
        );
        emit(out_info, &eng.get(r, o, i)?)
    })
}

/// The schedules `requester` may read as a JSON array; `requester` NULL
/// lists every schedule (the device's own view). Free with `dms_string_free`.
/// Threads: any thread; calls on one engine are serialised.
///
/// # Safety
/// `requester` is NULL or NUL-terminated; `out_json` is valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_engine_list(
    e: *mut dms_engine,
    requester: *const c_char,
    out_json: *mut *mut c_char,
) -> dms_status {
    with_engine(e, |eng| {
        arg!(out out_json);
        let list = match arg!(server requester?) {
            Some(r) => eng.list(r),
            None => eng.list_all(),
        }?;
        emit(out_json, &list)
    })
}

/// For an inexact alarm (WorkManager, a job scheduler): any instant in
/// `[*out_earliest_ms, *out_latest_ms]` (Unix ms) is a good time to call
/// `dms_engine_tick`; waking at the latest runs every waiting task whose
/// constraints hold with the fewest wake-ups. `*out_has` is false (both
/// instants 0) when nothing is scheduled by time. Any thread.
///
/// # Safety
/// `out_earliest_ms`, `out_latest_ms` and `out_has` are valid for one
/// write each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_engine_wakeup_window(
    e: *const dms_engine,
    out_earliest_ms: *mut i64,
    out_latest_ms: *mut i64,
    out_has: *mut bool,
) -> dms_status {
    with_engine(e, |eng| {
        put_window(out_earliest_ms, out_latest_ms, out_has, eng.wakeup_window())
    })
}

/// Writes a wake-up window to the out-parameters (`DMS_INVALID_ARGUMENT`
/// if one is NULL).
///
/// # Safety
/// Each pointer is NULL or valid for one write.
pub(crate) fn put_window(
    earliest: *mut i64,
    latest: *mut i64,
    has: *mut bool,
    w: Option<(Timestamp, Timestamp)>,
) -> Result<(), dms_status> {
    if earliest.is_null() || latest.is_null() || has.is_null() {
        return Err(fail(
            dms_status::DMS_INVALID_ARGUMENT,
            "out_earliest_ms, out_latest_ms or out_has is NULL",
        ));
    }
    put!(has, w.is_some());
    put!(earliest, w.map_or(0, |(e, _)| e.as_millisecond()));
    put!(latest, w.map_or(0, |(_, l)| l.as_millisecond()));
    Ok(())
}

/// The earliest instant (Unix ms) at which `dms_engine_tick` has work:
/// `*out_has` is false when nothing is scheduled by time. Arm one alarm for
/// it. Any thread; answered without the engine's lock (the value published
/// after the last call) unless a call is in progress on another thread.
///
/// # Safety
/// `out_ms` and `out_has` are valid for one write each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_engine_next_wakeup(
    e: *const dms_engine,
    out_ms: *mut i64,
    out_has: *mut bool,
) -> dms_status {
    guard(|| {
        if out_ms.is_null() || out_has.is_null() {
            return fail(
                dms_status::DMS_INVALID_ARGUMENT,
                "out_ms or out_has is NULL",
            );
        }
        let put = |w: Option<i64>| {
            put!(out_has, w.is_some());
            put!(out_ms, w.unwrap_or(0));
        };
        if with_quiet(e, |q| q.next_wakeup().map(put).is_some()) {
            return dms_status::DMS_OK;
        }
        with_engine(e, |eng| {
            put(eng.next_wakeup().map(|t| t.as_millisecond()));
            Ok(())
        })
    })
}

/// Runs everything due at `now_ms`; actions go to `host->execute`.
/// `*out_firings` (may be NULL) gets a JSON array of the occurrences that
/// finished (`{"owner","schedule","task","seq","due","run_at","outcome","reason","attempts","results"}`).
/// Threads: any thread; calls on one engine are serialised. A tick with
/// nothing to do (before the next wake-up, not before the latest `now_ms`
/// seen, nothing settled waiting) is answered without taking the engine's
/// lock and without allocating (`*out_firings` is then a static `"[]"`,
/// still freed with `dms_string_free`).
///
/// # Safety
/// `out_firings` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_engine_tick(
    e: *mut dms_engine,
    now_ms: i64,
    out_firings: *mut *mut c_char,
) -> dms_status {
    guard(|| {
        if with_quiet(e, |q| q.tick_is_noop(now_ms)) {
            put!(out_firings, EMPTY_ARRAY.as_ptr().cast_mut());
            return dms_status::DMS_OK;
        }
        with_engine(e, |eng| emit(out_firings, &eng.tick(time(now_ms)?)?))
    })
}

/// Completes run `run_id` — one `host->execute` left running by returning
/// `DMS_EXECUTE_PENDING` (`run_id` of its `context_json`) — with
/// `results_json`, a JSON array of `{"op","target","status","data"?}` per
/// command run: the attempt ends as if `execute` had returned them (retried
/// after its backoff if one failed, else the occurrence ran or failed and is
/// reported per its policy). The run survives restarts until completed, or
/// until the task's `completion_timeout_seconds` pass (a failed attempt).
/// `*out_firings` (may be NULL) as `dms_engine_tick`. A run that is not
/// waiting (finished, timed out, completed already, never started):
/// `DMS_INVALID_STATE`, nothing changed; malformed results:
/// `DMS_INVALID_ARGUMENT`. Threads: any thread, also long after the call
/// that started the run (not from inside a callback).
///
/// # Safety
/// `results_json` is NUL-terminated; `out_firings` is NULL or valid for
/// one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_engine_complete(
    e: *mut dms_engine,
    run_id: i64,
    results_json: *const c_char,
    now_ms: i64,
    out_firings: *mut *mut c_char,
) -> dms_status {
    with_engine(e, |eng| {
        let results = callbacks::results_of(arg!(results_json).as_bytes())
            .map_err(|h| fail(dms_status::DMS_INVALID_ARGUMENT, h.0))?;
        emit(out_firings, &eng.complete(run_id, results, time(now_ms)?)?)
    })
}

/// Posts a device event `{"name": "...", "fields": {...}}`: wakes only the
/// tasks that watch that name. Output as `dms_engine_tick`. The event must
/// be a JSON object, its name an event name of the schedule format (1–64 of
/// `A-Z a-z 0-9 _ . -`), `fields` an object: else `DMS_INVALID_ARGUMENT`.
/// Threads: any thread; calls on one engine are serialised.
///
/// # Safety
/// `event_json` is NUL-terminated; `out_firings` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_engine_post_event(
    e: *mut dms_engine,
    event_json: *const c_char,
    now_ms: i64,
    out_firings: *mut *mut c_char,
) -> dms_status {
    with_engine(e, |eng| {
        let ev = input::event(arg!(event_json), "event_json")?;
        emit(out_firings, &eng.on_event(&ev, time(now_ms)?)?)
    })
}

/// Tells the engine that tree node `uri` changed: wakes only the tasks whose
/// conditions read it. Output as `dms_engine_tick`. `uri` is `.` or `./A/B`
/// (at most 1024 bytes; else `DMS_INVALID_ARGUMENT`).
/// Threads: any thread; calls on one engine are serialised.
///
/// # Safety
/// `uri` is NUL-terminated; `out_firings` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_engine_tree_changed(
    e: *mut dms_engine,
    uri: *const c_char,
    now_ms: i64,
    out_firings: *mut *mut c_char,
) -> dms_status {
    with_engine(e, |eng| {
        emit(
            out_firings,
            &eng.on_tree_changed(arg!(uri uri), time(now_ms)?)?,
        )
    })
}

/// Reports waiting in the outbox for `owner` (every owner when NULL), oldest
/// first, at most `limit`, as `{"reports": [{"id", "report_id", "created",
/// "firing"}], "dropped": n}` (`report_id`: the report's stable identifier,
/// the same on every delivery; `created`: RFC 3339; `dropped`: reports of
/// that owner evicted from the full outbox since its last acknowledgement,
/// with `dropped_report_id`, `dropped_created` and `dropped_names` — what
/// was dropped, `schedule/task#seq outcome, report <id>`, the last 32 —
/// when > 0). Free with `dms_string_free`.
/// Threads: any thread; calls on one engine are serialised.
///
/// # Safety
/// `owner` is NULL or NUL-terminated; `out_json` is valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_engine_pending_reports(
    e: *mut dms_engine,
    owner: *const c_char,
    limit: usize,
    out_json: *mut *mut c_char,
) -> dms_status {
    with_engine(e, |eng| {
        arg!(out out_json);
        emit(out_json, &eng.pending_reports(arg!(server owner?), limit)?)
    })
}

/// `owner`'s server received reports `ids[0..count]`: remove them (ids of
/// other owners are ignored). `*out_removed` (may be NULL) gets how many
/// were removed.
/// Threads: any thread; calls on one engine are serialised.
///
/// # Safety
/// `owner` is NUL-terminated; `ids` is valid for `count` reads (or NULL when 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_engine_ack_reports(
    e: *mut dms_engine,
    owner: *const c_char,
    ids: *const i64,
    count: usize,
    out_removed: *mut usize,
) -> dms_status {
    with_engine(e, |eng| {
        let owner = arg!(server owner);
        put!(out_removed, eng.ack_reports(owner, arg!(slice ids, count))?);
        Ok(())
    })
}

/// The device's time zone changed (IANA name or `UTC`): schedules using
/// `"local"` are re-planned.
/// Threads: any thread; calls on one engine are serialised.
///
/// # Safety
/// `time_zone` is NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_engine_set_time_zone(
    e: *mut dms_engine,
    time_zone: *const c_char,
    now_ms: i64,
) -> dms_status {
    with_engine(e, |eng| {
        Ok(eng.set_time_zone(arg!(text time_zone), time(now_ms)?)?)
    })
}
