//! Accepted package #0s as C handles (`dms_notification *`): the proof a
//! server-initiated session starts with, made only by
//! `dms_agent_accept_notification`. Ids from the core's registry, like
//! every handle: a freed, forged or other kind's handle is
//! `DMS_INVALID_HANDLE`.

use std::ffi::c_char;
use std::sync::Arc;

use dmsched_core::dm::client::AcceptedNotification;
use dmsched_core::registry::{Kind, Registry};
use dmsched_core::wire;

use crate::agent::dms_agent;
use crate::agent_handle::with_agent;
use crate::boundary::{call, fail, get, handle_err, handle_id, issue};
use crate::status::dms_status;
use crate::{emit, time};

/// An accepted package #0 (opaque; an id, never dereferenced). Made by
/// `dms_agent_accept_notification`, released by `dms_notification_free`.
pub struct dms_notification {
    _private: u8,
}

static NOTIFICATIONS: Registry<AcceptedNotification> = Registry::new(Kind::Notification);

/// Checks a package #0 (`pkg0_len` bytes from WAP push or SMS): well-formed,
/// for a provisioned server, authentic, not seen before. Accepting is
/// durable: the same bytes are refused (`DMS_NOTIFICATION_REFUSED`) from
/// then on. On success `*out` gets the proof to hand to
/// `dms_agent_run_notified_session` (free it with `dms_notification_free`)
/// and `*out_info_json` (may be NULL) what it asks for:
/// `{"server_id","session_id","ui_mode","initiator","version","vendor","used_resync_nonce"}`.
/// Threads: any thread.
///
/// # Safety
/// `pkg0` is valid for `pkg0_len` bytes; `out` is valid for one write;
/// `out_info_json` is NULL or valid for one write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_accept_notification(
    a: *mut dms_agent,
    pkg0: *const u8,
    pkg0_len: usize,
    now_ms: i64,
    out: *mut *mut dms_notification,
    out_info_json: *mut *mut c_char,
) -> dms_status {
    if out.is_null() || pkg0.is_null() {
        return call(|| {
            Err(fail(
                dms_status::DMS_INVALID_ARGUMENT,
                "pkg0 or out is NULL",
            ))
        });
    }
    with_agent(a, |agent| {
        let accepted = agent.accept_notification(arg!(slice pkg0, pkg0_len), time(now_ms)?)?;
        let info = wire::NotificationInfo::from(&accepted);
        let h: *mut dms_notification = issue(&NOTIFICATIONS, Arc::new(accepted))?;
        if let Err(s) = emit(out_info_json, &info) {
            let _ = NOTIFICATIONS.remove(handle_id(h));
            return Err(s);
        }
        put!(out, h);
        Ok(())
    })
}

/// Runs the session an accepted package #0 asks for (blocking), with its
/// server, as `dms_agent_run_session` does for the bytes: the ui-mode goes
/// to `host->interact` first (declined: `DMS_SESSION_DECLINED`, no
/// session). The proof stays valid (a failed session may be retried with
/// it, or client-initiated). `*out_summary_json` as in
/// `dms_agent_run_session`.
/// Threads: any thread; callbacks run on the calling thread.
///
/// # Safety
/// `out_summary_json` is NULL or valid for one write (handles are ids:
/// any value is safe).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_agent_run_notified_session(
    a: *mut dms_agent,
    notification: *const dms_notification,
    now_ms: i64,
    out_summary_json: *mut *mut c_char,
) -> dms_status {
    with_agent(a, |agent| {
        let accepted = get(&NOTIFICATIONS, notification)?;
        let server = accepted.notification().server_id.clone();
        let summary = agent.run_session(&server, Some(&accepted), time(now_ms)?)?;
        let summary = wire::SessionSummary::new(&server, &summary, Some(&accepted));
        emit(out_summary_json, &summary)
    })
}

/// Releases an accepted package #0. NULL is accepted (no-op); a second
/// free, or a handle that is not a live notification's, is
/// `DMS_INVALID_HANDLE` and does nothing. Any thread.
///
/// # Safety
/// None: the handle is an id, never dereferenced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dms_notification_free(n: *mut dms_notification) -> dms_status {
    call(|| match n.is_null() {
        true => Ok(()),
        false => NOTIFICATIONS
            .remove(handle_id(n))
            .map(drop)
            .map_err(handle_err),
    })
}
