//! One logging init for every platform: the library's `tracing` events go
//! to logcat (tracing-android) on Android, to os_log (tracing-oslog,
//! subsystem `org.dmsched`) on Apple platforms, and to a host `LogSink`
//! everywhere. `init_logging` may be called again to change the level or
//! the sink; the subscriber itself is installed once per process.

use std::fmt::Write as _;
use std::sync::{Arc, Once, RwLock};

use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// How much to log. `Off` logs nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    /// Nothing.
    Off,
    /// Failures.
    Error,
    /// Things the host should look at (a run interrupted by a restart …).
    Warn,
    /// Lifecycle: schedules accepted, changed, ended; clock changes.
    Info,
    /// Every occurrence.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    fn of(l: &tracing::Level) -> LogLevel {
        match *l {
            tracing::Level::ERROR => LogLevel::Error,
            tracing::Level::WARN => LogLevel::Warn,
            tracing::Level::INFO => LogLevel::Info,
            tracing::Level::DEBUG => LogLevel::Debug,
            tracing::Level::TRACE => LogLevel::Trace,
        }
    }

    fn admits(self, l: &tracing::Level) -> bool {
        self != LogLevel::Off && LogLevel::of(l) <= self
    }
}

/// Receives the library's log lines (any thread; keep it quick; it must not
/// call into an engine).
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    /// One event: its level, its target (e.g. `dmsched::engine`) and its
    /// message with fields as `key=value`.
    fn log(&self, level: LogLevel, target: String, message: String);
}

struct State {
    level: LogLevel,
    sink: Option<Arc<dyn LogSink>>,
}

static STATE: RwLock<State> = RwLock::new(State {
    level: LogLevel::Off,
    sink: None,
});
static INSTALL: Once = Once::new();

fn level() -> LogLevel {
    STATE.read().map(|s| s.level).unwrap_or(LogLevel::Off)
}

/// Routes the library's logging at `level` to the platform log and to
/// `sink` (may be null). Call it once at start-up; calling it again changes
/// the level and the sink. Returns false if another `tracing` subscriber
/// was already installed in this library's process-wide slot (nothing is
/// then routed; the level and sink are still kept).
#[uniffi::export]
pub fn init_logging(level: LogLevel, sink: Option<Arc<dyn LogSink>>) -> bool {
    if let Ok(mut s) = STATE.write() {
        *s = State { level, sink };
    }
    let mut installed = true;
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(Gate).with(SinkLayer);
        #[cfg(target_os = "android")]
        let subscriber = subscriber.with(tracing_android::layer("dmsched").ok());
        #[cfg(target_vendor = "apple")]
        let subscriber = subscriber.with(tracing_oslog::OsLogger::new("org.dmsched", "default"));
        installed = tracing::subscriber::set_global_default(subscriber).is_ok();
    });
    // Levels are decided per event (Interest::sometimes), but callsites seen
    // before the first init cached "never".
    tracing::callsite::rebuild_interest_cache();
    installed
}

/// The level filter in front of every output.
struct Gate;

impl<S: Subscriber> Layer<S> for Gate {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }

    fn enabled(&self, m: &Metadata<'_>, _: Context<'_, S>) -> bool {
        level().admits(m.level())
    }
}

/// Formats an event for the host sink.
struct SinkLayer;

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let mut m = format!("{value:?}");
            std::mem::swap(&mut m, &mut self.0);
            self.0.push_str(&m);
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for SinkLayer {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let (lvl, sink) = match STATE.read() {
            Ok(s) => (s.level, s.sink.clone()),
            Err(_) => return,
        };
        let Some(sink) = sink else { return };
        let m = event.metadata();
        if !lvl.admits(m.level()) {
            return;
        }
        let mut msg = Message(String::new());
        event.record(&mut msg);
        let level = LogLevel::of(m.level());
        // A sink that throws loses that line, never the engine call.
        let target = m.target().to_string();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            sink.log(level, target, msg.0.trim_start().to_string())
        }));
    }
}
