//! Full-client mode: the core's `Agent` (the SDK's own DM tree, engine,
//! Scheduling MO, DM client and HTTPS transport over one state directory)
//! behind an opaque `dms_agent` handle. Each function converts its
//! arguments, calls the agent and converts the result or the error.

use std::ffi::c_char;

use std::mem::offset_of;

use dmsched_core::agent::Agent;
use dmsched_core::expr::Value as ExprValue;
use dmsched_core::wire;
use serde_json::Value;

use crate::agent_config::agent_config;
use crate::agent_handle::{self, Extras, with_agent};
use crate::agent_host::{AGENT_HOST_V1_SIZE, agent_host, dms_agent_host, secret_store};
use crate::boundary::{call, fail, guard, put_string};
use crate::log::{CLog, DMS_LOG_OFF};
use crate::status::dms_status;
use crate::{emit, time};
use dmsched_core::input;

/// A full-client agent: the device's DM tree, scheduling engine, Scheduling
/// MO and DM client over one state directory. Opaque; made by
/// `dms_agent_open`, released by `dms_agent_close`. The pointer value is an
/// id: it is never dereferenced, and never reused once closed.
pub struct dms_agent {
    _private: u8,
}

pub(crate) fn invalid(what: &str, e: impl std::fmt::Display) -> dms_status {
    fail(dms_status::DMS_INVALID_ARGUMENT, format!("{what}: {e}"))
}

/// Opens (creating) an agent over the state directory of `config_json` at
/// `now_ms` (Unix ms, UTC, as everywhere in this API): its tree with the
/// standard MOs and `./Scheduling`, its engine (settling firings a crash
/// interrupted), its DM client. `config_json` is
/// `{"dir", "device": {"dev_id","man","model","lang", "dev_typ"?,"oem"?,"fw_v"?,"sw_v"?,"hw_v"?,"lrg_obj"?},
/// "engine"?: {...}, "encoding"?: "xml"|"wbxml", "http_timeout_seconds"?,
/// "mo"?: {"root"?,"mo_type"?,"report_type"?,"state_type"?,"root_acl"?},
/// "report_retry"?: {"first_seconds"?,"max_seconds"?}, "log_level"?}`
/// where `engine` takes the keys of `dms_config.options_json` plus
/// `time_zone` and `device_id` (default: the DevId), e.g.
/// `{"time_zone": "Europe/Paris", "limits": {"min_interval_seconds": 60}}`;
/// `mo` places and names the Scheduling MO (defaults `./Scheduling`,
/// `org.dmsched/1.0/Scheduling`, report Meta Types
/// `org.dmsched.scheduling.result` and `org.dmsched.scheduling.state`, root
/// ACL `Add=*&Delete=*&Exec=*&Get=*&Replace=*`); `report_retry` is the
/// backoff of `dms_agent_deliver_reports` (default 30 s, doubling, at most
/// 3600 s apart). Unknown keys are refused; the text and each section
/// must be JSON objects; `log_level` is `DMS_LOG_OFF` … `DMS_LOG_TRACE`;
/// `dev_id`, `engine.device_id` and `engine.time_zone` are at most 256
/// bytes without control characters (else `DMS_INVALID_ARGUMENT`).
/// `host` may be NULL (no callbacks). On success writes the handle to
/// `*out`; on failure `*out` is not written and `host->destroy` is not
/// called. Any thread; the handle may then be used from any thread.
///
/// # Safety
/// `config_json` is NUL-terminated; `host` is NULL or valid, its callbacks
/// and `user_data` valid until `dms_agent_close`; `out` valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_open(
    config_json: *const c_char,
    host: *const dms_agent_host,
    now_ms: i64,
    out: *mut *mut dms_agent,
) -> dms_status {
    call(|| {
        arg!(out out);
        let (mut cfg, log_level) = agent_config(arg!(config_json))?;
        let now = time(now_ms)?;
        // `secrets` (added in 0.1) is optional.
        let h = match host.is_null() {
            true => None,
            false => {
                Some(arg!(sized host, offset_of!(dms_agent_host, secrets), AGENT_HOST_V1_SIZE))
            }
        };
        let log = match h.and_then(|h| h.log) {
            Some(f) if log_level > DMS_LOG_OFF => Some(tracing::Dispatch::new(CLog {
                f,
                user_data: h.map_or(std::ptr::null_mut(), |h| h.user_data),
                max: log_level,
            })),
            _ => None,
        };
        let (core_host, adopted) = agent_host(h);
        cfg.secrets = secret_store(h.as_ref(), adopted.as_ref())?;
        let open = || Agent::open(cfg, core_host, now);
        let agent = match &log {
            Some(d) => tracing::dispatcher::with_default(d, open),
            None => open(),
        }?;
        let extras = Extras {
            log,
            host: adopted.clone(),
        };
        put!(out, agent_handle::register(agent, extras)?);
        // The host is only adopted (and destroyed at close) on success.
        if let Some(c) = &adopted {
            c.1.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(())
    })
}

/// Closes an agent: waits for calls in progress on other threads, releases
/// everything, then calls `host->destroy(user_data)`. NULL is accepted
/// (no-op). A second close returns `DMS_INVALID_HANDLE` and does nothing;
/// so does any handle that is not an open agent's (never issued, or an
/// engine's).
/// From inside one of the agent's own callbacks the handle is closed at
/// once and the agent released when that call returns. Any thread.
///
/// # Safety
/// None: the handle is an id, never dereferenced (any value is safe).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_close(a: *mut dms_agent) -> dms_status {
    guard(|| match a.is_null() {
        true => dms_status::DMS_OK,
        false => agent_handle::close(a),
    })
}

