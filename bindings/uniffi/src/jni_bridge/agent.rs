//! `org.dmsched.jni.NativeAgent`: the agent (full-client mode) over JNI.
//! Results are JSON: firings and schedules in the C ABI's shapes (as
//! `NativeEngine`), the DM records (`NotificationInfo`, `SessionSummary`,
//! `MoReport`, `UiRequest`) with their fields in snake_case.
//!
//! Callbacks, each optional: `NativeUserInteraction.interact(requestJson)`
//! answers `"yes"`, `"no"`, `"cancel"`, `"timeout"`, `"cannot_show"`,
//! `{"text": "…"}` or `{"choices": [1, 3]}` (anything else, or throwing:
//! 416); `NativePrompt.confirm(contextJson, title)` answers `"accept"`,
//! `"refuse"` or `{"postpone": seconds}` (throwing or garbage: refused);
//! `NativeAuthorizer.authorize(requester, owner, id, access)` with access
//! `read`, `change` or `end` (throwing: false);
//! `NativeExecutor.execute(contextJson, actionsJson)` (hand-off mode: the
//! scheduled DM commands, as `NativeHost.execute`; throwing or garbage: a
//! failed attempt with that reason);
//! `NativeSecretStore` (`get`, `put`, `delete`, `keys`) keeps the accounts'
//! secrets (Android Keystore-backed; throwing fails the operation that
//! needed the secret, with that reason).

use std::sync::Arc;

use jni::objects::{JByteArray, JClass, JObject, JObjectArray, JString, JValue};
use jni::sys::jlong;
use jni::{Env, EnvUnowned, jni_mangle, jni_sig, jni_str};
use serde::Deserialize;

use dmsched_core::agent::{Agent as CoreAgent, AgentHost};
use dmsched_core::dm::session;
use dmsched_core::tree::{SecretError, SecretStore};
use dmsched_core::{Access, HostError, PromptAnswer, RunContext};

use dmsched_core::registry::{Kind, Registry};

use super::{
    JavaCallback, JavaExecutor, Res, json, jstring, lookup, native, opt_string, register, string,
    unregister,
};
use crate::dm_types::{
    Delivery, DeviceFacts, MoReport, MoSettings, NotificationInfo, ReportRetry, SessionSummary,
    UiRequest,
};
use crate::{Agent, AgentSettings, DmschedError, time};

/// Open agents by handle (ids shared with every other registry's).
static AGENTS: Registry<Agent> = Registry::new(Kind::Agent);

fn agent(handle: jlong) -> Res<Arc<Agent>> {
    lookup(&AGENTS, handle)
}

/// Runs `f` on the core agent behind `handle`; its result as JSON.
fn on_agent<'local, T: serde::Serialize>(
    env: &mut Env<'local>,
    handle: jlong,
    f: impl FnOnce(&CoreAgent) -> Result<T, DmschedError>,
) -> Res<JString<'local>> {
    let v = agent(handle)?.with(f)?;
    jstring(env, &json(&v)?)
}

fn parse<'a, T: Deserialize<'a>>(text: &'a str, what: &str) -> Result<T, DmschedError> {
    serde_json::from_str(text).map_err(|e| DmschedError::InvalidArgument(format!("{what}: {e}")))
}

/// `NativeAgent.open`'s settings JSON.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsJson {
    state_dir: String,
    device: DeviceFacts,
    #[serde(default = "utc")]
    time_zone: String,
    /// Engine settings, as a JSON object.
    #[serde(default)]
    options: Option<serde_json::Value>,
    #[serde(default = "http_timeout_ms")]
    http_timeout_ms: i64,
    /// Scheduling MO placement and report types (`MoSettings`).
    #[serde(default)]
    mo: Option<MoSettings>,
    /// The backoff of `deliverReports` (`ReportRetry`).
    #[serde(default)]
    report_retry: Option<ReportRetry>,
}

fn utc() -> String {
    "UTC".into()
}

fn http_timeout_ms() -> i64 {
    60_000
}

impl From<SettingsJson> for AgentSettings {
    fn from(s: SettingsJson) -> Self {
        AgentSettings {
            state_dir: s.state_dir,
            device: s.device,
            time_zone: s.time_zone,
            options_json: s.options.map(|v| v.to_string()),
            http_timeout_ms: s.http_timeout_ms,
            mo: s.mo,
            report_retry: s.report_retry,
        }
    }
}

