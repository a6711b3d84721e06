//! The direct JNI surface for Android system services, which cannot use
//! JNA: `org.dmsched.jni.NativeEngine` (hand-off mode, `engine.rs`) and
//! `org.dmsched.jni.NativeAgent` (full-client mode, `agent.rs`), Kotlin in
//! bindings/uniffi/jni. They drive the same `Engine` and `Agent` as the
//! UniFFI API; data crosses as JSON strings (for the engine's types, the
//! shapes of the C ABI, docs/c-api.md).
//!
//! Errors become `org.dmsched.jni.DmschedNativeException` (`kind` = the
//! `DmschedError` variant, `message` its text); a panic or a JNI failure
//! becomes a `RuntimeException` (jni's `with_env` catches the unwind):
//! nothing aborts the VM. Handles are registry ids, never pointers: a
//! closed or made-up handle is an exception, not a crash.
//!
//! Java callbacks are called on the thread that called into the library,
//! inside a local frame; one that throws makes that read, run or answer
//! fail with the exception's text (the exception is cleared).

#[macro_use]
mod natives;
#[cfg(feature = "agent")]
mod agent;
mod engine;

use std::sync::Arc;

use jni::errors::ThrowRuntimeExAndDefault;
use jni::objects::{JObject, JString, JValue};
use jni::sys::jlong;
use jni::{Env, EnvUnowned, JavaVM, jni_sig, jni_str};

use dmsched_core::model::{Action, CommandResult};
use dmsched_core::registry::{HandleError, Registry};
use dmsched_core::{HostError, RunContext};

use crate::DmschedError;

/// A handle the registry refused: `Closed` for a closed (or 0) handle, one
/// never issued, or one of the other kind (as C's `DMS_INVALID_HANDLE`).
fn handle_error(e: HandleError) -> Fail {
    Fail::Api(match e {
        HandleError::Exhausted(_) => DmschedError::LimitExceeded(e.to_string()),
        _ => DmschedError::Closed(e.to_string()),
    })
}

/// Registers `v` in `r`; its Java handle (core's registry id: never 0,
/// never reused, tagged with its kind).
pub(super) fn register<T>(r: &Registry<T>, v: Arc<T>) -> Res<jlong> {
    let id = r.insert(v).map_err(handle_error)?;
    jlong::try_from(id).map_err(|_| {
        let _ = r.remove(id);
        Fail::Api(DmschedError::LimitExceeded(
            "no handle left to issue".into(),
        ))
    })
}

/// The object behind Java handle `h` (any value is safe: it is only an id).
pub(super) fn lookup<T>(r: &Registry<T>, h: jlong) -> Res<Arc<T>> {
    r.get(h as u64).map_err(handle_error)
}

/// Unregisters the object behind Java handle `h`.
pub(super) fn unregister<T>(r: &Registry<T>, h: jlong) -> Res<Arc<T>> {
    r.remove(h as u64).map_err(handle_error)
}

/// What a native method returns when it fails, or what it computed.
pub(super) type Res<T> = Result<T, Fail>;

/// A failure inside a native method.
pub(super) enum Fail {
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

pub(super) fn kind(e: &DmschedError) -> &'static str {
    e.kind().name()
}

/// Runs a native method body: engine errors thrown as
/// `DmschedNativeException`, JNI errors and panics as `RuntimeException`
/// (jni's policy), `T::default()` returned to Java in every failure case.
pub(super) fn native<'local, T: Default>(
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

pub(super) fn string(env: &Env<'_>, s: &JString<'_>, what: &str) -> Res<String> {
    if s.is_null() {
        return Err(DmschedError::InvalidArgument(format!("{what} is null")).into());
    }
    Ok(s.try_to_string(env)?)
}

pub(super) fn opt_string(env: &Env<'_>, s: &JString<'_>) -> Res<Option<String>> {
    if s.is_null() {
        Ok(None)
    } else {
        Ok(Some(s.try_to_string(env)?))
    }
}

/// A JSON argument `what` as a `T` (`InvalidArgument` naming it).
pub(super) fn json_arg<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Res<T> {
    serde_json::from_str(text)
        .map_err(|e| DmschedError::InvalidArgument(format!("{what}: {e}")).into())
}

pub(super) fn json<T: serde::Serialize>(v: &T) -> Res<String> {
    serde_json::to_string(v).map_err(|e| DmschedError::InvalidState(e.to_string()).into())
}

pub(super) fn jstring<'local>(env: &mut Env<'local>, s: &str) -> Res<JString<'local>> {
    Ok(env.new_string(s)?)
}