/// Provisions a DM account (bootstrap) from an account file's JSON:
/// `{"server_id","server_url","name"?,"client": {"auth": "BASIC"|"DIGEST"|"HMAC","name","secret","nonce"?},
/// "server": {...} | "allow_unauthenticated_server": true, "ca_pem"?: "path",
/// "allow_plain_http"?, "encoding"?}` (nonces base64; a JSON object,
/// `server_id` 1–256 bytes without control characters; the server must
/// authenticate itself unless the account opts out, docs/dm-client.md).
/// `ca_pem` (may be NULL) is the server's trust anchor as
/// PEM text; without it the file's `ca_pem` path (relative to the working
/// directory) or the public roots are trusted. `*out_server_id` (may be
/// NULL) gets the server id (free with `dms_string_free`). The server
/// already has an account: `DMS_ALREADY_EXISTS`; a malformed file:
/// `DMS_INVALID_ARGUMENT`; an unusable one: `DMS_NO_ACCOUNT`.
/// Threads: any thread.
///
/// # Safety
/// Strings are NUL-terminated (`ca_pem` may be NULL); `out_server_id` is
/// NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_provision(
    a: *mut dms_agent,
    account_json: *const c_char,
    ca_pem: *const c_char,
    now_ms: i64,
    out_server_id: *mut *mut c_char,
) -> dms_status {
    with_agent(a, |agent| {
        let (account, ca) = (arg!(account_json), arg!(ca_pem?));
        let fields = input::json_object(account, "account_json")?;
        input::objects_at(&fields, &["client", "server"], "account_json")?;
        if let Some(Value::String(id)) = fields.get("server_id") {
            input::server_id(id, "account_json.server_id")?;
        }
        put_string(
            out_server_id,
            agent.provision(account, ca, None, time(now_ms)?)?,
        );
        Ok(())
    })
}

