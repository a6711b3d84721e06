//! The direct JNI surface for Android system services, which cannot use
//! JNA: `org.dmsched.jni.NativeEngine` (bindings/uniffi/jni). It drives the
//! same `Engine` as the UniFFI API; data crosses as JSON strings, the shapes
//! of the C ABI (docs/c-api.md).
//!
//! Errors of the engine become `org.dmsched.jni.DmschedNativeException`
//! (`kind` = the `DmschedError` variant, `message` its text); a panic or a
//! JNI failure becomes a `RuntimeException` (jni's `with_env` catches the
//! unwind): nothing aborts the VM. Handles are registry ids, never
//! pointers: a closed or made-up handle is an exception, not a crash.
//!
//! Host callbacks (`org.dmsched.jni.NativeHost`) are called on the thread
//! that called into the engine, inside a local frame; a callback that
//! throws makes that read or run fail with the exception's text.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use jni::errors::ThrowRuntimeExAndDefault;
use jni::objects::{JClass, JLongArray, JObject, JString, JValue};
use jni::refs::Global;
use jni::sys::{jint, jlong};
use jni::{Env, EnvUnowned, JavaVM, jni_mangle, jni_sig, jni_str};

use dmsched_core::expr::Value;
use dmsched_core::model::{Action, CommandResult, Report};
use dmsched_core::{HostError, RunContext};

use crate::{DmschedError, Engine, EngineSettings, time};

static ENGINES: Mutex<Option<HashMap<i64, Arc<Engine>>>> = Mutex::new(None);
static NEXT_ID: AtomicI64 = AtomicI64::new(1);

/// What a native method returns when it fails, or what it computed.
type Res<T> = Result<T, Fail>;

/// A failure inside a native method.
enum Fail {
    /// An engine error: thrown as `DmschedNativeException`.
    Api(DmschedError),
    /// A JNI error (a Java exception may already be pending).
    Jni(jni::errors::Error),
}

impl From<jni::errors::Error> for Fail {
    fn from(e: jni::errors::Error) -> Self {
        Fail::Jni(e)
    }
}

impl From<DmschedError> for Fail {
    fn from(e: DmschedError) -> Self {
        Fail::Api(e)
    }
}

fn kind(e: &DmschedError) -> &'static str {
    match e {
        DmschedError::InvalidArgument(_) => "InvalidArgument",
        DmschedError::InvalidSchedule(_) => "InvalidSchedule",
        DmschedError::NotFound(_) => "NotFound",
        DmschedError::AlreadyExists(_) => "AlreadyExists",
        DmschedError::PermissionDenied(_) => "PermissionDenied",
        DmschedError::LimitExceeded(_) => "LimitExceeded",
        DmschedError::InvalidState(_) => "InvalidState",
        DmschedError::Storage(_) => "Storage",
        DmschedError::Closed => "Closed",
    }
}

/// Runs a native method body: engine errors thrown as
/// `DmschedNativeException`, JNI errors and panics as `RuntimeException`
/// (jni's policy), `T::default()` returned to Java in every failure case.
fn native<'local, T: Default>(
    env: &mut EnvUnowned<'local>,
    f: impl FnOnce(&mut Env<'local>) -> Res<T>,
) -> T {
    env.with_env(|env| -> Result<T, jni::errors::Error> {
        match f(env) {
            Ok(v) => Ok(v),
            Err(Fail::Jni(e)) => Err(e),
            Err(Fail::Api(e)) => {
                if !env.exception_check() {
                    let k = env.new_string(kind(&e))?;
                    let m = env.new_string(e.to_string())?;
                    let ex = env.new_object(
                        jni_str!("org/dmsched/jni/DmschedNativeException"),
                        jni_sig!("(Ljava/lang/String;Ljava/lang/String;)V"),
                        &[JValue::Object(&k), JValue::Object(&m)],
                    )?;
                    let ex = jni::objects::JThrowable::cast_local(env, ex)?;
                    env.throw(ex)?;
                }
                Ok(T::default())
            }
        }
    })
    .resolve::<ThrowRuntimeExAndDefault>()
}

fn string(env: &Env<'_>, s: &JString<'_>, what: &str) -> Res<String> {
    if s.is_null() {
        return Err(DmschedError::InvalidArgument(format!("{what} is null")).into());
    }
    Ok(s.try_to_string(env)?)
}

fn opt_string(env: &Env<'_>, s: &JString<'_>) -> Res<Option<String>> {
    if s.is_null() {
        Ok(None)
    } else {
        Ok(Some(s.try_to_string(env)?))
    }
}

fn engine(handle: jlong) -> Res<Arc<Engine>> {
    ENGINES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .and_then(|m| m.get(&handle).cloned())
        .ok_or(Fail::Api(DmschedError::Closed))
}

fn json<T: serde::Serialize>(v: &T) -> Res<String> {
    serde_json::to_string(v).map_err(|e| DmschedError::InvalidState(e.to_string()).into())
}