/// A wake-up window as a Java `long[] {earliestMs, latestMs}`, or null.
pub(super) fn window<'local>(
    env: &mut Env<'local>,
    w: Option<(jiff::Timestamp, jiff::Timestamp)>,
) -> Res<jni::objects::JLongArray<'local>> {
    let Some((earliest, latest)) = w else {
        return Ok(jni::objects::JLongArray::default());
    };
    let a = env.new_long_array(2)?;
    a.set_region(
        env,
        0,
        &[earliest.as_millisecond(), latest.as_millisecond()],
    )?;
    Ok(a)
}

/// The pending Java exception's `toString()`, cleared.
pub(super) fn pending_message(env: &mut Env<'_>) -> String {
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

/// Calls back into Java on this thread inside a local frame: `f` makes the
/// call and reads its result; a Java exception becomes an `Err` with its
/// text (and is cleared), as does a JNI failure.
pub(super) fn call_java<T>(
    vm: &JavaVM,
    what: &str,
    f: impl FnOnce(&mut Env<'_>) -> jni::errors::Result<T>,
) -> Result<T, String> {
    let r = vm.attach_current_thread(|env| -> jni::errors::Result<Result<T, String>> {
        env.with_local_frame(8, |env| -> jni::errors::Result<Result<T, String>> {
            match f(env) {
                Ok(v) => Ok(Ok(v)),
                Err(jni::errors::Error::JavaException) => Ok(Err(pending_message(env))),
                Err(e) => Err(e),
            }
        })
    });
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(msg)) => Err(format!("{what} threw: {msg}")),
        Err(e) => Err(format!("{what}: JNI: {e}")),
    }
}

/// Calls `execute(contextJson, actionsJson): String` on the Java object
/// `obj` (a `NativeHost` or a `NativeExecutor`) and reads its results; a
/// throw, a null or results that are not a JSON array of `{op, target,
/// status}` are a `HostError` (a failed attempt).
/// Calls `obj.method(args…)`, each argument a Java `String`, through
/// [`call_java`]: its `String` result (`None` for null or a void method).
pub(super) fn call_strings<'s, 'a>(
    vm: &JavaVM,
    obj: &JObject<'_>,
    what: &str,
    method: impl AsRef<jni::strings::JNIStr>,
    sig: impl AsRef<jni::signature::MethodSignature<'s, 'a>>,
    args: &[&str],
) -> Result<Option<String>, String> {
    call_java(vm, what, |env| {
        let mut js = Vec::with_capacity(args.len());
        for a in args {
            js.push(env.new_string(a)?);
        }
        let vals: Vec<JValue<'_>> = js.iter().map(|s| JValue::Object(s)).collect();
        let v = env.call_method(obj, method, sig, &vals)?;
        string_result(env, v)
    })
}

/// A Java object the library calls back (a host, a callback of an agent).
pub(super) struct JavaCallback {
    vm: JavaVM,
    obj: jni::refs::Global<JObject<'static>>,
}

impl JavaCallback {
    /// The callback object `obj` (None when it is null).
    pub(super) fn new(env: &mut Env<'_>, obj: &JObject<'_>) -> Res<Option<Arc<JavaCallback>>> {
        if obj.is_null() {
            return Ok(None);
        }
        Ok(Some(Arc::new(JavaCallback {
            vm: env.get_java_vm()?,
            obj: env.new_global_ref(obj)?,
        })))
    }

    /// [`call_strings`] on this object.
    pub(super) fn call<'s, 'a>(
        &self,
        what: &str,
        method: impl AsRef<jni::strings::JNIStr>,
        sig: impl AsRef<jni::signature::MethodSignature<'s, 'a>>,
        args: &[&str],
    ) -> Result<Option<String>, String> {
        call_strings(&self.vm, self.obj.as_obj(), what, method, sig, args)
    }

    /// [`call_java`] on this object's VM.
    #[cfg(feature = "agent")]
    pub(super) fn with<T>(
        &self,
        what: &str,
        f: impl FnOnce(&mut Env<'_>, &JObject<'_>) -> jni::errors::Result<T>,
    ) -> Result<T, String> {
        call_java(&self.vm, what, |env| f(env, self.obj.as_obj()))
    }
}