/// Runs one DM session (blocking until it ends) and hands reports waiting
/// for the server to it (acknowledged ones are removed).
/// Client-initiated when `pkg0` is NULL: `server_id` is then required.
/// With `pkg0` (`pkg0_len` bytes of a package #0, e.g. from WAP push or
/// SMS), the notification is first checked — well-formed, authentic, not
/// seen before: accepting it is durable, the same bytes are refused from
/// then on, even if the session then fails — and the session answers it;
/// `server_id` may be NULL (the notification's server) or must match. The
/// notification's ui-mode goes to `host->interact` (ui-mode 3 without it,
/// or refused: `DMS_SESSION_DECLINED`, no session).
/// `*out_summary_json` (may be NULL) gets
/// `{"server_id","sent","received","statuses": [{"command","code"}],"alerts_delivered","aborted","notification": null | {"server_id","session_id","ui_mode","initiator","version","vendor","used_resync_nonce"}}`
/// (`ui_mode`: `not_specified`, `background`, `informative`,
/// `user_interaction`; the same JSON as the JNI bridge's).
/// Errors: `DMS_NO_ACCOUNT`, `DMS_NOTIFICATION_REFUSED`,
/// `DMS_SESSION_DECLINED`, `DMS_SESSION_REJECTED`, `DMS_PROTOCOL`,
/// `DMS_TRANSPORT`, `DMS_STORAGE`.
/// Threads: any thread; callbacks run on the calling thread.
///
/// # Safety
/// `server_id` is NULL or NUL-terminated; `pkg0` is NULL or valid for
/// `pkg0_len` bytes; `out_summary_json` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_run_session(
    a: *mut dms_agent,
    server_id: *const c_char,
    pkg0: *const u8,
    pkg0_len: usize,
    now_ms: i64,
    out_summary_json: *mut *mut c_char,
) -> dms_status {
    with_agent(a, |agent| {
        let server = arg!(server server_id?);
        let now = time(now_ms)?;
        let accepted = match pkg0.is_null() {
            true => None,
            false => Some(agent.accept_notification(arg!(slice pkg0, pkg0_len), now)?),
        };
        let server = match (server, &accepted) {
            (Some(s), _) => s,
            (None, Some(n)) => n.notification().server_id.as_str(),
            (None, None) => {
                return Err(fail(
                    dms_status::DMS_INVALID_ARGUMENT,
                    "server_id is NULL and no package #0 is given",
                ));
            }
        };
        let summary = agent.run_session(server, accepted.as_ref(), now)?;
        let summary = wire::SessionSummary::new(server, &summary, accepted.as_ref());
        emit(out_summary_json, &summary)
    })
}

/// Runs what is due at `now_ms`: tasks run on the agent's own tree with
/// their owner's rights, or, with `host->execute` (hand-off mode), through
/// that callback. `*out_firings_json` (may be NULL) gets the
/// finished occurrences as in `dms_engine_tick` (an empty array is the
/// static `"[]"`; free it with `dms_string_free` all the same).
/// Threads: any thread.
///
/// # Safety
/// `out_firings_json` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_tick(
    a: *mut dms_agent,
    now_ms: i64,
    out_firings_json: *mut *mut c_char,
) -> dms_status {
    with_agent(a, |agent| {
        emit(out_firings_json, &agent.tick(time(now_ms)?)?)
    })
}

/// The earliest instant (Unix ms) at which `dms_agent_tick` or
/// `dms_agent_deliver_reports` has work (a due run, reports to deliver at
/// once, a delivery retry); `*out_has` is false when nothing is scheduled
/// by time. Any thread.
///
/// # Safety
/// `out_ms` and `out_has` are valid for one write each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_next_wakeup(
    a: *const dms_agent,
    out_ms: *mut i64,
    out_has: *mut bool,
) -> dms_status {
    with_agent(a, |agent| {
        if out_ms.is_null() || out_has.is_null() {
            return Err(fail(
                dms_status::DMS_INVALID_ARGUMENT,
                "out_ms or out_has is NULL",
            ));
        }
        let w = agent.next_wakeup();
        put!(out_has, w.is_some());
        put!(out_ms, w.map_or(0, |t| t.as_millisecond()));
        Ok(())
    })
}

/// For an inexact alarm: any instant in `[*out_earliest_ms,
/// *out_latest_ms]` is a good time to call `dms_agent_tick` /
/// `dms_agent_deliver_reports` (the engine's window, narrowed to a delivery
/// of reports due at once when that comes first); `*out_has` is false when
/// nothing is scheduled by time. Any thread.
///
/// # Safety
/// `out_earliest_ms`, `out_latest_ms` and `out_has` are valid for one
/// write each.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_wakeup_window(
    a: *const dms_agent,
    out_earliest_ms: *mut i64,
    out_latest_ms: *mut i64,
    out_has: *mut bool,
) -> dms_status {
    with_agent(a, |agent| {
        crate::put_window(
            out_earliest_ms,
            out_latest_ms,
            out_has,
            agent.wakeup_window(),
        )
    })
}