/// `interact`'s answer.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum UiAnswer {
    Yes,
    No,
    Cancel,
    Timeout,
    CannotShow,
    Text(String),
    Choices(Vec<u32>),
}

impl From<UiAnswer> for session::UiResponse {
    fn from(a: UiAnswer) -> Self {
        match a {
            UiAnswer::Yes => session::UiResponse::Yes,
            UiAnswer::No => session::UiResponse::No,
            UiAnswer::Cancel => session::UiResponse::Cancel,
            UiAnswer::Timeout => session::UiResponse::Timeout,
            UiAnswer::CannotShow => session::UiResponse::CannotShow,
            UiAnswer::Text(t) => session::UiResponse::Text(t),
            UiAnswer::Choices(c) => session::UiResponse::Choices(c),
        }
    }
}

struct JavaUi(Arc<JavaCallback>);

impl session::UserInteraction for JavaUi {
    fn interact(&self, request: &session::UiRequest) -> session::UiResponse {
        let req = serde_json::to_string(&UiRequest::from(request)).unwrap_or_default();
        let sig = jni_sig!("(Ljava/lang/String;)Ljava/lang/String;");
        let out = self
            .0
            .call("interact", jni_str!("interact"), sig, &[&req])
            .and_then(|s| s.ok_or_else(|| "interact returned null".to_string()))
            .and_then(|s| {
                serde_json::from_str::<UiAnswer>(&s)
                    .map_err(|e| format!("interact answered {s:?}: {e}"))
            });
        match out {
            Ok(a) => a.into(),
            Err(e) => {
                tracing::warn!(target: "dmsched::jni", error = %e, "user interaction failed");
                session::UiResponse::CannotShow
            }
        }
    }
}

/// `confirm`'s answer.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Answer {
    Accept,
    Refuse,
    Postpone(u64),
}

struct JavaPrompt(Arc<JavaCallback>);

impl dmsched_core::UserPrompt for JavaPrompt {
    fn confirm(&self, ctx: &RunContext, title: &str) -> Result<PromptAnswer, HostError> {
        let c = dmsched_core::wire::RunContext::json(ctx);
        let sig = jni_sig!("(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/String;");
        let s = self
            .0
            .call("confirm", jni_str!("confirm"), sig, &[&c, title])
            .map_err(HostError)?
            .ok_or_else(|| HostError("confirm returned null".into()))?;
        match serde_json::from_str::<Answer>(&s) {
            Ok(Answer::Accept) => Ok(PromptAnswer::Accept),
            Ok(Answer::Refuse) => Ok(PromptAnswer::Refuse),
            Ok(Answer::Postpone(n)) => Ok(PromptAnswer::Postpone(n)),
            Err(e) => Err(HostError(format!("confirm answered {s:?}: {e}"))),
        }
    }

    fn personalize(
        &self,
        ctx: &RunContext,
        title: &str,
        p: &dmsched_core::model::Personalize,
    ) -> Result<Option<dmsched_core::Choices>, HostError> {
        super::java_personalize(&self.0, "personalize", ctx, title, p)
    }
}

struct JavaAuthorizer(Arc<JavaCallback>);

impl dmsched_core::Authorizer for JavaAuthorizer {
    fn authorize(&self, requester: &str, owner: &str, id: &str, access: Access) -> bool {
        let access = match access {
            Access::Read => "read",
            Access::Change => "change",
            Access::End => "end",
        };
        let r = self.0.with("authorize", |env, obj| {
            let args = [
                env.new_string(requester)?,
                env.new_string(owner)?,
                env.new_string(id)?,
                env.new_string(access)?,
            ];
            env.call_method(
                obj,
                jni_str!("authorize"),
                jni_sig!(
                    "(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;)Z"
                ),
                &[
                    JValue::Object(&args[0]),
                    JValue::Object(&args[1]),
                    JValue::Object(&args[2]),
                    JValue::Object(&args[3]),
                ],
            )?
            .z()
        });
        r.unwrap_or_else(|e| {
            tracing::warn!(target: "dmsched::jni", error = %e, "authorizer failed: denied");
            false
        })
    }
}

/// A Java `NativeSecretStore` as the core's secret store.
struct JavaSecrets(Arc<JavaCallback>);

impl std::fmt::Debug for JavaSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JavaSecrets")
    }
}