fn jstring<'local>(env: &mut Env<'local>, s: &str) -> Res<JString<'local>> {
    Ok(env.new_string(s)?)
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

/// The Java host behind an engine.
struct JavaHost {
    vm: JavaVM,
    host: Global<JObject<'static>>,
}

impl JavaHost {
    /// Calls `NativeHost.<name>(args…): String?` and returns its result;
    /// a Java exception becomes a `HostError` with its text (and is cleared).
    fn call(&self, name: &str, args: &[&str]) -> Result<Option<String>, HostError> {
        let r = self
            .vm
            .attach_current_thread(|env| -> Result<_, jni::errors::Error> {
                env.with_local_frame(8, |env| -> Result<_, jni::errors::Error> {
                    let mut js = Vec::with_capacity(args.len());
                    for a in args {
                        js.push(env.new_string(a)?);
                    }
                    let vals: Vec<JValue<'_>> = js.iter().map(|s| JValue::Object(s)).collect();
                    let out = match name {
                        "read" => env.call_method(
                            self.host.as_obj(),
                            jni_str!("read"),
                            jni_sig!("(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/String;"),
                            &vals,
                        ),
                        "execute" => env.call_method(
                            self.host.as_obj(),
                            jni_str!("execute"),
                            jni_sig!("(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/String;"),
                            &vals,
                        ),
                        _ => env
                            .call_method(
                                self.host.as_obj(),
                                jni_str!("reportReady"),
                                jni_sig!("(Ljava/lang/String;)V"),
                                &vals,
                            )
                            .map(|_| jni::objects::JValueOwned::Void),
                    };
                    match out {
                        Ok(jni::objects::JValueOwned::Object(o)) if !o.is_null() => {
                            let s = JString::cast_local(env, o)?;
                            Ok(Ok(Some(s.try_to_string(env)?)))
                        }
                        Ok(_) => Ok(Ok(None)),
                        Err(jni::errors::Error::JavaException) => Ok(Err(pending_message(env))),
                        Err(e) => Err(e),
                    }
                })
            });
        match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(msg)) => Err(HostError(format!("host {name} threw: {msg}"))),
            Err(e) => Err(HostError(format!("host {name}: JNI: {e}"))),
        }
    }
}

/// The pending Java exception's `toString()`, cleared.
fn pending_message(env: &mut Env<'_>) -> String {
    let Some(t) = env.exception_occurred() else {
        return "unknown exception".into();
    };
    env.exception_clear();
    let text = env
        .call_method(
            &t,
            jni_str!("toString"),
            jni_sig!("()Ljava/lang/String;"),
            &[],
        )
        .and_then(|v| v.l())
        .and_then(|o| JString::cast_local(env, o))
        .and_then(|s| s.try_to_string(env));
    env.exception_clear();
    text.unwrap_or_else(|_| "an exception without a readable message".into())
}

fn context_json(ctx: &RunContext) -> String {
    serde_json::json!({
        "owner": ctx.owner, "schedule": ctx.schedule, "task": ctx.task, "seq": ctx.seq,
        "attempt": ctx.attempt, "due": ctx.due.to_string(), "now": ctx.now.to_string(),
    })
    .to_string()
}

impl dmsched_core::TreeAccess for JavaHost {
    fn read(&self, owner: &str, uri: &str) -> Result<Option<Value>, HostError> {
        match self.call("read", &[owner, uri])? {
            None => Ok(None),
            Some(j) => serde_json::from_str(&j)
                .map(Some)
                .map_err(|e| HostError(format!("tree read of {uri}: value is not JSON: {e}"))),
        }
    }
}

impl dmsched_core::ActionExecutor for JavaHost {
    fn execute(
        &self,
        ctx: &RunContext,
        actions: &[Action],
    ) -> Result<Vec<CommandResult>, HostError> {
        let a = serde_json::to_string(actions).map_err(|e| HostError(e.to_string()))?;
        let out = self
            .call("execute", &[&context_json(ctx), &a])?
            .ok_or_else(|| HostError("execute returned null".into()))?;
        serde_json::from_str(&out).map_err(|e| {
            HostError(format!(
                "execute results are not a JSON array of {{op, target, status}}: {e}"
            ))
        })
    }
}

impl dmsched_core::ReportSink for JavaHost {
    fn report_ready(&self, report: &Report) {
        if let Ok(j) = serde_json::to_string(report)
            && let Err(e) = self.call("reportReady", &[&j])
        {
            tracing::warn!(target: "dmsched::jni", error = %e, "report sink failed");
        }
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
        let h = Arc::new(JavaHost {
            vm: env.get_java_vm()?,
            host: env.new_global_ref(&host)?,
        });
        let core_host = dmsched_core::Host {
            tree: h.clone(),
            executor: h.clone(),
            prompt: None,
            reports: Some(h),
            authorizer: None,
        };
        let engine = Engine::open_core(settings, core_host)?;
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        ENGINES
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(HashMap::new)
            .insert(id, Arc::new(engine));
        Ok(id)
    })
}