/// The device changed time zone (`time_zone`: an IANA name, at most 256
/// bytes): tasks using `"local"` are re-planned from `now_ms`, as
/// `dms_engine_set_time_zone`. An unknown zone: `DMS_INVALID_ARGUMENT`,
/// nothing changed. Any thread.
///
/// # Safety
/// `time_zone` is NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_set_time_zone(
    a: *mut dms_agent,
    time_zone: *const c_char,
    now_ms: i64,
) -> dms_status {
    with_agent(a, |agent| {
        Ok(agent.set_time_zone(arg!(text time_zone), time(now_ms)?)?)
    })
}

/// The user's choices for schedule `id` of server `server_id`
/// (personalisation), as `dms_engine_personalize`; the server is told in a
/// `personalized` state report with its next session. `out_info`: the
/// schedule as JSON (NULL: not wanted). Any thread (not from inside a
/// callback).
///
/// # Safety
/// Strings are NUL-terminated; `out_info` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_personalize(
    a: *mut dms_agent,
    server_id: *const c_char,
    id: *const c_char,
    choices_json: *const c_char,
    now_ms: i64,
    out_info: *mut *mut c_char,
) -> dms_status {
    with_agent(a, |agent| {
        let (s, i) = (arg!(server server_id), arg!(schedule id));
        let info = agent.personalize(s, i, arg!(choices_json), time(now_ms)?)?;
        emit(out_info, &info)
    })
}

/// Hand-off mode: completes run `run_id` that `host->execute` left running
/// (it returned `DMS_EXECUTE_PENDING`), as `dms_engine_complete` does for
/// an engine; the reports wait for the owner's next session (or go at once
/// per the task). Errors: `DMS_INVALID_STATE` for a run that is not
/// waiting, `DMS_INVALID_ARGUMENT` for malformed results. Any thread (not
/// from inside a callback).
///
/// # Safety
/// `results_json` is NUL-terminated; `out_firings_json` is NULL or valid
/// for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_complete(
    a: *mut dms_agent,
    run_id: i64,
    results_json: *const c_char,
    now_ms: i64,
    out_firings_json: *mut *mut c_char,
) -> dms_status {
    with_agent(a, |agent| {
        let results = crate::callbacks::results_of(arg!(results_json).as_bytes())
            .map_err(|h| fail(dms_status::DMS_INVALID_ARGUMENT, h.0))?;
        emit(
            out_firings_json,
            &agent.complete(run_id, results, time(now_ms)?)?,
        )
    })
}

/// Posts a device event `{"name": "...", "fields": {...}}` (as
/// `dms_engine_post_event`). Output as `dms_agent_tick`. Any thread.
///
/// # Safety
/// `event_json` is NUL-terminated; `out_firings_json` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_post_event(
    a: *mut dms_agent,
    event_json: *const c_char,
    now_ms: i64,
    out_firings_json: *mut *mut c_char,
) -> dms_status {
    with_agent(a, |agent| {
        let ev = input::event(arg!(event_json), "event_json")?;
        emit(out_firings_json, &agent.post_event(&ev, time(now_ms)?)?)
    })
}

/// Sets leaf `uri` of the agent's tree, as the device, to `value_json`
/// (`42`, `1.5`, `true`, `"text"`: the node's format follows the value);
/// an absent leaf is created, with any missing interior nodes above it.
/// Wakes the tasks whose triggers or conditions read it. Output as
/// `dms_agent_tick`. A node the device may not write:
/// `DMS_PERMISSION_DENIED`; a bad URI or value: `DMS_INVALID_ARGUMENT`.
/// Any thread.
///
/// # Safety
/// `uri` and `value_json` are NUL-terminated; `out_firings_json` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_set_value(
    a: *mut dms_agent,
    uri: *const c_char,
    value_json: *const c_char,
    now_ms: i64,
    out_firings_json: *mut *mut c_char,
) -> dms_status {
    with_agent(a, |agent| {
        let u = arg!(uri);
        let v: ExprValue =
            serde_json::from_str(arg!(value_json)).map_err(|e| invalid("value_json", e))?;
        emit(out_firings_json, &agent.set_value(u, &v, time(now_ms)?)?)
    })
}

