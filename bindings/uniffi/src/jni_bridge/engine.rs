//! `org.dmsched.jni.NativeEngine`: the engine (hand-off mode) over JNI.
//! The Java host (`NativeHost`) reads the tree, runs actions and hears of
//! reports.

use std::sync::Arc;

use jni::objects::{JClass, JLongArray, JObject, JString};
use jni::sys::jlong;
use jni::{Env, EnvUnowned, jni_mangle, jni_sig, jni_str};

use dmsched_core::expr::Value;
use dmsched_core::model::Report;
use dmsched_core::registry::{Kind, Registry};
use dmsched_core::{HostError, PromptAnswer, RunContext};

use super::{
    JavaCallback, JavaExecutor, Res, json, jstring, lookup, native, opt_string, register, string,
    unregister,
};
use crate::{DmschedError, Engine, EngineSettings, time};

/// Open engines by handle (ids shared with every other registry's).
static ENGINES: Registry<Engine> = Registry::new(Kind::Engine);

fn engine(handle: jlong) -> Res<Arc<Engine>> {
    lookup(&ENGINES, handle)
}

/// Runs `f` on the engine behind `handle` and returns its result as JSON.
fn on_engine<'local, T: serde::Serialize>(
    env: &mut Env<'local>,
    handle: jlong,
    f: impl FnOnce(&mut dmsched_core::Engine) -> Result<T, DmschedError>,
) -> Res<JString<'local>> {
    let v = engine(handle)?.with(f)?;
    jstring(env, &json(&v)?)
}

/// The Java host behind an engine (`NativeHost`): tree reads and reports
/// (its `execute` is a [`JavaExecutor`]).
struct JavaHost(Arc<JavaCallback>);

impl dmsched_core::TreeAccess for JavaHost {
    fn read(&self, owner: &str, uri: &str) -> Result<Option<Value>, HostError> {
        let sig = jni_sig!("(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/String;");
        match self
            .0
            .call("host read", jni_str!("read"), sig, &[owner, uri])
            .map_err(HostError)?
        {
            None => Ok(None),
            Some(j) => serde_json::from_str(&j)
                .map(Some)
                .map_err(|e| HostError(format!("tree read of {uri}: value is not JSON: {e}"))),
        }
    }
}

impl dmsched_core::ReportSink for JavaHost {
    fn report_ready(&self, report: &Report) {
        let sig = jni_sig!("(Ljava/lang/String;)V");
        if let Ok(j) = serde_json::to_string(report)
            && let Err(e) = self
                .0
                .call("host reportReady", jni_str!("reportReady"), sig, &[&j])
        {
            tracing::warn!(target: "dmsched::jni", error = %e, "report sink failed");
        }
    }
}

/// The host's `personalize` (a default method: null, decide later); it
/// has no `confirm`, so a task whose policy asks for one is skipped, as
/// without a prompt.
impl dmsched_core::UserPrompt for JavaHost {
    fn confirm(&self, _ctx: &RunContext, _title: &str) -> Result<PromptAnswer, HostError> {
        Err(HostError(
            "confirmation required but the host has no user prompt".into(),
        ))
    }

    fn personalize(
        &self,
        ctx: &RunContext,
        title: &str,
        p: &dmsched_core::model::Personalize,
    ) -> Result<Option<dmsched_core::Choices>, HostError> {
        super::java_personalize(&self.0, "host personalize", ctx, title, p)
    }
}

#[jni_mangle("org.dmsched.jni.NativeEngine")]
pub extern "system" fn nativeOpen<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    store_path: JString<'l>,
    device_id: JString<'l>,
    time_zone: JString<'l>,
    options_json: JString<'l>,
    host: JObject<'l>,
) -> jlong {
    native(&mut env, |env| {
        if host.is_null() {
            return Err(DmschedError::InvalidArgument("host is null".into()).into());
        }
        let settings = EngineSettings {
            store_path: string(env, &store_path, "storePath")?,
            device_id: string(env, &device_id, "deviceId")?,
            time_zone: string(env, &time_zone, "timeZone")?,
            options_json: opt_string(env, &options_json)?,
        };
        let cb = JavaCallback::new(env, &host)?
            .ok_or_else(|| DmschedError::InvalidArgument("host is null".into()))?;
        let h = Arc::new(JavaHost(cb.clone()));
        let core_host = dmsched_core::Host {
            tree: h.clone(),
            executor: Arc::new(JavaExecutor(cb, "host execute")),
            prompt: Some(h.clone()),
            reports: Some(h),
            authorizer: None,
        };
        let engine = Engine::open_core(settings, core_host)?;
        register(&ENGINES, Arc::new(engine))
    })
}

#[jni_mangle("org.dmsched.jni.NativeEngine")]
pub extern "system" fn nativeClose<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, handle: jlong) {
    native(&mut env, |_| {
        unregister(&ENGINES, handle)?.shutdown();
        Ok(())
    })
}