impl SecretStore for JavaSecrets {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, SecretError> {
        self.0
            .with("secret store get", |env, obj| {
                let k = env.new_string(key)?;
                let v = env.call_method(
                    obj,
                    jni_str!("get"),
                    jni_sig!("(Ljava/lang/String;)[B"),
                    &[JValue::Object(&k)],
                )?;
                let o = v.l()?;
                if o.is_null() {
                    return Ok(None);
                }
                let arr = JByteArray::cast_local(env, o)?;
                Ok(Some(env.convert_byte_array(&arr)?))
            })
            .map_err(SecretError)
    }

    fn put(&self, key: &str, value: &[u8]) -> Result<(), SecretError> {
        self.0
            .with("secret store put", |env, obj| {
                let k = env.new_string(key)?;
                let v = env.byte_array_from_slice(value)?;
                env.call_method(
                    obj,
                    jni_str!("put"),
                    jni_sig!("(Ljava/lang/String;[B)V"),
                    &[JValue::Object(&k), JValue::Object(&v)],
                )?;
                Ok(())
            })
            .map_err(SecretError)
    }

    fn delete(&self, key: &str) -> Result<(), SecretError> {
        let sig = jni_sig!("(Ljava/lang/String;)V");
        let what = "secret store delete";
        self.0
            .call(what, jni_str!("delete"), sig, &[key])
            .map(drop)
            .map_err(SecretError)
    }

    fn keys(&self) -> Result<Vec<String>, SecretError> {
        let keys = self
            .0
            .with("secret store keys", |env, obj| {
                let v = env.call_method(
                    obj,
                    jni_str!("keys"),
                    jni_sig!("()[Ljava/lang/String;"),
                    &[],
                )?;
                let o = v.l()?;
                if o.is_null() {
                    return Ok(None);
                }
                let arr = JObjectArray::<JString>::cast_local(env, o)?;
                let mut out = Vec::new();
                for i in 0..arr.len(env)? {
                    let s = arr.get_element(env, i)?;
                    if !s.is_null() {
                        out.push(s.try_to_string(env)?);
                    }
                    env.delete_local_ref(s);
                }
                Ok(Some(out))
            })
            .map_err(SecretError)?;
        keys.ok_or_else(|| SecretError("secret store keys returned null".into()))
    }
}

#[jni_mangle("org.dmsched.jni.NativeAgent")]
pub extern "system" fn nativeOpen<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    settings_json: JString<'l>,
    now_ms: jlong,
    ui: JObject<'l>,
    prompt: JObject<'l>,
    authorizer: JObject<'l>,
    executor: JObject<'l>,
    secrets: JObject<'l>,
) -> jlong {
    native(&mut env, |env| {
        let text = string(env, &settings_json, "settingsJson")?;
        let settings: SettingsJson = parse(&text, "settingsJson")?;
        let secrets = JavaCallback::new(env, &secrets)?.map(|c| Arc::new(JavaSecrets(c)) as _);
        let host = AgentHost {
            ui: JavaCallback::new(env, &ui)?.map(|c| Arc::new(JavaUi(c)) as _),
            prompt: JavaCallback::new(env, &prompt)?.map(|c| Arc::new(JavaPrompt(c)) as _),
            authorizer: JavaCallback::new(env, &authorizer)?
                .map(|c| Arc::new(JavaAuthorizer(c)) as _),
            executor: JavaCallback::new(env, &executor)?
                .map(|c| Arc::new(JavaExecutor(c, "execute")) as _),
        };
        let agent = Agent::open_core(settings.into(), now_ms, host, secrets)?;
        register(&AGENTS, Arc::new(agent))
    })
}

#[jni_mangle("org.dmsched.jni.NativeAgent")]
pub extern "system" fn nativeClose<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, handle: jlong) {
    native(&mut env, |_| {
        unregister(&AGENTS, handle)?.shutdown();
        Ok(())
    })
}

#[jni_mangle("org.dmsched.jni.NativeAgent")]
pub extern "system" fn nativeProvision<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    account_json: JString<'l>,
    ca_pem: JString<'l>,
    now_ms: jlong,
) -> JString<'l> {
    native(&mut env, |env| {
        let account = string(env, &account_json, "accountJson")?;
        let ca = opt_string(env, &ca_pem)?;
        let id = agent(handle)?
            .with(|a| Ok(a.provision(&account, ca.as_deref(), None, time(now_ms)?)?))?;
        jstring(env, &id)
    })
}