/// Every schedule on the device as a JSON array (as `dms_engine_list` with
/// a NULL requester). Free with `dms_string_free`. Any thread.
///
/// # Safety
/// `out_json` is valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_schedules(
    a: *const dms_agent,
    out_json: *mut *mut c_char,
) -> dms_status {
    with_agent(a, |agent| {
        arg!(out out_json);
        emit(out_json, &agent.schedules()?)
    })
}

/// Delivers reports whose task asks for immediate delivery
/// (`policy.report_delivery: "immediate"`, MO `Report/Delivery`): opens a
/// session (blocking, one after the other) to each server that has such
/// reports waiting, unless a failed attempt put it off until after
/// `now_ms`. A server that cannot be reached, or leaves reports
/// unacknowledged, is tried again after the `report_retry` backoff (see
/// `dms_agent_next_wakeup`). `*out_json` (may be NULL) gets one entry per
/// server tried:
/// `[{"server_id","delivered","error": null | "why","retry_at_ms": null | ms,"attempts"}]`
/// (`delivered`: reports the server acknowledged; `attempts`: failed
/// attempts in a row, 0 after a success); nothing to do is the static
/// `"[]"` (free it with `dms_string_free` all the same). A failed session
/// is an entry, not an error status. Threads: any thread; callbacks run on
/// the calling thread.
///
/// # Safety
/// `out_json` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_deliver_reports(
    a: *mut dms_agent,
    now_ms: i64,
    out_json: *mut *mut c_char,
) -> dms_status {
    with_agent(a, |agent| {
        let done = agent.deliver_reports(time(now_ms)?)?;
        emit(
            out_json,
            &done.iter().map(wire::Delivery::from).collect::<Vec<_>>(),
        )
    })
}

/// The servers that have reports for immediate delivery waiting (what
/// `dms_agent_deliver_reports` would try, backoff aside), as a JSON array
/// of server ids. Free with `dms_string_free`. Any thread.
///
/// # Safety
/// `out_json` is valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_reports_to_deliver(
    a: *const dms_agent,
    out_json: *mut *mut c_char,
) -> dms_status {
    with_agent(a, |agent| {
        arg!(out out_json);
        emit(out_json, &agent.reports_to_deliver())
    })
}

/// The result reports waiting for `server_id` (they go with its next
/// session as Generic Alerts 1226), oldest first, as a JSON array of
/// `{"id","owner","source","meta_type","mark","data","report_id","created_ms","evicted"}`
/// (`data`: the XML the server receives; `report_id`: the report's stable
/// identifier, the same on every delivery, also in `data`; `created_ms`:
/// its creation time; `evicted`: 0, except in the report telling the
/// server how many of its reports the full queue dropped). Free with
/// `dms_string_free`. Any thread.
///
/// # Safety
/// `server_id` is NUL-terminated; `out_json` is valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_pending_reports(
    a: *const dms_agent,
    server_id: *const c_char,
    out_json: *mut *mut c_char,
) -> dms_status {
    with_agent(a, |agent| {
        arg!(out out_json);
        let reports = agent.pending_reports(arg!(server server_id))?;
        emit(
            out_json,
            &reports.iter().map(wire::MoReport::from).collect::<Vec<_>>(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn agents_may_be_called_from_several_threads() {
        assert_send_sync::<Agent>();
    }

    #[test]
    fn handles_never_opened_are_refused() {
        for forged in [1, 2, 0x10, 0x12, usize::MAX] {
            let st = with_agent(std::ptr::without_provenance(forged), |_| Ok(()));
            assert_eq!(st, dms_status::DMS_INVALID_HANDLE, "{forged:#x}");
        }
    }
}