/// A Java object's `personalize(contextJson, title, personalizeJson)`
/// (`NativeHost`, `NativePrompt`; a default method answering null): the
/// user's choices as the core's prompt returns them.
pub(super) fn java_personalize(
    cb: &JavaCallback,
    what: &str,
    ctx: &dmsched_core::RunContext,
    title: &str,
    p: &dmsched_core::model::Personalize,
) -> Result<Option<dmsched_core::Choices>, dmsched_core::HostError> {
    use dmsched_core::HostError;
    let c = dmsched_core::wire::RunContext::json(ctx);
    let j = serde_json::to_string(p).map_err(|e| HostError(e.to_string()))?;
    let sig =
        jni::jni_sig!("(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;)Ljava/lang/String;");
    match cb
        .call(what, jni::jni_str!("personalize"), sig, &[&c, title, &j])
        .map_err(HostError)?
    {
        None => Ok(None),
        Some(text) => dmsched_core::input::choices(&text, "choices")
            .map(Some)
            .map_err(|f| HostError(f.message)),
    }
}

/// A Java object's `execute(contextJson, actionsJson)` as the core's
/// executor (`NativeHost`, `NativeExecutor`); the text names it in errors.
pub(super) struct JavaExecutor(pub(super) Arc<JavaCallback>, pub(super) &'static str);

impl dmsched_core::ActionExecutor for JavaExecutor {
    fn execute(
        &self,
        ctx: &RunContext,
        actions: &[Action],
    ) -> Result<Vec<CommandResult>, HostError> {
        self.start(ctx, actions)?.into_done()
    }

    fn start(
        &self,
        ctx: &RunContext,
        actions: &[Action],
    ) -> Result<dmsched_core::Execution, HostError> {
        java_execute(&self.0.vm, self.0.obj.as_obj(), self.1, ctx, actions)
    }
}

fn java_execute(
    vm: &JavaVM,
    obj: &JObject<'_>,
    what: &str,
    ctx: &RunContext,
    actions: &[Action],
) -> Result<dmsched_core::Execution, HostError> {
    let a = serde_json::to_string(actions).map_err(|e| HostError(e.to_string()))?;
    let c = dmsched_core::wire::RunContext::json(ctx);
    let sig = jni_sig!("(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/String;");
    let out = call_strings(vm, obj, what, jni_str!("execute"), sig, &[&c, &a])
        .map_err(HostError)?
        .ok_or_else(|| HostError(format!("{what} returned null")))?;
    // `"pending"`: the commands go on; the host completes the run later.
    if out.trim() == "\"pending\"" {
        return Ok(dmsched_core::Execution::Pending);
    }
    results_json(&out).map(dmsched_core::Execution::Done)
}

/// Results as JSON: an array of `{op, target, status, data?}`.
pub(super) fn results_json(text: &str) -> Result<Vec<CommandResult>, HostError> {
    serde_json::from_str(text).map_err(|e| {
        HostError(format!(
            "execute results are not a JSON array of {{op, target, status}}: {e}"
        ))
    })
}

/// A Java `String` result of a callback (null stays `None`).
pub(super) fn string_result(
    env: &mut Env<'_>,
    v: jni::objects::JValueOwned<'_>,
) -> jni::errors::Result<Option<String>> {
    match v {
        jni::objects::JValueOwned::Object(o) if !o.is_null() => {
            let s = JString::cast_local(env, o)?;
            Ok(Some(s.try_to_string(env)?))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmsched_core::ErrorKind;
    use dmsched_core::registry::Kind;

    fn kind_of<T>(r: Res<T>) -> &'static str {
        match r {
            Err(Fail::Api(e)) => kind(&e),
            Err(Fail::Jni(_)) => "jni",
            Ok(_) => "ok",
        }
    }

    /// Issue 15: a JNI handle that is 0, closed, never issued or of the
    /// other kind is `Closed`, as C's `DMS_INVALID_HANDLE` (one table).
    #[test]
    fn a_handle_that_names_no_live_object_of_its_kind_is_closed_as_in_c() {
        let engines: Registry<u8> = Registry::new(Kind::Engine);
        let agents: Registry<u8> = Registry::new(Kind::Agent);
        let e = register(&engines, Arc::new(1)).ok().expect("registered");
        let a = register(&agents, Arc::new(2)).ok().expect("registered");
        assert_eq!(kind_of(lookup(&engines, e)), "ok");
        assert_eq!(kind_of(lookup(&engines, 0)), "Closed");
        assert_eq!(kind_of(lookup(&engines, a)), "Closed", "an agent's handle");
        assert_eq!(
            kind_of(lookup(&engines, e + 4096)),
            "Closed",
            "never issued"
        );
        assert_eq!(kind_of(unregister(&engines, e)), "ok");
        assert_eq!(kind_of(lookup(&engines, e)), "Closed", "closed");
        assert_eq!(kind_of(unregister(&engines, e)), "Closed", "closed twice");
        assert_eq!(
            ErrorKind::Closed.code(),
            2,
            "DMS_INVALID_HANDLE's value: the same kind"
        );
    }
}