/// Accepted package #0s handed to Java (`NativeNotification`): proofs only
/// `nativeAcceptNotification` makes.
static NOTIFICATIONS: Registry<dmsched_core::dm::client::AcceptedNotification> =
    Registry::new(Kind::Notification);

#[jni_mangle("org.dmsched.jni.NativeAgent")]
pub extern "system" fn nativeAcceptNotification<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    bytes: JByteArray<'l>,
    now_ms: jlong,
) -> jlong {
    native(&mut env, |env| {
        if bytes.is_null() {
            return Err(DmschedError::InvalidArgument("bytes is null".into()).into());
        }
        let b = env.convert_byte_array(&bytes)?;
        let accepted = agent(handle)?.with(|a| Ok(a.accept_notification(&b, time(now_ms)?)?))?;
        register(&NOTIFICATIONS, Arc::new(accepted))
    })
}

#[jni_mangle("org.dmsched.jni.NativeNotification")]
pub extern "system" fn nativeInfo<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) -> JString<'l> {
    native(&mut env, |env| {
        let n = lookup(&NOTIFICATIONS, handle)?;
        jstring(env, &json(&NotificationInfo::from(n.as_ref()))?)
    })
}

#[jni_mangle("org.dmsched.jni.NativeNotification")]
pub extern "system" fn nativeRelease<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) {
    native(&mut env, |_| {
        unregister(&NOTIFICATIONS, handle)?;
        Ok(())
    })
}

#[jni_mangle("org.dmsched.jni.NativeAgent")]
pub extern "system" fn nativeRunSession<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    server_id: JString<'l>,
    notification: jlong,
    now_ms: jlong,
) -> JString<'l> {
    native(&mut env, |env| {
        let server = string(env, &server_id, "serverId")?;
        let accepted = match notification {
            0 => None,
            h => Some(lookup(&NOTIFICATIONS, h)?),
        };
        let accepted = accepted.as_deref();
        on_agent(env, handle, |a| {
            let summary = a.run_session(&server, accepted, time(now_ms)?)?;
            Ok(SessionSummary::new(&server, &summary, accepted))
        })
    })
}

#[jni_mangle("org.dmsched.jni.NativeAgent")]
pub extern "system" fn nativeNextWakeup<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) -> jlong {
    native(&mut env, |_| {
        let w = agent(handle)?.with(|a| Ok(a.next_wakeup()))?;
        Ok(w.map_or(i64::MIN, |t| t.as_millisecond()))
    })
}

#[jni_mangle("org.dmsched.jni.NativeAgent")]
pub extern "system" fn nativeWakeupWindow<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
) -> jni::objects::JLongArray<'l> {
    native(&mut env, |env| {
        let w = agent(handle)?.with(|a| Ok(a.wakeup_window()))?;
        super::window(env, w)
    })
}

#[jni_mangle("org.dmsched.jni.NativeAgent")]
pub extern "system" fn nativeSetTimeZone<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    handle: jlong,
    zone: JString<'l>,
    now_ms: jlong,
) {
    native(&mut env, |env| {
        let zone = string(env, &zone, "zone")?;
        agent(handle)?.with(|a| Ok(a.set_time_zone(&zone, time(now_ms)?)?))?;
        Ok(())
    })
}

natives! { "org.dmsched.jni.NativeAgent", on_agent;
    nativeTick(now: ms) => |a| a.tick(now)?;
    nativeComplete(run_id: long, results: results, now: ms) => |a| a.complete(run_id, results, now)?;
    nativePostEvent(name: str, fields: fields, now: ms) =>
        |a| a.post_event(&dmsched_core::Event { name, fields }, now)?;
    nativeSetValue(uri: str, value: value, now: ms) => |a| {
        let value: dmsched_core::expr::Value = value;
        a.set_value(&uri, &value, now)?
    };
    nativeSchedules() => |a| a.schedules()?;
    nativePersonalize(server_id: str, id: str, choices_json: str, now: ms) =>
        |a| a.personalize(&server_id, &id, &choices_json, now)?;
    nativePendingReports(server_id: str) =>
        |a| a.pending_reports(&server_id)?.iter().map(MoReport::from).collect::<Vec<_>>();
    nativeDeliverReports(now: ms) =>
        |a| a.deliver_reports(now)?.iter().map(Delivery::from).collect::<Vec<_>>();
    nativeReportsToDeliver() => |a| a.reports_to_deliver();
}