#[jni_mangle("org.dmsched.jni.NativeEngine")]
pub extern "system" fn nativeTick<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    now_ms: jlong,
) -> JString<'l> {
    native(&mut env, |env| {
        let e = engine(handle)?;
        if e.tick_is_noop(now_ms) {
            return jstring(env, "[]");
        }
        let fired = e.with(|e| Ok(e.tick(time(now_ms)?)?))?;
        jstring(env, &json(&fired)?)
    })
}

#[jni_mangle("org.dmsched.jni.NativeEngine")]
pub extern "system" fn nativeNextWakeup<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) -> jlong {
    native(&mut env, |_| {
        let e = engine(handle)?;
        let w = match e.quiet_next_wakeup() {
            Some(w) => w,
            None => e.with(|e| Ok(e.next_wakeup().map(|t| t.as_millisecond())))?,
        };
        Ok(w.unwrap_or(i64::MIN))
    })
}

#[jni_mangle("org.dmsched.jni.NativeEngine")]
pub extern "system" fn nativeWakeupWindow<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) -> jni::objects::JLongArray<'l> {
    native(&mut env, |env| {
        let w = engine(handle)?.with(|e| Ok(e.wakeup_window()))?;
        super::window(env, w)
    })
}

#[jni_mangle("org.dmsched.jni.NativeEngine")]
pub extern "system" fn nativeSetTimeZone<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    zone: JString<'l>,
    now_ms: jlong,
) {
    native(&mut env, |env| {
        let zone = string(env, &zone, "zone")?;
        engine(handle)?.with(|e| Ok(e.set_time_zone(&zone, time(now_ms)?)?))?;
        Ok(())
    })
}

#[jni_mangle("org.dmsched.jni.NativeEngine")]
pub extern "system" fn nativeAckReports<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    owner: JString<'l>,
    ids: JLongArray<'l>,
) -> jlong {
    native(&mut env, |env| {
        let owner = string(env, &owner, "owner")?;
        if ids.is_null() {
            return Err(DmschedError::InvalidArgument("ids is null".into()).into());
        }
        let mut buf = vec![0i64; ids.len(env)?];
        ids.get_region(env, 0, &mut buf)?;
        let n = engine(handle)?.with(|e| Ok(e.ack_reports(&owner, &buf)?))?;
        Ok(n as jlong)
    })
}

/// Panics on purpose, so that a host can check on its own build and device
/// that a Rust panic reaches Java as a `RuntimeException` (a library built
/// with `panic = "abort"` would kill the process here instead).
#[jni_mangle("org.dmsched.jni.NativeEngine")]
pub extern "system" fn nativeSelfTestPanic<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>) {
    native(&mut env, |_| -> Res<()> {
        panic!("dmsched self-test: a deliberate panic");
    })
}

natives! { "org.dmsched.jni.NativeEngine", on_engine;
    nativeSubmit(owner: str, schedule_json: str, now: ms) => |e| e.submit(&owner, &schedule_json, now)?;
    nativeModify(requester: str, owner: str, schedule_json: str, now: ms) =>
        |e| e.modify(&requester, &owner, &schedule_json, now)?;
    nativeLifecycle(requester: str, owner: str, id: str, action: int, now: ms) => |e| match action {
        0 => e.suspend(&requester, &owner, &id, now)?,
        1 => e.resume(&requester, &owner, &id, now)?,
        2 => e.terminate(&requester, &owner, &id, now)?,
        a => {
            return Err(DmschedError::InvalidArgument(format!(
                "lifecycle action {a} (0 suspend, 1 resume, 2 terminate)"
            )));
        }
    };
    nativeGet(requester: str, owner: str, id: str) => |e| e.get(&requester, &owner, &id)?;
    nativeList(requester: opt_str) => |e| match &requester {
        Some(r) => e.list(r)?,
        None => e.list_all()?,
    };
    nativeComplete(run_id: long, results: results, now: ms) => |e| e.complete(run_id, results, now)?;
    nativePostEvent(name: str, fields: fields, now: ms) =>
        |e| e.on_event(&dmsched_core::Event { name, fields }, now)?;
    nativeTreeChanged(uri: str, now: ms) => |e| e.on_tree_changed(&uri, now)?;
    nativePersonalize(owner: str, id: str, choices_json: str, now: ms) => |e| {
        let choices = dmsched_core::input::choices(&choices_json, "choicesJson")?;
        e.personalize(&owner, &id, &choices, now)?
    };
    nativePendingReports(owner: opt_str, limit: int) => |e| {
        let limit = usize::try_from(limit)
            .map_err(|_| DmschedError::InvalidArgument(format!("limit {limit} < 0")))?;
        e.pending_reports(owner.as_deref(), limit)?
    };
}
