//! Routes the core's `tracing` events to the host's log callback, per
//! engine: each engine call runs with that engine's subscriber as the
//! thread's default, so two engines with two callbacks never mix.

use std::ffi::{CString, c_char, c_void};
use std::fmt::Write;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::boundary::fail;
use crate::status::dms_status;

/// Receives one log line: `level` 1 = error … 5 = trace, `target` such as
/// `dmsched::engine`, `message` with its fields. Never receives secrets.
pub type dms_log_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        level: i32,
        target: *const c_char,
        message: *const c_char,
    ),
>;

/// Log levels for `dms_config.log_level` (an `int32_t`: any other value is
/// `DMS_INVALID_ARGUMENT`).
pub const DMS_LOG_OFF: i32 = 0;
/// Errors only.
pub const DMS_LOG_ERROR: i32 = 1;
/// And warnings.
pub const DMS_LOG_WARN: i32 = 2;
/// And information (lifecycle, clock changes).
pub const DMS_LOG_INFO: i32 = 3;
/// And debugging detail.
pub const DMS_LOG_DEBUG: i32 = 4;
/// Everything.
pub const DMS_LOG_TRACE: i32 = 5;

/// A log level given by the host (`dms_config.log_level`, `config_json`'s
/// `log_level`): `DMS_LOG_OFF` … `DMS_LOG_TRACE`, anything else refused.
pub(crate) fn level(v: i32, what: &str) -> Result<i32, dms_status> {
    if (DMS_LOG_OFF..=DMS_LOG_TRACE).contains(&v) {
        Ok(v)
    } else {
        Err(fail(
            dms_status::DMS_INVALID_ARGUMENT,
            format!(
                "{what} {v} is not a log level (DMS_LOG_OFF 0 … DMS_LOG_TRACE {DMS_LOG_TRACE})"
            ),
        ))
    }
}

fn rank(l: &Level) -> i32 {
    match *l {
        Level::ERROR => DMS_LOG_ERROR,
        Level::WARN => DMS_LOG_WARN,
        Level::INFO => DMS_LOG_INFO,
        Level::DEBUG => DMS_LOG_DEBUG,
        Level::TRACE => DMS_LOG_TRACE,
    }
}

/// A subscriber that formats events and hands them to the C callback.
pub(crate) struct CLog {
    pub(crate) f: unsafe extern "C" fn(*mut c_void, i32, *const c_char, *const c_char),
    pub(crate) user_data: *mut c_void,
    pub(crate) max: i32,
}

// SAFETY: the header documents that callbacks and `user_data` must be usable
// from any thread that calls into the engine.
unsafe impl Send for CLog {}
// SAFETY: as above.
unsafe impl Sync for CLog {}

struct Line(String);

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl Subscriber for CLog {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        rank(m.level()) <= self.max
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, e: &Event<'_>) {
        let mut line = Line(String::new());
        e.record(&mut line);
        let target = CString::new(e.metadata().target().replace('\0', "")).unwrap_or_default();
        let msg = CString::new(line.0.replace('\0', "")).unwrap_or_default();
        // SAFETY: the host supplied this function; the strings live for the call.
        unsafe {
            (self.f)(
                self.user_data,
                rank(e.metadata().level()),
                target.as_ptr(),
                msg.as_ptr(),
            )
        };
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}