#[jni_mangle("org.dmsched.jni.NativeEngine")]
pub extern "system" fn nativeClose<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, handle: jlong) {
    native(&mut env, |_| {
        let gone = {
            let mut g = ENGINES.lock().unwrap_or_else(|p| p.into_inner());
            let e = g.as_mut().and_then(|m| m.remove(&handle));
            if g.as_ref().is_some_and(HashMap::is_empty) {
                *g = None;
            }
            e
        };
        if let Some(e) = gone {
            e.shutdown();
        }
        Ok(())
    })
}

#[jni_mangle("org.dmsched.jni.NativeEngine")]
pub extern "system" fn nativeSubmit<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    owner: JString<'l>,
    schedule_json: JString<'l>,
    now_ms: jlong,
) -> JString<'l> {
    native(&mut env, |env| {
        let (o, d) = (
            string(env, &owner, "owner")?,
            string(env, &schedule_json, "scheduleJson")?,
        );
        on_engine(env, handle, |e| Ok(e.submit(&o, &d, time(now_ms)?)?))
    })
}

#[jni_mangle("org.dmsched.jni.NativeEngine")]
pub extern "system" fn nativeModify<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    requester: JString<'l>,
    owner: JString<'l>,
    schedule_json: JString<'l>,
    now_ms: jlong,
) -> JString<'l> {
    native(&mut env, |env| {
        let (r, o, d) = (
            string(env, &requester, "requester")?,
            string(env, &owner, "owner")?,
            string(env, &schedule_json, "scheduleJson")?,
        );
        on_engine(env, handle, |e| Ok(e.modify(&r, &o, &d, time(now_ms)?)?))
    })
}

#[jni_mangle("org.dmsched.jni.NativeEngine")]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn nativeLifecycle<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    requester: JString<'l>,
    owner: JString<'l>,
    id: JString<'l>,
    action: jint,
    now_ms: jlong,
) -> JString<'l> {
    native(&mut env, |env| {
        let (r, o, i) = (
            string(env, &requester, "requester")?,
            string(env, &owner, "owner")?,
            string(env, &id, "id")?,
        );
        on_engine(env, handle, |e| {
            let now = time(now_ms)?;
            Ok(match action {
                0 => e.suspend(&r, &o, &i, now)?,
                1 => e.resume(&r, &o, &i, now)?,
                2 => e.terminate(&r, &o, &i, now)?,
                a => {
                    return Err(DmschedError::InvalidArgument(format!(
                        "lifecycle action {a} (0 suspend, 1 resume, 2 terminate)"
                    )));
                }
            })
        })
    })
}

#[jni_mangle("org.dmsched.jni.NativeEngine")]
pub extern "system" fn nativeGet<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    requester: JString<'l>,
    owner: JString<'l>,
    id: JString<'l>,
) -> JString<'l> {
    native(&mut env, |env| {
        let (r, o, i) = (
            string(env, &requester, "requester")?,
            string(env, &owner, "owner")?,
            string(env, &id, "id")?,
        );
        on_engine(env, handle, |e| Ok(e.get(&r, &o, &i)?))
    })
}

#[jni_mangle("org.dmsched.jni.NativeEngine")]
pub extern "system" fn nativeList<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    requester: JString<'l>,
) -> JString<'l> {
    native(&mut env, |env| {
        let r = opt_string(env, &requester)?;
        on_engine(env, handle, |e| {
            Ok(match &r {
                Some(r) => e.list(r)?,
                None => e.list_all()?,
            })
        })
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
pub extern "system" fn nativePostEvent<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    name: JString<'l>,
    fields_json: JString<'l>,
    now_ms: jlong,
) -> JString<'l> {
    native(&mut env, |env| {
        let name = string(env, &name, "name")?;
        let fields = match opt_string(env, &fields_json)? {
            Some(j) => serde_json::from_str(&j)
                .map_err(|e| DmschedError::InvalidArgument(format!("fieldsJson: {e}")))?,
            None => Default::default(),
        };
        let ev = dmsched_core::Event { name, fields };
        on_engine(env, handle, |e| Ok(e.on_event(&ev, time(now_ms)?)?))
    })
}

#[jni_mangle("org.dmsched.jni.NativeEngine")]
pub extern "system" fn nativeTreeChanged<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    uri: JString<'l>,
    now_ms: jlong,
) -> JString<'l> {
    native(&mut env, |env| {
        let uri = string(env, &uri, "uri")?;
        on_engine(env, handle, |e| Ok(e.on_tree_changed(&uri, time(now_ms)?)?))
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
pub extern "system" fn nativePendingReports<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    owner: JString<'l>,
    limit: jint,
) -> JString<'l> {
    native(&mut env, |env| {
        let owner = opt_string(env, &owner)?;
        let limit = usize::try_from(limit)
            .map_err(|_| DmschedError::InvalidArgument(format!("limit {limit} < 0")))?;
        on_engine(env, handle, |e| {
            Ok(e.pending_reports(owner.as_deref(), limit)?)
        })
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
